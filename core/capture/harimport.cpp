#include "core/capture/harimport.h"

#include "core/capture/captureformat.h"
#include "core/capture/zstdreaddevice.h"
#include "core/jsonparse.h"
#include "core/protocol/envelope.h"
#include "core/protocol/transport.h"
#include "core/version.h"

#include <QBuffer>
#include <QFile>
#include <QDateTime>
#include <QFileInfo>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QSet>

#include <simdjson.h>
#include <zlib.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <optional>
#include <utility>

namespace deltascope {

namespace {

struct OutboundFrame {
    EventKind kind = EventKind::UnknownOutbound;
    qint64 id = -1;
    QString method;
    QString channel;
};

OutboundFrame decodeOutbound(QByteArrayView frame)
{
    OutboundFrame result;
    simdjson::dom::parser parser;
    simdjson::dom::element element;
    if (parseJsonText(parser, frame.data(), std::size_t(frame.size())).get(element) || !element.is_object())
        return result;
    simdjson::dom::object object = element.get_object().value_unsafe();
    std::string_view method;
    if (!object["method"].get(method)) {
        result.method = QString::fromUtf8(method.data(), qsizetype(method.size()));
        simdjson::dom::element id;
        if (!object["id"].get(id)) {
            int64_t number = 0;
            std::string_view text;
            if (!id.get(number)) {
                result.id = number;
            } else if (!id.get(text)) {
                bool ok = false;
                const qint64 parsed = QByteArray(text.data(), qsizetype(text.size())).toLongLong(&ok);
                if (ok)
                    result.id = parsed;
            }
        }
        std::string_view channel;
        if (!object["channel"].get(channel))
            result.channel = QString::fromUtf8(channel.data(), qsizetype(channel.size()));
        result.kind = EventKind::Request;
        return result;
    }
    simdjson::dom::element pong;
    if (!object["pong"].get(pong))
        result.kind = EventKind::Pong;
    return result;
}

// A local event a Deltascope export wrote to an entry's `_deltascope.localEvents`, read back.
struct LocalEventFacts {
    qsizetype item = 0; // position in localEvents, for notices
    qint64 order = -1; // the index it had in the exported capture: where it goes among the messages
    SessionEvent event; // kind, direction, times, epoch, seq, request id, code, flags
    QByteArray fields;
    bool hasNs = false;
    bool hasWallMs = false;
    bool hasEpoch = false;
};

// A whole number a qint64 holds (JSON numbers are doubles here; an exported ns is exact to 2^53).
bool wholeNumber(const QJsonValue& value, qint64& out)
{
    if (!value.isDouble())
        return false;
    const double number = value.toDouble();
    if (!(number == std::floor(number) && number >= -9.2e18 && number <= 9.2e18))
        return false;
    out = qint64(number);
    return true;
}

// An epoch number as exports write it (a whole number a quint32 holds).
bool epochNumber(const QJsonValue& value, quint32& out)
{
    qint64 number = 0;
    if (!wholeNumber(value, number) || number < 0 || number > std::numeric_limits<quint32>::max())
        return false;
    out = quint32(number);
    return true;
}

// Builds one session from one entry's messages, classifying frames like a live session.
// The largest frame an Adama server takes (adama-wire.md 1); the reference server's default too.
constexpr qsizetype kAdamaFrameLimit = 4 * 1024 * 1024;

class SessionBuilder
{
public:
    explicit SessionBuilder(ImportedSession& session)
        : m_session(session)
    {
    }

    void add(bool outbound, double timeSeconds, const QByteArray& data, bool binary)
    {
        SessionEvent event;
        stamp(event, timeSeconds);
        event.direction = outbound ? Direction::Outbound : Direction::Inbound;
        EventLog& log = *m_session.log;
        ++m_session.frames;
        if (outbound) {
            const OutboundFrame frame = binary ? OutboundFrame() : decodeOutbound(data);
            event.kind = frame.kind;
            if (binary)
                event.code = qint32(MalformedReason::Binary); // an export writes it as opcode 2 again
            event.requestId = frame.id;
            if (frame.kind == EventKind::Request) {
                const bool isSend = frame.method == QLatin1String("connection/send") || frame.method == QLatin1String("connection/send-once");
                event.methodString = log.intern(isSend && !frame.channel.isEmpty() ? frame.channel : frame.method);
                if (frame.method == QLatin1String("connection/create") || frame.method == QLatin1String("connection/create-via-domain")) {
                    startEpoch(event, frame.id, false);
                    m_requestMethods.insert(frame.id, frame.method);
                }
                m_requestMethods.insert(frame.id, frame.method);
            } else if (frame.kind == EventKind::UnknownOutbound) {
                ++m_session.unknownFrames;
            }
            event.epoch = m_epoch;
            log.append(event, data);
            return;
        }
        if (binary) {
            event.kind = EventKind::MalformedInbound;
            event.code = 2; // MalformedReason::Binary
            event.epoch = m_epoch;
            ++m_session.unknownFrames;
            log.append(event, data);
            return;
        }
        InboundFrame frame = decodeInbound(data);
        if (frame.idIsText && frame.kind != EventKind::UnknownInbound && frame.kind != EventKind::MalformedInbound) {
            // As the browser's client did: connection.js keys its calls by number, so a frame whose
            // id is text ("1") reached none and changed nothing.
            frame.kind = EventKind::UnknownInbound;
            frame.id = -1;
        }
        event.kind = frame.kind;
        event.requestId = frame.id;
        event.seq = frame.seq;
        event.parts = frame.parts;
        event.code = frame.code;
        if (frame.retry)
            event.flags |= FlagRetryable;
        if (frame.kind == EventKind::UnknownInbound || frame.kind == EventKind::MalformedInbound)
            ++m_session.unknownFrames;
        if (frame.kind == EventKind::Hello)
            m_sawHello = true;
        if (frame.kind == EventKind::StreamItem && frame.id != m_streamId && !m_requestMethods.contains(frame.id)
            && m_streamId < 0) {
            // A stream whose connection/create the HAR no longer has: the browser dropped the
            // oldest frames. Open a synthetic epoch so its items still fold (from a partial tree).
            m_session.header.partial = true;
            m_session.notices << QStringLiteral("frame %1: stream %2 started before the first frame the HAR kept; "
                                                "its first document tree is partial")
                                     .arg(m_session.frames)
                                     .arg(frame.id);
            startEpoch(event, frame.id, true);
        }
        event.epoch = m_epoch;
        if (frame.kind == EventKind::StreamItem && frame.id == m_streamId && (frame.parts & PartData) && !m_epochHasData) {
            m_epochHasData = true;
            if (!m_partialEpoch)
                event.flags |= FlagSnapshot;
        }
        const qint64 index = log.append(event, data);
        if (frame.kind == EventKind::Response || frame.kind == EventKind::StreamDone || frame.kind == EventKind::Failure) {
            const qint64 request = log.requestIndex(frame.id);
            if (request >= 0 && log.at(request).linkedIndex < 0)
                log.link(request, index);
            if (frame.kind == EventKind::Response && frame.seq >= 0 && request >= 0) {
                const QString method = m_requestMethods.value(frame.id);
                if (method.startsWith(QLatin1String("connection/send"))) {
                    const qint64 item = log.streamItemWithSeq(frame.seq, event.epoch);
                    if (item >= 0)
                        log.linkSeq(index, item);
                }
            }
        }
    }

