#pragma once

#include <QByteArray>
#include <QString>
#include <QStringList>

#include <cstdint>
#include <memory>
#include <string_view>
#include <vector>

namespace deltascope {

namespace detail {
class Mutator;
struct TreeAccess;
}

// What a node of the document is. Lists keep their protocol kind so the UI can show it and the
// encoder can produce the right wire form.
enum class NodeKind : quint8 {
    Null,
    Bool,
    Integer,
    Double,
    String, // a string that holds a long (as Adama sends longs) is still a String; see looksLikeLong()
    Object,
    RecordList, // `@o` list: elements keyed by id, visible in `@o` order
    ValueList, // `@s` list: elements keyed "0".."n-1"
    RawArray, // a plain JSON array (dynamic/JSON-typed fields); replaced wholesale
};
QString nodeKindName(NodeKind kind); // "object", "record list", ...

// A node's identity for the life of one tree (and of its copies): never reused for another node.
// 0 is never a valid node.
using NodeId = quint64;
inline constexpr NodeId kNoNode = 0;

// What the fold could not apply cleanly. Applied as far as possible, then reported here.
enum class AnomalyKind : quint8 {
    InvalidJson, // the delta is not JSON (truncated, bad UTF-8, too deep, ...)
    NotAnObject, // the delta (or a list element delta) is JSON but not an object where one is required
    RangeOutsidePreviousList, // an `@o` range [a,b] reaches past the previous visible list
    IdMissingFromElementMap, // an `@o` id names no element
    KindChanged, // a node changed kind (list to object, object to scalar inside a list, ...)
    ValueListEditedWithoutSize, // an `@s` list edited without `@s`: the reference client shows stale values
    ReferenceClientDiffers, // the reference JS client would show something else here (e.g. raw array merged as list)
    BadListInstruction, // an `@o` entry that is neither an id nor a pair, or a bad `@s`
    DuplicateKey, // the same key twice in one object (the last one wins, as in JavaScript)
};
QString anomalyKindName(AnomalyKind kind);

struct Anomaly {
    AnomalyKind kind;
    qint64 eventIndex = -1; // the event whose delta caused it
    QString path; // where, as a document path (see DocumentTree::path)
    QString message; // what happened, for a person
};

// One structural or value change, in the order a Qt model must replay it. Rows are positions among
// the parent's visible children; `last` is inclusive.
struct TreeChange {
    enum class Type : quint8 {
        Inserted, // rows first..last of parent are new
        Removed, // rows first..last of parent were removed
        Moved, // rows first..last of parent moved so that they now start before destination (QAbstractItemModel semantics)
        ValueChanged, // node's scalar value (or kind among scalars) changed in place
    };
    Type type;
    NodeId parent = kNoNode; // for Inserted/Removed/Moved
    int first = -1;
    int last = -1;
    int destination = -1; // for Moved: the row before which the block is placed, counted before the move
    NodeId node = kNoNode; // for ValueChanged
    bool operator==(const TreeChange&) const = default;
};

struct ChangeSet {
    std::vector<TreeChange> changes;
    std::vector<NodeId> touched; // nodes created or changed by this delta (each once)
    bool empty() const { return changes.empty(); }
};

struct FoldResult {
    bool parsed = true; // false when the delta was not JSON (nothing applied)
    QString error; // when !parsed: what and where (byte offset)
    ChangeSet changes;
    std::vector<Anomaly> anomalies;
    // Scalars the delta set to the value they already held. An Adama server sends changed fields
    // only, so these mean it re-sent state (a whole snapshot inside the stream, adama-wire.md 7.4).
    qint64 unchangedValues = 0;
};
// Unchanged values in one item, after a stream's first, that make it look like a re-sent snapshot
// ("snapshot-resent"): one or two could be a server's own odd delta.
inline constexpr qint64 kResentSnapshotValues = 3;
// What a "snapshot-resent" anomaly says, for an item that sent `unchangedValues` values again.
QString resentSnapshotMessage(qint64 unchangedValues);

// Receives notifications while the tree mutates, so a model can call beginInsertRows() etc. with
// exact ranges before the change and endInsertRows() after it. Called synchronously from
// apply()/edits on the tree's thread; listeners must not mutate the tree, nor copy it (the fold
// keeps writing to containers it holds across the notification, which a copy would then share).
class DocumentListener
{
public:
    virtual ~DocumentListener() = default;
    virtual void aboutToInsert(NodeId parent, int first, int last) = 0;
    virtual void inserted(NodeId parent, int first, int last) = 0;
    virtual void aboutToRemove(NodeId parent, int first, int last) = 0;
    virtual void removed(NodeId parent, int first, int last) = 0;
    virtual void aboutToMove(NodeId parent, int first, int last, int destination) = 0;
    virtual void moved(NodeId parent, int first, int last, int destination) = 0;
    virtual void valueChanged(NodeId node) = 0;
    virtual void aboutToReset() = 0;
    virtual void reset() = 0;
};

struct ProvenanceHistory {
    std::vector<qint64> recentEvents; // newest last; at most DocumentTree::kProvenanceDepth
    quint64 totalCount = 0; // how many events touched the node in all
};

// How to fold. The canonical fold is adama-wire.md section 6 (the vectors win). In
// ReferenceClient mode the tree reproduces what the reference JS client shows (tree.js quirks),
// for the "what do my users' browsers see" view; anomalies are reported in both modes. A delta
// tree.js throws on part-way (an object field merged into a scalar element, a null @o entry) is
// folded as far as tree.js gets, in its order. Not reproduced (odd streams only; a differential
// fuzz finds no other difference): a "#k" key writing into list k's hidden map, an element @o
// names twice shown twice (a tree shows a node once; reported), @o ids naming tree.js's own
// bookkeeping ("__key", "@o"), and Object.prototype names as keys.
enum class FoldMode : quint8 { Canonical, ReferenceClient };

// The typed document tree of one viewer. Copies are cheap (structure is shared and copied on
// write), so replay checkpoints and the server's per-viewer "last sent" trees can be kept freely.
// Not thread-safe; a tree and its listeners live on one thread. Copies do not carry listeners.
// Distinct copies may live on different threads: shared structure is reference-counted
// atomically and copied before it is written. Copying a tree writes to it (it forgets which
// structure it held alone), so two threads must not copy the same tree at once.
class DocumentTree
{
public:
    static constexpr int kProvenanceDepth = 8;
    static constexpr int kMaxDepth = 512; // deeper deltas are refused with InvalidJson, not a stack overflow

