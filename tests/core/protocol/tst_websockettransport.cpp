#include <catch2/catch.hpp>

#include "core/protocol/protocolclient.h"
#include "core/protocol/websockettransport.h"
#include "tests/support/testutils.h"

#include <QCryptographicHash>
#include <QJsonDocument>
#include <QJsonObject>
#include <QRegularExpression>
#include <QSignalSpy>
#include <QSslSocket>
#include <QTcpServer>
#include <QEventLoop>
#include <QTcpSocket>
#include <QThread>
#include <QTimer>
#include <QWebSocket>
#include <QWebSocketServer>

#include <algorithm>
#include <atomic>
#include <functional>
#include <memory>

using namespace deltascope;
using deltascope::test::waitUntil;

namespace {
// A WebSocket server on 127.0.0.1 that sends exactly what the test tells it to.
struct ScriptedServer {
    QWebSocketServer server { QStringLiteral("scripted"), QWebSocketServer::NonSecureMode };
    QList<QWebSocket*> sockets;
    QList<QString> received;

    ScriptedServer()
    {
        REQUIRE(server.listen(QHostAddress::LocalHost, 0));
        QObject::connect(&server, &QWebSocketServer::newConnection, [this]() {
            while (QWebSocket* socket = server.nextPendingConnection()) {
                socket->setParent(&server);
                sockets << socket;
                QObject::connect(socket, &QWebSocket::textMessageReceived, [this](const QString& text) { received << text; });
            }
        });
    }
    QUrl url() const { return QUrl(QStringLiteral("ws://127.0.0.1:%1/~s").arg(server.serverPort())); }
    QWebSocket* last() const { return sockets.isEmpty() ? nullptr : sockets.last(); }
};

bool wait(const std::function<bool()>& predicate, int ms = 5000)
{
    return waitUntil(predicate, std::chrono::milliseconds(ms));
}

// The chat demo document as bob, at the scripted server.
DocumentTarget chatDemoAt(const ScriptedServer& server)
{
    DocumentTarget target;
    target.url = server.url();
    target.identity = QStringLiteral("anonymous:bob");
    target.space = QStringLiteral("chat");
    target.key = QStringLiteral("demo");
    return target;
}

// Waits, without running this thread's event loop (as a busy owner), until the transport's socket
// thread has read `count` frames that wait to be handed on.
bool readWithoutEventLoop(const Transport& transport, qsizetype count)
{
    for (int waited = 0; waited < 5000; waited += 5) {
        if (transport.pendingInbound() >= count)
            return true;
        QThread::msleep(5);
    }
    return false;
}
}

TEST_CASE("websocket transport: text, binary and oversized frames, the socket survives them")
{
    ScriptedServer server;
    QWebSocketTransport transport;
    QSignalSpy opened(&transport, &Transport::opened);
    QSignalSpy texts(&transport, &Transport::textReceived);
    QSignalSpy binaries(&transport, &Transport::binaryReceived);
    QSignalSpy oversized(&transport, &Transport::oversized);
    QSignalSpy closed(&transport, &Transport::closed);
    transport.open(server.url());
    REQUIRE(wait([&]() { return opened.count() == 1 && server.last(); }));
    CHECK(transport.isOpen());

    server.last()->sendTextMessage(QStringLiteral(R"({"status":"connected","version":"1","identities":{}})"));
    server.last()->sendBinaryMessage(QByteArray("\x01\x02", 2));
    server.last()->sendTextMessage(QString(int(Transport::kMaxFrameBytes) + 1, QLatin1Char('x')));
    server.last()->sendTextMessage(QStringLiteral("{\"after\":true}"));
    REQUIRE(wait([&]() { return texts.count() == 2; }, 15000));
    CHECK(binaries.count() == 1);
    REQUIRE(oversized.count() == 1);
    CHECK(oversized.at(0).at(0).toLongLong() == Transport::kMaxFrameBytes + 1);
    CHECK(oversized.at(0).at(1).toByteArray().size() == Transport::kHeadBytes);
    CHECK(texts.at(1).at(0).toByteArray() == "{\"after\":true}");
    CHECK(closed.isEmpty());

    CHECK(transport.sendText("{\"method\":\"probe\",\"id\":1}"));
    REQUIRE(wait([&]() { return server.received.size() == 1; }));
    CHECK(server.received.first() == QLatin1String("{\"method\":\"probe\",\"id\":1}"));

    server.last()->close();
    REQUIRE(wait([&]() { return closed.count() == 1; }));
    const auto info = closed.at(0).at(0).value<TransportCloseInfo>();
    CHECK(info.wasOpen);
    CHECK_FALSE(transport.isOpen());
}

