#include <catch2/catch.hpp>

#include "core/protocol/envelope.h"
#include "core/protocol/errorcodes.h"
#include "tests/core/protocol/scriptedpeer.h"

#include <QSignalSpy>

using namespace deltascope;
using deltascope::test::ScriptedPeer;

namespace {
QByteArray item(qint64 id, const QByteArray& delta)
{
    return "{\"deliver\":" + QByteArray::number(id) + ",\"done\":false,\"response\":{\"delta\":" + delta + "}}";
}

QJsonObject payloadOf(const ClientEvent& event)
{
    return QJsonDocument::fromJson(event.payload).object();
}
}

TEST_CASE("client: connect, hello, create, ping/pong with RTT")
{
    ScriptedPeer peer;
    QSignalSpy states(&peer.client, &ProtocolClient::stateChanged);
    REQUIRE(peer.connectAndHello(QStringLiteral("20240912211736")));
    const QJsonObject create = peer.lastRequest();
    CHECK(create.value(QStringLiteral("id")).toInt() == 1);
    CHECK(create.value(QStringLiteral("identity")).toString() == QLatin1String("anonymous:alice"));
    CHECK(create.value(QStringLiteral("space")).toString() == QLatin1String("chat"));
    CHECK(create.value(QStringLiteral("key")).toString() == QLatin1String("demo"));
    CHECK(create.value(QStringLiteral("viewer-state")).toObject().value(QStringLiteral("page")).toInt() == 0);
    CHECK(peer.client.state() == ConnectionState::Streaming);
    CHECK(peer.client.epoch() == 1);
    CHECK(peer.client.helloVersion() == QLatin1String("20240912211736"));
    CHECK(peer.stateSequence()
        == std::vector<ConnectionState> { ConnectionState::Connecting, ConnectionState::Handshaking, ConnectionState::Streaming });
    // Epoch starts before its create goes out.
    const auto epochs = peer.eventsOfKind(EventKind::EpochStarted);
    REQUIRE(epochs.size() == 1);
    CHECK(epochs[0].requestId == 1);

    // The server's first ping on a socket says latency 0: nothing was measured yet (it measures
    // from our pongs), so no round trip is known.
    peer.sendText(R"({"ping":1000,"latency":"0"})");
    REQUIRE(peer.pump([&]() { return !peer.eventsOfKind(EventKind::Pong).empty(); }));
    REQUIRE(peer.pump([&]() { return QJsonDocument::fromJson(peer.received.back()).object().contains(QStringLiteral("pong")); }));
    const QJsonObject pong = QJsonDocument::fromJson(peer.received.back()).object();
    CHECK(pong.value(QStringLiteral("ping")).toInt() == 1000);
    CHECK(pong.value(QStringLiteral("latency")).toString() == QLatin1String("0"));
    CHECK(pong.value(QStringLiteral("pong")).toDouble() > 1.0e9);
    CHECK(peer.client.rttMs() == -1);
    peer.sendText(R"({"ping":2000,"latency":"17"})");
    REQUIRE(peer.pump([&]() { return peer.eventsOfKind(EventKind::Pong).size() == 2; }));
    CHECK(peer.client.rttMs() == 17);
}

TEST_CASE("client: stream items, send and ack, send-once with dedupe and its repeat, update, end")
{
    ScriptedPeer peer;
    REQUIRE(peer.connectAndHello());
    peer.sendText(item(1, R"({"data":{"title":"Demo"},"seq":17})"));
    REQUIRE(peer.pump([&]() { return peer.client.lastSeq() == 17; }));

    const qint64 sendId = peer.client.send(QStringLiteral("say"), R"({"what":"yo"})");
    CHECK(sendId == 2);
    REQUIRE(peer.pump([&]() { return peer.lastRequest().value(QStringLiteral("id")).toInt() == 2; }));
    const QJsonObject send = peer.lastRequest();
    CHECK(send.value(QStringLiteral("method")).toString() == QLatin1String("connection/send"));
    CHECK(send.value(QStringLiteral("connection")).toInt() == 1);
    CHECK(send.value(QStringLiteral("channel")).toString() == QLatin1String("say"));
    QSignalSpy finished(&peer.client, &ProtocolClient::requestFinished);
    peer.sendText(R"({"deliver":2,"done":true,"response":{"seq":18}})");
    REQUIRE(peer.pump([&]() { return finished.count() == 1; }));
    CHECK(finished.at(0).at(0).toLongLong() == 2);
    CHECK(finished.at(0).at(2).toBool());
    const auto responses = peer.eventsOfKind(EventKind::Response);
    REQUIRE(responses.size() == 1);
    CHECK(responses[0].seq == 18);
    CHECK(responses[0].method == QLatin1String("connection/send"));

    QSignalSpy tokens(&peer.client, &ProtocolClient::dedupeTokenReceived);
    const qint64 dedupeId = peer.client.sendOnce(QStringLiteral("say"), R"({"what":"once"})");
    CHECK(dedupeId == 3);
    REQUIRE(peer.pump([&]() { return peer.lastRequest().value(QStringLiteral("method")).toString() == QLatin1String("documents/create-dedupe"); }));
    peer.sendText(R"({"deliver":3,"done":true,"response":{"dedupe":"tok-1"}})");
    REQUIRE(peer.pump([&]() { return peer.lastRequest().value(QStringLiteral("method")).toString() == QLatin1String("connection/send-once"); }));
    CHECK(tokens.count() == 1);
    const QJsonObject once = peer.lastRequest();
    CHECK(once.value(QStringLiteral("id")).toInt() == 4);
    CHECK(once.value(QStringLiteral("dedupe")).toString() == QLatin1String("tok-1"));
    CHECK(once.value(QStringLiteral("connection")).toInt() == 1);
    peer.sendText(R"({"deliver":4,"done":true,"response":{"seq":19}})");

    const qint64 repeat = peer.client.sendOnce(QStringLiteral("say"), R"({"what":"once"})", QStringLiteral("tok-1"));
    CHECK(repeat == 5);
    peer.sendText(R"({"failure":5,"reason":143407,"retry":false})");
    REQUIRE(peer.pump([&]() { return !peer.eventsOfKind(EventKind::Failure).empty(); }));
    const ClientEvent failure = peer.eventsOfKind(EventKind::Failure).front();
    CHECK(failure.code == errorcodes::MessageAlreadySent);
    CHECK(failure.method == QLatin1String("connection/send-once"));
    CHECK(peer.client.state() == ConnectionState::Streaming); // a failed send does not touch the stream

    CHECK(peer.client.updateViewerState(R"({"page":1})") == 6);
    REQUIRE(peer.pump([&]() { return peer.lastRequest().value(QStringLiteral("method")).toString() == QLatin1String("connection/update"); }));
    CHECK(peer.lastRequest().value(QStringLiteral("viewer-state")).toObject().value(QStringLiteral("page")).toInt() == 1);
    CHECK(peer.client.updateViewerState("[1]") == -1);
    CHECK(peer.client.send(QStringLiteral("say"), "42") == -1);

    CHECK(peer.client.end() == 7);
    REQUIRE(peer.pump([&]() { return peer.lastRequest().value(QStringLiteral("method")).toString() == QLatin1String("connection/end"); }));
    peer.sendText(R"({"deliver":7,"done":true,"response":{}})");
    peer.sendText(R"({"deliver":1,"done":true})");
    REQUIRE(peer.pump([&]() { return peer.client.state() == ConnectionState::Closed; }));
    CHECK(peer.client.stateReason().contains(QStringLiteral("connection/end")));
    // Closing a client whose stream has already ended changes nothing, and records nothing.
    const std::size_t states = peer.eventsOfKind(EventKind::StateChanged).size();
    peer.client.close(QStringLiteral("closed by the user"));
    CHECK(peer.eventsOfKind(EventKind::StateChanged).size() == states);
    CHECK(peer.client.stateReason().contains(QStringLiteral("connection/end")));
}

