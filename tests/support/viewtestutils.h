#pragma once

// Helpers for tests of views: what a header shows, and a context menu as a right-click opens it.
// Header-only; ui tests include it.

#include <QAbstractItemModel>
#include <QApplication>
#include <QContextMenuEvent>
#include <QHeaderView>
#include <QStringList>
#include <QWidget>

namespace deltascope::test {

// The titles of the sections a header shows, in the order it shows them.
inline QStringList shownColumns(const QHeaderView& header)
{
    QStringList titles;
    for (int visual = 0; visual < header.count(); ++visual) {
        const int logical = header.logicalIndex(visual);
        if (!header.isSectionHidden(logical))
            titles.append(header.model()->headerData(logical, header.orientation()).toString());
    }
    return titles;
}

// Right-clicks `widget` at `position` (its coordinates), as a mouse does, and returns whether the
// event was taken.
inline bool rightClickMenu(QWidget* widget, const QPoint& position)
{
    QContextMenuEvent event(QContextMenuEvent::Mouse, position, widget->mapToGlobal(position));
    QApplication::sendEvent(widget, &event);
    return event.isAccepted();
}

}
