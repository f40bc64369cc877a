#include "core/server/controlendpoint.h"

#include "core/server/demodocument.h"
#include "core/server/referenceserver.h"
#include "core/server/serverwire.h"

#include <QJsonDocument>
#include <QJsonObject>
#include <QTcpServer>
#include <QTcpSocket>

namespace deltascope::server {

namespace {

constexpr qsizetype kMaxRequest = 1024 * 1024;

ControlEndpoint::Response error(int status, const QString& message)
{
    return { status, compactJson(QJsonObject { { QStringLiteral("ok"), false }, { QStringLiteral("error"), message } }) };
}

QByteArray reasonPhrase(int status)
{
    switch (status) {
    case 200:
        return "OK";
    case 400:
        return "Bad Request";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 413:
        return "Payload Too Large";
    default:
        return "Error";
    }
}

}

ControlEndpoint::ControlEndpoint(ReferenceServer* server, QObject* parent)
    : QObject(parent)
    , m_server(server)
{
}

ControlEndpoint::~ControlEndpoint() = default;

quint16 ControlEndpoint::listen(quint16 port)
{
    delete m_listener;
    m_listener = new QTcpServer(this);
    if (!m_listener->listen(QHostAddress::LocalHost, port)) {
        m_error = QStringLiteral("cannot listen for control on 127.0.0.1:%1: %2").arg(port).arg(m_listener->errorString());
        delete m_listener;
        m_listener = nullptr;
        return 0;
    }
    connect(m_listener, &QTcpServer::newConnection, this, [this] {
        while (m_listener->hasPendingConnections()) {
            QTcpSocket* socket = m_listener->nextPendingConnection();
            connect(socket, &QTcpSocket::readyRead, this, [this, socket] { onReadyRead(socket); });
            connect(socket, &QTcpSocket::disconnected, socket, &QObject::deleteLater);
        }
    });
    return m_listener->serverPort();
}

quint16 ControlEndpoint::port() const
{
    return m_listener ? m_listener->serverPort() : 0;
}

void ControlEndpoint::onReadyRead(QTcpSocket* socket)
{
    const QByteArray buffered = socket->peek(kMaxRequest + 1);
    const auto respond = [socket](const Response& response) {
        socket->readAll();
        socket->write("HTTP/1.1 " + QByteArray::number(response.status) + ' ' + reasonPhrase(response.status)
            + "\r\nContent-Type: application/json\r\nContent-Length: " + QByteArray::number(response.body.size())
            + "\r\nConnection: close\r\n\r\n" + response.body);
        socket->disconnectFromHost();
    };
    if (buffered.size() > kMaxRequest)
        return respond(error(413, QStringLiteral("request over %1 bytes").arg(kMaxRequest)));
    const qsizetype headEnd = buffered.indexOf("\r\n\r\n");
    if (headEnd < 0)
        return;
    const QByteArray head = buffered.left(headEnd);
    qsizetype contentLength = 0;
    for (const QByteArray& line : head.split('\n')) {
        const QByteArray trimmed = line.trimmed();
        if (trimmed.toLower().startsWith("content-length:"))
            contentLength = trimmed.mid(15).trimmed().toLongLong();
    }
    if (buffered.size() < headEnd + 4 + contentLength)
        return; // body still arriving
    const QList<QByteArray> requestLine = head.left(head.indexOf("\r\n")).split(' ');
    respond(handle(requestLine.value(0), requestLine.value(1), buffered.mid(headEnd + 4, contentLength)));
}

ControlEndpoint::Response ControlEndpoint::handle(const QByteArray& method, const QByteArray& path, const QByteArray& body)
{
    QJsonObject parameters;
    if (!body.trimmed().isEmpty()) {
        QJsonParseError parseError;
        const QJsonDocument document = QJsonDocument::fromJson(body, &parseError);
        if (parseError.error != QJsonParseError::NoError || !document.isObject())
            return error(400, QStringLiteral("body is not a JSON object (%1 at byte %2)").arg(parseError.errorString()).arg(parseError.offset));
        parameters = document.object();
    }
    if (path == "/status") {
        if (method != "GET")
            return error(405, QStringLiteral("use GET /status"));
        return { 200, compactJson(m_server->status()) };
    }
    const bool known = path.startsWith("/fault/") || path == "/bots" || path == "/ticker-rate" || path == "/step";
    if (!known)
        return error(404, QStringLiteral("no route %1 %2; the routes are GET /status, POST /fault/NAME, POST /bots, POST /ticker-rate and POST /step")
                              .arg(QString::fromUtf8(method), QString::fromUtf8(path)));
    if (method != "POST")
        return error(405, QStringLiteral("use POST for %1").arg(QString::fromUtf8(path)));
    const QJsonObject ok { { QStringLiteral("ok"), true } };
    if (path.startsWith("/fault/")) {
        const FaultResult result = m_server->applyFault(QString::fromUtf8(path.mid(7)), parameters);
        if (!result.ok)
            return error(400, result.error);
        return { 200, compactJson(QJsonObject { { QStringLiteral("ok"), true }, { QStringLiteral("affected"), result.affected } }) };
    }
    if (path == "/bots") {
        if (!parameters.value(QLatin1String("paused")).isBool())
            return error(400, QStringLiteral("/bots: \"paused\" must be true or false"));
        m_server->setBotsPaused(parameters.value(QLatin1String("paused")).toBool());
        return { 200, compactJson(ok) };
    }
    if (path == "/ticker-rate") {
        const double rate = parameters.value(QLatin1String("rate")).toDouble(-1);
        if (rate < 0 || rate > 100000)
            return error(400, QStringLiteral("/ticker-rate: \"rate\" must be a number from 0 to 100000"));
        m_server->setTickerRate(rate, parameters.value(QLatin1String("key")).toString());
        return { 200, compactJson(ok) };
    }
    if (path == "/step") {
        DemoDocument* document = m_server->document(parameters.value(QLatin1String("space")).toString(),
            parameters.value(QLatin1String("key")).toString());
        if (!document)
            return error(404, QStringLiteral("/step: no document with that space and key"));
        const int count = parameters.value(QLatin1String("count")).toInt(1);
        if (count < 1 || count > 100000)
            return error(400, QStringLiteral("/step: \"count\" must be from 1 to 100000"));
        document->step(count);
        return { 200, compactJson(QJsonObject { { QStringLiteral("ok"), true }, { QStringLiteral("seq"), document->seq() } }) };
    }
    return error(404, QStringLiteral("no route %1 %2").arg(QString::fromUtf8(method), QString::fromUtf8(path)));
}

}
