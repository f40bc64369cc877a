// bench-link: deltascope_ui
#include "core/session/eventlog.h"
#include "core/session/incidentanalyzer.h"
#include "ui/connectionbar.h"
#include "ui/documenttreepanel.h"
#include "ui/framedetailpanel.h"
#include "ui/models/deltadetailsource.h"
#include "ui/livecontroller.h"
#include "ui/mainwindow.h"
#include "ui/models/payloadsearch.h"
#include "ui/models/timelinefilterproxy.h"
#include "ui/models/timelinemodel.h"
#include "ui/timelinepanel.h"

#include <QApplication>
#include <QDateTime>
#include <QFileInfo>
#include <QJsonObject>
#include <QProcess>
#include <QTcpServer>
#include <QElapsedTimer>
#include <QEventLoop>
#include <QScrollBar>
#include <QTabWidget>
#include <QTableView>
#include <QTimer>

#include <malloc.h>
#include <sys/resource.h>

#include <algorithm>
#include <cstdio>
#include <cstring>

using namespace deltascope;

namespace {

QElapsedTimer g_processClock;

// Watches the event loop: the longest gap between ticks of a 10 ms timer is the worst stall.
class StallMeter
{
public:
    StallMeter()
    {
        m_timer.setInterval(10);
        QObject::connect(&m_timer, &QTimer::timeout, [this] {
            const qint64 now = m_clock.nsecsElapsed();
            m_longest = std::max(m_longest, now - m_last);
            if (now - m_last > 50'000'000)
                ++m_over50;
            if (now - m_last > 100'000'000)
                ++m_over100;
            m_last = now;
        });
    }
    void start()
    {
        m_clock.start();
        m_last = 0;
        m_longest = 0;
        m_over50 = 0;
        m_over100 = 0;
        m_timer.start();
    }
    double longestMs()
    {
        m_timer.stop();
        return double(std::max(m_longest, m_clock.nsecsElapsed() - m_last)) / 1e6;
    }
    // Gaps longer than 50 and 100 ms: one spike or a pattern?
    int gapsOver50() const { return m_over50; }
    int gapsOver100() const { return m_over100; }

private:
    QTimer m_timer;
    QElapsedTimer m_clock;
    qint64 m_last = 0;
    qint64 m_longest = 0;
    int m_over50 = 0;
    int m_over100 = 0;
};

class PaintWatcher : public QObject
{
public:
    qint64 firstPaintNs = -1;
    bool eventFilter(QObject* watched, QEvent* event) override
    {
        if (event->type() == QEvent::Paint && firstPaintNs < 0)
            firstPaintNs = g_processClock.nsecsElapsed();
        return QObject::eventFilter(watched, event);
    }
};

void fillLog(EventLog& log, qint64 count)
{
    QByteArray payload;
    for (qint64 i = 0; i < count; ++i) {
        SessionEvent event;
        event.kind = EventKind::StreamItem;
        event.direction = Direction::Inbound;
        event.monotonicNs = i * 50'000; // 20,000 events/s
        event.wallMs = 1'700'000'000'000 + i / 20;
        event.seq = i;
        event.requestId = 1;
        event.epoch = 1;
        payload = R"({"deliver":1,"done":false,"response":{"delta":{"data":{"ticker":{"@o":[[0,9]],"price":)" + QByteArray::number(1000 + i % 997)
            + R"(,"symbol":"S)" + QByteArray::number(i % 50) + R"("}},"seq":)" + QByteArray::number(i) + "}}}";
        log.append(event, payload);
    }
}

// Waits under a running event loop (QEventLoop::exec()), as the app runs, polling `done` every
// millisecond. Not with processEvents() calls: those run Qt's timers at normal priority every time,
// where exec() lets them fall back to idle priority once they have fired, so a loop of
// processEvents() would hide a timer starved by other work.
void waitFor(const std::function<bool()>& done, int timeoutMs)
{
    if (done())
        return;
    QElapsedTimer clock;
    clock.start();
    QEventLoop loop;
    QTimer poll;
    poll.setInterval(1);
    QObject::connect(&poll, &QTimer::timeout, &loop, [&] {
        if (done() || clock.elapsed() >= timeoutMs)
            loop.quit();
    });
    poll.start();
    loop.exec();
}

// 20,000 deltas/s from the ticker demo into the live window. The reference server runs as its own
// process (as a real server would), so the window's event loop carries only the client's work.
// Measures the longest event-loop gap, how far the tree lags the server (the ticker writes its
// wall clock into `updated` with every transaction), and how far the timeline's rows lag the log.
void benchLiveWindow(bool quick)
{
    const double rate = quick ? 2000 : 20000;
    const int seconds = quick ? 1 : 6;
    const QString serverPath = QCoreApplication::applicationDirPath() + QStringLiteral("/../../app/deltascope-server");
    if (!QFileInfo::exists(serverPath)) {
        std::printf("gui.live: not measured: %s is not built\n", qPrintable(serverPath));
        return;
    }
    QTcpServer probe;
    probe.listen(QHostAddress::LocalHost, 0);
    const quint16 port = probe.serverPort();
    probe.close();
    QProcess server;
    server.setProcessChannelMode(QProcess::ForwardedErrorChannel);
    server.start(serverPath, { QStringLiteral("--port"), QString::number(port), QStringLiteral("--bind"), QStringLiteral("127.0.0.1") });
    if (!server.waitForStarted(5000)) {
        std::printf("gui.live: not measured: the server did not start: %s\n", qPrintable(server.errorString()));
        return;
    }
    ui::MainWindow window;
    window.resize(1400, 900);
    window.show();
    window.connectionBar()->setUrl(QStringLiteral("ws://127.0.0.1:%1/~s").arg(port));
    window.connectionBar()->setIdentity(QStringLiteral("anonymous:bench"));
    window.connectionBar()->setSpace(QStringLiteral("ticker"));
    window.connectionBar()->setKey(QStringLiteral("rate-%1").arg(qRound(rate)));
    // Through the fault proxy as the window does by default; DELTASCOPE_BENCH_DIRECT=1 connects straight.
    const bool direct = qEnvironmentVariableIntValue("DELTASCOPE_BENCH_DIRECT") == 1;
    window.live()->setRouteThroughProxy(!direct);
    std::printf("gui.live_route: %s\n", direct ? "direct" : "through the fault proxy");
    bool connected = false;
    for (int attempt = 0; attempt < 50 && !connected; ++attempt) {
        waitFor([] { return false; }, 100); // the server needs a moment to listen
        connected = window.connectFromBar();
    }
    LiveSession* session = window.live()->session();
    waitFor([&] { return session && session->state() == ConnectionState::Streaming && session->folder().epochHasData(); }, 10000);
    if (!session || session->state() != ConnectionState::Streaming) {
        std::printf("gui.live: not measured: no stream from the server\n");
        server.kill();
        server.waitForFinished(2000);
        return;
    }
    waitFor([] { return false; }, 500); // let the first burst settle
    const DocumentTree& tree = session->folder().epochTree();
    const ui::TimelinePanel* timeline = window.timeline();
    const qint64 startItems = qint64(session->log().indexesOfKind(EventKind::StreamItem).size());
    double treeLagMax = 0;
    double timelineLagMax = 0;
    double treeLagSum = 0;
    qint64 samples = 0;
    // Heap in use across all threads (glibc sums every arena). A session may run for days, so what
    // it keeps per event beyond the log's index is what decides how long it can run.
    const auto heapInUse = [] {
        const struct mallinfo2 info = mallinfo2();
        return double(info.uordblks + info.hblkhd);
    };
    // Measured over the second half of the run, so the queues' fill at the start does not count.
    double heapMid = -1;
    qint64 eventsMid = 0;
    std::size_t indexMid = 0;
    QElapsedTimer clock;
    QTimer sampler;
    sampler.setInterval(10);
    QObject::connect(&sampler, &QTimer::timeout, [&] {
        if (heapMid < 0 && clock.isValid() && clock.elapsed() >= seconds * 500) {
            heapMid = heapInUse();
            eventsMid = session->log().size();
            indexMid = session->log().indexMemoryBytes();
        }
        const NodeId updated = tree.find(QStringLiteral("updated"));
        if (updated != kNoNode) {
            const double lag = double(QDateTime::currentMSecsSinceEpoch() - tree.stringValue(updated).toLongLong());
            treeLagMax = std::max(treeLagMax, lag);
            treeLagSum += lag;
            ++samples;
        }
        const EventLog& log = session->log();
        const qint64 shown = timeline->model()->rowCount();
        if (shown < log.size())
            timelineLagMax = std::max(timelineLagMax, double(log.at(log.size() - 1).monotonicNs - log.at(shown).monotonicNs) / 1e6);
    });
    // CPU time of this process (GUI thread and the capture writer): on a loaded machine the wall-clock
    // rate says more about the neighbours than about us.
    const auto cpuSeconds = [] {
        rusage usage {};
        getrusage(RUSAGE_SELF, &usage);
        return double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) + double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
    };
    const double cpuStart = cpuSeconds();
    StallMeter meter;
    clock.start();
    meter.start();
    sampler.start();
    waitFor([&] { return clock.elapsed() >= seconds * 1000; }, seconds * 1000 + 1000);
    sampler.stop();
    const double gap = meter.longestMs();
    const qint64 items = qint64(session->log().indexesOfKind(EventKind::StreamItem).size()) - startItems;
    std::printf("gui.live_ticker_requested: %.0f deltas/s\n", rate);
    std::printf("gui.live_deltas_received: %.0f deltas/s over %d s\n", double(items) * 1000.0 / double(clock.elapsed()), seconds);
    std::printf("gui.live_longest_event_loop_gap: %.1f ms (budget < 100); gaps over 50 ms: %d, over 100 ms: %d\n", gap,
        meter.gapsOver50(), meter.gapsOver100());
    std::printf("gui.live_tree_lag: max %.0f ms, mean %.1f ms (budget < 200)\n", treeLagMax, samples ? treeLagSum / double(samples) : 0.0);
    std::printf("gui.live_timeline_lag_max: %.0f ms (budget < 200)\n", timelineLagMax);
    const double cpu = cpuSeconds() - cpuStart;
    std::printf("gui.live_client_cpu_per_delta: %.1f us, all threads (%.0f%% of a core; at that cost one core takes %.0f deltas/s)\n",
        items > 0 ? cpu * 1e6 / double(items) : 0.0, 100.0 * cpu * 1000.0 / double(clock.elapsed()), items > 0 ? double(items) / cpu : 0.0);
    std::printf("gui.live_document_nodes: %zu\n", tree.nodeCount());
    const qint64 events = session->log().size() - eventsMid;
    if (heapMid >= 0 && events > 0) {
        std::printf("gui.live_heap_growth_per_event: %.0f bytes over the last %lld events, of which the log's index %.0f (design: a long session grows by the index only)\n",
            (heapInUse() - heapMid) / double(events), static_cast<long long>(events),
            double(session->log().indexMemoryBytes() - indexMid) / double(events));
    }
    // A half-open stall of the inbound path (2 s), then its release: the proxy delivers what it
    // held at once, as TCP would, and the window takes the whole backlog in. The longest gap of
    // the event loop from the release on, and how long the tree takes to catch up with the server.
    if (!direct) {
        const auto itemsSoFar = [&] { return qint64(session->log().indexesOfKind(EventKind::StreamItem).size()); };
        QString error;
        if (!window.live()->applyFault(QStringLiteral("stall"), QJsonObject { { QStringLiteral("direction"), QStringLiteral("inbound") } }, &error)) {
            std::printf("gui.live_stall_release: not measured: %s\n", qPrintable(error));
        } else {
            const int stallMs = quick ? 500 : 2000;
            waitFor([] { return false; }, stallMs);
            const qint64 itemsAtRelease = itemsSoFar();
            StallMeter releaseMeter;
            releaseMeter.start();
            QElapsedTimer releaseClock;
            releaseClock.start();
            window.live()->applyFault(QStringLiteral("clear-stall"), {}, &error);
            qint64 caughtUpMs = -1;
            qint64 itemsAtCatchUp = -1;
            waitFor([&] {
                const NodeId updated = tree.find(QStringLiteral("updated"));
                if (caughtUpMs < 0 && updated != kNoNode && QDateTime::currentMSecsSinceEpoch() - tree.stringValue(updated).toLongLong() < 100) {
                    caughtUpMs = releaseClock.elapsed();
                    itemsAtCatchUp = itemsSoFar();
                }
                return caughtUpMs >= 0 && releaseClock.elapsed() >= 1000;
            }, 8000);
            if (caughtUpMs < 0) {
                std::printf("gui.live_stall_release: longest event-loop gap %.1f ms (budget < 100) after a %d ms inbound stall released; "
                            "the tree was not back within 100 ms of the server 8 s after the release (%lld deltas handed on by then)\n",
                    releaseMeter.longestMs(), stallMs, static_cast<long long>(itemsSoFar() - itemsAtRelease));
            } else {
                std::printf("gui.live_stall_release: longest event-loop gap %.1f ms (budget < 100) after a %d ms inbound stall released; "
                            "tree back within 100 ms of the server after %lld ms, %lld deltas handed on by then (the held backlog and what streamed meanwhile)\n",
                    releaseMeter.longestMs(), stallMs, static_cast<long long>(caughtUpMs), static_cast<long long>(itemsAtCatchUp - itemsAtRelease));
            }
        }
    }
    // How far the incident analysis trails the stream at the end (a window closing waits for it),
    // and how many items it folded itself rather than taking the session folder's trees.
    if (auto* analyzer = session->findChild<IncidentAnalyzer*>()) {
        QElapsedTimer catchUp;
        catchUp.start();
        analyzer->catchUp();
        const qint64 totalItems = qint64(session->log().indexesOfKind(EventKind::StreamItem).size());
        std::printf("gui.live_incident_analysis: %lld ms to catch up at the end; %lld of %lld stream items folded by the analyzer itself (the rest came with the session folder's trees)\n",
            static_cast<long long>(catchUp.elapsed()), static_cast<long long>(analyzer->itemsFoldedHere()), static_cast<long long>(totalItems));
    }
    window.disconnectSession();
    server.terminate();
    if (!server.waitForFinished(3000))
        server.kill();
}

}

