#pragma once

#include <QAbstractSocket>
#include <QByteArray>
#include <QJsonObject>
#include <QObject>
#include <QUrl>
#include <QWebSocket>

#include <chrono>
#include <functional>
#include <vector>

namespace deltascope::test {

// A raw loopback WebSocket peer for the reference server tests: records every frame as it came
// in and sends hand-built requests. Deliberately not the product's protocol client.
class WsClient : public QObject
{
    Q_OBJECT

public:
    explicit WsClient(QObject* parent = nullptr);

    // Connects and waits for the hello frame. False on timeout or error.
    bool open(const QUrl& url, std::chrono::milliseconds timeout = std::chrono::seconds(5));
    void close();
    void abort();
    bool isClosed() const { return m_closed; }
    QWebSocketProtocol::CloseCode closeCode() const { return m_socket.closeCode(); }
    bool closedWithFrame() const { return m_closeFrameSeen; }
    QWebSocket& socket() { return m_socket; }
    // Answers every server ping with a pong, as the JS client does, so the server's 60 s read
    // timeout (adama-wire.md section 1) never closes a stream that a long test only listens to.
    // Off by default: several tests check what a silent socket gets.
    void setAnswerPings(bool answer) { m_answerPings = answer; }
    int pongsSent() const { return m_pongsSent; }

    // Sends {"method":METHOD,"id":NEXT,...params}; returns the id.
    qint64 request(const QString& method, QJsonObject params = {});
    void sendText(const QString& text);
    void sendJson(const QJsonObject& object);
    void sendBinary(const QByteArray& data);

    const std::vector<QJsonObject>& frames() const { return m_frames; }
    const std::vector<QByteArray>& rawFrames() const { return m_raw; }
    // The first frame at or after `from` matching predicate, waiting up to timeout; an empty object
    // when none came. *index receives its position.
    QJsonObject waitFor(const std::function<bool(const QJsonObject&)>& predicate,
        std::chrono::milliseconds timeout = std::chrono::seconds(5), std::size_t from = 0, std::size_t* index = nullptr);
    // The frame that answers request id (done:true with response, or failure).
    QJsonObject waitForAnswer(qint64 id, std::chrono::milliseconds timeout = std::chrono::seconds(5));
    // Stream items (done:false) for id, in order.
    std::vector<QJsonObject> items(qint64 id) const;
    bool waitClosed(std::chrono::milliseconds timeout = std::chrono::seconds(5));

    qint64 nextId() const { return m_nextId; }

private:
    QWebSocket m_socket;
    std::vector<QJsonObject> m_frames;
    std::vector<QByteArray> m_raw;
    qint64 m_nextId = 1;
    bool m_closed = false;
    bool m_closeFrameSeen = false;
    bool m_answerPings = false;
    int m_pongsSent = 0;
};

QJsonObject parseObject(const QByteArray& json);
QByteArray compact(const QJsonObject& object);

}
