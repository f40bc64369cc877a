#include <catch2/catch.hpp>

#include "core/faults/faultproxy.h"
#include "core/faults/websocketframe.h"
#include "tests/core/faults/scriptedserver.h"
#include "core/server/referenceserver.h"
#include "tests/support/testutils.h"

#include <QCoreApplication>
#include <QJsonDocument>
#include <QJsonArray>
#include <QJsonObject>
#include <QSslCertificate>
#include <QSslSocket>
#include <QTcpServer>
#include <QTcpSocket>
#include <QTest>

using namespace deltascope;
using namespace deltascope::faults;
using namespace std::chrono_literals;
using test::RecordingClient;
using test::ScriptedServer;
using test::waitUntil;

namespace {

struct Rig {
    ScriptedServer server;
    FaultProxy proxy;
    RecordingClient client;
    QList<FaultReport> reports;
    QList<QJsonObject> events;
    QList<QString> notApplied; // "FAULT: why", as faultNotApplied says it

    Rig()
    {
        REQUIRE(proxy.setUpstream(server.url()));
        REQUIRE(proxy.listen());
        QObject::connect(
            &proxy, &FaultProxy::faultInjected, &proxy, [this](const FaultReport& report) { reports.append(report); });
        QObject::connect(&proxy, &FaultProxy::faultNotApplied, &proxy,
            [this](const QString& fault, const QJsonObject&, const QString& why) { notApplied.append(fault + QStringLiteral(": ") + why); });
        QObject::connect(
            &proxy, &FaultProxy::connectionEvent, &proxy, [this](const QJsonObject& event) { events.append(event); });
    }
    void connect()
    {
        client.open(proxy.clientUrl());
        REQUIRE(waitUntil([&] { return client.messages.size() >= 1 && server.connectedCount() == 1; }, 5s));
        REQUIRE(client.messages.first().contains("\"connected\""));
    }
    void apply(const QString& fault, const QJsonObject& params = {})
    {
        QString error;
        REQUIRE(proxy.apply(fault, params, &error));
    }
    static QByteArray delta(int seq)
    {
        return QStringLiteral(R"({"deliver":1,"done":false,"response":{"delta":{"data":{"n":%1},"seq":%1}}})")
            .arg(seq)
            .toUtf8();
    }
    QList<int> seqsReceived() const
    {
        QList<int> seqs;
        for (const QByteArray& message : client.messages) {
            const QJsonObject json = QJsonDocument::fromJson(message).object();
            const QJsonValue seq = json.value(QLatin1String("response"))
                                       .toObject()
                                       .value(QLatin1String("delta"))
                                       .toObject()
                                       .value(QLatin1String("seq"));
            if (!seq.isUndefined())
                seqs.append(seq.toInt());
        }
        return seqs;
    }
};

QJsonObject params(const char* json) { return QJsonDocument::fromJson(json).object(); }

}

TEST_CASE("proxy: transparent both ways, fragmented and binary messages intact, counts frames")
{
    Rig rig;
    rig.connect();
    rig.client.socket.sendTextMessage(
        QStringLiteral(R"({"method":"connection/create","id":1,"identity":"anonymous:a","space":"s","key":"k"})"));
    REQUIRE(waitUntil([&] { return rig.server.received().size() == 1; }, 5s));
    CHECK(rig.server.received().first().contains("connection/create"));
    // A 300 kB message in 4 kB fragments, then a binary one.
    QByteArray big(300000, 'z');
    big.prepend(R"({"deliver":1,"done":false,"response":{"delta":{"data":{"blob":")");
    big.append(R"("},"seq":2}}})");
    rig.server.setFrameSize(4096);
    rig.server.sendToAll(big);
    rig.server.sendBinaryToAll(QByteArray("\x00\x01\x02", 3));
    REQUIRE(waitUntil([&] { return rig.client.messages.size() == 2 && rig.client.binary.size() == 1; }, 5s));
    CHECK(rig.client.messages[1] == big);
    CHECK(rig.client.binary.first() == QByteArray("\x00\x01\x02", 3));
    CHECK(rig.proxy.stats().framesToClient >= 3);
    CHECK(rig.reports.isEmpty());
    bool upgraded = false;
    for (const QJsonObject& event : rig.events)
        upgraded = upgraded || event.value(QLatin1String("event")).toString() == QLatin1String("upgraded");
    CHECK(upgraded);
}

TEST_CASE("proxy: permessage-deflate is stripped from the upgrade and the event says so")
{
    Rig rig;
    QTcpSocket raw;
    raw.connectToHost(QHostAddress::LocalHost, rig.proxy.port());
    REQUIRE(raw.waitForConnected(3000));
    raw.write("GET /~s HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
              "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
              "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n\r\n");
    QByteArray response;
    REQUIRE(waitUntil(
        [&] {
            response += raw.readAll();
            return response.contains("\r\n\r\n");
        },
        5s));
    CHECK(response.startsWith("HTTP/1.1 101"));
    CHECK(!response.toLower().contains("sec-websocket-extensions"));
    bool stripped = false;
    for (const QJsonObject& event : rig.events)
        stripped = stripped
            || event.value(QLatin1String("extensionsStripped"))
                   .toString()
                   .contains(QLatin1String("permessage-deflate"));
    CHECK(stripped);
    raw.abort();
    CHECK(waitUntil([&] { return rig.proxy.connectionCount() == 0; }, 5s));
}

