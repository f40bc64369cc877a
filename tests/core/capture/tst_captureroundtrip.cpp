#include <catch2/catch.hpp>

#include "capturetestutils.h"
#include "core/capture/capturecheckpoints.h"
#include "core/capture/captureexport.h"
#include "core/capture/captureformat.h"
#include "core/capture/capturereader.h"
#include "core/capture/capturewriter.h"
#include "core/capture/harimport.h"
#include "core/cli/cli.h"
#include "core/protocol/transport.h"
#include "core/protocol/envelope.h"
#include "core/server/referenceserver.h"
#include "core/server/tickerdocument.h"
#include "core/session/livesession.h"
#include "tests/support/testutils.h"

#include <QBuffer>
#include <QCoreApplication>
#include <QDir>
#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QRegularExpression>
#include <QSettings>
#include <QTcpServer>
#include <QTemporaryDir>
#include <QTimeZone>
#include <QUrl>

#include <cmath>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <map>

using namespace deltascope;
using test::runCli;
using deltascope::test::checkSameEventFacts;
using deltascope::test::fillSyntheticSession;
using deltascope::test::waitUntil;
using deltascope::test::writeFile;

namespace {

bool wait(const std::function<bool()>& predicate, int ms = 15000)
{
    return waitUntil(predicate, std::chrono::milliseconds(ms));
}


// Writes `log` as a finished capture at `path`.
void writeCapture(const QString& path, const EventLog& log, const capture::Header& header, bool keepIdentity)
{
    QFile file(path);
    REQUIRE(file.open(QIODevice::WriteOnly));
    REQUIRE(CaptureWriter::writeLog(log, header, file, keepIdentity));
}

QByteArray writeSynthetic(const QString& path, bool keepIdentity)
{
    EventLog log;
    fillSyntheticSession(log, 400);
    capture::Header header;
    header.endpoint = QStringLiteral("ws://127.0.0.1:1/~s");
    header.space = QStringLiteral("chat");
    header.key = QStringLiteral("demo");
    header.identity = QStringLiteral("anonymous:secret-agent");
    writeCapture(path, log, header, keepIdentity);
    return test::readFileOrFail(path);
}

// The synthetic session written to DIR/c.ndjson (identity kept) and opened again.
std::unique_ptr<Capture> openSynthetic(const QTemporaryDir& dir)
{
    const QString path = dir.filePath(QStringLiteral("c.ndjson"));
    writeSynthetic(path, true);
    QString error;
    std::unique_ptr<Capture> capture = CaptureReader::open(path, {}, &error);
    INFO(error.toStdString());
    REQUIRE(capture);
    return capture;
}

// The Markdown report of `log` (written to DIR/md.ndjson and opened again).
QString markdownReport(const QTemporaryDir& dir, const EventLog& log, const ExportOptions& options = {}, const capture::Header& header = {})
{
    const QString path = dir.filePath(QStringLiteral("md.ndjson"));
    writeCapture(path, log, header, true);
    QString error;
    std::unique_ptr<Capture> capture = CaptureReader::open(path, {}, &error);
    INFO(error.toStdString());
    REQUIRE(capture);
    QBuffer buffer;
    buffer.open(QIODevice::WriteOnly);
    const ExportResult result = exportMarkdown(*capture, options, buffer);
    INFO(result.error.toStdString());
    REQUIRE(result.ok);
    return QString::fromUtf8(buffer.data());
}

// The rows of the table in the report's section `title` ("## title" to the next "## ").
QStringList tableRows(const QString& report, const QString& title)
{
    const qsizetype start = report.indexOf(QStringLiteral("## ") + title + QLatin1Char('\n'));
    if (start < 0)
        return {};
    const qsizetype end = report.indexOf(QStringLiteral("\n## "), start + 3);
    QStringList rows;
    const QStringList lines = report.mid(start, end < 0 ? -1 : end - start).split(QLatin1Char('\n'));
    for (qsizetype i = 0; i < lines.size(); ++i) {
        // Past the header row and its |---| line.
        if (lines[i].startsWith(QLatin1String("| ")) && i >= 2 && !lines[i - 1].startsWith(QLatin1Char('#')) && lines[i - 1].startsWith(QLatin1Char('|')))
            rows << lines[i];
    }
    rows.removeIf([](const QString& row) { return row.startsWith(QLatin1String("|---")); });
    return rows;
}

// A value list edited in place without @s (a reference-client quirk) at `seq`, or a record list
// naming an id it never had (an anomaly on every one).
QByteArray quirkItem(qint64 seq)
{
    return R"({"deliver":1,"done":false,"response":{"delta":{"data":{"v":{"0":)" + QByteArray::number(seq) + R"(}},"seq":)" + QByteArray::number(seq)
        + "}}}";
}
QByteArray missingIdItem(qint64 seq)
{
    return R"({"deliver":1,"done":false,"response":{"delta":{"data":{"r":{"@o":[)" + QByteArray::number(1000 + seq) + R"(]}},"seq":)"
        + QByteArray::number(seq) + "}}}";
}

// The frames of a log in order: (direction, payload) of every non-local event.
std::vector<std::pair<Direction, QByteArray>> framesOf(const EventLog& log)
{
    std::vector<std::pair<Direction, QByteArray>> frames;
    for (qint64 i = 0; i < log.size(); ++i) {
        if (log.at(i).direction != Direction::Local)
            frames.emplace_back(log.at(i).direction, log.payload(i));
    }
    return frames;
}

}

TEST_CASE("round trip: a live session with faults, recorded and reopened, has the live tree at every sampled event")
{
    server::ServerOptions options;
    options.tickerRate = 400;
    options.pingIntervalMs = 100;
    server::ReferenceServer server(options);
    REQUIRE(server.listen() != 0);
    QTemporaryDir dir;
    const QString path = dir.filePath(QStringLiteral("live.ndjson.zst"));

    LiveSession session;
    session.log().setNotifyInterval(1);
    capture::Header header;
    header.endpoint = server.url();
    header.space = QStringLiteral("ticker");
    header.key = QStringLiteral("demo");
    header.identity = QStringLiteral("anonymous:round-trip-secret");
    CaptureWriterOptions writerOptions;
    writerOptions.path = path;
    writerOptions.identities = { header.identity };
    CaptureWriter writer(&session.log(), header, writerOptions);
    REQUIRE(writer.start());

    // The live tree after the last event of each batch that crosses a multiple of 100.
    std::map<qint64, QByteArray> samples;
    QObject::connect(&session.log(), &EventLog::eventsAppended, [&](qint64 first, qint64 last) {
        if (first / 100 != (last + 1) / 100 || last % 100 == 0)
            samples[last] = session.folder().epochTree().toJson();
    });
    DocumentTarget target;
    target.url = QUrl(server.url());
    target.identity = header.identity;
    target.space = QStringLiteral("ticker");
    target.key = QStringLiteral("demo");
    QString error;
    REQUIRE(session.start(target, &error));
    REQUIRE(wait([&] { return session.log().size() > 600; }));
    server.closeSockets(server::ServerConnection::CloseKind::Reset);
    REQUIRE(wait([&] { return session.epoch() >= 2 && session.folder().epochHasData(); }));
    server.dropNextDeltas(1); // a corrupting fault: the trees must still match what the client saw
    REQUIRE(wait([&] { return session.log().size() > 1800; }));
    session.stop();
    session.log().flushNotifications();
    writer.stop();
    const qint64 liveSize = session.log().size();
    REQUIRE(samples.size() >= 10);

    std::unique_ptr<Capture> capture = CaptureReader::open(path, {}, &error);
    REQUIRE(capture);
    CHECK(capture->notices().isEmpty());
    REQUIRE(capture->log->size() == liveSize);
    const QByteArray bytes = test::readFileOrFail(path);
    CHECK_FALSE(bytes.contains("round-trip-secret"));
    for (qint64 i = 0; i < liveSize; ++i) {
        QByteArray expected = session.log().payload(i);
        expected.replace("anonymous:round-trip-secret", "[redacted identity 1]");
        REQUIRE(capture->log->payload(i) == expected);
        REQUIRE(capture->log->at(i).kind == session.log().at(i).kind);
    }
    CHECK(capture->log->indexesOfKind(EventKind::EpochStarted).size() >= 2);
    SessionFolder folder;
    for (const auto& [index, tree] : samples) {
        INFO("event " << index);
        capture->checkpoints->restore(folder, index);
        REQUIRE(folder.epochTree().toJson() == tree);
    }
    capture->checkpoints->restore(folder, liveSize - 1);
    CHECK(folder.epochTree().toJson() == session.folder().epochTree().toJson());
    CHECK(folder.mergedTree().toJson() == session.folder().mergedTree().toJson());
}

TEST_CASE("round trip: export HAR, import it, the same frames")
{
    QTemporaryDir dir;
    const std::unique_ptr<Capture> capture = openSynthetic(dir);
    QByteArray har;
    QBuffer buffer(&har);
    buffer.open(QIODevice::WriteOnly);
    ExportOptions options;
    options.redact = false;
    const ExportResult result = exportHar(*capture, options, buffer);
    REQUIRE(result.ok);
    const QJsonObject root = QJsonDocument::fromJson(har).object();
    const QJsonArray entries = root.value(QStringLiteral("log")).toObject().value(QStringLiteral("entries")).toArray();
    REQUIRE(entries.size() == 1);
    const QJsonObject first = entries[0].toObject().value(QStringLiteral("_webSocketMessages")).toArray().first().toObject();
    CHECK(first.value(QStringLiteral("type")).toString() == QStringLiteral("receive"));
    CHECK(first.value(QStringLiteral("opcode")).toInt() == 1);
    CHECK(first.value(QStringLiteral("time")).toDouble() > 1.7e9); // epoch seconds
    // Local events keep their wall time, request id and code (HAR has no place for them).
    const QJsonArray localEvents = entries[0].toObject().value(QStringLiteral("_deltascope")).toObject().value(QStringLiteral("localEvents")).toArray();
    REQUIRE(localEvents.size() == 3); // the two state changes and the epoch
    for (const QJsonValue& value : localEvents) {
        const QJsonObject local = value.toObject();
        const SessionEvent& event = capture->log->at(qint64(local.value(QStringLiteral("index")).toDouble()));
        CHECK(local.value(QStringLiteral("wallMs")).toDouble() == double(event.wallMs));
        CHECK(local.value(QStringLiteral("requestId")).toDouble(-1) == double(event.requestId));
        CHECK(local.value(QStringLiteral("code")).toDouble(0) == double(event.code));
    }

    HarImportResult imported = importHar(har, QStringLiteral("export.har"));
    REQUIRE(imported.ok);
    REQUIRE(imported.sessions.size() == 1);
    const EventLog& log = *imported.sessions[0].log;
    CHECK(framesOf(log) == framesOf(*capture->log));
    // The import classifies frames as the session did.
    for (EventKind kind : { EventKind::Hello, EventKind::Request, EventKind::StreamItem, EventKind::Response, EventKind::Ping,
             EventKind::Pong, EventKind::MalformedInbound })
        CHECK(log.indexesOfKind(kind).size() == capture->log->indexesOfKind(kind).size());
    CHECK(log.indexesOfKind(EventKind::EpochStarted).size() == 1);
    CHECK_FALSE(imported.sessions[0].header.partial);
    // And folds to the same document.
    SessionFolder a;
    SessionFolder b;
    for (qint64 i = 0; i < log.size(); ++i)
        a.processEvent(log.at(i), log.payload(i));
    capture->checkpoints->restore(b, capture->log->size() - 1);
    CHECK(a.epochTree().toJson() == b.epochTree().toJson());
}

namespace {

// The HAR 1.2 rules an export must follow: the required fields and types of the spec's schema
// (as har-schema encodes them), the spec's prose rules the schema leaves out (`time` is the sum
// of the timings, send/wait/receive never negative), and what Chrome DevTools' importer needs to
// show WebSocket messages (models/har/Importer.ts, HARFormat.ts). Returns one line per problem.
QStringList harProblems(const QJsonObject& root)
{
    QStringList problems;
    auto need = [&](bool ok, const QString& what) {
        if (!ok)
            problems << what;
    };
    auto isInteger = [](const QJsonValue& value) { return value.isDouble() && value.toDouble() == std::floor(value.toDouble()); };
    const QJsonObject log = root.value(QStringLiteral("log")).toObject();
    need(log.value(QStringLiteral("version")).toString() == QLatin1String("1.2"), QStringLiteral("log.version"));
    const QJsonObject creator = log.value(QStringLiteral("creator")).toObject();
    need(creator.value(QStringLiteral("name")).isString() && creator.value(QStringLiteral("version")).isString(), QStringLiteral("log.creator"));
    need(log.value(QStringLiteral("pages")).isArray() || log.value(QStringLiteral("pages")).isUndefined(), QStringLiteral("log.pages"));
    need(log.value(QStringLiteral("entries")).isArray(), QStringLiteral("log.entries"));
    const QRegularExpression iso(QStringLiteral(R"(^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$)"));
    const QJsonArray entries = log.value(QStringLiteral("entries")).toArray();
    for (qsizetype e = 0; e < entries.size(); ++e) {
        const QString at = QStringLiteral("entries[%1]").arg(e);
        const QJsonObject entry = entries[e].toObject();
        const QString started = entry.value(QStringLiteral("startedDateTime")).toString();
        need(iso.match(started).hasMatch() && QDateTime::fromString(started, Qt::ISODateWithMs).isValid(), at + QStringLiteral(".startedDateTime ") + started);
        const QJsonObject timings = entry.value(QStringLiteral("timings")).toObject();
        double sum = 0;
        for (const char* name : { "send", "wait", "receive" }) {
            const QJsonValue value = timings.value(QLatin1String(name));
            need(value.isDouble() && value.toDouble() >= 0, at + QStringLiteral(".timings.") + QLatin1String(name));
            sum += std::max(0.0, value.toDouble());
        }
        for (const char* name : { "blocked", "dns", "connect", "ssl" }) {
            const QJsonValue value = timings.value(QLatin1String(name));
            need(value.isUndefined() || (value.isDouble() && (value.toDouble() >= 0 || value.toDouble() == -1)), at + QStringLiteral(".timings.") + QLatin1String(name));
            if (QLatin1String(name) != QLatin1String("ssl"))
                sum += std::max(0.0, value.toDouble());
        }
        const QJsonValue time = entry.value(QStringLiteral("time"));
        need(time.isDouble() && time.toDouble() >= 0, at + QStringLiteral(".time is negative or missing"));
        need(std::abs(time.toDouble() - sum) < 1, at + QStringLiteral(".time %1 is not the sum of the timings %2").arg(time.toDouble()).arg(sum));
        need(entry.value(QStringLiteral("cache")).isObject(), at + QStringLiteral(".cache"));
        for (const char* part : { "request", "response" }) {
            const QString where = at + QLatin1Char('.') + QLatin1String(part);
            const QJsonObject object = entry.value(QLatin1String(part)).toObject();
            need(object.value(QStringLiteral("httpVersion")).isString(), where + QStringLiteral(".httpVersion"));
            need(isInteger(object.value(QStringLiteral("headersSize"))), where + QStringLiteral(".headersSize"));
            need(isInteger(object.value(QStringLiteral("bodySize"))), where + QStringLiteral(".bodySize"));
            for (const char* list : { "headers", "cookies" }) {
                need(object.value(QLatin1String(list)).isArray(), where + QLatin1Char('.') + QLatin1String(list));
                for (const QJsonValue& pair : object.value(QLatin1String(list)).toArray())
                    need(pair.toObject().value(QStringLiteral("name")).isString() && pair.toObject().value(QStringLiteral("value")).isString(),
                        where + QLatin1Char('.') + QLatin1String(list) + QStringLiteral(" item without string name and value"));
            }
        }
        const QJsonObject request = entry.value(QStringLiteral("request")).toObject();
        need(request.value(QStringLiteral("method")).isString(), at + QStringLiteral(".request.method"));
        need(QUrl(request.value(QStringLiteral("url")).toString(), QUrl::StrictMode).isValid(), at + QStringLiteral(".request.url"));
        need(request.value(QStringLiteral("queryString")).isArray(), at + QStringLiteral(".request.queryString"));
        const QJsonObject response = entry.value(QStringLiteral("response")).toObject();
        need(isInteger(response.value(QStringLiteral("status"))), at + QStringLiteral(".response.status"));
        need(response.value(QStringLiteral("statusText")).isString(), at + QStringLiteral(".response.statusText"));
        need(response.value(QStringLiteral("redirectURL")).isString(), at + QStringLiteral(".response.redirectURL"));
        const QJsonObject content = response.value(QStringLiteral("content")).toObject();
        need(isInteger(content.value(QStringLiteral("size"))) && content.value(QStringLiteral("size")).toDouble() >= 0, at + QStringLiteral(".response.content.size"));
        need(content.value(QStringLiteral("mimeType")).isString(), at + QStringLiteral(".response.content.mimeType"));
        // DevTools shows messages only for a websocket resource, and skips any without these.
        need(entry.value(QStringLiteral("_resourceType")).toString() == QLatin1String("websocket"), at + QStringLiteral("._resourceType"));
        const QJsonArray messages = entry.value(QStringLiteral("_webSocketMessages")).toArray();
        for (qsizetype m = 0; m < messages.size(); ++m) {
            const QJsonObject message = messages[m].toObject();
            const QString where = at + QStringLiteral("._webSocketMessages[%1]").arg(m);
            need(message.value(QStringLiteral("type")).toString() == QLatin1String("send") || message.value(QStringLiteral("type")).toString() == QLatin1String("receive"), where + QStringLiteral(".type"));
            need(message.value(QStringLiteral("time")).toDouble() > 1e9 && message.value(QStringLiteral("time")).toDouble() < 1e11, where + QStringLiteral(".time is not epoch seconds"));
            need(message.value(QStringLiteral("opcode")).toInt() == 1 || message.value(QStringLiteral("opcode")).toInt() == 2, where + QStringLiteral(".opcode"));
            need(message.value(QStringLiteral("data")).isString(), where + QStringLiteral(".data"));
            if (message.value(QStringLiteral("opcode")).toInt() == 2)
                need(bool(QByteArray::fromBase64Encoding(message.value(QStringLiteral("data")).toString().toLatin1(), QByteArray::AbortOnBase64DecodingErrors)),
                    where + QStringLiteral(".data is not base64"));
        }
    }
    return problems;
}

QJsonObject exportedHar(const Capture& capture, QByteArray* bytes = nullptr)
{
    QByteArray har;
    QBuffer buffer(&har);
    buffer.open(QIODevice::WriteOnly);
    ExportOptions options;
    options.redact = false;
    const ExportResult result = exportHar(capture, options, buffer);
    REQUIRE(result.ok);
    if (bytes)
        *bytes = har;
    return QJsonDocument::fromJson(har).object();
}

}

