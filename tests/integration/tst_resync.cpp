#include <catch2/catch.hpp>

#include "core/cli/cli.h"
#include "core/faults/faultevents.h"
#include "core/faults/faultplan.h"
#include "core/faults/faultproxy.h"
#include "core/faults/servercontrol.h"
#include "core/protocol/clock.h"
#include "core/protocol/protocolclient.h"
#include "core/protocol/websockettransport.h"
#include "core/server/controlendpoint.h"
#include "core/server/referenceserver.h"
#include "core/session/eventlog.h"
#include "core/session/incidentanalyzer.h"
#include "tests/support/testutils.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QSslSocket>
#include <QTcpServer>
#include <QTemporaryDir>

using namespace deltascope;
using namespace deltascope::faults;
using namespace std::chrono_literals;
using test::waitUntil;

namespace {

// Reference server <- proxy <- protocol client, everything recorded into one event log that the
// incident analyzer follows; the shadow connection goes straight to the server.
struct Session {
    server::ReferenceServer server;
    FaultProxy proxy;
    SystemClock clock;
    QWebSocketTransport transport;
    ProtocolClient client { &transport, &clock };
    EventLog log;
    IncidentAnalyzer analyzer { &log };
    std::unique_ptr<FaultPlanRunner> runner;
    DocumentTarget target;

    static server::ServerOptions serverOptions()
    {
        server::ServerOptions options;
        options.pingIntervalMs = 100;
        options.chatBotRate = 5; // a chat line then lives 6 s (30 kept), so a dropped one stays missing until checked
        options.tickerRate = 50;
        return options;
    }
    explicit Session(const QString& space = QStringLiteral("chat"), const QString& key = QStringLiteral("resync"))
        : server(serverOptions())
    {
        REQUIRE(server.listen() != 0);
        REQUIRE(proxy.setUpstream(QUrl(server.url())));
        REQUIRE(proxy.listen());
        log.setNotifyInterval(0);
        ProtocolClientOptions options;
        // Short liveness thresholds so a stall is noticed in well under a second.
        options.liveness.checkIntervalMs = 150;
        options.liveness.pingOverdueMs = 300;
        options.liveness.missedChecksBeforeReconnect = 2;
        options.liveness.resetMissesOnPing = true;
        client.setOptions(options);
        QObject::connect(
            &client, &ProtocolClient::clientEvent, &log, [this](const ClientEvent& event) { record(event); });
        QObject::connect(&proxy, &FaultProxy::faultInjected, &log,
            [this](const FaultReport& report) { appendFaultEvent(log, report, clock.nowNs(), client.epoch()); });
        analyzer.setClock([this] { return clock.nowNs(); });
        target = { proxy.clientUrl(), QStringLiteral("anonymous:tester"), space, key, {} };
        DocumentTarget truth = target;
        truth.url = QUrl(server.url());
        analyzer.setShadowTarget(truth);
        IncidentOptions incidentOptions;
        incidentOptions.settleMs = 500;
        analyzer.setOptions(incidentOptions);
    }
    void record(const ClientEvent& event)
    {
        SessionEvent e;
        e.kind = event.kind;
        e.direction = event.direction;
        e.monotonicNs = event.monotonicNs;
        e.wallMs = event.wallMs;
        e.requestId = event.requestId;
        e.seq = event.seq;
        e.code = event.code;
        e.parts = event.parts;
        e.flags = event.flags;
        e.epoch = event.epoch;
        e.methodString = log.intern(event.channel.isEmpty() ? event.method : event.channel);
        log.append(e, event.payload);
    }
    void start()
    {
        QString error;
        REQUIRE(client.connectDocument(target, &error));
        REQUIRE(waitUntil([&] { return client.state() == ConnectionState::Streaming && client.lastSeq() >= 0; }, 10s));
    }
    void runPlan(const QString& name)
    {
        FaultPlan plan;
        QString error;
        REQUIRE(FaultPlan::load(name, plan, &error));
        runner = std::make_unique<FaultPlanRunner>(&proxy, plan);
        runner->setServerControl(referenceServerControl(&server, &proxy));
        runner->start();
    }
    bool settled(std::chrono::milliseconds timeout)
    {
        return waitUntil(
            [&] {
                return runner && runner->isFinished() && !analyzer.hasOpenIncident() && !analyzer.incidents().isEmpty();
            },
            timeout);
    }
    static QString verdict(const QJsonObject& incident) { return incident.value(QLatin1String("verdict")).toString(); }
};

// `deltascope-cli watch URL` on space chat, in this process, with extra options; output captured.
int runWatch(const QString& url, const QString& key, const QStringList& extra, QString& out, QString& err)
{
    const test::CliRun run = test::runCli(QStringList { QStringLiteral("watch"), url, QStringLiteral("--space"), QStringLiteral("chat"),
                                              QStringLiteral("--key"), key, QStringLiteral("--identity"), QStringLiteral("anonymous:cli"),
                                              QStringLiteral("--quiet") }
        + extra);
    out += run.out;
    err += run.err;
    return run.code;
}

}

