#include "core/session/payloadstore.h"

#include "core/logging.h"

#include <QDir>
#include <QStandardPaths>
#include <QStorageInfo>
#include <QTemporaryFile>

#include <algorithm>
#include <cerrno>

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
    ref.size = quint32(size);
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
    ref.size = quint32(size);
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
        m_spillDirectory = m_directory;
        if (m_spillDirectory.isEmpty()) {
            m_spillDirectory = QStandardPaths::writableLocation(QStandardPaths::CacheLocation);
            if (m_spillDirectory.isEmpty() || !QDir().mkpath(m_spillDirectory))
                m_spillDirectory = QDir::tempPath();
        }
        m_file = std::make_unique<QTemporaryFile>(QDir(m_spillDirectory).filePath(QStringLiteral("deltascope-payloads-XXXXXX")));
        if (!m_file->open()) {
            qCWarning(lcSession).noquote() << QStringLiteral("cannot create a payload spill file in %1 (%2): the session's payloads stay in memory")
                                                  .arg(m_spillDirectory, m_file->errorString());
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
    errno = 0;
    if (!m_file->seek(m_fileEnd) || m_file->write(chunk.bytes) != chunk.bytes.size() || !m_file->flush()) {
        // A short write (a full disk, a file size limit) leaves QFile without an error of its own.
        const int writeErrno = errno;
        QString reason = m_file->error() != QFileDevice::NoError ? m_file->errorString()
            : writeErrno != 0                                  ? qt_error_string(writeErrno)
                                                               : QString();
        const QStorageInfo storage(m_spillDirectory);
        if (storage.isValid() && storage.bytesAvailable() < chunk.bytes.size())
            reason = QStringLiteral("the disk is full, %1 bytes free").arg(storage.bytesAvailable());
        qCWarning(lcSession).noquote() << QStringLiteral("cannot write payloads to the spill file in %1 (%2): the session's payloads stay in memory from here")
                                              .arg(m_spillDirectory, reason.isEmpty() ? QStringLiteral("a short write") : reason);
        m_file->resize(m_fileEnd); // give back the space the failed write took
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
        qCWarning(lcSession).noquote() << QStringLiteral("cannot read back payloads from the spill file in %1 (%2)").arg(m_spillDirectory, m_file->errorString());
        return nullptr;
    }
    // At most kCachedChunks chunks and kCachedBytes (a chunk may hold one payload of megabytes).
    m_cachedBytes += bytes.size();
    m_cache.push_back({ index, std::move(bytes) });
    while (m_cache.size() > 1 && (m_cache.size() > std::size_t(kCachedChunks) || m_cachedBytes > kCachedBytes)) {
        m_cachedBytes -= m_cache.front().bytes.size();
        m_cache.erase(m_cache.begin());
    }
    return &m_cache.back().bytes;
}

QByteArray SpillingPayloadStore::read(const PayloadRef& ref) const
{
    const std::size_t index = std::size_t(ref.offset >> 32);
    const qsizetype position = qsizetype(ref.offset & 0xffffffffu);
    if (index >= m_chunks.size() || position + qsizetype(ref.length) > m_chunks[index].size || ref.length == 0)
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
