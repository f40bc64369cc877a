#pragma once

#include "core/protocol/transport.h"

#include <QPointer>

class QWebSocket;

namespace deltascope {

// ws:// and wss:// through QWebSocket. wss verifies certificates unless setInsecure(true).
// Frames over Transport::kMaxFrameBytes are reported by oversized() and dropped; QWebSocket itself
// refuses (and closes on) messages over kHardLimitBytes so a hostile peer cannot exhaust memory.
class QWebSocketTransport final : public Transport
{
    Q_OBJECT
public:
    static constexpr qint64 kHardLimitBytes = 64 * 1024 * 1024;

    explicit QWebSocketTransport(QObject* parent = nullptr);
    ~QWebSocketTransport() override;

    void open(const QUrl& url) override;
    void close(CloseMode mode) override;
    bool sendText(const QByteArray& utf8) override;
    bool isOpen() const override;

private:
    void discardSocket();
    QPointer<QWebSocket> m_socket;
    bool m_open = false;
    bool m_reportedClose = false;
};

}
