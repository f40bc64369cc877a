#include "ui/timelinepanel.h"

#include "core/session/eventlog.h"
#include "ui/models/payloadsearch.h"
#include "ui/models/timelinefilterproxy.h"
#include "ui/models/timelinemodel.h"
#include "ui/lineeditwidth.h"
#include "ui/timelinedelegate.h"
#include "ui/uistate.h"

#include <QAction>
#include <QCheckBox>
#include <QEvent>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QLineEdit>
#include <QMenu>
#include <QScopedValueRollback>
#include <QScrollBar>
#include <QSettings>
#include <QSpinBox>
#include <QStyle>
#include <QTableView>
#include <QTimer>
#include <QToolButton>
#include <QVBoxLayout>

namespace deltascope::ui {

namespace {
// A table whose type-to-find goes to the payload search instead (see the constructor).
class TypingForwardingTableView : public QTableView
{
    Q_OBJECT
public:
    using QTableView::QTableView;
    void keyboardSearch(const QString& search) override { Q_EMIT typed(search); }
Q_SIGNALS:
    void typed(const QString& text);
};
}

namespace {
constexpr int kDebounceMs = 300;
// The columns that hide when the pane is too narrow for them, least important first.
const QList<int> kHideOrder { TimelineModel::SizeColumn, TimelineModel::MethodColumn, TimelineModel::IdColumn, TimelineModel::GapColumn,
    TimelineModel::DirectionColumn };
const QString kFilterKey = QStringLiteral("ui/v%1/timeline/filter").arg(UiState::kViewStateVersion);
}

TimelinePanel::TimelinePanel(QWidget* parent)
    : QWidget(parent)
{
    m_model = new TimelineModel(this);
    m_proxy = new TimelineFilterProxy(this);
    m_proxy->setSourceModel(m_model);
    m_search = new PayloadSearch(this);
    m_model->setSearchMatches(&m_search->matchFlags());

    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->setSpacing(2);
    auto* bar = new QWidget(this);
    buildFilterBar(bar);
    layout->addWidget(bar);

    auto* view = new TypingForwardingTableView(this);
    // Typing in the timeline searches payloads: Qt's own type-to-find formats every row's text,
    // seconds of stall on a big capture (and it matched only the start of one column).
    connect(view, &TypingForwardingTableView::typed, this, [this](const QString& text) {
        m_searchEdit->setFocus(Qt::OtherFocusReason);
        m_searchEdit->insert(text);
    });
    m_view = view;
    m_view->setObjectName(QStringLiteral("timelineView"));
    m_view->setModel(m_proxy);
    m_view->setItemDelegate(new TimelineDelegate(m_view));
    m_view->setSelectionBehavior(QAbstractItemView::SelectRows);
    m_view->setSelectionMode(QAbstractItemView::SingleSelection);
    m_view->setWordWrap(false);
    m_view->setShowGrid(false);
    m_view->setAlternatingRowColors(true);
    m_view->setVerticalScrollMode(QAbstractItemView::ScrollPerPixel);
    // Uniform fixed rows: the header never measures a million rows.
    m_view->verticalHeader()->setVisible(false);
    m_view->verticalHeader()->setSectionResizeMode(QHeaderView::Fixed);
    m_view->verticalHeader()->setDefaultSectionSize(fontMetrics().height() + 4);
    QHeaderView* header = m_view->horizontalHeader();
    header->setSectionResizeMode(QHeaderView::Interactive);
    header->setStretchLastSection(true);
    header->setHighlightSections(false);
    const int charWidth = fontMetrics().horizontalAdvance(QLatin1Char('0'));
    // Sized to what they hold ("14:15:16.237", "+49 ms", "← in", "reconnect-planned", "id 12 · seq
    // 16700", "connection/create", "1.2 KiB"), so the Summary column, the one that says most,
    // keeps room at a laptop's width.
    header->resizeSection(TimelineModel::TimeColumn, charWidth * 13);
    header->resizeSection(TimelineModel::GapColumn, charWidth * 10); // "+9999 ms" whole
    header->resizeSection(TimelineModel::DirectionColumn, charWidth * 7);
    header->resizeSection(TimelineModel::KindColumn, charWidth * 16);
    header->resizeSection(TimelineModel::IdColumn, charWidth * 16);
    header->resizeSection(TimelineModel::MethodColumn, charWidth * 16);
    header->resizeSection(TimelineModel::SizeColumn, charWidth * 8);
    for (int column = 0; column < TimelineModel::SummaryColumn; ++column)
        m_wantedWidths.append(header->sectionSize(column));
    // Below these the cells' usual text elides to a letter or two ("st…", "+4…"): the common
    // values whole (the tooltip has a longer one whole), times always whole, as rows are found by them.
    const QFontMetrics metrics = m_view->fontMetrics();
    const int padding = 2 * (m_view->style()->pixelMetric(QStyle::PM_FocusFrameHMargin, nullptr, m_view) + 1) + 4;
    const auto widest = [&metrics, padding](std::initializer_list<QString> texts) {
        int width = 0;
        for (const QString& text : texts)
            width = std::max(width, metrics.horizontalAdvance(text));
        return width + padding;
    };
    m_minimumWidths = { m_wantedWidths[TimelineModel::TimeColumn], widest({ QStringLiteral("+999 ms"), QStringLiteral("+999 µs") }),
        widest({ tr("← in"), tr("→ out"), tr("• local") }), widest({ QStringLiteral("stream-item"), QStringLiteral("response") }),
        widest({ QStringLiteral("id 99 · seq 999") }), widest({ QStringLiteral("connection/…") }),
        widest({ QStringLiteral("9999 B"), QStringLiteral("999 KiB") }) };
    m_columnChoices.fill(TimelineColumnFit::Choice::Auto, TimelineModel::SummaryColumn);
    m_hiddenForRoom.fill(false, TimelineModel::SummaryColumn);
    // The widths the user gives are the ones to return to when there is room again; dragged below
    // its minimum, a column stops there.
    connect(header, &QHeaderView::sectionResized, this, [this](int column, int, int size) {
        if (!m_fittingColumns && column < m_wantedWidths.size() && size > 0) {
            m_wantedWidths[column] = std::max(size, m_minimumWidths[column]);
            fitColumns();
        }
    });
    // Right-click the header to show or hide columns.
    m_columnsMenu = new QMenu(this);
    m_columnsMenu->setObjectName(QStringLiteral("timelineColumnsMenu"));
    m_columnsMenu->setToolTipsVisible(true);
    connect(m_columnsMenu, &QMenu::aboutToShow, this, &TimelinePanel::fillColumnsMenu);
    header->setContextMenuPolicy(Qt::CustomContextMenu);
    connect(header, &QHeaderView::customContextMenuRequested, this,
        [this, header](const QPoint& position) { m_columnsMenu->popup(header->viewport()->mapToGlobal(position)); });
    fillColumnsMenu();
    m_view->viewport()->installEventFilter(this);
    layout->addWidget(m_view, 1);

    m_tailTimer = new QTimer(this);
    m_tailTimer->setSingleShot(true);
    m_tailTimer->setInterval(0);
    connect(m_tailTimer, &QTimer::timeout, this, &TimelinePanel::scrollToTail);

    connect(m_proxy, &QAbstractItemModel::rowsInserted, this, &TimelinePanel::onRowsInserted);
    connect(m_view->verticalScrollBar(), &QScrollBar::valueChanged, this, &TimelinePanel::onScrolled);
    connect(m_view->selectionModel(), &QItemSelectionModel::currentRowChanged, this, &TimelinePanel::onCurrentChanged);
    // A row the user clicks is one to read: following would scroll it away (the newest too, at a
    // busy stream's rate) under the detail that shows it.
    connect(m_view, &QAbstractItemView::pressed, this, [this] { setFollowing(false); });
    connect(m_search, &PayloadSearch::matchesAdded, m_model, &TimelineModel::searchMatchesChanged);
    connect(m_search, &PayloadSearch::reset, this, [this] {
        m_model->setSearchMatches(&m_search->matchFlags());
        updateSearchStatus();
    });
    connect(m_search, &PayloadSearch::progress, this, &TimelinePanel::updateSearchStatus);
    connect(m_search, &PayloadSearch::finished, this, &TimelinePanel::updateSearchStatus);
    connect(m_search, &PayloadSearch::failed, this, [this](const QString& reason) {
        // Short in the bar, whole in the tooltip: the long text squeezed the field that holds the
        // pattern to be fixed.
        m_searchStatus->setText(tr("invalid pattern"));
        m_searchStatus->setToolTip(reason + QLatin1Char('\n')
            + tr("Fix the pattern: it is a Perl-compatible regular expression (e.g. \"seq\":5[0-9] or players/\\d+)."));
    });

    // Actions, not bare QShortcuts: Help ▸ Keyboard Shortcuts lists them by their text.
    const auto addShortcut = [this](const QString& text, const QKeySequence& key, bool (TimelinePanel::*slot)()) {
        auto* action = new QAction(text, this);
        action->setShortcut(key);
        action->setShortcutContext(Qt::WidgetWithChildrenShortcut);
        connect(action, &QAction::triggered, this, slot);
        addAction(action);
    };
    addShortcut(tr("Jump between a request and its response, an ack and its item"), QKeySequence(Qt::CTRL | Qt::Key_L), &TimelinePanel::jumpToLinked);
    addShortcut(tr("Next match"), QKeySequence(Qt::Key_F3), &TimelinePanel::findNext);
    addShortcut(tr("Previous match"), QKeySequence(Qt::SHIFT | Qt::Key_F3), &TimelinePanel::findPrevious);
}

TimelinePanel::~TimelinePanel() = default;

bool TimelinePanel::eventFilter(QObject* watched, QEvent* event)
{
    if (watched == m_view->viewport() && event->type() == QEvent::Resize)
        fitColumns();
    return QWidget::eventFilter(watched, event);
}

void TimelinePanel::fitColumns()
{
    // The Summary column says most: it keeps ~24 characters (at 1024 px it was pushed off-screen).
    // The others give way down to their minimums, then the less important hide, least first;
    // with room again they come back at their widths.
    TimelineColumnFit fit;
    for (int column = 0; column < m_wantedWidths.size(); ++column)
        fit.columns.append({ m_wantedWidths[column], m_minimumWidths[column], m_columnChoices[column] });
    fit.hideOrder = kHideOrder;
    fit.summaryMinimum = fontMetrics().horizontalAdvance(QLatin1Char('0')) * 24;
    const TimelineColumnFit::Result result = fit.fit(m_view->viewport()->width());
    m_hiddenForRoom = result.hiddenForRoom;

    const QScopedValueRollback<bool> fitting(m_fittingColumns, true);
    QHeaderView* header = m_view->horizontalHeader();
    for (int column = 0; column < result.widths.size(); ++column) {
        if (header->isSectionHidden(column) != result.hidden[column])
            header->setSectionHidden(column, result.hidden[column]);
        // A hidden section keeps the size it is given here for when it shows again.
        if (result.hidden[column] || header->sectionSize(column) != result.widths[column])
            header->resizeSection(column, result.widths[column]);
    }
}

void TimelinePanel::fillColumnsMenu()
{
    m_columnsMenu->clear();
    QAbstractItemModel* model = m_view->model();
    for (int column = 0; column < TimelineModel::SummaryColumn; ++column) {
        QString text = model->headerData(column, Qt::Horizontal).toString();
        if (m_hiddenForRoom.value(column))
            text = tr("%1 (hidden: no room)").arg(text);
        QAction* action = m_columnsMenu->addAction(text);
        action->setObjectName(QStringLiteral("showColumn_%1").arg(column));
        action->setCheckable(true);
        action->setChecked(!m_view->horizontalHeader()->isSectionHidden(column));
        action->setToolTip(m_hiddenForRoom.value(column)
                ? tr("Hidden while the pane is too narrow for it; tick to show it anyway")
                : model->headerData(column, Qt::Horizontal, Qt::ToolTipRole).toString());
        connect(action, &QAction::toggled, this, [this, column](bool shown) {
            setColumnChoice(column, shown ? TimelineColumnFit::Choice::Shown : TimelineColumnFit::Choice::Hidden);
        });
    }
    m_columnsMenu->addSeparator();
    QAction* automatic = m_columnsMenu->addAction(tr("Reset columns to automatic"));
    automatic->setObjectName(QStringLiteral("automaticColumns"));
    QStringList hiding;
    for (const int column : kHideOrder)
        hiding << model->headerData(column, Qt::Horizontal).toString();
    automatic->setToolTip(tr("Forget the columns shown or hidden here: in a narrow pane %1 hide, in that order").arg(hiding.join(QStringLiteral(", "))));
    automatic->setEnabled(std::any_of(m_columnChoices.cbegin(), m_columnChoices.cend(),
        [](TimelineColumnFit::Choice choice) { return choice != TimelineColumnFit::Choice::Auto; }));
    connect(automatic, &QAction::triggered, this, [this] {
        for (int column = 0; column < m_columnChoices.size(); ++column)
            setColumnChoice(column, TimelineColumnFit::Choice::Auto);
    });
}

void TimelinePanel::setColumnChoice(int column, TimelineColumnFit::Choice choice)
{
    if (column < 0 || column >= m_columnChoices.size() || m_columnChoices[column] == choice)
        return;
    m_columnChoices[column] = choice;
    fitColumns();
}

TimelineColumnFit::Choice TimelinePanel::columnChoice(int column) const
{
    return m_columnChoices.value(column, TimelineColumnFit::Choice::Auto);
}

bool TimelinePanel::isColumnHiddenForRoom(int column) const
{
    return m_hiddenForRoom.value(column);
}

int TimelinePanel::minimumColumnWidth(int column) const
{
    return m_minimumWidths.value(column);
}

void TimelinePanel::buildFilterBar(QWidget* bar)
{
    auto* rows = new QVBoxLayout(bar);
    rows->setContentsMargins(0, 0, 0, 0);
    rows->setSpacing(2);
    auto* layout = new QHBoxLayout;
    layout->setSpacing(4);
    auto* searchRow = new QHBoxLayout;
    searchRow->setSpacing(4);
    rows->addLayout(layout);
    rows->addLayout(searchRow);

    const Direction directions[3] = { Direction::Inbound, Direction::Outbound, Direction::Local };
    const QString labels[3] = { tr("← in"), tr("→ out"), tr("• local") };
    const QString tips[3] = { tr("Show frames from the server"), tr("Show frames sent by the client"),
        tr("Show local events: state changes, reconnect delays, faults, incidents, anomalies") };
    for (int i = 0; i < 3; ++i) {
        auto* button = new QToolButton(bar);
        button->setObjectName(QStringLiteral("direction_") + directionName(directions[i]));
        button->setText(labels[i]);
        button->setToolTip(tips[i]);
        button->setCheckable(true);
        button->setChecked(true);
        const Direction direction = directions[i];
        connect(button, &QToolButton::toggled, this, [this, direction](bool on) { m_proxy->setDirectionEnabled(direction, on); });
        layout->addWidget(button);
        m_dirButtons[i] = button;
    }

    m_kindButton = new QToolButton(bar);
    m_kindButton->setObjectName(QStringLiteral("kindFilterButton"));
    m_kindButton->setText(tr("Kinds"));
    m_kindButton->setToolTip(tr("Choose which kinds of event are shown"));
    m_kindButton->setPopupMode(QToolButton::InstantPopup);
    auto* kindMenu = new QMenu(m_kindButton);
    kindMenu->addAction(tr("Show all kinds"), this, [this] { m_proxy->setAllKindsEnabled(true); });
    kindMenu->addAction(tr("Hide pings and pongs"), this, [this] {
        m_proxy->setKindEnabled(EventKind::Ping, false);
        m_proxy->setKindEnabled(EventKind::Pong, false);
    });
    kindMenu->addSeparator();
    for (int kind = 0; kind < int(EventKind::Count_); ++kind) {
        QAction* action = kindMenu->addAction(eventKindName(EventKind(kind)));
        action->setCheckable(true);
        action->setChecked(true);
        action->setData(kind);
        connect(action, &QAction::toggled, this, [this, kind](bool on) { m_proxy->setKindEnabled(EventKind(kind), on); });
    }
    connect(kindMenu, &QMenu::aboutToShow, this, [this, kindMenu] {
        for (QAction* action : kindMenu->actions()) {
            if (action->isCheckable()) {
                const QSignalBlocker blocker(action);
                action->setChecked(m_proxy->isKindEnabled(EventKind(action->data().toInt())));
            }
        }
    });
    m_kindButton->setMenu(kindMenu);
    layout->addWidget(m_kindButton);

    m_methodEdit = new QLineEdit(bar);
    m_methodEdit->setObjectName(QStringLiteral("methodFilterEdit"));
    m_methodEdit->setPlaceholderText(tr("method / channel"));
    m_methodEdit->setClearButtonEnabled(true);
    m_methodEdit->setMinimumWidth(140);
    m_methodDebounce = new QTimer(this);
    m_methodDebounce->setSingleShot(true);
    m_methodDebounce->setInterval(kDebounceMs);
    connect(m_methodEdit, &QLineEdit::textChanged, m_methodDebounce, qOverload<>(&QTimer::start));
    connect(m_methodDebounce, &QTimer::timeout, this, [this] { m_proxy->setMethodFilter(m_methodEdit->text()); });
    layout->addWidget(m_methodEdit);

    m_epochSpin = new QSpinBox(bar);
    m_epochSpin->setObjectName(QStringLiteral("epochFilterSpin"));
    m_epochSpin->setRange(-1, 1'000'000);
    m_epochSpin->setValue(-1);
    m_epochSpin->setSpecialValueText(tr("all epochs"));
    m_epochSpin->setPrefix(tr("epoch "));
    m_epochSpin->setToolTip(tr("Show one epoch (one connection/create and its stream) or all"));
    connect(m_epochSpin, &QSpinBox::valueChanged, this, [this](int value) { m_proxy->setEpochFilter(value); });
    layout->addWidget(m_epochSpin);
    layout->addStretch(1);

    m_searchEdit = new QLineEdit(bar);
    m_searchEdit->setObjectName(QStringLiteral("payloadSearchEdit"));
    m_searchEdit->setPlaceholderText(tr("regex over payloads (F3 / Shift+F3)"));
    m_searchEdit->setClearButtonEnabled(true);
    setMinimumTextWidth(m_searchEdit, tr("regex over payloads"));
    m_searchDebounce = new QTimer(this);
    m_searchDebounce->setSingleShot(true);
    m_searchDebounce->setInterval(kDebounceMs);
    connect(m_searchEdit, &QLineEdit::textChanged, m_searchDebounce, qOverload<>(&QTimer::start));
    connect(m_searchDebounce, &QTimer::timeout, this, [this] { setSearchPattern(m_searchEdit->text()); });
    connect(m_searchEdit, &QLineEdit::returnPressed, this, [this] {
        if (m_searchDebounce->isActive()) {
            m_searchDebounce->stop();
            setSearchPattern(m_searchEdit->text());
        }
        findNext();
    });
    searchRow->addWidget(m_searchEdit, 1);

    auto* previous = new QToolButton(bar);
    previous->setObjectName(QStringLiteral("searchPreviousButton"));
    previous->setArrowType(Qt::UpArrow);
    previous->setToolTip(tr("Previous match (Shift+F3)"));
    connect(previous, &QToolButton::clicked, this, &TimelinePanel::findPrevious);
    searchRow->addWidget(previous);
    auto* next = new QToolButton(bar);
    next->setObjectName(QStringLiteral("searchNextButton"));
    next->setArrowType(Qt::DownArrow);
    next->setToolTip(tr("Next match (F3)"));
    connect(next, &QToolButton::clicked, this, &TimelinePanel::findNext);
    searchRow->addWidget(next);

    m_matchesOnly = new QCheckBox(tr("only matches"), bar);
    m_matchesOnly->setObjectName(QStringLiteral("matchesOnlyCheck"));
    connect(m_matchesOnly, &QCheckBox::toggled, this, &TimelinePanel::applyMatchesOnly);
    searchRow->addWidget(m_matchesOnly);

    m_searchStatus = new QLabel(bar);
    m_searchStatus->setObjectName(QStringLiteral("searchStatus"));
    m_searchStatus->setMinimumWidth(fontMetrics().horizontalAdvance(QStringLiteral("1,000,000 matches (100%)")));
    searchRow->addWidget(m_searchStatus);

    auto* linked = new QToolButton(bar);
    linked->setObjectName(QStringLiteral("jumpToLinkedButton"));
    linked->setText(tr("⇄ linked"));
    linked->setToolTip(tr("Jump between a request and its response, or an ack and its stream item (Ctrl+L)"));
    connect(linked, &QToolButton::clicked, this, &TimelinePanel::jumpToLinked);
    layout->addWidget(linked);

    m_followButton = new QToolButton(bar);
    m_followButton->setObjectName(QStringLiteral("followButton"));
    m_followButton->setText(tr("Follow"));
    m_followButton->setToolTip(tr("Keep the newest event in view. Scrolling up stops following; click to resume."));
    m_followButton->setCheckable(true);
    m_followButton->setChecked(true);
    connect(m_followButton, &QToolButton::toggled, this, &TimelinePanel::setFollowing);
    layout->addWidget(m_followButton);
}

void TimelinePanel::setEventLog(EventLog* log)
{
    // Another session's or capture's events: a pattern typed for the previous ones would mark (and,
    // with "only matches", filter) the new log with no sign of why. Cleared before the new log is
    // searched with it.
    if (log != m_model->eventLog() && (!m_searchEdit->text().isEmpty() || !m_search->pattern().isEmpty()))
        setSearchPattern(QString());
    m_model->setEventLog(log);
    m_search->setEventLog(log);
    if (m_follow)
        m_tailTimer->start();
}

void TimelinePanel::setFollowing(bool follow)
{
    if (follow == m_follow)
        return;
    m_follow = follow;
    {
        const QSignalBlocker blocker(m_followButton);
        m_followButton->setChecked(follow);
    }
    if (follow)
        scrollToTail();
    else
        m_tailTimer->stop(); // a tail scroll still pending would undo the jump that stopped following
    Q_EMIT followingChanged(follow);
}

void TimelinePanel::onRowsInserted()
{
    if (m_follow && !m_tailTimer->isActive())
        m_tailTimer->start();
}

void TimelinePanel::scrollToTail()
{
    m_scrollingProgrammatically = true;
    m_view->scrollToBottom();
    m_scrollingProgrammatically = false;
}

void TimelinePanel::onScrolled(int value)
{
    if (m_scrollingProgrammatically)
        return;
    QScrollBar* bar = m_view->verticalScrollBar();
    if (m_follow && value < bar->maximum())
        setFollowing(false);
}

qint64 TimelinePanel::currentEvent() const
{
    const QModelIndex current = m_view->currentIndex();
    return current.isValid() ? current.data(TimelineModel::EventIndexRole).toLongLong() : -1;
}

void TimelinePanel::onCurrentChanged()
{
    // The current row also changes while the proxy removes rows (a filter hid it); the model must
    // not emit dataChanged in the middle of that, so the link marks follow once the proxy is done.
    QMetaObject::invokeMethod(this, [this] { m_model->setCurrentEvent(currentEvent()); }, Qt::QueuedConnection);
    Q_EMIT currentEventChanged(currentEvent());
}

bool TimelinePanel::selectProxyRowForEvent(qint64 index)
{
    const QModelIndex proxyIndex = m_proxy->mapFromSource(m_model->index(int(index), 0));
    if (!proxyIndex.isValid())
        return false;
    if (m_follow && proxyIndex.row() != m_proxy->rowCount() - 1)
        setFollowing(false);
    // Already the current row (the user clicked it, and the replay's seek comes back here): left
    // where it is if in view, and selected. Centring it mid-press had the press select the row then
    // under the pointer. Compared by row: a click makes the clicked column current, not column 0.
    const QModelIndex current = m_view->currentIndex();
    if (current.isValid() && current.row() == proxyIndex.row()) {
        if (!m_view->selectionModel()->isRowSelected(proxyIndex.row(), proxyIndex.parent()))
            m_view->selectionModel()->select(proxyIndex, QItemSelectionModel::ClearAndSelect | QItemSelectionModel::Rows);
        m_view->scrollTo(current, QAbstractItemView::EnsureVisible);
        return true;
    }
    m_view->setCurrentIndex(proxyIndex);
    m_view->scrollTo(proxyIndex, QAbstractItemView::PositionAtCenter);
    return true;
}

void TimelinePanel::clearSelection()
{
    m_view->selectionModel()->clear(); // the current index too: currentEventChanged(-1)
}

bool TimelinePanel::selectEvent(qint64 index)
{
    EventLog* log = m_model->eventLog();
    if (!log || index < 0 || index >= log->size())
        return false;
    m_model->flushPending();
    if (selectProxyRowForEvent(index))
        return true;
    // Hidden by the filters: a jump the user asked for wins over the filters.
    for (QToolButton* button : m_dirButtons)
        button->setChecked(true);
    m_methodEdit->clear();
    m_methodDebounce->stop();
    m_epochSpin->setValue(-1);
    m_matchesOnly->setChecked(false);
    m_proxy->restoreState(QString());
    return selectProxyRowForEvent(index);
}

void TimelinePanel::setSearchPattern(const QString& pattern)
{
    if (m_searchEdit->text() != pattern) {
        const QSignalBlocker blocker(m_searchEdit);
        m_searchEdit->setText(pattern);
    }
    m_searchDebounce->stop();
    m_searchStatus->setToolTip(QString());
    m_search->setPattern(pattern);
    applyMatchesOnly();
    updateSearchStatus();
}

void TimelinePanel::applyMatchesOnly()
{
    // Without a pattern (cleared, or one that does not compile) nothing matches: "only matches"
    // then hid every row with no word why. It filters only while a search is on.
    m_proxy->setMatchesOnly(m_matchesOnly->isChecked() && m_search->isActive() ? &m_search->matchFlags() : nullptr);
}

void TimelinePanel::updateSearchStatus()
{
    if (!m_search->isActive()) {
        if (m_search->pattern().isEmpty() && m_searchStatus->toolTip().isEmpty())
            m_searchStatus->clear();
        return;
    }
    const qint64 total = m_model->eventLog() ? m_model->eventLog()->size() : 0;
    const auto count = qint64(m_search->matches().size());
    if (m_search->isRunning() && total > 0)
        m_searchStatus->setText(tr("%1 matches (%2%)").arg(count).arg(m_search->searched() * 100 / total));
    else
        m_searchStatus->setText(count == 1 ? tr("1 match") : tr("%1 matches").arg(count));
}

bool TimelinePanel::findNext()
{
    qint64 from = currentEvent();
    for (qint64 match = m_search->nextMatch(from); match >= 0; match = m_search->nextMatch(match)) {
        if (selectProxyRowForEvent(match))
            return true;
    }
    return false;
}

bool TimelinePanel::findPrevious()
{
    qint64 from = currentEvent();
    if (from < 0)
        from = m_model->eventLog() ? m_model->eventLog()->size() : 0;
    for (qint64 match = m_search->previousMatch(from); match >= 0; match = m_search->previousMatch(match)) {
        if (selectProxyRowForEvent(match))
            return true;
    }
    return false;
}

bool TimelinePanel::jumpToLinked()
{
    const qint64 current = currentEvent();
    EventLog* log = m_model->eventLog();
    if (current < 0 || !log)
        return false;
    const qint64 linked = log->at(current).linkedIndex;
    return linked >= 0 && selectEvent(linked);
}

namespace {
// Saved choices are keyed by these, not by column numbers or translated titles.
const char* const kColumnNames[] = { "time", "gap", "dir", "kind", "id", "method", "size" };
static_assert(std::size(kColumnNames) == TimelineModel::SummaryColumn);
}

void TimelinePanel::saveState() const
{
    // The widths asked for, with every column shown: not what a narrow window squeezed them to,
    // nor hidden for room (a restored hidden section would read as the user's choice).
    QHeaderView* header = m_view->horizontalHeader();
    QList<int> shown;
    QList<bool> hidden;
    {
        const QScopedValueRollback<bool> fitting(m_fittingColumns, true);
        for (int column = 0; column < m_wantedWidths.size(); ++column) {
            hidden.append(header->isSectionHidden(column));
            header->setSectionHidden(column, false);
            shown.append(header->sectionSize(column));
            header->resizeSection(column, m_wantedWidths[column]);
        }
        UiState::save(header, QStringLiteral("timeline"));
        for (int column = 0; column < shown.size(); ++column) {
            header->resizeSection(column, shown[column]);
            header->setSectionHidden(column, hidden[column]);
        }
    }
    QVariantMap choices;
    for (int column = 0; column < m_columnChoices.size(); ++column) {
        if (m_columnChoices[column] != TimelineColumnFit::Choice::Auto)
            choices.insert(QLatin1String(kColumnNames[column]), m_columnChoices[column] == TimelineColumnFit::Choice::Shown);
    }
    UiState::saveColumnChoices(QStringLiteral("timeline"), choices);
    QSettings().setValue(kFilterKey, m_proxy->saveState());
}

void TimelinePanel::restoreState()
{
    {
        const QScopedValueRollback<bool> restoring(m_fittingColumns, true);
        QHeaderView* header = m_view->horizontalHeader();
        UiState::restore(header, QStringLiteral("timeline"));
        for (int column = 0; column < m_wantedWidths.size(); ++column) {
            header->setSectionHidden(column, false); // which columns show is fitColumns()'s to say
            m_wantedWidths[column] = std::max(header->sectionSize(column), m_minimumWidths[column]);
        }
    }
    const QVariantMap choices = UiState::restoreColumnChoices(QStringLiteral("timeline"));
    for (int column = 0; column < m_columnChoices.size(); ++column) {
        const QVariant choice = choices.value(QLatin1String(kColumnNames[column]));
        m_columnChoices[column] = !choice.isValid() ? TimelineColumnFit::Choice::Auto
            : choice.toBool()                       ? TimelineColumnFit::Choice::Shown
                                                    : TimelineColumnFit::Choice::Hidden;
    }
    fitColumns();
    const QString state = QSettings().value(kFilterKey).toString();
    if (state.isEmpty())
        return;
    m_proxy->restoreState(state);
    const Direction directions[3] = { Direction::Inbound, Direction::Outbound, Direction::Local };
    for (int i = 0; i < 3; ++i) {
        const QSignalBlocker blocker(m_dirButtons[i]);
        m_dirButtons[i]->setChecked(m_proxy->isDirectionEnabled(directions[i]));
    }
    {
        const QSignalBlocker blocker(m_methodEdit);
        m_methodEdit->setText(m_proxy->methodFilter());
    }
    const QSignalBlocker blocker(m_epochSpin);
    m_epochSpin->setValue(int(m_proxy->epochFilter()));
}

}

#include "timelinepanel.moc"