    // A local note at the given time (a WebSocket error or close the HAR recorded).
    void addNote(double timeSeconds, const QString& text)
    {
        SessionEvent event;
        stamp(event, timeSeconds);
        event.kind = EventKind::Note;
        event.direction = Direction::Local;
        event.epoch = m_epoch;
        m_session.log->append(event, QJsonDocument(QJsonObject { { QStringLiteral("note"), text } }).toJson(QJsonDocument::Compact));
    }

    // A frame kept as it is, not classified: a control frame (close, ping, pong) or one whose
    // data could not be decoded.
    void addUnknown(bool outbound, double timeSeconds, const QByteArray& data)
    {
        SessionEvent event;
        stamp(event, timeSeconds);
        event.direction = outbound ? Direction::Outbound : Direction::Inbound;
        event.kind = outbound ? EventKind::UnknownOutbound : EventKind::UnknownInbound;
        event.epoch = m_epoch;
        ++m_session.frames;
        ++m_session.unknownFrames;
        m_session.log->append(event, data);
    }

    // An inbound frame over the live client's limit: recorded as that client records one (its
    // size and first bytes, as MalformedInbound "oversized"), not kept whole.
    void addOversized(double timeSeconds, const QByteArray& data)
    {
        SessionEvent event;
        stamp(event, timeSeconds);
        event.direction = Direction::Inbound;
        event.kind = EventKind::MalformedInbound;
        event.code = qint32(MalformedReason::Oversized);
        event.epoch = m_epoch;
        ++m_session.frames;
        ++m_session.unknownFrames;
        m_session.log->append(event,
            QJsonDocument(QJsonObject { { QStringLiteral("malformed"), QStringLiteral("oversized") }, { QStringLiteral("size"), double(data.size()) },
                              { QStringLiteral("limit"), double(Transport::kMaxFrameBytes) },
                              { QStringLiteral("head"), QString::fromUtf8(data.left(Transport::kHeadBytes)) } })
                .toJson(QJsonDocument::Compact));
    }

    // For an entry a Deltascope export wrote: the epochs its local events bring (by the request
    // id that started each), which the builder then does not make again.
    void setRestoring(QSet<qint64> restoredEpochs)
    {
        m_restoring = true;
        m_restoredEpochs = std::move(restoredEpochs);
    }
    // The exported facts of the next frame (add, addUnknown, addOversized or addNote): its
    // monotonic time and epoch, used instead of what the HAR's time and the frames say.
    void setFrameFacts(std::optional<qint64> ns, std::optional<quint32> epoch)
    {
        m_frameNs = ns;
        m_frameEpoch = epoch;
    }

    // A local event restored from `_deltascope.localEvents`. Its time never goes back before the
    // event before it (EventLog::firstAtOrAfter searches times in log order): if it does, it is
    // said and kept at that time.
    void addLocal(const LocalEventFacts& local, const QString& where)
    {
        SessionEvent event = local.event;
        if (!local.hasNs) {
            event.monotonicNs = m_lastNs;
        } else if (event.monotonicNs < m_lastNs) {
            m_session.notices << QStringLiteral("%1: ns %2 is before the event before it (%3); kept at %3 so the log's times never go back")
                                     .arg(where)
                                     .arg(event.monotonicNs)
                                     .arg(m_lastNs);
            event.monotonicNs = m_lastNs;
        }
        if (!local.hasWallMs)
            event.wallMs = m_haveTime ? m_lastWallMs + (event.monotonicNs - m_lastNs) / 1000000 : m_session.header.startedWallMs;
        if (!local.hasEpoch)
            event.epoch = m_epoch;
        m_lastNs = event.monotonicNs;
        m_lastWallMs = event.wallMs;
        m_haveTime = true;
        EventLog& log = *m_session.log;
        const qint64 index = log.append(event, local.fields);
        // A failure the client made (socket loss, a call while disconnected) answers its request
        // as a live session links it.
        if ((event.kind == EventKind::Failure || event.kind == EventKind::Response || event.kind == EventKind::StreamDone) && event.requestId >= 0) {
            const qint64 request = log.requestIndex(event.requestId);
            if (request >= 0 && log.at(request).linkedIndex < 0)
                log.link(request, index);
        }
    }

