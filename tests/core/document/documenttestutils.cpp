#include "documenttestutils.h"

#include "tests/support/testutils.h"

#include <QJsonDocument>
#include <QJsonObject>

#include <cmath>

namespace deltascope::test {

QList<DeltaVector> loadDeltaVectors()
{
    const QByteArray text = readFileOrFail(sharedProtocolDir() + QStringLiteral("/delta-vectors.json"));
    const QJsonArray all = QJsonDocument::fromJson(text).array();
    QList<DeltaVector> vectors;
    for (const QJsonValue& value : all) {
        const QJsonObject object = value.toObject();
        DeltaVector vector;
        vector.name = object.value(QStringLiteral("name")).toString();
        for (const QJsonValue& delta : object.value(QStringLiteral("deltas")).toArray())
            vector.deltas.append(QJsonDocument(delta.toObject()).toJson(QJsonDocument::Compact));
        vector.expected = object.value(QStringLiteral("expected"));
        vector.referenceClient = object.value(QStringLiteral("reference_client"));
        vectors.append(vector);
    }
    return vectors;
}

bool sameJson(const QJsonValue& a, const QJsonValue& b)
{
    if (a.isDouble() && b.isDouble())
        return a.toDouble() == b.toDouble() || (std::isnan(a.toDouble()) && std::isnan(b.toDouble()));
    if (a.type() != b.type())
        return false;
    if (a.isObject()) {
        const QJsonObject x = a.toObject();
        const QJsonObject y = b.toObject();
        if (x.size() != y.size())
            return false;
        for (auto it = x.begin(); it != x.end(); ++it) {
            if (!y.contains(it.key()) || !sameJson(it.value(), y.value(it.key())))
                return false;
        }
        return true;
    }
    if (a.isArray()) {
        const QJsonArray x = a.toArray();
        const QJsonArray y = b.toArray();
        if (x.size() != y.size())
            return false;
        for (qsizetype i = 0; i < x.size(); ++i) {
            if (!sameJson(x.at(i), y.at(i)))
                return false;
        }
        return true;
    }
    return a == b;
}

QJsonValue parseJson(const QByteArray& json)
{
    QJsonParseError error;
    const QJsonDocument document = QJsonDocument::fromJson(json, &error);
    if (error.error != QJsonParseError::NoError)
        return QJsonValue(QJsonValue::Undefined);
    return document.isObject() ? QJsonValue(document.object()) : QJsonValue(document.array());
}

namespace {
// Whether `node` or an ancestor is a list element its key does not find: a value the reference
// client shows but keeps no more in the list's element map (a placeholder, or the previous array's
// element), whose key an element of the map may also have. A path through it leads to that one.
bool shadowedOnItsPath(const DocumentTree& tree, NodeId node)
{
    for (NodeId n = node; tree.parent(n) != kNoNode; n = tree.parent(n)) {
        const NodeId parent = tree.parent(n);
        const NodeKind kind = tree.kind(parent);
        if ((kind == NodeKind::RecordList || kind == NodeKind::ValueList) && tree.childByKey(parent, tree.key(n)) != n)
            return true;
    }
    return false;
}
}

QString checkTreeInvariants(const DocumentTree& tree)
{
    std::vector<NodeId> stack { tree.root() };
    std::size_t visited = 0;
    while (!stack.empty()) {
        const NodeId node = stack.back();
        stack.pop_back();
        ++visited;
        if (!tree.contains(node))
            return QStringLiteral("node %1 reachable but not contained").arg(node);
        if (tree.find(tree.path(node)) != node && tree.kind(tree.parent(node)) != NodeKind::RawArray) {
            // Placeholders may share a key with an element; only flag when the path leads nowhere.
            if (tree.find(tree.path(node)) == kNoNode && !shadowedOnItsPath(tree, node))
                return QStringLiteral("path %1 does not lead back to its node").arg(tree.path(node));
        }
        const int count = tree.childCount(node);
        for (int row = 0; row < count; ++row) {
            const NodeId child = tree.child(node, row);
            if (child == kNoNode)
                return QStringLiteral("missing child %1 of %2").arg(row).arg(tree.path(node));
            if (tree.parent(child) != node)
                return QStringLiteral("child %1 of %2 has another parent").arg(row).arg(tree.path(node));
            if (tree.row(child) != row)
                return QStringLiteral("child %1 of %2 says row %3").arg(row).arg(tree.path(node)).arg(tree.row(child));
            stack.push_back(child);
        }
    }
    if (visited != tree.nodeCount())
        return QStringLiteral("nodeCount %1 but %2 visible nodes").arg(tree.nodeCount()).arg(visited);
    return {};
}

}
