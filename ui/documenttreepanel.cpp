#include "ui/documenttreepanel.h"

#include "core/session/eventlog.h"
#include "core/session/sessionfolder.h"
#include "ui/lineeditwidth.h"
#include "ui/models/documentfilterproxy.h"
#include "ui/models/documenttreemodel.h"

#include <QAction>
#include <QApplication>
#include <QClipboard>
#include <QComboBox>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QLineEdit>
#include <QMenu>
#include <QSplitter>
#include <QTimer>
#include <QToolButton>
#include <QTreeView>
#include <QTreeWidget>
#include <QVBoxLayout>

namespace deltascope::ui {

namespace {
constexpr int kFadeTickMs = 50;
constexpr int kMaxRememberedExpansion = 5000; // expanded nodes kept across a tree reset
constexpr int kMaxMatches = 100000;

bool isContainer(NodeKind kind)
{
    return kind == NodeKind::Object || kind == NodeKind::RecordList || kind == NodeKind::ValueList || kind == NodeKind::RawArray;
}
}

DocumentTreePanel::DocumentTreePanel(QWidget* parent)
    : QWidget(parent)
{
    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->setSpacing(2);

    auto* bar = new QHBoxLayout;
    bar->setContentsMargins(4, 2, 4, 0);
    m_treeChoice = new QComboBox(this);
    m_treeChoice->setObjectName(QStringLiteral("treeChoice"));
    // Short names (the tooltip says what each is): the bar leaves the search field and the timeline
    // beside it their room.
    m_treeChoice->addItem(tr("Fresh tree"));
    m_treeChoice->addItem(tr("Merged tree"));
    m_treeChoice->setToolTip(tr("Fresh: the tree folded from this epoch's snapshot on.\n"
                                "Merged: what the reference JS client holds (it merges each snapshot over its old "
                                "tree, and shows value lists edited without @s stale); stale paths are greyed."));
    connect(m_treeChoice, &QComboBox::currentIndexChanged, this,
        [this](int index) { setTreeChoice(index == 1 ? TreeChoice::Merged : TreeChoice::FreshEpoch); });
    bar->addWidget(m_treeChoice);
    m_search = new QLineEdit(this);
    m_search->setObjectName(QStringLiteral("treeSearch"));
    m_search->setPlaceholderText(tr("Search keys and values"));
    m_search->setClearButtonEnabled(true);
    setMinimumTextWidth(m_search, tr("Search keys"));
    connect(m_search, &QLineEdit::textChanged, this, [this](const QString& text) { setSearchText(text); });
    connect(m_search, &QLineEdit::returnPressed, this, [this] {
        (QApplication::keyboardModifiers() & Qt::ShiftModifier) ? findPrevious() : findNext();
    });
    bar->addWidget(m_search, 1);
    m_matchLabel = new QLabel(this);
    m_matchLabel->setObjectName(QStringLiteral("treeMatches"));
    bar->addWidget(m_matchLabel);
    const auto addButton = [this, bar](const QString& text, const QString& tip, const QString& name) {
        auto* button = new QToolButton(this);
        button->setText(text);
        button->setToolTip(tip);
        button->setObjectName(name);
        bar->addWidget(button);
        return button;
    };
    connect(addButton(QStringLiteral("\u25B2"), tr("Previous match (Shift+Return)"), QStringLiteral("treePrevious")),
        &QToolButton::clicked, this, &DocumentTreePanel::findPrevious);
    connect(addButton(QStringLiteral("\u25BC"), tr("Next match (Return)"), QStringLiteral("treeNext")), &QToolButton::clicked,
        this, &DocumentTreePanel::findNext);
    m_filterButton = addButton(tr("Filter"), tr("Show only matches and the nodes above them"), QStringLiteral("treeFilter"));
    m_filterButton->setCheckable(true);
    connect(m_filterButton, &QToolButton::toggled, this, &DocumentTreePanel::setFilterToMatches);
    m_keepButton = addButton(tr("Hold"), tr("Keep the last delta's changes highlighted until the next delta"), QStringLiteral("treeHold"));
    m_keepButton->setCheckable(true);
    connect(m_keepButton, &QToolButton::toggled, this, &DocumentTreePanel::setKeepLastDeltaHighlighted);
    layout->addLayout(bar);

    m_model = new DocumentTreeModel(this);
    m_proxy = new DocumentFilterProxy(this);
    m_proxy->setSourceModel(m_model);
    m_view = new QTreeView(this);
    m_view->setObjectName(QStringLiteral("documentTree"));
    m_view->setUniformRowHeights(true); // keeps 100,000-element lists cheap to lay out
    m_view->setAlternatingRowColors(true);
    m_view->setSelectionMode(QAbstractItemView::SingleSelection);
    m_view->setContextMenuPolicy(Qt::CustomContextMenu);
    m_view->header()->setStretchLastSection(false);
    connect(m_view, &QWidget::customContextMenuRequested, this, &DocumentTreePanel::showContextMenu);
    attachView();

    m_provenanceTitle = new QLabel(tr("Select a node to see which events touched it."), this);
    m_provenanceTitle->setObjectName(QStringLiteral("provenanceTitle"));
    m_provenanceTitle->setWordWrap(true);
    m_provenanceTitle->setTextInteractionFlags(Qt::TextSelectableByMouse);
    m_provenance = new QTreeWidget(this);
    m_provenance->setObjectName(QStringLiteral("provenance"));
    m_provenance->setRootIsDecorated(false);
    m_provenance->setUniformRowHeights(true);
    m_provenance->setHeaderLabels({ tr("Event"), tr("Time (ms)"), tr("Kind"), tr("seq") });
    m_provenance->headerItem()->setToolTip(1, tr("Milliseconds after the session started, as the timeline and the frame detail say"));
    // A few dozen rows at most: sized to what they say ("stream-item (created)" was cut short).
    m_provenance->header()->setSectionResizeMode(QHeaderView::ResizeToContents);
    m_provenance->header()->setStretchLastSection(true);
    m_provenance->setToolTip(tr("Events that created or changed the selected node (or something below it). "
                                "Double-click or press Return to select one in the timeline."));
    connect(m_provenance, &QTreeWidget::itemActivated, this,
        [this](QTreeWidgetItem* item) { Q_EMIT eventActivated(item->data(0, Qt::UserRole).toLongLong()); });
    auto* provenanceBox = new QWidget(this);
    auto* provenanceLayout = new QVBoxLayout(provenanceBox);
    provenanceLayout->setContentsMargins(4, 0, 4, 0);
    provenanceLayout->setSpacing(2);
    provenanceLayout->addWidget(m_provenanceTitle);
    provenanceLayout->addWidget(m_provenance, 1);

    auto* splitter = new QSplitter(Qt::Vertical, this);
    splitter->setObjectName(QStringLiteral("treeSplitter"));
    splitter->addWidget(m_view);
    splitter->addWidget(provenanceBox);
    splitter->setStretchFactor(0, 4);
    splitter->setStretchFactor(1, 1);
    layout->addWidget(splitter, 1);

    auto* copyValueAction = new QAction(tr("Copy value"), this);
    copyValueAction->setShortcut(QKeySequence::Copy);
    copyValueAction->setShortcutContext(Qt::WidgetWithChildrenShortcut);
    connect(copyValueAction, &QAction::triggered, this, &DocumentTreePanel::copyValue);
    m_view->addAction(copyValueAction);
    auto* copyPathAction = new QAction(tr("Copy path"), this);
    copyPathAction->setShortcut(QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_C));
    copyPathAction->setShortcutContext(Qt::WidgetWithChildrenShortcut);
    connect(copyPathAction, &QAction::triggered, this, &DocumentTreePanel::copyPath);
    m_view->addAction(copyPathAction);
    auto* findAction = new QAction(tr("Find in tree"), this);
    findAction->setShortcut(QKeySequence::Find);
    findAction->setShortcutContext(Qt::WidgetWithChildrenShortcut);
    connect(findAction, &QAction::triggered, this, [this] {
        m_search->setFocus();
        m_search->selectAll();
    });
    addAction(findAction);

