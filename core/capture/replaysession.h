#pragma once

#include "core/capture/capturereader.h"
#include "core/session/sessionfolder.h"

#include <QElapsedTimer>
#include <QObject>
#include <QTimer>

#include <memory>

namespace deltascope {

// Replays an opened capture through the same EventLog and SessionFolder a live session uses, so
// the GUI cannot tell live from replay. The position is the last event applied (-1: before the
// first). Stepping forward one event feeds it to the folder (its signals fire as live); any other
// move restores the nearest checkpoint and folds up to the target with the folder's signals
// blocked, then emits treeReset() so views rebuild. Lives on one thread; the capture's
// checkpoints are made on a worker thread meanwhile.
class ReplaySession : public QObject
{
    Q_OBJECT
public:
    explicit ReplaySession(std::unique_ptr<Capture> capture, QObject* parent = nullptr);
    ~ReplaySession() override;

    const Capture& capture() const { return *m_capture; }
    const EventLog& log() const { return *m_capture->log; }
    SessionFolder& folder() { return m_folder; }
    const SessionFolder& folder() const { return m_folder; }
    qint64 position() const { return m_position; }
    qint64 eventCount() const { return m_capture->log->size(); }

    // Moves. Each returns false (and does not move) when there is no such target.
    bool seek(qint64 index); // the state right after event `index`; -1 = the start
    bool stepForward();
    bool stepBack();
    bool stepDeltaForward(); // to the next stream item that carries data
    bool stepDeltaBack(); // to the previous one (the state right after it)
    bool seekTime(qint64 monotonicNs); // the last event at or before that time
    bool seekWallTime(qint64 wallMs);
    bool seekSeq(qint64 seq); // the first stream item with that seq (current epoch first, then any)
    bool seekNextIncident();
    bool seekPreviousIncident();
    bool seekNextAnomaly(); // recorded FoldAnomaly events and anomalies the replay fold found
    bool seekPreviousAnomaly();

    // Playback at `speed` x real time (0.25 .. 50), or as fast as possible (speed <= 0). With
    // skipIdle on, a gap between events longer than maxIdleGapMs of recorded time plays as
    // maxIdleGapMs, at `speed` like any other.
    void play(double speed = 1.0);
    void pause();
    bool isPlaying() const { return m_playTimer.isActive(); }
    double speed() const { return m_speed; }
    void setSpeed(double speed);
    void setSkipIdleGaps(bool skip, qint64 maxIdleGapMs = 1000);
    // Stops playback once this event has been applied (-1: the end).
    void setStopAt(qint64 index) { m_stopAt = index; }

    // With deferred seeks (what the GUI wants), a jump to where the background fold has not got
    // yet does not block this thread: it becomes pending (seekPending(), repeated as the fold
    // advances) and is made once the fold has passed it. Any other move, or play(), replaces it.
    // Off by default, so that the state is there when seek() returns.
    void setDeferSeeksUntilFolded(bool defer) { m_deferSeeks = defer; }
    static constexpr qint64 kNoPendingSeek = -2;
    qint64 pendingSeek() const { return m_pendingSeek; }

    // Event indexes of anomalies (recorded, and found by the fold once its checkpoints are
    // complete: anomaliesChanged()), sorted.
    const std::vector<qint64>& anomalyEvents() const { return m_anomalyEvents; }
    // What the full fold found in the current epoch up to the position (the marks a tree folded
    // event by event to here would carry); empty until the checkpoints are complete.
    std::vector<SessionAnomaly> anomaliesSoFar() const;
    // The checkpoint fold runs in the background after opening; seeks work meanwhile, slower.
    bool checkpointsComplete() const { return m_checkpointsComplete; }
    const std::vector<qint64>& incidentEvents() const;

    static constexpr double kMinSpeed = 0.25;
    static constexpr double kMaxSpeed = 50.0;

Q_SIGNALS:
    void positionChanged(qint64 index);
    // A deferred seek to `target` waits for the background fold, which has covered `folded` of
    // `total` events; seekCancelled() when another move replaced it before it was made.
    void seekPending(qint64 target, qint64 folded, qint64 total);
    void seekCancelled(qint64 target);
    void treeReset(); // the folder's trees were replaced by a jump: rebuild views
    void playingChanged(bool playing);
    void finished(); // playback reached the end (or the stop event)
    void anomaliesChanged();
    void checkpointsCompleted();

private:
    void applyNext();
    void onPlayTick();
    bool jumpTo(qint64 index);
    void collectAnomalies();
    void onFoldProgress();
    void cancelPendingSeek();

    std::unique_ptr<Capture> m_capture;
    SessionFolder m_folder;
    qint64 m_position = -1;
    std::vector<qint64> m_anomalyEvents;
    bool m_checkpointsComplete = false;
    QTimer m_playTimer;
    QElapsedTimer m_clock;
    double m_speed = 1.0;
    bool m_skipIdle = true;
    qint64 m_maxIdleGapNs = 1000 * 1000 * 1000ll;
    qint64 m_playOriginNs = 0; // capture time at the moment playback (re)started
    qint64 m_stopAt = -1;
    bool m_deferSeeks = false;
    qint64 m_pendingSeek = kNoPendingSeek;
};

}