    bool sawHello() const { return m_sawHello; }
    qint64 backwardSteps() const { return m_backwardSteps; }

private:
    void stamp(SessionEvent& event, double timeSeconds)
    {
        const std::optional<qint64> factsNs = std::exchange(m_frameNs, std::nullopt);
        m_epochFromFacts = m_frameEpoch.has_value();
        if (m_frameEpoch)
            m_epoch = *std::exchange(m_frameEpoch, std::nullopt);
        event.wallMs = qint64(std::llround(timeSeconds * 1000.0));
        qint64 ns = 0;
        if (factsNs) {
            ns = *factsNs;
        } else if (m_restoring && m_haveTime) {
            // A Deltascope export's message without its ns: its wall-clock step from the event before.
            ns = m_lastNs + std::max<qint64>(0, event.wallMs - m_lastWallMs) * 1000000;
        } else {
            const qint64 wallNs = qint64(std::llround(timeSeconds * 1e9));
            if (m_firstNs < 0)
                m_firstNs = wallNs;
            ns = wallNs - m_firstNs;
        }
        if (ns < m_lastNs)
            ++m_backwardSteps;
        event.monotonicNs = std::max(m_lastNs, ns); // keep time monotonic even if the HAR is not
        m_lastNs = event.monotonicNs;
        m_lastWallMs = event.wallMs;
        m_haveTime = true;
    }

    void startEpoch(const SessionEvent& at, qint64 requestId, bool synthetic)
    {
        if (!m_epochFromFacts)
            ++m_epoch;
        m_streamId = requestId;
        m_epochHasData = false;
        m_partialEpoch = synthetic;
        if (m_restoredEpochs.contains(requestId))
            return; // a Deltascope export's own epoch event, restored from its local events
        SessionEvent epoch;
        epoch.kind = EventKind::EpochStarted;
        epoch.direction = Direction::Local;
        epoch.monotonicNs = at.monotonicNs;
        epoch.wallMs = at.wallMs;
        epoch.epoch = m_epoch;
        epoch.requestId = requestId;
        if (synthetic)
            epoch.flags |= FlagSynthetic;
        const QByteArray fields = "{\"epoch\":" + QByteArray::number(m_epoch) + ",\"requestId\":" + QByteArray::number(requestId)
            + (synthetic ? ",\"synthetic\":true,\"partial\":true}" : "}");
        m_session.log->append(epoch, fields);
    }

