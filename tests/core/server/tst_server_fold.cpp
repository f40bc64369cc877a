#include "core/document/documenttree.h"
#include "core/server/demodocument.h"
#include "core/server/referenceserver.h"
#include "tests/support/testutils.h"
#include "wsclient.h"

#include <catch2/catch.hpp>

#include <QJsonArray>
#include <QCoreApplication>
#include <QJsonDocument>

#include <random>

// The strongest check of encoder and fold together: every item the server sends, folded by the
// document engine from the first snapshot, gives exactly the view the server holds for that viewer,
// over long seeded runs of every demo with viewer-state changes and messages mixed in.

using namespace deltascope;
using namespace deltascope::server;
using namespace deltascope::test;
using namespace std::chrono_literals;

namespace {

// Folds one stream's items as a client would (from an empty tree at connection/create).
struct StreamFold {
    WsClient* client = nullptr;
    qint64 stream = 0;
    std::size_t consumed = 0;
    DocumentTree tree;
    int unexpectedAnomalies = 0;
    QStringList anomalyText;

    void catchUp()
    {
        const std::vector<QJsonObject> items = client->items(stream);
        for (; consumed < items.size(); ++consumed) {
            const QJsonObject delta = items[consumed].value(QLatin1String("response")).toObject().value(QLatin1String("delta")).toObject();
            if (!delta.contains(QLatin1String("data")))
                continue;
            const QByteArray data = QJsonDocument(delta.value(QLatin1String("data")).toObject()).toJson(QJsonDocument::Compact);
            const FoldResult result = tree.apply(std::string_view(data.constData(), static_cast<size_t>(data.size())), static_cast<qint64>(consumed));
            REQUIRE(result.parsed);
            for (const Anomaly& anomaly : result.anomalies) {
                // Adama edits scalar value lists in place without `@s` (adama-wire.md 6.4): legal, only
                // the reference client shows it wrong. Anything else means the server sent a bad delta.
                if (anomaly.kind == AnomalyKind::ValueListEditedWithoutSize || anomaly.kind == AnomalyKind::ReferenceClientDiffers)
                    continue;
                ++unexpectedAnomalies;
                anomalyText.append(anomalyKindName(anomaly.kind) + QLatin1String(" at ") + anomaly.path + QLatin1String(": ") + anomaly.message);
            }
        }
    }
};

QJsonObject visible(const DocumentTree& tree)
{
    return QJsonDocument::fromJson(tree.toJson()).object();
}

// Waits until the folded stream equals the server's view for `agent`; fails with both trees.
void requireConverged(ReferenceServer& server, const QString& space, const QString& key, const QString& agent, StreamFold& fold)
{
    QJsonObject expected;
    QString difference;
    const bool same = waitUntil(
        [&] {
            fold.catchUp();
            const std::optional<DocumentTree> view = server.currentView(space, key, agent);
            if (!view)
                return false;
            expected = visible(*view);
            if (visible(fold.tree) == expected)
                return true;
            const TreeDiff diff = diffTrees(fold.tree, *view);
            difference = QStringLiteral("added %1 removed %2 changed %3 moved %4")
                             .arg(diff.added.mid(0, 5).join(u','), diff.removed.mid(0, 5).join(u','), diff.changed.mid(0, 5).join(u','))
                             .arg(diff.moved.size());
            return false;
        },
        60s);
    INFO("difference (client -> server): " << difference.toStdString());
    INFO("agent " << agent.toStdString() << " items " << fold.consumed);
    INFO("server view: " << QJsonDocument(expected).toJson(QJsonDocument::Compact).left(2000).toStdString());
    INFO("client fold: " << fold.tree.toJson().left(2000).toStdString());
    INFO("anomalies: " << fold.anomalyText.join(QStringLiteral("; ")).left(2000).toStdString());
    REQUIRE(same);
    REQUIRE(fold.unexpectedAnomalies == 0);
}

struct Session {
    WsClient client;
    StreamFold fold;
    QString agent;

    Session(ReferenceServer& server, const QString& space, const QString& key, const QString& name, const QJsonObject& viewerState = {})
        : agent(name)
    {
        REQUIRE(client.open(QUrl(server.url())));
        QJsonObject params { { QStringLiteral("identity"), QString(QStringLiteral("anonymous:") + name) }, { QStringLiteral("space"), space },
            { QStringLiteral("key"), key } };
        if (!viewerState.isEmpty())
            params.insert(QStringLiteral("viewer-state"), viewerState);
        fold.client = &client;
        fold.stream = client.request(QStringLiteral("connection/create"), params);
        REQUIRE(waitUntil([&] { return !client.items(fold.stream).empty(); }, 10s));
    }
};

ServerOptions foldOptions()
{
    ServerOptions options;
    options.botsPaused = true;
    options.seed = 4242;
    options.turnTimeoutMs = 0; // game: the server moves for silent people at once, so runs progress
    return options;
}

}

