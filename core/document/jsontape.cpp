#include "core/document/jsontape.h"

#include <algorithm>
#include <array>
#include <bit>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <string_view>

// The 16-byte string scan where SSE2 is; the portable eight-byte one elsewhere, or when asked for
// (tst_jsontape_portable tests it on x86 too).
#if defined(__SSE2__) && !defined(DELTASCOPE_JSONTAPE_PORTABLE)
#define DELTASCOPE_JSONTAPE_SSE2 1
#include <emmintrin.h>
#endif

namespace deltascope::detail {

// jsonerror.cpp checks the same grammar (UTF-8, escapes, surrogates, numbers) to say where a text
// fails; this file does it again on NUL-terminated text for speed, and only to accept or refuse.

namespace {

// simdjson's tape words: the type's character in the top byte, a 56-bit payload below it.
constexpr std::uint64_t tapeWord(char type, std::uint64_t payload)
{
    return (std::uint64_t(std::uint8_t(type)) << 56) | payload;
}
constexpr std::uint64_t kPayloadMask = (std::uint64_t(1) << 56) - 1;

#if defined(DELTASCOPE_JSONTAPE_SSE2)
constexpr int kPlainBlock = 16;

// Copies the block at `in` to `out` and returns how many of its bytes, from the start, need no look
// of their own: no quote, backslash, control character or byte of a multi-byte UTF-8 sequence.
inline int plainStringBytes(const std::uint8_t* in, std::uint8_t* out)
{
    const __m128i block = _mm_loadu_si128(reinterpret_cast<const __m128i*>(in));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(out), block);
    const __m128i quote = _mm_cmpeq_epi8(block, _mm_set1_epi8('"'));
    const __m128i backslash = _mm_cmpeq_epi8(block, _mm_set1_epi8('\\'));
    // A signed compare: bytes 0x80 and above are negative, so one test finds both control
    // characters and UTF-8 sequences.
    const __m128i controlOrUtf8 = _mm_cmplt_epi8(block, _mm_set1_epi8(0x20));
    const unsigned special = unsigned(_mm_movemask_epi8(_mm_or_si128(_mm_or_si128(quote, backslash), controlOrUtf8)));
    return special ? std::countr_zero(special) : kPlainBlock;
}
#else
constexpr int kPlainBlock = 8;
constexpr std::uint64_t kOnes = 0x0101010101010101ull;
constexpr std::uint64_t kHighBits = 0x8080808080808080ull;

// As above, eight bytes at a time within a 64-bit word. The mask's lowest set bit is exact: a
// borrow that flags a later ordinary byte comes only from a byte that is flagged itself.
inline int plainStringBytes(const std::uint8_t* in, std::uint8_t* out)
{
    std::uint64_t bytes;
    std::memcpy(&bytes, in, sizeof bytes);
    std::memcpy(out, in, sizeof bytes);
    if constexpr (std::endian::native == std::endian::big)
        bytes = __builtin_bswap64(bytes);
    const std::uint64_t quote = bytes ^ (kOnes * '"');
    const std::uint64_t backslash = bytes ^ (kOnes * '\\');
    const std::uint64_t lowOrZero = (bytes - kOnes * 0x20) | (quote - kOnes) | (backslash - kOnes);
    const std::uint64_t special = ((lowOrZero & ~bytes) | bytes) & kHighBits;
    return special ? std::countr_zero(special) / 8 : kPlainBlock;
}
#endif

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

inline std::uint8_t* encodeUtf8(std::uint8_t* out, std::uint32_t codePoint)
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

// One step of a string past the plain bytes the caller copies: the escape or UTF-8 sequence at `p`,
// decoded to `out`, and where both go on; a null `in` for anything else (a control character, the
// text's end, a bad escape). Out of line, and by value so the caller's pointers stay in registers:
// most strings in deltas have neither.
struct StringStep {
    const std::uint8_t* in; // null when the string is refused
    std::uint8_t* out;
};

[[gnu::noinline]] StringStep stringSpecialStep(const std::uint8_t* p, std::uint8_t* out)
{
    if (*p >= 0x80) {
        const int length = utf8SequenceLength(p);
        if (length == 0)
            return {};
        std::memcpy(out, p, std::size_t(length));
        return {p + length, out + length};
    }
    if (*p != '\\')
        return {};
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
            return {};
        if (unit >= 0xD800 && unit <= 0xDFFF) {
            // Only a high surrogate escape followed by a low one; simdjson judges the rest.
            if (unit > 0xDBFF || p[6] != '\\' || p[7] != 'u')
                return {};
            const int low = hexQuad(reinterpret_cast<const char*>(p + 8));
            if (low < 0xDC00 || low > 0xDFFF)
                return {};
            return {p + 12, encodeUtf8(out, 0x10000 + ((std::uint32_t(unit) - 0xD800) << 10) + (std::uint32_t(low) - 0xDC00))};
        }
        return {p + 6, encodeUtf8(out, std::uint32_t(unit))};
    }
    default:
        return {};
    }
    return {p + 2, out};
}

