#pragma once

#include <QWidget>

class QLabel;
class QStackedLayout;

namespace deltascope::ui {

// A pane with a title that shows an explanatory empty state until it has content. Panels use it
// so a pane without data says what it will hold instead of showing made-up rows. Without a title
// (a tab page, named by its tab) it has no title line and no margins.
class EmptyStatePanel : public QWidget
{
    Q_OBJECT
public:
    EmptyStatePanel(const QString& title, const QString& emptyText, QWidget* parent = nullptr);

    void setContent(QWidget* content);
    void setEmptyText(const QString& text);
    QString emptyText() const;
    void showContent(bool show);
    bool isShowingContent() const;

private:
    QLabel* m_emptyLabel = nullptr;
    QStackedLayout* m_stack = nullptr;
};

}
