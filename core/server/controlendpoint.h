#pragma once

#include <QByteArray>
#include <QObject>
#include <QString>

class QTcpServer;
class QTcpSocket;

namespace deltascope::server {

class ReferenceServer;

// A small HTTP/JSON endpoint on loopback that drives a ReferenceServer from another process (tests,
// the GUI): `GET /status`, `POST /fault/<name>` with the fault's JSON parameters, `POST /bots`
// {"paused":bool}, `POST /ticker-rate` {"rate":N[,"key":K]}, `POST /step` {"space","key","count"}.
// Answers are JSON; errors are 4xx with {"ok":false,"error":"..."}. One request per connection.
class ControlEndpoint : public QObject
{
    Q_OBJECT

public:
    explicit ControlEndpoint(ReferenceServer* server, QObject* parent = nullptr);
    ~ControlEndpoint() override;

    // Listens on 127.0.0.1 only; returns the port or 0 with errorString() set.
    quint16 listen(quint16 port = 0);
    QString errorString() const { return m_error; }
    quint16 port() const;

    struct Response {
        int status = 200;
        QByteArray body;
    };
    // The routing, without sockets (also used by tests).
    Response handle(const QByteArray& method, const QByteArray& path, const QByteArray& body);

private:
    void onReadyRead(QTcpSocket* socket);

    ReferenceServer* m_server;
    QTcpServer* m_listener = nullptr;
    QString m_error;
};

}
