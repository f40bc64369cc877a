#include <catch2/catch.hpp>

#include "core/capture/harimport.h"
#include "core/session/sessionfolder.h"
#include "tests/support/testutils.h"

#include <QDateTime>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>

using namespace deltascope;

// HAR files in the shapes real tools write (tests/data/*.md says where each shape comes from),
// and the variations between them.

namespace {

// A sample HAR from tests/data/.
QByteArray sampleHar(const char* name)
{
    return test::readFileOrFail(test::sourceDir() + QStringLiteral("/tests/data/") + QLatin1String(name));
}

QJsonArray messagesOf(const QByteArray& har, int entry)
{
    return QJsonDocument::fromJson(har)
        .object()
        .value(QStringLiteral("log"))
        .toObject()
        .value(QStringLiteral("entries"))
        .toArray()
        .at(entry)
        .toObject()
        .value(QStringLiteral("_webSocketMessages"))
        .toArray();
}

std::vector<qint64> framesOf(const EventLog& log)
{
    std::vector<qint64> frames;
    for (qint64 i = 0; i < log.size(); ++i) {
        if (log.at(i).direction != Direction::Local)
            frames.push_back(i);
    }
    return frames;
}

QString noticesOf(const ImportedSession& session)
{
    return session.notices.join(QLatin1Char('\n'));
}

qint64 foldAnomalies(const EventLog& log)
{
    SessionFolder folder;
    for (qint64 i = 0; i < log.size(); ++i)
        folder.processEvent(log.at(i), log.payload(i));
    return folder.anomalyCount();
}

// One Chrome-shaped entry with the given messages (a JSON array's text).
QByteArray chromeHar(const QByteArray& messages, const QByteArray& started = "2024-06-10T06:13:20.000Z")
{
    return R"({"log":{"version":"1.2","creator":{"name":"WebInspector","version":"537.36"},"pages":[],"entries":[{"startedDateTime":")"
        + started + R"(","time":0,"request":{"method":"GET","url":"wss://example.test/~s"},"response":{"status":101},)"
        + R"("_resourceType":"websocket","_webSocketMessages":)" + messages + "}]}}";
}

const QByteArray kHello = R"({\"status\":\"connected\",\"version\":\"v1\",\"identities\":{}})";

}

TEST_CASE("import: mitmproxy's HAR (https:// handshake URL, microsecond times, the socket twice)")
{
    const QByteArray har = sampleHar("mitmproxy-websocket.har");
    HarImportResult imported = importHar(har, QStringLiteral("mitmproxy-websocket.har"));
    REQUIRE(imported.ok);
    // hardump writes the socket at its handshake (no messages yet) and again at its end.
    REQUIRE(imported.sessions.size() == 2);
    CHECK(imported.sessions[0].log->isEmpty());
    CHECK(noticesOf(imported.sessions[0]).contains(QStringLiteral("entry 0 (wss://adama.example.test/~s) has no WebSocket messages")));
    const ImportedSession& session = imported.sessions[1];
    CHECK(session.header.endpoint == QStringLiteral("wss://adama.example.test/~s"));
    CHECK(session.header.notes.contains(QStringLiteral("handshake URL https://adama.example.test/~s")));
    // Microseconds round to the nearest millisecond.
    CHECK(session.header.startedWallMs
        == QDateTime::fromString(QStringLiteral("2024-06-10T06:13:20.005Z"), Qt::ISODateWithMs).toMSecsSinceEpoch());
    CHECK_FALSE(session.header.partial);

    const QJsonArray messages = messagesOf(har, 1);
    const std::vector<qint64> frames = framesOf(*session.log);
    REQUIRE(qsizetype(frames.size()) == messages.size());
    for (qsizetype m = 0; m < messages.size(); ++m) {
        const QJsonObject message = messages[m].toObject();
        const SessionEvent& event = session.log->at(frames[std::size_t(m)]);
        CHECK(event.direction == (message.value(QStringLiteral("type")).toString() == QLatin1String("send") ? Direction::Outbound : Direction::Inbound));
        CHECK(event.wallMs == qint64(std::llround(message.value(QStringLiteral("time")).toDouble() * 1000)));
        const QString data = message.value(QStringLiteral("data")).toString();
        const QByteArray expected = message.value(QStringLiteral("opcode")).toInt() == 2 ? QByteArray::fromBase64(data.toLatin1()) : data.toUtf8();
        CHECK(session.log->payload(frames[std::size_t(m)]) == expected);
    }
    // Non-ASCII text survives as UTF-8; the binary frame is its bytes, not its base64.
    CHECK(session.log->payload(frames[2]).contains("héllo 世界 🙂"));
    CHECK(session.log->payload(frames[3]) == QByteArray("\x00\x01\x02\xff\xfe", 5));
    CHECK(session.log->indexesOfKind(EventKind::Hello).size() == 1);
    CHECK(session.log->indexesOfKind(EventKind::StreamItem).size() == 2);
    CHECK(session.unknownFrames == 1);
    CHECK(foldAnomalies(*session.log) == 0);
}

