#include <catch2/catch.hpp>

#include "core/document/jsontape.h"
#include "core/document/mutator.h"
#include "documenttestutils.h"
#include "jsontapecompare.h"
#include "tests/support/testutils.h"

#include <simdjson.h>

#include <QJsonDocument>
#include <QJsonObject>

#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <iterator>
#include <memory>
#include <random>
#include <string>
#include <string_view>
#include <vector>

// detail::parsePaddedJsonToTape() against simdjson 3.0.1's DOM parser, on hand-written, generated,
// mutated and conformance inputs. Every input goes through TapeComparer (jsontapecompare.h): what
// the direct parser accepts, simdjson accepts too, with the same tape and strings. On top of that,
// valid text within the parser's documented subset must be taken directly (or the fast path would
// quietly stop being used), and nesting deeper than its scope stack must be left to simdjson.

using namespace deltascope;
using namespace deltascope::test;
using namespace std::string_literals;

namespace {

constexpr int kMaxDepth = detail::kJsonTapeMaxDepth;

// Counts of a batch of inputs by outcome; the first few broken properties are reported in full.
struct Tally {
    TapeComparer comparer;
    int checked = 0;
    int direct = 0; // accepted by the direct parser, so by simdjson too, with the same tape
    int fallback = 0; // accepted by simdjson only
    int refused = 0; // refused by both
    int broken = 0;

    TapeCheck check(std::string_view text)
    {
        TapeCheck result = comparer.check(text);
        ++checked;
        if (!result.problem.empty()) {
            if (++broken <= 10)
                FAIL_CHECK(result.problem);
        } else if (result.direct) {
            ++direct;
        } else if (result.simdjson) {
            ++fallback;
        } else {
            ++refused;
        }
        return result;
    }

    // The property held throughout; the counts go to the log, for the record.
    void finish(const char* what) const
    {
        std::printf("jsontape %s: %d inputs, %d parsed directly, %d left to simdjson, %d refused by both, %d broken\n",
            what, checked, direct, fallback, refused, broken);
        CHECK(broken == 0);
    }
};

// Whether the text's root is an object or an array: the direct parser leaves a scalar root to
// simdjson (jsontape.h).
bool hasContainerRoot(std::string_view text)
{
    const std::size_t first = text.find_first_not_of(" \t\r\n");
    return first != std::string_view::npos && (text[first] == '{' || text[first] == '[');
}

// Valid JSON inside the direct parser's subset: taken directly, with simdjson's tape. A scalar at
// the root is left to simdjson, so a scalar is also checked inside an array.
void requireDirect(Tally& tally, std::string_view text)
{
    const bool containerRoot = hasContainerRoot(text);
    const TapeCheck result = tally.check(text);
    INFO("input: \"" << escapedBytes(text) << "\"");
    CHECK(result.simdjson);
    CHECK(result.direct == containerRoot);
    if (!containerRoot)
        requireDirect(tally, "[" + std::string(text) + "]");
}

// Valid JSON nested deeper than the direct parser goes.
void requireLeftToSimdjson(Tally& tally, std::string_view text)
{
    const TapeCheck result = tally.check(text);
    INFO("input: \"" << escapedBytes(text) << "\"");
    CHECK(result.simdjson);
    CHECK_FALSE(result.direct);
}

// Not JSON: refused by both (simdjson's refusal shows the input is really invalid).
void requireRefused(Tally& tally, std::string_view text)
{
    const TapeCheck result = tally.check(text);
    INFO("input: \"" << escapedBytes(text) << "\"");
    CHECK_FALSE(result.simdjson);
    CHECK_FALSE(result.direct);
}

// The direct parser on its own, with `document` as given (TapeComparer sizes its own).
bool parseDirectly(std::string_view text, simdjson::dom::document& document)
{
    const std::unique_ptr<char[]> padded(new char[text.size() + simdjson::SIMDJSON_PADDING]());
    std::memcpy(padded.get(), text.data(), text.size());
    return detail::parsePaddedJsonToTape(padded.get(), text.size(), document);
}

// The same, with the fold's variant, which records the objects holding list markers.
bool parseDirectly(std::string_view text, simdjson::dom::document& document, detail::JsonTapeListMarkers& markers)
{
    const std::unique_ptr<char[]> padded(new char[text.size() + simdjson::SIMDJSON_PADDING]());
    std::memcpy(padded.get(), text.data(), text.size());
    return detail::parsePaddedJsonToTape(padded.get(), text.size(), document, nullptr, markers);
}

std::string repeated(std::string_view piece, int times)
{
    std::string out;
    for (int i = 0; i < times; ++i)
        out += piece;
    return out;
}

std::string nestedArrays(int depth) { return repeated("[", depth) + "1" + repeated("]", depth); }
std::string nestedObjects(int depth) { return repeated("{\"k\":", depth) + "true" + repeated("}", depth); }

// Valid documents inside the subset, one of each shape: the base of several tests below.
const std::vector<std::string>& validDocuments()
{
    static const std::vector<std::string> documents = {
        "null",
        "true",
        "false",
        "0",
        "-1",
        "42",
        "1.5",
        "\"\"",
        "\"text\"",
        "[]",
        "{}",
        "[[]]",
        "[{}]",
        "{\"a\":{}}",
        "{\"a\":[]}",
        "[[],{},[[]],{\"\":{}}]",
        "[1,2,3]",
        "[\"\",\"\",\"\"]",
        "{\"\":\"\"}",
        "[null,true,false,0,-7,1.25,\"s\",[],{}]",
        "{\"a\":1,\"b\":[true,false,null],\"c\":{\"d\":\"e\"},\"f\":-2.5e-3}",
        "{\"a\":1,\"a\":2}",
        "{\"a\":{\"b\":1},\"a\":[],\"a\":\"x\"}",
        "{\"name\":\"Table 1\",\"score\":{\"x\":1,\"o\":0},\"turn\":\"x\",\"list\":{\"1\":{\"v\":1},\"@o\":[1,2,3]}}",
        " [ 1 , { \"a\" : [ ] } , \"x\" ] ",
        "\t{\r\n\"key\"\t:\n\"value\"\r}\n",
        "{\"esc\":\"\\\"\\\\\\/"
        "\\b\\f\\n\\r\\t\\u0000\\u00e9\\u20AC\\ud83d\\ude00\",\"raw\":\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\"}",
        "[123456789012345678,-123456789012345678,1e308,-0.0,0e0]",
    };
    return documents;
}

// Random JSON text: every value kind, escapes, raw UTF-8, numbers near the parser's limits,
// random whitespace, sometimes nesting across the depth limit. Deterministic for a seed.
class JsonGenerator {
public:
    explicit JsonGenerator(std::uint32_t seed)
        : m_random(seed)
    {
    }

