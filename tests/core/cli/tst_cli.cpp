#include <catch2/catch.hpp>

#include "core/cli/cli.h"
#include "tests/support/testutils.h"

#include <QBuffer>
#include <QFile>
#include <QProcess>

using namespace deltascope;
using test::CliRun;
using test::runCli;

TEST_CASE("cli: no arguments prints usage on stderr and exits 2")
{
    const CliRun run = runCli({});
    CHECK(run.code == cli::ExitUsage);
    CHECK(run.err.contains(QStringLiteral("Usage: deltascope-cli COMMAND")));
    CHECK(run.out.isEmpty());
}

TEST_CASE("cli: --help lists every registered command and the exit codes")
{
    const CliRun run = runCli({ QStringLiteral("--help") });
    CHECK(run.code == cli::ExitOk);
    for (const cli::Command& command : cli::commands()) {
        INFO(command.name.toStdString());
        CHECK(run.out.contains(command.name));
        CHECK(!command.summary.isEmpty());
    }
    CHECK(run.out.contains(QStringLiteral("Exit codes")));
}

TEST_CASE("cli: an unknown command names itself and exits 2")
{
    const CliRun run = runCli({ QStringLiteral("frobnicate"), QStringLiteral("x") });
    CHECK(run.code == cli::ExitUsage);
    CHECK(run.err.contains(QStringLiteral("unknown command 'frobnicate'")));
}

TEST_CASE("cli: --version prints the version")
{
    const CliRun run = runCli({ QStringLiteral("--version") });
    CHECK(run.code == cli::ExitOk);
    CHECK(run.out.startsWith(QStringLiteral("deltascope-cli ")));
}

TEST_CASE("cli: --version and --help take no other argument, but help COMMAND is that command's help")
{
    for (const QString& flag : { QStringLiteral("-v"), QStringLiteral("--version"), QStringLiteral("-h"), QStringLiteral("--help") }) {
        INFO(flag.toStdString());
        const CliRun run = runCli({ flag, QStringLiteral("--bogus") });
        CHECK(run.code == cli::ExitUsage);
        CHECK(run.out.isEmpty());
        CHECK(run.err.contains(QStringLiteral("'%1' takes no other argument (got '--bogus')").arg(flag)));
    }
    for (const QString& help : { QStringLiteral("help"), QStringLiteral("--help"), QStringLiteral("-h") }) {
        const CliRun run = runCli({ help, QStringLiteral("fold") });
        CHECK(run.code == cli::ExitOk);
        CHECK(run.out == runCli({ QStringLiteral("fold"), QStringLiteral("--help") }).out);
    }
    const CliRun unknown = runCli({ QStringLiteral("help"), QStringLiteral("frobnicate") });
    CHECK(unknown.code == cli::ExitUsage);
    CHECK(unknown.err.contains(QStringLiteral("unknown command 'frobnicate'")));
    CHECK(runCli({ QStringLiteral("help"), QStringLiteral("fold"), QStringLiteral("x") }).code == cli::ExitUsage);
}

TEST_CASE("cli: the executable exits with the documented codes")
{
    QProcess process;
    process.start(test::executablePath(QStringLiteral("deltascope-cli")), { QStringLiteral("--help") });
    REQUIRE(process.waitForFinished(20000));
    CHECK(process.exitCode() == 0);
    CHECK(process.readAllStandardOutput().contains("Usage: deltascope-cli"));

    process.start(test::executablePath(QStringLiteral("deltascope-cli")), { QStringLiteral("no-such-command") });
    REQUIRE(process.waitForFinished(20000));
    CHECK(process.exitCode() == 2);
}

TEST_CASE("cli: every command's --help starts with its usage line and what it does")
{
    for (const cli::Command& command : cli::commands()) {
        INFO(command.name.toStdString());
        const CliRun run = runCli({ command.name, QStringLiteral("--help") });
        CHECK(run.code == cli::ExitOk);
        const QStringList lines = run.out.split(QLatin1Char('\n'));
        REQUIRE(lines.size() > 3);
        CHECK(lines[0].startsWith(QStringLiteral("Usage: deltascope-cli ") + command.name));
        // The description: the first non-empty line after the usage line, before the options.
        const qsizetype described = lines[1].isEmpty() ? 2 : 1;
        CHECK_FALSE(lines[described].isEmpty());
        CHECK_FALSE(lines[described].startsWith(QStringLiteral("Options:")));
        CHECK(run.out.contains(QStringLiteral("-h, --help")));
        CHECK_FALSE(run.out.contains(QStringLiteral("\n\n\n")));
        CHECK(run.out.contains(QStringLiteral("Exit codes: 0 "))); // what each code means, for scripts
        CHECK(command.summary.endsWith(QLatin1Char('.')));
    }
}

