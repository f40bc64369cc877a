#include <catch2/catch.hpp>

#include "core/cli/cli.h"
#include "core/faults/faultplan.h"
#include "core/faults/faultproxy.h"
#include "tests/core/faults/scriptedserver.h"
#include "tests/support/testutils.h"

#include <QDir>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QTest>

using namespace deltascope;
using namespace deltascope::faults;
using namespace std::chrono_literals;
using test::RecordingClient;
using test::ScriptedServer;
using test::waitUntil;

namespace {

QString parseError(const char* json)
{
    FaultPlan plan;
    QString error;
    CHECK_FALSE(FaultPlan::parse(QByteArray(json), QStringLiteral("plan.json"), plan, &error));
    return error;
}

}

TEST_CASE("plans: every ready plan loads by name and from the source tree, with an expectation")
{
    const QStringList names = FaultPlan::readyPlanNames();
    CHECK(names
        == QStringList { QStringLiteral("drop-delta-silently"), QStringLiteral("drop-during-burst"),
            QStringLiteral("flapping-network"), QStringLiteral("half-open-stall"), QStringLiteral("server-redeploy"),
            QStringLiteral("version-mismatch-on-reconnect") });
    for (const QString& name : names) {
        INFO(name.toStdString());
        FaultPlan byName;
        QString error;
        REQUIRE(FaultPlan::load(name, byName, &error));
        FaultPlan fromFile;
        REQUIRE(
            FaultPlan::load(test::sourceDir() + QStringLiteral("/resources/plans/") + name + QStringLiteral(".json"),
                fromFile, &error));
        CHECK(byName.steps.size() == fromFile.steps.size());
        CHECK_FALSE(byName.expect.isEmpty());
        CHECK(byName.durationMs > 0);
        CHECK_FALSE(byName.description.isEmpty());
    }
    FaultPlan silent;
    REQUIRE(FaultPlan::load(QStringLiteral("drop-delta-silently"), silent, nullptr));
    CHECK(silent.expect == QStringList { QStringLiteral("diverged") });
}

TEST_CASE("plans: a key that is not a plain name is quoted in an error's JSON path, and the path finds it")
{
    CHECK(parseError(R"({"steps":[],"step.s":1})") == QStringLiteral("plan.json: $[\"step.s\"]: unknown key (expected name, description, seed, durationMs, expect, steps)"));
    CHECK(parseError(R"({"steps":[{"at":{"afterMs":1},"fault":"latency","params":{"ms":1,"jitter ms":2}}]})")
        == QStringLiteral("plan.json: $.steps[0].params[\"jitter ms\"]: unknown parameter of 'latency' (it takes: ms, jitterMs, direction)"));
    CHECK(parseError(R"({"steps":[{"at":{"afterMs":1,"x\"y":2},"fault":"drop"}]})").startsWith(QStringLiteral("plan.json: $.steps[0].at['x\"y']: unknown key")));
    CHECK(parseError(R"({"steps":[{"at":{"afterMs":1},"fault":"latency","params":{"ms":1,"a.b":{"c":1,"c":2}}}]})")
        == QStringLiteral("plan.json: $.steps[0].params[\"a.b\"].c: given twice in one object (JSON keeps only the last)"));
    CHECK(parseError(R"({"steps":[{"at":{"afterMs":1},"fault":"latency","params":{"ms":1,"a.b":1,"a.b":2}}]})")
        == QStringLiteral("plan.json: $.steps[0].params[\"a.b\"]: given twice in one object (JSON keeps only the last)"));
    CHECK(parseError(R"({"steps":[{"at":{"match":[{"path":"$.x","op":"equals","value":{"":1,"":2}}]},"fault":"drop"}]})")
        == QStringLiteral("plan.json: $.steps[0].at.match[0].value[\"\"]: given twice in one object (JSON keeps only the last)"));
    FaultSpec spec;
    QString error;
    CHECK_FALSE(FaultSpec::fromOption(
        QStringLiteral("drop-message={\"where\":{\"path\":\"$.x\",\"op\":\"equals\",\"value\":{\"a.b\":{\"k\":1,\"k\":2}}}}"), spec, &error));
    CHECK(error == QStringLiteral("--fault drop-message: key k is given twice in parameter where.value[\"a.b\"]"));
    CHECK_FALSE(FaultSpec::fromOption(
        QStringLiteral(R"(drop-message={"where":{"path":"$.x","op":"equals","value":{"a\ud800":{"k":1,"k":2}}}})"), spec, &error));
    CHECK(error == QStringLiteral(R"(--fault drop-message: key k is given twice in parameter where.value["a\ud800"])"));

    // A control character is shown escaped, so the message stays on one line.
    CHECK(jsonPathMember(QStringLiteral("$"), QStringLiteral("a\nb\x7f")) == QStringLiteral("$[\"a\\u000ab\\u007f\"]"));
    CHECK_FALSE(parseError("{\"steps\":[],\"a\\nb\":1}").contains(QLatin1Char('\n')));

    // Every such path reads back through JsonPath to the key it names.
    for (const QString& key : { QStringLiteral("plain_1"), QStringLiteral("$x"), QStringLiteral("a.b"), QStringLiteral("a b"),
             QStringLiteral("x[0]"), QStringLiteral("q\"uote"), QStringLiteral("it's"), QString(), QStringLiteral("1abc"),
             QStringLiteral("\u00fcn\u00efcode"), QStringLiteral("both\"and'"), QStringLiteral("back\\slash"),
             QStringLiteral("a\nb\x7f"), QStringLiteral("\t\x01"), QStringLiteral("'\\\""), QStringLiteral("\\u0041"),
             QString(QString(QChar(0xd800)) + QChar(0xd800) + QChar(0xdc00) + QChar(0xdc00)) }) {
        INFO(key.toStdString());
        const QString path = jsonPathMember(QStringLiteral("$.outer"), key);
        JsonPath parsed;
        QString pathError;
        REQUIRE(JsonPath::parse(path, parsed, &pathError));
        const QJsonObject document { { QStringLiteral("outer"), QJsonObject { { key, 42 }, { QStringLiteral("other"), 1 } } } };
        CHECK(parsed.evaluate(document) == QJsonValue(42));
    }
}