    // A document, and in `handled` whether it keeps within what jsontape.h says the direct parser
    // takes: depth, integers of at most 18 digits and not -0, no lone surrogate, a double's range.
    std::string document(bool& handled)
    {
        m_out.clear();
        m_handled = true;
        space();
        // A chain of containers around the value: one level mostly, as a delta's root is an
        // object; sometimes as deep as the limit, or a little deeper.
        int depth = chance(3) ? kMaxDepth - 6 + below(12) : 1;
        std::string closers;
        for (int level = 0; level < depth; ++level) {
            if (chance(50)) {
                m_out += '[';
                closers += ']';
            } else {
                m_out += '{';
                string(8);
                m_out += ':';
                closers += '}';
            }
            space();
        }
        if (depth > kMaxDepth)
            m_handled = false;
        value(depth);
        for (auto it = closers.rbegin(); it != closers.rend(); ++it) {
            space();
            m_out += *it;
        }
        space();
        handled = m_handled;
        return m_out;
    }

    std::mt19937& random() { return m_random; }

private:
    int below(int n) { return std::uniform_int_distribution<int>(0, n - 1)(m_random); }
    bool chance(int percent) { return below(100) < percent; }
    char digit(bool nonZero = false) { return char('0' + (nonZero ? 1 + below(9) : below(10))); }

    void space()
    {
        if (chance(75))
            return;
        for (int n = 1 + below(3); n > 0; --n)
            m_out += " \t\r\n"[below(4)];
    }

    void value(int depth)
    {
        const int containers = depth < 3 ? 40 : depth < 6 ? 15 : 5;
        if (chance(containers)) {
            container(depth + 1, chance(50));
            return;
        }
        switch (below(8)) {
        case 0:
            m_out += chance(34) ? "null" : chance(50) ? "true" : "false";
            break;
        case 1:
        case 2:
            integer();
            break;
        case 3:
        case 4:
            floating();
            break;
        default:
            string(40);
            break;
        }
    }

    void container(int level, bool object)
    {
        if (level > kMaxDepth)
            m_handled = false;
        m_out += object ? '{' : '[';
        space();
        const int count = chance(85) ? below(5) : below(25);
        std::string previousKey;
        for (int i = 0; i < count; ++i) {
            if (i > 0) {
                space();
                m_out += ',';
                space();
            }
            if (object) {
                if (i > 0 && chance(5)) {
                    m_out += previousKey; // a duplicate key
                } else {
                    const std::size_t start = m_out.size();
                    string(12);
                    previousKey = m_out.substr(start);
                }
                space();
                m_out += ':';
                space();
            }
            value(level);
        }
        space();
        m_out += object ? '}' : ']';
    }

    void integer()
    {
        static const char* const kSpecial[] = { "0", "-0", "9223372036854775807", "-9223372036854775808",
            "18446744073709551615", "18446744073709551616", "999999999999999999", "-999999999999999999",
            "100000000000000000", "1000000000000000000" };
        std::string text;
        if (chance(10)) {
            text = kSpecial[below(int(std::size(kSpecial)))];
        } else {
            if (chance(30))
                text += '-';
            const int digits = chance(75) ? 1 + below(6) : 1 + below(22);
            if (digits == 1) {
                text += digit();
            } else {
                text += digit(true);
                for (int i = 1; i < digits; ++i)
                    text += digit();
            }
        }
        const std::size_t digitCount = text.size() - (text[0] == '-' ? 1 : 0);
        if (digitCount >= 19 || text == "-0")
            m_handled = false;
        m_out += text;
    }

    void floating()
    {
        std::string digits; // the mantissa's, for the range estimate below
        if (chance(30))
            m_out += '-';
        int integerDigits = 1;
        if (chance(40)) {
            digits += '0';
        } else {
            integerDigits = chance(85) ? 1 + below(3) : 1 + below(25);
            digits += digit(true);
            for (int i = 1; i < integerDigits; ++i)
                digits += digit();
        }
        m_out += digits;
        const bool fraction = chance(70);
        if (fraction) {
            m_out += '.';
            for (int n = chance(80) ? 1 + below(6) : 1 + below(40); n > 0; --n) {
                const char d = digit();
                digits += d;
                m_out += d;
            }
        }
        long exponent = 0;
        if (!fraction || chance(50)) {
            m_out += chance(50) ? 'e' : 'E';
            const int sign = below(3);
            if (sign == 1)
                m_out += '+';
            else if (sign == 2)
                m_out += '-';
            const int magnitude = chance(70) ? below(30) : chance(70) ? 280 + below(50) : below(400);
            if (chance(10))
                m_out += "000";
            m_out += std::to_string(magnitude);
            exponent = sign == 2 ? -magnitude : magnitude;
        }
        // The value lies in [10^(m-1), 10^m) for m below: well inside a double's normal range, or
        // possibly past it (simdjson refuses an overflow, and an underflow may be left to it).
        const std::size_t firstNonZero = digits.find_first_not_of('0');
        if (firstNonZero != std::string::npos) {
            const long m = integerDigits - long(firstNonZero) + exponent;
            if (m > 300 || m < -300)
                m_handled = false;
        }
    }

    void utf8(std::uint32_t codePoint)
    {
        if (codePoint < 0x80) {
            m_out += char(codePoint);
        } else if (codePoint < 0x800) {
            m_out += char(0xC0 | (codePoint >> 6));
            m_out += char(0x80 | (codePoint & 0x3F));
        } else if (codePoint < 0x10000) {
            m_out += char(0xE0 | (codePoint >> 12));
            m_out += char(0x80 | ((codePoint >> 6) & 0x3F));
            m_out += char(0x80 | (codePoint & 0x3F));
        } else {
            m_out += char(0xF0 | (codePoint >> 18));
            m_out += char(0x80 | ((codePoint >> 12) & 0x3F));
            m_out += char(0x80 | ((codePoint >> 6) & 0x3F));
            m_out += char(0x80 | (codePoint & 0x3F));
        }
    }

    void unicodeEscape(std::uint32_t unit)
    {
        char text[8];
        std::snprintf(text, sizeof text, chance(50) ? "\\u%04x" : "\\u%04X", unsigned(unit));
        m_out += text;
    }

    std::uint32_t bmpCodePoint()
    {
        switch (below(5)) {
        case 0:
            return std::uint32_t(below(0x20));
        case 1:
            return std::uint32_t(0x20 + below(0x60));
        case 2:
            return std::uint32_t(0x80 + below(0x780));
        case 3:
            return std::uint32_t(0x800 + below(0xD800 - 0x800));
        default:
            return std::uint32_t(0xE000 + below(0x2000));
        }
    }

