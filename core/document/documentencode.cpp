// The Adama delta encoder (what a server sends a viewer that holds `from`), snapshots and tree diff.

#include "core/document/documenttree.h"

#include "core/document/documenttree_p.h"
#include "core/document/mutator.h"
#include "core/jsonstring.h"

#include <algorithm>
#include <charconv>
#include <unordered_map>

namespace deltascope {

using namespace detail;

namespace detail {
void appendNumber(std::string& out, qint64 value);
void appendScalar(std::string& out, const Node& n);
// asReferenceShows: a null inside raw JSON as {}, as the reference client's copy() shows it.
void appendVisibleJson(const DocumentTree::Data& d, quint32 slot, std::string& out, bool pretty, int indent, bool asReferenceShows);

struct TreeAccess {
    static const DocumentTree::Data& data(const DocumentTree& tree) { return *tree.d; }
};
}

namespace {

using Data = DocumentTree::Data;

bool sameScalarNodes(const Node& a, const Node& b)
{
    if (a.kind != b.kind)
        return false;
    switch (a.kind) {
    case NodeKind::Null:
        return true;
    case NodeKind::Bool:
        return a.v.b == b.v.b;
    case NodeKind::Integer:
        return a.v.i == b.v.i;
    case NodeKind::Double:
        // == on purpose: an Adama server (Java) compares doubles so, and never sends 0 -> -0. The
        // fold keeps the sign as sent (see sameScalar in mutator.cpp).
        return a.v.d == b.v.d || (a.v.d != a.v.d && b.v.d != b.v.d);
    case NodeKind::String:
        return a.v.s == b.v.s || a.text() == b.text();
    default:
        return false;
    }
}

// Visible structure and values equal (object key order ignored).
bool deepEqual(const Data& A, quint32 a, const Data& B, quint32 b)
{
    const Node& x = A.r(a);
    const Node& y = B.r(b);
    if (&A == &B && a == b)
        return true;
    if (x.kind != y.kind)
        return false;
    if (!x.isContainer())
        return sameScalarNodes(x, y);
    const auto& xs = x.visible();
    const auto& ys = y.visible();
    if (xs.size() != ys.size())
        return false;
    if (x.kind == NodeKind::Object) {
        for (quint32 m : xs) {
            const quint32 other = B.findMember(b, A.r(m).key);
            if (!other || !deepEqual(A, m, B, other))
                return false;
        }
        return true;
    }
    for (std::size_t i = 0; i < xs.size(); ++i) {
        if (x.kind == NodeKind::RecordList && A.r(xs[i]).key != B.r(ys[i]).key)
            return false;
        if (!deepEqual(A, xs[i], B, ys[i]))
            return false;
    }
    return true;
}

// The same node, unchanged, in two trees that share a lineage (see Node::stamp).
inline bool unchanged(const Data& A, quint32 a, const Data& B, quint32 b)
{
    if (a != b || a >= A.used || a >= B.used)
        return false;
    const Node& x = A.r(a);
    const Node& y = B.r(b);
    return x.stamp == y.stamp && x.generation == y.generation && x.live() && y.live();
}

// `slot` of tree B is also a live member of `parent` in tree A (same node, possibly changed).
inline bool sameNodeIn(const Data& A, quint32 parent, const Data& B, quint32 slot)
{
    if (slot >= A.used)
        return false;
    const Node& x = A.r(slot);
    // Trees of different lineages reuse slot numbers for other nodes: the key must match as well
    // (a member's key is unique in its parent, so this is exactly what a lookup by key would find).
    return x.live() && x.parent == parent && !(x.flags & FlagOrphan) && x.key == B.r(slot).key;
}

bool emptyList(const Node& n) { return n.isList() && n.visible().empty(); }

// An id as a bare number where a JavaScript client reads it back exactly (Adama's own ids are
// ints); beyond 2^53 tree.js would round it and look up no element, so it stays a string (6.3).
void appendOrderId(std::string& out, std::string_view key)
{
    constexpr qint64 kExactInJavaScript = qint64(1) << 53;
    qint64 id = 0;
    if (textLooksLikeLong(key) && std::from_chars(key.data(), key.data() + key.size(), id).ec == std::errc()
        && id >= -kExactInJavaScript && id <= kExactInJavaScript)
        out.append(key);
    else
        appendJsonString(out, key);
}

class Encoder
{
public:
    Encoder(const Data& from, const Data& to, std::string& out)
        : F(from)
        , T(to)
        , m_out(out)
    {
    }