TEST_CASE("JSON paths: quoted keys take RFC 9535 escapes, and a bad escape says what and where")
{
    // The path finds the key it names in an object that holds it.
    const auto finds = [](const QString& text, const QString& key) {
        JsonPath parsed;
        QString error;
        const bool parsedOk = JsonPath::parse(text, parsed, &error);
        INFO(error.toStdString());
        REQUIRE(parsedOk);
        return parsed.evaluate(QJsonObject { { key, 7 } }) == QJsonValue(7);
    };
    CHECK(finds(QStringLiteral(R"($['it\'s'])"), QStringLiteral("it's")));
    CHECK(finds(QStringLiteral(R"($["say \"hi\""])"), QStringLiteral("say \"hi\"")));
    CHECK(finds(QStringLiteral(R"($['a\\b'])"), QStringLiteral("a\\b")));
    CHECK(finds(QStringLiteral(R"($['tab\there\n'])"), QStringLiteral("tab\there\n")));
    CHECK(finds(QStringLiteral(R"($['\u00e9\u00C9\/'])"), QStringLiteral("\u00e9\u00c9/")));
    CHECK(finds(QStringLiteral(R"($['\ud83d\ude00'])"), QString::fromUtf8("\xf0\x9f\x98\x80")));
    // The other quote needs no escape.
    CHECK(finds(QStringLiteral(R"($["it's"])"), QStringLiteral("it's")));

    const auto errorOf = [](const QString& text) {
        JsonPath parsed;
        QString error;
        CHECK_FALSE(JsonPath::parse(text, parsed, &error));
        return error;
    };
    CHECK(errorOf(QStringLiteral(R"($['a\qb'])")) == QStringLiteral(R"(bad JSON path '$['a\qb']': unknown escape '\q' at character 4 (a backslash is written \\))"));
    CHECK(errorOf(QStringLiteral(R"($['\u12'])")) == QStringLiteral(R"(bad JSON path '$['\u12']': \u must be followed by four hexadecimal digits at character 3)"));
    CHECK(errorOf(QStringLiteral(R"($['\u12g4'])")).contains(QStringLiteral("four hexadecimal digits at character 3")));
    CHECK(errorOf(QStringLiteral(R"($['\u+123'])")).contains(QStringLiteral("four hexadecimal digits")));
    CHECK(errorOf(QStringLiteral(R"($['abc\)")).contains(QStringLiteral("unterminated quoted key at character 3")));
    CHECK(errorOf(QStringLiteral(R"($['abc\'])")).contains(QStringLiteral("unterminated quoted key")));
}

TEST_CASE("plans: errors name the file, the JSON path and what is wrong")
{
    const QString syntax = parseError("{\n  \"steps\": [\n    {,}\n  ]\n}");
    INFO(syntax.toStdString());
    CHECK(syntax.startsWith(QStringLiteral("plan.json:3:")));
    CHECK(syntax.contains(QStringLiteral("not valid JSON")));
    CHECK(parseError("[]") == QStringLiteral("plan.json: $: expected an object with \"steps\""));
    CHECK(parseError(" \n") == QStringLiteral("plan.json: the plan is empty (expected a JSON object with \"steps\")"));
    CHECK(parseError(R"({"stepz":[]})").startsWith(QStringLiteral("plan.json: $.stepz: unknown key")));
    // A repeated key would quietly keep its last value: the plan says where instead.
    CHECK(parseError(R"({"steps":[{"at":{"afterMs":1},"fault":"drop"},{"at":{"afterMs":5},"fault":"latency","params":{"ms":100,"ms":900}}]})")
        == QStringLiteral("plan.json: $.steps[1].params.ms: given twice in one object (JSON keeps only the last)"));
    CHECK(parseError(R"({"seed":1,"steps":[],"seed":2})") == QStringLiteral("plan.json: $.seed: given twice in one object (JSON keeps only the last)"));
    // What QJsonDocument reads, the check reads too: a byte order mark, integers beyond 64 bits.
    CHECK(parseError("\xef\xbb\xbf{\"seed\":1,\"steps\":[],\"seed\":2}") == QStringLiteral("plan.json: $.seed: given twice in one object (JSON keeps only the last)"));
    CHECK(parseError(R"({"description":123456789012345678901234567890,"steps":[],"steps":[]})")
        == QStringLiteral("plan.json: $.steps: given twice in one object (JSON keeps only the last)"));
    // Lone surrogate escapes, which QJsonDocument keeps as UTF-16 units: equal ones repeat, others
    // do not, and the path shows them escaped (with a huge integer too, which needs widening).
    CHECK(parseError(R"({"steps":[{"at":{"afterMs":1},"fault":"drop-message","params":{"where":{"path":"$.x","op":"equals","value":{"k\ud800":1,"k\uD800":2}}}}]})")
        == QStringLiteral(R"(plan.json: $.steps[0].params.where.value["k\ud800"]: given twice in one object (JSON keeps only the last))"));
    CHECK(parseError(R"({"steps":[{"at":{"afterMs":1},"fault":"drop-message","params":{"where":{"path":"$.x","op":"equals","value":{"a\udc00x":{"n":123456789012345678901234567890,"k":1,"k":2}}}}}]})")
        == QStringLiteral(R"(plan.json: $.steps[0].params.where.value["a\udc00x"].k: given twice in one object (JSON keeps only the last))"));
    {
        FaultPlan plan;
        QString error;
        // Different lone surrogates, a valid pair, escaped backslashes and a literal "\ud800" are all different keys.
        CHECK(FaultPlan::parse(QByteArray(R"({"steps":[{"at":{"afterMs":1},"fault":"drop-message","params":{"where":{"path":"$.x","op":"equals",)"
                                          R"("value":{"k\ud800":1,"k\udc00":2,"k\ud800\udc00":3,"k\udbff":4,"k\\ud800":5,"k\\\ud800":6,"\"\ud800":7}}}}]})"),
            QStringLiteral("plan.json"), plan, &error));
        CHECK(error.isEmpty());
    }
    CHECK(parseError(R"({"steps":{}})")
        == QStringLiteral("plan.json: $.steps: expected an array of steps, got an object"));
    CHECK(parseError(R"({"seed":-1,"steps":[]})")
              .startsWith(QStringLiteral("plan.json: $.seed: expected a non-negative integer")));
    CHECK(parseError(R"({"expect":"fine","steps":[]})")
              .startsWith(QStringLiteral("plan.json: $.expect: expected one of converged")));
    CHECK(parseError(R"({"steps":[{"at":{"afterMs":1},"fault":"drop","params":{"mode":"soft"}}]})")
        == QStringLiteral("plan.json: $.steps[0].params.mode: expected one of rst, fin, got 'soft'"));
    CHECK(parseError(R"({"steps":[{"at":{"afterMs":"1"},"fault":"drop"}]})")
        == QStringLiteral("plan.json: $.steps[0].at.afterMs: expected a non-negative integer, got a string"));
    CHECK(parseError(R"({"steps":[{"at":{"afterMs":1,"frame":2},"fault":"drop"}]})")
        == QStringLiteral("plan.json: $.steps[0].at: needs exactly one of afterMs, frame, match"));
    CHECK(parseError(R"({"steps":[{"at":{"frame":2,"kind":"deltas"},"fault":"drop"}]})")
              .startsWith(QStringLiteral("plan.json: $.steps[0].at.kind: unknown frame kind")));
    CHECK(parseError(R"({"steps":[{"at":{"match":{"path":"$.x","op":"gt","value":"a"}},"fault":"drop"}]})")
        == QStringLiteral("plan.json: $.steps[0].at.match.value: expected a number for a comparison"));
    CHECK(parseError(R"({"steps":[{"at":{"afterMs":0},"fault":"nap"}]})")
              .startsWith(QStringLiteral("plan.json: $.steps[0].fault: unknown fault 'nap'")));
    CHECK(parseError(R"({"steps":[{"at":{"afterMs":0},"fault":"drop","repeat":{"count":0,"everyMs":5}}]})")
        == QStringLiteral("plan.json: $.steps[0].repeat.count: expected an integer from 1 to 1000000"));
    CHECK(parseError(R"({"steps":[{"at":{"afterMs":0},"fault":"latency","params":{"ms":1.5}}]})")
        == QStringLiteral("plan.json: $.steps[0].params.ms: expected an integer, got a number"));
    // Beyond any 64-bit integer (once undefined behaviour in the check; found by fuzz_faultplan's sanitizers).
    CHECK(parseError(R"({"seed":1e300,"steps":[]})").startsWith(QStringLiteral("plan.json: $.seed: expected a non-negative integer")));
    CHECK(parseError(R"({"steps":[{"at":{"afterMs":0},"fault":"latency","params":{"ms":-1e300}}]})")
        == QStringLiteral("plan.json: $.steps[0].params.ms: expected an integer, got a number"));
    FaultPlan plan;
    QString error;
    CHECK_FALSE(FaultPlan::load(QStringLiteral("/nonexistent/plan.json"), plan, &error));
    CHECK(error.startsWith(QStringLiteral("/nonexistent/plan.json: cannot open")));
}

