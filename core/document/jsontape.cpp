#include "core/document/jsontape.h"

#include <algorithm>
#include <bit>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstring>

namespace deltascope::detail {

namespace {

// simdjson's tape words: the type's character in the top byte, a 56-bit payload below it.
constexpr std::uint64_t tapeWord(char type, std::uint64_t payload)
{
    return (std::uint64_t(std::uint8_t(type)) << 56) | payload;
}

constexpr std::uint64_t kOnes = 0x0101010101010101ull;
constexpr std::uint64_t kHighBits = 0x8080808080808080ull;

// A mask with the high bit set in each of eight string bytes (in memory order, read little-endian)
// that may need a look of its own: a quote, a backslash, a control character or a byte of a
// multi-byte UTF-8 sequence. The lowest set bit is exact: a borrow that flags a later ordinary byte
// comes only from a byte that is flagged itself.
inline std::uint64_t specialBytes(std::uint64_t bytes)
{
    const std::uint64_t quote = bytes ^ (kOnes * '"');
    const std::uint64_t backslash = bytes ^ (kOnes * '\\');
    const std::uint64_t lowOrZero = (bytes - kOnes * 0x20) | (quote - kOnes) | (backslash - kOnes);
    return ((lowOrZero & ~bytes) | bytes) & kHighBits;
}

inline std::uint64_t loadLittleEndian(const std::uint8_t* p)
{
    std::uint64_t bytes;
    std::memcpy(&bytes, p, sizeof bytes);
    if constexpr (std::endian::native == std::endian::big)
        bytes = __builtin_bswap64(bytes);
    return bytes;
}

// JSON's four whitespace characters: tab, line feed, carriage return and space.
inline bool isJsonSpace(std::uint8_t c)
{
    return c <= ' ' && ((0x100002600ull >> c) & 1);
}

inline int hexValue(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

// Four hex digits at `p` (which has at least four bytes), or -1.
inline int hexQuad(const char* p)
{
    const int a = hexValue(p[0]), b = hexValue(p[1]), c = hexValue(p[2]), d = hexValue(p[3]);
    if ((a | b | c | d) < 0)
        return -1;
    return (a << 12) | (b << 8) | (c << 4) | d;
}

inline std::uint8_t* writeUtf8(std::uint8_t* out, std::uint32_t codePoint)
{
    if (codePoint < 0x80) {
        *out++ = std::uint8_t(codePoint);
    } else if (codePoint < 0x800) {
        *out++ = std::uint8_t(0xC0 | (codePoint >> 6));
        *out++ = std::uint8_t(0x80 | (codePoint & 0x3F));
    } else if (codePoint < 0x10000) {
        *out++ = std::uint8_t(0xE0 | (codePoint >> 12));
        *out++ = std::uint8_t(0x80 | ((codePoint >> 6) & 0x3F));
        *out++ = std::uint8_t(0x80 | (codePoint & 0x3F));
    } else {
        *out++ = std::uint8_t(0xF0 | (codePoint >> 18));
        *out++ = std::uint8_t(0x80 | ((codePoint >> 12) & 0x3F));
        *out++ = std::uint8_t(0x80 | ((codePoint >> 6) & 0x3F));
        *out++ = std::uint8_t(0x80 | (codePoint & 0x3F));
    }
    return out;
}

// The length of the well-formed UTF-8 sequence (RFC 3629: no overlong forms, no surrogates, nothing
// past U+10FFFF) that starts with the non-ASCII byte at `p`, or 0. The text's terminating NUL, not a
// continuation byte, stops it before the end.
int utf8SequenceLength(const std::uint8_t* p)
{
    const std::uint8_t lead = p[0];
    int length;
    std::uint8_t secondLow = 0x80, secondHigh = 0xBF;
    if (lead >= 0xC2 && lead <= 0xDF) {
        length = 2;
    } else if (lead >= 0xE0 && lead <= 0xEF) {
        length = 3;
        if (lead == 0xE0)
            secondLow = 0xA0;
        else if (lead == 0xED)
            secondHigh = 0x9F;
    } else if (lead >= 0xF0 && lead <= 0xF4) {
        length = 4;
        if (lead == 0xF0)
            secondLow = 0x90;
        else if (lead == 0xF4)
            secondHigh = 0x8F;
    } else {
        return 0;
    }
    if (p[1] < secondLow || p[1] > secondHigh)
        return 0;
    for (int i = 2; i < length; ++i) {
        if ((p[i] & 0xC0) != 0x80)
            return 0;
    }
    return length;
}

// One step of a string past the plain bytes the caller copies: the escape or UTF-8 sequence at `in`,
// decoded to `out`; false for anything else (a control character, the text's end, a bad escape).
// Out of line: most strings in deltas have neither.
[[gnu::noinline]] bool stringSpecialStep(const std::uint8_t*& in, std::uint8_t*& out)
{
    const std::uint8_t* p = in;
    if (*p >= 0x80) {
        const int length = utf8SequenceLength(p);
        if (length == 0)
            return false;
        std::memcpy(out, p, std::size_t(length));
        out += length;
        in = p + length;
        return true;
    }
    if (*p != '\\')
        return false;
    switch (p[1]) {
    case '"': *out++ = '"'; break;
    case '\\': *out++ = '\\'; break;
    case '/': *out++ = '/'; break;
    case 'b': *out++ = '\b'; break;
    case 'f': *out++ = '\f'; break;
    case 'n': *out++ = '\n'; break;
    case 'r': *out++ = '\r'; break;
    case 't': *out++ = '\t'; break;
    case 'u': {
        // The NUL at the text's end is no hex digit: a cut escape stops there.
        const int unit = hexQuad(reinterpret_cast<const char*>(p + 2));
        if (unit < 0)
            return false;
        if (unit >= 0xD800 && unit <= 0xDFFF) {
            // Only a high surrogate escape followed by a low one; simdjson judges the rest.
            if (unit > 0xDBFF || p[6] != '\\' || p[7] != 'u')
                return false;
            const int low = hexQuad(reinterpret_cast<const char*>(p + 8));
            if (low < 0xDC00 || low > 0xDFFF)
                return false;
            out = writeUtf8(out, 0x10000 + ((std::uint32_t(unit) - 0xD800) << 10) + (std::uint32_t(low) - 0xDC00));
            in = p + 12;
        } else {
            out = writeUtf8(out, std::uint32_t(unit));
            in = p + 6;
        }
        return true;
    }
    default:
        return false;
    }
    in = p + 2;
    return true;
}

// A number with a fraction or an exponent, from `start` (its sign or first digit): checked against
// JSON's grammar, then read by std::from_chars, which rounds correctly as simdjson does. Its end in
// `end`; false for text that is not such a number, or a value beyond a double's range (simdjson
// refuses an overflow and flushes an underflow; from_chars reports both).
[[gnu::noinline]] bool parseFloatingNumber(const std::uint8_t* start, const std::uint8_t*& end, double& value)
{
    const std::uint8_t* p = start;
    if (*p == '-')
        ++p;
    const std::uint8_t* const digits = p;
    while (unsigned(*p - '0') < 10)
        ++p;
    if (p == digits || (digits[0] == '0' && p - digits > 1))
        return false;
    if (*p == '.') {
        ++p;
        const std::uint8_t* const fraction = p;
        while (unsigned(*p - '0') < 10)
            ++p;
        if (p == fraction)
            return false;
    }
    if (*p == 'e' || *p == 'E') {
        ++p;
        if (*p == '+' || *p == '-')
            ++p;
        const std::uint8_t* const exponent = p;
        while (unsigned(*p - '0') < 10)
            ++p;
        if (p == exponent)
            return false;
    }
    const auto [stop, error] = std::from_chars(reinterpret_cast<const char*>(start), reinterpret_cast<const char*>(p), value);
    if (error != std::errc() || stop != reinterpret_cast<const char*>(p) || !std::isfinite(value))
        return false;
    end = p;
    return true;
}

struct Scope {
    std::uint32_t openIndex;
    std::uint32_t commas;
    bool isObject;
};

} // namespace

// One pass with an explicit scope stack. Whitespace is looked for only where the expected character
// is not found, as compact JSON has none. The NUL after the text stops every scan, being valid
// nowhere in JSON; the end is then told apart from a NUL inside the text by its position.
bool parsePaddedJsonToTape(const char* text, std::size_t length, simdjson::dom::document& document)
{
    // A tape holds at most one word per byte of valid JSON plus three, and the string buffer 5/3 of
    // the text plus padding (simdjson's own bounds, document::allocate()); the margin covers the
    // words written before an invalid text is refused and the eight-byte spill of string copies.
    const std::size_t capacity = document.capacity();
    if (length == 0 || capacity < 8 || length > capacity - 8)
        return false;
    const std::uint8_t* p = reinterpret_cast<const std::uint8_t*>(text);
    const std::uint8_t* const end = p + length;
    std::uint64_t* const tape = document.tape.get();
    std::uint8_t* const stringsStart = document.string_buf.get();
    std::uint8_t* strings = stringsStart;
    std::uint32_t next = 1; // tape[0] is the opening root word
    Scope scopes[kJsonTapeMaxDepth];
    int depth = 0;
    bool inObject = false;

    const auto skipSpace = [&] {
        while (isJsonSpace(*p))
            ++p;
    };
    // The string whose opening quote is at p: its length, bytes and a NUL into the string buffer,
    // its word onto the tape, as simdjson lays them out.
    const auto parseString = [&]() -> bool {
        const std::uint8_t* in = p + 1;
        std::uint8_t* const lengthAt = strings;
        std::uint8_t* out = strings + sizeof(std::uint32_t);
        for (;;) {
            const std::uint64_t bytes = loadLittleEndian(in);
            std::memcpy(out, in, 8);
            const std::uint64_t special = specialBytes(bytes);
            if (special == 0) {
                in += 8;
                out += 8;
                continue;
            }
            const int plain = std::countr_zero(special) / 8;
            in += plain;
            out += plain;
            if (*in == '"')
                break;
            if (!stringSpecialStep(in, out))
                return false;
        }
        const std::uint32_t stringLength = std::uint32_t(out - lengthAt - sizeof(std::uint32_t));
        std::memcpy(lengthAt, &stringLength, sizeof stringLength);
        *out++ = 0;
        tape[next++] = tapeWord('"', std::uint64_t(lengthAt - stringsStart));
        strings = out;
        p = in + 1;
        return true;
    };

    skipSpace();
value:
    switch (*p) {
    case '"':
        if (!parseString())
            return false;
        goto afterValue;
    case '{':
    case '[': {
        if (depth == kJsonTapeMaxDepth)
            return false;
        inObject = *p == '{';
        scopes[depth++] = Scope{next++, 0, inObject};
        ++p;
        skipSpace();
        if (*p == (inObject ? '}' : ']'))
            goto closeScope;
        if (inObject)
            goto key;
        goto value;
    }
    case 't':
        if (std::memcmp(p, "true", 4) != 0)
            return false;
        tape[next++] = tapeWord('t', 0);
        p += 4;
        goto afterValue;
    case 'f':
        if (std::memcmp(p, "false", 5) != 0)
            return false;
        tape[next++] = tapeWord('f', 0);
        p += 5;
        goto afterValue;
    case 'n':
        if (std::memcmp(p, "null", 4) != 0)
            return false;
        tape[next++] = tapeWord('n', 0);
        p += 4;
        goto afterValue;
    case '-':
    case '0': case '1': case '2': case '3': case '4':
    case '5': case '6': case '7': case '8': case '9': {
        // Integers of up to 18 digits are exact in an int64: 'l', as simdjson writes them.
        const std::uint8_t* const start = p;
        const bool negative = *p == '-';
        const std::uint8_t* const digits = p + negative;
        const std::uint8_t* q = digits;
        std::uint64_t magnitude = 0;
        while (unsigned(*q - '0') < 10) {
            magnitude = magnitude * 10 + unsigned(*q - '0');
            ++q;
        }
        const std::ptrdiff_t digitCount = q - digits;
        if (*q == '.' || *q == 'e' || *q == 'E') {
            double floating = 0;
            if (!parseFloatingNumber(start, q, floating))
                return false;
            tape[next++] = tapeWord('d', 0);
            std::memcpy(&tape[next++], &floating, sizeof floating);
        } else {
            // No digit, a leading zero, possibly beyond int64, or -0: simdjson decides.
            if (digitCount == 0 || digitCount > 18 || (digits[0] == '0' && (digitCount > 1 || negative)))
                return false;
            const std::int64_t integer = negative ? -std::int64_t(magnitude) : std::int64_t(magnitude);
            tape[next++] = tapeWord('l', 0);
            std::memcpy(&tape[next++], &integer, sizeof integer);
        }
        p = q;
        goto afterValue;
    }
    case ' ': case '\t': case '\n': case '\r':
        skipSpace();
        goto value;
    default:
        return false;
    }

afterValue:
    if (depth == 0) {
        skipSpace();
        if (p != end)
            return false;
        // The opening root word points just past the closing one.
        tape[0] = tapeWord('r', next + 1);
        tape[next] = tapeWord('r', 0);
        return true;
    }
    if (*p == ',') {
        ++scopes[depth - 1].commas;
        ++p;
        if (inObject)
            goto key;
        goto value;
    }
    if (*p == (inObject ? '}' : ']'))
        goto closeScope;
    if (!isJsonSpace(*p))
        return false;
    skipSpace();
    goto afterValue;

closeScope: {
    // A scope that holds a value holds one more than its commas; simdjson saturates the count.
    const Scope& scope = scopes[--depth];
    const std::uint32_t count = next == scope.openIndex + 1 ? 0 : scope.commas + 1;
    const std::uint32_t closeIndex = next++;
    tape[scope.openIndex] = tapeWord(inObject ? '{' : '[', (std::uint64_t(std::min<std::uint32_t>(count, 0xFFFFFF)) << 32) | (closeIndex + 1));
    tape[closeIndex] = tapeWord(inObject ? '}' : ']', scope.openIndex);
    ++p;
    inObject = depth > 0 && scopes[depth - 1].isObject;
    goto afterValue;
}

key:
    // An object's key, its colon, then its value.
    if (*p != '"') {
        skipSpace();
        if (*p != '"')
            return false;
    }
    if (!parseString())
        return false;
    if (*p != ':') {
        skipSpace();
        if (*p != ':')
            return false;
    }
    ++p;
    goto value;
}

}