TEST_CASE("proxy: drop with RST and with FIN reach the client as a reset and as a close")
{
    for (const char* mode : { "rst", "fin" }) {
        Rig rig;
        QTcpSocket raw;
        raw.connectToHost(QHostAddress::LocalHost, rig.proxy.port());
        REQUIRE(raw.waitForConnected(3000));
        REQUIRE(waitUntil([&] { return rig.proxy.connectionCount() == 1; }, 5s));
        QAbstractSocket::SocketError seen = QAbstractSocket::UnknownSocketError;
        QObject::connect(
            &raw, &QTcpSocket::errorOccurred, &raw, [&](QAbstractSocket::SocketError error) { seen = error; });
        rig.apply(QStringLiteral("drop"), { { QStringLiteral("mode"), QLatin1String(mode) } });
        REQUIRE(waitUntil([&] { return raw.state() == QAbstractSocket::UnconnectedState; }, 5s));
        if (QByteArrayView(mode) == "rst")
            CHECK(
                seen == QAbstractSocket::RemoteHostClosedError); // Qt reports ECONNRESET on read as a remote close too
        REQUIRE(rig.reports.size() == 1);
        CHECK(rig.reports.first().fault == QStringLiteral("drop"));
        CHECK(rig.reports.first().params.value(QLatin1String("mode")).toString() == QLatin1String(mode));
        CHECK(waitUntil([&] { return rig.proxy.connectionCount() == 0 && rig.server.connectedCount() == 0; }, 5s));
    }
}

TEST_CASE("proxy: half-open stall keeps TCP open and silent, then delivers in order")
{
    Rig rig;
    rig.connect();
    rig.apply(QStringLiteral("stall"), params(R"({"durationMs":1500})"));
    CHECK(rig.proxy.isStalled());
    for (int seq = 1; seq <= 3; ++seq)
        rig.server.sendToAll(Rig::delta(seq));
    rig.client.socket.sendTextMessage(QStringLiteral(R"({"ping":1,"latency":"0","pong":true})"));
    // Silence while stalled; nothing closes.
    CHECK_FALSE(waitUntil([&] { return rig.client.messages.size() > 1 || !rig.server.received().isEmpty(); }, 250ms));
    CHECK(rig.client.connected());
    CHECK(rig.server.connectedCount() == 1);
    REQUIRE(waitUntil([&] { return rig.client.messages.size() == 4 && rig.server.received().size() == 1; }, 5s));
    CHECK(rig.seqsReceived() == QList<int> { 1, 2, 3 });
    REQUIRE(rig.reports.size() == 2);
    CHECK(rig.reports[0].fault == QStringLiteral("stall"));
    CHECK(rig.reports[1].fault == QStringLiteral("clear-stall"));
}

TEST_CASE("proxy: one-way stall silences only that direction, a close waits behind it")
{
    Rig rig;
    rig.connect();
    rig.apply(QStringLiteral("stall"), params(R"({"direction":"inbound"})"));
    rig.server.sendToAll(Rig::delta(1));
    rig.client.socket.sendTextMessage(QStringLiteral("{\"method\":\"probe\",\"id\":5}"));
    REQUIRE(waitUntil([&] { return rig.server.received().size() == 1; }, 5s));
    CHECK(rig.client.messages.size() == 1);
    rig.apply(QStringLiteral("clear-stall"));
    REQUIRE(waitUntil([&] { return rig.client.messages.size() == 2; }, 5s));
}

TEST_CASE("proxy: latency with jitter delays and keeps order, bandwidth cap and slicing")
{
    SECTION("latency")
    {
        Rig rig;
        rig.connect();
        rig.apply(QStringLiteral("latency"), params(R"({"ms":150,"jitterMs":20,"direction":"inbound"})"));
        const qint64 sent = rig.client.clock.elapsed();
        for (int seq = 1; seq <= 5; ++seq)
            rig.server.sendToAll(Rig::delta(seq));
        REQUIRE(waitUntil([&] { return rig.client.messages.size() == 6; }, 5s));
        CHECK(rig.client.times[1] - sent >= 145);
        CHECK(rig.seqsReceived() == QList<int> { 1, 2, 3, 4, 5 });
        // The report says what was set, not only that something was.
        REQUIRE_FALSE(rig.reports.isEmpty());
        CHECK(rig.reports.back().detail == QStringLiteral("latency set to 150 ms \u00B120 ms (inbound)"));
    }
    SECTION("bandwidth")
    {
        Rig rig;
        rig.connect();
        rig.apply(QStringLiteral("bandwidth"), params(R"({"bytesPerSecond":200000})"));
        REQUIRE(waitUntil([&] { return !rig.reports.isEmpty() && rig.reports.back().fault == QStringLiteral("bandwidth"); }, 5s));
        CHECK(rig.reports.back().detail == QStringLiteral("bandwidth capped at 200000 bytes/s (both directions)"));
        const qint64 sent = rig.client.clock.elapsed();
        rig.server.sendToAll(QByteArray(100000, 'b').prepend("\"").append("\""));
        REQUIRE(waitUntil([&] { return rig.client.messages.size() == 2; }, 10s));
        CHECK(rig.client.times[1] - sent >= 400);
        CHECK(rig.client.messages[1].size() == 100002);
    }
    SECTION("slicing")
    {
        Rig rig;
        rig.connect();
        rig.apply(QStringLiteral("slice"), params(R"({"segmentBytes":64,"gapMs":2,"direction":"inbound"})"));
        const qint64 sent = rig.client.clock.elapsed();
        const QByteArray payload = QByteArray(2000, 's').prepend("\"").append("\"");
        rig.server.sendToAll(payload);
        REQUIRE(waitUntil([&] { return rig.client.messages.size() == 2; }, 10s));
        CHECK(rig.client.messages[1] == payload);
        CHECK(rig.client.times[1] - sent >= 2 * (2004 / 64) - 5); // ~32 segments, 2 ms apart
    }
}

