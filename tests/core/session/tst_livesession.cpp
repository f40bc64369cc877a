#include <catch2/catch.hpp>

#include "core/document/mutator.h"
#include "core/protocol/loopbacktransport.h"
#include "core/session/livesession.h"
#include "core/session/sessionfolder.h"
#include "core/session/streamitemfold.h"
#include "tests/support/testutils.h"

#include <QJsonDocument>
#include <QJsonObject>
#include <QSignalSpy>

#include <algorithm>

using namespace deltascope;
using deltascope::test::waitUntil;

namespace {
QByteArray item(qint64 id, const QByteArray& delta)
{
    return "{\"deliver\":" + QByteArray::number(id) + ",\"done\":false,\"response\":{\"delta\":" + delta + "}}";
}

QJsonObject json(const QByteArray& text)
{
    return QJsonDocument::fromJson(text).object();
}

// A LiveSession over a loopback pair; the test plays the server.
struct Fixture {
    ManualClock clock;
    LoopbackTransport* transport = new LoopbackTransport;
    LiveSession session { std::unique_ptr<Transport>(transport), &clock };
    std::vector<QByteArray> received;

    Fixture()
    {
        QObject::connect(transport->peer(), &Transport::textReceived, [this](const QByteArray& frame) { received.push_back(frame); });
        session.log().setNotifyInterval(0);
    }
    LoopbackTransport* server() { return transport->peer(); }
    bool pump(const std::function<bool()>& predicate) { return waitUntil(predicate, std::chrono::milliseconds(2000)); }
    qint64 lastRequestId() const
    {
        for (auto it = received.rbegin(); it != received.rend(); ++it) {
            if (json(*it).contains(QStringLiteral("method")))
                return json(*it).value(QStringLiteral("id")).toInteger();
        }
        return -1;
    }
    bool start()
    {
        DocumentTarget target;
        target.url = QUrl(QStringLiteral("ws://127.0.0.1:1/~s"));
        target.identity = QStringLiteral("anonymous:alice");
        target.space = QStringLiteral("chat");
        target.key = QStringLiteral("demo");
        if (!session.start(target))
            return false;
        return hello();
    }
    bool hello(const QByteArray& version = "v1")
    {
        const qint64 before = lastRequestId();
        if (!pump([&]() { return server()->isOpen(); }))
            return false;
        server()->sendText(R"({"status":"connected","version":")" + version + R"(","identities":{}})");
        return pump([&]() { return lastRequestId() > before; });
    }
    void send(const QByteArray& frame) { server()->sendText(frame); }
    std::vector<qint64> ofKind(EventKind kind) const { return session.log().indexesOfKind(kind); }
};
}

