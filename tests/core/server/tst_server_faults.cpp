#include "core/server/controlendpoint.h"
#include "core/server/demodocument.h"
#include "core/server/referenceserver.h"
#include "core/faults/websocketframe.h"
#include "tests/support/testutils.h"
#include "wsclient.h"

#include <catch2/catch.hpp>

#include <QElapsedTimer>
#include <QJsonArray>
#include <QJsonDocument>
#include <QTcpSocket>
#include <QTest>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

using namespace deltascope;
using namespace deltascope::server;
using namespace deltascope::test;
using namespace std::chrono_literals;

namespace {

QJsonObject delta(const QJsonObject& item)
{
    return item.value(QLatin1String("response")).toObject().value(QLatin1String("delta")).toObject();
}

// A server with one client streaming chat/KEY as alice; bots paused so only the test changes it.
struct Fixture {
    ReferenceServer server;
    WsClient client;
    qint64 stream = 0;
    DemoDocument* document = nullptr;

    explicit Fixture(const QString& key, ServerOptions options = {})
        : server([&] {
            options.botsPaused = true;
            options.pingIntervalMs = 50;
            return options;
        }())
    {
        REQUIRE(server.listen() != 0);
        REQUIRE(client.open(QUrl(server.url())));
        stream = client.request(QStringLiteral("connection/create"),
            { { QStringLiteral("identity"), QStringLiteral("anonymous:alice") }, { QStringLiteral("space"), QStringLiteral("chat") },
                { QStringLiteral("key"), key } });
        REQUIRE(waitUntil([&] { return client.items(stream).size() >= 2; }, 3s));
        document = server.document(QStringLiteral("chat"), key);
        REQUIRE(document);
    }

    std::size_t itemCount() const { return client.items(stream).size(); }
    void stepAndWait(int steps, std::size_t expectedItems)
    {
        document->step(steps);
        REQUIRE(waitUntil([&] { return itemCount() >= expectedItems; }, 3s));
    }
};

QByteArray http(quint16 port, const QByteArray& method, const QByteArray& path, const QByteArray& body = {})
{
    QTcpSocket socket;
    socket.connectToHost(QHostAddress::LocalHost, port);
    if (!socket.waitForConnected(3000))
        return {};
    socket.write(method + ' ' + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: " + QByteArray::number(body.size())
        + "\r\n\r\n" + body);
    QByteArray response;
    waitUntil(
        [&] {
            response += socket.readAll();
            return socket.state() == QAbstractSocket::UnconnectedState;
        },
        3s);
    return response + socket.readAll();
}

// A server of the test's own, bots paused (only the test changes documents), listening.
struct OwnServer {
    ReferenceServer server;
    quint16 port = 0;
    explicit OwnServer(int pingIntervalMs = 0)
        : server([&] {
            ServerOptions options;
            options.botsPaused = true;
            if (pingIntervalMs > 0)
                options.pingIntervalMs = pingIntervalMs;
            return options;
        }())
    {
        port = server.listen();
        REQUIRE(port != 0);
    }
};

// A WebSocket peer on a bare QTcpSocket: every byte and frame the server sends, and its FIN, are
// seen as they come (QWebSocket would answer pings and close frames by itself).
struct RawWsPeer {
    QTcpSocket socket;
    QByteArray head; // the server's HTTP answer
    faults::WsFrameParser parser;
    std::vector<faults::WsFrame> frames;

