#include <catch2/catch.hpp>

#include "core/document/documenttree.h"
#include "core/jsonstring.h"
#include "core/protocol/clock.h"
#include "core/protocol/envelope.h"
#include "core/protocol/errorcodes.h"
#include "core/protocol/reconnectpolicy.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>

#include <cmath>

using namespace deltascope;

TEST_CASE("error codes: names, retryability and the reference client's fatal set")
{
    CHECK(errorCodeInfo(403403).name == QLatin1String("AUTH_FORBIDDEN"));
    CHECK(errorCodeInfo(143407).name == QLatin1String("LIVING_DOCUMENT_TRANSACTION_MESSAGE_ALREADY_SENT"));
    CHECK(errorCodeInfo(928828).retryable);
    CHECK_FALSE(errorCodeInfo(403403).retryable);
    CHECK(isFatalStreamCode(403403));
    CHECK(isFatalStreamCode(403500));
    CHECK(isFatalStreamCode(184333));
    CHECK_FALSE(isFatalStreamCode(928828));
    CHECK_FALSE(isFatalStreamCode(999));
    for (int code : { 123392, 198657, 130568, 134152, 143880, 138255, 144416, 146631, 183498, 199883, 902223, 912544, 983117,
             928828, 978162, 718908, 769085, 787507 })
        CHECK(isRetryableCode(code));
    CHECK(errorCodeName(12345) == QLatin1String("12345"));
    CHECK(describeErrorCode(403403) == QLatin1String("403403 AUTH_FORBIDDEN (fatal)"));
    CHECK(describeErrorCode(928828) == QLatin1String("928828 NET_LCSM_TIMEOUT (retryable)"));
}

TEST_CASE("envelope: control frames")
{
    InboundFrame hello = decodeInbound(R"({"status":"connected","version":"20240912211736","identities":{}})");
    CHECK(hello.kind == EventKind::Hello);
    CHECK(hello.version == QLatin1String("20240912211736"));

    InboundFrame ping = decodeInbound(R"({"ping":8123,"latency":"42"})");
    CHECK(ping.kind == EventKind::Ping);
    CHECK(ping.ping == 8123);
    CHECK(ping.latencyMs == 42);
    CHECK(ping.code == 42); // recorded with the event so views need not parse the frame
    CHECK(decodeInbound(R"({"ping":1,"latency":"x"})").latencyMs == -1);
    CHECK(decodeInbound(R"({"ping":1,"latency":"x"})").code == -1);

    InboundFrame keepalive = decodeInbound(R"({"status":"disconnected","reason":"keepalive-failure"})");
    CHECK(keepalive.kind == EventKind::Disconnected);
    CHECK(keepalive.reasonText == QLatin1String("keepalive-failure"));
    InboundFrame binary = decodeInbound(R"({"status":"disconnected","reason":213711})");
    CHECK(binary.kind == EventKind::Disconnected);
    CHECK(binary.code == 213711);
    CHECK(decodeInbound(R"({"status":"error","reason":"message-rate-limited","code":5})").kind == EventKind::Disconnected);
}

