#include "core/faults/servercontrol.h"

#include "core/faults/faultproxy.h"
#include "core/server/referenceserver.h"

#include <QDateTime>
#include <QEventLoop>
#include <QTimer>
#include <QHostAddress>
#include <QJsonDocument>
#include <QPointer>
#include <QTcpSocket>

#include <functional>

namespace deltascope::faults {

namespace {

constexpr int kControlTimeoutMs = 3000;

struct ControlReply {
    int status = 0;
    QJsonObject body;
    QString error; // transport or protocol trouble, empty when the endpoint answered
};

// One request per connection, as the control endpoint serves them. A plan step must know whether
// the server did what it asked, so this waits for the answer (bounded) in a local event loop, which
// also keeps an in-process server answering.
ControlReply controlRequest(const QUrl& url, const QByteArray& method, const QString& path, const QJsonObject& body = {})
{
    ControlReply reply;
    QTcpSocket socket;
    QByteArray response;
    QEventLoop loop;
    QTimer timeout;
    timeout.setSingleShot(true);
    QObject::connect(&timeout, &QTimer::timeout, &loop, &QEventLoop::quit);
    QObject::connect(&socket, &QTcpSocket::readyRead, &loop, [&] { response += socket.readAll(); });
    QObject::connect(&socket, &QTcpSocket::disconnected, &loop, &QEventLoop::quit);
    QObject::connect(&socket, &QTcpSocket::errorOccurred, &loop, [&](QAbstractSocket::SocketError error) {
        if (error != QAbstractSocket::RemoteHostClosedError)
            reply.error = QStringLiteral("cannot reach the server control at %1: %2").arg(url.toDisplayString(), socket.errorString());
        loop.quit();
    });
    const QByteArray content = method == "POST" ? QJsonDocument(body).toJson(QJsonDocument::Compact) : QByteArray();
    QObject::connect(&socket, &QTcpSocket::connected, &loop, [&] {
        socket.write(method + ' ' + path.toUtf8() + " HTTP/1.1\r\nHost: " + url.host().toUtf8() + "\r\nConnection: close\r\n"
            + "Content-Type: application/json\r\nContent-Length: " + QByteArray::number(content.size()) + "\r\n\r\n" + content);
    });
    socket.connectToHost(url.host(), quint16(url.port(80)));
    timeout.start(kControlTimeoutMs);
    loop.exec();
    response += socket.readAll();
    if (!reply.error.isEmpty())
        return reply;
    const qsizetype split = response.indexOf("\r\n\r\n");
    const QList<QByteArray> statusLine = response.left(response.indexOf("\r\n")).split(' ');
    if (split < 0 || statusLine.size() < 2) {
        reply.error = timeout.isActive()
            ? QStringLiteral("the server control at %1 gave no HTTP answer to %2 %3").arg(url.toDisplayString(), QString::fromLatin1(method), path)
            : QStringLiteral("the server control at %1 did not answer %2 %3 within %4 ms")
                  .arg(url.toDisplayString(), QString::fromLatin1(method), path)
                  .arg(kControlTimeoutMs);
        return reply;
    }
    reply.status = statusLine.at(1).toInt();
    reply.body = QJsonDocument::fromJson(response.mid(split + 4)).object();
    return reply;
}

QString replyError(const ControlReply& reply, const QString& what)
{
    if (!reply.error.isEmpty())
        return reply.error;
    if (reply.status != 200)
        return QStringLiteral("%1: the server control answered %2: %3").arg(what).arg(reply.status).arg(reply.body.value(QLatin1String("error")).toString());
    return {};
}

}

QString serverControlUrlProblem(const QUrl& controlUrl)
{
    if (!controlUrl.isValid() || controlUrl.scheme() != QLatin1String("http") || controlUrl.port() <= 0)
        return QStringLiteral("'%1' is not a control endpoint URL (expected http://127.0.0.1:PORT from deltascope-server --control-port)")
            .arg(controlUrl.toDisplayString());
    if (!QHostAddress(controlUrl.host()).isLoopback() && controlUrl.host() != QLatin1String("localhost"))
        return QStringLiteral("'%1': the server control is loopback only").arg(controlUrl.toDisplayString());
    return {};
}

QString probeServerControl(const QUrl& controlUrl)
{
    if (const QString problem = serverControlUrlProblem(controlUrl); !problem.isEmpty())
        return problem;
    return replyError(controlRequest(controlUrl, "GET", QStringLiteral("/status")), QStringLiteral("GET /status"));
}

namespace {

// How one server carries out a redeploy's steps: in-process, or over its control endpoint. Each
// step returns an empty string, or why it failed.
struct RedeploySteps {
    QString server; // names the server in the report: "reference server", "reference server at URL"
    QJsonObject reportParams; // added to the reported fault's params
    std::function<QString(QString* version)> currentVersion;
    std::function<QString(const QString& version)> setVersion;
    std::function<QString(qint64* closed)> closeSockets; // with FIN, as a process that exits does
};

// A redeploy done for real: the new version in place, new connects refused for downMs at the
// proxy, every socket closed, and the fault reported as one the proxy saw.
FaultPlanRunner::ServerControl redeployControl(RedeploySteps steps, FaultProxy* proxy)
{
    QPointer<FaultProxy> via(proxy);
    return [steps = std::move(steps), via](const FaultSpec& fault, QString* error) {
        const auto fail = [error](const QString& why) {
            if (error)
                *error = why;
            return false;
        };
        if (!via)
            return fail(QStringLiteral("the proxy is gone"));
        if (fault.type != FaultType::ServerRedeploy)
            return fail(QStringLiteral("the server control does not carry out '%1'").arg(fault.name()));
        QString previousVersion;
        if (const QString why = steps.currentVersion(&previousVersion); !why.isEmpty())
            return fail(why);
        QString version = fault.params.value(QLatin1String("version")).toString();
        if (version.isEmpty())
            version = QStringLiteral("redeployed-%1").arg(QDateTime::currentMSecsSinceEpoch());
        const int downMs = intParam(fault.params, "downMs");
        // Order matters: the new version must be in place before anyone can reconnect.
        if (const QString why = steps.setVersion(version); !why.isEmpty())
            return fail(why);
        via->refuseFor(downMs);
        qint64 closed = 0;
        if (const QString why = steps.closeSockets(&closed); !why.isEmpty())
            return fail(why);
        QJsonObject params = fault.params;
        params.insert(QStringLiteral("version"), version);
        params.insert(QStringLiteral("simulated"), false);
        params.insert(QStringLiteral("previousVersion"), previousVersion);
        for (auto it = steps.reportParams.begin(); it != steps.reportParams.end(); ++it)
            params.insert(it.key(), it.value());
        via->reportExternal({ fault.name(), params, false, -1,
            QStringLiteral("%1 redeployed: %2 socket(s) closed, connects refused for %3 ms, hello version now '%4'")
                .arg(steps.server)
                .arg(closed)
                .arg(downMs)
                .arg(version),
            0 });
        return true;
    };
}

}

FaultPlanRunner::ServerControl httpServerControl(const QUrl& controlUrl, FaultProxy* proxy)
{
    RedeploySteps steps;
    steps.server = QStringLiteral("reference server at %1").arg(controlUrl.toDisplayString());
    steps.reportParams.insert(QStringLiteral("control"), controlUrl.toDisplayString());
    steps.currentVersion = [controlUrl](QString* version) {
        const ControlReply status = controlRequest(controlUrl, "GET", QStringLiteral("/status"));
        *version = status.body.value(QLatin1String("version")).toString();
        return replyError(status, QStringLiteral("GET /status"));
    };
    steps.setVersion = [controlUrl](const QString& version) {
        return replyError(controlRequest(controlUrl, "POST", QStringLiteral("/fault/version"), { { QStringLiteral("version"), version } }),
            QStringLiteral("POST /fault/version"));
    };
    steps.closeSockets = [controlUrl](qint64* closed) {
        const ControlReply reply = controlRequest(controlUrl, "POST", QStringLiteral("/fault/close"), { { QStringLiteral("mode"), QStringLiteral("fin") } });
        *closed = reply.body.value(QLatin1String("affected")).toInteger();
        return replyError(reply, QStringLiteral("POST /fault/close"));
    };
    return redeployControl(std::move(steps), proxy);
}

FaultPlanRunner::ServerControl referenceServerControl(server::ReferenceServer* server, FaultProxy* proxy)
{
    QPointer<server::ReferenceServer> target(server);
    const QString gone = QStringLiteral("the reference server is gone");
    RedeploySteps steps;
    steps.server = QStringLiteral("reference server");
    steps.currentVersion = [target, gone](QString* version) {
        if (!target)
            return gone;
        *version = target->helloVersion();
        return QString();
    };
    steps.setVersion = [target, gone](const QString& version) {
        if (!target)
            return gone;
        target->setHelloVersion(version);
        return QString();
    };
    steps.closeSockets = [target, gone](qint64* closed) {
        if (!target)
            return gone;
        *closed = target->closeSockets(server::ServerConnection::CloseKind::Fin);
        return QString();
    };
    return redeployControl(std::move(steps), proxy);
}

}