namespace {

// A recorded session with local events of every sort between its frames, at times that are no
// whole milliseconds apart: two sockets (so two HAR entries), state changes, a note, an epoch
// per connection/create, a corrupting fault, a fold anomaly, a synthetic failure answering a
// request (linked), a planned reconnect with its delay as code, a version change; and a send
// with its ack (linked and seq-linked).
void fillSessionWithLocalEvents(EventLog& log)
{
    qint64 ns = 1234;
    auto add = [&](EventKind kind, QByteArrayView payload, quint32 epoch, qint64 requestId = -1, qint64 seq = -1, quint8 flags = 0,
                   qint32 code = 0, QStringView method = {}, Direction direction = Direction::Inbound) {
        SessionEvent event;
        event.kind = kind;
        event.direction = naturalDirection(kind) == Direction::Local ? Direction::Local : direction;
        event.monotonicNs = ns;
        event.wallMs = 1718000000123 + ns / 1000000;
        event.requestId = requestId;
        event.seq = seq;
        event.epoch = epoch;
        event.flags = flags;
        event.code = code;
        if (kind == EventKind::StreamItem)
            event.parts = PartData | PartSeq;
        if (!method.isEmpty())
            event.methodString = log.intern(method);
        ns += 1234567;
        return log.append(event, payload);
    };
    const Direction out = Direction::Outbound;
    add(EventKind::StateChanged, R"({"from":"idle","to":"connecting","reason":"opening"})", 0);
    add(EventKind::Note, R"({"note":"before the hello"})", 0);
    add(EventKind::Hello, R"({"status":"connected","version":"v1","identities":{}})", 0);
    add(EventKind::EpochStarted, R"({"epoch":1,"requestId":1})", 1, 1);
    add(EventKind::Request, R"({"method":"connection/create","id":1,"space":"chat","key":"demo"})", 1, 1, -1, 0, 0, u"connection/create", out);
    add(EventKind::StateChanged, R"({"from":"connecting","to":"streaming","reason":"created"})", 1);
    add(EventKind::StreamItem, R"({"deliver":1,"done":false,"response":{"delta":{"data":{"n":0},"seq":1}}})", 1, 1, 1, FlagSnapshot);
    add(EventKind::FaultInjected, R"({"fault":"drop","params":{"count":1},"corrupting":true})", 1, -1, -1, FlagCorrupting, 1);
    add(EventKind::StreamItem, R"({"deliver":1,"done":false,"response":{"delta":{"data":{"n":1},"seq":2}}})", 1, 1, 2);
    add(EventKind::FoldAnomaly, R"({"anomaly":"seq-gap","path":"","message":"a gap","event":8})", 1, -1, -1, 0, 3);
    const qint64 send = add(EventKind::Request, R"({"method":"connection/send","id":2,"connection":1,"channel":"say","message":{"what":"hi"}})", 1, 2, -1,
        0, 0, u"say", out);
    const qint64 ack = add(EventKind::Response, R"({"deliver":2,"done":true,"response":{"seq":3}})", 1, 2, 3);
    log.link(send, ack);
    const qint64 item = add(EventKind::StreamItem, R"({"deliver":1,"done":false,"response":{"delta":{"data":{"said":"hi"},"seq":3}}})", 1, 1, 3);
    log.linkSeq(ack, item);
    const qint64 lost = add(EventKind::Request, R"({"method":"connection/send","id":3,"connection":1,"channel":"say","message":{}})", 1, 3, -1, 0, 0,
        u"say", out);
    const qint64 failure = add(EventKind::Failure, R"({"failure":3})", 1, 3, -1, FlagSynthetic, 999, {}, Direction::Local);
    log.link(lost, failure);
    add(EventKind::StateChanged, R"({"from":"streaming","to":"reconnecting","reason":"socket lost","delayMs":250})", 1);
    add(EventKind::ReconnectPlanned, R"({"layer":"socket","delayMs":250,"attempt":1,"policy":"backoff","reason":"socket lost"})", 1, -1, -1, 0, 250);
    add(EventKind::Hello, R"({"status":"connected","version":"v2","identities":{}})", 1);
    add(EventKind::VersionChanged, R"({"from":"v1","to":"v2"})", 1);
    add(EventKind::EpochStarted, R"({"epoch":2,"requestId":4})", 2, 4);
    add(EventKind::Request, R"({"method":"connection/create","id":4,"space":"chat","key":"demo"})", 2, 4, -1, 0, 0, u"connection/create", out);
    add(EventKind::StreamItem, R"({"deliver":4,"done":false,"response":{"delta":{"data":{"n":5,"said":"again"},"seq":1}}})", 2, 4, 1, FlagSnapshot);
    add(EventKind::Note, R"({"note":"the end"})", 2);
    log.flushNotifications();
}

// Every imported session's events one after another, as (session, index in its log).
std::vector<std::pair<const EventLog*, qint64>> eventsOf(const HarImportResult& imported)
{
    std::vector<std::pair<const EventLog*, qint64>> events;
    for (const ImportedSession& session : imported.sessions) {
        for (qint64 i = 0; i < session.log->size(); ++i)
            events.emplace_back(session.log.get(), i);
    }
    return events;
}

// `har` with every `_deltascope` member removed: as a browser or proxy would write it.
QByteArray withoutDeltascopeFacts(const QByteArray& har)
{
    QJsonObject root = QJsonDocument::fromJson(har).object();
    QJsonObject logObject = root.value(QStringLiteral("log")).toObject();
    QJsonArray entries = logObject.value(QStringLiteral("entries")).toArray();
    for (qsizetype e = 0; e < entries.size(); ++e) {
        QJsonObject entry = entries[e].toObject();
        entry.remove(QStringLiteral("_deltascope"));
        QJsonArray messages = entry.value(QStringLiteral("_webSocketMessages")).toArray();
        for (qsizetype m = 0; m < messages.size(); ++m) {
            QJsonObject message = messages[m].toObject();
            message.remove(QStringLiteral("_deltascope"));
            messages[m] = message;
        }
        entry[QStringLiteral("_webSocketMessages")] = messages;
        entries[e] = entry;
    }
    logObject[QStringLiteral("entries")] = entries;
    root[QStringLiteral("log")] = logObject;
    return QJsonDocument(root).toJson();
}

}

TEST_CASE("round trip: a HAR Deltascope exported imports with its local events, exact times, epochs and links")
{
    QTemporaryDir dir;
    EventLog source;
    fillSessionWithLocalEvents(source);
    capture::Header header;
    header.endpoint = QStringLiteral("ws://127.0.0.1:1/~s");
    header.space = QStringLiteral("chat");
    header.key = QStringLiteral("demo");
    const QString path = dir.filePath(QStringLiteral("local.ndjson"));
    writeCapture(path, source, header, true);
    QString error;
    const std::unique_ptr<Capture> capture = CaptureReader::open(path, {}, &error);
    INFO(error.toStdString());
    REQUIRE(capture);
    const EventLog& original = *capture->log;
    QByteArray har;
    const QJsonObject root = exportedHar(*capture, &har);
    CHECK(harProblems(root).join(QLatin1Char('\n')).toStdString() == std::string());
    const QJsonArray entries = root.value(QStringLiteral("log")).toObject().value(QStringLiteral("entries")).toArray();
    REQUIRE(entries.size() == 2); // a socket per hello
    // Local events carry their wall time.
    const QJsonObject firstLocal
        = entries[0].toObject().value(QStringLiteral("_deltascope")).toObject().value(QStringLiteral("localEvents")).toArray().first().toObject();
    CHECK(firstLocal.value(QStringLiteral("wallMs")).toDouble() == double(original.at(0).wallMs));

    const HarImportResult imported = importHar(har, QStringLiteral("local.har"));
    REQUIRE(imported.ok);
    REQUIRE(imported.sessions.size() == 2);
    for (const ImportedSession& session : imported.sessions) {
        INFO(session.notices.join(QLatin1Char('\n')).toStdString());
        CHECK(session.notices.isEmpty());
        CHECK_FALSE(session.header.partial);
    }
    const auto events = eventsOf(imported);
    REQUIRE(qint64(events.size()) == original.size());
    const qint64 secondStart = imported.sessions[0].log->size();
    CHECK(original.at(secondStart).kind == EventKind::Hello);
    for (qint64 i = 0; i < original.size(); ++i) {
        const auto& [log, at] = events[std::size_t(i)];
        const SessionEvent& a = original.at(i);
        const SessionEvent& b = log->at(at);
        INFO("event " << i << " (" << eventKindName(a.kind).toStdString() << ")");
        checkSameEventFacts(a, b);
        CHECK(b.code == a.code);
        CHECK(log->payload(at) == original.payload(i));
        // Links within a socket, the request's answer and the ack's stream item, by index.
        const qint64 offset = i < secondStart ? 0 : secondStart;
        CHECK((b.linkedIndex < 0 ? -1 : b.linkedIndex + offset) == a.linkedIndex);
        // The import seq-links an ack only to a stream item before it (as it always has); this
        // session's ack comes first, as a live one records it, so that link is not made.
        if (log->seqLink(at) >= 0)
            CHECK(log->seqLink(at) + offset == original.seqLink(i));
    }
    // And replays to the same document, epoch by epoch.
    SessionFolder replayed;
    for (const auto& [log, at] : events)
        replayed.processEvent(log->at(at), log->payload(at));
    SessionFolder recorded;
    capture->checkpoints->restore(recorded, original.size() - 1);
    CHECK(replayed.anomalyCount() == recorded.anomalyCount());
    CHECK(replayed.epoch() == 2);
    CHECK(replayed.epochTree().toJson() == recorded.epochTree().toJson());
    CHECK(replayed.mergedTree().toJson() == recorded.mergedTree().toJson());
}

TEST_CASE("round trip: the same HAR without Deltascope's facts imports as a browser's HAR, as before")
{
    QTemporaryDir dir;
    EventLog source;
    fillSessionWithLocalEvents(source);
    const QString path = dir.filePath(QStringLiteral("local.ndjson"));
    writeCapture(path, source, {}, true);
    QString error;
    const std::unique_ptr<Capture> capture = CaptureReader::open(path, {}, &error);
    REQUIRE(capture);
    QByteArray har;
    exportedHar(*capture, &har);
    const HarImportResult imported = importHar(withoutDeltascopeFacts(har), QStringLiteral("foreign.har"));
    REQUIRE(imported.ok);
    REQUIRE(imported.sessions.size() == 2);
    const EventLog& log = *imported.sessions[0].log;
    // Frames only, with an epoch made at each connection/create; times from the wall clock,
    // counted from the first message.
    CHECK(log.indexesOfKind(EventKind::StateChanged).empty());
    CHECK(log.indexesOfKind(EventKind::Note).empty());
    CHECK(log.indexesOfKind(EventKind::EpochStarted).size() == 1);
    CHECK(log.at(0).kind == EventKind::Hello);
    CHECK(log.at(0).monotonicNs == 0);
    for (qint64 i = 0; i < log.size(); ++i)
        CHECK(std::llabs(log.at(i).monotonicNs - (log.at(i).wallMs - log.at(0).wallMs) * 1000000) < 1000); // from seconds in a double
    // The second socket's epoch is counted in its own entry, from 1.
    const EventLog& second = *imported.sessions[1].log;
    REQUIRE_FALSE(second.indexesOfKind(EventKind::EpochStarted).empty());
    CHECK(second.at(second.indexesOfKind(EventKind::EpochStarted).front()).epoch == 1);
}

TEST_CASE("export: the HAR follows HAR 1.2 and Chrome's WebSocket shape, also when the wall clock goes backwards")
{
    QTemporaryDir dir;
    const std::unique_ptr<Capture> capture = openSynthetic(dir);
    const QJsonObject root = exportedHar(*capture);
    CHECK(harProblems(root).join(QLatin1Char('\n')).toStdString() == std::string());
    // The synthetic session has a binary frame: opcode 2, base64.
    CHECK(QJsonDocument(root).toJson().contains("\"opcode\": 2"));

    // A socket whose wall clock stepped back (NTP) between its first and last frame.
    EventLog log;
    SessionEvent hello;
    hello.kind = EventKind::Hello;
    hello.direction = Direction::Inbound;
    hello.wallMs = 1718000005000;
    hello.monotonicNs = 1000;
    log.append(hello, R"({"status":"connected","version":"v","identities":{}})");
    SessionEvent ping = hello;
    ping.kind = EventKind::Ping;
    ping.wallMs = 1718000001000;
    ping.monotonicNs = 2000000;
    log.append(ping, R"({"ping":1,"latency":"2"})");
    capture::Header header;
    header.endpoint = QStringLiteral("ws://127.0.0.1:1/~s");
    const QString backwards = dir.filePath(QStringLiteral("backwards.ndjson"));
    writeCapture(backwards, log, header, false);
    QString error;
    std::unique_ptr<Capture> stepped = CaptureReader::open(backwards, {}, &error);
    REQUIRE(stepped);
    CHECK(harProblems(exportedHar(*stepped)).join(QLatin1Char('\n')).toStdString() == std::string());
}

TEST_CASE("import: a HAR made by headless Chromium (tests/data) imports with its frames")
{
    const QString path = test::sourceDir() + QStringLiteral("/tests/data/chromium-websocket.har");
    HarImportResult imported = importHarFile(path);
    REQUIRE(imported.ok);
    REQUIRE(imported.sessions.size() == 1);
    const ImportedSession& session = imported.sessions[0];
    const QJsonArray messages = QJsonDocument::fromJson(test::readFileOrFail(path))
                                    .object()
                                    .value(QStringLiteral("log"))
                                    .toObject()
                                    .value(QStringLiteral("entries"))
                                    .toArray()
                                    .first()
                                    .toObject()
                                    .value(QStringLiteral("_webSocketMessages"))
                                    .toArray();
    const auto frames = framesOf(*session.log);
    REQUIRE(qsizetype(frames.size()) == messages.size());
    for (qsizetype m = 0; m < messages.size(); ++m) {
        const QJsonObject message = messages[m].toObject();
        CHECK(frames[std::size_t(m)].first
            == (message.value(QStringLiteral("type")).toString() == QLatin1String("send") ? Direction::Outbound : Direction::Inbound));
        CHECK(frames[std::size_t(m)].second == message.value(QStringLiteral("data")).toString().toUtf8());
    }
    CHECK(session.log->indexesOfKind(EventKind::Hello).size() == 1);
    CHECK(session.log->indexesOfKind(EventKind::StreamItem).size() >= 1);
    CHECK(session.log->indexesOfKind(EventKind::EpochStarted).size() == 1);
    SessionFolder folder;
    for (qint64 i = 0; i < session.log->size(); ++i)
        folder.processEvent(session.log->at(i), session.log->payload(i));
    CHECK(folder.epochTree().nodeCount() > 1);
    CHECK(folder.anomalyCount() == 0);
}

TEST_CASE("import: a HAR that starts mid-stream is marked partial, and bad HAR files are refused clearly")
{
    const QByteArray partialHar = R"({"log":{"version":"1.2","creator":{"name":"Chrome"},"entries":[{"startedDateTime":"2024-06-10T06:13:20.000Z",
        "request":{"url":"wss://example.com/~s"},"_webSocketMessages":[
        {"type":"receive","time":1718000000.5,"opcode":1,"data":"{\"deliver\":4,\"done\":false,\"response\":{\"delta\":{\"data\":{\"x\":1},\"seq\":9}}}"},
        {"type":"receive","time":1718000000.6,"opcode":1,"data":"{\"deliver\":4,\"done\":false,\"response\":{\"delta\":{\"data\":{\"y\":2},\"seq\":10}}}"},
        {"type":"send","time":1718000000.7,"opcode":1,"data":"hello, not adama"},
        {"type":"receive","time":1718000000.8,"opcode":2,"data":"AAEC"}]}]}})";
    HarImportResult imported = importHar(partialHar, QStringLiteral("partial.har"));
    REQUIRE(imported.ok);
    REQUIRE(imported.sessions.size() == 1);
    const ImportedSession& session = imported.sessions[0];
    CHECK(session.header.partial);
    CHECK(session.notices.join(QLatin1Char('\n')).contains(QStringLiteral("partial")));
    CHECK(session.unknownFrames == 2);
    CHECK(session.log->indexesOfKind(EventKind::UnknownOutbound).size() == 1);
    CHECK(session.log->indexesOfKind(EventKind::MalformedInbound).size() == 1);
    CHECK(session.log->payload(session.log->indexesOfKind(EventKind::MalformedInbound).front()) == QByteArray("\x00\x01\x02", 3));
    SessionFolder folder;
    for (qint64 i = 0; i < session.log->size(); ++i)
        folder.processEvent(session.log->at(i), session.log->payload(i));
    CHECK(folder.epochTree().toJson() == QByteArray(R"({"x":1,"y":2})"));

    HarImportResult bad = importHar("{not json", QStringLiteral("bad.har"));
    CHECK_FALSE(bad.ok);
    CHECK(bad.error.contains(QStringLiteral("bad.har")));
    // From a file, the message names it as given (folder too); the capture's notes only by its name.
    QTemporaryDir harFolder;
    const QString badPath = harFolder.filePath(QStringLiteral("bad.har"));
    REQUIRE(writeFile(badPath, "{not json"));
    CHECK(importHarFile(badPath).error.startsWith(badPath));
    const QString partialPath = harFolder.filePath(QStringLiteral("partial.har"));
    REQUIRE(writeFile(partialPath, partialHar));
    const HarImportResult fromFile = importHarFile(partialPath);
    REQUIRE(fromFile.ok);
    CHECK(fromFile.sessions.at(0).header.notes.startsWith(QStringLiteral("imported from partial.har, entry 0")));
    HarImportResult noLog = importHar(R"({"entries":[]})", QStringLiteral("x.har"));
    CHECK_FALSE(noLog.ok);
    CHECK(noLog.error.contains(QStringLiteral("log.entries")));
    HarImportResult noSockets = importHar(R"({"log":{"entries":[{"request":{"url":"https://a/"}}]}})", QStringLiteral("y.har"));
    CHECK_FALSE(noSockets.ok);
    CHECK(noSockets.error.contains(QStringLiteral("_webSocketMessages")));

    // A time that is not epoch seconds keeps its message at the time before it (it once
    // overflowed 64-bit nanoseconds; found by fuzz_har).
    const QByteArray badTimes = R"({"log":{"entries":[{"request":{"url":"ws://a/~s"},"_webSocketMessages":[
        {"type":"receive","time":-9.3e18,"opcode":1,"data":"{\"ping\":1,\"latency\":\"2\"}"},
        {"type":"receive","time":1e300,"opcode":1,"data":"{\"ping\":2,\"latency\":\"2\"}"},
        {"type":"receive","time":1718000000.5,"opcode":1,"data":"{\"ping\":3,\"latency\":\"2\"}"}]}]}})";
    HarImportResult timed = importHar(badTimes, QStringLiteral("times.har"));
    REQUIRE(timed.ok);
    REQUIRE(timed.sessions.size() == 1);
    CHECK(timed.sessions[0].frames == 3);
    CHECK(timed.sessions[0].notices.join(QLatin1Char('\n')).contains(QStringLiteral("entry 0, message 1: \"time\" 1e+300 is not epoch seconds between 1970 and 2262; kept at the time before it")));
}

