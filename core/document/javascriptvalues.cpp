#include "core/document/javascriptvalues.h"

#include <QString>

#include <charconv>
#include <cmath>
#include <cstring>
#include <limits>

namespace deltascope::detail {

namespace dom = simdjson::dom;

namespace {

// JavaScript's white space and line terminators, which Number() trims (UTF-8 code point at `at`;
// returns its byte length, 0 when it is not one of them).
std::size_t jsSpaceAt(std::string_view text, std::size_t at)
{
    const auto c = static_cast<unsigned char>(text[at]);
    if (c == ' ' || (c >= 0x09 && c <= 0x0d))
        return 1;
    if (c < 0x80)
        return 0;
    char32_t cp = 0;
    std::size_t length = 0;
    if ((c & 0xe0) == 0xc0 && at + 1 < text.size()) {
        cp = char32_t(c & 0x1f) << 6 | char32_t(text[at + 1] & 0x3f);
        length = 2;
    } else if ((c & 0xf0) == 0xe0 && at + 2 < text.size()) {
        cp = char32_t(c & 0x0f) << 12 | char32_t(text[at + 1] & 0x3f) << 6 | char32_t(text[at + 2] & 0x3f);
        length = 3;
    } else {
        return 0;
    }
    const bool space = cp == 0xa0 || cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200a) || cp == 0x2028 || cp == 0x2029
        || cp == 0x202f || cp == 0x205f || cp == 0x3000 || cp == 0xfeff;
    return space ? length : 0;
}

double jsNumberOf(dom::element value)
{
    switch (value.type()) {
    case dom::element_type::INT64:
        return double(value.get_int64().value_unsafe());
    case dom::element_type::UINT64:
        return double(value.get_uint64().value_unsafe());
    default:
        return value.get_double().value_unsafe();
    }
}

void appendJsArrayText(dom::array array, std::string& out);

// ToString of a JSON value as Array.prototype.join writes it (null as "").
void appendJsText(dom::element value, std::string& out)
{
    switch (value.type()) {
    case dom::element_type::NULL_VALUE:
        break;
    case dom::element_type::BOOL:
        out += value.get_bool().value_unsafe() ? "true" : "false";
        break;
    case dom::element_type::STRING:
        out += value.get_string().value_unsafe();
        break;
    case dom::element_type::ARRAY:
        appendJsArrayText(value.get_array().value_unsafe(), out);
        break;
    case dom::element_type::OBJECT:
        out += "[object Object]";
        break;
    default:
        out += jsNumberText(jsNumberOf(value));
        break;
    }
}

void appendJsArrayText(dom::array array, std::string& out)
{
    bool first = true;
    for (dom::element item : array) {
        if (!first)
            out += ',';
        first = false;
        appendJsText(item, out);
    }
}

} // namespace

// Number::toString (ECMA-262 6.1.6.1.20): the shortest round-trip digits, in fixed notation from
// 1e-7 to 1e21 and in exponent notation ("1e+21", "1.5e-7") outside.
std::string jsNumberText(double v)
{
    if (v != v)
        return "NaN";
    if (v == 0)
        return "0"; // -0 too
    if (std::isinf(v))
        return v > 0 ? "Infinity" : "-Infinity";
    char buffer[40];
    const auto result = std::to_chars(buffer, buffer + sizeof(buffer), std::fabs(v), std::chars_format::scientific);
    const std::string_view sci(buffer, std::size_t(result.ptr - buffer)); // "d.ddde+XX" or "de-XX"
    const std::size_t e = sci.find('e');
    std::string digits(sci.substr(0, e));
    if (digits.size() > 1)
        digits.erase(1, 1); // the '.'
    int exponent = 0;
    std::from_chars(sci.data() + e + 1 + (sci[e + 1] == '+'), sci.data() + sci.size(), exponent);
    const int k = int(digits.size());
    const int n = exponent + 1; // the value is 0.digits * 10^n
    std::string out = v < 0 ? "-" : "";
    if (k <= n && n <= 21) {
        out += digits;
        out.append(std::size_t(n - k), '0');
    } else if (0 < n && n <= 21) {
        out += digits.substr(0, std::size_t(n));
        out += '.';
        out += digits.substr(std::size_t(n));
    } else if (-6 < n && n <= 0) {
        out += "0.";
        out.append(std::size_t(-n), '0');
        out += digits;
    } else {
        out += digits[0];
        if (k > 1) {
            out += '.';
            out += digits.substr(1);
        }
        out += 'e';
        out += n - 1 >= 0 ? '+' : '-';
        out += std::to_string(std::abs(n - 1));
    }
    return out;
}

