#include "ui/emptystatepanel.h"

#include <QLabel>
#include <QStackedLayout>
#include <QVBoxLayout>

namespace deltascope::ui {

EmptyStatePanel::EmptyStatePanel(const QString& title, const QString& emptyText, QWidget* parent)
    : QWidget(parent)
{
    // Screen readers name the pane by it, and the shortcuts list groups a pane's keys under it.
    setAccessibleName(title);
    auto* layout = new QVBoxLayout(this);
    if (title.isEmpty()) {
        // A tab page: its tab names it, and an empty title line cost a line of the content (at
        // 1024x600 the Before / after tab had none left). It sits flush, as the Frame tab's view.
        layout->setContentsMargins(0, 0, 0, 0);
    } else {
        layout->setContentsMargins(4, 4, 4, 4);
        auto* titleLabel = new QLabel(title, this);
        QFont titleFont = titleLabel->font();
        titleFont.setBold(true);
        titleLabel->setFont(titleFont);
        titleLabel->setObjectName(QStringLiteral("panelTitle"));
        layout->addWidget(titleLabel);
    }

    auto* stackHost = new QWidget(this);
    m_stack = new QStackedLayout(stackHost);
    m_emptyLabel = new QLabel(emptyText, stackHost);
    m_emptyLabel->setObjectName(QStringLiteral("emptyState"));
    m_emptyLabel->setAlignment(Qt::AlignCenter);
    m_emptyLabel->setWordWrap(true);
    m_emptyLabel->setEnabled(false); // drawn in the disabled palette colour: a hint, not content
    m_stack->addWidget(m_emptyLabel);
    layout->addWidget(stackHost, 1);
}

void EmptyStatePanel::setContent(QWidget* content)
{
    m_stack->addWidget(content);
}

void EmptyStatePanel::setEmptyText(const QString& text)
{
    m_emptyLabel->setText(text);
}

QString EmptyStatePanel::emptyText() const
{
    return m_emptyLabel->text();
}

void EmptyStatePanel::showContent(bool show)
{
    if (show && m_stack->count() > 1)
        m_stack->setCurrentIndex(1);
    else
        m_stack->setCurrentWidget(m_emptyLabel);
}

bool EmptyStatePanel::isShowingContent() const
{
    return m_stack->currentWidget() != m_emptyLabel;
}

}
