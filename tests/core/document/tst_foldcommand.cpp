#include <catch2/catch.hpp>

#include "core/cli/cli.h"
#include "documenttestutils.h"
#include "tests/support/testutils.h"

#include <QBuffer>
#include <QProcess>
#include <QTemporaryDir>

#include <zstd.h>

#ifdef Q_OS_UNIX
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#endif

using namespace deltascope;
using namespace deltascope::test;

namespace {


const QByteArray kStream = R"({"players":{"4":{"id":4,"name":"ann"},"7":{"id":7,"name":"bo"},"9":{"id":9,"name":"cy"},"@o":[4,7,9]}}
{"players":{"12":{"id":12,"name":"di"},"@o":[12,[0,2]]}}

{"players":{"9":{"name":"cy2"},"@o":[12,4,9],"7":null}}
)";

const QByteArray kFrames = R"({"status":"connected","version":"20240912211736","identities":{}}
{"deliver":1,"done":false,"response":{"delta":{"view-state-filter":["page"]}}}
{"deliver":1,"done":false,"response":{"delta":{"data":{"title":"Demo","lines":{"1":{"what":"hi","when":"1718000000000"},"@o":[1]}},"seq":17}}}
{"ping":1000,"latency":"0"}
{"deliver":2,"done":true,"response":{"seq":18}}
{"deliver":1,"done":false,"response":{"delta":{"data":{"lines":{"2":{"what":"yo"},"@o":[1,2]}},"seq":18}}}
{"deliver":1,"done":false,"response":{"delta":{"data":{"page_label":"Page 2"}}}}
)";

}

TEST_CASE("fold cli: bare deltas from stdin print the visible document")
{
    const CliRun run = runCli({ QStringLiteral("fold") }, kStream);
    CHECK(run.code == cli::ExitOk);
    CHECK(run.err.isEmpty());
    CHECK(run.out == QStringLiteral(R"({"players":[{"id":12,"name":"di"},{"id":4,"name":"ann"},{"id":9,"name":"cy2"}]})") + QLatin1Char('\n'));
    CHECK(runCli({ QStringLiteral("fold"), QStringLiteral("-") }, kStream).out == run.out);
}

TEST_CASE("fold cli: server frames are recognised and frames without data skipped")
{
    const CliRun run = runCli({ QStringLiteral("fold") }, kFrames);
    CHECK(run.code == cli::ExitOk);
    INFO(run.err.toStdString());
    CHECK(sameJson(parseJson(run.out.toUtf8()),
        parseJson(R"({"title":"Demo","lines":[{"what":"hi","when":"1718000000000"},{"what":"yo"}],"page_label":"Page 2"})")));
}

TEST_CASE("fold cli: a transcript with two documents on one socket folds the latest connection/create's, and says so")
{
    const QByteArray twoDocuments = R"({"method":"connection/create","id":1,"identity":"a","space":"chat","key":"k"}
{"deliver":1,"done":false,"response":{"delta":{"data":{"title":"T","count":1},"seq":1}}}
{"method":"connection/create","id":2,"identity":"a","space":"game","key":"k"}
{"deliver":2,"done":false,"response":{"delta":{"data":{"turn":1,"round":1},"seq":1}}}
{"deliver":1,"done":false,"response":{"delta":{"data":{"count":2},"seq":2}}}
{"deliver":1,"done":false,"response":{"delta":{"data":{"count":3},"seq":3}}}
{"deliver":2,"done":false,"response":{"delta":{"data":{"turn":2},"seq":2}}}
)";
    const CliRun run = runCli({ QStringLiteral("fold") }, twoDocuments);
    CHECK(run.code == cli::ExitOk);
    CHECK(run.out == QStringLiteral("{\"turn\":2,\"round\":1}\n")); // chat's count is not mixed in
    CHECK(run.err.contains(QStringLiteral("<stdin> carries several document streams; the document printed is stream id 2's (the latest "
                                          "connection/create), and the items of the others were left out (id 1: 2 items)")));
    // A reconnect reuses the id on its new socket (connection.js numbers per socket): one stream.
    const QByteArray reconnect = R"({"method":"connection/create","id":1,"identity":"a","space":"chat","key":"k"}
{"deliver":1,"done":false,"response":{"delta":{"data":{"title":"T","count":1},"seq":1}}}
{"status":"connected","version":"v1","identities":{}}
{"method":"connection/create","id":1,"identity":"a","space":"chat","key":"k"}
{"deliver":1,"done":false,"response":{"delta":{"data":{"title":"T","count":4},"seq":5}}}
)";
    const CliRun again = runCli({ QStringLiteral("fold") }, reconnect);
    CHECK(again.out == QStringLiteral("{\"title\":\"T\",\"count\":4}\n"));
    CHECK_FALSE(again.err.contains(QStringLiteral("several document streams")));
}

TEST_CASE("fold cli: --anomalies says when a recorded stream re-sends a whole snapshot inside it")
{
    // adama-wire.md 7.4: values sent again unchanged give a re-sent snapshot away (a server sends
    // changed fields only). Not the stream's first item, not a repeated seq, not bare deltas.
    const QByteArray transcript = R"({"method":"connection/create","id":1,"identity":"a","space":"chat","key":"k"}
{"deliver":1,"done":false,"response":{"delta":{"data":{"title":"T","count":1,"open":true},"seq":1}}}
{"deliver":1,"done":false,"response":{"delta":{"data":{"count":2},"seq":2}}}
{"deliver":1,"done":false,"response":{"delta":{"data":{"title":"T","count":2,"open":true,"topic":"T"},"seq":3}}}
{"deliver":1,"done":false,"response":{"delta":{"data":{"title":"T","count":2,"open":true,"topic":"T"},"seq":3}}}
)";
    const CliRun run = runCli({ QStringLiteral("fold"), QStringLiteral("--anomalies") }, transcript);
    CHECK(run.code == cli::ExitAnomalies);
    CHECK(run.err.contains(QStringLiteral("<stdin>:4: delta 2: snapshot-resent: 3 values re-sent unchanged: this item looks like a whole snapshot")));
    CHECK(run.err.count(QStringLiteral("snapshot-resent")) == 1); // line 5 repeats seq 3: said as that
    CHECK(run.err.contains(QStringLiteral("<stdin>:5: seq-not-increasing")));
    // Bare deltas are nobody's recorded stream: nothing said.
    const QByteArray bare = "{\"title\":\"T\",\"count\":1,\"open\":true}\n{\"title\":\"T\",\"count\":1,\"open\":true}\n";
    CHECK(runCli({ QStringLiteral("fold"), QStringLiteral("--anomalies") }, bare).code == cli::ExitOk);
}

