#include "core/protocol/errorcodes.h"
#include "core/server/demodocument.h"
#include "core/server/referenceserver.h"
#include "core/server/serverwire.h"
#include "tests/support/testutils.h"
#include "wsclient.h"

#include <catch2/catch.hpp>

#include <QCoreApplication>
#include <QCryptographicHash>
#include <QDateTime>
#include <QElapsedTimer>
#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QTest>
#include <QNetworkRequest>
#include <QPasswordDigestor>
#include <QRegularExpression>
#include <QTcpSocket>
#include <QTimer>

#include <limits>

using namespace deltascope;
using namespace deltascope::server;
using namespace deltascope::test;
using namespace std::chrono_literals;

namespace {

ServerOptions quietOptions()
{
    ServerOptions options;
    options.botsPaused = true; // tests drive the documents themselves
    options.pingIntervalMs = 100;
    return options;
}

QJsonObject delta(const QJsonObject& item)
{
    return item.value(QLatin1String("response")).toObject().value(QLatin1String("delta")).toObject();
}

qint64 failureReason(const QJsonObject& frame)
{
    return frame.value(QLatin1String("reason")).toInteger(-1);
}

// Sends a request and returns its failure code (or -1 when it did not fail).
qint64 failureOf(WsClient& client, const QString& method, const QJsonObject& params)
{
    const qint64 id = client.request(method, params);
    // Any answer: a failure, a done, or the first item of a stream.
    const QJsonObject answer = client.waitFor([id](const QJsonObject& frame) {
        return frame.value(QLatin1String("deliver")).toInteger() == id || frame.value(QLatin1String("failure")).toInteger(-1) == id;
    });
    REQUIRE(!answer.isEmpty());
    if (!answer.contains(QLatin1String("failure")))
        return -1;
    CHECK(answer.value(QLatin1String("failure")).toInteger() == id);
    CHECK(answer.value(QLatin1String("retry")).isBool());
    return failureReason(answer);
}

QByteArray httpExchange(quint16 port, const QByteArray& request)
{
    QTcpSocket socket;
    socket.connectToHost(QHostAddress::LocalHost, port);
    if (!socket.waitForConnected(3000))
        return {};
    socket.write(request);
    QByteArray response;
    waitUntil(
        [&] {
            response += socket.readAll();
            return socket.state() == QAbstractSocket::UnconnectedState;
        },
        3s);
    response += socket.readAll();
    return response;
}

}

TEST_CASE("hello, ping and the transcript of adama-wire.md 6.6 F")
{
    ReferenceServer server(quietOptions());
    REQUIRE(server.listen() != 0);
    WsClient client;
    REQUIRE(client.open(QUrl(server.url())));

    REQUIRE(client.rawFrames().front() == QByteArray(R"({"status":"connected","version":"20240912211736","identities":{}})"));

    const qint64 create = client.request(QStringLiteral("connection/create"),
        { { QStringLiteral("identity"), QStringLiteral("anonymous:alice") }, { QStringLiteral("space"), QStringLiteral("chat") },
            { QStringLiteral("key"), QStringLiteral("demo") }, { QStringLiteral("viewer-state"), QJsonObject { { QStringLiteral("page"), 0 } } } });
    REQUIRE(create == 1);
    REQUIRE(waitUntil([&] { return client.items(1).size() >= 2; }, 5s));
    // view-state-filter first, with no seq, then the full snapshot with seq.
    CHECK(client.rawFrames().at(1) == QByteArray(R"({"deliver":1,"done":false,"response":{"delta":{"view-state-filter":["page"]}}})"));
    const QJsonObject snapshot = delta(client.items(1).at(1));
    const qint64 snapshotSeq = snapshot.value(QLatin1String("seq")).toInteger();
    CHECK(snapshotSeq > 0);
    CHECK(!snapshot.contains(QLatin1String("outstanding")));
    const QJsonObject data = snapshot.value(QLatin1String("data")).toObject();
    CHECK(data.value(QLatin1String("title")).toString() == QLatin1String("Demo"));
    const QJsonObject lines = data.value(QLatin1String("lines")).toObject();
    CHECK(lines.value(QLatin1String("@o")).toArray() == QJsonArray { 1 });
    const QJsonObject first = lines.value(QLatin1String("1")).toObject();
    CHECK(first.value(QLatin1String("who")).toObject()
        == QJsonObject { { QStringLiteral("agent"), QStringLiteral("bob") }, { QStringLiteral("authority"), QStringLiteral("anonymous") } });
    CHECK(first.value(QLatin1String("what")).toString() == QLatin1String("hi"));
    CHECK(first.value(QLatin1String("when")).isString()); // a long travels as a string

    // A ping with a string latency; a pong without id is accepted silently.
    const QJsonObject ping = client.waitFor([](const QJsonObject& f) { return f.contains(QLatin1String("ping")); }, 3s);
    REQUIRE(!ping.isEmpty());
    CHECK(ping.value(QLatin1String("ping")).isDouble());
    CHECK(ping.value(QLatin1String("latency")).isString());
    QJsonObject pong = ping;
    pong.insert(QStringLiteral("pong"), 1718000001.0);
    client.sendJson(pong);

    std::size_t ackIndex = 0;
    const qint64 send = client.request(QStringLiteral("connection/send"),
        { { QStringLiteral("connection"), 1 }, { QStringLiteral("channel"), QStringLiteral("say") },
            { QStringLiteral("message"), QJsonObject { { QStringLiteral("what"), QStringLiteral("yo") } } } });
    const QJsonObject ack = client.waitFor(
        [send](const QJsonObject& f) { return f.value(QLatin1String("deliver")).toInteger() == send; }, 3s, 0, &ackIndex);
    REQUIRE(!ack.isEmpty());
    CHECK(ack.value(QLatin1String("done")).toBool());
    const qint64 sendSeq = ack.value(QLatin1String("response")).toObject().value(QLatin1String("seq")).toInteger();
    CHECK(ack.value(QLatin1String("response")).toObject().keys() == QStringList { QStringLiteral("seq") });
    CHECK(sendSeq > snapshotSeq);
    std::size_t itemIndex = 0;
    const QJsonObject item = client.waitFor(
        [sendSeq](const QJsonObject& f) {
            return f.value(QLatin1String("deliver")).toInteger() == 1 && delta(f).value(QLatin1String("seq")).toInteger() == sendSeq;
        },
        3s, 0, &itemIndex);
    REQUIRE(!item.isEmpty());
    CHECK(ackIndex < itemIndex); // the ack precedes the item carrying its seq
    const QJsonObject newLines = delta(item).value(QLatin1String("data")).toObject().value(QLatin1String("lines")).toObject();
    CHECK(newLines.value(QLatin1String("@o")).toArray() == QJsonArray { 1, 2 });
    CHECK(newLines.value(QLatin1String("2")).toObject().value(QLatin1String("what")).toString() == QLatin1String("yo"));
    CHECK(newLines.value(QLatin1String("2")).toObject().value(QLatin1String("who")).toObject().value(QLatin1String("agent")).toString()
        == QLatin1String("alice"));

    const std::size_t beforeUpdate = client.rawFrames().size();
    const qint64 update = client.request(QStringLiteral("connection/update"),
        { { QStringLiteral("connection"), 1 }, { QStringLiteral("viewer-state"), QJsonObject { { QStringLiteral("page"), 1 } } } });
    REQUIRE(waitUntil([&] { return client.rawFrames().size() >= beforeUpdate + 2; }, 3s));
    std::vector<QByteArray> afterUpdate;
    for (std::size_t i = beforeUpdate; i < client.rawFrames().size(); ++i) {
        if (!client.frames()[i].contains(QLatin1String("ping")))
            afterUpdate.push_back(client.rawFrames()[i]);
    }
    REQUIRE(afterUpdate.size() >= 2);
    CHECK(afterUpdate[0] == QByteArray(R"({"deliver":3,"done":true,"response":{}})"));
    CHECK(update == 3);
    // A refresh: data without seq.
    CHECK(afterUpdate[1] == QByteArray(R"({"deliver":1,"done":false,"response":{"delta":{"data":{"page_label":"Page 2"}}}})"));
    // An update is merged into the viewer state, as Adama ingests it field by field: a field it
    // leaves out, or an update without viewer-state, keeps the page (no refresh follows).
    const std::size_t beforeMerges = client.rawFrames().size();
    const qint64 other = client.request(QStringLiteral("connection/update"),
        { { QStringLiteral("connection"), 1 }, { QStringLiteral("viewer-state"), QJsonObject { { QStringLiteral("other"), 1 } } } });
    const qint64 bare = client.request(QStringLiteral("connection/update"), { { QStringLiteral("connection"), 1 } });
    REQUIRE(!client.waitFor([bare](const QJsonObject& f) { return f.value(QLatin1String("deliver")).toInteger() == bare; }, 3s).isEmpty());
    const qint64 probeAfter = client.request(QStringLiteral("probe"), { { QStringLiteral("identity"), QStringLiteral("anonymous:alice") } });
    REQUIRE(!client.waitFor([probeAfter](const QJsonObject& f) { return f.value(QLatin1String("deliver")).toInteger() == probeAfter; }, 3s).isEmpty());
    for (std::size_t i = beforeMerges; i < client.rawFrames().size(); ++i) {
        INFO(client.rawFrames()[i].toStdString());
        CHECK(!client.rawFrames()[i].contains("page_label"));
    }
    CHECK(other + 1 == bare);

    const std::size_t beforeEnd = client.rawFrames().size();
    const qint64 end = client.request(QStringLiteral("connection/end"), { { QStringLiteral("connection"), 1 } });
    CHECK(end == probeAfter + 1);
    REQUIRE(waitUntil([&] { return server.streamCount() == 0 && client.rawFrames().size() >= beforeEnd + 2; }, 3s));
    std::vector<QByteArray> afterEnd;
    for (std::size_t i = beforeEnd; i < client.rawFrames().size(); ++i) {
        if (!client.frames()[i].contains(QLatin1String("ping")))
            afterEnd.push_back(client.rawFrames()[i]);
    }
    REQUIRE(afterEnd.size() == 2);
    CHECK(afterEnd[0] == "{\"deliver\":" + QByteArray::number(end) + ",\"done\":true,\"response\":{}}");
    CHECK(afterEnd[1] == QByteArray(R"({"deliver":1,"done":true})"));
    CHECK(!client.isClosed());
}

