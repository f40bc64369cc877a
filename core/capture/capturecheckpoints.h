#pragma once

#include "core/session/sessionfolder.h"

#include <QObject>

#include <atomic>
#include <condition_variable>
#include <functional>
#include <limits>
#include <mutex>
#include <thread>
#include <vector>

namespace deltascope {

class EventLog;

// Copies of the fold state (SessionFolder: the epoch tree, the merged tree and the stream
// bookkeeping) along an opened capture, so that the state after any event is the nearest
// checkpoint plus a short fold. Spacing is by fold cost: a checkpoint is taken once folding since
// the last one took kFoldBudgetNs of CPU time (at least kMinInterval events apart), and in any
// case after `interval` events or kMaxFoldBytes of payload (big snapshots). So a seek folds at
// most about kFoldBudgetNs worth of events, whatever the deltas cost, and at most `interval`
// events. None is taken when nothing was folded (the state did not change). Tree copies share
// structure, so checkpoints cost what changed between them.
//
// The fold that makes them runs once over the log, either on the calling thread (build()) or on
// a worker thread (start(), what opening does so a capture is usable as soon as it is indexed).
// restore() may be called from any thread at any time: before the worker reached the target it
// waits for the worker to pass it (the worker is ahead of anything restore() could fold itself),
// then folds from the nearest checkpoint; the answers are the same, only faster once the
// checkpoints exist. Tree copies cross threads safely: their structure is
// shared through atomic reference counts and never written while shared.
//
// The log must not grow while the fold runs: an opened capture's log does not.
class CaptureCheckpoints : public QObject
{
    Q_OBJECT
public:
    static constexpr int kDefaultInterval = 1000;
    static constexpr int kMinInterval = 250; // bounds the memory of checkpoints on a slow machine
    static constexpr qint64 kFoldBudgetNs = 2'000'000;
    static constexpr qint64 kMaxFoldBytes = 1 << 20;

    CaptureCheckpoints(const EventLog& log, int interval = kDefaultInterval);
    ~CaptureCheckpoints() override; // stops the worker and waits for it

    // Folds the whole log on the calling thread. progress(2, done, total) now and then; false
    // when cancelled (the checkpoints made so far stay usable).
    bool build(const std::function<void(int, qint64, qint64)>& progress, const std::atomic<bool>* cancel);
    // Folds the whole log on a worker thread; progress() and completed() are emitted from it.
    void start();
    // Returns once the fold is complete: waits for the worker, or folds what is left on the
    // calling thread when no worker runs. False when the worker was stopped early.
    bool waitUntilComplete();
    bool isComplete() const { return m_complete.load(std::memory_order_acquire); }
    // Events the fold has covered so far (checkpoints exist up to about there).
    qint64 foldedUpTo() const { return m_progress.load(std::memory_order_relaxed); }

    // Puts `folder` in the state it had right after event `index` (-1: before the first event).
    // The folder's signals are blocked meanwhile. Returns the number of events folded. Thread-safe.
    qint64 restore(SessionFolder& folder, qint64 index) const;
    // Whether restore(index) would now wait for the worker to get past `index`.
    bool restoreWouldWait(qint64 index) const;
    // Tests: the fold stops before event `index` until holdBefore(-1) (or destruction), so that
    // "the fold has not got there yet" is a state a test can be in, not a race it may lose.
    void holdBefore(qint64 index);

    int interval() const { return m_interval; }
    std::size_t count() const; // checkpoints made so far

    // What the full fold found. These complete the fold first (waitUntilComplete()): on a UI
    // thread, call them after completed().
    qint64 foldedEvents();
    qint64 anomalyCount();
    // Anomalies the full fold found (kind, event, path, message), in order.
    const std::vector<SessionAnomaly>& anomalies();
    const std::vector<ResyncReport>& resyncs();

    // The epoch tree's size along the capture, for the charts of a replay: the node count after
    // the last stream item of each of about kNodeSampleWindows equal spans of the capture's time
    // (bounded whatever its length; counting nodes walks the tree). Those the fold has reached,
    // from the `from`-th on. Thread-safe.
    struct NodeSample {
        qint64 monotonicNs = 0; // of the stream item after which the count was taken
        qint64 nodes = 0;
    };
    static constexpr int kNodeSampleWindows = 1024;
    std::vector<NodeSample> nodeSamples(std::size_t from = 0) const;

Q_SIGNALS:
    // From the worker thread (connect with a queued or auto connection).
    void progress(qint64 done, qint64 total);
    void completed();

private:
    struct Checkpoint {
        qint64 next = 0; // first event not folded into `state`
        SessionFolder::State state;
    };
    void foldNext();
    // Node samples: a window ended (or the fold did) with stream items folded in it.
    void takeNodeSample();
    void takeCheckpoint();
    bool foldTo(qint64 end, const std::function<void(int, qint64, qint64)>& progress, const std::atomic<bool>* cancel);
    void stopWorker();

    const EventLog& m_log;
    int m_interval;
    // The fold itself: touched only by whoever folds (the worker, or build()).
    SessionFolder m_folder;
    qint64 m_next = 0;
    qint64 m_sinceCheckpoint = 0;
    qint64 m_bytesSinceCheckpoint = 0;
    qint64 m_cpuAtCheckpoint = 0; // the folding thread's CPU time when the last checkpoint was taken
    qint64 m_foldedAtCheckpoint = 0;
    std::vector<SessionAnomaly> m_anomalies;
    std::vector<ResyncReport> m_resyncs;
    qint64 m_sampleWindowNs = 0; // set when the fold starts: the capture's duration / kNodeSampleWindows
    qint64 m_sampleWindowEnd = std::numeric_limits<qint64>::min(); // exclusive; the first item starts a window
    qint64 m_lastItemNs = 0; // the time of the last stream item folded
    bool m_itemSinceSample = false; // whether a stream item was folded since the last sample

    mutable std::mutex m_mutex; // guards m_checkpoints and m_done
    mutable std::condition_variable m_changed; // a checkpoint was added, or the fold stopped
    std::vector<Checkpoint> m_checkpoints;
    std::vector<NodeSample> m_nodeSamples; // guarded by m_mutex
    bool m_done = true; // no fold running
    std::atomic<bool> m_complete { false };
    std::atomic<bool> m_stop { false };
    std::atomic<qint64> m_holdBefore { -1 };
    std::atomic<qint64> m_progress { 0 };
    std::thread m_worker;
};

}
