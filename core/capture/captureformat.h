#pragma once

#include "core/jsonstring.h"
#include "core/session/sessionevent.h"

#include <QByteArray>
#include <QByteArrayView>
#include <QJsonObject>
#include <QString>
#include <QStringList>

#include <string_view>

namespace deltascope {

// The capture format (core/capture/README.md): NDJSON, a header line, then one line per session
// event, plus `link` and `end` records. These constants and helpers are shared by the writer, the
// reader and the exporters so all of them agree byte for byte.
namespace capture {

inline constexpr char kFormatName[] = "deltascope-capture";
inline constexpr int kVersionMajor = 1;
inline constexpr int kVersionMinor = 0;
// A frame is at most 64 MiB (Transport::kMaxFrameBytes); escaped as a JSON string it can grow up
// to 6x. Longer lines are damage.
inline constexpr qint64 kMaxLineBytes = 6 * 64ll * 1024 * 1024 + 1024 * 1024;

// zstd input (a .ndjson.zst capture or delta file) starts with the zstd frame magic, or with a
// skippable frame's (magic 0x184D2A50..5F, little-endian; pzstd writes one first).
inline bool startsLikeZstd(QByteArrayView head)
{
    return head.startsWith(QByteArrayView("\x28\xb5\x2f\xfd", 4))
        || (head.size() >= 4 && (static_cast<unsigned char>(head[0]) & 0xf0) == 0x50 && head.sliced(1, 3) == QByteArrayView("\x2a\x4d\x18", 3));
}
// `text` as one zstd frame (level 3, with a checksum), as the recorder writes a ".zst" capture:
// for exports and imports whose output name ends in ".zst".
QByteArray compressZstd(QByteArrayView text);
inline bool namesZstdFile(const QString& path) { return path.endsWith(QLatin1String(".zst")); }

// Whether the first line of `head` names `format` in its "format" field, however it is spaced
// (a capture re-indented or re-serialised by another tool is still one).
bool firstLineHasFormat(QByteArrayView head, QByteArrayView format);
// The first line's "format" value that starts with `prefix` ("deltascope-": a file of ours, maybe of
// a kind or version this build does not read), or empty.
QByteArray firstLineFormatStartingWith(QByteArrayView head, QByteArrayView prefix);
// Whether the first bytes of a file are a capture: zstd, or a first line naming the format.
inline bool looksLikeCapture(QByteArrayView head)
{
    return startsLikeZstd(head) || firstLineHasFormat(head, kFormatName);
}
// Whether `line` is an event record of a capture (an object with "index", "dir" and "kind"), as
// line 1 of a capture whose header was cut off is.
bool looksLikeCaptureEvent(QByteArrayView line);
// What to say of a capture whose line 1 is an event record: the header is missing, and how to restore it.
QString missingHeaderMessage(QByteArrayView firstLine);
// The NDJSON delta log that `export --format ndjson` writes (captureexport.h).
inline constexpr char kDeltaLogFormatName[] = "deltascope-delta-log";

// What the first line says about the capture.
struct Header {
    int versionMajor = kVersionMajor;
    int versionMinor = kVersionMinor;
    QString tool; // "deltascope 0.1.0"
    qint64 startedWallMs = 0;
    QString endpoint;
    QString space;
    QString key;
    QString identity; // only when the user asked to keep it
    bool identityRemoved = false; // identity tokens were replaced in the header and every payload
    QString source; // "record", "import-har", "trim", ...
    bool partial = false; // the capture starts mid-stream (HAR imports); the first tree may be incomplete
    QString notes;
    QStringList redacted; // what an export removed (descriptions), empty for raw recordings
    QJsonObject extra; // fields this version does not know, kept for re-export

