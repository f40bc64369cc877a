#include "core/document/jsonerror.h"

#include <cctype>
#include <charconv>
#include <system_error>
#include <vector>

namespace deltascope::detail {

namespace {

// Length of the UTF-8 sequence at text[i], or 0 when it is not valid UTF-8.
int utf8Length(std::string_view text, std::size_t i)
{
    const auto byte = [&](std::size_t k) { return static_cast<unsigned char>(text[k]); };
    const unsigned char c = byte(i);
    if (c < 0x80)
        return 1;
    int length;
    quint32 cp;
    if ((c & 0xe0) == 0xc0) {
        length = 2;
        cp = c & 0x1f;
    } else if ((c & 0xf0) == 0xe0) {
        length = 3;
        cp = c & 0x0f;
    } else if ((c & 0xf8) == 0xf0) {
        length = 4;
        cp = c & 0x07;
    } else {
        return 0;
    }
    if (i + std::size_t(length) > text.size())
        return 0;
    for (int k = 1; k < length; ++k) {
        if ((byte(i + k) & 0xc0) != 0x80)
            return 0;
        cp = (cp << 6) | (byte(i + k) & 0x3f);
    }
    if ((length == 2 && cp < 0x80) || (length == 3 && cp < 0x800) || (length == 4 && (cp < 0x10000 || cp > 0x10ffff))
        || (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return length;
}

bool isSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }
bool isDigit(char c) { return c >= '0' && c <= '9'; }

// The length of the JSON number literal at text[i] (grammar already checked, or 0 when there is none).
std::size_t numberLength(std::string_view text, std::size_t i)
{
    std::size_t k = i;
    if (k < text.size() && text[k] == '-')
        ++k;
    const auto digits = [&] {
        while (k < text.size() && isDigit(text[k]))
            ++k;
    };
    digits();
    if (k < text.size() && text[k] == '.') {
        ++k;
        digits();
    }
    if (k < text.size() && (text[k] == 'e' || text[k] == 'E')) {
        ++k;
        if (k < text.size() && (text[k] == '+' || text[k] == '-'))
            ++k;
        digits();
    }
    return k - i;
}

// Whether an integer literal (no fraction, no exponent) lies outside -2^63 .. 2^64-1.
bool beyond64Bits(std::string_view literal)
{
    const bool negative = literal.front() == '-';
    const std::string_view digits = negative ? literal.substr(1) : literal;
    const std::string_view limit = negative ? std::string_view("9223372036854775808") : std::string_view("18446744073709551615");
    // JSON has no leading zeros, so the longer text is the larger number; equal lengths compare as text.
    return digits.size() > limit.size() || (digits.size() == limit.size() && digits > limit);
}

// Whether a number literal with a fraction or exponent is too large for a double. from_chars
// reports an underflow the same way, but that reads as zero (as simdjson reads it): the two are told
// apart by the decimal exponent of the first significant digit.
bool overflowsDouble(std::string_view literal)
{
    double value = 0;
    if (std::from_chars(literal.data(), literal.data() + literal.size(), value).ec != std::errc::result_out_of_range)
        return false;
    std::size_t k = literal.front() == '-' ? 1 : 0;
    const std::size_t integralStart = k;
    while (k < literal.size() && isDigit(literal[k]))
        ++k;
    qint64 magnitude = qint64(k - integralStart) - 1;
    if (literal.substr(integralStart, k - integralStart) == "0") {
        magnitude = -1;
        if (k < literal.size() && literal[k] == '.') {
            for (++k; k < literal.size() && literal[k] == '0'; ++k)
                --magnitude;
        }
    }
    qint64 exponent = 0;
    const std::size_t e = literal.find_first_of("eE");
    if (e != std::string_view::npos) {
        std::size_t d = e + 1;
        const bool negative = d < literal.size() && literal[d] == '-';
        if (d < literal.size() && (literal[d] == '-' || literal[d] == '+'))
            ++d;
        for (; d < literal.size(); ++d)
            exponent = std::min<qint64>(exponent * 10 + (literal[d] - '0'), qint64(1) << 40); // saturates: only the sign matters here
        if (negative)
            exponent = -exponent;
    }
    return magnitude + exponent > 0;
}

// ASCII text for a message, cut after 40 characters (a number literal can be any length).
QString excerpt(std::string_view ascii)
{
    constexpr std::size_t kMax = 40;
    const QString shown = QString::fromLatin1(ascii.data(), qsizetype(std::min(ascii.size(), kMax)));
    return ascii.size() > kMax ? shown + QStringLiteral("...") : shown;
}

// The UTF-16 code unit of the four hex digits at text[i] (already checked to be hex digits).
quint32 hexUnit(std::string_view text, std::size_t i)
{
    quint32 unit = 0;
    std::from_chars(text.data() + i, text.data() + i + 4, unit, 16);
    return unit;
}

} // namespace

JsonErrorLocation locateJsonError(std::string_view text, int maxDepth)
{
    const auto fail = [](std::size_t at, QString what) { return JsonErrorLocation { qsizetype(at), std::move(what) }; };
    for (std::size_t i = 0; i < text.size();) {
        const int length = utf8Length(text, i);
        if (length == 0)
            return fail(i, QStringLiteral("invalid UTF-8"));
        i += std::size_t(length);
    }

    // Expectation states of a small pushdown automaton.
    enum class Expect { Value, ValueOrEnd, KeyOrEnd, Key, Colon, CommaOrEnd, Done };
    std::vector<char> stack; // '{' or '['
    Expect expect = Expect::Value;
    std::size_t i = 0;
    const std::size_t n = text.size();
    const auto closeContainer = [&](char closer) -> bool {
        if (stack.empty() || (stack.back() == '{' ? '}' : ']') != closer)
            return false;
        stack.pop_back();
        expect = stack.empty() ? Expect::Done : Expect::CommaOrEnd;
        return true;
    };
    while (true) {
        while (i < n && isSpace(text[i]))
            ++i;
        if (i >= n) {
            if (expect == Expect::Done)
                return {};
            return fail(n, QStringLiteral("unexpected end of input (truncated JSON)"));
        }
        const char c = text[i];
        switch (expect) {
        case Expect::Done:
            return fail(i, QStringLiteral("unexpected text after the JSON value"));
        case Expect::Colon:
            if (c != ':')
                return fail(i, QStringLiteral("expected ':' after an object key"));
            ++i;
            expect = Expect::Value;
            continue;
        case Expect::CommaOrEnd:
            if (c == ',') {
                ++i;
                expect = stack.back() == '{' ? Expect::Key : Expect::Value;
                continue;
            }
            if (c == '}' || c == ']') {
                if (!closeContainer(c))
                    return fail(i, QStringLiteral("mismatched '%1'").arg(QLatin1Char(c)));
                ++i;
                continue;
            }
            return fail(i, QStringLiteral("expected ',' or the end of the %1").arg(stack.back() == '{' ? QStringLiteral("object") : QStringLiteral("array")));
        case Expect::KeyOrEnd:
        case Expect::Key:
            if (c == '}' && expect == Expect::KeyOrEnd) {
                closeContainer('}');
                ++i;
                continue;
            }
            if (c != '"')
                return fail(i, QStringLiteral("expected a string key"));
            break; // the string is scanned below
        case Expect::Value:
        case Expect::ValueOrEnd:
            if (c == ']' && expect == Expect::ValueOrEnd) {
                closeContainer(']');
                ++i;
                continue;
            }
            break;
        }
        // A value (or a key string).
        if (c == '{' || c == '[') {
            if (int(stack.size()) >= maxDepth)
                return fail(i, QStringLiteral("nesting deeper than %1 levels").arg(maxDepth));
            stack.push_back(c);
            expect = c == '{' ? Expect::KeyOrEnd : Expect::ValueOrEnd;
            ++i;
            continue;
        }
        const bool isKey = expect == Expect::Key || expect == Expect::KeyOrEnd;
        if (c == '"') {
            std::size_t k = i + 1;
            while (true) {
                if (k >= n)
                    return fail(n, QStringLiteral("unterminated string starting at byte %1").arg(i));
                const unsigned char ch = static_cast<unsigned char>(text[k]);
                if (ch == '"')
                    break;
                if (ch < 0x20)
                    return fail(k, QStringLiteral("control character inside a string"));
                if (ch == '\\') {
                    if (k + 1 >= n)
                        return fail(n, QStringLiteral("unterminated escape"));
                    const char e = text[k + 1];
                    if (e == 'u') {
                        const auto hexAt = [&](std::size_t at) {
                            for (std::size_t h = 0; h < 4; ++h) {
                                if (at + h >= n || !std::isxdigit(static_cast<unsigned char>(text[at + h])))
                                    return false;
                            }
                            return true;
                        };
                        if (!hexAt(k + 2))
                            return fail(k, QStringLiteral("bad \\u escape"));
                        const quint32 unit = hexUnit(text, k + 2);
                        if (unit >= 0xd800 && unit <= 0xdfff) {
                            // A surrogate pair is two escapes; either half alone is no character, which
                            // JSON text cannot carry in UTF-8 (JavaScript strings can).
                            const bool paired = unit <= 0xdbff && k + 7 < n && text[k + 6] == '\\' && text[k + 7] == 'u' && hexAt(k + 8)
                                && hexUnit(text, k + 8) >= 0xdc00 && hexUnit(text, k + 8) <= 0xdfff;
                            if (!paired)
                                return fail(k, QStringLiteral("lone UTF-16 surrogate %1: half a character, which UTF-8 text cannot hold").arg(excerpt(text.substr(k, 6))));
                            k += 6;
                        }
                        k += 6;
                        continue;
                    }
                    if (std::string_view("\"\\/bfnrt").find(e) == std::string_view::npos)
                        return fail(k, QStringLiteral("bad escape '\\%1'").arg(QLatin1Char(e)));
                    k += 2;
                    continue;
                }
                ++k;
            }
            i = k + 1;
            expect = isKey ? Expect::Colon : (stack.empty() ? Expect::Done : Expect::CommaOrEnd);
            continue;
        }
        if (isKey)
            return fail(i, QStringLiteral("expected a string key"));
        const auto literal = [&](std::string_view word) { return text.substr(i, word.size()) == word; };
        if (literal("true") || literal("null")) {
            i += 4;
        } else if (literal("false")) {
            i += 5;
        } else if (c == '-' || (c >= '0' && c <= '9')) {
            std::size_t k = i;
            if (text[k] == '-')
                ++k;
            if (k >= n || !std::isdigit(static_cast<unsigned char>(text[k])))
                return fail(k, QStringLiteral("bad number"));
            if (text[k] == '0' && k + 1 < n && std::isdigit(static_cast<unsigned char>(text[k + 1])))
                return fail(k, QStringLiteral("number with a leading zero"));
            while (k < n && std::isdigit(static_cast<unsigned char>(text[k])))
                ++k;
            if (k < n && text[k] == '.') {
                ++k;
                if (k >= n || !std::isdigit(static_cast<unsigned char>(text[k])))
                    return fail(k, QStringLiteral("bad number"));
                while (k < n && std::isdigit(static_cast<unsigned char>(text[k])))
                    ++k;
            }
            if (k < n && (text[k] == 'e' || text[k] == 'E')) {
                ++k;
                if (k < n && (text[k] == '+' || text[k] == '-'))
                    ++k;
                if (k >= n || !std::isdigit(static_cast<unsigned char>(text[k])))
                    return fail(k, QStringLiteral("bad number exponent"));
                while (k < n && std::isdigit(static_cast<unsigned char>(text[k])))
                    ++k;
            }
            // Integers of any size are read (see widenHugeIntegers); a fraction or exponent beyond
            // a double's range is refused (JavaScript would read Infinity, which JSON cannot write).
            const std::string_view literal = text.substr(i, k - i);
            if (literal.find_first_of(".eE") != std::string_view::npos && overflowsDouble(literal))
                return fail(i, QStringLiteral("number %1 is beyond the range of a double").arg(excerpt(literal)));
            i = k;
        } else {
            if (c >= 0x20 && c < 0x7f)
                return fail(i, QStringLiteral("unexpected character '%1'").arg(QLatin1Char(c)));
            // A byte that prints as nothing (or as '?') is named by its value: a UTF-8 byte order
            // mark (EF BB BF) or a NUL is then recognisable.
            const bool byteOrderMark = text.substr(i, 3) == "\xEF\xBB\xBF";
            return fail(i, QStringLiteral("unexpected byte 0x%1%2")
                               .arg(unsigned(static_cast<unsigned char>(c)), 2, 16, QLatin1Char('0'))
                               .arg(byteOrderMark ? QStringLiteral(" (a UTF-8 byte order mark: save the file without one)") : QString()));
        }
        expect = stack.empty() ? Expect::Done : Expect::CommaOrEnd;
    }
}

std::optional<std::string> widenHugeIntegers(std::string_view text)
{
    std::string widened;
    std::size_t copied = 0; // text[0, copied) is in `widened` already
    for (std::size_t i = 0; i < text.size();) {
        const char c = text[i];
        if (c == '"') {
            // Skip the string, escapes included (digits inside are text, not numbers).
            ++i;
            while (i < text.size() && text[i] != '"')
                i += text[i] == '\\' ? 2 : 1;
            ++i;
            continue;
        }
        if (c != '-' && !isDigit(c)) {
            ++i;
            continue;
        }
        const std::size_t length = std::max<std::size_t>(numberLength(text, i), 1);
        const std::string_view literal = text.substr(i, length);
        if (literal.size() > 1 && literal.find_first_of(".eE") == std::string_view::npos && isDigit(literal.back())
            && beyond64Bits(literal)) {
            widened.append(text.substr(copied, i + length - copied));
            widened.append(".0");
            copied = i + length;
        }
        i += length;
    }
    if (copied == 0)
        return std::nullopt;
    widened.append(text.substr(copied));
    return widened;
}

}
