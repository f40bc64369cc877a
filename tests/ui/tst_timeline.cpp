#include <catch2/catch.hpp>

#include "core/session/eventlog.h"
#include "tests/support/testutils.h"
#include "tests/support/viewtestutils.h"
#include "ui/models/framesummary.h"
#include "ui/models/incidentsmodel.h"
#include "ui/models/payloadsearch.h"
#include "ui/models/timelinefilterproxy.h"
#include "ui/models/timelinemodel.h"
#include "ui/timelinecolumnfit.h"
#include "ui/timelinepanel.h"

#include <QAbstractItemModelTester>
#include <QCheckBox>
#include <QDateTime>
#include <QHeaderView>
#include <QJsonDocument>
#include <QJsonObject>
#include <QLabel>
#include <QLineEdit>
#include <QMenu>
#include <QScrollBar>
#include <QSettings>
#include <QSignalSpy>
#include <QSortFilterProxyModel>
#include <QTableView>
#include <QTest>

#include <ctime>

using namespace deltascope;
using namespace deltascope::ui;
using namespace std::chrono_literals;

namespace {

// A small scripted session: hello, create request, stream items, a send with its ack, a fault,
// a reconnect delay and an incident. Times are 1 ms apart.
struct SessionScript {
    EventLog& log;
    qint64 time = 0;
    qint64 nextSeq = 1;

    qint64 add(EventKind kind, const QByteArray& payload, qint64 requestId = -1, qint64 seq = -1, const QString& method = {}, quint32 epoch = 1)
    {
        SessionEvent event;
        event.kind = kind;
        event.direction = naturalDirection(kind);
        event.monotonicNs = (time += 1'000'000);
        event.wallMs = 1'700'000'000'000 + time / 1'000'000;
        event.requestId = requestId;
        event.seq = seq;
        event.epoch = epoch;
        event.methodString = log.intern(method);
        return log.append(event, payload);
    }
    qint64 item(qint64 connection, const QByteArray& data, quint32 epoch = 1)
    {
        const qint64 seq = nextSeq++;
        return add(EventKind::StreamItem,
            "{\"deliver\":" + QByteArray::number(connection) + ",\"done\":false,\"response\":{\"delta\":{\"data\":" + data + ",\"seq\":" + QByteArray::number(seq) + "}}}",
            connection, seq, {}, epoch);
    }
};

QStringList printRows(const QAbstractItemModel& model, int column)
{
    QStringList rows;
    for (int row = 0; row < model.rowCount(); ++row)
        rows.append(model.index(row, column).data().toString());
    return rows;
}

}

TEST_CASE("timeline model: rows appear in batches while events stream in, under the model tester")
{
    EventLog log;
    TimelineModel model;
    QAbstractItemModelTester tester(&model, QAbstractItemModelTester::FailureReportingMode::Fatal);
    TimelineFilterProxy proxy;
    proxy.setSourceModel(&model);
    QAbstractItemModelTester proxyTester(&proxy, QAbstractItemModelTester::FailureReportingMode::Fatal);
    model.setEventLog(&log);
    SessionScript script { log };

    int insertSignals = 0;
    QObject::connect(&model, &QAbstractItemModel::rowsInserted, [&](const QModelIndex&, int first, int last) {
        ++insertSignals;
        CHECK(first == model.rowCount() - (last - first + 1));
    });

    script.add(EventKind::Hello, R"({"status":"connected","version":"20240912","identities":{}})");
    const qint64 create = script.add(EventKind::Request,
        R"({"method":"connection/create","id":1,"identity":"eyJsecret","space":"chat","key":"demo"})", 1, -1, QStringLiteral("connection/create"));
    for (int i = 0; i < 500; ++i)
        script.item(1, "{\"n\":" + QByteArray::number(i) + "}");
    CHECK(model.rowCount() == 0); // nothing until the batch is flushed
    REQUIRE(test::waitUntil([&] { return model.rowCount() == log.size(); }, 2s));
    CHECK(insertSignals <= 2);

    // Every column header explains itself; the gap counts from the previous event, shown or not.
    for (int column = 0; column < model.columnCount(); ++column)
        CHECK_FALSE(model.headerData(column, Qt::Horizontal, Qt::ToolTipRole).toString().isEmpty());
    CHECK(model.headerData(TimelineModel::GapColumn, Qt::Horizontal, Qt::ToolTipRole).toString().contains(QStringLiteral("shown or filtered out")));
    // Formatting happens in DisplayRole; raw values in custom roles.
    CHECK(model.index(0, TimelineModel::KindColumn).data().toString() == QStringLiteral("hello"));
    CHECK(model.index(0, TimelineModel::DirectionColumn).data().toString().contains(QStringLiteral("in")));
    CHECK(model.index(1, TimelineModel::MethodColumn).data().toString() == QStringLiteral("connection/create"));
    CHECK(model.index(1, TimelineModel::IdColumn).data().toString() == QStringLiteral("id 1"));
    CHECK(model.index(2, TimelineModel::IdColumn).data().toString() == QStringLiteral("id 1 · seq 1"));
    CHECK(model.index(2, TimelineModel::GapColumn).data().toString() == QStringLiteral("+1 ms"));
    // A narrow column's cell reads whole in its tooltip.
    for (const int column : { int(TimelineModel::GapColumn), int(TimelineModel::KindColumn), int(TimelineModel::IdColumn), int(TimelineModel::MethodColumn) })
        CHECK(model.index(2, column).data(Qt::ToolTipRole).toString() == model.index(2, column).data().toString());
    CHECK(model.index(2, TimelineModel::TimeColumn).data(TimelineModel::SortRole).toLongLong() == 3'000'000);
    CHECK(model.index(2, TimelineModel::SummaryColumn).data().toString() == QStringLiteral("seq 1 · data: n"));
    CHECK(model.index(0, TimelineModel::TimeColumn).data().toString().size() == 12); // HH:mm:ss.zzz
    // Identities never reach the screen.
    const QString requestSummary = model.index(int(create), TimelineModel::SummaryColumn).data().toString();
    CHECK_FALSE(requestSummary.contains(QStringLiteral("eyJsecret")));
    CHECK(requestSummary.contains(QStringLiteral("chat")));

    // More events while the proxy filters: everything stays consistent under both testers.
    proxy.setKindEnabled(EventKind::Ping, false);
    for (int i = 0; i < 300; ++i) {
        script.add(EventKind::Ping, R"({"ping":100,"latency":"3"})");
        script.item(1, "{\"m\":1}");
    }
    model.flushPending();
    CHECK(model.rowCount() == log.size());
    CHECK(proxy.rowCount() == log.size() - 300);

    // A cleared log (new session) resets both.
    log.clear();
    CHECK(model.rowCount() == 0);
    CHECK(proxy.rowCount() == 0);
}

