#pragma once

#include "core/session/eventlog.h"
#include <QElapsedTimer>
#include <QObject>
#include <QPointer>
#include <QRegularExpression>
#include <QTimer>

#include <vector>

namespace deltascope::ui {

// Regex search over the full payload of every event in a log, run on the GUI thread in slices of
// about 5 ms that re-post themselves (the payload store is not shared across threads), so the
// window never freezes. Events appended while a pattern is active are searched as they arrive.
class PayloadSearch : public QObject
{
    Q_OBJECT
public:
    explicit PayloadSearch(QObject* parent = nullptr);

    void setEventLog(EventLog* log);
    // Starts a new search (the previous one is dropped). Returns an error text for a bad pattern
    // (and emits failed()); empty clears the search.
    QString setPattern(const QString& pattern, bool caseSensitive = false);
    QString pattern() const { return m_regex.pattern(); }
    void setSliceMilliseconds(int milliseconds) { m_sliceMs = milliseconds; }

    bool isActive() const { return !m_regex.pattern().isEmpty(); }
    bool isRunning() const { return m_timer.isActive(); }
    qint64 searched() const { return m_next; } // events searched so far
    const std::vector<bool>& matchFlags() const { return m_flags; }
    const std::vector<qint64>& matches() const { return m_matches; } // ascending event indexes

    // The first match after / the last match before an event index, -1 if none (ignores filters).
    qint64 nextMatch(qint64 after) const;
    qint64 previousMatch(qint64 before) const;

    // Runs the search to the end synchronously (benchmarks, tests).
    void finishNow();

Q_SIGNALS:
    void matchesAdded(qint64 firstEvent, qint64 lastEvent); // events searched in this slice
    void progress(qint64 searched, qint64 total);
    void finished(qint64 matchCount);
    void failed(const QString& reason);
    void reset(); // pattern changed or cleared: all marks are gone

private:
    void runSlice();
    void searchRange(qint64 end);
    void onAppended();

    QPointer<EventLog> m_log;
    QRegularExpression m_regex;
    std::vector<bool> m_flags;
    std::vector<qint64> m_matches;
    qint64 m_next = 0;
    int m_sliceMs = 5;
    QTimer m_timer;
};

}