TEST_CASE("resync: a dropped socket is detected by its close, resynced and checked against the truth")
{
    Session session;
    session.start();
    REQUIRE(waitUntil([&] { return session.client.lastSeq() >= 5; }, 10s));
    QString error;
    REQUIRE(session.proxy.apply(QStringLiteral("drop"), { { QStringLiteral("mode"), QStringLiteral("rst") } }, &error));
    REQUIRE(waitUntil([&] { return !session.analyzer.incidents().isEmpty(); }, 15s));
    const QJsonObject incident = session.analyzer.incidents().first();
    INFO(QJsonDocument(incident).toJson().toStdString());
    CHECK((Session::verdict(incident) == QLatin1String("converged")
        || Session::verdict(incident) == QLatin1String("converged-stale")));
    CHECK(incident.value(QLatin1String("verified")).toBool());
    CHECK(incident.value(QLatin1String("faults")).toArray().first().toObject().value(QLatin1String("fault")).toString()
        == QLatin1String("drop"));
    const QJsonObject detection = incident.value(QLatin1String("detection")).toObject();
    CHECK(detection.value(QLatin1String("how")).toString() == QLatin1String("close"));
    CHECK(detection.value(QLatin1String("afterMs")).toDouble() >= 0);
    CHECK(detection.value(QLatin1String("afterMs")).toDouble() < 2000);
    CHECK_FALSE(incident.value(QLatin1String("reconnects")).toArray().isEmpty());
    const QJsonObject resync = incident.value(QLatin1String("resync")).toObject();
    CHECK(resync.value(QLatin1String("epochAfter")).toInt() == resync.value(QLatin1String("epochBefore")).toInt() + 1);
    CHECK(resync.value(QLatin1String("snapshotAfterMs")).toDouble()
        >= resync.value(QLatin1String("newStreamAfterMs")).toDouble());
    CHECK(resync.value(QLatin1String("bytesRefetched")).toInteger() > 0);
    CHECK(resync.value(QLatin1String("framesRefetched")).toInteger() >= 1);
    CHECK(incident.value(QLatin1String("timeToConvergeMs")).toDouble() > 0);
    CHECK(incident.value(QLatin1String("comparison")).toObject().value(QLatin1String("equal")).toBool());
    CHECK(incident.contains(QLatin1String("changedWhileAway")));
    CHECK(incident.contains(QLatin1String("stalePaths")));
    // The Incident event is in the log with the analysis as its payload.
    REQUIRE(session.log.indexesOfKind(EventKind::Incident).size() == 1);
    const qint64 at = session.log.indexesOfKind(EventKind::Incident).front();
    CHECK(QJsonDocument::fromJson(session.log.payload(at)).object().value(QLatin1String("incident")).toInt() == 1);
    CHECK(session.log.indexesOfKind(EventKind::FaultInjected).size() == 1);
}