TEST_CASE("websocket transport: refused connection reports closed without opened, own close is silent")
{
    quint16 port = 0;
    {
        ScriptedServer probe;
        port = probe.server.serverPort();
    } // closed again: nothing listens there now
    QWebSocketTransport transport;
    QSignalSpy opened(&transport, &Transport::opened);
    QSignalSpy closed(&transport, &Transport::closed);
    transport.open(QUrl(QStringLiteral("ws://127.0.0.1:%1/~s").arg(port)));
    REQUIRE(wait([&]() { return closed.count() == 1; }));
    CHECK(opened.isEmpty());
    CHECK_FALSE(closed.at(0).at(0).value<TransportCloseInfo>().wasOpen);

    ScriptedServer server;
    transport.open(server.url());
    REQUIRE(wait([&]() { return opened.count() == 1 && server.last(); }));
    transport.close(Transport::CloseMode::Abort);
    QSignalSpy serverSideClosed(server.last(), &QWebSocket::disconnected);
    REQUIRE(wait([&]() { return serverSideClosed.count() == 1; }));
    CHECK(closed.count() == 1);
}

TEST_CASE("websocket transport: an HTTP answer instead of the upgrade is said as the server's answer")
{
    // A web server where a WebSocket endpoint was expected: it answers the upgrade with `reply`.
    const auto closeReason = [](const QByteArray& reply, const QString& path = QStringLiteral("/~s")) {
        QTcpServer http;
        REQUIRE(http.listen(QHostAddress::LocalHost, 0));
        QObject::connect(&http, &QTcpServer::newConnection, [&http, reply]() {
            QTcpSocket* socket = http.nextPendingConnection();
            QObject::connect(socket, &QTcpSocket::readyRead, socket, [socket, reply]() {
                if (socket->readAll().contains("\r\n\r\n")) {
                    socket->write(reply);
                    socket->disconnectFromHost();
                }
            });
        });
        QWebSocketTransport transport;
        QSignalSpy closed(&transport, &Transport::closed);
        transport.open(QUrl(QStringLiteral("ws://127.0.0.1:%1%2").arg(http.serverPort()).arg(path)));
        REQUIRE(wait([&]() { return closed.count() == 1; }));
        return closed.at(0).at(0).value<TransportCloseInfo>().reason;
    };
    const QString notFound = closeReason("HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n");
    INFO(notFound.toStdString());
    CHECK(notFound.startsWith(QStringLiteral("the server answered the WebSocket upgrade with HTTP 404 Not Found instead of 101")));
    CHECK(notFound.contains(QStringLiteral("not an Adama endpoint")));
    CHECK_FALSE(notFound.contains(QStringLiteral("QWebSocketPrivate")));
    const QString wrongPath = closeReason("HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n", QStringLiteral("/ws"));
    INFO(wrongPath.toStdString());
    CHECK(wrongPath.contains(QStringLiteral("no WebSocket endpoint at /ws; Adama serves it at /~s")));
    const QString moved = closeReason("HTTP/1.1 301 Moved Permanently\r\nLocation: wss://x/~s\r\nContent-Length: 0\r\n\r\n");
    INFO(moved.toStdString());
    CHECK(moved.contains(QStringLiteral("HTTP 301 Moved Permanently")));
    CHECK(moved.contains(QStringLiteral("redirect")));
}

