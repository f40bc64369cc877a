#pragma once

#include <QElapsedTimer>
#include <QHash>
#include <QObject>

#include <functional>
#include <map>

namespace deltascope {

// Time and timers for the protocol client. Liveness checks and reconnect backoff go through
// here so tests can drive them with ManualClock: fast and deterministic, no sleeps.
class Clock
{
public:
    virtual ~Clock() = default;
    virtual qint64 nowNs() const = 0; // monotonic, since the clock was created
    virtual qint64 wallMs() const = 0; // milliseconds since the Unix epoch
    qint64 nowMs() const { return nowNs() / 1000000; }
    // The wall time of an earlier moment of this clock's (an event timed where it happened).
    qint64 wallMsAt(qint64 monotonicNs) const { return wallMs() - (nowNs() - monotonicNs) / 1000000; }
    // nowNs() as a function that any thread may call, also after this clock is gone (a socket's
    // thread times the frames it reads with it); none for a clock that only its own thread reads.
    virtual std::function<qint64()> threadSafeNowNs() const { return {}; }

    // Runs `callback` once after `delayMs` (from the owning thread's event loop for real clocks,
    // from advance() for the manual clock). Returns a handle for cancel(); never 0.
    virtual quint64 schedule(qint64 delayMs, std::function<void()> callback) = 0;
    virtual void cancel(quint64 handle) = 0;
};

// Steady clock and QTimer-based timers. Timers fire on the thread that scheduled them.
class SystemClock final : public Clock
{
public:
    SystemClock();
    ~SystemClock() override;
    qint64 nowNs() const override;
    qint64 wallMs() const override;
    std::function<qint64()> threadSafeNowNs() const override;
    quint64 schedule(qint64 delayMs, std::function<void()> callback) override;
    void cancel(quint64 handle) override;

private:
    QElapsedTimer m_elapsed;
    QObject m_context; // owns the timers, so none outlives the clock
    QHash<quint64, QObject*> m_timers;
    quint64 m_next = 0;
};

// A clock that only moves when told to. advance() fires every timer that falls due, in deadline
// order (ties in scheduling order), with now() set to each timer's deadline while it runs.
class ManualClock final : public Clock
{
public:
    explicit ManualClock(qint64 wallStartMs = 1700000000000);
    qint64 nowNs() const override { return m_nowNs; }
    qint64 wallMs() const override { return m_wallStartMs + m_nowNs / 1000000; }
    quint64 schedule(qint64 delayMs, std::function<void()> callback) override;
    void cancel(quint64 handle) override;

    void advance(qint64 ms);
    void advanceNs(qint64 ns);
    // Moves time on without firing anything, as a busy thread would: what fell due meanwhile
    // fires late, at the next advance.
    void stall(qint64 ms) { m_nowNs += std::max<qint64>(0, ms) * 1000000; }
    // Advances to the next pending deadline (if any) and fires it; returns false when none.
    bool runNext();
    int pendingCount() const { return int(m_pending.size()); }
    qint64 nextDeadlineMs() const; // -1 when nothing is pending

private:
    struct Key {
        qint64 deadlineNs;
        quint64 handle;
        bool operator<(const Key& other) const
        {
            return deadlineNs != other.deadlineNs ? deadlineNs < other.deadlineNs : handle < other.handle;
        }
    };
    std::map<Key, std::function<void()>> m_pending;
    QHash<quint64, qint64> m_deadlines;
    qint64 m_nowNs = 0;
    qint64 m_wallStartMs;
    quint64 m_next = 0;
};

// A restartable one-shot or repeating timer on a Clock (the protocol client's building block).
class ClockTimer
{
public:
    ClockTimer(Clock* clock, std::function<void()> callback);
    ~ClockTimer();
    ClockTimer(const ClockTimer&) = delete;
    ClockTimer& operator=(const ClockTimer&) = delete;

    void start(qint64 delayMs, bool repeating = false);
    void stop();
    bool isActive() const { return m_handle != 0; }
    qint64 deadlineNs() const { return m_deadlineNs; } // valid while active

private:
    void fire();
    Clock* m_clock;
    std::function<void()> m_callback;
    quint64 m_handle = 0;
    qint64 m_intervalMs = 0;
    qint64 m_deadlineNs = 0;
    bool m_repeating = false;
};

}
