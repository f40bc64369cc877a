#pragma once

#include "core/session/sessionevent.h"

#include <QByteArray>
#include <QByteArrayView>
#include <QString>

#include <memory>
#include <vector>

class QTemporaryFile;

namespace deltascope {

// Keeps event payloads outside the event index. Appends happen on the log's thread; reads may
// happen from any thread only if the implementation says so.
class PayloadStore
{
public:
    virtual ~PayloadStore() = default;
    virtual PayloadRef append(QByteArrayView bytes) = 0;
    virtual QByteArray read(const PayloadRef& ref) const = 0;
    virtual quint64 totalBytes() const = 0;
};

// Payloads in memory, in large chunks (no per-payload allocation).
class MemoryPayloadStore final : public PayloadStore
{
public:
    PayloadRef append(QByteArrayView bytes) override;
    QByteArray read(const PayloadRef& ref) const override;
    quint64 totalBytes() const override { return m_total; }

private:
    static constexpr qsizetype kChunkSize = 1 << 20;
    std::vector<QByteArray> m_chunks; // each chunk holds whole payloads; offset = chunk << 32 | position
    quint64 m_total = 0;
};

// Payloads of a live session, which may run for days: the chunk being filled stays in memory; a
// full one moves to a spill file, so memory grows by the event index alone (design.md: 24 hours at
// 100 deltas/s). Reads of spilled chunks go through a small cache of whole chunks, so reading in
// order (a regex search, an export) loads each chunk once. If the spill file cannot be written
// (disk full), chunks stay in memory and a warning says why. Appends and reads on one thread
// (reads fill the cache): every reader of a live log today runs on the GUI thread.
class SpillingPayloadStore final : public PayloadStore
{
public:
    // `directory`: where the spill file goes (empty: the user's cache folder, else the temp folder).
    explicit SpillingPayloadStore(QString directory = {});
    ~SpillingPayloadStore() override;

    PayloadRef append(QByteArrayView bytes) override;
    QByteArray read(const PayloadRef& ref) const override;
    quint64 totalBytes() const override { return m_total; }

    // Bytes of payload held in memory (the chunk being filled, chunks that could not be spilled,
    // and the read cache).
    qint64 bytesInMemory() const;
    // Whether full chunks are going to the spill file (false before the first one fills, or after
    // the file could not be written).
    bool spilling() const;

    static constexpr qsizetype kChunkSize = 1 << 20;
    static constexpr int kCachedChunks = 8;
    static constexpr qsizetype kCachedBytes = 16 << 20;

private:
    struct Chunk {
        QByteArray bytes; // in memory: the chunk being filled, or one that could not be spilled
        qint64 fileOffset = -1; // in the spill file
        qsizetype size = 0;
    };
    void spill(Chunk& chunk);
    const QByteArray* loaded(std::size_t index) const;

    QString m_directory; // as given
    QString m_spillDirectory; // where the spill file went
    std::vector<Chunk> m_chunks; // offset = chunk << 32 | position, as in MemoryPayloadStore
    std::unique_ptr<QTemporaryFile> m_file;
    qint64 m_fileEnd = 0;
    bool m_spillFailed = false;
    quint64 m_total = 0;
    struct Cached {
        std::size_t index;
        QByteArray bytes;
    };
    mutable std::vector<Cached> m_cache; // most recently used last
    mutable qsizetype m_cachedBytes = 0;
};

}