    void string(int longest)
    {
        m_out += '"';
        const int length = chance(80) ? below(12) : below(longest + 1);
        for (int i = 0; i < length; ++i) {
            const int kind = below(100);
            if (kind < 55) {
                char c = char(0x20 + below(0x60)); // printable ASCII and DEL
                if (c == '"' || c == '\\')
                    c = 'q';
                m_out += c;
            } else if (kind < 65) {
                static const char* const kEscapes[] = { "\\\"", "\\\\", "\\/", "\\b", "\\f", "\\n", "\\r", "\\t" };
                m_out += kEscapes[below(int(std::size(kEscapes)))];
            } else if (kind < 72) {
                unicodeEscape(bmpCodePoint());
            } else if (kind < 76) {
                const std::uint32_t codePoint = std::uint32_t(0x10000 + below(0x100000));
                unicodeEscape(0xD800 + ((codePoint - 0x10000) >> 10));
                unicodeEscape(0xDC00 + ((codePoint - 0x10000) & 0x3FF));
            } else if (kind == 76 && chance(20)) {
                // A lone surrogate: high alone, low alone, or high before a non-low escape.
                m_handled = false;
                const int shape = below(3);
                unicodeEscape(std::uint32_t(shape == 1 ? 0xDC00 + below(0x400) : 0xD800 + below(0x400)));
                if (shape == 2)
                    unicodeEscape(
                        chance(50) ? std::uint32_t(0xD800 + below(0x400)) : std::uint32_t(0x20 + below(0x60)));
            } else {
                switch (below(3)) {
                case 0:
                    utf8(std::uint32_t(0x80 + below(0x780)));
                    break;
                case 1: {
                    std::uint32_t codePoint = std::uint32_t(0x800 + below(0x10000 - 0x800));
                    if (codePoint >= 0xD800 && codePoint <= 0xDFFF)
                        codePoint -= 0x800;
                    utf8(codePoint);
                    break;
                }
                default:
                    utf8(std::uint32_t(0x10000 + below(0x100000)));
                    break;
                }
            }
        }
        m_out += '"';
    }

    std::mt19937 m_random;
    std::string m_out;
    bool m_handled = true;
};

// `text` with one to three random edits: bit flips, bytes that matter to JSON put in or over,
// deletions, duplications and truncations.
std::string mutated(std::string text, std::mt19937& random)
{
    static const std::string kBytes = "{}[]:,\"\\ \t\r\n0123456789-+.eEtrufalsn/bu"s + '\0'
        + "\x01\x1f\x7f\x80\xbf\xc0\xc3\xe2\xed\xf0\xf4\xf5\xff"s;
    const auto below = [&](std::size_t n) { return std::uniform_int_distribution<std::size_t>(0, n - 1)(random); };
    for (std::size_t edits = 1 + below(3); edits > 0; --edits) {
        const std::size_t at = below(text.size() + 1);
        switch (below(7)) {
        case 0:
            if (at < text.size())
                text[at] = char(text[at] ^ (1 << below(8)));
            break;
        case 1:
            if (at < text.size())
                text[at] = kBytes[below(kBytes.size())];
            break;
        case 2:
            text.erase(at, 1 + below(4));
            break;
        case 3:
            text.insert(at, 1, kBytes[below(kBytes.size())]);
            break;
        case 4:
            text.resize(at);
            break;
        case 5:
            text.insert(below(text.size() + 1), text.substr(at, 1 + below(8)));
            break;
        default:
            if (at < text.size())
                std::swap(text[at], text[below(text.size())]);
            break;
        }
    }
    return text;
}

// The text of each value of the conformance vectors exactly as the file writes it: every delta,
// every "expected" and "reference_client" state. The file is valid JSON, so spans are enough.
class RawScanner {
public:
    explicit RawScanner(std::string_view text)
        : m_text(text)
    {
    }

    bool atEnd() const { return m_at >= m_text.size(); }

    bool next(char c)
    {
        space();
        if (atEnd() || m_text[m_at] != c)
            return false;
        ++m_at;
        return true;
    }

    std::string_view value()
    {
        space();
        const std::size_t start = m_at;
        if (atEnd()) {
        } else if (m_text[m_at] == '"') {
            skipString();
        } else if (m_text[m_at] == '{' || m_text[m_at] == '[') {
            int depth = 0;
            do {
                const char c = m_text[m_at];
                if (c == '"') {
                    skipString();
                    continue;
                }
                if (c == '{' || c == '[')
                    ++depth;
                else if (c == '}' || c == ']')
                    --depth;
                ++m_at;
            } while (depth > 0 && !atEnd());
        } else {
            while (!atEnd() && !std::strchr(",]} \t\r\n", m_text[m_at]))
                ++m_at;
        }
        return m_text.substr(start, m_at - start);
    }

private:
    void space()
    {
        while (!atEnd() && std::strchr(" \t\r\n", m_text[m_at]))
            ++m_at;
    }

    void skipString()
    {
        ++m_at;
        while (!atEnd() && m_text[m_at] != '"')
            m_at += m_text[m_at] == '\\' ? 2 : 1;
        ++m_at;
    }

    std::string_view m_text;
    std::size_t m_at = 0;
};

std::vector<std::string> rawVectorValues(const std::string& file)
{
    std::vector<std::string> values;
    RawScanner scanner(file);
    REQUIRE(scanner.next('['));
    while (!scanner.next(']')) {
        REQUIRE_FALSE(scanner.atEnd());
        scanner.next(',');
        REQUIRE(scanner.next('{'));
        while (!scanner.next('}')) {
            REQUIRE_FALSE(scanner.atEnd());
            scanner.next(',');
            const std::string_view key = scanner.value();
            REQUIRE(scanner.next(':'));
            if (key == "\"deltas\"") {
                REQUIRE(scanner.next('['));
                while (!scanner.next(']')) {
                    REQUIRE_FALSE(scanner.atEnd());
                    scanner.next(',');
                    values.emplace_back(scanner.value());
                }
            } else {
                const std::string_view value = scanner.value();
                if (key == "\"expected\"" || key == "\"reference_client\"")
                    values.emplace_back(value);
            }
        }
    }
    return values;
}

}

TEST_CASE("jsontape: the simdjson in use has the tape layout the direct parser was verified against")
{
    // Otherwise the direct parser takes nothing (jsontape.h) and every test below that expects a
    // direct parse fails: re-verify the layout against the new simdjson, then widen the check.
    INFO("simdjson " << int(simdjson::SIMDJSON_VERSION_MAJOR) << "." << int(simdjson::SIMDJSON_VERSION_MINOR) << "." << int(simdjson::SIMDJSON_VERSION_REVISION));
    REQUIRE(detail::kJsonTapeLayoutVerified);
}

