#include "ui/timelinedelegate.h"

#include "ui/models/timelinemodel.h"

#include <QPainter>

namespace deltascope::ui {

void TimelineDelegate::paint(QPainter* painter, const QStyleOptionViewItem& option, const QModelIndex& index) const
{
    QStyledItemDelegate::paint(painter, option, index);
    const bool match = index.data(TimelineModel::SearchMatchRole).toBool();
    const bool linked = index.data(TimelineModel::LinkedToCurrentRole).toBool();
    if (!match && !linked)
        return;
    painter->save();
    if (match) {
        static const QColor matchTint(255, 200, 0, 70);
        painter->fillRect(option.rect, matchTint);
    }
    if (linked) {
        QPen pen(option.palette.highlight().color(), 2);
        painter->setPen(pen);
        const QRect r = option.rect.adjusted(0, 1, 0, -1);
        painter->drawLine(r.topLeft(), r.topRight());
        painter->drawLine(r.bottomLeft(), r.bottomRight());
        if (index.column() == 0)
            painter->drawLine(r.topLeft(), r.bottomLeft());
    }
    painter->restore();
}

}