TEST_CASE("websocket transport: a wss:// URL to a server that closes the TLS handshake says TLS may be the cause")
{
    if (!QSslSocket::supportsSsl()) {
        WARN("no TLS backend: skipped");
        return;
    }
    // A plain server reads the TLS ClientHello as a bad request and closes, or answers it in HTTP.
    const auto closeReason = [](const QByteArray& answer) {
        QTcpServer plain;
        REQUIRE(plain.listen(QHostAddress::LocalHost, 0));
        QObject::connect(&plain, &QTcpServer::newConnection, [&plain, answer]() {
            QTcpSocket* socket = plain.nextPendingConnection();
            QObject::connect(socket, &QTcpSocket::readyRead, socket, [socket, answer]() {
                socket->readAll();
                socket->write(answer);
                socket->disconnectFromHost();
            });
        });
        QWebSocketTransport transport;
        QSignalSpy closed(&transport, &Transport::closed);
        transport.open(QUrl(QStringLiteral("wss://127.0.0.1:%1/~s").arg(plain.serverPort())));
        REQUIRE(wait([&]() { return closed.count() == 1; }));
        return closed.at(0).at(0).value<TransportCloseInfo>().reason;
    };
    const QString closedOnIt = closeReason({});
    INFO(closedOnIt.toStdString());
    CHECK(closedOnIt.contains(QStringLiteral("does the server speak TLS on this port?")));
    const QString answeredInHttp = closeReason("HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n");
    INFO(answeredInHttp.toStdString());
    CHECK(answeredInHttp.contains(QStringLiteral("does the server speak TLS on this port?")));
}

namespace {
// A transport open to a scripted server, with its opened() and closed() recorded. `beforeOpen`
// sets it up as an owner does before it opens.
struct OpenTransport {
    ScriptedServer server;
    QWebSocketTransport transport;
    QSignalSpy opened { &transport, &Transport::opened };
    QSignalSpy closed { &transport, &Transport::closed };

    explicit OpenTransport(const std::function<void(QWebSocketTransport&)>& beforeOpen = {})
    {
        if (beforeOpen)
            beforeOpen(transport);
        transport.open(server.url());
        REQUIRE(wait([&]() { return opened.count() == 1 && server.last(); }));
    }
    // The frames "0".."count-1" and, with `thenClose`, a close, all written to the kernel before
    // the client reads: its socket then holds the whole burst at once, as after a stall.
    void sendBurst(int count, bool thenClose)
    {
        for (int i = 0; i < count; ++i)
            server.last()->sendTextMessage(QString::number(i));
        server.last()->flush();
        if (thenClose)
            server.last()->close();
    }
};

struct Burst {
    QList<int> numbers; // the frames handed on, in order
    int ticksBetween = 0; // event-loop turns (a zero timer's ticks) between the first and the last
    int textsAtClose = -1;
};
}

TEST_CASE("websocket transport: a burst of frames is handed on in order, a slice per turn, the peer's close after it")
{
    constexpr int kFrames = 1000;
    OpenTransport open;
    auto& [server, transport, opened, closed] = open;

    Burst burst;
    QTimer ticker;
    ticker.setInterval(0);
    QObject::connect(&ticker, &QTimer::timeout, [&] {
        if (!burst.numbers.isEmpty() && burst.numbers.size() < kFrames)
            ++burst.ticksBetween;
    });
    ticker.start();
    QObject::connect(&transport, &Transport::textReceived, [&](const QByteArray& utf8) {
        burst.numbers << utf8.toInt();
        QThread::usleep(100); // a fold and a model update: 1,000 of them take about 100 ms
    });
    QObject::connect(&transport, &Transport::closed, [&] { burst.textsAtClose = int(burst.numbers.size()); });
    open.sendBurst(kFrames, true);
    REQUIRE(wait([&]() { return burst.textsAtClose >= 0; }, 15000));
    CHECK(burst.textsAtClose == kFrames); // the close after every frame sent before it
    REQUIRE(burst.numbers.size() == kFrames);
    for (int i = 0; i < kFrames; ++i)
        REQUIRE(burst.numbers.at(i) == i);
    // About 100 ms of handling in slices of QWebSocketTransport::kSliceMs: the event loop ran
    // between them (all at once, it would not have run at all).
    CHECK(burst.ticksBetween >= 2);
    CHECK(transport.pendingInbound() == 0);
}

TEST_CASE("websocket transport: the owner's close hands nothing more on, not even the peer's close")
{
    OpenTransport open;
    auto& [server, transport, opened, closed] = open;
    int handed = 0;
    QObject::connect(&transport, &Transport::textReceived, [&](const QByteArray&) {
        QThread::usleep(100);
        if (++handed == 300)
            transport.close(Transport::CloseMode::Abort); // a protocol error in the 300th, say
    });
    open.sendBurst(1000, true);
    REQUIRE(wait([&]() { return handed >= 300; }, 15000));
    wait([] { return false; }, 300);
    CHECK(handed == 300);
    CHECK(closed.isEmpty());
    CHECK(transport.pendingInbound() == 0);
    CHECK_FALSE(transport.isOpen());
}

