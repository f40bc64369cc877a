#include "ui/livecontroller.h"

#include "core/server/referenceserver.h"

#include <QDateTime>
#include <QJsonDocument>
#include <QJsonObject>

namespace deltascope::ui {

LiveController::LiveController(QObject* parent)
    : QObject(parent)
{
}

LiveController::~LiveController()
{
    // The session's socket goes before the server it talks to.
    m_session.reset();
    m_server.reset();
}

QStringList LiveController::demoSpaces()
{
    return server::ReferenceServer::spaces();
}

QString LiveController::startDemoServer()
{
    if (m_server && m_server->isListening())
        return {};
    server::ServerOptions options;
    options.bind = QHostAddress::LocalHost;
    options.port = 0;
    m_server = std::make_unique<server::ReferenceServer>(options);
    if (m_server->listen() == 0) {
        const QString error = m_server->errorString();
        m_server.reset();
        return tr("The embedded demo server could not listen on 127.0.0.1: %1").arg(error);
    }
    return {};
}

QString LiveController::demoUrl() const
{
    return m_server ? m_server->url() : QString();
}

bool LiveController::isActive() const
{
    if (!m_session)
        return false;
    const ConnectionState state = m_session->state();
    return state != ConnectionState::Idle && state != ConnectionState::Closed && state != ConnectionState::Failed;
}

bool LiveController::connectTo(const DocumentTarget& target, bool insecure, QString* error)
{
    disconnectSession();
    auto session = std::make_unique<LiveSession>();
    session->transport().setInsecure(insecure);
    connect(session.get(), &LiveSession::stateChanged, this, &LiveController::onStateChanged);
    QString reason;
    if (!session->start(target, &reason)) {
        if (error)
            *error = reason;
        Q_EMIT errorOccurred(tr("Could not connect to %1: %2").arg(target.url.toDisplayString(), reason),
            tr("Check the URL (ws:// or wss://, ending in /~s), the space and the key."));
        return false;
    }
    // The panes move to the new log before the old session (and its log) goes away.
    std::unique_ptr<LiveSession> previous = std::exchange(m_session, std::move(session));
    m_reconnectAtMs = -1;
    Q_EMIT sessionChanged(m_session.get());
    previous.reset();
    return true;
}

void LiveController::disconnectSession()
{
    if (!m_session)
        return;
    m_session->disconnect(this);
    if (isActive())
        m_session->stop();
    m_reconnectAtMs = -1;
    // The log stays readable until the next session replaces it in the panes.
    Q_EMIT stateChanged(ConnectionState::Closed, tr("disconnected by the user"));
}

qint64 LiveController::reconnectRemainingMs() const
{
    if (m_reconnectAtMs < 0)
        return -1;
    return std::max<qint64>(0, m_reconnectAtMs - QDateTime::currentMSecsSinceEpoch());
}

void LiveController::onStateChanged(ConnectionState state, ConnectionState, const QString& reason)
{
    m_reconnectAtMs = -1;
    if (state == ConnectionState::Reconnecting && m_session) {
        // The planned delay was recorded just before the state change.
        const std::vector<qint64>& planned = m_session->log().indexesOfKind(EventKind::ReconnectPlanned);
        if (!planned.empty()) {
            const QJsonObject fields = QJsonDocument::fromJson(m_session->log().payload(planned.back())).object();
            const qint64 delay = fields.value(u"delayMs").toVariant().toLongLong();
            m_reconnectAtMs = m_session->log().at(planned.back()).wallMs + delay;
        }
    }
    Q_EMIT stateChanged(state, reason);
    if (state == ConnectionState::Failed)
        Q_EMIT errorOccurred(tr("The connection failed: %1").arg(reason),
            tr("Check that the server is running and the identity may open this document, then Connect again."));
}

}
