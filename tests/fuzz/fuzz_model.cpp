// The document tree model (what the GUI's tree shows) under arbitrary delta streams. Input: one
// byte choosing the fold mode (lowest bit set: ReferenceClient), then NDJSON, a delta a line.
// QAbstractItemModelTester (fatal) checks every signal and index the model gives while the tree
// folds; after each line the model shows the tree's nodes at the same rows, and never resets.
#include "fuzzcheck.h"

#include "core/document/documenttree.h"
#include "ui/models/documenttreemodel.h"

#include <QAbstractItemModelTester>

using namespace deltascope;
using deltascope::ui::DocumentTreeModel;

extern "C" int LLVMFuzzerInitialize(int*, char***)
{
    fuzz::ensureApplication();
    return 0;
}

namespace {

void checkMirrors(const DocumentTreeModel& model, const QModelIndex& parent, const DocumentTree& tree, NodeId node, const QString& where)
{
    FUZZ_REQUIRE(model.rowCount(parent) == tree.childCount(node),
        where + QStringLiteral("\nat '%1': %2 rows shown, %3 in the tree").arg(tree.path(node)).arg(model.rowCount(parent)).arg(tree.childCount(node)));
    for (int row = 0; row < tree.childCount(node); ++row) {
        const QModelIndex index = model.index(row, 0, parent);
        const NodeId child = tree.child(node, row);
        FUZZ_REQUIRE(model.nodeOf(index) == child, where + QStringLiteral("\nrow %1 of '%2' shows another node").arg(row).arg(tree.path(node)));
        checkMirrors(model, index, tree, child, where);
    }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
    if (size == 0)
        return 0;
    DocumentTree tree((data[0] & 1) ? FoldMode::ReferenceClient : FoldMode::Canonical);
    DocumentTreeModel model;
    model.setTree(&tree);
    QAbstractItemModelTester tester(&model, QAbstractItemModelTester::FailureReportingMode::Fatal);
    int resets = 0;
    QObject::connect(&model, &QAbstractItemModel::modelReset, [&resets] { ++resets; });

    std::string_view rest = fuzz::bytes(data + 1, size - 1);
    constexpr int kMostLines = 32;
    for (qint64 event = 0; !rest.empty() && event < kMostLines; ++event) {
        const std::size_t end = rest.find('\n');
        const std::string_view line = rest.substr(0, end);
        rest = end == std::string_view::npos ? std::string_view() : rest.substr(end + 1);
        tree.apply(line, event);
        const QString where = QStringLiteral("line %1: %2").arg(event + 1).arg(QString::fromUtf8(line.data(), qsizetype(line.size())));
        checkMirrors(model, {}, tree, tree.root(), where);
        FUZZ_REQUIRE(resets == 0, where + QStringLiteral("\na delta reset the model"));
    }
    model.setTree(nullptr);
    return 0;
}