TEST_CASE("socket-fatal frames: binary, no id, not JSON, pong without ping")
{
    ReferenceServer server(quietOptions());
    REQUIRE(server.listen() != 0);
    const auto expectDisconnect = [&](const std::function<void(WsClient&)>& send, const QByteArray& expected) {
        WsClient client;
        REQUIRE(client.open(QUrl(server.url())));
        send(client);
        REQUIRE(client.waitClosed(3s));
        REQUIRE(client.rawFrames().size() >= 2);
        bool seen = false;
        for (const QByteArray& frame : client.rawFrames())
            seen = seen || frame == expected;
        CHECK(seen);
        CHECK(!client.closedWithFrame()); // TCP close without a close frame, as Netty's end() does
    };
    expectDisconnect([](WsClient& c) { c.sendBinary("\x01\x02"); }, R"({"status":"disconnected","reason":213711})");
    expectDisconnect([](WsClient& c) { c.sendText(QStringLiteral(R"({"method":"probe","identity":"anonymous:x"})")); },
        R"({"status":"disconnected","reason":233120})");
    expectDisconnect([](WsClient& c) { c.sendText(QStringLiteral(R"({"id":"abc","method":"probe"})")); },
        R"({"status":"disconnected","reason":233120})");
    expectDisconnect([](WsClient& c) { c.sendText(QStringLiteral(R"({"id":1.5,"method":"probe"})")); },
        R"({"status":"disconnected","reason":233120})");
    // Jackson reads these as doubles, which are no id, though each is a whole number.
    expectDisconnect([](WsClient& c) { c.sendText(QStringLiteral(R"({"id":1.0,"method":"probe"})")); },
        R"({"status":"disconnected","reason":233120})");
    expectDisconnect([](WsClient& c) { c.sendText(QStringLiteral(R"({"method":"probe","id":1e2})")); },
        R"({"status":"disconnected","reason":233120})");
    // Integer.parseInt refuses spaces and numbers beyond 32 bits in a string.
    expectDisconnect([](WsClient& c) { c.sendText(QStringLiteral(R"({"id":" 7","method":"probe"})")); },
        R"({"status":"disconnected","reason":233120})");
    expectDisconnect([](WsClient& c) { c.sendText(QStringLiteral(R"({"id":"4294967297","method":"probe"})")); },
        R"({"status":"disconnected","reason":233120})");
    expectDisconnect([](WsClient& c) { c.sendText(QStringLiteral("{not json")); }, R"({"status":"disconnected","reason":295116})");
    expectDisconnect([](WsClient& c) { c.sendText(QStringLiteral("[1,2]")); }, R"({"status":"disconnected","reason":295116})");
    expectDisconnect([](WsClient& c) { c.sendText(QStringLiteral(R"({"pong":true})")); }, R"({"status":"disconnected","reason":295116})");
    // A null `ping` is no error: Jackson reads it as 0, and the socket stays.
    {
        WsClient c;
        REQUIRE(c.open(QUrl(server.url())));
        REQUIRE(!c.waitFor([](const QJsonObject& f) { return f.contains(QLatin1String("status")); }, 3s).isEmpty());
        c.sendText(QStringLiteral(R"({"pong":true,"ping":null})"));
        const qint64 probe = c.request(QStringLiteral("probe"), { { QStringLiteral("identity"), QStringLiteral("anonymous:eve") } });
        CHECK(!c.waitFor([probe](const QJsonObject& f) { return f.value(QLatin1String("deliver")).toInteger() == probe; }, 3s).isEmpty());
        CHECK(!c.isClosed());
    }
}

