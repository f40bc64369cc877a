#include "core/protocol/clock.h"

#include <QDateTime>
#include <QTimer>

namespace deltascope {

SystemClock::SystemClock()
{
    m_elapsed.start();
}

SystemClock::~SystemClock() = default;

qint64 SystemClock::nowNs() const
{
    return m_elapsed.nsecsElapsed();
}

std::function<qint64()> SystemClock::threadSafeNowNs() const
{
    // A copy of the started timer counts from the same start, and reading one only reads the
    // system's monotonic clock.
    return [elapsed = m_elapsed] { return elapsed.nsecsElapsed(); };
}

qint64 SystemClock::wallMs() const
{
    return QDateTime::currentMSecsSinceEpoch();
}

quint64 SystemClock::schedule(qint64 delayMs, std::function<void()> callback)
{
    const quint64 handle = ++m_next;
    auto* timer = new QTimer(&m_context);
    timer->setSingleShot(true);
    timer->setTimerType(Qt::PreciseTimer);
    QObject::connect(timer, &QTimer::timeout, timer, [this, handle, timer, callback = std::move(callback)]() {
        m_timers.remove(handle);
        timer->deleteLater();
        callback();
    });
    m_timers.insert(handle, timer);
    timer->start(int(std::clamp<qint64>(delayMs, 0, std::numeric_limits<int>::max())));
    return handle;
}

void SystemClock::cancel(quint64 handle)
{
    if (QObject* timer = m_timers.take(handle)) {
        static_cast<QTimer*>(timer)->stop();
        timer->deleteLater();
    }
}

ManualClock::ManualClock(qint64 wallStartMs)
    : m_wallStartMs(wallStartMs)
{
}

quint64 ManualClock::schedule(qint64 delayMs, std::function<void()> callback)
{
    const quint64 handle = ++m_next;
    const qint64 deadline = m_nowNs + std::max<qint64>(0, delayMs) * 1000000;
    m_pending.emplace(Key { deadline, handle }, std::move(callback));
    m_deadlines.insert(handle, deadline);
    return handle;
}

void ManualClock::cancel(quint64 handle)
{
    const auto it = m_deadlines.constFind(handle);
    if (it == m_deadlines.constEnd())
        return;
    m_pending.erase(Key { it.value(), handle });
    m_deadlines.erase(it);
}

void ManualClock::advance(qint64 ms)
{
    advanceNs(ms * 1000000);
}

void ManualClock::advanceNs(qint64 ns)
{
    const qint64 target = m_nowNs + std::max<qint64>(0, ns);
    // Callbacks may schedule or cancel timers, so look the head up again after each one.
    while (!m_pending.empty() && m_pending.begin()->first.deadlineNs <= target) {
        auto node = m_pending.extract(m_pending.begin());
        m_deadlines.remove(node.key().handle);
        m_nowNs = std::max(m_nowNs, node.key().deadlineNs);
        node.mapped()();
    }
    m_nowNs = target;
}

bool ManualClock::runNext()
{
    if (m_pending.empty())
        return false;
    advanceNs(m_pending.begin()->first.deadlineNs - m_nowNs);
    return true;
}

qint64 ManualClock::nextDeadlineMs() const
{
    return m_pending.empty() ? -1 : m_pending.begin()->first.deadlineNs / 1000000;
}

ClockTimer::ClockTimer(Clock* clock, std::function<void()> callback)
    : m_clock(clock)
    , m_callback(std::move(callback))
{
}

ClockTimer::~ClockTimer()
{
    stop();
}

void ClockTimer::start(qint64 delayMs, bool repeating)
{
    stop();
    m_intervalMs = std::max<qint64>(0, delayMs);
    m_repeating = repeating;
    m_deadlineNs = m_clock->nowNs() + m_intervalMs * 1000000;
    m_handle = m_clock->schedule(m_intervalMs, [this]() { fire(); });
}

void ClockTimer::stop()
{
    if (m_handle != 0) {
        m_clock->cancel(m_handle);
        m_handle = 0;
    }
}

void ClockTimer::fire()
{
    m_handle = 0;
    if (m_repeating) {
        // Ticks missed while the thread was busy are skipped, not fired back to back (as QTimer
        // does): a burst of catch-up liveness checks would count one stall as several misses.
        const qint64 nowNs = m_clock->nowNs();
        const qint64 intervalNs = std::max<qint64>(1, m_intervalMs * 1000000);
        m_deadlineNs += intervalNs;
        if (m_deadlineNs <= nowNs)
            m_deadlineNs += ((nowNs - m_deadlineNs) / intervalNs + 1) * intervalNs;
        m_handle = m_clock->schedule((m_deadlineNs - nowNs) / 1000000, [this]() { fire(); });
    }
    m_callback(); // last: the callback may stop or restart this timer
}

}
