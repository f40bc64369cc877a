#pragma once

// The property tst_jsontape and fuzz_jsontape check on every input: detail::parsePaddedJsonToTape()
// accepts only text that simdjson's DOM parser accepts, and then writes the very tape simdjson
// writes, word for word up to the final root word, and the same string buffer bytes (length, bytes
// and NUL) at every offset a string word names. Nothing looser would do: the fold reads the tape
// through simdjson's own element accessors, which trust it.

#include "core/document/jsontape.h"

#include <simdjson.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>

namespace deltascope::test {

// `text` for a message: printable ASCII as is, the rest (and quotes, backslashes) escaped C-style.
inline std::string escapedBytes(std::string_view text, std::size_t most = 400)
{
    std::string out;
    for (std::size_t i = 0; i < text.size() && i < most; ++i) {
        const unsigned char c = static_cast<unsigned char>(text[i]);
        if (c == '"' || c == '\\') {
            out += '\\';
            out += char(c);
        } else if (c >= 0x20 && c < 0x7F) {
            out += char(c);
        } else {
            char hex[8];
            std::snprintf(hex, sizeof hex, "\\x%02x", unsigned(c));
            out += hex;
        }
    }
    if (text.size() > most)
        out += "...";
    return out;
}

inline std::string tapeWordText(std::uint64_t word)
{
    char text[48];
    const unsigned type = unsigned(word >> 56);
    std::snprintf(text, sizeof text, "0x%016llx ('%c')", static_cast<unsigned long long>(word),
        type >= 0x20 && type < 0x7F ? char(type) : '?');
    return text;
}

struct TapeCheck {
    bool direct = false; // parsePaddedJsonToTape() accepted the text
    bool simdjson = false; // simdjson's DOM parser accepted it
    std::string problem; // empty, or how the property was broken (with the input)
};

class TapeComparer {
public:
    enum class Sizing {
        // One document for every text, grown as needed: each direct parse starts from the leftovers
        // of the previous one, as the fold's thread-local parser does.
        Reused,
        // A new document per text with the least capacity the parser works with, so that it
        // starts from fresh buffers of simdjson's own sizes (a sanitizer sees writes past those
        // rounded-up allocations, not past the bounds they round).
        Tight,
    };

    explicit TapeComparer(Sizing sizing = Sizing::Reused)
        : m_sizing(sizing)
    {
    }

    TapeCheck check(std::string_view text)
    {
        TapeCheck result;
        // simdjson copies the text into its own padded buffer.
        const auto reference = m_parser.parse(text.empty() ? "" : text.data(), text.size());
        result.simdjson = reference.error() == simdjson::SUCCESS;

        if (m_sizing == Sizing::Tight) {
            m_document = simdjson::dom::document();
            if (m_document.allocate(text.size() + 8) != simdjson::SUCCESS)
                return failed(result, text, "could not allocate the document");
        } else if (m_document.capacity() < text.size() + 8) {
            if (m_document.allocate(std::max<std::size_t>(text.size() + 8, 1 << 16)) != simdjson::SUCCESS)
                return failed(result, text, "could not allocate the document");
        }

        // The padding after the NUL is "any content": once zeros, once bytes that would carry a scan
        // that wrongly went past the NUL on through an escape, a number or a literal.
        static constexpr char kNastyPadding[] = "0123456789abcdefABCDEF\"\\u/ ,:]}eE.+-rue\x80\xbf";
        // Exactly as much as the contract promises, so that a sanitizer catches a read beyond it.
        const std::size_t bufferSize = text.size() + simdjson::SIMDJSON_PADDING;
        // Each padding with every variant of the parser: the one that finds the text's shape too,
        // the one that does not, and the fold's, which also records the objects holding list
        // markers (with and without the shape).
        for (int pass = 0; pass < 8; ++pass) {
            const bool nastyPadding = pass % 2 == 1;
            const bool withShape = pass % 4 >= 2;
            const bool withMarkers = pass >= 4;
            const std::unique_ptr<char[]> padded(new char[bufferSize]);
            if (!text.empty())
                std::memcpy(padded.get(), text.data(), text.size());
            for (std::size_t i = text.size(); i < bufferSize; ++i)
                padded[i] = nastyPadding ? kNastyPadding[i % (sizeof kNastyPadding - 1)] : '\0';
            padded[text.size()] = '\0';
            detail::JsonTapeShape shape;
            detail::JsonTapeListMarkers markers;
            const bool accepted = withMarkers ? detail::parsePaddedJsonToTape(padded.get(), text.size(), m_document, withShape ? &shape : nullptr, markers)
                : withShape                   ? detail::parsePaddedJsonToTape(padded.get(), text.size(), m_document, shape)
                                              : detail::parsePaddedJsonToTape(padded.get(), text.size(), m_document);
            if (pass == 0)
                result.direct = accepted;
            else if (accepted != result.direct)
                return failed(result, text,
                    withMarkers ? "accepted recording list markers and refused without, or the reverse"
                        : withShape ? "accepted with the shape and refused without, or the reverse"
                                    : "accepted with one padding and refused with the other");
            if (!accepted)
                continue;
            if (!result.simdjson)
                return failed(result, text,
                    std::string("accepted, but simdjson refuses it: ") + simdjson::error_message(reference.error()));
            compareTapes(result, text);
            if (!result.problem.empty())
                return result;
            if (withShape)
                compareShape(result, text, shape, reference.value_unsafe());
            if (!result.problem.empty())
                return result;
            if (withMarkers)
                checkMarkers(result, text, markers, m_document.root());
            if (!result.problem.empty())
                return result;
        }
        return result;
    }

private:
    static constexpr std::uint64_t kPayload = (std::uint64_t(1) << 56) - 1;

