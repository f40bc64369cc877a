#pragma once

#include <QDialog>
#include <QList>
#include <QString>

class QMainWindow;
class QTreeWidget;

namespace deltascope::ui {

// One keyboard shortcut of a window, as its QAction has it.
struct ShortcutEntry {
    QString where; // the menu ("Session") or the pane ("Timeline") it acts in
    QString action; // the action's text, without its mnemonic or ellipsis
    QString keys; // in the platform's notation; alternatives joined by ", "
};

// Every shortcut of `window`'s actions: the menu bar's, menu by menu, then the panes' own (named
// by the nearest widget with an accessible name). Read from the actions themselves, so the list
// cannot go stale when a shortcut changes or an action is added.
QList<ShortcutEntry> windowShortcuts(const QMainWindow& window);

// Help ▸ Keyboard Shortcuts: the entries in a read-only tree, grouped by where they act.
class ShortcutsDialog : public QDialog
{
    Q_OBJECT
public:
    explicit ShortcutsDialog(const QList<ShortcutEntry>& shortcuts, QWidget* parent = nullptr);

    QTreeWidget* view() const { return m_view; }

private:
    QTreeWidget* m_view = nullptr;
};

}
