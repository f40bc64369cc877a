#include <catch2/catch.hpp>

#include "core/document/mutator.h"
#include "core/session/eventlog.h"
#include "core/session/incidentanalyzer.h"
#include "core/server/referenceserver.h"
#include "core/session/incidentsummary.h"
#include "core/session/sessionfolder.h"
#include "tests/support/testutils.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QTcpServer>
#include <QTimer>

using namespace deltascope;
using namespace std::chrono_literals;

namespace {

// Builds a session log by hand, as a replay would feed it, with times in milliseconds.
struct Script {
    EventLog log;
    IncidentAnalyzer analyzer { &log };
    qint64 nowMs = 0;
    // A live session's folder (useFolder()): fed each epoch and stream item as it is appended.
    std::unique_ptr<SessionFolder> folder;

    Script()
    {
        log.setNotifyInterval(0);
        IncidentOptions options;
        options.settleMs = 20;
        analyzer.setOptions(options);
        analyzer.setClock([this] { return nowMs * 1000000; });
    }
    qint64 add(qint64 atMs, EventKind kind, const QByteArray& payload, qint64 requestId = -1, qint64 seq = -1,
        quint16 parts = 0, quint8 flags = 0, qint32 code = 0)
    {
        nowMs = atMs;
        SessionEvent event;
        event.kind = kind;
        event.direction = naturalDirection(kind);
        event.monotonicNs = atMs * 1000000;
        event.requestId = requestId;
        event.seq = seq;
        event.parts = parts;
        event.flags = flags;
        event.code = code;
        const qint64 index = append(event, payload);
        log.flushNotifications();
        return index;
    }
    void useFolder()
    {
        folder = std::make_unique<SessionFolder>();
        analyzer.setTreeSource(folder.get());
    }
    // Appends as LiveSession does: the folder folds the event before anyone is notified of it.
    qint64 append(const SessionEvent& event, const QByteArray& payload, bool feedFolder = true)
    {
        const qint64 index = log.append(event, payload);
        if (folder && feedFolder && (event.kind == EventKind::EpochStarted || event.kind == EventKind::StreamItem))
            folder->processEvent(log.at(index), payload);
        return index;
    }
    void hello(qint64 at, const char* version)
    {
        add(at, EventKind::Hello,
            QStringLiteral(R"({"status":"connected","version":"%1","identities":{}})")
                .arg(QLatin1String(version))
                .toUtf8());
    }
    void epoch(qint64 at, int number, qint64 requestId)
    {
        add(at, EventKind::EpochStarted,
            QStringLiteral(R"({"epoch":%1,"requestId":%2})").arg(number).arg(requestId).toUtf8(), requestId);
    }
    void item(qint64 at, qint64 requestId, qint64 seq, const char* data)
    {
        add(at, EventKind::StreamItem,
            QStringLiteral(R"({"deliver":%1,"done":false,"response":{"delta":{"data":%2,"seq":%3}}})")
                .arg(requestId)
                .arg(QLatin1String(data))
                .arg(seq)
                .toUtf8(),
            requestId, seq, PartData | PartSeq);
    }
    void state(qint64 at, const char* to, const char* reason)
    {
        add(at, EventKind::StateChanged,
            QStringLiteral(R"({"from":"x","to":"%1","reason":"%2"})")
                .arg(QLatin1String(to), QLatin1String(reason))
                .toUtf8());
    }
    QJsonObject waitForIncident()
    {
        REQUIRE(test::waitUntil([&] { return !analyzer.incidents().isEmpty(); }, 5s));
        return analyzer.incidents().first();
    }
};

}

TEST_CASE("incident analyzer: a socket loss, reconnect and snapshot, a merging client keeps a deleted key")
{
    Script s;
    s.hello(0, "v1");
    s.epoch(1, 1, 1);
    s.item(10, 1, 5, R"({"title":"Demo","players":{"4":{"n":"ann"},"7":{"n":"bo"},"@o":[4,7]},"banner":"hi"})");
    s.add(20, EventKind::Request, R"({"method":"connection/send","id":2,"connection":1,"channel":"say","message":{}})",
        2);
    s.add(100, EventKind::FaultInjected, R"({"fault":"drop","params":{"mode":"rst"},"corrupting":false})");
    s.state(101, "reconnecting", "socket closed; reopening in 5 ms");
    s.add(101, EventKind::Failure, R"({"failure":2})", 2, -1, 0, FlagSynthetic, 999);
    s.add(102, EventKind::ReconnectPlanned,
        R"({"layer":"socket","delayMs":5,"attempt":1,"policy":"reference","reason":"socket backoff"})");
    s.hello(150, "v2");
    s.epoch(151, 2, 3);
    // While away: bo left, the banner was deleted, the title changed; seq moved 5 -> 9.
    s.item(170, 3, 9, R"({"title":"Demo 2","players":{"4":{"n":"ann"},"@o":[4]}})");
    const QJsonObject incident = s.waitForIncident();
    INFO(QJsonDocument(incident).toJson().toStdString());
    CHECK(incident.value(QLatin1String("verdict")).toString() == QLatin1String("converged-stale"));
    CHECK_FALSE(incident.value(QLatin1String("verified")).toBool());
    CHECK(incident.value(QLatin1String("trigger")).toString() == QLatin1String("fault drop"));
    CHECK(incident.value(QLatin1String("openedAtMs")).toDouble() == 100);
    const QJsonObject detection = incident.value(QLatin1String("detection")).toObject();
    CHECK(detection.value(QLatin1String("how")).toString() == QLatin1String("close"));
    CHECK(detection.value(QLatin1String("afterMs")).toDouble() == 1);
    CHECK(incident.value(QLatin1String("reconnects")).toArray().size() == 1);
    CHECK(
        incident.value(QLatin1String("reconnects")).toArray().first().toObject().value(QLatin1String("delayMs")).toInt()
        == 5);
    const QJsonObject resync = incident.value(QLatin1String("resync")).toObject();
    CHECK(resync.value(QLatin1String("newStreamAfterMs")).toDouble() == 51);
    CHECK(resync.value(QLatin1String("snapshotAfterMs")).toDouble() == 70);
    CHECK(resync.value(QLatin1String("seqBefore")).toInt() == 5);
    CHECK(resync.value(QLatin1String("snapshotSeq")).toInt() == 9);
    CHECK(resync.value(QLatin1String("framesRefetched")).toInt() == 1);
    CHECK(resync.value(QLatin1String("bytesRefetched")).toInt() > 50);
    CHECK(incident.value(QLatin1String("timeToConvergeMs")).toDouble() == 70);
    const QJsonObject changed = incident.value(QLatin1String("changedWhileAway")).toObject();
    CHECK(changed.value(QLatin1String("removed")).toArray().contains(QStringLiteral("players/7")));
    CHECK(changed.value(QLatin1String("removed")).toArray().contains(QStringLiteral("banner")));
    CHECK(changed.value(QLatin1String("changed")).toArray().contains(QStringLiteral("title")));
    // The reference client merges the snapshot over its old tree: the deleted banner stays.
    CHECK(incident.value(QLatin1String("stalePaths")).toArray().contains(QStringLiteral("banner")));
    const QJsonArray sends
        = incident.value(QLatin1String("inFlight")).toObject().value(QLatin1String("sends")).toArray();
    REQUIRE(sends.size() == 1);
    CHECK(sends.first().toObject().value(QLatin1String("applied")).toString() == QLatin1String("unknown"));
    CHECK(sends.first().toObject().value(QLatin1String("failure")).toInt() == 999);
    const QJsonObject version = incident.value(QLatin1String("version")).toObject();
    CHECK(version.value(QLatin1String("mismatch")).toBool());
    CHECK(version.value(QLatin1String("sessionVersion")).toString() == QLatin1String("v1"));
    CHECK(version.value(QLatin1String("after")).toString() == QLatin1String("v2"));
    REQUIRE(s.log.indexesOfKind(EventKind::Incident).size() == 1);
    CHECK(s.log.at(s.log.indexesOfKind(EventKind::Incident).front()).code == qint32(IncidentVerdict::ConvergedStale));

    // The same report as sentences, for the window and the Markdown bug report.
    const QString summary = incidentSummaryLines(incident).join(QLatin1Char('\n'));
    INFO(summary.toStdString());
    CHECK(summary.contains(QStringLiteral("Verdict: converged-stale (not checked against the truth")));
    CHECK(summary.contains(QStringLiteral("Fault drop at +0.0 ms {\"mode\":\"rst\"}")));
    CHECK(summary.contains(QStringLiteral("Noticed by the client after 1.0 ms, by close (socket closed; reopening in 5 ms)")));
    CHECK(summary.contains(QStringLiteral("Socket reconnect attempt 1 planned at +2.0 ms, after a 5.0 ms delay (reference policy, socket backoff)")));
    CHECK(summary.contains(QStringLiteral("New stream after 51 ms (epoch 1 to 2)")));
    CHECK(summary.contains(QStringLiteral("New snapshot after 70 ms at seq 9 (the client had reached seq 5)")));
    CHECK(summary.contains(QStringLiteral("Time to converge: 70 ms")));
    CHECK(summary.contains(QStringLiteral("removed: /players/7, /banner")));
    CHECK(summary.contains(QStringLiteral("When the incident closed, stale paths a merging client (the reference JS client) still shows: /banner")));
    CHECK(summary.contains(QStringLiteral("Send 2 (connection/send) in flight: applied unknown")));
    CHECK(summary.contains(QStringLiteral("Version mismatch: the session started with v1, the server now says v2")));
    CHECK(incidentSummaryLines({}).size() >= 2); // an empty report says little, and invents nothing
    CHECK_FALSE(incidentSummaryLines({}).join(QLatin1Char(' ')).contains(QStringLiteral("Time to converge")));
}