TEST_CASE("import: mitmproxy's zlib-compressed .zhar")
{
    const QByteArray har = sampleHar("mitmproxy-websocket.har");
    // qCompress is a 4-byte length and then exactly what Python's zlib.compress writes.
    const QByteArray zhar = qCompress(har, 9).mid(4);
    HarImportResult compressed = importHar(zhar, QStringLiteral("dump.zhar"));
    REQUIRE(compressed.ok);
    REQUIRE(compressed.sessions.size() == 2);
    CHECK(compressed.sessions[1].frames == 5);
    CHECK(compressed.notices.join(QLatin1Char('\n')).contains(QStringLiteral("zlib")));
    HarImportResult truncated = importHar(zhar.left(zhar.size() / 2), QStringLiteral("cut.zhar"));
    CHECK_FALSE(truncated.ok);
    CHECK(truncated.error.contains(QStringLiteral("cut.zhar")));
    CHECK(truncated.error.contains(QStringLiteral("zlib")));
    CHECK(truncated.error.contains(QStringLiteral("cut off")));
    QByteArray damaged = zhar;
    damaged[damaged.size() / 2] = char(damaged[damaged.size() / 2] ^ 0x5a);
    damaged[damaged.size() / 2 + 1] = char(damaged[damaged.size() / 2 + 1] ^ 0xa5);
    const HarImportResult broken = importHar(damaged, QStringLiteral("bad.zhar"));
    CHECK_FALSE(broken.ok);
    CHECK(broken.error.contains(QStringLiteral("bad.zhar")));
}

TEST_CASE("import: a .zhar that inflates beyond the limit is refused before it is all in memory")
{
    // 64 MiB of spaces: about 64 KiB compressed, the shape of a decompression bomb.
    const QByteArray bomb = qCompress(QByteArray(64 << 20, ' '), 9).mid(4);
    REQUIRE(bomb.size() < (1 << 20));
    const HarImportResult refused = importHar(bomb, QStringLiteral("bomb.zhar"), 8 << 20);
    CHECK_FALSE(refused.ok);
    CHECK(refused.error.contains(QStringLiteral("bomb.zhar")));
    CHECK(refused.error.contains(QStringLiteral("more than 8 MiB")));
    // The same HAR under the limit still imports: the limit is on the text, not the file.
    const QByteArray har = sampleHar("mitmproxy-websocket.har");
    CHECK(importHar(qCompress(har, 9).mid(4), QStringLiteral("small.zhar"), har.size()).ok);
    CHECK_FALSE(importHar(qCompress(har, 9).mid(4), QStringLiteral("small.zhar"), har.size() - 1).ok);
}

TEST_CASE("import: a HAR that starts with a UTF-8 byte order mark (Windows tools write one)")
{
    const QByteArray har = sampleHar("mitmproxy-websocket.har");
    HarImportResult bom = importHar("\xEF\xBB\xBF" + har, QStringLiteral("bom.har"));
    REQUIRE(bom.ok);
    CHECK(bom.sessions.size() == 2);
}

