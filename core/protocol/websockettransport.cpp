#include "core/protocol/websockettransport.h"

#include "core/logging.h"

#include <QRegularExpression>
#include <QSslError>
#include <QWebSocket>

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

}

QWebSocketTransport::QWebSocketTransport(QObject* parent)
    : Transport(parent)
{
    m_resume.setSingleShot(true);
    m_resume.setInterval(0);
    connect(&m_resume, &QTimer::timeout, this, [this] {
        m_slice.invalidate();
        handOn();
    });
}

QWebSocketTransport::~QWebSocketTransport()
{
    discardSocket();
}

void QWebSocketTransport::dropInbox()
{
    // Frames and a close by the peer may still wait here after their socket is gone: what the owner
    // abandoned is not handed on. What the owner's other thread did while they waited was held back
    // for after them, and goes now.
    if (m_inbox.empty())
        return;
    m_inbox.clear();
    beforeEachEvent(kNoLimit);
}

void QWebSocketTransport::discardSocket()
{
    if (!m_socket)
        return;
    QWebSocket* socket = m_socket;
    m_socket = nullptr;
    // Disconnect first: signals from an abandoned socket must never reach the client.
    socket->disconnect(this);
    socket->abort();
    socket->deleteLater();
    m_open = false;
}

void QWebSocketTransport::receive(Inbound item)
{
    // The owner's hook runs when the item is handed on, where its place in the log is decided; the
    // mark keeps what the owner's other thread does while the item waits for after it.
    item.mark = arrivalMark();
    m_inbox.push_back(std::move(item));
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
        switch (item.kind) {
        case Inbound::Kind::Text: {
            const QByteArray utf8 = item.text.toUtf8();
            if (utf8.size() > kMaxFrameBytes)
                Q_EMIT oversized(utf8.size(), utf8.left(kHeadBytes));
            else
                Q_EMIT textReceived(utf8);
            break;
        }
        case Inbound::Kind::Binary:
            if (item.bytes.size() > kMaxFrameBytes)
                Q_EMIT oversized(item.bytes.size(), item.bytes.left(kHeadBytes));
            else
                Q_EMIT binaryReceived(item.bytes);
            break;
        case Inbound::Kind::Closed:
            Q_EMIT closed(item.close);
            break;
        }
        if (!alive)
            return;
        handedOn = true;
    }
    m_handingOn = false;
    // The last waiting item is handed on: what the owner's other thread did since it arrived goes
    // now, before anything that comes later (held back, it could wait for the next frame for long).
    if (handedOn && m_inbox.empty())
        beforeEachEvent(kNoLimit);
}

void QWebSocketTransport::open(const QUrl& url)
{
    dropInbox();
    discardSocket();
    m_reportedClose = false;
    // No parent: a slot may destroy this transport while Qt is inside the socket, emitting a frame
    // (the owner going away). A child would be deleted under that emission; on its own, the socket
    // is aborted and deleted once control is back in the event loop.
    auto* socket = new QWebSocket(QString(), QWebSocketProtocol::VersionLatest);
    m_socket = socket;
    socket->setMaxAllowedIncomingMessageSize(quint64(kHardLimitBytes));
    socket->setMaxAllowedIncomingFrameSize(quint64(kHardLimitBytes));

    connect(socket, &QWebSocket::connected, this, [this, socket]() {
        if (socket != m_socket)
            return;
        beforeEachEvent(kNoLimit);
        m_open = true;
        Q_EMIT opened();
    });
    connect(socket, &QWebSocket::textMessageReceived, this, [this, socket](const QString& message) {
        if (socket != m_socket)
            return;
        receive({ Inbound::Kind::Text, message, {}, {} });
    });
    connect(socket, &QWebSocket::binaryMessageReceived, this, [this, socket](const QByteArray& bytes) {
        if (socket != m_socket)
            return;
        receive({ Inbound::Kind::Binary, {}, bytes, {} });
    });
#ifndef QT_NO_SSL
    connect(socket, &QWebSocket::sslErrors, this, [this, socket](const QList<QSslError>& errors) {
        if (socket != m_socket)
            return;
        beforeEachEvent(kNoLimit);
        QStringList texts;
        for (const QSslError& error : errors)
            texts << error.errorString();
        if (m_insecure)
            socket->ignoreSslErrors();
        Q_EMIT tlsErrors(texts, m_insecure);
    });
#endif
    connect(socket, &QWebSocket::disconnected, this, [this, socket]() {
        if (socket != m_socket || m_reportedClose)
            return;
        m_reportedClose = true;
        TransportCloseInfo info;
        info.wasOpen = m_open;
        info.closeCode = int(socket->closeCode());
        info.reason = socket->closeReason();
        if (socket->error() != QAbstractSocket::UnknownSocketError || !m_open) {
            info.error = true;
            if (info.reason.isEmpty())
                info.reason = handshakeErrorText(socket->errorString(), socket->requestUrl());
        }
        if (info.reason.isEmpty())
            info.reason = m_open ? QStringLiteral("closed by peer") : QStringLiteral("could not connect");
        m_open = false;
        m_socket = nullptr;
        socket->deleteLater();
        receive({ Inbound::Kind::Closed, {}, {}, info }); // after the frames that came before it
    });
    qCDebug(lcProtocol) << "opening" << url.toString(QUrl::RemoveUserInfo);
    socket->open(url);
}

void QWebSocketTransport::close(CloseMode mode)
{
    // As if the socket had stopped reading: nothing more is handed on, not even a close by the
    // peer that came before this one (closed() is never said for a close the owner asked for).
    dropInbox();
    if (!m_socket)
        return;
    QWebSocket* socket = m_socket;
    m_socket = nullptr;
    socket->disconnect(this);
    m_open = false;
    if (mode == CloseMode::Clean && socket->state() == QAbstractSocket::ConnectedState) {
        socket->close(QWebSocketProtocol::CloseCodeNormal);
        // The close handshake completes on its own; the socket is gone once it has.
        connect(socket, &QWebSocket::disconnected, socket, &QObject::deleteLater);
        // A peer that never answers the close does not keep it for ever.
        QTimer::singleShot(kCloseHandshakeMs, socket, &QObject::deleteLater);
    } else {
        socket->abort();
        socket->deleteLater();
    }
}

bool QWebSocketTransport::sendText(const QByteArray& utf8)
{
    if (!m_socket || !m_open)
        return false;
    m_socket->sendTextMessage(QString::fromUtf8(utf8));
    return true;
}

bool QWebSocketTransport::isOpen() const
{
    return m_socket && m_open;
}

}
