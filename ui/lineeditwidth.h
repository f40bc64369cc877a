#pragma once

#include <QLineEdit>
#include <QStyle>
#include <QStyleOptionFrame>

namespace deltascope::ui {

// Makes a line edit at least as wide as `shown` (a typical value) plus its frame and the clear
// button's room: squeezed by a narrow window, the space field read "icker" and the tree's search "S…".
inline void setMinimumTextWidth(QLineEdit* edit, const QString& shown)
{
    QStyleOptionFrame option;
    option.initFrom(edit);
    const int clearButton = edit->isClearButtonEnabled() ? edit->fontMetrics().height() + 4 : 0;
    const QSize text(edit->fontMetrics().horizontalAdvance(shown) + 8 + clearButton, edit->fontMetrics().height());
    edit->setMinimumWidth(edit->style()->sizeFromContents(QStyle::CT_LineEdit, &option, text, edit).width());
}

}
