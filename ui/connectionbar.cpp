#include "ui/connectionbar.h"

#include "ui/lineeditwidth.h"

#include <QHBoxLayout>
#include <QJsonDocument>
#include <QLabel>
#include <QLineEdit>
#include <QMenu>
#include <QSettings>
#include <QPushButton>
#include <QToolButton>

namespace deltascope::ui {

namespace {
QLineEdit* addField(QHBoxLayout* layout, QWidget* parent, const QString& label, const QString& objectName,
    const QString& placeholder, int stretch, const QString& minimumText)
{
    auto* caption = new QLabel(label, parent);
    auto* edit = new QLineEdit(parent);
    edit->setObjectName(objectName);
    edit->setPlaceholderText(placeholder);
    setMinimumTextWidth(edit, minimumText);
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
    m_url = addField(layout, this, tr("&URL"), QStringLiteral("urlEdit"), QStringLiteral("ws://127.0.0.1:7777/~s"), 4,
        QStringLiteral("ws://127.0.0.1:7777"));
    m_identity = addField(layout, this, tr("&Identity"), QStringLiteral("identityEdit"), QStringLiteral("anonymous:NAME or a token"), 2,
        QStringLiteral("anonymous:ab"));
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
    m_space = addField(layout, this, tr("S&pace"), QStringLiteral("spaceEdit"), QStringLiteral("chat"), 1, QStringLiteral("ticker"));
    m_key = addField(layout, this, tr("&Key"), QStringLiteral("keyEdit"), QStringLiteral("demo"), 1, QStringLiteral("rate-100"));
    m_viewerState = addField(layout, this, tr("&View"), QStringLiteral("viewerStateEdit"), QStringLiteral("{}"), 2,
        QStringLiteral("{\"page\":0}"));
    connect(m_viewerState, &QLineEdit::textChanged, this, &ConnectionBar::validateViewerState);

    m_connectButton = new QPushButton(tr("&Connect"), this);
    m_connectButton->setObjectName(QStringLiteral("connectButton"));
    m_connectButton->setToolTip(tr("Connect (Ctrl+Return) / Disconnect"));
    connect(m_connectButton, &QPushButton::clicked, this, [this] {
        if (m_sessionActive) {
            Q_EMIT disconnectRequested();
            return;
        }
        // Checked and remembered where Ctrl+Return's connect is: a bad viewer state is said in the
        // window's banner, and only a connection that starts goes into Recent.
        Q_EMIT connectRequested();
    });
    layout->addWidget(m_connectButton);

    m_recentButton = new QToolButton(this);
    m_recentButton->setObjectName(QStringLiteral("recentButton"));
    m_recentButton->setText(tr("Recent"));
    m_recentButton->setToolTip(tr("Recent connections (identities are never remembered)"));
    m_recentButton->setPopupMode(QToolButton::InstantPopup);
    m_recentButton->setMenu(new QMenu(m_recentButton));
    connect(m_recentButton->menu(), &QMenu::aboutToShow, this, &ConnectionBar::fillRecentMenu);
    layout->addWidget(m_recentButton);

    m_insecureLabel = new QLabel(tr("⚠ TLS unverified"), this);
    m_insecureLabel->setObjectName(QStringLiteral("insecureWarning"));
    m_insecureLabel->setToolTip(tr("--insecure: server certificates are not verified. Anyone on the path could read or change this session."));
    m_insecureLabel->setStyleSheet(QStringLiteral("QLabel { color: #c62828; font-weight: bold; }"));
    m_insecureLabel->setVisible(false);
    layout->addWidget(m_insecureLabel);

    m_stateBadge = new QLabel(this);
    m_stateBadge->setObjectName(QStringLiteral("stateBadge"));
    m_stateBadge->setFrameShape(QFrame::StyledPanel);
    // One width for every state, so that a countdown ticking in it does not shift the bar: the
    // longest it says ("reconnecting in 10.0 s"), text beyond that cut short (the tooltip has it).
    m_stateBadge->setFixedWidth(m_stateBadge->fontMetrics().horizontalAdvance(QStringLiteral("reconnecting in 10.0 s")) + 16);
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
    m_fullStateText = text;
    m_stateBadge->setText(m_stateBadge->fontMetrics().elidedText(text, Qt::ElideRight, m_stateBadge->width() - 8));
    m_stateBadge->setToolTip(toolTip.isEmpty() ? text : toolTip);
}

QString ConnectionBar::stateText() const
{
    return m_fullStateText;
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

void ConnectionBar::setSessionActive(bool active)
{
    m_sessionActive = active;
    m_connectButton->setText(active ? tr("Dis&connect") : tr("&Connect"));
}

void ConnectionBar::setInsecure(bool insecure)
{
    m_insecure = insecure;
    m_insecureLabel->setVisible(insecure);
}

namespace {
const QString kRecentKey = QStringLiteral("connection/recent");
QString joinRecent(const QStringList& parts)
{
    QStringList escaped;
    for (QString part : parts)
        escaped.append(part.replace(QLatin1Char('\t'), QLatin1Char(' ')));
    return escaped.join(QLatin1Char('\t'));
}
}

void ConnectionBar::focusViewerState()
{
    m_viewerState->setFocus();
    m_viewerState->selectAll();
}

void ConnectionBar::rememberCurrent()
{
    remember(currentEntry());
}

QStringList ConnectionBar::currentEntry() const
{
    return { url(), space(), key(), viewerState() };
}

void ConnectionBar::remember(const QStringList& parts)
{
    if (parts.isEmpty() || parts.front().isEmpty())
        return;
    const QString entry = joinRecent(parts);
    QStringList recent = recentConnections();
    recent.removeAll(entry);
    recent.prepend(entry);
    while (recent.size() > kMaxRecent)
        recent.removeLast();
    QSettings().setValue(kRecentKey, recent);
}

QStringList ConnectionBar::recentConnections() const
{
    return QSettings().value(kRecentKey).toStringList();
}

void ConnectionBar::fillRecentMenu()
{
    QMenu* menu = m_recentButton->menu();
    menu->clear();
    const QStringList recent = recentConnections();
    if (recent.isEmpty()) {
        menu->addAction(tr("No recent connections"))->setEnabled(false);
        return;
    }
    for (const QString& entry : recent) {
        const QStringList parts = entry.split(QLatin1Char('\t'));
        if (parts.size() < 4)
            continue;
        menu->addAction(QStringLiteral("%1  %2/%3").arg(parts[0], parts[1], parts[2]), this, [this, parts] {
            setUrl(parts[0]);
            setSpace(parts[1]);
            setKey(parts[2]);
            setViewerState(parts[3]);
        });
    }
    menu->addSeparator();
    menu->addAction(tr("Forget recent connections"), this, [] { QSettings().remove(kRecentKey); });
}

void ConnectionBar::validateViewerState()
{
    const QString error = viewerStateError();
    m_viewerState->setToolTip(error.isEmpty() ? tr("Viewer state (a JSON object) sent with connection/create") : error);
    m_viewerState->setStyleSheet(error.isEmpty() ? QString() : QStringLiteral("QLineEdit { color: #c62828; }"));
}

}
