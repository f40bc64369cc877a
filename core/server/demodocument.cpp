#include "core/server/demodocument.h"

#include "core/server/serverconnection.h"
#include "core/server/serverwire.h"

#include <QDateTime>

#include <algorithm>
#include <cmath>

namespace deltascope::server {

namespace {

// Timer work is batched: at high rates one tick runs every transaction that fell due since the
// last tick (each still its own transaction and its own broadcast), so a 10,000/s ticker does not
// need 10,000 timer events a second.
constexpr int kMinTickMs = 5;
constexpr int kMaxTickMs = 1000;
constexpr qint64 kTickBudgetNs = 20'000'000; // one tick works at most this long, so sockets stay served
constexpr double kMaxBacklogSeconds = 1.0; // further behind than this: skip ahead rather than spiral

}

DemoDocument::DemoDocument(QString space, QString key, quint64 seed, QObject* parent)
    : QObject(parent)
    , m_space(std::move(space))
    , m_key(std::move(key))
    , m_random(seed)
    , m_now([] { return QDateTime::currentMSecsSinceEpoch(); })
{
    m_activityTimer.setTimerType(Qt::PreciseTimer);
    connect(&m_activityTimer, &QTimer::timeout, this, &DemoDocument::onActivityTimer);
}

DemoDocument::~DemoDocument() = default;

int DemoDocument::randomInt(int low, int high)
{
    return std::uniform_int_distribution<int>(low, high)(m_random);
}

bool DemoDocument::isConnected(const Principal& who) const
{
    return m_viewCounts.value(who) > 0;
}

QList<Principal> DemoDocument::connectedPrincipals() const
{
    return m_connectOrder;
}

void DemoDocument::beginTransaction()
{
    ++m_seq;
}

Viewer* DemoDocument::attach(ServerConnection* connection, qint64 requestId, const Principal& who,
    const QJsonObject& viewerState, int* error)
{
    *error = 0;
    const bool firstView = !isConnected(who);
    if (firstView) {
        // Recorded first so connected() sees the principal among connectedPrincipals(); undone on rejection.
        m_connectOrder.append(who);
        m_viewCounts[who] = 1;
        const int code = connected(who);
        if (code != 0) {
            m_connectOrder.removeAll(who);
            m_viewCounts.remove(who);
            *error = code;
            return nullptr;
        }
    } else {
        m_viewCounts[who] += 1;
    }
    auto viewer = std::make_unique<Viewer>();
    viewer->serial = m_nextSerial++;
    viewer->document = this;
    viewer->connection = connection;
    viewer->requestId = requestId;
    viewer->principal = who;
    viewer->viewerState = viewerState;
    Viewer* raw = viewer.get();

    // The connect transaction (@connected): the other viewers see its effects and its seq. A
    // principal already connected has none; Adama refuses it before it bumps seq.
    if (firstView) {
        beginTransaction();
        broadcast(nullptr);
    }
    m_viewers.push_back(std::move(viewer));

    // The view exists now: its view-state filter goes first, then an invalidate transaction runs
    // whose broadcast is this viewer's first item, a full snapshot (adama-wire.md section 5).
    const QStringList filter = viewStateFilter();
    if (!filter.isEmpty())
        writeItem(*raw, "{\"view-state-filter\":" + compactJson(QJsonArray::fromStringList(filter)) + '}');
    beginTransaction();
    broadcast(nullptr);
    updateActivityTimer();
    return raw;
}

void DemoDocument::detach(Viewer* viewer)
{
    const auto it = std::find_if(m_viewers.begin(), m_viewers.end(),
        [viewer](const std::unique_ptr<Viewer>& v) { return v.get() == viewer; });
    if (it == m_viewers.end())
        return;
    const Principal who = viewer->principal;
    const quint64 serial = viewer->serial;
    m_viewers.erase(it);
    int& count = m_viewCounts[who];
    count -= 1;
    beginTransaction();
    if (count <= 0) {
        m_viewCounts.remove(who);
        m_connectOrder.removeAll(who);
        disconnected(who);
    }
    broadcast(nullptr);
    updateActivityTimer();
    Q_EMIT viewerDetached(serial);
}

qint64 DemoDocument::send(const Principal& who, const QString& channel, const QJsonValue& payload,
    const std::function<void(qint64)>& acknowledge)
{
    const int code = message(who, channel, payload);
    if (code != 0)
        return -code;
    return answeredTransaction(acknowledge);
}

qint64 DemoDocument::attachAsset(const std::function<void(qint64)>& acknowledge)
{
    return answeredTransaction(acknowledge);
}

qint64 DemoDocument::answeredTransaction(const std::function<void(qint64)>& acknowledge)
{
    beginTransaction();
    // The request callback fires before broadcasts reach viewers, so the ack precedes the item
    // carrying the same seq (adama-wire.md section 5).
    if (acknowledge)
        acknowledge(m_seq);
    broadcast(nullptr);
    return m_seq;
}

qint64 DemoDocument::sendOnce(const Principal& who, const QString& channel, const std::optional<QString>& dedupe,
    const QJsonValue& payload, const std::function<void(qint64)>& acknowledge)
{
    sweepDedupe();
    if (!dedupe)
        return send(who, channel, payload, acknowledge);
    const QString token = who.agent + QLatin1Char('/') + who.authority + QLatin1Char('/') + *dedupe;
    if (m_dedupe.contains(token))
        return -ErrorCode::MessageAlreadySent;
    const qint64 seq = send(who, channel, payload, acknowledge);
    if (seq > 0)
        m_dedupe.insert(token, now());
    return seq;
}

void DemoDocument::sweepDedupe()
{
    // Adama expires used tokens from the document thread's periodic sweep, at most once per interval.
    const qint64 current = now();
    if (current - m_lastSweep < m_dedupeSweepMs)
        return;
    m_lastSweep = current;
    for (auto it = m_dedupe.begin(); it != m_dedupe.end();) {
        if (current - it.value() >= m_dedupeExpiryMs)
            it = m_dedupe.erase(it);
        else
            ++it;
    }
}

void DemoDocument::setDedupeExpiry(qint64 expiryMs, qint64 sweepIntervalMs)
{
    m_dedupeExpiryMs = expiryMs;
    m_dedupeSweepMs = sweepIntervalMs;
    m_lastSweep = 0;
}

void DemoDocument::updateViewerState(Viewer* viewer, const QJsonObject& viewerState)
{
    viewer->viewerState = viewerState;
    if (hasAsyncWork()) {
        beginTransaction();
        broadcast(nullptr);
        return;
    }
    // A refresh: only this viewer, `data` without seq, nothing when its view did not change.
    const DocumentTree view = currentView(*viewer);
    const std::vector<QByteArray> deltas = encodeDeltas(viewer->lastSent, view);
    if (deltas.empty())
        return;
    viewer->lastSent = view;
    for (const QByteArray& data : deltas)
        deliver(*viewer, "{\"data\":" + data + '}', false);
}

void DemoDocument::step(int count)
{
    for (int i = 0; i < count; ++i) {
        beginTransaction();
        botStep();
        broadcast(nullptr);
    }
}

void DemoDocument::redeploy(bool nextSchema)
{
    beginTransaction();
    if (nextSchema) {
        m_schemaVersion += 1;
        migrateSchema(m_schemaVersion);
    }
    for (auto& viewer : m_viewers) {
        viewer->lastSent = DocumentTree();
        viewer->lastOutstanding = QByteArrayLiteral("[]");
        viewer->lastBlockers = QByteArrayLiteral("[]");
    }
    broadcast(nullptr);
}

void DemoDocument::sendSideItem(Viewer* viewer, const QByteArray& deltaJson)
{
    writeItem(*viewer, deltaJson);
}

DocumentTree DemoDocument::currentView(const Viewer& viewer) const
{
    DocumentTree view = m_tree;
    personalize(viewer, view);
    return view;
}

void DemoDocument::broadcast(const Viewer* except)
{
    for (auto& viewer : m_viewers) {
        if (viewer.get() != except)
            deliverTransaction(*viewer);
    }
}

void DemoDocument::deliverTransaction(Viewer& viewer)
{
    const DocumentTree view = currentView(viewer);
    // Almost always one delta; a second (a list that became an object) follows as a refresh item.
    const std::vector<QByteArray> deltas = encodeDeltas(viewer.lastSent, view);
    const QByteArray data = deltas.empty() ? QByteArray() : deltas.front();
    const QByteArray outstandingJson = compactJson(QJsonValue(outstanding(viewer.principal)));
    const QByteArray blockersJson = compactJson(QJsonValue(blockers()));
    QByteArray item;
    item.reserve(data.size() + 64);
    item += '{';
    if (!data.isEmpty()) {
        item += "\"data\":" + data + ',';
        viewer.lastSent = view;
    }
    // outstanding and blockers travel together, only when either changed for this view.
    if (outstandingJson != viewer.lastOutstanding || blockersJson != viewer.lastBlockers) {
        item += "\"outstanding\":" + outstandingJson + ",\"blockers\":" + blockersJson + ',';
        viewer.lastOutstanding = outstandingJson;
        viewer.lastBlockers = blockersJson;
    }
    item += "\"seq\":" + QByteArray::number(m_seq) + '}';
    deliver(viewer, item, true);
    for (std::size_t i = 1; i < deltas.size(); ++i)
        deliver(viewer, "{\"data\":" + deltas[i] + '}', false);
}

void DemoDocument::deliver(Viewer& viewer, const QByteArray& deltaJson, bool isTransactionItem)
{
    DeltaFaults& faults = viewer.faults;
    if (isTransactionItem && faults.drop > 0) {
        faults.drop -= 1;
        return;
    }
    if (isTransactionItem && faults.reorder > 0 && !viewer.heldFrame) {
        faults.reorder -= 1;
        viewer.heldFrame = deltaJson;
        return;
    }
    writeItem(viewer, deltaJson);
    if (isTransactionItem && faults.duplicate > 0) {
        faults.duplicate -= 1;
        writeItem(viewer, deltaJson);
    }
    if (viewer.heldFrame) {
        const QByteArray held = *viewer.heldFrame;
        viewer.heldFrame.reset();
        writeItem(viewer, held);
    }
}

void DemoDocument::writeItem(Viewer& viewer, const QByteArray& deltaJson)
{
    if (viewer.connection)
        viewer.connection->sendFrame(streamFrame(viewer.requestId, "{\"delta\":" + deltaJson + '}'));
}

void DemoDocument::setBotsPaused(bool paused)
{
    m_botsPaused = paused;
    updateActivityTimer();
}

void DemoDocument::rateChanged()
{
    m_activityTimer.stop();
    updateActivityTimer();
}

void DemoDocument::updateActivityTimer()
{
    const double rate = botRate();
    const bool run = !m_botsPaused && rate > 0 && !m_viewers.empty();
    if (!run) {
        m_activityTimer.stop();
        return;
    }
    if (m_activityTimer.isActive() && rate == m_activityRate)
        return;
    m_activityRate = rate;
    m_activityDone = 0;
    m_activityClock.start();
    const int interval = std::clamp(static_cast<int>(1000.0 / rate), kMinTickMs, kMaxTickMs);
    m_activityTimer.start(interval);
}

void DemoDocument::onActivityTimer()
{
    const double elapsedSeconds = static_cast<double>(m_activityClock.nsecsElapsed()) / 1e9;
    const auto due = static_cast<qint64>(std::floor(elapsedSeconds * m_activityRate));
    const auto maxBacklog = static_cast<qint64>(std::max(1.0, m_activityRate * kMaxBacklogSeconds));
    if (due - m_activityDone > maxBacklog)
        m_activityDone = due - maxBacklog;
    QElapsedTimer budget;
    budget.start();
    while (m_activityDone < due && !m_viewers.empty() && !m_botsPaused && budget.nsecsElapsed() < kTickBudgetNs) {
        ++m_activityDone;
        step(1);
    }
}

}
