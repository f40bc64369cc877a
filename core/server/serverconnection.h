#pragma once

#include "core/server/principal.h"

#include <QElapsedTimer>
#include <QHash>
#include <QJsonObject>
#include <QObject>
#include <QPointer>
#include <QSet>
#include <QTimer>

#include <deque>
#include <optional>

class QTcpSocket;
class QWebSocket;

namespace deltascope::server {

class DemoDocument;
class ReferenceServer;
struct Viewer;

// One WebSocket of the reference server: hello, heartbeat, idle timeout, request routing and the
// document streams it carries (adama-wire.md sections 2-4). All ids are per socket.
class ServerConnection : public QObject
{
    Q_OBJECT

public:
    enum class CloseKind : quint8 {
        CloseFrame, // a WebSocket close frame (1000), then TCP close
        Fin, // TCP FIN without a close frame, as the real server's end() does
        Reset, // TCP RST (SO_LINGER 0), an abrupt loss
    };

    ServerConnection(quint64 serial, QWebSocket* socket, QTcpSocket* tcp, ReferenceServer* server);
    ~ServerConnection() override;

    quint64 serial() const { return m_serial; }
    QString peer() const; // "127.0.0.1:53412", "[::1]:53412"
    // "close 1009 \"...\"" when a close frame was sent or received with a code or reason, else empty.
    QString closeSummary() const;
    const QHash<qint64, Viewer*>& streams() const { return m_streams; }
    bool isOpen() const { return !m_closed; }

    // Writes one text frame now, or queues it while stalled.
    void sendFrame(const QByteArray& frame);
    void close(CloseKind kind);

    // --- faults -----------------------------------------------------------------------------------
    // Stops writing (frames are queued), pinging and reading for the given time, keeping the socket
    // open: what the client sends meanwhile (requests, WebSocket pings, a close frame) waits unread
    // and unanswered, as behind a frozen server or a black-holed link, and is read when it ends.
    void stall(int milliseconds);
    bool isStalled() const { return m_stallTimer.isActive(); }
    // The session keep-alive fails: `status: disconnected` "keepalive-failure", then close.
    void sendKeepaliveFailureNow();
    // Ends one stream with a failure frame (the view is killed as on socket loss).
    void failStream(Viewer* viewer, int code);
    // `{"force-disconnect":true}` on the stream, then failure 403500.
    void forceDisconnect(Viewer* viewer);
    // The next `count` acks ({"seq":N} of a send) go out `milliseconds` late, after the item that
    // carries the same seq (adama-wire.md section 5: clients must not depend on that order).
    void delayAcks(int count, int milliseconds);
    // Pongs are not read for that long: `latency` in the pings stays where it was. They still count
    // as input for the read timeout, which sits below the handler in Netty.
    void ignorePongs(int milliseconds);

Q_SIGNALS:
    void closed(quint64 serial);

private:
    void onText(const QString& text);
    void onBinary();
    void onSocketDisconnected();
    void onHeartbeat();
    void touch();
    void protocolError(int code);
    void handleRequest(const QJsonObject& request, qint64 id);
    void reply(qint64 id, const QByteArray& response);
    void fail(qint64 id, int code);
    void endStreamLocally(qint64 id);
    void flushQueue();
    void scheduleFlush();
    bool backlogExceeded(qint64 queuedBytes);
    void onStallEnded();
    // Inbound bytes stay in the kernel while stalled (see stall()). releaseInbound() then reads
    // what came meanwhile; dropHeldInbound(), for a close, discards it.
    void holdInbound();
    void releaseInbound();
    void dropHeldInbound();

    void connectionCreate(const QJsonObject& request, qint64 id);
    void connectionSend(const QJsonObject& request, qint64 id, bool once);
    void connectionUpdate(const QJsonObject& request, qint64 id);
    void connectionEnd(const QJsonObject& request, qint64 id);
    void connectionCanAttach(const QJsonObject& request, qint64 id);
    void connectionAttach(const QJsonObject& request, qint64 id);
    void documentCreate(const QJsonObject& request, qint64 id);
    void directSend(const QJsonObject& request, qint64 id, bool once);
    // connection/send(-once) and message/direct-send(-once) once their parameters checked out.
    void sendMessage(DemoDocument* document, const Principal& who, const QString& channel, const std::optional<QString>& dedupe,
        const QJsonValue& message, qint64 id, bool once);
    void probe(const QJsonObject& request, qint64 id);
    void hashPassword(const QJsonObject& request, qint64 id);
    void makeOrGetAssetKey(qint64 id);
    // Socket diagnostics as Adama's stats handler streams them: one item per stat, then done.
    void stats(qint64 id);
    // An identity that just authenticated: Adama's per-socket identity cache keeps every one but
    // the anonymous, which it never caches (stats counts them).
    void noteAuthenticated(const QString& identity, const Principal& principal);

    quint64 m_serial;
    QWebSocket* m_socket;
    QPointer<QTcpSocket> m_tcp;
    ReferenceServer* m_server;
    QHash<QString, QString> m_cookieIdentities;
    QByteArray m_assetKey; // made by the socket's first configure/make-or-get-asset-key
    QHash<qint64, Viewer*> m_streams;
    QElapsedTimer m_created;
    qint64 m_createdEpochMs = 0; // Session.created: when the socket was upgraded, ms since the epoch
    QSet<QString> m_cachedIdentities; // see noteAuthenticated()
    qint64 m_latency = 0;
    qint64 m_lastRequestMs = -1;
    QTimer m_heartbeat;
    QTimer m_idle;
    QTimer m_stallTimer;
    std::deque<QByteArray> m_stallQueue;
    qint64 m_stallQueueBytes = 0;
    bool m_backlogExceeded = false; // dropped for a backlog over maxSendBacklogBytes; nothing more is queued
    bool m_inboundHeld = false;
    qint64 m_readBufferSizeBeforeStall = 0;
    int m_delayedAcks = 0;
    int m_ackDelayMs = 0;
    QElapsedTimer m_ignorePongsClock;
    qint64 m_ignorePongsMs = 0;
    bool m_closed = false;
    bool m_resetting = false;
    bool m_lingering = false; // a LingeringClose holds the socket (see serverconnection.cpp)
    bool m_flushScheduled = false;
};

}
