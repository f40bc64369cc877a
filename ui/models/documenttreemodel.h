#pragma once

#include "core/document/documenttree.h"

#include <QAbstractItemModel>

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
    };

    explicit DocumentTreeModel(QObject* parent = nullptr);
    ~DocumentTreeModel() override;

    // Shows another tree (model reset). nullptr shows nothing.
    void setTree(DocumentTree* tree);
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

    DocumentTree* m_tree = nullptr;
};

}