TEST_CASE("websocket transport: reopening after the peer's close hands nothing of the old connection on")
{
    // The peer sent 40 frames and closed; while they are handed on (slowly), the owner reopens.
    OpenTransport open;
    auto& [server, transport, opened, closed] = open;
    int texts = 0;
    QObject::connect(&transport, &Transport::textReceived, [&](const QByteArray&) {
        ++texts;
        QThread::usleep(25000); // a slice holds one frame
    });
    open.sendBurst(40, true);
    REQUIRE(wait([&]() { return !transport.isOpen() && transport.pendingInbound() > 1; }));
    const int atReopen = texts;
    transport.open(server.url());
    CHECK(transport.pendingInbound() == 0);
    REQUIRE(wait([&]() { return opened.count() == 2; }));
    wait([] { return false; }, 500);
    CHECK(texts == atReopen);
    CHECK(closed.isEmpty());
    CHECK(transport.isOpen());
}

TEST_CASE("websocket transport: a slot that runs an event loop does not end the slicing")
{
    // A slot that waits for something (a modal question, a blocking control request) runs an event
    // loop, which ends the turn's slice under the outer hand-on: what is left still goes a slice
    // per turn.
    constexpr int kFrames = 1000;
    OpenTransport open;
    auto& [server, transport, opened, closed] = open;
    int ticks = 0;
    QTimer ticker;
    ticker.setInterval(0);
    QObject::connect(&ticker, &QTimer::timeout, [&] { ++ticks; });
    ticker.start();
    QList<int> ticksAt;
    QObject::connect(&transport, &Transport::textReceived, [&](const QByteArray&) {
        QThread::usleep(100);
        if (ticksAt.size() == 300) {
            QEventLoop loop;
            QTimer::singleShot(5, &loop, &QEventLoop::quit);
            loop.exec();
        }
        ticksAt << ticks;
    });
    open.sendBurst(kFrames, false);
    REQUIRE(wait([&]() { return ticksAt.size() == kFrames; }, 15000));
    // About 70 ms of handling after the inner loop: the event loop ran again before the end.
    CHECK(ticksAt.at(kFrames - 1) > ticksAt.at(301));
}

namespace {
// Plays the owner whose other thread acts on the connection (LiveController, the fault proxy's
// reports): reports are numbered as they are made and go into one trace with the frames, where the
// transport's marks and hook put them. Set up before open(), its marks are taken as frames are read.
struct ReportingOwner {
    QStringList trace; // "f<text>" per frame handed on, "R<number>" per report recorded
    std::atomic<quint64> made { 0 }; // the mark: read on the socket's thread
    quint64 recorded = 0;

    explicit ReportingOwner(Transport& transport)
    {
        transport.setArrivalMark([this] { return made.load(); });
        transport.setBeforeEachEvent([this](quint64 limit) {
            for (; recorded < made && recorded < limit; ++recorded)
                trace << QStringLiteral("R%1").arg(recorded);
        });
        QObject::connect(&transport, &Transport::textReceived,
            [this](const QByteArray& utf8) { trace << QStringLiteral("f%1").arg(QString::fromUtf8(utf8)); });
    }
    void report() { ++made; }
    QString joined() const { return trace.join(QLatin1Char(' ')); }
};

// An open transport whose owner (set up before open, as LiveController does) handles each frame
// for 25 ms (more than a slice), so a burst waits in its inbox and is handed on a frame per turn.
struct SlowOwner {
    std::unique_ptr<ReportingOwner> reporting;
    OpenTransport open { [this](QWebSocketTransport& transport) { reporting = std::make_unique<ReportingOwner>(transport); } };
    ReportingOwner& owner = *reporting;
    int texts = 0;

    SlowOwner()
    {
        QObject::connect(&open.transport, &Transport::textReceived, [this](const QByteArray&) {
            ++texts;
            QThread::usleep(25000);
        });
    }
    // The frames "0".."count-1" have all arrived, and at least two of them wait.
    bool burstWaits(int count, bool thenClose)
    {
        open.sendBurst(count, thenClose);
        return wait(
            [&] { return texts + open.transport.pendingInbound() >= count && open.transport.pendingInbound() >= 2; });
    }
};
}

