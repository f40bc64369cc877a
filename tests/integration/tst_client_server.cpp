#include <catch2/catch.hpp>

#include "core/protocol/errorcodes.h"
#include "core/server/referenceserver.h"
#include "core/session/livesession.h"
#include "tests/support/testutils.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QSignalSpy>
#include <QSslSocket>
#include <QTemporaryDir>

#include <csignal>
#include <set>

using namespace deltascope;
using namespace deltascope::server;
using deltascope::test::waitUntil;

// The protocol client and the session against the reference server, in-process on 127.0.0.1.
// "Converged" means the client's epoch tree equals the tree the server last sent that viewer.

namespace {
QJsonObject json(const QByteArray& text)
{
    return QJsonDocument::fromJson(text).object();
}

bool wait(const std::function<bool()>& predicate, int ms = 8000)
{
    return waitUntil(predicate, std::chrono::milliseconds(ms));
}

struct Harness {
    ReferenceServer server;
    LiveSession session;
    QString key;
    std::vector<ConnectionState> states;

    explicit Harness(const QString& documentKey = QStringLiteral("demo"), ServerOptions options = quiet())
        : server(options)
        , key(documentKey)
    {
        REQUIRE(server.listen() != 0);
        QObject::connect(&session, &LiveSession::stateChanged,
            [this](ConnectionState state, ConnectionState, const QString&) { states.push_back(state); });
    }

    static ServerOptions quiet()
    {
        ServerOptions options;
        options.botsPaused = true;
        options.pingIntervalMs = 200;
        return options;
    }

    void fastLiveness()
    {
        ProtocolClientOptions options;
        options.liveness.checkIntervalMs = 100;
        options.liveness.pingOverdueMs = 500;
        options.liveness.missedChecksBeforeReconnect = 3;
        session.client().setOptions(options);
    }

    bool start(const QByteArray& viewerState = R"({"page":0})")
    {
        DocumentTarget target;
        target.url = QUrl(server.url());
        target.identity = QStringLiteral("anonymous:alice");
        target.space = QStringLiteral("chat");
        target.key = key;
        target.viewerState = viewerState;
        QString error;
        if (!session.start(target, &error)) {
            FAIL(error.toStdString());
            return false;
        }
        return wait([this]() { return session.state() == ConnectionState::Streaming && converged(); });
    }

    bool converged() const
    {
        const auto view = server.lastSentView(QStringLiteral("chat"), key, QStringLiteral("alice"));
        if (!view || session.folder().epochTree().nodeCount() <= 1)
            return false;
        return json(view->toJson()) == json(session.folder().epochTree().toJson());
    }

    bool convergedIn(quint32 epoch) const
    {
        return session.state() == ConnectionState::Streaming && session.epoch() == epoch && session.folder().epoch() == epoch
            && converged();
    }

    std::vector<qint64> ofKind(EventKind kind) const { return session.log().indexesOfKind(kind); }

    bool sawState(ConnectionState state) const { return std::find(states.begin(), states.end(), state) != states.end(); }

    std::vector<QJsonObject> planned(const QString& layer) const
    {
        std::vector<QJsonObject> found;
        for (qint64 index : ofKind(EventKind::ReconnectPlanned)) {
            const QJsonObject fields = json(session.log().payload(index));
            if (fields.value(QStringLiteral("layer")).toString() == layer)
                found.push_back(fields);
        }
        return found;
    }
};
}

