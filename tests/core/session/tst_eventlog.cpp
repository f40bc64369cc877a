#include <catch2/catch.hpp>

#include "core/session/eventlog.h"
#include "tests/support/testutils.h"

#include <QDir>
#include <QSignalSpy>
#include <QTemporaryDir>

#include <sys/resource.h>

#include <csignal>

using namespace deltascope;

namespace {
SessionEvent makeEvent(EventKind kind, qint64 timeNs, qint64 requestId = -1, qint64 seq = -1)
{
    SessionEvent event;
    event.kind = kind;
    event.direction = naturalDirection(kind);
    event.monotonicNs = timeNs;
    event.requestId = requestId;
    event.seq = seq;
    return event;
}
}

TEST_CASE("event log: appends with stable indexes and keeps payloads")
{
    EventLog log;
    const QByteArray hello = R"({"status":"connected","version":"1","identities":{}})";
    CHECK(log.append(makeEvent(EventKind::Hello, 10), hello) == 0);
    CHECK(log.append(makeEvent(EventKind::Request, 20, 1), "{\"method\":\"connection/create\",\"id\":1}") == 1);
    CHECK(log.size() == 2);
    CHECK(log.at(0).index == 0);
    CHECK(log.at(1).kind == EventKind::Request);
    CHECK(log.payload(0) == hello);
    CHECK(log.payload(5).isEmpty());
}

TEST_CASE("event log: kind, request and seq queries and links")
{
    EventLog log;
    const qint64 request = log.append(makeEvent(EventKind::Request, 1, 7), "{}");
    SessionEvent item = makeEvent(EventKind::StreamItem, 2, 7, 57);
    item.epoch = 1;
    const qint64 streamItem = log.append(item, "{}");
    const qint64 ack = log.append(makeEvent(EventKind::Response, 3, 8, 57), "{}");
    CHECK(log.indexesOfKind(EventKind::StreamItem) == std::vector<qint64> { streamItem });
    CHECK(log.requestIndex(7) == request);
    CHECK(log.requestIndex(99) == -1);
    CHECK(log.streamItemWithSeq(57, 1) == streamItem);
    CHECK(log.streamItemWithSeq(57, 2) == -1);
    QSignalSpy linked(&log, &EventLog::eventLinked);
    log.link(ack, streamItem);
    CHECK(log.at(ack).linkedIndex == streamItem);
    CHECK(log.at(streamItem).linkedIndex == ack);
    CHECK(linked.count() == 1);
    log.link(ack, 1000); // out of range: ignored
    CHECK(linked.count() == 1);
}

TEST_CASE("event log: time search")
{
    EventLog log;
    for (int i = 0; i < 100; ++i)
        log.append(makeEvent(EventKind::Ping, i * 1000), "{}");
    CHECK(log.firstAtOrAfter(0) == 0);
    CHECK(log.firstAtOrAfter(1500) == 2);
    CHECK(log.firstAtOrAfter(99000) == 99);
    CHECK(log.firstAtOrAfter(1000000) == 100);
}

TEST_CASE("event log: appended events arrive in coalesced batches")
{
    EventLog log;
    QSignalSpy batches(&log, &EventLog::eventsAppended);
    for (int i = 0; i < 500; ++i)
        log.append(makeEvent(EventKind::Ping, i), "{}");
    CHECK(batches.isEmpty()); // nothing until the event loop runs
    REQUIRE(test::waitUntil([&] { return !batches.isEmpty(); }, std::chrono::seconds(5)));
    REQUIRE(batches.count() == 1);
    CHECK(batches.at(0).at(0).toLongLong() == 0);
    CHECK(batches.at(0).at(1).toLongLong() == 499);
    log.append(makeEvent(EventKind::Ping, 600), "{}");
    log.flushNotifications();
    REQUIRE(batches.count() == 2);
    CHECK(batches.at(1).at(0).toLongLong() == 500);
}

