#include "core/capture/replayagainst.h"

#include "core/capture/capturecheckpoints.h"
#include "core/protocol/errorcodes.h"

#include <QRegularExpression>

#include <simdjson.h>

#include <algorithm>

namespace deltascope {

namespace {

struct RecordedRequest {
    QString method;
    QString channel;
    QByteArray message; // raw JSON text
    QByteArray viewerState; // raw JSON text
};

bool parseRecordedRequest(const QByteArray& payload, RecordedRequest& out)
{
    simdjson::ondemand::parser parser;
    simdjson::padded_string padded(payload.constData(), std::size_t(payload.size()));
    simdjson::ondemand::document document;
    simdjson::ondemand::object object;
    if (parser.iterate(padded).get(document) || document.get_object().get(object))
        return false;
    for (auto field : object) {
        std::string_view key;
        if (field.unescaped_key().get(key))
            return false;
        simdjson::ondemand::value value;
        if (field.value().get(value))
            return false;
        if (key == "method" || key == "channel") {
            std::string_view text;
            if (value.get_string().get(text))
                return false;
            (key == "method" ? out.method : out.channel) = QString::fromUtf8(text.data(), qsizetype(text.size()));
        } else if (key == "message" || key == "viewer-state") {
            simdjson::ondemand::json_type type;
            if (value.type().get(type))
                return false;
            std::string_view raw;
            if (type == simdjson::ondemand::json_type::object) {
                simdjson::ondemand::object inner;
                if (value.get_object().get(inner) || inner.raw_json().get(raw))
                    return false;
            } else if (type == simdjson::ondemand::json_type::array) {
                simdjson::ondemand::array inner;
                if (value.get_array().get(inner) || inner.raw_json().get(raw))
                    return false;
            } else {
                raw = value.raw_json_token();
            }
            (key == "message" ? out.message : out.viewerState) = QByteArray(raw.data(), qsizetype(raw.size())).trimmed();
        }
    }
    return true;
}

bool isReissued(const QString& method)
{
    return method == QLatin1String("connection/send") || method == QLatin1String("connection/send-once")
        || method == QLatin1String("connection/update");
}

}

ReplayAgainst::ReplayAgainst(const Capture& capture, DocumentTarget target, Timing timing, QObject* parent)
    : QObject(parent)
    , m_capture(capture)
    , m_target(std::move(target))
    , m_timing(timing)
    , m_session(std::make_unique<LiveSession>())
{
    const EventLog& log = *capture.log;
    qint64 firstSnapshotNs = -1;
    for (qint64 i = 0; i < log.size(); ++i) {
        const SessionEvent& event = log.at(i);
        if (firstSnapshotNs < 0 && event.kind == EventKind::StreamItem && (event.parts & PartData))
            firstSnapshotNs = event.monotonicNs;
    }
    m_recordedBaseNs = std::max<qint64>(0, firstSnapshotNs);
    for (const qint64 index : log.indexesOfKind(EventKind::Request)) {
        RecordedRequest request;
        if (!parseRecordedRequest(log.payload(index), request) || !isReissued(request.method))
            continue;
        Pair pair;
        pair.recordedRequest = index;
        const qint64 linked = log.at(index).linkedIndex;
        pair.recordedResponse = linked > index ? linked : -1;
        m_pairs.push_back(pair);
    }
    if (capture.checkpoints && log.size() > 0) {
        SessionFolder folder;
        capture.checkpoints->restore(folder, log.size() - 1);
        m_recordedTree = folder.epochTree();
    }
    m_sendTimer.setSingleShot(true);
    connect(&m_sendTimer, &QTimer::timeout, this, &ReplayAgainst::sendNext);
    m_settleTimer.setSingleShot(true);
    m_settleTimer.setInterval(500);
    connect(&m_settleTimer, &QTimer::timeout, this, [this] {
        compareDocuments();
        qint64 unanswered = 0;
        for (const Pair& pair : m_pairs)
            unanswered += pair.newResponse < 0 ? 1 : 0;
        const qsizetype ignored = m_ignored.added.size() + m_ignored.removed.size() + m_ignored.changed.size() + qsizetype(m_ignored.moved.size());
        finish(true, QStringLiteral("%1 requests re-issued, %2 unanswered; documents %3%4")
                         .arg(m_pairs.size())
                         .arg(unanswered)
                         .arg(m_diff.isEmpty() ? QStringLiteral("are equal") : QStringLiteral("differ"))
                         .arg(ignored ? QStringLiteral(" (%1 %2 at ignored paths)").arg(ignored).arg(ignored == 1 ? QStringLiteral("difference") : QStringLiteral("differences"))
                                      : QString()));
    });
    m_timeout.setSingleShot(true);
    connect(&m_timeout, &QTimer::timeout, this, [this] {
        if (!m_session->client().helloEverReceived()) {
            failToConnect(); // the same verdict as the connect deadline's
            return;
        }
        compareDocuments();
        fail(Failure::TimedOut, QStringLiteral("timed out after re-issuing %1 of %2 requests").arg(m_next).arg(m_pairs.size()));
    });
    // A server that is down, or a path that is no Adama endpoint, is reported as such, not after
    // the whole timeout as an empty document that differs.
    m_connectTimer.setSingleShot(true);
    connect(&m_connectTimer, &QTimer::timeout, this, [this] {
        if (!m_session->client().helloEverReceived())
            failToConnect();
    });
    connect(m_session.get(), &LiveSession::stateChanged, this, [this](ConnectionState state, ConnectionState, const QString& reason) {
        if (state != ConnectionState::Failed)
            return;
        const ProtocolClient& client = m_session->client();
        if (!client.helloEverReceived())
            fail(Failure::CouldNotConnect, QStringLiteral("could not connect to %1: %2").arg(m_target.url.toString(QUrl::RemoveUserInfo), reason));
        else if (client.gaveUpOnCode())
            fail(Failure::StreamFailed, QStringLiteral("the new session failed: %1").arg(reason));
        else
            fail(Failure::GaveUp, QStringLiteral("the new session gave up: %1").arg(reason));
    });
    connect(&m_session->log(), &EventLog::eventsAppended, this, &ReplayAgainst::onEvents);
}

ReplayAgainst::~ReplayAgainst() = default;

void ReplayAgainst::start(qint64 timeoutMs)
{
    QString error;
    m_timeout.start(int(std::min<qint64>(timeoutMs, INT32_MAX)));
    m_connectTimer.start(int(std::min(kConnectTimeoutMs, timeoutMs)));
    if (!m_session->start(m_target, &error))
        fail(Failure::CouldNotConnect, error);
}

void ReplayAgainst::onEvents(qint64 first, qint64 last)
{
    const EventLog& log = m_session->log();
    for (qint64 i = first; i <= last; ++i) {
        const SessionEvent& event = log.at(i);
        if (!m_started && event.kind == EventKind::Failure && !(event.flags & (FlagSynthetic | FlagRetryable)) && !isRetryableCode(event.code)) {
            // Nothing but the stream's connection/create is sent before its first snapshot: the
            // server refused the document (a space it does not have, an identity it forbids).
            // Retrying it would only repeat that until the timeout. A retryable code (a document
            // still loading, a redeploy) is left to the client's retry.
            fail(Failure::StreamFailed, QStringLiteral("the server failed the new stream's connection/create with %1").arg(describeErrorCode(event.code)));
            return;
        }
        // The stream's first item with a seq or data starts it, data or not (an empty document's
        // snapshot may hold none, adama-wire.md 5); a view-state-filter before it does not.
        if (!m_started
            && (m_session->folder().epochHasData() || (event.kind == EventKind::StreamItem && (event.parts & (PartData | PartSeq))))) {
            m_started = true;
            m_clock.start();
            m_sendTimer.start(0);
        }
        if (event.kind == EventKind::Request && event.direction == Direction::Outbound) {
            // The send-once a dedupe token was asked for goes out right after the token's answer.
            for (std::size_t p = 0; p < m_next && p < m_pairs.size(); ++p) {
                Pair& pair = m_pairs[p];
                if (pair.awaitingSendOnce) {
                    pair.awaitingSendOnce = false;
                    pair.newRequestId = event.requestId;
                    break;
                }
            }
        }
        if (event.kind == EventKind::Response || event.kind == EventKind::Failure) {
            for (std::size_t p = 0; p < m_next && p < m_pairs.size(); ++p) {
                Pair& pair = m_pairs[p];
                if (pair.sendOnce && pair.newRequestId == event.requestId && pair.newResponse < 0 && event.kind == EventKind::Response) {
                    // The token's answer: the send-once itself is sent now and answers for the pair.
                    pair.sendOnce = false;
                    pair.awaitingSendOnce = true;
                    pair.newRequestId = -2; // no request of this session has it
                    continue;
                }
                if (pair.newRequestId == event.requestId && pair.newResponse < 0) {
                    pair.newResponse = i;
                    Q_EMIT responseReceived(pair.recordedRequest, i);
                    if (m_timing == Timing::InOrder && p + 1 == m_next)
                        m_sendTimer.start(0);
                }
            }
        }
    }
    if (m_started && m_next >= m_pairs.size() && !m_settleTimer.isActive() && !m_done) {
        bool allAnswered = true;
        for (const Pair& pair : m_pairs)
            allAnswered = allAnswered && pair.newResponse >= 0;
        if (allAnswered)
            m_settleTimer.start();
    }
}

void ReplayAgainst::sendNext()
{
    if (m_done)
        return;
    if (m_next >= m_pairs.size()) {
        if (m_pairs.empty() && !m_settleTimer.isActive())
            m_settleTimer.start();
        return;
    }
    Pair& pair = m_pairs[m_next];
    if (m_timing == Timing::Original) {
        const qint64 due = (m_capture.log->at(pair.recordedRequest).monotonicNs - m_recordedBaseNs) / 1000000;
        const qint64 now = m_clock.elapsed();
        if (due > now) {
            m_sendTimer.start(int(std::min<qint64>(due - now, INT32_MAX)));
            return;
        }
    }
    if (m_session->state() == ConnectionState::Closed) {
        // The server ended the new stream (done): nothing more can be re-issued on it.
        fail(Failure::GaveUp, QStringLiteral("the new session's stream ended after %1 of %2 requests were re-issued").arg(m_next).arg(m_pairs.size()));
        return;
    }
    if (m_session->state() != ConnectionState::Streaming) {
        // The stream is down (a dropped socket, a retry under way): the request waits for it
        // rather than failing locally, or, for an update, going nowhere with no answer to wait
        // for. The replay's timeout bounds a stream that never comes back.
        m_sendTimer.start(kWaitForStreamMs);
        return;
    }
    RecordedRequest request;
    parseRecordedRequest(m_capture.log->payload(pair.recordedRequest), request);
    if (request.method == QLatin1String("connection/update"))
        pair.newRequestId = m_session->updateViewerState(request.viewerState);
    else if (request.method == QLatin1String("connection/send-once")) {
        pair.newRequestId = m_session->sendOnce(request.channel, request.message);
        pair.sendOnce = true;
    }
    else
        pair.newRequestId = m_session->send(request.channel, request.message);
    Q_EMIT requestReissued(pair.recordedRequest, pair.newRequestId);
    ++m_next;
    // A request the client refused (e.g. not connected) gets no answer: go on with the next.
    if (m_timing == Timing::Original || pair.newRequestId < 0)
        m_sendTimer.start(0);
}

namespace {

// Whether `path` is `pattern` or lies below it; segments compare as wildcards ('*', '?').
bool pathUnderPattern(QStringView path, const std::vector<QRegularExpression>& pattern)
{
    std::size_t k = 0;
    for (QStringView segment : path.split(QLatin1Char('/'))) {
        if (k == pattern.size())
            return true;
        if (!pattern[k++].match(segment).hasMatch())
            return false;
    }
    return k == pattern.size();
}

}

void ReplayAgainst::compareDocuments()
{
    const TreeDiff all = diffTrees(m_recordedTree, m_session->folder().epochTree());
    std::vector<std::vector<QRegularExpression>> patterns;
    for (const QString& pattern : m_ignorePatterns) {
        std::vector<QRegularExpression> segments;
        for (QStringView segment : QStringView(pattern).split(QLatin1Char('/'), Qt::SkipEmptyParts))
            segments.emplace_back(QRegularExpression::wildcardToRegularExpression(segment));
        if (!segments.empty())
            patterns.push_back(std::move(segments));
    }
    const auto ignored = [&](QStringView path) {
        return std::any_of(patterns.begin(), patterns.end(), [&](const auto& pattern) { return pathUnderPattern(path, pattern); });
    };
    m_diff = {};
    m_ignored = {};
    const auto split = [&](const QStringList& paths, QStringList TreeDiff::*list) {
        for (const QString& path : paths)
            ((ignored(path) ? m_ignored : m_diff).*list).append(path);
    };
    split(all.added, &TreeDiff::added);
    split(all.removed, &TreeDiff::removed);
    split(all.changed, &TreeDiff::changed);
    for (const TreeDiff::Move& move : all.moved)
        (ignored(QString(move.listPath + QLatin1Char('/') + move.elementKey)) ? m_ignored : m_diff).moved.push_back(move);
}

void ReplayAgainst::failToConnect()
{
    fail(Failure::CouldNotConnect, QStringLiteral("could not connect to %1 within %2 ms (last attempt: %3)")
                                       .arg(m_target.url.toString(QUrl::RemoveUserInfo))
                                       .arg(m_connectTimer.interval())
                                       .arg(m_session->client().lastConnectAttempt()));
}

void ReplayAgainst::fail(Failure failure, const QString& message)
{
    if (m_done)
        return;
    m_failure = failure;
    finish(false, message);
}

void ReplayAgainst::finish(bool ok, const QString& message)
{
    if (m_done)
        return;
    m_done = true;
    m_sendTimer.stop();
    m_settleTimer.stop();
    m_timeout.stop();
    m_connectTimer.stop();
    Q_EMIT finished(ok, message);
}

}
