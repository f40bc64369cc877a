#include <catch2/catch.hpp>

#include "core/session/eventlog.h"
#include "core/session/sessionfolder.h"
#include "ui/documenttreepanel.h"
#include "ui/models/documenttreemodel.h"
#include "tests/support/testutils.h"

#include <QAbstractItemModelTester>
#include <QApplication>
#include <QColor>
#include <QLabel>
#include <QSignalSpy>
#include <QTest>
#include <QTreeView>
#include <QTreeWidget>

using namespace deltascope;
using namespace deltascope::ui;

namespace {

// A session folded by hand: a log and the folder that reads it, as live and replay use them.
struct Stream {
    EventLog log;
    SessionFolder folder;
    qint64 requestId = 0;

    qint64 add(EventKind kind, const QByteArray& payload, qint64 request = -1, qint64 seq = -1)
    {
        SessionEvent event;
        event.kind = kind;
        event.direction = naturalDirection(kind);
        event.monotonicNs = (log.size() + 5) * 1000000; // the first event a little after the session's clock starts
        event.requestId = request;
        event.seq = seq;
        const qint64 index = log.append(event, payload);
        folder.processEvent(log.at(index), log.payload(index));
        return index;
    }
    void epoch(int number)
    {
        requestId = number * 10;
        add(EventKind::EpochStarted, QStringLiteral(R"({"epoch":%1,"requestId":%2})").arg(number).arg(requestId).toUtf8(), requestId);
    }
    qint64 item(qint64 seq, const char* data)
    {
        return add(EventKind::StreamItem,
            QStringLiteral(R"({"deliver":%1,"done":false,"response":{"delta":{"data":%2,"seq":%3}}})")
                .arg(requestId)
                .arg(QLatin1String(data))
                .arg(seq)
                .toUtf8(),
            requestId, seq);
    }
};

QModelIndex indexOfPath(DocumentTreePanel& panel, const QString& path)
{
    return panel.model()->indexOfNode(panel.shownTree()->find(path));
}

}

TEST_CASE("document tree panel: changes flash and fade, the last delta can be held, provenance lists the events")
{
    Stream s;
    DocumentTreePanel panel;
    panel.resize(600, 500);
    panel.show();
    QAbstractItemModelTester tester(panel.model(), QAbstractItemModelTester::FailureReportingMode::Fatal);
    panel.setSource(&s.folder, &s.log);
    panel.model()->setFlashDurationMs(400);
    s.epoch(1);
    const qint64 first = s.item(1, R"({"title":"Demo","players":{"4":{"n":"ann","score":1},"7":{"n":"bo","score":2},"@o":[4,7]}})");
    const qint64 second = s.item(2, R"({"players":{"7":{"score":5}}})");

    const QModelIndex score = indexOfPath(panel, QStringLiteral("players/7/score"));
    const QModelIndex title = indexOfPath(panel, QStringLiteral("title"));
    REQUIRE(score.isValid());
    REQUIRE(title.isValid());
    // Just changed: full strength; its list element at half (the change is below it); the title
    // changed one delta earlier and is already fading too, but less strongly than the score.
    const qreal scoreFlash = score.data(DocumentTreeModel::ChangeHighlightRole).toReal();
    CHECK(scoreFlash > 0.8);
    CHECK(indexOfPath(panel, QStringLiteral("players/7")).data(DocumentTreeModel::ChangeHighlightRole).toReal() <= 0.5);
    CHECK(score.data(Qt::BackgroundRole).value<QColor>().isValid());
    CHECK(title.data(DocumentTreeModel::ChangeHighlightRole).toReal() <= scoreFlash);
    // After the fade nothing is highlighted, unless the last delta is held.
    QTest::qWait(450);
    CHECK(score.data(DocumentTreeModel::ChangeHighlightRole).toReal() == 0.0);
    CHECK_FALSE(score.data(Qt::BackgroundRole).isValid());
    panel.setKeepLastDeltaHighlighted(true);
    CHECK(score.data(DocumentTreeModel::ChangeHighlightRole).toReal() == 1.0);
    CHECK(title.data(DocumentTreeModel::ChangeHighlightRole).toReal() == 0.0);

    // Provenance: created by the snapshot, changed by the second item; activating a row asks the
    // timeline for that event.
    REQUIRE(panel.selectPath(QStringLiteral("players/7/score")));
    CHECK(panel.currentPath() == QStringLiteral("players/7/score"));
    REQUIRE(panel.provenanceView()->topLevelItemCount() == 2);
    CHECK(panel.provenanceView()->topLevelItem(0)->data(0, Qt::UserRole).toLongLong() == second);
    CHECK(panel.provenanceView()->topLevelItem(1)->data(0, Qt::UserRole).toLongLong() == first);
    CHECK(panel.provenanceView()->topLevelItem(1)->text(2).contains(QStringLiteral("created")));
    // Timed on the session's clock, as the timeline and the frame detail time the same event.
    CHECK(panel.provenanceView()->topLevelItem(0)->text(1) == QString::number(double(s.log.at(second).monotonicNs) / 1e6, 'f', 1));
    CHECK(panel.provenanceTitle()->text().contains(QStringLiteral("/players/7/score")));
    CHECK(panel.provenanceTitle()->text().contains(QStringLiteral("touched by 2 events in all, the last 2 listed")));
    QSignalSpy activated(&panel, &DocumentTreePanel::eventActivated);
    Q_EMIT panel.provenanceView()->itemActivated(panel.provenanceView()->topLevelItem(1), 0);
    REQUIRE(activated.count() == 1);
    CHECK(activated.front().front().toLongLong() == first);
}