TEST_CASE("fault parameters: integers out of their documented range are errors that name where, none wraps")
{
    // 4294967296 used to pass as a qint64 and be read with toInt() as 0: "latency set to 0 ms".
    FaultSpec spec;
    QString error;
    CHECK_FALSE(FaultSpec::fromOption(QStringLiteral(R"(latency={"ms":4294967296})"), spec, &error));
    CHECK(error == QStringLiteral("--fault latency, parameter ms: expected an integer from 0 to 3600000, got 4294967296"));
    CHECK_FALSE(FaultSpec::fromOption(QStringLiteral(R"(inject-failure={"code":2147483648})"), spec, &error));
    CHECK(error.contains(QStringLiteral("parameter code: expected an integer from 0 to 2147483647")));
    // 2147483648 ms was read as a negative int: a stall that never ended.
    CHECK(parseError(R"({"steps":[{"at":{"afterMs":0},"fault":"stall","params":{"durationMs":2147483648}}]})")
        == QStringLiteral("plan.json: $.steps[0].params.durationMs: expected an integer from 0 to 86400000, got 2147483648"));
    CHECK(parseError(R"({"steps":[{"at":{"afterMs":4294967296},"fault":"drop"}]})")
        == QStringLiteral("plan.json: $.steps[0].at.afterMs: expected at most 86400000 (a day)"));
    CHECK(parseError(R"({"steps":[{"at":{"frame":4294967296},"fault":"drop"}]})").contains(QStringLiteral("$.steps[0].at.frame")));
    // The largest values are taken and read back exactly.
    REQUIRE(FaultSpec::fromOption(QStringLiteral(R"(stall={"durationMs":86400000})"), spec, &error));
    CHECK(intParam(spec.params, "durationMs") == 86400000);
    REQUIRE(FaultSpec::fromOption(QStringLiteral(R"(bandwidth={"bytesPerSecond":1000000000})"), spec, &error));
    CHECK(intParam(spec.params, "bytesPerSecond") == 1000000000);
    // The ranges are in the catalogue (proxy --list-faults).
    CHECK(faultCatalogText().contains(QStringLiteral("    ms 0..3600000 required")));
    FaultProxy proxy;
    QList<FaultReport> reports;
    QObject::connect(&proxy, &FaultProxy::faultInjected, &proxy, [&](const FaultReport& report) { reports.append(report); });
    REQUIRE(FaultSpec::fromOption(QStringLiteral(R"(latency={"ms":3600000})"), spec, &error));
    REQUIRE(proxy.apply(spec, &error));
    REQUIRE(reports.size() == 1);
    CHECK(reports.first().detail.startsWith(QStringLiteral("latency set to 3600000 ms")));
}