TEST_CASE("integration: connect, snapshot, deltas, send and ack, send-once and its repeat, viewer state, end")
{
    Harness h;
    REQUIRE(h.start());
    const EventLog& log = h.session.log();
    CHECK(h.session.helloVersion() == QLatin1String("20240912211736"));
    CHECK(h.session.epoch() == 1);
    const auto items = h.ofKind(EventKind::StreamItem);
    REQUIRE_FALSE(items.empty());
    // view-state-filter comes before the snapshot; the snapshot is flagged.
    CHECK(log.at(items.front()).parts == PartViewStateFilter);
    bool sawSnapshot = false;
    for (qint64 index : items)
        sawSnapshot = sawSnapshot || (log.at(index).flags & FlagSnapshot);
    CHECK(sawSnapshot);

    const qint64 sendId = h.session.send(QStringLiteral("say"), R"({"what":"yo"})");
    REQUIRE(wait([&]() { return log.requestIndex(sendId) >= 0 && log.at(log.requestIndex(sendId)).linkedIndex >= 0; }));
    const qint64 ack = log.at(log.requestIndex(sendId)).linkedIndex;
    CHECK(log.at(ack).kind == EventKind::Response);
    CHECK(log.at(ack).seq > 0);
    REQUIRE(wait([&]() { return log.seqLink(ack) >= 0 && h.converged(); }));
    CHECK(log.at(log.seqLink(ack)).seq == log.at(ack).seq);
    CHECK(h.session.folder().epochTree().toJson().contains("yo"));

    QSignalSpy tokens(&h.session, &LiveSession::dedupeTokenReceived);
    h.session.sendOnce(QStringLiteral("say"), R"({"what":"once"})");
    REQUIRE(wait([&]() { return tokens.count() == 1; }));
    const QString token = tokens.at(0).at(1).toString();
    CHECK_FALSE(token.isEmpty());
    REQUIRE(wait([&]() { return h.converged() && h.session.folder().epochTree().toJson().contains("once"); }));
    const qint64 repeat = h.session.sendOnce(QStringLiteral("say"), R"({"what":"once"})", token);
    REQUIRE(wait([&]() { return log.requestIndex(repeat) >= 0 && log.at(log.requestIndex(repeat)).linkedIndex >= 0; }));
    const SessionEvent& repeated = log.at(log.at(log.requestIndex(repeat)).linkedIndex);
    CHECK(repeated.kind == EventKind::Failure);
    CHECK(repeated.code == errorcodes::MessageAlreadySent);
    CHECK(h.session.state() == ConnectionState::Streaming);

    const qint64 update = h.session.updateViewerState(R"({"page":1})");
    REQUIRE(update > 0);
    REQUIRE(wait([&]() { return h.converged() && h.session.folder().epochTree().toJson().contains("Page 2"); }));

    h.session.end();
    REQUIRE(wait([&]() { return h.session.state() == ConnectionState::Closed; }));
    CHECK(h.ofKind(EventKind::StreamDone).size() == 1);
    CHECK(h.ofKind(EventKind::FoldAnomaly).empty());
    // Request ids are unique across the session.
    std::set<qint64> ids;
    for (qint64 index : h.ofKind(EventKind::Request))
        CHECK(ids.insert(log.at(index).requestId).second);
}

TEST_CASE("integration: socket drop resyncs in a new epoch with a brand-new connection/create")
{
    Harness h;
    REQUIRE(h.start());
    REQUIRE(h.server.closeSockets(ServerConnection::CloseKind::Reset) == 1);
    REQUIRE(wait([&]() { return h.convergedIn(2); }));
    CHECK(h.sawState(ConnectionState::Reconnecting));
    CHECK(h.planned(QStringLiteral("socket")).size() >= 1);
    CHECK(h.planned(QStringLiteral("stream")).size() == 1);
    const auto failures = h.ofKind(EventKind::Failure);
    REQUIRE(failures.size() == 1);
    CHECK(h.session.log().at(failures[0]).code == 999);
    CHECK(h.session.log().at(failures[0]).requestId == 1);
    CHECK(h.session.client().streamRequestId() > 1);
}

TEST_CASE("integration: a half-open stall is detected by liveness and recovered")
{
    Harness h;
    h.fastLiveness();
    REQUIRE(h.start());
    // Liveness judges a socket once it has had a ping (connection.js's has_had_ping).
    REQUIRE(wait([&]() { return !h.ofKind(EventKind::Ping).empty(); }));
    REQUIRE(h.server.stall(20000) == 1);
    REQUIRE(wait([&]() { return h.sawState(ConnectionState::Stalled); }));
    REQUIRE(wait([&]() { return h.convergedIn(2); }));
    const auto failures = h.ofKind(EventKind::Failure);
    REQUIRE_FALSE(failures.empty());
    CHECK(h.session.log().at(failures[0]).flags & FlagSynthetic);
}

TEST_CASE("integration: redeploy re-sends a snapshot inside the same stream, version change across reconnect")
{
    Harness h;
    REQUIRE(h.start());
    const std::size_t before = h.ofKind(EventKind::StreamItem).size();
    REQUIRE(h.server.redeploy(false) == 1);
    REQUIRE(wait([&]() { return h.ofKind(EventKind::StreamItem).size() > before && h.converged(); }));
    CHECK(h.session.epoch() == 1);

    h.server.setHelloVersion(QStringLiteral("20990101000000"));
    REQUIRE(h.server.closeSockets(ServerConnection::CloseKind::CloseFrame) == 1);
    REQUIRE(wait([&]() { return h.convergedIn(2); }));
    REQUIRE(h.ofKind(EventKind::VersionChanged).size() == 1);
    const QJsonObject change = json(h.session.log().payload(h.ofKind(EventKind::VersionChanged).front()));
    CHECK(change.value(QStringLiteral("from")).toString() == QLatin1String("20240912211736"));
    CHECK(change.value(QStringLiteral("to")).toString() == QLatin1String("20990101000000"));
}