TEST_CASE("timeline model: markers and failures are distinct rows, links mark the partner")
{
    EventLog log;
    TimelineModel model;
    QAbstractItemModelTester tester(&model, QAbstractItemModelTester::FailureReportingMode::Fatal);
    model.setEventLog(&log);
    SessionScript script { log };
    const qint64 send = script.add(EventKind::Request, R"({"method":"connection/send","id":2,"connection":1,"channel":"say","message":{"text":"hi"}})", 2, -1, QStringLiteral("say"));
    const qint64 ack = script.add(EventKind::Response, R"({"deliver":2,"done":true,"response":{"seq":58}})", 2, 58);
    log.link(send, ack);
    const qint64 fault = script.add(EventKind::FaultInjected, R"({"fault":"drop","params":{"mode":"rst"},"corrupting":false})");
    const qint64 reconnect = script.add(EventKind::ReconnectPlanned, R"({"delayMs":250,"attempt":1,"policy":"backoff"})");
    const qint64 failure = script.add(EventKind::Failure, R"({"failure":1,"reason":999,"retry":true})", 1);
    const qint64 incident = script.add(EventKind::Incident, R"({"verdict":"converged","detectMs":12})");
    model.flushPending();

    CHECK(model.index(int(fault), 0).data(TimelineModel::CategoryRole).toInt() == int(TimelineCategory::Fault));
    CHECK(model.index(int(reconnect), 0).data(TimelineModel::CategoryRole).toInt() == int(TimelineCategory::Reconnect));
    CHECK(model.index(int(incident), 0).data(TimelineModel::CategoryRole).toInt() == int(TimelineCategory::Incident));
    CHECK(model.index(int(failure), 0).data(TimelineModel::CategoryRole).toInt() == int(TimelineCategory::Failure));
    CHECK(model.index(int(send), 0).data(TimelineModel::CategoryRole).toInt() == int(TimelineCategory::Frame));
    CHECK(model.index(int(fault), 0).data(Qt::BackgroundRole).value<QBrush>().style() != Qt::NoBrush);
    CHECK(model.index(int(send), 0).data(Qt::BackgroundRole).value<QBrush>().style() == Qt::NoBrush);
    CHECK(model.index(int(reconnect), TimelineModel::SummaryColumn).data().toString() == QStringLiteral("reconnect in 250 ms, attempt 1 (backoff)"));
    CHECK(model.index(int(fault), TimelineModel::SummaryColumn).data().toString().startsWith(QStringLiteral("fault: drop")));
    CHECK(model.index(int(failure), TimelineModel::SummaryColumn).data().toString() == QStringLiteral("failure 999 · retryable"));
    CHECK(model.index(int(incident), TimelineModel::SummaryColumn).data().toString().startsWith(QStringLiteral("incident: converged")));

    QSignalSpy changed(&model, &QAbstractItemModel::dataChanged);
    model.setCurrentEvent(send);
    CHECK(model.index(int(ack), 0).data(TimelineModel::LinkedToCurrentRole).toBool());
    CHECK_FALSE(model.index(int(send), 0).data(TimelineModel::LinkedToCurrentRole).toBool());
    CHECK(changed.count() == 1);
    model.setCurrentEvent(fault);
    CHECK_FALSE(model.index(int(ack), 0).data(TimelineModel::LinkedToCurrentRole).toBool());
}

