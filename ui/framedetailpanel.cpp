#include "ui/framedetailpanel.h"

#include "core/session/incidentsummary.h"

#include "core/session/eventlog.h"
#include "ui/emptystatepanel.h"
#include "ui/jsonhighlighter.h"
#include "ui/models/deltadetailsource.h"
#include "ui/models/framesummary.h"
#include "ui/models/linediff.h"

#include <QApplication>
#include <QClipboard>
#include <QFile>
#include <QFileDialog>
#include <QFontDatabase>
#include <QHBoxLayout>
#include <QJsonDocument>
#include <QJsonObject>
#include <QLabel>
#include <QListView>
#include <QMessageBox>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QSplitter>
#include <QStringListModel>
#include <QTabWidget>
#include <QTextBlock>
#include <QVBoxLayout>

#include <algorithm>
#include <climits>

namespace deltascope::ui {

namespace {
// A frame (a large document's snapshot may be tens of MiB) or document text is shown up to this
// size: more would stall the window on every selection (laying out and colouring 2 MiB took
// seconds), and no one reads it on screen. Save writes the whole frame.
constexpr qsizetype kShownTextBytes = 512 * 1024;
// Text is coloured up to this size; above it the colouring alone stalls the window.
constexpr qsizetype kHighlightedChars = 128 * 1024;

// Each side of Before / after is shown up to this size: two views of it are laid out on every
// selection, and 2 x 512 KiB took 200 ms.
constexpr qsizetype kShownDocumentChars = 160 * 1024;
// Unchanged lines shown above a large document's first change.
constexpr int kContextLines = 40;
// A line longer than this (a long string value) is cut in a large document's window, so the
// window always reaches the change however long the lines before it are.
constexpr qsizetype kShownLineChars = 2000;

// The part of a document (its lines) that one side of Before / after shows: all of it when small;
// for a large one, the lines from a little above `focusLine` (its first change) on, up to the size
// limit and always through the focus line, long lines cut, under a comment saying which.
// `skipped` lines precede the first one shown.
struct ShownDocument {
    QString text;
    int skipped = 0;
    int count = 0; // lines of the document shown
    int headerLines = 0;
};

ShownDocument shownDocument(const QStringList& lines, qsizetype totalChars, int focusLine)
{
    ShownDocument shown;
    if (totalChars <= kShownDocumentChars) {
        shown.text = lines.join(QLatin1Char('\n'));
        shown.count = int(lines.size());
        return shown;
    }
    const int last = std::max(0, int(lines.size()) - 1);
    const int focus = std::clamp(focusLine, 0, last);
    const int first = std::max(0, focus - kContextLines);
    QStringList window;
    qsizetype size = 0;
    bool cut = false;
    int end = first;
    for (; end < lines.size(); ++end) {
        QString line = lines[end];
        if (line.size() > kShownLineChars) {
            line = line.left(kShownLineChars) + QObject::tr("\u2026 (%1 more characters)").arg(line.size() - kShownLineChars);
            cut = true;
        }
        // Through the focus line whatever the size (at most 41 cut lines), then as far as it goes.
        if (end > focus && size + line.size() + 1 > kShownDocumentChars)
            break;
        size += line.size() + 1;
        window.append(line);
    }
    shown.skipped = first;
    shown.count = int(window.size());
    shown.headerLines = 1;
    shown.text = QObject::tr("// lines %1-%2 of %3 (%4 characters in all): the part from just above the first change%5\n")
                     .arg(first + 1)
                     .arg(end)
                     .arg(lines.size())
                     .arg(totalChars)
                     .arg(cut ? QObject::tr("; lines over %1 characters cut").arg(kShownLineChars) : QString())
        + window.join(QLatin1Char('\n'));
    return shown;
}

// `lines` (of the whole document) as lines of what `shown` holds; those outside it are left out.
std::vector<int> shownLines(const std::vector<int>& lines, const ShownDocument& shown)
{
    std::vector<int> out;
    for (int line : lines) {
        if (line >= shown.skipped && line < shown.skipped + shown.count)
            out.push_back(line - shown.skipped + shown.headerLines);
    }
    return out;
}

// Puts `text` into a view made by makeJsonView(), coloured when small enough.
void showJson(QPlainTextEdit* view, const QString& text)
{
    JsonHighlighter* highlighter = view->findChild<JsonHighlighter*>();
    // Detached before the text goes in: attached, it would colour every block of it first.
    if (highlighter)
        highlighter->setDocument(nullptr);
    view->setPlainText(text);
    if (highlighter && text.size() <= kHighlightedChars)
        highlighter->setDocument(view->document());
}

// Marks `lines` of `view` with a full-width background and scrolls to the first: a change deep in
// a long document is otherwise not found by eye. At most kMarkedLines: past that the marks cost
// more than they tell.
void markLines(QPlainTextEdit* view, const std::vector<int>& lines, const QColor& colour)
{
    constexpr std::size_t kMarkedLines = 5000;
    QList<QTextEdit::ExtraSelection> selections;
    QTextDocument* document = view->document();
    for (std::size_t i = 0; i < std::min(lines.size(), kMarkedLines); ++i) {
        const QTextBlock block = document->findBlockByNumber(lines[i]);
        if (!block.isValid())
            break;
        QTextEdit::ExtraSelection selection;
        selection.cursor = QTextCursor(block);
        selection.format.setBackground(colour);
        selection.format.setProperty(QTextFormat::FullWidthSelection, true);
        selections.append(selection);
    }
    view->setExtraSelections(selections);
    if (!selections.isEmpty()) {
        view->setTextCursor(selections.front().cursor);
        view->centerCursor();
    }
}

QPlainTextEdit* makeJsonView(QWidget* parent, const QString& objectName)
{
    auto* edit = new QPlainTextEdit(parent);
    edit->setObjectName(objectName);
    edit->setReadOnly(true);
    edit->setLineWrapMode(QPlainTextEdit::NoWrap);
    edit->setFont(QFontDatabase::systemFont(QFontDatabase::FixedFont));
    new JsonHighlighter(edit->document());
    return edit;
}
}

FrameDetailPanel::FrameDetailPanel(QWidget* parent)
    : QWidget(parent)
{
    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->setSpacing(2);

    m_header = new QLabel(this);
    m_header->setObjectName(QStringLiteral("detailHeader"));
    m_header->setTextInteractionFlags(Qt::TextSelectableByMouse);
    m_header->setWordWrap(true);
    layout->addWidget(m_header);
    // The buttons sit right of the tabs, where the tab bar has room: beside the header they made
    // it wrap onto a second line at 1024 px, a line the Before / after tab could not spare.
    auto* buttons = new QWidget(this);
    auto* top = new QHBoxLayout(buttons);
    top->setContentsMargins(0, 0, 0, 0);
    top->setSpacing(4);
    m_linkedButton = new QPushButton(tr("Go to linked"), this);
    m_linkedButton->setObjectName(QStringLiteral("detailLinkedButton"));
    m_linkedButton->setToolTip(tr("Select the request, response or ack paired with this event"));
    connect(m_linkedButton, &QPushButton::clicked, this, [this] {
        if (m_log && m_index >= 0 && m_log->at(m_index).linkedIndex >= 0)
            Q_EMIT jumpRequested(m_log->at(m_index).linkedIndex);
    });
    top->addWidget(m_linkedButton);
    m_copyButton = new QPushButton(tr("Copy"), this);
    m_copyButton->setObjectName(QStringLiteral("detailCopyButton"));
    m_copyButton->setToolTip(tr("Copy the frame (identity tokens stay masked)"));
    connect(m_copyButton, &QPushButton::clicked, this, &FrameDetailPanel::copyFrame);
    top->addWidget(m_copyButton);
    m_saveButton = new QPushButton(tr("Save…"), this);
    m_saveButton->setObjectName(QStringLiteral("detailSaveButton"));
    connect(m_saveButton, &QPushButton::clicked, this, &FrameDetailPanel::saveFrameInteractively);
    top->addWidget(m_saveButton);

    m_tabs = new QTabWidget(this);
    m_tabs->setObjectName(QStringLiteral("detailTabs"));
    m_tabs->setDocumentMode(true);
    m_tabs->setCornerWidget(buttons, Qt::TopRightCorner);
    m_frame = makeJsonView(m_tabs, QStringLiteral("frameView"));
    m_tabs->addTab(m_frame, tr("Frame"));

    m_pathsPanel = new EmptyStatePanel(QString(), QString(), m_tabs);
    m_pathsModel = new QStringListModel(this);
    m_paths = new QListView(m_pathsPanel);
    m_paths->setObjectName(QStringLiteral("changedPathsView"));
    m_paths->setModel(m_pathsModel);
    m_paths->setUniformItemSizes(true);
    m_paths->setEditTriggers(QAbstractItemView::NoEditTriggers);
    m_paths->setToolTip(tr("Double-click (or Enter) a path to show it in the document tree"));
    connect(m_paths, &QListView::activated, this, [this](const QModelIndex& index) {
        // "+ /a/b", "- /a/b", "~ /a/b", "↕ /list/key row 3 → 1", "! kind at /a/b: message"
        const QString line = index.data().toString();
        qsizetype start = line.indexOf(QStringLiteral(" /"));
        if (start < 0)
            return;
        start += 2;
        qsizetype end = line.size();
        for (const QString& stop : { QStringLiteral(" row "), QStringLiteral(": ") }) {
            const qsizetype at = line.indexOf(stop, start);
            if (at >= 0)
                end = std::min(end, at);
        }
        Q_EMIT pathActivated(line.mid(start, end - start));
    });
    m_pathsPanel->setContent(m_paths);
    m_tabs->addTab(m_pathsPanel, tr("Changed paths"));

    m_diffPanel = new EmptyStatePanel(QString(), QString(), m_tabs);
    auto* split = new QSplitter(Qt::Horizontal, m_diffPanel);
    split->setObjectName(QStringLiteral("beforeAfterSplitter"));
    // Each side under a label, so which one is the old document never has to be guessed.
    const auto labelledSide = [split](QLabel*& label, const QString& objectName) {
        auto* side = new QWidget(split);
        auto* column = new QVBoxLayout(side);
        column->setContentsMargins(0, 0, 0, 0);
        column->setSpacing(2);
        label = new QLabel(side);
        label->setObjectName(objectName + QStringLiteral("Label"));
        column->addWidget(label);
        QPlainTextEdit* view = makeJsonView(side, objectName);
        column->addWidget(view, 1);
        split->addWidget(side);
        return view;
    };
    m_before = labelledSide(m_beforeLabel, QStringLiteral("beforeView"));
    m_after = labelledSide(m_afterLabel, QStringLiteral("afterView"));
    m_diffPanel->setContent(split);
    m_tabs->addTab(m_diffPanel, tr("Before / after"));

    m_analysisPanel = new EmptyStatePanel(QString(), QString(), m_tabs);
    m_analysis = new QPlainTextEdit(m_analysisPanel);
    m_analysis->setObjectName(QStringLiteral("analysisView"));
    m_analysis->setReadOnly(true);
    m_analysisPanel->setContent(m_analysis);
    m_tabs->addTab(m_analysisPanel, tr("Analysis"));
    layout->addWidget(m_tabs, 1);
    connect(m_tabs, &QTabWidget::currentChanged, this, [this] {
        if (m_tabs->currentWidget() == m_pathsPanel || m_tabs->currentWidget() == m_diffPanel)
            showPendingDetail();
    });

    showEvent(-1);
}

void FrameDetailPanel::setEventLog(EventLog* log)
{
    m_log = log;
    showEvent(-1);
}

DeltaDetail streamItemDetail(DeltaDetailSource& source, qint64 eventIndex)
{
    DeltaDetailSource::Result result = source.compute(eventIndex);
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
}

void FrameDetailPanel::setDeltaDetailProvider(DeltaDetailProvider provider)
{
    m_deltaDetail = std::move(provider);
    showEvent(m_index);
}

void FrameDetailPanel::setFailureCodeDescriber(FailureCodeDescriber describer)
{
    m_failureCodes = std::move(describer);
    showEvent(m_index);
}

void FrameDetailPanel::showEvent(qint64 index)
{
    m_detailPending = -1; // a stream item's details wait for their tab only while it is selected
    if (!m_log || index < 0 || index >= m_log->size()) {
        m_index = -1;
        m_header->setText(tr("No event selected."));
        m_frame->clear();
        m_pathsModel->setStringList({});
        m_pathsPanel->setEmptyText(tr("Select a stream item to see the paths its delta changed."));
        m_pathsPanel->showContent(false);
        m_diffPanel->setEmptyText(tr("Select a stream item to see the document before and after its delta."));
        m_diffPanel->showContent(false);
        showAnalysis(EventKind::Note, {});
        for (QPushButton* button : { m_linkedButton, m_copyButton, m_saveButton })
            button->setEnabled(false);
        return;
    }
    m_index = index;
    const SessionEvent& event = m_log->at(index);
    const QByteArray payload = m_log->payload(index);

    QStringList header;
    header.append(QStringLiteral("<b>#%1</b>").arg(index));
    header.append(eventKindName(event.kind).toHtmlEscaped());
    header.append(directionName(event.direction));
    if (event.requestId >= 0)
        header.append(tr("id %1").arg(event.requestId));
    if (event.seq >= 0)
        header.append(tr("seq %1").arg(event.seq));
    header.append(tr("epoch %1").arg(event.epoch));
    header.append(tr("%1 bytes").arg(event.payload.size));
    header.append(tr("t = %1 ms").arg(double(event.monotonicNs) / 1e6, 0, 'f', 3));
    if (!m_log->method(index).isEmpty())
        header.append(m_log->method(index).toHtmlEscaped());
    QString headerHtml = header.join(QStringLiteral(" · "));
    if (event.kind == EventKind::Failure) {
        const qint64 code = event.code;
        const bool serverRetry = (event.flags & FlagRetryable) != 0;
        QString line = tr("failure code %1").arg(code);
        if (m_failureCodes) {
            const FailureCodeInfo info = m_failureCodes(code);
            if (info.known)
                line += QStringLiteral(" — <b>%1</b>, %2").arg(info.name.toHtmlEscaped(), info.retryable ? tr("retryable") : tr("not retryable"));
            else
                line += tr(" — not a code this build knows");
        }
        line += tr("; the frame says retry: %1").arg(serverRetry ? QStringLiteral("true") : QStringLiteral("false"));
        if (event.flags & FlagSynthetic)
            line += tr(" (made by the client, not seen on the wire)");
        headerHtml += QStringLiteral("<br>") + line;
    }
    m_header->setText(headerHtml);

    if (payload.size() > kShownTextBytes) {
        // Too large to format: its start as received.
        showJson(m_frame, tr("// %1 bytes: the first %2 shown as received, unformatted; Save writes the whole frame\n")
                                  .arg(payload.size())
                                  .arg(kShownTextBytes)
            + QString::fromUtf8(payload.left(kShownTextBytes)));
    } else {
        QString parseError;
        const QString pretty = prettyFrame(payload, &parseError);
        showJson(m_frame, parseError.isEmpty() ? pretty : tr("// %1; shown as received\n").arg(parseError) + pretty);
    }

    m_linkedButton->setEnabled(event.linkedIndex >= 0);
    m_copyButton->setEnabled(true);
    m_saveButton->setEnabled(true);
    showAnalysis(event.kind, payload);

    if (event.kind != EventKind::StreamItem) {
        m_pathsModel->setStringList({});
        const QString kind = eventKindName(event.kind);
        // "An epoch event", "A note event": the article by the sound of the kind's first letter.
        const bool vowel = !kind.isEmpty() && QStringLiteral("aeiou").contains(kind.front());
        m_pathsPanel->setEmptyText((vowel ? tr("An %1 event changes no document paths; stream items do.") : tr("A %1 event changes no document paths; stream items do."))
                                       .arg(kind));
        m_pathsPanel->showContent(false);
        m_diffPanel->setEmptyText(tr("Before / after documents are shown for stream items."));
        m_diffPanel->showContent(false);
        return;
    }
    if (!m_deltaDetail) {
        const QString text = tr("The document fold is not attached to this session, so the changed paths and the "
                                "before / after documents cannot be computed here.");
        m_pathsPanel->setEmptyText(text);
        m_pathsPanel->showContent(false);
        m_diffPanel->setEmptyText(text);
        m_diffPanel->showContent(false);
        return;
    }
    // Folded, diffed and printed when one of their tabs is shown: for a large document that is
    // most of a selection's cost, and stepping through frames would pay it on every step.
    m_detailPending = index;
    if (m_tabs->currentWidget() == m_pathsPanel || m_tabs->currentWidget() == m_diffPanel)
        showPendingDetail();
}

void FrameDetailPanel::showPendingDetail()
{
    if (m_detailPending < 0 || !m_deltaDetail)
        return;
    const qint64 index = std::exchange(m_detailPending, -1);
    const DeltaDetail detail = m_deltaDetail(index);
    if (!detail.error.isEmpty()) {
        m_pathsPanel->setEmptyText(detail.error);
        m_pathsPanel->showContent(false);
        m_diffPanel->setEmptyText(detail.error);
        m_diffPanel->showContent(false);
        return;
    }
    m_pathsModel->setStringList(detail.changedPaths);
    m_pathsPanel->setEmptyText(tr("This item changed nothing visible in the document (a seq or side-channel item)."));
    m_pathsPanel->showContent(!detail.changedPaths.isEmpty());
    // The lines that differ, as a diff tool marks them: removed on the left, added on the right,
    // found over the whole documents, so a large one shows the part where they are.
    const QStringList beforeLines = detail.before.split(QLatin1Char('\n'));
    const QStringList afterLines = detail.after.split(QLatin1Char('\n'));
    const LineDiff lines = diffLines(beforeLines, afterLines);
    const int firstChange = std::min(lines.removed.empty() ? INT_MAX : lines.removed.front(), lines.added.empty() ? INT_MAX : lines.added.front());
    const int focus = firstChange == INT_MAX ? 0 : firstChange;
    const ShownDocument before = shownDocument(beforeLines, detail.before.size(), focus);
    const ShownDocument after = shownDocument(afterLines, detail.after.size(), focus);
    showJson(m_before, before.text);
    showJson(m_after, after.text);
    markLines(m_before, shownLines(lines.removed, before), QColor(220, 50, 47, 70));
    markLines(m_after, shownLines(lines.added, after), QColor(40, 170, 60, 70));
    const auto count = [](std::size_t n) { return n == 1 ? tr("1 line") : tr("%1 lines").arg(n); };
    // A diff over its edit budget marks the whole changed stretch: said, so the count is not taken
    // for lines that each changed.
    const QString coarse = lines.minimal ? QString() : tr(", a coarse diff (too many changes to pair line by line)");
    m_beforeLabel->setText(tr("Before this delta: %1 removed or changed (red)%2").arg(count(lines.removed.size()), coarse));
    m_afterLabel->setText(tr("After it: %1 added or changed (green)%2").arg(count(lines.added.size()), coarse));
    m_diffPanel->showContent(true);
}

void FrameDetailPanel::showAnalysis(EventKind kind, const QByteArray& payload)
{
    if (kind != EventKind::Incident) {
        m_analysis->clear();
        m_analysisPanel->setEmptyText(tr("Incidents carry a resync analysis: select an incident row (or one in the Incidents pane)."));
        m_analysisPanel->showContent(false);
        if (m_tabs->currentWidget() == m_analysisPanel)
            m_tabs->setCurrentWidget(m_frame);
        return;
    }
    // The Incident event's payload is the analyzer's own report (not a protocol frame).
    const QJsonObject report = QJsonDocument::fromJson(payload).object();
    m_analysis->setPlainText(incidentSummaryLines(report).join(QLatin1Char('\n')));
    m_analysisPanel->showContent(true);
    m_tabs->setCurrentWidget(m_analysisPanel);
}

QString FrameDetailPanel::analysisText() const
{
    return m_analysis->toPlainText();
}

QString FrameDetailPanel::headerText() const
{
    return m_header->text();
}

QString FrameDetailPanel::frameText() const
{
    return m_frame->toPlainText();
}

QStringList FrameDetailPanel::changedPaths()
{
    showPendingDetail();
    return m_pathsModel->stringList();
}

void FrameDetailPanel::copyFrame()
{
    if (m_index >= 0)
        QApplication::clipboard()->setText(frameText());
}

QString FrameDetailPanel::saveFrame(const QString& path) const
{
    QFile file(path);
    if (!file.open(QIODevice::WriteOnly | QIODevice::Truncate))
        return tr("could not write '%1': %2").arg(path, file.errorString());
    // A frame too large to show whole is saved whole, as received; any other as shown (formatted,
    // identities masked).
    const QByteArray payload = m_index >= 0 && m_log ? m_log->payload(m_index) : QByteArray();
    const QByteArray bytes = payload.size() > kShownTextBytes ? payload : frameText().toUtf8();
    if (file.write(bytes) != bytes.size())
        return tr("could not write '%1': %2").arg(path, file.errorString());
    return {};
}

void FrameDetailPanel::saveFrameInteractively()
{
    if (m_index < 0)
        return;
    const QString path = QFileDialog::getSaveFileName(this, tr("Save frame"), QStringLiteral("event-%1.json").arg(m_index), tr("JSON (*.json);;All files (*)"));
    if (path.isEmpty())
        return;
    const QString error = saveFrame(path);
    if (!error.isEmpty())
        QMessageBox::warning(this, tr("Save frame"), error + tr("\nChoose another folder or check its permissions."));
}

}
