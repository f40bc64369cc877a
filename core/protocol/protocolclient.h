#pragma once

#include "core/protocol/clock.h"
#include "core/protocol/reconnectpolicy.h"
#include "core/protocol/transport.h"
#include "core/session/sessionevent.h"

#include <QHash>
#include <QObject>
#include <QUrl>

#include <memory>

namespace deltascope {

// Connection states (adama-wire.md 7). Each change is a StateChanged event.
enum class ConnectionState : quint8 {
    Idle, // nothing asked yet
    Connecting, // socket opening
    Handshaking, // socket open, waiting for the hello
    Streaming, // hello received and the document stream requested
    Stalled, // pings overdue (liveness); reconnects when the threshold is reached
    Reconnecting, // waiting out a planned delay (socket or stream layer)
    Failed, // gave up; failureReason() says why
    Closed, // ended on purpose (connection/end, done:true, close())
};
QString connectionStateName(ConnectionState state); // "idle", "connecting", ...
bool connectionStateFromName(QStringView name, ConnectionState& out);

// Client liveness (the reference client's keepalive(), adama-wire.md 2.2): every checkIntervalMs,
// if more than pingOverdueMs passed since the last ping, a check is missed; the first miss makes
// the state Stalled, the missedChecksBeforeReconnect-th drops the socket and reconnects. A check
// that fires more than two intervals after the previous one (this thread was busy) is not counted:
// it records a note and leaves the judgement to the next check.
struct LivenessOptions {
    bool enabled = true;
    qint64 checkIntervalMs = 1250;
    qint64 pingOverdueMs = 2500;
    int missedChecksBeforeReconnect = 3;
    // The reference client's counter reset never takes effect (wrong `this`), so misses
    // accumulate over a socket's life. true resets the count whenever a ping arrives.
    bool resetMissesOnPing = false;
};

struct ProtocolClientOptions {
    LivenessOptions liveness;
    qint64 connectTimeoutMs = 10000; // open() to hello; then the socket counts as failed
    // After connection/end, the stream's done:true may come before the end's own {} (the order is
    // not fixed): the socket stays open this long for it, so it is not failed as a lost socket.
    qint64 endAnswerWaitMs = 2000;
    quint64 randomSeed = 0x5eed; // backoff jitter
};

// The document a client streams: connection/create parameters.
struct DocumentTarget {
    QUrl url;
    QString identity;
    QString space;
    QString key;
    QByteArray viewerState; // JSON object text; empty = none sent
};

// One frame in or out, or one local event, in the order the client saw it. The session log
// records these as they come (ProtocolClient::clientEvent).
struct ClientEvent {
    EventKind kind = EventKind::Note;
    Direction direction = Direction::Local;
    qint64 monotonicNs = 0;
    qint64 wallMs = 0;
    qint64 requestId = -1;
    qint64 seq = -1;
    qint32 code = 0;
    quint16 parts = 0;
    quint8 flags = 0;
    quint32 epoch = 0;
    QString method; // request method; for responses, the method of their request
    QString channel; // connection/send(-once) channel
    QByteArray payload; // frame text, or the JSON fields of a local event
    QString note; // decode problems and the like
};

// The client side of the Adama wire for one document: connect(url, identity, space, key,
// viewerState) as a document stream, plus send, send-once, viewer-state updates and end. Request
// ids start at 1 and are never reused in the client's life (reconnects included). Every frame and
// local event is emitted through clientEvent() before the client acts on it, so a recorder sees
// causes before effects. Single-threaded; all times come from the Clock.
class ProtocolClient : public QObject
{
    Q_OBJECT
public:
    // transport and clock are not owned and must outlive the client.
    ProtocolClient(Transport* transport, Clock* clock, QObject* parent = nullptr);
    ~ProtocolClient() override;

    void setOptions(const ProtocolClientOptions& options);
    const ProtocolClientOptions& options() const { return m_options; }
    void setReconnectPolicy(std::unique_ptr<ReconnectPolicy> policy); // default: ReferenceClientPolicy
    const ReconnectPolicy& reconnectPolicy() const { return *m_policy; }
    Transport* transport() const { return m_transport; }
    Clock* clock() const { return m_clock; }

