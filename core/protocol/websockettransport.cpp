#include "core/protocol/websockettransport.h"

#include "core/logging.h"

#include <QCoreApplication>
#include <QPointer>
#include <QRegularExpression>
#include <QSslError>
#include <QWebSocket>

#include <utility>

namespace deltascope {

namespace {

// Qt words a failed upgrade for its own developers ("QWebSocketPrivate::processHandshake:
// Unhandled http status code: 404 (Not Found)."); the user needs what the server answered.
QString handshakeErrorText(const QString& qtText, const QUrl& url)
{
    static const QRegularExpression status(QStringLiteral(R"(Unhandled http status code: (\d+) \(([^)]*)\))"));
    const QRegularExpressionMatch match = status.match(qtText);
    if (!match.hasMatch()) {
        QString text = qtText;
        text.remove(QRegularExpression(QStringLiteral(R"(^QWebSocketPrivate::\w+: )")));
        if (text.endsWith(QLatin1Char('.')))
            text.chop(1);
        // A plain ws:// server closes a TLS handshake it cannot read, or answers it in plain HTTP
        // (OpenSSL: "wrong version number"); Qt says only that.
        if (url.scheme() == QLatin1String("wss")
            && (text.contains(QLatin1String("remote host closed"), Qt::CaseInsensitive) || text.contains(QLatin1String("wrong version number"))))
            text += QStringLiteral(" (a wss:// URL: does the server speak TLS on this port? A plain ws:// server closes a TLS handshake)");
        return text;
    }
    const int code = match.captured(1).toInt();
    QString hint;
    if (code >= 300 && code < 400)
        hint = QStringLiteral("a redirect, which WebSocket clients do not follow: connect to where it points");
    else if (code == 401 || code == 403)
        hint = QStringLiteral("the server refused the upgrade itself, before any Adama identity was sent");
    else if ((code == 404 || (code >= 200 && code < 300)) && url.path() != QLatin1String("/~s"))
        hint = QStringLiteral("no WebSocket endpoint at %1; Adama serves it at /~s").arg(url.path().isEmpty() ? QStringLiteral("/") : url.path());
    else if (code == 404 || (code >= 200 && code < 300))
        hint = QStringLiteral("a web server answered, not an Adama endpoint: is the host or port right?");
    else if (code >= 500)
        hint = QStringLiteral("the server failed; its log may say why");
    return QStringLiteral("the server answered the WebSocket upgrade with HTTP %1 %2 instead of 101 Switching Protocols%3")
        .arg(match.captured(1), match.captured(2), hint.isEmpty() ? QString() : QStringLiteral(" (%1)").arg(hint));
}

// QWebSocket closes the connection by itself, with a close frame of its own, when the peer sends a
// frame RFC 6455 forbids (invalid UTF-8, reserved bits or opcodes, a frame over the size allowed, a
// malformed close frame). No signal says so: aboutToClose() comes as for the peer's own close
// frame. Its close reason is then one of these texts of Qt's (Qt 6 wording; %1 is a number or an
// error text). A Qt-based peer words its own refusals the same way, but of what this client sends
// (well-formed frames of valid UTF-8, by QWebSocket) it can only refuse the size.
enum class QtRefusal { None, Frame, Size };
QtRefusal qtRefusalOf(const QString& reason)
{
    static const struct {
        const char* text;
        QtRefusal kind;
    } kRefusals[] = {
        { "Rsv field is non-zero", QtRefusal::Frame },
        { "Used reserved opcode", QtRefusal::Frame },
        { "Control frame is larger than 125 bytes", QtRefusal::Frame },
        { "Control frames cannot be fragmented", QtRefusal::Frame },
        { "Lengths smaller than 126 must be expressed as one byte.", QtRefusal::Frame },
        { "Highest bit of payload length is not 0.", QtRefusal::Frame },
        { "Lengths smaller than 65536 (2^16) must be expressed as 2 bytes.", QtRefusal::Frame },
        { "Maximum framesize exceeded.", QtRefusal::Size },
        { "Received message is too big.", QtRefusal::Size },
        { "Received Continuation frame, while there is nothing to continue.", QtRefusal::Frame },
        { "All data frames after the initial data frame must have opcode 0 (continuation).", QtRefusal::Frame },
        { "Invalid UTF-8 code encountered.", QtRefusal::Frame },
        { "Invalid opcode detected: %1", QtRefusal::Frame },
        { "Payload of close frame is too small.", QtRefusal::Frame },
        { "Invalid close code %1 detected.", QtRefusal::Frame },
    };
    // The texts as Qt words them here: its own, or a translation it loaded.
    static const char* const kContexts[] = { "QWebSocketFrame", "QWebSocketDataProcessor" };
    const auto matches = [&reason](const QString& text) {
        const qsizetype hole = text.indexOf(QLatin1String("%1"));
        if (hole < 0)
            return reason == text;
        const QStringView head = QStringView(text).left(hole);
        const QStringView tail = QStringView(text).mid(hole + 2);
        return reason.size() > text.size() - 2 && reason.startsWith(head) && reason.endsWith(tail);
    };
    for (const auto& refusal : kRefusals) {
        if (matches(QString::fromLatin1(refusal.text)))
            return refusal.kind;
        for (const char* context : kContexts) {
            if (matches(QCoreApplication::translate(context, refusal.text)))
                return refusal.kind;
        }
    }
    return QtRefusal::None;
}

}

// The socket and everything done on its thread. It only posts to the transport, which outlives it:
// the transport's destructor deletes it on its thread and stops the thread before anything else.
class QWebSocketTransport::SocketWorker final : public QObject
{
public:
    explicit SocketWorker(QWebSocketTransport* owner)
        : m_owner(owner)
    {
    }
    ~SocketWorker() override { discard(); }