    // Flashes fade by repainting while they last; deltas only note when they folded.
    m_fadeTimer = new QTimer(this);
    m_fadeTimer->setInterval(kFadeTickMs);
    connect(m_fadeTimer, &QTimer::timeout, this, [this] {
        m_view->viewport()->update();
        if (!m_model->hasFadingHighlights())
            m_fadeTimer->stop();
    });
    m_provenanceTimer = new QTimer(this);
    m_provenanceTimer->setSingleShot(true);
    m_provenanceTimer->setInterval(250);
    connect(m_provenanceTimer, &QTimer::timeout, this, [this] {
        refreshProvenance();
        if (!m_search->text().isEmpty()) {
            m_matchesDirty = true;
            updateMatchLabel();
        }
    });
    m_staleTimer = new QTimer(this);
    m_staleTimer->setSingleShot(true);
    m_staleTimer->setInterval(1000); // a whole-tree diff; at most once a second
    connect(m_staleTimer, &QTimer::timeout, this, &DocumentTreePanel::refreshStalePaths);

    connect(m_model, &QAbstractItemModel::modelAboutToBeReset, this, &DocumentTreePanel::rememberExpansion);
    connect(m_model, &QAbstractItemModel::modelReset, this, &DocumentTreePanel::restoreExpansion);
    // A reset (a replay's jump restores a checkpoint) forgets the stale marks: the merged view
    // finds them again.
    connect(m_model, &QAbstractItemModel::modelReset, this, [this] {
        if (m_choice == TreeChoice::Merged)
            refreshStalePaths();
    });
    connect(m_model, &QAbstractItemModel::rowsInserted, this, &DocumentTreePanel::onRowsInserted);
    // Filtered, everything shown is a match or leads to one: new matches open as they arrive,
    // and their ancestors, as setFilterToMatches() opens the ones already there.
    connect(m_proxy, &QAbstractItemModel::rowsInserted, this, [this](const QModelIndex& parent, int first, int last) {
        if (!m_filterOn || m_view->model() != m_proxy)
            return;
        for (QModelIndex ancestor = parent; ancestor.isValid(); ancestor = ancestor.parent())
            m_view->expand(ancestor);
        for (int row = first; row <= last; ++row)
            m_view->expandRecursively(m_proxy->index(row, 0, parent));
    });
}

