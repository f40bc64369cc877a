#pragma once

#include <QString>

class QMainWindow;
class QSplitter;
class QHeaderView;

namespace deltascope::ui {

// Saves and restores window geometry, dock and splitter state through QSettings. The layout
// version is bumped whenever panes change so an old saved state cannot scramble a new layout.
class UiState
{
public:
    static constexpr int kLayoutVersion = 2; // 2: faults pane in the bottom splitter, tree pane is a tree

    static void restore(QMainWindow* window);
    static void save(const QMainWindow* window);
    static void restore(QSplitter* splitter, const QString& name);
    static void save(const QSplitter* splitter, const QString& name);
    static void restore(QHeaderView* header, const QString& name);
    static void save(const QHeaderView* header, const QString& name);
};

}
