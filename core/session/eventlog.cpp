#include "core/session/eventlog.h"

#include <algorithm>
#include <new>
#include <type_traits>

namespace deltascope {

namespace {
// Grows by a quarter instead of doubling: the per-kind and seq indexes are most of the index's
// slack at a million events (memory budget), and the extra copies are amortised O(1).
template<typename T>
void appendCompact(std::vector<T>& vector, T value)
{
    if (vector.size() == vector.capacity())
        vector.reserve(vector.capacity() + vector.capacity() / 4 + 256);
    vector.push_back(value);
}
}

EventLog::EventLog(QObject* parent)
    : EventLog(std::make_unique<MemoryPayloadStore>(), parent)
{
}

EventLog::EventLog(std::unique_ptr<PayloadStore> store, QObject* parent)
    : QObject(parent)
    , m_store(std::move(store))
{
    m_notifyTimer.setSingleShot(true);
    m_notifyTimer.setInterval(10);
    connect(&m_notifyTimer, &QTimer::timeout, this, &EventLog::flushNotifications);
}

EventLog::~EventLog() = default;

void EventLog::appendBlock()
{
    // Blocks hold events only from index 0 to m_size - 1, and nothing runs on their destruction.
    static_assert(std::is_trivially_copyable_v<SessionEvent> && std::is_trivially_destructible_v<SessionEvent>);
    std::unique_ptr<SessionEvent[], BlockFree> block(static_cast<SessionEvent*>(std::malloc(std::size_t(kBlockSize) * sizeof(SessionEvent))));
    if (!block)
        throw std::bad_alloc();
    m_blocks.push_back(std::move(block));
}

qint64 EventLog::append(SessionEvent event, QByteArrayView payload)
{
    event.index = m_size;
    event.payload = m_store->append(payload);
    appendCompact(m_byKind[std::size_t(event.kind)], event.index);
    if (event.kind == EventKind::Request && event.requestId >= 0)
        m_requestByid.insert(event.requestId, event.index);
    if (event.kind == EventKind::StreamItem && event.seq >= 0) {
        SeqIndex& index = m_seqIndex[event.epoch];
        if (event.seq <= index.lastSeq)
            index.monotonic = false;
        index.lastSeq = std::max(index.lastSeq, event.seq);
        appendCompact(index.items, quint32(event.index));
    }
    if ((m_size & (kBlockSize - 1)) == 0 && std::size_t(m_size >> kBlockShift) == m_blocks.size())
        appendBlock();
    new (&mutableAt(m_size)) SessionEvent(event);
    ++m_size;
    if (m_pendingFirst < 0) {
        m_pendingFirst = event.index;
        if (!m_notifyTimer.isActive())
            m_notifyTimer.start();
    }
    return event.index;
}

QByteArray EventLog::payload(qint64 index) const
{
    if (index < 0 || index >= size())
        return {};
    return m_store->read(at(index).payload);
}

void EventLog::link(qint64 a, qint64 b)
{
    if (a < 0 || b < 0 || a >= size() || b >= size())
        return;
    mutableAt(a).linkedIndex = b;
    mutableAt(b).linkedIndex = a;
    Q_EMIT eventLinked(a, b);
}

void EventLog::linkSeq(qint64 ack, qint64 streamItem)
{
    if (ack < 0 || streamItem < 0 || ack >= size() || streamItem >= size())
        return;
    m_seqLinks.insert(ack, streamItem);
    m_seqLinks.insert(streamItem, ack);
    Q_EMIT eventLinked(ack, streamItem);
}

qint64 EventLog::seqLink(qint64 index) const
{
    return m_seqLinks.value(index, -1);
}

quint16 EventLog::intern(QStringView text)
{
    if (text.isEmpty())
        return 0;
    const QString key = text.toString();
    const auto it = m_stringIds.constFind(key);
    if (it != m_stringIds.constEnd())
        return it.value();
    if (m_strings.size() >= 0xffff)
        return 0; // table full: further names are not recorded rather than aliased
    const auto id = quint16(m_strings.size());
    m_strings.push_back(key);
    m_stringIds.insert(key, id);
    return id;
}

QString EventLog::string(quint16 id) const
{
    return id < m_strings.size() ? m_strings[id] : QString();
}

const std::vector<qint64>& EventLog::indexesOfKind(EventKind kind) const
{
    return m_byKind[std::size_t(kind)];
}

std::vector<qint64> EventLog::indexesOfKind(EventKind kind, qint64 first, qint64 last) const
{
    const std::vector<qint64>& all = m_byKind[std::size_t(kind)];
    const auto begin = std::lower_bound(all.begin(), all.end(), first);
    const auto end = std::upper_bound(begin, all.end(), last);
    return std::vector<qint64>(begin, end);
}

std::vector<qint64> EventLog::eventsForRequest(qint64 requestId) const
{
    std::vector<qint64> found;
    if (requestId < 0)
        return found;
    for (EventKind kind : { EventKind::Request, EventKind::StreamItem, EventKind::Response, EventKind::StreamDone,
             EventKind::Failure, EventKind::UnknownInbound, EventKind::EpochStarted }) {
        for (qint64 index : m_byKind[std::size_t(kind)]) {
            if (at(index).requestId == requestId)
                found.push_back(index);
        }
    }
    std::sort(found.begin(), found.end());
    return found;
}

qint64 EventLog::requestIndex(qint64 requestId) const
{
    return m_requestByid.value(requestId, -1);
}

qint64 EventLog::streamItemWithSeq(qint64 seq, quint32 epoch) const
{
    const auto it = m_seqIndex.constFind(epoch);
    if (it == m_seqIndex.constEnd())
        return -1;
    const std::vector<quint32>& items = it->items;
    if (it->monotonic) {
        const auto found = std::lower_bound(items.begin(), items.end(), seq,
            [this](quint32 index, qint64 wanted) { return at(index).seq < wanted; });
        return found != items.end() && at(*found).seq == seq ? qint64(*found) : -1;
    }
    for (quint32 index : items) {
        if (at(index).seq == seq)
            return index;
    }
    return -1;
}

qint64 EventLog::firstAtOrAfter(qint64 monotonicNs) const
{
    qint64 low = 0;
    qint64 high = m_size;
    while (low < high) {
        const qint64 middle = low + (high - low) / 2;
        if (at(middle).monotonicNs < monotonicNs)
            low = middle + 1;
        else
            high = middle;
    }
    return low;
}

std::size_t EventLog::indexMemoryBytes() const
{
    std::size_t bytes = m_blocks.size() * std::size_t(kBlockSize) * sizeof(SessionEvent)
        + m_blocks.capacity() * sizeof(std::unique_ptr<SessionEvent[]>);
    for (const auto& indexes : m_byKind)
        bytes += indexes.capacity() * sizeof(qint64);
    for (const SeqIndex& index : m_seqIndex)
        bytes += index.items.capacity() * sizeof(quint32) + sizeof(SeqIndex) + 16;
    // QHash: about one node plus one span slot per entry at the usual load factor.
    bytes += std::size_t(m_requestByid.capacity() + m_seqLinks.capacity()) * 32;
    for (const QString& text : m_strings)
        bytes += sizeof(QString) + std::size_t(text.capacity()) * 2;
    return bytes;
}

void EventLog::setNotifyInterval(int milliseconds)
{
    m_notifyTimer.setInterval(std::max(0, milliseconds));
}

void EventLog::flushNotifications()
{
    m_notifyTimer.stop();
    if (m_pendingFirst < 0)
        return;
    const qint64 first = m_pendingFirst;
    m_pendingFirst = -1;
    if (first < size())
        Q_EMIT eventsAppended(first, size() - 1);
}

void EventLog::clear()
{
    m_notifyTimer.stop();
    m_pendingFirst = -1;
    m_blocks.clear();
    m_size = 0;
    for (auto& indexes : m_byKind)
        indexes.clear();
    m_requestByid.clear();
    m_seqIndex.clear();
    m_seqLinks.clear();
    m_strings.assign(1, QString());
    m_stringIds.clear();
    Q_EMIT cleared();
}

EventTimeRange eventTimeRange(const EventLog& log, qint64 end)
{
    EventTimeRange range { log.at(0).monotonicNs, log.at(0).monotonicNs };
    for (qint64 i = 1; i < end; ++i) {
        range.earliest = std::min(range.earliest, log.at(i).monotonicNs);
        range.latest = std::max(range.latest, log.at(i).monotonicNs);
    }
    return range;
}

}