TEST_CASE("import: a HAR that starts mid-session loses the token its handshake URL names, in every copy")
{
    // Browsers keep about the last hundred frames: no connection/create names the token, but the
    // handshake URL does, and frames quote it.
    const QByteArray har = R"({"log":{"version":"1.2","creator":{"name":"Chrome"},"entries":[{"startedDateTime":"2024-06-10T06:13:20.000Z",
        "request":{"url":"wss://example.com/~s?identity=anonymous%3Ahar-secret-token&v=2"},"_webSocketMessages":[
        {"type":"receive","time":1718000000.5,"opcode":1,"data":"{\"deliver\":4,\"done\":false,\"response\":{\"delta\":{\"data\":{\"who\":\"anonymous:har-secret-token\"},\"seq\":9}}}"},
        {"type":"send","time":1718000000.7,"opcode":1,"data":"{\"method\":\"connection/send\",\"id\":5,\"connection\":4,\"channel\":\"c\",\"message\":{\"t\":\"anonymous:har-secret-\\u0074oken\"}}"}]}]}})";
    HarImportResult imported = importHar(har, QStringLiteral("partial.har"));
    REQUIRE(imported.ok);
    REQUIRE(imported.sessions.size() == 1);
    const ImportedSession& session = imported.sessions[0];
    QBuffer written;
    written.open(QIODevice::WriteOnly);
    QString error;
    REQUIRE(CaptureWriter::writeLog(*session.log, session.header, written, false, &error));
    INFO(written.data().toStdString());
    CHECK_FALSE(written.data().contains("har-secret"));
    CHECK(written.data().contains("[redacted identity 1]"));
    CHECK(written.data().contains("\"identityRemoved\":true"));
}

namespace {
// `log` written as a capture file in `dir` and opened again, as an export reads it.
std::unique_ptr<Capture> writtenAndOpened(const QTemporaryDir& dir, const QString& name, const EventLog& log, const capture::Header& header)
{
    const QString path = dir.filePath(name);
    QFile file(path);
    REQUIRE(file.open(QIODevice::WriteOnly));
    QString error;
    REQUIRE(CaptureWriter::writeLog(log, header, file, false, &error));
    file.close();
    std::unique_ptr<Capture> capture = CaptureReader::open(path, {}, &error);
    INFO(error.toStdString());
    REQUIRE(capture);
    return capture;
}

// The messages of the first socket of a HAR export of `capture`.
QJsonArray exportedHarMessages(const Capture& capture)
{
    QBuffer out;
    out.open(QIODevice::WriteOnly);
    REQUIRE(exportHar(capture, {}, out).ok);
    return QJsonDocument::fromJson(out.data()).object().value(QStringLiteral("log")).toObject().value(QStringLiteral("entries")).toArray()
        .at(0).toObject().value(QStringLiteral("_webSocketMessages")).toArray();
}

// The Markdown report of `capture`.
QByteArray exportedReport(const Capture& capture)
{
    QBuffer out;
    out.open(QIODevice::WriteOnly);
    REQUIRE(exportMarkdown(capture, {}, out).ok);
    return out.data();
}
}

TEST_CASE("import and export: binary frames stay binary, oversized frames are said, and the report holds no raw control bytes")
{
    // "aGk=" is "hi": valid UTF-8, but a binary frame all the same. "AAEC" is NUL, 1, 2.
    const QByteArray huge(5 * 1024 * 1024, 'x');
    const QByteArray har = R"({"log":{"version":"1.2","creator":{"name":"Chrome"},"entries":[{"startedDateTime":"2024-06-10T06:13:20.000Z",
        "request":{"url":"wss://example.com/~s"},"_webSocketMessages":[
        {"type":"receive","time":1718000000.5,"opcode":2,"data":"aGk="},
        {"type":"send","time":1718000000.6,"opcode":2,"data":"aGk="},
        {"type":"receive","time":1718000000.7,"opcode":2,"data":"AAEC"},
        {"type":"receive","time":1718000000.8,"opcode":1,"data":")"
        + huge + R"("}]}]}})";
    HarImportResult imported = importHar(har, QStringLiteral("binary.har"));
    REQUIRE(imported.ok);
    REQUIRE(imported.sessions.size() == 1);
    const ImportedSession& session = imported.sessions[0];
    const QString notices = session.notices.join(QLatin1Char('\n'));
    INFO(notices.toStdString());
    CHECK(notices.contains(QStringLiteral("entry 0, message 3: a received frame of 5242880 bytes, over Adama's 4 MiB frame limit")));

    QTemporaryDir dir;
    const std::unique_ptr<Capture> capture = writtenAndOpened(dir, QStringLiteral("binary.ndjson"), *session.log, session.header);
    const QJsonArray messages = exportedHarMessages(*capture);
    REQUIRE(messages.size() >= 3);
    for (int m = 0; m < 3; ++m) {
        INFO("message " << m);
        CHECK(messages.at(m).toObject().value(QStringLiteral("opcode")).toInt() == 2);
    }
    CHECK(messages.at(0).toObject().value(QStringLiteral("data")).toString() == QStringLiteral("aGk="));
    CHECK(messages.at(1).toObject().value(QStringLiteral("data")).toString() == QStringLiteral("aGk="));

    const QByteArray report = exportedReport(*capture);
    CHECK_FALSE(report.contains('\0'));
    CHECK_FALSE(report.contains('\x01'));
    CHECK(report.contains("binary, 3 bytes, base64 AAEC"));
    // From the first event, the document before is the empty start, not "after event -1".
    CHECK(report.contains("## Document before (the start of the capture: empty)"));
    CHECK_FALSE(report.contains("after event -1"));

    // A live recording keeps a summary of a binary frame, not its bytes: shown as that text.
    EventLog live;
    SessionEvent binary;
    binary.kind = EventKind::MalformedInbound;
    binary.direction = Direction::Inbound;
    binary.code = qint32(MalformedReason::Binary);
    live.append(binary, R"({"headBase64":"AAEC","malformed":"binary","size":10000})");
    const std::unique_ptr<Capture> liveCapture = writtenAndOpened(dir, QStringLiteral("live.ndjson"), live, {});
    const QJsonObject summary = exportedHarMessages(*liveCapture).at(0).toObject();
    CHECK(summary.value(QStringLiteral("opcode")).toInt() == 1);
    CHECK(summary.value(QStringLiteral("data")).toString().contains(QStringLiteral("\"size\":10000")));
    const QByteArray liveReport = exportedReport(*liveCapture);
    CHECK(liveReport.contains("\"size\":10000"));
    CHECK_FALSE(liveReport.contains("binary, "));

    // Over the live client's own limit, a received frame is kept as that client keeps one.
    const QByteArray beyond = R"({"log":{"entries":[{"request":{"url":"wss://example.com/~s"},"_webSocketMessages":[
        {"type":"receive","time":1718000000.5,"opcode":1,"data":")"
        + QByteArray(Transport::kMaxFrameBytes + 1, 'y') + R"("}]}]}})";
    HarImportResult oversized = importHar(beyond, QStringLiteral("beyond.har"));
    REQUIRE(oversized.ok);
    REQUIRE(oversized.sessions.size() == 1);
    const EventLog& log = *oversized.sessions[0].log;
    REQUIRE(log.size() == 1);
    CHECK(log.at(0).kind == EventKind::MalformedInbound);
    CHECK(log.at(0).code == qint32(MalformedReason::Oversized));
    const QJsonObject kept = QJsonDocument::fromJson(log.payload(0)).object();
    CHECK(kept.value(QStringLiteral("size")).toDouble() == double(Transport::kMaxFrameBytes + 1));
    CHECK(kept.value(QStringLiteral("head")).toString().size() == Transport::kHeadBytes);
    CHECK(oversized.sessions[0].notices.join(QLatin1Char('\n')).contains(QStringLiteral("kept as the live client keeps one")));
}

TEST_CASE("redaction: no identity token and no listed path survives in any export")
{
    QTemporaryDir dir;
    const QString path = dir.filePath(QStringLiteral("kept.ndjson"));
    const QByteArray raw = writeSynthetic(path, true);
    REQUIRE(raw.contains("anonymous:secret-agent"));
    REQUIRE(raw.contains("ann@example.com"));
    REQUIRE(raw.contains("vs-secret"));
    for (const char* format : { "har", "ndjson", "markdown", "capture" }) {
        INFO(format);
        const QString out = dir.filePath(QStringLiteral("out.") + QLatin1String(format));
        test::CliRun result = runCli({ QStringLiteral("export"), path, QStringLiteral("--format"), QLatin1String(format), QStringLiteral("--redact"),
            QStringLiteral("players/*/email,owner/email,viewer-state/token"), QStringLiteral("-o"), out });
        REQUIRE(result.code == 0);
        CHECK(result.err.contains(QStringLiteral("redacted identity tokens")));
        const QByteArray bytes = test::readFileOrFail(out);
        CHECK_FALSE(bytes.contains("secret-agent"));
        CHECK_FALSE(bytes.contains("@example.com"));
        CHECK_FALSE(bytes.contains("vs-secret"));
        CHECK(bytes.contains("[redacted"));
        // A range that starts after the connection/create is redacted too.
        // Made again over the first (a trimmed capture is kept unless --overwrite).
        result = runCli({ QStringLiteral("export"), path, QStringLiteral("--format"), QLatin1String(format), QStringLiteral("--from"),
            QStringLiteral("50"), QStringLiteral("--redact"), QStringLiteral("players/*/email,owner/email"), QStringLiteral("-o"), out,
            QStringLiteral("--overwrite") });
        REQUIRE(result.code == 0);
        CHECK_FALSE(test::readFileOrFail(out).contains("@example.com"));
        CHECK_FALSE(test::readFileOrFail(out).contains("secret-agent"));
        // --no-redact keeps them: the search above can fail.
        result = runCli({ QStringLiteral("export"), path, QStringLiteral("--format"), QLatin1String(format), QStringLiteral("--no-redact"),
            QStringLiteral("-o"), out, QStringLiteral("--overwrite") });
        REQUIRE(result.code == 0);
        CHECK(test::readFileOrFail(out).contains("@example.com"));
    }
    // The trimmed capture opens on its own and starts with the tree at the range start.
    const QString trimmed = dir.filePath(QStringLiteral("trim.ndjson"));
    REQUIRE(runCli({ QStringLiteral("export"), path, QStringLiteral("--format"), QStringLiteral("capture"), QStringLiteral("--from"),
                QStringLiteral("200"), QStringLiteral("--to"), QStringLiteral("300"), QStringLiteral("-o"), trimmed })
                .code
        == 0);
    QString error;
    std::unique_ptr<Capture> original = CaptureReader::open(path, {}, &error);
    std::unique_ptr<Capture> cut = CaptureReader::open(trimmed, {}, &error);
    REQUIRE(cut);
    CHECK(cut->header.source == QStringLiteral("trim"));
    // The snapshot holds the tree before the range's first event, and the note says exactly that.
    CHECK(cut->header.notes.contains(QStringLiteral("starts with a synthetic snapshot of the tree as it was after event 199, the one before the range")));
    REQUIRE(cut->log->size() == 2 + 101);
    CHECK((cut->log->at(1).flags & FlagSynthetic));
    CHECK((cut->log->at(1).flags & FlagSnapshot));
    SessionFolder a;
    SessionFolder b;
    original->checkpoints->restore(a, 300);
    cut->checkpoints->restore(b, cut->log->size() - 1);
    // Redacted values differ by design; the shapes (paths) are the same.
    CHECK(diffTrees(a.epochTree(), b.epochTree()).added.isEmpty());
    CHECK(diffTrees(a.epochTree(), b.epochTree()).removed.isEmpty());
}

TEST_CASE("export: a trimmed capture renumbers the events its anomalies and incidents name")
{
    QTemporaryDir dir;
    const QString path = dir.filePath(QStringLiteral("reports.ndjson"));
    {
        EventLog log;
        test::fillSyntheticSession(log, 40);
        const auto addLocal = [&](EventKind kind, const QByteArray& payload) {
            SessionEvent event;
            event.kind = kind;
            event.direction = Direction::Local;
            event.epoch = 1;
            event.monotonicNs = log.at(log.size() - 1).monotonicNs + 1;
            return log.append(event, payload);
        };
        addLocal(EventKind::FoldAnomaly, R"({"anomaly":"bad-list-instruction","path":"a","message":"m","event":30})");
        addLocal(EventKind::Incident, R"({"incident":1,"openedAtEvent":5,"verdict":"converged"})");
        addLocal(EventKind::Incident, R"({"incident":2,"openedAtEvent":31,"verdict":"converged"})");
        REQUIRE(test::writeCaptureFile(path, log));
    }
    QString error;
    const std::unique_ptr<Capture> original = CaptureReader::open(path, {}, &error);
    REQUIRE(original);
    const qint64 last = original->log->size() - 1;
    const QString trimmed = dir.filePath(QStringLiteral("trim.ndjson"));
    REQUIRE(runCli({ QStringLiteral("export"), path, QStringLiteral("--format"), QStringLiteral("capture"), QStringLiteral("--from"),
                QStringLiteral("20"), QStringLiteral("--to"), QString::number(last), QStringLiteral("-o"), trimmed })
                .code
        == 0);
    const std::unique_ptr<Capture> cut = CaptureReader::open(trimmed, {}, &error);
    REQUIRE(cut);
    const qint64 shift = 2 - 20; // the synthetic epoch and snapshot come first
    const auto payloadOf = [&](EventKind kind, int nth) { return QJsonDocument::fromJson(cut->log->payload(cut->log->indexesOfKind(kind)[std::size_t(nth)])).object(); };
    CHECK(payloadOf(EventKind::FoldAnomaly, 0).value(QStringLiteral("event")).toInteger() == 30 + shift);
    // Opened before the range: the capture's start, said so; inside it: renumbered.
    CHECK(payloadOf(EventKind::Incident, 0).value(QStringLiteral("openedAtEvent")).toInteger() == 0);
    CHECK(payloadOf(EventKind::Incident, 0).value(QStringLiteral("beforeTrim")).toBool());
    CHECK(payloadOf(EventKind::Incident, 1).value(QStringLiteral("openedAtEvent")).toInteger() == 31 + shift);
    CHECK(cut->header.notes.contains(QStringLiteral("starts with a synthetic snapshot")));
    // Its clock starts at its first event: charts and "t =" do not show the time cut away.
    CHECK(cut->log->at(0).monotonicNs == 0);
    CHECK(cut->log->at(2).monotonicNs == 0);
    CHECK(cut->log->at(5).monotonicNs == original->log->at(23).monotonicNs - original->log->at(20).monotonicNs);
    // From the first event there is no synthetic start, and the note does not claim one.
    const QString whole = dir.filePath(QStringLiteral("whole.ndjson"));
    REQUIRE(runCli({ QStringLiteral("export"), path, QStringLiteral("--format"), QStringLiteral("capture"), QStringLiteral("--from"),
                QStringLiteral("0"), QStringLiteral("-o"), whole })
                .code
        == 0);
    const std::unique_ptr<Capture> fromStart = CaptureReader::open(whole, {}, &error);
    REQUIRE(fromStart);
    CHECK_FALSE(fromStart->header.notes.contains(QStringLiteral("synthetic")));
    CHECK(QJsonDocument::fromJson(fromStart->log->payload(fromStart->log->indexesOfKind(EventKind::FoldAnomaly)[0])).object().value(QStringLiteral("event")).toInteger() == 30);
}

TEST_CASE("redaction: secrets in the endpoint URL leave no export, wherever the URL is quoted")
{
    QTemporaryDir dir;
    const QString path = dir.filePath(QStringLiteral("url.ndjson"));
    const QString endpoint = QStringLiteral("wss://ann:pw-secret@host.example:8443/~s?token=url-secret&debug#frag-secret");
    EventLog log;
    fillSyntheticSession(log, 40);
    SessionEvent note;
    note.kind = EventKind::Note;
    note.monotonicNs = log.at(log.size() - 1).monotonicNs + 1;
    note.wallMs = log.at(log.size() - 1).wallMs + 1;
    // What the window writes when the server cannot be reached: the URL, quoted in a payload.
    log.append(note, QJsonDocument(QJsonObject { { QStringLiteral("note"), QStringLiteral("The server %1 cannot be reached").arg(endpoint) } })
                         .toJson(QJsonDocument::Compact));
    capture::Header header;
    header.endpoint = endpoint;
    header.space = QStringLiteral("chat");
    header.key = QStringLiteral("demo");
    writeCapture(path, log, header, true);

    for (const char* format : { "har", "ndjson", "markdown", "capture" }) {
        INFO(format);
        const QString out = dir.filePath(QStringLiteral("out.") + QLatin1String(format));
        test::CliRun result = runCli({ QStringLiteral("export"), path, QStringLiteral("--format"), QLatin1String(format), QStringLiteral("-o"), out });
        REQUIRE(result.code == 0);
        CHECK(result.err.contains(QStringLiteral("user name, password, query value of \"token\", fragment replaced by \"[redacted]\"")));
        const QByteArray bytes = test::readFileOrFail(out);
        for (const char* secret : { "pw-secret", "url-secret", "frag-secret", "ann:" }) {
            INFO(secret);
            CHECK_FALSE(bytes.contains(secret));
        }
        // What is not secret stays, so the report still says where it connected.
        CHECK(bytes.contains("host.example:8443/~s?token="));
        CHECK(bytes.contains("debug"));
        result = runCli({ QStringLiteral("export"), path, QStringLiteral("--format"), QLatin1String(format), QStringLiteral("--no-redact"),
            QStringLiteral("-o"), out, QStringLiteral("--overwrite") });
        REQUIRE(result.code == 0);
        CHECK(test::readFileOrFail(out).contains("url-secret"));
    }

    // HAR 1.2: the query string as name/value pairs, as redacted as the URL.
    const QString har = dir.filePath(QStringLiteral("q.har"));
    REQUIRE(runCli({ QStringLiteral("export"), path, QStringLiteral("--format"), QStringLiteral("har"), QStringLiteral("-o"), har }).code == 0);
    const QJsonObject request = QJsonDocument::fromJson(test::readFileOrFail(har))
                                    .object()[QStringLiteral("log")][QStringLiteral("entries")][0][QStringLiteral("request")]
                                    .toObject();
    CHECK(QUrl(request[QStringLiteral("url")].toString()).host() == QStringLiteral("host.example"));
    const QJsonArray query = request[QStringLiteral("queryString")].toArray();
    REQUIRE(query.size() == 2);
    CHECK(query[0].toObject()[QStringLiteral("name")].toString() == QStringLiteral("token"));
    CHECK(query[0].toObject()[QStringLiteral("value")].toString() == QStringLiteral("[redacted]"));
    CHECK(query[1].toObject()[QStringLiteral("name")].toString() == QStringLiteral("debug"));

    // A plain endpoint is left exactly as it was, and the summary does not mention it.
    Capture plain;
    plain.header.endpoint = QStringLiteral("ws://127.0.0.1:1/~s");
    ExportRedactor redactor(plain, true, {});
    CHECK(redactor.endpoint() == QStringLiteral("ws://127.0.0.1:1/~s"));
    CHECK(redactor.redactUrl(QStringLiteral("ws://[::1]:8080/~s?x")) == QStringLiteral("ws://[::1]:8080/~s?x"));
    CHECK(redactor.redactUrl(QStringLiteral("WS://Host.Example:80/~s")) == QStringLiteral("WS://Host.Example:80/~s")); // not respelled
    CHECK_FALSE(redactor.summary().join(QLatin1Char('\n')).contains(QStringLiteral("endpoint")));
}

