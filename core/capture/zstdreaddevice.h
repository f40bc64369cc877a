#pragma once

#include <QByteArray>
#include <QIODevice>

struct ZSTD_DCtx_s;

namespace deltascope {

// A read-only, sequential device that decompresses a zstd stream read from `source` as it is
// read, so line-oriented readers (readLine) take a .zst file of any size without a temporary copy.
// A damaged stream, or one that ends inside a frame, ends the text there: read() returns what was
// decoded before it, then -1, and damage() says what happened and after how many compressed bytes.
class ZstdReadDevice final : public QIODevice
{
public:
    // `source` must be open for reading and outlive this device, and block until it has bytes or
    // has ended (a file, a pipe): a read of 0 bytes is taken for the end.
    explicit ZstdReadDevice(QIODevice& source);
    ~ZstdReadDevice() override;

    bool isSequential() const override { return true; }
    bool atEnd() const override;
    qint64 bytesAvailable() const override;
    // Empty while the stream is intact; else what is wrong, for a person.
    QString damage() const { return m_damage; }
    // The damage is only that the stream stops inside a frame (a writer that did not finish).
    bool cutOff() const { return m_cutOff; }
    // Compressed bytes read from the source so far (for progress).
    qint64 compressedBytesRead() const { return m_read; }
    // After damage: the compressed byte offset of the next zstd frame past it (a valid frame header
    // there, as when a whole compressed file was appended to a cut or damaged one), or -1.
    qint64 nextFrameAt() const { return m_nextFrameAt; }

protected:
    qint64 readData(char* data, qint64 maxSize) override;
    qint64 writeData(const char*, qint64) override { return -1; }

private:
    // Decodes more into m_decoded; false at the end of the stream or at damage.
    bool decodeMore();
    std::size_t nextStep() const; // the input bytes the decoder takes in its next step
    // Reads on through the source from compressed byte `from` for the next frame header; -1 when
    // none. A pipe is looked at only in what is buffered (its earlier bytes are gone, and reading
    // on would wait for a producer that stays open).
    qint64 findNextFrame(qint64 from);

    QIODevice& m_source;
    ZSTD_DCtx_s* m_context = nullptr;
    QByteArray m_input; // compressed bytes read from the source, m_inputPos..end not yet decoded
    qsizetype m_inputPos = 0;
    QByteArray m_decoded; // decoded text, m_decodedPos..end not yet read
    qsizetype m_decodedPos = 0;
    static constexpr std::size_t kFrameHeaderPrefix = 5; // magic number and frame header descriptor
    static constexpr std::size_t kBlockHeaderSize = 3;
    qint64 m_read = 0; // compressed bytes read from the source so far
    qint64 m_consumed = 0; // compressed bytes the decoder has taken so far
    std::size_t m_frameRemainder = 0; // ZSTD_decompressStream's last hint: 0 at the end of a frame
    qint64 m_frameStart = 0; // compressed byte where the frame being decoded starts
    bool m_sourceEnded = false;
    bool m_finished = false;
    bool m_cutOff = false;
    qint64 m_nextFrameAt = -1;
    QString m_damage;
};

} // namespace deltascope
