// The fold on arbitrary delta streams. Input: one byte choosing the fold mode (lowest bit set:
// ReferenceClient), then NDJSON, a delta a line. After every line, whatever it held:
// - a delta that is not JSON leaves the tree as it was;
// - the visible document is JSON that imports back to the same text;
// - the change set lists exactly the changes the listeners were told of, in order, and every
//   node it names as touched exists in the tree;
// - ReferenceClient mode: the fold that skipped the throw walk because the parse ruled a throw out
//   (detail::referenceMayThrow()) shows what the fold that walked shows;
// - canonical mode: the encoder's deltas turn the tree before the line into the tree after it
//   (what the reference server relies on), and the tree's snapshot delta rebuilds what it shows.
//   Both as far as a viewer can have them (see asViewerCanHaveIt).
#include "fuzzcheck.h"

#include "core/document/documenttree.h"
#include "core/document/mutator.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>

#include <functional>
#include <vector>

using namespace deltascope;

extern "C" int LLVMFuzzerInitialize(int*, char***) { return 0; }

namespace {

// `json` as far as a viewer can be sent it: without object members that hold an empty list (an
// Adama server does not send a list that is new and empty, adama-wire.md section 6), and with -0
// as 0 (a Java server compares them equal, so a change between them is never sent). Compact JSON.
QByteArray asViewerCanHaveIt(const QByteArray& json)
{
    const std::function<QJsonValue(const QJsonValue&)> strip = [&](const QJsonValue& value) -> QJsonValue {
        if (value.isDouble() && value.toDouble() == 0)
            return QJsonValue(0);
        if (value.isArray()) {
            QJsonArray out;
            for (const QJsonValue& item : value.toArray())
                out.append(strip(item));
            return out;
        }
        if (!value.isObject())
            return value;
        QJsonObject out;
        const QJsonObject in = value.toObject();
        for (auto it = in.begin(); it != in.end(); ++it) {
            if (!(it.value().isArray() && it.value().toArray().isEmpty()))
                out.insert(it.key(), strip(it.value()));
        }
        return out;
    };
    return QJsonDocument(strip(QJsonDocument::fromJson(json).object()).toObject()).toJson(QJsonDocument::Compact);
}

// Equal documents as a viewer can have them. Compared as text first: QJsonDocument reads integers
// beyond 2^53 as doubles.
bool sameForViewer(const QByteArray& a, const QByteArray& b)
{
    return a == b || asViewerCanHaveIt(a) == asViewerCanHaveIt(b);
}

// The notifications that follow each change, in the change set's terms: a change set must say
// exactly what the listeners were told, in the same order (a model replays either).
class ChangeRecorder final : public DocumentListener
{
public:
    std::vector<TreeChange> changes;