TEST_CASE("jsontape: every JSON type and container shape is parsed as simdjson parses it")
{
    Tally tally;
    for (const std::string& document : validDocuments())
        requireDirect(tally, document);
    // The same documents as an object member and as array elements.
    for (const std::string& document : validDocuments()) {
        requireDirect(tally, "{\"v\":" + document + "}");
        requireDirect(tally, "[" + document + "," + document + "]");
    }
    // Counts of 0, 1 and many, in arrays and objects (the opening word holds the count).
    for (int count = 0; count < 40; ++count) {
        std::string array = "[";
        std::string object = "{";
        for (int i = 0; i < count; ++i) {
            array += (i ? ",\"" : "\"") + std::to_string(i) + "\"";
            object += (i ? ",\"k" : "\"k") + std::to_string(i) + "\":[" + std::to_string(i) + "]";
        }
        requireDirect(tally, array + "]");
        requireDirect(tally, object + "}");
    }
    std::string big = "[";
    for (int i = 0; i < 5000; ++i)
        big += (i ? "," : "") + std::to_string(i % 7 == 0 ? -i : i * 1000003LL) + (i % 3 == 0 ? ".5" : "");
    requireDirect(tally, big + "]");
    tally.finish("types and shapes");
}

TEST_CASE("jsontape: whitespace is taken wherever JSON allows it and nowhere else")
{
    const std::vector<std::string> tokens = { "{", "\"a\"", ":", "[", "1", ",", "-2.5e3", ",", "true", ",", "false",
        ",", "null", ",", "\"s\"", ",", "{", "}", ",", "[", "]", ",", "{", "\"k\"", ":", "\"v\"", "}", "]", ",",
        "\"b\"", ":", "{", "\"c\"", ":", "0", "}", "}" };
    const auto joined = [&](const std::string& space, int onlyGap) {
        std::string text;
        for (int gap = 0; gap <= int(tokens.size()); ++gap) {
            if (onlyGap < 0 || onlyGap == gap)
                text += space;
            if (gap < int(tokens.size()))
                text += tokens[std::size_t(gap)];
        }
        return text;
    };
    Tally tally;
    for (const std::string space : { " ", "\t", "\r", "\n", " \t\r\n", "\n\n\n\n\n\n\n\n\n\n", "\r\n        " }) {
        requireDirect(tally, joined(space, -1));
        for (int gap = 0; gap <= int(tokens.size()); ++gap)
            requireDirect(tally, joined(space, gap));
    }
    // Whitespace JSON does not have, between tokens.
    for (const std::string space : { "\f", "\v", "\xc2\xa0", "\xe2\x80\x8b", "\x1c", "\x85" }) {
        for (int gap = 0; gap <= int(tokens.size()); ++gap)
            requireRefused(tally, joined(space, gap));
    }
    // Whitespace inside a token.
    for (const char* text :
        { "tr ue", "f alse", "nul l", "1 2", "- 1", "1 .5", "1. 5", "1e 5", "1e+ 5", "[1 ,2 3]", "{\"a\" \"b\":1}" })
        requireRefused(tally, text);
    tally.finish("whitespace");
}

TEST_CASE("jsontape: escapes and raw UTF-8 in strings and keys")
{
    Tally tally;
    const std::vector<std::string> strings = { "\\\"", "\\\\", "\\/", "\\b", "\\f", "\\n", "\\r", "\\t", "\\u0000",
        "\\u0001", "\\u001f", "\\u0020", "\\u0041", "\\u007f", "\\u007F", "\\u0080", "\\u00e9", "\\u00E9", "\\u07ff",
        "\\u0800", "\\u20ac", "\\u20AC", "\\ud7ff", "\\ue000", "\\ufeff", "\\uffff", "\\uFFFF", "\\ud83d\\ude00",
        "\\uD83D\\uDE00", "\\ud800\\udc00", "\\udbff\\udfff", "\\uDBFF\\uDFFF", "\\ud800\\udfff", "\\udbff\\udc00",
        "\x7f", "\xc2\x80", "\xc3\xa9", "\xdf\xbf", "\xe0\xa0\x80", "\xe2\x82\xac", "\xed\x9f\xbf", "\xee\x80\x80",
        "\xef\xbf\xbf", "\xf0\x90\x80\x80", "\xf0\x9f\x98\x80", "\xf4\x8f\xbf\xbf", "a\\u0000b\\u0000",
        "\\\\\\\\\\\\\\\"", "\\ud83d\\ude00\\ud83d\\ude00\xf0\x9f\x98\x80", "\\\\u0041" };
    for (const std::string& s : strings) {
        requireDirect(tally, "\"" + s + "\"");
        requireDirect(tally, "[\"" + s + "\",\"" + s + "x\"]");
        requireDirect(tally, "{\"" + s + "\":\"" + s + "\"}");
        requireDirect(tally, "{\"k\":\"abcdefghijklmno" + s + "pqrstuvwxyz" + s + "\"}");
    }
    tally.finish("escapes and UTF-8");
}

TEST_CASE("jsontape: strings of every length around the eight-byte copies")
{
    // The string copy takes eight bytes at a time: a special byte at each position of strings of
    // length 0 to 40, strings ending at the text's very end, and cut or broken strings at each.
    const std::vector<std::string> specials = { "\\n", "\\\"", "\\\\", "\\/", "\\u00e9", "\\u0000", "\\ud83d\\ude00",
        "\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x98\x80", "\x7f", " " };
    const std::vector<std::string> broken = { "\x01", "\x1f", "\n", "\t", std::string(1, '\0'), "\x80", "\xc3",
        "\xe2\x82", "\xf0\x9f\x98", "\xc0\x80", "\xed\xa0\x80", "\xf5\x80\x80\x80", "\\x", "\\u00g0", "\\'" };
    Tally tally;
    for (int length = 0; length <= 40; ++length) {
        std::string plain;
        for (int i = 0; i < length; ++i)
            plain += char('a' + i % 26);
        for (const std::string& text : { "\"" + plain + "\"", "\"" + plain + "\" \n", "[\"" + plain + "\"]",
                 "[\"" + plain + "\",\"" + plain + "\"]", "{\"" + plain + "\":0}", "{\"k\":\"" + plain + "\"}" })
            requireDirect(tally, text);
        requireRefused(tally, "\"" + plain);
        requireRefused(tally, "[\"" + plain);
        requireRefused(tally, "{\"" + plain);
        for (int at = 0; at <= length; ++at) {
            const std::string before = plain.substr(0, std::size_t(at));
            const std::string after = plain.substr(std::size_t(at));
            for (const std::string& special : specials) {
                requireDirect(tally, "\"" + before + special + after + "\"");
                requireDirect(tally, "{\"" + before + special + after + "\":\"" + after + special + before + "\"}");
            }
            for (const std::string& bad : broken) {
                requireRefused(tally, "\"" + before + bad + after + "\"");
                requireRefused(tally, "[\"" + before + bad + after + "\"]");
            }
            requireRefused(tally, "\"" + before + "\\"); // an escape cut by the text's end
            requireRefused(tally, "\"" + before + "\\u00e");
            requireRefused(tally, "\"" + before + "\\ud83d\\ude0");
        }
    }
    tally.finish("string lengths");
}