TEST_CASE("event log: interned strings")
{
    EventLog log;
    const quint16 send = log.intern(u"connection/send");
    CHECK(send != 0);
    CHECK(log.intern(u"connection/send") == send);
    CHECK(log.intern(u"") == 0);
    CHECK(log.string(send) == QStringLiteral("connection/send"));
    CHECK(log.string(9999).isEmpty());
}

TEST_CASE("event log: kind names round-trip")
{
    for (int i = 0; i < int(EventKind::Count_); ++i) {
        EventKind parsed {};
        REQUIRE(eventKindFromName(eventKindName(EventKind(i)), parsed));
        CHECK(parsed == EventKind(i));
    }
    EventKind unused {};
    CHECK_FALSE(eventKindFromName(u"bogus", unused));
}

TEST_CASE("memory payload store: large and many payloads")
{
    MemoryPayloadStore store;
    const QByteArray big(3 << 20, 'x');
    const PayloadRef small = store.append("abc");
    const PayloadRef large = store.append(big);
    const PayloadRef after = store.append("def");
    CHECK(store.read(small) == "abc");
    CHECK(store.read(large) == big);
    CHECK(store.read(after) == "def");
    CHECK(store.totalBytes() == quint64(big.size() + 6));
    CHECK(store.read(PayloadRef { quint64(99) << 32, 3 }).isEmpty());
}

TEST_CASE("spilling payload store: full chunks leave memory, and every payload reads back")
{
    QTemporaryDir dir;
    REQUIRE(dir.isValid());
    SpillingPayloadStore store(dir.path());
    // 40 MiB of distinct payloads, a few larger than a chunk.
    std::vector<PayloadRef> refs;
    std::vector<QByteArray> payloads;
    quint64 total = 0;
    for (int i = 0; i < 20000; ++i) {
        QByteArray payload = QByteArray::number(i) + ':' + QByteArray(i % 997 == 0 ? 3 << 20 : 1500 + i % 700, char('a' + i % 26));
        total += quint64(payload.size());
        refs.push_back(store.append(payload));
        payloads.push_back(std::move(payload));
        if (i == 0)
            CHECK_FALSE(store.spilling()); // nothing spilled before a chunk fills
    }
    CHECK(store.spilling());
    CHECK(store.totalBytes() == total);
    // The chunk being filled, not the 40 MiB.
    CHECK(store.bytesInMemory() <= 4 * SpillingPayloadStore::kChunkSize);
    // In order (as a search reads), backwards, and by jumps: each comes back as it went in.
    for (std::size_t i = 0; i < refs.size(); ++i)
        REQUIRE(store.read(refs[i]) == payloads[i]);
    for (std::size_t i = refs.size(); i-- > 0;)
        REQUIRE(store.read(refs[i]) == payloads[i]);
    for (std::size_t i = 0; i < refs.size(); i += 7919 % refs.size())
        REQUIRE(store.read(refs[(i * 104729) % refs.size()]) == payloads[(i * 104729) % refs.size()]);
    // The read cache is bounded in bytes too (a chunk may hold one 3 MiB payload).
    CHECK(store.bytesInMemory() <= SpillingPayloadStore::kCachedBytes + 2 * (3 << 20));
    // An empty payload reads back empty, from any chunk.
    const PayloadRef empty = store.append({});
    CHECK(store.read(empty).isEmpty());
    CHECK(store.read(PayloadRef { quint64(999999) << 32, 3 }).isEmpty());
    CHECK(store.read(PayloadRef { 0, 1u << 30 }).isEmpty());
    // The spill file is unlinked at once, so nothing is left behind in the folder.
    CHECK(QDir(dir.path()).entryList(QDir::Files).isEmpty());
}