TEST_CASE("timeline filter proxy: direction, kind, method, epoch, and state round trip")
{
    EventLog log;
    TimelineModel model;
    TimelineFilterProxy proxy;
    proxy.setSourceModel(&model);
    QAbstractItemModelTester tester(&proxy, QAbstractItemModelTester::FailureReportingMode::Fatal);
    model.setEventLog(&log);
    SessionScript script { log };
    script.add(EventKind::Request, R"({"method":"connection/create","id":1})", 1, -1, QStringLiteral("connection/create"), 1);
    script.item(1, R"({"a":1})");
    script.add(EventKind::Request, R"({"method":"connection/send","id":2,"channel":"chat_say"})", 2, -1, QStringLiteral("chat_say"), 1);
    script.add(EventKind::StateChanged, R"({"from":"streaming","to":"reconnecting","reason":"socket closed"})", -1, -1, {}, 1);
    script.add(EventKind::Request, R"({"method":"connection/create","id":3})", 3, -1, QStringLiteral("connection/create"), 2);
    script.item(3, R"({"a":2})", 2);
    model.flushPending();
    REQUIRE(proxy.rowCount() == 6);

    proxy.setDirectionEnabled(Direction::Outbound, false);
    CHECK(printRows(proxy, TimelineModel::KindColumn) == QStringList { QStringLiteral("stream-item"), QStringLiteral("state"), QStringLiteral("stream-item") });
    proxy.setDirectionEnabled(Direction::Outbound, true);
    proxy.setMethodFilter(QStringLiteral("SAY"));
    CHECK(printRows(proxy, TimelineModel::MethodColumn) == QStringList { QStringLiteral("chat_say") });
    proxy.setMethodFilter({});
    proxy.setEpochFilter(2);
    CHECK(proxy.rowCount() == 2);
    proxy.setKindEnabled(EventKind::Request, false);
    CHECK(proxy.rowCount() == 1);
    CHECK(proxy.isFiltering());

    const QString saved = proxy.saveState();
    TimelineFilterProxy restored;
    restored.setSourceModel(&model);
    restored.restoreState(saved);
    CHECK(restored.rowCount() == 1);
    CHECK(restored.saveState() == saved);
    // Damaged state falls back to showing everything rather than hiding it all.
    restored.restoreState(QStringLiteral("dir=;kinds=bogus;epoch=x"));
    CHECK(restored.rowCount() == 6);
    CHECK_FALSE(restored.isFiltering());
}

TEST_CASE("payload search: regex over full payloads in slices, next/previous, bad patterns")
{
    EventLog log;
    SessionScript script { log };
    for (int i = 0; i < 2000; ++i)
        script.item(1, "{\"player\":\"p" + QByteArray::number(i) + "\"}");
    PayloadSearch search;
    search.setEventLog(&log);
    QSignalSpy batches(&search, &PayloadSearch::matchesAdded);
    QSignalSpy finished(&search, &PayloadSearch::finished);
    search.setSliceMilliseconds(0); // one 256-event chunk per slice: forces many slices
    CHECK(search.setPattern(QStringLiteral("\"p1[0-9]{3}\"")).isEmpty());
    CHECK(search.isRunning());
    REQUIRE(finished.wait(5000));
    CHECK(batches.count() > 3);
    CHECK(search.matches().size() == 1000);
    CHECK(search.nextMatch(-1) == 1000);
    CHECK(search.nextMatch(1000) == 1001);
    CHECK(search.previousMatch(1000) == -1);
    CHECK(search.previousMatch(5000) == 1999);

    // Events appended later are searched too.
    script.item(1, R"({"player":"p1234"})");
    log.flushNotifications();
    REQUIRE(test::waitUntil([&] { return search.matches().size() == 1001; }, 2s));

    QSignalSpy failed(&search, &PayloadSearch::failed);
    CHECK(search.setPattern(QStringLiteral("(unclosed")).contains(QStringLiteral("not a valid regular expression")));
    CHECK(failed.count() == 1);
    CHECK(search.matches().empty());
    CHECK_FALSE(search.isActive());
}

