#pragma once

#include "core/faults/faultspec.h"
#include "core/protocol/protocolclient.h"
#include "core/session/livesession.h"

#include <QMutex>
#include <QObject>
#include <QThread>
#include <QTimer>

#include <atomic>
#include <functional>
#include <memory>
#include <vector>

namespace deltascope::server {
class ReferenceServer;
}
namespace deltascope::faults {
class FaultProxy;
class FaultPlanRunner;
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
//
// Threads: the embedded server, the fault proxy and the plan runner live on a network thread of
// their own, so painting the window never holds up the bytes they move (on the window's thread the
// proxy forwarded only between paints, and at 20,000 deltas/s the tree fell seconds behind). The
// session, its log and the panes stay on the window's thread. Calls into the network objects go
// through onNetworkThread(); the network thread never waits for the window's, so neither can
// deadlock. A fault the proxy reports is recorded before the session handles what its socket saw
// of it, and after the frames its socket had read before the proxy reported it (see
// connectTo()). Signals from the network objects are queued, so each handler checks that the
// proxy or plan it speaks of is still the current one.
class LiveController : public QObject
{
    Q_OBJECT
public:
    explicit LiveController(QObject* parent = nullptr);
    ~LiveController() override;

    // Starts the embedded server if it is not running. Returns an error text (empty on success).
    QString startDemoServer();
    // Lives on the network thread: call into it only from onNetworkThread().
    server::ReferenceServer* demoServer() const { return m_server.get(); }
    QString demoUrl() const { return m_serverUrl; }
    // The embedded server's bots (demo documents that change on their own) paused or running.
    void setDemoBotsPaused(bool paused);
    // Stalls the embedded server's sockets (half-open); returns how many it reached.
    int stallDemoServer(int milliseconds);
    // Runs `work` on the network thread (the server's, the proxy's) and waits for it.
    void onNetworkThread(const std::function<void()>& work);
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
    // Lives on the network thread: call into it only from onNetworkThread().
    faults::FaultProxy* faultProxy() const { return m_proxy.get(); }
    // Why faults cannot be injected now (empty when they can): no session, or none through the proxy.
    QString faultsUnavailableReason() const;
    // Why the fault actions offered to the user (buttons, menu items, their keys) are greyed out
    // now: empty only while the connection is open (streaming, or stalled with its socket open),
    // not while it connects or reconnects. A fault then would hit a socket that is not there yet,
    // or (a drop) only cut short the reconnect. Plans and clearing go by faultsUnavailableReason().
    QString faultActionsUnavailableReason() const;
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
    // Network objects are made and destroyed on the network thread. One deleter for all of them
    // (each is a QObject): clang 14, the fuzz build's, judged a deleter template nested here not
    // invocable, and the UI library did not link.
    struct DeleteOnNetworkThread {
        LiveController* owner = nullptr;
        void operator()(QObject* object) const;
    };
    template<typename T>
    using NetworkPtr = std::unique_ptr<T, DeleteOnNetworkThread>;

    void onStateChanged(ConnectionState state, ConnectionState previous, const QString& reason);
    // Records the faults the proxy reported (from the network thread) into the session, in order,
    // unless received frames wait in the session's transport: some of them may have come before the
    // reports, and the transport records the reports between the right frames as it hands them on.
    void recordReportedFaults();
    // Records the reports numbered below `limit` (Transport::kNoLimit: all of them).
    void recordReportedFaultsBefore(quint64 limit);
    // `atNs`: when the proxy made the report, on the session's clock (-1: now).
    void onFaultInjected(const faults::FaultReport& report, qint64 atNs = -1);
    // The proxy's own view of a connection: an upstream that fails is recorded, and said once.
    void onUpstreamFailed(const QString& note, const QString& error, bool outageStarts);
    bool upstreamIsDemoServer() const;
    // Stops the running plan, clears the faults it set and logs `said` (with what was cleared).
    void endPlan(const QString& said);

    QThread m_network;
    QObject* m_networkContext = nullptr; // lives on m_network: what onNetworkThread() runs through
    NetworkPtr<server::ReferenceServer> m_server;
    QString m_serverUrl;
    quint16 m_serverPort = 0;
    NetworkPtr<faults::FaultProxy> m_proxy; // the current session's; replaced with it
    QUrl m_proxyUpstream;
    NetworkPtr<faults::FaultPlanRunner> m_planRunner;
    QString m_planName;
    // A plan with a duration runs that long (its "throughout" faults with it); then, as when it is
    // stopped, what it set is cleared.
    QTimer* m_planEnd = nullptr;
    quint64 m_plansStarted = 0;
    // The running plan's number in m_plansStarted; 0 when none is (none started, or it finished or
    // was stopped).
    quint64 m_planNumber = 0;
    std::unique_ptr<LiveSession> m_session;
    // Fault reports from the network thread, numbered as they come (the numbers the session's
    // transport marks its frames with) and tagged with the proxy generation they came from.
    struct QueuedReport {
        quint64 number = 0;
        quint64 generation = 0;
        faults::FaultReport report;
        qint64 atNs = -1; // on the session's clock, when the proxy made the report
    };
    QMutex m_reportsLock;
    std::vector<QueuedReport> m_reports; // in number order
    std::atomic<quint64> m_reportsPushed { 0 }; // the next report's number; written under the lock
    std::atomic<bool> m_reportsWaiting { false }; // m_reports is not empty (read without the lock)
    bool m_drainPosted = false; // recordReportedFaultsBefore() posted a recordReportedFaults() not yet run
    quint64 m_proxiesMade = 0;
    quint64 m_proxyGeneration = 0; // m_proxy's number in m_proxiesMade, 0 when none
    bool m_routeThroughProxy = true;
    qint64 m_reconnectAtMs = -1; // wall clock of the planned reconnect
    QString m_upstreamError; // said when the server stopped taking connections; empty while it does
    QString m_upgradeError; // said when the server refused the WebSocket upgrade (HTTP 404...); empty once streaming
};

}