TEST_CASE("live session: records frames in order with request/response and ack/item links")
{
    Fixture f;
    REQUIRE(f.start());
    f.send(item(1, R"({"view-state-filter":["page"]})"));
    f.send(item(1, R"({"data":{"title":"Demo","lines":{"1":{"what":"hi"},"@o":[1]}},"seq":17})"));
    REQUIRE(f.pump([&]() { return f.session.lastSeq() == 17; }));

    // The ack arrives before its item ...
    const qint64 send1 = f.session.send(QStringLiteral("say"), R"({"what":"yo"})");
    f.send(R"({"deliver":2,"done":true,"response":{"seq":18}})");
    f.send(item(1, R"({"data":{"lines":{"2":{"what":"yo"},"@o":[1,2]}},"seq":18})"));
    // ... and after it.
    const qint64 send2 = f.session.send(QStringLiteral("say"), R"({"what":"again"})");
    f.send(item(1, R"({"data":{"lines":{"3":{"what":"again"},"@o":[[0,1],3]}},"seq":19})"));
    f.send(R"({"deliver":3,"done":true,"response":{"seq":19}})");
    REQUIRE(f.pump([&]() { return f.ofKind(EventKind::Response).size() == 2; }));
    CHECK(send1 == 2);
    CHECK(send2 == 3);

    const EventLog& log = f.session.log();
    for (qint64 i = 1; i < log.size(); ++i)
        CHECK(log.at(i).monotonicNs >= log.at(i - 1).monotonicNs);
    // The first events: state changes, then the hello, the epoch and its create.
    CHECK(log.at(0).kind == EventKind::StateChanged);
    const qint64 helloIndex = log.indexesOfKind(EventKind::Hello).front();
    const qint64 epochIndex = log.indexesOfKind(EventKind::EpochStarted).front();
    const qint64 createIndex = log.requestIndex(1);
    CHECK(helloIndex < epochIndex);
    CHECK(epochIndex < createIndex);
    CHECK(log.method(createIndex) == QLatin1String("connection/create"));
    CHECK(log.at(createIndex).epoch == 1);

    const auto items = log.indexesOfKind(EventKind::StreamItem);
    REQUIRE(items.size() == 4);
    CHECK(log.at(items[0]).parts == PartViewStateFilter);
    CHECK_FALSE((log.at(items[0]).flags & FlagSnapshot));
    CHECK((log.at(items[1]).flags & FlagSnapshot));
    CHECK_FALSE((log.at(items[2]).flags & FlagSnapshot));

    const qint64 request2 = log.requestIndex(2);
    const qint64 request3 = log.requestIndex(3);
    CHECK(log.method(request2) == QLatin1String("say")); // sends carry their channel
    const auto responses = log.indexesOfKind(EventKind::Response);
    CHECK(log.at(request2).linkedIndex == responses[0]);
    CHECK(log.at(responses[0]).linkedIndex == request2);
    CHECK(log.at(request3).linkedIndex == responses[1]);
    CHECK(log.seqLink(responses[0]) == items[2]);
    CHECK(log.seqLink(items[2]) == responses[0]);
    CHECK(log.seqLink(responses[1]) == items[3]);
    CHECK(log.at(responses[0]).seq == 18);

    // The fold followed along.
    CHECK(json(f.session.folder().epochTree().toJson()) == json(R"({"title":"Demo","lines":[{"what":"hi"},{"what":"yo"},{"what":"again"}]})"));
    // Deltas that carry data: the view-state filter is none, nor is a bare seq.
    CHECK(f.session.deltasPerSecond() == 3);
    f.send(item(1, R"({"seq":20})"));
    REQUIRE(f.pump([&]() { return f.session.lastSeq() == 20; }));
    CHECK(f.session.deltasPerSecond() == 3);
}

