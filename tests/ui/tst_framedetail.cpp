#include <catch2/catch.hpp>

#include "core/protocol/envelope.h"

#include "core/session/eventlog.h"
#include "ui/framedetailpanel.h"
#include "ui/jsonhighlighter.h"
#include "ui/models/deltadetailsource.h"
#include "ui/models/linediff.h"

#include <QApplication>
#include <QClipboard>
#include <QLabel>
#include <QPlainTextEdit>
#include <QSignalSpy>
#include <QPushButton>
#include <QListView>
#include <QTabBar>
#include <QTabWidget>
#include <QTemporaryDir>
#include <QTextBlock>
#include <QTextDocument>
#include <QTextLayout>

#include <random>

using namespace deltascope;
using namespace deltascope::ui;

namespace {
qint64 add(EventLog& log, EventKind kind, const QByteArray& payload, qint64 id = -1, qint64 seq = -1)
{
    SessionEvent event;
    event.kind = kind;
    event.direction = naturalDirection(kind);
    event.requestId = id;
    event.seq = seq;
    event.epoch = 1;
    if (event.direction == Direction::Inbound) {
        // Record the decoded fields the client records, so the panel reads them as in a live session.
        const InboundFrame decoded = decodeInbound(payload);
        event.code = decoded.code;
        if (decoded.retry)
            event.flags |= FlagRetryable;
    }
    return log.append(event, payload);
}
}

TEST_CASE("json highlighter: keys, strings, numbers, literals and list markers get their own colours")
{
    QTextDocument document;
    JsonHighlighter highlighter(&document);
    document.setPlainText(QStringLiteral(R"({"key": "va:lue\"x", "n": -1.5e3, "t": true, "@o": [1]})"));
    highlighter.rehighlight();
    const QList<QTextLayout::FormatRange> formats = document.firstBlock().layout()->formats();
    const auto colourAt = [&](int position) {
        for (const QTextLayout::FormatRange& range : formats) {
            if (position >= range.start && position < range.start + range.length)
                return range.format.foreground().color();
        }
        return QColor();
    };
    const QString text = document.firstBlock().text();
    const QColor key = colourAt(int(text.indexOf(QStringLiteral("key"))));
    const QColor string = colourAt(int(text.indexOf(QStringLiteral("lue"))));
    const QColor number = colourAt(int(text.indexOf(QStringLiteral("1.5e3"))));
    const QColor literal = colourAt(int(text.indexOf(QStringLiteral("true"))));
    const QColor marker = colourAt(int(text.indexOf(QStringLiteral("@o"))));
    CHECK(key.isValid());
    CHECK(string.isValid());
    CHECK(key != string);
    CHECK(number.isValid());
    CHECK(number != string);
    CHECK(literal.isValid());
    CHECK(marker != key);
    // The escaped quote does not end the string early: "x" is still string-coloured.
    CHECK(colourAt(int(text.indexOf(QStringLiteral("x\"")))) == string);
}

