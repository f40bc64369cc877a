#include "ui/models/payloadsearch.h"

#include "core/session/eventlog.h"

#include <algorithm>

namespace deltascope::ui {

PayloadSearch::PayloadSearch(QObject* parent)
    : QObject(parent)
{
    m_timer.setInterval(0);
    connect(&m_timer, &QTimer::timeout, this, &PayloadSearch::runSlice);
}

void PayloadSearch::setEventLog(EventLog* log)
{
    if (m_log)
        disconnect(m_log, nullptr, this, nullptr);
    m_log = log;
    if (m_log) {
        connect(m_log, &EventLog::eventsAppended, this, &PayloadSearch::onAppended);
        connect(m_log, &EventLog::cleared, this, [this] { setPattern(m_regex.pattern(), !(m_regex.patternOptions() & QRegularExpression::CaseInsensitiveOption)); });
    }
    setPattern(m_regex.pattern(), !(m_regex.patternOptions() & QRegularExpression::CaseInsensitiveOption));
}

QString PayloadSearch::setPattern(const QString& pattern, bool caseSensitive)
{
    m_timer.stop();
    m_flags.clear();
    m_matches.clear();
    m_next = 0;
    QRegularExpression regex(pattern, caseSensitive ? QRegularExpression::NoPatternOption : QRegularExpression::CaseInsensitiveOption);
    if (!pattern.isEmpty() && !regex.isValid()) {
        m_regex = QRegularExpression();
        const QString reason = tr("the pattern is not a valid regular expression: %1 at character %2")
                                   .arg(regex.errorString())
                                   .arg(regex.patternErrorOffset());
        Q_EMIT reset();
        Q_EMIT failed(reason);
        return reason;
    }
    m_regex = regex;
    if (!pattern.isEmpty())
        m_regex.optimize();
    Q_EMIT reset();
    if (isActive() && m_log && m_log->size() > 0)
        m_timer.start();
    else if (isActive())
        Q_EMIT finished(0);
    return {};
}

void PayloadSearch::onAppended()
{
    if (isActive() && !m_timer.isActive())
        m_timer.start();
}

void PayloadSearch::searchRange(qint64 end)
{
    m_flags.resize(std::size_t(end), false);
    for (; m_next < end; ++m_next) {
        const QByteArray payload = m_log->payload(m_next);
        if (m_regex.match(QString::fromUtf8(payload)).hasMatch()) {
            m_flags[std::size_t(m_next)] = true;
            m_matches.push_back(m_next);
        }
    }
}

void PayloadSearch::runSlice()
{
    if (!m_log || !isActive()) {
        m_timer.stop();
        return;
    }
    const qint64 total = m_log->size();
    const qint64 first = m_next;
    m_flags.resize(std::size_t(total), false);
    QElapsedTimer clock;
    clock.start();
    // Check the clock every 256 events: cheap enough, and keeps a slice close to its budget.
    // At least one chunk per slice, so a zero budget still makes progress.
    do
        searchRange(std::min(total, m_next + 256));
    while (m_next < total && clock.elapsed() < m_sliceMs);
    if (m_next > first)
        Q_EMIT matchesAdded(first, m_next - 1);
    Q_EMIT progress(m_next, total);
    if (m_next >= total) {
        m_timer.stop();
        Q_EMIT finished(qint64(m_matches.size()));
    }
}

void PayloadSearch::finishNow()
{
    while (m_timer.isActive())
        runSlice();
}

qint64 PayloadSearch::nextMatch(qint64 after) const
{
    const auto it = std::upper_bound(m_matches.begin(), m_matches.end(), after);
    return it == m_matches.end() ? -1 : *it;
}

qint64 PayloadSearch::previousMatch(qint64 before) const
{
    const auto it = std::lower_bound(m_matches.begin(), m_matches.end(), before);
    return it == m_matches.begin() ? -1 : *(it - 1);
}

}
