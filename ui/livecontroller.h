#pragma once

#include "core/protocol/protocolclient.h"
#include "core/session/livesession.h"

#include <QObject>

#include <memory>

namespace deltascope::server {
class ReferenceServer;
}
namespace deltascope::faults {
class FaultProxy;
class FaultPlanRunner;
struct FaultReport;
}

namespace deltascope::ui {

// Owns the live session of the window and, in demo mode, the embedded reference server (in this
// process, on 127.0.0.1 with a free port). Each Connect makes a new session with a fresh event
// log; sessionChanged() hands it to the panes. Errors come out as what happened + what to try.
//
// Fault injection: a ws:// session is routed through a loopback fault proxy (transparent until a
// fault is applied), so both ends see faults as a network would make them. Every fault the proxy
// carries out is recorded in the session log; server-side faults (redeploy) go to the embedded
// server when the session talks to it.
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

    // --- fault injection ---------------------------------------------------------------------------
    // Off: sessions connect straight to the server (only client-side drops are possible).
    void setRouteThroughProxy(bool on) { m_routeThroughProxy = on; }
    bool routesThroughProxy() const { return m_routeThroughProxy; }
    faults::FaultProxy* faultProxy() const { return m_proxy.get(); }
    // Why faults cannot be injected now (empty when they can).
    QString faultsUnavailableReason() const;
    // Applies one fault by name (deltascope-cli proxy --list-faults) with its parameters.
    bool applyFault(const QString& name, const QJsonObject& params, QString* error);
    // Runs a plan (a file, or the name of a ready plan) from now on; one plan at a time.
    bool runPlan(const QString& pathOrName, QString* error);
    void stopPlan();
    bool isPlanRunning() const;

Q_SIGNALS:
    void sessionChanged(deltascope::LiveSession* session);
    void stateChanged(deltascope::ConnectionState state, const QString& reason);
    void errorOccurred(const QString& what, const QString& whatToTry);
    // An error said earlier no longer holds (the server took a connection again).
    void errorResolved(const QString& what);
    // A fault took effect (or a plan step fired or failed), as a person reads it.
    void faultLogged(const QString& line);
    void planStateChanged(bool running, const QString& name);

private:
    void onStateChanged(ConnectionState state, ConnectionState previous, const QString& reason);
    void onFaultInjected(const faults::FaultReport& report);
    // The proxy's own view of a connection: an upstream that fails is recorded, and said once.
    void onUpstreamFailed(const QString& note, const QString& error, bool outageStarts);
    bool upstreamIsDemoServer() const;

    std::unique_ptr<server::ReferenceServer> m_server;
    std::unique_ptr<faults::FaultProxy> m_proxy; // the current session's; replaced with it
    std::unique_ptr<faults::FaultPlanRunner> m_planRunner;
    std::unique_ptr<LiveSession> m_session;
    bool m_routeThroughProxy = true;
    qint64 m_reconnectAtMs = -1; // wall clock of the planned reconnect
    QString m_upstreamError; // said when the server stopped taking connections; empty while it does
};

}