// A number with a fraction or an exponent, from `start` (its sign or first digit): checked against
// JSON's grammar, then read by std::from_chars, which rounds correctly as simdjson does. Returns its
// end, or null for text that is not such a number or a value beyond a double's range (simdjson
// refuses an overflow and flushes an underflow; from_chars reports both). It scans the integer part
// again: such numbers are rare in deltas, and the caller's scan stays simple.
[[gnu::noinline]] const std::uint8_t* parseFloatingNumber(const std::uint8_t* start, double& value)
{
    const std::uint8_t* p = start;
    if (*p == '-')
        ++p;
    const std::uint8_t* const digits = p;
    while (unsigned(*p - '0') < 10)
        ++p;
    if (p == digits || (digits[0] == '0' && p - digits > 1))
        return nullptr;
    if (*p == '.') {
        ++p;
        const std::uint8_t* const fraction = p;
        while (unsigned(*p - '0') < 10)
            ++p;
        if (p == fraction)
            return nullptr;
    }
    if (*p == 'e' || *p == 'E') {
        ++p;
        if (*p == '+' || *p == '-')
            ++p;
        const std::uint8_t* const exponent = p;
        while (unsigned(*p - '0') < 10)
            ++p;
        if (p == exponent)
            return nullptr;
    }
    const auto [stop, error] = std::from_chars(reinterpret_cast<const char*>(start), reinterpret_cast<const char*>(p), value);
    if (error != std::errc() || stop != reinterpret_cast<const char*>(p) || !std::isfinite(value))
        return nullptr;
    return p;
}

// What a value starting with each byte is: one table load, then one jump.
enum ValueStart : std::uint8_t { kNoValue, kStringValue, kObjectValue, kArrayValue, kTrueValue, kFalseValue, kNullValue, kDigitValue, kMinusValue, kSpaceBefore };

constexpr std::array<std::uint8_t, 256> valueStarts()
{
    std::array<std::uint8_t, 256> starts{};
    starts['"'] = kStringValue;
    starts['{'] = kObjectValue;
    starts['['] = kArrayValue;
    starts['t'] = kTrueValue;
    starts['f'] = kFalseValue;
    starts['n'] = kNullValue;
    starts['-'] = kMinusValue;
    for (char digit = '0'; digit <= '9'; ++digit)
        starts[std::uint8_t(digit)] = kDigitValue;
    starts[' '] = starts['\t'] = starts['\n'] = starts['\r'] = kSpaceBefore;
    return starts;
}
constexpr std::array<std::uint8_t, 256> kValueStarts = valueStarts();

// An enclosing container while its content is parsed: where its opening word is, how many commas it
// has seen so far, and the bracket that closes it ('}' or ']', two after the one that opens it).
struct Scope {
    std::uint32_t openIndex;
    std::uint32_t commas;
    std::uint8_t close;
};