TEST_CASE("frame detail: pretty frame, failure explained, copy and save, bad JSON shown as received")
{
    EventLog log;
    const qint64 request = add(log, EventKind::Request, R"({"method":"connection/create","id":1,"identity":"jwt-secret","space":"chat"})", 1);
    const qint64 failure = add(log, EventKind::Failure, R"({"failure":1,"reason":403403,"retry":false})", 1);
    log.link(request, failure);
    const qint64 item = add(log, EventKind::StreamItem, R"({"deliver":1,"done":false,"response":{"delta":{"data":{"a":1},"seq":3}}})", 1, 3);
    const qint64 bad = add(log, EventKind::MalformedInbound, "{\"deliver\":1,");

    FrameDetailPanel panel;
    panel.setEventLog(&log);
    CHECK(panel.headerText().contains(QStringLiteral("No event selected")));

    panel.showEvent(request);
    CHECK(panel.frameText().contains(QStringLiteral("\"space\": \"chat\"")));
    CHECK_FALSE(panel.frameText().contains(QStringLiteral("jwt-secret")));
    auto* linked = panel.findChild<QPushButton*>(QStringLiteral("detailLinkedButton"));
    REQUIRE(linked);
    CHECK(linked->isEnabled());
    QSignalSpy jump(&panel, &FrameDetailPanel::jumpRequested);
    linked->click();
    REQUIRE(jump.count() == 1);
    CHECK(jump.at(0).at(0).toLongLong() == failure);

    panel.showEvent(failure);
    CHECK(panel.headerText().contains(QStringLiteral("failure code 403403")));
    panel.setFailureCodeDescriber([](qint64 code) {
        return code == 403403 ? FailureCodeInfo { QStringLiteral("NOT_AUTHORIZED"), true, false } : FailureCodeInfo {};
    });
    CHECK(panel.headerText().contains(QStringLiteral("NOT_AUTHORIZED")));
    CHECK(panel.headerText().contains(QStringLiteral("not retryable")));

    // Stream items without a fold attached say so instead of inventing paths.
    panel.showEvent(item);
    CHECK(panel.changedPaths().isEmpty());
    int computed = 0;
    panel.setDeltaDetailProvider([&computed](qint64) {
        ++computed;
        return DeltaDetail { { QStringLiteral("a") }, QStringLiteral("{}"), QStringLiteral("{\"a\":1}"), {} };
    });
    // Computed when its tab is shown (or asked for), not on every selection with the Frame tab up.
    CHECK(computed == 0);
    auto* tabs = panel.findChild<QTabWidget*>(QStringLiteral("detailTabs"));
    REQUIRE(tabs);
    tabs->setCurrentIndex(2); // Before / after
    CHECK(computed == 1);
    tabs->setCurrentIndex(0);
    CHECK(panel.changedPaths() == QStringList { QStringLiteral("a") });
    CHECK(computed == 1);
    // A selection that moved on (here to no event) leaves nothing waiting for the tab.
    panel.showEvent(item);
    panel.showEvent(-1);
    tabs->setCurrentIndex(1);
    CHECK(computed == 1);
    CHECK(panel.changedPaths().isEmpty());
    tabs->setCurrentIndex(0);
    panel.showEvent(item);
    CHECK(panel.findChild<QPlainTextEdit*>(QStringLiteral("afterView"))->toPlainText() == QStringLiteral("{\"a\":1}"));
    // An activated path names its document path, whatever the line says around it.
    panel.setDeltaDetailProvider([](qint64) {
        return DeltaDetail { { QStringLiteral("+ /lines/5"), QStringLiteral("↕ /list/k row 3 → 1"), QStringLiteral("! kind-changed at /a/b: was a list") },
            QStringLiteral("{}"), QStringLiteral("{}"), {} };
    });
    REQUIRE(panel.changedPaths().size() == 3);
    QSignalSpy pathActivated(&panel, &FrameDetailPanel::pathActivated);
    auto* pathsView = panel.findChild<QListView*>(QStringLiteral("changedPathsView"));
    REQUIRE(pathsView);
    for (int row = 0; row < 3; ++row)
        Q_EMIT pathsView->activated(pathsView->model()->index(row, 0));
    REQUIRE(pathActivated.count() == 3);
    CHECK(pathActivated.at(0).at(0).toString() == QStringLiteral("lines/5"));
    CHECK(pathActivated.at(1).at(0).toString() == QStringLiteral("list/k"));
    CHECK(pathActivated.at(2).at(0).toString() == QStringLiteral("a/b"));

    panel.showEvent(bad);
    CHECK(panel.frameText().startsWith(QStringLiteral("// not JSON")));
    CHECK(panel.frameText().contains(QStringLiteral("{\"deliver\":1,")));

    panel.showEvent(item);
    panel.findChild<QPushButton*>(QStringLiteral("detailCopyButton"))->click();
    CHECK(QApplication::clipboard()->text() == panel.frameText());
    QTemporaryDir dir;
    const QString path = dir.filePath(QStringLiteral("frame.json"));
    CHECK(panel.saveFrame(path).isEmpty());
    QFile saved(path);
    REQUIRE(saved.open(QIODevice::ReadOnly));
    CHECK(saved.readAll() == panel.frameText().toUtf8());
    CHECK(panel.saveFrame(dir.filePath(QStringLiteral("missing/frame.json"))).contains(QStringLiteral("could not write")));
    panel.showEvent(12345);
    CHECK(panel.shownEvent() == -1);

    // A frame too large to show whole (a large document's snapshot): its start, said so, and
    // Save writes all of it.
    const QByteArray big = R"({"deliver":1,"done":false,"response":{"delta":{"data":{"blob":")" + QByteArray(3 * 1024 * 1024, 'b') + R"("},"seq":4}}})";
    const qint64 large = add(log, EventKind::StreamItem, big, 1, 4);
    panel.showEvent(large);
    CHECK(panel.frameText().startsWith(QStringLiteral("// %1 bytes: the first 524288 shown as received, unformatted; Save writes the whole frame").arg(big.size())));
    CHECK(panel.frameText().size() < 600000);
    // Text that large is shown without colouring (which alone took seconds); small text is coloured.
    auto* frameView = panel.findChild<QPlainTextEdit*>(QStringLiteral("frameView"));
    REQUIRE(frameView);
    REQUIRE(frameView->findChild<JsonHighlighter*>());
    CHECK(frameView->findChild<JsonHighlighter*>()->document() == nullptr);
    const QString bigPath = dir.filePath(QStringLiteral("big.json"));
    CHECK(panel.saveFrame(bigPath).isEmpty());
    QFile bigSaved(bigPath);
    REQUIRE(bigSaved.open(QIODevice::ReadOnly));
    CHECK(bigSaved.readAll() == big);
    panel.showEvent(item);
    CHECK(frameView->findChild<JsonHighlighter*>()->document() == frameView->document());
}