DocumentTreePanel::~DocumentTreePanel()
{
    // The model listens to the folder's tree; it stops before either goes.
    m_model->setTree(nullptr);
}

void DocumentTreePanel::attachView()
{
    QAbstractItemModel* shown = m_filterOn ? static_cast<QAbstractItemModel*>(m_proxy) : m_model;
    if (m_view->model() == shown)
        return;
    m_view->setModel(shown);
    m_view->header()->setSectionResizeMode(DocumentTreeModel::KeyColumn, QHeaderView::Interactive);
    m_view->header()->setSectionResizeMode(DocumentTreeModel::ValueColumn, QHeaderView::Stretch);
    // Fixed widths: ResizeToContents would measure every visible row's text on each dataChanged,
    // which at thousands of deltas a second is most of the window's time.
    m_view->header()->setSectionResizeMode(DocumentTreeModel::KindColumn, QHeaderView::Interactive);
    m_view->setColumnWidth(DocumentTreeModel::KeyColumn, 180);
    m_view->setColumnWidth(DocumentTreeModel::KindColumn, 110);
    connect(m_view->selectionModel(), &QItemSelectionModel::currentChanged, this, [this](const QModelIndex& current) {
        // A node shown as current is no longer one waited for (see rememberExpansion): forgotten, so
        // folds do not keep looking it up once it is gone, nor select it again much later.
        if (current.isValid())
            m_savedCurrent.clear();
        refreshProvenance();
    });
}

