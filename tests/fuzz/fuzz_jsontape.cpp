// The direct JSON tape parser (core/document/jsontape.h) on arbitrary bytes, against simdjson's DOM
// parser: whatever it accepts, simdjson accepts too, and both write the same tape and string buffer
// (tests/core/document/jsontapecompare.h says exactly what is compared). Each input is parsed into a
// document of the least capacity the parser works with and into one reused across inputs (as the
// fold's is), from a copy padded exactly as the contract promises, so that AddressSanitizer sees
// any read or write beyond what the contract allows.
#include "fuzzcheck.h"

#include "tests/core/document/jsontapecompare.h"

using namespace deltascope;

extern "C" int LLVMFuzzerInitialize(int*, char***) { return 0; }

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
    static test::TapeComparer tight(test::TapeComparer::Sizing::Tight);
    static test::TapeComparer reused(test::TapeComparer::Sizing::Reused);
    const std::string_view text = fuzz::bytes(data, size);
    for (test::TapeComparer* comparer : { &tight, &reused }) {
        const test::TapeCheck result = comparer->check(text);
        FUZZ_REQUIRE(result.problem.empty(), QString::fromStdString(result.problem));
    }
    return 0;
}