TEST_CASE("document tree panel: search with next/previous and filter, copy, anomalies marked on their nodes")
{
    Stream s;
    DocumentTreePanel panel;
    panel.show();
    QAbstractItemModelTester tester(panel.model(), QAbstractItemModelTester::FailureReportingMode::Fatal);
    panel.setSource(&s.folder, &s.log);
    s.epoch(1);
    s.item(1, R"({"a":{"name":"Ann"},"b":{"name":"Bo","note":"annotated"},"c":{"x":1},"scores":{"0":5,"1":7,"@s":2}})");

    // "ann" is in a value, in another value, and nowhere else: two matches in display order.
    CHECK(panel.setSearchText(QStringLiteral("ann")) == 2);
    CHECK(panel.matchLabel()->text() == QStringLiteral("2 matches")); // plain English, no "match(es)"
    REQUIRE(panel.findNext());
    CHECK(panel.currentPath() == QStringLiteral("a/name"));
    REQUIRE(panel.findNext());
    CHECK(panel.currentPath() == QStringLiteral("b/note"));
    REQUIRE(panel.findNext()); // wraps around
    CHECK(panel.currentPath() == QStringLiteral("a/name"));
    REQUIRE(panel.findPrevious());
    CHECK(panel.currentPath() == QStringLiteral("b/note"));
    CHECK(panel.matchLabel()->text() == QStringLiteral("2 of 2"));
    CHECK(panel.setSearchText(QStringLiteral("name")) == 2); // keys match too
    CHECK(panel.setSearchText(QStringLiteral("zzz")) == 0);
    CHECK_FALSE(panel.findNext());
    CHECK(panel.matchLabel()->text() == QStringLiteral("no match"));

    // Filter: only a and b with their matching children; c and scores are gone.
    panel.setSearchText(QStringLiteral("ann"));
    panel.setFilterToMatches(true);
    QAbstractItemModel* filtered = panel.view()->model();
    QAbstractItemModelTester filterTester(filtered, QAbstractItemModelTester::FailureReportingMode::Fatal);
    CHECK(filtered->rowCount() == 2);
    CHECK(filtered->index(0, 0).data().toString() == QStringLiteral("a"));
    CHECK(filtered->rowCount(filtered->index(1, 0)) == 1);
    s.item(2, R"({"c":{"x":"Annex"}})"); // a new match appears while filtered (within a frame)
    CHECK(test::waitUntil([&] { return filtered->rowCount() == 3; }, std::chrono::milliseconds(1000)));
    // ... and arrives open, its matching child in view.
    const QModelIndex newMatch = filtered->index(2, 0);
    CHECK(newMatch.data().toString() == QStringLiteral("c"));
    CHECK(panel.view()->isExpanded(newMatch));
    panel.setFilterToMatches(false);
    CHECK(panel.view()->model()->rowCount() == 4);

    REQUIRE(panel.selectPath(QStringLiteral("b")));
    CHECK(panel.copyPath() == QStringLiteral("/b"));
    CHECK(panel.copyValue() == QStringLiteral(R"({"name":"Bo","note":"annotated"})"));
    CHECK(panel.copySubtree().contains(QStringLiteral("\n")));

    // A value list edited without @s: the canonical tree is right, the node carries the mark.
    s.item(3, R"({"scores":{"1":8}})");
    const QModelIndex scores = indexOfPath(panel, QStringLiteral("scores"));
    const QStringList marks = scores.data(DocumentTreeModel::AnomalyRole).toStringList();
    REQUIRE(marks.size() == 1);
    CHECK(marks.front().contains(QStringLiteral("without @s")));
    CHECK(scores.siblingAtColumn(DocumentTreeModel::KindColumn).data().toString().startsWith(QStringLiteral("\u26A0")));
    CHECK(scores.data(Qt::ToolTipRole).toString().contains(QStringLiteral("without @s")));
    // The mark's colour stays readable on the palette's base: dark text on light, pale on dark.
    const QPalette original = QApplication::palette();
    QPalette dark = original;
    dark.setColor(QPalette::Base, QColor(30, 30, 30));
    QApplication::setPalette(dark);
    CHECK(scores.data(Qt::ForegroundRole).value<QColor>().lightness() > 150);
    QPalette light = original;
    light.setColor(QPalette::Base, QColor(255, 255, 255));
    QApplication::setPalette(light);
    CHECK(scores.data(Qt::ForegroundRole).value<QColor>().lightness() < 100);
    QApplication::setPalette(original);
    // An id missing from the element map is anchored on the list that lacks it.
    s.item(4, R"({"players":{"@o":[9]}})");
    const QModelIndex players = indexOfPath(panel, QStringLiteral("players"));
    REQUIRE(players.isValid());
    CHECK_FALSE(players.data(DocumentTreeModel::AnomalyRole).toStringList().isEmpty());
    // A mark deep in the tree shows on its ancestors too, so a collapsed row still says it.
    s.item(5, R"({"a":{"vals":{"@s":2,"0":1,"1":2}}})");
    s.item(6, R"({"a":{"vals":{"0":5}}})");
    const QModelIndex a = indexOfPath(panel, QStringLiteral("a"));
    REQUIRE(a.isValid());
    CHECK(a.data(DocumentTreeModel::AnomalyRole).toStringList().isEmpty());
    CHECK(a.data(DocumentTreeModel::AnomaliesBelowRole).toInt() == 1);
    CHECK(a.siblingAtColumn(DocumentTreeModel::KindColumn).data().toString() == QStringLiteral("\u26A0\u2193 object"));
    CHECK(a.data(Qt::ToolTipRole).toString().contains(QStringLiteral("1 node below has anomalies")));
    const QModelIndex vals = indexOfPath(panel, QStringLiteral("a/vals"));
    CHECK_FALSE(vals.data(DocumentTreeModel::AnomalyRole).toStringList().isEmpty());
    CHECK(vals.data(DocumentTreeModel::AnomaliesBelowRole).toInt() == 0);
    s.item(7, R"({"a":{"vals":{"1":6}}})"); // the same kind at the same node: still one node below
    CHECK(indexOfPath(panel, QStringLiteral("a")).data(DocumentTreeModel::AnomaliesBelowRole).toInt() == 1);
    // Marks are kept by path: switching to the merged tree and back keeps them.
    panel.setTreeChoice(DocumentTreePanel::TreeChoice::Merged);
    CHECK_FALSE(indexOfPath(panel, QStringLiteral("scores")).data(DocumentTreeModel::AnomalyRole).toStringList().isEmpty());
    panel.setTreeChoice(DocumentTreePanel::TreeChoice::FreshEpoch);
    CHECK_FALSE(indexOfPath(panel, QStringLiteral("scores")).data(DocumentTreeModel::AnomalyRole).toStringList().isEmpty());
    CHECK_FALSE(indexOfPath(panel, QStringLiteral("players")).data(DocumentTreeModel::AnomalyRole).toStringList().isEmpty());
    CHECK(indexOfPath(panel, QStringLiteral("a")).data(DocumentTreeModel::AnomaliesBelowRole).toInt() == 1);
}