TEST_CASE("envelope: responses, stream items and failures")
{
    InboundFrame item = decodeInbound(
        R"({"deliver":7,"done":false,"response":{"delta":{"data":{"x":1},"seq":57,"outstanding":[],"blockers":[]}}})");
    CHECK(item.kind == EventKind::StreamItem);
    CHECK(item.id == 7);
    CHECK(item.seq == 57);
    CHECK(item.parts == (PartData | PartSeq | PartOutstanding | PartBlockers));

    InboundFrame filter = decodeInbound(R"({"deliver":1,"done":false,"response":{"delta":{"view-state-filter":["page"]}}})");
    CHECK(filter.parts == PartViewStateFilter);
    CHECK(filter.seq == -1);

    InboundFrame ack = decodeInbound(R"({"deliver":9,"done":true,"response":{"seq":42}})");
    CHECK(ack.kind == EventKind::Response);
    CHECK(ack.seq == 42);

    InboundFrame dedupe = decodeInbound(R"({"deliver":3,"done":true,"response":{"dedupe":"abc-123"}})");
    CHECK(dedupe.dedupe == QLatin1String("abc-123"));

    CHECK(decodeInbound(R"({"deliver":1,"done":true})").kind == EventKind::StreamDone);
    CHECK(decodeInbound(R"({"deliver":"12","done":true})").id == 12); // read, and said to be text
    CHECK(decodeInbound(R"({"deliver":"12","done":true})").idIsText);
    CHECK_FALSE(decodeInbound(R"({"deliver":12,"done":true})").idIsText);
    CHECK(decodeInbound(R"({"failure":"7","reason":1})").idIsText);
    // A delta with done:true is the stream's last item: folded as any, and it ends the stream.
    InboundFrame last = decodeInbound(R"({"deliver":1,"done":true,"response":{"delta":{"data":{"z":3},"seq":12}}})");
    CHECK(last.kind == EventKind::StreamItem);
    CHECK(last.done);
    CHECK(last.seq == 12);
    CHECK(last.parts & PartData);

    InboundFrame failure = decodeInbound(R"({"failure":7,"reason":403403,"retry":false})");
    CHECK(failure.kind == EventKind::Failure);
    CHECK(failure.code == 403403);
    CHECK(failure.hasReason);
    CHECK_FALSE(failure.retry);
    InboundFrame synthetic = decodeInbound(R"({"failure":7})");
    CHECK(synthetic.kind == EventKind::Failure);
    CHECK_FALSE(synthetic.hasReason);
    CHECK(decodeInbound(R"({"failure":1,"reason":928828,"retry":true})").retry);
}

TEST_CASE("envelope: bad input is classified, never fatal")
{
    CHECK(decodeInbound("garbage{").kind == EventKind::MalformedInbound);
    CHECK(decodeInbound("garbage{").code == qint32(MalformedReason::NotJson));
    CHECK(decodeInbound("").kind == EventKind::MalformedInbound);
    CHECK(decodeInbound("[1,2]").code == qint32(MalformedReason::NotAnObject));
    CHECK(decodeInbound("\"text\"").code == qint32(MalformedReason::NotAnObject));
    CHECK(decodeInbound(R"({"hello":1})").kind == EventKind::UnknownInbound);
    CHECK(decodeInbound(R"({"deliver":"x"})").kind == EventKind::UnknownInbound);
    CHECK(decodeInbound(R"({"failure":{}})").kind == EventKind::UnknownInbound);
    // Any status but "connected" is socket-fatal for the reference client (adama-wire.md 2.1),
    // a status that is not even a string included.
    const InboundFrame numericStatus = decodeInbound(R"({"status":5})");
    CHECK(numericStatus.kind == EventKind::Disconnected);
    CHECK(numericStatus.status == QLatin1String("5"));
    CHECK(numericStatus.error.contains(QStringLiteral("not a string")));
    CHECK(decodeInbound(R"({"status":null})").kind == EventKind::Disconnected);
    const QByteArray deep = QByteArray(5000, '[') + QByteArray(5000, ']');
    CHECK(decodeInbound(deep).kind == EventKind::MalformedInbound);
    CHECK_FALSE(decodeInbound("{\"a\":\"\xff\xfe\"}").error.isEmpty());
    // Ids written as doubles: an integral one is read, one beyond 64 bits (once undefined
    // behaviour in the conversion) is not an id.
    CHECK(decodeInbound(R"({"deliver":7.0,"done":true})").id == 7);
    CHECK(decodeInbound(R"({"deliver":1e300,"done":true})").kind == EventKind::UnknownInbound);
    CHECK(decodeInbound(R"({"failure":-1e19,"reason":403403})").kind == EventKind::UnknownInbound);
}

TEST_CASE("envelope: valid JSON that simdjson alone refuses: huge integers read as doubles, other refusals say where")
{
    // An integer beyond 64 bits is valid JSON: the frame is a stream item, its data the nearest double.
    const QByteArray huge = R"({"deliver":7,"done":false,"response":{"delta":{"data":{"n":100000000000000000000000},"seq":3}}})";
    const InboundFrame item = decodeInbound(huge);
    CHECK(item.kind == EventKind::StreamItem);
    CHECK(item.seq == 3);
    const StreamDelta delta = extractStreamDelta(huge);
    REQUIRE(delta.ok);
    CHECK(QJsonDocument::fromJson(QByteArray::fromStdString(delta.data)).object().value(QStringLiteral("n")).toDouble() == 1e23);

    const InboundFrame overflow = decodeInbound(R"({"deliver":7,"response":{"delta":{"data":{"n":1e400}}}})");
    CHECK(overflow.kind == EventKind::MalformedInbound);
    CHECK(overflow.code == qint32(MalformedReason::NotJson));
    CHECK(overflow.error == QStringLiteral("not JSON at byte 46: number 1e400 is beyond the range of a double"));
    const InboundFrame lone = decodeInbound(R"({"deliver":7,"response":{"delta":{"data":{"s":"\ud800"}}}})");
    CHECK(lone.kind == EventKind::MalformedInbound);
    CHECK(lone.error.startsWith(QStringLiteral("not JSON at byte 47: lone UTF-16 surrogate")));
    CHECK(decodeInbound("garbage{").error == QStringLiteral("not JSON at byte 0: unexpected character 'g'"));
}

