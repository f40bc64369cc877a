#pragma once

#include "core/capture/captureformat.h"
#include "core/session/eventlog.h"

#include <QStringList>

#include <memory>
#include <vector>

namespace deltascope {

// One WebSocket of a HAR file, as a session.
struct ImportedSession {
    capture::Header header;
    std::unique_ptr<EventLog> log;
    QStringList notices; // what the import noticed (partial start, unknown frames, ...)
    qint64 frames = 0;
    qint64 unknownFrames = 0; // frames that are not Adama (kept as unknown events)
    int entryIndex = -1; // position of the entry in log.entries
};

struct HarImportResult {
    bool ok = false;
    QString error; // when !ok: what and where
    std::vector<ImportedSession> sessions;
    QStringList notices;
};

// Reads WebSocket messages from a HAR file: `_webSocketMessages` (type send/receive, time in
// epoch seconds, opcode 1 text or any other opcode with base64 data, data), as Chrome DevTools,
// mitmproxy and HTTP Toolkit write it (tests/data/*.md). Each entry with messages becomes a
// session; frames are classified as a live session would record them, epochs start at each
// connection/create, frames that are not Adama are kept as unknown events, control frames as
// unknown frames with their bytes, Chrome's "error" messages and HTTP Toolkit's
// `_webSocketClose` as notes. Nothing is dropped: a message with a missing or impossible time is
// kept at the time before it, times in milliseconds or relative seconds are converted, and each
// of these is said in the notices. The file may be zlib-compressed (mitmproxy's .zhar) or start
// with a UTF-8 byte order mark. Browsers keep only the last hundred or so frames of a socket, so
// a HAR may start mid-stream: then the header says `partial` and a synthetic epoch is opened for
// the stream found, whose first tree is partial. A HAR Deltascope exported (`_deltascope` facts)
// comes back as it was: messages at their exact monotonic ns and epoch, and the entry's local
// events restored between them in their original order (see core/capture/README.md).
// A compressed HAR that inflates beyond `maxTextBytes` is refused (a small file can hold a huge
// stream); the default is far above any HAR a browser or proxy writes.
inline constexpr qsizetype kMaxHarTextBytes = qsizetype(1) << 30;
HarImportResult importHar(const QByteArray& harBytes, const QString& sourceName, qsizetype maxTextBytes = kMaxHarTextBytes);
HarImportResult importHarFile(const QString& path);

}
