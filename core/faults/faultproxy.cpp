#include "core/faults/faultproxy.h"

#include "core/faults/websocketframe.h"
#include "core/logging.h"

#include <QDateTime>
#include <QJsonArray>
#include <QJsonDocument>
#include <QScopeGuard>
#include <QSet>
#include <QSslConfiguration>
#include <QSslSocket>
#include <QTcpServer>
#include <QTcpSocket>

#include <deque>

#include <sys/socket.h>

namespace deltascope::faults {

namespace {

constexpr qsizetype kMaxHttpHead = 64 * 1024;

QString directionText(FlowDirection direction)
{
    return direction == FlowDirection::Outbound ? QStringLiteral("outbound") : QStringLiteral("inbound");
}

bool isTls(const QUrl& url) { return url.scheme() == QLatin1String("wss"); }

// Closes a socket abortively: SO_LINGER 0 makes close() send RST instead of FIN.
void resetSocket(QTcpSocket* socket)
{
    if (socket->socketDescriptor() >= 0) {
        const linger option { 1, 0 };
        ::setsockopt(int(socket->socketDescriptor()), SOL_SOCKET, SO_LINGER, &option, sizeof option);
    }
    socket->abort();
}

// Kind of a frame per frameKindNames(), from its JSON.
QString classify(FlowDirection direction, const QJsonObject& json)
{
    if (direction == FlowDirection::Inbound) {
        if (json.contains(QLatin1String("deliver"))) {
            if (json.value(QLatin1String("done")).toBool())
                return json.contains(QLatin1String("response")) ? QStringLiteral("response")
                                                                : QStringLiteral("stream-done");
            const QJsonObject delta
                = json.value(QLatin1String("response")).toObject().value(QLatin1String("delta")).toObject();
            return delta.contains(QLatin1String("data")) ? QStringLiteral("delta") : QStringLiteral("stream-item");
        }
        if (json.contains(QLatin1String("failure")))
            return QStringLiteral("failure");
        if (json.contains(QLatin1String("status"))) {
            return json.value(QLatin1String("status")).toString() == QLatin1String("connected")
                ? QStringLiteral("hello")
                : QStringLiteral("disconnected");
        }
        if (json.contains(QLatin1String("ping")))
            return QStringLiteral("ping");
        return QStringLiteral("any");
    }
    if (json.contains(QLatin1String("method"))) {
        return json.value(QLatin1String("method")).toString().startsWith(QLatin1String("connection/send"))
            ? QStringLiteral("send")
            : QStringLiteral("request");
    }
    if (json.contains(QLatin1String("pong")))
        return QStringLiteral("pong");
    return QStringLiteral("any");
}

bool kindMatches(const QString& wanted, const QString& kind)
{
    if (wanted == QLatin1String("any"))
        return kind != QLatin1String("binary");
    if (wanted == kind)
        return true;
    if (wanted == QLatin1String("stream-item"))
        return kind == QLatin1String("delta");
    if (wanted == QLatin1String("request"))
        return kind == QLatin1String("send");
    return false;
}

// Whether folding this delta twice gives a different tree: `@o` instruction lists read the
// previous order, so a repeat moves elements; object merges and `@s` writes are idempotent.
bool repeatCorrupts(const QByteArray& payload) { return payload.contains("\"@o\""); }

QString frameLabel(const QString& kind, const QJsonObject& json)
{
    QString label = kind;
    if (json.contains(QLatin1String("deliver")))
        label += QStringLiteral(" of request %1").arg(json.value(QLatin1String("deliver")).toInteger());
    const QJsonValue seq = json.value(QLatin1String("response"))
                               .toObject()
                               .value(QLatin1String("delta"))
                               .toObject()
                               .value(QLatin1String("seq"));
    if (!seq.isUndefined())
        label += QStringLiteral(" seq %1").arg(seq.toInteger());
    if (json.contains(QLatin1String("method")))
        label += QStringLiteral(" %1 id %2")
                     .arg(json.value(QLatin1String("method")).toString())
                     .arg(json.value(QLatin1String("id")).toInteger());
    return label;
}

}

// One direction of a proxied connection: input gate (stall), parser, output shaper.
struct Flow {
    FlowDirection direction = FlowDirection::Outbound; // Outbound: client to server
    QTcpSocket* from = nullptr;
    QTcpSocket* to = nullptr;
    enum class Mode { Handshake, Frames, Raw } mode = Mode::Handshake;
    QByteArray head;
    WsFrameParser parser;
    WsMessageAssembler assembler;

    bool stalled = false;
    bool discard = false; // the destination is gone for good: read and forget
    QByteArray stalledInput;
    QString pendingClose; // "fin" or "rst" seen from the source while stalled

    struct Chunk {
        qint64 releaseNs;
        QByteArray bytes;
        qsizetype offset = 0;
    };
    std::deque<Chunk> queue;
    qint64 lastReleaseNs = 0;
    qint64 nextSendNs = 0;
    QTimer pump;
    QString closeAfterDrain; // close `to` once the queue is empty
    bool sourceClosed = false;

    // Frames held by delay-message / reorder-message.
    struct Held {
        quint64 id;
        QByteArray raw;
        QString kind;
        bool dataCarrying;
        bool corruptsOnRepeat;
        int remaining; // reorder: frames of its kind still to pass; -1 for delay
        quint64 dataForwardedAtHold;
        qint64 heldAtMs;
        FaultSpec spec;
        QString label;
    };
    std::vector<Held> held;
    quint64 dataForwarded = 0;
    std::vector<QByteArray> heldPings;
};

// A client socket and its upstream socket. Not a Q_OBJECT: it only needs to own sockets and
// timers and be a context for connections.
class ProxyConnection : public QObject {
public:
    ProxyConnection(FaultProxy* proxy, int id, QTcpSocket* client);
    ~ProxyConnection() override;

    int id() const { return m_id; }
    bool isOpen() const;
    bool upstreamReady() const;
    bool isUpgraded() const { return m_upgraded; }
    void setStalled(FlowDirection direction, bool on);
    void drop(bool rst, const QString& side);
    // Sends a frame to the client; false when the client cannot take one (not upgraded, closed).
    bool inject(const QByteArray& payload, const QString& fault, const QJsonObject& params, bool thenClose);
    // inject-reload / inject-failure into the stream the spec names (requestId, -1: the latest
    // connection/create); false when this connection has no such stream yet.
    bool injectIntoStream(const FaultSpec& spec);
    // inject-disconnected; false before the hello has passed to the client.
    bool injectDisconnected(const FaultSpec& spec);
    // Whichever of the two the spec is.
    bool injectFault(const FaultSpec& spec);
    qint64 latestCreateId() const { return m_latestCreate; }
    void failStream(qint64 id) { m_failedIds.insert(id); }
    void releaseHeldPings(bool deliver);
    const QString& helloVersion() const { return m_helloVersion; }
    int heldPingCount() const { return int(m_inbound.heldPings.size()); }
    const QString& closeReason() const { return m_closeHow; }

private:
    void onReadable(Flow& flow);
    void onSourceClosed(Flow& flow, bool rst);
    void feed(Flow& flow, QByteArray bytes);
    void handleHead(Flow& flow, const QByteArray& headBytes);
    void fallBackToRaw(Flow& flow, const QString& why);
    void handleFrame(Flow& flow, WsFrame& frame);
    void handleMessage(Flow& flow, quint8 opcode, QByteArray payload, QByteArray raw);
    void forward(Flow& flow, const QByteArray& raw, const QString& kind, bool dataCarrying);
    void hold(Flow& flow, Flow::Held entry, int delayMs, int maxHoldMs);
    void release(Flow& flow, quint64 heldId, const QString& why);
    void enqueue(Flow& flow, QByteArray bytes);
    void pump(Flow& flow);
    void writeNow(Flow& flow, QByteArrayView bytes);
    void closeSide(QTcpSocket* socket, bool rst);
    void checkFinished();
    QByteArray encodeFor(const Flow& flow, quint8 opcode, const QByteArray& payload, quint8 rsv = 0);