TEST_CASE("envelope: stream delta extraction keeps the data object")
{
    const StreamDelta delta = extractStreamDelta(R"({"deliver":1,"done":false,"response":{"delta":{"data":{"a":{"b":[1,2]},"n":"123"},"seq":4}}})");
    REQUIRE(delta.ok);
    CHECK(delta.hasData);
    CHECK(delta.seq == 4);
    CHECK(delta.data == R"({"a":{"b":[1,2]},"n":"123"})");
    CHECK_FALSE(extractStreamDelta(R"({"deliver":1,"done":false,"response":{}})").ok);
    CHECK_FALSE(extractStreamDelta("nope").ok);
    const StreamDelta noData = extractStreamDelta(R"({"deliver":1,"done":false,"response":{"delta":{"seq":5}}})");
    CHECK(noData.ok);
    CHECK_FALSE(noData.hasData);
}

TEST_CASE("envelope: requests and pongs")
{
    const QByteArray request = RequestWriter(u"connection/send", 9)
                                   .integer(u"connection", 2)
                                   .string(u"channel", u"say \"hi\"\n")
                                   .raw(u"message", R"({"big":12345678901234567890})")
                                   .finish();
    CHECK(request == R"({"method":"connection/send","id":9,"connection":2,"channel":"say \"hi\"\n","message":{"big":12345678901234567890}})");
    CHECK(isJsonObject(request));

    const QByteArray pong = makePong(R"({"ping":1000,"latency":"0"})", 1718000001250);
    CHECK(pong == R"({"ping":1000,"latency":"0","pong":1718000001.250})");
    const QJsonObject parsed = QJsonDocument::fromJson(pong).object();
    CHECK(parsed.value(QStringLiteral("ping")).toInt() == 1000);
    CHECK(makePong("[]", 1).isEmpty());
    CHECK(makePong("{}", 1) == R"({"pong":0.001})");

    QString error;
    CHECK_FALSE(isJsonObject("[1]", &error));
    CHECK_FALSE(error.isEmpty());
    CHECK(isJsonObjectOrArray("[1]"));
    CHECK_FALSE(isJsonObjectOrArray("1"));
    CHECK(jsonQuote(u"\x01") == "\"\\u0001\"");
}

