#include <catch2/catch.hpp>

#include "core/document/documenttree.h"
#include "documentgenerator.h"
#include "documenttestutils.h"

#include <algorithm>
#include <array>
#include <map>
#include <random>

using namespace deltascope;
using namespace deltascope::test;

namespace {

// Mirrors the tree from notifications alone, as a Qt model would, and checks the before/after
// contract: at aboutToX the tree has not changed yet; at X it has.
class Mirror final : public DocumentListener
{
public:
    explicit Mirror(const DocumentTree& tree)
        : m_tree(tree)
    {
        rebuild();
    }

    void rebuild()
    {
        m_children.clear();
        load(m_tree.root());
    }

    QString compare() const
    {
        for (const auto& [node, children] : m_children) {
            if (!m_tree.contains(node))
                return QStringLiteral("mirror holds dead node %1").arg(node);
            if (int(children.size()) != m_tree.childCount(node))
                return QStringLiteral("%1: mirror %2 children, tree %3").arg(m_tree.path(node)).arg(children.size()).arg(m_tree.childCount(node));
            for (std::size_t row = 0; row < children.size(); ++row) {
                if (children[row] != m_tree.child(node, int(row)))
                    return QStringLiteral("%1: row %2 differs").arg(m_tree.path(node)).arg(row);
                if (m_tree.row(children[row]) != int(row))
                    return QStringLiteral("%1: child at row %2 says it is at row %3").arg(m_tree.path(node)).arg(row).arg(m_tree.row(children[row]));
            }
        }
        return m_error;
    }

    int notifications = 0;
    QString m_error;

    void aboutToInsert(NodeId parent, int first, int last) override
    {
        checkPending();
        const auto& children = known(parent);
        if (first < 0 || first > int(children.size()) || last < first)
            fail(QStringLiteral("bad insert range %1..%2 of %3").arg(first).arg(last).arg(children.size()));
        if (m_tree.childCount(parent) != int(children.size()))
            fail(QStringLiteral("tree changed before aboutToInsert"));
        m_pending = { parent, first, last, -1 };
    }
    void inserted(NodeId parent, int first, int last) override
    {
        expectPending(parent, first, last, -1);
        auto& children = m_children[parent];
        std::vector<NodeId> rows;
        for (int row = first; row <= last; ++row) {
            const NodeId child = m_tree.child(parent, row);
            rows.push_back(child);
            load(child);
        }
        children.insert(children.begin() + first, rows.begin(), rows.end());
        ++notifications;
    }
    void aboutToRemove(NodeId parent, int first, int last) override
    {
        checkPending();
        const auto& children = known(parent);
        if (first < 0 || last >= int(children.size()) || last < first)
            fail(QStringLiteral("bad remove range %1..%2 of %3").arg(first).arg(last).arg(children.size()));
        if (m_tree.childCount(parent) != int(children.size()))
            fail(QStringLiteral("tree changed before aboutToRemove"));
        m_pending = { parent, first, last, -1 };
    }
    void removed(NodeId parent, int first, int last) override
    {
        expectPending(parent, first, last, -1);
        auto& children = m_children[parent];
        for (int row = first; row <= last; ++row)
            forget(children[std::size_t(row)]);
        children.erase(children.begin() + first, children.begin() + last + 1);
        ++notifications;
    }
    void aboutToMove(NodeId parent, int first, int last, int destination) override
    {
        checkPending();
        const auto& children = known(parent);
        if (first < 0 || last >= int(children.size()) || (destination >= first && destination <= last + 1) || destination > int(children.size()))
            fail(QStringLiteral("bad move %1..%2 to %3 of %4").arg(first).arg(last).arg(destination).arg(children.size()));
        m_pending = { parent, first, last, destination };
    }
    void moved(NodeId parent, int first, int last, int destination) override
    {
        expectPending(parent, first, last, destination);
        auto& children = m_children[parent];
        std::vector<NodeId> block(children.begin() + first, children.begin() + last + 1);
        children.erase(children.begin() + first, children.begin() + last + 1);
        const int to = destination > last ? destination - (last - first + 1) : destination;
        children.insert(children.begin() + to, block.begin(), block.end());
        ++notifications;
    }
    void valueChanged(NodeId node) override
    {
        checkPending();
        if (!m_children.count(node))
            fail(QStringLiteral("valueChanged for a node the mirror does not show"));
        ++notifications;
    }
    void aboutToReset() override { checkPending(); }
    void reset() override
    {
        rebuild();
        ++notifications;
    }

private:
    struct Pending {
        NodeId parent = kNoNode;
        int first = -1;
        int last = -1;
        int destination = -1;
    };