    // Writes "{...}" with the changes from object f (0: none) to object t; false (nothing written)
    // when there are none.
    bool object(quint32 f, quint32 t, bool forceBraces)
    {
        const std::size_t start = m_out.size();
        m_out.push_back('{');
        bool any = false;
        const auto comma = [&] {
            if (any)
                m_out.push_back(',');
            any = true;
        };
        for (quint32 tm : T.members(t)) {
            if (f && unchanged(F, tm, T, tm))
                continue;
            const Node& tn = T.r(tm);
            const quint32 fm = !f ? 0 : sameNodeIn(F, f, T, tm) ? tm : F.findMember(f, tn.key);
            if (tn.kind == NodeKind::Null) {
                // A null member is "absent" on the wire: null deletes.
                if (fm && F.r(fm).kind != NodeKind::Null && !emptyList(F.r(fm))) {
                    comma();
                    appendJsonString(m_out, tn.key);
                    m_out.append(":null");
                }
                continue;
            }
            const std::size_t mark = m_out.size();
            if (any)
                m_out.push_back(',');
            appendJsonString(m_out, tn.key);
            m_out.push_back(':');
            if (value(fm, tm))
                any = true;
            else
                m_out.resize(mark);
        }
        if (f) {
            for (quint32 fm : F.members(f)) {
                const Node& fn = F.r(fm);
                if (fn.kind == NodeKind::Null || emptyList(fn))
                    continue;
                const quint32 tm = sameNodeIn(T, t, F, fm) ? fm : T.findMember(t, fn.key);
                if (tm)
                    continue;
                comma();
                appendJsonString(m_out, fn.key);
                m_out.append(":null");
            }
        }
        if (!any && !forceBraces) {
            m_out.resize(start);
            return false;
        }
        m_out.push_back('}');
        return true;
    }

    // Writes the wire value that turns f (0: absent) into t; false when nothing needs sending.
    bool value(quint32 f, quint32 t)
    {
        const Node& tn = T.r(t);
        const Node* fn = f ? &F.r(f) : nullptr;
        switch (tn.kind) {
        case NodeKind::Object:
            if (fn && fn->kind == NodeKind::Object)
                return object(f, t, false);
            if (fn && fn->isList()) {
                // A list cannot become an object in one delta (an object delta merges into the
                // list, empty or not): remove it now; a second delta recreates the key as an object.
                m_out.append("null");
                m_complete = false;
                return true;
            }
            return object(0, t, true);
        case NodeKind::RecordList:
        case NodeKind::ValueList: {
            const bool sameKind = fn && fn->kind == tn.kind;
            if (!sameKind && emptyList(tn)) {
                // New empty lists are not sent (Adama emits nothing until non-empty).
                if (fn && fn->kind != NodeKind::Null && !emptyList(*fn)) {
                    m_out.append("null");
                    return true;
                }
                return false;
            }
            if (fn && fn->isList() && !sameKind) {
                // A value list cannot become a record list (or back) in one delta: the client would
                // merge the new elements into the old ones it holds. Removed now, sent in a second delta.
                m_out.append("null");
                m_complete = false;
                return true;
            }
            return tn.kind == NodeKind::RecordList ? recordList(sameKind ? f : 0, t) : valueList(sameKind ? f : 0, t);
        }
        case NodeKind::RawArray:
            if (fn && fn->kind == NodeKind::RawArray && deepEqual(F, f, T, t))
                return false;
            appendVisibleJson(T, t, m_out, false, 0, false);
            return true;
        case NodeKind::Null:
            if (!fn || fn->kind == NodeKind::Null)
                return false;
            m_out.append("null");
            return true;
        default:
            if (fn && sameScalarNodes(*fn, tn))
                return false;
            appendScalar(m_out, tn);
            return true;
        }
    }