TEST_CASE("jsontape: integers and floating-point numbers")
{
    Tally tally;
    std::string nines;
    std::string counting;
    for (int digits = 1; digits <= 18; ++digits) {
        nines += '9';
        counting += char('0' + digits % 10);
        for (const std::string& number :
            { nines, "-" + nines, "1" + std::string(std::size_t(digits - 1), '0'), counting }) {
            requireDirect(tally, number);
            requireDirect(tally, "[" + number + "," + number + "]");
            requireDirect(tally, "{\"n\":" + number + "}");
        }
    }
    for (const char* number :
        { "0", "-1", "1", "10", "-10", "123456789012345678", "-123456789012345678", "100000000000000000" })
        requireDirect(tally, number);

    const std::vector<std::string> floats = { "1.5", "-2e3", "1E+2", "1e-2", "1E2", "1e+0", "0.1", "-0.1", "1e308",
        "-1e308", "1.7976931348623157e308", "2.2250738585072014e-308", "1e-300", "0.0", "-0.0", "0e0", "-0e-0", "0E+0",
        "0.5e-3", "1.0", "1e22", "1e23", "9007199254740993.0", "9007199254740993e0", "123456789012345678901234567890.5",
        "12345678901234567890e-10", "3.14159265358979323846264338327950288419716939937510",
        "0.1000000000000000055511151231257827021181583404541015625", "0.30000000000000004", "1e000000000000000000001",
        "0e999999999999999999999", "0.0e-999999999999999999999", "0." + std::string(400, '0') + "1e400",
        "1" + std::string(300, '0') + ".0", "1." + std::string(800, '7'), "0." + std::string(300, '0') + "1e300",
        "2.4703282292062328e-300", "7.2057594037927933e16", "4503599627370497.5", "4503599627370496.5",
        "1.00000000000000011102230246251565404236316680908203125",
        "1.00000000000000011102230246251565404236316680908203124",
        "1.00000000000000011102230246251565404236316680908203126" };
    for (const std::string& number : floats) {
        requireDirect(tally, number);
        requireDirect(tally, "[" + number + "]");
        requireDirect(tally, "{\"x\":" + number + ",\"y\":[" + number + "]}");
    }
    // Underflow: simdjson takes it as zero or a subnormal; the direct parser may leave it to simdjson.
    for (const std::string& number : std::vector<std::string> { "1e-400", "-1e-400", "4.9e-324", "5e-324",
             "2.4703282292062328e-324", "2.4703282292062327e-324", "2.2250738585072011e-308", "1e-320",
             "0.0000001e-317", "1" + std::string(500, '0') + "e-900" }) {
        const TapeCheck result = tally.check("[" + number + "]");
        INFO(number);
        CHECK(result.simdjson);
    }
    // Integers of 19 digits and more, and -0: left to simdjson today (jsontape.h); a parser that took
    // them would have to write simdjson's 'l', 'u' or 'd' words, which the comparison checks.
    for (const char* number :
        { "-0", "1000000000000000000", "-1000000000000000000", "9223372036854775807", "-9223372036854775808",
            "9223372036854775808", "18446744073709551615", "-9223372036854775807", "9999999999999999999" }) {
        for (const std::string& text : { std::string(number), "{\"n\":[" + std::string(number) + "]}" }) {
            const TapeCheck result = tally.check(text);
            INFO("input: " << text);
            CHECK(result.simdjson);
        }
    }
    // Beyond a double, beyond 64 bits, and not numbers at all.
    for (const std::string& number : std::vector<std::string> { "1e309", "-1e309", "1e400", "1.8e308",
             "18446744073709551616", "100000000000000000000", "1" + std::string(400, '0') + ".0", "01", "-01", "00",
             "0.0.0", "-", "--1", "-a", "1.", "-1.", ".5", "-.5", "+1", "1.e5", "1e", "1e+", "1E-", "1e--1", "1e+-1",
             "0x10", "1a", "1.5a", "1e5a", "Infinity", "-Infinity", "NaN", "1_0", "1;5" }) {
        requireRefused(tally, number);
        requireRefused(tally, "[" + number + "]");
        requireRefused(tally, "{\"n\":" + number + "}");
    }
    tally.finish("numbers");
}

TEST_CASE("jsontape: random floating-point text rounds as simdjson rounds it")
{
    // The direct parser reads floating-point text with std::from_chars and simdjson with its own
    // code: both must round every decimal text to the same double. Texts of random doubles at every
    // precision, and texts near the midpoint between two neighbouring doubles (long double holds
    // it exactly), where a rounding error would show first.
    Tally tally;
    std::mt19937_64 random(2024);
    const auto text = [](auto value, std::chars_format format, int precision) {
        char buffer[128];
        const auto [end, error] = std::to_chars(buffer, buffer + sizeof buffer, value, format, precision);
        REQUIRE(error == std::errc());
        return std::string(buffer, end);
    };
    for (int i = 0; i < 30000; ++i) {
        double value;
        const std::uint64_t bits = random();
        if (i % 3 == 0) {
            std::memcpy(&value, &bits, sizeof value);
            if (!std::isfinite(value))
                continue;
        } else if (i % 3 == 1) {
            value = std::ldexp(double(bits >> 11), int(random() % 2200) - 1100); // subnormals to overflow
        } else {
            value
                = double(std::int64_t(bits >> 20)) / double(std::uint64_t(1) << (random() % 60)); // ordinary magnitudes
        }
        if (!std::isfinite(value))
            continue;
        const int precision = int(random() % 25);
        tally.check("[" + text(value, std::chars_format::scientific, precision) + "]");
        tally.check("[" + text(value, std::chars_format::general, 1 + precision) + "]");
        const double next = std::nextafter(value, HUGE_VAL);
        if (std::isfinite(next)) {
            const long double midpoint = (static_cast<long double>(value) + static_cast<long double>(next)) / 2;
            tally.check("[" + text(midpoint, std::chars_format::scientific, 16 + int(random() % 24)) + "]");
        }
    }
    tally.finish("floating-point text");
    CHECK(tally.direct > tally.checked / 2);
}