TEST_CASE("websocket transport: a report made while frames wait goes after them and before the frames that arrive after it")
{
    SlowOwner slow;
    REQUIRE(slow.burstWaits(5, false));
    slow.owner.report();
    SECTION("a frame arrives after the report")
    {
        slow.open.server.last()->sendTextMessage(QStringLiteral("5"));
        REQUIRE(wait([&] { return slow.texts == 6; }));
        CHECK(slow.owner.joined().toStdString() == "f0 f1 f2 f3 f4 R0 f5");
    }
    SECTION("nothing arrives after the report: it goes right after the last frame that waited")
    {
        REQUIRE(wait([&] { return slow.texts == 5; }));
        CHECK(slow.owner.joined().toStdString() == "f0 f1 f2 f3 f4 R0");
    }
}

TEST_CASE("websocket transport: with the mark set before open, a frame read before a report goes before it though its batch comes after")
{
    ScriptedServer server;
    QWebSocketTransport transport;
    std::atomic<quint64> made { 0 }; // read on the socket's thread
    quint64 recorded = 0;
    QStringList trace;
    transport.setArrivalMark([&made] { return made.load(); });
    transport.setBeforeEachEvent([&](quint64 limit) {
        for (; recorded < made.load() && recorded < limit; ++recorded)
            trace << QStringLiteral("R%1").arg(recorded);
    });
    QObject::connect(&transport, &Transport::textReceived, [&](const QByteArray& utf8) { trace << QStringLiteral("f%1").arg(QString::fromUtf8(utf8)); });
    QSignalSpy opened(&transport, &Transport::opened);
    transport.open(server.url());
    REQUIRE(wait([&]() { return opened.count() == 1 && server.last(); }));

    server.last()->sendTextMessage(QStringLiteral("0"));
    server.last()->flush();
    // The socket's thread reads the frame; its batch waits for this thread, and counts as waiting.
    REQUIRE(readWithoutEventLoop(transport, 1));
    ++made; // a report made after the read, before the batch is received here
    bool framesWait = false;
    CHECK(transport.recordableBelow(&framesWait) == 0); // R0 waits for the frame read before it
    CHECK(framesWait);
    REQUIRE(wait([&] { return trace.size() == 2; }));
    CHECK(trace.join(QLatin1Char(' ')).toStdString() == "f0 R0");
    CHECK(transport.recordableBelow(&framesWait) == 1); // nothing waits: what was made so far
    CHECK_FALSE(framesWait);

    SECTION("the report waits for a frame still on its way when the frames here are all handed on")
    {
        // While f1 is handed on, f2 is read (and its batch posted); a report follows. When f1's
        // turn ends nothing waits here, but f2, read before the report, is still on its way.
        bool sentNext = false;
        QObject::connect(&transport, &Transport::textReceived, [&](const QByteArray& utf8) {
            if (utf8 != "1" || sentNext)
                return;
            sentNext = true;
            server.last()->sendTextMessage(QStringLiteral("2"));
            server.last()->flush();
            REQUIRE(readWithoutEventLoop(transport, 1)); // "2": read, on its way
            ++made;
        });
        server.last()->sendTextMessage(QStringLiteral("1"));
        REQUIRE(wait([&] { return trace.size() == 5; }));
        CHECK(trace.join(QLatin1Char(' ')).toStdString() == "f0 R0 f1 f2 R1");
    }
}

TEST_CASE("websocket transport: a report made while nothing waits goes before the next frame")
{
    OpenTransport open;
    ReportingOwner owner(open.transport);
    owner.report();
    open.sendBurst(2, false);
    REQUIRE(wait([&] { return owner.trace.size() == 3; }));
    CHECK(owner.joined().toStdString() == "R0 f0 f1");
}

TEST_CASE("websocket transport: reports held back for frames the owner drops are recorded when it drops them")
{
    SlowOwner slow;
    REQUIRE(slow.burstWaits(5, true));
    slow.owner.report();
    const int handed = slow.texts;
    SECTION("by closing") { slow.open.transport.close(Transport::CloseMode::Abort); }
    SECTION("by opening again") { slow.open.transport.open(slow.open.server.url()); }
    CHECK(slow.open.transport.pendingInbound() == 0);
    REQUIRE(slow.owner.trace.size() == handed + 1);
    CHECK(slow.owner.trace.last().toStdString() == "R0");
}