TEST_CASE("request errors: method, parameters and unknown connections")
{
    ReferenceServer server(quietOptions());
    REQUIRE(server.listen() != 0);
    WsClient client;
    REQUIRE(client.open(QUrl(server.url())));
    const QJsonObject message { { QStringLiteral("what"), QStringLiteral("x") } };
    const QJsonObject who { { QStringLiteral("identity"), QStringLiteral("anonymous:eve") } };

    // No method -> failure 213708; unknown -> 945213 (not retryable).
    client.sendText(QStringLiteral(R"({"id":77})"));
    const QJsonObject noMethod = client.waitForAnswer(77);
    CHECK(noMethod == parseObject(R"({"failure":77,"reason":213708,"retry":false})"));
    CHECK(failureOf(client, QStringLiteral("no/such-method"), {}) == 945213);

    // A numeric string id is accepted and echoed as a number.
    client.sendText(QStringLiteral(R"({"id":"700","method":"probe","identity":"anonymous:x"})"));
    CHECK(client.waitForAnswer(700) == parseObject(R"({"deliver":700,"done":true,"response":{}})"));
    client.sendText(QStringLiteral(R"({"id":"+701","method":"probe","identity":"anonymous:x"})"));
    CHECK(client.waitForAnswer(701) == parseObject(R"({"deliver":701,"done":true,"response":{}})"));
    // Integer.parseInt reads any script's decimal digits (fullwidth here).
    client.sendText(QStringLiteral(R"({"id":"７０２","method":"probe","identity":"anonymous:x"})"));
    CHECK(client.waitForAnswer(702) == parseObject(R"({"deliver":702,"done":true,"response":{}})"));
    // A number beyond 32 bits keeps its low 32 bits, as Java's intValue() does; a nested "id" is not the request's.
    client.sendText(QStringLiteral(R"({"x":{"id":5},"id":4294972296,"method":"probe","identity":"anonymous:x"})"));
    CHECK(client.waitForAnswer(5000) == parseObject(R"({"deliver":5000,"done":true,"response":{}})"));
    client.sendText(QStringLiteral(R"({"id":99999999999999999999,"method":"probe","identity":"anonymous:x"})"));
    CHECK(client.waitForAnswer(1661992959) == parseObject(R"({"deliver":1661992959,"done":true,"response":{}})"));
    client.sendText(QStringLiteral(R"({"id":-4294967298,"method":"probe","identity":"anonymous:x"})"));
    CHECK(client.waitForAnswer(-2) == parseObject(R"({"deliver":-2,"done":true,"response":{}})"));

    CHECK(failureOf(client, QStringLiteral("connection/create"), { { QStringLiteral("space"), QStringLiteral("chat") }, { QStringLiteral("key"), QStringLiteral("k") } }) == 458759);
    CHECK(failureOf(client, QStringLiteral("connection/create"), { { QStringLiteral("identity"), QStringLiteral("anonymous:eve") }, { QStringLiteral("key"), QStringLiteral("k") } }) == 461828);
    CHECK(failureOf(client, QStringLiteral("connection/create"), { { QStringLiteral("identity"), QStringLiteral("anonymous:eve") }, { QStringLiteral("space"), QStringLiteral("chat") } }) == 466947);
    CHECK(failureOf(client, QStringLiteral("connection/create"), { { QStringLiteral("identity"), QStringLiteral("anonymous:eve") }, { QStringLiteral("space"), QStringLiteral("nope") }, { QStringLiteral("key"), QStringLiteral("k") } }) == 625678);
    CHECK(failureOf(client, QStringLiteral("connection/create"), { { QStringLiteral("identity"), QStringLiteral("anonymous:eve") }, { QStringLiteral("space"), QStringLiteral("chat") }, { QStringLiteral("key"), QStringLiteral("") } }) == 919676);

    CHECK(failureOf(client, QStringLiteral("connection/send"), { { QStringLiteral("channel"), QStringLiteral("say") }, { QStringLiteral("message"), message } }) == 405505);
    CHECK(failureOf(client, QStringLiteral("connection/send"), { { QStringLiteral("connection"), 1 }, { QStringLiteral("message"), message } }) == 454659);
    CHECK(failureOf(client, QStringLiteral("connection/send"), { { QStringLiteral("connection"), 1 }, { QStringLiteral("channel"), QStringLiteral("say") } }) == 425987);
    CHECK(failureOf(client, QStringLiteral("connection/send"), { { QStringLiteral("connection"), 99 }, { QStringLiteral("channel"), QStringLiteral("say") }, { QStringLiteral("message"), message } }) == 457745);
    CHECK(failureOf(client, QStringLiteral("connection/send-once"), { { QStringLiteral("connection"), 99 }, { QStringLiteral("channel"), QStringLiteral("say") }, { QStringLiteral("message"), message } }) == 410619);
    CHECK(failureOf(client, QStringLiteral("connection/update"), { { QStringLiteral("connection"), 99 } }) == 438302);
    CHECK(failureOf(client, QStringLiteral("connection/end"), { { QStringLiteral("connection"), 99 } }) == 474128);
    CHECK(failureOf(client, QStringLiteral("connection/can-attach"), { { QStringLiteral("connection"), 99 } }) == 494559);

    CHECK(failureOf(client, QStringLiteral("probe"), {}) == 458759);
    CHECK(failureOf(client, QStringLiteral("probe"), { { QStringLiteral("identity"), QStringLiteral("") } }) == 995342);
    CHECK(failureOf(client, QStringLiteral("probe"), who) == -1);

    CHECK(failureOf(client, QStringLiteral("document/create"), { { QStringLiteral("identity"), QStringLiteral("anonymous:eve") }, { QStringLiteral("space"), QStringLiteral("chat") }, { QStringLiteral("key"), QStringLiteral("made") } }) == 461826);
    const QJsonObject create { { QStringLiteral("identity"), QStringLiteral("anonymous:eve") }, { QStringLiteral("space"), QStringLiteral("chat") },
        { QStringLiteral("key"), QStringLiteral("made") }, { QStringLiteral("arg"), QJsonObject { { QStringLiteral("title"), QStringLiteral("Made") } } } };
    CHECK(failureOf(client, QStringLiteral("document/create"), create) == -1);
    CHECK(failureOf(client, QStringLiteral("document/create"), create) == 130092);

    QJsonObject direct { { QStringLiteral("identity"), QStringLiteral("anonymous:eve") }, { QStringLiteral("space"), QStringLiteral("chat") },
        { QStringLiteral("key"), QStringLiteral("made") }, { QStringLiteral("channel"), QStringLiteral("say") }, { QStringLiteral("message"), message } };
    const qint64 directId = client.request(QStringLiteral("message/direct-send"), direct);
    const QJsonObject directAnswer = client.waitForAnswer(directId);
    CHECK(directAnswer.value(QLatin1String("response")).toObject().value(QLatin1String("seq")).toInteger() > 0);
    direct.insert(QStringLiteral("key"), QStringLiteral("absent"));
    CHECK(failureOf(client, QStringLiteral("message/direct-send"), direct) == 625676);
    direct.insert(QStringLiteral("key"), QStringLiteral("made"));
    direct.insert(QStringLiteral("channel"), QStringLiteral("9bad"));
    CHECK(failureOf(client, QStringLiteral("message/direct-send"), direct) == 908415);
    CHECK(!client.isClosed()); // request failures never close the socket
}