TEST_CASE("proxy: refuse the next connects (reset, black hole), then let them through")
{
    Rig rig;
    rig.apply(QStringLiteral("refuse"), params(R"({"count":1})"));
    QTcpSocket refused;
    refused.connectToHost(QHostAddress::LocalHost, rig.proxy.port());
    refused.write("GET /~s HTTP/1.1\r\nHost: x\r\n\r\n");
    REQUIRE(
        waitUntil([&] { return rig.reports.size() == 1 && refused.state() == QAbstractSocket::UnconnectedState; }, 5s));
    CHECK(rig.server.acceptedCount() == 0);
    REQUIRE(rig.reports.size() == 1);
    CHECK(rig.reports.first().fault == QStringLiteral("refuse"));

    rig.apply(QStringLiteral("refuse"), params(R"({"count":1,"mode":"black-hole","holdMs":300})"));
    RecordingClient holed;
    holed.open(rig.proxy.clientUrl());
    REQUIRE(waitUntil([&] { return rig.proxy.heldSocketCount() == 1; }, 5s));
    CHECK_FALSE(waitUntil([&] { return holed.connected(); }, 100ms));
    REQUIRE(waitUntil([&] { return rig.proxy.heldSocketCount() == 0; }, 5s));

    rig.connect();
    CHECK(rig.server.acceptedCount() == 1);
}

TEST_CASE("proxy: refuse count counts client connection attempts, one report each")
{
    // Reset at accept, the RST could beat Qt's connect-completion check; Qt then called connect()
    // again on the same socket, and one attempt made up to 4 TCP connects, each a refusal.
    Rig rig;
    constexpr int kAttempts = 20;
    rig.apply(QStringLiteral("refuse"), params(R"({"count":20})"));
    for (int attempt = 1; attempt <= kAttempts; ++attempt) {
        RecordingClient client;
        client.open(rig.proxy.clientUrl());
        REQUIRE(waitUntil([&] { return !client.errors.isEmpty() || client.disconnects > 0; }, 5s));
        REQUIRE(rig.reports.size() == attempt);
    }
    CHECK(rig.proxy.stats().connections == quint64(kAttempts));
    CHECK(rig.reports.last().params.value(QLatin1String("remaining")).toInt() == 0);
    rig.connect(); // the next attempt goes through
    CHECK(rig.server.acceptedCount() == 1);
}

