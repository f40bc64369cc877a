#include "core/session/watchcommand.h"

#include "core/faults/faultwatch.h"
#include "core/stopsignalguard.h"
#include "core/jsonstring.h"

#include "core/protocol/envelope.h"
#include "core/protocol/errorcodes.h"
#include "core/protocol/websockettransport.h"

#include <QDateTime>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>

#include <csignal>

namespace deltascope::cli {

namespace {
constexpr int kSummaryChars = 120;

QString truncated(const QString& text, int chars = kSummaryChars)
{
    QString single = text;
    single.replace(QLatin1Char('\n'), QLatin1Char(' '));
    return single.size() > chars ? single.left(chars - 3) + QStringLiteral("...") : single;
}

QJsonObject localFields(const QByteArray& payload)
{
    return QJsonDocument::fromJson(payload).object();
}

QStringList partNames(quint16 parts)
{
    static const std::pair<quint16, const char*> kNames[] = { { PartData, "data" }, { PartSeq, "seq" },
        { PartOutstanding, "outstanding" }, { PartBlockers, "blockers" }, { PartViewStateFilter, "view-state-filter" },
        { PartViewState, "viewstate" }, { PartLog, "log" }, { PartGoto, "goto" }, { PartViewport, "viewport" },
        { PartForceDisconnect, "force-disconnect" }, { PartReload, "reload" } };
    QStringList names;
    for (const auto& [bit, name] : kNames) {
        if (parts & bit)
            names << QString::fromLatin1(name);
    }
    return names;
}

QStringList flagNames(quint8 flags)
{
    QStringList names;
    if (flags & FlagRetryable)
        names << QStringLiteral("retryable");
    if (flags & FlagCorrupting)
        names << QStringLiteral("corrupting");
    if (flags & FlagSnapshot)
        names << QStringLiteral("snapshot");
    if (flags & FlagSynthetic)
        names << QStringLiteral("synthetic");
    return names;
}
}

// --- options ----------------------------------------------------------------------------------

void WatchOptions::addOptions(QCommandLineParser& parser)
{
    parser.addPositionalArgument(QStringLiteral("url"), QStringLiteral("Document endpoint, e.g. ws://127.0.0.1:7777/~s (or --url)."));
    parser.addOptions({
        // As the app takes it, so a command line moves between the two.
        { QStringLiteral("url"), QStringLiteral("Document endpoint, instead of the url argument."), QStringLiteral("URL") },
        { QStringLiteral("identity"), QStringLiteral("Identity token (e.g. anonymous:alice or a JWT); required."), QStringLiteral("I") },
        { QStringLiteral("space"), QStringLiteral("Space name; required."), QStringLiteral("S") },
        { QStringLiteral("key"), QStringLiteral("Document key; required."), QStringLiteral("K") },
        { QStringLiteral("viewer-state"), QStringLiteral("Viewer state, a JSON object."), QStringLiteral("JSON") },
        { QStringLiteral("duration"), QStringLiteral("Stop after this many seconds (default: until the stream ends or Ctrl-C)."), QStringLiteral("S") },
        { QStringLiteral("json"), QStringLiteral("Print events as NDJSON.") },
        { QStringLiteral("insecure"), QStringLiteral("wss: do not verify the server certificate (unsafe).") },
        { QStringLiteral("connect-timeout"), QStringLiteral("Give up (exit 4) without a hello after this many ms (default 10000)."), QStringLiteral("MS") },
        { QStringLiteral("reconnect"), QStringLiteral("Reconnect policy: reference (default), fixed:MS[:MAX], exponential:BASE:CAP[:MAX], none. "
                                                     "Delays in ms (1 to 86400000); MAX attempts in a row, 0 or left out for no limit."), QStringLiteral("POLICY") },
        { QStringLiteral("seed"), QStringLiteral("Seed for backoff jitter (default fixed)."), QStringLiteral("N") },
        { QStringLiteral("no-document"), QStringLiteral("Do not print the final document.") },
        { QStringLiteral("quiet"), QStringLiteral("Do not print events (only the final document).") },
    });
}

bool WatchOptions::fromParser(const QCommandLineParser& parser, WatchOptions& out, QString& error)
{
    QStringList positional = parser.positionalArguments();
    if (parser.isSet(QStringLiteral("url"))) {
        if (!positional.isEmpty()) {
            error = QStringLiteral("the URL is given twice: as --url and as the argument '%1'").arg(positional.first());
            return false;
        }
        positional << parser.value(QStringLiteral("url"));
    }
    if (positional.size() != 1) {
        error = positional.isEmpty() ? QStringLiteral("missing URL") : QStringLiteral("unexpected argument '%1'").arg(positional.value(1));
        return false;
    }
    out.target.url = QUrl(positional.first(), QUrl::StrictMode);
    if (!out.target.url.isValid() && !positional.first().isEmpty()) {
        // QUrl says what is wrong first ("Invalid port or port number out of range"), then repeats the input.
        error = QStringLiteral("URL '%1' is not valid: %2").arg(positional.first(), out.target.url.errorString().section(QLatin1Char(';'), 0, 0));
        return false;
    }
    if (!out.target.url.isValid() || (out.target.url.scheme() != QLatin1String("ws") && out.target.url.scheme() != QLatin1String("wss"))
        || out.target.url.host().isEmpty()) {
        error = QStringLiteral("URL '%1' is not a ws:// or wss:// URL with a host").arg(positional.first());
        return false;
    }
    for (const char* required : { "identity", "space", "key" }) {
        if (!parser.isSet(QString::fromLatin1(required))) {
            error = QStringLiteral("--%1 is required").arg(QString::fromLatin1(required));
            return false;
        }
    }
    // One document per run: a second value would silently replace the first.
    for (const char* single : { "url", "identity", "space", "key", "viewer-state", "reconnect", "duration", "connect-timeout", "seed" }) {
        if (parser.values(QString::fromLatin1(single)).size() > 1) {
            error = QStringLiteral("--%1 is given more than once").arg(QString::fromLatin1(single));
            return false;
        }
    }
    out.target.identity = parser.value(QStringLiteral("identity"));
    out.target.space = parser.value(QStringLiteral("space"));
    out.target.key = parser.value(QStringLiteral("key"));
    if (out.target.identity.trimmed().isEmpty()) {
        error = QStringLiteral("--identity must not be empty (a JWT, or anonymous:NAME)");
        return false;
    }
    if (out.target.space.trimmed().isEmpty() || out.target.key.isEmpty()) {
        error = QStringLiteral("--space and --key must not be empty");
        return false;
    }
    if (parser.isSet(QStringLiteral("viewer-state"))) {
        out.target.viewerState = parser.value(QStringLiteral("viewer-state")).toUtf8();
        QString jsonError;
        if (!isJsonObject(out.target.viewerState, &jsonError)) {
            error = QStringLiteral("--viewer-state: %1").arg(jsonError);
            return false;
        }
    }
    if (parser.isSet(QStringLiteral("duration"))) {
        bool ok = false;
        out.durationSeconds = parser.value(QStringLiteral("duration")).toDouble(&ok);
        if (!ok || !(out.durationSeconds > 0)) { // NaN too: it would make the run endless
            error = QStringLiteral("--duration: '%1' is not a positive number of seconds").arg(parser.value(QStringLiteral("duration")));
            return false;
        }
        if (out.durationSeconds > 1e7) {
            error = QStringLiteral("--duration: %1 s is more than the 10000000 s (about 115 days) a run can last").arg(parser.value(QStringLiteral("duration")));
            return false;
        }
    }
    if (parser.isSet(QStringLiteral("connect-timeout"))) {
        bool ok = false;
        out.connectTimeoutMs = parser.value(QStringLiteral("connect-timeout")).toLongLong(&ok);
        if (!ok || out.connectTimeoutMs <= 0) {
            error = QStringLiteral("--connect-timeout: '%1' is not a positive number of milliseconds").arg(parser.value(QStringLiteral("connect-timeout")));
            return false;
        }
    }
    if (parser.isSet(QStringLiteral("reconnect"))) {
        out.reconnect = parser.value(QStringLiteral("reconnect"));
        QString policyError;
        if (!makeReconnectPolicy(out.reconnect, &policyError)) {
            error = QStringLiteral("--reconnect: %1").arg(policyError);
            return false;
        }
    }
    if (parser.isSet(QStringLiteral("seed"))) {
        bool ok = false;
        out.seed = parser.value(QStringLiteral("seed")).toULongLong(&ok);
        if (!ok) {
            error = QStringLiteral("--seed: '%1' is not a non-negative integer").arg(parser.value(QStringLiteral("seed")));
            return false;
        }
    }
    out.json = parser.isSet(QStringLiteral("json"));
    out.insecure = parser.isSet(QStringLiteral("insecure"));
    out.printDocument = !parser.isSet(QStringLiteral("no-document"));
    out.quiet = parser.isSet(QStringLiteral("quiet"));
    return true;
}

bool WatchOptions::parse(const QStringList& arguments, WatchOptions& out, QString& error, bool& help, QString* helpText)
{
    QCommandLineParser parser;
    parser.setApplicationDescription(QStringLiteral("Connect to a document, print every event, and the final document on exit."));
    const QCommandLineOption helpOption(QStringList { QStringLiteral("h"), QStringLiteral("help") }, QStringLiteral("Show this help."));
    parser.addOption(helpOption);
    addOptions(parser);
    help = false;
    if (!parser.parse(QStringList { QStringLiteral("deltascope-cli watch") } + arguments)) {
        error = parser.errorText();
        return false;
    }
    if (parser.isSet(helpOption)) {
        help = true;
        if (helpText)
            *helpText = cli::helpText(parser, QStringLiteral("deltascope-cli watch"));
        return true;
    }
    return fromParser(parser, out, error);
}

// --- runner -----------------------------------------------------------------------------------

WatchRunner::WatchRunner(WatchOptions options, QTextStream& out, QTextStream& err, std::unique_ptr<Transport> transport,
    Clock* clock, QObject* parent, std::unique_ptr<PayloadStore> payloads)
    : QObject(parent)
    , m_options(std::move(options))
    , m_out(out)
    , m_err(err)
{
    if (!transport)
        transport = std::make_unique<QWebSocketTransport>();
    transport->setInsecure(m_options.insecure);
    m_session = std::make_unique<LiveSession>(std::move(transport), clock, nullptr, std::move(payloads));
    ProtocolClientOptions clientOptions;
    clientOptions.connectTimeoutMs = m_options.connectTimeoutMs;
    clientOptions.randomSeed = m_options.seed;
    m_session->client().setOptions(clientOptions);
    if (!m_options.serverUrl.isEmpty() && m_options.serverUrl != m_options.target.url)
        m_session->client().setProxiedServer(m_options.serverUrl);
    if (auto policy = makeReconnectPolicy(m_options.reconnect))
        m_session->client().setReconnectPolicy(std::move(policy));

    connect(&m_session->log(), &EventLog::eventsAppended, this, &WatchRunner::printEvents);
    connect(m_session.get(), &LiveSession::stateChanged, this, &WatchRunner::onStateChanged);
    m_durationTimer.setSingleShot(true);
    connect(&m_durationTimer, &QTimer::timeout, this, [this]() {
        if (!m_session->client().helloEverReceived()) {
            finish(ExitConnectFailed, QStringLiteral("--duration %1 s elapsed without connecting to %2 (last attempt: %3)")
                                          .arg(m_options.durationSeconds)
                                          .arg(shownServerUrl(), m_session->client().lastConnectAttempt()));
            return;
        }
        bool neverArrived = false;
        const QString failing = failingStreamNote(&neverArrived);
        if (failing.isEmpty()) {
            finish(ExitOk, QStringLiteral("--duration %1 s elapsed").arg(m_options.durationSeconds));
            return;
        }
        // A space or key that does not exist is retried blindly (spec 7.2) until --duration ends
        // it: a run that never got the document did not do what it was asked.
        finish(neverArrived ? ExitFatalStream : ExitOk, QStringLiteral("--duration %1 s elapsed; %2").arg(m_options.durationSeconds).arg(failing));
    });
    m_connectTimer.setSingleShot(true);
    connect(&m_connectTimer, &QTimer::timeout, this, [this]() {
        if (!m_session->client().helloEverReceived())
            finish(ExitConnectFailed, QStringLiteral("could not connect to %1 within %2 ms (last attempt: %3)")
                                          .arg(shownServerUrl())
                                          .arg(m_options.connectTimeoutMs)
                                          .arg(m_session->client().lastConnectAttempt()));
    });
    m_endGraceTimer.setSingleShot(true);
    connect(&m_endGraceTimer, &QTimer::timeout, this, &WatchRunner::complete);
}

WatchRunner::~WatchRunner() = default;

int WatchRunner::run(const std::function<void()>& whileStopping)
{
    if (m_options.insecure && m_options.target.url.scheme() == QLatin1String("wss"))
        m_err << "deltascope-cli " << m_options.command << ": warning: --insecure: the server certificate is NOT verified\n";
    QString error;
    if (!m_session->start(m_options.target, &error)) {
        m_err << "deltascope-cli " << m_options.command << ": " << error << '\n';
        return ExitUsage;
    }
    if (m_options.durationSeconds > 0)
        m_durationTimer.start(int(std::min(m_options.durationSeconds * 1000.0, 2.0e9)));
    m_connectTimer.start(int(std::min<qint64>(m_options.connectTimeoutMs, INT32_MAX)));
    // SIGINT (Ctrl-C) and SIGTERM (what `timeout`, CI runners and service managers send) both end the
    // run cleanly: the capture gets its end record, the final document is printed.
    StopSignalGuard guard([this](int signal) {
        QString reason = signal == SIGTERM ? QStringLiteral("terminated (SIGTERM)") : QStringLiteral("interrupted (Ctrl-C)");
        if (const QString failing = failingStreamNote(); !failing.isEmpty())
            reason += QStringLiteral("; ") + failing;
        finish(ExitOk, reason);
    });
    if (!m_completed)
        m_loop.exec();
    if (whileStopping)
        whileStopping();
    m_out.flush();
    m_err.flush();
    return m_exitCode;
}

void WatchRunner::finish(int exitCode, const QString& reason)
{
    if (m_finishing)
        return;
    m_finishing = true;
    m_exitCode = exitCode;
    m_finishReason = reason;
    m_durationTimer.stop();
    m_connectTimer.stop();
    const ConnectionState state = m_session->state();
    if (state == ConnectionState::Streaming || state == ConnectionState::Stalled) {
        // Leave politely: connection/end, then wait briefly for done:true.
        m_session->end();
        m_endGraceTimer.start(1000);
        return;
    }
    complete();
}

void WatchRunner::complete()
{
    if (m_completed)
        return;
    m_completed = true;
    m_endGraceTimer.stop();
    // The state change names why the session ended (nobody closed it by hand).
    m_session->client().close(m_exitCode == ExitConnectFailed ? QStringLiteral("gave up: ") + m_finishReason : m_finishReason);
    m_session->log().flushNotifications();
    if (m_lastPrinted + 1 < m_session->log().size())
        printEvents(m_lastPrinted + 1, m_session->log().size() - 1);
    const SessionFolder& folder = m_session->folder();
    // Without a stream item there never was a document: an empty {} would read as one.
    bool neverArrived = false;
    failingStreamNote(&neverArrived);
    if (m_options.json) {
        QJsonObject final { { QStringLiteral("kind"), QStringLiteral("final-document") },
            { QStringLiteral("epoch"), qint64(folder.epoch()) }, { QStringLiteral("seq"), folder.lastSeq() },
            { QStringLiteral("state"), connectionStateName(m_session->state()) }, { QStringLiteral("reason"), m_finishReason },
            { QStringLiteral("exitCode"), m_exitCode }, { QStringLiteral("events"), m_session->log().size() } };
        QByteArray line = QJsonDocument(final).toJson(QJsonDocument::Compact);
        if (m_options.printDocument) {
            // The document goes in verbatim (longs stay exact strings, numbers keep their text).
            line.chop(1);
            line += ",\"document\":" + (neverArrived ? QByteArray("null") : folder.epochTree().toJson(false)) + '}';
        }
        m_out << QString::fromUtf8(line) << '\n';
    } else {
        m_out << "-- " << m_finishReason << "; " << connectionStateName(m_session->state()) << ", epoch " << folder.epoch()
              << ", " << (folder.lastSeq() >= 0 ? QStringLiteral("seq %1").arg(folder.lastSeq()) : QStringLiteral("no seq seen in this epoch"))
              << ", " << m_session->log().size() << " events\n";
        if (m_options.printDocument && !neverArrived)
            m_out << QString::fromUtf8(folder.epochTree().toJson(true)) << '\n';
    }
    m_out.flush();
    if (m_exitCode != ExitOk)
        m_err << "deltascope-cli " << m_options.command << ": " << m_finishReason << '\n';
    Q_EMIT finished(m_exitCode, m_finishReason);
    m_loop.quit();
}

void WatchRunner::onStateChanged(ConnectionState state, ConnectionState, const QString& reason)
{
    if (state == ConnectionState::Closed) {
        if (m_finishing)
            complete();
        else
            finish(ExitOk, reason);
    } else if (state == ConnectionState::Failed) {
        const ProtocolClient& client = m_session->client();
        int code = ExitFailure;
        if (!client.helloEverReceived())
            code = ExitConnectFailed;
        else if (client.gaveUpOnCode())
            code = ExitFatalStream; // as replay --against: a code retried until the client gave up is 1
        m_finishing = false; // a failure overrides a pending polite end
        finish(code, reason);
    }
}

void WatchRunner::printEvents(qint64 first, qint64 last)
{
    first = std::max(first, m_lastPrinted + 1);
    for (qint64 index = first; index <= last; ++index) {
        if (!m_options.quiet)
            m_out << (m_options.json ? formatEventJson(index) : formatEvent(index)) << '\n';
        m_lastPrinted = index;
    }
    m_out.flush();
}

QString WatchRunner::summary(qint64 index) const
{
    const EventLog& log = m_session->log();
    const SessionEvent& event = log.at(index);
    const QByteArray payload = shownPayload(index);
    switch (event.kind) {
    case EventKind::Hello: {
        const InboundFrame frame = decodeInbound(payload);
        return QStringLiteral("connected, version %1").arg(frame.version);
    }
    case EventKind::Ping: {
        const InboundFrame frame = decodeInbound(payload);
        return QStringLiteral("ping %1, latency %2 ms").arg(frame.ping).arg(frame.latencyMs);
    }
    case EventKind::Pong:
        return QStringLiteral("pong");
    case EventKind::StreamItem: {
        const StreamDelta delta = extractStreamDelta(payload);
        QString text = QLatin1Char('[') + partNames(event.parts).join(QLatin1Char(',')) + QLatin1Char(']');
        if (delta.hasData)
            text += QLatin1Char(' ') + QString::fromUtf8(delta.data.data(), qsizetype(delta.data.size()));
        return truncated(text);
    }
    case EventKind::Response: {
        QString text = log.method(index);
        if (event.seq >= 0)
            text += QStringLiteral(" ack seq %1").arg(event.seq);
        return truncated(text + QLatin1Char(' ') + QString::fromUtf8(payload));
    }
    case EventKind::StreamDone:
        return QStringLiteral("%1 done").arg(log.method(index));
    case EventKind::Failure: {
        QString text = describeErrorCode(event.code);
        if (event.flags & FlagSynthetic) {
            const QJsonValue reason = localFields(payload).value(QStringLiteral("reason"));
            text = event.code == errorcodes::SocketLost ? QStringLiteral("999 socket lost (local, no reason on the wire)")
                                                         : QStringLiteral("local: %1").arg(reason.toString());
        }
        return log.method(index).isEmpty() ? text : log.method(index) + QStringLiteral(": ") + text;
    }
    case EventKind::Disconnected:
    case EventKind::UnknownInbound:
        return truncated(QString::fromUtf8(payload));
    case EventKind::MalformedInbound:
        return truncated(malformedReasonName(MalformedReason(event.code)) + QStringLiteral(": ") + QString::fromUtf8(payload));
    case EventKind::Request:
        return truncated(QString::fromUtf8(payload));
    case EventKind::StateChanged: {
        const QJsonObject fields = localFields(payload);
        return QStringLiteral("%1 -> %2: %3")
            .arg(fields.value(QStringLiteral("from")).toString(), fields.value(QStringLiteral("to")).toString(),
                fields.value(QStringLiteral("reason")).toString());
    }
    case EventKind::ReconnectPlanned: {
        const QJsonObject fields = localFields(payload);
        return QStringLiteral("%1 retry in %2 ms (%3, attempt %4): %5")
            .arg(fields.value(QStringLiteral("layer")).toString())
            .arg(fields.value(QStringLiteral("delayMs")).toInteger())
            .arg(fields.value(QStringLiteral("policy")).toString())
            .arg(fields.value(QStringLiteral("attempt")).toInteger())
            .arg(fields.value(QStringLiteral("reason")).toString());
    }
    case EventKind::EpochStarted:
        return QStringLiteral("epoch %1 starts with connection/create id %2").arg(event.epoch).arg(event.requestId);
    case EventKind::FoldAnomaly: {
        const QJsonObject fields = localFields(payload);
        return QStringLiteral("%1 at '%2': %3")
            .arg(fields.value(QStringLiteral("anomaly")).toString(), fields.value(QStringLiteral("path")).toString(),
                fields.value(QStringLiteral("message")).toString());
    }
    case EventKind::VersionChanged: {
        const QJsonObject fields = localFields(payload);
        return QStringLiteral("server version %1 -> %2")
            .arg(fields.value(QStringLiteral("from")).toString(), fields.value(QStringLiteral("to")).toString());
    }
    default:
        return truncated(QString::fromUtf8(payload));
    }
}

QByteArray WatchRunner::withoutIdentity(QByteArray text) const
{
    const QByteArray token = m_options.target.identity.toUtf8();
    QByteArray escaped; // as the request's JSON text holds it
    appendJsonString(escaped, token);
    escaped = escaped.mid(1, escaped.size() - 2);
    for (const QByteArray& form : { escaped, token }) {
        if (form.size() >= 4) // long enough to be distinctive anywhere
            text.replace(form, "[identity]");
        else if (!form.isEmpty())
            text.replace(QByteArray("\"identity\":\"" + form + '"'), QByteArray("\"identity\":\"[identity]\""));
    }
    return text;
}

QByteArray WatchRunner::shownPayload(qint64 index) const
{
    // Before any summary cuts it short: a token cut in two would no longer be found.
    return withoutIdentity(m_session->log().payload(index));
}

QString WatchRunner::formatEvent(qint64 index) const
{
    const EventLog& log = m_session->log();
    const SessionEvent& event = log.at(index);
    const qint64 gapMs = index > 0 ? (event.monotonicNs - log.at(index - 1).monotonicNs) / 1000000 : 0;
    QString ids;
    if (event.requestId >= 0)
        ids = QStringLiteral("id %1").arg(event.requestId);
    if (event.seq >= 0)
        ids += (ids.isEmpty() ? QString() : QStringLiteral(" ")) + QStringLiteral("seq %1").arg(event.seq);
    const QString size = event.direction == Direction::Local ? QString() : QStringLiteral("%1 B").arg(event.payload.size);
    const QString time = QDateTime::fromMSecsSinceEpoch(event.wallMs).toString(QStringLiteral("HH:mm:ss.zzz"));
    return QStringLiteral("%1 %2 %3 %4 %5 %6  %7")
        .arg(time, QStringLiteral("+%1ms").arg(gapMs).rightJustified(8), directionName(event.direction).leftJustified(5),
            eventKindName(event.kind).leftJustified(17), ids.leftJustified(16), size.rightJustified(9), summary(index));
}

QString WatchRunner::formatEventJson(qint64 index) const
{
    const EventLog& log = m_session->log();
    const SessionEvent& event = log.at(index);
    QJsonObject object { { QStringLiteral("index"), index }, { QStringLiteral("wallMs"), event.wallMs },
        { QStringLiteral("monotonicMs"), double(event.monotonicNs) / 1e6 },
        { QStringLiteral("gapMs"), index > 0 ? double(event.monotonicNs - log.at(index - 1).monotonicNs) / 1e6 : 0.0 },
        { QStringLiteral("dir"), directionName(event.direction) }, { QStringLiteral("kind"), eventKindName(event.kind) },
        { QStringLiteral("epoch"), qint64(event.epoch) }, { QStringLiteral("size"), qint64(event.payload.size) },
        { QStringLiteral("summary"), summary(index) } };
    if (event.requestId >= 0)
        object.insert(QStringLiteral("id"), event.requestId);
    if (event.seq >= 0)
        object.insert(QStringLiteral("seq"), event.seq);
    if (event.code != 0)
        object.insert(QStringLiteral("code"), event.code);
    if (event.kind == EventKind::Failure && event.code != 0) {
        const ErrorCodeInfo info = errorCodeInfo(event.code);
        object.insert(QStringLiteral("codeName"), info.name);
        object.insert(QStringLiteral("retryable"), info.retryable);
    }
    if (!log.method(index).isEmpty())
        object.insert(event.kind == EventKind::Request && log.method(index).indexOf(QLatin1Char('/')) < 0 ? QStringLiteral("channel")
                                                                                                           : QStringLiteral("method"),
            log.method(index));
    if (event.parts)
        object.insert(QStringLiteral("parts"), QJsonArray::fromStringList(partNames(event.parts)));
    if (event.flags)
        object.insert(QStringLiteral("flags"), QJsonArray::fromStringList(flagNames(event.flags)));
    if (event.linkedIndex >= 0)
        object.insert(QStringLiteral("linked"), event.linkedIndex);
    if (log.seqLink(index) >= 0)
        object.insert(QStringLiteral("seqLinked"), log.seqLink(index));
    QByteArray line = QJsonDocument(object).toJson(QJsonDocument::Compact);
    // The payload goes in as JSON when it is JSON (frames keep their exact text), else as a string.
    const QByteArray payload = shownPayload(index);
    line.chop(1);
    if (isJsonObjectOrArray(payload))
        line += ",\"payload\":" + (payload.contains('\n') || payload.contains('\r') ? minifyJson(payload) : payload) + '}';
    else
        line += ",\"payload\":" + jsonQuote(QString::fromUtf8(payload)) + '}';
    return QString::fromUtf8(line);
}

QString WatchRunner::failingStreamNote(bool* neverArrived) const
{
    const EventLog& log = m_session->log();
    int failures = 0;
    qint64 lastFailure = -1;
    bool itemArrived = false;
    for (qint64 index = log.size() - 1; index >= 0; --index) {
        const EventKind kind = log.at(index).kind;
        if (kind == EventKind::StreamItem) {
            itemArrived = true;
            break;
        }
        if (kind == EventKind::Failure && log.method(index).startsWith(QLatin1String("connection/create"))) {
            ++failures;
            if (lastFailure < 0)
                lastFailure = index;
        }
    }
    if (neverArrived)
        *neverArrived = !itemArrived;
    if (failures == 0)
        return {};
    const QString last = summary(lastFailure);
    if (!itemArrived)
        return failures == 1 ? QStringLiteral("the document never arrived: its connection/create failed (event %1: %2)").arg(lastFailure).arg(last)
                             : QStringLiteral("the document never arrived: all %1 connection/create attempts failed (the last, event %2: %3)")
                                   .arg(failures)
                                   .arg(lastFailure)
                                   .arg(last);
    return QStringLiteral("the stream is down: %1 connection/create attempt(s) failed since the last stream item (the last, event %2: %3)")
        .arg(failures)
        .arg(lastFailure)
        .arg(last);
}

QString WatchRunner::shownServerUrl() const
{
    return (m_options.serverUrl.isEmpty() ? m_options.target.url : m_options.serverUrl).toString(QUrl::RemoveUserInfo);
}

Command watchCommand()
{
    return Command { QStringLiteral("watch"), QStringLiteral("Connect to a document and print every frame and event live."),
        [](const QStringList& commandArguments, CommandIo& io) {
            WatchOptions options;
            QString error;
            QString helpText;
            bool help = false;
            // Fault injection options (--plan, --fault, --report, --expect) belong to core/faults.
            QStringList arguments = commandArguments;
            faults::FaultWatchOptions faultOptions;
            if (!faults::extractFaultWatchOptions(arguments, faultOptions, error)) {
                io.err << usageError(QStringLiteral("deltascope-cli watch"), error);
                return int(ExitUsage);
            }
            if (!WatchOptions::parse(arguments, options, error, help, &helpText)) {
                io.err << usageError(QStringLiteral("deltascope-cli watch"), error);
                return int(ExitUsage);
            }
            if (help) {
                io.out << helpText << faults::faultWatchHelp()
                       << "\nExit codes: 0 normal end (stream ended, --duration, Ctrl-C or SIGTERM), 2 usage, 4 could not connect,\n"
                          "5 the stream failed with a code not retried, or --duration ended a run whose document never\n"
                          "arrived (every connection/create failed), 1 other failures (with --fault/--plan: a fault\n"
                          "that never acted). With --expect: 0 met, 6 not met, whatever the stream did (see --expect).\n";
                return int(ExitOk);
            }
            if (faultOptions.active())
                return faults::runFaultWatch(options, faultOptions, io);
            WatchRunner runner(options, io.out, io.err);
            return runner.run();
        } };
}

}
