#include "core/capture/captureformat.h"

#include "core/exactinteger.h"
#include "core/jsonparse.h"
#include "core/jsonstring.h"

#include <QDateTime>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonParseError>
#include <QRegularExpression>
#include <QTimeZone>
#include <QUrl>

#include <simdjson.h>
#include <zstd.h>

#include <algorithm>
#include <cctype>
#include <cstring>
#include <iterator>

namespace deltascope::capture {

namespace {

void appendNumber(QByteArray& out, qint64 value)
{
    char buffer[24];
    char* end = buffer + sizeof(buffer);
    char* p = end;
    const bool negative = value < 0;
    quint64 magnitude = negative ? quint64(0) - quint64(value) : quint64(value);
    do {
        *--p = char('0' + magnitude % 10);
        magnitude /= 10;
    } while (magnitude);
    if (negative)
        *--p = '-';
    out.append(p, end - p);
}

void appendKey(QByteArray& out, const char* key)
{
    out.append(",\"");
    out.append(key);
    out.append("\":");
}

// A local event's payload goes in verbatim only when it is one JSON object on one line.
bool isSingleLineJsonObject(QByteArrayView payload)
{
    if (payload.isEmpty() || payload.front() != '{' || payload.contains('\n') || payload.contains('\r'))
        return false;
    simdjson::dom::parser parser;
    simdjson::dom::element element;
    if (parseJsonText(parser, payload.data(), std::size_t(payload.size())).get(element))
        return false;
    return element.is_object();
}

}

namespace {

// documents/hash-password's answer, {"deliver":N,"done":true,"response":{"passwordHash":".."}}:
// its hash replaced (a salted hash still lets a password be guessed offline).
int redactPasswordHash(QByteArray& text)
{
    simdjson::ondemand::parser parser;
    const simdjson::padded_string padded(text.constData(), std::size_t(text.size()));
    simdjson::ondemand::document document;
    simdjson::ondemand::object frame;
    simdjson::ondemand::object response;
    simdjson::ondemand::value hash;
    simdjson::ondemand::json_type type;
    if (parser.iterate(padded).get(document) || document.get_object().get(frame) || frame.find_field_unordered("response").get_object().get(response)
        || response.find_field_unordered("passwordHash").get(hash) || hash.type().get(type) || type != simdjson::ondemand::json_type::string)
        return 0;
    std::string_view raw = hash.raw_json_token();
    while (!raw.empty() && raw.back() != '"')
        raw.remove_suffix(1);
    text.replace(qsizetype(raw.data() - padded.data()), qsizetype(raw.size()), "\"[redacted]\"");
    return 1;
}

}

int redactPasswords(QByteArray& text)
{
    if (text.contains("\"passwordHash\""))
        return redactPasswordHash(text);
    if (!text.contains("password\"") || !text.contains("\"method\""))
        return 0;
    simdjson::ondemand::parser parser;
    const simdjson::padded_string padded(text.constData(), std::size_t(text.size()));
    simdjson::ondemand::document document;
    simdjson::ondemand::object object;
    std::string_view method;
    bool hasId = false;
    bool parsed = !parser.iterate(padded).get(document) && !document.get_object().get(object);
    std::vector<std::pair<qsizetype, qsizetype>> secrets; // offset and length of each raw value
    if (parsed) {
        for (auto field : object) {
            std::string_view key;
            simdjson::ondemand::value value;
            simdjson::ondemand::json_type type;
            if (field.unescaped_key().get(key) || field.value().get(value) || value.type().get(type)) {
                parsed = false;
                break;
            }
            if (key == "method" && type == simdjson::ondemand::json_type::string) {
                if (value.get_string().get(method))
                    method = {};
            } else if (key == "id") {
                hasId = true;
            } else if (key == "password" || key == "new_password") {
                // The whole value, whatever it is: an array's or object's raw token is its bracket.
                std::string_view raw;
                bool ok = true;
                if (type == simdjson::ondemand::json_type::array) {
                    simdjson::ondemand::array array;
                    ok = !value.get_array().get(array) && !array.raw_json().get(raw);
                } else if (type == simdjson::ondemand::json_type::object) {
                    simdjson::ondemand::object inner;
                    ok = !value.get_object().get(inner) && !inner.raw_json().get(raw);
                } else {
                    raw = value.raw_json_token();
                }
                while (!raw.empty() && (raw.back() == ' ' || raw.back() == '\t' || raw.back() == '\r' || raw.back() == '\n'))
                    raw.remove_suffix(1);
                if (!ok) {
                    parsed = false;
                    break;
                }
                if (type != simdjson::ondemand::json_type::null)
                    secrets.emplace_back(qsizetype(raw.data() - padded.data()), qsizetype(raw.size()));
            }
        }
    }
    if (!parsed) {
        // Not JSON all through (cut short, text after it): what looks like a password string in
        // a request still goes.
        static const QRegularExpression loose(QStringLiteral(R"re("(new_)?password"\s*:\s*"(?:[^"\\]|\\.)*")re"));
        const QString before = QString::fromUtf8(text);
        QString after = before;
        after.replace(loose, QStringLiteral("\"\\1password\":\"[redacted]\""));
        if (after == before)
            return 0;
        text = after.toUtf8();
        return int(before.count(loose));
    }
    // A request names an Adama method and has an id (as the fold CLI tells requests apart):
    // document data holding a "method" and a "password" is the user's to list in --redact.
    const bool request = hasId && (method.find('/') != std::string_view::npos || method == "probe" || method == "stats");
    if (!request)
        return 0;
    // From the last, so the earlier offsets stay right.
    for (auto it = secrets.rbegin(); it != secrets.rend(); ++it)
        text.replace(it->first, it->second, "\"[redacted]\"");
    return int(secrets.size());
}

QByteArray compressZstd(QByteArrayView text)
{
    ZSTD_CCtx* context = ZSTD_createCCtx();
    ZSTD_CCtx_setParameter(context, ZSTD_c_compressionLevel, 3);
    ZSTD_CCtx_setParameter(context, ZSTD_c_checksumFlag, 1);
    QByteArray out(qsizetype(ZSTD_compressBound(std::size_t(text.size()))), Qt::Uninitialized);
    const std::size_t size = ZSTD_compress2(context, out.data(), std::size_t(out.size()), text.data(), std::size_t(text.size()));
    ZSTD_freeCCtx(context);
    out.resize(ZSTD_isError(size) ? 0 : qsizetype(size)); // only out of memory fails, with the bound as room
    return out;
}

namespace {
// The value of each "format" field of the first line of `head` (a string, however it is spaced),
// given to `found` until it returns true; whether it did.
template<typename Found>
bool anyFirstLineFormat(QByteArrayView head, Found found)
{
    const qsizetype lineEnd = head.indexOf('\n');
    const QByteArrayView line = lineEnd < 0 ? head : head.first(lineEnd);
    const auto skipSpace = [&line](qsizetype i) {
        while (i < line.size() && (line[i] == ' ' || line[i] == '\t' || line[i] == '\r'))
            ++i;
        return i;
    };
    for (qsizetype at = line.indexOf("\"format\""); at >= 0; at = line.indexOf("\"format\"", at + 1)) {
        qsizetype i = skipSpace(at + 8);
        if (i >= line.size() || line[i] != ':')
            continue;
        i = skipSpace(i + 1);
        if (i >= line.size() || line[i] != '"')
            continue;
        const qsizetype close = line.indexOf('"', i + 1);
        if (close < 0)
            continue;
        if (found(line.sliced(i + 1, close - i - 1)))
            return true;
    }
    return false;
}
}

bool firstLineHasFormat(QByteArrayView head, QByteArrayView format)
{
    return anyFirstLineFormat(head, [&](QByteArrayView value) { return value == format; });
}

QByteArray firstLineFormatStartingWith(QByteArrayView head, QByteArrayView prefix)
{
    QByteArray format;
    anyFirstLineFormat(head, [&](QByteArrayView value) {
        if (!value.startsWith(prefix))
            return false;
        format = value.toByteArray();
        return true;
    });
    return format;
}

bool isLocalKind(EventKind kind)
{
    return naturalDirection(kind) == Direction::Local;
}

bool isValidUtf8(QByteArrayView bytes)
{
    return simdjson::validate_utf8(bytes.data(), std::size_t(bytes.size()));
}

bool decodeJsonString(QByteArrayView token, QByteArray& out)
{
    out.clear();
    if (token.size() < 2 || token.front() != '"' || token.back() != '"')
        return false;
    const char* p = token.data() + 1;
    const char* end = token.data() + token.size() - 1;
    out.reserve(end - p);
    auto hex4 = [&](const char* at, quint32& value) {
        const int unit = jsonEscapeUnit(at, std::size_t(end - at));
        value = quint32(unit);
        return unit >= 0;
    };
    while (p < end) {
        const char* run = p;
        while (p < end && *p != '\\')
            ++p;
        out.append(run, p - run);
        if (p >= end)
            break;
        if (end - p < 2)
            return false;
        const char e = p[1];
        p += 2;
        switch (e) {
        case '"':
            out.append('"');
            break;
        case '\\':
            out.append('\\');
            break;
        case '/':
            out.append('/');
            break;
        case 'b':
            out.append('\b');
            break;
        case 'f':
            out.append('\f');
            break;
        case 'n':
            out.append('\n');
            break;
        case 'r':
            out.append('\r');
            break;
        case 't':
            out.append('\t');
            break;
        case 'u': {
            quint32 code = 0;
            if (!hex4(p, code))
                return false;
            p += 4;
            if (code >= 0xD800 && code <= 0xDBFF && end - p >= 6 && p[0] == '\\' && p[1] == 'u') {
                quint32 low = 0;
                if (hex4(p + 2, low) && low >= 0xDC00 && low <= 0xDFFF) {
                    code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00);
                    p += 6;
                }
            }
            if (code < 0x80) {
                out.append(char(code));
            } else if (code < 0x800) {
                out.append(char(0xC0 | (code >> 6)));
                out.append(char(0x80 | (code & 0x3F)));
            } else if (code < 0x10000) {
                out.append(char(0xE0 | (code >> 12)));
                out.append(char(0x80 | ((code >> 6) & 0x3F)));
                out.append(char(0x80 | (code & 0x3F)));
            } else {
                out.append(char(0xF0 | (code >> 18)));
                out.append(char(0x80 | ((code >> 12) & 0x3F)));
                out.append(char(0x80 | ((code >> 6) & 0x3F)));
                out.append(char(0x80 | (code & 0x3F)));
            }
            break;
        }
        default:
            return false;
        }
    }
    return true;
}

qsizetype decodedJsonStringSize(QByteArrayView token)
{
    // decodeJsonString()'s walk, counting instead of writing: a capture's index says how big each
    // frame was without decoding it (tst_captureformat holds the two to the same sizes).
    if (token.size() < 2 || token.front() != '"' || token.back() != '"')
        return -1;
    const char* p = token.data() + 1;
    const char* end = token.data() + token.size() - 1;
    qsizetype size = 0;
    while (p < end) {
        const char* escape = static_cast<const char*>(std::memchr(p, '\\', std::size_t(end - p)));
        if (!escape)
            return size + (end - p);
        size += escape - p;
        p = escape;
        if (end - p < 2)
            return -1;
        const char e = p[1];
        p += 2;
        if (e != 'u') {
            if (!std::strchr("\"\\/bfnrt", e) || e == 0)
                return -1;
            ++size;
            continue;
        }
        const int unit = jsonEscapeUnit(p, std::size_t(end - p));
        if (unit < 0)
            return -1;
        quint32 code = quint32(unit);
        p += 4;
        if (code >= 0xD800 && code <= 0xDBFF && end - p >= 6 && p[0] == '\\' && p[1] == 'u') {
            const int low = jsonEscapeUnit(p + 2, std::size_t(end - p - 2));
            if (low >= 0xDC00 && low <= 0xDFFF) {
                code = 0x10000;
                p += 6;
            }
        }
        size += code < 0x80 ? 1 : code < 0x800 ? 2 : code < 0x10000 ? 3 : 4;
    }
    return size;
}

namespace {
// The header fields this version knows, in the order they are written.
constexpr const char* kHeaderFields[] = { "format", "version", "tool", "startedWallMs", "started", "endpoint", "space",
    "key", "identity", "identityRemoved", "source", "partial", "notes", "redacted" };

bool knownHeaderField(QStringView name)
{
    return std::any_of(std::begin(kHeaderFields), std::end(kHeaderFields),
        [name](const char* known) { return name == QLatin1String(known); });
}
}

QByteArray Header::toJsonLine() const
{
    // Written field by field, in the documented order, so `format` comes first and `head -1`
    // reads as the README shows (QJsonObject would sort the keys).
    QByteArray out;
    out.reserve(256);
    const auto field = [&out](const char* name) {
        out.append(out.isEmpty() ? "{\"" : ",\"");
        out.append(name);
        out.append("\":");
    };
    const auto text = [&out](const QString& value) { appendJsonString(out, value.toUtf8()); };
    field("format");
    text(QLatin1String(kFormatName));
    field("version");
    text(QStringLiteral("%1.%2").arg(versionMajor).arg(versionMinor));
    field("tool");
    text(tool);
    field("startedWallMs");
    out.append(QByteArray::number(startedWallMs));
    field("started");
    text(QDateTime::fromMSecsSinceEpoch(startedWallMs, QTimeZone::utc()).toString(Qt::ISODateWithMs));
    field("endpoint");
    text(endpoint);
    field("space");
    text(space);
    field("key");
    text(key);
    if (!identity.isEmpty()) {
        field("identity");
        text(identity);
    }
    field("identityRemoved");
    out.append(identityRemoved ? "true" : "false");
    if (!source.isEmpty()) {
        field("source");
        text(source);
    }
    if (partial) {
        field("partial");
        out.append("true");
    }
    field("notes");
    text(notes);
    if (!redacted.isEmpty()) {
        field("redacted");
        out.append(QJsonDocument(QJsonArray::fromStringList(redacted)).toJson(QJsonDocument::Compact));
    }
    // Fields of a newer minor version, kept from the file this one was read from, go last.
    for (auto it = extra.begin(); it != extra.end(); ++it) {
        if (knownHeaderField(it.key()))
            continue;
        out.append(',');
        text(it.key());
        out.append(':');
        const QByteArray wrapped = QJsonDocument(QJsonArray { it.value() }).toJson(QJsonDocument::Compact);
        out.append(wrapped.mid(1, wrapped.size() - 2)); // the value without the array's brackets
    }
    out.append('}');
    return out;
}

bool looksLikeCaptureEvent(QByteArrayView line)
{
    const QJsonObject object = QJsonDocument::fromJson(line.toByteArray()).object();
    return object.value(QLatin1String("index")).isDouble() && object.value(QLatin1String("dir")).isString()
        && object.value(QLatin1String("kind")).isString();
}

QString missingHeaderMessage(QByteArrayView firstLine)
{
    const qint64 index = QJsonDocument::fromJson(firstLine.toByteArray()).object().value(QLatin1String("index")).toInteger(-1);
    return QStringLiteral("line 1 is event %1 of a Deltascope capture, not its header: the header line is missing "
                          "(put one such as {\"format\":\"%2\",\"version\":\"%3.%4\"} back as line 1)")
        .arg(index)
        .arg(QLatin1String(kFormatName))
        .arg(kVersionMajor)
        .arg(kVersionMinor);
}

bool parseHeader(std::string_view line, Header& out, QString& error)
{
    out = Header();
    QJsonParseError parseError;
    const QJsonDocument document
        = QJsonDocument::fromJson(QByteArray::fromRawData(line.data(), qsizetype(line.size())), &parseError);
    if (parseError.error != QJsonParseError::NoError || !document.isObject()) {
        const bool looksBinary = std::any_of(line.begin(), line.begin() + std::min<std::size_t>(line.size(), 256),
            [](char c) { return c == 0 || (static_cast<unsigned char>(c) < 0x20 && c != '\t' && c != '\r'); });
        if (looksBinary)
            error = QStringLiteral("not a Deltascope capture: line 1 is binary data, not a JSON header");
        else if (line.size() < 200 && line.find("\"log\"") == std::string_view::npos && line.rfind('{', 0) == 0
            && line.find('}') == std::string_view::npos)
            error = QStringLiteral("not a Deltascope capture: line 1 is not a complete JSON object "
                                   "(a pretty-printed JSON file such as a HAR? use 'import')");
        else
            error = QStringLiteral("not a Deltascope capture: line 1 is not a JSON object header (%1 at byte %2)")
                        .arg(parseError.errorString())
                        .arg(parseError.offset);
        return false;
    }
    QJsonObject object = document.object();
    if (object.contains(QStringLiteral("log")) && !object.contains(QStringLiteral("format"))) {
        error = QStringLiteral("not a Deltascope capture: this is a HAR file; convert it with 'import FILE.har -o FILE'");
        return false;
    }
    const QString format = object.value(QStringLiteral("format")).toString();
    if (format != QLatin1String(kFormatName)) {
        const QByteArrayView lineView(line.data(), qsizetype(line.size()));
        error = format.isEmpty() && looksLikeCaptureEvent(lineView) ? missingHeaderMessage(lineView)
            : format.isEmpty()
            ? QStringLiteral("not a Deltascope capture: line 1 has no \"format\" field")
            : QStringLiteral("not a Deltascope capture: line 1 says format \"%1\", expected \"%2\"")
                  .arg(format, QLatin1String(kFormatName));
        return false;
    }
    const QJsonValue versionValue = object.value(QStringLiteral("version"));
    if (!versionValue.isString()) {
        error = QStringLiteral("capture header: \"version\" must be a string \"MAJOR.MINOR\" (it is %1)")
                    .arg(versionValue.isUndefined() ? QStringLiteral("missing")
                                                    : QString::fromUtf8(QJsonDocument(QJsonArray { versionValue }).toJson(QJsonDocument::Compact)).mid(1).chopped(1));
        return false;
    }
    const QString version = versionValue.toString();
    const auto parts = version.split(QLatin1Char('.'));
    bool okMajor = false;
    bool okMinor = parts.size() < 2;
    out.versionMajor = parts.value(0).toInt(&okMajor);
    out.versionMinor = parts.size() >= 2 ? parts[1].toInt(&okMinor) : 0;
    if (!okMajor || !okMinor || parts.size() > 2) {
        error = QStringLiteral("capture header: bad \"version\" \"%1\" (expected MAJOR.MINOR)").arg(version);
        return false;
    }
    if (out.versionMajor > kVersionMajor) {
        error = QStringLiteral("capture format version %1 is newer than this Deltascope can read (%2.x); "
                               "open it with a newer Deltascope")
                    .arg(version)
                    .arg(kVersionMajor);
        return false;
    }
    if (out.versionMajor < 1) {
        error = QStringLiteral("capture format version %1 is not supported").arg(version);
        return false;
    }
    out.tool = object.value(QStringLiteral("tool")).toString();
    out.startedWallMs = truncatedInteger(object.value(QStringLiteral("startedWallMs")).toDouble());
    out.endpoint = object.value(QStringLiteral("endpoint")).toString();
    out.space = object.value(QStringLiteral("space")).toString();
    out.key = object.value(QStringLiteral("key")).toString();
    out.identity = object.value(QStringLiteral("identity")).toString();
    out.identityRemoved = object.value(QStringLiteral("identityRemoved")).toBool();
    out.source = object.value(QStringLiteral("source")).toString();
    out.partial = object.value(QStringLiteral("partial")).toBool();
    out.notes = object.value(QStringLiteral("notes")).toString();
    for (const auto& value : object.value(QStringLiteral("redacted")).toArray())
        out.redacted.append(value.toString());
    for (auto it = object.begin(); it != object.end(); ++it) {
        if (!knownHeaderField(it.key()))
            out.extra.insert(it.key(), it.value());
    }
    return true;
}

void appendEventLine(QByteArray& out, const SessionEvent& event, QStringView method, QByteArrayView payload)
{
    out.append("{\"index\":");
    appendNumber(out, event.index);
    appendKey(out, "ns");
    appendNumber(out, event.monotonicNs);
    appendKey(out, "wallMs");
    appendNumber(out, event.wallMs);
    out.append(",\"dir\":\"");
    out.append(directionName(event.direction).toLatin1());
    out.append("\",\"kind\":\"");
    out.append(eventKindName(event.kind).toLatin1());
    out.append('"');
    appendKey(out, "epoch");
    appendNumber(out, event.epoch);
    if (event.requestId != -1) {
        appendKey(out, "requestId");
        appendNumber(out, event.requestId);
    }
    if (event.seq != -1) {
        appendKey(out, "seq");
        appendNumber(out, event.seq);
    }
    if (event.parts) {
        appendKey(out, "parts");
        appendNumber(out, event.parts);
    }
    if (!method.isEmpty()) {
        appendKey(out, "method");
        appendJsonString(out, method.toUtf8());
    }
    if (event.code) {
        appendKey(out, "code");
        appendNumber(out, event.code);
    }
    if (event.flags) {
        appendKey(out, "flags");
        appendNumber(out, event.flags);
    }
    if (event.linkedIndex != -1) {
        appendKey(out, "link");
        appendNumber(out, event.linkedIndex);
    }
    // The payload goes last so a reader can index the small fields and skip the rest of the line.
    if (isLocalKind(event.kind) && isSingleLineJsonObject(payload)) {
        appendKey(out, "fields");
        out.append(payload.data(), payload.size());
    } else if (isValidUtf8(payload)) {
        appendKey(out, "frame");
        appendJsonString(out, payload);
    } else {
        appendKey(out, "frameBase64");
        out.append('"');
        out.append(QByteArray::fromRawData(payload.data(), payload.size()).toBase64());
        out.append('"');
    }
    out.append('}');
}

void appendLinkLine(QByteArray& out, qint64 a, qint64 b, bool seqLink)
{
    out.append(seqLink ? "{\"seqLink\":[" : "{\"link\":[");
    appendNumber(out, a);
    out.append(',');
    appendNumber(out, b);
    out.append("]}");
}

void appendEndLine(QByteArray& out, qint64 eventCount, qint64 wallMs)
{
    out.append("{\"end\":true,\"events\":");
    appendNumber(out, eventCount);
    appendKey(out, "wallMs");
    appendNumber(out, wallMs);
    out.append('}');
}

void IdentityRedactor::addToken(const QByteArray& token)
{
    // A placeholder ("[redacted identity 1]", a URL's "[redacted]") is what an earlier export left.
    if (token.isEmpty() || token.startsWith("[redacted"))
        return;
    if (std::any_of(m_tokens.begin(), m_tokens.end(), [&token](const Token& known) { return known.token == token; }))
        return;
    Token entry { token, "[redacted identity " + QByteArray::number(qulonglong(m_tokens.size() + 1)) + ']', { token } };
    QByteArray escaped;
    appendJsonString(escaped, token);
    escaped = escaped.mid(1, escaped.size() - 2);
    // As written, as JSON text holds it, and %-encoded as a URL's query holds it
    // (?identity=anonymous%3Aalice).
    const QByteArray percent = QUrl::toPercentEncoding(QString::fromUtf8(token));
    QByteArray percentLower = percent; // "%3a" is as valid as "%3A"
    for (qsizetype at = percentLower.indexOf('%'); at >= 0 && at + 2 < percentLower.size(); at = percentLower.indexOf('%', at + 1)) {
        percentLower[at + 1] = char(std::tolower(static_cast<unsigned char>(percentLower[at + 1])));
        percentLower[at + 2] = char(std::tolower(static_cast<unsigned char>(percentLower[at + 2])));
    }
    for (const QByteArray& form : { escaped, percent, percentLower }) {
        if (std::find(entry.forms.begin(), entry.forms.end(), form) == entry.forms.end())
            entry.forms.push_back(form);
    }
    m_tokens.push_back(std::move(entry));
    // Longest first: a token that is the start of a longer one would otherwise cut that one in two
    // and leave its rest in the clear.
    m_longestFirst.push_back(m_tokens.size() - 1);
    std::stable_sort(m_longestFirst.begin(), m_longestFirst.end(),
        [this](std::size_t a, std::size_t b) { return m_tokens[a].token.size() > m_tokens[b].token.size(); });
}

namespace {

// The raw text of a top-level "identity" string field (quotes included, as spelled: "a\/b" and
// "a/b" are one token) and its value, or false when the payload has none.
bool identityField(QByteArrayView payload, std::string_view& raw, std::string& value)
{
    if (!payload.contains("\"identity\""))
        return false;
    simdjson::ondemand::parser parser;
    const simdjson::padded_string padded(payload.data(), std::size_t(payload.size()));
    simdjson::ondemand::document document;
    simdjson::ondemand::object object;
    simdjson::ondemand::value field;
    if (parser.iterate(padded).get(document) || document.get_object().get(object)
        || object.find_field_unordered("identity").get(field))
        return false;
    simdjson::ondemand::json_type type;
    if (field.type().get(type) || type != simdjson::ondemand::json_type::string)
        return false;
    std::string_view token = field.raw_json_token();
    while (!token.empty() && token.back() != '"')
        token.remove_suffix(1); // raw_json_token() keeps the whitespace after the string
    std::string_view unescaped;
    if (token.size() < 2 || field.get_string().get(unescaped))
        return false;
    // `token` points into the padded copy: find it in the payload by its offset there.
    raw = std::string_view(payload.data() + (token.data() - padded.data()), token.size());
    value.assign(unescaped);
    return true;
}

}

void IdentityRedactor::learn(QByteArrayView payload)
{
    std::string_view rawIdentity;
    std::string identity;
    if (identityField(payload, rawIdentity, identity))
        addToken(QByteArray(identity.data(), qsizetype(identity.size())));
}

QByteArray IdentityRedactor::redact(QByteArrayView payload, bool learn)
{
    QByteArray result = payload.toByteArray();
    std::string_view rawIdentity;
    std::string identity;
    const bool hasIdentity = identityField(payload, rawIdentity, identity);
    const QByteArray identityBytes(identity.data(), qsizetype(identity.size()));
    if (learn && hasIdentity)
        addToken(identityBytes);
    // The identity field itself, whatever its spelling (escapes another tool wrote), first.
    if (hasIdentity) {
        const auto known = std::find_if(m_tokens.begin(), m_tokens.end(), [&](const Token& token) { return token.token == identityBytes; });
        if (known != m_tokens.end()) {
            const qsizetype at = qsizetype(rawIdentity.data() - payload.data());
            result.replace(at, qsizetype(rawIdentity.size()), QByteArray('"' + known->placeholder + '"'));
            ++m_replacements;
        }
    }
    for (const std::size_t i : m_longestFirst) {
        const Token& token = m_tokens[i];
        for (const QByteArray& form : token.forms) {
            if (form.size() >= 4) {
                // Long enough to be distinctive: replace wherever the text appears.
                const qsizetype count = result.count(form);
                if (count) {
                    result.replace(form, token.placeholder);
                    m_replacements += count;
                }
            } else {
                // A short token would mangle unrelated text: replace it only as the identity field.
                for (const QByteArray& pattern : { QByteArray("\"identity\":\""), QByteArray("\"identity\": \"") }) {
                    const QByteArray needle = pattern + form + '"';
                    const qsizetype count = result.count(needle);
                    if (count) {
                        result.replace(needle, QByteArray(pattern + token.placeholder + '"'));
                        m_replacements += count;
                    }
                }
            }
        }
    }
    if (!m_tokens.empty() && result.contains('\\'))
        redactEscapedStrings(result);
    return result;
}

void IdentityRedactor::redactEscapedStrings(QByteArray& text, int depth)
{
    // A string spelled with escapes another tool chose ("\u0061lice", "a\/b") holds a token the
    // spellings above miss: such strings are read as JSON and written again with it replaced.
    thread_local simdjson::dom::parser parser; // its buffers kept from payload to payload
    QByteArray out;
    qsizetype copied = 0;
    for (qsizetype open = text.indexOf('"'); open >= 0;) {
        qsizetype close = open + 1;
        bool escaped = false;
        while (close < text.size() && text[close] != '"') {
            if (text[close] == '\\') {
                escaped = true;
                ++close;
            }
            ++close;
        }
        if (close >= text.size())
            break;
        bool replaced = false;
        if (escaped) {
            const QByteArrayView literal = QByteArrayView(text).sliced(open, close - open + 1);
            std::string_view decoded;
            QByteArray value;
            bool read = false;
            if (!parser.parse(literal.data(), std::size_t(literal.size())).get_string().get(decoded)) {
                value = QByteArray(decoded.data(), qsizetype(decoded.size()));
                read = true;
            } else if (decodeJsonString(literal, value)) {
                // What simdjson refuses but still reads as text (a lone surrogate escape, bytes
                // that are not UTF-8 beside an escaped token): each becomes one U+FFFD.
                for (qsizetype i = 0; i + 2 < value.size(); ++i) {
                    if (quint8(value[i]) == 0xED && (quint8(value[i + 1]) & 0xE0) == 0xA0) // a surrogate, as decoded
                        value.replace(i, 3, "\xEF\xBF\xBD");
                }
                value = QString::fromUtf8(value).toUtf8();
                read = true;
            }
            if (read) {
                const qint64 before = m_replacements;
                // JSON kept in a string (a log line quoting a request) is escaped once more there.
                if (depth < 2 && value.contains('\\'))
                    redactEscapedStrings(value, depth + 1);
                qint64 found = m_replacements - before;
                for (const std::size_t i : m_longestFirst) {
                    const Token& token = m_tokens[i];
                    // A short token only as the whole string (as an identity field holds it).
                    if (token.token.size() >= 4 ? value.contains(token.token) : value == token.token) {
                        found += value.count(token.token);
                        value.replace(token.token, token.placeholder);
                    }
                }
                if (found) {
                    out.append(QByteArrayView(text).sliced(copied, open - copied));
                    appendJsonString(out, value);
                    copied = close + 1;
                    m_replacements = before + found;
                    replaced = true;
                }
            }
        }
        // Where quotes do not pair (text that is not JSON, an odd quote before the token's string),
        // this closing quote may open the string that matters: it is tried as an opening too.
        open = replaced ? text.indexOf('"', close + 1) : close;
    }
    if (copied == 0)
        return;
    out.append(QByteArrayView(text).sliced(copied));
    text = std::move(out);
}

namespace {
// Each '&'-separated item of a URL's query (empty ones too), in order, and whether it is the last.
template<typename Visit>
void forEachQueryItem(QByteArrayView query, Visit visit)
{
    for (qsizetype start = 0; start <= query.size();) {
        qsizetype end = query.indexOf('&', start);
        if (end < 0)
            end = query.size();
        visit(query.sliced(start, end - start), end == query.size());
        start = end + 1;
    }
}
}

void IdentityRedactor::learnFromUrl(QByteArrayView url)
{
    // Adama's HTTP endpoints take the token as a query value (?identity=anonymous%3Aalice): a
    // capture whose frames never name it (a HAR that starts mid-session) still quotes it.
    const qsizetype question = url.indexOf('?');
    if (question < 0)
        return;
    QByteArrayView query = url.sliced(question + 1);
    if (const qsizetype hash = query.indexOf('#'); hash >= 0)
        query = query.first(hash);
    forEachQueryItem(query, [this](QByteArrayView item, bool) {
        const qsizetype equals = item.indexOf('=');
        if (equals > 0 && QByteArray::fromPercentEncoding(item.first(equals).toByteArray()) == "identity")
            addToken(QByteArray::fromPercentEncoding(item.sliced(equals + 1).toByteArray()));
    });
}

namespace {

void noteUrlPart(QStringList* parts, const QString& part)
{
    // A few names say what was replaced; a snapshot of thousands of distinct keys would make the
    // list (and looking it up) as long as the snapshot.
    constexpr qsizetype kMostNamed = 20;
    if (!parts || parts->size() > kMostNamed || parts->contains(part))
        return;
    parts->append(parts->size() == kMostNamed ? QStringLiteral("and more") : part);
}

const QByteArray kRedacted = QByteArrayLiteral("[redacted]");

// The query of a URL (between '?' and '#') with every non-empty value redacted.
QByteArray redactQuery(QByteArrayView query, QStringList* parts)
{
    QByteArray out;
    forEachQueryItem(query, [&](QByteArrayView item, bool last) {
        const qsizetype equals = item.indexOf('=');
        if (equals >= 0 && equals + 1 < item.size() && item.sliced(equals + 1) != kRedacted) {
            const QByteArrayView key = item.first(equals);
            out.append(key).append('=').append(kRedacted);
            noteUrlPart(parts, QStringLiteral("query value of \"%1\"").arg(QUrl::fromPercentEncoding(key.toByteArray())));
        } else {
            out.append(item); // a bare flag (`?debug`) or an empty value holds nothing to hide
        }
        if (!last)
            out.append('&');
    });
    return out;
}

}

QByteArray redactUrl(QByteArrayView url, QStringList* parts)
{
    const qsizetype schemeEnd = url.indexOf("://");
    if (schemeEnd < 0)
        return url.toByteArray();
    QByteArray out;
    // A part that holds something (and was not redacted already) is replaced and noted.
    const auto appendPart = [&out, parts](QByteArrayView part, const QString& name) {
        if (part.isEmpty() || part == kRedacted) {
            out.append(part);
            return;
        }
        out.append(kRedacted);
        noteUrlPart(parts, name);
    };
    const qsizetype authorityStart = schemeEnd + 3;
    qsizetype authorityEnd = authorityStart;
    while (authorityEnd < url.size() && url[authorityEnd] != '/' && url[authorityEnd] != '?' && url[authorityEnd] != '#')
        ++authorityEnd;
    out.append(url.first(authorityStart));
    const QByteArrayView authority = url.sliced(authorityStart, authorityEnd - authorityStart);
    const qsizetype at = authority.lastIndexOf('@');
    if (at >= 0) {
        const QByteArrayView userInfo = authority.first(at);
        const qsizetype colon = userInfo.indexOf(':');
        appendPart(colon < 0 ? userInfo : userInfo.first(colon), QStringLiteral("user name"));
        if (colon >= 0) {
            out.append(':');
            appendPart(userInfo.sliced(colon + 1), QStringLiteral("password"));
        }
        out.append('@');
    }
    out.append(authority.sliced(at + 1));
    const QByteArrayView rest = url.sliced(authorityEnd);
    const qsizetype hash = rest.indexOf('#');
    const QByteArrayView beforeFragment = hash < 0 ? rest : rest.first(hash);
    const qsizetype question = beforeFragment.indexOf('?');
    if (question < 0) {
        out.append(beforeFragment);
    } else {
        out.append(beforeFragment.first(question + 1));
        out.append(redactQuery(beforeFragment.sliced(question + 1), parts));
    }
    if (hash >= 0) {
        out.append('#');
        appendPart(rest.sliced(hash + 1), QStringLiteral("fragment"));
    }
    return out;
}

int redactUrlsIn(QByteArray& text, QStringList* parts)
{
    const qsizetype n = text.size();
    const auto isSchemeCharacter = [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '+' || c == '-' || c == '.';
    };
    const auto isHex = [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); };
    const auto hexValue = [](char c) { return c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10; };
    // JSON text spells a URL's characters in several ways, and a URL quoted in a JSON string that
    // is itself inside a JSON string (a payload holding serialised JSON) is escaped twice:
    // - '/' as "/", "\/", "\u002F", or twice escaped "\\/", "\\\/", "\\u002F";
    // - any character as "\uXXXX" (Go writes '&' so), or twice escaped "\\uXXXX".
    // The length of such a '/' at `i`, or 0.
    const auto slashAt = [&](qsizetype i) -> qsizetype {
        if (i >= n)
            return 0;
        if (text[i] == '/')
            return 1;
        qsizetype backslashes = 0;
        while (i + backslashes < n && backslashes < 3 && text[i + backslashes] == '\\')
            ++backslashes;
        if (backslashes == 0 || i + backslashes >= n)
            return 0;
        if (text[i + backslashes] == '/')
            return backslashes + 1;
        if ((backslashes == 1 || backslashes == 2) && i + backslashes + 4 < n && text[i + backslashes] == 'u' && text[i + backslashes + 1] == '0'
            && text[i + backslashes + 2] == '0' && text[i + backslashes + 3] == '2' && (text[i + backslashes + 4] | 0x20) == 'f')
            return backslashes + 5;
        return 0;
    };
    // A "\uXXXX" or "\\uXXXX" at `i`: its length, and the code unit in `unit`; or 0.
    const auto unicodeEscapeAt = [&](qsizetype i, int& unit) -> qsizetype {
        const qsizetype backslashes = (i + 1 < n && text[i] == '\\' && text[i + 1] == '\\') ? 2 : (text[i] == '\\' ? 1 : 0);
        const qsizetype u = i + backslashes;
        if (backslashes == 0 || u + 4 >= n || text[u] != 'u' || !isHex(text[u + 1]) || !isHex(text[u + 2]) || !isHex(text[u + 3]) || !isHex(text[u + 4]))
            return 0;
        unit = (hexValue(text[u + 1]) << 12) | (hexValue(text[u + 2]) << 8) | (hexValue(text[u + 3]) << 4) | hexValue(text[u + 4]);
        return backslashes + 5;
    };
    // How many bytes at `i` belong to the URL: 0 where it ends. Only white space, a double quote
    // or an escape other than those above ends it ("\"", "\n"): a raw apostrophe, '<' or '`' may
    // sit inside one ("?name=O'Brien&sig=..."), and what follows may still be secret. Prose that
    // quotes a URL ("'ws://h/?a=1', then") loses the closing mark with the value: cosmetic.
    const QByteArrayView placeholder("[redacted identity ");
    const auto urlBytesAt = [&](qsizetype i) -> qsizetype {
        const char c = text[i];
        if (c == '\\') {
            if (const qsizetype slash = slashAt(i))
                return slash;
            int unit = 0;
            return unicodeEscapeAt(i, unit);
        }
        // A token a capture already replaced ("[redacted identity 2]", exactly) is one piece of the URL.
        if (c == '[' && QByteArrayView(text.constData() + i, n - i).startsWith(placeholder)) {
            qsizetype close = i + placeholder.size();
            while (close < n && text[close] >= '0' && text[close] <= '9')
                ++close;
            if (close > i + placeholder.size() && close < n && text[close] == ']')
                return close + 1 - i;
        }
        return (std::uint8_t(c) <= ' ' || c == '"') ? 0 : 1;
    };
    // The URL at [start, end) spelled plainly, for redactUrl() to cut at its delimiters: every '/'
    // as '/', and an escaped printable ASCII character other than '"' and '\' as itself (so an
    // escaped '&' or '?' still separates). Other escapes stay as written.
    const auto plainUrl = [&](qsizetype start, qsizetype end) {
        QByteArray plain;
        plain.reserve(end - start);
        for (qsizetype i = start; i < end;) {
            if (text[i] == '\\') {
                if (const qsizetype slash = slashAt(i)) {
                    plain.append('/');
                    i += slash;
                    continue;
                }
                int unit = 0;
                if (const qsizetype escape = unicodeEscapeAt(i, unit); escape && unit > ' ' && unit < 0x7f && unit != '"' && unit != '\\') {
                    plain.append(char(unit));
                    i += escape;
                    continue;
                }
            }
            plain.append(text[i++]);
        }
        return plain;
    };
    // Whether the byte at `i` is the letter of an escape: an odd number of backslashes before it.
    const auto escapedAt = [&](qsizetype i, qsizetype from) {
        qsizetype backslashes = 0;
        while (i - backslashes - 1 >= from && text[i - backslashes - 1] == '\\')
            ++backslashes;
        return backslashes % 2 == 1;
    };
    // One pass, the result built apart: a large snapshot holds many URLs, and searching again
    // from each or replacing in place would be quadratic.
    QByteArray out;
    qsizetype copied = 0; // text before this is in `out` (or unchanged so far)
    int changed = 0;
    for (qsizetype colon = text.indexOf(':'); colon >= 0 && colon < n; colon = text.indexOf(':', colon + 1)) {
        // "://" in any of its spellings, both slashes alike.
        const qsizetype slash = slashAt(colon + 1);
        if (slash == 0 || slashAt(colon + 1 + slash) != slash
            || QByteArrayView(text.constData() + colon + 1, slash) != QByteArrayView(text.constData() + colon + 1 + slash, slash))
            continue;
        // Any scheme (ws, https, git+https, postgres: whatever may carry credentials or a token),
        // but not the letter of a JSON escape before it ("\nwss://" is a line break, then wss).
        qsizetype start = colon;
        while (start > copied && isSchemeCharacter(text[start - 1]) && !escapedAt(start - 1, copied))
            --start;
        if (start == colon)
            continue;
        qsizetype end = colon + 1 + 2 * slash;
        for (qsizetype step; end < n && (step = urlBytesAt(end)) > 0;)
            end = std::min(n, end + step);
        const QByteArray plain = plainUrl(start, end);
        QByteArray redacted = redactUrl(plain, parts);
        if (redacted != plain) {
            // Slashes spelled as the separator's are (the escaped characters, all printable, are
            // valid as they are in any JSON string).
            if (slash > 1)
                redacted.replace("/", QByteArrayView(text.constData() + colon + 1, slash).toByteArray());
            out.append(text.constData() + copied, start - copied);
            out.append(redacted);
            copied = end;
            ++changed;
        }
        colon = end - 1;
    }
    if (changed) {
        out.append(text.constData() + copied, n - copied);
        text = std::move(out);
    }
    return changed;
}

QString partNames(quint16 parts)
{
    static constexpr const char* kNames[] = { "data", "seq", "outstanding", "blockers", "view-state-filter",
        "viewstate", "log", "goto", "viewport", "force-disconnect", "reload" };
    QStringList names;
    for (int bit = 0; bit < int(std::size(kNames)); ++bit) {
        if (parts & (1u << bit))
            names.append(QLatin1String(kNames[bit]));
    }
    return names.join(QLatin1Char(','));
}

namespace {
// The flags' names by bit (FlagRetryable is bit 0).
constexpr const char* kFlagNames[] = { "retryable", "corrupting", "snapshot", "synthetic" };
}

QString flagNames(quint8 flags)
{
    QStringList names;
    for (int bit = 0; bit < int(std::size(kFlagNames)); ++bit) {
        if (flags & (1u << bit))
            names.append(QLatin1String(kFlagNames[bit]));
    }
    return names.join(QLatin1Char(','));
}

bool flagFromName(QStringView name, quint8& flag)
{
    for (int bit = 0; bit < int(std::size(kFlagNames)); ++bit) {
        if (name == QLatin1String(kFlagNames[bit])) {
            flag = quint8(1u << bit);
            return true;
        }
    }
    return false;
}

}
