#include "core/session/eventlog.h"

#include <QCoreApplication>
#include <QElapsedTimer>

#include <cstdio>
#include <cstring>

using namespace deltascope;

namespace {
// A live session's mix: per ten events, six stream items (rising seq), two pings and two pongs;
// every 50 events a send request, its ack and the links between them and the item with its seq.
void appendMixed(EventLog& log, qint64 count)
{
    const QByteArray item = R"({"deliver":1,"done":false,"response":{"delta":{"data":{"v":1},"seq":5}}})";
    const QByteArray ping = R"({"ping":8123,"latency":"3"})";
    qint64 seq = 0;
    qint64 requestId = 2;
    qint64 lastItem = -1;
    for (qint64 i = 0; i < count; ++i) {
        SessionEvent event;
        event.monotonicNs = i * 1000;
        event.wallMs = 1700000000000 + i / 1000;
        event.epoch = 1;
        if (i % 50 == 48) {
            event.kind = EventKind::Request;
            event.direction = Direction::Outbound;
            event.requestId = requestId;
            event.methodString = log.intern(u"say");
            log.append(event, R"({"method":"connection/send","id":2,"connection":1,"channel":"say","message":{}})");
        } else if (i % 50 == 49) {
            event.kind = EventKind::Response;
            event.direction = Direction::Inbound;
            event.requestId = requestId;
            event.seq = seq;
            const qint64 ack = log.append(event, R"({"deliver":2,"done":true,"response":{"seq":5}})");
            log.link(log.requestIndex(requestId), ack);
            if (lastItem >= 0)
                log.linkSeq(ack, lastItem);
            ++requestId;
        } else if (i % 10 < 6) {
            event.kind = EventKind::StreamItem;
            event.direction = Direction::Inbound;
            event.requestId = 1;
            event.seq = ++seq;
            event.parts = PartData | PartSeq;
            lastItem = log.append(event, item);
        } else {
            event.kind = i % 2 ? EventKind::Pong : EventKind::Ping;
            event.direction = i % 2 ? Direction::Outbound : Direction::Inbound;
            log.append(event, ping);
        }
    }
}
}

// Event log memory per event (budget: under 100 bytes beside the payload) and append rate.
int main(int argc, char** argv)
{
    QCoreApplication application(argc, argv);
    const bool quick = argc > 1 && std::strcmp(argv[1], "--quick") == 0;
    const qint64 count = quick ? 10000 : 1000000;
    EventLog log;
    const QByteArray payload = R"({"deliver":1,"done":false,"response":{"delta":{"data":{"v":1},"seq":5}}})";
    QElapsedTimer timer;
    timer.start();
    for (qint64 i = 0; i < count; ++i) {
        SessionEvent event;
        event.kind = i % 2 ? EventKind::StreamItem : EventKind::Ping;
        event.direction = Direction::Inbound;
        event.monotonicNs = i * 1000;
        event.seq = i;
        event.requestId = 1;
        log.append(event, payload);
    }
    const double seconds = double(timer.nsecsElapsed()) / 1e9;
    std::printf("eventlog.events: %lld\n", static_cast<long long>(count));
    std::printf("eventlog.append_rate: %.0f events/s\n", double(count) / seconds);
    std::printf("eventlog.index_bytes_per_event: %.1f bytes (budget < 100, payload excluded)\n",
        double(log.indexMemoryBytes()) / double(count));
    std::printf("eventlog.sizeof_SessionEvent: %zu bytes\n", sizeof(SessionEvent));

    EventLog mixed;
    timer.restart();
    appendMixed(mixed, count);
    const double mixedSeconds = double(timer.nsecsElapsed()) / 1e9;
    std::printf("eventlog.mixed_append_rate: %.0f events/s\n", double(count) / mixedSeconds);
    std::printf("eventlog.mixed_index_bytes_per_event: %.1f bytes (budget < 100, payload excluded; requests, acks and links included)\n",
        double(mixed.indexMemoryBytes()) / double(count));
    timer.restart();
    qint64 found = 0;
    for (qint64 seq = 1; seq <= count / 2; seq += 97)
        found += mixed.streamItemWithSeq(seq, 1) >= 0 ? 1 : 0;
    std::printf("eventlog.seq_lookup: %.2f us per lookup (%lld found)\n",
        double(timer.nsecsElapsed()) / 1e3 / double(std::max<qint64>(1, (count / 2) / 97)), static_cast<long long>(found));
    return 0;
}