    void load(NodeId node)
    {
        std::vector<NodeId> children;
        for (int row = 0; row < m_tree.childCount(node); ++row) {
            children.push_back(m_tree.child(node, row));
            load(children.back());
        }
        m_children[node] = children;
    }
    void forget(NodeId node)
    {
        const auto it = m_children.find(node);
        if (it == m_children.end())
            return;
        const std::vector<NodeId> children = it->second;
        m_children.erase(it);
        for (NodeId child : children)
            forget(child);
    }
    const std::vector<NodeId>& known(NodeId parent)
    {
        static const std::vector<NodeId> none;
        const auto it = m_children.find(parent);
        if (it == m_children.end()) {
            fail(QStringLiteral("notification for a parent the mirror does not show"));
            return none;
        }
        return it->second;
    }
    void checkPending()
    {
        if (m_pending.parent != kNoNode)
            fail(QStringLiteral("a begin without its end"));
    }
    void expectPending(NodeId parent, int first, int last, int destination)
    {
        if (m_pending.parent != parent || m_pending.first != first || m_pending.last != last || m_pending.destination != destination)
            fail(QStringLiteral("end does not match begin"));
        m_pending = {};
    }
    void fail(const QString& message)
    {
        if (m_error.isEmpty())
            m_error = message;
    }

    const DocumentTree& m_tree;
    std::map<NodeId, std::vector<NodeId>> m_children;
    Pending m_pending;
};

}

TEST_CASE("listener: notifications replay every random delta exactly, before and after each change")
{
    std::size_t totalNotifications = 0;
    std::size_t totalChanges = 0;
    for (quint64 seed = 500; seed < 560; ++seed) {
        Generator generator(seed);
        DocumentTree server;
        DocumentTree client(seed % 3 == 0 ? FoldMode::ReferenceClient : FoldMode::Canonical);
        Mirror mirror(client);
        client.addListener(&mirror);
        for (int step = 0; step < 40; ++step) {
            DocumentTree next = generator.evolve(server, 5);
            const QByteArray delta = encodeDelta(server, next);
            server = next;
            if (delta.isEmpty())
                continue;
            const int before = mirror.notifications;
            const FoldResult result = client.apply(std::string_view(delta.constData(), std::size_t(delta.size())), step);
            INFO("seed " << seed << " step " << step << " delta " << delta.toStdString());
            REQUIRE(result.parsed);
            const QString problem = mirror.compare();
            INFO(problem.toStdString());
            REQUIRE(problem.isEmpty());
            // The change set lists the same changes, in the same order, as the listener saw.
            CHECK(result.changes.changes.size() == std::size_t(mirror.notifications - before));
            totalNotifications += std::size_t(mirror.notifications - before);
            totalChanges += result.changes.changes.size();
            if (step == 30 && seed % 5 == 0) {
                client.clear();
                server = DocumentTree();
                REQUIRE(mirror.compare().isEmpty());
            }
        }
        client.removeListener(&mirror);
    }
    CHECK(totalNotifications > 2000);
}