TEST_CASE("import: HTTP Toolkit's HAR (pages, local-offset times, _webSocketClose)")
{
    const QByteArray har = sampleHar("httptoolkit-websocket.har");
    HarImportResult imported = importHar(har, QStringLiteral("httptoolkit-websocket.har"));
    REQUIRE(imported.ok);
    REQUIRE(imported.sessions.size() == 1);
    const ImportedSession& session = imported.sessions[0];
    CHECK(session.header.endpoint == QStringLiteral("ws://127.0.0.1:8000/~s"));
    // 10:13:20.250+02:00 is 08:13:20.250 UTC.
    CHECK(session.header.startedWallMs == qint64(1718007200250));
    const QJsonArray messages = messagesOf(har, 0);
    const std::vector<qint64> frames = framesOf(*session.log);
    REQUIRE(qsizetype(frames.size()) == messages.size());
    CHECK(session.log->payload(frames[3]) == QByteArray("\x00\x01\x02\xff\xfe", 5));
    CHECK(session.log->at(frames[3]).kind == EventKind::MalformedInbound);
    // The close HTTP Toolkit recorded ends the session, at its own time.
    const SessionEvent& last = session.log->at(session.log->size() - 1);
    REQUIRE(last.kind == EventKind::Note);
    CHECK(session.log->payload(session.log->size() - 1).contains("code 1000, reason \\\"bye\\\""));
    CHECK(last.wallMs == qint64(1718007200563));
    CHECK(foldAnomalies(*session.log) == 0);
}

TEST_CASE("import: the header names the space and key the socket's connection/create asked for")
{
    // Browsers and proxies write no _deltascope facts: the document is the one connection/create names.
    for (const char* name : { "chromium-websocket.har", "mitmproxy-websocket.har", "httptoolkit-websocket.har" }) {
        INFO(name);
        HarImportResult imported = importHar(sampleHar(name), QLatin1String(name));
        REQUIRE(imported.ok);
        const ImportedSession& session = imported.sessions.back();
        CHECK(session.header.space == QStringLiteral("chat"));
        CHECK(session.header.key == QStringLiteral("demo"));
    }
    // Our own export's facts name it first (they survive a HAR cut before the connection/create).
    const QByteArray har = R"({"log":{"version":"1.2","creator":{"name":"Deltascope"},"entries":[{"startedDateTime":"2024-06-10T06:13:20.000Z",)"
                           R"("request":{"method":"GET","url":"ws://h/~s"},"response":{"status":101},"_deltascope":{"space":"s1","key":"k1"},)"
                           R"("_webSocketMessages":[{"type":"send","time":1718000000.0,"opcode":1,)"
                           R"("data":"{\"method\":\"connection/create\",\"id\":1,\"space\":\"other\",\"key\":\"doc\"}"}]}]}})";
    HarImportResult imported = importHar(har, QStringLiteral("own.har"));
    REQUIRE(imported.ok);
    CHECK(imported.sessions[0].header.space == QStringLiteral("s1"));
    CHECK(imported.sessions[0].header.key == QStringLiteral("k1"));
}

TEST_CASE("import: Chrome's error messages are kept as notes, control frames as unknown frames with their bytes")
{
    // Chrome writes a socket error as type "error", opcode -1, the error text as data; any
    // opcode other than 1 has base64 data.
    const QByteArray har = chromeHar("[{\"type\":\"receive\",\"time\":1718000000.1,\"opcode\":1,\"data\":\"" + kHello + "\"},"
        + R"({"type":"error","time":1718000000.2,"opcode":-1,"data":"Invalid frame header"},)"
        + R"({"type":"receive","time":1718000000.3,"opcode":8,"data":"A+hieWU="}])");
    HarImportResult imported = importHar(har, QStringLiteral("chrome.har"));
    REQUIRE(imported.ok);
    REQUIRE(imported.sessions.size() == 1);
    const EventLog& log = *imported.sessions[0].log;
    REQUIRE(log.size() == 3);
    CHECK(log.at(1).kind == EventKind::Note);
    CHECK(log.at(1).direction == Direction::Local);
    CHECK(log.payload(1).contains("Invalid frame header"));
    CHECK(log.at(1).wallMs == qint64(1718000000200));
    CHECK(log.at(2).kind == EventKind::UnknownInbound);
    CHECK(log.payload(2) == QByteArray("\x03\xe8" "bye"));
    CHECK(noticesOf(imported.sessions[0]).contains(QStringLiteral("entry 0, message 2: opcode 8 (close) kept as an unknown frame")));
}

