#include "core/protocol/reconnectpolicy.h"

#include "core/protocol/errorcodes.h"

#include <QStringList>

#include <cmath>
#include <optional>

namespace deltascope {

RandomSource::RandomSource(quint64 seed)
    : m_seed(seed)
    , m_engine(seed)
{
}

void RandomSource::reseed(quint64 seed)
{
    m_seed = seed;
    m_engine.seed(seed);
}

double RandomSource::next()
{
    return std::generate_canonical<double, 53>(m_engine);
}

RetryDecision ReferenceClientPolicy::socketClosed(RandomSource& random)
{
    // connection.js _retry(): JS setTimeout truncates the fractional delay.
    RetryDecision decision;
    decision.retry = true;
    m_socketBackoff += random.next() * m_socketBackoff;
    bool halve = false;
    if (m_socketBackoff > kMaximumBackoffMs) {
        m_socketBackoff = kMaximumBackoffMs;
        halve = true;
    }
    decision.delayMs = qint64(m_socketBackoff);
    decision.reason = halve ? QStringLiteral("socket backoff capped at 5000 ms (halved for the next attempt)")
                            : QStringLiteral("socket backoff");
    if (halve)
        m_socketBackoff /= 2.0;
    return decision;
}

RetryDecision ReferenceClientPolicy::streamFailed(const StreamFailure& failure, RandomSource& random)
{
    RetryDecision decision;
    if (failure.hasReason && isFatalStreamCode(failure.code)) {
        decision.reason = QStringLiteral("fatal code %1").arg(describeErrorCode(failure.code));
        decision.codeNotRetried = true;
        return decision;
    }
    const bool socketLossPath = failure.hasReason && failure.code == errorcodes::SocketLost;
    if (!socketLossPath) {
        if (++m_blindRetries > kMaxBlindRetries) {
            decision.reason = QStringLiteral("gave up after %1 blind retries in a row").arg(kMaxBlindRetries);
            return decision;
        }
    }
    m_streamBackoff = std::ceil(std::min(m_streamBackoff + random.next() * m_streamBackoff + (socketLossPath ? 1 : 125), 2500.0));
    decision.retry = true;
    if (socketLossPath) {
        decision.delayMs = qint64(std::min(1250.0, m_streamBackoff) + random.next() * 1250);
        decision.reason = QStringLiteral("stream retry after socket loss (999 path)");
    } else {
        decision.delayMs = qint64(m_streamBackoff);
        decision.reason = QStringLiteral("blind stream retry %1 of %2").arg(m_blindRetries).arg(kMaxBlindRetries);
    }
    return decision;
}

void ReferenceClientPolicy::streamItemReceived()
{
    m_streamBackoff = 1;
    m_blindRetries = 0;
}

std::unique_ptr<ReconnectPolicy> ReferenceClientPolicy::clone() const
{
    return std::make_unique<ReferenceClientPolicy>(*this);
}

RetryDecision SimplePolicyBase::socketClosed(RandomSource& random)
{
    RetryDecision decision;
    if (m_maxAttempts > 0 && m_socketAttempts >= m_maxAttempts) {
        decision.reason = QStringLiteral("gave up after %1 socket attempts").arg(m_maxAttempts);
        return decision;
    }
    decision.retry = true;
    decision.delayMs = delayFor(m_socketAttempts++, random);
    decision.reason = QStringLiteral("%1 socket attempt %2").arg(name()).arg(m_socketAttempts);
    return decision;
}

namespace {
// What the fixed, exponential and no-reconnect policies decide from a failure's code alone: a
// fatal code, or one neither the server's flag nor its retry table calls retryable, is never
// retried (so a stream refused that way exits 5 whatever the policy). Empty: the code allows a retry.
std::optional<RetryDecision> decisionByCode(const StreamFailure& failure)
{
    RetryDecision decision;
    decision.codeNotRetried = true;
    if (failure.hasReason && isFatalStreamCode(failure.code)) {
        decision.reason = QStringLiteral("fatal code %1").arg(describeErrorCode(failure.code));
        return decision;
    }
    if (!failure.socketLoss && !failure.retryFlag && !isRetryableCode(failure.code)) {
        decision.reason = QStringLiteral("code %1 is not retryable").arg(describeErrorCode(failure.code));
        return decision;
    }
    return std::nullopt;
}
}

RetryDecision SimplePolicyBase::streamFailed(const StreamFailure& failure, RandomSource& random)
{
    if (const std::optional<RetryDecision> byCode = decisionByCode(failure))
        return *byCode;
    RetryDecision decision;
    if (m_maxAttempts > 0 && m_streamAttempts >= m_maxAttempts) {
        decision.reason = QStringLiteral("gave up after %1 stream attempts").arg(m_maxAttempts);
        return decision;
    }
    decision.retry = true;
    const int attempt = m_streamAttempts++;
    decision.delayMs = failure.socketLoss ? 0 : delayFor(attempt, random);
    decision.reason = failure.socketLoss ? QStringLiteral("new stream after the socket is back")
                                         : QStringLiteral("%1 stream attempt %2").arg(name()).arg(m_streamAttempts);
    return decision;
}

std::unique_ptr<ReconnectPolicy> FixedDelayPolicy::clone() const
{
    return std::make_unique<FixedDelayPolicy>(*this);
}

qint64 ExponentialJitterPolicy::delayFor(int attempt, RandomSource& random) const
{
    const double ceiling = std::min(double(m_capMs), double(m_baseMs) * std::pow(2.0, std::min(attempt, 40)));
    return qint64(random.next() * ceiling);
}

std::unique_ptr<ReconnectPolicy> ExponentialJitterPolicy::clone() const
{
    return std::make_unique<ExponentialJitterPolicy>(*this);
}

RetryDecision NoReconnectPolicy::socketClosed(RandomSource&)
{
    return { false, 0, QStringLiteral("reconnect disabled") };
}

RetryDecision NoReconnectPolicy::streamFailed(const StreamFailure& failure, RandomSource&)
{
    if (const std::optional<RetryDecision> byCode = decisionByCode(failure))
        return *byCode;
    return { false, 0, QStringLiteral("reconnect disabled") };
}

std::unique_ptr<ReconnectPolicy> NoReconnectPolicy::clone() const
{
    return std::make_unique<NoReconnectPolicy>();
}

std::unique_ptr<ReconnectPolicy> makeReconnectPolicy(const QString& spec, QString* error)
{
    const QStringList parts = spec.trimmed().split(QLatin1Char(':'));
    const QString kind = parts.value(0).toLower();
    auto fail = [&](const QString& message) -> std::unique_ptr<ReconnectPolicy> {
        if (error)
            *error = QStringLiteral("reconnect policy '%1': %2").arg(spec, message);
        return nullptr;
    };
    QList<qint64> numbers;
    for (qsizetype i = 1; i < parts.size(); ++i) {
        bool ok = false;
        const qint64 value = parts[i].toLongLong(&ok);
        if (!ok || value < 0)
            return fail(QStringLiteral("'%1' is not a non-negative integer").arg(parts[i]));
        numbers << value;
    }
    if (kind == QLatin1String("reference") || kind == QLatin1String("default")) {
        if (!numbers.isEmpty())
            return fail(QStringLiteral("takes no parameters"));
        return std::make_unique<ReferenceClientPolicy>();
    }
    if (kind == QLatin1String("none")) {
        if (!numbers.isEmpty())
            return fail(QStringLiteral("takes no parameters"));
        return std::make_unique<NoReconnectPolicy>();
    }
    // Delays from 1 ms (0 retried in a busy loop: thousands of connects a second) to a day, and
    // attempts up to a million (0: no limit).
    constexpr qint64 kLongestDelayMs = 86'400'000;
    constexpr qint64 kMostAttempts = 1'000'000;
    const auto delayProblem = [&](qint64 ms, const char* name) {
        return ms < 1 || ms > kLongestDelayMs ? QStringLiteral("%1 must be from 1 to %2 ms, not %3").arg(QLatin1String(name)).arg(kLongestDelayMs).arg(ms) : QString();
    };
    const auto attemptsProblem = [&](qint64 attempts) {
        return attempts > kMostAttempts ? QStringLiteral("MAX_ATTEMPTS must be at most %1 (0: no limit), not %2").arg(kMostAttempts).arg(attempts) : QString();
    };
    if (kind == QLatin1String("fixed")) {
        if (numbers.size() < 1 || numbers.size() > 2)
            return fail(QStringLiteral("expected fixed:DELAY_MS[:MAX_ATTEMPTS]"));
        for (const QString& problem : { delayProblem(numbers[0], "DELAY_MS"), attemptsProblem(numbers.value(1, 0)) }) {
            if (!problem.isEmpty())
                return fail(problem);
        }
        return std::make_unique<FixedDelayPolicy>(numbers[0], int(numbers.value(1, 0)));
    }
    if (kind == QLatin1String("exponential")) {
        if (numbers.size() < 2 || numbers.size() > 3 || numbers[0] == 0 || numbers[1] < numbers[0])
            return fail(QStringLiteral("expected exponential:BASE_MS:CAP_MS[:MAX_ATTEMPTS] with 0 < BASE <= CAP"));
        for (const QString& problem : { delayProblem(numbers[1], "CAP_MS"), attemptsProblem(numbers.value(2, 0)) }) {
            if (!problem.isEmpty())
                return fail(problem);
        }
        return std::make_unique<ExponentialJitterPolicy>(numbers[0], numbers[1], int(numbers.value(2, 0)));
    }
    return fail(QStringLiteral("unknown kind (expected reference, fixed, exponential or none)"));
}

}
