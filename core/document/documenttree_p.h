#pragma once

// Internal storage of DocumentTree, shared by the fold, the encoder and the diff. Not public API.

#include "core/document/documenttree.h"

#include <atomic>
#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <iterator>
#include <utility>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace deltascope::detail {

// diffTrees() without its shortcuts (shared unchanged subtrees skipped, same-order keys paired by
// position): what they must agree with. For tests.
TreeDiff diffTreesWithoutShortcuts(const DocumentTree& before, const DocumentTree& after);

inline constexpr quint32 kNotVisible = 0xffffffffu;
// Nodes live in chunks of 32, copied on write between tree copies. 32, not 64: a document of a few
// hundred nodes wastes half a chunk on average (2.8 instead of 5.5 bytes a node at 278 nodes), and
// the first edit after a copy copies 1.5 KB; the price is a chunk list twice as long to copy
// (about 20 instead of 12 us for a 200,000-node tree).
inline constexpr quint32 kChunkBits = 5;
inline constexpr quint32 kChunkSize = 1u << kChunkBits;

// An immutable, reference-counted UTF-8 string: 8 bytes in a node, shared by tree copies.
struct StrRep {
    std::atomic<quint32> ref;
    quint32 size;
    const char* data() const { return reinterpret_cast<const char*>(this + 1); }
    std::string_view view() const { return { data(), size }; }
};
StrRep* makeStr(std::string_view text); // for text longer than packed::kInline
// makeStr() of text that simdjson parsed (see packed::inlineBitsOfParsed): not for text from anywhere else.
StrRep* makeParsedStr(std::string_view parsed);
inline void retain(StrRep* s)
{
    if (s)
        s->ref.fetch_add(1, std::memory_order_relaxed);
}
void release(StrRep* s);

// Heap storage of `capacity` slots for SlotVec, and its return: small ones come from the per-thread
// caches of freed blocks (documentstorage.cpp), as short strings and object Containers do.
quint32* takeSlots(std::size_t capacity);
void giveSlots(quint32* slots, std::size_t capacity);

// The slot numbers of a container's members or visible order: a vector of quint32 that keeps a
// gap at the front, so dropping or adding at the front (a list that scrolls: oldest out, newest
// in) costs what is dropped or added, not the length; and that holds up to three slots in place of
// its buffer pointer (and the padding after it), so small objects and lists allocate nothing for
// their members: a new 3-member record is one heap block, its Container. 24 bytes.
class SlotVec
{
public:
    static constexpr std::size_t kInline = 3; // as many as fit in the buffer pointer and the padding
    using value_type = quint32;
    using iterator = quint32*;
    using const_iterator = const quint32*;

    SlotVec() = default;
    SlotVec(const SlotVec& other) { assign(other.begin(), other.end()); }
    SlotVec(SlotVec&& other) noexcept
        : m_start(std::exchange(other.m_start, 0))
        , m_size(std::exchange(other.m_size, 0))
        , m_cap(std::exchange(other.m_cap, 0))
    {
        std::memcpy(m_inl, other.m_inl, sizeof m_inl);
    }
    SlotVec& operator=(const SlotVec& other)
    {
        if (this != &other)
            assign(other.begin(), other.end());
        return *this;
    }
    SlotVec& operator=(SlotVec&& other) noexcept
    {
        // Inline slots live in m_inl, so swapping the members moves them too.
        std::swap(m_inl, other.m_inl);
        std::swap(m_start, other.m_start);
        std::swap(m_size, other.m_size);
        std::swap(m_cap, other.m_cap);
        return *this;
    }
    SlotVec& operator=(const std::vector<quint32>& other)
    {
        assign(other.data(), other.data() + other.size());
        return *this;
    }
    ~SlotVec()
    {
        if (m_cap)
            giveSlots(heap(), m_cap);
    }

    iterator begin() { return storage() + m_start; }
    iterator end() { return storage() + m_start + m_size; }
    const_iterator begin() const { return storage() + m_start; }
    const_iterator end() const { return storage() + m_start + m_size; }
    std::size_t size() const { return m_size; }
    bool empty() const { return m_size == 0; }
    quint32& operator[](std::size_t i) { return storage()[m_start + i]; }
    quint32 operator[](std::size_t i) const { return storage()[m_start + i]; }
    quint32 front() const { return storage()[m_start]; }
    quint32 back() const { return storage()[m_start + m_size - 1]; }