// One pass with an explicit scope stack; the innermost scope lives in locals. Whitespace is looked
// for only where the expected character is not found, as compact JSON has none. The NUL after the
// text stops every scan, being valid nowhere in JSON; the end is told apart from a NUL inside the
// text by its position. With `kShape`, it also finds the text's JsonTapeShape; without, a fold
// that needs none (the canonical one) pays nothing for it.
template<bool kShape, bool kMarkers>
bool parseToTape(const char* text, std::size_t length, simdjson::dom::document& document, JsonTapeShape* shape, JsonTapeListMarkers* markers)
{
    // A tape holds at most one word per byte of valid JSON plus three, and the string buffer 5/3 of
    // the text plus padding (simdjson's own bounds, document::allocate()); the margin covers the
    // words written before an invalid text is refused and the eight-byte spill of string copies.
    if constexpr (!kJsonTapeLayoutVerified)
        return false;
    const std::size_t capacity = document.capacity();
    if (length == 0 || capacity < 8 || length > capacity - 8)
        return false;
    const std::uint8_t* p = reinterpret_cast<const std::uint8_t*>(text);
    const std::uint8_t* const end = p + length;
    std::uint64_t* const tape = document.tape.get();
    std::uint8_t* const stringsStart = document.string_buf.get();
    std::uint8_t* strings = stringsStart;
    std::uint32_t next = 1; // tape[0] is the opening root word
    // The enclosing scopes; the innermost one is `scope`. At depth 0, outside the root container,
    // nothing is parsed.
    Scope outer[kJsonTapeMaxDepth];
    int depth = 0;
    Scope scope{0, 0, 0};
    // The shape, in locals until the end: through `shape`, each string byte stored would make the
    // compiler read them again.
    std::uint32_t deepestObject = 0;
    bool nullInArray = false;
    if constexpr (kMarkers) {
        markers->count = 0;
        markers->overflow = false;
    }

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
            // Plain bytes a block at a time; the block copied past the string's end is overwritten
            // by what follows, or lies in the string buffer's padding.
            const int plain = plainStringBytes(in, out);
            in += plain;
            out += plain;
            if (plain == kPlainBlock)
                continue;
            if (*in == '"')
                break;
            const StringStep step = stringSpecialStep(in, out);
            if (!step.in)
                return false;
            in = step.in;
            out = step.out;
        }
        const std::uint32_t stringLength = std::uint32_t(out - lengthAt - sizeof(std::uint32_t));
        std::memcpy(lengthAt, &stringLength, sizeof stringLength);
        *out++ = 0;
        tape[next++] = tapeWord('"', std::uint64_t(lengthAt - stringsStart));
        strings = out;
        p = in + 1;
        return true;
    };

    // The container whose bracket is at p, closed by `close`: its scope replaces the enclosing one,
    // which is kept, and its opening word's place is held until its count is known.
    const auto openScope = [&](std::uint8_t close) -> bool {
        if (depth == kJsonTapeMaxDepth)
            return false;
        outer[depth++] = scope;
        scope = Scope{next++, 0, close};
        ++p;
        return true;
    };
    // true, false or null at p: the word, then its tape word (typed by the word's first letter). A
    // word cut by the text's end meets the NUL there; its five bytes at most stay in the padding.
    const auto parseLiteral = [&](std::string_view word) -> bool {
        if (std::memcmp(p, word.data(), word.size()) != 0)
            return false;
        tape[next++] = tapeWord(word[0], 0);
        p += word.size();
        return true;
    };

    // A delta is an object: a text whose root is not a container is left to simdjson, so the only
    // value at the root is one that closes below, and no test for the root is made after the others.
    skipSpace();
    if (*p != '{' && *p != '[')
        return false;
value:
    switch (kValueStarts[*p]) {
    case kStringValue:
        if (!parseString())
            return false;
        goto afterValue;
    case kObjectValue:
        if (!openScope('}'))
            return false;
        if constexpr (kShape)
            deepestObject = std::max(deepestObject, std::uint32_t(depth));
        if (*p == '"')
            goto keyString;
        skipSpace();
        if (*p == '}')
            goto closeScope;
        goto key;
    case kArrayValue:
        if (!openScope(']'))
            return false;
        skipSpace();
        if (*p == ']')
            goto closeScope;
        goto value;
    case kTrueValue:
        if (!parseLiteral("true"))
            return false;
        goto afterValue;
    case kFalseValue:
        if (!parseLiteral("false"))
            return false;
        goto afterValue;
    case kNullValue:
        if (!parseLiteral("null"))
            return false;
        if constexpr (kShape)
            nullInArray = nullInArray || scope.close == ']';
        goto afterValue;
    case kDigitValue: {
        // Integers of up to 18 digits are exact in an int64: 'l', as simdjson writes them.
        std::uint64_t magnitude = std::uint64_t(*p) - '0';
        const std::uint8_t* q = p + 1;
        for (std::uint64_t digit = std::uint64_t(*q) - '0'; digit < 10; digit = std::uint64_t(*++q) - '0')
            magnitude = magnitude * 10 + digit;
        if (*q == '.' || *q == 'e' || *q == 'E')
            goto floatingNumber;
        // Possibly beyond int64, or a leading zero.
        if (q - p > 18 || (*p == '0' && q - p > 1))
            return false;
        tape[next++] = tapeWord('l', 0);
        std::memcpy(&tape[next++], &magnitude, sizeof magnitude);
        p = q;
        goto afterValue;
    }
    case kMinusValue: {
        std::uint64_t magnitude = 0;
        const std::uint8_t* q = p + 1;
        for (std::uint64_t digit = std::uint64_t(*q) - '0'; digit < 10; digit = std::uint64_t(*++q) - '0')
            magnitude = magnitude * 10 + digit;
        if (*q == '.' || *q == 'e' || *q == 'E')
            goto floatingNumber;
        // No digit, possibly beyond int64, a leading zero, or -0 (simdjson decides).
        if (std::size_t(q - p - 2) >= 18 || p[1] == '0')
            return false;
        const std::int64_t integer = -std::int64_t(magnitude);
        tape[next++] = tapeWord('l', 0);
        std::memcpy(&tape[next++], &integer, sizeof integer);
        p = q;
        goto afterValue;
    }
    case kSpaceBefore:
        skipSpace();
        goto value;
    default:
        return false;
    }

floatingNumber: {
    // A number with a fraction or an exponent, from its start at p: 'd'.
    double floating = 0;
    const std::uint8_t* const numberEnd = parseFloatingNumber(p, floating);
    if (!numberEnd)
        return false;
    tape[next++] = tapeWord('d', 0);
    std::memcpy(&tape[next++], &floating, sizeof floating);
    p = numberEnd;
    goto afterValue;
}