TEST_CASE("fault options: NAME=JSON errors name the option, the parameter and what is wrong")
{
    const auto errorOf = [](const QString& option) {
        FaultSpec spec;
        QString error;
        CHECK_FALSE(FaultSpec::fromOption(option, spec, &error));
        return error;
    };
    FaultSpec spec;
    QString error;
    REQUIRE(FaultSpec::fromOption(QStringLiteral("latency={\"ms\":250}"), spec, &error));
    CHECK(spec.type == FaultType::Latency);
    CHECK(spec.params.value(QLatin1String("ms")).toInt() == 250);
    REQUIRE(FaultSpec::fromOption(QStringLiteral("drop"), spec, &error));
    CHECK(spec.type == FaultType::Drop);

    CHECK(errorOf(QStringLiteral("bogus")).startsWith(QStringLiteral("--fault bogus: unknown fault 'bogus' (one of: drop, ")));
    CHECK(errorOf(QStringLiteral("latency")) == QStringLiteral("--fault latency, parameter ms: required parameter of 'latency' is missing"));
    CHECK(errorOf(QStringLiteral("latency={\"ms\":\"x\"}")) == QStringLiteral("--fault latency, parameter ms: expected an integer, got a string"));
    CHECK(errorOf(QStringLiteral("latency={\"ms\":5,\"jiter\":1}"))
        == QStringLiteral("--fault latency, parameter jiter: unknown parameter of 'latency' (it takes: ms, jitterMs, direction)"));
    CHECK(errorOf(QStringLiteral("latency={ms:5}"))
        == QStringLiteral("--fault latency: the parameters after '=' must be a JSON object, as in latency={\"ms\":200} (unterminated object at "
                          "offset 2 after '='); without '=' the fault takes its defaults"));
    CHECK(errorOf(QStringLiteral("={\"ms\":5}")) == QStringLiteral("--fault ={\"ms\":5}: a fault name is missing, as in latency={\"ms\":200} (deltascope-cli proxy --list-faults)"));
    CHECK(errorOf(QStringLiteral("latency=[1]")).startsWith(QStringLiteral("--fault latency: the parameters after '=' must be a JSON object")));
    // JSON parsers keep the last of a repeated key: here that would quietly be 900.
    CHECK(errorOf(QStringLiteral("latency={\"ms\":100,\"jitterMs\":5,\"ms\":900}")) == QStringLiteral("--fault latency: parameter ms is given twice"));
    CHECK(errorOf(QStringLiteral("drop-message={\"where\":{\"path\":\"$.x\",\"op\":\"equals\",\"value\":{\"a\":1,\"a\":2}}}"))
        == QStringLiteral("--fault drop-message: key a is given twice in parameter where.value"));
    // A parameter that should not be there at all is named as such first, repeated or not.
    CHECK(errorOf(QStringLiteral("latency={\"ms\":1,\"x\":{\"a\":1,\"a\":2}}"))
        == QStringLiteral("--fault latency, parameter x: unknown parameter of 'latency' (it takes: ms, jitterMs, direction)"));
    CHECK(errorOf(QStringLiteral("clear={\"a\":1,\"a\":2}")) == QStringLiteral("--fault clear, parameter a: unknown parameter of 'clear' (it takes: none)"));
    CHECK(errorOf(QStringLiteral("bogus={\"a\":1,\"a\":2}")).startsWith(QStringLiteral("--fault bogus: unknown fault 'bogus' (one of: drop, ")));
    CHECK(errorOf(QStringLiteral("latency:200")) == QStringLiteral("--fault latency:200: write NAME or NAME=JSON, as in latency={\"ms\":200} (deltascope-cli proxy --list-faults)"));
    // The example is of the fault named: its required parameter, else its first with the default.
    CHECK(errorOf(QStringLiteral("drop=rst")).startsWith(QStringLiteral("--fault drop: the parameters after '=' must be a JSON object, as in drop={\"mode\":\"rst\"} (")));
    CHECK(errorOf(QStringLiteral("bandwidth=1000")).startsWith(QStringLiteral("--fault bandwidth: the parameters after '=' must be a JSON object, as in bandwidth={\"bytesPerSecond\":65536} (")));
    CHECK(errorOf(QStringLiteral("stall:10")) == QStringLiteral("--fault stall:10: write NAME or NAME=JSON, as in stall={\"direction\":\"both\"} (deltascope-cli proxy --list-faults)"));
    CHECK(errorOf(QStringLiteral("clear=1")) == QStringLiteral("--fault clear: 'clear' takes no parameters; write --fault clear"));
    CHECK(errorOf(QStringLiteral("clear:x")) == QStringLiteral("--fault clear:x: write NAME or NAME=JSON, as in clear (deltascope-cli proxy --list-faults)"));
    CHECK(errorOf(QStringLiteral("clear:x=1")) == QStringLiteral("--fault clear:x: write NAME or NAME=JSON, as in clear (deltascope-cli proxy --list-faults)"));
    CHECK(errorOf(QStringLiteral("latency:200={\"ms\":1}")) == QStringLiteral("--fault latency:200: write NAME or NAME=JSON, as in latency={\"ms\":200} (deltascope-cli proxy --list-faults)"));
    // Every fault's example is itself a --fault that works.
    for (const QString& fault : faultTypeNames()) {
        INFO(fault.toStdString());
        const QString message = errorOf(fault + QStringLiteral("=1"));
        const qsizetype asIn = message.indexOf(QStringLiteral("as in "));
        const QString example = asIn >= 0 ? message.mid(asIn + 6).section(QLatin1Char(' '), 0, 0)
                                          : message.section(QStringLiteral("write --fault "), 1);
        INFO(message.toStdString());
        REQUIRE_FALSE(example.isEmpty());
        CHECK(FaultSpec::fromOption(example, spec, &error));
    }
    // "" is a key like any other: given twice, it is reported.
    CHECK(errorOf(QStringLiteral("drop-message={\"where\":{\"path\":\"$.x\",\"op\":\"equals\",\"value\":{\"\":1,\"\":2}}}"))
        == QStringLiteral("--fault drop-message: key \"\" is given twice in parameter where.value"));
    CHECK(errorOf(QStringLiteral("drop-message={\"kind\":\"request\",\"direction\":\"inbound\"}"))
        == QStringLiteral("--fault drop-message, parameter direction: 'request' frames never travel inbound"));
    // A plan's step keeps naming its JSON path.
    CHECK_FALSE(FaultSpec::fromNameAndParams(QStringLiteral("latency"), {}, QStringLiteral("$.steps[2]"), spec, &error));
    CHECK(error == QStringLiteral("$.steps[2].params.ms: required parameter of 'latency' is missing"));
}