TEST_CASE("timeline panel: follow the tail, stop on scroll up, search and jump between linked events")
{
    QSettings().clear();
    EventLog log;
    TimelinePanel panel;
    QAbstractItemModelTester tester(panel.proxy(), QAbstractItemModelTester::FailureReportingMode::Fatal);
    panel.resize(900, 400);
    panel.show();
    REQUIRE(QTest::qWaitForWindowExposed(&panel));
    panel.setEventLog(&log);
    SessionScript script { log };
    const qint64 send = script.add(EventKind::Request, R"({"method":"connection/send","id":7,"channel":"say"})", 7, -1, QStringLiteral("say"));
    for (int i = 0; i < 300; ++i)
        script.item(1, "{\"v\":" + QByteArray::number(i) + "}");
    const qint64 ack = script.add(EventKind::Response, R"({"deliver":7,"done":true,"response":{"seq":9}})", 7, 9);
    log.link(send, ack);
    QScrollBar* bar = panel.view()->verticalScrollBar();
    REQUIRE(test::waitUntil([&] { return panel.proxy()->rowCount() == log.size() && bar->maximum() > 0 && bar->value() == bar->maximum(); }, 3s));
    CHECK(panel.isFollowing());

    // The user scrolls up: following stops, and new events do not move the view.
    bar->setValue(0);
    CHECK_FALSE(panel.isFollowing());
    for (int i = 0; i < 50; ++i)
        script.item(1, R"({"w":1})");
    REQUIRE(test::waitUntil([&] { return panel.proxy()->rowCount() == log.size(); }, 3s));
    QTest::qWait(20);
    CHECK(bar->value() == 0);
    panel.setFollowing(true);
    REQUIRE(test::waitUntil([&] { return bar->value() == bar->maximum(); }, 2s));

    // Select the request, its response is marked; jump there and back.
    REQUIRE(panel.selectEvent(send));
    CHECK_FALSE(panel.isFollowing());
    CHECK(test::waitUntil([&] { return panel.model()->index(int(ack), 0).data(TimelineModel::LinkedToCurrentRole).toBool(); }, 1s));
    REQUIRE(panel.jumpToLinked());
    CHECK(panel.currentEvent() == ack);
    REQUIRE(panel.jumpToLinked());
    CHECK(panel.currentEvent() == send);

    // Search, then next/previous moves among matches the filters show.
    panel.setSearchPattern(QStringLiteral("\"v\":1[0-9]\\}"));
    REQUIRE(test::waitUntil([&] { return !panel.search()->isRunning(); }, 3s));
    CHECK(panel.search()->matches().size() == 10);
    REQUIRE(panel.findNext());
    CHECK(panel.currentEvent() == 11); // event 11 carries v:10
    REQUIRE(panel.findNext());
    CHECK(panel.currentEvent() == 12);
    REQUIRE(panel.findPrevious());
    CHECK(panel.currentEvent() == 11);
    auto* status = panel.findChild<QLabel*>(QStringLiteral("searchStatus"));
    REQUIRE(status);
    CHECK(status->text() == QStringLiteral("10 matches"));

    // Selecting an event hidden by a filter clears the filters to show it.
    panel.proxy()->setDirectionEnabled(Direction::Outbound, false);
    REQUIRE(panel.selectEvent(send));
    CHECK(panel.proxy()->isDirectionEnabled(Direction::Outbound));

    // Bad patterns are reported in the panel, not silently ignored.
    panel.setSearchPattern(QStringLiteral("[z"));
    CHECK(status->text() == QStringLiteral("invalid pattern")); // short: the field keeps its room
    CHECK(status->toolTip().contains(QStringLiteral("not a valid regular expression")));

    // "Only matches" filters while a search is on; with the pattern cleared (or not compiling) every
    // row shows again instead of an empty timeline that says nothing.
    auto* onlyMatches = panel.findChild<QCheckBox*>(QStringLiteral("matchesOnlyCheck"));
    REQUIRE(onlyMatches);
    const int allRows = panel.proxy()->rowCount();
    panel.setSearchPattern(QStringLiteral("\"v\":1[0-9]\\}"));
    REQUIRE(test::waitUntil([&] { return !panel.search()->isRunning(); }, 3s));
    onlyMatches->setChecked(true);
    CHECK(panel.proxy()->rowCount() == 10);
    panel.setSearchPattern(QString());
    CHECK(panel.proxy()->rowCount() == allRows);
    panel.setSearchPattern(QStringLiteral("[z"));
    CHECK(panel.proxy()->rowCount() == allRows);
    panel.setSearchPattern(QStringLiteral("\"v\":1[0-9]\\}"));
    REQUIRE(test::waitUntil([&] { return !panel.search()->isRunning(); }, 3s));
    CHECK(panel.proxy()->rowCount() == 10);
}

namespace {
// A timeline panel shown at a usual size beside a log of 300 stream items, settings cleared first;
// the log is not set on the panel (a test sets it when its case needs).
struct ShownTimeline {
    struct ClearedSettings {
        ClearedSettings() { QSettings().clear(); }
    } cleared;
    EventLog log;
    SessionScript script { log };
    TimelinePanel panel;
    ShownTimeline()
    {
        for (int i = 0; i < 300; ++i)
            script.item(1, "{\"v\":" + QByteArray::number(i) + "}");
        panel.resize(900, 400);
        panel.show();
        REQUIRE(QTest::qWaitForWindowExposed(&panel));
    }
};
}

TEST_CASE("timeline panel: typing in the timeline searches payloads, and times read as local clock time")
{
    // Qt's type-to-find formatted every row's text per keystroke: seconds on a big capture.
    ShownTimeline shown;
    shown.panel.setEventLog(&shown.log);
    auto* view = shown.panel.findChild<QTableView*>(QStringLiteral("timelineView"));
    auto* search = shown.panel.findChild<QLineEdit*>(QStringLiteral("payloadSearchEdit"));
    REQUIRE(view);
    REQUIRE(search);
    view->setFocus();
    REQUIRE(test::waitUntil([&] { return view->hasFocus(); }, 2s));
    QTest::keyClicks(view, QStringLiteral("v\":4"));
    CHECK(search->text() == QStringLiteral("v\":4"));
    CHECK(search->hasFocus());

    // The cached zone offset gives what QDateTime gives, across a year of times and both daylight
    // saving changes (a POSIX rule, so no zone files are needed; ctest runs each case alone).
    qputenv("TZ", "CET-1CEST,M3.5.0,M10.5.0/3");
    ::tzset();
    TimelineModel model;
    QAbstractItemModelTester tester(&model, QAbstractItemModelTester::FailureReportingMode::Fatal);
    EventLog times;
    SessionEvent note;
    note.kind = EventKind::Note;
    std::vector<qint64> stamps;
    for (qint64 ms = 1704067200000; ms < 1735689600000; ms += 86400000LL * 7 + 3600 * 1000 * 5 + 123)
        stamps.push_back(ms);
    // Just before and after 2024's changes (31 March 01:00 UTC, 27 October 01:00 UTC).
    for (qint64 change : { 1711846800000LL, 1729990800000LL })
        stamps.insert(stamps.end(), { change - 1, change, change + 1 });
    for (qint64 ms : stamps) {
        note.wallMs = ms;
        times.append(note, "{}");
    }
    model.setEventLog(&times);
    REQUIRE(test::waitUntil([&] { return model.rowCount() == int(stamps.size()); }, 2s));
    for (int row = 0; row < int(stamps.size()); ++row) {
        INFO(stamps[std::size_t(row)]);
        CHECK(model.data(model.index(row, TimelineModel::TimeColumn)).toString()
            == QDateTime::fromMSecsSinceEpoch(stamps[std::size_t(row)]).toString(QStringLiteral("HH:mm:ss.zzz")));
    }
}

