#include "ui/models/documenttreemodel.h"

namespace deltascope::ui {

namespace {
constexpr qsizetype kMaxValueText = 256; // the full value stays available through the tree
}

DocumentTreeModel::DocumentTreeModel(QObject* parent)
    : QAbstractItemModel(parent)
{
}

DocumentTreeModel::~DocumentTreeModel()
{
    if (m_tree)
        m_tree->removeListener(this);
}

void DocumentTreeModel::setTree(DocumentTree* tree)
{
    if (tree == m_tree)
        return;
    beginResetModel();
    if (m_tree)
        m_tree->removeListener(this);
    m_tree = tree;
    if (m_tree)
        m_tree->addListener(this);
    endResetModel();
}

QModelIndex DocumentTreeModel::indexOfNode(NodeId node, int column) const
{
    if (!m_tree || node == kNoNode || node == m_tree->root() || !m_tree->contains(node))
        return {};
    const int row = m_tree->row(node);
    if (row < 0)
        return {};
    return createIndex(row, column, quintptr(node));
}

NodeId DocumentTreeModel::nodeOf(const QModelIndex& index) const
{
    if (!m_tree)
        return kNoNode;
    return index.isValid() ? NodeId(index.internalId()) : m_tree->root();
}

QModelIndex DocumentTreeModel::index(int row, int column, const QModelIndex& parent) const
{
    if (!m_tree || row < 0 || column < 0 || column >= ColumnCount || (parent.isValid() && parent.column() != 0))
        return {};
    const NodeId child = m_tree->child(nodeOf(parent), row);
    return child == kNoNode ? QModelIndex() : createIndex(row, column, quintptr(child));
}

QModelIndex DocumentTreeModel::parent(const QModelIndex& child) const
{
    if (!m_tree || !child.isValid())
        return {};
    return indexOfNode(m_tree->parent(NodeId(child.internalId())));
}

int DocumentTreeModel::rowCount(const QModelIndex& parent) const
{
    if (!m_tree || (parent.isValid() && parent.column() != 0))
        return 0;
    return m_tree->childCount(nodeOf(parent));
}

int DocumentTreeModel::columnCount(const QModelIndex&) const { return ColumnCount; }

bool DocumentTreeModel::hasChildren(const QModelIndex& parent) const { return rowCount(parent) > 0; }

QString DocumentTreeModel::valueText(const DocumentTree& tree, NodeId node)
{
    switch (tree.kind(node)) {
    case NodeKind::Object: {
        const int n = tree.childCount(node);
        return n == 1 ? QStringLiteral("{1 key}") : QStringLiteral("{%1 keys}").arg(n);
    }
    case NodeKind::RecordList:
    case NodeKind::ValueList:
    case NodeKind::RawArray: {
        QString text = QStringLiteral("[%1]").arg(tree.childCount(node));
        if (tree.kind(node) == NodeKind::RecordList && tree.hiddenElementCount(node) > 0)
            text += QStringLiteral(" + %1 hidden").arg(tree.hiddenElementCount(node));
        return text;
    }
    default: {
        QString text = QString::fromUtf8(tree.toJson(node, false));
        if (text.size() > kMaxValueText)
            text = text.left(kMaxValueText) + QStringLiteral("\u2026");
        return text;
    }
    }
}

QString DocumentTreeModel::kindText(const DocumentTree& tree, NodeId node)
{
    QString text = nodeKindName(tree.kind(node));
    if (tree.looksLikeLong(node))
        text += QStringLiteral(" (long)");
    return text;
}

QVariant DocumentTreeModel::data(const QModelIndex& index, int role) const
{
    if (!m_tree || !index.isValid())
        return {};
    const NodeId node = NodeId(index.internalId());
    if (!m_tree->contains(node))
        return {};
    switch (role) {
    case Qt::DisplayRole:
        switch (index.column()) {
        case KeyColumn:
            return m_tree->key(node);
        case ValueColumn:
            return valueText(*m_tree, node);
        case KindColumn:
            return kindText(*m_tree, node);
        }
        return {};
    case Qt::ToolTipRole:
        if (index.column() == ValueColumn && m_tree->kind(node) == NodeKind::String)
            return m_tree->stringValue(node).left(4096);
        return m_tree->path(node);
    case SortRole:
        switch (index.column()) {
        case KeyColumn: {
            bool ok = false;
            const qlonglong number = m_tree->key(node).toLongLong(&ok);
            return ok ? QVariant(number) : QVariant(m_tree->key(node));
        }
        case ValueColumn:
            switch (m_tree->kind(node)) {
            case NodeKind::Integer:
                return QVariant(qlonglong(m_tree->integerValue(node)));
            case NodeKind::Double:
                return m_tree->doubleValue(node);
            case NodeKind::Bool:
                return m_tree->boolValue(node);
            case NodeKind::String:
                return m_tree->looksLikeLong(node) ? QVariant(qlonglong(m_tree->integerValue(node))) : QVariant(m_tree->stringValue(node));
            default:
                return m_tree->childCount(node);
            }
        default:
            return kindText(*m_tree, node);
        }
    case NodeIdRole:
        return QVariant::fromValue(qulonglong(node));
    case PathRole:
        return m_tree->path(node);
    case KindRole:
        return int(m_tree->kind(node));
    case LastChangedEventRole:
        return QVariant::fromValue(qlonglong(m_tree->lastChangedBy(node)));
    case CreatedEventRole:
        return QVariant::fromValue(qlonglong(m_tree->createdBy(node)));
    case LooksLikeLongRole:
        return m_tree->looksLikeLong(node);
    default:
        return {};
    }
}

QVariant DocumentTreeModel::headerData(int section, Qt::Orientation orientation, int role) const
{
    if (orientation != Qt::Horizontal || role != Qt::DisplayRole)
        return {};
    switch (section) {
    case KeyColumn:
        return tr("Key");
    case ValueColumn:
        return tr("Value");
    case KindColumn:
        return tr("Kind");
    }
    return {};
}

QHash<int, QByteArray> DocumentTreeModel::roleNames() const
{
    QHash<int, QByteArray> names = QAbstractItemModel::roleNames();
    names.insert(SortRole, "sort");
    names.insert(NodeIdRole, "nodeId");
    names.insert(PathRole, "path");
    names.insert(KindRole, "kind");
    names.insert(LastChangedEventRole, "lastChangedEvent");
    names.insert(CreatedEventRole, "createdEvent");
    names.insert(LooksLikeLongRole, "looksLikeLong");
    return names;
}

// The tree calls these before and after it mutates, with its rows as they are at that moment, so
// the ranges go to Qt unchanged.
void DocumentTreeModel::aboutToInsert(NodeId parent, int first, int last) { beginInsertRows(indexOfNode(parent), first, last); }
void DocumentTreeModel::inserted(NodeId parent, int, int)
{
    endInsertRows();
    summaryChanged(parent);
}
void DocumentTreeModel::aboutToRemove(NodeId parent, int first, int last) { beginRemoveRows(indexOfNode(parent), first, last); }
void DocumentTreeModel::removed(NodeId parent, int, int)
{
    endRemoveRows();
    summaryChanged(parent);
}

void DocumentTreeModel::summaryChanged(NodeId container)
{
    // The Value column of a container summarises its children ("[3]").
    const QModelIndex index = indexOfNode(container, ValueColumn);
    if (index.isValid())
        Q_EMIT dataChanged(index, index, { Qt::DisplayRole, SortRole });
}

void DocumentTreeModel::aboutToMove(NodeId parent, int first, int last, int destination)
{
    const QModelIndex index = indexOfNode(parent);
    beginMoveRows(index, first, last, index, destination);
}

void DocumentTreeModel::moved(NodeId, int, int, int) { endMoveRows(); }

void DocumentTreeModel::valueChanged(NodeId node)
{
    const QModelIndex first = indexOfNode(node, KeyColumn);
    if (first.isValid())
        Q_EMIT dataChanged(first, first.siblingAtColumn(ColumnCount - 1));
}

void DocumentTreeModel::aboutToReset() { beginResetModel(); }
void DocumentTreeModel::reset() { endResetModel(); }

}
