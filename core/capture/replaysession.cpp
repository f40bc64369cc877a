#include "core/capture/replaysession.h"

#include "core/capture/capturecheckpoints.h"

#include <QSignalBlocker>

#include <algorithm>
#include <set>

namespace deltascope {

ReplaySession::ReplaySession(std::unique_ptr<Capture> capture, QObject* parent)
    : QObject(parent)
    , m_capture(std::move(capture))
{
    if (!m_capture->log)
        m_capture->log = std::make_unique<EventLog>();
    if (!m_capture->checkpoints) {
        m_capture->checkpoints = std::make_unique<CaptureCheckpoints>(*m_capture->log);
        m_capture->checkpoints->start();
    }
    // The fold's own anomalies join the recorded ones when the checkpoint fold is complete.
    connect(m_capture->checkpoints.get(), &CaptureCheckpoints::completed, this, &ReplaySession::collectAnomalies);
    // Both come from the worker thread: queued to this one.
    connect(m_capture->checkpoints.get(), &CaptureCheckpoints::progress, this, &ReplaySession::onFoldProgress);
    connect(m_capture->checkpoints.get(), &CaptureCheckpoints::completed, this, &ReplaySession::onFoldProgress);
    collectAnomalies();
    m_playTimer.setInterval(10);
    connect(&m_playTimer, &QTimer::timeout, this, &ReplaySession::onPlayTick);
}

ReplaySession::~ReplaySession() = default;

void ReplaySession::collectAnomalies()
{
    std::vector<qint64> anomalies = log().indexesOfKind(EventKind::FoldAnomaly);
    const bool complete = m_capture->checkpoints->isComplete();
    if (complete) {
        // A reference-client quirk (a value list edited without @s, on every such edit of an
        // Adama server) marks its first event per path and epoch, as the live session logs it:
        // marked every time, it would cover the scrubber and make "next anomaly" a delta step.
        std::set<std::pair<quint32, QString>> quirksSeen;
        for (const SessionAnomaly& anomaly : m_capture->checkpoints->anomalies()) {
            if (anomaly.isReferenceClientQuirk() && !quirksSeen.emplace(anomaly.epoch, anomaly.path).second)
                continue;
            anomalies.push_back(anomaly.eventIndex);
        }
    }
    std::sort(anomalies.begin(), anomalies.end());
    anomalies.erase(std::unique(anomalies.begin(), anomalies.end()), anomalies.end());
    anomalies.erase(std::remove(anomalies.begin(), anomalies.end(), qint64(-1)), anomalies.end());
    const bool changed = anomalies != m_anomalyEvents;
    m_anomalyEvents = std::move(anomalies);
    if (complete && !m_checkpointsComplete) {
        m_checkpointsComplete = true;
        Q_EMIT checkpointsCompleted();
    }
    if (changed)
        Q_EMIT anomaliesChanged();
}

std::vector<SessionAnomaly> ReplaySession::anomaliesSoFar() const
{
    std::vector<SessionAnomaly> found;
    if (!m_checkpointsComplete)
        return found;
    for (const SessionAnomaly& anomaly : m_capture->checkpoints->anomalies()) {
        if (anomaly.eventIndex > m_position)
            break;
        if (anomaly.epoch == m_folder.epoch())
            found.push_back(anomaly);
    }
    return found;
}

const std::vector<qint64>& ReplaySession::incidentEvents() const
{
    return log().indexesOfKind(EventKind::Incident);
}

void ReplaySession::applyNext()
{
    const qint64 next = m_position + 1;
    m_folder.processEvent(log().at(next), log().payload(next));
    m_position = next;
}

void ReplaySession::cancelPendingSeek()
{
    if (m_pendingSeek == kNoPendingSeek)
        return;
    const qint64 target = std::exchange(m_pendingSeek, kNoPendingSeek);
    Q_EMIT seekCancelled(target);
}

void ReplaySession::onFoldProgress()
{
    if (m_pendingSeek == kNoPendingSeek)
        return;
    if (m_capture->checkpoints->restoreWouldWait(m_pendingSeek)) {
        Q_EMIT seekPending(m_pendingSeek, m_capture->checkpoints->foldedUpTo(), eventCount());
        return;
    }
    const qint64 target = std::exchange(m_pendingSeek, kNoPendingSeek);
    jumpTo(target);
}

bool ReplaySession::jumpTo(qint64 index)
{
    index = std::clamp<qint64>(index, -1, eventCount() - 1);
    cancelPendingSeek();
    if (index == m_position)
        return true;
    if (index == m_position + 1) {
        applyNext();
        Q_EMIT positionChanged(m_position);
        return true;
    }
    // Folding forward from here is cheaper than a restore when the target is close ahead.
    if (index > m_position && index - m_position <= m_capture->checkpoints->interval()) {
        {
            const QSignalBlocker blocker(&m_folder);
            while (m_position < index)
                applyNext();
        }
    } else {
        if (m_deferSeeks && m_capture->checkpoints->restoreWouldWait(index)) {
            // The fold is still on its way there: wait for it without blocking this thread.
            pause();
            m_pendingSeek = index;
            Q_EMIT seekPending(index, m_capture->checkpoints->foldedUpTo(), eventCount());
            return true;
        }
        m_capture->checkpoints->restore(m_folder, index);
        m_position = index;
    }
    Q_EMIT treeReset();
    Q_EMIT positionChanged(m_position);
    return true;
}

bool ReplaySession::seek(qint64 index)
{
    if (index < -1 || index >= eventCount())
        return false;
    return jumpTo(index);
}

bool ReplaySession::stepForward()
{
    if (m_position + 1 >= eventCount())
        return false;
    return jumpTo(m_position + 1);
}

bool ReplaySession::stepBack()
{
    if (m_position < 0)
        return false;
    return jumpTo(m_position - 1);
}

namespace {
bool carriesData(const SessionEvent& event)
{
    return event.kind == EventKind::StreamItem && (event.parts & PartData);
}
}

bool ReplaySession::stepDeltaForward()
{
    const auto& items = log().indexesOfKind(EventKind::StreamItem);
    auto it = std::upper_bound(items.begin(), items.end(), m_position);
    for (; it != items.end(); ++it) {
        if (carriesData(log().at(*it)))
            return jumpTo(*it);
    }
    return false;
}

bool ReplaySession::stepDeltaBack()
{
    const auto& items = log().indexesOfKind(EventKind::StreamItem);
    auto it = std::lower_bound(items.begin(), items.end(), m_position);
    while (it != items.begin()) {
        --it;
        if (carriesData(log().at(*it)))
            return jumpTo(*it);
    }
    return false;
}

bool ReplaySession::seekTime(qint64 monotonicNs)
{
    if (eventCount() == 0)
        return false;
    // firstAtOrAfter gives the first event later than or at the time; we want the last at or before.
    qint64 index = log().firstAtOrAfter(monotonicNs + 1) - 1;
    return jumpTo(index);
}

bool ReplaySession::seekWallTime(qint64 wallMs)
{
    if (eventCount() == 0)
        return false;
    // Wall time may step (clock changes); the last event whose wall time is at or before wins.
    qint64 lo = 0;
    qint64 hi = eventCount();
    while (lo < hi) {
        const qint64 mid = (lo + hi) / 2;
        if (log().at(mid).wallMs <= wallMs)
            lo = mid + 1;
        else
            hi = mid;
    }
    return jumpTo(lo - 1);
}

bool ReplaySession::seekSeq(qint64 seq)
{
    const quint32 current = m_position >= 0 ? log().at(m_position).epoch : 0;
    qint64 index = log().streamItemWithSeq(seq, current);
    if (index < 0) {
        for (const qint64 item : log().indexesOfKind(EventKind::StreamItem)) {
            if (log().at(item).seq == seq) {
                index = item;
                break;
            }
        }
    }
    if (index < 0)
        return false;
    return jumpTo(index);
}

namespace {
qint64 nextIn(const std::vector<qint64>& sorted, qint64 position)
{
    const auto it = std::upper_bound(sorted.begin(), sorted.end(), position);
    return it == sorted.end() ? -2 : *it;
}
qint64 previousIn(const std::vector<qint64>& sorted, qint64 position)
{
    const auto it = std::lower_bound(sorted.begin(), sorted.end(), position);
    return it == sorted.begin() ? -2 : *(it - 1);
}
}

bool ReplaySession::seekNextIncident()
{
    const qint64 target = nextIn(incidentEvents(), m_position);
    return target >= 0 && jumpTo(target);
}

bool ReplaySession::seekPreviousIncident()
{
    const qint64 target = previousIn(incidentEvents(), m_position);
    return target >= 0 && jumpTo(target);
}

bool ReplaySession::seekNextAnomaly()
{
    const qint64 target = nextIn(m_anomalyEvents, m_position);
    return target >= 0 && jumpTo(target);
}

bool ReplaySession::seekPreviousAnomaly()
{
    const qint64 target = previousIn(m_anomalyEvents, m_position);
    return target >= 0 && jumpTo(target);
}

void ReplaySession::setSpeed(double speed)
{
    const qint64 now = m_playOriginNs + qint64(double(m_clock.isValid() ? m_clock.nsecsElapsed() : 0) * m_speed);
    m_speed = speed <= 0 ? 0 : std::clamp(speed, kMinSpeed, kMaxSpeed);
    // Keep the capture time where it is; only the rate changes.
    m_playOriginNs = now;
    if (m_clock.isValid())
        m_clock.restart();
}

void ReplaySession::setSkipIdleGaps(bool skip, qint64 maxIdleGapMs)
{
    m_skipIdle = skip;
    m_maxIdleGapNs = std::max<qint64>(1, maxIdleGapMs) * 1000 * 1000;
}

void ReplaySession::play(double speed)
{
    cancelPendingSeek();
    if (m_position + 1 >= eventCount())
        return;
    m_speed = speed <= 0 ? 0 : std::clamp(speed, kMinSpeed, kMaxSpeed);
    m_playOriginNs = m_position >= 0 ? log().at(m_position).monotonicNs : log().at(0).monotonicNs;
    m_clock.restart();
    m_playTimer.setInterval(m_speed <= 0 ? 0 : 10);
    const bool was = isPlaying();
    m_playTimer.start();
    if (!was)
        Q_EMIT playingChanged(true);
}

void ReplaySession::pause()
{
    if (!isPlaying())
        return;
    m_playTimer.stop();
    Q_EMIT playingChanged(false);
}

void ReplaySession::onPlayTick()
{
    const qint64 last = m_stopAt >= 0 ? std::min(m_stopAt, eventCount() - 1) : eventCount() - 1;
    QElapsedTimer slice;
    slice.start();
    const qint64 before = m_position;
    // Time-boxed so the event loop (and the GUI) stays responsive even at full speed.
    constexpr qint64 kSliceNs = 8 * 1000 * 1000;
    while (m_position < last && slice.nsecsElapsed() < kSliceNs) {
        if (m_speed > 0) {
            const qint64 target = m_playOriginNs + qint64(double(m_clock.nsecsElapsed()) * m_speed);
            const qint64 nextTime = log().at(m_position + 1).monotonicNs;
            if (nextTime > target) {
                // An idle stretch of the recording is shortened to the longest gap kept, in
                // recorded time, so that slow motion still shows every shorter gap at its length.
                if (m_skipIdle && nextTime - target > m_maxIdleGapNs)
                    m_playOriginNs += nextTime - target - m_maxIdleGapNs;
                break;
            }
        }
        applyNext();
    }
    if (m_position != before)
        Q_EMIT positionChanged(m_position);
    if (m_position >= last) {
        pause();
        Q_EMIT finished();
    }
}

}