TEST_CASE("plan runner: time, frame and match triggers fire in order, repeats space out")
{
    ScriptedServer server;
    FaultProxy proxy;
    REQUIRE(proxy.setUpstream(server.url()));
    REQUIRE(proxy.listen());
    QList<FaultReport> reports;
    QObject::connect(
        &proxy, &FaultProxy::faultInjected, &proxy, [&](const FaultReport& report) { reports.append(report); });
    RecordingClient client;
    client.open(proxy.clientUrl());
    REQUIRE(waitUntil([&] { return server.connectedCount() == 1 && !client.messages.isEmpty(); }, 5s));

    FaultPlan plan;
    QString error;
    REQUIRE(FaultPlan::parse(R"({"seed":3,"steps":[
        {"at":{"afterMs":50},"fault":"latency","params":{"ms":1}},
        {"at":{"frame":3,"kind":"delta"},"fault":"drop-message","params":{"kind":"delta"}},
        {"at":{"match":{"path":"$.response.delta.seq","value":10}},"fault":"hold-pings","params":{"durationMs":50}},
        {"at":{"afterMs":0},"fault":"clear-stall","repeat":{"count":3,"everyMs":40}}
    ]})",
        QStringLiteral("inline"), plan, &error));
    FaultPlanRunner runner(&proxy, plan);
    QList<int> fired;
    QObject::connect(
        &runner, &FaultPlanRunner::stepFired, &runner, [&](int step, const QString&) { fired.append(step); });
    bool finished = false;
    QObject::connect(&runner, &FaultPlanRunner::finished, &runner, [&] { finished = true; });
    runner.start();
    CHECK(proxy.seed() == 3);
    REQUIRE(waitUntil([&] { return fired.contains(0); }, 5s));
    for (int seq = 1; seq <= 3; ++seq)
        server.sendToAll(QStringLiteral(R"({"deliver":1,"done":false,"response":{"delta":{"data":{"n":%1},"seq":%1}}})")
                             .arg(seq)
                             .toUtf8());
    REQUIRE(waitUntil([&] { return fired.contains(1); }, 5s));
    // The 4th delta is the first the armed drop sees.
    server.sendToAll(R"({"deliver":1,"done":false,"response":{"delta":{"data":{"n":4},"seq":4}}})");
    server.sendToAll(R"({"deliver":1,"done":false,"response":{"delta":{"seq":10}}})");
    REQUIRE(waitUntil([&] { return finished; }, 5s));
    // Repeats of step 3 at 0 and 40 ms, step 0 at 50 ms; the frame steps come when the deltas do.
    CHECK(fired.mid(0, 3) == QList<int> { 3, 3, 0 });
    CHECK(fired.count(3) == 3);
    CHECK(fired.indexOf(1) < fired.indexOf(2));
    CHECK(runner.isFinished());
    bool dropped = false;
    for (const FaultReport& report : reports)
        dropped = dropped
            || (report.fault == QStringLiteral("drop-message") && report.detail.contains(QStringLiteral("seq 4")));
    CHECK(dropped);
}