// Selecting a stream item of a 100,000-element document with the Before / after tab open: the fold
// from the epoch's start, the diff, both documents printed and shown. Best of three, in ms.
struct FrameDetailTimes {
    double firstMs; // the epoch's first selection
    double nextMs; // another item of it after that
};

FrameDetailTimes frameDetailOfBigDocumentMs()
{
    EventLog log;
    const auto append = [&](qint64 seq, const QByteArray& data) {
        SessionEvent event;
        event.kind = EventKind::StreamItem;
        event.direction = Direction::Inbound;
        event.monotonicNs = seq * 1'000'000;
        event.seq = seq;
        event.requestId = 1;
        event.epoch = 1;
        const QByteArray frame = R"({"deliver":1,"done":false,"response":{"delta":{"data":)" + data + R"(,"seq":)" + QByteArray::number(seq) + "}}}";
        return log.append(event, frame);
    };
    QByteArray snapshot = R"({"items":{)";
    QByteArray order;
    for (int i = 1; i <= 100'000; ++i) {
        snapshot += '"' + QByteArray::number(i) + R"(":{"v":)" + QByteArray::number(i * 7 % 1'000'000) + "},";
        order += QByteArray::number(i) + ',';
    }
    order.chop(1);
    snapshot += R"("@o":[)" + order + R"(]},"size":100000,"generation":0})";
    append(1, snapshot);
    const qint64 item = append(2, R"({"items":{"50000":{"v":1}},"generation":1})");
    const qint64 next = append(3, R"({"items":{"70000":{"v":2}},"generation":2})");

    ui::DeltaDetailSource source;
    source.setEventLog(&log);
    ui::FrameDetailPanel panel;
    panel.resize(900, 500);
    panel.setEventLog(&log);
    panel.setDeltaDetailProvider([&](qint64 index) { return ui::streamItemDetail(source, index); });
    panel.show();
    waitFor([&] { return panel.isVisible(); }, 2000);
    panel.findChild<QTabWidget*>(QStringLiteral("detailTabs"))->setCurrentIndex(2); // Before / after
    const auto select = [&](qint64 index) {
        QElapsedTimer clock;
        clock.start();
        panel.showEvent(index);
        QCoreApplication::processEvents();
        return double(clock.nsecsElapsed()) / 1e6;
    };
    FrameDetailTimes best { 1e9, 1e9 };
    for (int round = 0; round < 3; ++round) {
        panel.showEvent(-1);
        source.clear();
        best.firstMs = std::min(best.firstMs, select(item)); // folds the snapshot
        best.nextMs = std::min(best.nextMs, select(next)); // from the checkpoint after it
    }
    return best;
}

