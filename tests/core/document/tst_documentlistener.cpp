#include <catch2/catch.hpp>

#include "core/document/documenttree.h"
#include "documentgenerator.h"
#include "documenttestutils.h"

#include <map>

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
            DocumentTree next = server;
            generator.m_previous = &server;
            for (int i = 1 + generator.below(5); i > 0; --i)
                generator.mutate(next);
            generator.m_previous = nullptr;
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
