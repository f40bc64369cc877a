#pragma once

#include "core/protocol/protocolclient.h"
#include "core/session/livesession.h"

#include <QObject>

#include <memory>

namespace deltascope::server {
class ReferenceServer;
}

namespace deltascope::ui {

// Owns the live session of the window and, in demo mode, the embedded reference server (in this
// process, on 127.0.0.1 with a free port). Each Connect makes a new session with a fresh event
// log; sessionChanged() hands it to the panes. Errors come out as what happened + what to try.
class LiveController : public QObject
{
    Q_OBJECT
public:
    explicit LiveController(QObject* parent = nullptr);
    ~LiveController() override;

    // Starts the embedded server if it is not running. Returns an error text (empty on success).
    QString startDemoServer();
    server::ReferenceServer* demoServer() const { return m_server.get(); }
    QString demoUrl() const;
    static QStringList demoSpaces();

    // Connects a new session (the previous one is closed and replaced).
    bool connectTo(const DocumentTarget& target, bool insecure, QString* error);
    void disconnectSession();
    LiveSession* session() const { return m_session.get(); }
    bool isActive() const;

    // Milliseconds until the planned reconnect, or -1 when none is pending.
    qint64 reconnectRemainingMs() const;

Q_SIGNALS:
    void sessionChanged(deltascope::LiveSession* session);
    void stateChanged(deltascope::ConnectionState state, const QString& reason);
    void errorOccurred(const QString& what, const QString& whatToTry);

private:
    void onStateChanged(ConnectionState state, ConnectionState previous, const QString& reason);

    std::unique_ptr<server::ReferenceServer> m_server;
    std::unique_ptr<LiveSession> m_session;
    qint64 m_reconnectAtMs = -1; // wall clock of the planned reconnect
};

}
