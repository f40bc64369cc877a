#include "ui/models/documenttreemodel.h"

#include <QColor>
#include <QGuiApplication>
#include <QPalette>

#include <algorithm>

namespace deltascope::ui {

namespace {
constexpr qsizetype kMaxValueText = 256; // the full value stays available through the tree
}

DocumentTreeModel::DocumentTreeModel(QObject* parent)
    : QAbstractItemModel(parent)
{
    m_clock.start();
    m_flushTimer.setSingleShot(true);
    m_flushTimer.setInterval(kChangeFlushMs);
    connect(&m_flushTimer, &QTimer::timeout, this, &DocumentTreeModel::flushChanged);
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
    // The fresh and the merged tree record the same event indexes and hold the same paths:
    // recent flashes and anomaly marks (kept by path) stay valid.
    forgetNodeState(false);
    endResetModel();
}

void DocumentTreeModel::forgetTree()
{
    beginResetModel();
    m_tree = nullptr;
    forgetNodeState(true);
    endResetModel();
}

void DocumentTreeModel::forgetNodeState(bool forgetFolds)
{
    m_pendingChanged.clear();
    m_stale.clear();
    if (forgetFolds) {
        m_anomalies.clear();
        m_anomalyAnchors.clear();
        m_anomaliesBelow.clear();
        m_recentFolds.clear();
        m_lastFolded = -1;
    }
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
        if (const int hidden = tree.kind(node) == NodeKind::RecordList ? tree.hiddenElementCount(node) : 0; hidden > 0)
            text += QStringLiteral(" + %1 hidden").arg(hidden);
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
        case KindColumn: {
            if (m_anomalies.isEmpty())
                return kindText(*m_tree, node);
            // First in the column, which is narrow: a mark of its own, else one for marks below
            // (the tooltip counts them). Painted for every row shown: the path is built once.
            const QString path = m_tree->path(node);
            if (m_anomalies.contains(path))
                return QString(QStringLiteral("\u26A0 ") + kindText(*m_tree, node));
            if (m_anomaliesBelow.value(path) > 0)
                return QString(QStringLiteral("\u26A0\u2193 ") + kindText(*m_tree, node));
            return kindText(*m_tree, node);
        }
        }
        return {};
    case Qt::ToolTipRole: {
        QString tip = index.column() == ValueColumn && m_tree->kind(node) == NodeKind::String
            ? m_tree->stringValue(node).left(4096)
            : m_tree->path(node);
        tip += tr("\ncreated by event %1, last changed by event %2").arg(m_tree->createdBy(node)).arg(m_tree->lastChangedBy(node));
        if (isStale(node))
            tip += tr("\nstale: the fresh snapshot no longer has this; a merging client still shows it");
        for (const QString& anomaly : anomaliesAt(node))
            tip += QStringLiteral("\n\u26A0 ") + anomaly;
        if (const int below = anomaliesBelow(node); below > 0)
            tip += below == 1 ? tr("\n\u26A0 1 node below has anomalies") : tr("\n\u26A0 %1 nodes below have anomalies").arg(below);
        return tip;
    }
    case Qt::BackgroundRole: {
        const qreal strength = changeHighlight(node);
        if (strength <= 0.0)
            return {};
        QColor color(255, 193, 7); // amber: visible on light and dark palettes
        color.setAlphaF(float(0.1 + 0.4 * strength));
        return color;
    }
    case Qt::ForegroundRole:
        if (!m_anomalies.isEmpty() && !anomaliesAt(node).isEmpty()) {
            // Readable on the amber of a recent change too (a busy list is nearly always
            // lit): a dark orange on a light base, a pale one on a dark base (about 4:1 either way).
            const bool darkBase = QGuiApplication::palette().color(QPalette::Base).lightness() < 128;
            return darkBase ? QColor(255, 190, 120) : QColor(176, 64, 0);
        }
        if (isStale(node))
            return QColor(128, 128, 128);
        return {};
    case ChangeHighlightRole:
        return changeHighlight(node);
    case AnomalyRole:
        return anomaliesAt(node);
    case AnomaliesBelowRole:
        return anomaliesBelow(node);
    case StaleRole:
        return isStale(node);
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
    names.insert(ChangeHighlightRole, "changeHighlight");
    names.insert(AnomalyRole, "anomalies");
    names.insert(AnomaliesBelowRole, "anomaliesBelow");
    names.insert(StaleRole, "stale");
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
    scheduleRowChanged(container);
}

