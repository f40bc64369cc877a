#pragma once

#include "core/cli/cli.h"
#include "core/protocol/protocolclient.h"
#include "core/session/livesession.h"

#include <QCommandLineParser>
#include <QEventLoop>
#include <QObject>
#include <QTimer>

#include <functional>
#include <memory>

namespace deltascope::cli {

// Options of `deltascope-cli watch` (and of commands built on it, such as record or a fault run:
// they add their own options to the same parser with WatchOptions::addOptions()).
struct WatchOptions {
    DocumentTarget target;
    // The server as messages name it, when the client reaches it through something else (the
    // fault proxy's loopback URL is an implementation detail); empty: target.url.
    QUrl serverUrl;
    bool json = false; // NDJSON events instead of text lines
    bool insecure = false; // wss without certificate verification
    double durationSeconds = 0; // 0: until the stream ends or Ctrl-C
    qint64 connectTimeoutMs = 10000; // no hello within this: exit 4
    QString reconnect = QStringLiteral("reference");
    quint64 seed = 0x5eed;
    bool printDocument = true; // the final document on exit
    bool quiet = false; // no per-event lines
    QString command = QStringLiteral("watch"); // names the command in messages ("deltascope-cli record: ...")

    static void addOptions(QCommandLineParser& parser);
    // Fills `out` from a parser that has processed the arguments (one positional URL). On error
    // returns false with a message naming the option.
    static bool fromParser(const QCommandLineParser& parser, WatchOptions& out, QString& error);
    // Parses the arguments of `watch` (without the command name). `help` is set for --help.
    static bool parse(const QStringList& arguments, WatchOptions& out, QString& error, bool& help, QString* helpText = nullptr);
};

// Runs one watch session: connects, prints each event as it is appended to the log, ends on
// --duration, Ctrl-C (SIGINT) or SIGTERM, the end of the stream or a failure, prints the final document and
// returns the exit code (0 normal end, 4 could not connect, 5 the stream failed with a code not retried,
// 1 other failures). Subclass or connect to session() to add behaviour before run().
class WatchRunner : public QObject
{
    Q_OBJECT
public:
    // transport: e.g. a fault decorator (default QWebSocketTransport); clock: not owned (default a
    // SystemClock); payloads: e.g. a capture file's store (default in memory).
    WatchRunner(WatchOptions options, QTextStream& out, QTextStream& err, std::unique_ptr<Transport> transport = {},
        Clock* clock = nullptr, QObject* parent = nullptr, std::unique_ptr<PayloadStore> payloads = {});
    ~WatchRunner() override;

    LiveSession& session() { return *m_session; }
    const WatchOptions& options() const { return m_options; }

    // Blocks in a local event loop. `whileStopping` runs once the session has ended, still under
    // the stop-signal guard (a Ctrl-C meanwhile does not kill the process: record writes its end).
    int run(const std::function<void()>& whileStopping = {});
    // Ends the run: sends connection/end when a stream is open (waits up to 1 s for it), prints
    // the final document, and makes run() return `exitCode`.
    void finish(int exitCode, const QString& reason);
    bool isFinishing() const { return m_finishing; }

    // One event as a text line or an NDJSON object (without newline). The identity token never
    // shows: printed output ends up in CI logs, and the token is a secret (design.md).
    QString formatEvent(qint64 index) const;
    QString formatEventJson(qint64 index) const;
    QByteArray withoutIdentity(QByteArray text) const;
    QByteArray shownPayload(qint64 index) const; // the event's payload, the identity replaced
    QString summary(qint64 index) const;

Q_SIGNALS:
    void finished(int exitCode, const QString& reason);

private:
    void printEvents(qint64 first, qint64 last);
    void onStateChanged(ConnectionState state, ConnectionState previous, const QString& reason);
    void complete();
    QString shownServerUrl() const; // serverUrl, else the target's, without user info
    // Why no document has been coming since the last stream item (or ever): how many connection/create
    // attempts failed since then and the last one's failure. Empty when an item followed the last
    // failure, or nothing failed. `neverArrived` tells whether any stream item arrived at all.
    QString failingStreamNote(bool* neverArrived = nullptr) const;

    WatchOptions m_options;
    QTextStream& m_out;
    QTextStream& m_err;
    std::unique_ptr<LiveSession> m_session;
    QEventLoop m_loop;
    QTimer m_durationTimer;
    QTimer m_connectTimer;
    QTimer m_endGraceTimer;
    qint64 m_lastPrinted = -1;
    int m_exitCode = 0;
    QString m_finishReason;
    bool m_finishing = false;
    bool m_completed = false;
};

// The `watch` command for the CLI's command list.
Command watchCommand();

}
