#include <catch2/catch.hpp>

#include "core/session/eventlog.h"
#include "tests/support/testutils.h"
#include "ui/connectionbar.h"
#include "ui/emptystatepanel.h"
#include "ui/framedetailpanel.h"
#include "ui/livecontroller.h"
#include "ui/mainwindow.h"
#include "core/capture/replaysession.h"
#include "ui/messagecomposer.h"
#include "ui/models/incidentsmodel.h"
#include "ui/replaybar.h"
#include "ui/models/timelinefilterproxy.h"
#include "ui/models/timelinemodel.h"
#include "ui/timelinepanel.h"

#include <QAbstractItemModelTester>
#include <QDir>
#include <QFileInfo>
#include <QPlainTextEdit>
#include <QSettings>
#include <QTableView>
#include <QTest>

using namespace deltascope;
using namespace deltascope::ui;
using namespace std::chrono_literals;

namespace {
QString screenshotPath(const QString& name)
{
    const QString folder = QStringLiteral(DELTASCOPE_BINARY_DIR "/screenshots"); // the build folder
    QDir().mkpath(folder);
    return folder + QLatin1Char('/') + name;
}
}

TEST_CASE("live window: the embedded demo streams, the user filters, sends, drops the socket and sees the resync")
{
    QSettings().clear();
    MainWindow window;
    window.resize(1400, 900);
    window.show();
    REQUIRE(QTest::qWaitForWindowExposed(&window));
    REQUIRE(window.startDemo(QStringLiteral("chat")));
    LiveSession* session = window.live()->session();
    REQUIRE(session);
    // Every model stays consistent while deltas stream in, through a drop and a resync.
    QAbstractItemModelTester modelTester(window.timeline()->model(), QAbstractItemModelTester::FailureReportingMode::Fatal);
    QAbstractItemModelTester proxyTester(window.timeline()->proxy(), QAbstractItemModelTester::FailureReportingMode::Fatal);

    REQUIRE(test::waitUntil([&] { return session->state() == ConnectionState::Streaming && session->folder().epochHasData(); }, 5s));
    CHECK(window.connectionBar()->stateText() == QStringLiteral("streaming"));
    CHECK(window.connectionBar()->url().startsWith(QStringLiteral("ws://127.0.0.1:")));
    REQUIRE(test::waitUntil([&] { return window.timelinePanel()->isShowingContent() && window.timeline()->proxy()->rowCount() > 2; }, 3s));
    REQUIRE(test::waitUntil([&] { return !window.documentView()->toPlainText().isEmpty(); }, 3s));
    CHECK(window.treePanel()->isShowingContent());

    // Send a chat line from the composer: the request, its ack and the stream item carrying it.
    window.composer()->setChannel(QStringLiteral("say"));
    window.composer()->setMessage(QStringLiteral(R"({"what":"hello from the test"})"));
    REQUIRE(test::waitUntil([&] { return window.composer()->messageError().isEmpty() && window.composer()->send(); }, 2s));
    REQUIRE(test::waitUntil([&] { return window.documentView()->toPlainText().contains(QStringLiteral("hello from the test")); }, 5s));

    // Filter the timeline to what the client sent: the send is there, nothing inbound is.
    TimelineFilterProxy* proxy = window.timeline()->proxy();
    proxy->setDirectionEnabled(Direction::Inbound, false);
    proxy->setDirectionEnabled(Direction::Local, false);
    QStringList methods;
    for (int row = 0; row < proxy->rowCount(); ++row) {
        CHECK(proxy->index(row, 0).data(TimelineModel::DirectionRole).toInt() == int(Direction::Outbound));
        methods.append(proxy->index(row, TimelineModel::MethodColumn).data().toString());
    }
    CHECK(methods.contains(QStringLiteral("say")));
    CHECK(methods.contains(QStringLiteral("connection/create")));
    // Select the send: its ack is marked, and the detail pane shows the frame.
    const int sendRow = int(methods.indexOf(QStringLiteral("say")));
    window.timeline()->view()->setCurrentIndex(proxy->index(sendRow, 0));
    const qint64 sendIndex = window.timeline()->currentEvent();
    CHECK(window.frameDetail()->frameText().contains(QStringLiteral("hello from the test")));
    REQUIRE(test::waitUntil([&] { return session->log().at(sendIndex).linkedIndex >= 0; }, 3s));
    proxy->setDirectionEnabled(Direction::Inbound, true);
    proxy->setDirectionEnabled(Direction::Local, true);
    REQUIRE(window.timeline()->jumpToLinked());
    CHECK(session->log().at(window.timeline()->currentEvent()).kind == EventKind::Response);
    CHECK(window.saveScreenshot(screenshotPath(QStringLiteral("live-demo.png"))).isEmpty());

    // Drop the socket (Ctrl+D): a fault row, a reconnect, a new epoch with its own snapshot.
    window.timeline()->setFollowing(true);
    QTest::keyClick(&window, Qt::Key_D, Qt::ControlModifier);
    REQUIRE_FALSE(session->log().indexesOfKind(EventKind::FaultInjected).empty());
    REQUIRE(test::waitUntil([&] { return session->epoch() >= 2 && session->state() == ConnectionState::Streaming && session->folder().epochHasData(); }, 10s));
    CHECK_FALSE(session->log().indexesOfKind(EventKind::ReconnectPlanned).empty());
    CHECK(window.errorText().isEmpty());
    window.timeline()->selectEvent(session->log().indexesOfKind(EventKind::FaultInjected).front());
    CHECK(window.frameDetail()->headerText().contains(QStringLiteral("fault")));
    CHECK(window.saveScreenshot(screenshotPath(QStringLiteral("after-drop.png"))).isEmpty());

    // The incident closes with a verdict checked against a fresh snapshot; selecting it moves the
    // timeline there and shows the analysis.
    QAbstractItemModel* incidents = window.incidentsView()->model();
    QAbstractItemModelTester incidentsTester(incidents, QAbstractItemModelTester::FailureReportingMode::Fatal);
    REQUIRE(test::waitUntil([&] { return incidents->rowCount() >= 1; }, 15s));
    CHECK(window.incidentsPanel()->isShowingContent());
    const QString verdict = incidents->index(0, IncidentsModel::VerdictColumn).data(IncidentsModel::VerdictRole).toString();
    CHECK((verdict == QStringLiteral("converged") || verdict == QStringLiteral("converged-stale")));
    window.incidentsView()->setCurrentIndex(incidents->index(0, 0));
    CHECK(session->log().at(window.timeline()->currentEvent()).kind == EventKind::Incident);
    CHECK(window.frameDetail()->frameText().contains(QStringLiteral("\"verdict\"")));
    CHECK(window.saveScreenshot(screenshotPath(QStringLiteral("incident-selected.png"))).isEmpty());

    // Disconnect: the button turns back into Connect; the log stays for reading.
    const QString recording = window.recordingPath();
    CHECK_FALSE(recording.isEmpty());
    const qint64 liveEvents = session->log().size();
    window.disconnectSession();
    REQUIRE(test::waitUntil([&] { return !window.connectionBar()->isSessionActive(); }, 3s));
    CHECK(window.timeline()->proxy()->rowCount() > 0);

    // Open the session's own recording and scrub it: the scrubber, timeline, detail and document follow.
    REQUIRE(window.openCapture(recording, true));
    ReplaySession* replay = window.replay();
    REQUIRE(replay);
    CHECK(window.replayBar()->isVisible());
    CHECK_FALSE(window.connectionBar()->isVisible());
    CHECK(replay->eventCount() >= liveEvents - 5);
    CHECK(window.recentCaptures().value(0) == QFileInfo(recording).absoluteFilePath());
    const qint64 fault = replay->log().indexesOfKind(EventKind::FaultInjected).front();
    window.replayBar()->slider()->setValue(int(fault));
    CHECK(replay->position() == fault);
    CHECK(window.timeline()->currentEvent() == fault);
    CHECK(window.frameDetail()->headerText().contains(QStringLiteral("fault")));
    REQUIRE(replay->stepDeltaBack());
    CHECK(replay->log().at(replay->position()).kind == EventKind::StreamItem);
    REQUIRE(test::waitUntil([&] { return window.documentView()->toPlainText().contains(QStringLiteral("hello from the test")); }, 3s));
    CHECK(window.saveScreenshot(screenshotPath(QStringLiteral("replay.png"))).isEmpty());
    window.leaveReplay();
    CHECK(window.connectionBar()->isVisible());
    CHECK_FALSE(window.replay());

    CHECK_FALSE(window.openCapture(QStringLiteral("/nonexistent/capture.ndjson"), true));
    CHECK(window.errorText().contains(QStringLiteral("no such file")));
}