TEST_CASE("import: a frame whose id is text reached no call in the browser, and folds nothing")
{
    const QByteArray create = R"({\"method\":\"connection/create\",\"id\":1,\"identity\":\"anonymous:a\",\"space\":\"s\",\"key\":\"k\"})";
    const QByteArray numeric = R"({\"deliver\":1,\"done\":false,\"response\":{\"delta\":{\"data\":{\"a\":1},\"seq\":1}}})";
    const QByteArray text = R"({\"deliver\":\"1\",\"done\":false,\"response\":{\"delta\":{\"data\":{\"c\":3},\"seq\":2}}})";
    const QByteArray har = chromeHar("[{\"type\":\"receive\",\"time\":1718000000.1,\"opcode\":1,\"data\":\"" + kHello + "\"},"
        + "{\"type\":\"send\",\"time\":1718000000.2,\"opcode\":1,\"data\":\"" + create + "\"},"
        + "{\"type\":\"receive\",\"time\":1718000000.3,\"opcode\":1,\"data\":\"" + numeric + "\"},"
        + "{\"type\":\"receive\",\"time\":1718000000.4,\"opcode\":1,\"data\":\"" + text + "\"}]");
    HarImportResult imported = importHar(har, QStringLiteral("textid.har"));
    REQUIRE(imported.ok);
    const EventLog& log = *imported.sessions[0].log;
    CHECK(log.indexesOfKind(EventKind::StreamItem).size() == 1);
    REQUIRE(log.indexesOfKind(EventKind::UnknownInbound).size() == 1);
    SessionFolder folder;
    for (qint64 i = 0; i < log.size(); ++i)
        folder.processEvent(log.at(i), log.payload(i));
    CHECK(folder.epochTree().toJson() == QByteArray(R"({"a":1})"));
}

