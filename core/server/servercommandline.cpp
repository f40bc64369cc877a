#include "core/server/servercommandline.h"

#include "core/server/controlendpoint.h"
#include "core/server/serverwire.h"
#include "core/stopsignalguard.h"
#include "core/version.h"

#include <QCommandLineParser>
#include <QCoreApplication>
#include <QDateTime>
#include <QJsonDocument>
#include <QTimer>

namespace deltascope::server {

namespace {

// The defaults the help names: those of ServerOptions, but for the port and address a standalone
// server takes by default (the library's default port is any free one).
const ServerOptions kDefaults;

QString number(double value)
{
    return QString::number(value);
}

struct Options {
    QCommandLineOption port { QStringLiteral("port"), QStringLiteral("Port to listen on (0: any free port; default 7777)."), QStringLiteral("P"), QStringLiteral("7777") };
    QCommandLineOption bind { QStringLiteral("bind"), QStringLiteral("Address to listen on (default 127.0.0.1)."), QStringLiteral("ADDRESS"), QStringLiteral("127.0.0.1") };
    QCommandLineOption seed { QStringLiteral("seed"), QStringLiteral("Seed of the demo documents' bots (default %1).").arg(kDefaults.seed), QStringLiteral("S"), QStringLiteral("1") };
    QCommandLineOption helloVersion { QStringLiteral("hello-version"),
        QStringLiteral("The `version` string of the server's hello (a version mismatch to test against; default %1).").arg(kDefaults.version), QStringLiteral("V") };
    QCommandLineOption tlsCert { QStringLiteral("tls-cert"), QStringLiteral("PEM certificate: serve wss."), QStringLiteral("FILE") };
    QCommandLineOption tlsKey { QStringLiteral("tls-key"), QStringLiteral("PEM private key for --tls-cert."), QStringLiteral("FILE") };
    QCommandLineOption controlPort { QStringLiteral("control-port"), QStringLiteral("Serve the control endpoint on 127.0.0.1:P (0: any free port; default: none)."), QStringLiteral("P") };
    QCommandLineOption tickerRate { QStringLiteral("ticker-rate"),
        QStringLiteral("Ticker transactions per second (default %1; the ticker document with key rate-N runs at N).").arg(number(kDefaults.tickerRate)), QStringLiteral("N") };
    QCommandLineOption chatRate { QStringLiteral("chat-rate"), QStringLiteral("Chat bot lines per second (default %1).").arg(number(kDefaults.chatBotRate)), QStringLiteral("N") };
    QCommandLineOption gameRate { QStringLiteral("game-rate"), QStringLiteral("Game bot steps per second (default %1).").arg(number(kDefaults.gameBotRate)), QStringLiteral("N") };
    QCommandLineOption bigRate { QStringLiteral("big-rate"), QStringLiteral("Big document steps per second (default %1).").arg(number(kDefaults.bigBotRate)), QStringLiteral("N") };
    QCommandLineOption paused { QStringLiteral("paused"), QStringLiteral("Start with the bots paused.") };
    QCommandLineOption pingMs { QStringLiteral("ping-ms"), QStringLiteral("Heartbeat period in ms (default %1, as Adama's).").arg(kDefaults.pingIntervalMs), QStringLiteral("MS") };
    QCommandLineOption idleSeconds { QStringLiteral("idle-timeout"),
        QStringLiteral("Close a socket after this many seconds without inbound frames (default %1, as Adama's).").arg(kDefaults.idleTimeoutMs / 1000), QStringLiteral("S") };
    QCommandLineOption turnTimeout { QStringLiteral("turn-timeout"),
        QStringLiteral("Game: seconds before the server moves for a silent player (default %1).").arg(kDefaults.turnTimeoutMs / 1000), QStringLiteral("S") };
    QCommandLineOption fault { QStringLiteral("fault"), QStringLiteral("Inject a fault: NAME[=JSON], JSON may add \"after\" and \"every\" in seconds. Repeatable."), QStringLiteral("NAME[=JSON]") };
    QCommandLineOption help { { QStringLiteral("h"), QStringLiteral("help") }, QStringLiteral("Show this help.") };
    QCommandLineOption programVersion { { QStringLiteral("v"), QStringLiteral("version") }, QStringLiteral("Print the program's version.") };

