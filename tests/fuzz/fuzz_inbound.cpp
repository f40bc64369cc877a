// Inbound frame decoding (adama-wire.md sections 2 and 4) on arbitrary text: decodeInbound,
// extractStreamDelta and minifyJson never crash, and what they give back is consistent.
#include "fuzzcheck.h"

#include "core/document/documenttree.h"
#include "core/protocol/envelope.h"

using namespace deltascope;

extern "C" int LLVMFuzzerInitialize(int*, char***) { return 0; }

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
    const QByteArrayView frame(reinterpret_cast<const char*>(data), qsizetype(size));
    const InboundFrame decoded = decodeInbound(frame);
    if (decoded.kind == EventKind::MalformedInbound || decoded.kind == EventKind::UnknownInbound)
        FUZZ_REQUIRE(!decoded.error.isEmpty(), QStringLiteral("a malformed or unknown frame without a reason: ") + QString::fromUtf8(frame));

    const StreamDelta delta = extractStreamDelta(frame);
    if (!delta.ok)
        FUZZ_REQUIRE(!delta.error.isEmpty(), QStringLiteral("a frame refused as a stream item without a reason: ") + QString::fromUtf8(frame));
    if (delta.ok && delta.hasData) {
        // Whatever `data` holds is JSON the fold takes (an object from a correct server; anything
        // else the fold reports as an anomaly).
        const FoldResult fold = DocumentTree().apply(delta.data, 0);
        FUZZ_REQUIRE(fold.parsed, QStringLiteral("the data of a stream item is not JSON (%1): %2").arg(fold.error, QString::fromStdString(delta.data)));
    }

    // Minified JSON is JSON, and minifying it again changes nothing.
    const QByteArray minified = minifyJson(frame);
    if (!minified.isEmpty()) {
        QString error;
        FUZZ_REQUIRE(isJsonObjectOrArray(minified, &error) || !isJsonObjectOrArray(frame),
            QStringLiteral("minified text of an object or array is not one (%1): %2").arg(error, QString::fromUtf8(minified)));
        FUZZ_REQUIRE(minifyJson(minified) == minified, QStringLiteral("minifying twice differs: ") + QString::fromUtf8(minified));
    }
    return 0;
}
