#pragma once

// simdjson's DOM parse for text that may be an empty view (an empty QByteArray has a null data
// pointer): simdjson copies the text with memcpy, which must not be given a null pointer even for
// zero bytes. Every parse of a frame, payload or capture line goes through this.

#include <simdjson.h>

#include <cstddef>

namespace deltascope {

inline simdjson::simdjson_result<simdjson::dom::element> parseJsonText(simdjson::dom::parser& parser, const char* data, std::size_t size)
{
    return parser.parse(size ? data : "", size);
}

}
