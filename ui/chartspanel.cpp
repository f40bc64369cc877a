#include "ui/chartspanel.h"

#include "core/session/eventlog.h"

#include <QChart>
#include <QChartView>
#include <QGraphicsLayout>
#include <QHBoxLayout>
#include <QJsonDocument>
#include <QJsonObject>
#include <QLegend>
#include <QLineSeries>
#include <QTimer>
#include <QResizeEvent>
#include <QValueAxis>

#include <algorithm>
#include <cmath>
#include <bit>
#include <iterator>
#include <vector>

namespace deltascope::ui {

// A chart view that draws event markers and the focus cursor over the plot area. Only paints.
class MarkerChartView : public QChartView
{
public:
    // How a chart's values are labelled once they reach 10,000 (bytes: 10 KiB): the values are
    // divided and the title names the unit, so the axis reads "16.1" under "MiB/s", not "16867428".
    enum class Units { Count, Bytes, Milliseconds };

    MarkerChartView(const QString& title, Units units, QWidget* parent)
        : QChartView(new QChart, parent)
        , m_title(title)
        , m_units(units)
    {
        setRenderHint(QPainter::Antialiasing);
        chart()->setTitle(title);
        chart()->setMargins(QMargins(2, 2, 2, 2));
        chart()->layout()->setContentsMargins(0, 0, 0, 0);
        chart()->setBackgroundRoundness(0);
        chart()->legend()->setVisible(false);
        QFont titleFont = chart()->titleFont();
        titleFont.setPointSizeF(titleFont.pointSizeF() * 0.85);
        chart()->setTitleFont(titleFont);
        m_x = new QValueAxis(chart());
        m_y = new QValueAxis(chart());
        m_x->setLabelFormat(QStringLiteral("%.0fs"));
        m_x->setTickCount(4);
        m_y->setTickCount(3);
        m_y->setLabelFormat(QStringLiteral("%.0f"));
        QFont labelFont = m_x->labelsFont();
        labelFont.setPointSizeF(labelFont.pointSizeF() * 0.8);
        m_x->setLabelsFont(labelFont);
        m_y->setLabelsFont(labelFont);
        chart()->addAxis(m_x, Qt::AlignBottom);
        chart()->addAxis(m_y, Qt::AlignLeft);
        // The chart draws with the window's palette, so a dark desktop gets dark charts.
        const QPalette colours = palette();
        chart()->setBackgroundBrush(colours.base());
        chart()->setTitleBrush(colours.text());
        chart()->legend()->setLabelColor(colours.text().color());
        for (QValueAxis* axis : { m_x, m_y }) {
            axis->setLabelsBrush(colours.text());
            axis->setGridLineColor(colours.mid().color());
            axis->setLinePenColor(colours.mid().color());
        }
        setBackgroundBrush(colours.window());
        setMinimumSize(120, 110);
    }

    QLineSeries* addSeries(const QColor& color, const QString& name)
    {
        auto* series = new QLineSeries(chart());
        series->setName(name);
        series->setPen(QPen(color, 1.5));
        chart()->addSeries(series);
        series->attachAxis(m_x);
        series->attachAxis(m_y);
        m_series.append(series);
        if (m_series.size() > 1)
            chart()->legend()->setVisible(true);
        return series;
    }

    // The series' points (one list per series, in the order added), shown over [from, to] seconds.
    void setData(const QList<QList<QPointF>>& data, double from, double to)
    {
        m_x->setRange(from, std::max(to, from + 1));
        // Whole seconds would repeat labels ("1s 1s") on a short window.
        m_x->setLabelFormat(to - from < 6 ? QStringLiteral("%.1fs") : QStringLiteral("%.0fs"));
        double maxY = 0;
        for (const QList<QPointF>& points : data) {
            for (const QPointF& point : points) {
                if (point.x() >= from && point.x() <= to)
                    maxY = std::max(maxY, point.y());
            }
        }
        const Scale scale = scaleFor(maxY);
        for (qsizetype i = 0; i < data.size() && i < m_series.size(); ++i) {
            if (scale.divisor == 1) {
                m_series[i]->replace(data[i]);
                continue;
            }
            QList<QPointF> scaled = data[i];
            for (QPointF& point : scaled)
                point.setY(point.y() / scale.divisor);
            m_series[i]->replace(scaled);
        }
        chart()->setTitle(scale.title + titleNote);
        maxY /= scale.divisor;
        // A tenth is worth showing on small values, and on scaled ones (16.1 MiB/s).
        const bool tenths = maxY < (scale.divisor > 1 ? 100 : 3);
        // The top rounded up so that the middle tick (of three) is a number the labels show
        // exactly: 3.3 labelled its middle 1.65 as "2", below a steady 2.0 line.
        const double step = tenths ? 0.2 : 2.0;
        const double top = maxY > 0 ? std::ceil(maxY * 1.1 / step - 1e-9) * step : 1;
        m_y->setRange(0, top);
        m_y->setLabelFormat(tenths ? QStringLiteral("%.1f") : QStringLiteral("%.0f"));
    }

