#pragma once

#include "core/capture/capturereader.h"
#include "core/session/livesession.h"

#include <QElapsedTimer>
#include <QObject>
#include <QTimer>

#include <memory>
#include <vector>

namespace deltascope {

// Sends a recorded session again to a live server: once the new stream's first snapshot has
// arrived, the recorded outbound document requests (connection/send, send-once, update) are
// re-issued in order, each after the previous one was answered, or with their original spacing.
// The new session records everything in its own log, beside the capture's; pairs() ties each
// recorded request and response to the new ones, and finished() reports the diff between the
// document the capture ended with and the one the server gives now.
class ReplayAgainst : public QObject
{
    Q_OBJECT
public:
    enum class Timing { InOrder, Original };
    // Why finished(false, ...) came, for the CLI's exit code.
    // StreamFailed: the server refused the stream (a failure that is not retryable, or a fatal
    // code); GaveUp: the client stopped retrying for another reason.
    enum class Failure { None, CouldNotConnect, StreamFailed, GaveUp, TimedOut };
    static constexpr qint64 kConnectTimeoutMs = 10000; // a server that never says hello by then is down
    static constexpr int kWaitForStreamMs = 50; // how often a request looks again for a stream that is down
    struct Pair {
        qint64 recordedRequest = -1; // event index in the capture
        qint64 recordedResponse = -1; // -1 when the capture has none
        qint64 newRequestId = -1;
        qint64 newResponse = -1; // event index in session().log(), -1 while unanswered
        // A send-once is re-issued as documents/create-dedupe, then the send-once itself once the
        // token is back: its answer is the send-once's, not the token's.
        bool sendOnce = false;
        bool awaitingSendOnce = false; // the token is back; the next request sent is the send-once
    };

    ReplayAgainst(const Capture& capture, DocumentTarget target, Timing timing, QObject* parent = nullptr);
    ~ReplayAgainst() override;

    LiveSession& session() { return *m_session; }
    const std::vector<Pair>& pairs() const { return m_pairs; }
    void start(qint64 timeoutMs = 30000);
    // Paths the verdict leaves out (timestamps, counters a live server moves on by itself):
    // '/'-separated segments as in TreeDiff paths, with '*' and '?' wildcards inside a segment; a
    // pattern also covers every path below it ("lines/*/when", "count"). Set before start().
    void setIgnoredPaths(const QStringList& patterns) { m_ignorePatterns = patterns; }
    // The document diff (capture's last tree -> the new session's tree), after finished(), without
    // the ignored paths; those are in ignoredDifferences().
    const TreeDiff& diff() const { return m_diff; }
    const TreeDiff& ignoredDifferences() const { return m_ignored; }
    bool documentsEqual() const { return m_diff.isEmpty(); }
    Failure failure() const { return m_failure; }
    // Whether the new session's stream delivered its first snapshot (else there is nothing to diff).
    bool streamStarted() const { return m_started; }
    const DocumentTree& recordedTree() const { return m_recordedTree; }

Q_SIGNALS:
    void requestReissued(qint64 recordedIndex, qint64 newRequestId);
    void responseReceived(qint64 recordedIndex, qint64 newEventIndex);
    void finished(bool ok, const QString& message);

private:
    void onEvents(qint64 first, qint64 last);
    void sendNext();
    void finish(bool ok, const QString& message);
    void fail(Failure failure, const QString& message);
    void failToConnect(); // no hello by the connect deadline (or the overall timeout)
    void compareDocuments();

    const Capture& m_capture;
    DocumentTarget m_target;
    Timing m_timing;
    std::unique_ptr<LiveSession> m_session;
    std::vector<Pair> m_pairs;
    std::size_t m_next = 0;
    bool m_started = false;
    bool m_done = false;
    qint64 m_recordedBaseNs = 0;
    QElapsedTimer m_clock;
    QTimer m_sendTimer;
    QTimer m_settleTimer;
    QTimer m_timeout;
    QTimer m_connectTimer;
    Failure m_failure = Failure::None;
    DocumentTree m_recordedTree;
    QStringList m_ignorePatterns;
    TreeDiff m_diff;
    TreeDiff m_ignored;
};

}
