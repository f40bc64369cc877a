#pragma once

#include "core/faults/faultspec.h"
#include "core/faults/jsonpredicate.h"

#include <QElapsedTimer>
#include <QObject>
#include <QPointer>
#include <QTimer>

#include <functional>
#include <vector>

namespace deltascope::faults {

class FaultProxy;
struct ObservedFrame;

// When a plan step fires. Exactly one of: a time offset from the plan's start, the nth frame of a
// kind (counted from the plan's start over every connection), or the first frame matching
// predicates. delayMs waits after the trigger before the fault acts.
struct PlanTrigger {
    enum class Type { Time, Frame, Match };
    Type type = Type::Time;
    qint64 afterMs = 0;
    QString kind = QStringLiteral("any");
    FlowDirection direction = FlowDirection::Inbound;
    int nth = 1;
    QList<JsonPredicate> where;
    qint64 delayMs = 0;
};

struct PlanStep {
    QString label; // optional, for logs
    PlanTrigger at;
    FaultSpec fault;
    int repeat = 1; // times the fault acts
    qint64 everyMs = 0; // spacing of repeats
};

// A fault plan: JSON, documented in core/faults/README.md. Seeded, so a run is repeatable.
struct FaultPlan {
    QString source; // file it came from
    QString name;
    QString description;
    quint64 seed = 1;
    qint64 durationMs = 0; // how long a run of the plan should watch (0: unspecified)
    QStringList expect; // verdicts the plan expects of every incident ("converged", ...)
    std::vector<PlanStep> steps;

    // Errors name the source, the JSON path and what is wrong (or line:column for bad JSON).
    static bool parse(QByteArrayView json, const QString& source, FaultPlan& out, QString* error);
    // A file path, a resource path (":/plans/x.json"), or the name of a ready plan ("flapping-network").
    static bool load(const QString& pathOrName, FaultPlan& out, QString* error);
    static QStringList readyPlanNames();
    bool needsFrames() const;
};

// Runs a plan against a proxy: fires each step when its trigger comes, applies its fault, and
// reports what it did. Faults that act on the server itself (server-redeploy) go to the server
// control when one is set, else the proxy simulates them.
class FaultPlanRunner : public QObject {
    Q_OBJECT
public:
    using ServerControl = std::function<bool(const FaultSpec& fault, QString* error)>;

    FaultPlanRunner(FaultProxy* proxy, FaultPlan plan, QObject* parent = nullptr);
    ~FaultPlanRunner() override;

    void setServerControl(ServerControl control) { m_serverControl = std::move(control); }
    const FaultPlan& plan() const { return m_plan; }
    // Seeds the proxy with the plan's seed and starts the clock.
    void start();
    void stop();
    bool isRunning() const { return m_running; }
    bool isFinished() const; // every step has acted as often as it repeats
    // The steps that have not acted as often as they repeat, each said as "plan step N (label):
    // why" (its trigger never came, or came too late for every repeat), for a run that ends.
    QStringList unfinishedSteps() const;

Q_SIGNALS:
    void stepFired(int step, const QString& description);
    void stepFailed(int step, const QString& error);
    void finished();

private:
    struct StepState {
        int fired = 0; // times the fault acted
        bool triggered = false;
        int frameCount = 0;
    };
    void onFrame(const ObservedFrame& frame);
    void trigger(int step);
    void act(int step);
    void scheduleDue();

    QPointer<FaultProxy> m_proxy;
    FaultPlan m_plan;
    std::vector<StepState> m_state;
    ServerControl m_serverControl;
    bool m_running = false;
    qint64 m_startMs = 0;
    QElapsedTimer m_clock;
    QTimer m_timer;
    std::vector<std::pair<qint64, int>> m_due; // (ms since start, step) to act on
    QMetaObject::Connection m_frameConnection;
};

}