    // Connects (from `from`, when given, as port 0 does not fix the source) and sends the upgrade.
    bool open(quint16 port, const QHostAddress& from = {}, quint16 fromPort = 0)
    {
        if (!from.isNull() && !socket.bind(from, fromPort))
            return false;
        socket.connectToHost(QHostAddress::LocalHost, port);
        if (!socket.waitForConnected(3000))
            return false;
        socket.write("GET /~s HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                     "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n");
        return socket.flush() || socket.bytesToWrite() == 0;
    }
    // Reads what arrived into `head` and `frames`.
    void pump()
    {
        QByteArray bytes = socket.readAll();
        if (!head.endsWith("\r\n\r\n")) {
            head += bytes;
            const qsizetype end = head.indexOf("\r\n\r\n");
            if (end < 0)
                return;
            bytes = head.sliced(end + 4);
            head.truncate(end + 4);
        }
        parser.feed(bytes);
        faults::WsFrame frame;
        while (parser.next(frame) == faults::WsFrameParser::Status::Frame)
            frames.push_back(frame);
    }
    void send(faults::WsOpcode opcode, const QByteArray& payload)
    {
        socket.write(faults::encodeFrame(quint8(opcode), payload, true, true, 0x1234abcd));
        socket.flush();
    }
    bool sawText(const char* needle) const
    {
        return std::any_of(frames.begin(), frames.end(),
            [&](const faults::WsFrame& f) { return f.opcode == quint8(faults::WsOpcode::Text) && f.payload.contains(needle); });
    }
};

QJsonObject httpJson(const QByteArray& response)
{
    return QJsonDocument::fromJson(response.mid(response.indexOf("\r\n\r\n") + 4)).object();
}

}

TEST_CASE("a reader that stops reading is dropped once its unread backlog passes the limit, one that reads is not")
{
    ServerOptions options;
    options.botsPaused = true;
    options.maxSendBacklogBytes = 256 * 1024;
    QStringList log; // before the server: it logs the disconnects as it goes
    ReferenceServer server(options);
    const quint16 port = server.listen();
    REQUIRE(port != 0);
    QObject::connect(&server, &ReferenceServer::logLine, &server, [&](const QString& line) { log << line; });
    const QString key = QStringLiteral("backlog");

    WsClient reader;
    REQUIRE(reader.open(QUrl(server.url())));
    const qint64 readerStream = reader.request(QStringLiteral("connection/create"),
        { { QStringLiteral("identity"), QStringLiteral("anonymous:alice") }, { QStringLiteral("space"), QStringLiteral("chat") },
            { QStringLiteral("key"), key } });
    REQUIRE(waitUntil([&] { return reader.items(readerStream).size() >= 2; }, 3s));

    // A reader that keeps up is not dropped for what one busy pass writes: more than the limit is
    // written before the batch's flush, and what the kernel takes goes out first.
    {
        DemoDocument* busy = server.document(QStringLiteral("chat"), key);
        REQUIRE(busy);
        const std::size_t before = reader.items(readerStream).size();
        busy->step(3000); // about 600 KB in one pass
        REQUIRE(waitUntil([&] { return reader.items(readerStream).size() >= before + 3000; }, 10s));
        CHECK(server.socketCount() == 1);
        CHECK(log.filter(QLatin1String("slow reader")).isEmpty());
    }

    // A peer that stops reading after its first item: Qt takes 4 KiB from the kernel, no more.
    RawWsPeer stuck;
    stuck.socket.setSocketOption(QAbstractSocket::ReceiveBufferSizeSocketOption, 4096);
    stuck.socket.setReadBufferSize(4096);
    REQUIRE(stuck.open(port));
    REQUIRE(waitUntil([&] { stuck.pump(); return !stuck.frames.empty(); }, 3s));
    stuck.send(faults::WsOpcode::Text,
        QByteArray(R"({"method":"connection/create","id":1,"identity":"anonymous:bob","space":"chat","key":")") + key.toUtf8() + R"("})");
    REQUIRE(waitUntil([&] { stuck.pump(); return stuck.sawText("\"seq\""); }, 3s));
    REQUIRE(server.socketCount() == 2);

    DemoDocument* document = server.document(QStringLiteral("chat"), key);
    REQUIRE(document);
    const std::size_t readerItemsBefore = reader.items(readerStream).size();
    // Lines for both until the stuck one is dropped: the kernel's buffers fill first, then the server's.
    int steps = 0;
    const bool dropped = waitUntil(
        [&] {
            document->step(20);
            steps += 20;
            return server.socketCount() == 1;
        },
        20s);
    INFO("steps: " << steps << ", log: " << log.join(QLatin1Char('\n')).toStdString());
    REQUIRE(dropped);
    const QString* slow = nullptr;
    for (const QString& line : std::as_const(log)) {
        if (line.startsWith(QLatin1String("slow reader ")))
            slow = &line;
    }
    REQUIRE(slow);
    CHECK(slow->contains(QLatin1String("waiting, the peer not reading, over the limit of 262144; dropping the socket")));
    // The one that reads stays, and gets every line.
    CHECK_FALSE(reader.isClosed());
    document->step(1);
    CHECK(waitUntil([&] { return reader.items(readerStream).size() >= readerItemsBefore + std::size_t(steps) + 1; }, 5s));
}

TEST_CASE("fault: a stall that holds more than the backlog limit drops the socket")
{
    ServerOptions options;
    options.maxSendBacklogBytes = 8 * 1024;
    QStringList log; // before the server: it logs the disconnects as it goes
    Fixture f(QStringLiteral("stallbacklog"), options);
    QObject::connect(&f.server, &ReferenceServer::logLine, &f.server, [&](const QString& line) { log << line; });
    REQUIRE(f.server.stall(10000) == 1);
    f.document->step(2); // well under the limit: held
    QTest::qWait(100);
    CHECK(f.server.socketCount() == 1);
    for (int i = 0; i < 400 && f.server.socketCount() == 1; ++i) {
        f.document->step(1);
        QCoreApplication::processEvents();
    }
    CHECK(waitUntil([&] { return f.server.socketCount() == 0; }, 3s));
    CHECK(f.client.waitClosed(3s));
    CHECK(log.filter(QLatin1String("slow reader ")).join(QString()).contains(QLatin1String("held by a stall, over the limit of 8192")));
}

TEST_CASE("fault: clean close sends a close frame, abrupt close does not")
{
    Fixture clean(QStringLiteral("close1"));
    CHECK(clean.server.closeSockets(ServerConnection::CloseKind::CloseFrame) == 1);
    REQUIRE(clean.client.waitClosed(3s));
    CHECK(clean.client.closedWithFrame());
    CHECK(clean.client.closeCode() == QWebSocketProtocol::CloseCodeNormal);
    CHECK(clean.server.streamCount() == 0);

    Fixture abrupt(QStringLiteral("close2"));
    CHECK(abrupt.server.applyFault(QStringLiteral("close"), { { QStringLiteral("mode"), QStringLiteral("abrupt") } }).affected == 1);
    REQUIRE(abrupt.client.waitClosed(3s));
    CHECK(!abrupt.client.closedWithFrame());
    CHECK(abrupt.server.streamCount() == 0);
}

TEST_CASE("fault: stall stops writes and pings but keeps the socket open, then resumes")
{
    Fixture f(QStringLiteral("stall"));
    REQUIRE(!f.client.waitFor([](const QJsonObject& x) { return x.contains(QLatin1String("ping")); }, 2s).isEmpty());
    f.server.stall(600);
    const std::size_t framesAtStall = f.client.frames().size();
    const std::size_t items = f.itemCount();
    f.document->step(1); // written while stalled: queued
    QTest::qWait(400);
    CHECK(f.client.frames().size() == framesAtStall); // nothing at all: no pings, no items
    CHECK(!f.client.isClosed());
    REQUIRE(waitUntil([&] { return f.itemCount() > items; }, 3s)); // the queued item arrives after the stall
    REQUIRE(!f.client.waitFor([](const QJsonObject& x) { return x.contains(QLatin1String("ping")); }, 2s, framesAtStall).isEmpty());
}

TEST_CASE("fault: a stalled socket reads nothing: a client's ping and close wait unanswered until the stall ends")
{
    OwnServer own(50);
    ReferenceServer& server = own.server;
    const quint16 port = own.port;
    RawWsPeer peer;
    REQUIRE(peer.open(port));
    // The hello, then a first server ping: the socket is live and the heartbeat runs.
    REQUIRE(waitUntil([&] { peer.pump(); return peer.frames.size() >= 2; }, 3s));
    REQUIRE(peer.head.startsWith("HTTP/1.1 101"));

    REQUIRE(server.stall(2000) == 1);
    QTest::qWait(100); // a ping written just before the stall is read before counting
    peer.pump();
    const std::size_t framesAtStall = peer.frames.size();
    peer.send(faults::WsOpcode::Ping, "are you there");
    peer.send(faults::WsOpcode::Close, QByteArray("\x03\xe8", 2));
    QTest::qWait(600);
    peer.pump();
    CHECK(peer.frames.size() == framesAtStall); // no pong, no close reply, no ping
    CHECK(peer.socket.state() == QAbstractSocket::ConnectedState); // and no FIN

    // After the stall the server reads them: the pong and the close reply come, then it hangs up.
    REQUIRE(waitUntil([&] { peer.pump(); return peer.socket.state() == QAbstractSocket::UnconnectedState; }, 5s));
    peer.pump();
    std::vector<quint8> opcodes;
    for (std::size_t i = framesAtStall; i < peer.frames.size(); ++i)
        opcodes.push_back(peer.frames[i].opcode);
    const auto pong = std::find(opcodes.begin(), opcodes.end(), quint8(faults::WsOpcode::Pong));
    REQUIRE(pong != opcodes.end());
    CHECK(peer.frames[framesAtStall + std::size_t(pong - opcodes.begin())].payload == "are you there");
    const auto close = std::find(opcodes.begin(), opcodes.end(), quint8(faults::WsOpcode::Close));
    REQUIRE(close != opcodes.end());
    CHECK(pong < close);
    CHECK(waitUntil([&] { return server.socketCount() == 0; }, 3s));
}

TEST_CASE("faults reach the socket of the right client when two hosts use the same source port")
{
    OwnServer own;
    ReferenceServer& server = own.server;
    const quint16 port = own.port;
    // 127.0.0.1 and 127.0.0.2 are both loopback on Linux: two "hosts", one source port, both
    // upgrading at the same time.
    RawWsPeer alice;
    RawWsPeer bob;
    REQUIRE(alice.socket.bind(QHostAddress(QStringLiteral("127.0.0.1")), 0));
    const quint16 sourcePort = alice.socket.localPort();
    alice.socket.abort();
    REQUIRE(alice.open(port, QHostAddress(QStringLiteral("127.0.0.1")), sourcePort));
    INFO("bob binds 127.0.0.2:" << sourcePort << ": " << bob.socket.errorString().toStdString());
    REQUIRE(bob.open(port, QHostAddress(QStringLiteral("127.0.0.2")), sourcePort));
    REQUIRE(waitUntil([&] { alice.pump(); bob.pump(); return !alice.frames.empty() && !bob.frames.empty(); }, 3s));
    const auto create = [](const char* who) -> QByteArray {
        return QByteArray(R"({"method":"connection/create","id":1,"identity":"anonymous:)") + who
            + R"(","space":"chat","key":"twohosts"})";
    };
    alice.send(faults::WsOpcode::Text, create("alice"));
    bob.send(faults::WsOpcode::Text, create("bob"));
    REQUIRE(waitUntil([&] { alice.pump(); bob.pump(); return alice.sawText("\"seq\"") && bob.sawText("\"seq\""); }, 3s));

