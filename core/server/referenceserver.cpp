#include "core/server/referenceserver.h"

#include "core/faults/websocketframe.h"
#include "core/server/bigdocument.h"
#include "core/server/chatdocument.h"
#include "core/server/demodocument.h"
#include "core/server/gamedocument.h"
#include "core/server/serverwire.h"
#include "core/server/tickerdocument.h"

#include <QCryptographicHash>
#include <QFile>
#include <QJsonArray>
#include <QSslCertificate>
#include <QSslKey>
#include <QSslSocket>
#include <QTcpServer>
#include <QTimer>
#include <QWebSocket>
#include <QWebSocketServer>

#include <cmath>
#include <limits>

namespace deltascope::server {

namespace {

// Accepts TCP connections for the server's own HTTP front: with TLS configured each connection is
// a QSslSocket that starts server encryption before anything is read.
class FrontServer : public QTcpServer
{
public:
    FrontServer(QSslCertificate certificate, QSslKey key, std::function<void(QTcpSocket*)> ready, QObject* parent)
        : QTcpServer(parent)
        , m_certificate(std::move(certificate))
        , m_key(std::move(key))
        , m_ready(std::move(ready))
    {
    }

protected:
    void incomingConnection(qintptr descriptor) override
    {
        if (m_certificate.isNull()) {
            auto* socket = new QTcpSocket(this);
            if (!socket->setSocketDescriptor(descriptor)) {
                delete socket;
                return;
            }
            m_ready(socket);
            return;
        }
        auto* socket = new QSslSocket(this);
        if (!socket->setSocketDescriptor(descriptor)) {
            delete socket;
            return;
        }
        socket->setLocalCertificate(m_certificate);
        socket->setPrivateKey(m_key);
        socket->setPeerVerifyMode(QSslSocket::VerifyNone);
        connect(socket, &QSslSocket::encrypted, this, [this, socket] {
            // From here on the socket belongs to the HTTP front and then to its WebSocket.
            disconnect(socket, &QSslSocket::errorOccurred, socket, nullptr);
            m_ready(socket);
        });
        connect(socket, &QSslSocket::errorOccurred, socket, &QObject::deleteLater);
        socket->startServerEncryption();
    }

private:
    QSslCertificate m_certificate;
    QSslKey m_key;
    std::function<void(QTcpSocket*)> m_ready;
};

// Netty's WebSocket path check with "starts with" on: "/~s", "/~s/..." and "/~s?..." upgrade.
bool isSocketPath(const QByteArray& target)
{
    if (!target.startsWith("/~s"))
        return false;
    return target.size() == 3 || target.at(3) == '/' || target.at(3) == '?';
}

quint64 documentSeed(quint64 seed, const QString& space, const QString& key)
{
    const QByteArray material = QByteArray::number(seed) + '/' + space.toUtf8() + '/' + key.toUtf8();
    const QByteArray digest = QCryptographicHash::hash(material, QCryptographicHash::Sha256);
    quint64 value = 0;
    for (int i = 0; i < 8; ++i)
        value = (value << 8) | static_cast<quint8>(digest.at(i));
    return value;
}

}

bool FaultTarget::matches(const Viewer& viewer, const DemoDocument& document) const
{
    return (agent.isEmpty() || viewer.principal.agent == agent) && (space.isEmpty() || document.space() == space)
        && (key.isEmpty() || document.key() == key);
}

FaultTarget FaultTarget::fromJson(const QJsonObject& object)
{
    return { object.value(QLatin1String("agent")).toString(), object.value(QLatin1String("space")).toString(),
        object.value(QLatin1String("key")).toString() };
}

ReferenceServer::ReferenceServer(ServerOptions options, QObject* parent)
    : QObject(parent)
    , m_options(std::move(options))
{
}

ReferenceServer::~ReferenceServer()
{
    close();
}

QStringList ReferenceServer::spaces()
{
    return { QStringLiteral("chat"), QStringLiteral("game"), QStringLiteral("ticker"), QStringLiteral("big") };
}

quint16 ReferenceServer::listen()
{
    close();
    m_error.clear();
    QSslCertificate certificate;
    QSslKey key;
    const bool tls = !m_options.tlsCertificate.isEmpty() || !m_options.tlsKey.isEmpty();
    if (tls) {
        if (!QSslSocket::supportsSsl()) {
            m_error = QStringLiteral("TLS is not available in this Qt build");
            return 0;
        }
        QFile certificateFile(m_options.tlsCertificate);
        QFile keyFile(m_options.tlsKey);
        if (m_options.tlsCertificate.isEmpty() || m_options.tlsKey.isEmpty()) {
            m_error = QStringLiteral("TLS needs both a certificate and a key");
            return 0;
        }
        if (!certificateFile.open(QIODevice::ReadOnly)) {
            m_error = QStringLiteral("cannot read TLS certificate %1: %2").arg(m_options.tlsCertificate, certificateFile.errorString());
            return 0;
        }
        if (!keyFile.open(QIODevice::ReadOnly)) {
            m_error = QStringLiteral("cannot read TLS key %1: %2").arg(m_options.tlsKey, keyFile.errorString());
            return 0;
        }
        certificate = QSslCertificate(certificateFile.readAll(), QSsl::Pem);
        const QByteArray keyPem = keyFile.readAll();
        key = QSslKey(keyPem, QSsl::Rsa, QSsl::Pem);
        if (key.isNull())
            key = QSslKey(keyPem, QSsl::Ec, QSsl::Pem);
        if (certificate.isNull()) {
            m_error = QStringLiteral("%1 is not a PEM certificate").arg(m_options.tlsCertificate);
            return 0;
        }
        if (key.isNull()) {
            m_error = QStringLiteral("%1 is not a PEM RSA or EC private key").arg(m_options.tlsKey);
            return 0;
        }
    }

    // The WebSocket server only does handshakes: the front below accepts TCP, answers the side
    // HTTP calls, and hands `/~s` upgrades to it.
    m_wsServer = new QWebSocketServer(QStringLiteral("deltascope-server"), QWebSocketServer::NonSecureMode, this);
    m_wsServer->setHandshakeTimeout(std::chrono::milliseconds(m_options.handshakeTimeoutMs));
    m_wsServer->setMaxPendingConnections(100000);
    connect(m_wsServer, &QWebSocketServer::newConnection, this, &ReferenceServer::onWebSocket);

    auto* front = new FrontServer(certificate, key, [this](QTcpSocket* socket) { onIncoming(socket); }, this);
    front->setMaxPendingConnections(100000);
    m_tcpServer = front;
    connect(front, &QTcpServer::newConnection, this, [front] {
        // Sockets were already handed on in incomingConnection(); drain Qt's pending queue.
        while (front->hasPendingConnections())
            front->nextPendingConnection();
    });
    if (!front->listen(m_options.bind, m_options.port)) {
        m_error = QStringLiteral("cannot listen on %1:%2: %3")
                      .arg(m_options.bind.toString())
                      .arg(m_options.port)
                      .arg(front->errorString());
        delete front;
        m_tcpServer = nullptr;
        delete m_wsServer;
        m_wsServer = nullptr;
        return 0;
    }
    log(QStringLiteral("listening on %1").arg(url()));
    return front->serverPort();
}

void ReferenceServer::close()
{
    const auto connections = m_connections;
    for (const auto& [serial, connection] : connections)
        connection->close(ServerConnection::CloseKind::Fin);
    if (m_tcpServer) {
        m_tcpServer->close();
        m_tcpServer->deleteLater();
        m_tcpServer = nullptr;
    }
    if (m_wsServer) {
        m_wsServer->close();
        m_wsServer->deleteLater();
        m_wsServer = nullptr;
    }
}

bool ReferenceServer::isListening() const
{
    return m_tcpServer && m_tcpServer->isListening();
}

quint16 ReferenceServer::port() const
{
    return m_tcpServer ? m_tcpServer->serverPort() : 0;
}

QString ReferenceServer::url() const
{
    const bool tls = !m_options.tlsCertificate.isEmpty();
    QString host = m_options.bind.toString();
    if (m_options.bind.protocol() == QAbstractSocket::IPv6Protocol)
        host = QLatin1Char('[') + host + QLatin1Char(']');
    return QStringLiteral("%1://%2:%3/~s").arg(tls ? QStringLiteral("wss") : QStringLiteral("ws"), host).arg(port());
}

namespace {
QString peerKey(const QHostAddress& address, quint16 port)
{
    return address.toString() + QLatin1Char('|') + QString::number(port);
}

// The answer to a plain HTTP request (not an upgrade on the socket path).
QByteArray plainHttpAnswer(const QByteArray& method, const QByteArray& target, const QByteArray& head)
{
    // Side calls of the JS client (`PUT /~bm/...`, `PUT /~lg/...`) are answered 200 and ignored;
    // anything else is not ours. Bodies are not awaited: the connection closes after the answer.
    QByteArray status = QByteArrayLiteral("404 Not Found");
    QByteArray headers;
    QByteArray body;
    if (method == "PUT" && (target.startsWith("/~bm/") || target.startsWith("/~lg/"))) {
        status = QByteArrayLiteral("200 OK");
    } else if (method == "GET" && target.startsWith("/~p")) {
        // The JS client's follow-up to configure/make-or-get-asset-key: the key becomes the SAK
        // cookie, with CORS for the page's origin, as Adama's web handler answers it.
        const QByteArray key = target.mid(3);
        const bool cookieSafe = !key.isEmpty() && std::all_of(key.begin(), key.end(), [](char c) {
            return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.';
        });
        if (cookieSafe) {
            status = QByteArrayLiteral("200 OK");
            body = QByteArrayLiteral("OK");
            headers = "Cache-Control: no-cache\r\nSet-Cookie: SAK=" + key + "; Max-Age=604800; Secure; HttpOnly; SameSite=None\r\n";
            // Echoed only when it is one visible token (no CR or space to break the header with).
            faults::HttpHead parsed;
            const QByteArray origin = faults::parseHttpHead(head, parsed) ? parsed.value("origin") : QByteArray();
            const bool echoable = !origin.isEmpty() && std::all_of(origin.begin(), origin.end(), [](char c) { return c > 0x20 && c < 0x7f; });
            if (echoable)
                headers += "Access-Control-Allow-Origin: " + origin + "\r\nAccess-Control-Allow-Credentials: true\r\n";
        } else {
            status = QByteArrayLiteral("400 Bad Request");
        }
    } else if (isSocketPath(target)) {
        status = QByteArrayLiteral("400 Bad Request");
    }
    if (body.isEmpty() && !status.startsWith("200"))
        body = status + '\n';
    return "HTTP/1.1 " + status + "\r\nContent-Type: text/plain\r\n" + headers + "Content-Length: " + QByteArray::number(body.size())
        + "\r\nConnection: close\r\n\r\n" + body;
}
}

void ReferenceServer::onIncoming(QTcpSocket* socket)
{
    // Read the HTTP head without consuming it, so the WebSocket server sees the request whole.
    connect(socket, &QTcpSocket::readyRead, this, [this, socket] { onHttpHead(socket); });
    connect(socket, &QTcpSocket::disconnected, socket, &QObject::deleteLater);
    QTimer::singleShot(m_options.handshakeTimeoutMs, socket, [socket] {
        if (socket->property("deltascope.upgrading").toBool())
            return;
        socket->abort();
    });
    if (socket->bytesAvailable() > 0)
        onHttpHead(socket);
}

void ReferenceServer::onHttpHead(QTcpSocket* socket)
{
    if (socket->property("deltascope.upgrading").toBool())
        return;
    const QByteArray head = socket->peek(64 * 1024);
    const qsizetype end = head.indexOf("\r\n\r\n");
    if (end < 0) {
        if (head.size() >= 64 * 1024)
            socket->abort();
        return;
    }
    const QByteArray requestLine = head.left(head.indexOf("\r\n"));
    const QList<QByteArray> parts = requestLine.split(' ');
    const QByteArray method = parts.value(0);
    const QByteArray target = parts.value(1);
    const bool upgrade = head.toLower().contains("\r\nupgrade: websocket");
    if (method == "GET" && upgrade && isSocketPath(target)) {
        socket->setProperty("deltascope.upgrading", true);
        disconnect(socket, &QTcpSocket::readyRead, this, nullptr);
        disconnect(socket, &QTcpSocket::disconnected, socket, nullptr);
        m_upgrading.insert(peerKey(socket->peerAddress(), socket->peerPort()), socket);
        m_wsServer->handleConnection(socket);
        return;
    }
    socket->readAll();
    socket->write(plainHttpAnswer(method, target, head.left(end)));
    socket->disconnectFromHost();
}

void ReferenceServer::onWebSocket()
{
    while (m_wsServer && m_wsServer->hasPendingConnections()) {
        QWebSocket* socket = m_wsServer->nextPendingConnection();
        const QPointer<QTcpSocket> tcp = m_upgrading.take(peerKey(socket->peerAddress(), socket->peerPort()));
        const quint64 serial = m_nextSocketSerial++;
        auto* connection = new ServerConnection(serial, socket, tcp.data(), this);
        m_connections.emplace(serial, connection);
        connect(connection, &ServerConnection::closed, this, [this, connection](quint64 closedSerial) {
            m_connections.erase(closedSerial);
            const QString how = connection->closeSummary();
            log(QStringLiteral("disconnect #%1 %2%3").arg(closedSerial).arg(connection->peer(), how.isEmpty() ? QString() : QStringLiteral(" (") + how + QLatin1Char(')')));
            Q_EMIT socketClosed(closedSerial);
            connection->deleteLater();
        });
        log(QStringLiteral("connect #%1 %2 %3").arg(serial).arg(connection->peer(), socket->requestUrl().path()));
        Q_EMIT socketOpened(serial);
    }
}

void ReferenceServer::log(const QString& line)
{
    Q_EMIT logLine(line);
}

int ReferenceServer::takeRefusal()
{
    if (m_refuseCount <= 0)
        return 0;
    m_refuseCount -= 1;
    return m_refuseCode;
}

DemoDocument* ReferenceServer::document(const QString& space, const QString& key) const
{
    const auto it = m_documents.find({ space, key });
    return it == m_documents.end() ? nullptr : it->second.get();
}

DemoDocument* ReferenceServer::documentFor(const QString& space, const QString& key)
{
    if (DemoDocument* existing = document(space, key))
        return existing;
    const quint64 seed = documentSeed(m_options.seed, space, key);
    std::unique_ptr<DemoDocument> made;
    if (space == QLatin1String("chat")) {
        made = std::make_unique<ChatDocument>(key, seed, m_options.chatBotRate);
    } else if (space == QLatin1String("game")) {
        auto game = std::make_unique<GameDocument>(key, seed, m_options.gameBotRate);
        game->setTurnTimeout(m_options.turnTimeoutMs);
        made = std::move(game);
    } else if (space == QLatin1String("ticker")) {
        made = std::make_unique<TickerDocument>(key, seed, m_options.tickerRate);
    } else if (space == QLatin1String("big")) {
        made = std::make_unique<BigDocument>(key, seed, m_options.bigBotRate);
    } else {
        return nullptr;
    }
    made->setDedupeExpiry(m_options.dedupeExpiryMs, m_options.dedupeSweepMs);
    made->setBotsPaused(m_options.botsPaused);
    DemoDocument* raw = made.get();
    m_documents.emplace(std::make_pair(space, key), std::move(made));
    return raw;
}

bool ReferenceServer::createDocument(const QString& space, const QString& key, const QJsonObject& arg)
{
    if (document(space, key))
        return false;
    DemoDocument* made = documentFor(space, key);
    if (!made)
        return false;
    made->construct(arg);
    return true;
}

std::optional<DocumentTree> ReferenceServer::currentView(
    const QString& space, const QString& key, const QString& agent) const
{
    DemoDocument* doc = document(space, key);
    if (!doc)
        return std::nullopt;
    for (const auto& viewer : doc->viewers()) {
        if (viewer->principal.agent == agent)
            return doc->currentView(*viewer);
    }
    return std::nullopt;
}

std::optional<DocumentTree> ReferenceServer::lastSentView(
    const QString& space, const QString& key, const QString& agent) const
{
    DemoDocument* doc = document(space, key);
    if (!doc)
        return std::nullopt;
    for (const auto& viewer : doc->viewers()) {
        if (viewer->principal.agent == agent)
            return viewer->lastSent;
    }
    return std::nullopt;
}

int ReferenceServer::streamCount() const
{
    int count = 0;
    for (const auto& [serial, connection] : m_connections)
        count += static_cast<int>(connection->streams().size());
    return count;
}

QList<ServerConnection*> ReferenceServer::connections() const
{
    QList<ServerConnection*> list;
    for (const auto& [serial, connection] : m_connections)
        list.append(connection);
    return list;
}

QJsonObject ReferenceServer::status() const
{
    QJsonArray documents;
    for (const auto& [id, doc] : m_documents) {
        documents.append(QJsonObject { { QStringLiteral("space"), doc->space() }, { QStringLiteral("key"), doc->key() },
            { QStringLiteral("seq"), doc->seq() }, { QStringLiteral("viewers"), static_cast<int>(doc->viewers().size()) },
            { QStringLiteral("schema"), doc->schemaVersion() }, { QStringLiteral("rate"), doc->botRate() },
            { QStringLiteral("paused"), doc->botsPaused() } });
    }
    return QJsonObject { { QStringLiteral("url"), url() }, { QStringLiteral("port"), port() },
        { QStringLiteral("version"), m_options.version }, { QStringLiteral("sockets"), socketCount() },
        { QStringLiteral("streams"), streamCount() }, { QStringLiteral("refusing"), m_refuseCount },
        { QStringLiteral("spaces"), QJsonArray::fromStringList(spaces()) },
        { QStringLiteral("faults"), QJsonArray::fromStringList(faultNames()) },
        { QStringLiteral("documents"), documents } };
}

void ReferenceServer::setBotsPaused(bool paused)
{
    m_options.botsPaused = paused;
    for (const auto& [id, doc] : m_documents)
        doc->setBotsPaused(paused);
}

void ReferenceServer::setTickerRate(double rate, const QString& key)
{
    if (key.isEmpty())
        m_options.tickerRate = rate;
    for (const auto& [id, doc] : m_documents) {
        if (doc->space() == QLatin1String("ticker") && (key.isEmpty() || doc->key() == key))
            static_cast<TickerDocument*>(doc.get())->setRate(rate);
    }
}

// --- faults ----------------------------------------------------------------------------------------

std::vector<std::pair<ServerConnection*, Viewer*>> ReferenceServer::targetedStreams(const FaultTarget& target) const
{
    std::vector<std::pair<ServerConnection*, Viewer*>> found;
    for (const auto& [serial, connection] : m_connections) {
        for (Viewer* viewer : connection->streams()) {
            if (target.matches(*viewer, *viewer->document))
                found.emplace_back(connection, viewer);
        }
    }
    return found;
}

std::vector<ServerConnection*> ReferenceServer::targetedSockets(const FaultTarget& target) const
{
    std::vector<ServerConnection*> found;
    for (const auto& [serial, connection] : m_connections) {
        bool match = target.isEmpty();
        for (Viewer* viewer : connection->streams())
            match = match || target.matches(*viewer, *viewer->document);
        if (match)
            found.push_back(connection);
    }
    return found;
}

int ReferenceServer::closeSockets(ServerConnection::CloseKind kind, const FaultTarget& target)
{
    const auto sockets = targetedSockets(target);
    const char* how = kind == ServerConnection::CloseKind::CloseFrame ? "close frame"
        : kind == ServerConnection::CloseKind::Fin                    ? "FIN"
                                                                      : "RST";
    log(QStringLiteral("fault close-socket (%1) on %2 socket(s)").arg(QLatin1String(how)).arg(sockets.size()));
    for (ServerConnection* connection : sockets)
        connection->close(kind);
    return static_cast<int>(sockets.size());
}

int ReferenceServer::stall(int milliseconds, const FaultTarget& target)
{
    const auto sockets = targetedSockets(target);
    log(QStringLiteral("fault stall %1 ms on %2 socket(s)").arg(milliseconds).arg(sockets.size()));
    for (ServerConnection* connection : sockets)
        connection->stall(milliseconds);
    return static_cast<int>(sockets.size());
}

void ReferenceServer::setHelloVersion(const QString& version)
{
    log(QStringLiteral("fault hello version %1 -> %2 for new sockets").arg(m_options.version, version));
    m_options.version = version;
}

int ReferenceServer::redeploy(bool nextSchema, const FaultTarget& target)
{
    int count = 0;
    for (const auto& [id, doc] : m_documents) {
        if ((!target.space.isEmpty() && doc->space() != target.space) || (!target.key.isEmpty() && doc->key() != target.key))
            continue;
        doc->redeploy(nextSchema);
        count += static_cast<int>(doc->viewers().size());
    }
    log(QStringLiteral("fault redeploy%1: %2 view(s) recreated").arg(nextSchema ? QStringLiteral(" onto next schema") : QString()).arg(count));
    return count;
}

int ReferenceServer::sendReload(bool preserveView, const FaultTarget& target)
{
    const auto streams = targetedStreams(target);
    log(QStringLiteral("fault reload (preserve-view %1) on %2 stream(s)").arg(preserveView ? QStringLiteral("true") : QStringLiteral("false")).arg(streams.size()));
    const QByteArray item = QByteArrayLiteral("{\"reload\":{\"preserve-view\":") + (preserveView ? "true" : "false") + "}}";
    for (const auto& [connection, viewer] : streams)
        viewer->document->sendSideItem(viewer, item);
    return static_cast<int>(streams.size());
}

int ReferenceServer::forceDisconnect(const FaultTarget& target)
{
    const auto streams = targetedStreams(target);
    log(QStringLiteral("fault force-disconnect on %1 stream(s)").arg(streams.size()));
    for (const auto& [connection, viewer] : streams)
        connection->forceDisconnect(viewer);
    return static_cast<int>(streams.size());
}

int ReferenceServer::failStreams(int code, const FaultTarget& target)
{
    const auto streams = targetedStreams(target);
    log(QStringLiteral("fault fail-stream %1 (retry %2) on %3 stream(s)")
            .arg(code)
            .arg(shouldRetry(code) ? QStringLiteral("true") : QStringLiteral("false"))
            .arg(streams.size()));
    for (const auto& [connection, viewer] : streams)
        connection->failStream(viewer, code);
    return static_cast<int>(streams.size());
}

void ReferenceServer::refuseConnects(int count, int code)
{
    log(QStringLiteral("fault refuse the next %1 connection/create with %2").arg(count).arg(code));
    m_refuseCount = count;
    m_refuseCode = code;
}

int ReferenceServer::dropNextDeltas(int count, const FaultTarget& target)
{
    const auto streams = targetedStreams(target);
    log(QStringLiteral("fault drop the next %1 delta(s) on %2 stream(s) (corrupting: the client stays wrong until it reconnects)")
            .arg(count)
            .arg(streams.size()));
    for (const auto& [connection, viewer] : streams)
        viewer->faults.drop += count;
    return static_cast<int>(streams.size());
}

int ReferenceServer::duplicateNextDeltas(int count, const FaultTarget& target)
{
    const auto streams = targetedStreams(target);
    log(QStringLiteral("fault duplicate the next %1 delta(s) on %2 stream(s) (corrupting)").arg(count).arg(streams.size()));
    for (const auto& [connection, viewer] : streams)
        viewer->faults.duplicate += count;
    return static_cast<int>(streams.size());
}

int ReferenceServer::reorderNextDeltas(int count, const FaultTarget& target)
{
    const auto streams = targetedStreams(target);
    log(QStringLiteral("fault reorder the next %1 delta(s) on %2 stream(s) (corrupting)").arg(count).arg(streams.size()));
    for (const auto& [connection, viewer] : streams)
        viewer->faults.reorder += count;
    return static_cast<int>(streams.size());
}

int ReferenceServer::keepaliveFailure(const FaultTarget& target)
{
    const auto sockets = targetedSockets(target);
    log(QStringLiteral("fault keepalive-failure on %1 socket(s)").arg(sockets.size()));
    for (ServerConnection* connection : sockets)
        connection->sendKeepaliveFailureNow();
    return static_cast<int>(sockets.size());
}

int ReferenceServer::delayAcks(int count, int milliseconds, const FaultTarget& target)
{
    const auto sockets = targetedSockets(target);
    log(QStringLiteral("fault delay the next %1 ack(s) by %2 ms on %3 socket(s)").arg(count).arg(milliseconds).arg(sockets.size()));
    for (ServerConnection* connection : sockets)
        connection->delayAcks(count, milliseconds);
    return static_cast<int>(sockets.size());
}

int ReferenceServer::ignorePongs(int milliseconds, const FaultTarget& target)
{
    const auto sockets = targetedSockets(target);
    log(QStringLiteral("fault ignore pongs for %1 ms on %2 socket(s)").arg(milliseconds).arg(sockets.size()));
    for (ServerConnection* connection : sockets)
        connection->ignorePongs(milliseconds);
    return static_cast<int>(sockets.size());
}

QStringList ReferenceServer::faultNames()
{
    return { QStringLiteral("close"), QStringLiteral("stall"), QStringLiteral("version"), QStringLiteral("redeploy"),
        QStringLiteral("reload"), QStringLiteral("force-disconnect"), QStringLiteral("fail-stream"),
        QStringLiteral("refuse-connect"), QStringLiteral("drop-delta"), QStringLiteral("duplicate-delta"),
        QStringLiteral("reorder-delta"), QStringLiteral("keepalive-failure"), QStringLiteral("delay-ack"),
        QStringLiteral("ignore-pongs") };
}

QString ReferenceServer::faultParameterError(const QString& name, const QJsonObject& parameters, bool scheduled)
{
    enum class Type { Number, String, Bool };
    struct Parameter {
        const char* name;
        Type type;
    };
    // Every fault may target sockets by agent, space and key (FaultTarget).
    std::vector<Parameter> taken { { "agent", Type::String }, { "space", Type::String }, { "key", Type::String } };
    if (scheduled)
        taken.insert(taken.end(), { { "after", Type::Number }, { "every", Type::Number } });
    static const QHash<QString, std::vector<Parameter>> kOwn {
        { QStringLiteral("close"), { { "mode", Type::String } } },
        { QStringLiteral("stall"), { { "seconds", Type::Number } } },
        { QStringLiteral("version"), { { "version", Type::String } } },
        { QStringLiteral("redeploy"), { { "next-schema", Type::Bool } } },
        { QStringLiteral("reload"), { { "preserve-view", Type::Bool } } },
        { QStringLiteral("force-disconnect"), {} },
        { QStringLiteral("fail-stream"), { { "code", Type::Number } } },
        { QStringLiteral("refuse-connect"), { { "code", Type::Number }, { "count", Type::Number } } },
        { QStringLiteral("drop-delta"), { { "count", Type::Number } } },
        { QStringLiteral("duplicate-delta"), { { "count", Type::Number } } },
        { QStringLiteral("reorder-delta"), { { "count", Type::Number } } },
        { QStringLiteral("keepalive-failure"), {} },
        { QStringLiteral("delay-ack"), { { "ms", Type::Number }, { "count", Type::Number } } },
        { QStringLiteral("ignore-pongs"), { { "seconds", Type::Number } } },
    };
    const auto own = kOwn.constFind(name);
    if (own == kOwn.constEnd())
        return QStringLiteral("unknown fault \"%1\"; known: %2").arg(name, faultNames().join(QStringLiteral(", ")));
    taken.insert(taken.end(), own->begin(), own->end());
    for (auto it = parameters.constBegin(); it != parameters.constEnd(); ++it) {
        const auto found = std::find_if(taken.begin(), taken.end(), [&](const Parameter& p) { return it.key() == QLatin1String(p.name); });
        if (found == taken.end()) {
            QStringList names;
            for (const Parameter& p : taken)
                names << QString::fromLatin1(p.name);
            return QStringLiteral("%1: no parameter \"%2\"; it takes %3").arg(name, it.key(), names.join(QStringLiteral(", ")));
        }
        const bool typed = found->type == Type::Number ? it->isDouble() : found->type == Type::String ? it->isString() : it->isBool();
        if (!typed) {
            const char* wanted = found->type == Type::Number ? "a number" : found->type == Type::String ? "a string" : "true or false";
            return QStringLiteral("%1: \"%2\" must be %3").arg(name, it.key(), QLatin1String(wanted));
        }
    }
    return faultValueError(name, parameters);
}

QString ReferenceServer::faultValueError(const QString& name, const QJsonObject& p)
{
    // The values, checked where the fault is given (a --fault at startup, a control request), not
    // when a scheduled one fires: by then no one is there to read the error.
    constexpr double kMostSeconds = 86400;
    const auto has = [&p](const char* key) { return p.contains(QLatin1String(key)); };
    const auto number = [&p](const char* key) { return p.value(QLatin1String(key)).toDouble(); };
    const auto positiveSeconds = [&](const char* key, bool required) -> QString {
        if (!has(key))
            return required ? QStringLiteral("%1: \"%2\" is required (seconds, above 0)").arg(name, QLatin1String(key)) : QString();
        if (!(number(key) > 0 && number(key) <= kMostSeconds))
            return QStringLiteral("%1: \"%2\" must be above 0 and at most %3 seconds, not %4").arg(name, QLatin1String(key)).arg(kMostSeconds).arg(number(key));
        return {};
    };
    if (has("count") && !(number("count") >= 1 && number("count") <= 1e6 && number("count") == std::floor(number("count"))))
        return QStringLiteral("%1: \"count\" must be a whole number from 1 to 1000000, not %2").arg(name).arg(number("count"));
    if (has("code") && !(number("code") >= 1 && number("code") <= std::numeric_limits<int>::max() && number("code") == std::floor(number("code"))))
        return QStringLiteral("%1: \"code\" must be a positive whole error code, not %2").arg(name).arg(number("code"));
    if (name == QLatin1String("close")) {
        const QString mode = p.value(QLatin1String("mode")).toString(QStringLiteral("clean"));
        if (mode != QLatin1String("clean") && mode != QLatin1String("fin") && mode != QLatin1String("abrupt") && mode != QLatin1String("rst"))
            return QStringLiteral("close: mode must be clean, fin or abrupt, not \"%1\"").arg(mode);
    } else if (name == QLatin1String("stall") || name == QLatin1String("ignore-pongs")) {
        return positiveSeconds("seconds", true);
    } else if (name == QLatin1String("version")) {
        if (p.value(QLatin1String("version")).toString().isEmpty())
            return QStringLiteral("version: \"version\" must be a non-empty string");
    } else if (name == QLatin1String("delay-ack")) {
        if (has("ms") && !(number("ms") >= 0 && number("ms") <= kMostSeconds * 1000))
            return QStringLiteral("delay-ack: \"ms\" must be from 0 to %1, not %2").arg(kMostSeconds * 1000).arg(number("ms"));
    }
    return {};
}

FaultResult ReferenceServer::applyFault(const QString& name, const QJsonObject& p)
{
    // Checked first: a value of the wrong type read as its default (0 for "after") fired at once.
    if (const QString error = faultParameterError(name, p, false); !error.isEmpty())
        return { false, 0, error };
    const FaultTarget target = FaultTarget::fromJson(p);
    const auto count = [&p](int fallback) { return p.value(QLatin1String("count")).toInt(fallback); };
    FaultResult result;
    if (name == QLatin1String("close")) {
        const QString mode = p.value(QLatin1String("mode")).toString(QStringLiteral("clean"));
        ServerConnection::CloseKind kind;
        if (mode == QLatin1String("clean"))
            kind = ServerConnection::CloseKind::CloseFrame;
        else if (mode == QLatin1String("fin"))
            kind = ServerConnection::CloseKind::Fin;
        else
            kind = ServerConnection::CloseKind::Reset; // "abrupt" or "rst" (faultValueError() took no other)
        result.affected = closeSockets(kind, target);
    } else if (name == QLatin1String("stall")) {
        const double seconds = p.value(QLatin1String("seconds")).toDouble();
        result.affected = stall(static_cast<int>(seconds * 1000), target);
    } else if (name == QLatin1String("version")) {
        setHelloVersion(p.value(QLatin1String("version")).toString());
    } else if (name == QLatin1String("redeploy")) {
        result.affected = redeploy(p.value(QLatin1String("next-schema")).toBool(false), target);
    } else if (name == QLatin1String("reload")) {
        result.affected = sendReload(p.value(QLatin1String("preserve-view")).toBool(true), target);
    } else if (name == QLatin1String("force-disconnect")) {
        result.affected = forceDisconnect(target);
    } else if (name == QLatin1String("fail-stream")) {
        result.affected = failStreams(p.value(QLatin1String("code")).toInt(ErrorCode::NetTimeout), target);
    } else if (name == QLatin1String("refuse-connect")) {
        const int code = p.value(QLatin1String("code")).toInt(ErrorCode::ShieldRejectConnect);
        refuseConnects(count(1), code);
        result.affected = count(1);
    } else if (name == QLatin1String("drop-delta")) {
        result.affected = dropNextDeltas(count(1), target);
    } else if (name == QLatin1String("duplicate-delta")) {
        result.affected = duplicateNextDeltas(count(1), target);
    } else if (name == QLatin1String("reorder-delta")) {
        result.affected = reorderNextDeltas(count(1), target);
    } else if (name == QLatin1String("keepalive-failure")) {
        result.affected = keepaliveFailure(target);
    } else if (name == QLatin1String("delay-ack")) {
        const double ms = p.value(QLatin1String("ms")).toDouble(1000);
        result.affected = delayAcks(count(1), static_cast<int>(ms), target);
    } else if (name == QLatin1String("ignore-pongs")) {
        const double seconds = p.value(QLatin1String("seconds")).toDouble();
        result.affected = ignorePongs(static_cast<int>(seconds * 1000), target);
    } else {
        return { false, 0, QStringLiteral("unknown fault \"%1\"; known: %2").arg(name, faultNames().join(QStringLiteral(", "))) };
    }
    return result;
}

}
