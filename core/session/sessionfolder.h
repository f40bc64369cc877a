#pragma once

#include "core/document/documenttree.h"
#include "core/session/sessionevent.h"

#include <QByteArrayView>
#include <QHash>
#include <QObject>
#include <QStringList>

namespace deltascope {

// Something the folder noticed while folding a stream: a fold anomaly from the document engine
// (kind = anomalyKindName) or a stream-level one ("seq-not-increasing", "snapshot-resent", "item-without-epoch",
// "unparseable-item", "stream-item-for-old-connection").
struct SessionAnomaly {
    QString kind;
    qint64 eventIndex = -1;
    quint32 epoch = 0;
    QString path; // document path when known
    QString message;

    // A fold the reference JS client would show differently although the server did nothing wrong
    // (a value list edited in place without `@s`, which Adama servers send on every such edit).
    // Worth marking on the node; not a sign of trouble in the stream.
    bool isReferenceClientQuirk() const;
};

// What a resync (a new epoch's first snapshot) showed.
struct ResyncReport {
    quint32 epoch = 0;
    qint64 eventIndex = -1; // the snapshot's event
    // Where the tree a merging client holds (old tree + snapshot merged over it) differs from the
    // fresh epoch tree: `added` are stale paths that survive only in the merged tree.
    TreeDiff staleInMerged;
    // What the resync changed relative to the previous epoch's last tree.
    TreeDiff changedByResync;
    QStringList stalePaths() const; // every path in staleInMerged, sorted
};

// Folds a session's stream items into document trees, from events alone, so a live EventLog and
// a replayed capture give the same result. Each connection/create (an EpochStarted event) starts
// an epoch with an empty tree; beside it, the merged tree is the one the reference client would
// hold (never reset, folded in FoldMode::ReferenceClient). Feed it every event in log order with
// its payload; it ignores what it does not need.
class SessionFolder : public QObject
{
    Q_OBJECT
public:
    explicit SessionFolder(QObject* parent = nullptr);
    ~SessionFolder() override;

    void processEvent(const SessionEvent& event, QByteArrayView payload);
    void reset(); // a new session: both trees empty, epoch 0

    // Everything the folder knows, copyable (trees share structure), for replay checkpoints:
    // restoreState(saveState()) after more events gives the state the folder had then. Listeners
    // on the trees are not part of the state; restoring does not emit signals.
    struct State {
        DocumentTree epochTree { FoldMode::Canonical };
        DocumentTree mergedTree { FoldMode::ReferenceClient };
        DocumentTree previousEpochTree;
        ResyncReport lastResync;
        quint32 epoch = 0;
        qint64 streamId = -1;
        qint64 lastSeq = -1;
        qint64 folded = 0;
        qint64 anomalyCount = 0;
        bool epochHasData = false;
        QHash<qint64, quint32> oldStreams;
        qint64 lastDocumentEvent = -1;
    };
    State saveState() const;
    void restoreState(const State& state);

    DocumentTree& epochTree() { return m_epochTree; }
    const DocumentTree& epochTree() const { return m_epochTree; }
    DocumentTree& mergedTree() { return m_mergedTree; }
    const DocumentTree& mergedTree() const { return m_mergedTree; }
    quint32 epoch() const { return m_epoch; }
    qint64 streamRequestId() const { return m_streamId; }
    qint64 lastSeq() const { return m_lastSeq; }
    bool epochHasData() const { return m_epochHasData; }
    qint64 foldedCount() const { return m_folded; }
    qint64 anomalyCount() const { return m_anomalyCount; }
    // The log index of the last EpochStarted or StreamItem event processed (-1: none): a reader of
    // the same log that has handled the same events last knows the trees are as of its position.
    qint64 lastDocumentEvent() const { return m_lastDocumentEvent; }
    // The epoch tree as the previous stream left it (empty before the second epoch).
    const DocumentTree& previousEpochTree() const { return m_previousEpochTree; }
    // Paths where the merged tree differs from the epoch tree right now.
    TreeDiff currentStaleDiff() const;
    const ResyncReport& lastResync() const { return m_lastResync; }

Q_SIGNALS:
    void epochStarted(quint32 epoch, qint64 requestId);
    // A stream item was folded into the epoch tree (changes as the engine reported them).
    void itemFolded(qint64 eventIndex, const deltascope::ChangeSet& changes);
    void anomalyFound(const deltascope::SessionAnomaly& anomaly);
    void resyncCompared(const deltascope::ResyncReport& report);

private:
    void report(const QString& kind, qint64 eventIndex, const QString& path, const QString& message);
    void foldItem(const SessionEvent& event, QByteArrayView payload);

    DocumentTree m_epochTree { FoldMode::Canonical };
    DocumentTree m_mergedTree { FoldMode::ReferenceClient };
    FoldResult m_epochResult;
    FoldResult m_mergedResult;
    DocumentTree m_previousEpochTree;
    ResyncReport m_lastResync;
    quint32 m_epoch = 0;
    qint64 m_streamId = -1;
    qint64 m_lastSeq = -1;
    qint64 m_folded = 0;
    qint64 m_anomalyCount = 0;
    bool m_epochHasData = false;
    QHash<qint64, quint32> m_oldStreams; // earlier connection/create ids -> their epoch
    qint64 m_lastDocumentEvent = -1;
};

}

Q_DECLARE_METATYPE(deltascope::SessionAnomaly)
Q_DECLARE_METATYPE(deltascope::ResyncReport)
