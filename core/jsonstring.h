#pragma once

// The one way Deltascope writes a JSON string, shared by every writer of JSON text (document export
// and encoder, capture files and exports, request envelopes), so a given string reads the same in
// all of them; and the one reading of a "\u" escape's digits, for the readers that decode escapes
// themselves.

#include <QByteArray>
#include <QByteArrayView>

#include <cstddef>
#include <string_view>
#include <type_traits>

namespace deltascope {

// The letter of the two-character JSON escape for `c` ('"', '\\', \b \f \n \r \t), else 0.
constexpr char shortJsonEscape(unsigned char c)
{
    switch (c) {
    case '"':
        return '"';
    case '\\':
        return '\\';
    case '\b':
        return 'b';
    case '\f':
        return 'f';
    case '\n':
        return 'n';
    case '\r':
        return 'r';
    case '\t':
        return 't';
    default:
        return 0;
    }
}

// Appends `utf8` as a quoted JSON string: '"', '\\' and the control characters are escaped (the
// two-character forms where JSON has them, \u00XX for the rest); every other byte, UTF-8 included,
// passes through unchanged. `Out`: std::string or QByteArray.
template<typename Out>
void appendJsonString(Out& out, std::string_view utf8)
{
    static constexpr char kHex[] = "0123456789abcdef";
    out.push_back('"');
    std::size_t run = 0; // the first byte not yet copied
    for (std::size_t i = 0; i < utf8.size(); ++i) {
        const auto c = static_cast<unsigned char>(utf8[i]);
        if (c >= 0x20 && c != '"' && c != '\\')
            continue;
        out.append(utf8.data() + run, i - run);
        run = i + 1;
        if (const char letter = shortJsonEscape(c)) {
            const char escaped[] = { '\\', letter };
            out.append(escaped, 2);
        } else {
            const char escaped[] = { '\\', 'u', '0', '0', kHex[c >> 4], kHex[c & 15] };
            out.append(escaped, 6);
        }
    }
    out.append(utf8.data() + run, utf8.size() - run);
    out.push_back('"');
}

// The UTF-16 unit that the four hexadecimal digits of a JSON "\u" escape hold, read at `digits`
// with `available` characters left there; -1 when fewer than four are left or one is not a
// hexadecimal digit. `Char`: char or char16_t.
template<typename Char>
constexpr int jsonEscapeUnit(const Char* digits, std::size_t available)
{
    if (available < 4)
        return -1;
    int unit = 0;
    for (std::size_t i = 0; i < 4; ++i) {
        const auto c = static_cast<char32_t>(static_cast<std::make_unsigned_t<Char>>(digits[i]));
        const int value = c >= U'0' && c <= U'9' ? int(c - U'0')
            : c >= U'a' && c <= U'f'             ? int(c - U'a') + 10
            : c >= U'A' && c <= U'F'             ? int(c - U'A') + 10
                                                 : -1;
        if (value < 0)
            return -1;
        unit = unit * 16 + value;
    }
    return unit;
}

inline void appendJsonString(QByteArray& out, QByteArrayView utf8)
{
    appendJsonString(out, std::string_view(utf8.data(), std::size_t(utf8.size())));
}

} // namespace deltascope