TEST_CASE("fold cli: a transcript of both directions folds only the deltas")
{
    // Requests, pongs and failures are no deltas: folded as such they put the client's identity
    // and the protocol's fields into the document.
    const QByteArray transcript = R"({"status":"connected","version":"20240912211736","identities":{}}
{"method":"connection/create","id":1,"identity":"anonymous:alice","space":"chat","key":"demo"}
{"deliver":1,"done":false,"response":{"delta":{"data":{"title":"Demo"},"seq":4}}}
{"ping":1000,"latency":"0"}
{"ping":1000,"latency":"0","pong":1718000001.25}
{"method":"connection/send","id":"2","connection":1,"channel":"say","message":{"what":"hi"}}
{"method":"probe","id":3,"identity":"anonymous:alice"}
{"failure":3,"reason":403403,"retry":false}
{"status":"disconnected","reason":"keepalive-failure"}
)";
    const CliRun run = runCli({ QStringLiteral("fold") }, transcript);
    INFO(run.err.toStdString());
    CHECK(run.code == cli::ExitOk);
    CHECK(run.out == QStringLiteral("{\"title\":\"Demo\"}\n"));
    // Data that only looks like a protocol message is still data.
    const CliRun data = runCli({ QStringLiteral("fold") },
        R"({"method":"card","id":7}
{"failure":"none","reason":"x"}
{"pong":true,"score":3}
{"status":"open"}
{"ping":4}
{"failure":2}
{"status":"connected"}
)");
    CHECK(data.code == cli::ExitOk);
    CHECK(sameJson(parseJson(data.out.toUtf8()),
        parseJson(R"({"method":"card","id":7,"failure":2,"reason":"x","pong":true,"score":3,"status":"connected","ping":4})")));
}

TEST_CASE("fold cli: bare deltas are all data, even those shaped like protocol messages")
{
    // The first line decides: not a protocol message nor a frame, so every line is a delta.
    const CliRun run = runCli({ QStringLiteral("fold"), QStringLiteral("--anomalies") }, R"({"status":"online","reason":"boot"}
{"status":"disconnected","reason":"timeout"}
{"id":5,"method":"card/play"}
{"deliver":"tomorrow","address":"x"}
{"ping":1,"latency":"2"}
)");
    INFO(run.err.toStdString());
    CHECK(run.code == cli::ExitOk);
    CHECK(sameJson(parseJson(run.out.toUtf8()),
        parseJson(R"({"status":"disconnected","reason":"timeout","id":5,"method":"card/play","deliver":"tomorrow","address":"x","ping":1,"latency":"2"})")));
    // A server frame among them is still a frame.
    const CliRun mixed = runCli({ QStringLiteral("fold") }, R"({"a":1}
{"deliver":1,"done":false,"response":{"delta":{"data":{"b":2},"seq":3}}}
)");
    CHECK(mixed.out == QStringLiteral("{\"a\":1,\"b\":2}\n"));
}

TEST_CASE("fold cli: in a transcript each connection/create starts a fresh document, but for --reference-client")
{
    const QByteArray transcript = R"({"method":"connection/create","id":1,"identity":"anonymous:a","space":"s","key":"k"}
{"deliver":1,"done":false,"response":{"delta":{"data":{"a":1,"b":2,"l":{"1":{"v":1},"2":{"v":2},"@o":[1,2]}},"seq":5}}}
{"status":"connected","version":"v1","identities":{}}
{"method":"connection/create","id":2,"identity":"anonymous:a","space":"s","key":"k"}
{"deliver":2,"done":false,"response":{"delta":{"data":{"a":1,"l":{"2":{"v":2},"@o":[2]}},"seq":9}}}
)";
    const CliRun canonical = runCli({ QStringLiteral("fold") }, transcript);
    INFO(canonical.err.toStdString());
    CHECK(canonical.out == QStringLiteral("{\"a\":1,\"l\":[{\"v\":2}]}\n"));
    // The new stream's seqs start afresh, under the same id too (connection.js re-sends streams with
    // their original id): not "seq going backwards".
    const QByteArray sameId = R"({"method":"connection/create","id":1,"identity":"anonymous:a","space":"s","key":"k"}
{"deliver":1,"done":false,"response":{"delta":{"data":{"a":1},"seq":10}}}
{"status":"connected","version":"v1","identities":{}}
{"method":"connection/create","id":1,"identity":"anonymous:a","space":"s","key":"k"}
{"deliver":1,"done":false,"response":{"delta":{"data":{"a":2},"seq":3}}}
)";
    const CliRun again = runCli({ QStringLiteral("fold"), QStringLiteral("--anomalies") }, sameId);
    INFO(again.err.toStdString());
    CHECK(again.code == cli::ExitOk);
    CHECK(again.out == QStringLiteral("{\"a\":2}\n"));
    // A frame whose id is text reaches no call in connection.js: left out, and said.
    const QByteArray textId = R"({"method":"connection/create","id":1,"identity":"anonymous:a","space":"s","key":"k"}
{"deliver":1,"done":false,"response":{"delta":{"data":{"a":1},"seq":1}}}
{"deliver":"1","done":false,"response":{"delta":{"data":{"c":3},"seq":2}}}
{"deliver":1,"done":false,"response":{"delta":{"data":{"d":4},"seq":3}}}
)";
    const CliRun dropped = runCli({ QStringLiteral("fold"), QStringLiteral("--anomalies") }, textId);
    CHECK(dropped.code == cli::ExitAnomalies);
    CHECK(dropped.out == QStringLiteral("{\"a\":1,\"d\":4}\n"));
    CHECK(dropped.err.contains(QStringLiteral("frame-dropped: frame for id \"1\", not a number")));
    // The reference client merges the new snapshot into the tree it holds: the stale key stays.
    const CliRun reference = runCli({ QStringLiteral("fold"), QStringLiteral("--reference-client") }, transcript);
    CHECK(sameJson(parseJson(reference.out.toUtf8()), parseJson(R"({"a":1,"b":2,"l":[{"v":2}]})")));
}

