#include <catch2/catch.hpp>

#include "core/session/eventlog.h"
#include "tests/core/capture/capturetestutils.h"
#include "tests/support/testutils.h"
#include "ui/chartspanel.h"
#include "ui/connectionbar.h"
#include "ui/documenttreepanel.h"
#include "ui/faultspanel.h"
#include "ui/exportdialog.h"
#include "core/faults/faultproxy.h"
#include "core/server/bigdocument.h"
#include "core/server/referenceserver.h"
#include "ui/models/documenttreemodel.h"
#include "ui/emptystatepanel.h"
#include "ui/framedetailpanel.h"
#include "ui/livecontroller.h"
#include "ui/mainwindow.h"
#include "ui/replaybar.h"
#include "core/capture/capturereader.h"
#include "core/capture/capturewriter.h"
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
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QClipboard>
#include <QGuiApplication>
#include <QLabel>
#include <QLineEdit>
#include <QListWidget>
#include <QComboBox>
#include <QPushButton>
#include <QTreeView>
#include <QTreeWidget>
#include <QSettings>
#include <QSignalSpy>
#include <QTableView>
#include <QTcpServer>
#include <QRegularExpression>
#include <QTest>
#include <QWheelEvent>
#include <QFile>
#include <QLocale>
#include <QAction>
#include <QTemporaryDir>
#include <QTemporaryFile>
#include <QThread>

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

// Shows the window at a usual size and connects it to a demo document of the embedded server.
LiveSession* showWithDemo(MainWindow& window, const QString& space, const MainWindow::DemoDocument& document = {})
{
    window.resize(1400, 900);
    window.show();
    REQUIRE(QTest::qWaitForWindowExposed(&window));
    REQUIRE(window.startDemo(space, document));
    LiveSession* session = window.live()->session();
    REQUIRE(session);
    return session;
}

// Shows the window connected through the fault proxy to the embedded ticker document `key`
// ("rate-N": N deltas/s), once it streams.
LiveSession* streamTickerThroughProxy(MainWindow& window, const QString& key)
{
    showWithDemo(window, QStringLiteral("ticker"));
    window.connectionBar()->setKey(key);
    REQUIRE(window.connectFromBar());
    LiveSession* session = window.live()->session();
    REQUIRE(session);
    REQUIRE(window.live()->faultProxy());
    REQUIRE(test::waitUntil([&] { return session->state() == ConnectionState::Streaming && session->folder().epochHasData(); }, 5s));
    // The recording's first event names the document's server, and the proxy only as the way there.
    CHECK(QString::fromUtf8(session->log().payload(0))
              .contains(QStringLiteral("opening %1 through the fault proxy at %2")
                            .arg(window.connectionBar()->url(), window.live()->faultProxy()->clientUrl().toString())));
    return session;
}
}

TEST_CASE("live window: the embedded demo streams, the user filters, sends, drops the socket and sees the resync")
{
    QSettings().clear();
    MainWindow window;
    LiveSession* session = showWithDemo(window, QStringLiteral("chat"));
    // Every model stays consistent while deltas stream in, through a drop and a resync.
    QAbstractItemModelTester modelTester(window.timeline()->model(), QAbstractItemModelTester::FailureReportingMode::Fatal);
    QAbstractItemModelTester proxyTester(window.timeline()->proxy(), QAbstractItemModelTester::FailureReportingMode::Fatal);
    DocumentTreePanel* tree = window.documentTree();
    QAbstractItemModelTester treeTester(tree->model(), QAbstractItemModelTester::FailureReportingMode::Fatal);
    const auto treeHas = [tree](const QString& text) { return tree->setSearchText(text) > 0; };

    REQUIRE(test::waitUntil([&] { return session->state() == ConnectionState::Streaming && session->folder().epochHasData(); }, 5s));
    CHECK(window.connectionBar()->stateText() == QStringLiteral("streaming"));
    CHECK(window.connectionBar()->url().startsWith(QStringLiteral("ws://127.0.0.1:")));
    REQUIRE(test::waitUntil([&] { return window.timelinePanel()->isShowingContent() && window.timeline()->proxy()->rowCount() > 2; }, 3s));
    REQUIRE(test::waitUntil([&] { return tree->model()->rowCount() > 0; }, 3s));
    CHECK(window.treePanel()->isShowingContent());

    // Send a chat line from the composer: the request, its ack and the stream item carrying it.
    window.composer()->setChannel(QStringLiteral("say"));
    window.composer()->setMessage(QStringLiteral(R"({"what":"hello from the test"})"));
    REQUIRE(test::waitUntil([&] { return window.composer()->messageError().isEmpty() && window.composer()->send(); }, 2s));
    REQUIRE(test::waitUntil([&] { return treeHas(QStringLiteral("hello from the test")); }, 5s));

    // Search the tree: the line is found, selected, its path and value copy, and its provenance
    // lists the stream item that created it; activating that row selects it in the timeline.
    REQUIRE(tree->findNext());
    const QString linePath = tree->currentPath();
    CHECK(linePath.startsWith(QStringLiteral("lines/")));
    CHECK(linePath.endsWith(QStringLiteral("/what")));
    CHECK(tree->copyValue() == QStringLiteral("hello from the test"));
    CHECK(QGuiApplication::clipboard()->text() == QStringLiteral("hello from the test"));
    CHECK(tree->copyPath() == QLatin1Char('/') + linePath);
    CHECK(tree->copySubtree() == QStringLiteral("\"hello from the test\""));
    REQUIRE(tree->provenanceView()->topLevelItemCount() >= 1);
    QTreeWidgetItem* created = tree->provenanceView()->topLevelItem(tree->provenanceView()->topLevelItemCount() - 1);
    CHECK(created->text(2).contains(QStringLiteral("stream-item")));
    const qint64 createdBy = created->data(0, Qt::UserRole).toLongLong();
    Q_EMIT tree->provenanceView()->itemActivated(created, 0);
    CHECK(window.timeline()->currentEvent() == createdBy);
    CHECK(session->log().at(createdBy).kind == EventKind::StreamItem);
    // Filter to matches: only the line and the nodes above it remain.
    tree->setFilterToMatches(true);
    QAbstractItemModel* filtered = tree->view()->model();
    CHECK(filtered != tree->model());
    CHECK(filtered->rowCount() == 1);
    CHECK(tree->currentPath() == linePath);
    tree->setFilterToMatches(false);
    CHECK(tree->view()->model() == tree->model());
    tree->setSearchText(QString());

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
    // In the log at once, or right after the frames the socket had read before it.
    REQUIRE(test::waitUntil([&] { return !session->log().indexesOfKind(EventKind::FaultInjected).empty(); }, 2s));
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
    // Until its verdict, the incident is a row "in progress".
    REQUIRE(test::waitUntil([&] {
        return incidents->rowCount() >= 1
            && incidents->index(0, IncidentsModel::VerdictColumn).data(IncidentsModel::VerdictRole).toString() != QStringLiteral("in-progress");
    }, 15s));
    CHECK(window.incidentsPanel()->isShowingContent());
    const QString verdict = incidents->index(0, IncidentsModel::VerdictColumn).data(IncidentsModel::VerdictRole).toString();
    CHECK((verdict == QStringLiteral("converged") || verdict == QStringLiteral("converged-stale")));
    window.incidentsView()->setCurrentIndex(incidents->index(0, 0));
    CHECK(session->log().at(window.timeline()->currentEvent()).kind == EventKind::Incident);
    CHECK(window.frameDetail()->frameText().contains(QStringLiteral("\"verdict\"")));
    // The analysis reads as sentences: verdict, fault, detection, reconnect, snapshot.
    const QString analysis = window.frameDetail()->analysisText();
    CHECK(analysis.contains(QStringLiteral("Verdict: converged")));
    CHECK(analysis.contains(QStringLiteral("Fault drop")));
    CHECK(analysis.contains(QStringLiteral("Socket reconnect attempt 1")));
    CHECK(analysis.contains(QStringLiteral("New snapshot after")));
    CHECK(window.saveScreenshot(screenshotPath(QStringLiteral("incident-selected.png"))).isEmpty());

    // Disconnect: the button turns back into Connect; the log stays for reading.
    const QString recording = window.recordingPath();
    CHECK_FALSE(recording.isEmpty());
    const qint64 liveEvents = session->log().size();
    window.disconnectSession();
    REQUIRE(test::waitUntil([&] { return !window.connectionBar()->isSessionActive(); }, 3s));
    CHECK(window.timeline()->proxy()->rowCount() > 0);
    // The ended session's rate is 0, not its last second's (the ticker streams 20 deltas/s).
    REQUIRE(test::waitUntil([&] { return window.findChild<QLabel*>(QStringLiteral("statusRate"))->text() == QStringLiteral("0 deltas/s"); }, 2s));

    // Open the session's own recording and scrub it: the scrubber, timeline, detail and document follow.
    REQUIRE(window.openCapture(recording, true));
    ReplaySession* replay = window.replay();
    REQUIRE(replay);
    CHECK(window.replayBar()->isVisible());
    CHECK_FALSE(window.connectionBar()->isVisible());
    CHECK(replay->eventCount() >= liveEvents - 5);
    CHECK(window.recentCaptures().value(0) == QFileInfo(recording).absoluteFilePath());
    // The replay's document-size chart comes from the checkpoint fold, not from a live folder.
    const auto* charts = window.findChild<ChartsPanel*>();
    REQUIRE(charts);
    CHECK(test::waitUntil([&] { return !charts->data().nodes().isEmpty(); }, 10s));
    const qint64 fault = replay->log().indexesOfKind(EventKind::FaultInjected).front();
    // The jump may wait for the background fold (a deferred seek): the bar says so meanwhile.
    window.replayBar()->slider()->setValue(int(fault));
    if (replay->pendingSeek() == fault)
        CHECK(window.findChild<QLabel*>(QStringLiteral("replayPosition"))->text().contains(QStringLiteral("folding")));
    REQUIRE(test::waitUntil([&] { return replay->position() == fault; }, 10s));
    CHECK(window.findChild<QLabel*>(QStringLiteral("replayPosition"))->text().startsWith(QStringLiteral("event #%1 of").arg(fault)));
    CHECK(window.timeline()->currentEvent() == fault);
    CHECK(window.frameDetail()->headerText().contains(QStringLiteral("fault")));
    REQUIRE(replay->stepDeltaBack());
    CHECK(replay->log().at(replay->position()).kind == EventKind::StreamItem);
    REQUIRE(test::waitUntil([&] { return treeHas(QStringLiteral("hello from the test")); }, 3s));
    CHECK(window.saveScreenshot(screenshotPath(QStringLiteral("replay.png"))).isEmpty());

    // Export from the window: the preview says what will be redacted, and the written bytes hold
    // neither the listed path's value nor the identity.
    {
        ExportDialog dialog(replay->capture(), replay->position(), &window);
        dialog.setFormat(ExportDialog::Format::Markdown);
        dialog.setRedaction(false, {});
        dialog.refreshPreview();
        CHECK(dialog.summaryText().contains(QStringLiteral("OFF")));
        dialog.setFormat(ExportDialog::Format::Har);
        dialog.refreshPreview();
        CHECK(dialog.previewText().contains(QStringLiteral("hello from the test")));
        dialog.setRedaction(true, { QStringLiteral("lines/*/what"), QStringLiteral("message/what") });
        const QStringList redacted = dialog.refreshPreview();
        CHECK_FALSE(redacted.isEmpty());
        CHECK(redacted.join(QLatin1Char(' ')).contains(QStringLiteral("lines/*/what")));
        CHECK(dialog.summaryText().contains(QStringLiteral("Will be redacted")));
        CHECK_FALSE(dialog.previewText().contains(QStringLiteral("hello from the test")));
        const QString exported = QDir::temp().filePath(QStringLiteral("deltascope-tst-export.har"));
        CHECK(dialog.writtenSummary().isEmpty());
        REQUIRE(dialog.exportTo(exported).isEmpty());
        QFile file(exported);
        REQUIRE(file.open(QIODevice::ReadOnly));
        const QByteArray bytes = file.readAll();
        // What the status bar then says: the only sign, once the dialog closes, that it was written.
        CHECK(dialog.writtenSummary()
            == QStringLiteral("Exported a HAR, %1 bytes, to %2").arg(QLocale().toString(bytes.size()), QFileInfo(exported).absoluteFilePath()));
        CHECK(bytes.contains("[redacted]"));
        CHECK_FALSE(bytes.contains("hello from the test"));
        CHECK_FALSE(bytes.contains("anonymous:deltascope"));
        file.remove();
        CHECK_FALSE(dialog.exportTo(QStringLiteral("/nonexistent-dir/x.har")).isEmpty());
    }
    window.leaveReplay();
    CHECK(window.connectionBar()->isVisible());
    CHECK_FALSE(window.replay());

    CHECK_FALSE(window.openCapture(QStringLiteral("/nonexistent/capture.ndjson"), true));
    CHECK(window.errorText().contains(QStringLiteral("no such file")));
    QTemporaryDir folder;
    CHECK_FALSE(window.openCapture(folder.path(), true));
    CHECK(window.errorText().contains(QStringLiteral("it is a folder, not a capture file")));
}