void DocumentTreeModel::scheduleRowChanged(NodeId node)
{
    // A ticker changes the same few nodes thousands of times a second; views need to hear of each
    // node once per frame, not once per delta. Structure changes are never deferred.
    m_pendingChanged.insert(node);
    if (!m_flushTimer.isActive())
        m_flushTimer.start();
}

void DocumentTreeModel::flushChanged()
{
    const QSet<NodeId> pending = std::exchange(m_pendingChanged, {});
    if (!m_tree)
        return;
    for (const NodeId node : pending) {
        if (!m_tree->contains(node))
            continue; // removed since: its rows are gone already
        const QModelIndex first = indexOfNode(node, KeyColumn);
        if (first.isValid())
            Q_EMIT dataChanged(first, first.siblingAtColumn(ColumnCount - 1));
    }
}

void DocumentTreeModel::aboutToMove(NodeId parent, int first, int last, int destination)
{
    const QModelIndex index = indexOfNode(parent);
    beginMoveRows(index, first, last, index, destination);
}

void DocumentTreeModel::moved(NodeId, int, int, int) { endMoveRows(); }

void DocumentTreeModel::valueChanged(NodeId node) { scheduleRowChanged(node); }

void DocumentTreeModel::noteFolded(qint64 eventIndex)
{
    const qint64 now = m_clock.elapsed();
    if (!m_recentFolds.empty() && m_recentFolds.back().first >= eventIndex)
        m_recentFolds.clear(); // a replay stepped back: earlier flashes no longer describe the tree
    m_recentFolds.emplace_back(eventIndex, now);
    while (!m_recentFolds.empty() && now - m_recentFolds.front().second > m_flashMs)
        m_recentFolds.pop_front();
    m_lastFolded = eventIndex;
}

void DocumentTreeModel::setKeepLastDeltaHighlighted(bool keep)
{
    if (keep == m_keepLastDelta)
        return;
    m_keepLastDelta = keep;
    if (rowCount() > 0)
        Q_EMIT dataChanged(index(0, 0), index(rowCount() - 1, ColumnCount - 1), { Qt::BackgroundRole, ChangeHighlightRole });
}

bool DocumentTreeModel::hasFadingHighlights() const
{
    return !m_recentFolds.empty() && m_clock.elapsed() - m_recentFolds.back().second <= m_flashMs;
}

qreal DocumentTreeModel::changeHighlight(NodeId node) const
{
    if (!m_tree || m_lastFolded < 0)
        return 0.0;
    const qint64 changedBy = m_tree->lastChangedBy(node);
    if (changedBy < 0)
        return 0.0;
    // A container's last change may be below it: it shows that at half strength, so a collapsed
    // parent still says where to look.
    const NodeKind kind = m_tree->kind(node);
    const bool container = kind == NodeKind::Object || kind == NodeKind::RecordList || kind == NodeKind::ValueList || kind == NodeKind::RawArray;
    const qreal scale = container ? 0.5 : 1.0;
    if (m_keepLastDelta && changedBy == m_lastFolded)
        return scale;
    if (m_recentFolds.empty() || changedBy < m_recentFolds.front().first)
        return 0.0;
    const auto found = std::lower_bound(m_recentFolds.begin(), m_recentFolds.end(), changedBy,
        [](const std::pair<qint64, qint64>& fold, qint64 event) { return fold.first < event; });
    if (found == m_recentFolds.end() || found->first != changedBy)
        return 0.0;
    const qint64 age = m_clock.elapsed() - found->second;
    if (age >= m_flashMs)
        return 0.0;
    return scale * (1.0 - qreal(age) / qreal(m_flashMs));
}