TEST_CASE("timeline panel: a jump right after a log is set stays in view (opening a replay at its first event)")
{
    ShownTimeline shown;
    auto& [settings, log, script, panel] = shown;
    REQUIRE(panel.isFollowing());
    // What opening a capture does: the log, then at once a seek to event 0, before the scroll to
    // the tail that setting a log schedules has run.
    panel.setEventLog(&log);
    REQUIRE(panel.selectEvent(0));
    CHECK_FALSE(panel.isFollowing());
    QTest::qWait(50);
    const QModelIndex current = panel.view()->currentIndex();
    REQUIRE(current.isValid());
    CHECK(panel.currentEvent() == 0);
    CHECK(panel.view()->visualRect(current).intersects(panel.view()->viewport()->rect()));
    CHECK(panel.view()->verticalScrollBar()->value() < panel.view()->verticalScrollBar()->maximum());
}

TEST_CASE("timeline panel: a new log (session or capture) starts without the previous log's search")
{
    ShownTimeline shown;
    auto& [settings, log, script, panel] = shown;
    panel.setEventLog(&log);
    auto* onlyMatches = panel.findChild<QCheckBox*>(QStringLiteral("matchesOnlyCheck"));
    auto* edit = panel.findChild<QLineEdit*>(QStringLiteral("payloadSearchEdit"));
    auto* status = panel.findChild<QLabel*>(QStringLiteral("searchStatus"));
    REQUIRE((onlyMatches && edit && status));
    panel.setSearchPattern(QStringLiteral("\"v\":1[0-9]\\}"));
    onlyMatches->setChecked(true);
    REQUIRE(test::waitUntil([&] { return !panel.search()->isRunning(); }, 3s));
    CHECK(panel.proxy()->rowCount() == 10);
    // The same log set again (back from a replay to the session it showed) is no new log.
    panel.setEventLog(&log);
    CHECK(edit->text() == QStringLiteral("\"v\":1[0-9]\\}"));

    EventLog next;
    SessionScript { next }.item(1, R"({"v":12})");
    panel.setEventLog(&next);
    CHECK(edit->text().isEmpty());
    CHECK(panel.search()->pattern().isEmpty());
    CHECK_FALSE(panel.search()->isActive());
    CHECK(status->text().isEmpty());
    REQUIRE(test::waitUntil([&] { return panel.proxy()->rowCount() == int(next.size()); }, 2s)); // nothing filtered
    // Typed but not yet applied (the debounce pending): cleared too.
    edit->setText(QStringLiteral("v"));
    panel.setEventLog(&log);
    CHECK(edit->text().isEmpty());
    QTest::qWait(400);
    CHECK(panel.search()->pattern().isEmpty());
}

TEST_CASE("timeline panel: in a narrow pane the Summary column keeps room, the others give way, and come back")
{
    ShownTimeline shown;
    auto& [settings, log, script, panel] = shown;
    panel.setEventLog(&log);
    QHeaderView* header = panel.view()->horizontalHeader();
    const int charWidth = panel.fontMetrics().horizontalAdvance(QLatin1Char('0'));
    QList<int> wide;
    for (int column = 0; column < TimelineModel::SummaryColumn; ++column)
        wide.append(header->sectionSize(column));
    // The timeline's share of a 1024 px window.
    panel.resize(600, 400);
    QTest::qWait(50);
    const int viewport = panel.view()->viewport()->width();
    const int summaryLeft = header->sectionViewportPosition(TimelineModel::SummaryColumn);
    INFO("summary at " << summaryLeft << " of " << viewport);
    CHECK(summaryLeft + charWidth * 24 <= viewport);
    CHECK(header->sectionSize(TimelineModel::TimeColumn) == wide[TimelineModel::TimeColumn]); // times stay whole
    // Wide again: the widths they had.
    panel.resize(1400, 400);
    QTest::qWait(50);
    for (int column = 0; column < TimelineModel::SummaryColumn; ++column)
        CHECK(header->sectionSize(column) == wide[column]);
}

namespace {
// Columns A..E of 100 px wanted (minimum 60) but C, whose minimum is its width, and the hide order
// E, D, B, A; Summary keeps 100. What fit() makes of `available`, as "A:60 B:60 C:100 -D -E":
// a hidden column with a minus, and a star when it is hidden for room.
QString printFit(const TimelineColumnFit& fit, int available)
{
    const TimelineColumnFit::Result result = fit.fit(available);
    QStringList columns;
    for (int i = 0; i < result.widths.size(); ++i) {
        const QString name(QLatin1Char(char('A' + i)));
        columns.append(result.hidden[i] ? QStringLiteral("-") + name + (result.hiddenForRoom[i] ? QStringLiteral("*") : QString())
                                        : QStringLiteral("%1:%2").arg(name).arg(result.widths[i]));
    }
    return columns.join(QLatin1Char(' '));
}

TimelineColumnFit fiveColumns()
{
    TimelineColumnFit fit;
    fit.columns = { { 100, 60 }, { 100, 60 }, { 100, 100 }, { 100, 60 }, { 100, 60 } };
    fit.hideOrder = { 4, 3, 1, 0 };
    fit.summaryMinimum = 100;
    return fit;
}
}