TEST_CASE("cli: output that cannot be written (a full disk) fails the command with exit 1")
{
    QFile full(QStringLiteral("/dev/full"));
    if (!full.open(QIODevice::WriteOnly)) {
        WARN("no /dev/full here");
        return;
    }
    QTextStream out(&full);
    QString errors;
    QTextStream err(&errors);
    QByteArray input = "{\"a\":1}\n";
    QBuffer in(&input);
    in.open(QIODevice::ReadOnly);
    cli::CommandIo io { out, err, in };
    const int code = cli::run({ QStringLiteral("fold"), QStringLiteral("-") }, io);
    err.flush();
    CHECK(code == cli::ExitFailure);
    CHECK(errors.contains(QStringLiteral("cannot write the output")));
    CHECK(errors.contains(QStringLiteral("No space left on device")));
}

TEST_CASE("cli: UTF-8 output goes to the stream's device after what the stream held, or into its string")
{
    QByteArray bytes;
    QBuffer device(&bytes);
    REQUIRE(device.open(QIODevice::WriteOnly));
    QTextStream stream(&device);
    stream << "before ";
    cli::writeUtf8(stream, QByteArrayLiteral("{\"t\":\"\xc3\xa9\"}"));
    stream << " after";
    stream.flush();
    CHECK(bytes == QByteArrayLiteral("before {\"t\":\"\xc3\xa9\"} after"));
    QString text;
    QTextStream toString(&text);
    cli::writeUtf8(toString, QByteArrayLiteral("\xc3\xa9"));
    toString.flush();
    CHECK(text == QStringLiteral("\u00e9"));
}

TEST_CASE("cli: every command's argument errors start with 'deltascope-cli COMMAND:' and exit 2")
{
    for (const cli::Command& command : cli::commands()) {
        INFO(command.name.toStdString());
        const CliRun run = runCli({ command.name, QStringLiteral("--no-such-option") });
        INFO(run.err.toStdString());
        CHECK(run.code == cli::ExitUsage);
        CHECK(run.err.startsWith(QStringLiteral("deltascope-cli ") + command.name + QStringLiteral(": ")));
        CHECK(run.err.contains(QStringLiteral("no-such-option")));
        // One wording for every command: where to find the options.
        CHECK(run.err.endsWith(QStringLiteral("\nRun 'deltascope-cli %1 --help' for the options.\n").arg(command.name)));
    }
    // Errors found after parsing too: the proxy's say which command they come from.
    const CliRun upstream = runCli({ QStringLiteral("proxy"), QStringLiteral("--upstream"), QStringLiteral("http://127.0.0.1:1/~s") });
    CHECK(upstream.code == cli::ExitUsage);
    CHECK(upstream.err
        == QStringLiteral("deltascope-cli proxy: upstream 'http://127.0.0.1:1/~s' is neither a ws:// nor a wss:// URL\n"));
}

TEST_CASE("cli: NaN and infinity are no number of seconds or speed, and an output written at the end is checked at the start")
{
    // NaN fails every comparison, so a range check alone lets it through: a --duration nan run
    // never ended. Checked before anything connects or opens.
    for (const char* command : { "watch", "record" }) {
        for (const char* value : { "nan", "NaN", "inf" }) {
            const CliRun run = runCli({ QString::fromLatin1(command), QStringLiteral("ws://127.0.0.1:1/~s"), QStringLiteral("--space"), QStringLiteral("s"),
                QStringLiteral("--key"), QStringLiteral("k"), QStringLiteral("--identity"), QStringLiteral("anonymous:a"), QStringLiteral("--duration"), QString::fromLatin1(value) });
            INFO(command << " --duration " << value << ": " << run.err.toStdString());
            CHECK(run.code == cli::ExitUsage);
            CHECK(run.err.contains(QStringLiteral("--duration")));
        }
    }
    // A report written at the end of the run is checked before it: a folder that is not there
    // cost the whole run before.
    const CliRun report = runCli({ QStringLiteral("watch"), QStringLiteral("ws://127.0.0.1:1/~s"), QStringLiteral("--space"), QStringLiteral("s"),
        QStringLiteral("--key"), QStringLiteral("k"), QStringLiteral("--identity"), QStringLiteral("anonymous:a"), QStringLiteral("--plan"),
        QStringLiteral("drop-during-burst"), QStringLiteral("--report"), QStringLiteral("/nonexistent-folder/r.json"), QStringLiteral("--duration"),
        QStringLiteral("30") });
    CHECK(report.code == cli::ExitUsage);
    CHECK(report.err.contains(QStringLiteral("--report /nonexistent-folder/r.json: cannot be written: no folder /nonexistent-folder")));
    const CliRun speed = runCli({ QStringLiteral("replay"), QStringLiteral("missing.ndjson"), QStringLiteral("--speed"), QStringLiteral("nan") });
    CHECK(speed.code == cli::ExitUsage);
    CHECK(speed.err.contains(QStringLiteral("--speed")));
}

TEST_CASE("cli: an unknown option before the command is called an option, not a command")
{
    const CliRun run = runCli({ QStringLiteral("--frobnicate"), QStringLiteral("fold") });
    CHECK(run.code == cli::ExitUsage);
    CHECK(run.err.startsWith(QStringLiteral("deltascope-cli: unknown option '--frobnicate'")));
    CHECK(run.err.contains(QStringLiteral("COMMAND --help")));
}
