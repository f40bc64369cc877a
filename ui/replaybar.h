#pragma once

#include "core/capture/replaysession.h"

#include <QKeySequence>
#include <QPointer>
#include <QSlider>
#include <QWidget>

#include <vector>

class QComboBox;
class QLabel;
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
}

// "event #11 of #0–#296": events are numbered from 0, as the timeline, frame detail and the CLI's
// --at number them; `target` is a seek's goal, or the position.
QString replayPositionText(qint64 target, qint64 eventCount);

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

Q_SIGNALS:
    void leaveRequested();

private:
    void syncPosition();

    QPointer<ReplaySession> m_replay; // null once the replay it shows is gone
    QLabel* m_file = nullptr;
    MarkerSlider* m_slider = nullptr;
    QLabel* m_position = nullptr;
    QPushButton* m_play = nullptr;
    QComboBox* m_speed = nullptr;
};

}