int main(int argc, char** argv)
{
    g_processClock.start();
    if (qEnvironmentVariableIsEmpty("QT_QPA_PLATFORM"))
        qputenv("QT_QPA_PLATFORM", "offscreen");
    QApplication application(argc, argv);
    QApplication::setOrganizationName(QStringLiteral("DeltascopeBench"));
    const bool quick = argc > 1 && std::strcmp(argv[1], "--quick") == 0;
    if (argc > 1 && std::strcmp(argv[1], "--live-only") == 0) { // for profiling the live window alone
        benchLiveWindow(false);
        return 0;
    }

    // Start-up to first painted window.
    {
        PaintWatcher watcher;
        ui::MainWindow window;
        window.installEventFilter(&watcher);
        window.show();
        waitFor([&] { return watcher.firstPaintNs >= 0; }, 5000);
        std::printf("gui.startup_to_first_paint: %.0f ms (budget < 1000)\n", double(watcher.firstPaintNs) / 1e6);
    }

    const FrameDetailTimes detail = frameDetailOfBigDocumentMs();
    std::printf("gui.frame_detail_100k_element_document: %.0f ms from selecting a stream item to its Before / after shown, "
                "%.0f ms for the epoch's first selection (which folds its snapshot)\n",
        detail.nextMs, detail.firstMs);

    // A million-event log in the timeline: insert, scroll end to end, regex search over payloads.
    const qint64 count = quick ? 20'000 : 1'000'000;
    EventLog log;
    QElapsedTimer clock;
    clock.start();
    fillLog(log, count);
    std::printf("gui.timeline_events: %lld\n", static_cast<long long>(count));
    std::printf("gui.timeline_fill_log: %.0f ms\n", double(clock.nsecsElapsed()) / 1e6);

    ui::TimelinePanel panel;
    panel.resize(1200, 700);
    panel.show();
    waitFor([&] { return panel.isVisible(); }, 2000);
    clock.restart();
    panel.setEventLog(&log);
    QCoreApplication::processEvents();
    std::printf("gui.timeline_attach: %.0f ms\n", double(clock.nsecsElapsed()) / 1e6);

    QScrollBar* bar = panel.view()->verticalScrollBar();
    panel.setFollowing(false);
    double longestStep = 0;
    clock.restart();
    const int steps = 200;
    for (int step = 0; step <= steps; ++step) {
        QElapsedTimer stepClock;
        stepClock.start();
        bar->setValue(int(qint64(bar->maximum()) * step / steps));
        panel.view()->viewport()->repaint();
        longestStep = std::max(longestStep, double(stepClock.nsecsElapsed()) / 1e6);
    }
    std::printf("gui.timeline_scroll_end_to_end: %.0f ms for %d pages, longest page %.1f ms\n", double(clock.nsecsElapsed()) / 1e6, steps, longestStep);

    StallMeter meter;
    meter.start();
    clock.restart();
    panel.setSearchPattern(QStringLiteral("\"price\":1(0[0-4]|99)[0-9],\"symbol\":\"S4[0-9]\""));
    waitFor([&] { return !panel.search()->isRunning(); }, 60000);
    const double searchMs = double(clock.nsecsElapsed()) / 1e6;
    std::printf("gui.regex_search_all_payloads: %.0f ms over %lld payloads, %zu matches (budget < 3000)\n", searchMs,
        static_cast<long long>(count), panel.search()->matches().size());
    std::printf("gui.regex_search_longest_event_loop_gap: %.1f ms (budget < 100)\n", meter.longestMs());

    clock.restart();
    panel.proxy()->setDirectionEnabled(Direction::Outbound, false);
    panel.proxy()->setKindEnabled(EventKind::Ping, false);
    std::printf("gui.timeline_refilter: %.0f ms\n", double(clock.nsecsElapsed()) / 1e6);

    benchLiveWindow(quick);
    return 0;
}
