#include "core/capture/zstdreaddevice.h"

#include <zstd.h>
#include <zstd_errors.h>

#include <cstring>

namespace deltascope {

ZstdReadDevice::ZstdReadDevice(QIODevice& source)
    : m_source(source)
    , m_context(ZSTD_createDCtx())
{
    open(QIODevice::ReadOnly);
}

ZstdReadDevice::~ZstdReadDevice() { ZSTD_freeDCtx(m_context); }

bool ZstdReadDevice::atEnd() const
{
    if (!isOpen())
        return true;
    if (QIODevice::bytesAvailable() > 0 || m_decodedPos < m_decoded.size())
        return false;
    // Whether more text follows is known only by decoding it (kept for the next read).
    return !const_cast<ZstdReadDevice*>(this)->decodeMore();
}

qint64 ZstdReadDevice::bytesAvailable() const { return QIODevice::bytesAvailable() + (m_decoded.size() - m_decodedPos); }

qint64 ZstdReadDevice::readData(char* data, qint64 maxSize)
{
    qint64 copied = 0;
    while (copied < maxSize) {
        // From a pipe, what is decoded is handed out before waiting for more input: a producer
        // that stays open may have sent all it has for now.
        if (m_decodedPos == m_decoded.size() && copied > 0 && m_source.isSequential())
            break;
        if (m_decodedPos == m_decoded.size() && !decodeMore())
            break;
        const qint64 n = std::min<qint64>(maxSize - copied, m_decoded.size() - m_decodedPos);
        std::memcpy(data + copied, m_decoded.constData() + m_decodedPos, std::size_t(n));
        m_decodedPos += qsizetype(n);
        copied += n;
    }
    return copied == 0 && m_finished ? -1 : copied;
}

std::size_t ZstdReadDevice::nextStep() const
{
    // The rest of the block being decoded, without the next block's header (see decodeMore()); at
    // a frame's start, the first bytes of the frame header.
    return m_frameRemainder > kBlockHeaderSize ? m_frameRemainder - kBlockHeaderSize
        : m_frameRemainder                     ? m_frameRemainder
                                               : kFrameHeaderPrefix;
}

qint64 ZstdReadDevice::findNextFrame(qint64 from)
{
    // The frame magic number, then a header zstd accepts: four bytes alone can occur inside
    // compressed data. Read on a buffer at a time, keeping a header's worth of bytes across reads.
    static constexpr char kMagic[] = { '\x28', '\xB5', '\x2F', '\xFD' };
    constexpr qsizetype kHeaderMost = 18; // a frame header's largest size (ZSTD_FRAMEHEADERSIZE_MAX, not in the stable API)
    const qint64 bufferStart = m_read - m_input.size(); // compressed offset of m_input[0]
    QByteArray window;
    qint64 windowStart = 0; // compressed offset of window[0]
    if (from < bufferStart && !m_source.isSequential() && m_source.seek(from)) {
        windowStart = from; // a file: read again from there
        m_read = from;
        m_sourceEnded = false;
    } else {
        windowStart = std::max(from, bufferStart);
        window = m_input.mid(qsizetype(windowStart - bufferStart));
    }
    qsizetype searchFrom = 0;
    for (;;) {
        for (qsizetype at = window.indexOf(QByteArrayView(kMagic, 4), searchFrom); at >= 0; at = window.indexOf(QByteArrayView(kMagic, 4), at + 1)) {
            const qsizetype have = window.size() - at;
            if (have < kHeaderMost && !m_sourceEnded)
                break; // read more before judging the header
            if (ZSTD_getFrameContentSize(window.constData() + at, std::size_t(have)) != ZSTD_CONTENTSIZE_ERROR)
                return windowStart + at;
        }
        // A pipe is not read on for it: a producer that stays open would hold the damage's report
        // until it closes. What is buffered is looked at; a file is looked at to its end.
        if (m_sourceEnded || m_source.isSequential())
            return -1;
        // Keep the tail that might begin a header; read the next buffer after it.
        const qsizetype keep = std::min<qsizetype>(window.size(), kHeaderMost);
        windowStart += window.size() - keep;
        window = window.right(keep);
        searchFrom = 0;
        QByteArray more(qsizetype(ZSTD_DStreamInSize()), Qt::Uninitialized);
        const qint64 got = m_source.read(more.data(), more.size());
        if (got <= 0) {
            m_sourceEnded = true;
            continue; // judge what is left with the source ended
        }
        m_read += got;
        window.append(more.constData(), qsizetype(got));
    }
}

bool ZstdReadDevice::decodeMore()
{
    if (m_finished || !m_context)
        return false;
    if (m_decodedPos < m_decoded.size())
        return true;
    m_decoded.resize(qsizetype(ZSTD_DStreamOutSize()));
    m_decodedPos = 0;
    for (;;) {
        if (m_inputPos == m_input.size() && !m_sourceEnded) {
            m_input.resize(qsizetype(ZSTD_DStreamInSize()));
            // A pipe is read a block at a time, as far as the decoder needs next: a read of a full
            // buffer would wait for bytes a producer that stays open has not sent (fold --at N of
            // a compressed stream would not stop). A file is read a buffer at a time.
            const qint64 want = m_source.isSequential() ? qint64(std::max<std::size_t>(nextStep(), 1)) : qint64(m_input.size());
            const qint64 got = m_source.read(m_input.data(), want);
            if (got < 0)
                m_damage = QStringLiteral("reading stopped after %1 compressed bytes: %2").arg(m_read).arg(m_source.errorString());
            m_sourceEnded = got <= 0;
            m_input.resize(got > 0 ? qsizetype(got) : 0);
            m_inputPos = 0;
            m_read += std::max<qint64>(got, 0);
        }
        // At the end of the input, the decoder is asked again only while a frame is unfinished
        // (it may hold decoded text that did not fit the last output buffer).
        if (m_sourceEnded && m_inputPos == m_input.size() && m_frameRemainder == 0) {
            m_finished = true;
            m_decoded.clear();
            return false;
        }
        // One block per call: its text is handed out before the next block is looked at, so damage
        // costs only the block it is in (zstd keeps nothing it decoded in a call that fails). The
        // hint counts the next block's header too; that is left for the next call, so a bad header
        // cannot take this block's text with it. At a frame's start there is no hint yet: the frame
        // header's first bytes tell the rest. (Any size is correct input: zstd buffers what it lacks.)
        const std::size_t step = nextStep();
        const std::size_t available = std::size_t(m_input.size() - m_inputPos);
        ZSTD_inBuffer in { m_input.constData(), std::size_t(m_inputPos) + std::min(available, step), std::size_t(m_inputPos) };
        ZSTD_outBuffer out { m_decoded.data(), std::size_t(m_decoded.size()), 0 };
        const std::size_t hint = ZSTD_decompressStream(m_context, &out, &in);
        if (ZSTD_isError(hint)) {
            m_damage = ZSTD_getErrorCode(hint) == ZSTD_error_frameParameter_windowTooLarge
                ? QStringLiteral("the compressed stream needs a decoding window beyond 128 MiB (made with zstd --long=28 or more); "
                                 "decompress it first with zstd -d --long=31")
                : QStringLiteral("the compressed stream is damaged (%1) in the block at compressed byte %2")
                      .arg(QString::fromLatin1(ZSTD_getErrorName(hint)))
                      .arg(m_consumed);
            if (ZSTD_getErrorCode(hint) != ZSTD_error_frameParameter_windowTooLarge) {
                m_nextFrameAt = findNextFrame(m_frameStart + 1); // zstd reads ahead: the damage may lie past the next frame's start
                if (m_nextFrameAt >= 0)
                    m_damage += QStringLiteral("; a new zstd frame starts at compressed byte %1 (another compressed file appended "
                                               "after a damaged one?), not read")
                                    .arg(m_nextFrameAt);
            }
            m_finished = true;
            m_decoded.resize(qsizetype(out.pos));
            return out.pos > 0;
        }
        if (m_frameRemainder == 0)
            m_frameStart = m_consumed; // this call began a frame
        m_consumed += qint64(in.pos) - m_inputPos;
        m_inputPos = qsizetype(in.pos);
        m_frameRemainder = hint;
        if (out.pos > 0) {
            m_decoded.resize(qsizetype(out.pos));
            return true;
        }
        if (m_sourceEnded && m_inputPos == m_input.size()) {
            // A frame is unfinished and nothing more will come.
            m_finished = true;
            m_decoded.clear();
            m_cutOff = m_damage.isEmpty();
            if (m_cutOff)
                m_damage = QStringLiteral("the compressed stream ends in the middle of a frame after %1 compressed bytes (cut off?)").arg(m_read);
            return false;
        }
    }
}

} // namespace deltascope
