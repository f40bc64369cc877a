#include <catch2/catch.hpp>

#include "core/capture/capturereader.h"
#include "core/capture/capturewriter.h"
#include "core/capture/replayagainst.h"
#include "core/cli/cli.h"
#include "core/server/demodocument.h"
#include "core/server/referenceserver.h"
#include "core/session/livesession.h"
#include "tests/core/faults/scriptedserver.h"
#include "tests/support/testutils.h"

#include <QBuffer>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QRegularExpression>
#include <QSignalSpy>
#include <QTcpServer>
#include <QTemporaryDir>
#include <QTextStream>

using namespace deltascope;
using test::runCli;
using deltascope::test::waitUntil;

namespace {

constexpr qint64 kFixedNow = 1718000000000; // the chat stamps lines with the server's clock
const QString kIdentity = QStringLiteral("anonymous:alice");
const QString kFirstLineWhen = QStringLiteral("lines/1/when");

bool wait(const std::function<bool()>& predicate, int ms = 15000)
{
    return waitUntil(predicate, std::chrono::milliseconds(ms));
}

// A reference server whose chat room "demo" changes only when someone says something, with a
// fixed clock, so two servers given the same requests hold the same document, except for when
// the room's first line was said (by its bot, as the server made the room, on its own clock).
std::unique_ptr<server::ReferenceServer> quietServer()
{
    server::ServerOptions options;
    options.botsPaused = true;
    auto server = std::make_unique<server::ReferenceServer>(options);
    if (server->listen() == 0)
        return nullptr;
    server->documentFor(QStringLiteral("chat"), QStringLiteral("demo"))->setNow([] { return kFixedNow; });
    return server;
}

// A quiet server whose room has two more lines from its bots than the recording's had.
std::unique_ptr<server::ReferenceServer> serverThatMovedOn()
{
    auto server = quietServer();
    if (server)
        server->documentFor(QStringLiteral("chat"), QStringLiteral("demo"))->step(2);
    return server;
}

DocumentTarget chatTarget(const server::ReferenceServer& server)
{
    DocumentTarget target;
    target.url = QUrl(server.url());
    target.identity = kIdentity;
    target.space = QStringLiteral("chat");
    target.key = QStringLiteral("demo");
    return target;
}

qint64 lineCount(const SessionFolder& folder)
{
    const DocumentTree& tree = folder.epochTree();
    const NodeId count = tree.childByKey(tree.root(), u"count");
    return count == kNoNode ? -1 : tree.integerValue(count);
}

// Records three lines said in the chat room of a fresh quiet server into `path`, and opens the
// capture; with `onceAt`, that line goes as a send-once.
std::unique_ptr<Capture> recordChat(const QString& path, int onceAt = -1)
{
    auto serverOwner = quietServer();
    REQUIRE(serverOwner);
    server::ReferenceServer& server = *serverOwner;
    LiveSession session;
    session.log().setNotifyInterval(1);
    capture::Header header;
    header.endpoint = server.url();
    header.space = QStringLiteral("chat");
    header.key = QStringLiteral("demo");
    header.identity = kIdentity;
    CaptureWriterOptions writerOptions;
    writerOptions.path = path;
    writerOptions.identities = { kIdentity };
    CaptureWriter writer(&session.log(), header, writerOptions);
    REQUIRE(writer.start());
    QString error;
    REQUIRE(session.start(chatTarget(server), &error));
    REQUIRE(wait([&] { return session.folder().epochHasData(); }));
    int line = 0;
    for (const char* what : { "hello", "is this thing on?", "bye" }) {
        const QByteArray message = QByteArray(R"({"what":")") + what + "\"}";
        if (line++ == onceAt)
            REQUIRE(session.sendOnce(QStringLiteral("say"), message) >= 0);
        else
            REQUIRE(session.send(QStringLiteral("say"), message) >= 0);
        const qint64 expected = lineCount(session.folder()) + 1;
        REQUIRE(wait([&] { return lineCount(session.folder()) == expected; }));
    }
    session.stop();
    session.log().flushNotifications();
    writer.stop();
    std::unique_ptr<Capture> capture = CaptureReader::open(path, {}, &error);
    INFO(error.toStdString());
    REQUIRE(capture);
    return capture;
}


// Three chat lines recorded into a temporary capture, and a fresh server whose room has moved on
// since (two more lines from its bots before any replay starts).
struct RecordingAndMovedServer {
    QTemporaryDir dir;
    QString path = dir.filePath(QStringLiteral("chat.ndjson"));
    std::unique_ptr<Capture> capture = recordChat(path);
    std::unique_ptr<server::ReferenceServer> moved = serverThatMovedOn();
};

// Starts `against` and waits until it has finished; returns the finished signal's arguments
// (whether the replay ran to its end, and its summary).
QVariantList replayToEnd(ReplayAgainst& against)
{
    QSignalSpy finished(&against, &ReplayAgainst::finished);
    against.start(20000);
    REQUIRE(wait([&] { return finished.count() == 1; }, 25000));
    return finished.at(0);
}

// The response's "response" object without the ids that differ between sessions.
QJsonObject responseBody(const QByteArray& frame)
{
    return QJsonDocument::fromJson(frame).object().value(QStringLiteral("response")).toObject();
}

}

