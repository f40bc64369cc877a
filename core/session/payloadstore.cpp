#include "core/session/payloadstore.h"

namespace deltascope {

// Offsets pack (chunk index << 32 | position in chunk) so reads need no search.
PayloadRef MemoryPayloadStore::append(QByteArrayView bytes)
{
    const qsizetype size = bytes.size();
    if (m_chunks.empty() || m_chunks.back().size() + size > std::max(kChunkSize, m_chunks.back().capacity())) {
        QByteArray chunk;
        chunk.reserve(std::max(kChunkSize, size));
        m_chunks.push_back(std::move(chunk));
    }
    QByteArray& chunk = m_chunks.back();
    PayloadRef ref;
    ref.offset = (quint64(m_chunks.size() - 1) << 32) | quint64(chunk.size());
    ref.length = quint32(size);
    chunk.append(bytes.data(), size);
    m_total += quint64(size);
    return ref;
}

QByteArray MemoryPayloadStore::read(const PayloadRef& ref) const
{
    const std::size_t chunk = std::size_t(ref.offset >> 32);
    const qsizetype position = qsizetype(ref.offset & 0xffffffffu);
    if (chunk >= m_chunks.size() || position + qsizetype(ref.length) > m_chunks[chunk].size())
        return {};
    return m_chunks[chunk].mid(position, ref.length);
}

}