TEST_CASE("fold cli: items after a stream's done:true or failure are dropped, as a client drops ids it no longer knows")
{
    const QByteArray afterDone = R"({"method":"connection/create","id":1,"identity":"anonymous:a","space":"s","key":"k"}
{"deliver":1,"done":false,"response":{"delta":{"data":{"a":1},"seq":5}}}
{"deliver":1,"done":true,"response":{"delta":{"data":{"b":2},"seq":6}}}
{"deliver":1,"done":false,"response":{"delta":{"data":{"a":2,"late":true},"seq":7}}}
)";
    for (const bool reference : { false, true }) {
        QStringList arguments { QStringLiteral("fold"), QStringLiteral("--anomalies") };
        if (reference)
            arguments << QStringLiteral("--reference-client");
        const CliRun run = runCli(arguments, afterDone);
        INFO(run.err.toStdString());
        CHECK(run.code == cli::ExitAnomalies);
        CHECK(run.out == QStringLiteral("{\"a\":1,\"b\":2}\n")); // the done frame's own data folds
        CHECK(run.err.contains(QStringLiteral("<stdin>:4: frame-dropped: item for stream 1 after its done:true: a client no longer knows the id and drops it")));
    }
    const QByteArray afterFailure = R"({"method":"connection/create","id":1,"identity":"anonymous:a","space":"s","key":"k"}
{"deliver":1,"done":false,"response":{"delta":{"data":{"a":1},"seq":5}}}
{"failure":1,"reason":403403,"retry":false}
{"deliver":1,"done":false,"response":{"delta":{"data":{"a":2},"seq":6}}}
{"method":"connection/create","id":1,"identity":"anonymous:a","space":"s","key":"k"}
{"deliver":1,"done":false,"response":{"delta":{"data":{"a":3},"seq":1}}}
)";
    const CliRun failed = runCli({ QStringLiteral("fold"), QStringLiteral("--anomalies") }, afterFailure);
    INFO(failed.err.toStdString());
    CHECK(failed.code == cli::ExitAnomalies);
    // A new connection/create under the same id (connection.js reuses them) is a stream again.
    CHECK(failed.out == QStringLiteral("{\"a\":3}\n"));
    CHECK(failed.err.contains(QStringLiteral("<stdin>:4: frame-dropped: item for stream 1 after its failure 403403")));
    CHECK(failed.err.count(QStringLiteral("frame-dropped")) == 1);
    // Server frames only: a new socket's hello forgets the old socket's ids, so a stream made again
    // there under an ended id (its request not in the file) folds.
    // The new stream's first item is a whole snapshot, folded onto an empty document.
    const QByteArray inboundOnly = R"({"status":"connected","version":"v1","identities":{}}
{"deliver":1,"done":false,"response":{"delta":{"data":{"a":1,"b":1},"seq":5}}}
{"deliver":1,"done":true}
{"status":"connected","version":"v1","identities":{}}
{"deliver":1,"done":false,"response":{"delta":{"data":{"a":4},"seq":1}}}
)";
    const CliRun again = runCli({ QStringLiteral("fold"), QStringLiteral("--anomalies") }, inboundOnly);
    INFO(again.err.toStdString());
    CHECK(again.code == cli::ExitOk);
    CHECK(again.out == QStringLiteral("{\"a\":4}\n"));
    // The reference client merges it into what it holds: the stale key stays.
    const CliRun merged = runCli({ QStringLiteral("fold"), QStringLiteral("--reference-client") }, inboundOnly);
    CHECK(sameJson(parseJson(merged.out.toUtf8()), parseJson(R"({"a":4,"b":1})")));
}

TEST_CASE("fold cli: what the reference client shows otherwise is reported in the canonical fold, and contradictions in both")
{
    const auto anomaliesOf = [](const QByteArray& deltas, bool reference = false) {
        QStringList arguments { QStringLiteral("fold"), QStringLiteral("--anomalies") };
        if (reference)
            arguments << QStringLiteral("--reference-client");
        const CliRun run = runCli(arguments, deltas);
        INFO(run.err.toStdString());
        CHECK(run.code == cli::ExitAnomalies);
        return run.err;
    };
    // A null in raw JSON: copy() shows it as {}.
    CHECK(anomaliesOf(R"({"a":[1,null]})").contains(QStringLiteral("reference client differs at 'a': raw JSON holding null")));
    CHECK(anomaliesOf(R"({"a":[{"b":null}]})").contains(QStringLiteral("raw JSON holding null")));
    // Removals without @o / @s: the reference client keeps showing the element.
    CHECK(anomaliesOf("{\"l\":{\"1\":{\"v\":1},\"2\":{\"v\":2},\"@o\":[1,2]}}\n{\"l\":{\"1\":null}}\n")
              .contains(QStringLiteral("record list element removed without @o")));
    CHECK(anomaliesOf("{\"s\":{\"0\":1,\"1\":2,\"@s\":2}}\n{\"s\":{\"1\":null}}\n").contains(QStringLiteral("value list element removed without @s")));
    // A record list's element set to a scalar without @o: the visible array keeps the old one.
    CHECK(anomaliesOf("{\"l\":{\"1\":{\"v\":1},\"2\":{\"v\":2},\"@o\":[1,2]}}\n{\"l\":{\"1\":7}}\n")
              .contains(QStringLiteral("record list element set to a scalar without @o")));
    // The server contradicting itself is reported in the reference client's fold too.
    const QByteArray removedAndCopied = "{\"l\":{\"1\":{\"v\":1},\"2\":{\"v\":2},\"3\":{\"v\":3},\"@o\":[1,2,3]}}\n{\"l\":{\"2\":null,\"@o\":[[0,2]]}}\n";
    CHECK(anomaliesOf(removedAndCopied, true).contains(QStringLiteral("removed and copied by an @o range")));
    const QByteArray removedAndOrdered = "{\"l\":{\"1\":{\"v\":1},\"2\":{\"v\":2},\"@o\":[1,2]}}\n{\"l\":{\"1\":null,\"@o\":[1,2]}}\n";
    CHECK(anomaliesOf(removedAndOrdered, true).contains(QStringLiteral("removed and ordered by the same delta")));
    CHECK(anomaliesOf(removedAndOrdered).contains(QStringLiteral("removed and ordered by the same delta")));
    // An honest stream says nothing.
    CHECK(runCli({ QStringLiteral("fold"), QStringLiteral("--anomalies") }, kStream).code == cli::ExitOk);
}