    // A TCP-level close aimed at alice's streams closes alice's TCP connection, not bob's.
    REQUIRE(server.applyFault(QStringLiteral("close"), { { QStringLiteral("mode"), QStringLiteral("fin") }, { QStringLiteral("agent"), QStringLiteral("alice") } })
                .affected == 1);
    REQUIRE(waitUntil([&] { alice.pump(); return alice.socket.state() == QAbstractSocket::UnconnectedState; }, 3s));
    QTest::qWait(200);
    bob.pump();
    CHECK(bob.socket.state() == QAbstractSocket::ConnectedState);
    CHECK(server.socketCount() == 1);
}

TEST_CASE("fault: closing a stalled socket that was sent data meanwhile ends with a FIN, not a reset")
{
    OwnServer own;
    ReferenceServer& server = own.server;
    const quint16 port = own.port;
    // A POSIX socket: recv() tells a FIN (0) from a reset (ECONNRESET), which QTcpSocket does not.
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    REQUIRE(fd >= 0);
    sockaddr_in address {};
    address.sin_family = AF_INET;
    address.sin_port = htons(port);
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
    ::connect(fd, reinterpret_cast<const sockaddr*>(&address), sizeof address); // EINPROGRESS: loopback completes it
    const auto sendAll = [&](const QByteArray& bytes) {
        qsizetype sent = 0;
        return waitUntil(
            [&] {
                const ssize_t n = ::send(fd, bytes.constData() + sent, std::size_t(bytes.size() - sent), MSG_NOSIGNAL);
                if (n > 0)
                    sent += n;
                return sent == bytes.size();
            },
            3s);
    };
    QByteArray received;
    int recvError = 0;
    bool peerClosed = false;
    const auto receive = [&] {
        char buffer[4096];
        for (;;) {
            const ssize_t n = ::recv(fd, buffer, sizeof buffer, 0);
            if (n > 0) {
                received.append(buffer, n);
                continue;
            }
            if (n == 0)
                peerClosed = true;
            else if (errno != EAGAIN && errno != EWOULDBLOCK)
                recvError = errno;
            return;
        }
    };
    REQUIRE(sendAll("GET /~s HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"));
    REQUIRE(waitUntil([&] { receive(); return received.contains("\"status\":\"connected\""); }, 3s)); // the hello

    REQUIRE(server.stall(5000) == 1);
    REQUIRE(sendAll(faults::encodeFrame(quint8(faults::WsOpcode::Text),
        R"({"method":"connection/create","id":1,"identity":"anonymous:a","space":"chat","key":"fin"})", true, true, 0x11223344)));
    QTest::qWait(200);
    REQUIRE(server.closeSockets(ServerConnection::CloseKind::Fin) == 1);
    REQUIRE(waitUntil([&] { receive(); return peerClosed || recvError != 0; }, 3s));
    CHECK(recvError == 0); // not ECONNRESET
    CHECK(peerClosed);
    ::close(fd);
}

