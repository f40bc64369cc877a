#include <catch2/catch.hpp>

#include "core/document/documenttree.h"
#include "documenttestutils.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>

#include <random>

using namespace deltascope;
using namespace deltascope::test;

namespace {

// Seeded random evolutions of typed documents, built with the editing API as the reference server does.
class Generator
{
public:
    explicit Generator(quint64 seed)
        : m_rng(seed)
    {
    }

    int below(int n) { return n <= 1 ? 0 : int(m_rng() % quint64(n)); }
    bool chance(int percent) { return below(100) < percent; }

    QString objectKey()
    {
        static const char16_t* keys[] = { u"a", u"b", u"c", u"title", u"score", u"x y", u"\u00fcn\u00ef", u"a/b~c", u"$s", u"n" };
        return QString::fromUtf16(keys[below(int(std::size(keys)))]);
    }

    QString randomString()
    {
        switch (below(6)) {
        case 0:
            return QString();
        case 1:
            return QStringLiteral("he said \"hi\"\n\t\\");
        case 2:
            return QString::number(qint64(m_rng() >> 1)); // a long as Adama sends it
        case 3:
            return QStringLiteral("\u00e9\u4e2d\U0001F600");
        default: {
            QString s;
            const int n = below(12);
            for (int i = 0; i < n; ++i)
                s.append(QChar(u'a' + below(26)));
            return s;
        }
        }
    }

    void setScalar(DocumentTree& tree, NodeId parent, const QString& key)
    {
        switch (below(5)) {
        case 0:
            tree.setInteger(parent, key, qint64(m_rng() % 2001) - 1000);
            break;
        case 1:
            tree.setDouble(parent, key, double(below(100000)) / 7.0 + 0.5);
            break;
        case 2:
            tree.setBool(parent, key, chance(50));
            break;
        default:
            tree.setString(parent, key, randomString());
            break;
        }
    }

    QByteArray rawJson(int depth)
    {
        QJsonArray array;
        const int n = below(4);
        for (int i = 0; i < n; ++i) {
            switch (below(depth > 2 ? 3 : 5)) {
            case 0:
                array.append(below(50));
                break;
            case 1:
                array.append(randomString());
                break;
            case 2:
                array.append(QJsonValue());
                break;
            case 3:
                array.append(QJsonDocument::fromJson(rawJson(depth + 1)).array());
                break;
            default: {
                QJsonObject o;
                o.insert(QStringLiteral("@o"), below(3)); // literal keys inside raw JSON stay literal
                o.insert(objectKey(), randomString());
                array.append(o);
            }
            }
        }
        return QJsonDocument(array).toJson(QJsonDocument::Compact);
    }

    void fillRecord(DocumentTree& tree, NodeId element)
    {
        const int fields = 1 + below(3);
        for (int i = 0; i < fields; ++i)
            setScalar(tree, element, objectKey());
        if (chance(10)) {
            const NodeId inner = tree.setRecordList(element, QStringLiteral("members"));
            populateRecordList(tree, inner, below(4));
        }
    }

    void populateRecordList(DocumentTree& tree, NodeId list, int count)
    {
        QStringList order = tree.order(list);
        for (int i = 0; i < count; ++i) {
            const QString id = chance(10) ? QStringLiteral("k%1").arg(m_nextId++) : QString::number(m_nextId++);
            fillRecord(tree, tree.setElementObject(list, id));
            order.insert(below(int(order.size()) + 1), id);
        }
        tree.setOrder(list, order);
    }

    void populateValueList(DocumentTree& tree, NodeId list, int size)
    {
        const int old = tree.childCount(list);
        tree.resizeValueList(list, size);
        const bool objects = chance(20);
        for (int i = old; i < size; ++i) {
            if (objects) {
                const NodeId element = tree.setObject(list, QString::number(i));
                tree.setInteger(element, QStringLiteral("x"), below(9));
            } else {
                tree.setInteger(list, QString::number(i), below(100));
            }
        }
    }

