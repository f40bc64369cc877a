#pragma once

#include "core/protocol/transport.h"

#include <QPointer>

namespace deltascope {

// An in-process transport pair for tests and in-process servers. The client side is opened with
// open(url); its peer (the "server" side, created with it) emits opened() at the same time and
// can then send text or binary frames back. Delivery is queued to the next event-loop turn in
// both directions, as with a real socket, so re-entrancy matches production. The size limit and
// binary reporting match QWebSocketTransport. Opening again after a close reuses the same peer.
// With a read clock (Transport::setReadClock), a frame is read when the peer sends it.
class LoopbackTransport final : public Transport
{
    Q_OBJECT
public:
    explicit LoopbackTransport(QObject* parent = nullptr);
    ~LoopbackTransport() override;

    LoopbackTransport* peer() const { return m_peer; }

    void open(const QUrl& url) override; // client side only
    void close(CloseMode mode) override; // the other side gets closed()
    bool sendText(const QByteArray& utf8) override;
    bool isOpen() const override { return m_open; }
    // Frames sent by the peer, and its close, not handed on yet (each goes through the event loop;
    // one sent to an older connection counts until its turn drops it).
    qsizetype pendingInbound() const override { return m_inFlight; }

    bool sendBinary(const QByteArray& bytes);
    // Client side: the next open() attempts fail with closed(wasOpen=false) until set back.
    void setRefuseConnections(bool refuse) { m_refuse = refuse; }
    QUrl lastUrl() const { return m_url; }
    int openCount() const { return m_openCount; }

private:
    explicit LoopbackTransport(LoopbackTransport* peer, QObject* parent);
    enum class Inbound : quint8 { Text, Binary, Close };
    // Arrives now, is handed on in a later turn (the peer's close, with `closeMode`, after the
    // frames sent before it).
    void deliver(Inbound kind, const QByteArray& bytes, CloseMode closeMode = CloseMode::Clean);
    void remoteClosed(CloseMode mode);

    QPointer<LoopbackTransport> m_peer;
    QUrl m_url;
    quint64 m_generation = 0; // frames queued for an older connection are dropped
    int m_openCount = 0;
    bool m_open = false;
    bool m_refuse = false;
    bool m_ownsPeer = false;
    qsizetype m_inFlight = 0;
};

}
