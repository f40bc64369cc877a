#include "ui/models/deltadetailsource.h"

#include "core/protocol/envelope.h"

#include <algorithm>

namespace deltascope::ui {

void DeltaDetailSource::setEventLog(const EventLog* log)
{
    m_log = log;
    m_checkpoints.clear();
}

bool DeltaDetailSource::applyItem(DocumentTree& tree, qint64 eventIndex, FoldResult* result) const
{
    const StreamDelta delta = extractStreamDelta(m_log->payload(eventIndex));
    if (!delta.ok || !delta.hasData)
        return delta.ok;
    FoldResult folded = tree.apply(delta.data, eventIndex);
    if (result)
        *result = std::move(folded);
    return true;
}

DeltaDetailSource::Result DeltaDetailSource::compute(qint64 eventIndex)
{
    Result out;
    if (!m_log || eventIndex < 0 || eventIndex >= m_log->size()) {
        out.error = QStringLiteral("event %1 is not in this session").arg(eventIndex);
        return out;
    }
    const std::vector<qint64>& items = m_log->indexesOfKind(EventKind::StreamItem);
    const auto found = std::lower_bound(items.begin(), items.end(), eventIndex);
    if (found == items.end() || *found != eventIndex) {
        out.error = QStringLiteral("event %1 is not a stream item").arg(eventIndex);
        return out;
    }
    const auto position = std::size_t(found - items.begin());
    const quint32 epoch = m_log->at(eventIndex).epoch;
    // The epoch's first stream item: epochs only grow along the log.
    const auto start = std::size_t(std::partition_point(items.begin(), found, [&](qint64 index) { return m_log->at(index).epoch < epoch; }) - items.begin());

    DocumentTree tree;
    std::size_t from = start;
    auto checkpoint = m_checkpoints.upper_bound(position);
    if (checkpoint != m_checkpoints.begin()) {
        --checkpoint;
        if (checkpoint->first >= start) {
            tree = checkpoint->second;
            from = checkpoint->first;
        }
    }
    // Also right after the epoch's first item, its snapshot: for a large document that fold is
    // most of the cost, and every selection among the next items would pay it again.
    const auto keepCheckpoint = [&](std::size_t p) {
        if (p > start && (p % kCheckpointEvery == 0 || p == start + 1) && !m_checkpoints.count(p))
            m_checkpoints.emplace(p, tree);
    };
    for (std::size_t p = from; p < position; ++p) {
        keepCheckpoint(p);
        applyItem(tree, items[p], nullptr);
    }
    keepCheckpoint(position);
    out.before = tree;
    FoldResult result;
    if (!applyItem(tree, eventIndex, &result)) {
        out.error = QStringLiteral("event %1: the frame carries no response.delta object, so nothing was folded").arg(eventIndex);
        return out;
    }
    if (!result.parsed) {
        out.error = QStringLiteral("event %1: the delta could not be folded: %2").arg(eventIndex).arg(result.error);
        return out;
    }
    out.after = tree;
    out.anomalies = std::move(result.anomalies);
    // Added and changed nodes come from the fold's own record of what it touched; removals, moves
    // and kind changes from a structural diff of the two trees.
    const TreeDiff diff = diffTrees(out.before, out.after);
    const auto isContainer = [](NodeKind kind) { return kind == NodeKind::Object || kind == NodeKind::RecordList || kind == NodeKind::ValueList || kind == NodeKind::RawArray; };
    QStringList added;
    QStringList changed;
    for (NodeId node : result.changes.touched) {
        if (!out.after.contains(node) || node == out.after.root())
            continue;
        if (!out.before.contains(node)) {
            const NodeId parent = out.after.parent(node);
            if (parent != out.after.root() && !out.before.contains(parent))
                continue; // inside a new subtree: its top is listed
            // A new node where the tree held one at the same path (an item of a raw array the
            // delta replaced) is a change, which the diff below reports.
            const QString path = out.after.path(node);
            if (out.before.find(path) == kNoNode)
                added.append(path);
        } else if (!isContainer(out.after.kind(node))) {
            changed.append(out.after.path(node));
        }
    }
    for (const QString& path : diff.added) {
        if (!added.contains(path))
            added.append(path);
    }
    for (const QString& path : diff.changed) {
        if (!changed.contains(path))
            changed.append(path);
    }
    for (const QString& path : std::as_const(added))
        out.changedPaths.append(QStringLiteral("+ /") + path);
    for (const QString& path : diff.removed)
        out.changedPaths.append(QStringLiteral("- /") + path);
    for (const QString& path : std::as_const(changed))
        out.changedPaths.append(QStringLiteral("~ /") + path);
    for (const TreeDiff::Move& move : diff.moved)
        out.changedPaths.append(QStringLiteral("↕ /%1/%2 row %3 → %4").arg(move.listPath, move.elementKey).arg(move.fromRow).arg(move.toRow));
    return out;
}

}
