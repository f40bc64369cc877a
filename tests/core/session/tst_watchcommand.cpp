#include <catch2/catch.hpp>

#include "core/cli/cli.h"
#include "core/protocol/loopbacktransport.h"
#include "core/session/watchcommand.h"
#include "tests/support/testutils.h"

#include <QBuffer>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>

using namespace deltascope;
using test::CliRun;
using test::runCli;
using namespace deltascope::cli;

namespace {

WatchOptions options(double duration = 0.3)
{
    WatchOptions options;
    QString error;
    bool help = false;
    REQUIRE(WatchOptions::parse({ QStringLiteral("ws://127.0.0.1:1/~s"), QStringLiteral("--identity"), QStringLiteral("anonymous:alice"),
                                    QStringLiteral("--space"), QStringLiteral("chat"), QStringLiteral("--key"), QStringLiteral("demo") },
        options, error, help));
    options.durationSeconds = duration;
    options.connectTimeoutMs = 1000;
    return options;
}

// A loopback server that answers like a tiny Adama: hello on open; a snapshot (or the given
// failure) on connection/create; {} then done:true on connection/end.
void script(LoopbackTransport* client, const QByteArray& createAnswer = {})
{
    LoopbackTransport* server = client->peer();
    QObject::connect(server, &Transport::opened, server, [server]() {
        server->sendText(R"({"status":"connected","version":"v1","identities":{}})");
        server->sendText(R"({"ping":1000,"latency":"3"})");
    });
    QObject::connect(server, &Transport::textReceived, server, [server, createAnswer](const QByteArray& frame) {
        const QJsonObject request = QJsonDocument::fromJson(frame).object();
        const QString method = request.value(QStringLiteral("method")).toString();
        const QByteArray id = QByteArray::number(request.value(QStringLiteral("id")).toInteger());
        if (method == QLatin1String("connection/create")) {
            if (!createAnswer.isEmpty()) {
                server->sendText(QByteArray(createAnswer).replace("ID", id));
                return;
            }
            server->sendText(R"({"deliver":)" + id + R"(,"done":false,"response":{"delta":{"data":{"title":"Demo","n":"1718000000000"},"seq":3}}})");
        } else if (method == QLatin1String("connection/end")) {
            server->sendText(R"({"deliver":)" + id + R"(,"done":true,"response":{}})");
            server->sendText(R"({"deliver":1,"done":true})");
        }
    });
}
}