    void addMember(DocumentTree& tree, NodeId object)
    {
        const QString key = objectKey();
        const NodeId existing = tree.childByKey(object, key);
        // A list cannot turn into an object within one delta (the object would merge into the list),
        // so neither the current tree nor the one last encoded may hold a list there.
        const QString path = tree.path(object).isEmpty() ? escapeKey(key) : tree.path(object) + QLatin1Char('/') + escapeKey(key);
        const NodeId before = m_previous ? m_previous->find(path) : kNoNode;
        const bool existingIsList = (existing != kNoNode
                                        && (tree.kind(existing) == NodeKind::RecordList || tree.kind(existing) == NodeKind::ValueList))
            || (before != kNoNode && (m_previous->kind(before) == NodeKind::RecordList || m_previous->kind(before) == NodeKind::ValueList));
        switch (below(7)) {
        case 0:
        case 1:
            setScalar(tree, object, key);
            break;
        case 2:
            if (!existingIsList) {
                const NodeId child = tree.setObject(object, key);
                for (int i = below(3); i > 0; --i)
                    setScalar(tree, child, objectKey());
            }
            break;
        case 3:
            populateRecordList(tree, tree.setRecordList(object, key), below(6));
            break;
        case 4:
            populateValueList(tree, tree.setValueList(object, key), below(6));
            break;
        case 5:
            tree.setRawJson(object, key, rawJson(0).toStdString());
            break;
        default:
            tree.remove(object, key);
            break;
        }
    }

    void mutateRecordList(DocumentTree& tree, NodeId list)
    {
        QStringList order = tree.order(list);
        switch (below(6)) {
        case 0:
            populateRecordList(tree, list, 1 + below(3));
            break;
        case 1:
            if (!order.isEmpty())
                tree.removeElement(list, order.at(below(int(order.size()))));
            break;
        case 2: // move one
            if (order.size() > 1) {
                const QString id = order.takeAt(below(int(order.size())));
                order.insert(below(int(order.size()) + 1), id);
                tree.setOrder(list, order);
            }
            break;
        case 3: // shuffle
            std::shuffle(order.begin(), order.end(), m_rng);
            tree.setOrder(list, order);
            break;
        case 4: // reverse or rotate
            if (chance(50))
                std::reverse(order.begin(), order.end());
            else if (!order.isEmpty())
                std::rotate(order.begin(), order.begin() + below(int(order.size())), order.end());
            tree.setOrder(list, order);
            break;
        default: // remove several and insert some in one step
            for (int i = below(3); i > 0 && !order.isEmpty(); --i)
                tree.removeElement(list, order.takeAt(below(int(order.size()))));
            populateRecordList(tree, list, below(3));
            break;
        }
    }

    void mutateValueList(DocumentTree& tree, NodeId list)
    {
        const int size = tree.childCount(list);
        switch (below(3)) {
        case 0:
            populateValueList(tree, list, size + 1 + below(3));
            break;
        case 1:
            tree.resizeValueList(list, below(size + 1));
            break;
        default:
            if (size > 0) {
                const QString index = QString::number(below(size));
                if (tree.kind(tree.childByKey(list, index)) == NodeKind::Object)
                    tree.setInteger(tree.childByKey(list, index), QStringLiteral("x"), below(9));
                else
                    tree.setInteger(list, index, below(100));
            }
        }
    }

    void mutate(DocumentTree& tree)
    {
        std::vector<NodeId> containers;
        std::vector<NodeId> stack { tree.root() };
        while (!stack.empty()) {
            const NodeId node = stack.back();
            stack.pop_back();
            const NodeKind kind = tree.kind(node);
            if (kind == NodeKind::Object || kind == NodeKind::RecordList || kind == NodeKind::ValueList)
                containers.push_back(node);
            if (kind == NodeKind::RawArray)
                continue;
            for (int row = 0; row < tree.childCount(node); ++row)
                stack.push_back(tree.child(node, row));
        }
        const NodeId target = containers[std::size_t(below(int(containers.size())))];
        switch (tree.kind(target)) {
        case NodeKind::Object:
            addMember(tree, target);
            break;
        case NodeKind::RecordList:
            mutateRecordList(tree, target);
            break;
        default:
            mutateValueList(tree, target);
            break;
        }
    }

