// HAR import (browser devtools, mitmproxy, HTTP Toolkit exports) on arbitrary text: no crash, a
// refusal names its reason, and every imported session's events have readable payloads.
#include "fuzzcheck.h"

#include "core/capture/harimport.h"

using namespace deltascope;

extern "C" int LLVMFuzzerInitialize(int*, char***)
{
    fuzz::ensureApplication();
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
    const QByteArray har(reinterpret_cast<const char*>(data), qsizetype(size));
    const HarImportResult result = importHar(har, QStringLiteral("fuzz.har"));
    if (!result.ok) {
        FUZZ_REQUIRE(!result.error.isEmpty(), QStringLiteral("an import refused without a reason"));
        return 0;
    }
    for (const ImportedSession& session : result.sessions) {
        FUZZ_REQUIRE(session.log != nullptr, QStringLiteral("an imported session without an event log"));
        for (qint64 i = 0; i < session.log->size(); ++i)
            (void)session.log->payload(i);
    }
    return 0;
}
