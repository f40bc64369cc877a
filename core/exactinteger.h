#pragma once

// Reading an integer out of a JSON number that arrived as a double ("5.0", "1e3", or a QJsonValue,
// which holds every number as one). Shared by the fold, the envelope reader and the fault plans.

#include <QtGlobal>

#include <limits>
#include <optional>

namespace deltascope {

// The integer `value` holds exactly, if it holds one within qint64's range [-2^63, 2^63); nullopt
// for fractions, NaN, infinities and anything outside that range. Casting such a double to an
// integer is undefined behaviour, so the range is checked before the cast.
inline std::optional<qint64> exactInteger(double value)
{
    if (!(value >= -0x1p63 && value < 0x1p63)) // false for NaN too
        return std::nullopt;
    const qint64 integer = qint64(value);
    if (double(integer) != value)
        return std::nullopt;
    return integer;
}

// `value` truncated toward zero, saturated to qint64's range (NaN: 0): for numbers that are
// integers by contract (epoch milliseconds, a ping's clock) but arrive as doubles from anyone.
inline qint64 truncatedInteger(double value)
{
    if (value != value)
        return 0;
    if (value >= 0x1p63)
        return std::numeric_limits<qint64>::max();
    if (value < -0x1p63)
        return std::numeric_limits<qint64>::min();
    return qint64(value);
}

}