TEST_CASE("plan runner: a drop triggered by a frame lets that frame reach the client first, RST or FIN")
{
    // The README: the triggering frame passes untouched. It was still in the proxy's socket buffer
    // when the drop closed the socket, and an RST (SO_LINGER 0) discarded it.
    for (const char* mode : { "rst", "fin" }) {
        INFO(mode);
        ScriptedServer server;
        FaultProxy proxy;
        REQUIRE(proxy.setUpstream(server.url()));
        REQUIRE(proxy.listen());
        RecordingClient client;
        client.open(proxy.clientUrl());
        REQUIRE(waitUntil([&] { return server.connectedCount() == 1 && !client.messages.isEmpty(); }, 5s));
        FaultPlan plan;
        QString error;
        REQUIRE(FaultPlan::parse(QStringLiteral(R"({"steps":[{"at":{"frame":5,"kind":"delta"},"fault":"drop","params":{"mode":"%1"}}]})")
                                     .arg(QLatin1String(mode))
                                     .toUtf8(),
            QStringLiteral("inline"), plan, &error));
        FaultPlanRunner runner(&proxy, plan);
        runner.start();
        for (int seq = 1; seq <= 8; ++seq)
            server.sendToAll(QStringLiteral(R"({"deliver":1,"done":false,"response":{"delta":{"data":{"n":%1},"seq":%1}}})")
                                 .arg(seq)
                                 .toUtf8());
        REQUIRE(waitUntil([&] { return client.disconnects > 0; }, 5s));
        QList<int> seqs;
        for (const QByteArray& message : client.messages) {
            const QJsonObject json = QJsonDocument::fromJson(message).object();
            if (json.contains(QLatin1String("deliver")))
                seqs.append(json.value(QLatin1String("response")).toObject().value(QLatin1String("delta")).toObject().value(QLatin1String("seq")).toInt());
        }
        CHECK(seqs == QList<int> { 1, 2, 3, 4, 5 });
    }
}

