#pragma once

#include <QStringList>
#include <QTextStream>

#include <functional>
#include <vector>

class QCommandLineParser;
class QIODevice;

namespace deltascope::cli {

// Exit codes scripts can rely on. Commands document which of these they use.
enum ExitCode : int {
    ExitOk = 0,
    ExitFailure = 1, // the command ran and failed (I/O error, bad file, ...)
    ExitUsage = 2, // wrong arguments, or malformed input without --keep-going
    ExitAnomalies = 3, // fold: anomalies occurred and --anomalies was given
    ExitConnectFailed = 4, // watch/record: could not connect
    ExitFatalStream = 5, // watch/record/replay: the stream failed with a code the client does not retry
    ExitExpectationFailed = 6, // watch --expect: an incident ended otherwise
    ExitDocumentsDiffer = 7, // replay --against: the server's document now differs from the recorded one
};

// Where a command reads and writes. Tests run commands in-process with buffers here.
struct CommandIo {
    QTextStream& out;
    QTextStream& err;
    QIODevice& in;
};

struct Command {
    QString name;
    QString summary; // one line for the command list in --help
    std::function<int(const QStringList& arguments, CommandIo& io)> run; // arguments exclude the command name
};

// Every command the CLI has, in the order --help lists them.
const std::vector<Command>& commands();

// Runs `deltascope-cli ARGS...` (ARGS without the program name) and returns the exit code.
// A QCoreApplication must exist; commands that need the network run their own event loop.
int run(const QStringList& arguments, CommandIo& io);

// Writes UTF-8 text to `stream`: straight to its device when it has one (after what the stream
// holds), so a document of hundreds of megabytes is not also held as UTF-16 and re-encoded.
void writeUtf8(QTextStream& stream, const QByteArray& utf8);

// The text `deltascope-cli --help` prints.
QString usage();

// `parser`'s --help text with its usage line naming `invocation` ("deltascope-cli record") where
// QCommandLineParser puts the program's path.
QString helpText(const QCommandLineParser& parser, const QString& invocation);

// A usage error, worded alike by every command: "INVOCATION: ERROR" and where the options are.
QString usageError(const QString& invocation, const QString& error);

}
