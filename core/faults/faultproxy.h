#pragma once

#include "core/faults/faultspec.h"

#include <QElapsedTimer>
#include <QHostAddress>
#include <QJsonObject>
#include <QList>
#include <QObject>
#include <QPointer>
#include <QRandomGenerator>
#include <QSslCertificate>
#include <QTimer>
#include <QUrl>

#include <memory>

class QTcpServer;
class QTcpSocket;

namespace deltascope::faults {

class ProxyConnection;

// A message the proxy saw, for plan triggers and statistics (only emitted when observing).
struct ObservedFrame {
    int connection = -1;
    FlowDirection direction = FlowDirection::Inbound;
    QString kind; // frameKindNames(), or "unparsed" when not inspected, "invalid" when not JSON
    QJsonObject json; // empty unless the frame was inspected and is a JSON object
    qsizetype bytes = 0; // payload size
};

// A loopback TCP proxy between one or more WebSocket clients and a ws:// or wss:// server. Transparent at
// byte level when no fault is active: untouched frames are forwarded with their original bytes
// (masking keys included). It follows the HTTP upgrade and parses RFC 6455 frames both ways, so it
// can apply message faults to whole messages (fragmented ones are reassembled) and to the
// protocol's envelopes. Anything it cannot parse (garbage, a non-WebSocket peer, a frame over the
// parsing limit) is passed through raw from that point on, and said so in connectionEvent().
//
// permessage-deflate is stripped from the upgrade request so frames stay readable; the
// connectionEvent for the upgrade says so.
//
// Every fault that takes effect is reported once with faultInjected(), at the moment it acts on the
// wire (a message fault when its frame passes, a delayed frame when it is finally released).
// Randomness (jitter, corruption positions, mask keys of rewritten client frames) comes from one
// seeded generator, so a plan with a seed is repeatable.
class FaultProxy : public QObject {
    Q_OBJECT
public:
    explicit FaultProxy(QObject* parent = nullptr);
    ~FaultProxy() override;

    // ws:// or wss://. With wss the proxy speaks TLS to the upstream (clients still connect to it
    // with plain ws on loopback) and verifies the server's certificate against the system's CAs and
    // any added with setCaCertificates(), unless setInsecure(true).
    bool setUpstream(const QUrl& url, QString* error = nullptr);
    QUrl upstream() const { return m_upstream; }
    void setInsecure(bool insecure) { m_insecure = insecure; }
    bool isInsecure() const { return m_insecure; }
    void setCaCertificates(const QList<QSslCertificate>& certificates) { m_caCertificates = certificates; }
    // Listens on a loopback address only. port 0 picks a free port.
    bool listen(const QHostAddress& address = QHostAddress::LocalHost, quint16 port = 0, QString* error = nullptr);
    bool isListening() const;
    quint16 port() const;
    // The URL a client should use instead of the upstream: same path and query, the proxy's address.
    QUrl clientUrl() const;
    // Stops listening and closes every connection (FIN).
    void shutdown();

    void setSeed(quint64 seed);
    quint64 seed() const { return m_seed; }

    // Applies a fault now. Network faults act on the live connections (and, as each says, on later
    // ones); message faults are armed and act when their frames pass. An inject waits for what it
    // needs: inject-reload and inject-failure for a stream (the proxy has passed its
    // connection/create), inject-disconnected for a connection whose hello has passed; each is
    // reported by faultInjected() when it acts, or by faultNotApplied() if clear or shutdown
    // comes first. Returns false (with why) only for a fault this proxy cannot carry out.
    bool apply(const FaultSpec& spec, QString* error = nullptr);
    bool apply(const QString& fault, const QJsonObject& params = {}, QString* error = nullptr);
    // Ends every fault: stalls released (held bytes delivered), shaping off, armed message faults
    // and version rewrites dropped, held pings handled as hold-pings said, refusals cancelled.
    void clearAll();
    // Every connect is reset for the next `ms` (a server that is not listening), reported per connect.
    void refuseFor(qint64 ms) { m_refuseUntilNs = nowNs() + ms * 1000000; }
    // Reports a fault carried out elsewhere (the server's own control) so it is logged with the rest.
    void reportExternal(const FaultReport& report) { this->report(report); }

    int connectionCount() const; // proxied connections with a socket still open (leak checks)
    int heldSocketCount() const { return int(m_blackHoled.size()); } // black-holed connects
    int armedMessageFaultCount() const { return int(m_armed.size()); }
    int waitingInjectCount() const { return int(m_waitingInjects.size()); }
    bool isStalled() const;
    struct Stats {
        quint64 connections = 0;
        quint64 bytesToServer = 0;
        quint64 bytesToClient = 0;
        quint64 framesToServer = 0;
        quint64 framesToClient = 0;
        quint64 faults = 0;
    };
    Stats stats() const { return m_stats; }