afterValue:
    if (*p == ',') {
        ++scope.commas;
        ++p;
        if (scope.close == '}') {
            if (*p == '"')
                goto keyString;
            goto key;
        }
        goto value;
    }
    if (*p == scope.close)
        goto closeScope;
    if (!isJsonSpace(*p))
        return false;
    skipSpace();
    goto afterValue;

closeScope: {
    // A scope that holds a value holds one more than its commas; simdjson saturates the count.
    const std::uint32_t count = next == scope.openIndex + 1 ? 0 : scope.commas + 1;
    const std::uint32_t closeIndex = next++;
    tape[scope.openIndex] = tapeWord(char(scope.close - 2), (std::uint64_t(std::min<std::uint32_t>(count, 0xFFFFFF)) << 32) | (closeIndex + 1));
    tape[closeIndex] = tapeWord(char(scope.close), scope.openIndex);
    ++p;
    scope = outer[--depth];
    if (depth > 0)
        goto afterValue;
    // The root closed: only whitespace may follow.
    skipSpace();
    if (p != end)
        return false;
    // The opening root word points just past the closing one.
    tape[0] = tapeWord('r', next + 1);
    tape[next] = tapeWord('r', 0);
    if constexpr (kShape)
        *shape = JsonTapeShape { deepestObject, nullInArray };
    if constexpr (kMarkers) {
        markers->stringsBegin = reinterpret_cast<const char*>(stringsStart);
        markers->stringsEnd = reinterpret_cast<const char*>(strings);
    }
    return true;
}

key:
    // An object's key, its colon, then its value.
    skipSpace();
    if (*p != '"')
        return false;
keyString:
    if (!parseString())
        return false;
    // A list marker? The key as unescaped ends just before `strings`, with its NUL: a key's second
    // last byte, or for a shorter one a byte of its length word (never '@'), is read first. A key
    // takes five bytes at least, a long one whose last bytes read as a length of 2 then "@o" only
    // costs its object a walk (knownWithoutMarkers() errs only that way), and all stays in the buffer.
    if constexpr (kMarkers) {
        if (strings[-3] == '@') [[unlikely]] {
            std::uint32_t keyLength;
            std::memcpy(&keyLength, strings - 7, sizeof keyLength);
            if (keyLength == 2 && (strings[-2] == 'o' || strings[-2] == 's')) {
                // The object by its first key, whose tape word follows the object's opening one.
                const char* const firstKey = reinterpret_cast<const char*>(stringsStart) + (tape[scope.openIndex + 1] & kPayloadMask) + sizeof(std::uint32_t);
                if (markers->count > 0 && markers->firstKeys[markers->count - 1] == firstKey) {
                    // Both markers, or one repeated: the object is recorded already.
                } else if (markers->count == JsonTapeListMarkers::kMost) {
                    markers->overflow = true;
                } else {
                    markers->firstKeys[markers->count++] = firstKey;
                }
            }
        }
    }
    if (*p != ':') {
        skipSpace();
        if (*p != ':')
            return false;
    }
    ++p;
    goto value;
}

} // namespace

void copyIntoPadded(char* to, const char* from, std::size_t length)
{
#if defined(DELTASCOPE_JSONTAPE_SSE2)
    // Blocks of 16; the last one read ends at the text's end and may overlap the one before, so
    // nothing past `from + length` is read. Below 16 bytes, the library copy.
    if (length >= 16) {
        std::size_t at = 0;
        for (; at + 16 < length; at += 16)
            _mm_storeu_si128(reinterpret_cast<__m128i*>(to + at), _mm_loadu_si128(reinterpret_cast<const __m128i*>(from + at)));
        _mm_storeu_si128(reinterpret_cast<__m128i*>(to + length - 16), _mm_loadu_si128(reinterpret_cast<const __m128i*>(from + length - 16)));
        return;
    }
#endif
    if (length)
        std::memcpy(to, from, length);
}

bool parsePaddedJsonToTape(const char* text, std::size_t length, simdjson::dom::document& document)
{
    return parseToTape<false, false>(text, length, document, nullptr, nullptr);
}

bool parsePaddedJsonToTape(const char* text, std::size_t length, simdjson::dom::document& document, JsonTapeShape& shape)
{
    return parseToTape<true, false>(text, length, document, &shape, nullptr);
}

bool parsePaddedJsonToTape(const char* text, std::size_t length, simdjson::dom::document& document, JsonTapeShape* shape, JsonTapeListMarkers& markers)
{
    return shape ? parseToTape<true, true>(text, length, document, shape, &markers) : parseToTape<false, true>(text, length, document, nullptr, &markers);
}

}
