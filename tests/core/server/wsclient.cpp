#include "wsclient.h"

#include "tests/support/testutils.h"

#include <QJsonDocument>

namespace deltascope::test {

WsClient::WsClient(QObject* parent)
    : QObject(parent)
{
    m_socket.setMaxAllowedIncomingFrameSize(64 * 1024 * 1024);
    m_socket.setMaxAllowedIncomingMessageSize(64 * 1024 * 1024);
    connect(&m_socket, &QWebSocket::textMessageReceived, this, [this](const QString& text) {
        const QByteArray utf8 = text.toUtf8();
        m_raw.push_back(utf8);
        m_frames.push_back(parseObject(utf8));
        const QJsonObject& frame = m_frames.back();
        if (m_answerPings && frame.contains(QLatin1String("ping")) && !frame.contains(QLatin1String("deliver"))) {
            QJsonObject pong = frame;
            pong.insert(QStringLiteral("pong"), true);
            sendJson(pong);
            ++m_pongsSent;
        }
    });
    connect(&m_socket, &QWebSocket::disconnected, this, [this] {
        m_closed = true;
        m_closeFrameSeen = !m_socket.closeReason().isEmpty(); // the server names its clean closes
    });
}

bool WsClient::open(const QUrl& url, std::chrono::milliseconds timeout)
{
    m_socket.open(url);
    return waitUntil([this] { return !m_frames.empty() || m_closed; }, timeout) && !m_frames.empty();
}

void WsClient::close()
{
    m_socket.close();
}

void WsClient::abort()
{
    m_socket.abort();
}

qint64 WsClient::request(const QString& method, QJsonObject params)
{
    const qint64 id = m_nextId++;
    params.insert(QStringLiteral("method"), method);
    params.insert(QStringLiteral("id"), id);
    sendJson(params);
    return id;
}

void WsClient::sendText(const QString& text)
{
    m_socket.sendTextMessage(text);
}

void WsClient::sendJson(const QJsonObject& object)
{
    m_socket.sendTextMessage(QString::fromUtf8(compact(object)));
}

void WsClient::sendBinary(const QByteArray& data)
{
    m_socket.sendBinaryMessage(data);
}

QJsonObject WsClient::waitFor(const std::function<bool(const QJsonObject&)>& predicate,
    std::chrono::milliseconds timeout, std::size_t from, std::size_t* index)
{
    std::size_t scanned = from;
    QJsonObject found;
    waitUntil(
        [&] {
            for (; scanned < m_frames.size(); ++scanned) {
                if (predicate(m_frames[scanned])) {
                    found = m_frames[scanned];
                    if (index)
                        *index = scanned;
                    return true;
                }
            }
            return false;
        },
        timeout);
    return found;
}

QJsonObject WsClient::waitForAnswer(qint64 id, std::chrono::milliseconds timeout)
{
    return waitFor(
        [id](const QJsonObject& frame) {
            return (frame.value(QLatin1String("deliver")).toInteger() == id && frame.value(QLatin1String("done")).toBool())
                || frame.value(QLatin1String("failure")).toInteger(-1) == id;
        },
        timeout);
}

std::vector<QJsonObject> WsClient::items(qint64 id) const
{
    std::vector<QJsonObject> result;
    for (const QJsonObject& frame : m_frames) {
        if (frame.value(QLatin1String("deliver")).toInteger() == id && !frame.value(QLatin1String("done")).toBool())
            result.push_back(frame);
    }
    return result;
}

bool WsClient::waitClosed(std::chrono::milliseconds timeout)
{
    return waitUntil([this] { return m_closed; }, timeout);
}

QJsonObject parseObject(const QByteArray& json)
{
    return QJsonDocument::fromJson(json).object();
}

QByteArray compact(const QJsonObject& object)
{
    return QJsonDocument(object).toJson(QJsonDocument::Compact);
}

}