    QByteArray toJsonLine() const; // without the trailing newline
};

// Parses a header line. On failure returns false and sets `error` to a message for a person.
bool parseHeader(std::string_view line, Header& out, QString& error);

// Appends one event line (without the newline) to `out`. `method` is the interned method/channel
// text. Frames go in as a JSON string (`frame`), or base64 (`frameBase64`) when they are not valid
// UTF-8; local events whose payload is a JSON object go in as the object itself (`fields`).
void appendEventLine(QByteArray& out, const SessionEvent& event, QStringView method, QByteArrayView payload);
// A `link` record: events a and b refer to each other (request <-> response), written when the
// link became known after the events themselves. `seqLink` records tie a send ack to the stream
// item carrying its seq (EventLog::linkSeq).
void appendLinkLine(QByteArray& out, qint64 a, qint64 b, bool seqLink = false);
// The closing record of a capture that was closed cleanly.
void appendEndLine(QByteArray& out, qint64 eventCount, qint64 wallMs);

// JSON strings are written with appendJsonString (core/jsonstring.h), which assumes valid UTF-8.
// Decodes a JSON string token (with its quotes). Returns false on bad escapes.
bool decodeJsonString(QByteArrayView token, QByteArray& out);
// The size decodeJsonString() would decode the token to, without decoding; -1 where it would fail.
qsizetype decodedJsonStringSize(QByteArrayView token);
bool isValidUtf8(QByteArrayView bytes);

// Replaces identity tokens in payloads. Learns tokens from outbound requests' `identity` field
// (connection/create, document/create, probe, ...) and replaces every occurrence of a known token
// in any payload by "[redacted identity N]" (N numbers distinct tokens so they stay tellable apart).
class IdentityRedactor
{
public:
    void addToken(const QByteArray& token);
    // Learns the token of `payload`'s top-level `identity` field, if it has one.
    void learn(QByteArrayView payload);
    // Learns the token a URL names in its `identity` query value, if it has one.
    void learnFromUrl(QByteArrayView url);
    // Learns from `payload` first if asked, then returns the payload with tokens replaced.
    QByteArray redact(QByteArrayView payload, bool learn);
    int tokenCount() const { return int(m_tokens.size()); }
    qint64 replacements() const { return m_replacements; }

private:
    // `depth`: how many string levels in (JSON quoted in a string is looked into twice at most).
    void redactEscapedStrings(QByteArray& text, int depth = 0);
    // A token with what it is replaced by and the spellings it is looked for in, made once when
    // it is learned (every payload of an export is searched for every token).
    struct Token {
        QByteArray token;
        QByteArray placeholder; // "[redacted identity N]", N in the order tokens were learned
        std::vector<QByteArray> forms; // as written, JSON-escaped, %-encoded (both hex cases)
    };
    std::vector<Token> m_tokens; // learned order
    std::vector<std::size_t> m_longestFirst; // indexes into m_tokens
    qint64 m_replacements = 0;
};

// Outbound frames, the ones an identity token is learned from (a HAR import files frames it cannot
// classify as UnknownOutbound; they may still carry one).
inline bool carriesIdentity(EventKind kind) { return kind == EventKind::Request || kind == EventKind::UnknownOutbound; }

// A request's password parameters (connection/password's `password` and `new_password`,
// documents/hash-password's `password`) and the `passwordHash` of documents/hash-password's
// answer, replaced by "[redacted]" in place: secrets as an identity is, whoever reads an export.
// A request names an Adama method and has an id. Returns how many values were replaced.
int redactPasswords(QByteArray& text);

// `url` with its user name, password, query values and fragment replaced by "[redacted]", and
// spelled as it was otherwise: it is cut at its delimiters, not parsed, so a URL that QUrl would
// refuse (a space, a '|', a bad %-escape) is redacted too. `parts` gets what was replaced, once
// each ("password", "query value of \"token\"", ...). Text without "://" comes back as it was.
QByteArray redactUrl(QByteArrayView url, QStringList* parts = nullptr);
// Every URL inside `text` (a note, a close reason, a frame), of any scheme, through redactUrl(),
// in place and in one pass. JSON's spellings of a character ("\/", "\u002F", "\u0026"), also
// escaped twice (serialised JSON inside a string: "\\/"), stay inside a URL and are read as the
// character; a URL ends at white space, a double quote or another escape. Returns how many URLs
// changed.
int redactUrlsIn(QByteArray& text, QStringList* parts = nullptr);

// Kinds whose payload is a JSON object of fields rather than a wire frame.
bool isLocalKind(EventKind kind);

// "data,seq" style names for StreamItemPart bits, and EventFlag bits, for people.
QString partNames(quint16 parts);
QString flagNames(quint8 flags);
// The flag one of flagNames()' names stands for; false for a name it never writes.
bool flagFromName(QStringView name, quint8& flag);

}
}