TEST_CASE("client: a stream's last item (done:true with a delta) is an item that ends the stream, and text ids match no call")
{
    ScriptedPeer peer;
    REQUIRE(peer.connectAndHello());
    peer.sendText(item(1, R"({"data":{"x":1},"seq":11})"));
    // As connection.js: Map.has("1") is false for a call made with id 1.
    peer.sendText(R"({"deliver":"1","done":false,"response":{"delta":{"data":{"s":1},"seq":12}}})");
    peer.sendText(R"({"failure":"1","reason":403403})");
    REQUIRE(peer.pump([&]() { return peer.eventsOfKind(EventKind::UnknownInbound).size() == 2; }));
    CHECK(peer.eventsOfKind(EventKind::UnknownInbound).front().note.contains(QStringLiteral("a string")));
    CHECK(peer.client.state() == ConnectionState::Streaming);
    CHECK(peer.client.lastSeq() == 11);
    peer.sendText(R"({"deliver":1,"done":true,"response":{"delta":{"data":{"z":3},"seq":13}}})");
    REQUIRE(peer.pump([&]() { return peer.client.state() == ConnectionState::Closed; }));
    CHECK(peer.client.lastSeq() == 13);
    const auto items = peer.eventsOfKind(EventKind::StreamItem);
    REQUIRE(items.size() == 2);
    CHECK(items.back().seq == 13);
    CHECK(items.back().note.contains(QStringLiteral("last item")));
    CHECK(peer.eventsOfKind(EventKind::StreamDone).empty());
    CHECK(peer.client.stateReason().contains(QStringLiteral("done")));
}

TEST_CASE("client: a second hello on the same socket re-sends the open stream with its original request and id")
{
    ScriptedPeer peer;
    REQUIRE(peer.connectAndHello());
    peer.sendText(item(1, R"({"data":{"x":1},"seq":3})"));
    REQUIRE(peer.pump([&]() { return peer.client.lastSeq() == 3; }));
    const QJsonObject first = peer.lastRequest();
    const std::size_t requestsBefore = peer.requests().size();
    REQUIRE(peer.helloAndWaitCreate(QStringLiteral("v2")));
    CHECK(peer.requests().size() == requestsBefore + 1);
    CHECK(peer.lastRequest() == first); // the same object: same id, identity, viewer state
    CHECK(peer.lastRequest().value(QStringLiteral("id")).toInteger() == 1);
    const auto epochs = peer.eventsOfKind(EventKind::EpochStarted);
    REQUIRE(epochs.size() == 2);
    CHECK(epochs.back().requestId == 1);
    CHECK(peer.client.state() == ConnectionState::Streaming);
    // Its items go on under the same id.
    peer.sendText(item(1, R"({"data":{"x":2},"seq":1})"));
    REQUIRE(peer.pump([&]() { return peer.client.lastSeq() == 1; }));
}

