#include "core/faults/proxycommand.h"

#include "core/cli/cli.h"
#include "core/faults/faultplan.h"
#include "core/faults/faultproxy.h"
#include "core/stopsignalguard.h"

#include <QCommandLineParser>
#include <QEventLoop>
#include <QFile>
#include <QJsonDocument>
#include <QSslCertificate>
#include <QSocketNotifier>
#include <QTimer>

#include <cerrno>
#include <limits>
#include <optional>
#include <unistd.h>

namespace deltascope::faults {

namespace {

bool parseListen(const QString& text, QHostAddress& address, quint16& port, QString* error)
{
    const qsizetype colon = text.lastIndexOf(QLatin1Char(':'));
    if (colon <= 0) {
        *error = QStringLiteral("--listen '%1': expected HOST:PORT, e.g. 127.0.0.1:7778").arg(text);
        return false;
    }
    QString host = text.left(colon);
    if (host.startsWith(QLatin1Char('[')) && host.endsWith(QLatin1Char(']')))
        host = host.mid(1, host.size() - 2);
    if (host == QLatin1String("localhost"))
        host = QStringLiteral("127.0.0.1");
    bool ok = false;
    const uint value = text.mid(colon + 1).toUInt(&ok);
    if (!ok || value > 65535) {
        *error = QStringLiteral("--listen '%1': bad port").arg(text);
        return false;
    }
    if (!address.setAddress(host)) {
        *error = QStringLiteral("--listen '%1': '%2' is not an IP address").arg(text, host);
        return false;
    }
    port = quint16(value);
    return true;
}

QString stamp(const FaultProxy& proxy)
{
    return QStringLiteral("+%1s").arg(double(proxy.elapsedMs()) / 1000.0, 0, 'f', 3);
}

int runProxy(const QStringList& arguments, cli::CommandIo& io)
{
    QCommandLineParser parser;
    parser.setApplicationDescription(QStringLiteral("Runs the fault proxy between clients and a ws:// or wss:// server."));
    parser.addOptions({
        { QStringLiteral("listen"), QStringLiteral("Loopback address to listen on (default 127.0.0.1:0, a free port)."),
            QStringLiteral("HOST:PORT"), QStringLiteral("127.0.0.1:0") },
        { QStringLiteral("upstream"),
            QStringLiteral("The server, e.g. ws://127.0.0.1:7777/~s or wss://host/~s (clients connect to the proxy with ws)."),
            QStringLiteral("URL") },
        { QStringLiteral("insecure"), QStringLiteral("wss upstream: do not verify the server certificate (unsafe).") },
        { QStringLiteral("ca-cert"), QStringLiteral("wss upstream: also trust the CA certificates in this PEM file."),
            QStringLiteral("FILE") },
        { QStringLiteral("plan"), QStringLiteral("Fault plan file, or the name of a ready plan."),
            QStringLiteral("FILE") },
        { QStringLiteral("plan-start"),
            QStringLiteral("When the plan's clock starts: first-connection (default) or now."), QStringLiteral("WHEN"),
            QStringLiteral("first-connection") },
        { QStringLiteral("fault"), QStringLiteral("Apply a fault at start: NAME or NAME=JSON-params (repeatable)."),
            QStringLiteral("FAULT") },
        { QStringLiteral("seed"), QStringLiteral("Seed for jitter and corruption (default: the plan's, else 1)."),
            QStringLiteral("N") },
        { QStringLiteral("duration"), QStringLiteral("Exit after this many milliseconds."), QStringLiteral("MS") },
        { QStringLiteral("stdin"),
            QStringLiteral("Read faults from standard input, one per line: NAME [JSON-params].") },
        { QStringLiteral("json"), QStringLiteral("Log as JSON lines instead of text.") },
        { QStringLiteral("list-faults"), QStringLiteral("Print every fault and its parameters, and exit.") },
        { QStringLiteral("list-plans"), QStringLiteral("Print the ready plans, and exit.") },
        { { QStringLiteral("h"), QStringLiteral("help") }, QStringLiteral("Show this help.") },
    });
    if (!parser.parse(QStringList { QStringLiteral("deltascope-cli proxy") } + arguments)) {
        io.err << cli::usageError(QStringLiteral("deltascope-cli proxy"), parser.errorText());
        return cli::ExitUsage;
    }
    if (parser.isSet(QStringLiteral("help"))) {
        // The shared help, with the options a run needs named in its usage line.
        io.out << cli::helpText(parser, QStringLiteral("deltascope-cli proxy --upstream URL [--listen HOST:PORT] [--plan FILE]"))
               << "\nExit codes: 0 normal end (Ctrl-C, --duration), 1 the proxy cannot listen, 2 usage.\n";
        return cli::ExitOk;
    }
    if (parser.isSet(QStringLiteral("list-faults"))) {
        io.out << faultCatalogText();
        return cli::ExitOk;
    }
    if (parser.isSet(QStringLiteral("list-plans"))) {
        for (const QString& name : FaultPlan::readyPlanNames()) {
            FaultPlan plan;
            QString error;
            FaultPlan::load(name, plan, &error);
            io.out << name << ": " << plan.description << '\n';
        }
        return cli::ExitOk;
    }
    if (!parser.positionalArguments().isEmpty()) {
        io.err << "deltascope-cli proxy: unexpected argument '" << parser.positionalArguments().first() << "'\n";
        return cli::ExitUsage;
    }
    if (!parser.isSet(QStringLiteral("upstream"))) {
        io.err << "deltascope-cli proxy: --upstream URL is required (e.g. ws://127.0.0.1:7777/~s)\n";
        return cli::ExitUsage;
    }
    QString error;
    QHostAddress address;
    quint16 port = 0;
    if (!parseListen(parser.value(QStringLiteral("listen")), address, port, &error)) {
        io.err << "deltascope-cli proxy: " << error << '\n';
        return cli::ExitUsage;
    }
    FaultProxy proxy;
    if (!proxy.setUpstream(QUrl(parser.value(QStringLiteral("upstream"))), &error)) {
        io.err << "deltascope-cli proxy: " << error << '\n';
        return cli::ExitUsage;
    }
    proxy.setInsecure(parser.isSet(QStringLiteral("insecure")));
    if (parser.isSet(QStringLiteral("ca-cert"))) {
        const QString path = parser.value(QStringLiteral("ca-cert"));
        QFile file(path);
        if (!file.open(QIODevice::ReadOnly)) {
            io.err << "deltascope-cli proxy: --ca-cert " << path << ": " << file.errorString() << '\n';
            return cli::ExitUsage;
        }
        const QList<QSslCertificate> certificates = QSslCertificate::fromData(file.readAll(), QSsl::Pem);
        if (certificates.isEmpty()) {
            io.err << "deltascope-cli proxy: --ca-cert " << path << ": no PEM certificate in the file\n";
            return cli::ExitUsage;
        }
        proxy.setCaCertificates(certificates);
    }
    if (proxy.isInsecure() && proxy.upstream().scheme() == QLatin1String("wss"))
        io.err << "deltascope-cli proxy: warning: --insecure: the upstream's certificate is NOT verified\n";
    std::vector<FaultSpec> startFaults;
    const QStringList faultOptions = parser.values(QStringLiteral("fault"));
    for (const QString& option : faultOptions) {
        FaultSpec spec;
        if (!FaultSpec::fromOption(option, spec, &error)) {
            io.err << "deltascope-cli proxy: " << error << '\n';
            return cli::ExitUsage;
        }
        startFaults.push_back(spec);
    }
    std::optional<quint64> seed;
    if (parser.isSet(QStringLiteral("seed"))) {
        bool ok = false;
        seed = parser.value(QStringLiteral("seed")).toULongLong(&ok);
        if (!ok) {
            io.err << "deltascope-cli proxy: --seed must be a non-negative integer\n";
            return cli::ExitUsage;
        }
        proxy.setSeed(*seed);
    }
    std::unique_ptr<FaultPlanRunner> runner;
    if (parser.isSet(QStringLiteral("plan"))) {
        FaultPlan plan;
        if (!FaultPlan::load(parser.value(QStringLiteral("plan")), plan, &error)) {
            io.err << "deltascope-cli proxy: " << error << '\n';
            return cli::ExitUsage;
        }
        if (seed)
            plan.seed = *seed; // the runner seeds the proxy when it starts
        runner = std::make_unique<FaultPlanRunner>(&proxy, plan);
    }
    const QString planStart = parser.value(QStringLiteral("plan-start"));
    if (planStart != QLatin1String("now") && planStart != QLatin1String("first-connection")) {
        io.err << "deltascope-cli proxy: --plan-start must be 'now' or 'first-connection'\n";
        return cli::ExitUsage;
    }
    qint64 durationMs = -1;
    if (parser.isSet(QStringLiteral("duration"))) {
        bool ok = false;
        durationMs = parser.value(QStringLiteral("duration")).toLongLong(&ok);
        // A timer counts in int milliseconds: about 24.8 days at most.
        constexpr qint64 kLongestMs = std::numeric_limits<int>::max();
        if (!ok || durationMs < 0 || durationMs > kLongestMs) {
            io.err << "deltascope-cli proxy: --duration must be a number of milliseconds from 0 to " << kLongestMs << " (about 24 days), not '"
                   << parser.value(QStringLiteral("duration")) << "'\n";
            return cli::ExitUsage;
        }
    }
    if (!proxy.listen(address, port, &error)) {
        io.err << "deltascope-cli proxy: " << error << '\n';
        return cli::ExitFailure;
    }
    const bool json = parser.isSet(QStringLiteral("json"));
    auto log = [&](const QJsonObject& record, const QString& text) {
        if (json) {
            QJsonObject line = record;
            line.insert(QStringLiteral("elapsedMs"), proxy.elapsedMs());
            io.out << QString::fromUtf8(QJsonDocument(line).toJson(QJsonDocument::Compact)) << '\n';
        } else {
            io.out << stamp(proxy) << ' ' << text << '\n';
        }
        io.out.flush();
    };
    log({ { QStringLiteral("type"), QStringLiteral("listening") },
            { QStringLiteral("url"), proxy.clientUrl().toString() },
            { QStringLiteral("upstream"), proxy.upstream().toString() } },
        QStringLiteral("listening on %1, forwarding to %2")
            .arg(proxy.clientUrl().toString(), proxy.upstream().toString()));

    QObject::connect(&proxy, &FaultProxy::faultInjected, &proxy, [&](const FaultReport& report) {
        QJsonObject record = report.toJson();
        record.insert(QStringLiteral("type"), QStringLiteral("fault"));
        log(record,
            QStringLiteral("fault %1 %2%3%4")
                .arg(report.fault, QString::fromUtf8(QJsonDocument(report.params).toJson(QJsonDocument::Compact)),
                    report.detail.isEmpty() ? QString() : QStringLiteral(": ") + report.detail,
                    report.corrupting ? QStringLiteral(" [corrupting]") : QString()));
    });
    QObject::connect(&proxy, &FaultProxy::faultNotApplied, &proxy,
        [&](const QString& fault, const QJsonObject& params, const QString& why) {
            log({ { QStringLiteral("type"), QStringLiteral("fault-not-applied") }, { QStringLiteral("fault"), fault },
                    { QStringLiteral("params"), params }, { QStringLiteral("why"), why } },
                QStringLiteral("fault %1 %2 not applied: %3")
                    .arg(fault, QString::fromUtf8(QJsonDocument(params).toJson(QJsonDocument::Compact)), why));
        });
    bool planStarted = runner && runner->isRunning();
    QObject::connect(&proxy, &FaultProxy::connectionEvent, &proxy, [&](const QJsonObject& event) {
        QJsonObject record = event;
        record.insert(QStringLiteral("type"), QStringLiteral("connection"));
        QJsonObject details = event;
        details.remove(QStringLiteral("connection"));
        details.remove(QStringLiteral("event"));
        details.remove(QStringLiteral("elapsedMs"));
        log(record,
            QStringLiteral("connection %1 %2 %3")
                .arg(event.value(QLatin1String("connection")).toInt())
                .arg(event.value(QLatin1String("event")).toString(),
                    QString::fromUtf8(QJsonDocument(details).toJson(QJsonDocument::Compact))));
        if (runner && !planStarted && event.value(QLatin1String("event")).toString() == QLatin1String("opened")) {
            planStarted = true;
            runner->start();
        }
    });
    if (runner) {
        QObject::connect(runner.get(), &FaultPlanRunner::stepFailed, &proxy, [&](int step, const QString& why) {
            log({ { QStringLiteral("type"), QStringLiteral("plan-error") }, { QStringLiteral("step"), step },
                    { QStringLiteral("error"), why } },
                QStringLiteral("plan step %1 failed: %2").arg(step + 1).arg(why));
        });
        QObject::connect(runner.get(), &FaultPlanRunner::finished, &proxy, [&] {
            log({ { QStringLiteral("type"), QStringLiteral("plan-finished") } },
                QStringLiteral("plan '%1': every step is applied (a message fault acts when its frame passes)").arg(runner->plan().name));
        });
        if (!planStarted && planStart == QLatin1String("now")) {
            planStarted = true;
            runner->start();
        }
    }
    for (const FaultSpec& spec : startFaults)
        proxy.apply(spec);

    QEventLoop loop;
    // SIGINT/SIGTERM stop the proxy on the event loop: the log says so, the sockets close cleanly.
    const StopSignalGuard stopSignals([&](int) {
        log({ { QStringLiteral("type"), QStringLiteral("stopping") }, { QStringLiteral("reason"), QStringLiteral("signal") } },
            QStringLiteral("stopping on signal"));
        loop.quit();
    });
    std::unique_ptr<QSocketNotifier> stdinNotifier;
    QByteArray stdinBuffer;
    qint64 stdinLine = 0;
    if (parser.isSet(QStringLiteral("stdin"))) {
        stdinNotifier = std::make_unique<QSocketNotifier>(STDIN_FILENO, QSocketNotifier::Read);
        QObject::connect(stdinNotifier.get(), &QSocketNotifier::activated, &loop, [&] {
            char buffer[4096];
            const auto got = ::read(STDIN_FILENO, buffer, sizeof buffer);
            if (got < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
                return; // nothing after all (a non-blocking stdin), or a signal: wait for the next
            if (got <= 0) {
                stdinNotifier->setEnabled(false);
                return;
            }
            stdinBuffer.append(buffer, got);
            qsizetype newline;
            while ((newline = stdinBuffer.indexOf('\n')) >= 0) {
                const QString line = QString::fromUtf8(stdinBuffer.left(newline)).trimmed();
                stdinBuffer.remove(0, newline + 1);
                ++stdinLine;
                if (line.isEmpty())
                    continue;
                const qsizetype space = line.indexOf(QLatin1Char(' '));
                const QString name = space < 0 ? line : line.left(space);
                const QByteArray paramsText = space < 0 ? QByteArray("{}") : line.mid(space + 1).toUtf8();
                QJsonParseError parseError;
                const QJsonDocument document = QJsonDocument::fromJson(paramsText, &parseError);
                QString faultError;
                FaultSpec spec;
                // A repeated key is looked for once the name and the parameters are known good, so
                // an unknown fault or parameter is named as such first.
                if (parseError.error != QJsonParseError::NoError)
                    faultError = QStringLiteral("%1: the parameters are not valid JSON: %2 at byte %3 of them")
                                     .arg(name, parseError.errorString())
                                     .arg(parseError.offset);
                else if (!document.isObject())
                    faultError = QStringLiteral("%1: the parameters must be a JSON object, e.g. %1 {\"ms\":200}").arg(name);
                else if (FaultSpec::fromNameAndParams(name, document.object(), QStringLiteral("$"), spec, &faultError)) {
                    if (const RepeatedKey repeated = findRepeatedKey(paramsText); repeated.found())
                        faultError = name + QStringLiteral(": ") + repeatedParameterMessage(repeated);
                    else
                        proxy.apply(spec, &faultError);
                }
                if (!faultError.isEmpty())
                    log({ { QStringLiteral("type"), QStringLiteral("input-error") },
                            { QStringLiteral("error"), faultError } },
                        QStringLiteral("stdin:%1: ").arg(stdinLine) + faultError);
            }
        });
    }
    if (durationMs >= 0)
        QTimer::singleShot(int(durationMs), &loop, &QEventLoop::quit);
    loop.exec();
    if (runner) {
        // A step that never acted tested nothing: said, as a fault that was not applied is.
        for (const QString& step : runner->unfinishedSteps())
            log({ { QStringLiteral("type"), QStringLiteral("plan-step-not-applied") }, { QStringLiteral("why"), step } }, step);
        runner->stop();
    }
    proxy.shutdown();
    const FaultProxy::Stats stats = proxy.stats();
    log({ { QStringLiteral("type"), QStringLiteral("stopped") },
            { QStringLiteral("connections"), qint64(stats.connections) },
            { QStringLiteral("faults"), qint64(stats.faults) },
            { QStringLiteral("bytesToServer"), qint64(stats.bytesToServer) },
            { QStringLiteral("bytesToClient"), qint64(stats.bytesToClient) } },
        QStringLiteral("stopped: %1 connection(s), %2 fault(s), %3 bytes to server, %4 bytes to clients")
            .arg(stats.connections)
            .arg(stats.faults)
            .arg(stats.bytesToServer)
            .arg(stats.bytesToClient));
    return cli::ExitOk;
}

}

cli::Command proxyCommand()
{
    return { QStringLiteral("proxy"),
        QStringLiteral("Run the fault proxy between clients and a ws:// or wss:// server (faults, plans)."), runProxy };
}

}
