#include "ui/mainwindow.h"

#include "core/version.h"
#include "core/protocol/errorcodes.h"
#include "core/session/eventlog.h"
#include "ui/chartspanel.h"
#include "ui/connectionbar.h"
#include "ui/framedetailpanel.h"
#include "ui/timelinepanel.h"
#include "ui/emptystatepanel.h"
#include "ui/uistate.h"

#include <QApplication>
#include <QCloseEvent>
#include <QLabel>
#include <QMenuBar>
#include <QMessageBox>
#include <QPixmap>
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

    m_treePanel = new EmptyStatePanel(tr("Document tree"),
        tr("Not connected.\nThe document your client has folded appears here, with list kinds, element ids "
           "and which delta changed each node, once a stream delivers its first snapshot."));
    m_treePanel->setObjectName(QStringLiteral("treePanel"));
    m_timelinePanel = new EmptyStatePanel(tr("Timeline"),
        tr("No events yet.\nEvery frame in and out (snapshots, deltas, acks, failures, pings) appears here "
           "with millisecond times, the gap since the previous frame, and its size."));
    m_timelinePanel->setObjectName(QStringLiteral("timelinePanel"));
    m_detailPanel = new EmptyStatePanel(tr("Frame detail"),
        tr("Select an event in the timeline to see its frame, the paths its delta changed, and the document "
           "before and after it."));
    m_detailPanel->setObjectName(QStringLiteral("detailPanel"));
    m_chartsPanel = new EmptyStatePanel(tr("Charts"),
        tr("Deltas per second, bytes per second, round-trip time and document size are charted here while a "
           "session runs, with markers where faults and reconnects happened."));
    m_chartsPanel->setObjectName(QStringLiteral("chartsPanel"));

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
    m_frameDetail->setDeltaDetailProvider([this](qint64 index) {
        DeltaDetailSource::Result result = m_deltaDetails.compute(index);
        DeltaDetail detail;
        detail.error = result.error;
        detail.changedPaths = result.changedPaths;
        for (const Anomaly& anomaly : result.anomalies)
            detail.changedPaths.append(QStringLiteral("! %1 at /%2: %3").arg(anomalyKindName(anomaly.kind), anomaly.path, anomaly.message));
        if (result.error.isEmpty()) {
            detail.before = QString::fromUtf8(result.before.toJson(true));
            detail.after = QString::fromUtf8(result.after.toJson(true));
        }
        return detail;
    });
    connect(m_frameDetail, &FrameDetailPanel::jumpRequested, m_timeline, &TimelinePanel::selectEvent);

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
    m_verticalSplitter->addWidget(m_chartsPanel);
    m_verticalSplitter->setStretchFactor(0, 4);
    m_verticalSplitter->setStretchFactor(1, 1);
    layout->addWidget(m_verticalSplitter, 1);
    setCentralWidget(central);

    buildMenus();
    buildStatusBar();
    resize(1280, 800);
    restoreLayout();
}

MainWindow::~MainWindow() = default;

void MainWindow::setEventLog(EventLog* log)
{
    if (m_log)
        disconnect(m_log, nullptr, this, nullptr);
    m_log = log;
    m_deltaDetails.setEventLog(log);
    m_timeline->setEventLog(log);
    m_frameDetail->setEventLog(log);
    m_charts->setEventLog(log);
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
    QAction* quitAction = fileMenu->addAction(tr("&Quit"), this, &QWidget::close);
    quitAction->setShortcut(QKeySequence::Quit);

    QMenu* helpMenu = menuBar()->addMenu(tr("&Help"));
    helpMenu->addAction(tr("&About Deltascope"), this, [this] {
        QMessageBox::about(this, tr("About Deltascope"),
            tr("<h3>Deltascope %1</h3><p>A debugger for realtime Adama document connections.</p>"
               "<p>Built with Qt %2, running on Qt %3.</p>")
                .arg(QString::fromLatin1(kVersion), QString::fromLatin1(QT_VERSION_STR), QString::fromLatin1(qVersion())));
    });
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
    m_recordingLabel = addLabel(QStringLiteral("statusRecording"), tr("not recording"));
}

void MainWindow::saveLayout()
{
    UiState::save(this);
    UiState::save(m_verticalSplitter, m_verticalSplitter->objectName());
    UiState::save(m_sideBySideSplitter, m_sideBySideSplitter->objectName());
    UiState::save(m_timelineSplitter, m_timelineSplitter->objectName());
    m_timeline->saveState();
}

void MainWindow::restoreLayout()
{
    UiState::restore(this);
    UiState::restore(m_verticalSplitter, m_verticalSplitter->objectName());
    UiState::restore(m_sideBySideSplitter, m_sideBySideSplitter->objectName());
    UiState::restore(m_timelineSplitter, m_timelineSplitter->objectName());
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
