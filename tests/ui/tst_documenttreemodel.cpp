#include <catch2/catch.hpp>

#include "core/document/documenttree.h"
#include "tests/core/document/documentgenerator.h"
#include "ui/models/documenttreemodel.h"

#include <QAbstractItemModelTester>
#include <QSignalSpy>

using namespace deltascope;
using namespace deltascope::test;
using deltascope::ui::DocumentTreeModel;

namespace {

// The model as text: one line per row, indented by depth, with key, value, kind and node id.
void printModel(const QAbstractItemModel& model, const QModelIndex& parent, int depth, QStringList& out)
{
    for (int row = 0; row < model.rowCount(parent); ++row) {
        const QModelIndex index = model.index(row, 0, parent);
        out << QString(depth * 2, QLatin1Char(' ')) + index.data().toString() + QLatin1Char('|')
                + index.siblingAtColumn(DocumentTreeModel::ValueColumn).data().toString() + QLatin1Char('|')
                + index.siblingAtColumn(DocumentTreeModel::KindColumn).data().toString() + QLatin1Char('|')
                + QString::number(index.data(DocumentTreeModel::NodeIdRole).toULongLong());
        if (model.parent(index) != parent)
            out << QStringLiteral("!! parent() of row %1 does not lead back").arg(row);
        printModel(model, index, depth + 1, out);
    }
}

// The tree as the same text, from the tree's reading API.
void printTree(const DocumentTree& tree, NodeId node, int depth, QStringList& out)
{
    for (int row = 0; row < tree.childCount(node); ++row) {
        const NodeId child = tree.child(node, row);
        out << QString(depth * 2, QLatin1Char(' ')) + tree.key(child) + QLatin1Char('|') + DocumentTreeModel::valueText(tree, child)
                + QLatin1Char('|') + DocumentTreeModel::kindText(tree, child) + QLatin1Char('|') + QString::number(child);
        printTree(tree, child, depth + 1, out);
    }
}

QStringList modelText(const QAbstractItemModel& model)
{
    QStringList out;
    printModel(model, {}, 0, out);
    return out;
}

QStringList treeText(const DocumentTree& tree)
{
    QStringList out;
    printTree(tree, tree.root(), 0, out);
    return out;
}

}

TEST_CASE("document tree model: mirrors thousands of random deltas under QAbstractItemModelTester, no resets")
{
    int applied = 0;
    for (quint64 seed = 900; seed < 930; ++seed) {
        Generator generator(seed);
        DocumentTree server;
        DocumentTree client(seed % 4 == 0 ? FoldMode::ReferenceClient : FoldMode::Canonical);
        DocumentTreeModel model;
        model.setTree(&client);
        QAbstractItemModelTester tester(&model, QAbstractItemModelTester::FailureReportingMode::Fatal);
        QSignalSpy resets(&model, &QAbstractItemModel::modelReset);
        for (int step = 0; step < 80; ++step) {
            DocumentTree next = generator.evolve(server, 5);
            const QByteArray delta = encodeDelta(server, next);
            server = next;
            if (delta.isEmpty())
                continue;
            INFO("seed " << seed << " step " << step << " delta " << delta.toStdString());
            REQUIRE(client.apply(std::string_view(delta.constData(), std::size_t(delta.size())), step).parsed);
            ++applied;
            REQUIRE(modelText(model) == treeText(client));
            if (step == 60 && seed % 3 == 0) {
                client.clear(); // the one change that is a reset
                server = DocumentTree();
                REQUIRE(resets.count() == 1);
                resets.clear();
                REQUIRE(model.rowCount() == 0);
            }
        }
        CHECK(resets.isEmpty());
    }
    CHECK(applied > 2000);
}

TEST_CASE("document tree model: a list's element map kept aside and taken back (ReferenceClient mode)")
{
    // A list that becomes a scalar or an array gives its rows up while tree.js keeps its element
    // map; the map comes back, hidden, when the key is a list again, and @o shows it.
    const QList<QList<QByteArray>> streams {
        { R"({"l":{"1":{"v":1},"2":{"v":2},"@o":[1,2]}})", R"({"l":5})", R"({"l":{"3":{"v":3},"@o":[2,3,1]}})" },
        { R"({"l":{"1":{"v":1},"@o":[1]}})", R"({"l":[7,8]})", R"({"l":{"@o":[1,[0,1]]}})", R"({"l":"ab"})", R"({"l":{"@o":[[0,1],1]}})" },
        { R"({"p":{"l":{"1":{"m":{"1":{"z":1},"@o":[1]}},"@o":[1]}}})", R"({"p":{"l":3}})", R"({"p":{"l":{"@o":[1]}}})",
            R"({"p":{"l":{"1":{"m":4}}}})", R"({"p":{"l":{"1":{"m":{"@o":[1]}}}}})", R"({"p":7})" },
    };
    for (const QList<QByteArray>& stream : streams) {
        DocumentTree tree(FoldMode::ReferenceClient);
        DocumentTreeModel model;
        QAbstractItemModelTester tester(&model, QAbstractItemModelTester::FailureReportingMode::Fatal);
        model.setTree(&tree);
        QSignalSpy resets(&model, &QAbstractItemModel::modelReset);
        for (qsizetype i = 0; i < stream.size(); ++i) {
            INFO("delta " << i << ": " << stream.at(i).toStdString());
            REQUIRE(tree.apply(std::string_view(stream.at(i).constData(), std::size_t(stream.at(i).size())), i).parsed);
            REQUIRE(modelText(model) == treeText(tree));
        }
        CHECK(resets.isEmpty());
    }
}