TEST_CASE("jsontape: nesting up to the depth limit and beyond")
{
    Tally tally;
    for (int depth : { 1, 2, 8, 63, kMaxDepth }) {
        requireDirect(tally, nestedArrays(depth));
        requireDirect(tally, nestedObjects(depth));
        requireDirect(tally, repeated("[{\"a\":", depth / 2) + "1" + repeated("}]", depth / 2));
        requireDirect(tally, repeated("[", depth) + repeated("]", depth));
        requireDirect(tally, repeated("[1,", depth) + "2" + repeated(",3]", depth));
    }
    // Deeper than the direct parser goes; simdjson (at its default depth of 1024) takes it.
    for (int depth : { kMaxDepth + 1, kMaxDepth + 2, 100, 1000 }) {
        requireLeftToSimdjson(tally, nestedArrays(depth));
        requireLeftToSimdjson(tally, nestedObjects(depth));
        requireLeftToSimdjson(tally, repeated("[{\"a\":", depth / 2) + "[[]]" + repeated("}]", depth / 2));
    }
    // Depth that returns to the limit after a deep branch closed.
    requireDirect(tally, "[" + nestedArrays(kMaxDepth - 1) + "," + nestedObjects(kMaxDepth - 1) + "]");
    requireLeftToSimdjson(tally, "[" + nestedArrays(kMaxDepth - 1) + "," + nestedObjects(kMaxDepth) + "]");
    // Unbalanced.
    requireRefused(tally, repeated("[", kMaxDepth));
    requireRefused(tally, repeated("[", kMaxDepth + 5));
    requireRefused(tally, nestedArrays(kMaxDepth) + "]");
    requireRefused(tally, repeated("[", 10) + repeated("]", 9));
    requireRefused(tally, repeated("[", 1100) + repeated("]", 1100)); // beyond simdjson's depth too
    tally.finish("nesting");
}

TEST_CASE("jsontape: the document's capacity bounds the text it takes")
{
    // A document allocated to the least the parser works with (a sanitizer then sees any write
    // beyond simdjson's own bounds), for every valid document and a string-heavy one.
    TapeComparer tight(TapeComparer::Sizing::Tight);
    std::vector<std::string> texts = validDocuments();
    texts.push_back("[" + repeated("\"\",", 300) + "\"\"]");
    texts.push_back("[" + repeated("\"\\u0800\\ud83d\\ude00\xf0\x9f\x98\x80\",", 100) + "1]");
    texts.push_back("[" + repeated("1,", 300) + "1]");
    texts.push_back(repeated("[", kMaxDepth) + repeated("]", kMaxDepth));
    for (const std::string& text : texts) {
        const TapeCheck result = tight.check(text);
        INFO("input: \"" << escapedBytes(text) << "\"");
        CHECK(result.problem == "");
        CHECK(result.direct == hasContainerRoot(text));
    }

    // Refused when the document cannot hold the text with the parser's 8-byte margin (and with no
    // document at all); taken from that margin on.
    simdjson::dom::document none;
    CHECK_FALSE(parseDirectly("[1,2]", none));
    for (const std::string& text : texts) {
        if (!hasContainerRoot(text))
            continue;
        INFO("input: \"" << escapedBytes(text) << "\"");
        simdjson::dom::document small;
        REQUIRE(small.allocate(text.size() + 7) == simdjson::SUCCESS);
        CHECK_FALSE(parseDirectly(text, small));
        simdjson::dom::document enough;
        REQUIRE(enough.allocate(text.size() + 8) == simdjson::SUCCESS);
        CHECK(parseDirectly(text, enough));
    }
}

TEST_CASE("jsontape: malformed text is refused by both")
{
    Tally tally;
    const std::vector<std::string> malformed = { "", " ", "\t\r\n ", "\n", "[", "]", "{", "}", ":", ",", "[1,]",
        "[1,2,]", "{\"a\":1,}", "[,1]", "[,]", "{,}", "[1,,2]", "[1 2]", "[1\"a\"]", "{\"a\" 1}", "{\"a\":1 \"b\":2}",
        "{\"a\"}", "{\"a\":}", "{\"a\"::1}", "{\"a\",1}", "{1:2}", "{null:1}", "{a:1}", "{'a':1}", "['a']", "[1]]",
        "[[1]", "{\"a\":1}}", "[}", "{]", "[1}", "{\"a\":1]", "[{]}", "{[}]", "tru", "truee", "trUe", "nul", "nulll",
        "True", "NULL", "falsey", "fals", "t", "n", "f", "\"abc", "\"\\\"", "\"\\x\"", "\"\\u12\"", "\"\\u12G4\"",
        "\"\\U0041\"", "\"\\a\"", "\"\\'\"", "\"\\0\"", "\"\\ \"", "\"\\u-123\"", "\"\\u 123\"", "\"\xc0\x80\"",
        "\"\xc1\xbf\"", "\"\xe0\x80\x80\"", "\"\xe0\x9f\xbf\"", "\"\xed\xa0\x80\"", "\"\xed\xbf\xbf\"",
        "\"\xf0\x80\x80\x80\"", "\"\xf0\x8f\xbf\xbf\"", "\"\xf4\x90\x80\x80\"", "\"\xf5\x80\x80\x80\"",
        "\"\xf7\xbf\xbf\xbf\"", "\"\xf8\x88\x80\x80\x80\"", "\"\xff\"", "\"\xfe\"", "\"\x80\"", "\"\xbf\"", "\"\xc3\"",
        "\"\xe2\x82\"", "\"\xf0\x9f\x98\"",
        "\"a\x80"
        "b\"",
        "\"\xc3\xa9\x80\"", "\"\xc3(\"", "\"\xe2\x28\xa1\"", "\"\xe2\x82\x28\"", "\"\xf0\x28\x8c\xbc\"",
        "\"\xf0\x9f\x98(\"", "\xc3\xa9", "[\xc3\xa9]", "[1,\xc3\xa9]", "{\"a\":1}\xc3\xa9", "1 2", "[] []", "{}x",
        "{} {}", "\"a\"\"b\"", "null,", "[1],", "1 ]", "1}", "[]]", "0 0", "true false", "\"\" 1" };
    for (const std::string& text : malformed)
        requireRefused(tally, text);
    // Every control character, raw in a string; DEL is allowed.
    for (int c = 1; c < 0x20; ++c) {
        requireRefused(tally, "\"a"s + char(c) + "b\"");
        requireRefused(tally, "{\""s + char(c) + "\":1}");
    }
    requireDirect(tally,
        "\"a\x7f"
        "b\"");
    // A NUL byte inside the text: in a string, between tokens, after the root, alone.
    for (const std::string& text : { "\"a\0b\""s, "[\"\0\"]"s, "{\"\0\":1}"s, "[1,\0 2]"s, "[\0]"s, "1\0"s, "[1]\0"s,
             "\0"s, " \0"s, "\0[1]"s, "{\"a\":\0}"s, "{\"a\"\0:1}"s, "[1\0]"s, "tr\0e"s, "nu\0l"s, "1.\0"s, "1e\0"s,
             "\"\\\0\""s, "\"\\u\0\""s, "\"\\u00\0\""s, "\"\\ud83d\\u\0\""s, "[1]\0\0\0\0\0\0\0\0"s, "\"a\" \0 "s })
        requireRefused(tally, text);
    tally.finish("malformed");
}

