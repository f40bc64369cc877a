#pragma once

#include "core/capture/captureformat.h"
#include "ui/models/deltadetailsource.h"

#include <QHash>
#include <QMainWindow>
#include <QPointer>

#include <memory>

class QJsonObject;
class QDragEnterEvent;
class QDropEvent;
class QLabel;
class QMenu;
class QProgressDialog;
class QSplitter;
class QTableView;
class QTimer;

namespace deltascope {
class EventLog;
class LiveSession;
class ReplaySession;
class CaptureLoader;
class Capture;
class CaptureWriter;
class IncidentAnalyzer;
}

namespace deltascope::ui {

// The round trip the server last reported at or before event `position` of a recorded session
// (its latest ping's, on the same socket and not its first), in ms; -1 when none was measured.
qint64 recordedRttMs(const EventLog& log, qint64 position);

class ChartsPanel;
class IncidentsModel;
class LiveController;
class ReplayBar;
class MessageComposer;
class ConnectionBar;
class DocumentTreePanel;
class FaultsPanel;
class EmptyStatePanel;
class FrameDetailPanel;
class TimelinePanel;

// The main window: connection bar on top, document tree beside the timeline, frame detail under
// the timeline, a charts strip, and the status bar. Layout persists through UiState.
class MainWindow : public QMainWindow
{
    Q_OBJECT
public:
    explicit MainWindow(QWidget* parent = nullptr);
    ~MainWindow() override;

    ConnectionBar* connectionBar() const { return m_connectionBar; }
    EmptyStatePanel* treePanel() const { return m_treePanel; }
    EmptyStatePanel* timelinePanel() const { return m_timelinePanel; }
    EmptyStatePanel* detailPanel() const { return m_detailPanel; }
    EmptyStatePanel* chartsPanel() const { return m_chartsPanel; }
    TimelinePanel* timeline() const { return m_timeline; }
    FrameDetailPanel* frameDetail() const { return m_frameDetail; }
    DocumentTreePanel* documentTree() const { return m_documentTree; }
    ChartsPanel* charts() const { return m_charts; }
    EmptyStatePanel* incidentsPanel() const { return m_incidentsPanel; }
    QTableView* incidentsView() const { return m_incidentsView; }
    FaultsPanel* faults() const { return m_faults; }

    // The session's event log (not owned): the timeline, detail and charts show it. The panes
    // keep their empty states until the first event arrives.
    void setEventLog(EventLog* log);
    EventLog* eventLog() const { return m_log; }

    LiveController* live() const { return m_live; }
    MessageComposer* composer() const { return m_composer; }
    // What to open in a demo space; empty fields take the defaults (key "demo", identity
    // "anonymous:deltascope", the viewer state the connection bar holds).
    struct DemoDocument {
        QString key;
        QString identity;
        QString viewerState;
    };
    // Starts the embedded reference server (if needed) and connects to a demo document of a space.
    bool startDemo(const QString& space, const DemoDocument& document = {});
    // Connects with what the connection bar holds.
    bool connectFromBar();
    void disconnectSession();
    void setInsecure(bool insecure);
    // Faults on the live session. Returns false (and shows why) when there is nothing to break.
    bool injectDrop();
    bool injectStall(int milliseconds);

    // Whether incidents are verified over a second connection (Session menu; on by default).
    static bool shadowChecksEnabled();
    // Opens a capture for replay with a cancellable progress dialog (asynchronous; `wait` blocks
    // until it is open, for tests). Returns false when it could not be opened (the error is shown).
    bool openCapture(const QString& path, bool wait = false);
    ReplaySession* replay() const { return m_replay.get(); }
    ReplayBar* replayBar() const { return m_replayBar; }
    // The replay bar's Back to live (or Close replay, when no live session was replaced): the last
    // live session (ended, if it was) is shown again, as the status bar describes it.
    void leaveReplay();
    // File > Export: the replayed capture, or (live) an offer to open this session's recording.
    void exportCapture();
    QStringList recentCaptures() const;
    QString recordingPath() const;
    // The live session as a capture for an export: what it holds so far while it goes on (the
    // session is not disturbed; recorded or not), or its finished recording once it has ended.
    // Null with `error` (not null).
    std::unique_ptr<Capture> liveSessionCapture(QString* error);
    // The event a live export's dialog calls current: the one selected in the timeline, when the
    // capture of `eventCount` events holds it, else its last.
    qint64 liveExportCurrentEvent(qint64 eventCount) const;

    // Help ▸ Keyboard Shortcuts: every shortcut the window's actions have now, in a dialog.
    void showShortcuts();

    // Shows an error in the window: what happened and what to try. Never a silent failure.
    void showError(const QString& what, const QString& whatToTry);
    QString errorText() const;

    // Grabs the window as it is drawn now and writes a PNG. Returns an error text, empty on success.
    QString saveScreenshot(const QString& path);

protected:
    void closeEvent(QCloseEvent* event) override;
    void dragEnterEvent(QDragEnterEvent* event) override;
    void dropEvent(QDropEvent* event) override;

private:
    // Closes the replay; with `showLastSession`, the panes show the live session's log again.
    // Selects the incident whose span holds `event` (none: no selection), without moving the timeline.
    void selectIncidentAt(qint64 event);
    void closeReplay(bool showLastSession);
    // Detaches the replay bar, tree and event-log panes from what they show (replay or session).
    void releasePanes();

