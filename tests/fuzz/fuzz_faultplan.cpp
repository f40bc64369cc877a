// Fault plan parsing (user-written JSON) on arbitrary text: no crash, a refusal names the source
// and what is wrong, and an accepted plan has steps the runner can take.
#include "fuzzcheck.h"

#include "core/faults/faultplan.h"
#include "core/faults/jsonpredicate.h"

using namespace deltascope;
using namespace deltascope::faults;

extern "C" int LLVMFuzzerInitialize(int*, char***) { return 0; }

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
    const QByteArrayView json(reinterpret_cast<const char*>(data), qsizetype(size));
    FaultPlan plan;
    QString error;
    if (!FaultPlan::parse(json, QStringLiteral("fuzz.json"), plan, &error)) {
        FUZZ_REQUIRE(error.contains(QStringLiteral("fuzz.json")), QStringLiteral("a refusal that does not name the source: ") + error);
    } else {
        (void)plan.needsFrames();
    }

    // The same text as a JSON path of a predicate.
    JsonPath path;
    QString pathError;
    if (!JsonPath::parse(QString::fromUtf8(json), path, &pathError))
        FUZZ_REQUIRE(!pathError.isEmpty(), QStringLiteral("a JSON path refused without a reason"));
    return 0;
}
