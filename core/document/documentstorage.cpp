// Node storage of DocumentTree: chunked slots shared between tree copies and copied on write.

#include "core/document/documenttree_p.h"

#include <new>
#include <type_traits>

namespace deltascope::detail {

namespace {
#if defined(__SANITIZE_ADDRESS__) // GCC
constexpr bool kAddressSanitizer = true;
#elif defined(__has_feature) // Clang
constexpr bool kAddressSanitizer = __has_feature(address_sanitizer);
#else
constexpr bool kAddressSanitizer = false;
#endif

// Per-thread caches of freed heap blocks of the two smallest sizes the tree asks for (strings of 8 to
// 32 bytes, object Containers, SlotVec buffers of up to ten slots). A list that scrolls frees a
// record and makes one every delta, and a block from here costs a fraction of what malloc's own
// per-thread cache does. The two sizes are what malloc rounds such requests up to anyway (24 and 40
// usable bytes), so a block taken for the whole size costs no more memory than one of the exact
// size. Blocks go back to the heap when the thread ends; a block may come back on another thread
// than the one that took it.
struct BlockCache {
    static constexpr std::size_t kClasses = 2;
    static constexpr std::size_t kSize[kClasses] = { 24, 40 };
    // Blocks kept per size; none under AddressSanitizer, which must see every block freed to catch
    // a use after free (the fuzzing build).
    static constexpr quint32 kMost = kAddressSanitizer ? 0 : 32;
    struct Free {
        Free* next;
    };
    Free* head[kClasses];
    quint32 count[kClasses];
    bool registered; // BlockCacheFlusher will return the blocks when the thread ends
    bool closed; // the thread is ending: blocks go straight back to the heap
};
static_assert(std::is_trivially_destructible_v<BlockCache>, "usable until the thread's very end");
constinit thread_local BlockCache blockCache {};

struct BlockCacheFlusher {
    ~BlockCacheFlusher()
    {
        BlockCache& cache = blockCache;
        cache.closed = true;
        for (std::size_t c = 0; c < BlockCache::kClasses; ++c) {
            while (BlockCache::Free* block = cache.head[c]) {
                cache.head[c] = block->next;
                ::operator delete(block);
            }
            cache.count[c] = 0;
        }
    }
};
thread_local BlockCacheFlusher blockCacheFlusher;

// The size class of a request of `bytes`, or kClasses for one the caches do not keep.
inline std::size_t blockClass(std::size_t bytes)
{
    return bytes <= BlockCache::kSize[0] ? 0 : bytes <= BlockCache::kSize[1] ? 1 : BlockCache::kClasses;
}

[[gnu::always_inline]] inline void* takeBlock(std::size_t bytes)
{
    const std::size_t c = blockClass(bytes);
    if (c == BlockCache::kClasses)
        return ::operator new(bytes);
    BlockCache& cache = blockCache;
    if (BlockCache::Free* block = cache.head[c]) {
        cache.head[c] = block->next;
        --cache.count[c];
        return block;
    }
    return ::operator new(BlockCache::kSize[c]); // the whole class: any block of it serves any request
}

// `bytes`: what was asked of takeBlock().
[[gnu::always_inline]] inline void giveBlock(void* memory, std::size_t bytes)
{
    const std::size_t c = blockClass(bytes);
    BlockCache& cache = blockCache;
    if (c == BlockCache::kClasses || cache.count[c] >= BlockCache::kMost || cache.closed) {
        ::operator delete(memory);
        return;
    }
    if (!cache.registered) [[unlikely]] {
        cache.registered = true;
        (void)&blockCacheFlusher; // constructed now, so destroyed (emptying the cache) at thread end
    }
    auto* block = static_cast<BlockCache::Free*>(memory);
    block->next = cache.head[c];
    cache.head[c] = block;
    ++cache.count[c];
}
}

quint32* takeSlots(std::size_t capacity)
{
    return static_cast<quint32*>(takeBlock(capacity * sizeof(quint32)));
}

void giveSlots(quint32* slots, std::size_t capacity)
{
    giveBlock(slots, capacity * sizeof(quint32));
}

// A StrRep with room for `size` bytes of text, the text still to be written at its data().
inline StrRep* newStrRep(std::size_t size)
{
    void* memory = takeBlock(sizeof(StrRep) + size);
    auto* rep = new (memory) StrRep;
    rep->ref.store(1, std::memory_order_relaxed);
    rep->size = quint32(size);
    return rep;
}

StrRep* makeStr(std::string_view text)
{
    StrRep* rep = newStrRep(text.size());
    std::memcpy(const_cast<char*>(rep->data()), text.data(), text.size());
    return rep;
}

StrRep* makeParsedStr(std::string_view parsed)
{
    // Text that fits a cached block is copied with the block's whole room, in moves of a fixed size
    // rather than a library call for its length: the parser's string buffer is allocated with
    // padding after its last string (more than the 32 bytes read here), so the bytes past the
    // text are there to read. They land past the text's end, where nothing reads them.
    const std::size_t size = parsed.size();
    constexpr std::size_t kSmallRoom = BlockCache::kSize[0] - sizeof(StrRep);
    constexpr std::size_t kLargeRoom = BlockCache::kSize[1] - sizeof(StrRep);
    if (size > kLargeRoom)
        return makeStr(parsed);
    StrRep* rep = newStrRep(size); // a block of the whole class (see takeBlock)
    char* data = const_cast<char*>(rep->data());
    if (size <= kSmallRoom)
        std::memcpy(data, parsed.data(), kSmallRoom);
    else
        std::memcpy(data, parsed.data(), kLargeRoom);
    return rep;
}

// A count of one is the caller's own reference: no other holder exists to copy it concurrently, so
// it is freed without the locked decrement (the common case: text no tree copy shares).
namespace {
[[gnu::always_inline]] inline void releaseText(StrRep* s)
{
    if (s->ref.load(std::memory_order_acquire) == 1 || s->ref.fetch_sub(1, std::memory_order_acq_rel) == 1) {
        const std::size_t bytes = sizeof(StrRep) + s->size;
        s->~StrRep();
        giveBlock(s, bytes);
    }
}
}

void release(StrRep* s)
{
    if (s)
        releaseText(s);
}

// Containers of objects and raw arrays come from the block caches (lists' are bigger).
Container* newContainer(NodeKind kind)
{
    return isListKind(kind) ? new ListContainer : new (takeBlock(sizeof(Container))) Container;
}

Container* copyContainer(const Container& c, NodeKind kind)
{
    return isListKind(kind) ? new ListContainer(static_cast<const ListContainer&>(c)) : new (takeBlock(sizeof(Container))) Container(c);
}

namespace {
void retainContainer(Container* c)
{
    if (c)
        c->ref.fetch_add(1, std::memory_order_relaxed);
}
// Containers have no virtual destructor (8 bytes each): the node's kind says which type to delete.
void releaseContainer(Container* c, NodeKind kind)
{
    if (c && (c->ref.load(std::memory_order_acquire) == 1 || c->ref.fetch_sub(1, std::memory_order_acq_rel) == 1)) {
        if (isListKind(kind)) {
            delete static_cast<ListContainer*>(c);
        } else {
            c->~Container();
            giveBlock(c, sizeof(Container));
        }
    }
}
}

Node::Node(const Node& other)
    : parent(other.parent)
    , generation(other.generation)
    , row(other.row)
    , kind(other.kind)
    , flags(other.flags)
    , touchedIn(other.touchedIn)
    , key(other.key)
    , v(other.v)
    , prov(other.prov)
    , stamp(other.stamp)
{
    if (kind == NodeKind::String)
        packed::retainBits(v.s);
    else if (hasContainer())
        retainContainer(v.c);
    if (flags & FlagHistory)
        retainHistory(prov.hist);
}

void Node::noteChangeSlow(qint64 event)
{
    if (!(flags & FlagHistory)) {
        // A third distinct event (or one beyond 32 bits): the bounded history takes over.
        auto* h = new History;
        h->createdBy = createdBy();
        h->push(createdBy());
        if (lastChangedBy() != createdBy())
            h->push(lastChangedBy());
        h->push(event);
        prov.hist = h;
        flags |= FlagHistory;
        return;
    }
    // Shared with a tree copy: this tree's history diverges from here.
    auto* copy = new History(*prov.hist);
    releaseHistory(prov.hist);
    prov.hist = copy;
    copy->push(event);
}

namespace {
// dropPayload() but for its flag: inline, for freeSubtree(), where a removed record's every node comes.
[[gnu::always_inline]] inline void releasePayload(Node& n)
{
    if (n.kind == NodeKind::String) {
        if (!packed::isInline(n.v.s))
            releaseText(packed::rep(n.v.s));
    } else if (n.hasContainer()) {
        releaseContainer(n.v.c, n.kind);
    }
    n.v.i = 0;
    n.kind = NodeKind::Null;
}
}

void Node::dropPayload()
{
    releasePayload(*this);
    flags &= quint8(~FlagInlineMembers);
}

Chunk::Chunk(const Chunk& other)
{
    for (quint32 i = 0; i < kChunkSize; ++i) {
        nodes[i].~Node();
        new (&nodes[i]) Node(other.nodes[i]);
    }
}

quint64 nextStamp()
{
    // Unique across all trees and threads: each thread takes blocks of the global counter, so the
    // fold does not do an atomic read-modify-write per node.
    constexpr quint64 kBlock = 4096;
    static std::atomic<quint64> counter { 0 };
    thread_local quint64 next = 0;
    thread_local quint64 end = 0;
    if (next == end) {
        next = counter.fetch_add(kBlock, std::memory_order_relaxed) + 1;
        end = next + kBlock;
    }
    return next++;
}

quint64 hashKey(std::string_view key)
{
    // Short keys (nearly all: field names, ids) hash their 8-byte inline form with one multiply.
    if (const quint64 bits = Key::inlineBits(key))
        return hashInlineKey(bits);
    // FNV-1a for the rest: cheap and good enough for open addressing.
    quint64 h = 1469598103934665603ull;
    for (unsigned char c : key) {
        h ^= c;
        h *= 1099511628211ull;
    }
    return h ^ (h >> 29);
}

} // namespace deltascope::detail