TEST_CASE("timeline column fit: columns give way down to their minimums, then hide in order, and come back")
{
    TimelineColumnFit fit = fiveColumns();
    CHECK(printFit(fit, 2000) == QStringLiteral("A:100 B:100 C:100 D:100 E:100"));
    CHECK(printFit(fit, 600) == QStringLiteral("A:100 B:100 C:100 D:100 E:100"));
    // 40 px short: each column with slack gives 10 (C has none), and no pixel is lost.
    CHECK(printFit(fit, 560) == QStringLiteral("A:90 B:90 C:100 D:90 E:90"));
    CHECK(printFit(fit, 440) == QStringLiteral("A:60 B:60 C:100 D:60 E:60"));
    // Not even the minimums: E hides first, the others get their room back from it.
    CHECK(printFit(fit, 439) == QStringLiteral("A:80 B:80 C:100 D:79 -E*"));
    CHECK(printFit(fit, 380) == QStringLiteral("A:60 B:60 C:100 D:60 -E*"));
    CHECK(printFit(fit, 379) == QStringLiteral("A:90 B:89 C:100 -D* -E*"));
    CHECK(printFit(fit, 319) == QStringLiteral("A:100 -B* C:100 -D* -E*"));
    CHECK(printFit(fit, 259) == QStringLiteral("-A* -B* C:100 -D* -E*"));
    // Nothing more may hide: the rest at their minimums, Summary gets what is left.
    CHECK(printFit(fit, 100) == QStringLiteral("-A* -B* C:100 -D* -E*"));
    // Wide again: everything back at its width (fit() keeps no state).
    CHECK(printFit(fit, 600) == QStringLiteral("A:100 B:100 C:100 D:100 E:100"));
    // A wanted width below the minimum (an old saved layout) counts as the minimum.
    fit.columns[0].wanted = 10;
    CHECK(printFit(fit, 2000).startsWith(QStringLiteral("A:60 ")));
}

TEST_CASE("timeline column fit: a column the user showed or hid stays so, the others hide in its place")
{
    TimelineColumnFit fit = fiveColumns();
    fit.columns[4].choice = TimelineColumnFit::Choice::Shown; // E, first to hide, shown by choice
    fit.columns[1].choice = TimelineColumnFit::Choice::Hidden; // B hidden by choice, even when wide
    CHECK(printFit(fit, 2000) == QStringLiteral("A:100 -B C:100 D:100 E:100"));
    // With B gone by choice, the minimums fit down to 380; below, D hides (E is shown by choice).
    CHECK(printFit(fit, 380) == QStringLiteral("A:60 -B C:100 D:60 E:60"));
    CHECK(printFit(fit, 379) == QStringLiteral("A:90 -B C:100 -D* E:89"));
    // Then A; E never hides for room: at last the view is too narrow and Summary gets less.
    CHECK(printFit(fit, 200) == QStringLiteral("-A* -B C:100 -D* E:60"));
}

TEST_CASE("timeline panel: columns keep readable minimums, and in a narrow pane Size, Method, Id, Gap, Dir hide in that order, and come back")
{
    ShownTimeline shown;
    auto& [settings, log, script, panel] = shown;
    QAbstractItemModelTester tester(panel.proxy(), QAbstractItemModelTester::FailureReportingMode::Fatal);
    panel.setEventLog(&log);
    QHeaderView* header = panel.view()->horizontalHeader();
    const QFontMetrics metrics = panel.view()->fontMetrics();
    // Each minimum holds the column's usual text whole.
    CHECK(panel.minimumColumnWidth(TimelineModel::TimeColumn) >= metrics.horizontalAdvance(QStringLiteral("00:00:00.000")));
    CHECK(panel.minimumColumnWidth(TimelineModel::GapColumn) > metrics.horizontalAdvance(QStringLiteral("+50 ms")));
    CHECK(panel.minimumColumnWidth(TimelineModel::DirectionColumn) > metrics.horizontalAdvance(QStringLiteral("• local")));
    CHECK(panel.minimumColumnWidth(TimelineModel::KindColumn) > metrics.horizontalAdvance(QStringLiteral("stream-item")));
    CHECK(panel.minimumColumnWidth(TimelineModel::IdColumn) > metrics.horizontalAdvance(QStringLiteral("id 1 · seq 27")));
    CHECK(panel.minimumColumnWidth(TimelineModel::SizeColumn) > metrics.horizontalAdvance(QStringLiteral("186 B")));
    QList<int> wide;
    for (int column = 0; column < TimelineModel::SummaryColumn; ++column)
        wide.append(header->sectionSize(column));

    // Narrower and narrower (the table alone: the filter bar stops the pane at about 600 px): no
    // column below its minimum, and they hide one at a time, in order.
    QStringList hiddenInOrder;
    for (int width = 1200; width >= 250; width -= 10) {
        panel.view()->setFixedWidth(width);
        QCoreApplication::processEvents();
        INFO("table " << width << " px: " << test::shownColumns(*header).join(QStringLiteral(", ")).toStdString());
        for (int column = 0; column < TimelineModel::SummaryColumn; ++column) {
            if (header->isSectionHidden(column)) {
                CHECK(panel.isColumnHiddenForRoom(column));
                const QString title = panel.model()->headerData(column, Qt::Horizontal).toString();
                if (!hiddenInOrder.contains(title))
                    hiddenInOrder.append(title);
            } else {
                CHECK(header->sectionSize(column) >= panel.minimumColumnWidth(column));
            }
        }
        // Summary keeps its ~24 characters while anything can still give way.
        if (!header->isSectionHidden(TimelineModel::DirectionColumn))
            CHECK(header->sectionViewportPosition(TimelineModel::SummaryColumn) + metrics.horizontalAdvance(QLatin1Char('0')) * 24
                <= panel.view()->viewport()->width());
    }
    CHECK(hiddenInOrder == QStringList { QStringLiteral("Size"), QStringLiteral("Method / channel"), QStringLiteral("Id / seq"), QStringLiteral("Gap"), QStringLiteral("Dir") });
    CHECK(test::shownColumns(*header) == QStringList { QStringLiteral("Time"), QStringLiteral("Kind"), QStringLiteral("Summary") });

    // Room again: every column back, at the width it had.
    panel.view()->setFixedWidth(1400);
    QCoreApplication::processEvents();
    CHECK(test::shownColumns(*header).size() == TimelineModel::ColumnCount);
    for (int column = 0; column < TimelineModel::SummaryColumn; ++column) {
        CHECK_FALSE(panel.isColumnHiddenForRoom(column));
        CHECK(header->sectionSize(column) == wide[column]);
    }
    // A column dragged narrower than its minimum stops there.
    header->resizeSection(TimelineModel::KindColumn, 5);
    CHECK(header->sectionSize(TimelineModel::KindColumn) == panel.minimumColumnWidth(TimelineModel::KindColumn));
}

