#include "core/protocol/protocolclient.h"

#include "core/jsonmergepatch.h"
#include "core/logging.h"
#include "core/protocol/envelope.h"
#include "core/protocol/errorcodes.h"

#include <QJsonDocument>
#include <QJsonObject>

#include <algorithm>
#include <array>

namespace deltascope {

namespace {
constexpr std::array<const char*, 8> kStateNames = {
    "idle", "connecting", "handshaking", "streaming", "stalled", "reconnecting", "failed", "closed",
};

const QString kCreate = QStringLiteral("connection/create");
const QString kSend = QStringLiteral("connection/send");
const QString kSendOnce = QStringLiteral("connection/send-once");
const QString kUpdate = QStringLiteral("connection/update");
const QString kEnd = QStringLiteral("connection/end");
const QString kCreateDedupe = QStringLiteral("documents/create-dedupe");

QByteArray compact(const QJsonObject& object)
{
    return QJsonDocument(object).toJson(QJsonDocument::Compact);
}
}

QString connectionStateName(ConnectionState state)
{
    const auto index = std::size_t(state);
    return index < kStateNames.size() ? QString::fromLatin1(kStateNames[index]) : QStringLiteral("unknown");
}

bool connectionStateFromName(QStringView name, ConnectionState& out)
{
    for (std::size_t i = 0; i < kStateNames.size(); ++i) {
        if (name == QLatin1String(kStateNames[i])) {
            out = ConnectionState(i);
            return true;
        }
    }
    return false;
}

ProtocolClient::ProtocolClient(Transport* transport, Clock* clock, QObject* parent)
    : QObject(parent)
    , m_transport(transport)
    , m_clock(clock)
    , m_policy(std::make_unique<ReferenceClientPolicy>())
    , m_random(m_options.randomSeed)
    , m_livenessTimer(clock, [this]() { onLivenessCheck(); })
    , m_connectTimer(clock, [this]() { onConnectTimeout(); })
    , m_socketRetryTimer(clock, [this]() { onSocketRetry(); })
    , m_streamRetryTimer(clock, [this]() { onStreamRetry(); })
    , m_endAnswerTimer(clock, [this]() {
        closeEndedStream(QStringLiteral("no answer to connection/end within %1 ms of the stream's end").arg(m_options.endAnswerWaitMs));
    })
{
    qRegisterMetaType<ClientEvent>();
    qRegisterMetaType<ConnectionState>();
    qRegisterMetaType<TransportCloseInfo>();
    connect(m_transport, &Transport::opened, this, &ProtocolClient::onOpened);
    connect(m_transport, &Transport::textReceived, this, &ProtocolClient::onText);
    connect(m_transport, &Transport::binaryReceived, this, &ProtocolClient::onBinary);
    connect(m_transport, &Transport::oversized, this, &ProtocolClient::onOversized);
    connect(m_transport, &Transport::closed, this, &ProtocolClient::onClosed);
    connect(m_transport, &Transport::tlsErrors, this, &ProtocolClient::onTlsErrors);
    // Inbound frames are timed when read, on this clock (see emitEvent), unless the transport's
    // owner gave it a read clock already (one on the same time base).
    if (!m_transport->hasReadClock())
        m_transport->setReadClock(m_clock->threadSafeNowNs());
}

ProtocolClient::~ProtocolClient()
{
    stopTimers();
    m_transport->disconnect(this);
}

void ProtocolClient::setOptions(const ProtocolClientOptions& options)
{
    m_options = options;
    m_options.liveness.missedChecksBeforeReconnect = std::max(1, m_options.liveness.missedChecksBeforeReconnect);
    m_options.liveness.checkIntervalMs = std::max<qint64>(1, m_options.liveness.checkIntervalMs);
    m_random.reseed(m_options.randomSeed);
}

void ProtocolClient::setReconnectPolicy(std::unique_ptr<ReconnectPolicy> policy)
{
    if (policy)
        m_policy = std::move(policy);
}

// --- events and state ------------------------------------------------------------------------

void ProtocolClient::emitEvent(ClientEvent event)
{
    // An inbound frame is timed when the transport read it: a busy thread may hand a burst on long
    // after, and the timeline's gaps and latencies are to be the wire's. Never before an event
    // already emitted, so the times stay in the order of the events.
    const qint64 now = m_clock->nowNs();
    qint64 at = now;
    if (event.direction == Direction::Inbound) {
        const qint64 read = m_transport->frameReadNs();
        if (read >= 0 && read < now)
            at = read;
    }
    at = std::max(at, m_lastEventNs);
    m_lastEventNs = at;
    event.monotonicNs = at;
    event.wallMs = m_clock->wallMsAt(at);
    event.epoch = m_epoch;
    Q_EMIT clientEvent(event);
}

void ProtocolClient::emitLocal(EventKind kind, const QByteArray& payload, qint64 requestId, qint32 code)
{
    ClientEvent event;
    event.kind = kind;
    event.direction = Direction::Local;
    event.payload = payload;
    event.requestId = requestId;
    event.code = code;
    emitEvent(std::move(event));
}

void ProtocolClient::setState(ConnectionState state, const QString& reason, qint64 delayMs)
{
    if (state == m_state && reason == m_stateReason)
        return;
    const ConnectionState previous = m_state;
    m_state = state;
    m_stateReason = reason;
    QJsonObject fields { { QStringLiteral("from"), connectionStateName(previous) },
        { QStringLiteral("to"), connectionStateName(state) }, { QStringLiteral("reason"), reason } };
    if (delayMs >= 0)
        fields.insert(QStringLiteral("delayMs"), delayMs);
    emitLocal(EventKind::StateChanged, compact(fields), -1, state == ConnectionState::Failed ? m_failureCode : 0);
    Q_EMIT stateChanged(state, previous, reason);
}

void ProtocolClient::planned(const QString& layer, const RetryDecision& decision, int attempt)
{
    const QJsonObject fields { { QStringLiteral("layer"), layer }, { QStringLiteral("delayMs"), decision.delayMs },
        { QStringLiteral("attempt"), attempt }, { QStringLiteral("policy"), m_policy->name() },
        { QStringLiteral("reason"), decision.reason } };
    emitLocal(EventKind::ReconnectPlanned, compact(fields), -1, qint32(std::min<qint64>(decision.delayMs, INT32_MAX)));
}

void ProtocolClient::stopTimers()
{
    m_livenessTimer.stop();
    m_connectTimer.stop();
    m_socketRetryTimer.stop();
    m_streamRetryTimer.stop();
    m_endAnswerTimer.stop();
}

void ProtocolClient::closeEndedStream(const QString& reason)
{
    m_endAnswerTimer.stop();
    m_socketUp = false;
    m_transport->close(Transport::CloseMode::Clean);
    failPending(reason);
}

bool ProtocolClient::canSend() const
{
    return m_socketUp && m_transport->isOpen();
}

// --- public API ------------------------------------------------------------------------------

bool ProtocolClient::connectDocument(const DocumentTarget& target, QString* error)
{
    auto fail = [error](const QString& message) {
        if (error)
            *error = message;
        return false;
    };
    if (!target.url.isValid() || (target.url.scheme() != QLatin1String("ws") && target.url.scheme() != QLatin1String("wss")))
        return fail(QStringLiteral("url: '%1' is not a ws:// or wss:// URL").arg(target.url.toString()));
    if (target.url.host().isEmpty())
        return fail(QStringLiteral("url: '%1' has no host").arg(target.url.toString()));
    if (target.space.trimmed().isEmpty())
        return fail(QStringLiteral("space: empty"));
    if (target.key.isEmpty())
        return fail(QStringLiteral("key: empty"));
    QString jsonError;
    if (!target.viewerState.isEmpty() && !isJsonObject(target.viewerState, &jsonError))
        return fail(QStringLiteral("viewer state: %1").arg(jsonError));

    stopTimers();
    m_transport->close(Transport::CloseMode::Abort);
    // A new connection: answers meant for the abandoned socket cannot arrive.
    m_pending.remove(m_streamId);
    failPending(QStringLiteral("socket abandoned for a new connection"));
    m_target = target;
    m_active = true;
    m_failureCode = 0;
    m_gaveUpOnCode = false;
    m_endRequestId = -1;
    m_streamId = -1;
    m_socketUp = false;
    m_streamPhase = StreamPhase::Queued; // the create waits for the hello
    openSocket();
    return true;
}

void ProtocolClient::openSocket()
{
    m_socketUp = false;
    m_missedChecks = 0;
    setState(ConnectionState::Connecting,
        m_proxiedServer.isEmpty() ? QStringLiteral("opening %1").arg(m_target.url.toString(QUrl::RemoveUserInfo))
                                  : QStringLiteral("opening %1 through the fault proxy at %2")
                                        .arg(m_proxiedServer.toString(QUrl::RemoveUserInfo), m_target.url.toString(QUrl::RemoveUserInfo)));
    if (m_options.connectTimeoutMs > 0)
        m_connectTimer.start(m_options.connectTimeoutMs);
    m_transport->open(m_target.url);
}

qint64 ProtocolClient::sendRequest(const QByteArray& text, qint64 id, const Pending& pending)
{
    m_pending.insert(id, pending);
    ClientEvent event;
    event.kind = EventKind::Request;
    event.direction = Direction::Outbound;
    event.requestId = id;
    event.method = pending.method;
    event.channel = pending.channel;
    event.payload = text;
    emitEvent(std::move(event));
    if (!m_transport->sendText(text))
        qCWarning(lcProtocol) << "request" << id << "could not be written: transport closed";
    return id;
}

void ProtocolClient::failLocally(qint64 id, const Pending& pending, const QString& reason)
{
    // Recorded as the reference client experiences it: a failure that never was on the wire.
    ClientEvent event;
    event.kind = EventKind::Failure;
    event.direction = Direction::Local;
    event.requestId = id;
    event.method = pending.method;
    event.channel = pending.channel;
    event.flags = FlagSynthetic;
    event.payload = compact(QJsonObject { { QStringLiteral("failure"), id }, { QStringLiteral("reason"), reason } });
    event.note = reason;
    emitEvent(std::move(event));
    Q_EMIT requestFinished(id, pending.method, false, 0, event.payload);
}

qint64 ProtocolClient::send(const QString& channel, const QByteArray& messageJson)
{
    QString error;
    if (!isJsonObjectOrArray(messageJson, &error)) {
        qCWarning(lcProtocol) << "send: message is" << error;
        return -1;
    }
    const qint64 id = m_nextId++;
    const Pending pending { kSend, channel, {}, false };
    if (!canSend() || m_streamPhase != StreamPhase::Open) {
        failLocally(id, pending, QStringLiteral("not connected"));
        return id;
    }
    const QByteArray text = RequestWriter(kSend, id).integer(u"connection", m_streamId).string(u"channel", channel).raw(u"message", messageJson).finish();
    return sendRequest(text, id, pending);
}

qint64 ProtocolClient::sendOnce(const QString& channel, const QByteArray& messageJson, const QString& dedupeToken)
{
    QString error;
    if (!isJsonObjectOrArray(messageJson, &error)) {
        qCWarning(lcProtocol) << "send-once: message is" << error;
        return -1;
    }
    const qint64 id = m_nextId++;
    if (dedupeToken.isEmpty()) {
        const Pending pending { kCreateDedupe, channel, messageJson, false };
        if (!canSend()) {
            failLocally(id, pending, QStringLiteral("not connected"));
            return id;
        }
        return sendRequest(RequestWriter(kCreateDedupe, id).finish(), id, pending);
    }
    const Pending pending { kSendOnce, channel, {}, false };
    if (!canSend() || m_streamPhase != StreamPhase::Open) {
        failLocally(id, pending, QStringLiteral("not connected"));
        return id;
    }
    const QByteArray text = RequestWriter(kSendOnce, id)
                                .integer(u"connection", m_streamId)
                                .string(u"channel", channel)
                                .string(u"dedupe", dedupeToken)
                                .raw(u"message", messageJson)
                                .finish();
    return sendRequest(text, id, pending);
}

void ProtocolClient::mergePushedViewState(const QByteArray& frame)
{
    // adama-wire.md 5: the document pushes `viewstate` into the client's view state (a merge), and
    // 7.2: a retry creates the stream again "with the current view state", this one.
    const QJsonValue pushed = QJsonDocument::fromJson(frame).object().value(u"response").toObject().value(u"delta").toObject().value(u"viewstate");
    if (!pushed.isObject())
        return;
    QJsonObject state = QJsonDocument::fromJson(m_target.viewerState.isEmpty() ? QByteArrayLiteral("{}") : m_target.viewerState).object();
    mergeJsonPatch(state, pushed.toObject());
    const QByteArray merged = QJsonDocument(state).toJson(QJsonDocument::Compact);
    if (merged == m_target.viewerState)
        return;
    m_target.viewerState = merged;
    Q_EMIT viewerStateChanged(merged);
}

qint64 ProtocolClient::updateViewerState(const QByteArray& viewerStateJson)
{
    QString error;
    if (!isJsonObject(viewerStateJson, &error)) {
        qCWarning(lcProtocol) << "update: viewer state is" << error;
        return -1;
    }
    if (m_target.viewerState != viewerStateJson) {
        m_target.viewerState = viewerStateJson;
        Q_EMIT viewerStateChanged(viewerStateJson);
    }
    if (!canSend() || m_streamPhase != StreamPhase::Open)
        return 0;
    const qint64 id = m_nextId++;
    const QByteArray text = RequestWriter(kUpdate, id).integer(u"connection", m_streamId).raw(u"viewer-state", viewerStateJson).finish();
    return sendRequest(text, id, Pending { kUpdate, {}, {}, false });
}

qint64 ProtocolClient::end()
{
    if (!canSend() || m_streamPhase != StreamPhase::Open) {
        close(QStringLiteral("ended by the user (no open stream)"));
        return 0;
    }
    const qint64 id = m_nextId++;
    m_endRequestId = id;
    return sendRequest(RequestWriter(kEnd, id).integer(u"connection", m_streamId).finish(), id, Pending { kEnd, {}, {}, false });
}

void ProtocolClient::close(const QString& reason)
{
    stopTimers();
    m_active = false;
    m_socketUp = false;
    if (m_streamPhase != StreamPhase::GaveUp)
        m_streamPhase = StreamPhase::Ended;
    m_transport->close(Transport::CloseMode::Clean);
    // The stream ends by the user's choice (the state says so); calls still in flight lose their
    // socket like any other (adama-wire.md 7.1).
    m_pending.remove(m_streamId);
    failPending(reason);
    // Already closed (the stream ended, or an earlier close): nothing changes, nothing to record.
    if (m_state != ConnectionState::Failed && m_state != ConnectionState::Closed)
        setState(ConnectionState::Closed, reason);
}

void ProtocolClient::dropSocket(Transport::CloseMode mode, const QString& reason)
{
    if (!m_active)
        return;
    m_transport->close(mode);
    handleSocketLoss(reason, SocketEnd::AlreadyClosed);
}

// --- transport events ------------------------------------------------------------------------

void ProtocolClient::onOpened()
{
    if (!m_active)
        return;
    m_lastPingNs = m_clock->nowNs();
    m_lastCheckNs = m_lastPingNs;
    m_missedChecks = 0;
    m_pongedOnSocket = false;
    m_pingedOnSocket = false;
    m_helloOnSocket = false;
    if (m_options.liveness.enabled)
        m_livenessTimer.start(m_options.liveness.checkIntervalMs, true);
    setState(ConnectionState::Handshaking, QStringLiteral("socket open, waiting for the hello"));
}

void ProtocolClient::onBinary(const QByteArray& bytes)
{
    ClientEvent event;
    event.kind = EventKind::MalformedInbound;
    event.direction = Direction::Inbound;
    event.code = qint32(MalformedReason::Binary);
    event.payload = compact(QJsonObject { { QStringLiteral("malformed"), QStringLiteral("binary") },
        { QStringLiteral("size"), qint64(bytes.size()) },
        { QStringLiteral("headBase64"), QString::fromLatin1(bytes.left(Transport::kHeadBytes).toBase64()) } });
    event.note = QStringLiteral("binary frame of %1 bytes ignored").arg(bytes.size());
    emitEvent(std::move(event));
}

void ProtocolClient::onOversized(qint64 size, const QByteArray& head)
{
    ClientEvent event;
    event.kind = EventKind::MalformedInbound;
    event.direction = Direction::Inbound;
    event.code = qint32(MalformedReason::Oversized);
    event.payload = compact(QJsonObject { { QStringLiteral("malformed"), QStringLiteral("oversized") },
        { QStringLiteral("size"), size }, { QStringLiteral("limit"), Transport::kMaxFrameBytes },
        { QStringLiteral("head"), QString::fromUtf8(head) } });
    event.note = QStringLiteral("frame of %1 bytes over the %2-byte limit ignored").arg(size).arg(Transport::kMaxFrameBytes);
    emitEvent(std::move(event));
}

void ProtocolClient::onTlsErrors(const QStringList& errors, bool ignored)
{
    const QJsonObject fields { { QStringLiteral("note"),
                                   ignored ? QStringLiteral("TLS errors ignored (insecure): %1").arg(errors.join(QStringLiteral("; ")))
                                           : QStringLiteral("TLS errors: %1").arg(errors.join(QStringLiteral("; "))) } };
    emitLocal(EventKind::Note, compact(fields));
}

void ProtocolClient::onText(const QByteArray& frame)
{
    InboundFrame decoded = decodeInbound(frame);
    ClientEvent event;
    event.kind = decoded.kind;
    event.direction = Direction::Inbound;
    event.requestId = decoded.id;
    event.seq = decoded.seq;
    event.parts = decoded.parts;
    event.code = decoded.code;
    event.payload = frame;
    event.note = decoded.error;
    if (frame.size() > Transport::kServerFrameLimitBytes && event.note.isEmpty()) {
        // Folded as received, as the reference client does; worth knowing all the same.
        event.note = QStringLiteral("a frame of %1 bytes, over the %2 bytes an Adama server accepts in a frame (adama-wire.md 1); "
                                    "received and folded, as the reference client does")
                         .arg(frame.size())
                         .arg(Transport::kServerFrameLimitBytes);
    }
    if (decoded.kind == EventKind::Failure && decoded.retry)
        event.flags |= FlagRetryable;

    // Frames for ids we do not track are recorded as unknown and otherwise dropped (adama-wire.md 4).
    const bool idFrame = decoded.kind == EventKind::StreamItem || decoded.kind == EventKind::Response
        || decoded.kind == EventKind::StreamDone || decoded.kind == EventKind::Failure;
    // An id sent as text ("12") names no call: connection.js keys its callbacks by the number.
    const auto pendingIt = idFrame && !decoded.idIsText ? m_pending.constFind(decoded.id) : m_pending.constEnd();
    if (idFrame && pendingIt == m_pending.constEnd()) {
        event.note = decoded.idIsText
            ? QStringLiteral("%1 for id \"%2\", a string, dropped: the reference client matches ids as numbers, so no call has this one")
                  .arg(eventKindName(decoded.kind))
                  .arg(decoded.id)
            : QStringLiteral("%1 for unknown id %2 dropped").arg(eventKindName(decoded.kind)).arg(decoded.id);
        event.kind = EventKind::UnknownInbound;
        emitEvent(std::move(event));
        return;
    }
    const Pending pending = idFrame ? pendingIt.value() : Pending {};
    event.method = pending.method;
    event.channel = pending.channel;
    if (decoded.kind == EventKind::StreamItem && !pending.stream && event.note.isEmpty())
        event.note = QStringLiteral("stream item for a request/response call (%1)").arg(pending.method);
    if (decoded.kind == EventKind::StreamItem && decoded.done && event.note.isEmpty())
        event.note = QStringLiteral("done:true with a delta: the stream's last item, folded; the stream ends with it");
    emitEvent(event);

    switch (decoded.kind) {
    case EventKind::Hello: {
        m_connectTimer.stop();
        m_socketUp = true;
        m_socketAttempt = 0;
        ++m_helloCount;
        m_lastPingNs = m_clock->nowNs();
        m_policy->socketConnected();
        const QString previous = m_helloVersion;
        m_helloVersion = decoded.version;
        Q_EMIT helloReceived(decoded.version);
        if (!previous.isEmpty() && previous != decoded.version) {
            emitLocal(EventKind::VersionChanged,
                compact(QJsonObject { { QStringLiteral("from"), previous }, { QStringLiteral("to"), decoded.version } }));
            Q_EMIT versionChanged(previous, decoded.version);
        }
        const bool againOnSocket = std::exchange(m_helloOnSocket, true);
        if (m_streamPhase == StreamPhase::Queued)
            sendCreate();
        else if (m_streamPhase == StreamPhase::Open && againOnSocket && !m_streamRequest.isEmpty())
            resendCreate();
        else if (m_streamPhase == StreamPhase::RetryScheduled)
            setState(ConnectionState::Reconnecting, QStringLiteral("socket back; new stream in %1 ms").arg(std::max<qint64>(0, (m_streamRetryTimer.deadlineNs() - m_clock->nowNs()) / 1000000)),
                std::max<qint64>(0, (m_streamRetryTimer.deadlineNs() - m_clock->nowNs()) / 1000000));
        break;
    }
    case EventKind::Ping: {
        m_lastPingNs = m_clock->nowNs();
        m_pingedOnSocket = true;
        if (m_options.liveness.resetMissesOnPing)
            m_missedChecks = 0;
        // The server measures latency from our pongs: before the first on this socket it says 0,
        // which is no round trip (adama-wire.md 2).
        if (m_pongedOnSocket && decoded.latencyMs >= 0 && decoded.latencyMs != m_rttMs) {
            m_rttMs = decoded.latencyMs;
            Q_EMIT rttChanged(m_rttMs);
        }
        const QByteArray pong = makePong(frame, m_clock->wallMs());
        ClientEvent pongEvent;
        pongEvent.kind = EventKind::Pong;
        pongEvent.direction = Direction::Outbound;
        pongEvent.payload = pong;
        emitEvent(std::move(pongEvent));
        m_transport->sendText(pong);
        m_pongedOnSocket = true;
        if (m_state == ConnectionState::Stalled) {
            if (m_streamPhase == StreamPhase::Open)
                setState(ConnectionState::Streaming, QStringLiteral("pings resumed"));
            else if (m_streamPhase == StreamPhase::RetryScheduled)
                setState(ConnectionState::Reconnecting, QStringLiteral("pings resumed; new stream pending"));
            else
                setState(ConnectionState::Handshaking, QStringLiteral("pings resumed"));
        }
        break;
    }
    case EventKind::Disconnected: {
        const QString why = decoded.reasonText.isEmpty() ? describeErrorCode(decoded.code) : decoded.reasonText;
        m_policy->statusNotConnected();
        handleSocketLoss(QStringLiteral("server status \"%1\": %2").arg(decoded.status, why), SocketEnd::Close);
        break;
    }
    case EventKind::StreamItem:
        if (decoded.id == m_streamId) {
            m_policy->streamItemReceived();
            m_streamAttempt = 0;
            if (decoded.seq >= 0 && decoded.seq != m_lastSeq) {
                m_lastSeq = decoded.seq;
                Q_EMIT lastSeqChanged(m_lastSeq);
            }
            if (decoded.parts & PartViewState)
                mergePushedViewState(frame);
        }
        if (!decoded.done)
            break;
        [[fallthrough]]; // a last item ends its call as done does
    case EventKind::Response:
    case EventKind::StreamDone: {
        m_pending.remove(decoded.id);
        if (decoded.id == m_streamId) {
            m_streamPhase = StreamPhase::Ended;
            m_streamId = -1;
            const QString reason = m_endRequestId >= 0 ? QStringLiteral("stream ended (connection/end)")
                                                       : QStringLiteral("stream ended by the server (done)");
            stopTimers();
            m_active = false;
            if (m_endRequestId >= 0 && m_pending.contains(m_endRequestId))
                m_endAnswerTimer.start(m_options.endAnswerWaitMs); // the end's answer may follow its effect
            else
                closeEndedStream(reason);
            setState(ConnectionState::Closed, reason);
            break;
        }
        Q_EMIT requestFinished(decoded.id, pending.method, true, 0, frame);
        if (pending.method == kCreateDedupe) {
            if (!decoded.dedupe.isEmpty()) {
                Q_EMIT dedupeTokenReceived(decoded.id, decoded.dedupe);
                sendOnce(pending.channel, pending.chainMessage, decoded.dedupe);
            } else {
                qCWarning(lcProtocol) << "documents/create-dedupe" << decoded.id << "answered without a dedupe token";
            }
        }
        break;
    }
    case EventKind::Failure: {
        m_pending.remove(decoded.id);
        if (decoded.id == m_streamId) {
            StreamFailure failure;
            failure.code = decoded.code;
            failure.hasReason = decoded.hasReason;
            failure.retryFlag = decoded.retry;
            handleStreamFailure(failure, QStringLiteral("stream failed: %1").arg(describeErrorCode(decoded.code)));
            break;
        }
        Q_EMIT requestFinished(decoded.id, pending.method, false, decoded.code, frame);
        break;
    }
    default:
        break;
    }
    // The end's answer (or failure) after the stream's done:true: the socket waited for it only.
    if (idFrame && decoded.id == m_endRequestId && m_endAnswerTimer.isActive())
        closeEndedStream(QStringLiteral("stream ended (connection/end)"));
}

void ProtocolClient::onClosed(const TransportCloseInfo& info)
{
    if (m_endAnswerTimer.isActive()) {
        closeEndedStream(QStringLiteral("socket closed before the answer to connection/end: %1").arg(info.reason));
        return;
    }
    if (!m_active)
        return;
    QString reason = info.wasOpen ? QStringLiteral("socket closed: %1").arg(info.reason) : QStringLiteral("could not connect: %1").arg(info.reason);
    if (info.closeCode != 0 && info.wasOpen)
        reason += QStringLiteral(" (close code %1)").arg(info.closeCode);
    handleSocketLoss(reason, SocketEnd::AlreadyClosed, info.wasOpen ? QString() : info.reason);
}

void ProtocolClient::onConnectTimeout()
{
    if (!m_active || m_socketUp)
        return;
    handleSocketLoss(QStringLiteral("no hello within %1 ms").arg(m_options.connectTimeoutMs), SocketEnd::Abort);
}

void ProtocolClient::onLivenessCheck()
{
    if (!m_active || !m_transport->isOpen())
        return;
    const qint64 nowNs = m_clock->nowNs();
    // A socket that has had no ping yet is not judged: the reference client's keepalive() starts
    // counting at the first ping (has_had_ping), so a server that never pings keeps its socket.
    // The hello's own timeout covers a server that says nothing at all.
    if (!m_pingedOnSocket) {
        m_lastCheckNs = nowNs;
        return;
    }
    const qint64 sinceCheckMs = (nowNs - m_lastCheckNs) / 1000000;
    m_lastCheckNs = nowNs;
    const qint64 sinceMs = (nowNs - m_lastPingNs) / 1000000;
    if (sinceMs <= m_options.liveness.pingOverdueMs)
        return;
    // Frames the transport received and has not handed on yet (a backlog, handed on a slice per
    // turn): the server is not silent, and its pings may be among them. The next check judges.
    if (m_transport->pendingInbound() > 0)
        return;
    // A check running a whole interval late means this thread was busy (a 100,000-node snapshot,
    // a model reset): pings may sit unread in the socket, and an embedded server on this thread
    // could send none. The silence is ours, not the server's, so the next check, after the event
    // loop has read what arrived, is the one that judges.
    if (sinceCheckMs > 2 * m_options.liveness.checkIntervalMs) {
        emitLocal(EventKind::Note, compact(QJsonObject { { QStringLiteral("note"),
            QStringLiteral("liveness check ran %1 ms late (this process was busy); no ping for %2 ms not counted as a miss")
                .arg(sinceCheckMs - m_options.liveness.checkIntervalMs).arg(sinceMs) } }));
        return;
    }
    ++m_missedChecks;
    const int threshold = m_options.liveness.missedChecksBeforeReconnect;
    if (m_state == ConnectionState::Streaming || m_state == ConnectionState::Handshaking || m_state == ConnectionState::Reconnecting)
        setState(ConnectionState::Stalled, QStringLiteral("no ping for %1 ms (missed check %2 of %3)").arg(sinceMs).arg(m_missedChecks).arg(threshold));
    if (m_missedChecks >= threshold) {
        handleSocketLoss(QStringLiteral("liveness: %1 missed checks, no ping for %2 ms").arg(m_missedChecks).arg(sinceMs), SocketEnd::Close);
        m_missedChecks = 0;
    }
}

// --- loss, retry, give up --------------------------------------------------------------------

void ProtocolClient::handleSocketLoss(const QString& reason, SocketEnd end, const QString& cause)
{
    if (!m_active)
        return;
    m_lastSocketLoss = cause.isEmpty() ? reason : cause;
    m_livenessTimer.stop();
    m_connectTimer.stop();
    m_socketUp = false;
    if (end != SocketEnd::AlreadyClosed)
        m_transport->close(end == SocketEnd::Close ? Transport::CloseMode::Clean : Transport::CloseMode::Abort);

    const bool streamLost = failPending(reason);
    if (streamLost) {
        StreamFailure failure;
        failure.code = errorcodes::SocketLost;
        failure.hasReason = false;
        failure.socketLoss = true;
        handleStreamFailure(failure, reason);
        if (!m_active)
            return;
    }

    const RetryDecision decision = m_policy->socketClosed(m_random);
    if (!decision.retry) {
        giveUp(QStringLiteral("%1; %2").arg(reason, decision.reason), 0);
        return;
    }
    ++m_socketAttempt;
    planned(QStringLiteral("socket"), decision, m_socketAttempt);
    m_socketRetryTimer.start(decision.delayMs);
    setState(ConnectionState::Reconnecting, QStringLiteral("%1; reopening in %2 ms").arg(reason).arg(decision.delayMs), decision.delayMs);
}

bool ProtocolClient::failPending(const QString& reason)
{
    // Every pending call fails with the synthetic {"failure":id} (no reason), in id order, as the
    // reference client does whenever its socket closes, whoever closed it (adama-wire.md 7.1).
    std::vector<qint64> ids(m_pending.keyBegin(), m_pending.keyEnd());
    std::sort(ids.begin(), ids.end());
    const QHash<qint64, Pending> pending = std::exchange(m_pending, {});
    bool streamLost = false;
    for (qint64 id : ids) {
        const Pending& call = pending[id];
        ClientEvent event;
        event.kind = EventKind::Failure;
        event.direction = Direction::Local;
        event.requestId = id;
        event.code = errorcodes::SocketLost;
        event.method = call.method;
        event.channel = call.channel;
        event.flags = FlagSynthetic;
        event.payload = compact(QJsonObject { { QStringLiteral("failure"), id } });
        event.note = reason;
        emitEvent(event);
        if (id == m_streamId)
            streamLost = true;
        else
            Q_EMIT requestFinished(id, call.method, false, errorcodes::SocketLost, event.payload);
    }
    return streamLost;
}

void ProtocolClient::handleStreamFailure(const StreamFailure& failure, const QString& reason)
{
    m_streamId = -1;
    if (m_endRequestId >= 0) {
        // connection/end was sent: the user ended the stream, and a failure or a lost socket
        // before its done:true finishes it as ended. A retry would join the document again
        // (@connected, a seat) that the user has just left.
        m_streamPhase = StreamPhase::Ended;
        stopTimers();
        m_active = false;
        const QString ended = QStringLiteral("stream ended (connection/end) before the server confirmed it: %1").arg(reason);
        closeEndedStream(ended);
        setState(ConnectionState::Closed, ended);
        return;
    }
    const RetryDecision decision = m_policy->streamFailed(failure, m_random);
    if (!decision.retry) {
        m_streamPhase = StreamPhase::GaveUp;
        m_gaveUpOnCode = decision.codeNotRetried;
        // The policy's reason names the code ("fatal code 403403 AUTH_FORBIDDEN (fatal)"), which
        // `reason` already did: say it once.
        QString why = decision.reason;
        if (failure.hasReason && reason.contains(describeErrorCode(failure.code)))
            why.remove(QLatin1Char(' ') + describeErrorCode(failure.code));
        if (decision.codeNotRetried && why == QLatin1String("fatal code"))
            why = QStringLiteral("a fatal code is not retried");
        giveUp(QStringLiteral("%1; %2").arg(reason, why), failure.hasReason ? failure.code : 0);
        return;
    }
    ++m_streamAttempt;
    m_streamPhase = StreamPhase::RetryScheduled;
    planned(QStringLiteral("stream"), decision, m_streamAttempt);
    m_streamRetryTimer.start(decision.delayMs);
    if (!failure.socketLoss)
        setState(ConnectionState::Reconnecting, QStringLiteral("%1; new stream in %2 ms").arg(reason).arg(decision.delayMs), decision.delayMs);
}

void ProtocolClient::giveUp(const QString& reason, int code)
{
    stopTimers();
    m_active = false;
    m_socketUp = false;
    m_failureCode = code;
    m_transport->close(Transport::CloseMode::Clean);
    failPending(reason);
    setState(ConnectionState::Failed, reason);
}

void ProtocolClient::onSocketRetry()
{
    if (m_active)
        openSocket();
}

void ProtocolClient::onStreamRetry()
{
    if (!m_active || m_streamPhase != StreamPhase::RetryScheduled)
        return;
    // A brand-new connection/create; if the socket is still down it waits for the next hello,
    // like the reference client's replay queue.
    m_streamPhase = StreamPhase::Queued;
    if (m_socketUp)
        sendCreate();
}

void ProtocolClient::resendCreate()
{
    // A second hello on the same socket: connection.js re-sends every stream still in its replay
    // map with its original request object and id (adama-wire.md 7.1), and the document starts
    // afresh from the snapshot that answers it (7.5).
    ++m_epoch;
    emitLocal(EventKind::EpochStarted,
        compact(QJsonObject { { QStringLiteral("epoch"), qint64(m_epoch) }, { QStringLiteral("requestId"), m_streamId },
            { QStringLiteral("note"), QStringLiteral("a second hello on this socket: the stream is re-sent with its original request and id, as connection.js does") } }),
        m_streamId);
    Q_EMIT epochStarted(m_epoch, m_streamId);
    sendRequest(m_streamRequest, m_streamId, Pending { kCreate, {}, {}, true });
    setState(ConnectionState::Streaming, QStringLiteral("hello again on the same socket: stream re-sent (epoch %1)").arg(m_epoch));
}

void ProtocolClient::sendCreate()
{
    const qint64 id = m_nextId++;
    m_streamId = id;
    m_streamPhase = StreamPhase::Open;
    ++m_epoch;
    emitLocal(EventKind::EpochStarted,
        compact(QJsonObject { { QStringLiteral("epoch"), qint64(m_epoch) }, { QStringLiteral("requestId"), id } }), id);
    Q_EMIT epochStarted(m_epoch, id);
    RequestWriter writer(kCreate, id);
    writer.string(u"identity", m_target.identity).string(u"space", m_target.space).string(u"key", m_target.key);
    if (!m_target.viewerState.isEmpty())
        writer.raw(u"viewer-state", m_target.viewerState);
    m_streamRequest = writer.finish();
    sendRequest(m_streamRequest, id, Pending { kCreate, {}, {}, true });
    setState(ConnectionState::Streaming, m_epoch == 1 ? QStringLiteral("document stream requested")
                                                      : QStringLiteral("new document stream requested (epoch %1)").arg(m_epoch));
}

}
