#include "core/capture/capturecommands.h"

#include "core/capture/capturecheckpoints.h"
#include "core/capture/captureexport.h"
#include "core/capture/capturereader.h"
#include "core/capture/capturewriter.h"
#include "core/capture/harimport.h"
#include "core/capture/replayagainst.h"
#include "core/capture/replaysession.h"
#include "core/cli/outputfile.h"
#include "core/document/foldcommand.h"
#include "core/faults/faultwatch.h"
#include "core/protocol/envelope.h"
#include "core/protocol/protocolclient.h"
#include "core/session/incidentanalyzer.h"
#include "core/session/incidentsummary.h"
#include "core/session/livesession.h"
#include "core/session/watchcommand.h"
#include "core/version.h"

#include <QCommandLineParser>
#include <QBuffer>
#include <QDateTime>
#include <QDir>
#include <QEventLoop>
#include <QFile>
#include <QFileInfo>
#include <QJsonDocument>
#include <QJsonObject>
#include <QTimeZone>

#include <algorithm>
#include <map>

namespace deltascope::cli {

namespace {

// What each command's exit codes mean, printed at the end of its --help (the codes are cli.h's).
const char* const kRecordExitCodes = "Exit codes: 0 normal end (stream ended, --duration, Ctrl-C or SIGTERM), 1 the capture cannot be written\n"
                                     "(or --overwrite kept the old file because no document came; or, with --fault/--plan, a fault never\n"
                                     "acted), 2 usage, 4 could not connect, 5 the stream failed with a code not retried, or --duration\n"
                                     "ended a run whose document never arrived (every connection/create failed). With --expect: 0 met,\n"
                                     "6 not met, whatever the stream did (see --expect).\n";
const char* const kReplayExitCodes = "Exit codes: 0 ok (with --against: the documents are equal; damaged lines are skipped, each named on\n"
                                     "stderr), 1 the capture cannot be read, damage lost every event, or the replay failed, 2 usage,\n"
                                     "4 with --against: could not connect, 5 with --against: the server refused the new stream (a\n"
                                     "failure that is not retried), 7 with --against: the documents differ.\n";
const char* const kExportExitCodes = "Exit codes: 0 ok (damaged lines are skipped, each named on stderr), 1 the capture cannot be read, holds\n"
                                     "no events (or damage lost them all), or the output cannot be written, 2 usage.\n";
const char* const kImportExitCodes = "Exit codes: 0 ok, 1 the HAR cannot be read or holds no WebSocket messages, or a capture cannot\n"
                                     "be written, 2 usage.\n";
const char* const kInfoExitCodes = "Exit codes: 0 ok, 1 the capture cannot be read, 2 usage.\n";

// Parses `arguments` for `command`; on --help prints it (ending with `exitCodes`) and sets
// `exitCode` to 0, on an error prints it and sets `exitCode` to ExitUsage. Returns true when the
// command should run.
bool parseArguments(QCommandLineParser& parser, const QString& command, const char* exitCodes, const QStringList& arguments, CommandIo& io,
    int& exitCode)
{
    const QCommandLineOption help({ QStringLiteral("h"), QStringLiteral("help") }, QStringLiteral("Show this help."));
    parser.addOption(help);
    if (!parser.parse(QStringList { QStringLiteral("deltascope-cli ") + command } + arguments)) {
        io.err << usageError(QStringLiteral("deltascope-cli ") + command, parser.errorText());
        exitCode = ExitUsage;
        return false;
    }
    if (parser.isSet(help)) {
        io.out << helpText(parser, QStringLiteral("deltascope-cli ") + command) << '\n' << exitCodes;
        exitCode = ExitOk;
        return false;
    }
    return true;
}

// Opens a capture and prints its notices to err. Returns null (and prints why) on failure.
std::unique_ptr<Capture> openCapture(const QString& command, const QString& path, CommandIo& io, bool checkpoints = true)
{
    CaptureOpenOptions options;
    if (!checkpoints)
        options.checkpointInterval = 0;
    QString error;
    std::unique_ptr<Capture> capture = CaptureReader::open(path, options, &error);
    if (!capture) {
        io.err << "deltascope-cli " << command << ": " << error << '\n';
        return nullptr;
    }
    for (const QString& notice : capture->notices())
        io.err << "deltascope-cli " << command << ": " << path << ": " << notice << '\n';
    return capture;
}

// The refusal to replace a capture at `path` without --overwrite: a capture is a recording that
// cannot be made again. Other files (an older export) are replaced as asked.
QString replacedCaptureProblem(const QString& option, const QString& path)
{
    return isCaptureFile(path) ? existingFileProblem(option, path, QStringLiteral("a capture already (a recording cannot be made again)")) : QString();
}

bool parseIndex(const QString& text, qint64& out)
{
    bool ok = false;
    out = text.toLongLong(&ok);
    return ok && out >= 0;
}

QString summarize(const EventLog& log, qint64 index)
{
    const SessionEvent& event = log.at(index);
    const QByteArray payload = log.payload(index);
    QString text;
    switch (event.kind) {
    case EventKind::StreamItem: {
        const StreamDelta delta = extractStreamDelta(payload);
        text = delta.hasData ? QString::fromUtf8(delta.data.data(), qsizetype(delta.data.size())) : QString::fromUtf8(payload);
        break;
    }
    case EventKind::Request:
    case EventKind::Response:
    case EventKind::StreamDone:
    case EventKind::Failure:
        text = log.method(index) + QLatin1Char(' ') + QString::fromUtf8(payload);
        break;
    default:
        text = QString::fromUtf8(payload);
    }
    if (text.size() > 120)
        text = text.left(117) + QStringLiteral("...");
    return text;
}

QString formatEvent(const EventLog& log, qint64 index)
{
    const SessionEvent& event = log.at(index);
    const qint64 gapMs = index > 0 ? (event.monotonicNs - log.at(index - 1).monotonicNs) / 1000000 : 0;
    QString ids;
    if (event.requestId >= 0)
        ids = QStringLiteral("id %1").arg(event.requestId);
    if (event.seq >= 0)
        ids += (ids.isEmpty() ? QString() : QStringLiteral(" ")) + QStringLiteral("seq %1").arg(event.seq);
    const QString time = QDateTime::fromMSecsSinceEpoch(event.wallMs, QTimeZone::utc()).toString(QStringLiteral("HH:mm:ss.zzz"));
    return QStringLiteral("#%1 %2 %3 %4 %5 %6  %7")
        .arg(QString::number(index).leftJustified(7), time, QStringLiteral("+%1ms").arg(gapMs).rightJustified(8),
            directionName(event.direction).leftJustified(5), eventKindName(event.kind).leftJustified(17), ids.leftJustified(16),
            summarize(log, index));
}

// A folder's last seq as the replay and fold summaries print it: an epoch may not have seen one yet.
QString seqText(qint64 seq)
{
    return seq >= 0 ? QStringLiteral("seq %1").arg(seq) : QStringLiteral("no seq seen yet in this epoch");
}

QString formatBytes(qint64 bytes)
{
    if (bytes < 10 * 1024)
        return QStringLiteral("%1 B").arg(bytes);
    if (bytes < 10 * 1024 * 1024)
        return QStringLiteral("%1 KiB").arg(double(bytes) / 1024.0, 0, 'f', 1);
    return QStringLiteral("%1 MiB").arg(double(bytes) / (1024.0 * 1024.0), 0, 'f', 1);
}

// --- record -----------------------------------------------------------------------------------

int runRecord(const QStringList& commandArguments, CommandIo& io)
{
    // Fault injection options (--plan, --fault, --report, --expect) as watch takes them: the
    // faults and their incidents go into the capture with everything else.
    QStringList arguments = commandArguments;
    faults::FaultWatchOptions faultOptions;
    QString error;
    if (!faults::extractFaultWatchOptions(arguments, faultOptions, error)) {
        io.err << usageError(QStringLiteral("deltascope-cli record"), error);
        return ExitUsage;
    }
    QCommandLineParser parser;
    parser.setApplicationDescription(QStringLiteral("Connect to a document like 'watch' and record the session into a capture file."));
    WatchOptions::addOptions(parser);
    parser.addOptions({
        { QStringLiteral("out"), QStringLiteral("Capture file to write (.ndjson, or .ndjson.zst for zstd). Default: a dated file in the captures folder "
                                         "the window also uses (%1).")
                                 .arg(QDir::toNativeSeparators(CaptureWriter::capturesFolder())),
            QStringLiteral("file") },
        { QStringLiteral("overwrite"), QStringLiteral("Replace the --out file if it exists, once the document arrives (a recording cannot be made again, so it is "
                                                      "kept by default, and kept when the connection or the stream fails).") },
        { QStringLiteral("keep-identity"), QStringLiteral("Store the identity token in the capture (it is removed by default).") },
        { QStringLiteral("notes"), QStringLiteral("Free text stored in the capture header."), QStringLiteral("text") },
        { QStringLiteral("no-verify"), QStringLiteral("Do not check incidents against a fresh snapshot over a second connection (it joins "
                                                      "the document as the same identity, so it runs the document's @connected and @disconnected).") },
    });
    int exitCode = ExitOk;
    const QByteArray helpTail = (faults::faultWatchHelp().trimmed() + QStringLiteral("\n\n") + QString::fromLatin1(kRecordExitCodes)).toUtf8();
    if (!parseArguments(parser, QStringLiteral("record"), helpTail.constData(), arguments, io, exitCode))
        return exitCode;
    WatchOptions options;
    if (!WatchOptions::fromParser(parser, options, error)) {
        io.err << "deltascope-cli record: " << error << '\n';
        return ExitUsage;
    }
    options.command = QStringLiteral("record");
    if (faultOptions.active() && parser.isSet(QStringLiteral("no-verify"))) {
        io.err << "deltascope-cli record: --no-verify cannot go with fault injection: a fault's verdict rests on that check\n";
        return ExitUsage;
    }
    QString path = parser.value(QStringLiteral("out"));
    if (parser.isSet(QStringLiteral("out")) && (path.isEmpty() || path == QLatin1String("-"))) {
        io.err << "deltascope-cli record: --out needs a file name: a capture is written to a file as the session goes (standard "
                  "output is not one); omit --out for a dated file in the captures folder\n";
        return ExitUsage;
    }
    if (const QString problem = existingFileProblem(QStringLiteral("--out"), path); !problem.isEmpty() && !parser.isSet(QStringLiteral("overwrite"))) {
        io.err << "deltascope-cli record: " << problem << '\n';
        return ExitUsage;
    }
    const bool reservedPath = path.isEmpty();
    if (reservedPath)
        path = CaptureWriter::newCapturePath(CaptureWriter::capturesFolder(), options.target.space, options.target.key);

    capture::Header header;
    header.tool = QStringLiteral("deltascope-cli %1").arg(QString::fromLatin1(kVersion));
    header.startedWallMs = QDateTime::currentMSecsSinceEpoch();
    header.endpoint = options.target.url.toString(QUrl::RemoveUserInfo); // the server's, also behind a fault proxy
    header.space = options.target.space;
    header.key = options.target.key;
    header.identity = options.target.identity;
    header.notes = parser.value(QStringLiteral("notes"));
    CaptureWriterOptions writerOptions;
    writerOptions.path = path;
    writerOptions.keepIdentity = parser.isSet(QStringLiteral("keep-identity"));
    writerOptions.identities = { options.target.identity };
    writerOptions.createFolder = reservedPath; // --out names a file in a folder that must exist
    // --overwrite: the old capture goes only once this session has a document to record.
    writerOptions.keepExistingUntilDocument = parser.isSet(QStringLiteral("overwrite"));
    std::unique_ptr<CaptureWriter> writer;
    // The capture opens on the session's log before anything connects, and closes once the
    // incidents' reports are in it, before its end record.
    const auto startWriting = [&](WatchRunner& runner) -> std::optional<int> {
        writer = std::make_unique<CaptureWriter>(&runner.session().log(), header, writerOptions);
        QString why;
        if (!writer->start(&why)) {
            if (reservedPath)
                CaptureWriter::releaseCapturePath(path);
            io.err << "deltascope-cli record: " << why << '\n';
            return int(ExitFailure);
        }
        io.err << "deltascope-cli record: recording to " << path
               << (writer->keptExisting() ? " (the file there is replaced when the document arrives)" : "") << '\n';
        io.err.flush();
        return std::nullopt;
    };
    const auto finishWriting = [&](int code, const IncidentAnalyzer& analyzer) {
        writer->stop();
        if (writer->keptExisting()) {
            io.err << "deltascope-cli record: " << path << " was kept as it was: no document came, so this session ("
                   << writer->eventsWritten() << " events) was not written over it\n";
            return code == ExitOk || code == ExitExpectationFailed ? int(ExitFailure) : code;
        }
        if (!writer->errorString().isEmpty()) {
            io.err << "deltascope-cli record: " << writer->errorString() << '\n';
            return code == ExitOk || code == ExitExpectationFailed ? int(ExitFailure) : code;
        }
        io.err << "deltascope-cli record: " << writer->eventsWritten() << " events written to " << path << " ("
               << formatBytes(writer->bytesWritten()) << (writerOptions.keepIdentity ? ", identity kept" : ", identity removed") << ", "
               << analyzer.incidents().size() << (analyzer.incidents().size() == 1 ? " incident" : " incidents") << ")\n";
        return code;
    };
    if (faultOptions.active()) {
        faults::FaultWatchHooks hooks;
        hooks.command = QStringLiteral("record");
        hooks.beforeRun = [&](WatchRunner& runner, IncidentAnalyzer&) { return startWriting(runner); };
        hooks.afterRun = finishWriting;
        const int code = faults::runFaultWatch(options, faultOptions, io, hooks);
        if (!writer && reservedPath)
            CaptureWriter::releaseCapturePath(path); // stopped before the session (a plan that does not load)
        return code;
    }

    WatchRunner runner(options, io.out, io.err);
    if (const std::optional<int> stop = startWriting(runner))
        return *stop;
    // Every incident (a drop, a stall, a resync) is analysed into the capture as the window does,
    // so a replay or an export of it has them.
    LiveSession& session = runner.session();
    IncidentAnalyzer analyzer(&session.log());
    analyzer.setTreeSource(&session.folder());
    if (!parser.isSet(QStringLiteral("no-verify"))) {
        analyzer.setShadowTarget(options.target);
        analyzer.setShadowInsecure(options.insecure);
        // A check connects with the viewer state the client holds now (a document may push one).
        QObject::connect(&session.client(), &ProtocolClient::viewerStateChanged, &analyzer,
            [&analyzer, truth = options.target](const QByteArray& json) mutable {
                truth.viewerState = json;
                analyzer.setShadowTarget(truth);
            });
    }
    analyzer.setClock([clock = &session.clock()] { return clock->nowNs(); });
    // The incident's report goes into the capture before the end record.
    const int code = runner.run([&analyzer] { analyzer.finishWithin(6000); });
    return finishWriting(code, analyzer);
}

// --- replay -----------------------------------------------------------------------------------

int runReplay(const QStringList& arguments, CommandIo& io)
{
    QCommandLineParser parser;
    parser.setApplicationDescription(QStringLiteral("Replay a capture: print its events as they are folded and the document at the end.\n"
                                                    "With --against, send the recorded requests to a live server again and compare."));
    parser.addPositionalArgument(QStringLiteral("file"), QStringLiteral("Capture file (.ndjson or .ndjson.zst)."));
    parser.addOptions({
        { QStringLiteral("to"), QStringLiteral("Stop after this event index."), QStringLiteral("event") },
        { QStringLiteral("to-seq"), QStringLiteral("Stop at the first stream item with this seq (with --to too: whichever comes first)."), QStringLiteral("seq") },
        { QStringLiteral("speed"), QStringLiteral("Play at this multiple of real time (0.25 to 50); default as fast as possible."), QStringLiteral("x") },
        { QStringLiteral("no-skip-idle"), QStringLiteral("With --speed: play gaps of over 1 s in full (by default each plays as 1 s of the recording).") },
        { QStringLiteral("quiet"), QStringLiteral("Do not print each event.") },
        { QStringLiteral("no-document"), QStringLiteral("Do not print the document at the end.") },
        { QStringLiteral("against"), QStringLiteral("Re-issue the recorded requests against this live endpoint and diff the documents."), QStringLiteral("url") },
        { QStringLiteral("identity"), QStringLiteral("With --against: identity to connect with (default: the capture's, else anonymous:deltascope-replay)."), QStringLiteral("identity") },
        { QStringLiteral("space"), QStringLiteral("With --against: space (default: the capture's)."), QStringLiteral("space") },
        { QStringLiteral("key"), QStringLiteral("With --against: key (default: the capture's)."), QStringLiteral("key") },
        { QStringLiteral("original-timing"), QStringLiteral("With --against: keep the recorded spacing between requests instead of sending each after the previous answer.") },
        { QStringLiteral("out"), QStringLiteral("With --against: record the new session into this capture file."), QStringLiteral("file") },
        { QStringLiteral("overwrite"), QStringLiteral("With --out: replace the file if it exists (a recording cannot be made again, so it is kept by default).") },
        { QStringLiteral("ignore"),
            QStringLiteral("With --against: leave differences at this path and below out of the verdict (repeatable; '*' and '?' match within "
                           "a segment, e.g. lines/*/when). Exit code 7 when other differences remain."),
            QStringLiteral("path") },
    });
    int exitCode = ExitOk;
    if (!parseArguments(parser, QStringLiteral("replay"), kReplayExitCodes, arguments, io, exitCode))
        return exitCode;
    const QStringList positional = parser.positionalArguments();
    if (positional.size() != 1) {
        io.err << "deltascope-cli replay: expected one capture file\n";
        return ExitUsage;
    }
    if (!parser.isSet(QStringLiteral("against"))) {
        for (const char* option : { "identity", "space", "key", "original-timing", "out", "overwrite", "ignore" }) {
            if (parser.isSet(QLatin1String(option))) {
                io.err << "deltascope-cli replay: --" << option << " only applies with --against URL\n";
                return ExitUsage;
            }
        }
    } else {
        // --against re-issues every recorded request and diffs the end documents: a point to stop
        // at or a playing speed would be silently ignored.
        for (const char* option : { "to", "to-seq", "speed", "no-skip-idle", "no-document" }) {
            if (parser.isSet(QLatin1String(option))) {
                const bool document = std::string_view(option) == "no-document";
                io.err << "deltascope-cli replay: --" << option << " does not apply with --against ("
                       << (document ? "what it prints is how the new document differs from the recorded one"
                                    : "it re-issues all the recorded requests")
                       << ")\n";
                return ExitUsage;
            }
        }
    }
    if (parser.isSet(QStringLiteral("overwrite")) && !parser.isSet(QStringLiteral("out"))) {
        io.err << "deltascope-cli replay: --overwrite only applies with --out\n";
        return ExitUsage;
    }
    if (parser.isSet(QStringLiteral("no-skip-idle")) && !parser.isSet(QStringLiteral("speed"))) {
        io.err << "deltascope-cli replay: --no-skip-idle only applies with --speed\n";
        return ExitUsage;
    }
    qint64 stopAt = -1;
    if (parser.isSet(QStringLiteral("to")) && !parseIndex(parser.value(QStringLiteral("to")), stopAt)) {
        io.err << "deltascope-cli replay: --to: '" << parser.value(QStringLiteral("to")) << "' is not an event index\n";
        return ExitUsage;
    }
    qint64 toSeq = -1;
    if (parser.isSet(QStringLiteral("to-seq")) && !parseIndex(parser.value(QStringLiteral("to-seq")), toSeq)) {
        io.err << "deltascope-cli replay: --to-seq: '" << parser.value(QStringLiteral("to-seq")) << "' is not a seq\n";
        return ExitUsage;
    }
    double speed = 0;
    if (parser.isSet(QStringLiteral("speed"))) {
        bool ok = false;
        speed = parser.value(QStringLiteral("speed")).toDouble(&ok);
        if (!ok || !(speed >= ReplaySession::kMinSpeed && speed <= ReplaySession::kMaxSpeed)) { // NaN too
            io.err << "deltascope-cli replay: --speed: '" << parser.value(QStringLiteral("speed")) << "' is not between 0.25 and 50\n";
            return ExitUsage;
        }
    }
    std::unique_ptr<Capture> capture = openCapture(QStringLiteral("replay"), positional.first(), io);
    if (!capture)
        return ExitFailure;
    const QString path = capture->path;

    if (parser.isSet(QStringLiteral("against"))) {
        DocumentTarget target;
        target.url = QUrl(parser.value(QStringLiteral("against")));
        if (!target.url.isValid() || (target.url.scheme() != QLatin1String("ws") && target.url.scheme() != QLatin1String("wss"))) {
            io.err << "deltascope-cli replay: --against: '" << parser.value(QStringLiteral("against")) << "' is not a ws:// or wss:// URL\n";
            return ExitUsage;
        }
        target.space = parser.isSet(QStringLiteral("space")) ? parser.value(QStringLiteral("space")) : capture->header.space;
        target.key = parser.isSet(QStringLiteral("key")) ? parser.value(QStringLiteral("key")) : capture->header.key;
        target.identity = parser.isSet(QStringLiteral("identity")) ? parser.value(QStringLiteral("identity"))
            : !capture->header.identity.isEmpty()                 ? capture->header.identity
                                                                  : QStringLiteral("anonymous:deltascope-replay");
        if (target.space.isEmpty() || target.key.isEmpty()) {
            io.err << "deltascope-cli replay: the capture names no space/key; pass --space and --key\n";
            return ExitUsage;
        }
        const Capture& recorded = *capture;
        ReplayAgainst against(recorded, target,
            parser.isSet(QStringLiteral("original-timing")) ? ReplayAgainst::Timing::Original : ReplayAgainst::Timing::InOrder);
        const QStringList ignoredPaths = parser.values(QStringLiteral("ignore"));
        if (std::any_of(ignoredPaths.begin(), ignoredPaths.end(), [](const QString& p) { return p.trimmed().isEmpty(); })) {
            io.err << "deltascope-cli replay: --ignore needs a path (e.g. --ignore lines/*/when); an empty one ignores nothing\n";
            return ExitUsage;
        }
        against.setIgnoredPaths(ignoredPaths);
        std::unique_ptr<CaptureWriter> writer;
        if (parser.isSet(QStringLiteral("out")) && isSameFile(parser.value(QStringLiteral("out")), path)) {
            io.err << "deltascope-cli replay: --out " << parser.value(QStringLiteral("out")) << " is the capture being replayed; choose another file\n";
            return ExitUsage;
        }
        if (const QString problem = existingFileProblem(QStringLiteral("--out"), parser.value(QStringLiteral("out")));
            !problem.isEmpty() && !parser.isSet(QStringLiteral("overwrite"))) {
            io.err << "deltascope-cli replay: " << problem << '\n';
            return ExitUsage;
        }
        if (parser.isSet(QStringLiteral("out"))) {
            capture::Header header = recorded.header;
            header.tool = QStringLiteral("deltascope-cli %1").arg(QString::fromLatin1(kVersion));
            header.startedWallMs = QDateTime::currentMSecsSinceEpoch();
            header.endpoint = target.url.toString(QUrl::RemoveUserInfo);
            // The document the new session joined (--space and --key may name another).
            header.space = target.space;
            header.key = target.key;
            header.identity = target.identity;
            header.source = QStringLiteral("replay-against");
            header.notes = QStringLiteral("requests of %1 re-issued against %2").arg(path, header.endpoint);
            CaptureWriterOptions options;
            options.path = parser.value(QStringLiteral("out"));
            options.identities = { target.identity };
            options.createFolder = false;
            writer = std::make_unique<CaptureWriter>(&against.session().log(), header, options);
            QString error;
            if (!writer->start(&error)) {
                io.err << "deltascope-cli replay: " << error << '\n';
                return ExitFailure;
            }
        }
        QEventLoop loop;
        bool ok = false;
        QString message;
        QObject::connect(&against, &ReplayAgainst::responseReceived, &loop, [&](qint64 recordedIndex, qint64 newIndex) {
            const EventLog& newLog = against.session().log();
            const qint64 oldResponse = recorded.log->at(recordedIndex).linkedIndex;
            io.out << "request #" << recordedIndex << ": recorded "
                   << (oldResponse > recordedIndex ? QString::fromUtf8(recorded.log->payload(oldResponse)) : QStringLiteral("(no response)"))
                   << "\n    now " << QString::fromUtf8(newLog.payload(newIndex)) << '\n';
            io.out.flush();
        });
        QObject::connect(&against, &ReplayAgainst::finished, &loop, [&](bool success, const QString& text) {
            ok = success;
            message = text;
            loop.quit();
        });
        against.start();
        loop.exec();
        against.session().stop();
        if (writer)
            writer->stop();
        if (!ok && !against.streamStarted()) {
            // No document came: there is nothing to compare, only why.
            io.err << "deltascope-cli replay: --against: " << message << '\n';
            return against.failure() == ReplayAgainst::Failure::CouldNotConnect ? ExitConnectFailed
                : against.failure() == ReplayAgainst::Failure::StreamFailed  ? ExitFatalStream
                                                                             : ExitFailure;
        }
        (ok ? io.out : io.err) << "replay against " << target.url.toString(QUrl::RemoveUserInfo) << ": " << message << '\n';
        const TreeDiff& diff = against.diff();
        for (const QString& p : diff.added)
            io.out << "  + " << p << " (only in the new document)\n";
        for (const QString& p : diff.removed)
            io.out << "  - " << p << " (only in the recorded document)\n";
        // A changed value, as each document holds it (cut short: a long string is not the point).
        const auto valueAt = [](const DocumentTree& tree, const QString& path) {
            const NodeId node = tree.find(path);
            if (node == kNoNode)
                return QStringLiteral("(absent)");
            const QString json = QString::fromUtf8(tree.toJson(node, false));
            return json.size() > 60 ? json.left(57) + QStringLiteral("...") : json;
        };
        for (const QString& p : diff.changed)
            io.out << "  ~ " << p << ": " << valueAt(against.recordedTree(), p) << " recorded, " << valueAt(against.session().folder().epochTree(), p)
                   << " now\n";
        for (const TreeDiff::Move& move : diff.moved)
            io.out << "  > " << move.listPath << '/' << move.elementKey << " row " << move.fromRow << " -> " << move.toRow << '\n';
        const TreeDiff& ignored = against.ignoredDifferences();
        for (const QStringList* paths : { &ignored.added, &ignored.removed, &ignored.changed })
            for (const QString& p : *paths)
                io.out << "  = " << p << " (ignored)\n";
        for (const TreeDiff::Move& move : ignored.moved)
            io.out << "  = " << move.listPath << '/' << move.elementKey << " (moved; ignored)\n";
        if (!ok)
            return against.failure() == ReplayAgainst::Failure::StreamFailed ? ExitFatalStream : ExitFailure;
        return against.documentsEqual() ? ExitOk : ExitDocumentsDiffer;
    }

    ReplaySession replay(std::move(capture));
    const EventLog& log = replay.log();
    if (stopAt >= log.size()) {
        io.err << "deltascope-cli replay: --to " << stopAt << ": the capture has events 0.." << log.size() - 1 << '\n';
        return ExitUsage;
    }
    if (toSeq >= 0) {
        qint64 found = -1;
        for (const qint64 item : log.indexesOfKind(EventKind::StreamItem)) {
            if (log.at(item).seq == toSeq) {
                found = item;
                break;
            }
        }
        if (found < 0) {
            io.err << "deltascope-cli replay: --to-seq " << toSeq << ": no stream item in " << path << " carries that seq\n";
            return ExitUsage;
        }
        stopAt = stopAt >= 0 ? std::min(stopAt, found) : found;
    }
    const bool quiet = parser.isSet(QStringLiteral("quiet"));
    qint64 printed = -1;
    auto printUpTo = [&](qint64 position) {
        if (quiet)
            return;
        for (qint64 i = printed + 1; i <= position; ++i)
            io.out << formatEvent(log, i) << '\n';
        printed = std::max(printed, position);
        io.out.flush();
    };
    if (log.size() > 0) {
        if (speed > 0) {
            QEventLoop loop;
            QObject::connect(&replay, &ReplaySession::positionChanged, &loop, printUpTo);
            QObject::connect(&replay, &ReplaySession::finished, &loop, &QEventLoop::quit);
            replay.setStopAt(stopAt);
            replay.setSkipIdleGaps(!parser.isSet(QStringLiteral("no-skip-idle")));
            replay.play(speed);
            if (replay.isPlaying())
                loop.exec();
        } else {
            const qint64 last = stopAt >= 0 ? stopAt : log.size() - 1;
            while (replay.position() < last) {
                replay.stepForward();
                printUpTo(replay.position());
            }
        }
    }
    const qint64 anomalies = replay.capture().checkpoints ? replay.capture().checkpoints->anomalyCount() : 0;
    if (log.size() == 0 && replay.capture().lostPlaces > 0) {
        // Not an empty recording: what was recorded is there but unreadable (export says the same).
        io.err << "deltascope-cli replay: " << replay.capture().path << ": damage lost every event (described above); nothing to replay\n";
        return ExitFailure;
    }
    if (log.size() == 0)
        io.err << "deltascope-cli replay: the capture holds no events; the document is empty\n";
    else
        io.err << "deltascope-cli replay: at event " << replay.position() << " of " << log.size() << ", epoch " << replay.folder().epoch()
               << ", " << seqText(replay.folder().lastSeq()) << ", " << anomalies << " anomalies in the whole capture\n";
    if (!parser.isSet(QStringLiteral("no-document"))) {
        writeUtf8(io.out, replay.folder().epochTree().toJson(true));
        io.out << '\n';
    }
    return ExitOk;
}

// --- export -----------------------------------------------------------------------------------

int runExport(const QStringList& arguments, CommandIo& io)
{
    QCommandLineParser parser;
    parser.setApplicationDescription(QStringLiteral("Export a capture (or a range of it) as HAR, an NDJSON delta log, a Markdown bug report,\n"
                                                    "or a trimmed capture. Identity tokens and --redact paths are redacted unless --no-redact."));
    parser.addPositionalArgument(QStringLiteral("file"), QStringLiteral("Capture file."));
    parser.addOptions({
        { QStringLiteral("format"), QStringLiteral("har, ndjson, markdown or capture."), QStringLiteral("format") },
        { QStringLiteral("from"), QStringLiteral("First event of the range (default 0)."), QStringLiteral("event") },
        { QStringLiteral("to"), QStringLiteral("Last event of the range (default the last)."), QStringLiteral("event") },
        { QStringLiteral("redact"), QStringLiteral("Comma-separated JSON paths whose values are redacted ('*' matches one segment), e.g. players/*/email."),
            QStringLiteral("paths") },
        { QStringLiteral("no-redact"), QStringLiteral("Keep identity tokens and all values.") },
        { { QStringLiteral("o"), QStringLiteral("output") }, QStringLiteral("Output file ('-' for standard output; a name ending in .zst is compressed); required."), QStringLiteral("file") },
        { QStringLiteral("overwrite"), QStringLiteral("Replace the output file even if it is a capture (other files are replaced anyway).") },
    });
    int exitCode = ExitOk;
    if (!parseArguments(parser, QStringLiteral("export"), kExportExitCodes, arguments, io, exitCode))
        return exitCode;
    const QStringList positional = parser.positionalArguments();
    if (positional.size() != 1) {
        io.err << "deltascope-cli export: expected one capture file\n";
        return ExitUsage;
    }
    const QString format = parser.value(QStringLiteral("format"));
    ExportFormat exportFormat = ExportFormat::Har;
    if (!exportFormatFromName(format, exportFormat)) {
        io.err << "deltascope-cli export: --format must be har, ndjson, markdown or capture"
               << (format.isEmpty() ? QString() : QStringLiteral(" (not '%1')").arg(format)) << '\n';
        return ExitUsage;
    }
    const QString output = parser.value(QStringLiteral("output"));
    if (output.isEmpty()) {
        io.err << "deltascope-cli export: -o FILE is required ('-' for standard output)\n";
        return ExitUsage;
    }
    if (output != QLatin1String("-") && isSameFile(output, positional.first())) {
        io.err << "deltascope-cli export: -o " << output << " is the capture being exported; choose another file\n";
        return ExitUsage;
    }
    if (const QString problem = replacedCaptureProblem(QStringLiteral("-o"), output); !problem.isEmpty() && !parser.isSet(QStringLiteral("overwrite"))) {
        io.err << "deltascope-cli export: " << problem << '\n';
        return ExitUsage;
    }
    ExportOptions options;
    if (parser.isSet(QStringLiteral("from")) && !parseIndex(parser.value(QStringLiteral("from")), options.from)) {
        io.err << "deltascope-cli export: --from: '" << parser.value(QStringLiteral("from")) << "' is not an event index\n";
        return ExitUsage;
    }
    if (parser.isSet(QStringLiteral("to")) && !parseIndex(parser.value(QStringLiteral("to")), options.to)) {
        io.err << "deltascope-cli export: --to: '" << parser.value(QStringLiteral("to")) << "' is not an event index\n";
        return ExitUsage;
    }
    options.redact = !parser.isSet(QStringLiteral("no-redact"));
    for (const QString& value : parser.values(QStringLiteral("redact")))
        options.redactPaths += value.split(QLatin1Char(','), Qt::SkipEmptyParts);
    if (!options.redact && !options.redactPaths.isEmpty()) {
        io.err << "deltascope-cli export: --redact and --no-redact contradict each other\n";
        return ExitUsage;
    }
    if (options.to >= 0 && options.from > options.to) {
        io.err << "deltascope-cli export: --from " << options.from << " is after --to " << options.to << '\n';
        return ExitUsage;
    }
    std::unique_ptr<Capture> capture = openCapture(QStringLiteral("export"), positional.first(), io);
    if (!capture)
        return ExitFailure;
    const qint64 events = capture->log->size();
    if (events == 0) {
        io.err << "deltascope-cli export: " << capture->path << " holds no events; nothing to export\n";
        return ExitFailure;
    }
    for (const auto& [option, index] : { std::pair { "--from", options.from }, std::pair { "--to", options.to } }) {
        if (index >= events) {
            io.err << "deltascope-cli export: " << option << ' ' << index << " is past the end: the capture has events 0.." << events - 1 << '\n';
            return ExitUsage;
        }
    }

    QByteArray bytes;
    QBuffer buffer(&bytes);
    buffer.open(QIODevice::WriteOnly);
    const ExportResult result = exportCapture(*capture, exportFormat, options, buffer);
    if (!result.ok) {
        io.err << "deltascope-cli export: " << result.error << '\n';
        return ExitFailure;
    }
    if (output == QLatin1String("-")) {
        io.out << QString::fromUtf8(bytes);
    } else {
        if (capture::namesZstdFile(output))
            bytes = capture::compressZstd(bytes); // as the name says, and as record writes ".zst"
        QString error;
        const auto writeBytes = [&bytes](QIODevice& device, QString*) { return device.write(bytes) == bytes.size(); };
        if (!writeOutputFile(output, writeBytes, &error)) {
            io.err << "deltascope-cli export: cannot write " << output << ": " << error << '\n';
            return ExitFailure;
        }
    }
    io.err << "deltascope-cli export: " << format << ", " << result.events << " items, " << formatBytes(bytes.size())
           << (output == QLatin1String("-") ? QString() : QStringLiteral(" -> ") + output) << '\n';
    for (const QString& line : result.redacted)
        io.err << "deltascope-cli export: redacted " << line << '\n';
    return ExitOk;
}

// --- import -----------------------------------------------------------------------------------

int runImport(const QStringList& arguments, CommandIo& io)
{
    QCommandLineParser parser;
    parser.setApplicationDescription(QStringLiteral("Import the WebSocket messages of a HAR file (Chrome DevTools, mitmproxy, HTTP Toolkit)\n"
                                                    "as captures: one per socket (OUT, then OUT-2, OUT-3, ... for more sockets)."));
    parser.addPositionalArgument(QStringLiteral("file"), QStringLiteral("HAR file."));
    parser.addOptions({
        { { QStringLiteral("o"), QStringLiteral("output") }, QStringLiteral("Capture file to write (a name ending in .zst is compressed); required."), QStringLiteral("file") },
        { QStringLiteral("overwrite"), QStringLiteral("Replace output files that are captures (other files are replaced anyway).") },
        { QStringLiteral("keep-identity"), QStringLiteral("Keep identity tokens found in the frames (removed by default).") },
    });
    int exitCode = ExitOk;
    if (!parseArguments(parser, QStringLiteral("import"), kImportExitCodes, arguments, io, exitCode))
        return exitCode;
    const QStringList positional = parser.positionalArguments();
    const QString output = parser.value(QStringLiteral("output"));
    if (positional.size() != 1 || output.isEmpty()) {
        io.err << "deltascope-cli import: usage: import FILE.har -o FILE\n";
        return ExitUsage;
    }
    if (output == QLatin1String("-")) {
        // A HAR may hold several sockets, each its own capture file (OUT, OUT-2, ...).
        io.err << "deltascope-cli import: -o needs a file name (each socket of the HAR becomes a capture file of its own), not '-'\n";
        return ExitUsage;
    }
    if (isSameFile(output, positional.first())) {
        io.err << "deltascope-cli import: -o " << output << " is the HAR file being imported; choose another file\n";
        return ExitUsage;
    }
    HarImportResult result = importHarFile(positional.first());
    if (!result.ok) {
        io.err << "deltascope-cli import: " << result.error << '\n';
        return ExitFailure;
    }
    for (const QString& notice : result.notices)
        io.err << "deltascope-cli import: " << notice << '\n';
    // Each socket with messages gets a file: -o's for the first, NAME-2.EXT, NAME-3.EXT... for the
    // next. All are checked against the input before any is written.
    std::vector<QString> paths(result.sessions.size());
    int named = 0;
    for (std::size_t s = 0; s < result.sessions.size(); ++s) {
        if (result.sessions[s].log->isEmpty())
            continue;
        QString path = output;
        if (named > 0) {
            const QFileInfo info(output);
            const QString name = info.fileName();
            const qsizetype dot = name.indexOf(QLatin1Char('.'));
            const QString base = dot > 0 ? name.left(dot) : name;
            const QString suffix = dot > 0 ? name.mid(dot) : QString();
            path = info.dir().filePath(QStringLiteral("%1-%2%3").arg(base).arg(named + 1).arg(suffix));
            if (isSameFile(path, positional.first())) {
                io.err << "deltascope-cli import: " << path << ", the file for socket " << (named + 1) << ", is the HAR file being imported; choose another -o\n";
                return ExitUsage;
            }
        }
        if (const QString problem = replacedCaptureProblem(named == 0 ? QStringLiteral("-o") : QStringLiteral("the file for socket %1,").arg(named + 1), path);
            !problem.isEmpty() && !parser.isSet(QStringLiteral("overwrite"))) {
            io.err << "deltascope-cli import: " << problem << '\n';
            return ExitUsage;
        }
        paths[s] = path;
        ++named;
    }
    int written = 0;
    for (std::size_t s = 0; s < result.sessions.size(); ++s) {
        ImportedSession& session = result.sessions[s];
        const QString& path = paths[s];
        for (const QString& notice : session.notices)
            io.err << "deltascope-cli import: " << notice << '\n';
        if (session.log->isEmpty())
            continue;
        const bool keepIdentity = parser.isSet(QStringLiteral("keep-identity"));
        const auto writeSession = [&session, keepIdentity, &path](QIODevice& device, QString* error) {
            if (!capture::namesZstdFile(path))
                return CaptureWriter::writeLog(*session.log, session.header, device, keepIdentity, error);
            // ".zst": compressed as the recorder's captures are (a HAR's sockets fit in memory).
            QByteArray text;
            QBuffer buffer(&text);
            buffer.open(QIODevice::WriteOnly);
            if (!CaptureWriter::writeLog(*session.log, session.header, buffer, keepIdentity, error))
                return false;
            const QByteArray compressed = capture::compressZstd(text);
            if (device.write(compressed) == compressed.size())
                return true;
            if (error)
                *error = device.errorString();
            return false;
        };
        QString error;
        if (!writeOutputFile(path, writeSession, &error)) {
            io.err << "deltascope-cli import: cannot write " << path << ": " << error << '\n';
            return ExitFailure;
        }
        ++written;
        // The handshake URL without its query values or credentials: this line ends up in logs.
        const QString shownEndpoint = keepIdentity ? session.header.endpoint : QString::fromUtf8(capture::redactUrl(session.header.endpoint.toUtf8()));
        io.err << "deltascope-cli import: entry " << session.entryIndex << " (" << shownEndpoint << "): " << session.frames
               << " frames, " << session.unknownFrames << " not Adama -> " << path << (session.header.partial ? " (starts mid-stream)" : "")
               << '\n';
    }
    if (written == 0) {
        io.err << "deltascope-cli import: no socket with messages in " << positional.first() << "; nothing written\n";
        return ExitFailure;
    }
    return ExitOk;
}

// --- info -------------------------------------------------------------------------------------

// The time from the first to the last event. An edited capture's times can go backwards (the
// reader says where), so it is the span from the earliest to the latest event, labelled as such
// when that is not first to last.
QString describeDuration(const EventLog& log)
{
    const EventTimeRange range = eventTimeRange(log, log.size());
    const QString text = QStringLiteral("%1 s").arg(double(range.span()) / 1e9, 0, 'f', 3);
    if (range.earliest == log.at(0).monotonicNs && range.latest == log.at(log.size() - 1).monotonicNs)
        return text;
    return text + QStringLiteral(" (earliest to latest event: times go backwards, see the diagnostics above)");
}

int runInfo(const QStringList& arguments, CommandIo& io)
{
    QCommandLineParser parser;
    parser.setApplicationDescription(QStringLiteral("Describe a capture: header, events by kind, epochs, incidents, anomalies, duration and size."));
    parser.addPositionalArgument(QStringLiteral("file"), QStringLiteral("Capture file."));
    int exitCode = ExitOk;
    if (!parseArguments(parser, QStringLiteral("info"), kInfoExitCodes, arguments, io, exitCode))
        return exitCode;
    const QStringList positional = parser.positionalArguments();
    if (positional.size() != 1) {
        io.err << "deltascope-cli info: expected one capture file\n";
        return ExitUsage;
    }
    std::unique_ptr<Capture> capture = openCapture(QStringLiteral("info"), positional.first(), io);
    if (!capture)
        return ExitFailure;
    const EventLog& log = *capture->log;
    const capture::Header& header = capture->header;
    auto line = [&](const char* label, const QString& value) { io.out << QString::fromLatin1(label).leftJustified(18) << value << '\n'; };
    line("file", capture->path);
    line("size", QStringLiteral("%1 (%2 lines%3)").arg(formatBytes(capture->fileSize)).arg(capture->lineCount)
                     .arg(capture->compressed ? QStringLiteral(", zstd") : QString()));
    line("format", QStringLiteral("%1.%2").arg(header.versionMajor).arg(header.versionMinor));
    line("recorded by", header.tool);
    line("source", header.source.isEmpty() ? QStringLiteral("record") : header.source);
    line("started", QDateTime::fromMSecsSinceEpoch(header.startedWallMs, QTimeZone::utc()).toString(Qt::ISODateWithMs));
    line("endpoint", header.endpoint);
    line("space / key", header.space + QStringLiteral(" / ") + header.key);
    line("identity", header.identityRemoved ? QStringLiteral("removed") : header.identity.isEmpty() ? QStringLiteral("none") : QStringLiteral("kept in the capture"));
    if (!header.notes.isEmpty())
        line("notes", header.notes);
    if (!header.redacted.isEmpty())
        line("redacted", header.redacted.join(QStringLiteral("; ")));
    line("closed cleanly", capture->closedCleanly    ? QStringLiteral("yes")
                               : capture->eventsAfterEndLine > 0 ? QStringLiteral("no (events follow its end record at line %1)").arg(capture->eventsAfterEndLine)
                                                                 : QStringLiteral("no (no end record)"));
    line("events", QString::number(log.size()));
    if (log.size() > 0)
        line("duration", describeDuration(log));
    QStringList versions;
    for (const qint64 index : log.indexesOfKind(EventKind::Hello)) {
        const QString version = decodeInbound(log.payload(index)).version;
        if (!versions.contains(version))
            versions << version;
    }
    line("server versions", versions.isEmpty() ? QStringLiteral("none seen") : versions.join(QStringLiteral(", ")));
    io.out << "by kind:\n";
    for (int k = 0; k < int(EventKind::Count_); ++k) {
        const qint64 count = qint64(log.indexesOfKind(EventKind(k)).size());
        if (!count)
            continue;
        io.out << "  " << eventKindName(EventKind(k)).leftJustified(18) << count;
        // The live session logs a reference-client quirk once per path and epoch; the replay fold
        // below counts every occurrence: say why the two numbers differ.
        if (EventKind(k) == EventKind::FoldAnomaly && capture->checkpoints && capture->checkpoints->anomalyCount() != count)
            io.out << "  (as logged live: a reference-client quirk once per path and epoch; the replay fold below counts each)";
        io.out << '\n';
    }
    const auto& epochs = log.indexesOfKind(EventKind::EpochStarted);
    io.out << "epochs: " << epochs.size() << '\n';
    for (const qint64 index : epochs) {
        const SessionEvent& event = log.at(index);
        io.out << "  epoch " << event.epoch << " at event " << index << ", connection/create id " << event.requestId
               << ((event.flags & FlagSynthetic) ? " (synthetic)" : "") << '\n';
    }
    const auto& incidents = log.indexesOfKind(EventKind::Incident);
    io.out << "incidents: " << incidents.size() << '\n';
    for (const qint64 index : incidents) {
        // The analysis as the window and the Markdown report word it, not its raw JSON.
        const QJsonObject report = QJsonDocument::fromJson(log.payload(index)).object();
        if (report.isEmpty()) {
            io.out << "  event " << index << ": " << summarize(log, index) << '\n';
            continue;
        }
        io.out << "  event " << index << ": incident #" << report.value(QLatin1String("incident")).toInteger() << '\n';
        for (const QString& line : incidentSummaryLines(report))
            io.out << "    " << line << '\n';
    }
    if (capture->checkpoints) {
        io.out << "replay fold: " << capture->checkpoints->foldedEvents() << " deltas folded, " << capture->checkpoints->anomalyCount()
               << " anomalies, " << capture->checkpoints->resyncs().size() << " resyncs, " << capture->checkpoints->count() << " checkpoints\n";
        std::map<QString, int> byKind;
        for (const SessionAnomaly& anomaly : capture->checkpoints->anomalies())
            ++byKind[anomaly.kind];
        for (const auto& [kind, count] : byKind)
            io.out << "  " << kind.leftJustified(28) << ' ' << count << '\n';
    }
    // Damage is what was lost or skipped; a recording that only lacks its end record is "closed
    // cleanly no" above. The notices themselves went to stderr when the capture was opened.
    // A last line cut off mid-write is what a recorder that stopped leaves, not damage (the
    // capture README): said on a line of its own.
    const qint64 damaged = capture->diagnosticCount;
    if (capture->truncatedTail)
        io.out << "cut off           the last line, mid-write (described on stderr)\n";
    if (capture->secondCaptureLine)
        io.out << "joined            another capture from line " << capture->secondCaptureLine << ", not read (described on stderr)\n";
    io.out << "damage: "
           << (damaged > 0                ? QStringLiteral("%1 (described on stderr)").arg(damaged)
                  : capture->truncatedTail ? QStringLiteral("none before the cut-off last line")
                                           : QStringLiteral("none"))
           << '\n';
    return ExitOk;
}

}

int foldCapture(const QString& path, qint64 atEvent, bool pretty, bool anomalies, bool referenceClient, bool keepGoing, CommandIo& io)
{
    std::unique_ptr<Capture> capture = openCapture(QStringLiteral("fold"), path, io);
    if (!capture)
        return ExitFailure;
    // Lost events (their notices are printed above) stop the fold as malformed lines of plain
    // NDJSON do. A tail cut off mid-line is what a recorder that crashed leaves, and notes that
    // lose nothing (a newer event kind, time going backwards) are only notes: those fold.
    if (capture->lostPlaces > 0 && !keepGoing) {
        io.err << "deltascope-cli fold: " << path << " lost events at " << capture->lostPlaces << (capture->lostPlaces == 1 ? " place" : " places")
               << (capture->compressedStreamDamaged ? " (its compressed stream is damaged)" : " (damaged or missing lines)")
               << "; stopped (use --keep-going to fold the events that were read)\n";
        return ExitUsage;
    }
    const EventLog& log = *capture->log;
    if (log.size() == 0) {
        io.err << "deltascope-cli fold: " << path << " holds no events; printed the empty document\n";
        writeUtf8(io.out, DocumentTree(referenceClient ? FoldMode::ReferenceClient : FoldMode::Canonical).toJson(pretty));
        io.out << '\n';
        return ExitOk;
    }
    if (atEvent >= log.size()) {
        // As for deltas: the whole of it, and a note.
        io.err << "deltascope-cli fold: " << path << " has only events 0.." << log.size() - 1 << " (asked --at " << atEvent
               << "); printed the document after all of them\n";
        atEvent = -1;
    }
    const qint64 at = atEvent < 0 ? log.size() - 1 : atEvent;
    SessionFolder folder;
    capture->checkpoints->waitUntilComplete(); // the anomalies below need the whole fold anyway
    capture->checkpoints->restore(folder, at);
    writeUtf8(io.out, (referenceClient ? folder.mergedTree() : folder.epochTree()).toJson(pretty));
    io.out << '\n';
    io.out.flush();
    qint64 count = 0;
    for (const SessionAnomaly& anomaly : capture->checkpoints->anomalies()) {
        if (anomaly.eventIndex > at)
            break;
        ++count;
        if (anomalies)
            io.err << path << ": event " << anomaly.eventIndex << ": " << anomaly.kind << " at '" << anomaly.path << "': " << anomaly.message << '\n';
    }
    io.err << "deltascope-cli fold: " << path << " at event " << at << " (epoch " << folder.epoch() << ", " << seqText(folder.lastSeq()) << "), "
           << count << " anomalies up to there\n";
    return anomalies && count > 0 ? ExitAnomalies : ExitOk;
}

Command recordCommand()
{
    return { QStringLiteral("record"), QStringLiteral("Watch a document and record the session into a capture file."), runRecord };
}

Command replayCommand()
{
    return { QStringLiteral("replay"), QStringLiteral("Replay a capture (to an event or seq, at a speed, or against a live server)."), runReplay };
}

Command exportCommand()
{
    return { QStringLiteral("export"), QStringLiteral("Export a capture as HAR, NDJSON delta log, Markdown report or trimmed capture."), runExport };
}

Command importCommand()
{
    return { QStringLiteral("import"), QStringLiteral("Import a HAR file's WebSocket messages as captures."), runImport };
}

Command infoCommand()
{
    return { QStringLiteral("info"), QStringLiteral("Describe a capture: header, counts by kind, epochs, incidents, duration, size."), runInfo };
}

}
