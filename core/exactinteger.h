#pragma once

// Reading an integer out of a JSON number that arrived as a double ("5.0", "1e3", or a QJsonValue,
// which holds every number as one). Shared by the fold, the envelope reader and the fault plans.

#include <QtGlobal>

#include <optional>

namespace deltascope {

// The integer `value` holds exactly, if it holds one within qint64's range; nullopt for fractions,
// NaN, infinities and magnitudes of 2^63 or more. Casting such a double to an integer is undefined
// behaviour, so the range is checked before the cast.
inline std::optional<qint64> exactInteger(double value)
{
    if (!(value >= -0x1p63 && value < 0x1p63)) // false for NaN too
        return std::nullopt;
    const qint64 integer = qint64(value);
    if (double(integer) != value)
        return std::nullopt;
    return integer;
}

}