TEST_CASE("fault: a request sent to a stalled socket is read after the stall: other viewers see its change only then")
{
    Fixture f(QStringLiteral("stallread"));
    WsClient bob;
    REQUIRE(bob.open(QUrl(f.server.url())));
    const qint64 bobStream = bob.request(QStringLiteral("connection/create"),
        { { QStringLiteral("identity"), QStringLiteral("anonymous:bob") }, { QStringLiteral("space"), QStringLiteral("chat") },
            { QStringLiteral("key"), QStringLiteral("stallread") } });
    REQUIRE(waitUntil([&] { return bob.items(bobStream).size() >= 2; }, 3s));
    const auto bobSawLine = [&] {
        for (const QJsonObject& item : bob.items(bobStream)) {
            if (compact(item).contains("held during the stall"))
                return true;
        }
        return false;
    };

    REQUIRE(f.server.stall(1500, FaultTarget { QStringLiteral("alice"), {}, {} }) == 1);
    const qint64 id = f.client.request(QStringLiteral("connection/send"),
        { { QStringLiteral("connection"), f.stream }, { QStringLiteral("channel"), QStringLiteral("say") },
            { QStringLiteral("message"), QJsonObject { { QStringLiteral("what"), QStringLiteral("held during the stall") } } } });
    QTest::qWait(600);
    // Alice's socket is not read: the line is not in the document, so bob (not stalled) lacks it too.
    CHECK(!bobSawLine());
    REQUIRE(!f.client.waitForAnswer(id, 3s).isEmpty());
    CHECK(waitUntil(bobSawLine, 3s));
    CHECK(!f.client.isClosed());
    // Reading and writing go on after the stall.
    const std::size_t items = f.itemCount();
    f.document->step(1);
    CHECK(waitUntil([&] { return f.itemCount() > items; }, 3s));
}