TEST_CASE("document tree model: columns, roles, hand-written reorders and kind changes")
{
    DocumentTree tree;
    DocumentTreeModel model;
    QAbstractItemModelTester tester(&model, QAbstractItemModelTester::FailureReportingMode::Fatal);
    model.setTree(&tree);
    QSignalSpy moves(&model, &QAbstractItemModel::rowsMoved);
    QSignalSpy resets(&model, &QAbstractItemModel::modelReset);
    tree.apply(R"({"players":{"4":{"name":"ann"},"7":{"name":"bo"},"9":{"name":"cy"},"@o":[4,7,9]},"when":"1718000000000"})", 3);
    tree.apply(R"({"players":{"@o":[9,4,7]}})", 4);
    CHECK(moves.count() == 1);
    CHECK(modelText(model) == treeText(tree));
    const QModelIndex players = model.index(0, 0);
    CHECK(players.data().toString() == QStringLiteral("players"));
    CHECK(players.siblingAtColumn(DocumentTreeModel::ValueColumn).data().toString() == QStringLiteral("[3]"));
    CHECK(players.siblingAtColumn(DocumentTreeModel::KindColumn).data().toString() == QStringLiteral("record list"));
    CHECK(model.index(0, 0, players).data().toString() == QStringLiteral("9"));
    const QModelIndex name = model.index(0, 0, model.index(0, 0, players));
    CHECK(name.data(DocumentTreeModel::PathRole).toString() == QStringLiteral("players/9/name"));
    CHECK(name.siblingAtColumn(DocumentTreeModel::ValueColumn).data().toString() == QStringLiteral("\"cy\""));
    CHECK(name.data(DocumentTreeModel::LastChangedEventRole).toLongLong() == 3);
    CHECK(NodeId(name.data(DocumentTreeModel::NodeIdRole).toULongLong()) == tree.find(u"players/9/name"));
    CHECK(name.data(DocumentTreeModel::KindRole).toInt() == int(NodeKind::String));
    const QModelIndex when = model.index(1, DocumentTreeModel::KindColumn);
    CHECK(when.data().toString() == QStringLiteral("string (long)"));
    CHECK(when.data(DocumentTreeModel::LooksLikeLongRole).toBool());
    CHECK(model.headerData(DocumentTreeModel::ValueColumn, Qt::Horizontal).toString() == QStringLiteral("Value"));
    CHECK(model.indexOfNode(tree.find(u"players/4")) == model.index(1, 0, players));

    QSignalSpy changed(&model, &QAbstractItemModel::dataChanged);
    tree.apply(R"({"players":{"4":{"name":"anna"}}})", 5);
    // Value changes reach views once per frame, not once per delta.
    CHECK(changed.wait(1000));
    const int afterOne = int(changed.count());
    for (int i = 0; i < 50; ++i)
        tree.apply(QStringLiteral(R"({"players":{"4":{"name":"anna%1"}}})").arg(i).toStdString(), 100 + i);
    CHECK(changed.wait(1000));
    CHECK(changed.count() - afterOne <= 4); // the row and its container summaries, coalesced
    tree.apply(R"({"players":7,"when":{"x":[1,2]}})", 6); // kind changes
    CHECK(modelText(model) == treeText(tree));
    tree.apply(R"({"players":{"0":1,"1":2,"@s":2},"when":null})", 7);
    CHECK(modelText(model) == treeText(tree));
    CHECK(resets.isEmpty());

    // Switching trees resets once.
    DocumentTree other;
    other.apply(R"({"a":1})");
    model.setTree(&other);
    CHECK(resets.count() == 1);
    CHECK(modelText(model) == treeText(other));
    other.apply(R"({"b":{"c":2}})");
    tree.apply(R"({"ignored":true})"); // the old tree no longer drives the model
    CHECK(modelText(model) == treeText(other));
    model.setTree(nullptr);
    CHECK(model.rowCount() == 0);
}
