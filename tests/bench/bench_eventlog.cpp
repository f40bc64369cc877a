#include "core/session/eventlog.h"

#include <QCoreApplication>
#include <QElapsedTimer>

#include <cstdio>
#include <cstring>

// Event log memory per event (budget: under 100 bytes beside the payload) and append rate.
int main(int argc, char** argv)
{
    QCoreApplication application(argc, argv);
    const bool quick = argc > 1 && std::strcmp(argv[1], "--quick") == 0;
    const qint64 count = quick ? 10000 : 1000000;
    deltascope::EventLog log;
    const QByteArray payload = R"({"deliver":1,"done":false,"response":{"delta":{"data":{"v":1},"seq":5}}})";
    QElapsedTimer timer;
    timer.start();
    for (qint64 i = 0; i < count; ++i) {
        deltascope::SessionEvent event;
        event.kind = i % 2 ? deltascope::EventKind::StreamItem : deltascope::EventKind::Ping;
        event.direction = deltascope::Direction::Inbound;
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
    std::printf("eventlog.sizeof_SessionEvent: %zu bytes\n", sizeof(deltascope::SessionEvent));
    return 0;
}
