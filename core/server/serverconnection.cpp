#include "core/server/serverconnection.h"

#include "core/exactinteger.h"
#include "core/jsonmergepatch.h"
#include "core/server/demodocument.h"
#include "core/server/referenceserver.h"
#include "core/server/serverwire.h"

#include <QDateTime>
#include <QJsonDocument>
#include <QNetworkRequest>
#include <QTcpSocket>
#include <QUuid>
#include <QWebSocket>

#include <QSocketNotifier>

#include <cerrno>
#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

namespace deltascope::server {

namespace {

// What a web server's "lingering close" does, for a socket QWebSocket closes with a close frame
// while the peer may still be sending (the rest of a frame over the size limit, say). Closed with
// unread input, Linux resets the connection, and the peer loses the close frame and its code
// (1009) in the reset. A duplicate of the descriptor keeps the socket alive through Qt's close;
// once Qt has written its last bytes and let go, writing is shut down (FIN after the close frame)
// and input is read and dropped until the peer closes, for at most kLingerMs and kLingerBytes.
class LingeringClose : public QObject
{
public:
    LingeringClose(int descriptor, QTcpSocket* tcp, QObject* parent)
        : QObject(parent)
        , m_descriptor(descriptor)
    {
        // Qt closes its own descriptor once the close frame is written: then this one takes over.
        connect(tcp, &QTcpSocket::disconnected, this, &LingeringClose::start);
        connect(tcp, &QObject::destroyed, this, &LingeringClose::start);
        m_deadline.setSingleShot(true);
        connect(&m_deadline, &QTimer::timeout, this, &LingeringClose::finish);
        m_deadline.start(kLingerMs);
    }
    ~LingeringClose() override
    {
        if (m_descriptor >= 0)
            ::close(m_descriptor);
    }

private:
    static constexpr int kLingerMs = 5000;
    static constexpr qint64 kLingerBytes = qint64(64) << 20;