TEST_CASE("import: message times in milliseconds, relative seconds, or missing are converted or kept, and said")
{
    SECTION("milliseconds")
    {
        const QByteArray har = chromeHar("[{\"type\":\"receive\",\"time\":1718000000100,\"opcode\":1,\"data\":\"" + kHello + "\"},"
            + R"({"type":"receive","time":1718000000350.5,"opcode":1,"data":"{\"ping\":1,\"latency\":\"2\"}"}])");
        HarImportResult imported = importHar(har, QStringLiteral("ms.har"));
        REQUIRE(imported.ok);
        const EventLog& log = *imported.sessions[0].log;
        REQUIRE(log.size() == 2);
        CHECK(log.at(0).wallMs == qint64(1718000000100));
        CHECK(log.at(1).wallMs == qint64(1718000000351));
        CHECK(std::abs(log.at(1).monotonicNs - log.at(0).monotonicNs - qint64(250500000)) < 1000);
        CHECK(noticesOf(imported.sessions[0]).contains(QStringLiteral("milliseconds")));
    }
    SECTION("seconds since the handshake (or a monotonic clock)")
    {
        const QByteArray har = chromeHar("[{\"type\":\"receive\",\"time\":5.25,\"opcode\":1,\"data\":\"" + kHello + "\"},"
            + R"({"type":"receive","time":6.0,"opcode":1,"data":"{\"ping\":1,\"latency\":\"2\"}"}])");
        HarImportResult imported = importHar(har, QStringLiteral("relative.har"));
        REQUIRE(imported.ok);
        const EventLog& log = *imported.sessions[0].log;
        REQUIRE(log.size() == 2);
        CHECK(log.at(0).wallMs == imported.sessions[0].header.startedWallMs);
        CHECK(log.at(1).wallMs == imported.sessions[0].header.startedWallMs + 750);
        CHECK(noticesOf(imported.sessions[0]).contains(QStringLiteral("not epoch seconds")));
    }
    SECTION("missing or impossible times keep the message, at the time before it")
    {
        const QByteArray har = chromeHar("[{\"type\":\"receive\",\"time\":1718000000.5,\"opcode\":1,\"data\":\"" + kHello + "\"},"
            + R"({"type":"receive","opcode":1,"data":"{\"ping\":1,\"latency\":\"2\"}"},)"
            + R"({"type":"receive","time":-9.3e18,"opcode":1,"data":"{\"ping\":2,\"latency\":\"2\"}"},)"
            + R"({"type":"receive","time":1e300,"opcode":1,"data":"{\"ping\":3,\"latency\":\"2\"}"}])");
        HarImportResult imported = importHar(har, QStringLiteral("times.har"));
        REQUIRE(imported.ok);
        const ImportedSession& session = imported.sessions[0];
        CHECK(session.frames == 4);
        for (qint64 i = 1; i < session.log->size(); ++i)
            CHECK(session.log->at(i).wallMs == qint64(1718000000500));
        CHECK(noticesOf(session).contains(QStringLiteral("entry 0, message 1: no numeric \"time\"; kept at the time before it")));
        CHECK(noticesOf(session).contains(QStringLiteral("entry 0, message 3: \"time\" 1e+300 is not epoch seconds between 1970 and 2262")));
        // 1e300 is no time in milliseconds either: nothing was converted, and nothing says so.
        CHECK_FALSE(noticesOf(session).contains(QStringLiteral("milliseconds")));
    }
    SECTION("times that go backwards keep the HAR's order and are said")
    {
        const QByteArray har = chromeHar("[{\"type\":\"receive\",\"time\":1718000001,\"opcode\":1,\"data\":\"" + kHello + "\"},"
            + R"({"type":"receive","time":1718000000,"opcode":1,"data":"{\"ping\":1,\"latency\":\"2\"}"}])");
        HarImportResult imported = importHar(har, QStringLiteral("back.har"));
        REQUIRE(imported.ok);
        const EventLog& log = *imported.sessions[0].log;
        CHECK(log.at(0).kind == EventKind::Hello);
        CHECK(log.at(1).monotonicNs >= log.at(0).monotonicNs);
        CHECK(noticesOf(imported.sessions[0]).contains(QStringLiteral("go backwards 1 times")));
    }
    SECTION("an unreadable startedDateTime: the capture starts at its first message")
    {
        const QByteArray har = chromeHar("[{\"type\":\"receive\",\"time\":1718000000.5,\"opcode\":1,\"data\":\"" + kHello + "\"}]", "yesterday");
        HarImportResult imported = importHar(har, QStringLiteral("date.har"));
        REQUIRE(imported.ok);
        CHECK(imported.sessions[0].header.startedWallMs == qint64(1718000000500));
        CHECK(noticesOf(imported.sessions[0]).contains(QStringLiteral("startedDateTime \"yesterday\"")));
    }
}

TEST_CASE("import: binary data that is not base64 and messages without data are kept and said")
{
    const QByteArray har = chromeHar(R"([{"type":"receive","time":1718000000.1,"opcode":2,"data":"not base64!"},)"
                                     R"({"type":"send","time":1718000000.2,"opcode":1}])");
    HarImportResult imported = importHar(har, QStringLiteral("odd.har"));
    REQUIRE(imported.ok);
    const ImportedSession& session = imported.sessions[0];
    REQUIRE(session.log->size() == 2);
    CHECK(session.log->payload(0) == QByteArray("not base64!"));
    CHECK(session.log->payload(1).isEmpty());
    CHECK(noticesOf(session).contains(QStringLiteral("entry 0, message 0: opcode 2 data is not base64; kept as its text")));
    CHECK(noticesOf(session).contains(QStringLiteral("entry 0, message 1: no \"data\" string; kept as an empty frame")));
}