    void open(quint64 connection, const QUrl& url, bool insecure, std::function<qint64()> readClock, std::function<quint64()> arrivalMark)
    {
        flush(); // what the previous connection delivered goes with its own number
        discard();
        m_connection = connection;
        m_insecure = insecure;
        m_readClock = std::move(readClock);
        m_arrivalMark = std::move(arrivalMark);
        m_opened = false;
        m_closeHandshake = false;
        m_refusedFrame = false;
        m_largestSent = 0;
        auto* socket = new QWebSocket(QString(), QWebSocketProtocol::VersionLatest, this);
        m_socket = socket;
        socket->setMaxAllowedIncomingMessageSize(quint64(kHardLimitBytes));
        socket->setMaxAllowedIncomingFrameSize(quint64(kHardLimitBytes));

        connect(socket, &QWebSocket::connected, this, [this, socket]() {
            if (socket != m_socket)
                return;
            m_opened = true;
            deliver({ Inbound::Kind::Opened, {}, 0, {}, false, {} });
        });
        connect(socket, &QWebSocket::textMessageReceived, this, [this, socket](const QString& message) {
            if (socket != m_socket)
                return;
            // The UTF-8 work here, off the owner's thread: for a large frame it is most of the cost.
            deliverFrame(Inbound::Kind::Text, message.toUtf8());
        });
        connect(socket, &QWebSocket::binaryMessageReceived, this, [this, socket](const QByteArray& bytes) {
            if (socket != m_socket)
                return;
            deliverFrame(Inbound::Kind::Binary, bytes);
        });
#ifndef QT_NO_SSL
        connect(socket, &QWebSocket::sslErrors, this, [this, socket](const QList<QSslError>& errors) {
            if (socket != m_socket)
                return;
            QStringList texts;
            for (const QSslError& error : errors)
                texts << error.errorString();
            // Decided here and now: Qt reads the verdict before this slot returns.
            if (m_insecure)
                socket->ignoreSslErrors();
            deliver({ Inbound::Kind::TlsErrors, {}, 0, texts, m_insecure, {} });
        });
#endif
        // A close frame from the peer makes QWebSocket answer it, and aboutToClose() comes first;
        // a connection that just ends (a reset, a FIN without a close frame) has none. Our own
        // close() disconnects this before it starts the handshake. QWebSocket also starts one
        // itself for a frame it refuses (see isQtFrameRefusal): that code is this client's.
        connect(socket, &QWebSocket::aboutToClose, this, [this, socket]() {
            if (socket != m_socket)
                return;
            m_closeHandshake = true;
            // A size refusal is the peer's (a Qt server refusing what we sent) when this client
            // sent a frame over what an Adama server takes; ours otherwise (frames that big from
            // a server are what this client takes, up to kHardLimitBytes).
            const QtRefusal refusal = qtRefusalOf(socket->closeReason());
            m_refusedFrame = refusal == QtRefusal::Frame || (refusal == QtRefusal::Size && m_largestSent <= kServerFrameLimitBytes);
        });
        connect(socket, &QWebSocket::disconnected, this, [this, socket]() {
            if (socket != m_socket)
                return;
            TransportCloseInfo info;
            info.wasOpen = m_opened;
            // QWebSocket reports 1000 (its initial value) when no close frame came: only a code
            // the peer sent is one (TransportCloseInfo::closeCode).
            info.closeCode = m_closeHandshake && !m_refusedFrame ? int(socket->closeCode()) : 0;
            info.reason = socket->closeReason();
            if (m_refusedFrame) {
                QString refusal = socket->closeReason();
                if (refusal.endsWith(QLatin1Char('.')))
                    refusal.chop(1);
                info.error = true;
                info.reason = QStringLiteral("the peer sent a frame the WebSocket protocol (RFC 6455) forbids, so this client closed the connection "
                                             "with code %1: %2")
                                  .arg(int(socket->closeCode()))
                                  .arg(refusal);
            } else if (socket->error() != QAbstractSocket::UnknownSocketError || !m_opened) {
                info.error = true;
                if (info.reason.isEmpty())
                    info.reason = handshakeErrorText(socket->errorString(), socket->requestUrl());
            }
            if (info.reason.isEmpty())
                info.reason = m_opened ? QStringLiteral("closed by peer") : QStringLiteral("could not connect");
            m_opened = false;
            m_socket = nullptr;
            socket->disconnect(this);
            socket->deleteLater();
            deliver({ Inbound::Kind::Closed, {}, 0, {}, false, info }); // after the frames that came before it
        });
        socket->open(url);
    }

