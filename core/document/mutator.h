#pragma once

// The one place that changes a DocumentTree: the fold and the editing API both go through it, so
// listeners, change sets and provenance see every change the same way. Internal.

#include "core/document/documenttree_p.h"
#include "core/document/jsontape.h"

#include <simdjson.h>

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace deltascope::detail {

// A scalar read from JSON, before it is stored in a node.
struct Scalar {
    NodeKind kind = NodeKind::Null;
    bool b = false;
    qint64 i = 0;
    double d = 0;
    std::string_view s;
};

// The list markers of a delta object (`@o`, `@s`) and their values, found in one pass over its keys.
struct ListMarkers {
    bool order = false;
    bool size = false;
    simdjson::dom::element orderValue;
    simdjson::dom::element sizeValue;
    // The kind a delta object with these markers asks for: @o a record list, else @s a value list,
    // else an object (which merges into whatever is there).
    NodeKind kind() const { return order ? NodeKind::RecordList : size ? NodeKind::ValueList : NodeKind::Object; }
    // Markers that ask for a list but carry no order or size to rebuild it from (all null).
    bool onlyNull() const
    {
        return (order || size) && (!order || orderValue.is_null()) && (!size || sizeValue.is_null());
    }
};
ListMarkers listMarkers(simdjson::dom::object o);

struct OrderMarks;

class Mutator
{
public:
    Mutator(DocumentTree& tree, ChangeSet* changes, std::vector<Anomaly>* anomalies, qint64 event);
    ~Mutator();
    Mutator(const Mutator&) = delete;
    Mutator& operator=(const Mutator&) = delete;

    // --- fold ---
    void mergeObject(quint32 object, simdjson::dom::object delta, bool visible);
    void mergeList(quint32 list, simdjson::dom::object delta, const ListMarkers& markers, bool visible);
    // A delta that is JSON but not an object (ReferenceClient mode; the canonical fold refuses it).
    [[gnu::noinline]] void mergeNonObjectDelta(simdjson::dom::element delta);
    // ReferenceClient mode, before an object (or array) delta is folded: where tree.js throws
    // part-way through it (reported), the part it folds before the throw, as a JSON object to fold
    // instead; otherwise nothing.
    std::optional<std::string> referenceFoldedPart(simdjson::dom::element delta);

    // --- editing ---
    // The member `key` of `parent` (object member, list element, raw array index), made to be of
    // `kind` (containers kept when already of that kind). Returns 0 when `parent` cannot hold it.
    quint32 editSlot(quint32 parent, std::string_view key, NodeKind kind);
    void editScalar(quint32 parent, std::string_view key, const Scalar& value);
    void editRawJson(quint32 parent, std::string_view key, simdjson::dom::element value);
    void editRemove(quint32 parent, std::string_view key);
    void editOrder(quint32 list, const std::vector<quint32>& order);
    void editResize(quint32 list, std::size_t size);

    void finish(); // fills the change set's touched list
    qint64 unchangedValues() const { return m_unchanged; } // see FoldResult::unchangedValues

    DocumentTree::Data& d;

private:
    bool visibleChild(quint32 child, bool parentVisible) const { return parentVisible && d.r(child).row != kNotVisible; }
    bool isVisible(quint32 slot) const;
    // Order-phase marks (see OrderMarks in mutator.cpp); one list at a time.
    void beginOrderMarks();
    inline bool inOrder(quint32 slot) const;
    inline void setInOrder(quint32 slot);

    // Row notifications and their change records. Inline: a fold seldom has listeners, and an
    // element added or removed sends two of these at every delta.
    enum class RowEvent { AboutToInsert, Inserted, AboutToRemove, Removed, AboutToMove, Moved };
    [[gnu::noinline]] void notifyRows(RowEvent event, quint32 parent, int first, int last, int destination);
    void beginRows(RowEvent event, quint32 parent, int first, int last, int destination, bool visible)
    {
        if (visible && !m_listeners.empty()) [[unlikely]]
            notifyRows(event, parent, first, last, destination);
    }
    // `event`: Inserted, Removed or Moved, recorded as the change of the same name.
    void endRows(RowEvent event, quint32 parent, int first, int last, int destination, bool visible)
    {
        if (!visible)
            return;
        if (!m_listeners.empty()) [[unlikely]]
            notifyRows(event, parent, first, last, destination);
        if (m_changes) {
            const TreeChange::Type type = event == RowEvent::Inserted ? TreeChange::Type::Inserted
                : event == RowEvent::Removed                          ? TreeChange::Type::Removed
                                                                      : TreeChange::Type::Moved;
            record(type, d.idOf(parent), first, last, destination, kNoNode);
        }
    }
    void beginInsert(quint32 parent, int first, int last, bool visible) { beginRows(RowEvent::AboutToInsert, parent, first, last, -1, visible); }
    void endInsert(quint32 parent, int first, int last, bool visible) { endRows(RowEvent::Inserted, parent, first, last, -1, visible); }
    void beginRemove(quint32 parent, int first, int last, bool visible) { beginRows(RowEvent::AboutToRemove, parent, first, last, -1, visible); }
    void endRemove(quint32 parent, int first, int last, bool visible) { endRows(RowEvent::Removed, parent, first, last, -1, visible); }
    void beginMove(quint32 parent, int first, int last, int destination, bool visible)
    {
        beginRows(RowEvent::AboutToMove, parent, first, last, destination, visible);
    }
    void endMove(quint32 parent, int first, int last, int destination, bool visible)
    {
        endRows(RowEvent::Moved, parent, first, last, destination, visible);
    }
    void valueChanged(quint32 node, bool visible);
    // m_changes only. Written in place: a TreeChange built on the stack and copied in was read back
    // with wide loads before its narrow stores had landed, a store-forwarding stall on every change.
    void record(TreeChange::Type type, NodeId parent, int first, int last, int destination, NodeId node)
    {
        TreeChange& change = m_changes->changes.emplace_back();
        change.type = type;
        change.parent = parent;
        change.first = first;
        change.last = last;
        change.destination = destination;
        change.node = node;
    }

    // record() of a ValueChanged (m_changes only), the commonest change: out of line, and lean
    // there, as its growth is apart (growChanges()). Inline in its callers, emplace_back() stayed a
    // call that saved six registers, its growth path inlined into it.
    [[gnu::noinline]] void recordValueChanged(NodeId node);
    [[gnu::noinline]] void growChanges(NodeId node); // then records it

    void touch(quint32 slot); // provenance for the node and its ancestors
    // valueChanged() and touch() of a node already written (`n` is d.w(slot)), inline: every scalar
    // a delta changes ends here.
    [[gnu::always_inline]] void scalarChanged(quint32 slot, Node& n, bool visible)
    {
        if (visible) {
            if (!m_listeners.empty()) [[unlikely]]
                notifyValueChanged(slot);
            if (m_changes)
                recordValueChanged(DocumentTree::Data::idOf(slot, n));
        }
        addTouched(n, slot);
        if (n.stamp != m_stamp)
            climb(&n);
    }
    // The common scalar edit, an integer onto an integer or a bool onto a bool (canonical fold), done
    // here without the general path's Scalar. NotHandled leaves the value to the general path.
    enum class InPlace { NotHandled, Same, Changed };
    [[gnu::always_inline]] InPlace sameKindScalar(quint32 slot, NodeKind was, simdjson::dom::element value, simdjson::dom::element_type type, bool visible)
    {
        if (m_reference)
            return InPlace::NotHandled; // a shown list element: tree.js changes only its hidden map
        return sameKindMember(slot, was, value, type, visible);
    }
    // The same for a member of an object, which the reference fold stores as the canonical one does,
    // unless an integer beyond 2^53 is to become the double JavaScript reads.
    [[gnu::always_inline]] InPlace sameKindMember(quint32 slot, NodeKind was, simdjson::dom::element value, simdjson::dom::element_type type, bool visible)
    {
        if (type == simdjson::dom::element_type::INT64 && was == NodeKind::Integer) {
            const qint64 v = value.get_int64().value_unsafe();
            if (m_reference && (v > kExactInDouble || v < -kExactInDouble)) [[unlikely]]
                return InPlace::NotHandled;
            return storeInPlace(slot, v, [](auto& n) -> auto& { return n.v.i; }, visible);
        }
        if (type == simdjson::dom::element_type::BOOL && was == NodeKind::Bool)
            return storeInPlace(slot, value.get_bool().value_unsafe(), [](auto& n) -> auto& { return n.v.b; }, visible);
        return InPlace::NotHandled;
    }
    // The largest magnitude a JavaScript number holds as an exact integer.
    static constexpr qint64 kExactInDouble = qint64(1) << 53;
    // `field` picks the node's value member (of a const or a writable node).
    template<typename T, typename Field>
    [[gnu::always_inline]] InPlace storeInPlace(quint32 slot, T value, Field field, bool visible)
    {
        if (field(d.r(slot)) == value) {
            ++m_unchanged;
            return InPlace::Same;
        }
        Node& n = d.w(slot);
        field(n) = value;
        scalarChanged(slot, n, visible);
        return InPlace::Changed;
    }
    [[gnu::noinline]] void notifyValueChanged(quint32 slot);
    // touch()'s climb from a node this mutation has not stamped yet.
    void climb(Node* m);
    // climb() from `m`, stamped, where it allocates or copies: `m`'s change noted unless `noted`.
    [[gnu::noinline]] void climbSlow(Node* m, bool noted);
    void anomaly(AnomalyKind kind, quint32 at, std::string_view childKey, const QString& message);

    // A new, silently filled node for a JSON value (literal: objects are plain JSON, no list rules).
    NodeKind kindFor(simdjson::dom::element value, bool literal) const;
    void fill(quint32 slot, simdjson::dom::element value, bool literal);
    quint32 addObjectMember(quint32 object, std::string_view key, simdjson::dom::element value, bool visible, bool literal);
    // fill() of a new, empty object in the canonical fold: its members built directly, with no
    // lookups or notifications (the object is the inserted row). False, nothing done, for what only
    // mergeObject() folds right: a repeated key, a key the reference client hides, many members.
    bool fillNewObject(quint32 slot, simdjson::dom::object delta);
    // fillNewObject() in two steps: the delta's fields gathered (false, nothing done, for what it
    // leaves to mergeObject()), then a new, empty object built from them.
    struct NewObject;
    static bool gatherNewObject(simdjson::dom::object delta, NewObject& into);
    void buildNewObject(quint32 slot, const NewObject& from);
    // A node fill() just made, below a new node: in the change set, and stamped as this mutation's.
    void markNew(quint32 slot);
    // fillNewObject()'s scalar member at `row` of new object `object`, made and marked new (read as
    // readValue() reads it). `type`: the type of `value`, a scalar but not null.
    [[gnu::always_inline]] inline quint32 newScalarMember(quint32 object, std::string_view key, quint64 keyBits, simdjson::dom::element value,
        simdjson::dom::element_type type, quint32 row);
    // Into the change set's touched list, once per node: marked on the node with this mutation's
    // touch epoch (Node::touchedIn, stale by itself afterwards) instead of sorting afterwards.
    // Inline: touch() runs it for every node a fold changes.
    void addTouched(Node& node, quint32 slot)
    {
        if (m_changes && node.touchedIn != m_touchEpoch) {
            node.touchedIn = m_touchEpoch;
            pushTouched(DocumentTree::Data::idOf(slot, node));
        }
    }
    // addTouched() once the node is marked (m_changes only).
    [[gnu::always_inline]] void pushTouched(NodeId id)
    {
        std::vector<NodeId>& touched = m_changes->touched;
        // Growing apart: push_back()'s own growth, inlined here, made every call save and
        // restore six registers.
        if (touched.size() != touched.capacity()) [[likely]]
            touched.push_back(id);
        else
            appendTouched(id);
    }
    [[gnu::noinline]] void appendTouched(NodeId id);
    quint32 addHiddenElement(quint32 list, std::string_view key, simdjson::dom::element value);
    void removeObjectMember(quint32 object, quint32 member, bool visible);
    // Drops a node's content and makes it `kind` (children removed with notifications).
    // `fromDelta` false for the editing API: an edit is no delta, tree.js has nothing like it, and
    // nothing would take a kept element map back, so none is kept aside.
    void convert(quint32 slot, NodeKind kind, bool visible, bool fromDelta = true);
    void replaceRawArray(quint32 slot, simdjson::dom::element value, bool visible);
    // `probe`: the key's inline form (packed::inlineBitsOfParsed), 0 when too long. `hint`: where
    // in the object's members to look first (see Data::findMemberFrom).
    void mergeMember(quint32 object, std::string_view key, quint64 probe, simdjson::dom::element value, bool visible, std::size_t& hint);
    // Makes a visible list element an orphan that the reference client still shows, and puts a fresh
    // element of the same key in the element map.
    quint32 orphanAndReplace(quint32 list, quint32 element, NodeKind kind);
    quint32 placeholder(quint32 list, std::string_view key);
    bool applyOrder(quint32 list, const std::vector<quint32>& target, bool visible);
    // applyOrder() of a visible list whose new order swaps two rows, with the same moves the
    // general path makes; false (nothing done) for any other change.
    bool swapByMoves(quint32 list, ListContainer& c, const std::vector<quint32>& target);
    // One visible row of `list` moved before row `destination` (of the order before the move), with
    // its notifications and the rows between renumbered.
    void moveRow(quint32 list, ListContainer& c, int from, int destination);
    // The common `@o` of a canonical record list (ascending ranges over the previous order plus ids
    // not shown before), applied in time proportional to the change; false (nothing done) otherwise.
    bool applyOrderBySegments(quint32 list, simdjson::dom::element orderValue, std::vector<quint32>& removed, bool visible);
    void freeDroppedOrphans(quint32 list, const std::vector<quint32>& oldOrder);
    class DuplicateKeys;
    // For each field of `o`, 1 when a later field has the same key (JSON.parse keeps only the last,
    // so tree.js never sees it); empty when no key repeats. Only ReferenceClient mode asks: the
    // canonical fold folds every occurrence in order.
    static std::vector<char> shadowedFields(simdjson::dom::object o);
    // The same by comparing the keys, once a filter saw one that may repeat.
    [[gnu::noinline]] static std::vector<char> shadowedFieldsByKey(simdjson::dom::object o);
    // mergeObject() in ReferenceClient mode (apart, so the canonical loop stays lean).
    [[gnu::noinline]] void mergeObjectAsReferenceClient(quint32 object, simdjson::dom::object delta, bool visible);
    // An array given as a list element (`existing`: 0 when new): reports how the reference client
    // differs and, in ReferenceClient mode, folds it as it does; true when it was folded here.
    [[gnu::noinline]] bool arrayElementAsObject(quint32 list, std::string_view key, quint32 existing, simdjson::dom::element value, bool visible);
    // Merges an array into an object as tree.js's `for (key in array)` does: item i under key "i".
    void mergeItemsByIndex(quint32 object, simdjson::dom::array items, bool visible);
    // ReferenceClient mode: what tree.js makes of `@o`/`@s` values and deltas the protocol never
    // sends, as JavaScript coerces them (each reports the anomaly).
    // Positions of the previous visible array an odd @o range reads: `first` (-1: none), then lo..hi.
    struct ReferenceRange {
        qint64 first = -1;
        qint64 lo = 0;
        qint64 hi = -1;
    };
    [[gnu::noinline]] ReferenceRange rangeAsReferenceClient(quint32 list, simdjson::dom::element instruction, qint64 size);
    // The ids of an @o that is not an array (a string's characters; "" for a surrogate half).
    [[gnu::noinline]] std::vector<std::string> idsOfNonArrayOrder(quint32 list, simdjson::dom::element orderValue);
    // The number of elements an @s that is not a non-negative integer rebuilds.
    [[gnu::noinline]] qint64 sizeAsReferenceClient(quint32 list, simdjson::dom::element sizeValue);
    // An element delta with @o/@s: reports that it stays an object; returns NodeKind::Object.
    [[gnu::noinline]] NodeKind elementMarkersAsKeys(quint32 list, std::string_view key);
    // A string or object turned into a list: keeps what @o ranges read of it as the visible order.
    [[gnu::noinline]] void previousValueAsListOrder(quint32 slot, NodeKind kind, bool visible);
    // ReferenceClient mode: tree.js keeps a list's element map beside its value (as "#key") and
    // leaves it there when the value stops being a list, so a later list delta for the key finds
    // the old elements again; only removing the key while its value is an array deletes it.
    // stashElementMap(): `list`, a member of `object`, is about to stop being a list: its element
    // map is kept aside. adoptStashedElementMap(): `list` has just become a list (with an empty
    // element map): it takes the map kept for its key, if any. dropStashedElementMap(): the key is
    // removed while its value is an array.
    [[gnu::noinline]] void stashElementMap(quint32 object, quint32 list);
    [[gnu::noinline]] void adoptStashedElementMap(quint32 object, quint32 list);
    [[gnu::noinline]] void dropStashedElementMap(quint32 object, std::string_view key);
    // Every map kept for keys of `object`, which tree.js is about to replace.
    void dropStashedElementMapsOf(quint32 object);
    // Frees the maps kept for objects that are gone (freed, or no longer objects); finish() runs it.
    void sweepStashedElementMaps();
    // Moves `from`'s element map to the end of `to`'s: its elements change parent and show nowhere
    // (in the element map only, until an @o or @s shows them). Returns how many moved.
    std::size_t moveElementMap(quint32 from, quint32 to);
    // The holder of the map kept for `key` of `object`, made (empty, of `kind`) if none is: where a
    // list delta goes whose value tree.js does not rebuild (its @o/@s null).
    quint32 keptElementMap(quint32 object, std::string_view key, NodeKind kind);
    // The entry of the map kept for `key` of `object`, or the end; takeKeptElementMap() removes it
    // and returns its holder (0 when none is kept), for the caller to free or adopt.
    std::vector<DocumentTree::Data::StashedElementMap>::iterator keptElementMapEntry(quint32 object, std::string_view key);
    quint32 takeKeptElementMap(quint32 object, std::string_view key);
    // For a member key the reference client never shows (see hiddenByReferenceCopy in mutator.cpp):
    // reports it, and returns whether to fold it (not in ReferenceClient mode).
    bool keepMember(quint32 object, std::string_view key);
    // readScalar(), with integers beyond 2^53 rounded to the double the reference client shows
    // (ReferenceClient mode only; the canonical fold keeps every 64-bit integer exact).
    inline bool readValue(simdjson::dom::element value, Scalar& out) const;
    void checkDuplicates(simdjson::dom::object delta, quint32 at);

    // referenceFoldedPart() (referencethrow.cpp). `object` 0 is one tree.js makes new, where only a
    // null @o entry throws. The list's element map tree.js reads for a list delta at `key` of `object` (`prior` the
    // value there): the list's own, or one kept aside; 0 for a new one.
    quint32 referenceElementMap(quint32 object, std::string_view key, quint32 prior);
    bool referenceThrowsIn(quint32 object, simdjson::dom::element delta);
    bool referenceListThrows(quint32 object, std::string_view key, quint32 prior, simdjson::dom::element delta, const ListMarkers& markers);
    // Append to `out` the part of the delta tree.js folds, as a JSON object; true once it threw.
    bool writeUntilReferenceThrow(quint32 object, simdjson::dom::element delta, std::string& out);
    bool writeListUntilReferenceThrow(quint32 object, std::string_view key, quint32 prior, simdjson::dom::element delta, const ListMarkers& markers,
        std::string& out);
    // Where the writing walk is, for a throw's anomaly: the last node on its way that stays, and the
    // keys below it of what tree.js makes new.
    struct ThrowPath {
        quint32 at = 0;
        std::vector<std::string> below;
    };
    ThrowPath throwPathBelow(quint32 node, std::string_view key) const;
    void reportReferenceThrow(AnomalyKind kind, std::string_view child, const QString& message);
    // A key where the written part says `"@o":null` for a list delta whose @o held a null entry:
    // the fold does not report that null as the delta's own.
    bool isReferenceThrowStand(quint32 object, std::string_view key) const;
    void reportDuplicate(quint32 at, std::string_view key);

    const std::vector<DocumentListener*>& m_listeners;
    ChangeSet* m_changes;
    qint64 m_unchanged = 0; // scalars set to the value they held
    std::vector<Anomaly>* m_anomalies;
    qint64 m_event;
    bool m_reference;
    bool m_inRawJson = false; // fill() is inside raw JSON (an array's items and what they hold)
    bool m_rawJsonHeldNull = false; // ... and has stored a null there (the reference client shows {})
    // Nodes the delta's text does not pay for (placeholders for indexes an @s names, positions of
    // a prior value a reference-client @o reads) are limited per delta, not per list: a delta of
    // a few kilobytes naming a thousand lists must not build a billion nodes.
    static constexpr qint64 kUnsentNodesPerDelta = 65536;
    qint64 m_unsentNodeBudget = kUnsentNodesPerDelta;
    quint64 m_stamp; // this mutation's stamp (see Node::stamp)
    // Where this mutation's entries start in m_changes->touched (finish() checks only those).
    std::size_t m_touchedStart;
    quint64 m_touchedNodesFreedAtStart; // Data::touchedNodesFreed when this mutation began
    quint16 m_touchEpoch; // this mutation's mark of the nodes in its touched list (0 without a change set)
    OrderMarks* m_marks; // the thread's order-phase marks (see mutator.cpp)
    ThrowPath m_throwPath; // referenceFoldedPart()'s
    std::vector<std::pair<quint32, std::string>> m_throwStands; // (object, key): see isReferenceThrowStand()
};

bool readScalar(simdjson::dom::element value, Scalar& out);
bool sameScalar(const Node& node, const Scalar& value);
void storeScalar(Node& node, const Scalar& value);
bool textLooksLikeLong(std::string_view text);
QString pathOf(const DocumentTree::Data& d, quint32 slot);
QString escapeSegment(std::string_view key);

// DocumentTree::apply() of a delta already parsed by parseJson() (its root, or an element within it,
// such as a server frame's `data`): for a caller that had to parse the text to find the delta.
// Only parseJson()'s output: its depth limit is what keeps the recursive fold off the stack's end.
// `result` is emptied first, its vectors' memory kept, as apply() does.
// `treeJsMayThrow` false: the caller knows (referenceMayThrow() below) that tree.js throws nowhere in
// the delta, so a ReferenceClient fold need not walk it first to find out.
void foldParsed(DocumentTree& tree, simdjson::dom::element delta, qint64 eventIndex, FoldResult& result, DocumentTree::ChangeDetail detail,
    bool treeJsMayThrow = true);

// What parseJson() saw of a text's shape while parsing it: known when the direct parser (jsontape.h)
// built the tape, which finds it on the way; simdjson's parse tells nothing.
struct ParsedShape {
    bool known = false;
    JsonTapeShape tape;
};

// Whether tree.js may throw part-way through a delta (referencethrow.cpp) that sits at depth
// `deltaDepth` of a text parsed with `shape` (1: the text is the delta; 4: a server frame's data).
// It throws only on an element delta holding an object, so on an object at least four deep in the
// delta (the delta, a list delta, an element delta, the object), or on a null entry of @o, so on
// null in an array. False: the walk before a ReferenceClient fold would find nothing.
inline bool referenceMayThrow(const ParsedShape& shape, std::uint32_t deltaDepth)
{
    return !shape.known || shape.tape.nullInArray || shape.tape.deepestObject >= deltaDepth + 3;
}

// Parses JSON with the thread's reused simdjson parser (depth limited to DocumentTree::kMaxDepth).
// On failure returns false and describes the error with its byte offset. `shape`, when given, says
// what the parse saw of the text's shape (asking costs the parse a little: a ReferenceClient fold's).
bool parseJson(std::string_view text, simdjson::dom::element& out, QString* error, ParsedShape* shape = nullptr);
// How many times this thread called parseJson(): an element it returned is valid while this
// stays what it was just after the call.
quint64 parseJsonCount();
// How many of those parses the direct tape builder (jsontape.h) made, simdjson the rest.
quint64 parseJsonDirectCount();

}
