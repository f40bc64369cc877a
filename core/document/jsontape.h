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

#include <cstddef>
#include <cstdint>
#include <functional>

namespace deltascope::detail {

// How deep containers may nest: every container counts, the root and empty ones included (simdjson
// counts only those with content), so nothing deeper than simdjson's own limit is ever taken.
inline constexpr int kJsonTapeMaxDepth = 64;

// The tape layout and buffer bounds written here are those of simdjson 3.0 (checked word for word by
// tst_jsontape). Another simdjson gets no direct parse, until re-verified and added here.
inline constexpr bool kJsonTapeLayoutVerified = simdjson::SIMDJSON_VERSION_MAJOR == 3 && simdjson::SIMDJSON_VERSION_MINOR == 0;

// What a direct parse saw of the text's shape, beyond the tape: enough for a ReferenceClient fold to
// know that tree.js cannot throw part-way through a delta without walking it (see
// referenceMayThrow() in mutator.h).
struct JsonTapeShape {
    // The depth of the deepest object, the root container being at depth 1; 0 when there is none.
    std::uint32_t deepestObject = 0;
    // Whether some array holds null as an item.
    bool nullInArray = false;
};

// The objects of a direct parse that hold a list marker, "@o" or "@s" (adama-wire.md 6.3), found on
// the way: the fold asks every object delta whether it is a list delta, and most are not, so it need
// not walk their keys to learn it (see listMarkers() in mutator.cpp).
struct JsonTapeListMarkers {
    static constexpr int kMost = 16;
    // Each such object by its first key's text in the document's string buffer (what simdjson's
    // key_c_str() gives for it): an object has no other handle a dom::object shows.
    const char* firstKeys[kMost] = {};
    int count = 0;
    // More such objects than kMost: the list is incomplete, so it answers nothing.
    bool overflow = false;
    // The string buffer's bytes this parse wrote: a key outside them belongs to another parse.
    const char* stringsBegin = nullptr;
    const char* stringsEnd = nullptr;

    // Whether the object whose first key's text is at `firstKey` is known to hold no list marker.
    bool knownWithoutMarkers(const char* firstKey) const
    {
        // std::less: a total order even over pointers into different allocations.
        const std::less<const char*> before;
        if (overflow || before(firstKey, stringsBegin) || !before(firstKey, stringsEnd))
            return false;
        for (int i = 0; i < count; ++i) {
            if (firstKeys[i] == firstKey)
                return false;
        }
        return true;
    }
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
// The same, recording on true which objects hold a list marker into `markers` (on false it is
// unspecified); with `shape` non-null, the text's shape too.
bool parsePaddedJsonToTape(const char* text, std::size_t length, simdjson::dom::document& document, JsonTapeShape* shape, JsonTapeListMarkers& markers);

// memcpy(to, from, length), for the delta copied into the padded buffer before each parse: a
// profile-guided build otherwise inlines memcpy of the sizes it saw as a string instruction (rep
// movs) that takes longer to start than copying a few hundred bytes takes.
void copyIntoPadded(char* to, const char* from, std::size_t length);

}