TEST_CASE("cli proxy: lists, argument errors, and a timed run that logs connections and faults")
{
    // Output accumulates across calls, as the checks below expect.
    auto run = [](const QStringList& arguments, QString& out, QString& err) {
        const test::CliRun cli = test::runCli(arguments);
        out += cli.out;
        err += cli.err;
        return cli.code;
    };
    QString out, err;
    CHECK(run({ QStringLiteral("proxy"), QStringLiteral("--list-faults") }, out, err) == cli::ExitOk);
    CHECK(out.contains(QStringLiteral("half-open stall")));
    out.clear();
    CHECK(run({ QStringLiteral("proxy"), QStringLiteral("--list-plans") }, out, err) == cli::ExitOk);
    CHECK(out.contains(QStringLiteral("flapping-network: ")));
    CHECK(run({ QStringLiteral("proxy") }, out, err) == cli::ExitUsage);
    CHECK(err.contains(QStringLiteral("--upstream URL is required")));
    err.clear();
    CHECK(run({ QStringLiteral("proxy"), QStringLiteral("--upstream"), QStringLiteral("ws://127.0.0.1:1/~s"),
                  QStringLiteral("--listen"), QStringLiteral("10.1.2.3:0") },
              out, err)
        == cli::ExitFailure);
    CHECK(err.contains(QStringLiteral("loopback")));
    err.clear();
    CHECK(run({ QStringLiteral("proxy"), QStringLiteral("--upstream"), QStringLiteral("ws://127.0.0.1:1/~s"),
                  QStringLiteral("--fault"), QStringLiteral("latency={\"ms\":-1}") },
              out, err)
        == cli::ExitUsage);
    CHECK(err.contains(QStringLiteral("deltascope-cli proxy: --fault latency, parameter ms: expected a non-negative integer")));
    err.clear();
    // A timer's int milliseconds: a longer --duration was taken as negative or as 1 ms.
    CHECK(run({ QStringLiteral("proxy"), QStringLiteral("--upstream"), QStringLiteral("ws://127.0.0.1:1/~s"),
                  QStringLiteral("--duration"), QStringLiteral("2147483648") },
              out, err)
        == cli::ExitUsage);
    CHECK(err.contains(QStringLiteral("--duration must be a number of milliseconds from 0 to 2147483647 (about 24 days), not '2147483648'")));
    err.clear();
    CHECK(run({ QStringLiteral("proxy"), QStringLiteral("--upstream"), QStringLiteral("wss://127.0.0.1:1/~s"),
                  QStringLiteral("--ca-cert"), QStringLiteral("/nonexistent/ca.pem") },
              out, err)
        == cli::ExitUsage);
    CHECK(err.contains(QStringLiteral("--ca-cert /nonexistent/ca.pem")));
    err.clear();
    CHECK(run({ QStringLiteral("proxy"), QStringLiteral("--upstream"), QStringLiteral("wss://127.0.0.1:1/~s"),
                  QStringLiteral("--ca-cert"), test::sourceDir() + QStringLiteral("/tests/data/server/localhost.key") },
              out, err)
        == cli::ExitUsage);
    CHECK(err.contains(QStringLiteral("no PEM certificate")));
    err.clear();
    CHECK(run({ QStringLiteral("proxy"), QStringLiteral("--upstream"), QStringLiteral("http://127.0.0.1:1/~s") }, out, err)
        == cli::ExitUsage);
    CHECK(err.contains(QStringLiteral("neither a ws:// nor a wss:// URL")));
    err.clear();
    CHECK(run({ QStringLiteral("proxy"), QStringLiteral("--upstream"), QStringLiteral("wss://127.0.0.1:1/~s"),
                  QStringLiteral("--insecure"), QStringLiteral("--duration"), QStringLiteral("10") },
              out, err)
        == cli::ExitOk);
    CHECK(err.contains(QStringLiteral("--insecure: the upstream's certificate is NOT verified")));
    // A plan whose trigger never comes (no client at all here) says each step did not act.
    out.clear();
    CHECK(run({ QStringLiteral("proxy"), QStringLiteral("--upstream"), QStringLiteral("ws://127.0.0.1:1/~s"), QStringLiteral("--plan"),
                  QStringLiteral("drop-during-burst"), QStringLiteral("--duration"), QStringLiteral("50"), QStringLiteral("--json") },
              out, err)
        == cli::ExitOk);
    CHECK(out.contains(QStringLiteral(R"("type":"plan-step-not-applied")")));
    CHECK(out.contains(QStringLiteral("plan step 1 (RST during the burst): its trigger never came: frame 20 of kind delta, and 0 such frame(s) passed")));

    // The real executable: a plan runs against a client, SIGINT ends it cleanly.
    ScriptedServer server;
    QProcess process;
    process.start(test::executablePath(QStringLiteral("deltascope-cli")),
        { QStringLiteral("proxy"), QStringLiteral("--upstream"), server.url().toString(), QStringLiteral("--plan"),
            QStringLiteral("drop-delta-silently"), QStringLiteral("--json") });
    REQUIRE(process.waitForStarted(5000));
    QByteArray output;
    QUrl url;
    REQUIRE(waitUntil(
        [&] {
            output += process.readAllStandardOutput();
            const qsizetype newline = output.indexOf('\n');
            if (newline < 0)
                return false;
            url = QUrl(QJsonDocument::fromJson(output.left(newline)).object().value(QLatin1String("url")).toString());
            return url.isValid();
        },
        10s));
    RecordingClient client;
    client.open(url);
    REQUIRE(waitUntil([&] { return server.connectedCount() == 1; }, 5s));
    // The plan arms its drop 500 ms after the first connection; then the 3rd delta is swallowed.
    REQUIRE(waitUntil(
        [&] {
            output += process.readAllStandardOutput();
            return output.contains("\"event\":\"upgraded\"");
        },
        5s));
    QTest::qWait(700);
    for (int seq = 1; seq <= 4; ++seq)
        server.sendToAll(QStringLiteral(R"({"deliver":1,"done":false,"response":{"delta":{"data":{"n":%1},"seq":%1}}})")
                             .arg(seq)
                             .toUtf8());
    REQUIRE(waitUntil([&] { return client.messages.size() == 4; }, 5s));
    process.terminate(); // SIGTERM; SIGINT takes the same path
    REQUIRE(process.waitForFinished(5000));
    output += process.readAllStandardOutput();
    CHECK(process.exitCode() == 0);
    CHECK(output.contains("\"fault\":\"drop-message\""));
    CHECK(output.contains("\"corrupting\":true"));
    CHECK(output.contains("\"type\":\"stopped\""));
}

