#include <catch2/catch.hpp>

#include "core/capture/capturecheckpoints.h"
#include "core/capture/capturewriter.h"
#include "core/capture/replaysession.h"
#include "tests/core/capture/capturetestutils.h"
#include "tests/support/testutils.h"
#include "core/stopsignalguard.h"
#include "ui/chartspanel.h"
#include "ui/connectionbar.h"
#include "ui/emptystatepanel.h"
#include "ui/models/documenttreemodel.h"
#include "ui/models/timelinefilterproxy.h"
#include "ui/models/timelinemodel.h"
#include "ui/documenttreepanel.h"
#include "ui/exportdialog.h"
#include "ui/faultspanel.h"
#include "ui/framedetailpanel.h"
#include "ui/mainwindow.h"
#include "ui/replaybar.h"
#include "ui/shortcutsdialog.h"
#include "ui/timelinepanel.h"
#include "ui/uistate.h"

#include <QAbstractButton>
#include <QChartView>
#include <QTreeView>
#include <QApplication>
#include <QTimer>
#include <QDirIterator>
#include <QHeaderView>
#include <QImage>
#include <QComboBox>
#include <QLabel>
#include <QMap>
#include <QAction>
#include <QPushButton>
#include <QToolButton>
#include <QMenu>
#include <QMenuBar>
#include <QLineEdit>
#include <QListWidget>
#include <QProcess>
#include <QGuiApplication>
#include <QScreen>
#include <QSettings>
#include <QSignalSpy>
#include <QRegularExpression>
#include <QScrollArea>
#include <QScrollBar>
#include <QSplitter>
#include <QTableView>
#include <QTemporaryDir>
#include <QTreeWidget>
#include <QTest>
#include <QSlider>
#include <QStyleOptionSlider>

#include <csignal>

using namespace deltascope;
using namespace deltascope::ui;
using namespace std::chrono_literals;

namespace {

// A capture of `count` deltas that set "n" to 0, 1, ... with seqs from 2: a replay to click through.
bool writeCounterCapture(const QString& path, int count)
{
    EventLog log;
    test::ScriptedStream stream { log };
    stream.start();
    for (int i = 0; i < count; ++i)
        stream.add(EventKind::StreamItem,
            QByteArray("{\"deliver\":1,\"done\":false,\"response\":{\"delta\":{\"data\":{\"n\":" + QByteArray::number(i) + "},\"seq\":"
                + QByteArray::number(2 + i) + "}}}"),
            2 + i);
    return test::writeCaptureFile(path, log);
}

}

TEST_CASE("main window: opens with every pane and empty states, not fake data")
{
    QSettings().clear();
    MainWindow window;
    window.show();
    REQUIRE(QTest::qWaitForWindowExposed(&window));
    REQUIRE(window.connectionBar());
    for (EmptyStatePanel* panel : { window.treePanel(), window.timelinePanel(), window.detailPanel(), window.chartsPanel() }) {
        REQUIRE(panel);
        CHECK(panel->isVisible());
        CHECK_FALSE(panel->isShowingContent());
        CHECK_FALSE(panel->emptyText().isEmpty());
    }
    CHECK(window.treePanel()->emptyText().contains(QStringLiteral("Not connected")));
    // The document tree sits beside the timeline, the detail under the timeline.
    CHECK(window.treePanel()->geometry().right() <= window.timelinePanel()->mapTo(&window, QPoint(0, 0)).x());
    CHECK(window.timelinePanel()->mapTo(&window, QPoint(0, 0)).y() < window.detailPanel()->mapTo(&window, QPoint(0, 0)).y());
}

TEST_CASE("main window: Alt+letter reaches one thing: the menus and the connection bar share no mnemonic, and replay tooltips name the real keys")
{
    QSettings().clear();
    MainWindow window;
    const auto mnemonicOf = [](const QString& text) -> QChar {
        for (qsizetype i = 0; i + 1 < text.size(); ++i) {
            if (text[i] == QLatin1Char('&')) {
                if (text[i + 1] != QLatin1Char('&'))
                    return text[i + 1].toLower();
                ++i;
            }
        }
        return {};
    };
    QMap<QChar, QString> taken;
    const auto take = [&](const QString& text) {
        const QChar key = mnemonicOf(text);
        if (key.isNull())
            return;
        INFO(text.toStdString() << " and " << taken.value(key).toStdString());
        CHECK_FALSE(taken.contains(key));
        taken.insert(key, text);
    };
    for (QAction* menu : window.menuBar()->actions())
        take(menu->text());
    for (QLabel* label : window.connectionBar()->findChildren<QLabel*>()) {
        if (label->buddy())
            take(label->text());
    }
    // The connect button, in both its states: one letter for both.
    auto* connect = window.connectionBar()->findChild<QPushButton*>(QStringLiteral("connectButton"));
    REQUIRE(connect);
    window.connectionBar()->setSessionActive(true);
    const QChar whileActive = mnemonicOf(connect->text());
    window.connectionBar()->setSessionActive(false);
    CHECK(mnemonicOf(connect->text()) == whileActive);
    CHECK_FALSE(whileActive.isNull());
    take(connect->text());
    CHECK(taken.size() >= 10);

    // Each replay button's tooltip names the shortcut its Replay menu action has.
    QMap<QString, QString> menuKeys;
    for (QAction* menu : window.menuBar()->actions()) {
        if (menu->menu() && menu->text() == QStringLiteral("&Replay")) {
            for (QAction* action : menu->menu()->actions())
                menuKeys.insert(action->text(), action->shortcut().toString(QKeySequence::NativeText));
        }
    }
    REQUIRE(menuKeys.size() >= 6);
    const std::pair<const char*, const char*> buttons[] = { { "replayPlay", "Play / Pause" }, { "replayStepForward", "Step forward" },
        { "replayStepBack", "Step back" }, { "replayDeltaForward", "Next delta" }, { "replayDeltaBack", "Previous delta" },
        { "replayNextIncident", "Next incident" } };
    for (const auto& [button, action] : buttons) {
        INFO(button);
        auto* widget = window.findChild<QWidget*>(QLatin1String(button));
        REQUIRE(widget);
        CHECK(widget->toolTip().endsWith(QStringLiteral("(%1)").arg(menuKeys.value(QLatin1String(action)))));
    }
}

