#pragma once

#include "ui/models/deltadetailsource.h"

#include <QMainWindow>

class QLabel;
class QSplitter;

namespace deltascope {
class EventLog;
}

namespace deltascope::ui {

class ChartsPanel;
class ConnectionBar;
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
    ChartsPanel* charts() const { return m_charts; }

    // The session's event log (not owned): the timeline, detail and charts show it. The panes
    // keep their empty states until the first event arrives.
    void setEventLog(EventLog* log);
    EventLog* eventLog() const { return m_log; }

    // Grabs the window as it is drawn now and writes a PNG. Returns an error text, empty on success.
    QString saveScreenshot(const QString& path);

protected:
    void closeEvent(QCloseEvent* event) override;

private:
    void buildMenus();
    void buildStatusBar();
    void saveLayout();
    void restoreLayout();
    void updateContentVisibility();

    ConnectionBar* m_connectionBar = nullptr;
    EmptyStatePanel* m_treePanel = nullptr;
    EmptyStatePanel* m_timelinePanel = nullptr;
    EmptyStatePanel* m_detailPanel = nullptr;
    EmptyStatePanel* m_chartsPanel = nullptr;
    TimelinePanel* m_timeline = nullptr;
    FrameDetailPanel* m_frameDetail = nullptr;
    ChartsPanel* m_charts = nullptr;
    EventLog* m_log = nullptr;
    DeltaDetailSource m_deltaDetails;
    QSplitter* m_verticalSplitter = nullptr;
    QSplitter* m_sideBySideSplitter = nullptr;
    QSplitter* m_timelineSplitter = nullptr;
    QLabel* m_stateLabel = nullptr;
    QLabel* m_epochLabel = nullptr;
    QLabel* m_seqLabel = nullptr;
    QLabel* m_rttLabel = nullptr;
    QLabel* m_rateLabel = nullptr;
    QLabel* m_recordingLabel = nullptr;
};

}