    DocumentTree();
    explicit DocumentTree(FoldMode mode);
    DocumentTree(const DocumentTree& other);
    DocumentTree& operator=(const DocumentTree& other);
    DocumentTree(DocumentTree&& other) noexcept;
    DocumentTree& operator=(DocumentTree&& other) noexcept;
    ~DocumentTree();

    FoldMode foldMode() const;

    // Whether apply() fills FoldResult::changes. Listeners are notified either way; a caller that
    // only wants the new tree (replay, a second tree folded in step) saves building the change set.
    enum class ChangeDetail : quint8 { Full, None };

    // Folds one `data` object (the JSON text of it, UTF-8) into the tree. eventIndex is recorded
    // as provenance and in anomalies. Never throws; bad input yields parsed=false or anomalies.
    FoldResult apply(std::string_view deltaJson, qint64 eventIndex = -1, ChangeDetail detail = ChangeDetail::Full);
    // The same, into `result` (emptied first, its vectors' memory kept): a caller that folds many
    // deltas in a row and reads each result before the next saves the allocations of a new one.
    void apply(std::string_view deltaJson, qint64 eventIndex, FoldResult& result, ChangeDetail detail = ChangeDetail::Full);

    // Empties the tree (listeners get aboutToReset/reset).
    void clear();

    // --- reading -------------------------------------------------------------------------------
    NodeId root() const; // always an Object
    bool contains(NodeId node) const; // a node of the document: visible, or a hidden list element
    NodeKind kind(NodeId node) const;
    NodeId parent(NodeId node) const; // kNoNode for the root
    int childCount(NodeId node) const; // visible children: object keys, list elements in order
    NodeId child(NodeId node, int row) const;
    int row(NodeId node) const; // position among the parent's visible children, -1 for the root
    NodeId childByKey(NodeId node, QStringView key) const; // object key, record id, or list index
    // The node's key in its parent: object key, record list element id, or list index as text.
    QString key(NodeId node) const;
    bool boolValue(NodeId node) const;
    qint64 integerValue(NodeId node) const;
    double doubleValue(NodeId node) const;
    QString stringValue(NodeId node) const;
    bool looksLikeLong(NodeId node) const; // a String whose text is a decimal integer beyond 2^53 or as Adama encodes longs
    // Record lists: elements kept in the element map but absent from the visible order.
    int hiddenElementCount(NodeId list) const;
    std::size_t nodeCount() const; // visible nodes including the root
    // Node slots in use, hidden and freed ones included: what a copy's cost grows with. Constant
    // time, where nodeCount() may walk the tree.
    std::size_t slotCount() const;
    // Nodes held now: the visible ones, hidden list elements, and the element maps a ReferenceClient
    // fold keeps aside as tree.js does (see FoldMode). Constant time.
    std::size_t heldNodeCount() const;