TEST_CASE("live session: events are logged at their read or made time, never before an event already logged")
{
    Fixture f;
    // The loopback reads a frame when the server side sends it; the client times frames by that.
    f.transport->setReadClock([&clock = f.clock] { return clock.nowNs(); });
    REQUIRE(f.start());
    f.clock.advance(100);
    f.send(item(1, R"({"data":{"title":"Demo"},"seq":1})")); // read at 100 ms
    f.clock.stall(200);
    const qint64 note = f.session.addNote(QStringLiteral("while the item waits")); // at 300 ms
    REQUIRE(f.pump([&]() { return f.session.lastSeq() == 1; }));
    const EventLog& log = f.session.log();
    const qint64 itemIndex = f.ofKind(EventKind::StreamItem).back();
    REQUIRE(itemIndex > note);
    CHECK(log.at(note).monotonicNs == 300'000'000);
    CHECK(log.at(itemIndex).monotonicNs == 300'000'000); // not 100 ms: the log's times never go back
    CHECK(log.at(itemIndex).wallMs == log.at(note).wallMs);

    // With nothing recorded meanwhile, the read time stands.
    f.clock.advance(100);
    f.send(item(1, R"({"data":{"title":"Demo 2"},"seq":2})")); // read at 400 ms
    f.clock.stall(250);
    REQUIRE(f.pump([&]() { return f.session.lastSeq() == 2; }));
    CHECK(log.at(f.ofKind(EventKind::StreamItem).back()).monotonicNs == 400'000'000);

    // A local event made earlier on another thread keeps its time, though not before the log's last
    // event, and one timed in the future is timed now.
    const qint64 madeAt = f.clock.nowNs() - 100'000'000; // 550 ms
    const qint64 fault = f.session.recordLocal(EventKind::FaultInjected, R"({"fault":"latency"})", 0, 0, madeAt);
    CHECK(log.at(fault).monotonicNs == madeAt);
    CHECK(log.at(fault).wallMs == f.clock.wallMs() - 100);
    CHECK(log.at(f.session.recordLocal(EventKind::FaultInjected, R"({"fault":"latency"})", 0, 0, 1)).monotonicNs == madeAt);
    CHECK(log.at(f.session.recordLocal(EventKind::Note, R"({"note":"x"})", 0, 0, f.clock.nowNs() + 5)).monotonicNs == f.clock.nowNs());

    // An anomaly is timed as the event it was found in, and holds nothing read after it back.
    f.clock.advance(100);
    const qint64 readAt = f.clock.nowNs();
    f.send(item(1, R"({"data":{"list":{"@o":[[0,4]]}},"seq":3})")); // a range over no list; seq 3 after 2
    f.clock.stall(10);
    f.send(item(1, R"({"data":{"title":"Demo 3"},"seq":4})")); // read 10 ms later
    f.clock.stall(300); // both are handed on 300 ms after that
    REQUIRE(f.pump([&]() { return f.session.lastSeq() == 4; }));
    const std::vector<qint64> anomalies = f.ofKind(EventKind::FoldAnomaly);
    REQUIRE_FALSE(anomalies.empty());
    CHECK(log.at(anomalies.back()).monotonicNs == readAt);
    CHECK(log.at(f.ofKind(EventKind::StreamItem).back()).monotonicNs == readAt + 10'000'000);
    // The rate counts what was handed on, whenever it was read: the last item was read 1.2 s ago
    // but handed on 0.9 s ago, so the stream is not taken for quiet (that would read 0).
    f.clock.stall(900);
    CHECK(f.session.deltasPerSecond() > 0);
    CHECK(f.session.deltasPerSecond() < 10);
    for (qint64 i = 1; i < log.size(); ++i)
        CHECK(log.at(i).monotonicNs >= log.at(i - 1).monotonicNs);
}

TEST_CASE("live session: the delta rate is the last second's count, a slow stream's 10 s average, and 0 when it goes quiet")
{
    Fixture f;
    REQUIRE(f.start());
    qint64 seq = 0;
    const auto deliver = [&](int count, qint64 everyMs) {
        for (int i = 0; i < count; ++i) {
            f.clock.advance(everyMs);
            f.send(item(1, R"({"data":{"n":1},"seq":)" + QByteArray::number(++seq) + "}"));
            REQUIRE(f.pump([&] { return f.session.lastSeq() == seq; }));
        }
    };
    CHECK(f.session.deltasPerSecond() == 0);
    // A slow stream, one every 2 s: 0.5/s, where the last second alone says 0 or 1 by turns.
    deliver(10, 2000);
    f.clock.advance(1000);
    CHECK(f.session.deltasPerSecond() == Approx(0.5));
    // Quiet for more than twice its gap: 0.
    f.clock.advance(3100);
    CHECK(f.session.deltasPerSecond() == 0);
    // A fast one: the last second's 20, as they came.
    deliver(20, 50);
    CHECK(f.session.deltasPerSecond() == 20);
    // It stalls: 0 a second later, not its 10 s average.
    f.clock.advance(1100);
    CHECK(f.session.deltasPerSecond() == 0);
    // A fast stream that slows to 2/s reads no more than it did, and the new pace within ten deltas:
    // an average over 10 s would have jumped to about 90 as the last second's count fell below 10.
    deliver(200, 10); // 100/s
    CHECK(f.session.deltasPerSecond() == Approx(100).margin(1)); // the last second, both ends in
    std::vector<double> rates;
    for (int i = 0; i < 12; ++i) {
        deliver(1, 500);
        rates.push_back(f.session.deltasPerSecond());
    }
    CHECK(rates[0] <= 101); // the last second still holds the fast ones
    for (std::size_t i = 2; i < rates.size(); ++i) {
        INFO("after slow delta " << i + 1 << ": " << rates[i]);
        CHECK(rates[i] < 12);
    }
    CHECK(rates.back() == Approx(2.0));
}

