#pragma once

#include "core/capture/replaysession.h"

#include <QKeySequence>
#include <QPointer>
#include <QSlider>
#include <QWidget>

#include <vector>

class QComboBox;
class QLabel;
class QLineEdit;
class QPushButton;
class QToolButton;

namespace deltascope::ui {

// The replay's keyboard shortcuts: the Replay menu's actions take them, the bar's tooltips name
// them (one place, so the two cannot disagree).
namespace replayshortcuts {
inline QKeySequence playPause() { return QKeySequence(Qt::Key_Space); }
inline QKeySequence stepForward() { return QKeySequence(Qt::ALT | Qt::Key_Right); }
inline QKeySequence stepBack() { return QKeySequence(Qt::ALT | Qt::Key_Left); }
inline QKeySequence nextDelta() { return QKeySequence(Qt::CTRL | Qt::ALT | Qt::Key_Right); }
inline QKeySequence previousDelta() { return QKeySequence(Qt::CTRL | Qt::ALT | Qt::Key_Left); }
inline QKeySequence nextIncident() { return QKeySequence(Qt::CTRL | Qt::Key_I); }
inline QKeySequence previousIncident() { return QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_I); }
inline QKeySequence nextAnomaly() { return QKeySequence(Qt::CTRL | Qt::Key_Y); }
inline QKeySequence goTo() { return QKeySequence(Qt::CTRL | Qt::Key_G); }
}

// "event #11 of #0–#296": events are numbered from 0, as the timeline, frame detail and the CLI's
// --at number them; `target` is a seek's goal, or the position.
QString replayPositionText(qint64 target, qint64 eventCount);

// Where the replay bar's "go to" field asks to go: "#42" or "42" (an event, as the timeline numbers
// them), "seq 23" (the first stream item with that seq, as `replay --to-seq`), "12.5s" or "12.5 s"
// (the session time, as the charts' axis). `error` says what was not understood.
struct ReplayGoTo {
    enum class Kind { Invalid, Event, Seq, Time };
    Kind kind = Kind::Invalid;
    qint64 value = 0; // the event index, the seq, or the time in ns
    QString error;
};
ReplayGoTo parseReplayGoTo(const QString& text);

// A slider that paints marks (incidents, anomalies) along its groove. Only paints.
class MarkerSlider : public QSlider
{
    Q_OBJECT
public:
    using QSlider::QSlider;
    void setMarkers(std::vector<int> incidents, std::vector<int> anomalies);

protected:
    void paintEvent(QPaintEvent* event) override;

private:
    std::vector<int> m_incidents;
    std::vector<int> m_anomalies;
};

// Replay controls: scrubber with incident and anomaly marks, play/pause, speed, step by event and
// by delta, jump to the next/previous incident or anomaly, and back to live.
class ReplayBar : public QWidget
{
    Q_OBJECT
public:
    explicit ReplayBar(QWidget* parent = nullptr);

    void setReplay(ReplaySession* replay);
    ReplaySession* replay() const { return m_replay; }
    MarkerSlider* slider() const { return m_slider; }
    // Puts the keyboard in the "go to" field, its text selected (the Replay menu's Go to).
    void focusGoTo();
    // The button that leaves the replay: "Back to live" when a live session is behind it (shown
    // again), else "Close replay" (a capture opened from disk has none: the connection bar is next).
    void setLiveSessionBehind(bool behind);
    QString leaveText() const;

Q_SIGNALS:
    void leaveRequested();

private:
    void syncPosition();

    QPointer<ReplaySession> m_replay; // null once the replay it shows is gone
    MarkerSlider* m_slider = nullptr;
    QLabel* m_position = nullptr;
    QPushButton* m_play = nullptr;
    QComboBox* m_speed = nullptr;
    QLineEdit* m_goTo = nullptr;
    QPushButton* m_leave = nullptr;
    QToolButton* m_previousIncident = nullptr;
    QToolButton* m_nextIncident = nullptr;
    QToolButton* m_nextAnomaly = nullptr;
    void goTo();
};

}