TEST_CASE("client: socket drop fails pending calls with 999, plans both layers, reconnects with new ids")
{
    ScriptedPeer peer;
    REQUIRE(peer.connectAndHello());
    peer.sendText(item(1, R"({"data":{"x":1},"seq":3})"));
    REQUIRE(peer.pump([&]() { return peer.client.lastSeq() == 3; }));
    CHECK(peer.client.send(QStringLiteral("say"), "{}") == 2);
    REQUIRE(peer.pump([&]() { return peer.received.size() >= 2; }));

    peer.server()->close(Transport::CloseMode::Abort);
    REQUIRE(peer.pump([&]() { return peer.client.state() == ConnectionState::Reconnecting; }));
    const auto failures = peer.eventsOfKind(EventKind::Failure);
    REQUIRE(failures.size() == 2);
    CHECK(failures[0].requestId == 1);
    CHECK(failures[1].requestId == 2);
    for (const ClientEvent& failure : failures) {
        CHECK(failure.code == 999);
        CHECK((failure.flags & FlagSynthetic));
        CHECK(failure.direction == Direction::Local);
        CHECK_FALSE(payloadOf(failure).contains(QStringLiteral("reason"))); // as the reference client's {"failure":999}
    }
    const auto planned = peer.eventsOfKind(EventKind::ReconnectPlanned);
    REQUIRE(planned.size() == 2);
    CHECK(payloadOf(planned[0]).value(QStringLiteral("layer")).toString() == QLatin1String("stream"));
    CHECK(payloadOf(planned[1]).value(QStringLiteral("layer")).toString() == QLatin1String("socket"));
    const qint64 socketDelay = payloadOf(planned[1]).value(QStringLiteral("delayMs")).toInteger();
    const qint64 streamDelay = payloadOf(planned[0]).value(QStringLiteral("delayMs")).toInteger();
    CHECK(socketDelay >= 1);
    CHECK(socketDelay <= 2);
    CHECK(streamDelay >= 126); // blind path: the synthetic failure carries no reason
    CHECK(streamDelay <= 127);

    // Socket back before the stream retry is due: the new create waits for its own timer.
    peer.clock.advance(socketDelay);
    REQUIRE(peer.pump([&]() { return peer.opens == 2; }));
    const std::size_t before = peer.received.size();
    peer.sendText(R"({"status":"connected","version":"v1","identities":{}})");
    peer.settle();
    CHECK(peer.received.size() == before);
    CHECK(peer.client.state() == ConnectionState::Reconnecting);
    peer.clock.advance(streamDelay);
    REQUIRE(peer.pump([&]() { return peer.received.size() > before; }));
    const QJsonObject create = peer.lastRequest();
    CHECK(create.value(QStringLiteral("method")).toString() == QLatin1String("connection/create"));
    CHECK(create.value(QStringLiteral("id")).toInt() == 3); // never reused, not reset by reconnects
    CHECK(peer.client.epoch() == 2);
    CHECK(peer.client.state() == ConnectionState::Streaming);
}

TEST_CASE("client: a pushed viewstate merges into the viewer state, and a retry creates with it")
{
    ScriptedPeer peer;
    QSignalSpy changed(&peer.client, &ProtocolClient::viewerStateChanged);
    REQUIRE(peer.connectAndHello()); // created with {"page":0}
    peer.sendText(item(1, R"({"data":{"x":1},"seq":3})"));
    peer.sendText(item(1, R"({"viewstate":{"page":3,"filter":{"tag":"a","open":true}}})"));
    peer.sendText(item(1, R"({"viewstate":{"filter":{"open":null,"sort":"new"}}})"));
    // Another stream's items are not this view's.
    peer.sendText(item(9, R"({"viewstate":{"page":99}})"));
    REQUIRE(peer.pump([&]() { return changed.count() == 2; }));
    peer.settle();
    CHECK(changed.count() == 2);
    const QJsonObject merged = QJsonDocument::fromJson(peer.client.target().viewerState).object();
    CHECK(merged == QJsonDocument::fromJson(R"({"page":3,"filter":{"tag":"a","sort":"new"}})").object());
    CHECK(changed.last().at(0).toByteArray() == peer.client.target().viewerState);

    // adama-wire.md 7.2: the retry is a new connection/create "with the current view state".
    peer.server()->close(Transport::CloseMode::Abort);
    REQUIRE(peer.pump([&]() { return peer.client.state() == ConnectionState::Reconnecting; }));
    peer.clock.advance(5000);
    REQUIRE(peer.pump([&]() { return peer.opens == 2; }));
    REQUIRE(peer.helloAndWaitCreate());
    peer.clock.advance(5000);
    REQUIRE(peer.pump([&]() { return peer.lastRequest().value(QStringLiteral("id")).toInt() > 1; }));
    CHECK(peer.lastRequest().value(QStringLiteral("viewer-state")).toObject() == merged);

    // The user's own update is the viewer state too.
    changed.clear();
    peer.client.updateViewerState(R"({"page":7})");
    CHECK(changed.count() == 1);
    CHECK(peer.client.target().viewerState == QByteArray(R"({"page":7})"));
}

TEST_CASE("client: stream retry due before the socket is back waits for the hello")
{
    ScriptedPeer peer;
    ProtocolClientOptions options;
    peer.client.setOptions(options);
    peer.client.setReconnectPolicy(std::make_unique<FixedDelayPolicy>(500));
    REQUIRE(peer.connectAndHello());
    peer.server()->close(Transport::CloseMode::Clean);
    REQUIRE(peer.pump([&]() { return peer.client.state() == ConnectionState::Reconnecting; }));
    peer.clock.advance(1); // the fixed policy's stream retry (0 ms) fires with the socket down
    CHECK(peer.requests().size() == 1);
    peer.clock.advance(500);
    REQUIRE(peer.pump([&]() { return peer.opens == 2; }));
    REQUIRE(peer.helloAndWaitCreate());
    CHECK(peer.lastRequest().value(QStringLiteral("id")).toInt() == 2);
    CHECK(peer.client.epoch() == 2);
}

