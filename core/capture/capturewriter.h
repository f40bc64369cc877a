#pragma once

#include "core/capture/captureformat.h"

#include <QDateTime>
#include <QIODevice>
#include <QObject>
#include <QPointer>
#include <QString>
#include <QStringList>
#include <QThread>

#include <atomic>
#include <functional>
#include <memory>

namespace deltascope {

class EventLog;
class CaptureSink;

struct CaptureWriterOptions {
    QString path; // ".zst" at the end means zstd-compressed
    bool keepIdentity = false; // store identity tokens (header and payloads) as they are
    QStringList identities; // tokens known up front (the connect form); more are learned from requests
    int flushIntervalMs = 100; // data reaches the OS at least this often (crash safety)
    // Make the file's folder if it is missing (the captures folder); false for a path the user
    // typed, where a missing folder is more likely a typo than a wish (as curl and tcpdump do).
    bool createFolder = true;
    // A plain file already at `path` (a capture the user chose to replace) stays until the document
    // arrives, at the first stream item with data or a seq: the recording goes to a hidden sibling
    // (".NAME.recording-PID", same compression, the file's mode), renamed over `path` then. With no
    // such item by stop(), the sibling is removed and the file is left as it was (keptExisting()),
    // so a connection that fails, or a stream the server refuses, costs no recording. Links, other
    // kinds of file, and a sibling that cannot be made (a name too long, a folder not writable) are
    // written through in place, as without this option. Siblings that killed recordings left
    // (their pid gone) are removed when the next one starts.
    bool keepExistingUntilDocument = false;
};

// Records an EventLog into a capture file as it grows. Lives on the log's thread; everything
// slow (formatting, redaction, compression, file I/O) happens on its own worker thread, so
// recording never blocks the UI thread. Events already in the log when start() is called are
// written first. Flushes to the OS at least every flushIntervalMs and right after a state change,
// so a crash (even SIGKILL) loses at most the last interval. Identity tokens are replaced unless
// keepIdentity is set; the header says so.
class CaptureWriter : public QObject
{
    Q_OBJECT
public:
    CaptureWriter(EventLog* log, capture::Header header, CaptureWriterOptions options, QObject* parent = nullptr);
    ~CaptureWriter() override; // stops (writes the end record) if still running

    // Opens the file and writes the header. Returns false with a message naming the file on error.
    bool start(QString* error = nullptr);
    // Writes everything pending plus the end record, closes the file. Blocks until the worker is
    // done (only at the end of a session).
    void stop();
    bool isRunning() const { return m_running; }
    QString path() const { return m_options.path; }
    qint64 eventsWritten() const;
    qint64 bytesWritten() const; // bytes in the file (compressed size for .zst)
    QString errorString() const; // the first write error, if any
    // keepExistingUntilDocument: whether the existing file is still the one at path() (before the
    // document's first item; after stop(), for good: this recording was discarded).
    bool keptExisting() const { return m_pendingReplace || m_keptExisting; }

    // Called now and then by writeLog() with the part done (0..1); false stops it. It may run the
    // event loop, where the log may grow: only the events it had when the write began are written.
    using WriteProgress = std::function<bool(double done)>;
    // Writes a whole log as a capture, synchronously (imports, tests, tools, a live export).
    // Identity tokens are replaced unless keepIdentity. Returns false with a message on a write
    // error, or with "cancelled" when `progress` stopped it (after which it reads the log no more).
    static bool writeLog(const EventLog& log, capture::Header header, QIODevice& out, bool keepIdentity,
        QString* error = nullptr, const WriteProgress& progress = {});

    // The captures folder: settings key "captures/folder" if set, else
    // QStandardPaths::AppDataLocation + "/captures". Created on demand by newCapturePath().
    static QString capturesFolder();
    static void setCapturesFolder(const QString& folder); // empty: back to the default
    // A new dated file name in `folder`: "2026-11-28_02-44-51_SPACE_KEY.ndjson", created empty so
    // that no other recorder (another process too) can take the same name.
    static QString newCapturePath(const QString& folder, const QString& space, const QString& key,
        const QDateTime& when = QDateTime::currentDateTimeUtc(), bool compressed = false);
    // Gives back a name newCapturePath() reserved when the recording did not start: the file goes
    // if it is still empty (nothing of a recording is ever lost this way).
    static void releaseCapturePath(const QString& path);

Q_SIGNALS:
    void writeFailed(const QString& message); // queued from the worker; recording stops writing

private:
    void onEventsAppended(qint64 first, qint64 last);
    void onEventLinked(qint64 a, qint64 b);
    void handOver(qint64 first, qint64 last);
    void replaceExisting();

    QPointer<EventLog> m_log;
    capture::Header m_header;
    CaptureWriterOptions m_options;
    QThread m_thread;
    CaptureSink* m_sink = nullptr; // lives on m_thread
    std::shared_ptr<std::atomic<qint64>> m_written;
    std::shared_ptr<std::atomic<qint64>> m_bytes;
    qint64 m_handedOver = 0; // events copied to the worker so far
    bool m_running = false;
    QString m_error;
    // keepExistingUntilDocument: the sibling being written while the existing file is kept.
    QString m_siblingPath;
    bool m_pendingReplace = false;
    bool m_keptExisting = false;
};

}