    static QString escapeKey(const QString& key)
    {
        QString segment = key;
        segment.replace(QLatin1Char('~'), QLatin1String("~0"));
        segment.replace(QLatin1Char('/'), QLatin1String("~1"));
        return segment;
    }

    const DocumentTree* m_previous = nullptr; // the tree last encoded, while building the next one

private:
    std::mt19937_64 m_rng;
    int m_nextId = 1;
};

bool isList(NodeKind kind) { return kind == NodeKind::RecordList || kind == NodeKind::ValueList; }

// Differences between what a viewer must see: object member order ignored, numbers by value, and
// members the wire cannot carry (null members, lists never sent because empty) treated as absent.
QString compareTrees(const DocumentTree& a, NodeId x, const DocumentTree& b, NodeId y, const QString& path)
{
    const NodeKind kx = a.kind(x);
    const NodeKind ky = b.kind(y);
    const auto isNumber = [](NodeKind k) { return k == NodeKind::Integer || k == NodeKind::Double; };
    if (isNumber(kx) && isNumber(ky))
        return a.doubleValue(x) == b.doubleValue(y) ? QString() : path + QStringLiteral(": number differs");
    if (kx != ky)
        return path + QStringLiteral(": kind %1 vs %2").arg(nodeKindName(kx), nodeKindName(ky));
    switch (kx) {
    case NodeKind::Null:
        return {};
    case NodeKind::Bool:
        return a.boolValue(x) == b.boolValue(y) ? QString() : path + QStringLiteral(": bool differs");
    case NodeKind::String:
        return a.stringValue(x) == b.stringValue(y) ? QString() : path + QStringLiteral(": string differs");
    case NodeKind::Object: {
        const auto present = [](const DocumentTree& t, NodeId n) {
            return n != kNoNode && t.kind(n) != NodeKind::Null && !(isList(t.kind(n)) && t.childCount(n) == 0);
        };
        for (int row = 0; row < a.childCount(x); ++row) {
            const NodeId cx = a.child(x, row);
            const NodeId cy = b.childByKey(y, a.key(cx));
            if (present(a, cx) != present(b, cy))
                return path + QLatin1Char('/') + a.key(cx) + QStringLiteral(": present on one side only");
            if (present(a, cx)) {
                const QString difference = compareTrees(a, cx, b, cy, path + QLatin1Char('/') + a.key(cx));
                if (!difference.isEmpty())
                    return difference;
            }
        }
        for (int row = 0; row < b.childCount(y); ++row) {
            const NodeId cy = b.child(y, row);
            if (present(b, cy) && !present(a, a.childByKey(x, b.key(cy))))
                return path + QLatin1Char('/') + b.key(cy) + QStringLiteral(": present on one side only");
        }
        return {};
    }
    default:
        if (a.childCount(x) != b.childCount(y))
            return path + QStringLiteral(": %1 vs %2 elements").arg(a.childCount(x)).arg(b.childCount(y));
        for (int row = 0; row < a.childCount(x); ++row) {
            const NodeId cx = a.child(x, row);
            const NodeId cy = b.child(y, row);
            if (kx == NodeKind::RecordList && a.key(cx) != b.key(cy))
                return path + QStringLiteral(": element %1 is %2 vs %3").arg(row).arg(a.key(cx), b.key(cy));
            const QString difference = compareTrees(a, cx, b, cy, path + QLatin1Char('/') + a.key(cx));
            if (!difference.isEmpty())
                return difference;
        }
        return {};
    }
}

QJsonArray expectedOrder(const DocumentTree& from, const DocumentTree& to, const QString& path)
{
    const NodeId oldList = from.find(path);
    const QStringList oldOrder = (oldList != kNoNode && from.kind(oldList) == NodeKind::RecordList) ? from.order(oldList) : QStringList();
    const QStringList newOrder = to.order(to.find(path));
    QHash<QString, int> position;
    for (int p = 0; p < oldOrder.size(); ++p)
        position.insert(oldOrder.at(p), p);
    QJsonArray result;
    const auto id = [](const QString& key) {
        bool ok = false;
        const qint64 n = key.toLongLong(&ok);
        return ok && QString::number(n) == key ? QJsonValue(n) : QJsonValue(key);
    };
    for (int i = 0; i < newOrder.size();) {
        const auto found = position.constFind(newOrder.at(i));
        if (found != position.constEnd()) {
            int length = 1;
            while (i + length < newOrder.size() && position.value(newOrder.at(i + length), -1) == *found + length)
                ++length;
            if (length >= 3) {
                result.append(QJsonArray { *found, *found + length - 1 });
                i += length;
                continue;
            }
        }
        result.append(id(newOrder.at(i)));
        ++i;
    }
    return result;
}

QString escape(const QString& key)
{
    QString segment = key;
    segment.replace(QLatin1Char('~'), QLatin1String("~0"));
    segment.replace(QLatin1Char('/'), QLatin1String("~1"));
    return segment;
}

// Walks an encoded delta alongside the trees and checks every @o and @s against the rules.
QString checkListInstructions(const QJsonObject& delta, const DocumentTree& from, const DocumentTree& to, const QString& path)
{
    const NodeId target = to.find(path);
    const bool recordList = target != kNoNode && to.kind(target) == NodeKind::RecordList;
    const bool valueList = target != kNoNode && to.kind(target) == NodeKind::ValueList;
    if (!path.isEmpty() && recordList) {
        const NodeId old = from.find(path);
        const bool sameKind = old != kNoNode && from.kind(old) == NodeKind::RecordList;
        const bool orderChanged = !sameKind || from.order(old) != to.order(target);
        if (delta.contains(QStringLiteral("@o")) != orderChanged)
            return path + QStringLiteral(": @o present=%1 but order changed=%2").arg(delta.contains(QStringLiteral("@o"))).arg(orderChanged);
        if (orderChanged && delta.value(QStringLiteral("@o")).toArray() != expectedOrder(from, to, path))
            return path + QStringLiteral(": @o %1 breaks the runs-of-three rule (expected %2)")
                              .arg(QString::fromUtf8(QJsonDocument(delta.value(QStringLiteral("@o")).toArray()).toJson(QJsonDocument::Compact)),
                                  QString::fromUtf8(QJsonDocument(expectedOrder(from, to, path)).toJson(QJsonDocument::Compact)));
    }
    if (!path.isEmpty() && valueList) {
        const NodeId old = from.find(path);
        const bool sameKind = old != kNoNode && from.kind(old) == NodeKind::ValueList;
        const bool sizeChanged = !sameKind || from.childCount(old) != to.childCount(target);
        if (delta.contains(QStringLiteral("@s")) != sizeChanged)
            return path + QStringLiteral(": @s present=%1 but size changed=%2").arg(delta.contains(QStringLiteral("@s"))).arg(sizeChanged);
        if (sizeChanged && delta.value(QStringLiteral("@s")).toInt(-1) != to.childCount(target))
            return path + QStringLiteral(": @s is not the new size");
    }
    for (auto it = delta.begin(); it != delta.end(); ++it) {
        if (!it.value().isObject() || it.key() == QLatin1String("@o"))
            continue;
        const QString childPath = path.isEmpty() ? escape(it.key()) : path + QLatin1Char('/') + escape(it.key());
        const NodeId child = to.find(childPath);
        if (child != kNoNode && to.kind(child) != NodeKind::RawArray) {
            const QString problem = checkListInstructions(it.value().toObject(), from, to, childPath);
            if (!problem.isEmpty())
                return problem;
        }
    }
    return {};
}

}