TEST_CASE("incident analyzer: a send in flight over a quiet document was not applied, acked sends were")
{
    Script s;
    s.hello(0, "v1");
    s.epoch(1, 1, 1);
    s.item(10, 1, 5, R"({"n":1})");
    s.add(20, EventKind::Request, R"({"method":"connection/send","id":2,"connection":1,"channel":"say","message":{}})",
        2);
    s.add(21, EventKind::Request, R"({"method":"connection/send","id":3,"connection":1,"channel":"say","message":{}})",
        3);
    s.state(50, "stalled", "no ping for 2600 ms");
    s.add(60, EventKind::Response, R"({"deliver":3,"done":true,"response":{"seq":6}})", 3, 6);
    s.state(70, "reconnecting", "liveness: 3 missed checks");
    s.epoch(80, 2, 4);
    s.item(90, 4, 6, R"({"n":2})");
    const QJsonObject incident = s.waitForIncident();
    INFO(QJsonDocument(incident).toJson().toStdString());
    CHECK(incident.value(QLatin1String("detection")).toObject().value(QLatin1String("how")).toString()
        == QLatin1String("missed pings"));
    const QJsonArray sends
        = incident.value(QLatin1String("inFlight")).toObject().value(QLatin1String("sends")).toArray();
    REQUIRE(sends.size() == 2);
    CHECK(sends[1].toObject().value(QLatin1String("applied")).toString() == QLatin1String("yes"));
    CHECK(sends[1].toObject().value(QLatin1String("inNewSnapshot")).toBool());
    // seq 5 before, 6 after: one transaction happened, and it was request 3's. Request 2's fate
    // cannot be known from the protocol.
    CHECK(sends[0].toObject().value(QLatin1String("applied")).toString() == QLatin1String("unknown"));
}

TEST_CASE("incident analyzer: without a truth, a fold anomaly that shows divergence makes the verdict diverged")
{
    // The incident a fold anomaly opens on a streaming client with no truth to compare with.
    const auto incidentAfter = [](const char* anomaly) {
        Script s;
        s.hello(0, "v1");
        s.epoch(1, 1, 1);
        s.state(2, "streaming", "snapshot");
        s.item(10, 1, 5, R"({"n":1})");
        s.add(20, EventKind::FoldAnomaly, anomaly);
        return s.waitForIncident();
    };
    // A delta dropped or reordered on the server's side reaches the client only as what it does
    // to the fold: an @o id or a range it does not have. No fault of the client's own.
    for (const char* anomaly : { R"({"anomaly":"id missing from element map","path":"lines","message":"@o names element \"9\", which is not in the element map","event":3})",
             R"({"anomaly":"range outside previous list","path":"lines","message":"[0,9] reaches past the previous list","event":3})" }) {
        INFO(anomaly);
        const QJsonObject incident = incidentAfter(anomaly);
        INFO(QJsonDocument(incident).toJson().toStdString());
        CHECK(incident.value(QLatin1String("verdict")).toString() == QLatin1String("diverged"));
        CHECK_FALSE(incident.value(QLatin1String("verified")).toBool());
        bool said = false;
        for (const QJsonValue& note : incident.value(QLatin1String("notes")).toArray())
            said = said || note.toString().startsWith(QLatin1String("the stream itself shows the client's tree and the server's deltas disagree"));
        CHECK(said);
    }
    // Other anomalies (a server's own odd delta, a repeated item that merges to the same tree) are
    // no divergence of the client's.
    for (const char* anomaly : { R"({"anomaly":"kind changed","path":"n","message":"integer to object","event":3})",
             R"({"anomaly":"seq-not-increasing","path":"","message":"seq 5 after seq 5","event":3})" }) {
        INFO(anomaly);
        CHECK(incidentAfter(anomaly).value(QLatin1String("verdict")).toString() == QLatin1String("converged"));
    }
}

TEST_CASE("incident analyzer: a corrupting fault without a resync is diverged, a client that gives up ends it")
{
    SECTION("silent drop, no shadow: diverged, unverified")
    {
        Script s;
        s.hello(0, "v1");
        s.epoch(1, 1, 1);
        s.item(10, 1, 5, R"({"n":1})");
        s.add(20, EventKind::FaultInjected, R"({"fault":"drop-message","params":{},"corrupting":true})", -1, -1, 0,
            FlagCorrupting);
        const QJsonObject incident = s.waitForIncident();
        CHECK(incident.value(QLatin1String("verdict")).toString() == QLatin1String("diverged"));
        CHECK(incident.value(QLatin1String("corrupting")).toBool());
        CHECK_FALSE(incident.value(QLatin1String("verified")).toBool());
    }
    SECTION("gave up")
    {
        Script s;
        s.hello(0, "v1");
        s.epoch(1, 1, 1);
        s.item(10, 1, 5, R"({"n":1})");
        s.add(20, EventKind::Failure, R"({"failure":1,"reason":403403,"retry":false})", 1, -1, 0, 0, 403403);
        s.state(21, "failed", "stream failed with 403403 (fatal)");
        const QJsonObject incident = s.waitForIncident();
        CHECK(incident.value(QLatin1String("verdict")).toString() == QLatin1String("gave-up"));
        CHECK(incident.value(QLatin1String("detection")).toObject().value(QLatin1String("how")).toString()
            == QLatin1String("failure"));
    }
    SECTION("reload item")
    {
        Script s;
        s.hello(0, "v1");
        s.epoch(1, 1, 1);
        s.item(10, 1, 5, R"({"n":1})");
        s.add(30, EventKind::StreamItem,
            R"({"deliver":1,"done":false,"response":{"delta":{"reload":{"preserve-view":true}}}})", 1, -1, PartReload);
        const QJsonObject incident = s.waitForIncident();
        CHECK(incident.value(QLatin1String("detection")).toObject().value(QLatin1String("how")).toString()
            == QLatin1String("reload"));
        CHECK(incident.value(QLatin1String("version")).toObject().value(QLatin1String("reload")).toBool());
        CHECK(incident.value(QLatin1String("verdict")).toString() == QLatin1String("converged"));
    }
}

