// Opening a capture file (.ndjson or zstd-compressed, told apart by content) of arbitrary bytes,
// with checkpoints folded in the foreground: no crash, a refusal names its reason, damage is
// reported at lines that exist, and every event's payload can be read back.
#include "fuzzcheck.h"

#include "core/capture/capturereader.h"

#include <QTemporaryFile>

using namespace deltascope;

extern "C" int LLVMFuzzerInitialize(int*, char***)
{
    fuzz::ensureApplication();
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
    QTemporaryFile file;
    FUZZ_REQUIRE(file.open(), QStringLiteral("cannot create a temporary file: ") + file.errorString());
    FUZZ_REQUIRE(file.write(reinterpret_cast<const char*>(data), qint64(size)) == qint64(size), file.errorString());
    file.flush();

    CaptureOpenOptions options;
    options.checkpointInterval = 4; // fold what was captured, often
    options.checkpointsInBackground = false;
    options.maxDecompressedBytes = 64 << 20; // a few kilobytes of zstd can claim gigabytes
    QString error;
    const std::unique_ptr<Capture> capture = CaptureReader::open(file.fileName(), options, &error);
    if (!capture) {
        FUZZ_REQUIRE(!error.isEmpty(), QStringLiteral("a capture refused without a reason"));
        return 0;
    }
    for (const CaptureDiagnostic& diagnostic : capture->diagnostics) {
        FUZZ_REQUIRE(!diagnostic.message.isEmpty(), QStringLiteral("a diagnostic without a message"));
        FUZZ_REQUIRE(diagnostic.line >= 0 && diagnostic.line <= capture->lineCount,
            QStringLiteral("diagnostic at line %1 of a %2-line file: %3").arg(diagnostic.line).arg(capture->lineCount).arg(diagnostic.message));
    }
    FUZZ_REQUIRE(capture->diagnosticCount >= qint64(capture->diagnostics.size()), QStringLiteral("fewer diagnostics counted than kept"));
    FUZZ_REQUIRE(capture->log != nullptr, QStringLiteral("an opened capture without an event log"));
    for (qint64 i = 0; i < capture->log->size(); ++i)
        (void)capture->log->payload(i);
    (void)capture->notices();
    return 0;
}