TEST_CASE("fault: redeploy re-sends a full snapshot inside the stream and next schema leaves stale keys to merging clients")
{
    Fixture f(QStringLiteral("redeploy"));
    f.stepAndWait(3, 5);
    const std::size_t before = f.itemCount();
    CHECK(f.server.redeploy(false) == 1);
    REQUIRE(waitUntil([&] { return f.itemCount() > before; }, 3s));
    const QJsonObject full = delta(f.client.items(f.stream).back());
    CHECK(full.contains(QLatin1String("seq")));
    const QJsonObject data = full.value(QLatin1String("data")).toObject();
    CHECK(data.value(QLatin1String("title")).toString() == QLatin1String("Room redeploy")); // unchanged, yet sent again
    CHECK(data.value(QLatin1String("lines")).toObject().value(QLatin1String("@o")).toArray().size() == 4); // every id, no ranges

    const std::size_t beforeSchema = f.itemCount();
    f.server.applyFault(QStringLiteral("redeploy"), { { QStringLiteral("next-schema"), true } });
    REQUIRE(waitUntil([&] { return f.itemCount() > beforeSchema; }, 3s));
    const QJsonObject migrated = delta(f.client.items(f.stream).back()).value(QLatin1String("data")).toObject();
    CHECK(migrated.value(QLatin1String("topic")).toString() == QLatin1String("Room redeploy"));
    // A fresh view says nothing about the old keys: a client merging over its tree keeps title and count.
    CHECK(!migrated.contains(QLatin1String("title")));
    CHECK(!migrated.contains(QLatin1String("count")));
    CHECK(f.document->schemaVersion() == 2);
}

