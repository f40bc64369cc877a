#pragma once

// JavaScript's coercions of JSON values, for the ReferenceClient fold only: tree.js indexes,
// compares and counts with whatever JSON a delta holds (a string @s, a fractional @o id, a range
// given as an object), so such values mean what JavaScript makes of them. Not used by the
// canonical fold.

#include <QtGlobal>

#include <simdjson.h>

#include <string>
#include <string_view>
#include <vector>

namespace deltascope::detail {

// Number::toString (ECMA-262 6.1.6.1.20): "1.5", "100", "1e+21", "1.5e-7", "NaN", "-Infinity".
std::string jsNumberText(double v);
// Number(text) (StringToNumber, ECMA-262 7.1.4.1.1): trims JavaScript white space, reads decimal,
// 0x/0o/0b and Infinity forms; "" is 0; anything else is NaN.
double jsStringToNumber(std::string_view text);

// A JSON value after JavaScript's ToPrimitive: arrays become their join(","), objects
// "[object Object]"; `undefined` stands for an entry an instruction does not have.
struct JsPrimitive {
    enum class Type { Undefined, Null, Bool, Number, String } type = Type::Undefined;
    bool b = false;
    double number = 0;
    std::string text;
};
JsPrimitive jsPrimitive(simdjson::dom::element value);
double jsToNumber(const JsPrimitive& p);
std::string jsToString(const JsPrimitive& p);
// `a <= b`: two strings compare by UTF-16 code units, anything else as numbers (NaN: false).
bool jsLessOrEqual(const JsPrimitive& a, const JsPrimitive& b);

// The position an array property key names ("0", "17"; not "01", "-1", "1.5"), or -1.
qint64 arrayIndexOfKey(std::string_view key);
// The UTF-16 code units of a UTF-8 text, each as the one-character string JavaScript indexes a
// string by. A surrogate half has no UTF-8 form: it comes back empty (shown as kReplacementCharacter).
std::vector<std::string> jsCodeUnitStrings(std::string_view text);
// U+FFFD in UTF-8: what a surrogate half is shown as.
inline constexpr std::string_view kReplacementCharacter = "\xEF\xBF\xBD";

}