TEST_CASE("listener: hand-written reorders, removals and kind changes")
{
    DocumentTree tree;
    Mirror mirror(tree);
    tree.addListener(&mirror);
    const char* deltas[] = {
        R"({"l":{"1":{"v":1},"2":{"v":2},"3":{"v":3},"4":{"v":4},"5":{"v":5},"@o":[1,2,3,4,5]}})",
        R"({"l":{"@o":[5,4,3,2,1]}})",
        R"({"l":{"@o":[[1,3],0,4]}})",
        R"({"l":{"2":null,"6":{"v":6},"@o":[6,4,[3,4]]}})",
        R"({"l":{"@o":[]}})",
        R"({"l":{"0":1,"1":2,"@s":2}})",
        R"({"l":{"1":[1,2,3]}})",
        R"({"l":{"1":{"x":1}}})",
        R"({"l":"flat"})",
        R"({"l":{"a":{"b":1}}})",
        R"({"l":[1,[2,[3]]]})",
        R"({"l":null})",
    };
    for (const char* delta : deltas) {
        INFO(delta);
        REQUIRE(tree.apply(delta).parsed);
        const QString problem = mirror.compare();
        INFO(problem.toStdString());
        REQUIRE(problem.isEmpty());
    }
    // Editing notifies too.
    const NodeId list = tree.setRecordList(tree.root(), u"r");
    for (int i = 0; i < 6; ++i)
        tree.setElementObject(list, QString::number(i));
    tree.setOrder(list, { QStringLiteral("0"), QStringLiteral("1"), QStringLiteral("2"), QStringLiteral("3") });
    tree.setOrder(list, { QStringLiteral("3"), QStringLiteral("5"), QStringLiteral("1") });
    tree.removeElement(list, u"5");
    const NodeId values = tree.setValueList(tree.root(), u"v");
    tree.resizeValueList(values, 4);
    tree.setInteger(values, u"2", 7);
    tree.resizeValueList(values, 1);
    tree.setRawJson(tree.root(), u"raw", R"({"a":[1,2],"b":{"c":3}})");
    tree.setRawJson(tree.root(), u"raw", R"([1])");
    tree.remove(tree.root(), u"raw");
    REQUIRE(mirror.compare().isEmpty());
    tree.removeListener(&mirror);
}

TEST_CASE("listener: a long record list changed at both ends and in the middle keeps exact rows")
{
    DocumentTree tree;
    Mirror mirror(tree);
    tree.addListener(&mirror);
    std::vector<int> expected; // the visible order, by id
    std::string snapshot = R"({"l":{)";
    std::string order = R"("@o":[)";
    for (int i = 0; i < 300; ++i) {
        snapshot += "\"" + std::to_string(i) + "\":{\"v\":" + std::to_string(i) + "},";
        order += (i ? "," : "") + std::to_string(i);
        expected.push_back(i);
    }
    REQUIRE(tree.apply(snapshot + order + "]}}").parsed);
    int next = 300;
    std::mt19937 rng(11);
    for (int step = 0; step < 400; ++step) {
        // Keep [a,b] and [c,n-1] of the previous order, drop the rest (deleting some of it from
        // the element map), put new ids at the front, in the middle and at the end.
        const int n = int(expected.size());
        const int a = int(rng() % 3);
        const int b = a + int(rng() % quint32(n / 2 - a));
        const int c = b + 1 + int(rng() % 3);
        std::string delta = R"({"l":{)";
        std::vector<int> now;
        const auto fresh = [&](std::string& o) {
            const int id = next++;
            delta += "\"" + std::to_string(id) + "\":{\"v\":" + std::to_string(id) + "},";
            o += std::to_string(id) + ",";
            now.push_back(id);
        };
        std::string o = R"("@o":[)";
        if (step % 3 == 0)
            fresh(o);
        o += "[" + std::to_string(a) + "," + std::to_string(b) + "],";
        now.insert(now.end(), expected.begin() + a, expected.begin() + b + 1);
        if (step % 2 == 0)
            fresh(o);
        o += "[" + std::to_string(c) + "," + std::to_string(n - 1) + "],";
        now.insert(now.end(), expected.begin() + c, expected.end());
        fresh(o);
        for (int k = 0; k < a; ++k)
            delta += "\"" + std::to_string(expected[std::size_t(k)]) + "\":null,";
        o.back() = ']';
        delta += o + "}}";
        INFO("step " << step << " delta " << delta);
        const FoldResult result = tree.apply(delta, step);
        REQUIRE(result.parsed);
        REQUIRE(result.anomalies.empty());
        expected = now;
        const QStringList shown = tree.order(tree.find(u"l"));
        REQUIRE(shown.size() == qsizetype(expected.size()));
        for (std::size_t i = 0; i < expected.size(); ++i)
            REQUIRE(shown.at(qsizetype(i)) == QString::number(expected[i]));
        const QString problem = mirror.compare();
        INFO(problem.toStdString());
        REQUIRE(problem.isEmpty());
    }
    tree.removeListener(&mirror);
}