TEST_CASE("resync: a half-open stall is noticed by missed pings, not by a close")
{
    Session session;
    session.start();
    // Liveness judges a socket once it has had a ping (connection.js's has_had_ping).
    REQUIRE(waitUntil([&] { return !session.log.indexesOfKind(EventKind::Ping).empty(); }, 10s));
    QString error;
    REQUIRE(session.proxy.apply(QStringLiteral("stall"), { { QStringLiteral("durationMs"), 20000 } }, &error));
    REQUIRE(waitUntil([&] { return !session.analyzer.incidents().isEmpty(); }, 15s));
    const QJsonObject incident = session.analyzer.incidents().first();
    INFO(QJsonDocument(incident).toJson().toStdString());
    CHECK(incident.value(QLatin1String("detection")).toObject().value(QLatin1String("how")).toString()
        == QLatin1String("missed pings"));
    CHECK((Session::verdict(incident) == QLatin1String("converged")
        || Session::verdict(incident) == QLatin1String("converged-stale")));
    session.proxy.clearAll();
}

TEST_CASE("resync: a send in flight when the socket drops is reported with what can be known")
{
    Session session;
    session.start();
    REQUIRE(waitUntil([&] { return !session.log.indexesOfKind(EventKind::Ping).empty(); }, 10s));
    QString error;
    REQUIRE(session.proxy.apply(
        QStringLiteral("stall"), { { QStringLiteral("direction"), QStringLiteral("inbound") } }, &error));
    const qint64 id = session.client.send(QStringLiteral("say"), R"({"text":"in flight"})");
    REQUIRE(id > 0);
    REQUIRE(waitUntil([&] { return !session.analyzer.incidents().isEmpty(); }, 15s));
    const QJsonObject incident = session.analyzer.incidents().first();
    INFO(QJsonDocument(incident).toJson().toStdString());
    const QJsonArray sends
        = incident.value(QLatin1String("inFlight")).toObject().value(QLatin1String("sends")).toArray();
    REQUIRE(sends.size() == 1);
    CHECK(sends.first().toObject().value(QLatin1String("requestId")).toInteger() == id);
    // The bots keep writing, so the lost ack cannot be placed.
    CHECK(sends.first().toObject().value(QLatin1String("applied")).toString() == QLatin1String("unknown"));
    CHECK(sends.first().toObject().value(QLatin1String("why")).toString().contains(QLatin1String("dedupe")));
    session.proxy.clearAll();
}

TEST_CASE("resync: every ready plan against the reference server ends with its expected verdict")
{
    const QStringList plans = FaultPlan::readyPlanNames();
    REQUIRE(plans.size() == 6);
    for (const QString& name : plans) {
        DYNAMIC_SECTION(name.toStdString())
        {
            FaultPlan plan;
            REQUIRE(FaultPlan::load(name, plan, nullptr));
            Session session;
            session.start();
            session.runPlan(name);
            const bool settled = session.settled(25s);
            QJsonArray all;
            for (const QJsonObject& incident : session.analyzer.incidents())
                all.append(incident);
            INFO(QJsonDocument(all).toJson().toStdString());
            REQUIRE(settled);
            for (const QJsonObject& incident : session.analyzer.incidents())
                CHECK(plan.expect.contains(Session::verdict(incident)));
            if (name == QLatin1String("drop-delta-silently")) {
                const QJsonObject first = session.analyzer.incidents().first();
                CHECK(first.value(QLatin1String("corrupting")).toBool());
                CHECK(first.value(QLatin1String("detection")).toObject().value(QLatin1String("how")).toString()
                    == QLatin1String("shadow comparison"));
                CHECK_FALSE(first.value(QLatin1String("comparison")).toObject().value(QLatin1String("equal")).toBool());
            }
            if (name == QLatin1String("version-mismatch-on-reconnect") || name == QLatin1String("server-redeploy")) {
                bool mismatch = false;
                for (const QJsonObject& incident : session.analyzer.incidents())
                    mismatch = mismatch
                        || incident.value(QLatin1String("version"))
                               .toObject()
                               .value(QLatin1String("mismatch"))
                               .toBool();
                CHECK(mismatch);
            }
            session.proxy.clearAll();
        }
    }
}