TEST_CASE("watch: option errors exit 2 and name the option")
{
    CliRun run = runCli({ QStringLiteral("watch") });
    CHECK(run.code == ExitUsage);
    CHECK(run.err.contains(QStringLiteral("missing URL")));
    run = runCli({ QStringLiteral("watch"), QStringLiteral("http://x/~s"), QStringLiteral("--identity"), QStringLiteral("a"),
        QStringLiteral("--space"), QStringLiteral("s"), QStringLiteral("--key"), QStringLiteral("k") });
    CHECK(run.code == ExitUsage);
    CHECK(run.err.contains(QStringLiteral("ws://")));
    run = runCli({ QStringLiteral("watch"), QStringLiteral("ws://h/~s"), QStringLiteral("--space"), QStringLiteral("s"), QStringLiteral("--key"), QStringLiteral("k") });
    CHECK(run.code == ExitUsage);
    CHECK(run.err.contains(QStringLiteral("--identity")));
    const QStringList base { QStringLiteral("watch"), QStringLiteral("ws://h/~s"), QStringLiteral("--identity"), QStringLiteral("a"),
        QStringLiteral("--space"), QStringLiteral("s"), QStringLiteral("--key"), QStringLiteral("k") };
    run = runCli(base + QStringList { QStringLiteral("--viewer-state"), QStringLiteral("[1]") });
    CHECK(run.code == ExitUsage);
    CHECK(run.err.contains(QStringLiteral("--viewer-state")));
    run = runCli(base + QStringList { QStringLiteral("--duration"), QStringLiteral("-3") });
    CHECK(run.code == ExitUsage);
    CHECK(run.err.contains(QStringLiteral("--duration")));
    run = runCli(base + QStringList { QStringLiteral("--duration"), QStringLiteral("1e9") });
    CHECK(run.code == ExitUsage);
    CHECK(run.err.contains(QStringLiteral("--duration: 1e9 s is more than the 10000000 s (about 115 days) a run can last")));
    run = runCli(base + QStringList { QStringLiteral("--reconnect"), QStringLiteral("fixed:x") });
    CHECK(run.code == ExitUsage);
    CHECK(run.err.contains(QStringLiteral("--reconnect")));
    run = runCli(base + QStringList { QStringLiteral("--reconnect"), QStringLiteral("fixed:0") });
    CHECK(run.code == ExitUsage);
    CHECK(run.err.contains(QStringLiteral("DELAY_MS must be from 1 to 86400000 ms, not 0")));
    run = runCli(base + QStringList { QStringLiteral("--bogus") });
    CHECK(run.code == ExitUsage);
    // An empty identity, a repeated one, an empty --expect: refused, not run as something else.
    run = runCli({ QStringLiteral("watch"), QStringLiteral("ws://h/~s"), QStringLiteral("--identity"), QString(), QStringLiteral("--space"),
        QStringLiteral("s"), QStringLiteral("--key"), QStringLiteral("k") });
    CHECK(run.code == ExitUsage);
    CHECK(run.err.contains(QStringLiteral("--identity must not be empty")));
    run = runCli(base + QStringList { QStringLiteral("--identity"), QStringLiteral("b") });
    CHECK(run.code == ExitUsage);
    CHECK(run.err.contains(QStringLiteral("--identity is given more than once")));
    run = runCli(base + QStringList { QStringLiteral("--seed"), QStringLiteral("1"), QStringLiteral("--seed"), QStringLiteral("2") });
    CHECK(run.code == ExitUsage);
    CHECK(run.err.contains(QStringLiteral("--seed is given more than once")));
    run = runCli(base + QStringList { QStringLiteral("--expect"), QString() });
    CHECK(run.code == ExitUsage);
    CHECK(run.err.contains(QStringLiteral("--expect needs at least one verdict")));
    run = runCli(base + QStringList { QStringLiteral("--server-control"), QStringLiteral("notaurl"), QStringLiteral("--fault"), QStringLiteral("drop") });
    CHECK(run.code == ExitUsage);
    CHECK(run.err.contains(QStringLiteral("--server-control 'notaurl' is not a control endpoint URL")));
    // --url, as the app takes it, instead of the argument; not both.
    run = runCli({ QStringLiteral("watch"), QStringLiteral("--url"), QStringLiteral("http://x/~s"), QStringLiteral("--identity"), QStringLiteral("a"),
        QStringLiteral("--space"), QStringLiteral("s"), QStringLiteral("--key"), QStringLiteral("k") });
    CHECK(run.code == ExitUsage);
    CHECK(run.err.contains(QStringLiteral("'http://x/~s' is not a ws://")));
    run = runCli(base + QStringList { QStringLiteral("--url"), QStringLiteral("ws://g/~s") });
    CHECK(run.code == ExitUsage);
    CHECK(run.err.contains(QStringLiteral("given twice")));
    // Taken: a loopback port nothing listens on refuses it, so the command gets as far as connecting.
    run = runCli({ QStringLiteral("watch"), QStringLiteral("--url"), QStringLiteral("ws://127.0.0.1:1/~s"), QStringLiteral("--identity"), QStringLiteral("a"),
        QStringLiteral("--space"), QStringLiteral("s"), QStringLiteral("--key"), QStringLiteral("k"), QStringLiteral("--reconnect"), QStringLiteral("none"),
        QStringLiteral("--connect-timeout"), QStringLiteral("2000") });
    CHECK(run.code == ExitConnectFailed);
    run = runCli({ QStringLiteral("watch"), QStringLiteral("--help") });
    CHECK(run.code == ExitOk);
    CHECK(run.out.contains(QStringLiteral("--viewer-state")));
    CHECK(runCli({ QStringLiteral("--help") }).out.contains(QStringLiteral("watch")));
}

TEST_CASE("watch: text lines for each event and the final document, exit 0 after --duration")
{
    QString out;
    QString err;
    QTextStream outStream(&out);
    QTextStream errStream(&err);
    auto transport = std::make_unique<LoopbackTransport>();
    script(transport.get());
    WatchRunner runner(options(), outStream, errStream, std::move(transport));
    CHECK(runner.run() == ExitOk);
    outStream.flush();
    CHECK(out.contains(QStringLiteral(" in    hello ")));
    CHECK(out.contains(QStringLiteral("connected, version v1")));
    CHECK(out.contains(QStringLiteral("out   request           id 1")));
    CHECK(out.contains(QStringLiteral("stream-item       id 1 seq 3")));
    CHECK(out.contains(QStringLiteral("[data,seq] {\"title\":\"Demo\"")));
    CHECK(out.contains(QStringLiteral("pong")));
    CHECK(out.contains(QStringLiteral("connection/end")));
    CHECK(out.contains(QStringLiteral("--duration 0.3 s elapsed")));
    CHECK(out.contains(QStringLiteral("\"n\": \"1718000000000\"")));
    CHECK(err.isEmpty());
    // The request is printed without the identity token: output like this ends up in CI logs.
    CHECK(out.contains(QStringLiteral("\"identity\":\"[identity]\"")));
    CHECK_FALSE(out.contains(QStringLiteral("anonymous:alice")));
}

