#include "core/faults/faultplan.h"

#include "core/exactinteger.h"
#include "core/faults/faultproxy.h"
#include "core/logging.h"

#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>

#include <algorithm>

namespace deltascope::faults {

namespace {

bool isNonNegativeInteger(const QJsonValue& value)
{
    const std::optional<qint64> integer = value.isDouble() ? exactInteger(value.toDouble()) : std::nullopt;
    return integer && *integer >= 0;
}

// Trigger times wait on an int-millisecond timer; a day is far beyond any plan.
constexpr qint64 kMaxPlanMs = 86400000;

bool isPlanTime(const QJsonValue& value)
{
    return isNonNegativeInteger(value) && value.toInteger() <= kMaxPlanMs;
}

const QStringList& verdictNames()
{
    static const QStringList names { QStringLiteral("converged"), QStringLiteral("converged-stale"),
        QStringLiteral("diverged"), QStringLiteral("gave-up") };
    return names;
}

}

bool FaultPlan::parse(QByteArrayView json, const QString& source, FaultPlan& out, QString* error)
{
    out = FaultPlan();
    out.source = source;
    auto fail = [&](const QString& path, const QString& why) {
        if (error)
            *error = source + QStringLiteral(": ") + path + QStringLiteral(": ") + why;
        return false;
    };
    if (json.trimmed().isEmpty()) {
        if (error)
            *error = QStringLiteral("%1: the plan is empty (expected a JSON object with \"steps\")").arg(source);
        return false;
    }
    QJsonParseError parseError;
    const QJsonDocument document = QJsonDocument::fromJson(json.toByteArray(), &parseError);
    if (parseError.error != QJsonParseError::NoError) {
        int line = 1;
        int column = 1;
        for (qsizetype i = 0; i < parseError.offset && i < json.size(); ++i) {
            if (json[i] == '\n') {
                ++line;
                column = 1;
            } else {
                ++column;
            }
        }
        if (error)
            *error = QStringLiteral("%1:%2:%3: not valid JSON: %4")
                         .arg(source)
                         .arg(line)
                         .arg(column)
                         .arg(parseError.errorString());
        return false;
    }
    if (const RepeatedKey repeated = findRepeatedKey(json); repeated.found())
        return fail(jsonPathMember(repeated.objectPath, repeated.key), QStringLiteral("given twice in one object (JSON keeps only the last)"));
    if (!document.isObject())
        return fail(QStringLiteral("$"), QStringLiteral("expected an object with \"steps\""));
    const QJsonObject root = document.object();
    static const QStringList rootKeys { QStringLiteral("name"), QStringLiteral("description"), QStringLiteral("seed"),
        QStringLiteral("durationMs"), QStringLiteral("expect"), QStringLiteral("steps") };
    for (auto it = root.begin(); it != root.end(); ++it) {
        if (!rootKeys.contains(it.key()))
            return fail(jsonPathMember(QStringLiteral("$"), it.key()),
                QStringLiteral("unknown key (expected %1)").arg(rootKeys.join(QStringLiteral(", "))));
    }
    out.name = root.value(QLatin1String("name")).toString(QFileInfo(source).completeBaseName());
    if (root.contains(QLatin1String("name")) && !root.value(QLatin1String("name")).isString())
        return fail(QStringLiteral("$.name"),
            QStringLiteral("expected a string, got ") + jsonTypeName(root.value(QLatin1String("name"))));
    out.description = root.value(QLatin1String("description")).toString();
    if (root.contains(QLatin1String("seed"))) {
        if (!isNonNegativeInteger(root.value(QLatin1String("seed"))))
            return fail(QStringLiteral("$.seed"),
                QStringLiteral("expected a non-negative integer, got ")
                    + jsonTypeName(root.value(QLatin1String("seed"))));
        out.seed = quint64(root.value(QLatin1String("seed")).toDouble());
    }
    if (root.contains(QLatin1String("durationMs"))) {
        if (!isNonNegativeInteger(root.value(QLatin1String("durationMs"))))
            return fail(QStringLiteral("$.durationMs"), QStringLiteral("expected a non-negative integer"));
        out.durationMs = root.value(QLatin1String("durationMs")).toInteger();
    }
    if (root.contains(QLatin1String("expect"))) {
        const QJsonValue expect = root.value(QLatin1String("expect"));
        const QJsonArray list = expect.isArray() ? expect.toArray() : QJsonArray { expect };
        for (qsizetype i = 0; i < list.size(); ++i) {
            const QString verdict = list.at(i).toString();
            if (!verdictNames().contains(verdict)) {
                return fail(expect.isArray() ? QStringLiteral("$.expect[%1]").arg(i) : QStringLiteral("$.expect"),
                    QStringLiteral("expected one of %1").arg(verdictNames().join(QStringLiteral(", "))));
            }
            out.expect << verdict;
        }
    }
    const QJsonValue steps = root.value(QLatin1String("steps"));
    if (!steps.isArray())
        return fail(
            QStringLiteral("$.steps"), QStringLiteral("expected an array of steps, got ") + jsonTypeName(steps));
    const QJsonArray stepArray = steps.toArray();
    for (qsizetype i = 0; i < stepArray.size(); ++i) {
        const QString path = QStringLiteral("$.steps[%1]").arg(i);
        if (!stepArray.at(i).isObject())
            return fail(path, QStringLiteral("expected an object, got ") + jsonTypeName(stepArray.at(i)));
        const QJsonObject object = stepArray.at(i).toObject();
        static const QStringList stepKeys { QStringLiteral("label"), QStringLiteral("at"), QStringLiteral("fault"),
            QStringLiteral("params"), QStringLiteral("repeat") };
        for (auto it = object.begin(); it != object.end(); ++it) {
            if (!stepKeys.contains(it.key()))
                return fail(jsonPathMember(path, it.key()),
                    QStringLiteral("unknown key (expected %1)").arg(stepKeys.join(QStringLiteral(", "))));
        }
        PlanStep step;
        step.label = object.value(QLatin1String("label")).toString();
        QString faultError;
        if (!FaultSpec::fromJson(object, path, step.fault, &faultError)) {
            if (error)
                *error = source + QStringLiteral(": ") + faultError;
            return false;
        }
        const QJsonValue at = object.value(QLatin1String("at"));
        const QString atPath = path + QStringLiteral(".at");
        if (!at.isObject())
            return fail(atPath,
                QStringLiteral(
                    "expected a trigger object ({\"afterMs\":N}, {\"frame\":N,\"kind\":K} or {\"match\":P}), got ")
                    + jsonTypeName(at));
        const QJsonObject trigger = at.toObject();
        static const QStringList triggerKeys { QStringLiteral("afterMs"), QStringLiteral("frame"),
            QStringLiteral("match"), QStringLiteral("kind"), QStringLiteral("direction"), QStringLiteral("delayMs") };
        for (auto it = trigger.begin(); it != trigger.end(); ++it) {
            if (!triggerKeys.contains(it.key()))
                return fail(jsonPathMember(atPath, it.key()),
                    QStringLiteral("unknown key (expected %1)").arg(triggerKeys.join(QStringLiteral(", "))));
        }
        const int kinds = int(trigger.contains(QLatin1String("afterMs")))
            + int(trigger.contains(QLatin1String("frame"))) + int(trigger.contains(QLatin1String("match")));
        if (kinds != 1)
            return fail(atPath, QStringLiteral("needs exactly one of afterMs, frame, match"));
        if (trigger.contains(QLatin1String("afterMs"))) {
            if (!isNonNegativeInteger(trigger.value(QLatin1String("afterMs"))))
                return fail(atPath + QStringLiteral(".afterMs"),
                    QStringLiteral("expected a non-negative integer, got ")
                        + jsonTypeName(trigger.value(QLatin1String("afterMs"))));
            if (!isPlanTime(trigger.value(QLatin1String("afterMs"))))
                return fail(atPath + QStringLiteral(".afterMs"), QStringLiteral("expected at most %1 (a day)").arg(kMaxPlanMs));
            step.at.type = PlanTrigger::Type::Time;
            step.at.afterMs = trigger.value(QLatin1String("afterMs")).toInteger();
        } else if (trigger.contains(QLatin1String("frame"))) {
            const QJsonValue nth = trigger.value(QLatin1String("frame"));
            if (!isNonNegativeInteger(nth) || nth.toInteger() < 1 || nth.toInteger() > 1000000000)
                return fail(atPath + QStringLiteral(".frame"), QStringLiteral("expected a frame number from 1 to 1000000000"));
            step.at.type = PlanTrigger::Type::Frame;
            step.at.nth = nth.toInt();
        } else {
            step.at.type = PlanTrigger::Type::Match;
            QString predicateError;
            if (!parsePredicates(trigger.value(QLatin1String("match")), atPath + QStringLiteral(".match"),
                    step.at.where, &predicateError)) {
                if (error)
                    *error = source + QStringLiteral(": ") + predicateError;
                return false;
            }
        }
        if (trigger.contains(QLatin1String("kind"))) {
            const QString kind = trigger.value(QLatin1String("kind")).toString();
            if (!isFrameKind(kind))
                return fail(atPath + QStringLiteral(".kind"),
                    QStringLiteral("unknown frame kind (one of %1)").arg(frameKindNames().join(QStringLiteral(", "))));
            step.at.kind = kind;
        }
        if (trigger.contains(QLatin1String("direction"))) {
            const QString direction = trigger.value(QLatin1String("direction")).toString();
            if (direction != QLatin1String("inbound") && direction != QLatin1String("outbound"))
                return fail(atPath + QStringLiteral(".direction"), QStringLiteral("expected inbound or outbound"));
            step.at.direction
                = direction == QLatin1String("outbound") ? FlowDirection::Outbound : FlowDirection::Inbound;
        }
        if (trigger.contains(QLatin1String("delayMs"))) {
            if (!isPlanTime(trigger.value(QLatin1String("delayMs"))))
                return fail(atPath + QStringLiteral(".delayMs"), QStringLiteral("expected an integer from 0 to %1 (a day)").arg(kMaxPlanMs));
            step.at.delayMs = trigger.value(QLatin1String("delayMs")).toInteger();
        }
        if (object.contains(QLatin1String("repeat"))) {
            const QJsonValue repeat = object.value(QLatin1String("repeat"));
            const QString repeatPath = path + QStringLiteral(".repeat");
            if (!repeat.isObject())
                return fail(repeatPath, QStringLiteral("expected {\"count\":N,\"everyMs\":M}"));
            const QJsonObject r = repeat.toObject();
            if (!isNonNegativeInteger(r.value(QLatin1String("count"))) || r.value(QLatin1String("count")).toInteger() < 1
                || r.value(QLatin1String("count")).toInteger() > 1000000)
                return fail(repeatPath + QStringLiteral(".count"), QStringLiteral("expected an integer from 1 to 1000000"));
            if (!isPlanTime(r.value(QLatin1String("everyMs"))) || r.value(QLatin1String("everyMs")).toInteger() < 1)
                return fail(repeatPath + QStringLiteral(".everyMs"), QStringLiteral("expected an integer from 1 to %1 (a day)").arg(kMaxPlanMs));
            step.repeat = r.value(QLatin1String("count")).toInt();
            step.everyMs = r.value(QLatin1String("everyMs")).toInteger();
        }
        out.steps.push_back(std::move(step));
    }
    return true;
}

QStringList FaultPlan::readyPlanNames()
{
    QStringList names;
    const QStringList files
        = QDir(QStringLiteral(":/plans")).entryList({ QStringLiteral("*.json") }, QDir::Files, QDir::Name);
    for (const QString& file : files)
        names << QFileInfo(file).completeBaseName();
    return names;
}

bool FaultPlan::load(const QString& pathOrName, FaultPlan& out, QString* error)
{
    QString path = pathOrName;
    if (!QFileInfo::exists(path) && !path.contains(QLatin1Char('/')) && !path.endsWith(QLatin1String(".json"))) {
        const QString ready = QStringLiteral(":/plans/%1.json").arg(pathOrName);
        if (QFileInfo::exists(ready))
            path = ready;
    }
    QFile file(path);
    if (!file.open(QIODevice::ReadOnly)) {
        if (error) {
            const QStringList ready = readyPlanNames();
            *error = QStringLiteral("%1: cannot open: %2").arg(pathOrName, file.errorString())
                + (ready.isEmpty() ? QString()
                                   : QStringLiteral(" (ready plans: %1)").arg(ready.join(QStringLiteral(", "))));
        }
        return false;
    }
    return parse(file.readAll(), pathOrName, out, error);
}

bool FaultPlan::needsFrames() const
{
    return std::any_of(
        steps.begin(), steps.end(), [](const PlanStep& step) { return step.at.type != PlanTrigger::Type::Time; });
}

FaultPlanRunner::FaultPlanRunner(FaultProxy* proxy, FaultPlan plan, QObject* parent)
    : QObject(parent)
    , m_proxy(proxy)
    , m_plan(std::move(plan))
{
    m_timer.setSingleShot(true);
    m_timer.setTimerType(Qt::PreciseTimer);
    connect(&m_timer, &QTimer::timeout, this, &FaultPlanRunner::scheduleDue);
}

FaultPlanRunner::~FaultPlanRunner() { stop(); }

void FaultPlanRunner::start()
{
    if (!m_proxy)
        return;
    m_proxy->setSeed(m_plan.seed);
    m_state.assign(m_plan.steps.size(), {});
    m_due.clear();
    m_running = true;
    m_clock.start();
    if (m_plan.needsFrames()) {
        m_proxy->setObserveFrames(true);
        m_frameConnection = connect(m_proxy, &FaultProxy::frameObserved, this, &FaultPlanRunner::onFrame);
    }
    for (std::size_t i = 0; i < m_plan.steps.size(); ++i) {
        if (m_plan.steps[i].at.type == PlanTrigger::Type::Time)
            trigger(int(i));
    }
    scheduleDue();
}

void FaultPlanRunner::stop()
{
    m_running = false;
    m_timer.stop();
    m_due.clear();
    if (m_frameConnection) {
        disconnect(m_frameConnection);
        if (m_proxy)
            m_proxy->setObserveFrames(false);
    }
}

bool FaultPlanRunner::isFinished() const
{
    for (std::size_t i = 0; i < m_plan.steps.size(); ++i) {
        if (i >= m_state.size() || m_state[i].fired < m_plan.steps[i].repeat)
            return false;
    }
    return true;
}

QStringList FaultPlanRunner::unfinishedSteps() const
{
    QStringList unfinished;
    for (std::size_t i = 0; i < m_plan.steps.size(); ++i) {
        const PlanStep& step = m_plan.steps[i];
        const StepState state = i < m_state.size() ? m_state[i] : StepState {};
        if (state.fired >= step.repeat)
            continue;
        QString why;
        if (state.triggered) {
            why = QStringLiteral("it acted %1 of %2 times before the run ended").arg(state.fired).arg(step.repeat);
        } else if (step.at.type == PlanTrigger::Type::Time) {
            why = QStringLiteral("the run ended before its time (%1 ms)").arg(step.at.afterMs);
        } else if (step.at.type == PlanTrigger::Type::Frame) {
            why = QStringLiteral("its trigger never came: frame %1 of kind %2, and %3 such frame(s) passed")
                      .arg(step.at.nth)
                      .arg(step.at.kind)
                      .arg(state.frameCount);
        } else {
            why = QStringLiteral("no %1 frame matched its trigger").arg(step.at.kind);
        }
        unfinished << QStringLiteral("plan step %1 (%2): %3")
                          .arg(i + 1)
                          .arg(step.label.isEmpty() ? step.fault.name() : step.label, why);
    }
    return unfinished;
}

void FaultPlanRunner::onFrame(const ObservedFrame& frame)
{
    if (!m_running)
        return;
    for (std::size_t i = 0; i < m_plan.steps.size(); ++i) {
        const PlanStep& step = m_plan.steps[i];
        StepState& state = m_state[i];
        if (state.triggered || step.at.type == PlanTrigger::Type::Time)
            continue;
        if (frame.direction != step.at.direction)
            continue;
        const QString& wanted = step.at.kind;
        const bool kindOk = wanted == QLatin1String("any") || wanted == frame.kind
            || (wanted == QLatin1String("stream-item") && frame.kind == QLatin1String("delta"))
            || (wanted == QLatin1String("request") && frame.kind == QLatin1String("send"));
        if (!kindOk)
            continue;
        if (step.at.type == PlanTrigger::Type::Match) {
            bool all = true;
            for (const JsonPredicate& predicate : step.at.where)
                all = all && predicate.matches(frame.json);
            if (!all)
                continue;
        } else if (++state.frameCount < step.at.nth) {
            continue;
        }
        trigger(int(i));
    }
    scheduleDue();
}

void FaultPlanRunner::trigger(int step)
{
    StepState& state = m_state[std::size_t(step)];
    state.triggered = true;
    const PlanStep& planStep = m_plan.steps[std::size_t(step)];
    const qint64 base
        = (planStep.at.type == PlanTrigger::Type::Time ? planStep.at.afterMs : m_clock.elapsed()) + planStep.at.delayMs;
    for (int r = 0; r < planStep.repeat; ++r)
        m_due.emplace_back(base + r * planStep.everyMs, step);
    // Same time: file order.
    std::stable_sort(m_due.begin(), m_due.end());
}

void FaultPlanRunner::scheduleDue()
{
    if (!m_running)
        return;
    while (!m_due.empty() && m_due.front().first <= m_clock.elapsed()) {
        const int step = m_due.front().second;
        m_due.erase(m_due.begin());
        act(step);
        if (!m_running)
            return;
    }
    if (!m_due.empty())
        m_timer.start(int(std::max<qint64>(0, m_due.front().first - m_clock.elapsed())));
    if (isFinished()) {
        m_running = false;
        Q_EMIT finished();
    }
}

void FaultPlanRunner::act(int step)
{
    const PlanStep& planStep = m_plan.steps[std::size_t(step)];
    ++m_state[std::size_t(step)].fired;
    QString error;
    bool ok = false;
    if (planStep.fault.type == FaultType::ServerRedeploy && m_serverControl) {
        ok = m_serverControl(planStep.fault, &error);
    } else if (m_proxy) {
        ok = m_proxy->apply(planStep.fault, &error);
    } else {
        error = QStringLiteral("the proxy is gone");
    }
    const QString description = (planStep.label.isEmpty() ? planStep.fault.name() : planStep.label)
        + QStringLiteral(" (step %1 of %2)").arg(step + 1).arg(m_plan.steps.size());
    if (ok) {
        qCInfo(lcFaults).noquote() << "plan" << m_plan.name << "fired" << description;
        Q_EMIT stepFired(step, description);
    } else {
        qCWarning(lcFaults).noquote() << "plan" << m_plan.name << "step" << step + 1 << "failed:" << error;
        Q_EMIT stepFailed(step, error);
    }
}

}