    void clear()
    {
        m_start = 0;
        m_size = 0;
    }
    void reserve(std::size_t n)
    {
        if (n > capacity() - m_start)
            relocate(n);
    }
    void shrink_to_fit()
    {
        if (capacity() != std::max<std::size_t>(m_size, kInline))
            relocate(m_size);
    }
    [[gnu::always_inline]] void push_back(quint32 value)
    {
        if (m_start + m_size == capacity())
            makeRoom(1);
        storage()[m_start + m_size++] = value;
    }
    void resize(std::size_t n)
    {
        if (n > m_size) {
            reserve(n);
            std::memset(storage() + m_start + m_size, 0, (n - m_size) * sizeof(quint32));
        }
        m_size = quint32(n);
    }
    template<typename It>
    void assign(It first, It last)
    {
        const std::size_t n = std::size_t(std::distance(first, last));
        if (n > capacity()) {
            if (m_cap)
                giveSlots(heap(), m_cap);
            setHeap(takeSlots(n));
            m_cap = quint32(n);
        }
        m_start = 0;
        m_size = quint32(n);
        std::copy(first, last, storage());
    }
    iterator erase(const_iterator pos) { return erase(pos, pos + 1); }
    iterator erase(const_iterator first, const_iterator last)
    {
        const std::size_t at = std::size_t(first - begin());
        const std::size_t count = std::size_t(last - first);
        if (at == 0) {
            m_start += quint32(count); // the front gap grows
        } else {
            quint32* p = storage() + m_start + at;
            std::memmove(p, p + count, (m_size - at - count) * sizeof(quint32));
        }
        m_size -= quint32(count);
        if (m_size == 0)
            m_start = 0;
        return begin() + at;
    }
    iterator insert(const_iterator pos, quint32 value) { return insert(pos, std::size_t(1), value); }
    iterator insert(const_iterator pos, std::size_t count, quint32 value)
    {
        const std::size_t at = std::size_t(pos - begin());
        quint32* p = open(at, count);
        std::fill(p, p + count, value);
        return p;
    }
    template<typename It>
    iterator insert(const_iterator pos, It first, It last)
    {
        const std::size_t at = std::size_t(pos - begin());
        quint32* p = open(at, std::size_t(std::distance(first, last)));
        std::copy(first, last, p);
        return p;
    }
    template<typename Predicate>
    friend std::size_t erase_if(SlotVec& v, Predicate predicate)
    {
        quint32* out = std::remove_if(v.begin(), v.end(), predicate);
        const std::size_t removed = std::size_t(v.end() - out);
        v.m_size -= quint32(removed);
        return removed;
    }
    friend bool operator==(const SlotVec& a, const SlotVec& b) { return std::equal(a.begin(), a.end(), b.begin(), b.end()); }
    friend bool operator==(const SlotVec& a, const std::vector<quint32>& b)
    {
        return std::equal(a.begin(), a.end(), b.data(), b.data() + b.size());
    }

private:
    // m_cap == 0: the slots are in m_inl (up to kInline of them), else the heap buffer.
    quint32* heap() const
    {
        quint32* p;
        std::memcpy(&p, m_inl, sizeof p); // one load: m_inl is aligned for it
        return p;
    }
    void setHeap(quint32* p) { std::memcpy(m_inl, &p, sizeof p); }
    quint32* storage() { return m_cap ? heap() : m_inl; }
    const quint32* storage() const { return m_cap ? heap() : m_inl; }
    std::size_t capacity() const { return m_cap ? m_cap : kInline; }

    // Room for `count` more at the end: reuse a large front gap, else grow.
    [[gnu::noinline]] void makeRoom(std::size_t count)
    {
        if (m_start >= count && m_start >= m_size) {
            std::memmove(storage(), storage() + m_start, m_size * sizeof(quint32));
            m_start = 0;
            return;
        }
        relocate(std::max<std::size_t>({ std::size_t(m_size) + count, std::size_t(m_size) * 2, 4 }));
    }
    // Moves the elements to storage of at least `capacity` (>= size), with no front gap.
    void relocate(std::size_t capacity)
    {
        if (capacity <= kInline) {
            if (!m_cap) {
                std::memmove(storage(), storage() + m_start, m_size * sizeof(quint32));
            } else {
                quint32* buffer = heap();
                const std::size_t heapCapacity = m_cap;
                m_cap = 0;
                std::memcpy(m_inl, buffer + m_start, m_size * sizeof(quint32));
                giveSlots(buffer, heapCapacity);
            }
            m_start = 0;
            return;
        }
        quint32* buffer = takeSlots(capacity);
        if (m_size)
            std::memcpy(buffer, storage() + m_start, m_size * sizeof(quint32));
        if (m_cap)
            giveSlots(heap(), m_cap);
        setHeap(buffer);
        m_start = 0;
        m_cap = quint32(capacity);
    }
    // Opens `count` uninitialised places at position `at`; returns the first.
    quint32* open(std::size_t at, std::size_t count)
    {
        if (at == 0 && m_start >= count) {
            m_start -= quint32(count); // the front gap shrinks
            m_size += quint32(count);
            return storage() + m_start;
        }
        if (m_start + m_size + count > capacity())
            makeRoom(count);
        quint32* p = storage() + m_start + at;
        if (at != m_size) // appending (a list's new last row) moves nothing
            std::memmove(p + count, p, (m_size - at) * sizeof(quint32));
        m_size += quint32(count);
        return p;
    }

