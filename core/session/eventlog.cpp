#include "core/session/eventlog.h"

#include <algorithm>

namespace deltascope {

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

qint64 EventLog::append(SessionEvent event, QByteArrayView payload)
{
    event.index = qint64(m_events.size());
    event.payload = m_store->append(payload);
    m_byKind[std::size_t(event.kind)].push_back(event.index);
    if (event.kind == EventKind::Request && event.requestId >= 0)
        m_requestByid.insert(event.requestId, event.index);
    if (event.kind == EventKind::StreamItem && event.seq >= 0) {
        const quint64 key = (quint64(event.epoch) << 40) | (quint64(event.seq) & ((quint64(1) << 40) - 1));
        if (!m_streamItemBySeq.contains(key))
            m_streamItemBySeq.insert(key, event.index);
    }
    m_events.push_back(event);
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
    return m_store->read(m_events[std::size_t(index)].payload);
}

void EventLog::link(qint64 a, qint64 b)
{
    if (a < 0 || b < 0 || a >= size() || b >= size())
        return;
    m_events[std::size_t(a)].linkedIndex = b;
    m_events[std::size_t(b)].linkedIndex = a;
    Q_EMIT eventLinked(a, b);
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

qint64 EventLog::requestIndex(qint64 requestId) const
{
    return m_requestByid.value(requestId, -1);
}

qint64 EventLog::streamItemWithSeq(qint64 seq, quint32 epoch) const
{
    const quint64 key = (quint64(epoch) << 40) | (quint64(seq) & ((quint64(1) << 40) - 1));
    return m_streamItemBySeq.value(key, -1);
}

qint64 EventLog::firstAtOrAfter(qint64 monotonicNs) const
{
    const auto it = std::lower_bound(m_events.begin(), m_events.end(), monotonicNs,
        [](const SessionEvent& event, qint64 time) { return event.monotonicNs < time; });
    return qint64(it - m_events.begin());
}

std::size_t EventLog::indexMemoryBytes() const
{
    std::size_t bytes = m_events.capacity() * sizeof(SessionEvent);
    for (const auto& indexes : m_byKind)
        bytes += indexes.capacity() * sizeof(qint64);
    bytes += std::size_t(m_requestByid.capacity() + m_streamItemBySeq.capacity()) * 32;
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
    m_events.clear();
    for (auto& indexes : m_byKind)
        indexes.clear();
    m_requestByid.clear();
    m_streamItemBySeq.clear();
    m_strings.assign(1, QString());
    m_stringIds.clear();
    Q_EMIT cleared();
}

}
