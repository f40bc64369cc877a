#pragma once

// A direct parse of well-formed JSON into simdjson's DOM tape, for the fold's small deltas.
//
// simdjson's two stages pay a fixed cost per parse that dominates on the fold's typical 100 to 300
// byte deltas (about a third of a delta's fold). This parser writes, in one pass, the very tape
// simdjson's DOM parser would write for the same text (same words, same string buffer layout), so
// everything downstream reads simdjson elements as before. It takes only text it can parse exactly
// and leaves everything else to simdjson, which then also produces every error message:
// - it returns false at the first byte it does not accept, having possibly written part of a tape;
// - it never accepts text simdjson refuses, and never builds a tape simdjson would build otherwise.
// tst_jsontape compares the two tapes word for word over generated and mutated inputs.

#include <simdjson.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>
#include <type_traits>

namespace deltascope::detail {

// How deep containers may nest: every container counts, the root and empty ones included (simdjson
// counts only those with content), so nothing deeper than simdjson's own limit is ever taken.
inline constexpr int kJsonTapeMaxDepth = 64;

// The tape layout and buffer bounds written here are those of simdjson 3.0 (checked word for word by
// tst_jsontape). Another simdjson gets no direct parse, until re-verified and added here.
inline constexpr bool kJsonTapeLayoutVerified = simdjson::SIMDJSON_VERSION_MAJOR == 3 && simdjson::SIMDJSON_VERSION_MINOR == 0;

// Where a parsed object is on its document's tape. simdjson keeps it private (a tape_ref: the
// document, then the index), so it is read from the object's bytes, and an element made from one
// the same way; tst_jsontape checks both against simdjson's own reading, on tapes written here and
// by simdjson.
struct TapePosition {
    const simdjson::dom::document* document;
    std::size_t index;
};
inline constexpr bool kTapePositionReadable = kJsonTapeLayoutVerified && sizeof(simdjson::dom::object) == sizeof(TapePosition)
    && sizeof(simdjson::dom::element) == sizeof(TapePosition) && std::is_trivially_copyable_v<simdjson::dom::object>
    && std::is_trivially_copyable_v<simdjson::dom::element>;
inline TapePosition tapePositionOf(simdjson::dom::object object)
{
    TapePosition position {};
    if constexpr (kTapePositionReadable)
        std::memcpy(&position, &object, sizeof position);
    return position;
}
inline simdjson::dom::element elementAt(TapePosition position)
{
    simdjson::dom::element element;
    if constexpr (kTapePositionReadable)
        std::memcpy(static_cast<void*>(&element), &position, sizeof position); // trivially copyable, with a constructor of its own
    return element;
}

// How many tape words a value takes, by its type word's top byte: two for a number, one for a string
// or a literal, 0 for a container (its opening word says where it ends).
inline constexpr auto kTapeValueWords = [] {
    std::array<std::uint8_t, 256> words {};
    words['"'] = words['t'] = words['f'] = words['n'] = 1;
    words['l'] = words['u'] = words['d'] = 2;
    return words;
}();

// Calls found(which, value) for each key "@o" or "@s" of the object, in order (which: 'o' or 's'),
// reading the tape without simdjson's iterator, which spends more on each field than this whole
// test: the fold asks it of every object it merges into a list, and most hold neither key. Only
// where kTapePositionReadable.
template<typename Found>
inline void forEachListMarkerKey(simdjson::dom::object object, Found found)
{
    if constexpr (!kTapePositionReadable)
        return;
    const auto [document, index] = tapePositionOf(object);
    const std::uint64_t* const tape = document->tape.get();
    const std::uint8_t* const strings = document->string_buf.get();
    // The opening word's low 32 bits: one past the closing word. Each key is a string word; its value
    // is one word, two for a number, or a container that ends where its opening word says.
    const std::size_t end = std::size_t(std::uint32_t(tape[index])) - 1;
    for (std::size_t i = index + 1; i < end;) {
        const std::uint8_t* const key = strings + (tape[i] & simdjson::internal::JSON_VALUE_MASK);
        std::uint32_t length;
        std::memcpy(&length, key, sizeof length);
        if (length == 2 && key[4] == '@' && (key[5] == 'o' || key[5] == 's')) [[unlikely]]
            found(char(key[5]), elementAt(TapePosition { document, i + 1 }));
        const std::uint64_t value = tape[i + 1];
        const std::uint8_t words = kTapeValueWords[std::uint8_t(value >> 56)];
        i = words ? i + 1 + words : std::size_t(std::uint32_t(value));
    }
}

// One field of a parsed object, as simdjson's key_value_pair gives it, with its value's type.
struct TapeField {
    std::string_view key;
    simdjson::dom::element value;
    simdjson::dom::element_type type; // value.type()
};

// The fields of a parsed object in order, read from the tape where kTapePositionReadable (simdjson's
// iterator spends on every step a switch over the value's type and reloads of the tape through the
// document: about a tenth of a delta's fold), else through simdjson's iterator. For the fold's loops;
// tst_jsontape compares the two.
template<bool kFromTape = kTapePositionReadable>
class BasicTapeFields
{
    static_assert(!kFromTape || kTapePositionReadable);

public:
    explicit BasicTapeFields(simdjson::dom::object object)
        : m_object(object)
    {
    }