namespace deltascope {

using namespace detail;

namespace {
constexpr quint32 kTombstone = 0xffffffffu;

// hashKey() of a node's key: an inline key (nearly all) is already its inline form, so the text
// need not be read again byte by byte to make it.
inline quint64 hashOfKey(const Key& key)
{
    const quint64 bits = key.bits();
    return packed::isInline(bits) ? hashInlineKey(bits) : hashKey(key.view());
}
}

void DocumentTree::Data::init(FoldMode foldMode)
{
    mode = foldMode;
    chunks.clear();
    chunkNodes.clear();
    chunkOwned.clear();
    freeSlots.clear();
    used = 1;
    rootSlot = allocate(0, {}, NodeKind::Object, -1);
    visibilityChanged();
}

DocumentTree::Data::Data(const Data& other)
    : mode(other.mode)
    , chunks(other.chunks)
    , chunkNodes(other.chunkNodes)
    , chunkOwned(other.chunks.size(), 0)
    , freeSlots(other.freeSlots)
    , used(other.used)
    , rootSlot(other.rootSlot)
    , touchEpoch(other.touchEpoch) // the copy's nodes carry marks of epochs up to this one
    , anomalyPath(other.anomalyPath)
    , visibleCountCache(other.visibleCountCache)
    , visibleCountValid(other.visibleCountValid)
    , hiddenCounts(other.hiddenCounts)
    , stashedElementMaps(other.stashedElementMaps)
{
    // Both trees now hold every chunk: each copies a chunk before its first write to it.
    std::fill(other.chunkOwned.begin(), other.chunkOwned.end(), 0);
}

void DocumentTree::Data::clearTouchMarks()
{
    for (quint32 c = 0; c < chunkNodes.size(); ++c) {
        if (!chunkOwned[c])
            own(c);
        for (Node& n : chunkNodes[c]->nodes)
            n.touchedIn = 0;
    }
    touchEpoch = 1;
}

void DocumentTree::Data::own(quint32 c)
{
    auto& chunk = chunks[c];
    if (chunk.use_count() != 1) {
        chunk = std::make_shared<Chunk>(*chunk);
        chunkNodes[c] = chunk.get();
    } else // a copy on another thread may just have let go of it: its reads happen before our writes
        std::atomic_thread_fence(std::memory_order_acquire);
    chunkOwned[c] = 1;
}

Container& DocumentTree::Data::wcSlow(quint32 slot)
{
    Node& n = w(slot);
    if (n.inlineMembers()) {
        // Outgrown (or changed in a way only a Container holds): the members move into one.
        const SlotSpan held = n.members();
        Container* c = newContainer(n.kind);
        c->members.assign(held.begin(), held.end());
        n.flags &= quint8(~FlagInlineMembers);
        n.v.c = c;
        return *c;
    }
    if (n.v.c->ref.load(std::memory_order_acquire) != 1) {
        Container* copy = copyContainer(*n.v.c, n.kind);
        releaseContainer(n.v.c, n.kind);
        n.v.c = copy;
    }
    return *n.v.c;
}

quint32 DocumentTree::Data::newSlot()
{
    const quint32 slot = used++;
    if ((slot >> kChunkBits) >= chunks.size()) {
        chunks.push_back(std::make_shared<Chunk>());
        chunkNodes.push_back(chunks.back().get());
        chunkOwned.push_back(1);
    }
    return slot;
}

quint32 DocumentTree::Data::allocate(quint32 parentSlot, std::string_view key, quint64 keyBits, NodeKind kind, qint64 event)
{
    const quint32 slot = takeSlot();
    Node& n = w(slot);
    n.parent = parentSlot;
    n.row = kNotVisible;
    n.kind = kind;
    n.flags = FlagLive; // a free slot has no history to release (freeSubtree dropped it)
    n.resetProvenance(event); // after the flags: it may set FlagHistory
    n.key.assign(key, keyBits);
    n.v.i = 0;
    if (kind == NodeKind::Object)
        n.flags |= FlagInlineMembers; // no members yet
    else if (isContainerKind(kind))
        n.v.c = newContainer(kind);
    else if (kind == NodeKind::String)
        n.v.s = packed::inlineBits({});
    n.stamp = nextStamp();
    visibilityChanged();
    return slot;
}

namespace {
// Whether `n` is an object none of whose members is a container: a record of scalars, as a
// scrolling list drops one every delta.
bool isFlatRecord(const DocumentTree::Data& d, const Node& n)
{
    if (n.kind != NodeKind::Object)
        return false;
    for (quint32 m : n.members()) {
        if (d.r(m).isContainer())
            return false;
    }
    return true;
}
}

// One node of freeSubtree(), its children already taken care of; clearNode() leaves it off the
// free list.
[[gnu::always_inline]] inline void DocumentTree::Data::freeNode(quint32 s)
{
    clearNode(s);
    freeSlots.push_back(s);
}

[[gnu::always_inline]] inline void DocumentTree::Data::clearNode(quint32 s)
{
    Node& m = w(s);
    releasePayload(m);
    m.resetProvenance(-1);
    m.key.clear();
    if (m.touchedIn == touchEpoch) [[unlikely]]
        ++touchedNodesFreed;
    m.touchedIn = 0;
    m.flags = 0;
    m.parent = 0;
    m.row = kNotVisible;
    ++m.generation;
}

void DocumentTree::Data::freeSubtree(quint32 slot)
{
    const Node& top = r(slot);
    if (!top.live()) {
        visibilityChanged();
        return;
    }
    if (!top.isContainer()) {
        freeNode(slot);
        visibilityChanged();
        return;
    }
    if (isFlatRecord(*this, top)) {
        // A record of scalars (a scrolling list's oldest row): freed without the stack. Its slot
        // and then its members' from the last go to the free list, the order the stack frees
        // them in, so slots are reused in the same order; the record's node is cleared last, so
        // its members stay readable until then.
        freeSlots.push_back(slot);
        const SlotSpan members = top.members();
        for (std::size_t i = members.size(); i-- > 0;) {
            if (r(members[i]).live())
                freeNode(members[i]);
        }
        clearNode(slot);
        visibilityChanged();
        return;
    }
    // Iterative: subtrees can be as deep as kMaxDepth, and element maps hold hidden children too.
    // A per-thread stack reused across calls (this runs for every removed element); never re-entered.
    thread_local std::vector<quint32> stack;
    stack.clear();
    stack.push_back(slot);
    while (!stack.empty()) {
        const quint32 s = stack.back();
        stack.pop_back();
        const Node& n = r(s);
        if (!n.live())
            continue;
        if (n.isContainer()) {
            const SlotSpan members = n.members();
            stack.insert(stack.end(), members.begin(), members.end());
            // Orphans: visible nodes no longer in the element map (reference-client mode, placeholders).
            if (n.isList()) {
                for (quint32 o : static_cast<const ListContainer*>(n.v.c)->order) {
                    if (r(o).live() && r(o).parent == s && (r(o).flags & FlagOrphan))
                        stack.push_back(o);
                }
            }
        }
        freeNode(s);
    }
    visibilityChanged();
}

void DocumentTree::Data::rawArrayToValueList(quint32 slot)
{
    Node& n = w(slot);
    auto* list = new ListContainer;
    list->rowBase = n.v.c->rowBase;
    list->order = n.v.c->members; // the old container may be shared with a tree copy: copied
    releaseContainer(n.v.c, NodeKind::RawArray);
    n.v.c = list;
    n.kind = NodeKind::ValueList;
    visibilityChanged();
}

void DocumentTree::Data::resetPayload(quint32 slot, NodeKind kind)
{
    const Node& n = r(slot);
    if (n.isContainer()) {
        // Children first, then the container itself.
        const SlotSpan members = n.members();
        std::vector<quint32> children(members.begin(), members.end());
        if (n.isList()) {
            for (quint32 o : static_cast<const ListContainer*>(n.v.c)->order) {
                if (r(o).flags & FlagOrphan)
                    children.push_back(o);
            }
        }
        for (quint32 child : children)
            freeSubtree(child);
    }
    Node& m = w(slot);
    m.dropPayload();
    m.flags &= quint8(~FlagLooksLikeLong);
    m.kind = kind;
    if (kind == NodeKind::Object)
        m.flags |= FlagInlineMembers;
    else if (isContainerKind(kind))
        m.v.c = newContainer(kind);
    else if (kind == NodeKind::String)
        m.v.s = packed::inlineBits({});
    visibilityChanged();
}

void DocumentTree::Data::appendMember(quint32 container, quint32 member)
{
    const Node& n = r(container);
    if (n.inlineMembers() && n.v.slots[1] == 0) {
        Node& m = w(container);
        m.v.slots[m.v.slots[0] == 0 ? 0 : 1] = member;
        return;
    }
    wc(container).members.push_back(member);
}

void DocumentTree::Data::eraseMemberAt(quint32 container, std::size_t position)
{
    if (r(container).inlineMembers()) {
        Node& m = w(container);
        if (position == 0)
            m.v.slots[0] = m.v.slots[1];
        m.v.slots[1] = 0;
        return;
    }
    Container& c = wc(container);
    c.members.erase(c.members.begin() + std::ptrdiff_t(position));
}

namespace {
// The position a value-list key names ("0".."n-1"), or -1 for anything else.
inline qint64 positionKey(std::string_view key)
{
    if (key.empty() || key.size() > 7 || (key[0] == '0' && key.size() > 1))
        return -1;
    qint64 value = 0;
    for (char ch : key) {
        if (ch < '0' || ch > '9')
            return -1;
        value = value * 10 + (ch - '0');
    }
    return value;
}
}

namespace {
// findMember() of a key too long to be inline, compared as text. Apart, so that the common lookup
// by an inline key saves fewer registers.
[[gnu::noinline]] quint32 findLongKeyMember(const DocumentTree::Data& d, quint32 container, std::string_view key)
{
    const Node& node = d.r(container);
    if (node.inlineMembers()) {
        for (quint32 m : node.v.slots) {
            if (m && d.r(m).key == key)
                return m;
        }
        return 0;
    }
    const Container& c = *node.v.c;
    if (!c.index) {
        for (quint32 m : c.members) {
            if (d.r(m).key == key)
                return m;
        }
        return 0;
    }
    const SlotIndex& index = c.index;
    const std::size_t mask = index.size() - 1;
    for (std::size_t i = std::size_t(hashKey(key)) & mask;; i = (i + 1) & mask) {
        const quint32 s = index[i];
        if (s == 0)
            return 0;
        if (s != kTombstone && d.r(s).key == key)
            return s;
    }
}
}

quint32 DocumentTree::Data::findMember(quint32 container, std::string_view key, quint64 probe) const
{
    const Node& node = r(container);
    // The lean path: an inline key (nearly all), compared as one 64-bit word (see Key).
    if (!probe) [[unlikely]]
        return findLongKeyMember(*this, container, key);
    if (node.inlineMembers()) {
        const quint32 first = node.v.slots[0];
        if (first && r(first).key.bits() == probe)
            return first;
        const quint32 second = node.v.slots[1];
        return second && r(second).key.bits() == probe ? second : 0;
    }
    const Container& c = *node.v.c;
    if (!c.index && node.kind == NodeKind::ValueList) {
        // A value list's element map is usually "0".."n-1" in insertion order: try that place first
        // (with a hash index, a probe costs less than reading the key's digits).
        const qint64 position = positionKey(key);
        if (position >= 0 && std::size_t(position) < c.members.size() && r(c.members[std::size_t(position)]).key.bits() == probe)
            return c.members[std::size_t(position)];
    }
    if (!c.index) {
        for (quint32 m : c.members) {
            if (r(m).key.bits() == probe)
                return m;
        }
        return 0;
    }
    const SlotIndex& index = c.index;
    const std::size_t mask = index.size() - 1;
    for (std::size_t i = std::size_t(hashInlineKey(probe)) & mask;; i = (i + 1) & mask) {
        const quint32 s = index[i];
        if (s == 0)
            return 0;
        if (s != kTombstone && r(s).key.bits() == probe)
            return s;
    }
}

quint32 DocumentTree::Data::findMemberScanning(quint32 container, std::string_view key, quint64 probe, std::size_t& hint) const
{
    const Node& node = r(container);
    if (!probe || node.kind == NodeKind::ValueList || (!node.inlineMembers() && node.v.c->index))
        return findMember(container, key, probe);
    const SlotSpan members = node.members();
    for (std::size_t i = 0; i < members.size(); ++i) {
        if (r(members[i]).key.bits() == probe) {
            hint = i;
            return members[i];
        }
    }
    return 0;
}

void DocumentTree::Data::rebuildIndex(quint32 container)
{
    if (r(container).inlineMembers())
        return;
    Container& c = wc(container);
    if (c.members.size() <= kIndexThreshold) {
        c.index.reset();
        return;
    }
    // At most half full, as insertions keep it; a small table (a few hundred bytes) at most a
    // quarter full when built: a lookup then meets another key's entry half as often, and each
    // such meeting is a branch the CPU mispredicts (the busy fold's record lists: 2% of it).
    const std::size_t spread = c.members.size() <= kSparseIndexMost ? 4 : 2;
    std::size_t size = 16;
    while (size < c.members.size() * spread)
        size <<= 1;
    SlotIndex& index = c.index;
    index.assign(size);
    const std::size_t mask = size - 1;
    for (quint32 m : c.members) {
        std::size_t i = std::size_t(hashOfKey(r(m).key)) & mask;
        while (index[i] != 0)
            i = (i + 1) & mask;
        index[i] = m;
    }
    index.used() = quint32(c.members.size());
}

void DocumentTree::Data::indexInsert(quint32 container, quint32 member)
{
    if (r(container).inlineMembers())
        return;
    Container& c = wc(container);
    if (!c.index) {
        if (c.members.size() > kIndexThreshold)
            rebuildIndex(container);
        return;
    }
    SlotIndex& index = c.index;
    if ((index.used() + 1) * 2 > index.size()) {
        rebuildIndex(container);
        return;
    }
    const std::size_t mask = index.size() - 1;
    std::size_t i = std::size_t(hashOfKey(r(member).key)) & mask;
    while (index[i] != 0 && index[i] != kTombstone)
        i = (i + 1) & mask;
    if (index[i] == 0)
        ++index.used();
    index[i] = member;
}

void DocumentTree::Data::indexErase(quint32 container, quint32 member)
{
    if (r(container).inlineMembers())
        return;
    Container& c = wc(container);
    if (!c.index)
        return;
    SlotIndex& index = c.index;
    const std::size_t mask = index.size() - 1;
    std::size_t i = std::size_t(hashOfKey(r(member).key)) & mask;
    for (;;) {
        const quint32 s = index[i];
        if (s == 0)
            return;
        if (s == member) {
            // No probe runs on past an entry followed by an empty one: it can be emptied instead
            // of left as a tombstone, so a list that scrolls (one key in, one out, each delta)
            // seldom fills the table with tombstones and rebuilds it.
            if (index[(i + 1) & mask] == 0) {
                index[i] = 0;
                --index.used();
            } else {
                index[i] = kTombstone;
            }
            return;
        }
        i = (i + 1) & mask;
    }
}

SlotSpan DocumentTree::Data::ownedVisible(quint32 container)
{
    if (r(container).inlineMembers())
        w(container);
    else
        wc(container);
    return r(container).visible();
}

void DocumentTree::Data::renumber(quint32 container)
{
    const SlotSpan vis = ownedVisible(container);
    if (!r(container).inlineMembers())
        wc(container).rowBase = 0;
    for (std::size_t i = 0; i < vis.size(); ++i) {
        if (r(vis[i]).row != quint32(i))
            w(vis[i]).row = quint32(i);
    }
}

void DocumentTree::Data::rowsErased(quint32 container, std::size_t first, std::size_t count)
{
    if (r(container).inlineMembers()) {
        // No base: the rows after the gap shift.
        const SlotSpan vis = ownedVisible(container);
        for (std::size_t i = first; i < vis.size(); ++i)
            w(vis[i]).row = quint32(i);
        return;
    }
    // ownedVisible() in one step: the Container is looked up once for its span and its base.
    Container& c = wc(container);
    const SlotSpan vis = r(container).visible();
    const quint32 base = c.rowBase;
    if (first < vis.size() - first && base + count <= kMaxRowBase) {
        // The head is shorter: it keeps its rows by moving with the base; the tail shifts for free.
        for (std::size_t i = 0; i < first; ++i)
            w(vis[i]).row += quint32(count);
        c.rowBase = base + quint32(count);
        return;
    }
    for (std::size_t i = first; i < vis.size(); ++i)
        w(vis[i]).row = quint32(i) + base;
}

void DocumentTree::Data::rowsInserted(quint32 container, std::size_t first, std::size_t count)
{
    if (r(container).inlineMembers()) {
        const SlotSpan vis = ownedVisible(container);
        for (std::size_t i = first; i < vis.size(); ++i)
            w(vis[i]).row = quint32(i);
        return;
    }
    Container& c = wc(container); // as in rowsErased()
    const SlotSpan vis = r(container).visible();
    const std::size_t end = first + count;
    if (first < vis.size() - end) {
        if (c.rowBase < count) {
            // No room below the base: renumber all, with the base in the middle of its range, so
            // this happens once per very many front inserts.
            c.rowBase = kMaxRowBase / 2;
            for (std::size_t i = 0; i < vis.size(); ++i)
                w(vis[i]).row = quint32(i) + kMaxRowBase / 2;
            return;
        }
        const quint32 base = c.rowBase - quint32(count);
        c.rowBase = base;
        for (std::size_t i = 0; i < first; ++i)
            w(vis[i]).row -= quint32(count);
        for (std::size_t i = first; i < end; ++i)
            w(vis[i]).row = quint32(i) + base;
        return;
    }
    const quint32 base = c.rowBase;
    for (std::size_t i = first; i < vis.size(); ++i)
        w(vis[i]).row = quint32(i) + base;
}

} // namespace deltascope