TEST_CASE("delta detail source: before / after and changed paths per stream item, per epoch, with checkpoints")
{
    EventLog log;
    const auto item = [&log](const QByteArray& data, quint32 epoch, qint64 seq) {
        SessionEvent event;
        event.kind = EventKind::StreamItem;
        event.direction = Direction::Inbound;
        event.epoch = epoch;
        event.seq = seq;
        return log.append(event, QByteArray("{\"deliver\":1,\"done\":false,\"response\":{\"delta\":{\"data\":" + data + ",\"seq\":" + QByteArray::number(seq) + "}}}"));
    };
    const qint64 first = item(R"({"title":"demo","players":{"1":{"name":"a"},"2":{"name":"b"},"@o":[1,2]}})", 1, 1);
    const qint64 rename = item(R"({"players":{"2":{"name":"c"}}})", 1, 2);
    const qint64 reorder = item(R"({"players":{"@o":[2,1]}})", 1, 3);
    const qint64 removal = item(R"({"title":null})", 1, 4);
    SessionEvent ping;
    ping.kind = EventKind::Ping;
    const qint64 notItem = log.append(ping, R"({"ping":1,"latency":"2"})");
    const qint64 fresh = item(R"({"title":"again"})", 2, 9); // a new epoch starts from an empty tree
    const qint64 array = item(R"({"title":"again","tags":["x"]})", 3, 1);
    const qint64 newArray = item(R"({"tags":["y","x"]})", 3, 2);

    DeltaDetailSource source;
    source.setEventLog(&log);
    auto result = source.compute(first);
    CHECK(result.error.isEmpty());
    CHECK(result.before.toJson() == "{}");
    CHECK(result.changedPaths.contains(QStringLiteral("+ /title")));

    CHECK(source.checkpointCount() == 0); // nothing folded before the epoch's first item
    result = source.compute(rename);
    CHECK(result.changedPaths == QStringList { QStringLiteral("~ /players/2/name") });
    // The tree after the epoch's first item (its snapshot, the costly fold) is kept for the next ones.
    CHECK(source.checkpointCount() == 1);
    CHECK(result.after.toJson().contains("\"c\""));
    result = source.compute(reorder);
    CHECK(result.changedPaths.filter(QStringLiteral("↕")).size() >= 1);
    result = source.compute(removal);
    CHECK(result.changedPaths == QStringList { QStringLiteral("- /title") });
    result = source.compute(fresh);
    CHECK(result.before.toJson() == "{}");
    CHECK(result.after.toJson() == R"({"title":"again"})");
    // A raw array replaced: its first item changed and a second added, each said once (the fold
    // makes every item anew, but the paths tell what a reader sees change).
    result = source.compute(array);
    CHECK(result.changedPaths == (QStringList { QStringLiteral("+ /title"), QStringLiteral("+ /tags") }));
    result = source.compute(newArray);
    CHECK(result.changedPaths == (QStringList { QStringLiteral("+ /tags/1"), QStringLiteral("~ /tags/0") }));
    CHECK(source.compute(notItem).error.contains(QStringLiteral("not a stream item")));
    CHECK(source.compute(999).error.contains(QStringLiteral("not in this session")));

    // A long epoch leaves checkpoints behind, and answers stay the same through them.
    for (int i = 0; i < 1000; ++i)
        item("{\"n\":" + QByteArray::number(i) + "}", 4, 100 + i);
    const qint64 last = log.size() - 1;
    result = source.compute(last);
    CHECK(result.changedPaths == QStringList { QStringLiteral("~ /n") });
    CHECK(source.checkpointCount() >= 3);
    result = source.compute(last - 1);
    CHECK(result.after.toJson() == R"({"n":998})");
}