TEST_CASE("main window: Help lists the keyboard shortcuts the window's actions have, menus and panes")
{
    QSettings().clear();
    MainWindow window;
    window.show();
    REQUIRE(QTest::qWaitForWindowExposed(&window));
    const auto keys = [](QKeySequence key) { return key.toString(QKeySequence::NativeText); };
    const auto find = [](const QList<ShortcutEntry>& entries, const QString& where, const QString& action) {
        for (const ShortcutEntry& entry : entries) {
            if (entry.where == where && entry.action == action)
                return entry.keys;
        }
        return QStringLiteral("(not listed)");
    };
    QList<ShortcutEntry> shortcuts = windowShortcuts(window);
    CHECK(find(shortcuts, QStringLiteral("Replay"), QStringLiteral("Go to event, seq or time")) == keys(QKeySequence(Qt::CTRL | Qt::Key_G)));
    CHECK(find(shortcuts, QStringLiteral("Session"), QStringLiteral("Drop the socket")) == keys(QKeySequence(Qt::CTRL | Qt::Key_D)));
    CHECK(find(shortcuts, QStringLiteral("File"), QStringLiteral("Open Capture")) == keys(QKeySequence::Open));
    // The panes' own keys, under the pane they act in.
    CHECK(find(shortcuts, QStringLiteral("Timeline"), QStringLiteral("Next match")) == keys(QKeySequence(Qt::Key_F3)));
    CHECK(find(shortcuts, QStringLiteral("Document tree"), QStringLiteral("Copy path")) == keys(QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_C)));
    for (const ShortcutEntry& entry : shortcuts) {
        INFO(entry.where.toStdString() << ": " << entry.action.toStdString());
        CHECK_FALSE(entry.keys.isEmpty());
        CHECK_FALSE(entry.action.contains(QLatin1Char('&')));
    }

    // Read from the actions when asked: a changed key is listed as it is now.
    auto* drop = window.findChild<QAction*>(QStringLiteral("dropAction"));
    REQUIRE(drop);
    drop->setShortcut(QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_D));
    CHECK(find(windowShortcuts(window), QStringLiteral("Session"), QStringLiteral("Drop the socket")) == keys(QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_D)));

    // Help ▸ Keyboard Shortcuts opens the dialog with the list, grouped by where the keys act.
    auto* help = window.findChild<QAction*>(QStringLiteral("shortcutsAction"));
    REQUIRE(help);
    QStringList listed;
    QTimer::singleShot(0, &window, [&] {
        auto* dialog = qobject_cast<ShortcutsDialog*>(QApplication::activeModalWidget());
        if (!dialog)
            return;
        QTreeWidget* view = dialog->view();
        for (int group = 0; group < view->topLevelItemCount(); ++group) {
            for (int row = 0; row < view->topLevelItem(group)->childCount(); ++row) {
                const QTreeWidgetItem* item = view->topLevelItem(group)->child(row);
                listed << view->topLevelItem(group)->text(0) + QLatin1Char('/') + item->text(0) + QLatin1Char('=') + item->text(1);
            }
        }
        dialog->reject();
    });
    help->trigger();
    CHECK(listed.contains(QStringLiteral("Replay/Go to event, seq or time=") + keys(QKeySequence(Qt::CTRL | Qt::Key_G))));
    CHECK(listed.size() == windowShortcuts(window).size());
}

TEST_CASE("main window: identity is masked until shown")
{
    MainWindow window;
    auto* identity = window.findChild<QLineEdit*>(QStringLiteral("identityEdit"));
    REQUIRE(identity);
    CHECK(identity->echoMode() == QLineEdit::Password);
    auto* show = window.findChild<QAbstractButton*>(QStringLiteral("showIdentityButton"));
    REQUIRE(show);
    show->click();
    CHECK(identity->echoMode() == QLineEdit::Normal);
}

TEST_CASE("main window: viewer state is validated as typed")
{
    ConnectionBar bar;
    bar.setViewerState(QStringLiteral("{\"page\":1}"));
    CHECK(bar.viewerStateError().isEmpty());
    bar.setViewerState(QStringLiteral("{\"page\":"));
    CHECK(bar.viewerStateError().contains(QStringLiteral("not JSON")));
    bar.setViewerState(QStringLiteral("[42]"));
    CHECK(bar.viewerStateError().contains(QStringLiteral("object")));
}

namespace {
// Every fault button and the whole fault log lie inside the Faults pane as the window draws it, and
// the log shows its newest line.
void checkFaultsPaneFits(MainWindow& window)
{
    FaultsPanel* faults = window.faults();
    auto* pane = window.findChild<QWidget*>(QStringLiteral("faultsPanel"));
    REQUIRE((faults && pane));
    const QRect paneRect(pane->mapTo(&window, QPoint(0, 0)), pane->size());
    const auto shownIn = [&](QWidget* widget) { return QRect(widget->mapTo(&window, QPoint(0, 0)), widget->size()); };
    const QList<QPushButton*> buttons = faults->findChildren<QPushButton*>(QRegularExpression(QStringLiteral("^fault_")));
    REQUIRE(buttons.size() == 9);
    for (QPushButton* button : buttons) {
        INFO(button->objectName().toStdString() << " at " << shownIn(button).x() << "," << shownIn(button).y() << " pane "
                                                << paneRect.width() << "x" << paneRect.height());
        CHECK(button->isVisible());
        CHECK(paneRect.contains(shownIn(button)));
    }
    QListWidget* log = faults->log();
    CHECK(paneRect.contains(shownIn(log)));
    CHECK(log->height() >= log->minimumHeight());
    for (int i = 0; i < 40; ++i)
        log->addItem(QStringLiteral("line %1").arg(i));
    log->scrollToBottom();
    QTest::qWait(20);
    const QRect last = log->visualItemRect(log->item(log->count() - 1));
    CHECK(log->viewport()->rect().contains(last));
}
}

TEST_CASE("main window: the fault buttons wrap to the Faults pane and its log shows its newest line, at any usual size")
{
    for (const QSize size : { QSize(1280, 800), QSize(1600, 1000), QSize(1024, 720), QSize(1024, 600) }) {
        INFO("window " << size.width() << "x" << size.height());
        QSettings().clear();
        MainWindow window;
        window.resize(size);
        window.show();
        REQUIRE(QTest::qWaitForWindowExposed(&window));
        QTest::qWait(50);
        CHECK(window.size() == size);
        checkFaultsPaneFits(window);
    }
    // Dragged narrow, the buttons take more lines rather than leave the pane.
    QSettings().clear();
    MainWindow window;
    window.resize(1280, 800);
    window.show();
    REQUIRE(QTest::qWaitForWindowExposed(&window));
    auto* bottom = window.findChild<QSplitter*>(QStringLiteral("bottomSplitter"));
    REQUIRE(bottom);
    QList<int> sizes = bottom->sizes();
    sizes[0] += sizes[1] - window.faults()->minimumSizeHint().width();
    sizes[1] = window.faults()->minimumSizeHint().width();
    bottom->setSizes(sizes);
    QTest::qWait(50);
    checkFaultsPaneFits(window);
    CHECK_FALSE(bottom->isCollapsible(bottom->indexOf(window.findChild<QWidget*>(QStringLiteral("faultsPanel")))));

    // At the minimum height with an error banner above: the log gives way, no button is covered.
    QSettings().clear();
    MainWindow small;
    small.resize(1024, 600);
    small.show();
    REQUIRE(QTest::qWaitForWindowExposed(&small));
    small.showError(QStringLiteral("The server cannot be reached"), QStringLiteral("Check the URL; the client keeps retrying."));
    QTest::qWait(50);
    QListWidget* log = small.faults()->log();
    const auto shownIn = [&](QWidget* widget) { return QRect(widget->mapTo(&small, QPoint(0, 0)), widget->size()); };
    auto* pane = small.findChild<QWidget*>(QStringLiteral("faultsPanel"));
    for (QPushButton* button : small.faults()->findChildren<QPushButton*>(QRegularExpression(QStringLiteral("^fault_")))) {
        INFO(button->objectName().toStdString());
        CHECK(QRect(pane->mapTo(&small, QPoint(0, 0)), pane->size()).contains(shownIn(button)));
        if (log->isVisible())
            CHECK_FALSE(shownIn(log).intersects(shownIn(button)));
    }
}