TEST_CASE("fold cli: the delta log that export writes folds, a new epoch starting a fresh document")
{
    const QByteArray deltaLog = R"({"format": "deltascope-delta-log","version":"1.0","source":"s.ndjson","from":0,"to":9,"redacted":[]}
{"index":3,"ns":1,"wallMs":1,"epoch":1,"seq":4,"snapshot":true,"data":{"title":"Demo","gone":1},"changed":["title","gone"]}
{"index":5,"ns":2,"wallMs":2,"epoch":1,"seq":5,"snapshot":false,"data":{"title":"Demo 2"},"changed":["title"]}
{"index":8,"ns":3,"wallMs":3,"epoch":2,"seq":9,"snapshot":true,"data":{"title":"Again"},"changed":["title"]}
)";
    const CliRun run = runCli({ QStringLiteral("fold") }, deltaLog);
    INFO(run.err.toStdString());
    CHECK(run.code == cli::ExitOk);
    CHECK(run.out == QStringLiteral("{\"title\":\"Again\"}\n")); // "gone" belonged to the first connection
    // The reference client merges the new snapshot into what it holds: "gone" stays there.
    CHECK(runCli({ QStringLiteral("fold"), QStringLiteral("--reference-client") }, deltaLog).out == QStringLiteral("{\"title\":\"Again\",\"gone\":1}\n"));
    CHECK(runCli({ QStringLiteral("fold"), QStringLiteral("--at"), QStringLiteral("2") }, deltaLog).out == QStringLiteral("{\"title\":\"Demo 2\",\"gone\":1}\n"));
    const CliRun bad = runCli({ QStringLiteral("fold") }, QByteArray(R"({"format":"deltascope-delta-log","version":"1.0"}
{"index":3,"data":{"title":"x"}}
)"));
    CHECK(bad.code == cli::ExitUsage);
    CHECK(bad.err.contains(QStringLiteral("<stdin>:2: not a delta log line (expected \"epoch\" and \"data\"")));
}

TEST_CASE("fold cli: --anomalies reports a stream's seq going backwards")
{
    const QByteArray frames = R"({"deliver":1,"done":false,"response":{"delta":{"data":{"a":1},"seq":5}}}
{"deliver":1,"done":false,"response":{"delta":{"data":{"a":2},"seq":3}}}
{"deliver":7,"done":false,"response":{"delta":{"data":{"a":3},"seq":1}}}
{"deliver":1,"done":false,"response":{"delta":{"seq":5}}}
{"deliver":1,"done":false,"response":{"delta":{"data":{"a":4},"seq":6}}}
)";
    const CliRun run = runCli({ QStringLiteral("fold"), QStringLiteral("--anomalies") }, frames);
    CHECK(run.code == cli::ExitAnomalies);
    CHECK(run.err.contains(QStringLiteral("<stdin>:2: seq-not-increasing: seq 3 after seq 5 on stream 1")));
    CHECK(run.err.contains(QStringLiteral("<stdin>:4: seq-not-increasing: seq 5 after seq 5 on stream 1")));
    CHECK_FALSE(run.err.contains(QStringLiteral("<stdin>:3:"))); // another stream's seq is its own
    CHECK(run.out == QStringLiteral("{\"a\":4}\n"));
    // Without --anomalies the fold is the same and exits 0.
    CHECK(runCli({ QStringLiteral("fold") }, frames).code == cli::ExitOk);
}

