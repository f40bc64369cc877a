#pragma once

#include <QString>

#include <string_view>

namespace deltascope::detail {

// Finds where JSON text goes wrong, for error messages ("at byte 17: ..."). Only used after a
// parser refused the text, so it favours clarity over speed; iterative, so depth cannot overflow.
struct JsonErrorLocation {
    qsizetype offset = -1; // -1: no error found (the parser's own message is then used)
    QString what;
};
JsonErrorLocation locateJsonError(std::string_view text, int maxDepth);

}