    ImportedSession& m_session;
    quint32 m_epoch = 0;
    qint64 m_streamId = -1;
    bool m_epochHasData = false;
    bool m_partialEpoch = false;
    bool m_sawHello = false;
    qint64 m_firstNs = -1;
    qint64 m_lastNs = 0;
    qint64 m_lastWallMs = 0;
    bool m_haveTime = false;
    qint64 m_backwardSteps = 0;
    QHash<qint64, QString> m_requestMethods;
    bool m_restoring = false;
    QSet<qint64> m_restoredEpochs;
    std::optional<qint64> m_frameNs;
    std::optional<quint32> m_frameEpoch;
    bool m_epochFromFacts = false;
};

}

namespace {

// Epoch seconds: nanoseconds since 1970 must fit 64 bits (up to the year 2262).
constexpr double kLatestSeconds = 9.2e9;
// Times above this are milliseconds, not seconds (1e11 s is the year 5138).
constexpr double kMillisecondsAbove = 1e11;
// Times below this (2001-09-09) are not wall-clock seconds but relative or monotonic ones.
constexpr double kEarliestWallSeconds = 1e9;

// A WebSocket endpoint from the handshake's URL: proxies (mitmproxy, HTTP Toolkit) record the
// upgrade request as http:// or https://.
QString socketEndpoint(const QString& url)
{
    if (url.startsWith(QLatin1String("https://"), Qt::CaseInsensitive))
        return QStringLiteral("wss://") + url.mid(8);
    if (url.startsWith(QLatin1String("http://"), Qt::CaseInsensitive))
        return QStringLiteral("ws://") + url.mid(7);
    return url;
}

// True for an entry that is a WebSocket handshake, whatever tool wrote it (for the error when a
// HAR has handshakes but no messages).
bool looksLikeSocket(const QJsonObject& entry)
{
    if (entry.value(QStringLiteral("_resourceType")).toString() == QLatin1String("websocket"))
        return true;
    const QJsonObject request = entry.value(QStringLiteral("request")).toObject();
    const QString url = request.value(QStringLiteral("url")).toString();
    if (url.startsWith(QLatin1String("ws://"), Qt::CaseInsensitive) || url.startsWith(QLatin1String("wss://"), Qt::CaseInsensitive))
        return true;
    if (entry.value(QStringLiteral("response")).toObject().value(QStringLiteral("status")).toInt() == 101)
        return true;
    const QJsonArray headers = request.value(QStringLiteral("headers")).toArray();
    for (const QJsonValue& header : headers) {
        const QJsonObject object = header.toObject();
        if (object.value(QStringLiteral("name")).toString().compare(QLatin1String("upgrade"), Qt::CaseInsensitive) == 0
            && object.value(QStringLiteral("value")).toString().compare(QLatin1String("websocket"), Qt::CaseInsensitive) == 0)
            return true;
    }
    return false;
}

// Inflates a zlib stream, refusing one whose text exceeds `maxBytes` (checked as it grows, so a
// bomb costs no more than the limit). False with `error` saying what went wrong and where.
bool inflateBounded(const QByteArray& compressed, qsizetype maxBytes, QByteArray& text, QString& error)
{
    z_stream stream {};
    if (inflateInit(&stream) != Z_OK) {
        error = QStringLiteral("zlib cannot start decompressing (out of memory)");
        return false;
    }
    stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(compressed.constData()));
    stream.avail_in = uInt(compressed.size());
    text.resize(std::min<qsizetype>(std::max<qsizetype>(compressed.size() * 4, 4096), maxBytes));
    int status = Z_OK;
    while (status == Z_OK) {
        if (qsizetype(stream.total_out) == text.size()) {
            if (text.size() >= maxBytes) {
                error = QStringLiteral("decompresses to more than %1 MiB, which no HAR needs; refused").arg(maxBytes >> 20);
                break;
            }
            text.resize(std::min<qsizetype>(text.size() * 2, maxBytes));
        }
        stream.next_out = reinterpret_cast<Bytef*>(text.data() + stream.total_out);
        stream.avail_out = uInt(text.size() - qsizetype(stream.total_out));
        status = inflate(&stream, Z_NO_FLUSH);
    }
    const qsizetype produced = qsizetype(stream.total_out);
    const qsizetype consumed = qsizetype(stream.total_in);
    inflateEnd(&stream);
    if (!error.isEmpty())
        return false;
    if (status == Z_BUF_ERROR) {
        error = QStringLiteral("the zlib stream ends early, after %1 of %2 bytes gave %3 bytes of text; is the file cut off?")
                    .arg(consumed)
                    .arg(compressed.size())
                    .arg(produced);
        return false;
    }
    if (status != Z_STREAM_END) {
        error = QStringLiteral("the zlib stream is damaged at about byte %1 (%2)")
                    .arg(consumed)
                    .arg(QString::fromLatin1(stream.msg ? stream.msg : "zlib error"));
        return false;
    }
    text.truncate(produced);
    return true;
}

// The local events (notes, state changes, faults, epochs, ...) a Deltascope export wrote to an
// entry's `_deltascope.localEvents`, in the order of the indexes they had. What cannot be read is
// said, naming the entry and item: an item without a known kind is skipped; one without an index
// goes after the item before it; a repeated or out-of-order index is placed by its index (after a
// message or event with the same one); a missing ns, wall time or epoch is taken from the events
// around it when added (SessionBuilder::addLocal).
std::vector<LocalEventFacts> readLocalEvents(const QJsonObject& facts, const QJsonArray& messages, qsizetype e, QStringList& notices)
{
    std::vector<LocalEventFacts> locals;
    const QJsonValue value = facts.value(QStringLiteral("localEvents"));
    if (value.isUndefined())
        return locals;
    if (!value.isArray()) {
        notices << QStringLiteral("entry %1: _deltascope.localEvents is not an array; no local events restored").arg(e);
        return locals;
    }
    QSet<qint64> messageIndexes;
    for (const QJsonValue& message : messages) {
        qint64 index = 0;
        if (wholeNumber(message.toObject().value(QStringLiteral("_deltascope")).toObject().value(QStringLiteral("index")), index))
            messageIndexes.insert(index);
    }
    QSet<qint64> seen;
    qint64 previousOrder = -1;
    qint64 highest = -1;
    qsizetype withoutWallMs = 0;
    const QJsonArray items = value.toArray();
    for (qsizetype k = 0; k < items.size(); ++k) {
        const QString where = QStringLiteral("entry %1, local event %2").arg(e).arg(k);
        if (!items[k].isObject()) {
            notices << QStringLiteral("%1: not a JSON object; skipped").arg(where);
            continue;
        }
        const QJsonObject item = items[k].toObject();
        const QJsonValue kindValue = item.value(QStringLiteral("kind"));
        LocalEventFacts local;
        local.item = k;
        if (!kindValue.isString()) {
            notices << QStringLiteral("%1: no \"kind\" string; skipped").arg(where);
            continue;
        }
        if (!eventKindFromName(kindValue.toString(), local.event.kind)) {
            notices << QStringLiteral("%1: kind \"%2\" is not an event kind Deltascope knows; skipped").arg(where, kindValue.toString());
            continue;
        }
        local.event.direction = Direction::Local;
        qint64 index = 0;
        if (wholeNumber(item.value(QStringLiteral("index")), index) && index >= 0) {
            if (seen.contains(index))
                notices << QStringLiteral("%1: index %2 is also an earlier local event's; placed after it").arg(where).arg(index);
            else if (messageIndexes.contains(index))
                notices << QStringLiteral("%1: index %2 is also a message's; placed after that message").arg(where).arg(index);
            else if (index < highest)
                notices << QStringLiteral("%1: index %2 comes after index %3 in the list; placed by its index").arg(where).arg(index).arg(highest);
            seen.insert(index);
            local.order = index;
            highest = std::max(highest, index);
        } else {
            notices << QStringLiteral("%1: no whole-number \"index\" (or a negative one); placed after the local event before it").arg(where);
            local.order = previousOrder;
        }
        previousOrder = local.order;
        local.hasNs = wholeNumber(item.value(QStringLiteral("ns")), local.event.monotonicNs);
        if (!local.hasNs)
            notices << QStringLiteral("%1: no whole-number \"ns\"; kept at the time of the event before it").arg(where);
        const QJsonValue wallValue = item.value(QStringLiteral("wallMs"));
        local.hasWallMs = wholeNumber(wallValue, local.event.wallMs);
        if (wallValue.isUndefined())
            ++withoutWallMs;
        else if (!local.hasWallMs)
            notices << QStringLiteral("%1: \"wallMs\" is not a whole number; taken from its ns").arg(where);
        local.hasEpoch = epochNumber(item.value(QStringLiteral("epoch")), local.event.epoch);
        if (!local.hasEpoch)
            notices << QStringLiteral("%1: no whole-number \"epoch\"; taken as the epoch it falls in").arg(where);
        const auto optionalNumber = [&](const char* name, qint64 low, qint64 high, auto& out) {
            const QJsonValue field = item.value(QLatin1String(name));
            if (field.isUndefined())
                return;
            qint64 read = 0;
            if (wholeNumber(field, read) && read >= low && read <= high)
                out = decltype(+out)(read);
            else
                notices << QStringLiteral("%1: \"%2\" is not a whole number in range; left out").arg(where, QLatin1String(name));
        };
        optionalNumber("seq", -1, std::numeric_limits<qint64>::max(), local.event.seq);
        optionalNumber("requestId", -1, std::numeric_limits<qint64>::max(), local.event.requestId);
        optionalNumber("code", std::numeric_limits<qint32>::min(), std::numeric_limits<qint32>::max(), local.event.code);
        const QJsonValue flagsValue = item.value(QStringLiteral("flags"));
        if (flagsValue.isString()) {
            for (const QString& name : flagsValue.toString().split(QLatin1Char(','), Qt::SkipEmptyParts)) {
                quint8 flag = 0;
                if (capture::flagFromName(name, flag))
                    local.event.flags |= flag;
                else
                    notices << QStringLiteral("%1: flag \"%2\" is not one Deltascope knows; left out").arg(where, name);
            }
        } else if (!flagsValue.isUndefined()) {
            notices << QStringLiteral("%1: \"flags\" is not a string of flag names; left out").arg(where);
        }
        const QJsonValue fieldsValue = item.value(QStringLiteral("fields"));
        if (fieldsValue.isString()) {
            local.fields = fieldsValue.toString().toUtf8();
        } else {
            notices << QStringLiteral("%1: no \"fields\" string; kept with empty fields").arg(where);
            local.fields = "{}";
        }
        locals.push_back(std::move(local));
    }
    if (withoutWallMs > 0)
        notices << QStringLiteral("entry %1: %2 local events have no \"wallMs\" (an export older than Deltascope %3 may lack it); "
                                  "their wall times are taken from their ns")
                       .arg(e)
                       .arg(withoutWallMs)
                       .arg(QString::fromLatin1(kVersion));
    std::stable_sort(locals.begin(), locals.end(), [](const LocalEventFacts& a, const LocalEventFacts& b) { return a.order < b.order; });
    return locals;
}

// HAR files are JSON, but mitmproxy's `hardump` writes `.zhar` files as a zlib stream, and
// Windows tools (Fiddler) start theirs with a UTF-8 byte order mark.
QByteArray harText(const QByteArray& bytes, const QString& sourceName, qsizetype maxTextBytes, QStringList& notices, QString& error)
{
    if (bytes.startsWith("\xEF\xBB\xBF"))
        return bytes.mid(3);
    if (capture::startsLikeZstd(QByteArrayView(bytes).first(std::min<qsizetype>(4, bytes.size())))) {
        // zstd: a HAR that `export --format har -o x.har.zst` wrote, or a capture (said below).
        QBuffer source;
        source.setData(bytes);
        source.open(QIODevice::ReadOnly);
        ZstdReadDevice decoder(source);
        QByteArray text;
        char block[1 << 16];
        for (qint64 n = 0; (n = decoder.read(block, sizeof block)) > 0;) {
            if (text.size() + n > maxTextBytes) {
                error = QStringLiteral("%1: a zstd-compressed file that decompresses beyond %2 bytes").arg(sourceName).arg(maxTextBytes);
                return {};
            }
            text.append(block, n);
        }
        if (!decoder.damage().isEmpty()) {
            error = QStringLiteral("%1: a zstd-compressed file that cannot be read: %2").arg(sourceName, decoder.damage());
            return {};
        }
        if (!capture::looksLikeCapture(text))
            notices << QStringLiteral("%1: zstd-compressed HAR, %2 bytes decompressed").arg(sourceName).arg(text.size());
        return text;
    }
    const bool zlibHeader = bytes.size() >= 2 && quint8(bytes[0]) == 0x78
        && ((quint8(bytes[0]) << 8) | quint8(bytes[1])) % 31 == 0;
    if (!zlibHeader)
        return bytes;
    QByteArray text;
    QString why;
    if (!inflateBounded(bytes, maxTextBytes, text, why)) {
        error = QStringLiteral("%1: a zlib-compressed HAR (mitmproxy .zhar) that cannot be read: %2").arg(sourceName, why);
        return {};
    }
    notices << QStringLiteral("%1: zlib-compressed HAR (mitmproxy .zhar), %2 bytes decompressed").arg(sourceName).arg(text.size());
    return text;
}

}