TEST_CASE("fault: hello version for new sockets, reload, keepalive-failure")
{
    Fixture f(QStringLiteral("version"));
    f.server.setHelloVersion(QStringLiteral("20991231000000"));
    WsClient later;
    REQUIRE(later.open(QUrl(f.server.url())));
    CHECK(later.frames().front().value(QLatin1String("version")).toString() == QLatin1String("20991231000000"));
    CHECK(f.client.frames().front().value(QLatin1String("version")).toString() == QLatin1String("20240912211736"));

    const std::size_t before = f.itemCount();
    CHECK(f.server.sendReload(true) == 1);
    REQUIRE(waitUntil([&] { return f.itemCount() > before; }, 3s));
    CHECK(compact(f.client.items(f.stream).back()) == QByteArray(R"({"deliver":1,"done":false,"response":{"delta":{"reload":{"preserve-view":true}}}})"));

    CHECK(f.server.keepaliveFailure({ QStringLiteral("alice"), {}, {} }) == 1);
    REQUIRE(f.client.waitClosed(3s));
    CHECK(f.client.rawFrames().back() == QByteArray(R"({"status":"disconnected","reason":"keepalive-failure"})"));
    CHECK(!later.isClosed());
}

TEST_CASE("fault: force-disconnect, retryable and fatal stream failures, refused connects")
{
    Fixture f(QStringLiteral("fail"));
    CHECK(f.server.forceDisconnect() == 1);
    const QJsonObject failure = f.client.waitForAnswer(f.stream);
    CHECK(failure == parseObject(R"({"failure":1,"reason":403500,"retry":false})"));
    CHECK(delta(f.client.items(f.stream).back()) == parseObject(R"({"force-disconnect":true})"));
    CHECK(f.server.streamCount() == 0);

    const QJsonObject params { { QStringLiteral("identity"), QStringLiteral("anonymous:alice") }, { QStringLiteral("space"), QStringLiteral("chat") },
        { QStringLiteral("key"), QStringLiteral("fail") } };
    const qint64 retryable = f.client.request(QStringLiteral("connection/create"), params);
    REQUIRE(waitUntil([&] { return f.server.streamCount() == 1; }, 3s));
    CHECK(f.server.failStreams(928828) == 1);
    CHECK(f.client.waitForAnswer(retryable) == parseObject(QStringLiteral(R"({"failure":%1,"reason":928828,"retry":true})").arg(retryable).toUtf8()));

    const qint64 fatal = f.client.request(QStringLiteral("connection/create"), params);
    REQUIRE(waitUntil([&] { return f.server.streamCount() == 1; }, 3s));
    f.server.applyFault(QStringLiteral("fail-stream"), { { QStringLiteral("code"), 403403 } });
    CHECK(f.client.waitForAnswer(fatal) == parseObject(QStringLiteral(R"({"failure":%1,"reason":403403,"retry":false})").arg(fatal).toUtf8()));

    f.server.refuseConnects(2);
    const qint64 r1 = f.client.request(QStringLiteral("connection/create"), params);
    const qint64 r2 = f.client.request(QStringLiteral("connection/create"), params);
    const qint64 ok = f.client.request(QStringLiteral("connection/create"), params);
    CHECK(f.client.waitForAnswer(r1).value(QLatin1String("reason")).toInt() == 183498);
    CHECK(f.client.waitForAnswer(r2).value(QLatin1String("retry")).toBool());
    REQUIRE(waitUntil([&] { return !f.client.items(ok).empty(); }, 3s));
}

TEST_CASE("fault: drop, duplicate and reorder the next delta (corrupting)")
{
    Fixture f(QStringLiteral("deltas"));
    std::size_t items = f.itemCount();
    // drop: one transaction item never arrives, though the server counts it as sent.
    CHECK(f.server.dropNextDeltas(1) == 1);
    f.document->step(2);
    REQUIRE(waitUntil([&] { return f.itemCount() >= items + 1; }, 3s));
    QTest::qWait(50);
    CHECK(f.itemCount() == items + 1);
    const qint64 afterDrop = delta(f.client.items(f.stream).back()).value(QLatin1String("seq")).toInteger();
    CHECK(afterDrop == f.document->seq());

    // duplicate: the same frame twice.
    items = f.itemCount();
    f.server.duplicateNextDeltas(1);
    f.stepAndWait(1, items + 2);
    const auto all = f.client.items(f.stream);
    CHECK(all[items] == all[items + 1]);

    // reorder: the held item comes after the next one, so seqs go backwards once.
    items = f.itemCount();
    f.server.reorderNextDeltas(1);
    f.stepAndWait(2, items + 2);
    const auto reordered = f.client.items(f.stream);
    CHECK(delta(reordered[items]).value(QLatin1String("seq")).toInteger() > delta(reordered[items + 1]).value(QLatin1String("seq")).toInteger());
}