// Number(text): StringToNumber (ECMA-262 7.1.4.1.1); NaN when the text is not a number.
double jsStringToNumber(std::string_view text)
{
    constexpr double nan = std::numeric_limits<double>::quiet_NaN();
    std::size_t begin = 0;
    while (begin < text.size()) {
        const std::size_t n = jsSpaceAt(text, begin);
        if (!n)
            break;
        begin += n;
    }
    text.remove_prefix(begin);
    // Trailing space: step back over whole UTF-8 sequences.
    for (bool trimmed = true; trimmed && !text.empty();) {
        trimmed = false;
        for (std::size_t n = 1; n <= std::min<std::size_t>(3, text.size()); ++n) {
            if (jsSpaceAt(text, text.size() - n) == n) {
                text.remove_suffix(n);
                trimmed = true;
                break;
            }
        }
    }
    if (text.empty())
        return 0;
    if (text == "Infinity" || text == "+Infinity")
        return std::numeric_limits<double>::infinity();
    if (text == "-Infinity")
        return -std::numeric_limits<double>::infinity();
    if (text.size() > 2 && text[0] == '0' && std::strchr("xXoObB", text[1])) {
        const int base = (text[1] | 0x20) == 'x' ? 16 : (text[1] | 0x20) == 'o' ? 8 : 2;
        double value = 0;
        for (char ch : text.substr(2)) {
            const int digit = ch >= '0' && ch <= '9' ? ch - '0' : (ch | 0x20) >= 'a' && (ch | 0x20) <= 'f' ? (ch | 0x20) - 'a' + 10 : 99;
            if (digit >= base)
                return nan;
            value = value * base + digit;
        }
        return value;
    }
    // StrDecimalLiteral: [+-] (digits [. digits] | . digits) [e [+-] digits], nothing else.
    const bool negative = text[0] == '-';
    const std::string_view body = (text[0] == '+' || text[0] == '-') ? text.substr(1) : text;
    std::size_t i = 0;
    std::size_t mantissaDigits = 0;
    while (i < body.size() && body[i] >= '0' && body[i] <= '9')
        ++i, ++mantissaDigits;
    if (i < body.size() && body[i] == '.') {
        ++i;
        while (i < body.size() && body[i] >= '0' && body[i] <= '9')
            ++i, ++mantissaDigits;
    }
    if (mantissaDigits == 0)
        return nan;
    bool negativeExponent = false;
    if (i < body.size() && (body[i] == 'e' || body[i] == 'E')) {
        ++i;
        if (i < body.size() && (body[i] == '+' || body[i] == '-'))
            negativeExponent = body[i++] == '-';
        const std::size_t digitsFrom = i;
        while (i < body.size() && body[i] >= '0' && body[i] <= '9')
            ++i;
        if (i == digitsFrom)
            return nan;
    }
    if (i != body.size())
        return nan;
    double value = 0;
    const auto result = std::from_chars(body.data(), body.data() + body.size(), value, std::chars_format::general);
    if (result.ec == std::errc::result_out_of_range)
        value = negativeExponent ? 0.0 : std::numeric_limits<double>::infinity();
    return negative ? -value : value;
}

JsPrimitive jsPrimitive(dom::element value)
{
    JsPrimitive p;
    switch (value.type()) {
    case dom::element_type::NULL_VALUE:
        p.type = JsPrimitive::Type::Null;
        break;
    case dom::element_type::BOOL:
        p.type = JsPrimitive::Type::Bool;
        p.b = value.get_bool().value_unsafe();
        break;
    case dom::element_type::INT64:
    case dom::element_type::UINT64:
    case dom::element_type::DOUBLE:
        p.type = JsPrimitive::Type::Number;
        p.number = jsNumberOf(value);
        break;
    default:
        p.type = JsPrimitive::Type::String;
        appendJsText(value, p.text);
        break;
    }
    return p;
}

double jsToNumber(const JsPrimitive& p)
{
    switch (p.type) {
    case JsPrimitive::Type::Undefined:
        return std::numeric_limits<double>::quiet_NaN();
    case JsPrimitive::Type::Null:
        return 0;
    case JsPrimitive::Type::Bool:
        return p.b ? 1 : 0;
    case JsPrimitive::Type::Number:
        return p.number;
    case JsPrimitive::Type::String:
        return jsStringToNumber(p.text);
    }
    return 0;
}

std::string jsToString(const JsPrimitive& p)
{
    switch (p.type) {
    case JsPrimitive::Type::Undefined:
        return "undefined";
    case JsPrimitive::Type::Null:
        return "null";
    case JsPrimitive::Type::Bool:
        return p.b ? "true" : "false";
    case JsPrimitive::Type::Number:
        return jsNumberText(p.number);
    case JsPrimitive::Type::String:
        return p.text;
    }
    return {};
}

// `a <= b`: two strings compare by UTF-16 code units, anything else as numbers (NaN: false).
bool jsLessOrEqual(const JsPrimitive& a, const JsPrimitive& b)
{
    if (a.type == JsPrimitive::Type::String && b.type == JsPrimitive::Type::String)
        return QString::fromUtf8(a.text.data(), qsizetype(a.text.size())) <= QString::fromUtf8(b.text.data(), qsizetype(b.text.size()));
    return jsToNumber(a) <= jsToNumber(b);
}

// The position an array property key names ("0", "17"; not "01", "-1", "1.5"), or -1.
qint64 arrayIndexOfKey(std::string_view key)
{
    if (key.empty() || key.size() > 10 || (key.size() > 1 && key[0] == '0'))
        return -1;
    qint64 index = 0;
    for (char ch : key) {
        if (ch < '0' || ch > '9')
            return -1;
        index = index * 10 + (ch - '0');
    }
    return index < 4294967295LL ? index : -1;
}

// The UTF-16 code units of a UTF-8 text, each as the one-character string JavaScript indexes a
// string by. A surrogate half has no UTF-8 form: it comes back empty.
std::vector<std::string> jsCodeUnitStrings(std::string_view text)
{
    const QString units = QString::fromUtf8(text.data(), qsizetype(text.size()));
    std::vector<std::string> out;
    out.reserve(std::size_t(units.size()));
    for (QChar unit : units)
        out.push_back(unit.isSurrogate() ? std::string() : QString(unit).toStdString());
    return out;
}

}
