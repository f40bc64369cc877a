#include "core/protocol/loopbacktransport.h"

#include <QTimer>

namespace deltascope {

LoopbackTransport::LoopbackTransport(QObject* parent)
    : Transport(parent)
{
    m_peer = new LoopbackTransport(this, nullptr);
    m_ownsPeer = true;
}

LoopbackTransport::LoopbackTransport(LoopbackTransport* peer, QObject* parent)
    : Transport(parent)
    , m_peer(peer)
{
}

LoopbackTransport::~LoopbackTransport()
{
    if (m_ownsPeer && m_peer) {
        m_peer->m_peer = nullptr;
        delete m_peer.data();
    }
}

void LoopbackTransport::open(const QUrl& url)
{
    if (!m_ownsPeer || !m_peer)
        return;
    m_url = url;
    const quint64 generation = ++m_generation;
    m_peer->m_generation = generation;
    m_open = false;
    m_peer->m_open = false;
    QTimer::singleShot(0, this, [this, generation]() {
        if (generation != m_generation || !m_peer)
            return;
        if (m_refuse) {
            TransportCloseInfo info;
            info.error = true;
            info.reason = QStringLiteral("connection refused (loopback)");
            beforeEachEvent(kNoLimit);
            Q_EMIT closed(info);
            return;
        }
        ++m_openCount;
        m_open = true;
        m_peer->m_open = true;
        Q_EMIT m_peer->opened();
        beforeEachEvent(kNoLimit);
        Q_EMIT opened();
    });
}

void LoopbackTransport::close(CloseMode mode)
{
    const bool wasOpen = m_open;
    m_open = false;
    ++m_generation;
    if (!m_peer)
        return;
    if (!wasOpen) {
        m_peer->m_generation = m_generation;
        return;
    }
    m_peer->deliver(Inbound::Close, {}, mode);
}

void LoopbackTransport::remoteClosed(CloseMode mode)
{
    if (!m_open)
        return;
    m_open = false;
    ++m_generation;
    TransportCloseInfo info;
    info.wasOpen = true;
    info.error = mode == CloseMode::Abort;
    info.closeCode = mode == CloseMode::Clean ? 1000 : 0;
    info.reason = mode == CloseMode::Clean ? QStringLiteral("closed by peer") : QStringLiteral("connection reset by peer");
    Q_EMIT closed(info);
}

bool LoopbackTransport::sendText(const QByteArray& utf8)
{
    if (!m_open || !m_peer)
        return false;
    m_peer->deliver(Inbound::Text, utf8);
    return true;
}

bool LoopbackTransport::sendBinary(const QByteArray& bytes)
{
    if (!m_open || !m_peer)
        return false;
    m_peer->deliver(Inbound::Binary, bytes);
    return true;
}

void LoopbackTransport::deliver(Inbound kind, const QByteArray& bytes, CloseMode closeMode)
{
    const quint64 generation = m_generation;
    // As QWebSocketTransport's inbox: what the owner's other thread does while this waits for its
    // turn goes after it.
    const quint64 mark = arrivalMark();
    const qint64 readNs = m_readClock ? m_readClock() : -1; // read now, as a socket would
    ++m_inFlight;
    QTimer::singleShot(0, this, [this, generation, mark, readNs, kind, bytes, closeMode]() {
        --m_inFlight;
        const QPointer<LoopbackTransport> alive(this); // a slot may delete this transport
        if (generation == m_generation && m_open) {
            beforeEachEvent(mark);
            m_frameReadNs = readNs;
            if (kind == Inbound::Close)
                remoteClosed(closeMode);
            else if (bytes.size() > kMaxFrameBytes)
                Q_EMIT oversized(bytes.size(), bytes.left(kHeadBytes));
            else if (kind == Inbound::Binary)
                Q_EMIT binaryReceived(bytes);
            else
                Q_EMIT textReceived(bytes);
            if (alive)
                m_frameReadNs = -1;
        }
        // Nothing waits any more (handed on or dropped): what was held back for after it goes now.
        if (alive && m_inFlight == 0)
            beforeEachEvent(kNoLimit);
    });
}

}