TEST_CASE("client: a frame is timed when the transport read it, never before an event already emitted")
{
    ScriptedPeer peer;
    // The loopback reads a frame when the peer sends it. (A ManualClock offers no thread-safe
    // reader, so the client left the transport without one.)
    REQUIRE_FALSE(peer.transport.hasReadClock());
    peer.transport.setReadClock([&clock = peer.clock] { return clock.nowNs(); });
    REQUIRE(peer.connectAndHello());
    CHECK(peer.transport.frameReadNs() == -1); // outside a hand-on

    peer.clock.advance(100);
    qint64 readInSlot = -2;
    const QMetaObject::Connection probe = QObject::connect(&peer.transport, &Transport::textReceived, [&] { readInSlot = peer.transport.frameReadNs(); });
    peer.sendText(R"({"ping":1,"latency":"5"})"); // read at 100 ms
    peer.clock.stall(400); // the client's thread is busy until 500 ms
    REQUIRE(peer.pump([&]() { return peer.eventsOfKind(EventKind::Pong).size() == 1; }));
    QObject::disconnect(probe);
    CHECK(readInSlot == 100'000'000);
    CHECK(peer.transport.frameReadNs() == -1);
    const ClientEvent ping = peer.eventsOfKind(EventKind::Ping).back();
    CHECK(ping.monotonicNs == 100'000'000);
    CHECK(ping.wallMs == peer.clock.wallMs() - 400);
    // The answer goes out when the client got to the ping: the gap is the client's own delay.
    CHECK(peer.eventsOfKind(EventKind::Pong).back().monotonicNs == 500'000'000);

    // A frame read before something the client emitted while the frame waited takes that time.
    peer.sendText(R"({"ping":2,"latency":"5"})"); // read at 500 ms
    peer.clock.stall(300);
    REQUIRE(peer.client.send(QStringLiteral("say"), R"({"what":"yo"})") > 0); // its request at 800 ms
    REQUIRE(peer.pump([&]() { return peer.eventsOfKind(EventKind::Ping).size() == 2; }));
    CHECK(peer.eventsOfKind(EventKind::Request).back().monotonicNs == 800'000'000);
    CHECK(peer.eventsOfKind(EventKind::Ping).back().monotonicNs == 800'000'000);
    for (std::size_t i = 1; i < peer.events.size(); ++i) {
        INFO("event " << i);
        CHECK(peer.events[i - 1].monotonicNs <= peer.events[i].monotonicNs);
    }
}

TEST_CASE("client: half-open stall is detected by missed pings (1250 ms checks, 3 misses of 2500 ms)")
{
    ScriptedPeer peer;
    REQUIRE(peer.connectAndHello());
    REQUIRE(peer.firstPing());
    peer.clock.advance(2500);
    CHECK(peer.client.state() == ConnectionState::Streaming);
    peer.clock.advance(1250); // t=3750: 3750 ms without a ping -> first miss
    CHECK(peer.client.state() == ConnectionState::Stalled);
    CHECK(peer.client.missedChecks() == 1);
    peer.clock.advance(1250);
    CHECK(peer.client.state() == ConnectionState::Stalled);
    peer.clock.advance(1250); // t=6250: third miss -> drop and reconnect
    CHECK(peer.client.state() == ConnectionState::Reconnecting);
    REQUIRE(peer.pump([&]() { return peer.closes == 1; })); // the server side saw the socket go
    CHECK_FALSE(peer.lastClose.error); // closed, not reset: connection.js calls socket.close()
    const auto states = peer.stateSequence();
    CHECK(std::count(states.begin(), states.end(), ConnectionState::Stalled) == 1);
    const auto failures = peer.eventsOfKind(EventKind::Failure);
    REQUIRE(failures.size() == 1);
    CHECK(failures[0].note.contains(QStringLiteral("liveness")));
}

TEST_CASE("client: a liveness check delayed by a busy thread is not a miss, the next one judges")
{
    ScriptedPeer peer;
    REQUIRE(peer.connectAndHello());
    REQUIRE(peer.firstPing());
    peer.clock.advance(1000);
    peer.clock.stall(4000); // t=5000: the event loop was blocked; the 1250 ms check is overdue
    peer.clock.advance(0);
    CHECK(peer.client.state() == ConnectionState::Streaming);
    CHECK(peer.client.missedChecks() == 0);
    const auto notes = peer.eventsOfKind(EventKind::Note);
    REQUIRE(notes.size() == 1);
    CHECK(notes[0].payload.contains("ran 3750 ms late"));
    CHECK(notes[0].payload.contains("no ping for 5000 ms"));

    SECTION("the ping that waited in the socket arrives: nothing was missed")
    {
        peer.sendText(R"({"ping":5000,"latency":"1"})");
        REQUIRE(peer.pump([&]() { return peer.eventsOfKind(EventKind::Ping).size() == 2; }));
        peer.clock.advance(1250);
        CHECK(peer.client.state() == ConnectionState::Streaming);
        CHECK(peer.client.missedChecks() == 0);
    }
    SECTION("the server really is silent: the on-time checks after the stall count")
    {
        peer.clock.advance(1250);
        CHECK(peer.client.state() == ConnectionState::Stalled);
        CHECK(peer.client.missedChecks() == 1);
        peer.clock.advance(2 * 1250);
        CHECK(peer.client.state() == ConnectionState::Reconnecting);
    }
}

TEST_CASE("client: a liveness check while received frames wait in the transport is not a miss")
{
    // A backlog handed on a slice per turn: the check can run, on time, before the frames that hold
    // the next ping are handed on. The server is not silent then.
    ScriptedPeer peer;
    REQUIRE(peer.connectAndHello());
    peer.clock.advance(2500);
    peer.sendText(R"({"ping":2500,"latency":"1"})"); // received, not handed on yet
    REQUIRE(peer.client.transport()->pendingInbound() == 1);
    peer.clock.advance(1250); // t=3750: 3750 ms since the last ping handed on
    CHECK(peer.client.state() == ConnectionState::Streaming);
    CHECK(peer.client.missedChecks() == 0);
    REQUIRE(peer.pump([&]() { return peer.eventsOfKind(EventKind::Ping).size() == 1; }));
    CHECK(peer.client.transport()->pendingInbound() == 0);
    peer.clock.advance(1250);
    CHECK(peer.client.state() == ConnectionState::Streaming);
    CHECK(peer.client.missedChecks() == 0);
}

