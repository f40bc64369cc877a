#include "core/session/sessionfolder.h"

#include "core/protocol/envelope.h"
#include "core/session/streamitemfold.h"

#include <QJsonDocument>
#include <QJsonObject>

namespace deltascope {

QStringList ResyncReport::stalePaths() const
{
    QStringList paths = staleInMerged.added + staleInMerged.changed;
    for (const TreeDiff::Move& move : staleInMerged.moved)
        paths << move.listPath + QLatin1Char('/') + move.elementKey;
    paths.sort();
    paths.removeDuplicates();
    return paths;
}

SessionFolder::SessionFolder(QObject* parent)
    : QObject(parent)
{
    qRegisterMetaType<SessionAnomaly>();
    qRegisterMetaType<ResyncReport>();
}

SessionFolder::~SessionFolder() = default;

void SessionFolder::reset()
{
    m_epochTree.clear();
    m_mergedTree.clear();
    m_previousEpochTree = DocumentTree();
    m_lastResync = ResyncReport();
    m_epoch = 0;
    m_streamId = -1;
    m_lastSeq = -1;
    m_folded = 0;
    m_anomalyCount = 0;
    m_epochHasData = false;
    m_oldStreams.clear();
    m_lastDocumentEvent = -1;
}

SessionFolder::State SessionFolder::saveState() const
{
    return State { m_epochTree, m_mergedTree, m_previousEpochTree, m_lastResync, m_epoch, m_streamId, m_lastSeq, m_folded,
        m_anomalyCount, m_epochHasData, m_oldStreams, m_lastDocumentEvent };
}

void SessionFolder::restoreState(const State& state)
{
    m_epochTree = state.epochTree;
    m_mergedTree = state.mergedTree;
    m_previousEpochTree = state.previousEpochTree;
    m_lastResync = state.lastResync;
    m_epoch = state.epoch;
    m_streamId = state.streamId;
    m_lastSeq = state.lastSeq;
    m_folded = state.folded;
    m_anomalyCount = state.anomalyCount;
    m_epochHasData = state.epochHasData;
    m_oldStreams = state.oldStreams;
    m_lastDocumentEvent = state.lastDocumentEvent;
}

bool SessionAnomaly::isReferenceClientQuirk() const
{
    return kind == anomalyKindName(AnomalyKind::ValueListEditedWithoutSize)
        || kind == anomalyKindName(AnomalyKind::ReferenceClientDiffers);
}

TreeDiff SessionFolder::currentStaleDiff() const
{
    return diffTrees(m_epochTree, m_mergedTree);
}

void SessionFolder::report(const QString& kind, qint64 eventIndex, const QString& path, const QString& message)
{
    ++m_anomalyCount;
    Q_EMIT anomalyFound(SessionAnomaly { kind, eventIndex, m_epoch, path, message });
}

void SessionFolder::processEvent(const SessionEvent& event, QByteArrayView payload)
{
    if (event.kind == EventKind::EpochStarted || event.kind == EventKind::StreamItem)
        m_lastDocumentEvent = event.index;
    switch (event.kind) {
    case EventKind::EpochStarted: {
        // The epoch number and create id travel in the event (and in its payload for captures
        // written by other tools).
        quint32 epoch = event.epoch;
        qint64 requestId = event.requestId;
        const QJsonObject fields = QJsonDocument::fromJson(QByteArray(payload.data(), payload.size())).object();
        if (fields.contains(QStringLiteral("epoch")))
            epoch = quint32(fields.value(QStringLiteral("epoch")).toInteger());
        if (fields.contains(QStringLiteral("requestId")))
            requestId = fields.value(QStringLiteral("requestId")).toInteger(-1);
        if (m_streamId >= 0)
            m_oldStreams.insert(m_streamId, m_epoch);
        m_previousEpochTree = m_epochTree;
        m_epochTree.clear();
        m_epoch = epoch;
        m_streamId = requestId;
        m_lastSeq = -1;
        m_epochHasData = false;
        Q_EMIT epochStarted(m_epoch, m_streamId);
        break;
    }
    case EventKind::StreamItem:
        foldItem(event, payload);
        break;
    default:
        break;
    }
}

void SessionFolder::foldItem(const SessionEvent& event, QByteArrayView payload)
{
    if (event.requestId != m_streamId || m_streamId < 0) {
        if (m_oldStreams.contains(event.requestId))
            report(QStringLiteral("stream-item-for-old-connection"), event.index, QString(),
                QStringLiteral("stream item for connection %1 of epoch %2 arrived in epoch %3; not folded")
                    .arg(event.requestId).arg(m_oldStreams.value(event.requestId)).arg(m_epoch));
        else if (m_streamId < 0)
            report(QStringLiteral("item-without-epoch"), event.index, QString(),
                QStringLiteral("stream item for id %1 before any connection/create; not folded").arg(event.requestId));
        return; // other streams (stats, uploads) are not documents
    }
    const StreamItemFold item(payload);
    const StreamDelta& delta = item.delta();
    if (!delta.ok) {
        report(QStringLiteral("unparseable-item"), event.index, QString(), QStringLiteral("stream item not folded: %1").arg(delta.error));
        return;
    }
    // An item again (a duplicate, a late one) re-sends its values unchanged too: that is said as a
    // seq problem, not as a re-sent snapshot.
    const bool seqRepeated = delta.seq >= 0 && delta.seq <= m_lastSeq;
    if (delta.seq >= 0) {
        if (seqRepeated)
            report(QStringLiteral("seq-not-increasing"), event.index, QString(),
                QStringLiteral("seq %1 after seq %2 in epoch %3").arg(delta.seq).arg(m_lastSeq).arg(m_epoch));
        m_lastSeq = std::max(m_lastSeq, delta.seq);
    }
    if (!delta.hasData)
        return;
    const bool snapshot = !m_epochHasData;
    m_epochHasData = true;
    // Both results are members reused from item to item: a busy stream folds many thousands a second.
    FoldResult& result = m_epochResult;
    // The merged tree's change set is not reported (itemFolded carries the epoch tree's); its
    // listeners, provenance and anomalies are kept.
    item.foldInto(m_epochTree, event.index, result, DocumentTree::ChangeDetail::Full);
    item.foldInto(m_mergedTree, event.index, m_mergedResult, DocumentTree::ChangeDetail::None);
    ++m_folded;
    // Data that is not JSON comes as an InvalidJson anomaly, with the error, like every other.
    for (const Anomaly& anomaly : result.anomalies)
        report(anomalyKindName(anomaly.kind), event.index, anomaly.path, anomaly.message);
    if (!snapshot && !seqRepeated && result.unchangedValues >= kResentSnapshotValues) {
        // A server sends changed fields only: values it sends again unchanged mean it re-sent the
        // view's state, a whole snapshot inside the stream with no marker (adama-wire.md 7.4: a
        // transparent failover, or a hot deploy that re-created the views). It is merged, so keys
        // it leaves out, deleted or renamed meanwhile, stay in every client's tree.
        report(QStringLiteral("snapshot-resent"), event.index, QString(), resentSnapshotMessage(result.unchangedValues));
    }
    Q_EMIT itemFolded(event.index, result.changes);

    if (snapshot && m_epoch > 1) {
        ResyncReport resync;
        resync.epoch = m_epoch;
        resync.eventIndex = event.index;
        resync.staleInMerged = diffTrees(m_epochTree, m_mergedTree);
        resync.changedByResync = diffTrees(m_previousEpochTree, m_epochTree);
        m_lastResync = resync;
        Q_EMIT resyncCompared(resync);
    }
}

}
