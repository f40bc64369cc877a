#include "core/cli/cli.h"

#include "core/cli/commands.h"
#include "core/version.h"

#include <QCommandLineParser>
#include <QCoreApplication>
#include <QFileDevice>

namespace deltascope::cli {

const std::vector<Command>& commands()
{
    static const std::vector<Command> all = registeredCommands();
    return all;
}

QString usageError(const QString& invocation, const QString& error)
{
    return QStringLiteral("%1: %2\nRun '%1 --help' for the options.\n").arg(invocation, error);
}

QString helpText(const QCommandLineParser& parser, const QString& invocation)
{
    // QCommandLineParser writes "Usage: " and the application's first argument (or this stand-in).
    const QString program = QCoreApplication::instance() ? QCoreApplication::arguments().constFirst() : QStringLiteral("<executable_name>");
    QString text = parser.helpText();
    const QString usageStart = QStringLiteral("Usage: ") + program;
    if (text.startsWith(usageStart))
        text.replace(0, usageStart.size(), QStringLiteral("Usage: ") + invocation);
    return text;
}

void writeUtf8(QTextStream& stream, const QByteArray& utf8)
{
    if (QIODevice* device = stream.device()) {
        stream.flush();
        // A file device buffers: its flush is where a full disk shows. The stream's status is what
        // checkOutput() reads, so a failure here is set there.
        auto* file = qobject_cast<QFileDevice*>(device);
        if (device->write(utf8) != utf8.size() || (file && !file->flush()))
            stream.setStatus(QTextStream::WriteFailed);
        return;
    }
    stream << QString::fromUtf8(utf8);
}

QString usage()
{
    QString text = QStringLiteral("Usage: deltascope-cli COMMAND [OPTIONS...]\n"
                                  "       deltascope-cli COMMAND --help\n\n"
                                  "Headless commands of Deltascope, the Adama document connection debugger.\n\n"
                                  "Commands:\n");
    qsizetype width = 0;
    for (const Command& command : commands())
        width = std::max(width, command.name.size());
    for (const Command& command : commands())
        text += QStringLiteral("  ") + command.name.leftJustified(width + 2) + command.summary + QLatin1Char('\n');
    text += QStringLiteral("\nOptions:\n"
                           "  -h, --help     Show this help.\n"
                           "  -v, --version  Show the version.\n\n"
                           "Exit codes: 0 ok, 1 failure, 2 usage or malformed input, 3 anomalies (fold --anomalies),\n"
                           "4 could not connect, 5 stream failed with a code not retried, 6 an --expect was not met,\n"
                           "7 replay --against: the documents differ.\n");
    return text;
}

namespace {
// A document or report that did not reach its destination (a full disk, a closed pipe) is a
// failure: a script must not take exit 0 for output it never got.
int checkOutput(const QString& command, int code, CommandIo& io)
{
    io.out.flush();
    if (io.out.status() == QTextStream::Ok)
        return code;
    const auto* file = qobject_cast<const QFileDevice*>(io.out.device());
    io.err << "deltascope-cli " << command << ": cannot write the output"
           << (file && !file->errorString().isEmpty() ? QStringLiteral(": ") + file->errorString() : QString()) << '\n';
    io.err.flush();
    return code == ExitOk ? int(ExitFailure) : code;
}
}

int run(const QStringList& arguments, CommandIo& io)
{
    if (arguments.isEmpty()) {
        io.err << usage();
        return ExitUsage;
    }
    const QString& first = arguments.first();
    const bool help = first == QLatin1String("-h") || first == QLatin1String("--help") || first == QLatin1String("help");
    const bool version = first == QLatin1String("-v") || first == QLatin1String("--version");
    if ((help || version) && arguments.size() > 1) {
        // `help COMMAND` is that command's help; anything else after them is a mistake, said as
        // one (deltascope and deltascope-server refuse it too), not silently dropped.
        if (help && arguments.size() == 2) {
            for (const Command& command : commands()) {
                if (command.name == arguments[1])
                    return checkOutput(command.name, command.run({ QStringLiteral("--help") }, io), io);
            }
            if (!arguments[1].startsWith(QLatin1Char('-'))) {
                io.err << "deltascope-cli: unknown command '" << arguments[1] << "'. Run 'deltascope-cli --help' for the list.\n";
                return ExitUsage;
            }
        }
        io.err << "deltascope-cli: '" << first << "' takes no other argument (got '" << arguments[1]
               << "'); run 'deltascope-cli --help' for the commands, 'deltascope-cli COMMAND --help' for a command's options.\n";
        return ExitUsage;
    }
    if (help) {
        io.out << usage();
        return ExitOk;
    }
    if (version) {
        io.out << "deltascope-cli " << kVersion << '\n';
        return ExitOk;
    }
    for (const Command& command : commands()) {
        if (command.name == first)
            return checkOutput(command.name, command.run(arguments.mid(1), io), io);
    }
    if (first.startsWith(QLatin1Char('-'))) {
        io.err << "deltascope-cli: unknown option '" << first << "'. Options go after the command; run 'deltascope-cli --help' "
                  "for the commands, 'deltascope-cli COMMAND --help' for a command's options.\n";
        return ExitUsage;
    }
    io.err << "deltascope-cli: unknown command '" << first << "'. Run 'deltascope-cli --help' for the list.\n";
    return ExitUsage;
}

}
