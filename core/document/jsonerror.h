#pragma once

#include <QString>

#include <optional>
#include <string>
#include <string_view>

namespace deltascope::detail {

// Finds where JSON text goes wrong, for error messages ("at byte 17: ..."). Only used after a
// parser refused the text, so it favours clarity over speed; iterative, so depth cannot overflow.
struct JsonErrorLocation {
    qsizetype offset = -1; // -1: no error found (the parser's own message is then used)
    QString what;
};
JsonErrorLocation locateJsonError(std::string_view text, int maxDepth);

// `text` with every integer literal beyond 64 bits given a ".0", or nothing when it has none.
// JSON allows any integer and JavaScript reads one as the nearest double, but simdjson refuses
// integers below -2^63 or above 2^64-1 while it reads a fraction of any size; with the ".0" it
// reads them as the nearest double too, as the fold already keeps integers beyond qint64.
std::optional<std::string> widenHugeIntegers(std::string_view text);

}