    const std::vector<ChartData::MarkerPoint>* markers = nullptr;
    double cursor = -1;
    QString titleNote; // after the title: what the values are averaged over, when not one second
    QValueAxis* xAxis() const { return m_x; }
    const QList<QLineSeries*>& series() const { return m_series; }

protected:
    void resizeEvent(QResizeEvent* event) override
    {
        // Fewer time labels on a narrow chart: four of them elide to "1..." below about 190 px.
        m_x->setTickCount(event->size().width() < 190 ? 2 : event->size().width() < 260 ? 3 : 4);
        QChartView::resizeEvent(event);
    }
    void drawForeground(QPainter* painter, const QRectF& rect) override
    {
        QChartView::drawForeground(painter, rect);
        const QRectF area = chart()->plotArea();
        if (!markers || area.isEmpty() || m_series.isEmpty())
            return;
        static const QPen pens[] = {
            QPen(QColor(203, 75, 22), 1.5, Qt::DashLine), // fault
            QPen(QColor(220, 50, 47), 1.5), // drop
            QPen(QColor(181, 137, 0), 1, Qt::DotLine), // reconnect
            QPen(QColor(38, 139, 210), 1.5), // resync
            QPen(QColor(108, 113, 196), 2), // incident
        };
        const QColor anomalyColour(200, 30, 60); // a triangle on the time axis, not a line
        painter->save();
        painter->setClipRect(area);
        const double from = m_x->min();
        const double span = std::max(1e-9, m_x->max() - from);
        // Line markers a few pixels apart (a fault and the drop it causes, a resync and its
        // incident) would hide one another: each kind of such a group gets its share of the height.
        constexpr double kSameColumn = 3;
        double groupX = 0;
        unsigned groupKinds = 0; // bit per Marker kind
        const auto drawGroup = [&] {
            const int kinds = std::popcount(groupKinds);
            int drawn = 0;
            for (int kind = 0; kind < int(std::size(pens)); ++kind) {
                if (!(groupKinds & (1u << kind)))
                    continue;
                painter->setPen(pens[kind]);
                const double top = area.top() + area.height() * drawn / kinds;
                const double bottom = area.top() + area.height() * (drawn + 1) / kinds;
                painter->drawLine(QPointF(groupX, top), QPointF(groupX, bottom));
                ++drawn;
            }
            groupKinds = 0;
        };
        std::vector<std::pair<double, int>> lines; // x, kind: grouped once in x order below
        for (const ChartData::MarkerPoint& marker : *markers) {
            if (marker.seconds < from || marker.seconds > m_x->max())
                continue;
            const double x = area.left() + (marker.seconds - from) / span * area.width();
            if (marker.kind == ChartData::Marker::Anomaly) {
                painter->setPen(Qt::NoPen);
                painter->setBrush(anomalyColour);
                const QPointF triangle[] = { { x - 4, area.bottom() }, { x + 4, area.bottom() }, { x, area.bottom() - 7 } };
                painter->drawPolygon(triangle, 3);
                continue;
            }
            lines.emplace_back(x, int(marker.kind));
        }
        // In time order but for a damaged capture's time going back: sorted, a group is a run of nearby ones.
        if (!std::is_sorted(lines.begin(), lines.end()))
            std::sort(lines.begin(), lines.end());
        for (const auto& [x, kind] : lines) {
            if (groupKinds && x - groupX > kSameColumn)
                drawGroup();
            if (!groupKinds)
                groupX = x;
            groupKinds |= 1u << kind;
        }
        if (groupKinds)
            drawGroup();
        if (cursor >= from && cursor <= m_x->max()) {
            // The selection: in the text colour with a handle on top, so it is not taken for a
            // marker (the resync's is blue, as a highlight colour often is).
            const double x = area.left() + (cursor - from) / span * area.width();
            const QColor ink = palette().windowText().color();
            painter->setPen(QPen(ink, 1.5));
            painter->drawLine(QPointF(x, area.top()), QPointF(x, area.bottom()));
            painter->setBrush(ink);
            const QPointF handle[] = { { x - 4, area.top() }, { x + 4, area.top() }, { x, area.top() + 6 } };
            painter->drawPolygon(handle, 3);
        }
        painter->restore();
    }

private:
    struct Scale {
        double divisor;
        QString title;
    };
    Scale scaleFor(double maxY) const
    {
        if (m_units == Units::Milliseconds) {
            // Long round trips are what a stall makes: 12.5 s, not 12500 ms nor "(thousands)".
            if (maxY >= 10e3)
                return { 1e3, ChartsPanel::tr("RTT (s)") };
            return { 1, m_title };
        }
        if (m_units == Units::Bytes) {
            if (maxY >= 10.0 * 1024 * 1024)
                return { 1024.0 * 1024, ChartsPanel::tr("MiB/s") };
            if (maxY >= 10.0 * 1024)
                return { 1024.0, ChartsPanel::tr("KiB/s") };
            return { 1, m_title };
        }
        // "(k)", not "(thousands)": a chart is a quarter of the strip, and "document nodes (thousan…"
        // was all of the title it showed (the strip's tooltip says what each chart is).
        if (maxY >= 10e6)
            return { 1e6, ChartsPanel::tr("%1 (M)").arg(m_title) };
        if (maxY >= 10e3)
            return { 1e3, ChartsPanel::tr("%1 (k)").arg(m_title) };
        return { 1, m_title };
    }