TEST_CASE("jsontape: lone surrogate escapes are left to simdjson")
{
    Tally tally;
    for (const char* text :
        { "\"\\ud800\"", "\"\\udbff\"", "\"\\udc00\"", "\"\\udfff\"", "\"\\ud800x\"", "\"\\ud800\\u0041\"",
            "\"\\ud800\\ud800\"", "\"\\udbff\\ue000\"", "\"\\ud800\\udbff\"", "\"\\ud800\\\"\"", "\"\\ud800\\n\"",
            "\"\\ud800\\\\udc00\"", "\"\\udc00\\ud800\"", "\"a\\ud83d\"", "[\"\\ud83d\",1]", "{\"\\ude00\":1}",
            "\"\\ud83d\\u00\"", "\"\\ud83d\\ude0\"", "\"\\ud83d\\uzzzz\"", "\"\\ud83d\\u\"", "\"\\ud83d\\" }) {
        const TapeCheck result = tally.check(text);
        INFO("input: \"" << escapedBytes(text) << "\"");
        CHECK_FALSE(result.direct);
    }
    tally.finish("lone surrogates");
}

TEST_CASE("jsontape: every truncation of valid documents")
{
    Tally tally;
    std::vector<std::string> documents = validDocuments();
    JsonGenerator generator(7);
    for (int i = 0; i < 60; ++i) {
        bool handled = false;
        documents.push_back(generator.document(handled));
    }
    for (const std::string& document : documents) {
        for (std::size_t length = 0; length < document.size(); ++length)
            tally.check(std::string_view(document).substr(0, length));
    }
    tally.finish("truncations");
    CHECK(tally.refused > tally.checked / 2); // most cuts leave no JSON: the inputs are not trivial
}

TEST_CASE("jsontape: generated documents are parsed directly and as simdjson parses them")
{
    Tally tally;
    int handled = 0;
    int handledDirect = 0;
    int shownRefusals = 0;
    for (const std::uint32_t seed : { 1u, 2u, 3u, 4u }) {
        JsonGenerator generator(seed);
        for (int i = 0; i < 10000; ++i) {
            bool inSubset = false;
            const std::string document = generator.document(inSubset);
            const TapeCheck result = tally.check(document);
            // Every generated document is JSON, except where a lone surrogate or a number past a
            // double's range made it so only by chance.
            if (!inSubset)
                continue;
            ++handled;
            CHECK(result.simdjson);
            if (result.direct)
                ++handledDirect;
            else if (++shownRefusals <= 5)
                WARN("valid text within the documented subset left to simdjson: \"" << escapedBytes(document) << "\"");
        }
    }
    tally.finish("generated");
    std::printf(
        "jsontape generated: %d within the documented subset, %d of them parsed directly\n", handled, handledDirect);
    // Not vacuous: most documents fall within the subset and all but a handful of those are taken.
    REQUIRE(handled > tally.checked * 3 / 4);
    REQUIRE(handledDirect >= handled - handled / 100);
}

TEST_CASE("jsontape: mutated generated documents")
{
    Tally tally;
    for (const std::uint32_t seed : { 11u, 12u, 13u, 14u }) {
        JsonGenerator generator(seed);
        std::mt19937 random(seed * 7919u);
        for (int i = 0; i < 6000; ++i) {
            bool handled = false;
            const std::string document = generator.document(handled);
            for (int m = 0; m < 6; ++m)
                tally.check(mutated(document, random));
        }
    }
    tally.finish("mutated");
    // Both outcomes are well represented, so the mutations test the parser's refusals and not
    // only its happy path.
    CHECK(tally.direct > tally.checked / 20);
    CHECK(tally.refused > tally.checked / 4);
}

TEST_CASE("jsontape: conformance vector deltas and states as written and compact")
{
    Tally tally;
    const QByteArray file = readFileOrFail(sharedProtocolDir() + QStringLiteral("/delta-vectors.json"));
    const std::vector<std::string> raw = rawVectorValues(file.toStdString());
    REQUIRE(raw.size() > 60);
    for (const std::string& text : raw) {
        requireDirect(tally, text);
        // simdjson's minify keeps strings and numbers exactly as written.
        std::string compact(text.size() + simdjson::SIMDJSON_PADDING, '\0');
        std::size_t compactLength = 0;
        REQUIRE(simdjson::minify(text.data(), text.size(), compact.data(), compactLength) == simdjson::SUCCESS);
        compact.resize(compactLength);
        requireDirect(tally, compact);
    }
    // The compact form the fold tests feed (Qt's writer: its own escapes and number forms).
    for (const DeltaVector& vector : loadDeltaVectors()) {
        for (const QByteArray& delta : vector.deltas)
            requireDirect(tally, delta.toStdString());
        requireDirect(tally, QJsonDocument(vector.expected.toObject()).toJson(QJsonDocument::Compact).toStdString());
    }
    tally.finish("conformance vectors");
}

TEST_CASE("jsontape: parseJson() reads the same elements whether it parsed directly or through simdjson")
{
    std::vector<std::string> inputs = {
        "{\"a\":1,\"b\":[true,false,null],\"c\":{\"d\":\"e\\u00e9\\ud83d\\ude00\"},\"f\":-2.5e-3}",
        "{\"big\":9223372036854775807,\"u\":18446744073709551615}",
        "{\"a\":1}",
        "{\"z\":-0,\"s\":\"x\"}",
        nestedObjects(100),
        "[\"after deep\",1.5]",
        " {\"a\" : [ 1 , 2 ] } ",
        "{\"n\":1000000000000000000}",
        "\"just a string\"",
        "[" + repeated("{\"k\":\"0123456789abcdef\",\"v\":123456.75},", 4000)
            + "0]", // beyond the thread's 64 KiB document
        "{\"after\":\"large\",\"x\":[[],{}]}",
    };
    JsonGenerator generator(99);
    for (int i = 0; i < 300; ++i) {
        bool handled = false;
        inputs.push_back(generator.document(handled));
    }
    simdjson::dom::parser reference;
    simdjson::dom::document classifier;
    REQUIRE(classifier.allocate(64 * 1024) == simdjson::SUCCESS); // what parseJson() starts with
    int direct = 0;
    int fallback = 0;
    for (const std::string& input : inputs) {
        simdjson::dom::element want;
        if (reference.parse(input).get(want) != simdjson::SUCCESS)
            continue; // a generated lone surrogate, or a number simdjson refuses
        const std::string expected = simdjson::to_string(want);
        INFO("input: \"" << escapedBytes(input) << "\"");
        simdjson::dom::element got;
        QString error;
        const quint64 directBefore = detail::parseJsonDirectCount();
        REQUIRE(detail::parseJson(input, got, &error));
        CHECK(simdjson::to_string(got) == expected);
        // parseJson() itself took the direct path exactly when the direct parser alone takes the text.
        const bool parsedDirectly = detail::parseJsonDirectCount() == directBefore + 1;
        CHECK(parsedDirectly == parseDirectly(input, classifier));
        (parsedDirectly ? direct : fallback)++;
    }
    std::printf("jsontape parseJson: %d parsed directly, %d through simdjson\n", direct, fallback);
    CHECK(direct > 200);
    CHECK(fallback >= 5);

    // Malformed text after a direct parse: simdjson's error, and the next delta parses again.
    simdjson::dom::element element;
    QString error;
    REQUIRE(detail::parseJson("{\"a\":[1,2]}", element, &error));
    CHECK_FALSE(detail::parseJson("{\"a\":[1,2],}", element, &error));
    CHECK(error.startsWith(QStringLiteral("invalid JSON")));
    CHECK_FALSE(detail::parseJson("{\"a\":tru}", element, &error));
    REQUIRE(detail::parseJson("{\"b\":\"\\u00e9\"}", element, &error));
    CHECK(simdjson::to_string(element) == "{\"b\":\"\xc3\xa9\"}");
}