TEST_CASE("control endpoint: status, faults by name, errors")
{
    Fixture f(QStringLiteral("control"));
    ControlEndpoint control(&f.server);
    const quint16 port = control.listen();
    REQUIRE(port != 0);

    const QByteArray status = http(port, "GET", "/status");
    REQUIRE(status.startsWith("HTTP/1.1 200"));
    const QJsonObject statusJson = httpJson(status);
    CHECK(statusJson.value(QLatin1String("sockets")).toInt() == 1);
    CHECK(statusJson.value(QLatin1String("streams")).toInt() == 1);
    CHECK(statusJson.value(QLatin1String("port")).toInt() == f.server.port());

    const std::size_t before = f.itemCount();
    const QByteArray reload = http(port, "POST", "/fault/reload", R"({"preserve-view":false,"agent":"alice"})");
    CHECK(httpJson(reload) == parseObject(R"({"ok":true,"affected":1})"));
    REQUIRE(waitUntil([&] { return f.itemCount() > before; }, 3s));
    CHECK(delta(f.client.items(f.stream).back()) == parseObject(R"({"reload":{"preserve-view":false}})"));

    const QByteArray step = http(port, "POST", "/step", R"({"space":"chat","key":"control","count":3})");
    CHECK(httpJson(step).value(QLatin1String("seq")).toInteger() == f.document->seq());

    CHECK(http(port, "POST", "/fault/nonsense", "{}").startsWith("HTTP/1.1 400"));
    // An unknown route is not found, whatever the method; a known one with the wrong method is 405.
    CHECK(http(port, "GET", "/nothing", "").startsWith("HTTP/1.1 404"));
    CHECK(httpJson(http(port, "GET", "/nothing", "")).value(QLatin1String("error")).toString().contains(QLatin1String("GET /status")));
    CHECK(http(port, "GET", "/bots", "").startsWith("HTTP/1.1 405"));
    // "after" is the command line's: here it is no parameter, and a wrong type is no default.
    CHECK(httpJson(http(port, "POST", "/fault/close", R"({"after":"x"})")).value(QLatin1String("error")).toString().contains(QLatin1String("no parameter \"after\"")));
    CHECK(httpJson(http(port, "POST", "/fault/stall", R"({"seconds":"5"})")).value(QLatin1String("error")).toString().contains(QLatin1String("must be a number")));
    CHECK(httpJson(http(port, "POST", "/fault/stall", "{}")).value(QLatin1String("error")).toString().contains(QLatin1String("seconds")));
    CHECK(http(port, "POST", "/fault/stall", "{broken").startsWith("HTTP/1.1 400"));
    CHECK(http(port, "GET", "/nowhere").startsWith("HTTP/1.1 404")); // no such route, whatever the method
    CHECK(http(port, "POST", "/nowhere").startsWith("HTTP/1.1 404"));
    CHECK(http(port, "GET", "/fault/stall").startsWith("HTTP/1.1 405"));

    CHECK(httpJson(http(port, "POST", "/fault/close", R"({"mode":"clean"})")).value(QLatin1String("affected")).toInt() == 1);
    REQUIRE(f.client.waitClosed(3s));
}

namespace {

// Position in the socket's frames of the ack of `id` and of the stream item carrying `seq`.
std::pair<std::size_t, std::size_t> ackAndItem(const WsClient& client, qint64 id, qint64 stream, qint64 seq)
{
    std::size_t ack = std::size_t(-1);
    std::size_t item = std::size_t(-1);
    const auto& frames = client.frames();
    for (std::size_t i = 0; i < frames.size(); ++i) {
        const QJsonObject& frame = frames[i];
        const qint64 deliver = frame.value(QLatin1String("deliver")).toInteger(-1);
        if (deliver == id && frame.value(QLatin1String("done")).toBool())
            ack = i;
        if (deliver == stream && !frame.value(QLatin1String("done")).toBool() && delta(frame).value(QLatin1String("seq")).toInteger() == seq)
            item = i;
    }
    return { ack, item };
}

}