TEST_CASE("client: a socket that has had no ping is not judged, as connection.js's keepalive() does not")
{
    // A server that never pings (not Adama, but a peer people point the tool at) keeps its socket;
    // the first ping starts the count.
    ScriptedPeer peer;
    REQUIRE(peer.connectAndHello());
    peer.clock.advance(10 * 1250);
    CHECK(peer.client.state() == ConnectionState::Streaming);
    CHECK(peer.client.missedChecks() == 0);
    CHECK(peer.closes == 0);
    REQUIRE(peer.firstPing());
    peer.clock.advance(3 * 1250); // 3750 ms after it: the first miss
    CHECK(peer.client.state() == ConnectionState::Stalled);
    CHECK(peer.client.missedChecks() == 1);
}

TEST_CASE("client: a ping ends a stall, misses accumulate unless configured to reset")
{
    for (const bool reset : { false, true }) {
        ScriptedPeer peer;
        ProtocolClientOptions options;
        options.liveness.resetMissesOnPing = reset;
        peer.client.setOptions(options);
        REQUIRE(peer.connectAndHello());
        REQUIRE(peer.firstPing());
        peer.clock.advance(3750);
        REQUIRE(peer.client.state() == ConnectionState::Stalled);
        peer.sendText(R"({"ping":3800,"latency":"1"})");
        REQUIRE(peer.pump([&]() { return peer.client.state() == ConnectionState::Streaming; }));
        CHECK(peer.client.missedChecks() == (reset ? 0 : 1));
    }
}

TEST_CASE("client: fatal stream failure fails, retryable one sends a new create on the same socket")
{
    SECTION("fatal")
    {
        ScriptedPeer peer;
        REQUIRE(peer.connectAndHello());
        peer.sendText(R"({"failure":1,"reason":403403,"retry":false})");
        REQUIRE(peer.pump([&]() { return peer.client.state() == ConnectionState::Failed; }));
        CHECK(peer.client.failureCode() == 403403);
        CHECK(peer.client.failureReason().contains(QStringLiteral("AUTH_FORBIDDEN")));
        REQUIRE(peer.pump([&]() { return peer.closes == 1; }));
        peer.clock.advance(60000);
        CHECK(peer.opens == 1);
    }
    SECTION("retryable")
    {
        ScriptedPeer peer;
        REQUIRE(peer.connectAndHello());
        peer.sendText(R"({"failure":1,"reason":928828,"retry":true})");
        REQUIRE(peer.pump([&]() { return peer.client.state() == ConnectionState::Reconnecting; }));
        const auto failures = peer.eventsOfKind(EventKind::Failure);
        REQUIRE(failures.size() == 1);
        CHECK((failures[0].flags & FlagRetryable));
        peer.clock.advance(130);
        REQUIRE(peer.pump([&]() { return peer.requests().size() == 2; }));
        CHECK(peer.lastRequest().value(QStringLiteral("id")).toInt() == 2);
        CHECK(peer.opens == 1);
        CHECK(peer.client.state() == ConnectionState::Streaming);
        CHECK(peer.client.epoch() == 2);
    }
}

TEST_CASE("client: status disconnected resets the socket backoff to 1000 ms, version change is an event")
{
    ScriptedPeer peer;
    REQUIRE(peer.connectAndHello(QStringLiteral("v1")));
    peer.sendText(R"({"status":"disconnected","reason":"keepalive-failure"})");
    REQUIRE(peer.pump([&]() { return peer.client.state() == ConnectionState::Reconnecting; }));
    CHECK(peer.eventsOfKind(EventKind::Disconnected).size() == 1);
    REQUIRE(peer.pump([&]() { return peer.closes == 1; }));
    CHECK_FALSE(peer.lastClose.error); // a close, not a reset, as connection.js's socket.close()
    const auto planned = peer.eventsOfKind(EventKind::ReconnectPlanned);
    REQUIRE(planned.size() == 2);
    const qint64 delay = payloadOf(planned[1]).value(QStringLiteral("delayMs")).toInteger();
    CHECK(delay >= 1000);
    CHECK(delay < 2000);
    peer.clock.advance(delay);
    REQUIRE(peer.pump([&]() { return peer.opens == 2; }));
    peer.clock.advance(2500);
    REQUIRE(peer.helloAndWaitCreate(QStringLiteral("v2")));
    const auto changes = peer.eventsOfKind(EventKind::VersionChanged);
    REQUIRE(changes.size() == 1);
    CHECK(payloadOf(changes[0]).value(QStringLiteral("from")).toString() == QLatin1String("v1"));
    CHECK(payloadOf(changes[0]).value(QStringLiteral("to")).toString() == QLatin1String("v2"));
}

TEST_CASE("client: refused reconnects keep backing off, each delay an event")
{
    ScriptedPeer peer;
    REQUIRE(peer.connectAndHello());
    peer.transport.setRefuseConnections(true);
    peer.server()->close(Transport::CloseMode::Abort);
    REQUIRE(peer.pump([&]() { return peer.client.state() == ConnectionState::Reconnecting; }));
    for (int step = 0; step < 12; ++step) {
        REQUIRE(peer.clock.runNext());
        peer.settle(); // the refused open reports on the next event-loop turn
    }
    std::vector<qint64> socketDelays;
    for (const ClientEvent& event : peer.eventsOfKind(EventKind::ReconnectPlanned)) {
        if (payloadOf(event).value(QStringLiteral("layer")).toString() == QLatin1String("socket"))
            socketDelays.push_back(payloadOf(event).value(QStringLiteral("delayMs")).toInteger());
    }
    REQUIRE(socketDelays.size() >= 5);
    CHECK(std::is_sorted(socketDelays.begin(), socketDelays.end())); // x1..x2 growth below the cap
    CHECK(peer.opens == 1);
    peer.transport.setRefuseConnections(false);
    peer.clock.advance(peer.clock.nextDeadlineMs() - peer.clock.nowMs() + 3000);
    REQUIRE(peer.pump([&]() { return peer.opens == 2; }));
}