TEST_CASE("live session: resync starts a new epoch, the merged tree keeps stale keys and the folder reports them")
{
    Fixture f;
    REQUIRE(f.start());
    f.send(item(1, R"({"data":{"title":"Demo","topic":"old","players":{"4":{"n":"ann"},"7":{"n":"bo"},"@o":[4,7]}},"seq":5})"));
    REQUIRE(f.pump([&]() { return f.session.lastSeq() == 5; }));
    QSignalSpy resyncs(&f.session, &LiveSession::resyncCompared);

    f.server()->close(Transport::CloseMode::Abort);
    REQUIRE(f.pump([&]() { return f.session.state() == ConnectionState::Reconnecting; }));
    // The synthetic 999 of the stream is linked to its create.
    const auto failures = f.session.log().indexesOfKind(EventKind::Failure);
    REQUIRE(failures.size() == 1);
    CHECK(f.session.log().at(failures[0]).linkedIndex == f.session.log().requestIndex(1));
    CHECK((f.session.log().at(failures[0]).flags & FlagSynthetic));
    CHECK(f.session.log().indexesOfKind(EventKind::ReconnectPlanned).size() == 2);

    f.clock.advance(300); // the socket reopens; the stream retry waits for the hello
    REQUIRE(f.hello());
    CHECK(f.lastRequestId() == 2);
    CHECK(f.session.epoch() == 2);
    CHECK(json(f.session.folder().epochTree().toJson()) == QJsonObject {}); // a fresh epoch starts empty

    // While disconnected, "topic" and player 7 were deleted.
    f.send(item(2, R"({"data":{"title":"Demo","players":{"4":{"n":"ann"},"9":{"n":"cy"},"@o":[4,9]}},"seq":9})"));
    REQUIRE(f.pump([&]() { return resyncs.count() == 1; }));
    const ResyncReport report = resyncs.at(0).at(0).value<ResyncReport>();
    CHECK(report.epoch == 2);
    CHECK(report.stalePaths().contains(QStringLiteral("topic")));
    CHECK(json(f.session.folder().epochTree().toJson()) == json(R"({"title":"Demo","players":[{"n":"ann"},{"n":"cy"}]})"));
    const QJsonObject merged = json(f.session.folder().mergedTree().toJson());
    CHECK(merged.value(QStringLiteral("topic")).toString() == QLatin1String("old"));
    CHECK((f.session.log().at(f.session.log().indexesOfKind(EventKind::StreamItem).back()).flags & FlagSnapshot));
}

TEST_CASE("live session: fold anomalies and seq regressions are recorded as events")
{
    Fixture f;
    REQUIRE(f.start());
    QSignalSpy anomalies(&f.session, &LiveSession::anomalyRecorded);
    f.send(item(1, R"({"data":{"list":{"1":{"a":1},"@o":[1]}},"seq":5})"));
    f.send(item(1, R"({"data":{"list":{"@o":[[0,4]]}},"seq":6})"));
    f.send(item(1, R"({"data":{"x":1},"seq":4})"));
    f.send(R"({"deliver":1,"done":false,"response":{"nodelta":true}})");
    REQUIRE(f.pump([&]() { return anomalies.count() >= 3; }));
    const auto events = f.session.log().indexesOfKind(EventKind::FoldAnomaly);
    REQUIRE(events.size() >= 3);
    QStringList kinds;
    for (qint64 index : events)
        kinds << json(f.session.log().payload(index)).value(QStringLiteral("anomaly")).toString();
    CHECK(kinds.contains(QStringLiteral("seq-not-increasing")));
    CHECK(kinds.contains(QStringLiteral("unparseable-item")));
    CHECK(f.session.state() == ConnectionState::Streaming);
}