    // The socket's URL is a fault proxy's in front of `server`: what the client says it opens names
    // the server, and the proxy only as the way there (a capture's first event read as if the
    // proxy's loopback port were the document's endpoint). Empty: the socket goes straight there.
    void setProxiedServer(const QUrl& server) { m_proxiedServer = server; }
    // Opens the socket and the document stream. False (with an error naming the field) when the
    // target is unusable; nothing is sent then.
    bool connectDocument(const DocumentTarget& target, QString* error = nullptr);
    // connection/send on the current stream. Returns the request id; -1 when the message is not
    // a JSON object or array. While not streaming, the request fails at once with a local
    // "not connected" failure, as in the reference client.
    qint64 send(const QString& channel, const QByteArray& messageJson);
    // At-most-once send: with an empty token, asks documents/create-dedupe first and sends
    // connection/send-once with the token it returns (dedupeTokenReceived fires); with a token,
    // sends at once (repeat a token to see 143407). Returns the first request id, or -1.
    qint64 sendOnce(const QString& channel, const QByteArray& messageJson, const QString& dedupeToken = {});
    // connection/update. The new state is also what later reconnects send. Returns the id, or -1
    // (not a JSON object); 0 when only stored because no stream is open.
    qint64 updateViewerState(const QByteArray& viewerStateJson);
    // connection/end: the stream ends with done:true and the state becomes Closed. Without an open
    // stream it closes at once.
    qint64 end();
    // Stops everything now: timers, the socket (clean close). State Closed.
    void close(const QString& reason = QStringLiteral("closed by the user"));
    // Drops the socket as a network fault would; the reconnect policy takes over.
    void dropSocket(Transport::CloseMode mode, const QString& reason = QStringLiteral("dropped by the user"));

    ConnectionState state() const { return m_state; }
    QString stateReason() const { return m_stateReason; }
    // Why the last socket could not open ("Connection refused") or was lost ("socket closed: ...",
    // "no hello within 2500 ms"), without the retry it led to; empty before any loss.
    QString lastSocketLoss() const { return m_lastSocketLoss; }
    // Why the last connect attempt failed, for a "could not connect" message: the last socket loss
    // (or the state's reason before any); while an attempt is under way, "no answer yet", after
    // what ended the one before it (a wss hint, a refusal: what says most about the server).
    QString lastConnectAttempt() const
    {
        if (m_state == ConnectionState::Connecting || m_state == ConnectionState::Handshaking)
            return m_lastSocketLoss.isEmpty() ? QStringLiteral("no answer yet")
                                              : QStringLiteral("no answer yet; the one before: %1").arg(m_lastSocketLoss);
        return m_lastSocketLoss.isEmpty() ? m_stateReason : m_lastSocketLoss;
    }
    QString failureReason() const { return m_state == ConnectionState::Failed ? m_stateReason : QString(); }
    int failureCode() const { return m_failureCode; } // server code that made the client give up, 0 if none
    // The client gave up because the stream failed with a code its policy does not retry (a fatal
    // one, or any unretryable one under a fixed or exponential policy), not after retries ran out.
    bool gaveUpOnCode() const { return m_gaveUpOnCode; }
    quint32 epoch() const { return m_epoch; }
    qint64 streamRequestId() const { return m_streamId; } // the current connection/create id, -1 if none
    qint64 lastSeq() const { return m_lastSeq; }
    qint64 rttMs() const { return m_rttMs; } // the server's last measured round trip (ping "latency"), -1 unknown
    QString helloVersion() const { return m_helloVersion; }
    bool helloEverReceived() const { return m_helloCount > 0; }
    int helloCount() const { return m_helloCount; }
    int missedChecks() const { return m_missedChecks; }
    const DocumentTarget& target() const { return m_target; }
    qint64 nextRequestId() const { return m_nextId; }
    int pendingRequestCount() const { return int(m_pending.size()); }

Q_SIGNALS:
    void clientEvent(const deltascope::ClientEvent& event);
    void stateChanged(deltascope::ConnectionState state, deltascope::ConnectionState previous, const QString& reason);
    void epochStarted(quint32 epoch, qint64 requestId);
    void helloReceived(const QString& version);
    void versionChanged(const QString& previous, const QString& current);
    void rttChanged(qint64 rttMs);
    void lastSeqChanged(qint64 seq);
    // A request/response call finished: ok with its response frame, or failed with a code (0 for
    // local failures such as "not connected", 999 for socket loss).
    void requestFinished(qint64 requestId, const QString& method, bool ok, int code, const QByteArray& frame);
    void dedupeTokenReceived(qint64 requestId, const QString& token);
    // The viewer state changed, by updateViewerState() or by a `viewstate` the document pushed
    // (merged into it): the state the next connection/create sends.
    void viewerStateChanged(const QByteArray& json);

private:
    enum class StreamPhase : quint8 { None, Queued, Open, RetryScheduled, Ended, GaveUp };
    struct Pending {
        QString method;
        QString channel;
        QByteArray chainMessage; // documents/create-dedupe: the send-once waiting for the token
        bool stream = false;
    };