TEST_CASE("client: no-reconnect policy fails on socket loss")
{
    ScriptedPeer peer;
    peer.client.setReconnectPolicy(std::make_unique<NoReconnectPolicy>());
    REQUIRE(peer.connectAndHello());
    peer.server()->close(Transport::CloseMode::Clean);
    REQUIRE(peer.pump([&]() { return peer.client.state() == ConnectionState::Failed; }));
    CHECK(peer.client.failureReason().contains(QStringLiteral("reconnect disabled")));
}

TEST_CASE("client: a stream item over the server's 4 MiB frame limit is received and noted, not dropped")
{
    // A large document's snapshot is one frame; the 4 MiB of adama-wire.md 1 is what a server
    // accepts, not what it sends, and the reference client takes it.
    ScriptedPeer peer;
    REQUIRE(peer.connectAndHello());
    const QByteArray big(5 * 1024 * 1024, 'b');
    peer.sendText(item(1, R"({"data":{"blob":")" + big + R"("},"seq":5})"));
    peer.sendText(item(1, R"({"data":{"title":"T2"},"seq":6})"));
    REQUIRE(peer.pump([&]() { return peer.client.lastSeq() == 6; }));
    CHECK(peer.eventsOfKind(EventKind::MalformedInbound).empty());
    const auto items = peer.eventsOfKind(EventKind::StreamItem);
    REQUIRE(items.size() == 2);
    CHECK(items[0].seq == 5);
    CHECK(items[0].payload.size() > 5 * 1024 * 1024);
    CHECK(items[0].note.contains(QStringLiteral("over the 4194304 bytes an Adama server accepts in a frame")));
    CHECK(items[1].note.isEmpty());
}

TEST_CASE("client: misbehaving peer frames are recorded and the session continues")
{
    ScriptedPeer peer;
    REQUIRE(peer.connectAndHello());
    peer.sendText("garbage {");
    peer.server()->sendBinary(QByteArray("\x00\x01\x02", 3));
    peer.sendText(QByteArray(Transport::kMaxFrameBytes + 10, 'x'));
    peer.sendText("[1,2,3]");
    peer.sendText(R"({"deliver":77,"done":false,"response":{"delta":{"seq":1}}})");
    peer.sendText(R"({"failure":78,"reason":1,"retry":false})");
    peer.sendText(R"({"what":"ever"})");
    peer.sendText(item(1, R"({"data":{"ok":true},"seq":2})"));
    REQUIRE(peer.pump([&]() { return peer.client.lastSeq() == 2; }));
    const auto malformed = peer.eventsOfKind(EventKind::MalformedInbound);
    REQUIRE(malformed.size() == 4);
    CHECK(malformed[0].code == qint32(MalformedReason::NotJson));
    CHECK(malformed[1].code == qint32(MalformedReason::Binary));
    CHECK(malformed[2].code == qint32(MalformedReason::Oversized));
    CHECK(payloadOf(malformed[2]).value(QStringLiteral("size")).toInteger() == Transport::kMaxFrameBytes + 10);
    CHECK(malformed[2].payload.size() < 1000);
    CHECK(malformed[3].code == qint32(MalformedReason::NotAnObject));
    const auto unknown = peer.eventsOfKind(EventKind::UnknownInbound);
    REQUIRE(unknown.size() == 3);
    CHECK(unknown[0].requestId == 77);
    CHECK(unknown[0].note.contains(QStringLiteral("unknown id 77")));
    CHECK(unknown[1].requestId == 78);
    CHECK(peer.client.state() == ConnectionState::Streaming);

    // Out-of-order done: the stream ends, a late item for it is unknown.
    peer.sendText(R"({"deliver":1,"done":true})");
    peer.sendText(item(1, R"({"seq":9})"));
    REQUIRE(peer.pump([&]() { return peer.client.state() == ConnectionState::Closed; }));
    peer.settle();
    CHECK(peer.client.lastSeq() == 2);
}

TEST_CASE("client: calls while disconnected fail locally, bad targets are refused")
{
    ScriptedPeer peer;
    QString error;
    DocumentTarget bad = ScriptedPeer::target();
    bad.url = QUrl(QStringLiteral("http://x/~s"));
    CHECK_FALSE(peer.client.connectDocument(bad, &error));
    CHECK(error.contains(QStringLiteral("url")));
    bad = ScriptedPeer::target();
    bad.viewerState = "[1]";
    CHECK_FALSE(peer.client.connectDocument(bad, &error));
    CHECK(error.contains(QStringLiteral("viewer state")));
    CHECK(peer.client.state() == ConnectionState::Idle);

    const qint64 id = peer.client.send(QStringLiteral("say"), "{}");
    CHECK(id == 1);
    const auto failures = peer.eventsOfKind(EventKind::Failure);
    REQUIRE(failures.size() == 1);
    CHECK((failures[0].flags & FlagSynthetic));
    CHECK(payloadOf(failures[0]).value(QStringLiteral("reason")).toString() == QLatin1String("not connected"));
    REQUIRE(peer.connectAndHello());
    CHECK(peer.lastRequest().value(QStringLiteral("id")).toInt() == 2);
}

TEST_CASE("client: no hello within the connect timeout counts as a failed socket")
{
    ScriptedPeer peer;
    ProtocolClientOptions options;
    options.connectTimeoutMs = 3000;
    options.liveness.enabled = false;
    peer.client.setOptions(options);
    REQUIRE(peer.client.connectDocument(ScriptedPeer::target()));
    REQUIRE(peer.pump([&]() { return peer.opens == 1; }));
    CHECK(peer.client.state() == ConnectionState::Handshaking);
    peer.clock.advance(3000);
    CHECK(peer.client.state() == ConnectionState::Reconnecting);
    CHECK(peer.client.stateReason().contains(QStringLiteral("no hello")));
}