TEST_CASE("property: fold(old, encode(old, new)) == new over thousands of random evolutions")
{
    int evolutions = 0;
    int nonEmpty = 0;
    int withOrder = 0;
    for (quint64 seed = 1; seed <= 150; ++seed) {
        Generator generator(seed);
        DocumentTree previous;
        DocumentTree viewer; // what a client folded from the encoded stream
        for (int step = 0; step < 25; ++step) {
            DocumentTree next = previous;
            const int operations = 1 + generator.below(6);
            generator.m_previous = &previous;
            for (int i = 0; i < operations; ++i)
                generator.mutate(next);
            generator.m_previous = nullptr;
            const QByteArray delta = encodeDelta(previous, next);
            INFO("seed " << seed << " step " << step << "\nold " << previous.toJson().toStdString() << "\nnew "
                         << next.toJson().toStdString() << "\ndelta " << delta.toStdString());
            ++evolutions;
            if (!delta.isEmpty()) {
                ++nonEmpty;
                if (delta.contains("\"@o\""))
                    ++withOrder;
                const FoldResult result = viewer.apply(std::string_view(delta.constData(), std::size_t(delta.size())), step);
                REQUIRE(result.parsed);
                for (const Anomaly& anomaly : result.anomalies) {
                    INFO("anomaly " << anomalyKindName(anomaly.kind).toStdString() << " at " << anomaly.path.toStdString() << ": "
                                    << anomaly.message.toStdString());
                    // Kind changes are reported; in-place value list edits are flagged for the reference client.
                    CHECK((anomaly.kind == AnomalyKind::KindChanged || anomaly.kind == AnomalyKind::ValueListEditedWithoutSize
                        || anomaly.kind == AnomalyKind::ReferenceClientDiffers));
                }
                const QJsonObject deltaObject = QJsonDocument::fromJson(delta).object();
                REQUIRE_FALSE(deltaObject.isEmpty());
                const QString problem = checkListInstructions(deltaObject, previous, next, QString());
                INFO(problem.toStdString());
                REQUIRE(problem.isEmpty());
            }
            const QString difference = compareTrees(viewer, viewer.root(), next, next.root(), QString());
            INFO("viewer " << viewer.toJson().toStdString() << "\ndifference " << difference.toStdString());
            REQUIRE(difference.isEmpty());
            REQUIRE(checkTreeInvariants(viewer).isEmpty());
            REQUIRE(checkTreeInvariants(next).isEmpty());
            // Nothing is left to send once the viewer has folded the delta.
            REQUIRE(encodeDelta(viewer, next).isEmpty());
            previous = std::move(next);
        }
    }
    CHECK(evolutions == 150 * 25);
    CHECK(nonEmpty > evolutions / 2);
    CHECK(withOrder > evolutions / 10);
}

TEST_CASE("property: the first snapshot of a random document folds to the document")
{
    for (quint64 seed = 1000; seed < 1200; ++seed) {
        Generator generator(seed);
        DocumentTree tree;
        for (int i = 0; i < 40; ++i)
            generator.mutate(tree);
        const QByteArray snapshot = tree.toSnapshotDelta();
        DocumentTree viewer;
        const FoldResult result = viewer.apply(std::string_view(snapshot.constData(), std::size_t(snapshot.size())));
        REQUIRE(result.parsed);
        CHECK(result.anomalies.empty());
        INFO("seed " << seed << " snapshot " << snapshot.toStdString());
        CHECK(compareTrees(viewer, viewer.root(), tree, tree.root(), QString()).isEmpty());
        // The same document exported and imported keeps its visible JSON.
        DocumentTree imported;
        QString error;
        const QByteArray json = tree.toJson();
        REQUIRE(DocumentTree::fromJson(std::string_view(json.constData(), std::size_t(json.size())), imported, &error));
        CHECK(sameJson(parseJson(imported.toJson()), parseJson(json)));
    }
}