TEST_CASE("replay against: the recorded requests go to a fresh server, the new answers sit beside the old, the documents match")
{
    QTemporaryDir dir;
    const QString path = dir.filePath(QStringLiteral("chat.ndjson"));
    std::unique_ptr<Capture> capture = recordChat(path);
    QString error;
    auto fresh = quietServer();
    REQUIRE(fresh);
    ReplayAgainst against(*capture, chatTarget(*fresh), ReplayAgainst::Timing::InOrder);
    QSignalSpy answered(&against, &ReplayAgainst::responseReceived);
    const QVariantList finished = replayToEnd(against);
    INFO(finished.at(1).toString().toStdString());
    CHECK(finished.at(0).toBool());
    CHECK(answered.count() == 3);

    // Each recorded send is paired with its recorded ack and the new one, which says the same.
    REQUIRE(against.pairs().size() == 3);
    const EventLog& newLog = against.session().log();
    for (const ReplayAgainst::Pair& pair : against.pairs()) {
        REQUIRE(pair.recordedResponse > pair.recordedRequest);
        REQUIRE(pair.newResponse >= 0);
        CHECK(capture->log->at(pair.recordedRequest).kind == EventKind::Request);
        CHECK(capture->log->at(pair.recordedResponse).kind == EventKind::Response);
        CHECK(newLog.at(pair.newResponse).kind == EventKind::Response);
        CHECK(newLog.at(pair.newResponse).requestId == pair.newRequestId);
        const QJsonObject recorded = responseBody(capture->log->payload(pair.recordedResponse));
        const QJsonObject now = responseBody(newLog.payload(pair.newResponse));
        CHECK(recorded.contains(QStringLiteral("seq")));
        CHECK(now.keys() == recorded.keys());
    }
    // The same requests led to the same document (same lines, same count, same people online).
    CHECK(lineCount(against.session().folder()) == 4);
    const TreeDiff& diff = against.diff();
    CHECK(diff.added.isEmpty());
    CHECK(diff.removed.isEmpty());
    CHECK(diff.moved.empty());
    CHECK((diff.changed.isEmpty() || diff.changed == QStringList { kFirstLineWhen }));
    against.session().stop();

    // The CLI: each request with the recorded and the new answer, the verdict, and the new session
    // recorded into its own capture.
    auto third = quietServer();
    REQUIRE(third);
    const QString out = dir.filePath(QStringLiteral("again.ndjson"));
    // The room's first line carries the time the server was started: the one path left out.
    const test::CliRun cli = runCli({ QStringLiteral("replay"), path, QStringLiteral("--against"), third->url(), QStringLiteral("--identity"),
        kIdentity, QStringLiteral("--out"), out, QStringLiteral("--ignore"), QStringLiteral("lines/*/when") });
    INFO(cli.out.toStdString() << cli.err.toStdString());
    CHECK(cli.code == cli::ExitOk);
    CHECK(cli.out.count(QStringLiteral("request #")) == 3);
    CHECK(cli.out.count(QStringLiteral("    now {\"deliver\"")) == 3);
    CHECK(cli.out.contains(QStringLiteral("3 requests re-issued, 0 unanswered; documents are equal")));
    CHECK_FALSE(cli.out.contains(QStringLiteral("  + ")));
    CHECK_FALSE(cli.out.contains(QStringLiteral("  - ")));
    CHECK_FALSE(cli.out.contains(QStringLiteral("  ~ ")));
    CHECK(cli.out.count(QStringLiteral("  = ")) == cli.out.count(QStringLiteral("  = ") + kFirstLineWhen + QStringLiteral(" (ignored)")));
    std::unique_ptr<Capture> again = CaptureReader::open(out, {}, &error);
    REQUIRE(again);
    CHECK(again->header.source == QStringLiteral("replay-against"));
    CHECK(again->log->indexesOfKind(EventKind::Request).size() >= 4); // connection/create and the three sends
    CHECK(again->log->payload(again->log->indexesOfKind(EventKind::Request).back()).contains("bye"));
}