TEST_CASE("client: thousands of mutated frames never crash it and every frame is recorded")
{
    ScriptedPeer peer;
    REQUIRE(peer.connectAndHello());
    const QList<QByteArray> seeds {
        R"({"deliver":1,"done":false,"response":{"delta":{"data":{"a":{"1":{"x":1},"@o":[1]}},"seq":5}}})",
        R"({"deliver":1,"done":true})",
        R"({"failure":1,"reason":928828,"retry":true})",
        R"({"ping":100,"latency":"5"})",
        R"({"status":"connected","version":"v9","identities":{}})",
        R"({"deliver":2,"done":true,"response":{"seq":"7"}})",
    };
    RandomSource random(2024);
    const std::size_t before = peer.events.size();
    int sent = 0;
    for (int i = 0; i < 3000; ++i) {
        QByteArray frame = seeds[int(random.next() * seeds.size())];
        const int edits = 1 + int(random.next() * 4);
        for (int e = 0; e < edits; ++e) {
            const int position = int(random.next() * frame.size());
            switch (int(random.next() * 3)) {
            case 0:
                frame[position] = char(32 + int(random.next() * 95));
                break;
            case 1:
                frame.remove(position, 1 + int(random.next() * 3));
                break;
            default:
                frame.insert(position, "{[\",:}]"[int(random.next() * 7)]);
            }
        }
        // Keep the session alive so every frame reaches the decoder: skip mutations that end the stream
        // or the socket (those paths have their own tests).
        const InboundFrame decoded = decodeInbound(frame);
        if (decoded.kind == EventKind::Failure || decoded.kind == EventKind::StreamDone || decoded.kind == EventKind::Disconnected
            || (decoded.kind == EventKind::Response && decoded.id == 1))
            continue;
        peer.sendText(frame);
        ++sent;
    }
    REQUIRE(peer.pump([&]() {
        std::size_t inbound = 0;
        for (std::size_t i = before; i < peer.events.size(); ++i)
            inbound += peer.events[i].direction == Direction::Inbound ? 1 : 0;
        return inbound >= std::size_t(sent);
    }, 10000));
    CHECK(sent > 2000);
    CHECK(peer.client.state() == ConnectionState::Streaming);
}

// adama-wire.md 7.1: whenever the socket closes, every pending call fails with the synthetic
// {"failure":999}. That holds when the client closes the socket itself, too: a call in flight never
// stays without an outcome.
TEST_CASE("client: calls in flight when the client closes its own socket fail with the synthetic 999")
{
    ScriptedPeer peer;
    REQUIRE(peer.connectAndHello());
    peer.sendText(item(1, R"({"data":{"x":1},"seq":3})"));
    REQUIRE(peer.pump([&]() { return peer.client.lastSeq() == 3; }));
    QSignalSpy finished(&peer.client, &ProtocolClient::requestFinished);
    const qint64 sendId = peer.client.send(QStringLiteral("say"), "{}");
    REQUIRE(sendId == 2);
    REQUIRE(peer.pump([&]() { return peer.requests().size() == 2; }));

    auto checkSendFailed = [&]() {
        REQUIRE(finished.count() == 1);
        CHECK(finished.at(0).at(0).toLongLong() == sendId);
        CHECK_FALSE(finished.at(0).at(2).toBool());
        CHECK(finished.at(0).at(3).toInt() == errorcodes::SocketLost);
        std::vector<ClientEvent> sendFailures;
        for (const ClientEvent& failure : peer.eventsOfKind(EventKind::Failure)) {
            if (failure.requestId == sendId)
                sendFailures.push_back(failure);
        }
        REQUIRE(sendFailures.size() == 1);
        CHECK(sendFailures[0].code == errorcodes::SocketLost);
        CHECK((sendFailures[0].flags & FlagSynthetic));
        CHECK(sendFailures[0].method == QLatin1String("connection/send"));
        CHECK(payloadOf(sendFailures[0]) == QJsonObject { { QStringLiteral("failure"), sendId } });
        CHECK(peer.client.pendingRequestCount() == 0);
    };

    SECTION("the user closes")
    {
        peer.client.close();
        CHECK(peer.client.state() == ConnectionState::Closed);
        checkSendFailed();
        // The stream itself ended by the user's choice: no failure is made up for it.
        for (const ClientEvent& failure : peer.eventsOfKind(EventKind::Failure))
            CHECK(failure.requestId != 1);
    }
    SECTION("the stream fails with a fatal code")
    {
        peer.sendText(R"({"failure":1,"reason":403403,"retry":false})");
        REQUIRE(peer.pump([&]() { return peer.client.state() == ConnectionState::Failed; }));
        checkSendFailed();
    }
    SECTION("the server ends the stream")
    {
        peer.sendText(R"({"deliver":1,"done":true})");
        REQUIRE(peer.pump([&]() { return peer.client.state() == ConnectionState::Closed; }));
        checkSendFailed();
    }
    SECTION("a new connection abandons the socket")
    {
        REQUIRE(peer.client.connectDocument(ScriptedPeer::target()));
        checkSendFailed();
    }
}