TEST_CASE("websocket transport: the peer's close code is reported only when the peer sent a close frame")
{
    {
        OpenTransport open;
        open.server.last()->close(QWebSocketProtocol::CloseCode(4001), QStringLiteral("going away for a test"));
        REQUIRE(wait([&]() { return open.closed.count() == 1; }));
        const auto info = open.closed.at(0).at(0).value<TransportCloseInfo>();
        CHECK(info.wasOpen);
        CHECK(info.closeCode == 4001);
        CHECK(info.reason == QStringLiteral("going away for a test"));
    }
    {
        // A reset: no close frame, so no code (QWebSocket would say 1000, a normal closure).
        OpenTransport open;
        open.server.last()->abort();
        REQUIRE(wait([&]() { return open.closed.count() == 1; }));
        const auto info = open.closed.at(0).at(0).value<TransportCloseInfo>();
        CHECK(info.wasOpen);
        CHECK(info.closeCode == 0);
    }
}

namespace {
// What a WebSocket client reports when the server, after a correct upgrade, writes `frames` as raw
// bytes: frames Qt's own server would never send.
TransportCloseInfo closeAfterRawFrames(const QByteArray& frames)
{
    QTcpServer raw;
    REQUIRE(raw.listen(QHostAddress::LocalHost, 0));
    QObject::connect(&raw, &QTcpServer::newConnection, [&raw, frames]() {
        QTcpSocket* socket = raw.nextPendingConnection();
        auto request = std::make_shared<QByteArray>();
        QObject::connect(socket, &QTcpSocket::readyRead, socket, [socket, request, frames]() {
            *request += socket->readAll();
            if (!request->contains("\r\n\r\n"))
                return;
            const QRegularExpressionMatch key = QRegularExpression(QStringLiteral("Sec-WebSocket-Key: *([^\r]+)\r\n"),
                QRegularExpression::CaseInsensitiveOption).match(QString::fromLatin1(*request));
            REQUIRE(key.hasMatch());
            const QByteArray accept = QCryptographicHash::hash(QByteArray(key.captured(1).toLatin1() + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"),
                QCryptographicHash::Sha1).toBase64();
            request->clear();
            socket->write("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: " + accept + "\r\n\r\n");
            socket->write(frames);
        });
    });
    QWebSocketTransport transport;
    QSignalSpy opened(&transport, &Transport::opened);
    QSignalSpy closed(&transport, &Transport::closed);
    transport.open(QUrl(QStringLiteral("ws://127.0.0.1:%1/~s").arg(raw.serverPort())));
    REQUIRE(wait([&]() { return closed.count() == 1; }));
    CHECK(opened.count() == 1);
    return closed.at(0).at(0).value<TransportCloseInfo>();
}
}

TEST_CASE("websocket transport: a frame Qt refuses is said as the peer's fault, with the code this client closed with")
{
    SECTION("a text frame that is not UTF-8")
    {
        const TransportCloseInfo info = closeAfterRawFrames(QByteArray::fromHex("8102c328"));
        INFO(info.reason.toStdString());
        CHECK(info.wasOpen);
        CHECK(info.error);
        CHECK(info.closeCode == 0); // not the peer's
        CHECK(info.reason.startsWith(QStringLiteral("the peer sent a frame the WebSocket protocol (RFC 6455) forbids")));
        CHECK(info.reason.contains(QStringLiteral("code 1007: Invalid UTF-8 code encountered")));
    }
    SECTION("a frame with a reserved bit set")
    {
        const TransportCloseInfo info = closeAfterRawFrames(QByteArray::fromHex("c17878"));
        INFO(info.reason.toStdString());
        CHECK(info.error);
        CHECK(info.closeCode == 0);
        CHECK(info.reason.contains(QStringLiteral("code 1002: Rsv field is non-zero")));
    }
    SECTION("a Qt peer refusing a frame this client sent, in Qt's own words, stays the peer's close")
    {
        // Our reference server is Qt-based: it refuses frames over 4 MiB with 1009 and the words
        // QWebSocket uses for its own refusals.
        OpenTransport open;
        open.server.last()->setMaxAllowedIncomingFrameSize(quint64(Transport::kServerFrameLimitBytes));
        open.server.last()->setMaxAllowedIncomingMessageSize(quint64(Transport::kServerFrameLimitBytes));
        open.transport.sendText(QByteArray(Transport::kServerFrameLimitBytes + 1024, 'x'));
        REQUIRE(wait([&]() { return open.closed.count() == 1; }, 10000));
        const auto info = open.closed.at(0).at(0).value<TransportCloseInfo>();
        INFO(info.reason.toStdString());
        CHECK(info.closeCode == 1009);
        CHECK_FALSE(info.reason.contains(QStringLiteral("this client closed")));
    }
    SECTION("the peer's own close frame with a protocol-error code stays the peer's")
    {
        // Close 1002 with the reason "bad request frame".
        const TransportCloseInfo info = closeAfterRawFrames(QByteArray::fromHex("8813") + QByteArray::fromHex("03ea") + "bad request frame");
        INFO(info.reason.toStdString());
        CHECK(info.closeCode == 1002);
        CHECK(info.reason == QStringLiteral("bad request frame"));
        CHECK_FALSE(info.error);
    }
}

TEST_CASE("websocket transport: protocol client over a real socket reconnects after the server drops it")
{
    ScriptedServer server;
    SystemClock clock;
    QWebSocketTransport transport;
    ProtocolClient client(&transport, &clock);
    client.setReconnectPolicy(std::make_unique<FixedDelayPolicy>(20));
    REQUIRE(client.connectDocument(chatDemoAt(server)));
    REQUIRE(wait([&]() { return server.sockets.size() == 1; }));
    server.last()->sendTextMessage(QStringLiteral(R"({"status":"connected","version":"a","identities":{}})"));
    REQUIRE(wait([&]() { return server.received.size() == 1; }));
    CHECK(QJsonDocument::fromJson(server.received[0].toUtf8()).object().value(QStringLiteral("id")).toInt() == 1);
    server.last()->abort();
    REQUIRE(wait([&]() { return server.sockets.size() == 2; }));
    server.last()->sendTextMessage(QStringLiteral(R"({"status":"connected","version":"b","identities":{}})"));
    REQUIRE(wait([&]() { return server.received.size() == 2; }));
    const QJsonObject create = QJsonDocument::fromJson(server.received[1].toUtf8()).object();
    CHECK(create.value(QStringLiteral("method")).toString() == QLatin1String("connection/create"));
    CHECK(create.value(QStringLiteral("id")).toInt() == 2);
    CHECK(client.epoch() == 2);
    CHECK(client.state() == ConnectionState::Streaming);
    client.close();
    CHECK(client.state() == ConnectionState::Closed);
}

TEST_CASE("websocket transport: a frame read while the owner's thread is busy is timed when the socket's thread read it")
{
    ScriptedServer server;
    SystemClock clock;
    QWebSocketTransport transport;
    ProtocolClient client(&transport, &clock);
    CHECK(transport.hasReadClock()); // the client gave it the system clock's thread-safe reader
    std::vector<ClientEvent> events;
    QObject::connect(&client, &ProtocolClient::clientEvent, [&](const ClientEvent& event) { events.push_back(event); });
    REQUIRE(client.connectDocument(chatDemoAt(server)));
    REQUIRE(wait([&]() { return server.sockets.size() == 1 && client.state() == ConnectionState::Handshaking; }));

    const qint64 sent = clock.nowNs();
    server.last()->sendTextMessage(QStringLiteral(R"({"status":"connected","version":"a","identities":{}})"));
    server.last()->flush(); // in the kernel now: the socket's thread reads it while this one is busy
    REQUIRE(readWithoutEventLoop(transport, 1));
    const qint64 seenRead = clock.nowNs();
    QThread::msleep(200);
    const qint64 woke = clock.nowNs();
    REQUIRE(wait([&]() { return client.state() == ConnectionState::Streaming; }));
    const auto hello = std::find_if(events.begin(), events.end(), [](const ClientEvent& e) { return e.kind == EventKind::Hello; });
    REQUIRE(hello != events.end());
    INFO("sent at " << sent << " ns, seen read at " << seenRead << " ns, the owner woke at " << woke << " ns, the hello is timed " << hello->monotonicNs << " ns");
    CHECK(hello->monotonicNs >= sent);
    CHECK(hello->monotonicNs <= seenRead);
    // The create it answers goes out after the owner woke, and after the hello in time.
    const auto create = std::find_if(events.begin(), events.end(), [](const ClientEvent& e) { return e.kind == EventKind::Request; });
    REQUIRE(create != events.end());
    CHECK(create->monotonicNs >= woke);
    for (std::size_t i = 1; i < events.size(); ++i)
        CHECK(events[i - 1].monotonicNs <= events[i].monotonicNs);
    client.close();
}

TEST_CASE("websocket transport: a slot may destroy the transport while a burst is still on its way")
{
    // Frames still wait, and more are still arriving, when the owner goes away inside a frame's
    // slot: nothing more is handed on, and nothing of it outlives the transport.
    ScriptedServer server;
    auto transport = std::make_unique<QWebSocketTransport>();
    QSignalSpy opened(transport.get(), &Transport::opened);
    transport->open(server.url());
    REQUIRE(wait([&]() { return opened.count() == 1 && server.last(); }));
    int handed = 0;
    QObject::connect(transport.get(), &Transport::textReceived, [&](const QByteArray&) {
        if (++handed == 10)
            transport.reset();
    });
    for (int i = 0; i < 5000; ++i)
        server.last()->sendTextMessage(QString::number(i));
    server.last()->flush();
    REQUIRE(wait([&]() { return !transport; }));
    wait([] { return false; }, 300); // batches posted before the end are dropped with it
    CHECK(handed == 10);
}

TEST_CASE("websocket transport: destroyed while connecting or refused, it says nothing and leaves nothing behind")
{
    ScriptedServer server;
    for (int round = 0; round < 20; ++round) {
        // Destroyed right after open(), before anything could be handed on, or while it connects.
        QWebSocketTransport transport;
        QSignalSpy opened(&transport, &Transport::opened);
        transport.open(round % 2 ? server.url() : QUrl(QStringLiteral("ws://127.0.0.1:1/~s")));
        if (round % 4 == 3)
            wait([] { return false; }, 5); // may have opened by now, or not
        else
            CHECK(opened.isEmpty()); // nothing is handed on without a turn of the event loop
    }
    // The server saw connections come and go; a last one still works.
    QWebSocketTransport transport;
    QSignalSpy opened(&transport, &Transport::opened);
    transport.open(server.url());
    CHECK(wait([&]() { return opened.count() == 1; }));
}

TEST_CASE("websocket transport: a clean close right before destruction still reaches the peer with its frames")
{
    ScriptedServer server;
    for (int round = 0; round < 5; ++round) {
        auto transport = std::make_unique<QWebSocketTransport>();
        QSignalSpy opened(transport.get(), &Transport::opened);
        transport->open(server.url());
        REQUIRE(wait([&]() { return opened.count() == 1 && server.sockets.size() == round + 1; }));
        QWebSocket* peer = server.last();
        QSignalSpy peerClosed(peer, &QWebSocket::disconnected);
        REQUIRE(transport->sendText("{\"last\":1}"));
        transport->close(Transport::CloseMode::Clean);
        transport.reset(); // the owner goes away at once, as LiveController does with the previous session
        REQUIRE(wait([&]() { return peerClosed.count() == 1; }));
        INFO("round " << round << " close code " << int(peer->closeCode()));
        CHECK(server.received.size() == round + 1);
        CHECK(peer->closeCode() == QWebSocketProtocol::CloseCodeNormal);
    }
}

TEST_CASE("websocket transport: a slot of closed() may destroy the transport")
{
    ScriptedServer server;
    auto* transport = new QWebSocketTransport;
    QSignalSpy opened(transport, &Transport::opened);
    transport->open(server.url());
    REQUIRE(wait([&]() { return opened.count() == 1 && server.last(); }));
    int texts = 0;
    bool gone = false;
    QObject::connect(transport, &Transport::textReceived, [&](const QByteArray&) { ++texts; });
    QObject::connect(transport, &Transport::closed, [&](const TransportCloseInfo&) {
        delete transport;
        gone = true;
    });
    server.last()->sendTextMessage(QStringLiteral("x"));
    server.last()->close();
    REQUIRE(wait([&]() { return gone; }));
    CHECK(texts == 1);
}