TEST_CASE("incident analyzer: reference-client quirks are no incident, a real anomaly opens one")
{
    Script s;
    s.hello(0, "v1");
    s.epoch(1, 1, 1);
    s.item(10, 1, 1, R"({"prices":{"0":5,"1":7,"@s":2}})");
    // What LiveSession logs for a value list edited in place without `@s` (normal server output).
    for (int i = 0; i < 20; ++i)
        s.add(20 + i, EventKind::FoldAnomaly,
            R"({"anomaly":"value list edited without @s","path":"prices","message":"stale in the reference client","event":3,"quirk":true})");
    CHECK_FALSE(s.analyzer.hasOpenIncident());
    CHECK(s.analyzer.incidents().isEmpty());

    // A range outside the previous list is a delta/state divergence: an incident, with its notes
    // bounded however long the anomalies go on.
    for (int i = 0; i < 80; ++i)
        s.add(100 + i, EventKind::FoldAnomaly,
            R"({"anomaly":"range outside previous list","path":"players","message":"[4,9] over 3 elements","event":4})");
    REQUIRE(s.analyzer.hasOpenIncident());
    s.analyzer.finish();
    REQUIRE(s.analyzer.incidents().size() == 1);
    const QJsonObject incident = s.analyzer.incidents().first();
    // 50 anomaly notes at most, plus what finish() says about the session ending unresolved.
    CHECK(incident.value(QStringLiteral("notes")).toArray().size() <= 53);
    CHECK(incident.value(QStringLiteral("notesNotListed")).toInteger() >= 29);
}

namespace {
// A document on a loopback port nothing listens on: the shadow's connection is refused, as a
// client's are when the server is down.
DocumentTarget serverThatIsDown()
{
    QTcpServer closedPort;
    REQUIRE(closedPort.listen(QHostAddress::LocalHost, 0));
    DocumentTarget down;
    down.url = QUrl(QStringLiteral("ws://127.0.0.1:%1/~s").arg(closedPort.serverPort()));
    down.identity = QStringLiteral("anonymous:test");
    down.space = QStringLiteral("chat");
    down.key = QStringLiteral("demo");
    return down;
}
}

TEST_CASE("incident analyzer: no verdict while the client is still reconnecting, even when the truth check fails")
{
    // A server that is down: the shadow's connection is refused, as the client's are.
    const DocumentTarget down = serverThatIsDown();

    Script s;
    s.analyzer.setShadowTarget(down);
    s.hello(0, "v1");
    s.epoch(1, 1, 1);
    s.state(2, "streaming", "snapshot");
    s.item(10, 1, 5, R"({"n":1})");
    s.add(100, EventKind::FaultInjected, R"({"fault":"drop","params":{"mode":"rst"},"corrupting":false})");
    s.state(101, "reconnecting", "socket closed; reopening in 5 ms");
    s.add(102, EventKind::ReconnectPlanned,
        R"({"layer":"socket","delayMs":5,"attempt":1,"policy":"reference","reason":"socket backoff"})");
    // Several settle periods (20 ms each), each with a refused truth check.
    test::waitUntil([] { return false; }, 300ms);
    CHECK(s.analyzer.hasOpenIncident());
    CHECK(s.analyzer.incidents().isEmpty());

    // The client is back: the resync's snapshot closes the incident, unverified (the check still fails).
    s.hello(400, "v1");
    s.epoch(401, 2, 3);
    s.state(402, "streaming", "snapshot");
    s.item(420, 3, 9, R"({"n":2})");
    const QJsonObject incident = s.waitForIncident();
    INFO(QJsonDocument(incident).toJson().toStdString());
    CHECK(incident.value(QLatin1String("verdict")).toString() == QLatin1String("converged"));
    CHECK_FALSE(incident.value(QLatin1String("verified")).toBool());
    CHECK(incident.value(QLatin1String("resync")).toObject().value(QLatin1String("snapshotAfterMs")).toDouble() == 320);
    int failedChecks = 0;
    for (const QJsonValue& note : incident.value(QLatin1String("notes")).toArray())
        failedChecks += note.toString().startsWith(QLatin1String("shadow check failed: "));
    CHECK(failedChecks == 1); // said once, however many checks failed
}

TEST_CASE("incident analyzer: a session that ends while the client is still reconnecting is not converged")
{
    // The server went away and never came back; --duration (or Ctrl-C) then closed the client. The
    // truth check fails as the client's connects did: nothing says the client's tree is whole.
    const DocumentTarget down = serverThatIsDown();

    Script s;
    s.analyzer.setShadowTarget(down);
    s.hello(0, "v1");
    s.epoch(1, 1, 1);
    s.state(2, "streaming", "snapshot");
    s.item(10, 1, 5, R"({"n":1})");
    s.state(101, "reconnecting", "socket closed; reopening in 5 ms");
    s.add(102, EventKind::ReconnectPlanned,
        R"({"layer":"socket","delayMs":5,"attempt":1,"policy":"reference","reason":"socket backoff"})");
    test::waitUntil([] { return false; }, 100ms);
    s.state(200, "closed", "--duration 1 s elapsed");
    s.analyzer.finishWithin(3000);
    REQUIRE(s.analyzer.incidents().size() == 1);
    const QJsonObject incident = s.analyzer.incidents().first();
    INFO(QJsonDocument(incident).toJson().toStdString());
    CHECK(incident.value(QLatin1String("verdict")).toString() == QLatin1String("diverged"));
    CHECK_FALSE(incident.value(QLatin1String("verified")).toBool());
    CHECK(incident.value(QLatin1String("timeToConvergeMs")).isNull());
    CHECK(incident.value(QLatin1String("notes")).toArray().contains(QStringLiteral("the client had not recovered (state closed)")));
}

TEST_CASE("incident analyzer: a client that has never reached the server has no incident, one that has does")
{
    Script s;
    // The server is down from the start: connect, fail, retry, give up. No document was ever had.
    s.state(0, "connecting", "opening");
    s.state(5, "reconnecting", "connect failed: Connection refused");
    s.add(6, EventKind::ReconnectPlanned, R"({"layer":"socket","delayMs":5,"attempt":1,"policy":"reference","reason":"socket backoff"})");
    s.state(20, "connecting", "retry");
    s.state(25, "stalled", "no pong");
    s.state(30, "failed", "gave up after 2 attempts");
    CHECK_FALSE(s.analyzer.hasOpenIncident());
    s.analyzer.finish();
    CHECK(s.analyzer.incidents().isEmpty());

    // The same retries after the client has had its hello are an incident.
    Script t;
    t.hello(0, "v1");
    t.epoch(1, 1, 1);
    t.state(2, "streaming", "snapshot");
    t.item(10, 1, 5, R"({"n":1})");
    t.state(100, "reconnecting", "socket closed");
    CHECK(t.analyzer.hasOpenIncident());
    t.state(130, "failed", "gave up");
    REQUIRE(t.analyzer.incidents().size() == 1);
    CHECK(t.analyzer.incidents().first().value(QLatin1String("verdict")).toString() == QLatin1String("gave-up"));

    // A fault the user injects before the first connection is theirs to see analysed.
    Script u;
    u.add(0, EventKind::FaultInjected, R"({"fault":"drop","params":{"mode":"rst"},"corrupting":false})");
    u.state(1, "reconnecting", "socket closed");
    CHECK(u.analyzer.hasOpenIncident());
}

