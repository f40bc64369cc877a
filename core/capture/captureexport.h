#pragma once

#include "core/capture/captureformat.h"

#include <QByteArray>
#include <QStringList>

#include <utility>
#include <vector>

class QIODevice;

namespace deltascope {

class Capture;

// Removes secrets from everything an export writes:
//  - identity tokens, learned from the capture's header and from every outbound frame's `identity`,
//    and the password parameters of requests;
//  - the user name, password, query values and fragment of every ws://, wss://, http:// and
//    https:// URL, in the header's endpoint and notes and in every payload (a state change quotes
//    the endpoint, a HAR import's note its handshake URL);
//  - the values at the JSON paths the user lists. A path is segments joined by '/', '*' matches
//    any one segment; it is matched from the root of a frame and from the roots of a document
//    (`response/delta/data`), a message (`message`) and a viewer state (`viewer-state`), so
//    "players/*/email" reaches into deltas, snapshots and trees alike. Matched values become the
//    string "[redacted]". A payload those paths cannot be looked for in (not JSON, or nested
//    deeper than the rewrite goes) is withheld whole rather than passed on unchecked.
class ExportRedactor
{
public:
    ExportRedactor(const Capture& capture, bool enabled, const QStringList& paths);

    enum class Content {
        Json, // a frame or a local event's fields: --redact paths apply
        Text, // prose (an anomaly's message, a path): tokens and URLs only
    };
    // What a withheld payload becomes: a JSON string, so a JSON export around it stays JSON.
    static constexpr const char* kWithheld
        = "\"[withheld: --redact paths cannot be looked for in this payload (not JSON, nested too deep, or text after it)]\"";

    bool enabled() const { return m_enabled; }
    QByteArray redact(QByteArrayView text, Content content = Content::Json);
    // As redact(), left out of the summary's counts: for what the export shows again in another
    // form (a document folded from frames it counts), since the counts say what the capture held.
    QByteArray redactUncounted(QByteArrayView text, Content content = Content::Json) const;
    // A URL as an export shows it (see redactUrl() in captureformat.h), identity tokens replaced.
    QString redactUrl(const QString& url);
    // The capture's endpoint through redactUrl().
    const QString& endpoint() const { return m_endpoint; }
    // What was redacted, for the export to say (one line each).
    QStringList summary() const;
    // Whether anything was replaced or withheld (summary() has lines, zeros among them, either way).
    bool replacedAnything() const;

private:
    int match(const QStringList& path) const; // index of the matching pattern, -1 if none

    bool m_enabled;
    std::vector<QStringList> m_patterns;
    QStringList m_patternTexts;
    std::vector<qint64> m_pathHits;
    qint64 m_withheld = 0; // payloads withheld because the paths could not be looked for in them
    qint64 m_passwords = 0; // request passwords replaced
    QStringList m_urlParts; // what URL redaction replaced, once each ("query value of token", ...)
    qint64 m_urlsRedacted = 0;
    bool m_identityRemovedAtRecording = false; // the header says the recorder replaced the tokens
    QString m_endpoint;
    // Spellings of the endpoint payloads quote (as recorded, without user info, encoded; escaped
    // as JSON text holds them) and their redacted forms, replaced before anything else so a token
    // inside one cannot break the match.
    std::vector<std::pair<QByteArray, QByteArray>> m_endpointSpellings;
    capture::IdentityRedactor m_identity;
};

struct ExportOptions {
    qint64 from = 0; // first event of the range
    qint64 to = -1; // last event of the range (-1: the end)
    bool redact = true;
    QStringList redactPaths;
};

struct ExportResult {
    bool ok = false;
    QString error;
    QStringList redacted; // what the redactor replaced
    bool replacedAnything = false; // whether redaction changed anything at all
    qint64 events = 0; // events (or messages, items) written
};

// HAR 1.2 with one entry per socket (a new socket starts at each hello) and Chrome's
// `_webSocketMessages` (type send/receive, time in epoch seconds, opcode 1 text / 2 binary base64,
// data). Our extra facts travel in `_deltascope` fields that other tools ignore.
ExportResult exportHar(const Capture& capture, const ExportOptions& options, QIODevice& out);
// NDJSON delta log: a header line, then per folded stream item: index, times, epoch, seq, the
// `data` delta and the document paths it changed.
ExportResult exportDeltaLog(const Capture& capture, const ExportOptions& options, QIODevice& out);
// A Markdown bug report: endpoint and versions, incidents and their analysis, anomalies, a
// timeline excerpt and the document before and after the range.
ExportResult exportMarkdown(const Capture& capture, const ExportOptions& options, QIODevice& out);
// A capture of the range that opens on its own: it starts with a synthetic epoch and a synthetic
// snapshot of the tree at the range's start (FlagSynthetic | FlagSnapshot).
ExportResult exportTrimmedCapture(const Capture& capture, const ExportOptions& options, QIODevice& out);

// The four exports by one name, for the CLI (--format) and the window.
enum class ExportFormat { Har, DeltaLog, Markdown, TrimmedCapture };
// "har", "ndjson", "markdown", "capture" (the CLI's names). False for anything else.
bool exportFormatFromName(QStringView name, ExportFormat& out);
ExportResult exportCapture(const Capture& capture, ExportFormat format, const ExportOptions& options, QIODevice& out);

}
