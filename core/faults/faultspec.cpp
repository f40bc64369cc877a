#include "core/faults/faultspec.h"

#include "core/exactinteger.h"
#include "core/jsonparse.h"
#include "core/jsonstring.h"

#include <QDateTime>
#include <QJsonArray>
#include <QJsonDocument>

#include <algorithm>
#include <functional>
#include <optional>
#include <string>
#include <unordered_set>

namespace deltascope::faults {

namespace {

enum class ParamType { Int, Bool, String, Choice, StringOrInt, Predicates };

struct ParamSpec {
    const char* name;
    ParamType type;
    const char* defaultValue; // JSON text of the default; nullptr = required
    const char* choices; // Choice: comma-separated
    const char* help;
    const char* example = nullptr; // required parameters: JSON text of a value for error messages' examples
};

struct FaultInfo {
    FaultType type;
    const char* name;
    bool message;
    const char* help;
    std::vector<ParamSpec> params;
};

// Parameters every message fault takes to pick its frames.
std::vector<ParamSpec> withSelector(std::vector<ParamSpec> params, const char* defaultKind)
{
    params.push_back({ "kind", ParamType::Choice, defaultKind,
        "any,hello,ping,stream-item,delta,response,stream-done,failure,disconnected,request,send,pong,binary",
        "frame kind to pick" });
    params.push_back(
        { "direction", ParamType::Choice, "\"inbound\"", "inbound,outbound", "inbound = server to client" });
    params.push_back(
        { "nth", ParamType::Int, "1", nullptr, "first matching frame to affect, counted from arming (1-based)" });
    params.push_back({ "count", ParamType::Int, "1", nullptr, "how many matching frames from the nth (0 = all)" });
    params.push_back({ "where", ParamType::Predicates, "[]", nullptr, "JSON path predicates every frame must match" });
    return params;
}

const std::vector<FaultInfo>& catalog()
{
    static const std::vector<FaultInfo> all = {
        { FaultType::Drop, "drop", false, "close the connection at both ends, or one",
            { { "mode", ParamType::Choice, "\"rst\"", "rst,fin", "RST (abortive) or FIN (orderly)" },
                { "side", ParamType::Choice, "\"both\"", "both,client,server",
                    "which end is closed; the other is left open and silent, as after a NAT timeout" } } },
        { FaultType::Stall, "stall", false, "half-open stall: bytes stop flowing, TCP stays open",
            { { "direction", ParamType::Choice, "\"both\"", "both,inbound,outbound", "which way goes silent" },
                { "durationMs", ParamType::Int, "0", nullptr, "0 = until clear-stall" },
                { "newConnections", ParamType::Bool, "false", nullptr,
                    "also stall connections opened meanwhile (a partition rather than one half-open socket)" } } },
        { FaultType::ClearStall, "clear-stall", false, "end a stall; held bytes are delivered, as TCP would", {} },
        { FaultType::Latency, "latency", false, "added one-way delay with jitter (order kept)",
            { { "ms", ParamType::Int, nullptr, nullptr, "base delay", "200" },
                { "jitterMs", ParamType::Int, "0", nullptr, "uniform extra delay 0..jitterMs (seeded)" },
                { "direction", ParamType::Choice, "\"both\"", "both,inbound,outbound", "" } } },
        { FaultType::Bandwidth, "bandwidth", false, "bandwidth cap",
            { { "bytesPerSecond", ParamType::Int, nullptr, nullptr, "0 = no cap", "65536" },
                { "direction", ParamType::Choice, "\"both\"", "both,inbound,outbound", "" } } },
        { FaultType::Slice, "slice", false, "write in small TCP segments (TCP_NODELAY, a pause between writes)",
            { { "segmentBytes", ParamType::Int, nullptr, nullptr, "0 = off", "16" },
                { "gapMs", ParamType::Int, "1", nullptr, "pause between segments" },
                { "direction", ParamType::Choice, "\"both\"", "both,inbound,outbound", "" } } },
        { FaultType::Refuse, "refuse", false, "refuse the next K connection attempts",
            { { "count", ParamType::Int, "1", nullptr, "how many connection attempts (each one TCP connect and its upgrade request)" },
                { "mode", ParamType::Choice, "\"reset\"", "reset,black-hole",
                    "reset: accept, then RST when the client's upgrade request arrives (or after 1 s); black-hole: accept, never answer" },
                { "holdMs", ParamType::Int, "30000", nullptr,
                    "black-hole: when the proxy finally drops the socket" } } },
        { FaultType::DropMessage, "drop-message", true, "swallow frames (corrupting for deltas)",
            withSelector({}, "\"delta\"") },
        { FaultType::DuplicateMessage, "duplicate-message", true, "send frames twice (or more)",
            withSelector({ { "copies", ParamType::Int, "1", nullptr, "extra copies" } }, "\"delta\"") },
        { FaultType::DelayMessage, "delay-message", true, "hold frames back while later ones pass",
            withSelector({ { "ms", ParamType::Int, nullptr, nullptr, "how long to hold each frame", "200" } }, "\"delta\"") },
        { FaultType::ReorderMessage, "reorder-message", true, "hold a frame until `by` later frames of its kind passed",
            withSelector({ { "by", ParamType::Int, "1", nullptr, "frames of the same kind to let pass first" },
                             { "maxHoldMs", ParamType::Int, "5000", nullptr, "release anyway after this long" } },
                "\"delta\"") },
        { FaultType::CorruptFrame, "corrupt-frame", true, "damage a frame",
            withSelector(
                { { "mode", ParamType::Choice, "\"json\"", "json,utf8,binary,rsv,truncate",
                    "json: break the JSON; utf8: invalid UTF-8 in a text frame; binary: send as a binary frame; "
                    "rsv: set RSV1 without a negotiated extension; truncate: cut the payload in half" } },
                "\"stream-item\"") },
        { FaultType::RewriteVersion, "rewrite-version", false, "rewrite the hello `version` of the next connections",
            { { "version", ParamType::String, "\"\"", nullptr, "new version (empty: the original + \"-mismatch\")" },
                { "connections", ParamType::Int, "1", nullptr, "how many following hellos (0 = all)" } } },
        { FaultType::InjectReload, "inject-reload", false, "send a devbox `reload` stream item to the client",
            { { "preserveView", ParamType::Bool, "true", nullptr, "" },
                { "requestId", ParamType::Int, "-1", nullptr, "stream id (-1: the latest connection/create)" } } },
        { FaultType::InjectDisconnected, "inject-disconnected", false,
            "send {\"status\":\"disconnected\"} to the client (then close, as a server does)",
            { { "reason", ParamType::StringOrInt, "\"keepalive-failure\"", nullptr, "string or integer reason" },
                { "close", ParamType::Bool, "true", nullptr, "close both ends after it (FIN)" } } },
        { FaultType::InjectFailure, "inject-failure", false,
            "fail a stream towards the client with a code; the server's items for it are swallowed afterwards",
            { { "code", ParamType::Int, "928828", nullptr, "failure reason" },
                { "retry", ParamType::Choice, "\"auto\"", "auto,true,false", "auto: from the server's retry table" },
                { "requestId", ParamType::Int, "-1", nullptr, "stream id (-1: the latest connection/create)" } } },
        { FaultType::HoldPings, "hold-pings", false, "hold the server's pings back from the client",
            { { "durationMs", ParamType::Int, "0", nullptr, "0 = until release-pings" },
                { "release", ParamType::Choice, "\"drop\"", "drop,deliver",
                    "what happens to held pings on release" } } },
        { FaultType::ReleasePings, "release-pings", false, "end hold-pings", {} },
        { FaultType::ServerRedeploy, "server-redeploy", false,
            "server goes away and comes back with a new version (reference server control, or simulated in the proxy)",
            { { "downMs", ParamType::Int, "1000", nullptr, "how long new connects are refused" },
                { "version", ParamType::String, "\"\"", nullptr, "version of the new deployment (empty: derived)" } } },
        { FaultType::Clear, "clear", false, "end every active fault", {} },
    };
    return all;
}

// The range of each integer parameter. A name means the same in every fault that takes it. The
// bounds keep every value an int (timers take int milliseconds) and say what makes sense for a
// fault: nothing waits longer than a day, a delay or a hold lasts at most an hour.
struct IntRange {
    qint64 minimum;
    qint64 maximum;
};
constexpr qint64 kDayMs = 86400000;
constexpr qint64 kHourMs = 3600000;
constexpr qint64 kManyFrames = 1000000000;

IntRange intRange(QByteArrayView name)
{
    static const std::pair<const char*, IntRange> ranges[] = {
        { "durationMs", { 0, kDayMs } }, // stall, hold-pings
        { "holdMs", { 0, kDayMs } }, // refuse black-hole
        { "downMs", { 0, kDayMs } }, // server-redeploy
        { "ms", { 0, kHourMs } }, // latency, delay-message
        { "jitterMs", { 0, kHourMs } },
        { "maxHoldMs", { 0, kHourMs } },
        { "gapMs", { 0, 60000 } },
        { "bytesPerSecond", { 0, 1000000000 } },
        { "segmentBytes", { 0, 64 * 1024 * 1024 } },
        { "nth", { 1, kManyFrames } },
        { "count", { 0, kManyFrames } }, // selector count, refuse count
        { "copies", { 0, 1000 } },
        { "by", { 1, 1000000 } },
        { "connections", { 0, kManyFrames } },
        { "requestId", { -1, 2147483647 } }, // Adama request ids are ints
        { "code", { 0, 2147483647 } },
    };
    for (const auto& [param, range] : ranges) {
        if (name == QByteArrayView(param))
            return range;
    }
    Q_ASSERT_X(false, "intRange", "an integer parameter without a range");
    return { 0, 2147483647 };
}

const FaultInfo* infoFor(FaultType type)
{
    for (const FaultInfo& info : catalog()) {
        if (info.type == type)
            return &info;
    }
    return nullptr;
}

QJsonValue parseDefault(const char* text)
{
    const QByteArray wrapped = QByteArray("[") + text + "]";
    return QJsonDocument::fromJson(wrapped).array().at(0);
}

FlowDirection directionOf(const QString& text)
{
    if (text == QLatin1String("inbound"))
        return FlowDirection::Inbound;
    if (text == QLatin1String("outbound"))
        return FlowDirection::Outbound;
    return FlowDirection::Both;
}

}

QString jsonTypeName(const QJsonValue& value)
{
    switch (value.type()) {
    case QJsonValue::Null:
        return QStringLiteral("null");
    case QJsonValue::Bool:
        return QStringLiteral("a boolean");
    case QJsonValue::Double:
        return QStringLiteral("a number");
    case QJsonValue::String:
        return QStringLiteral("a string");
    case QJsonValue::Array:
        return QStringLiteral("an array");
    case QJsonValue::Object:
        return QStringLiteral("an object");
    default:
        return QStringLiteral("nothing");
    }
}

QString faultTypeName(FaultType type)
{
    const FaultInfo* info = infoFor(type);
    return info ? QLatin1String(info->name) : QString();
}

bool faultTypeFromName(QStringView name, FaultType& out)
{
    for (const FaultInfo& info : catalog()) {
        if (name == QLatin1String(info.name)) {
            out = info.type;
            return true;
        }
    }
    return false;
}

QStringList faultTypeNames()
{
    QStringList names;
    for (const FaultInfo& info : catalog())
        names << QLatin1String(info.name);
    return names;
}

QString faultCatalogText()
{
    QString text;
    for (const FaultInfo& info : catalog()) {
        text += QLatin1String(info.name) + QStringLiteral(": ") + QLatin1String(info.help) + QLatin1Char('\n');
        for (const ParamSpec& param : info.params) {
            text += QStringLiteral("    ") + QLatin1String(param.name);
            if (param.choices)
                text += QStringLiteral(" (")
                    + QString::fromLatin1(param.choices).replace(QLatin1Char(','), QLatin1Char('|')) + QLatin1Char(')');
            if (param.type == ParamType::Int) {
                const IntRange range = intRange(param.name);
                text += QStringLiteral(" %1..%2").arg(range.minimum).arg(range.maximum);
            }
            text += param.defaultValue ? QStringLiteral(" default ") + QLatin1String(param.defaultValue)
                                       : QStringLiteral(" required");
            if (*param.help)
                text += QStringLiteral(": ") + QLatin1String(param.help);
            text += QLatin1Char('\n');
        }
    }
    return text;
}

QStringList frameKindNames()
{
    return { QStringLiteral("any"), QStringLiteral("hello"), QStringLiteral("ping"), QStringLiteral("stream-item"),
        QStringLiteral("delta"), QStringLiteral("response"), QStringLiteral("stream-done"), QStringLiteral("failure"),
        QStringLiteral("disconnected"), QStringLiteral("request"), QStringLiteral("send"), QStringLiteral("pong"),
        QStringLiteral("binary") };
}

bool isFrameKind(QStringView name)
{
    const QStringList names = frameKindNames();
    return std::any_of(names.begin(), names.end(), [&](const QString& kind) { return kind == name; });
}

QJsonObject FrameSelector::toJson() const
{
    QJsonArray predicates;
    for (const JsonPredicate& predicate : where)
        predicates.append(predicate.toJson());
    return { { QStringLiteral("kind"), kind },
        { QStringLiteral("direction"),
            direction == FlowDirection::Outbound ? QStringLiteral("outbound") : QStringLiteral("inbound") },
        { QStringLiteral("nth"), nth }, { QStringLiteral("count"), count }, { QStringLiteral("where"), predicates } };
}

bool FaultSpec::isMessageFault() const
{
    const FaultInfo* info = infoFor(type);
    return info && info->message;
}

bool FaultSpec::fromJson(const QJsonObject& json, const QString& jsonPath, FaultSpec& out, QString* error)
{
    const QJsonValue name = json.value(QLatin1String("fault"));
    if (!name.isString()) {
        if (error) {
            *error = jsonPath + QStringLiteral(".fault: expected a fault name string, got ") + jsonTypeName(name)
                + QStringLiteral(" (one of: ") + faultTypeNames().join(QStringLiteral(", ")) + QLatin1Char(')');
        }
        return false;
    }
    const QJsonValue params = json.value(QLatin1String("params"));
    if (!params.isUndefined() && !params.isObject()) {
        if (error)
            *error = jsonPath + QStringLiteral(".params: expected an object, got ") + jsonTypeName(params);
        return false;
    }
    return fromNameAndParams(name.toString(), params.toObject(), jsonPath, out, error);
}

namespace {

// A fault from its name and parameters. Errors start with `faultWhere` (about the name) or
// paramWhere(parameter) (about one parameter): a JSON path in a plan, the option on a command line.
bool buildSpec(const QString& name, const QJsonObject& params, const QString& faultWhere,
    const std::function<QString(const QString&)>& paramWhere, FaultSpec& out, QString* error)
{
    auto fail = [&](const QString& where, const QString& why) {
        if (error)
            *error = where + QStringLiteral(": ") + why;
        return false;
    };
    if (!faultTypeFromName(name, out.type)) {
        return fail(faultWhere,
            QStringLiteral("unknown fault '%1' (one of: %2)").arg(name, faultTypeNames().join(QStringLiteral(", "))));
    }
    const FaultInfo& info = *infoFor(out.type);
    for (auto it = params.begin(); it != params.end(); ++it) {
        const bool known = std::any_of(info.params.begin(), info.params.end(),
            [&](const ParamSpec& spec) { return it.key() == QLatin1String(spec.name); });
        if (!known) {
            QStringList names;
            for (const ParamSpec& spec : info.params)
                names << QLatin1String(spec.name);
            return fail(paramWhere(it.key()),
                QStringLiteral("unknown parameter of '%1' (it takes: %2)")
                    .arg(name, names.isEmpty() ? QStringLiteral("none") : names.join(QStringLiteral(", "))));
        }
    }
    out.params = QJsonObject();
    out.select = FrameSelector();
    for (const ParamSpec& spec : info.params) {
        const QString where = paramWhere(QLatin1String(spec.name));
        QJsonValue value = params.value(QLatin1String(spec.name));
        if (value.isUndefined()) {
            if (!spec.defaultValue)
                return fail(where, QStringLiteral("required parameter of '%1' is missing").arg(name));
            value = parseDefault(spec.defaultValue);
        }
        switch (spec.type) {
        case ParamType::Int: {
            const std::optional<qint64> integer = value.isDouble() ? exactInteger(value.toDouble()) : std::nullopt;
            if (!integer)
                return fail(where, QStringLiteral("expected an integer, got ") + jsonTypeName(value));
            const qint64 number = *integer;
            const IntRange range = intRange(spec.name);
            if (number < 0 && range.minimum == 0)
                return fail(where, QStringLiteral("expected a non-negative integer, got %1").arg(number));
            if (spec.name == QByteArrayView("nth") && number < 1)
                return fail(where, QStringLiteral("counts from 1"));
            if (number < range.minimum || number > range.maximum)
                return fail(where,
                    QStringLiteral("expected an integer from %1 to %2, got %3").arg(range.minimum).arg(range.maximum).arg(number));
            // Stored as an integer, so every reader gets the exact value with toInteger() or toInt().
            value = number;
            break;
        }
        case ParamType::Bool:
            if (!value.isBool())
                return fail(where, QStringLiteral("expected true or false, got ") + jsonTypeName(value));
            break;
        case ParamType::String:
            if (!value.isString())
                return fail(where, QStringLiteral("expected a string, got ") + jsonTypeName(value));
            break;
        case ParamType::StringOrInt:
            if (!value.isString() && !value.isDouble())
                return fail(where, QStringLiteral("expected a string or an integer, got ") + jsonTypeName(value));
            break;
        case ParamType::Choice: {
            if (value.isBool())
                value = value.toBool() ? QStringLiteral("true") : QStringLiteral("false");
            const QStringList choices = QString::fromLatin1(spec.choices).split(QLatin1Char(','));
            if (!value.isString() || !choices.contains(value.toString())) {
                return fail(where,
                    QStringLiteral("expected one of %1, got %2")
                        .arg(choices.join(QStringLiteral(", ")),
                            value.isString() ? QLatin1Char('\'') + value.toString() + QLatin1Char('\'')
                                             : jsonTypeName(value)));
            }
            break;
        }
        case ParamType::Predicates: {
            if (!value.isArray() && !value.isObject())
                return fail(
                    where, QStringLiteral("expected a predicate object or an array of them, got ") + jsonTypeName(value));
            QString predicateError;
            if (!parsePredicates(value, where, out.select.where, &predicateError)) {
                if (error)
                    *error = predicateError;
                return false;
            }
            break;
        }
        }
        out.params.insert(QLatin1String(spec.name), value);
    }
    if (info.message) {
        out.select.kind = out.params.value(QLatin1String("kind")).toString();
        out.select.direction = directionOf(out.params.value(QLatin1String("direction")).toString());
        out.select.nth = intParam(out.params, "nth");
        out.select.count = intParam(out.params, "count");
        const bool outboundKind = out.select.kind == QLatin1String("request")
            || out.select.kind == QLatin1String("send") || out.select.kind == QLatin1String("pong");
        const bool inboundKind
            = out.select.kind != QLatin1String("any") && out.select.kind != QLatin1String("binary") && !outboundKind;
        if ((outboundKind && out.select.direction == FlowDirection::Inbound
                && params.contains(QLatin1String("direction")))
            || (inboundKind && out.select.direction == FlowDirection::Outbound)) {
            return fail(paramWhere(QStringLiteral("direction")),
                QStringLiteral("'%1' frames never travel %2")
                    .arg(out.select.kind, out.params.value(QLatin1String("direction")).toString()));
        }
        if (outboundKind) {
            out.select.direction = FlowDirection::Outbound;
            out.params.insert(QStringLiteral("direction"), QStringLiteral("outbound"));
        }
    }
    return true;
}

// QJsonDocument, which reads plans and --fault values, keeps an escaped lone surrogate ("\ud800")
// as that UTF-16 unit; simdjson refuses it. For the repeated-key check only, each one is written
// as the escaped pair of the private-use character U+100000 + unit (U+10D800..U+10DFFF, which a
// plan has no reason to hold), so keys stay apart or equal as QJsonDocument sees them; the key
// reported is mapped back. Empty when the text holds no lone surrogate escape.
constexpr char32_t kLoneSurrogateBase = 0x100000;

std::optional<std::string> privatizeLoneSurrogates(std::string_view json)
{
    const auto unitAt = [&](std::size_t at) -> int { // the \uXXXX escape's unit at `at`, or -1
        if (at + 2 > json.size() || json[at] != '\\' || json[at + 1] != 'u')
            return -1;
        return jsonEscapeUnit(json.data() + at + 2, json.size() - at - 2);
    };
    const auto isHigh = [](int unit) { return unit >= 0xd800 && unit <= 0xdbff; };
    const auto isLow = [](int unit) { return unit >= 0xdc00 && unit <= 0xdfff; };
    std::string out;
    bool inString = false;
    std::size_t copiedUpTo = 0;
    for (std::size_t i = 0; i < json.size(); ++i) {
        const char c = json[i];
        if (c == '"') {
            inString = !inString;
            continue;
        }
        if (!inString || c != '\\')
            continue;
        const int unit = unitAt(i);
        if (unit < 0) {
            ++i; // a two-character escape, or a bad one that the parser reports
            continue;
        }
        if (isHigh(unit) && isLow(unitAt(i + 6))) {
            i += 11;
            continue;
        }
        if (!isHigh(unit) && !isLow(unit)) {
            i += 5;
            continue;
        }
        const char32_t aboveBmp = kLoneSurrogateBase + char32_t(unit) - 0x10000; // as UTF-16 splits it
        out.append(json.substr(copiedUpTo, i - copiedUpTo));
        for (const char32_t half : { 0xd800 + (aboveBmp >> 10), 0xdc00 + (aboveBmp & 0x3ff) }) {
            out += "\\u";
            for (int shift = 12; shift >= 0; shift -= 4)
                out += "0123456789abcdef"[(half >> shift) & 0xf];
        }
        copiedUpTo = i + 6;
        i += 5;
    }
    if (copiedUpTo == 0)
        return std::nullopt;
    out.append(json.substr(copiedUpTo));
    return out;
}

// A key as QJsonDocument reads it: with its lone surrogates back, when privatizeLoneSurrogates() ran.
QString keyText(std::string_view key, bool privatized)
{
    QString text = QString::fromUtf8(key.data(), qsizetype(key.size()));
    if (!privatized)
        return text;
    QString restored;
    restored.reserve(text.size());
    for (qsizetype i = 0; i < text.size(); ++i) {
        if (text[i].isHighSurrogate() && i + 1 < text.size() && text[i + 1].isLowSurrogate()) {
            const char32_t code = QChar::surrogateToUcs4(text[i], text[i + 1]);
            if (code >= kLoneSurrogateBase + 0xd800 && code <= kLoneSurrogateBase + 0xdfff) {
                restored += QChar(char16_t(code - kLoneSurrogateBase));
                ++i;
                continue;
            }
        }
        restored += text[i];
    }
    return restored;
}

// `path` is the value's JSON path, built only for containers (a plan's scalars need none).
bool findRepeatedKeyIn(simdjson::dom::element value, const QString& path, bool privatized, RepeatedKey& out)
{
    if (value.is_array()) {
        const simdjson::dom::array items = value.get_array().value_unsafe();
        qsizetype index = 0;
        for (const simdjson::dom::element item : items) {
            if ((item.is_object() || item.is_array())
                && findRepeatedKeyIn(item, path + QLatin1Char('[') + QString::number(index) + QLatin1Char(']'), privatized, out))
                return true;
            ++index;
        }
        return false;
    }
    if (!value.is_object())
        return false;
    const simdjson::dom::object object = value.get_object().value_unsafe();
    // A set, so an object of many thousand keys costs what it holds, not its square.
    std::unordered_set<std::string_view> keys;
    keys.reserve(object.size());
    for (const simdjson::dom::key_value_pair field : object) {
        if (!keys.insert(field.key).second) {
            out = RepeatedKey { path, keyText(field.key, privatized) };
            return true;
        }
        if ((field.value.is_object() || field.value.is_array())
            && findRepeatedKeyIn(field.value, jsonPathMember(path, keyText(field.key, privatized)), privatized, out))
            return true;
    }
    return false;
}

} // namespace

RepeatedKey findRepeatedKey(QByteArrayView json)
{
    // Read what QJsonDocument reads: a leading UTF-8 byte order mark (Windows editors write one) is
    // skipped, integers beyond 64 bits, which simdjson refuses, are read as doubles, and lone
    // surrogate escapes are kept apart (privatizeLoneSurrogates).
    if (json.startsWith("\xef\xbb\xbf"))
        json = json.sliced(3);
    simdjson::dom::parser parser;
    simdjson::dom::element root;
    RepeatedKey found;
    simdjson::error_code code = parseJsonTextWidened(parser, json.data(), std::size_t(json.size()), root);
    std::optional<std::string> privatized;
    if (code == simdjson::STRING_ERROR) {
        privatized = privatizeLoneSurrogates(std::string_view(json.data(), std::size_t(json.size())));
        if (privatized)
            code = parseJsonTextWidened(parser, privatized->data(), privatized->size(), root);
    }
    if (code == simdjson::SUCCESS)
        findRepeatedKeyIn(root, QStringLiteral("$"), privatized.has_value(), found);
    return found;
}

QString repeatedParameterMessage(const RepeatedKey& repeated)
{
    const QString key = repeated.key.isEmpty() ? QStringLiteral("\"\"") : repeated.key;
    return repeated.objectPath == QLatin1String("$")
        ? QStringLiteral("parameter %1 is given twice").arg(key)
        : QStringLiteral("key %1 is given twice in parameter %2")
              .arg(key, repeated.objectPath.mid(repeated.objectPath.startsWith(QLatin1String("$.")) ? 2 : 1));
}

bool FaultSpec::fromNameAndParams(
    const QString& name, const QJsonObject& params, const QString& jsonPath, FaultSpec& out, QString* error)
{
    return buildSpec(name, params, jsonPath + QStringLiteral(".fault"),
        [&](const QString& param) -> QString { return jsonPathMember(jsonPath + QStringLiteral(".params"), param); }, out, error);
}

namespace {
// An example --fault for the fault `name` (a prefix before ':' counts): its first required
// parameter with a sample value, else its first parameter with its default; the bare name for a
// fault without parameters; latency's for a name that is not a fault.
QString optionExample(QStringView name)
{
    const QStringView fault = name.left(name.indexOf(QLatin1Char(':')));
    for (const FaultInfo& info : catalog()) {
        if (fault != QLatin1String(info.name))
            continue;
        if (info.params.empty())
            return QLatin1String(info.name);
        const auto required = std::find_if(info.params.begin(), info.params.end(), [](const ParamSpec& p) { return !p.defaultValue; });
        const ParamSpec& param = required != info.params.end() ? *required : info.params.front();
        const char* value = param.defaultValue ? param.defaultValue : param.example;
        return QLatin1String(info.name) + QStringLiteral("={\"") + QLatin1String(param.name) + QStringLiteral("\":")
            + QLatin1String(value) + QLatin1Char('}');
    }
    return QStringLiteral("latency={\"ms\":200}");
}
}

bool FaultSpec::fromOption(const QString& option, FaultSpec& out, QString* error)
{
    const qsizetype equals = option.indexOf(QLatin1Char('='));
    const QString name = equals < 0 ? option : option.left(equals);
    const QString example = optionExample(name);
    const QString where = QStringLiteral("--fault ") + name;
    if (name.isEmpty()) {
        if (error)
            *error = QStringLiteral("--fault %1: a fault name is missing, as in %2 (deltascope-cli proxy --list-faults)").arg(option, example);
        return false;
    }
    if (name.contains(QLatin1Char(':'))) {
        if (error)
            *error = where + QStringLiteral(": write NAME or NAME=JSON, as in %1 (deltascope-cli proxy --list-faults)").arg(example);
        return false;
    }
    QJsonObject params;
    if (equals >= 0) {
        QJsonParseError parseError;
        const QJsonDocument document = QJsonDocument::fromJson(option.mid(equals + 1).toUtf8(), &parseError);
        if (!document.isObject()) {
            if (error && !example.contains(QLatin1Char('='))) {
                *error = where + QStringLiteral(": '%1' takes no parameters; write --fault %1").arg(example);
            } else if (error) {
                *error = where + QStringLiteral(": the parameters after '=' must be a JSON object, as in ") + example
                    + (parseError.error ? QStringLiteral(" (%1 at offset %2 after '=')").arg(parseError.errorString()).arg(parseError.offset)
                                        : QString())
                    + QStringLiteral("; without '=' the fault takes its defaults");
            }
            return false;
        }
        params = document.object();
    }
    if (!buildSpec(name, params, where, [&](const QString& param) -> QString { return where + QStringLiteral(", parameter ") + param; }, out, error))
        return false;
    // After the checks of the name and the parameters, so an unknown fault or a parameter that
    // should not be there is named as such, not as given twice.
    if (equals < 0)
        return true;
    if (const RepeatedKey repeated = findRepeatedKey(option.mid(equals + 1).toUtf8()); repeated.found()) {
        if (error)
            *error = where + QStringLiteral(": ") + repeatedParameterMessage(repeated);
        return false;
    }
    return true;
}

QJsonObject FaultSpec::toJson() const
{
    return { { QStringLiteral("fault"), name() }, { QStringLiteral("params"), params } };
}

QString notAppliedText(const QString& fault, const QJsonObject& params, const QString& why)
{
    return QStringLiteral("%1 %2 was not applied: %3").arg(fault, QString::fromUtf8(QJsonDocument(params).toJson(QJsonDocument::Compact)), why);
}

QJsonObject FaultReport::toJson() const
{
    QJsonObject object { { QStringLiteral("fault"), fault }, { QStringLiteral("params"), params },
        { QStringLiteral("corrupting"), corrupting } };
    if (connection >= 0)
        object.insert(QStringLiteral("connection"), connection);
    if (!detail.isEmpty())
        object.insert(QStringLiteral("detail"), detail);
    if (announcement)
        object.insert(QStringLiteral("announcement"), true);
    return object;
}

int intParam(const QJsonObject& params, const char* name)
{
    const qint64 value = params.value(QLatin1String(name)).toInteger();
    Q_ASSERT(value >= intRange(name).minimum && value <= intRange(name).maximum);
    return int(value);
}

bool isRetryableCode(int code)
{
    static const int kRetry[] = { 123392, 198657, 130568, 134152, 143880, 138255, 144416, 146631, 183498, 199883,
        902223, 912544, 983117, 928828, 978162, 718908, 769085, 787507 };
    return std::find(std::begin(kRetry), std::end(kRetry), code) != std::end(kRetry);
}

}
