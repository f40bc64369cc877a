#pragma once

#include "core/cli/cli.h"

#include <QJsonObject>
#include <QStringList>

namespace deltascope::cli {
struct WatchOptions;
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

// Runs `watch` with fault injection: the client connects through a loopback fault proxy in front
// of the URL, the plan runs, every fault and every incident is recorded in the session log, and a
// shadow connection straight to the server checks the client's tree after each resync. Writes the
// incidents to --report. With --expect the expectation decides: 0 met, 6 (ExitExpectationFailed)
// not met, unless the run could not judge anything (2 usage, 4 never connected) or the report could
// not be written (1). Without it, the watch exit code (1 too when a fault never acted).
int runFaultWatch(cli::WatchOptions options, const FaultWatchOptions& faultOptions, cli::CommandIo& io);

}