TEST_CASE("fold equals the server's view: chat with trimming, messages and viewer-state changes")
{
    ReferenceServer server(foldOptions());
    REQUIRE(server.listen() != 0);
    const QString space = QStringLiteral("chat");
    const QString key = QStringLiteral("fold");
    Session alice(server, space, key, QStringLiteral("alice"), { { QStringLiteral("page"), 0 } });
    Session dora(server, space, key, QStringLiteral("dora"), { { QStringLiteral("page"), 2 } });
    DemoDocument* document = server.document(space, key);
    REQUIRE(document);
    std::mt19937 random(7);
    for (int round = 0; round < 30; ++round) {
        document->step(20);
        alice.client.request(QStringLiteral("connection/send"), { { QStringLiteral("connection"), alice.fold.stream },
            { QStringLiteral("channel"), QStringLiteral("say") }, { QStringLiteral("message"), QJsonObject { { QStringLiteral("what"), QStringLiteral("round %1").arg(round) } } } });
        dora.client.request(QStringLiteral("connection/update"), { { QStringLiteral("connection"), dora.fold.stream },
            { QStringLiteral("viewer-state"), QJsonObject { { QStringLiteral("page"), static_cast<int>(random() % 4) } } } });
        requireConverged(server, space, key, alice.agent, alice.fold);
        requireConverged(server, space, key, dora.agent, dora.fold);
    }
    CHECK(document->seq() > 600);
    CHECK(alice.fold.tree.childCount(alice.fold.tree.find(u"lines")) == 30); // trimmed
}

TEST_CASE("fold equals the server's view: game with joins, leaves, asks and private hands")
{
    ReferenceServer server(foldOptions());
    REQUIRE(server.listen() != 0);
    const QString space = QStringLiteral("game");
    const QString key = QStringLiteral("fold");
    Session alice(server, space, key, QStringLiteral("alice"));
    Session bob(server, space, key, QStringLiteral("bob"));
    DemoDocument* document = server.document(space, key);
    REQUIRE(document);
    for (int round = 0; round < 40; ++round) {
        document->step(37);
        if (round % 10 == 5) {
            // A third person comes and goes: the players list grows and shrinks mid-run.
            Session visitor(server, space, key, QStringLiteral("visitor%1").arg(round));
            REQUIRE(waitUntil([&] { return !visitor.client.items(visitor.fold.stream).empty(); }, 3s));
            document->step(5);
            requireConverged(server, space, key, visitor.agent, visitor.fold);
        }
        requireConverged(server, space, key, alice.agent, alice.fold);
        requireConverged(server, space, key, bob.agent, bob.fold);
    }
    CHECK(document->seq() > 1400);
}

TEST_CASE("fold equals the server's view: ticker over thousands of transactions")
{
    ReferenceServer server(foldOptions());
    REQUIRE(server.listen() != 0);
    const QString space = QStringLiteral("ticker");
    const QString key = QStringLiteral("rate-1000");
    Session viewer(server, space, key, QStringLiteral("watcher"));
    REQUIRE(waitUntil([&] { return !viewer.client.items(viewer.fold.stream).empty(); }, 3s));
    DemoDocument* document = server.document(space, key);
    for (int round = 0; round < 25; ++round) {
        document->step(200);
        requireConverged(server, space, key, viewer.agent, viewer.fold);
    }
    CHECK(document->seq() >= 5000);
}

TEST_CASE("fold equals the server's view: big document with 100,000 elements")
{
    ReferenceServer server(foldOptions());
    REQUIRE(server.listen() != 0);
    const QString space = QStringLiteral("big");
    const QString key = QStringLiteral("fold");
    Session viewer(server, space, key, QStringLiteral("watcher"));
    requireConverged(server, space, key, viewer.agent, viewer.fold);
    const NodeId items = viewer.fold.tree.find(u"items");
    REQUIRE(viewer.fold.tree.childCount(items) == 100000);
    DemoDocument* document = server.document(space, key);
    for (int round = 0; round < 8; ++round) {
        document->step(25);
        requireConverged(server, space, key, viewer.agent, viewer.fold);
    }
}

TEST_CASE("fold after redeploy: a fresh tree equals the new view, a merging tree keeps stale keys")
{
    ReferenceServer server(foldOptions());
    REQUIRE(server.listen() != 0);
    const QString space = QStringLiteral("ticker");
    const QString key = QStringLiteral("redeploy");
    Session viewer(server, space, key, QStringLiteral("watcher"));
    DemoDocument* document = server.document(space, key);
    document->step(30);
    requireConverged(server, space, key, viewer.agent, viewer.fold);
    const std::size_t snapshotItem = viewer.client.items(viewer.fold.stream).size();
    server.redeploy(true);
    document->step(10);
    // Merging the new snapshot over the old tree keeps `tick` and `updated`, which schema 2 dropped.
    viewer.fold.catchUp();
    REQUIRE(waitUntil([&] { viewer.fold.catchUp(); return viewer.fold.consumed >= snapshotItem + 11; }, 3s));
    CHECK(viewer.fold.tree.find(u"tick") != kNoNode);
    CHECK(viewer.fold.tree.find(u"ticks") != kNoNode);
    // Folding from the redeploy snapshot onwards into an empty tree matches the server.
    StreamFold fresh;
    fresh.client = &viewer.client;
    fresh.stream = viewer.fold.stream;
    fresh.consumed = snapshotItem;
    requireConverged(server, space, key, viewer.agent, fresh);
    CHECK(fresh.tree.find(u"tick") == kNoNode);
}
