#pragma once

#include "core/capture/capturecheckpoints.h"
#include "core/capture/captureformat.h"
#include "core/session/eventlog.h"
#include "core/session/payloadstore.h"

#include <QFile>
#include <QObject>
#include <QString>
#include <QTemporaryFile>

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>

namespace deltascope {

// Payloads of an opened capture, read back from the file on demand (the file is memory-mapped;
// only the pages of payloads actually read become resident). A reference's offset points at the
// JSON token in the line: a string is unescaped, an object (a local event's fields) is returned
// as is, and the base64 bit marks frames stored as base64. Payloads appended later (e.g. replay
// against a live server) are kept in memory. Reads are thread-safe; appends are not.
class FilePayloadStore final : public PayloadStore
{
public:
    static constexpr quint64 kBase64Bit = quint64(1) << 63;
    static constexpr quint64 kMemoryBit = quint64(1) << 62;

    FilePayloadStore() = default;
    ~FilePayloadStore() override;
    // Maps `path`. `temporary` (a decompressed copy) is kept alive with the store.
    bool open(const QString& path, QString* error, std::unique_ptr<QTemporaryFile> temporary = {});

    // The loader sets where the next appended payload already is in the file.
    void setNextRef(PayloadRef ref)
    {
        m_next = ref;
        m_hasNext = true;
    }
    PayloadRef append(QByteArrayView bytes) override;
    QByteArray read(const PayloadRef& ref) const override;
    quint64 totalBytes() const override { return m_total; }
    // The raw token bytes, undecoded (for exports that copy lines verbatim).
    QByteArrayView rawToken(const PayloadRef& ref) const;

private:
    QFile m_file;
    std::unique_ptr<QTemporaryFile> m_temporary;
    const uchar* m_map = nullptr;
    qint64 m_size = 0;
    PayloadRef m_next;
    bool m_hasNext = false;
    MemoryPayloadStore m_memory;
    quint64 m_total = 0;
};

// Something wrong in the file, with where.
struct CaptureDiagnostic {
    qint64 line = 0; // 1-based; 0 = the whole file
    QString message;
};

struct CaptureOpenOptions {
    // Checkpoints (CaptureCheckpoints): a copy of the fold state at least every
    // `checkpointInterval` events, so the tree at any event costs at most that many folds.
    // 0: none are made (Capture::checkpoints stays null).
    int checkpointInterval = CaptureCheckpoints::kDefaultInterval;
    // Make them on a worker thread after open() returns (the capture is usable at once; seeks
    // get faster as checkpoints appear), or before open() returns (progress phase 2).
    bool checkpointsInBackground = true;
    // Called now and then with bytes processed and total (phase 0: decompressing; phase 1: lines;
    // phase 2: checkpoints, only when they are not made in the background).
    std::function<void(int phase, qint64 done, qint64 total)> progress;
    const std::atomic<bool>* cancel = nullptr;
    int maxDiagnostics = 200; // more are counted, not kept
    // A .zst capture whose text would exceed this many bytes is refused (0: no limit). Its text is
    // written to a temporary file first, and a few kilobytes of zstd can claim gigabytes.
    qint64 maxDecompressedBytes = 0;
    // A .zst capture's text is cut where it runs longer than this without a line break (what the
    // reader would skip as one line anyway): past that it is no capture text but, say, a "zip
    // bomb" of one repeated byte, which would fill the disk. What came before is opened.
    qint64 maxLineBytes = capture::kMaxLineBytes;
};

// An opened capture: header, the event log (payloads on disk), damage found, and checkpoints.
class Capture
{
public:
    Capture();
    ~Capture();

    QString path;
    capture::Header header;
    std::unique_ptr<EventLog> log;
    std::vector<CaptureDiagnostic> diagnostics; // damage other than a truncated tail
    qint64 diagnosticCount = 0; // including those not kept
    // Places where events were lost: lines skipped, event indexes that jump. Notes that lose
    // nothing (a newer kind kept as a note, time going backwards, a cut-off compressed tail) are
    // diagnostics but not here.
    qint64 lostPlaces = 0;
    // A .zst capture whose compressed stream is damaged part-way (not just cut off where a recorder
    // stopped): what it held past the damage is lost, one of the lostPlaces.
    bool compressedStreamDamaged = false;
    bool truncatedTail = false;
    QString truncatedTailMessage;
    bool closedCleanly = false; // an end record was found, with no event after it
    qint64 eventsAfterEndLine = 0; // the line of an end record that events follow (0: none)
    // The line where another capture starts (files joined with `cat`; 0: none). Only the first
    // capture is read; the rest is named once, in secondCaptureMessage (with how to split it off),
    // whatever the diagnostics limit. It is not damage to this capture: no loss is counted.
    qint64 secondCaptureLine = 0;
    QString secondCaptureMessage;
    bool compressed = false;
    qint64 fileSize = 0;
    qint64 lineCount = 0;
    std::unique_ptr<CaptureCheckpoints> checkpoints;

    // A summary of the problems for a person, empty when there were none.
    QStringList notices() const;
    // What reading the file found (damage, a cut-off tail, a joined capture): notices() without the
    // header's `partial`, which says how the session was captured, not that the file was harmed.
    QStringList readingNotices() const;
};

// Streams a capture (.ndjson or .ndjson.zst) into a Capture. Reports progress, can be cancelled
// (returns null with error "cancelled"), tolerates a truncated last line (says so), and reports
// other damage with the line number and continues. Returns null with a message when the file
// cannot be a capture at all (missing, empty, wrong format, newer major version). Runs on any
// thread; the returned log belongs to that thread until moved (EventLog::moveToThread).
class CaptureReader
{
public:
    static std::unique_ptr<Capture> open(const QString& path, const CaptureOpenOptions& options, QString* error);
};

// Whether the file at `path` is a capture: its first line (decompressed when it is zstd) is a
// capture header. False for a missing or unreadable file.
bool isCaptureFile(const QString& path);

// Opens a capture on a worker thread for the GUI: progress and the result arrive as queued
// signals; the result's log and checkpoints are moved to the loader's thread before finished()
// fires. The checkpoints go on being made in the background (CaptureCheckpoints::completed()).
class CaptureLoader : public QObject
{
    Q_OBJECT
public:
    explicit CaptureLoader(QObject* parent = nullptr);
    ~CaptureLoader() override; // cancels and waits

    void open(const QString& path, CaptureOpenOptions options = {});
    void cancel();
    bool isRunning() const;
    // The result after finished(true); ownership passes to the caller.
    std::unique_ptr<Capture> takeCapture();

Q_SIGNALS:
    void progress(int phase, qint64 done, qint64 total);
    void finished(bool ok, const QString& error);

private:
    struct Job;
    std::shared_ptr<Job> m_job;
    std::unique_ptr<Capture> m_result;
};

}