    void aboutToInsert(NodeId, int, int) override { }
    void inserted(NodeId parent, int first, int last) override { add(TreeChange::Type::Inserted, parent, first, last, -1, kNoNode); }
    void aboutToRemove(NodeId, int, int) override { }
    void removed(NodeId parent, int first, int last) override { add(TreeChange::Type::Removed, parent, first, last, -1, kNoNode); }
    void aboutToMove(NodeId, int, int, int) override { }
    void moved(NodeId parent, int first, int last, int destination) override
    {
        add(TreeChange::Type::Moved, parent, first, last, destination, kNoNode);
    }
    void valueChanged(NodeId node) override { add(TreeChange::Type::ValueChanged, kNoNode, -1, -1, -1, node); }
    void aboutToReset() override { }
    void reset() override { }

private:
    void add(TreeChange::Type type, NodeId parent, int first, int last, int destination, NodeId node)
    {
        changes.push_back(TreeChange { type, parent, first, last, destination, node });
    }
};

// Whether a record list shows a null element: only malformed streams make one (a placeholder for
// an id that @o named and no delta sent), and no delta can: "id":null removes the element. So
// neither a snapshot nor the encoder can rebuild such a document.
bool showsNullRecord(const DocumentTree& tree, NodeId node)
{
    const bool recordList = tree.kind(node) == NodeKind::RecordList;
    for (int row = 0; row < tree.childCount(node); ++row) {
        const NodeId child = tree.child(node, row);
        if ((recordList && tree.kind(child) == NodeKind::Null) || showsNullRecord(tree, child))
            return true;
    }
    return false;
}

// The snapshot delta of `tree` (what a new viewer gets) folds into the document `tree` shows.
void checkSnapshotRebuilds(const DocumentTree& tree)
{
    DocumentTree clean;
    const QByteArray snapshot = tree.toSnapshotDelta();
    if (!snapshot.isEmpty()) {
        const FoldResult result = clean.apply(std::string_view(snapshot.constData(), std::size_t(snapshot.size())), 0);
        // Anomalies are allowed: a tree folded from malformed deltas can hold what no server sends
        // (a null in a value list goes out as "i":null, which leaves index i out of the element map).
        FUZZ_REQUIRE(result.parsed, QStringLiteral("snapshot delta is not JSON: ") + QString::fromUtf8(snapshot));
    }
    FUZZ_REQUIRE(sameForViewer(clean.toJson(), tree.toJson()),
        QStringLiteral("the snapshot delta does not rebuild the document\nsnapshot: %1\nrebuilt: %2\nexpected: %3")
            .arg(QString::fromUtf8(snapshot), QString::fromUtf8(clean.toJson()), QString::fromUtf8(tree.toJson())));
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
    if (size == 0)
        return 0;
    const FoldMode mode = (data[0] & 1) ? FoldMode::ReferenceClient : FoldMode::Canonical;
    std::string_view rest = fuzz::bytes(data + 1, size - 1);
    DocumentTree tree(mode);
    ChangeRecorder recorder;
    tree.addListener(&recorder);
    FoldResult result;
    qint64 event = 0;
    constexpr int kMostLines = 64;
    while (!rest.empty() && event < kMostLines) {
        const std::size_t end = rest.find('\n');
        const std::string_view line = rest.substr(0, end);
        rest = end == std::string_view::npos ? std::string_view() : rest.substr(end + 1);

        const DocumentTree before = tree;
        const QByteArray beforeJson = before.toJson();
        recorder.changes.clear();
        tree.apply(line, event, result);
        const QByteArray json = tree.toJson();
        const QString where = QStringLiteral("line %1: %2").arg(event + 1).arg(QString::fromUtf8(line.data(), qsizetype(line.size())));
        ++event;

        if (!result.parsed)
            FUZZ_REQUIRE(json == beforeJson, where + QStringLiteral("\nan unparsed delta changed the tree"));

        DocumentTree imported;
        QString importError;
        FUZZ_REQUIRE(DocumentTree::fromJson(std::string_view(json.constData(), std::size_t(json.size())), imported, &importError),
            where + QStringLiteral("\nexported document does not import: ") + importError + QStringLiteral("\n") + QString::fromUtf8(json));
        // The reference client's numbers are JavaScript's, written as JavaScript writes them (2^63 as
        // "9223372036854776000"): the import reads the same value and writes it in its own form.
        const QByteArray reexported = imported.toJson();
        FUZZ_REQUIRE(mode == FoldMode::Canonical ? reexported == json : QJsonDocument::fromJson(reexported) == QJsonDocument::fromJson(json),
            where + QStringLiteral("\nexport/import changed the document\nexported: %1\nre-exported: %2").arg(QString::fromUtf8(json), QString::fromUtf8(reexported)));

        FUZZ_REQUIRE(result.changes.changes == recorder.changes,
            where + QStringLiteral("\nthe change set (%1 entries) is not what the listeners were told (%2 notifications)")
                        .arg(result.changes.changes.size())
                        .arg(recorder.changes.size()));
        for (NodeId touched : result.changes.touched)
            FUZZ_REQUIRE(tree.contains(touched), where + QStringLiteral("\nthe change set names a node that is not in the tree"));

        if (mode == FoldMode::ReferenceClient && result.parsed) {
            DocumentTree walked = before;
            simdjson::dom::element delta;
            FUZZ_REQUIRE(detail::parseJson(line, delta, nullptr), where + QStringLiteral("\nparsed once, refused the second time"));
            FoldResult walkedResult;
            detail::foldParsed(walked, delta, event - 1, walkedResult, DocumentTree::ChangeDetail::None, true);
            FUZZ_REQUIRE(walked.toJson() == json,
                where + QStringLiteral("\nthe fold that skipped the throw walk shows %1, the one that walked %2").arg(QString::fromUtf8(json), QString::fromUtf8(walked.toJson())));
            FUZZ_REQUIRE(walkedResult.anomalies.size() == result.anomalies.size(), where + QStringLiteral("\nthe fold that skipped the throw walk reported otherwise"));
        }

        if (mode == FoldMode::Canonical && result.parsed && !showsNullRecord(tree, tree.root())) {
            checkSnapshotRebuilds(tree);
            DocumentTree viewer = before; // the encoder's contract: a viewer that holds `before`
            const std::vector<QByteArray> deltas = encodeDeltas(before, tree);
            QByteArray sent; // for the message
            for (const QByteArray& delta : deltas) {
                const FoldResult step = viewer.apply(std::string_view(delta.constData(), std::size_t(delta.size())), event);
                FUZZ_REQUIRE(step.parsed, where + QStringLiteral("\nencoded delta is not JSON: ") + QString::fromUtf8(delta));
                sent += delta + '\n';
            }
            FUZZ_REQUIRE(sameForViewer(viewer.toJson(), json),
                where + QStringLiteral("\nthe encoded deltas do not turn the document before into the one after\nbefore: %1\nafter: %2\nencoded: %3folded: %4")
                            .arg(QString::fromUtf8(beforeJson), QString::fromUtf8(json), QString::fromUtf8(sent), QString::fromUtf8(viewer.toJson())));
        }
    }
    return 0;
}