TEST_CASE("timeline panel: the header's menu shows and hides columns, and the user's choice wins over the automatic hiding and is remembered")
{
    ShownTimeline shown;
    auto& [settings, log, script, panel] = shown;
    QAbstractItemModelTester tester(panel.proxy(), QAbstractItemModelTester::FailureReportingMode::Fatal);
    panel.setEventLog(&log);
    QHeaderView* header = panel.view()->horizontalHeader();
    const auto action = [&panel](int column) {
        auto* found = panel.columnsMenu()->findChild<QAction*>(QStringLiteral("showColumn_%1").arg(column));
        REQUIRE(found);
        return found;
    };

    // A right-click on the header opens the menu, every column but Summary ticked.
    REQUIRE(test::rightClickMenu(header->viewport(), QPoint(header->sectionViewportPosition(TimelineModel::KindColumn) + 5, 5)));
    REQUIRE(test::waitUntil([&] { return panel.columnsMenu()->isVisible(); }, 2s));
    for (int column = 0; column < TimelineModel::SummaryColumn; ++column)
        CHECK(action(column)->isChecked());
    CHECK(action(TimelineModel::IdColumn)->text() == QStringLiteral("Id / seq"));
    // Unticking Gap hides it, wide as the pane is.
    action(TimelineModel::GapColumn)->trigger();
    panel.columnsMenu()->hide();
    CHECK(header->isSectionHidden(TimelineModel::GapColumn));
    CHECK_FALSE(panel.isColumnHiddenForRoom(TimelineModel::GapColumn));
    CHECK(panel.columnChoice(TimelineModel::GapColumn) == TimelineColumnFit::Choice::Hidden);

    // Narrow: Size and Method hide for room, and the menu says why they are not ticked.
    panel.view()->setFixedWidth(560);
    QCoreApplication::processEvents();
    REQUIRE(header->isSectionHidden(TimelineModel::SizeColumn));
    REQUIRE(panel.isColumnHiddenForRoom(TimelineModel::SizeColumn));
    Q_EMIT panel.columnsMenu()->aboutToShow();
    CHECK(action(TimelineModel::SizeColumn)->text() == QStringLiteral("Size (hidden: no room)"));
    CHECK_FALSE(action(TimelineModel::SizeColumn)->isChecked());
    // Ticked, Size shows anyway: another column hides in its place, never Size.
    const QStringList before = test::shownColumns(*header);
    action(TimelineModel::SizeColumn)->trigger();
    CHECK_FALSE(header->isSectionHidden(TimelineModel::SizeColumn));
    CHECK(header->sectionSize(TimelineModel::SizeColumn) >= panel.minimumColumnWidth(TimelineModel::SizeColumn));
    CHECK(test::shownColumns(*header).size() <= before.size() + 1);
    for (int width = 560; width >= 250; width -= 20) {
        panel.view()->setFixedWidth(width);
        QCoreApplication::processEvents();
        CHECK_FALSE(header->isSectionHidden(TimelineModel::SizeColumn));
        CHECK(header->isSectionHidden(TimelineModel::GapColumn));
    }

    // Remembered with the other UI state: a new panel (a new window) has the same choices.
    panel.saveState();
    {
        TimelinePanel next;
        next.resize(1400, 400);
        next.show();
        REQUIRE(QTest::qWaitForWindowExposed(&next));
        next.restoreState();
        QCoreApplication::processEvents();
        QHeaderView* nextHeader = next.view()->horizontalHeader();
        CHECK(next.columnChoice(TimelineModel::GapColumn) == TimelineColumnFit::Choice::Hidden);
        CHECK(next.columnChoice(TimelineModel::SizeColumn) == TimelineColumnFit::Choice::Shown);
        CHECK(next.columnChoice(TimelineModel::MethodColumn) == TimelineColumnFit::Choice::Auto);
        CHECK(nextHeader->isSectionHidden(TimelineModel::GapColumn));
        // Hidden for room when saved is not a choice: wide, they all show.
        for (const int column : { int(TimelineModel::MethodColumn), int(TimelineModel::IdColumn), int(TimelineModel::DirectionColumn) })
            CHECK_FALSE(nextHeader->isSectionHidden(column));
    }

    // "Reset columns to automatic" forgets the choices.
    panel.view()->setFixedWidth(1400);
    QCoreApplication::processEvents();
    Q_EMIT panel.columnsMenu()->aboutToShow();
    auto* automatic = panel.columnsMenu()->findChild<QAction*>(QStringLiteral("automaticColumns"));
    REQUIRE(automatic);
    CHECK(automatic->isEnabled());
    automatic->trigger();
    CHECK(panel.columnChoice(TimelineModel::GapColumn) == TimelineColumnFit::Choice::Auto);
    CHECK(test::shownColumns(*header).size() == TimelineModel::ColumnCount);
}