    // m_cap == 0: up to kInline slots in place; else the heap buffer's pointer, in the first two
    // words (see heap()). Not a union of the two: the third slot would make it 16 bytes.
    alignas(quint32*) quint32 m_inl[kInline] {};
    quint32 m_start = 0;
    quint32 m_size = 0;
    quint32 m_cap = 0;
};
static_assert(sizeof(SlotVec) == 24, "three slots in place cost no size");

// Containers of up to this many members are searched by a linear scan and have no SlotIndex.
inline constexpr std::size_t kIndexThreshold = 12;
// Containers of at most this many members get an index four times their size, not twice.
inline constexpr std::size_t kSparseIndexMost = 64;

// Open-addressing table of slot numbers by key hash, for containers with many members. One
// pointer: its first two words hold the table size (a power of two) and the entries in use
// (tombstones included), so a lookup reaches the table with one load, and the many small
// containers that have none carry 8 bytes.
class SlotIndex
{
public:
    SlotIndex() = default;
    SlotIndex(const SlotIndex& other)
    {
        if (other.m_p) {
            m_p = static_cast<quint32*>(std::malloc((other.size() + kHeader) * sizeof(quint32)));
            std::memcpy(m_p, other.m_p, (other.size() + kHeader) * sizeof(quint32));
        }
    }
    SlotIndex& operator=(const SlotIndex&) = delete;
    ~SlotIndex() { std::free(m_p); }
    explicit operator bool() const { return m_p != nullptr; }
    std::size_t size() const { return m_p ? m_p[0] : 0; }
    // Entries in use, tombstones included (only while the table exists).
    quint32& used() { return m_p[1]; }
    quint32 used() const { return m_p ? m_p[1] : 0; }
    quint32& operator[](std::size_t i) { return m_p[i + kHeader]; }
    quint32 operator[](std::size_t i) const { return m_p[i + kHeader]; }
    // A table of `size` zeroes (size: a power of two), none in use.
    void assign(std::size_t size)
    {
        if (this->size() != size) {
            std::free(m_p);
            m_p = static_cast<quint32*>(std::malloc((size + kHeader) * sizeof(quint32)));
            m_p[0] = quint32(size);
        }
        m_p[1] = 0;
        std::memset(m_p + kHeader, 0, size * sizeof(quint32));
    }
    void reset()
    {
        std::free(m_p);
        m_p = nullptr;
    }

private:
    static constexpr std::size_t kHeader = 2;
    quint32* m_p = nullptr;
};

// A read-only view of slot numbers: a container's members or visible order, or the members an
// object keeps in its own node (FlagInlineMembers). Valid until the node or container changes.
class SlotSpan
{
public:
    using value_type = quint32;
    using const_iterator = const quint32*;
    SlotSpan() = default;
    SlotSpan(const quint32* first, std::size_t size)
        : m_first(first)
        , m_size(size)
    {
    }
    SlotSpan(const SlotVec& v)
        : m_first(v.begin())
        , m_size(v.size())
    {
    }
    const quint32* begin() const { return m_first; }
    const quint32* end() const { return m_first + m_size; }
    std::size_t size() const { return m_size; }
    bool empty() const { return m_size == 0; }
    quint32 operator[](std::size_t i) const { return m_first[i]; }
    quint32 front() const { return m_first[0]; }
    quint32 back() const { return m_first[m_size - 1]; }

private:
    const quint32* m_first = nullptr;
    std::size_t m_size = 0;
};

// Children of a container node: objects of over two members and raw arrays have this (40 bytes, a
// 48-byte heap block), lists the ListContainer below; smaller objects keep their members in the
// node (FlagInlineMembers). Shared between tree copies and copied when a shared one is written;
// see newContainer/copyContainer/releaseContainer, which take the node's kind to know which of
// the two it is.
struct Container {
    std::atomic<quint32> ref { 1 };
    // A visible child's row is its Node::row minus this. Removing or inserting rows renumbers the
    // shorter side of the change (moving the base when it is the head), so a change at either end
    // of a long list costs what the change costs, not the length of the list.
    quint32 rowBase = 0;
    // Objects: members in key insertion order (these are the visible children).
    // Record and value lists: the element map, in insertion order (visible order is `order`).
    // Raw arrays: the elements (visible children).
    SlotVec members;
    // Members by key, only for containers with many members.
    SlotIndex index;
    Container() = default;
    Container(const Container& other)
        : rowBase(other.rowBase)
        , members(other.members)
        , index(other.index)
    {
    }
};

