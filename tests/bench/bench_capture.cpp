#include "core/capture/capturecheckpoints.h"
#include "core/capture/captureformat.h"
#include "core/capture/capturereader.h"
#include "core/capture/capturewriter.h"
#include "core/session/eventlog.h"
#include "core/session/sessionfolder.h"

#include <QCoreApplication>
#include <QElapsedTimer>
#include <QFile>
#include <QTemporaryDir>
#include <QTimer>

#include <algorithm>
#include <vector>

#include <cstdio>
#include <cstring>
#include <random>

#include <sys/resource.h>
#include <unistd.h>

using namespace deltascope;

// Budgets (design.md): open a 1,000,000-event capture in under 2 s with memory under 2x the file;
// seek to any event in under 50 ms; recording at 20,000 events/s under 10% of one core.
namespace {

double cpuSeconds()
{
    struct rusage usage;
    getrusage(RUSAGE_SELF, &usage);
    return double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) + double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
}

long peakRssKb()
{
    struct rusage usage;
    getrusage(RUSAGE_SELF, &usage);
    return usage.ru_maxrss;
}

// RssAnon or RssFile from /proc/self/status: memory of our own vs pages of mapped files (the
// capture's payloads, which the kernel can drop and read again at any time).
long statusKb(const char* field)
{
    QFile status(QStringLiteral("/proc/self/status"));
    if (!status.open(QIODevice::ReadOnly))
        return 0;
    for (const QByteArray& line : status.readAll().split('\n')) {
        if (line.startsWith(field))
            return line.mid(qsizetype(std::strlen(field))).trimmed().split(' ').value(0).toLong();
    }
    return 0;
}

long currentRssKb()
{
    QFile statm(QStringLiteral("/proc/self/statm"));
    if (!statm.open(QIODevice::ReadOnly))
        return 0;
    const QList<QByteArray> fields = statm.readAll().split(' ');
    return fields.size() > 1 ? fields[1].toLong() * (sysconf(_SC_PAGESIZE) / 1024) : 0;
}

// A ticker-like session: a snapshot, then deltas on a record list of 50 symbols, pings and pongs
// every 1000 events, written line by line (the generator holds no log in memory).
qint64 writeCapture(const QString& path, qint64 events)
{
    QFile file(path);
    if (!file.open(QIODevice::WriteOnly | QIODevice::Truncate))
        return 0;
    capture::Header header;
    header.tool = QStringLiteral("bench_capture");
    header.space = QStringLiteral("ticker");
    header.key = QStringLiteral("bench");
    QByteArray buffer = header.toJsonLine() + '\n';
    std::mt19937 random(7);
    auto event = [](qint64 index, EventKind kind, qint64 requestId, qint64 seq, quint16 parts) {
        SessionEvent e;
        e.index = index;
        e.kind = kind;
        e.direction = naturalDirection(kind);
        e.monotonicNs = index * 50000;
        e.wallMs = 1718000000000 + index / 20;
        e.requestId = requestId;
        e.seq = seq;
        e.epoch = 1;
        e.parts = parts;
        return e;
    };
    capture::appendEventLine(buffer, event(0, EventKind::EpochStarted, 1, -1, 0), {}, R"({"epoch":1,"requestId":1})");
    buffer.append('\n');
    QByteArray snapshot = R"({"deliver":1,"done":false,"response":{"delta":{"data":{"symbols":{)";
    for (int s = 1; s <= 50; ++s)
        snapshot += '"' + QByteArray::number(s) + R"(":{"name":"S)" + QByteArray::number(s) + R"(","price":100.0,"volume":"4000000000"},)";
    snapshot += R"("@o":[)";
    for (int s = 1; s <= 50; ++s)
        snapshot += QByteArray::number(s) + (s < 50 ? "," : "");
    snapshot += R"(]},"tick":0},"seq":1}}})";
    capture::appendEventLine(buffer, event(1, EventKind::StreamItem, 1, 1, PartData | PartSeq), {}, snapshot);
    buffer.append('\n');
    for (qint64 i = 2; i < events; ++i) {
        if (i % 1000 == 0) {
            capture::appendEventLine(buffer, event(i, EventKind::Ping, -1, -1, 0), {}, R"({"ping":1000,"latency":"3"})");
        } else if (i % 1000 == 1) {
            capture::appendEventLine(buffer, event(i, EventKind::Pong, -1, -1, 0), {}, R"({"ping":1000,"latency":"3","pong":1718000001.25})");
        } else {
            const int symbol = int(random() % 50) + 1;
            const QByteArray frame = R"({"deliver":1,"done":false,"response":{"delta":{"data":{"symbols":{")" + QByteArray::number(symbol)
                + R"(":{"price":)" + QByteArray::number(90.0 + double(random() % 2000) / 100.0, 'f', 2) + R"(,"volume":")"
                + QByteArray::number(4000000000ll + i) + R"("}},"tick":)" + QByteArray::number(i) + R"(},"seq":)" + QByteArray::number(i)
                + "}}}";
            capture::appendEventLine(buffer, event(i, EventKind::StreamItem, 1, i, PartData | PartSeq), {}, frame);
        }
        buffer.append('\n');
        if (buffer.size() > (4 << 20)) {
            file.write(buffer);
            buffer.clear();
        }
    }
    capture::appendEndLine(buffer, events, 1718000000000 + events / 20);
    buffer.append('\n');
    file.write(buffer);
    return file.size();
}

}