TEST_CASE("incident analyzer: a converged-stale verdict without a resync lists the paths that made it")
{
    Script s;
    s.hello(0, "v1");
    s.epoch(1, 1, 1);
    s.item(10, 1, 1, R"({"scores":{"0":1,"1":2,"@s":2}})");
    // A value list element edited without @s: the reference client keeps showing 2.
    s.item(20, 1, 2, R"({"scores":{"1":5}})");
    s.add(100, EventKind::FaultInjected, R"({"fault":"latency","params":{"ms":200},"corrupting":false})");
    s.item(150, 1, 3, R"({"n":1})");
    const QJsonObject incident = s.waitForIncident();
    INFO(QJsonDocument(incident).toJson().toStdString());
    CHECK(incident.value(QLatin1String("verdict")).toString() == QLatin1String("converged-stale"));
    CHECK(incident.value(QLatin1String("stalePaths")).toArray().contains(QStringLiteral("scores/1")));
    CHECK(incident.value(QLatin1String("staleCount")).toInt() == 1);
    CHECK_FALSE(incident.contains(QLatin1String("changedWhileAway"))); // nobody was away
    const QString summary = incidentSummaryLines(incident).join(QLatin1Char('\n'));
    INFO(summary.toStdString());
    CHECK(summary.contains(QStringLiteral("still shows: /scores/1")));
}

TEST_CASE("incident analyzer: staleness from value lists edited without @s is the reference client's standing quirk, not the incident's")
{
    Script s;
    s.hello(0, "v1");
    s.epoch(1, 1, 1);
    s.item(10, 1, 1, R"({"scores":{"0":1,"1":2,"@s":2},"banner":"hi"})");
    s.item(20, 1, 2, R"({"scores":{"1":5}})");
    // As LiveSession logs it, once per list and epoch.
    s.add(20, EventKind::FoldAnomaly,
        R"({"anomaly":"value list edited without @s","path":"scores","message":"value list element edited without @s","event":4,"quirk":true})");
    SECTION("a latency fault over it: converged, with the quirk's stale values reported apart")
    {
        s.add(100, EventKind::FaultInjected, R"({"fault":"latency","params":{"ms":200},"corrupting":false})");
        s.item(150, 1, 3, R"({"n":1})");
        const QJsonObject incident = s.waitForIncident();
        INFO(QJsonDocument(incident).toJson().toStdString());
        CHECK(incident.value(QLatin1String("verdict")).toString() == QLatin1String("converged"));
        CHECK_FALSE(incident.contains(QLatin1String("staleCount"))); // no resync, nothing of its own stale
    }
    SECTION("a resync that leaves a deleted key in the merging client: converged-stale for that key only")
    {
        s.add(100, EventKind::FaultInjected, R"({"fault":"drop","params":{"mode":"rst"},"corrupting":false})");
        s.state(101, "reconnecting", "socket closed");
        s.hello(150, "v1");
        s.epoch(151, 2, 2);
        s.state(152, "streaming", "new stream");
        s.item(160, 2, 5, R"({"scores":{"0":1,"1":5,"@s":2}})");
        s.item(170, 2, 6, R"({"scores":{"0":3}})");
        const QJsonObject incident = s.waitForIncident();
        INFO(QJsonDocument(incident).toJson().toStdString());
        CHECK(incident.value(QLatin1String("verdict")).toString() == QLatin1String("converged-stale"));
        CHECK(incident.value(QLatin1String("stalePaths")).toArray() == QJsonArray { QStringLiteral("banner") });
        CHECK(incident.value(QLatin1String("quirkStalePaths")).toArray() == QJsonArray { QStringLiteral("scores/0") });
        const QString summary = incidentSummaryLines(incident).join(QLatin1Char('\n'));
        INFO(summary.toStdString());
        CHECK(summary.contains(QStringLiteral("still shows: /banner")));
        CHECK(summary.contains(QStringLiteral("shows 1 stale value(s) in value lists the server edits without @s, as it does all along: /scores/0")));
    }
}

TEST_CASE("incident analyzer: an incident is never timed before the log's last event")
{
    Script s;
    s.hello(0, "v1");
    s.epoch(1, 1, 1);
    s.item(10, 1, 5, R"({"n":1})");
    s.add(100, EventKind::FaultInjected, R"({"fault":"latency","params":{"ms":200},"corrupting":false})");
    REQUIRE(s.analyzer.hasOpenIncident());
    // Events the analyzer has not been told of yet (notifications come in batches), and a clock
    // that has not caught up with them: the incident closes on its settle timer meanwhile.
    s.log.setNotifyInterval(60000);
    SessionEvent late;
    late.kind = EventKind::StreamItem;
    late.direction = Direction::Inbound;
    late.monotonicNs = 500 * 1000000;
    late.requestId = 1;
    late.seq = 6;
    late.parts = PartData | PartSeq;
    s.log.append(late, R"({"deliver":1,"done":false,"response":{"delta":{"data":{"n":2},"seq":6}}})");
    const QJsonObject incident = s.waitForIncident();
    const qint64 last = s.log.size() - 1;
    REQUIRE(s.log.at(last).kind == EventKind::Incident);
    CHECK(s.log.at(last).monotonicNs >= s.log.at(last - 1).monotonicNs);
    CHECK(incident.value(QLatin1String("closedAtMs")).toDouble() == 500);
}

TEST_CASE("incident analyzer: each stream item's frame is parsed once for both its trees")
{
    // The analyzer folds every item into two trees; the frame is parsed once (StreamItemFold), not
    // once per tree and again for its data. Counted with the fold parser's per-thread counter.
    Script s;
    s.hello(0, "v1");
    s.epoch(1, 1, 1);
    s.item(2, 1, 1, R"({"n":0,"l":{"1":{"v":1},"@o":[1]}})");
    const quint64 before = detail::parseJsonCount();
    for (int seq = 2; seq <= 41; ++seq)
        s.item(2 + seq, 1, seq, QStringLiteral(R"({"n":%1,"l":{"1":{"v":%1}}})").arg(seq).toUtf8().constData());
    CHECK(detail::parseJsonCount() - before == 40);
    CHECK(s.analyzer.incidents().isEmpty());
}

namespace {
// A hello, an epoch, then `items` stream items appended at once, with no notification yet (as a
// stall's release appends them): {"n": seq} each, seq 1..items.
void appendBurst(Script& s, int items)
{
    s.hello(0, "v1");
    s.epoch(1, 1, 1);
    for (int seq = 1; seq <= items; ++seq) {
        SessionEvent event;
        event.kind = EventKind::StreamItem;
        event.direction = naturalDirection(event.kind);
        event.monotonicNs = 2000000;
        event.requestId = 1;
        event.seq = seq;
        event.parts = PartData | PartSeq;
        s.append(event, QStringLiteral(R"({"deliver":1,"done":false,"response":{"delta":{"data":{"n":%1},"seq":%1}}})").arg(seq).toUtf8());
    }
}
}

TEST_CASE("incident analyzer: a burst of events is handled a slice per turn in order and finish() takes the rest")
{
    // A stall's release appends tens of thousands of stream items at once; handling them (two folds
    // each) in one turn held the window's event loop for over 100 ms. A slice of 0 ms (one event a
    // turn) makes the test's slices the same on any machine: a fast one handled all 30,000 in 10 ms.
    constexpr int kItems = 3000;
    const auto burst = [](Script& s) {
        s.analyzer.setSliceMilliseconds(0);
        appendBurst(s, kItems);
    };
    const auto folded = [](Script& s) {
        const NodeId n = s.analyzer.tree().find(QStringLiteral("n"));
        return n == kNoNode ? qint64(0) : s.analyzer.tree().integerValue(n);
    };

    SECTION("over several turns, with the event loop running between them")
    {
        Script s;
        burst(s);
        int ticks = 0;
        QTimer ticker;
        ticker.setInterval(0);
        QObject::connect(&ticker, &QTimer::timeout, [&] { ++ticks; });
        ticker.start();
        s.log.flushNotifications(); // the analyzer takes its first slice here
        const qint64 afterFirstSlice = folded(s);
        CHECK(afterFirstSlice > 0);
        CHECK(afterFirstSlice < kItems);
        const int ticksAtFirstSlice = ticks;
        REQUIRE(test::waitUntil([&] { return folded(s) == kItems; }, 60s));
        CHECK(ticks > ticksAtFirstSlice + 1);
        CHECK(s.analyzer.incidents().isEmpty());
    }
    SECTION("finish() handles what is left at once")
    {
        Script s;
        burst(s);
        s.log.flushNotifications();
        CHECK(folded(s) < kItems);
        s.analyzer.finish();
        CHECK(folded(s) == kItems);
    }
}

