#pragma once

#include "core/session/eventlog.h"
#include <QPointer>
#include <QStringList>
#include <QWidget>

#include <functional>

class QLabel;
class QPlainTextEdit;
class QPushButton;
class QStringListModel;
class QListView;
class QTabWidget;

namespace deltascope::ui {

class EmptyStatePanel;
class DeltaDetailSource;

// What the document fold says about one stream item: the paths its delta changed and the
// document (pretty JSON) before and after it. Produced by whoever owns the fold for the session.
struct DeltaDetail {
    QStringList changedPaths;
    QString before;
    QString after;
    QString error; // when the fold could not produce the detail: what and why
};
using DeltaDetailProvider = std::function<DeltaDetail(qint64 eventIndex)>;
// The detail of stream item `eventIndex` from the session's fold: what the main window provides.
DeltaDetail streamItemDetail(DeltaDetailSource& source, qint64 eventIndex);

// Describes a failure code: its name and whether clients should retry. Empty name = unknown code.
struct FailureCodeInfo {
    QString name;
    bool known = false;
    bool retryable = false;
};
using FailureCodeDescriber = std::function<FailureCodeInfo(qint64 code)>;

// The selected event: header line, the frame pretty-printed with syntax colours, and for stream
// items the changed paths and the before/after documents. Copy and save the frame.
class FrameDetailPanel : public QWidget
{
    Q_OBJECT
public:
    explicit FrameDetailPanel(QWidget* parent = nullptr);

    void setEventLog(EventLog* log);
    void setDeltaDetailProvider(DeltaDetailProvider provider);
    void setFailureCodeDescriber(FailureCodeDescriber describer);

    void showEvent(qint64 index);
    qint64 shownEvent() const { return m_index; }

    QString headerText() const;
    QString frameText() const;
    QString analysisText() const; // an incident's resync analysis as text; empty for other events
    // The selected stream item's changed paths (computed now if their tab was not shown yet).
    QStringList changedPaths();
    // Writes the frame text to a file; returns an error text (empty on success).
    QString saveFrame(const QString& path) const;

Q_SIGNALS:
    void jumpRequested(qint64 index);
    // A changed path was activated (double-click, Enter): its document path, without the leading '/'.
    void pathActivated(const QString& path);

private:
    void copyFrame();
    void showAnalysis(EventKind kind, const QByteArray& payload);
    void showPendingDetail();
    void saveFrameInteractively();

    QPointer<EventLog> m_log;
    qint64 m_index = -1;
    qint64 m_detailPending = -1; // a stream item whose paths and before / after wait for their tab
    DeltaDetailProvider m_deltaDetail;
    FailureCodeDescriber m_failureCodes;
    QLabel* m_header = nullptr;
    QTabWidget* m_tabs = nullptr;
    QPlainTextEdit* m_frame = nullptr;
    EmptyStatePanel* m_pathsPanel = nullptr;
    QListView* m_paths = nullptr;
    QStringListModel* m_pathsModel = nullptr;
    EmptyStatePanel* m_diffPanel = nullptr;
    QPlainTextEdit* m_before = nullptr;
    QPlainTextEdit* m_after = nullptr;
    QLabel* m_beforeLabel = nullptr;
    QLabel* m_afterLabel = nullptr;
    QPushButton* m_linkedButton = nullptr;
    QPushButton* m_copyButton = nullptr;
    QPushButton* m_saveButton = nullptr;
    EmptyStatePanel* m_analysisPanel = nullptr;
    QPlainTextEdit* m_analysis = nullptr;
};

}