    // Document paths: segments joined by '/', escaped as in RFC 6901 ('~' -> "~0", '/' -> "~1"),
    // no leading slash; the root is "". Record list elements are addressed by id, value list and
    // raw array elements by index: "players/9/name", "scores/1".
    QString path(NodeId node) const;
    NodeId find(QStringView path) const; // kNoNode when absent

    // Provenance: the event that created the node, the last that changed it (itself or below it),
    // and a bounded history.
    qint64 createdBy(NodeId node) const;
    qint64 lastChangedBy(NodeId node) const;
    ProvenanceHistory history(NodeId node) const;

    // --- export / import -----------------------------------------------------------------------
    // The visible document as JSON (element maps, `@o`, `@s` not shown), as the vectors' `expected`.
    QByteArray toJson(bool pretty = false) const;
    QByteArray toJson(NodeId subtree, bool pretty) const;
    // A full snapshot delta of this tree in wire form (`@o` / `@s` kept), as a server would send
    // to a new viewer: empty lists and nulls left out.
    QByteArray toSnapshotDelta() const;
    // Builds a tree from a visible document (arrays become RawArray, since a visible document does
    // not say which lists are record lists). Returns false with an error naming the byte offset.
    static bool fromJson(std::string_view json, DocumentTree& out, QString* error = nullptr);

    // --- editing (reference server views, tests); listeners are notified as for apply() ---------
    NodeId setObject(NodeId parent, QStringView key); // existing object kept, anything else replaced
    NodeId setRecordList(NodeId parent, QStringView key);
    NodeId setValueList(NodeId parent, QStringView key);
    void setNull(NodeId parent, QStringView key);
    void setBool(NodeId parent, QStringView key, bool value);
    void setInteger(NodeId parent, QStringView key, qint64 value);
    void setDouble(NodeId parent, QStringView key, double value);
    void setString(NodeId parent, QStringView key, QStringView value);
    void setRawJson(NodeId parent, QStringView key, std::string_view json); // any JSON value
    void remove(NodeId parent, QStringView key);
    // Record lists: element maps keyed by id; setOrder makes the visible order (ids must exist).
    NodeId setElementObject(NodeId list, QStringView id);
    void removeElement(NodeId list, QStringView id);
    void setOrder(NodeId list, const QStringList& ids);
    QStringList order(NodeId list) const;
    // Value lists: elements by index; resize drops or adds (null) tail elements.
    void resizeValueList(NodeId list, int size);

    void addListener(DocumentListener* listener);
    void removeListener(DocumentListener* listener);

    struct Data; // internal storage (documenttree_p.h)

private:
    friend class detail::Mutator;
    friend struct detail::TreeAccess;
    std::shared_ptr<Data> d;
    std::vector<DocumentListener*> m_listeners;
};

// The Adama delta that turns `from` into `to`, exactly as an Adama server would send it to a
// viewer that holds `from` (adama-wire.md 6.1-6.3): changed fields only, null for removed keys,
// new elements in full, `@o` only when order or size changed with inclusive [a,b] ranges for runs
// of three or more over the previous order, value lists with changed indexes plus `@s` when the
// length changed. Returns "{}"-free output: an empty string when nothing visible changed. With an
// empty `from` this is a first snapshot (empty lists and nulls left out).
// One change needs two deltas: a list that became an object or a list of the other kind (an
// object delta merges into a list, and Adama never changes a field's type). This delta removes the list and sets `*complete` (when
// given) to false; encodeDeltas() gives both.
QByteArray encodeDelta(const DocumentTree& from, const DocumentTree& to, bool* complete = nullptr);
// The deltas that turn `from` into `to` for a viewer: encodeDelta's, and when it is not complete a
// second one from what the viewer holds after the first. Empty when nothing visible changed.
std::vector<QByteArray> encodeDeltas(const DocumentTree& from, const DocumentTree& to);

// A structural diff of two trees, by path.
struct TreeDiff {
    struct Move {
        QString listPath;
        QString elementKey;
        int fromRow;
        int toRow;
    };
    QStringList added; // paths present only in `after`
    QStringList removed; // paths present only in `before`
    QStringList changed; // scalar value or kind differs
    std::vector<Move> moved; // list elements whose position changed
    bool isEmpty() const { return added.isEmpty() && removed.isEmpty() && changed.isEmpty() && moved.empty(); }
};
TreeDiff diffTrees(const DocumentTree& before, const DocumentTree& after);

}