namespace {

// A random object text whose keys are often list markers, spelled plainly or with escapes, beside
// near misses ("@", "@oo", "o", a value "@o").
std::string markerObject(std::mt19937& random, int depth)
{
    static const char* const kKeys[] = { "\"@o\"", "\"@s\"", "\"\\u0040o\"", "\"@\\u0073\"", "\"@\"", "\"@oo\"", "\"o\"", "\"s\"",
        "\"@x\"", "\"k\"", "\"12\"", "\"\\\"@o\"" };
    std::string out = "{";
    const int fields = int(random() % 5);
    for (int f = 0; f < fields; ++f) {
        if (f > 0)
            out += ',';
        out += kKeys[random() % std::size(kKeys)];
        out += ':';
        const unsigned kind = random() % 6;
        if (kind == 0 && depth < 6)
            out += markerObject(random, depth + 1);
        else if (kind == 1 && depth < 6)
            out += "[" + markerObject(random, depth + 1) + ",1]";
        else if (kind == 2)
            out += "\"@o\"";
        else if (kind == 3)
            out += "[[0,2],5]";
        else
            out += std::to_string(random() % 100);
    }
    return out + "}";
}

// Whether `o` holds "@o" or "@s" among its keys, by walking them.
bool holdsMarkerByWalk(simdjson::dom::object o)
{
    for (simdjson::dom::key_value_pair field : o) {
        if (field.key == "@o" || field.key == "@s")
            return true;
    }
    return false;
}

// Every object in `element`, depth first.
void collectObjects(simdjson::dom::element element, std::vector<simdjson::dom::object>& into)
{
    if (element.type() == simdjson::dom::element_type::OBJECT) {
        const simdjson::dom::object o = element.get_object().value_unsafe();
        into.push_back(o);
        for (simdjson::dom::key_value_pair field : o)
            collectObjects(field.value, into);
    } else if (element.type() == simdjson::dom::element_type::ARRAY) {
        const simdjson::dom::array items = element.get_array().value_unsafe();
        for (simdjson::dom::element item : items)
            collectObjects(item, into);
    }
}

} // namespace

TEST_CASE("jsontape: the objects holding a list marker are recorded as a walk of their keys finds them")
{
    simdjson::dom::document document;
    REQUIRE(document.allocate(64 * 1024) == simdjson::SUCCESS);
    std::mt19937 random(2026);
    int withMarker = 0;
    int without = 0;
    for (int i = 0; i < 3000; ++i) {
        const std::string text = markerObject(random, 0);
        INFO("input: \"" << escapedBytes(text) << "\"");
        detail::JsonTapeListMarkers markers;
        REQUIRE(parseDirectly(text, document, markers));
        std::vector<simdjson::dom::object> objects;
        collectObjects(document.root(), objects);
        for (const simdjson::dom::object& o : objects) {
            if (o.size() == 0)
                continue;
            const bool holds = holdsMarkerByWalk(o);
            (holds ? withMarker : without)++;
            // Never "without" for an object that holds one; always, short of an overflow, for one that does not.
            CHECK(markers.knownWithoutMarkers(o.begin().key_c_str()) == (!holds && !markers.overflow));
        }
    }
    CHECK(withMarker > 1000);
    CHECK(without > 1000);

    // More objects with markers than the record holds: it answers nothing rather than something wrong.
    std::string many = "[";
    for (int i = 0; i < detail::JsonTapeListMarkers::kMost + 1; ++i)
        many += std::string(i ? "," : "") + "{\"k\":1},{\"a\":1,\"@o\":[]}";
    many += "]";
    detail::JsonTapeListMarkers markers;
    REQUIRE(parseDirectly(many, document, markers));
    CHECK(markers.overflow);
    std::vector<simdjson::dom::object> objects;
    collectObjects(document.root(), objects);
    for (const simdjson::dom::object& o : objects)
        CHECK_FALSE(markers.knownWithoutMarkers(o.begin().key_c_str()));
    // A key of another document is never answered for.
    simdjson::dom::parser other;
    simdjson::dom::element elsewhere;
    REQUIRE(other.parse(std::string_view("{\"k\":1}")).get(elsewhere) == simdjson::SUCCESS);
    detail::JsonTapeListMarkers complete = markers;
    complete.overflow = false;
    CHECK_FALSE(complete.knownWithoutMarkers(elsewhere.get_object().value_unsafe().begin().key_c_str()));
}

TEST_CASE("jsontape: listMarkers() finds the markers of every object, parsed directly or through simdjson")
{
    std::mt19937 random(77);
    int direct = 0;
    int objectsChecked = 0;
    for (int i = 0; i < 2000; ++i) {
        std::string text = markerObject(random, 0);
        // Every fourth through simdjson: an integer of 19 digits is beyond the direct parser.
        if (i % 4 == 3)
            text = "{\"big\":1234567890123456789,\"in\":" + text + "}";
        INFO("input: \"" << escapedBytes(text) << "\"");
        simdjson::dom::element root;
        QString error;
        const quint64 directBefore = detail::parseJsonDirectCount();
        REQUIRE(detail::parseJson(text, root, &error));
        direct += detail::parseJsonDirectCount() != directBefore;
        std::vector<simdjson::dom::object> objects;
        collectObjects(root, objects);
        for (const simdjson::dom::object& o : objects) {
            const detail::ListMarkers markers = detail::listMarkers(o);
            bool order = false;
            bool size = false;
            for (simdjson::dom::key_value_pair field : o) {
                order = order || field.key == "@o";
                size = size || field.key == "@s";
            }
            CHECK(markers.order == order);
            CHECK(markers.size == size);
            ++objectsChecked;
        }
    }
    CHECK(direct > 1000);
    CHECK(direct < 2000);
    CHECK(objectsChecked > 4000);
}
