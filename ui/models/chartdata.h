#pragma once

#include "core/session/sessionevent.h"

#include <QList>
#include <QPointF>

#include <array>
#include <vector>

namespace deltascope::ui {

// The maths behind the charts strip, with no widgets so it is tested headless: events are counted
// into time buckets; when the bucket count exceeds the point budget, neighbouring buckets merge and
// the width doubles, so memory and points stay fixed however long the session runs.
struct ChartData {
    enum class Marker : quint8 { Fault, Drop, Reconnect, Resync, Incident, Anomaly };
    struct MarkerPoint {
        double seconds;
        Marker kind;
    };
    struct Bucket {
        quint32 deltas = 0; // stream items that carry data (a document delta)
        quint64 bytesIn = 0;
        quint64 bytesOut = 0;
        double rttSumMs = 0;
        quint32 rttCount = 0;
        qint64 nodes = -1; // last sample in the bucket, -1 if none
    };

    explicit ChartData(int pointBudget = 400, qint64 initialBucketNs = 100'000'000);

    // One event; latencyMs is the RTT a ping reported (or -1).
    void addEvent(const SessionEvent& event, double latencyMs = -1);
    void addNodeSample(qint64 monotonicNs, qint64 nodes);
    // For a live document whose size is costly to count: whether a change at monotonicNs should be
    // counted now, because its bucket has no sample yet. Otherwise the change is remembered, and
    // takePendingNodeSample() gives its time (or -1), to be counted when the charts are next drawn
    // or the next bucket starts (a bucket keeps its last sample).
    bool nodeSampleDue(qint64 monotonicNs);
    qint64 takePendingNodeSample();
    void clear();

    qint64 bucketNs() const { return m_bucketNs; }
    int bucketCount() const { return int(m_buckets.size()); }
    double endSeconds() const; // time of the last event seen
    const std::vector<MarkerPoint>& markers() const { return m_markers; }

    // Series as (seconds since session start, value) at bucket centres. Rates are per second over
    // rateWindowNs() up to each bucket (buckets narrower than a second would overstate a slow
    // stream) and leave out the bucket still filling (it would read low), unless `complete` is set
    // (a finished capture).
    QList<QPointF> deltasPerSecond(bool complete = false) const;
    QList<QPointF> bytesInPerSecond(bool complete = false) const;
    QList<QPointF> bytesOutPerSecond(bool complete = false) const;
    QList<QPointF> rttMs() const;
    QList<QPointF> nodes() const;

    int pointBudget() const { return m_budget; }
    // The window the rates average over: a whole number of seconds, 1 s unless deltas come slower
    // than one every 1/3 s (by the median gap between them), then about three gaps, at most 10 s.
    // Over 1 s, a chat's one line every 2 s read as 1/s and 0/s in turn, a comb, not 0.5/s.
    qint64 rateWindowNs() const;

private:
    Bucket& bucketAt(qint64 monotonicNs);
    void mergePairs();
    template<typename F>
    QList<QPointF> rate(bool complete, F value) const;

    int m_budget;
    qint64 m_bucketNs;
    std::vector<Bucket> m_buckets;
    std::vector<MarkerPoint> m_markers;
    qint64 m_lastAnomalyNs = -1; // anomalies: one marker per bucket, however many a delta stream has
    qint64 m_lastNs = 0;
    qint64 m_lastNodeSampleNs = -1;
    qint64 m_pendingNodeSampleNs = -1;
    // The gaps between deltas, by size: bin b holds gaps of 2^(b/4) to 2^((b+1)/4) ms (four bins
    // an octave), so a median is found in fixed memory.
    static constexpr int kGapBins = 4 * 22; // up to about 70 minutes
    bool m_firstPingOfSocket = false; // a hello came and no ping since: the next one's latency is no measurement
    qint64 m_lastDeltaNs = -1;
    std::array<quint32, kGapBins> m_deltaGaps {};
    quint32 m_deltaGapCount = 0;
};

}