    void close(CloseMode mode)
    {
        if (!m_socket || mode != CloseMode::Clean || m_socket->state() != QAbstractSocket::ConnectedState) {
            discard();
            return;
        }
        QWebSocket* socket = std::exchange(m_socket, nullptr);
        socket->disconnect(this);
        m_opened = false;
        socket->close(QWebSocketProtocol::CloseCodeNormal);
        // The close handshake completes on its own; the socket is gone once it has.
        connect(socket, &QWebSocket::disconnected, socket, &QObject::deleteLater);
        // A peer that never answers the close does not keep it for ever.
        QTimer::singleShot(kCloseHandshakeMs, socket, &QObject::deleteLater);
    }

    void send(quint64 connection, const QByteArray& utf8)
    {
        // Never onto a newer connection than the one the owner sent it on.
        if (m_socket && m_opened && connection == m_connection) {
            m_largestSent = std::max(m_largestSent, qint64(utf8.size()));
            m_socket->sendTextMessage(QString::fromUtf8(utf8));
        }
    }

private:
    // A text frame's UTF-8 or a binary frame, or its head and size when over kMaxFrameBytes.
    void deliverFrame(Inbound::Kind kind, QByteArray bytes)
    {
        if (bytes.size() > kMaxFrameBytes)
            deliver({ Inbound::Kind::Oversized, bytes.left(kHeadBytes), bytes.size(), {}, false, {} });
        else
            deliver({ kind, std::move(bytes), 0, {}, false, {} });
    }

    // Collected while Qt reads, and posted once it has: one event for the owner per read, not one
    // per frame.
    void deliver(Inbound item)
    {
        {
            // Marked and counted as in flight at once: the owner reads the mark under the same lock
            // when nothing waits (recordableBelow()), so no frame can slip in between with a lower one.
            QMutexLocker lock(&m_owner->m_inFlight.lock);
            if (m_arrivalMark) {
                item.mark = m_arrivalMark();
                item.markedOnRead = true;
            }
            std::deque<InFlight::Batch>& batches = m_owner->m_inFlight.batches;
            if (m_batch.empty())
                batches.push_back({ m_connection, 0, item.mark });
            ++batches.back().items;
        }
        // After the mark: a frame whose mark counts a report is read no earlier than the report was
        // timed (the owner times a report before it counts it).
        if (m_readClock)
            item.readNs = m_readClock();
        m_batch.push_back(std::move(item));
        if (!m_flushPosted) {
            m_flushPosted = true;
            QMetaObject::invokeMethod(this, &SocketWorker::flush, Qt::QueuedConnection);
        }
    }