TEST_CASE("live window: bad input is reported in the window with what to try")
{
    MainWindow window;
    window.connectionBar()->setUrl(QStringLiteral("http://example.invalid/"));
    window.connectionBar()->setSpace(QStringLiteral("chat"));
    window.connectionBar()->setKey(QStringLiteral("demo"));
    CHECK_FALSE(window.connectFromBar());
    CHECK(window.errorText().contains(QStringLiteral("not a WebSocket URL")));
    CHECK(window.errorText().contains(QStringLiteral("ws://")));
    CHECK_FALSE(window.injectDrop());
    CHECK(window.errorText().contains(QStringLiteral("no live connection")));
    window.connectionBar()->setUrl(QStringLiteral("ws://127.0.0.1:9/~s"));
    window.connectionBar()->setViewerState(QStringLiteral("{\"page\":"));
    CHECK_FALSE(window.connectFromBar());
    CHECK(window.errorText().contains(QStringLiteral("not JSON")));

    MessageComposer composer;
    composer.setChannel(QStringLiteral("bad channel"));
    composer.setMessage(QStringLiteral("{}"));
    CHECK(composer.messageError().contains(QStringLiteral("identifier")));
    composer.setChannel(QStringLiteral("say"));
    composer.setMessage(QStringLiteral("42"));
    CHECK_FALSE(composer.messageError().isEmpty()); // a bare number is no message
    composer.setMessage(QStringLiteral("[1,2]"));
    CHECK(composer.messageError().isEmpty());
    CHECK_FALSE(composer.send()); // not connected
}