TEST_CASE("watch --fault: the first event names the document's server, and the fault proxy only as the way there")
{
    server::ServerOptions options = Session::serverOptions();
    server::ReferenceServer server(options);
    REQUIRE(server.listen() != 0);
    const test::CliRun run = test::runCli({ QStringLiteral("watch"), server.url(), QStringLiteral("--space"), QStringLiteral("chat"),
        QStringLiteral("--key"), QStringLiteral("proxied"), QStringLiteral("--identity"), QStringLiteral("anonymous:cli"),
        QStringLiteral("--fault"), QStringLiteral("latency={\"ms\":5}"), QStringLiteral("--duration"), QStringLiteral("1"),
        QStringLiteral("--no-document") });
    INFO(run.out.toStdString() << run.err.toStdString());
    CHECK(run.code == 0);
    CHECK(run.out.contains(QStringLiteral("idle -> connecting: opening %1 through the fault proxy at ws://127.0.0.1:").arg(server.url())));
}

TEST_CASE("watch --plan --report --expect: a silent delta drop fails the expectation with exit 6")
{
    server::ServerOptions options = Session::serverOptions();
    server::ReferenceServer server(options);
    REQUIRE(server.listen() != 0);
    QTemporaryDir dir;
    REQUIRE(dir.isValid());
    const QString reportPath = dir.filePath(QStringLiteral("report.json"));
    auto run = [&](const QStringList& extra, QString& out, QString& err) { return runWatch(server.url(), QStringLiteral("cli"), extra, out, err); };
    QString out, err;
    const int code = run({ QStringLiteral("--plan"), QStringLiteral("drop-delta-silently"),
                             QStringLiteral("--duration"), QStringLiteral("3"), QStringLiteral("--report"), reportPath,
                             QStringLiteral("--expect"), QStringLiteral("converged") },
        out, err);
    INFO(out.toStdString() << err.toStdString());
    CHECK(code == cli::ExitExpectationFailed);
    CHECK(err.contains(QStringLiteral("--expect converged not met: incident 1 ended diverged")));
    const QJsonObject report = QJsonDocument::fromJson(test::readFileOrFail(reportPath)).object();
    CHECK(report.value(QLatin1String("plan")).toString() == QLatin1String("drop-delta-silently"));
    CHECK_FALSE(report.value(QLatin1String("expectationMet")).toBool());
    REQUIRE(report.value(QLatin1String("incidents")).toArray().size() >= 1);
    const QJsonObject incident = report.value(QLatin1String("incidents")).toArray().first().toObject();
    CHECK(incident.value(QLatin1String("verdict")).toString() == QLatin1String("diverged"));
    CHECK(incident.value(QLatin1String("verified")).toBool());

    QString out2, err2;
    CHECK(run({ QStringLiteral("--plan"), QStringLiteral("nonexistent-plan") }, out2, err2) == cli::ExitUsage);
    CHECK(err2.contains(QStringLiteral("--plan nonexistent-plan: cannot open")));
    CHECK(run({ QStringLiteral("--expect"), QStringLiteral("fine") }, out2, err2) == cli::ExitUsage);
    CHECK(err2.contains(QStringLiteral("--expect: unknown verdict 'fine'")));
}

