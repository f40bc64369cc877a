#pragma once

#include "core/session/eventlog.h"
#include "core/session/sessionevent.h"

#include <QAbstractTableModel>
#include <QCache>
#include <QPointer>
#include <QTimer>

#include <limits>
#include <vector>

namespace deltascope::ui {

// What a timeline row stands for, beyond its kind: markers (faults, incidents, reconnect delays,
// anomalies) and failures are painted so they stand out from ordinary frames.
enum class TimelineCategory : quint8 { Frame, Failure, Fault, Incident, Reconnect, Anomaly, Lifecycle };
TimelineCategory timelineCategory(EventKind kind);

// A virtualized table over an EventLog: one row per event, in log order (row == event index).
// Nothing is stored per row: display strings are produced on demand and the expensive ones
// (summaries, which read the payload) are cached for the rows a view actually shows.
//
// Appends arrive from EventLog::eventsAppended and are flushed as one insert per batch by a short
// interval timer, so a stream of 20,000 events/s costs the views a few inserts per second's frame.
class TimelineModel : public QAbstractTableModel
{
    Q_OBJECT
public:
    enum Columns { TimeColumn, GapColumn, DirectionColumn, KindColumn, IdColumn, MethodColumn, SizeColumn, SummaryColumn, ColumnCount };
    enum Roles {
        SortRole = Qt::UserRole + 1,
        EventIndexRole, // qint64
        DirectionRole, // int(Direction)
        KindRole, // int(EventKind)
        EpochRole, // quint32
        MethodRole, // QString: method (requests) or channel (sends)
        LinkedIndexRole, // qint64, -1 if none
        MonotonicNsRole, // qint64
        CategoryRole, // int(TimelineCategory)
        LinkedToCurrentRole, // bool: the event linked to the current one (request <-> response)
        SearchMatchRole, // bool: matched by the last payload search
    };

    explicit TimelineModel(QObject* parent = nullptr);
    ~TimelineModel() override;

    // The log to show (not owned). Rows already in it appear at once; later appends in batches.
    void setEventLog(EventLog* log);
    EventLog* eventLog() const { return m_log; }

    // Interval of the insert batching timer (default 40 ms: well inside the 200 ms staleness budget).
    void setFlushInterval(int milliseconds);
    // Inserts every appended event now (tests, and before a view jumps to the tail).
    void flushPending();

    int rowCount(const QModelIndex& parent = {}) const override;
    int columnCount(const QModelIndex& parent = {}) const override;
    QVariant data(const QModelIndex& index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation orientation, int role = Qt::DisplayRole) const override;

    const SessionEvent& eventAt(int row) const;

    // The event whose link partner is marked (selection in the view); -1 for none.
    void setCurrentEvent(qint64 index);
    qint64 currentEvent() const { return m_current; }

    // Search marks: the payload search reports matches as it goes; rows repaint per batch.
    void setSearchMatches(const std::vector<bool>* matches);
    void searchMatchesChanged(qint64 first, qint64 last);

    // One-line description of an event from its payload (cached). Identity tokens are masked.
    QString summary(qint64 index) const;

private:
    void onEventsAppended(qint64 first, qint64 last);
    void onEventLinked(qint64 a, qint64 b);
    void onCleared();
    void emitRowChanged(qint64 index, const QList<int>& roles);
    QString computeSummary(qint64 index) const;

    QPointer<EventLog> m_log;
    int m_rowCount = 0; // rows the views know; the log may be ahead until the next flush
    QTimer m_flushTimer;
    qint64 m_current = -1;
    const std::vector<bool>* m_searchMatches = nullptr;
    mutable QCache<qint64, QString> m_summaryCache;
    // "HH:mm:ss.zzz" in local time. The zone's offset is looked up once per quarter hour of wall
    // time (offsets change on such boundaries): a lookup reads the zone rules, and a sort or a
    // scroll asks for thousands of rows.
    QString localClockText(qint64 wallMs) const;
    mutable qint64 m_offsetQuarter = std::numeric_limits<qint64>::min();
    mutable int m_offsetSeconds = 0;
};

}