    bool element(quint32 f, quint32 t, bool& any)
    {
        const std::size_t mark = m_out.size();
        if (any)
            m_out.push_back(',');
        appendJsonString(m_out, T.r(t).key);
        m_out.push_back(':');
        bool wrote;
        const Node& tn = T.r(t);
        if (tn.kind == NodeKind::Object && !(f && F.r(f).kind == NodeKind::Object))
            wrote = object(0, t, true); // a new element exists even when empty
        else if (emptyList(tn) && !(f && F.r(f).kind == tn.kind))
            // So does a new element that is an empty list: left out, as a member would be, the
            // order would name an element the viewer never gets.
            wrote = (m_out.append(tn.kind == NodeKind::RecordList ? "{\"@o\":[]}" : "{\"@s\":0}"), true);
        else if (tn.kind == NodeKind::Null)
            wrote = !(f && F.r(f).kind == NodeKind::Null) && (m_out.append("null"), true);
        else
            wrote = value(f, t);
        if (wrote)
            any = true;
        else
            m_out.resize(mark);
        return wrote;
    }

    bool recordList(quint32 f, quint32 t)
    {
        const std::size_t start = m_out.size();
        m_out.push_back('{');
        bool any = false;
        const auto& newOrder = T.rl(t).order;
        for (quint32 te : newOrder) {
            if (f && unchanged(F, te, T, te))
                continue;
            const quint32 fe = !f ? 0 : sameNodeIn(F, f, T, te) ? te : F.findMember(f, T.r(te).key);
            element(fe, te, any);
        }
        const auto sameKey = [&](quint32 a, quint32 b) { return F.r(a).key == T.r(b).key; };
        bool orderChanged = !f;
        if (f) {
            const auto& oldOrder = F.rl(f).order;
            orderChanged = oldOrder.size() != newOrder.size();
            for (std::size_t i = 0; i < newOrder.size() && !orderChanged; ++i)
                orderChanged = !sameKey(oldOrder[i], newOrder[i]);
        }
        if (orderChanged) {
            const auto oldPosition = [&](std::size_t i) -> qint64 {
                if (!f)
                    return -1;
                const quint32 te = newOrder[i];
                // The same node, whose row in the old tree is its old position; otherwise an
                // element recreated under an old id, found by key.
                const quint32 fe = sameNodeIn(F, f, T, te) ? te : F.findMember(f, T.r(te).key);
                const quint32 row = fe ? F.rowOf(fe) : kNotVisible;
                return row == kNotVisible ? -1 : qint64(row);
            };
            if (any)
                m_out.push_back(',');
            any = true;
            m_out.append("\"@o\":[");
            bool first = true;
            std::size_t i = 0;
            while (i < newOrder.size()) {
                if (!first)
                    m_out.push_back(',');
                first = false;
                const qint64 p = oldPosition(i);
                if (p >= 0) {
                    std::size_t length = 1;
                    while (i + length < newOrder.size() && oldPosition(i + length) == p + qint64(length))
                        ++length;
                    if (length >= 3) {
                        m_out.push_back('[');
                        appendNumber(m_out, p);
                        m_out.push_back(',');
                        appendNumber(m_out, p + qint64(length) - 1);
                        m_out.push_back(']');
                        i += length;
                        continue;
                    }
                }
                appendOrderId(m_out, T.r(newOrder[i]).key);
                ++i;
            }
            m_out.push_back(']');
        }
        if (f) {
            // Elements the viewer holds that the new order no longer shows are removed; after `@o`,
            // where DRecordList writes them (the fold reads the whole object before either).
            for (quint32 fe : F.members(f)) {
                const quint32 te = sameNodeIn(T, t, F, fe) ? fe : T.findMember(t, F.r(fe).key);
                if (te && T.r(te).row != kNotVisible)
                    continue;
                if (any)
                    m_out.push_back(',');
                any = true;
                appendJsonString(m_out, F.r(fe).key);
                m_out.append(":null");
            }
        }
        if (!any) {
            m_out.resize(start);
            return false;
        }
        m_out.push_back('}');
        return true;
    }

    bool valueList(quint32 f, quint32 t)
    {
        const std::size_t start = m_out.size();
        m_out.push_back('{');
        bool any = false;
        const auto& newOrder = T.rl(t).order;
        const std::size_t oldSize = f ? F.rl(f).order.size() : 0;
        for (std::size_t i = 0; i < newOrder.size(); ++i) {
            const quint32 te = newOrder[i];
            if (f && i < oldSize && unchanged(F, te, T, te))
                continue;
            const quint32 fe = !(f && i < oldSize) ? 0 : sameNodeIn(F, f, T, te) ? te : F.findMember(f, T.r(te).key);
            element(fe, te, any);
        }
        for (std::size_t i = newOrder.size(); i < oldSize; ++i) {
            if (any)
                m_out.push_back(',');
            any = true;
            m_out.push_back('"');
            appendNumber(m_out, qint64(i));
            m_out.append("\":null");
        }
        if (!f || oldSize != newOrder.size()) {
            if (any)
                m_out.push_back(',');
            any = true;
            m_out.append("\"@s\":");
            appendNumber(m_out, qint64(newOrder.size()));
        }
        if (!any) {
            m_out.resize(start);
            return false;
        }
        m_out.push_back('}');
        return true;
    }

