#pragma once

#include <QStyledItemDelegate>

namespace deltascope::ui {

// Paints timeline rows: the standard cell, then a tint over payload-search matches and a frame
// around the event linked to the selected one (request <-> response). Only paints.
class TimelineDelegate : public QStyledItemDelegate
{
    Q_OBJECT
public:
    using QStyledItemDelegate::QStyledItemDelegate;
    void paint(QPainter* painter, const QStyleOptionViewItem& option, const QModelIndex& index) const override;
};

}
