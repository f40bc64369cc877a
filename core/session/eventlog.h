#pragma once

#include "core/session/payloadstore.h"
#include "core/session/sessionevent.h"

#include <QHash>
#include <QObject>
#include <QTimer>

#include <array>
#include <cstdlib>
#include <memory>
#include <vector>

namespace deltascope {

// The append-only event log of one session: every frame in and out, state change, reconnect
// delay, fold anomaly, fault and incident, with stable indexes. Live sessions and replays feed the
// same log, so nothing downstream can tell them apart. Lives on one thread.
//
// eventsAppended(first, last) fires in batches: at most once per notify interval (default 10 ms),
// after control returns to the event loop, covering every event appended since the last batch.
class EventLog : public QObject
{
    Q_OBJECT
public:
    explicit EventLog(QObject* parent = nullptr); // payloads in memory
    explicit EventLog(std::unique_ptr<PayloadStore> store, QObject* parent = nullptr);
    ~EventLog() override;

    // Appends an event; `event.index` and `event.payload` are filled in here. The caller sets
    // the times (live: from its clock; replay: from the capture). Returns the new index.
    qint64 append(SessionEvent event, QByteArrayView payload);

    qint64 size() const { return m_size; }
    bool isEmpty() const { return m_size == 0; }
    const SessionEvent& at(qint64 index) const
    {
        return m_blocks[std::size_t(index >> kBlockShift)][std::size_t(index & (kBlockSize - 1))];
    }
    QByteArray payload(qint64 index) const;
    const PayloadStore& payloadStore() const { return *m_store; }

    // Links two events both ways (request <-> response; ack <-> the stream item with its seq).
    void link(qint64 a, qint64 b);
    // The second link a send ack has: ack <-> the stream item carrying the seq it returned (the
    // ack's linkedIndex already points at its request). Both ways; emits eventLinked.
    void linkSeq(qint64 ack, qint64 streamItem);
    qint64 seqLink(qint64 index) const; // -1 if none

    // Interned short strings (methods, channels): 0 means none.
    quint16 intern(QStringView text);
    QString string(quint16 id) const;
    QString method(qint64 index) const { return string(at(index).methodString); }

    // Queries.
    const std::vector<qint64>& indexesOfKind(EventKind kind) const;
    // Events of a kind with index in [first, last], in order.
    std::vector<qint64> indexesOfKind(EventKind kind, qint64 first, qint64 last) const;
    qint64 requestIndex(qint64 requestId) const; // the Request event with that id, -1 if none
    // Every frame carrying that request id (request, items, response, failure, unknown), in order.
    std::vector<qint64> eventsForRequest(qint64 requestId) const;
    qint64 streamItemWithSeq(qint64 seq, quint32 epoch) const; // first stream item carrying seq in that epoch, -1 if none
    qint64 firstAtOrAfter(qint64 monotonicNs) const; // binary search over time; size() if none
    // Approximate memory held by the index (not payloads), for the budget benchmark.
    std::size_t indexMemoryBytes() const;

    void setNotifyInterval(int milliseconds);
    // Emits any pending batch now (tests, and before a capture flush).
    void flushNotifications();
    // Drops everything (a new session). Emits cleared().
    void clear();

Q_SIGNALS:
    void eventsAppended(qint64 first, qint64 last);
    void eventLinked(qint64 a, qint64 b);
    void cleared();

private:
    // Events live in fixed blocks: no reallocation spike, no doubling slack (memory budget).
    static constexpr int kBlockShift = 13;
    static constexpr qint64 kBlockSize = qint64(1) << kBlockShift;
    void appendBlock();
    SessionEvent& mutableAt(qint64 index) { return m_blocks[std::size_t(index >> kBlockShift)][std::size_t(index & (kBlockSize - 1))]; }

    std::unique_ptr<PayloadStore> m_store;
    // Blocks are malloc'ed, not value-initialised, and events are constructed as they are
    // appended: a new block writes no defaults (a capture of a few events did write 640 KB of them).
    struct BlockFree {
        void operator()(SessionEvent* block) const { std::free(block); }
    };
    std::vector<std::unique_ptr<SessionEvent[], BlockFree>> m_blocks;
    qint64 m_size = 0;
    std::array<std::vector<qint64>, std::size_t(EventKind::Count_)> m_byKind;
    QHash<qint64, qint64> m_requestByid;
    // Stream items carrying a seq, per epoch, in log order (32-bit indexes: 4 bytes per item).
    // Seqs normally rise within an epoch, so lookups binary-search; an epoch whose seqs went
    // backwards is searched linearly.
    struct SeqIndex {
        std::vector<quint32> items;
        qint64 lastSeq = -1;
        bool monotonic = true;
    };
    QHash<quint32, SeqIndex> m_seqIndex;
    QHash<qint64, qint64> m_seqLinks;
    std::vector<QString> m_strings { QString() };
    QHash<QString, quint16> m_stringIds;
    qint64 m_pendingFirst = -1;
    QTimer m_notifyTimer;
};

// The earliest and latest times of events [0, end). Not the first and last event's: in an edited
// or damaged capture time can go backwards.
struct EventTimeRange {
    qint64 earliest = 0;
    qint64 latest = 0;
    // Unsigned: a file's times may span more than a qint64 holds.
    quint64 span() const { return quint64(latest) - quint64(earliest); }
};
EventTimeRange eventTimeRange(const EventLog& log, qint64 end); // end > 0

}