// Row bases stay below this, so a stored row (row + base) never reaches kNotVisible.
inline constexpr quint32 kMaxRowBase = 1u << 30;

// The container of a record or value list.
struct ListContainer : Container {
    SlotVec order; // the visible order
    bool maybeOrphans = false; // set when an orphan joins `order`, so big lists skip orphan scans otherwise
    ListContainer() = default;
    ListContainer(const ListContainer& other) = default;
};

// Bounded provenance beyond createdBy/lastChangedBy.
struct History {
    std::atomic<quint32> ref { 1 };
    // Events pushed so far. The ring is indexed by it alone (push k goes to ring[k & kMask]), so a
    // push is one store and an increment: every ancestor a fold climbs through pushes one.
    quint64 total = 0;
    qint64 ring[DocumentTree::kProvenanceDepth] {};
    qint64 createdBy = -1; // kept here, not in the node, once a node has a history
    History() = default;
    History(const History& other)
        : total(other.total)
        , createdBy(other.createdBy)
    {
        std::memcpy(ring, other.ring, sizeof(ring));
    }
    // Ring positions wrap with a mask: unsigned, so no sign fix-up on the fold's path.
    static constexpr unsigned kMask = DocumentTree::kProvenanceDepth - 1;
    static_assert((DocumentTree::kProvenanceDepth & kMask) == 0, "the depth is a power of two");
    void push(qint64 event)
    {
        ring[total & kMask] = event;
        ++total;
    }
    // The events kept (the newest kProvenanceDepth), and where the oldest of them is in the ring.
    unsigned count() const { return unsigned(std::min<quint64>(total, DocumentTree::kProvenanceDepth)); }
    unsigned start() const { return unsigned(total - count()) & kMask; }
    // The last changing event (a node's history always holds at least its creation).
    qint64 newest() const { return ring[(total - 1) & kMask]; }
};

// Text in 8 bytes: up to 7 bytes inline, longer text in a shared StrRep (tree copies share it).
// Inline form: the lowest byte is (length << 1) | 1, the text follows; StrRep pointers are aligned,
// so their lowest bit is 0. Node keys and short string values (ids, names, flags) use it, so the
// common edit allocates nothing.
namespace packed {
inline constexpr std::size_t kInline = 7;
// The inline form of `text`; 0 when too long.
inline quint64 inlineBits(std::string_view text)
{
    if (text.size() > kInline)
        return 0;
    // Shifts, not memcpy: a variable-length memcpy is a library call, and reading its bytes back
    // as one word stalls on store forwarding. This is on every key lookup of the fold.
    quint64 bits = 0;
    for (std::size_t i = text.size(); i-- > 0;)
        bits = (bits << 8) | static_cast<unsigned char>(text[i]);
    return (bits << 8) | ((text.size() << 1) | 1);
}
// inlineBits() of a key or string that simdjson parsed: it sits in the parser's string buffer, which
// is allocated with padding beyond its last string, so eight bytes can be read from its start in one
// load and the bytes past its end masked off. Not for text from anywhere else.
inline quint64 inlineBitsOfParsed(std::string_view parsed)
{
    if (parsed.size() > kInline)
        return 0;
    quint64 word;
    std::memcpy(&word, parsed.data(), sizeof word); // one unaligned load
    // Keep the text's bytes (little endian: the low ones), with a mask by size (a table: fewer
    // instructions than building it from the size for every key a delta holds).
    static constexpr quint64 kKeep[kInline + 1] = { 0, 0xff, 0xffff, 0xffffff, 0xffffffff, 0xffffffffff, 0xffffffffffff, 0xffffffffffffff };
    return ((word & kKeep[parsed.size()]) << 8) | ((parsed.size() << 1) | 1);
}
inline bool isInline(quint64 bits) { return bits & 1; }
inline StrRep* rep(quint64 bits) { return reinterpret_cast<StrRep*>(bits); }
inline quint64 make(std::string_view text)
{
    const quint64 bits = inlineBits(text);
    return bits ? bits : quint64(reinterpret_cast<quintptr>(makeStr(text)));
}
inline void retainBits(quint64 bits)
{
    if (!isInline(bits))
        retain(rep(bits));
}
inline void releaseBits(quint64 bits)
{
    if (!isInline(bits))
        release(rep(bits));
}
// `bits` must be the stored word itself: inline text is read from it.
inline std::string_view view(const quint64& bits)
{
    if (isInline(bits))
        return { reinterpret_cast<const char*>(&bits) + 1, std::size_t(static_cast<unsigned char>(bits) >> 1) };
    return rep(bits)->view();
}
} // namespace packed