void DocumentTreePanel::setSource(SessionFolder* folder, const EventLog* log)
{
    if (m_folder)
        disconnect(m_folder, nullptr, this, nullptr);
    m_folder = folder;
    m_log = log;
    m_matches.clear();
    m_matchPosition = -1;
    m_savedExpansion.clear();
    m_restorePending = false;
    m_savedCurrent.clear();
    m_model->setTree(nullptr);
    if (m_folder) {
        connect(m_folder, &SessionFolder::itemFolded, this, &DocumentTreePanel::noteFolded);
        connect(m_folder, &SessionFolder::anomalyFound, this, &DocumentTreePanel::onAnomaly);
        connect(m_folder, &SessionFolder::resyncCompared, this, [this] {
            if (m_choice == TreeChoice::Merged)
                refreshStalePaths();
        });
        // Owners detach first; this only guards against a folder deleted behind the panel's back
        // (its trees are gone by now, so the model must not unregister from them).
        connect(m_folder, &QObject::destroyed, this, [this] {
            m_folder = nullptr;
            m_log = nullptr;
            m_model->forgetTree();
        });
    }
    setTreeChoice(m_choice);
    refreshProvenance();
}

const DocumentTree* DocumentTreePanel::shownTree() const { return m_model->tree(); }

void DocumentTreePanel::setTreeChoice(TreeChoice choice)
{
    m_choice = choice;
    {
        const QSignalBlocker blocker(m_treeChoice);
        m_treeChoice->setCurrentIndex(choice == TreeChoice::Merged ? 1 : 0);
    }
    DocumentTree* tree = nullptr;
    if (m_folder)
        tree = choice == TreeChoice::Merged ? &m_folder->mergedTree() : &m_folder->epochTree();
    if (tree != m_model->tree())
        m_model->setTree(tree); // the reset handlers keep expansion and selection by path
    if (choice == TreeChoice::Merged)
        refreshStalePaths();
    m_matchesDirty = true;
    updateMatchLabel();
}

void DocumentTreePanel::noteFolded(qint64 eventIndex)
{
    // A snapshot creates every node: flashing them all would say nothing about what changed.
    const bool snapshot = m_log && eventIndex >= 0 && eventIndex < m_log->size() && (m_log->at(eventIndex).flags & FlagSnapshot);
    if (!snapshot)
        m_model->noteFolded(eventIndex);
    if (m_restorePending) {
        // The first snapshot after a new epoch: open what was open before it.
        m_restorePending = false;
        restoreExpansion();
    }
    if (!m_fadeTimer->isActive())
        m_fadeTimer->start();
    if (!m_provenanceTimer->isActive())
        m_provenanceTimer->start();
    if (m_choice == TreeChoice::Merged && !m_staleTimer->isActive())
        m_staleTimer->start();
}

void DocumentTreePanel::onAnomaly(const SessionAnomaly& anomaly)
{
    m_model->addAnomaly(anomaly.path, anomaly.kind, anomaly.eventIndex, anomaly.message);
}

void DocumentTreePanel::setAnomalies(const std::vector<SessionAnomaly>& anomalies)
{
    m_model->clearAnomalies();
    for (const SessionAnomaly& anomaly : anomalies)
        onAnomaly(anomaly);
}

void DocumentTreePanel::refreshStalePaths()
{
    if (!m_folder || m_choice != TreeChoice::Merged) {
        m_model->setStalePaths({});
        return;
    }
    const TreeDiff diff = m_folder->currentStaleDiff();
    // Stale: what the merged tree holds that the fresh tree does not, or holds with another value.
    QStringList paths = diff.added;
    paths += diff.changed;
    m_model->setStalePaths(paths);
}