TEST_CASE("request errors: each method names its first missing or invalid parameter, in parameter order")
{
    ReferenceServer server(quietOptions());
    REQUIRE(server.listen() != 0);
    WsClient client;
    REQUIRE(client.open(QUrl(server.url())));
    const QJsonObject message { { QStringLiteral("what"), QStringLiteral("x") } };
    // A complete request per method, its parameters in the order the router reads them, with the
    // code each one answers when missing (adama-wire.md 3.1).
    struct Param {
        const char* name;
        QJsonValue value;
        int missing;
    };
    const QJsonValue identity = QStringLiteral("anonymous:eve");
    const QJsonValue space = QStringLiteral("chat");
    const QJsonValue key = QStringLiteral("params");
    const QJsonValue channel = QStringLiteral("say");
    const std::vector<std::pair<QString, std::vector<Param>>> methods {
        { QStringLiteral("connection/create"), { { "identity", identity, 458759 }, { "space", space, 461828 }, { "key", key, 466947 } } },
        { QStringLiteral("document/create"),
            { { "identity", identity, 458759 }, { "space", space, 461828 }, { "key", key, 466947 }, { "arg", QJsonObject {}, 461826 } } },
        { QStringLiteral("message/direct-send"),
            { { "identity", identity, 458759 }, { "space", space, 461828 }, { "key", key, 466947 }, { "channel", channel, 454659 },
                { "message", message, 425987 } } },
        { QStringLiteral("message/direct-send-once"),
            { { "identity", identity, 458759 }, { "space", space, 461828 }, { "key", key, 466947 }, { "channel", channel, 454659 },
                { "message", message, 425987 } } },
        { QStringLiteral("connection/send"), { { "connection", 99, 405505 }, { "channel", channel, 454659 }, { "message", message, 425987 } } },
        { QStringLiteral("connection/send-once"), { { "connection", 99, 405505 }, { "channel", channel, 454659 }, { "message", message, 425987 } } },
        { QStringLiteral("connection/update"), { { "connection", 99, 405505 } } },
        { QStringLiteral("connection/end"), { { "connection", 99, 405505 } } },
        { QStringLiteral("connection/can-attach"), { { "connection", 99, 405505 } } },
        { QStringLiteral("connection/attach"),
            { { "connection", 99, 405505 }, { "asset-id", QStringLiteral("a"), 476156 }, { "filename", QStringLiteral("f"), 470028 },
                { "content-type", QStringLiteral("t"), 455691 }, { "size", QStringLiteral("1"), 477179 },
                { "digest-md5", QStringLiteral("m"), 445437 }, { "digest-sha384", QStringLiteral("s"), 406525 } } },
    };
    for (const auto& [method, params] : methods) {
        for (std::size_t skip = 0; skip < params.size(); ++skip) {
            // Everything after the skipped parameter is missing too: the first missing one is named.
            QJsonObject request;
            for (std::size_t i = 0; i < skip; ++i)
                request.insert(QLatin1String(params[i].name), params[i].value);
            INFO(method.toStdString() << " without " << params[skip].name << " and what follows");
            CHECK(failureOf(client, method, request) == params[skip].missing);
            // Only this one missing: still named, before any later check.
            for (std::size_t i = skip + 1; i < params.size(); ++i)
                request.insert(QLatin1String(params[i].name), params[i].value);
            INFO(method.toStdString() << " without only " << params[skip].name);
            CHECK(failureOf(client, method, request) == params[skip].missing);
        }
    }
    // connection/attach's size is a long: a string that is no number is missing, as it is to Java's getLong.
    CHECK(failureOf(client, QStringLiteral("connection/attach"),
              { { QStringLiteral("connection"), 99 }, { QStringLiteral("asset-id"), QStringLiteral("a") }, { QStringLiteral("filename"), QStringLiteral("f") },
                  { QStringLiteral("content-type"), QStringLiteral("t") }, { QStringLiteral("size"), QStringLiteral("abc") },
                  { QStringLiteral("digest-md5"), QStringLiteral("m") }, { QStringLiteral("digest-sha384"), QStringLiteral("s") } })
        == 477179);
    // Invalid values of document addresses: key before space (the key is checked as it is read).
    for (const QString& method : { QStringLiteral("connection/create"), QStringLiteral("document/create"), QStringLiteral("message/direct-send") }) {
        QJsonObject request { { QStringLiteral("identity"), identity }, { QStringLiteral("space"), QStringLiteral("no space!") },
            { QStringLiteral("key"), QStringLiteral("bad key") }, { QStringLiteral("arg"), QJsonObject {} },
            { QStringLiteral("channel"), channel }, { QStringLiteral("message"), message } };
        INFO(method.toStdString());
        CHECK(failureOf(client, method, request) == 946192);
        request.insert(QStringLiteral("key"), key);
        CHECK(failureOf(client, method, request) == 998515);
        request.insert(QStringLiteral("space"), QStringLiteral(" CHAT ")); // trimmed and lower-cased
        request.insert(QStringLiteral("identity"), QString());
        CHECK(failureOf(client, method, request) == 995342);
        request.insert(QStringLiteral("identity"), identity);
        request.insert(QStringLiteral("space"), QStringLiteral("nope"));
        CHECK(failureOf(client, method, request) == 625678);
    }
    CHECK(!client.isClosed());
}

TEST_CASE("documents/hash-password salts a one-way hash and configure/make-or-get-asset-key keeps one key per socket")
{
    ReferenceServer server(quietOptions());
    REQUIRE(server.listen() != 0);
    WsClient client;
    REQUIRE(client.open(QUrl(server.url())));
    const auto answerOf = [&client](const QString& method, const QJsonObject& params) {
        const QJsonObject answer = client.waitForAnswer(client.request(method, params));
        CHECK(answer.value(QLatin1String("done")).toBool());
        return answer.value(QLatin1String("response")).toObject();
    };

    CHECK(failureOf(client, QStringLiteral("documents/hash-password"), {}) == 465917);
    const QJsonObject password { { QStringLiteral("password"), QStringLiteral("hunter2 \u00e9") } };
    const QByteArray first = answerOf(QStringLiteral("documents/hash-password"), password).value(QLatin1String("passwordHash")).toString().toLatin1();
    const QByteArray second = answerOf(QStringLiteral("documents/hash-password"), password).value(QLatin1String("passwordHash")).toString().toLatin1();
    CHECK(first != second); // salted
    // $pbkdf2-sha256$ITERATIONS$SALT$HASH: the hash is PBKDF2 of the UTF-8 password with that salt.
    for (const QByteArray& hash : { first, second }) {
        INFO(hash.toStdString());
        REQUIRE(hash.startsWith("$pbkdf2-sha256$"));
        const QList<QByteArray> parts = hash.mid(15).split('$');
        REQUIRE(parts.size() == 3);
        CHECK(parts[0].toInt() >= 4096);
        const QByteArray salt = QByteArray::fromBase64(parts[1]);
        CHECK(salt.size() == 16);
        const QByteArray derived = QByteArray::fromBase64(parts[2]);
        CHECK(derived == QPasswordDigestor::deriveKeyPbkdf2(QCryptographicHash::Sha256, QStringLiteral("hunter2 \u00e9").toUtf8(), salt, parts[0].toInt(), 32));
        CHECK(derived != QPasswordDigestor::deriveKeyPbkdf2(QCryptographicHash::Sha256, QByteArrayLiteral("hunter2"), salt, parts[0].toInt(), 32));
    }
    // Lenient as every string parameter: a number is its text.
    CHECK(answerOf(QStringLiteral("documents/hash-password"), { { QStringLiteral("password"), 1234 } }).value(QLatin1String("passwordHash")).toString().startsWith(QLatin1String("$pbkdf2-sha256$")));

    const QString key = answerOf(QStringLiteral("configure/make-or-get-asset-key"), {}).value(QLatin1String("assetKey")).toString();
    CHECK(key.size() >= 20);
    CHECK(answerOf(QStringLiteral("configure/make-or-get-asset-key"), {}).value(QLatin1String("assetKey")).toString() == key);
    WsClient other;
    REQUIRE(other.open(QUrl(server.url())));
    const QJsonObject otherAnswer = other.waitForAnswer(other.request(QStringLiteral("configure/make-or-get-asset-key"), {}));
    const QString otherKey = otherAnswer.value(QLatin1String("response")).toObject().value(QLatin1String("assetKey")).toString();
    CHECK(!otherKey.isEmpty());
    CHECK(otherKey != key);
}

TEST_CASE("stats streams Adama's five socket diagnostics, then done")
{
    ReferenceServer server(quietOptions());
    REQUIRE(server.listen() != 0);
    // The items of one stats request, as raw text: Adama writes each item's fields in this order.
    const auto statsOf = [](WsClient& client) {
        const qint64 id = client.request(QStringLiteral("stats"));
        const QJsonObject done = client.waitForAnswer(id);
        CHECK(done == parseObject("{\"deliver\":" + QByteArray::number(id) + ",\"done\":true}"));
        std::vector<QByteArray> items;
        for (const QByteArray& raw : client.rawFrames()) {
            if (raw.startsWith(QByteArray("{\"deliver\":" + QByteArray::number(id) + ",\"done\":false,")))
                items.push_back(raw);
        }
        return items;
    };
    const auto value = [](const QByteArray& item) {
        return parseObject(item).value(QLatin1String("response")).toObject().value(QLatin1String("statValue"));
    };

    const qint64 before = QDateTime::currentMSecsSinceEpoch();
    WsClient plain;
    REQUIRE(plain.open(QUrl(server.url())));
    const qint64 after = QDateTime::currentMSecsSinceEpoch();
    std::vector<QByteArray> items = statsOf(plain);
    REQUIRE(items.size() == 5);
    const QByteArray keys[] = { "created", "cached-identities-count", "origin", "remote-ip", "cookie-identities-count" };
    const QByteArray types[] = { "timestamp", "int", "string", "string", "int" };
    for (std::size_t i = 0; i < 5; ++i) {
        INFO(items[i].toStdString());
        CHECK(items[i].contains(QByteArray("\"response\":{\"statKey\":\"" + keys[i] + "\",\"statValue\":")));
        CHECK(items[i].endsWith(QByteArray(",\"statType\":\"" + types[i] + "\"}}")));
    }
    // Values are strings, numbers included.
    REQUIRE(value(items[0]).isString());
    CHECK(value(items[0]).toString().toLongLong() >= before);
    CHECK(value(items[0]).toString().toLongLong() <= after);
    CHECK(value(items[1]).toString() == QStringLiteral("0"));
    // The peer as Netty prints it (address and port); no Origin header: "https://" + Host.
    const QString remote = value(items[3]).toString();
    CHECK(remote.startsWith(QLatin1String("127.0.0.1:")));
    CHECK(remote.mid(10).toInt() == plain.socket().localPort());
    CHECK(value(items[2]).toString() == QStringLiteral("https://127.0.0.1:%1").arg(server.port()));
    CHECK(value(items[4]).toString() == QStringLiteral("0"));

    // Identities that authenticated are cached, the anonymous never; each counts once.
    const QString jwt = QStringLiteral("eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhbGljZSIsImlzcyI6InRlc3QifQ.c2ln");
    for (const QString& identity : { QStringLiteral("anonymous:a"), jwt, jwt, QStringLiteral("opaque-token") })
        CHECK(failureOf(plain, QStringLiteral("probe"), { { QStringLiteral("identity"), identity } }) == -1);
    CHECK(failureOf(plain, QStringLiteral("probe"), { { QStringLiteral("identity"), QString() } }) == 995342);
    items = statsOf(plain);
    REQUIRE(items.size() == 5);
    CHECK(value(items[1]).toString() == QStringLiteral("2"));

    // Origin, a proxy's X-Forwarded-For and cookie identities come from the upgrade request.
    WsClient proxied;
    QNetworkRequest request(QUrl(server.url()));
    request.setRawHeader("Origin", "https://app.example");
    request.setRawHeader("X-Forwarded-For", "203.0.113.9");
    request.setRawHeader("Cookie", "id_main=anonymous:zed; id_alt=tok; other=1");
    proxied.socket().open(request);
    REQUIRE(waitUntil([&] { return !proxied.frames().empty(); }, 3s));
    items = statsOf(proxied);
    REQUIRE(items.size() == 5);
    CHECK(value(items[2]).toString() == QStringLiteral("https://app.example"));
    CHECK(value(items[3]).toString() == QStringLiteral("203.0.113.9"));
    CHECK(value(items[4]).toString() == QStringLiteral("2"));
}