TEST_CASE("watch --fault inject-failure as the stream opens: it acts, and with --expect the expectation decides the exit code")
{
    // The fault is applied as the client sends connection/create: it used to find no stream in the
    // proxy, do nothing and exit 0 with "faults": 0. With --expect, exit 5 (fatal failure) used to
    // win over the expectation, met (gave-up) or not (converged).
    server::ReferenceServer server(Session::serverOptions());
    REQUIRE(server.listen() != 0);
    QTemporaryDir dir;
    REQUIRE(dir.isValid());
    const QString reportPath = dir.filePath(QStringLiteral("report.json"));
    const QStringList fault { QStringLiteral("--fault"), QStringLiteral(R"(inject-failure={"code":403403})"),
        QStringLiteral("--duration"), QStringLiteral("4"), QStringLiteral("--report"), reportPath };
    struct Case {
        QStringList extra;
        int exit;
        bool met;
    };
    const Case cases[] = {
        { {}, cli::ExitFatalStream, true },
        { { QStringLiteral("--expect"), QStringLiteral("gave-up") }, cli::ExitOk, true },
        { { QStringLiteral("--expect"), QStringLiteral("converged") }, cli::ExitExpectationFailed, false },
    };
    int run = 0;
    for (const Case& c : cases) {
        INFO(c.extra.join(QLatin1Char(' ')).toStdString());
        QString out, err;
        const int code = runWatch(server.url(), QStringLiteral("inject%1").arg(++run), fault + c.extra, out, err);
        INFO(out.toStdString() << err.toStdString());
        CHECK(code == c.exit);
        const QJsonObject report = QJsonDocument::fromJson(test::readFileOrFail(reportPath)).object();
        CHECK(report.value(QLatin1String("faults")).toInt() == 1);
        CHECK(report.value(QLatin1String("notApplied")).toArray().isEmpty());
        CHECK(report.value(QLatin1String("expectationMet")).toBool() == c.met);
        const QJsonArray incidents = report.value(QLatin1String("incidents")).toArray();
        REQUIRE(incidents.size() == 1);
        CHECK(incidents.first().toObject().value(QLatin1String("verdict")).toString() == QLatin1String("gave-up"));
        CHECK(err.count(QStringLiteral("403403")) == 1); // one line says it, once
    }
}

TEST_CASE("watch --fault hold-pings waits for the first ping, so the client notices the missing ones")
{
    // Applied as the stream opened, before the first ping, the client never counted a missed
    // ping (it counts only after its first one) and the 9 s without pings went unnoticed.
    server::ReferenceServer server(Session::serverOptions());
    REQUIRE(server.listen() != 0);
    QTemporaryDir dir;
    REQUIRE(dir.isValid());
    const QString reportPath = dir.filePath(QStringLiteral("report.json"));
    QString out, err;
    const int code = runWatch(server.url(), QStringLiteral("pings"),
        { QStringLiteral("--fault"), QStringLiteral(R"(hold-pings={"durationMs":9000})"), QStringLiteral("--duration"),
            QStringLiteral("11"), QStringLiteral("--report"), reportPath },
        out, err);
    INFO(out.toStdString() << err.toStdString());
    CHECK(code == cli::ExitOk);
    const QJsonObject report = QJsonDocument::fromJson(test::readFileOrFail(reportPath)).object();
    bool missedPings = false;
    for (const QJsonValue& incident : report.value(QLatin1String("incidents")).toArray())
        missedPings = missedPings
            || incident.toObject().value(QLatin1String("detection")).toObject().value(QLatin1String("how")).toString()
                == QLatin1String("missed pings");
    CHECK(missedPings);
}