TEST_CASE("listener: ChangeDetail::None folds the same tree and anomalies, notifies listeners, fills no change set")
{
    for (quint64 seed = 700; seed < 712; ++seed) {
        Generator generator(seed);
        DocumentTree server;
        const FoldMode mode = seed % 2 ? FoldMode::ReferenceClient : FoldMode::Canonical;
        DocumentTree full(mode);
        DocumentTree quiet(mode);
        Mirror mirror(quiet);
        quiet.addListener(&mirror);
        for (int step = 0; step < 30; ++step) {
            DocumentTree next = generator.evolve(server, 5);
            const QByteArray delta = encodeDelta(server, next);
            server = next;
            if (delta.isEmpty())
                continue;
            const std::string_view text(delta.constData(), std::size_t(delta.size()));
            const FoldResult a = full.apply(text, step);
            const int before = mirror.notifications;
            const FoldResult b = quiet.apply(text, step, DocumentTree::ChangeDetail::None);
            INFO("seed " << seed << " step " << step << " delta " << delta.toStdString());
            CHECK(b.changes.changes.empty());
            CHECK(b.changes.touched.empty());
            CHECK(a.changes.changes.size() == std::size_t(mirror.notifications - before));
            REQUIRE(a.anomalies.size() == b.anomalies.size());
            for (std::size_t i = 0; i < a.anomalies.size(); ++i) {
                CHECK(a.anomalies[i].kind == b.anomalies[i].kind);
                CHECK(a.anomalies[i].path == b.anomalies[i].path);
            }
            REQUIRE(full.toJson() == quiet.toJson());
            const QString problem = mirror.compare();
            INFO(problem.toStdString());
            REQUIRE(problem.isEmpty());
        }
        quiet.removeListener(&mirror);
    }
}

TEST_CASE("listener: two rows trading places move as the general reorder moves them")
{
    // The swap fast path (Mutator::swapByMoves) must send the moves the longest increasing
    // subsequence of the general path sends: one move for adjacent rows, two otherwise (rows with
    // exactly one between them are left to the general path, which is checked the same way).
    constexpr int n = 7;
    for (const FoldMode mode : { FoldMode::Canonical, FoldMode::ReferenceClient }) {
        for (const bool ranges : { false, true }) {
            for (int a = 0; a < n; ++a) {
                for (int b = a + 1; b < n; ++b) {
                    DocumentTree tree(mode);
                    std::string snapshot = R"({"l":{)";
                    for (int i = 0; i < n; ++i)
                        snapshot += "\"" + std::to_string(i) + "\":{\"v\":" + std::to_string(i) + "},";
                    snapshot += R"("@o":[0,1,2,3,4,5,6]}})";
                    REQUIRE(tree.apply(snapshot).parsed);
                    Mirror mirror(tree);
                    tree.addListener(&mirror);
                    std::vector<int> expected(n);
                    for (int i = 0; i < n; ++i)
                        expected[std::size_t(i)] = i;
                    std::swap(expected[std::size_t(a)], expected[std::size_t(b)]);
                    std::string order;
                    const auto span = [&](int lo, int hi) {
                        if (lo > hi)
                            return;
                        if (ranges && hi > lo) {
                            order += "[" + std::to_string(lo) + "," + std::to_string(hi) + "],";
                            return;
                        }
                        for (int i = lo; i <= hi; ++i)
                            order += std::to_string(i) + ",";
                    };
                    span(0, a - 1);
                    order += std::to_string(b) + ",";
                    span(a + 1, b - 1);
                    order += std::to_string(a) + ",";
                    span(b + 1, n - 1);
                    order.back() = ']';
                    const std::string delta = R"({"l":{"@o":[)" + order + "}}";
                    INFO("mode " << int(mode) << " delta " << delta);
                    const FoldResult result = tree.apply(delta, 1);
                    REQUIRE(result.parsed);
                    REQUIRE(result.anomalies.empty());
                    const QStringList shown = tree.order(tree.find(u"l"));
                    REQUIRE(shown.size() == n);
                    for (int i = 0; i < n; ++i)
                        REQUIRE(shown.at(i) == QString::number(expected[std::size_t(i)]));
                    const QString problem = mirror.compare();
                    INFO(problem.toStdString());
                    REQUIRE(problem.isEmpty());
                    std::vector<std::array<int, 3>> moves;
                    for (const TreeChange& change : result.changes.changes) {
                        REQUIRE(change.type == TreeChange::Type::Moved);
                        moves.push_back({ change.first, change.last, change.destination });
                    }
                    if (b == a + 1)
                        CHECK(moves == std::vector<std::array<int, 3>> { { a, a, a + 2 } });
                    else if (b > a + 2)
                        CHECK(moves == std::vector<std::array<int, 3>> { { b, b, a }, { a + 1, a + 1, b + 1 } });
                    else
                        CHECK(moves.size() == 2);
                    tree.removeListener(&mirror);
                }
            }
        }
    }
}

