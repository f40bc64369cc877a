#pragma once

#include "core/session/sessionfolder.h"

#include <atomic>
#include <functional>
#include <vector>

namespace deltascope {

class EventLog;

// Copies of the fold state (SessionFolder: the epoch tree, the merged tree and the stream
// bookkeeping) taken while a capture is opened, so that the state after any event is the nearest
// checkpoint plus at most `interval` events folded. A checkpoint is also taken early when the
// payload bytes folded since the last one exceed kMaxFoldBytes (big snapshots), and skipped when
// nothing was folded (the state did not change). Tree copies share structure, so checkpoints cost
// what changed between them.
class CaptureCheckpoints
{
public:
    static constexpr qint64 kMaxFoldBytes = 8 << 20;

    CaptureCheckpoints(const EventLog& log, int interval);

    // Folds the whole log once. progress(2, done, total) now and then; false when cancelled.
    bool build(const std::function<void(int, qint64, qint64)>& progress, const std::atomic<bool>* cancel);
    // Extends the checkpoints over events appended since build() (a live capture growing).
    void extend();

    // Puts `folder` in the state it had right after event `index` (-1: before the first event).
    // The folder's signals are blocked meanwhile. Returns the number of events folded.
    qint64 restore(SessionFolder& folder, qint64 index) const;

    int interval() const { return m_interval; }
    std::size_t count() const { return m_checkpoints.size(); }
    qint64 foldedEvents() const { return m_folder.foldedCount(); }
    qint64 anomalyCount() const { return m_folder.anomalyCount(); }
    // Anomalies the full fold found (kind, event, path, message), in order.
    const std::vector<SessionAnomaly>& anomalies() const { return m_anomalies; }
    const std::vector<ResyncReport>& resyncs() const { return m_resyncs; }

private:
    struct Checkpoint {
        qint64 next = 0; // first event not folded into `state`
        SessionFolder::State state;
    };
    void foldNext();

    const EventLog& m_log;
    int m_interval;
    SessionFolder m_folder;
    qint64 m_next = 0;
    qint64 m_sinceCheckpoint = 0;
    qint64 m_bytesSinceCheckpoint = 0;
    qint64 m_foldedAtCheckpoint = 0;
    std::vector<Checkpoint> m_checkpoints;
    std::vector<SessionAnomaly> m_anomalies;
    std::vector<ResyncReport> m_resyncs;
};

}