TEST_CASE("replay against: --out's header names the space and key the new session joined")
{
    QTemporaryDir dir;
    const QString path = dir.filePath(QStringLiteral("chat.ndjson"));
    std::unique_ptr<Capture> capture = recordChat(path);
    // A capture naming another document (or none, as an import of a cut HAR may): --space and --key say which.
    for (const QString& named : { QString(), QStringLiteral("elsewhere") }) {
        INFO(named.toStdString());
        const QString renamed = dir.filePath(QStringLiteral("renamed.ndjson"));
        capture::Header header = capture->header;
        header.space = named;
        header.key = named;
        QFile file(renamed);
        REQUIRE(file.open(QIODevice::WriteOnly | QIODevice::Truncate));
        REQUIRE(CaptureWriter::writeLog(*capture->log, header, file, true));
        file.close();
        auto fresh = quietServer();
        REQUIRE(fresh);
        const QString out = dir.filePath(QStringLiteral("again.ndjson"));
        QFile::remove(out);
        const test::CliRun cli = runCli({ QStringLiteral("replay"), renamed, QStringLiteral("--against"), fresh->url(), QStringLiteral("--identity"),
            kIdentity, QStringLiteral("--space"), QStringLiteral("chat"), QStringLiteral("--key"), QStringLiteral("demo"), QStringLiteral("--out"), out,
            QStringLiteral("--ignore"), QStringLiteral("lines/*/when") });
        INFO(cli.out.toStdString() << cli.err.toStdString());
        CHECK(cli.code == cli::ExitOk);
        QString error;
        std::unique_ptr<Capture> again = CaptureReader::open(out, {}, &error);
        REQUIRE(again);
        CHECK(again->header.space == QStringLiteral("chat"));
        CHECK(again->header.key == QStringLiteral("demo"));
    }
}

TEST_CASE("replay against: a send-once is answered by the send-once, not by its dedupe token")
{
    QTemporaryDir dir;
    const QString path = dir.filePath(QStringLiteral("once.ndjson"));
    std::unique_ptr<Capture> capture = recordChat(path, 1);
    auto fresh = quietServer();
    REQUIRE(fresh);
    ReplayAgainst against(*capture, chatTarget(*fresh), ReplayAgainst::Timing::InOrder);
    const QVariantList finished = replayToEnd(against);
    INFO(finished.at(1).toString().toStdString());
    CHECK(finished.at(0).toBool());
    const EventLog& newLog = against.session().log();
    bool sawSendOnce = false;
    for (const ReplayAgainst::Pair& pair : against.pairs()) {
        REQUIRE(pair.newResponse >= 0);
        // Every answer is a send's {"seq":N}: the token's {"dedupe":..} answers no recorded request.
        const QJsonObject now = responseBody(newLog.payload(pair.newResponse));
        CHECK(now.contains(QStringLiteral("seq")));
        CHECK_FALSE(now.contains(QStringLiteral("dedupe")));
        const qint64 request = newLog.requestIndex(pair.newRequestId);
        REQUIRE(request >= 0);
        sawSendOnce = sawSendOnce || newLog.payload(request).contains("connection/send-once");
    }
    CHECK(sawSendOnce);
    CHECK(lineCount(against.session().folder()) == 4);
    against.session().stop();
}

