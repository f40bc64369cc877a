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

#include <algorithm>
#include <cstdio>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

namespace deltascope::detail {

namespace dom = simdjson::dom;

namespace {

bool isScalarKind(NodeKind kind) { return !isContainerKind(kind); } // null included: `key in null` throws too
bool isArrayLike(NodeKind kind) { return isListKind(kind) || kind == NodeKind::RawArray; }

// Whether merging `delta` (an object, or an array read as one) into a scalar throws: some member
// holds an object that is not an array.
bool holdsObject(dom::element delta)
{
    if (delta.type() == dom::element_type::OBJECT) {
        const dom::object members = delta.get_object().value_unsafe();
        for (dom::key_value_pair field : members) {
            if (field.value.type() == dom::element_type::OBJECT)
                return true;
        }
    } else if (delta.type() == dom::element_type::ARRAY) {
        const dom::array items = delta.get_array().value_unsafe();
        for (dom::element item : items) {
            if (item.type() == dom::element_type::OBJECT)
                return true;
        }
    }
    return false;
}

// Whether a delta object has a field holding an object or an array.
bool holdsContainer(dom::element delta)
{
    const dom::object members = delta.get_object().value_unsafe();
    for (dom::key_value_pair field : members) {
        if (field.value.type() == dom::element_type::OBJECT || field.value.type() == dom::element_type::ARRAY)
            return true;
    }
    return false;
}

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

bool isMarkerKey(std::string_view key) { return key == "@o" || key == "@s"; }

// Whether a delta object has an "@o" (any of them, if repeated) holding a null entry.
bool orderFieldHasNull(dom::element delta)
{
    const dom::object members = delta.get_object().value_unsafe();
    for (dom::key_value_pair field : members) {
        if (field.key == "@o" && field.value.type() == dom::element_type::ARRAY) {
            const dom::array items = field.value.get_array().value_unsafe();
            for (dom::element item : items) {
                if (item.is_null())
                    return true;
            }
        }
    }
    return false;
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

void appendJsonString(std::string& out, std::string_view text)
{
    out += '"';
    for (char c : text) {
        if (c == '"' || c == '\\') {
            out += '\\';
            out += c;
        } else if (static_cast<unsigned char>(c) < 0x20) {
            char escaped[8];
            std::snprintf(escaped, sizeof escaped, "\\u%04x", unsigned(c));
            out += escaped;
        } else {
            out += c;
        }
    }
    out += '"';
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
    std::string part;
    writeUntilReferenceThrow(d.rootSlot, delta, part);
    return part;
}

quint32 Mutator::referenceElementMap(quint32 object, std::string_view key, quint32 prior)
{
    if (prior && isListKind(d.r(prior).kind))
        return prior;
    const auto kept = keptElementMapEntry(object, key);
    return kept == d.stashedElementMaps.end() ? 0 : kept->holder;
}

bool Mutator::referenceThrowsIn(quint32 object, dom::element delta)
{
    // A new object (0) holds nothing to throw on, nor does anything made within it.
    if (!object || d.r(object).kind != NodeKind::Object)
        return false;
    const auto member = [&](std::string_view key, dom::element value) {
        // Nothing below throws unless a field holds an object or an array (an element delta, a
        // member merged further down) or this is a list delta whose @o holds null: most members
        // are passed over without a lookup.
        if (value.type() != dom::element_type::OBJECT || !(holdsContainer(value) || orderFieldHasNull(value)))
            return false;
        const dom::object o = value.get_object().value_unsafe();
        const quint32 prior = d.findMember(object, key);
        const ListMarkers markers = listMarkers(o);
        if ((prior && isArrayLike(d.r(prior).kind)) || markers.order || markers.size)
            return referenceListThrows(object, key, prior, value, markers);
        return prior && referenceThrowsIn(prior, value);
    };
    if (delta.type() == dom::element_type::ARRAY) {
        std::size_t index = 0;
        const dom::array items = delta.get_array().value_unsafe();
        for (dom::element item : items) {
            if (member(std::to_string(index++), item))
                return true;
        }
        return false;
    }
    const dom::object members = delta.get_object().value_unsafe();
    for (dom::key_value_pair field : members) {
        if (member(field.key, field.value))
            return true;
    }
    return false;
}

bool Mutator::referenceListThrows(quint32 object, std::string_view key, quint32 prior, dom::element delta, const ListMarkers& markers)
{
    if (orderHasNull(markers))
        return true;
    const quint32 elements = referenceElementMap(object, key, prior);
    if (!elements)
        return false;
    const dom::object members = delta.get_object().value_unsafe();
    for (dom::key_value_pair field : members) {
        // An element delta throws, on a scalar or further down, only if it holds an object.
        if (isMarkerKey(field.key) || !holdsObject(field.value))
            continue;
        const quint32 element = d.findMember(elements, field.key);
        if (!element)
            continue;
        if (isScalarKind(d.r(element).kind) ? holdsObject(field.value) : referenceThrowsIn(element, field.value))
            return true;
    }
    return false;
}

bool Mutator::writeUntilReferenceThrow(quint32 object, dom::element delta, std::string& out)
{
    out += '{';
    bool first = true;
    for (const Field& field : fieldsInJavaScriptOrder(delta)) {
        appendField(out, first, field.key);
        if (field.value.type() == dom::element_type::OBJECT && object) {
            const dom::object o = field.value.get_object().value_unsafe();
            const quint32 prior = d.findMember(object, field.key);
            const ListMarkers markers = listMarkers(o);
            if ((prior && isArrayLike(d.r(prior).kind)) || markers.order || markers.size) {
                if (writeListUntilReferenceThrow(object, field.key, prior, field.value, markers, out)) {
                    out += '}';
                    return true;
                }
                continue;
            }
            if (prior && d.r(prior).kind == NodeKind::Object) {
                if (writeUntilReferenceThrow(prior, field.value, out)) {
                    out += '}';
                    return true;
                }
                continue;
            }
        }
        out += simdjson::to_string(field.value);
    }
    out += '}';
    return false;
}

bool Mutator::writeListUntilReferenceThrow(quint32 object, std::string_view key, quint32 prior, dom::element delta, const ListMarkers& markers,
    std::string& out)
{
    const quint32 elements = referenceElementMap(object, key, prior);
    const std::vector<Field> fields = fieldsInJavaScriptOrder(delta);
    const auto isNew = [&](const Field& field) { return !elements || !d.findMember(elements, field.key); };
    const auto isDeferred = [](const Field& field) {
        const dom::element_type type = field.value.type();
        return type == dom::element_type::OBJECT || type == dom::element_type::ARRAY || type == dom::element_type::NULL_VALUE;
    };
    const auto listSlot = prior && isListKind(d.r(prior).kind) ? prior : object;
    const std::string_view listChild = listSlot == object ? key : std::string_view();
    // What tree.js still does once it threw at `thrownAt` (the fields' index; all of them for a throw
    // in the order): the new element objects of the first phase, made empty, and nothing else.
    const auto writeNewAfter = [&](std::size_t thrownAt, bool& firstField) {
        for (std::size_t i = thrownAt; i < fields.size(); ++i) {
            const dom::element_type type = fields[i].value.type();
            if (!isMarkerKey(fields[i].key) && (type == dom::element_type::OBJECT || type == dom::element_type::ARRAY) && isNew(fields[i])) {
                appendField(out, firstField, fields[i].key);
                out += "{}";
            }
        }
        out += '}';
    };

    out += '{';
    bool first = true;
    if (orderHasNull(markers)) {
        anomaly(AnomalyKind::ReferenceClientDiffers, listSlot, listChild,
            QStringLiteral("@o holds null: the reference client throws a TypeError reading it as a range (instr[0]) and folds nothing more of this "
                           "delta, neither the new order nor the element deltas it put off, keeping what it folded before; this fold stops there too"));
        // A list keeps its order; anything else keeps its value and files the elements aside, as
        // `"@o":null` folds (a missing key becomes an empty list, as tree.js makes it).
        if (!(prior && isListKind(d.r(prior).kind))) {
            appendField(out, first, "@o");
            out += "null";
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
        const quint32 element = field.value.is_null() || !elements ? 0 : d.findMember(elements, field.key);
        if (element && isScalarKind(d.r(element).kind) && holdsObject(field.value)) {
            anomaly(AnomalyKind::ReferenceClientDiffers, listSlot, listChild.empty() ? std::string_view(field.key) : listChild,
                QStringLiteral("an object delta holding an object for the %1 element \"%2\": the reference client throws a TypeError here (the in "
                               "operator on a scalar) and folds nothing more of this delta, keeping what it folded before; this fold stops there too")
                    .arg(nodeKindName(d.r(element).kind), QString::fromUtf8(field.key.data(), qsizetype(field.key.size()))));
            writeNewAfter(i + 1, first);
            return true;
        }
        appendField(out, first, field.key);
        if (element && d.r(element).kind == NodeKind::Object) {
            if (writeUntilReferenceThrow(element, field.value, out)) {
                writeNewAfter(i + 1, first);
                return true;
            }
            continue;
        }
        out += simdjson::to_string(field.value);
    }
    out += '}';
    return false;
}

}
