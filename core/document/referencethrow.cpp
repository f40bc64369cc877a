// ReferenceClient mode: the deltas part-way through which tree.js throws, and the part it folds first.
//
// tree.js folds a list delta in three phases: each element key in turn (scalars stored, new element
// objects made empty, merges and deletions put off), then the new order (`@o`, or `@s`), then the
// merges and deletions it put off, in JavaScript's key order. Two things throw a TypeError part-way:
// merging an element delta that holds an object into a scalar element (`key in scalar`), and a null
// entry in `@o` (`instr[0]`). The exception leaves update() at once: what was folded stays, the rest
// of the delta is lost, at every level. So the fold finds the first such throw in the order tree.js
// meets it and folds, instead of the delta, the part tree.js folded before it.

#include "core/document/mutator.h"
#include "core/jsonstring.h"

#include <algorithm>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

namespace deltascope::detail {

namespace dom = simdjson::dom;

namespace {

bool isScalarKind(NodeKind kind) { return !isContainerKind(kind); } // null included: `key in null` throws too
bool isArrayLike(NodeKind kind) { return isListKind(kind) || kind == NodeKind::RawArray; }
bool isMarkerKey(std::string_view key) { return key == "@o" || key == "@s"; }

// Calls `visit(key, value)` for each member of `delta` (an object's fields; an array's items,
// keyed by index as tree.js's `for (key in array)` sees them) until it returns true.
template<typename Visit>
bool anyMember(dom::element delta, Visit visit)
{
    if (delta.type() == dom::element_type::ARRAY) {
        std::size_t index = 0;
        const dom::array items = delta.get_array().value_unsafe();
        for (dom::element item : items) {
            if (visit(std::to_string(index++), item))
                return true;
        }
        return false;
    }
    const dom::object members = delta.get_object().value_unsafe();
    for (dom::key_value_pair field : members) {
        if (visit(field.key, field.value))
            return true;
    }
    return false;
}

// Whether merging `delta` (an object, or an array read as one) into a scalar throws: some member
// holds an object that is not an array. A repeated key counts with its last value, the one
// JSON.parse keeps.
bool holdsObject(dom::element delta)
{
    if (delta.type() == dom::element_type::ARRAY) {
        const dom::array items = delta.get_array().value_unsafe();
        for (dom::element item : items) {
            if (item.type() == dom::element_type::OBJECT)
                return true;
        }
        return false;
    }
    if (delta.type() != dom::element_type::OBJECT)
        return false;
    // Only on the way to a scalar element, so the map is rarely made.
    std::unordered_map<std::string_view, bool> lastIsObject;
    const dom::object members = delta.get_object().value_unsafe();
    for (dom::key_value_pair field : members)
        lastIsObject[field.key] = field.value.type() == dom::element_type::OBJECT;
    return std::any_of(lastIsObject.begin(), lastIsObject.end(), [](const auto& entry) { return entry.second; });
}

// Whether `delta` (an object or an array) has an object among its values, repeated keys' included:
// an element delta without one throws nowhere, so the element is not even looked up.
bool anyObjectInside(dom::element delta)
{
    if (delta.type() == dom::element_type::ARRAY) {
        const dom::array items = delta.get_array().value_unsafe();
        return std::any_of(items.begin(), items.end(), [](dom::element item) { return item.type() == dom::element_type::OBJECT; });
    }
    if (delta.type() != dom::element_type::OBJECT)
        return false;
    const dom::object members = delta.get_object().value_unsafe();
    for (dom::key_value_pair field : members) {
        if (field.value.type() == dom::element_type::OBJECT)
            return true;
    }
    return false;
}

// Whether tree.js throws within `delta` merged into an object it makes new (or an array read as
// one): nothing there is a scalar to throw on, but a list delta whose @o holds null throws all the
// same, at any depth a merge reaches.
bool throwsInNew(dom::element delta);

// `@o` that tree.js reads an entry of as a range and fails on: an array with a null entry.
bool orderHasNull(const ListMarkers& markers)
{
    if (!markers.order || markers.orderValue.type() != dom::element_type::ARRAY)
        return false;
    const dom::array items = markers.orderValue.get_array().value_unsafe();
    for (dom::element item : items) {
        if (item.is_null())
            return true;
    }
    return false;
}

// A delta object in one pass: its list markers (the last of a repeated one, as JSON.parse keeps),
// and whether a field other than them holds an object or an array, below which a throw can be.
struct DeltaShape {
    ListMarkers markers;
    bool container = false;
};

DeltaShape shapeOf(dom::object delta)
{
    DeltaShape shape;
    for (dom::key_value_pair field : delta) {
        if (isMarkerKey(field.key)) {
            if (field.key[1] == 'o') {
                shape.markers.order = true;
                shape.markers.orderValue = field.value;
            } else {
                shape.markers.size = true;
                shape.markers.sizeValue = field.value;
            }
            continue;
        }
        const dom::element_type type = field.value.type();
        shape.container = shape.container || type == dom::element_type::OBJECT || type == dom::element_type::ARRAY;
    }
    return shape;
}

bool throwsInNew(dom::element delta)
{
    return anyMember(delta, [](std::string_view, dom::element value) {
        if (value.type() != dom::element_type::OBJECT)
            return false; // an array or a scalar is stored, not merged
        const DeltaShape shape = shapeOf(value.get_object().value_unsafe());
        if (!shape.markers.order && !shape.markers.size)
            return throwsInNew(value);
        if (orderHasNull(shape.markers))
            return true;
        // A new list: each element delta that is an object or an array merges into a new element.
        const dom::object elements = value.get_object().value_unsafe();
        for (dom::key_value_pair element : elements) {
            const dom::element_type type = element.value.type();
            if (!isMarkerKey(element.key) && (type == dom::element_type::OBJECT || type == dom::element_type::ARRAY)
                && throwsInNew(element.value))
                return true;
        }
        return false;
    });
}

// A JavaScript array index ("0", "17"; below 2^32 - 1, no leading zero): such keys come first in
// `for (key in object)`, in numeric order.
std::optional<quint32> arrayIndex(std::string_view key)
{
    if (key.empty() || key.size() > 10 || (key[0] == '0' && key.size() > 1))
        return std::nullopt;
    quint64 value = 0;
    for (char c : key) {
        if (c < '0' || c > '9')
            return std::nullopt;
        value = value * 10 + quint64(c - '0');
    }
    if (value >= 0xffffffffull)
        return std::nullopt;
    return quint32(value);
}

struct Field {
    std::string key;
    dom::element value;
};

// The fields of `delta` (an object, or an array's items keyed by index) as JavaScript visits those
// of its JSON.parse result: one per key (a repeated key keeps its first place and its last value),
// array indexes first.
std::vector<Field> fieldsInJavaScriptOrder(dom::element delta)
{
    std::vector<Field> fields;
    if (delta.type() == dom::element_type::ARRAY) {
        const dom::array items = delta.get_array().value_unsafe();
        for (dom::element item : items)
            fields.push_back({ std::to_string(fields.size()), item });
        return fields;
    }
    std::unordered_map<std::string_view, std::size_t> seen;
    const dom::object members = delta.get_object().value_unsafe();
    for (dom::key_value_pair field : members) {
        if (const auto [at, added] = seen.emplace(field.key, fields.size()); !added) {
            fields[at->second].value = field.value;
            continue;
        }
        fields.push_back({ std::string(field.key), field.value });
    }
    std::stable_sort(fields.begin(), fields.end(), [](const Field& a, const Field& b) {
        const std::optional<quint32> ia = arrayIndex(a.key);
        const std::optional<quint32> ib = arrayIndex(b.key);
        if (ia && ib)
            return *ia < *ib;
        return ia.has_value() && !ib.has_value();
    });
    return fields;
}

void appendField(std::string& out, bool& first, std::string_view key)
{
    if (!first)
        out += ',';
    first = false;
    appendJsonString(out, key);
    out += ':';
}

} // namespace

std::optional<std::string> Mutator::referenceFoldedPart(dom::element delta)
{
    if (!referenceThrowsIn(d.rootSlot, delta))
        return std::nullopt;
    // The walk above looks at every value, repeated keys' shadowed ones too; the part is written
    // from what JSON.parse keeps, where the throw may not be after all.
    std::string part;
    m_throwPath = { d.rootSlot, {} };
    if (!writeUntilReferenceThrow(d.rootSlot, delta, part))
        return std::nullopt;
    return part;
}

quint32 Mutator::referenceElementMap(quint32 object, std::string_view key, quint32 prior)
{
    if (prior && isListKind(d.r(prior).kind))
        return prior;
    if (!object)
        return 0;
    const auto kept = keptElementMapEntry(object, key);
    return kept == d.stashedElementMaps.end() ? 0 : kept->holder;
}

bool Mutator::referenceThrowsIn(quint32 object, dom::element delta)
{
    // An object tree.js makes new (0, or in place of a scalar) holds no scalar to throw on.
    if (!object || d.r(object).kind != NodeKind::Object)
        return throwsInNew(delta);
    return anyMember(delta, [&](std::string_view key, dom::element value) {
        // Nothing below throws unless a field holds an object or an array (an element delta, a
        // member merged further down) or this is a list delta whose @o holds null: most members
        // are passed over without a lookup.
        if (value.type() != dom::element_type::OBJECT)
            return false;
        const DeltaShape shape = shapeOf(value.get_object().value_unsafe());
        if (!shape.container && !orderHasNull(shape.markers))
            return false;
        const quint32 prior = d.findMember(object, key);
        if ((prior && isArrayLike(d.r(prior).kind)) || shape.markers.order || shape.markers.size)
            return referenceListThrows(object, key, prior, value, shape.markers);
        return referenceThrowsIn(prior, value);
    });
}

bool Mutator::referenceListThrows(quint32 object, std::string_view key, quint32 prior, dom::element delta, const ListMarkers& markers)
{
    if (orderHasNull(markers))
        return true;
    const quint32 elements = referenceElementMap(object, key, prior);
    const dom::object members = delta.get_object().value_unsafe();
    for (dom::key_value_pair field : members) {
        if (isMarkerKey(field.key) || !anyObjectInside(field.value))
            continue;
        const quint32 element = elements ? d.findMember(elements, field.key) : 0;
        const NodeKind kind = element ? d.r(element).kind : NodeKind::Object;
        if (element && isScalarKind(kind) ? holdsObject(field.value) : kind == NodeKind::Object ? referenceThrowsIn(element, field.value) : throwsInNew(field.value))
            return true;
    }
    return false;
}

Mutator::ThrowPath Mutator::throwPathBelow(quint32 node, std::string_view key) const
{
    // By node while the walk is on nodes that stay (objects, lists); by key below the last of them.
    if (m_throwPath.below.empty() && node && (d.r(node).kind == NodeKind::Object || isListKind(d.r(node).kind)))
        return { node, {} };
    ThrowPath path = m_throwPath;
    path.below.emplace_back(key);
    return path;
}

void Mutator::reportReferenceThrow(AnomalyKind kind, std::string_view child, const QString& message)
{
    if (!m_anomalies)
        return;
    QString path = pathOf(d, m_throwPath.at);
    const auto append = [&](std::string_view segment) {
        if (!path.isEmpty())
            path += QLatin1Char('/');
        path += escapeSegment(segment);
    };
    for (const std::string& segment : m_throwPath.below)
        append(segment);
    if (!child.empty())
        append(child);
    m_anomalies->push_back(Anomaly { kind, m_event, std::move(path), message });
}

bool Mutator::isReferenceThrowStand(quint32 object, std::string_view key) const
{
    return std::any_of(m_throwStands.begin(), m_throwStands.end(), [&](const auto& stand) { return stand.first == object && stand.second == key; });
}

bool Mutator::writeUntilReferenceThrow(quint32 object, dom::element delta, std::string& out)
{
    // A scalar tree.js replaces with a new object, like a missing one: 0.
    if (object && d.r(object).kind != NodeKind::Object)
        object = 0;
    out += '{';
    bool first = true;
    const std::vector<Field> fields = fieldsInJavaScriptOrder(delta);
    for (const Field& field : fields) {
        appendField(out, first, field.key);
        if (field.value.type() != dom::element_type::OBJECT) {
            out += simdjson::to_string(field.value);
            continue;
        }
        const quint32 prior = object ? d.findMember(object, field.key) : 0;
        const ListMarkers markers = listMarkers(field.value.get_object().value_unsafe());
        const ThrowPath saved = std::exchange(m_throwPath, throwPathBelow(prior, field.key));
        const bool threw = (prior && isArrayLike(d.r(prior).kind)) || markers.order || markers.size
            ? writeListUntilReferenceThrow(object, field.key, prior, field.value, markers, out)
            : writeUntilReferenceThrow(prior, field.value, out);
        if (threw) {
            out += '}';
            return true;
        }
        m_throwPath = saved;
    }
    out += '}';
    return false;
}

bool Mutator::writeListUntilReferenceThrow(quint32 object, std::string_view key, quint32 prior, dom::element delta, const ListMarkers& markers,
    std::string& out)
{
    const quint32 elements = referenceElementMap(object, key, prior);
    const std::vector<Field> fields = fieldsInJavaScriptOrder(delta);
    const auto elementOf = [&](const Field& field) { return elements ? d.findMember(elements, field.key) : quint32(0); };
    const auto isDeferred = [](const Field& field) {
        const dom::element_type type = field.value.type();
        return type == dom::element_type::OBJECT || type == dom::element_type::ARRAY || type == dom::element_type::NULL_VALUE;
    };
    // What tree.js still does once it threw at `thrownAt` (the fields' index; all of them for a throw
    // in the order): the new element objects of the first phase, made empty, and nothing else.
    const auto writeNewAfter = [&](std::size_t thrownAt, bool& firstField) {
        for (std::size_t i = thrownAt; i < fields.size(); ++i) {
            const dom::element_type type = fields[i].value.type();
            if (!isMarkerKey(fields[i].key) && (type == dom::element_type::OBJECT || type == dom::element_type::ARRAY) && !elementOf(fields[i])) {
                appendField(out, firstField, fields[i].key);
                out += "{}";
            }
        }
        out += '}';
    };

    out += '{';
    bool first = true;
    if (orderHasNull(markers)) {
        reportReferenceThrow(AnomalyKind::BadListInstruction, "@o", QStringLiteral("@o entry is neither an id nor a range"));
        reportReferenceThrow(AnomalyKind::ReferenceClientDiffers, {},
            QStringLiteral("@o holds null: the reference client throws a TypeError reading it as a range (instr[0]) and folds nothing more of this "
                           "delta, neither the new order nor the element deltas it put off, keeping what it folded before; this fold stops there too"));
        // A list keeps its order. A missing key becomes an empty list, as tree.js makes it. Any
        // other value stays and its elements are filed aside, as `"@o":null` folds (which is then
        // not reported as if the delta said so).
        if (!prior) {
            appendField(out, first, "@o");
            out += "[]";
        } else if (!isListKind(d.r(prior).kind)) {
            appendField(out, first, "@o");
            out += "null";
            m_throwStands.emplace_back(object, std::string(key));
        }
        for (const Field& field : fields) {
            if (!isMarkerKey(field.key) && !isDeferred(field)) {
                appendField(out, first, field.key);
                out += simdjson::to_string(field.value);
            }
        }
        writeNewAfter(0, first);
        return true;
    }
    // The first phase and the order, whole; then the deferred merges and deletions, in order.
    for (const Field& field : fields) {
        if (isMarkerKey(field.key) || !isDeferred(field)) {
            appendField(out, first, field.key);
            out += simdjson::to_string(field.value);
        }
    }
    for (std::size_t i = 0; i < fields.size(); ++i) {
        const Field& field = fields[i];
        if (isMarkerKey(field.key) || !isDeferred(field))
            continue;
        const quint32 element = field.value.is_null() ? 0 : elementOf(field);
        if (element && isScalarKind(d.r(element).kind) && holdsObject(field.value)) {
            reportReferenceThrow(AnomalyKind::ReferenceClientDiffers, field.key,
                QStringLiteral("an object delta holding an object for the %1 element: the reference client throws a TypeError here (the in operator "
                               "on a scalar) and folds nothing more of this delta, keeping what it folded before; this fold stops there too")
                    .arg(nodeKindName(d.r(element).kind)));
            writeNewAfter(i + 1, first);
            return true;
        }
        appendField(out, first, field.key);
        if (!field.value.is_null() && (!element || d.r(element).kind == NodeKind::Object)) {
            // A new element (made empty) or an object element: merged, and it may throw further down.
            const ThrowPath saved = std::exchange(m_throwPath, throwPathBelow(element, field.key));
            if (writeUntilReferenceThrow(element, field.value, out)) {
                writeNewAfter(i + 1, first);
                return true;
            }
            m_throwPath = saved;
            continue;
        }
        out += simdjson::to_string(field.value);
    }
    out += '}';
    return false;
}

}
