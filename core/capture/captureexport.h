#pragma once

#include "core/capture/captureformat.h"

#include <QByteArray>
#include <QStringList>

class QIODevice;

namespace deltascope {

class Capture;

// Removes secrets from everything an export writes: identity tokens (learned from the capture's
// header and from every outbound request's `identity`) and the values at the JSON paths the user
// lists. A path is segments joined by '/', '*' matches any one segment; it is matched from the
// root of a frame and from the roots of a document (`response/delta/data`), a message
// (`message`) and a viewer state (`viewer-state`), so "players/*/email" reaches into deltas,
// snapshots and trees alike. Matched values become the string "[redacted]".
class ExportRedactor
{
public:
    ExportRedactor(const Capture& capture, bool enabled, const QStringList& paths);

    bool enabled() const { return m_enabled; }
    // A frame or any JSON text; non-JSON text only gets identity tokens replaced.
    QByteArray redact(QByteArrayView text);
    // The endpoint URL as an export shows it: user name, password and query values become
    // "[redacted]" (a token in a URL is as secret as one in a frame), the fragment is dropped, and
    // identity tokens are replaced. A URL with none of these comes back as it was.
    QString redactUrl(const QString& url);
    // The capture's endpoint through redactUrl(); redact() also replaces it wherever a payload
    // quotes it (a note or error that names the server).
    const QString& endpoint() const { return m_endpoint; }
    // What was redacted, for the export to say (one line each).
    QStringList summary() const;

private:
    int match(const QStringList& path) const; // index of the matching pattern, -1 if none

    bool m_enabled;
    std::vector<QStringList> m_patterns;
    QStringList m_patternTexts;
    std::vector<qint64> m_pathHits;
    QStringList m_urlParts; // what redactUrl() replaced, once each ("query value of token", ...)
    QString m_endpoint;
    QByteArray m_endpointRecorded; // the endpoint as recorded, when redactUrl() changed it
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