TEST_CASE("drop-delta-silently on the chat demo at its default rate: a verified diverged within the plan's duration")
{
    // At the default 0.5 lines/s the plan's 3rd delta came at about 6 s, as its 6 s ran out: the
    // incident was never checked (an unverified diverged), or there was none.
    server::ReferenceServer server; // the default rates (chat: 0.5 lines/s)
    REQUIRE(server.listen() != 0);
    QTemporaryDir dir;
    REQUIRE(dir.isValid());
    const QString reportPath = dir.filePath(QStringLiteral("report.json"));
    QString out, err;
    const int code = runWatch(server.url(), QStringLiteral("silent"),
        { QStringLiteral("--plan"), QStringLiteral("drop-delta-silently"), QStringLiteral("--expect"), QStringLiteral("plan"),
            QStringLiteral("--report"), reportPath },
        out, err);
    INFO(out.toStdString() << err.toStdString());
    CHECK(code == cli::ExitOk);
    const QJsonObject report = QJsonDocument::fromJson(test::readFileOrFail(reportPath)).object();
    const QJsonArray incidents = report.value(QLatin1String("incidents")).toArray();
    REQUIRE(incidents.size() >= 1);
    CHECK(incidents.first().toObject().value(QLatin1String("verdict")).toString() == QLatin1String("diverged"));
    CHECK(incidents.first().toObject().value(QLatin1String("verified")).toBool());
}

TEST_CASE("watch --expect against a server that is down: it says so, has no incident, and exits 4")
{
    QTcpServer closedPort;
    REQUIRE(closedPort.listen(QHostAddress::LocalHost, 0));
    const QString url = QStringLiteral("ws://127.0.0.1:%1/~s").arg(closedPort.serverPort());
    closedPort.close();
    QTemporaryDir dir;
    REQUIRE(dir.isValid());
    const QString reportPath = dir.filePath(QStringLiteral("report.json"));
    QString out, err;
    // --expect routes the client through the fault proxy, where it only sees its connection reset.
    const int code = runWatch(url, QStringLiteral("down"),
        { QStringLiteral("--duration"), QStringLiteral("1"), QStringLiteral("--expect"), QStringLiteral("converged"),
            QStringLiteral("--report"), reportPath },
        out, err);
    INFO(out.toStdString() << err.toStdString());
    CHECK(code == cli::ExitConnectFailed);
    CHECK(err.contains(QStringLiteral("the server %1 cannot be reached: Connection refused").arg(url)));
    CHECK(err.count(QStringLiteral("cannot be reached")) == 1); // once, not at every retry
    // The last word names the server, not the proxy's loopback URL in front of it.
    CHECK(err.contains(QStringLiteral("elapsed without connecting to %1 ").arg(url)));
    const QJsonObject report = QJsonDocument::fromJson(test::readFileOrFail(reportPath)).object();
    CHECK(report.value(QLatin1String("incidents")).toArray().isEmpty());
}

