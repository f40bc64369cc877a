#pragma once

#include <QMetaType>
#include <QString>

#include <cstdint>

namespace deltascope {

enum class Direction : quint8 {
    Inbound, // server -> client frame
    Outbound, // client -> server frame
    Local, // something the client, the fault layer or the analysis noted (no frame on the wire)
};
QString directionName(Direction direction); // "in", "out", "local"
bool directionFromName(QStringView name, Direction& out);

// One enum of event kinds, grouped by direction (GammaRay's protocol.h habit).
enum class EventKind : quint8 {
    // inbound frames
    Hello, // {"status":"connected",...}
    Ping, // {"ping":N,"latency":"L"}; code holds the latency in ms (-1 if absent)
    StreamItem, // {"deliver":id,"done":false,"response":{...}}
    Response, // {"deliver":id,"done":true,"response":{...}}
    StreamDone, // {"deliver":id,"done":true} (no response)
    Failure, // {"failure":id,"reason":code,"retry":bool}
    //   synthetic (FlagSynthetic, Direction::Local): {"failure":id} on socket loss (code 999), or
    //   {"failure":id,"reason":"not connected"} for a call made while disconnected (code 0)
    Disconnected, // {"status":"disconnected","reason":...}
    UnknownInbound, // valid JSON of no known shape, or for an id we do not know
    MalformedInbound, // not JSON, binary, or over the frame size limit (code: MalformedReason in core/protocol/envelope.h)
    // outbound frames
    Request, // {"method":..,"id":..}
    Pong,
    UnknownOutbound,
    // local events (payload: a JSON object with the event's fields)
    StateChanged, // {"from":"..","to":"..","reason":"..","delayMs":N (reconnecting only)}; code = failure code when "failed"
    ReconnectPlanned, // {"layer":"socket"|"stream","delayMs":N,"attempt":N,"policy":"..","reason":".."}; code = delay
    EpochStarted, // {"epoch":N,"requestId":N}
    FoldAnomaly, // {"anomaly":"..","path":"..","message":"..","event":N}
    FaultInjected, // {"fault":"..","params":{..},"corrupting":bool}
    Incident, // resync analysis of one incident
    VersionChanged, // {"from":"..","to":".."}
    Note, // {"note":".."}: free text from the user or a tool (also TLS errors)
    Count_
};
QString eventKindName(EventKind kind); // stable names used in captures: "hello", "stream-item", ...
bool eventKindFromName(QStringView name, EventKind& out);
Direction naturalDirection(EventKind kind);

// Which parts a stream item's delta carried (bit flags), for filters and the timeline.
enum StreamItemPart : quint16 {
    PartData = 1 << 0,
    PartSeq = 1 << 1,
    PartOutstanding = 1 << 2,
    PartBlockers = 1 << 3,
    PartViewStateFilter = 1 << 4,
    PartViewState = 1 << 5,
    PartLog = 1 << 6,
    PartGoto = 1 << 7,
    PartViewport = 1 << 8,
    PartForceDisconnect = 1 << 9,
    PartReload = 1 << 10,
};

// Where an event's payload (frame text, or the JSON fields of a local event) is kept. The log keeps
// only this reference; the store may be memory or a capture file on disk.
struct PayloadRef {
    quint64 offset = 0;
    quint32 length = 0; // bytes in the store (a capture file keeps a frame escaped, as a JSON string)
    quint32 size = 0; // the payload's own bytes (a frame as it went over the wire): what sizes and rates show
};

// One event of a session, compact (the event log budget is under 100 bytes per event beside the
// payload). Strings such as method and channel are interned by the EventLog (see EventLog::string).
struct SessionEvent {
    qint64 index = -1; // position in the log, stable
    qint64 monotonicNs = 0; // since the session started
    qint64 wallMs = 0; // milliseconds since the Unix epoch
    qint64 requestId = -1; // request id, deliver/failure id; -1 if none
    qint64 seq = -1; // stream item or ack seq; -1 if none
    qint64 linkedIndex = -1; // request <-> its response/failure/done; send ack -> stream item with that seq
    PayloadRef payload;
    qint32 code = 0; // failure reason, disconnect reason (int form), anomaly or fault count
    quint32 epoch = 0; // connection/create count at the time (0 before the first)
    quint16 parts = 0; // StreamItemPart flags
    quint16 methodString = 0; // interned: method for requests, channel for sends; 0 = none
    Direction direction = Direction::Local;
    EventKind kind = EventKind::Note;
    quint8 flags = 0; // EventFlag bits
};

enum EventFlag : quint8 {
    FlagRetryable = 1 << 0, // failure with retry:true
    FlagCorrupting = 1 << 1, // a fault that silently corrupts the client's tree
    FlagSnapshot = 1 << 2, // stream item that is the first data of its epoch (a full snapshot)
    FlagSynthetic = 1 << 3, // not seen on the wire: made by the client (e.g. the 999 socket-loss failure) or by a trim
};

}

Q_DECLARE_METATYPE(deltascope::SessionEvent)
