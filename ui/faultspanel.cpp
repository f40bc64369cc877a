#include "ui/faultspanel.h"

#include "core/faults/faultplan.h"
#include "ui/flowlayout.h"
#include "ui/livecontroller.h"

#include <QComboBox>
#include <QEvent>
#include <QDateTime>
#include <QFileDialog>
#include <QHBoxLayout>
#include <QJsonObject>
#include <QLabel>
#include <QListWidget>
#include <QPushButton>
#include <QResizeEvent>
#include <QSpinBox>
#include <QVBoxLayout>

namespace deltascope::ui {

namespace {
constexpr int kMaxLogLines = 500;
const QString kFromFile = QStringLiteral("\u2026from file");
}

FaultsPanel::FaultsPanel(LiveController* live, QWidget* parent)
    : QWidget(parent)
    , m_live(live)
{
    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(4, 2, 4, 2);
    layout->setSpacing(3);

    m_availability = new QLabel(this);
    m_availability->setObjectName(QStringLiteral("faultsAvailability"));
    m_availability->setWordWrap(true);
    layout->addWidget(m_availability);

    // Plans first: a whole scenario is what a short pane should still offer.
    auto* planRow = new QHBoxLayout;
    m_planChoice = new QComboBox(this);
    m_planChoice->setObjectName(QStringLiteral("planChoice"));
    for (const QString& name : faults::FaultPlan::readyPlanNames()) {
        faults::FaultPlan plan;
        QString error;
        m_planChoice->addItem(name, name);
        if (faults::FaultPlan::load(name, plan, &error))
            m_planChoice->setItemData(m_planChoice->count() - 1, plan.description, Qt::ToolTipRole);
    }
    m_planChoice->addItem(kFromFile, QString());
    // Names elided past 14 characters (whole in the list): the longest set the pane's minimum.
    m_planChoice->setSizeAdjustPolicy(QComboBox::AdjustToMinimumContentsLengthWithIcon);
    m_planChoice->setMinimumContentsLength(14);
    m_planChoice->setToolTip(tr("Ready plans from resources/plans, or a plan file (see core/faults/README.md)"));
    // A wheel turned over the list in passing must not pick another plan.
    m_planChoice->setFocusPolicy(Qt::StrongFocus);
    m_planChoice->installEventFilter(this);
    planRow->addWidget(m_planChoice, 1);
    m_runPlan = new QPushButton(tr("Run plan"), this);
    m_runPlan->setObjectName(QStringLiteral("runPlan"));
    m_tips.insert(QStringLiteral("run-plan"), tr("Run the chosen plan from now on: its faults fire as it says, through reconnects"));
    connect(m_runPlan, &QPushButton::clicked, this, &FaultsPanel::runSelectedPlan);
    planRow->addWidget(m_runPlan);
    m_stopPlan = new QPushButton(tr("Stop"), this);
    m_stopPlan->setObjectName(QStringLiteral("stopPlan"));
    m_stopPlan->setEnabled(false);
    connect(m_stopPlan, &QPushButton::clicked, m_live, &LiveController::stopPlan);
    planRow->addWidget(m_stopPlan);
    layout->addLayout(planRow);
    m_planState = new QLabel(tr("no plan running"), this);
    m_planState->setObjectName(QStringLiteral("planState"));
    layout->addWidget(m_planState);


    const auto spin = [this](int min, int max, int value, const QString& suffix, const QString& name) {
        auto* box = new QSpinBox(this);
        box->setRange(min, max);
        box->setValue(value);
        box->setSuffix(suffix);
        box->setObjectName(name);
        return box;
    };
    // Each fault with its parameters is one unit; the units wrap onto as many lines as the pane's
    // width needs, so none is cut off at the right edge and the log below keeps what is left.
    m_faultsFlow = new FlowLayout(nullptr, 6, 2);
    const auto addUnit = [this](std::initializer_list<QWidget*> widgets) {
        auto* unit = new QWidget(this);
        auto* row = new QHBoxLayout(unit);
        row->setContentsMargins(0, 0, 0, 0);
        row->setSpacing(2);
        for (QWidget* widget : widgets)
            row->addWidget(widget);
        m_faultsFlow->addWidget(unit);
    };
    addUnit({ addButton(QStringLiteral("drop"), tr("Drop (RST)"), tr("Reset the connection at both ends (Ctrl+D)")) });
    addUnit({ addButton(QStringLiteral("drop-fin"), tr("Close (FIN)"), tr("Close the connection in an orderly way at both ends")) });
    m_stallSeconds = spin(1, 600, 10, tr(" s"), QStringLiteral("stallSeconds"));
    m_stallSeconds->setToolTip(tr("How long the stall lasts"));
    addUnit({ addButton(QStringLiteral("stall"), tr("Half-open stall"),
                  tr("Both directions go silent while TCP stays open; the client must notice the missing pings (Ctrl+T)")),
        m_stallSeconds });
    m_latencyMs = spin(0, 10000, 200, tr(" ms"), QStringLiteral("latencyMs"));
    m_latencyMs->setToolTip(tr("One-way delay"));
    m_jitterMs = spin(0, 10000, 50, tr(" ms"), QStringLiteral("jitterMs"));
    m_jitterMs->setPrefix(QStringLiteral("\u00B1"));
    m_jitterMs->setToolTip(tr("Jitter around the delay"));
    addUnit({ addButton(QStringLiteral("latency"), tr("Latency"), tr("Add one-way delay with jitter, both directions, order kept")),
        m_latencyMs, m_jitterMs });
    m_bandwidthKiB = spin(1, 1000000, 16, tr(" KiB/s"), QStringLiteral("bandwidthKiB"));
    m_bandwidthKiB->setToolTip(tr("Throughput in each direction"));
    addUnit({ addButton(QStringLiteral("bandwidth"), tr("Bandwidth cap"), tr("Limit throughput in both directions")), m_bandwidthKiB });
    addUnit({ addButton(QStringLiteral("version-mismatch"), tr("Version mismatch"),
        tr("Every later hello carries another version, then the socket closes: the reconnect lands on \"another build\"")) });
    addUnit({ addButton(QStringLiteral("redeploy"), tr("Redeploy server"),
        tr("Every socket closes, connects fail for 1.5 s, the new build greets with another version "
           "(real on the embedded server, simulated by the proxy elsewhere)")) });
    addUnit({ addButton(QStringLiteral("silent-delta-drop"), tr("Drop a delta silently"),
        tr("Swallow the next delta and keep the socket up: the client's tree is now wrong, and only the "
           "shadow connection's fresh snapshot shows it")) });
    addUnit({ addButton(QStringLiteral("clear"), tr("Clear all faults"), tr("End stalls, shaping and armed message faults")) });
    layout->addLayout(m_faultsFlow);

    m_log = new QListWidget(this);
    m_log->setObjectName(QStringLiteral("faultLog"));
    m_log->setToolTip(tr("What was injected, when; each fault is also an event in the timeline"));
    m_log->setUniformItemSizes(true);
    m_log->setMinimumHeight(fontMetrics().height() + 8); // the newest line, at least
    // A long line is cut short (its tooltip has it whole): a horizontal scroll bar would cover the
    // one line a short log shows.
    m_log->setHorizontalScrollBarPolicy(Qt::ScrollBarAlwaysOff);
    m_log->setTextElideMode(Qt::ElideRight);
    layout->addWidget(m_log, 1);

    connect(m_live, &LiveController::faultLogged, this, &FaultsPanel::appendLog);
    connect(m_live, &LiveController::planStateChanged, this, [this](bool running, const QString& name) {
        m_planState->setText(running ? tr("plan %1 running").arg(name) : tr("no plan running (last: %1)").arg(name));
        m_stopPlan->setEnabled(running);
    });
    connect(m_live, &LiveController::sessionChanged, this, &FaultsPanel::updateAvailability);
    connect(m_live, &LiveController::stateChanged, this, &FaultsPanel::updateAvailability);
    updateAvailability();
}

QSize FaultsPanel::minimumSizeHint() const
{
    // The wrapped faults' height at this width: a splitter gives the pane at least that, so no
    // button is cut off and the log keeps its lines below them. Before the pane is first laid out
    // its width is a default, not one it was given: the height is then the one at the width it asks
    // for. Taken at the narrowest, the window's first split gave the row of panes the height of
    // five lines of faults and kept it once they had room for three.
    const QSize base = QWidget::minimumSizeHint();
    const int laidOutWidth = testAttribute(Qt::WA_Resized) ? width() : threeLineWidth();
    return { base.width(), std::max(base.height(), layout()->minimumHeightForWidth(std::max(laidOutWidth, base.width()))) };
}

int FaultsPanel::threeLineWidth() const
{
    // The narrowest width that keeps the faults to three lines: on one line they would take the
    // charts' room, on more the pane grows taller than the row it shares.
    int lineHeight = 0;
    for (int i = 0; i < m_faultsFlow->count(); ++i)
        lineHeight = std::max(lineHeight, m_faultsFlow->itemAt(i)->sizeHint().height());
    const int threeLines = 3 * lineHeight + 2 * 2;
    const int widest = m_faultsFlow->sizeHint().width();
    int width = m_faultsFlow->minimumSize().width();
    while (width < widest && m_faultsFlow->heightForWidth(width) > threeLines)
        width += 10;
    const QMargins margins = layout()->contentsMargins();
    return width + margins.left() + margins.right();
}

QSize FaultsPanel::sizeHint() const
{
    const int width = std::max(threeLineWidth(), QWidget::minimumSizeHint().width());
    return { width, layout()->heightForWidth(width) };
}

void FaultsPanel::resizeEvent(QResizeEvent* event)
{
    QWidget::resizeEvent(event);
    if (event->size().width() != event->oldSize().width())
        updateGeometry(); // the faults wrap onto another number of lines
    m_log->scrollToBottom(); // the newest line stays in view as the pane changes size
}

bool FaultsPanel::eventFilter(QObject* watched, QEvent* event)
{
    if (watched == m_planChoice && event->type() == QEvent::Wheel && !m_planChoice->hasFocus()) {
        event->ignore(); // to the pane
        return true;
    }
    return QWidget::eventFilter(watched, event);
}

QPushButton* FaultsPanel::addButton(const QString& name, const QString& text, const QString& tip)
{
    auto* button = new QPushButton(text, this);
    button->setObjectName(QStringLiteral("fault_") + name);
    button->setToolTip(tip);
    connect(button, &QPushButton::clicked, this, [this, name] { trigger(name); });
    m_buttons.insert(name, button);
    m_tips.insert(name, tip);
    return button;
}

QPushButton* FaultsPanel::button(const QString& name) const { return m_buttons.value(name); }

void FaultsPanel::updateAvailability()
{
    // Why this session takes no faults at all (none, or not through the proxy): said on a line of
    // its own. Why not now (connecting, reconnecting): said by the greyed-out buttons' tooltips, as
    // the state changes too often while a plan runs for a line that comes and goes.
    const QString reason = m_live->faultsUnavailableReason();
    const QString notNow = reason.isEmpty() ? m_live->faultActionsUnavailableReason() : reason;
    m_availability->setText(reason.isEmpty() ? tr("Faults act through the loopback fault proxy in front of the server.") : reason);
    // Said while the buttons cannot act; otherwise the line is the log's.
    m_availability->setVisible(!reason.isEmpty());
    m_planState->setVisible(reason.isEmpty()); // no plan runs without faults: one line says which
    setToolTip(reason.isEmpty() ? m_availability->text() : QString());
    // Greyed out, a button says first why, then what it would do.
    const auto offer = [](QPushButton* button, const QString& why, const QString& tip) {
        button->setEnabled(why.isEmpty());
        button->setToolTip(why.isEmpty() ? tip : why + QLatin1Char('\n') + tip);
    };
    for (auto it = m_buttons.cbegin(); it != m_buttons.cend(); ++it) {
        // Clearing ends faults already set, whatever the connection does: a cap or a rewritten
        // version that keeps the client reconnecting is ended from here.
        offer(it.value(), it.key() == QLatin1String("clear") ? reason : notNow, m_tips.value(it.key()));
    }
    offer(m_runPlan, notNow, m_tips.value(QStringLiteral("run-plan")));
}

bool FaultsPanel::trigger(const QString& name)
{
    struct Step {
        QString fault;
        QJsonObject params;
    };
    QList<Step> steps;
    if (name == QLatin1String("drop"))
        steps = { { QStringLiteral("drop"), { { QStringLiteral("mode"), QStringLiteral("rst") } } } };
    else if (name == QLatin1String("drop-fin"))
        steps = { { QStringLiteral("drop"), { { QStringLiteral("mode"), QStringLiteral("fin") } } } };
    else if (name == QLatin1String("stall"))
        steps = { { QStringLiteral("stall"), { { QStringLiteral("durationMs"), m_stallSeconds->value() * 1000 } } } };
    else if (name == QLatin1String("latency"))
        steps = { { QStringLiteral("latency"), { { QStringLiteral("ms"), m_latencyMs->value() }, { QStringLiteral("jitterMs"), m_jitterMs->value() } } } };
    else if (name == QLatin1String("bandwidth"))
        steps = { { QStringLiteral("bandwidth"), { { QStringLiteral("bytesPerSecond"), qint64(m_bandwidthKiB->value()) * 1024 } } } };
    else if (name == QLatin1String("version-mismatch"))
        steps = { { QStringLiteral("rewrite-version"), { { QStringLiteral("connections"), 0 } } },
            { QStringLiteral("drop"), { { QStringLiteral("mode"), QStringLiteral("fin") } } } };
    else if (name == QLatin1String("redeploy"))
        steps = { { QStringLiteral("server-redeploy"), { { QStringLiteral("downMs"), 1500 } } } };
    else if (name == QLatin1String("silent-delta-drop"))
        steps = { { QStringLiteral("drop-message"), { { QStringLiteral("kind"), QStringLiteral("delta") } } } };
    else if (name == QLatin1String("clear"))
        steps = { { QStringLiteral("clear"), {} } };
    else
        return false;
    for (const Step& step : std::as_const(steps)) {
        QString error;
        if (!m_live->applyFault(step.fault, step.params, &error)) {
            appendLog(tr("%1 not injected: %2").arg(step.fault, error));
            Q_EMIT errorOccurred(tr("The %1 fault could not be injected: %2").arg(step.fault, error),
                tr("Connect to a ws:// document (or a demo) with Route through the fault proxy on."));
            return false;
        }
    }
    return true;
}

bool FaultsPanel::runSelectedPlan()
{
    QString plan = m_planChoice->currentData().toString();
    if (plan.isEmpty()) {
        plan = QFileDialog::getOpenFileName(this, tr("Run a fault plan"), QString(), tr("Fault plans (*.json);;All files (*)"));
        if (plan.isEmpty())
            return false;
    }
    QString error;
    if (!m_live->runPlan(plan, &error)) {
        appendLog(tr("plan not started: %1").arg(error));
        Q_EMIT errorOccurred(tr("The fault plan could not run: %1").arg(error), tr("Fix the plan file where the message says, or connect first."));
        return false;
    }
    return true;
}

void FaultsPanel::appendLog(const QString& line)
{
    m_log->addItem(QDateTime::currentDateTime().toString(QStringLiteral("HH:mm:ss.zzz  ")) + line);
    m_log->item(m_log->count() - 1)->setToolTip(line);
    while (m_log->count() > kMaxLogLines)
        delete m_log->takeItem(0);
    m_log->scrollToBottom();
}

}