// A node's key in 8 bytes (packed text).
class Key
{
public:
    static constexpr std::size_t kInline = packed::kInline;
    Key() = default;
    Key(const Key& other)
        : m_bits(other.m_bits)
    {
        packed::retainBits(m_bits);
    }
    Key& operator=(const Key&) = delete;
    ~Key() { packed::releaseBits(m_bits); }
    void assign(std::string_view text) { assign(text, packed::inlineBits(text)); }
    // The same, with the text's inline form already known (packed::inlineBits or inlineBitsOfParsed;
    // 0 when too long to be inline).
    void assign(std::string_view text, quint64 inlineForm)
    {
        // The new form first: `text` may be a view of this key.
        const quint64 bits = inlineForm ? inlineForm : quint64(reinterpret_cast<quintptr>(makeStr(text)));
        packed::releaseBits(m_bits);
        m_bits = bits;
    }
    void clear() { assign({}); }
    std::string_view view() const { return packed::view(m_bits); }
    operator std::string_view() const { return view(); }
    std::size_t size() const { return view().size(); }
    bool operator==(std::string_view text) const { return view() == text; }
    bool operator==(const Key& other) const { return m_bits == other.m_bits || view() == other.view(); }
    // The inline form of `text` (which equals a Key holding it bit for bit); 0 when too long.
    static quint64 inlineBits(std::string_view text) { return packed::inlineBits(text); }
    quint64 bits() const { return m_bits; }

private:
    quint64 m_bits = 1; // inline, empty
};
static_assert(Q_BYTE_ORDER == Q_LITTLE_ENDIAN, "Key keeps its inline tag in the lowest-addressed byte");
static_assert(alignof(StrRep) >= 2);

enum NodeFlag : quint8 {
    FlagLive = 1,
    FlagLooksLikeLong = 2,
    FlagMark = 4, // scratch: element removed by the delta being folded
    FlagOrphan = 8, // in a list's visible order but not in its element map (placeholder, or a stale
                    // value the reference client still shows)
    FlagHistory = 16, // Node::prov holds a History, not the creating event
    // An orphan null standing for what the reference client's array holds no value at (an id or
    // index missing from the element map: undefined, which JSON.stringify writes as null), as
    // opposed to a null the array really holds (from raw JSON, which copy() shows as {}).
    FlagUndefined = 32,
    // An object with at most two members keeps their slots in Node::v (no Container: 48 bytes less
    // for each small object, which most records of a big list are). Its rows have no base.
    FlagInlineMembers = 64,
};

inline void retainHistory(History* h)
{
    if (h)
        h->ref.fetch_add(1, std::memory_order_relaxed);
}
inline void releaseHistory(History* h)
{
    if (h && (h->ref.load(std::memory_order_acquire) == 1 || h->ref.fetch_sub(1, std::memory_order_acq_rel) == 1))
        delete h; // a count of one is the caller's own: no locked decrement (see release())
}

struct Node {
    quint32 parent = 0; // slot of the parent, 0 for none
    quint32 generation = 0;
    quint32 row = kNotVisible; // visible row in the parent plus the parent's Container::rowBase
    NodeKind kind = NodeKind::Null;
    quint8 flags = 0;
    // In the touched list of the mutation with this touch epoch (Data::touchEpoch): a mark that goes
    // stale by itself when the next mutation takes a new epoch, so none is cleared. In the padding
    // before `key`.
    quint16 touchedIn = 0;
    Key key;
    union {
        bool b;
        qint64 i;
        double d;
        quint64 s; // String: packed text (see packed::), read with text()
        Container* c; // containers, unless FlagInlineMembers
        quint32 slots[2]; // FlagInlineMembers: the members in order, 0 where none (slot 0 is never a node)
    } v {};
    // The creating and the last changing event, each stored plus one in 32 bits (0: none); or, with
    // FlagHistory, the bounded history that holds both (8 bytes either way). Events beyond 32 bits
    // (never seen from a capture, but the API takes qint64) get a history at once.
    struct Events {
        quint32 created;
        quint32 changed;
    };
    union {
        Events ev;
        History* hist;
    } prov { Events { 0, 0 } };
    // Changes whenever the node or anything below it changes; unique across all trees (a global
    // counter), so equal slot, generation and stamp in two copies mean an identical subtree.
    quint64 stamp = 0;

    Node() = default;
    Node(const Node& other);
    Node& operator=(const Node& other) = delete;
    ~Node()
    {
        dropPayload();
        resetProvenance(-1);
    }

