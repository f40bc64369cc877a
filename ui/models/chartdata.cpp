#include "ui/models/chartdata.h"

#include <algorithm>
#include <cmath>
#include <utility>

namespace deltascope::ui {

ChartData::ChartData(int pointBudget, qint64 initialBucketNs)
    : m_budget(std::max(4, pointBudget))
    , m_bucketNs(std::max<qint64>(1, initialBucketNs))
{
}

void ChartData::clear()
{
    m_buckets.clear();
    m_markers.clear();
    m_lastAnomalyNs = -1;
    m_lastNs = 0;
    m_lastNodeSampleNs = -1;
    m_pendingNodeSampleNs = -1;
    m_lastDeltaNs = -1;
    m_deltaGaps = {};
    m_deltaGapCount = 0;
    m_firstPingOfSocket = false;
}

ChartData::Bucket& ChartData::bucketAt(qint64 monotonicNs)
{
    monotonicNs = std::max<qint64>(0, monotonicNs);
    m_lastNs = std::max(m_lastNs, monotonicNs);
    auto slot = std::size_t(monotonicNs / m_bucketNs);
    while (slot >= std::size_t(m_budget)) {
        mergePairs();
        slot = std::size_t(monotonicNs / m_bucketNs);
    }
    if (slot >= m_buckets.size())
        m_buckets.resize(slot + 1);
    return m_buckets[slot];
}

void ChartData::mergePairs()
{
    std::vector<Bucket> merged((m_buckets.size() + 1) / 2);
    for (std::size_t i = 0; i < m_buckets.size(); ++i) {
        Bucket& to = merged[i / 2];
        const Bucket& from = m_buckets[i];
        to.deltas += from.deltas;
        to.bytesIn += from.bytesIn;
        to.bytesOut += from.bytesOut;
        to.rttSumMs += from.rttSumMs;
        to.rttCount += from.rttCount;
        if (from.nodes >= 0)
            to.nodes = from.nodes; // the later sample wins
    }
    m_buckets = std::move(merged);
    m_bucketNs *= 2;
}

void ChartData::addEvent(const SessionEvent& event, double latencyMs)
{
    Bucket& bucket = bucketAt(event.monotonicNs);
    const double seconds = double(event.monotonicNs) / 1e9;
    if (event.direction == Direction::Inbound)
        bucket.bytesIn += event.payload.size;
    else if (event.direction == Direction::Outbound)
        bucket.bytesOut += event.payload.size;
    switch (event.kind) {
    case EventKind::StreamItem:
        // A delta is an item that carries data: a view-state filter or a bare {"seq":N} changes
        // nothing (as LiveSession::deltasPerSecond counts).
        if (event.parts & PartData) {
            ++bucket.deltas;
            if (m_lastDeltaNs >= 0 && event.monotonicNs >= m_lastDeltaNs) {
                const double gapMs = double(event.monotonicNs - m_lastDeltaNs) / 1e6;
                const int bin = gapMs < 1 ? 0 : std::min(kGapBins - 1, int(std::log2(gapMs) * 4));
                ++m_deltaGaps[std::size_t(bin)];
                ++m_deltaGapCount;
            }
            m_lastDeltaNs = event.monotonicNs;
        }
        break;
    case EventKind::Hello:
        m_firstPingOfSocket = true;
        break;
    case EventKind::Ping:
        // A socket's first ping has no round trip to report yet (the server has had no pong; it
        // sends "0"): no sample, not an instant link.
        if (!std::exchange(m_firstPingOfSocket, false) && latencyMs >= 0) {
            bucket.rttSumMs += latencyMs;
            ++bucket.rttCount;
        }
        break;
    case EventKind::FaultInjected:
        m_markers.push_back({ seconds, Marker::Fault });
        break;
    case EventKind::Disconnected:
        m_markers.push_back({ seconds, Marker::Drop });
        break;
    case EventKind::Failure:
        // The client's own failure for a lost socket is the drop as the client saw it.
        if (event.flags & FlagSynthetic)
            m_markers.push_back({ seconds, Marker::Drop });
        break;
    case EventKind::ReconnectPlanned:
        m_markers.push_back({ seconds, Marker::Reconnect });
        break;
    case EventKind::EpochStarted:
        if (event.epoch > 1)
            m_markers.push_back({ seconds, Marker::Resync });
        break;
    case EventKind::Incident:
        m_markers.push_back({ seconds, Marker::Incident });
        break;
    case EventKind::FoldAnomaly:
        // A stream can carry one in every delta: a marker per bucket keeps them drawable.
        if (m_lastAnomalyNs < 0 || event.monotonicNs / m_bucketNs != m_lastAnomalyNs / m_bucketNs) {
            m_markers.push_back({ seconds, Marker::Anomaly });
            m_lastAnomalyNs = event.monotonicNs;
        }
        break;
    default:
        break;
    }
}

void ChartData::addNodeSample(qint64 monotonicNs, qint64 nodes)
{
    bucketAt(monotonicNs).nodes = nodes;
    m_lastNodeSampleNs = std::max(m_lastNodeSampleNs, monotonicNs);
    if (m_pendingNodeSampleNs <= monotonicNs)
        m_pendingNodeSampleNs = -1;
}

bool ChartData::nodeSampleDue(qint64 monotonicNs)
{
    // Bucket numbers at the current width: a merge since the last sample renumbers both alike.
    if (m_lastNodeSampleNs < 0 || std::max<qint64>(0, monotonicNs) / m_bucketNs != m_lastNodeSampleNs / m_bucketNs)
        return true;
    m_pendingNodeSampleNs = std::max(m_pendingNodeSampleNs, monotonicNs);
    return false;
}

qint64 ChartData::takePendingNodeSample()
{
    return std::exchange(m_pendingNodeSampleNs, -1);
}

double ChartData::endSeconds() const
{
    return double(m_lastNs) / 1e9;
}

qint64 ChartData::rateWindowNs() const
{
    constexpr qint64 kSecond = 1'000'000'000;
    // Too few gaps say nothing of a rate.
    if (m_deltaGapCount < 3)
        return kSecond;
    quint32 seen = 0;
    int median = 0;
    while (median < kGapBins - 1 && (seen += m_deltaGaps[std::size_t(median)]) * 2 < m_deltaGapCount)
        ++median;
    const double gapMs = std::exp2((double(median) + 0.5) / 4); // the bin's middle
    const qint64 seconds = std::clamp<qint64>(qint64(std::ceil(3 * gapMs / 1000 - 1e-9)), 1, 10);
    return seconds * kSecond;
}

template<typename F>
QList<QPointF> ChartData::rate(bool complete, F value) const
{
    QList<QPointF> points;
    std::size_t count = m_buckets.size();
    if (!complete && count > 0)
        --count;
    points.reserve(qsizetype(count));
    const double width = double(m_bucketNs) / 1e9;
    // Per second over the last second at least: per 100 ms bucket, one chat line every two seconds
    // read as 10/s. The window trails each bucket; before the session there was nothing, so a
    // window longer than a second counts only the time since the start (but a second at least).
    const auto buckets = [this](qint64 ns) { return std::size_t(std::max<qint64>(1, (ns + m_bucketNs - 1) / m_bucketNs)); };
    const std::size_t window = buckets(rateWindowNs());
    const std::size_t second = std::min(window, buckets(1'000'000'000));
    double sum = 0;
    for (std::size_t i = 0; i < count; ++i) {
        sum += double(value(m_buckets[i]));
        if (i >= window)
            sum -= double(value(m_buckets[i - window]));
        const std::size_t spanned = std::max(second, std::min(window, i + 1));
        points.append(QPointF((double(i) + 0.5) * width, sum / (double(spanned) * width)));
    }
    return points;
}

QList<QPointF> ChartData::deltasPerSecond(bool complete) const
{
    return rate(complete, [](const Bucket& b) { return b.deltas; });
}

QList<QPointF> ChartData::bytesInPerSecond(bool complete) const
{
    return rate(complete, [](const Bucket& b) { return b.bytesIn; });
}

QList<QPointF> ChartData::bytesOutPerSecond(bool complete) const
{
    return rate(complete, [](const Bucket& b) { return b.bytesOut; });
}

QList<QPointF> ChartData::rttMs() const
{
    QList<QPointF> points;
    const double width = double(m_bucketNs) / 1e9;
    for (std::size_t i = 0; i < m_buckets.size(); ++i) {
        if (m_buckets[i].rttCount > 0)
            points.append(QPointF((double(i) + 0.5) * width, m_buckets[i].rttSumMs / m_buckets[i].rttCount));
    }
    return points;
}

QList<QPointF> ChartData::nodes() const
{
    QList<QPointF> points;
    const double width = double(m_bucketNs) / 1e9;
    for (std::size_t i = 0; i < m_buckets.size(); ++i) {
        if (m_buckets[i].nodes >= 0)
            points.append(QPointF((double(i) + 0.5) * width, double(m_buckets[i].nodes)));
    }
    return points;
}

}
