#include "ui/connectionbar.h"

#include <QHBoxLayout>
#include <QJsonDocument>
#include <QLabel>
#include <QLineEdit>
#include <QPushButton>
#include <QToolButton>

namespace deltascope::ui {

namespace {
QLineEdit* addField(QHBoxLayout* layout, QWidget* parent, const QString& label, const QString& objectName,
    const QString& placeholder, int stretch)
{
    auto* caption = new QLabel(label, parent);
    auto* edit = new QLineEdit(parent);
    edit->setObjectName(objectName);
    edit->setPlaceholderText(placeholder);
    caption->setBuddy(edit);
    layout->addWidget(caption);
    layout->addWidget(edit, stretch);
    return edit;
}
}

ConnectionBar::ConnectionBar(QWidget* parent)
    : QWidget(parent)
{
    auto* layout = new QHBoxLayout(this);
    layout->setContentsMargins(6, 4, 6, 4);
    m_url = addField(layout, this, tr("&URL"), QStringLiteral("urlEdit"), QStringLiteral("ws://127.0.0.1:7777/~s"), 4);
    m_identity = addField(layout, this, tr("&Identity"), QStringLiteral("identityEdit"), QStringLiteral("anonymous:NAME or a token"), 2);
    m_identity->setEchoMode(QLineEdit::Password);
    m_showIdentity = new QToolButton(this);
    m_showIdentity->setObjectName(QStringLiteral("showIdentityButton"));
    m_showIdentity->setText(tr("Show"));
    m_showIdentity->setCheckable(true);
    m_showIdentity->setToolTip(tr("Show the identity token in clear text"));
    connect(m_showIdentity, &QToolButton::toggled, this, [this](bool shown) {
        m_identity->setEchoMode(shown ? QLineEdit::Normal : QLineEdit::Password);
        m_showIdentity->setText(shown ? tr("Hide") : tr("Show"));
    });
    layout->addWidget(m_showIdentity);
    m_space = addField(layout, this, tr("&Space"), QStringLiteral("spaceEdit"), QStringLiteral("chat"), 1);
    m_key = addField(layout, this, tr("&Key"), QStringLiteral("keyEdit"), QStringLiteral("demo"), 1);
    m_viewerState = addField(layout, this, tr("&View"), QStringLiteral("viewerStateEdit"), QStringLiteral("{}"), 2);
    connect(m_viewerState, &QLineEdit::textChanged, this, &ConnectionBar::validateViewerState);

    m_connectButton = new QPushButton(tr("&Connect"), this);
    m_connectButton->setObjectName(QStringLiteral("connectButton"));
    connect(m_connectButton, &QPushButton::clicked, this, &ConnectionBar::connectRequested);
    layout->addWidget(m_connectButton);

    m_stateBadge = new QLabel(this);
    m_stateBadge->setObjectName(QStringLiteral("stateBadge"));
    m_stateBadge->setFrameShape(QFrame::StyledPanel);
    m_stateBadge->setMinimumWidth(110);
    m_stateBadge->setAlignment(Qt::AlignCenter);
    layout->addWidget(m_stateBadge);
    setStateText(tr("idle"));
}

QString ConnectionBar::url() const { return m_url->text().trimmed(); }
QString ConnectionBar::identity() const { return m_identity->text(); }
QString ConnectionBar::space() const { return m_space->text().trimmed(); }
QString ConnectionBar::key() const { return m_key->text().trimmed(); }
QString ConnectionBar::viewerState() const { return m_viewerState->text().trimmed(); }
void ConnectionBar::setUrl(const QString& url) { m_url->setText(url); }
void ConnectionBar::setIdentity(const QString& identity) { m_identity->setText(identity); }
void ConnectionBar::setSpace(const QString& space) { m_space->setText(space); }
void ConnectionBar::setKey(const QString& key) { m_key->setText(key); }
void ConnectionBar::setViewerState(const QString& json) { m_viewerState->setText(json); }

void ConnectionBar::setStateText(const QString& text, const QString& toolTip)
{
    m_stateBadge->setText(text);
    m_stateBadge->setToolTip(toolTip);
}

QString ConnectionBar::stateText() const
{
    return m_stateBadge->text();
}

QString ConnectionBar::viewerStateError() const
{
    const QString text = viewerState();
    if (text.isEmpty())
        return {};
    QJsonParseError error {};
    const QJsonDocument document = QJsonDocument::fromJson(text.toUtf8(), &error);
    if (error.error != QJsonParseError::NoError)
        return tr("Viewer state is not JSON (offset %1: %2)").arg(error.offset).arg(error.errorString());
    if (!document.isObject())
        return tr("Viewer state must be a JSON object, e.g. {\"page\":0}");
    return {};
}

void ConnectionBar::validateViewerState()
{
    const QString error = viewerStateError();
    m_viewerState->setToolTip(error.isEmpty() ? tr("Viewer state (a JSON object) sent with connection/create") : error);
    m_viewerState->setStyleSheet(error.isEmpty() ? QString() : QStringLiteral("QLineEdit { color: #c62828; }"));
}

}