    QList<QCommandLineOption> all() const
    {
        return { port, bind, seed, helloVersion, tlsCert, tlsKey, controlPort, tickerRate, chatRate, gameRate, bigRate, paused,
            pingMs, idleSeconds, turnTimeout, fault, help, programVersion };
    }
};

bool parseNumber(const QString& text, double low, double high, double* out)
{
    bool ok = false;
    const double value = text.toDouble(&ok);
    if (!ok || !(value >= low && value <= high)) // NaN fails both
        return false;
    *out = value;
    return true;
}

}

QString serverUsage(const QString& invocation)
{
    QCommandLineParser parser;
    Options options;
    parser.addOptions(options.all());
    parser.setApplicationDescription(QStringLiteral(
        "The Deltascope reference Adama document server: ws://BIND:PORT/~s with the demo spaces chat, game, ticker, big.\n"
        "Any key opens a document of its own in a space (e.g. space chat, key demo).\n"
        "Faults: ") + ReferenceServer::faultNames().join(QStringLiteral(", ")));
    return cli::helpText(parser, invocation)
        + QStringLiteral("\nExit codes: 0 stopped (Ctrl-C, SIGTERM), 1 cannot listen on the port or the control port, 2 usage.\n");
}

ServerCommandLine parseServerCommandLine(const QStringList& arguments)
{
    ServerCommandLine result;
    QCommandLineParser parser;
    Options o;
    parser.addOptions(o.all());
    if (!parser.parse(QStringList { QStringLiteral("deltascope-server") } + arguments)) {
        result.error = parser.errorText();
        return result;
    }
    if (!parser.positionalArguments().isEmpty()) {
        result.error = QStringLiteral("unexpected argument \"%1\"").arg(parser.positionalArguments().first());
        return result;
    }
    result.help = parser.isSet(o.help);
    result.showVersion = parser.isSet(o.programVersion);
    if (result.help || result.showVersion)
        return result; // answered before the values are judged, as the GUI and `deltascope-cli --version` do
    ServerOptions& s = result.options;
    double number = 0;
    if (!parseNumber(parser.value(o.port), 0, 65535, &number)) {
        result.error = QStringLiteral("--port: \"%1\" is not a port (0-65535)").arg(parser.value(o.port));
        return result;
    }
    s.port = static_cast<quint16>(number);
    // "[::1]" as a URL writes it (and as the server prints its own) is taken too.
    QString bindAddress = parser.value(o.bind);
    if (bindAddress.size() > 2 && bindAddress.startsWith(QLatin1Char('[')) && bindAddress.endsWith(QLatin1Char(']')))
        bindAddress = bindAddress.mid(1, bindAddress.size() - 2);
    if (!s.bind.setAddress(bindAddress)) {
        result.error = QStringLiteral("--bind: \"%1\" is not an IP address").arg(parser.value(o.bind));
        return result;
    }
    bool ok = false;
    s.seed = parser.value(o.seed).toULongLong(&ok);
    if (!ok) {
        result.error = QStringLiteral("--seed: \"%1\" is not a non-negative integer").arg(parser.value(o.seed));
        return result;
    }
    if (parser.isSet(o.helloVersion)) {
        s.version = parser.value(o.helloVersion);
        if (s.version.isEmpty()) {
            result.error = QStringLiteral("--hello-version: the version string is empty");
            return result;
        }
    }
    s.tlsCertificate = parser.value(o.tlsCert);
    s.tlsKey = parser.value(o.tlsKey);
    if (s.tlsCertificate.isEmpty() != s.tlsKey.isEmpty()) {
        result.error = QStringLiteral("--tls-cert and --tls-key go together");
        return result;
    }
    if (parser.isSet(o.controlPort)) {
        if (!parseNumber(parser.value(o.controlPort), 0, 65535, &number)) {
            result.error = QStringLiteral("--control-port: \"%1\" is not a port (0-65535)").arg(parser.value(o.controlPort));
            return result;
        }
        result.controlPort = static_cast<int>(number);
    }
    const auto rate = [&](const QCommandLineOption& option, double* target, double high) {
        if (!parser.isSet(option))
            return true;
        if (!parseNumber(parser.value(option), 0, high, target)) {
            result.error = QStringLiteral("--%1: \"%2\" is not a number from 0 to %3").arg(option.names().first(), parser.value(option)).arg(high);
            return false;
        }
        return true;
    };
    if (!rate(o.tickerRate, &s.tickerRate, 100000) || !rate(o.chatRate, &s.chatBotRate, 1000)
        || !rate(o.gameRate, &s.gameBotRate, 1000) || !rate(o.bigRate, &s.bigBotRate, 1000))
        return result;
    s.botsPaused = parser.isSet(o.paused);
    if (parser.isSet(o.pingMs)) {
        if (!parseNumber(parser.value(o.pingMs), 10, 3600000, &number)) {
            result.error = QStringLiteral("--ping-ms: \"%1\" is not from 10 to 3600000").arg(parser.value(o.pingMs));
            return result;
        }
        s.pingIntervalMs = static_cast<int>(number);
    }
    if (parser.isSet(o.idleSeconds)) {
        if (!parseNumber(parser.value(o.idleSeconds), 0.01, 86400, &number)) {
            result.error = QStringLiteral("--idle-timeout: \"%1\" is not a number of seconds from 0.01 to 86400").arg(parser.value(o.idleSeconds));
            return result;
        }
        s.idleTimeoutMs = static_cast<int>(number * 1000);
    }
    if (parser.isSet(o.turnTimeout)) {
        if (!parseNumber(parser.value(o.turnTimeout), 0, 86400, &number)) {
            result.error = QStringLiteral("--turn-timeout: \"%1\" is not a number of seconds from 0 to 86400").arg(parser.value(o.turnTimeout));
            return result;
        }
        s.turnTimeoutMs = static_cast<qint64>(number * 1000);
    }
    for (const QString& spec : parser.values(o.fault)) {
        ScheduledFault fault;
        const qsizetype eq = spec.indexOf(QLatin1Char('='));
        fault.name = eq < 0 ? spec : spec.left(eq);
        if (!ReferenceServer::faultNames().contains(fault.name)) {
            result.error = QStringLiteral("--fault: unknown fault \"%1\"; known: %2").arg(fault.name, ReferenceServer::faultNames().join(QStringLiteral(", ")));
            return result;
        }
        if (eq >= 0) {
            QJsonParseError parseError;
            const QJsonDocument document = QJsonDocument::fromJson(spec.mid(eq + 1).toUtf8(), &parseError);
            if (parseError.error != QJsonParseError::NoError || !document.isObject()) {
                result.error = QStringLiteral("--fault %1: parameters are not a JSON object (%2 at byte %3)")
                                   .arg(fault.name, parseError.errorString())
                                   .arg(parseError.offset);
                return result;
            }
            fault.parameters = document.object();
        }
        if (const QString error = ReferenceServer::faultParameterError(fault.name, fault.parameters, true); !error.isEmpty()) {
            result.error = QStringLiteral("--fault ") + error;
            return result;
        }
        fault.afterSeconds = fault.parameters.value(QLatin1String("after")).toDouble(0);
        fault.everySeconds = fault.parameters.value(QLatin1String("every")).toDouble(0);
        // Timers take milliseconds in an int: a day is plenty for a scheduled fault.
        if (!(fault.afterSeconds >= 0 && fault.afterSeconds <= 86400) || !(fault.everySeconds >= 0 && fault.everySeconds <= 86400)) {
            result.error = QStringLiteral("--fault %1: \"after\" and \"every\" must be from 0 to 86400 seconds").arg(fault.name);
            return result;
        }
        result.faults.append(fault);
    }
    return result;
}

int runServer(const QStringList& arguments, QTextStream& out, QTextStream& err, const QString& invocation)
{
    const ServerCommandLine commandLine = parseServerCommandLine(arguments);
    if (commandLine.help) {
        out << serverUsage(invocation);
        out.flush();
        return 0;
    }
    if (commandLine.showVersion && commandLine.error.isEmpty()) { // an option the parser does not know is still an error
        out << invocation.section(QLatin1Char(' '), 0, 0) << ' ' << kVersion << '\n'; // the program: deltascope-server or deltascope-cli
        out.flush();
        return 0;
    }
    if (!commandLine.error.isEmpty()) {
        err << cli::usageError(invocation, commandLine.error);
        err.flush();
        return cli::ExitUsage;
    }

    ReferenceServer server(commandLine.options);
    if (server.listen() == 0) {
        err << "deltascope-server: " << server.errorString() << '\n';
        err.flush();
        return cli::ExitFailure;
    }
    // Both ports first: a script reading the URL from stdout must not see one for a server
    // that then exits because its control port is taken.
    ControlEndpoint control(&server);
    if (commandLine.controlPort >= 0 && control.listen(static_cast<quint16>(commandLine.controlPort)) == 0) {
        err << "deltascope-server: " << control.errorString() << '\n';
        err.flush();
        return cli::ExitFailure;
    }
    out << "deltascope-server " << kVersion << ": listening on " << server.url() << '\n';
    // The log starts after listening: the line above already says where (the log's own line would repeat it).
    QObject::connect(&server, &ReferenceServer::logLine, &server, [&err](const QString& line) {
        err << QDateTime::currentDateTime().toString(Qt::ISODateWithMs) << ' ' << line << '\n';
        err.flush();
    });
    if (commandLine.controlPort >= 0)
        out << "deltascope-server: control on http://127.0.0.1:" << control.port() << '\n';
    out.flush();

    for (const ScheduledFault& fault : commandLine.faults) {
        // Without the scheduling ones, which applyFault() does not take.
        QJsonObject parameters = fault.parameters;
        parameters.remove(QLatin1String("after"));
        parameters.remove(QLatin1String("every"));
        auto fire = [&server, name = fault.name, parameters] { server.applyFault(name, parameters); };
        QTimer::singleShot(static_cast<int>(fault.afterSeconds * 1000), &server, [&server, fire, fault] {
            fire();
            if (fault.everySeconds > 0) {
                auto* repeat = new QTimer(&server);
                QObject::connect(repeat, &QTimer::timeout, &server, fire);
                repeat->start(static_cast<int>(fault.everySeconds * 1000));
            }
        });
    }

    // SIGINT/SIGTERM stop the server on the event loop, so it closes its sockets cleanly.
    int stopSignal = 0;
    const StopSignalGuard stopSignals([&stopSignal](int signal) {
        stopSignal = signal;
        QCoreApplication::quit();
    });
    if (!stopSignals.isInstalled()) {
        err << "deltascope-server: " << stopSignals.errorString() << '\n';
        return cli::ExitFailure;
    }

    QCoreApplication::exec();

    server.close();
    err << QDateTime::currentDateTime().toString(Qt::ISODateWithMs) << " stopped by "
        << (stopSignal ? StopSignalGuard::signalName(stopSignal) : QStringLiteral("quit")) << '\n';
    err.flush();
    return 0;
}

cli::Command serveCommand()
{
    return { QStringLiteral("serve"), QStringLiteral("Run the reference server with its demo documents (options as deltascope-server --help)."),
        [](const QStringList& arguments, cli::CommandIo& io) { return runServer(arguments, io.out, io.err, QStringLiteral("deltascope-cli serve")); } };
}

}
