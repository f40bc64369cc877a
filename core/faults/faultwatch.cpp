#include "core/faults/faultwatch.h"

#include "core/faults/faultplan.h"
#include "core/faults/faultproxy.h"
#include "core/cli/outputfile.h"
#include "core/faults/servercontrol.h"
#include "core/protocol/protocolclient.h"
#include "core/session/incidentanalyzer.h"
#include "core/session/watchcommand.h"

#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QTimer>

namespace deltascope::faults {

namespace {

const QStringList& verdicts()
{
    static const QStringList names { QStringLiteral("converged"), QStringLiteral("converged-stale"),
        QStringLiteral("diverged"), QStringLiteral("gave-up") };
    return names;
}

// Accepts "--name value" and "--name=value".
bool takeValue(QStringList& arguments, qsizetype& i, const QString& name, QString& value, QString& error)
{
    const QString& argument = arguments[i];
    if (argument.startsWith(name + QLatin1Char('='))) {
        value = argument.mid(name.size() + 1);
        arguments.removeAt(i);
        return true;
    }
    if (i + 1 >= arguments.size()) {
        error = QStringLiteral("%1 needs a value").arg(name);
        return false;
    }
    value = arguments[i + 1];
    arguments.remove(i, 2);
    return true;
}

}

QString faultWatchHelp()
{
    return QStringLiteral(
        "\nFault injection (the client connects through a loopback fault proxy in front of URL):\n"
        "  --plan <FILE>          Fault plan file, or the name of a ready plan (deltascope-cli proxy --list-plans).\n"
        "  --fault <NAME[=JSON]>  Apply a fault once the stream is up, i.e. the client sent connection/create\n"
        "                         (repeatable; deltascope-cli proxy --list-faults). stall (inbound or both)\n"
        "                         and hold-pings wait for the first ping as well: a client counts missed\n"
        "                         pings only after its first one, so earlier they would go unnoticed. A\n"
        "                         fault that never acts is reported (exit 1; with --expect, not met).\n"
        "  --report <FILE.json>   Write the incidents (resync analysis) as JSON.\n"
        "  --server-control <URL> The server's control endpoint (deltascope-server --control-port P gives\n"
        "                         http://127.0.0.1:P): server-redeploy steps then redeploy it for real instead\n"
        "                         of the proxy simulating it.\n"
        "  --expect <VERDICTS>    Every incident must end in one of these (comma-separated: converged,\n"
        "                         converged-stale, diverged, gave-up; or 'plan' for the plan's own), and every\n"
        "                         fault must act. The expectation then decides the exit code: 0 met, 6 not met,\n"
        "                         however the stream ended (a fatal failure with --expect gave-up exits 0,\n"
        "                         not 5). Only 2 (usage, a --report path that cannot be written among\n"
        "                         them), 4 (never connected: nothing to judge) and 1 (the --report file\n"
        "                         could not be written at the end) still win.\n");
}

bool extractFaultWatchOptions(QStringList& arguments, FaultWatchOptions& out, QString& error)
{
    for (qsizetype i = 0; i < arguments.size();) {
        const QString& argument = arguments[i];
        auto is = [&](const char* name) {
            const QString option = QLatin1String(name);
            return argument == option || argument.startsWith(option + QLatin1Char('='));
        };
        QString value;
        if (is("--plan")) {
            if (!takeValue(arguments, i, QStringLiteral("--plan"), value, error))
                return false;
            out.plan = value;
        } else if (is("--fault")) {
            if (!takeValue(arguments, i, QStringLiteral("--fault"), value, error))
                return false;
            out.faults << value;
        } else if (is("--server-control")) {
            if (!takeValue(arguments, i, QStringLiteral("--server-control"), value, error))
                return false;
            out.serverControl = value;
        } else if (is("--report")) {
            if (!takeValue(arguments, i, QStringLiteral("--report"), value, error))
                return false;
            out.report = value;
        } else if (is("--expect")) {
            if (!takeValue(arguments, i, QStringLiteral("--expect"), value, error))
                return false;
            if (value.split(QLatin1Char(','), Qt::SkipEmptyParts).isEmpty()) {
                error = QStringLiteral("--expect needs at least one verdict (%1, or plan)").arg(verdicts().join(QStringLiteral(", ")));
                return false;
            }
            for (const QString& verdict : value.split(QLatin1Char(','), Qt::SkipEmptyParts)) {
                const QString trimmed = verdict.trimmed();
                if (trimmed == QLatin1String("plan")) {
                    out.expectFromPlan = true;
                } else if (!verdicts().contains(trimmed)) {
                    error = QStringLiteral("--expect: unknown verdict '%1' (expected %2, or plan)")
                                .arg(trimmed, verdicts().join(QStringLiteral(", ")));
                    return false;
                } else {
                    out.expect << trimmed;
                }
            }
        } else {
            ++i;
        }
    }
    return true;
}

int runFaultWatch(cli::WatchOptions options, const FaultWatchOptions& faultOptions, cli::CommandIo& io, const FaultWatchHooks& hooks)
{
    const QString prefix = QStringLiteral("deltascope-cli %1: ").arg(hooks.command);
    QString error;
    std::optional<FaultPlan> plan;
    if (!faultOptions.plan.isEmpty()) {
        FaultPlan loaded;
        if (!FaultPlan::load(faultOptions.plan, loaded, &error)) {
            io.err << prefix << "--plan " << error << '\n';
            return cli::ExitUsage;
        }
        plan = loaded;
    }
    if (faultOptions.expectFromPlan && !plan) {
        io.err << prefix << "--expect plan needs --plan\n";
        return cli::ExitUsage;
    }
    std::vector<FaultSpec> faults;
    for (const QString& option : faultOptions.faults) {
        FaultSpec spec;
        if (!FaultSpec::fromOption(option, spec, &error)) {
            io.err << prefix << error << '\n';
            return cli::ExitUsage;
        }
        faults.push_back(spec);
    }
    // Written when the run ends: a path that cannot be written must not cost the whole run.
    if (!faultOptions.report.isEmpty()) {
        if (const QString problem = cli::outputPathProblem(faultOptions.report); !problem.isEmpty()) {
            io.err << prefix << "--report " << faultOptions.report << ": cannot be written: " << problem << '\n';
            return cli::ExitUsage;
        }
    }
    QStringList expected = faultOptions.expect;
    if (faultOptions.expectFromPlan)
        expected += plan->expect;

    FaultProxy proxy;
    if (!proxy.setUpstream(options.target.url, &error)) {
        io.err << prefix << error << '\n';
        return cli::ExitUsage;
    }
    // With a wss server the proxy is the side that speaks TLS, so it verifies (or not) for the client.
    proxy.setInsecure(options.insecure);
    if (!proxy.listen(QHostAddress::LocalHost, 0, &error)) {
        io.err << prefix << error << '\n';
        return cli::ExitFailure;
    }
    FaultPlanRunner::ServerControl serverControl;
    if (!faultOptions.serverControl.isEmpty()) {
        const QUrl controlUrl(faultOptions.serverControl, QUrl::StrictMode);
        if (const QString why = serverControlUrlProblem(controlUrl); !why.isEmpty()) {
            io.err << prefix << "--server-control " << why << '\n';
            return cli::ExitUsage;
        }
        if (const QString why = probeServerControl(controlUrl); !why.isEmpty()) {
            io.err << prefix << "--server-control " << why << '\n';
            return cli::ExitConnectFailed;
        }
        serverControl = httpServerControl(controlUrl, &proxy);
    }
    const DocumentTarget truth = options.target;
    options.serverUrl = options.target.url;
    options.target.url = proxy.clientUrl();
    if (plan && plan->durationMs > 0 && options.durationSeconds <= 0)
        options.durationSeconds = double(plan->durationMs) / 1000.0;

    cli::WatchRunner runner(options, io.out, io.err);
    LiveSession& session = runner.session();
    QObject::connect(&proxy, &FaultProxy::faultInjected, &runner, [&session](const FaultReport& report) {
        session.recordLocal(EventKind::FaultInjected, QJsonDocument(report.toJson()).toJson(QJsonDocument::Compact),
            report.connection, report.corrupting ? FlagCorrupting : 0);
    });
    // An inject applied before its stream existed waits for it; one still waiting at the end never
    // acted, which must not pass for success.
    QStringList notApplied;
    const auto reportNotApplied = [&](const QString& text) {
        notApplied << text;
        io.err << prefix << text << '\n';
        session.addNote(text); // in the capture too: a fault that did nothing tested nothing
    };
    QObject::connect(&proxy, &FaultProxy::faultNotApplied, &runner,
        [&](const QString& fault, const QJsonObject& params, const QString& why) { reportNotApplied(notAppliedText(fault, params, why)); });
    // Behind the proxy the client only sees its connection reset: the log notes what the proxy saw,
    // and stderr says it once per outage.
    QObject::connect(&proxy, &FaultProxy::upstreamFailed, &runner, [&](const QString& note, const QString& error, bool outageStarts) {
        session.addNote(note);
        if (outageStarts)
            io.err << prefix << "the server " << proxy.upstream().toDisplayString() << " cannot be reached: " << error
                   << " (behind the fault proxy the client sees a reset; it keeps retrying)\n";
    });
    IncidentAnalyzer analyzer(&session.log());
    analyzer.setTreeSource(&session.folder()); // the session folds the same stream
    analyzer.setShadowTarget(truth);
    analyzer.setShadowInsecure(options.insecure);
    // A check connects with the viewer state the client holds now (a document may push one).
    QObject::connect(&session.client(), &ProtocolClient::viewerStateChanged, &analyzer,
        [&analyzer, target = DocumentTarget(truth)](const QByteArray& json) mutable {
            target.viewerState = json;
            analyzer.setShadowTarget(target);
        });
    Clock* clock = &session.clock();
    analyzer.setClock([clock] { return clock->nowNs(); });

    std::unique_ptr<FaultPlanRunner> planRunner;
    if (plan) {
        planRunner = std::make_unique<FaultPlanRunner>(&proxy, *plan);
        if (serverControl)
            planRunner->setServerControl(serverControl);
        QObject::connect(planRunner.get(), &FaultPlanRunner::stepFailed, &runner, [&](int step, const QString& why) {
            io.err << prefix << "plan step " << step + 1 << " failed: " << why << '\n';
        });
    }
    // The plan's clock starts with the session; --fault faults once the stream is up (the client
    // sent connection/create; an inject waits in the proxy until that has passed).
    QTimer::singleShot(0, &runner, [&] {
        if (planRunner)
            planRunner->start();
    });
    // A client counts missed pings only after its first ping (the JS client's has_had_ping), so a
    // stall of the server's frames or held pings before then would never be noticed: those wait
    // for the first ping as well.
    auto waitsForPing = [](const FaultSpec& spec) {
        return spec.type == FaultType::HoldPings
            || (spec.type == FaultType::Stall && spec.params.value(QLatin1String("direction")).toString() != QLatin1String("outbound"));
    };
    std::vector<FaultSpec> afterStream;
    std::vector<FaultSpec> afterPing;
    for (const FaultSpec& spec : faults)
        (waitsForPing(spec) ? afterPing : afterStream).push_back(spec);
    bool streaming = false;
    bool pinged = false;
    auto applyAll = [&](std::vector<FaultSpec>& specs) {
        for (const FaultSpec& spec : std::exchange(specs, {})) {
            QString why;
            const bool done = spec.type == FaultType::ServerRedeploy && serverControl ? serverControl(spec, &why) : proxy.apply(spec, &why);
            if (!done)
                io.err << prefix << "--fault " << spec.name() << " failed: " << why << '\n';
        }
    };
    QObject::connect(&session, &LiveSession::stateChanged, &runner, [&](ConnectionState state) {
        if (streaming || state != ConnectionState::Streaming)
            return;
        streaming = true;
        applyAll(afterStream);
        if (pinged)
            applyAll(afterPing);
    });
    QObject::connect(&session.client(), &ProtocolClient::clientEvent, &runner, [&](const ClientEvent& event) {
        if (event.kind != EventKind::Ping || pinged)
            return;
        pinged = true;
        if (streaming)
            applyAll(afterPing);
    });

    if (hooks.beforeRun) {
        if (const std::optional<int> stop = hooks.beforeRun(runner, analyzer))
            return *stop;
    }
    int code = runner.run();
    for (const std::vector<FaultSpec>* waiting : { &afterStream, &afterPing }) {
        for (const FaultSpec& spec : *waiting) {
            reportNotApplied(QStringLiteral("--fault ")
                + notAppliedText(spec.name(), spec.params,
                    waiting == &afterStream ? QStringLiteral("the stream never came up") : QStringLiteral("no ping came from the server")));
        }
    }
    if (planRunner) {
        // A step that never acted tested nothing: said, and counted as a fault not applied.
        for (const QString& step : planRunner->unfinishedSteps())
            reportNotApplied(step);
        planRunner->stop();
    }
    // An incident may still be waiting for its truth check: give it a few seconds.
    analyzer.finishWithin(6000);
    proxy.shutdown();

    QJsonArray incidents;
    QJsonObject counts;
    QStringList unexpected;
    for (const QJsonObject& incident : analyzer.incidents()) {
        incidents.append(incident);
        const QString verdict = incident.value(QLatin1String("verdict")).toString();
        counts.insert(verdict, counts.value(verdict).toInt() + 1);
        io.out << "incident " << incident.value(QLatin1String("incident")).toInt() << ": " << verdict;
        const QJsonValue converge = incident.value(QLatin1String("timeToConvergeMs"));
        if (converge.isDouble())
            io.out << " in " << qRound64(converge.toDouble()) << " ms";
        const QJsonObject detection = incident.value(QLatin1String("detection")).toObject();
        if (detection.value(QLatin1String("how")).isString())
            io.out << ", detected by " << detection.value(QLatin1String("how")).toString() << " after "
                   << qRound64(detection.value(QLatin1String("afterMs")).toDouble()) << " ms";
        const QJsonObject version = incident.value(QLatin1String("version")).toObject();
        if (version.value(QLatin1String("mismatch")).toBool())
            io.out << ", version " << version.value(QLatin1String("sessionVersion")).toString() << " -> "
                   << version.value(QLatin1String("after")).toString();
        if (version.value(QLatin1String("reload")).toBool())
            io.out << ", reload asked";
        io.out << " (" << incident.value(QLatin1String("trigger")).toString() << ")\n";
        if (!expected.isEmpty() && !expected.contains(verdict))
            unexpected << QStringLiteral("incident %1 ended %2")
                              .arg(incident.value(QLatin1String("incident")).toInt())
                              .arg(verdict);
    }
    // A fault that never acted leaves nothing to judge the expectation by.
    if (!expected.isEmpty()) {
        for (const QString& text : std::as_const(notApplied))
            unexpected << text;
    }
    const FaultProxy::Stats stats = proxy.stats();
    const QJsonObject report {
        { QStringLiteral("upstream"), truth.url.toString(QUrl::RemoveUserInfo) },
        { QStringLiteral("space"), truth.space },
        { QStringLiteral("key"), truth.key },
        { QStringLiteral("plan"), plan ? QJsonValue(plan->name) : QJsonValue(QJsonValue::Null) },
        { QStringLiteral("seed"), plan ? qint64(plan->seed) : qint64(proxy.seed()) },
        { QStringLiteral("expect"), QJsonArray::fromStringList(expected) },
        { QStringLiteral("sessionVersion"), analyzer.sessionVersion() },
        { QStringLiteral("faults"), qint64(stats.faults) },
        { QStringLiteral("notApplied"), QJsonArray::fromStringList(notApplied) },
        { QStringLiteral("connections"), qint64(stats.connections) },
        { QStringLiteral("verdicts"), counts },
        { QStringLiteral("incidents"), incidents },
        { QStringLiteral("expectationMet"), unexpected.isEmpty() },
    };
    // With --expect the expectation decides how the run ended (a stream that failed with a fatal
    // code is what --expect gave-up asks for), except when there was nothing to judge: usage
    // errors, no connection at all (4). Without it, the watch exit code stands.
    if (!expected.isEmpty() && code != cli::ExitUsage && code != cli::ExitConnectFailed)
        code = unexpected.isEmpty() ? cli::ExitOk : cli::ExitExpectationFailed;
    else if (!notApplied.isEmpty() && code == cli::ExitOk)
        code = cli::ExitFailure;
    if (!faultOptions.report.isEmpty()) {
        const QByteArray json = QJsonDocument(report).toJson(QJsonDocument::Indented);
        const auto writeJson = [&json](QIODevice& device, QString*) { return device.write(json) == json.size(); };
        QString error;
        if (!cli::writeOutputFile(faultOptions.report, writeJson, &error)) {
            io.err << prefix << "--report " << faultOptions.report << ": cannot write: " << error << '\n';
            if (code == cli::ExitOk || (!expected.isEmpty() && code == cli::ExitExpectationFailed))
                code = cli::ExitFailure;
        }
    }
    if (!unexpected.isEmpty())
        io.err << prefix << "--expect " << expected.join(QLatin1Char(','))
               << " not met: " << unexpected.join(QStringLiteral("; ")) << '\n';
    if (hooks.afterRun)
        code = hooks.afterRun(code, analyzer);
    io.out.flush();
    io.err.flush();
    return code;
}

}