TEST_CASE("import: several sockets in one file, in the file's order, next to plain HTTP entries")
{
    const QByteArray har = R"({"log":{"version":"1.2","creator":{"name":"WebInspector"},"entries":[
        {"startedDateTime":"2024-06-10T06:13:22.000Z","request":{"url":"wss://b.test/~s"},"_resourceType":"websocket","_webSocketMessages":[
            {"type":"receive","time":1718000002.0,"opcode":1,"data":"{\"ping\":2,\"latency\":\"2\"}"}]},
        {"startedDateTime":"2024-06-10T06:13:21.000Z","request":{"url":"https://a.test/app.js"},"response":{"status":200}},
        {"startedDateTime":"2024-06-10T06:13:20.000Z","request":{"url":"wss://a.test/~s"},"_resourceType":"websocket","_webSocketMessages":[
            {"type":"receive","time":1718000000.0,"opcode":1,"data":"{\"ping\":1,\"latency\":\"2\"}"}]}]}})";
    HarImportResult imported = importHar(har, QStringLiteral("two.har"));
    REQUIRE(imported.ok);
    REQUIRE(imported.sessions.size() == 2);
    CHECK(imported.sessions[0].entryIndex == 0);
    CHECK(imported.sessions[0].header.endpoint == QStringLiteral("wss://b.test/~s"));
    CHECK(imported.sessions[1].entryIndex == 2);
    CHECK(imported.sessions[1].header.endpoint == QStringLiteral("wss://a.test/~s"));
}

TEST_CASE("import: a HAR with WebSocket handshakes but no messages (Firefox) says so")
{
    // Firefox's HAR export (devtools/client/netmonitor/src/har/har-builder.js) has no WebSocket
    // messages: the handshake is an entry with status 101 and nothing else.
    const QByteArray har = R"({"log":{"version":"1.1","creator":{"name":"Firefox","version":"128.0"},"browser":{"name":"Firefox","version":"128.0"},
        "pages":[],"entries":[
        {"startedDateTime":"2024-06-10T08:13:20.000+02:00","request":{"method":"GET","url":"https://a.test/"},"response":{"status":200}},
        {"startedDateTime":"2024-06-10T08:13:21.000+02:00","request":{"method":"GET","url":"wss://a.test/~s","headers":[{"name":"Upgrade","value":"websocket"}]},
         "response":{"status":101}}]}})";
    HarImportResult imported = importHar(har, QStringLiteral("firefox.har"));
    CHECK_FALSE(imported.ok);
    CHECK(imported.error.contains(QStringLiteral("firefox.har: entries 1 (wss://a.test/~s) are WebSocket handshakes")));
    CHECK(imported.error.contains(QStringLiteral("Firefox's HAR export leaves WebSocket messages out")));
}

TEST_CASE("import: an empty file and a Deltascope capture are named for what they are, not as bad JSON at byte 0")
{
    const HarImportResult empty = importHar(QByteArray(" \n"), QStringLiteral("empty.har"));
    CHECK_FALSE(empty.ok);
    CHECK(empty.error == QStringLiteral("empty.har is empty: there is no HAR in it"));
    const HarImportResult capture = importHar(
        QByteArray(R"({"format":"deltascope-capture","version":"1.0"})" "\n" R"({"index":0,"ns":1,"dir":"local","kind":"note"})" "\n"),
        QStringLiteral("c.ndjson"));
    CHECK_FALSE(capture.ok);
    CHECK(capture.error
        == QStringLiteral("c.ndjson is a Deltascope capture already, not a HAR file: open it as it is "
                          "(deltascope-cli info, replay, export, or the window)"));
    // Bad JSON in a pretty-printed HAR: its line and column, as an editor goes to them.
    const HarImportResult broken = importHar(QByteArray("{\"log\":{\"version\":\"1.2\",\n\n  \"entries\": [ , ]}}\n"), QStringLiteral("b.har"));
    CHECK_FALSE(broken.ok);
    CHECK(broken.error.startsWith(QStringLiteral("b.har:3:16: not valid JSON at byte 41 ("))); // the ',' in "[ , ]"
    const HarImportResult missingColon = importHar(QByteArray("{\n\"a\" 1}"), QStringLiteral("c.har"));
    CHECK(missingColon.error.startsWith(QStringLiteral("c.har:2:5:"))); // the 1 where ':' was due
    const HarImportResult trailing = importHar(QByteArray("{}\n x"), QStringLiteral("d.har"));
    CHECK(trailing.error.startsWith(QStringLiteral("d.har:2:2:"))); // the x after the document
}

