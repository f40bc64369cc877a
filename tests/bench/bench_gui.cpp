// bench-link: deltascope_ui
#include "core/session/eventlog.h"
#include "ui/mainwindow.h"
#include "ui/models/payloadsearch.h"
#include "ui/models/timelinefilterproxy.h"
#include "ui/models/timelinemodel.h"
#include "ui/timelinepanel.h"

#include <QApplication>
#include <QElapsedTimer>
#include <QScrollBar>
#include <QTableView>
#include <QTimer>

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
            m_last = now;
        });
    }
    void start()
    {
        m_clock.start();
        m_last = 0;
        m_longest = 0;
        m_timer.start();
    }
    double longestMs()
    {
        m_timer.stop();
        return double(std::max(m_longest, m_clock.nsecsElapsed() - m_last)) / 1e6;
    }

private:
    QTimer m_timer;
    QElapsedTimer m_clock;
    qint64 m_last = 0;
    qint64 m_longest = 0;
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

void waitFor(const std::function<bool()>& done, int timeoutMs)
{
    QElapsedTimer clock;
    clock.start();
    while (!done() && clock.elapsed() < timeoutMs)
        QCoreApplication::processEvents(QEventLoop::AllEvents, 5);
}

}

int main(int argc, char** argv)
{
    g_processClock.start();
    if (qEnvironmentVariableIsEmpty("QT_QPA_PLATFORM"))
        qputenv("QT_QPA_PLATFORM", "offscreen");
    QApplication application(argc, argv);
    QApplication::setOrganizationName(QStringLiteral("DeltascopeBench"));
    const bool quick = argc > 1 && std::strcmp(argv[1], "--quick") == 0;

    // Start-up to first painted window.
    {
        PaintWatcher watcher;
        ui::MainWindow window;
        window.installEventFilter(&watcher);
        window.show();
        waitFor([&] { return watcher.firstPaintNs >= 0; }, 5000);
        std::printf("gui.startup_to_first_paint: %.0f ms (budget < 1000)\n", double(watcher.firstPaintNs) / 1e6);
    }

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
    return 0;
}