    void start()
    {
        if (m_started || m_descriptor < 0)
            return;
        m_started = true;
        ::shutdown(m_descriptor, SHUT_WR);
        m_notifier = new QSocketNotifier(qintptr(m_descriptor), QSocketNotifier::Read, this);
        connect(m_notifier, &QSocketNotifier::activated, this, &LingeringClose::drain);
        drain();
    }
    void drain()
    {
        char buffer[64 * 1024];
        for (;;) {
            const ssize_t got = ::read(m_descriptor, buffer, sizeof buffer);
            if (got > 0) {
                m_drained += got;
                if (m_drained > kLingerBytes)
                    return finish();
                continue;
            }
            if (got < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
                return; // more to come: the notifier calls again
            return finish(); // the peer closed, or the socket failed
        }
    }
    void finish()
    {
        if (m_notifier)
            m_notifier->setEnabled(false);
        if (m_descriptor >= 0)
            ::close(m_descriptor);
        m_descriptor = -1;
        deleteLater();
    }

    int m_descriptor;
    bool m_started = false;
    qint64 m_drained = 0;
    QSocketNotifier* m_notifier = nullptr;
    QTimer m_deadline;
};

// Session keep-alive (Session.java): kept while the socket is younger than 5 minutes or a request
// arrived within the last 2 hours.
constexpr qint64 kYoungSocketMs = 5 * 60 * 1000;
constexpr qint64 kRecentRequestMs = 2 * 60 * 60 * 1000;

QHash<QString, QString> cookieIdentities(const QNetworkRequest& request)
{
    // `id_<name>` cookies of the upgrade request become identities `cookie:<name>`.
    QHash<QString, QString> identities;
    const QByteArray header = request.rawHeader("Cookie");
    for (const QByteArray& part : header.split(';')) {
        const QByteArray trimmed = part.trimmed();
        const qsizetype eq = trimmed.indexOf('=');
        if (eq <= 3 || !trimmed.startsWith("id_"))
            continue;
        identities.insert(QString::fromUtf8(trimmed.mid(3, eq - 3)), QString::fromUtf8(trimmed.mid(eq + 1)));
    }
    return identities;
}

// identity, space and key: read first, in this order, by every method that names a document
// (adama-wire.md 3.1); `error` is the code of the first one missing or invalid.
struct DocumentAddress {
    int error = 0;
    QString identity;
    QString space;
    QString key;
};

DocumentAddress readAddress(const QJsonObject& request)
{
    const auto identity = stringParam(request, QLatin1String("identity"));
    if (!identity)
        return { ErrorCode::MissingIdentity, {}, {}, {} };
    const auto space = stringParam(request, QLatin1String("space"));
    if (!space)
        return { ErrorCode::MissingSpace, {}, {}, {} };
    const auto key = stringParam(request, QLatin1String("key"));
    if (!key)
        return { ErrorCode::MissingKey, {}, {}, {} };
    return { validateKey(*key), *identity, *space, *key };
}

// {"seq":N}, the answer of a request that ran a transaction (a send, an attach).
QByteArray seqAnswer(qint64 id, qint64 seq)
{
    return finishFrame(id, "{\"seq\":" + QByteArray::number(seq) + '}');
}

// Checked after the method's own parameters: who asks, and which demo space (lower-cased, trimmed).
struct ResolvedAddress {
    int error = 0;
    Principal principal;
    QString space;
};

ResolvedAddress resolveAddress(const DocumentAddress& address, const QHash<QString, QString>& cookies)
{
    const IdentityResult who = resolveIdentity(address.identity, cookies);
    if (who.error)
        return { who.error, {}, {} };
    // The principal stays with a space error: the identity has authenticated all the same.
    const QString space = address.space.trimmed().toLower();
    if (const int code = validateSpace(space))
        return { code, who.principal, {} };
    if (!ReferenceServer::spaces().contains(space))
        return { ErrorCode::SpaceDoesNotExist, who.principal, {} };
    return { 0, who.principal, space };
}

}

ServerConnection::ServerConnection(quint64 serial, QWebSocket* socket, QTcpSocket* tcp, ReferenceServer* server)
    : QObject(server)
    , m_serial(serial)
    , m_socket(socket)
    , m_tcp(tcp)
    , m_server(server)
{
    m_created.start();
    m_createdEpochMs = QDateTime::currentMSecsSinceEpoch();
    m_socket->setParent(this);
    m_socket->setMaxAllowedIncomingFrameSize(static_cast<quint64>(server->options().maxFrameBytes));
    m_socket->setMaxAllowedIncomingMessageSize(static_cast<quint64>(server->options().maxFrameBytes));
    m_cookieIdentities = cookieIdentities(m_socket->request());

    connect(m_socket, &QWebSocket::textMessageReceived, this, &ServerConnection::onText);
    connect(m_socket, &QWebSocket::binaryMessageReceived, this, &ServerConnection::onBinary);
    connect(m_socket, &QWebSocket::textFrameReceived, this, &ServerConnection::touch);
    connect(m_socket, &QWebSocket::binaryFrameReceived, this, &ServerConnection::touch);
    connect(m_socket, &QWebSocket::pong, this, &ServerConnection::touch);
    // Netty's read timeout counts inbound bytes, so control frames (a client's WebSocket pings,
    // which QWebSocket answers without a signal) and the parts of a long frame keep a socket too.
    if (m_tcp)
        connect(m_tcp, &QTcpSocket::readyRead, this, &ServerConnection::touch);
    connect(m_socket, &QWebSocket::disconnected, this, &ServerConnection::onSocketDisconnected);
    // QWebSocket has written a close frame (its own refusal of a frame, ours, or its answer to
    // the peer's) and is about to close the TCP socket: see LingeringClose.
    // It fires twice (its own close, then the TCP socket's forwarded aboutToClose): one linger.
    connect(m_socket, &QWebSocket::aboutToClose, this, [this] {
        if (m_lingering || m_resetting || !m_tcp || m_tcp->socketDescriptor() < 0)
            return;
        const int duplicate = ::fcntl(int(m_tcp->socketDescriptor()), F_DUPFD_CLOEXEC, 0);
        if (duplicate < 0)
            return;
        m_lingering = true;
        new LingeringClose(duplicate, m_tcp, m_server);
    });

    // Precise: Qt's default timers may fire 5% early, and clients time the pings (adama-wire.md 2).
    m_heartbeat.setTimerType(Qt::PreciseTimer);
    m_heartbeat.setInterval(server->options().pingIntervalMs);
    connect(&m_heartbeat, &QTimer::timeout, this, &ServerConnection::onHeartbeat);
    m_idle.setSingleShot(true);
    m_idle.setTimerType(Qt::PreciseTimer);
    m_idle.setInterval(server->options().idleTimeoutMs);
    connect(&m_idle, &QTimer::timeout, this, [this] {
        m_server->log(QStringLiteral("idle close %1: no inbound frame for %2 ms").arg(peer()).arg(m_idle.interval()));
        close(CloseKind::Fin);
    });
    m_stallTimer.setSingleShot(true);
    connect(&m_stallTimer, &QTimer::timeout, this, &ServerConnection::onStallEnded);

    sendFrame(helloFrame(server->helloVersion(), m_cookieIdentities.keys()));
    m_heartbeat.start();
    m_idle.start();
}

ServerConnection::~ServerConnection() = default;

QString ServerConnection::peer() const
{
    // An IPv6 address in brackets, as in a URL: "[::1]:60012", not "::1:60012".
    const QHostAddress address = m_socket->peerAddress();
    const QString host = address.protocol() == QAbstractSocket::IPv6Protocol && !address.toIPv4Address()
        ? QLatin1Char('[') + address.toString() + QLatin1Char(']')
        : address.toString();
    return host + QLatin1Char(':') + QString::number(m_socket->peerPort());
}

QString ServerConnection::closeSummary() const
{
    // The close frame's code and reason, sent or received; none for a socket that just dropped.
    const QWebSocketProtocol::CloseCode code = m_socket->closeCode();
    if (code == QWebSocketProtocol::CloseCodeNormal && m_socket->closeReason().isEmpty())
        return {};
    QString summary = QStringLiteral("close %1").arg(int(code));
    if (!m_socket->closeReason().isEmpty())
        summary += QStringLiteral(" \"%1\"").arg(m_socket->closeReason());
    return summary;
}

void ServerConnection::sendFrame(const QByteArray& frame)
{
    if (m_closed || m_backlogExceeded)
        return;
    // What is already waiting counts, not this frame: one big frame (a snapshot) is no backlog.
    if (m_stallTimer.isActive()) {
        if (backlogExceeded(m_stallQueueBytes + m_socket->bytesToWrite()))
            return;
        m_stallQueue.push_back(frame);
        m_stallQueueBytes += frame.size();
        return;
    }
    // Frames go out at the batch's flush (scheduleFlush()): a reader that keeps up may have more
    // than the limit written in one busy pass, so what the kernel takes now is handed over first.
    if (const qint64 limit = m_server->options().maxSendBacklogBytes; limit > 0 && m_socket->bytesToWrite() > limit)
        m_socket->flush();
    if (backlogExceeded(m_socket->bytesToWrite()))
        return;
    m_socket->sendTextMessage(QString::fromUtf8(frame));
    scheduleFlush();
}

bool ServerConnection::backlogExceeded(qint64 queuedBytes)
{
    // A reader that stopped reading (or a stall that outlasts a busy document) would grow the
    // write buffer without end; past the limit the socket is dropped, as a server out of buffer
    // would. Later, not here: this runs inside a document's broadcast to its viewers, which the
    // close detaches.
    const qint64 limit = m_server->options().maxSendBacklogBytes;
    if (m_backlogExceeded || limit <= 0 || queuedBytes <= limit)
        return m_backlogExceeded;
    m_backlogExceeded = true;
    m_server->log(QStringLiteral("slow reader %1: %2 bytes %3, over the limit of %4; dropping the socket")
                      .arg(peer())
                      .arg(queuedBytes)
                      .arg(m_stallTimer.isActive() ? QStringLiteral("held by a stall") : QStringLiteral("waiting, the peer not reading"))
                      .arg(limit));
    QMetaObject::invokeMethod(this, [this] { close(CloseKind::Reset); }, Qt::QueuedConnection);
    return true;
}

void ServerConnection::scheduleFlush()
{
    // QAbstractSocket writes one buffered block per write notification, which caps a socket at a
    // few thousand frames a second. Flushing once after the current batch of work writes them all,
    // like Netty's writeAndFlush, with one pass per batch rather than one per frame.
    if (m_flushScheduled)
        return;
    m_flushScheduled = true;
    QMetaObject::invokeMethod(
        this,
        [this] {
            m_flushScheduled = false;
            if (!m_closed)
                m_socket->flush();
        },
        Qt::QueuedConnection);
}

void ServerConnection::flushQueue()
{
    while (!m_stallQueue.empty() && !m_closed) {
        const QByteArray frame = std::move(m_stallQueue.front());
        m_stallQueue.pop_front();
        m_socket->sendTextMessage(QString::fromUtf8(frame));
    }
    m_stallQueue.clear();
    m_stallQueueBytes = 0;
    scheduleFlush();
}

void ServerConnection::stall(int milliseconds)
{
    if (m_closed)
        return;
    if (!m_stallTimer.isActive())
        holdInbound();
    m_stallTimer.start(milliseconds);
}

void ServerConnection::onStallEnded()
{
    flushQueue(); // what the server wrote before it froze goes out first
    releaseInbound();
    if (!m_closed)
        m_idle.start(); // the read timeout, frozen with the rest, counts again
}

void ServerConnection::holdInbound()
{
    // QWebSocket answers pings and close frames by itself, so stopping only the writes left a
    // stalled socket that still replied to a client's close (and its pings) within milliseconds.
    // Qt stops reading from the kernel once its buffer holds the one byte allowed here, and
    // blocked signals keep QWebSocket from consuming that byte; from then on a FIN goes unseen
    // too. Limits, all below QWebSocket's reach: until that first byte arrives, a bare FIN is
    // still read (and Qt closes its side at once); data QWebSocket was told of just before is
    // processed (its reads are queued); and a client frame half received when the stall starts
    // trips QWebSocket's 5 s frame timeout (close 1001). The read timeout is frozen meanwhile.
    m_idle.stop();
    if (!m_tcp || m_inboundHeld)
        return;
    m_inboundHeld = true;
    m_readBufferSizeBeforeStall = m_tcp->readBufferSize();
    m_tcp->setReadBufferSize(1);
    m_tcp->blockSignals(true);
}

void ServerConnection::releaseInbound()
{
    if (!m_inboundHeld)
        return;
    m_inboundHeld = false;
    if (!m_tcp)
        return;
    m_tcp->setReadBufferSize(m_readBufferSizeBeforeStall); // Qt reads from the kernel again
    m_tcp->blockSignals(false);
    if (m_closed)
        return;
    if (m_tcp->state() != QAbstractSocket::ConnectedState) {
        // The socket went down while its signals were held (a FIN before any byte, an error).
        m_server->log(QStringLiteral("socket %1 was lost during the stall").arg(peer()));
        onSocketDisconnected();
        return;
    }
    if (m_tcp->bytesAvailable() > 0) {
        // The byte Qt read before it stopped: its readyRead went to blocked signals. Later bytes
        // signal as usual.
        QMetaObject::invokeMethod(m_tcp, "readyRead", Qt::QueuedConnection);
    }
}

void ServerConnection::dropHeldInbound()
{
    if (!m_inboundHeld)
        return;
    m_inboundHeld = false;
    if (!m_tcp)
        return;
    m_tcp->setReadBufferSize(m_readBufferSizeBeforeStall);
    // Closing: what the client sent meanwhile will never be read. Left in the kernel, it would turn
    // the close into a reset (Linux answers a close with unread data with RST), so a clean or FIN
    // close of a stalled socket is drained first, with QWebSocket still kept out of it.
    for (int pass = 0; pass < 16 && m_tcp->state() == QAbstractSocket::ConnectedState && m_tcp->waitForReadyRead(0); ++pass) {
    }
    m_tcp->readAll();
    m_tcp->blockSignals(false);
}

void ServerConnection::touch()
{
    if (!m_closed)
        m_idle.start();
}

void ServerConnection::close(CloseKind kind)
{
    if (m_closed)
        return;
    m_heartbeat.stop();
    m_idle.stop();
    // Closing writes and then watches the socket: a stall's hold on it ends here.
    m_stallTimer.stop();
    m_stallQueue.clear();
    m_stallQueueBytes = 0;
    dropHeldInbound();
    switch (kind) {
    case CloseKind::CloseFrame:
        m_socket->close(QWebSocketProtocol::CloseCodeNormal, QStringLiteral("closed by the server"));
        break;
    case CloseKind::Fin:
        // What Netty's ctx.close() does: written frames go out, then FIN, no close frame.
        m_socket->flush();
        if (m_tcp)
            m_tcp->disconnectFromHost();
        else
            m_socket->abort();
        break;
    case CloseKind::Reset:
        m_resetting = true; // a reset it is: no lingering close keeps the socket
        if (m_tcp) {
            const linger hard { 1, 0 };
            ::setsockopt(static_cast<int>(m_tcp->socketDescriptor()), SOL_SOCKET, SO_LINGER, &hard, sizeof hard);
        }
        m_socket->abort();
        break;
    }
    // Streams end now, whatever the peer does with the close.
    onSocketDisconnected();
}

void ServerConnection::onSocketDisconnected()
{
    if (m_closed)
        return;
    m_closed = true;
    m_heartbeat.stop();
    m_idle.stop();
    m_stallTimer.stop();
    m_stallQueue.clear();
    m_stallQueueBytes = 0;
    dropHeldInbound();
    // Socket loss ends every stream of the socket; nothing is kept for resumption (7.3).
    const QHash<qint64, Viewer*> streams = std::exchange(m_streams, {});
    for (Viewer* viewer : streams) {
        viewer->connection = nullptr; // nothing more is written to a closed socket
        viewer->document->detach(viewer);
    }
    Q_EMIT closed(m_serial);
}

void ServerConnection::protocolError(int code)
{
    sendFrame(disconnectedFrame(code));
    close(CloseKind::Fin);
}

void ServerConnection::onBinary()
{
    if (m_closed)
        return;
    protocolError(ErrorCode::BinaryFrame);
}

void ServerConnection::onHeartbeat()
{
    if (m_closed || m_stallTimer.isActive())
        return;
    const qint64 age = m_created.elapsed();
    const bool young = age < kYoungSocketMs;
    const bool recent = m_lastRequestMs >= 0 && age - m_lastRequestMs < kRecentRequestMs;
    if (!(young || recent)) {
        sendKeepaliveFailureNow();
        return;
    }
    sendFrame(pingFrame(age, m_latency));
}

void ServerConnection::sendKeepaliveFailureNow()
{
    m_server->log(QStringLiteral("keepalive-failure %1").arg(peer()));
    sendFrame(keepaliveFailureFrame());
    close(CloseKind::Fin);
}

void ServerConnection::onText(const QString& text)
{
    if (m_closed)
        return;
    touch();
    QJsonParseError error;
    const QByteArray frame = text.toUtf8();
    const QJsonDocument document = QJsonDocument::fromJson(frame, &error);
    if (error.error != QJsonParseError::NoError || !document.isObject()) {
        protocolError(ErrorCode::Uncaught);
        return;
    }
    QJsonObject request = document.object();
    if (request.contains(QLatin1String("pong"))) {
        // latency = now - created - ping; a pong without `ping` is an uncaught error in the real
        // server, while Jackson reads a null `ping` as 0.
        const QJsonValue ping = request.value(QLatin1String("ping"));
        if (ping.isUndefined()) {
            protocolError(ErrorCode::Uncaught);
            return;
        }
        if (m_ignorePongsClock.isValid() && m_ignorePongsClock.elapsed() < m_ignorePongsMs)
            return; // the ignore-pongs fault
        const qint64 pingMs = ping.isDouble() ? truncatedInteger(ping.toDouble()) : ping.toString().toLongLong();
        m_latency = m_created.elapsed() - pingMs;
        return;
    }
    const std::optional<qint32> id = requestId(request, frame);
    if (!id) {
        protocolError(ErrorCode::NoId);
        return;
    }
    m_lastRequestMs = m_created.elapsed();
    readNumbersAsJackson(request, frame);
    handleRequest(request, *id);
}

void ServerConnection::reply(qint64 id, const QByteArray& response)
{
    sendFrame(finishFrame(id, response));
}

void ServerConnection::fail(qint64 id, int code)
{
    sendFrame(failureFrame(id, code));
}

void ServerConnection::handleRequest(const QJsonObject& request, qint64 id)
{
    const std::optional<QString> method = stringParam(request, QLatin1String("method"));
    if (!method) {
        fail(id, ErrorCode::NoMethod);
        return;
    }
    const QString& m = *method;
    if (m == QLatin1String("connection/create"))
        connectionCreate(request, id);
    else if (m == QLatin1String("connection/send"))
        connectionSend(request, id, false);
    else if (m == QLatin1String("connection/send-once"))
        connectionSend(request, id, true);
    else if (m == QLatin1String("connection/update"))
        connectionUpdate(request, id);
    else if (m == QLatin1String("connection/end"))
        connectionEnd(request, id);
    else if (m == QLatin1String("connection/can-attach"))
        connectionCanAttach(request, id);
    else if (m == QLatin1String("connection/attach"))
        connectionAttach(request, id);
    else if (m == QLatin1String("documents/create-dedupe"))
        reply(id, "{\"dedupe\":\"" + QUuid::createUuid().toString(QUuid::WithoutBraces).toLatin1() + "\"}");
    else if (m == QLatin1String("document/create"))
        documentCreate(request, id);
    else if (m == QLatin1String("message/direct-send"))
        directSend(request, id, false);
    else if (m == QLatin1String("message/direct-send-once"))
        directSend(request, id, true);
    else if (m == QLatin1String("probe"))
        probe(request, id);
    else if (m == QLatin1String("documents/hash-password"))
        hashPassword(request, id);
    else if (m == QLatin1String("configure/make-or-get-asset-key"))
        makeOrGetAssetKey(id);
    else if (m == QLatin1String("stats"))
        stats(id);
    else
        fail(id, ErrorCode::MethodNotFound);
}

void ServerConnection::connectionCreate(const QJsonObject& request, qint64 id)
{
    const DocumentAddress address = readAddress(request);
    if (address.error)
        return fail(id, address.error);
    const QJsonObject viewerState = objectParam(request, QLatin1String("viewer-state")).value_or(QJsonObject());
    const ResolvedAddress resolved = resolveAddress(address, m_cookieIdentities);
    noteAuthenticated(address.identity, resolved.principal);
    if (resolved.error)
        return fail(id, resolved.error);
    if (const int refusal = m_server->takeRefusal()) {
        m_server->log(QStringLiteral("refused connection/create %1 %2/%3 with %4").arg(peer(), resolved.space, address.key).arg(refusal));
        return fail(id, refusal);
    }
    DemoDocument* document = m_server->documentFor(resolved.space, address.key);
    if (Viewer* previous = m_streams.take(id))
        previous->document->detach(previous); // the same id again replaces the stream, as the router's map does
    int error = 0;
    Viewer* viewer = document->attach(this, id, resolved.principal, viewerState, &error);
    if (!viewer)
        return fail(id, error);
    m_streams.insert(id, viewer);
}

void ServerConnection::connectionSend(const QJsonObject& request, qint64 id, bool once)
{
    const auto connection = integerParam(request, QLatin1String("connection"));
    if (!connection)
        return fail(id, ErrorCode::MissingConnection);
    const auto channel = stringParam(request, QLatin1String("channel"));
    if (!channel)
        return fail(id, ErrorCode::MissingChannel);
    if (const int code = validateChannel(*channel))
        return fail(id, code);
    // Absent or null: no deduplication; "" is a key like any other (LivingDocument skips only a null one).
    const std::optional<QString> dedupe = once ? stringParam(request, QLatin1String("dedupe")) : std::nullopt;
    const auto message = messageParam(request, QLatin1String("message"));
    if (!message)
        return fail(id, ErrorCode::MissingMessage);
    Viewer* viewer = m_streams.value(*connection);
    if (!viewer)
        return fail(id, once ? ErrorCode::UnknownConnectionSendOnce : ErrorCode::UnknownConnectionSend);
    sendMessage(viewer->document, viewer->principal, *channel, dedupe, *message, id, once);
}

void ServerConnection::sendMessage(DemoDocument* document, const Principal& who, const QString& channel, const std::optional<QString>& dedupe,
    const QJsonValue& message, qint64 id, bool once)
{
    const auto acknowledge = [this, id](qint64 seq) {
        const QByteArray ack = seqAnswer(id, seq);
        if (m_delayedAcks <= 0)
            return sendFrame(ack);
        m_delayedAcks -= 1;
        QTimer::singleShot(m_ackDelayMs, this, [this, ack] { sendFrame(ack); });
    };
    const qint64 result = once ? document->sendOnce(who, channel, dedupe, message, acknowledge) : document->send(who, channel, message, acknowledge);
    if (result < 0)
        fail(id, static_cast<int>(-result));
}

void ServerConnection::connectionUpdate(const QJsonObject& request, qint64 id)
{
    const auto connection = integerParam(request, QLatin1String("connection"));
    if (!connection)
        return fail(id, ErrorCode::MissingConnection);
    const std::optional<QJsonObject> viewerState = objectParam(request, QLatin1String("viewer-state"));
    Viewer* viewer = m_streams.value(*connection);
    if (!viewer)
        return fail(id, ErrorCode::UnknownConnectionUpdate);
    reply(id, QByteArrayLiteral("{}"));
    // Adama ingests the update into the viewer's state field by field: what it leaves out stays.
    QJsonObject merged = viewer->viewerState;
    if (viewerState)
        mergeJsonPatch(merged, *viewerState);
    viewer->document->updateViewerState(viewer, merged);
}

void ServerConnection::connectionEnd(const QJsonObject& request, qint64 id)
{
    const auto connection = integerParam(request, QLatin1String("connection"));
    if (!connection)
        return fail(id, ErrorCode::MissingConnection);
    Viewer* viewer = m_streams.take(*connection);
    if (!viewer)
        return fail(id, ErrorCode::UnknownConnectionEnd);
    reply(id, QByteArrayLiteral("{}"));
    sendFrame(finishFrame(*connection));
    viewer->document->detach(viewer);
}

void ServerConnection::connectionCanAttach(const QJsonObject& request, qint64 id)
{
    const auto connection = integerParam(request, QLatin1String("connection"));
    if (!connection)
        return fail(id, ErrorCode::MissingConnection);
    if (!m_streams.contains(*connection))
        return fail(id, ErrorCode::UnknownConnectionCanAttach);
    // No demo document takes attachments (an Adama document without @can_attach).
    reply(id, QByteArrayLiteral("{\"yes\":false}"));
}

void ServerConnection::connectionAttach(const QJsonObject& request, qint64 id)
{
    const auto connection = integerParam(request, QLatin1String("connection"));
    if (!connection)
        return fail(id, ErrorCode::MissingConnection);
    // In the order the router reads them; `size` is a long, the others strings.
    static const std::pair<const char*, int> required[] = { { "asset-id", 476156 }, { "filename", 470028 },
        { "content-type", 455691 }, { "size", 477179 }, { "digest-md5", 445437 }, { "digest-sha384", 406525 } };
    for (const auto& [name, code] : required) {
        const QLatin1String parameter(name);
        if (parameter == QLatin1String("size") ? !integerParam(request, parameter) : !stringParam(request, parameter))
            return fail(id, code);
    }
    Viewer* viewer = m_streams.value(*connection);
    if (!viewer)
        return fail(id, ErrorCode::UnknownConnectionAttach);
    // Adama runs the attach transaction for a connected viewer without asking can-attach again
    // (that gates attachment/start): {"seq":N}, as a send answers.
    viewer->document->attachAsset([this, id](qint64 seq) { sendFrame(seqAnswer(id, seq)); });
}

void ServerConnection::documentCreate(const QJsonObject& request, qint64 id)
{
    const DocumentAddress address = readAddress(request);
    if (address.error)
        return fail(id, address.error);
    const auto arg = objectParam(request, QLatin1String("arg"));
    if (!arg)
        return fail(id, ErrorCode::MissingArg);
    const ResolvedAddress resolved = resolveAddress(address, m_cookieIdentities);
    noteAuthenticated(address.identity, resolved.principal);
    if (resolved.error)
        return fail(id, resolved.error);
    if (!m_server->createDocument(resolved.space, address.key, *arg))
        return fail(id, ErrorCode::DocumentAlreadyCreated);
    reply(id, QByteArrayLiteral("{}"));
}

void ServerConnection::directSend(const QJsonObject& request, qint64 id, bool once)
{
    const DocumentAddress address = readAddress(request);
    if (address.error)
        return fail(id, address.error);
    // Absent or null: no deduplication; "" is a key like any other (LivingDocument skips only a null one).
    const std::optional<QString> dedupe = once ? stringParam(request, QLatin1String("dedupe")) : std::nullopt;
    const auto channel = stringParam(request, QLatin1String("channel"));
    if (!channel)
        return fail(id, ErrorCode::MissingChannel);
    if (const int code = validateChannel(*channel))
        return fail(id, code);
    const auto message = messageParam(request, QLatin1String("message"));
    if (!message)
        return fail(id, ErrorCode::MissingMessage);
    const ResolvedAddress resolved = resolveAddress(address, m_cookieIdentities);
    noteAuthenticated(address.identity, resolved.principal);
    if (resolved.error)
        return fail(id, resolved.error);
    DemoDocument* document = m_server->document(resolved.space, address.key);
    if (!document)
        return fail(id, ErrorCode::DocumentNotFound);
    if (!document->canSendWhileDisconnected())
        return fail(id, ErrorCode::CantSendNotConnected);
    sendMessage(document, resolved.principal, *channel, dedupe, *message, id, once);
}

void ServerConnection::probe(const QJsonObject& request, qint64 id)
{
    const auto identity = stringParam(request, QLatin1String("identity"));
    if (!identity)
        return fail(id, ErrorCode::MissingIdentity);
    const IdentityResult who = resolveIdentity(*identity, m_cookieIdentities);
    if (who.error)
        return fail(id, who.error);
    noteAuthenticated(*identity, who.principal);
    reply(id, QByteArrayLiteral("{}"));
}

void ServerConnection::hashPassword(const QJsonObject& request, qint64 id)
{
    const auto password = stringParam(request, QLatin1String("password"));
    if (!password)
        return fail(id, ErrorCode::MissingPassword);
    reply(id, "{\"passwordHash\":\"" + passwordHash(*password) + "\"}");
}

void ServerConnection::noteAuthenticated(const QString& identity, const Principal& principal)
{
    if (principal.isValid() && principal.authority != QLatin1String("anonymous"))
        m_cachedIdentities.insert(identity);
}

void ServerConnection::stats(qint64 id)
{
    // Adama's handler (GlobalConnectionRouter's StatsRequest): five items, each value a string or
    // null, in this order. Its transport context takes the Origin header, else "https://" + Host,
    // and the peer's address with its port, unless X-Forwarded-For names another.
    const QNetworkRequest& upgrade = m_socket->request();
    QJsonValue origin = QJsonValue::Null;
    if (upgrade.hasRawHeader("Origin"))
        origin = QString::fromUtf8(upgrade.rawHeader("Origin"));
    else if (upgrade.hasRawHeader("Host"))
        origin = QString(QStringLiteral("https://") + QString::fromUtf8(upgrade.rawHeader("Host")));
    const QByteArray forwardedFor = upgrade.rawHeader("X-Forwarded-For");
    const QString remoteIp = forwardedFor.isEmpty() ? peer() : QString::fromUtf8(forwardedFor);
    // Written field by field: Jackson keeps Adama's order (key, value, type), QJsonObject would sort.
    const auto item = [&](const char* key, const QJsonValue& value, const char* type) {
        sendFrame(streamFrame(id, "{\"statKey\":" + compactJson(QJsonValue(QLatin1String(key))) + ",\"statValue\":" + compactJson(value)
            + ",\"statType\":" + compactJson(QJsonValue(QLatin1String(type))) + '}'));
    };
    item("created", QString::number(m_createdEpochMs), "timestamp");
    item("cached-identities-count", QString::number(m_cachedIdentities.size()), "int");
    item("origin", origin, "string");
    item("remote-ip", remoteIp, "string");
    item("cookie-identities-count", QString::number(m_cookieIdentities.size()), "int");
    sendFrame(finishFrame(id));
}

void ServerConnection::makeOrGetAssetKey(qint64 id)
{
    // The key belongs to the socket: the same one for every later call on it, as in Adama.
    if (m_assetKey.isEmpty())
        m_assetKey = randomToken(16);
    reply(id, "{\"assetKey\":\"" + m_assetKey + "\"}");
}

void ServerConnection::failStream(Viewer* viewer, int code)
{
    const qint64 id = viewer->requestId;
    if (m_streams.value(id) != viewer)
        return;
    m_streams.remove(id);
    fail(id, code);
    viewer->document->detach(viewer);
}

void ServerConnection::forceDisconnect(Viewer* viewer)
{
    if (m_streams.value(viewer->requestId) != viewer)
        return;
    viewer->document->sendSideItem(viewer, QByteArrayLiteral("{\"force-disconnect\":true}"));
    failStream(viewer, ErrorCode::AuthDisconnected);
}

void ServerConnection::delayAcks(int count, int milliseconds)
{
    m_delayedAcks += count;
    m_ackDelayMs = milliseconds;
}

void ServerConnection::ignorePongs(int milliseconds)
{
    m_ignorePongsClock.start();
    m_ignorePongsMs = milliseconds;
}

}
