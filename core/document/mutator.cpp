// The fold (adama-wire.md section 6; delta-vectors.json wins) and the editing primitives.

#include "core/document/mutator.h"

#include "core/document/javascriptvalues.h"
#include "core/document/jsonerror.h"
#include "core/document/jsontape.h"
#include "core/exactinteger.h"
#include "core/jsonstring.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstring>
#include <limits>
#include <memory>
#include <optional>
#include <span>
#include <unordered_map>
#include <unordered_set>

namespace deltascope::detail {

namespace dom = simdjson::dom;

namespace {

std::string numberText(qint64 value)
{
    char buffer[24];
    const auto result = std::to_chars(buffer, buffer + sizeof(buffer), value);
    return std::string(buffer, result.ptr);
}

QString utf8(std::string_view text) { return QString::fromUtf8(text.data(), qsizetype(text.size())); }

int distinctKeyCount(dom::object o)
{
    std::unordered_set<std::string_view> keys;
    for (dom::key_value_pair field : o)
        keys.insert(field.key);
    return int(keys.size());
}

} // namespace

// "In the new order" marks for the order phase of one list, indexed by slot: an array beside the
// nodes instead of a node flag, so building an order writes no nodes (and copies no shared chunks).
struct OrderMarks {
    std::vector<quint32> marks;
    quint32 epoch = 0;
};

namespace {

OrderMarks& orderMarks()
{
    thread_local OrderMarks marks;
    return marks;
}

// Per-thread scratch vectors for mergeList, reused across deltas (no heap allocation per list merge).
// A stack: nested list merges each take their own.
class ScratchSlots
{
public:
    ScratchSlots()
    {
        Pool& p = pool();
        if (p.depth == p.vectors.size())
            p.vectors.push_back(std::make_unique<std::vector<quint32>>());
        m_v = p.vectors[p.depth++].get();
        m_v->clear();
    }
    ~ScratchSlots()
    {
        // Do not pin the memory of a huge list's order between deltas.
        if (m_v->capacity() > 65536) {
            m_v->clear();
            m_v->shrink_to_fit();
        }
        --pool().depth;
    }
    ScratchSlots(const ScratchSlots&) = delete;
    ScratchSlots& operator=(const ScratchSlots&) = delete;
    std::vector<quint32>& get() { return *m_v; }

private:
    struct Pool {
        // Owned one by one, so references stay valid as the pool grows (nested list merges).
        std::vector<std::unique_ptr<std::vector<quint32>>> vectors;
        std::size_t depth = 0;
    };
    static Pool& pool()
    {
        thread_local Pool p;
        return p;
    }
    std::vector<quint32>* m_v;
};

// Whether two parsed keys are the same, given their inline forms (packed::inlineBitsOfParsed, 0
// for a longer key): short keys compare as one word, longer ones by their text. The views go by
// reference so a short key never loads them (by value, GCC loaded both on every compare).
inline bool sameParsedKey(quint64 aBits, const std::string_view& a, quint64 bBits, const std::string_view& b)
{
    return aBits ? aBits == bBits : (bBits == 0 && a == b);
}

// A parsed key's bit in a 64-bit filter of the keys seen in one delta object (the member index's
// hash; a long key is rare in a delta object): keys are compared only when a bit comes twice.
inline quint64 keyFilterBit(std::string_view key, quint64 bits)
{
    return quint64(1) << ((bits ? hashInlineKey(bits) : hashKey(key)) >> 58);
}

// "@o" / "@s" without a library call per key.
inline bool isMarker(std::string_view key, char which) { return key.size() == 2 && key[0] == '@' && key[1] == which; }

// Keys the reference client's copy() (what it shows) drops at any depth: its own bookkeeping names.
inline bool hiddenByReferenceCopy(std::string_view key)
{
    if (key.empty() || (key[0] != '#' && key[0] != '@' && key[0] != '_'))
        return false; // the common case, decided by the first byte
    return key[0] == '#' || key == "__key" || isMarker(key, 'o') || isMarker(key, 's');
}

} // namespace

namespace {
// Which objects of the text this thread's parser last parsed directly hold a list marker (see
// parseJson()); knowing nothing, as at first, after a parse by simdjson or a refused text.
constinit thread_local JsonTapeListMarkers tlsListMarkers;
}

ListMarkers listMarkers(dom::object o)
{
    ListMarkers markers;
    const std::size_t size = o.size();
    if (size == 0)
        return markers;
    const dom::object::iterator first = o.begin();
    // Most object deltas are not list deltas, which the parse may have seen already.
    if (tlsListMarkers.knownWithoutMarkers(first.key_c_str()))
        return markers;
    if (size == 1 && (first.key_length() != 2 || first.key_c_str()[0] != '@')) {
        // One key (an element's {"score":N}, the commonest delta object): read it where it is,
        // without walking past its value to the object's end.
        return markers;
    }
    for (dom::key_value_pair field : o) {
        if (field.key.size() == 2 && field.key[0] == '@') {
            // A repeated marker: the last one wins, as for any key.
            if (field.key[1] == 'o') {
                markers.order = true;
                markers.orderValue = field.value;
            } else if (field.key[1] == 's') {
                markers.size = true;
                markers.sizeValue = field.value;
            }
        }
    }
    return markers;
}

namespace {

// What JavaScript's `if (x)` says about a visible list element (ranges in tree.js skip falsy ones).
bool jsFalsy(const Node& n)
{
    switch (n.kind) {
    case NodeKind::Null:
        return true;
    case NodeKind::Bool:
        return !n.v.b;
    case NodeKind::Integer:
        return n.v.i == 0;
    case NodeKind::Double:
        return n.v.d == 0 || n.v.d != n.v.d;
    case NodeKind::String:
        return n.text().empty();
    default:
        return false;
    }
}

// A short JSON rendering of a delta value, for anomaly messages.
QString briefJson(dom::element value)
{
    std::string text = simdjson::to_string(value);
    if (text.size() > 60) {
        text.resize(57);
        text += "...";
    }
    return utf8(text);
}

struct ParserCache {
    dom::parser parser;
    // The delta's text plus SIMDJSON_PADDING bytes that the parsers may read: they must be
    // allocated, and only the first must be NUL (the direct parser stops there), so the buffer only
    // grows and just that byte is written beyond the text.
    std::unique_ptr<char[]> padded;
    std::size_t paddedCapacity = 0;
    bool allocated = false;
    ParserCache()
    {
        // Explicit depth: deeper input is refused by the parser, so nothing below recurses deeper.
        // simdjson refuses depth >= max_depth: kMaxDepth levels are allowed, one more is refused.
        allocated = parser.allocate(64 * 1024, DocumentTree::kMaxDepth + 1) == simdjson::SUCCESS
            && parser.doc.allocate(64 * 1024) == simdjson::SUCCESS; // simdjson would size it by the first text
    }
};

} // namespace

namespace {
thread_local quint64 tlsParseCount = 0;
thread_local quint64 tlsDirectParseCount = 0;
}

quint64 parseJsonCount() { return tlsParseCount; }
quint64 parseJsonDirectCount() { return tlsDirectParseCount; }

bool parseJson(std::string_view text, dom::element& out, QString* error, ParsedShape* shape)
{
    ++tlsParseCount;
    if (shape)
        shape->known = false;
    thread_local ParserCache cache;
    // Very large inputs get a parser of their own, so one huge frame does not pin its buffers.
    constexpr std::size_t kLarge = 16 * 1024 * 1024;
    thread_local std::unique_ptr<dom::parser> large;
    dom::parser* parser = &cache.parser;
    if (!cache.allocated) {
        if (error)
            *error = QStringLiteral("could not allocate the JSON parser");
        return false;
    }
    if (text.size() > kLarge) {
        large = std::make_unique<dom::parser>();
        if (large->allocate(text.size(), DocumentTree::kMaxDepth + 1) != simdjson::SUCCESS) {
            if (error)
                *error = QStringLiteral("out of memory for a %1-byte JSON text").arg(text.size());
            return false;
        }
        parser = large.get();
    } else if (large) {
        large.reset();
    }
    const auto copyPadded = [&](std::string_view json) {
        if (cache.paddedCapacity < json.size() + simdjson::SIMDJSON_PADDING) {
            cache.paddedCapacity = std::max<std::size_t>(json.size() + simdjson::SIMDJSON_PADDING, 2 * cache.paddedCapacity);
            cache.padded = std::make_unique<char[]>(cache.paddedCapacity); // zeroed once, for sanitizers
        }
        copyIntoPadded(cache.padded.get(), json.data(), json.size());
        cache.padded[json.size()] = '\0';
    };
    copyPadded(text);
    static_assert(kJsonTapeMaxDepth <= DocumentTree::kMaxDepth, "the direct parser must not take what simdjson refuses");
    // Most deltas are small and plain: their tape is built directly (jsontape.h), and simdjson
    // parses the rest, which also yields its error messages.
    // The shape only for a caller that asks: finding it costs the direct parse a little.
    JsonTapeShape tapeShape;
    if (parser == &cache.parser && parsePaddedJsonToTape(cache.padded.get(), text.size(), parser->doc, shape ? &tapeShape : nullptr, tlsListMarkers)) {
        ++tlsDirectParseCount;
        out = parser->doc.root();
        if (shape)
            *shape = ParsedShape { true, tapeShape };
        return true;
    }
    tlsListMarkers = JsonTapeListMarkers(); // the parse below rewrites the tape the markers were of
    auto result = parser->parse(cache.padded.get(), text.size(), false);
    if (result.error() == simdjson::NUMBER_ERROR) {
        // Valid JSON with an integer beyond 64 bits: read it as the nearest double.
        if (const std::optional<std::string> widened = widenHugeIntegers(text)) {
            copyPadded(*widened);
            result = parser->parse(cache.padded.get(), widened->size(), false);
        }
    }
    if (result.error() == simdjson::SUCCESS) {
        out = result.value_unsafe();
        return true;
    }
    if (error) {
        const JsonErrorLocation where = locateJsonError(text, DocumentTree::kMaxDepth);
        if (where.offset >= 0)
            *error = QStringLiteral("invalid JSON at byte %1: %2").arg(where.offset).arg(where.what);
        else
            *error = QStringLiteral("invalid JSON: %1").arg(QString::fromUtf8(simdjson::error_message(result.error())));
    }
    return false;
}

namespace {
// Whether the eight characters at `p` are all decimal digits: every byte 0x30..0x39, that is a high
// nibble of 3 and a low one that does not carry when 6 is added (no carry crosses bytes once every
// high nibble is 3).
inline bool eightDigits(const char* p)
{
    quint64 word;
    std::memcpy(&word, p, sizeof word);
    constexpr quint64 kHigh = 0xf0f0f0f0f0f0f0f0ull;
    constexpr quint64 kThrees = 0x3030303030303030ull;
    return (word & kHigh) == kThrees && ((word + 0x0606060606060606ull) & kHigh) == kThrees;
}
}

bool textLooksLikeLong(std::string_view text)
{
    // The canonical decimal form of a qint64: an optional '-', then digits without a leading zero
    // ("0" itself, but not "-0" or "007"), within range. Checked by hand: it runs for every string
    // value the fold stores, and most are settled on their first character.
    const bool negative = !text.empty() && text[0] == '-';
    const std::string_view digits = negative ? text.substr(1) : text;
    if (digits.empty() || digits.size() > 19 || digits[0] < '0' || digits[0] > '9')
        return false;
    if (digits[0] == '0')
        return digits.size() == 1 && !negative;
    if (digits.size() >= 8) {
        // Eight characters at a time (a timestamp's 13 digits in two overlapping words).
        const char* p = digits.data();
        const std::size_t n = digits.size();
        if (!eightDigits(p) || !eightDigits(p + n - 8) || (n > 16 && !eightDigits(p + 8)))
            return false;
    } else {
        for (char ch : digits) {
            if (ch < '0' || ch > '9')
                return false;
        }
    }
    // Nineteen digits may overflow: compare with the limit as text (same length, so lexically).
    return digits.size() < 19 || digits <= (negative ? std::string_view("9223372036854775808") : std::string_view("9223372036854775807"));
}

bool readScalar(dom::element value, Scalar& out)
{
    switch (value.type()) {
    case dom::element_type::NULL_VALUE:
        out.kind = NodeKind::Null;
        return true;
    case dom::element_type::BOOL:
        out.kind = NodeKind::Bool;
        out.b = value.get_bool().value_unsafe();
        return true;
    case dom::element_type::INT64:
        out.kind = NodeKind::Integer;
        out.i = value.get_int64().value_unsafe();
        return true;
    case dom::element_type::UINT64:
        // Beyond qint64: kept as a double (JavaScript would lose the same precision).
        out.kind = NodeKind::Double;
        out.d = double(value.get_uint64().value_unsafe());
        return true;
    case dom::element_type::DOUBLE:
        out.kind = NodeKind::Double;
        out.d = value.get_double().value_unsafe();
        return true;
    case dom::element_type::STRING:
        out.kind = NodeKind::String;
        out.s = value.get_string().value_unsafe();
        return true;
    default:
        return false;
    }
}

bool sameScalar(const Node& node, const Scalar& value)
{
    if (node.kind != value.kind)
        return false;
    switch (value.kind) {
    case NodeKind::Null:
        return true;
    case NodeKind::Bool:
        return node.v.b == value.b;
    case NodeKind::Integer:
        return node.v.i == value.i;
    case NodeKind::Double:
        // -0 is kept as sent: equal to 0, but not the same value (it prints, and divides, otherwise).
        return (node.v.d == value.d && std::signbit(node.v.d) == std::signbit(value.d)) || (node.v.d != node.v.d && value.d != value.d);
    case NodeKind::String:
        return node.text() == value.s;
    default:
        return false;
    }
}

namespace {
// textLooksLikeLong() with its commonest answer inline: most strings (names, messages) start
// with neither a digit nor '-'.
inline bool looksLikeLong(std::string_view text)
{
    if (text.empty() || (text[0] != '-' && static_cast<unsigned char>(text[0] - '0') > 9))
        return false;
    return textLooksLikeLong(text);
}

// The kind and value of a scalar node whose payload is empty (new, or just dropped).
inline void setScalarPayload(Node& node, const Scalar& value)
{
    node.kind = value.kind;
    switch (value.kind) {
    case NodeKind::Bool:
        node.v.b = value.b;
        break;
    case NodeKind::Integer:
        node.v.i = value.i;
        break;
    case NodeKind::Double:
        node.v.d = value.d;
        break;
    case NodeKind::String: {
        node.v.s = packed::make(value.s);
        if (looksLikeLong(value.s))
            node.flags |= FlagLooksLikeLong;
        break;
    }
    default:
        break;
    }
}
}

namespace {
// setScalarPayload() of a scalar read straight from the parsed element (canonical fold: every
// integer kept exact, as readScalar() reads it), with no Scalar in between; a new record's members
// come here. `type`: the element's, not null and not a container. The text is the parser's (with
// padding after it), so its inline form is one masked load.
inline void setParsedScalarPayload(Node& node, dom::element value, dom::element_type type)
{
    switch (type) {
    case dom::element_type::BOOL:
        node.kind = NodeKind::Bool;
        node.v.b = value.get_bool().value_unsafe();
        break;
    case dom::element_type::INT64:
        node.kind = NodeKind::Integer;
        node.v.i = value.get_int64().value_unsafe();
        break;
    case dom::element_type::UINT64:
        node.kind = NodeKind::Double; // beyond qint64, as readScalar() keeps it
        node.v.d = double(value.get_uint64().value_unsafe());
        break;
    case dom::element_type::DOUBLE:
        node.kind = NodeKind::Double;
        node.v.d = value.get_double().value_unsafe();
        break;
    case dom::element_type::STRING: {
        const std::string_view text = value.get_string().value_unsafe();
        node.kind = NodeKind::String;
        const quint64 bits = packed::inlineBitsOfParsed(text);
        node.v.s = bits ? bits : quint64(reinterpret_cast<quintptr>(makeParsedStr(text)));
        if (looksLikeLong(text))
            node.flags |= FlagLooksLikeLong;
        break;
    }
    default:
        Q_UNREACHABLE();
    }
}
}

void storeScalar(Node& node, const Scalar& value)
{
    node.dropPayload();
    node.flags &= quint8(~FlagLooksLikeLong);
    setScalarPayload(node, value);
}

QString escapeSegment(std::string_view key)
{
    QString segment = utf8(key);
    if (segment.contains(QLatin1Char('~')) || segment.contains(QLatin1Char('/'))) {
        segment.replace(QLatin1Char('~'), QLatin1String("~0"));
        segment.replace(QLatin1Char('/'), QLatin1String("~1"));
    }
    return segment;
}

namespace {
// Appends a path segment; plain ASCII keys (the common case) go in without a temporary QString.
void appendSegment(QString& path, std::string_view key)
{
    const bool plain = std::all_of(key.begin(), key.end(), [](char c) { return c > 0 && c != '~' && c != '/'; });
    if (plain)
        path += QLatin1String(key.data(), qsizetype(key.size()));
    else
        path += escapeSegment(key);
}
}

QString pathOf(const DocumentTree::Data& d, quint32 slot)
{
    // Slots from the node up; the path is built once from the top (no list of segment strings).
    thread_local std::vector<quint32> chain;
    chain.clear();
    while (slot && slot != d.rootSlot) {
        chain.push_back(slot);
        slot = d.r(slot).parent;
    }
    QString path;
    for (auto it = chain.rbegin(); it != chain.rend(); ++it) {
        if (it != chain.rbegin())
            path += QLatin1Char('/');
        appendSegment(path, d.r(*it).key);
    }
    return path;
}

// ------------------------------------------------------------------------------------------------

Mutator::Mutator(DocumentTree& tree, ChangeSet* changes, std::vector<Anomaly>* anomalies, qint64 event)
    : d(*tree.d)
    , m_listeners(tree.m_listeners)
    , m_changes(changes)
    , m_anomalies(anomalies)
    , m_event(event)
    , m_reference(tree.d->mode == FoldMode::ReferenceClient)
    , m_stamp(nextStamp())
    , m_touchedStart(changes ? changes->touched.size() : 0)
    , m_touchedNodesFreedAtStart(tree.d->touchedNodesFreed)
    , m_touchEpoch(changes ? tree.d->nextTouchEpoch() : 0)
    , m_marks(&orderMarks())
{
}

Mutator::~Mutator() = default;

void Mutator::beginOrderMarks()
{
    OrderMarks& m = *m_marks;
    if (++m.epoch == 0) {
        std::fill(m.marks.begin(), m.marks.end(), 0);
        m.epoch = 1;
    }
}

bool Mutator::inOrder(quint32 slot) const
{
    const OrderMarks& m = *m_marks;
    return slot < m.marks.size() && m.marks[slot] == m.epoch;
}

void Mutator::setInOrder(quint32 slot)
{
    OrderMarks& m = *m_marks;
    if (slot >= m.marks.size())
        m.marks.resize(std::max<std::size_t>(std::size_t(slot) + 1, d.used), 0);
    m.marks[slot] = m.epoch;
}

bool Mutator::isVisible(quint32 slot) const
{
    while (slot != d.rootSlot) {
        const Node& n = d.r(slot);
        if (n.row == kNotVisible)
            return false;
        slot = n.parent;
    }
    return true;
}

void Mutator::notifyRows(RowEvent event, quint32 parent, int first, int last, int destination)
{
    const NodeId id = d.idOf(parent);
    for (DocumentListener* l : m_listeners) {
        switch (event) {
        case RowEvent::AboutToInsert:
            l->aboutToInsert(id, first, last);
            break;
        case RowEvent::Inserted:
            l->inserted(id, first, last);
            break;
        case RowEvent::AboutToRemove:
            l->aboutToRemove(id, first, last);
            break;
        case RowEvent::Removed:
            l->removed(id, first, last);
            break;
        case RowEvent::AboutToMove:
            l->aboutToMove(id, first, last, destination);
            break;
        case RowEvent::Moved:
            l->moved(id, first, last, destination);
            break;
        }
    }
}

void Mutator::valueChanged(quint32 node, bool visible)
{
    if (!visible)
        return;
    notifyValueChanged(node);
    if (m_changes)
        recordValueChanged(d.idOf(node));
}

[[gnu::flatten]] void Mutator::recordValueChanged(NodeId node)
{
    std::vector<TreeChange>& changes = m_changes->changes;
    // Growing by a tail call: with no call to come back from, the append saves no registers.
    if (changes.size() == changes.capacity()) [[unlikely]]
        return growChanges(node);
    // There is room: said to the compiler, so that emplace_back() keeps no growth path here.
    if (changes.size() == changes.capacity())
        __builtin_unreachable();
    TreeChange& change = changes.emplace_back();
    change.type = TreeChange::Type::ValueChanged;
    change.node = node;
}

void Mutator::growChanges(NodeId node)
{
    std::vector<TreeChange>& changes = m_changes->changes;
    changes.reserve(std::max<std::size_t>(16, 2 * changes.capacity()));
    recordValueChanged(node);
}

void Mutator::notifyValueChanged(quint32 slot)
{
    for (DocumentListener* l : m_listeners)
        l->valueChanged(d.idOf(slot));
}

void Mutator::touch(quint32 slot)
{
    // The node was just written, so w() copies nothing here; one lookup serves the mark and the climb.
    Node* m = &d.w(slot);
    addTouched(*m, slot);
    climb(m);
}

void Mutator::climb(Node* m)
{
    // Climb until a node already carries this mutation's stamp: everything above it does too. A
    // node with this stamp was written by this mutation, so w() on it copies nothing either.
    // What allocates or copies (a new history, a shared chunk) goes on in climbSlow(), by a tail
    // call: with no call to come back from, the loop saves no registers.
    while (m->stamp != m_stamp) {
        m->stamp = m_stamp;
        if (!m->noteChangeInPlace(m_event)) [[unlikely]]
            return climbSlow(m, false);
        if (!m->parent)
            return;
        if (!d.writable(m->parent)) [[unlikely]]
            return climbSlow(m, true);
        m = &d.w(m->parent);
    }
}

void Mutator::climbSlow(Node* m, bool noted)
{
    if (!noted)
        m->noteChangeSlow(m_event);
    if (m->parent)
        climb(&d.w(m->parent));
}

void Mutator::anomaly(AnomalyKind kind, quint32 at, std::string_view childKey, const QString& message)
{
    if (!m_anomalies)
        return;
    if (childKey.empty() && at != 0) {
        // A list-level anomaly (a value list edited without @s) repeats at one path delta after delta:
        // the path of a live node never changes, so it is built once and shared.
        DocumentTree::Data::PathCache& cache = d.anomalyPath;
        if (cache.slot != at || cache.generation != d.r(at).generation) {
            cache.slot = at;
            cache.generation = d.r(at).generation;
            cache.path = pathOf(d, at);
        }
        // Built in place, with no temporary to move and destroy, where the compiler can emplace an
        // aggregate from parentheses (not clang before 16, which the fuzz build uses).
#if defined(__cpp_aggregate_paren_init)
        m_anomalies->emplace_back(kind, m_event, cache.path, message);
#else
        m_anomalies->push_back(Anomaly { kind, m_event, cache.path, message });
#endif
        return;
    }
    QString path = pathOf(d, at);
    if (!path.isEmpty())
        path += QLatin1Char('/');
    appendSegment(path, childKey);
    m_anomalies->push_back(Anomaly { kind, m_event, std::move(path), message });
}

void Mutator::checkDuplicates(dom::object delta, quint32 at)
{
    const std::size_t count = delta.size();
    if (count < 2)
        return;
    if (count <= 16) {
        std::string_view keys[16];
        std::size_t n = 0;
        for (dom::key_value_pair field : delta) {
            for (std::size_t k = 0; k < n; ++k) {
                if (keys[k] == field.key) {
                    reportDuplicate(at, field.key);
                    break;
                }
            }
            keys[n++] = field.key;
        }
        return;
    }
    thread_local std::unordered_set<std::string_view> seen;
    seen.clear();
    for (dom::key_value_pair field : delta) {
        if (!seen.insert(field.key).second)
            reportDuplicate(at, field.key);
    }
}

// Duplicate keys of a delta object: small objects (the common case) are checked on the way, in the
// pass that merges them; larger ones up front.
class Mutator::DuplicateKeys
{
public:
    // `mayRepeat` false: the caller knows no key repeats (see shadowedFields()), so none is checked.
    DuplicateKeys(Mutator& mutator, dom::object delta, quint32 at, bool mayRepeat = true)
        : m_mutator(mutator)
        , m_delta(delta)
        , m_at(at)
    {
        const std::size_t size = delta.size();
        // One key cannot repeat (an element's {"score":N}, the commonest delta object of all).
        m_onTheWay = mayRepeat && size >= 2 && size <= kSmall;
        if (mayRepeat && size > kSmall)
            mutator.checkDuplicates(delta, at);
    }
    // `key`: a key of the delta object itself, as its fields give it (its text is found again by
    // address); `bits`: its inline form (see Key), 0 for a longer key.
    void check(std::string_view key, quint64 bits)
    {
        if (!m_onTheWay)
            return;
        // One bit of a 64-bit filter per key seen: the keys are compared only when a key's bit was
        // already set, so the common object of distinct keys costs one multiply a key and keeps no
        // copy of the keys (storing them cost more than the filter).
        const quint64 seenBit = keyFilterBit(key, bits);
        if (m_seen & seenBit) [[unlikely]]
            compareWithEarlier(key, bits);
        m_seen |= seenBit;
    }

private:
    // A key whose filter bit an earlier key set: compared with the keys before it in the object.
    [[gnu::noinline]] void compareWithEarlier(std::string_view key, quint64 bits)
    {
        for (dom::key_value_pair field : m_delta) {
            if (field.key.data() == key.data())
                return; // the key itself: no earlier one is the same
            if (sameParsedKey(bits, key, packed::inlineBitsOfParsed(field.key), field.key)) {
                m_mutator.reportDuplicate(m_at, key);
                return;
            }
        }
    }
    static constexpr std::size_t kSmall = 8;
    Mutator& m_mutator;
    dom::object m_delta;
    quint32 m_at;
    bool m_onTheWay; // checked key by key in the merging pass
    quint64 m_seen = 0;
};

void Mutator::reportDuplicate(quint32 at, std::string_view key)
{
    anomaly(AnomalyKind::DuplicateKey, at, key,
        m_reference ? QStringLiteral("key \"%1\" appears more than once in one delta object; only the last value is folded, as JSON.parse keeps it").arg(utf8(key))
                    : QStringLiteral("key \"%1\" appears more than once in one delta object; each value is folded in order (JSON.parse, as in the reference client, keeps only the last)").arg(utf8(key)));
}

inline bool Mutator::readValue(dom::element value, Scalar& out) const
{
    const bool scalar = readScalar(value, out);
    // JavaScript numbers are doubles: beyond 2^53 the reference client shows the nearest one.
    if (m_reference && out.kind == NodeKind::Integer && (out.i > kExactInDouble || out.i < -kExactInDouble)) {
        out.kind = NodeKind::Double;
        out.d = double(out.i);
    }
    return scalar;
}

NodeKind Mutator::kindFor(dom::element value, bool literal) const
{
    switch (value.type()) {
    case dom::element_type::OBJECT: {
        if (literal)
            return NodeKind::Object;
        return listMarkers(value.get_object().value_unsafe()).kind();
    }
    case dom::element_type::ARRAY:
        return NodeKind::RawArray;
    default: {
        Scalar s;
        readValue(value, s);
        return s.kind;
    }
    }
}

bool Mutator::keepMember(quint32 object, std::string_view key)
{
    anomaly(AnomalyKind::ReferenceClientDiffers, object, key,
        m_reference ? QStringLiteral("the reference client never shows key \"%1\" (its copy drops keys starting with # and __key, @o, @s); not folded").arg(utf8(key))
                    : QStringLiteral("the reference client never shows key \"%1\": its copy drops keys starting with # and __key, @o, @s").arg(utf8(key)));
    return !m_reference;
}

void Mutator::fill(quint32 slot, dom::element value, bool literal)
{
    switch (value.type()) {
    case dom::element_type::OBJECT: {
        const dom::object o = value.get_object().value_unsafe();
        const NodeKind kind = d.r(slot).kind;
        if (kind == NodeKind::RecordList || kind == NodeKind::ValueList) {
            mergeList(slot, o, listMarkers(o), false);
        } else if (!literal) {
            if (fillNewObject(slot, o))
                break;
            if (o.size() > Node::kInlineMembers) {
                // A null adds no member: only what will be held decides between node and Container.
                std::size_t held = 0;
                for (dom::key_value_pair field : o)
                    held += field.value.type() != dom::element_type::NULL_VALUE;
                if (held > Node::kInlineMembers)
                    d.wc(slot).members.reserve(held);
            }
            mergeObject(slot, o, false);
        } else {
            checkDuplicates(o, slot);
            for (dom::key_value_pair field : o) {
                if (hiddenByReferenceCopy(field.key) && !keepMember(slot, field.key)) [[unlikely]]
                    continue;
                const quint32 existing = d.findMember(slot, field.key);
                if (existing)
                    removeObjectMember(slot, existing, false);
                addObjectMember(slot, field.key, field.value, false, true);
            }
        }
        break;
    }
    case dom::element_type::ARRAY: {
        const dom::array a = value.get_array().value_unsafe();
        const bool outermost = !std::exchange(m_inRawJson, true);
        quint32 index = 0;
        for (dom::element item : a) {
            const quint32 child = d.allocate(slot, numberText(index), kindFor(item, true), m_event);
            d.wc(slot).members.push_back(child);
            d.setRow(slot, child, index);
            fill(child, item, true);
            markNew(child); // the delta made it: in the change set's touched list, like the array
            ++index;
        }
        if (outermost) {
            m_inRawJson = false;
            if (!m_reference && std::exchange(m_rawJsonHeldNull, false)) {
                const Node& array = d.r(slot);
                anomaly(AnomalyKind::ReferenceClientDiffers, array.parent, array.key,
                    QStringLiteral("raw JSON holding null: the reference client's copy() shows each such null as {}"));
            }
        }
        break;
    }
    default: {
        Scalar s;
        readValue(value, s);
        storeScalar(d.w(slot), s);
        // Noted as it is stored, so the raw JSON need not be walked again for it (see ARRAY above).
        m_rawJsonHeldNull = m_rawJsonHeldNull || (m_inRawJson && s.kind == NodeKind::Null);
        break;
    }
    }
}

// The fields of a new object's delta, gathered on the stack before anything is built.
struct Mutator::NewObject {
    static constexpr std::size_t kMost = 8;
    static_assert(kMost <= kIndexThreshold, "the members built here need no index");
    struct Field {
        std::string_view key;
        quint64 bits; // the key's inline form, 0 when too long
        dom::element value;
    };
    // Raw storage: dom::element's constructor would zero every entry first.
    union Fields {
        Fields() { }
        Field at[kMost];
    } fields;
    std::size_t count = 0;
    std::size_t held = 0; // members to be, nulls left out
    bool scalars = true; // no member is a container
};

bool Mutator::gatherNewObject(dom::object delta, NewObject& into)
{
    if (delta.size() > NewObject::kMost)
        return false;
    // Counted in locals, stored once: through `into`, each field's stores would be kept in order
    // with the next field's reads.
    std::size_t count = 0;
    std::size_t held = 0;
    bool scalars = true;
    NewObject::Field* const fields = into.fields.at;
    for (dom::key_value_pair field : delta) {
        if (hiddenByReferenceCopy(field.key)) [[unlikely]]
            return false; // reported by mergeObject()
        const quint64 bits = packed::inlineBitsOfParsed(field.key);
        for (std::size_t k = 0; k < count; ++k) {
            if (sameParsedKey(bits, field.key, fields[k].bits, fields[k].key))
                return false; // a repeated key: each value folds in order, and it is reported
        }
        fields[count++] = NewObject::Field { field.key, bits, field.value };
        const dom::element_type type = field.value.type();
        held += type != dom::element_type::NULL_VALUE;
        scalars = scalars && type != dom::element_type::OBJECT && type != dom::element_type::ARRAY;
    }
    into.count = count;
    into.held = held;
    into.scalars = scalars;
    return true;
}

bool Mutator::fillNewObject(quint32 slot, dom::object delta)
{
    const Node& object = d.r(slot);
    if (m_reference || object.kind != NodeKind::Object || !object.inlineMembers() || object.v.slots[0] != 0)
        return false;
    NewObject fields;
    if (!gatherNewObject(delta, fields))
        return false;
    buildNewObject(slot, fields);
    return true;
}

void Mutator::buildNewObject(quint32 slot, const NewObject& from)
{
    constexpr std::size_t kMost = NewObject::kMost;
    const NewObject::Fields& fields = from.fields;
    const std::size_t count = from.count;
    const std::size_t held = from.held;
    const bool scalars = from.scalars;
    if (scalars) {
        // The common new record ({"who":..,"what":..,"when":..}): each member made in one write of
        // its node, and the object's members set once at the end, not grown a member at a time.
        // Slots are taken in the same order as below.
        quint32 members[kMost];
        quint32 row = 0;
        for (std::size_t i = 0; i < count; ++i) {
            const NewObject::Field& field = fields.at[i];
            const dom::element_type type = field.value.type();
            if (type == dom::element_type::NULL_VALUE)
                continue; // adds nothing to a new object (and, the keys being distinct, removes nothing)
            members[row] = newScalarMember(slot, field.key, field.bits, field.value, type, row);
            ++row;
        }
        if (row > Node::kInlineMembers) {
            Container* c = newContainer(NodeKind::Object);
            c->members.assign(members, members + row);
            Node& n = d.w(slot);
            n.flags &= quint8(~FlagInlineMembers);
            n.v.c = c;
        } else if (row > 0) {
            Node& n = d.w(slot);
            n.v.slots[0] = members[0];
            n.v.slots[1] = row > 1 ? members[1] : 0;
        }
        return;
    }
    if (held > Node::kInlineMembers)
        d.wc(slot).members.reserve(held);
    quint32 row = 0;
    for (std::size_t i = 0; i < count; ++i) {
        const NewObject::Field& field = fields.at[i];
        const dom::element_type type = field.value.type();
        if (type == dom::element_type::NULL_VALUE)
            continue; // adds nothing to a new object (and, the keys being distinct, removes nothing)
        const bool container = type == dom::element_type::OBJECT || type == dom::element_type::ARRAY;
        Scalar value;
        if (!container)
            readValue(field.value, value); // read once: its kind is the node's
        const quint32 child = d.allocate(slot, field.key, field.bits, container ? kindFor(field.value, false) : value.kind, m_event);
        d.appendMember(slot, child);
        d.setRow(slot, child, row);
        if (container)
            fill(child, field.value, false);
        else
            storeScalar(d.w(child), value);
        markNew(child);
        ++row;
    }
}

inline quint32 Mutator::newScalarMember(quint32 object, std::string_view key, quint64 keyBits, dom::element value, dom::element_type type, quint32 row)
{
    // What allocate(), storeScalar(), setRow() and markNew() do, in one write of the node.
    const quint32 slot = d.takeSlot();
    Node& n = d.w(slot);
    n.parent = object;
    n.row = row; // a new object's rows have no base
    // addTouched() of a node no one has marked yet, here: its mark set with the flags.
    n.flags = FlagLive;
    n.touchedIn = m_touchEpoch;
    n.resetProvenance(m_event); // after the flags: it may set FlagHistory
    n.key.assign(key, keyBits);
    n.v.i = 0;
    setParsedScalarPayload(n, value, type);
    if (m_reference && type == dom::element_type::INT64 && (n.v.i > kExactInDouble || n.v.i < -kExactInDouble)) [[unlikely]] {
        n.kind = NodeKind::Double; // what readValue() makes of it: the double JavaScript reads
        n.v.d = double(n.v.i);
    }
    // This mutation's stamp at once (markNew() would overwrite a fresh one).
    n.stamp = m_stamp;
    if (m_changes)
        pushTouched(DocumentTree::Data::idOf(slot, n));
    d.visibilityChanged();
    return slot;
}

void Mutator::appendTouched(NodeId id)
{
    m_changes->touched.push_back(id);
}

void Mutator::markNew(quint32 slot)
{
    // What touch() does for a node this mutation created: its provenance already names the event,
    // and the caller touches the new subtree's root, whose climb stamps the ancestors.
    Node& n = d.w(slot);
    n.stamp = m_stamp;
    addTouched(n, slot);
}

quint32 Mutator::addObjectMember(quint32 object, std::string_view key, dom::element value, bool visible, bool literal)
{
    const int row = int(d.members(object).size());
    beginInsert(object, row, row, visible);
    const quint32 slot = d.allocate(object, key, kindFor(value, literal), m_event);
    d.appendMember(object, slot);
    d.setRow(object, slot, quint32(row));
    d.indexInsert(object, slot);
    if (m_reference && !d.stashedElementMaps.empty() && isListKind(d.r(slot).kind)) [[unlikely]]
        adoptStashedElementMap(object, slot);
    fill(slot, value, literal);
    endInsert(object, row, row, visible);
    touch(slot);
    return slot;
}

quint32 Mutator::addHiddenElement(quint32 list, std::string_view key, dom::element value)
{
    if (value.type() == dom::element_type::OBJECT) {
        // A new record (the common new element): its fields gathered once, which also settles
        // its kind (a delta with @o or @s is never gathered), then built as fill() would (in
        // ReferenceClient mode too: what it folds differently, hidden and repeated keys, is
        // never gathered).
        NewObject fields;
        if (gatherNewObject(value.get_object().value_unsafe(), fields)) {
            // What allocate() and touch() do for it, in one write of its node: it takes this
            // mutation's stamp at once (touch() would overwrite a fresh one) and its provenance
            // already names the event, so the climb starts at the list. The key is the parsed
            // delta's (mergeList() is the only caller): its inline form is one load.
            const quint32 slot = d.takeSlot();
            {
                Node& n = d.w(slot);
                n.parent = list;
                n.row = kNotVisible;
                n.kind = NodeKind::Object;
                n.flags = FlagLive | FlagInlineMembers; // no members yet
                n.resetProvenance(m_event); // after the flags: it may set FlagHistory
                n.key.assign(key, packed::inlineBitsOfParsed(key));
                n.v.i = 0;
                n.stamp = m_stamp;
                d.visibilityChanged();
            }
            d.wc(list).members.push_back(slot);
            d.indexInsert(list, slot);
            buildNewObject(slot, fields);
            addTouched(d.w(slot), slot); // after its members, as touch() would add it
            Node& parent = d.w(list);
            if (parent.stamp != m_stamp)
                climb(&parent);
            return slot;
        }
    }
    NodeKind kind = kindFor(value, false);
    if (m_reference && kind != NodeKind::Object && value.type() == dom::element_type::OBJECT) [[unlikely]]
        kind = elementMarkersAsKeys(list, key);
    const quint32 slot = d.allocate(list, key, kind, m_event);
    d.wc(list).members.push_back(slot);
    d.indexInsert(list, slot);
    fill(slot, value, false);
    touch(slot);
    return slot;
}

void Mutator::removeObjectMember(quint32 object, quint32 member, bool visible)
{
    const int row = int(d.rowOf(member));
    beginRemove(object, row, row, visible);
    d.indexErase(object, member);
    d.eraseMemberAt(object, std::size_t(row));
    d.freeSubtree(member);
    d.rowsErased(object, std::size_t(row), 1);
    endRemove(object, row, row, visible);
    touch(object);
}

void Mutator::convert(quint32 slot, NodeKind kind, bool visible, bool fromDelta)
{
    const Node& n = d.r(slot);
    const NodeKind was = n.kind;
    const int count = n.isContainer() ? int(n.visible().size()) : 0;
    if (count > 0)
        beginRemove(slot, 0, count - 1, visible);
    if (m_reference) [[unlikely]] {
        // tree.js replaces an object wholesale (and the maps it kept with it), but leaves a list's
        // element map beside a value that stops being a list. Between the notifications: the
        // elements leave the list's rows here, as resetPayload() would free them.
        if (was == NodeKind::Object)
            dropStashedElementMapsOf(slot);
        else if (fromDelta && isListKind(was) && !isListKind(kind) && n.parent && d.r(n.parent).kind == NodeKind::Object)
            stashElementMap(n.parent, slot);
    }
    d.resetPayload(slot, kind);
    if (count > 0)
        endRemove(slot, 0, count - 1, visible);
    touch(slot);
}

void Mutator::replaceRawArray(quint32 slot, dom::element value, bool visible)
{
    convert(slot, NodeKind::RawArray, visible);
    const int count = int(value.get_array().value_unsafe().size());
    if (count > 0)
        beginInsert(slot, 0, count - 1, visible);
    fill(slot, value, true);
    if (count > 0)
        endInsert(slot, 0, count - 1, visible);
}

std::vector<char> Mutator::shadowedFields(dom::object o)
{
    if (o.size() < 2)
        return {};
    // One filter bit per key, as DuplicateKeys keeps: the keys are compared only when a bit comes
    // twice, which an object of distinct keys (nearly every one) rarely pays for.
    quint64 seen = 0;
    bool bitRepeats = false;
    for (dom::key_value_pair field : o) {
        const quint64 bits = packed::inlineBitsOfParsed(field.key);
        const quint64 bit = keyFilterBit(field.key, bits);
        bitRepeats |= (seen & bit) != 0;
        seen |= bit;
    }
    return bitRepeats ? shadowedFieldsByKey(o) : std::vector<char> {};
}

std::vector<char> Mutator::shadowedFieldsByKey(dom::object o)
{
    std::vector<char> shadowed;
    const std::size_t count = o.size();
    constexpr std::size_t kSmall = 16;
    if (count <= kSmall) {
        // Compared by their inline forms (one word for a short key), as DuplicateKeys compares them.
        std::string_view keys[kSmall];
        quint64 keyBits[kSmall];
        std::size_t n = 0;
        for (dom::key_value_pair field : o) {
            const quint64 bits = packed::inlineBitsOfParsed(field.key);
            for (std::size_t k = 0; k < n; ++k) {
                if (sameParsedKey(bits, field.key, keyBits[k], keys[k]) && !(k < shadowed.size() && shadowed[k])) {
                    if (shadowed.empty())
                        shadowed.assign(count, 0);
                    shadowed[k] = 1;
                    break;
                }
            }
            keys[n] = field.key;
            keyBits[n++] = bits;
        }
        return shadowed;
    }
    thread_local std::unordered_map<std::string_view, std::size_t> last;
    last.clear();
    std::size_t i = 0;
    for (dom::key_value_pair field : o) {
        const auto [it, inserted] = last.try_emplace(field.key, i);
        if (!inserted) {
            if (shadowed.empty())
                shadowed.assign(count, 0);
            shadowed[it->second] = 1;
            it->second = i;
        }
        ++i;
    }
    return shadowed;
}

void Mutator::mergeObjectAsReferenceClient(quint32 object, dom::object delta, bool visible)
{
    const std::vector<char> shadowed = shadowedFields(delta);
    // Empty when no key repeats: then there is no duplicate to look for either.
    DuplicateKeys duplicates(*this, delta, object, !shadowed.empty());
    std::size_t index = 0;
    for (dom::key_value_pair field : delta) {
        const quint64 probe = packed::inlineBitsOfParsed(field.key);
        duplicates.check(field.key, probe);
        if ((!shadowed.empty() && shadowed[index++]) || (hiddenByReferenceCopy(field.key) && !keepMember(object, field.key)))
            continue;
        std::size_t hint = 0;
        mergeMember(object, field.key, probe, field.value, visible, hint);
    }
}

void Mutator::mergeObject(quint32 object, dom::object delta, bool visible)
{
    if (m_reference) {
        mergeObjectAsReferenceClient(object, delta, visible);
        return;
    }
    DuplicateKeys duplicates(*this, delta, object);
    // Delta keys tend to come in the order the object stores them (the encoder writes them so):
    // each is looked for first just after the last one found. The root's first key, where the last
    // delta's was.
    const bool root = object == d.rootSlot;
    std::size_t next = root ? d.rootMemberHint : 0;
    bool first = true;
    for (dom::key_value_pair field : delta) {
        const quint64 probe = packed::inlineBitsOfParsed(field.key);
        duplicates.check(field.key, probe);
        if (hiddenByReferenceCopy(field.key)) [[unlikely]]
            keepMember(object, field.key); // reported only: the canonical fold keeps such keys
        mergeMember(object, field.key, probe, field.value, visible, next);
        if (first && root)
            d.rootMemberHint = next;
        first = false;
        ++next;
    }
}

void Mutator::mergeMember(quint32 object, std::string_view key, quint64 probe, dom::element value, bool visible, std::size_t& hint)
{
    const quint32 existing = d.findMemberFrom(object, key, probe, hint);
    const dom::element_type type = value.type();
    if (type == dom::element_type::NULL_VALUE) {
        if (existing) {
            // tree.js deletes the element map it keeps for the key only when the value is an array.
            if (m_reference && !d.stashedElementMaps.empty() && d.r(existing).kind == NodeKind::RawArray) [[unlikely]]
                dropStashedElementMap(object, key);
            removeObjectMember(object, existing, visible);
        }
        return;
    }
    if (!existing) {
        addObjectMember(object, key, value, visible, false);
        return;
    }
    const bool childVisible = visibleChild(existing, visible);
    const NodeKind was = d.r(existing).kind;
    if (type == dom::element_type::OBJECT) {
        const dom::object o = value.get_object().value_unsafe();
        const ListMarkers markers = listMarkers(o);
        const NodeKind asked = markers.kind();
        if (m_reference && markers.onlyNull() && !isListKind(was)) {
            // tree.js files the elements into the list's hidden map (which a later list delta for
            // the key reads) but, with nothing to rebuild from, leaves the value it shows as it was.
            if (isReferenceThrowStand(object, key)) {
                // Written by referenceFoldedPart(), which reported the throw: the elements are filed
                // with nothing said of the null it wrote.
                ListMarkers filing;
                mergeList(keptElementMap(object, key, markers.kind()), o, filing, false);
                return;
            }
            anomaly(AnomalyKind::ReferenceClientDiffers, object, key,
                QStringLiteral("a list delta whose @o/@s is null: the reference client keeps showing the %1 value and files the delta's elements into the list's hidden map")
                    .arg(nodeKindName(was)));
            mergeList(keptElementMap(object, key, markers.kind()), o, markers, false);
            return;
        }
        if (asked != NodeKind::Object || isListKind(was) || (m_reference && was == NodeKind::RawArray)) {
            NodeKind target = asked != NodeKind::Object ? asked : was;
            if (m_reference && was == NodeKind::RawArray) {
                // Reference client: a prior array is "a list"; the object's keys go to its hidden map,
                // and the raw elements stay the visible array (the one @o ranges read).
                anomaly(AnomalyKind::ReferenceClientDiffers, object, key,
                    asked == NodeKind::Object
                        ? QStringLiteral("an object was merged into a raw array: the reference client files its keys into a hidden map and keeps showing the old array")
                        : QStringLiteral("a list delta for a raw array: the reference client keeps the array's elements as the list's previous visible array"));
                d.rawArrayToValueList(existing);
                for (quint32 e : d.rl(existing).order)
                    d.w(e).flags |= FlagOrphan;
                d.wl(existing).maybeOrphans = true;
                target = asked == NodeKind::Object ? NodeKind::ValueList : asked;
                d.w(existing).kind = target;
                valueChanged(existing, visible);
                touch(existing);
            } else if (was != target) {
                anomaly(AnomalyKind::KindChanged, object, key,
                    QStringLiteral("%1 became a %2").arg(nodeKindName(was), nodeKindName(target)));
                if (m_reference && isListKind(was)) {
                    // tree.js keeps one hidden map and one visible array whichever marker a list
                    // delta carries, so @o ids and @s indexes read the elements already there.
                    d.w(existing).kind = target;
                    touch(existing);
                } else if (m_reference && (was == NodeKind::String || was == NodeKind::Object) && markers.order && !markers.orderValue.is_null()) {
                    previousValueAsListOrder(existing, target, childVisible);
                } else {
                    convert(existing, target, childVisible);
                }
                valueChanged(existing, visible);
            }
            if (m_reference && !isListKind(was) && !d.stashedElementMaps.empty()) [[unlikely]]
                adoptStashedElementMap(object, existing);
            mergeList(existing, o, markers, childVisible);
            return;
        }
        if (was != NodeKind::Object) {
            if (was == NodeKind::RawArray) {
                anomaly(AnomalyKind::KindChanged, object, key,
                    QStringLiteral("raw array replaced by an object merge (the reference client would keep showing the array)"));
                anomaly(AnomalyKind::ReferenceClientDiffers, object, key,
                    QStringLiteral("the reference client treats any prior array as a list: it files the object's keys into a hidden map and keeps showing the old array"));
            } else if (isContainerKind(was)) {
                anomaly(AnomalyKind::KindChanged, object, key, QStringLiteral("%1 became an object").arg(nodeKindName(was)));
            } else {
                anomaly(AnomalyKind::KindChanged, object, key, QStringLiteral("%1 value became an object").arg(nodeKindName(was)));
            }
            convert(existing, NodeKind::Object, childVisible);
            valueChanged(existing, visible);
        }
        mergeObject(existing, o, childVisible);
        return;
    }
    if (sameKindMember(existing, was, value, type, visible) != InPlace::NotHandled)
        return;
    if (type == dom::element_type::ARRAY) {
        if (isContainerKind(was) && was != NodeKind::RawArray)
            anomaly(AnomalyKind::KindChanged, object, key, QStringLiteral("%1 replaced by a raw array").arg(nodeKindName(was)));
        replaceRawArray(existing, value, childVisible);
        valueChanged(existing, visible);
        return;
    }
    Scalar s;
    readValue(value, s);
    if (isContainerKind(was)) {
        anomaly(AnomalyKind::KindChanged, object, key,
            QStringLiteral("%1 replaced by a %2 value").arg(nodeKindName(was), nodeKindName(s.kind)));
        convert(existing, s.kind, childVisible);
    } else if (sameScalar(d.r(existing), s)) {
        ++m_unchanged;
        return;
    }
    storeScalar(d.w(existing), s);
    valueChanged(existing, visible);
    touch(existing);
}

Mutator::ReferenceRange Mutator::rangeAsReferenceClient(quint32 list, dom::element instruction, qint64 size)
{
    // tree.js: `for (var j = instr[0]; j <= instr[1]; j++) if (before[j]) copy before[j]`. The first
    // test and read use instr[0] as given (a string compares as a string and indexes by its text);
    // j++ then makes j a number. Entries past the second are never read.
    ReferenceRange range;
    if (instruction.is_null()) {
        anomaly(AnomalyKind::BadListInstruction, list, "@o",
            QStringLiteral("@o entry null is neither an id nor a range; the reference client throws a TypeError reading null[0] (nothing taken here)"));
        return range;
    }
    JsPrimitive start;
    JsPrimitive end;
    if (instruction.type() == dom::element_type::ARRAY) {
        int k = 0;
        const dom::array bounds = instruction.get_array().value_unsafe();
        for (dom::element bound : bounds) {
            if (k == 0)
                start = jsPrimitive(bound);
            else if (k == 1)
                end = jsPrimitive(bound);
            ++k;
        }
    } else if (instruction.type() == dom::element_type::OBJECT) {
        const dom::object fields = instruction.get_object().value_unsafe();
        for (dom::key_value_pair field : fields) { // the last of a repeated key wins
            if (field.key == "0")
                start = jsPrimitive(field.value);
            else if (field.key == "1")
                end = jsPrimitive(field.value);
        }
    } // true/false: true[0] is undefined, so the loop never runs
    if (jsLessOrEqual(start, end)) {
        const qint64 first = arrayIndexOfKey(jsToString(start));
        if (first >= 0 && first < size)
            range.first = first;
        const double from = jsToNumber(start) + 1;
        // At least -1 (which names no position): far below it would not convert to an integer.
        const double to = std::max(std::min(jsToNumber(end), double(size - 1)), -1.0);
        // A fractional j names no array position, and neither does any j after it.
        if (from == std::floor(from) && from <= to) {
            range.lo = qint64(std::max(from, 0.0));
            range.hi = qint64(std::floor(to));
        }
    }
    if (range.first >= 0 && range.first + 1 == range.lo) { // one run: report it as such
        range.lo = range.first;
        range.first = -1;
    }
    QString read;
    if (range.first < 0 && range.lo > range.hi)
        read = QStringLiteral("no position");
    else if (range.first >= 0 && range.lo > range.hi)
        read = QStringLiteral("position %1").arg(range.first);
    else if (range.first >= 0)
        read = QStringLiteral("positions %1 and %2..%3").arg(range.first).arg(range.lo).arg(range.hi);
    else
        read = QStringLiteral("positions %1..%2").arg(range.lo).arg(range.hi);
    anomaly(AnomalyKind::BadListInstruction, list, "@o",
        QStringLiteral("@o entry %1 is not an id nor a pair of integers [a,b]; the reference client reads it as a range over %2 of the previous list")
            .arg(briefJson(instruction), read));
    return range;
}

std::vector<std::string> Mutator::idsOfNonArrayOrder(quint32 list, dom::element orderValue)
{
    if (orderValue.type() != dom::element_type::STRING) {
        anomaly(AnomalyKind::BadListInstruction, list, "@o",
            QStringLiteral("@o %1 is not an array; the reference client finds no instructions in it and shows an empty list").arg(briefJson(orderValue)));
        return {};
    }
    std::vector<std::string> ids = jsCodeUnitStrings(orderValue.get_string().value_unsafe());
    anomaly(AnomalyKind::BadListInstruction, list, "@o",
        QStringLiteral("@o %1 is a string, not an array; the reference client takes each of its characters as an id").arg(briefJson(orderValue)));
    if (std::find(ids.begin(), ids.end(), std::string()) != ids.end()) {
        anomaly(AnomalyKind::IdMissingFromElementMap, list, "@o",
            QStringLiteral("@o %1 holds a character beyond U+FFFF, whose UTF-16 halves name no element; shown as null").arg(briefJson(orderValue)));
    }
    return ids;
}

qint64 Mutator::sizeAsReferenceClient(quint32 list, dom::element sizeValue)
{
    // tree.js: `for (var k = 0; k < resize; k++)`: as many indexes as are below the value as
    // JavaScript compares it ("2" is 2, true is 1, 1.5 reads 0 and 1, anything not a number none).
    const double bound = jsToNumber(jsPrimitive(sizeValue));
    const qint64 size = bound > 0 ? qint64(std::min(std::ceil(bound), 9e18)) : 0;
    anomaly(AnomalyKind::BadListInstruction, list, "@s",
        QStringLiteral("@s %1 is not a non-negative integer; the reference client compares indexes with it as JavaScript does and rebuilds %2 element(s)")
            .arg(briefJson(sizeValue))
            .arg(size));
    return size;
}

NodeKind Mutator::elementMarkersAsKeys(quint32 list, std::string_view key)
{
    anomaly(AnomalyKind::ReferenceClientDiffers, list, key,
        QStringLiteral("element \"%1\" carries @o/@s: the reference client merges a list element as a plain object (@o/@s become keys it never shows), not as a list").arg(utf8(key)));
    return NodeKind::Object;
}

void Mutator::previousValueAsListOrder(quint32 slot, NodeKind kind, bool visible)
{
    // tree.js keeps the prior value as the "previous visible array" an @o range reads with
    // before[j]: a string's characters, an object's members keyed "0", "1", ...
    // An object key "4000000" would otherwise mean as many placeholders.
    const qint64 maxPositions = m_unsentNodeBudget;
    std::vector<quint32> before;
    if (d.r(slot).kind == NodeKind::String) {
        const std::vector<std::string> units = jsCodeUnitStrings(d.r(slot).text());
        const bool split = std::find(units.begin(), units.end(), std::string()) != units.end();
        anomaly(AnomalyKind::ReferenceClientDiffers, slot, {},
            split ? QStringLiteral("a list delta for a string: the reference client's @o ranges read its characters (UTF-16 halves of characters beyond U+FFFF shown as U+FFFD)")
                  : QStringLiteral("a list delta for a string: the reference client's @o ranges read its characters"));
        convert(slot, kind, visible);
        for (std::size_t i = 0; i < units.size() && qint64(i) < maxPositions; ++i) {
            const quint32 unit = d.allocate(slot, numberText(qint64(i)), NodeKind::String, m_event);
            Scalar s;
            s.kind = NodeKind::String;
            s.s = units[i].empty() ? kReplacementCharacter : std::string_view(units[i]);
            storeScalar(d.w(unit), s);
            before.push_back(unit);
        }
    } else {
        anomaly(AnomalyKind::ReferenceClientDiffers, slot, {},
            QStringLiteral("a list delta for an object: the reference client's @o ranges read its members keyed \"0\", \"1\", ... as the previous array"));
        std::vector<std::pair<qint64, quint32>> indexed;
        for (quint32 member : d.members(slot)) {
            const qint64 index = arrayIndexOfKey(d.r(member).key.view());
            if (index >= 0 && index < maxPositions)
                indexed.emplace_back(index, member);
        }
        const SlotSpan members = d.members(slot);
        const int count = int(members.size());
        if (count > 0)
            beginRemove(slot, 0, count - 1, visible);
        // Detached first, so that resetting the object frees only the other members.
        for (const auto& [index, member] : indexed) {
            d.indexErase(slot, member);
            const SlotSpan now = d.members(slot);
            d.eraseMemberAt(slot, std::size_t(std::find(now.begin(), now.end(), member) - now.begin()));
        }
        dropStashedElementMapsOf(slot); // tree.js replaced the object, and what it kept with it
        d.resetPayload(slot, kind);
        if (count > 0)
            endRemove(slot, 0, count - 1, visible);
        std::sort(indexed.begin(), indexed.end());
        for (const auto& [index, member] : indexed) {
            while (qint64(before.size()) < index)
                before.push_back(placeholder(slot, numberText(qint64(before.size()))));
            before.push_back(member);
        }
    }
    touch(slot);
    m_unsentNodeBudget -= std::min(m_unsentNodeBudget, qint64(before.size()));
    if (before.empty())
        return;
    // In the visible order but not in the element map: orphans, which the order phase drops
    // unless a range copies them.
    for (quint32 s : before)
        d.w(s).flags |= FlagOrphan;
    beginInsert(slot, 0, int(before.size()) - 1, visible);
    ListContainer& c = d.wl(slot);
    c.order.assign(before.begin(), before.end());
    c.maybeOrphans = true;
    d.renumber(slot);
    d.visibilityChanged();
    endInsert(slot, 0, int(before.size()) - 1, visible);
}

void Mutator::sweepStashedElementMaps()
{
    // Freeing a holder frees its elements, whose own kept maps are then stale too: until none is.
    std::vector<DocumentTree::Data::StashedElementMap>& maps = d.stashedElementMaps;
    for (bool freed = true; freed;) {
        freed = false;
        for (std::size_t i = 0; i < maps.size();) {
            const Node& object = d.r(maps[i].object);
            if (object.live() && object.generation == maps[i].objectGeneration && object.kind == NodeKind::Object) {
                ++i;
                continue;
            }
            const quint32 holder = maps[i].holder;
            maps.erase(maps.begin() + std::ptrdiff_t(i));
            d.freeSubtree(holder);
            freed = true;
        }
    }
}

std::size_t Mutator::moveElementMap(quint32 from, quint32 to)
{
    ListContainer& source = d.wl(from);
    const std::vector<quint32> elements(source.members.begin(), source.members.end());
    source.members.clear();
    d.rebuildIndex(from);
    for (quint32 e : elements) {
        Node& n = d.w(e);
        n.parent = to;
        n.row = kNotVisible;
    }
    SlotVec& members = d.wl(to).members;
    members.insert(members.end(), elements.begin(), elements.end());
    d.rebuildIndex(to);
    d.visibilityChanged();
    return elements.size();
}

void Mutator::stashElementMap(quint32 object, quint32 list)
{
    const std::string key(d.r(list).key.view());
    dropStashedElementMap(object, key); // none is kept while the value is a list; to be sure
    if (d.members(list).empty())
        return; // an empty map: a later list delta starts from an empty one anyway
    const quint32 holder = d.allocate(0, key, d.r(list).kind, m_event);
    moveElementMap(list, holder);
    d.stashedElementMaps.push_back({ object, d.r(object).generation, key, holder });
}

quint32 Mutator::keptElementMap(quint32 object, std::string_view key, NodeKind kind)
{
    if (const auto kept = keptElementMapEntry(object, key); kept != d.stashedElementMaps.end())
        return kept->holder;
    const quint32 holder = d.allocate(0, key, kind, m_event);
    d.stashedElementMaps.push_back({ object, d.r(object).generation, std::string(key), holder });
    return holder;
}

void Mutator::adoptStashedElementMap(quint32 object, quint32 list)
{
    const std::string key(d.r(list).key.view());
    const quint32 holder = takeKeptElementMap(object, key);
    if (!holder)
        return;
    const std::size_t count = moveElementMap(holder, list);
    d.freeSubtree(holder);
    anomaly(AnomalyKind::ReferenceClientDiffers, object, key,
        QStringLiteral("a list again: the reference client kept the %1 element(s) it held before the value stopped being a list, and @o ids and @s indexes read them again")
            .arg(count));
}

void Mutator::dropStashedElementMapsOf(quint32 object)
{
    std::vector<DocumentTree::Data::StashedElementMap>& maps = d.stashedElementMaps;
    for (std::size_t i = 0; i < maps.size();) {
        if (maps[i].object != object) {
            ++i;
            continue;
        }
        const quint32 holder = maps[i].holder;
        maps.erase(maps.begin() + std::ptrdiff_t(i));
        d.freeSubtree(holder);
    }
}

void Mutator::dropStashedElementMap(quint32 object, std::string_view key)
{
    if (const quint32 holder = takeKeptElementMap(object, key))
        d.freeSubtree(holder);
}

std::vector<DocumentTree::Data::StashedElementMap>::iterator Mutator::keptElementMapEntry(quint32 object, std::string_view key)
{
    // The object's generation too: an entry of a freed object whose slot another object took
    // (stale until finish() sweeps it) is not this object's.
    const quint32 generation = d.r(object).generation;
    std::vector<DocumentTree::Data::StashedElementMap>& maps = d.stashedElementMaps;
    return std::find_if(maps.begin(), maps.end(),
        [&](const auto& m) { return m.object == object && m.objectGeneration == generation && m.key == key; });
}

quint32 Mutator::takeKeptElementMap(quint32 object, std::string_view key)
{
    const auto kept = keptElementMapEntry(object, key);
    if (kept == d.stashedElementMaps.end())
        return 0;
    const quint32 holder = kept->holder;
    d.stashedElementMaps.erase(kept);
    return holder;
}

void Mutator::mergeNonObjectDelta(dom::element delta)
{
    // tree.js runs `for (key in delta)` over whatever update() is given: an array's indexes, a
    // string's character positions, nothing for null, numbers and booleans.
    const quint32 root = d.rootSlot;
    switch (delta.type()) {
    case dom::element_type::ARRAY:
        anomaly(AnomalyKind::ReferenceClientDiffers, root, {},
            QStringLiteral("the delta is an array, not an object; the reference client merges it as an object keyed by index"));
        mergeItemsByIndex(root, delta.get_array().value_unsafe(), true);
        break;
    case dom::element_type::STRING: {
        anomaly(AnomalyKind::ReferenceClientDiffers, root, {},
            QStringLiteral("the delta is a string, not an object; the reference client sets one key per character position"));
        // As the array of its characters (JSON text, parsed apart: the thread's parser holds the delta).
        std::string characters = "[";
        for (const std::string& unit : jsCodeUnitStrings(delta.get_string().value_unsafe())) {
            if (characters.size() > 1)
                characters += ',';
            appendJsonString(characters, unit.empty() ? kReplacementCharacter : std::string_view(unit));
        }
        characters += ']';
        dom::parser parser;
        dom::element items;
        if (parser.parse(characters).get(items) == simdjson::SUCCESS)
            mergeItemsByIndex(root, items.get_array().value_unsafe(), true);
        break;
    }
    default:
        anomaly(AnomalyKind::ReferenceClientDiffers, root, {},
            QStringLiteral("the delta is %1, not an object; the reference client's merge finds no keys in it and changes nothing").arg(briefJson(delta)));
        break;
    }
}

quint32 Mutator::orphanAndReplace(quint32 list, quint32 element, NodeKind kind)
{
    const std::string key(d.r(element).key.view());
    d.indexErase(list, element);
    Container& c = d.wc(list);
    c.members.erase(std::find(c.members.begin(), c.members.end(), element));
    d.w(element).flags |= FlagOrphan;
    d.wl(list).maybeOrphans = true;
    const quint32 fresh = d.allocate(list, key, kind, m_event);
    d.wc(list).members.push_back(fresh);
    d.indexInsert(list, fresh);
    return fresh;
}

quint32 Mutator::placeholder(quint32 list, std::string_view key)
{
    const quint32 slot = d.allocate(list, key, NodeKind::Null, m_event);
    d.w(slot).flags |= FlagOrphan | FlagUndefined;
    d.wl(list).maybeOrphans = true;
    return slot;
}

bool Mutator::arrayElementAsObject(quint32 list, std::string_view key, quint32 existing, dom::element value, bool visible)
{
    // tree.js takes any typeof "object" for an element object, arrays included: it merges the array
    // into a new or object element as an object keyed "0".."n-1" (into a scalar: no effect).
    if (existing && isContainerKind(d.r(existing).kind) && d.r(existing).kind != NodeKind::Object)
        return false;
    anomaly(AnomalyKind::ReferenceClientDiffers, list, key,
        QStringLiteral("a raw array as a list element: the reference client merges it as an object keyed by index"));
    if (!m_reference)
        return false;
    if (!existing) {
        existing = d.allocate(list, key, NodeKind::Object, m_event);
        d.wc(list).members.push_back(existing);
        d.indexInsert(list, existing);
    } else if (d.r(existing).kind != NodeKind::Object) {
        return true;
    }
    mergeItemsByIndex(existing, value.get_array().value_unsafe(), visibleChild(existing, visible));
    touch(existing);
    return true;
}

void Mutator::mergeItemsByIndex(quint32 object, dom::array items, bool visible)
{
    qint64 index = 0;
    for (dom::element item : items) {
        const std::string key = numberText(index++);
        std::size_t hint = std::size_t(index - 1);
        mergeMember(object, key, packed::inlineBits(key), item, visible, hint);
    }
}

void Mutator::mergeList(quint32 list, dom::object delta, const ListMarkers& markers, bool visible)
{
    const bool isRecord = d.r(list).kind == NodeKind::RecordList;
    const dom::element orderValue = markers.orderValue;
    const dom::element sizeValue = markers.sizeValue;
    const bool hasOrder = markers.order;
    const bool hasSize = markers.size;
    // A value list edited without @s: the reference client then keeps showing stale values. The
    // same for a record list's scalar elements without @o (objects it shares, so they stay fresh).
    const bool valueListWithoutSize = !isRecord && !hasSize && !hasOrder;
    const bool recordListWithoutOrder = isRecord && !hasSize && !hasOrder && !m_reference;
    bool staleRecordScalar = false;
    std::vector<char> shadowed;
    if (m_reference) [[unlikely]]
        shadowed = shadowedFields(delta);
    // ReferenceClient mode: shadowed is empty when no key repeats, and then no duplicate is looked for.
    DuplicateKeys duplicates(*this, delta, list, !m_reference || !shadowed.empty());

    // The elements this delta removes, in a scratch vector taken at the first removal: most list
    // deltas remove nothing, and taking one costs about as much as merging a small element.
    std::optional<ScratchSlots> removedScratch;
    std::vector<quint32> none;
    std::vector<quint32>* removed = &none;
    bool membershipChanged = false;
    bool staleScalar = false;

    const char* skip = shadowed.empty() ? nullptr : shadowed.data();
    // Where the last one-member element delta found its member: sibling records keep their fields
    // in the same order, so the next one's member is likely there too (see Data::findMemberFrom).
    std::size_t memberHint = d.elementMemberHint; // and where the last delta's did
    for (dom::key_value_pair field : delta) {
        const std::string_view key = field.key;
        const quint64 probe = packed::inlineBitsOfParsed(key);
        duplicates.check(key, probe);
        if (skip && *skip++)
            continue;
        if (isMarker(key, 'o') || isMarker(key, 's'))
            continue;
        const dom::element value = field.value;
        const dom::element_type type = value.type();
        quint32 existing = d.findMember(list, key, probe);
        if (existing && (d.r(existing).flags & FlagMark)) {
            // Removed earlier in this same delta object (duplicate key): the last value wins.
            d.w(existing).flags &= quint8(~FlagMark);
            removed->erase(std::find(removed->begin(), removed->end(), existing));
        }
        if (type == dom::element_type::NULL_VALUE) {
            if (existing) {
                d.w(existing).flags |= FlagMark;
                if (!removedScratch) {
                    removedScratch.emplace();
                    removed = &removedScratch->get();
                }
                removed->push_back(existing);
                membershipChanged = true;
            }
            continue;
        }
        if (type == dom::element_type::ARRAY && arrayElementAsObject(list, key, existing, value, visible)) [[unlikely]] {
            membershipChanged = membershipChanged || !existing;
            continue;
        }
        if (!existing) {
            addHiddenElement(list, key, value);
            membershipChanged = true;
            continue;
        }
        const bool elementVisible = visibleChild(existing, visible);
        const NodeKind was = d.r(existing).kind;
        if (type == dom::element_type::OBJECT) {
            const dom::object o = value.get_object().value_unsafe();
            if (was == NodeKind::Object && o.size() == 1) {
                // One member into an object element (a player's {"score":N}, the commonest element
                // delta): what listMarkers() and mergeObject() do with it, without their walks.
                const dom::object::iterator only = o.begin();
                const std::string_view memberKey = only.key();
                if (!(memberKey.size() == 2 && memberKey[0] == '@' && (memberKey[1] == 'o' || memberKey[1] == 's'))) {
                    // Reported, as mergeObject() does; the reference fold then leaves the key out.
                    if (hiddenByReferenceCopy(memberKey) && !keepMember(existing, memberKey)) [[unlikely]]
                        continue;
                    const quint64 memberProbe = packed::inlineBitsOfParsed(memberKey);
                    const dom::element memberValue = only.value();
                    const dom::element_type memberType = memberValue.type();
                    if (memberType == dom::element_type::INT64 || memberType == dom::element_type::BOOL) {
                        // An integer or bool onto one of its kind, as mergeMember() would store it,
                        // without its entry and exit.
                        if (const quint32 member = d.findMemberFrom(existing, memberKey, memberProbe, memberHint);
                            member && sameKindMember(member, d.r(member).kind, memberValue, memberType, elementVisible) != InPlace::NotHandled)
                            continue;
                    }
                    mergeMember(existing, memberKey, memberProbe, memberValue, elementVisible, memberHint);
                    continue;
                }
            }
            const ListMarkers elementMarkers = listMarkers(o);
            NodeKind target = elementMarkers.kind();
            if (m_reference && target != NodeKind::Object) [[unlikely]]
                target = elementMarkersAsKeys(list, key);
            if (target == NodeKind::Object && isListKind(was))
                target = was;
            if (was != target) {
                // tree.js merges the delta into the scalar: a field holding an object makes it ask
                // `key in scalar`, a TypeError that abandons the rest of the delta; anything else
                // changes nothing.
                bool referenceThrows = false;
                if (!isContainerKind(was)) {
                    for (dom::key_value_pair field : o)
                        referenceThrows = referenceThrows || field.value.type() == dom::element_type::OBJECT;
                }
                if (referenceThrows) [[unlikely]] {
                    anomaly(AnomalyKind::ReferenceClientDiffers, list, key,
                        QStringLiteral("an object delta holding an object for the %1 element: the reference client throws a TypeError here "
                                       "(the in operator on a scalar) and folds nothing more of this delta, keeping what it folded before; %2")
                            .arg(nodeKindName(was), m_reference ? QStringLiteral("this fold goes on with the rest") : QStringLiteral("this fold replaces the element")));
                }
                if (!isContainerKind(was) && !referenceThrows) {
                    anomaly(AnomalyKind::ReferenceClientDiffers, list, key,
                        QStringLiteral("an object delta for the %1 element: the reference client merges it into the scalar, which changes nothing%2")
                            .arg(nodeKindName(was), m_reference ? QString() : QStringLiteral(" (it keeps showing the scalar; this fold replaces it)")));
                }
                if (m_reference && !isContainerKind(was))
                    continue;
                anomaly(AnomalyKind::KindChanged, list, key, QStringLiteral("list element changed from %1 to %2").arg(nodeKindName(was), nodeKindName(target)));
                if (m_reference && elementVisible) {
                    existing = orphanAndReplace(list, existing, target);
                    membershipChanged = true;
                    fill(existing, value, false);
                    touch(existing);
                    continue;
                }
                convert(existing, target, elementVisible);
                valueChanged(existing, elementVisible);
            }
            if (isListKind(target))
                mergeList(existing, o, elementMarkers, elementVisible);
            else
                mergeObject(existing, o, elementVisible);
            continue;
        }
        // A scalar or a raw array element.
        if (const InPlace done = sameKindScalar(existing, was, value, type, elementVisible); done != InPlace::NotHandled) {
            // A visible element in a visible list is shown (elementVisible): its row need not be read again.
            if (done == InPlace::Changed && valueListWithoutSize && (elementVisible || d.r(existing).row != kNotVisible))
                staleScalar = true;
            if (done == InPlace::Changed && recordListWithoutOrder && (elementVisible || d.r(existing).row != kNotVisible))
                staleRecordScalar = true;
            continue;
        }
        Scalar s;
        const bool scalar = readValue(value, s);
        if (scalar && !isContainerKind(was) && sameScalar(d.r(existing), s)) {
            ++m_unchanged;
            continue;
        }
        if (isContainerKind(was) && !(was == NodeKind::RawArray && !scalar))
            anomaly(AnomalyKind::KindChanged, list, key,
                QStringLiteral("list element changed from %1 to %2").arg(nodeKindName(was), nodeKindName(scalar ? s.kind : NodeKind::RawArray)));
        if (valueListWithoutSize && d.r(existing).row != kNotVisible)
            staleScalar = true;
        if (recordListWithoutOrder && d.r(existing).row != kNotVisible)
            staleRecordScalar = true;
        if (m_reference && d.r(existing).row != kNotVisible) {
            // tree.js sets the hidden map only; the visible array keeps the old value.
            existing = orphanAndReplace(list, existing, scalar ? s.kind : NodeKind::RawArray);
            membershipChanged = true;
            fill(existing, value, true);
            touch(existing);
            continue;
        }
        if (scalar) {
            if (isContainerKind(was))
                convert(existing, s.kind, elementVisible);
            storeScalar(d.w(existing), s);
        } else {
            replaceRawArray(existing, value, elementVisible);
        }
        valueChanged(existing, elementVisible);
        touch(existing);
    }
    d.elementMemberHint = memberHint;

    if (staleScalar) {
        anomaly(AnomalyKind::ValueListEditedWithoutSize, list, {},
            QStringLiteral("value list element edited without @s: the reference client updates only its hidden map and keeps showing the old value"));
    }
    if (staleRecordScalar) {
        anomaly(AnomalyKind::ReferenceClientDiffers, list, {},
            QStringLiteral("record list element set to a scalar without @o: the reference client updates only its hidden map and keeps showing the old value"));
    }
    if (!hasOrder && !hasSize && !removed->empty() && !m_reference
        && std::any_of(removed->begin(), removed->end(), [&](quint32 slot) { return d.r(slot).row != kNotVisible; })) {
        anomaly(AnomalyKind::ReferenceClientDiffers, list, {},
            QStringLiteral("%1 removed without %2: the reference client drops it from its hidden map only and keeps showing it until the list's next %2")
                .arg(isRecord ? QStringLiteral("record list element") : QStringLiteral("value list element"), isRecord ? QStringLiteral("@o") : QStringLiteral("@s")));
    }

    // The element loop never touches the visible order, so it is still the previous one here.
    // Without @o, @s, removals or (value lists) new elements it stays as it is: nothing O(n) to do.
    if (!hasOrder && !hasSize && removed->empty() && (isRecord || m_reference || !membershipChanged))
        return;
    if (hasOrder && isRecord && !m_reference && applyOrderBySegments(list, orderValue, *removed, visible))
        return;
    ScratchSlots oldOrderScratch;
    std::vector<quint32>& oldOrderCopy = oldOrderScratch.get();
    oldOrderCopy.assign(d.rl(list).order.begin(), d.rl(list).order.end());
    const std::vector<quint32>& oldOrder = oldOrderCopy;

    // The new visible order.
    beginOrderMarks();
    ScratchSlots targetScratch;
    std::vector<quint32>& target = targetScratch.get();
    bool rebuilt = false;
    const auto take = [&](quint32 slot) {
        if (inOrder(slot)) {
            const Node& n = d.r(slot);
            anomaly(AnomalyKind::BadListInstruction, list, n.key,
                QStringLiteral("element \"%1\" appears twice in @o; shown once").arg(utf8(n.key)));
            return;
        }
        setInOrder(slot);
        target.push_back(slot);
    };
    const auto elementByKey = [&](std::string_view key, bool missingIsHole) {
        const quint32 slot = d.findMember(list, key);
        if (slot && (d.r(slot).flags & FlagMark)) {
            // The server contradicts itself: reported in both modes, folded as each one does.
            anomaly(AnomalyKind::BadListInstruction, list, key,
                m_reference ? QStringLiteral("element \"%1\" is removed and ordered by the same delta; the reference client reads its element map before the removal, so it still shows it").arg(utf8(key))
                            : QStringLiteral("element \"%1\" is removed and ordered by the same delta; left out (the reference client would still show it)").arg(utf8(key)));
            if (!m_reference)
                return;
        }
        if (slot) {
            take(slot);
            return;
        }
        anomaly(AnomalyKind::IdMissingFromElementMap, list, key,
            QStringLiteral("@o names element \"%1\", which is not in the element map").arg(utf8(key)));
        if (missingIsHole || m_reference)
            take(placeholder(list, key));
    };
    // ReferenceClient mode: the positions of the previous visible array a range reads, as tree.js
    // copies them (`if (before[j])`: falsy entries are skipped).
    const auto takeRange = [&](const ReferenceRange& range) {
        if (range.first >= 0 && !jsFalsy(d.r(oldOrder[std::size_t(range.first)])))
            take(oldOrder[std::size_t(range.first)]);
        for (qint64 p = range.lo; p <= range.hi; ++p) {
            if (!jsFalsy(d.r(oldOrder[std::size_t(p)])))
                take(oldOrder[std::size_t(p)]);
        }
    };

    if (hasOrder) {
        rebuilt = true;
        if (orderValue.type() != dom::element_type::ARRAY && m_reference && !orderValue.is_null()) {
            // tree.js loops over ordering.length: a string's characters are ids, anything else has none.
            for (const std::string& id : idsOfNonArrayOrder(list, orderValue)) {
                if (id.empty())
                    take(placeholder(list, kReplacementCharacter)); // a surrogate half names no element
                else
                    elementByKey(id, false);
            }
        } else if (orderValue.type() != dom::element_type::ARRAY) {
            anomaly(AnomalyKind::BadListInstruction, list, "@o", QStringLiteral("@o is not an array; order left unchanged"));
            rebuilt = false;
        } else {
            const dom::array instructions = orderValue.get_array().value_unsafe();
            for (dom::element instruction : instructions) {
                switch (instruction.type()) {
                case dom::element_type::INT64: {
                    const qint64 id = instruction.get_int64().value_unsafe();
                    if (m_reference && (id > kExactInDouble || id < -kExactInDouble)) [[unlikely]] {
                        elementByKey(jsNumberText(double(id)), false); // JavaScript reads the nearest double
                    } else {
                        char digits[24]; // no std::string per id of a reorder
                        const auto result = std::to_chars(digits, digits + sizeof(digits), id);
                        elementByKey(std::string_view(digits, std::size_t(result.ptr - digits)), false);
                    }
                    break;
                }
                case dom::element_type::UINT64:
                    if (m_reference) [[unlikely]]
                        elementByKey(jsNumberText(double(instruction.get_uint64().value_unsafe())), false);
                    else
                        elementByKey(std::to_string(instruction.get_uint64().value_unsafe()), false);
                    break;
                case dom::element_type::STRING:
                    elementByKey(instruction.get_string().value_unsafe(), false);
                    break;
                case dom::element_type::DOUBLE: {
                    const double v = instruction.get_double().value_unsafe();
                    if (const std::optional<qint64> id = exactInteger(v); id && *id > -9'000'000'000'000'000 && *id < 9'000'000'000'000'000) {
                        elementByKey(numberText(*id), false);
                        break;
                    }
                    if (m_reference) {
                        // tree.js indexes its element map with the number's JavaScript text.
                        const std::string id = jsNumberText(v);
                        anomaly(AnomalyKind::BadListInstruction, list, "@o",
                            QStringLiteral("@o entry %1 is not an integer id; the reference client looks up element \"%2\"").arg(briefJson(instruction), utf8(id)));
                        elementByKey(id, false);
                        break;
                    }
                    anomaly(AnomalyKind::BadListInstruction, list, "@o", QStringLiteral("@o entry %1 is not an id").arg(v));
                    break;
                }
                case dom::element_type::ARRAY: {
                    const dom::array pair = instruction.get_array().value_unsafe();
                    qint64 bounds[2] = { 0, 0 };
                    bool ok = pair.size() == 2;
                    int k = 0;
                    for (dom::element bound : pair) {
                        if (k < 2 && bound.type() == dom::element_type::INT64)
                            bounds[k] = bound.get_int64().value_unsafe();
                        else
                            ok = false;
                        ++k;
                    }
                    if (!ok) {
                        if (m_reference) {
                            takeRange(rangeAsReferenceClient(list, instruction, qint64(oldOrder.size())));
                            break;
                        }
                        anomaly(AnomalyKind::BadListInstruction, list, "@o", QStringLiteral("@o range is not a pair of integers [a,b]"));
                        break;
                    }
                    const qint64 size = qint64(oldOrder.size());
                    if (bounds[0] > bounds[1]) {
                        anomaly(AnomalyKind::BadListInstruction, list, "@o",
                            QStringLiteral("@o range [%1,%2] is empty").arg(bounds[0]).arg(bounds[1]));
                        break;
                    }
                    if (bounds[0] < 0 || bounds[1] >= size) {
                        anomaly(AnomalyKind::RangeOutsidePreviousList, list, "@o",
                            QStringLiteral("@o range [%1,%2] reaches outside the previous list of %3 elements; missing positions skipped")
                                .arg(bounds[0])
                                .arg(bounds[1])
                                .arg(size));
                    }
                    const qint64 lo = std::max<qint64>(bounds[0], 0);
                    const qint64 hi = std::min<qint64>(bounds[1], size - 1);
                    // Only removals, orphans or reference-client rules need to look at the nodes.
                    const bool plain = !m_reference && removed->empty() && !d.rl(list).maybeOrphans;
                    for (qint64 p = lo; p <= hi; ++p) {
                        const quint32 slot = oldOrder[std::size_t(p)];
                        if (plain) {
                            take(slot);
                            continue;
                        }
                        const Node& n = d.r(slot);
                        if (m_reference) {
                            if (n.flags & FlagMark) {
                                anomaly(AnomalyKind::BadListInstruction, list, n.key,
                                    QStringLiteral("element \"%1\" is removed and copied by an @o range in the same delta; the reference client copies it from its previous array, so it still shows it").arg(utf8(n.key)));
                            }
                            if (!jsFalsy(n))
                                take(slot);
                            continue;
                        }
                        if (n.flags & FlagMark) {
                            anomaly(AnomalyKind::BadListInstruction, list, n.key,
                                QStringLiteral("element \"%1\" is removed and copied by an @o range in the same delta; left out").arg(utf8(n.key)));
                            continue;
                        }
                        if (n.flags & FlagOrphan) {
                            // A placeholder: prefer the element that now exists under its key.
                            const quint32 current = d.findMember(list, n.key);
                            take(current ? current : slot);
                            continue;
                        }
                        take(slot);
                    }
                    break;
                }
                default:
                    if (m_reference) {
                        // tree.js reads instr[0] and instr[1] of anything that is not a string or number.
                        takeRange(rangeAsReferenceClient(list, instruction, qint64(oldOrder.size())));
                        break;
                    }
                    anomaly(AnomalyKind::BadListInstruction, list, "@o", QStringLiteral("@o entry is neither an id nor a range"));
                    if (instruction.is_null()) {
                        anomaly(AnomalyKind::ReferenceClientDiffers, list, "@o",
                            QStringLiteral("@o holds null: the reference client throws a TypeError reading it as a range (instr[0]) and folds nothing "
                                           "more of this delta, neither the new order nor the element deltas it put off"));
                    }
                    break;
                }
            }
        }
    }
    if (!rebuilt && hasSize) {
        qint64 size = -1;
        if (sizeValue.type() == dom::element_type::INT64)
            size = sizeValue.get_int64().value_unsafe();
        else if (sizeValue.type() == dom::element_type::DOUBLE)
            size = exactInteger(sizeValue.get_double().value_unsafe()).value_or(-1);
        if (m_reference && size < 0 && !sizeValue.is_null()) [[unlikely]]
            size = sizeAsReferenceClient(list, sizeValue);
        const qint64 limit = qint64(d.rc(list).members.size()) + m_unsentNodeBudget;
        if (size < 0 || size > limit) {
            anomaly(AnomalyKind::BadListInstruction, list, "@s",
                size < 0 ? QStringLiteral("@s is not a non-negative integer; size left unchanged")
                         : QStringLiteral("@s %1 is far beyond the %2 elements held (this delta may show %3 more it did not send); size left unchanged")
                               .arg(size)
                               .arg(d.rc(list).members.size())
                               .arg(m_unsentNodeBudget));
        } else {
            rebuilt = true;
            target.reserve(std::size_t(size));
            int missing = 0;
            for (qint64 i = 0; i < size; ++i) {
                const std::string key = numberText(i);
                const quint32 slot = d.findMember(list, key);
                // The reference client rebuilds before it removes: an element this delta removes is still read.
                if (slot && (m_reference || !(d.r(slot).flags & FlagMark))) {
                    if (d.r(slot).flags & FlagMark) {
                        anomaly(AnomalyKind::BadListInstruction, list, key,
                            QStringLiteral("element \"%1\" is removed and kept by @s in the same delta; the reference client still shows it").arg(utf8(key)));
                    }
                    take(slot);
                    continue;
                }
                ++missing;
                if (std::size_t(i) < oldOrder.size() && (d.r(oldOrder[std::size_t(i)]).flags & FlagUndefined)
                    && d.r(oldOrder[std::size_t(i)]).key == key)
                    take(oldOrder[std::size_t(i)]);
                else
                    take(placeholder(list, key));
            }
            m_unsentNodeBudget -= std::min<qint64>(m_unsentNodeBudget, missing);
            if (missing > 0) {
                anomaly(AnomalyKind::IdMissingFromElementMap, list, "@s",
                    QStringLiteral("@s %1 names %2 index(es) not in the element map; shown as null").arg(size).arg(missing));
            }
        }
    }
    if (!rebuilt && !isRecord && !m_reference && membershipChanged) {
        // Canonical value list: the visible array is always #K["0".."n-1"] (n unchanged without @s).
        rebuilt = true;
        for (std::size_t i = 0; i < oldOrder.size(); ++i) {
            const std::string key = numberText(qint64(i));
            const quint32 slot = d.findMember(list, key);
            if (slot && !(d.r(slot).flags & FlagMark))
                take(slot);
            else if (d.r(oldOrder[i]).flags & FlagUndefined)
                take(oldOrder[i]);
            else
                take(placeholder(list, key));
        }
    }
    if (!rebuilt) {
        target.reserve(oldOrder.size());
        for (quint32 slot : oldOrder) {
            if (!(d.r(slot).flags & FlagMark) || m_reference)
                take(slot);
        }
    }

    // Removed elements leave the element map now (they were readable by @o until here).
    if (!removed->empty()) {
        for (quint32 slot : *removed)
            d.indexErase(list, slot);
        Container& c = d.wc(list);
        erase_if(c.members, [&](quint32 s) { return d.r(s).flags & FlagMark; });
        for (quint32 slot : *removed) {
            Node& n = d.w(slot);
            n.flags &= quint8(~FlagMark);
            if (inOrder(slot)) {
                n.flags |= FlagOrphan; // reference client: still shown by the visible array
                d.wl(list).maybeOrphans = true;
            }
        }
    }

    const bool orderChanged = applyOrder(list, target, visible);

    // Free what nothing holds any more: removed elements and dropped orphans.
    for (quint32 slot : *removed) {
        if (!inOrder(slot))
            d.freeSubtree(slot);
    }
    if (d.rl(list).maybeOrphans)
        freeDroppedOrphans(list, oldOrder);
    if (orderChanged || !removed->empty())
        touch(list);
}

void Mutator::freeDroppedOrphans(quint32 list, const std::vector<quint32>& oldOrder)
{
    for (quint32 slot : oldOrder) {
        const Node& n = d.r(slot);
        if (n.live() && n.parent == list && (n.flags & FlagOrphan) && !inOrder(slot))
            d.freeSubtree(slot);
    }
    bool any = false;
    for (quint32 slot : d.rl(list).order)
        any = any || (d.r(slot).flags & FlagOrphan);
    if (!any)
        d.wl(list).maybeOrphans = false;
}

namespace {
struct OrderSegment {
    quint32 lo; // a range over the previous order, lo..hi; or, when slot != 0, one id
    quint32 hi;
    quint32 slot;
};
}

namespace {
// Room for `count` segments beyond what applyOrderBySegments() keeps on its stack (apart: the
// thread_local's guard is then not on the common path).
[[gnu::noinline]] OrderSegment* spilledSegments(std::size_t count)
{
    thread_local std::vector<OrderSegment> spill;
    spill.resize(count);
    return spill.data();
}
}

bool Mutator::applyOrderBySegments(quint32 list, dom::element orderValue, std::vector<quint32>& removed, bool visible)
{
    if (orderValue.type() != dom::element_type::ARRAY || d.rl(list).maybeOrphans)
        return false;
    const std::size_t size = d.rl(list).order.size();
    if (size == 0)
        return false;
    const dom::array instructions = orderValue.get_array().value_unsafe();
    // At most one segment per instruction: room for all of them set aside at once (on the stack
    // for the usual few), so each one found is a store, not a vector's growth check and call.
    std::size_t most = instructions.size();
    if (most == 0xffffff) // simdjson's count saturates there
        most = std::size_t(std::distance(instructions.begin(), instructions.end()));
    constexpr std::size_t kOnStack = 16;
    OrderSegment onStack[kOnStack];
    OrderSegment* const room = most <= kOnStack ? onStack : spilledSegments(most);
    std::size_t found = 0;
    beginOrderMarks();
    std::size_t nextLo = 0; // ranges must ascend without overlapping
    bool inserts = false;
    char digits[24] = {}; // read a word at a time by inlineBitsOfParsed()
    for (dom::element instruction : instructions) {
        std::string_view key;
        switch (instruction.type()) {
        case dom::element_type::ARRAY: {
            const dom::array pair = instruction.get_array().value_unsafe();
            if (pair.size() != 2)
                return false;
            qint64 bounds[2] = { 0, 0 };
            int k = 0;
            for (dom::element bound : pair) {
                if (bound.type() != dom::element_type::INT64)
                    return false;
                bounds[k++] = bound.get_int64().value_unsafe();
            }
            if (bounds[0] < qint64(nextLo) || bounds[0] > bounds[1] || bounds[1] >= qint64(size))
                return false;
            room[found++] = { quint32(bounds[0]), quint32(bounds[1]), 0 };
            nextLo = std::size_t(bounds[1]) + 1;
            continue;
        }
        case dom::element_type::INT64: {
            const auto result = std::to_chars(digits, digits + sizeof(digits), instruction.get_int64().value_unsafe());
            key = std::string_view(digits, std::size_t(result.ptr - digits));
            break;
        }
        case dom::element_type::STRING:
            key = instruction.get_string().value_unsafe();
            break;
        default:
            return false; // rarer forms take the general path
        }
        const quint32 slot = d.findMember(list, key, packed::inlineBitsOfParsed(key));
        // Only elements not shown before: anything else is a move, a duplicate or an anomaly.
        if (!slot || (d.r(slot).flags & FlagMark) || d.r(slot).row != kNotVisible || inOrder(slot))
            return false;
        setInOrder(slot);
        room[found++] = { 0, 0, slot };
        inserts = true;
    }
    const std::span<const OrderSegment> segments(room, found);
    // A removed element still shown must fall between the ranges (else an anomaly to report).
    for (quint32 slot : removed) {
        const quint32 row = d.rowOf(slot);
        if (row == kNotVisible)
            continue;
        for (const OrderSegment& s : segments) {
            if (!s.slot && row >= s.lo && row <= s.hi)
                return false;
        }
    }

    d.visibilityChanged();
    // Removed elements leave the element map first, as in the general path.
    if (!removed.empty()) {
        for (quint32 slot : removed)
            d.indexErase(list, slot);
        ListContainer& c = d.wl(list);
        if (removed.size() <= 8) {
            for (quint32 slot : removed)
                c.members.erase(std::find(c.members.begin(), c.members.end(), slot));
        } else {
            erase_if(c.members, [&](quint32 s) { return d.r(s).flags & FlagMark; });
        }
        // Their FlagMark stays until freeSubtree() below clears every flag: nothing between reads it.
    }

    // 1. Removals: the gaps around the ranges, from the end, one notification per gap.
    ListContainer& c = d.wl(list);
    bool changed = inserts;
    const auto removeRows = [&](std::size_t first, std::size_t last) {
        changed = true;
        beginRemove(list, int(first), int(last), visible);
        for (std::size_t k = first; k <= last; ++k)
            d.w(c.order[k]).row = kNotVisible;
        c.order.erase(c.order.begin() + std::ptrdiff_t(first), c.order.begin() + std::ptrdiff_t(last) + 1);
        const std::size_t count = last - first + 1;
        if (first == 0 && !c.order.empty() && c.rowBase + count <= kMaxRowBase)
            c.rowBase += quint32(count); // what rowsErased() does at the head (a scrolling list's oldest rows), inline
        else
            d.rowsErased(list, first, count);
        endRemove(list, int(first), int(last), visible);
    };
    std::size_t end = size; // exclusive end of the rows after the range being looked at
    for (auto it = segments.rbegin(); it != segments.rend(); ++it) {
        if (it->slot)
            continue;
        if (it->hi + 1 < end)
            removeRows(it->hi + 1, end - 1);
        end = it->lo;
    }
    if (end > 0)
        removeRows(0, end - 1);

    // 2. Insertions in ascending position, one notification per run of consecutive ids.
    std::size_t position = 0;
    for (std::size_t i = 0; i < segments.size();) {
        if (!segments[i].slot) {
            position += segments[i].hi - segments[i].lo + 1;
            ++i;
            continue;
        }
        std::size_t j = i;
        while (j < segments.size() && segments[j].slot)
            ++j;
        const std::size_t count = j - i;
        beginInsert(list, int(position), int(position + count) - 1, visible);
        if (position == c.order.size()) {
            // Appended (a scrolling list's newest rows): pushed, and what rowsInserted() does at
            // the tail, inline.
            for (std::size_t k = 0; k < count; ++k) {
                const quint32 slot = segments[i + k].slot;
                c.order.push_back(slot);
                d.w(slot).row = quint32(position + k) + c.rowBase;
            }
        } else {
            c.order.insert(c.order.begin() + std::ptrdiff_t(position), count, 0);
            for (std::size_t k = 0; k < count; ++k)
                c.order[position + k] = segments[i + k].slot;
            d.rowsInserted(list, position, count);
        }
        endInsert(list, int(position), int(position + count) - 1, visible);
        position += count;
        i = j;
    }

    for (quint32 slot : removed)
        d.freeSubtree(slot);
    if (changed || !removed.empty()) {
        // touch(), inline: a list that gained an element was stamped by it, so seldom a climb.
        Node& n = d.w(list);
        addTouched(n, list);
        if (n.stamp != m_stamp)
            climb(&n);
    }
    return true;
}

bool Mutator::swapByMoves(quint32 list, ListContainer& c, const std::vector<quint32>& target)
{
    // Two rows a < b trading places (a ranking's players passing each other), the rest in place.
    const std::size_t n = c.order.size();
    if (target.size() != n || n > 1'000'000) // a huge list: the general path's own rules for many moves
        return false;
    std::size_t a = 0;
    while (a < n && c.order[a] == target[a])
        ++a;
    if (a == n)
        return false;
    std::size_t b = n - 1;
    while (c.order[b] == target[b])
        --b;
    // With exactly one row between the two, three increasing subsequences of the general path tie:
    // that case is left to it.
    if (b == a || b == a + 2 || c.order[a] != target[b] || c.order[b] != target[a]
        || !std::equal(target.begin() + std::ptrdiff_t(a) + 1, target.begin() + std::ptrdiff_t(b), c.order.begin() + std::ptrdiff_t(a) + 1))
        return false;
    // The moves the general path makes: its longest increasing subsequence keeps every row but the
    // two when two or more rows lie between them, and all but the lower one's when they are adjacent.
    if (b == a + 1) {
        moveRow(list, c, int(a), int(a) + 2);
    } else {
        moveRow(list, c, int(b), int(a));
        moveRow(list, c, int(a) + 1, int(b) + 1);
    }
    return true;
}

void Mutator::moveRow(quint32 list, ListContainer& c, int from, int destination)
{
    beginMove(list, from, from, destination, true);
    const quint32 s = c.order[std::size_t(from)];
    c.order.erase(c.order.begin() + from);
    const int to = destination > from ? destination - 1 : destination;
    c.order.insert(c.order.begin() + to, s);
    for (int k = std::min(from, to); k <= std::max(from, to); ++k)
        d.w(c.order[std::size_t(k)]).row = quint32(k) + c.rowBase;
    endMove(list, from, from, destination, true);
}

bool Mutator::applyOrder(quint32 list, const std::vector<quint32>& target, bool visible)
{
    ListContainer& c = d.wl(list);
    if (c.order == target)
        return false;
    if (!visible || target.empty() || c.order.empty()) {
        if (visible && !c.order.empty()) {
            const int last = int(c.order.size()) - 1;
            beginRemove(list, 0, last, true);
            for (quint32 s : c.order)
                d.w(s).row = kNotVisible;
            c.order.clear();
            endRemove(list, 0, last, true);
        }
        for (quint32 s : c.order) {
            if (!inOrder(s))
                d.w(s).row = kNotVisible;
        }
        if (visible && !target.empty())
            beginInsert(list, 0, int(target.size()) - 1, true);
        c.order = target;
        d.renumber(list);
        if (visible && !target.empty())
            endInsert(list, 0, int(target.size()) - 1, true);
        d.visibilityChanged();
        return true;
    }
    d.visibilityChanged();
    if (swapByMoves(list, c, target))
        return true;

    // 1. Removals, from the end, one notification per contiguous run.
    for (int i = int(c.order.size()) - 1; i >= 0; --i) {
        if (inOrder(c.order[std::size_t(i)]))
            continue;
        const int last = i;
        while (i > 0 && !inOrder(c.order[std::size_t(i - 1)]))
            --i;
        const int first = i;
        beginRemove(list, first, last, true);
        for (int k = first; k <= last; ++k)
            d.w(c.order[std::size_t(k)]).row = kNotVisible;
        c.order.erase(c.order.begin() + first, c.order.begin() + last + 1);
        d.rowsErased(list, std::size_t(first), std::size_t(last - first + 1));
        endRemove(list, first, last, true);
    }

    // 2. Moves: keep a longest increasing subsequence in place and move the rest after their predecessor.
    thread_local std::vector<quint32> retained;
    retained.clear();
    for (quint32 s : target) {
        if (d.r(s).row != kNotVisible)
            retained.push_back(s);
    }
    const std::size_t m = retained.size();
    // Common case (appends, removals, inserts): what remains is already in the new relative order.
    const bool inOrder = std::equal(retained.begin(), retained.end(), c.order.begin(), c.order.end());
    if (m > 1 && !inOrder) {
        // Rows of the list's children are node rows minus the base, which moves do not change.
        const quint32 base = c.rowBase;
        const auto rowOf = [&](quint32 slot) { return int(d.r(slot).row - base); };
        thread_local std::vector<int> sequence; // sequence[current row] = index in retained
        sequence.assign(m, 0);
        for (std::size_t t = 0; t < m; ++t)
            sequence[std::size_t(rowOf(retained[t]))] = int(t);
        thread_local std::vector<int> tails; // indexes into sequence
        thread_local std::vector<int> previous;
        tails.clear();
        previous.assign(m, -1);
        for (std::size_t k = 0; k < m; ++k) {
            auto it = std::lower_bound(tails.begin(), tails.end(), sequence[k], [&](int idx, int value) { return sequence[std::size_t(idx)] < value; });
            if (it != tails.begin())
                previous[k] = *(it - 1);
            if (it == tails.end())
                tails.push_back(int(k));
            else
                *it = int(k);
        }
        thread_local std::vector<char> inLis;
        inLis.assign(m, 0);
        for (int k = tails.empty() ? -1 : tails.back(); k >= 0; k = previous[std::size_t(k)])
            inLis[std::size_t(sequence[std::size_t(k)])] = 1;
        const std::size_t moves = m - tails.size();
        if (moves > 0 && moves * m > 4'000'000) {
            // Too many single moves for a huge reorder: one removal and one insertion instead.
            const int last = int(m) - 1;
            beginRemove(list, 0, last, true);
            for (quint32 s : c.order)
                d.w(s).row = kNotVisible;
            c.order.clear();
            endRemove(list, 0, last, true);
        } else if (moves > 0) {
            for (std::size_t t = 0; t < m; ++t) {
                if (inLis[t])
                    continue;
                const int from = rowOf(retained[t]);
                const int destination = t == 0 ? 0 : rowOf(retained[t - 1]) + 1;
                if (destination == from || destination == from + 1)
                    continue;
                moveRow(list, c, from, destination);
            }
        }
    }

    // 3. Insertions in ascending position, one notification per contiguous run.
    for (std::size_t p = 0; p < target.size(); ++p) {
        if (d.r(target[p]).row != kNotVisible)
            continue;
        std::size_t q = p;
        while (q + 1 < target.size() && d.r(target[q + 1]).row == kNotVisible)
            ++q;
        beginInsert(list, int(p), int(q), true);
        c.order.insert(c.order.begin() + std::ptrdiff_t(p), target.begin() + std::ptrdiff_t(p), target.begin() + std::ptrdiff_t(q) + 1);
        d.rowsInserted(list, p, q - p + 1);
        endInsert(list, int(p), int(q), true);
        p = q;
    }
    return true;
}

// ------------------------------------------------------------------------------------------------
// Editing

quint32 Mutator::editSlot(quint32 parent, std::string_view key, NodeKind kind)
{
    if (isContainerKind(kind)) {
        // Deltas cannot nest deeper than kMaxDepth, and edits may not build what no delta could carry.
        int depth = 1; // the parent's JSON nesting level (the root is level 1)
        for (quint32 s = parent; s != d.rootSlot && s; s = d.r(s).parent)
            ++depth;
        if (depth + 1 > DocumentTree::kMaxDepth)
            return 0;
    }
    const Node& p = d.r(parent);
    const bool visible = isVisible(parent);
    quint32 existing = 0;
    switch (p.kind) {
    case NodeKind::Object:
    case NodeKind::RecordList:
        existing = d.findMember(parent, key);
        break;
    case NodeKind::ValueList: {
        qint64 index = -1;
        const auto result = std::from_chars(key.data(), key.data() + key.size(), index);
        if (result.ec != std::errc() || result.ptr != key.data() + key.size() || index < 0 || key != numberText(index))
            return 0;
        if (std::size_t(index) >= d.rl(parent).order.size())
            editResize(parent, std::size_t(index) + 1);
        existing = d.findMember(parent, key);
        if (!existing)
            return 0;
        break;
    }
    case NodeKind::RawArray: {
        qint64 index = -1;
        const auto result = std::from_chars(key.data(), key.data() + key.size(), index);
        if (result.ec != std::errc() || result.ptr != key.data() + key.size() || index < 0 || std::size_t(index) >= d.members(parent).size())
            return 0;
        existing = d.members(parent)[std::size_t(index)];
        break;
    }
    default:
        return 0;
    }
    if (existing) {
        const Node& n = d.r(existing);
        if (n.flags & FlagOrphan)
            return 0;
        if (isContainerKind(kind) && n.kind == kind)
            return existing;
        const bool childVisible = visibleChild(existing, visible);
        convert(existing, kind, childVisible, false);
        valueChanged(existing, childVisible);
        return existing;
    }
    if (p.kind == NodeKind::RecordList) {
        const quint32 slot = d.allocate(parent, key, kind, m_event);
        d.wc(parent).members.push_back(slot);
        d.indexInsert(parent, slot);
        touch(slot);
        return slot;
    }
    const int row = int(d.members(parent).size());
    beginInsert(parent, row, row, visible);
    const quint32 slot = d.allocate(parent, key, kind, m_event);
    d.appendMember(parent, slot);
    d.setRow(parent, slot, quint32(row));
    d.indexInsert(parent, slot);
    endInsert(parent, row, row, visible);
    touch(slot);
    return slot;
}

void Mutator::editScalar(quint32 parent, std::string_view key, const Scalar& value)
{
    // Fast path: an existing scalar of any kind is updated in place.
    const NodeKind pk = d.r(parent).kind;
    if (pk == NodeKind::Object || pk == NodeKind::RecordList) {
        const quint32 existing = d.findMember(parent, key);
        if (existing && !isContainerKind(d.r(existing).kind)) {
            if (sameScalar(d.r(existing), value))
                return;
            storeScalar(d.w(existing), value);
            valueChanged(existing, isVisible(existing));
            touch(existing);
            return;
        }
    }
    const quint32 slot = editSlot(parent, key, value.kind);
    if (!slot)
        return;
    if (sameScalar(d.r(slot), value))
        return;
    storeScalar(d.w(slot), value);
    valueChanged(slot, isVisible(slot));
    touch(slot);
}

void Mutator::editRawJson(quint32 parent, std::string_view key, dom::element value)
{
    if (value.type() == dom::element_type::OBJECT || value.type() == dom::element_type::ARRAY) {
        const NodeKind kind = value.type() == dom::element_type::OBJECT ? NodeKind::Object : NodeKind::RawArray;
        const quint32 slot = editSlot(parent, key, kind);
        if (!slot)
            return;
        const bool visible = isVisible(slot);
        convert(slot, kind, visible, false); // wholesale: a kept container is emptied first
        const int count = kind == NodeKind::Object ? distinctKeyCount(value.get_object().value_unsafe()) : int(value.get_array().value_unsafe().size());
        if (count > 0)
            beginInsert(slot, 0, count - 1, visible);
        fill(slot, value, true);
        if (count > 0)
            endInsert(slot, 0, count - 1, visible);
        touch(slot);
        return;
    }
    Scalar s;
    readValue(value, s);
    editScalar(parent, key, s);
}

void Mutator::editRemove(quint32 parent, std::string_view key)
{
    const Node& p = d.r(parent);
    const bool visible = isVisible(parent);
    if (p.kind == NodeKind::Object) {
        if (const quint32 existing = d.findMember(parent, key))
            removeObjectMember(parent, existing, visible);
        return;
    }
    if (p.kind == NodeKind::RecordList) {
        const quint32 existing = d.findMember(parent, key);
        if (!existing)
            return;
        const quint32 row = d.rowOf(existing);
        if (row != kNotVisible) {
            beginRemove(parent, int(row), int(row), visible);
            ListContainer& c = d.wl(parent);
            c.order.erase(c.order.begin() + row);
            d.w(existing).row = kNotVisible;
            d.rowsErased(parent, row, 1);
        }
        d.indexErase(parent, existing);
        Container& c = d.wc(parent);
        c.members.erase(std::find(c.members.begin(), c.members.end(), existing));
        d.freeSubtree(existing);
        if (row != kNotVisible)
            endRemove(parent, int(row), int(row), visible);
        touch(parent);
        return;
    }
    if (p.kind == NodeKind::ValueList) {
        const std::size_t size = d.rl(parent).order.size();
        if (size > 0 && key == numberText(qint64(size - 1)))
            editResize(parent, size - 1);
        else if (d.findMember(parent, key))
            editScalar(parent, key, Scalar {});
        return;
    }
    if (p.kind == NodeKind::RawArray) {
        qint64 index = -1;
        const auto result = std::from_chars(key.data(), key.data() + key.size(), index);
        if (result.ec != std::errc() || index < 0 || std::size_t(index) >= d.rc(parent).members.size())
            return;
        const quint32 member = d.rc(parent).members[std::size_t(index)];
        beginRemove(parent, int(index), int(index), visible);
        Container& c = d.wc(parent);
        c.members.erase(c.members.begin() + index);
        d.freeSubtree(member);
        d.rowsErased(parent, std::size_t(index), 1);
        for (std::size_t k = std::size_t(index); k < d.rc(parent).members.size(); ++k)
            d.w(d.rc(parent).members[k]).key.assign(numberText(qint64(k)));
        d.anomalyPath.slot = 0; // the only place keys change in place: paths below may have moved
        endRemove(parent, int(index), int(index), visible);
        touch(parent);
    }
}

void Mutator::editOrder(quint32 list, const std::vector<quint32>& order)
{
    beginOrderMarks();
    std::vector<quint32> target;
    target.reserve(order.size());
    for (quint32 s : order) {
        if (inOrder(s))
            continue; // an id given twice is shown once
        setInOrder(s);
        target.push_back(s);
    }
    const std::vector<quint32> oldOrder(d.rl(list).order.begin(), d.rl(list).order.end());
    const bool changed = applyOrder(list, target, isVisible(list));
    if (d.rl(list).maybeOrphans)
        freeDroppedOrphans(list, oldOrder);
    if (changed)
        touch(list);
}

void Mutator::editResize(quint32 list, std::size_t size)
{
    const bool visible = isVisible(list);
    const std::size_t old = d.rl(list).order.size();
    if (size == old)
        return;
    if (size < old) {
        beginRemove(list, int(size), int(old) - 1, visible);
        std::vector<quint32> dropped(d.rl(list).order.begin() + std::ptrdiff_t(size), d.rl(list).order.end());
        d.wl(list).order.resize(size);
        for (quint32 s : dropped) {
            if (!(d.r(s).flags & FlagOrphan)) {
                d.indexErase(list, s);
                Container& c = d.wc(list);
                c.members.erase(std::find(c.members.begin(), c.members.end(), s));
            }
            d.freeSubtree(s);
        }
        endRemove(list, int(size), int(old) - 1, visible);
    } else {
        beginInsert(list, int(old), int(size) - 1, visible);
        for (std::size_t i = old; i < size; ++i) {
            const std::string key = numberText(qint64(i));
            quint32 slot = d.findMember(list, key);
            if (!slot) {
                slot = d.allocate(list, key, NodeKind::Null, m_event);
                d.wc(list).members.push_back(slot);
                d.indexInsert(list, slot);
            }
            d.wl(list).order.push_back(slot);
            d.setRow(list, slot, quint32(i));
        }
        endInsert(list, int(old), int(size) - 1, visible);
    }
    d.visibilityChanged();
    touch(list);
}

void Mutator::finish()
{
    // Maps kept for objects this delta freed go now, not at the next change of kind.
    if (!d.stashedElementMaps.empty()) [[unlikely]]
        sweepStashedElementMaps();
    // Entries were added with the node's id at the time. A node freed during the delta lost its
    // mark and, its slot reused, has another generation: such entries are dropped, and a reused
    // slot touched again is reported by its own entry. The marks need no clearing: the next
    // mutation takes a new touch epoch.
    // Nodes of an element map kept aside (ReferenceClient mode) are dropped too: they are no part
    // of the document (DocumentTree::contains()) until the key is a list again.
    const bool freedSome = d.touchedNodesFreed != m_touchedNodesFreedAtStart;
    const bool keptSome = !d.stashedElementMaps.empty();
    if (!m_changes || (!freedSome && !keptSome))
        return; // no touched node was freed (the common case, even when the delta removes elements)
    std::vector<NodeId>& touched = m_changes->touched;
    NodeId* const ids = touched.data();
    const std::size_t end = touched.size();
    std::size_t kept = m_touchedStart;
    for (std::size_t i = m_touchedStart; i < end; ++i) {
        const NodeId id = ids[i];
        const Node& n = d.r(quint32(id));
        if (freedSome && !(n.live() && n.touchedIn == m_touchEpoch && n.generation == quint32(id >> 32)))
            continue;
        if (keptSome && !d.inDocument(quint32(id)))
            continue;
        ids[kept++] = id;
    }
    touched.resize(kept);
}

}
