#pragma once

// Seeded random typed documents for property tests (core and ui): built with the editing API, as
// the reference server builds its views, and a comparison of what two viewers must see.

#include "core/document/documenttree.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QStringList>

#include <algorithm>
#include <random>

namespace deltascope::test {

// Seeded random evolutions of typed documents, built with the editing API as the reference server does.
class Generator
{
public:
    explicit Generator(quint64 seed)
        : m_rng(seed)
    {
    }

    // Lets a list become an object, which takes two deltas (encodeDeltas); off by default, for
    // callers that fold one encodeDelta per evolution.
    void allowListToObject(bool allow) { m_listToObject = allow; }

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
            if (!existingIsList || m_listToObject) {
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

    // The next state of `from`: a copy with 1 to maxOperations random mutations, as one server
    // transaction (the mutations consult `from` so a key never changes kind within one delta).
    DocumentTree evolve(const DocumentTree& from, int maxOperations)
    {
        DocumentTree next = from;
        m_previous = &from;
        for (int i = 1 + below(maxOperations); i > 0; --i)
            mutate(next);
        m_previous = nullptr;
        return next;
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

private:
    const DocumentTree* m_previous = nullptr; // the tree last encoded, while evolve() builds the next one
    bool m_listToObject = false;
    std::mt19937_64 m_rng;
    int m_nextId = 1;
};

inline bool isList(NodeKind kind) { return kind == NodeKind::RecordList || kind == NodeKind::ValueList; }

// Differences between what a viewer must see: object member order ignored, numbers by value, and
// members the wire cannot carry (null members, lists never sent because empty) treated as absent.
inline QString compareTrees(const DocumentTree& a, NodeId x, const DocumentTree& b, NodeId y, const QString& path)
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


}