TEST_CASE("connection/attach is a transaction for a connected viewer: {\"seq\":N}, then an item with that seq")
{
    // Adama runs the attach transaction without asking can-attach again (that gates
    // attachment/start); adama-wire.md 3: {"seq":N}.
    ReferenceServer server(quietOptions());
    REQUIRE(server.listen() != 0);
    WsClient client;
    REQUIRE(client.open(QUrl(server.url())));
    const qint64 create = client.request(QStringLiteral("connection/create"),
        { { QStringLiteral("identity"), QStringLiteral("anonymous:ann") }, { QStringLiteral("space"), QStringLiteral("chat") }, { QStringLiteral("key"), QStringLiteral("attach") } });
    REQUIRE(waitUntil([&] { return client.items(create).size() >= 1; }, 3s));
    const qint64 lastSeq = delta(client.items(create).back()).value(QLatin1String("seq")).toInteger();
    const qint64 attach = client.request(QStringLiteral("connection/attach"),
        { { QStringLiteral("connection"), create }, { QStringLiteral("asset-id"), QStringLiteral("A1") }, { QStringLiteral("filename"), QStringLiteral("f.png") },
            { QStringLiteral("content-type"), QStringLiteral("image/png") }, { QStringLiteral("size"), 10 }, { QStringLiteral("digest-md5"), QStringLiteral("m") },
            { QStringLiteral("digest-sha384"), QStringLiteral("s") } });
    const QJsonObject answer = client.waitForAnswer(attach);
    CHECK(answer == parseObject("{\"deliver\":" + QByteArray::number(attach) + ",\"done\":true,\"response\":{\"seq\":" + QByteArray::number(lastSeq + 1) + "}}"));
    REQUIRE(waitUntil([&] { return delta(client.items(create).back()).value(QLatin1String("seq")).toInteger() == lastSeq + 1; }, 3s));
    CHECK_FALSE(delta(client.items(create).back()).contains(QLatin1String("data"))); // nothing in the view changed
}

TEST_CASE("send-once: dedupe tokens, repeats fail with 143407, tokens expire")
{
    ServerOptions options = quietOptions();
    options.dedupeExpiryMs = 300;
    options.dedupeSweepMs = 0;
    ReferenceServer server(options);
    REQUIRE(server.listen() != 0);
    WsClient client;
    REQUIRE(client.open(QUrl(server.url())));
    const qint64 create = client.request(QStringLiteral("connection/create"),
        { { QStringLiteral("identity"), QStringLiteral("anonymous:ann") }, { QStringLiteral("space"), QStringLiteral("chat") }, { QStringLiteral("key"), QStringLiteral("once") } });
    REQUIRE(waitUntil([&] { return client.items(create).size() >= 2; }, 3s));

    const qint64 dedupeId = client.request(QStringLiteral("documents/create-dedupe"));
    const QJsonObject dedupeAnswer = client.waitForAnswer(dedupeId);
    const QString token = dedupeAnswer.value(QLatin1String("response")).toObject().value(QLatin1String("dedupe")).toString();
    REQUIRE(token.size() == 36);

    const QJsonObject sendOnce { { QStringLiteral("connection"), create }, { QStringLiteral("channel"), QStringLiteral("say") }, { QStringLiteral("dedupe"), token },
        { QStringLiteral("message"), QJsonObject { { QStringLiteral("what"), QStringLiteral("once") } } } };
    CHECK(failureOf(client, QStringLiteral("connection/send-once"), sendOnce) == -1);
    CHECK(failureOf(client, QStringLiteral("connection/send-once"), sendOnce) == 143407);
    QTest::qWait(350);
    CHECK(failureOf(client, QStringLiteral("connection/send-once"), sendOnce) == -1); // expired, so accepted again

    // An empty token is a key like any other; only an absent or null one skips the memory.
    QJsonObject emptyToken = sendOnce;
    emptyToken.insert(QStringLiteral("dedupe"), QString());
    CHECK(failureOf(client, QStringLiteral("connection/send-once"), emptyToken) == -1);
    CHECK(failureOf(client, QStringLiteral("connection/send-once"), emptyToken) == 143407);
    for (const QJsonValue& none : { QJsonValue(QJsonValue::Null), QJsonValue(QJsonValue::Undefined) }) {
        QJsonObject noToken = sendOnce;
        if (none.isNull())
            noToken.insert(QStringLiteral("dedupe"), none);
        else
            noToken.remove(QStringLiteral("dedupe"));
        CHECK(failureOf(client, QStringLiteral("connection/send-once"), noToken) == -1);
        CHECK(failureOf(client, QStringLiteral("connection/send-once"), noToken) == -1);
    }
}