TEST_CASE("live window: a demo document opens with the key, identity and viewer state asked for")
{
    QSettings().clear();
    MainWindow window;
    // What `deltascope --space game --key table9 --identity anonymous:bob --viewer-state ...` asks for.
    LiveSession* session = showWithDemo(window, QStringLiteral("game"),
        MainWindow::DemoDocument { QStringLiteral("table9"), QStringLiteral("anonymous:bob"), QStringLiteral("{\"seat\":2}") });
    CHECK(window.connectionBar()->space() == QStringLiteral("game"));
    CHECK(window.connectionBar()->key() == QStringLiteral("table9"));
    CHECK(window.connectionBar()->identity() == QStringLiteral("anonymous:bob"));
    CHECK(window.connectionBar()->viewerState() == QStringLiteral("{\"seat\":2}"));
    REQUIRE(test::waitUntil([&] { return session->state() == ConnectionState::Streaming && session->folder().epochHasData(); }, 5s));
    // The game document, not the default ticker.
    CHECK(session->folder().epochTree().find(u"players") != kNoNode);
    CHECK(session->folder().epochTree().find(u"symbols") == kNoNode);
    window.disconnectSession();

    // The Demo menu opens with the defaults, keeping the viewer state the bar holds.
    REQUIRE(window.startDemo(QStringLiteral("ticker")));
    CHECK(window.connectionBar()->key() == QStringLiteral("demo"));
    CHECK(window.connectionBar()->identity() == QStringLiteral("anonymous:deltascope"));
    CHECK(window.connectionBar()->viewerState() == QStringLiteral("{\"seat\":2}"));
    window.disconnectSession();
    // The embedded server's port changes each run: its documents are not kept in Recent.
    for (const QString& entry : window.connectionBar()->recentConnections())
        CHECK_FALSE(entry.startsWith(window.live()->demoUrl()));
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
    // The Connect button says it the same way, and remembers nothing that did not connect.
    window.showError(QStringLiteral("an older message"), QString());
    const QStringList recentBefore = window.connectionBar()->recentConnections();
    window.connectionBar()->findChild<QPushButton*>(QStringLiteral("connectButton"))->click();
    CHECK(window.errorText().contains(QStringLiteral("not JSON")));
    CHECK(window.connectionBar()->recentConnections() == recentBefore);

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

TEST_CASE("composer: a send's result stays until the message changes or the next send, and takes no room from the fields")
{
    MessageComposer composer;
    composer.resize(1100, 40);
    composer.show();
    REQUIRE(QTest::qWaitForWindowExposed(&composer));
    composer.setChannel(QStringLiteral("say"));
    composer.setMessage(QStringLiteral(R"({"what":"hi"})"));
    auto* message = composer.findChild<QLineEdit*>(QStringLiteral("composerMessage"));
    REQUIRE(message);
    const QRect fieldBefore = message->geometry();
    const QString failure = QStringLiteral("failed with 160268 no channel handler (connection/send, request 2)");
    composer.showOutcome(failure, true);
    QTest::qWait(20); // the layout settles
    CHECK(message->geometry() == fieldBefore); // the label's room was there before its text
    // The window's status tick tells the composer the session is ready, every 250 ms.
    for (int tick = 0; tick < 3; ++tick)
        composer.setSessionReady(tick > 0);
    CHECK(composer.statusText() == failure);
    composer.setMessage(QStringLiteral(R"({"what":"edited"})"));
    CHECK(composer.statusText().isEmpty());
    composer.showOutcome(QStringLiteral("sent: seq 7 (request 3)"), false);
    composer.setSessionReady(true);
    CHECK(composer.statusText() == QStringLiteral("sent: seq 7 (request 3)"));
    QSignalSpy sent(&composer, &MessageComposer::sendRequested);
    REQUIRE(composer.send());
    CHECK(sent.size() == 1);
    CHECK_FALSE(composer.statusText().startsWith(QStringLiteral("sent: seq 7"))); // that one answered the last send
    composer.showOutcome(QStringLiteral("sent: seq 8 (request 4)"), false);
    composer.clearOutcome(); // a new session
    CHECK(composer.statusText().isEmpty());
}

TEST_CASE("live window: the faults panel injects one-click faults through the proxy and runs a ready plan")
{
    QSettings().clear();
    MainWindow window;
    window.resize(1400, 900);
    window.show();
    REQUIRE(QTest::qWaitForWindowExposed(&window));
    FaultsPanel* faults = window.faults();
    CHECK_FALSE(faults->button(QStringLiteral("drop"))->isEnabled()); // nothing to break yet
    CHECK(faults->availability()->text().contains(QStringLiteral("Connect first")));
    REQUIRE(window.startDemo(QStringLiteral("ticker")));
    LiveSession* session = window.live()->session();
    REQUIRE(session);
    REQUIRE(window.live()->faultProxy()); // ws:// demo sessions go through the proxy
    REQUIRE(test::waitUntil([&] { return session->state() == ConnectionState::Streaming && session->folder().epochHasData(); }, 5s));
    REQUIRE(test::waitUntil([&] { return faults->button(QStringLiteral("drop"))->isEnabled(); }, 2s));
    const QString firstVersion = session->helloVersion();

    // One click: a delta is swallowed; the fault is an event, flagged as silently corrupting.
    QTest::mouseClick(faults->button(QStringLiteral("silent-delta-drop")), Qt::LeftButton);
    REQUIRE(test::waitUntil([&] { return !session->log().indexesOfKind(EventKind::FaultInjected).empty(); }, 5s));
    const qint64 dropped = session->log().indexesOfKind(EventKind::FaultInjected).front();
    CHECK((session->log().at(dropped).flags & FlagCorrupting));
    CHECK(session->log().payload(dropped).contains("drop-message"));
    REQUIRE(faults->log()->count() >= 1);
    CHECK(faults->log()->item(faults->log()->count() - 1)->text().contains(QStringLiteral("drop-message")));

    // A wheel turned over the plan list while the pane scrolls picks no other plan.
    {
        const int before = faults->planChoice()->currentIndex();
        faults->planChoice()->clearFocus();
        QWheelEvent wheel(QPointF(5, 5), faults->planChoice()->mapToGlobal(QPointF(5, 5)), QPoint(), QPoint(0, -120), Qt::NoButton, Qt::NoModifier,
            Qt::NoScrollPhase, false);
        QApplication::sendEvent(faults->planChoice(), &wheel);
        CHECK(faults->planChoice()->currentIndex() == before);
    }
    // A ready plan from the panel: the 20th delta after it starts resets the socket at both ends.
    const int burst = faults->planChoice()->findData(QStringLiteral("drop-during-burst"));
    REQUIRE(burst >= 0);
    faults->planChoice()->setCurrentIndex(burst);
    REQUIRE(faults->runSelectedPlan());
    REQUIRE(test::waitUntil([&] { return session->epoch() >= 2 && session->state() == ConnectionState::Streaming; }, 15s));
    bool sawDrop = false;
    for (qint64 index : session->log().indexesOfKind(EventKind::FaultInjected))
        sawDrop = sawDrop || session->log().payload(index).contains("\"fault\":\"drop\"");
    CHECK(sawDrop);
    QAbstractItemModel* incidents = window.incidentsView()->model();
    REQUIRE(test::waitUntil([&] { return incidents->rowCount() >= 1; }, 20s));

    // Version mismatch: the reconnect is greeted by "another build".
    QTest::mouseClick(faults->button(QStringLiteral("version-mismatch")), Qt::LeftButton);
    REQUIRE(test::waitUntil([&] { return session->epoch() >= 3 && session->state() == ConnectionState::Streaming; }, 15s));
    CHECK(session->helloVersion() != firstVersion);
    REQUIRE(test::waitUntil([&] { return window.findChild<QLabel*>(QStringLiteral("statusVersion"))->text().contains(QStringLiteral("version changed")); }, 3s));
    CHECK(window.saveScreenshot(screenshotPath(QStringLiteral("faults.png"))).isEmpty());
    window.disconnectSession();
    REQUIRE(test::waitUntil([&] { return !faults->button(QStringLiteral("drop"))->isEnabled(); }, 3s));
}

TEST_CASE("live window: the fault actions are offered only while the connection is open, and say why otherwise")
{
    QSettings().clear();
    MainWindow window;
    FaultsPanel* faults = window.faults();
    auto* dropAction = window.findChild<QAction*>(QStringLiteral("dropAction"));
    auto* stallAction = window.findChild<QAction*>(QStringLiteral("stallAction"));
    REQUIRE((dropAction && stallAction));
    QPushButton* drop = faults->button(QStringLiteral("drop"));
    QPushButton* redeploy = faults->button(QStringLiteral("redeploy"));
    QPushButton* clear = faults->button(QStringLiteral("clear"));
    QPushButton* runPlan = faults->findChild<QPushButton*>(QStringLiteral("runPlan"));
    REQUIRE(runPlan);
    // Offered: every fault, in the panel and the Session menu, with its own tip. Not offered:
    // greyed out, and the tip says why.
    const auto offered = [&] {
        return drop->isEnabled() && redeploy->isEnabled() && runPlan->isEnabled() && dropAction->isEnabled() && stallAction->isEnabled();
    };
    const auto greyedOut = [&](const QString& why) {
        INFO("greyed out because: " << why.toStdString());
        CHECK_FALSE(drop->isEnabled());
        CHECK_FALSE(redeploy->isEnabled());
        CHECK_FALSE(runPlan->isEnabled());
        CHECK_FALSE(dropAction->isEnabled());
        CHECK_FALSE(stallAction->isEnabled());
        CHECK(drop->toolTip().startsWith(why));
        CHECK(drop->toolTip().endsWith(QStringLiteral("\nReset the connection at both ends (Ctrl+D)"))); // and what it does
        CHECK(runPlan->toolTip().startsWith(why));
        CHECK(dropAction->toolTip().startsWith(why));
        CHECK(stallAction->statusTip().startsWith(why));
    };

    // No connection yet.
    greyedOut(QStringLiteral("Connect first: faults act on a live connection"));
    CHECK_FALSE(clear->isEnabled());

    // Every state the connection goes through, with what was offered right after the window heard of it.
    struct Seen {
        ConnectionState state;
        bool offered;
        bool clearOffered;
        QString tip;
    };
    QList<Seen> seen;
    QObject::connect(window.live(), &LiveController::stateChanged, &window,
        [&](ConnectionState state) { seen.append({ state, offered(), clear->isEnabled(), dropAction->toolTip() }); });
    LiveSession* session = showWithDemo(window, QStringLiteral("ticker"));
    REQUIRE(window.live()->faultProxy());
    REQUIRE(test::waitUntil([&] { return session->state() == ConnectionState::Streaming; }, 5s));
    CHECK(offered());
    CHECK(clear->isEnabled());
    CHECK(drop->toolTip() == QStringLiteral("Reset the connection at both ends (Ctrl+D)"));
    CHECK(dropAction->toolTip().startsWith(QStringLiteral("Reset the connection, as a network failure does")));

    // A redeploy: the socket closes and the server refuses connections for 1.5 s. While the client
    // reconnects nothing is offered but Clear all faults; back streaming, everything is.
    QTest::mouseClick(redeploy, Qt::LeftButton);
    REQUIRE(test::waitUntil([&] { return session->epoch() >= 2 && session->state() == ConnectionState::Streaming; }, 15s));
    CHECK(offered());
    window.disconnectSession();
    greyedOut(QStringLiteral("Connect first: faults act on a live connection"));
    CHECK_FALSE(clear->isEnabled());

    bool sawReconnecting = false;
    bool sawConnecting = false;
    bool streamed = false; // the first connect's states come before the session is the window's
    for (const Seen& at : std::as_const(seen)) {
        INFO(connectionStateName(at.state).toStdString() << ": " << at.tip.toStdString());
        const bool open = at.state == ConnectionState::Streaming || at.state == ConnectionState::Stalled;
        CHECK(at.offered == open);
        if (at.state == ConnectionState::Reconnecting) {
            sawReconnecting = true;
            CHECK(at.tip.startsWith(QStringLiteral("Reconnecting: faults act on a live connection")));
            CHECK(at.clearOffered); // a fault that keeps the client reconnecting can still be cleared
        }
        streamed = streamed || at.state == ConnectionState::Streaming;
        if (at.state == ConnectionState::Connecting && streamed) {
            sawConnecting = true;
            CHECK(at.tip.startsWith(QStringLiteral("Connecting: faults act on a live connection")));
        }
    }
    CHECK(sawReconnecting);
    CHECK(sawConnecting);
}

TEST_CASE("live window: the fault proxy runs beside the window: a busy window holds up neither its frames nor the record of a fault")
{
    QSettings().clear();
    MainWindow window;
    LiveSession* session = streamTickerThroughProxy(window, QStringLiteral("rate-400"));
    const auto proxyStats = [&] {
        faults::FaultProxy::Stats stats;
        window.live()->onNetworkThread([&] { stats = window.live()->faultProxy()->stats(); });
        return stats;
    };

    // The window's thread is busy (no event loop turn): the proxy keeps forwarding meanwhile. On
    // the window's thread it would forward nothing until the window got back to its event loop.
    const quint64 before = proxyStats().framesToClient;
    QThread::msleep(300);
    const quint64 after = proxyStats().framesToClient;
    CHECK(after > before + 20); // 400 deltas/s for 0.3 s

    // A plan resets the socket on the network thread while the window is busy. When the window
    // gets back, the fault is in the log before anything the client saw of it.
    const std::size_t stateChangesBefore = session->log().indexesOfKind(EventKind::StateChanged).size();
    REQUIRE(window.live()->runPlan(QStringLiteral("drop-during-burst"), nullptr));
    for (int wait = 0; wait < 200 && proxyStats().faults == 0; ++wait)
        QThread::msleep(10);
    REQUIRE(proxyStats().faults >= 1);
    QThread::msleep(50); // the reset reaches the client's socket
    // The drain the report posted is dropped, as an event loop that handles socket events before
    // posted ones would leave it waiting: the session's transport must drain the reports itself.
    QCoreApplication::removePostedEvents(window.live(), QEvent::MetaCall);
    REQUIRE(test::waitUntil([&] { return session->log().indexesOfKind(EventKind::StateChanged).size() > stateChangesBefore; }, 5s));
    REQUIRE_FALSE(session->log().indexesOfKind(EventKind::FaultInjected).empty());
    const qint64 fault = session->log().indexesOfKind(EventKind::FaultInjected).front();
    const qint64 firstReaction = session->log().indexesOfKind(EventKind::StateChanged)[stateChangesBefore];
    INFO(session->log().payload(firstReaction).toStdString());
    CHECK(fault < firstReaction);
    CHECK(session->log().payload(fault).contains("\"fault\":\"drop\""));
    REQUIRE(test::waitUntil([&] { return session->epoch() >= 2 && session->state() == ConnectionState::Streaming; }, 15s));
    window.disconnectSession();
}

TEST_CASE("live window: a fault applied while received frames wait is logged after them and one applied while none wait at once")
{
    QSettings().clear();
    MainWindow window;
    LiveSession* session = streamTickerThroughProxy(window, QStringLiteral("rate-400"));
    const EventLog& log = session->log();
    Transport& transport = session->transport();
    const QJsonObject latency { { QStringLiteral("ms"), 1 } };

    // Nothing waits: the fault is in the log when applyFault() returns, or (when the socket read a
    // frame meanwhile) right after that frame.
    const std::size_t faultsBefore = log.indexesOfKind(EventKind::FaultInjected).size();
    REQUIRE(test::waitUntil([&] { return transport.pendingInbound() == 0; }, 2s));
    REQUIRE(window.live()->applyFault(QStringLiteral("latency"), latency, nullptr));
    REQUIRE(test::waitUntil([&] { return log.indexesOfKind(EventKind::FaultInjected).size() == faultsBefore + 1; }, 2s));

    // A slow fold (longer than the transport's slice) makes what arrives meanwhile wait; the fault
    // is applied while frames wait. They arrived before it, so they are logged before it, as are
    // frames read before it whose batch was still on its way to the window's thread.
    struct {
        bool applied = false;
        int slowFolds = 0;
        qsizetype waiting = 0;
        qint64 lastLogged = -1;
        qint64 applyingNs = -1;
        qint64 appliedNs = -1;
    } at;
    const QMetaObject::Connection probe = QObject::connect(&transport, &Transport::textReceived, [&] {
        if (at.applied || at.slowFolds >= 50)
            return;
        if (transport.pendingInbound() == 0) {
            ++at.slowFolds;
            QThread::msleep(25);
            return;
        }
        at.waiting = transport.pendingInbound();
        at.lastLogged = log.size() - 1; // this frame
        at.applyingNs = session->clock().nowNs();
        at.applied = window.live()->applyFault(QStringLiteral("latency"), latency, nullptr);
        at.appliedNs = session->clock().nowNs();
        QThread::msleep(200); // the fault is recorded after the frames that wait, 200 ms on at least
    });
    REQUIRE(test::waitUntil([&] { return at.applied; }, 10s));
    QObject::disconnect(probe);
    REQUIRE(
        test::waitUntil([&] { return log.indexesOfKind(EventKind::FaultInjected).size() == faultsBefore + 2; }, 5s));
    const qint64 fault = log.indexesOfKind(EventKind::FaultInjected).back();
    qsizetype framesBefore = 0;
    for (qint64 index = at.lastLogged + 1; index < fault; ++index)
        framesBefore += log.at(index).direction == Direction::Inbound ? 1 : 0;
    INFO("frames waiting when the fault was applied: " << at.waiting << ", logged between it and the frame then handed on: " << framesBefore);
    CHECK(framesBefore >= at.waiting);
    // Timed when the proxy made it, not when it was recorded; though never before the event logged
    // before it (a pong the window sent when it got to a ping that waited is timed then).
    CHECK(log.at(fault).monotonicNs >= at.applyingNs);
    CHECK(log.at(fault).monotonicNs <= std::max(at.appliedNs, log.at(fault - 1).monotonicNs));
    for (qint64 index = 1; index < log.size(); ++index)
        REQUIRE(log.at(index - 1).monotonicNs <= log.at(index).monotonicNs);
    // Every frame logged after the fault was read after it: timed later, not held at its time. (A
    // reply the window sent late, a pong, holds the frames after it at its own time.)
    qint64 latestReply = -1;
    for (qint64 index = 0; index < log.size(); ++index) {
        const SessionEvent& event = log.at(index);
        if (index > fault && event.direction == Direction::Inbound && event.monotonicNs != latestReply) {
            INFO("event " << index);
            REQUIRE(event.monotonicNs > log.at(fault).monotonicNs);
        }
        if (index != fault && event.direction != Direction::Inbound)
            latestReply = std::max(latestReply, event.monotonicNs);
    }
    window.disconnectSession();
}

TEST_CASE("live window: a plan's faults end with it, when stopped or when its duration is over")
{
    QSettings().clear();
    MainWindow window;
    LiveSession* session = showWithDemo(window, QStringLiteral("ticker"));
    REQUIRE(test::waitUntil([&] { return session->state() == ConnectionState::Streaming; }, 5s));
    FaultsPanel* faults = window.faults();
    REQUIRE(test::waitUntil([&] { return window.live()->faultsUnavailableReason().isEmpty(); }, 2s));
    const auto clears = [&] {
        int count = 0;
        for (qint64 index : session->log().indexesOfKind(EventKind::FaultInjected))
            count += session->log().payload(index).contains("\"fault\":\"clear\"") ? 1 : 0;
        return count;
    };
    const auto lastLogLine = [&] { return faults->log()->item(faults->log()->count() - 1)->text(); };
    // Any line: under load the proxy's answer to an earlier step may land after the one looked for.
    const auto logHas = [&](const QString& text) {
        for (int row = 0; row < faults->log()->count(); ++row) {
            if (faults->log()->item(row)->text().contains(text))
                return true;
        }
        return false;
    };

    // Stopped by the user: what it set (latency "throughout") is cleared with it.
    REQUIRE(window.live()->runPlan(QStringLiteral("flapping-network"), nullptr));
    CHECK(window.live()->isPlanRunning());
    window.live()->stopPlan();
    CHECK_FALSE(window.live()->isPlanRunning());
    REQUIRE(test::waitUntil([&] { return clears() == 1; }, 5s));
    CHECK(logHas(QStringLiteral("plan flapping-network stopped; all faults cleared")));

    // A plan with a duration runs that long, its steps done or not, then ends the same way.
    QTemporaryDir dir;
    const QString planPath = dir.filePath(QStringLiteral("slow.json"));
    REQUIRE(test::writeFile(planPath, R"({"name":"slow-link","durationMs":600,"steps":[{"at":{"afterMs":0},"fault":"latency","params":{"ms":20}}]})"));
    REQUIRE(window.live()->runPlan(planPath, nullptr));
    REQUIRE(test::waitUntil([&] { return lastLogLine().contains(QStringLiteral("every step is applied")); }, 5s));
    CHECK(window.live()->isPlanRunning()); // its latency lasts the plan's 0.6 s
    REQUIRE(test::waitUntil([&] { return !window.live()->isPlanRunning(); }, 5s));
    REQUIRE(test::waitUntil([&] { return clears() == 2; }, 5s));
    CHECK(logHas(QStringLiteral("plan slow-link over")));
    CHECK(logHas(QStringLiteral("; all faults cleared")));
    CHECK_FALSE(lastLogLine().isEmpty());

    // A plan whose steps never got to act says so when it ends: it tested nothing.
    const QString idlePath = dir.filePath(QStringLiteral("idle.json"));
    REQUIRE(test::writeFile(idlePath,
        R"({"name":"never","durationMs":600,"steps":[{"label":"far frame","at":{"frame":100000,"kind":"delta"},"fault":"drop","params":{"mode":"rst"}},)"
        R"({"label":"far delta","at":{"afterMs":0},"fault":"drop-message","params":{"kind":"delta","nth":100000}}]})"));
    REQUIRE(window.live()->runPlan(idlePath, nullptr));
    REQUIRE(test::waitUntil([&] { return !window.live()->isPlanRunning(); }, 5s));
    REQUIRE(test::waitUntil([&] { return logHas(QStringLiteral("drop-message")) && logHas(QStringLiteral("was not applied: its frame never came")); }, 5s));
    CHECK(logHas(QStringLiteral("plan step 1 (far frame): its trigger never came: frame 100000 of kind delta")));
    // The session's log (and so its capture) says it too.
    const auto noted = [&](const char* text) {
        for (qint64 index : session->log().indexesOfKind(EventKind::Note)) {
            if (session->log().payload(index).contains(text))
                return true;
        }
        return false;
    };
    CHECK(noted("plan step 1 (far frame): its trigger never came"));
    CHECK(noted("was not applied: its frame never came"));

    // Set by hand and still waiting when the user disconnects: said then too.
    QString error;
    REQUIRE(window.live()->applyFault(QStringLiteral("duplicate-message"), QJsonObject { { QStringLiteral("kind"), QStringLiteral("delta") },
                                                                        { QStringLiteral("nth"), 100000 } },
        &error));
    window.disconnectSession();
    REQUIRE(test::waitUntil([&] { return logHas(QStringLiteral("duplicate-message")) && logHas(QStringLiteral("before the proxy stopped")); }, 5s));
}

TEST_CASE("live window: what a replaced proxy or plan still had queued does not speak for the current one")
{
    QSettings().clear();
    QTemporaryDir folder;
    REQUIRE(folder.isValid());
    QTcpServer probe;
    REQUIRE(probe.listen(QHostAddress::LocalHost, 0));
    const quint16 deadPort = probe.serverPort();
    probe.close();

    // A session to a server that is down, replaced before its proxy's "cannot be reached" arrives.
    MainWindow window;
    window.resize(1400, 900);
    window.show();
    REQUIRE(QTest::qWaitForWindowExposed(&window));
    window.connectionBar()->setUrl(QStringLiteral("ws://127.0.0.1:%1/~s").arg(deadPort));
    window.connectionBar()->setIdentity(QStringLiteral("anonymous:stale"));
    window.connectionBar()->setSpace(QStringLiteral("chat"));
    window.connectionBar()->setKey(QStringLiteral("demo"));
    REQUIRE(window.connectFromBar());
    window.live()->onNetworkThread([] { QThread::msleep(300); }); // its connects fail meanwhile
    REQUIRE(window.startDemo(QStringLiteral("chat")));
    LiveSession* session = window.live()->session();
    REQUIRE(test::waitUntil([&] { return session->state() == ConnectionState::Streaming && session->folder().epochHasData(); }, 5s));
    QTest::qWait(200);
    CHECK_FALSE(window.errorText().contains(QStringLiteral("cannot be reached")));
    for (qint64 note : session->log().indexesOfKind(EventKind::Note))
        CHECK_FALSE(session->log().payload(note).contains("did not take connection"));

    // A plan that finishes at once, replaced in the same turn by one that waits: the second stays
    // running, and nothing of the first is said after it started.
    const auto writePlan = [&](const QString& name, int afterMs) {
        const QString path = folder.filePath(name + QStringLiteral(".json"));
        QFile file(path);
        REQUIRE(file.open(QIODevice::WriteOnly));
        file.write(QStringLiteral(R"({"name":"%1","steps":[{"at":{"afterMs":%2},"fault":"latency","params":{"ms":1}}]})")
                       .arg(name)
                       .arg(afterMs)
                       .toUtf8());
        return path;
    };
    const QString first = writePlan(QStringLiteral("first"), 0);
    const QString second = writePlan(QStringLiteral("second"), 60000);
    QStringList said;
    QObject::connect(window.live(), &LiveController::faultLogged, [&](const QString& line) { said << line; });
    REQUIRE(window.live()->runPlan(first, nullptr));
    REQUIRE(window.live()->runPlan(second, nullptr));
    QTest::qWait(300);
    INFO(said.join(QLatin1Char('\n')).toStdString());
    CHECK(window.live()->isPlanRunning());
    const qsizetype secondStarted
        = std::find_if(said.begin(), said.end(), [](const QString& line) { return line.startsWith(QStringLiteral("plan second started")); }) - said.begin();
    REQUIRE(secondStarted < said.size());
    for (qsizetype i = secondStarted + 1; i < said.size(); ++i)
        CHECK_FALSE(said.at(i).contains(QStringLiteral("plan step")));
    CHECK_FALSE(said.join(QLatin1Char('\n')).contains(QStringLiteral("first: every step is applied")));
    window.disconnectSession();
}

TEST_CASE("live window: the tree model stays exact under the big demo's inserts, removals and moves, through a resync")
{
    QSettings().clear();
    MainWindow window;
    window.resize(1200, 800);
    window.show();
    REQUIRE(QTest::qWaitForWindowExposed(&window));
    DocumentTreePanel* tree = window.documentTree();
    QAbstractItemModelTester treeTester(tree->model(), QAbstractItemModelTester::FailureReportingMode::Fatal);
    REQUIRE(window.startDemo(QStringLiteral("big")));
    LiveSession* session = window.live()->session();
    REQUIRE(session);
    // The server lives on the controller's network thread: the test drives it there.
    server::BigDocument* big = nullptr;
    window.live()->onNetworkThread([&] {
        big = qobject_cast<server::BigDocument*>(window.live()->demoServer()->documentFor(QStringLiteral("big"), QStringLiteral("demo")));
        // One bot transaction at a time: the tester walks all 200,000 rows on every signal (about
        // 0.1 s each here), so free-running bots would outpace the window and starve its pings.
        if (big)
            big->setBotsPaused(true);
    });
    REQUIRE(big);
    REQUIRE(test::waitUntil([&] { return session->folder().epochHasData(); }, 10s));

    // Count the structural changes the model replays: the bots insert, remove and move elements.
    int inserted = 0, removed = 0, moved = 0;
    QObject::connect(tree->model(), &QAbstractItemModel::rowsInserted, [&] { ++inserted; });
    QObject::connect(tree->model(), &QAbstractItemModel::rowsRemoved, [&] { ++removed; });
    QObject::connect(tree->model(), &QAbstractItemModel::rowsMoved, [&] { ++moved; });
    for (int step = 0; step < 40 && !(inserted > 0 && removed > 0 && moved > 0); ++step) {
        qint64 seq = 0;
        window.live()->onNetworkThread([&] {
            big->step();
            seq = big->seq();
        });
        REQUIRE(test::waitUntil([&] { return session->folder().lastSeq() >= seq; }, 20s));
    }
    // No reconnect of its own: a fold that blocks the thread is not a server that stopped pinging.
    QStringList stateChanges;
    for (qint64 index : session->log().indexesOfKind(EventKind::StateChanged))
        stateChanges << QString::fromUtf8(session->log().payload(index));
    INFO(stateChanges.join(QLatin1Char('\n')).toStdString());
    CHECK(session->epoch() == 1);
    REQUIRE(inserted > 0);
    REQUIRE(removed > 0);
    REQUIRE(moved > 0);
    const auto modelMatchesTree = [&] {
        const DocumentTree& shown = *tree->shownTree();
        const NodeId items = shown.find(QStringLiteral("items"));
        const QModelIndex list = tree->model()->indexOfNode(items);
        if (!list.isValid() || tree->model()->rowCount(list) != shown.childCount(items))
            return false;
        // Spot-check rows against the tree's order: same element ids in the same places.
        for (int row = 0; row < shown.childCount(items); row += 997)
            if (tree->model()->index(row, 0, list).data().toString() != shown.key(shown.child(items, row)))
                return false;
        return true;
    };
    CHECK(modelMatchesTree());

    // A resync: the model resets once for the new epoch and is exact again after its snapshot.
    REQUIRE(window.injectDrop());
    REQUIRE(test::waitUntil([&] { return session->epoch() >= 2 && session->folder().epochHasData(); }, 15s));
    CHECK(modelMatchesTree());
    window.disconnectSession();
}

TEST_CASE("live window: disconnecting right after a drop closes its incident into the recording")
{
    QSettings().clear();
    MainWindow window;
    LiveSession* session = showWithDemo(window, QStringLiteral("chat"));
    REQUIRE(test::waitUntil([&] { return session->state() == ConnectionState::Streaming && session->folder().epochHasData(); }, 5s));
    const QString recording = window.recordingPath();
    REQUIRE_FALSE(recording.isEmpty());

    // The user breaks the connection and leaves before the client has reconnected: no event loop
    // turn in between, so nothing can resync first.
    REQUIRE(window.injectDrop());
    window.disconnectSession();
    CHECK(window.incidentsView()->model()->rowCount() == 1);
    QTest::qWait(400); // the panes catch up with the log's last batch
    CHECK(window.incidentsView()->model()->rowCount() == 1);
    CHECK(window.saveScreenshot(screenshotPath(QStringLiteral("drop-then-disconnect.png"))).isEmpty());

    QString error;
    std::unique_ptr<Capture> capture = CaptureReader::open(recording, {}, &error);
    INFO(error.toStdString());
    REQUIRE(capture);
    CHECK(capture->closedCleanly);
    const std::vector<qint64>& incidents = capture->log->indexesOfKind(EventKind::Incident);
    REQUIRE(incidents.size() == 1);
    const QJsonObject report = QJsonDocument::fromJson(capture->log->payload(incidents.front())).object();
    INFO(QJsonDocument(report).toJson().toStdString());
    CHECK(report.value(QStringLiteral("verified")).toBool(true) == false);
    CHECK(report.value(QStringLiteral("verdict")).toString() == QStringLiteral("diverged"));
    const QString notes = QString::fromUtf8(QJsonDocument(report.value(QStringLiteral("notes")).toArray()).toJson());
    CHECK(notes.contains(QStringLiteral("the session ended before the incident was checked against the truth")));
    CHECK(notes.contains(QStringLiteral("had not recovered")));
}

TEST_CASE("live window: Disconnect takes away the banner that said the client keeps retrying")
{
    QSettings().clear();
    QTcpServer probe;
    REQUIRE(probe.listen(QHostAddress::LocalHost, 0));
    const quint16 port = probe.serverPort();
    probe.close();

    MainWindow window;
    window.connectionBar()->setUrl(QStringLiteral("ws://127.0.0.1:%1/~s").arg(port));
    window.connectionBar()->setSpace(QStringLiteral("chat"));
    window.connectionBar()->setKey(QStringLiteral("demo"));
    REQUIRE(window.connectFromBar());
    REQUIRE(test::waitUntil([&] { return window.errorText().contains(QStringLiteral("keeps retrying")); }, 5s));
    window.disconnectSession();
    CHECK(window.live()->session()->state() == ConnectionState::Closed);
    QTest::qWait(300); // nothing queued before the Disconnect brings it back
    CHECK(window.errorText().isEmpty());
    // An error of another kind is not the retries': it stays.
    window.showError(QStringLiteral("Recording stopped: disk full"), QString());
    window.disconnectSession();
    CHECK(window.errorText().contains(QStringLiteral("disk full")));
}

TEST_CASE("live window: a server that is down is named as such behind the fault proxy, and the notice goes when it is back")
{
    QSettings().clear();
    QTcpServer probe;
    REQUIRE(probe.listen(QHostAddress::LocalHost, 0));
    const quint16 port = probe.serverPort();
    probe.close();

    MainWindow window;
    window.connectionBar()->setUrl(QStringLiteral("ws://127.0.0.1:%1/~s").arg(port));
    window.connectionBar()->setIdentity(QStringLiteral("anonymous:down"));
    window.connectionBar()->setSpace(QStringLiteral("chat"));
    window.connectionBar()->setKey(QStringLiteral("demo"));
    REQUIRE(window.connectFromBar());
    LiveSession* session = window.live()->session();
    REQUIRE(session);
    REQUIRE(window.live()->faultProxy()); // routed through the proxy, as by default
    // The client sees only its own connection to the proxy reset; the window says what happened.
    REQUIRE(test::waitUntil([&] { return window.errorText().contains(QStringLiteral("cannot be reached")); }, 5s));
    CHECK(window.errorText().contains(QStringLiteral("127.0.0.1:%1").arg(port)));
    CHECK(window.errorText().contains(QStringLiteral("refused"), Qt::CaseInsensitive));
    const std::vector<qint64>& notes = session->log().indexesOfKind(EventKind::Note);
    REQUIRE_FALSE(notes.empty());
    CHECK(session->log().payload(notes.front()).contains("did not take connection"));
    // Not in Recent while it has never streamed: a URL that never worked is a dead entry.
    const QString url = QStringLiteral("ws://127.0.0.1:%1/~s").arg(port);
    const auto inRecent = [&] {
        const QStringList recent = window.connectionBar()->recentConnections();
        return std::any_of(recent.begin(), recent.end(), [&](const QString& entry) { return entry.startsWith(url); });
    };
    CHECK_FALSE(inRecent());

    // The server comes up on that port: the client gets in on a retry and the notice goes.
    server::ServerOptions options;
    options.port = port;
    server::ReferenceServer server(options);
    REQUIRE(server.listen() == port);
    REQUIRE(test::waitUntil([&] { return session->state() == ConnectionState::Streaming; }, 15s));
    REQUIRE(test::waitUntil([&] { return window.errorText().isEmpty(); }, 2s));
    CHECK(inRecent()); // it streams now
    const QString recording = window.recordingPath();
    window.disconnectSession();
    // Not even an incident still open when the session ends: the recording holds none.
    CHECK(window.incidentsView()->model()->rowCount() == 0);
    QString error;
    std::unique_ptr<Capture> capture = CaptureReader::open(recording, {}, &error);
    INFO(error.toStdString());
    REQUIRE(capture);
    CHECK(capture->log->indexesOfKind(EventKind::Incident).empty());
}

TEST_CASE("live window: a server that refuses the upgrade (a wrong path) is said in the banner once, not only in the timeline")
{
    QSettings().clear();
    server::ServerOptions options;
    server::ReferenceServer server(options);
    REQUIRE(server.listen() != 0);
    MainWindow window;
    window.connectionBar()->setUrl(QStringLiteral("ws://127.0.0.1:%1/wrongpath").arg(server.port()));
    window.connectionBar()->setIdentity(QStringLiteral("anonymous:lost"));
    window.connectionBar()->setSpace(QStringLiteral("chat"));
    window.connectionBar()->setKey(QStringLiteral("demo"));
    REQUIRE(window.connectFromBar());
    REQUIRE(test::waitUntil([&] { return window.errorText().contains(QStringLiteral("HTTP 404")); }, 5s));
    INFO(window.errorText().toStdString());
    CHECK(window.errorText().contains(QStringLiteral("Could not open the socket: the server answered the WebSocket upgrade with HTTP 404")));
    CHECK(window.errorText().contains(QStringLiteral("/~s")));
    CHECK_FALSE(window.errorText().contains(QStringLiteral("reopening in")));
    window.disconnectSession();
}

TEST_CASE("live window: an incident still open is a row in progress, replaced by its verdict when it closes")
{
    QSettings().clear();
    auto server = std::make_unique<server::ReferenceServer>(server::ServerOptions {});
    const quint16 port = server->listen();
    REQUIRE(port > 0);
    MainWindow window;
    QAbstractItemModelTester incidentsTester(window.incidentsView()->model(), QAbstractItemModelTester::FailureReportingMode::Fatal);
    window.connectionBar()->setUrl(QStringLiteral("ws://127.0.0.1:%1/~s").arg(port));
    window.connectionBar()->setIdentity(QStringLiteral("anonymous:open"));
    window.connectionBar()->setSpace(QStringLiteral("chat"));
    window.connectionBar()->setKey(QStringLiteral("demo"));
    window.show();
    REQUIRE(window.connectFromBar());
    LiveSession* session = window.live()->session();
    REQUIRE(session);
    REQUIRE(test::waitUntil([&] { return session->state() == ConnectionState::Streaming && session->folder().epochHasData(); }, 5s));
    QAbstractItemModel* incidents = window.incidentsView()->model();
    CHECK(incidents->rowCount() == 0);
    CHECK_FALSE(window.incidentsPanel()->isShowingContent());

    // The server goes away for good: the client keeps retrying and the incident cannot close.
    server.reset();
    REQUIRE(test::waitUntil([&] { return incidents->rowCount() == 1; }, 5s));
    CHECK(window.incidentsPanel()->isShowingContent());
    CHECK(incidents->index(0, IncidentsModel::NumberColumn).data().toString() == QStringLiteral("#1"));
    CHECK(incidents->index(0, IncidentsModel::VerdictColumn).data().toString() == QStringLiteral("in progress"));
    CHECK_FALSE(incidents->index(0, IncidentsModel::TriggerColumn).data().toString().isEmpty());
    window.incidentsView()->selectRow(0); // no report event yet: selecting it must not move the timeline
    CHECK(window.saveScreenshot(screenshotPath(QStringLiteral("incident-in-progress.png"))).isEmpty());

    // Ending the session closes the incident: its row now holds the verdict.
    window.disconnectSession();
    REQUIRE(test::waitUntil([&] {
        return incidents->rowCount() == 1 && incidents->index(0, IncidentsModel::VerdictColumn).data().toString() != QStringLiteral("in progress");
    }, 3s));
    const qint64 reportEvent = incidents->index(0, 0).data(IncidentsModel::EventIndexRole).toLongLong();
    CHECK(reportEvent >= 0);
    const QString refetched = incidents->index(0, IncidentsModel::RefetchColumn).data().toString();
    INFO(refetched.toStdString());
    CHECK(QRegularExpression(QStringLiteral("^(1 frame|([02-9]|\\d\\d+) frames), \\d+ B$")).match(refetched).hasMatch());
    // Clicking the incident again after looking elsewhere goes back to its report; a double-click
    // (activated) to where it started.
    REQUIRE(window.timeline()->selectEvent(0));
    const QRect row = window.incidentsView()->visualRect(incidents->index(0, 0));
    QTest::mouseClick(window.incidentsView()->viewport(), Qt::LeftButton, {}, row.center());
    CHECK(window.timeline()->currentEvent() == reportEvent);
    const qint64 opened = incidents->index(0, 0).data(IncidentsModel::ReportRole).toJsonObject().value(QStringLiteral("openedAtEvent")).toInteger(-1);
    REQUIRE(opened >= 0);
    Q_EMIT window.incidentsView()->activated(incidents->index(0, 0));
    CHECK(window.timeline()->currentEvent() == opened);
    // The incidents follow the timeline as the other panes do: an event inside the incident's span
    // selects its row (without moving the timeline), one outside it none.
    REQUIRE(window.timeline()->selectEvent(0));
    CHECK_FALSE(window.incidentsView()->selectionModel()->currentIndex().isValid());
    REQUIRE(window.timeline()->selectEvent(opened));
    CHECK(window.incidentsView()->selectionModel()->currentIndex().row() == 0);
    CHECK(window.timeline()->currentEvent() == opened);
    REQUIRE(window.timeline()->selectEvent(reportEvent));
    CHECK(window.incidentsView()->selectionModel()->isRowSelected(0, {}));
    CHECK(window.timeline()->currentEvent() == reportEvent);
}

TEST_CASE("live window: with incident verification turned off, no second viewer joins and the verdict says unverified")
{
    QSettings().clear();
    auto server = std::make_unique<server::ReferenceServer>(server::ServerOptions {});
    const quint16 port = server->listen();
    REQUIRE(port > 0);
    MainWindow window;
    auto* shadowAction = window.findChild<QAction*>(QStringLiteral("shadowCheckAction"));
    REQUIRE(shadowAction);
    CHECK(shadowAction->isChecked()); // on by default: the verdicts need it
    shadowAction->setChecked(false);
    CHECK_FALSE(MainWindow::shadowChecksEnabled());
    window.connectionBar()->setUrl(QStringLiteral("ws://127.0.0.1:%1/~s").arg(port));
    window.connectionBar()->setIdentity(QStringLiteral("anonymous:quiet"));
    window.connectionBar()->setSpace(QStringLiteral("chat"));
    window.connectionBar()->setKey(QStringLiteral("demo"));
    window.show();
    REQUIRE(window.connectFromBar());
    LiveSession* session = window.live()->session();
    REQUIRE(session);
    REQUIRE(test::waitUntil([&] { return session->state() == ConnectionState::Streaming && session->folder().epochHasData(); }, 5s));
    QTest::keyClick(&window, Qt::Key_D, Qt::ControlModifier); // drop the socket: an incident
    REQUIRE(test::waitUntil([&] { return !session->log().indexesOfKind(EventKind::Incident).empty(); }, 15s));
    const qint64 incident = session->log().indexesOfKind(EventKind::Incident).front();
    const QJsonObject report = QJsonDocument::fromJson(session->log().payload(incident)).object();
    // No shadow fetch ran: nothing checked the verdict against the server's document.
    CHECK(report.value(QStringLiteral("verified")).toBool(true) == false);
    CHECK_FALSE(report.value(QStringLiteral("comparison")).toObject().contains(QStringLiteral("truthSeq")));
    QSettings().clear();
}

TEST_CASE("live window: a session started while a replay is open takes every pane over from it")
{
    QSettings().clear();
    QTemporaryDir dir;
    const QString path = dir.filePath(QStringLiteral("open.ndjson"));
    {
        EventLog log;
        test::fillSyntheticSession(log, 30);
        // Two more items: a value list edited without @s, an anomaly the replay marks.
        SessionEvent item = log.at(log.indexesOfKind(EventKind::StreamItem).back());
        for (const QByteArray& data : { QByteArray(R"({"scores":{"0":1,"@s":1}})"), QByteArray(R"({"scores":{"0":2}})") }) {
            item.seq += 1;
            item.monotonicNs += 1000;
            item.flags = 0;
            const QByteArray frame = R"({"deliver":)" + QByteArray::number(item.requestId) + R"(,"done":false,"response":{"delta":{"data":)" + data
                + R"(,"seq":)" + QByteArray::number(item.seq) + "}}}";
            log.append(item, frame);
        }
        REQUIRE(test::writeCaptureFile(path, log));
    }
    MainWindow window;
    window.resize(1400, 900);
    window.show();
    REQUIRE(QTest::qWaitForWindowExposed(&window));
    REQUIRE(window.openCapture(path, true));
    REQUIRE(window.replay());
    window.replay()->seek(window.replay()->eventCount() / 2);
    CHECK_FALSE(window.timeline()->isFollowing()); // a replay's seeks stop following
    // A second capture opened over the replay (Ctrl+O): the first is let go of by the replay bar
    // before it is destroyed (it crashed), and the bar drives the new one.
    const ReplaySession* first = window.replay();
    window.replay()->play();
    REQUIRE(window.openCapture(path, true));
    REQUIRE(window.replay());
    CHECK(window.replay() != first);
    CHECK(window.findChild<ReplayBar*>()->replay() == window.replay());
    window.replay()->seek(window.replay()->eventCount() / 2);
    CHECK_FALSE(window.timeline()->isFollowing());
    // Demo ▸ chat with the replay open: the replay's log is freed, and the panes (charts, timeline,
    // detail) once read it until the session's was set.
    REQUIRE(window.startDemo(QStringLiteral("chat")));
    CHECK_FALSE(window.replay());
    LiveSession* session = window.live()->session();
    REQUIRE(session);
    REQUIRE(test::waitUntil([&] { return session->state() == ConnectionState::Streaming && session->folder().epochHasData(); }, 5s));
    QTest::qWait(300); // the charts' and timeline's refresh timers
    CHECK(window.timeline()->model()->rowCount() > 0);
    CHECK(window.windowTitle() == QStringLiteral("Deltascope"));
    CHECK(window.timeline()->isFollowing()); // the new session is watched at its newest event
    window.disconnectSession();

    // Back to Live from a replay opened after it: the ended session is shown again, as the status
    // bar describes it, not empty panes beside its numbers.
    const int sessionRows = window.timeline()->model()->rowCount();
    REQUIRE(window.openCapture(path, true));
    REQUIRE(window.replay());
    // What acts on the live session is greyed out in the replay, and back with the session (the
    // faults once there is a connection again).
    auto* drop = window.findChild<QAction*>(QStringLiteral("dropAction"));
    auto* bots = window.findChild<QAction*>(QStringLiteral("botsAction"));
    REQUIRE(drop);
    REQUIRE(bots);
    CHECK_FALSE(drop->isEnabled());
    CHECK(drop->toolTip().contains(QStringLiteral("Back to live first")));
    CHECK_FALSE(bots->isEnabled());
    CHECK(bots->isChecked()); // the embedded server's bots do run on
    CHECK(window.findChild<QPushButton*>(QStringLiteral("replayLeave"))->text() == QStringLiteral("Back to live"));
    REQUIRE(test::waitUntil([&] { return window.replay()->checkpointsComplete(); }, 5s));
    window.replay()->seek(window.replay()->eventCount() - 1);
    REQUIRE(window.documentTree()->model()->anomalyCount() > 0); // the replay's mark at scores
    window.leaveReplay();
    CHECK(window.documentTree()->model()->anomalyCount() == 0); // the chat session had none
    QTest::qWait(100);
    CHECK(window.timeline()->model()->rowCount() >= sessionRows);
    CHECK(window.treePanel()->isShowingContent());
    CHECK(window.findChild<QLabel*>(QStringLiteral("statusRecording"))->text().startsWith(QStringLiteral("recorded ")));
    // Back with the session, which ended: a drop waits for a connection, the bots run on.
    CHECK_FALSE(drop->isEnabled());
    CHECK(drop->toolTip().startsWith(QStringLiteral("Connect first")));
    CHECK(bots->isEnabled());
    CHECK(bots->isChecked());
}

TEST_CASE("live window: an export of a live session reads what it recorded so far, and the session goes on")
{
    QSettings().clear();
    QTemporaryDir captures;
    CaptureWriter::setCapturesFolder(captures.path());
    MainWindow window;
    LiveSession* session = showWithDemo(window, QStringLiteral("ticker"));
    REQUIRE(test::waitUntil([&] { return session->state() == ConnectionState::Streaming && session->folder().lastSeq() >= 5; }, 5s));
    QString error;
    std::unique_ptr<Capture> capture = window.liveSessionCapture(&error);
    INFO(error.toStdString());
    REQUIRE(capture);
    CHECK(capture->path == window.recordingPath());
    CHECK(capture->log->size() >= 5);
    CHECK(capture->log->size() <= session->log().size());
    CHECK(capture->notices().isEmpty()); // a whole capture, not a cut-off one
    // "The current event" of its dialog is the one selected in the timeline, else the last.
    REQUIRE(window.timeline()->selectEvent(3));
    CHECK(window.liveExportCurrentEvent(capture->log->size()) == 3);
    CHECK(window.liveExportCurrentEvent(2) == 1); // selected past what the capture holds
    // The identity does not travel into the copy the export reads.
    for (qint64 i = 0; i < capture->log->size(); ++i)
        REQUIRE_FALSE(capture->log->payload(i).contains("anonymous:deltascope"));
    // Nothing stopped: the session streams on and keeps recording.
    const qint64 before = session->folder().lastSeq();
    REQUIRE(test::waitUntil([&] { return session->folder().lastSeq() > before; }, 5s));
    CHECK(session->state() == ConnectionState::Streaming);
    CHECK_FALSE(window.replay());

    // Once the session has ended, its finished recording is what an export reads.
    const QString recording = window.recordingPath();
    window.disconnectSession();
    capture = window.liveSessionCapture(&error);
    REQUIRE(capture);
    CHECK(capture->path == recording);
    CHECK(capture->closedCleanly);

    // A session whose recording could not start is exported from its own events, not from the
    // previous session's recording.
    QTemporaryFile notAFolder;
    REQUIRE(notAFolder.open());
    CaptureWriter::setCapturesFolder(notAFolder.fileName() + QStringLiteral("/captures"));
    REQUIRE(window.startDemo(QStringLiteral("chat")));
    LiveSession* unrecorded = window.live()->session();
    REQUIRE(unrecorded);
    CHECK(window.errorText().contains(QStringLiteral("not being recorded")));
    REQUIRE(test::waitUntil([&] { return unrecorded->folder().epochHasData(); }, 5s));
    capture = window.liveSessionCapture(&error);
    INFO(error.toStdString());
    REQUIRE(capture);
    CHECK(capture->path != recording);
    bool chat = false;
    for (qint64 i = 0; i < capture->log->size(); ++i)
        chat = chat || capture->log->payload(i).contains("\"space\":\"chat\"");
    CHECK(chat);
    window.disconnectSession();
    CaptureWriter::setCapturesFolder(QString());
}

TEST_CASE("live window: each demo offers a message its document takes, or none where it has no channel")
{
    QSettings().clear();
    MainWindow window;
    showWithDemo(window, QStringLiteral("chat"));
    const auto field = [&](const char* name) { return window.composer()->findChild<QLineEdit*>(QLatin1String(name))->text(); };
    CHECK(field("composerChannel") == QStringLiteral("say"));
    REQUIRE(window.startDemo(QStringLiteral("game")));
    CHECK(field("composerChannel") == QStringLiteral("play"));
    CHECK(field("composerMessage") == QStringLiteral(R"({"id":5})"));
    for (const char* space : { "ticker", "big" }) {
        REQUIRE(window.startDemo(QLatin1String(space)));
        CHECK(field("composerChannel").isEmpty());
        CHECK(field("composerMessage").isEmpty());
    }
    window.disconnectSession();
}

TEST_CASE("live window: the composer says what became of a send: its seq, or the failure and its code")
{
    QSettings().clear();
    MainWindow window;
    LiveSession* session = showWithDemo(window, QStringLiteral("chat"));
    REQUIRE(test::waitUntil([&] { return session->state() == ConnectionState::Streaming && session->folder().epochHasData(); }, 5s));
    MessageComposer* composer = window.composer();
    composer->setChannel(QStringLiteral("say"));
    composer->setMessage(QStringLiteral(R"({"what":"acked?"})"));
    REQUIRE(composer->send());
    REQUIRE(test::waitUntil([&] { return composer->statusText().startsWith(QStringLiteral("sent: seq ")); }, 5s));
    QTest::qWait(700); // the status bar's ticks (every 250 ms) leave it in view
    CHECK(composer->statusText().startsWith(QStringLiteral("sent: seq ")));
    // A channel the document has no handler for: the server's failure, named, where it was sent.
    composer->setChannel(QStringLiteral("nosuch"));
    REQUIRE(composer->send());
    REQUIRE(test::waitUntil([&] { return composer->statusText().contains(QStringLiteral("failed with")); }, 5s));
    CHECK(composer->statusText().startsWith(QStringLiteral("failed with ")));
    QTest::qWait(700);
    CHECK(composer->statusText().startsWith(QStringLiteral("failed with ")));
    window.disconnectSession();
}
