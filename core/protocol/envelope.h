#pragma once

#include "core/session/sessionevent.h"

#include <QByteArray>
#include <QByteArrayView>
#include <QString>

#include <cstdint>
#include <string>

namespace simdjson::dom {
class element;
class object;
}

namespace deltascope {

// Why an inbound frame could not be decoded (SessionEvent::code of a MalformedInbound event).
enum class MalformedReason : qint32 {
    NotJson = 1, // text that does not parse as JSON (or is not UTF-8)
    Binary = 2, // a binary frame
    Oversized = 3, // a frame over Transport::kMaxFrameBytes (64 MiB)
    NotAnObject = 4, // JSON, but not an object
};
QString malformedReasonName(MalformedReason reason);

// One inbound text frame, decoded (adama-wire.md sections 2 and 4). Decoding never throws.
struct InboundFrame {
    EventKind kind = EventKind::UnknownInbound;
    qint64 id = -1; // deliver / failure id
    bool idIsText = false; // the id came as a numeric string ("12"), which connection.js matches to no call
    qint64 seq = -1; // stream item delta seq, or the seq of a send ack ({"seq":N})
    quint16 parts = 0; // StreamItemPart flags of a stream item's delta
    qint32 code = 0; // failure reason, disconnect reason (int form), MalformedReason, ping latency in ms (-1 if none)
    bool retry = false; // failure "retry"
    bool hasReason = false; // failure carried "reason" (the synthetic 999 has none)
    bool done = false;
    QString status; // hello/disconnect "status"
    QString reasonText; // disconnect "reason" when it is a string (e.g. "keepalive-failure")
    QString version; // hello "version"
    qint64 ping = -1; // ping "ping" (ms since the socket was created)
    qint64 latencyMs = -1; // ping "latency" (string on the wire), -1 when absent or unparseable
    QString dedupe; // documents/create-dedupe response token
    QString error; // when kind is MalformedInbound or UnknownInbound: what was wrong, where
};
InboundFrame decodeInbound(QByteArrayView frame);

// The parts of a stream item a fold needs, from the whole frame text. `data` is the JSON text of
// the `data` member (an object from a correct server; anything else is the fold's to report), and
// empty when the item has none; `ok` is false when the frame is not a stream item with a
// `response.delta` object.
struct StreamDelta {
    bool ok = false;
    bool hasData = false;
    std::string data;
    qint64 seq = -1;
    quint16 parts = 0;
    QString error;
};
StreamDelta extractStreamDelta(QByteArrayView frame);
// The same from a frame already parsed (its root object). With `data` given, the `data` member's
// parsed value goes there instead of its text into StreamDelta::data, for a fold that takes parsed
// JSON (valid as long as the parser that made `frame` is not used again).
StreamDelta streamDeltaOf(const simdjson::dom::object& frame, simdjson::dom::element* data = nullptr);
// How deep in its frame that `data` value sits: the frame, response, delta, data.
inline constexpr std::uint32_t kStreamDataDepth = 4;

// Whether `json` is one JSON value of the given shape (for messages and viewer state given as text).
bool isJsonObject(QByteArrayView json, QString* error = nullptr);
bool isJsonObjectOrArray(QByteArrayView json, QString* error = nullptr);
// Compact JSON text of a value (minified), or empty when not JSON.
QByteArray minifyJson(QByteArrayView json);

// Builds outbound request objects by hand so messages keep their exact text (no double rounding
// of longs, key order preserved).
class RequestWriter
{
public:
    RequestWriter(QStringView method, qint64 id);
    RequestWriter& string(QStringView key, QStringView value);
    RequestWriter& integer(QStringView key, qint64 value);
    RequestWriter& raw(QStringView key, QByteArrayView json); // must already be valid JSON
    QByteArray finish();

private:
    QByteArray m_text;
};

// `text` as a quoted JSON string (appendJsonString, core/jsonstring.h).
QByteArray jsonQuote(QStringView text);

// The pong for a ping frame: the ping object echoed with a "pong" key added (seconds, as the
// reference JS client sends). Empty when the ping is not a JSON object.
QByteArray makePong(QByteArrayView pingFrame, qint64 wallMs);

}