TEST_CASE("paths, side calls and the frame size limit")
{
    ServerOptions options = quietOptions();
    options.maxFrameBytes = 64 * 1024;
    ReferenceServer server(options);
    REQUIRE(server.listen() != 0);

    WsClient sub;
    REQUIRE(sub.open(QUrl(QStringLiteral("ws://127.0.0.1:%1/~s/anything").arg(server.port()))));

    WsClient wrong;
    CHECK(!wrong.open(QUrl(QStringLiteral("ws://127.0.0.1:%1/other").arg(server.port())), 2s));
    CHECK(httpExchange(server.port(), "GET /other HTTP/1.1\r\nHost: x\r\n\r\n").startsWith("HTTP/1.1 404"));
    CHECK(httpExchange(server.port(), "PUT /~bm/r HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n").startsWith("HTTP/1.1 200"));
    // The asset key's cookie call, with CORS for the page that makes it.
    const QByteArray assetCookie = httpExchange(server.port(), "GET /~pAbc-12_x HTTP/1.1\r\nHost: x\r\nOrigin: https://app.example\r\n\r\n");
    INFO(assetCookie.toStdString());
    CHECK(assetCookie.startsWith("HTTP/1.1 200"));
    CHECK(assetCookie.contains("\r\nSet-Cookie: SAK=Abc-12_x; Max-Age=604800; Secure; HttpOnly; SameSite=None\r\n"));
    CHECK(assetCookie.contains("\r\nAccess-Control-Allow-Origin: https://app.example\r\nAccess-Control-Allow-Credentials: true\r\n"));
    CHECK(assetCookie.endsWith("\r\n\r\nOK"));
    const QByteArray noOrigin = httpExchange(server.port(), "GET /~pkey HTTP/1.1\r\nHost: x\r\n\r\n");
    CHECK(noOrigin.startsWith("HTTP/1.1 200"));
    CHECK(!noOrigin.contains("Access-Control"));
    // An origin that could break the header (a bare CR) is not echoed.
    const QByteArray crOrigin = httpExchange(server.port(), "GET /~pkey HTTP/1.1\r\nHost: x\r\nOrigin: https://a\rSet-Cookie: x=1\r\n\r\n");
    CHECK(crOrigin.startsWith("HTTP/1.1 200"));
    CHECK(!crOrigin.contains("Access-Control"));
    CHECK(!crOrigin.contains("x=1"));
    CHECK(httpExchange(server.port(), "GET /~pa;b=c HTTP/1.1\r\nHost: x\r\n\r\n").startsWith("HTTP/1.1 400"));
    CHECK(httpExchange(server.port(), "GET /~p HTTP/1.1\r\nHost: x\r\n\r\n").startsWith("HTTP/1.1 400"));

    WsClient big;
    REQUIRE(big.open(QUrl(server.url())));
    big.sendText(QString(70 * 1024, QLatin1Char('x')));
    REQUIRE(big.waitClosed(3s));
    CHECK(big.closeCode() == QWebSocketProtocol::CloseCodeTooMuchData);
}