    std::string_view text() const { return packed::view(v.s); } // kind String only
    static bool eventFits(qint64 event) { return event >= -1 && event < qint64(0xffffffffu) - 1; }
    static quint32 packEvent(qint64 event) { return quint32(event + 1); } // eventFits(event) only
    static qint64 unpackEvent(quint32 packed) { return qint64(packed) - 1; }
    qint64 createdBy() const { return (flags & FlagHistory) ? prov.hist->createdBy : unpackEvent(prov.ev.created); }
    qint64 lastChangedBy() const { return (flags & FlagHistory) ? prov.hist->newest() : unpackEvent(prov.ev.changed); }
    History* history() const { return (flags & FlagHistory) ? prov.hist : nullptr; }
    // A fresh node's provenance: created (and last changed) by `createdEvent`.
    void resetProvenance(qint64 createdEvent)
    {
        if (flags & FlagHistory) {
            releaseHistory(prov.hist);
            flags &= quint8(~FlagHistory);
        }
        if (eventFits(createdEvent)) {
            prov.ev = Events { packEvent(createdEvent), packEvent(createdEvent) };
            return;
        }
        auto* h = new History;
        h->createdBy = createdEvent;
        h->push(createdEvent);
        prov.hist = h;
        flags |= FlagHistory;
    }
    // Records that `event` changed the node (or something below it); once per event. False,
    // nothing done, where that needs noteChangeSlow() (a history made, or unshared from a copy's).
    bool noteChangeInPlace(qint64 event)
    {
        if (!(flags & FlagHistory)) {
            if (eventFits(event)) {
                const quint32 packed = packEvent(event);
                if (prov.ev.changed == packed)
                    return true;
                if (prov.ev.created == prov.ev.changed) {
                    prov.ev.changed = packed; // created and changed fit in the node: no history yet
                    return true;
                }
            }
            return false;
        }
        // The history and its count read once: the ring's store could alias them, so reading
        // them again through the node reloads both.
        History* const h = prov.hist;
        const quint64 total = h->total;
        if (h->ring[(total - 1) & History::kMask] == event)
            return true; // newest()
        if (h->ref.load(std::memory_order_acquire) == 1) {
            h->ring[total & History::kMask] = event; // push()
            h->total = total + 1;
            return true;
        }
        return false;
    }
    void noteChangeSlow(qint64 event); // starts or unshares the history

    bool live() const { return flags & FlagLive; }
    bool isContainer() const
    {
        return kind == NodeKind::Object || kind == NodeKind::RecordList || kind == NodeKind::ValueList
            || kind == NodeKind::RawArray;
    }
    bool isList() const { return kind == NodeKind::RecordList || kind == NodeKind::ValueList; }
    static constexpr std::size_t kInlineMembers = 2; // what v.slots holds
    bool inlineMembers() const { return flags & FlagInlineMembers; }
    bool hasContainer() const { return isContainer() && !inlineMembers(); }
    // Objects: members in key order; lists: the element map; raw arrays: the elements.
    SlotSpan members() const
    {
        if (inlineMembers())
            return SlotSpan(v.slots, std::size_t(v.slots[0] != 0) + std::size_t(v.slots[1] != 0));
        return SlotSpan(v.c->members);
    }
    // The visible children: a list's order, every other container's members.
    SlotSpan visible() const { return isList() ? SlotSpan(static_cast<const ListContainer*>(v.c)->order) : members(); }
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
// A fresh container for a node of `kind` (a container kind), and a copy of a shared one.
Container* newContainer(NodeKind kind);
Container* copyContainer(const Container& c, NodeKind kind);

quint64 hashKey(std::string_view key);
// hashKey() of a key that fits inline, from its inline form (Key::inlineBits).
inline quint64 hashInlineKey(quint64 bits)
{
    // Both halves of the 128-bit product: the low half alone would let the last characters of a
    // key reach only the high bits, which a small table's mask drops ("1000000".."1001999" would
    // share 20 slots).
    const unsigned __int128 product = static_cast<unsigned __int128>(bits) * 0x9e3779b97f4a7c15ull;
    return quint64(product) ^ quint64(product >> 64);
}
quint64 nextStamp();

} // namespace deltascope::detail