TEST_CASE("cli proxy: faults typed on standard input, and one whose parameter is given twice")
{
    QProcess process;
    process.start(test::executablePath(QStringLiteral("deltascope-cli")),
        { QStringLiteral("proxy"), QStringLiteral("--upstream"), QStringLiteral("ws://127.0.0.1:1/~s"), QStringLiteral("--stdin"),
            QStringLiteral("--duration"), QStringLiteral("3000") });
    REQUIRE(process.waitForStarted(30000));
    process.write("latency {\"ms\":100,\"ms\":900}\nclear {\"a\":1,\"a\":2}\n\ndrop {bad\nlatency [1]\nlatency {\"ms\":250}\n");
    process.closeWriteChannel();
    REQUIRE(process.waitForFinished(30000));
    const QString log = QString::fromUtf8(process.readAllStandardOutput() + process.readAllStandardError());
    INFO(log.toStdString());
    CHECK(log.contains(QStringLiteral("stdin:1: latency: parameter ms is given twice")));
    // A parameter that should not be there is named as such, not as given twice.
    CHECK(log.contains(QStringLiteral("stdin:2: $.params.a: unknown parameter of 'clear' (it takes: none)")));
    // Each error names its line (empty lines count) and what is wrong with the parameters.
    CHECK(log.contains(QStringLiteral("stdin:4: drop: the parameters are not valid JSON: ")));
    CHECK(log.contains(QStringLiteral("stdin:5: latency: the parameters must be a JSON object")));
    CHECK(log.contains(QStringLiteral("\"ms\":250")));
    CHECK_FALSE(log.contains(QStringLiteral("\"ms\":900")));
}