TEST_CASE("listener: an @o of ranges and new ids, however many, removes each gap and inserts each id in place")
{
    // The segment path keeps the @o's ranges and ids in room set aside up front: on the stack for
    // up to 16, beyond that elsewhere. Either way: one removal per gap (from the end), one insertion
    // per new id (ascending), the order and rows exact.
    for (int ranges : { 1, 7, 8, 9, 25 }) {
        INFO("ranges " << ranges);
        DocumentTree tree;
        Mirror mirror(tree);
        tree.addListener(&mirror);
        const int n = 4 * ranges;
        std::string snapshot = R"({"l":{)";
        std::string order = R"("@o":[)";
        for (int i = 0; i < n; ++i) {
            snapshot += "\"" + std::to_string(i) + "\":{\"v\":" + std::to_string(i) + "},";
            order += (i ? "," : "") + std::to_string(i);
        }
        REQUIRE(tree.apply(snapshot + order + "]}}").parsed);
        // Keep [4k,4k+1], drop [4k+2,4k+3], and put a new id after each kept range; three at the
        // end (a run appended).
        std::string delta = R"({"l":{)";
        std::string o = R"("@o":[)";
        QStringList expected;
        for (int k = 0; k < ranges; ++k) {
            const int id = 1000 + k;
            delta += "\"" + std::to_string(id) + "\":{\"v\":" + std::to_string(id) + "},";
            o += "[" + std::to_string(4 * k) + "," + std::to_string(4 * k + 1) + "]," + std::to_string(id) + ",";
            expected << QString::number(4 * k) << QString::number(4 * k + 1) << QString::number(id);
        }
        for (int id : { 2000, 2001 }) {
            delta += "\"" + std::to_string(id) + "\":{\"v\":" + std::to_string(id) + "},";
            o += std::to_string(id) + ",";
            expected << QString::number(id);
        }
        o.back() = ']';
        delta += o + "}}";
        INFO(delta);
        const FoldResult result = tree.apply(delta, 1);
        REQUIRE(result.parsed);
        REQUIRE(result.anomalies.empty());
        const NodeId list = tree.find(u"l");
        CHECK(tree.order(list) == expected);
        std::vector<TreeChange> rows;
        for (const TreeChange& change : result.changes.changes) {
            if (change.parent == list)
                rows.push_back(change);
        }
        std::vector<TreeChange> want;
        for (int k = ranges - 1; k >= 0; --k)
            want.push_back(TreeChange { TreeChange::Type::Removed, list, 4 * k + 2, 4 * k + 3, -1, kNoNode });
        for (int k = 0; k < ranges; ++k)
            want.push_back(TreeChange { TreeChange::Type::Inserted, list, 3 * k + 2, 3 * k + 2 + (k == ranges - 1 ? 2 : 0), -1, kNoNode });
        CHECK(rows == want);
        const auto touchedOnce = [](const FoldResult& r, NodeId node) {
            return std::count(r.changes.touched.begin(), r.changes.touched.end(), node) == 1;
        };
        CHECK(touchedOnce(result, list));
        CHECK(tree.lastChangedBy(list) == 1);
        // Only a range (the head row dropped): nothing below stamped the list first.
        const FoldResult dropped = tree.apply(R"({"l":{"@o":[[1,)" + std::to_string(expected.size() - 1) + "]]}}", 2);
        expected.removeFirst();
        CHECK(tree.order(list) == expected);
        CHECK(touchedOnce(dropped, list));
        CHECK(tree.lastChangedBy(list) == 2);
        CHECK(tree.lastChangedBy(tree.root()) == 2);
        const QString problem = mirror.compare();
        INFO(problem.toStdString());
        CHECK(problem.isEmpty());
        tree.removeListener(&mirror);
    }
}