TEST_CASE("main window: the incidents' column headers show whole, their meaning in the tooltip")
{
    QSettings().clear();
    MainWindow window;
    window.show();
    REQUIRE(QTest::qWaitForWindowExposed(&window));
    QAbstractItemModel* model = window.incidentsView()->model();
    QHeaderView* header = window.incidentsView()->horizontalHeader();
    for (int column = 0; column < model->columnCount(); ++column) {
        const QString text = model->headerData(column, Qt::Horizontal).toString();
        INFO(text.toStdString());
        CHECK(header->sectionSize(column) >= header->fontMetrics().horizontalAdvance(text) + 8);
        CHECK_FALSE(model->headerData(column, Qt::Horizontal, Qt::ToolTipRole).toString().isEmpty());
    }
}

TEST_CASE("main window: splitter layout persists across windows")
{
    QSettings().clear();
    QList<int> savedSizes;
    {
        MainWindow window;
        window.show();
        REQUIRE(QTest::qWaitForWindowExposed(&window));
        auto* splitter = window.findChild<QSplitter*>(QStringLiteral("sideBySideSplitter"));
        REQUIRE(splitter);
        splitter->setSizes({ 300, 900 });
        savedSizes = splitter->sizes();
        window.close();
    }
    MainWindow restored;
    restored.show();
    REQUIRE(QTest::qWaitForWindowExposed(&restored));
    auto* splitter = restored.findChild<QSplitter*>(QStringLiteral("sideBySideSplitter"));
    REQUIRE(splitter);
    CHECK(splitter->sizes() == savedSizes);
}

TEST_CASE("main window: first run splits the window at its proportions, over a layout an older version saved")
{
    // What version 2 saved: its splitter sizes (the old proportions), the timeline's filter and the
    // tree's column widths. The layout is dropped with the version; the filter and widths are not.
    QSettings().clear();
    {
        MainWindow older;
        older.resize(1280, 800);
        older.show();
        REQUIRE(QTest::qWaitForWindowExposed(&older));
        older.findChild<QSplitter*>(QStringLiteral("verticalSplitter"))->setSizes({ 600, 100 });
        older.findChild<QSplitter*>(QStringLiteral("bottomSplitter"))->setSizes({ 300, 700, 280 });
        older.documentTree()->view()->header()->resizeSection(0, 321);
        older.timeline()->proxy()->setMethodFilter(QStringLiteral("say"));
        older.close();
    }
    {
        QSettings settings;
        for (const QString& key : settings.allKeys()) {
            if (!key.startsWith(QStringLiteral("ui/v%1/").arg(UiState::kLayoutVersion)))
                continue;
            QString older = key;
            older.replace(QStringLiteral("ui/v%1/").arg(UiState::kLayoutVersion), QStringLiteral("ui/v2/"));
            settings.setValue(older, settings.value(key));
            settings.remove(key);
        }
    }
    for (const QSize size : { QSize(1280, 800), QSize(1024, 600) }) {
        INFO("window " << size.width() << "x" << size.height());
        MainWindow window;
        window.resize(size);
        window.show();
        REQUIRE(QTest::qWaitForWindowExposed(&window));
        QTest::qWait(50);
        const QList<int> vertical = window.findChild<QSplitter*>(QStringLiteral("verticalSplitter"))->sizes();
        const QList<int> bottom = window.findChild<QSplitter*>(QStringLiteral("bottomSplitter"))->sizes();
        INFO("vertical " << vertical[0] << ":" << vertical[1] << ", bottom " << bottom[0] << "/" << bottom[1] << "/" << bottom[2]);
        if (size.width() == 1280) {
            // About 340:190, and 520/516/244 across.
            CHECK(std::abs(vertical[0] * 190 - vertical[1] * 340) < 15 * (vertical[0] + vertical[1]));
            CHECK(std::abs(bottom[0] - 520) <= 12);
            CHECK(std::abs(bottom[1] - 516) <= 12);
            CHECK(std::abs(bottom[2] - 244) <= 12);
        }
        // Each chart keeps a readable height.
        for (QWidget* chart : window.charts()->findChildren<QChartView*>())
            CHECK(chart->height() >= 110);
        CHECK(window.timeline()->proxy()->methodFilter() == QStringLiteral("say"));
        CHECK(window.documentTree()->view()->header()->sectionSize(0) == 321);
    }
}

TEST_CASE("main window: saveScreenshot writes a PNG of the window")
{
    QTemporaryDir dir;
    MainWindow window;
    window.show();
    REQUIRE(QTest::qWaitForWindowExposed(&window));
    const QString path = dir.filePath(QStringLiteral("w.png"));
    CHECK(window.saveScreenshot(path).isEmpty());
    const QImage image(path);
    CHECK(image.width() >= 800);
    CHECK(window.saveScreenshot(dir.filePath(QStringLiteral("missing-folder/w.png"))).contains(QStringLiteral("could not write")));
}

TEST_CASE("deltascope executable: --help, bad arguments, no display, --screenshot")
{
    const QString program = test::executablePath(QStringLiteral("deltascope"));
    QProcess process;
    QProcessEnvironment environment = QProcessEnvironment::systemEnvironment();
    environment.remove(QStringLiteral("DISPLAY"));
    environment.remove(QStringLiteral("WAYLAND_DISPLAY"));
    environment.remove(QStringLiteral("QT_QPA_PLATFORM"));
    environment.remove(QStringLiteral("DELTASCOPE_LAUNCHER"));
    process.setProcessEnvironment(environment);

    process.start(program, { QStringLiteral("--help") });
    REQUIRE(process.waitForFinished(20000));
    CHECK(process.exitCode() == 0);
    CHECK(process.readAllStandardOutput().contains("--screenshot"));

    process.start(program, { QStringLiteral("--bogus") });
    REQUIRE(process.waitForFinished(20000));
    CHECK(process.exitCode() == 2);
    CHECK(process.readAllStandardError().contains("bogus"));

    process.start(program, {});
    REQUIRE(process.waitForFinished(20000));
    CHECK(process.exitCode() == 1);
    const QByteArray noDisplay = process.readAllStandardError();
    CHECK(noDisplay.contains("xvfb-run"));
    CHECK(noDisplay.contains("QT_QPA_PLATFORM=offscreen"));
    // It names the program as started, not ./run.sh (which a user of the binary may not have);
    // run.sh names itself through DELTASCOPE_LAUNCHER.
    CHECK(noDisplay.contains(QByteArray("xvfb-run -a " + program.toLocal8Bit() + " [ARGS...]")));
    QProcessEnvironment launched = environment;
    launched.insert(QStringLiteral("DELTASCOPE_LAUNCHER"), QStringLiteral("./run.sh"));
    process.setProcessEnvironment(launched);
    process.start(program, {});
    REQUIRE(process.waitForFinished(20000));
    CHECK(process.readAllStandardError().contains("QT_QPA_PLATFORM=offscreen ./run.sh ..."));
    process.setProcessEnvironment(environment);

    QTemporaryDir dir;
    environment.insert(QStringLiteral("QT_QPA_PLATFORM"), QStringLiteral("offscreen"));
    environment.insert(QStringLiteral("XDG_CONFIG_HOME"), dir.path());
    process.setProcessEnvironment(environment);
    const QString shot = dir.filePath(QStringLiteral("shot.png"));
    process.start(program, { QStringLiteral("--no-demo"), QStringLiteral("--screenshot"), shot, QStringLiteral("--screenshot-delay"), QStringLiteral("100") });
    REQUIRE(process.waitForFinished(60000));
    CHECK(process.exitCode() == 0);
    CHECK_FALSE(QImage(shot).isNull());
}