void DocumentTreeModel::addAnomaly(const QString& path, const QString& kind, qint64 eventIndex, const QString& message)
{
    if (!m_tree)
        return;
    // A kind repeating at one path (a value list edited in place on every delta) only counts: no text is
    // built and no anchor searched again.
    const QString key = kind + QLatin1Char('|') + path;
    if (const auto seen = m_anomalyAnchors.constFind(key); seen != m_anomalyAnchors.constEnd()) {
        ++m_anomalies[*seen].count;
        return;
    }
    // Anchor the mark where a person can see it: the node, or its nearest ancestor that exists.
    QString anchor = path;
    while (!anchor.isEmpty() && m_tree->find(anchor) == kNoNode) {
        const qsizetype slash = anchor.lastIndexOf(QLatin1Char('/'));
        anchor = slash < 0 ? QString() : anchor.left(slash);
    }
    if (anchor.isEmpty())
        return; // the root has no row; the timeline still lists the anomaly
    m_anomalyAnchors.insert(key, anchor);
    QSet<QString> changedRows { anchor };
    if (!m_anomalies.contains(anchor)) {
        // A newly marked node: every ancestor counts one more below it.
        for (QString above = anchor;;) {
            const qsizetype slash = above.lastIndexOf(QLatin1Char('/'));
            if (slash < 0)
                break;
            above.truncate(slash);
            ++m_anomaliesBelow[above];
            changedRows.insert(above);
        }
    }
    AnomalyMark& mark = m_anomalies[anchor];
    ++mark.count;
    if (mark.texts.size() < kMaxAnomaliesPerNode) {
        const QString text = QStringLiteral("%1 (first at event %2): %3").arg(kind).arg(eventIndex).arg(message);
        mark.texts.append(anchor == path ? text : QStringLiteral("/%1: %2").arg(path, text));
    }
    refreshMarks(changedRows);
}

void DocumentTreeModel::clearAnomalies()
{
    if (m_anomalies.isEmpty())
        return;
    QSet<QString> paths(m_anomalies.keyBegin(), m_anomalies.keyEnd());
    for (auto it = m_anomaliesBelow.keyBegin(); it != m_anomaliesBelow.keyEnd(); ++it)
        paths.insert(*it);
    m_anomalies.clear();
    m_anomalyAnchors.clear();
    m_anomaliesBelow.clear();
    refreshMarks(paths);
}

QStringList DocumentTreeModel::anomaliesAt(NodeId node) const
{
    if (m_anomalies.isEmpty() || !m_tree)
        return {};
    const auto found = m_anomalies.constFind(m_tree->path(node));
    if (found == m_anomalies.constEnd())
        return {};
    QStringList texts = found->texts;
    if (found->count > texts.size())
        texts.append(tr("(%1 times in all)").arg(found->count));
    return texts;
}

int DocumentTreeModel::anomaliesBelow(NodeId node) const
{
    if (m_anomaliesBelow.isEmpty() || !m_tree)
        return 0;
    return m_anomaliesBelow.value(m_tree->path(node));
}

void DocumentTreeModel::setStalePaths(const QStringList& paths)
{
    QSet<QString> next(paths.begin(), paths.end());
    if (next == m_stale)
        return;
    QSet<QString> affected = m_stale;
    affected.unite(next);
    m_stale = std::move(next);
    refreshMarks(affected);
}

bool DocumentTreeModel::isStale(NodeId node) const
{
    if (m_stale.isEmpty() || !m_tree)
        return false;
    // The diff names the top of a stale subtree; everything below it is stale too.
    QString path = m_tree->path(node);
    while (!path.isEmpty()) {
        if (m_stale.contains(path))
            return true;
        const qsizetype slash = path.lastIndexOf(QLatin1Char('/'));
        path = slash < 0 ? QString() : path.left(slash);
    }
    return false;
}

void DocumentTreeModel::refreshMarks(const QSet<QString>& paths)
{
    if (!m_tree)
        return;
    for (const QString& path : paths) {
        const QModelIndex first = indexOfNode(m_tree->find(path), KeyColumn);
        if (first.isValid())
            Q_EMIT dataChanged(first, first.siblingAtColumn(ColumnCount - 1), { Qt::DisplayRole, Qt::ForegroundRole, Qt::ToolTipRole, AnomalyRole, AnomaliesBelowRole, StaleRole });
    }
}

void DocumentTreeModel::aboutToReset() { beginResetModel(); }
void DocumentTreeModel::reset()
{
    // A new tree (a new epoch, or a replay checkpoint): its nodes carry other events.
    forgetNodeState(true);
    endResetModel();
}

}