namespace {

// One entry as a Deltascope export writes it: a hello (event 1), a connection/create (event 3)
// and the stream's first item (event 5), each with its `_deltascope` facts, and the entry's
// `_deltascope` with `localEvents` (a JSON value's text).
QByteArray deltascopeHar(const QByteArray& localEvents)
{
    const QByteArray create = R"({\"method\":\"connection/create\",\"id\":1,\"space\":\"s\",\"key\":\"k\"})";
    const QByteArray item = R"({\"deliver\":1,\"done\":false,\"response\":{\"delta\":{\"data\":{\"n\":1},\"seq\":1}}})";
    return R"({"log":{"version":"1.2","creator":{"name":"Deltascope","version":"1"},"pages":[],"entries":[{"startedDateTime":"2024-06-10T06:13:20.000Z",)"
           R"("time":0,"request":{"method":"GET","url":"ws://example.test/~s"},"response":{"status":101},"_resourceType":"websocket",)"
           R"("_webSocketMessages":[)"
           R"({"type":"receive","time":1718000000.001,"opcode":1,"data":")"
        + kHello + R"(","_deltascope":{"index":1,"kind":"hello","ns":1000000,"epoch":0}},)"
                   R"({"type":"send","time":1718000000.003,"opcode":1,"data":")"
        + create + R"(","_deltascope":{"index":3,"kind":"request","ns":3000000,"epoch":1}},)"
                   R"({"type":"receive","time":1718000000.005,"opcode":1,"data":")"
        + item + R"(","_deltascope":{"index":5,"kind":"stream-item","ns":5000000,"epoch":1,"seq":1,"flags":"snapshot"}}],)"
                 R"("_deltascope":{"firstEvent":0,"lastEvent":9,"space":"s","key":"k","localEvents":)"
        + localEvents + "}}]}}";
}

QString noteOf(const EventLog& log, qint64 index)
{
    return QJsonDocument::fromJson(log.payload(index)).object().value(QStringLiteral("note")).toString();
}

}

