// The fault proxy's WebSocket frame parser and message assembler, and its HTTP upgrade parser, on
// arbitrary bytes fed in arbitrary pieces: no crash, and on success every frame's raw bytes are
// exactly the bytes it was parsed from, so forwarding stays byte for byte.
#include "fuzzcheck.h"

#include "core/faults/websocketframe.h"

using namespace deltascope;
using namespace deltascope::faults;

extern "C" int LLVMFuzzerInitialize(int*, char***) { return 0; }

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
    if (size == 0)
        return 0;
    // First byte: the size of the pieces the bytes arrive in (1..256), as TCP may split them.
    const std::size_t piece = std::size_t(data[0]) + 1;
    const QByteArrayView stream(reinterpret_cast<const char*>(data + 1), qsizetype(size - 1));

    WsFrameParser parser(1 << 16);
    WsMessageAssembler assembler;
    QByteArray consumed; // raw bytes of the frames taken so far
    bool stopped = false;
    qsizetype fedCount = 0;
    for (qsizetype at = 0; at < stream.size() && !stopped; at += qsizetype(piece)) {
        const QByteArrayView chunk = stream.sliced(at, std::min<qsizetype>(qsizetype(piece), stream.size() - at));
        parser.feed(chunk);
        fedCount += chunk.size();
        for (;;) {
            WsFrame frame;
            const WsFrameParser::Status status = parser.next(frame);
            if (status == WsFrameParser::Status::NeedMore)
                break;
            if (status == WsFrameParser::Status::Error) {
                FUZZ_REQUIRE(!parser.error().isEmpty(), QStringLiteral("a parse error without a reason"));
                stopped = true;
                break;
            }
            consumed += frame.raw;
            // The payload is the raw bytes' tail, unmasked.
            QByteArray payload = frame.raw.right(frame.payload.size());
            if (frame.masked)
                applyMask(payload, frame.maskKey);
            FUZZ_REQUIRE(payload == frame.payload, QStringLiteral("a frame's payload is not its raw bytes unmasked"));
            if (assembler.add(frame) == WsMessageAssembler::Result::Error)
                FUZZ_REQUIRE(!assembler.error().isEmpty(), QStringLiteral("an assembly error without a reason"));
        }
    }
    // Nothing lost: the frames taken, then what is still buffered, are the bytes fed so far.
    FUZZ_REQUIRE(consumed + parser.buffered() == stream.first(fedCount).toByteArray(), QStringLiteral("frame bytes were lost or changed between feed and next()"));

    const qsizetype headEnd = httpHeadEnd(stream);
    if (headEnd >= 0) {
        FUZZ_REQUIRE(headEnd <= stream.size(), QStringLiteral("the head ends past the bytes"));
        HttpHead head;
        if (parseHttpHead(stream.first(headEnd), head)) {
            const QByteArray again = head.serialize();
            HttpHead reparsed;
            FUZZ_REQUIRE(parseHttpHead(again, reparsed) && reparsed.serialize() == again,
                QStringLiteral("a parsed HTTP head does not survive serialize and parse: ") + QString::fromLatin1(again));
        }
    }
    return 0;
}