TEST_CASE("integration: refused reconnects are retried until the server accepts")
{
    Harness h;
    REQUIRE(h.start());
    h.server.refuseConnects(3, 183498);
    REQUIRE(h.server.closeSockets(ServerConnection::CloseKind::Fin) == 1);
    REQUIRE(wait([&]() { return h.session.epoch() >= 5 && h.convergedIn(h.session.epoch()); }, 15000));
    int refused = 0;
    for (qint64 index : h.ofKind(EventKind::Failure)) {
        if (h.session.log().at(index).code == 183498) {
            ++refused;
            CHECK(h.session.log().at(index).flags & FlagRetryable);
        }
    }
    CHECK(refused == 3);
}

TEST_CASE("integration: fatal failures stop, retryable ones resync")
{
    SECTION("retryable 928828")
    {
        Harness h;
        REQUIRE(h.start());
        REQUIRE(h.server.failStreams(928828) == 1);
        REQUIRE(wait([&]() { return h.convergedIn(2); }));
        CHECK(h.planned(QStringLiteral("stream")).size() == 1);
    }
    SECTION("fatal 403403")
    {
        Harness h;
        REQUIRE(h.start());
        REQUIRE(h.server.failStreams(403403) == 1);
        REQUIRE(wait([&]() { return h.session.state() == ConnectionState::Failed; }));
        CHECK(h.session.client().failureCode() == 403403);
        CHECK(h.session.client().failureReason().contains(QStringLiteral("AUTH_FORBIDDEN")));
    }
    SECTION("force-disconnect ends with 403500")
    {
        Harness h;
        REQUIRE(h.start());
        REQUIRE(h.server.forceDisconnect() == 1);
        REQUIRE(wait([&]() { return h.session.state() == ConnectionState::Failed; }));
        CHECK(h.session.client().failureCode() == 403500);
        bool sawForce = false;
        for (qint64 index : h.ofKind(EventKind::StreamItem))
            sawForce = sawForce || (h.session.log().at(index).parts & PartForceDisconnect);
        CHECK(sawForce);
    }
    SECTION("keepalive failure status")
    {
        Harness h;
        REQUIRE(h.start());
        REQUIRE(h.server.keepaliveFailure() == 1);
        REQUIRE(wait([&]() { return h.convergedIn(2); }));
        CHECK(h.ofKind(EventKind::Disconnected).size() == 1);
        const auto socket = h.planned(QStringLiteral("socket"));
        REQUIRE_FALSE(socket.empty());
        CHECK(socket.front().value(QStringLiteral("delayMs")).toInteger() >= 1000);
    }
}

TEST_CASE("integration: live bot traffic folds to the server's view")
{
    ServerOptions options = Harness::quiet();
    options.botsPaused = false;
    options.chatBotRate = 20;
    Harness h(QStringLiteral("busy"), options);
    DocumentTarget target;
    target.url = QUrl(h.server.url());
    target.identity = QStringLiteral("anonymous:alice");
    target.space = QStringLiteral("chat");
    target.key = h.key;
    REQUIRE(h.session.start(target));
    REQUIRE(wait([&]() { return h.session.log().indexesOfKind(EventKind::StreamItem).size() > 15; }));
    h.server.setBotsPaused(true);
    REQUIRE(wait([&]() { return h.converged(); }));
    CHECK(h.ofKind(EventKind::FoldAnomaly).empty());
}