// adama-wire.md 6: connection/end is answered with {} and ends the stream with done:true, in either
// order. The end's answer that follows the stream's end is still its answer, not a lost socket.
TEST_CASE("client: connection/end answered after the stream's done:true is a success, not a synthetic 999")
{
    ScriptedPeer peer;
    REQUIRE(peer.connectAndHello());
    peer.sendText(item(1, R"({"data":{"x":1},"seq":3})"));
    REQUIRE(peer.pump([&]() { return peer.client.lastSeq() == 3; }));
    QSignalSpy finished(&peer.client, &ProtocolClient::requestFinished);
    const qint64 endId = peer.client.end();
    REQUIRE(endId == 2);
    REQUIRE(peer.pump([&]() { return peer.lastRequest().value(QStringLiteral("method")).toString() == QLatin1String("connection/end"); }));

    peer.sendText(R"({"deliver":1,"done":true})");
    REQUIRE(peer.pump([&]() { return peer.client.state() == ConnectionState::Closed; }));
    CHECK(peer.client.stateReason().contains(QStringLiteral("connection/end")));

    SECTION("the answer follows")
    {
        // The socket stays open for the answer, and pings are still answered meanwhile.
        peer.sendText(R"({"ping":1000,"latency":"3"})");
        REQUIRE(peer.pump([&]() { return !peer.eventsOfKind(EventKind::Pong).empty(); }));
        CHECK(peer.closes == 0);
        peer.sendText(R"({"deliver":2,"done":true,"response":{}})");
        REQUIRE(peer.pump([&]() { return finished.count() == 1; }));
        CHECK(finished.at(0).at(0).toLongLong() == endId);
        CHECK(finished.at(0).at(1).toString() == QLatin1String("connection/end"));
        CHECK(finished.at(0).at(2).toBool());
        const auto responses = peer.eventsOfKind(EventKind::Response);
        REQUIRE(responses.size() == 1);
        CHECK(responses[0].requestId == endId);
        CHECK(responses[0].method == QLatin1String("connection/end"));
        CHECK(peer.eventsOfKind(EventKind::Failure).empty());
        CHECK(peer.eventsOfKind(EventKind::UnknownInbound).empty());
        REQUIRE(peer.pump([&]() { return peer.closes == 1; })); // then the socket closes
        CHECK(peer.client.pendingRequestCount() == 0);
    }
    SECTION("no answer comes")
    {
        peer.clock.advance(ProtocolClientOptions().endAnswerWaitMs - 1);
        peer.settle();
        CHECK(peer.eventsOfKind(EventKind::Failure).empty());
        peer.clock.advance(1);
        REQUIRE(peer.pump([&]() { return finished.count() == 1; }));
        CHECK(finished.at(0).at(3).toInt() == errorcodes::SocketLost);
        const auto failures = peer.eventsOfKind(EventKind::Failure);
        REQUIRE(failures.size() == 1);
        CHECK(failures[0].requestId == endId);
        CHECK((failures[0].flags & FlagSynthetic));
        CHECK(failures[0].note.contains(QStringLiteral("no answer to connection/end")));
        REQUIRE(peer.pump([&]() { return peer.closes == 1; }));
    }
    SECTION("the server closes the socket first")
    {
        peer.server()->close(Transport::CloseMode::Clean);
        REQUIRE(peer.pump([&]() { return finished.count() == 1; }));
        const auto failures = peer.eventsOfKind(EventKind::Failure);
        REQUIRE(failures.size() == 1);
        CHECK(failures[0].requestId == endId);
        CHECK(failures[0].note.contains(QStringLiteral("socket closed before the answer to connection/end")));
        CHECK(peer.client.state() == ConnectionState::Closed); // no reconnect: the stream had ended
    }
}

// After connection/end, the stream is the user's to end: a lost socket or a retryable failure before
// its done:true finishes it as ended, never a retry that would join the document again.
TEST_CASE("client: a socket lost or a stream failure after connection/end ends the stream, no rejoin")
{
    ScriptedPeer peer;
    REQUIRE(peer.connectAndHello());
    peer.sendText(item(1, R"({"data":{"x":1},"seq":3})"));
    REQUIRE(peer.pump([&]() { return peer.client.lastSeq() == 3; }));
    const qint64 endId = peer.client.end();
    REQUIRE(endId == 2);
    REQUIRE(peer.pump([&]() { return peer.lastRequest().value(QStringLiteral("method")).toString() == QLatin1String("connection/end"); }));

    SECTION("the socket is lost")
    {
        peer.server()->close(Transport::CloseMode::Abort);
    }
    SECTION("the stream fails with a retryable code")
    {
        peer.sendText(R"({"failure":1,"reason":928828,"retry":true})");
    }
    REQUIRE(peer.pump([&]() { return peer.client.state() == ConnectionState::Closed; }));
    CHECK(peer.client.stateReason().contains(QStringLiteral("stream ended (connection/end) before the server confirmed it")));
    // Nothing planned, nothing re-sent, however long one waits.
    peer.clock.advance(60'000);
    peer.settle();
    CHECK(peer.eventsOfKind(EventKind::ReconnectPlanned).empty());
    CHECK(std::count_if(peer.received.begin(), peer.received.end(), [](const QByteArray& frame) { return frame.contains("connection/create"); }) == 1);
    CHECK(peer.opens == 1);
    CHECK(peer.client.state() == ConnectionState::Closed);
    CHECK(peer.client.pendingRequestCount() == 0);
}

// adama-wire.md 2.1: the reference client treats any `status` other than "connected" as fatal for
// the socket (close, reconnect with the 1000 ms base backoff), whatever type the status has.
TEST_CASE("client: a status that is not a string drops the socket like any status but connected")
{
    ScriptedPeer peer;
    REQUIRE(peer.connectAndHello());
    peer.sendText(R"({"status":null})");
    REQUIRE(peer.pump([&]() { return peer.client.state() == ConnectionState::Reconnecting; }));
    const auto disconnects = peer.eventsOfKind(EventKind::Disconnected);
    REQUIRE(disconnects.size() == 1);
    CHECK(disconnects[0].note.contains(QStringLiteral("not a string")));
    CHECK(peer.client.stateReason().contains(QStringLiteral("not a string")));
    const auto planned = peer.eventsOfKind(EventKind::ReconnectPlanned);
    REQUIRE(planned.size() == 2);
    const qint64 delay = payloadOf(planned[1]).value(QStringLiteral("delayMs")).toInteger();
    CHECK(delay >= 1000);
    CHECK(delay < 2000);
}