TEST_CASE("fold cli: --at, --pretty and --reference-client")
{
    CliRun run = runCli({ QStringLiteral("fold"), QStringLiteral("--at"), QStringLiteral("1") }, kStream);
    CHECK(run.code == cli::ExitOk);
    CHECK(run.out == QStringLiteral(R"({"players":[{"id":4,"name":"ann"},{"id":7,"name":"bo"},{"id":9,"name":"cy"}]})") + QLatin1Char('\n'));
    run = runCli({ QStringLiteral("fold"), QStringLiteral("--at=0") }, kStream);
    CHECK(run.out == QStringLiteral("{}\n"));
    run = runCli({ QStringLiteral("fold"), QStringLiteral("--at"), QStringLiteral("9") }, kStream);
    CHECK(run.code == cli::ExitOk);
    CHECK(run.err.contains(QStringLiteral("only 3 deltas")));
    run = runCli({ QStringLiteral("fold"), QStringLiteral("--pretty") }, R"({"a":{"b":[1,2]}})");
    CHECK(run.out == QStringLiteral("{\n  \"a\": {\n    \"b\": [\n      1,\n      2\n    ]\n  }\n}\n"));
    const QByteArray stale = "{\"s\":{\"0\":5,\"1\":7,\"@s\":2}}\n{\"s\":{\"1\":8}}\n";
    CHECK(runCli({ QStringLiteral("fold") }, stale).out == QStringLiteral("{\"s\":[5,8]}\n"));
    CHECK(runCli({ QStringLiteral("fold"), QStringLiteral("--reference-client") }, stale).out == QStringLiteral("{\"s\":[5,7]}\n"));
    // tree.js throws on the object in element 0's delta and folds nothing more of it ("z"), in a
    // bare delta and in a frame's data alike; without the object it folds all of it.
    const QByteArray throws = "{\"l\":{\"0\":5,\"@o\":[0]}}\n{\"l\":{\"0\":{\"m\":{}}},\"z\":1}\n";
    const QByteArray framed = "{\"l\":{\"0\":5,\"@o\":[0]}}\n{\"deliver\":1,\"response\":{\"delta\":{\"data\":{\"l\":{\"0\":{\"m\":{}}},\"z\":1},\"seq\":2}}}\n";
    const QByteArray noThrow = "{\"l\":{\"0\":5,\"@o\":[0]}}\n{\"deliver\":1,\"response\":{\"delta\":{\"data\":{\"l\":{\"0\":{\"m\":1}},\"z\":1},\"seq\":2}}}\n";
    CHECK(runCli({ QStringLiteral("fold"), QStringLiteral("--reference-client") }, throws).out == QStringLiteral("{\"l\":[5]}\n"));
    CHECK(runCli({ QStringLiteral("fold"), QStringLiteral("--reference-client") }, framed).out == QStringLiteral("{\"l\":[5]}\n"));
    CHECK(runCli({ QStringLiteral("fold"), QStringLiteral("--reference-client") }, noThrow).out == QStringLiteral("{\"l\":[5],\"z\":1}\n"));
}

TEST_CASE("fold cli: --anomalies prints one line per anomaly and exits 3")
{
    const QByteArray input = "{\"l\":{\"1\":{\"v\":1},\"@o\":[1]}}\n{\"l\":{\"@o\":[[0,4],9]}}\n";
    CliRun run = runCli({ QStringLiteral("fold"), QStringLiteral("--anomalies") }, input);
    CHECK(run.code == cli::ExitAnomalies);
    CHECK(run.err.contains(QStringLiteral("<stdin>:2: delta 1: range outside previous list at 'l/@o'")));
    CHECK(run.err.contains(QStringLiteral("<stdin>:2: delta 1: id missing from element map at 'l/9'")));
    CHECK(run.out == QStringLiteral("{\"l\":[{\"v\":1}]}\n"));
    // Without --anomalies the same input is fine.
    run = runCli({ QStringLiteral("fold") }, input);
    CHECK(run.code == cli::ExitOk);
    CHECK(run.err.isEmpty());
    // No anomalies: exit 0 even with --anomalies.
    CHECK(runCli({ QStringLiteral("fold"), QStringLiteral("--anomalies") }, kStream).code == cli::ExitOk);
}

TEST_CASE("fold cli: malformed lines name the line and exit 2 unless --keep-going")
{
    const QByteArray input = "{\"a\":1}\n{\"a\":\n[1,2]\n{\"b\":2}\n";
    CliRun run = runCli({ QStringLiteral("fold") }, input);
    CHECK(run.code == cli::ExitUsage);
    CHECK(run.err.contains(QStringLiteral("<stdin>:2: invalid JSON at byte 5")));
    CHECK(run.out.isEmpty());
    run = runCli({ QStringLiteral("fold"), QStringLiteral("--keep-going") }, input);
    CHECK(run.code == cli::ExitOk);
    CHECK(run.err.contains(QStringLiteral("<stdin>:2:")));
    CHECK(run.err.contains(QStringLiteral("<stdin>:3: not a JSON object")));
    CHECK(run.err.contains(QStringLiteral("skipped 2 malformed line(s)")));
    CHECK(run.out == QStringLiteral("{\"a\":1,\"b\":2}\n"));
    run = runCli({ QStringLiteral("fold"), QStringLiteral("--keep-going") }, "{\"deliver\":1,\"response\":{\"delta\":{\"data\":5}}}\n");
    CHECK(run.err.contains(QStringLiteral("<stdin>:1: the data is not a delta object")));
    // The reference client's update() takes any JSON value: the array line merges by index.
    run = runCli({ QStringLiteral("fold"), QStringLiteral("--reference-client"), QStringLiteral("--keep-going") }, input);
    CHECK(run.code == cli::ExitOk);
    CHECK_FALSE(run.err.contains(QStringLiteral("<stdin>:3:")));
    CHECK(run.err.contains(QStringLiteral("skipped 1 malformed line(s)")));
    CHECK(run.out == QStringLiteral("{\"a\":1,\"0\":1,\"1\":2,\"b\":2}\n"));
    // A damaged file's thousands of bad lines: the first hundred are named, the rest counted.
    QByteArray damaged;
    for (int i = 0; i < 1000; ++i)
        damaged += "{\"a\":\n";
    run = runCli({ QStringLiteral("fold"), QStringLiteral("--keep-going") }, damaged);
    CHECK(run.code == cli::ExitOk);
    CHECK(run.err.count(QStringLiteral("<stdin>:")) == 100);
    CHECK(run.err.contains(QStringLiteral("skipped 1000 malformed line(s), the first 100 named above")));
}

TEST_CASE("fold cli: a UTF-8 byte order mark before the first line is read past, anywhere else it is malformed")
{
    const QByteArray bom = "\xEF\xBB\xBF";
    CliRun run = runCli({ QStringLiteral("fold") }, bom + "{\"a\":1}\n{\"b\":2}\n");
    CHECK(run.code == cli::ExitOk);
    CHECK(run.err.isEmpty());
    CHECK(run.out == QStringLiteral("{\"a\":1,\"b\":2}\n"));
    // A transcript is still recognised by its first line.
    run = runCli({ QStringLiteral("fold") }, bom + kFrames);
    CHECK(run.code == cli::ExitOk);
    CHECK(run.out == runCli({ QStringLiteral("fold") }, kFrames).out);
    // Only the file's start may carry one: on a later line it is a stray byte, named as such.
    run = runCli({ QStringLiteral("fold") }, "{\"a\":1}\n" + bom + "{\"b\":2}\n");
    CHECK(run.code == cli::ExitUsage);
    CHECK(run.err.contains(QStringLiteral("<stdin>:2: invalid JSON at byte 0: unexpected byte 0xef (a UTF-8 byte order mark")));
}

