#pragma once

#include <QString>

#include <functional>
#include <memory>

class QSocketNotifier;

namespace deltascope {

// What a StopSignalGuard handles besides SIGINT and SIGTERM, and what a second signal does.
struct StopSignalOptions {
    // SIGHUP too (the terminal or session went away). Left alone when it is ignored already:
    // `nohup` asked for the process to outlive its terminal.
    bool hangup = false;
    // After the first signal the next one takes its default action, ending the process at once:
    // a stop that hangs can still be ended without SIGKILL. Otherwise every signal calls onStop.
    bool secondSignalEndsAtOnce = false;
};

// Turns the signals that ask a process to stop (SIGINT, SIGTERM, and SIGHUP when asked) into a
// call on the event loop, where stopping cleanly (an end record written, a window closed) is safe.
// The handler only writes the signal's number to a socket pair that a QSocketNotifier reads.
// Installed for the guard's lifetime, the previous handlers restored after; one guard at a time.
// Needs a QCoreApplication.
class StopSignalGuard
{
public:
    // `onStop` is called on the event loop with the signal (SIGINT, SIGTERM or SIGHUP); it must not
    // destroy the guard. Not installed (errorString() says why) when the socket pair cannot be made.
    explicit StopSignalGuard(std::function<void(int signal)> onStop, StopSignalOptions options = {});
    ~StopSignalGuard();
    StopSignalGuard(const StopSignalGuard&) = delete;
    StopSignalGuard& operator=(const StopSignalGuard&) = delete;

    bool isInstalled() const { return m_installed; }
    // Why it is not installed (empty when it is).
    QString errorString() const { return m_error; }

    // "SIGINT", "SIGTERM", "SIGHUP"; the number for any other.
    static QString signalName(int signal);

private:
    std::function<void(int)> m_onStop;
    StopSignalOptions m_options;
    std::unique_ptr<QSocketNotifier> m_notifier;
    bool m_installed = false;
    bool m_stopped = false; // onStop has been called once (secondSignalEndsAtOnce)
    QString m_error;
};

}