HarImportResult importHar(const QByteArray& harBytes, const QString& sourceName, qsizetype maxTextBytes)
{
    HarImportResult result;
    const QByteArray harJson = harText(harBytes, sourceName, maxTextBytes, result.notices, result.error);
    if (!result.error.isEmpty())
        return result;
    if (harJson.trimmed().isEmpty()) {
        result.error = QStringLiteral("%1 is empty: there is no HAR in it").arg(sourceName);
        return result;
    }
    if (capture::looksLikeCapture(harJson)) {
        result.error = QStringLiteral("%1 is a Deltascope capture already, not a HAR file: open it as it is "
                                      "(deltascope-cli info, replay, export, or the window)")
                           .arg(sourceName);
        return result;
    }
    QJsonParseError parseError;
    const QJsonDocument document = QJsonDocument::fromJson(harJson, &parseError);
    if (parseError.error != QJsonParseError::NoError) {
        // Line and column too: a HAR is pretty-printed, and an editor goes to a line. Qt's offset
        // is just past the character it stopped at, but for text after the end, where it is at it.
        const qsizetype at = std::clamp<qsizetype>(parseError.error == QJsonParseError::GarbageAtEnd ? parseError.offset : parseError.offset - 1, 0, harJson.size());
        const QByteArrayView before(harJson.constData(), at);
        const qsizetype line = before.count('\n') + 1;
        const qsizetype lineStart = before.lastIndexOf('\n') + 1;
        result.error = QStringLiteral("%1:%2:%3: not valid JSON at byte %4 (%5); is it a HAR file?")
                           .arg(sourceName)
                           .arg(line)
                           .arg(at - lineStart + 1)
                           .arg(at)
                           .arg(parseError.errorString());
        return result;
    }
    const QJsonObject root = document.object();
    if (!root.value(QStringLiteral("log")).isObject() || !root.value(QStringLiteral("log")).toObject().value(QStringLiteral("entries")).isArray()) {
        result.error = QStringLiteral("%1: not a HAR file (no log.entries array)").arg(sourceName);
        return result;
    }
    const QJsonObject log = root.value(QStringLiteral("log")).toObject();
    const QJsonArray entries = log.value(QStringLiteral("entries")).toArray();
    const QString creator = log.value(QStringLiteral("creator")).toObject().value(QStringLiteral("name")).toString();
    int socketEntries = 0;
    QStringList silentSockets; // handshakes without a messages array
    for (qsizetype e = 0; e < entries.size(); ++e) {
        const QJsonObject entry = entries[e].toObject();
        const QJsonValue messagesValue = entry.value(QStringLiteral("_webSocketMessages"));
        const QJsonObject request = entry.value(QStringLiteral("request")).toObject();
        if (!messagesValue.isArray()) {
            if (looksLikeSocket(entry))
                // Without its query values or credentials: the message is printed, and logged.
                silentSockets << QStringLiteral("%1 (%2)").arg(e).arg(QString::fromUtf8(capture::redactUrl(request.value(QStringLiteral("url")).toString().toUtf8())));
            continue;
        }
        ++socketEntries;
        const QJsonArray messages = messagesValue.toArray();
        ImportedSession session;
        session.entryIndex = int(e);
        session.log = std::make_unique<EventLog>();
        const QString url = request.value(QStringLiteral("url")).toString();
        session.header.endpoint = socketEndpoint(url);
        // Chrome writes UTC with milliseconds, mitmproxy microseconds and "+00:00", Firefox and
        // HTTP Toolkit the local offset: Qt's ISO parser takes them all.
        const QString startedText = entry.value(QStringLiteral("startedDateTime")).toString();
        const QDateTime started = QDateTime::fromString(startedText, Qt::ISODateWithMs);
        session.header.startedWallMs = started.isValid() ? started.toMSecsSinceEpoch() : 0;
        if (!started.isValid())
            session.notices << QStringLiteral("entry %1: startedDateTime \"%2\" is not an ISO 8601 time; the capture starts at its first message")
                                   .arg(e)
                                   .arg(startedText);
        session.header.tool = QStringLiteral("deltascope %1 (import-har)").arg(QString::fromLatin1(kVersion));
        session.header.source = QStringLiteral("import-har");
        // The file's name only: the capture is shared, the folder it came from is the user's.
        session.header.notes = QStringLiteral("imported from %1, entry %2%3%4")
                                   .arg(QFileInfo(sourceName).fileName())
                                   .arg(e)
                                   .arg(creator.isEmpty() ? QString() : QStringLiteral(", made by ") + creator)
                                   .arg(url == session.header.endpoint ? QString() : QStringLiteral(", handshake URL ") + url);
        const QJsonObject facts = entry.value(QStringLiteral("_deltascope")).toObject();
        session.header.space = facts.value(QStringLiteral("space")).toString();
        session.header.key = facts.value(QStringLiteral("key")).toString();

        // Message times are epoch seconds in every tool we know; milliseconds and relative
        // (monotonic) seconds are recognised, said, and converted rather than refused.
        double offsetSeconds = 0;
        bool sawMilliseconds = false;
        for (const QJsonValue& value : messages) {
            const QJsonValue time = value.toObject().value(QStringLiteral("time"));
            if (!time.isDouble() || !(time.toDouble() >= 0))
                continue;
            const double first = time.toDouble() > kMillisecondsAbove ? time.toDouble() / 1000.0 : time.toDouble();
            if (first < kEarliestWallSeconds && started.isValid()) {
                offsetSeconds = double(started.toMSecsSinceEpoch()) / 1000.0 - first;
                session.notices << QStringLiteral("entry %1: message times start at %2, not epoch seconds; taken as seconds "
                                                  "from the handshake (startedDateTime %3)")
                                       .arg(e)
                                       .arg(first)
                                       .arg(startedText);
            }
            break;
        }
        double lastSeconds = started.isValid() ? double(started.toMSecsSinceEpoch()) / 1000.0 : -1;
        SessionBuilder builder(session);
        // A HAR a Deltascope export wrote keeps what HAR has no place for in `_deltascope`: each
        // message's exact monotonic time and epoch, and the entry's local events, which go back
        // between the messages by the indexes they had. Other HARs have none of it.
        const bool restoring = entry.value(QStringLiteral("_deltascope")).isObject();
        std::vector<LocalEventFacts> locals;
        std::size_t nextLocal = 0;
        if (restoring) {
            locals = readLocalEvents(facts, messages, e, session.notices);
            QSet<qint64> restoredEpochs;
            for (const LocalEventFacts& local : locals) {
                if (local.event.kind != EventKind::EpochStarted)
                    continue;
                const qint64 requestId = local.event.requestId >= 0
                    ? local.event.requestId
                    : QJsonDocument::fromJson(local.fields).object().value(QStringLiteral("requestId")).toInteger(-1);
                restoredEpochs.insert(requestId);
            }
            builder.setRestoring(std::move(restoredEpochs));
        }
        // The local events that came before the exported event `index` (all of them: no index).
        const auto addLocalsBefore = [&](std::optional<qint64> index) {
            for (; nextLocal < locals.size() && (!index || locals[nextLocal].order < *index); ++nextLocal)
                builder.addLocal(locals[nextLocal], QStringLiteral("entry %1, local event %2").arg(e).arg(locals[nextLocal].item));
        };
        for (qsizetype m = 0; m < messages.size(); ++m) {
            const QString where = QStringLiteral("entry %1, message %2").arg(e).arg(m);
            if (!messages[m].isObject()) {
                session.notices << QStringLiteral("%1: not a JSON object; skipped").arg(where);
                continue;
            }
            const QJsonObject message = messages[m].toObject();
            if (restoring) {
                const QJsonObject messageFacts = message.value(QStringLiteral("_deltascope")).toObject();
                qint64 index = 0;
                if (wholeNumber(messageFacts.value(QStringLiteral("index")), index))
                    addLocalsBefore(index);
                qint64 ns = 0;
                const bool hasNs = wholeNumber(messageFacts.value(QStringLiteral("ns")), ns);
                if (!hasNs)
                    session.notices << QStringLiteral("%1: no whole-number _deltascope.ns; its monotonic time is taken from \"time\"").arg(where);
                quint32 epoch = 0;
                const bool hasEpoch = epochNumber(messageFacts.value(QStringLiteral("epoch")), epoch);
                builder.setFrameFacts(hasNs ? std::optional<qint64>(ns) : std::nullopt, hasEpoch ? std::optional<quint32>(epoch) : std::nullopt);
            }
            const QString type = message.value(QStringLiteral("type")).toString();
            const QJsonValue timeValue = message.value(QStringLiteral("time"));
            double seconds = -1;
            bool inMilliseconds = false;
            if (timeValue.isDouble() && timeValue.toDouble() >= 0) {
                seconds = timeValue.toDouble();
                if (seconds > kMillisecondsAbove) {
                    seconds /= 1000.0;
                    inMilliseconds = true;
                }
                seconds += offsetSeconds;
            }
            // Said converted only for a time that was: one out of range even in milliseconds is not.
            if (inMilliseconds && seconds >= 0 && seconds <= kLatestSeconds)
                sawMilliseconds = true;
            if (!(seconds >= 0 && seconds <= kLatestSeconds)) {
                const double fallback = std::max(lastSeconds, 0.0);
                session.notices << (timeValue.isUndefined() || !timeValue.isDouble()
                        ? QStringLiteral("%1: no numeric \"time\"; kept at the time before it").arg(where)
                        : QStringLiteral("%1: \"time\" %2 is not epoch seconds between 1970 and 2262; kept at the time before it")
                              .arg(where)
                              .arg(timeValue.toDouble()));
                seconds = fallback;
            }
            lastSeconds = seconds;
            if (session.header.startedWallMs == 0)
                session.header.startedWallMs = qint64(std::llround(seconds * 1000.0));
            const QJsonValue dataValue = message.value(QStringLiteral("data"));
            if (!dataValue.isString())
                session.notices << QStringLiteral("%1: no \"data\" string; kept as an empty frame").arg(where);
            const QString text = dataValue.toString();
            // Chrome writes a WebSocket error (a failed handshake, a broken frame) as a message
            // of type "error", opcode -1, whose data is the error text.
            if (type == QLatin1String("error")) {
                builder.addNote(seconds, QStringLiteral("WebSocket error recorded in the HAR: ") + text);
                continue;
            }
            if (type != QLatin1String("send") && type != QLatin1String("receive")) {
                session.notices << QStringLiteral("%1: type \"%2\" is neither send nor receive; kept as a note").arg(where, type);
                builder.addNote(seconds, QStringLiteral("HAR message of type \"%1\": %2").arg(type, text));
                continue;
            }
            const bool outbound = type == QLatin1String("send");
            const QJsonValue opcodeValue = message.value(QStringLiteral("opcode"));
            const int opcode = opcodeValue.isDouble() ? opcodeValue.toInt() : 1;
            if (!opcodeValue.isUndefined() && !opcodeValue.isDouble())
                session.notices << QStringLiteral("%1: \"opcode\" is not a number; taken as 1 (text)").arg(where);
            // Adama refuses frames over 4 MiB (close code 1009), and the live client drops inbound
            // ones over its own limit: a HAR holding one says so, and keeps what a recording would.
            const auto fitsTheLimits = [&](qsizetype size) {
                if (size > kAdamaFrameLimit)
                    session.notices << QStringLiteral("%1: a %2 frame of %3 bytes, over Adama's 4 MiB frame limit (a server refuses one "
                                                      "with close code 1009)%4")
                                           .arg(where, outbound ? QStringLiteral("sent") : QStringLiteral("received"))
                                           .arg(size)
                                           .arg(!outbound && size > Transport::kMaxFrameBytes
                                                   ? QStringLiteral("; kept as the live client keeps one over %1 bytes: its size and first bytes")
                                                         .arg(Transport::kMaxFrameBytes)
                                                   : QString());
                return outbound || size <= Transport::kMaxFrameBytes;
            };
            if (opcode == 1) {
                const QByteArray bytes = text.toUtf8();
                if (fitsTheLimits(bytes.size()))
                    builder.add(outbound, seconds, bytes, false);
                else
                    builder.addOversized(seconds, bytes);
                continue;
            }
            // Every tool writes the data of any other opcode as base64 (Chrome: "if the opcode
            // isn't 1, payloadData is base64"); data that is not base64 is kept as its text.
            const auto decoded = QByteArray::fromBase64Encoding(text.toLatin1(), QByteArray::AbortOnBase64DecodingErrors);
            const bool isBase64 = bool(decoded); // characters outside Latin-1 become '?', which aborts
            if (!isBase64)
                session.notices << QStringLiteral("%1: opcode %2 data is not base64; kept as its text").arg(where).arg(opcode);
            const QByteArray data = isBase64 ? *decoded : text.toUtf8();
            if (opcode == 2) {
                if (fitsTheLimits(data.size()))
                    builder.add(outbound, seconds, data, true);
                else
                    builder.addOversized(seconds, data);
            } else {
                session.notices << QStringLiteral("%1: opcode %2 (%3) kept as an unknown frame")
                                       .arg(where)
                                       .arg(opcode)
                                       .arg(opcode == 8 ? QStringLiteral("close")
                                               : opcode == 9 ? QStringLiteral("ping")
                                               : opcode == 10 ? QStringLiteral("pong")
                                                              : QStringLiteral("not text or binary"));
                builder.addUnknown(outbound, seconds, data);
            }
        }
        addLocalsBefore(std::nullopt);
        // HTTP Toolkit records how the socket ended next to its messages.
        const QJsonValue close = entry.value(QStringLiteral("_webSocketClose"));
        if (close.isObject() && !session.log->isEmpty()) {
            const QJsonObject closeObject = close.toObject();
            const QJsonValue closeTime = closeObject.value(QStringLiteral("timestamp"));
            const double at = closeTime.isDouble() && closeTime.toDouble() >= lastSeconds && closeTime.toDouble() <= kLatestSeconds
                ? closeTime.toDouble()
                : lastSeconds;
            builder.addNote(at, QStringLiteral("socket closed (HAR _webSocketClose): code %1%2")
                                    .arg(closeObject.value(QStringLiteral("code")).toVariant().toString(),
                                        closeObject.value(QStringLiteral("reason")).toString().isEmpty()
                                            ? QString()
                                            : QStringLiteral(", reason \"%1\"").arg(closeObject.value(QStringLiteral("reason")).toString())));
        } else if (close.toString() == QLatin1String("aborted") && !session.log->isEmpty()) {
            builder.addNote(std::max(lastSeconds, 0.0), QStringLiteral("socket aborted (HAR _webSocketClose)"));
        }
        if (sawMilliseconds)
            session.notices << QStringLiteral("entry %1: message times are milliseconds, not seconds; converted").arg(e);
        if (builder.backwardSteps() > 0)
            session.notices << QStringLiteral("entry %1: message times go backwards %2 times; the messages are kept in the HAR's order")
                                   .arg(e)
                                   .arg(builder.backwardSteps());
        if (session.log->isEmpty()) {
            session.notices << QStringLiteral("entry %1 (%2) has no WebSocket messages").arg(e).arg(session.header.endpoint);
        }
        if (!builder.sawHello() && !session.log->isEmpty()) {
            session.header.partial = true;
            session.notices << QStringLiteral("entry %1 has no hello frame: the HAR starts mid-session (browsers keep only the "
                                              "last hundred or so frames of a socket), so the first tree may be partial")
                                   .arg(e);
        }
        if (session.unknownFrames)
            session.notices << QStringLiteral("entry %1: %2 frames are not Adama frames; kept as unknown events").arg(e).arg(session.unknownFrames);
        // The identity the socket's first connection/create used, as a recording's header names
        // it: kept by an import that keeps identities (and a replay --against then uses it), else
        // removed with every other copy of it when written. Its space and key name the document
        // when the HAR has no `_deltascope` facts (every browser or proxy HAR): info, the report
        // and replay --against need them.
        for (const qint64 request : session.log->indexesOfKind(EventKind::Request)) {
            const bool create = session.log->method(request) == QLatin1String("connection/create");
            if (!create && session.log->method(request) != QLatin1String("connection/create-via-domain"))
                continue;
            const QJsonObject fields = QJsonDocument::fromJson(session.log->payload(request)).object();
            session.header.identity = fields.value(QStringLiteral("identity")).toString();
            if (create && session.header.space.isEmpty() && session.header.key.isEmpty()) {
                session.header.space = fields.value(QStringLiteral("space")).toString();
                session.header.key = fields.value(QStringLiteral("key")).toString();
            }
            break;
        }
        session.log->flushNotifications();
        result.sessions.push_back(std::move(session));
    }
    if (socketEntries == 0) {
        if (silentSockets.isEmpty()) {
            result.error = QStringLiteral("%1: the HAR has %2 entries but none with WebSocket messages (_webSocketMessages); "
                                          "in Chrome, export with the WS filter on and the socket selected")
                               .arg(sourceName)
                               .arg(entries.size());
        } else {
            result.error = QStringLiteral("%1: entries %2 are WebSocket handshakes, but the HAR holds none of their messages "
                                          "(no _webSocketMessages)%3; export from Chrome DevTools, mitmproxy or HTTP Toolkit, "
                                          "which write them")
                               .arg(sourceName, silentSockets.join(QStringLiteral(", ")),
                                   creator.contains(QLatin1String("Firefox"), Qt::CaseInsensitive)
                                       ? QStringLiteral(": Firefox's HAR export leaves WebSocket messages out")
                                       : QString());
        }
        return result;
    }
    result.ok = true;
    return result;
}

HarImportResult importHarFile(const QString& path)
{
    QFile file(path);
    if (!file.open(QIODevice::ReadOnly)) {
        HarImportResult result;
        result.error = QStringLiteral("cannot read %1: %2").arg(path, file.errorString());
        return result;
    }
    if (file.size() > (qint64(1) << 31)) {
        HarImportResult result;
        result.error = QStringLiteral("%1 is %2 bytes; HAR files over 2 GiB are not supported").arg(path).arg(file.size());
        return result;
    }
    return importHar(file.readAll(), path); // messages name the file as the user gave it
}

}