TEST_CASE("fold cli: lines across read blocks, long lines and line ends fold as each line alone does")
{
    // The reader takes the input a megabyte at a time: lines must come out whole wherever a block
    // ends, a line longer than a block included, with \r\n, blank lines and no newline at the end.
    QByteArray input;
    DocumentTree expected;
    int line = 0;
    const auto add = [&](const QByteArray& delta, const char* end) {
        input += delta + end;
        expected.apply(std::string_view(delta.constData(), std::size_t(delta.size())), line++);
    };
    add(R"({"chat":{"@o":[]},"big":""})", "\n");
    for (int i = 1; i <= 6000; ++i) {
        // Lines from about 60 to 580 bytes, so block ends fall at many places within a line.
        const QByteArray text = QByteArray(i % 500, char('a' + i % 26));
        const QByteArray delta = "{\"chat\":{\"" + QByteArray::number(i) + "\":{\"what\":\"" + text + "\"},\"@o\":[" + QByteArray::number(i) + "]" + (i > 1 ? ",\"" + QByteArray::number(i - 1) + "\":null" : QByteArray()) + "},\"n\":" + QByteArray::number(i) + "}";
        add(delta, i % 7 == 0 ? "\r\n" : "\n");
        if (i % 1000 == 0)
            input += "   \n\n"; // blank lines are skipped
        if (i == 3000)
            add("{\"big\":\"" + QByteArray(3 * 1024 * 1024, 'x') + "\"}", "\n"); // three blocks long
    }
    add(R"({"last":true})", ""); // no newline at the end
    const CliRun run = runCli({ QStringLiteral("fold") }, input);
    CHECK(run.code == cli::ExitOk);
    CHECK(run.err.isEmpty());
    CHECK(run.out.toUtf8() == expected.toJson(false) + '\n');
    // The same deltas inside server frames.
    QByteArray frames;
    qint64 seq = 0;
    for (const QByteArray& text : input.split('\n')) {
        const QByteArray delta = text.trimmed();
        if (!delta.isEmpty())
            frames += "{\"deliver\":1,\"done\":false,\"response\":{\"delta\":{\"data\":" + delta + ",\"seq\":" + QByteArray::number(++seq) + "}}}\n";
    }
    CHECK(runCli({ QStringLiteral("fold") }, frames).out == run.out);
}

namespace {

QByteArray zstdCompressed(const QByteArray& text)
{
    QByteArray out(qsizetype(ZSTD_compressBound(std::size_t(text.size()))), Qt::Uninitialized);
    const std::size_t size = ZSTD_compress(out.data(), std::size_t(out.size()), text.constData(), std::size_t(text.size()), 3);
    REQUIRE_FALSE(ZSTD_isError(size));
    out.resize(qsizetype(size));
    return out;
}

QString writeFile(const QTemporaryDir& dir, const QString& name, const QByteArray& bytes)
{
    const QString path = dir.filePath(name);
    QFile file(path);
    REQUIRE(file.open(QIODevice::WriteOnly));
    REQUIRE(file.write(bytes) == bytes.size());
    return path;
}

}

TEST_CASE("fold cli: zstd-compressed deltas fold as the plain text does, from a file or stdin")
{
    QTemporaryDir dir;
    REQUIRE(dir.isValid());
    const CliRun plain = runCli({ QStringLiteral("fold") }, kStream);
    REQUIRE(plain.code == cli::ExitOk);
    const QByteArray compressed = zstdCompressed(kStream);
    CliRun run = runCli({ QStringLiteral("fold"), writeFile(dir, QStringLiteral("deltas.ndjson.zst"), compressed) });
    CHECK(run.code == cli::ExitOk);
    CHECK(run.err.isEmpty());
    CHECK(run.out == plain.out);
    run = runCli({ QStringLiteral("fold"), QStringLiteral("-") }, compressed);
    CHECK(run.code == cli::ExitOk);
    CHECK(run.out == plain.out);
    // Two frames back to back (zstd's concatenation) read as one text.
    run = runCli({ QStringLiteral("fold") }, zstdCompressed(kStream.left(kStream.indexOf('\n') + 1)) + zstdCompressed(kStream.mid(kStream.indexOf('\n') + 1)));
    CHECK(run.out == plain.out);
    // Server frames too.
    run = runCli({ QStringLiteral("fold") }, zstdCompressed(kFrames));
    CHECK(run.out == runCli({ QStringLiteral("fold") }, kFrames).out);
}