TEST_CASE("JSON strings: one escaping for every writer, and it reads back byte for byte")
{
    // Every byte below 0x80 (NUL included), then UTF-8 of two, three and four bytes.
    std::string text;
    for (int c = 0; c < 0x80; ++c)
        text.push_back(char(c));
    text += "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80";

    std::string quoted;
    appendJsonString(quoted, text);
    // The two-character escapes JSON has, and \u00XX for the other control characters.
    CHECK(quoted.find(R"(\b\t\n\u000b\f\r\u000e)") != std::string::npos);
    CHECK(quoted.find(R"("\u0000\u0001)") == 0);
    CHECK(quoted.find(R"(\u001f !\"#)") != std::string::npos);
    CHECK(quoted.find(R"([\\])") != std::string::npos);
    CHECK(quoted.find("\x7f\xc3\xa9") != std::string::npos); // DEL and UTF-8 pass through

    QJsonParseError error {};
    const QByteArray wrapped = "[" + QByteArray::fromStdString(quoted) + "]";
    const QJsonDocument parsed = QJsonDocument::fromJson(wrapped, &error);
    REQUIRE(error.error == QJsonParseError::NoError);
    CHECK(parsed.array().at(0).toString().toStdString() == text);

    // The same text from a QByteArray writer, the request envelope and the document's export.
    QByteArray bytes;
    appendJsonString(bytes, QByteArray::fromStdString(text));
    CHECK(bytes.toStdString() == quoted);
    CHECK(jsonQuote(QString::fromStdString(text)).toStdString() == quoted);
    DocumentTree tree;
    tree.setString(tree.root(), u"s", QString::fromStdString(text));
    CHECK(tree.toJson().toStdString() == "{\"s\":" + quoted + "}");
}

TEST_CASE("manual clock: timers fire in deadline order, cancel works, repeating timers repeat")
{
    ManualClock clock;
    std::vector<int> fired;
    clock.schedule(30, [&]() { fired.push_back(30); });
    const quint64 cancelled = clock.schedule(20, [&]() { fired.push_back(20); });
    clock.schedule(10, [&]() { fired.push_back(10); });
    clock.cancel(cancelled);
    clock.advance(15);
    CHECK(fired == std::vector<int> { 10 });
    CHECK(clock.nowMs() == 15);
    clock.advance(100);
    CHECK(fired == std::vector<int> { 10, 30 });

    int ticks = 0;
    ClockTimer timer(&clock, [&]() { ++ticks; });
    timer.start(1250, true);
    clock.advance(1249);
    CHECK(ticks == 0);
    clock.advance(1);
    CHECK(ticks == 1);
    clock.advance(2500);
    CHECK(ticks == 3);
    timer.stop();
    clock.advance(5000);
    CHECK(ticks == 3);
    CHECK(clock.pendingCount() == 0);

    // A busy thread: the ticks it missed are skipped, and the cadence keeps its phase.
    std::vector<qint64> tickTimes;
    ClockTimer busy(&clock, [&]() { tickTimes.push_back(clock.nowNs() / 1000000); });
    const qint64 start = clock.nowNs() / 1000000;
    busy.start(1000, true);
    clock.advance(1000);
    clock.stall(3500); // four ticks fall due while nothing runs
    clock.advance(0);
    clock.advance(1000);
    CHECK(tickTimes == std::vector<qint64> { start + 1000, start + 4500, start + 5000 });
}

TEST_CASE("reference policy: socket backoff reproduces connection.js")
{
    RandomSource random(42);
    RandomSource expectedRandom(42);
    ReferenceClientPolicy policy;
    double backoff = 1;
    for (int attempt = 0; attempt < 40; ++attempt) {
        const RetryDecision decision = policy.socketClosed(random);
        backoff += expectedRandom.next() * backoff;
        bool halve = false;
        if (backoff > 5000) {
            backoff = 5000;
            halve = true;
        }
        CHECK(decision.retry);
        CHECK(decision.delayMs == qint64(backoff));
        CHECK(decision.delayMs <= 5000);
        if (halve)
            backoff /= 2;
    }
    policy.socketConnected();
    CHECK(policy.socketBackoff() == 1);
    policy.statusNotConnected();
    const RetryDecision afterStatus = policy.socketClosed(random);
    CHECK(afterStatus.delayMs >= 1000);
    CHECK(afterStatus.delayMs < 2000);
}

TEST_CASE("reference policy: stream layer gives up on fatal codes and after 16 blind retries")
{
    RandomSource random(7);
    ReferenceClientPolicy policy;
    for (int code : { 403403, 403500, 184333, 982253 }) {
        const RetryDecision decision = policy.streamFailed({ code, true, false, false }, random);
        CHECK_FALSE(decision.retry);
        CHECK(decision.reason.contains(QString::number(code)));
    }
    // Socket loss reaches RxHTML without a reason: the blind path (125 ms growing up to 2.5 s).
    RandomSource expectedRandom(7);
    double b = 1;
    for (int i = 1; i <= 16; ++i) {
        const RetryDecision decision = policy.streamFailed({ 999, false, true, false }, random);
        b = std::ceil(std::min(b + expectedRandom.next() * b + 125, 2500.0));
        REQUIRE(decision.retry);
        CHECK(decision.delayMs == qint64(b));
    }
    CHECK_FALSE(policy.streamFailed({ 999, false, true, false }, random).retry);
    policy.streamItemReceived();
    CHECK(policy.blindRetries() == 0);
    const RetryDecision again = policy.streamFailed({ 928828, true, false, true }, random);
    CHECK(again.retry);
    CHECK(again.delayMs >= 126);
    CHECK(again.delayMs <= 127);
    // A real reason 999 takes the socket-loss path: min(1250, b) + random * 1250.
    ReferenceClientPolicy fresh;
    for (int i = 0; i < 50; ++i) {
        const RetryDecision decision = fresh.streamFailed({ 999, true, true, false }, random);
        REQUIRE(decision.retry);
        CHECK(decision.delayMs >= 1);
        CHECK(decision.delayMs < 2500);
    }
    CHECK(fresh.blindRetries() == 0);
}

TEST_CASE("simple policies: fixed, exponential full jitter, none")
{
    RandomSource random(1);
    FixedDelayPolicy fixed(250, 2);
    CHECK(fixed.socketClosed(random).delayMs == 250);
    CHECK(fixed.socketClosed(random).retry);
    CHECK_FALSE(fixed.socketClosed(random).retry);
    fixed.socketConnected();
    CHECK(fixed.socketClosed(random).retry);
    CHECK_FALSE(fixed.streamFailed({ 403403, true, false, false }, random).retry);
    CHECK_FALSE(fixed.streamFailed({ 143373, true, false, false }, random).retry);
    const RetryDecision loss = fixed.streamFailed({ 999, false, true, false }, random);
    CHECK(loss.retry);
    CHECK(loss.delayMs == 0);
    CHECK(fixed.streamFailed({ 928828, true, false, true }, random).delayMs == 250);

    ExponentialJitterPolicy exponential(100, 1000);
    for (int attempt = 0; attempt < 12; ++attempt) {
        const RetryDecision decision = exponential.socketClosed(random);
        CHECK(decision.delayMs >= 0);
        CHECK(decision.delayMs <= std::min<qint64>(1000, 100LL << attempt));
    }
    NoReconnectPolicy none;
    CHECK_FALSE(none.socketClosed(random).retry);
    CHECK_FALSE(none.streamFailed({ 999, false, true, false }, random).retry);
    CHECK_FALSE(none.streamFailed({ 999, false, true, false }, random).codeNotRetried);
    // A code no policy retries is said as such (exit 5), whatever the policy; a retryable one is
    // only not retried because reconnecting is off.
    const RetryDecision fatal = none.streamFailed({ 403403, true, false, false }, random);
    CHECK_FALSE(fatal.retry);
    CHECK(fatal.codeNotRetried);
    const RetryDecision retryable = none.streamFailed({ 928828, true, false, true }, random);
    CHECK_FALSE(retryable.retry);
    CHECK_FALSE(retryable.codeNotRetried);
    CHECK(retryable.reason == QStringLiteral("reconnect disabled"));
}

TEST_CASE("policy specs parse and bad specs say what is wrong")
{
    CHECK(makeReconnectPolicy(QStringLiteral("reference"))->name() == QLatin1String("reference"));
    CHECK(makeReconnectPolicy(QStringLiteral("fixed:500"))->name() == QLatin1String("fixed:500"));
    CHECK(makeReconnectPolicy(QStringLiteral("exponential:100:30000:5"))->name() == QLatin1String("exponential:100:30000"));
    CHECK(makeReconnectPolicy(QStringLiteral("none"))->name() == QLatin1String("none"));
    for (const char* bad : { "", "fixed", "fixed:-1", "fixed:x", "exponential:100", "exponential:0:10", "exponential:500:100", "bogus", "none:1",
             "fixed:0", "fixed:86400001", "fixed:100:4294967297", "exponential:1:86400001", "exponential:1:10:1000001" }) {
        QString error;
        CHECK(makeReconnectPolicy(QString::fromLatin1(bad), &error) == nullptr);
        CHECK_FALSE(error.isEmpty());
    }
    QString error;
    makeReconnectPolicy(QStringLiteral("fixed:100:4294967297"), &error);
    CHECK(error == QStringLiteral("reconnect policy 'fixed:100:4294967297': MAX_ATTEMPTS must be at most 1000000 (0: no limit), not 4294967297"));
    CHECK(makeReconnectPolicy(QStringLiteral("fixed:1:1000000")) != nullptr);
}

TEST_CASE("random source: same seed, same sequence")
{
    RandomSource a(99);
    RandomSource b(99);
    for (int i = 0; i < 100; ++i) {
        const double value = a.next();
        CHECK(value == b.next());
        CHECK(value >= 0.0);
        CHECK(value < 1.0);
    }
}
