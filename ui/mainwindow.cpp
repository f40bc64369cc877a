#include "ui/mainwindow.h"

#include "core/version.h"
#include "core/protocol/errorcodes.h"
#include "core/session/eventlog.h"
#include "ui/chartspanel.h"
#include "ui/connectionbar.h"
#include "ui/documenttreepanel.h"
#include "ui/faultspanel.h"
#include "ui/exportdialog.h"
#include "ui/framedetailpanel.h"
#include "ui/livecontroller.h"
#include "ui/replaybar.h"
#include "ui/shortcutsdialog.h"
#include "ui/models/incidentsmodel.h"
#include "core/session/incidentanalyzer.h"
#include "core/capture/capturecheckpoints.h"
#include "core/capture/capturereader.h"
#include "core/capture/capturewriter.h"
#include "core/capture/replaysession.h"
#include "ui/messagecomposer.h"
#include "core/server/referenceserver.h"
#include "ui/timelinepanel.h"
#include "ui/emptystatepanel.h"
#include "ui/uistate.h"

#include <QApplication>
#include <QActionGroup>
#include <QFontDatabase>
#include <QCloseEvent>
#include <QDragEnterEvent>
#include <QDateTime>
#include <QDropEvent>
#include <QEventLoop>
#include <QFileDialog>
#include <QFileInfo>
#include <QMimeData>
#include <QProgressDialog>
#include <QPointer>
#include <QScopedValueRollback>
#include <QScreen>
#include <QSettings>
#include <QSignalBlocker>
#include <QHBoxLayout>
#include <QJsonDocument>
#include <QJsonObject>
#include <QHeaderView>
#include <QTableView>
#include <QTreeView>
#include <QSpinBox>
#include <QTimer>
#include <QToolButton>
#include <QUrl>
#include <QLabel>
#include <QLocale>
#include <QMenuBar>
#include <QMessageBox>
#include <QTemporaryFile>
#include <QDir>
#include <QPixmap>
#include <QSortFilterProxyModel>
#include <QSplitter>
#include <QStatusBar>
#include <QVBoxLayout>

// Resources live in a static library; referencing the initialiser keeps the linker from dropping them.
static void initDeltascopeResources()
{
    Q_INIT_RESOURCE(resources);
}