TEST_CASE("incident analyzer: an incident opened behind a backlog is seen by a caller that catches up first")
{
    // faultwatch waits for the truth check only while hasOpenIncident(): read while a burst is
    // still handled a slice per turn, it said no, and finish() then closed the incident unchecked.
    Script s;
    s.analyzer.setSliceMilliseconds(0); // one event a turn: the fault is behind on any machine
    appendBurst(s, 3000);
    SessionEvent fault;
    fault.kind = EventKind::FaultInjected;
    fault.direction = naturalDirection(fault.kind);
    fault.monotonicNs = 3000000;
    s.log.append(fault, R"({"fault":"drop","params":{"mode":"rst"},"corrupting":false})");
    s.log.flushNotifications(); // the analyzer takes its first slice: the fault is still behind
    REQUIRE_FALSE(s.analyzer.hasOpenIncident());
    s.analyzer.catchUp();
    CHECK(s.analyzer.hasOpenIncident());
}

namespace {
// The socket-loss story of the first test, with a steady stream before the fault and after the
// resync: what the analyzer's trees and reports are checked on with and without a tree source.
void socketLossWithSteadyStream(Script& s)
{
    s.hello(0, "v1");
    s.epoch(1, 1, 1);
    s.item(10, 1, 5, R"({"title":"Demo","players":{"4":{"n":"ann"},"7":{"n":"bo"},"@o":[4,7]},"banner":"hi"})");
    for (int seq = 6; seq <= 30; ++seq)
        s.item(10 + seq, 1, seq, QStringLiteral(R"({"players":{"4":{"score":%1}}})").arg(seq).toUtf8().constData());
    s.add(50, EventKind::FaultInjected, R"({"fault":"drop","params":{"mode":"rst"},"corrupting":false})");
    s.state(51, "reconnecting", "socket closed; reopening in 5 ms");
    s.hello(60, "v1");
    s.epoch(61, 2, 3);
    s.item(70, 3, 40, R"({"title":"Demo 2","players":{"4":{"n":"ann","score":40},"@o":[4]}})");
    for (int seq = 41; seq <= 60; ++seq)
        s.item(30 + seq, 3, seq, QStringLiteral(R"({"players":{"4":{"score":%1}}})").arg(seq).toUtf8().constData());
}
}

TEST_CASE("incident analyzer: with the session's folder as tree source it folds only what an incident needs")
{
    Script own;
    Script shared;
    shared.useFolder();
    socketLossWithSteadyStream(own);
    socketLossWithSteadyStream(shared);
    const QJsonObject ownIncident = own.waitForIncident();
    const QJsonObject sharedIncident = shared.waitForIncident();
    INFO(QJsonDocument(sharedIncident).toJson().toStdString());
    CHECK(sharedIncident == ownIncident);
    CHECK(sharedIncident.value(QLatin1String("verdict")).toString() == QLatin1String("converged-stale"));
    CHECK(shared.analyzer.tree().toJson() == own.analyzer.tree().toJson());
    CHECK(shared.analyzer.mergedTree().toJson() == own.analyzer.mergedTree().toJson());
    CHECK(shared.analyzer.mergedTree().toJson() == shared.folder->mergedTree().toJson());
    // Provenance comes along: the events that touched the score are the same.
    const auto scoreHistory = [](Script& s) {
        const DocumentTree& tree = s.analyzer.tree();
        return tree.history(tree.find(QStringLiteral("players/4/score"))).recentEvents;
    };
    CHECK(scoreHistory(shared) == scoreHistory(own));
    CHECK(own.analyzer.itemsFoldedHere() == 47);
    // Only the items from the fault on, while the incident was open, were folded here.
    CHECK(shared.analyzer.itemsFoldedHere() > 0);
    CHECK(shared.analyzer.itemsFoldedHere() <= 21);
}

TEST_CASE("incident analyzer: with a tree source, quiet items are read from their events as their frames say")
{
    // With a source and nothing wrong, an item's seq and parts come from its event, not its frame.
    // Each kind of frame must leave the analyzer where parsing it would.
    Script own;
    Script shared;
    shared.useFolder();
    for (Script* s : { &own, &shared }) {
        s->hello(0, "v1");
        s->epoch(1, 1, 1);
        s->item(2, 1, 1, R"({"n":1})");
        // A delta with a seq and no data.
        s->add(3, EventKind::StreamItem, R"({"deliver":1,"done":false,"response":{"delta":{"seq":2}}})", 1, 2, PartSeq);
        s->item(4, 1, 3, R"({"n":3})");
        // No response.delta object: the client reads the response's seq, which is not a delta's.
        s->add(5, EventKind::StreamItem, R"({"deliver":1,"done":false,"response":{"seq":77}})", 1, 77, 0);
        // A reload opens an incident at the last delta's seq.
        s->add(6, EventKind::StreamItem, R"({"deliver":1,"done":false,"response":{"delta":{"reload":true,"seq":4}}})", 1, 4,
            PartReload | PartSeq);
        s->item(7, 1, 5, R"({"n":5})");
    }
    const QJsonObject ownIncident = own.waitForIncident();
    const QJsonObject sharedIncident = shared.waitForIncident();
    INFO(QJsonDocument(sharedIncident).toJson().toStdString());
    CHECK(sharedIncident == ownIncident);
    CHECK(sharedIncident.value(QLatin1String("trigger")).toString() == QLatin1String("reload item"));
    CHECK(sharedIncident.value(QLatin1String("resync")).toObject().value(QLatin1String("seqBefore")).toInteger() == 3);
    CHECK(shared.analyzer.tree().toJson() == QByteArray(R"({"n":5})"));
    CHECK(own.analyzer.tree().toJson() == QByteArray(R"({"n":5})"));
    // Only the item after the reload, with the incident open, was folded here.
    CHECK(shared.analyzer.itemsFoldedHere() == 1);
}

TEST_CASE("incident analyzer: items its tree source did not fold are folded here")
{
    Script s;
    s.useFolder();
    s.hello(0, "v1");
    s.epoch(1, 1, 1);
    s.item(2, 1, 1, R"({"n":1,"seen":"folder"})");
    CHECK(s.analyzer.itemsFoldedHere() == 0);
    // An item the folder never saw (another writer of the log): the source is out of step.
    SessionEvent event;
    event.kind = EventKind::StreamItem;
    event.direction = naturalDirection(event.kind);
    event.monotonicNs = 3000000;
    event.requestId = 1;
    event.seq = 2;
    event.parts = PartData | PartSeq;
    s.append(event, R"({"deliver":1,"done":false,"response":{"delta":{"data":{"n":2},"seq":2}}})", false);
    s.log.flushNotifications();
    CHECK(s.analyzer.tree().toJson() == QByteArray(R"({"n":2,"seen":"folder"})"));
    CHECK(s.analyzer.mergedTree().toJson() == QByteArray(R"({"n":2,"seen":"folder"})"));
    // The first item came with the source's trees; only the second was folded here.
    CHECK(s.analyzer.itemsFoldedHere() == 1);
    CHECK(s.folder->epochTree().toJson() == QByteArray(R"({"n":1,"seen":"folder"})"));
}

TEST_CASE("incident analyzer: a backlog handled behind its tree source is not folded here")
{
    Script s;
    s.useFolder();
    // A stall's release: the folder has folded the backlog as it was appended, the analyzer handles
    // it a slice per turn, out of step with the folder until it has caught up.
    appendBurst(s, 10000);
    s.log.flushNotifications();
    s.analyzer.catchUp();
    CHECK(s.analyzer.tree().toJson() == QByteArray(R"({"n":10000})"));
    CHECK(s.analyzer.itemsFoldedHere() == 0);
}

