#pragma once

#include "core/server/demodocument.h"

namespace deltascope::server {

// Space `big`: a stress document. Public: `items` (record list of 100,000 elements {v: int}, ids
// 1..100000 initially), `size` (element count), `generation` (bumped by every bot step). Each bot
// step changes ten values and sometimes removes an element and inserts a new id at a random
// position, or moves one element. Schema 2 (redeploy fault): `size` renamed `count`, `generation`
// removed.
class BigDocument : public DemoDocument
{
    Q_OBJECT

public:
    static constexpr int kElements = 100000;

    BigDocument(const QString& key, quint64 seed, double botRate, QObject* parent = nullptr);

    int message(const Principal& who, const QString& channel, const QJsonValue& message) override;
    double botRate() const override { return m_botRate; }
    void setBotRate(double rate);

protected:
    void botStep() override;
    void migrateSchema(int toVersion) override;

private:
    double m_botRate;
    QStringList m_order;
    qint64 m_nextId = kElements + 1;
    qint64 m_generation = 0;
};

}