TEST_CASE("live session: a whole snapshot re-sent inside the stream is said, and its merge keeps stale keys")
{
    // adama-wire.md 7.4: after a transparent failover or a hot deploy the server re-sends the view's
    // state in the same stream, with no marker. Values it sends again unchanged give it away (a
    // server otherwise sends changed fields only); "topic", renamed away meanwhile, stays.
    Fixture f;
    REQUIRE(f.start());
    QSignalSpy anomalies(&f.session, &LiveSession::anomalyRecorded);
    f.send(item(1, R"({"data":{"topic":"Demo","count":2,"open":true,"lines":{"1":{"what":"hi"},"@o":[1]}},"seq":5})"));
    f.send(item(1, R"({"data":{"count":3,"lines":{"2":{"what":"yo"},"@o":[1,2]}},"seq":6})")); // an ordinary delta
    f.send(item(1, R"({"data":{"title":"Demo","count":3,"open":true,"lines":{"1":{"what":"hi"},"2":{"what":"yo"},"@o":[1,2]}},"seq":7})"));
    REQUIRE(f.pump([&]() { return f.session.lastSeq() == 7; }));
    REQUIRE(f.pump([&]() { return anomalies.count() >= 1; }));
    const auto events = f.session.log().indexesOfKind(EventKind::FoldAnomaly);
    REQUIRE(events.size() == 1); // the snapshot and the ordinary delta say nothing
    const QJsonObject anomaly = json(f.session.log().payload(events[0]));
    CHECK(anomaly.value(QStringLiteral("anomaly")).toString() == QLatin1String("snapshot-resent"));
    CHECK(anomaly.value(QStringLiteral("message")).toString().startsWith(QLatin1String("4 values re-sent unchanged: this item looks like a whole snapshot")));
    CHECK(anomaly.value(QStringLiteral("event")).toInteger() == f.session.log().indexesOfKind(EventKind::StreamItem).back());
    CHECK(json(f.session.folder().epochTree().toJson()).value(QStringLiteral("topic")).toString() == QLatin1String("Demo"));
    // The same item again (a duplicate): a seq problem, not another re-sent snapshot.
    f.send(item(1, R"({"data":{"title":"Demo","count":3,"open":true,"lines":{"1":{"what":"hi"},"2":{"what":"yo"},"@o":[1,2]}},"seq":7})"));
    REQUIRE(f.pump([&]() { return anomalies.count() >= 2; }));
    test::waitUntil([] { return false; }, std::chrono::milliseconds(30));
    QStringList kinds;
    for (qint64 index : f.session.log().indexesOfKind(EventKind::FoldAnomaly))
        kinds << json(f.session.log().payload(index)).value(QStringLiteral("anomaly")).toString();
    CHECK(kinds == QStringList { QStringLiteral("snapshot-resent"), QStringLiteral("seq-not-increasing") });
}

TEST_CASE("session folder: a replayed log folds to the same trees as the live session")
{
    Fixture f;
    REQUIRE(f.start());
    f.send(item(1, R"({"data":{"a":{"b":1},"s":{"0":5,"1":7,"@s":2}},"seq":1})"));
    f.send(item(1, R"({"data":{"s":{"1":8}},"seq":2})"));
    REQUIRE(f.pump([&]() { return f.session.lastSeq() == 2; }));
    f.server()->close(Transport::CloseMode::Clean);
    REQUIRE(f.pump([&]() { return f.session.state() == ConnectionState::Reconnecting; }));
    f.clock.advance(300);
    REQUIRE(f.hello());
    f.send(item(2, R"({"data":{"a":{"c":2}},"seq":3})"));
    REQUIRE(f.pump([&]() { return f.session.lastSeq() == 3; }));

    SessionFolder replay;
    const EventLog& log = f.session.log();
    for (qint64 i = 0; i < log.size(); ++i)
        replay.processEvent(log.at(i), log.payload(i));
    CHECK(replay.epoch() == 2);
    CHECK(replay.lastSeq() == 3);
    CHECK(replay.epochTree().toJson() == f.session.folder().epochTree().toJson());
    CHECK(replay.mergedTree().toJson() == f.session.folder().mergedTree().toJson());
    CHECK(replay.foldedCount() == f.session.folder().foldedCount());
}