TEST_CASE("deltascope executable: SIGTERM, SIGINT and SIGHUP close the window as Quit does, and the recording gets its end record")
{
    const int signal = GENERATE(SIGTERM, SIGINT, SIGHUP);
    const QString signalName = StopSignalGuard::signalName(signal);
    INFO(signalName.toStdString());
    QTemporaryDir dir;
    QProcessEnvironment environment = QProcessEnvironment::systemEnvironment();
    environment.insert(QStringLiteral("QT_QPA_PLATFORM"), QStringLiteral("offscreen"));
    environment.insert(QStringLiteral("XDG_CONFIG_HOME"), dir.filePath(QStringLiteral("config")));
    environment.insert(QStringLiteral("XDG_DATA_HOME"), dir.filePath(QStringLiteral("data"))); // the captures folder
    QProcess process;
    process.setProcessEnvironment(environment);
    process.start(test::executablePath(QStringLiteral("deltascope")), {}); // the live ticker demo, recorded
    REQUIRE(process.waitForStarted(10000));
    // Streaming and recorded: the capture holds the snapshot and some deltas.
    QString recording;
    const bool recorded = test::waitUntil(
        [&] {
            QDirIterator it(dir.filePath(QStringLiteral("data")), { QStringLiteral("*.ndjson") }, QDir::Files, QDirIterator::Subdirectories);
            recording = it.hasNext() ? it.next() : QString();
            return !recording.isEmpty() && QFileInfo(recording).size() > 2000;
        },
        20s);
    if (!recorded)
        process.kill();
    REQUIRE(recorded);

    if (signal == SIGTERM)
        process.terminate();
    else
        ::kill(pid_t(process.processId()), signal);
    const bool ended = process.waitForFinished(10000);
    if (!ended)
        process.kill();
    REQUIRE(ended);
    CHECK(process.exitStatus() == QProcess::NormalExit);
    CHECK(process.exitCode() == 0);
    CHECK(QString::fromLocal8Bit(process.readAllStandardError()).contains(signalName + QStringLiteral(": closing the window")));
    QString error;
    const std::unique_ptr<Capture> capture = CaptureReader::open(recording, {}, &error);
    REQUIRE(capture);
    CHECK(capture->closedCleanly);
    CHECK(capture->notices().isEmpty());
    CHECK(capture->log->size() > 4);
}

namespace {
// A capture of a synthetic session of `items` stream items, in memory, with checkpoints every
// 100 events (not started: a test holds or starts them).
std::unique_ptr<Capture> syntheticCapture(int items)
{
    auto capture = std::make_unique<Capture>();
    capture->log = std::make_unique<EventLog>();
    test::fillSyntheticSession(*capture->log, items);
    capture->checkpoints = std::make_unique<CaptureCheckpoints>(*capture->log, 100);
    return capture;
}
}

TEST_CASE("replay bar: a jump that waits for the background fold says so, then shows the event")
{
    std::unique_ptr<Capture> capture = syntheticCapture(400);
    const qint64 size = capture->log->size();
    CaptureCheckpoints& checkpoints = *capture->checkpoints;
    checkpoints.holdBefore(size / 2);
    checkpoints.start();
    ReplaySession replay(std::move(capture));
    replay.setDeferSeeksUntilFolded(true);
    ReplayBar bar;
    bar.setReplay(&replay);
    bar.show();
    REQUIRE(test::waitUntil([&] { return checkpoints.foldedUpTo() == size / 2; }, std::chrono::seconds(10)));
    const auto* label = bar.findChild<QLabel*>(QStringLiteral("replayPosition"));
    REQUIRE(label);

    bar.slider()->setValue(int(size - 1));
    CHECK(replay.pendingSeek() == size - 1);
    CHECK(replay.position() == -1);
    CHECK(bar.slider()->value() == int(size - 1)); // stays where it was put
    CHECK(label->text() == QStringLiteral("event #%1 of #0\u2013#%2: folding, %3%").arg(size - 1).arg(size - 1).arg((size / 2) * 100 / size));

    checkpoints.holdBefore(-1);
    REQUIRE(test::waitUntil([&] { return replay.position() == size - 1; }, std::chrono::seconds(20)));
    CHECK(label->text() == QStringLiteral("event #%1 of #0\u2013#%2").arg(size - 1).arg(size - 1));
    bar.setReplay(nullptr);
}

