#include "core/server/bigdocument.h"

#include "core/server/serverwire.h"

namespace deltascope::server {

namespace {

const QString kItems = QStringLiteral("items");
const QString kSize = QStringLiteral("size");
const QString kCount = QStringLiteral("count");
const QString kGeneration = QStringLiteral("generation");
const QString kV = QStringLiteral("v");

}

BigDocument::BigDocument(const QString& key, quint64 seed, double botRate, QObject* parent)
    : DemoDocument(QStringLiteral("big"), key, seed, parent)
    , m_botRate(botRate)
{
    DocumentTree& t = tree();
    const NodeId items = t.setRecordList(t.root(), kItems);
    m_order.reserve(kElements);
    for (int i = 1; i <= kElements; ++i) {
        const QString id = QString::number(i);
        t.setInteger(t.setElementObject(items, id), kV, randomInt(0, 999999));
        m_order.append(id);
    }
    t.setOrder(items, m_order);
    t.setInteger(t.root(), kSize, kElements);
    t.setInteger(t.root(), kGeneration, 0);
}

void BigDocument::setBotRate(double rate)
{
    m_botRate = rate;
    rateChanged();
}

int BigDocument::message(const Principal& who, const QString& channel, const QJsonValue& message)
{
    Q_UNUSED(who)
    Q_UNUSED(channel)
    Q_UNUSED(message)
    return ErrorCode::NoChannelHandler;
}

void BigDocument::botStep()
{
    DocumentTree& t = tree();
    const NodeId items = t.childByKey(t.root(), kItems);
    m_generation += 1;
    const int last = static_cast<int>(m_order.size()) - 1;
    for (int i = 0; i < 10; ++i)
        t.setInteger(t.childByKey(items, m_order.at(randomInt(0, last))), kV, randomInt(0, 999999));
    const int action = randomInt(0, 3);
    if (action == 0 && m_order.size() > 1) {
        t.removeElement(items, m_order.takeAt(randomInt(0, last)));
        const QString id = QString::number(m_nextId++);
        t.setInteger(t.setElementObject(items, id), kV, randomInt(0, 999999));
        m_order.insert(randomInt(0, static_cast<int>(m_order.size())), id);
        t.setOrder(items, m_order);
    } else if (action == 1 && m_order.size() > 1) {
        const QString id = m_order.takeAt(randomInt(0, last));
        m_order.insert(randomInt(0, static_cast<int>(m_order.size())), id);
        t.setOrder(items, m_order);
    }
    if (schemaVersion() >= 2) {
        t.setInteger(t.root(), kCount, m_order.size());
    } else {
        t.setInteger(t.root(), kSize, m_order.size());
        t.setInteger(t.root(), kGeneration, m_generation);
    }
}

void BigDocument::migrateSchema(int toVersion)
{
    if (toVersion != 2)
        return;
    DocumentTree& t = tree();
    t.remove(t.root(), kSize);
    t.remove(t.root(), kGeneration);
    t.setInteger(t.root(), kCount, m_order.size());
}

}
