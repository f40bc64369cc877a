#include "core/server/demodocument.h"
#include "core/server/referenceserver.h"
#include "tests/support/testutils.h"
#include "wsclient.h"

#include <catch2/catch.hpp>

#include <memory>

using namespace deltascope;
using namespace deltascope::server;
using namespace deltascope::test;
using namespace std::chrono_literals;

// Many concurrent sockets on one document (the benchmark goes to 2,000; CI runs 200).
TEST_CASE("200 concurrent sockets on one document all get the snapshot and every later delta")
{
    constexpr int kSockets = 200;
    ServerOptions options;
    options.botsPaused = true;
    ReferenceServer server(options);
    REQUIRE(server.listen() != 0);
    std::vector<std::unique_ptr<WsClient>> clients;
    for (int i = 0; i < kSockets; ++i) {
        auto client = std::make_unique<WsClient>();
        client->socket().open(QUrl(server.url()));
        clients.push_back(std::move(client));
    }
    REQUIRE(waitUntil([&] { return server.socketCount() == kSockets; }, 30s));
    for (int i = 0; i < kSockets; ++i) {
        REQUIRE(waitUntil([&] { return !clients[i]->frames().empty(); }, 10s));
        clients[i]->request(QStringLiteral("connection/create"), { { QStringLiteral("identity"), QStringLiteral("anonymous:u%1").arg(i) },
            { QStringLiteral("space"), QStringLiteral("ticker") }, { QStringLiteral("key"), QStringLiteral("fanout") } });
    }
    REQUIRE(waitUntil([&] {
        return std::all_of(clients.begin(), clients.end(), [](const auto& c) { return !c->items(1).empty(); });
    }, 30s));
    DemoDocument* document = server.document(QStringLiteral("ticker"), QStringLiteral("fanout"));
    REQUIRE(document);
    const qint64 seq = document->seq();
    document->step(5);
    REQUIRE(waitUntil([&] {
        return std::all_of(clients.begin(), clients.end(), [](const auto& c) { return c->items(1).size() >= 6; });
    }, 30s));
    for (const auto& client : clients) {
        const auto items = client->items(1);
        CHECK(items.back().value(QLatin1String("response")).toObject().value(QLatin1String("delta")).toObject().value(QLatin1String("seq")).toInteger()
            == seq + 5);
    }
}