TEST_CASE("proxy: a server that is down resets the client, says why, and Qt has nothing to warn about")
{
    QTcpServer closedPort;
    REQUIRE(closedPort.listen(QHostAddress::LocalHost, 0));
    const quint16 port = closedPort.serverPort();
    closedPort.close();
    FaultProxy proxy;
    REQUIRE(proxy.setUpstream(QUrl(QStringLiteral("ws://127.0.0.1:%1/~s").arg(port))));
    REQUIRE(proxy.listen());
    QList<QJsonObject> events;
    QObject::connect(&proxy, &FaultProxy::connectionEvent, &proxy, [&](const QJsonObject& event) { events.append(event); });
    QStringList notes;
    int outages = 0;
    QObject::connect(&proxy, &FaultProxy::upstreamFailed, &proxy, [&](const QString& note, const QString&, bool outageStarts) {
        notes.append(note);
        outages += outageStarts;
    });

    // Bytes a socket buffered while connecting used to be flushed after the refused connect,
    // and Qt printed "write() was not called in ConnectedState" for each.
    static QStringList warnings;
    warnings.clear();
    const QtMessageHandler previous = qInstallMessageHandler([](QtMsgType type, const QMessageLogContext&, const QString& text) {
        if (type != QtDebugMsg && type != QtInfoMsg)
            warnings.append(text);
    });
    for (int attempt = 0; attempt < 5; ++attempt) {
        QTcpSocket client;
        client.connectToHost(QHostAddress::LocalHost, proxy.port());
        // The upgrade request at once, before the proxy's upstream connect has failed.
        client.write("GET /~s HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                     "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n");
        REQUIRE(waitUntil([&] { return client.state() == QAbstractSocket::UnconnectedState; }, 5s));
        CHECK(client.error() == QAbstractSocket::RemoteHostClosedError); // a reset, as from a refusing host
    }
    QTest::qWait(50); // anything the sockets still had to flush
    qInstallMessageHandler(previous);
    CHECK(warnings.isEmpty());
    INFO(warnings.join(QLatin1Char('\n')).toStdString());
    int failed = 0;
    for (const QJsonObject& event : events) {
        if (event.value(u"event").toString() == QLatin1String("upstream-failed")) {
            ++failed;
            CHECK(event.value(u"error").toString().contains(QStringLiteral("refused"), Qt::CaseInsensitive));
        }
    }
    CHECK(failed == 5);
    REQUIRE(notes.size() == 5);
    CHECK(notes.last().contains(QStringLiteral("ws://127.0.0.1:%1/~s").arg(port)));
    CHECK(outages == 1); // one outage: a notice is due once
}

TEST_CASE("proxy: drop, duplicate, delay and reorder the nth delta, labelled corrupting where the tree suffers")
{
    SECTION("drop the 2nd delta")
    {
        Rig rig;
        rig.connect();
        rig.apply(QStringLiteral("drop-message"), params(R"({"kind":"delta","nth":2})"));
        for (int seq = 1; seq <= 4; ++seq)
            rig.server.sendToAll(Rig::delta(seq));
        REQUIRE(waitUntil([&] { return rig.client.messages.size() == 4; }, 5s));
        CHECK(rig.seqsReceived() == QList<int> { 1, 3, 4 });
        REQUIRE(rig.reports.size() == 1);
        CHECK(rig.reports.first().corrupting);
        CHECK(rig.reports.first().detail.contains(QStringLiteral("seq 2")));
        CHECK(rig.proxy.armedMessageFaultCount() == 0);
    }
    SECTION("duplicate a plain merge: not corrupting; an @o delta: corrupting")
    {
        Rig rig;
        rig.connect();
        rig.apply(QStringLiteral("duplicate-message"), params(R"({"kind":"delta","count":2})"));
        rig.server.sendToAll(Rig::delta(1));
        rig.server.sendToAll(
            R"({"deliver":1,"done":false,"response":{"delta":{"data":{"l":{"4":{"a":1},"@o":[4,[0,2]]}},"seq":2}}})");
        REQUIRE(waitUntil([&] { return rig.client.messages.size() == 5; }, 5s));
        CHECK(rig.seqsReceived() == QList<int> { 1, 1, 2, 2 });
        REQUIRE(rig.reports.size() == 2);
        CHECK_FALSE(rig.reports[0].corrupting);
        CHECK(rig.reports[1].corrupting);
    }
    SECTION("delay lets later deltas pass: reported on release with how many passed")
    {
        Rig rig;
        rig.connect();
        rig.apply(QStringLiteral("delay-message"), params(R"({"kind":"delta","nth":1,"ms":200})"));
        for (int seq = 1; seq <= 3; ++seq)
            rig.server.sendToAll(Rig::delta(seq));
        REQUIRE(waitUntil([&] { return rig.client.messages.size() == 4; }, 5s));
        CHECK(rig.seqsReceived() == QList<int> { 2, 3, 1 });
        REQUIRE(rig.reports.size() == 1);
        CHECK(rig.reports.first().corrupting);
        CHECK(rig.reports.first().params.value(QLatin1String("deltasPassed")).toInt() == 2);
        CHECK(rig.reports.first().params.value(QLatin1String("heldMs")).toInt() >= 190);
    }
    SECTION("reorder by one")
    {
        Rig rig;
        rig.connect();
        rig.apply(QStringLiteral("reorder-message"), params(R"({"kind":"delta","nth":2,"by":1})"));
        for (int seq = 1; seq <= 4; ++seq)
            rig.server.sendToAll(Rig::delta(seq));
        REQUIRE(waitUntil([&] { return rig.client.messages.size() == 5; }, 5s));
        CHECK(rig.seqsReceived() == QList<int> { 1, 3, 2, 4 });
        REQUIRE(rig.reports.size() == 1);
        CHECK(rig.reports.first().corrupting);
    }
    SECTION("a where predicate picks the frame")
    {
        Rig rig;
        rig.connect();
        rig.apply(QStringLiteral("drop-message"),
            params(R"({"kind":"stream-item","where":{"path":"$.response.delta.seq","op":"gte","value":3},"count":0})"));
        for (int seq = 1; seq <= 4; ++seq)
            rig.server.sendToAll(Rig::delta(seq));
        rig.server.sendToAll(R"({"deliver":1,"done":false,"response":{"delta":{"seq":5}}})");
        rig.server.sendToAll(R"({"deliver":1,"done":false,"response":{"delta":{"log":"x"}}})");
        REQUIRE(waitUntil([&] { return rig.client.messages.size() == 4; }, 5s));
        CHECK_FALSE(waitUntil([&] { return rig.client.messages.size() > 4; }, 100ms));
        CHECK(rig.seqsReceived() == QList<int> { 1, 2 });
        REQUIRE(rig.reports.size() == 3);
        CHECK(rig.reports[0].corrupting);
        CHECK_FALSE(rig.reports[2].corrupting); // a seq-only item changes no tree
    }
    SECTION("outbound requests")
    {
        Rig rig;
        rig.connect();
        rig.apply(QStringLiteral("drop-message"), params(R"({"kind":"send"})"));
        rig.client.socket.sendTextMessage(
            QStringLiteral(R"({"method":"connection/send","id":2,"connection":1,"channel":"c","message":{}})"));
        rig.client.socket.sendTextMessage(
            QStringLiteral(R"({"method":"connection/send","id":3,"connection":1,"channel":"c","message":{}})"));
        REQUIRE(waitUntil([&] { return rig.server.received().size() == 1; }, 5s));
        CHECK(rig.server.received().first().contains("\"id\":3"));
        REQUIRE(rig.reports.size() == 1);
        CHECK_FALSE(rig.reports.first().corrupting);
    }
}

TEST_CASE("proxy: corrupt frames in each mode")
{
    SECTION("json: the text is no longer JSON")
    {
        Rig rig;
        rig.connect();
        rig.apply(QStringLiteral("corrupt-frame"), params(R"({"kind":"delta","mode":"json"})"));
        rig.server.sendToAll(Rig::delta(1));
        REQUIRE(waitUntil([&] { return rig.client.messages.size() == 2; }, 5s));
        QJsonParseError error;
        QJsonDocument::fromJson(rig.client.messages[1], &error);
        CHECK(error.error != QJsonParseError::NoError);
        REQUIRE(rig.reports.size() == 1);
        CHECK(rig.reports.first().corrupting);
    }
    SECTION("binary")
    {
        Rig rig;
        rig.connect();
        rig.apply(QStringLiteral("corrupt-frame"), params(R"({"kind":"delta","mode":"binary"})"));
        rig.server.sendToAll(Rig::delta(1));
        REQUIRE(waitUntil([&] { return rig.client.binary.size() == 1; }, 5s));
        // A client logs a binary frame as malformed and keeps the socket (ProtocolClient::onBinary;
        // the JS client's JSON.parse throws in onmessage): the delta is lost without a resync.
        QTest::qWait(100);
        CHECK(rig.client.connected());
        REQUIRE(rig.reports.size() == 1);
        CHECK(rig.reports.first().corrupting);
    }
    SECTION("truncate: half the JSON, lost as json is")
    {
        Rig rig;
        rig.connect();
        rig.apply(QStringLiteral("corrupt-frame"), params(R"({"kind":"delta","mode":"truncate"})"));
        rig.server.sendToAll(Rig::delta(1));
        REQUIRE(waitUntil([&] { return rig.client.messages.size() == 2; }, 5s));
        REQUIRE(rig.reports.size() == 1);
        CHECK(rig.reports.first().corrupting);
    }
    SECTION("utf8: the client must fail the connection (1007), so it resyncs")
    {
        Rig rig;
        rig.connect();
        rig.apply(QStringLiteral("corrupt-frame"), params(R"({"kind":"delta","mode":"utf8"})"));
        rig.server.sendToAll(Rig::delta(1));
        REQUIRE(waitUntil([&] { return rig.client.disconnects > 0; }, 5s));
        CHECK(rig.client.messages.size() == 1);
        REQUIRE(rig.reports.size() == 1);
        CHECK_FALSE(rig.reports.first().corrupting);
    }
    SECTION("rsv: the client must fail the connection")
    {
        Rig rig;
        rig.connect();
        rig.apply(QStringLiteral("corrupt-frame"), params(R"({"kind":"delta","mode":"rsv"})"));
        rig.server.sendToAll(Rig::delta(1));
        REQUIRE(waitUntil([&] { return rig.client.disconnects > 0; }, 5s));
        CHECK(rig.client.messages.size() == 1);
        CHECK(waitUntil([&] { return rig.proxy.connectionCount() == 0; }, 5s));
        REQUIRE(rig.reports.size() == 1);
        CHECK_FALSE(rig.reports.first().corrupting);
    }
}

TEST_CASE("proxy: rewrite the hello version on the next connection only")
{
    Rig rig;
    rig.apply(QStringLiteral("rewrite-version"), params(R"({"version":"v2","connections":1})"));
    rig.connect();
    CHECK(QJsonDocument::fromJson(rig.client.messages.first()).object().value(QLatin1String("version")).toString()
        == QLatin1String("v2"));
    // Reported when set (what the user did), then when the hello passed (what it did); only the
    // rewrite counts as a fault applied.
    REQUIRE(rig.reports.size() == 2);
    CHECK(rig.reports[0].detail == QStringLiteral("the next 1 hello(s) will say version 'v2'"));
    CHECK(rig.reports[0].announcement);
    CHECK(rig.reports[1].params.value(QLatin1String("from")).toString() == QLatin1String("v1"));
    CHECK_FALSE(rig.reports[1].announcement);
    CHECK(rig.proxy.stats().faults == 1);
    RecordingClient second;
    second.open(rig.proxy.clientUrl());
    REQUIRE(waitUntil([&] { return !second.messages.isEmpty(); }, 5s));
    CHECK(QJsonDocument::fromJson(second.messages.first()).object().value(QLatin1String("version")).toString()
        == QLatin1String("v1"));
}

TEST_CASE("proxy: a version rewrite no hello passed through is reported not applied")
{
    Rig rig;
    QList<QString>& notApplied = rig.notApplied;
    rig.connect(); // its hello passed before the rewrite was set
    rig.apply(QStringLiteral("rewrite-version"), params(R"({"version":"v2","connections":1})"));
    REQUIRE(rig.reports.size() == 1);
    CHECK(rig.proxy.stats().faults == 0);
    rig.apply(QStringLiteral("clear"));
    REQUIRE(notApplied.size() == 1);
    CHECK(notApplied.first() == QStringLiteral("rewrite-version: no new connection's hello passed the proxy before it was cleared"));
    rig.proxy.shutdown();
    CHECK(notApplied.size() == 1); // said once
    CHECK(rig.reports.first().toJson().value(QLatin1String("announcement")).toBool()); // in the logs and captures too
}

TEST_CASE("proxy: a version rewrite replaced by another before any hello passed is reported not applied")
{
    Rig rig;
    QList<QString>& notApplied = rig.notApplied;
    rig.apply(QStringLiteral("rewrite-version"), params(R"({"version":"v2"})"));
    rig.apply(QStringLiteral("rewrite-version"), params(R"({"version":"v3","connections":1})"));
    REQUIRE(notApplied.size() == 1);
    CHECK(notApplied.first() == QStringLiteral("rewrite-version: no new connection's hello passed the proxy before another rewrite-version replaced it"));
    rig.connect(); // the second one acts
    CHECK(QJsonDocument::fromJson(rig.client.messages.first()).object().value(QLatin1String("version")).toString() == QLatin1String("v3"));
    rig.proxy.shutdown();
    CHECK(notApplied.size() == 1);
}

TEST_CASE("proxy: inject reload, failure and status disconnected")
{
    Rig rig;
    rig.connect();
    rig.client.socket.sendTextMessage(
        QStringLiteral(R"({"method":"connection/create","id":7,"identity":"anonymous:a","space":"s","key":"k"})"));
    REQUIRE(waitUntil([&] { return rig.server.received().size() == 1; }, 5s));
    rig.apply(QStringLiteral("inject-reload"));
    REQUIRE(waitUntil([&] { return rig.client.messages.size() == 2; }, 5s));
    const QJsonObject reload = QJsonDocument::fromJson(rig.client.messages[1]).object();
    CHECK(reload.value(QLatin1String("deliver")).toInt() == 7);
    CHECK(reload.value(QLatin1String("response"))
              .toObject()
              .value(QLatin1String("delta"))
              .toObject()
              .contains(QLatin1String("reload")));

    rig.apply(QStringLiteral("inject-failure"), params(R"({"code":928828})"));
    REQUIRE(waitUntil([&] { return rig.client.messages.size() == 3; }, 5s));
    const QJsonObject failure = QJsonDocument::fromJson(rig.client.messages[2]).object();
    CHECK(failure.value(QLatin1String("failure")).toInt() == 7);
    CHECK(failure.value(QLatin1String("reason")).toInt() == 928828);
    CHECK(failure.value(QLatin1String("retry")).toBool());
    // The server's later items for the failed stream are swallowed; others pass.
    rig.server.sendToAll(R"({"deliver":7,"done":false,"response":{"delta":{"seq":9}}})");
    rig.server.sendToAll(R"({"deliver":8,"done":true,"response":{}})");
    REQUIRE(waitUntil([&] { return rig.client.messages.size() == 4; }, 5s));
    CHECK(rig.client.messages[3].contains("\"deliver\":8"));

    rig.apply(QStringLiteral("inject-disconnected"));
    REQUIRE(waitUntil([&] { return rig.client.disconnects == 1; }, 5s));
    CHECK(rig.client.messages.last().contains("keepalive-failure"));
    CHECK(waitUntil([&] { return rig.proxy.connectionCount() == 0 && rig.server.connectedCount() == 0; }, 5s));
    CHECK(rig.reports.size() == 3);
}

TEST_CASE("proxy: an inject applied before its stream exists waits for the connection/create, then acts and says so")
{
    // watch --fault applies as the client sends connection/create, before the proxy forwarded it:
    // an inject used to find no stream, do nothing, report nothing and return true.
    Rig rig;
    QList<QString>& notApplied = rig.notApplied;
    rig.apply(QStringLiteral("inject-failure"), params(R"({"code":403403})"));
    rig.apply(QStringLiteral("inject-disconnected"), params(R"({"close":false})"));
    CHECK(rig.proxy.waitingInjectCount() == 2);
    CHECK(rig.reports.isEmpty());
    rig.connect();
    // The hello has passed: inject-disconnected acts right behind it.
    REQUIRE(waitUntil([&] { return rig.client.messages.size() == 2; }, 5s));
    CHECK(rig.client.messages[1].contains("\"disconnected\""));
    REQUIRE(rig.reports.size() == 1);
    CHECK(rig.reports[0].fault == QStringLiteral("inject-disconnected"));
    CHECK(rig.proxy.waitingInjectCount() == 1);
    rig.client.socket.sendTextMessage(
        QStringLiteral(R"({"method":"connection/create","id":3,"identity":"anonymous:a","space":"s","key":"k"})"));
    REQUIRE(waitUntil([&] { return rig.client.messages.size() == 3; }, 5s));
    const QJsonObject failure = QJsonDocument::fromJson(rig.client.messages[2]).object();
    CHECK(failure.value(QLatin1String("failure")).toInt() == 3);
    CHECK(failure.value(QLatin1String("reason")).toInt() == 403403);
    CHECK_FALSE(failure.value(QLatin1String("retry")).toBool());
    REQUIRE(rig.reports.size() == 2);
    // Reported when it acted, with the stream it acted on.
    CHECK(rig.reports[1].fault == QStringLiteral("inject-failure"));
    CHECK(rig.reports[1].params.value(QLatin1String("requestId")).toInteger() == 3);
    CHECK(rig.reports[1].params.value(QLatin1String("code")).toInteger() == 403403);
    CHECK(rig.server.received().size() == 1); // the create itself went on to the server
    CHECK(rig.proxy.waitingInjectCount() == 0);

    // One whose stream never comes is said not applied when the proxy stops.
    rig.apply(QStringLiteral("inject-reload"), params(R"({"requestId":99})"));
    CHECK(rig.reports.size() == 2);
    rig.proxy.shutdown();
    REQUIRE(notApplied.size() == 1);
    CHECK(notApplied.first()
        == QStringLiteral("inject-reload: no connection/create with id 99 passed the proxy before the proxy stopped"));
    CHECK(rig.proxy.waitingInjectCount() == 0);
}

TEST_CASE("proxy: a message fault cleared before its frame came is said not applied, one that acted is not")
{
    Rig rig;
    QList<QString>& notApplied = rig.notApplied;
    rig.apply(QStringLiteral("duplicate-message"), params(R"({"kind":"hello"})"));
    rig.apply(QStringLiteral("drop-message"), params(R"({"kind":"delta","nth":3})"));
    rig.connect();
    REQUIRE(waitUntil([&] { return rig.reports.size() == 1; }, 5s)); // the hello, sent twice
    rig.proxy.clearAll();
    REQUIRE(notApplied.size() == 1);
    CHECK(notApplied.first()
        == QStringLiteral("drop-message: its frame never came (0 matching frame(s) passed, it waited for number 3) before it was cleared"));
}

TEST_CASE("proxy: hold pings back, then drop or deliver them")
{
    for (const bool deliver : { false, true }) {
        Rig rig;
        rig.connect();
        rig.apply(QStringLiteral("hold-pings"),
            { { QStringLiteral("release"), deliver ? QStringLiteral("deliver") : QStringLiteral("drop") } });
        rig.server.startPings(20);
        rig.server.sendToAll(Rig::delta(1));
        REQUIRE(waitUntil([&] { return rig.client.messages.size() == 2; }, 5s));
        CHECK_FALSE(waitUntil([&] { return rig.client.messages.size() > 2; }, 150ms));
        rig.server.stopPings();
        rig.apply(QStringLiteral("release-pings"));
        if (deliver)
            CHECK(waitUntil([&] { return rig.client.messages.size() > 3; }, 5s));
        else
            CHECK_FALSE(waitUntil([&] { return rig.client.messages.size() > 2; }, 100ms));
        REQUIRE(rig.reports.size() == 2);
        CHECK(rig.reports[1].params.value(QLatin1String("held")).toInt() >= 3);
    }
}

TEST_CASE("proxy: garbage bytes and peers vanishing mid-frame neither crash it nor leak sockets")
{
    SECTION("garbage from a client that is not WebSocket at all")
    {
        Rig rig;
        QTcpSocket raw;
        raw.connectToHost(QHostAddress::LocalHost, rig.proxy.port());
        REQUIRE(raw.waitForConnected(3000));
        QByteArray garbage(70000, '\0');
        for (qsizetype i = 0; i < garbage.size(); ++i)
            garbage[i] = char((i * 7919) & 0xFF);
        raw.write(garbage);
        REQUIRE(
            waitUntil([&] { return raw.state() == QAbstractSocket::UnconnectedState || rig.events.size() >= 2; }, 5s));
        raw.abort();
        CHECK(waitUntil([&] { return rig.proxy.connectionCount() == 0; }, 5s));
    }
    SECTION("garbage after a good upgrade: raw fallback, the server hangs up")
    {
        Rig rig;
        rig.connect();
        QPointer<QWebSocket> serverSide = rig.server.sockets().first();
        // Write an invalid frame (reserved opcode) straight onto the client's TCP connection.
        QTcpSocket raw;
        raw.connectToHost(QHostAddress::LocalHost, rig.proxy.port());
        REQUIRE(raw.waitForConnected(3000));
        raw.write("GET /~s HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                  "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n");
        REQUIRE(waitUntil([&] { return raw.bytesAvailable() > 0; }, 5s));
        raw.readAll();
        raw.write(QByteArray("\x83\x85garbagegarbage", 16));
        bool fallback = false;
        REQUIRE(waitUntil(
            [&] {
                for (const QJsonObject& event : rig.events)
                    fallback
                        = fallback || event.value(QLatin1String("event")).toString() == QLatin1String("raw-fallback");
                return fallback;
            },
            5s));
        REQUIRE(waitUntil([&] { return raw.state() == QAbstractSocket::UnconnectedState; }, 5s));
        // The first client is unaffected.
        rig.server.sendToAll(Rig::delta(1));
        REQUIRE(waitUntil([&] { return rig.client.messages.size() >= 2; }, 5s));
    }
    SECTION("server vanishes in the middle of a frame")
    {
        Rig rig;
        rig.connect();
        rig.server.sendToAll(QByteArray(200000, 'v').prepend("\"").append("\""));
        QPointer<QWebSocket> serverSide = rig.server.sockets().first();
        REQUIRE(serverSide);
        // Let part of the frame out, then kill the server's socket.
        QCoreApplication::processEvents();
        serverSide->abort();
        REQUIRE(waitUntil([&] { return rig.client.disconnects > 0 || rig.client.messages.size() == 2; }, 5s));
        rig.client.socket.abort();
        CHECK(waitUntil([&] { return rig.proxy.connectionCount() == 0; }, 5s));
    }
    SECTION("client vanishes mid-frame")
    {
        Rig rig;
        QTcpSocket raw;
        raw.connectToHost(QHostAddress::LocalHost, rig.proxy.port());
        REQUIRE(raw.waitForConnected(3000));
        raw.write("GET /~s HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                  "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n");
        REQUIRE(waitUntil([&] { return raw.bytesAvailable() > 0; }, 5s));
        const QByteArray frame = encodeFrame(quint8(WsOpcode::Text), QByteArray(1000, 'c'), true, true, 42);
        raw.write(frame.left(300));
        raw.flush();
        QCoreApplication::processEvents();
        raw.abort();
        CHECK(waitUntil([&] { return rig.proxy.connectionCount() == 0 && rig.server.connectedCount() == 0; }, 5s));
    }
    SECTION("upstream that is not there")
    {
        FaultProxy proxy;
        QTcpServer placeholder;
        REQUIRE(placeholder.listen(QHostAddress::LocalHost, 0));
        const quint16 deadPort = placeholder.serverPort();
        placeholder.close();
        REQUIRE(proxy.setUpstream(QUrl(QStringLiteral("ws://127.0.0.1:%1/~s").arg(deadPort))));
        REQUIRE(proxy.listen());
        RecordingClient client;
        client.open(proxy.clientUrl());
        REQUIRE(waitUntil([&] { return !client.errors.isEmpty() || client.disconnects > 0; }, 5s));
        CHECK(waitUntil([&] { return proxy.connectionCount() == 0; }, 5s));
    }
}

TEST_CASE("proxy: bad arguments are refused with reasons")
{
    FaultProxy proxy;
    QString error;
    CHECK_FALSE(proxy.setUpstream(QUrl(QStringLiteral("http://example.org/~s")), &error));
    CHECK(error.contains(QStringLiteral("neither a ws:// nor a wss:// URL")));
    CHECK_FALSE(proxy.listen(QHostAddress(QStringLiteral("0.0.0.0")), 0, &error));
    CHECK(error.contains(QStringLiteral("loopback")));
    CHECK_FALSE(proxy.apply(QStringLiteral("drop"), params(R"({"mode":"gentle"})"), &error));
    CHECK(error == QStringLiteral("$.params.mode: expected one of rst, fin, got 'gentle'"));
    CHECK_FALSE(proxy.apply(QStringLiteral("explode"), {}, &error));
    CHECK(error.startsWith(QStringLiteral("$.fault: unknown fault 'explode'")));
    CHECK_FALSE(proxy.apply(QStringLiteral("latency"), {}, &error));
    CHECK(error == QStringLiteral("$.params.ms: required parameter of 'latency' is missing"));
    CHECK_FALSE(
        proxy.apply(QStringLiteral("drop-message"), params(R"({"kind":"ping","direction":"outbound"})"), &error));
    CHECK(error.contains(QStringLiteral("never travel outbound")));
    CHECK_FALSE(proxy.apply(QStringLiteral("drop-message"), params(R"({"nth":0})"), &error));
    CHECK(error.contains(QStringLiteral("counts from 1")));
}

TEST_CASE("proxy: a wss upstream, with the certificate verified unless insecure")
{
    if (!QSslSocket::supportsSsl()) {
        WARN("no TLS backend: wss upstream test skipped");
        return;
    }
    const QString certificatePath = test::sourceDir() + QStringLiteral("/tests/data/server/localhost.crt");
    deltascope::server::ServerOptions options;
    options.botsPaused = true;
    options.tlsCertificate = certificatePath;
    options.tlsKey = test::sourceDir() + QStringLiteral("/tests/data/server/localhost.key");
    deltascope::server::ReferenceServer server(options);
    REQUIRE(server.listen() != 0);
    REQUIRE(server.url().startsWith(QLatin1String("wss://127.0.0.1:")));
    const QList<QSslCertificate> testCa = QSslCertificate::fromData(test::readFileOrFail(certificatePath), QSsl::Pem);
    REQUIRE(testCa.size() == 1);

    enum class Trust { Default, Insecure, TestCa };
    for (const Trust trust : { Trust::Default, Trust::Insecure, Trust::TestCa }) {
        INFO("trust " << int(trust));
        FaultProxy proxy;
        REQUIRE(proxy.setUpstream(QUrl(server.url())));
        proxy.setInsecure(trust == Trust::Insecure);
        if (trust == Trust::TestCa)
            proxy.setCaCertificates(testCa);
        proxy.setObserveFrames(true);
        REQUIRE(proxy.listen());
        CHECK(proxy.clientUrl().scheme() == QLatin1String("ws")); // clients stay on plain ws to the proxy
        QList<QJsonObject> events;
        int hellosSeen = 0;
        QObject::connect(&proxy, &FaultProxy::connectionEvent, &proxy, [&events](const QJsonObject& event) { events.append(event); });
        QObject::connect(&proxy, &FaultProxy::frameObserved, &proxy, [&hellosSeen](const ObservedFrame& frame) {
            hellosSeen += frame.json.value(QLatin1String("status")).toString() == QLatin1String("connected") ? 1 : 0;
        });
        const auto eventNamed = [&events](const QString& name) {
            for (const QJsonObject& event : events) {
                if (event.value(QLatin1String("event")).toString() == name)
                    return event;
            }
            return QJsonObject();
        };
        RecordingClient client;
        client.open(proxy.clientUrl());
        if (trust == Trust::Default) {
            // Self-signed: verification fails, nothing reaches the client but a refused-looking close.
            REQUIRE(waitUntil([&] { return !eventNamed(QStringLiteral("upstream-failed")).isEmpty(); }, 5s));
            const QJsonObject tlsErrors = eventNamed(QStringLiteral("tls-errors"));
            REQUIRE(!tlsErrors.isEmpty());
            CHECK(tlsErrors.value(QLatin1String("ignored")).toBool(true) == false);
            CHECK(!tlsErrors.value(QLatin1String("errors")).toArray().isEmpty());
            REQUIRE(waitUntil([&] { return !client.errors.isEmpty() || client.disconnects > 0; }, 5s));
            CHECK(client.messages.isEmpty());
            continue;
        }
        // Through TLS both ways: the hello, then a stream's first snapshot for a request.
        REQUIRE(waitUntil([&] { return !client.messages.isEmpty(); }, 5s));
        CHECK(client.messages.first().contains("\"status\":\"connected\""));
        client.socket.sendTextMessage(QStringLiteral(
            R"({"method":"connection/create","id":1,"identity":"anonymous:alice","space":"chat","key":"wss"})"));
        REQUIRE(waitUntil(
            [&] {
                for (const QByteArray& message : client.messages) {
                    if (message.contains("\"seq\"") && message.contains("\"deliver\":1"))
                        return true;
                }
                return false;
            },
            5s));
        CHECK(hellosSeen == 1); // the proxy read the frames it relayed
        CHECK(eventNamed(QStringLiteral("tls-errors")).value(QLatin1String("ignored")).toBool(trust == Trust::Insecure) == (trust == Trust::Insecure));
        CHECK(eventNamed(QStringLiteral("upstream-failed")).isEmpty());
        CHECK(server.streamCount() == 1);
        client.socket.close();
        REQUIRE(waitUntil([&] { return server.streamCount() == 0; }, 5s));
    }
}
