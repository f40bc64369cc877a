#include <catch2/catch.hpp>

#include "core/session/eventlog.h"
#include "ui/chartspanel.h"
#include "ui/models/chartdata.h"

#include <QChart>
#include <QChartView>
#include <QFontMetrics>
#include <QTest>
#include <QValueAxis>

#include <functional>

using namespace deltascope;
using namespace deltascope::ui;

namespace {
SessionEvent makeEvent(EventKind kind, qint64 ns, quint32 bytes = 0, quint32 epoch = 1)
{
    SessionEvent event;
    event.kind = kind;
    if (kind == EventKind::StreamItem)
        event.parts = PartData | PartSeq; // a delta; tests of other items set their own parts
    event.direction = naturalDirection(kind);
    event.monotonicNs = ns;
    event.payload.length = bytes;
    event.payload.size = bytes;
    event.epoch = epoch;
    return event;
}

// A charts panel on screen, reading `log`.
struct ShownCharts {
    EventLog log;
    ChartsPanel panel;
    ShownCharts()
    {
        panel.resize(900, 160);
        panel.show();
        REQUIRE(QTest::qWaitForWindowExposed(&panel));
        panel.setEventLog(&log);
    }
};
}

TEST_CASE("chart data: only items that carry data count as deltas")
{
    ChartData data(100, 1'000'000'000);
    SessionEvent filter = makeEvent(EventKind::StreamItem, 100'000'000, 40);
    filter.parts = PartViewStateFilter;
    data.addEvent(filter);
    SessionEvent bareSeq = makeEvent(EventKind::StreamItem, 200'000'000, 20);
    bareSeq.parts = PartSeq;
    data.addEvent(bareSeq);
    data.addEvent(makeEvent(EventKind::StreamItem, 300'000'000, 80)); // the one delta
    const QList<QPointF> rates = data.deltasPerSecond(true);
    REQUIRE(rates.size() == 1);
    CHECK(rates[0].y() == 1);
    CHECK(data.bytesInPerSecond(true)[0].y() == 140); // the bytes still came in
}

TEST_CASE("chart data: a socket's first ping reports no round trip, so it is no RTT sample")
{
    ChartData data(100, 1'000'000'000);
    data.addEvent(makeEvent(EventKind::Hello, 0));
    data.addEvent(makeEvent(EventKind::Ping, 1'000'000'000), 0); // "latency":"0": nothing measured yet
    data.addEvent(makeEvent(EventKind::Ping, 2'000'000'000), 40);
    data.addEvent(makeEvent(EventKind::Hello, 3'000'000'000)); // a new socket
    data.addEvent(makeEvent(EventKind::Ping, 4'000'000'000), 0);
    data.addEvent(makeEvent(EventKind::Ping, 5'000'000'000), 0); // measured this time: a loopback can say 0
    const QList<QPointF> rtt = data.rttMs();
    REQUIRE(rtt.size() == 2);
    CHECK(rtt[0] == QPointF(2.5, 40));
    CHECK(rtt[1] == QPointF(5.5, 0));
}

TEST_CASE("chart data: rates per bucket, the filling bucket left out")
{
    ChartData data(100, 1'000'000'000); // 1 s buckets
    for (int i = 0; i < 10; ++i)
        data.addEvent(makeEvent(EventKind::StreamItem, qint64(i) * 100'000'000, 50)); // 10 in second 0
    for (int i = 0; i < 5; ++i)
        data.addEvent(makeEvent(EventKind::StreamItem, 1'000'000'000 + qint64(i) * 100'000'000, 50)); // 5 in second 1
    data.addEvent(makeEvent(EventKind::Request, 1'500'000'000, 200));
    data.addEvent(makeEvent(EventKind::StreamItem, 2'100'000'000, 10)); // second 2, still filling

    const QList<QPointF> rates = data.deltasPerSecond();
    REQUIRE(rates.size() == 2);
    CHECK(rates[0] == QPointF(0.5, 10));
    CHECK(rates[1] == QPointF(1.5, 5));
    CHECK(data.deltasPerSecond(true).size() == 3);
    CHECK(data.bytesInPerSecond()[0].y() == 500);
    CHECK(data.bytesOutPerSecond()[1].y() == 200);
    CHECK(data.bytesOutPerSecond()[0].y() == 0);
    CHECK(data.endSeconds() == Approx(2.1));
}

TEST_CASE("chart data: a slow stream in buckets narrower than a second reads at its real rate")
{
    ChartData data(400, 100'000'000); // 100 ms buckets, as a live session starts
    for (int i = 0; i < 10; ++i) // one delta every 2 s for 20 s: 0.5 deltas/s
        data.addEvent(makeEvent(EventKind::StreamItem, qint64(i) * 2'000'000'000 + 50'000'000, 50));
    data.addEvent(makeEvent(EventKind::Ping, 20'500'000'000, 10));
    // Averaged over three gaps (6 s), not over the last second: 0.5/s, not 1/s and 0/s in turn.
    CHECK(data.rateWindowNs() == 6'000'000'000);
    const QList<QPointF> slow = data.deltasPerSecond();
    double highest = 0;
    double lowest = 100;
    for (const QPointF& point : slow) {
        highest = std::max(highest, point.y());
        if (point.x() > 7 && point.x() < 19)
            lowest = std::min(lowest, point.y());
    }
    CHECK(highest <= 1.0); // never 10 per 100 ms bucket (1/s: the first delta over the first second)
    CHECK(lowest == Approx(0.5));
    double highestOnceUnderWay = 0;
    for (const QPointF& point : slow) {
        if (point.x() > 7 && point.x() < 19)
            highestOnceUnderWay = std::max(highestOnceUnderWay, point.y());
    }
    CHECK(highestOnceUnderWay == Approx(0.5));
    // A steady stream reads the same whatever the bucket width.
    ChartData steady(400, 100'000'000);
    for (int i = 0; i < 200; ++i) // 20 per second for 10 s
        steady.addEvent(makeEvent(EventKind::StreamItem, qint64(i) * 50'000'000 + 1, 50));
    steady.addEvent(makeEvent(EventKind::Ping, 10'500'000'000, 10));
    const QList<QPointF> rates = steady.deltasPerSecond();
    REQUIRE(rates.size() > 20);
    CHECK(steady.rateWindowNs() == 1'000'000'000);
    CHECK(rates[rates.size() / 2].y() == Approx(20));
}

TEST_CASE("chart data: the rate window follows the median gap, so a burst in a quiet session keeps its height")
{
    ChartData bursty(400, 100'000'000);
    for (int i = 0; i < 100; ++i) // 100 deltas in one second...
        bursty.addEvent(makeEvent(EventKind::StreamItem, 1'000'000'000 + qint64(i) * 10'000'000, 50));
    for (int i = 0; i < 5; ++i) // ...then one every 5 s
        bursty.addEvent(makeEvent(EventKind::StreamItem, qint64(i + 1) * 5'000'000'000, 50));
    CHECK(bursty.rateWindowNs() == 1'000'000'000);
    double highest = 0;
    for (const QPointF& point : bursty.deltasPerSecond())
        highest = std::max(highest, point.y());
    CHECK(highest == Approx(100).margin(10));
    // Very slow: the window stops at 10 s; two gaps are too few to say.
    ChartData sparse(400, 100'000'000);
    for (int i = 0; i < 6; ++i)
        sparse.addEvent(makeEvent(EventKind::StreamItem, qint64(i) * 30'000'000'000, 50));
    CHECK(sparse.rateWindowNs() == 10'000'000'000);
    ChartData few(400, 100'000'000);
    for (int i = 0; i < 3; ++i)
        few.addEvent(makeEvent(EventKind::StreamItem, qint64(i) * 5'000'000'000, 50));
    CHECK(few.rateWindowNs() == 1'000'000'000);
    few.clear();
    CHECK(few.rateWindowNs() == 1'000'000'000);
}

TEST_CASE("chart data: a fixed point budget however long the session runs")
{
    ChartData data(64, 100'000'000);
    qint64 total = 0;
    for (qint64 ms = 0; ms < 3'600'000; ms += 50) { // one hour at 20 items/s
        data.addEvent(makeEvent(EventKind::StreamItem, ms * 1'000'000));
        ++total;
    }
    CHECK(data.bucketCount() <= 64);
    CHECK(data.bucketNs() >= 3'600'000'000'000 / 64);
    // Merging keeps the counts: the sum of rate * width over every bucket is the event count.
    double sum = 0;
    const double width = double(data.bucketNs()) / 1e9;
    for (const QPointF& point : data.deltasPerSecond(true))
        sum += point.y() * width;
    CHECK(sum == Approx(double(total)));
    for (const QPointF& point : data.deltasPerSecond())
        CHECK(point.y() == Approx(20).epsilon(0.01));
}

TEST_CASE("chart data: RTT from pings, node samples, markers")
{
    ChartData data(100, 1'000'000'000);
    data.addEvent(makeEvent(EventKind::Ping, 100'000'000), 40);
    data.addEvent(makeEvent(EventKind::Ping, 900'000'000), 60);
    data.addEvent(makeEvent(EventKind::Ping, 1'100'000'000)); // no latency known
    data.addNodeSample(200'000'000, 10);
    data.addNodeSample(800'000'000, 12);
    data.addEvent(makeEvent(EventKind::FaultInjected, 2'000'000'000));
    data.addEvent(makeEvent(EventKind::Disconnected, 2'100'000'000));
    data.addEvent(makeEvent(EventKind::ReconnectPlanned, 2'200'000'000));
    data.addEvent(makeEvent(EventKind::EpochStarted, 100, 0, 1)); // the first epoch is no resync
    data.addEvent(makeEvent(EventKind::EpochStarted, 2'500'000'000, 0, 2));
    data.addEvent(makeEvent(EventKind::Incident, 3'000'000'000));
    // Anomalies: one marker per bucket (1 s here), however many come.
    for (int i = 0; i < 50; ++i)
        data.addEvent(makeEvent(EventKind::FoldAnomaly, 3'100'000'000 + i * 10'000'000));
    data.addEvent(makeEvent(EventKind::FoldAnomaly, 4'200'000'000));
    REQUIRE(data.rttMs().size() == 1);
    CHECK(data.rttMs()[0].y() == 50);
    REQUIRE(data.nodes().size() == 1);
    CHECK(data.nodes()[0].y() == 12);
    REQUIRE(data.markers().size() == 7);
    CHECK(data.markers()[0].kind == ChartData::Marker::Fault);
    CHECK(data.markers()[1].kind == ChartData::Marker::Drop);
    CHECK(data.markers()[2].kind == ChartData::Marker::Reconnect);
    CHECK(data.markers()[3].kind == ChartData::Marker::Resync);
    CHECK(data.markers()[4].seconds == 3.0);
    CHECK(data.markers()[5].kind == ChartData::Marker::Anomaly);
    CHECK(data.markers()[5].seconds == Approx(3.1));
    CHECK(data.markers()[6].kind == ChartData::Marker::Anomaly);
    CHECK(data.markers()[6].seconds == Approx(4.2));
    data.clear();
    CHECK(data.bucketCount() == 0);
    CHECK(data.markers().empty());
}

TEST_CASE("charts panel: follows the log, stays within its budget, windows around a selection")
{
    ShownCharts shown;
    EventLog& log = shown.log;
    ChartsPanel& panel = shown.panel;
    for (qint64 i = 0; i < 20000; ++i) {
        SessionEvent event = makeEvent(i % 100 == 0 ? EventKind::Ping : EventKind::StreamItem, i * 10'000'000);
        if (event.kind == EventKind::Ping)
            event.code = 7; // the latency, as the envelope decoder records it
        log.append(event, i % 100 == 0 ? QByteArrayView("{\"ping\":1,\"latency\":\"7\"}") : QByteArrayView("{}"));
    }
    log.flushNotifications();
    panel.refresh();
    CHECK(panel.seriesPointCount() > 0);
    CHECK(panel.seriesPointCount() <= 5 * panel.data().pointBudget());
    CHECK(panel.data().rttMs().size() > 0);
    CHECK(panel.data().rttMs()[0].y() == 7);
    CHECK(panel.visibleRange().first == 0);
    CHECK(panel.visibleRange().second == Approx(200).epsilon(0.01));

    panel.focusEvent(10000); // at 100 s
    CHECK(panel.visibleRange().first == Approx(70));
    CHECK(panel.visibleRange().second == Approx(130));
    // Near either end the window stops at the data: no time before 0, none after the last event.
    panel.focusEvent(200); // at 2 s
    CHECK(panel.visibleRange().first == 0);
    CHECK(panel.visibleRange().second == Approx(60));
    panel.focusEvent(19990); // at 199.9 s, the end
    CHECK(panel.visibleRange().second == Approx(panel.data().endSeconds()));
    CHECK(panel.visibleRange().first == Approx(panel.data().endSeconds() - 60));
    panel.focusEvent(-1);
    CHECK(panel.visibleRange().first == 0);
    log.clear();
    CHECK(panel.seriesPointCount() == 0);
}

TEST_CASE("charts panel: large values are labelled in a unit the title names, not as eight-digit numbers")
{
    ShownCharts shown;
    EventLog& log = shown.log;
    ChartsPanel& panel = shown.panel;
    const auto title = [&](const char* chart) {
        const auto* view = panel.findChild<QChartView*>(QLatin1String(chart));
        return view ? view->chart()->title() : QStringLiteral("(no chart %1)").arg(QLatin1String(chart));
    };
    const auto yMax = [&](const char* chart) {
        const auto* view = panel.findChild<QChartView*>(QLatin1String(chart));
        const auto axes = view ? view->chart()->axes(Qt::Vertical) : QList<QAbstractAxis*> {};
        return axes.isEmpty() ? -1.0 : static_cast<QValueAxis*>(axes.first())->max();
    };
    // Small values keep the plain titles.
    panel.addNodeSample(500'000'000, 250);
    panel.refresh();
    CHECK(title("bytesChart") == QStringLiteral("bytes/s"));
    CHECK(title("nodesChart") == QStringLiteral("nodes"));
    // 250 with a tenth of room is 275, rounded up to an even top so the middle tick (138) is
    // labelled as what it is: a 3.3 top once labelled its middle 1.65 as "2".
    CHECK(yMax("nodesChart") == Approx(276));

    // 2 MiB a second in, and a document of 220,000 nodes.
    const QByteArray payload(2 * 1024 * 1024 / 10, 'x');
    for (qint64 i = 0; i < 40; ++i)
        log.append(makeEvent(EventKind::StreamItem, 1'000'000'000 + i * 100'000'000), payload);
    log.flushNotifications();
    panel.addNodeSample(3'000'000'000, 220'000);
    panel.refresh();
    CHECK(title("bytesChart") == QStringLiteral("KiB/s"));
    CHECK(yMax("bytesChart") == Approx(2048 * 1.1).epsilon(0.06));
    CHECK(title("nodesChart") == QStringLiteral("nodes (k)"));
    // Each title fits its chart, a quarter of a 900 px strip.
    for (const char* chart : { "deltasChart", "bytesChart", "rttChart", "nodesChart" }) {
        const auto* view = panel.findChild<QChartView*>(QLatin1String(chart));
        INFO(chart);
        CHECK(QFontMetrics(view->chart()->titleFont()).horizontalAdvance(view->chart()->title()) <= view->width());
    }
    CHECK(yMax("nodesChart") == Approx(220 * 1.1));
    CHECK(panel.data().nodes().back().y() == 220'000); // the data keeps its values
    CHECK(title("rttChart") == QStringLiteral("RTT (ms)"));

    // A stall's round trip of 12.5 s reads in seconds.
    SessionEvent ping = makeEvent(EventKind::Ping, 4'500'000'000);
    ping.code = 12'500;
    log.append(ping, "{\"ping\":1,\"latency\":\"12500\"}");
    log.flushNotifications();
    panel.refresh();
    CHECK(title("rttChart") == QStringLiteral("RTT (s)"));
    CHECK(yMax("rttChart") == Approx(13.8)); // 13.75 up to a fifth: its middle is 6.9, shown in tenths
}

TEST_CASE("chart data: a live document is counted once per bucket, and its last change before a redraw")
{
    ChartData data(4, 1'000'000'000); // 1 s buckets, four of them before a merge
    CHECK(data.takePendingNodeSample() == -1);
    CHECK(data.nodeSampleDue(100'000'000)); // nothing sampled yet
    data.addNodeSample(100'000'000, 10);
    CHECK_FALSE(data.nodeSampleDue(400'000'000)); // same bucket: remembered instead
    CHECK_FALSE(data.nodeSampleDue(700'000'000));
    CHECK(data.takePendingNodeSample() == 700'000'000);
    CHECK(data.takePendingNodeSample() == -1);
    CHECK_FALSE(data.nodeSampleDue(800'000'000));
    CHECK(data.nodeSampleDue(1'200'000'000)); // the next bucket needs its own
    data.addNodeSample(1'200'000'000, 11);
    CHECK(data.takePendingNodeSample() == -1); // an older pending change is covered by a newer sample
    // After a merge (buckets of 2 s), 1.2 s and 1.9 s share a bucket, 2.1 s starts the next.
    data.addNodeSample(5'000'000'000, 20);
    REQUIRE(data.bucketNs() == 2'000'000'000);
    CHECK_FALSE(data.nodeSampleDue(5'900'000'000));
    CHECK(data.nodeSampleDue(6'100'000'000));
    data.clear();
    CHECK(data.nodeSampleDue(6'200'000'000));
    CHECK(data.takePendingNodeSample() == -1);
}

TEST_CASE("charts panel: a costly node count runs once per bucket and once per redraw, and ends on the last value")
{
    ShownCharts shown;
    ChartsPanel& panel = shown.panel;
    int counts = 0;
    qint64 nodes = 100;
    panel.setNodeCounter([&] {
        ++counts;
        return nodes;
    });
    // 2,000 changes over 1.5 s of session time (100 ms buckets: 15 of them), each growing the document.
    for (int i = 0; i < 2000; ++i) {
        ++nodes;
        panel.documentChanged(qint64(i) * 750'000);
    }
    CHECK(counts <= 16);
    panel.refresh(); // the last change is counted now
    CHECK(counts <= 17);
    const QList<QPointF> points = panel.data().nodes();
    REQUIRE(points.size() == 15);
    CHECK(points.back().y() == 2100);
    // Each earlier bucket ends on its last change's size, counted with the next bucket's first
    // change: one item more.
    for (int bucket = 0; bucket + 1 < points.size(); ++bucket) {
        const qint64 changesBefore = (qint64(bucket + 1) * 100'000'000 + 749'999) / 750'000; // at times below the bucket's end
        INFO("bucket " << bucket);
        CHECK(points[bucket].y() == double(100 + changesBefore + 1));
    }
    panel.refresh(); // nothing changed since: no count
    const int before = counts;
    panel.refresh();
    CHECK(counts == before);
    // A document that is gone (negative count) adds no sample; a new log stops the counting.
    nodes = -1;
    panel.documentChanged(5'000'000'000);
    CHECK(panel.data().nodes().back().y() == 2100);
    shown.panel.setEventLog(&shown.log);
    panel.documentChanged(6'000'000'000);
    CHECK(counts == before + 1);
}

TEST_CASE("charts panel: a change still to count is counted when flushed, before the counter moves on")
{
    // A new stream replaces the tree the counter reads: the window flushes the previous stream's last
    // change first, so its bucket does not read the new stream's size.
    ShownCharts shown;
    ChartsPanel& panel = shown.panel;
    qint64 nodes = 1000;
    panel.setNodeCounter([&] { return nodes; });
    panel.documentChanged(10'000'000); // counted: the first in its bucket
    nodes = 1200;
    panel.documentChanged(50'000'000); // pending
    panel.flushNodeSample();
    nodes = 800; // the resynced document
    panel.documentChanged(150'000'000); // the next bucket
    const QList<QPointF> points = panel.data().nodes();
    REQUIRE(points.size() == 2);
    CHECK(points[0].y() == 1200);
    CHECK(points[1].y() == 800);
}

TEST_CASE("charts panel: a session shorter than the window is shown whole wherever the selection is")
{
    ShownCharts shown;
    for (qint64 i = 0; i < 300; ++i) // 30 s
        shown.log.append(makeEvent(EventKind::StreamItem, i * 100'000'000), QByteArrayView("{}"));
    shown.log.flushNotifications();
    for (const qint64 focus : { qint64(0), qint64(150), qint64(299) }) {
        INFO(focus);
        shown.panel.focusEvent(focus);
        CHECK(shown.panel.visibleRange().first == 0);
        CHECK(shown.panel.visibleRange().second == Approx(shown.panel.data().endSeconds()));
    }
}

TEST_CASE("charts panel: markers at one instant share the line's height, so none hides another")
{
    ShownCharts shown;
    EventLog& log = shown.log;
    ChartsPanel& panel = shown.panel;
    for (qint64 i = 0; i <= 100; ++i)
        log.append(makeEvent(EventKind::StreamItem, i * 100'000'000), QByteArrayView("{}"));
    // A drop and the resync it leads to, a millisecond apart (the same pixel column); a lone drop at 9 s.
    log.append(makeEvent(EventKind::Disconnected, 5'000'000'000), QByteArrayView("{}"));
    log.append(makeEvent(EventKind::EpochStarted, 5'001'000'000, 0, 2), QByteArrayView("{}"));
    log.append(makeEvent(EventKind::Disconnected, 9'000'000'000), QByteArrayView("{}"));
    // A damaged capture's time going back: between a drop and its resync at 8 s, one logged at 1 s.
    log.append(makeEvent(EventKind::Disconnected, 8'000'000'000), QByteArrayView("{}"));
    log.append(makeEvent(EventKind::EpochStarted, 1'000'000'000, 0, 3), QByteArrayView("{}"));
    log.append(makeEvent(EventKind::EpochStarted, 8'001'000'000, 0, 4), QByteArrayView("{}"));
    log.flushNotifications();
    panel.setComplete(true);
    panel.refresh();
    REQUIRE(panel.data().markers().size() == 6);

    // The nodes chart: no samples, so no series line of a marker's colour (deltas/s is drawn in the resync's blue).
    auto* view = panel.findChild<QChartView*>(QStringLiteral("nodesChart"));
    REQUIRE(view);
    const QRectF area = view->chart()->plotArea();
    const QImage image = view->grab().toImage();
    const auto pixelX = [&](double seconds) {
        const auto* x = static_cast<QValueAxis*>(view->chart()->axes(Qt::Horizontal).first());
        return view->mapFromScene(QPointF(area.left() + (seconds - x->min()) / (x->max() - x->min()) * area.width(), 0)).x();
    };
    // Which marker colours show in a column's upper and lower quarters (within a pixel either side;
    // by hue, as antialiasing pales a line that falls between pixels): the drop is red, the resync blue.
    const auto drop = [](const QColor& c) { return c.red() > c.green() + 60 && c.red() > c.blue() + 60; };
    const auto resync = [](const QColor& c) { return c.blue() > c.red() + 60 && c.blue() > c.green() + 30; };
    const auto shows = [&](int column, double fromFraction, double toFraction, const std::function<bool(const QColor&)>& is) {
        const int top = view->mapFromScene(QPointF(0, area.top() + area.height() * fromFraction)).y();
        const int bottom = view->mapFromScene(QPointF(0, area.top() + area.height() * toFraction)).y();
        for (int x = column - 1; x <= column + 1; ++x) {
            for (int y = top; y <= bottom; ++y) {
                if (is(image.pixelColor(x, y)))
                    return true;
            }
        }
        return false;
    };
    const int both = pixelX(5.0);
    CHECK(shows(both, 0.05, 0.25, drop));
    CHECK_FALSE(shows(both, 0.05, 0.25, resync));
    CHECK(shows(both, 0.75, 0.95, resync));
    CHECK_FALSE(shows(both, 0.75, 0.95, drop));
    // A marker alone keeps the whole height.
    const int alone = pixelX(9.0);
    CHECK(shows(alone, 0.05, 0.25, drop));
    CHECK(shows(alone, 0.75, 0.95, drop));
    const int early = pixelX(1.0);
    CHECK(shows(early, 0.05, 0.25, resync));
    CHECK(shows(early, 0.75, 0.95, resync));
    const int apartInTheLog = pixelX(8.0);
    CHECK(shows(apartInTheLog, 0.05, 0.25, drop));
    CHECK_FALSE(shows(apartInTheLog, 0.05, 0.25, resync));
    CHECK(shows(apartInTheLog, 0.75, 0.95, resync));
    CHECK_FALSE(shows(apartInTheLog, 0.75, 0.95, drop));
}