TEST_CASE("replay against: a server that has moved on gives a different document, and the diff names the paths")
{
    RecordingAndMovedServer setup;
    REQUIRE(setup.moved);
    const QString& path = setup.path;
    ReplayAgainst against(*setup.capture, chatTarget(*setup.moved), ReplayAgainst::Timing::InOrder);
    const QVariantList finished = replayToEnd(against);
    CHECK(finished.at(0).toBool());
    CHECK(finished.at(1).toString().contains(QStringLiteral("documents differ")));
    // The room's first line, two from its bots, then the three replayed ones.
    CHECK(lineCount(against.session().folder()) == 6);
    const TreeDiff& diff = against.diff();
    CHECK_FALSE(diff.isEmpty());
    CHECK(diff.changed.contains(QStringLiteral("count")));
    CHECK(diff.changed.contains(QStringLiteral("lines/2/who/agent"))); // a bot said it now, alice before
    // Lines 5 and 6 exist only now (the room keeps 30 lines, so nothing was trimmed).
    CHECK(diff.added.contains(QStringLiteral("lines/5")));
    CHECK(diff.added.contains(QStringLiteral("lines/6")));
    CHECK(diff.removed.isEmpty());
    against.session().stop();

    auto movedAgain = serverThatMovedOn();
    REQUIRE(movedAgain);
    const test::CliRun cli = runCli({ QStringLiteral("replay"), path, QStringLiteral("--against"), movedAgain->url(), QStringLiteral("--identity"),
        kIdentity });
    INFO(cli.out.toStdString() << cli.err.toStdString());
    CHECK(cli.code == cli::ExitDocumentsDiffer);
    CHECK(cli.out.contains(QStringLiteral("documents differ")));
    CHECK(cli.out.contains(QStringLiteral("  + lines/6 (only in the new document)")));
    // A changed value says what it was and what it is.
    const QRegularExpressionMatch count = QRegularExpression(QStringLiteral(R"(  ~ count: (\d+) recorded, (\d+) now\n)")).match(cli.out);
    REQUIRE(count.hasMatch());
    CHECK(count.captured(1) != count.captured(2));
    CHECK(cli.out.contains(QStringLiteral("  ~ lines/2/who/agent: \"alice\" recorded, \"")));

    // The same replay with the moving parts ignored: equal, and each ignored path still listed.
    auto ignoring = serverThatMovedOn();
    REQUIRE(ignoring);
    const test::CliRun lenient = runCli({ QStringLiteral("replay"), path, QStringLiteral("--against"), ignoring->url(), QStringLiteral("--identity"),
        kIdentity, QStringLiteral("--ignore"), QStringLiteral("count"), QStringLiteral("--ignore"), QStringLiteral("lines") });
    INFO(lenient.out.toStdString() << lenient.err.toStdString());
    CHECK(lenient.code == cli::ExitOk);
    CHECK(lenient.out.contains(QStringLiteral("documents are equal (")));
    CHECK(lenient.out.contains(QStringLiteral("differences at ignored paths)")));
    CHECK(lenient.out.contains(QStringLiteral("  = lines/6 (ignored)")));
    CHECK(lenient.out.contains(QStringLiteral("  = count (ignored)")));
    CHECK_FALSE(lenient.out.contains(QStringLiteral("  ~ ")));

    // An empty --ignore ignores nothing, so it is refused rather than taken.
    const test::CliRun empty = runCli({ QStringLiteral("replay"), path, QStringLiteral("--against"), ignoring->url(), QStringLiteral("--identity"),
        kIdentity, QStringLiteral("--ignore"), QString() });
    CHECK(empty.code == cli::ExitUsage);
    CHECK(empty.err.contains(QStringLiteral("--ignore needs a path")));
}