namespace {
// The longest common subsequence of two line lists, by the textbook table: what a minimal diff keeps.
int commonLines(const QStringList& a, const QStringList& b)
{
    std::vector<std::vector<int>> table(std::size_t(a.size() + 1), std::vector<int>(std::size_t(b.size() + 1), 0));
    for (qsizetype i = a.size() - 1; i >= 0; --i) {
        for (qsizetype j = b.size() - 1; j >= 0; --j) {
            table[std::size_t(i)][std::size_t(j)] = a.at(i) == b.at(j) ? table[std::size_t(i + 1)][std::size_t(j + 1)] + 1
                                                                       : std::max(table[std::size_t(i + 1)][std::size_t(j)], table[std::size_t(i)][std::size_t(j + 1)]);
        }
    }
    return table[0][0];
}

QStringList without(const QStringList& lines, const std::vector<int>& drop)
{
    QStringList kept;
    std::size_t next = 0;
    for (qsizetype i = 0; i < lines.size(); ++i) {
        if (next < drop.size() && drop[next] == int(i))
            ++next;
        else
            kept.append(lines.at(i));
    }
    return kept;
}
}

TEST_CASE("line diff: the lines a minimal diff marks, over hand-made and random texts")
{
    const QStringList doc { QStringLiteral("{"), QStringLiteral("  \"a\": 1,"), QStringLiteral("  \"b\": 2,"), QStringLiteral("  \"c\": 3"), QStringLiteral("}") };
    LineDiff same = diffLines(doc, doc);
    CHECK(same.removed.empty());
    CHECK(same.added.empty());
    CHECK(same.minimal);

    QStringList changed = doc;
    changed[2] = QStringLiteral("  \"b\": 7,");
    LineDiff one = diffLines(doc, changed);
    CHECK(one.removed == std::vector<int> { 2 });
    CHECK(one.added == std::vector<int> { 2 });

    QStringList grown = doc;
    grown.insert(1, QStringLiteral("  \"new\": 0,"));
    grown.removeAt(4); // "c" goes
    LineDiff moved = diffLines(doc, grown);
    CHECK(moved.added == std::vector<int> { 1 });
    CHECK(moved.removed == std::vector<int> { 3 });

    CHECK(diffLines({}, doc).added.size() == 5);
    CHECK(diffLines(doc, {}).removed.size() == 5);

    // Random texts over few distinct lines, so most lines match somewhere: the marked lines leave
    // the same sequence on both sides, and exactly as few as the longest common subsequence allows.
    std::mt19937 rng(7);
    for (int round = 0; round < 2000; ++round) {
        QStringList a;
        QStringList b;
        const int lengthA = int(rng() % 12);
        const int lengthB = int(rng() % 12);
        for (int i = 0; i < lengthA; ++i)
            a.append(QString::number(rng() % 4));
        for (int i = 0; i < lengthB; ++i)
            b.append(QString::number(rng() % 4));
        const LineDiff diff = diffLines(a, b);
        INFO(a.join(QLatin1Char(',')).toStdString() << " / " << b.join(QLatin1Char(',')).toStdString());
        REQUIRE(diff.minimal);
        CHECK(std::is_sorted(diff.removed.begin(), diff.removed.end()));
        CHECK(std::is_sorted(diff.added.begin(), diff.added.end()));
        CHECK(without(a, diff.removed) == without(b, diff.added));
        CHECK(int(a.size() - qsizetype(diff.removed.size())) == commonLines(a, b));
    }

    // Past the edit budget: every line between the common head and tail is marked, nothing outside.
    QStringList left { QStringLiteral("head") };
    QStringList right { QStringLiteral("head") };
    for (int i = 0; i < 50; ++i) {
        left.append(QStringLiteral("l%1").arg(i));
        right.append(QStringLiteral("r%1").arg(i));
    }
    left.append(QStringLiteral("tail"));
    right.append(QStringLiteral("tail"));
    const LineDiff coarse = diffLines(left, right, 10);
    CHECK_FALSE(coarse.minimal);
    CHECK(coarse.removed.size() == 50);
    CHECK(coarse.removed.front() == 1);
    CHECK(coarse.added.back() == 50);
}