TEST_CASE("incident analyzer: a tree source that runs ahead is met by a copy of its trees")
{
    // Live, the folder folds each event as it is appended and the analyzer handles it a
    // notification later, so at the end of a batch the folder is often further on: a copy of its
    // trees from then is taken when the analyzer reaches that event.
    EventLog log;
    log.setNotifyInterval(0);
    SessionFolder folder;
    qint64 nextSeq = 1;
    const auto appendItem = [&](bool feedFolder) {
        SessionEvent event;
        event.kind = EventKind::StreamItem;
        event.direction = naturalDirection(event.kind);
        event.requestId = 1;
        event.seq = nextSeq;
        event.parts = PartData | PartSeq;
        const QByteArray payload
            = QStringLiteral(R"({"deliver":1,"done":false,"response":{"delta":{"data":{"n":%1},"seq":%1}}})").arg(nextSeq++).toUtf8();
        const qint64 index = log.append(event, payload);
        if (feedFolder)
            folder.processEvent(log.at(index), payload);
    };
    // Connected before the analyzer, so it runs first: the stream goes on while a batch is handed out.
    int appendedWhileNotifying = 0;
    QObject::connect(&log, &EventLog::eventsAppended, [&] {
        for (; appendedWhileNotifying > 0; --appendedWhileNotifying)
            appendItem(true);
    });
    IncidentAnalyzer analyzer(&log);
    analyzer.setTreeSource(&folder);

    SessionEvent epoch;
    epoch.kind = EventKind::EpochStarted;
    epoch.direction = naturalDirection(epoch.kind);
    epoch.requestId = 1;
    epoch.epoch = 1;
    const QByteArray epochPayload = R"({"epoch":1,"requestId":1})";
    folder.processEvent(log.at(log.append(epoch, epochPayload)), epochPayload);
    log.flushNotifications();

    appendItem(true); // seq 1
    appendedWhileNotifying = 5; // seq 2..6, folded by the folder before the analyzer sees seq 1
    log.flushNotifications();
    appendedWhileNotifying = 2; // seq 7..8, while the analyzer handles 2..6
    log.flushNotifications();
    CHECK(analyzer.itemsFoldedHere() == 0);
    CHECK(analyzer.tree().toJson() == QByteArray(R"({"n":6})")); // the copy from when the folder was at 6
    CHECK(folder.epochTree().toJson() == QByteArray(R"({"n":8})"));
    log.flushNotifications();
    CHECK(analyzer.tree().toJson() == QByteArray(R"({"n":8})"));
    CHECK(analyzer.mergedTree().toJson() == QByteArray(R"({"n":8})"));
    CHECK(analyzer.itemsFoldedHere() == 0);

    appendItem(false); // seq 9, which the folder never sees
    log.flushNotifications();
    CHECK(analyzer.tree().toJson() == QByteArray(R"({"n":9})"));
    CHECK(analyzer.itemsFoldedHere() == 1);
}

TEST_CASE("incident analyzer: the client's tree at any seq of an open incident is the fold up to that seq")
{
    // History keeps a copy of the tree every so many seqs and rebuilds the trees between by folding
    // forward: each must equal the tree folded directly, provenance included, across checkpoints
    // and after the oldest seqs leave the bounded history.
    for (const bool withSource : { false, true }) {
        INFO("with a tree source: " << withSource);
        Script s;
        if (withSource)
            s.useFolder();
        s.hello(0, "v1");
        s.epoch(1, 1, 1);
        std::vector<std::pair<qint64, QByteArray>> deltas; // event index, data
        const auto item = [&](qint64 seq, bool withData) {
            const QByteArray data = QStringLiteral(R"({"n":%1,"k%2":%1,"list":{"%1":{"v":%1},"@o":[%1]}})").arg(seq).arg(seq % 5).toUtf8();
            const QByteArray frame = withData
                ? QStringLiteral(R"({"deliver":1,"done":false,"response":{"delta":{"data":%1,"seq":%2}}})").arg(QString::fromUtf8(data)).arg(seq).toUtf8()
                : QStringLiteral(R"({"deliver":1,"done":false,"response":{"delta":{"seq":%1}}})").arg(seq).toUtf8();
            const qint64 index = s.add(10 + seq, EventKind::StreamItem, frame, 1, seq, withData ? PartData | PartSeq : PartSeq);
            if (withData)
                deltas.emplace_back(index, data);
        };
        for (qint64 seq = 1; seq <= 20; ++seq)
            item(seq, true);
        s.hello(30, "v2"); // opens an incident: history starts at seq 20
        REQUIRE(s.analyzer.hasOpenIncident());
        // Seqs 21..700, some without data and a gap (seqs 300..309 never reach this viewer).
        for (qint64 seq = 21; seq <= 700; ++seq) {
            if (seq < 300 || seq >= 310)
                item(seq, seq % 7 != 0);
        }
        const auto direct = [&](qint64 upToSeq) {
            DocumentTree tree;
            for (const auto& [index, data] : deltas) {
                const SessionEvent& event = s.log.at(index);
                if (event.seq > upToSeq)
                    break;
                tree.apply(std::string_view(data.constData(), std::size_t(data.size())), index);
            }
            return tree;
        };
        for (const qint64 seq : { qint64(188), qint64(189), qint64(250), qint64(252), qint64(253), qint64(299), qint64(305),
                 qint64(310), qint64(316), qint64(317), qint64(500), qint64(699), qint64(700), qint64(900) }) {
            INFO("seq " << seq);
            qint64 found = -1;
            const DocumentTree atSeq = s.analyzer.clientTreeAt(seq, &found);
            const qint64 expectedSeq = seq >= 300 && seq < 310 ? 299 : std::min<qint64>(seq, 700);
            CHECK(found == expectedSeq);
            const DocumentTree expected = direct(expectedSeq);
            CHECK(atSeq.toJson() == expected.toJson());
            const NodeId n = atSeq.find(QStringLiteral("n"));
            REQUIRE(n != kNoNode);
            CHECK(atSeq.history(n).recentEvents == expected.history(expected.find(QStringLiteral("n"))).recentEvents);
        }
        // 680 seqs kept since the incident opened, over the bound of 512: the oldest left are the tree now.
        qint64 found = -1;
        CHECK(s.analyzer.clientTreeAt(25, &found).toJson() == direct(700).toJson());
        CHECK(found == 700);
    }
}