namespace {
// What a scripted watch prints, connecting as `identity`.
QString watchOutput(const QString& identity, bool json)
{
    QString out;
    QString err;
    QTextStream outStream(&out);
    QTextStream errStream(&err);
    auto transport = std::make_unique<LoopbackTransport>();
    script(transport.get());
    WatchOptions watch = options();
    watch.target.identity = identity;
    watch.json = json;
    WatchRunner runner(watch, outStream, errStream, std::move(transport));
    CHECK(runner.run() == ExitOk);
    outStream.flush();
    return out;
}
}

TEST_CASE("watch: a long identity token (a JWT) is hidden whole, not cut short by the summary first")
{
    const QString token = QStringLiteral("eyJhbGciOiJIUzI1NiJ9.") + QString(180, QLatin1Char('x')) + QStringLiteral(".signature-secret");
    // And a token that JSON escapes in the request: hidden in that spelling too.
    const QString escapedToken = QStringLiteral("anonymous:al\"ice\\ZQXbob");
    for (const bool json : { false, true }) {
        const QString escapedOut = watchOutput(escapedToken, json);
        INFO(escapedOut.toStdString());
        CHECK(escapedOut.contains(QStringLiteral("connection/create")));
        CHECK_FALSE(escapedOut.contains(QStringLiteral("ZQX")));
        const QString out = watchOutput(token, json);
        INFO(out.toStdString());
        CHECK(out.contains(QStringLiteral("connection/create")));
        CHECK_FALSE(out.contains(QStringLiteral("eyJhbGciOiJIUzI1NiJ9")));
        CHECK_FALSE(out.contains(QStringLiteral("xxxxxxxxxx")));
    }
}

TEST_CASE("watch: --json prints one JSON object per line and a final document line")
{
    QString out;
    QString err;
    QTextStream outStream(&out);
    QTextStream errStream(&err);
    auto transport = std::make_unique<LoopbackTransport>();
    script(transport.get());
    WatchOptions watch = options();
    watch.json = true;
    WatchRunner runner(watch, outStream, errStream, std::move(transport));
    CHECK(runner.run() == ExitOk);
    outStream.flush();
    const QStringList lines = out.split(QLatin1Char('\n'), Qt::SkipEmptyParts);
    REQUIRE(lines.size() > 5);
    QStringList kinds;
    for (const QString& line : lines) {
        QJsonParseError error;
        const QJsonDocument document = QJsonDocument::fromJson(line.toUtf8(), &error);
        INFO(line.toStdString());
        REQUIRE(error.error == QJsonParseError::NoError);
        REQUIRE(document.isObject());
        kinds << document.object().value(QStringLiteral("kind")).toString();
    }
    CHECK(kinds.contains(QStringLiteral("hello")));
    CHECK(kinds.contains(QStringLiteral("stream-item")));
    CHECK(kinds.contains(QStringLiteral("epoch")));
    const QJsonObject last = QJsonDocument::fromJson(lines.last().toUtf8()).object();
    CHECK(last.value(QStringLiteral("kind")).toString() == QLatin1String("final-document"));
    CHECK(last.value(QStringLiteral("document")).toObject().value(QStringLiteral("title")).toString() == QLatin1String("Demo"));
    CHECK(last.value(QStringLiteral("exitCode")).toInt() == 0);
    const QJsonObject item = QJsonDocument::fromJson(lines[kinds.indexOf(QStringLiteral("stream-item"))].toUtf8()).object();
    CHECK(item.value(QStringLiteral("seq")).toInt() == 3);
    CHECK(item.value(QStringLiteral("payload")).toObject().contains(QStringLiteral("deliver")));
    CHECK(item.value(QStringLiteral("flags")).toArray().contains(QStringLiteral("snapshot")));
    CHECK_FALSE(out.contains(QStringLiteral("anonymous:alice")));
}

namespace {
// A scripted watch whose connection/create is answered with `failure`: its exit code and stderr.
// `printed`, when given, gets its stdout.
std::pair<int, QString> watchFailing(const QByteArray& failure, const QString& reconnect = QStringLiteral("reference"), QString* printed = nullptr,
    double duration = 5)
{
    QString out;
    QString err;
    QTextStream outStream(&out);
    QTextStream errStream(&err);
    auto transport = std::make_unique<LoopbackTransport>();
    script(transport.get(), failure);
    WatchOptions watch = options(duration);
    watch.reconnect = reconnect;
    WatchRunner runner(watch, outStream, errStream, std::move(transport));
    const int code = runner.run();
    errStream.flush();
    outStream.flush();
    if (printed)
        *printed = out;
    return { code, err };
}
}