    // When on, frameObserved() fires for every message (and its JSON is parsed).
    void setObserveFrames(bool on) { m_observe = on; }
    qint64 elapsedMs() const { return m_clock.elapsed(); }

Q_SIGNALS:
    void faultInjected(const deltascope::faults::FaultReport& report);
    // An applied fault that never acted: an inject still waiting for its stream or hello, or a
    // message fault whose frame never came, when clear or shutdown() came. `why` says what it
    // waited for.
    void faultNotApplied(const QString& fault, const QJsonObject& params, const QString& why);
    // Lifecycle of proxied connections: {"connection":N,"event":"opened"|"upgraded"|"closed"|
    // "raw-fallback"|"upstream-failed"|"refused"|"tls-errors", ...details}.
    void connectionEvent(const QJsonObject& event);
    // A connect to the upstream failed: `note` says so for a session log (behind the proxy the
    // client only sees its own connection reset), `error` is the socket's. `outageStarts` is true
    // for the first failure since the server last took a connection, so a notice is shown once.
    void upstreamFailed(const QString& note, const QString& error, bool outageStarts);
    // The server took a connection again after upstreamFailed().
    void upstreamReachable();
    void frameObserved(const deltascope::faults::ObservedFrame& frame);

private:
    friend class ProxyConnection;
    friend struct Flow;
    struct ArmedFault {
        FaultSpec spec;
        int matched = 0; // frames that matched the selector so far
        int applied = 0;
    };
    struct Shaping {
        int latencyMs = 0;
        int jitterMs = 0;
        qint64 bytesPerSecond = 0;
        int segmentBytes = 0;
        int gapMs = 1;
        bool active() const { return latencyMs > 0 || jitterMs > 0 || bytesPerSecond > 0 || segmentBytes > 0; }
    };

    void onNewConnection();
    void connectionFinished(ProxyConnection* connection);
    void report(FaultReport report);
    void emitConnectionEvent(int connection, const QString& event, QJsonObject details = {});
    const Shaping& shaping(FlowDirection direction) const
    {
        return direction == FlowDirection::Outbound ? m_toServer : m_toClient;
    }
    qint64 nowNs() const { return m_clock.nsecsElapsed(); }
    quint32 randomBounded(quint32 bound) { return bound ? m_random.bounded(bound) : 0; }
    quint32 randomMask() { return m_random.generate(); }
    bool needsInspection(FlowDirection direction) const;
    void setStall(FlowDirection direction, bool on);
    void releasePings();
    QList<ProxyConnection*> liveConnections() const;
    // Called by a connection once a connection/create or a hello has passed: each waiting inject
    // it can now take acts there and stops waiting.
    void offerWaitingInjects(ProxyConnection* connection);
    // At clear or shutdown: every inject still waiting and every message fault whose frame never
    // came is reported by faultNotApplied(), and forgotten.
    void reportUnappliedFaults(const QString& why);
    void reportUnusedVersionRewrite(const QString& why); // part of the above, also when a new rewrite replaces it

    QTcpServer* m_server = nullptr;
    QUrl m_upstream;
    bool m_insecure = false;
    QList<QSslCertificate> m_caCertificates;
    quint64 m_seed = 1;
    QRandomGenerator m_random { 1 };
    QElapsedTimer m_clock;
    Stats m_stats;
    bool m_observe = false;
    int m_nextConnection = 1;
    QList<QPointer<ProxyConnection>> m_connections;
    QList<QTcpSocket*> m_blackHoled;

    Shaping m_toServer;
    Shaping m_toClient;
    // Stall: whether new connections join it (a partition), and the timer that ends a timed stall.
    bool m_stallNewConnections = false;
    FlowDirection m_stallDirection = FlowDirection::Both;
    bool m_stallActive = false;
    QTimer m_stallTimer;
    // Refusals: a count, and (for a simulated redeploy) a time before which every connect is reset.
    int m_refuseRemaining = 0;
    QString m_refuseMode;
    int m_blackHoleHoldMs = 30000;
    qint64 m_refuseUntilNs = -1;
    FaultSpec m_refuseSpec;
    // Version rewrite of the next hellos (-1 = every one).
    int m_versionRewritesLeft = 0;
    int m_versionRewritesDone = 0; // hellos rewritten since it was set (none: reported not applied)
    QString m_versionRewrite;
    FaultSpec m_versionSpec;
    // Held pings.
    bool m_holdPings = false;
    bool m_upstreamDown = false; // since an upstream-failed event, until a connection is upgraded
    bool m_deliverHeldPings = false;
    QTimer m_pingTimer;
    FaultSpec m_pingSpec;

    std::vector<ArmedFault> m_armed;
    std::vector<FaultSpec> m_waitingInjects; // in the order applied
};

}

Q_DECLARE_METATYPE(deltascope::faults::ObservedFrame)
