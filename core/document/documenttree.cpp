#include "core/document/documenttree.h"

#include "core/document/documenttree_p.h"
#include "core/document/javascriptvalues.h"
#include "core/document/mutator.h"
#include "core/exactinteger.h"
#include "core/jsonstring.h"

#include <algorithm>
#include <charconv>
#include <cmath>

namespace deltascope {

using namespace detail;
namespace dom = simdjson::dom;

QString nodeKindName(NodeKind kind)
{
    switch (kind) {
    case NodeKind::Null:
        return QStringLiteral("null");
    case NodeKind::Bool:
        return QStringLiteral("bool");
    case NodeKind::Integer:
        return QStringLiteral("integer");
    case NodeKind::Double:
        return QStringLiteral("double");
    case NodeKind::String:
        return QStringLiteral("string");
    case NodeKind::Object:
        return QStringLiteral("object");
    case NodeKind::RecordList:
        return QStringLiteral("record list");
    case NodeKind::ValueList:
        return QStringLiteral("value list");
    case NodeKind::RawArray:
        return QStringLiteral("raw array");
    }
    return QStringLiteral("unknown");
}

QString resentSnapshotMessage(qint64 unchangedValues)
{
    return QStringLiteral("%1 values re-sent unchanged: this item looks like a whole snapshot inside the same stream (a transparent "
                          "failover or a hot deploy, adama-wire.md 7.4); it is merged, so keys it leaves out may be stale")
        .arg(unchangedValues);
}

QString anomalyKindName(AnomalyKind kind)
{
    switch (kind) {
    case AnomalyKind::InvalidJson:
        return QStringLiteral("invalid JSON");
    case AnomalyKind::NotAnObject:
        return QStringLiteral("not an object");
    case AnomalyKind::RangeOutsidePreviousList:
        return QStringLiteral("range outside previous list");
    case AnomalyKind::IdMissingFromElementMap:
        return QStringLiteral("id missing from element map");
    case AnomalyKind::KindChanged:
        return QStringLiteral("kind changed");
    case AnomalyKind::ValueListEditedWithoutSize:
        return QStringLiteral("value list edited without @s");
    case AnomalyKind::ReferenceClientDiffers:
        return QStringLiteral("reference client differs");
    case AnomalyKind::BadListInstruction:
        return QStringLiteral("bad list instruction");
    case AnomalyKind::DuplicateKey:
        return QStringLiteral("duplicate key");
    }
    return QStringLiteral("unknown");
}

namespace {

std::string toUtf8(QStringView text)
{
    const QByteArray bytes = text.toUtf8();
    return std::string(bytes.constData(), std::size_t(bytes.size()));
}

void appendNewline(std::string& out, int indent)
{
    out.push_back('\n');
    out.append(std::size_t(indent) * 2, ' ');
}

} // namespace

namespace detail {

void appendNumber(std::string& out, qint64 value)
{
    char buffer[24];
    const auto result = std::to_chars(buffer, buffer + sizeof(buffer), value);
    out.append(buffer, result.ptr);
}

void appendDouble(std::string& out, double value)
{
    if (!std::isfinite(value)) {
        out.append("null"); // JSON has no NaN or infinity
        return;
    }
    // "-0" would read back as the integer 0: the sign survives only in a double's own form (Java,
    // and so an Adama server, writes it so too).
    if (value == 0 && std::signbit(value)) {
        out.append("-0.0");
        return;
    }
    char buffer[32];
    // Beyond 64-bit integers the shortest form of an integral double is a bare digit string (2^64 as
    // "18446744073709552000"), which readers, simdjson among them, take for an integer that does not
    // fit; an exponent keeps it a double.
    const auto result = std::fabs(value) >= 0x1p63 ? std::to_chars(buffer, buffer + sizeof(buffer), value, std::chars_format::scientific)
                                                   : std::to_chars(buffer, buffer + sizeof(buffer), value);
    out.append(buffer, result.ptr);
    // A whole number keeps a fraction, as Java's Double.toString writes it (an Adama server's
    // 100.0): bare "100" reads back as an integer, another kind of node.
    if (std::find_if(buffer, result.ptr, [](char c) { return c == '.' || c == 'e'; }) == result.ptr)
        out.append(".0");
}

void appendScalar(std::string& out, const Node& n)
{
    switch (n.kind) {
    case NodeKind::Null:
        out.append("null");
        break;
    case NodeKind::Bool:
        out.append(n.v.b ? "true" : "false");
        break;
    case NodeKind::Integer:
        appendNumber(out, n.v.i);
        break;
    case NodeKind::Double:
        appendDouble(out, n.v.d);
        break;
    case NodeKind::String:
        appendJsonString(out, n.text());
        break;
    default:
        break;
    }
}

void appendVisibleJson(const DocumentTree::Data& d, quint32 slot, std::string& out, bool pretty, int indent, bool asReferenceShows)
{
    const Node& n = d.r(slot);
    if (!n.isContainer()) {
        // The reference client's copy() shows a null inside raw JSON as {}, also once that JSON is a
        // list's previous array (a list's hole, undefined there, stays null); JSON.stringify
        // writes a number as Number::toString does (-0 as 0, 100.0 as 100).
        if (asReferenceShows && n.kind == NodeKind::Null && !(n.flags & FlagUndefined)
            && (!isListKind(d.r(n.parent).kind) || (n.flags & FlagOrphan)))
            out.append("{}");
        else if (asReferenceShows && n.kind == NodeKind::Double)
            out.append(std::isfinite(n.v.d) ? jsNumberText(n.v.d) : std::string("null"));
        else
            appendScalar(out, n);
        return;
    }
    const bool object = n.kind == NodeKind::Object;
    const SlotSpan children = n.visible();
    out.push_back(object ? '{' : '[');
    bool first = true;
    for (quint32 child : children) {
        if (!first)
            out.push_back(',');
        first = false;
        if (pretty)
            appendNewline(out, indent + 1);
        if (object) {
            appendJsonString(out, d.r(child).key);
            out.append(pretty ? ": " : ":");
        }
        appendVisibleJson(d, child, out, pretty, indent + 1, asReferenceShows);
    }
    if (pretty && !children.empty())
        appendNewline(out, indent);
    out.push_back(object ? '}' : ']');
}

} // namespace detail

// ------------------------------------------------------------------------------------------------

DocumentTree::DocumentTree()
    : DocumentTree(FoldMode::Canonical)
{
}

DocumentTree::DocumentTree(FoldMode mode)
    : d(std::make_shared<Data>())
{
    d->init(mode);
}

DocumentTree::DocumentTree(const DocumentTree& other)
    : d(std::make_shared<Data>(*other.d))
{
}

DocumentTree& DocumentTree::operator=(const DocumentTree& other)
{
    if (this == &other)
        return *this;
    for (DocumentListener* l : m_listeners)
        l->aboutToReset();
    d = std::make_shared<Data>(*other.d);
    for (DocumentListener* l : m_listeners)
        l->reset();
    return *this;
}

DocumentTree::DocumentTree(DocumentTree&& other) noexcept
    : d(std::move(other.d))
    , m_listeners(std::move(other.m_listeners))
{
    other.m_listeners.clear();
    other.d = std::make_shared<Data>();
    other.d->init(d->mode);
}

DocumentTree& DocumentTree::operator=(DocumentTree&& other) noexcept
{
    if (this == &other)
        return *this;
    for (DocumentListener* l : m_listeners)
        l->aboutToReset();
    std::swap(d, other.d);
    for (DocumentListener* l : m_listeners)
        l->reset();
    for (DocumentListener* l : other.m_listeners)
        l->aboutToReset();
    other.d = std::make_shared<Data>();
    other.d->init(d->mode);
    for (DocumentListener* l : other.m_listeners)
        l->reset();
    return *this;
}

DocumentTree::~DocumentTree() = default;

FoldMode DocumentTree::foldMode() const { return d->mode; }

FoldResult DocumentTree::apply(std::string_view deltaJson, qint64 eventIndex, ChangeDetail detail)
{
    FoldResult result;
    if (detail == ChangeDetail::Full)
        result.changes.changes.reserve(8);
    apply(deltaJson, eventIndex, result, detail);
    return result;
}

namespace detail {
namespace {
// Empties a FoldResult for the next delta, keeping the memory of its vectors unless they grew large.
void resetFoldResult(FoldResult& result)
{
    result.parsed = true;
    result.error.clear();
    result.unchangedValues = 0;
    // Keep the memory of ordinary deltas, not of the one snapshot that touched a million nodes.
    constexpr std::size_t kKeep = 4096;
    if (result.changes.touched.capacity() > kKeep || result.changes.changes.capacity() > kKeep) {
        result.changes = ChangeSet();
    } else {
        result.changes.changes.clear();
        result.changes.touched.clear();
    }
    if (result.anomalies.capacity() > kKeep)
        result.anomalies = std::vector<Anomaly>();
    else
        result.anomalies.clear();
}
} // namespace
} // namespace detail

void DocumentTree::apply(std::string_view deltaJson, qint64 eventIndex, FoldResult& result, ChangeDetail detail)
{
    dom::element root;
    QString error; // written only when the text is not JSON
    ParsedShape shape; // only a ReferenceClient fold looks at it
    if (!parseJson(deltaJson, root, &error, d->mode == FoldMode::ReferenceClient ? &shape : nullptr)) {
        resetFoldResult(result);
        result.parsed = false;
        result.error = error;
        result.anomalies.push_back({ AnomalyKind::InvalidJson, eventIndex, QString(), error });
        return;
    }
    detail::foldParsed(*this, root, eventIndex, result, detail, referenceMayThrow(shape, 1));
}

namespace detail {

void foldParsed(DocumentTree& tree, dom::element delta, qint64 eventIndex, FoldResult& result, DocumentTree::ChangeDetail detail, bool treeJsMayThrow)
{
    resetFoldResult(result);
    ChangeSet* changes = detail == DocumentTree::ChangeDetail::Full ? &result.changes : nullptr;
    const bool reference = tree.foldMode() == FoldMode::ReferenceClient;
    const bool isObject = delta.type() == dom::element_type::OBJECT;
    if (!isObject && !reference) {
        result.error = QStringLiteral("the delta is JSON but not an object; nothing applied");
        result.anomalies.push_back({ AnomalyKind::NotAnObject, eventIndex, QString(), result.error });
        return;
    }
    Mutator mutator(tree, changes, &result.anomalies, eventIndex);
    if (reference && treeJsMayThrow && (isObject || delta.type() == dom::element_type::ARRAY)) {
        // Where tree.js throws part-way, only the part it folded (an array's items as the keys they
        // are to it), its report after those of that part. Parsing it reuses the parser that may
        // hold the delta, whose element is not read again.
        const std::size_t reportedBefore = result.anomalies.size();
        if (const std::optional<std::string> part = mutator.referenceFoldedPart(delta)) {
            const std::size_t throwReports = result.anomalies.size() - reportedBefore;
            dom::element folded;
            QString error;
            if (!parseJson(*part, folded, &error)) {
                // Not expected: the part is JSON written from a parsed delta.
                result.error = QStringLiteral("the part of the delta the reference client folds could not be read back (%1); nothing applied").arg(error);
                result.anomalies.push_back({ AnomalyKind::InvalidJson, eventIndex, QString(), result.error });
                mutator.finish();
                return;
            }
            mutator.mergeObject(mutator.d.rootSlot, folded.get_object().value_unsafe(), true);
            mutator.finish();
            const auto throwAt = result.anomalies.begin() + std::ptrdiff_t(reportedBefore);
            std::rotate(throwAt, throwAt + std::ptrdiff_t(throwReports), result.anomalies.end());
            if (!isObject) {
                // As mergeNonObjectDelta() says it, first.
                result.anomalies.insert(result.anomalies.begin() + std::ptrdiff_t(reportedBefore),
                    Anomaly { AnomalyKind::ReferenceClientDiffers, eventIndex, QString(),
                        QStringLiteral("the delta is an array, not an object; the reference client merges it as an object keyed by index") });
            }
            return;
        }
    }
    if (!isObject)
        mutator.mergeNonObjectDelta(delta);
    else
        mutator.mergeObject(mutator.d.rootSlot, delta.get_object().value_unsafe(), true);
    mutator.finish();
    result.unchangedValues = mutator.unchangedValues();
}

} // namespace detail

void DocumentTree::clear()
{
    for (DocumentListener* l : m_listeners)
        l->aboutToReset();
    const FoldMode mode = d->mode;
    d = std::make_shared<Data>();
    d->init(mode);
    for (DocumentListener* l : m_listeners)
        l->reset();
}

NodeId DocumentTree::root() const { return d->idOf(d->rootSlot); }
bool DocumentTree::contains(NodeId node) const { return d->validId(node) && d->inDocument(quint32(node & 0xffffffffu)); }

NodeKind DocumentTree::kind(NodeId node) const
{
    const quint32 s = d->slotOf(node);
    return s ? d->r(s).kind : NodeKind::Null;
}

NodeId DocumentTree::parent(NodeId node) const
{
    const quint32 s = d->slotOf(node);
    return s ? d->idOf(d->r(s).parent) : kNoNode;
}

int DocumentTree::childCount(NodeId node) const
{
    const quint32 s = d->slotOf(node);
    if (!s || !d->r(s).isContainer())
        return 0;
    return int(d->r(s).visible().size());
}

NodeId DocumentTree::child(NodeId node, int row) const
{
    const quint32 s = d->slotOf(node);
    if (!s || !d->r(s).isContainer() || row < 0)
        return kNoNode;
    const auto& children = d->r(s).visible();
    return std::size_t(row) < children.size() ? d->idOf(children[std::size_t(row)]) : kNoNode;
}

int DocumentTree::row(NodeId node) const
{
    const quint32 s = d->slotOf(node);
    if (!s || s == d->rootSlot)
        return -1;
    const quint32 r = d->rowOf(s);
    return r == kNotVisible ? -1 : int(r);
}

NodeId DocumentTree::childByKey(NodeId node, QStringView key) const
{
    const quint32 s = d->slotOf(node);
    if (!s)
        return kNoNode;
    const Node& n = d->r(s);
    if (!n.isContainer())
        return kNoNode;
    const std::string k = toUtf8(key);
    if (n.kind == NodeKind::RawArray) {
        qint64 index = -1;
        const auto result = std::from_chars(k.data(), k.data() + k.size(), index);
        if (result.ec != std::errc() || result.ptr != k.data() + k.size() || index < 0 || std::size_t(index) >= n.v.c->members.size())
            return kNoNode;
        return d->idOf(n.v.c->members[std::size_t(index)]);
    }
    if (const quint32 m = d->findMember(s, k))
        return d->idOf(m);
    if (n.isList()) {
        // A placeholder or stale value shown in the visible order but absent from the element map.
        for (quint32 o : n.visible()) {
            if ((d->r(o).flags & FlagOrphan) && d->r(o).key == k)
                return d->idOf(o);
        }
    }
    return kNoNode;
}

QString DocumentTree::key(NodeId node) const
{
    const quint32 s = d->slotOf(node);
    if (!s)
        return {};
    const std::string_view k = d->r(s).key;
    return QString::fromUtf8(k.data(), qsizetype(k.size()));
}

bool DocumentTree::boolValue(NodeId node) const
{
    const quint32 s = d->slotOf(node);
    return s && d->r(s).kind == NodeKind::Bool && d->r(s).v.b;
}

qint64 DocumentTree::integerValue(NodeId node) const
{
    const quint32 s = d->slotOf(node);
    if (!s)
        return 0;
    const Node& n = d->r(s);
    if (n.kind == NodeKind::Integer)
        return n.v.i;
    if (n.kind == NodeKind::Double)
        return truncatedInteger(n.v.d);
    if (n.kind == NodeKind::String && (n.flags & FlagLooksLikeLong)) {
        qint64 value = 0;
        const std::string_view text = n.text();
        std::from_chars(text.data(), text.data() + text.size(), value);
        return value;
    }
    return 0;
}

double DocumentTree::doubleValue(NodeId node) const
{
    const quint32 s = d->slotOf(node);
    if (!s)
        return 0;
    const Node& n = d->r(s);
    if (n.kind == NodeKind::Double)
        return n.v.d;
    if (n.kind == NodeKind::Integer)
        return double(n.v.i);
    return 0;
}

QString DocumentTree::stringValue(NodeId node) const
{
    const quint32 s = d->slotOf(node);
    if (!s || d->r(s).kind != NodeKind::String)
        return {};
    const std::string_view text = d->r(s).text();
    return QString::fromUtf8(text.data(), qsizetype(text.size()));
}

bool DocumentTree::looksLikeLong(NodeId node) const
{
    const quint32 s = d->slotOf(node);
    return s && (d->r(s).flags & FlagLooksLikeLong);
}

int DocumentTree::hiddenElementCount(NodeId list) const
{
    const quint32 s = d->slotOf(list);
    if (!s || !d->r(s).isList())
        return 0;
    for (const auto& [slot, count] : d->hiddenCounts) {
        if (slot == s)
            return count;
    }
    int hidden = 0;
    for (quint32 m : d->r(s).v.c->members) {
        if (d->r(m).row == kNotVisible)
            ++hidden;
    }
    if (d->hiddenCounts.size() >= 16)
        d->hiddenCounts.clear();
    d->hiddenCounts.emplace_back(s, hidden);
    return hidden;
}

std::size_t DocumentTree::slotCount() const { return d->used; }

std::size_t DocumentTree::heldNodeCount() const { return d->used - 1 - d->freeSlots.size(); }

std::size_t DocumentTree::nodeCount() const
{
    if (d->visibleCountValid)
        return d->visibleCountCache;
    std::size_t count = 0;
    std::vector<quint32> stack { d->rootSlot };
    while (!stack.empty()) {
        const quint32 s = stack.back();
        stack.pop_back();
        ++count;
        const Node& n = d->r(s);
        if (n.isContainer()) {
            const auto& children = n.visible();
            stack.insert(stack.end(), children.begin(), children.end());
        }
    }
    d->visibleCountCache = count;
    d->visibleCountValid = true;
    return count;
}

QString DocumentTree::path(NodeId node) const
{
    const quint32 s = d->slotOf(node);
    return s ? pathOf(*d, s) : QString();
}

NodeId DocumentTree::find(QStringView path) const
{
    NodeId node = root();
    if (path.isEmpty())
        return node;
    for (QStringView segment : path.split(QLatin1Char('/'))) {
        if (segment.contains(QLatin1Char('~'))) {
            QString unescaped = segment.toString();
            unescaped.replace(QLatin1String("~1"), QLatin1String("/"));
            unescaped.replace(QLatin1String("~0"), QLatin1String("~"));
            node = childByKey(node, unescaped);
        } else {
            node = childByKey(node, segment);
        }
        if (node == kNoNode)
            return kNoNode;
    }
    return node;
}

qint64 DocumentTree::createdBy(NodeId node) const
{
    const quint32 s = d->slotOf(node);
    return s ? d->r(s).createdBy() : -1;
}

qint64 DocumentTree::lastChangedBy(NodeId node) const
{
    const quint32 s = d->slotOf(node);
    return s ? d->r(s).lastChangedBy() : -1;
}

ProvenanceHistory DocumentTree::history(NodeId node) const
{
    ProvenanceHistory h;
    const quint32 s = d->slotOf(node);
    if (!s)
        return h;
    const Node& n = d->r(s);
    if (const History* hist = n.history()) {
        h.totalCount = hist->total;
        for (unsigned i = 0; i < hist->count(); ++i)
            h.recentEvents.push_back(hist->ring[(hist->start() + i) & History::kMask]);
    } else {
        h.recentEvents.push_back(n.createdBy());
        if (n.lastChangedBy() != n.createdBy())
            h.recentEvents.push_back(n.lastChangedBy());
        h.totalCount = h.recentEvents.size();
    }
    return h;
}

QByteArray DocumentTree::toJson(bool pretty) const { return toJson(root(), pretty); }

QByteArray DocumentTree::toJson(NodeId subtree, bool pretty) const
{
    const quint32 s = d->slotOf(subtree);
    if (!s)
        return {};
    std::string out;
    // A ReferenceClient tree exports what that client's copy() shows.
    appendVisibleJson(*d, s, out, pretty, 0, d->mode == FoldMode::ReferenceClient);
    return QByteArray(out.data(), qsizetype(out.size()));
}

bool DocumentTree::fromJson(std::string_view json, DocumentTree& out, QString* error)
{
    dom::element root;
    QString message;
    if (!parseJson(json, root, &message)) {
        if (error)
            *error = message;
        return false;
    }
    if (root.type() != dom::element_type::OBJECT) {
        if (error)
            *error = QStringLiteral("a document must be a JSON object (at byte 0)");
        return false;
    }
    out.clear();
    Mutator mutator(out, nullptr, nullptr, -1);
    const dom::object object = root.get_object().value_unsafe();
    for (dom::key_value_pair field : object)
        mutator.editRawJson(out.d->rootSlot, field.key, field.value);
    return true;
}

// --- editing -------------------------------------------------------------------------------------

NodeId DocumentTree::setObject(NodeId parent, QStringView key)
{
    const quint32 p = d->slotOf(parent);
    if (!p)
        return kNoNode;
    Mutator m(*this, nullptr, nullptr, -1);
    return d->idOf(m.editSlot(p, toUtf8(key), NodeKind::Object));
}

NodeId DocumentTree::setRecordList(NodeId parent, QStringView key)
{
    const quint32 p = d->slotOf(parent);
    if (!p)
        return kNoNode;
    Mutator m(*this, nullptr, nullptr, -1);
    return d->idOf(m.editSlot(p, toUtf8(key), NodeKind::RecordList));
}

NodeId DocumentTree::setValueList(NodeId parent, QStringView key)
{
    const quint32 p = d->slotOf(parent);
    if (!p)
        return kNoNode;
    Mutator m(*this, nullptr, nullptr, -1);
    return d->idOf(m.editSlot(p, toUtf8(key), NodeKind::ValueList));
}

namespace {
void editScalar(DocumentTree& tree, DocumentTree::Data& d, NodeId parent, QStringView key, const Scalar& value)
{
    const quint32 p = d.slotOf(parent);
    if (!p)
        return;
    Mutator m(tree, nullptr, nullptr, -1);
    m.editScalar(p, toUtf8(key), value);
}
}

void DocumentTree::setNull(NodeId parent, QStringView key) { editScalar(*this, *d, parent, key, Scalar {}); }

void DocumentTree::setBool(NodeId parent, QStringView key, bool value)
{
    Scalar s;
    s.kind = NodeKind::Bool;
    s.b = value;
    editScalar(*this, *d, parent, key, s);
}

void DocumentTree::setInteger(NodeId parent, QStringView key, qint64 value)
{
    Scalar s;
    s.kind = NodeKind::Integer;
    s.i = value;
    editScalar(*this, *d, parent, key, s);
}

void DocumentTree::setDouble(NodeId parent, QStringView key, double value)
{
    Scalar s;
    s.kind = NodeKind::Double;
    s.d = value;
    editScalar(*this, *d, parent, key, s);
}

void DocumentTree::setString(NodeId parent, QStringView key, QStringView value)
{
    const std::string text = toUtf8(value);
    Scalar s;
    s.kind = NodeKind::String;
    s.s = text;
    editScalar(*this, *d, parent, key, s);
}

void DocumentTree::setRawJson(NodeId parent, QStringView key, std::string_view json)
{
    const quint32 p = d->slotOf(parent);
    if (!p)
        return;
    dom::element value;
    if (!parseJson(json, value, nullptr))
        return;
    Mutator m(*this, nullptr, nullptr, -1);
    m.editRawJson(p, toUtf8(key), value);
}

void DocumentTree::remove(NodeId parent, QStringView key)
{
    const quint32 p = d->slotOf(parent);
    if (!p)
        return;
    Mutator m(*this, nullptr, nullptr, -1);
    m.editRemove(p, toUtf8(key));
}

NodeId DocumentTree::setElementObject(NodeId list, QStringView id)
{
    const quint32 p = d->slotOf(list);
    if (!p || !d->r(p).isList())
        return kNoNode;
    Mutator m(*this, nullptr, nullptr, -1);
    return d->idOf(m.editSlot(p, toUtf8(id), NodeKind::Object));
}

void DocumentTree::removeElement(NodeId list, QStringView id)
{
    const quint32 p = d->slotOf(list);
    if (!p || !d->r(p).isList())
        return;
    Mutator m(*this, nullptr, nullptr, -1);
    m.editRemove(p, toUtf8(id));
}

void DocumentTree::setOrder(NodeId list, const QStringList& ids)
{
    const quint32 p = d->slotOf(list);
    if (!p || d->r(p).kind != NodeKind::RecordList)
        return;
    std::vector<quint32> order;
    order.reserve(std::size_t(ids.size()));
    for (const QString& id : ids) {
        if (const quint32 s = d->findMember(p, toUtf8(id)))
            order.push_back(s);
    }
    Mutator m(*this, nullptr, nullptr, -1);
    m.editOrder(p, order);
}

QStringList DocumentTree::order(NodeId list) const
{
    QStringList ids;
    const quint32 s = d->slotOf(list);
    if (!s || !d->r(s).isList())
        return ids;
    for (quint32 e : d->r(s).visible()) {
        const std::string_view k = d->r(e).key;
        ids.append(QString::fromUtf8(k.data(), qsizetype(k.size())));
    }
    return ids;
}

void DocumentTree::resizeValueList(NodeId list, int size)
{
    const quint32 p = d->slotOf(list);
    if (!p || d->r(p).kind != NodeKind::ValueList || size < 0)
        return;
    Mutator m(*this, nullptr, nullptr, -1);
    m.editResize(p, std::size_t(size));
}

void DocumentTree::addListener(DocumentListener* listener)
{
    if (listener && std::find(m_listeners.begin(), m_listeners.end(), listener) == m_listeners.end())
        m_listeners.push_back(listener);
}

void DocumentTree::removeListener(DocumentListener* listener)
{
    m_listeners.erase(std::remove(m_listeners.begin(), m_listeners.end(), listener), m_listeners.end());
}

}