namespace deltascope::ui {

MainWindow::MainWindow(QWidget* parent)
    : QMainWindow(parent)
{
    initDeltascopeResources();
    setObjectName(QStringLiteral("MainWindow"));
    setWindowTitle(QStringLiteral("Deltascope"));
    setWindowIcon(QIcon(QStringLiteral(":/icons/deltascope.svg")));

    auto* central = new QWidget(this);
    auto* layout = new QVBoxLayout(central);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->setSpacing(0);

    m_connectionBar = new ConnectionBar(central);
    m_connectionBar->setObjectName(QStringLiteral("connectionBar"));
    layout->addWidget(m_connectionBar);
    m_composer = new MessageComposer(central);
    m_composer->setObjectName(QStringLiteral("composer"));
    layout->addWidget(m_composer);
    m_replayBar = new ReplayBar(central);
    m_replayBar->setObjectName(QStringLiteral("replayBar"));
    m_replayBar->hide();
    connect(m_replayBar, &ReplayBar::leaveRequested, this, &MainWindow::leaveReplay);
    layout->addWidget(m_replayBar);
    setAcceptDrops(true);

    // The error banner: what happened and what to try, until dismissed or the next success.
    m_errorBanner = new QWidget(central);
    m_errorBanner->setObjectName(QStringLiteral("errorBanner"));
    m_errorBanner->setAutoFillBackground(true);
    QPalette bannerPalette = m_errorBanner->palette();
    bannerPalette.setColor(QPalette::Window, QColor(198, 40, 40));
    bannerPalette.setColor(QPalette::WindowText, Qt::white);
    m_errorBanner->setPalette(bannerPalette);
    auto* bannerLayout = new QHBoxLayout(m_errorBanner);
    bannerLayout->setContentsMargins(8, 4, 8, 4);
    m_errorLabel = new QLabel(m_errorBanner);
    m_errorLabel->setObjectName(QStringLiteral("errorLabel"));
    m_errorLabel->setWordWrap(true);
    m_errorLabel->setTextInteractionFlags(Qt::TextSelectableByMouse);
    bannerLayout->addWidget(m_errorLabel, 1);
    auto* dismiss = new QToolButton(m_errorBanner);
    dismiss->setText(tr("Dismiss"));
    connect(dismiss, &QToolButton::clicked, m_errorBanner, &QWidget::hide);
    bannerLayout->addWidget(dismiss);
    m_errorBanner->hide();
    layout->addWidget(m_errorBanner);

    m_live = new LiveController(this);
    connect(m_live, &LiveController::sessionChanged, this, &MainWindow::onSessionChanged);
    connect(m_live, &LiveController::errorOccurred, this, &MainWindow::showError);
    connect(m_live, &LiveController::errorResolved, this, [this](const QString& what) {
        if (what == m_errorWhat)
            m_errorBanner->hide(); // only that error: a later, different one stays
    });
    connect(m_live, &LiveController::stateChanged, this, &MainWindow::updateStatus);
    // Fault actions follow the connection: offered once it is open, greyed out while it is not.
    connect(m_live, &LiveController::stateChanged, this, &MainWindow::updateLiveOnlyActions);
    connect(m_live, &LiveController::sessionChanged, this, &MainWindow::updateLiveOnlyActions);
    connect(m_live, &LiveController::stateChanged, this, [this](ConnectionState state) {
        if (state == ConnectionState::Streaming && !m_recentWhenStreaming.isEmpty())
            m_connectionBar->remember(std::exchange(m_recentWhenStreaming, QStringList()));
    });
    connect(m_connectionBar, &ConnectionBar::connectRequested, this, &MainWindow::connectFromBar);
    connect(m_connectionBar, &ConnectionBar::disconnectRequested, this, &MainWindow::disconnectSession);
    connect(m_composer, &MessageComposer::sendRequested, this, [this](const QString& channel, const QByteArray& json, bool once) {
        if (LiveSession* session = m_live->session())
            once ? session->sendOnce(channel, json) : session->send(channel, json);
    });
    connect(m_composer, &MessageComposer::viewerStateRequested, this, [this](const QByteArray& json) {
        if (LiveSession* session = m_live->session())
            session->updateViewerState(json);
    });
    m_statusTimer = new QTimer(this);
    m_statusTimer->setInterval(250);
    connect(m_statusTimer, &QTimer::timeout, this, &MainWindow::updateStatus);

    m_treePanel = new EmptyStatePanel(tr("Document tree"), liveTreeEmptyText());
    m_treePanel->setObjectName(QStringLiteral("treePanel"));
    m_timelinePanel = new EmptyStatePanel(tr("Timeline"),
        tr("No events yet.\nEvery frame in and out (snapshots, deltas, acks, failures, pings) appears here "
           "with millisecond times, the gap since the previous frame, and its size."));
    m_timelinePanel->setObjectName(QStringLiteral("timelinePanel"));
    m_detailPanel = new EmptyStatePanel(tr("Frame detail"),
        tr("Select an event in the timeline to see its frame, the paths its delta changed, and the document "
           "before and after it."));
    m_detailPanel->setObjectName(QStringLiteral("detailPanel"));
    // Its contents would ask ~200 px: at the window's minimum (600 px high) the fault buttons,
    // which no longer scroll, need part of that more than the detail's blank space does.
    m_detailPanel->setMinimumHeight(m_detailPanel->fontMetrics().height() * 8);
    m_chartsPanel = new EmptyStatePanel(tr("Charts"),
        tr("Deltas per second, bytes per second, round-trip time and document size are charted here while a "
           "session runs, with markers where faults and reconnects happened."));
    m_chartsPanel->setObjectName(QStringLiteral("chartsPanel"));

    m_documentTree = new DocumentTreePanel(m_treePanel);
    m_documentTree->setObjectName(QStringLiteral("documentTreePanel"));
    m_treePanel->setContent(m_documentTree);

    m_timeline = new TimelinePanel(m_timelinePanel);
    m_timeline->setObjectName(QStringLiteral("timeline"));
    m_timelinePanel->setContent(m_timeline);
    m_frameDetail = new FrameDetailPanel(m_detailPanel);
    m_frameDetail->setObjectName(QStringLiteral("frameDetail"));
    m_detailPanel->setContent(m_frameDetail);
    m_charts = new ChartsPanel(m_chartsPanel);
    m_charts->setObjectName(QStringLiteral("charts"));
    m_chartsPanel->setContent(m_charts);
    connect(m_timeline, &TimelinePanel::currentEventChanged, this, [this](qint64 index) {
        m_frameDetail->showEvent(index);
        m_charts->focusEvent(index);
        selectIncidentAt(index);
        if (m_replay && index >= 0 && !m_syncingReplay && index != m_replay->position())
            m_replay->seek(index);
        updateContentVisibility();
    });
    m_frameDetail->setFailureCodeDescriber([](qint64 code) {
        const ErrorCodeInfo info = errorCodeInfo(int(code));
        FailureCodeInfo out;
        out.known = !info.name.isEmpty();
        out.name = info.meaning.isEmpty() ? info.name : info.name + QStringLiteral(" (") + info.meaning + QStringLiteral(")");
        out.retryable = info.retryable;
        return out;
    });
    m_frameDetail->setDeltaDetailProvider([this](qint64 index) { return streamItemDetail(m_deltaDetails, index); });
    connect(m_frameDetail, &FrameDetailPanel::jumpRequested, m_timeline, &TimelinePanel::selectEvent);
    connect(m_frameDetail, &FrameDetailPanel::pathActivated, this, [this](const QString& path) {
        if (!m_documentTree->selectPath(path))
            statusBar()->showMessage(tr("/%1 is not in the tree shown now (removed since, or in the other tree)").arg(path), 4000);
    });
    connect(m_documentTree, &DocumentTreePanel::eventActivated, m_timeline, &TimelinePanel::selectEvent);

    m_timelineSplitter = new QSplitter(Qt::Vertical);
    m_timelineSplitter->setObjectName(QStringLiteral("timelineSplitter"));
    m_timelineSplitter->addWidget(m_timelinePanel);
    m_timelineSplitter->addWidget(m_detailPanel);
    m_timelineSplitter->setStretchFactor(0, 3);
    m_timelineSplitter->setStretchFactor(1, 2);

    m_sideBySideSplitter = new QSplitter(Qt::Horizontal);
    m_sideBySideSplitter->setObjectName(QStringLiteral("sideBySideSplitter"));
    m_sideBySideSplitter->addWidget(m_treePanel);
    m_sideBySideSplitter->addWidget(m_timelineSplitter);
    m_sideBySideSplitter->setStretchFactor(0, 2);
    m_sideBySideSplitter->setStretchFactor(1, 3);

    m_verticalSplitter = new QSplitter(Qt::Vertical, central);
    m_verticalSplitter->setObjectName(QStringLiteral("verticalSplitter"));
    m_verticalSplitter->addWidget(m_sideBySideSplitter);
    m_incidentsPanel = new EmptyStatePanel(tr("Incidents"),
        tr("No incidents.\nWhen a fault or a lost connection breaks the stream, each incident gets a row here with "
           "its verdict (converged, converged-stale, diverged, gave up), detection and recovery times."));
    m_incidentsPanel->setObjectName(QStringLiteral("incidentsPanel"));
    // Wide enough for a verdict and its number, and for the empty text to wrap a few words a line;
    // below that the Faults pane takes the width (its buttons wrap onto more lines when narrow).
    m_incidentsPanel->setMinimumWidth(m_incidentsPanel->fontMetrics().horizontalAdvance(QLatin1Char('x')) * 24);
    m_incidents = new IncidentsModel(this);
    m_incidentsView = new QTableView(m_incidentsPanel);
    m_incidentsView->setObjectName(QStringLiteral("incidentsView"));
    // Sortable by any column (verdict, detection or recovery time), by the model's SortRole: the
    // numbers, not their text.
    auto* sortedIncidents = new QSortFilterProxyModel(this);
    sortedIncidents->setSourceModel(m_incidents);
    sortedIncidents->setSortRole(IncidentsModel::SortRole);
    m_incidentsView->setModel(sortedIncidents);
    m_incidentsView->setSortingEnabled(true);
    m_incidentsView->sortByColumn(IncidentsModel::NumberColumn, Qt::AscendingOrder);
    m_incidentsView->setSelectionBehavior(QAbstractItemView::SelectRows);
    m_incidentsView->setSelectionMode(QAbstractItemView::SingleSelection);
    m_incidentsView->verticalHeader()->setVisible(false);
    m_incidentsView->horizontalHeader()->setStretchLastSection(true);
    {
        // "#4" needs no 100 px: in a pane a quarter of 1024 px wide, the verdict and the trigger show.
        const int charWidth = m_incidentsView->fontMetrics().horizontalAdvance(QLatin1Char('0'));
        m_incidentsView->horizontalHeader()->resizeSection(IncidentsModel::NumberColumn, charWidth * 6);
        m_incidentsView->horizontalHeader()->resizeSection(IncidentsModel::VerdictColumn, charWidth * 16);
    }
    m_incidentsPanel->setContent(m_incidentsView);
    // Selecting an incident shows its analysis (the Incident event's payload) and moves the
    // timeline and charts there; clicking it again after looking elsewhere does so again, and a
    // double-click (or Enter) goes to where it started.
    const auto showIncident = [this](const QModelIndex& current) {
        if (m_followingTimeline)
            return; // the timeline moved, and this row follows it: nothing to move back
        const qint64 event = current.isValid() ? current.data(IncidentsModel::EventIndexRole).toLongLong() : -1;
        if (event >= 0) // an incident in progress has no report event yet
            m_timeline->selectEvent(event);
    };
    connect(m_incidentsView->selectionModel(), &QItemSelectionModel::currentRowChanged, this, showIncident);
    connect(m_incidentsView, &QAbstractItemView::clicked, this, showIncident);
    connect(m_incidentsView, &QAbstractItemView::activated, this, [this](const QModelIndex& index) {
        const qint64 opened = index.data(IncidentsModel::ReportRole).toJsonObject().value(QLatin1String("openedAtEvent")).toInteger(-1);
        if (opened >= 0)
            m_timeline->selectEvent(opened);
    });
    connect(m_incidents, &QAbstractItemModel::rowsInserted, this, [this] { m_incidentsPanel->showContent(true); });
    connect(m_incidents, &QAbstractItemModel::modelReset, this, [this] { m_incidentsPanel->showContent(m_incidents->rowCount() > 0); });
    connect(m_incidents, &QAbstractItemModel::rowsRemoved, this, [this] { m_incidentsPanel->showContent(m_incidents->rowCount() > 0); });
    m_bottomSplitter = new QSplitter(Qt::Horizontal);
    m_bottomSplitter->setObjectName(QStringLiteral("bottomSplitter"));
    m_faultsPanel = new EmptyStatePanel(tr("Faults"), QString());
    m_faultsPanel->setObjectName(QStringLiteral("faultsPanel"));
    m_faults = new FaultsPanel(m_live, m_faultsPanel);
    m_faults->setObjectName(QStringLiteral("faults"));
    // No scroll area: the faults wrap to the pane's width and the log takes the height left, so
    // its newest line is in view (inside a scroll area taller than the pane, it was below the fold).
    m_faultsPanel->setContent(m_faults);
    m_faultsPanel->showContent(true);
    connect(m_faults, &FaultsPanel::errorOccurred, this, &MainWindow::showError);
    m_bottomSplitter->addWidget(m_chartsPanel);
    m_bottomSplitter->addWidget(m_faultsPanel);
    m_bottomSplitter->addWidget(m_incidentsPanel);
    m_bottomSplitter->setStretchFactor(0, 3);
    m_bottomSplitter->setStretchFactor(1, 0);
    m_bottomSplitter->setStretchFactor(2, 2);
    // Dragged to nothing, the fault buttons were gone with no sign of where.
    m_bottomSplitter->setCollapsible(1, false);
    m_verticalSplitter->addWidget(m_bottomSplitter);
    // The charts, faults and incidents can be made small, not dragged out of sight: a row that
    // vanished under a thin handle left the fault buttons with no way back a user would find.
    m_verticalSplitter->setCollapsible(1, false);
    m_verticalSplitter->setStretchFactor(0, 4);
    m_verticalSplitter->setStretchFactor(1, 1);
    // First-run proportions (a saved layout replaces them): the bottom row tall enough for every
    // fault button and a few lines of their log at 1280x800, the rest to the tree and the timeline
    // (ten rows there), whose rows come ahead of the frame detail's empty space.
    m_verticalSplitter->setSizes({ 340, 190 });
    m_timelineSplitter->setSizes({ 300, 170 });
    // The timeline ahead of the tree: at 1024 px its Summary column needs the room.
    m_sideBySideSplitter->setSizes({ 420, 860 });
    // Charts and faults about even, the incidents' verdicts beside them: at 1280 px the faults wrap
    // onto three lines (at 1024, where the charts keep their minimum width, onto five).
    m_bottomSplitter->setSizes({ 520, 516, 244 });
    layout->addWidget(m_verticalSplitter, 1);
    setCentralWidget(central);

    buildMenus();
    buildStatusBar();
    // Below this the bars' fields and the panes cannot show what they hold (at 640x480 the
    // timeline's filters overlapped and the state badge ran off the edge). Never taller than the
    // screen has room for: a 1366x768 laptop at 125% leaves about 1093x580 below a title bar.
    // 1024 wide: at 960 the timeline's filters overlapped, the replay slider was squeezed to a
    // square and the charts were cut.
    int minimumHeight = 600;
    if (const QScreen* screen = QGuiApplication::primaryScreen())
        minimumHeight = std::min(minimumHeight, screen->availableGeometry().height() - 40); // the title bar
    setMinimumSize(1024, std::max(minimumHeight, 480));
    resize(1280, 800);
    restoreLayout();
}

MainWindow::~MainWindow()
{
    // The session (and its log) goes before the panes that show it, with the panes detached first.
    m_live->disconnect(this);
    m_statusTimer->stop();
    m_loader.reset();
    finishRecording();
    releasePanes();
    m_replay.reset();
    delete m_live;
    m_live = nullptr;
}

void MainWindow::setEventLog(EventLog* log)
{
    if (m_log)
        disconnect(m_log, nullptr, this, nullptr);
    m_log = log;
    m_deltaDetails.setEventLog(log);
    m_timeline->setEventLog(log);
    m_frameDetail->setEventLog(log);
    m_charts->setEventLog(log);
    m_incidents->setEventLog(log);
    if (m_log) {
        connect(m_log, &EventLog::eventsAppended, this, &MainWindow::updateContentVisibility);
        connect(m_log, &EventLog::cleared, this, [this] {
            m_deltaDetails.clear();
            updateContentVisibility();
        });
        connect(m_log, &QObject::destroyed, this, [this] {
            m_log = nullptr;
            updateContentVisibility();
        });
    }
    updateContentVisibility();
}

QStringList MainWindow::recentCaptures() const
{
    return QSettings().value(QStringLiteral("captures/recent")).toStringList();
}

void MainWindow::rememberCapture(const QString& path)
{
    QStringList recent = recentCaptures();
    const QString absolute = QFileInfo(path).absoluteFilePath();
    recent.removeAll(absolute);
    recent.prepend(absolute);
    while (recent.size() > 10)
        recent.removeLast();
    QSettings().setValue(QStringLiteral("captures/recent"), recent);
}

void MainWindow::fillRecentCaptures()
{
    m_recentMenu->clear();
    const QStringList recent = recentCaptures();
    if (recent.isEmpty())
        m_recentMenu->addAction(tr("No recent captures"))->setEnabled(false);
    for (const QString& path : recent)
        m_recentMenu->addAction(path, this, [this, path] { openCapture(path); });
}

QString MainWindow::recordingPath() const
{
    return m_writer ? m_writer->path() : m_lastRecording;
}

void MainWindow::dragEnterEvent(QDragEnterEvent* event)
{
    const QList<QUrl> urls = event->mimeData()->urls();
    if (urls.size() == 1 && urls.front().isLocalFile())
        event->acceptProposedAction();
}

void MainWindow::dropEvent(QDropEvent* event)
{
    const QList<QUrl> urls = event->mimeData()->urls();
    if (urls.size() == 1 && urls.front().isLocalFile()) {
        event->acceptProposedAction();
        openCapture(urls.front().toLocalFile());
    }
}

bool MainWindow::shadowChecksEnabled()
{
    return QSettings().value(QStringLiteral("incidents/shadowCheck"), true).toBool();
}

bool MainWindow::openCapture(const QString& path, bool wait)
{
    const QFileInfo info(path);
    if (!info.isFile()) {
        showError(info.isDir() ? tr("Cannot open '%1': it is a folder, not a capture file.").arg(path)
                               : tr("Cannot open '%1': there is no such file.").arg(path),
            tr("Check the path, or pick a file with File ▸ Open Capture (Ctrl+O)."));
        return false;
    }
    m_loader = std::make_unique<CaptureLoader>();
    QProgressDialog* progress = loadingProgress(m_loader.get(), tr("Opening %1…").arg(QFileInfo(path).fileName()), 300);
    bool done = false;
    bool ok = false;
    connect(m_loader.get(), &CaptureLoader::finished, this, [this, progress, path, &done, &ok, wait](bool success, const QString& error) {
        progress->close();
        onCaptureLoaded(success, error, path);
        if (wait) {
            done = true;
            ok = success;
        }
    });
    m_loader->open(path);
    if (!wait)
        return true;
    QEventLoop loop;
    while (!done)
        loop.processEvents(QEventLoop::WaitForMoreEvents, 50);
    return ok && m_replay;
}

QProgressDialog* MainWindow::loadingProgress(CaptureLoader* loader, const QString& text, int minimumDurationMs)
{
    auto* progress = new QProgressDialog(text, tr("Cancel"), 0, 1000, this);
    progress->setObjectName(QStringLiteral("captureProgress"));
    progress->setWindowModality(Qt::WindowModal);
    progress->setMinimumDuration(minimumDurationMs);
    progress->setAttribute(Qt::WA_DeleteOnClose);
    connect(progress, &QProgressDialog::canceled, loader, &CaptureLoader::cancel);
    connect(loader, &CaptureLoader::progress, progress, [progress, decompressing = false](int phase, qint64 done, qint64 total) mutable {
        // Reading the lines fills the bar, after decompressing (phase 0) when there is that; the
        // checkpoints are made in the background once the capture is open.
        const double fraction = total > 0 ? double(done) / double(total) : 0;
        decompressing = decompressing || phase == 0;
        const int from = decompressing && phase >= 1 ? 500 : 0;
        const int span = decompressing ? 499 : 999;
        progress->setValue(phase >= 2 ? 999 : from + int(fraction * span));
    });
    return progress;
}

std::unique_ptr<Capture> MainWindow::loadCaptureWaiting(const QString& path, const QString& text, QString* error)
{
    CaptureLoader loader;
    // Shown at once: window-modal, it keeps the window's input (Disconnect, a demo, a dropped
    // file) out of the wait below, whose caller goes on afterwards.
    QProgressDialog* progress = loadingProgress(&loader, text, 0);
    bool done = false;
    bool ok = false;
    connect(&loader, &CaptureLoader::finished, this, [&](bool success, const QString& why) {
        progress->close();
        done = true;
        ok = success;
        *error = why;
    });
    loader.open(path);
    QEventLoop loop;
    while (!done)
        loop.processEvents(QEventLoop::WaitForMoreEvents, 50);
    return ok ? loader.takeCapture() : nullptr;
}

std::unique_ptr<Capture> MainWindow::liveSessionCapture(QString* error)
{
    LiveSession* session = m_live->session();
    if (!session) {
        if (m_lastRecording.isEmpty()) {
            *error = tr("there is no session and no recording to export");
            return nullptr;
        }
        const QString recording = m_lastRecording;
        return loadCaptureWaiting(recording, tr("Reading %1…").arg(QFileInfo(recording).fileName()), error);
    }
    // The session's events as they are now, written as a capture of their own: its recording may
    // have no end record yet (its last lines on their way to the disk), or may not have started.
    // Taken before the wait below, which runs the event loop, where the session may end.
    const QString recording = m_sessionRecording;
    QTemporaryFile file(QDir::temp().filePath(QStringLiteral("deltascope-export-XXXXXX.ndjson")));
    if (!file.open()) {
        *error = tr("cannot create a temporary file in %1 to read this session from: %2").arg(QDir::tempPath(), file.errorString());
        return nullptr;
    }
    // Written a slice at a time with the event loop running between slices: a long session takes
    // seconds, and a window that stops that long stops answering the server's pings too. The
    // events it has now are written; those that arrive meanwhile go on into the live view.
    QPointer<LiveSession> alive(session);
    const qint64 eventsNow = session->log().size();
    auto* progress = new QProgressDialog(tr("Writing this session…"), tr("Cancel"), 0, 1000, this);
    progress->setObjectName(QStringLiteral("sessionWriteProgress"));
    progress->setWindowModality(Qt::WindowModal);
    progress->setMinimumDuration(300);
    progress->setAttribute(Qt::WA_DeleteOnClose);
    bool cancelled = false;
    const QMetaObject::Connection cancel = connect(progress, &QProgressDialog::canceled, this, [&cancelled] { cancelled = true; });
    QString writeError;
    const bool written = CaptureWriter::writeLog(session->log(), m_recordingHeader, file, false, &writeError, [&](double done) {
        progress->setValue(int(done * 999));
        QCoreApplication::processEvents();
        // The session's log, as long as it still holds what is being written.
        return !cancelled && alive && alive->log().size() >= eventsNow;
    });
    disconnect(cancel); // closing the dialog emits canceled() too
    progress->close();
    if (!written) {
        if (writeError == u"cancelled" && !cancelled)
            *error = tr("the session ended while it was being written for the export; export its recording instead (File ▸ Open, then Export)");
        else if (writeError == u"cancelled")
            *error = writeError;
        else
            *error = tr("cannot write this session to the temporary file %1: %2").arg(file.fileName(), writeError);
        return nullptr;
    }
    file.close();
    std::unique_ptr<Capture> capture = loadCaptureWaiting(file.fileName(), tr("Reading this session…"), error);
    // What the report names: the session's recording, not the copy read (the copy when the
    // recording did not start).
    if (capture && !recording.isEmpty())
        capture->path = recording;
    return capture;
}

void MainWindow::onCaptureLoaded(bool ok, const QString& error, const QString& path)
{
    std::unique_ptr<Capture> capture = ok && m_loader ? m_loader->takeCapture() : nullptr;
    if (!capture) {
        if (error != u"cancelled")
            showError(tr("Could not open the capture '%1': %2").arg(QFileInfo(path).fileName(), error),
                tr("Is it a Deltascope capture (.ndjson or .ndjson.zst)? A HAR file can be converted with deltascope-cli import."));
        return;
    }
    const QStringList notices = capture->notices();
    // Replay replaces the live view: the session stops, its recording is finished.
    m_live->disconnectSession();
    finishRecording();
    m_syncingReplay = true;
    releasePanes(); // a replay already open (a second capture opened over it) goes below
    m_replay = std::make_unique<ReplaySession>(std::move(capture));
    // A far jump right after opening a big capture waits for the background fold off this thread.
    m_replay->setDeferSeeksUntilFolded(true);
    setEventLog(m_replay->capture().log.get());
    m_documentTree->setSource(&m_replay->folder(), m_replay->capture().log.get());
    m_charts->setComplete(true);
    if (CaptureCheckpoints* checkpoints = m_replay->capture().checkpoints.get()) {
        // The document-size chart of a replay: the node counts the checkpoint fold samples, as it
        // gets to them. The checkpoints are the context, so nothing queued outlives them.
        const auto shown = std::make_shared<std::size_t>(0);
        const auto addNodeSamples = [this, checkpoints, shown] {
            for (const CaptureCheckpoints::NodeSample& sample : checkpoints->nodeSamples(*shown)) {
                m_charts->addNodeSample(sample.monotonicNs, sample.nodes);
                ++*shown;
            }
        };
        // Connected first: a fold that completes in between still reaches the chart.
        connect(checkpoints, &CaptureCheckpoints::progress, checkpoints, addNodeSamples);
        connect(checkpoints, &CaptureCheckpoints::completed, checkpoints, addNodeSamples);
        addNodeSamples();
    }
    m_syncingReplay = false;
    m_replayBar->setReplay(m_replay.get());
    connect(m_replay.get(), &ReplaySession::positionChanged, this, [this](qint64 index) {
        m_syncingReplay = true;
        if (index >= 0)
            m_timeline->selectEvent(index);
        else
            m_timeline->clearSelection(); // before the first event: nothing is selected
        m_syncingReplay = false;
        // A step onto a stream item flashes what it changed, as live folding does.
        if (index >= 0 && m_replay->capture().log->at(index).kind == EventKind::StreamItem)
            m_documentTree->noteFolded(index);
        updateReplayTree(index);
        updateStatus();
    });
    connect(m_replay.get(), &ReplaySession::playingChanged, this, &MainWindow::updateStatus); // "replay: playing" or not
    // A jump restores a checkpoint, or folds ahead without signals: the anomaly marks are those
    // the full fold found in this epoch up to the new position.
    const auto remarkAnomalies = [this] { m_documentTree->setAnomalies(m_replay->anomaliesSoFar()); };
    connect(m_replay.get(), &ReplaySession::treeReset, this, remarkAnomalies);
    connect(m_replay.get(), &ReplaySession::checkpointsCompleted, this, remarkAnomalies);
    m_connectionBar->hide();
    m_composer->hide();
    m_replayBar->show();
    // A capture opened from disk (or before any connection) has no live session to go back to.
    const bool liveSessionBehind = m_live->session() != nullptr;
    m_replayBar->setLiveSessionBehind(liveSessionBehind);
    // Fault buttons act on a live session; in a replay they would only be disabled.
    m_faultsPanel->setEmptyText(tr("Faults act on a live session. This is a replay: the faults it recorded are in the timeline "
                                   "(kind \"fault\"), their incidents beside this pane. %1")
                                    .arg(liveSessionBehind ? tr("Back to live to inject more.") : tr("Close the replay and connect to inject more.")));
    m_faultsPanel->showContent(false);
    for (QAction* action : std::as_const(m_replayActions))
        action->setEnabled(true);
    updateLiveOnlyActions();
    m_stateLabel->setText(tr("replay"));
    m_recordingLabel->setText(tr("replaying %1").arg(QFileInfo(path).fileName()));
    setWindowTitle(tr("%1 — Deltascope").arg(QFileInfo(path).fileName()));
    rememberCapture(path);
    m_errorBanner->hide();
    if (!notices.isEmpty())
        showError(tr("The capture was opened, with problems: %1").arg(notices.join(QStringLiteral("; "))), whatReplayShows(m_replay->capture()));
    m_firstDocumentEvent = -1;
    const EventLog& log = *m_replay->capture().log;
    for (const qint64 i : log.indexesOfKind(EventKind::StreamItem)) { // the kind index, not a scan of every event
        if (log.at(i).parts & PartData) {
            m_firstDocumentEvent = i;
            break;
        }
    }
    m_replay->seek(m_replay->eventCount() > 0 ? 0 : -1);
    updateReplayTree(m_replay->position());
}

QString MainWindow::whatReplayShows(const Capture& capture)
{
    // Only what is true of this capture: a recording cut off loses no line, and a reader that
    // skips a damaged line goes on after it.
    if (capture.lostPlaces > 0)
        return tr("Events were lost at the places named; every event that could be read is shown.");
    if (capture.truncatedTail)
        return tr("Its unreadable last line is left out; every event before it is shown.");
    if (!capture.closedCleanly && capture.eventsAfterEndLine == 0) {
        return capture.secondCaptureLine
            ? tr("Its first recording did not close cleanly: everything recorded up to then is shown, the capture after it is not read.")
            : tr("The recording did not close cleanly: everything recorded up to then is shown.");
    }
    if (capture.secondCaptureLine)
        return tr("The file's first capture is shown, whole.");
    return tr("Every event in the file is shown.");
}

QString MainWindow::liveTreeEmptyText() const
{
    return tr("Not connected.\nThe document your client has folded appears here, with list kinds, element ids "
              "and which delta changed each node, once a stream delivers its first snapshot.");
}

void MainWindow::updateReplayTree(qint64 index)
{
    // Before the first data there is no document to show: a blank tree would look broken.
    if (m_firstDocumentEvent < 0) {
        m_treePanel->setEmptyText(tr("No document in this capture.\nNone of its %1 events is a stream item carrying data, "
                                     "so there is nothing to fold.")
                                      .arg(m_replay->eventCount()));
        m_treePanel->showContent(false);
        return;
    }
    if (index < 0)
        m_treePanel->setEmptyText(tr("Before the first event: no document yet.\nThe first snapshot is event #%1: step forward to it, "
                                     "or use delta \u25B6.")
                                      .arg(m_firstDocumentEvent));
    else if (index < m_firstDocumentEvent)
        m_treePanel->setEmptyText(tr("No document yet at event #%1.\nThe first snapshot is event #%2: step forward to it, or use "
                                     "delta \u25B6.")
                                      .arg(index)
                                      .arg(m_firstDocumentEvent));
    m_treePanel->showContent(index >= m_firstDocumentEvent);
}

void MainWindow::leaveReplay()
{
    closeReplay(true);
}

void MainWindow::releasePanes()
{
    // Everything that shows the replay (or the session) lets go of it before it is destroyed: the
    // replay bar held a destroyed replay when a second capture was opened over the first.
    if (m_replay)
        m_replay->pause();
    m_replayBar->setReplay(nullptr);
    m_documentTree->setSource(nullptr, nullptr);
    setEventLog(nullptr);
}

void MainWindow::closeReplay(bool showLastSession)
{
    if (!m_replay)
        return;
    releasePanes();
    m_replay.reset();
    m_charts->setComplete(false);
    m_replayBar->hide();
    m_connectionBar->show();
    m_composer->show();
    m_faultsPanel->showContent(true);
    for (QAction* action : std::as_const(m_replayActions))
        action->setEnabled(false);
    updateLiveOnlyActions();
    setWindowTitle(QStringLiteral("Deltascope"));
    m_recordingLabel->setText(tr("not recording"));
    m_treePanel->setEmptyText(liveTreeEmptyText());
    m_treePanel->showContent(false);
    if (LiveSession* session = m_live->session(); session && showLastSession) {
        // The session the status bar describes: its timeline, tree and recording, as it ended.
        setEventLog(&session->log());
        m_documentTree->setSource(&session->folder(), &session->log());
        // Its own anomaly marks (of its last epoch), not the replay's left on the model.
        m_documentTree->setAnomalies(session->loggedAnomalies(session->folder().epoch()));
        m_treePanel->showContent(session->folder().epochHasData());
        if (!m_lastRecording.isEmpty())
            m_recordingLabel->setText(tr("recorded %1").arg(QFileInfo(m_lastRecording).fileName()));
    }
    updateStatus();
}

void MainWindow::exportCapture()
{
    if (m_replay) {
        ExportDialog dialog(m_replay->capture(), m_replay->position(), this);
        if (dialog.exec() == QDialog::Accepted)
            statusBar()->showMessage(dialog.writtenSummary(), 10000);
        return;
    }
    if (!m_live->session() && m_lastRecording.isEmpty()) {
        showError(tr("There is nothing to export yet."), tr("Connect to a document (every session is recorded) or open a capture (Ctrl+O)."));
        return;
    }
    // The live session goes on: the export is made from its events so far.
    QString error;
    const std::unique_ptr<Capture> capture = liveSessionCapture(&error);
    if (!capture) {
        if (error != u"cancelled")
            showError(tr("Could not export this session: %1").arg(error),
                tr("Check the captures folder and the temporary folder are readable and writable."));
        return;
    }
    ExportDialog dialog(*capture, liveExportCurrentEvent(capture->log->size()), this);
    if (dialog.exec() == QDialog::Accepted)
        statusBar()->showMessage(dialog.writtenSummary(), 10000); // where it went, as the only sign it did
}

qint64 MainWindow::liveExportCurrentEvent(qint64 eventCount) const
{
    // The capture has the session's event numbers: the selection names the same event there.
    const qint64 selected = m_timeline->currentEvent();
    return selected >= 0 && selected < eventCount ? selected : eventCount - 1;
}

void MainWindow::selectIncidentAt(qint64 event)
{
    // The incident whose span (opened .. reported) holds the event, as the other panes follow the
    // timeline; none outside every incident.
    QAbstractItemModel* shown = m_incidentsView->model();
    QModelIndex row;
    for (int r = 0; event >= 0 && r < shown->rowCount(); ++r) {
        const QModelIndex at = shown->index(r, 0);
        const qint64 reported = at.data(IncidentsModel::EventIndexRole).toLongLong();
        const qint64 opened = at.data(IncidentsModel::ReportRole).toJsonObject().value(QLatin1String("openedAtEvent")).toInteger(-1);
        if (reported >= 0 && event <= reported && event >= (opened >= 0 ? opened : reported)) {
            row = at;
            break;
        }
    }
    const QScopedValueRollback<bool> following(m_followingTimeline, true);
    if (!row.isValid()) {
        m_incidentsView->selectionModel()->clear();
        return;
    }
    m_incidentsView->selectionModel()->setCurrentIndex(row, QItemSelectionModel::ClearAndSelect | QItemSelectionModel::Rows);
    m_incidentsView->scrollTo(row);
}

void MainWindow::showError(const QString& what, const QString& whatToTry)
{
    m_errorWhat = what;
    m_errorLabel->setText(QStringLiteral("<b>%1</b><br>%2").arg(what.toHtmlEscaped(), whatToTry.toHtmlEscaped()));
    m_errorBanner->show();
}

QString MainWindow::errorText() const
{
    return m_errorBanner->isHidden() ? QString() : m_errorLabel->text();
}

void MainWindow::setInsecure(bool insecure)
{
    m_insecure = insecure;
    m_connectionBar->setInsecure(insecure);
}

bool MainWindow::startDemo(const QString& space, const DemoDocument& document)
{
    if (const QString error = m_live->startDemoServer(); !error.isEmpty()) {
        showError(error, tr("Another program may hold the loopback ports; try again, or run with --no-demo and connect to a server with --url."));
        return false;
    }
    m_live->setDemoBotsPaused(!m_demoBotsWanted);
    updateLiveOnlyActions(); // the bots toggle, now that there are bots
    for (QAction* action : m_demoMenu->actions()) {
        if (action->data().toString() == space)
            action->setChecked(true);
    }
    m_connectionBar->setUrl(m_live->demoUrl());
    m_connectionBar->setIdentity(document.identity.isEmpty() ? QStringLiteral("anonymous:deltascope") : document.identity);
    m_connectionBar->setSpace(space);
    m_connectionBar->setKey(document.key.isEmpty() ? QStringLiteral("demo") : document.key);
    if (!document.viewerState.isEmpty())
        m_connectionBar->setViewerState(document.viewerState);
    // A message the demo's document takes (core/server): chat's say, game's play of a cell (taken
    // when it is this viewer's turn); ticker and big have no channel, so nothing is offered.
    if (space == u"chat") {
        m_composer->setChannel(QStringLiteral("say"));
        m_composer->setMessage(QStringLiteral("{\"what\":\"hello from Deltascope\"}"));
    } else if (space == u"game") {
        m_composer->setChannel(QStringLiteral("play"));
        m_composer->setMessage(QStringLiteral("{\"id\":5}"));
    } else {
        m_composer->setChannel(QString());
        m_composer->setMessage(QString());
    }
    return connectFromBar();
}

bool MainWindow::connectFromBar()
{
    if (const QString error = m_connectionBar->viewerStateError(); !error.isEmpty()) {
        showError(error, tr("Fix the viewer state in the connection bar (a JSON object such as {\"page\":0}), or clear it."));
        m_connectionBar->focusViewerState();
        return false;
    }
    const QUrl url(m_connectionBar->url());
    if (!url.isValid() || (url.scheme() != u"ws" && url.scheme() != u"wss")) {
        showError(tr("'%1' is not a WebSocket URL.").arg(m_connectionBar->url()),
            tr("Use ws://HOST:PORT/~s or wss://HOST/~s (or pick a document from the Demo menu)."));
        return false;
    }
    if (m_connectionBar->space().isEmpty() || m_connectionBar->key().isEmpty()) {
        showError(tr("A space and a key are needed to open a document."), tr("Fill in Space and Key in the connection bar."));
        return false;
    }
    DocumentTarget target;
    target.url = url;
    target.identity = m_connectionBar->identity();
    target.space = m_connectionBar->space();
    target.key = m_connectionBar->key();
    target.viewerState = m_connectionBar->viewerState().toUtf8();
    // The previous error goes first: what connecting itself says (the session is not recorded,
    // the fault proxy did not start) must stay in view.
    m_errorBanner->hide();
    QString error;
    if (!m_live->connectTo(target, m_insecure, &error))
        return false;
    // Recent gets the connection once it streams: a URL that never worked (a typo, a server that
    // is down) would be a dead entry. Nor does the embedded demo server's, on a new port each run
    // (the Demo menu reopens its documents).
    m_recentWhenStreaming = m_live->demoUrl().isEmpty() || url != QUrl(m_live->demoUrl()) ? m_connectionBar->currentEntry() : QStringList();
    return true;
}

void MainWindow::disconnectSession()
{
    m_live->disconnectSession();
    if (m_writer) {
        // The recording ends with the session: the end record makes it a cleanly closed capture.
        finishRecording();
        m_recordingLabel->setText(tr("recorded %1").arg(QFileInfo(m_lastRecording).fileName()));
    }
    updateStatus();
}

void MainWindow::finishRecording()
{
    if (m_analyzer)
        m_analyzer->finish();
    m_analyzer = nullptr;
    m_incidents->clearOpenIncident();
    if (m_writer) {
        m_lastRecording = m_writer->path();
        m_writer.reset();
    }
}

void MainWindow::onSessionChanged(LiveSession* session)
{
    // A replay open until now: its log goes before the panels are given the session's (they would
    // read the freed one meanwhile).
    closeReplay(false);
    finishRecording(); // the previous session's: its open incident, then the end record
    setEventLog(session ? &session->log() : nullptr);
    if (session)
        m_timeline->setFollowing(true); // a new session is watched at its newest event, whatever a replay left
    m_documentTree->setSource(session ? &session->folder() : nullptr, session ? &session->log() : nullptr);
    m_treePanel->showContent(false);
    m_sessionFirstVersion.clear();
    m_reloadScan = 0;
    m_reloads = 0;
    m_versionLabel->clear();
    m_versionLabel->setStyleSheet(QString());
    m_composer->clearOutcome(); // a result of the previous session's send says nothing of this one
    if (session) {
        // Every session is recorded: the capture is the backing store a replay opens later.
        capture::Header header;
        header.tool = QStringLiteral("deltascope %1").arg(QString::fromLatin1(kVersion));
        header.startedWallMs = QDateTime::currentMSecsSinceEpoch();
        // Without user info, as the client names it: a password in the URL is no more the
        // capture's to keep than an identity token is.
        header.endpoint = QUrl(m_connectionBar->url()).toString(QUrl::RemoveUserInfo);
        header.space = m_connectionBar->space();
        header.key = m_connectionBar->key();
        header.source = QStringLiteral("record");
        CaptureWriterOptions options;
        options.path = CaptureWriter::newCapturePath(CaptureWriter::capturesFolder(), header.space, header.key);
        if (!m_connectionBar->identity().isEmpty())
            options.identities = QStringList { m_connectionBar->identity() };
        m_recordingHeader = header;
        m_sessionRecording.clear();
        m_writer = std::make_unique<CaptureWriter>(&session->log(), header, options);
        QString error;
        if (!m_writer->start(&error)) {
            m_writer.reset();
            CaptureWriter::releaseCapturePath(options.path);
            m_recordingLabel->setText(tr("not recording"));
            showError(tr("This session is not being recorded: %1").arg(error),
                tr("Check that the captures folder is writable, or choose another one in the settings (captures/folder)."));
        } else {
            m_sessionRecording = options.path;
            m_recordingLabel->setText(tr("recording %1").arg(QFileInfo(options.path).fileName()));
            m_recordingLabel->setToolTip(options.path);
            connect(m_writer.get(), &CaptureWriter::writeFailed, this, [this](const QString& message) {
                m_recordingLabel->setText(tr("recording failed"));
                showError(tr("Recording stopped: %1").arg(message), tr("Free some disk space or check the captures folder; the session itself goes on."));
            });
        }
    }
    if (session) {
        connect(session, &LiveSession::stateChanged, this, &MainWindow::updateStatus);
        // What became of a message sent from the composer (or a viewer-state update): the ack's
        // seq, or the failure code and its meaning, where the user sent it from.
        connect(&session->client(), &ProtocolClient::requestFinished, this,
            [this](qint64 requestId, const QString& method, bool ok, int code, const QByteArray& frame) {
                const bool send = method.startsWith(QLatin1String("connection/send")) || method == u"documents/create-dedupe";
                if (!send && method != u"connection/update")
                    return;
                if (ok) {
                    const qint64 seq = QJsonDocument::fromJson(frame).object().value(u"response").toObject().value(u"seq").toInteger(-1);
                    if (method == u"documents/create-dedupe")
                        return; // the send-once it prepares answers next
                    m_composer->showOutcome(method == u"connection/update" ? tr("viewer state updated (request %1)").arg(requestId)
                            : seq >= 0 ? tr("sent: seq %1 (request %2)").arg(seq).arg(requestId)
                                       : tr("sent (request %1)").arg(requestId),
                        false);
                    return;
                }
                const ErrorCodeInfo info = errorCodeInfo(code);
                const QString what = code == 0 ? tr("not sent (no connection)")
                    : info.name.isEmpty()      ? tr("failed with %1").arg(code)
                                               : tr("failed with %1 %2").arg(code).arg(info.name);
                // The reason first: the label is narrow, and the method is the one just sent.
                m_composer->showOutcome(tr("%1 (%2, request %3)").arg(what, method).arg(requestId), true);
            });
        // Every incident is analysed, and checked against a fresh snapshot over a second socket.
        auto* analyzer = new IncidentAnalyzer(&session->log(), session);
        m_analyzer = analyzer;
        // An incident still open is a row "in progress" (a server that stays down keeps it open for
        // as long as the client retries); its verdict replaces it once it closes.
        connect(analyzer, &IncidentAnalyzer::incidentOpened, m_incidents, &IncidentsModel::setOpenIncident);
        connect(analyzer, &IncidentAnalyzer::incidentClosed, m_incidents, &IncidentsModel::clearOpenIncident);
        // Incidents closed by a timer or a shadow check are timed now, on the session's clock.
        analyzer->setClock([clock = &session->clock()] { return clock->nowNs(); });
        DocumentTarget truth;
        truth.url = QUrl(m_connectionBar->url());
        truth.identity = m_connectionBar->identity();
        truth.space = m_connectionBar->space();
        truth.key = m_connectionBar->key();
        truth.viewerState = m_connectionBar->viewerState().toUtf8();
        const bool shadowChecks = shadowChecksEnabled();
        if (shadowChecks)
            analyzer->setShadowTarget(truth);
        // The viewer state the client holds now (the user's updates, the document's pushes): the
        // message bar shows it, and a shadow check connects with it, as a retry would.
        connect(&session->client(), &ProtocolClient::viewerStateChanged, this, [this, analyzer, truth, shadowChecks](const QByteArray& json) mutable {
            m_composer->setViewerState(QString::fromUtf8(json));
            truth.viewerState = json;
            if (shadowChecks)
                analyzer->setShadowTarget(truth);
        });
        analyzer->setShadowInsecure(m_insecure);
        analyzer->setTreeSource(&session->folder()); // the session folds the same stream
        // Document size for the charts, counted when a bucket needs it (counting may walk the tree).
        m_charts->setNodeCounter([session = QPointer<LiveSession>(session)] {
            if (!session)
                return qint64(-1);
            // Between a new stream's start (which empties the epoch tree) and its snapshot, a change
            // still to count is the previous stream's.
            const SessionFolder& folder = session->folder();
            return qint64((folder.epochHasData() ? folder.epochTree() : folder.previousEpochTree()).nodeCount());
        });
        // The last change of the previous stream is counted before the new stream's items come.
        connect(&session->folder(), &SessionFolder::epochStarted, m_charts, &ChartsPanel::flushNodeSample);
        connect(&session->folder(), &SessionFolder::itemFolded, this, [this, session](qint64 eventIndex) {
            m_charts->documentChanged(session->log().at(eventIndex).monotonicNs);
            if (!m_treePanel->isShowingContent())
                m_treePanel->showContent(true);
        });
        m_statusTimer->start();
    }
    updateStatus();
}

bool MainWindow::recordFault(const QString& name, const QJsonObject& params)
{
    LiveSession* session = m_live->session();
    if (!session)
        return false;
    session->recordLocal(EventKind::FaultInjected,
        QJsonDocument(QJsonObject { { QStringLiteral("fault"), name }, { QStringLiteral("params"), params }, { QStringLiteral("corrupting"), false } })
            .toJson(QJsonDocument::Compact));
    return true;
}

bool MainWindow::injectDrop()
{
    LiveSession* session = m_live->session();
    if (!session || !m_live->isActive()) {
        showError(tr("There is no live connection to drop."), tr("Connect first (Ctrl+Return), or open a demo from the Demo menu."));
        return false;
    }
    if (m_live->faultProxy()) {
        // Through the proxy both ends lose the connection, as with a real network reset.
        QString error;
        if (m_live->applyFault(QStringLiteral("drop"), QJsonObject { { QStringLiteral("mode"), QStringLiteral("rst") } }, &error))
            return true;
        showError(tr("The drop could not be injected: %1").arg(error), tr("Try again once the connection is streaming."));
        return false;
    }
    recordFault(QStringLiteral("drop"), QJsonObject { { QStringLiteral("mode"), QStringLiteral("rst") }, { QStringLiteral("side"), QStringLiteral("client") } });
    session->dropSocket(Transport::CloseMode::Abort);
    return true;
}

bool MainWindow::injectStall(int milliseconds)
{
    if (!m_live->session() || !m_live->isActive()) {
        showError(tr("There is no live connection to stall."), tr("Connect first (Ctrl+Return), or open a demo from the Demo menu."));
        return false;
    }
    if (m_live->faultProxy()) {
        QString error;
        if (m_live->applyFault(QStringLiteral("stall"), QJsonObject { { QStringLiteral("durationMs"), milliseconds } }, &error))
            return true;
        showError(tr("The stall could not be injected: %1").arg(error), tr("Try again once the connection is streaming."));
        return false;
    }
    if (!m_live->demoServer()) {
        showError(tr("A half-open stall needs the fault proxy or the embedded demo server."),
            tr("Turn on Session \u25B8 Route through the fault proxy and connect again, or open a document from the Demo menu."));
        return false;
    }
    const int affected = m_live->stallDemoServer(milliseconds);
    if (affected == 0) {
        showError(tr("The demo server had no socket to stall."), tr("Wait until the connection is streaming, then try again."));
        return false;
    }
    recordFault(QStringLiteral("stall"), QJsonObject { { QStringLiteral("ms"), milliseconds }, { QStringLiteral("side"), QStringLiteral("server") } });
    return true;
}

qint64 recordedRttMs(const EventLog& log, qint64 position)
{
    // The server reports the round trip it measured in its next ping; a socket's first ping has
    // none yet (it says "0"), and a new socket has measured nothing until its second.
    const std::vector<qint64>& pings = log.indexesOfKind(EventKind::Ping);
    const std::vector<qint64>& hellos = log.indexesOfKind(EventKind::Hello);
    const auto lastAtOrBefore = [position](const std::vector<qint64>& indexes) {
        const auto after = std::upper_bound(indexes.begin(), indexes.end(), position);
        return after == indexes.begin() ? indexes.end() : std::prev(after);
    };
    const auto ping = lastAtOrBefore(pings);
    if (ping == pings.end())
        return -1;
    const auto hello = lastAtOrBefore(hellos);
    const qint64 socketStart = hello == hellos.end() ? -1 : *hello;
    if (*ping < socketStart)
        return -1; // a new socket since, which has measured nothing yet
    if (ping == pings.begin() || *std::prev(ping) < socketStart)
        return -1; // the socket's first ping
    return log.at(*ping).code >= 0 ? log.at(*ping).code : -1;
}

void MainWindow::updateStatus()
{
    if (m_replay) {
        // In replay the status bar describes the scrub position, not the last live session.
        const SessionFolder& folder = m_replay->folder();
        m_stateLabel->setText(m_replay->isPlaying() ? tr("replay: playing") : tr("replay"));
        m_epochLabel->setText(tr("epoch %1").arg(folder.epoch()));
        m_seqLabel->setText(folder.lastSeq() >= 0 ? tr("seq %1").arg(folder.lastSeq()) : tr("seq –"));
        const qint64 rtt = recordedRttMs(*m_replay->capture().log, m_replay->position());
        m_rttLabel->setText(rtt >= 0 ? tr("RTT %1 ms").arg(rtt) : tr("RTT –"));
        m_rateLabel->setText(replayPositionText(m_replay->position(), m_replay->eventCount()));
        m_versionLabel->clear(); // the live session's server says nothing about the capture
        m_versionLabel->setStyleSheet(QString());
        return;
    }
    LiveSession* session = m_live->session();
    const bool active = m_live->isActive();
    m_connectionBar->setSessionActive(active);
    if (!session) {
        // Nothing to describe (back from a replay with no session, or never connected): the
        // labels say so rather than keep a replay's or an ended session's numbers.
        m_composer->setSessionReady(false);
        m_stateLabel->setText(tr("idle"));
        m_epochLabel->setText(tr("epoch –"));
        m_seqLabel->setText(tr("seq –"));
        m_rttLabel->setText(tr("RTT –"));
        m_rateLabel->setText(tr("0 deltas/s"));
        return;
    }
    const ConnectionState state = session->state();
    QString stateText = connectionStateName(state);
    QString tip;
    if (state == ConnectionState::Reconnecting) {
        const qint64 remaining = m_live->reconnectRemainingMs();
        if (remaining >= 0)
            stateText = tr("reconnecting in %1 s").arg(double(remaining) / 1000.0, 0, 'f', 1);
    } else if (state == ConnectionState::Failed) {
        tip = session->client().failureReason();
    }
    m_connectionBar->setStateText(stateText, tip);
    m_composer->setSessionReady(state == ConnectionState::Streaming);
    m_stateLabel->setText(stateText);
    m_epochLabel->setText(tr("epoch %1").arg(session->epoch()));
    m_seqLabel->setText(session->lastSeq() >= 0 ? tr("seq %1").arg(session->lastSeq()) : tr("seq –"));
    m_rttLabel->setText(session->rttMs() >= 0 ? tr("RTT %1 ms").arg(session->rttMs()) : tr("RTT –"));
    // An ended session's rate is 0: this is its last update (the timer stops below), and the rate
    // of its last second would stand as if deltas still came.
    const bool ended = !active && state != ConnectionState::Reconnecting;
    const double rate = ended ? 0 : session->deltasPerSecond();
    // A tenth below 10/s: a slow stream's 0.5 is not 0 or 1.
    m_rateLabel->setText(tr("%1 deltas/s").arg(rate > 0 && rate < 9.95 ? QLocale().toString(rate, 'f', 1) : QLocale().toString(qRound(rate))));
    updateVersionStatus(*session);
    if (ended)
        m_statusTimer->stop();
}

void MainWindow::updateVersionStatus(const LiveSession& session)
{
    // A hello version that differs from the session's first one means another build answered (a
    // redeploy, or a reconnect to another server); a reload item asks clients to reload.
    const QString version = session.helloVersion();
    if (m_sessionFirstVersion.isEmpty())
        m_sessionFirstVersion = version;
    const EventLog& log = session.log();
    for (; m_reloadScan < log.size(); ++m_reloadScan) {
        const SessionEvent& event = log.at(m_reloadScan);
        if (event.kind == EventKind::StreamItem && (event.parts & PartReload))
            ++m_reloads;
    }
    QStringList warnings;
    QString text = version.isEmpty() ? QString() : tr("server %1").arg(version);
    if (!version.isEmpty() && version != m_sessionFirstVersion) {
        text = tr("version changed: %1 \u2192 %2").arg(m_sessionFirstVersion, version);
        warnings << tr("The server's hello version changed during this session: another build answered the reconnect.");
    }
    if (m_reloads > 0) {
        text += m_reloads == 1 ? tr(" \u00B7 1 reload request") : tr(" \u00B7 %1 reload requests").arg(m_reloads);
        warnings << tr("The server sent a reload item: clients are asked to reload.");
    }
    m_versionLabel->setText(text);
    m_versionLabel->setToolTip(warnings.join(QLatin1Char('\n')));
    m_versionLabel->setStyleSheet(warnings.isEmpty() ? QString() : QStringLiteral("color: #d35400; font-weight: bold;"));
}

void MainWindow::updateContentVisibility()
{
    const bool hasEvents = m_log && m_log->size() > 0;
    m_timelinePanel->showContent(hasEvents);
    m_chartsPanel->showContent(hasEvents);
    m_detailPanel->showContent(hasEvents && m_frameDetail->shownEvent() >= 0);
}

void MainWindow::buildMenus()
{
    QMenu* fileMenu = menuBar()->addMenu(tr("&File"));
    QAction* openAction = fileMenu->addAction(tr("&Open Capture…"), this, [this] {
        const QString path = QFileDialog::getOpenFileName(this, tr("Open capture"), CaptureWriter::capturesFolder(),
            tr("Captures (*.ndjson *.ndjson.zst *.zst);;All files (*)"));
        if (!path.isEmpty())
            openCapture(path);
    });
    openAction->setShortcut(QKeySequence::Open);
    m_exportAction = fileMenu->addAction(tr("&Export…"), this, &MainWindow::exportCapture);
    m_exportAction->setObjectName(QStringLiteral("exportAction"));
    m_exportAction->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_E));
    m_exportAction->setToolTip(tr("HAR, NDJSON delta log, Markdown bug report or a trimmed capture, redacted"));
    m_recentMenu = fileMenu->addMenu(tr("Recent Captures"));
    m_recentMenu->setObjectName(QStringLiteral("recentCapturesMenu"));
    connect(m_recentMenu, &QMenu::aboutToShow, this, &MainWindow::fillRecentCaptures);
    fileMenu->addSeparator();
    QAction* quitAction = fileMenu->addAction(tr("&Quit"), this, &QWidget::close);
    quitAction->setShortcut(QKeySequence::Quit);

    QMenu* sessionMenu = menuBar()->addMenu(tr("&Session"));
    sessionMenu->setToolTipsVisible(true); // a greyed-out action says why
    QAction* connectAction = sessionMenu->addAction(tr("&Connect / Disconnect"), this, [this] {
        if (m_live->isActive())
            disconnectSession();
        else
            connectFromBar();
    });
    connectAction->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_Return));
    connectAction->setObjectName(QStringLiteral("connectAction"));
    m_liveOnlyTips.insert(connectAction, tr("Connect with what the connection bar holds, or disconnect the session"));
    sessionMenu->addSeparator();
    QAction* dropAction = sessionMenu->addAction(tr("&Drop the socket"), this, &MainWindow::injectDrop);
    dropAction->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_D));
    dropAction->setObjectName(QStringLiteral("dropAction"));
    m_liveOnlyTips.insert(dropAction, tr("Reset the connection, as a network failure does; the client's recovery is an incident"));
    m_openConnectionActions.append(dropAction);
    QAction* stallAction = sessionMenu->addAction(tr("&Stall (half-open) for the time set in Faults"), this,
        [this] { injectStall(m_faults->stallSeconds()->value() * 1000); });
    stallAction->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_T));
    stallAction->setObjectName(QStringLiteral("stallAction"));
    m_liveOnlyTips.insert(stallAction, tr("Stop the traffic without closing the socket, as a half-open connection does"));
    m_openConnectionActions.append(stallAction);
    QAction* proxyAction = sessionMenu->addAction(tr("&Route through the fault proxy"));
    proxyAction->setObjectName(QStringLiteral("routeThroughProxyAction"));
    proxyAction->setCheckable(true);
    proxyAction->setChecked(m_live->routesThroughProxy());
    proxyAction->setToolTip(tr("ws:// sessions connect through a loopback fault proxy (takes effect at the next Connect)"));
    connect(proxyAction, &QAction::toggled, this, [this](bool on) { m_live->setRouteThroughProxy(on); });
    // The shadow check is a second viewer of the document: it runs the document's connect and
    // disconnect logic like any other, which some documents notice (a game seating a player).
    // It is on by default, as the verdicts need it, and can be turned off where it disturbs.
    QAction* shadowAction = sessionMenu->addAction(tr("&Verify Incidents with a Second Connection"));
    shadowAction->setObjectName(QStringLiteral("shadowCheckAction"));
    shadowAction->setCheckable(true);
    shadowAction->setChecked(shadowChecksEnabled());
    shadowAction->setToolTip(tr("After each incident, connect again as the same identity to fetch the server's document and compare. "
                                "That connection runs the document's @connected and @disconnected like any viewer's. "
                                "Off: verdicts are unverified. Takes effect at the next Connect."));
    connect(shadowAction, &QAction::toggled, this, [](bool on) { QSettings().setValue(QStringLiteral("incidents/shadowCheck"), on); });

    QMenu* replayMenu = menuBar()->addMenu(tr("&Replay"));
    const auto replayAction = [this, replayMenu](const QString& text, const QKeySequence& key, auto step) {
        QAction* action = replayMenu->addAction(text, this, [this, step] {
            if (m_replay)
                step(*m_replay);
        });
        action->setShortcut(key);
        action->setEnabled(false);
        m_replayActions.append(action);
    };
    replayAction(tr("Play / Pause"), replayshortcuts::playPause(), [](ReplaySession& replay) { replay.isPlaying() ? replay.pause() : replay.play(replay.speed()); });
    replayAction(tr("Step forward"), replayshortcuts::stepForward(), [](ReplaySession& replay) { replay.stepForward(); });
    replayAction(tr("Step back"), replayshortcuts::stepBack(), [](ReplaySession& replay) { replay.stepBack(); });
    replayAction(tr("Next delta"), replayshortcuts::nextDelta(), [](ReplaySession& replay) { replay.stepDeltaForward(); });
    replayAction(tr("Previous delta"), replayshortcuts::previousDelta(), [](ReplaySession& replay) { replay.stepDeltaBack(); });
    replayAction(tr("Next incident"), replayshortcuts::nextIncident(), [](ReplaySession& replay) { replay.seekNextIncident(); });
    replayAction(tr("Previous incident"), replayshortcuts::previousIncident(), [](ReplaySession& replay) { replay.seekPreviousIncident(); });
    replayAction(tr("Next anomaly"), replayshortcuts::nextAnomaly(), [](ReplaySession& replay) { replay.seekNextAnomaly(); });
    replayAction(tr("Go to event, seq or time…"), replayshortcuts::goTo(), [this](ReplaySession&) { m_replayBar->focusGoTo(); });

    m_demoMenu = menuBar()->addMenu(tr("&Demo"));
    m_demoMenu->setToolTipsVisible(true);
    auto* demoGroup = new QActionGroup(this);
    for (const QString& space : LiveController::demoSpaces()) {
        QAction* action = m_demoMenu->addAction(tr("Open the %1 demo").arg(space), this, [this, space] { startDemo(space); });
        action->setCheckable(true);
        action->setData(space);
        action->setObjectName(QStringLiteral("demo_") + space);
        demoGroup->addAction(action);
    }
    m_demoMenu->addSeparator();
    m_botsAction = m_demoMenu->addAction(tr("&Bots running"));
    m_botsAction->setObjectName(QStringLiteral("botsAction"));
    m_botsAction->setCheckable(true);
    m_liveOnlyTips.insert(m_botsAction, tr("The demo documents' own players and traders make changes while this is on"));
    connect(m_botsAction, &QAction::toggled, this, [this](bool on) {
        m_demoBotsWanted = on;
        m_live->setDemoBotsPaused(!on);
    });

    QMenu* helpMenu = menuBar()->addMenu(tr("&Help"));
    QAction* shortcutsAction = helpMenu->addAction(tr("&Keyboard Shortcuts"), this, &MainWindow::showShortcuts);
    shortcutsAction->setObjectName(QStringLiteral("shortcutsAction"));
    helpMenu->addAction(tr("&About Deltascope"), this, [this] {
        QMessageBox::about(this, tr("About Deltascope"),
            tr("<h3>Deltascope %1</h3><p>A debugger for realtime Adama document connections.</p>"
               "<p>Built with Qt %2, running on Qt %3.</p>")
                .arg(QString::fromLatin1(kVersion), QString::fromLatin1(QT_VERSION_STR), QString::fromLatin1(qVersion())));
    });
    updateLiveOnlyActions();
}

