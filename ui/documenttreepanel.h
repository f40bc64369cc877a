#pragma once

#include "core/document/documenttree.h"

#include <QStringList>
#include <QWidget>

class QComboBox;
class QLabel;
class QLineEdit;
class QModelIndex;
class QTimer;
class QToolButton;
class QTreeView;
class QTreeWidget;

namespace deltascope {
class EventLog;
class SessionFolder;
struct SessionAnomaly;
}

namespace deltascope::ui {

class DocumentFilterProxy;
class DocumentTreeModel;

// The document tree pane: the tree a session's folder holds (the fresh epoch tree, or the merged
// tree a reference client shows, with stale paths marked), changes flashing as deltas fold,
// anomalies marked on their nodes, search with next/previous and filter-to-matches, copy of path,
// value and subtree, and the provenance of the selected node (activating an event selects it in
// the timeline).
class DocumentTreePanel : public QWidget
{
    Q_OBJECT
public:
    enum class TreeChoice { FreshEpoch, Merged };

    explicit DocumentTreePanel(QWidget* parent = nullptr);
    ~DocumentTreePanel() override;

    // The folder to show (live or replay) and its log, for provenance rows. nullptr detaches.
    void setSource(SessionFolder* folder, const EventLog* log);
    // Marks a folded delta for flash and fade (called for each item; replay calls it per step).
    void noteFolded(qint64 eventIndex);
    // Replaces the anomaly marks with these, in order (a replay's jump restores a tree without
    // folding the events that found them).
    void setAnomalies(const std::vector<SessionAnomaly>& anomalies);
    SessionFolder* folder() const { return m_folder; }

    void setTreeChoice(TreeChoice choice);
    TreeChoice treeChoice() const { return m_choice; }
    const DocumentTree* shownTree() const;

    // Search over keys and values. Returns the number of matches in the shown tree.
    int setSearchText(const QString& text);
    bool findNext();
    bool findPrevious();
    int matchCount() const { return int(m_matches.size()); }
    void setFilterToMatches(bool on);
    bool filterToMatches() const { return m_filterOn; }
    void setKeepLastDeltaHighlighted(bool on);

    // The selected node as a document path ("" when none); selectPath() expands to and selects it.
    QString currentPath() const;
    bool selectPath(const QString& path);
    QString copyPath();
    QString copyValue();
    QString copySubtree();

    QTreeView* view() const { return m_view; }
    DocumentTreeModel* model() const { return m_model; }
    QTreeWidget* provenanceView() const { return m_provenance; }
    QLabel* provenanceTitle() const { return m_provenanceTitle; }
    QLabel* matchLabel() const { return m_matchLabel; }

Q_SIGNALS:
    // A provenance row was activated: the timeline should select this event.
    void eventActivated(qint64 eventIndex);

private:
    void onAnomaly(const SessionAnomaly& anomaly);
    void refreshStalePaths();
    void refreshProvenance();
    void recomputeMatches();
    bool stepMatch(int step); // +1 next, -1 previous, wrapping
    void updateMatchLabel();
    bool selectNode(NodeId node);
    NodeId currentNode() const;
    QModelIndex viewIndexOf(NodeId node) const;
    void rememberExpansion();
    void restoreExpansion();
    void onRowsInserted(const QModelIndex& parent, int first, int last);
    void attachView();
    void showContextMenu(const QPoint& position);
    void setClipboard(const QString& text);

    SessionFolder* m_folder = nullptr;
    const EventLog* m_log = nullptr;
    TreeChoice m_choice = TreeChoice::FreshEpoch;
    DocumentTreeModel* m_model = nullptr;
    DocumentFilterProxy* m_proxy = nullptr;
    QTreeView* m_view = nullptr;
    QComboBox* m_treeChoice = nullptr;
    QLineEdit* m_search = nullptr;
    QLabel* m_matchLabel = nullptr;
    QToolButton* m_filterButton = nullptr;
    QToolButton* m_keepButton = nullptr;
    QTreeWidget* m_provenance = nullptr;
    QLabel* m_provenanceTitle = nullptr;
    QTimer* m_fadeTimer = nullptr;
    QTimer* m_provenanceTimer = nullptr;
    QTimer* m_staleTimer = nullptr;
    bool m_filterOn = false;
    std::vector<NodeId> m_matches;
    int m_matchPosition = -1;
    bool m_matchesDirty = false;
    QStringList m_savedExpansion;
    QString m_savedCurrent;
    bool m_restorePending = false; // the saved state waits for a new epoch's first snapshot
};

}
