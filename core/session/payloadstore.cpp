#include "core/session/payloadstore.h"

#include "core/logging.h"

#include <QDir>
#include <QStandardPaths>
#include <QTemporaryFile>

#include <algorithm>

#ifdef Q_OS_UNIX
#include <unistd.h>
#endif

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

SpillingPayloadStore::SpillingPayloadStore(QString directory)
    : m_directory(std::move(directory))
{
}

SpillingPayloadStore::~SpillingPayloadStore() = default;

PayloadRef SpillingPayloadStore::append(QByteArrayView bytes)
{
    const qsizetype size = bytes.size();
    if (m_chunks.empty() || m_chunks.back().bytes.size() + size > std::max(kChunkSize, m_chunks.back().bytes.capacity())) {
        if (!m_chunks.empty())
            spill(m_chunks.back());
        Chunk chunk;
        chunk.bytes.reserve(std::max(kChunkSize, size));
        m_chunks.push_back(std::move(chunk));
    }
    Chunk& chunk = m_chunks.back();
    PayloadRef ref;
    ref.offset = (quint64(m_chunks.size() - 1) << 32) | quint64(chunk.bytes.size());
    ref.length = quint32(size);
    chunk.bytes.append(bytes.data(), size);
    chunk.size = chunk.bytes.size();
    m_total += quint64(size);
    return ref;
}

void SpillingPayloadStore::spill(Chunk& chunk)
{
    if (m_spillFailed || chunk.bytes.isEmpty())
        return;
    if (!m_file) {
        QString directory = m_directory;
        if (directory.isEmpty()) {
            directory = QStandardPaths::writableLocation(QStandardPaths::CacheLocation);
            if (directory.isEmpty() || !QDir().mkpath(directory))
                directory = QDir::tempPath();
        }
        m_file = std::make_unique<QTemporaryFile>(QDir(directory).filePath(QStringLiteral("deltascope-payloads-XXXXXX")));
        if (!m_file->open()) {
            qCWarning(lcSession).noquote() << QStringLiteral("cannot create a payload spill file in %1 (%2): the session's payloads stay in memory")
                                                  .arg(directory, m_file->errorString());
            m_file.reset();
            m_spillFailed = true;
            return;
        }
#ifdef Q_OS_UNIX
        // Only this store uses the file: unlinked now, it goes away with the process, even a crashed one.
        if (::unlink(QFile::encodeName(m_file->fileName()).constData()) == 0)
            m_file->setAutoRemove(false);
#endif
    }
    if (!m_file->seek(m_fileEnd) || m_file->write(chunk.bytes) != chunk.bytes.size() || !m_file->flush()) {
        qCWarning(lcSession).noquote() << QStringLiteral("cannot write to the payload spill file %1 (%2): the session's payloads stay in memory from here")
                                              .arg(m_file->fileName(), m_file->errorString());
        m_spillFailed = true;
        return;
    }
    chunk.fileOffset = m_fileEnd;
    chunk.size = chunk.bytes.size();
    m_fileEnd += chunk.size;
    chunk.bytes = QByteArray();
}

const QByteArray* SpillingPayloadStore::loaded(std::size_t index) const
{
    const Chunk& chunk = m_chunks[index];
    if (chunk.fileOffset < 0)
        return &chunk.bytes;
    for (auto it = m_cache.begin(); it != m_cache.end(); ++it) {
        if (it->index == index) {
            std::rotate(it, it + 1, m_cache.end()); // now the most recently used
            return &m_cache.back().bytes;
        }
    }
    QByteArray bytes(chunk.size, Qt::Uninitialized);
    if (!m_file->seek(chunk.fileOffset) || m_file->read(bytes.data(), chunk.size) != chunk.size) {
        qCWarning(lcSession).noquote() << QStringLiteral("cannot read back payloads from the spill file %1 (%2)").arg(m_file->fileName(), m_file->errorString());
        return nullptr;
    }
    if (m_cache.size() == std::size_t(kCachedChunks))
        m_cache.erase(m_cache.begin());
    m_cache.push_back({ index, std::move(bytes) });
    return &m_cache.back().bytes;
}

QByteArray SpillingPayloadStore::read(const PayloadRef& ref) const
{
    const std::size_t index = std::size_t(ref.offset >> 32);
    const qsizetype position = qsizetype(ref.offset & 0xffffffffu);
    if (index >= m_chunks.size() || position + qsizetype(ref.length) > m_chunks[index].size)
        return {};
    const QByteArray* bytes = loaded(index);
    return bytes ? bytes->mid(position, ref.length) : QByteArray();
}

qint64 SpillingPayloadStore::bytesInMemory() const
{
    qint64 bytes = 0;
    for (const Chunk& chunk : m_chunks)
        bytes += chunk.bytes.capacity();
    for (const Cached& cached : m_cache)
        bytes += cached.bytes.size();
    return bytes;
}

bool SpillingPayloadStore::spilling() const { return m_file && !m_spillFailed; }

}