TEST_CASE("incident analyzer: history by seq holds with reordered and repeated seqs and items without a seq")
{
    // Faults reorder and duplicate deltas while an incident is open, and refreshes carry data with no
    // seq: the tree at a seq is the tree after the last item that carried it, in arrival order. The
    // 512 largest seqs are kept; the oldest of them are checked after every block, while the
    // history is trimmed.
    Script s;
    s.hello(0, "v1");
    s.epoch(1, 1, 1);
    DocumentTree direct; // every item folded in arrival order
    std::map<qint64, QByteArray> jsonAfter; // event index -> the document after that item
    std::map<qint64, qint64> lastItemOfSeq;
    qint64 at = 2;
    qint64 itemCount = 0;
    qint64 lastSeq = -1;
    const auto item = [&](qint64 seq) {
        const qint64 n = ++itemCount;
        const QByteArray data = QStringLiteral(R"({"n":%1,"k%2":%1})").arg(n).arg(n % 5).toUtf8();
        const QByteArray frame = seq >= 0
            ? QStringLiteral(R"({"deliver":1,"done":false,"response":{"delta":{"data":%1,"seq":%2}}})").arg(QString::fromUtf8(data)).arg(seq).toUtf8()
            : QStringLiteral(R"({"deliver":1,"done":false,"response":{"delta":{"data":%1}}})").arg(QString::fromUtf8(data)).toUtf8();
        const qint64 index = s.add(at++, EventKind::StreamItem, frame, 1, seq, seq >= 0 ? PartData | PartSeq : PartData);
        direct.apply(std::string_view(data.constData(), std::size_t(data.size())), index);
        jsonAfter[index] = direct.toJson();
        if (seq >= 0) {
            lastItemOfSeq[seq] = index;
            lastSeq = seq;
        }
    };
    for (qint64 seq = 1; seq <= 20; ++seq)
        item(seq);
    s.hello(at++, "v2"); // opens an incident: history starts at seq 20
    REQUIRE(s.analyzer.hasOpenIncident());
    // Seqs 21..1300 in blocks of 16 arriving backwards (so a late seq lands on checkpoint boundaries),
    // every 50th seq sent twice (again after its block), a refresh with no seq every 30 items.
    QStringList wrong;
    std::vector<qint64> again;
    for (qint64 block = 21; block <= 1300; block += 16) {
        const qint64 top = std::min<qint64>(block + 15, 1300);
        for (qint64 seq = top; seq >= block; --seq) {
            item(seq);
            if (seq % 50 == 0)
                again.push_back(seq);
            if (itemCount % 30 == 0)
                item(-1);
        }
        for (const qint64 seq : again)
            item(seq);
        again.clear();
        const qint64 oldestKept = std::max<qint64>(20, top - 511);
        for (qint64 seq = oldestKept; seq < oldestKept + 40 && seq <= top; ++seq) {
            qint64 found = -1;
            const QByteArray tree = s.analyzer.clientTreeAt(seq, &found).toJson();
            if (found != seq || tree != jsonAfter.at(lastItemOfSeq.at(seq)))
                wrong.append(QStringLiteral("seq %1 after block %2: found %3").arg(seq).arg(block).arg(found));
        }
    }
    INFO(wrong.join(QLatin1Char('\n')).toStdString());
    CHECK(wrong.isEmpty());
    qint64 found = -1;
    CHECK(s.analyzer.clientTreeAt(700, &found).toJson() == direct.toJson()); // left the history: the tree now
    CHECK(found == lastSeq);
}

TEST_CASE("incident analyzer: at the end, a truth ahead of a client whose stream has ended is not waited for")
{
    // The server goes on (a bot, other people) after the session's own stream ended: the client
    // can never reach the truth's seq, so finishWithin() stops checking and says why.
    server::ServerOptions options;
    options.botsPaused = true;
    server::ReferenceServer truthServer(options);
    REQUIRE(truthServer.listen() != 0);
    DocumentTarget truth;
    truth.url = QUrl(truthServer.url());
    truth.identity = QStringLiteral("anonymous:test");
    truth.space = QStringLiteral("chat");
    truth.key = QStringLiteral("ended");

    Script s;
    s.analyzer.setShadowTarget(truth);
    s.hello(0, "v1");
    s.epoch(1, 1, 1);
    s.state(2, "streaming", "snapshot");
    s.item(10, 1, 1, R"({"n":1})"); // seq 1: the truth's connect alone takes it past that
    s.add(100, EventKind::FaultInjected, R"({"fault":"drop-message","params":{},"corrupting":true})");
    s.state(120, "closed", "stream ended (connection/end)");
    REQUIRE(s.analyzer.hasOpenIncident());
    s.analyzer.finishWithin(60000); // a wait for a check that cannot judge would time the test out
    CHECK_FALSE(s.analyzer.hasOpenIncident());
    REQUIRE(s.analyzer.incidents().size() == 1);
    const QJsonObject incident = s.analyzer.incidents().first();
    INFO(QJsonDocument(incident).toJson().toStdString());
    CHECK(incident.value(QLatin1String("verdict")).toString() == QLatin1String("diverged"));
    CHECK_FALSE(incident.value(QLatin1String("verified")).toBool());
    bool said = false;
    for (const QJsonValue& note : incident.value(QLatin1String("notes")).toArray())
        said = said || note.toString().startsWith(QLatin1String("the session ended at seq 1, before the truth (seq "));
    CHECK(said);
}

TEST_CASE("incident analyzer: a long run of items without a seq keeps history bounded and usable")
{
    Script s;
    s.hello(0, "v1");
    s.epoch(1, 1, 1);
    s.item(2, 1, 1, R"({"n":1})");
    s.hello(3, "v2"); // opens an incident
    REQUIRE(s.analyzer.hasOpenIncident());
    qint64 at = 4;
    for (int i = 0; i < 64 * 70; ++i) // past the checkpoint cap
        s.add(at++, EventKind::StreamItem, QStringLiteral(R"({"deliver":1,"done":false,"response":{"delta":{"data":{"r":%1}}}})").arg(i).toUtf8(), 1, -1, PartData);
    for (qint64 seq = 2; seq <= 4; ++seq)
        s.item(at++, 1, seq, QStringLiteral(R"({"n":%1})").arg(seq).toUtf8().constData());
    qint64 found = -1;
    CHECK(s.analyzer.clientTreeAt(3, &found).toJson() == QByteArray(R"({"n":3,"r":4479})"));
    CHECK(found == 3);
    // Seq 1 was reached before the checkpoints kept: it gives the tree now.
    CHECK(s.analyzer.clientTreeAt(1, &found).toJson() == QByteArray(R"({"n":4,"r":4479})"));
    CHECK(found == 4);
}

TEST_CASE("incident analyzer: a new stream has reached no seq until its snapshot")
{
    // A truth check that answers between a new stream's start and its snapshot must wait for the
    // snapshot, not compare the emptied tree as the old stream's last seq.
    Script s;
    s.hello(0, "v1");
    s.epoch(1, 1, 1);
    for (qint64 seq = 1; seq <= 10; ++seq)
        s.item(1 + seq, 1, seq, QStringLiteral(R"({"n":%1})").arg(seq).toUtf8().constData());
    s.hello(20, "v2"); // opens an incident
    s.epoch(21, 2, 2);
    qint64 found = 0;
    CHECK(s.analyzer.clientTreeAt(10, &found).toJson() == QByteArray("{}"));
    CHECK(found == -1);
    s.item(22, 2, 12, R"({"n":12})");
    CHECK(s.analyzer.clientTreeAt(12, &found).toJson() == QByteArray(R"({"n":12})"));
    CHECK(found == 12);
    const QJsonObject incident = s.waitForIncident();
    CHECK(incident.value(QLatin1String("resync")).toObject().value(QLatin1String("seqBefore")).toInteger() == 10);
}

TEST_CASE("incident analyzer: at the end, only a check that can close the incident is waited for")
{
    // No truth to fetch, the client never came back: no check can close it; finish() at once.
    {
        Script s;
        s.hello(0, "v1");
        s.epoch(1, 1, 1);
        s.state(2, "streaming", "snapshot");
        s.item(10, 1, 5, R"({"n":1})");
        s.state(100, "reconnecting", "socket closed; reopening in 5 ms");
        test::waitUntil([] { return false; }, 60ms); // a settle period or more: the check finds it recovering
        REQUIRE(s.analyzer.hasOpenIncident());
        CHECK_FALSE(s.analyzer.checkComing());
        s.analyzer.finishWithin(60000); // returns without waiting (a hang would time the test out)
        CHECK_FALSE(s.analyzer.hasOpenIncident());
        REQUIRE(s.analyzer.incidents().size() == 1);
    }
    // Back and streaming with a check due: that check closes it, with its verdict, not finish()'s.
    {
        Script s;
        s.hello(0, "v1");
        s.epoch(1, 1, 1);
        s.state(2, "streaming", "snapshot");
        s.item(10, 1, 5, R"({"n":1})");
        s.state(100, "reconnecting", "socket closed; reopening in 5 ms");
        s.hello(110, "v1");
        s.state(111, "streaming", "socket back, stream kept");
        REQUIRE(s.analyzer.hasOpenIncident());
        CHECK(s.analyzer.checkComing());
        s.analyzer.finishWithin(60000);
        REQUIRE(s.analyzer.incidents().size() == 1);
        const QJsonArray notes = s.analyzer.incidents().first().value(QLatin1String("notes")).toArray();
        for (const QJsonValue& note : notes)
            CHECK_FALSE(note.toString().startsWith(QLatin1String("the session ended before")));
    }
}

