#pragma once

// simdjson's DOM parse for text that may be an empty view (an empty QByteArray has a null data
// pointer): simdjson copies the text with memcpy, which must not be given a null pointer even for
// zero bytes. For frames and payloads parsed as they are; the fold parses from its own padded
// copy, and the capture reader's lines go through simdjson's on-demand API.

#include "core/document/jsonerror.h"

#include <simdjson.h>

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace deltascope {

inline simdjson::simdjson_result<simdjson::dom::element> parseJsonText(simdjson::dom::parser& parser, const char* data, std::size_t size)
{
    return parser.parse(size ? data : "", size);
}

// parseJsonText(), where valid JSON with integers beyond 64 bits, which simdjson refuses, reads them
// as the nearest double, as the fold does (see detail::widenHugeIntegers).
inline simdjson::error_code parseJsonTextWidened(simdjson::dom::parser& parser, const char* data, std::size_t size, simdjson::dom::element& out)
{
    simdjson::error_code code = parseJsonText(parser, data, size).get(out);
    if (code == simdjson::NUMBER_ERROR) {
        if (const std::optional<std::string> widened = detail::widenHugeIntegers(std::string_view(data, size)))
            code = parser.parse(*widened).get(out); // the elements own their strings: `widened` may go
    }
    return code;
}

}