TEST_CASE("fault: delay-ack sends the ack after the item with the same seq, for the next N sends")
{
    Fixture f(QStringLiteral("acks"));
    const QJsonObject say { { QStringLiteral("what"), QStringLiteral("hi") } };
    const auto send = [&] {
        return f.client.request(QStringLiteral("connection/send"),
            { { QStringLiteral("connection"), f.stream }, { QStringLiteral("channel"), QStringLiteral("say") }, { QStringLiteral("message"), say } });
    };
    // Usually the ack comes first (the request callback runs before the broadcast).
    const qint64 plain = send();
    const qint64 plainSeq = f.client.waitForAnswer(plain).value(QLatin1String("response")).toObject().value(QLatin1String("seq")).toInteger();
    REQUIRE(waitUntil([&] { return ackAndItem(f.client, plain, f.stream, plainSeq).second != std::size_t(-1); }, 3s));
    const auto [plainAck, plainItem] = ackAndItem(f.client, plain, f.stream, plainSeq);
    CHECK(plainAck < plainItem);

    const FaultResult armed = f.server.applyFault(QStringLiteral("delay-ack"), { { QStringLiteral("count"), 1 }, { QStringLiteral("ms"), 150 } });
    CHECK(armed.ok);
    CHECK(armed.affected == 1);
    const qint64 delayed = send();
    const QJsonObject delayedAck = f.client.waitForAnswer(delayed, 3s);
    REQUIRE(!delayedAck.isEmpty());
    const qint64 delayedSeq = delayedAck.value(QLatin1String("response")).toObject().value(QLatin1String("seq")).toInteger();
    CHECK(delayedSeq == plainSeq + 1);
    const auto [lateAck, earlyItem] = ackAndItem(f.client, delayed, f.stream, delayedSeq);
    CHECK(earlyItem < lateAck);

    // Only the next one: the following ack is on time again.
    const qint64 after = send();
    const qint64 afterSeq = f.client.waitForAnswer(after).value(QLatin1String("response")).toObject().value(QLatin1String("seq")).toInteger();
    REQUIRE(waitUntil([&] { return ackAndItem(f.client, after, f.stream, afterSeq).second != std::size_t(-1); }, 3s));
    const auto [afterAck, afterItem] = ackAndItem(f.client, after, f.stream, afterSeq);
    CHECK(afterAck < afterItem);

    CHECK_FALSE(f.server.applyFault(QStringLiteral("delay-ack"), { { QStringLiteral("ms"), -1 } }).ok);
}

TEST_CASE("fault: ignore-pongs leaves the pings' latency stale, then pongs count again")
{
    Fixture f(QStringLiteral("pongs"));
    const auto latencyOfNextPing = [&f] {
        const std::size_t from = f.client.frames().size();
        const QJsonObject ping = f.client.waitFor([](const QJsonObject& frame) { return frame.contains(QLatin1String("ping")); }, 3s, from);
        REQUIRE(!ping.isEmpty());
        return ping.value(QLatin1String("latency")).toString();
    };
    REQUIRE(latencyOfNextPing() == QLatin1String("0"));
    // A pong for ping 0 reads as a round trip as long as the socket's age, once read.
    const QString pongForPingZero = QStringLiteral(R"({"ping":0,"latency":"0","pong":true})");
    QElapsedTimer clock;
    clock.start();
    CHECK(f.server.applyFault(QStringLiteral("ignore-pongs"), { { QStringLiteral("seconds"), 1.5 } }).affected == 1);
    f.client.sendText(pongForPingZero);
    CHECK(latencyOfNextPing() == QLatin1String("0"));
    CHECK(latencyOfNextPing() == QLatin1String("0"));
    // Pong after every ping until one is read: not before the window closes.
    REQUIRE(waitUntil(
        [&] {
            f.client.sendText(pongForPingZero);
            return latencyOfNextPing() != QLatin1String("0");
        },
        5s));
    CHECK(clock.elapsed() >= 1400);
    CHECK(!f.client.isClosed());
    CHECK_FALSE(f.server.applyFault(QStringLiteral("ignore-pongs"), {}).ok);
}