    QString m_title;
    Units m_units;
    QValueAxis* m_x = nullptr;
    QValueAxis* m_y = nullptr;
    QList<QLineSeries*> m_series;
};

ChartsPanel::ChartsPanel(QWidget* parent)
    : QWidget(parent)
{
    auto* layout = new QHBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->setSpacing(2);
    m_deltas = new MarkerChartView(tr("deltas/s"), MarkerChartView::Units::Count, this);
    m_deltas->setObjectName(QStringLiteral("deltasChart"));
    m_deltas->addSeries(QColor(38, 139, 210), tr("deltas/s"));
    m_bytes = new MarkerChartView(tr("bytes/s"), MarkerChartView::Units::Bytes, this);
    m_bytes->setObjectName(QStringLiteral("bytesChart"));
    m_bytes->addSeries(QColor(133, 153, 0), tr("in"));
    m_bytes->addSeries(QColor(211, 54, 130), tr("out"));
    m_rtt = new MarkerChartView(tr("RTT (ms)"), MarkerChartView::Units::Milliseconds, this);
    m_rtt->setObjectName(QStringLiteral("rttChart"));
    m_rtt->addSeries(QColor(181, 137, 0), tr("RTT"));
    m_nodes = new MarkerChartView(tr("nodes"), MarkerChartView::Units::Count, this);
    m_nodes->setObjectName(QStringLiteral("nodesChart"));
    m_nodes->addSeries(QColor(42, 161, 152), tr("nodes"));
    for (MarkerChartView* view : { m_deltas, m_bytes, m_rtt, m_nodes }) {
        view->markers = &m_data.markers();
        layout->addWidget(view, 1);
    }
    setToolTip(tr("deltas/s: stream items carrying data; bytes/s: in and out; RTT: from pings; nodes: the document's "
                  "size in tree nodes. (k) and (M): in thousands and millions.\n"
                  "Rates are averaged over the last second, or, when deltas come slower than three a second, over "
                  "about three gaps between them (the title says, e.g. \"6 s mean\").\n"
                  "Markers: dashed orange = fault injected, red = drop, dotted yellow = reconnect planned, "
                  "blue = resync (new epoch), violet = incident, crimson triangle on the time axis = fold anomaly"));

    m_refreshTimer = new QTimer(this);
    m_refreshTimer->setInterval(250);
    m_refreshTimer->setSingleShot(true);
    connect(m_refreshTimer, &QTimer::timeout, this, &ChartsPanel::refresh);
}

ChartsPanel::~ChartsPanel() = default;

void ChartsPanel::setEventLog(EventLog* log)
{
    if (m_log)
        disconnect(m_log, nullptr, this, nullptr);
    m_log = log;
    m_data.clear();
    m_nodeCounter = {}; // counted the previous log's document
    m_ingested = 0;
    m_focus = -1;
    if (m_log) {
        connect(m_log, &EventLog::eventsAppended, this, &ChartsPanel::ingest);
        connect(m_log, &EventLog::cleared, this, [this] {
            m_data.clear();
            m_ingested = 0;
            m_focus = -1;
            refresh();
        });
        if (m_log->size() > 0)
            ingest(0, m_log->size() - 1);
    }
    refresh();
}

void ChartsPanel::ingest(qint64, qint64 last)
{
    if (!m_log)
        return;
    last = std::min(last, m_log->size() - 1);
    for (; m_ingested <= last; ++m_ingested) {
        const SessionEvent& event = m_log->at(m_ingested);
        double latency = -1;
        // The server measures the round trip and reports it in the next ping; the decoder keeps it in code.
        if (event.kind == EventKind::Ping && event.code >= 0)
            latency = event.code;
        m_data.addEvent(event, latency);
    }
    if (!m_refreshTimer->isActive())
        m_refreshTimer->start();
}

void ChartsPanel::addNodeSample(qint64 monotonicNs, qint64 nodes)
{
    m_data.addNodeSample(monotonicNs, nodes);
    if (!m_refreshTimer->isActive())
        m_refreshTimer->start();
}

void ChartsPanel::setNodeCounter(std::function<qint64()> count)
{
    m_nodeCounter = std::move(count);
    m_data.takePendingNodeSample();
}

void ChartsPanel::documentChanged(qint64 monotonicNs)
{
    if (!m_nodeCounter)
        return;
    if (m_data.nodeSampleDue(monotonicNs)) {
        const qint64 pending = m_data.takePendingNodeSample();
        if (const qint64 nodes = m_nodeCounter(); nodes >= 0) {
            // The previous bucket's last change gets this count too: off by one item, not by the
            // rest of its bucket.
            if (pending >= 0)
                m_data.addNodeSample(pending, nodes);
            m_data.addNodeSample(monotonicNs, nodes);
        }
    }
    if (!m_refreshTimer->isActive())
        m_refreshTimer->start();
}

void ChartsPanel::flushNodeSample()
{
    if (const qint64 pending = m_data.takePendingNodeSample(); pending >= 0 && m_nodeCounter) {
        if (const qint64 nodes = m_nodeCounter(); nodes >= 0)
            m_data.addNodeSample(pending, nodes);
    }
}

void ChartsPanel::focusEvent(qint64 index)
{
    m_focus = (m_log && index >= 0 && index < m_log->size()) ? index : -1;
    refresh();
}

void ChartsPanel::setComplete(bool complete)
{
    m_complete = complete;
    refresh();
}

QPair<double, double> ChartsPanel::visibleRange() const
{
    return { m_deltas->xAxis()->min(), m_deltas->xAxis()->max() };
}

int ChartsPanel::seriesPointCount() const
{
    int count = 0;
    for (MarkerChartView* view : { m_deltas, m_bytes, m_rtt, m_nodes }) {
        for (QLineSeries* series : view->series())
            count += int(series->count());
    }
    return count;
}

void ChartsPanel::refresh()
{
    m_refreshTimer->stop();
    flushNodeSample();
    double from = 0;
    double to = std::max(1.0, m_data.endSeconds());
    double cursor = -1;
    if (m_focus >= 0) {
        cursor = double(m_log->at(m_focus).monotonicNs) / 1e9;
        // A short session is shown whole; a long one in a window around the selection.
        const double end = m_data.endSeconds();
        const double width = std::min(kWindowSeconds, std::max(2.0, end));
        // Centred on the selection, but never past either end of the data.
        from = std::clamp(cursor - width / 2, 0.0, std::max(0.0, end - width));
        to = from + width;
    }
    // A slow stream's rates are averaged over more than a second: the titles say over how long.
    const qint64 windowSeconds = m_data.rateWindowNs() / 1'000'000'000;
    const QString windowNote = windowSeconds > 1 ? tr(", %1 s mean").arg(windowSeconds) : QString();
    m_deltas->titleNote = windowNote;
    m_bytes->titleNote = windowNote;
    m_deltas->setData({ m_data.deltasPerSecond(m_complete) }, from, to);
    m_bytes->setData({ m_data.bytesInPerSecond(m_complete), m_data.bytesOutPerSecond(m_complete) }, from, to);
    m_rtt->setData({ m_data.rttMs() }, from, to);
    m_nodes->setData({ m_data.nodes() }, from, to);
    for (MarkerChartView* view : { m_deltas, m_bytes, m_rtt, m_nodes }) {
        view->cursor = cursor;
        view->viewport()->update();
    }
}

}