    // The shape the direct parser reports, found again by a walk of simdjson's DOM.
    static void shapeOf(simdjson::dom::element value, std::uint32_t depth, detail::JsonTapeShape& shape)
    {
        if (value.is_object()) {
            shape.deepestObject = std::max(shape.deepestObject, depth);
            const simdjson::dom::object fields = value.get_object().value_unsafe();
            for (simdjson::dom::key_value_pair field : fields)
                shapeOf(field.value, depth + 1, shape);
        } else if (value.is_array()) {
            const simdjson::dom::array items = value.get_array().value_unsafe();
            for (simdjson::dom::element item : items) {
                shape.nullInArray = shape.nullInArray || item.is_null();
                shapeOf(item, depth + 1, shape);
            }
        }
    }

    static void compareShape(TapeCheck& result, std::string_view text, const detail::JsonTapeShape& got, simdjson::dom::element root)
    {
        detail::JsonTapeShape want;
        shapeOf(root, 1, want);
        if (got.deepestObject != want.deepestObject || got.nullInArray != want.nullInArray) {
            failed(result, text,
                "shape: deepest object " + std::to_string(got.deepestObject) + " (simdjson's DOM: " + std::to_string(want.deepestObject)
                    + "), null in an array " + (got.nullInArray ? "yes" : "no") + " (simdjson's DOM: " + (want.nullInArray ? "yes" : "no") + ")");
        }
    }

    // No object holding "@o" or "@s" is said to hold neither (the fold would then miss a list
    // delta); the other way round is allowed, and costs the fold only a walk of the object's keys.
    static void checkMarkers(TapeCheck& result, std::string_view text, const detail::JsonTapeListMarkers& markers, simdjson::dom::element value)
    {
        if (!result.problem.empty())
            return;
        if (value.is_object()) {
            const simdjson::dom::object fields = value.get_object().value_unsafe();
            bool holds = false;
            for (simdjson::dom::key_value_pair field : fields) {
                holds = holds || field.key == "@o" || field.key == "@s";
                checkMarkers(result, text, markers, field.value);
            }
            if (holds && markers.knownWithoutMarkers(fields.begin().key_c_str()))
                failed(result, text, "an object holding a list marker was recorded as holding none");
        } else if (value.is_array()) {
            const simdjson::dom::array items = value.get_array().value_unsafe();
            for (simdjson::dom::element item : items)
                checkMarkers(result, text, markers, item);
        }
    }

    static TapeCheck& failed(TapeCheck& result, std::string_view text, const std::string& what)
    {
        result.problem = "input \"" + escapedBytes(text) + "\" (" + std::to_string(text.size()) + " bytes): " + what;
        return result;
    }

    void compareTapes(TapeCheck& result, std::string_view text) const
    {
        const std::uint64_t* const want = m_parser.doc.tape.get();
        const std::uint64_t* const got = m_document.tape.get();
        const std::uint8_t* const wantStrings = m_parser.doc.string_buf.get();
        const std::uint8_t* const gotStrings = m_document.string_buf.get();
        const std::uint64_t end = want[0] & kPayload; // one past the final root word
        // What document::allocate() gives the direct document: reads stay inside it.
        const std::size_t gotTapeWords = m_document.capacity() + 3;
        const std::size_t gotStringBytes = 5 * m_document.capacity() / 3 + simdjson::SIMDJSON_PADDING;
        if (end > gotTapeWords) {
            failed(result, text,
                "simdjson's tape (" + std::to_string(end) + " words) is longer than the direct document holds");
            return;
        }
        const auto wordMismatch = [&](std::uint64_t index) {
            failed(result, text,
                "tape word " + std::to_string(index) + ": direct " + tapeWordText(got[index]) + ", simdjson "
                    + tapeWordText(want[index]));
        };
        for (std::uint64_t i = 0; i < end; ++i) {
            if (got[i] != want[i])
                return wordMismatch(i);
            const char type = char(want[i] >> 56);
            if (type == 'l' || type == 'u' || type == 'd') {
                // The value's own word follows: raw bits, whatever its top byte.
                ++i;
                if (i >= end || got[i] != want[i])
                    return wordMismatch(std::min(i, end - 1));
            } else if (type == '"') {
                const std::uint64_t offset = want[i] & kPayload;
                std::uint32_t length = 0;
                std::memcpy(&length, wantStrings + offset, sizeof length);
                const std::size_t bytes = sizeof length + std::size_t(length) + 1; // length, bytes, NUL
                if (offset + bytes > gotStringBytes) {
                    failed(result, text,
                        "string at tape word " + std::to_string(i)
                            + " lies beyond the direct document's string buffer");
                    return;
                }
                if (std::memcmp(gotStrings + offset, wantStrings + offset, bytes) != 0) {
                    std::uint32_t gotLength = 0;
                    std::memcpy(&gotLength, gotStrings + offset, sizeof gotLength);
                    const auto shown = [&](const std::uint8_t* strings, std::uint32_t n) {
                        return escapedBytes(std::string_view(reinterpret_cast<const char*>(strings + offset + sizeof n),
                            std::min<std::size_t>(n, std::size_t(length) + 1)));
                    };
                    failed(result, text,
                        "string at tape word " + std::to_string(i) + " (buffer offset " + std::to_string(offset)
                            + "): direct length " + std::to_string(gotLength) + " \"" + shown(gotStrings, gotLength)
                            + "\" NUL " + std::to_string(gotStrings[offset + bytes - 1]) + ", simdjson length "
                            + std::to_string(length) + " \"" + shown(wantStrings, length) + "\"");
                    return;
                }
            }
        }
    }

    Sizing m_sizing;
    simdjson::dom::parser m_parser;
    simdjson::dom::document m_document;
};

}
