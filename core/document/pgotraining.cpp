// The workload the document engine is trained on for profile-guided optimization
// (core/document/pgo.cmake):
// run once per build by the build itself, with the engine compiled to count its branches, so that
// the engine the product links is laid out for the way documents are really folded.
//
// What it does is what the product does with documents, in proportion: live sessions fold streams
// of deltas (canonical mode with full change sets, the merged tree in ReferenceClient mode), the
// reference server encodes the deltas it sends, replay copies trees for checkpoints and diffs two
// points, and captures export the document as JSON. The documents are generated, seeded, of the
// shapes Adama applications have: a game (players ranked, a board, a chat that scrolls), a ticker
// (value lists, doubles, longs as strings) and an inventory (records added, removed and reordered
// anywhere). A few malformed deltas keep the error paths from being laid out as never taken.
//
// It writes nothing: whether the folds are right is the tests' business (tst_documentproperty and
// others); here only what the engine spends its time on matters.

#include "core/document/documenttree.h"

#include <QString>
#include <QStringList>

#include <random>
#include <vector>

using namespace deltascope;

namespace {

class Random
{
public:
    explicit Random(quint64 seed)
        : m_engine(seed)
    {
    }
    int below(int n) { return int(m_engine() % quint64(n)); }
    bool chance(int oneIn) { return below(oneIn) == 0; }

private:
    std::mt19937_64 m_engine;
};

// One evolving document: a start and the states each transaction reached.
struct Evolution {
    DocumentTree start;
    std::vector<DocumentTree> states;
};

DocumentTree gameStart(Random& random)
{
    DocumentTree tree;
    const NodeId root = tree.root();
    tree.setString(root, u"title", u"Table 12");
    tree.setString(root, u"created", u"1718000000000");
    tree.setInteger(root, u"round", 0);
    const NodeId players = tree.setRecordList(root, u"players");
    QStringList order;
    for (int i = 1; i <= 12; ++i) {
        const QString id = QString::number(i);
        const NodeId player = tree.setElementObject(players, id);
        tree.setInteger(player, u"id", i);
        tree.setString(player, u"name", QStringLiteral("player-%1").arg(i));
        tree.setInteger(player, u"score", random.below(50));
        tree.setBool(player, u"ready", random.chance(2));
        const NodeId who = tree.setObject(player, u"who");
        tree.setString(who, u"agent", QStringLiteral("agent%1").arg(i));
        tree.setString(who, u"authority", u"anonymous");
        order << id;
    }
    tree.setOrder(players, order);
    const NodeId board = tree.setValueList(root, u"board");
    tree.resizeValueList(board, 48);
    for (int i = 0; i < 48; ++i)
        tree.setInteger(board, QString::number(i), random.below(3));
    const NodeId chat = tree.setRecordList(root, u"chat");
    QStringList lines;
    for (int i = 1; i <= 16; ++i) {
        const NodeId line = tree.setElementObject(chat, QString::number(i));
        tree.setString(line, u"who", QStringLiteral("agent%1").arg(1 + random.below(12)));
        tree.setString(line, u"what", QStringLiteral("line %1 of the chat").arg(i));
        tree.setString(line, u"when", QString::number(1718000000000LL + i));
        lines << QString::number(i);
    }
    tree.setOrder(chat, lines);
    return tree;
}

void gameTransaction(DocumentTree& tree, Random& random, int step)
{
    const NodeId root = tree.root();
    tree.setInteger(root, u"round", step);
    const NodeId players = tree.find(u"players");
    QStringList order = tree.order(players);
    for (int k = 0, changes = 1 + random.below(6); k < changes; ++k) {
        const NodeId player = tree.childByKey(players, order.at(random.below(int(order.size()))));
        tree.setInteger(player, u"score", tree.integerValue(tree.childByKey(player, u"score")) + 1 + random.below(9));
        if (random.chance(4))
            tree.setBool(player, u"ready", random.chance(2));
    }
    if (random.chance(6)) {
        // Ranked by score: neighbours pass each other.
        const int a = random.below(int(order.size()) - 1);
        order.swapItemsAt(a, a + 1);
        tree.setOrder(players, order);
    }
    const NodeId board = tree.find(u"board");
    for (int k = 0, changes = random.below(8); k < changes; ++k)
        tree.setInteger(board, QString::number(random.below(48)), random.below(3));
    const NodeId chat = tree.find(u"chat");
    QStringList lines = tree.order(chat);
    for (int k = 0, added = random.chance(2) ? 1 + random.below(2) : 0; k < added; ++k) {
        const QString id = QString::number(100 + step * 3 + k);
        const NodeId line = tree.setElementObject(chat, id);
        tree.setString(line, u"who", QStringLiteral("agent%1").arg(1 + random.below(12)));
        tree.setString(line, u"what", QStringLiteral("message %1 with a few words of text").arg(step));
        tree.setString(line, u"when", QString::number(1718000000000LL + step * 100 + k));
        lines << id;
        tree.removeElement(chat, lines.takeFirst());
    }
    tree.setOrder(chat, lines);
}

DocumentTree tickerStart(Random& random)
{
    DocumentTree tree;
    const NodeId root = tree.root();
    tree.setString(root, u"market", u"open");
    const NodeId symbols = tree.setRecordList(root, u"symbols");
    QStringList order;
    for (int i = 0; i < 20; ++i) {
        const QString id = QStringLiteral("s%1").arg(i);
        const NodeId symbol = tree.setElementObject(symbols, id);
        tree.setString(symbol, u"ticker", QStringLiteral("T%1X").arg(i));
        tree.setDouble(symbol, u"price", 100.0 + random.below(10000) / 100.0);
        tree.setString(symbol, u"volume", QString::number(9007199254740993LL + random.below(1000)));
        const NodeId history = tree.setValueList(symbol, u"history");
        tree.resizeValueList(history, 8);
        for (int k = 0; k < 8; ++k)
            tree.setDouble(history, QString::number(k), 100.0 + k * 0.25);
        order << id;
    }
    tree.setOrder(symbols, order);
    return tree;
}

void tickerTransaction(DocumentTree& tree, Random& random, int step)
{
    const NodeId symbols = tree.find(u"symbols");
    const QStringList order = tree.order(symbols);
    for (int k = 0, changes = 1 + random.below(5); k < changes; ++k) {
        const NodeId symbol = tree.childByKey(symbols, order.at(random.below(int(order.size()))));
        const double price = tree.doubleValue(tree.childByKey(symbol, u"price")) + (random.below(200) - 100) / 100.0;
        tree.setDouble(symbol, u"price", price);
        tree.setString(symbol, u"volume", QString::number(9007199254740993LL + step * 7 + k));
        const NodeId history = tree.childByKey(symbol, u"history");
        const int size = tree.childCount(history);
        if (random.chance(3) && size < 16) {
            tree.resizeValueList(history, size + 1);
            tree.setDouble(history, QString::number(size), price);
        } else if (random.chance(5) && size > 4) {
            tree.resizeValueList(history, size - 2);
        } else {
            tree.setDouble(history, QString::number(random.below(size)), price);
        }
    }
    if (random.chance(40))
        tree.setString(tree.root(), u"market", random.chance(2) ? u"open" : u"halted");
}

DocumentTree inventoryStart(Random& random)
{
    DocumentTree tree;
    const NodeId root = tree.root();
    const NodeId items = tree.setRecordList(root, u"items");
    QStringList order;
    for (int i = 0; i < 60; ++i) {
        const QString id = QString::number(1000 + i);
        const NodeId item = tree.setElementObject(items, id);
        tree.setString(item, u"sku", QStringLiteral("SKU-%1").arg(i, 6, 10, QLatin1Char('0')));
        tree.setInteger(item, u"count", random.below(100));
        tree.setBool(item, u"hidden", false);
        if (random.chance(3))
            tree.setRawJson(item, u"tags", R"(["a","b"])");
        order << id;
    }
    tree.setOrder(items, order);
    const NodeId owner = tree.setObject(root, u"owner");
    tree.setString(owner, u"name", u"warehouse");
    tree.setNull(owner, u"note");
    return tree;
}

void inventoryTransaction(DocumentTree& tree, Random& random, int step)
{
    const NodeId items = tree.find(u"items");
    QStringList order = tree.order(items);
    for (int k = 0, changes = random.below(4); k < changes && !order.isEmpty(); ++k) {
        const NodeId item = tree.childByKey(items, order.at(random.below(int(order.size()))));
        tree.setInteger(item, u"count", random.below(100));
    }
    if (random.chance(3) && order.size() > 20) {
        const int at = random.below(int(order.size()));
        tree.removeElement(items, order.takeAt(at));
    }
    if (random.chance(3)) {
        const QString id = QString::number(5000 + step);
        const NodeId item = tree.setElementObject(items, id);
        tree.setString(item, u"sku", QStringLiteral("SKU-N%1").arg(step));
        tree.setInteger(item, u"count", 1);
        tree.setBool(item, u"hidden", random.chance(5));
        order.insert(random.below(int(order.size()) + 1), id);
    }
    if (random.chance(8) && order.size() > 2) {
        // A block of records moved elsewhere.
        const int from = random.below(int(order.size()) - 1);
        order.move(from, random.below(int(order.size())));
    }
    tree.setOrder(items, order);
    if (random.chance(50))
        tree.setString(tree.find(u"owner"), u"note", QStringLiteral("audit %1").arg(step));
}

template<typename Start, typename Transaction>
Evolution evolve(quint64 seed, int transactions, Start start, Transaction transaction)
{
    Random random(seed);
    Evolution evolution;
    evolution.start = start(random);
    evolution.states.push_back(evolution.start);
    for (int step = 1; step <= transactions; ++step) {
        DocumentTree next = evolution.states.back();
        transaction(next, random, step);
        evolution.states.push_back(std::move(next));
    }
    return evolution;
}

// Encodes every transaction as the reference server does, then folds the deltas as a session does.
void foldEvolution(const Evolution& evolution)
{
    std::vector<QByteArray> deltas;
    for (std::size_t i = 1; i < evolution.states.size(); ++i) {
        for (QByteArray& delta : encodeDeltas(evolution.states[i - 1], evolution.states[i]))
            deltas.push_back(std::move(delta));
    }
    const QByteArray snapshot = evolution.start.toSnapshotDelta();
    for (const FoldMode mode : { FoldMode::Canonical, FoldMode::ReferenceClient }) {
        for (int pass = 0; pass < 3; ++pass) {
            DocumentTree tree(mode);
            tree.apply(std::string_view(snapshot.constData(), std::size_t(snapshot.size())), 0);
            FoldResult result;
            qint64 event = 1;
            std::vector<DocumentTree> checkpoints;
            for (const QByteArray& delta : deltas) {
                tree.apply(std::string_view(delta.constData(), std::size_t(delta.size())), event, result,
                    pass == 2 ? DocumentTree::ChangeDetail::None : DocumentTree::ChangeDetail::Full);
                if (event % 256 == 0)
                    checkpoints.push_back(tree); // replay's checkpoints: cheap copies
                ++event;
            }
            tree.toJson(pass == 0); // what a capture's export writes
            if (checkpoints.size() >= 2)
                diffTrees(checkpoints.front(), checkpoints.back());
        }
    }
}

// Deltas that do not fold cleanly: each reports an error or an anomaly, none is folded wholesale.
void foldMalformed()
{
    const char* const malformed[] = {
        R"({"players":{"1":{"score":)",
        R"([1,2,3])",
        R"({"a":1,"a":2})",
        R"({"board":{"@s":2,"5":1}})",
        R"({"players":{"@o":[[0,99]]}})",
        "{\"bad\":\"\xff\"}",
        R"({"title":{"nested":true}})",
    };
    for (int round = 0; round < 50; ++round) {
        DocumentTree tree;
        tree.apply(R"({"title":"t","players":{"1":{"score":1},"@o":[1]},"board":{"0":1,"1":2,"@s":2}})", 0);
        qint64 event = 1;
        for (const char* delta : malformed)
            tree.apply(delta, event++);
    }
}

} // namespace

int main()
{
    for (quint64 seed = 1; seed <= 3; ++seed) {
        foldEvolution(evolve(seed, 2000, gameStart, gameTransaction));
        foldEvolution(evolve(seed + 100, 1000, tickerStart, tickerTransaction));
        foldEvolution(evolve(seed + 200, 1000, inventoryStart, inventoryTransaction));
    }
    foldMalformed();
    return 0;
}