TEST_CASE("replay bar: go to an event, a seq or a time typed in its field, and what it cannot find is said there")
{
    CHECK(parseReplayGoTo(QStringLiteral("#42")).kind == ReplayGoTo::Kind::Event);
    CHECK(parseReplayGoTo(QStringLiteral(" 42 ")).value == 42);
    CHECK(parseReplayGoTo(QStringLiteral("seq 23")).kind == ReplayGoTo::Kind::Seq);
    CHECK(parseReplayGoTo(QStringLiteral("SEQ23")).value == 23);
    CHECK(parseReplayGoTo(QStringLiteral("12.5s")).kind == ReplayGoTo::Kind::Time);
    CHECK(parseReplayGoTo(QStringLiteral("12.5 s")).value == 12'500'000'000);
    for (const char* bad : { "", "abc", "#", "seq", "-3", "1.5", "seq -1", "3 ms" }) {
        const ReplayGoTo to = parseReplayGoTo(QString::fromLatin1(bad));
        CHECK(to.kind == ReplayGoTo::Kind::Invalid);
        CHECK_FALSE(to.error.isEmpty());
    }

    std::unique_ptr<Capture> capture = syntheticCapture(40);
    SessionEvent incident;
    incident.kind = EventKind::Incident;
    incident.direction = Direction::Local;
    incident.monotonicNs = capture->log->at(capture->log->size() - 1).monotonicNs + 1000;
    const qint64 incidentAt = capture->log->append(incident, R"({"incident":1,"verdict":"converged"})");
    capture->checkpoints->start();
    ReplaySession replay(std::move(capture));
    REQUIRE(test::waitUntil([&] { return replay.checkpointsComplete(); }, std::chrono::seconds(10)));
    ReplayBar bar;
    bar.setReplay(&replay);
    bar.show();
    // A jump with nowhere to go is greyed out.
    auto* nextIncident = bar.findChild<QToolButton*>(QStringLiteral("replayNextIncident"));
    auto* previousIncident = bar.findChild<QToolButton*>(QStringLiteral("replayPreviousIncident"));
    REQUIRE(nextIncident);
    REQUIRE(previousIncident);
    CHECK(nextIncident->isEnabled());
    CHECK_FALSE(previousIncident->isEnabled());
    nextIncident->click();
    CHECK(replay.position() == incidentAt);
    CHECK_FALSE(nextIncident->isEnabled());
    CHECK(previousIncident->isEnabled() == false); // nothing before the only one, either
    auto* field = bar.findChild<QLineEdit*>(QStringLiteral("replayGoTo"));
    REQUIRE(field);
    const auto go = [&](const QString& text) {
        field->setText(text);
        QTest::keyClick(field, Qt::Key_Return);
    };
    // Events 0-3 set up the stream, 4 is the snapshot (seq 1), each later item one event and one seq.
    go(QStringLiteral("seq 11"));
    CHECK(replay.position() == 14);
    CHECK(field->text().isEmpty()); // done: cleared for the next
    go(QStringLiteral("#7"));
    CHECK(replay.position() == 7);
    go(QStringLiteral("0.010s")); // one event a millisecond from 1 us: the last at or before 10 ms
    CHECK(replay.position() == 9);
    go(QStringLiteral("#999999"));
    CHECK(replay.position() == 9);
    CHECK(field->text() == QStringLiteral("#999999")); // kept, to be corrected
    CHECK(field->toolTip().startsWith(QStringLiteral("no event #999999: the capture has #0")));
    go(QStringLiteral("seq 100000"));
    CHECK(field->toolTip() == QStringLiteral("no stream item with seq 100000 in this capture"));
    go(QStringLiteral("soon"));
    CHECK(field->toolTip().contains(QStringLiteral("is not #EVENT, seq N or SECONDSs")));
    bar.setReplay(nullptr);
}

TEST_CASE("replay status: the RTT is the latest one the server reported on the socket at the cursor")
{
    EventLog log;
    const auto add = [&log](EventKind kind, int code = -1) {
        SessionEvent event;
        event.kind = kind;
        event.code = code;
        return log.append(event, "{}");
    };
    add(EventKind::StateChanged); // 0
    add(EventKind::Hello); // 1
    add(EventKind::Ping, 0); // 2: the socket's first, nothing measured yet
    add(EventKind::Ping, 40); // 3
    add(EventKind::StreamItem); // 4
    add(EventKind::Hello); // 5: a new socket
    add(EventKind::Ping, 0); // 6
    add(EventKind::Ping, 7); // 7
    CHECK(recordedRttMs(log, 0) == -1);
    CHECK(recordedRttMs(log, 2) == -1);
    CHECK(recordedRttMs(log, 3) == 40);
    CHECK(recordedRttMs(log, 4) == 40);
    CHECK(recordedRttMs(log, 5) == -1);
    CHECK(recordedRttMs(log, 6) == -1);
    CHECK(recordedRttMs(log, 7) == 7);
    CHECK(recordedRttMs(log, -1) == -1);
}

TEST_CASE("replay bar: a click on the scrubber's track jumps there, as a video player's does")
{
    // Qt's default moved one page step toward the click (479 to 489 for a click near the end).
    std::unique_ptr<Capture> capture = syntheticCapture(1000);
    const qint64 size = capture->log->size();
    capture->checkpoints->start();
    ReplaySession replay(std::move(capture));
    REQUIRE(test::waitUntil([&] { return replay.checkpointsComplete(); }, std::chrono::seconds(10)));
    ReplayBar bar;
    bar.setReplay(&replay);
    bar.resize(1800, 40);
    bar.show();
    REQUIRE(QTest::qWaitForWindowExposed(&bar));
    QSlider* slider = bar.slider();
    REQUIRE(slider->width() > 300);
    QStyleOptionSlider option;
    option.initFrom(slider);
    option.orientation = slider->orientation();
    option.minimum = slider->minimum();
    option.maximum = slider->maximum();
    option.sliderPosition = slider->sliderPosition();
    const QRect groove = slider->style()->subControlRect(QStyle::CC_Slider, &option, QStyle::SC_SliderGroove, slider);
    QTest::mouseClick(slider, Qt::LeftButton, {}, QPoint(groove.left() + groove.width() * 9 / 10, groove.center().y()));
    INFO("value " << slider->value() << " of " << slider->maximum());
    CHECK(slider->value() > int(size * 8 / 10));
    REQUIRE(test::waitUntil([&] { return replay.position() == slider->value(); }, std::chrono::seconds(10)));
    bar.setReplay(nullptr);
}

TEST_CASE("main window: a replay before its first snapshot explains the empty document tree")
{
    QTemporaryDir dir;
    const QString path = dir.filePath(QStringLiteral("c.ndjson"));
    {
        EventLog log;
        test::fillSyntheticSession(log, 20); // events 0-3: state, hello, epoch, request; 4: the snapshot
        REQUIRE(log.at(4).kind == EventKind::StreamItem);
        REQUIRE(test::writeCaptureFile(path, log));
    }
    MainWindow window;
    window.show();
    REQUIRE(window.openCapture(path, true));
    REQUIRE(window.replay());
    CHECK(window.replay()->position() == 0);
    // Not a blank tree with headers: the pane says why it is empty and where the document starts.
    CHECK_FALSE(window.treePanel()->isShowingContent());
    CHECK(window.treePanel()->emptyText().contains(QStringLiteral("first snapshot is event #4")));
    window.replay()->seek(4);
    CHECK(window.treePanel()->isShowingContent());
    window.replay()->seek(2);
    CHECK_FALSE(window.treePanel()->isShowingContent());
    // Before the first event nothing is selected: the timeline and the detail leave the old one.
    CHECK(window.timeline()->currentEvent() == 2);
    window.replay()->seek(-1);
    CHECK(window.replay()->position() == -1);
    CHECK(window.timeline()->currentEvent() == -1);
    CHECK(window.findChild<FrameDetailPanel*>(QStringLiteral("frameDetail"))->headerText() == QStringLiteral("No event selected."));
    CHECK(window.treePanel()->emptyText().startsWith(QStringLiteral("Before the first event")));
    window.replay()->seek(2);
    // The faults pane says why it has no buttons in a replay, and has them again once it is left.
    auto* faultsPane = window.findChild<EmptyStatePanel*>(QStringLiteral("faultsPanel"));
    REQUIRE(faultsPane);
    CHECK_FALSE(faultsPane->isShowingContent());
    CHECK(faultsPane->emptyText().contains(QStringLiteral("This is a replay")));
    // The status bar follows play and pause, and says nothing of the replay once it is left.
    const auto status = [&](const char* name) { return window.findChild<QLabel*>(QLatin1String(name))->text(); };
    window.replay()->play();
    CHECK(status("statusState") == QStringLiteral("replay: playing"));
    window.replay()->pause();
    CHECK(status("statusState") == QStringLiteral("replay"));
    window.replay()->seek(10);
    CHECK(status("statusSeq") != QStringLiteral("seq –"));
    // Numbered from 0, as the timeline and frame detail number it.
    INFO(status("statusRate").toStdString());
    CHECK(status("statusRate") == QStringLiteral("event #10 of #0\u2013#%1").arg(window.replay()->eventCount() - 1));
    CHECK(window.replayBar()->findChild<QLabel*>(QStringLiteral("replayPosition"))->text() == status("statusRate"));
    CHECK(window.frameDetail()->headerText().contains(QStringLiteral("#10")));
    window.leaveReplay();
    CHECK(window.treePanel()->emptyText().startsWith(QStringLiteral("Not connected.")));
    CHECK(status("statusState") == QStringLiteral("idle"));
    CHECK(faultsPane->isShowingContent());
    CHECK(status("statusSeq") == QStringLiteral("seq –"));
    CHECK(status("statusRate") == QStringLiteral("0 deltas/s"));
    // The speed box's choice holds for the next capture too, whichever way play starts.
    auto* speed = window.findChild<QComboBox*>(QStringLiteral("replaySpeed"));
    REQUIRE(speed);
    speed->setCurrentIndex(speed->findData(5.0));
    REQUIRE(window.openCapture(path, true));
    REQUIRE(window.replay());
    CHECK(window.replay()->speed() == 5.0);

    // The export dialog says plainly when redaction finds nothing to replace (events 0-2: a state
    // change, the hello, the epoch), and what it replaces otherwise.
    ExportDialog dialog(window.replay()->capture(), 0, &window);
    dialog.setFormat(ExportDialog::Format::Har);
    dialog.setRedaction(true, {});
    dialog.setRange(0, 2);
    dialog.refreshPreview();
    CHECK(dialog.summaryText().startsWith(QStringLiteral("Nothing to redact in this range")));
    dialog.setRedaction(true, { QStringLiteral("players/*/email") });
    dialog.setRange(0, 10);
    dialog.refreshPreview();
    CHECK(dialog.summaryText().startsWith(QStringLiteral("Will be redacted")));
}

TEST_CASE("main window: a capture without its end record says its recording did not close cleanly, and names skipped lines only when some were")
{
    QTemporaryDir dir;
    const QString whole = dir.filePath(QStringLiteral("whole.ndjson"));
    qint64 events = 0;
    {
        EventLog log;
        test::fillSyntheticSession(log, 20);
        REQUIRE(test::writeCaptureFile(whole, log));
        events = log.size();
    }
    QList<QByteArray> lines = test::readFileOrFail(whole).split('\n');
    if (lines.last().isEmpty())
        lines.removeLast();
    REQUIRE(lines.last().startsWith("{\"end\":true"));

    // Cut off where a killed recorder stops: nothing skipped, everything up to there shown.
    const QString cutOff = dir.filePath(QStringLiteral("cut-off.ndjson"));
    REQUIRE(test::writeFile(cutOff, lines.mid(0, lines.size() - 1).join('\n') + '\n'));
    MainWindow window;
    window.show();
    REQUIRE(window.openCapture(cutOff, true));
    QString banner = window.errorText();
    CHECK(banner.contains(QStringLiteral("no end record")));
    CHECK(banner.contains(QStringLiteral("The recording did not close cleanly: everything recorded up to then is shown.")));
    CHECK_FALSE(banner.contains(QStringLiteral("skipped")));
    CHECK_FALSE(banner.contains(QStringLiteral("lines named")));
    CHECK(window.replay()->eventCount() == events);

    // A damaged line in the middle of a closed capture: the notice names it, the line says so.
    QList<QByteArray> damagedLines = lines;
    damagedLines[6] = "{\"index\":5,\"ns\":oops";
    const QString damaged = dir.filePath(QStringLiteral("damaged.ndjson"));
    REQUIRE(test::writeFile(damaged, damagedLines.join('\n') + '\n'));
    REQUIRE(window.openCapture(damaged, true));
    banner = window.errorText();
    CHECK(banner.contains(QStringLiteral("line 7: ")));
    CHECK(banner.contains(QStringLiteral("line skipped")));
    CHECK(banner.contains(QStringLiteral("Events were lost at the places named; every event that could be read is shown.")));
    CHECK_FALSE(banner.contains(QStringLiteral("did not close cleanly")));
}

TEST_CASE("main window: a replay of a capture from disk greys out what needs a live session, says why, and leaves by Close replay")
{
    QSettings().clear();
    QTemporaryDir dir;
    const QString path = dir.filePath(QStringLiteral("c.ndjson"));
    {
        EventLog log;
        test::fillSyntheticSession(log, 20);
        REQUIRE(test::writeCaptureFile(path, log));
    }
    MainWindow window;
    window.show();
    REQUIRE(QTest::qWaitForWindowExposed(&window));
    const auto action = [&](const char* name) {
        auto* found = window.findChild<QAction*>(QLatin1String(name));
        REQUIRE(found);
        return found;
    };
    const QList<QAction*> liveOnly { action("connectAction"), action("dropAction"), action("stallAction") };
    const QList<QAction*> faults { action("dropAction"), action("stallAction") };
    QAction* bots = action("botsAction");
    // Live and idle: Connect is offered; the faults, with no connection to act on, are greyed out
    // and say why (Ctrl+D reaches no drop that could only fail with a banner).
    CHECK(action("connectAction")->isEnabled());
    for (QAction* fault : faults) {
        INFO(fault->objectName().toStdString());
        CHECK_FALSE(fault->isEnabled());
        CHECK(fault->toolTip() == QStringLiteral("Connect first: faults act on a live connection."));
        CHECK(fault->statusTip() == fault->toolTip());
    }
    QTest::keyClick(&window, Qt::Key_D, Qt::ControlModifier);
    CHECK(window.errorText().isEmpty());
    // No demo runs (none was started): its bots are not shown running.
    CHECK_FALSE(bots->isEnabled());
    CHECK_FALSE(bots->isChecked());

    REQUIRE(window.openCapture(path, true));
    for (QAction* live : liveOnly) {
        INFO(live->objectName().toStdString());
        CHECK_FALSE(live->isEnabled());
        CHECK(live->toolTip().startsWith(QStringLiteral("Only for a live session")));
        CHECK(live->statusTip() == live->toolTip());
    }
    CHECK_FALSE(bots->isEnabled());
    CHECK_FALSE(bots->isChecked());
    // Ctrl+D no longer reaches a drop that can only fail with a banner.
    QTest::keyClick(&window, Qt::Key_D, Qt::ControlModifier);
    CHECK(window.errorText().isEmpty());
    // Nothing live was here before: the way out says where it goes, not "Back to live".
    auto* leave = window.findChild<QPushButton*>(QStringLiteral("replayLeave"));
    REQUIRE(leave);
    CHECK(leave->text() == QStringLiteral("Close replay"));
    CHECK(liveOnly.front()->toolTip().contains(QStringLiteral("Close replay first")));

    window.leaveReplay();
    for (QAction* live : liveOnly)
        CHECK_FALSE(live->toolTip().contains(QStringLiteral("Only for a live session")));
    CHECK(action("connectAction")->isEnabled());
    for (QAction* fault : faults) {
        CHECK_FALSE(fault->isEnabled()); // still no connection
        CHECK(fault->toolTip().startsWith(QStringLiteral("Connect first")));
    }
    CHECK_FALSE(bots->isChecked());
}

TEST_CASE("main window: a replay's jumps keep the anomaly marks the full fold found up to there")
{
    QTemporaryDir dir;
    const QString path = dir.filePath(QStringLiteral("marks.ndjson"));
    {
        EventLog log;
        test::ScriptedStream stream { log };
        stream.start();
        stream.add(EventKind::StreamItem, R"({"deliver":1,"done":false,"response":{"delta":{"data":{"r":{"@o":[7]}},"seq":2}}})", 2);
        for (int i = 0; i < 300; ++i)
            stream.add(EventKind::StreamItem,
                QByteArray("{\"deliver\":1,\"done\":false,\"response\":{\"delta\":{\"data\":{\"n\":" + QByteArray::number(i) + "},\"seq\":"
                    + QByteArray::number(3 + i) + "}}}"),
                3 + i);
        REQUIRE(test::writeCaptureFile(path, log));
    }
    MainWindow window;
    window.show();
    REQUIRE(window.openCapture(path, true));
    ReplaySession* replay = window.replay();
    REQUIRE(replay);
    QSignalSpy completed(replay, &ReplaySession::checkpointsCompleted);
    REQUIRE((replay->checkpointsComplete() || completed.wait(20000)));
    const auto markOnR = [&] {
        const NodeId r = window.documentTree()->shownTree()->find(u"r");
        return r != kNoNode && !window.documentTree()->model()->indexOfNode(r).data(DocumentTreeModel::AnomalyRole).toStringList().isEmpty();
    };
    // Jumps far past the anomaly (a checkpoint restore) and back before it, then after it again.
    REQUIRE(replay->seek(replay->eventCount() - 1));
    CHECK(markOnR());
    REQUIRE(replay->seek(2));
    CHECK_FALSE(markOnR());
    REQUIRE(replay->seek(10));
    CHECK(markOnR());
}

TEST_CASE("main window: in a replay, the selected node stays selected across seeks, so its history can be stepped through")
{
    QTemporaryDir dir;
    const QString path = dir.filePath(QStringLiteral("history.ndjson"));
    REQUIRE(writeCounterCapture(path, 300));
    MainWindow window;
    window.show();
    REQUIRE(QTest::qWaitForWindowExposed(&window));
    REQUIRE(window.openCapture(path, true));
    ReplaySession* replay = window.replay();
    REQUIRE(replay);
    QSignalSpy completed(replay, &ReplaySession::checkpointsCompleted);
    REQUIRE((replay->checkpointsComplete() || completed.wait(20000)));
    REQUIRE(replay->seek(replay->eventCount() - 1));
    DocumentTreePanel* tree = window.documentTree();
    REQUIRE(tree->selectPath(QStringLiteral("n")));
    QTreeWidget* provenance = tree->provenanceView();
    REQUIRE(test::waitUntil([&] { return provenance->topLevelItemCount() > 2; }, std::chrono::seconds(2)));
    // Each row's kind shows whole ("stream-item (created)" was cut short).
    QTest::qWait(20);
    for (int row = 0; row < provenance->topLevelItemCount(); ++row) {
        const QString kind = provenance->topLevelItem(row)->text(2);
        INFO(kind.toStdString());
        CHECK(provenance->columnWidth(2) >= provenance->fontMetrics().horizontalAdvance(kind));
    }
    // Activate rows of the node's history in turn: far back (a checkpoint restore), the next one
    // (one fold), a few ahead (folded forward).
    for (const int row : { provenance->topLevelItemCount() - 1, 0, 1 }) {
        QTreeWidgetItem* item = provenance->topLevelItem(row);
        REQUIRE(item);
        const qint64 event = item->data(0, Qt::UserRole).toLongLong();
        INFO("row " << row << ", event " << event);
        Q_EMIT provenance->itemActivated(item, 0);
        REQUIRE(test::waitUntil([&] { return replay->position() == event; }, std::chrono::seconds(5)));
        CHECK(tree->currentPath() == QStringLiteral("n"));
        REQUIRE(test::waitUntil([&] { return provenance->topLevelItemCount() > 0; }, std::chrono::seconds(2)));
        CHECK(tree->provenanceTitle()->text().startsWith(QStringLiteral("/n")));
    }
    // A node made by the snapshot: its one row says so, whole.
    REQUIRE(tree->selectPath(QStringLiteral("r/1/a")));
    REQUIRE(test::waitUntil([&] { return provenance->topLevelItemCount() == 1; }, std::chrono::seconds(2)));
    QTest::qWait(20);
    CHECK(provenance->topLevelItem(0)->text(2).endsWith(QStringLiteral("(created)")));
    CHECK(provenance->columnWidth(2) >= provenance->fontMetrics().horizontalAdvance(provenance->topLevelItem(0)->text(2)));
    REQUIRE(tree->selectPath(QStringLiteral("n")));
    // A position where the node is not yet (the snapshot before it): nothing selected; back where
    // it is, selected again.
    REQUIRE(replay->seek(2));
    CHECK(tree->currentPath().isEmpty());
    REQUIRE(replay->seek(200));
    CHECK(tree->currentPath() == QStringLiteral("n"));
}

TEST_CASE("main window: in a replay, a timeline row clicked in any column stays the one selected, and the list stays put")
{
    // The click seeks the replay, and the seek selects its event again: a row clicked outside the
    // Time column was taken for another row and centred mid-press, so the press selected the row
    // that had scrolled under the pointer.
    QSettings().clear();
    QTemporaryDir dir;
    const QString path = dir.filePath(QStringLiteral("clicks.ndjson"));
    REQUIRE(writeCounterCapture(path, 200));
    MainWindow window;
    window.resize(1024, 700);
    window.show();
    REQUIRE(QTest::qWaitForWindowExposed(&window));
    REQUIRE(window.openCapture(path, true));
    ReplaySession* replay = window.replay();
    REQUIRE(replay);
    QSignalSpy completed(replay, &ReplaySession::checkpointsCompleted);
    REQUIRE((replay->checkpointsComplete() || completed.wait(20000)));
    QTableView* view = window.timeline()->view();
    QScrollBar* scroll = view->verticalScrollBar();
    QTest::qWait(50);
    REQUIRE(scroll->maximum() > 0); // enough events that the list scrolls
    const int columns[] = { TimelineModel::KindColumn, TimelineModel::SummaryColumn, TimelineModel::TimeColumn };
    for (int step = 0; step < 3; ++step) {
        // Mid-list, so that centring the clicked row would have room to scroll either way.
        scroll->setValue(scroll->maximum() * (step + 1) / 4);
        QTest::qWait(20);
        const int scrolled = scroll->value();
        // A row well below the middle of the view, whole, and not the current one.
        const QModelIndex row = view->indexAt(QPoint(5, view->viewport()->height() * 3 / 4)).siblingAtColumn(columns[step]);
        REQUIRE(row.isValid());
        REQUIRE(view->viewport()->rect().contains(view->visualRect(row)));
        REQUIRE(row.row() != view->currentIndex().row());
        const qint64 clicked = row.data(TimelineModel::EventIndexRole).toLongLong();
        INFO("column " << columns[step] << ", event " << clicked);
        QTest::mouseClick(view->viewport(), Qt::LeftButton, {}, view->visualRect(row).center());
        REQUIRE(test::waitUntil([&] { return replay->position() == clicked; }, std::chrono::seconds(5)));
        QTest::qWait(20);
        CHECK(window.timeline()->currentEvent() == clicked);
        const QModelIndexList selected = view->selectionModel()->selectedRows();
        REQUIRE(selected.size() == 1);
        CHECK(selected.first().data(TimelineModel::EventIndexRole).toLongLong() == clicked);
        CHECK(scroll->value() == scrolled); // not moved under the pointer
    }
}

TEST_CASE("main window: fits a 1024x600 screen, and keeps a minimum size its panes fit in")
{
    QSettings().clear();
    MainWindow window;
    window.show();
    REQUIRE(QTest::qWaitForWindowExposed(&window));
    // A 1366x768 laptop at 125% scaling has 1,093 x 614 logical pixels, less its panel.
    CHECK(window.minimumSizeHint().width() <= 1024);
    CHECK(window.minimumSizeHint().height() <= 600);
    window.resize(1024, 600);
    QTest::qWait(50);
    CHECK(window.width() == 1024);
    // The incidents keep room for a verdict, not a word a line.
    auto* incidents = window.findChild<QWidget*>(QStringLiteral("incidentsPanel"));
    REQUIRE(incidents);
    CHECK(incidents->width() >= incidents->fontMetrics().horizontalAdvance(QStringLiteral("converged-stale")));
    // Smaller than its minimum, it does not go: fields and badges overlapped at 640x480.
    window.resize(640, 480);
    QTest::qWait(50);
    CHECK(window.width() >= 1024);
    // 600 high, or what the screen has below a title bar when that is less (offscreen: 800x600).
    const int roomy = QGuiApplication::primaryScreen()->availableGeometry().height() - 40;
    CHECK(window.minimumHeight() == std::max(480, std::min(600, roomy)));
    CHECK(window.height() >= window.minimumHeight());
    // At its minimum, each field shows a typical value whole, the state badge is inside the bar, and
    // the timeline's filter bar widgets do not overlap.
    const auto fieldShows = [&](const char* name, const QString& text) {
        auto* edit = window.findChild<QLineEdit*>(QLatin1String(name));
        REQUIRE(edit);
        INFO(name << ": " << edit->width() << " px for " << text.toStdString());
        CHECK(edit->width() >= edit->fontMetrics().horizontalAdvance(text) + 8);
    };
    fieldShows("spaceEdit", QStringLiteral("ticker"));
    fieldShows("keyEdit", QStringLiteral("rate-100"));
    fieldShows("urlEdit", QStringLiteral("ws://127.0.0.1:7777"));
    fieldShows("treeSearch", QStringLiteral("Search keys"));
    fieldShows("payloadSearchEdit", QStringLiteral("regex over payloads"));
    auto* badge = window.findChild<QWidget*>(QStringLiteral("stateBadge"));
    REQUIRE(badge);
    CHECK(badge->mapTo(&window, QPoint(badge->width(), 0)).x() <= window.width());
    QWidget* filterBar = window.findChild<QWidget*>(QStringLiteral("methodFilterEdit"))->parentWidget();
    QList<QRect> taken;
    for (QWidget* child : filterBar->findChildren<QWidget*>(Qt::FindDirectChildrenOnly)) {
        if (!child->isVisible())
            continue;
        for (const QRect& other : std::as_const(taken))
            CHECK_FALSE(other.intersects(child->geometry()));
        taken.append(child->geometry());
    }
}

TEST_CASE("main window: the state badge keeps one width, and the fault log its newest line without a scroll bar over it")
{
    QSettings().clear();
    MainWindow window;
    window.resize(1024, 600);
    window.show();
    REQUIRE(QTest::qWaitForWindowExposed(&window));
    ConnectionBar* bar = window.connectionBar();
    auto* badge = window.findChild<QLabel*>(QStringLiteral("stateBadge"));
    REQUIRE(badge);
    auto* url = window.findChild<QLineEdit*>(QStringLiteral("urlEdit"));
    REQUIRE(url);
    // A countdown ticking in the badge moved the bar's fields; a long state overran the window.
    bar->setStateText(QStringLiteral("idle"), {});
    QTest::qWait(20);
    const int badgeWidth = badge->width();
    const int urlWidth = url->width();
    bar->setStateText(QStringLiteral("reconnecting in 10.0 s"), {});
    QTest::qWait(20);
    CHECK(badge->width() == badgeWidth);
    CHECK(url->width() == urlWidth);
    CHECK(badge->text() == QStringLiteral("reconnecting in 10.0 s"));
    const QString longer = QStringLiteral("reconnecting in 10.0 s, attempt 12 of 16 (server unreachable)");
    bar->setStateText(longer, {});
    QTest::qWait(20);
    CHECK(badge->width() == badgeWidth);
    CHECK(bar->stateText() == longer);
    CHECK(badge->toolTip() == longer);
    CHECK(badge->mapTo(&window, QPoint(badge->width(), 0)).x() <= window.width());

    // The bottom row (charts, faults, incidents) cannot be dragged out of sight.
    auto* vertical = window.findChild<QSplitter*>(QStringLiteral("verticalSplitter"));
    REQUIRE(vertical);
    CHECK_FALSE(vertical->isCollapsible(1));

    QListWidget* log = window.faults()->log();
    CHECK(log->horizontalScrollBarPolicy() == Qt::ScrollBarAlwaysOff);
    for (int i = 0; i < 30; ++i)
        log->addItem(QStringLiteral("line %1 ").arg(i) + QString(200, QLatin1Char('x')));
    log->scrollToTop();
    window.resize(1280, 800);
    QTest::qWait(50);
    // After a resize the newest line is in view again.
    const QRect last = log->visualItemRect(log->item(log->count() - 1));
    CHECK(log->viewport()->rect().intersects(last));
}