QModelIndex DocumentTreePanel::viewIndexOf(NodeId node) const
{
    const QModelIndex source = m_model->indexOfNode(node);
    return m_filterOn ? m_proxy->mapFromSource(source) : source;
}

NodeId DocumentTreePanel::currentNode() const
{
    QModelIndex index = m_view->currentIndex();
    if (!index.isValid())
        return kNoNode;
    if (m_filterOn)
        index = m_proxy->mapToSource(index);
    return m_model->nodeOf(index.siblingAtColumn(0));
}

QString DocumentTreePanel::currentPath() const
{
    const NodeId node = currentNode();
    return node == kNoNode || !m_model->tree() ? QString() : m_model->tree()->path(node);
}

bool DocumentTreePanel::selectNode(NodeId node)
{
    const DocumentTree* tree = m_model->tree();
    if (!tree || node == kNoNode || !tree->contains(node))
        return false;
    for (NodeId up = tree->parent(node); up != kNoNode && up != tree->root(); up = tree->parent(up))
        m_view->expand(viewIndexOf(up));
    const QModelIndex index = viewIndexOf(node);
    if (!index.isValid())
        return false; // filtered out
    m_view->setCurrentIndex(index);
    m_view->scrollTo(index, QAbstractItemView::PositionAtCenter);
    return true;
}

bool DocumentTreePanel::selectPath(const QString& path)
{
    const DocumentTree* tree = m_model->tree();
    return tree && selectNode(tree->find(path));
}

int DocumentTreePanel::setSearchText(const QString& text)
{
    if (m_search->text() != text) {
        const QSignalBlocker blocker(m_search);
        m_search->setText(text);
    }
    m_proxy->setSearchText(m_filterOn ? text : QString());
    if (m_filterOn && !text.isEmpty())
        m_view->expandAll();
    m_matchesDirty = true;
    m_matchPosition = -1;
    updateMatchLabel();
    return matchCount();
}

void DocumentTreePanel::recomputeMatches()
{
    m_matchesDirty = false;
    const NodeId previous = m_matchPosition >= 0 && m_matchPosition < int(m_matches.size()) ? m_matches[m_matchPosition] : kNoNode;
    m_matches.clear();
    m_matchPosition = -1;
    const QString text = m_search->text();
    const DocumentTree* tree = m_model->tree();
    if (text.isEmpty() || !tree)
        return;
    // Depth first in display order, so next/previous walk the tree top to bottom.
    std::vector<NodeId> stack { tree->root() };
    while (!stack.empty() && int(m_matches.size()) < kMaxMatches) {
        const NodeId node = stack.back();
        stack.pop_back();
        if (node != tree->root()) {
            const bool match = tree->key(node).contains(text, Qt::CaseInsensitive)
                || (!isContainer(tree->kind(node))
                    && (tree->kind(node) == NodeKind::String ? tree->stringValue(node) : DocumentTreeModel::valueText(*tree, node))
                           .contains(text, Qt::CaseInsensitive));
            if (match)
                m_matches.push_back(node);
        }
        for (int row = tree->childCount(node) - 1; row >= 0; --row)
            stack.push_back(tree->child(node, row));
    }
    if (previous != kNoNode) {
        const auto found = std::find(m_matches.begin(), m_matches.end(), previous);
        if (found != m_matches.end())
            m_matchPosition = int(found - m_matches.begin());
    }
}

void DocumentTreePanel::updateMatchLabel()
{
    if (m_search->text().isEmpty()) {
        m_matchLabel->clear();
        return;
    }
    if (m_matchesDirty)
        recomputeMatches();
    if (m_matches.empty())
        m_matchLabel->setText(tr("no match"));
    else if (m_matchPosition < 0)
        m_matchLabel->setText(m_matches.size() == 1 ? tr("1 match") : tr("%1 matches").arg(m_matches.size()));
    else
        m_matchLabel->setText(tr("%1 of %2").arg(m_matchPosition + 1).arg(m_matches.size()));
}