TEST_CASE("frame detail: before / after of a large document shows the part around its first change, marked")
{
    EventLog log;
    const qint64 item = add(log, EventKind::StreamItem, R"({"deliver":1,"done":false,"response":{"delta":{"data":{"k15000":-1}},"seq":2}})", 1, 2);
    FrameDetailPanel panel;
    panel.resize(800, 300);
    panel.setEventLog(&log);
    // 20,000 lines, about 400,000 characters: more than a side shows, the change near its end.
    QStringList lines { QStringLiteral("{") };
    for (int i = 0; i < 20000; ++i)
        lines << QStringLiteral("  \"k%1\": %1,").arg(i);
    lines << QStringLiteral("  \"z\": 0") << QStringLiteral("}");
    const QString before = lines.join(QLatin1Char('\n'));
    lines[15001] = QStringLiteral("  \"k15000\": -1,");
    const QString after = lines.join(QLatin1Char('\n'));
    REQUIRE(before.size() > 300000);
    panel.setDeltaDetailProvider([&](qint64) { return DeltaDetail { { QStringLiteral("~ /k15000") }, before, after, {} }; });
    panel.show();
    panel.showEvent(item);
    panel.findChild<QTabWidget*>(QStringLiteral("detailTabs"))->setCurrentIndex(2); // Before / after
    auto* beforeView = panel.findChild<QPlainTextEdit*>(QStringLiteral("beforeView"));
    auto* afterView = panel.findChild<QPlainTextEdit*>(QStringLiteral("afterView"));
    // The first 40 lines above the change, then on to the size limit; a comment says which lines.
    const QString shownAfter = afterView->toPlainText();
    CHECK(shownAfter.startsWith(QStringLiteral("// lines 14962-")));
    CHECK(shownAfter.contains(QStringLiteral("of 20003 (")));
    CHECK(shownAfter.contains(QStringLiteral("\n  \"k14960\": 14960,\n"))); // line 14962: { is line 1
    CHECK_FALSE(shownAfter.contains(QStringLiteral("\"k14959\"")));
    CHECK(shownAfter.size() < 200000);
    REQUIRE(beforeView->extraSelections().size() == 1);
    REQUIRE(afterView->extraSelections().size() == 1);
    CHECK(beforeView->extraSelections().front().cursor.block().text() == QStringLiteral("  \"k15000\": 15000,"));
    CHECK(afterView->extraSelections().front().cursor.block().text() == QStringLiteral("  \"k15000\": -1,"));
    CHECK(panel.findChild<QLabel*>(QStringLiteral("afterViewLabel"))->text() == QStringLiteral("After it: 1 line added or changed (green)"));

    // A document large because of one long string, the change in it: the line is cut, and shown
    // and marked, not left out of a window it does not fit.
    const QString blob(250000, QLatin1Char('x'));
    const QString longBefore = QStringLiteral("{\n  \"blob\": \"%1\",\n  \"n\": 1\n}").arg(blob);
    const QString longAfter = QStringLiteral("{\n  \"blob\": \"%1y\",\n  \"n\": 1\n}").arg(blob);
    panel.setDeltaDetailProvider([&](qint64) { return DeltaDetail { { QStringLiteral("~ /blob") }, longBefore, longAfter, {} }; });
    const QString shownLong = afterView->toPlainText();
    CHECK(shownLong.startsWith(QStringLiteral("// lines 1-4 of 4 (")));
    CHECK(shownLong.contains(QStringLiteral("; lines over 2000 characters cut")));
    CHECK(shownLong.size() < 3000);
    CHECK(shownLong.contains(QStringLiteral("\u2026 (%1 more characters)").arg(longAfter.split(QLatin1Char('\n'))[1].size() - 2000)));
    REQUIRE(afterView->extraSelections().size() == 1);
    CHECK(afterView->extraSelections().front().cursor.block().text().startsWith(QStringLiteral("  \"blob\": \"xxx")));
    CHECK(afterView->toPlainText().endsWith(QStringLiteral("\"n\": 1\n}")));
}