    class iterator
    {
    public:
        TapeField operator*() const
        {
            if constexpr (kFromTape) {
                const std::uint8_t* const key = m_strings + (m_tape[m_index] & simdjson::internal::JSON_VALUE_MASK);
                std::uint32_t length;
                std::memcpy(&length, key, sizeof length);
                // simdjson's element types are its tape's type characters, false being a bool.
                const char type = char(m_tape[m_index + 1] >> 56);
                return TapeField { std::string_view(reinterpret_cast<const char*>(key) + sizeof length, length),
                    elementAt(TapePosition { m_document, m_index + 1 }), simdjson::dom::element_type(type == 'f' ? 't' : type) };
            } else {
                const simdjson::dom::key_value_pair field = *m_fallback;
                return TapeField { field.key, field.value, field.value.type() };
            }
        }
        iterator& operator++()
        {
            if constexpr (kFromTape) {
                const std::uint64_t value = m_tape[m_index + 1];
                const std::uint8_t words = kTapeValueWords[std::uint8_t(value >> 56)];
                m_index = words ? m_index + 1 + words : std::size_t(std::uint32_t(value));
            } else {
                ++m_fallback;
            }
            return *this;
        }
        bool operator!=(const iterator& other) const
        {
            if constexpr (kFromTape)
                return m_index != other.m_index;
            else
                return m_fallback != other.m_fallback;
        }

    private:
        friend class BasicTapeFields;
        const simdjson::dom::document* m_document = nullptr;
        const std::uint64_t* m_tape = nullptr;
        const std::uint8_t* m_strings = nullptr;
        std::size_t m_index = 0;
        struct NoFallback {};
        [[no_unique_address]] std::conditional_t<kFromTape, NoFallback, simdjson::dom::object::iterator> m_fallback {};
    };

    iterator begin() const { return at(false); }
    iterator end() const { return at(true); }

private:
    iterator at(bool end) const
    {
        iterator it;
        if constexpr (kFromTape) {
            const TapePosition position = tapePositionOf(m_object);
            it.m_document = position.document;
            it.m_tape = position.document->tape.get();
            it.m_strings = position.document->string_buf.get();
            // The opening word's low 32 bits: one past the closing word, which is where the fields end.
            it.m_index = end ? std::size_t(std::uint32_t(it.m_tape[position.index])) - 1 : position.index + 1;
        } else {
            it.m_fallback = end ? m_object.end() : m_object.begin();
        }
        return it;
    }
    simdjson::dom::object m_object;
};
using TapeFields = BasicTapeFields<>;

// What a direct parse saw of the text's shape, beyond the tape: enough for a ReferenceClient fold to
// know that tree.js cannot throw part-way through a delta without walking it (see
// referenceMayThrow() in mutator.h).
struct JsonTapeShape {
    // The depth of the deepest object, the root container being at depth 1; 0 when there is none.
    std::uint32_t deepestObject = 0;
    // Whether some array holds null as an item.
    bool nullInArray = false;
};

// Builds the tape of the `length` bytes at `text` in `document` and returns true; or returns false
// when the text is beyond what this parser handles: invalid JSON, a root that is not an object or
// an array, nesting deeper than kJsonTapeMaxDepth, a lone surrogate escape, an integer of 19 digits
// or more, "-0", a number out of a double's range, a text longer than the document's capacity less
// 8 bytes, or a simdjson whose layout is not verified. On false the document's content is
// unspecified until the next parse.
// - `text[length]` must be a NUL byte, followed by at least simdjson::SIMDJSON_PADDING - 1 readable
//   bytes of any content (the NUL ends the scan; the rest lets it read 16 bytes at a time);
// - `document` must have been allocated (document.allocate(), or a parse by simdjson).
bool parsePaddedJsonToTape(const char* text, std::size_t length, simdjson::dom::document& document);
// The same, finding the text's shape on the way (a little slower): on true, `shape` describes the
// text; on false it is unspecified.
bool parsePaddedJsonToTape(const char* text, std::size_t length, simdjson::dom::document& document, JsonTapeShape& shape);

}