TEST_CASE("replay against: --ignore patterns match whole segments, with wildcards inside one, and cover the paths below")
{
    RecordingAndMovedServer setup;
    REQUIRE(setup.moved);
    ReplayAgainst against(*setup.capture, chatTarget(*setup.moved), ReplayAgainst::Timing::InOrder);
    // "line" is not "lines" (a segment matches whole); "lines/?/who" covers lines 1 to 9's authors and below.
    against.setIgnoredPaths({ QStringLiteral("line"), QStringLiteral("lines/?/who"), QStringLiteral("co*t") });
    const QVariantList finished = replayToEnd(against);
    const TreeDiff& kept = against.diff();
    const TreeDiff& ignored = against.ignoredDifferences();
    CHECK(ignored.changed.contains(QStringLiteral("count")));
    CHECK(ignored.changed.contains(QStringLiteral("lines/2/who/agent")));
    CHECK(kept.added.contains(QStringLiteral("lines/5")));
    CHECK(kept.added.contains(QStringLiteral("lines/6")));
    for (const QStringList* paths : { &kept.added, &kept.removed, &kept.changed })
        for (const QString& p : *paths)
            CHECK_FALSE((p == QStringLiteral("count") || QRegularExpression(QStringLiteral("^lines/[0-9]/who(/|$)")).match(p).hasMatch()));
    CHECK_FALSE(against.documentsEqual());
    CHECK(finished.at(1).toString().contains(QStringLiteral("documents differ (")));
    against.session().stop();
}

TEST_CASE("replay against: a server that is down or a stream that fails is reported as such, with its exit code")
{
    QTemporaryDir dir;
    const QString path = dir.filePath(QStringLiteral("chat.ndjson"));
    std::unique_ptr<Capture> capture = recordChat(path);

    // Nothing listens on the port: a prompt "could not connect", not a timeout and an empty diff.
    QTcpServer closed;
    REQUIRE(closed.listen(QHostAddress::LocalHost));
    const quint16 port = closed.serverPort();
    closed.close();
    DocumentTarget down;
    down.url = QUrl(QStringLiteral("ws://127.0.0.1:%1/~s").arg(port));
    down.identity = kIdentity;
    down.space = QStringLiteral("chat");
    down.key = QStringLiteral("demo");
    ReplayAgainst against(*capture, down, ReplayAgainst::Timing::InOrder);
    QSignalSpy finished(&against, &ReplayAgainst::finished);
    against.start(1500); // the connect deadline is the shorter of this and kConnectTimeoutMs
    REQUIRE(wait([&] { return finished.count() == 1; }, 10000));
    CHECK_FALSE(finished.at(0).at(0).toBool());
    CHECK(against.failure() == ReplayAgainst::Failure::CouldNotConnect);
    CHECK_FALSE(against.streamStarted());
    const QString message = finished.at(0).at(1).toString();
    INFO(message.toStdString());
    CHECK(message.startsWith(QStringLiteral("could not connect to ws://127.0.0.1:%1/~s within 1500 ms (last attempt: ").arg(port)));

    // A space the server does not have: the stream fails with its code, exit 5, on stderr.
    auto server = quietServer();
    REQUIRE(server);
    const test::CliRun failed = runCli({ QStringLiteral("replay"), path, QStringLiteral("--against"), server->url(), QStringLiteral("--space"),
        QStringLiteral("nosuchspace") });
    INFO(failed.err.toStdString());
    CHECK(failed.code == cli::ExitFatalStream);
    CHECK(failed.out.isEmpty());
    CHECK(failed.err.contains(QStringLiteral("deltascope-cli replay: --against: the server failed the new stream's connection/create with 625678")));

    // Options of the plain replay are refused with --against, not ignored.
    for (const QStringList& extra : { QStringList { QStringLiteral("--to"), QStringLiteral("3") }, QStringList { QStringLiteral("--speed"), QStringLiteral("2") },
             QStringList { QStringLiteral("--to-seq"), QStringLiteral("7") } }) {
        const test::CliRun refused = runCli(QStringList { QStringLiteral("replay"), path, QStringLiteral("--against"), server->url() } + extra);
        CHECK(refused.code == cli::ExitUsage);
        CHECK(refused.err.contains(QStringLiteral("does not apply with --against")));
    }
    const test::CliRun idle = runCli({ QStringLiteral("replay"), path, QStringLiteral("--no-skip-idle") });
    CHECK(idle.code == cli::ExitUsage);
    CHECK(idle.err.contains(QStringLiteral("--no-skip-idle only applies with --speed")));
}