TEST_CASE("frame detail: before / after marks the lines that differ and shows the first of them")
{
    EventLog log;
    const qint64 item = add(log, EventKind::StreamItem, R"({"deliver":1,"done":false,"response":{"delta":{"data":{"b":9}},"seq":2}})", 1, 2);
    FrameDetailPanel panel;
    panel.resize(800, 300);
    panel.setEventLog(&log);
    QString before = QStringLiteral("{\n");
    for (int i = 0; i < 200; ++i)
        before += QStringLiteral("  \"k%1\": %1,\n").arg(i);
    QString after = before;
    before += QStringLiteral("  \"b\": 1\n}");
    after += QStringLiteral("  \"b\": 9\n}");
    panel.setDeltaDetailProvider([&](qint64) { return DeltaDetail { { QStringLiteral("~ /b") }, before, after, {} }; });
    panel.show();
    panel.showEvent(item);
    auto* tabs = panel.findChild<QTabWidget*>(QStringLiteral("detailTabs"));
    REQUIRE(tabs);
    tabs->setCurrentIndex(2); // Before / after
    auto* beforeView = panel.findChild<QPlainTextEdit*>(QStringLiteral("beforeView"));
    auto* afterView = panel.findChild<QPlainTextEdit*>(QStringLiteral("afterView"));
    REQUIRE(beforeView->extraSelections().size() == 1);
    REQUIRE(afterView->extraSelections().size() == 1);
    CHECK(beforeView->extraSelections().front().cursor.block().text() == QStringLiteral("  \"b\": 1"));
    CHECK(afterView->extraSelections().front().cursor.block().text() == QStringLiteral("  \"b\": 9"));
    // Each side says which it is, and how many lines it marks.
    CHECK(panel.findChild<QLabel*>(QStringLiteral("beforeViewLabel"))->text() == QStringLiteral("Before this delta: 1 line removed or changed (red)"));
    CHECK(panel.findChild<QLabel*>(QStringLiteral("afterViewLabel"))->text() == QStringLiteral("After it: 1 line added or changed (green)"));
    // Line 202 of 203 is in view, not the top of the document.
    CHECK(afterView->cursorForPosition(QPoint(4, 4)).blockNumber() > 100);
    // An item that changes nothing leaves no marks from the one before.
    panel.setDeltaDetailProvider([&](qint64) { return DeltaDetail { {}, after, after, {} }; });
    CHECK(afterView->extraSelections().isEmpty());
    CHECK(panel.findChild<QLabel*>(QStringLiteral("afterViewLabel"))->text() == QStringLiteral("After it: 0 lines added or changed (green)"));
}