TEST_CASE("fold cli: cut-off or damaged zstd input says so, and --keep-going prints what came before")
{
    // Each line its own frame, so a cut keeps the whole frames before it.
    QByteArray frames;
    for (const QByteArray& line : kStream.split('\n'))
        frames += zstdCompressed(line + '\n');
    const QByteArray firstTwoFrames = zstdCompressed(kStream.split('\n').at(0) + '\n') + zstdCompressed(kStream.split('\n').at(1) + '\n');
    const QByteArray cut = firstTwoFrames + frames.mid(firstTwoFrames.size(), 5); // inside the third frame's header
    CliRun run = runCli({ QStringLiteral("fold") }, cut);
    CHECK(run.code == cli::ExitUsage);
    CHECK(run.out.isEmpty());
    CHECK(run.err.contains(QStringLiteral("<stdin>: the compressed stream ends in the middle of a frame after %1 compressed bytes").arg(cut.size())));
    CHECK(run.err.contains(QStringLiteral("2 whole lines decoded before it\n")));
    run = runCli({ QStringLiteral("fold"), QStringLiteral("--keep-going") }, cut);
    CHECK(run.code == cli::ExitOk);
    CHECK(run.out == runCli({ QStringLiteral("fold"), QStringLiteral("--at"), QStringLiteral("2") }, kStream).out);

    QByteArray damaged = frames;
    damaged.insert(firstTwoFrames.size(), "not zstd at all");
    run = runCli({ QStringLiteral("fold") }, damaged);
    CHECK(run.code == cli::ExitUsage);
    CHECK(run.err.contains(QStringLiteral("<stdin>: the compressed stream is damaged (")));
    // The frames after the junk are named, not read.
    CHECK(run.err.contains(QStringLiteral(") in the block at compressed byte %1; a new zstd frame starts at compressed byte %2 (another compressed file "
                                          "appended after a damaged one?), not read; 2 whole lines decoded before it")
                               .arg(firstTwoFrames.size())
                               .arg(firstTwoFrames.size() + 15)));

    // One frame cut inside a block: the text stops mid-line, and that line is part of the damage,
    // not a malformed line of its own.
    QByteArray many;
    for (int i = 0; i < 20000; ++i)
        many += "{\"n\":" + QByteArray::number(i) + ",\"text\":\"line " + QByteArray::number(i * 7919) + "\"}\n";
    const QByteArray whole = zstdCompressed(many);
    run = runCli({ QStringLiteral("fold") }, whole.left(whole.size() / 2));
    CHECK(run.code == cli::ExitUsage);
    CHECK_FALSE(run.err.contains(QStringLiteral("invalid JSON")));
    CHECK(run.err.contains(QStringLiteral("whole lines decoded before it, and the line it cut off left out")));
    run = runCli({ QStringLiteral("fold"), QStringLiteral("--keep-going") }, whole.left(whole.size() / 2));
    CHECK(run.code == cli::ExitOk);
    CHECK(run.err.contains(QStringLiteral("printed the document folded before the damage")));
    CHECK(run.out.startsWith(QStringLiteral("{\"n\":")));
    // --at stops before the damage: the damage found ahead is not the user's problem.
    run = runCli({ QStringLiteral("fold"), QStringLiteral("--at"), QStringLiteral("3") }, whole.left(whole.size() / 2));
    CHECK(run.code == cli::ExitOk);
    CHECK(run.err.isEmpty());
    CHECK(run.out == QStringLiteral("{\"n\":2,\"text\":\"line 15838\"}\n"));
}