bool DocumentTreePanel::findNext() { return stepMatch(+1); }
bool DocumentTreePanel::findPrevious() { return stepMatch(-1); }

bool DocumentTreePanel::stepMatch(int step)
{
    if (m_matchesDirty)
        recomputeMatches();
    if (m_matches.empty()) {
        updateMatchLabel();
        return false;
    }
    const int count = int(m_matches.size());
    // From no position, forward starts at the first match and backward at the last.
    m_matchPosition = m_matchPosition < 0 ? (step > 0 ? 0 : count - 1) : (m_matchPosition + step + count) % count;
    const bool selected = selectNode(m_matches[m_matchPosition]);
    updateMatchLabel();
    return selected;
}

void DocumentTreePanel::setFilterToMatches(bool on)
{
    if (on == m_filterOn)
        return;
    const NodeId current = currentNode();
    rememberExpansion();
    m_filterOn = on;
    {
        const QSignalBlocker blocker(m_filterButton);
        m_filterButton->setChecked(on);
    }
    m_proxy->setSearchText(on ? m_search->text() : QString());
    attachView();
    if (on && !m_search->text().isEmpty())
        m_view->expandAll();
    else
        restoreExpansion();
    if (current != kNoNode)
        selectNode(current);
}

void DocumentTreePanel::setKeepLastDeltaHighlighted(bool on)
{
    {
        const QSignalBlocker blocker(m_keepButton);
        m_keepButton->setChecked(on);
    }
    m_model->setKeepLastDeltaHighlighted(on);
    m_view->viewport()->update();
}

void DocumentTreePanel::refreshProvenance()
{
    m_provenance->clear();
    const DocumentTree* tree = m_model->tree();
    const NodeId node = currentNode();
    if (!tree || node == kNoNode || !tree->contains(node)) {
        m_provenanceTitle->setText(tr("Select a node to see which events touched it."));
        return;
    }
    const ProvenanceHistory history = tree->history(node);
    const QString touched = history.totalCount == 1 ? tr("1 event") : tr("%1 events").arg(history.totalCount);
    // One arg() for all: a '%' in the path is text, not a place for the next value.
    m_provenanceTitle->setText(tr("/%1 \u2014 created by event %2; touched by %3 in all, the last %4 listed")
                                   .arg(tree->path(node), QString::number(tree->createdBy(node)), touched,
                                       QString::number(history.recentEvents.size())));
    for (auto it = history.recentEvents.rbegin(); it != history.recentEvents.rend(); ++it) {
        const qint64 eventIndex = *it;
        auto* item = new QTreeWidgetItem(m_provenance);
        item->setData(0, Qt::UserRole, eventIndex);
        item->setText(0, QString::number(eventIndex));
        if (m_log && eventIndex >= 0 && eventIndex < m_log->size()) {
            const SessionEvent& event = m_log->at(eventIndex);
            // On the session's clock, as the timeline and the frame detail time it (its first event
            // is a little after the clock starts).
            item->setText(1, QString::number(double(event.monotonicNs) / 1e6, 'f', 1));
            item->setText(2, eventKindName(event.kind) + (eventIndex == tree->createdBy(node) ? tr(" (created)") : QString()));
            item->setText(3, event.seq >= 0 ? QString::number(event.seq) : QString());
        } else {
            item->setText(2, tr("not in this log"));
        }
    }
}

