#include <catch2/catch.hpp>

#include "core/stopsignalguard.h"
#include "tests/support/testutils.h"

#include <csignal>
#include <vector>

using namespace deltascope;
using namespace std::chrono_literals;

namespace {
// The handler a signal has now.
void (*handlerOf(int signal))(int)
{
    struct sigaction current = {};
    ::sigaction(signal, nullptr, &current);
    return current.sa_handler;
}

// Sets a signal's handler, returning the one it replaced.
void (*setHandler(int signal, void (*handler)(int)))(int)
{
    struct sigaction action = {};
    struct sigaction previous = {};
    action.sa_handler = handler;
    sigemptyset(&action.sa_mask);
    ::sigaction(signal, &action, &previous);
    return previous.sa_handler;
}
}

TEST_CASE("stop signals: SIGTERM and SIGINT raised in the process reach the event loop, and the old handlers come back")
{
    const auto termBefore = handlerOf(SIGTERM);
    const auto intBefore = handlerOf(SIGINT);
    std::vector<int> received;
    {
        StopSignalGuard guard([&received](int signal) { received.push_back(signal); });
        REQUIRE(guard.isInstalled());
        CHECK(guard.errorString().isEmpty());
        ::raise(SIGTERM);
        REQUIRE(test::waitUntil([&] { return received.size() == 1; }, 5s));
        ::raise(SIGINT);
        REQUIRE(test::waitUntil([&] { return received.size() == 2; }, 5s));
        CHECK(received == std::vector<int> { SIGTERM, SIGINT });
        // Without secondSignalEndsAtOnce every signal is a stop (watch keeps writing under a second).
        ::raise(SIGTERM);
        REQUIRE(test::waitUntil([&] { return received.size() == 3; }, 5s));

        StopSignalGuard second([](int) {});
        CHECK_FALSE(second.isInstalled());
        CHECK(second.errorString().contains(QStringLiteral("another")));
    }
    CHECK(handlerOf(SIGTERM) == termBefore);
    CHECK(handlerOf(SIGINT) == intBefore);
}

TEST_CASE("stop signals: with secondSignalEndsAtOnce one stop is made, then every stop signal takes its default action")
{
    const auto hupBefore = setHandler(SIGHUP, SIG_DFL);
    std::vector<int> received;
    {
        StopSignalGuard guard([&received](int signal) { received.push_back(signal); }, { .hangup = true, .secondSignalEndsAtOnce = true });
        REQUIRE(guard.isInstalled());
        CHECK(handlerOf(SIGHUP) != SIG_DFL);
        ::raise(SIGHUP);
        REQUIRE(test::waitUntil([&] { return !received.empty(); }, 5s));
        CHECK(received == std::vector<int> { SIGHUP });
        // A second signal now would end the process: not raised here, only looked at.
        for (const int signal : { SIGINT, SIGTERM, SIGHUP })
            CHECK(handlerOf(signal) == SIG_DFL);
    }
    setHandler(SIGHUP, hupBefore);
}

TEST_CASE("stop signals: SIGHUP ignored before (nohup) stays ignored, SIGINT ignored before (a background job) is taken")
{
    const auto hupBefore = setHandler(SIGHUP, SIG_IGN);
    const auto intBefore = setHandler(SIGINT, SIG_IGN);
    {
        StopSignalGuard guard([](int) {}, { .hangup = true });
        REQUIRE(guard.isInstalled());
        CHECK(handlerOf(SIGHUP) == SIG_IGN);
        CHECK(handlerOf(SIGINT) != SIG_IGN);
    }
    CHECK(handlerOf(SIGINT) == SIG_IGN);
    setHandler(SIGHUP, hupBefore);
    setHandler(SIGINT, intBefore);
}

TEST_CASE("stop signals: the names said in messages")
{
    CHECK(StopSignalGuard::signalName(SIGINT) == QStringLiteral("SIGINT"));
    CHECK(StopSignalGuard::signalName(SIGTERM) == QStringLiteral("SIGTERM"));
    CHECK(StopSignalGuard::signalName(SIGHUP) == QStringLiteral("SIGHUP"));
}