TEST_CASE("spilling payload store: a write that fails (a full disk) keeps payloads in memory from there")
{
    QTemporaryDir dir;
    REQUIRE(dir.isValid());
    // A file size limit stands in for a full disk: the first chunk fits, the second does not.
    rlimit saved {};
    REQUIRE(getrlimit(RLIMIT_FSIZE, &saved) == 0);
    const auto previousHandler = std::signal(SIGXFSZ, SIG_IGN);
    rlimit limited = saved;
    limited.rlim_cur = rlim_t(SpillingPayloadStore::kChunkSize + SpillingPayloadStore::kChunkSize / 2);
    REQUIRE(setrlimit(RLIMIT_FSIZE, &limited) == 0);
    std::vector<PayloadRef> refs;
    {
        SpillingPayloadStore store(dir.path());
        for (int i = 0; i < 4000; ++i)
            refs.push_back(store.append(QByteArray(QByteArray::number(i) + QByteArray(1000, 'q'))));
        setrlimit(RLIMIT_FSIZE, &saved);
        std::signal(SIGXFSZ, previousHandler);
        CHECK_FALSE(store.spilling());
        CHECK(store.bytesInMemory() >= 2 * SpillingPayloadStore::kChunkSize); // the chunks after the first
        for (int i = 0; i < 4000; ++i)
            REQUIRE(store.read(refs[std::size_t(i)]) == QByteArray::number(i) + QByteArray(1000, 'q'));
    }
    setrlimit(RLIMIT_FSIZE, &saved);
}

TEST_CASE("spilling payload store: a folder it cannot write keeps payloads in memory")
{
    SpillingPayloadStore store(QStringLiteral("/nonexistent/deltascope-spill"));
    std::vector<PayloadRef> refs;
    for (int i = 0; i < 3000; ++i)
        refs.push_back(store.append(QByteArray(QByteArray::number(i) + QByteArray(1000, 'z'))));
    CHECK_FALSE(store.spilling());
    CHECK(store.bytesInMemory() >= 3000 * 1000);
    for (int i = 0; i < 3000; ++i)
        REQUIRE(store.read(refs[std::size_t(i)]) == QByteArray::number(i) + QByteArray(1000, 'z'));
}

TEST_CASE("event log: ack-to-item seq links and seq lookup when seqs go backwards")
{
    EventLog log;
    SessionEvent item = makeEvent(EventKind::StreamItem, 1, 1, 10);
    item.epoch = 1;
    const qint64 first = log.append(item, "{}");
    item.seq = 12;
    const qint64 second = log.append(item, "{}");
    item.seq = 11; // a reordered delta: lookups must still find it
    const qint64 third = log.append(item, "{}");
    CHECK(log.streamItemWithSeq(10, 1) == first);
    CHECK(log.streamItemWithSeq(12, 1) == second);
    CHECK(log.streamItemWithSeq(11, 1) == third);
    CHECK(log.streamItemWithSeq(13, 1) == -1);

    const qint64 request = log.append(makeEvent(EventKind::Request, 2, 2), "{}");
    const qint64 ack = log.append(makeEvent(EventKind::Response, 3, 2, 12), "{}");
    QSignalSpy linked(&log, &EventLog::eventLinked);
    log.link(request, ack);
    log.linkSeq(ack, second);
    CHECK(linked.count() == 2);
    CHECK(log.at(ack).linkedIndex == request);
    CHECK(log.seqLink(ack) == second);
    CHECK(log.seqLink(second) == ack);
    CHECK(log.seqLink(first) == -1);
    log.linkSeq(ack, 999); // out of range: ignored
    CHECK(log.seqLink(ack) == second);

    CHECK(log.eventsForRequest(1) == std::vector<qint64> { first, second, third });
    CHECK(log.eventsForRequest(2) == std::vector<qint64> { request, ack });
    CHECK(log.eventsForRequest(-1).empty());
    CHECK(log.indexesOfKind(EventKind::StreamItem, 1, 2) == std::vector<qint64> { second, third });
    CHECK(log.indexesOfKind(EventKind::StreamItem, 3, 100).empty());

    // Many events cross block boundaries with stable references and a working time search.
    for (int i = 0; i < 20000; ++i)
        log.append(makeEvent(EventKind::Ping, 10 + i), "{}");
    CHECK(log.at(log.size() - 1).monotonicNs == 10 + 19999);
    CHECK(log.firstAtOrAfter(10 + 12345) == 5 + 12345);
    log.clear();
    CHECK(log.isEmpty());
    CHECK(log.seqLink(ack) == -1);
}
