#include "core/capture/captureexport.h"

#include "core/session/incidentsummary.h"

#include "core/capture/capturecheckpoints.h"
#include "core/capture/capturereader.h"
#include "core/jsonparse.h"
#include "core/protocol/envelope.h"
#include "core/session/sessionfolder.h"
#include "core/version.h"

#include <QDateTime>
#include <QIODevice>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QTimeZone>
#include <QUrl>
#include <QUrlQuery>

#include <simdjson.h>

#include <map>
#include <set>
#include <tuple>
#include <unordered_map>

namespace deltascope {

namespace {

std::string_view trimmed(std::string_view token)
{
    while (!token.empty() && (token.back() == ' ' || token.back() == '\t' || token.back() == '\r' || token.back() == '\n'))
        token.remove_suffix(1);
    return token;
}

bool isNull(simdjson::ondemand::value& value)
{
    simdjson::ondemand::json_type type;
    return !value.type().get(type) && type == simdjson::ondemand::json_type::null;
}

// Copies a JSON value to `out`, replacing the values whose path `match` accepts. Scalars are
// copied as their original text (no number reformatting). Returns false on malformed JSON.
// A null at a redacted path stays null: it holds no value to hide, and as a delta it removes a field
// or an element, which "[redacted]" would turn into a value that is shown.

bool rewriteValue(simdjson::ondemand::value value, QStringList& path, QByteArray& out, int depth,
    const std::function<bool(const QStringList&)>& match, bool& changed)
{
    using namespace simdjson;
    if (depth > 512)
        return false;
    ondemand::json_type type;
    if (value.type().get(type))
        return false;
    if (type == ondemand::json_type::object) {
        ondemand::object object;
        if (value.get_object().get(object))
            return false;
        out.append('{');
        bool first = true;
        for (auto field : object) {
            std::string_view key;
            if (field.unescaped_key().get(key))
                return false;
            if (!first)
                out.append(',');
            first = false;
            appendJsonString(out, QByteArrayView(key.data(), qsizetype(key.size())));
            out.append(':');
            path.append(QString::fromUtf8(key.data(), qsizetype(key.size())));
            ondemand::value child;
            if (field.value().get(child))
                return false;
            if (!isNull(child) && match(path)) {
                out.append("\"[redacted]\"");
                changed = true;
            } else if (!rewriteValue(child, path, out, depth + 1, match, changed)) {
                return false;
            }
            path.removeLast();
        }
        out.append('}');
        return true;
    }
    if (type == ondemand::json_type::array) {
        ondemand::array array;
        if (value.get_array().get(array))
            return false;
        out.append('[');
        int index = 0;
        for (auto element : array) {
            ondemand::value child;
            if (element.get(child))
                return false;
            if (index)
                out.append(',');
            path.append(QString::number(index));
            if (!isNull(child) && match(path)) {
                out.append("\"[redacted]\"");
                changed = true;
            } else if (!rewriteValue(child, path, out, depth + 1, match, changed)) {
                return false;
            }
            path.removeLast();
            ++index;
        }
        out.append(']');
        return true;
    }
    const std::string_view token = trimmed(value.raw_json_token());
    out.append(token.data(), qsizetype(token.size()));
    return true;
}

QString isoTime(qint64 wallMs)
{
    return QDateTime::fromMSecsSinceEpoch(wallMs, QTimeZone::utc()).toString(Qt::ISODateWithMs);
}

// The range, clamped to the capture; false with an error when it is empty or inverted.
bool resolveRange(const Capture& capture, const ExportOptions& options, qint64& from, qint64& to, QString& error)
{
    const qint64 size = capture.log->size();
    from = std::max<qint64>(0, options.from);
    to = options.to < 0 ? size - 1 : std::min(options.to, size - 1);
    if (size == 0) {
        error = QStringLiteral("the capture has no events");
        return false;
    }
    if (from > to) {
        error = QStringLiteral("empty range: --from %1 is after --to %2 (the capture has events 0..%3)")
                    .arg(options.from)
                    .arg(options.to)
                    .arg(size - 1);
        return false;
    }
    return true;
}

bool writeAll(QIODevice& out, const QByteArray& bytes, QString& error)
{
    if (out.write(bytes) != bytes.size()) {
        error = QStringLiteral("write failed: %1").arg(out.errorString());
        return false;
    }
    return true;
}

// Paths (wire form) deleted by a delta: keys whose value is null.
void collectNullPaths(const simdjson::dom::element& element, const QString& prefix, QStringList& out, int depth)
{
    if (depth > 64 || !element.is_object())
        return;
    for (auto [key, value] : simdjson::dom::object(element)) {
        if (key == "@o" || key == "@s")
            continue;
        const QString path = prefix.isEmpty() ? QString::fromUtf8(key.data(), qsizetype(key.size()))
                                              : prefix + QLatin1Char('/') + QString::fromUtf8(key.data(), qsizetype(key.size()));
        if (value.is_null())
            out.append(path);
        else if (value.is_object())
            collectNullPaths(value, path, out, depth + 1);
    }
}

}

// ---------------------------------------------------------------------------------------------
// ExportRedactor

ExportRedactor::ExportRedactor(const Capture& capture, bool enabled, const QStringList& paths)
    : m_enabled(enabled)
    , m_identityRemovedAtRecording(capture.header.identityRemoved)
    , m_endpoint(capture.header.endpoint)
{
    if (!enabled)
        return;
    for (const QString& text : paths) {
        QString pattern = text.trimmed();
        while (pattern.startsWith(QLatin1Char('/')) || pattern.startsWith(QLatin1Char('$')) || pattern.startsWith(QLatin1Char('.')))
            pattern.remove(0, 1);
        if (pattern.isEmpty())
            continue;
        m_patterns.push_back(pattern.split(QLatin1Char('/')));
        m_patternTexts.append(pattern);
        m_pathHits.push_back(0);
    }
    if (!capture.header.identity.isEmpty())
        m_identity.addToken(capture.header.identity.toUtf8());
    m_identity.learnFromUrl(capture.header.endpoint.toUtf8());
    // Learn every identity the capture used before redacting anything, so a range that starts
    // after the connection/create is covered too.
    if (capture.log) {
        for (const EventKind kind : { EventKind::Request, EventKind::UnknownOutbound }) {
            for (const qint64 index : capture.log->indexesOfKind(kind))
                m_identity.learn(capture.log->payload(index));
        }
    }
    m_endpoint = redactUrl(capture.header.endpoint);
    if (m_endpoint != capture.header.endpoint) {
        // The spellings a payload may quote it in, each with its own redacted form: as recorded,
        // and as the client names it in its state changes (without user info). Needed beside the
        // URL scan of redact() for an endpoint with a space in it, where that scan stops.
        const QUrl url(capture.header.endpoint);
        for (const QString& spelling : { capture.header.endpoint, url.toString(QUrl::RemoveUserInfo),
                 url.toString(QUrl::RemoveUserInfo | QUrl::FullyEncoded), url.toString(QUrl::FullyEncoded) }) {
            QByteArray quoted;
            appendJsonString(quoted, spelling.toUtf8());
            quoted = quoted.mid(1, quoted.size() - 2); // as JSON text holds it
            const bool known = std::any_of(m_endpointSpellings.begin(), m_endpointSpellings.end(), [&](const auto& s) { return s.first == quoted; });
            if (quoted.isEmpty() || known)
                continue;
            QByteArray shown;
            appendJsonString(shown, capture::redactUrl(spelling.toUtf8()));
            m_endpointSpellings.emplace_back(quoted, shown.mid(1, shown.size() - 2));
        }
        // Longest first, so a spelling inside a longer one does not cut it.
        std::sort(m_endpointSpellings.begin(), m_endpointSpellings.end(), [](const auto& a, const auto& b) { return a.first.size() > b.first.size(); });
    }
}

int ExportRedactor::match(const QStringList& path) const
{
    static const QStringList kRoots[] = {
        {},
        { QStringLiteral("response"), QStringLiteral("delta"), QStringLiteral("data") },
        { QStringLiteral("message") },
        { QStringLiteral("viewer-state") },
        { QStringLiteral("response"), QStringLiteral("delta"), QStringLiteral("viewstate") },
    };
    for (std::size_t p = 0; p < m_patterns.size(); ++p) {
        const QStringList& pattern = m_patterns[p];
        for (const QStringList& root : kRoots) {
            if (path.size() != root.size() + pattern.size())
                continue;
            bool ok = true;
            for (qsizetype i = 0; ok && i < root.size(); ++i)
                ok = path[i] == root[i];
            for (qsizetype i = 0; ok && i < pattern.size(); ++i) {
                const QString& segment = path[root.size() + i];
                // '*' stands for a field or a list element, never a list's @o or @s: redacting
                // those would not hide a value, it would break the list for whoever folds it.
                const bool listMarker = segment == QLatin1String("@o") || segment == QLatin1String("@s");
                ok = pattern[i] == QLatin1String("*") ? !listMarker : pattern[i] == segment;
            }
            if (ok)
                return int(p);
        }
    }
    return -1;
}

QByteArray ExportRedactor::redact(QByteArrayView text, Content content)
{
    if (!m_enabled)
        return text.toByteArray();
    QByteArray result = text.toByteArray();
    for (const auto& [spelling, shown] : m_endpointSpellings) {
        // Counted here: the URL scan below finds them redacted already.
        m_urlsRedacted += result.count(spelling);
        result.replace(spelling, shown);
    }
    // URLs before tokens: a token replaced inside a URL's query puts spaces there
    // ("[redacted identity 1]"), and the scan would stop at the first.
    m_urlsRedacted += capture::redactUrlsIn(result, &m_urlParts);
    result = m_identity.redact(result, false);
    m_passwords += capture::redactPasswords(result);
    if (m_patterns.empty() || result.isEmpty() || content == Content::Text)
        return result;
    // A payload the paths cannot be looked for in is withheld: passed on, it could hold the very
    // values the user asked to hide.
    simdjson::ondemand::parser parser;
    simdjson::padded_string padded(result.constData(), std::size_t(result.size()));
    simdjson::ondemand::document document;
    simdjson::ondemand::value root;
    QByteArray rewritten;
    rewritten.reserve(result.size());
    QStringList path;
    bool changed = false;
    std::vector<qint64> hits(m_patterns.size(), 0); // counted once the whole payload is rewritten
    const auto match = [this, &hits](const QStringList& candidate) {
        const int hit = this->match(candidate);
        if (hit >= 0)
            ++hits[std::size_t(hit)];
        return hit >= 0;
    };
    if (parser.iterate(padded).get(document) || document.get_value().get(root) || !rewriteValue(root, path, rewritten, 0, match, changed)
        || !document.current_location().error()) { // anything after the root is left unchecked too
        ++m_withheld;
        return kWithheld;
    }
    if (!changed)
        return result;
    for (std::size_t i = 0; i < hits.size(); ++i)
        m_pathHits[i] += hits[i];
    return rewritten;
}

QByteArray ExportRedactor::redactUncounted(QByteArrayView text, Content content) const
{
    ExportRedactor copy(*this);
    return copy.redact(text, content);
}

QString ExportRedactor::redactUrl(const QString& url)
{
    if (!m_enabled || url.isEmpty())
        return url;
    const QByteArray redacted = capture::redactUrl(url.toUtf8(), &m_urlParts);
    return QString::fromUtf8(m_identity.redact(redacted, false));
}

bool ExportRedactor::replacedAnything() const
{
    const bool pathHits = std::any_of(m_pathHits.begin(), m_pathHits.end(), [](qint64 hits) { return hits > 0; });
    return m_enabled && (m_identity.replacements() > 0 || pathHits || !m_urlParts.isEmpty() || m_passwords > 0 || m_withheld > 0);
}

QStringList ExportRedactor::summary() const
{
    if (!m_enabled)
        return { QStringLiteral("nothing: redaction was turned off (--no-redact)") };
    QStringList lines;
    if (m_identityRemovedAtRecording && m_identity.replacements() == 0)
        lines << QStringLiteral("identity tokens: removed when the capture was written, by its recorder or an earlier export (its "
                                "header says so; \"[redacted identity N]\" stands in their place): none left to replace");
    else
        lines << QStringLiteral("identity tokens: %1 known, %2 occurrences replaced by \"[redacted identity N]\"")
                     .arg(m_identity.tokenCount())
                     .arg(m_identity.replacements());
    for (std::size_t i = 0; i < m_patterns.size(); ++i)
        lines << QStringLiteral("path %1: %2 values replaced by \"[redacted]\"").arg(m_patternTexts[qsizetype(i)]).arg(m_pathHits[i]);
    if (!m_urlParts.isEmpty())
        lines << QStringLiteral("URLs (the endpoint, and %1 in payloads and notes): %2 replaced by \"[redacted]\"")
                     .arg(m_urlsRedacted)
                     .arg(m_urlParts.join(QStringLiteral(", ")));
    if (m_passwords)
        lines << QStringLiteral("passwords (connection/password, documents/hash-password and its passwordHash): %1 replaced by \"[redacted]\"")
                     .arg(m_passwords);
    if (m_withheld)
        lines << QStringLiteral("%1 payloads withheld whole: the --redact paths could not be looked for in them (not JSON, nested too deep, "
                                "or text after it)")
                     .arg(m_withheld);
    return lines;
}

// ---------------------------------------------------------------------------------------------
// HAR

namespace {
// Whether a binary frame's payload is its own bytes (a HAR import keeps them) rather than the live
// client's summary of it ({"malformed":"binary","size":..,"headBase64":..}), which is text about it.
bool holdsBinaryFrameBytes(const SessionEvent& event, const QByteArray& payload)
{
    if ((event.kind != EventKind::MalformedInbound && event.kind != EventKind::UnknownOutbound) || event.code != qint32(MalformedReason::Binary))
        return false;
    return !(payload.startsWith('{') && QJsonDocument::fromJson(payload).object().value(QStringLiteral("malformed")).toString() == QLatin1String("binary"));
}
}

ExportResult exportHar(const Capture& capture, const ExportOptions& options, QIODevice& out)
{
    ExportResult result;
    qint64 from = 0;
    qint64 to = 0;
    if (!resolveRange(capture, options, from, to, result.error))
        return result;
    ExportRedactor redactor(capture, options.redact, options.redactPaths);
    const EventLog& log = *capture.log;

    const QString url = capture.header.endpoint.isEmpty() ? QStringLiteral("ws://unknown/~s") : redactor.endpoint();
    QJsonArray queryString; // HAR 1.2: the URL's query as name/value pairs
    for (const auto& [name, value] : QUrlQuery(QUrl(url)).queryItems(QUrl::FullyDecoded))
        queryString.append(QJsonObject { { QStringLiteral("name"), name }, { QStringLiteral("value"), value } });
    QJsonArray entries;
    QJsonArray messages;
    QJsonArray localEvents;
    qint64 entryStartMs = log.at(from).wallMs;
    qint64 entryFirstEvent = from;
    auto closeEntry = [&](qint64 lastEvent) {
        if (messages.isEmpty() && localEvents.isEmpty())
            return;
        const qint64 lastMs = log.at(lastEvent).wallMs;
        QJsonObject request {
            { QStringLiteral("method"), QStringLiteral("GET") },
            { QStringLiteral("url"), url },
            { QStringLiteral("httpVersion"), QStringLiteral("HTTP/1.1") },
            { QStringLiteral("headers"), QJsonArray { QJsonObject { { QStringLiteral("name"), QStringLiteral("Upgrade") },
                                             { QStringLiteral("value"), QStringLiteral("websocket") } } } },
            { QStringLiteral("queryString"), queryString },
            { QStringLiteral("cookies"), QJsonArray() },
            { QStringLiteral("headersSize"), -1 },
            { QStringLiteral("bodySize"), 0 },
        };
        QJsonObject response {
            { QStringLiteral("status"), 101 },
            { QStringLiteral("statusText"), QStringLiteral("Switching Protocols") },
            { QStringLiteral("httpVersion"), QStringLiteral("HTTP/1.1") },
            { QStringLiteral("headers"), QJsonArray() },
            { QStringLiteral("cookies"), QJsonArray() },
            { QStringLiteral("content"), QJsonObject { { QStringLiteral("size"), 0 }, { QStringLiteral("mimeType"), QStringLiteral("x-unknown") } } },
            { QStringLiteral("redirectURL"), QString() },
            { QStringLiteral("headersSize"), -1 },
            { QStringLiteral("bodySize"), 0 },
        };
        // HAR 1.2: `time` is the sum of the timings, none negative (a capture's wall clock can
        // go backwards). The socket's life is its `receive` phase, which also makes DevTools
        // draw the connection's whole span in the waterfall.
        const double lifeMs = double(std::max<qint64>(0, lastMs - entryStartMs));
        QJsonObject timings { { QStringLiteral("blocked"), -1 }, { QStringLiteral("dns"), -1 }, { QStringLiteral("connect"), -1 },
            { QStringLiteral("send"), 0 }, { QStringLiteral("wait"), 0 }, { QStringLiteral("receive"), lifeMs }, { QStringLiteral("ssl"), -1 } };
        QJsonObject entry {
            { QStringLiteral("startedDateTime"), isoTime(entryStartMs) },
            { QStringLiteral("time"), lifeMs },
            { QStringLiteral("request"), request },
            { QStringLiteral("response"), response },
            { QStringLiteral("cache"), QJsonObject() },
            { QStringLiteral("timings"), timings },
            { QStringLiteral("_resourceType"), QStringLiteral("websocket") },
            { QStringLiteral("_webSocketMessages"), messages },
            { QStringLiteral("_deltascope"),
                QJsonObject { { QStringLiteral("firstEvent"), double(entryFirstEvent) }, { QStringLiteral("lastEvent"), double(lastEvent) },
                    { QStringLiteral("space"), QString::fromUtf8(redactor.redact(capture.header.space.toUtf8(), ExportRedactor::Content::Text)) },
                    { QStringLiteral("key"), QString::fromUtf8(redactor.redact(capture.header.key.toUtf8(), ExportRedactor::Content::Text)) },
                    { QStringLiteral("localEvents"), localEvents } } },
        };
        entries.append(entry);
        messages = QJsonArray();
        localEvents = QJsonArray();
    };

    for (qint64 i = from; i <= to; ++i) {
        const SessionEvent& event = log.at(i);
        // A new socket starts at each hello; local events before the first belong to the first.
        if (event.kind == EventKind::Hello && !messages.isEmpty()) {
            closeEntry(i - 1);
            entryStartMs = event.wallMs;
            entryFirstEvent = i;
        }
        const QByteArray payload = redactor.redact(log.payload(i));
        QJsonObject facts { { QStringLiteral("index"), double(i) }, { QStringLiteral("kind"), eventKindName(event.kind) },
            { QStringLiteral("ns"), double(event.monotonicNs) }, { QStringLiteral("epoch"), double(event.epoch) } };
        if (event.seq >= 0)
            facts.insert(QStringLiteral("seq"), double(event.seq));
        if (event.flags)
            facts.insert(QStringLiteral("flags"), capture::flagNames(event.flags));
        if (event.direction == Direction::Local) {
            // What a HAR import needs to restore the event as it was (messages carry their wall
            // time as `time`, and their request id and code in their frame).
            facts.insert(QStringLiteral("wallMs"), double(event.wallMs));
            if (event.requestId >= 0)
                facts.insert(QStringLiteral("requestId"), double(event.requestId));
            if (event.code != 0)
                facts.insert(QStringLiteral("code"), double(event.code));
            facts.insert(QStringLiteral("fields"), QString::fromUtf8(payload));
            localEvents.append(facts);
            continue;
        }
        QJsonObject message;
        message.insert(QStringLiteral("type"), event.direction == Direction::Outbound ? QStringLiteral("send") : QStringLiteral("receive"));
        message.insert(QStringLiteral("time"), double(event.wallMs) / 1000.0);
        // A binary frame stays one (its bytes may happen to be UTF-8); other text goes as text.
        if (!holdsBinaryFrameBytes(event, payload) && capture::isValidUtf8(payload)) {
            message.insert(QStringLiteral("opcode"), 1);
            message.insert(QStringLiteral("data"), QString::fromUtf8(payload));
        } else {
            message.insert(QStringLiteral("opcode"), 2);
            message.insert(QStringLiteral("data"), QString::fromLatin1(payload.toBase64()));
        }
        message.insert(QStringLiteral("_deltascope"), facts);
        messages.append(message);
        ++result.events;
    }
    closeEntry(to);

    result.redacted = redactor.summary();
    result.replacedAnything = redactor.replacedAnything();
    QJsonObject creator { { QStringLiteral("name"), QStringLiteral("Deltascope") }, { QStringLiteral("version"), QString::fromLatin1(kVersion) } };
    QJsonObject logObject { { QStringLiteral("version"), QStringLiteral("1.2") }, { QStringLiteral("creator"), creator },
        { QStringLiteral("pages"), QJsonArray() }, { QStringLiteral("entries"), entries },
        { QStringLiteral("comment"), QStringLiteral("Exported by Deltascope from %1, events %2..%3. Redacted: %4")
                                          .arg(capture.path).arg(from).arg(to).arg(result.redacted.join(QStringLiteral("; "))) },
        { QStringLiteral("_deltascopeRedacted"), QJsonArray::fromStringList(result.redacted) } };
    const QByteArray bytes = QJsonDocument(QJsonObject { { QStringLiteral("log"), logObject } }).toJson(QJsonDocument::Indented);
    result.ok = writeAll(out, bytes, result.error);
    return result;
}

// ---------------------------------------------------------------------------------------------
// NDJSON delta log

ExportResult exportDeltaLog(const Capture& capture, const ExportOptions& options, QIODevice& out)
{
    ExportResult result;
    qint64 from = 0;
    qint64 to = 0;
    if (!resolveRange(capture, options, from, to, result.error))
        return result;
    ExportRedactor redactor(capture, options.redact, options.redactPaths);
    const EventLog& log = *capture.log;

    SessionFolder folder;
    capture.checkpoints->restore(folder, from - 1);
    QStringList changed;
    bool folded = false;
    QObject::connect(&folder, &SessionFolder::itemFolded, &folder, [&](qint64, const ChangeSet& changes) {
        folded = true;
        for (const NodeId node : changes.touched) {
            if (folder.epochTree().contains(node))
                changed.append(folder.epochTree().path(node));
        }
    });

    QByteArray body;
    if (from > 0 && folder.epochHasData()) {
        // A range that starts mid-stream: its deltas fold onto the tree the stream had reached,
        // which goes first as a synthetic snapshot (as a trimmed capture starts), so the log folds
        // to the same document the capture does.
        // Numbered as the event before the range (the tree is as of it), so no line shares an index.
        const SessionEvent& first = log.at(from);
        body.append("{\"index\":" + QByteArray::number(from - 1) + ",\"ns\":" + QByteArray::number(first.monotonicNs) + ",\"wallMs\":"
            + QByteArray::number(first.wallMs) + ",\"epoch\":" + QByteArray::number(folder.epoch()) + ",\"seq\":"
            + (folder.lastSeq() >= 0 ? QByteArray::number(folder.lastSeq()) : QByteArray("null"))
            + ",\"snapshot\":true,\"synthetic\":true,\"data\":");
        body.append(redactor.redact(folder.epochTree().toSnapshotDelta()));
        body.append(",\"changed\":[]}\n");
    }
    simdjson::dom::parser parser;
    for (qint64 i = from; i <= to; ++i) {
        const SessionEvent& event = log.at(i);
        const QByteArray payload = log.payload(i);
        changed.clear();
        folded = false;
        folder.processEvent(event, payload);
        if (!folded) {
            // An item of the document's stream with a seq and no data (the server moved the seq
            // on, e.g. for another viewer's change): a line without data, so the seq column never
            // jumps unexplained. fold checks its seq and folds nothing for it.
            if (event.kind != EventKind::StreamItem || event.requestId != folder.streamRequestId() || folder.streamRequestId() < 0)
                continue;
            const StreamDelta delta = extractStreamDelta(payload);
            if (!delta.ok || delta.hasData || delta.seq < 0)
                continue;
            body.append("{\"index\":" + QByteArray::number(i) + ",\"ns\":" + QByteArray::number(event.monotonicNs) + ",\"wallMs\":"
                + QByteArray::number(event.wallMs) + ",\"epoch\":" + QByteArray::number(event.epoch) + ",\"seq\":" + QByteArray::number(delta.seq)
                + ",\"snapshot\":false,\"changed\":[]}\n");
            ++result.events;
            continue;
        }
        const StreamDelta delta = extractStreamDelta(payload);
        simdjson::dom::element element;
        if (!parseJsonText(parser, delta.data.data(), delta.data.size()).get(element))
            collectNullPaths(element, QString(), changed, 0);
        changed.removeAll(QString());
        changed.removeDuplicates();
        body.append("{\"index\":" + QByteArray::number(i) + ",\"ns\":" + QByteArray::number(event.monotonicNs)
            + ",\"wallMs\":" + QByteArray::number(event.wallMs) + ",\"epoch\":" + QByteArray::number(event.epoch)
            + ",\"seq\":" + (delta.seq >= 0 ? QByteArray::number(delta.seq) : QByteArray("null")) + ",\"snapshot\":"
            + ((event.flags & FlagSnapshot) ? "true" : "false") + ",\"data\":");
        body.append(redactor.redact(QByteArrayView(delta.data.data(), qsizetype(delta.data.size()))));
        body.append(",\"changed\":");
        QByteArray paths = "[";
        for (qsizetype p = 0; p < changed.size(); ++p) {
            if (p)
                paths.append(',');
            appendJsonString(paths, changed[p].toUtf8());
        }
        paths.append(']');
        // Path names themselves can carry secrets (an email used as a map key).
        body.append(redactor.redact(paths));
        body.append("}\n");
        ++result.events;
    }
    result.redacted = redactor.summary();
    result.replacedAnything = redactor.replacedAnything();
    // The header in a fixed order, `format` first (QJsonObject would sort the keys).
    QByteArray bytes = QByteArray("{\"format\":\"") + capture::kDeltaLogFormatName + "\",\"version\":\"1.1\"";
    const std::pair<const char*, QString> fields[] = { { "source", capture.path }, { "endpoint", redactor.endpoint() },
        { "space", QString::fromUtf8(redactor.redact(capture.header.space.toUtf8(), ExportRedactor::Content::Text)) },
        { "key", QString::fromUtf8(redactor.redact(capture.header.key.toUtf8(), ExportRedactor::Content::Text)) } };
    for (const auto& [name, value] : fields) {
        bytes.append(",\"").append(name).append("\":");
        appendJsonString(bytes, value.toUtf8());
    }
    if (capture.header.partial)
        bytes.append(",\"partial\":true"); // the capture starts mid-stream: its first tree may be incomplete
    bytes.append(",\"from\":").append(QByteArray::number(from));
    bytes.append(",\"to\":").append(QByteArray::number(to));
    bytes.append(",\"redacted\":").append(QJsonDocument(QJsonArray::fromStringList(result.redacted)).toJson(QJsonDocument::Compact));
    bytes.append("}\n");
    bytes.append(body);
    result.ok = writeAll(out, bytes, result.error);
    return result;
}

// ---------------------------------------------------------------------------------------------
// Trimmed capture

namespace {
// An anomaly's or incident's report with the event numbers it names ("event", "openedAtEvent")
// as the trimmed capture numbers them: an event before the range is the capture's start (with
// "beforeTrim" saying so), one after it is dropped.
QByteArray renumberedReport(const QByteArray& payload, qint64 from, qint64 to, qint64 shift)
{
    QJsonObject report = QJsonDocument::fromJson(payload).object();
    if (report.isEmpty())
        return payload;
    bool changed = false;
    for (const QLatin1String key : { QLatin1String("event"), QLatin1String("openedAtEvent") }) {
        const QJsonValue value = report.value(key);
        if (!value.isDouble())
            continue;
        const qint64 event = value.toInteger(-1);
        if (event >= from && event <= to) {
            report.insert(key, event + shift);
        } else if (event >= 0 && event < from) {
            report.insert(key, 0);
            report.insert(QStringLiteral("beforeTrim"), true);
        } else {
            report.remove(key);
        }
        changed = true;
    }
    return changed ? QJsonDocument(report).toJson(QJsonDocument::Compact) : payload;
}
}

ExportResult exportTrimmedCapture(const Capture& capture, const ExportOptions& options, QIODevice& out)
{
    ExportResult result;
    qint64 from = 0;
    qint64 to = 0;
    if (!resolveRange(capture, options, from, to, result.error))
        return result;
    ExportRedactor redactor(capture, options.redact, options.redactPaths);
    const EventLog& log = *capture.log;

    SessionFolder folder;
    capture.checkpoints->restore(folder, from - 1);

    capture::Header header = capture.header;
    header.source = QStringLiteral("trim");
    header.tool = QStringLiteral("deltascope ") + QString::fromLatin1(kVersion);
    if (options.redact) {
        header.identity.clear();
        header.identityRemoved = true;
        header.endpoint = redactor.endpoint();
        // The rest of the header is text another tool or a person wrote (a HAR import quotes its
        // handshake URL in the notes; a newer version's fields are kept as they came).
        header.notes = QString::fromUtf8(redactor.redact(header.notes.toUtf8(), ExportRedactor::Content::Text));
        header.space = QString::fromUtf8(redactor.redact(header.space.toUtf8(), ExportRedactor::Content::Text));
        header.key = QString::fromUtf8(redactor.redact(header.key.toUtf8(), ExportRedactor::Content::Text));
        if (!header.extra.isEmpty())
            header.extra = QJsonDocument::fromJson(redactor.redact(QJsonDocument(header.extra).toJson(QJsonDocument::Compact))).object();
    }
    header.startedWallMs = log.at(from).wallMs;

    QByteArray body;
    bool syntheticStart = false;
    qint64 outIndex = 0;
    const SessionEvent& first = log.at(from);
    const bool hasStream = folder.streamRequestId() >= 0;
    const qint64 baseNs = first.monotonicNs;
    if (hasStream) {
        // The range's start as a fresh epoch: an epoch event, then the tree as one snapshot item.
        SessionEvent epoch;
        epoch.index = outIndex++;
        epoch.monotonicNs = 0; // the trimmed capture's clock starts at its first event
        epoch.wallMs = first.wallMs;
        epoch.direction = Direction::Local;
        epoch.kind = EventKind::EpochStarted;
        epoch.epoch = folder.epoch();
        epoch.requestId = folder.streamRequestId();
        epoch.flags = FlagSynthetic;
        const QByteArray epochFields = "{\"epoch\":" + QByteArray::number(folder.epoch()) + ",\"requestId\":"
            + QByteArray::number(folder.streamRequestId()) + ",\"synthetic\":true}";
        capture::appendEventLine(body, epoch, {}, epochFields);
        body.append('\n');
        const QByteArray snapshotData = folder.epochTree().toSnapshotDelta();
        if (!snapshotData.isEmpty() || folder.epochHasData()) {
            SessionEvent snapshot = epoch;
            snapshot.index = outIndex++;
            snapshot.direction = Direction::Inbound;
            snapshot.kind = EventKind::StreamItem;
            snapshot.seq = folder.lastSeq();
            snapshot.parts = PartData | (folder.lastSeq() >= 0 ? PartSeq : 0);
            snapshot.flags = FlagSynthetic | FlagSnapshot;
            QByteArray frame = "{\"deliver\":" + QByteArray::number(folder.streamRequestId())
                + ",\"done\":false,\"response\":{\"delta\":{\"data\":" + (snapshotData.isEmpty() ? QByteArray("{}") : snapshotData);
            if (folder.lastSeq() >= 0)
                frame += ",\"seq\":" + QByteArray::number(folder.lastSeq());
            frame += "}}}";
            capture::appendEventLine(body, snapshot, {}, redactor.redact(frame));
            body.append('\n');
            syntheticStart = true;
        }
    }
    const QString trimNote = syntheticStart
        ? QStringLiteral("trimmed from %1, events %2..%3 of %4; starts with a synthetic snapshot of the tree as it was after event %5, "
                         "the one before the range")
              .arg(capture.path).arg(from).arg(to).arg(log.size()).arg(from - 1)
        : QStringLiteral("trimmed from %1, events %2..%3 of %4").arg(capture.path).arg(from).arg(to).arg(log.size());
    header.notes = header.notes.isEmpty() ? trimNote : header.notes + QLatin1Char('\n') + trimNote;
    const qint64 shift = outIndex - from;
    for (qint64 i = from; i <= to; ++i) {
        SessionEvent event = log.at(i);
        event.index = i + shift;
        // A capture's clock runs from its start (charts, "t =" in the detail): the range's first
        // event is 0, not the minute or more of the original before it.
        event.monotonicNs -= baseNs;
        // Links leave the range with the events they pointed to.
        event.linkedIndex = (event.linkedIndex >= from && event.linkedIndex <= to) ? event.linkedIndex + shift : -1;
        QByteArray payload = redactor.redact(log.payload(i));
        if (event.kind == EventKind::FoldAnomaly || event.kind == EventKind::Incident)
            payload = renumberedReport(payload, from, to, shift);
        capture::appendEventLine(body, event, log.string(event.methodString), payload);
        body.append('\n');
        ++result.events;
    }
    capture::appendEndLine(body, to - from + 1 + outIndex, QDateTime::currentMSecsSinceEpoch());
    body.append('\n');
    result.redacted = redactor.summary();
    result.replacedAnything = redactor.replacedAnything();
    if (options.redact)
        header.redacted = result.redacted;
    QByteArray bytes = header.toJsonLine();
    bytes.append('\n');
    bytes.append(body);
    result.ok = writeAll(out, bytes, result.error);
    return result;
}

// ---------------------------------------------------------------------------------------------
// Markdown

namespace {

QString formatDuration(qint64 ns)
{
    if (ns < 1000 * 1000)
        return QStringLiteral("%1 us").arg(ns / 1000);
    if (ns < 10ll * 1000 * 1000 * 1000)
        return QStringLiteral("%1 ms").arg(double(ns) / 1e6, 0, 'f', 1);
    return QStringLiteral("%1 s").arg(double(ns) / 1e9, 0, 'f', 2);
}

QString fenced(const QByteArray& json, int maxLines)
{
    QString text = QString::fromUtf8(json);
    QStringList lines = text.split(QLatin1Char('\n'));
    if (lines.size() > maxLines) {
        const qsizetype total = lines.size();
        lines = lines.mid(0, maxLines);
        lines << QStringLiteral("... (%1 more lines; export the capture for all of it)").arg(total - maxLines);
    }
    QString fence = QStringLiteral("```");
    while (text.contains(fence))
        fence += QLatin1Char('`');
    return fence + QStringLiteral("json\n") + lines.join(QLatin1Char('\n')) + QLatin1Char('\n') + fence + QLatin1Char('\n');
}

QString cell(QString text)
{
    text.replace(QLatin1Char('|'), QStringLiteral("\\|"));
    text.replace(QLatin1Char('\n'), QLatin1Char(' '));
    text.replace(QLatin1Char('`'), QLatin1Char('\''));
    // Other control characters (a NUL of a binary frame) would make the report a binary file to
    // grep and a mess to read: written as \xNN.
    for (qsizetype i = 0; i < text.size(); ++i) {
        const char16_t c = text.at(i).unicode();
        if (c < 0x20 || c == 0x7f) {
            const QString shown = QStringLiteral("\\x%1").arg(int(c), 2, 16, QLatin1Char('0'));
            text.replace(i, 1, shown);
            i += shown.size() - 1;
        }
    }
    return text;
}

// The visible document of a tree with the redactor applied (paths match the wire form). Not
// counted: the frames it was folded from are (or, before the range, are not the report's).
QByteArray redactedDocument(const DocumentTree& tree, const ExportRedactor& redactor)
{
    if (!redactor.enabled())
        return tree.toJson(true);
    const QByteArray snapshot = tree.toSnapshotDelta();
    if (snapshot.isEmpty())
        return tree.toJson(true);
    DocumentTree redacted;
    redacted.apply(std::string_view(redactor.redactUncounted(snapshot).toStdString()));
    return redacted.toJson(true);
}

}

ExportResult exportMarkdown(const Capture& capture, const ExportOptions& options, QIODevice& out)
{
    ExportResult result;
    qint64 from = 0;
    qint64 to = 0;
    if (!resolveRange(capture, options, from, to, result.error))
        return result;
    ExportRedactor redactor(capture, options.redact, options.redactPaths);
    const EventLog& log = *capture.log;
    const capture::Header& header = capture.header;

    QString md;
    md += QStringLiteral("# Deltascope bug report\n\n");
    md += QStringLiteral("| | |\n|---|---|\n");
    md += QStringLiteral("| Capture | `%1` (%2 events, %3 bytes%4) |\n")
              .arg(cell(capture.path)).arg(log.size()).arg(capture.fileSize).arg(capture.compressed ? QStringLiteral(", zstd") : QString());
    md += QStringLiteral("| Recorded by | %1 (capture format %2.%3) |\n").arg(cell(header.tool)).arg(header.versionMajor).arg(header.versionMinor);
    md += QStringLiteral("| Report made by | Deltascope %1 |\n").arg(QString::fromLatin1(kVersion));
    md += QStringLiteral("| Endpoint | `%1` |\n").arg(cell(redactor.endpoint()));
    md += QStringLiteral("| Space / key | `%1` / `%2` |\n")
              .arg(cell(QString::fromUtf8(redactor.redact(header.space.toUtf8(), ExportRedactor::Content::Text))),
                  cell(QString::fromUtf8(redactor.redact(header.key.toUtf8(), ExportRedactor::Content::Text))));
    md += QStringLiteral("| Started | %1 |\n").arg(isoTime(header.startedWallMs));
    // The version in effect as the range starts (the last hello before it), then those the range
    // itself brings.
    QStringList versions;
    QString before; // the last hello's version before the range
    for (const qint64 index : log.indexesOfKind(EventKind::Hello)) {
        if (index > to)
            break;
        const QString version = decodeInbound(log.payload(index)).version;
        if (index < from)
            before = version;
        else if (index == from)
            before.clear(); // the range starts with a hello of its own
        if (index >= from && !versions.contains(version))
            versions << version;
    }
    if (!before.isNull())
        versions.prepend(before + QStringLiteral(" (from before the range)"));
    md += QStringLiteral("| Server versions (hello) | %1 |\n").arg(versions.isEmpty() ? QStringLiteral("no hello before or in this range") : cell(versions.join(QStringLiteral(", "))));
    const SessionEvent& first = log.at(from);
    const SessionEvent& last = log.at(to);
    md += QStringLiteral("| Range | events %1..%2, %3 .. %4 (%5) |\n")
              .arg(from).arg(to).arg(isoTime(first.wallMs), isoTime(last.wallMs), formatDuration(last.monotonicNs - first.monotonicNs));
    if (header.partial)
        md += QStringLiteral("| Note | the capture starts mid-stream (%1): the first tree may be partial |\n").arg(cell(header.source));
    if (const QStringList damage = capture.readingNotices(); !damage.isEmpty())
        md += QStringLiteral("| Capture damage | %1 |\n").arg(cell(damage.join(QStringLiteral("; "))));
    md += QLatin1Char('\n');

    auto inRange = [&](qint64 index) { return index >= from && index <= to; };
    // An event's payload redacted once, however many sections show it (an incident or an anomaly
    // is in the timeline too): the summary counts what the capture held, not how often it is shown.
    std::unordered_map<qint64, QByteArray> redactedPayloads;
    const auto redactedPayload = [&](qint64 index) -> const QByteArray& {
        auto [it, added] = redactedPayloads.try_emplace(index);
        if (added)
            it->second = redactor.redact(log.payload(index));
        return it->second;
    };

    // Incidents: the analysis the live session recorded, plus what the replay fold saw at resyncs.
    md += QStringLiteral("## Incidents\n\n");
    std::vector<qint64> focus; // incidents and resyncs: the timeline shows them before any anomaly
    std::vector<qint64> resyncFocus;
    int incidents = 0;
    for (const qint64 index : log.indexesOfKind(EventKind::Incident)) {
        if (!inRange(index))
            continue;
        ++incidents;
        focus.push_back(index);
        const SessionEvent& event = log.at(index);
        md += QStringLiteral("### Incident at event %1 (%2, epoch %3)\n\n").arg(index).arg(isoTime(event.wallMs)).arg(event.epoch);
        const QByteArray& fields = redactedPayload(index);
        const QJsonDocument pretty = QJsonDocument::fromJson(fields);
        for (const QString& line : incidentSummaryLines(pretty.object()))
            md += (line.startsWith(QLatin1Char(' ')) ? QStringLiteral("  - ") + line.trimmed() : QStringLiteral("- ") + line) + QLatin1Char('\n');
        md += QStringLiteral("\nThe analysis as recorded:\n\n");
        md += fenced(pretty.isNull() ? fields : pretty.toJson(QJsonDocument::Indented), 80) + QLatin1Char('\n');
    }
    for (const ResyncReport& resync : capture.checkpoints->resyncs()) {
        if (!inRange(resync.eventIndex))
            continue;
        resyncFocus.push_back(resync.eventIndex);
        md += QStringLiteral("### Resync into epoch %1 at event %2\n\n").arg(resync.epoch).arg(resync.eventIndex);
        const QStringList stale = resync.stalePaths();
        md += QStringLiteral("- Changed by the resync (previous epoch's last tree vs. the new snapshot): %1 added, %2 removed, %3 changed, %4 moved\n")
                  .arg(resync.changedByResync.added.size()).arg(resync.changedByResync.removed.size())
                  .arg(resync.changedByResync.changed.size()).arg(resync.changedByResync.moved.size());
        md += QStringLiteral("- Stale in a merging client right after the resync snapshot, event %1 (the reference JS client keeps them): %2\n")
                  .arg(resync.eventIndex)
                  .arg(stale.isEmpty() ? QStringLiteral("none") : QString::fromUtf8(redactor.redact(stale.join(QStringLiteral(", ")).toUtf8(), ExportRedactor::Content::Text)));
        md += QLatin1Char('\n');
    }
    if (incidents == 0 && resyncFocus.empty())
        md += QStringLiteral("No incident or resync in this range.\n\n");

    // Anomalies: recorded during the session and found again by the replay fold. Each once, at
    // the stream item it concerns (a recorded one names it in "event"; its own index is only
    // where the session logged it), and repeats of a kind at a path (a value list a server
    // edits in place on every transaction) as one row, so one of them cannot fill the table.
    md += QStringLiteral("## Anomalies\n\n");
    struct Found {
        SessionAnomaly anomaly; // eventIndex is the stream item; the message is redacted
        bool recorded = false;
        bool replayed = false;
    };
    std::vector<Found> found;
    std::map<std::tuple<qint64, QString, QString>, std::size_t> foundAt;
    const auto addFound = [&](Found anomaly) {
        const SessionAnomaly& a = anomaly.anomaly;
        auto [it, added] = foundAt.try_emplace(std::tuple { a.eventIndex, a.kind, a.path }, found.size());
        if (added) {
            found.push_back(std::move(anomaly));
        } else {
            found[it->second].recorded = found[it->second].recorded || anomaly.recorded;
            found[it->second].replayed = found[it->second].replayed || anomaly.replayed;
        }
    };
    for (const qint64 index : log.indexesOfKind(EventKind::FoldAnomaly)) {
        const QJsonObject raw = QJsonDocument::fromJson(log.payload(index)).object();
        const qint64 item = raw.value(QStringLiteral("event")).toInteger(index);
        if (!inRange(item))
            continue;
        const QJsonObject fields = QJsonDocument::fromJson(redactedPayload(index)).object();
        addFound({ { raw.value(QStringLiteral("anomaly")).toString(), item, log.at(index).epoch, raw.value(QStringLiteral("path")).toString(),
                       fields.value(QStringLiteral("message")).toString() },
            true, false });
    }
    for (const SessionAnomaly& anomaly : capture.checkpoints->anomalies()) {
        if (inRange(anomaly.eventIndex))
            addFound({ { anomaly.kind, anomaly.eventIndex, anomaly.epoch, anomaly.path,
                           QString::fromUtf8(redactor.redact(anomaly.message.toUtf8(), ExportRedactor::Content::Text)) },
                false, true });
    }
    std::sort(found.begin(), found.end(), [](const Found& a, const Found& b) { return a.anomaly.eventIndex < b.anomaly.eventIndex; });
    // A reference-client quirk is marked at its first item per path and epoch, as the replay's
    // markers do (ReplaySession::collectAnomalies): a list edited in place each transaction has one on every delta.
    std::vector<qint64> anomalyFocus;
    std::set<std::pair<quint32, QString>> quirksMarked;
    for (const Found& f : found) {
        if (!f.anomaly.isReferenceClientQuirk() || quirksMarked.emplace(f.anomaly.epoch, f.anomaly.path).second)
            anomalyFocus.push_back(f.anomaly.eventIndex);
    }
    anomalyFocus.erase(std::unique(anomalyFocus.begin(), anomalyFocus.end()), anomalyFocus.end());
    struct Group {
        const SessionAnomaly* first = nullptr;
        qint64 last = -1;
        qint64 count = 0;
        bool recorded = false;
        bool replayed = false;
    };
    std::vector<Group> groups;
    std::map<std::pair<QString, QString>, std::size_t> groupAt;
    for (const Found& f : found) {
        auto [it, added] = groupAt.try_emplace(std::pair { f.anomaly.kind, f.anomaly.path }, groups.size());
        if (added)
            groups.push_back({ &f.anomaly });
        Group& group = groups[it->second];
        if (group.last != f.anomaly.eventIndex)
            ++group.count;
        group.last = f.anomaly.eventIndex;
        group.recorded = group.recorded || f.recorded;
        group.replayed = group.replayed || f.replayed;
    }
    if (groups.empty()) {
        md += QStringLiteral("None in this range.\n\n");
    } else {
        constexpr std::size_t kMaxAnomalyRows = 200;
        md += QStringLiteral("Each anomaly once, at the stream item (event) it concerns; repeats of one kind at one path are one row.\n\n");
        md += QStringLiteral("| item event | last item event | items | found by | anomaly | path | message (at the first) |\n"
                             "|---|---|---|---|---|---|---|\n");
        for (std::size_t g = 0; g < std::min(groups.size(), kMaxAnomalyRows); ++g) {
            const Group& group = groups[g];
            const QString by = group.recorded && group.replayed ? QStringLiteral("recorded, replay fold")
                : group.recorded                                ? QStringLiteral("recorded")
                                                                : QStringLiteral("replay fold");
            md += QStringLiteral("| %1 | %2 | %3 | %4 | %5 | `%6` | %7 |\n")
                      .arg(group.first->eventIndex)
                      .arg(group.count > 1 ? QString::number(group.last) : QString())
                      .arg(group.count)
                      .arg(by, cell(group.first->kind),
                          cell(QString::fromUtf8(redactor.redact(group.first->path.toUtf8(), ExportRedactor::Content::Text))),
                          cell(group.first->message));
        }
        if (groups.size() > kMaxAnomalyRows)
            md += QStringLiteral("\n(%1 more kinds of anomaly at other paths not listed)\n").arg(groups.size() - kMaxAnomalyRows);
        md += QLatin1Char('\n');
    }

    // Timeline: around the incidents, resyncs and anomalies (in that order, while the rows last),
    // or the whole range when short.
    md += QStringLiteral("## Timeline\n\n");
    constexpr qint64 kContext = 10; // events shown either side of a point of interest
    constexpr qint64 kMaxTimelineRows = 200;
    std::vector<std::pair<qint64, qint64>> windows; // sorted, disjoint, not adjacent
    std::vector<std::pair<QString, std::vector<qint64>>> leftOut; // (what, events) without an excerpt
    if (to - from + 1 <= 60) {
        windows.emplace_back(from, to);
    } else if (focus.empty() && resyncFocus.empty() && anomalyFocus.empty()) {
        windows.emplace_back(from, from + 29);
        windows.emplace_back(to - 29, to);
    } else {
        const auto rowsIn = [&windows] {
            qint64 n = 0;
            for (const auto& [a, b] : windows)
                n += b - a + 1;
            return n;
        };
        const auto show = [&](const QString& what, const std::vector<qint64>& points) {
            std::vector<qint64> missed;
            for (const qint64 index : points) {
                auto wider = windows;
                wider.emplace_back(std::max(from, index - kContext), std::min(to, index + kContext));
                std::sort(wider.begin(), wider.end());
                std::vector<std::pair<qint64, qint64>> merged;
                for (const auto& window : wider) {
                    if (!merged.empty() && window.first <= merged.back().second + 1)
                        merged.back().second = std::max(merged.back().second, window.second);
                    else
                        merged.push_back(window);
                }
                std::swap(windows, merged);
                if (rowsIn() > kMaxTimelineRows) {
                    std::swap(windows, merged);
                    missed.push_back(index);
                }
            }
            if (!missed.empty())
                leftOut.emplace_back(what, std::move(missed));
        };
        std::sort(focus.begin(), focus.end());
        std::sort(resyncFocus.begin(), resyncFocus.end());
        show(QStringLiteral("incidents"), focus);
        show(QStringLiteral("resyncs"), resyncFocus);
        show(QStringLiteral("anomalies"), anomalyFocus);
    }
    md += QStringLiteral("| # | time (UTC) | +ms | dir | kind | id | seq | frame or fields |\n|---|---|---|---|---|---|---|---|\n");
    qint64 previousNs = -1;
    for (std::size_t w = 0; w < windows.size(); ++w) {
        if (w > 0 || windows[w].first > from)
            md += QStringLiteral("| ... | | | | | | | |\n");
        previousNs = -1;
        for (qint64 i = windows[w].first; i <= windows[w].second; ++i) {
            const SessionEvent& event = log.at(i);
            const QByteArray& payload = redactedPayload(i);
            QString text = holdsBinaryFrameBytes(event, payload) || !capture::isValidUtf8(payload)
                ? QStringLiteral("binary, %1 bytes, base64 %2").arg(payload.size()).arg(QString::fromLatin1(payload.left(96).toBase64()))
                : QString::fromUtf8(payload);
            if (text.size() > 160)
                text = text.left(157) + QStringLiteral("...");
            md += QStringLiteral("| %1 | %2 | %3 | %4 | %5 | %6 | %7 | `%8` |\n")
                      .arg(i)
                      .arg(QDateTime::fromMSecsSinceEpoch(event.wallMs, QTimeZone::utc()).toString(QStringLiteral("HH:mm:ss.zzz")))
                      .arg(previousNs < 0 ? QString() : QString::number(double(event.monotonicNs - previousNs) / 1e6, 'f', 1))
                      .arg(directionName(event.direction), eventKindName(event.kind))
                      .arg(event.requestId >= 0 ? QString::number(event.requestId) : QString())
                      .arg(event.seq >= 0 ? QString::number(event.seq) : QString())
                      .arg(cell(text));
            previousNs = event.monotonicNs;
            ++result.events;
        }
    }
    if (!leftOut.empty()) {
        // Said, so a reader does not take a missing excerpt for a quiet stretch.
        QStringList parts;
        for (const auto& [what, events] : leftOut) {
            QStringList numbers;
            for (std::size_t e = 0; e < std::min<std::size_t>(events.size(), 30); ++e)
                numbers << QString::number(events[e]);
            parts << QStringLiteral("%1 at events %2%3")
                         .arg(what, numbers.join(QStringLiteral(", ")),
                             events.size() > 30 ? QStringLiteral(" and %1 more").arg(events.size() - 30) : QString());
        }
        md += QStringLiteral("\nNo excerpt (the timeline stops at %1 rows): %2.\n").arg(kMaxTimelineRows).arg(parts.join(QStringLiteral("; ")));
    }
    md += QLatin1Char('\n');

    // Documents before and after the range.
    SessionFolder folder;
    capture.checkpoints->restore(folder, from - 1);
    md += from == 0 ? QStringLiteral("## Document before (the start of the capture: empty)\n\n")
                    : QStringLiteral("## Document before (after event %1, epoch %2)\n\n").arg(from - 1).arg(folder.epoch());
    md += fenced(redactedDocument(folder.epochTree(), redactor), 300) + QLatin1Char('\n');
    capture.checkpoints->restore(folder, to);
    md += QStringLiteral("## Document after (after event %1, epoch %2)\n\n").arg(to).arg(folder.epoch());
    md += fenced(redactedDocument(folder.epochTree(), redactor), 300) + QLatin1Char('\n');
    const TreeDiff stale = folder.currentStaleDiff();
    if (!stale.isEmpty()) {
        md += QStringLiteral("A merging client (the reference JS client) holds a different tree here: %1 paths only there, %2 missing, %3 different.\n\n")
                  .arg(stale.added.size()).arg(stale.removed.size()).arg(stale.changed.size());
    }

    result.redacted = redactor.summary();
    result.replacedAnything = redactor.replacedAnything();
    md += QStringLiteral("## Redaction\n\n");
    for (const QString& line : result.redacted)
        md += QStringLiteral("- ") + line + QLatin1Char('\n');
    result.ok = writeAll(out, md.toUtf8(), result.error);
    return result;
}

bool exportFormatFromName(QStringView name, ExportFormat& out)
{
    static const std::pair<QLatin1String, ExportFormat> names[] { { QLatin1String("har"), ExportFormat::Har },
        { QLatin1String("ndjson"), ExportFormat::DeltaLog }, { QLatin1String("markdown"), ExportFormat::Markdown },
        { QLatin1String("capture"), ExportFormat::TrimmedCapture } };
    for (const auto& [text, format] : names) {
        if (name == text) {
            out = format;
            return true;
        }
    }
    return false;
}

ExportResult exportCapture(const Capture& capture, ExportFormat format, const ExportOptions& options, QIODevice& out)
{
    switch (format) {
    case ExportFormat::Har:
        return exportHar(capture, options, out);
    case ExportFormat::DeltaLog:
        return exportDeltaLog(capture, options, out);
    case ExportFormat::Markdown:
        return exportMarkdown(capture, options, out);
    case ExportFormat::TrimmedCapture:
        return exportTrimmedCapture(capture, options, out);
    }
    return {};
}

}