void DocumentTreePanel::rememberExpansion()
{
    const DocumentTree* tree = m_model->tree();
    if (!tree || (m_restorePending && m_model->rowCount() == 0))
        return; // still waiting to restore the previous tree's state: keep it
    m_savedExpansion.clear();
    // The node asked for stays asked for while a position lacks it (a replay's seek to before it
    // was made): the next tree that has it selects it again.
    if (const QString current = currentPath(); !current.isEmpty())
        m_savedCurrent = current;
    // Only expanded nodes are walked, so a huge collapsed list costs nothing.
    std::vector<QModelIndex> stack { QModelIndex() };
    QAbstractItemModel* shown = m_view->model();
    while (!stack.empty() && m_savedExpansion.size() < kMaxRememberedExpansion) {
        const QModelIndex parent = stack.back();
        stack.pop_back();
        const int rows = shown->rowCount(parent);
        for (int row = 0; row < rows; ++row) {
            const QModelIndex index = shown->index(row, 0, parent);
            if (!m_view->isExpanded(index))
                continue;
            const QModelIndex source = m_filterOn ? m_proxy->mapToSource(index) : index;
            m_savedExpansion.append(tree->path(m_model->nodeOf(source)));
            stack.push_back(index);
        }
    }
}

void DocumentTreePanel::restoreExpansion()
{
    const DocumentTree* tree = m_model->tree();
    if (!tree)
        return;
    if (m_model->rowCount() == 0) {
        // A new epoch starts empty; its snapshot arrives with the next fold.
        m_restorePending = !m_savedExpansion.isEmpty() || !m_savedCurrent.isEmpty();
        refreshProvenance();
        return;
    }
    for (const QString& path : std::as_const(m_savedExpansion)) {
        const QModelIndex index = viewIndexOf(tree->find(path));
        if (index.isValid())
            m_view->expand(index);
    }
    if (!m_savedCurrent.isEmpty()) {
        const QModelIndex index = viewIndexOf(tree->find(m_savedCurrent));
        if (index.isValid())
            m_view->setCurrentIndex(index);
    }
    refreshProvenance();
}

void DocumentTreePanel::onRowsInserted(const QModelIndex& parent, int first, int last)
{
    // The node asked for (see rememberExpansion) comes back by a fold, not a reset: a replay
    // stepping forward over its creation selects it again.
    if (!m_savedCurrent.isEmpty() && !m_view->currentIndex().isValid() && m_model->tree()) {
        const QModelIndex wanted = viewIndexOf(m_model->tree()->find(m_savedCurrent));
        if (wanted.isValid())
            m_view->setCurrentIndex(wanted);
    }
    // Top-level keys open as they appear, so a first snapshot shows its structure at once.
    if (parent.isValid() || m_filterOn)
        return;
    for (int row = first; row <= last; ++row)
        m_view->expand(m_model->index(row, 0));
}

void DocumentTreePanel::setClipboard(const QString& text)
{
    if (QClipboard* clipboard = QApplication::clipboard())
        clipboard->setText(text);
}

QString DocumentTreePanel::copyPath()
{
    const NodeId node = currentNode();
    if (node == kNoNode)
        return {};
    const QString path = QLatin1Char('/') + m_model->tree()->path(node);
    setClipboard(path);
    return path;
}

QString DocumentTreePanel::copyValue()
{
    const NodeId node = currentNode();
    if (node == kNoNode)
        return {};
    const DocumentTree* tree = m_model->tree();
    // A string is copied as its text; anything else as compact JSON.
    const QString value = tree->kind(node) == NodeKind::String ? tree->stringValue(node) : QString::fromUtf8(tree->toJson(node, false));
    setClipboard(value);
    return value;
}

QString DocumentTreePanel::copySubtree()
{
    const NodeId node = currentNode();
    if (node == kNoNode)
        return {};
    const QString json = QString::fromUtf8(m_model->tree()->toJson(node, true));
    setClipboard(json);
    return json;
}

void DocumentTreePanel::showContextMenu(const QPoint& position)
{
    if (!m_view->indexAt(position).isValid())
        return;
    QMenu menu(this);
    menu.addAction(tr("Copy path"), QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_C), this, &DocumentTreePanel::copyPath);
    menu.addAction(tr("Copy value"), QKeySequence(QKeySequence::Copy), this, &DocumentTreePanel::copyValue);
    menu.addAction(tr("Copy subtree as JSON"), this, &DocumentTreePanel::copySubtree);
    menu.exec(m_view->viewport()->mapToGlobal(position));
}

}