TEST_CASE("watch --server-control: a server-redeploy step redeploys the server for real over its control endpoint")
{
    server::ServerOptions options = Session::serverOptions();
    server::ReferenceServer server(options);
    REQUIRE(server.listen() != 0);
    server::ControlEndpoint control(&server);
    const quint16 controlPort = control.listen();
    REQUIRE(controlPort != 0);
    const QString controlUrl = QStringLiteral("http://127.0.0.1:%1").arg(controlPort);
    const QString versionBefore = server.helloVersion();
    QTemporaryDir dir;
    REQUIRE(dir.isValid());
    const QString reportPath = dir.filePath(QStringLiteral("report.json"));
    auto run = [&](const QStringList& extra, QString& out, QString& err) { return runWatch(server.url(), QStringLiteral("control"), extra, out, err); };
    QString out, err;
    const int code = run({ QStringLiteral("--plan"), QStringLiteral("server-redeploy"), QStringLiteral("--server-control"), controlUrl,
                             QStringLiteral("--duration"), QStringLiteral("5"), QStringLiteral("--report"), reportPath },
        out, err);
    INFO(out.toStdString() << err.toStdString());
    CHECK(code == cli::ExitOk);
    // The server itself now greets with the new build's version.
    CHECK(server.helloVersion() != versionBefore);
    const QJsonObject report = QJsonDocument::fromJson(test::readFileOrFail(reportPath)).object();
    REQUIRE(report.value(QLatin1String("incidents")).toArray().size() >= 1);
    const QJsonObject incident = report.value(QLatin1String("incidents")).toArray().first().toObject();
    bool realRedeploy = false;
    for (const QJsonValue& fault : incident.value(QLatin1String("faults")).toArray()) {
        const QJsonObject params = fault.toObject().value(QLatin1String("params")).toObject();
        if (fault.toObject().value(QLatin1String("fault")).toString() == QLatin1String("server-redeploy"))
            realRedeploy = params.contains(QLatin1String("simulated")) && !params.value(QLatin1String("simulated")).toBool()
                && params.value(QLatin1String("control")).toString() == controlUrl;
    }
    CHECK(realRedeploy);
    CHECK(incident.value(QLatin1String("version")).toObject().value(QLatin1String("mismatch")).toBool());

    // A control endpoint that is not there is refused before connecting (4); not a control URL at
    // all, as a usage error (2).
    QString out2, err2;
    CHECK(run({ QStringLiteral("--server-control"), QStringLiteral("http://127.0.0.1:9") }, out2, err2) == cli::ExitConnectFailed);
    CHECK(err2.contains(QStringLiteral("cannot reach the server control at http://127.0.0.1:9")));
    CHECK(run({ QStringLiteral("--server-control"), QStringLiteral("ws://127.0.0.1:9/~s") }, out2, err2) == cli::ExitUsage);
    CHECK(err2.contains(QStringLiteral("not a control endpoint URL")));
}

TEST_CASE("shadow connection: over wss it verifies the certificate unless the session is insecure")
{
    if (!QSslSocket::supportsSsl()) {
        WARN("no TLS backend: wss shadow test skipped");
        return;
    }
    server::ServerOptions options = Session::serverOptions();
    options.tlsCertificate = test::sourceDir() + QStringLiteral("/tests/data/server/localhost.crt");
    options.tlsKey = test::sourceDir() + QStringLiteral("/tests/data/server/localhost.key");
    server::ReferenceServer server(options);
    REQUIRE(server.listen() != 0);
    REQUIRE(server.url().startsWith(QLatin1String("wss://")));
    DocumentTarget truth;
    truth.url = QUrl(server.url());
    truth.identity = QStringLiteral("anonymous:shadow");
    truth.space = QStringLiteral("chat");
    truth.key = QStringLiteral("tls");
    for (const bool insecure : { false, true }) {
        INFO("insecure " << insecure);
        EventLog log;
        IncidentAnalyzer analyzer(&log);
        analyzer.setShadowTarget(truth);
        analyzer.setShadowInsecure(insecure);
        QList<QJsonObject> results;
        QObject::connect(&analyzer, &IncidentAnalyzer::divergenceChecked, [&](const QJsonObject& result) { results.append(result); });
        analyzer.checkNow();
        REQUIRE(waitUntil([&] { return !results.isEmpty(); }, 10s));
        // A self-signed certificate: refused when verified, a fresh snapshot when not.
        CHECK(results.front().value(QLatin1String("ok")).toBool() == insecure);
    }
}

TEST_CASE("watch: an incident's line names a version mismatch")
{
    server::ReferenceServer server(Session::serverOptions());
    REQUIRE(server.listen() != 0);
    QString out, err;
    const int code = runWatch(server.url(), QStringLiteral("version"),
        { QStringLiteral("--plan"), QStringLiteral("version-mismatch-on-reconnect"), QStringLiteral("--duration"), QStringLiteral("4") }, out, err);
    INFO(out.toStdString() << err.toStdString());
    CHECK(code == cli::ExitOk);
    CHECK(out.contains(QStringLiteral(", version %1 -> 20990101000000").arg(server.helloVersion())));
    // Named by what the user asked for, not by the drop that makes the client reconnect.
    CHECK(out.contains(QStringLiteral("(fault rewrite-version)")));
}
