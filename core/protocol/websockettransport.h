#pragma once

#include "core/protocol/transport.h"

#include <QElapsedTimer>
#include <QMutex>
#include <QStringList>
#include <QThread>
#include <QTimer>

#include <deque>
#include <vector>

namespace deltascope {

// ws:// and wss:// through QWebSocket. wss verifies certificates unless setInsecure(true).
// Frames over Transport::kMaxFrameBytes are reported by oversized() and dropped; QWebSocket itself
// refuses (and closes on, 1009) messages over kHardLimitBytes so a hostile peer cannot exhaust memory.
//
// The socket lives on a thread of its own. QWebSocket reads every frame its socket holds in one
// go, decoding each: after a stall of a few seconds that is over 100,000 frames in one turn of the
// reading thread, and more the longer the stall. (A read buffer limit cannot bound it: Qt waits
// for a whole frame inside the limit, and frames reach kHardLimitBytes.) So the socket's thread
// reads, makes each frame UTF-8, and hands what it read over here in batches, one posted event per
// read; here it is handed on for at most kSliceMs per turn of the event loop, in order.
class QWebSocketTransport final : public Transport
{
    Q_OBJECT
public:
    static constexpr qint64 kHardLimitBytes = kMaxFrameBytes + 16 * 1024 * 1024;
    // How long one turn of the event loop hands received frames on before it yields.
    static constexpr qint64 kSliceMs = 20;
    // How long a clean close waits for the peer's answer before the socket is dropped.
    static constexpr int kCloseHandshakeMs = 5000;

    explicit QWebSocketTransport(QObject* parent = nullptr);
    ~QWebSocketTransport() override;

    void open(const QUrl& url) override;
    void close(CloseMode mode) override;
    bool sendText(const QByteArray& utf8) override;
    bool isOpen() const override;
    // What waits here, and what the socket's thread has read for the current connection and not yet
    // handed over.
    qsizetype pendingInbound() const override;
    quint64 recordableBelow(bool* framesWait = nullptr) const override;

private:
    class SocketWorker;
    // What the socket's thread delivered, in order, until it is handed on.
    struct Inbound {
        enum class Kind : quint8 { Opened, Text, Binary, Oversized, TlsErrors, Closed };
        Kind kind = Kind::Text;
        QByteArray bytes; // Text: its UTF-8; Binary: the frame; Oversized: its head
        qint64 size = 0; // Oversized: the frame's size
        QStringList tlsErrors;
        bool tlsIgnored = false;
        TransportCloseInfo close;
        quint64 mark = kNoLimit; // arrivalMark() when it was read (or reached this thread): the hook's limit at its hand-on
        bool markedOnRead = false; // `mark` was taken on the socket's thread
        qint64 readNs = -1; // the read clock when the socket's thread read it (-1: no read clock)
    };
    // Batches the socket's thread has started and this thread has not received yet, in order: their
    // items are read (and marked) but wait nowhere that handOn() sees. Shared with that thread.
    struct InFlight {
        struct Batch {
            quint64 connection;
            qsizetype items;
            quint64 firstMark; // the mark of its first item, kNoLimit when not marked on read
        };
        mutable QMutex lock;
        std::deque<Batch> batches;
    };

    // A batch from the socket's thread, for the connection open() number `connection`.
    void receive(quint64 connection, std::vector<Inbound> items);
    void handOn();
    void dropInbox();

    QThread m_thread;
    SocketWorker* m_worker = nullptr; // lives on m_thread; deleted there by the destructor
    quint64 m_connection = 0; // counts open() and close(): a batch of an abandoned connection is dropped
    bool m_open = false; // opened() was said, and no close since
    bool m_peerClosed = false; // the peer's close is in, though frames before it may still wait
    std::deque<Inbound> m_inbox;
    InFlight m_inFlight;
    QElapsedTimer m_slice; // running while this turn hands frames on
    bool m_handingOn = false; // handOn() is on the stack (a slot it called may call back)
    // Goes on with what is left in a later turn. A timer, not a posted call: Qt runs the posted
    // events of a turn in one go, and calls that post themselves again (this one and the incident
    // analyzer's) kept the window's timers from running for over 100 ms after a stall's release.
    QTimer m_resume;
};

}
