#pragma once

#include "ui/timelinecolumnfit.h"

#include <QList>
#include <QWidget>

class QCheckBox;
class QLabel;
class QLineEdit;
class QMenu;
class QSpinBox;
class QTableView;
class QTimer;
class QToolButton;

namespace deltascope {
class EventLog;
}

namespace deltascope::ui {

class PayloadSearch;
class TimelineFilterProxy;
class TimelineModel;

// The timeline pane: filter bar (direction, kind, method/channel, epoch), payload regex search
// with next/previous and progress, follow-the-tail, and the virtualized event table.
class TimelinePanel : public QWidget
{
    Q_OBJECT
public:
    explicit TimelinePanel(QWidget* parent = nullptr);
    ~TimelinePanel() override;

    void setEventLog(EventLog* log);

    TimelineModel* model() const { return m_model; }
    TimelineFilterProxy* proxy() const { return m_proxy; }
    PayloadSearch* search() const { return m_search; }
    QTableView* view() const { return m_view; }

    bool isFollowing() const { return m_follow; }
    void setFollowing(bool follow);

    qint64 currentEvent() const;
    // Selects an event and scrolls to it; if filters hide it, they are cleared first. Returns false
    // when the index is outside the log.
    bool selectEvent(qint64 index);
    // No event selected (a replay before its first event): the detail and charts follow.
    void clearSelection();

    // Regex over full payloads; next/previous move the selection among matches the filters show.
    void setSearchPattern(const QString& pattern);
    bool findNext();
    bool findPrevious();
    bool jumpToLinked();

    // Columns: each has a minimum width; in a narrow pane Size, Method, Id, Gap and Dir hide, in
    // that order, and come back when there is room. The header's context menu (columnsMenu())
    // shows or hides a column by the user's choice, which wins over the automatic hiding and is
    // saved with the other UI state.
    QMenu* columnsMenu() const { return m_columnsMenu; }
    void setColumnChoice(int column, TimelineColumnFit::Choice choice);
    TimelineColumnFit::Choice columnChoice(int column) const;
    bool isColumnHiddenForRoom(int column) const;
    int minimumColumnWidth(int column) const;

    void saveState() const;
    void restoreState();

Q_SIGNALS:
    void currentEventChanged(qint64 index);
    void followingChanged(bool following);

protected:
    bool eventFilter(QObject* watched, QEvent* event) override;

private:
    void buildFilterBar(QWidget* bar);
    void fitColumns(); // narrows or hides the other columns so that Summary keeps room
    void fillColumnsMenu();
    void onRowsInserted();
    void onScrolled(int value);
    void onCurrentChanged();
    void updateSearchStatus();
    void applyMatchesOnly(); // the "only matches" box, while a search is on
    void scrollToTail();
    bool selectProxyRowForEvent(qint64 index);

    TimelineModel* m_model = nullptr;
    TimelineFilterProxy* m_proxy = nullptr;
    PayloadSearch* m_search = nullptr;
    QTableView* m_view = nullptr;
    QToolButton* m_dirButtons[3] = {};
    QToolButton* m_kindButton = nullptr;
    QLineEdit* m_methodEdit = nullptr;
    QSpinBox* m_epochSpin = nullptr;
    QLineEdit* m_searchEdit = nullptr;
    QCheckBox* m_matchesOnly = nullptr;
    QLabel* m_searchStatus = nullptr;
    QToolButton* m_followButton = nullptr;
    QTimer* m_methodDebounce = nullptr;
    QTimer* m_searchDebounce = nullptr;
    QTimer* m_tailTimer = nullptr;
    QMenu* m_columnsMenu = nullptr;
    // The columns before Summary: their widths as set by default or by the user, their minimums,
    // the user's choices to show or hide them, and which are hidden now for want of room.
    QList<int> m_wantedWidths;
    QList<int> m_minimumWidths;
    QList<TimelineColumnFit::Choice> m_columnChoices;
    QList<bool> m_hiddenForRoom;
    mutable bool m_fittingColumns = false; // sections resized by fitColumns() or saveState(), not the user
    bool m_follow = true;
    bool m_scrollingProgrammatically = false;
};

}