void MainWindow::showShortcuts()
{
    ShortcutsDialog dialog(windowShortcuts(*this), this);
    dialog.exec();
}

void MainWindow::updateLiveOnlyActions()
{
    // In a replay these would act on a session that is not shown (a drop gave an error banner):
    // greyed out, their tip says why and how to get back.
    const bool replay = m_replay != nullptr;
    const QString inReplay = tr("Only for a live session: this is a replay (%1 first)").arg(m_replayBar->leaveText());
    // Faults need the connection open: not before it is, nor while it reconnects.
    const QString notOpen = m_live->faultActionsUnavailableReason();
    for (auto it = m_liveOnlyTips.cbegin(); it != m_liveOnlyTips.cend(); ++it) {
        const bool needsOpen = m_openConnectionActions.contains(it.key());
        it.key()->setEnabled(!replay && (!needsOpen || notOpen.isEmpty()));
        it.key()->setToolTip(replay ? inReplay : needsOpen && !notOpen.isEmpty() ? notOpen : it.value());
        it.key()->setStatusTip(it.key()->toolTip());
    }
    // Ticked only while bots do run: there are none without the embedded demo server.
    const bool demoServer = m_live->demoServer() != nullptr;
    {
        const QSignalBlocker quiet(m_botsAction); // what is shown, not a choice of the user's
        m_botsAction->setChecked(demoServer && m_demoBotsWanted);
    }
    if (!demoServer) {
        m_botsAction->setEnabled(false);
        m_botsAction->setToolTip(replay ? inReplay : tr("No demo runs: open one of the demos above"));
        m_botsAction->setStatusTip(m_botsAction->toolTip());
    }
}

