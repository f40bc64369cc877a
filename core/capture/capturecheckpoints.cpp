#include "core/capture/capturecheckpoints.h"

#include "core/session/eventlog.h"

#include <QSignalBlocker>

#include <algorithm>
#include <limits>
#include <optional>

#include <time.h>

namespace deltascope {

namespace {
// The folder reads payloads of these kinds only; skipping the others keeps opening fast.
bool folderReadsPayload(EventKind kind)
{
    return kind == EventKind::StreamItem || kind == EventKind::EpochStarted;
}

// The exclusive end of the node-sample window holding `ns`: rounded towards zero, so past `ns`
// either way, and saturated, since a file's times may be any qint64.
qint64 sampleWindowEnd(qint64 ns, qint64 width)
{
    const qint64 start = ns - ns % width;
    return start > std::numeric_limits<qint64>::max() - width ? std::numeric_limits<qint64>::max() : start + width;
}

// CPU time, not wall time, measures the fold's cost: other work on a loaded machine does not
// shrink the spacing.
qint64 threadCpuNs()
{
    timespec now {};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now);
    return qint64(now.tv_sec) * 1'000'000'000 + now.tv_nsec;
}
}

CaptureCheckpoints::CaptureCheckpoints(const EventLog& log, int interval)
    : m_log(log)
    , m_interval(std::max(1, interval))
    , m_folder(this) // a child, so it moves to the thread its owner moves to
{
    // Direct: the folder emits on whichever thread folds, and these belong to that fold.
    QObject::connect(
        &m_folder, &SessionFolder::anomalyFound, &m_folder,
        [this](const SessionAnomaly& anomaly) { m_anomalies.push_back(anomaly); }, Qt::DirectConnection);
    QObject::connect(
        &m_folder, &SessionFolder::resyncCompared, &m_folder,
        [this](const ResyncReport& report) { m_resyncs.push_back(report); }, Qt::DirectConnection);
}

CaptureCheckpoints::~CaptureCheckpoints()
{
    stopWorker();
}

void CaptureCheckpoints::stopWorker()
{
    if (!m_worker.joinable())
        return;
    {
        const std::lock_guard lock(m_mutex); // a worker held by holdBefore() waits on m_changed
        m_stop.store(true);
    }
    m_changed.notify_all();
    m_worker.join();
    m_stop.store(false);
}

void CaptureCheckpoints::foldNext()
{
    const SessionEvent& event = m_log.at(m_next);
    if (event.kind == EventKind::StreamItem) {
        // The count for a window is taken before the first item past it: the tree is then as the
        // window's last item left it. A window ending at the top of the range holds every later time.
        if (event.monotonicNs >= m_sampleWindowEnd && m_sampleWindowEnd != std::numeric_limits<qint64>::max()) {
            takeNodeSample();
            m_sampleWindowEnd = sampleWindowEnd(event.monotonicNs, m_sampleWindowNs);
        }
        m_lastItemNs = event.monotonicNs;
        m_itemSinceSample = true;
    } else if (event.kind == EventKind::EpochStarted) {
        takeNodeSample(); // a new epoch empties the tree: the old one's size goes with its last item
    }
    if (folderReadsPayload(event.kind)) {
        const QByteArray payload = m_log.payload(m_next);
        m_bytesSinceCheckpoint += payload.size();
        m_folder.processEvent(event, payload);
    }
    ++m_next;
    ++m_sinceCheckpoint;
    if (m_sinceCheckpoint >= m_interval || m_bytesSinceCheckpoint >= kMaxFoldBytes) {
        takeCheckpoint();
    } else if (m_sinceCheckpoint >= kMinInterval && (m_sinceCheckpoint & 15) == 0
        && threadCpuNs() - m_cpuAtCheckpoint >= kFoldBudgetNs) {
        takeCheckpoint();
    }
}

void CaptureCheckpoints::takeNodeSample()
{
    if (!m_itemSinceSample)
        return;
    const NodeSample sample { m_lastItemNs, qint64(m_folder.epochTree().nodeCount()) };
    m_itemSinceSample = false;
    const std::lock_guard lock(m_mutex);
    m_nodeSamples.push_back(sample);
}

std::vector<CaptureCheckpoints::NodeSample> CaptureCheckpoints::nodeSamples(std::size_t from) const
{
    const std::lock_guard lock(m_mutex);
    if (from >= m_nodeSamples.size())
        return {};
    return { m_nodeSamples.begin() + std::ptrdiff_t(from), m_nodeSamples.end() };
}

void CaptureCheckpoints::takeCheckpoint()
{
    // Nothing folded since the last checkpoint: the state is the same, restoring the older one
    // and skipping events that fold nothing is as fast. Only the folding thread writes
    // m_checkpoints, so it reads it here without the lock.
    if (m_checkpoints.empty() || m_folder.foldedCount() != m_foldedAtCheckpoint || m_bytesSinceCheckpoint > 0) {
        Checkpoint checkpoint { m_next, m_folder.saveState() };
        {
            const std::lock_guard lock(m_mutex);
            m_checkpoints.push_back(std::move(checkpoint));
        }
        m_changed.notify_all();
        m_foldedAtCheckpoint = m_folder.foldedCount();
    }
    m_sinceCheckpoint = 0;
    m_bytesSinceCheckpoint = 0;
    m_cpuAtCheckpoint = threadCpuNs();
}

