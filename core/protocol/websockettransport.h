#pragma once

#include "core/protocol/transport.h"

#include <QElapsedTimer>
#include <QPointer>
#include <QTimer>

#include <deque>

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

    // How long one turn of the event loop hands received frames on before it yields.
    static constexpr qint64 kSliceMs = 20;
    // How long a clean close waits for the peer's answer before the socket is dropped.
    static constexpr int kCloseHandshakeMs = 5000;
    qsizetype pendingInbound() const override { return qsizetype(m_inbox.size()); }

private:
    // What the socket delivered, in order, until it is handed on. QWebSocket hands over every
    // frame its socket holds in one go: after a stall that can be tens of thousands, and folding
    // them all in that turn held the window for over half a second (bench_gui's stall release).
    // So they are handed on for at most kSliceMs per turn, the rest in the next turns. Qt's own
    // reading of the burst still takes one turn: a read buffer limit would bound it, but Qt then
    // waits for a whole frame inside that limit, and frames reach kHardLimitBytes.
    struct Inbound {
        enum class Kind : quint8 { Text, Binary, Closed };
        Kind kind = Kind::Text;
        QString text; // as QWebSocket gives it: made UTF-8 when handed on, outside Qt's reading turn
        QByteArray bytes;
        TransportCloseInfo close;
        quint64 mark = kNoLimit; // arrivalMark() when it arrived: the hook's limit at its hand-on
    };
    void receive(Inbound item);
    void handOn();
    void dropInbox();
    void discardSocket();
    QPointer<QWebSocket> m_socket;
    bool m_open = false;
    bool m_reportedClose = false;
    std::deque<Inbound> m_inbox;
    QElapsedTimer m_slice; // running while this turn hands frames on
    bool m_handingOn = false; // handOn() is on the stack (a slot it called may call back)
    // Goes on with what is left in a later turn. A timer, not a posted call: Qt runs the posted
    // events of a turn in one go, and calls that post themselves again (this one and the incident
    // analyzer's) kept the window's timers from running for over 100 ms after a stall's release.
    QTimer m_resume;
};

}