TEST_CASE("a frame over the 4 MiB limit ends in close code 1009 and a clean close, not a reset, while its rest is still arriving")
{
    // Closed with the frame's rest unread, the socket was reset: the client's writes failed, and a
    // client that had not read the close frame yet lost it. A raw client shows it (QWebSocket
    // reads the close frame at once): its 6 MiB frame must all be taken, then the socket closes.
    ReferenceServer server(quietOptions());
    REQUIRE(server.listen() != 0);
    for (int attempt = 0; attempt < 3; ++attempt) {
        INFO("attempt " << attempt);
        QTcpSocket raw;
        raw.connectToHost(QHostAddress::LocalHost, server.port());
        REQUIRE(raw.waitForConnected(3000));
        raw.write("GET /~s HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                  "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n");
        QByteArray received;
        REQUIRE(waitUntil([&] { return (received += raw.readAll()).contains("\r\n\r\n"); }, 3s));
        received = received.mid(received.indexOf("\r\n\r\n") + 4);
        constexpr qint64 kFrameBytes = 6 << 20;
        QByteArray header("\x81\x7f", 2); // a final text frame, masked, with a 64-bit length
        for (int shift = 56; shift >= 0; shift -= 8)
            header.append(char((kFrameBytes >> shift) & 0xff));
        header.append(4, '\0'); // mask key 0: the payload goes as it is
        raw.write(header);
        raw.write(QByteArray(kFrameBytes, 'x'));
        bool failed = false;
        QObject::connect(&raw, &QAbstractSocket::errorOccurred, [&](QAbstractSocket::SocketError error) {
            failed = failed || error != QAbstractSocket::RemoteHostClosedError;
        });
        REQUIRE(waitUntil(
            [&] {
                received += raw.readAll();
                return raw.state() == QAbstractSocket::UnconnectedState;
            },
            10s));
        received += raw.readAll();
        INFO(raw.errorString().toStdString());
        CHECK_FALSE(failed);
        CHECK(raw.bytesToWrite() == 0);
        // The close frame: opcode 8, unmasked, code 1009 first in its payload.
        const qsizetype close = received.indexOf("\x88");
        REQUIRE(close >= 0);
        REQUIRE(received.size() >= close + 4);
        CHECK((quint8(received[close + 2]) << 8 | quint8(received[close + 3])) == 1009);
    }
}

TEST_CASE("idle sockets close after the read timeout and pings do not count as input")
{
    ServerOptions options = quietOptions();
    options.idleTimeoutMs = 400;
    ReferenceServer server(options);
    REQUIRE(server.listen() != 0);
    WsClient silent;
    WsClient chatty;
    REQUIRE(silent.open(QUrl(server.url())));
    REQUIRE(chatty.open(QUrl(server.url())));
    QElapsedTimer clock;
    clock.start();
    // chatty answers every ping, so it stays; silent says nothing and is closed.
    QObject::connect(&chatty.socket(), &QWebSocket::textMessageReceived, &chatty, [&chatty](const QString& text) {
        QJsonObject frame = parseObject(text.toUtf8());
        if (frame.contains(QLatin1String("ping"))) {
            frame.insert(QStringLiteral("pong"), true);
            chatty.sendJson(frame);
        }
    });
    REQUIRE(silent.waitClosed(3s));
    CHECK(clock.elapsed() >= 350);
    CHECK(!chatty.isClosed());
}

TEST_CASE("the read timeout counts inbound bytes: WebSocket ping frames keep a socket open")
{
    // Netty's ReadTimeoutHandler resets on any inbound read, control frames included.
    ServerOptions options = quietOptions();
    options.idleTimeoutMs = 400;
    ReferenceServer server(options);
    REQUIRE(server.listen() != 0);
    WsClient pinging;
    WsClient silent;
    REQUIRE(pinging.open(QUrl(server.url())));
    REQUIRE(silent.open(QUrl(server.url())));
    int pongs = 0;
    QObject::connect(&pinging.socket(), &QWebSocket::pong, &pinging, [&pongs] { ++pongs; });
    QTimer pinger;
    QObject::connect(&pinger, &QTimer::timeout, &pinging, [&pinging] { pinging.socket().ping(); });
    pinger.start(100);
    REQUIRE(silent.waitClosed(3s));
    // Three read timeouts later the pinging socket is still there, answered by the server's pongs.
    REQUIRE_FALSE(waitUntil([&] { return pinging.isClosed(); }, 1200ms));
    CHECK(pongs > 5);
    CHECK(server.socketCount() == 1);
}

TEST_CASE("socket loss ends every stream of the socket")
{
    ReferenceServer server(quietOptions());
    REQUIRE(server.listen() != 0);
    WsClient a;
    WsClient b;
    REQUIRE(a.open(QUrl(server.url())));
    REQUIRE(b.open(QUrl(server.url())));
    const QJsonObject chat { { QStringLiteral("identity"), QStringLiteral("anonymous:a") }, { QStringLiteral("space"), QStringLiteral("chat") }, { QStringLiteral("key"), QStringLiteral("loss") } };
    a.request(QStringLiteral("connection/create"), chat);
    QJsonObject game = chat;
    game.insert(QStringLiteral("space"), QStringLiteral("game"));
    a.request(QStringLiteral("connection/create"), game);
    QJsonObject watcher = chat;
    watcher.insert(QStringLiteral("identity"), QStringLiteral("anonymous:b"));
    const qint64 bStream = b.request(QStringLiteral("connection/create"), watcher);
    REQUIRE(waitUntil([&] { return server.streamCount() == 3; }, 3s));
    REQUIRE(waitUntil([&] { return b.items(bStream).size() >= 2; }, 3s));
    const std::size_t before = b.items(bStream).size();
    a.abort();
    REQUIRE(waitUntil([&] { return server.streamCount() == 1 && server.socketCount() == 1; }, 3s));
    // b sees a's disconnect transaction: a leaves `online`.
    REQUIRE(waitUntil([&] { return b.items(bStream).size() > before; }, 3s));
    const QJsonObject last = delta(b.items(bStream).back());
    CHECK(last.value(QLatin1String("data")).toObject().contains(QLatin1String("online")));
}

TEST_CASE("identities: anonymous names, cookies and opaque tokens")
{
    ReferenceServer server(quietOptions());
    REQUIRE(server.listen() != 0);
    WsClient client;
    QNetworkRequest request(QUrl(server.url()));
    request.setRawHeader("Cookie", "id_main=anonymous:zed; other=1");
    client.socket().open(request);
    REQUIRE(waitUntil([&] { return !client.frames().empty(); }, 3s));
    CHECK(client.frames().front().value(QLatin1String("identities")).toObject() == QJsonObject { { QStringLiteral("main"), true } });
    const QJsonObject base { { QStringLiteral("space"), QStringLiteral("chat") }, { QStringLiteral("key"), QStringLiteral("ids") } };
    QJsonObject viaCookie = base;
    viaCookie.insert(QStringLiteral("identity"), QStringLiteral("cookie:main"));
    client.request(QStringLiteral("connection/create"), viaCookie);
    QJsonObject viaToken = base;
    viaToken.insert(QStringLiteral("identity"), QStringLiteral("secret-token-value"));
    client.request(QStringLiteral("connection/create"), viaToken);
    REQUIRE(waitUntil([&] { return server.streamCount() == 2; }, 3s));
    CHECK(server.currentView(QStringLiteral("chat"), QStringLiteral("ids"), QStringLiteral("zed")).has_value());
    const DemoDocument* document = server.document(QStringLiteral("chat"), QStringLiteral("ids"));
    QStringList agents;
    for (const auto& viewer : document->viewers())
        agents.append(viewer->principal.agent);
    CHECK(agents.contains(QStringLiteral("zed")));
    CHECK(std::any_of(agents.begin(), agents.end(), [](const QString& a) { return a.startsWith(QLatin1String("token-")); }));
    CHECK(!agents.contains(QStringLiteral("secret-token-value"))); // secrets never name a principal
    QJsonObject missingCookie = base;
    missingCookie.insert(QStringLiteral("identity"), QStringLiteral("cookie:absent"));
    CHECK(failureOf(client, QStringLiteral("connection/create"), missingCookie) == 995342);
}

TEST_CASE("game: asks, blockers only on change, owner-only hands, rejection when full")
{
    ServerOptions options = quietOptions();
    options.turnTimeoutMs = 3600 * 1000;
    ReferenceServer server(options);
    REQUIRE(server.listen() != 0);
    WsClient alice;
    WsClient bob;
    REQUIRE(alice.open(QUrl(server.url())));
    REQUIRE(bob.open(QUrl(server.url())));
    const QJsonObject game { { QStringLiteral("space"), QStringLiteral("game") }, { QStringLiteral("key"), QStringLiteral("t1") } };
    QJsonObject a = game;
    a.insert(QStringLiteral("identity"), QStringLiteral("anonymous:alice"));
    const qint64 aStream = alice.request(QStringLiteral("connection/create"), a);
    QJsonObject b = game;
    b.insert(QStringLiteral("identity"), QStringLiteral("anonymous:bob"));
    const qint64 bStream = bob.request(QStringLiteral("connection/create"), b);
    REQUIRE(waitUntil([&] { return server.streamCount() == 2 && !bob.items(bStream).empty(); }, 3s));

    // Owner-only field: alice's record carries her hand in her view only.
    const DocumentTree aliceView = *server.currentView(QStringLiteral("game"), QStringLiteral("t1"), QStringLiteral("alice"));
    const DocumentTree bobView = *server.currentView(QStringLiteral("game"), QStringLiteral("t1"), QStringLiteral("bob"));
    CHECK(aliceView.find(u"players/3/hand") != kNoNode);
    CHECK(bobView.find(u"players/3/hand") == kNoNode);
    CHECK(bobView.find(u"players/4/hand") != kNoNode);

    // Play rounds until alice is seated and to move: the ask reaches her views only, blockers everyone.
    DemoDocument* document = server.document(QStringLiteral("game"), QStringLiteral("t1"));
    QJsonObject ask;
    for (int i = 0; i < 400 && ask.isEmpty(); ++i) {
        document->step(1);
        QCoreApplication::processEvents();
        for (const QJsonObject& item : alice.items(aStream)) {
            const QJsonArray outstanding = delta(item).value(QLatin1String("outstanding")).toArray();
            if (!outstanding.isEmpty())
                ask = outstanding.first().toObject();
        }
    }
    REQUIRE(!ask.isEmpty());
    CHECK(ask.value(QLatin1String("channel")).toString() == QLatin1String("play"));
    CHECK(ask.value(QLatin1String("array")).toBool() == false);
    CHECK(ask.value(QLatin1String("min")).toInt() == 1);
    CHECK(ask.value(QLatin1String("max")).toInt() == 1);
    CHECK(ask.value(QLatin1String("distinct")).toBool());
    REQUIRE(waitUntil([&] {
        for (const QJsonObject& item : bob.items(bStream)) {
            const QJsonArray blockers = delta(item).value(QLatin1String("blockers")).toArray();
            if (!blockers.isEmpty() && blockers.first().toObject().value(QLatin1String("agent")).toString() == QLatin1String("alice"))
                return true;
        }
        return false;
    }, 3s));
    // Nothing changed for alice's ask on a further step: no outstanding/blockers in that item.
    const std::size_t before = alice.items(aStream).size();
    document->step(1);
    REQUIRE(waitUntil([&] { return alice.items(aStream).size() > before; }, 3s));
    const QJsonObject quiet = delta(alice.items(aStream).back());
    CHECK(quiet.contains(QLatin1String("seq")));
    CHECK(!quiet.contains(QLatin1String("outstanding")));
    CHECK(!quiet.contains(QLatin1String("blockers")));
    // A viewer-state change while the document waits on an ask is a transaction (it has a seq).
    const std::size_t beforeUpdate = alice.items(aStream).size();
    alice.request(QStringLiteral("connection/update"), { { QStringLiteral("connection"), aStream }, { QStringLiteral("viewer-state"), QJsonObject { { QStringLiteral("x"), 1 } } } });
    REQUIRE(waitUntil([&] { return alice.items(aStream).size() > beforeUpdate; }, 3s));
    CHECK(delta(alice.items(aStream).back()).contains(QLatin1String("seq")));

    // Answering clears the ask: outstanding [] and blockers [] arrive together.
    const int cell = ask.value(QLatin1String("options")).toArray().first().toObject().value(QLatin1String("id")).toInt();
    const qint64 play = alice.request(QStringLiteral("connection/send"), { { QStringLiteral("connection"), aStream }, { QStringLiteral("channel"), QStringLiteral("play") },
        { QStringLiteral("message"), QJsonObject { { QStringLiteral("id"), cell } } } });
    const qint64 seq = alice.waitForAnswer(play).value(QLatin1String("response")).toObject().value(QLatin1String("seq")).toInteger();
    REQUIRE(seq > 0);
    const QJsonObject answered = alice.waitFor([&](const QJsonObject& f) {
        return f.value(QLatin1String("deliver")).toInteger() == aStream && delta(f).value(QLatin1String("seq")).toInteger() == seq;
    });
    REQUIRE(!answered.isEmpty());
    CHECK(delta(answered).value(QLatin1String("outstanding")).toArray().isEmpty());
    CHECK(delta(answered).contains(QLatin1String("outstanding")));
    CHECK(delta(answered).contains(QLatin1String("blockers")));

    // The table seats at most six principals: two bots and four people.
    std::vector<std::unique_ptr<WsClient>> extra;
    qint64 lastFailure = -1;
    for (int i = 0; i < 3; ++i) {
        extra.push_back(std::make_unique<WsClient>());
        REQUIRE(extra.back()->open(QUrl(server.url())));
        QJsonObject params = game;
        params.insert(QStringLiteral("identity"), QStringLiteral("anonymous:p%1").arg(i));
        lastFailure = failureOf(*extra.back(), QStringLiteral("connection/create"), params);
        if (i < 2) {
            CHECK(lastFailure == -1);
        }
    }
    CHECK(lastFailure == 184333);
}

// adama-wire.md section 5, connect sequence: the connect transaction (@connected) runs first, then
// the view is created and an invalidate transaction runs, whose broadcast is the new stream's first
// item. Both are transactions: each bumps seq and is broadcast to every view. A further view of a
// principal already connected has no connect transaction (Adama refuses it as already connected
// before it bumps seq), only the invalidate.
TEST_CASE("connect: a connect transaction, then an invalidate transaction that is the first item")
{
    ReferenceServer server(quietOptions());
    REQUIRE(server.listen() != 0);
    const auto seqOf = [](const QJsonObject& item) { return delta(item).value(QLatin1String("seq")).toInteger(-1); };
    const auto createOn = [](WsClient& client, const QString& agent) {
        return client.request(QStringLiteral("connection/create"),
            { { QStringLiteral("identity"), QString(QStringLiteral("anonymous:") + agent) }, { QStringLiteral("space"), QStringLiteral("ticker") },
                { QStringLiteral("key"), QStringLiteral("connect-seq") } });
    };

    WsClient alice;
    REQUIRE(alice.open(QUrl(server.url())));
    const qint64 aStream = createOn(alice, QStringLiteral("alice"));
    REQUIRE(waitUntil([&] { return !alice.items(aStream).empty(); }, 5s));
    DemoDocument* document = server.document(QStringLiteral("ticker"), QStringLiteral("connect-seq"));
    REQUIRE(document);
    const qint64 before = document->seq();
    CHECK(seqOf(alice.items(aStream).back()) == before);

    WsClient bob;
    REQUIRE(bob.open(QUrl(server.url())));
    const qint64 bStream = createOn(bob, QStringLiteral("bob"));
    REQUIRE(waitUntil([&] { return !bob.items(bStream).empty() && alice.items(aStream).size() >= 3; }, 5s));
    CHECK(document->seq() == before + 2);
    const std::vector<QJsonObject> bobItems = bob.items(bStream);
    REQUIRE(bobItems.size() == 1);
    CHECK(seqOf(bobItems.front()) == before + 2); // the invalidate's broadcast
    CHECK(delta(bobItems.front()).contains(QLatin1String("data")));
    const std::vector<QJsonObject> aliceItems = alice.items(aStream);
    REQUIRE(aliceItems.size() == 3);
    CHECK(seqOf(aliceItems[1]) == before + 1); // bob's connect
    CHECK(seqOf(aliceItems[2]) == before + 2); // the invalidate

    // Alice again, on bob's socket: already connected, so only the invalidate runs.
    const qint64 second = createOn(bob, QStringLiteral("alice"));
    REQUIRE(waitUntil([&] { return !bob.items(second).empty() && alice.items(aStream).size() >= 4; }, 5s));
    CHECK(document->seq() == before + 3);
    CHECK(seqOf(bob.items(second).front()) == before + 3);
    CHECK(seqOf(alice.items(aStream)[3]) == before + 3);
    // A fence: the answer to a later request comes after every item written before it.
    const qint64 probe = alice.request(QStringLiteral("probe"), { { QStringLiteral("identity"), QStringLiteral("anonymous:alice") } });
    REQUIRE(!alice.waitForAnswer(probe).isEmpty());
    CHECK(alice.items(aStream).size() == 4);
}

TEST_CASE("every code the reference server answers with has a name in the client's table")
{
    // Read from the header, so a code added to the server without a name fails here.
    QFile header(test::sourceDir() + QStringLiteral("/core/server/serverwire.h"));
    REQUIRE(header.open(QIODevice::ReadOnly));
    const QString text = QString::fromUtf8(header.readAll());
    const QRegularExpression constant(QStringLiteral(R"(inline constexpr int (\w+) = (\d+);)"));
    int codes = 0;
    for (auto match = constant.globalMatch(text); match.hasNext();) {
        const QRegularExpressionMatch found = match.next();
        INFO(found.captured(1).toStdString());
        CHECK_FALSE(errorCodeInfo(found.captured(2).toInt()).name.isEmpty());
        ++codes;
    }
    CHECK(codes > 30);
}

TEST_CASE("request parameters: numbers are read as Jackson reads them, numeric strings as Long.parseLong")
{
    const QByteArray frame
        = R"({"id":1,"method":"x","a":1.0,"b":1e20,"c":2.5,"d":0.001,"e":1234567.0,"f":12345678901234567890,"g":7,"h":-0.0,"i":1.5e-5,"j":1E2,"k":12345678.5})";
    QJsonObject request = QJsonDocument::fromJson(frame).object();
    server::readNumbersAsJackson(request, frame);
    const auto text = [&](const char* name) { return server::stringParam(request, QLatin1String(name)).value_or(QStringLiteral("<none>")); };
    // JsonRequest.getString: numberValue().toString(), Double.toString for a double.
    CHECK(text("a") == QStringLiteral("1.0"));
    CHECK(text("b") == QStringLiteral("1.0E20"));
    CHECK(text("c") == QStringLiteral("2.5"));
    CHECK(text("d") == QStringLiteral("0.001"));
    CHECK(text("e") == QStringLiteral("1234567.0"));
    CHECK(text("f") == QStringLiteral("12345678901234567890")); // a BigInteger, every digit
    CHECK(text("g") == QStringLiteral("7"));
    CHECK(text("h") == QStringLiteral("-0.0"));
    CHECK(text("i") == QStringLiteral("1.5E-5"));
    CHECK(text("j") == QStringLiteral("100.0"));
    CHECK(text("k") == QStringLiteral("1.23456785E7"));
    // A repeated key: its last value is the one, as written.
    const QByteArray repeated = R"({"id":1,"a":1.5,"a":2,"b":3,"b":4.0})";
    QJsonObject twice = QJsonDocument::fromJson(repeated).object();
    server::readNumbersAsJackson(twice, repeated);
    CHECK(server::integerParam(twice, QLatin1String("a")) == 2);
    CHECK(server::stringParam(twice, QLatin1String("b")) == QStringLiteral("4.0"));
    // JsonRequest.getLong: integral numbers within 64 bits, or strings Long.parseLong reads.
    const auto integer = [&](const char* name) { return server::integerParam(request, QLatin1String(name)); };
    CHECK(integer("g") == 7);
    CHECK_FALSE(integer("a"));
    CHECK_FALSE(integer("j"));
    CHECK_FALSE(integer("f"));
    const auto fromString = [](const char* text) {
        return server::integerParam(QJsonObject { { QStringLiteral("n"), QString::fromLatin1(text) } }, QLatin1String("n"));
    };
    CHECK(fromString("+6") == 6);
    CHECK(fromString("-9223372036854775808") == std::numeric_limits<qint64>::min());
    CHECK(fromString("9223372036854775807") == std::numeric_limits<qint64>::max());
    CHECK_FALSE(fromString("9223372036854775808"));
    CHECK_FALSE(fromString(" 6"));
    CHECK_FALSE(fromString("6 "));
    CHECK_FALSE(fromString("1.0"));
    CHECK_FALSE(fromString("-"));

    // Over the socket: connection 1.0 is no connection (405505), and key 1.0 names document "1.0".
    server::ReferenceServer server(quietOptions());
    REQUIRE(server.listen() != 0);
    WsClient client;
    REQUIRE(client.open(QUrl(server.url())));
    client.sendText(QStringLiteral(R"({"id":5,"method":"connection/send","connection":1.0,"channel":"say","message":{}})"));
    const QJsonObject answer = client.waitFor([](const QJsonObject& f) { return f.value(QLatin1String("failure")).toInteger(-1) == 5; });
    CHECK(failureReason(answer) == 405505);
    client.sendText(QStringLiteral(R"({"id":6,"method":"connection/create","identity":"anonymous:n","space":"chat","key":1.0})"));
    REQUIRE(!client.waitFor([](const QJsonObject& f) { return f.value(QLatin1String("deliver")).toInteger() == 6; }).isEmpty());
    CHECK(server.document(QStringLiteral("chat"), QStringLiteral("1.0")) != nullptr);
    CHECK(server.document(QStringLiteral("chat"), QStringLiteral("1")) == nullptr);
}