TEST_CASE("timeline panel: clicking a row that a replay then seeks to keeps that row, where it was")
{
    ShownTimeline shown;
    auto& [settings, log, script, panel] = shown;
    panel.setEventLog(&log);
    REQUIRE(panel.selectEvent(150));
    QTest::qWait(50);
    // What the main window does in replay: the click seeks, and the seek selects its event again.
    QObject::connect(&panel, &TimelinePanel::currentEventChanged, &panel, [&panel](qint64 index) { panel.selectEvent(index); });
    QScrollBar* scroll = panel.view()->verticalScrollBar();
    const int scrolled = scroll->value();
    const QModelIndex top = panel.view()->indexAt(QPoint(5, 5));
    REQUIRE(top.isValid());
    const QModelIndex target = top.siblingAtRow(top.row() + 1);
    const QRect rect = panel.view()->visualRect(target);
    QTest::mouseClick(panel.view()->viewport(), Qt::LeftButton, {}, rect.center());
    QTest::qWait(20);
    CHECK(panel.view()->currentIndex().row() == target.row());
    CHECK(scroll->value() == scrolled); // not centred under the pointer
    CHECK(panel.view()->selectionModel()->selectedRows().size() == 1);
    CHECK(panel.view()->selectionModel()->isRowSelected(target.row(), {}));
}

TEST_CASE("timeline panel: clicking an older row while following stops following, so the row stays in view")
{
    ShownTimeline shown;
    auto& [settings, log, script, panel] = shown;
    panel.setEventLog(&log);
    REQUIRE(test::waitUntil([&] { return panel.view()->verticalScrollBar()->value() == panel.view()->verticalScrollBar()->maximum(); }, 2s));
    REQUIRE(panel.isFollowing());
    // A row in the middle of the view, fully shown (a row cut at the edge would scroll into view
    // when it becomes current, and that scroll alone stops following).
    const QModelIndex middle = panel.view()->indexAt(QPoint(5, panel.view()->viewport()->height() / 2));
    REQUIRE(middle.isValid());
    REQUIRE(panel.view()->viewport()->rect().contains(panel.view()->visualRect(middle)));
    QTest::mouseClick(panel.view()->viewport(), Qt::LeftButton, {}, panel.view()->visualRect(middle).center());
    CHECK_FALSE(panel.isFollowing());
    const qint64 clicked = panel.currentEvent();
    for (int i = 0; i < 50; ++i)
        script.item(1, "{\"v\":" + QByteArray::number(1000 + i) + "}");
    QTest::qWait(200);
    CHECK(panel.currentEvent() == clicked);
    CHECK(panel.view()->visualRect(panel.view()->currentIndex()).intersects(panel.view()->viewport()->rect()));
}

TEST_CASE("incidents model: sorts by the numbers its cells show, under the model tester")
{
    EventLog log;
    IncidentsModel model;
    QAbstractItemModelTester tester(&model, QAbstractItemModelTester::FailureReportingMode::Fatal);
    model.setEventLog(&log);
    const auto incident = [&](int number, double detectedMs, double convergedMs) {
        SessionEvent event;
        event.kind = EventKind::Incident;
        event.direction = Direction::Local;
        event.monotonicNs = number * 1'000'000;
        log.append(event, QJsonDocument(QJsonObject { { QStringLiteral("incident"), number }, { QStringLiteral("verdict"), QStringLiteral("converged") },
                                            { QStringLiteral("verified"), true },
                                            { QStringLiteral("detection"), QJsonObject { { QStringLiteral("afterMs"), detectedMs } } },
                                            { QStringLiteral("timeToConvergeMs"), convergedMs } })
                              .toJson(QJsonDocument::Compact));
    };
    incident(1, 100, 1500);
    incident(2, 12, 90);
    incident(3, 9, 700);
    log.flushNotifications();
    REQUIRE(test::waitUntil([&] { return model.rowCount() == 3; }, 2s));
    QSortFilterProxyModel sorted;
    sorted.setSourceModel(&model);
    sorted.setSortRole(IncidentsModel::SortRole);
    sorted.sort(IncidentsModel::DetectedColumn);
    CHECK(sorted.index(0, IncidentsModel::DetectedColumn).data().toString() == QStringLiteral("9 ms"));
    CHECK(sorted.index(1, IncidentsModel::DetectedColumn).data().toString() == QStringLiteral("12 ms"));
    CHECK(sorted.index(2, IncidentsModel::DetectedColumn).data().toString() == QStringLiteral("100 ms"));
    sorted.sort(IncidentsModel::ConvergedColumn, Qt::DescendingOrder);
    CHECK(sorted.index(0, IncidentsModel::NumberColumn).data().toString() == QStringLiteral("#1"));
    // Every cell's tooltip has the timings, which a narrow pane may not show.
    const QString tip = sorted.index(0, IncidentsModel::VerdictColumn).data(Qt::ToolTipRole).toString();
    CHECK(tip.contains(QStringLiteral("detected after 100 ms")));
    CHECK(tip.contains(QStringLiteral("converged after 1500 ms")));
}
