#pragma once

// simdjson's DOM parse for text that may be an empty view (an empty QByteArray has a null data
// pointer): simdjson copies the text with memcpy, which must not be given a null pointer even for
// zero bytes. For frames and payloads parsed as they are; the fold parses from its own padded
// copy, and the capture reader's lines go through simdjson's on-demand API.

#include <simdjson.h>

#include <cstddef>

namespace deltascope {

inline simdjson::simdjson_result<simdjson::dom::element> parseJsonText(simdjson::dom::parser& parser, const char* data, std::size_t size)
{
    return parser.parse(size ? data : "", size);
}

}
