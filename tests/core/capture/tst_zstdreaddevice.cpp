#include <catch2/catch.hpp>

#include "core/capture/captureformat.h"
#include "core/capture/zstdreaddevice.h"

#include <QBuffer>

#include <zstd.h>

using namespace deltascope;

namespace {

// NDJSON-like text of `size` bytes that compresses, but not to nothing.
QByteArray sampleText(qsizetype size)
{
    QByteArray text;
    for (int i = 0; text.size() < size; ++i)
        text += "{\"line\":" + QByteArray::number(i) + ",\"value\":" + QByteArray::number((i * 7919) % 104729) + "}\n";
    text.truncate(size);
    return text;
}

// One zstd frame without a content size or checksum, so its header is 6 bytes and its first block
// header follows at once.
QByteArray compressed(const QByteArray& text)
{
    ZSTD_CCtx* context = ZSTD_createCCtx();
    ZSTD_CCtx_setParameter(context, ZSTD_c_contentSizeFlag, 0);
    ZSTD_CCtx_setParameter(context, ZSTD_c_checksumFlag, 0);
    QByteArray out(qsizetype(ZSTD_compressBound(std::size_t(text.size()))), Qt::Uninitialized);
    const std::size_t size = ZSTD_compress2(context, out.data(), std::size_t(out.size()), text.constData(), std::size_t(text.size()));
    ZSTD_freeCCtx(context);
    REQUIRE_FALSE(ZSTD_isError(size));
    out.resize(qsizetype(size));
    return out;
}

struct Decoded {
    QByteArray text;
    QString damage;
    bool cutOff = false;
};

Decoded decodeAll(const QByteArray& bytes, qint64 readSize = 1000)
{
    QBuffer source;
    source.setData(bytes);
    REQUIRE(source.open(QIODevice::ReadOnly));
    ZstdReadDevice device(source);
    Decoded result;
    QByteArray chunk(readSize, Qt::Uninitialized);
    while (!device.atEnd()) {
        const qint64 got = device.read(chunk.data(), readSize);
        if (got <= 0)
            break;
        result.text += chunk.left(got);
    }
    result.damage = device.damage();
    result.cutOff = device.cutOff();
    return result;
}

}

TEST_CASE("zstd read device: frames, concatenation, skippable frames and read sizes")
{
    const QByteArray text = sampleText(400 * 1024); // several 128 KiB blocks
    const QByteArray frame = compressed(text);
    for (qint64 readSize : { qint64(1), qint64(4096), qint64(1) << 20 }) {
        const Decoded decoded = decodeAll(frame, readSize);
        CHECK(decoded.text == text);
        CHECK(decoded.damage.isEmpty());
    }
    // Two frames back to back read as one text; a skippable frame (what pzstd writes first) is passed over.
    QByteArray skippable("\x50\x2a\x4d\x18\x04\x00\x00\x00" "abcd", 12);
    CHECK(capture::startsLikeZstd(skippable));
    const Decoded joined = decodeAll(skippable + compressed("first\n") + skippable + compressed("second\n"));
    CHECK(joined.text == "first\nsecond\n");
    CHECK(joined.damage.isEmpty());
    // An empty frame decodes to nothing, without damage.
    const Decoded empty = decodeAll(compressed({}));
    CHECK(empty.text.isEmpty());
    CHECK(empty.damage.isEmpty());
    // readLine works through the device's buffer.
    QBuffer source;
    source.setData(compressed("one\ntwo\nthree"));
    REQUIRE(source.open(QIODevice::ReadOnly));
    ZstdReadDevice lines(source);
    CHECK(lines.peek(4) == "one\n");
    CHECK(lines.readLine() == "one\n");
    CHECK(lines.readLine() == "two\n");
    CHECK(lines.readLine() == "three");
    CHECK(lines.atEnd());
}

TEST_CASE("zstd read device: damage keeps every block decoded before it and says where")
{
    const QByteArray text = sampleText(400 * 1024);
    QByteArray frame = compressed(text);
    // The first block's header follows the 6-byte frame header; its size is in bits 3.. of 3 bytes.
    const auto byteAt = [&](qsizetype i) { return quint32(static_cast<unsigned char>(frame[i])); };
    const qsizetype firstBlock = 6;
    const quint32 firstHeader = byteAt(firstBlock) | (byteAt(firstBlock + 1) << 8) | (byteAt(firstBlock + 2) << 16);
    REQUIRE((firstHeader & 1) == 0); // not the last block
    const bool rle = ((firstHeader >> 1) & 3) == 1; // an RLE block stores one byte
    const qsizetype secondBlock = firstBlock + 3 + (rle ? 1 : qsizetype(firstHeader >> 3));
    // Block type 3 is reserved: zstd refuses the second block.
    frame[secondBlock] = char(static_cast<unsigned char>(frame[secondBlock]) | 0x06);
    const Decoded decoded = decodeAll(frame);
    CHECK(decoded.text == text.left(128 * 1024)); // the whole first block, nothing after it
    CHECK_FALSE(decoded.cutOff);
    CHECK(decoded.damage.startsWith(QStringLiteral("the compressed stream is damaged (")));
    CHECK(decoded.damage.endsWith(QStringLiteral(") in the block at compressed byte %1").arg(secondBlock)));
}

TEST_CASE("zstd read device: a stream cut inside a frame is told apart from damage")
{
    const QByteArray text = sampleText(300 * 1024);
    const QByteArray frame = compressed(text);
    const Decoded cut = decodeAll(frame.left(frame.size() - 10));
    CHECK(cut.cutOff);
    CHECK(cut.damage == QStringLiteral("the compressed stream ends in the middle of a frame after %1 compressed bytes (cut off?)").arg(frame.size() - 10));
    CHECK(text.startsWith(cut.text));
    CHECK(cut.text.size() >= 256 * 1024); // the blocks before the cut
    // Cut inside the frame header: nothing decoded, still "cut off".
    const Decoded header = decodeAll(frame.left(3 + 2));
    CHECK(header.cutOff);
    CHECK(header.text.isEmpty());
}