TEST_CASE("frame detail: a tab page starts right under its tab, with no title line repeating the tab's name")
{
    // An empty title line above each tab's content took one of the few lines a 1024x600 window
    // leaves the Before / after tab.
    EventLog log;
    const qint64 item = add(log, EventKind::StreamItem, R"({"deliver":1,"done":false,"response":{"delta":{"data":{"b":9}},"seq":2}})", 1, 2);
    FrameDetailPanel panel;
    panel.resize(800, 200);
    panel.setEventLog(&log);
    panel.setDeltaDetailProvider([](qint64) { return DeltaDetail { { QStringLiteral("~ /b") }, QStringLiteral("{}"), QStringLiteral("{\"b\":9}"), {} }; });
    panel.show();
    panel.showEvent(item);
    auto* tabs = panel.findChild<QTabWidget*>(QStringLiteral("detailTabs"));
    REQUIRE(tabs);
    for (int tab = 0; tab < tabs->count(); ++tab) {
        tabs->setCurrentIndex(tab);
        QWidget* page = tabs->currentWidget();
        INFO(tabs->tabText(tab).toStdString());
        CHECK(page->findChildren<QLabel*>(QStringLiteral("panelTitle")).isEmpty());
        // The first thing drawn on the page (a view, or Before / after's side labels) is at its top,
        // below at most a view's frame line.
        int top = page->height();
        for (QWidget* child : page->findChildren<QWidget*>()) {
            if (child->isVisible() && child->width() > 0 && child->height() > 0)
                top = std::min(top, child->mapTo(page, QPoint(0, 0)).y());
        }
        CHECK(top <= 1);
    }
}

TEST_CASE("frame detail: at a 1024 px window's width the header keeps one line, the buttons beside the tabs")
{
    EventLog log;
    const qint64 request = add(log, EventKind::Request, R"({"method":"connection/create","id":1,"space":"ticker","key":"demo"})", 1);
    const qint64 item = add(log, EventKind::StreamItem, R"({"deliver":1,"done":false,"response":{"delta":{"data":{"b":9}},"seq":27}})", 1, 27);
    log.link(request, item);
    FrameDetailPanel panel;
    panel.resize(630, 220); // its share of a 1024 px window
    panel.setEventLog(&log);
    panel.show();
    panel.showEvent(item);
    QCoreApplication::processEvents();
    auto* header = panel.findChild<QLabel*>(QStringLiteral("detailHeader"));
    auto* tabs = panel.findChild<QTabWidget*>(QStringLiteral("detailTabs"));
    REQUIRE((header && tabs));
    INFO(header->text().toStdString());
    CHECK(header->height() < 2 * header->fontMetrics().lineSpacing());
    QTabBar* bar = tabs->tabBar();
    for (const char* name : { "detailLinkedButton", "detailCopyButton", "detailSaveButton" }) {
        auto* button = panel.findChild<QPushButton*>(QLatin1String(name));
        REQUIRE(button);
        INFO(name);
        CHECK(button->isVisible());
        const QRect shown(button->mapTo(&panel, QPoint(0, 0)), button->size());
        CHECK(panel.rect().contains(shown));
        CHECK(shown.top() >= header->geometry().bottom()); // on the tabs' row, not the header's
        for (int tab = 0; tab < bar->count(); ++tab)
            CHECK_FALSE(QRect(bar->mapTo(&panel, bar->tabRect(tab).topLeft()), bar->tabRect(tab).size()).intersects(shown));
    }
}
