#pragma once

#include "core/server/demodocument.h"

namespace deltascope::server {

// Space `ticker`: market-like numbers changing at a configurable rate. Key `rate-N` ticks N
// transactions per second (up to 100,000); any other key ticks at the server's ticker rate. Public:
// `symbols` (record list of {id, name, price (double), volume (long, so a string), history (value list
// of the latest prices: it grows by one a tick to 16, then is cut back to the last 8)}, re-sorted by
// price every 200 ticks), `tick` (int), `values` (value list of 12 to 16 ints whose length changes
// every 50 ticks, and one of which is edited in place every 100 ticks), `updated` (long: epoch ms).
// Every value list edit but that in-place one changes the length, so its delta carries `@s`: the
// reference client's quirk (a value list edited without `@s` shows stale values there) shows once
// in a while, as a demo of it, not on every delta.
// Schema 2 (redeploy fault): `tick` renamed `ticks`, `updated` removed.
class TickerDocument : public DemoDocument
{
    Q_OBJECT

public:
    static constexpr int kSymbols = 8;
    // A symbol's history grows to kHistoryLimit prices, then is cut back to the last kHistory.
    static constexpr int kHistory = 8;
    static constexpr int kHistoryLimit = 16;
    // Every this many ticks, one of `values` is edited in place (no `@s`: the reference client's quirk).
    static constexpr int kValueEditEvery = 100;

    TickerDocument(const QString& key, quint64 seed, double defaultRate, QObject* parent = nullptr);

    int message(const Principal& who, const QString& channel, const QJsonValue& message) override;
    double botRate() const override { return m_rate; }
    void setRate(double rate);
    // The rate a key asks for (`rate-N`), or 0 when the key names none.
    static double rateFromKey(const QString& key);

protected:
    void botStep() override;
    void migrateSchema(int toVersion) override;

private:
    struct Symbol {
        QString id;
        QString name;
        double price = 0;
        qint64 volume = 0;
        QList<double> history;
    };

    void writeSymbol(const Symbol& symbol, bool full);
    void writeValues();
    void sortSymbols();

    double m_rate;
    std::vector<Symbol> m_symbols;
    QList<int> m_values;
    qint64 m_tick = 0;
};

}
