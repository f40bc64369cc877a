#pragma once

#include "core/document/documenttree.h"

#include <QAbstractItemModel>
#include <QElapsedTimer>
#include <QHash>
#include <QSet>
#include <QTimer>

#include <deque>

namespace deltascope::ui {

// A tree model over a DocumentTree. It listens to the tree and replays each structural change with
// the exact begin/end Insert/Remove/Move rows calls (never a reset on deltas), so views keep their
// selection and expansion while deltas stream in. Item internal ids are the tree's NodeIds.
// The tree must outlive the model, or be detached with setTree(nullptr) first.
class DocumentTreeModel final : public QAbstractItemModel, private DocumentListener
{
    Q_OBJECT

public:
    enum Columns { KeyColumn, ValueColumn, KindColumn, ColumnCount };
    enum Roles {
        SortRole = Qt::UserRole + 1, // key (numbers numerically) / scalar value / kind name
        NodeIdRole, // qulonglong NodeId
        PathRole, // document path ("players/9/name")
        KindRole, // int(NodeKind)
        LastChangedEventRole, // qlonglong event index of the last change at or below the node (-1: none)
        CreatedEventRole, // qlonglong event index that created the node
        LooksLikeLongRole, // bool: a string holding a long, as Adama sends longs
        ChangeHighlightRole, // qreal 0..1: how strongly the node shows a recent change (flash and fade)
        AnomalyRole, // QStringList: anomalies reported at this node (empty: none)
        AnomaliesBelowRole, // int: nodes below this one that carry anomaly marks (a collapsed row still shows them)
        StaleRole, // bool: a stale path (in the merged tree, absent from the fresh epoch tree)
    };

    explicit DocumentTreeModel(QObject* parent = nullptr);
    ~DocumentTreeModel() override;

    // Shows another tree (model reset). nullptr shows nothing.
    void setTree(DocumentTree* tree);
    // The tree is being destroyed without a setTree(nullptr) first: forget it without touching it.
    void forgetTree();
    DocumentTree* tree() const { return m_tree; }

    QModelIndex indexOfNode(NodeId node, int column = 0) const;
    NodeId nodeOf(const QModelIndex& index) const;

    QModelIndex index(int row, int column, const QModelIndex& parent = {}) const override;
    QModelIndex parent(const QModelIndex& child) const override;
    int rowCount(const QModelIndex& parent = {}) const override;
    int columnCount(const QModelIndex& parent = {}) const override;
    bool hasChildren(const QModelIndex& parent = {}) const override;
    QVariant data(const QModelIndex& index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation orientation, int role = Qt::DisplayRole) const override;
    QHash<int, QByteArray> roleNames() const override;

    // The text the Value column shows for a node: compact JSON for scalars (long strings cut),
    // a summary for containers ("record list, 3").
    static QString valueText(const DocumentTree& tree, NodeId node);
    static QString kindText(const DocumentTree& tree, NodeId node);

    // --- change highlighting -------------------------------------------------------------------
    // The view calls this for every folded delta (the event index the tree records as provenance).
    // A node whose last change is that event flashes and fades over flashDurationMs(); a container
    // flashes at half strength when the change was below it. With keepLastDelta, the last delta's
    // nodes stay highlighted until the next one.
    void noteFolded(qint64 eventIndex);
    void setKeepLastDeltaHighlighted(bool keep);
    bool keepLastDeltaHighlighted() const { return m_keepLastDelta; }
    int flashDurationMs() const { return m_flashMs; }
    void setFlashDurationMs(int ms) { m_flashMs = ms; }
    bool hasFadingHighlights() const; // true while some highlight is still fading
    qreal changeHighlight(NodeId node) const;

    // --- marks -------------------------------------------------------------------------------------
    // An anomaly at a document path: marked on that node, or on its nearest existing ancestor.
    void addAnomaly(const QString& path, const QString& kind, qint64 eventIndex, const QString& message);
    void clearAnomalies();
    int anomalyCount() const { return int(m_anomalies.size()); }
    QStringList anomaliesAt(NodeId node) const;
    // How many marked nodes lie below `node` (its own marks not counted).
    int anomaliesBelow(NodeId node) const;
    // Paths shown as stale (for the merged tree a reference client holds).
    void setStalePaths(const QStringList& paths);
    bool isStale(NodeId node) const;

private:
    void aboutToInsert(NodeId parent, int first, int last) override;
    void inserted(NodeId parent, int first, int last) override;
    void aboutToRemove(NodeId parent, int first, int last) override;
    void removed(NodeId parent, int first, int last) override;
    void aboutToMove(NodeId parent, int first, int last, int destination) override;
    void moved(NodeId parent, int first, int last, int destination) override;
    void valueChanged(NodeId node) override;
    void aboutToReset() override;
    void reset() override;
    void summaryChanged(NodeId container);
    void scheduleRowChanged(NodeId node);
    void flushChanged();

    void refreshMarks(const QSet<QString>& paths);
    void forgetNodeState(bool forgetFolds); // pending changes and stale marks; with forgetFolds, recent folds and anomaly marks too

    DocumentTree* m_tree = nullptr;
    static constexpr int kChangeFlushMs = 16; // about a frame
    QSet<NodeId> m_pendingChanged; // rows whose data changed since the last flush
    QTimer m_flushTimer;
    // Recently folded events with the time they were folded, oldest first (for flash and fade).
    std::deque<std::pair<qint64, qint64>> m_recentFolds; // (event index, ms on m_clock)
    QElapsedTimer m_clock;
    qint64 m_lastFolded = -1;
    bool m_keepLastDelta = false;
    int m_flashMs = 1500;
    static constexpr int kMaxAnomaliesPerNode = 5;
    struct AnomalyMark {
        QStringList texts;
        qint64 count = 0;
    };
    QHash<QString, AnomalyMark> m_anomalies; // document path -> what happened there
    QHash<QString, QString> m_anomalyAnchors; // "kind|reported path" -> the path it is marked on
    // Document path -> marked paths strictly below it: kept as marks are added, so a row's paint
    // looks one path up rather than through every mark.
    QHash<QString, int> m_anomaliesBelow;
    QSet<QString> m_stale;
};

}