TEST_CASE("document tree panel: the merged tree shows stale paths, expansion survives a new epoch")
{
    Stream s;
    DocumentTreePanel panel;
    panel.show();
    QAbstractItemModelTester tester(panel.model(), QAbstractItemModelTester::FailureReportingMode::Fatal);
    panel.setSource(&s.folder, &s.log);
    s.epoch(1);
    s.item(1, R"({"title":"Demo","topic":"old","game":{"board":{"cells":{"0":1,"@s":1}}}})");
    REQUIRE(panel.selectPath(QStringLiteral("game/board/cells")));
    panel.view()->collapse(indexOfPath(panel, QStringLiteral("game/board")));
    panel.view()->expand(indexOfPath(panel, QStringLiteral("game/board")));
    CHECK(panel.view()->isExpanded(indexOfPath(panel, QStringLiteral("game/board"))));

    // A resync: the new snapshot has no topic. The fresh tree drops it; a merging client keeps it.
    s.epoch(2);
    s.item(5, R"({"title":"Demo 2","game":{"board":{"cells":{"0":1,"@s":1}}}})");
    CHECK(panel.view()->isExpanded(indexOfPath(panel, QStringLiteral("game/board"))));
    CHECK(panel.currentPath() == QStringLiteral("game/board/cells"));
    CHECK_FALSE(indexOfPath(panel, QStringLiteral("topic")).isValid());

    panel.setTreeChoice(DocumentTreePanel::TreeChoice::Merged);
    CHECK(panel.shownTree() == &s.folder.mergedTree());
    const QModelIndex topic = indexOfPath(panel, QStringLiteral("topic"));
    REQUIRE(topic.isValid());
    CHECK(topic.data(DocumentTreeModel::StaleRole).toBool());
    CHECK(topic.data(Qt::ToolTipRole).toString().contains(QStringLiteral("stale")));
    CHECK_FALSE(indexOfPath(panel, QStringLiteral("title")).data(DocumentTreeModel::StaleRole).toBool());
    CHECK(panel.view()->isExpanded(indexOfPath(panel, QStringLiteral("game/board"))));
    // A reset of the tree (a replay's jump restores a checkpoint) keeps the stale marks.
    s.folder.restoreState(s.folder.saveState());
    CHECK(indexOfPath(panel, QStringLiteral("topic")).data(DocumentTreeModel::StaleRole).toBool());

    panel.setTreeChoice(DocumentTreePanel::TreeChoice::FreshEpoch);
    CHECK(panel.shownTree() == &s.folder.epochTree());
    panel.setSource(nullptr, nullptr);
    CHECK(panel.model()->rowCount() == 0);
}
