#pragma once

// Shared by the fuzz targets: every target defines LLVMFuzzerTestOneInput(); with libFuzzer it is
// driven by the fuzzer, otherwise replaymain.cpp feeds it the committed corpus under ctest.

#include <QByteArray>
#include <QCoreApplication>
#include <QString>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);
extern "C" int LLVMFuzzerInitialize(int* argc, char*** argv);

namespace deltascope::fuzz {

// A property of the code under test that this input broke: said with what and where, then abort()
// so libFuzzer keeps the input and the replay test fails.
[[noreturn]] inline void fail(const char* file, int line, const QString& what)
{
    std::fprintf(stderr, "%s:%d: fuzz property broken: %s\n", file, line, qPrintable(what));
    std::fflush(stderr);
    std::abort();
}

inline std::string_view bytes(const uint8_t* data, size_t size) { return { reinterpret_cast<const char*>(data), size }; }

// Some targets use Qt classes that want an application object (event log files, threads).
inline void ensureApplication()
{
    static int argc = 1;
    static char name[] = "deltascope-fuzz";
    static char* argv[] = { name, nullptr };
    if (!QCoreApplication::instance())
        new QCoreApplication(argc, argv); // lives for the process, as the fuzzer does
}

} // namespace deltascope::fuzz

#define FUZZ_REQUIRE(condition, what)                                                                                   \
    do {                                                                                                                \
        if (!(condition))                                                                                               \
            ::deltascope::fuzz::fail(__FILE__, __LINE__, QStringLiteral(#condition ": ") + (what));                     \
    } while (false)