TEST_CASE("fold cli: a header of another Deltascope format is refused, not folded as a delta")
{
    // A newer kind of file of ours: its header folded as a delta would print header fields as a document.
    const CliRun run = runCli({ QStringLiteral("fold") }, QByteArray(R"({"format":"deltascope-timeline","version":"1.0"}
{"title":"x"}
)"));
    CHECK(run.code == cli::ExitUsage);
    CHECK(run.out.isEmpty());
    CHECK(run.err.contains(QStringLiteral("<stdin>:1: the header names format \"deltascope-timeline\", which this version does not fold")));
    // A document's own "format" field is data.
    const CliRun data = runCli({ QStringLiteral("fold") }, QByteArray(R"({"format":"pdf","pages":3}
)"));
    CHECK(data.code == cli::ExitOk);
    CHECK(data.out == QStringLiteral("{\"format\":\"pdf\",\"pages\":3}\n"));
}

TEST_CASE("fold cli: a capture whose header line is missing is refused, not folded as deltas")
{
    // Its event records folded as deltas printed a document of "index", "ns" and "dir" fields.
    const CliRun run = runCli({ QStringLiteral("fold") }, QByteArray(R"({"index":0,"ns":41,"wallMs":1796124266801,"dir":"local","kind":"state","epoch":0,"fields":{}}
{"index":1,"ns":50,"wallMs":1796124266802,"dir":"in","kind":"hello","epoch":0,"frame":"{}"}
)"));
    CHECK(run.code == cli::ExitUsage);
    CHECK(run.out.isEmpty());
    CHECK(run.err.contains(QStringLiteral("<stdin>:1: line 1 is event 0 of a Deltascope capture, not its header")));
}

TEST_CASE("fold cli: a capture on standard input is refused with the way to fold it")
{
    const QByteArray capture = R"({"format":"deltascope-capture","version":"1.0","tool":"deltascope 0.1.0","startedWallMs":1718000000000})"
                               "\n";
    for (const QByteArray& input : { capture, zstdCompressed(capture) }) {
        const CliRun run = runCli({ QStringLiteral("fold") }, input);
        CHECK(run.code == cli::ExitUsage);
        CHECK(run.err.contains(QStringLiteral("standard input holds a Deltascope capture; give its file name instead")));
    }
}

TEST_CASE("fold cli: usage errors and a missing file")
{
    CliRun run = runCli({ QStringLiteral("fold"), QStringLiteral("/nonexistent/deltas.ndjson") });
    CHECK(run.code == cli::ExitFailure);
    CHECK(run.err.contains(QStringLiteral("cannot open '/nonexistent/deltas.ndjson'")));
    CHECK(runCli({ QStringLiteral("fold"), QStringLiteral("--at") }).code == cli::ExitUsage);
    CHECK(runCli({ QStringLiteral("fold"), QStringLiteral("--at"), QStringLiteral("x") }).code == cli::ExitUsage);
    CHECK(runCli({ QStringLiteral("fold"), QStringLiteral("--bogus") }).code == cli::ExitUsage);
    CHECK(runCli({ QStringLiteral("fold"), QStringLiteral("a"), QStringLiteral("b") }).code == cli::ExitUsage);
    run = runCli({ QStringLiteral("fold"), QStringLiteral("--help") });
    CHECK(run.code == cli::ExitOk);
    CHECK(run.out.contains(QStringLiteral("--keep-going")));
    CHECK(cli::usage().contains(QStringLiteral("fold")));
}

TEST_CASE("fold cli: a file, run as a separate process")
{
    QTemporaryDir dir;
    REQUIRE(dir.isValid());
    const QString path = dir.filePath(QStringLiteral("frames.ndjson"));
    QFile file(path);
    REQUIRE(file.open(QIODevice::WriteOnly));
    file.write(kFrames);
    file.close();
    QProcess process;
    process.start(executablePath(QStringLiteral("deltascope-cli")), { QStringLiteral("fold"), path, QStringLiteral("--anomalies") });
    REQUIRE(process.waitForFinished(30000));
    CHECK(process.exitCode() == 0);
    CHECK(sameJson(parseJson(process.readAllStandardOutput()),
        parseJson(R"({"title":"Demo","lines":[{"what":"hi","when":"1718000000000"},{"what":"yo"}],"page_label":"Page 2"})")));
    // A directory as standard input: the read fails, and that is not the end of the input.
    process.setStandardInputFile(dir.path());
    process.start(executablePath(QStringLiteral("deltascope-cli")), { QStringLiteral("fold"), QStringLiteral("-") });
    REQUIRE(process.waitForFinished(30000));
    CHECK(process.exitCode() == 1);
    CHECK(process.readAllStandardError() == "deltascope-cli fold: cannot read <stdin> after 0 lines: Is a directory\n");
    CHECK(process.readAllStandardOutput().isEmpty());
    process.setStandardInputFile(QString());
    process.start(executablePath(QStringLiteral("deltascope-cli")), { QStringLiteral("fold"), dir.filePath(QStringLiteral("missing")) });
    REQUIRE(process.waitForFinished(30000));
    CHECK(process.exitCode() == 1);
    CHECK(process.readAllStandardError().contains("cannot open"));
}

namespace {
// Waits for a fold of the deltas {"a":1} and {"b":2} to end by itself (it is killed after 20 s),
// and checks what it printed.
void checkFoldedTwoDeltas(QProcess& process)
{
    const bool finished = process.waitForFinished(20000);
    if (!finished)
        process.kill();
    REQUIRE(finished);
    CHECK(process.exitCode() == 0);
    CHECK(process.readAllStandardOutput() == "{\"a\":1,\"b\":2}\n");
}
}

#ifdef Q_OS_UNIX
TEST_CASE("fold cli: --at N on a named pipe that stays open stops after N deltas")
{
    // The same, with the pipe given by name: it is read as standard input is, not in 16 KiB blocks.
    QTemporaryDir dir;
    REQUIRE(dir.isValid());
    const QString fifo = dir.filePath(QStringLiteral("deltas"));
    REQUIRE(::mkfifo(QFile::encodeName(fifo).constData(), 0600) == 0);
    QProcess process;
    process.start(executablePath(QStringLiteral("deltascope-cli")), { QStringLiteral("fold"), fifo, QStringLiteral("--at"), QStringLiteral("2") });
    REQUIRE(process.waitForStarted(30000));
    QFile writer(fifo);
    REQUIRE(writer.open(QIODevice::WriteOnly | QIODevice::Unbuffered)); // waits for fold to open its end
    REQUIRE(writer.write("{\"a\":1}\n{\"b\":2}\n") == 16);
    checkFoldedTwoDeltas(process); // the writer stays open until then
}

TEST_CASE("fold cli: standard input left non-blocking by the parent is read to its end")
{
    // A parent may hand over a pipe it made non-blocking: a pause of the producer must not read as
    // the end of the input (that printed the first delta alone, with exit code 0).
    QProcess process;
    process.setChildProcessModifier([] { ::fcntl(STDIN_FILENO, F_SETFL, ::fcntl(STDIN_FILENO, F_GETFL) | O_NONBLOCK); });
    process.start(executablePath(QStringLiteral("deltascope-cli")), { QStringLiteral("fold"), QStringLiteral("-") });
    REQUIRE(process.waitForStarted(30000));
    process.write("{\"a\":1}\n");
    REQUIRE(process.waitForBytesWritten(30000));
    // Long enough for fold to start and read the first line; it exits at once if it takes the
    // empty pipe for the end.
    process.waitForFinished(1500);
    process.write("{\"b\":2}\n");
    process.waitForBytesWritten(30000);
    process.closeWriteChannel();
    checkFoldedTwoDeltas(process);
}
#endif

TEST_CASE("fold cli: --at N on a pipe that stays open stops after N deltas")
{
    // A recorder or `tail -f` feeding fold never closes its end: the deltas must be folded as their
    // lines arrive, not once a block of input has filled up.
    QProcess process;
    process.start(executablePath(QStringLiteral("deltascope-cli")), { QStringLiteral("fold"), QStringLiteral("-"), QStringLiteral("--at"), QStringLiteral("2") });
    REQUIRE(process.waitForStarted(30000));
    process.write("{\"a\":1}\n{\"b\":2}\n");
    REQUIRE(process.waitForBytesWritten(30000));
    checkFoldedTwoDeltas(process);
}

TEST_CASE("fold cli: --at N on compressed input whose frame stays open stops after N deltas")
{
    // A live producer compressing as it goes flushes whole blocks but ends its frame only at the
    // end: what it flushed must be folded without waiting for a full input buffer.
    ZSTD_CCtx* context = ZSTD_createCCtx();
    const QByteArray text = "{\"a\":1}\n{\"b\":2}\n";
    QByteArray compressed(int(ZSTD_compressBound(std::size_t(text.size())) + 64), '\0');
    ZSTD_inBuffer in { text.constData(), std::size_t(text.size()), 0 };
    ZSTD_outBuffer out { compressed.data(), std::size_t(compressed.size()), 0 };
    const std::size_t left = ZSTD_compressStream2(context, &out, &in, ZSTD_e_flush);
    ZSTD_freeCCtx(context);
    REQUIRE(left == 0);
    compressed.resize(qsizetype(out.pos));

    QProcess process;
    process.start(executablePath(QStringLiteral("deltascope-cli")), { QStringLiteral("fold"), QStringLiteral("-"), QStringLiteral("--at"), QStringLiteral("2") });
    REQUIRE(process.waitForStarted(30000));
    process.write(compressed);
    REQUIRE(process.waitForBytesWritten(30000));
    checkFoldedTwoDeltas(process);
}