TEST_CASE("redaction: '*' stands for list elements and fields, never a list's @o or @s")
{
    Capture plain;
    plain.header.endpoint = QStringLiteral("ws://127.0.0.1:1/~s");
    ExportRedactor redactor(plain, true, { QStringLiteral("lines/*"), QStringLiteral("online/*") });
    const QByteArray frame = R"({"deliver":1,"done":false,"response":{"delta":{"data":{"lines":{"7":{"what":"hi"},"@o":[[0,2],7],"3":null},"online":{"0":"ann","@s":1}},"seq":9}}})";
    const QByteArray redacted = redactor.redact(frame);
    CHECK(redacted
        == QByteArray(R"({"deliver":1,"done":false,"response":{"delta":{"data":{"lines":{"7":"[redacted]","@o":[[0,2],7],"3":null},"online":{"0":"[redacted]","@s":1}},"seq":9}}})"));
    // A removal (null) stays one: it hides nothing, and "[redacted]" would show an element again.
    CHECK(redactor.summary().join(QLatin1Char('\n')).contains(QStringLiteral("path lines/*: 1 values replaced")));
    // Named literally, a marker is still the user's to redact.
    ExportRedactor literal(plain, true, { QStringLiteral("lines/@o") });
    CHECK(literal.redact(frame).contains(R"("@o":"[redacted]")"));
}