namespace deltascope {

struct DocumentTree::Data {
    FoldMode mode = FoldMode::Canonical;
    std::vector<std::shared_ptr<detail::Chunk>> chunks;
    // chunks[i].get(): the table every node access reads, at half the bytes of `chunks` (a
    // 200,000-node tree's table then stays in cache as it did with chunks twice as big).
    std::vector<detail::Chunk*> chunkNodes;
    // 1 where chunks[i] is known to be held by this tree alone, so w() need not look at the shared
    // count (a cache line of its own) on every write. Cleared on both sides when a tree is copied.
    mutable std::vector<quint8> chunkOwned;
    std::vector<quint32> freeSlots;
    quint32 used = 1; // slot 0 is never a node
    quint32 rootSlot = 0;
    // Nodes freed while in a change set's touched list (Node::touchedIn): until one is, every entry a
    // mutation added is still its node's, and Mutator::finish() need not check them.
    quint64 touchedNodesFreed = 0;
    // The touch epoch of the last mutation that kept a change set (see Node::touchedIn); 0 is none.
    quint16 touchEpoch = 0;
    // A new touch epoch for a mutation that keeps a change set. When the count wraps, every node's
    // mark is cleared once, so no stale mark ever equals a new epoch.
    quint16 nextTouchEpoch()
    {
        if (++touchEpoch == 0) [[unlikely]]
            clearTouchMarks();
        return touchEpoch;
    }
    void clearTouchMarks();
    // The path of the node the last list-level anomaly was reported at (see Mutator::anomaly).
    struct PathCache {
        quint32 slot = 0;
        quint32 generation = 0;
        QString path;
    } anomalyPath;
    mutable std::size_t visibleCountCache = 0;
    mutable bool visibleCountValid = false;
    // Hidden element counts of record lists already counted (slot, count): a tree view asks for one
    // at every paint of a list's row, and counting walks the whole element map. Few lists are on
    // screen at once, so a short vector; it holds while no node changes visibility.
    mutable std::vector<std::pair<quint32, int>> hiddenCounts;
    // Every change of which nodes exist or are visible comes through here: it voids both caches.
    void visibilityChanged()
    {
        visibleCountValid = false;
        hiddenCounts.clear();
    }
    // ReferenceClient mode: element maps tree.js still holds for a key whose value stopped being a
    // list (see Mutator::stashElementMap). Each is held by a node no container lists (`holder`, a
    // list whose element map it is), so nothing visible, exported or diffed reaches it. Rare: only
    // a kind change makes one.
    struct StashedElementMap {
        quint32 object;
        quint32 objectGeneration;
        std::string key;
        quint32 holder;
    };
    std::vector<StashedElementMap> stashedElementMaps;
    // Member positions the last delta's lookups started from, kept for the next delta (see
    // findMemberFrom): the root's first key, and the member of a list's one-member element deltas.
    // Deltas repeat their shape (the same root keys, the same field of sibling records), so the
    // first lookup of a delta then hits too instead of scanning. Only hints: any value is correct.
    std::size_t rootMemberHint = 0;
    std::size_t elementMemberHint = 0;

    const detail::Node& r(quint32 slot) const { return chunkNodes[slot >> detail::kChunkBits]->nodes[slot & (detail::kChunkSize - 1)]; }
    [[gnu::always_inline]] detail::Node& w(quint32 slot)
    {
        const quint32 c = slot >> detail::kChunkBits;
        if (!chunkOwned[c])
            own(c);
        return chunkNodes[c]->nodes[slot & (detail::kChunkSize - 1)];
    }
    void own(quint32 chunk); // copies chunks[chunk] if another tree holds it too
    // Whether w(slot) copies nothing (the node's chunk is known to be this tree's alone).
    bool writable(quint32 slot) const { return chunkOwned[slot >> detail::kChunkBits]; }

    Data() = default;
    Data(const Data& other);
    Data& operator=(const Data&) = delete;
    // The container of `slot`, unshared from other trees first; an object keeping its members in
    // the node gets a Container here (the general way to change what an object holds).
    detail::Container& wc(quint32 slot)
    {
        // Inline for the common case, a Container this tree holds alone in a chunk it owns: the
        // fold asks for one at every element added or removed and every row renumbered.
        const quint32 c = slot >> detail::kChunkBits;
        if (chunkOwned[c]) {
            detail::Node& n = chunkNodes[c]->nodes[slot & (detail::kChunkSize - 1)];
            if (!n.inlineMembers() && n.v.c->ref.load(std::memory_order_acquire) == 1)
                return *n.v.c;
        }
        return wcSlow(slot);
    }
    detail::Container& wcSlow(quint32 slot); // wc() of a node in an unowned chunk, inline members or a shared Container
    // Only for nodes with a Container (not FlagInlineMembers): read members with members().
    const detail::Container& rc(quint32 slot) const
    {
        Q_ASSERT(r(slot).hasContainer());
        return *r(slot).v.c;
    }
    detail::SlotSpan members(quint32 slot) const { return r(slot).members(); }
    // Member changes that keep a small object in its node.
    void appendMember(quint32 container, quint32 member);
    void eraseMemberAt(quint32 container, std::size_t position);
    quint32 rowBase(quint32 container) const
    {
        const detail::Node& n = r(container);
        return n.inlineMembers() ? 0 : n.v.c->rowBase;
    }
    // The same for a list node (kind RecordList or ValueList) only.
    detail::ListContainer& wl(quint32 slot) { return static_cast<detail::ListContainer&>(wc(slot)); }
    const detail::ListContainer& rl(quint32 slot) const { return static_cast<const detail::ListContainer&>(rc(slot)); }

