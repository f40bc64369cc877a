#include "core/capture/capturecheckpoints.h"

#include "core/session/eventlog.h"

#include <QSignalBlocker>

#include <algorithm>

namespace deltascope {

namespace {
// The folder reads payloads of these kinds only; skipping the others keeps opening fast.
bool folderReadsPayload(EventKind kind)
{
    return kind == EventKind::StreamItem || kind == EventKind::EpochStarted;
}
}

CaptureCheckpoints::CaptureCheckpoints(const EventLog& log, int interval)
    : m_log(log)
    , m_interval(std::max(1, interval))
{
    QObject::connect(&m_folder, &SessionFolder::anomalyFound, &m_folder,
        [this](const SessionAnomaly& anomaly) { m_anomalies.push_back(anomaly); });
    QObject::connect(&m_folder, &SessionFolder::resyncCompared, &m_folder,
        [this](const ResyncReport& report) { m_resyncs.push_back(report); });
}

void CaptureCheckpoints::foldNext()
{
    const SessionEvent& event = m_log.at(m_next);
    if (folderReadsPayload(event.kind)) {
        const QByteArray payload = m_log.payload(m_next);
        m_bytesSinceCheckpoint += payload.size();
        m_folder.processEvent(event, payload);
    } else {
        m_folder.processEvent(event, {});
    }
    ++m_next;
    ++m_sinceCheckpoint;
    if (m_sinceCheckpoint >= m_interval || m_bytesSinceCheckpoint >= kMaxFoldBytes) {
        // Nothing folded since the last checkpoint: the state is the same, restoring the older
        // one and skipping events that fold nothing is as fast.
        if (m_folder.foldedCount() != m_foldedAtCheckpoint || m_checkpoints.empty()
            || m_bytesSinceCheckpoint > 0) {
            m_checkpoints.push_back({ m_next, m_folder.saveState() });
            m_foldedAtCheckpoint = m_folder.foldedCount();
        }
        m_sinceCheckpoint = 0;
        m_bytesSinceCheckpoint = 0;
    }
}

bool CaptureCheckpoints::build(const std::function<void(int, qint64, qint64)>& progress, const std::atomic<bool>* cancel)
{
    const qint64 total = m_log.size();
    while (m_next < total) {
        foldNext();
        if ((m_next & 0x3fff) == 0) {
            if (progress)
                progress(2, m_next, total);
            if (cancel && cancel->load())
                return false;
        }
    }
    if (progress)
        progress(2, total, total);
    return true;
}

void CaptureCheckpoints::extend()
{
    while (m_next < m_log.size())
        foldNext();
}

qint64 CaptureCheckpoints::restore(SessionFolder& folder, qint64 index) const
{
    const QSignalBlocker blocker(&folder);
    index = std::min(index, m_log.size() - 1);
    // The last checkpoint whose state covers no event after `index`.
    const auto it = std::upper_bound(m_checkpoints.begin(), m_checkpoints.end(), index + 1,
        [](qint64 value, const Checkpoint& checkpoint) { return value < checkpoint.next; });
    qint64 from = 0;
    if (it == m_checkpoints.begin()) {
        folder.reset();
    } else {
        const Checkpoint& checkpoint = *(it - 1);
        folder.restoreState(checkpoint.state);
        from = checkpoint.next;
    }
    for (qint64 i = from; i <= index; ++i) {
        const SessionEvent& event = m_log.at(i);
        if (folderReadsPayload(event.kind))
            folder.processEvent(event, m_log.payload(i));
    }
    return index - from + 1;
}

}
