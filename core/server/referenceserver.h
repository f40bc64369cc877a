#pragma once

#include "core/document/documenttree.h"
#include "core/server/serverconnection.h"

#include <QHash>
#include <QHostAddress>
#include <QJsonObject>
#include <QObject>
#include <QPointer>

#include <map>
#include <memory>
#include <optional>

class QTcpServer;
class QTcpSocket;
class QWebSocketServer;

namespace deltascope::server {

class DemoDocument;
struct Viewer;

struct ServerOptions {
    QHostAddress bind = QHostAddress::LocalHost;
    quint16 port = 0; // 0: any free port
    quint64 seed = 1;
    QString version = QStringLiteral("20240912211736"); // hello `version` for new sockets
    QString tlsCertificate; // PEM files; both set: wss
    QString tlsKey;
    int pingIntervalMs = 1000;
    int idleTimeoutMs = 60000; // no inbound frame for this long closes the socket
    int handshakeTimeoutMs = 2500;
    qint64 maxFrameBytes = 4 * 1024 * 1024;
    // Unsent bytes a socket may hold (written but not read by the peer, or held by a stall fault)
    // before it is dropped; 0: no limit.
    qint64 maxSendBacklogBytes = 64 * 1024 * 1024;
    double chatBotRate = 0.5; // transactions per second of each demo's own activity
    double gameBotRate = 1.5;
    double tickerRate = 20; // ticker keys `rate-N` override this
    double bigBotRate = 2;
    qint64 turnTimeoutMs = 30000; // game: a person who does not answer is moved for
    qint64 dedupeExpiryMs = 10 * 60 * 1000;
    qint64 dedupeSweepMs = 60 * 1000;
    bool botsPaused = false;
};

// Which streams or sockets a fault applies to. Empty fields match everything.
struct FaultTarget {
    QString agent;
    QString space;
    QString key;
    bool matches(const Viewer& viewer, const DemoDocument& document) const;
    bool isEmpty() const { return agent.isEmpty() && space.isEmpty() && key.isEmpty(); }
    static FaultTarget fromJson(const QJsonObject& object);
};

struct FaultResult {
    bool ok = true;
    int affected = 0; // sockets or streams the fault reached
    QString error; // when !ok: what was wrong with the request
};

// The reference Adama document server: a faithful endpoint on `/~s` (adama-wire.md sections 1-9)
// with the demo spaces chat, game, ticker and big, plus server-side faults. Runs on the thread
// that owns it; the executable, tests and the GUI's demo mode all use this class.
class ReferenceServer : public QObject
{
    Q_OBJECT

public:
    explicit ReferenceServer(ServerOptions options = {}, QObject* parent = nullptr);
    ~ReferenceServer() override;

    // Starts listening; returns the port, or 0 with errorString() set (port taken, bad TLS files).
    quint16 listen();
    void close();
    bool isListening() const;
    quint16 port() const;
    QString errorString() const { return m_error; }
    QString url() const; // ws://127.0.0.1:PORT/~s (wss with TLS)
    const ServerOptions& options() const { return m_options; }
    static QStringList spaces(); // chat, game, ticker, big

    // --- faults (each logs one line) ----------------------------------------------------------------
    int closeSockets(ServerConnection::CloseKind kind, const FaultTarget& target = {});
    int stall(int milliseconds, const FaultTarget& target = {});
    void setHelloVersion(const QString& version);
    int redeploy(bool nextSchema, const FaultTarget& target = {});
    int sendReload(bool preserveView, const FaultTarget& target = {});
    int forceDisconnect(const FaultTarget& target = {});
    int failStreams(int code, const FaultTarget& target = {});
    void refuseConnects(int count, int code = 183498);
    int dropNextDeltas(int count, const FaultTarget& target = {});
    int duplicateNextDeltas(int count, const FaultTarget& target = {});
    int reorderNextDeltas(int count, const FaultTarget& target = {});
    int keepaliveFailure(const FaultTarget& target = {});
    int delayAcks(int count, int milliseconds, const FaultTarget& target = {});
    int ignorePongs(int milliseconds, const FaultTarget& target = {});
    // By name, with the JSON parameters the control endpoint and --fault take (see README.md).
    FaultResult applyFault(const QString& name, const QJsonObject& parameters);
    static QStringList faultNames();
    // What is wrong with a fault's parameters (a name the fault does not take, a value of the wrong
    // type or out of range), or empty. `scheduled`: the command line's --fault, which also takes
    // "after" and "every".
    static QString faultParameterError(const QString& name, const QJsonObject& parameters, bool scheduled);
    // The part of faultParameterError() that checks values (a mode, a count, seconds in range).
    static QString faultValueError(const QString& name, const QJsonObject& parameters);

    // --- settings ---------------------------------------------------------------------------------
    void setBotsPaused(bool paused);
    void setTickerRate(double rate, const QString& key = {}); // empty key: the default and all ticker documents
    void setIdleTimeout(int milliseconds) { m_options.idleTimeoutMs = milliseconds; }
    void setPingInterval(int milliseconds) { m_options.pingIntervalMs = milliseconds; }

    // --- inspection and test hooks ----------------------------------------------------------------
    QJsonObject status() const;
    DemoDocument* document(const QString& space, const QString& key) const;
    // The document, made on first use (connection/create invents documents in the demo spaces).
    DemoDocument* documentFor(const QString& space, const QString& key);
    bool createDocument(const QString& space, const QString& key, const QJsonObject& arg);
    // The view the server holds for the stream of `agent` on space/key now (the first such stream).
    std::optional<DocumentTree> currentView(const QString& space, const QString& key, const QString& agent) const;
    std::optional<DocumentTree> lastSentView(const QString& space, const QString& key, const QString& agent) const;
    int socketCount() const { return static_cast<int>(m_connections.size()); }
    int streamCount() const;
    QList<ServerConnection*> connections() const;

    // Used by ServerConnection.
    QString helloVersion() const { return m_options.version; }
    int takeRefusal(); // 0, or the code with which to refuse this connection/create
    void log(const QString& line);

Q_SIGNALS:
    // One line per connect, disconnect and fault, for a log or a status bar.
    void logLine(const QString& line);
    void socketOpened(quint64 serial);
    void socketClosed(quint64 serial);

private:
    void onIncoming(QTcpSocket* socket);
    void onHttpHead(QTcpSocket* socket);
    void onWebSocket();
    std::vector<std::pair<ServerConnection*, Viewer*>> targetedStreams(const FaultTarget& target) const;
    std::vector<ServerConnection*> targetedSockets(const FaultTarget& target) const;

    ServerOptions m_options;
    QString m_error;
    QTcpServer* m_tcpServer = nullptr;
    QWebSocketServer* m_wsServer = nullptr;
    // By peer address and port (peerKey()), until the WebSocket appears: a port alone is not
    // unique once clients come from more than one host.
    QHash<QString, QPointer<QTcpSocket>> m_upgrading;
    std::map<quint64, ServerConnection*> m_connections;
    std::map<std::pair<QString, QString>, std::unique_ptr<DemoDocument>> m_documents;
    quint64 m_nextSocketSerial = 1;
    int m_refuseCount = 0;
    int m_refuseCode = 183498;
};

}