void MainWindow::buildStatusBar()
{
    const auto addLabel = [this](const QString& objectName, const QString& text) {
        auto* label = new QLabel(text, this);
        label->setObjectName(objectName);
        statusBar()->addWidget(label);
        return label;
    };
    m_stateLabel = addLabel(QStringLiteral("statusState"), tr("idle"));
    m_epochLabel = addLabel(QStringLiteral("statusEpoch"), tr("epoch –"));
    m_seqLabel = addLabel(QStringLiteral("statusSeq"), tr("seq –"));
    m_rttLabel = addLabel(QStringLiteral("statusRtt"), tr("RTT –"));
    m_rateLabel = addLabel(QStringLiteral("statusRate"), tr("0 deltas/s"));
    m_versionLabel = addLabel(QStringLiteral("statusVersion"), QString());
    m_recordingLabel = addLabel(QStringLiteral("statusRecording"), tr("not recording"));
}

void MainWindow::saveLayout()
{
    UiState::save(this);
    UiState::save(m_verticalSplitter, m_verticalSplitter->objectName());
    UiState::save(m_sideBySideSplitter, m_sideBySideSplitter->objectName());
    UiState::save(m_timelineSplitter, m_timelineSplitter->objectName());
    UiState::save(m_bottomSplitter, m_bottomSplitter->objectName());
    UiState::save(m_incidentsView->horizontalHeader(), QStringLiteral("incidentsHeader"));
    UiState::save(m_documentTree->view()->header(), QStringLiteral("documentTreeHeader"));
    m_timeline->saveState();
}

void MainWindow::restoreLayout()
{
    UiState::restore(this);
    UiState::restore(m_verticalSplitter, m_verticalSplitter->objectName());
    UiState::restore(m_sideBySideSplitter, m_sideBySideSplitter->objectName());
    UiState::restore(m_timelineSplitter, m_timelineSplitter->objectName());
    UiState::restore(m_bottomSplitter, m_bottomSplitter->objectName());
    UiState::restore(m_incidentsView->horizontalHeader(), QStringLiteral("incidentsHeader"));
    UiState::restore(m_documentTree->view()->header(), QStringLiteral("documentTreeHeader"));
    m_timeline->restoreState();
}

void MainWindow::closeEvent(QCloseEvent* event)
{
    saveLayout();
    event->accept();
}

QString MainWindow::saveScreenshot(const QString& path)
{
    const QPixmap pixmap = grab();
    if (pixmap.isNull())
        return tr("could not render the window (no pixels were drawn)");
    if (!pixmap.save(path, "PNG"))
        return tr("could not write the PNG to '%1' (check that the folder exists and is writable)").arg(path);
    return {};
}

}
