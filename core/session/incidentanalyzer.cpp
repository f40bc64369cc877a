#include "core/session/incidentanalyzer.h"

#include "core/document/documenttree.h"
#include "core/logging.h"
#include "core/protocol/envelope.h"
#include "core/session/eventlog.h"
#include "core/session/sessionfolder.h"
#include "core/session/streamitemfold.h"

#include <QCoreApplication>
#include <QDateTime>
#include <QElapsedTimer>
#include <QEventLoop>
#include <QJsonDocument>
#include <QWebSocket>

#include <algorithm>

namespace deltascope {

namespace {

constexpr std::size_t kHistoryDepth = 512;
// A copy of the canonical tree is kept every this many items of history: the tree after an item
// between two is rebuilt by folding forward from the earlier, at most this many items (well under
// 1 ms). At most kMaxCheckpoints are kept.
constexpr int kItemsPerCheckpoint = 64;
constexpr std::size_t kMaxCheckpoints = 64;
// Stream items left unfolded while the tree source is out of step (see setTreeSource), as while a
// stall's backlog is handled: past this many they are folded, so what a later need of the trees
// folds at once (about 3 us an item) stays within about 50 ms.
constexpr std::size_t kMaxUnfolded = 16384;
constexpr int kMaxListedPaths = 50;
constexpr int kMaxPostponed = 30; // truth checks put off while the client lags behind the truth
constexpr qsizetype kMaxIncidentNotes = 50; // a stream of anomalies is counted beyond this, not listed
constexpr std::size_t kMaxQuirkValueLists = 4096; // bounds the memory a hostile stream can take

QJsonObject objectOf(const QByteArray& payload) { return QJsonDocument::fromJson(payload).object(); }

QJsonArray limitedPaths(const QStringList& paths)
{
    QJsonArray array;
    for (qsizetype i = 0; i < paths.size() && i < kMaxListedPaths; ++i)
        array.append(paths[i]);
    return array;
}

QJsonObject diffJson(const TreeDiff& diff)
{
    QJsonArray moved;
    for (std::size_t i = 0; i < diff.moved.size() && i < std::size_t(kMaxListedPaths); ++i) {
        const TreeDiff::Move& move = diff.moved[i];
        moved.append(
            QJsonObject { { QStringLiteral("list"), move.listPath }, { QStringLiteral("element"), move.elementKey },
                { QStringLiteral("from"), move.fromRow }, { QStringLiteral("to"), move.toRow } });
    }
    return { { QStringLiteral("added"), limitedPaths(diff.added) },
        { QStringLiteral("removed"), limitedPaths(diff.removed) },
        { QStringLiteral("changed"), limitedPaths(diff.changed) }, { QStringLiteral("moved"), moved },
        { QStringLiteral("counts"),
            QJsonObject { { QStringLiteral("added"), diff.added.size() },
                { QStringLiteral("removed"), diff.removed.size() }, { QStringLiteral("changed"), diff.changed.size() },
                { QStringLiteral("moved"), qint64(diff.moved.size()) } } } };
}

}

QString incidentVerdictName(IncidentVerdict verdict)
{
    switch (verdict) {
    case IncidentVerdict::Converged:
        return QStringLiteral("converged");
    case IncidentVerdict::ConvergedStale:
        return QStringLiteral("converged-stale");
    case IncidentVerdict::Diverged:
        return QStringLiteral("diverged");
    case IncidentVerdict::GaveUp:
        return QStringLiteral("gave-up");
    }
    return {};
}

// --- ShadowFetcher ------------------------------------------------------------------------------

ShadowFetcher::ShadowFetcher(DocumentTarget target, QObject* parent)
    : QObject(parent)
    , m_target(std::move(target))
{
    qRegisterMetaType<ShadowSnapshot>();
    m_timeout.setSingleShot(true);
    connect(&m_timeout, &QTimer::timeout, this,
        [this] { finish(false, QStringLiteral("no snapshot within the timeout")); });
}

ShadowFetcher::~ShadowFetcher()
{
    if (m_socket)
        QObject::disconnect(m_socket, nullptr, this, nullptr);
}

void ShadowFetcher::fetch(int timeoutMs)
{
    m_clock.start();
    m_timeout.start(timeoutMs);
    m_socket = new QWebSocket(QString(), QWebSocketProtocol::VersionLatest, this);
#if QT_CONFIG(ssl)
    if (m_insecure)
        connect(m_socket, &QWebSocket::sslErrors, m_socket, [this] { m_socket->ignoreSslErrors(); });
#endif
    connect(m_socket, &QWebSocket::textMessageReceived, this, [this](const QString& text) {
        const QByteArray frame = text.toUtf8();
        const InboundFrame decoded = decodeInbound(frame);
        if (decoded.kind == EventKind::Hello) {
            QByteArray create = RequestWriter(QStringLiteral("connection/create"), 1)
                                    .string(u"identity", m_target.identity)
                                    .string(u"space", m_target.space)
                                    .string(u"key", m_target.key)
                                    .finish();
            if (!m_target.viewerState.isEmpty()) {
                create = RequestWriter(QStringLiteral("connection/create"), 1)
                             .string(u"identity", m_target.identity)
                             .string(u"space", m_target.space)
                             .string(u"key", m_target.key)
                             .raw(u"viewer-state", m_target.viewerState)
                             .finish();
            }
            m_socket->sendTextMessage(QString::fromUtf8(create));
            return;
        }
        if (decoded.kind == EventKind::Failure && decoded.id == 1) {
            finish(false, QStringLiteral("the shadow stream failed with %1").arg(decoded.code));
            return;
        }
        if (decoded.kind == EventKind::Disconnected) {
            finish(false, QStringLiteral("the server disconnected the shadow socket"));
            return;
        }
        if (decoded.kind != EventKind::StreamItem || decoded.id != 1)
            return;
        m_result.bytes += frame.size();
        const StreamDelta delta = extractStreamDelta(frame);
        if (!delta.ok)
            return;
        if (delta.hasData)
            m_result.tree.apply(delta.data);
        if (delta.seq >= 0) {
            m_result.seq = delta.seq;
            m_socket->sendTextMessage(QStringLiteral(R"({"method":"connection/end","id":2,"connection":1})"));
            finish(true, {});
        }
    });
    connect(m_socket, &QWebSocket::disconnected, this,
        [this] { finish(false, QStringLiteral("the shadow socket closed before a snapshot")); });
    m_socket->open(m_target.url);
}

void ShadowFetcher::finish(bool ok, const QString& error)
{
    if (m_done)
        return;
    m_done = true;
    m_timeout.stop();
    m_result.ok = ok;
    m_result.error = error;
    m_result.elapsedMs = m_clock.elapsed();
    if (m_socket) {
        QObject::disconnect(m_socket, nullptr, this, nullptr);
        m_socket->close();
    }
    Q_EMIT finished(m_result);
}

// --- IncidentAnalyzer ---------------------------------------------------------------------------

IncidentAnalyzer::IncidentAnalyzer(EventLog* log, QObject* parent)
    : QObject(parent)
    , m_log(log)
{
    m_resume.setSingleShot(true);
    m_resume.setInterval(0);
    connect(&m_resume, &QTimer::timeout, this, [this] { handleAppended(); });
    m_checkTimer.setSingleShot(true);
    connect(&m_checkTimer, &QTimer::timeout, this, [this] { startShadow(false); });
    connect(log, &EventLog::eventsAppended, this, &IncidentAnalyzer::onAppended);
    // What was pending went with a cleared log; its events are numbered from 0 again.
    connect(log, &EventLog::cleared, this, [this] {
        m_nextToHandle = 0;
        m_appendedUpTo = -1;
        m_unfolded.clear(); // their frames went with the log
        clearHistory(); // by event index too
        m_lastDocumentEvent = -1;
        m_sourceCopy.reset();
    });
}

IncidentAnalyzer::~IncidentAnalyzer() = default;

void IncidentAnalyzer::setShadowTarget(const DocumentTarget& target) { m_shadowTarget = target; }

void IncidentAnalyzer::setTreeSource(const SessionFolder* folder)
{
    bringTreesUpToDate(); // what the previous source would have given
    m_sourceCopy.reset();
    m_treeSource = folder;
}

qint64 IncidentAnalyzer::now() const { return m_nowNs ? m_nowNs() : m_lastEventNs; }

void IncidentAnalyzer::onAppended(qint64 first, qint64 last)
{
    if (first < m_nextToHandle || m_nextToHandle > m_appendedUpTo) {
        // A cleared log, numbered from 0 again (what was pending went with it), or nothing pending:
        // the new events are next.
        m_nextToHandle = first;
        m_appendedUpTo = last;
    } else {
        m_appendedUpTo = std::max(m_appendedUpTo, last);
    }
    handleAppended();
}

void IncidentAnalyzer::handleAppended(bool untilDone)
{
    // A slot of a signal handle() emits may run an event loop: the outer call goes on afterwards.
    if (m_handling || (m_resume.isActive() && !untilDone))
        return;
    m_handling = true;
    QElapsedTimer slice;
    slice.start();
    bool handledOne = false;
    while (m_log && m_nextToHandle <= m_appendedUpTo && m_nextToHandle < m_log->size()) {
        if (!untilDone && handledOne && slice.elapsed() >= m_sliceMs) {
            m_resume.start();
            break;
        }
        handle(m_nextToHandle++);
        handledOne = true;
    }
    m_handling = false;
    // Copying the source's trees costs about as much as folding one item of a small document (the
    // chunk tables, then the chunks the source's next fold touches); of a large one, more.
    if (m_treeSource && !m_unfolded.empty() && m_unfolded.size() > m_treeSource->epochTree().slotCount() / 4096) {
        adoptSourceTrees();
        if (!m_unfolded.empty())
            copySourceTrees();
    }
}

void IncidentAnalyzer::handle(qint64 index)
{
    const SessionEvent& event = m_log->at(index);
    if (event.kind == EventKind::Incident)
        return;
    m_lastEventNs = std::max(m_lastEventNs, event.monotonicNs);
    switch (event.kind) {
    case EventKind::Hello: {
        m_helloSeen = true;
        const QString version = objectOf(m_log->payload(index)).value(QLatin1String("version")).toString();
        if (m_firstVersion.isNull()) {
            m_firstVersion = version;
        } else if (version != m_firstVersion) {
            if (!m_open)
                openIncident(index, QStringLiteral("hello version changed"));
            trouble(index, QStringLiteral("version mismatch"),
                QStringLiteral("hello version '%1', the session started with '%2'").arg(version, m_firstVersion));
            m_open->versionBefore = m_firstVersion;
            m_open->versionAfter = version;
        }
        m_version = version;
        break;
    }
    case EventKind::EpochStarted: {
        const QJsonObject fields = objectOf(m_log->payload(index));
        m_epoch = quint32(fields.value(QLatin1String("epoch")).toInteger(event.epoch));
        m_streamId = fields.value(QLatin1String("requestId")).toInteger(event.requestId);
        const bool resync = m_epoch > 1;
        m_divergedEpoch = 0; // a new stream replaces the diverged tree
        if (resync && !m_open)
            openIncident(index, QStringLiteral("new stream (connection/create)"));
        if (m_open) {
            m_open->resyncEpochNs = event.monotonicNs;
            m_open->resyncEpoch = m_epoch;
            m_open->awaitingSnapshot = true;
            m_open->refetchBytes = 0;
            m_open->refetchFrames = 0;
        }
        // The canonical fold starts every epoch from an empty tree; the merging one does not, so it
        // takes the items not folded yet first.
        bringTreesUpToDate();
        m_tree.clear();
        clearHistory();
        // The new stream has reached no seq yet (the incident kept the old one as beforeSeq): a
        // truth check waits for its snapshot instead of comparing the emptied tree as that seq.
        m_lastSeq = -1;
        break;
    }
    case EventKind::StreamItem: {
        if (event.requestId != m_streamId || m_streamId < 0) // before a connection/create, as SessionFolder
            break;
        if (leaveItemToSource(index, event))
            break;
        const QByteArray frame = m_log->payload(index);
        if (m_open && m_open->awaitingSnapshot) {
            m_open->refetchBytes += frame.size();
            ++m_open->refetchFrames;
        }
        foldItem(index, frame);
        break;
    }
    case EventKind::Failure:
        if (event.requestId == m_streamId && !(event.flags & FlagSynthetic)) {
            if (!m_open)
                openIncident(index, QStringLiteral("stream failure %1").arg(event.code));
            trouble(index, QStringLiteral("failure"), QStringLiteral("stream failed with %1").arg(event.code));
        }
        if (auto it = m_sends.find(event.requestId); it != m_sends.end()) {
            it->second.failure = event.code;
            it->second.answered = !(event.flags & FlagSynthetic) && event.code != 999;
        }
        break;
    case EventKind::Response:
        if (auto it = m_sends.find(event.requestId); it != m_sends.end()) {
            it->second.answered = true;
            it->second.ackSeq = event.seq >= 0 ? event.seq
                                               : objectOf(m_log->payload(index))
                                                     .value(QLatin1String("response"))
                                                     .toObject()
                                                     .value(QLatin1String("seq"))
                                                     .toInteger(-1);
        }
        break;
    case EventKind::Disconnected:
        if (!m_open)
            openIncident(index, QStringLiteral("status disconnected"));
        trouble(index, QStringLiteral("status disconnected"), QString::fromUtf8(m_log->payload(index)));
        break;
    case EventKind::MalformedInbound:
        if (!m_open)
            openIncident(index, QStringLiteral("malformed frame"));
        trouble(index, QStringLiteral("malformed frame"), malformedReasonName(MalformedReason(event.code)));
        break;
    case EventKind::FoldAnomaly: {
        const QByteArray payload = m_log->payload(index);
        // A reference-client quirk (a value list edited without `@s`) is how servers normally
        // send such edits: noted in an open incident, never a reason to open one.
        const QJsonObject fields = objectOf(payload);
        const bool quirk = fields.value(QLatin1String("quirk")).toBool();
        if (quirk && fields.value(QLatin1String("anomaly")).toString() == anomalyKindName(AnomalyKind::ValueListEditedWithoutSize)
            && m_quirkValueLists.size() < kMaxQuirkValueLists)
            m_quirkValueLists.insert(fields.value(QLatin1String("path")).toString());
        if (quirk && !m_open)
            break;
        if (!m_open && m_divergedEpoch != 0 && m_divergedEpoch == m_epoch)
            break; // the known divergence showing again (see close())
        if (!m_open)
            openIncident(index, QStringLiteral("fold anomaly"));
        if (m_open->notes.size() < kMaxIncidentNotes)
            m_open->notes.append(QString(QStringLiteral("fold anomaly: ") + QString::fromUtf8(payload)));
        else
            ++m_open->notesDropped;
        if (!quirk)
            trouble(index, QStringLiteral("fold anomaly"), QString::fromUtf8(payload));
        // adama-wire.md 6.4 [R]: ids missing from the element map and ranges past the previous
        // list are delta/state divergence. (A seq that does not increase is not: a repeated plain
        // merge gives the same tree; what a repeat does wrong shows as one of these.)
        const QString kind = objectOf(payload).value(QLatin1String("anomaly")).toString();
        if (m_open->streamDivergence.isEmpty()
            && (kind == anomalyKindName(AnomalyKind::IdMissingFromElementMap) || kind == anomalyKindName(AnomalyKind::RangeOutsidePreviousList))) {
            m_open->streamDivergence = kind;
            m_open->notes.append(QStringLiteral("the stream itself shows the client's tree and the server's deltas disagree (%1): "
                                                "unless a truth check or a resync says otherwise, that is a divergence")
                                     .arg(kind));
        }
        break;
    }
    case EventKind::Request: {
        const QJsonObject request = objectOf(m_log->payload(index));
        const QString method = request.value(QLatin1String("method")).toString();
        if (method.startsWith(QLatin1String("connection/send"))) {
            m_sends[event.requestId]
                = { event.requestId, event.monotonicNs, method, request.value(QLatin1String("channel")).toString() };
            if (m_sends.size() > 4096)
                m_sends.erase(m_sends.begin());
        }
        break;
    }
    case EventKind::StateChanged: {
        const QJsonObject fields = objectOf(m_log->payload(index));
        const QString to = fields.value(QLatin1String("to")).toString();
        const QString reason = fields.value(QLatin1String("reason")).toString();
        const QString from = m_state;
        m_state = to;
        if (m_open)
            m_open->states.append(QJsonObject { { QStringLiteral("atMs"), msOf(event.monotonicNs - m_open->openedNs) },
                { QStringLiteral("to"), to }, { QStringLiteral("reason"), reason } });
        if (to == QLatin1String("streaming") && m_open && !m_open->awaitingSnapshot && !m_open->checking && from != to)
            scheduleCheck(m_options.settleMs); // recovered without a resync: judge once it is quiet
        // A client that has never reached the server has no document to lose or recover: its
        // retries are not an incident (the status says the server cannot be reached), unless the
        // user injected a fault to see them.
        const bool connectionTrouble = m_open || m_helloSeen || !m_standingFaults.isEmpty();
        if (to == QLatin1String("stalled") && connectionTrouble) {
            if (!m_open)
                openIncident(index, QStringLiteral("pings overdue"));
            trouble(index, QStringLiteral("missed pings"), reason);
        } else if (to == QLatin1String("reconnecting") && connectionTrouble) {
            if (!m_open)
                openIncident(index, QStringLiteral("connection lost"));
            const bool liveness = from == QLatin1String("stalled") || reason.startsWith(QLatin1String("liveness"));
            trouble(index, liveness ? QStringLiteral("missed pings") : QStringLiteral("close"), reason);
        } else if (to == QLatin1String("failed") && connectionTrouble) {
            if (!m_open)
                openIncident(index, QStringLiteral("client failed"));
            trouble(index, QStringLiteral("gave up"), reason);
            close(IncidentVerdict::GaveUp, true, { { QStringLiteral("reason"), reason } });
        }
        break;
    }
    case EventKind::ReconnectPlanned: {
        if (!m_open && !m_helloSeen && m_standingFaults.isEmpty())
            break; // still trying to reach the server for the first time
        if (!m_open)
            openIncident(index, QStringLiteral("reconnect planned"));
        QJsonObject fields = objectOf(m_log->payload(index));
        fields.insert(QStringLiteral("atMs"), msOf(event.monotonicNs - m_open->openedNs));
        m_open->reconnects.append(fields);
        break;
    }
    case EventKind::FaultInjected: {
        const QJsonObject fields = objectOf(m_log->payload(index));
        const QString name = fields.value(QLatin1String("fault")).toString();
        // The end of a fault (clear-stall, release-pings, clear) belongs to an open incident;
        // alone it is no new trouble.
        const bool ending = name == QLatin1String("clear-stall") || name == QLatin1String("release-pings")
            || name == QLatin1String("clear");
        if (name == QLatin1String("clear"))
            m_standingFaults = QJsonArray();
        if (!m_open && ending)
            break;
        if (!m_open && m_streamId < 0) {
            m_standingFaults.append(fields);
            break;
        }
        if (!m_open)
            openIncident(index, QStringLiteral("fault ") + name);
        QJsonObject fault = fields;
        fault.insert(QStringLiteral("atMs"), msOf(event.monotonicNs - m_open->openedNs));
        m_open->faults.append(fault);
        // A stall or held pings: the incident lasts at least as long as the hold, so that what the
        // client notices of it (missed pings, a reconnect) belongs to it.
        QStringList& holding = m_open->holding;
        if (name == QLatin1String("stall") || name == QLatin1String("hold-pings"))
            holding.append(name);
        else if (name == QLatin1String("clear-stall"))
            holding.removeAll(QStringLiteral("stall"));
        else if (name == QLatin1String("release-pings"))
            holding.removeAll(QStringLiteral("hold-pings"));
        else if (name == QLatin1String("clear"))
            holding.clear();
        if (fields.value(QLatin1String("corrupting")).toBool() || (event.flags & FlagCorrupting))
            m_open->corrupting = true;
        // A fault with no visible effect gets its truth check once things are quiet; a resync
        // that follows reschedules it.
        if (!m_open->awaitingSnapshot && !m_open->checking)
            scheduleCheck(m_options.settleMs);
        break;
    }
    default:
        break;
    }
    // What SessionFolder::lastDocumentEvent() counts, for adoptSourceTrees(): set once the event
    // is handled, so trees taken from the source never hold an item folded here as well.
    if (event.kind == EventKind::EpochStarted || event.kind == EventKind::StreamItem) {
        m_lastDocumentEvent = index;
        if (m_sourceCopy && m_sourceCopy->lastDocumentEvent == index)
            takeSourceCopy();
    }
}

void IncidentAnalyzer::rememberCurrentTree()
{
    bringTreesUpToDate();
    // Where history starts: the tree as it is now, at the seq it reached.
    if (m_lastSeq >= 0 && m_historySeqs.find(m_lastSeq) == m_historySeqs.end()) {
        startHistory();
        rememberSeq(m_lastSeq, m_lastDocumentEvent);
    }
}

void IncidentAnalyzer::startHistory()
{
    if (!m_checkpoints.empty())
        return; // history is kept already, every item since its first checkpoint with it
    bringTreesUpToDate();
    m_checkpoints.emplace(m_lastDocumentEvent, m_tree);
    m_itemsSinceCheckpoint = 0;
}

void IncidentAnalyzer::rememberItem(qint64 index)
{
    m_historyItems.push_back(index);
    if (++m_itemsSinceCheckpoint < kItemsPerCheckpoint)
        return;
    m_checkpoints.emplace(index, m_tree);
    m_itemsSinceCheckpoint = 0;
    // Items with data and no seq (refreshes) add checkpoints no seq asks for: bounded here.
    if (m_checkpoints.size() > kMaxCheckpoints)
        dropHistoryBefore(std::next(m_checkpoints.begin())->first);
}

void IncidentAnalyzer::rememberSeq(qint64 seq, qint64 index)
{
    // A seq that comes again (a duplicated delta) is the later item's, as the client's tree is.
    if (const auto [it, inserted] = m_historySeqs.try_emplace(seq, index); !inserted) {
        m_seqItems.erase(m_seqItems.find(it->second));
        it->second = index;
    }
    m_seqItems.insert(index);
    if (m_historySeqs.size() <= kHistoryDepth)
        return;
    // The smallest seq leaves. Seqs may have arrived out of order (a reordered delta), so what the
    // others need is the checkpoint at or before the earliest item of any of them.
    const auto smallest = m_historySeqs.begin();
    m_seqItems.erase(m_seqItems.find(smallest->second));
    m_historySeqs.erase(smallest);
    if (const auto after = m_checkpoints.upper_bound(*m_seqItems.begin()); after != m_checkpoints.begin())
        dropHistoryBefore(std::prev(after)->first);
}

void IncidentAnalyzer::dropHistoryBefore(qint64 checkpoint)
{
    m_checkpoints.erase(m_checkpoints.begin(), m_checkpoints.find(checkpoint));
    while (!m_historyItems.empty() && m_historyItems.front() <= checkpoint)
        m_historyItems.pop_front();
    // Seqs reached before that checkpoint can no longer be rebuilt (only when checkpoints are capped).
    if (m_seqItems.empty() || *m_seqItems.begin() >= checkpoint)
        return;
    for (auto it = m_historySeqs.begin(); it != m_historySeqs.end();) {
        if (it->second < checkpoint) {
            m_seqItems.erase(m_seqItems.find(it->second));
            it = m_historySeqs.erase(it);
        } else {
            ++it;
        }
    }
}

void IncidentAnalyzer::clearHistory()
{
    m_historySeqs.clear();
    m_seqItems.clear();
    m_checkpoints.clear();
    m_historyItems.clear();
}

DocumentTree IncidentAnalyzer::clientTreeAt(qint64 seq, qint64* foundSeq)
{
    bringTreesUpToDate();
    auto it = m_historySeqs.upper_bound(seq);
    if (it == m_historySeqs.begin()) {
        if (foundSeq)
            *foundSeq = m_lastSeq;
        return m_tree;
    }
    --it;
    if (foundSeq)
        *foundSeq = it->first;
    return historyTree(it->second);
}

DocumentTree IncidentAnalyzer::historyTree(qint64 index) const
{
    auto checkpoint = m_checkpoints.upper_bound(index);
    if (checkpoint == m_checkpoints.begin())
        return m_tree; // not reached: every seq kept has a checkpoint at or before its item
    --checkpoint;
    DocumentTree tree = checkpoint->second;
    FoldResult scratch;
    for (auto it = std::upper_bound(m_historyItems.begin(), m_historyItems.end(), checkpoint->first);
         it != m_historyItems.end() && *it <= index; ++it) {
        const QByteArray frame = m_log->payload(*it);
        const StreamItemFold item(frame);
        item.foldInto(tree, *it, scratch, DocumentTree::ChangeDetail::None);
    }
    return tree;
}

void IncidentAnalyzer::openIncident(qint64 index, const QString& trigger)
{
    rememberCurrentTree();
    Incident incident;
    incident.number = m_nextNumber++;
    // An on-demand check can find trouble before the log has any event: then it starts now.
    const bool hasEvent = index >= 0 && index < m_log->size();
    incident.openedNs = hasEvent ? m_log->at(index).monotonicNs : now();
    incident.openedEvent = hasEvent ? index : -1;
    incident.trigger = trigger;
    incident.before = m_tree;
    incident.beforeSeq = m_lastSeq;
    incident.beforeEpoch = m_epoch;
    incident.versionBefore = m_version;
    // Sends still unanswered when trouble starts are in flight.
    for (const auto& [id, send] : m_sends) {
        if (!send.answered && send.failure < 0)
            incident.inFlight.push_back(id);
    }
    if (!m_standingFaults.isEmpty()) {
        incident.notes.append(QString(QStringLiteral("injected before the document was first requested (the session's conditions from its start): ")
            + QString::fromUtf8(QJsonDocument(m_standingFaults).toJson(QJsonDocument::Compact))));
    }
    m_open = std::move(incident);
    // Every incident gets a truth check once things are quiet; a resync brings its own sooner.
    scheduleCheck(m_options.settleMs);
    qCInfo(lcSession).noquote() << "incident" << m_open->number << "opened:" << trigger;
    Q_EMIT incidentOpened(m_open->number, trigger);
}

void IncidentAnalyzer::trouble(qint64 index, const QString& how, const QString& reason)
{
    if (!m_open || m_open->detectedNs >= 0)
        return;
    m_open->detectedNs = index >= 0 && index < m_log->size() ? m_log->at(index).monotonicNs : now();
    m_open->detectedHow = how;
    m_open->detectedReason = reason;
    for (const auto& [id, send] : m_sends) {
        if (!send.answered && send.failure < 0
            && std::find(m_open->inFlight.begin(), m_open->inFlight.end(), id) == m_open->inFlight.end())
            m_open->inFlight.push_back(id);
    }
}

void IncidentAnalyzer::foldItem(qint64 index, const QByteArray& frame)
{
    const StreamItemFold item(frame);
    const StreamDelta& delta = item.delta();
    if (!delta.ok)
        return;
    if (delta.parts & PartReload) {
        if (!m_open)
            openIncident(index, QStringLiteral("reload item"));
        m_open->reload = true;
        trouble(index, QStringLiteral("reload"), QStringLiteral("the server asked the client to reload"));
    }
    // Trees by seq are kept only while a comparison may need them (an incident, a shadow fetch).
    // Each copy kept makes the next fold copy the chunks it touches, so a copy is kept every
    // kItemsPerCheckpoint items, with the items since (see historyTree()).
    const bool keepHistory = m_open || m_shadowsInFlight > 0;
    if (keepHistory)
        startHistory();
    else
        clearHistory();
    if (delta.hasData) {
        // Nothing needs the trees item by item now (no history is kept): left to the source.
        if (m_treeSource && !keepHistory && m_unfolded.size() < kMaxUnfolded) {
            m_unfolded.push_back(index);
        } else {
            bringTreesUpToDate();
            foldIntoTrees(item, index);
            if (keepHistory)
                rememberItem(index);
        }
    }
    if (delta.seq >= 0) {
        m_lastSeq = delta.seq;
        if (keepHistory)
            rememberSeq(delta.seq, index);
    }
    if (m_open && m_open->awaitingSnapshot && (delta.hasData || delta.seq >= 0))
        onSnapshot(index);
}

bool IncidentAnalyzer::leaveItemToSource(qint64 index, const SessionEvent& event)
{
    // While nothing is wrong, foldItem() only notes an item for the source to fold and its seq.
    // The client decoded both into the event (its delta's keys as parts, its seq), so the frame
    // is neither read back nor parsed. A reload starts an incident: foldItem() handles that.
    if (!m_treeSource || m_open || m_shadowsInFlight > 0 || m_unfolded.size() >= kMaxUnfolded || (event.parts & PartReload))
        return false;
    clearHistory(); // as foldItem() with nothing open
    // A frame without a response.delta object has no parts: nothing to note, as foldItem() finds
    // (its event's seq, if any, is the response's, not a delta's).
    if (event.parts & PartData)
        m_unfolded.push_back(index);
    if ((event.parts & PartSeq) && event.seq >= 0)
        m_lastSeq = event.seq;
    return true;
}

void IncidentAnalyzer::bringTreesUpToDate()
{
    if (m_unfolded.empty() || adoptSourceTrees())
        return;
    for (const qint64 index : m_unfolded) {
        const QByteArray frame = m_log ? m_log->payload(index) : QByteArray();
        const StreamItemFold item(frame);
        if (item.delta().ok && item.delta().hasData)
            foldIntoTrees(item, index);
    }
    m_unfolded.clear();
}

void IncidentAnalyzer::foldIntoTrees(const StreamItemFold& item, qint64 index)
{
    // Only the trees matter here, not what each delta changed.
    item.foldInto(m_tree, index, m_foldScratch, DocumentTree::ChangeDetail::None);
    item.foldInto(m_merged, index, m_foldScratch, DocumentTree::ChangeDetail::None);
    ++m_itemsFoldedHere;
}

bool IncidentAnalyzer::adoptSourceTrees()
{
    // The source has folded exactly the events handled here when its last one is the same (each
    // folds every item of the current stream, from the same log).
    if (!m_treeSource || m_treeSource->lastDocumentEvent() != m_lastDocumentEvent
        || m_treeSource->streamRequestId() != m_streamId || m_treeSource->epoch() != m_epoch)
        return false;
    m_tree = m_treeSource->epochTree();
    m_merged = m_treeSource->mergedTree();
    m_unfolded.clear();
    m_sourceCopy.reset();
    return true;
}

void IncidentAnalyzer::takeSourceCopy()
{
    // The source's trees as of the event just handled take the place of everything left unfolded.
    if (!m_unfolded.empty() && m_sourceCopy->streamId == m_streamId && m_sourceCopy->epoch == m_epoch) {
        m_tree = std::move(m_sourceCopy->tree);
        m_merged = std::move(m_sourceCopy->merged);
        m_unfolded.clear();
    }
    m_sourceCopy.reset();
}

void IncidentAnalyzer::copySourceTrees()
{
    const qint64 sourceAt = m_treeSource->lastDocumentEvent();
    if (m_sourceCopy || sourceAt <= m_lastDocumentEvent)
        return; // one is kept already, for an event not handled yet; or the source is not ahead
    m_sourceCopy = SourceCopy { sourceAt, m_treeSource->epochTree(), m_treeSource->mergedTree(), m_treeSource->streamRequestId(),
        m_treeSource->epoch() };
}

void IncidentAnalyzer::onSnapshot(qint64 index)
{
    m_open->awaitingSnapshot = false;
    m_open->streamDivergence.clear(); // a fresh snapshot replaced the tree the anomalies were in
    m_open->snapshotNs = m_log->at(index).monotonicNs;
    m_open->snapshotSeq = m_lastSeq;
    if (m_shadowTarget && m_options.shadowAfterResync)
        scheduleCheck(0);
    else
        scheduleCheck(m_options.settleMs);
}

void IncidentAnalyzer::scheduleCheck(qint64 delayMs) { m_checkTimer.start(int(delayMs)); }

void IncidentAnalyzer::checkNow() { startShadow(true); }

void IncidentAnalyzer::startShadow(bool onDemand)
{
    if (!onDemand && m_open && !m_open->holding.isEmpty() && m_open->snapshotNs < 0)
        return; // the hold's end (or a resync) brings the check back
    if (!m_shadowTarget) {
        if (m_open && !m_open->awaitingSnapshot && !onDemand && stillRecovering()) {
            // Still reconnecting (or stalled): nothing to judge yet. Streaming again, or its
            // resync, brings the check back.
            return;
        }
        if (m_open && !m_open->awaitingSnapshot && !onDemand) {
            // No truth to compare with: the verdict rests on what the stream showed.
            const bool anyStale = !stalePaths().incident.isEmpty();
            const IncidentVerdict verdict = knownDiverged() ? IncidentVerdict::Diverged
                : anyStale                                     ? IncidentVerdict::ConvergedStale
                                                               : IncidentVerdict::Converged;
            close(verdict, false,
                { { QStringLiteral("note"),
                    QStringLiteral("no shadow connection: verdict not checked against the truth") } });
        } else if (onDemand) {
            Q_EMIT divergenceChecked({ { QStringLiteral("ok"), false },
                { QStringLiteral("error"), QStringLiteral("no shadow target set") } });
        }
        return;
    }
    // A resync under way brings its own check when its snapshot arrives.
    if (m_open && m_open->awaitingSnapshot && !onDemand)
        return;
    if (m_open)
        m_open->checking = true;
    rememberCurrentTree();
    ++m_shadowsInFlight;
    const quint64 generation = ++m_generation;
    auto* fetcher = new ShadowFetcher(*m_shadowTarget, this);
    fetcher->setInsecure(m_shadowInsecure);
    const QElapsedTimer started = [] {
        QElapsedTimer timer;
        timer.start();
        return timer;
    }();
    connect(
        fetcher, &ShadowFetcher::finished, this, [this, fetcher, onDemand, generation](const ShadowSnapshot& snapshot) {
            fetcher->deleteLater();
            if (generation != m_generation && !onDemand) {
                --m_shadowsInFlight;
                return; // a newer check superseded this one
            }
            if (!snapshot.ok) {
                --m_shadowsInFlight;
                const QJsonObject result { { QStringLiteral("ok"), false },
                    { QStringLiteral("error"), snapshot.error } };
                if (onDemand)
                    Q_EMIT divergenceChecked(result);
                if (m_open && !onDemand) {
                    m_open->checking = false;
                    const QString note = QStringLiteral("shadow check failed: ") + snapshot.error;
                    if (m_open->notes.isEmpty() || m_open->notes.last().toString() != note)
                        m_open->notes.append(note);
                    if (m_open->awaitingSnapshot)
                        return;
                    if (stillRecovering()) {
                        // The client is still recovering, likely from what made the shadow fail (a
                        // server that is down): no verdict yet. Its resync brings a check; until
                        // then look again now and then, a bounded number of times.
                        if (++m_open->postponed <= kMaxPostponed)
                            scheduleCheck(m_options.settleMs);
                        return;
                    }
                    if (m_open->snapshotNs < 0 && !clientStreaming()) {
                        // Lost, never resynced, and no longer trying (the session ended or the
                        // client was closed): nothing says its tree is whole, as finish() judges.
                        m_open->notes.append(QStringLiteral("the client had not recovered (state %1)").arg(m_state));
                        close(IncidentVerdict::Diverged, false, result);
                        return;
                    }
                    close(knownDiverged() ? IncidentVerdict::Diverged : IncidentVerdict::Converged, false, result);
                }
                return;
            }
            // The client may not have reached the shadow's seq yet: wait for it, bounded.
            auto waited = std::make_shared<QElapsedTimer>();
            waited->start();
            auto attempt = std::make_shared<std::function<void()>>();
            *attempt = [this, snapshot, onDemand, waited, attempt, generation] {
                if (generation != m_generation && !onDemand) {
                    --m_shadowsInFlight;
                    return;
                }
                // A client whose session is over gets no further: no wait for it.
                if (m_lastSeq >= snapshot.seq || waited->elapsed() >= m_options.compareWaitMs || (m_finishing && !clientStreaming())) {
                    --m_shadowsInFlight;
                    compareWith(snapshot, onDemand, waited->elapsed());
                    return;
                }
                QTimer::singleShot(20, this, *attempt);
            };
            (*attempt)();
        });
    Q_UNUSED(started)
    fetcher->fetch(int(m_options.shadowTimeoutMs));
}

void IncidentAnalyzer::compareWith(const ShadowSnapshot& truth, bool onDemand, qint64 waitedMs)
{
    // The client's tree at the shadow's seq (or the latest at or before it: items at seqs this
    // viewer never got changed nothing it can see).
    qint64 clientSeq = -1;
    const DocumentTree client = clientTreeAt(truth.seq, &clientSeq);
    const bool exact = clientSeq == truth.seq;
    if (!onDemand && m_open && m_lastSeq < truth.seq && m_finishing && !clientStreaming()) {
        // The session is over and its stream with it: the client cannot reach the truth's seq any
        // more, and the truth has moved on past what it shows. No check can judge; finish() says so.
        m_open->checking = false;
        m_checkTimer.stop();
        m_open->notes.append(QStringLiteral("the session ended at seq %1, before the truth (seq %2) could be compared").arg(m_lastSeq).arg(truth.seq));
        return;
    }
    if (!onDemand && m_open && m_lastSeq < truth.seq) {
        // The client never reached the truth's seq: it is stalled or reconnecting, not (yet)
        // wrong. Look again later; a resync schedules its own check.
        m_open->checking = false;
        if (++m_open->postponed <= kMaxPostponed) {
            scheduleCheck(m_options.settleMs);
            return;
        }
        m_open->notes.append(QStringLiteral("the client never caught up with seq %1 of the truth").arg(truth.seq));
    }
    const TreeDiff diff = diffTrees(client, truth.tree);
    QJsonObject comparison { { QStringLiteral("ok"), true }, { QStringLiteral("truthSeq"), truth.seq },
        { QStringLiteral("clientSeq"), clientSeq }, { QStringLiteral("exactSeq"), exact },
        { QStringLiteral("equal"), diff.isEmpty() }, { QStringLiteral("shadowBytes"), truth.bytes },
        { QStringLiteral("shadowMs"), truth.elapsedMs }, { QStringLiteral("waitedMs"), waitedMs },
        { QStringLiteral("differences"), diffJson(diff) } };
    Q_EMIT divergenceChecked(comparison);
    if (!m_open) {
        if (diff.isEmpty() || !onDemand)
            return;
        // An on-demand check found a divergence nobody saw coming.
        openIncident(m_log->size() - 1, QStringLiteral("on-demand check found a divergence"));
        trouble(m_log->size() - 1, QStringLiteral("shadow comparison"),
            QStringLiteral("the client's tree differs from a fresh snapshot"));
    }
    m_open->checking = false;
    if (!diff.isEmpty()) {
        if (m_open->detectedNs < 0) {
            m_open->detectedNs = now();
            m_open->detectedHow = QStringLiteral("shadow comparison");
            m_open->detectedReason
                = QStringLiteral("the client's tree differs from a fresh snapshot at seq %1").arg(truth.seq);
        }
        close(IncidentVerdict::Diverged, true, comparison);
        return;
    }
    close(stalePaths().incident.isEmpty() ? IncidentVerdict::Converged : IncidentVerdict::ConvergedStale, true, comparison);
}

IncidentAnalyzer::StalePaths IncidentAnalyzer::stalePaths()
{
    bringTreesUpToDate();
    const TreeDiff stale = diffTrees(m_tree, m_merged);
    StalePaths split;
    for (const QStringList* paths : { &stale.added, &stale.changed }) {
        for (const QString& path : *paths) {
            // Under a quirk list: the list itself or anything in it (a/b/list/3), by its prefixes.
            bool underQuirk = false;
            for (qsizetype end = 0; !underQuirk && end >= 0; end = path.indexOf(QLatin1Char('/'), end + 1))
                underQuirk = end > 0 && m_quirkValueLists.count(path.left(end)) > 0;
            underQuirk = underQuirk || m_quirkValueLists.count(path) > 0;
            (underQuirk ? split.quirk : split.incident).append(path);
        }
    }
    return split;
}

QJsonObject IncidentAnalyzer::inFlightReport() const
{
    QJsonArray sends;
    const qint64 snapshotSeq = m_open->snapshotSeq;
    const qint64 beforeSeq = m_open->beforeSeq;
    for (qint64 id : m_open->inFlight) {
        const auto it = m_sends.find(id);
        if (it == m_sends.end())
            continue;
        const Send& send = it->second;
        QJsonObject entry { { QStringLiteral("requestId"), id }, { QStringLiteral("method"), send.method },
            { QStringLiteral("channel"), send.channel } };
        QString applied;
        QString why;
        if (send.ackSeq >= 0) {
            applied = QStringLiteral("yes");
            why = QStringLiteral("acknowledged with seq %1").arg(send.ackSeq);
            entry.insert(QStringLiteral("seq"), send.ackSeq);
            if (snapshotSeq >= 0)
                entry.insert(QStringLiteral("inNewSnapshot"), send.ackSeq <= snapshotSeq);
        } else if (send.answered && send.failure > 0) {
            applied = QStringLiteral("no");
            why = QStringLiteral("the server refused it with %1").arg(send.failure);
        } else if (snapshotSeq >= 0 && beforeSeq >= 0 && snapshotSeq == beforeSeq) {
            applied = QStringLiteral("no");
            why = QStringLiteral("no transaction happened while away (seq %1 before and in the new snapshot)")
                      .arg(snapshotSeq);
        } else if (snapshotSeq >= 0 && beforeSeq >= 0) {
            applied = QStringLiteral("unknown");
            why = QStringLiteral(
                "the ack was lost; %1 transaction(s) (seq %2 to %3) happened while away and any may be it: "
                "the protocol carries no send id in deltas, only send-once with a dedupe token makes a retry safe")
                      .arg(snapshotSeq - beforeSeq)
                      .arg(beforeSeq + 1)
                      .arg(snapshotSeq);
        } else {
            applied = QStringLiteral("unknown");
            why = QStringLiteral("the ack was lost and no new snapshot arrived to bound it");
        }
        if (send.failure >= 0)
            entry.insert(QStringLiteral("failure"), send.failure);
        entry.insert(QStringLiteral("applied"), applied);
        entry.insert(QStringLiteral("why"), why);
        sends.append(entry);
    }
    return { { QStringLiteral("sends"), sends }, { QStringLiteral("count"), sends.size() } };
}

void IncidentAnalyzer::close(IncidentVerdict verdict, bool verified, const QJsonObject& comparison)
{
    if (!m_open)
        return;
    m_checkTimer.stop();
    ++m_generation;
    Incident& incident = *m_open;
    // Never before the log's last event: the log is appended in time order, and events may have
    // arrived that this analyzer has not been told of yet (notifications come in batches).
    const qint64 lastLoggedNs = m_log && m_log->size() > 0 ? m_log->at(m_log->size() - 1).monotonicNs : 0;
    const qint64 closedNs = std::max({ now(), incident.openedNs, lastLoggedNs });
    auto relative
        = [&](qint64 ns) { return ns >= 0 ? QJsonValue(msOf(ns - incident.openedNs)) : QJsonValue(QJsonValue::Null); };
    // null where there is none (no seq reached, no new stream), rather than a number that reads as one
    const auto seqOrNull = [](qint64 seq) { return seq >= 0 ? QJsonValue(seq) : QJsonValue(QJsonValue::Null); };
    if (verdict == IncidentVerdict::Diverged && incident.snapshotNs < 0) {
        m_divergedEpoch = m_epoch;
        incident.notes.append(QStringLiteral("the client's tree stays diverged until a new stream replaces it: fold anomalies in epoch %1 "
                                             "from here on are its consequences and open no incident of their own")
                .arg(m_epoch));
    }
    const qint64 convergedNs = incident.snapshotNs >= 0 ? incident.snapshotNs : closedNs;
    QJsonObject report {
        { QStringLiteral("incident"), incident.number },
        { QStringLiteral("verdict"), incidentVerdictName(verdict) },
        { QStringLiteral("verified"), verified },
        { QStringLiteral("trigger"), incident.trigger },
        { QStringLiteral("openedAtMs"), msOf(incident.openedNs) },
        { QStringLiteral("openedAtEvent"), incident.openedEvent },
        { QStringLiteral("corrupting"), incident.corrupting },
        { QStringLiteral("faults"), incident.faults },
        { QStringLiteral("detection"),
            QJsonObject { { QStringLiteral("afterMs"), relative(incident.detectedNs) },
                { QStringLiteral("how"),
                    incident.detectedHow.isEmpty() ? QJsonValue(QJsonValue::Null) : QJsonValue(incident.detectedHow) },
                { QStringLiteral("reason"), incident.detectedReason } } },
        { QStringLiteral("reconnects"), incident.reconnects },
        { QStringLiteral("states"), incident.states },
        { QStringLiteral("resync"),
            QJsonObject { { QStringLiteral("newStreamAfterMs"), relative(incident.resyncEpochNs) },
                { QStringLiteral("epochBefore"), qint64(incident.beforeEpoch) },
                { QStringLiteral("epochAfter"), incident.resyncEpoch > 0 ? QJsonValue(qint64(incident.resyncEpoch)) : QJsonValue(QJsonValue::Null) },
                { QStringLiteral("snapshotAfterMs"), relative(incident.snapshotNs) },
                { QStringLiteral("seqBefore"), seqOrNull(incident.beforeSeq) },
                { QStringLiteral("snapshotSeq"), seqOrNull(incident.snapshotSeq) },
                { QStringLiteral("bytesRefetched"), incident.refetchBytes },
                { QStringLiteral("framesRefetched"), incident.refetchFrames } } },
        { QStringLiteral("timeToConvergeMs"),
            verdict == IncidentVerdict::Converged || verdict == IncidentVerdict::ConvergedStale
                ? QJsonValue(msOf(convergedNs - incident.openedNs))
                : QJsonValue(QJsonValue::Null) },
        { QStringLiteral("closedAtMs"), msOf(closedNs) },
        { QStringLiteral("comparison"), comparison },
        { QStringLiteral("inFlight"), inFlightReport() },
        { QStringLiteral("notes"), incident.notes },
        { QStringLiteral("notesNotListed"), incident.notesDropped },
    };
    // The stale paths after a resync; and, without one, whenever they are what made the verdict
    // converged-stale (a key a merging client kept through an @o it missed), so it says why.
    if (incident.snapshotNs >= 0 || verdict == IncidentVerdict::ConvergedStale) {
        const StalePaths stale = stalePaths();
        if (incident.snapshotNs >= 0)
            report.insert(QStringLiteral("changedWhileAway"), diffJson(diffTrees(incident.before, m_tree)));
        report.insert(QStringLiteral("stalePaths"), limitedPaths(stale.incident));
        report.insert(QStringLiteral("staleCount"), stale.incident.size());
        if (!stale.quirk.isEmpty()) {
            report.insert(QStringLiteral("quirkStalePaths"), limitedPaths(stale.quirk));
            report.insert(QStringLiteral("quirkStaleCount"), stale.quirk.size());
        }
    }
    if (!incident.versionAfter.isEmpty() || incident.reload) {
        report.insert(QStringLiteral("version"),
            QJsonObject { { QStringLiteral("mismatch"), !incident.versionAfter.isEmpty() },
                { QStringLiteral("sessionVersion"), m_firstVersion },
                { QStringLiteral("before"), incident.versionBefore },
                { QStringLiteral("after"), incident.versionAfter.isEmpty() ? QJsonValue(QJsonValue::Null) : QJsonValue(incident.versionAfter) },
                { QStringLiteral("reload"), incident.reload } });
    }
    m_open.reset();
    m_closed.append(report);
    qCInfo(lcSession).noquote() << "incident" << report.value(QLatin1String("incident")).toInt()
                                << "closed:" << incidentVerdictName(verdict);
    if (m_log) {
        SessionEvent event;
        event.kind = EventKind::Incident;
        event.direction = Direction::Local;
        event.monotonicNs = closedNs;
        event.wallMs = QDateTime::currentMSecsSinceEpoch();
        event.epoch = m_epoch;
        event.code = qint32(verdict);
        if (verdict == IncidentVerdict::Diverged)
            event.flags |= FlagCorrupting;
        m_log->append(event, QJsonDocument(report).toJson(QJsonDocument::Compact));
    }
    Q_EMIT incidentClosed(report);
}

void IncidentAnalyzer::catchUp()
{
    // Events appended since the last batch count too.
    if (m_log)
        m_log->flushNotifications();
    handleAppended(true);
}

void IncidentAnalyzer::finishWithin(int waitMs)
{
    // What the log holds and has not been handled yet (a slice per turn) may open an incident.
    catchUp();
    m_finishing = true;
    // An event loop that sleeps between events (processEvents() in a loop would spin a core
    // while a check's timer or fetch is pending), looked in on every 20 ms.
    QElapsedTimer waited;
    waited.start();
    QEventLoop loop;
    QTimer look;
    look.setInterval(20);
    connect(&look, &QTimer::timeout, &loop, [&] {
        if (!checkComing() || waited.elapsed() >= waitMs)
            loop.quit();
    });
    if (checkComing() && waitMs > 0) {
        look.start();
        loop.exec();
    }
    finish();
}

bool IncidentAnalyzer::checkComing() const
{
    if (!m_open)
        return false;
    if (m_shadowsInFlight > 0)
        return true;
    // A scheduled check closes the incident if it gets to judge: with a truth to fetch unless a
    // resync is still awaited, without one unless the client is still on its way back.
    if (!m_checkTimer.isActive() || m_open->awaitingSnapshot)
        return false;
    return m_shadowTarget.has_value() || !stillRecovering();
}

void IncidentAnalyzer::finish()
{
    if (m_finished)
        return;
    // Events appended since the last batch (the session's final state change) count too.
    catchUp();
    m_finished = true;
    if (!m_open)
        return;
    if (m_state == QLatin1String("failed")) {
        close(IncidentVerdict::GaveUp, true, {});
        return;
    }
    m_open->notes.append(QStringLiteral("the session ended before the incident was checked against the truth"));
    const bool resynced = m_open->snapshotNs >= 0;
    const bool healthy = clientStreaming();
    // Unverified: a resync or an untroubled stream count as whole, a corrupting fault without a
    // resync, or a client still recovering, do not.
    const bool whole = resynced ? m_open->streamDivergence.isEmpty() : (healthy && !knownDiverged());
    if (!whole && !healthy)
        m_open->notes.append(QStringLiteral("the client had not recovered (state %1)").arg(m_state));
    close(whole ? IncidentVerdict::Converged : IncidentVerdict::Diverged, false, {});
}

}