int main(int argc, char** argv)
{
    QCoreApplication application(argc, argv);
    const bool quick = argc > 1 && std::strcmp(argv[1], "--quick") == 0;
    const qint64 events = quick ? 20000 : 1000000;
    QTemporaryDir dir;
    const QString path = dir.filePath(QStringLiteral("bench.ndjson"));
    const qint64 fileBytes = writeCapture(path, events);
    std::printf("capture.events: %lld\n", static_cast<long long>(events));
    std::printf("capture.file_size: %.1f MiB\n", double(fileBytes) / (1024.0 * 1024.0));

    // --- open ---------------------------------------------------------------------------------
    // Open returns once the lines are indexed (the capture is usable); the checkpoint fold goes on
    // on a worker thread. Both are timed, and the CPU of the whole process (both threads).
    const long rssBefore = currentRssKb();
    const long anonBefore = statusKb("RssAnon:");
    const long fileBefore = statusKb("RssFile:");
    const long peakBefore = peakRssKb();
    QElapsedTimer timer;
    timer.start();
    const double cpuBefore = cpuSeconds();
    QString error;
    std::unique_ptr<Capture> capture = CaptureReader::open(path, CaptureOpenOptions(), &error);
    const double openSeconds = double(timer.nsecsElapsed()) / 1e9;
    const double openCpu = cpuSeconds() - cpuBefore;
    if (!capture) {
        std::printf("capture.open_error: %s\n", qPrintable(error));
        return 1;
    }
    const std::size_t checkpointsAtOpen = capture->checkpoints->count();
    // A seek before the checkpoints are complete: correct at once, folding from what exists.
    {
        SessionFolder early;
        QElapsedTimer seekTimer;
        seekTimer.start();
        capture->checkpoints->restore(early, std::min<qint64>(events - 1, 5000));
        std::printf("capture.seek_while_building: %.2f ms (to event 5000, %zu checkpoints made when opened)\n",
            double(seekTimer.nsecsElapsed()) / 1e6, checkpointsAtOpen);
    }
    capture->checkpoints->waitUntilComplete();
    const double builtSeconds = double(timer.nsecsElapsed()) / 1e9;
    const double builtCpu = cpuSeconds() - cpuBefore;
    const long rssAfter = currentRssKb();
    const long anonAfter = statusKb("RssAnon:");
    const long fileAfter = statusKb("RssFile:");
    std::printf("capture.open_time: %.3f s (budget < 2 s; %lld events indexed, usable: seeks answer from here)\n", openSeconds,
        static_cast<long long>(capture->log->size()));
    std::printf("capture.open_cpu: %.3f s\n", openCpu);
    std::printf("capture.open_rate: %.0f events/s\n", double(events) / openSeconds);
    std::printf("capture.checkpoints_complete_time: %.3f s after open started (fold on a worker thread)\n", builtSeconds);
    std::printf("capture.checkpoints_fold_cpu: %.3f s\n", builtCpu - openCpu);
    std::printf("capture.checkpoints: %zu (every %.1f ms of fold CPU, at most %d events or %lld KiB of deltas apart)\n",
        capture->checkpoints->count(), double(CaptureCheckpoints::kFoldBudgetNs) / 1e6, capture->checkpoints->interval(),
        static_cast<long long>(CaptureCheckpoints::kMaxFoldBytes >> 10));
    std::printf("capture.open_rss_growth: %.1f MiB (%.2fx the file; budget < 2x; checkpoints included)\n",
        double(rssAfter - rssBefore) / 1024.0, double(rssAfter - rssBefore) * 1024.0 / double(fileBytes));
    std::printf("capture.open_anon_growth: %.1f MiB (%.2fx the file: the index and the checkpoints)\n", double(anonAfter - anonBefore) / 1024.0,
        double(anonAfter - anonBefore) * 1024.0 / double(fileBytes));
    std::printf("capture.open_file_pages_growth: %.1f MiB (%.2fx the file: mapped payload pages the fold read)\n",
        double(fileAfter - fileBefore) / 1024.0, double(fileAfter - fileBefore) * 1024.0 / double(fileBytes));
    std::printf("capture.open_peak_rss_growth: %.1f MiB (%.2fx the file)\n", double(std::max(0L, peakRssKb() - peakBefore)) / 1024.0,
        double(std::max(0L, peakRssKb() - peakBefore)) * 1024.0 / double(fileBytes));
    std::printf("capture.index_bytes_per_event: %.1f bytes\n", double(capture->log->indexMemoryBytes()) / double(events));

    // --- seek ---------------------------------------------------------------------------------
    std::mt19937_64 random(11);
    SessionFolder folder;
    std::vector<double> times;
    const int seeks = quick ? 50 : 500;
    for (int s = 0; s < seeks; ++s) {
        const qint64 target = qint64(random() % quint64(events));
        QElapsedTimer seekTimer;
        seekTimer.start();
        capture->checkpoints->restore(folder, target);
        const QByteArray json = folder.epochTree().toJson(); // what a view would show
        times.push_back(double(seekTimer.nsecsElapsed()) / 1e6);
        if (json.isEmpty())
            return 1;
    }
    std::sort(times.begin(), times.end());
    double totalMs = 0;
    for (const double ms : times)
        totalMs += ms;
    std::printf("capture.seek_mean: %.2f ms (%d random targets, checkpoints complete, incl. toJson)\n", totalMs / seeks, seeks);
    std::printf("capture.seek_p99: %.2f ms\n", times[std::size_t(double(times.size()) * 0.99)]);
    std::printf("capture.seek_max: %.2f ms (budget < 50 ms)\n", times.back());
    capture.reset();

    // --- recording cost at 20,000 events/s -----------------------------------------------------
    const double seconds = quick ? 0.5 : 3.0;
    const int rate = 20000;
    auto run = [&](bool record) {
        EventLog log;
        std::unique_ptr<CaptureWriter> writer;
        if (record) {
            CaptureWriterOptions writerOptions;
            writerOptions.path = dir.filePath(QStringLiteral("record.ndjson"));
            writer = std::make_unique<CaptureWriter>(&log, capture::Header(), writerOptions);
            writer->start();
        }
        const QByteArray frame = R"({"deliver":1,"done":false,"response":{"delta":{"data":{"symbols":{"7":{"price":101.25,"volume":"4000001234"}},"tick":1},"seq":12345}}})";
        QElapsedTimer clock;
        clock.start();
        qint64 appended = 0;
        const double cpuStart = cpuSeconds();
        QTimer tick;
        tick.setInterval(5);
        QObject::connect(&tick, &QTimer::timeout, [&] {
            const qint64 due = qint64(double(clock.nsecsElapsed()) / 1e9 * rate);
            for (; appended < due; ++appended) {
                SessionEvent event;
                event.kind = EventKind::StreamItem;
                event.direction = Direction::Inbound;
                event.monotonicNs = clock.nsecsElapsed();
                event.requestId = 1;
                event.seq = appended;
                event.parts = PartData | PartSeq;
                log.append(event, frame);
            }
            if (clock.nsecsElapsed() > qint64(seconds * 1e9))
                QCoreApplication::quit();
        });
        tick.start();
        QCoreApplication::exec();
        if (writer)
            writer->stop();
        const double cpu = cpuSeconds() - cpuStart;
        return std::make_pair(cpu / (double(clock.nsecsElapsed()) / 1e9), appended);
    };
    const auto [baseline, baselineEvents] = run(false);
    const auto [withWriter, recordedEvents] = run(true);
    std::printf("capture.record_events: %lld at %d events/s\n", static_cast<long long>(recordedEvents), rate);
    std::printf("capture.record_cpu_total: %.1f %% of one core (log appends + writer, both threads)\n", withWriter * 100.0);
    std::printf("capture.record_cpu_writer: %.1f %% of one core (budget < 10%%; minus %.1f %% for appends alone)\n",
        (withWriter - baseline) * 100.0, baseline * 100.0);
    Q_UNUSED(baselineEvents)
    return 0;
}