TEST_CASE("integration: deltascope-cli watch against the server (NDJSON, Ctrl-C, fatal exit 5)")
{
    Harness h;
    auto watch = [&](const QStringList& extra) {
        auto process = std::make_unique<QProcess>();
        process->setProgram(deltascope::test::executablePath(QStringLiteral("deltascope-cli")));
        process->setArguments(QStringList { QStringLiteral("watch"), h.server.url(), QStringLiteral("--identity"),
                                  QStringLiteral("anonymous:carl"), QStringLiteral("--space"), QStringLiteral("chat"),
                                  QStringLiteral("--key"), QStringLiteral("demo") }
            + extra);
        process->start();
        return process;
    };
    {
        auto process = watch({ QStringLiteral("--json"), QStringLiteral("--duration"), QStringLiteral("1") });
        REQUIRE(wait([&]() { return process->state() == QProcess::NotRunning; }, 15000));
        CHECK(process->exitCode() == 0);
        const QList<QByteArray> lines = process->readAllStandardOutput().split('\n');
        QList<QByteArray> nonEmpty;
        for (const QByteArray& line : lines) {
            if (!line.isEmpty())
                nonEmpty << line;
        }
        REQUIRE(nonEmpty.size() > 3);
        for (const QByteArray& line : nonEmpty)
            CHECK(QJsonDocument::fromJson(line).isObject());
        const QJsonObject last = json(nonEmpty.last());
        CHECK(last.value(QStringLiteral("kind")).toString() == QLatin1String("final-document"));
        CHECK(last.value(QStringLiteral("document")).toObject().value(QStringLiteral("title")).toString() == QLatin1String("Demo"));
    }
    {
        auto process = watch({});
        REQUIRE(wait([&]() {
            process->waitForReadyRead(10);
            return process->peek(1 << 20).contains("stream-item");
        }, 15000));
        ::kill(pid_t(process->processId()), SIGINT);
        REQUIRE(wait([&]() { return process->state() == QProcess::NotRunning; }, 15000));
        CHECK(process->exitStatus() == QProcess::NormalExit);
        CHECK(process->exitCode() == 0);
        const QByteArray out = process->readAllStandardOutput();
        CHECK(out.contains("interrupted (Ctrl-C)"));
        CHECK(out.contains("\"title\": \"Demo\""));
    }
    {
        h.server.refuseConnects(1, 403403);
        auto process = watch({ QStringLiteral("--duration"), QStringLiteral("10") });
        REQUIRE(wait([&]() { return process->state() == QProcess::NotRunning; }, 15000));
        CHECK(process->exitCode() == 5);
        CHECK(process->readAllStandardError().contains("403403"));
    }
}

TEST_CASE("integration: wss verifies the certificate unless insecure is asked for")
{
    QTemporaryDir dir;
    REQUIRE(dir.isValid());
    const QString certificate = dir.filePath(QStringLiteral("cert.pem"));
    const QString key = dir.filePath(QStringLiteral("key.pem"));
    QProcess openssl;
    openssl.start(QStringLiteral("openssl"),
        { QStringLiteral("req"), QStringLiteral("-x509"), QStringLiteral("-newkey"), QStringLiteral("rsa:2048"), QStringLiteral("-nodes"),
            QStringLiteral("-keyout"), key, QStringLiteral("-out"), certificate, QStringLiteral("-days"), QStringLiteral("1"),
            QStringLiteral("-subj"), QStringLiteral("/CN=127.0.0.1") });
    if (!openssl.waitForFinished(30000) || openssl.exitCode() != 0 || !QSslSocket::supportsSsl()) {
        WARN("openssl or a TLS backend is unavailable: wss test skipped");
        return;
    }
    ServerOptions options = Harness::quiet();
    options.tlsCertificate = certificate;
    options.tlsKey = key;
    for (const bool insecure : { false, true }) {
        Harness h(QStringLiteral("demo"), options);
        REQUIRE(h.server.url().startsWith(QLatin1String("wss://")));
        h.session.transport().setInsecure(insecure);
        h.session.client().setReconnectPolicy(std::make_unique<NoReconnectPolicy>());
        if (insecure) {
            REQUIRE(h.start());
        } else {
            DocumentTarget target;
            target.url = QUrl(h.server.url());
            target.identity = QStringLiteral("anonymous:alice");
            target.space = QStringLiteral("chat");
            target.key = h.key;
            REQUIRE(h.session.start(target));
            REQUIRE(wait([&]() { return h.session.state() == ConnectionState::Failed; }));
            CHECK_FALSE(h.session.client().helloEverReceived());
        }
        QStringList notes;
        for (qint64 index : h.ofKind(EventKind::Note))
            notes << json(h.session.log().payload(index)).value(QStringLiteral("note")).toString();
        REQUIRE(notes.size() >= 1);
        CHECK(notes.first().startsWith(insecure ? QStringLiteral("TLS errors ignored (insecure)") : QStringLiteral("TLS errors:")));
    }
}
