#include "core/document/jsonerror.h"

#include <cctype>
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
                        for (int h = 0; h < 4; ++h) {
                            if (k + 2 + std::size_t(h) >= n || !std::isxdigit(static_cast<unsigned char>(text[k + 2 + std::size_t(h)])))
                                return fail(k, QStringLiteral("bad \\u escape"));
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
            i = k;
        } else {
            return fail(i, QStringLiteral("unexpected character '%1'").arg(QLatin1Char(c >= 0x20 && c < 0x7f ? c : '?')));
        }
        expect = stack.empty() ? Expect::Done : Expect::CommaOrEnd;
    }
}

}