    void buildMenus();
    // Greys out what acts on the live session while a replay is shown, and the faults while the
    // connection is not open (saying why), and shows whether the demo's bots run.
    void updateLiveOnlyActions();
    void buildStatusBar();
    void saveLayout();
    void restoreLayout();
    void updateContentVisibility();
    QString liveTreeEmptyText() const;
    void updateReplayTree(qint64 index); // the tree, or why there is none yet, at replay event `index`
    void onSessionChanged(LiveSession* session);
    void onCaptureLoaded(bool ok, const QString& error, const QString& path);
    // The error banner's second line for a capture opened with problems: what of it is shown.
    static QString whatReplayShows(const Capture& capture);
    // A progress dialog (deleted on close) for `loader`, whose Cancel cancels it.
    QProgressDialog* loadingProgress(CaptureLoader* loader, const QString& text, int minimumDurationMs);
    // Opens a capture with a progress dialog and returns it, the event loop running meanwhile;
    // null with `error` (not null; "cancelled" when the user cancelled).
    std::unique_ptr<Capture> loadCaptureWaiting(const QString& path, const QString& text, QString* error);

    void rememberCapture(const QString& path);
    void fillRecentCaptures();
    void updateStatus();
    void updateVersionStatus(const LiveSession& session);
    bool recordFault(const QString& name, const QJsonObject& params);
    // Ends the live session's recording: an incident still open is closed with what is known first
    // (a drop the user disconnected from before the client recovered), so the capture holds it.
    void finishRecording();

    ConnectionBar* m_connectionBar = nullptr;
    EmptyStatePanel* m_treePanel = nullptr;
    EmptyStatePanel* m_timelinePanel = nullptr;
    EmptyStatePanel* m_detailPanel = nullptr;
    EmptyStatePanel* m_chartsPanel = nullptr;
    bool m_followingTimeline = false; // the incidents view is being moved to follow the timeline
    TimelinePanel* m_timeline = nullptr;
    FrameDetailPanel* m_frameDetail = nullptr;
    ChartsPanel* m_charts = nullptr;
    EmptyStatePanel* m_incidentsPanel = nullptr;
    QTableView* m_incidentsView = nullptr;
    IncidentsModel* m_incidents = nullptr;
    QSplitter* m_bottomSplitter = nullptr;
    EventLog* m_log = nullptr;
    DeltaDetailSource m_deltaDetails;
    LiveController* m_live = nullptr;
    MessageComposer* m_composer = nullptr;
    QWidget* m_errorBanner = nullptr;
    QLabel* m_errorLabel = nullptr;
    QString m_errorWhat; // what the error banner says went wrong (its first line)
    QTimer* m_statusTimer = nullptr;
    DocumentTreePanel* m_documentTree = nullptr;
    FaultsPanel* m_faults = nullptr;
    EmptyStatePanel* m_faultsPanel = nullptr;
    QMenu* m_demoMenu = nullptr;
    QAction* m_botsAction = nullptr;
    bool m_demoBotsWanted = true; // the user's choice, applied whenever a demo server runs
    QHash<QAction*, QString> m_liveOnlyTips; // actions on the live session, with their tips for live use
    QList<QAction*> m_openConnectionActions; // of those, the faults: only while the connection is open
    bool m_insecure = false;
    ReplayBar* m_replayBar = nullptr;
    std::unique_ptr<ReplaySession> m_replay;
    std::unique_ptr<CaptureLoader> m_loader;
    std::unique_ptr<CaptureWriter> m_writer;
    QPointer<IncidentAnalyzer> m_analyzer; // the live session's (a child of the session)
    QMenu* m_recentMenu = nullptr;
    QList<QAction*> m_replayActions;
    QAction* m_exportAction = nullptr;
    bool m_syncingReplay = false;
    qint64 m_firstDocumentEvent = -1; // replay: the first stream item carrying data, -1 when none
    QString m_lastRecording;
    QStringList m_recentWhenStreaming; // the Recent entry of a connection made, kept once it streams
    capture::Header m_recordingHeader; // the live session's recording's, for exports made from the session
    QString m_sessionRecording; // the live session's recording, empty when it did not start
    QSplitter* m_verticalSplitter = nullptr;
    QSplitter* m_sideBySideSplitter = nullptr;
    QSplitter* m_timelineSplitter = nullptr;
    QLabel* m_stateLabel = nullptr;
    QLabel* m_epochLabel = nullptr;
    QLabel* m_seqLabel = nullptr;
    QLabel* m_rttLabel = nullptr;
    QLabel* m_rateLabel = nullptr;
    QLabel* m_recordingLabel = nullptr;
    QLabel* m_versionLabel = nullptr;
    QString m_sessionFirstVersion; // the hello version the live session started with
    qint64 m_reloadScan = 0; // events of the live log already scanned for reload items
    qint64 m_reloads = 0;
};

}
