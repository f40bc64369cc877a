#pragma once

// Internal storage of DocumentTree, shared by the fold, the encoder and the diff. Not public API.

#include "core/document/documenttree.h"

#include <atomic>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

namespace deltascope::detail {

inline constexpr quint32 kNotVisible = 0xffffffffu;
inline constexpr quint32 kChunkBits = 6;
inline constexpr quint32 kChunkSize = 1u << kChunkBits;

// An immutable, reference-counted UTF-8 string: 8 bytes in a node, shared by tree copies.
struct StrRep {
    std::atomic<quint32> ref;
    quint32 size;
    const char* data() const { return reinterpret_cast<const char*>(this + 1); }
    std::string_view view() const { return { data(), size }; }
};
StrRep* makeStr(std::string_view text);
inline void retain(StrRep* s)
{
    if (s)
        s->ref.fetch_add(1, std::memory_order_relaxed);
}
void release(StrRep* s);

// Children of a container node. Shared between tree copies and copied when a shared one is written.
struct Container {
    std::atomic<quint32> ref { 1 };
    // Objects: members in key insertion order (these are the visible children).
    // Record and value lists: the element map, in insertion order (visible order is `order`).
    // Raw arrays: the elements (visible children).
    std::vector<quint32> members;
    std::vector<quint32> order; // lists only: the visible order
    // Open-addressing index slot numbers by key hash, for containers with many members.
    std::vector<quint32> index;
    quint32 indexUsed = 0; // live entries + tombstones
    bool maybeOrphans = false; // set when an orphan joins `order`, so big lists skip orphan scans otherwise
    Container() = default;
    Container(const Container& other)
        : members(other.members)
        , order(other.order)
        , index(other.index)
        , indexUsed(other.indexUsed)
        , maybeOrphans(other.maybeOrphans)
    {
    }
};

// Bounded provenance beyond createdBy/lastChangedBy.
struct History {
    std::atomic<quint32> ref { 1 };
    quint64 total = 0;
    qint64 ring[DocumentTree::kProvenanceDepth] {};
    quint8 start = 0;
    quint8 count = 0;
    History() = default;
    History(const History& other)
        : total(other.total)
        , start(other.start)
        , count(other.count)
    {
        std::memcpy(ring, other.ring, sizeof(ring));
    }
    void push(qint64 event)
    {
        ++total;
        if (count < DocumentTree::kProvenanceDepth) {
            ring[(start + count) % DocumentTree::kProvenanceDepth] = event;
            ++count;
        } else {
            ring[start] = event;
            start = quint8((start + 1) % DocumentTree::kProvenanceDepth);
        }
    }
};

enum NodeFlag : quint8 {
    FlagLive = 1,
    FlagLooksLikeLong = 2,
    FlagMark = 4, // scratch: element removed by the delta being folded
    FlagOrphan = 8, // in a list's visible order but not in its element map (placeholder, or a stale
                    // value the reference client still shows)
};

struct Node {
    quint32 parent = 0; // slot of the parent, 0 for none
    quint32 generation = 0;
    quint32 row = kNotVisible; // visible row in the parent
    NodeKind kind = NodeKind::Null;
    quint8 flags = 0;
    std::string key;
    union {
        bool b;
        qint64 i;
        double d;
        StrRep* s;
        Container* c;
    } v {};
    qint64 createdBy = -1;
    qint64 lastChangedBy = -1;
    History* hist = nullptr;
    // Changes whenever the node or anything below it changes; unique across all trees (a global
    // counter), so equal slot, generation and stamp in two copies mean an identical subtree.
    quint64 stamp = 0;

    Node() = default;
    Node(const Node& other);
    Node& operator=(const Node& other) = delete;
    ~Node() { dropPayload(); }

    bool live() const { return flags & FlagLive; }
    bool isContainer() const
    {
        return kind == NodeKind::Object || kind == NodeKind::RecordList || kind == NodeKind::ValueList
            || kind == NodeKind::RawArray;
    }
    bool isList() const { return kind == NodeKind::RecordList || kind == NodeKind::ValueList; }
    const std::vector<quint32>& visible() const { return isList() ? v.c->order : v.c->members; }
    void dropPayload(); // releases the value / container / history, leaving a Null
};

struct Chunk {
    Node nodes[kChunkSize];
    Chunk() = default;
    Chunk(const Chunk& other);
    Chunk& operator=(const Chunk&) = delete;
};

inline bool isContainerKind(NodeKind k)
{
    return k == NodeKind::Object || k == NodeKind::RecordList || k == NodeKind::ValueList || k == NodeKind::RawArray;
}
inline bool isListKind(NodeKind k) { return k == NodeKind::RecordList || k == NodeKind::ValueList; }

quint64 hashKey(std::string_view key);
quint64 nextStamp();

} // namespace deltascope::detail

namespace deltascope {

struct DocumentTree::Data {
    FoldMode mode = FoldMode::Canonical;
    std::vector<std::shared_ptr<detail::Chunk>> chunks;
    std::vector<quint32> freeSlots;
    quint32 used = 1; // slot 0 is never a node
    quint32 rootSlot = 0;
    mutable std::size_t visibleCountCache = 0;
    mutable bool visibleCountValid = false;

    const detail::Node& r(quint32 slot) const { return chunks[slot >> detail::kChunkBits]->nodes[slot & (detail::kChunkSize - 1)]; }
    detail::Node& w(quint32 slot)
    {
        auto& chunk = chunks[slot >> detail::kChunkBits];
        if (chunk.use_count() != 1)
            chunk = std::make_shared<detail::Chunk>(*chunk);
        else // a copy on another thread may just have let go of it: its reads happen before our writes
            std::atomic_thread_fence(std::memory_order_acquire);
        return chunk->nodes[slot & (detail::kChunkSize - 1)];
    }
    // The container of `slot`, unshared from other trees first.
    detail::Container& wc(quint32 slot);
    const detail::Container& rc(quint32 slot) const { return *r(slot).v.c; }

    bool validId(NodeId id) const
    {
        const quint32 slot = quint32(id & 0xffffffffu);
        return slot != 0 && slot < used && r(slot).live() && r(slot).generation == quint32(id >> 32);
    }
    NodeId idOf(quint32 slot) const { return slot ? (NodeId(r(slot).generation) << 32) | slot : kNoNode; }
    quint32 slotOf(NodeId id) const { return validId(id) ? quint32(id & 0xffffffffu) : 0; }

    quint32 allocate(quint32 parent, std::string_view key, NodeKind kind, qint64 event);
    void freeSubtree(quint32 slot);
    // Turns `slot` into a fresh node of `kind` (payload dropped, children freed).
    void resetPayload(quint32 slot, NodeKind kind);

    // Member lookup by key (objects: key; lists: element map key; raw arrays: not indexed).
    quint32 findMember(quint32 container, std::string_view key) const;
    void indexInsert(quint32 container, quint32 member);
    void indexErase(quint32 container, quint32 member);
    void rebuildIndex(quint32 container);

    void renumber(quint32 container, std::size_t from = 0);

    void init(FoldMode mode);
};

} // namespace deltascope