    // False when a change needs a second delta (see encodeDelta).
    bool complete() const { return m_complete; }

private:
    const Data& F;
    const Data& T;
    std::string& m_out;
    bool m_complete = true;
};

// --- tree diff ---

class Differ
{
public:
    // `shortcuts` off: every node walked and every container's keys paired through the maps, the
    // plain algorithm the shortcuts must agree with (diffTreesWithoutShortcuts(), for tests).
    Differ(const Data& before, const Data& after, TreeDiff& out, bool shortcuts)
        : B(before)
        , A(after)
        , m_out(out)
        , m_shortcuts(shortcuts)
    {
    }

    bool same(quint32 b, quint32 a) const { return m_shortcuts && unchanged(B, b, A, a); }

    static QString join(const QString& path, std::string_view key)
    {
        const QString segment = escapeSegment(key);
        return path.isEmpty() ? segment : path + QLatin1Char('/') + segment;
    }

    void node(quint32 b, quint32 a, const QString& path)
    {
        const Node& x = B.r(b);
        const Node& y = A.r(a);
        if (x.kind != y.kind) {
            m_out.changed.append(path);
            return;
        }
        if (!x.isContainer()) {
            if (!sameScalarNodes(x, y))
                m_out.changed.append(path);
            return;
        }
        if (x.kind == NodeKind::Object || x.kind == NodeKind::RecordList) {
            keyed(b, a, path);
            return;
        }
        const auto& xs = x.visible();
        const auto& ys = y.visible();
        const std::size_t common = std::min(xs.size(), ys.size());
        for (std::size_t i = 0; i < common; ++i) {
            if (!same(xs[i], ys[i]))
                node(xs[i], ys[i], join(path, A.r(ys[i]).key));
        }
        for (std::size_t i = common; i < ys.size(); ++i)
            m_out.added.append(join(path, A.r(ys[i]).key));
        for (std::size_t i = common; i < xs.size(); ++i)
            m_out.removed.append(join(path, B.r(xs[i]).key));
    }