TEST_CASE("session folder: data nested near the depth limit folds as apply() folds it alone")
{
    // The folder must fold, or refuse, what folding the data alone does, and report a refusal once.
    // It folds a frame's data as parsed, and there the frame's own three levels count against the
    // depth limit: data nested closer to it than that takes the way through text.
    const auto nested = [](int depth) -> QByteArray {
        return QByteArray("{\"a\":").repeated(depth) + '1' + QByteArray("}").repeated(depth);
    };
    for (const int depth : { 3, DocumentTree::kMaxDepth - 3, DocumentTree::kMaxDepth - 2, DocumentTree::kMaxDepth, DocumentTree::kMaxDepth + 1 }) {
        INFO("depth " << depth);
        const QByteArray data = nested(depth);
        DocumentTree alone;
        const FoldResult direct = alone.apply(std::string_view(data.constData(), std::size_t(data.size())), 1);
        SessionFolder folder;
        QSignalSpy anomalies(&folder, &SessionFolder::anomalyFound);
        SessionEvent epoch;
        epoch.kind = EventKind::EpochStarted;
        epoch.epoch = 1;
        epoch.requestId = 1;
        folder.processEvent(epoch, "{}");
        SessionEvent event;
        event.kind = EventKind::StreamItem;
        event.index = 1;
        event.epoch = 1;
        event.requestId = 1;
        const QByteArray frame = "{\"deliver\":1,\"done\":false,\"response\":{\"delta\":{\"data\":" + data + ",\"seq\":1}}}";
        folder.processEvent(event, frame);
        CHECK(folder.lastSeq() == 1);
        // Within the frame's three levels of the limit the frame is refused and the data goes as text.
        CHECK(StreamItemFold(frame).parsedOnce() == (depth <= DocumentTree::kMaxDepth - 3));
        CHECK(folder.epochTree().toJson() == alone.toJson());
        CHECK(folder.mergedTree().toJson() == alone.toJson());
        CHECK(direct.parsed == (depth <= DocumentTree::kMaxDepth));
        QStringList kinds;
        for (const QList<QVariant>& signal : anomalies)
            kinds << signal.at(0).value<SessionAnomaly>().kind;
        CHECK(kinds == (direct.parsed ? QStringList() : QStringList { anomalyKindName(AnomalyKind::InvalidJson) }));
    }
}

TEST_CASE("session folder: each stream item's frame is parsed once for both its trees")
{
    // The epoch and merged trees fold the same parsed frame: one parse per item, counted with the
    // fold parser's per-thread counter (two per item would mean the data went through text).
    SessionFolder folder;
    SessionEvent epoch;
    epoch.kind = EventKind::EpochStarted;
    epoch.epoch = 1;
    epoch.requestId = 1;
    folder.processEvent(epoch, "{}");
    const quint64 before = detail::parseJsonCount();
    for (int seq = 1; seq <= 40; ++seq) {
        SessionEvent event;
        event.kind = EventKind::StreamItem;
        event.index = seq;
        event.epoch = 1;
        event.requestId = 1;
        const QString order = seq == 1 ? QStringLiteral("[1]") : QStringLiteral("[[0,%1],%2]").arg(seq - 2).arg(seq);
        const QByteArray frame = QStringLiteral(R"({"deliver":1,"done":false,"response":{"delta":{"data":{"n":%1,"l":{"%1":{"v":%1},"@o":%2}},"seq":%1}}})")
                                     .arg(seq)
                                     .arg(order)
                                     .toUtf8();
        folder.processEvent(event, frame);
    }
    CHECK(detail::parseJsonCount() - before == 40);
    CHECK(folder.lastSeq() == 40);
    CHECK(folder.epochTree().toJson() == folder.mergedTree().toJson());
    CHECK(folder.epochTree().childCount(folder.epochTree().find(u"l")) == 40);
}

TEST_CASE("stream item fold: a parse between two folds does not change what the second folds")
{
    // The item holds the fold parser's output; a slot run between the epoch and merged folds may
    // parse other JSON on the same thread, which overwrites it.
    const QByteArray frame = R"({"deliver":1,"done":false,"response":{"delta":{"data":{"a":{"b":[1,2]},"l":{"1":{"x":"y"},"@o":[1]}},"seq":4}}})";
    const StreamItemFold item(frame);
    REQUIRE(item.delta().ok);
    CHECK(item.parsedOnce());
    CHECK(item.delta().seq == 4);
    CHECK(item.delta().hasData);
    DocumentTree first;
    FoldResult result;
    item.foldInto(first, 1, result, DocumentTree::ChangeDetail::Full);
    CHECK(first.toJson() == R"({"a":{"b":[1,2]},"l":[{"x":"y"}]})");
    CHECK_FALSE(result.changes.touched.empty());
    DocumentTree other;
    other.apply(R"({"zzz":{"@o":[7,8,9],"7":{"q":1}},"w":[true,false,null]})", 1); // the same parser, other text
    DocumentTree second;
    item.foldInto(second, 1, result, DocumentTree::ChangeDetail::None);
    CHECK(second.toJson() == first.toJson());
    CHECK(result.changes.touched.empty());
}

