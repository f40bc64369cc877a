#pragma once

#include <QByteArray>
#include <QList>
#include <QObject>
#include <QPointer>
#include <QTimer>
#include <QWebSocket>
#include <QWebSocketServer>

#include <memory>

namespace deltascope::test {

// A minimal Adama-shaped WebSocket server for proxy tests: greets with a hello, pings on request,
// and sends whatever the test scripts. Records what it received. Loopback only.
class ScriptedServer : public QObject {
public:
    explicit ScriptedServer(QByteArray version = "v1")
        : m_server(QStringLiteral("scripted"), QWebSocketServer::NonSecureMode)
        , m_version(std::move(version))
    {
        m_server.listen(QHostAddress::LocalHost, 0);
        connect(&m_server, &QWebSocketServer::newConnection, this, [this] {
            while (QWebSocket* socket = m_server.nextPendingConnection()) {
                socket->setParent(this);
                m_sockets.append(socket);
                ++m_accepted;
                connect(socket, &QWebSocket::textMessageReceived, this,
                    [this](const QString& text) { m_received.append(text.toUtf8()); });
                connect(socket, &QWebSocket::binaryMessageReceived, this,
                    [this](const QByteArray& bytes) { m_received.append(bytes); });
                connect(socket, &QWebSocket::disconnected, this, [this, socket] {
                    m_sockets.removeAll(socket);
                    socket->deleteLater();
                });
                socket->sendTextMessage(QStringLiteral(R"({"status":"connected","version":"%1","identities":{}})")
                                            .arg(QString::fromUtf8(m_version)));
            }
        });
        m_pings.setInterval(100);
        connect(&m_pings, &QTimer::timeout, this, [this] {
            ++m_pingCount;
            sendToAll(QStringLiteral(R"({"ping":%1,"latency":"0"})").arg(m_pingCount * 100).toUtf8());
        });
    }
    ~ScriptedServer() override
    {
        // Sockets are children; drop them before the members their signals touch go away.
        const QList<QWebSocket*> sockets = std::exchange(m_sockets, {});
        for (QWebSocket* socket : sockets) {
            QObject::disconnect(socket, nullptr, this, nullptr);
            delete socket;
        }
    }
    QUrl url() const { return QUrl(QStringLiteral("ws://127.0.0.1:%1/~s").arg(m_server.serverPort())); }
    void setVersion(const QByteArray& version) { m_version = version; }
    void startPings(int intervalMs)
    {
        m_pings.setInterval(intervalMs);
        m_pings.start();
    }
    void stopPings() { m_pings.stop(); }
    void sendToAll(const QByteArray& text)
    {
        for (QWebSocket* socket : std::as_const(m_sockets))
            socket->sendTextMessage(QString::fromUtf8(text));
    }
    void sendBinaryToAll(const QByteArray& bytes)
    {
        for (QWebSocket* socket : std::as_const(m_sockets))
            socket->sendBinaryMessage(bytes);
    }
    void setFrameSize(quint64 size)
    {
        for (QWebSocket* socket : std::as_const(m_sockets))
            socket->setOutgoingFrameSize(size);
    }
    int connectedCount() const { return int(m_sockets.size()); }
    int acceptedCount() const { return m_accepted; }
    const QList<QByteArray>& received() const { return m_received; }
    QList<QPointer<QWebSocket>> sockets() const
    {
        QList<QPointer<QWebSocket>> list;
        for (QWebSocket* socket : m_sockets)
            list.append(socket);
        return list;
    }

private:
    QWebSocketServer m_server;
    QByteArray m_version;
    QList<QWebSocket*> m_sockets;
    QList<QByteArray> m_received;
    QTimer m_pings;
    int m_pingCount = 0;
    int m_accepted = 0;
};

// A client that records every text message with its arrival time.
class RecordingClient : public QObject {
public:
    RecordingClient()
    {
        connect(&socket, &QWebSocket::textMessageReceived, this, [this](const QString& text) {
            messages.append(text.toUtf8());
            times.append(clock.elapsed());
        });
        connect(&socket, &QWebSocket::binaryMessageReceived, this,
            [this](const QByteArray& bytes) { binary.append(bytes); });
        connect(&socket, &QWebSocket::disconnected, this, [this] { ++disconnects; });
        connect(&socket, qOverload<QAbstractSocket::SocketError>(&QWebSocket::error), this,
            [this](QAbstractSocket::SocketError error) { errors.append(error); });
        clock.start();
    }
    ~RecordingClient() override { QObject::disconnect(&socket, nullptr, this, nullptr); }
    void open(const QUrl& url) { socket.open(url); }
    bool connected() const { return socket.state() == QAbstractSocket::ConnectedState; }
    QWebSocket socket;
    QList<QByteArray> messages;
    QList<QByteArray> binary;
    QList<qint64> times;
    QList<QAbstractSocket::SocketError> errors;
    int disconnects = 0;
    QElapsedTimer clock;
};

}
