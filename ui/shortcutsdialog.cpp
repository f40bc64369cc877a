#include "ui/shortcutsdialog.h"

#include <QAction>
#include <QDialogButtonBox>
#include <QHeaderView>
#include <QMainWindow>
#include <QMenu>
#include <QMenuBar>
#include <QPushButton>
#include <QSet>
#include <QTreeWidget>
#include <QVBoxLayout>

namespace deltascope::ui {

namespace {

// "&Open Capture…" reads "Open Capture"; "&&" is a literal ampersand.
QString plainText(const QString& text)
{
    QString plain;
    plain.reserve(text.size());
    for (qsizetype i = 0; i < text.size(); ++i) {
        if (text[i] == QLatin1Char('&') && i + 1 < text.size())
            ++i;
        plain.append(text[i]);
    }
    if (plain.endsWith(QChar(0x2026)))
        plain.chop(1);
    else if (plain.endsWith(QLatin1String("...")))
        plain.chop(3);
    return plain.trimmed();
}

QString keysOf(const QAction& action)
{
    QStringList keys;
    for (const QKeySequence& key : action.shortcuts())
        keys << key.toString(QKeySequence::NativeText);
    return keys.join(QStringLiteral(", "));
}

void addMenu(const QMenu& menu, const QString& where, QList<ShortcutEntry>& out, QSet<const QAction*>& seen)
{
    for (QAction* action : menu.actions()) {
        seen.insert(action);
        if (QMenu* submenu = action->menu())
            addMenu(*submenu, where + QStringLiteral(" \u25B8 ") + plainText(action->text()), out, seen);
        else if (!action->isSeparator() && !action->shortcuts().isEmpty())
            out.append({ where, plainText(action->text()), keysOf(*action) });
    }
}

// The pane an action acts in: the nearest widget it was added to, or an ancestor of that, with
// an accessible name (the panes take their titles as theirs).
QString paneOf(const QAction& action, const QMainWindow& window)
{
    for (QObject* object : action.associatedObjects()) {
        for (auto* widget = qobject_cast<QWidget*>(object); widget && widget != &window; widget = widget->parentWidget()) {
            if (!widget->accessibleName().isEmpty())
                return widget->accessibleName();
        }
    }
    return QObject::tr("Window");
}

}

QList<ShortcutEntry> windowShortcuts(const QMainWindow& window)
{
    QList<ShortcutEntry> shortcuts;
    QSet<const QAction*> seen;
    for (QAction* top : window.menuBar()->actions()) {
        seen.insert(top);
        if (top->menu())
            addMenu(*top->menu(), plainText(top->text()), shortcuts, seen);
    }
    // The panes' actions: in effect only where they were added (an action added nowhere has no key).
    for (QAction* action : window.findChildren<QAction*>()) {
        if (seen.contains(action) || action->shortcuts().isEmpty() || action->associatedObjects().isEmpty())
            continue;
        shortcuts.append({ paneOf(*action, window), plainText(action->text()), keysOf(*action) });
    }
    return shortcuts;
}

ShortcutsDialog::ShortcutsDialog(const QList<ShortcutEntry>& shortcuts, QWidget* parent)
    : QDialog(parent)
{
    setObjectName(QStringLiteral("shortcutsDialog"));
    setWindowTitle(tr("Keyboard Shortcuts"));
    auto* layout = new QVBoxLayout(this);
    m_view = new QTreeWidget(this);
    m_view->setObjectName(QStringLiteral("shortcutsView"));
    m_view->setColumnCount(2);
    m_view->setHeaderLabels({ tr("Action"), tr("Keys") });
    m_view->setRootIsDecorated(false);
    m_view->setSelectionMode(QAbstractItemView::NoSelection); // a list to read, nothing to pick
    QTreeWidgetItem* group = nullptr;
    for (const ShortcutEntry& entry : shortcuts) {
        if (!group || group->text(0) != entry.where) {
            group = new QTreeWidgetItem(m_view, { entry.where });
            QFont bold = group->font(0);
            bold.setBold(true);
            group->setFont(0, bold);
            group->setFirstColumnSpanned(true);
            group->setFlags(Qt::ItemIsEnabled);
        }
        new QTreeWidgetItem(group, { entry.action, entry.keys });
    }
    m_view->expandAll();
    m_view->resizeColumnToContents(0);
    m_view->header()->setStretchLastSection(true);
    layout->addWidget(m_view);
    auto* buttons = new QDialogButtonBox(QDialogButtonBox::Close, this);
    connect(buttons, &QDialogButtonBox::rejected, this, &QDialog::reject);
    layout->addWidget(buttons);
    // Every row in view without scrolling, up to 700 px.
    const int rows = m_view->topLevelItemCount() + int(shortcuts.size());
    const int rowHeight = m_view->topLevelItemCount() > 0 ? m_view->visualItemRect(m_view->topLevelItem(0)).height() : fontMetrics().height();
    const int viewHeight = rows * rowHeight + m_view->header()->sizeHint().height() + 2 * m_view->frameWidth();
    resize(std::max(m_view->columnWidth(0) + fontMetrics().horizontalAdvance(QStringLiteral("Ctrl+Shift+Return")) + 80, 420),
        std::min(viewHeight + buttons->sizeHint().height() + layout->spacing() + layout->contentsMargins().top()
                + layout->contentsMargins().bottom(),
            700));
    // Focus on Close, not on the list: no row looks picked, and Return or Escape closes.
    buttons->button(QDialogButtonBox::Close)->setFocus();
}

}
