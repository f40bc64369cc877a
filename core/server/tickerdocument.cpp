#include "core/server/tickerdocument.h"

#include "core/server/serverwire.h"

#include <algorithm>
#include <cmath>

namespace deltascope::server {

namespace {

const QString kSymbolsKey = QStringLiteral("symbols");
const QString kTick = QStringLiteral("tick");
const QString kTicks = QStringLiteral("ticks");
const QString kValues = QStringLiteral("values");
const QString kUpdated = QStringLiteral("updated");
const QString kHistoryKey = QStringLiteral("history");

const char* const kNames[] = { "ACME", "BOLT", "CRUX", "DYNE", "ECHO", "FLUX", "GRID", "HALO" };

}

double TickerDocument::rateFromKey(const QString& key)
{
    if (!key.startsWith(QLatin1String("rate-")))
        return 0;
    bool ok = false;
    const double rate = key.mid(5).toDouble(&ok);
    return ok && rate > 0 ? std::min(rate, 100000.0) : 0;
}

TickerDocument::TickerDocument(const QString& key, quint64 seed, double defaultRate, QObject* parent)
    : DemoDocument(QStringLiteral("ticker"), key, seed, parent)
{
    const double keyRate = rateFromKey(key);
    m_rate = keyRate > 0 ? keyRate : defaultRate;
    DocumentTree& t = tree();
    const NodeId list = t.setRecordList(t.root(), kSymbolsKey);
    QStringList order;
    for (int i = 0; i < kSymbols; ++i) {
        Symbol symbol;
        symbol.id = QString::number(i + 1);
        symbol.name = QString::fromLatin1(kNames[i]);
        symbol.price = 10.0 + randomInt(0, 9000) / 100.0;
        symbol.volume = 4'000'000'000LL + randomInt(0, 1000000); // a long: travels as a string
        symbol.history = { symbol.price };
        m_symbols.push_back(symbol);
        order.append(symbol.id);
    }
    for (const Symbol& symbol : m_symbols)
        writeSymbol(symbol, true);
    t.setOrder(list, order);
    for (int i = 0; i < 16; ++i)
        m_values.append(randomInt(0, 999));
    writeValues();
    t.setInteger(t.root(), kTick, 0);
    t.setString(t.root(), kUpdated, QString::number(now()));
}

void TickerDocument::setRate(double rate)
{
    m_rate = rate;
    rateChanged();
}

int TickerDocument::message(const Principal& who, const QString& channel, const QJsonValue& message)
{
    Q_UNUSED(who)
    Q_UNUSED(message)
    Q_UNUSED(channel)
    // The ticker takes no input; like an Adama document without a handler for the channel.
    return ErrorCode::NoChannelHandler;
}

void TickerDocument::writeSymbol(const Symbol& symbol, bool full)
{
    DocumentTree& t = tree();
    const NodeId list = t.childByKey(t.root(), kSymbolsKey);
    const NodeId element = t.setElementObject(list, symbol.id);
    if (full) {
        t.setInteger(element, QStringLiteral("id"), symbol.id.toInt());
        t.setString(element, QStringLiteral("name"), symbol.name);
    }
    t.setDouble(element, QStringLiteral("price"), symbol.price);
    t.setString(element, QStringLiteral("volume"), QString::number(symbol.volume));
    const NodeId history = t.setValueList(element, kHistoryKey);
    t.resizeValueList(history, static_cast<int>(symbol.history.size()));
    for (int i = 0; i < symbol.history.size(); ++i)
        t.setDouble(history, QString::number(i), symbol.history.at(i));
}

void TickerDocument::writeValues()
{
    DocumentTree& t = tree();
    const NodeId list = t.setValueList(t.root(), kValues);
    t.resizeValueList(list, static_cast<int>(m_values.size()));
    for (int i = 0; i < m_values.size(); ++i)
        t.setInteger(list, QString::number(i), m_values.at(i));
}

void TickerDocument::sortSymbols()
{
    QStringList order;
    std::vector<const Symbol*> sorted;
    for (const Symbol& symbol : m_symbols)
        sorted.push_back(&symbol);
    std::stable_sort(sorted.begin(), sorted.end(), [](const Symbol* a, const Symbol* b) { return a->price > b->price; });
    for (const Symbol* symbol : sorted)
        order.append(symbol->id);
    DocumentTree& t = tree();
    t.setOrder(t.childByKey(t.root(), kSymbolsKey), order);
}

void TickerDocument::botStep()
{
    m_tick += 1;
    Symbol& symbol = m_symbols.at(static_cast<size_t>(randomInt(0, kSymbols - 1)));
    const double move = 1.0 + randomInt(-100, 100) / 10000.0;
    symbol.price = std::max(0.01, std::round(symbol.price * move * 100.0) / 100.0);
    symbol.volume += randomInt(1, 500);
    symbol.history.append(symbol.price);
    // Shifting a full window would rewrite every index with the length unchanged (no `@s`); grow
    // and cut back instead, so that every history delta carries `@s`.
    if (symbol.history.size() > kHistoryLimit)
        symbol.history = symbol.history.mid(symbol.history.size() - kHistory);
    writeSymbol(symbol, false);

    DocumentTree& t = tree();
    if (m_tick % 50 == 0) {
        // The value list grows or shrinks, so `@s` changes and dropped indexes are nulled.
        if (m_values.size() <= 12 || (m_values.size() < 16 && randomInt(0, 1) == 0))
            m_values.append(randomInt(0, 999));
        else
            m_values.removeLast();
        writeValues();
    } else if (m_tick % kValueEditEvery == kValueEditEvery / 4) { // between two length changes
        // In place, the length unchanged: Adama sends no `@s`, and the reference client shows it stale.
        const int index = randomInt(0, static_cast<int>(m_values.size()) - 1);
        m_values[index] = randomInt(0, 999);
        t.setInteger(t.childByKey(t.root(), kValues), QString::number(index), m_values.at(index));
    }
    if (m_tick % 200 == 0)
        sortSymbols();
    if (schemaVersion() >= 2) {
        t.setInteger(t.root(), kTicks, m_tick);
    } else {
        t.setInteger(t.root(), kTick, m_tick);
        t.setString(t.root(), kUpdated, QString::number(now()));
    }
}

void TickerDocument::migrateSchema(int toVersion)
{
    if (toVersion != 2)
        return;
    DocumentTree& t = tree();
    t.remove(t.root(), kTick);
    t.remove(t.root(), kUpdated);
    t.setInteger(t.root(), kTicks, m_tick);
}

}