TEST_CASE("import: a Deltascope HAR's damaged local events are each said and skipped or placed, and time never goes back")
{
    const QByteArray items = R"([
        7,
        {"index":0,"kind":"warp-drive","ns":0,"epoch":0,"fields":"{}"},
        {"index":2,"kind":"epoch","ns":2000000,"wallMs":1718000000002,"epoch":1,"requestId":1,"fields":"{\"epoch\":1,\"requestId\":1}"},
        {"kind":"note","ns":2500000,"epoch":1,"fields":"{\"note\":\"no index\"}"},
        {"index":4,"kind":"note","ns":"later","epoch":1,"fields":"{\"note\":\"ns as text\"}"},
        {"index":4,"kind":"note","ns":4100000,"epoch":1,"fields":"{\"note\":\"index again\"}"},
        {"index":3,"kind":"note","ns":3100000,"epoch":1,"fields":"{\"note\":\"a message's index\"}"},
        {"index":0,"kind":"note","ns":500000,"epoch":0,"fields":"{\"note\":\"out of order\"}"},
        {"index":6,"kind":"note","ns":10,"epoch":1,"fields":"{\"note\":\"ns back\"}"},
        {"index":7,"kind":"fault","ns":6000000,"epoch":1,"flags":"corrupting,sparkly","fields":"{\"fault\":\"drop\"}"},
        {"index":8,"kind":"note","ns":7000000,"epoch":"one","fields":5},
        {"index":9,"ns":8000000,"epoch":1,"fields":"{}"}
    ])";
    const HarImportResult imported = importHar(deltascopeHar(items), QStringLiteral("damaged.har"));
    REQUIRE(imported.ok);
    REQUIRE(imported.sessions.size() == 1);
    const ImportedSession& session = imported.sessions[0];
    const QString notices = noticesOf(session);
    INFO(notices.toStdString());
    for (const char* notice : {
             "entry 0, local event 0: not a JSON object; skipped",
             "entry 0, local event 1: kind \"warp-drive\" is not an event kind Deltascope knows; skipped",
             "entry 0, local event 3: no whole-number \"index\" (or a negative one); placed after the local event before it",
             "entry 0, local event 4: no whole-number \"ns\"; kept at the time of the event before it",
             "entry 0, local event 5: index 4 is also an earlier local event's; placed after it",
             "entry 0, local event 6: index 3 is also a message's; placed after that message",
             "entry 0, local event 7: index 0 comes after index 4 in the list; placed by its index",
             "entry 0, local event 8: ns 10 is before the event before it (5000000); kept at 5000000 so the log's times never go back",
             "entry 0, local event 9: flag \"sparkly\" is not one Deltascope knows; left out",
             "entry 0, local event 10: no whole-number \"epoch\"; taken as the epoch it falls in",
             "entry 0, local event 10: no \"fields\" string; kept with empty fields",
             "entry 0, local event 11: no \"kind\" string; skipped",
         })
        CHECK(notices.contains(QLatin1String(notice)));
    const EventLog& log = *session.log;
    QStringList order;
    for (qint64 i = 0; i < log.size(); ++i)
        order << (log.at(i).kind == EventKind::Note ? noteOf(log, i) : eventKindName(log.at(i).kind));
    CHECK(order.join(QStringLiteral(" | ")).toStdString()
        == "out of order | hello | epoch | no index | request | a message's index | ns as text | index again | stream-item | ns back | "
           "fault | ");
    // The log's times never go back (EventLog::firstAtOrAfter searches them), and a missing ns
    // takes the time before it.
    for (qint64 i = 1; i < log.size(); ++i)
        CHECK(log.at(i).monotonicNs >= log.at(i - 1).monotonicNs);
    CHECK(log.at(6).monotonicNs == 3100000);
    CHECK(log.at(9).monotonicNs == 5000000);
    CHECK(log.firstAtOrAfter(3000000) == 4);
    // Restored as written: the epoch event once (not made again for the connection/create), its
    // wall time, the known flag, an epoch taken from the frames around it, empty fields.
    CHECK(log.indexesOfKind(EventKind::EpochStarted).size() == 1);
    CHECK(log.at(2).wallMs == 1718000000002);
    CHECK(log.at(2).requestId == 1);
    CHECK(log.at(2).direction == Direction::Local);
    CHECK(log.at(10).flags == FlagCorrupting);
    CHECK(log.at(11).epoch == 1);
    CHECK(log.payload(11) == "{}");
    // Messages keep their exact ns and the request its place for links; the stream folds.
    CHECK(log.at(1).monotonicNs == 1000000);
    CHECK(log.requestIndex(1) == 4);
    CHECK(log.at(8).flags == FlagSnapshot);
    CHECK(foldAnomalies(log) == 0);
    CHECK_FALSE(session.header.partial);
}

TEST_CASE("import: a Deltascope HAR whose localEvents is not an array, or whose messages lack their ns, says so")
{
    const HarImportResult notArray = importHar(deltascopeHar(R"({"index":0,"kind":"note"})"), QStringLiteral("object.har"));
    REQUIRE(notArray.ok);
    REQUIRE(notArray.sessions.size() == 1);
    const ImportedSession& session = notArray.sessions[0];
    CHECK(noticesOf(session).contains(QStringLiteral("entry 0: _deltascope.localEvents is not an array; no local events restored")));
    // The frames are all there, with their exact times, and the epoch is made from the create.
    CHECK(framesOf(*session.log).size() == 3);
    CHECK(session.log->indexesOfKind(EventKind::EpochStarted).size() == 1);
    CHECK(session.log->at(0).monotonicNs == 1000000);
    CHECK(foldAnomalies(*session.log) == 0);

    QByteArray har = deltascopeHar("[]");
    har.replace(R"("ns":3000000,)", R"("ns":"soon",)");
    const HarImportResult noNs = importHar(har, QStringLiteral("nons.har"));
    REQUIRE(noNs.ok);
    const EventLog& log = *noNs.sessions[0].log;
    CHECK(noticesOf(noNs.sessions[0]).contains(QStringLiteral("entry 0, message 1: no whole-number _deltascope.ns; its monotonic time is taken from \"time\"")));
    // From the wall clock's step since the message before it: 2 ms after the hello's 1 ms.
    REQUIRE(log.size() == 4); // hello, epoch, request, item
    CHECK(log.at(2).kind == EventKind::Request);
    CHECK(log.at(2).monotonicNs == 3000000);
    CHECK(log.at(3).monotonicNs == 5000000);
}
