#pragma once

#include "core/session/sessionevent.h"

#include <QByteArray>
#include <QByteArrayView>

#include <vector>

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

}
