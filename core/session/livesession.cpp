#include "core/session/livesession.h"

#include "core/protocol/websockettransport.h"

#include <QJsonDocument>
#include <QJsonObject>

namespace deltascope {

namespace {
quint64 seqKey(quint32 epoch, qint64 seq)
{
    return (quint64(epoch) << 40) | (quint64(seq) & ((quint64(1) << 40) - 1));
}
}

LiveSession::LiveSession(QObject* parent)
    : LiveSession(std::make_unique<QWebSocketTransport>(), nullptr, parent)
{
}

LiveSession::LiveSession(std::unique_ptr<Transport> transport, Clock* clock, QObject* parent, std::unique_ptr<PayloadStore> payloads)
    : QObject(parent)
    , m_ownedClock(clock ? nullptr : std::make_unique<SystemClock>())
    , m_clock(clock ? clock : m_ownedClock.get())
    , m_transport(transport ? std::move(transport) : std::make_unique<QWebSocketTransport>())
    , m_log(std::make_unique<EventLog>(payloads ? std::move(payloads) : std::make_unique<SpillingPayloadStore>()))
    , m_client(std::make_unique<ProtocolClient>(m_transport.get(), m_clock))
{
    connect(m_client.get(), &ProtocolClient::clientEvent, this, &LiveSession::record);
    connect(m_client.get(), &ProtocolClient::stateChanged, this, &LiveSession::stateChanged);
    connect(m_client.get(), &ProtocolClient::epochStarted, this, [this](quint32 epoch, qint64) { Q_EMIT epochChanged(epoch); });
    connect(m_client.get(), &ProtocolClient::lastSeqChanged, this, &LiveSession::lastSeqChanged);
    connect(m_client.get(), &ProtocolClient::rttChanged, this, &LiveSession::rttChanged);
    connect(m_client.get(), &ProtocolClient::helloReceived, this, &LiveSession::helloVersionChanged);
    connect(m_client.get(), &ProtocolClient::dedupeTokenReceived, this, [this](qint64 id, const QString& token) {
        m_dedupeRequest = id;
        m_dedupeToken = token;
        Q_EMIT dedupeTokenReceived(id, token);
    });
    connect(&m_folder, &SessionFolder::anomalyFound, this, &LiveSession::onAnomaly);
    connect(&m_folder, &SessionFolder::resyncCompared, this, &LiveSession::resyncCompared);
}

LiveSession::~LiveSession()
{
    // The client goes first: it must not emit into a half-destroyed session.
    m_client->disconnect(this);
    m_client.reset();
}

bool LiveSession::start(const DocumentTarget& target, QString* error)
{
    if (m_rateOriginNs < 0)
        m_rateOriginNs = m_clock->nowNs();
    return m_client->connectDocument(target, error);
}

qint64 LiveSession::addNote(const QString& text)
{
    return recordLocal(EventKind::Note, QJsonDocument(QJsonObject { { QStringLiteral("note"), text } }).toJson(QJsonDocument::Compact));
}

void LiveSession::keepInOrder(SessionEvent& event) const
{
    if (m_log->size() == 0)
        return;
    if (const qint64 last = m_log->at(m_log->size() - 1).monotonicNs; last > event.monotonicNs) {
        event.wallMs += (last - event.monotonicNs) / 1000000;
        event.monotonicNs = last;
    }
}

void LiveSession::timeLocal(SessionEvent& event, qint64 atNs) const
{
    const qint64 now = m_clock->nowNs();
    event.monotonicNs = atNs >= 0 && atNs < now ? atNs : now;
    event.wallMs = m_clock->wallMsAt(event.monotonicNs);
    keepInOrder(event);
}

qint64 LiveSession::recordLocal(EventKind kind, const QByteArray& payload, qint32 code, quint8 flags, qint64 atNs)
{
    SessionEvent event;
    event.kind = kind;
    event.direction = Direction::Local;
    timeLocal(event, atNs);
    event.epoch = m_client->epoch();
    event.code = code;
    event.flags = flags;
    return m_log->append(event, payload);
}

void LiveSession::record(const ClientEvent& clientEvent)
{
    SessionEvent event;
    event.kind = clientEvent.kind;
    event.direction = clientEvent.direction;
    event.monotonicNs = clientEvent.monotonicNs;
    event.wallMs = clientEvent.wallMs;
    // A frame is timed when it was read; what this session recorded while it waited to be handed
    // on (a fault, an anomaly) is in the log before it.
    keepInOrder(event);
    event.requestId = clientEvent.requestId;
    event.seq = clientEvent.seq;
    event.code = clientEvent.code;
    event.epoch = clientEvent.epoch;
    event.parts = clientEvent.parts;
    event.flags = clientEvent.flags;
    // Requests of connection/send(-once) carry their channel; everything else its method.
    const bool isSend = !clientEvent.channel.isEmpty()
        && (clientEvent.method == QLatin1String("connection/send") || clientEvent.method == QLatin1String("connection/send-once"));
    event.methodString = m_log->intern(isSend && event.kind == EventKind::Request ? clientEvent.channel : clientEvent.method);
    if (event.kind == EventKind::StreamItem && (event.parts & PartData) && event.requestId == m_folder.streamRequestId()
        && !m_folder.epochHasData())
        event.flags |= FlagSnapshot;

    const qint64 index = m_log->append(event, clientEvent.payload);

    switch (event.kind) {
    case EventKind::Response:
    case EventKind::StreamDone:
    case EventKind::Failure: {
        const qint64 request = m_log->requestIndex(event.requestId);
        if (request >= 0 && m_log->at(request).linkedIndex < 0)
            m_log->link(request, index);
        if (event.kind == EventKind::Response && isSend && event.seq >= 0) {
            const qint64 item = m_log->streamItemWithSeq(event.seq, event.epoch);
            if (item >= 0)
                m_log->linkSeq(index, item);
            else
                m_acksWaitingForItem.insert(seqKey(event.epoch, event.seq), index);
        }
        break;
    }
    case EventKind::StreamItem: {
        // Counted when handed on, as trimRateWindow() trims: a backlog read in a burst long ago still
        // shows its rate while the client works through it. Only deltas that carry data count: a
        // view-state filter or a bare {"seq":N} changes nothing.
        if (event.parts & PartData) {
            m_rateWindow.push_back({ m_clock->nowNs(), qint64(clientEvent.payload.size()) });
            trimRateWindow();
        }
        if (event.seq >= 0) {
            const auto it = m_acksWaitingForItem.find(seqKey(event.epoch, event.seq));
            if (it != m_acksWaitingForItem.end()) {
                m_log->linkSeq(it.value(), index);
                m_acksWaitingForItem.erase(it);
            }
        }
        m_folder.processEvent(m_log->at(index), clientEvent.payload);
        break;
    }
    case EventKind::EpochStarted:
        m_acksWaitingForItem.clear();
        m_folder.processEvent(m_log->at(index), clientEvent.payload);
        break;
    default:
        break;
    }
}

std::vector<SessionAnomaly> LiveSession::loggedAnomalies(quint32 epoch) const
{
    std::vector<SessionAnomaly> found;
    for (const qint64 index : m_log->indexesOfKind(EventKind::FoldAnomaly)) {
        if (m_log->at(index).epoch != epoch)
            continue;
        // The fields onAnomaly() writes.
        const QJsonObject fields = QJsonDocument::fromJson(m_log->payload(index)).object();
        SessionAnomaly anomaly;
        anomaly.kind = fields.value(QStringLiteral("anomaly")).toString();
        anomaly.path = fields.value(QStringLiteral("path")).toString();
        anomaly.message = fields.value(QStringLiteral("message")).toString();
        anomaly.eventIndex = fields.value(QStringLiteral("event")).toInteger(index);
        anomaly.epoch = epoch;
        found.push_back(std::move(anomaly));
    }
    return found;
}

void LiveSession::onAnomaly(const SessionAnomaly& anomaly)
{
    const bool quirk = anomaly.isReferenceClientQuirk();
    if (quirk) {
        // A server that edits a value list in place on every transaction repeats it on every
        // delta: one event per path and epoch says it; thousands of identical rows would bury the timeline.
        QString key = QString::number(anomaly.epoch) + QLatin1Char('|') + anomaly.kind + QLatin1Char('|') + anomaly.path;
        if (m_loggedQuirks.contains(key))
            return;
        m_loggedQuirks.insert(std::move(key));
    }
    QJsonObject fields { { QStringLiteral("anomaly"), anomaly.kind }, { QStringLiteral("path"), anomaly.path },
        { QStringLiteral("message"), anomaly.message }, { QStringLiteral("event"), anomaly.eventIndex } };
    if (quirk) {
        fields.insert(QStringLiteral("quirk"), true);
        fields.insert(QStringLiteral("note"), QStringLiteral("reference-client quirk: logged once per path and epoch"));
    }
    SessionEvent event;
    event.kind = EventKind::FoldAnomaly;
    event.direction = Direction::Local;
    // Found in its event, and timed as it: a later time would hold the frames read after that event
    // at it (the log's times never go back), and a busy window finds it late.
    const bool known = anomaly.eventIndex >= 0 && anomaly.eventIndex < m_log->size();
    timeLocal(event, known ? m_log->at(anomaly.eventIndex).monotonicNs : -1);
    event.epoch = anomaly.epoch;
    event.code = 1;
    event.linkedIndex = -1;
    const qint64 index = m_log->append(event, QJsonDocument(fields).toJson(QJsonDocument::Compact));
    Q_EMIT anomalyRecorded(index, anomaly);
}

namespace {
constexpr qint64 kSecondNs = 1'000'000'000;
constexpr qint64 kSlowWindowNs = 10 * kSecondNs;
}

void LiveSession::trimRateWindow() const
{
    // The rates read the last second, and a slow stream's newest ten within 10 s: nothing older.
    // (A 20,000/s stream would otherwise keep 200,000 samples for the 10 s.)
    const qint64 now = m_clock->nowNs();
    while (!m_rateWindow.empty()
        && (m_rateWindow.front().ns < now - kSlowWindowNs || (m_rateWindow.front().ns < now - kSecondNs && m_rateWindow.size() > 10)))
        m_rateWindow.pop_front();
}

double LiveSession::deltasPerSecond() const
{
    trimRateWindow();
    if (m_rateWindow.empty())
        return 0;
    const qint64 now = m_clock->nowNs();
    qint64 lastSecond = 0;
    for (auto it = m_rateWindow.rbegin(); it != m_rateWindow.rend() && it->ns >= now - kSecondNs; ++it)
        ++lastSecond;
    if (lastSecond >= 10)
        return double(lastSecond);
    // A slow stream: the rate of its newest ten deltas (fewer when the window holds fewer), so a
    // fast stream that slows reads the new pace within ten of its deltas instead of an average that
    // still holds the fast part; 0 once quiet for more than twice their usual gap (at least 1 s),
    // which a stall must show.
    const std::size_t count = std::min<std::size_t>(10, m_rateWindow.size());
    const qint64 newest = m_rateWindow.back().ns;
    const qint64 oldest = m_rateWindow[m_rateWindow.size() - count].ns;
    const qint64 origin = std::max(m_rateOriginNs >= 0 ? m_rateOriginNs : oldest, now - kSlowWindowNs);
    const qint64 usualGap = count >= 2 ? (newest - oldest) / qint64(count - 1) : newest - std::min(origin, newest);
    if (now - newest > std::max(kSecondNs, 2 * usualGap))
        return 0;
    if (count >= 2 && newest > oldest)
        return double(count - 1) * double(kSecondNs) / double(newest - oldest);
    return double(count) * double(kSecondNs) / double(std::max(kSecondNs, now - origin));
}

double LiveSession::inboundBytesPerSecond() const
{
    trimRateWindow();
    const qint64 cutoff = m_clock->nowNs() - kSecondNs;
    qint64 bytes = 0;
    for (auto it = m_rateWindow.rbegin(); it != m_rateWindow.rend() && it->ns >= cutoff; ++it)
        bytes += it->bytes;
    return double(bytes);
}

qint64 LiveSession::lastDedupeToken(QString* token) const
{
    if (token)
        *token = m_dedupeToken;
    return m_dedupeRequest;
}

}
