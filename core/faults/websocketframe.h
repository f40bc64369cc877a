#pragma once

#include <QByteArray>
#include <QByteArrayView>
#include <QList>
#include <QPair>
#include <QString>

#include <utility>

namespace deltascope::faults {

// RFC 6455 opcodes.
enum class WsOpcode : quint8 {
    Continuation = 0x0,
    Text = 0x1,
    Binary = 0x2,
    Close = 0x8,
    Ping = 0x9,
    Pong = 0xA,
};
bool isControlOpcode(quint8 opcode);
QString opcodeName(quint8 opcode);

// One frame as it travelled: header fields, the unmasked payload, and the exact bytes (header,
// mask and masked payload) so an untouched frame can be forwarded byte for byte.
struct WsFrame {
    bool fin = true;
    quint8 rsv = 0; // RSV1..3 as bits 2..0 (RSV1 = 4)
    quint8 opcode = 0;
    bool masked = false;
    quint32 maskKey = 0;
    QByteArray payload; // unmasked
    QByteArray raw;
};

// Incremental frame parser for one direction of a connection. Feed bytes as they arrive and
// take complete frames with next(). A protocol violation stops the parser (Error) and leaves the
// unparsed bytes, starting at the offending frame, in buffered() so the caller can fall back to
// raw forwarding without losing a byte.
class WsFrameParser {
public:
    enum class Status { NeedMore, Frame, Error };

    // maxPayload guards memory against a peer announcing a huge frame; the proxy passes larger
    // frames through raw rather than buffering them.
    explicit WsFrameParser(quint64 maxPayload = quint64(64) << 20);

    void feed(QByteArrayView bytes) { m_buffer.append(bytes); }
    Status next(WsFrame& frame);
    const QString& error() const { return m_error; } // set when next() returned Error
    const QByteArray& buffered() const { return m_buffer; }
    QByteArray takeBuffered();
    // Bytes of a frame still incomplete at the front of the buffer (a peer vanishing mid-frame).
    qsizetype pendingBytes() const { return m_buffer.size(); }

private:
    QByteArray m_buffer;
    QString m_error;
    quint64 m_maxPayload;
};

// Encodes one frame. masked frames (client to server) use maskKey.
QByteArray encodeFrame(
    quint8 opcode, QByteArrayView payload, bool fin = true, bool masked = false, quint32 maskKey = 0, quint8 rsv = 0);
void applyMask(QByteArray& bytes, quint32 maskKey, qsizetype offset = 0);

// Checks a WebSocket message's fragment sequence: data frames start messages, continuations
// extend them, control frames may interleave. Feed each parsed frame; the result says what it
// means for message assembly.
class WsMessageAssembler {
public:
    enum class Result {
        Control, // a complete control frame (ping, pong, close)
        Message, // the frame completed a data message: take it with takeMessage()
        Partial, // the frame is part of a message still open
        Error, // a fragment out of order (see error())
    };
    Result add(const WsFrame& frame);
    // The assembled message: opcode of its first frame, payload, raw bytes of all its frames
    // (control frames that interleaved are not included: they were handed out on their own).
    quint8 opcode() const { return m_opcode; }
    QByteArray takePayload() { return std::exchange(m_payload, {}); }
    QByteArray takeRaw() { return std::exchange(m_raw, {}); }
    int frameCount() const { return m_frames; }
    bool inMessage() const { return m_open; }
    const QString& error() const { return m_error; }

private:
    bool m_open = false;
    quint8 m_opcode = 0;
    int m_frames = 0;
    QByteArray m_payload;
    QByteArray m_raw;
    QString m_error;
};

// The HTTP upgrade, as far as the proxy needs it.
struct HttpHead {
    QByteArray startLine;
    QList<QPair<QByteArray, QByteArray>> headers; // in order, names as sent
    QByteArray value(QByteArrayView name) const; // case-insensitive, first match
    bool remove(QByteArrayView name); // all matches; true if any
    void set(QByteArrayView name, QByteArrayView value); // replaces the first match or appends
    QByteArray serialize() const; // with the closing blank line
};
// Finds the end of an HTTP head (after "\r\n\r\n"); -1 when incomplete.
qsizetype httpHeadEnd(QByteArrayView bytes);
// Parses bytes [0, end) of a head. False if it is not HTTP/1.x shaped.
bool parseHttpHead(QByteArrayView bytes, HttpHead& head);

}
