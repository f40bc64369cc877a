#pragma once

#include "core/cli/cli.h"
#include "core/server/referenceserver.h"

#include <QJsonObject>
#include <QList>
#include <QStringList>
#include <QTextStream>

namespace deltascope::server {

// A fault given on the command line: `--fault NAME[=JSON]`. The JSON holds the fault's parameters
// (as for the control endpoint) plus optional "after" (seconds from start, default 0) and "every"
// (seconds; repeat).
struct ScheduledFault {
    QString name;
    QJsonObject parameters;
    double afterSeconds = 0;
    double everySeconds = 0;
};

struct ServerCommandLine {
    ServerOptions options;
    int controlPort = -1; // -1: no control endpoint; 0: any free port
    QList<ScheduledFault> faults;
    bool help = false;
    bool showVersion = false; // -v/--version: print the program's version and stop
    QString error; // non-empty: bad arguments, said what and which
};

// Parses `deltascope-server` arguments (without the program name). No application object needed.
ServerCommandLine parseServerCommandLine(const QStringList& arguments);
// The --help text; `invocation` is how the server was started ("deltascope-cli serve").
QString serverUsage(const QString& invocation = QStringLiteral("deltascope-server"));

// Runs the server until SIGINT or SIGTERM (or forever): prints the URL on `out`, one log line per
// connect, disconnect and fault on `err`. A QCoreApplication must exist. Returns the exit code
// (0 on a clean stop, 1 when it could not listen, 2 for bad arguments).
// `invocation` names the command in help and errors.
int runServer(const QStringList& arguments, QTextStream& out, QTextStream& err, const QString& invocation = QStringLiteral("deltascope-server"));

// `deltascope-cli serve ...`: the same server and options as deltascope-server.
cli::Command serveCommand();

}
