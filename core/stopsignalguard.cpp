#include "core/stopsignalguard.h"

#include <QSocketNotifier>

#include <cerrno>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>
#include <utility>

namespace deltascope {

namespace {

// The handler can reach nothing but globals; one guard at a time owns them.
int s_socketPair[2] = { -1, -1 };
bool s_guardInstalled = false;

struct HandledSignal {
    int number;
    bool installed;
    struct sigaction previous;
};
HandledSignal s_handled[] = { { SIGINT, false, {} }, { SIGTERM, false, {} }, { SIGHUP, false, {} } };

// Async-signal-safe: one write(), errno kept for the code the signal interrupted.
void onStopSignal(int signal)
{
    const int savedErrno = errno;
    const char byte = char(signal);
    if (s_socketPair[1] >= 0)
        (void)!::write(s_socketPair[1], &byte, 1);
    errno = savedErrno;
}

void closeSocketPair()
{
    for (int& fd : s_socketPair) {
        if (fd >= 0)
            ::close(fd);
        fd = -1;
    }
}

bool makeNonBlockingAndCloseOnExec(int fd)
{
    const int flags = ::fcntl(fd, F_GETFL);
    const int fdFlags = ::fcntl(fd, F_GETFD);
    return flags >= 0 && fdFlags >= 0 && ::fcntl(fd, F_SETFL, flags | O_NONBLOCK) == 0 && ::fcntl(fd, F_SETFD, fdFlags | FD_CLOEXEC) == 0;
}

}

StopSignalGuard::StopSignalGuard(std::function<void(int signal)> onStop, StopSignalOptions options)
    : m_onStop(std::move(onStop))
    , m_options(options)
{
    if (s_guardInstalled) {
        m_error = QStringLiteral("another stop-signal guard is installed in this process");
        return;
    }
    // Non-blocking: a burst of signals can never block the handler on a full socket. Not inherited
    // by the processes this one starts.
    if (::socketpair(AF_UNIX, SOCK_STREAM, 0, s_socketPair) != 0 || !makeNonBlockingAndCloseOnExec(s_socketPair[0])
        || !makeNonBlockingAndCloseOnExec(s_socketPair[1])) {
        m_error = QStringLiteral("cannot create the socket pair that carries stop signals: %1").arg(QString::fromLocal8Bit(std::strerror(errno)));
        closeSocketPair();
        return;
    }
    m_notifier = std::make_unique<QSocketNotifier>(s_socketPair[0], QSocketNotifier::Read);
    QObject::connect(m_notifier.get(), &QSocketNotifier::activated, m_notifier.get(), [this] {
        char buffer[16];
        int signal = 0;
        for (ssize_t n; (n = ::read(s_socketPair[0], buffer, sizeof buffer)) > 0;)
            signal = buffer[n - 1];
        if (signal == 0)
            return;
        if (m_options.secondSignalEndsAtOnce) {
            if (std::exchange(m_stopped, true))
                return; // a second signal that came before the first was handled: one stop is enough
            struct sigaction defaultAction = {};
            defaultAction.sa_handler = SIG_DFL;
            sigemptyset(&defaultAction.sa_mask);
            for (const HandledSignal& handled : s_handled) {
                if (handled.installed)
                    ::sigaction(handled.number, &defaultAction, nullptr);
            }
        }
        m_onStop(signal);
    });

    struct sigaction action = {};
    action.sa_handler = onStopSignal;
    sigemptyset(&action.sa_mask);
    // SA_RESETHAND: the same signal again ends the process even when the event loop is too busy
    // to have handled the first (the loop sets the others to their default when it gets there).
    action.sa_flags = SA_RESTART | (m_options.secondSignalEndsAtOnce ? SA_RESETHAND : 0);
    for (HandledSignal& handled : s_handled) {
        handled.installed = false;
        if (handled.number == SIGHUP) {
            struct sigaction current = {};
            if (!m_options.hangup || ::sigaction(SIGHUP, nullptr, &current) != 0 || current.sa_handler == SIG_IGN)
                continue;
        }
        // SIGINT is taken even when it is inherited ignored (a shell without job control starts
        // background commands so): a Ctrl-C or `kill -INT` sent to this process asks it to stop.
        handled.installed = ::sigaction(handled.number, &action, &handled.previous) == 0;
    }
    m_installed = s_guardInstalled = true;
}

StopSignalGuard::~StopSignalGuard()
{
    if (!m_installed)
        return;
    for (HandledSignal& handled : s_handled) {
        if (handled.installed)
            ::sigaction(handled.number, &handled.previous, nullptr);
        handled.installed = false;
    }
    m_notifier.reset();
    closeSocketPair();
    s_guardInstalled = false;
}

QString StopSignalGuard::signalName(int signal)
{
    switch (signal) {
    case SIGINT:
        return QStringLiteral("SIGINT");
    case SIGTERM:
        return QStringLiteral("SIGTERM");
    case SIGHUP:
        return QStringLiteral("SIGHUP");
    default:
        return QStringLiteral("signal %1").arg(signal);
    }
}

}
