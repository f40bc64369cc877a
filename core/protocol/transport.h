#pragma once

#include <QByteArray>
#include <QObject>
#include <QString>
#include <QUrl>

#include <functional>
#include <limits>

namespace deltascope {

// Why a transport closed. Carried by Transport::closed.
struct TransportCloseInfo {
    bool wasOpen = false; // false: the open attempt itself failed (refused, DNS, TLS, handshake)
    bool error = false; // closed by an error rather than a close handshake
    int closeCode = 0; // WebSocket close code when the peer sent one (not one this client sent for a frame it refused)
    QString reason; // for people: the close reason or the error text
};

// A message transport under the protocol client: one text frame = one JSON object. Implementations
// are the WebSocket (QWebSocketTransport), an in-process pair (LoopbackTransport) and the fault
// layer's decorators. Lives on one thread. Signals:
//  - opened() once per successful open();
//  - textReceived(utf8) per text frame up to kMaxFrameBytes;
//  - binaryReceived(bytes) per binary frame, oversized(size, head) per frame over kMaxFrameBytes:
//    both are reported, never fatal; the transport stays open;
//  - closed(info) once when an open transport closes or an open attempt fails, but never for a
//    close() the owner asked for.
class Transport : public QObject
{
    Q_OBJECT
public:
    // adama-wire.md section 1's 4 MiB is what an Adama server accepts from a client
    // (websocket-max-frame-size configures its frame decoder). What it sends has no such limit,
    // and the reference client takes any size: a snapshot of a large document is one frame. So
    // a frame over it is received and folded (the client notes it); only frames over
    // kMaxFrameBytes, a bound against a hostile peer, are reported and dropped.
    static constexpr qint64 kServerFrameLimitBytes = 4 * 1024 * 1024;
    static constexpr qint64 kMaxFrameBytes = 64 * 1024 * 1024;
    static constexpr qsizetype kHeadBytes = 256; // how much of an oversized frame is kept

    enum class CloseMode {
        Clean, // WebSocket close handshake (FIN after it)
        Abort, // drop the connection at once (RST), as a crashed peer or a dead network would
    };

    using QObject::QObject;
    ~Transport() override = default;

    // Starts connecting; opened() or closed() follows asynchronously. Any previous connection is
    // abandoned silently.
    virtual void open(const QUrl& url) = 0;
    virtual void close(CloseMode mode) = 0;
    // Queues one text frame; false when not open.
    virtual bool sendText(const QByteArray& utf8) = 0;
    virtual bool isOpen() const = 0;
    // Frames received (and a close by the peer after them) not handed on yet, including those a
    // reading thread has read and not handed over (QWebSocketTransport): a transport may hand a
    // burst on over several turns of the event loop. Meanwhile isOpen() may already be false.
    virtual qsizetype pendingInbound() const { return 0; }
    // wss: skip certificate verification. Off by default; the UI must show a warning when on.
    // Takes effect at the next open().
    virtual void setInsecure(bool insecure) { m_insecure = insecure; }
    bool isInsecure() const { return m_insecure; }
    // For an owner whose other thread acts on the connection (the fault proxy's) and records what
    // it did in the same log as the frames: each record must land between the frames it came
    // between, even when a backlog is handed on over several turns. The owner numbers what its
    // other thread does; arrivalMark() is asked when a frame (or the peer's close) reaches this
    // transport, and the hook runs on this transport's thread just before each event is handed
    // on, with that event's mark: the owner records then what it numbered below the mark. Events
    // that are not frames (opened, TLS errors) get a mark too where they wait in line with frames
    // (QWebSocketTransport), kNoLimit where they never wait. The hook also runs when the last
    // waiting event has been handed on (with recordableBelow(): the mark of a frame still on its way
    // from a reading thread, or the mark now), and with kNoLimit when close() or open() dropped
    // what waited. Without a mark, every event gets kNoLimit. QWebSocketTransport asks for a mark
    // set before open() on its socket's thread, as each frame is read (so it must be safe to call
    // there), and for one set later when the frame's batch reaches this thread.
    static constexpr quint64 kNoLimit = std::numeric_limits<quint64>::max();
    void setArrivalMark(std::function<quint64()> mark) { m_arrivalMark = std::move(mark); }
    void setBeforeEachEvent(std::function<void(quint64 limit)> hook) { m_beforeEachEvent = std::move(hook); }
    // For an owner that records outside the hook: what it numbered below this may be recorded now
    // (the oldest waiting frame's mark, or, when nothing waits, the mark now). `framesWait` says
    // whether frames wait, whose hand-on will run the hook for the rest.
    virtual quint64 recordableBelow(bool* framesWait = nullptr) const
    {
        const bool waiting = pendingInbound() > 0;
        if (framesWait)
            *framesWait = waiting;
        return waiting ? 0 : arrivalMark();
    }
    // When each frame was read, for an owner that records frames with their times: a busy owner
    // thread may hand a frame on long after the socket read it (a burst goes over several turns),
    // and a debugger's gaps and latencies are the wire's. `clock` is read wherever the transport
    // reads (QWebSocketTransport: on its socket's thread, from the next open()), so it must be safe
    // to call from there. Without one, frameReadNs() is -1.
    void setReadClock(std::function<qint64()> clock) { m_readClock = std::move(clock); }
    bool hasReadClock() const { return bool(m_readClock); }
    // While a frame is handed on (inside textReceived, binaryReceived or oversized): the read clock's
    // time when it was read; -1 at any other time, or when there is no read clock.
    qint64 frameReadNs() const { return m_frameReadNs; }

Q_SIGNALS:
    void opened();
    void textReceived(const QByteArray& utf8);
    void binaryReceived(const QByteArray& bytes);
    void oversized(qint64 size, const QByteArray& head);
    void closed(const TransportCloseInfo& info);
    // TLS problems seen on wss, with the verdict: ignored only when insecure.
    void tlsErrors(const QStringList& errors, bool ignored);

protected:
    quint64 arrivalMark() const { return m_arrivalMark ? m_arrivalMark() : kNoLimit; }
    void beforeEachEvent(quint64 limit)
    {
        if (m_beforeEachEvent)
            m_beforeEachEvent(limit);
    }

    bool m_insecure = false;
    std::function<quint64()> m_arrivalMark;
    std::function<qint64()> m_readClock;
    qint64 m_frameReadNs = -1;
    std::function<void(quint64 limit)> m_beforeEachEvent;
};

}

Q_DECLARE_METATYPE(deltascope::TransportCloseInfo)
