#pragma once

#include "core/session/eventlog.h"
#include "ui/models/chartdata.h"

#include <QPointer>
#include <QWidget>

#include <functional>

class QLabel;
class QTimer;

namespace deltascope::ui {

class MarkerChartView;

// The charts strip: deltas/s, bytes/s in and out, RTT from pings, document size in nodes, each
// with vertical markers where faults, drops, reconnects, resyncs and incidents happened. Series are
// rebuilt from ChartData (fixed point budget) a few times a second with replace(points).
// With an event selected, the charts show a window around it; otherwise the whole session.
class ChartsPanel : public QWidget
{
    Q_OBJECT
public:
    explicit ChartsPanel(QWidget* parent = nullptr);
    ~ChartsPanel() override;

    void setEventLog(EventLog* log);
    // The size of the folded document after an event (fed by whoever folds).
    void addNodeSample(qint64 monotonicNs, qint64 nodes);
    // A live document, whose size `count` gives (it may walk the tree): documentChanged() after
    // each fold counts it only when the chart needs a sample (ChartData::nodeSampleDue), and the
    // last change before a redraw is counted then. A negative count (the document is gone) is
    // left out; an empty function, or a new event log, stops the counting.
    void setNodeCounter(std::function<qint64()> count);
    void documentChanged(qint64 monotonicNs);
    // Counts the last change not counted yet now (a redraw does it; so must a new stream, before
    // the counter moves on to the new stream's tree).
    void flushNodeSample();
    // Centres the time window on an event (-1: show the whole session).
    void focusEvent(qint64 index);
    // A finished capture: the last bucket is complete too.
    void setComplete(bool complete);

    const ChartData& data() const { return m_data; }
    // Rebuilds the series now (tests; normally a timer does it).
    void refresh();
    // Points currently handed to each chart's series (tests and benchmarks).
    int seriesPointCount() const;
    QPair<double, double> visibleRange() const;

private:
    void ingest(qint64 first, qint64 last);

    QPointer<EventLog> m_log;
    ChartData m_data;
    std::function<qint64()> m_nodeCounter;
    qint64 m_ingested = 0;
    qint64 m_focus = -1;
    static constexpr double kWindowSeconds = 60; // the time shown around a selected event
    bool m_complete = false;
    QTimer* m_refreshTimer = nullptr;
    MarkerChartView* m_deltas = nullptr;
    MarkerChartView* m_bytes = nullptr;
    MarkerChartView* m_rtt = nullptr;
    MarkerChartView* m_nodes = nullptr;
};

}