namespace {
// Lets the analyzer's timers run for a while (its settle time is 20 ms here) without a condition.
void runEventsFor(std::chrono::milliseconds duration)
{
    test::waitUntil([] { return false; }, duration);
}

bool hasNoteStartingWith(const QJsonObject& incident, QLatin1String start)
{
    for (const QJsonValue& note : incident.value(QLatin1String("notes")).toArray()) {
        if (note.toString().startsWith(start))
            return true;
    }
    return false;
}
}

TEST_CASE("incident analyzer: a stall or held pings keeps its incident open until it ends, with what the client notices of it")
{
    SECTION("held pings the client notices: one incident from the fault to the resync")
    {
        Script s;
        s.hello(0, "v1");
        s.epoch(1, 1, 1);
        s.state(2, "streaming", "snapshot");
        s.item(10, 1, 5, R"({"n":1})");
        s.add(100, EventKind::FaultInjected, R"({"fault":"hold-pings","params":{"durationMs":8000},"corrupting":false})");
        s.analyzer.catchUp();
        runEventsFor(150ms); // many settle times: nothing judges a hold before it ends
        REQUIRE(s.analyzer.hasOpenIncident());
        CHECK(s.analyzer.incidents().isEmpty());
        s.state(3100, "stalled", "no ping for 3000 ms");
        s.state(5100, "reconnecting", "liveness: no ping for 5000 ms");
        s.hello(5200, "v1");
        s.epoch(5201, 2, 2);
        s.state(5202, "streaming", "new stream");
        s.item(5210, 2, 6, R"({"n":2})");
        const QJsonObject incident = s.waitForIncident();
        INFO(QJsonDocument(incident).toJson().toStdString());
        CHECK(s.analyzer.incidents().size() == 1);
        CHECK(incident.value(QLatin1String("trigger")).toString() == QLatin1String("fault hold-pings"));
        CHECK(incident.value(QLatin1String("detection")).toObject().value(QLatin1String("how")).toString() == QLatin1String("missed pings"));
        CHECK(incident.value(QLatin1String("resync")).toObject().value(QLatin1String("epochAfter")).toInteger() == 2);
    }
    SECTION("a stall the client does not notice: judged once the stall has ended")
    {
        Script s;
        s.hello(0, "v1");
        s.epoch(1, 1, 1);
        s.state(2, "streaming", "snapshot");
        s.item(10, 1, 5, R"({"n":1})");
        s.add(100, EventKind::FaultInjected, R"({"fault":"stall","params":{"direction":"both","durationMs":500},"corrupting":false})");
        runEventsFor(150ms);
        REQUIRE(s.analyzer.hasOpenIncident());
        s.add(600, EventKind::FaultInjected, R"({"fault":"clear-stall","params":{"reason":"durationMs elapsed"},"corrupting":false})");
        const QJsonObject incident = s.waitForIncident();
        INFO(QJsonDocument(incident).toJson().toStdString());
        CHECK(incident.value(QLatin1String("verdict")).toString() == QLatin1String("converged"));
        CHECK(incident.value(QLatin1String("faults")).toArray().size() == 2);
        // No new stream: absent values are null, not numbers that read as an epoch or a seq.
        const QJsonObject resync = incident.value(QLatin1String("resync")).toObject();
        CHECK(resync.value(QLatin1String("epochAfter")).isNull());
        CHECK(resync.value(QLatin1String("snapshotSeq")).isNull());
        CHECK(resync.value(QLatin1String("seqBefore")).toInteger() == 5);
    }
}

TEST_CASE("incident analyzer: after a diverged verdict, the epoch's later anomalies are its consequences, a new stream's are not")
{
    Script s;
    s.hello(0, "v1");
    s.epoch(1, 1, 1);
    s.state(2, "streaming", "snapshot");
    s.item(10, 1, 5, R"({"n":1})");
    s.add(20, EventKind::FaultInjected, R"({"fault":"drop-message","params":{},"corrupting":true})", -1, -1, 0, FlagCorrupting);
    const QJsonObject diverged = s.waitForIncident();
    CHECK(diverged.value(QLatin1String("verdict")).toString() == QLatin1String("diverged"));
    CHECK(hasNoteStartingWith(diverged, QLatin1String("the client's tree stays diverged until a new stream replaces it")));
    const char* missing = R"({"anomaly":"id missing from element map","path":"lines","message":"@o names element \"9\", which is not in the element map","event":3})";
    s.add(200, EventKind::FoldAnomaly, missing);
    s.analyzer.catchUp();
    runEventsFor(100ms);
    CHECK_FALSE(s.analyzer.hasOpenIncident());
    CHECK(s.analyzer.incidents().size() == 1);

    // A resync replaces the tree: an anomaly after it is trouble of its own.
    s.state(300, "reconnecting", "socket closed");
    s.hello(310, "v1");
    s.epoch(311, 2, 2);
    s.state(312, "streaming", "new stream");
    s.item(320, 2, 9, R"({"n":3})");
    REQUIRE(test::waitUntil([&] { return s.analyzer.incidents().size() == 2; }, 5s));
    s.add(400, EventKind::FoldAnomaly, missing);
    CHECK(s.analyzer.hasOpenIncident());
}

TEST_CASE("incident analyzer: a fault before the document is requested is a condition of the session, listed by the incidents after it")
{
    Script s;
    s.add(0, EventKind::FaultInjected, R"({"fault":"latency","params":{"ms":40,"jitterMs":30},"corrupting":false})");
    s.hello(40, "v1");
    s.epoch(41, 1, 1);
    s.state(42, "streaming", "document stream requested");
    s.item(90, 1, 5, R"({"n":1})");
    s.analyzer.catchUp();
    runEventsFor(100ms);
    CHECK_FALSE(s.analyzer.hasOpenIncident());
    CHECK(s.analyzer.incidents().isEmpty());
    s.add(1500, EventKind::FaultInjected, R"({"fault":"drop","params":{"mode":"rst"},"corrupting":false})");
    s.state(1501, "reconnecting", "socket closed");
    s.hello(1510, "v1");
    s.epoch(1511, 2, 2);
    s.state(1512, "streaming", "new stream");
    s.item(1520, 2, 8, R"({"n":2})");
    const QJsonObject incident = s.waitForIncident();
    INFO(QJsonDocument(incident).toJson().toStdString());
    CHECK(incident.value(QLatin1String("trigger")).toString() == QLatin1String("fault drop"));
    CHECK(incident.value(QLatin1String("faults")).toArray().size() == 1);
    CHECK(hasNoteStartingWith(incident,
        QLatin1String("injected before the document was first requested (the session's conditions from its start): [{\"corrupting\":false,\"fault\":\"latency\"")));
    CHECK(incident.value(QLatin1String("resync")).toObject().value(QLatin1String("seqBefore")).toInteger() == 5);
}

TEST_CASE("incident analyzer: a fault applied as the stream is requested, before its first item, is the incident's cause")
{
    // watch --fault applies once the client has sent connection/create.
    Script s;
    s.hello(0, "v1");
    s.epoch(1, 1, 1);
    s.state(2, "streaming", "document stream requested");
    s.add(3, EventKind::FaultInjected, R"({"fault":"drop","params":{"mode":"rst"},"corrupting":false})");
    s.state(4, "reconnecting", "socket closed");
    s.hello(20, "v1");
    s.epoch(21, 2, 2);
    s.state(22, "streaming", "new stream");
    s.item(30, 2, 3, R"({"n":1})");
    const QJsonObject incident = s.waitForIncident();
    INFO(QJsonDocument(incident).toJson().toStdString());
    CHECK(incident.value(QLatin1String("trigger")).toString() == QLatin1String("fault drop"));
    CHECK(incident.value(QLatin1String("faults")).toArray().size() == 1);
    CHECK_FALSE(hasNoteStartingWith(incident, QLatin1String("injected before")));
}