    void keyed(quint32 b, quint32 a, const QString& path)
    {
        const auto& xs = B.r(b).visible();
        const auto& ys = A.r(a).visible();
        // The same keys in the same order (a list where only some elements changed): paired by
        // position, which is what the maps below would pair, and a subtree the two trees share
        // unchanged (one copied from the other) is not walked. Two copies of a 100,000-element
        // document that differ in one leaf took 80 ms to diff; this takes about one.
        if (m_shortcuts && xs.size() == ys.size()) {
            std::size_t alike = 0;
            while (alike < xs.size() && B.r(xs[alike]).key.view() == A.r(ys[alike]).key.view())
                ++alike;
            if (alike == xs.size()) {
                for (std::size_t i = 0; i < xs.size(); ++i) {
                    if (!same(xs[i], ys[i]))
                        node(xs[i], ys[i], join(path, A.r(ys[i]).key));
                }
                return;
            }
        }
        const bool list = B.r(b).kind == NodeKind::RecordList;
        // Each key's rows in `xs`, first to last: a key shown twice (reference-client placeholders
        // for an id @o names twice) pairs its copies in order, as the positional path above does.
        constexpr std::size_t kNone = std::size_t(-1);
        std::unordered_map<std::string_view, std::size_t> firstUnpaired;
        firstUnpaired.reserve(xs.size());
        std::vector<std::size_t> nextWithKey(xs.size(), kNone);
        for (std::size_t i = xs.size(); i-- > 0;) {
            const auto [at, inserted] = firstUnpaired.try_emplace(B.r(xs[i]).key.view(), i);
            if (!inserted) {
                nextWithKey[i] = at->second;
                at->second = i;
            }
        }
        std::vector<char> paired(xs.size(), 0);
        std::vector<std::pair<std::size_t, std::size_t>> common; // (old row, new row)
        for (std::size_t j = 0; j < ys.size(); ++j) {
            const std::string_view key = A.r(ys[j]).key;
            const auto found = firstUnpaired.find(key);
            if (found == firstUnpaired.end() || found->second == kNone) {
                m_out.added.append(join(path, key));
                continue;
            }
            const std::size_t i = found->second;
            found->second = nextWithKey[i];
            paired[i] = 1;
            if (!same(xs[i], ys[j]))
                node(xs[i], ys[j], join(path, key));
            common.emplace_back(i, j);
        }
        for (std::size_t i = 0; i < xs.size(); ++i) {
            if (!paired[i])
                m_out.removed.append(join(path, B.r(xs[i]).key));
        }
        if (!list || common.size() < 2)
            return;
        // Moved: the common elements outside a longest run that kept its relative order.
        std::vector<int> tails;
        std::vector<int> previous(common.size(), -1);
        for (std::size_t k = 0; k < common.size(); ++k) {
            auto it = std::lower_bound(tails.begin(), tails.end(), common[k].first,
                [&](int idx, std::size_t value) { return common[std::size_t(idx)].first < value; });
            if (it != tails.begin())
                previous[k] = *(it - 1);
            if (it == tails.end())
                tails.push_back(int(k));
            else
                *it = int(k);
        }
        std::vector<char> kept(common.size(), 0);
        for (int k = tails.empty() ? -1 : tails.back(); k >= 0; k = previous[std::size_t(k)])
            kept[std::size_t(k)] = 1;
        for (std::size_t k = 0; k < common.size(); ++k) {
            if (kept[k])
                continue;
            const std::string_view key = A.r(ys[common[k].second]).key;
            m_out.moved.push_back({ path, QString::fromUtf8(key.data(), qsizetype(key.size())), int(common[k].first), int(common[k].second) });
        }
    }

private:
    const Data& B;
    const Data& A;
    TreeDiff& m_out;
    bool m_shortcuts;
};

} // namespace

QByteArray encodeDelta(const DocumentTree& from, const DocumentTree& to, bool* complete)
{
    if (complete)
        *complete = true;
    const Data& F = TreeAccess::data(from);
    const Data& T = TreeAccess::data(to);
    std::string out;
    out.reserve(256);
    if (unchanged(F, F.rootSlot, T, T.rootSlot))
        return {};
    Encoder encoder(F, T, out);
    if (!encoder.object(F.rootSlot, T.rootSlot, false))
        return {};
    if (complete)
        *complete = encoder.complete();
    return QByteArray(out.data(), qsizetype(out.size()));
}

std::vector<QByteArray> encodeDeltas(const DocumentTree& from, const DocumentTree& to)
{
    std::vector<QByteArray> deltas;
    bool complete = true;
    QByteArray first = encodeDelta(from, to, &complete);
    if (first.isEmpty())
        return deltas;
    deltas.push_back(std::move(first));
    if (!complete) {
        // What the viewer holds after the first: the lists gone; from there one delta reaches `to`.
        DocumentTree held = from;
        held.apply(std::string_view(deltas.front().constData(), std::size_t(deltas.front().size())), -1, DocumentTree::ChangeDetail::None);
        QByteArray rest = encodeDelta(held, to);
        if (!rest.isEmpty())
            deltas.push_back(std::move(rest));
    }
    return deltas;
}

QByteArray DocumentTree::toSnapshotDelta() const
{
    const DocumentTree empty;
    QByteArray delta = encodeDelta(empty, *this);
    if (delta.isEmpty())
        delta = QByteArrayLiteral("{}");
    return delta;
}

namespace {
TreeDiff diffWith(const DocumentTree& before, const DocumentTree& after, bool shortcuts)
{
    TreeDiff diff;
    const Data& B = TreeAccess::data(before);
    const Data& A = TreeAccess::data(after);
    Differ differ(B, A, diff, shortcuts);
    if (differ.same(B.rootSlot, A.rootSlot))
        return diff;
    differ.keyed(B.rootSlot, A.rootSlot, QString());
    return diff;
}
}

TreeDiff diffTrees(const DocumentTree& before, const DocumentTree& after) { return diffWith(before, after, true); }

namespace detail {
TreeDiff diffTreesWithoutShortcuts(const DocumentTree& before, const DocumentTree& after) { return diffWith(before, after, false); }
}

}
