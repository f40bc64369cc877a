#include "core/protocol/envelope.h"

#include "core/document/jsonerror.h"
#include "core/document/jsontape.h"
#include "core/exactinteger.h"
#include "core/jsonparse.h"
#include "core/jsonstring.h"

#include <algorithm>
#include <limits>

#include <simdjson.h>

#include <charconv>
#include <string>

namespace deltascope {

namespace {
// One parser per thread: parsing reuses its buffers, so frames cost no allocation. Its document is
// allocated up front for the direct tape builder (jsontape.h), which also wants the text copied with
// a NUL and padding after it.
struct FrameParser {
    simdjson::dom::parser parser;
    std::string padded;
    const bool documentAllocated = parser.doc.allocate(64 * 1024) == simdjson::SUCCESS;
};

FrameParser& frameParser()
{
    thread_local FrameParser instance;
    return instance;
}

// Parses `json` with the thread's parser, integers beyond 64 bits read as doubles. Most frames are
// small and plain: their tape is built directly, as the fold's are, and simdjson parses the rest.
simdjson::error_code parseText(QByteArrayView json, simdjson::dom::element& root)
{
    FrameParser& frames = frameParser();
    const std::size_t size = std::size_t(json.size());
    if (frames.documentAllocated && size != 0) {
        frames.padded.assign(json.data(), size);
        frames.padded.resize(size + simdjson::SIMDJSON_PADDING); // NUL-filled
        if (detail::parsePaddedJsonToTape(frames.padded.data(), size, frames.parser.doc)) {
            root = frames.parser.doc.root();
            return simdjson::SUCCESS;
        }
    }
    return parseJsonTextWidened(frames.parser, json.data(), size, root);
}

// Why `json` is not JSON, and where when that can be told ("not JSON at byte 17: ...").
QString notJsonReason(QByteArrayView json, simdjson::error_code code)
{
    const detail::JsonErrorLocation where
        = detail::locateJsonError(std::string_view(json.data(), std::size_t(json.size())), int(simdjson::DEFAULT_MAX_DEPTH));
    if (where.offset >= 0)
        return QStringLiteral("not JSON at byte %1: %2").arg(where.offset).arg(where.what);
    return QStringLiteral("not JSON: %1").arg(QString::fromLatin1(simdjson::error_message(code)));
}

QString fromView(std::string_view text)
{
    return QString::fromUtf8(text.data(), qsizetype(text.size()));
}

// Integer ids and codes: the server sends numbers, but lenient peers may send numeric strings.
bool readInteger(simdjson::dom::element value, qint64& out)
{
    int64_t signedValue = 0;
    if (value.get_int64().get(signedValue) == simdjson::SUCCESS) {
        out = signedValue;
        return true;
    }
    uint64_t unsignedValue = 0;
    if (value.get_uint64().get(unsignedValue) == simdjson::SUCCESS) {
        out = qint64(std::min<uint64_t>(unsignedValue, uint64_t(std::numeric_limits<qint64>::max())));
        return true;
    }
    double doubleValue = 0;
    if (value.get_double().get(doubleValue) == simdjson::SUCCESS) {
        if (const std::optional<qint64> integer = exactInteger(doubleValue)) {
            out = *integer;
            return true;
        }
    }
    std::string_view text;
    if (value.get_string().get(text) == simdjson::SUCCESS && !text.empty()) {
        qint64 parsed = 0;
        const auto result = std::from_chars(text.data(), text.data() + text.size(), parsed);
        if (result.ec == std::errc() && result.ptr == text.data() + text.size()) {
            out = parsed;
            return true;
        }
    }
    return false;
}

bool readBool(simdjson::dom::element value, bool& out)
{
    return value.get_bool().get(out) == simdjson::SUCCESS;
}

quint16 deltaParts(simdjson::dom::object delta)
{
    quint16 parts = 0;
    for (auto field : delta) {
        const std::string_view key = field.key;
        if (key == "data")
            parts |= PartData;
        else if (key == "seq")
            parts |= PartSeq;
        else if (key == "outstanding")
            parts |= PartOutstanding;
        else if (key == "blockers")
            parts |= PartBlockers;
        else if (key == "view-state-filter")
            parts |= PartViewStateFilter;
        else if (key == "viewstate")
            parts |= PartViewState;
        else if (key == "log")
            parts |= PartLog;
        else if (key == "goto")
            parts |= PartGoto;
        else if (key == "viewport" || key == "message")
            parts |= PartViewport;
        else if (key == "force-disconnect")
            parts |= PartForceDisconnect;
        else if (key == "reload")
            parts |= PartReload;
    }
    return parts;
}

bool parseObject(QByteArrayView frame, simdjson::dom::object& out, QString& error, bool& notObject)
{
    notObject = false;
    simdjson::dom::element root;
    const simdjson::error_code code = parseText(frame, root);
    if (code != simdjson::SUCCESS) {
        error = notJsonReason(frame, code);
        return false;
    }
    if (root.get_object().get(out) != simdjson::SUCCESS) {
        notObject = true;
        error = QStringLiteral("JSON but not an object");
        return false;
    }
    return true;
}
}

QString malformedReasonName(MalformedReason reason)
{
    switch (reason) {
    case MalformedReason::NotJson:
        return QStringLiteral("not JSON");
    case MalformedReason::Binary:
        return QStringLiteral("binary frame");
    case MalformedReason::Oversized:
        return QStringLiteral("over 64 MiB");
    case MalformedReason::NotAnObject:
        return QStringLiteral("not a JSON object");
    }
    return QStringLiteral("malformed");
}

InboundFrame decodeInbound(QByteArrayView frame)
{
    InboundFrame result;
    simdjson::dom::object object;
    bool notObject = false;
    if (!parseObject(frame, object, result.error, notObject)) {
        result.kind = EventKind::MalformedInbound;
        result.code = qint32(notObject ? MalformedReason::NotAnObject : MalformedReason::NotJson);
        return result;
    }
    simdjson::dom::element value;
    if (object["ping"].get(value) == simdjson::SUCCESS) {
        result.kind = EventKind::Ping;
        readInteger(value, result.ping);
        simdjson::dom::element latency;
        if (object["latency"].get(latency) == simdjson::SUCCESS)
            readInteger(latency, result.latencyMs);
        // Recorded with the event, so views chart the round trip without parsing frames.
        result.code = qint32(std::clamp<qint64>(result.latencyMs, -1, std::numeric_limits<qint32>::max()));
        return result;
    }
    if (object["status"].get(value) == simdjson::SUCCESS) {
        std::string_view status;
        if (value.get_string().get(status) != simdjson::SUCCESS) {
            // Not "connected" either: the reference client drops the socket (adama-wire.md 2.1).
            result.kind = EventKind::Disconnected;
            result.status = QString::fromStdString(simdjson::minify(value));
            result.reasonText = QStringLiteral("\"status\" is not a string");
            result.error = result.reasonText;
            return result;
        }
        result.status = fromView(status);
        if (status == "connected") {
            result.kind = EventKind::Hello;
            std::string_view version;
            if (object["version"].get(value) == simdjson::SUCCESS && value.get_string().get(version) == simdjson::SUCCESS)
                result.version = fromView(version);
            return result;
        }
        // Any other status makes the reference client drop the socket (adama-wire.md 2.1).
        result.kind = EventKind::Disconnected;
        if (object["reason"].get(value) == simdjson::SUCCESS) {
            qint64 code = 0;
            std::string_view text;
            if (value.get_string().get(text) == simdjson::SUCCESS)
                result.reasonText = fromView(text);
            else if (readInteger(value, code))
                result.code = qint32(code);
        }
        return result;
    }
    if (object["failure"].get(value) == simdjson::SUCCESS) {
        result.kind = EventKind::Failure;
        result.idIsText = value.is_string();
        if (!readInteger(value, result.id)) {
            result.kind = EventKind::UnknownInbound;
            result.error = QStringLiteral("\"failure\" is not an integer id");
            return result;
        }
        qint64 code = 0;
        if (object["reason"].get(value) == simdjson::SUCCESS && readInteger(value, code)) {
            result.code = qint32(code);
            result.hasReason = true;
        }
        if (object["retry"].get(value) == simdjson::SUCCESS)
            readBool(value, result.retry);
        return result;
    }
    if (object["deliver"].get(value) == simdjson::SUCCESS) {
        result.idIsText = value.is_string();
        if (!readInteger(value, result.id)) {
            result.kind = EventKind::UnknownInbound;
            result.error = QStringLiteral("\"deliver\" is not an integer id");
            return result;
        }
        if (object["done"].get(value) == simdjson::SUCCESS)
            readBool(value, result.done);
        simdjson::dom::element response;
        const bool hasResponse = object["response"].get(response) == simdjson::SUCCESS;
        if (!hasResponse) {
            result.kind = result.done ? EventKind::StreamDone : EventKind::StreamItem;
            if (!result.done)
                result.error = QStringLiteral("stream item without \"response\"");
            return result;
        }
        result.kind = result.done ? EventKind::Response : EventKind::StreamItem;
        simdjson::dom::object responseObject;
        if (response.get_object().get(responseObject) != simdjson::SUCCESS) {
            result.error = QStringLiteral("\"response\" is not an object");
            return result;
        }
        simdjson::dom::object delta;
        if (responseObject["delta"].get(value) == simdjson::SUCCESS && value.get_object().get(delta) == simdjson::SUCCESS) {
            // A delta with done:true is a stream's last item: connection.js hands its response to
            // next() before complete(), so it is folded as any item, and it ends the stream.
            result.kind = EventKind::StreamItem;
            result.parts = deltaParts(delta);
            simdjson::dom::element seq;
            if (delta["seq"].get(seq) == simdjson::SUCCESS)
                readInteger(seq, result.seq);
        } else {
            if (responseObject["seq"].get(value) == simdjson::SUCCESS)
                readInteger(value, result.seq);
            std::string_view dedupe;
            if (responseObject["dedupe"].get(value) == simdjson::SUCCESS && value.get_string().get(dedupe) == simdjson::SUCCESS)
                result.dedupe = fromView(dedupe);
        }
        return result;
    }
    result.kind = EventKind::UnknownInbound;
    result.error = QStringLiteral("no \"deliver\", \"failure\", \"ping\" or \"status\" key");
    return result;
}

StreamDelta extractStreamDelta(QByteArrayView frame)
{
    simdjson::dom::object object;
    bool notObject = false;
    QString error;
    if (!parseObject(frame, object, error, notObject)) {
        StreamDelta result;
        result.error = error;
        return result;
    }
    return streamDeltaOf(object);
}

StreamDelta streamDeltaOf(const simdjson::dom::object& frame, simdjson::dom::element* data)
{
    StreamDelta result;
    simdjson::dom::element value;
    simdjson::dom::object delta;
    if (frame["response"].get(value) != simdjson::SUCCESS || value["delta"].get(value) != simdjson::SUCCESS
        || value.get_object().get(delta) != simdjson::SUCCESS) {
        result.error = QStringLiteral("no response.delta object");
        return result;
    }
    result.ok = true;
    result.parts = deltaParts(delta);
    if (delta["seq"].get(value) == simdjson::SUCCESS)
        readInteger(value, result.seq);
    if (delta["data"].get(value) == simdjson::SUCCESS) {
        result.hasData = true;
        if (data)
            *data = value;
        else
            result.data = simdjson::minify(value);
    }
    return result;
}

bool isJsonObject(QByteArrayView json, QString* error)
{
    simdjson::dom::object object;
    bool notObject = false;
    QString message;
    const bool ok = parseObject(json, object, message, notObject);
    if (!ok && error)
        *error = message;
    return ok;
}

bool isJsonObjectOrArray(QByteArrayView json, QString* error)
{
    simdjson::dom::element root;
    const simdjson::error_code code = parseText(json, root);
    if (code != simdjson::SUCCESS) {
        if (error)
            *error = notJsonReason(json, code);
        return false;
    }
    if (!root.is_object() && !root.is_array()) {
        if (error)
            *error = QStringLiteral("JSON but neither an object nor an array");
        return false;
    }
    return true;
}

QByteArray minifyJson(QByteArrayView json)
{
    simdjson::dom::element root;
    if (parseText(json, root) != simdjson::SUCCESS)
        return {};
    const std::string text = simdjson::minify(root);
    return QByteArray(text.data(), qsizetype(text.size()));
}

QByteArray jsonQuote(QStringView text)
{
    QByteArray out;
    out.reserve(text.size() + 2);
    appendJsonString(out, text.toUtf8());
    return out;
}

RequestWriter::RequestWriter(QStringView method, qint64 id)
{
    m_text = "{\"method\":" + jsonQuote(method) + ",\"id\":" + QByteArray::number(id);
}

RequestWriter& RequestWriter::string(QStringView key, QStringView value)
{
    m_text += ',' + jsonQuote(key) + ':' + jsonQuote(value);
    return *this;
}

RequestWriter& RequestWriter::integer(QStringView key, qint64 value)
{
    m_text += ',' + jsonQuote(key) + ':' + QByteArray::number(value);
    return *this;
}

RequestWriter& RequestWriter::raw(QStringView key, QByteArrayView json)
{
    m_text += ',' + jsonQuote(key) + ':';
    m_text.append(json.data(), json.size());
    return *this;
}

QByteArray RequestWriter::finish()
{
    return m_text + '}';
}

QByteArray makePong(QByteArrayView pingFrame, qint64 wallMs)
{
    QByteArray text = QByteArray(pingFrame.data(), pingFrame.size()).trimmed();
    if (text.size() < 2 || text.front() != '{' || text.back() != '}')
        return {};
    text.chop(1);
    const bool empty = text.trimmed() == "{";
    char seconds[48];
    std::snprintf(seconds, sizeof seconds, "%lld.%03lld", static_cast<long long>(wallMs / 1000),
        static_cast<long long>(wallMs % 1000));
    text += QByteArray(empty ? "" : ",") + QByteArray("\"pong\":") + QByteArray(seconds) + '}';
    return text;
}

}