    void flush()
    {
        m_flushPosted = false;
        if (m_batch.empty())
            return;
        QMetaObject::invokeMethod(
            m_owner, [owner = m_owner, connection = m_connection, items = std::exchange(m_batch, {})]() mutable {
                owner->receive(connection, std::move(items));
            },
            Qt::QueuedConnection);
    }

    // Abandons the current socket without a word: the owner has moved on from it.
    void discard()
    {
        if (!m_socket)
            return;
        QWebSocket* socket = std::exchange(m_socket, nullptr);
        socket->disconnect(this);
        socket->abort();
        socket->deleteLater();
        m_opened = false;
    }

    QWebSocketTransport* const m_owner;
    QWebSocket* m_socket = nullptr;
    quint64 m_connection = 0; // the owner's number of the open() that made m_socket
    bool m_opened = false;
    bool m_closeHandshake = false; // the peer's close frame came (see aboutToClose above)
    bool m_refusedFrame = false; // the close handshake is QWebSocket's own, for a frame it refused
    qint64 m_largestSent = 0; // the largest text frame sent on this socket (bytes)
    bool m_insecure = false;
    // The owner's read clock and arrival mark, as of the open() that made m_socket.
    std::function<qint64()> m_readClock;
    std::function<quint64()> m_arrivalMark;
    std::vector<Inbound> m_batch;
    bool m_flushPosted = false;
};

QWebSocketTransport::QWebSocketTransport(QObject* parent)
    : Transport(parent)
    , m_worker(new SocketWorker(this))
{
    m_resume.setSingleShot(true);
    m_resume.setInterval(0);
    connect(&m_resume, &QTimer::timeout, this, [this] {
        m_slice.invalidate();
        handOn();
    });
    m_thread.setObjectName(QStringLiteral("websocket"));
    m_worker->moveToThread(&m_thread);
    m_thread.start();
}

QWebSocketTransport::~QWebSocketTransport()
{
    // The worker and its socket go first, on their thread; once it has stopped, nothing posts here.
    // What it posted already is dropped with this object. (A thread whose loop has ended, as at an
    // application's exit, runs nothing more: the worker is deleted from here then.)
    if (m_thread.isRunning())
        QMetaObject::invokeMethod(m_worker, [worker = m_worker] { delete worker; }, Qt::BlockingQueuedConnection);
    else
        delete m_worker;
    m_thread.quit();
    m_thread.wait();
}

void QWebSocketTransport::dropInbox()
{
    // Frames and a close by the peer may still wait here, or be on their way from the socket's
    // thread: what the owner abandoned is not handed on. What the owner's other thread did while
    // they waited was held back for after them, and goes now.
    if (pendingInbound() == 0)
        return;
    m_inbox.clear(); // and what is in flight is dropped when it comes (its connection is over)
    beforeEachEvent(kNoLimit);
}

void QWebSocketTransport::open(const QUrl& url)
{
    dropInbox();
    m_open = false;
    m_peerClosed = false;
    const quint64 connection = ++m_connection;
    qCDebug(lcProtocol) << "opening" << url.toString(QUrl::RemoveUserInfo);
    QMetaObject::invokeMethod(
        m_worker,
        [worker = m_worker, connection, url, insecure = m_insecure, readClock = m_readClock, mark = m_arrivalMark]() mutable {
            worker->open(connection, url, insecure, std::move(readClock), std::move(mark));
        },
        Qt::QueuedConnection);
}

void QWebSocketTransport::close(CloseMode mode)
{
    // As if the socket had stopped reading: nothing more is handed on, not even a close by the
    // peer that came before this one (closed() is never said for a close the owner asked for).
    dropInbox();
    m_open = false;
    m_peerClosed = false;
    ++m_connection;
    QMetaObject::invokeMethod(m_worker, [worker = m_worker, mode] { worker->close(mode); }, Qt::QueuedConnection);
}

bool QWebSocketTransport::sendText(const QByteArray& utf8)
{
    if (!isOpen())
        return false;
    QMetaObject::invokeMethod(
        m_worker, [worker = m_worker, connection = m_connection, utf8] { worker->send(connection, utf8); }, Qt::QueuedConnection);
    return true;
}

bool QWebSocketTransport::isOpen() const
{
    // False as soon as the peer's close is in, while the frames before it are still handed on: the
    // socket is gone, and nothing sent would reach the peer.
    return m_open && !m_peerClosed;
}

qsizetype QWebSocketTransport::pendingInbound() const
{
    qsizetype count = qsizetype(m_inbox.size());
    QMutexLocker lock(&m_inFlight.lock);
    for (const InFlight::Batch& batch : m_inFlight.batches) {
        if (batch.connection == m_connection)
            count += batch.items;
    }
    return count;
}

quint64 QWebSocketTransport::recordableBelow(bool* framesWait) const
{
    if (framesWait)
        *framesWait = true;
    if (!m_inbox.empty())
        return m_inbox.front().mark;
    QMutexLocker lock(&m_inFlight.lock);
    for (const InFlight::Batch& batch : m_inFlight.batches) {
        // A batch not marked on read is marked when it arrives, at least as high as the mark now.
        if (batch.connection == m_connection)
            return batch.firstMark != kNoLimit ? batch.firstMark : arrivalMark();
    }
    if (framesWait)
        *framesWait = false;
    return arrivalMark(); // read under the lock the socket's thread marks under
}

void QWebSocketTransport::receive(quint64 connection, std::vector<Inbound> items)
{
    {
        // This batch is the oldest in flight: batches come in the order the socket's thread began them.
        QMutexLocker lock(&m_inFlight.lock);
        if (!m_inFlight.batches.empty())
            m_inFlight.batches.pop_front();
    }
    if (connection != m_connection)
        return; // the owner opened or closed since
    // The owner's hook runs when an item is handed on, where its place in the log is decided; the
    // mark keeps what the owner's other thread does while the item waits for after it. Arrival is
    // when the socket's thread read the item, when the mark was set before open(); else when its
    // batch reaches this thread.
    const quint64 mark = arrivalMark();
    for (Inbound& item : items) {
        if (item.kind == Inbound::Kind::Closed)
            m_peerClosed = true;
        if (!item.markedOnRead)
            item.mark = mark;
        m_inbox.push_back(std::move(item));
    }
    handOn();
}

void QWebSocketTransport::handOn()
{
    // A slot that handles a frame may close or reopen this transport (which empties the inbox), or
    // spin an event loop that delivers more frames: those wait for the loop below, in order.
    if (m_handingOn || m_resume.isActive())
        return;
    m_handingOn = true;
    if (!m_slice.isValid()) {
        // This turn's slice starts with its first frame and ends with the turn.
        m_slice.start();
        QMetaObject::invokeMethod(this, [this] { m_slice.invalidate(); }, Qt::QueuedConnection);
    }
    // A slot may delete this transport (its owner going away): then nothing here is touched again.
    const QPointer<QWebSocketTransport> alive(this);
    bool handedOn = false;
    while (!m_inbox.empty()) {
        // An invalid slice: an event loop a slot ran ended this turn's slice under it.
        if (!m_slice.isValid() || m_slice.elapsed() >= kSliceMs) {
            // The rest in the next turn, after what else the event loop has to do (painting, timers).
            m_resume.start();
            break;
        }
        const Inbound item = std::move(m_inbox.front());
        m_inbox.pop_front();
        beforeEachEvent(item.mark);
        m_frameReadNs = item.readNs;
        switch (item.kind) {
        case Inbound::Kind::Opened:
            m_open = true;
            Q_EMIT opened();
            break;
        case Inbound::Kind::Text:
            Q_EMIT textReceived(item.bytes);
            break;
        case Inbound::Kind::Binary:
            Q_EMIT binaryReceived(item.bytes);
            break;
        case Inbound::Kind::Oversized:
            Q_EMIT oversized(item.size, item.bytes);
            break;
        case Inbound::Kind::TlsErrors:
            Q_EMIT tlsErrors(item.tlsErrors, item.tlsIgnored);
            break;
        case Inbound::Kind::Closed:
            m_open = false;
            Q_EMIT closed(item.close);
            break;
        }
        if (!alive)
            return;
        m_frameReadNs = -1;
        handedOn = true;
    }
    m_handingOn = false;
    // The last waiting item is handed on: what the owner's other thread did since it arrived goes
    // now, before anything that comes later (held back, it could wait for the next frame for long),
    // except what came after items the socket's thread has read and not yet handed over.
    if (handedOn && m_inbox.empty())
        beforeEachEvent(recordableBelow());
}

}
