#pragma once

#include <QString>
#include <QVariantMap>

class QMainWindow;
class QSplitter;
class QHeaderView;

namespace deltascope::ui {

// Saves and restores window geometry, dock and splitter state through QSettings. The layout
// version is bumped whenever panes change so an old saved state cannot scramble a new layout.
class UiState
{
public:
    // 2: faults pane in the bottom splitter, tree pane is a tree.
    // 3: new first-run proportions (main splitter about 340:190, bottom row 520/516/244 at 1280 px):
    //    a layout saved by an older version restores its own splitter sizes over them, so users who
    //    ran it once would never see the change.
    static constexpr int kLayoutVersion = 3;
    // Column widths and the timeline's filter do not depend on where the panes are: they keep their
    // keys when the layout version moves on, so a bump does not forget them. Bumped only when a
    // view's columns change meaning.
    static constexpr int kViewStateVersion = 2;

    static void restore(QMainWindow* window);
    static void save(const QMainWindow* window);
    static void restore(QSplitter* splitter, const QString& name);
    static void save(const QSplitter* splitter, const QString& name);
    static void restore(QHeaderView* header, const QString& name);
    static void save(const QHeaderView* header, const QString& name);
    // The columns of view `name` the user showed (true) or hid (false) by choice, by a column name
    // that does not change with translations; a column not listed is shown or hidden automatically.
    static QVariantMap restoreColumnChoices(const QString& name);
    static void saveColumnChoices(const QString& name, const QVariantMap& choices);
};

}