    bool validId(NodeId id) const
    {
        const quint32 slot = quint32(id & 0xffffffffu);
        return slot != 0 && slot < used && r(slot).live() && r(slot).generation == quint32(id >> 32);
    }
    NodeId idOf(quint32 slot) const { return slot ? idOf(slot, r(slot)) : kNoNode; }
    // The same for a slot whose node is at hand (`n` is its node).
    static NodeId idOf(quint32 slot, const detail::Node& n) { return (NodeId(n.generation) << 32) | slot; }
    quint32 slotOf(NodeId id) const { return validId(id) ? quint32(id & 0xffffffffu) : 0; }
    // Whether a live node is part of the document: every one is, but those of an element map the
    // ReferenceClient fold keeps aside, which hang from a holder no container lists.
    bool inDocument(quint32 slot) const
    {
        if (stashedElementMaps.empty()) [[likely]]
            return true;
        while (r(slot).parent)
            slot = r(slot).parent;
        return slot == rootSlot;
    }

    quint32 allocate(quint32 parent, std::string_view key, NodeKind kind, qint64 event)
    {
        return allocate(parent, key, detail::Key::inlineBits(key), kind, event);
    }
    // The same, with the key's inline form already known (0 when it is too long to be inline).
    quint32 allocate(quint32 parent, std::string_view key, quint64 keyBits, NodeKind kind, qint64 event);
    // allocate()'s first half: a slot for a new node (from the free list, else a new one). Its node
    // is dead and empty, as freeSubtree() leaves it; the caller sets every field allocate() sets.
    quint32 takeSlot()
    {
        // Inline for a freed slot (a list that scrolls frees an element and makes one every delta).
        if (!freeSlots.empty()) [[likely]] {
            const quint32 slot = freeSlots.back();
            freeSlots.pop_back();
            return slot;
        }
        return newSlot();
    }
    quint32 newSlot(); // takeSlot() with no free slot: the next one, in a new chunk if need be
    void freeSubtree(quint32 slot);
    // freeSubtree() of one node whose children are taken care of; clearNode() the same but for
    // putting the slot on the free list.
    void freeNode(quint32 slot);
    void clearNode(quint32 slot);
    // Makes a raw array node a value list whose visible order is the array's elements and whose
    // element map is empty (what the reference client does when an object is merged into an array).
    void rawArrayToValueList(quint32 slot);
    // Turns `slot` into a fresh node of `kind` (payload dropped, children freed).
    void resetPayload(quint32 slot, NodeKind kind);

    // Member lookup by key (objects: key; lists: element map key; raw arrays: not indexed).
    quint32 findMember(quint32 container, std::string_view key) const { return findMember(container, key, detail::Key::inlineBits(key)); }
    // The same, with the key's inline form already known (0 when it is too long to be inline).
    quint32 findMember(quint32 container, std::string_view key, quint64 probe) const;
    // findMember() that first tries the member at position `hint` of the container's members, and
    // leaves there the position a scan found the member at (a container with a hash index, or a
    // value list, is not scanned: `hint` stays). For lookups that tend to find their member where
    // the last one did (the same field of sibling records) or just after it (an object's keys in
    // the order it stores them). Keys are unique in a container, so it finds what findMember() does.
    quint32 findMemberFrom(quint32 container, std::string_view key, quint64 probe, std::size_t& hint) const
    {
        const detail::SlotSpan members = r(container).members();
        // A long key's probe (0) equals no stored key: an inline one has its low bit set, a long one
        // is a pointer.
        if (hint < members.size()) {
            const quint32 m = members[hint];
            if (r(m).key.bits() == probe)
                return m;
        }
        return findMemberScanning(container, key, probe, hint);
    }
    quint32 findMemberScanning(quint32 container, std::string_view key, quint64 probe, std::size_t& hint) const;
    void indexInsert(quint32 container, quint32 member);
    void indexErase(quint32 container, quint32 member);
    void rebuildIndex(quint32 container);

    // The visible row of `slot` in its parent, or kNotVisible.
    quint32 rowOf(quint32 slot) const
    {
        const detail::Node& n = r(slot);
        return n.row == detail::kNotVisible ? detail::kNotVisible : n.row - rowBase(n.parent);
    }
    void setRow(quint32 container, quint32 slot, quint32 row) { w(slot).row = row + rowBase(container); }
    // The visible children of `container`, after making its node and Container this tree's own:
    // writing the children's rows then cannot copy what the span points into.
    detail::SlotSpan ownedVisible(quint32 container);
    // Rows of all visible children of `container` (after a wholesale change of its visible order).
    void renumber(quint32 container);
    // After `count` visible rows were erased at `first` / inserted at first..first+count-1.
    void rowsErased(quint32 container, std::size_t first, std::size_t count);
    void rowsInserted(quint32 container, std::size_t first, std::size_t count);

    void init(FoldMode mode);
};

} // namespace deltascope
