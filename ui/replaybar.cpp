#include "ui/replaybar.h"

#include "core/capture/replaysession.h"

#include <QApplication>
#include <QComboBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QPainter>
#include <QProxyStyle>
#include <QPushButton>
#include <QRegularExpression>
#include <QStyle>
#include <QStyleOptionSlider>
#include <QToolButton>
#include <QToolTip>

#include <algorithm>
#include <cmath>

namespace deltascope::ui {

namespace {
// A click on the scrubber's track jumps there, as a video player's does; Qt's default moves one
// page step toward the click.
class JumpToClickStyle : public QProxyStyle
{
public:
    using QProxyStyle::QProxyStyle;
    int styleHint(StyleHint hint, const QStyleOption* option, const QWidget* widget, QStyleHintReturn* returnData) const override
    {
        if (hint == SH_Slider_AbsoluteSetButtons)
            return Qt::LeftButton;
        return QProxyStyle::styleHint(hint, option, widget, returnData);
    }
};
}

void MarkerSlider::setMarkers(std::vector<int> incidents, std::vector<int> anomalies)
{
    m_incidents = std::move(incidents);
    m_anomalies = std::move(anomalies);
    update();
}

void MarkerSlider::paintEvent(QPaintEvent* event)
{
    QSlider::paintEvent(event);
    if (maximum() <= minimum())
        return;
    QStyleOptionSlider option;
    initStyleOption(&option);
    const QRect groove = style()->subControlRect(QStyle::CC_Slider, &option, QStyle::SC_SliderGroove, this);
    const QRect handle = style()->subControlRect(QStyle::CC_Slider, &option, QStyle::SC_SliderHandle, this);
    const int span = groove.width() - handle.width();
    const int left = groove.left() + handle.width() / 2;
    QPainter painter(this);
    const auto mark = [&](int value, const QColor& color, int top, int bottom) {
        const int x = left + QStyle::sliderPositionFromValue(minimum(), maximum(), value, span);
        painter.setPen(QPen(color, 2));
        painter.drawLine(x, top, x, bottom);
    };
    for (int value : m_anomalies)
        mark(value, QColor(211, 54, 130), rect().top(), rect().center().y());
    for (int value : m_incidents)
        mark(value, QColor(108, 113, 196), rect().center().y(), rect().bottom());
}

ReplayBar::ReplayBar(QWidget* parent)
    : QWidget(parent)
{
    auto* layout = new QHBoxLayout(this);
    layout->setContentsMargins(6, 4, 6, 4);
    // No file name here: the status bar and the window title name the capture, and the scrubber
    // needs the room at 1024 px.

    const auto button = [this, layout](const QString& text, const QString& tip, const QString& name) {
        auto* b = new QToolButton(this);
        b->setText(text);
        b->setToolTip(tip);
        b->setObjectName(name);
        layout->addWidget(b);
        return b;
    };
    const auto withKey = [](const QString& tip, const QKeySequence& key) {
        return tr("%1 (%2)").arg(tip, key.toString(QKeySequence::NativeText));
    };
    m_previousIncident = button(tr("|◀ incident"), withKey(tr("Previous incident"), replayshortcuts::previousIncident()),
        QStringLiteral("replayPreviousIncident"));
    QToolButton* deltaBack = button(tr("◀ delta"), withKey(tr("Step back to the previous delta"), replayshortcuts::previousDelta()),
        QStringLiteral("replayDeltaBack"));
    QToolButton* back = button(tr("◀"), withKey(tr("Step back one event"), replayshortcuts::stepBack()), QStringLiteral("replayStepBack"));
    m_play = new QPushButton(tr("Play"), this);
    m_play->setObjectName(QStringLiteral("replayPlay"));
    m_play->setToolTip(withKey(tr("Play / pause"), replayshortcuts::playPause()));
    // As wide as its longer text, not a dialog button's 80 px: the scrubber needs the room at 1024 px.
    m_play->setFixedWidth(std::max(fontMetrics().horizontalAdvance(tr("Play")), fontMetrics().horizontalAdvance(tr("Pause")))
        + 4 * fontMetrics().horizontalAdvance(QLatin1Char('0')));
    layout->addWidget(m_play);
    QToolButton* forward = button(tr("▶"), withKey(tr("Step one event"), replayshortcuts::stepForward()), QStringLiteral("replayStepForward"));
    QToolButton* deltaForward = button(tr("delta ▶"), withKey(tr("Step to the next delta"), replayshortcuts::nextDelta()),
        QStringLiteral("replayDeltaForward"));
    m_nextIncident = button(tr("incident ▶|"), withKey(tr("Next incident"), replayshortcuts::nextIncident()),
        QStringLiteral("replayNextIncident"));
    m_nextAnomaly = button(tr("anomaly ▶|"), withKey(tr("Next anomaly"), replayshortcuts::nextAnomaly()), QStringLiteral("replayNextAnomaly"));
    m_speed = new QComboBox(this);
    m_speed->setObjectName(QStringLiteral("replaySpeed"));
    for (double speed : { 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 50.0 })
        m_speed->addItem(QStringLiteral("%1×").arg(speed), speed);
    m_speed->setCurrentIndex(2);
    layout->addWidget(m_speed);

    m_slider = new MarkerSlider(Qt::Horizontal, this);
    m_slider->setObjectName(QStringLiteral("replayScrubber"));
    auto* jumpToClick = new JumpToClickStyle(QApplication::style()->name()); // a base of the application's kind
    jumpToClick->setParent(m_slider);
    m_slider->setStyle(jumpToClick);
    m_slider->setToolTip(tr("Scrub through the capture. Marks: violet below = incidents, pink above = anomalies."));
    m_slider->setMinimumWidth(fontMetrics().horizontalAdvance(QLatin1Char('0')) * 12); // usable at 1024 px
    layout->addWidget(m_slider, 1);
    m_position = new QLabel(this);
    m_position->setObjectName(QStringLiteral("replayPosition"));
    // Its minimum follows the capture's length (setReplay()): room for every position it shows.
    layout->addWidget(m_position);
    m_goTo = new QLineEdit(this);
    m_goTo->setObjectName(QStringLiteral("replayGoTo"));
    m_goTo->setPlaceholderText(tr("go to…"));
    m_goTo->setFixedWidth(fontMetrics().horizontalAdvance(QStringLiteral("seq 100000_")));
    const QString goToHelp = tr("Go to an event (#42), the first stream item with a seq (seq 23) or a session time (12.5s); Enter to go (%1)")
                                 .arg(replayshortcuts::goTo().toString(QKeySequence::NativeText));
    m_goTo->setToolTip(goToHelp);
    layout->addWidget(m_goTo);
    connect(m_goTo, &QLineEdit::returnPressed, this, &ReplayBar::goTo);
    connect(m_goTo, &QLineEdit::textEdited, this, [this, goToHelp] {
        m_goTo->setStyleSheet({});
        m_goTo->setToolTip(goToHelp);
    });

    m_leave = new QPushButton(this);
    m_leave->setObjectName(QStringLiteral("replayLeave"));
    setLiveSessionBehind(false);
    connect(m_leave, &QPushButton::clicked, this, &ReplayBar::leaveRequested);
    layout->addWidget(m_leave);

    connect(m_slider, &QSlider::valueChanged, this, [this](int value) {
        if (m_replay && value != m_replay->position())
            m_replay->seek(value);
    });
    connect(m_play, &QPushButton::clicked, this, [this] {
        if (!m_replay)
            return;
        if (m_replay->isPlaying())
            m_replay->pause();
        else
            m_replay->play(m_speed->currentData().toDouble());
    });
    connect(m_speed, &QComboBox::currentIndexChanged, this, [this] {
        if (m_replay)
            m_replay->setSpeed(m_speed->currentData().toDouble());
    });
    connect(back, &QToolButton::clicked, this, [this] { m_replay && m_replay->stepBack(); });
    connect(forward, &QToolButton::clicked, this, [this] { m_replay && m_replay->stepForward(); });
    connect(deltaBack, &QToolButton::clicked, this, [this] { m_replay && m_replay->stepDeltaBack(); });
    connect(deltaForward, &QToolButton::clicked, this, [this] { m_replay && m_replay->stepDeltaForward(); });
    connect(m_previousIncident, &QToolButton::clicked, this, [this] { m_replay && m_replay->seekPreviousIncident(); });
    connect(m_nextIncident, &QToolButton::clicked, this, [this] { m_replay && m_replay->seekNextIncident(); });
    connect(m_nextAnomaly, &QToolButton::clicked, this, [this] { m_replay && m_replay->seekNextAnomaly(); });
}

void ReplayBar::setReplay(ReplaySession* replay)
{
    if (m_replay)
        m_replay->disconnect(this);
    m_replay = replay;
    if (!replay)
        return;
    // The speed the box shows is the one Play, the menu and Space use (a new replay starts at 1×).
    replay->setSpeed(m_speed->currentData().toDouble());
    m_slider->setRange(-1, int(std::max<qint64>(0, replay->eventCount() - 1)));
    m_position->setMinimumWidth(fontMetrics().horizontalAdvance(replayPositionText(replay->eventCount() - 1, replay->eventCount())));
    const auto updateMarkers = [this, replay] {
        std::vector<int> incidents;
        for (qint64 index : replay->incidentEvents())
            incidents.push_back(int(index));
        std::vector<int> anomalies;
        for (qint64 index : replay->anomalyEvents())
            anomalies.push_back(int(index));
        m_slider->setMarkers(std::move(incidents), std::move(anomalies));
    };
    updateMarkers();
    // The fold's anomalies arrive when the capture's checkpoints are complete.
    connect(replay, &ReplaySession::anomaliesChanged, this, updateMarkers);
    connect(replay, &ReplaySession::anomaliesChanged, this, &ReplayBar::syncPosition); // the jump buttons' state
    connect(replay, &ReplaySession::positionChanged, this, &ReplayBar::syncPosition);
    connect(replay, &ReplaySession::seekCancelled, this, &ReplayBar::syncPosition);
    connect(replay, &ReplaySession::seekPending, this, [this](qint64 target, qint64 folded, qint64 total) {
        // The scrubber stays where it was put; the label says what the jump waits for.
        const QSignalBlocker blocker(m_slider);
        m_slider->setValue(int(target));
        m_position->setText(tr("%1: folding, %2%").arg(replayPositionText(target, total)).arg(total > 0 ? folded * 100 / total : 0));
    });
    connect(replay, &ReplaySession::playingChanged, this, [this](bool playing) { m_play->setText(playing ? tr("Pause") : tr("Play")); });
    syncPosition();
}

void ReplayBar::syncPosition()
{
    if (!m_replay)
        return;
    const QSignalBlocker blocker(m_slider);
    m_slider->setValue(int(m_replay->position()));
    m_position->setText(replayPositionText(m_replay->position(), m_replay->eventCount()));
    // A jump with nowhere to go is greyed out, not a click that silently does nothing. The lists
    // are in event order (the replay's own jumps search them so): their ends decide, at every
    // step of a playback however many anomalies there are.
    const qint64 at = m_replay->position();
    const std::vector<qint64>& incidents = m_replay->incidentEvents();
    const std::vector<qint64>& anomalies = m_replay->anomalyEvents();
    m_previousIncident->setEnabled(!incidents.empty() && incidents.front() < at);
    m_nextIncident->setEnabled(!incidents.empty() && incidents.back() > at);
    m_nextAnomaly->setEnabled(!anomalies.empty() && anomalies.back() > at);
}

void ReplayBar::focusGoTo()
{
    m_goTo->setFocus(Qt::ShortcutFocusReason);
    m_goTo->selectAll();
}

void ReplayBar::setLiveSessionBehind(bool behind)
{
    // "Back to live" over a capture opened from disk led to an empty, idle window that had never
    // been live: the button says where it goes.
    m_leave->setText(behind ? tr("Back to live") : tr("Close replay"));
    m_leave->setToolTip(behind ? tr("Close this replay and show the live session it replaced, as it was left; Connect starts a new one")
                               : tr("Close this capture and go to the connection bar, to connect to a server or open a demo"));
}

QString ReplayBar::leaveText() const
{
    return m_leave->text();
}

void ReplayBar::goTo()
{
    if (!m_replay)
        return;
    const ReplayGoTo to = parseReplayGoTo(m_goTo->text());
    QString problem = to.error;
    if (to.kind == ReplayGoTo::Kind::Event && to.value >= m_replay->eventCount())
        problem = tr("no event #%1: the capture has #0\u2013#%2").arg(to.value).arg(m_replay->eventCount() - 1);
    else if (to.kind == ReplayGoTo::Kind::Event)
        m_replay->seek(to.value);
    else if (to.kind == ReplayGoTo::Kind::Seq && !m_replay->seekSeq(to.value))
        problem = tr("no stream item with seq %1 in this capture").arg(to.value);
    else if (to.kind == ReplayGoTo::Kind::Time && !m_replay->seekTime(to.value))
        problem = tr("no event at or before %1 s").arg(double(to.value) / 1e9);
    if (problem.isEmpty()) {
        m_goTo->clear();
        return;
    }
    // Said where the eye is, and kept until the text is edited.
    m_goTo->setStyleSheet(QStringLiteral("QLineEdit { color: #dc322f; }"));
    m_goTo->setToolTip(problem);
    QToolTip::showText(m_goTo->mapToGlobal(QPoint(0, m_goTo->height())), problem, m_goTo);
    m_goTo->selectAll();
}

ReplayGoTo parseReplayGoTo(const QString& text)
{
    static const QRegularExpression event(QStringLiteral(R"(^\s*#?\s*(\d{1,18})\s*$)"));
    static const QRegularExpression seq(QStringLiteral(R"(^\s*seq\s*(\d{1,18})\s*$)"), QRegularExpression::CaseInsensitiveOption);
    static const QRegularExpression time(QStringLiteral(R"(^\s*(\d{1,9}(?:\.\d{1,9})?)\s*s\s*$)"), QRegularExpression::CaseInsensitiveOption);
    ReplayGoTo to;
    if (const QRegularExpressionMatch m = event.match(text); m.hasMatch()) {
        to.kind = ReplayGoTo::Kind::Event;
        to.value = m.captured(1).toLongLong();
    } else if (const QRegularExpressionMatch m = seq.match(text); m.hasMatch()) {
        to.kind = ReplayGoTo::Kind::Seq;
        to.value = m.captured(1).toLongLong();
    } else if (const QRegularExpressionMatch m = time.match(text); m.hasMatch()) {
        to.kind = ReplayGoTo::Kind::Time;
        to.value = qint64(std::llround(m.captured(1).toDouble() * 1e9));
    } else {
        to.error = text.trimmed().isEmpty() ? ReplayBar::tr("type where to go: #42, seq 23 or 12.5s")
                                            : ReplayBar::tr("'%1' is not #EVENT, seq N or SECONDSs (e.g. #42, seq 23, 12.5s)").arg(text.trimmed());
    }
    return to;
}

QString replayPositionText(qint64 target, qint64 eventCount)
{
    if (eventCount <= 0)
        return ReplayBar::tr("no events");
    if (target < 0)
        return ReplayBar::tr("before event #0 of #0\u2013#%1").arg(eventCount - 1);
    return ReplayBar::tr("event #%1 of #0\u2013#%2").arg(target).arg(eventCount - 1);
}

}