TEST_CASE("stream item fold: a ReferenceClient tree stops where tree.js throws in the frame's data")
{
    // Element 0 is a scalar: merging {"m":{}} into it throws, and tree.js folds nothing more of the
    // data ("z"). The walk that finds it is skipped only for data whose shape rules a throw out.
    const QByteArray start = R"({"l":{"0":5,"@o":[0]}})";
    const QByteArray throwing = R"({"deliver":1,"response":{"delta":{"data":{"l":{"0":{"m":{}}},"z":1},"seq":2}}})";
    const QByteArray plain = R"({"deliver":1,"response":{"delta":{"data":{"l":{"0":{"m":1}},"z":1},"seq":2}}})";
    for (const bool parseBetween : { false, true }) {
        INFO("a parse between the item and its fold: " << parseBetween);
        DocumentTree reference(FoldMode::ReferenceClient);
        reference.apply(start.toStdString(), 0);
        DocumentTree notThrowing = reference;
        const StreamItemFold throwingItem(throwing);
        const StreamItemFold plainItem(plain);
        REQUIRE(throwingItem.parsedOnce());
        if (parseBetween)
            DocumentTree().apply(R"({"other":{"x":[null]}})", 0);
        FoldResult result;
        throwingItem.foldInto(reference, 1, result, DocumentTree::ChangeDetail::Full);
        CHECK(reference.toJson() == R"({"l":[5]})");
        CHECK(std::any_of(result.anomalies.begin(), result.anomalies.end(),
            [](const Anomaly& a) { return a.message.contains(QStringLiteral("throws a TypeError")); }));
        plainItem.foldInto(notThrowing, 1, result, DocumentTree::ChangeDetail::Full);
        CHECK(notThrowing.toJson() == R"({"l":[5],"z":1})");
    }
}

namespace {
// Plays LiveController's part for a fault proxy on another thread: its reports are numbered as they
// are made and recorded into the session's log where the transport's marks and hook put them.
struct ProxyReports {
    LiveSession& session;
    quint64 made = 0;
    quint64 recorded = 0;

    explicit ProxyReports(Fixture& f)
        : session(f.session)
    {
        f.transport->setArrivalMark([this] { return made; });
        f.transport->setBeforeEachEvent([this](quint64 limit) {
            for (; recorded < made && recorded < limit; ++recorded)
                session.recordLocal(
                    EventKind::FaultInjected, R"({"fault":"R)" + QByteArray::number(recorded) + R"("})");
        });
    }
    void report() { ++made; }
    // The log from `first` on: "f<seq>" per stream item, the fault's name per report.
    QString trace(qint64 first) const
    {
        QStringList parts;
        const EventLog& log = session.log();
        for (qint64 i = first; i < log.size(); ++i) {
            if (log.at(i).kind == EventKind::StreamItem)
                parts << QStringLiteral("f%1").arg(log.at(i).seq);
            else if (log.at(i).kind == EventKind::FaultInjected)
                parts << json(log.payload(i)).value(QStringLiteral("fault")).toString();
        }
        return parts.join(QLatin1Char(' '));
    }
};

QByteArray seqItem(int seq) { return item(1, R"({"seq":)" + QByteArray::number(seq) + "}"); }
}