TEST_CASE("watch: a fatal stream failure exits 5")
{
    const auto [code, err] = watchFailing(R"({"failure":ID,"reason":403403,"retry":false})");
    CHECK(code == ExitFatalStream);
    CHECK(err.contains(QStringLiteral("403403 AUTH_FORBIDDEN")));
    // The code is named once, not again by the policy's reason.
    CHECK(err.contains(QStringLiteral("stream failed: 403403 AUTH_FORBIDDEN (fatal); a fatal code is not retried")));
    CHECK(err.count(QStringLiteral("403403")) == 1);
}

TEST_CASE("watch: a stream the client gave up on after a retryable failure exits 1, not 5")
{
    // `none` gives up at the first failure.
    const auto [code, err] = watchFailing(R"({"failure":ID,"reason":928828,"retry":true})", QStringLiteral("none"));
    CHECK(code == ExitFailure);
    CHECK(err.contains(QStringLiteral("928828")));
}

TEST_CASE("watch: a fatal code exits 5 with reconnecting off too")
{
    QString out;
    const auto [code, err] = watchFailing(R"({"failure":ID,"reason":403403,"retry":false})", QStringLiteral("none"), &out);
    CHECK(code == ExitFatalStream);
    CHECK(err.contains(QStringLiteral("403403 AUTH_FORBIDDEN")));
    // The summary of a stream that never delivered: no placeholder seq.
    CHECK(out.contains(QStringLiteral("no seq seen in this epoch")));
    CHECK_FALSE(out.contains(QStringLiteral("seq -1")));
}

TEST_CASE("watch: a code the chosen policy does not retry exits 5, as a fatal one does")
{
    // 625678 (no such space) is not in the server's retry table: a fixed policy stops at once. (The
    // reference policy retries it blindly, as RxHTML decides by code, and exits 1 when those run out.)
    const auto [code, err] = watchFailing(R"({"failure":ID,"reason":625678,"retry":false})", QStringLiteral("fixed:10:3"));
    CHECK(code == ExitFatalStream);
    CHECK(err.contains(QStringLiteral("is not retryable")));
}

TEST_CASE("watch: --duration ending a run whose every connection/create failed exits 5 and names the last failure")
{
    // The reference policy retries 625678 blindly (spec 7.2), so only --duration ends the run: the
    // summary says the document never came and why, and prints no empty document for it.
    QString out;
    const auto [code, err] = watchFailing(R"({"failure":ID,"reason":625678,"retry":false})", QStringLiteral("reference"), &out, 0.6);
    CHECK(code == ExitFatalStream);
    CHECK(err.contains(QStringLiteral("the document never arrived")));
    CHECK(err.contains(QStringLiteral("625678")));
    CHECK(out.contains(QStringLiteral("connection/create attempts failed")));
    CHECK_FALSE(out.contains(QStringLiteral("\n{}")));
}

TEST_CASE("watch: an unreachable server exits 4, and giving up says why once, not 'closed by the user', and prints no empty document")
{
    QString out;
    QString err;
    QTextStream outStream(&out);
    QTextStream errStream(&err);
    auto transport = std::make_unique<LoopbackTransport>();
    transport->setRefuseConnections(true);
    WatchOptions watch = options(5);
    watch.connectTimeoutMs = 300;
    WatchRunner runner(watch, outStream, errStream, std::move(transport));
    CHECK(runner.run() == ExitConnectFailed);
    outStream.flush();
    errStream.flush();
    INFO("out:\n" << out.toStdString() << "\nerr:\n" << err.toStdString());
    CHECK(err.startsWith(QStringLiteral("deltascope-cli watch: could not connect to ws://127.0.0.1:1/~s within 300 ms (last attempt: ")));
    CHECK(err.count(QStringLiteral("could not connect")) == 1);
    CHECK_FALSE(err.contains(QStringLiteral("reopening in")));
    // Nobody closed it by hand: the last state change gives the real reason.
    CHECK_FALSE(out.contains(QStringLiteral("closed by the user")));
    CHECK(out.contains(QStringLiteral("-> closed: gave up: could not connect")));
    // No document was ever received: an empty {} would read as one.
    CHECK_FALSE(out.trimmed().endsWith(QStringLiteral("{}")));
}

TEST_CASE("watch: a URL with a bad port says what is wrong with it")
{
    const CliRun run = runCli({ QStringLiteral("watch"), QStringLiteral("ws://127.0.0.1:99999/~s"), QStringLiteral("--identity"),
        QStringLiteral("a"), QStringLiteral("--space"), QStringLiteral("s"), QStringLiteral("--key"), QStringLiteral("k") });
    CHECK(run.code == ExitUsage);
    INFO(run.err.toStdString());
    CHECK(run.err.startsWith(QStringLiteral("deltascope-cli watch: URL 'ws://127.0.0.1:99999/~s' is not valid: Invalid port")));
    CHECK_FALSE(run.err.contains(QStringLiteral("source was")));
}