TEST_CASE("redaction: URLs are cut at their delimiters, not parsed, so a URL QUrl refuses is redacted too")
{
    QStringList parts;
    CHECK(capture::redactUrl("ws://h:1/~s?apikey=A SPACE_SECRET&x=%7CPIPE|SECRET&flag&empty=", &parts)
        == QByteArray("ws://h:1/~s?apikey=[redacted]&x=[redacted]&flag&empty="));
    CHECK(parts == QStringList { QStringLiteral("query value of \"apikey\""), QStringLiteral("query value of \"x\"") });
    parts.clear();
    CHECK(capture::redactUrl("wss://ann:pw@h/~s#frag", &parts) == QByteArray("wss://[redacted]:[redacted]@h/~s#[redacted]"));
    CHECK(parts == QStringList { QStringLiteral("user name"), QStringLiteral("password"), QStringLiteral("fragment") });
    CHECK(capture::redactUrl("ws://:pw@h/~s") == QByteArray("ws://:[redacted]@h/~s"));
    CHECK(capture::redactUrl("ws://h/p@th?q=%zz") == QByteArray("ws://h/p@th?q=[redacted]")); // '@' after the host is no user info
    CHECK(capture::redactUrl("not a url?x=1") == QByteArray("not a url?x=1"));
    // Redacting twice changes nothing more and reports nothing more.
    parts.clear();
    CHECK(capture::redactUrl("ws://[redacted]@h/~s?a=[redacted]#[redacted]", &parts) == QByteArray("ws://[redacted]@h/~s?a=[redacted]#[redacted]"));
    CHECK(parts.isEmpty());

    QByteArray text = R"({"note":"handshake URL http://h:1/~s?session=S1 failed; retried wss://u:p@h/~s?t=S2, then WS://H/~s?t=S3."})";
    CHECK(capture::redactUrlsIn(text) == 3);
    CHECK(text == QByteArray(R"({"note":"handshake URL http://h:1/~s?session=[redacted] failed; retried wss://[redacted]:[redacted]@h/~s?t=[redacted] then WS://H/~s?t=[redacted]"})"));
    // JSON may escape '/' and write characters as \uXXXX (Go writes '&' so): the URL goes on
    // through them. Any scheme may carry credentials.
    QByteArray escaped = R"({"u":"https:\/\/cdn\/a.png?sig=S4","g":"?a=1\u0026token=S5 ","f":"ftp://me:S6@h/?z=2","p":"git+https://u:S7@h/r"})";
    escaped.replace("\"?a=1", "\"https://h/?a=1");
    CHECK(capture::redactUrlsIn(escaped) == 4);
    CHECK(escaped == QByteArray(R"({"u":"https:\/\/cdn\/a.png?sig=[redacted]","g":"https://h/?a=[redacted]&token=[redacted] ","f":"ftp://[redacted]:[redacted]@h/?z=[redacted]","p":"git+https://[redacted]:[redacted]@h/r"})"));
    // Every other spelling of "://": slashes as \u002F, and JSON serialised inside a JSON string
    // (its escapes escaped again), where user info, query values and fragment hide as well.
    QByteArray spelled = R"({"a":"https:\u002F\u002Fu:S13@h\u002Fp?k=S14","b":"{\"u\":\"wss:\\/\\/h\\/~s?t=S15#S16\"}","c":"{\"u\":\"http:\\\/\\\/h\\\/x?k=S17\\u0026m=S18\"}"})";
    CHECK(capture::redactUrlsIn(spelled) == 3);
    CHECK(spelled == QByteArray(R"({"a":"https:\u002F\u002F[redacted]:[redacted]@h\u002Fp?k=[redacted]","b":"{\"u\":\"wss:\\/\\/h\\/~s?t=[redacted]#[redacted]\"}","c":"{\"u\":\"http:\\\/\\\/h\\\/x?k=[redacted]&m=[redacted]\"}"})"));
    // The result is still JSON, and redacting it again changes nothing.
    CHECK(QJsonDocument::fromJson(spelled).isObject());
    CHECK(capture::redactUrlsIn(spelled) == 0);
    // An escaped backslash before a one-letter scheme leaves the letter a letter.
    QByteArray afterBackslash = R"({"p":"C:\\x://u:S19@h/"})";
    CHECK(capture::redactUrlsIn(afterBackslash) == 1);
    CHECK_FALSE(afterBackslash.contains("S19"));
    // The letter of an escape before a scheme is not part of it: "\n" then wss.
    QByteArray newline = R"({"note":"closed:\nwss://u:S8@h/~s?t=S9"})";
    CHECK(capture::redactUrlsIn(newline) == 1);
    CHECK(newline == QByteArray(R"({"note":"closed:\nwss://[redacted]:[redacted]@h/~s?t=[redacted]"})"));
    // A token a capture already replaced is one piece of the URL: what follows it is still read.
    QByteArray replaced = R"({"note":"https://h/~s?identity=[redacted identity 1]&token=S10"})";
    CHECK(capture::redactUrlsIn(replaced) == 1);
    CHECK_FALSE(replaced.contains("S10"));
    // Only the placeholder exactly: text that merely starts like one does not carry the URL on
    // past the string's end.
    QByteArray unclosed = R"({"a":"wss://h/?t=[redacted identity ","b":[1]})";
    capture::redactUrlsIn(unclosed);
    CHECK(unclosed.endsWith(R"(","b":[1]})"));
    CHECK(QJsonDocument::fromJson(unclosed).isObject());
    // Inside the query only white space, a quote or an escape ends it.
    QByteArray apostrophe = R"({"u":"https://h/?name=O'Brien&sig=S11","w":"see http://h/a'b?c=S12 ok"})";
    CHECK(capture::redactUrlsIn(apostrophe) == 2);
    CHECK(apostrophe == QByteArray(R"({"u":"https://h/?name=[redacted]&sig=[redacted]","w":"see http://h/a'b?c=[redacted] ok"})"));
    // Thousands of distinct keys: all redacted, and the list of what was replaced stays short.
    QByteArray keys;
    for (int i = 0; i < 5000; ++i)
        keys += "https://h/?k" + QByteArray::number(i) + "=V" + QByteArray::number(i) + " ";
    QStringList named;
    CHECK(capture::redactUrlsIn(keys, &named) == 5000);
    CHECK_FALSE(keys.contains("=V"));
    CHECK(named.size() == 21);
    CHECK(named.last() == QStringLiteral("and more"));
    QByteArray none = "no url here: ://b?c=d, a:b, \"x\"";
    CHECK(capture::redactUrlsIn(none) == 0);
    // Many URLs in one large text (a snapshot of image links): one pass, all of them.
    QByteArray many;
    for (int i = 0; i < 20000; ++i)
        many += "{\"img\":\"https://cdn/" + QByteArray::number(i) + ".png?sig=SIG" + QByteArray::number(i) + "\"},";
    CHECK(capture::redactUrlsIn(many) == 20000);
    CHECK_FALSE(many.contains("SIG"));
}

TEST_CASE("redaction: the Markdown report counts an event's URLs once, though two sections show it")
{
    QTemporaryDir dir;
    const QString path = dir.filePath(QStringLiteral("anomaly.ndjson"));
    EventLog log;
    fillSyntheticSession(log, 10);
    SessionEvent anomaly;
    anomaly.kind = EventKind::FoldAnomaly;
    anomaly.direction = Direction::Local;
    anomaly.monotonicNs = log.at(log.size() - 1).monotonicNs + 1;
    anomaly.wallMs = log.at(log.size() - 1).wallMs + 1;
    // Listed under Anomalies and, the capture being short, in the timeline as well.
    log.append(anomaly, R"({"anomaly":"kind-changed","path":"/a","message":"see wss://h/~s?k=ANOMALY_SECRET","event":3})");
    capture::Header header;
    header.endpoint = QStringLiteral("ws://127.0.0.1:1/~s");
    header.space = QStringLiteral("chat");
    header.key = QStringLiteral("demo");
    writeCapture(path, log, header, true);
    const QString out = dir.filePath(QStringLiteral("report.md"));
    const test::CliRun result = runCli({ QStringLiteral("export"), path, QStringLiteral("--format"), QStringLiteral("markdown"), QStringLiteral("-o"), out });
    REQUIRE(result.code == 0);
    const QByteArray report = test::readFileOrFail(out);
    CHECK_FALSE(report.contains("ANOMALY_SECRET"));
    CHECK(report.count("?k=[redacted]") == 2);
    CHECK(result.err.contains(QStringLiteral("URLs (the endpoint, and 1 in payloads and notes)")));
}

TEST_CASE("redaction: the summary counts the endpoint quoted in payloads, each value once in every format, and names a recorder's removal")
{
    QTemporaryDir dir;
    const QString path = dir.filePath(QStringLiteral("c.ndjson"));
    EventLog log;
    fillSyntheticSession(log, 10);
    SessionEvent note;
    note.kind = EventKind::Note;
    note.direction = Direction::Local;
    note.monotonicNs = log.at(log.size() - 1).monotonicNs + 1;
    note.wallMs = log.at(log.size() - 1).wallMs + 1;
    log.append(note, R"({"note":"reconnecting to ws://127.0.0.1:1/~s?token=ENDPOINT_SECRET"})");
    capture::Header header;
    header.endpoint = QStringLiteral("ws://127.0.0.1:1/~s?token=ENDPOINT_SECRET");
    header.space = QStringLiteral("chat");
    header.key = QStringLiteral("demo");
    header.identity = QStringLiteral("anonymous:secret-agent");
    writeCapture(path, log, header, true);
    const auto pathCount = [](const QString& err) {
        const QRegularExpressionMatch match = QRegularExpression(QStringLiteral("path players/\\*/email: (\\d+) values")).match(err);
        return match.hasMatch() ? match.captured(1).toInt() : -1;
    };
    std::map<std::string, int> counts;
    for (const char* format : { "har", "markdown", "capture" }) {
        INFO(format);
        const test::CliRun result = runCli({ QStringLiteral("export"), path, QStringLiteral("--format"), QLatin1String(format), QStringLiteral("--redact"),
            QStringLiteral("players/*/email"), QStringLiteral("-o"), dir.filePath(QStringLiteral("out.") + QLatin1String(format)) });
        INFO(result.err.toStdString());
        REQUIRE(result.code == 0);
        // The note quotes the endpoint exactly: replaced, and counted.
        CHECK(result.err.contains(QStringLiteral("URLs (the endpoint, and 1 in payloads and notes)")));
        CHECK_FALSE(test::readFileOrFail(dir.filePath(QStringLiteral("out.") + QLatin1String(format))).contains("ENDPOINT_SECRET"));
        counts[format] = pathCount(result.err);
    }
    // The report's documents before and after are folded from the frames already counted.
    CHECK(counts["har"] > 0);
    CHECK(counts["markdown"] == counts["har"]);
    CHECK(counts["capture"] == counts["har"]);

    // A capture recorded without its identity: the recorder removed it, and the export says so.
    const QString removed = dir.filePath(QStringLiteral("removed.ndjson"));
    writeCapture(removed, log, header, false);
    const test::CliRun result = runCli({ QStringLiteral("export"), removed, QStringLiteral("--format"), QStringLiteral("markdown"), QStringLiteral("-o"),
        dir.filePath(QStringLiteral("removed.md")) });
    INFO(result.err.toStdString());
    CHECK(result.err.contains(QStringLiteral("redacted identity tokens: removed when the capture was written, by its recorder")));
    CHECK_FALSE(result.err.contains(QStringLiteral("0 known, 0 occurrences")));
}

TEST_CASE("markdown: each anomaly once, at the stream item it concerns, and a repeated quirk as one row with its count")
{
    QTemporaryDir dir;
    EventLog log;
    test::ScriptedStream stream { log };
    stream.start();
    qint64 seq = 2;
    std::vector<qint64> quirks;
    for (int i = 0; i < 300; ++i, ++seq)
        quirks.push_back(stream.add(EventKind::StreamItem, quirkItem(seq), seq));
    // The session logged the quirk once, at its first item, and the missing id: after each item.
    const qint64 recordedQuirk = stream.add(EventKind::FoldAnomaly,
        QByteArray(QByteArray(R"({"anomaly":"value list edited without @s","path":"v","message":"m","event":)") + QByteArray::number(quirks.front())
            + R"(,"quirk":true})"));
    const QByteArray missingPath = "r/" + QByteArray::number(1000 + seq); // as the fold names it
    const qint64 missing = stream.add(EventKind::StreamItem, missingIdItem(seq), seq);
    const qint64 recordedMissing = stream.add(EventKind::FoldAnomaly,
        QByteArray(QByteArray(R"({"anomaly":"id missing from element map","path":")") + missingPath + R"(","message":"m","event":)"
            + QByteArray::number(missing) + "}"));
    const QString report = markdownReport(dir, log);
    const QStringList rows = tableRows(report, QStringLiteral("Anomalies"));
    INFO(rows.join(QLatin1Char('\n')).toStdString());
    CHECK(report.contains(QStringLiteral("at the stream item (event) it concerns")));
    REQUIRE(rows.size() >= 2);
    CHECK(rows[0].startsWith(QStringLiteral("| %1 | %2 | 300 | ").arg(quirks.front()).arg(quirks.back())));
    CHECK(rows[0].contains(QStringLiteral("recorded, replay fold")));
    // The missing id: the recorded row and the fold's are one, at the item, not at the anomaly event.
    REQUIRE(rows.size() == 2);
    CHECK(rows[1].startsWith(QStringLiteral("| %1 |  | 1 | recorded, replay fold | id missing from element map |").arg(missing)));
    for (const QString& row : rows) {
        CHECK_FALSE(row.startsWith(QStringLiteral("| %1 |").arg(recordedQuirk)));
        CHECK_FALSE(row.startsWith(QStringLiteral("| %1 |").arg(recordedMissing)));
    }
}

TEST_CASE("markdown: the timeline excerpt shows incidents first, a quirk once per path and epoch, within a row bound, and says what it left out")
{
    const auto plainItem = [](qint64 seq) -> QByteArray {
        return R"({"deliver":1,"done":false,"response":{"delta":{"data":{"n":)" + QByteArray::number(seq) + R"(},"seq":)" + QByteArray::number(seq) + "}}}";
    };
    SECTION("a ticker's quirk on every delta is one point, not the whole capture")
    {
        QTemporaryDir dir;
        EventLog log;
        test::ScriptedStream stream { log };
        stream.start();
        qint64 first = -1;
        for (qint64 seq = 2; seq < 600; ++seq) {
            const qint64 item = stream.add(EventKind::StreamItem, quirkItem(seq), seq);
            first = first < 0 ? item : first;
        }
        const QStringList rows = tableRows(markdownReport(dir, log), QStringLiteral("Timeline"));
        CHECK(rows.size() <= 2 * 10 + 2);
        CHECK(!rows.filter(QRegularExpression(QStringLiteral("^\\| %1 \\|").arg(first))).isEmpty());
    }
    SECTION("incidents before anomalies, at most 200 rows, and a line naming the events left without an excerpt")
    {
        QTemporaryDir dir;
        EventLog log;
        test::ScriptedStream stream { log };
        stream.start();
        qint64 seq = 2;
        std::vector<qint64> anomalies;
        for (int a = 0; a < 30; ++a) {
            for (int i = 0; i < 40; ++i)
                stream.add(EventKind::StreamItem, plainItem(seq), seq), ++seq;
            anomalies.push_back(stream.add(EventKind::StreamItem, missingIdItem(seq), seq));
            ++seq;
        }
        for (int i = 0; i < 40; ++i)
            stream.add(EventKind::StreamItem, plainItem(seq), seq), ++seq;
        const qint64 incident = stream.add(EventKind::Incident, R"({"incident":1,"verdict":"converged"})");
        const QString report = markdownReport(dir, log);
        const QStringList rows = tableRows(report, QStringLiteral("Timeline"));
        const auto listed = [&rows](qint64 event) { return !rows.filter(QRegularExpression(QStringLiteral("^\\| %1 \\|").arg(event))).isEmpty(); };
        qint64 eventRows = 0;
        for (const QString& row : rows)
            eventRows += !row.startsWith(QLatin1String("| ... |"));
        CHECK(eventRows <= 200);
        CHECK(listed(incident));
        CHECK(listed(anomalies.front()));
        CHECK_FALSE(listed(anomalies.back()));
        const QRegularExpressionMatch note = QRegularExpression(QStringLiteral("No excerpt \\(the timeline stops at 200 rows\\): anomalies at events ([0-9, ]+)\\."))
                                                 .match(report);
        REQUIRE(note.hasMatch());
        const QStringList named = note.captured(1).split(QStringLiteral(", "));
        CHECK(named.contains(QString::number(anomalies.back())));
        for (const qint64 anomaly : anomalies)
            CHECK(listed(anomaly) != named.contains(QString::number(anomaly)));
    }
}

TEST_CASE("markdown: stale paths say when they were measured, the resync's and the incident's")
{
    QTemporaryDir dir;
    EventLog log;
    test::ScriptedStream stream { log };
    stream.start();
    // A resync whose snapshot leaves the record list out: a merging client keeps it.
    const auto add = [&](EventKind kind, QByteArrayView payload, quint16 parts = 0, quint8 flags = 0) {
        SessionEvent event;
        event.kind = kind;
        event.direction = naturalDirection(kind);
        event.monotonicNs = stream.ns += 1000000;
        event.wallMs = 1718000000000 + event.monotonicNs / 1000000;
        event.requestId = 3;
        event.epoch = 2;
        event.parts = parts;
        event.flags = flags;
        return log.append(event, payload);
    };
    add(EventKind::EpochStarted, R"({"epoch":2,"requestId":3})");
    const qint64 snapshot = add(EventKind::StreamItem, R"({"deliver":3,"done":false,"response":{"delta":{"data":{"v":{"0":1,"1":2,"@s":2}},"seq":1}}})",
        PartData | PartSeq, FlagSnapshot);
    add(EventKind::Incident, R"({"incident":1,"verdict":"converged-stale","staleCount":1,"stalePaths":["r"]})");
    const QString report = markdownReport(dir, log);
    INFO(report.toStdString());
    CHECK(report.contains(QStringLiteral("- Stale in a merging client right after the resync snapshot, event %1 (the reference JS client keeps them): r").arg(snapshot)));
    CHECK(report.contains(QStringLiteral("- When the incident closed, stale paths a merging client (the reference JS client) still shows: /r")));
}

TEST_CASE("markdown: the header table lists the range's server versions, and a partial import is a note, not damage")
{
    QTemporaryDir dir;
    EventLog log;
    test::ScriptedStream stream { log };
    stream.start(); // hello "v"
    for (qint64 seq = 2; seq < 10; ++seq)
        stream.add(EventKind::StreamItem, R"({"deliver":1,"done":false,"response":{"delta":{"data":{"n":1}}}})", seq);
    const qint64 second = stream.add(EventKind::Hello, R"({"status":"connected","version":"v2","identities":{}})");
    stream.add(EventKind::Note, R"({"note":"after the second hello"})");
    ExportOptions options;
    options.from = second;
    capture::Header header;
    header.source = QStringLiteral("import-har");
    header.partial = true;
    const QString report = markdownReport(dir, log, options, header);
    INFO(report.toStdString());
    CHECK(report.contains(QStringLiteral("| Server versions (hello) | v2 |\n")));
    CHECK(report.contains(QStringLiteral("| Note | the capture starts mid-stream (import-har)")));
    CHECK_FALSE(report.contains(QStringLiteral("| Capture damage |")));
    options.from = 0;
    options.to = 5;
    CHECK(markdownReport(dir, log, options, header).contains(QStringLiteral("| Server versions (hello) | v |\n")));
    // A range that starts after a hello still names the version in effect.
    options.from = 3;
    options.to = second + 1;
    CHECK(markdownReport(dir, log, options, header).contains(QStringLiteral("| Server versions (hello) | v (from before the range), v2 |\n")));
}

TEST_CASE("cli: replay and fold say that a new epoch has seen no seq yet, not seq -1")
{
    QTemporaryDir dir;
    EventLog log;
    test::ScriptedStream stream { log };
    stream.start();
    SessionEvent epoch;
    epoch.kind = EventKind::EpochStarted;
    epoch.direction = Direction::Local;
    epoch.monotonicNs = stream.ns += 1000000;
    epoch.requestId = 3;
    epoch.epoch = 2;
    const qint64 started = log.append(epoch, R"({"epoch":2,"requestId":3})");
    const QString path = dir.filePath(QStringLiteral("c.ndjson"));
    writeCapture(path, log, {}, true);
    const test::CliRun replayed = runCli({ QStringLiteral("replay"), path, QStringLiteral("--to"), QString::number(started), QStringLiteral("--quiet") });
    INFO(replayed.err.toStdString());
    CHECK(replayed.code == 0);
    CHECK(replayed.err.contains(QStringLiteral("epoch 2, no seq seen yet in this epoch, ")));
    CHECK_FALSE(replayed.err.contains(QStringLiteral("seq -1")));
    const test::CliRun folded = runCli({ QStringLiteral("fold"), path, QStringLiteral("--at"), QString::number(started) });
    INFO(folded.err.toStdString());
    CHECK(folded.err.contains(QStringLiteral("(epoch 2, no seq seen yet in this epoch)")));
    // With one seen, it is named.
    CHECK(runCli({ QStringLiteral("fold"), path, QStringLiteral("--at"), QString::number(started - 1) }).err.contains(QStringLiteral("(epoch 1, seq 1)")));
}

TEST_CASE("redaction: identity tokens go whatever their order and spelling, and a HAR note before the request loses its token")
{
    capture::IdentityRedactor redactor;
    redactor.redact(R"({"method":"connection/create","id":1,"identity":"anonymous:bo"})", true);
    redactor.redact(R"({"method":"connection/create","id":2,"identity":"anonymous:bob_PREFIX_SECRET"})", true);
    // The shorter token is a prefix of the longer one: the longer goes first, whole.
    const QByteArray both = redactor.redact(R"({"note":"anonymous:bob_PREFIX_SECRET and anonymous:bo"})", false);
    CHECK_FALSE(both.contains("PREFIX_SECRET"));
    CHECK(both.contains("[redacted identity 2] and [redacted identity 1]"));
    // Another tool's spelling of the identity field ("\/" for '/').
    capture::IdentityRedactor slashes;
    const QByteArray request = slashes.redact(R"({"method":"connection/create","identity":"ESC\/SLASH_SECRET","id":3})", true);
    CHECK_FALSE(request.contains("SLASH_SECRET"));
    CHECK(request == QByteArray(R"({"method":"connection/create","identity":"[redacted identity 1]","id":3})"));
    CHECK(slashes.redact("then ESC/SLASH_SECRET again", false) == QByteArray("then [redacted identity 1] again"));
    // A URL's query holds it %-encoded, in either case of hex digit.
    capture::IdentityRedactor encoded;
    encoded.addToken("anonymous:alice");
    CHECK(encoded.redact("opening ws://h/~s?identity=anonymous%3Aalice&x=1", false) == QByteArray("opening ws://h/~s?identity=[redacted identity 1]&x=1"));
    CHECK(encoded.redact("ws://h/~s?identity=anonymous%3aalice", false) == QByteArray("ws://h/~s?identity=[redacted identity 1]"));

    // Any other escapes another tool chose, in any string: the string is read as JSON and written again.
    const QByteArray escapedForms = R"({"a":"anonymous:\u0061lice","b":"anonymous\u003aalice!","c":["x \"q\" anonymous:alic\u0065"],"d":"anonymous:alice\n"})";
    const QByteArray unescaped = encoded.redact(escapedForms, false);
    INFO(unescaped.toStdString());
    CHECK(unescaped == QByteArray(R"({"a":"[redacted identity 1]","b":"[redacted identity 1]!","c":["x \"q\" [redacted identity 1]"],"d":"[redacted identity 1]\n"})"));
    CHECK(encoded.redact(R"({"other":"an\u006eonymous","n":"\n"})", false) == QByteArray(R"({"other":"an\u006eonymous","n":"\n"})"));
    // Spellings simdjson refuses but a reader still shows: a lone surrogate escape, a byte that is
    // not UTF-8 (each read as U+FFFD), next to the escaped token.
    const QByteArray surrogate = encoded.redact(R"({"a":"\ud800 anonymous:\u0061lice"})", false);
    CHECK_FALSE(surrogate.contains("alice"));
    CHECK(surrogate == QByteArray("{\"a\":\"\xEF\xBF\xBD [redacted identity 1]\"}"));
    const QByteArray badByte = encoded.redact("{\"a\":\"\xFF anonymous:\\u0061lice\"}", false);
    CHECK_FALSE(badByte.contains("alice"));
    CHECK(badByte == QByteArray("{\"a\":\"\xEF\xBF\xBD [redacted identity 1]\"}"));
    // JSON quoted in a string, the token escaped at the inner level.
    const QByteArray twice = encoded.redact(R"({"log":"{\"identity\":\"anonymous:\\u0061lice\"}"})", false);
    INFO(twice.toStdString());
    CHECK_FALSE(twice.contains("alice"));
    CHECK(twice == QByteArray(R"({"log":"{\"identity\":\"[redacted identity 1]\"}"})"));
    // Text that is not JSON, with an odd quote before the token's string.
    CHECK(encoded.redact(R"(say "hi, token "anonymous:\u0061lice" end)", false) == QByteArray(R"(say "hi, token "[redacted identity 1]" end)"));

    // A URL that names the token in its query (a HAR that starts mid-session never shows a create).
    capture::IdentityRedactor fromUrl;
    fromUrl.learnFromUrl("wss://example.com/~s?x=1&identity=anonymous%3Ahar-secret-token#top");
    CHECK(fromUrl.tokenCount() == 1);
    CHECK(fromUrl.redact(R"({"error":"bad token anonymous:har-secret-token"})", false) == QByteArray(R"({"error":"bad token [redacted identity 1]"})"));
    capture::IdentityRedactor noQuery;
    noQuery.learnFromUrl("wss://example.com/~s?id=anonymous%3Ax#identity=y");
    CHECK(noQuery.tokenCount() == 0);
    // What an earlier export left in the URL is a placeholder, not a token.
    noQuery.learnFromUrl("wss://example.com/~s?identity=[redacted]&x=%5Bredacted%20identity%201%5D");
    CHECK(noQuery.tokenCount() == 0);

    // A request's passwords go too; a document's field of that name is the user's to list.
    QByteArray passwordRequest = R"({"method":"connection/password","id":4,"connection":1,"username":"u","password":"PW_SECRET" ,"new_password":"NEW\"SECRET"})";
    CHECK(capture::redactPasswords(passwordRequest) == 2);
    CHECK(passwordRequest == QByteArray(R"({"method":"connection/password","id":4,"connection":1,"username":"u","password":"[redacted]" ,"new_password":"[redacted]"})"));
    QByteArray hash = R"({"method":"documents/hash-password","id":5,"password":"HASH_ME"})";
    CHECK(capture::redactPasswords(hash) == 1);
    CHECK_FALSE(hash.contains("HASH_ME"));
    QByteArray hashAnswer = R"({"deliver":5,"done":true,"response":{"passwordHash":"SALTED_HASH"}})";
    CHECK(capture::redactPasswords(hashAnswer) == 1);
    CHECK(hashAnswer == QByteArray(R"({"deliver":5,"done":true,"response":{"passwordHash":"[redacted]"}})"));
    QByteArray notRequest = R"({"deliver":1,"response":{"delta":{"data":{"password":"doc"}}},"password":"top"})";
    CHECK(capture::redactPasswords(notRequest) == 0);
    QByteArray documentData = R"({"method":"card","id":3,"password":"the user's to list"})";
    CHECK(capture::redactPasswords(documentData) == 0);
    // Whatever the value is, all of it goes, and the JSON stays JSON.
    QByteArray shaped = R"({"method":"connection/password","id":2,"password":["hunter2"],"new_password":{"p":"hunter3"},"username":null})";
    CHECK(capture::redactPasswords(shaped) == 2);
    CHECK(shaped == QByteArray(R"({"method":"connection/password","id":2,"password":"[redacted]","new_password":"[redacted]","username":null})"));
    // A request that is not JSON all through still loses what looks like its password.
    QByteArray cut = R"({"method":"connection/password","id":1,"password":"pw\"x","new_password":"np","x":})";
    CHECK(capture::redactPasswords(cut) == 2);
    CHECK(cut == QByteArray(R"({"method":"connection/password","id":1,"password":"[redacted]","new_password":"[redacted]","x":})"));

    // CaptureWriter::writeLog (what a HAR import writes with): every token is learned first.
    EventLog log;
    SessionEvent noteEvent;
    noteEvent.kind = EventKind::Note;
    noteEvent.direction = Direction::Local;
    log.append(noteEvent, R"({"note":"WebSocket error recorded in the HAR: handshake for HARTOK_SECRET failed"})");
    SessionEvent create;
    create.kind = EventKind::Request;
    create.direction = Direction::Outbound;
    log.append(create, R"({"method":"connection/create","id":1,"identity":"HARTOK_SECRET","space":"s","key":"k"})");
    SessionEvent unknown;
    unknown.kind = EventKind::UnknownOutbound;
    unknown.direction = Direction::Outbound;
    log.append(unknown, R"({"identity":"BINTOK_SECRET","odd":true})");
    capture::Header header;
    header.endpoint = QStringLiteral("ws://h/~s?identity=HARTOK_SECRET");
    header.notes = QStringLiteral("imported; the first request used BINTOK_SECRET");
    QBuffer out;
    out.open(QIODevice::WriteOnly);
    REQUIRE(CaptureWriter::writeLog(log, header, out, false));
    const QByteArray written = out.data();
    CHECK_FALSE(written.contains("HARTOK_SECRET"));
    CHECK_FALSE(written.contains("BINTOK_SECRET"));
    CHECK(written.contains("[redacted identity"));
}

TEST_CASE("redaction: URLs quoted in payloads and notes, the trimmed header, and payloads the paths cannot be looked for in")
{
    QTemporaryDir dir;
    const QString path = dir.filePath(QStringLiteral("quoted.ndjson"));
    EventLog log;
    fillSyntheticSession(log, 40);
    const auto appendLocal = [&log](EventKind kind, const QByteArray& fields) {
        SessionEvent event;
        event.kind = kind;
        event.direction = Direction::Local;
        event.monotonicNs = log.at(log.size() - 1).monotonicNs + 1;
        event.wallMs = log.at(log.size() - 1).wallMs + 1;
        log.append(event, fields);
    };
    // The client's own spelling of the endpoint (no user info) and a URL that is not the endpoint.
    appendLocal(EventKind::StateChanged, R"({"from":"idle","to":"connecting","reason":"opening ws://127.0.0.1:1/~s?apikey=GUI_SECRET"})");
    appendLocal(EventKind::Note, R"({"note":"opening ws://127.0.0.1:1/~s?identity=anonymous:URLTOK_SECRET&apikey=API2_SECRET"})");
    // A known token %-encoded in a URL, a secret after it: the token's placeholder has spaces,
    // and the URL must not end there.
    appendLocal(EventKind::Note, R"({"note":"handshake https://h/~s?identity=anonymous%3Asecret-agent&token=AFTER_TOKEN_SECRET"})");
    // Frames the --redact paths cannot be looked for in: cut short, and nested past the rewrite.
    SessionEvent malformed;
    malformed.kind = EventKind::MalformedInbound;
    malformed.direction = Direction::Inbound;
    malformed.monotonicNs = log.at(log.size() - 1).monotonicNs + 1;
    log.append(malformed, R"({"deliver":1,"response":{"delta":{"data":{"players":{"1":{"email":"MALFORMED_EMAIL_SECRET")");
    QByteArray deep = R"({"message":{"password":"DEEP_PW_SECRET","blob":)";
    deep += QByteArray(600, '[') + QByteArray(600, ']') + "}}";
    SessionEvent deepEvent = malformed;
    deepEvent.kind = EventKind::UnknownInbound;
    log.append(deepEvent, deep);
    capture::Header header;
    header.endpoint = QStringLiteral("ws://ann:pw-secret@127.0.0.1:1/~s?apikey=GUI_SECRET");
    header.space = QStringLiteral("chat");
    header.key = QStringLiteral("demo");
    header.notes = QStringLiteral("handshake URL http://127.0.0.1:1/~s?session=HARQ_SECRET");
    header.extra = QJsonObject { { QStringLiteral("futureField"), QStringLiteral("see wss://h/~s?k=FUTURE_HDR_SECRET") } };
    writeCapture(path, log, header, true);

    for (const char* format : { "har", "ndjson", "markdown", "capture" }) {
        INFO(format);
        const QString out = dir.filePath(QStringLiteral("out.") + QLatin1String(format));
        test::CliRun result = runCli({ QStringLiteral("export"), path, QStringLiteral("--format"), QLatin1String(format), QStringLiteral("--redact"),
            QStringLiteral("players/*/email,password"), QStringLiteral("-o"), out });
        INFO(result.err.toStdString());
        REQUIRE(result.code == 0);
        const QByteArray bytes = test::readFileOrFail(out);
        for (const char* secret : { "GUI_SECRET", "URLTOK_SECRET", "API2_SECRET", "MALFORMED_EMAIL_SECRET", "DEEP_PW_SECRET", "HARQ_SECRET",
                 "FUTURE_HDR_SECRET", "pw-secret", "AFTER_TOKEN_SECRET" }) {
            INFO(secret);
            CHECK_FALSE(bytes.contains(secret));
        }
        if (QLatin1String(format) == QLatin1String("har") || QLatin1String(format) == QLatin1String("capture")) {
            // Both frames above and the synthetic session's binary frame: withheld, and said so.
            CHECK(bytes.contains("[withheld: --redact paths cannot be looked for"));
            CHECK(result.err.contains(QStringLiteral("3 payloads withheld whole")));
        }
        // The count of a path counts only values that left: the withheld ones are not among them.
        CHECK(result.err.contains(QStringLiteral("path password: 0 values replaced")));
    }
    // Without --redact paths nothing is withheld: the malformed frame is kept, its URL-free text intact.
    const QString har = dir.filePath(QStringLiteral("plain.har"));
    test::CliRun plain = runCli({ QStringLiteral("export"), path, QStringLiteral("--format"), QStringLiteral("har"), QStringLiteral("-o"), har });
    REQUIRE(plain.code == 0);
    CHECK(test::readFileOrFail(har).contains("MALFORMED_EMAIL_SECRET"));
    CHECK_FALSE(plain.err.contains(QStringLiteral("withheld")));
}

TEST_CASE("fold cli: a capture however its header is spaced, and damaged lines stop it unless --keep-going")
{
    QTemporaryDir dir;
    const QString path = dir.filePath(QStringLiteral("plain.ndjson"));
    QByteArray raw = writeSynthetic(path, false);
    const test::CliRun plain = runCli({ QStringLiteral("fold"), path });
    REQUIRE(plain.code == cli::ExitOk);
    // Another tool re-serialised the header with spaces: still a capture, folded by its events.
    QByteArray spaced = raw;
    REQUIRE(spaced.contains("\"format\":\"deltascope-capture\""));
    spaced.replace("\"format\":\"deltascope-capture\"", "\"format\" : \"deltascope-capture\"");
    const QString spacedPath = dir.filePath(QStringLiteral("spaced.ndjson"));
    REQUIRE(writeFile(spacedPath, spaced));
    const test::CliRun respaced = runCli({ QStringLiteral("fold"), spacedPath });
    CHECK(respaced.code == cli::ExitOk);
    CHECK(respaced.out == plain.out);
    // A damaged line in the middle.
    const qsizetype middle = raw.indexOf('\n', raw.size() / 2) + 1;
    raw.insert(middle, "{\"i\":broken\n");
    const QString damaged = dir.filePath(QStringLiteral("damaged.ndjson"));
    REQUIRE(writeFile(damaged, raw));
    const test::CliRun stopped = runCli({ QStringLiteral("fold"), damaged });
    CHECK(stopped.code == cli::ExitUsage);
    CHECK(stopped.out.isEmpty());
    CHECK(stopped.err.contains(QStringLiteral("lost events at 1 place (damaged or missing lines); stopped (use --keep-going")));
    // Notes that lose nothing do not stop it: an event kind of a newer version, kept as a note.
    QByteArray newerKind = test::readFileOrFail(path);
    REQUIRE(newerKind.contains("\"kind\":\"pong\""));
    newerKind.replace("\"kind\":\"pong\"", "\"kind\":\"hologram\"");
    const QString noted = dir.filePath(QStringLiteral("noted.ndjson"));
    REQUIRE(writeFile(noted, newerKind));
    const test::CliRun notedFold = runCli({ QStringLiteral("fold"), noted });
    CHECK(notedFold.code == cli::ExitOk);
    CHECK(notedFold.err.contains(QStringLiteral("hologram")));
    const test::CliRun kept = runCli({ QStringLiteral("fold"), damaged, QStringLiteral("--keep-going") });
    CHECK(kept.code == cli::ExitOk);
    CHECK(kept.out == plain.out);

    // A .zst capture damaged part-way loses what follows the damage: that stops it too, said as
    // damage, not as a recorder that was cut off.
    const QByteArray text = test::readFileOrFail(path);
    const qsizetype half = text.indexOf('\n', text.size() / 2) + 1;
    const QByteArray firstFrame = capture::compressZstd(text.left(half));
    QByteArray secondFrame = capture::compressZstd(text.mid(half));
    secondFrame[secondFrame.size() / 2] = char(secondFrame[secondFrame.size() / 2] ^ 0x55);
    const QString corrupted = dir.filePath(QStringLiteral("corrupted.ndjson.zst"));
    REQUIRE(writeFile(corrupted, firstFrame + secondFrame));
    const test::CliRun corruptedFold = runCli({ QStringLiteral("fold"), corrupted });
    INFO(corruptedFold.err.toStdString());
    CHECK(corruptedFold.code == cli::ExitUsage);
    CHECK(corruptedFold.out.isEmpty());
    CHECK(corruptedFold.err.contains(QStringLiteral("the compressed stream is damaged (")));
    CHECK(corruptedFold.err.contains(QStringLiteral("its compressed stream is damaged (said below), and what it held after the damage is lost")));
    CHECK_FALSE(corruptedFold.err.contains(QStringLiteral("the recorder crashed")));
    CHECK(corruptedFold.err.contains(QStringLiteral("lost events at 1 place (its compressed stream is damaged); stopped (use --keep-going")));
    const test::CliRun corruptedKept = runCli({ QStringLiteral("fold"), corrupted, QStringLiteral("--keep-going") });
    CHECK(corruptedKept.code == cli::ExitOk);
    CHECK_FALSE(corruptedKept.out.isEmpty());
    // Bytes after a whole capture (zero fill after a crash, a note appended): nothing of it is lost.
    const QString padded = dir.filePath(QStringLiteral("padded.ndjson.zst"));
    REQUIRE(writeFile(padded, capture::compressZstd(text) + QByteArray(64, '\0')));
    const test::CliRun paddedFold = runCli({ QStringLiteral("fold"), padded });
    INFO(paddedFold.err.toStdString());
    CHECK(paddedFold.code == cli::ExitOk);
    CHECK(paddedFold.out == plain.out);
    // Cut where a recorder stopped (no damage, only an unfinished frame): that folds, as a cut plain capture does.
    const QString cutOff = dir.filePath(QStringLiteral("cut.ndjson.zst"));
    REQUIRE(writeFile(cutOff, firstFrame + capture::compressZstd(text.mid(half)).left(40)));
    const test::CliRun cutFold = runCli({ QStringLiteral("fold"), cutOff });
    CHECK(cutFold.code == cli::ExitOk);
    CHECK(cutFold.err.contains(QStringLiteral("the recorder crashed")));
}

namespace {
// `deltascope-cli record` of the server's ticker into `path`, for a minute unless stopped.
void startRecorder(QProcess& recorder, const server::ReferenceServer& server, const QString& path)
{
    recorder.setProgram(test::executablePath(QStringLiteral("deltascope-cli")));
    recorder.setArguments({ QStringLiteral("record"), server.url(), QStringLiteral("--identity"), QStringLiteral("anonymous:recorder"),
        QStringLiteral("--space"), QStringLiteral("ticker"), QStringLiteral("--key"), QStringLiteral("demo"), QStringLiteral("--quiet"),
        QStringLiteral("--duration"), QStringLiteral("60"), QStringLiteral("--out"), path });
    recorder.start();
    REQUIRE(recorder.waitForStarted(5000));
}
}

TEST_CASE("crash safety: a recorder killed with SIGKILL leaves a capture that opens with a cut-off notice")
{
    server::ServerOptions options;
    options.tickerRate = 300;
    server::ReferenceServer server(options);
    REQUIRE(server.listen() != 0);
    QTemporaryDir dir;
    const QString path = dir.filePath(QStringLiteral("killed.ndjson"));
    QProcess recorder;
    startRecorder(recorder, server, path);
    // Long enough for the ticker's in-place value edit (a reference-client quirk) to come twice or more.
    REQUIRE(wait(
        [&] {
            const server::DemoDocument* ticker = server.document(QStringLiteral("ticker"), QStringLiteral("demo"));
            return QFile(path).size() > 60000 && ticker && ticker->seq() > 3 * server::TickerDocument::kValueEditEvery;
        },
        20000));
    recorder.kill(); // SIGKILL on Unix
    REQUIRE(recorder.waitForFinished(5000));
    CHECK(recorder.exitStatus() == QProcess::CrashExit);
    QString error;
    std::unique_ptr<Capture> capture = CaptureReader::open(path, {}, &error);
    REQUIRE(capture);
    CHECK(capture->log->size() > 100);
    CHECK_FALSE(capture->closedCleanly);
    CHECK(capture->diagnostics.empty());
    CHECK(capture->notices().join(QLatin1Char('\n')).contains(QStringLiteral("cut off")));
    const test::CliRun info = runCli({ QStringLiteral("info"), path });
    CHECK(info.code == 0);
    CHECK(info.err.contains(QStringLiteral("cut off")));
    CHECK(info.out.contains(QStringLiteral("closed cleanly    no")));
    // The ticker edits a value list in place (without @s) every kValueEditEvery ticks: logged live once per path, counted
    // by the replay fold each time, and the count by kind says why the two differ.
    CHECK(info.out.contains(QStringLiteral("(as logged live: a reference-client quirk once per path and epoch; the replay fold below counts each)")));
}

TEST_CASE("record: SIGTERM (what timeout and CI runners send) ends the recording cleanly, exit 0")
{
    server::ServerOptions options;
    options.tickerRate = 100;
    server::ReferenceServer server(options);
    REQUIRE(server.listen() != 0);
    QTemporaryDir dir;
    const QString path = dir.filePath(QStringLiteral("terminated.ndjson"));
    QProcess recorder;
    startRecorder(recorder, server, path);
    REQUIRE(wait([&] { return QFile(path).size() > 5000; }, 20000));
    recorder.terminate(); // SIGTERM on Unix
    REQUIRE(wait([&] { return recorder.state() == QProcess::NotRunning; }, 10000));
    CHECK(recorder.exitStatus() == QProcess::NormalExit);
    CHECK(recorder.exitCode() == 0);
    CHECK(QString::fromUtf8(recorder.readAllStandardOutput()).contains(QStringLiteral("terminated (SIGTERM)")));
    QString error;
    std::unique_ptr<Capture> capture = CaptureReader::open(path, {}, &error);
    REQUIRE(capture);
    CHECK(capture->closedCleanly);
    CHECK(capture->notices().isEmpty());
}

TEST_CASE("record: new capture names are reserved, so two recorders in the same second never share a file")
{
    QTemporaryDir dir;
    const QDateTime when = QDateTime::fromMSecsSinceEpoch(1718000000000, QTimeZone::utc());
    const QString first = CaptureWriter::newCapturePath(dir.path(), QStringLiteral("chat"), QStringLiteral("demo"), when);
    const QString second = CaptureWriter::newCapturePath(dir.path(), QStringLiteral("chat"), QStringLiteral("demo"), when);
    const QString third = CaptureWriter::newCapturePath(dir.path(), QStringLiteral("chat"), QStringLiteral("demo"), when, true);
    CHECK(QFileInfo(first).fileName() == QStringLiteral("2024-06-10_06-13-20_chat_demo.ndjson"));
    CHECK(QFileInfo(second).fileName() == QStringLiteral("2024-06-10_06-13-20_chat_demo-2.ndjson"));
    CHECK(QFileInfo(third).fileName() == QStringLiteral("2024-06-10_06-13-20_chat_demo.ndjson.zst"));
    // Taken at once, before any recorder writes: the next caller cannot choose them.
    CHECK(QFileInfo::exists(first));
    CHECK(QFileInfo::exists(second));
    // A recording that did not start gives its name back; a file with anything in it stays.
    CaptureWriter::releaseCapturePath(second);
    CHECK_FALSE(QFileInfo::exists(second));
    {
        QFile written(first);
        REQUIRE(written.open(QIODevice::WriteOnly));
        written.write("{}\n");
    }
    CaptureWriter::releaseCapturePath(first);
    CHECK(QFileInfo::exists(first));
}

TEST_CASE("cli: info words each incident as the window does, not as raw JSON")
{
    QTemporaryDir dir;
    const QString path = dir.filePath(QStringLiteral("incident.ndjson"));
    EventLog log;
    fillSyntheticSession(log, 20);
    SessionEvent incident;
    incident.kind = EventKind::Incident;
    incident.direction = Direction::Local;
    incident.monotonicNs = log.at(log.size() - 1).monotonicNs + 1000;
    incident.wallMs = log.at(log.size() - 1).wallMs + 1;
    log.append(incident,
        R"({"incident":3,"verdict":"converged","verified":true,"trigger":"fault drop","openedAtEvent":7,"faults":[{"fault":"drop","atMs":0}],)"
        R"("detection":{"afterMs":4.5,"how":"socket closed","reason":"RST"},"notes":["resync took one snapshot"]})");
    capture::Header header;
    header.space = QStringLiteral("chat");
    header.key = QStringLiteral("demo");
    writeCapture(path, log, header, false);

    const test::CliRun info = runCli({ QStringLiteral("info"), path });
    REQUIRE(info.code == 0);
    INFO(info.out.toStdString());
    CHECK(info.out.contains(QStringLiteral("incidents: 1\n  event %1: incident #3\n").arg(log.size() - 1)));
    CHECK(info.out.contains(QStringLiteral("\n    Verdict: converged (checked against a fresh snapshot over a second connection)\n")));
    CHECK(info.out.contains(QStringLiteral("\n    Trigger: fault drop, at event 7\n")));
    CHECK(info.out.contains(QStringLiteral("\n    Noticed by the client after 4.5 ms, by socket closed (RST)\n")));
    CHECK(info.out.contains(QStringLiteral("\n    Note: resync took one snapshot\n")));
    CHECK_FALSE(info.out.contains(QStringLiteral("\"verdict\"")));
}

TEST_CASE("cli: info, replay, import and export report bad input with what and where")
{
    QTemporaryDir dir;
    const QString path = dir.filePath(QStringLiteral("c.ndjson"));
    writeSynthetic(path, false);

    test::CliRun info = runCli({ QStringLiteral("info"), path });
    REQUIRE(info.code == 0);
    CHECK(info.out.contains(QStringLiteral("stream-item")));
    CHECK(info.out.contains(QStringLiteral("epochs: 1")));
    CHECK(info.out.contains(QStringLiteral("identity          removed")));

    test::CliRun replay = runCli({ QStringLiteral("replay"), path, QStringLiteral("--to-seq"), QStringLiteral("101"), QStringLiteral("--quiet") });
    REQUIRE(replay.code == 0);
    CHECK(QJsonDocument::fromJson(replay.out.toUtf8()).object().value(QStringLiteral("n")).toInt() == 100);
    CHECK(runCli({ QStringLiteral("replay"), path, QStringLiteral("--to"), QStringLiteral("999999") }).code == cli::ExitUsage);
    // fold on a capture: --at counts events.
    const qint64 seq101 = [&] {
        QString error;
        std::unique_ptr<Capture> capture = CaptureReader::open(path, {}, &error);
        return capture->log->streamItemWithSeq(101, 1);
    }();
    test::CliRun fold = runCli({ QStringLiteral("fold"), path, QStringLiteral("--at"), QString::number(seq101) });
    REQUIRE(fold.code == 0);
    CHECK(QJsonDocument::fromJson(fold.out.toUtf8()).object().value(QStringLiteral("n")).toInt() == 100);
    // Past the end: the whole capture and a note, as for plain deltas.
    const test::CliRun pastEnd = runCli({ QStringLiteral("fold"), path, QStringLiteral("--at"), QStringLiteral("999999") });
    CHECK(pastEnd.code == cli::ExitOk);
    CHECK(pastEnd.err.contains(QStringLiteral("(asked --at 999999); printed the document after all of them")));
    CHECK(pastEnd.out == runCli({ QStringLiteral("fold"), path }).out);
    CHECK(runCli({ QStringLiteral("replay"), path, QStringLiteral("--speed"), QStringLiteral("100") }).code == cli::ExitUsage);
    const test::CliRun strayOption = runCli({ QStringLiteral("replay"), path, QStringLiteral("--out"), dir.filePath(QStringLiteral("x.ndjson")) });
    CHECK(strayOption.code == cli::ExitUsage);
    CHECK(strayOption.err.contains(QStringLiteral("--out only applies with --against URL")));
    test::CliRun played = runCli({ QStringLiteral("replay"), path, QStringLiteral("--speed"), QStringLiteral("50"), QStringLiteral("--to"),
        QStringLiteral("30"), QStringLiteral("--no-document") });
    CHECK(played.code == 0);
    CHECK(played.out.count(QLatin1Char('\n')) == 31);
    CHECK(replay.err.contains(QStringLiteral("at event ")));

    // A capture cut off before its first event: nothing to be "at".
    const QString headerOnly = dir.filePath(QStringLiteral("header-only.ndjson"));
    const QByteArray full = test::readFileOrFail(path);
    REQUIRE(writeFile(headerOnly, full.left(full.indexOf('\n') + 1)));
    const test::CliRun empty = runCli({ QStringLiteral("replay"), headerOnly, QStringLiteral("--quiet") });
    CHECK(empty.code == 0);
    CHECK(empty.err.contains(QStringLiteral("the capture holds no events")));
    CHECK_FALSE(empty.err.contains(QStringLiteral("event -1")));
    CHECK(empty.out.trimmed() == QStringLiteral("{}"));

    const QString damaged = dir.filePath(QStringLiteral("damaged.ndjson"));
    QByteArray bytes = test::readFileOrFail(path);
    bytes.insert(bytes.indexOf('\n') + 1, "{broken\n");
    REQUIRE(writeFile(damaged, bytes));
    test::CliRun damagedInfo = runCli({ QStringLiteral("info"), damaged });
    CHECK(damagedInfo.code == 0);
    CHECK(damagedInfo.err.contains(QStringLiteral("line 2")));
    CHECK(damagedInfo.out.contains(QStringLiteral("damage: 1 (described on stderr)")));
    CHECK(info.out.contains(QStringLiteral("\ndamage: none\n")));
    // Every event lost to damage is not an empty recording: replay and export fail alike (info describes it).
    const QString allLost = dir.filePath(QStringLiteral("all-lost.ndjson"));
    REQUIRE(writeFile(allLost, full.left(full.indexOf('\n') + 1) + "{broken\n{\"index\":\n{also broken}\n"));
    const test::CliRun allLostReplay = runCli({ QStringLiteral("replay"), allLost, QStringLiteral("--quiet") });
    CHECK(allLostReplay.code == cli::ExitFailure);
    CHECK(allLostReplay.err.contains(QStringLiteral("damage lost every event (described above); nothing to replay")));
    CHECK(runCli({ QStringLiteral("export"), allLost, QStringLiteral("--format"), QStringLiteral("ndjson"), QStringLiteral("-o"),
                  dir.filePath(QStringLiteral("all-lost-export.ndjson")) })
              .code
        == cli::ExitFailure);
    CHECK(runCli({ QStringLiteral("info"), allLost }).code == cli::ExitOk);
    // A last line cut off mid-write is not damage, and "damage: none" alone read as if nothing was missing.
    const QString cutOff = dir.filePath(QStringLiteral("cut-off.ndjson"));
    REQUIRE(writeFile(cutOff, full.chopped(20)));
    const test::CliRun cutOffInfo = runCli({ QStringLiteral("info"), cutOff });
    CHECK(cutOffInfo.code == 0);
    CHECK(cutOffInfo.out.contains(QStringLiteral("cut off           the last line, mid-write")));
    CHECK(cutOffInfo.out.contains(QStringLiteral("\ndamage: none before the cut-off last line\n")));

    // An edited capture whose last event is timed before its first: the duration is the span from
    // the earliest to the latest event and says so, never a negative number.
    {
        const QByteArray original = test::readFileOrFail(path);
        const QList<QByteArray> lines = original.split('\n');
        qsizetype last = lines.size() - 1;
        while (last > 0 && !lines[last].startsWith("{\"index\":"))
            --last;
        const qsizetype nsAt = lines[last].indexOf("\"ns\":");
        REQUIRE(nsAt > 0);
        const qsizetype nsEnd = lines[last].indexOf(',', nsAt);
        const auto nsOf = [](const QByteArray& line) {
            const qsizetype at = line.indexOf("\"ns\":");
            return line.mid(at + 5, line.indexOf(',', at) - at - 5).toLongLong();
        };
        qint64 latestNs = 0; // of the events left as they are; the edited one becomes the earliest
        for (qsizetype i = 0; i < last; ++i) {
            if (lines[i].startsWith("{\"index\":"))
                latestNs = std::max(latestNs, nsOf(lines[i]));
        }
        REQUIRE(nsOf(lines[last]) > 1000000);
        QByteArray edited = lines[last];
        edited.replace(nsAt, nsEnd - nsAt, "\"ns\":0");
        QByteArray bytes = original;
        bytes.replace(lines[last], edited);
        const QString backwards = dir.filePath(QStringLiteral("backwards.ndjson"));
        REQUIRE(writeFile(backwards, bytes));
        const test::CliRun backwardsInfo = runCli({ QStringLiteral("info"), backwards });
        CHECK(backwardsInfo.code == 0);
        CHECK(backwardsInfo.err.contains(QStringLiteral("time goes backwards")));
        const QString duration = backwardsInfo.out.section(QStringLiteral("duration"), 1, 1).section(QLatin1Char('\n'), 0, 0).trimmed();
        CHECK(duration == QStringLiteral("%1 s (earliest to latest event: times go backwards, see the diagnostics above)")
                              .arg(double(latestNs) / 1e9, 0, 'f', 3));
        const QString plain = info.out.section(QStringLiteral("duration"), 1, 1).section(QLatin1Char('\n'), 0, 0).trimmed();
        CHECK(plain.endsWith(QStringLiteral(" s")));
        CHECK_FALSE(plain.contains(QStringLiteral("backwards")));
    }

    const QString garbage = dir.filePath(QStringLiteral("garbage.bin"));
    REQUIRE(writeFile(garbage, QByteArray("\x00\x01\x02\x03garbage", 11)));
    test::CliRun garbageInfo = runCli({ QStringLiteral("info"), garbage });
    CHECK(garbageInfo.code == cli::ExitFailure);
    CHECK(garbageInfo.err.contains(garbage));

    CHECK(runCli({ QStringLiteral("export"), path, QStringLiteral("--format"), QStringLiteral("pdf"), QStringLiteral("-o"), QStringLiteral("x") }).code
        == cli::ExitUsage);
    CHECK(runCli({ QStringLiteral("export"), path, QStringLiteral("--format"), QStringLiteral("har"), QStringLiteral("-o"), path }).code
        == cli::ExitUsage);
    // Ranges are usage: inverted, or past the end, each said in the user's terms.
    const test::CliRun inverted = runCli({ QStringLiteral("export"), path, QStringLiteral("--format"), QStringLiteral("har"), QStringLiteral("--from"),
        QStringLiteral("9"), QStringLiteral("--to"), QStringLiteral("3"), QStringLiteral("-o"), dir.filePath(QStringLiteral("x.har")) });
    CHECK(inverted.code == cli::ExitUsage);
    CHECK(inverted.err.contains(QStringLiteral("--from 9 is after --to 3")));
    const test::CliRun exportPastEnd = runCli({ QStringLiteral("export"), path, QStringLiteral("--format"), QStringLiteral("har"), QStringLiteral("--from"),
        QStringLiteral("100000"), QStringLiteral("-o"), dir.filePath(QStringLiteral("x.har")) });
    CHECK(exportPastEnd.code == cli::ExitUsage);
    CHECK(exportPastEnd.err.contains(QStringLiteral("--from 100000 is past the end: the capture has events 0..")));
    // A capture of no events (a header only) has nothing to export: a failure, not a usage error.
    const QString onlyHeader = dir.filePath(QStringLiteral("only-header.ndjson"));
    REQUIRE(writeFile(onlyHeader, test::readFileOrFail(path).split('\n').first() + '\n'));
    const test::CliRun exportEmpty = runCli({ QStringLiteral("export"), onlyHeader, QStringLiteral("--format"), QStringLiteral("har"), QStringLiteral("-o"),
        dir.filePath(QStringLiteral("x.har")) });
    CHECK(exportEmpty.code == cli::ExitFailure);
    CHECK(exportEmpty.err.contains(QStringLiteral("holds no events; nothing to export")));
    // A ".zst" output is compressed, as its name says: it opens as a capture again.
    const QString zst = dir.filePath(QStringLiteral("trim.ndjson.zst"));
    REQUIRE(runCli({ QStringLiteral("export"), path, QStringLiteral("--format"), QStringLiteral("capture"), QStringLiteral("-o"), zst }).code == 0);
    CHECK(capture::startsLikeZstd(test::readFileOrFail(zst).left(4)));
    QString zstError;
    CHECK(CaptureReader::open(zst, {}, &zstError) != nullptr);
    test::CliRun notHar = runCli({ QStringLiteral("import"), path, QStringLiteral("-o"), dir.filePath(QStringLiteral("i.ndjson")) });
    CHECK(notHar.code == cli::ExitFailure);
    CHECK(notHar.err.contains(QStringLiteral("HAR")));
    test::CliRun harAsCapture = runCli({ QStringLiteral("info"), test::sourceDir() + QStringLiteral("/tests/data/chromium-websocket.har") });
    CHECK(harAsCapture.code == cli::ExitFailure);
    CHECK(harAsCapture.err.contains(QStringLiteral("import")));
    test::CliRun imported = runCli({ QStringLiteral("import"), test::sourceDir() + QStringLiteral("/tests/data/chromium-websocket.har"),
        QStringLiteral("-o"), dir.filePath(QStringLiteral("chromium.ndjson")) });
    CHECK(imported.code == 0);
    CHECK(runCli({ QStringLiteral("info"), dir.filePath(QStringLiteral("chromium.ndjson")) }).code == 0);
    const QString importedZst = dir.filePath(QStringLiteral("chromium.ndjson.zst"));
    REQUIRE(runCli({ QStringLiteral("import"), test::sourceDir() + QStringLiteral("/tests/data/chromium-websocket.har"), QStringLiteral("-o"), importedZst })
                .code
        == 0);
    CHECK(capture::startsLikeZstd(test::readFileOrFail(importedZst).left(4)));
    CHECK(runCli({ QStringLiteral("info"), importedZst }).code == 0);
    // An import that keeps identities names the socket's identity in the header too, as a
    // recording does (replay --against then connects as it); one that does not keeps it nowhere.
    const QString kept = dir.filePath(QStringLiteral("kept.ndjson"));
    REQUIRE(runCli({ QStringLiteral("import"), test::sourceDir() + QStringLiteral("/tests/data/chromium-websocket.har"), QStringLiteral("-o"), kept,
                QStringLiteral("--keep-identity") })
                .code
        == 0);
    QString keptError;
    const std::unique_ptr<Capture> keptCapture = CaptureReader::open(kept, {}, &keptError);
    REQUIRE(keptCapture);
    CHECK(keptCapture->header.identity == QStringLiteral("anonymous:chromium"));
    CHECK_FALSE(test::readFileOrFail(dir.filePath(QStringLiteral("chromium.ndjson"))).contains("anonymous:chromium"));
    // A HAR that export compressed (.har.zst) imports again.
    const QString harZst = dir.filePath(QStringLiteral("again.har.zst"));
    REQUIRE(runCli({ QStringLiteral("export"), kept, QStringLiteral("--format"), QStringLiteral("har"), QStringLiteral("-o"), harZst }).code == 0);
    const test::CliRun fromZst = runCli({ QStringLiteral("import"), harZst, QStringLiteral("-o"), dir.filePath(QStringLiteral("again.ndjson")) });
    INFO(fromZst.err.toStdString());
    CHECK(fromZst.code == 0);
    CHECK(fromZst.err.contains(QStringLiteral("zstd-compressed HAR")));
    CHECK(runCli({ QStringLiteral("fold"), dir.filePath(QStringLiteral("again.ndjson")) }).out == runCli({ QStringLiteral("fold"), kept }).out);
    // A compressed capture given to import is named as a capture, as before.
    const test::CliRun captureZst = runCli({ QStringLiteral("import"), importedZst, QStringLiteral("-o"), dir.filePath(QStringLiteral("x.ndjson")) });
    CHECK(captureZst.code == cli::ExitFailure);
    CHECK(captureZst.err.contains(QStringLiteral("is a Deltascope capture already")));
    CHECK(runCli({ QStringLiteral("fold"), importedZst }).out == runCli({ QStringLiteral("fold"), dir.filePath(QStringLiteral("chromium.ndjson")) }).out);
}

TEST_CASE("cli: no command writes over the file it reads, whatever the path's spelling")
{
    QTemporaryDir dir;
    const QString path = dir.filePath(QStringLiteral("c.ndjson"));
    writeSynthetic(path, false);
    const QByteArray before = test::readFileOrFail(path);
    const QString symlink = dir.filePath(QStringLiteral("link.ndjson"));
    REQUIRE(QFile::link(path, symlink));
    const QString hardlink = dir.filePath(QStringLiteral("hard.ndjson"));
    REQUIRE(::link(QFile::encodeName(path).constData(), QFile::encodeName(hardlink).constData()) == 0);
    const QString dotted = dir.path() + QStringLiteral("/./c.ndjson");
    for (const QString& output : { symlink, hardlink, dotted }) {
        INFO(output.toStdString());
        const test::CliRun exported = runCli({ QStringLiteral("export"), path, QStringLiteral("--format"), QStringLiteral("capture"), QStringLiteral("-o"), output });
        CHECK(exported.code == cli::ExitUsage);
        CHECK(exported.err.contains(QStringLiteral("is the capture being exported")));
        // Checked before connecting: the port is never asked.
        const test::CliRun replayed = runCli({ QStringLiteral("replay"), path, QStringLiteral("--against"), QStringLiteral("ws://127.0.0.1:1/~s"),
            QStringLiteral("--out"), output });
        CHECK(replayed.code == cli::ExitUsage);
        CHECK(replayed.err.contains(QStringLiteral("is the capture being replayed")));
    }
    const QString har = test::sourceDir() + QStringLiteral("/tests/data/chromium-websocket.har");
    const QString harCopy = dir.filePath(QStringLiteral("copy.har"));
    REQUIRE(QFile::copy(har, harCopy));
    const test::CliRun imported = runCli({ QStringLiteral("import"), harCopy, QStringLiteral("-o"), harCopy });
    CHECK(imported.code == cli::ExitUsage);
    CHECK(imported.err.contains(QStringLiteral("is the HAR file being imported")));
    const test::CliRun toStdout = runCli({ QStringLiteral("import"), harCopy, QStringLiteral("-o"), QStringLiteral("-") });
    CHECK(toStdout.code == cli::ExitUsage);
    CHECK(toStdout.err.contains(QStringLiteral("not '-'")));
    CHECK_FALSE(QFileInfo::exists(QStringLiteral("-")));
    CHECK(test::readFileOrFail(path) == before);
    CHECK(test::readFileOrFail(harCopy) == test::readFileOrFail(har));

    // Two sockets: the second's file (NAME-2.EXT) would be the input. Refused before the first is written.
    const QByteArray twoSockets = R"({"log":{"entries":[
        {"request":{"url":"ws://a/~s"},"_webSocketMessages":[{"type":"receive","time":1718000000.5,"opcode":1,"data":"{\"ping\":1,\"latency\":\"2\"}"}]},
        {"request":{"url":"ws://b/~s"},"_webSocketMessages":[{"type":"receive","time":1718000001.5,"opcode":1,"data":"{\"ping\":1,\"latency\":\"2\"}"}]}]}})";
    const QString secondIsInput = dir.filePath(QStringLiteral("two-2.har"));
    REQUIRE(writeFile(secondIsInput, twoSockets));
    const test::CliRun second = runCli({ QStringLiteral("import"), secondIsInput, QStringLiteral("-o"), dir.filePath(QStringLiteral("two.har")) });
    CHECK(second.code == cli::ExitUsage);
    CHECK(second.err.contains(QStringLiteral("the file for socket 2, is the HAR file being imported")));
    CHECK_FALSE(QFileInfo::exists(dir.filePath(QStringLiteral("two.har"))));
    CHECK(test::readFileOrFail(secondIsInput) == twoSockets);
}

TEST_CASE("cli: a recording is never replaced without --overwrite: replay --out any file, import and export a capture")
{
    QTemporaryDir dir;
    const QString path = dir.filePath(QStringLiteral("c.ndjson"));
    writeSynthetic(path, false);
    const QString capture = dir.filePath(QStringLiteral("precious.ndjson"));
    writeSynthetic(capture, false);
    const QByteArray precious = test::readFileOrFail(capture);
    const QString other = dir.filePath(QStringLiteral("notes.txt"));
    REQUIRE(writeFile(other, "not a capture\n"));

    // replay --against --out: as record --out, any file that is not empty; checked before connecting.
    for (const QString& output : { capture, other }) {
        INFO(output.toStdString());
        const test::CliRun replayed = runCli({ QStringLiteral("replay"), path, QStringLiteral("--against"), QStringLiteral("ws://127.0.0.1:1/~s"),
            QStringLiteral("--out"), output });
        CHECK(replayed.code == cli::ExitUsage);
        CHECK(replayed.err.contains(QStringLiteral("--out ") + output + QStringLiteral(" exists (")));
        CHECK(replayed.err.contains(QStringLiteral("add --overwrite to replace it")));
    }
    const test::CliRun overwriting = runCli({ QStringLiteral("replay"), path, QStringLiteral("--against"), QStringLiteral("ws://127.0.0.1:1/~s"),
        QStringLiteral("--out"), other, QStringLiteral("--overwrite") });
    CHECK(overwriting.code == cli::ExitConnectFailed); // let through to the connection
    CHECK(runCli({ QStringLiteral("replay"), path, QStringLiteral("--overwrite") }).code == cli::ExitUsage);

    // export and import: a capture is refused, said as one; another file is replaced as before.
    for (const char* format : { "capture", "har" }) {
        INFO(format);
        const test::CliRun exported = runCli({ QStringLiteral("export"), path, QStringLiteral("--format"), QLatin1String(format), QStringLiteral("-o"), capture });
        CHECK(exported.code == cli::ExitUsage);
        CHECK(exported.err.contains(QStringLiteral("-o ") + capture + QStringLiteral(" is a capture already")));
    }
    const QString har = test::sourceDir() + QStringLiteral("/tests/data/chromium-websocket.har");
    const test::CliRun imported = runCli({ QStringLiteral("import"), har, QStringLiteral("-o"), capture });
    CHECK(imported.code == cli::ExitUsage);
    CHECK(imported.err.contains(QStringLiteral("-o ") + capture + QStringLiteral(" is a capture already")));
    CHECK(test::readFileOrFail(capture) == precious);
    // A compressed capture is one too.
    const QString compressed = dir.filePath(QStringLiteral("precious.ndjson.zst"));
    REQUIRE(writeFile(compressed, capture::compressZstd(precious)));
    CHECK(runCli({ QStringLiteral("import"), har, QStringLiteral("-o"), compressed }).code == cli::ExitUsage);

    // The replay --overwrite above made `other` a capture: another plain file is replaced without asking.
    CHECK(isCaptureFile(other));
    const QString plain = dir.filePath(QStringLiteral("plain.txt"));
    REQUIRE(writeFile(plain, "not a capture\n"));
    CHECK(runCli({ QStringLiteral("export"), path, QStringLiteral("--format"), QStringLiteral("capture"), QStringLiteral("-o"), plain }).code == cli::ExitOk);
    CHECK(isCaptureFile(plain));
    CHECK(runCli({ QStringLiteral("export"), path, QStringLiteral("--format"), QStringLiteral("capture"), QStringLiteral("-o"), capture,
              QStringLiteral("--overwrite") }).code == cli::ExitOk);
    CHECK(runCli({ QStringLiteral("import"), har, QStringLiteral("-o"), compressed, QStringLiteral("--overwrite") }).code == cli::ExitOk);
}

TEST_CASE("capture reader: a pipe is named as one, not called an empty recording")
{
    // `fold <(cat c.ndjson)`, `/dev/stdin`: no size, and not empty. A capture is read in place, so
    // the message says to save it first.
    QTemporaryDir dir;
    const QString fifo = dir.filePath(QStringLiteral("pipe"));
    REQUIRE(::mkfifo(QFile::encodeName(fifo).constData(), 0600) == 0);
    const int writer = ::open(QFile::encodeName(fifo).constData(), O_RDWR | O_NONBLOCK); // so opening it to read does not block
    REQUIRE(writer >= 0);
    QString error;
    CHECK_FALSE(CaptureReader::open(fifo, {}, &error));
    ::close(writer);
    CHECK(error == fifo + QStringLiteral(" is a pipe or a device, not a file: a capture is read from a file (its payloads are read in place); "
                                         "save it first, e.g. cat > capture.ndjson"));
    // An empty file is still an empty recording.
    const QString empty = dir.filePath(QStringLiteral("empty.ndjson"));
    REQUIRE(writeFile(empty, {}));
    CHECK_FALSE(CaptureReader::open(empty, {}, &error));
    CHECK(error.endsWith(QStringLiteral(" is empty: no capture header (a recording that never started?)")));
}

TEST_CASE("cli: export writes into a pipe in place, never renaming a file over it")
{
    // `-o /dev/null` or a FIFO: an atomic rename would replace the device or pipe with a plain file.
    QTemporaryDir dir;
    const QString path = dir.filePath(QStringLiteral("c.ndjson"));
    writeSynthetic(path, false);
    const QString fifo = dir.filePath(QStringLiteral("pipe"));
    REQUIRE(::mkfifo(QFile::encodeName(fifo).constData(), 0600) == 0);
    const int reader = ::open(QFile::encodeName(fifo).constData(), O_RDONLY | O_NONBLOCK);
    REQUIRE(reader >= 0);
    // A short range keeps the export well within the pipe's buffer: nothing reads it meanwhile.
    const test::CliRun run = runCli({ QStringLiteral("export"), path, QStringLiteral("--format"), QStringLiteral("ndjson"),
        QStringLiteral("--to"), QStringLiteral("6"), QStringLiteral("-o"), fifo });
    QByteArray received;
    char buffer[4096];
    for (ssize_t n = 0; (n = ::read(reader, buffer, sizeof buffer)) > 0;)
        received.append(buffer, n);
    ::close(reader);
    INFO(run.err.toStdString());
    CHECK(run.code == cli::ExitOk);
    CHECK_FALSE(QFileInfo(fifo).isFile());
    CHECK(received.contains("\"title\":\"Demo\""));
    CHECK(QDir(dir.path()).entryList(QDir::Files).size() == 1); // no temporary file left behind
}

TEST_CASE("export: a delta log of a range that starts mid-stream folds to the capture's document")
{
    QTemporaryDir dir;
    const QString path = dir.filePath(QStringLiteral("c.ndjson"));
    writeSynthetic(path, false);
    QString error;
    const std::unique_ptr<Capture> capture = CaptureReader::open(path, {}, &error);
    REQUIRE(capture);
    const qint64 last = capture->log->size() - 1;
    const QString out = dir.filePath(QStringLiteral("range.ndjson"));
    for (const qint64 from : { qint64(0), qint64(7), last / 3, last / 2 }) {
        const qint64 to = std::min(last, from + 40);
        INFO("from " << from << " to " << to);
        const test::CliRun exported = runCli({ QStringLiteral("export"), path, QStringLiteral("--format"), QStringLiteral("ndjson"), QStringLiteral("--from"),
            QString::number(from), QStringLiteral("--to"), QString::number(to), QStringLiteral("--no-redact"), QStringLiteral("-o"), out });
        REQUIRE(exported.code == cli::ExitOk);
        const QByteArray log = test::readFileOrFail(out);
        // The tree at the range's start leads, said as synthetic, unless the range starts at the beginning.
        CHECK(log.contains("\"synthetic\":true") == (from > 0));
        const test::CliRun folded = runCli({ QStringLiteral("fold"), out, QStringLiteral("--anomalies") });
        INFO(folded.err.toStdString());
        CHECK(folded.code == cli::ExitOk);
        CHECK(folded.out == runCli({ QStringLiteral("fold"), path, QStringLiteral("--at"), QString::number(to) }).out);
    }
}

TEST_CASE("export: the delta log has a line for each seq-only item and says when the capture is partial, and fold reads it")
{
    QTemporaryDir dir;
    EventLog log;
    test::ScriptedStream stream { log };
    stream.start(); // seq 1
    const qint64 seqOnly = stream.add(EventKind::StreamItem, R"({"deliver":1,"done":false,"response":{"delta":{"seq":2}}})", 2);
    stream.add(EventKind::StreamItem, R"({"deliver":1,"done":false,"response":{"delta":{"data":{"n":3},"seq":3}}})", 3);
    const QString path = dir.filePath(QStringLiteral("c.ndjson"));
    capture::Header header;
    header.source = QStringLiteral("import-har");
    header.partial = true;
    writeCapture(path, log, header, true);
    const QString out = dir.filePath(QStringLiteral("deltas.ndjson"));
    REQUIRE(runCli({ QStringLiteral("export"), path, QStringLiteral("--format"), QStringLiteral("ndjson"), QStringLiteral("-o"), out }).code == cli::ExitOk);
    const QList<QByteArray> lines = test::readFileOrFail(out).trimmed().split('\n');
    REQUIRE(lines.size() == 4);
    CHECK(lines[0].contains("\"partial\":true"));
    CHECK(lines[2] == "{\"index\":" + QByteArray::number(seqOnly) + R"(,"ns":)" + QByteArray::number(log.at(seqOnly).monotonicNs) + R"(,"wallMs":)"
            + QByteArray::number(log.at(seqOnly).wallMs) + R"(,"epoch":1,"seq":2,"snapshot":false,"changed":[]})");
    CHECK(lines[3].contains("\"seq\":3"));
    const test::CliRun folded = runCli({ QStringLiteral("fold"), out, QStringLiteral("--anomalies") });
    INFO(folded.err.toStdString());
    CHECK(folded.code == cli::ExitOk);
    CHECK(folded.out == runCli({ QStringLiteral("fold"), path }).out);
    // The seq-only line is checked like any other: going back is said.
    QByteArray backwards = test::readFileOrFail(out);
    backwards.replace(R"("seq":2,"snapshot":false)", R"("seq":1,"snapshot":false)");
    REQUIRE(writeFile(out, backwards));
    const test::CliRun checked = runCli({ QStringLiteral("fold"), out, QStringLiteral("--anomalies") });
    CHECK(checked.err.contains(QStringLiteral("seq-not-increasing: seq 1 after seq 1 in epoch 1")));
    // Without the partial flag, no such field.
    writeCapture(path, log, {}, true);
    REQUIRE(runCli({ QStringLiteral("export"), path, QStringLiteral("--format"), QStringLiteral("ndjson"), QStringLiteral("-o"), out }).code == cli::ExitOk);
    CHECK_FALSE(test::readFileOrFail(out).contains("\"partial\""));
}

TEST_CASE("cli: record names itself, not watch, when it cannot connect")
{
    QTemporaryDir dir;
    QTcpServer placeholder; // a port nothing listens on
    REQUIRE(placeholder.listen(QHostAddress::LocalHost, 0));
    const QString url = QStringLiteral("ws://127.0.0.1:%1/~s").arg(placeholder.serverPort());
    placeholder.close();
    const test::CliRun run = runCli({ QStringLiteral("record"), url, QStringLiteral("--identity"), QStringLiteral("anonymous:a"),
        QStringLiteral("--space"), QStringLiteral("chat"), QStringLiteral("--key"), QStringLiteral("demo"), QStringLiteral("--connect-timeout"),
        QStringLiteral("300"), QStringLiteral("--quiet"), QStringLiteral("--out"), dir.filePath(QStringLiteral("r.ndjson")) });
    INFO(run.err.toStdString());
    CHECK(run.code == cli::ExitConnectFailed);
    CHECK(run.err.contains(QStringLiteral("deltascope-cli record: could not connect to ") + url));
    CHECK_FALSE(run.err.contains(QStringLiteral("deltascope-cli watch")));

    // --out in a folder that does not exist: a typo more likely than a wish; nothing is made.
    const QString missing = dir.filePath(QStringLiteral("no-such-folder/r.ndjson"));
    const test::CliRun noFolder = runCli({ QStringLiteral("record"), url, QStringLiteral("--identity"), QStringLiteral("anonymous:a"),
        QStringLiteral("--space"), QStringLiteral("chat"), QStringLiteral("--key"), QStringLiteral("demo"), QStringLiteral("--connect-timeout"),
        QStringLiteral("300"), QStringLiteral("--quiet"), QStringLiteral("--out"), missing });
    CHECK(noFolder.code == cli::ExitFailure);
    CHECK(noFolder.err.contains(QStringLiteral("cannot write capture %1: the folder %2 does not exist").arg(missing, dir.filePath(QStringLiteral("no-such-folder")))));
    CHECK_FALSE(QFileInfo::exists(dir.filePath(QStringLiteral("no-such-folder"))));

    // An existing recording is kept unless --overwrite says otherwise; standard output is no file.
    const QStringList base { QStringLiteral("record"), url, QStringLiteral("--identity"), QStringLiteral("anonymous:a"), QStringLiteral("--space"),
        QStringLiteral("chat"), QStringLiteral("--key"), QStringLiteral("demo"), QStringLiteral("--connect-timeout"), QStringLiteral("300"), QStringLiteral("--quiet") };
    const QString existing = dir.filePath(QStringLiteral("kept.ndjson"));
    REQUIRE(writeFile(existing, "a recording made earlier\n"));
    const test::CliRun kept = runCli(base + QStringList { QStringLiteral("--out"), existing });
    CHECK(kept.code == cli::ExitUsage);
    CHECK(kept.err.contains(QStringLiteral("--out %1 exists (25 bytes); choose another file, or add --overwrite to replace it").arg(existing)));
    CHECK(test::readFileOrFail(existing) == "a recording made earlier\n");
    // --overwrite replaces it only once the document arrives: a connection that fails keeps it.
    const test::CliRun notReplaced = runCli(base + QStringList { QStringLiteral("--out"), existing, QStringLiteral("--overwrite") });
    CHECK(notReplaced.code == cli::ExitConnectFailed);
    CHECK(notReplaced.err.contains(QStringLiteral("%1 was kept as it was: no document came").arg(existing)));
    CHECK(test::readFileOrFail(existing) == "a recording made earlier\n");
    CHECK(QDir(dir.path()).entryList(QDir::Files | QDir::Hidden | QDir::NoDotAndDotDot).filter(QStringLiteral(".recording-")).isEmpty());
    const test::CliRun dash = runCli(base + QStringList { QStringLiteral("--out"), QStringLiteral("-") });
    CHECK(dash.code == cli::ExitUsage);
    CHECK(dash.err.contains(QStringLiteral("--out needs a file name")));
    CHECK_FALSE(QFileInfo::exists(QStringLiteral("-")));
}

TEST_CASE("record: incidents are analysed into the capture, so its replay and info have them")
{
    server::ServerOptions options;
    options.tickerRate = 50;
    options.pingIntervalMs = 200;
    server::ReferenceServer server(options);
    REQUIRE(server.listen() != 0);
    QTemporaryDir dir;
    const QString path = dir.filePath(QStringLiteral("incident.ndjson"));
    // The server closes the socket once the stream is up: the client reconnects and resyncs.
    bool closed = false;
    QTimer closer;
    closer.setInterval(50);
    QObject::connect(&closer, &QTimer::timeout, [&] {
        if (!closed && server.streamCount() > 0)
            closed = server.closeSockets(server::ServerConnection::CloseKind::Reset) > 0;
    });
    closer.start();
    const test::CliRun run = runCli({ QStringLiteral("record"), server.url(), QStringLiteral("--identity"), QStringLiteral("anonymous:rec"),
        QStringLiteral("--space"), QStringLiteral("ticker"), QStringLiteral("--key"), QStringLiteral("demo"), QStringLiteral("--reconnect"),
        QStringLiteral("fixed:100"), QStringLiteral("--duration"), QStringLiteral("3"), QStringLiteral("--quiet"), QStringLiteral("--no-document"),
        QStringLiteral("--out"), path });
    INFO(run.err.toStdString());
    REQUIRE(run.code == cli::ExitOk);
    CHECK(closed);
    CHECK(run.err.contains(QStringLiteral(", 1 incident)")));
    QString error;
    const std::unique_ptr<Capture> capture = CaptureReader::open(path, {}, &error);
    REQUIRE(capture);
    const std::vector<qint64>& incidents = capture->log->indexesOfKind(EventKind::Incident);
    REQUIRE(incidents.size() == 1);
    const QJsonObject report = QJsonDocument::fromJson(capture->log->payload(incidents.front())).object();
    CHECK(report.value(QStringLiteral("verdict")).toString().startsWith(QStringLiteral("converged")));
    // Checked against a second connection, unless asked not to.
    CHECK(report.value(QStringLiteral("verified")).toBool());
    const test::CliRun info = runCli({ QStringLiteral("info"), path });
    CHECK(info.out.contains(QStringLiteral("incidents: 1")));

    // --no-verify: no second connection joins; the verdict says it was not verified. Recorded over
    // the first capture (--overwrite), which the document's first item replaces.
    closed = false;
    const QString unverifiedPath = path;
    const test::CliRun unverified = runCli({ QStringLiteral("record"), server.url(), QStringLiteral("--identity"), QStringLiteral("anonymous:rec"),
        QStringLiteral("--space"), QStringLiteral("ticker"), QStringLiteral("--key"), QStringLiteral("demo"), QStringLiteral("--reconnect"),
        QStringLiteral("fixed:100"), QStringLiteral("--duration"), QStringLiteral("2"), QStringLiteral("--quiet"), QStringLiteral("--no-document"),
        QStringLiteral("--no-verify"), QStringLiteral("--out"), unverifiedPath, QStringLiteral("--overwrite") });
    INFO(unverified.err.toStdString());
    REQUIRE(unverified.code == cli::ExitOk);
    CHECK(unverified.err.contains(QStringLiteral("(the file there is replaced when the document arrives)")));
    // A stream the server refuses after its hello: no document, so the capture there stays.
    const QByteArray recorded = test::readFileOrFail(path);
    const test::CliRun refused = runCli({ QStringLiteral("record"), server.url(), QStringLiteral("--identity"), QStringLiteral("anonymous:rec"),
        QStringLiteral("--space"), QStringLiteral("nosuchspace"), QStringLiteral("--key"), QStringLiteral("demo"), QStringLiteral("--reconnect"),
        QStringLiteral("none"), QStringLiteral("--quiet"), QStringLiteral("--no-document"), QStringLiteral("--no-verify"), QStringLiteral("--out"), path,
        QStringLiteral("--overwrite") });
    INFO(refused.err.toStdString());
    CHECK(refused.code == cli::ExitFatalStream);
    CHECK(refused.err.contains(QStringLiteral("was kept as it was: no document came")));
    CHECK(test::readFileOrFail(path) == recorded);
    CHECK(QDir(dir.path()).entryList(QDir::Files | QDir::Hidden | QDir::NoDotAndDotDot).filter(QStringLiteral(".recording-")).isEmpty());
    const std::unique_ptr<Capture> second = CaptureReader::open(unverifiedPath, {}, &error);
    REQUIRE(second);
    REQUIRE(second->log->indexesOfKind(EventKind::Incident).size() == 1);
    CHECK_FALSE(QJsonDocument::fromJson(second->log->payload(second->log->indexesOfKind(EventKind::Incident).front()))
                    .object()
                    .value(QStringLiteral("verified"))
                    .toBool());
}

TEST_CASE("record --plan: the faults and their incidents are in the capture, and a step that never acted fails --expect")
{
    server::ServerOptions options;
    options.tickerRate = 50;
    options.pingIntervalMs = 200;
    server::ReferenceServer server(options);
    REQUIRE(server.listen() != 0);
    QTemporaryDir dir;
    const QString path = dir.filePath(QStringLiteral("faults.ndjson"));
    const QStringList base { QStringLiteral("record"), server.url(), QStringLiteral("--identity"), QStringLiteral("anonymous:rec"),
        QStringLiteral("--space"), QStringLiteral("ticker"), QStringLiteral("--key"), QStringLiteral("planned"), QStringLiteral("--quiet"),
        QStringLiteral("--no-document") };
    const test::CliRun run = runCli(base
        + QStringList { QStringLiteral("--plan"), QStringLiteral("version-mismatch-on-reconnect"), QStringLiteral("--duration"), QStringLiteral("3"),
            QStringLiteral("--expect"), QStringLiteral("plan"), QStringLiteral("--out"), path });
    INFO(run.out.toStdString() << run.err.toStdString());
    REQUIRE(run.code == cli::ExitOk);
    CHECK(run.out.contains(QStringLiteral("incident 1: converged")));
    CHECK(run.err.contains(QStringLiteral(", 1 incident)")));
    QString error;
    const std::unique_ptr<Capture> capture = CaptureReader::open(path, {}, &error);
    REQUIRE(capture);
    // The capture names the server, not the loopback proxy the client went through.
    CHECK(capture->header.endpoint == server.url());
    CHECK(capture->log->indexesOfKind(EventKind::FaultInjected).size() >= 2);
    REQUIRE(capture->log->indexesOfKind(EventKind::Incident).size() == 1);
    const QJsonObject report = QJsonDocument::fromJson(capture->log->payload(capture->log->indexesOfKind(EventKind::Incident).front())).object();
    CHECK(report.value(QStringLiteral("version")).toObject().value(QStringLiteral("mismatch")).toBool());

    // A frame-triggered step whose frame never comes within the run tested nothing: --expect fails.
    // On chat, whose bots write a line every few seconds: 20 deltas cannot come in 0.3 s.
    QStringList chatBase = base;
    chatBase[chatBase.indexOf(QStringLiteral("ticker"))] = QStringLiteral("chat");
    const test::CliRun missed = runCli(chatBase
        + QStringList { QStringLiteral("--plan"), QStringLiteral("drop-during-burst"), QStringLiteral("--duration"), QStringLiteral("0.3"),
            QStringLiteral("--expect"), QStringLiteral("plan"), QStringLiteral("--out"), dir.filePath(QStringLiteral("missed.ndjson")) });
    INFO(missed.err.toStdString());
    CHECK(missed.code == cli::ExitExpectationFailed);
    CHECK(missed.err.contains(QStringLiteral("plan step 1 (RST during the burst): its trigger never came: frame 20 of kind delta")));
    // The capture says so too: whoever opens it learns the step tested nothing.
    const std::unique_ptr<Capture> missedCapture = CaptureReader::open(dir.filePath(QStringLiteral("missed.ndjson")), {}, &error);
    REQUIRE(missedCapture);
    bool noted = false;
    for (qint64 index : missedCapture->log->indexesOfKind(EventKind::Note))
        noted = noted || missedCapture->log->payload(index).contains("plan step 1 (RST during the burst): its trigger never came");
    CHECK(noted);

    // A plan that does not load stops before the session: no empty capture is left behind.
    const QDir captures(CaptureWriter::capturesFolder());
    const qsizetype capturesBefore = captures.entryList(QDir::Files).size();
    const test::CliRun badPlan = runCli(base + QStringList { QStringLiteral("--plan"), dir.filePath(QStringLiteral("missing-plan.json")) });
    CHECK(badPlan.code == cli::ExitUsage);
    CHECK(QDir(CaptureWriter::capturesFolder()).entryList(QDir::Files).size() == capturesBefore);

    // The shadow check is what a fault's verdict rests on.
    const test::CliRun noVerify = runCli(base + QStringList { QStringLiteral("--plan"), QStringLiteral("drop-during-burst"), QStringLiteral("--no-verify") });
    CHECK(noVerify.code == cli::ExitUsage);
    CHECK(noVerify.err.contains(QStringLiteral("--no-verify cannot go with fault injection")));
}

TEST_CASE("captures folder: the window's whichever program asks, and record --help names it")
{
    // The CLI's own application name once gave it a second folder (and settings) nobody looked in.
    const QString folder = CaptureWriter::capturesFolder();
    CHECK(folder.endsWith(QStringLiteral("/Deltascope/Deltascope/captures")));
    CHECK_FALSE(folder.contains(QCoreApplication::applicationName()));
    // A folder chosen in the window's settings is the CLI's too.
    QTemporaryDir chosen;
    REQUIRE(chosen.isValid());
    CaptureWriter::setCapturesFolder(chosen.path());
    CHECK(QSettings(QStringLiteral("Deltascope"), QStringLiteral("Deltascope")).value(QStringLiteral("captures/folder")).toString() == chosen.path());
    CHECK(CaptureWriter::capturesFolder() == chosen.path());
    const test::CliRun help = runCli({ QStringLiteral("record"), QStringLiteral("--help") });
    CHECK(help.out.simplified().contains(QDir::toNativeSeparators(chosen.path())));
    CaptureWriter::setCapturesFolder(QString());
    CHECK(CaptureWriter::capturesFolder() == folder);
}
