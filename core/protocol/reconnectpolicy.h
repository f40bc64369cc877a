#pragma once

#include <QString>

#include <memory>
#include <random>

namespace deltascope {

// The random numbers behind backoff jitter. Seeded, so a test or a fault plan repeats exactly.
class RandomSource
{
public:
    explicit RandomSource(quint64 seed = 0x5eed);
    void reseed(quint64 seed);
    quint64 seed() const { return m_seed; }
    double next(); // uniform in [0, 1), like Math.random()

private:
    quint64 m_seed;
    std::mt19937_64 m_engine;
};

// What a policy decided: retry after delayMs, or give up for `reason`.
struct RetryDecision {
    bool retry = false;
    qint64 delayMs = 0;
    QString reason; // why it gives up, or what the delay is made of (for the timeline)
    // Gives up because of the failure's code (fatal, or one the policy never retries), not
    // because retries ran out.
    bool codeNotRetried = false;
};

// A failure of the document stream, as the stream layer sees it.
struct StreamFailure {
    int code = 0;
    bool hasReason = false; // false for the synthetic socket-loss failure (it carries no reason)
    bool socketLoss = false; // made locally because the socket went away
    bool retryFlag = false; // the server's "retry" flag
};

// Two layers, as in the reference client (adama-wire.md 7.1 and 7.2): the socket layer plans when
// to reopen the socket; the stream layer plans when to send a brand-new connection/create after
// the stream failed (the create waits for the socket's hello if the socket is still down).
class ReconnectPolicy
{
public:
    virtual ~ReconnectPolicy() = default;
    virtual QString name() const = 0;
    virtual RetryDecision socketClosed(RandomSource& random) = 0;
    virtual void statusNotConnected() { } // a hello with a status other than "connected"
    virtual void socketConnected() { } // a hello "connected"
    virtual RetryDecision streamFailed(const StreamFailure& failure, RandomSource& random) = 0;
    virtual void streamItemReceived() { }
    virtual std::unique_ptr<ReconnectPolicy> clone() const = 0;
};

// The reference JS client (connection.js + rxhtml.js), quirks included:
//  socket: backoff from 1 ms grows by a random factor x1..x2 per attempt; over 5000 ms it is
//    clamped to 5000 for that attempt and halved for the next; a non-"connected" status sets it to
//    1000 ms first; a "connected" hello resets it to 1 ms;
//  stream: give up on 403403, 403500, 184333 (and legacy 982253); a failure with reason 999 takes
//    the "socket loss" path (delay min(1250,b) + random*1250); anything else, including the
//    synthetic socket-loss failure (whose reason reaches RxHTML as undefined), is retried blindly
//    at most 16 times in a row with b = ceil(min(b + random*b + 125, 2500)) ms; a stream item
//    resets the counter and b.
class ReferenceClientPolicy final : public ReconnectPolicy
{
public:
    static constexpr double kMaximumBackoffMs = 5000;
    static constexpr double kResetBackoffMs = 1000;
    static constexpr int kMaxBlindRetries = 16;

    QString name() const override { return QStringLiteral("reference"); }
    RetryDecision socketClosed(RandomSource& random) override;
    void statusNotConnected() override { m_socketBackoff = kResetBackoffMs; }
    void socketConnected() override { m_socketBackoff = 1; }
    RetryDecision streamFailed(const StreamFailure& failure, RandomSource& random) override;
    void streamItemReceived() override;
    std::unique_ptr<ReconnectPolicy> clone() const override;

    double socketBackoff() const { return m_socketBackoff; }
    int blindRetries() const { return m_blindRetries; }

private:
    double m_socketBackoff = 1;
    double m_streamBackoff = 1;
    int m_blindRetries = 0;
};

// Shared rules of the simpler policies' stream layer: give up on the fatal codes and on codes
// neither flagged nor listed as retryable; retry socket loss at once (the new create waits for
// the next hello) and retryable codes after the layer's delay.
class SimplePolicyBase : public ReconnectPolicy
{
public:
    explicit SimplePolicyBase(int maxAttempts)
        : m_maxAttempts(maxAttempts)
    {
    }
    RetryDecision socketClosed(RandomSource& random) override;
    void socketConnected() override { m_socketAttempts = 0; }
    RetryDecision streamFailed(const StreamFailure& failure, RandomSource& random) override;
    void streamItemReceived() override { m_streamAttempts = 0; }

protected:
    virtual qint64 delayFor(int attempt, RandomSource& random) const = 0;
    int m_maxAttempts; // 0: unlimited
    int m_socketAttempts = 0;
    int m_streamAttempts = 0;
};

class FixedDelayPolicy final : public SimplePolicyBase
{
public:
    explicit FixedDelayPolicy(qint64 delayMs, int maxAttempts = 0)
        : SimplePolicyBase(maxAttempts)
        , m_delayMs(delayMs)
    {
    }
    QString name() const override { return QStringLiteral("fixed:%1").arg(m_delayMs); }
    std::unique_ptr<ReconnectPolicy> clone() const override;

private:
    qint64 delayFor(int, RandomSource&) const override { return m_delayMs; }
    qint64 m_delayMs;
};

// Exponential backoff with full jitter: delay = random * min(cap, base * 2^attempt).
class ExponentialJitterPolicy final : public SimplePolicyBase
{
public:
    ExponentialJitterPolicy(qint64 baseMs, qint64 capMs, int maxAttempts = 0)
        : SimplePolicyBase(maxAttempts)
        , m_baseMs(baseMs)
        , m_capMs(capMs)
    {
    }
    QString name() const override { return QStringLiteral("exponential:%1:%2").arg(m_baseMs).arg(m_capMs); }
    std::unique_ptr<ReconnectPolicy> clone() const override;

private:
    qint64 delayFor(int attempt, RandomSource& random) const override;
    qint64 m_baseMs;
    qint64 m_capMs;
};

class NoReconnectPolicy final : public ReconnectPolicy
{
public:
    QString name() const override { return QStringLiteral("none"); }
    RetryDecision socketClosed(RandomSource&) override;
    RetryDecision streamFailed(const StreamFailure& failure, RandomSource&) override;
    std::unique_ptr<ReconnectPolicy> clone() const override;
};

// Parses "reference", "fixed:MS[:MAX]", "exponential:BASE:CAP[:MAX]" or "none". On error returns
// null and says what was wrong.
std::unique_ptr<ReconnectPolicy> makeReconnectPolicy(const QString& spec, QString* error = nullptr);

}