bool CaptureCheckpoints::foldTo(qint64 end, const std::function<void(int, qint64, qint64)>& progress, const std::atomic<bool>* cancel)
{
    m_cpuAtCheckpoint = threadCpuNs(); // CPU clocks are per thread, and a fold may go on on another one
    if (m_sampleWindowNs == 0 && end > 0)
        m_sampleWindowNs = qint64(eventTimeRange(m_log, end).span() / kNodeSampleWindows + 1);
    while (m_next < end) {
        if (m_next == m_holdBefore.load(std::memory_order_relaxed)) {
            m_progress.store(m_next, std::memory_order_relaxed);
            if (progress)
                progress(2, m_next, end);
            std::unique_lock lock(m_mutex);
            m_changed.wait(lock, [&] { return m_holdBefore.load() != m_next || m_stop.load(); });
            if (m_stop.load())
                return false;
        }
        foldNext();
        if ((m_next & 0x3fff) == 0) {
            m_progress.store(m_next, std::memory_order_relaxed);
            if (progress)
                progress(2, m_next, end);
            if ((cancel && cancel->load()) || m_stop.load())
                return false;
        }
    }
    takeNodeSample(); // the last window's
    m_progress.store(m_next, std::memory_order_relaxed);
    if (progress)
        progress(2, end, end);
    return true;
}

bool CaptureCheckpoints::build(const std::function<void(int, qint64, qint64)>& progress, const std::atomic<bool>* cancel)
{
    stopWorker();
    const bool done = foldTo(m_log.size(), progress, cancel);
    m_complete.store(done, std::memory_order_release);
    return done;
}

void CaptureCheckpoints::start()
{
    if (m_worker.joinable() || isComplete())
        return;
    {
        const std::lock_guard lock(m_mutex);
        m_done = false;
    }
    const qint64 end = m_log.size();
    m_worker = std::thread([this, end] {
        const auto report = [this](int, qint64 done, qint64 total) { Q_EMIT progress(done, total); };
        const bool done = foldTo(end, report, nullptr);
        m_complete.store(done, std::memory_order_release);
        {
            const std::lock_guard lock(m_mutex);
            m_done = true;
        }
        m_changed.notify_all();
        if (done)
            Q_EMIT completed();
    });
}

bool CaptureCheckpoints::waitUntilComplete()
{
    if (isComplete())
        return true;
    if (m_worker.joinable()) {
        {
            std::unique_lock lock(m_mutex);
            m_changed.wait(lock, [this] { return m_done; });
        }
        m_worker.join();
        if (isComplete())
            return true;
    }
    return build({}, nullptr);
}

std::size_t CaptureCheckpoints::count() const
{
    const std::lock_guard lock(m_mutex);
    return m_checkpoints.size();
}

qint64 CaptureCheckpoints::foldedEvents()
{
    waitUntilComplete();
    return m_folder.foldedCount();
}

qint64 CaptureCheckpoints::anomalyCount()
{
    waitUntilComplete();
    return m_folder.anomalyCount();
}

const std::vector<SessionAnomaly>& CaptureCheckpoints::anomalies()
{
    waitUntilComplete();
    return m_anomalies;
}

const std::vector<ResyncReport>& CaptureCheckpoints::resyncs()
{
    waitUntilComplete();
    return m_resyncs;
}

void CaptureCheckpoints::holdBefore(qint64 index)
{
    {
        const std::lock_guard lock(m_mutex);
        m_holdBefore.store(index);
    }
    m_changed.notify_all();
}

bool CaptureCheckpoints::restoreWouldWait(qint64 index) const
{
    index = std::min(index, m_log.size() - 1);
    const std::lock_guard lock(m_mutex);
    return !m_done && (m_checkpoints.empty() || m_checkpoints.back().next <= index);
}

qint64 CaptureCheckpoints::restore(SessionFolder& folder, qint64 index) const
{
    const QSignalBlocker blocker(&folder);
    index = std::min(index, m_log.size() - 1);
    qint64 from = 0;
    std::optional<SessionFolder::State> state;
    {
        // The copy is taken under the lock (the worker may be appending); the rest is not.
        std::unique_lock lock(m_mutex);
        // The worker is always at least as far as the last checkpoint: when the target is beyond
        // it, waiting for the worker to pass it costs less than folding the same events here.
        m_changed.wait(lock, [&] { return m_done || (!m_checkpoints.empty() && m_checkpoints.back().next > index); });
        // The last checkpoint whose state covers no event after `index`.
        const auto it = std::upper_bound(m_checkpoints.begin(), m_checkpoints.end(), index + 1,
            [](qint64 value, const Checkpoint& checkpoint) { return value < checkpoint.next; });
        if (it != m_checkpoints.begin()) {
            state = (it - 1)->state;
            from = (it - 1)->next;
        }
    }
    if (state)
        folder.restoreState(*state);
    else
        folder.reset();
    for (qint64 i = from; i <= index; ++i) {
        const SessionEvent& event = m_log.at(i);
        if (folderReadsPayload(event.kind))
            folder.processEvent(event, m_log.payload(i));
    }
    return index - from + 1;
}

}
