#include <catch2/catch.hpp>

#include "core/document/javascriptvalues.h"

#include <cmath>
#include <limits>

// The JavaScript coercions the ReferenceClient fold applies to odd @o/@s values, against what
// ECMAScript (and node) give for the same input.

using namespace deltascope::detail;

TEST_CASE("javascript: Number::toString writes the shortest digits, fixed from 1e-7 to 1e21")
{
    CHECK(jsNumberText(1.5) == "1.5");
    CHECK(jsNumberText(100) == "100");
    CHECK(jsNumberText(-42) == "-42");
    CHECK(jsNumberText(0.1 + 0.2) == "0.30000000000000004");
    CHECK(jsNumberText(1e20) == "100000000000000000000");
    CHECK(jsNumberText(1e21) == "1e+21");
    CHECK(jsNumberText(123456789012345680000.0) == "123456789012345680000");
    CHECK(jsNumberText(9007199254740994.0) == "9007199254740994");
    CHECK(jsNumberText(0.000001) == "0.000001");
    CHECK(jsNumberText(1e-7) == "1e-7");
    CHECK(jsNumberText(1.5e-7) == "1.5e-7");
    CHECK(jsNumberText(-2.5e-300) == "-2.5e-300");
    CHECK(jsNumberText(-0.0) == "0");
    CHECK(jsNumberText(std::numeric_limits<double>::quiet_NaN()) == "NaN");
    CHECK(jsNumberText(-std::numeric_limits<double>::infinity()) == "-Infinity");
}

TEST_CASE("javascript: Number(text) reads what StringToNumber reads and is NaN for anything else")
{
    CHECK(jsStringToNumber("") == 0);
    CHECK(jsStringToNumber(" \t\n") == 0);
    CHECK(jsStringToNumber(" 2 ") == 2);
    CHECK(jsStringToNumber("\xc2\xa0" "7\xe3\x80\x80") == 7); // no-break and ideographic spaces are trimmed
    CHECK(jsStringToNumber("00012") == 12);
    CHECK(jsStringToNumber("+5") == 5);
    CHECK(jsStringToNumber("-5.25") == -5.25);
    CHECK(jsStringToNumber(".5") == 0.5);
    CHECK(jsStringToNumber("5.") == 5);
    CHECK(jsStringToNumber("1e3") == 1000);
    CHECK(jsStringToNumber("1E-2") == 0.01);
    CHECK(jsStringToNumber("0x1F") == 31);
    CHECK(jsStringToNumber("0b101") == 5);
    CHECK(jsStringToNumber("0o17") == 15);
    CHECK(jsStringToNumber("Infinity") == std::numeric_limits<double>::infinity());
    CHECK(jsStringToNumber("-Infinity") == -std::numeric_limits<double>::infinity());
    CHECK(jsStringToNumber("1e400") == std::numeric_limits<double>::infinity());
    CHECK(jsStringToNumber("1e-400") == 0);
    // Bad input: each is NaN in JavaScript.
    for (const char* bad : { "x", "1 2", "0x", "0xG", "-0x10", "0b2", "infinity", "1_000", "e5", ".", "1e", "1e+", "--1", "+-1", "1.2.3" }) {
        INFO(bad);
        CHECK(std::isnan(jsStringToNumber(bad)));
    }
}

TEST_CASE("javascript: array index keys, UTF-16 code units and <= between primitives")
{
    CHECK(arrayIndexOfKey("0") == 0);
    CHECK(arrayIndexOfKey("17") == 17);
    CHECK(arrayIndexOfKey("4294967294") == 4294967294LL);
    for (const char* notIndex : { "", "01", "-1", "1.5", "4294967295", "12345678901", "1a" }) {
        INFO(notIndex);
        CHECK(arrayIndexOfKey(notIndex) == -1);
    }

    const std::vector<std::string> units = jsCodeUnitStrings("a\xc3\xa9\xf0\x9f\x98\x80");
    REQUIRE(units.size() == 4); // 'a', 'é', and the two halves of U+1F600
    CHECK(units[0] == "a");
    CHECK(units[1] == "\xc3\xa9");
    CHECK(units[2].empty());
    CHECK(units[3].empty());

    const auto text = [](const char* t) {
        JsPrimitive p;
        p.type = JsPrimitive::Type::String;
        p.text = t;
        return p;
    };
    const auto number = [](double n) {
        JsPrimitive p;
        p.type = JsPrimitive::Type::Number;
        p.number = n;
        return p;
    };
    JsPrimitive null;
    null.type = JsPrimitive::Type::Null;
    const JsPrimitive undefined;
    CHECK(jsLessOrEqual(text("10"), text("9"))); // two strings compare as text
    CHECK_FALSE(jsLessOrEqual(number(10), text("9"))); // otherwise as numbers
    CHECK(jsLessOrEqual(null, number(0)));
    CHECK_FALSE(jsLessOrEqual(undefined, number(5))); // NaN compares false
    CHECK_FALSE(jsLessOrEqual(text("x"), number(5)));
    CHECK(jsToString(undefined) == "undefined");
    CHECK(jsToNumber(text(" 0x10 ")) == 16);
}