    FaultProxy* m_proxy;
    int m_id;
    QTcpSocket* m_client;
    QTcpSocket* m_upstreamSocket;
    Flow m_outbound;
    Flow m_inbound;
    bool m_upgraded = false;
    bool m_helloSeen = false;
    bool m_finished = false;
    QString m_helloVersion;
    qint64 m_latestCreate = -1;
    QSet<qint64> m_createdIds; // ids of every connection/create that passed
    QSet<qint64> m_failedIds;
    quint64 m_nextHeld = 1;
    QString m_closeHow;
};

ProxyConnection::ProxyConnection(FaultProxy* proxy, int id, QTcpSocket* client)
    : QObject(proxy)
    , m_proxy(proxy)
    , m_id(id)
    , m_client(client)
    , m_upstreamSocket(isTls(proxy->m_upstream) ? new QSslSocket(this) : new QTcpSocket(this))
{
    m_client->setParent(this);
    m_client->setSocketOption(QAbstractSocket::LowDelayOption, 1);
    m_upstreamSocket->setSocketOption(QAbstractSocket::LowDelayOption, 1);
    m_outbound.direction = FlowDirection::Outbound;
    m_outbound.from = m_client;
    m_outbound.to = m_upstreamSocket;
    m_inbound.direction = FlowDirection::Inbound;
    m_inbound.from = m_upstreamSocket;
    m_inbound.to = m_client;
    for (Flow* flow : { &m_outbound, &m_inbound }) {
        flow->pump.setSingleShot(true);
        flow->pump.setTimerType(Qt::PreciseTimer);
        connect(&flow->pump, &QTimer::timeout, this, [this, flow] { pump(*flow); });
        connect(flow->from, &QTcpSocket::readyRead, this, [this, flow] { onReadable(*flow); });
        connect(flow->from, &QTcpSocket::disconnected, this, [this, flow] {
            onSourceClosed(*flow, false);
            checkFinished();
        });
        connect(flow->from, &QTcpSocket::errorOccurred, this, [this, flow](QAbstractSocket::SocketError error) {
            if (flow->from == m_upstreamSocket && !upstreamReady() && !m_inbound.sourceClosed
                && error != QAbstractSocket::RemoteHostClosedError) {
                // The upstream never answered: the client sees what a refused connect looks like
                // from behind an accepting proxy, an immediate reset.
                m_inbound.sourceClosed = true;
                m_proxy->emitConnectionEvent(m_id, QStringLiteral("upstream-failed"),
                    { { QStringLiteral("error"), m_upstreamSocket->errorString() } });
                m_closeHow = QStringLiteral("upstream-failed");
                resetSocket(m_client);
                checkFinished();
                return;
            }
            onSourceClosed(*flow,
                error == QAbstractSocket::ConnectionRefusedError ? false
                                                                 : error != QAbstractSocket::RemoteHostClosedError);
            checkFinished();
        });
    }
    const QUrl& upstream = m_proxy->m_upstream;
    if (auto* tls = qobject_cast<QSslSocket*>(m_upstreamSocket)) {
        QSslConfiguration configuration = tls->sslConfiguration();
        if (!m_proxy->m_caCertificates.isEmpty())
            configuration.addCaCertificates(m_proxy->m_caCertificates);
        tls->setSslConfiguration(configuration);
        connect(tls, &QSslSocket::sslErrors, this, [this, tls](const QList<QSslError>& errors) {
            QJsonArray texts;
            for (const QSslError& error : errors)
                texts.append(error.errorString());
            const bool ignored = m_proxy->m_insecure;
            m_proxy->emitConnectionEvent(m_id, QStringLiteral("tls-errors"), { { QStringLiteral("errors"), texts }, { QStringLiteral("ignored"), ignored } });
            if (ignored)
                tls->ignoreSslErrors();
        });
        connect(tls, &QSslSocket::encrypted, this, [this] { pump(m_outbound); });
        tls->connectToHostEncrypted(upstream.host(), quint16(upstream.port(443)));
    } else {
        connect(m_upstreamSocket, &QTcpSocket::connected, this, [this] { pump(m_outbound); });
        m_upstreamSocket->connectToHost(upstream.host(), quint16(upstream.port(80)));
    }
    // Bytes that arrived before this object connected to readyRead.
    if (m_client->bytesAvailable() > 0)
        QTimer::singleShot(0, this, [this] { onReadable(m_outbound); });
}

ProxyConnection::~ProxyConnection() = default;

bool ProxyConnection::upstreamReady() const
{
    // A TLS upstream is usable once encrypted: a failed handshake leaves the TCP side connected.
    if (const auto* tls = qobject_cast<const QSslSocket*>(m_upstreamSocket))
        return tls->isEncrypted();
    return m_upstreamSocket->state() == QAbstractSocket::ConnectedState;
}

bool ProxyConnection::isOpen() const
{
    return m_client->state() != QAbstractSocket::UnconnectedState
        || m_upstreamSocket->state() != QAbstractSocket::UnconnectedState;
}

void ProxyConnection::onReadable(Flow& flow)
{
    QByteArray bytes = flow.from->readAll();
    if (bytes.isEmpty() || flow.discard)
        return;
    if (flow.stalled) {
        flow.stalledInput.append(bytes);
        return;
    }
    feed(flow, std::move(bytes));
}

void ProxyConnection::onSourceClosed(Flow& flow, bool rst)
{
    if (flow.sourceClosed)
        return;
    if (flow.from->bytesAvailable() > 0)
        onReadable(flow);
    flow.sourceClosed = true;
    if (m_closeHow.isEmpty())
        m_closeHow = (flow.direction == FlowDirection::Outbound ? QStringLiteral("client ") : QStringLiteral("server "))
            + (rst ? QStringLiteral("reset") : QStringLiteral("closed"));
    const QString how = rst ? QStringLiteral("rst") : QStringLiteral("fin");
    if (flow.stalled) {
        // A half-open path: the close does not get through either, until the stall ends.
        flow.pendingClose = how;
        return;
    }
    flow.closeAfterDrain = how;
    pump(flow);
}

void ProxyConnection::setStalled(FlowDirection direction, bool on)
{
    for (Flow* flow : { &m_outbound, &m_inbound }) {
        if (direction != FlowDirection::Both && direction != flow->direction)
            continue;
        if (flow->stalled == on)
            continue;
        flow->stalled = on;
        if (on) {
            flow->pump.stop();
            continue;
        }
        QByteArray pending = std::exchange(flow->stalledInput, {});
        if (!pending.isEmpty())
            feed(*flow, std::move(pending));
        pump(*flow);
        if (!flow->pendingClose.isEmpty()) {
            flow->closeAfterDrain = std::exchange(flow->pendingClose, {});
            pump(*flow);
        }
    }
}

void ProxyConnection::feed(Flow& flow, QByteArray bytes)
{
    if (flow.direction == FlowDirection::Outbound)
        m_proxy->m_stats.bytesToServer += quint64(bytes.size());
    else
        m_proxy->m_stats.bytesToClient += quint64(bytes.size());
    switch (flow.mode) {
    case Flow::Mode::Raw:
        enqueue(flow, std::move(bytes));
        return;
    case Flow::Mode::Handshake: {
        flow.head.append(bytes);
        const qsizetype end = httpHeadEnd(flow.head);
        if (end < 0) {
            if (flow.head.size() > kMaxHttpHead) {
                QByteArray all = std::exchange(flow.head, {});
                fallBackToRaw(flow, QStringLiteral("no end of HTTP head in %1 bytes").arg(all.size()));
                enqueue(flow, std::move(all));
            }
            return;
        }
        QByteArray all = std::exchange(flow.head, {});
        handleHead(flow, all.left(end));
        QByteArray rest = all.mid(end);
        if (!rest.isEmpty())
            feed(flow, std::move(rest));
        return;
    }
    case Flow::Mode::Frames:
        break;
    }
    flow.parser.feed(bytes);
    for (;;) {
        WsFrame frame;
        const WsFrameParser::Status status = flow.parser.next(frame);
        if (status == WsFrameParser::Status::NeedMore)
            return;
        if (status == WsFrameParser::Status::Error) {
            QByteArray pending = flow.assembler.takeRaw() + flow.parser.takeBuffered();
            fallBackToRaw(flow, flow.parser.error());
            enqueue(flow, std::move(pending));
            return;
        }
        handleFrame(flow, frame);
        if (flow.mode != Flow::Mode::Frames) {
            QByteArray rest = flow.parser.takeBuffered();
            if (!rest.isEmpty())
                enqueue(flow, std::move(rest));
            return;
        }
    }
}

void ProxyConnection::handleHead(Flow& flow, const QByteArray& headBytes)
{
    HttpHead head;
    if (!parseHttpHead(headBytes, head)) {
        fallBackToRaw(flow, QStringLiteral("not an HTTP/1.x head"));
        enqueue(flow, headBytes);
        return;
    }
    if (flow.direction == FlowDirection::Outbound) {
        const QByteArray extensions = head.value("Sec-WebSocket-Extensions");
        QJsonObject details { { QStringLiteral("request"), QString::fromLatin1(head.startLine) } };
        if (head.remove("Sec-WebSocket-Extensions")) {
            details.insert(QStringLiteral("extensionsStripped"), QString::fromLatin1(extensions));
            details.insert(QStringLiteral("note"),
                QStringLiteral("removed Sec-WebSocket-Extensions (%1) from the upgrade request so frames stay "
                               "uncompressed and readable by the proxy")
                    .arg(QString::fromLatin1(extensions)));
        }
        const QUrl& upstream = m_proxy->m_upstream;
        head.set("Host", (upstream.host() + QLatin1Char(':') + QString::number(upstream.port(isTls(upstream) ? 443 : 80))).toLatin1());
        m_proxy->emitConnectionEvent(m_id, QStringLiteral("upgrade-requested"), details);
        enqueue(flow, head.serialize());
        flow.mode = Flow::Mode::Frames;
        return;
    }
    const QList<QByteArray> parts = head.startLine.split(' ');
    const int status = parts.size() > 1 ? parts[1].toInt() : 0;
    enqueue(flow, headBytes);
    if (status != 101) {
        m_proxy->emitConnectionEvent(m_id, QStringLiteral("raw-fallback"),
            { { QStringLiteral("reason"),
                QStringLiteral("upstream answered '%1' instead of 101").arg(QString::fromLatin1(head.startLine)) } });
        flow.mode = Flow::Mode::Raw;
        m_outbound.mode = Flow::Mode::Raw;
        return;
    }
    const QByteArray extensions = head.value("Sec-WebSocket-Extensions");
    if (!extensions.isEmpty()) {
        // The server negotiated an extension anyway: frames may be compressed, so pass them as they are.
        m_proxy->emitConnectionEvent(m_id, QStringLiteral("raw-fallback"),
            { { QStringLiteral("reason"),
                QStringLiteral("server negotiated '%1'; message faults are off for this connection")
                    .arg(QString::fromLatin1(extensions)) } });
        flow.mode = Flow::Mode::Raw;
        m_outbound.mode = Flow::Mode::Raw;
        QByteArray pending = m_outbound.assembler.takeRaw() + m_outbound.parser.takeBuffered();
        if (!pending.isEmpty())
            enqueue(m_outbound, std::move(pending));
        return;
    }
    m_upgraded = true;
    flow.mode = Flow::Mode::Frames;
    m_proxy->emitConnectionEvent(m_id, QStringLiteral("upgraded"), {});
}

void ProxyConnection::fallBackToRaw(Flow& flow, const QString& why)
{
    flow.mode = Flow::Mode::Raw;
    m_proxy->emitConnectionEvent(m_id, QStringLiteral("raw-fallback"),
        { { QStringLiteral("direction"), directionText(flow.direction) }, { QStringLiteral("reason"), why } });
    qCInfo(lcFaults) << "connection" << m_id << directionText(flow.direction) << "passes raw bytes from now on:" << why;
}

void ProxyConnection::handleFrame(Flow& flow, WsFrame& frame)
{
    switch (flow.assembler.add(frame)) {
    case WsMessageAssembler::Result::Control:
        if (flow.direction == FlowDirection::Outbound)
            ++m_proxy->m_stats.framesToServer;
        else
            ++m_proxy->m_stats.framesToClient;
        enqueue(flow, frame.raw);
        return;
    case WsMessageAssembler::Result::Partial:
        return;
    case WsMessageAssembler::Result::Error: {
        QByteArray pending = flow.assembler.takeRaw() + frame.raw;
        fallBackToRaw(flow, flow.assembler.error());
        enqueue(flow, std::move(pending));
        return;
    }
    case WsMessageAssembler::Result::Message:
        handleMessage(flow, flow.assembler.opcode(), flow.assembler.takePayload(), flow.assembler.takeRaw());
        return;
    }
}

QByteArray ProxyConnection::encodeFor(const Flow& flow, quint8 opcode, const QByteArray& payload, quint8 rsv)
{
    const bool masked = flow.direction == FlowDirection::Outbound;
    return encodeFrame(opcode, payload, true, masked, masked ? m_proxy->randomMask() : 0, rsv);
}

void ProxyConnection::handleMessage(Flow& flow, quint8 opcode, QByteArray payload, QByteArray raw)
{
    const bool inbound = flow.direction == FlowDirection::Inbound;
    if (inbound)
        ++m_proxy->m_stats.framesToClient;
    else
        ++m_proxy->m_stats.framesToServer;
    const bool text = opcode == quint8(WsOpcode::Text);
    const bool inspect = text
        && (m_proxy->needsInspection(flow.direction) || !flow.held.empty()
            || (inbound && (!m_helloSeen || !m_failedIds.isEmpty()))
            || (!inbound && payload.contains("connection/create")));
    QJsonObject json;
    QString kind = text ? QStringLiteral("unparsed") : QStringLiteral("binary");
    if (inspect) {
        QJsonParseError error;
        const QJsonDocument document = QJsonDocument::fromJson(payload, &error);
        if (document.isObject()) {
            json = document.object();
            kind = classify(flow.direction, json);
        } else {
            kind = QStringLiteral("invalid");
        }
    }
    auto observe = [&] {
        if (m_proxy->m_observe)
            Q_EMIT m_proxy->frameObserved({ m_id, flow.direction, kind, json, payload.size() });
    };
    const bool dataCarrying = kind == QLatin1String("delta");

    if (inbound && text)
        m_helloSeen = true;
    // Injects waiting for a stream (or a hello) act once this frame has passed, whichever way it
    // leaves handleMessage: the client then knows the stream id the inject names.
    const bool create = !inbound && json.value(QLatin1String("method")).toString() == QLatin1String("connection/create");
    const bool hello = inbound && kind == QLatin1String("hello");
    const auto afterPassing = qScopeGuard([this, create, hello] {
        if (create || hello)
            m_proxy->offerWaitingInjects(this);
    });
    if (create) {
        m_latestCreate = json.value(QLatin1String("id")).toInteger(-1);
        m_createdIds.insert(m_latestCreate);
    }
    if (inbound && kind == QLatin1String("hello")) {
        m_helloVersion = json.value(QLatin1String("version")).toString();
        if (m_proxy->m_versionRewritesLeft != 0) {
            if (m_proxy->m_versionRewritesLeft > 0)
                --m_proxy->m_versionRewritesLeft;
            ++m_proxy->m_versionRewritesDone;
            const QString original = m_helloVersion;
            const QString rewritten = m_proxy->m_versionRewrite.isEmpty() ? original + QStringLiteral("-mismatch")
                                                                          : m_proxy->m_versionRewrite;
            json.insert(QStringLiteral("version"), rewritten);
            payload = QJsonDocument(json).toJson(QJsonDocument::Compact);
            raw = encodeFor(flow, opcode, payload);
            QJsonObject params = m_proxy->m_versionSpec.params;
            params.insert(QStringLiteral("from"), original);
            params.insert(QStringLiteral("to"), rewritten);
            m_proxy->report({ QStringLiteral("rewrite-version"), params, false, m_id,
                QStringLiteral("hello version '%1' rewritten to '%2'").arg(original, rewritten), 0 });
        }
    }
    if (inbound && !m_failedIds.isEmpty() && json.contains(QLatin1String("deliver"))
        && m_failedIds.contains(json.value(QLatin1String("deliver")).toInteger())) {
        // The client was told this stream failed; the server's later items for it would be
        // frames for an unknown id, which a client drops anyway.
        observe();
        return;
    }
    if (inbound && kind == QLatin1String("ping") && m_proxy->m_holdPings) {
        m_inbound.heldPings.push_back(raw);
        observe();
        return;
    }

    auto& armed = m_proxy->m_armed;
    for (std::size_t i = 0; i < armed.size(); ++i) {
        FaultProxy::ArmedFault& fault = armed[i];
        const FrameSelector& select = fault.spec.select;
        if (select.direction != flow.direction || !kindMatches(select.kind, kind))
            continue;
        bool all = true;
        for (const JsonPredicate& predicate : select.where)
            all = all && predicate.matches(json);
        if (!all)
            continue;
        ++fault.matched;
        if (fault.matched < select.nth)
            continue;
        const FaultSpec spec = fault.spec;
        ++fault.applied;
        if (select.count > 0 && fault.applied >= select.count)
            armed.erase(armed.begin() + std::ptrdiff_t(i));
        const QString label = frameLabel(kind, json);
        const bool corruptsOnRepeat = dataCarrying && repeatCorrupts(payload);
        switch (spec.type) {
        case FaultType::DropMessage:
            m_proxy->report({ spec.name(), spec.params, dataCarrying, m_id, QStringLiteral("dropped ") + label, 0 });
            observe();
            return;
        case FaultType::DuplicateMessage: {
            const int copies = intParam(spec.params, "copies");
            m_proxy->report({ spec.name(), spec.params, corruptsOnRepeat, m_id,
                QStringLiteral("sent %1 %2 times").arg(label).arg(copies + 1), 0 });
            for (int c = 0; c <= copies; ++c)
                forward(flow, raw, kind, dataCarrying);
            observe();
            return;
        }
        case FaultType::DelayMessage:
        case FaultType::ReorderMessage: {
            const bool reorder = spec.type == FaultType::ReorderMessage;
            Flow::Held entry { m_nextHeld++, raw, kind, dataCarrying, corruptsOnRepeat,
                reorder ? intParam(spec.params, "by") : -1, flow.dataForwarded, m_proxy->elapsedMs(),
                spec, label };
            hold(flow, std::move(entry), reorder ? -1 : intParam(spec.params, "ms"),
                reorder ? intParam(spec.params, "maxHoldMs") : -1);
            observe();
            return;
        }
        case FaultType::CorruptFrame: {
            const QString mode = spec.params.value(QLatin1String("mode")).toString();
            QByteArray damaged = payload;
            quint8 newOpcode = opcode;
            quint8 rsv = 0;
            if (mode == QLatin1String("json")) {
                // Replace one structural character outside strings: no JSON parser, however
                // lenient about strings, accepts the result.
                QList<qsizetype> structural;
                bool inString = false;
                for (qsizetype p = 0; p < damaged.size(); ++p) {
                    const char c = damaged[p];
                    if (inString) {
                        if (c == '\\')
                            ++p;
                        else if (c == '"')
                            inString = false;
                    } else if (c == '"') {
                        inString = true;
                    } else if (c == '{' || c == '}' || c == '[' || c == ']' || c == ':' || c == ',') {
                        structural.append(p);
                    }
                }
                if (structural.isEmpty())
                    damaged.prepend('\x01');
                else
                    damaged[structural[m_proxy->randomBounded(quint32(structural.size()))]] = '\x01';
            } else if (mode == QLatin1String("utf8")) {
                damaged.insert(
                    qsizetype(m_proxy->randomBounded(quint32(damaged.size() + 1))), QByteArray("\xC3\x28", 2));
            } else if (mode == QLatin1String("binary")) {
                newOpcode = quint8(WsOpcode::Binary);
            } else if (mode == QLatin1String("rsv")) {
                rsv = 4;
            } else if (mode == QLatin1String("truncate")) {
                damaged.truncate(damaged.size() / 2);
            }
            // Silent when a client that survives the frame has lost the delta without a resync:
            // broken JSON and a binary frame are logged and skipped on an open socket (ours and
            // the JS client alike). Invalid UTF-8 and RSV1 fail the WebSocket (1007, 1002), so
            // the client reconnects and resyncs.
            const bool silent = dataCarrying
                && (mode == QLatin1String("json") || mode == QLatin1String("truncate") || mode == QLatin1String("binary"));
            m_proxy->report(
                { spec.name(), spec.params, silent, m_id, QStringLiteral("corrupted (%1) ").arg(mode) + label, 0 });
            forward(flow, encodeFor(flow, newOpcode, damaged, rsv), kind, dataCarrying);
            observe();
            return;
        }
        default:
            break;
        }
    }
    forward(flow, raw, kind, dataCarrying);
    observe();
}

void ProxyConnection::forward(Flow& flow, const QByteArray& raw, const QString& kind, bool dataCarrying)
{
    enqueue(flow, raw);
    if (dataCarrying)
        ++flow.dataForwarded;
    // Reordered frames go out right after the `by`-th later frame of their kind.
    std::vector<quint64> due;
    for (Flow::Held& entry : flow.held) {
        if (entry.remaining > 0 && kindMatches(entry.kind, kind) && --entry.remaining == 0)
            due.push_back(entry.id);
    }
    for (quint64 id : due)
        release(flow, id, QStringLiteral("after the frames it was to let pass"));
}

void ProxyConnection::hold(Flow& flow, Flow::Held entry, int delayMs, int maxHoldMs)
{
    const quint64 id = entry.id;
    flow.held.push_back(std::move(entry));
    const int wait = delayMs >= 0 ? delayMs : maxHoldMs;
    QTimer::singleShot(wait, Qt::PreciseTimer, this, [this, &flow, id, delayMs] {
        release(flow, id, delayMs >= 0 ? QStringLiteral("after its delay") : QStringLiteral("at maxHoldMs"));
    });
}

void ProxyConnection::release(Flow& flow, quint64 heldId, const QString& why)
{
    const auto it
        = std::find_if(flow.held.begin(), flow.held.end(), [&](const Flow::Held& entry) { return entry.id == heldId; });
    if (it == flow.held.end())
        return;
    Flow::Held entry = std::move(*it);
    flow.held.erase(it);
    const quint64 passed = flow.dataForwarded - entry.dataForwardedAtHold;
    // Another delta overtook it: the client folds them out of order, which is silent corruption.
    const bool corrupting = entry.dataCarrying && passed > 0;
    QJsonObject params = entry.spec.params;
    params.insert(QStringLiteral("heldMs"), m_proxy->elapsedMs() - entry.heldAtMs);
    params.insert(QStringLiteral("deltasPassed"), qint64(passed));
    m_proxy->report({ entry.spec.name(), params, corrupting, m_id,
        QStringLiteral("released %1 %2, %3 delta(s) passed it").arg(entry.label, why).arg(passed), 0 });
    if (flow.to->state() == QAbstractSocket::UnconnectedState)
        return;
    enqueue(flow, entry.raw);
    if (entry.dataCarrying)
        ++flow.dataForwarded;
    pump(flow); // a close waiting for held frames may now go ahead
}

void ProxyConnection::enqueue(Flow& flow, QByteArray bytes)
{
    if (bytes.isEmpty())
        return;
    const FaultProxy::Shaping& shaping = m_proxy->shaping(flow.direction);
    if (!shaping.active() && flow.queue.empty() && !flow.stalled && (flow.to != m_upstreamSocket || upstreamReady())) {
        writeNow(flow, bytes);
        return;
    }
    const qint64 now = m_proxy->nowNs();
    qint64 delayNs = qint64(shaping.latencyMs) * 1000000;
    if (shaping.jitterMs > 0)
        delayNs += qint64(m_proxy->randomBounded(quint32(shaping.jitterMs) * 1000 + 1)) * 1000;
    // TCP keeps order: a later chunk never leaves before an earlier one.
    const qint64 release = std::max(now + delayNs, flow.lastReleaseNs);
    flow.lastReleaseNs = release;
    flow.queue.push_back({ release, std::move(bytes) });
    if (!flow.pump.isActive())
        pump(flow);
}

void ProxyConnection::writeNow(Flow& flow, QByteArrayView bytes)
{
    // A closing socket takes nothing more.
    if (flow.to->state() != QAbstractSocket::ConnectedState)
        return;
    flow.to->write(bytes.constData(), bytes.size());
}

void ProxyConnection::pump(Flow& flow)
{
    if (flow.stalled)
        return;
    // The client's bytes wait in the queue until the upstream is connected (and encrypted): bytes
    // a socket buffers while connecting are flushed even when the connect fails, which Qt reports
    // on stderr ("write() was not called in ConnectedState"). Pumped again on connected/encrypted.
    if (flow.to == m_upstreamSocket && !upstreamReady())
        return;
    const FaultProxy::Shaping& shaping = m_proxy->shaping(flow.direction);
    while (!flow.queue.empty()) {
        const qint64 now = m_proxy->nowNs();
        Flow::Chunk& head = flow.queue.front();
        if (head.releaseNs > now) {
            flow.pump.start(int((head.releaseNs - now + 999999) / 1000000));
            return;
        }
        if (shaping.bytesPerSecond > 0 && flow.nextSendNs > now) {
            flow.pump.start(int((flow.nextSendNs - now + 999999) / 1000000));
            return;
        }
        qsizetype n = head.bytes.size() - head.offset;
        if (shaping.segmentBytes > 0)
            n = std::min<qsizetype>(n, shaping.segmentBytes);
        if (shaping.bytesPerSecond > 0)
            n = std::min<qsizetype>(n, std::max<qsizetype>(1, shaping.bytesPerSecond / 100)); // 10 ms worth
        writeNow(flow, QByteArrayView(head.bytes).sliced(head.offset, n));
        if (shaping.segmentBytes > 0)
            flow.to->flush();
        head.offset += n;
        if (shaping.bytesPerSecond > 0)
            flow.nextSendNs = std::max(now, flow.nextSendNs) + n * 1000000000LL / shaping.bytesPerSecond;
        if (head.offset >= head.bytes.size())
            flow.queue.pop_front();
        if (shaping.segmentBytes > 0 && shaping.gapMs > 0 && !flow.queue.empty()) {
            flow.pump.start(shaping.gapMs);
            return;
        }
    }
    if (!flow.closeAfterDrain.isEmpty() && flow.held.empty()) {
        const bool rst = flow.closeAfterDrain == QLatin1String("rst");
        flow.closeAfterDrain.clear();
        closeSide(flow.to, rst);
    }
}

void ProxyConnection::closeSide(QTcpSocket* socket, bool rst)
{
    if (socket->state() == QAbstractSocket::UnconnectedState)
        return;
    // What was forwarded before the fault is on the wire: hand it to the kernel before closing.
    // A frame written a moment ago (the one that triggered a plan step, which passes untouched)
    // still sits in the socket's buffer, and abort() would discard it.
    socket->flush();
    if (rst)
        resetSocket(socket);
    else
        socket->disconnectFromHost();
    checkFinished();
}

void ProxyConnection::drop(bool rst, const QString& side)
{
    for (Flow* flow : { &m_outbound, &m_inbound }) {
        flow->queue.clear();
        flow->held.clear();
        flow->pump.stop();
        flow->stalled = false;
        flow->stalledInput.clear();
    }
    if (m_closeHow.isEmpty())
        m_closeHow = QStringLiteral("dropped by fault (%1, %2)")
                         .arg(rst ? QStringLiteral("rst") : QStringLiteral("fin"), side);
    // The end left open keeps sending into the void, as a peer behind a dead NAT entry would.
    // Marking the closed ends first keeps their close from propagating as an orderly one.
    const bool closeClient = side != QLatin1String("server");
    const bool closeServer = side != QLatin1String("client");
    m_outbound.sourceClosed = m_outbound.sourceClosed || closeClient;
    m_inbound.sourceClosed = m_inbound.sourceClosed || closeServer;
    m_inbound.discard = closeClient;
    m_outbound.discard = closeServer;
    if (closeClient)
        closeSide(m_client, rst);
    if (closeServer)
        closeSide(m_upstreamSocket, rst);
}

bool ProxyConnection::injectIntoStream(const FaultSpec& spec)
{
    const QJsonObject& p = spec.params;
    const qint64 named = intParam(p, "requestId");
    const qint64 id = named < 0 ? m_latestCreate : named;
    if (id < 0 || !m_createdIds.contains(id) || m_finished)
        return false;
    QJsonObject params = p;
    params.insert(QStringLiteral("requestId"), id);
    QJsonObject frame;
    if (spec.type == FaultType::InjectReload) {
        frame = { { QStringLiteral("deliver"), id }, { QStringLiteral("done"), false },
            { QStringLiteral("response"),
                QJsonObject { { QStringLiteral("delta"),
                    QJsonObject { { QStringLiteral("reload"),
                        QJsonObject { { QStringLiteral("preserve-view"),
                            p.value(QLatin1String("preserveView")).toBool() } } } } } } } };
    } else {
        const int code = intParam(p, "code");
        const QString retry = p.value(QLatin1String("retry")).toString();
        const bool retryFlag = retry == QLatin1String("auto") ? isRetryableCode(code) : retry == QLatin1String("true");
        frame = { { QStringLiteral("failure"), id }, { QStringLiteral("reason"), code },
            { QStringLiteral("retry"), retryFlag } };
    }
    if (!inject(QJsonDocument(frame).toJson(QJsonDocument::Compact), spec.name(), params, false))
        return false;
    if (spec.type == FaultType::InjectFailure)
        failStream(id);
    return true;
}

bool ProxyConnection::injectFault(const FaultSpec& spec)
{
    return spec.type == FaultType::InjectDisconnected ? injectDisconnected(spec) : injectIntoStream(spec);
}

bool ProxyConnection::injectDisconnected(const FaultSpec& spec)
{
    if (!m_helloSeen || m_finished)
        return false;
    const QJsonObject frame { { QStringLiteral("status"), QStringLiteral("disconnected") },
        { QStringLiteral("reason"), spec.params.value(QLatin1String("reason")) } };
    return inject(QJsonDocument(frame).toJson(QJsonDocument::Compact), spec.name(), spec.params,
        spec.params.value(QLatin1String("close")).toBool());
}

bool ProxyConnection::inject(const QByteArray& payload, const QString& fault, const QJsonObject& params, bool thenClose)
{
    if (m_inbound.mode != Flow::Mode::Frames || m_client->state() != QAbstractSocket::ConnectedState)
        return false;
    // Injected frames join the inbound stream at the point the fault fires, behind what is queued.
    enqueue(m_inbound, encodeFrame(quint8(WsOpcode::Text), payload));
    m_proxy->report({ fault, params, false, m_id, QStringLiteral("injected ") + QString::fromUtf8(payload), 0 });
    if (thenClose) {
        m_inbound.closeAfterDrain = QStringLiteral("fin");
        pump(m_inbound);
        closeSide(m_upstreamSocket, false);
    }
    return true;
}

void ProxyConnection::releaseHeldPings(bool deliver)
{
    std::vector<QByteArray> pings = std::exchange(m_inbound.heldPings, {});
    if (!deliver)
        return;
    for (QByteArray& ping : pings)
        enqueue(m_inbound, std::move(ping));
}

void ProxyConnection::checkFinished()
{
    if (m_finished || isOpen())
        return;
    m_finished = true;
    QTimer::singleShot(0, m_proxy, [proxy = m_proxy, self = QPointer<ProxyConnection>(this)] {
        if (self)
            proxy->connectionFinished(self);
    });
}

// --- FaultProxy ---------------------------------------------------------------------------------

FaultProxy::FaultProxy(QObject* parent)
    : QObject(parent)
{
    qRegisterMetaType<FaultReport>();
    qRegisterMetaType<ObservedFrame>();
    m_clock.start();
    m_stallTimer.setSingleShot(true);
    connect(&m_stallTimer, &QTimer::timeout, this, [this] {
        setStall(FlowDirection::Both, false);
        report({ QStringLiteral("clear-stall"), { { QStringLiteral("reason"), QStringLiteral("durationMs elapsed") } },
            false, -1, QStringLiteral("stall ended after its duration; held bytes delivered"), 0 });
    });
    m_pingTimer.setSingleShot(true);
    connect(&m_pingTimer, &QTimer::timeout, this, [this] { releasePings(); });
}

FaultProxy::~FaultProxy()
{
    for (QTcpSocket* socket : std::as_const(m_blackHoled))
        socket->abort();
}

bool FaultProxy::setUpstream(const QUrl& url, QString* error)
{
    if (!url.isValid() || url.host().isEmpty()) {
        if (error)
            *error = QStringLiteral("upstream '%1' is not a valid ws:// or wss:// URL").arg(url.toString());
        return false;
    }
    if (url.scheme() != QLatin1String("ws") && url.scheme() != QLatin1String("wss")) {
        if (error)
            *error = QStringLiteral("upstream '%1' is neither a ws:// nor a wss:// URL").arg(url.toString());
        return false;
    }
    if (isTls(url) && !QSslSocket::supportsSsl()) {
        if (error)
            *error = QStringLiteral("upstream '%1': TLS is not available in this Qt build").arg(url.toString());
        return false;
    }
    m_upstream = url;
    return true;
}

bool FaultProxy::listen(const QHostAddress& address, quint16 port, QString* error)
{
    if (!address.isLoopback()) {
        if (error)
            *error
                = QStringLiteral("the fault proxy listens on loopback addresses only, not %1").arg(address.toString());
        return false;
    }
    if (!m_server) {
        m_server = new QTcpServer(this);
        connect(m_server, &QTcpServer::newConnection, this, &FaultProxy::onNewConnection);
    }
    if (!m_server->listen(address, port)) {
        if (error)
            *error = QStringLiteral("cannot listen on %1:%2: %3")
                         .arg(address.toString())
                         .arg(port)
                         .arg(m_server->errorString());
        return false;
    }
    return true;
}

bool FaultProxy::isListening() const { return m_server && m_server->isListening(); }

quint16 FaultProxy::port() const { return m_server ? m_server->serverPort() : 0; }

QUrl FaultProxy::clientUrl() const
{
    QUrl url = m_upstream;
    url.setScheme(QStringLiteral("ws"));
    url.setHost(m_server ? m_server->serverAddress().toString() : QStringLiteral("127.0.0.1"));
    url.setPort(port());
    return url;
}

void FaultProxy::shutdown()
{
    if (m_server)
        m_server->close();
    reportUnappliedFaults(QStringLiteral("before the proxy stopped"));
    for (ProxyConnection* connection : liveConnections())
        connection->drop(false, QStringLiteral("both"));
    for (QTcpSocket* socket : std::as_const(m_blackHoled)) {
        socket->abort();
        socket->deleteLater();
    }
    m_blackHoled.clear();
}

void FaultProxy::setSeed(quint64 seed)
{
    m_seed = seed;
    m_random.seed(quint32(seed ^ (seed >> 32)));
}

QList<ProxyConnection*> FaultProxy::liveConnections() const
{
    QList<ProxyConnection*> live;
    for (const QPointer<ProxyConnection>& connection : m_connections) {
        if (connection && connection->isOpen())
            live.append(connection);
    }
    return live;
}

int FaultProxy::connectionCount() const { return int(liveConnections().size()); }

bool FaultProxy::isStalled() const { return m_stallActive; }

bool FaultProxy::needsInspection(FlowDirection direction) const
{
    if (m_observe)
        return true;
    if (direction == FlowDirection::Inbound && (m_holdPings || m_versionRewritesLeft != 0))
        return true;
    for (const ArmedFault& fault : m_armed) {
        if (fault.spec.select.direction == direction)
            return true;
    }
    return false;
}

void FaultProxy::onNewConnection()
{
    while (m_server->hasPendingConnections()) {
        QTcpSocket* socket = m_server->nextPendingConnection();
        const int id = m_nextConnection++;
        ++m_stats.connections;
        const QString peer = socket->peerAddress().toString() + QLatin1Char(':') + QString::number(socket->peerPort());
        const bool timedRefusal = m_refuseUntilNs > nowNs();
        if (m_refuseRemaining > 0 || timedRefusal) {
            const bool blackHole = !timedRefusal && m_refuseMode == QLatin1String("black-hole");
            if (!timedRefusal)
                --m_refuseRemaining;
            QJsonObject params = timedRefusal ? QJsonObject { { QStringLiteral("mode"), QStringLiteral("reset") },
                { QStringLiteral("reason"), QStringLiteral("server down (redeploy)") } }
                                              : m_refuseSpec.params;
            params.insert(QStringLiteral("remaining"), m_refuseRemaining);
            report({ QStringLiteral("refuse"), params, false, id,
                blackHole ? QStringLiteral("connect from %1 accepted and never answered").arg(peer)
                          : QStringLiteral("connect from %1 reset").arg(peer),
                0 });
            emitConnectionEvent(id, QStringLiteral("refused"),
                { { QStringLiteral("peer"), peer },
                    { QStringLiteral("mode"), blackHole ? QStringLiteral("black-hole") : QStringLiteral("reset") } });
            if (!blackHole) {
                // Reset once the client has sent its first bytes (the upgrade request), not at
                // accept: an RST that beats the client's connect-completion check makes Linux
                // connect() return ECONNRESET, which Qt's socket engine does not treat as final,
                // so it calls connect() again on the same socket, a new TCP connection each time
                // (1 to 4 per attempt seen): `count` then counted Qt's internal connects, not the
                // client's attempts. A client that sends nothing is reset after a second.
                socket->setParent(this);
                auto reset = [socket] {
                    if (socket->state() != QAbstractSocket::UnconnectedState)
                        resetSocket(socket);
                    socket->deleteLater();
                };
                connect(socket, &QTcpSocket::readyRead, socket, reset, Qt::SingleShotConnection);
                connect(socket, &QTcpSocket::disconnected, socket, &QObject::deleteLater);
                QTimer::singleShot(1000, socket, reset);
                if (socket->bytesAvailable() > 0)
                    reset();
                continue;
            }
            socket->setParent(this);
            m_blackHoled.append(socket);
            connect(socket, &QTcpSocket::readyRead, socket, [socket] { socket->readAll(); });
            auto forget = [this, socket] {
                if (m_blackHoled.removeOne(socket)) {
                    socket->abort();
                    socket->deleteLater();
                }
            };
            connect(socket, &QTcpSocket::disconnected, this, forget);
            QTimer::singleShot(m_blackHoleHoldMs, socket, forget);
            continue;
        }
        auto* connection = new ProxyConnection(this, id, socket);
        m_connections.append(connection);
        emitConnectionEvent(id, QStringLiteral("opened"),
            { { QStringLiteral("peer"), peer }, { QStringLiteral("upstream"), m_upstream.toString() } });
        if (m_stallActive && m_stallNewConnections)
            connection->setStalled(m_stallDirection, true);
    }
}

void FaultProxy::connectionFinished(ProxyConnection* connection)
{
    m_connections.removeAll(connection);
    emitConnectionEvent(
        connection->id(), QStringLiteral("closed"), { { QStringLiteral("how"), connection->closeReason() } });
    connection->deleteLater();
}

void FaultProxy::report(FaultReport report)
{
    report.wallMs = QDateTime::currentMSecsSinceEpoch();
    if (!report.announcement)
        ++m_stats.faults;
    qCInfo(lcFaults).noquote() << "fault" << report.fault << "connection" << report.connection << report.detail
                               << (report.corrupting ? "(corrupting)" : "");
    Q_EMIT faultInjected(report);
}

void FaultProxy::emitConnectionEvent(int connection, const QString& event, QJsonObject details)
{
    details.insert(QStringLiteral("connection"), connection);
    details.insert(QStringLiteral("event"), event);
    details.insert(QStringLiteral("elapsedMs"), m_clock.elapsed());
    Q_EMIT connectionEvent(details);
    if (event == QLatin1String("upstream-failed")) {
        const QString error = details.value(u"error").toString();
        Q_EMIT upstreamFailed(QStringLiteral("fault proxy: the server %1 did not take connection %2: %3 (the client sees a reset)")
                                  .arg(m_upstream.toDisplayString())
                                  .arg(connection)
                                  .arg(error),
            error, !std::exchange(m_upstreamDown, true));
    } else if (event == QLatin1String("upgraded") && std::exchange(m_upstreamDown, false)) {
        Q_EMIT upstreamReachable();
    }
}

void FaultProxy::setStall(FlowDirection direction, bool on)
{
    m_stallActive = on;
    m_stallDirection = direction;
    if (!on)
        m_stallTimer.stop();
    for (ProxyConnection* connection : liveConnections())
        connection->setStalled(on ? direction : FlowDirection::Both, on);
}

void FaultProxy::releasePings()
{
    if (!m_holdPings)
        return;
    m_holdPings = false;
    m_pingTimer.stop();
    int held = 0;
    for (ProxyConnection* connection : liveConnections()) {
        held += connection->heldPingCount();
        connection->releaseHeldPings(m_deliverHeldPings);
    }
    report({ QStringLiteral("release-pings"),
        { { QStringLiteral("held"), held }, { QStringLiteral("delivered"), m_deliverHeldPings } }, false, -1,
        QStringLiteral("%1 held ping(s) %2")
            .arg(held)
            .arg(m_deliverHeldPings ? QStringLiteral("delivered") : QStringLiteral("dropped")),
        0 });
}

bool FaultProxy::apply(const QString& fault, const QJsonObject& params, QString* error)
{
    FaultSpec spec;
    if (!FaultSpec::fromNameAndParams(fault, params, QStringLiteral("$"), spec, error))
        return false;
    return apply(spec, error);
}

namespace {
// A shaping fault's direction for a person: "both directions" when it is both (or not given).
QString directionText(const QJsonObject& params)
{
    const QString direction = params.value(QLatin1String("direction")).toString();
    return direction.isEmpty() || direction == QLatin1String("both") ? QStringLiteral("both directions") : direction;
}
}

bool FaultProxy::apply(const FaultSpec& spec, QString* error)
{
    Q_UNUSED(error)
    const QJsonObject& p = spec.params;
    auto directions = [&](const QString& key) {
        const QString text = p.value(key).toString();
        return text == QLatin1String("inbound") ? FlowDirection::Inbound
            : text == QLatin1String("outbound") ? FlowDirection::Outbound
                                                : FlowDirection::Both;
    };
    auto shapingsFor = [&](FlowDirection direction) {
        QList<Shaping*> list;
        if (direction != FlowDirection::Inbound)
            list.append(&m_toServer);
        if (direction != FlowDirection::Outbound)
            list.append(&m_toClient);
        return list;
    };
    if (spec.isMessageFault()) {
        m_armed.push_back({ spec, 0, 0 });
        qCInfo(lcFaults).noquote() << "armed" << spec.name() << QJsonDocument(p).toJson(QJsonDocument::Compact);
        return true;
    }
    switch (spec.type) {
    case FaultType::Drop: {
        const bool rst = p.value(QLatin1String("mode")).toString() == QLatin1String("rst");
        const QList<ProxyConnection*> live = liveConnections();
        report({ spec.name(), p, false, -1,
            QStringLiteral("closed %1 connection(s) with %2")
                .arg(live.size())
                .arg(rst ? QStringLiteral("RST") : QStringLiteral("FIN")),
            0 });
        for (ProxyConnection* connection : live)
            connection->drop(rst, p.value(QLatin1String("side")).toString());
        return true;
    }
    case FaultType::Stall: {
        const FlowDirection direction = directions(QStringLiteral("direction"));
        m_stallNewConnections = p.value(QLatin1String("newConnections")).toBool();
        const int duration = intParam(p, "durationMs");
        report({ spec.name(), p, false, -1,
            QStringLiteral("stalled %1 connection(s) %2")
                .arg(liveConnections().size())
                .arg(duration > 0 ? QStringLiteral("for %1 ms").arg(duration) : QStringLiteral("until cleared")),
            0 });
        setStall(direction, true);
        if (duration > 0)
            m_stallTimer.start(duration);
        return true;
    }
    case FaultType::ClearStall:
        if (m_stallActive) {
            setStall(FlowDirection::Both, false);
            report({ spec.name(), p, false, -1, QStringLiteral("stall cleared; held bytes delivered"), 0 });
        }
        return true;
    case FaultType::Latency:
        for (Shaping* shaping : shapingsFor(directions(QStringLiteral("direction")))) {
            shaping->latencyMs = intParam(p, "ms");
            shaping->jitterMs = intParam(p, "jitterMs");
        }
        report({ spec.name(), p, false, -1,
            QStringLiteral("latency set to %1 ms \u00B1%2 ms (%3)")
                .arg(intParam(p, "ms"))
                .arg(intParam(p, "jitterMs"))
                .arg(directionText(p)),
            0 });
        return true;
    case FaultType::Bandwidth:
        for (Shaping* shaping : shapingsFor(directions(QStringLiteral("direction"))))
            shaping->bytesPerSecond = intParam(p, "bytesPerSecond");
        report({ spec.name(), p, false, -1,
            QStringLiteral("bandwidth capped at %1 bytes/s (%2)")
                .arg(intParam(p, "bytesPerSecond"))
                .arg(directionText(p)),
            0 });
        return true;
    case FaultType::Slice:
        for (Shaping* shaping : shapingsFor(directions(QStringLiteral("direction")))) {
            shaping->segmentBytes = intParam(p, "segmentBytes");
            shaping->gapMs = intParam(p, "gapMs");
        }
        report({ spec.name(), p, false, -1,
            QStringLiteral("frames sliced into %1-byte segments %2 ms apart").arg(intParam(p, "segmentBytes")).arg(intParam(p, "gapMs")),
            0 });
        return true;
    case FaultType::Refuse:
        // Reported per refused connect, when it happens.
        m_refuseRemaining = intParam(p, "count");
        m_refuseMode = p.value(QLatin1String("mode")).toString();
        m_blackHoleHoldMs = intParam(p, "holdMs");
        m_refuseSpec = spec;
        return true;
    case FaultType::RewriteVersion: {
        reportUnusedVersionRewrite(QStringLiteral("before another rewrite-version replaced it"));
        const int connections = intParam(p, "connections");
        m_versionRewritesLeft = connections == 0 ? -1 : connections;
        m_versionRewrite = p.value(QLatin1String("version")).toString();
        m_versionSpec = spec;
        m_versionRewritesDone = 0;
        // Announced when set, not only when a hello passes: a user who asks for a version mismatch
        // (with a drop to make the client reconnect) sees it named first, as what they did. Each
        // rewritten hello is then reported, and counted, on its own.
        FaultReport announced { spec.name(), p, false, -1,
            QStringLiteral("%1 will say version '%2'")
                .arg(connections == 0 ? QStringLiteral("every hello from now on") : QStringLiteral("the next %1 hello(s)").arg(connections),
                    m_versionRewrite.isEmpty() ? QStringLiteral("<the server's>-mismatch") : m_versionRewrite),
            0 };
        announced.announcement = true;
        report(announced);
        return true;
    }
    case FaultType::InjectReload:
    case FaultType::InjectFailure:
    case FaultType::InjectDisconnected: {
        // Every connection that can take it now does; with none, it waits for the first that can
        // (offerWaitingInjects), so an inject applied as the client connects is not lost.
        bool acted = false;
        for (ProxyConnection* connection : liveConnections())
            acted = connection->injectFault(spec) || acted;
        if (!acted) {
            m_waitingInjects.push_back(spec);
            qCInfo(lcFaults).noquote() << spec.name() << "waits for"
                                       << (spec.type == FaultType::InjectDisconnected ? "a hello" : "a stream");
        }
        return true;
    }
    case FaultType::HoldPings: {
        m_holdPings = true;
        m_deliverHeldPings = p.value(QLatin1String("release")).toString() == QLatin1String("deliver");
        m_pingSpec = spec;
        const int duration = intParam(p, "durationMs");
        if (duration > 0)
            m_pingTimer.start(duration);
        report({ spec.name(), p, false, -1,
            QStringLiteral("holding pings %1")
                .arg(duration > 0 ? QStringLiteral("for %1 ms").arg(duration) : QStringLiteral("until released")),
            0 });
        return true;
    }
    case FaultType::ReleasePings:
        releasePings();
        return true;
    case FaultType::ServerRedeploy: {
        // Simulated in the proxy: what a client sees when the server behind the address is
        // replaced. Every socket closes (FIN, a graceful shutdown), connects are reset for
        // downMs, and the new deployment greets with another version.
        const int downMs = intParam(p, "downMs");
        QString version = p.value(QLatin1String("version")).toString();
        if (version.isEmpty())
            version = QStringLiteral("redeployed-%1").arg(QDateTime::currentMSecsSinceEpoch());
        QJsonObject params = p;
        params.insert(QStringLiteral("version"), version);
        params.insert(QStringLiteral("simulated"), true);
        const QList<ProxyConnection*> live = liveConnections();
        report({ spec.name(), params, false, -1,
            QStringLiteral("simulated redeploy: %1 connection(s) closed, connects reset for %2 ms, new version '%3'")
                .arg(live.size())
                .arg(downMs)
                .arg(version),
            0 });
        for (ProxyConnection* connection : live)
            connection->drop(false, QStringLiteral("both"));
        m_refuseUntilNs = nowNs() + qint64(downMs) * 1000000;
        reportUnusedVersionRewrite(QStringLiteral("before a server-redeploy replaced it"));
        m_versionRewritesLeft = -1;
        m_versionRewritesDone = 0;
        m_versionRewrite = version;
        m_versionSpec = spec;
        m_versionSpec.params = params;
        return true;
    }
    case FaultType::Clear:
        clearAll();
        report({ spec.name(), p, false, -1, QStringLiteral("every fault cleared"), 0 });
        return true;
    default:
        break;
    }
    return true;
}

void FaultProxy::offerWaitingInjects(ProxyConnection* connection)
{
    std::erase_if(m_waitingInjects, [connection](const FaultSpec& spec) { return connection->injectFault(spec); });
}

void FaultProxy::reportUnappliedFaults(const QString& why)
{
    const std::vector<FaultSpec> waiting = std::exchange(m_waitingInjects, {});
    for (const FaultSpec& spec : waiting) {
        const QString waitedFor = spec.type == FaultType::InjectDisconnected
            ? QStringLiteral("no connection passed a hello to the client")
            : intParam(spec.params, "requestId") >= 0
            ? QStringLiteral("no connection/create with id %1 passed the proxy").arg(intParam(spec.params, "requestId"))
            : QStringLiteral("no stream (connection/create) passed the proxy");
        qCInfo(lcFaults).noquote() << spec.name() << "not applied:" << waitedFor << why;
        Q_EMIT faultNotApplied(spec.name(), spec.params, waitedFor + QStringLiteral(" ") + why);
    }
    // A message fault armed for the Nth matching frame that never came did nothing: said as
    // plainly, or a plan that "acted" would read as tested.
    const std::vector<ArmedFault> armed = std::exchange(m_armed, {});
    for (const ArmedFault& fault : armed) {
        if (fault.applied > 0)
            continue;
        const QString waitedFor = QStringLiteral("its frame never came (%1 matching frame(s) passed, it waited for number %2)")
                                      .arg(fault.matched)
                                      .arg(fault.spec.select.nth);
        qCInfo(lcFaults).noquote() << fault.spec.name() << "not applied:" << waitedFor << why;
        Q_EMIT faultNotApplied(fault.spec.name(), fault.spec.params, waitedFor + QStringLiteral(" ") + why);
    }
    reportUnusedVersionRewrite(why);
}

void FaultProxy::reportUnusedVersionRewrite(const QString& why)
{
    // A version rewrite set by rewrite-version that no hello passed through: only announced.
    // (A redeploy's rewrite is not a fault of its own: the redeploy acted when it closed connections.)
    if (m_versionRewritesLeft != 0 && m_versionRewritesDone == 0 && m_versionSpec.type == FaultType::RewriteVersion) {
        const QString waitedFor = QStringLiteral("no new connection's hello passed the proxy");
        qCInfo(lcFaults).noquote() << m_versionSpec.name() << "not applied:" << waitedFor << why;
        Q_EMIT faultNotApplied(m_versionSpec.name(), m_versionSpec.params, waitedFor + QStringLiteral(" ") + why);
        m_versionRewritesLeft = 0; // said once: every caller ends or replaces it
    }
}

void FaultProxy::clearAll()
{
    reportUnappliedFaults(QStringLiteral("before it was cleared"));
    m_toServer = Shaping();
    m_toClient = Shaping();
    m_armed.clear();
    m_refuseRemaining = 0;
    m_refuseUntilNs = -1;
    m_versionRewritesLeft = 0;
    m_versionRewrite.clear();
    if (m_stallActive)
        setStall(FlowDirection::Both, false);
    releasePings();
}

}