TEST_CASE("replay against: a request waits for a stream that is down, and a first item without data starts the replay")
{
    QTemporaryDir dir;
    const QString path = dir.filePath(QStringLiteral("chat.ndjson"));
    std::unique_ptr<Capture> capture = recordChat(path);

    SECTION("the socket drops after the first answer: the next requests go on the new stream")
    {
        auto server = quietServer();
        REQUIRE(server);
        ReplayAgainst against(*capture, chatTarget(*server), ReplayAgainst::Timing::InOrder);
        bool dropped = false;
        QObject::connect(&against, &ReplayAgainst::responseReceived, [&] {
            // The first answer drops the socket. The next request may still go out on it before the
            // client sees the drop (then it is lost with the socket), or wait: the one after it is
            // sent once the stream is back, either way.
            if (!std::exchange(dropped, true))
                server->applyFault(QStringLiteral("close"), { { QStringLiteral("mode"), QStringLiteral("rst") } });
        });
        const QVariantList finished = replayToEnd(against);
        INFO(finished.at(1).toString().toStdString());
        CHECK(dropped);
        CHECK(finished.at(0).toBool());
        REQUIRE(against.pairs().size() == 3);
        // The third was answered by the server, not failed locally for want of a stream.
        const EventLog& log = against.session().log();
        REQUIRE(against.pairs()[2].newResponse >= 0);
        CHECK(log.at(against.pairs()[2].newResponse).kind == EventKind::Response);
    }
    SECTION("a stream whose first item holds only a seq (an empty document's snapshot)")
    {
        test::ScriptedServer scripted;
        scripted.startPings(200);
        DocumentTarget target;
        target.url = scripted.url();
        target.identity = kIdentity;
        target.space = QStringLiteral("chat");
        target.key = QStringLiteral("demo");
        ReplayAgainst against(*capture, target, ReplayAgainst::Timing::InOrder);
        // Answers every request as it comes: the stream's first item has a seq and no data, each
        // send its seq.
        qsizetype answered = 0;
        qint64 seq = 1;
        QTimer answer;
        QObject::connect(&answer, &QTimer::timeout, [&] {
            for (; answered < scripted.received().size(); ++answered) {
                const QJsonObject request = QJsonDocument::fromJson(scripted.received()[answered]).object();
                const qint64 id = request.value(QStringLiteral("id")).toInteger();
                if (request.value(QStringLiteral("method")) == QStringLiteral("connection/create"))
                    scripted.sendToAll(QStringLiteral(R"({"deliver":%1,"done":false,"response":{"delta":{"seq":%2}}})").arg(id).arg(seq).toUtf8());
                else if (request.value(QStringLiteral("method")) == QStringLiteral("connection/send"))
                    scripted.sendToAll(QStringLiteral(R"({"deliver":%1,"done":true,"response":{"seq":%2}})").arg(id).arg(++seq).toUtf8());
            }
        });
        answer.start(5);
        const QVariantList finished = replayToEnd(against);
        INFO(finished.at(1).toString().toStdString());
        CHECK(finished.at(0).toBool());
        CHECK(against.streamStarted());
        CHECK(against.failure() == ReplayAgainst::Failure::None);
        REQUIRE(against.pairs().size() == 3);
        for (const ReplayAgainst::Pair& pair : against.pairs())
            CHECK(pair.newResponse >= 0);
    }
}
