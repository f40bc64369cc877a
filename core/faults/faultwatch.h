#pragma once

#include "core/cli/cli.h"

#include <QJsonObject>
#include <QStringList>

#include <functional>
#include <optional>

namespace deltascope {
class IncidentAnalyzer;
}
namespace deltascope::cli {
struct WatchOptions;
class WatchRunner;
}

namespace deltascope::faults {

// The fault options `watch` takes on top of its own: --plan FILE, --fault NAME[=JSON] (repeatable),
// --report FILE.json, --expect VERDICTS (comma-separated, or "plan" for the plan's own list).
struct FaultWatchOptions {
    QString plan;
    QStringList faults;
    QString report;
    QStringList expect;
    bool expectFromPlan = false;
    QString serverControl; // --server-control URL: a deltascope-server control endpoint for real redeploys
    bool active() const
    {
        return !plan.isEmpty() || !faults.isEmpty() || !report.isEmpty() || !expect.isEmpty() || expectFromPlan
            || !serverControl.isEmpty();
    }
};

// Takes the fault options out of `arguments` (the rest goes to the watch parser). False with an
// error naming the option when one is malformed.
bool extractFaultWatchOptions(QStringList& arguments, FaultWatchOptions& out, QString& error);
QString faultWatchHelp();

// What another command (`record`) wraps around a fault watch.
struct FaultWatchHooks {
    QString command = QStringLiteral("watch"); // names the command in messages
    // Once the session and its analyzer exist, before anything connects: an exit code stops the
    // run there (the capture cannot be written), nullopt goes on.
    std::function<std::optional<int>(cli::WatchRunner&, IncidentAnalyzer&)> beforeRun;
    // After the run, once its incidents are final and in the log: the exit code, possibly changed
    // (1 when the capture could not be written; that wins over --expect, as a report's failure does).
    std::function<int(int code, const IncidentAnalyzer&)> afterRun;
};

// Runs `watch` with fault injection: the client connects through a loopback fault proxy in front
// of the URL, the plan runs, every fault and every incident is recorded in the session log, and a
// shadow connection straight to the server checks the client's tree after each resync. Writes the
// incidents to --report. With --expect the expectation decides: 0 met, 6 (ExitExpectationFailed)
// not met, unless the run could not judge anything (2 usage, 4 never connected) or the report could
// not be written (1). Without it, the watch exit code (1 too when a fault never acted).
int runFaultWatch(cli::WatchOptions options, const FaultWatchOptions& faultOptions, cli::CommandIo& io, const FaultWatchHooks& hooks = {});

}