    void openSocket();
    void onOpened();
    void onText(const QByteArray& frame);
    void mergePushedViewState(const QByteArray& frame);
    void onBinary(const QByteArray& bytes);
    void onOversized(qint64 size, const QByteArray& head);
    void onClosed(const TransportCloseInfo& info);
    void onTlsErrors(const QStringList& errors, bool ignored);
    void onLivenessCheck();
    void onConnectTimeout();
    void onSocketRetry();
    void onStreamRetry();

    // What handleSocketLoss() does with the transport: nothing (it is closed already), a clean
    // close (the reference client's socket.close() on a status or liveness loss), or an abort.
    enum class SocketEnd { AlreadyClosed, Close, Abort };
    // `cause`: what lastSocketLoss() keeps when shorter than `reason` (a failed connect's error alone).
    void handleSocketLoss(const QString& reason, SocketEnd end, const QString& cause = {});
    void handleStreamFailure(const StreamFailure& failure, const QString& reason);
    // Fails and forgets every pending call with the synthetic 999; true when the stream was among them.
    bool failPending(const QString& reason);
    void giveUp(const QString& reason, int code);
    void resendCreate(); // the open stream's create again, same id (a second hello on a socket)
    void sendCreate();
    qint64 sendRequest(const QByteArray& text, qint64 id, const Pending& pending);
    void failLocally(qint64 id, const Pending& pending, const QString& reason);
    void emitEvent(ClientEvent event);
    void emitLocal(EventKind kind, const QByteArray& payload, qint64 requestId = -1, qint32 code = 0);
    void setState(ConnectionState state, const QString& reason, qint64 delayMs = -1);
    void planned(const QString& layer, const RetryDecision& decision, int attempt);
    void stopTimers();
    bool canSend() const;
    // Closes the socket of an ended stream; calls still pending lose it (the synthetic 999).
    void closeEndedStream(const QString& reason);

    Transport* m_transport;
    Clock* m_clock;
    ProtocolClientOptions m_options;
    std::unique_ptr<ReconnectPolicy> m_policy;
    RandomSource m_random;
    ClockTimer m_livenessTimer;
    ClockTimer m_connectTimer;
    ClockTimer m_socketRetryTimer;
    ClockTimer m_streamRetryTimer;
    ClockTimer m_endAnswerTimer;

    DocumentTarget m_target;
    QUrl m_proxiedServer;
    QHash<qint64, Pending> m_pending;
    ConnectionState m_state = ConnectionState::Idle;
    QString m_stateReason;
    QString m_lastSocketLoss;
    StreamPhase m_streamPhase = StreamPhase::None;
    qint64 m_nextId = 1;
    qint64 m_streamId = -1;
    qint64 m_lastSeq = -1;
    qint64 m_rttMs = -1;
    qint64 m_lastPingNs = 0;
    bool m_pongedOnSocket = false; // a ping's latency measures something only after our first pong
    bool m_pingedOnSocket = false;
    bool m_helloOnSocket = false; // this socket has had a hello (a second one re-sends the stream)
    QByteArray m_streamRequest; // the open stream's connection/create, as sent // liveness is judged only once the socket has had a ping, as connection.js does
    qint64 m_lastEventNs = 0; // the time of the last event emitted (emitEvent keeps them in order)
    qint64 m_lastCheckNs = 0; // when the liveness timer last fired, to tell a late check from a silent server
    qint64 m_endRequestId = -1;
    quint32 m_epoch = 0;
    int m_missedChecks = 0;
    int m_helloCount = 0;
    int m_failureCode = 0;
    bool m_gaveUpOnCode = false;
    int m_socketAttempt = 0;
    int m_streamAttempt = 0;
    QString m_helloVersion;
    bool m_socketUp = false; // hello received on the current socket
    bool m_active = false; // connectDocument() called and not closed or failed
};

}

Q_DECLARE_METATYPE(deltascope::ClientEvent)
Q_DECLARE_METATYPE(deltascope::ConnectionState)