TEST_CASE("live session over loopback: a fault reported while frames wait is logged after them and before the frames that arrive after it")
{
    Fixture f;
    REQUIRE(f.start());
    ProxyReports proxy(f);
    const qint64 first = f.session.log().size();
    for (int seq = 1; seq <= 5; ++seq)
        f.send(seqItem(seq));
    REQUIRE(f.transport->pendingInbound() == 5);
    proxy.report();
    SECTION("a frame arrives after the report")
    {
        f.send(seqItem(6));
        REQUIRE(f.pump([&] { return f.session.lastSeq() == 6; }));
        CHECK(proxy.trace(first).toStdString() == "f1 f2 f3 f4 f5 R0 f6");
    }
    SECTION("nothing arrives after the report: it is logged in the turn of the last frame that waited")
    {
        REQUIRE(f.pump([&] { return f.session.lastSeq() == 5; }));
        CHECK(proxy.trace(first).toStdString() == "f1 f2 f3 f4 f5 R0");
    }
    SECTION("the session stops before they are handed on: it is logged once they are dropped")
    {
        f.session.stop();
        REQUIRE(f.pump([&] { return f.transport->pendingInbound() == 0; }));
        CHECK(proxy.trace(first).toStdString() == "R0");
    }
}

TEST_CASE("live session over loopback: a fault reported while nothing waits is logged before the next frame")
{
    Fixture f;
    REQUIRE(f.start());
    ProxyReports proxy(f);
    const qint64 first = f.session.log().size();
    REQUIRE(f.transport->pendingInbound() == 0);
    proxy.report();
    f.send(seqItem(1));
    REQUIRE(f.pump([&] { return f.session.lastSeq() == 1; }));
    CHECK(proxy.trace(first).toStdString() == "R0 f1");
}

TEST_CASE("live session: notes and externally recorded events get the session's clock and epoch")
{
    Fixture f;
    REQUIRE(f.start());
    f.clock.advance(5);
    const qint64 note = f.session.addNote(QStringLiteral("user pressed drop"));
    CHECK(f.session.log().at(note).kind == EventKind::Note);
    CHECK(f.session.log().at(note).epoch == 1);
    CHECK(f.session.log().at(note).monotonicNs == 5000000);
    const qint64 fault = f.session.recordLocal(EventKind::FaultInjected, R"({"fault":"stall"})", 0, FlagCorrupting);
    CHECK((f.session.log().at(fault).flags & FlagCorrupting));
}

TEST_CASE("live session: a value list edited in place is logged once per path and epoch, not per delta")
{
    Fixture f;
    REQUIRE(f.start());
    QSignalSpy anomalies(&f.session.folder(), &SessionFolder::anomalyFound);
    f.send(item(1, R"({"data":{"prices":{"0":5,"1":7,"@s":2},"volume":{"0":1,"@s":1}},"seq":1})"));
    for (int seq = 2; seq < 12; ++seq)
        f.send(item(1, QStringLiteral(R"({"data":{"prices":{"1":%1},"volume":{"0":%1}},"seq":%2})").arg(seq * 3).arg(seq).toUtf8()));
    REQUIRE(f.pump([&]() { return f.session.lastSeq() == 11; }));
    CHECK(anomalies.count() == 20); // the folder reports every occurrence (the tree view marks them)
    const auto events = f.session.log().indexesOfKind(EventKind::FoldAnomaly);
    REQUIRE(events.size() == 2); // the log says it once per path
    QStringList paths;
    for (qint64 index : events) {
        const QJsonObject fields = json(f.session.log().payload(index));
        CHECK(fields.value(QStringLiteral("quirk")).toBool());
        paths << fields.value(QStringLiteral("path")).toString();
    }
    paths.sort();
    CHECK(paths == QStringList { QStringLiteral("prices"), QStringLiteral("volume") });
}

TEST_CASE("live session: payloads go to a spilling store unless the caller gives one")
{
    // A session may run for days: by default its payloads leave memory as they accumulate.
    LiveSession session;
    CHECK(dynamic_cast<const SpillingPayloadStore*>(&session.log().payloadStore()) != nullptr);
    ManualClock clock;
    LiveSession withMemory(std::make_unique<LoopbackTransport>(), &clock, nullptr, std::make_unique<MemoryPayloadStore>());
    CHECK(dynamic_cast<const MemoryPayloadStore*>(&withMemory.log().payloadStore()) != nullptr);
}
