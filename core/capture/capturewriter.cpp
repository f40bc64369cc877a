#include "core/capture/capturewriter.h"
#include "core/version.h"

#include "core/logging.h"
#include "core/session/eventlog.h"

#include <QCoreApplication>
#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QSettings>
#include <QStandardPaths>
#include <QTimer>

#include <zstd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <limits>

#include <signal.h>
#include <sys/stat.h>

namespace deltascope {

namespace {
struct PendingEvent {
    SessionEvent event;
    QString method;
    QByteArray payload;
};
}

namespace {

// A header's free text with known identity tokens replaced (its endpoint, notes and document).
void redactHeaderText(capture::Header& header, capture::IdentityRedactor& redactor)
{
    for (QString* text : { &header.endpoint, &header.notes, &header.space, &header.key })
        *text = QString::fromUtf8(redactor.redact(text->toUtf8(), false));
}

// A regular file of one name (not a link, not hard-linked elsewhere): one a new recording may
// replace by a new file of its own, rather than be written through.
bool isOwnPlainFile(const QFileInfo& file)
{
    struct stat status {};
    return file.exists() && file.isFile() && !file.isSymLink() && ::stat(QFile::encodeName(file.filePath()).constData(), &status) == 0
        && status.st_nlink == 1;
}

// Removes the ".NAME.recording-PID[.zst]" siblings of `existing` that a recording killed before its
// document came (SIGKILL, a crash) left behind: those whose process is gone. They hold only that
// session's first events, no document, and would otherwise pile up unseen beside the capture. A
// sibling of a recording still running (its pid alive, or not ours to signal) is left alone.
void removeAbandonedSiblings(const QFileInfo& existing)
{
    const QString prefix = QStringLiteral(".%1.recording-").arg(existing.fileName());
    const QDir folder = existing.absoluteDir();
    for (const QString& name : folder.entryList({ prefix + QLatin1Char('*') }, QDir::Files | QDir::Hidden | QDir::System)) {
        QStringView pidText = QStringView(name).mid(prefix.size());
        if (pidText.endsWith(QLatin1String(".zst")))
            pidText.chop(4);
        bool isNumber = false;
        const qint64 pid = pidText.toLongLong(&isNumber);
        if (!isNumber || pid <= 0 || pid > std::numeric_limits<pid_t>::max() || pid == QCoreApplication::applicationPid())
            continue;
        if (::kill(pid_t(pid), 0) == 0 || errno != ESRCH)
            continue; // alive (EPERM: alive, someone else's)
        const QFileInfo sibling(folder.filePath(name));
        if (sibling.isSymLink() || !sibling.isFile())
            continue;
        if (QFile::remove(sibling.filePath()))
            qCInfo(lcCapture).noquote() << "removed" << sibling.filePath() << "left by a recording (pid" << pid << ") that ended without its document";
    }
}

}

// The worker side: formats, redacts, compresses and writes. All its methods run on the worker
// thread (invoked with queued calls), so none of this touches the UI thread.
class CaptureSink : public QObject
{
public:
    CaptureSink(CaptureWriterOptions options, std::shared_ptr<std::atomic<qint64>> written,
        std::shared_ptr<std::atomic<qint64>> bytes)
        : m_options(std::move(options))
        , m_written(std::move(written))
        , m_bytes(std::move(bytes))
    {
        for (const QString& token : m_options.identities)
            m_redactor.addToken(token.toUtf8());
    }

    ~CaptureSink() override
    {
        if (m_zstd)
            ZSTD_freeCCtx(m_zstd);
    }

    // The name its messages give the file (after the writer renamed it; worker thread).
    void setPath(const QString& path) { m_options.path = path; }

    // Runs on the worker thread; returns an error message or an empty string.
    QString open(const QByteArray& headerLine)
    {
        m_file.setFileName(m_options.path);
        // An older capture at this path may be open in a reader that maps it (a replay, the GUI):
        // cut short in place, its pages would vanish under that reader (SIGBUS). Unlinked instead,
        // it lives on for that reader while this one is written as a new file with its mode (a
        // capture holds private data; 0600 stays 0600). Symbolic and hard links and other kinds
        // of file are written through, as given.
        const QFileInfo existing(m_options.path);
        const bool replace = isOwnPlainFile(existing);
        const QFileDevice::Permissions mode = replace ? existing.permissions() : QFileDevice::Permissions();
        if (replace)
            QFile::remove(m_options.path);
        if (!m_file.open(QIODevice::WriteOnly | QIODevice::Truncate | QIODevice::Unbuffered))
            return QStringLiteral("cannot write capture %1: %2").arg(m_options.path, m_file.errorString());
        if (replace)
            m_file.setPermissions(mode);
        if (m_options.path.endsWith(QLatin1String(".zst"))) {
            m_zstd = ZSTD_createCCtx();
            ZSTD_CCtx_setParameter(m_zstd, ZSTD_c_compressionLevel, 3);
            ZSTD_CCtx_setParameter(m_zstd, ZSTD_c_checksumFlag, 1);
        }
        m_flushTimer = new QTimer(this);
        m_flushTimer->setInterval(std::max(1, m_options.flushIntervalMs));
        m_flushTimer->setSingleShot(true);
        QObject::connect(m_flushTimer, &QTimer::timeout, this, [this] { flush(); });
        m_buffer = headerLine;
        m_buffer.append('\n');
        flush();
        return m_error;
    }

    struct Link {
        qint64 a;
        qint64 b;
        bool seq;
    };
    void write(std::vector<PendingEvent> batch, std::vector<Link> links)
    {
        if (!m_file.isOpen())
            return;
        bool urgent = false;
        for (PendingEvent& pending : batch) {
            const SessionEvent& event = pending.event;
            if (m_options.keepIdentity) {
                capture::appendEventLine(m_buffer, event, pending.method, pending.payload);
            } else {
                const QByteArray redacted = m_redactor.redact(pending.payload, capture::carriesIdentity(event.kind));
                capture::appendEventLine(m_buffer, event, pending.method, redacted);
            }
            m_buffer.append('\n');
            ++m_count;
            // State changes, epochs and incidents must survive a crash right after them.
            urgent = urgent || event.kind == EventKind::StateChanged || event.kind == EventKind::EpochStarted
                || event.kind == EventKind::Incident || event.kind == EventKind::Disconnected
                || event.kind == EventKind::Failure;
        }
        for (const Link& link : links) {
            capture::appendLinkLine(m_buffer, link.a, link.b, link.seq);
            m_buffer.append('\n');
        }
        if (urgent || m_buffer.size() > (1 << 20))
            flush();
        else if (!m_flushTimer->isActive())
            m_flushTimer->start();
    }

    void finish(qint64 wallMs)
    {
        if (!m_file.isOpen())
            return;
        capture::appendEndLine(m_buffer, m_count, wallMs);
        m_buffer.append('\n');
        flush(true);
        m_file.close();
        if (m_flushTimer)
            m_flushTimer->stop();
    }

    QString error() const { return m_error; }
    std::function<void(const QString&)> onError;

private:
    void flush(bool end = false)
    {
        if (m_flushTimer)
            m_flushTimer->stop();
        if (!m_file.isOpen() || (m_buffer.isEmpty() && !end))
            return;
        if (m_zstd) {
            // ZSTD_e_flush ends a block: everything so far decodes even if the process dies now.
            ZSTD_inBuffer input { m_buffer.constData(), std::size_t(m_buffer.size()), 0 };
            const ZSTD_EndDirective mode = end ? ZSTD_e_end : ZSTD_e_flush;
            std::size_t remaining = 0;
            do {
                m_compressed.resize(qsizetype(ZSTD_CStreamOutSize()));
                ZSTD_outBuffer output { m_compressed.data(), std::size_t(m_compressed.size()), 0 };
                remaining = ZSTD_compressStream2(m_zstd, &output, &input, mode);
                if (ZSTD_isError(remaining)) {
                    fail(QStringLiteral("cannot compress capture %1: %2")
                             .arg(m_options.path, QString::fromLatin1(ZSTD_getErrorName(remaining))));
                    return;
                }
                writeRaw(m_compressed.constData(), qint64(output.pos));
            } while (remaining != 0 || input.pos < input.size);
        } else {
            writeRaw(m_buffer.constData(), m_buffer.size());
        }
        m_buffer.clear();
        m_written->store(m_count);
    }

    void writeRaw(const char* data, qint64 size)
    {
        if (!size || !m_error.isEmpty())
            return;
        if (m_file.write(data, size) != size) {
            fail(QStringLiteral("cannot write capture %1: %2").arg(m_options.path, m_file.errorString()));
            return;
        }
        m_bytes->fetch_add(size);
    }

    void fail(const QString& message)
    {
        if (!m_error.isEmpty())
            return;
        m_error = message;
        // The caller shows the error (errorString(), writeFailed): a warning too would say it twice.
        qCInfo(lcCapture).noquote() << message;
        if (onError)
            onError(message);
    }

    CaptureWriterOptions m_options;
    std::shared_ptr<std::atomic<qint64>> m_written;
    std::shared_ptr<std::atomic<qint64>> m_bytes;
    capture::IdentityRedactor m_redactor;
    QFile m_file;
    ZSTD_CCtx* m_zstd = nullptr;
    QByteArray m_buffer;
    QByteArray m_compressed;
    QTimer* m_flushTimer = nullptr;
    qint64 m_count = 0;
    QString m_error;
};

CaptureWriter::CaptureWriter(EventLog* log, capture::Header header, CaptureWriterOptions options, QObject* parent)
    : QObject(parent)
    , m_log(log)
    , m_header(std::move(header))
    , m_options(std::move(options))
    , m_written(std::make_shared<std::atomic<qint64>>(0))
    , m_bytes(std::make_shared<std::atomic<qint64>>(0))
{
    m_thread.setObjectName(QStringLiteral("capture-writer"));
}

CaptureWriter::~CaptureWriter()
{
    stop();
}

bool CaptureWriter::start(QString* error)
{
    if (m_running)
        return true;
    if (!m_log) {
        if (error)
            *error = QStringLiteral("no event log to record");
        return false;
    }
    const QFileInfo info(m_options.path);
    if (!info.absoluteDir().exists() && !m_options.createFolder) {
        if (error)
            *error = QStringLiteral("cannot write capture %1: the folder %2 does not exist").arg(m_options.path, info.absolutePath());
        return false;
    }
    if (!info.absoluteDir().exists() && !QDir().mkpath(info.absolutePath())) {
        if (error)
            *error = QStringLiteral("cannot create the captures folder %1").arg(info.absolutePath());
        return false;
    }
    capture::Header header = m_header;
    if (header.tool.isEmpty())
        header.tool = QStringLiteral("deltascope");
    if (!m_options.keepIdentity) {
        if (!header.identity.isEmpty())
            m_options.identities.append(header.identity);
        header.identity.clear();
        header.identityRemoved = true;
        // The header promises no token anywhere: a note or an endpoint (`?identity=`) may quote one.
        capture::IdentityRedactor known;
        for (const QString& token : m_options.identities)
            known.addToken(token.toUtf8());
        known.learnFromUrl(header.endpoint.toUtf8());
        redactHeaderText(header, known);
    } else if (header.identity.isEmpty() && !m_options.identities.isEmpty()) {
        header.identity = m_options.identities.first();
    }
    if (header.source.isEmpty())
        header.source = QStringLiteral("record");

    // An existing plain file kept until the document's first item: the worker writes a sibling meanwhile.
    CaptureWriterOptions sinkOptions = m_options;
    m_pendingReplace = false;
    m_keptExisting = false;
    if (m_options.keepExistingUntilDocument) {
        const QFileInfo existing(m_options.path);
        if (isOwnPlainFile(existing)) {
            const bool compressed = m_options.path.endsWith(QLatin1String(".zst"));
            m_siblingPath = existing.absoluteDir().filePath(QStringLiteral(".%1.recording-%2%3")
                    .arg(existing.fileName())
                    .arg(QCoreApplication::applicationPid())
                    .arg(compressed ? QStringLiteral(".zst") : QString()));
            QFile::remove(m_siblingPath); // a leftover of a crashed run with the same pid
            removeAbandonedSiblings(existing);
            // Made here first, with the old file's mode, which the worker's open() keeps for what
            // it writes there (a capture holds private data: 0600 stays 0600 from the first byte).
            // A sibling that cannot be made (a name too long, a folder not writable) leaves the
            // file to be written in place, as it was before this option.
            QFile reserve(m_siblingPath);
            if (reserve.open(QIODevice::WriteOnly | QIODevice::NewOnly)) {
                reserve.setPermissions(existing.permissions());
                sinkOptions.path = m_siblingPath;
                m_pendingReplace = true;
            } else {
                qCInfo(lcCapture).noquote() << "cannot make" << m_siblingPath << "(" << reserve.errorString() << "): writing" << m_options.path << "in place";
            }
        }
    }
    m_sink = new CaptureSink(sinkOptions, m_written, m_bytes);
    m_sink->moveToThread(&m_thread);
    connect(&m_thread, &QThread::finished, m_sink, &QObject::deleteLater);
    QPointer<CaptureWriter> self(this);
    m_sink->onError = [self](const QString& message) {
        QMetaObject::invokeMethod(
            self.data(),
            [self, message] {
                if (!self)
                    return;
                if (self->m_error.isEmpty())
                    self->m_error = message;
                Q_EMIT self->writeFailed(message);
            },
            Qt::QueuedConnection);
    };
    m_thread.start();
    QString openError;
    const QByteArray headerLine = header.toJsonLine();
    QMetaObject::invokeMethod(
        m_sink, [this, headerLine, &openError] { openError = m_sink->open(headerLine); }, Qt::BlockingQueuedConnection);
    if (!openError.isEmpty()) {
        m_thread.quit();
        m_thread.wait();
        m_sink = nullptr;
        if (m_pendingReplace)
            QFile::remove(m_siblingPath);
        m_pendingReplace = false;
        m_error = openError;
        if (error)
            *error = openError;
        return false;
    }
    m_running = true;
    connect(m_log, &EventLog::eventsAppended, this, &CaptureWriter::onEventsAppended);
    connect(m_log, &EventLog::eventLinked, this, &CaptureWriter::onEventLinked);
    connect(m_log, &QObject::destroyed, this, &CaptureWriter::stop);
    m_handedOver = 0;
    if (!m_log->isEmpty())
        handOver(0, m_log->size() - 1);
    return true;
}

void CaptureWriter::onEventsAppended(qint64 first, qint64 last)
{
    Q_UNUSED(first)
    if (!m_running || !m_log)
        return;
    // Batches always continue where the last left off; start from what was handed over so a
    // batch emitted before start() cannot leave a hole.
    if (last >= m_handedOver)
        handOver(m_handedOver, last);
}

void CaptureWriter::handOver(qint64 first, qint64 last)
{
    std::vector<PendingEvent> batch;
    std::vector<CaptureSink::Link> links;
    batch.reserve(std::size_t(last - first + 1));
    for (qint64 i = first; i <= last; ++i) {
        PendingEvent pending;
        pending.event = m_log->at(i);
        // A link to an earlier event is in this event's line; seq links need their own record.
        const qint64 seqLinked = m_log->seqLink(i);
        if (seqLinked >= 0 && seqLinked < i)
            links.push_back({ seqLinked, i, true });
        pending.method = m_log->string(pending.event.methodString);
        pending.payload = m_log->payload(i);
        // The document's first item (its snapshot: data, or a seq for an empty one) is what makes
        // this a recording worth the old one; a hello alone comes before the server judges the
        // request, which may still be refused.
        if (m_pendingReplace && pending.event.kind == EventKind::StreamItem && (pending.event.parts & (PartData | PartSeq)))
            replaceExisting();
        batch.push_back(std::move(pending));
    }
    m_handedOver = last + 1;
    CaptureSink* sink = m_sink;
    QMetaObject::invokeMethod(
        sink, [sink, batch = std::move(batch), links = std::move(links)]() mutable { sink->write(std::move(batch), std::move(links)); },
        Qt::QueuedConnection);
}

void CaptureWriter::replaceExisting()
{
    // The worker keeps writing through its open descriptor, which now names `path`; its later
    // messages name `path` too (queued: it reads the name on its own thread).
    m_pendingReplace = false;
    if (::rename(QFile::encodeName(m_siblingPath).constData(), QFile::encodeName(m_options.path).constData()) == 0) {
        CaptureSink* sink = m_sink;
        QMetaObject::invokeMethod(sink, [sink, path = m_options.path] { sink->setPath(path); }, Qt::QueuedConnection);
    } else {
        const QString message = QStringLiteral("cannot replace capture %1 with this recording (%2); it goes on in %3")
                                    .arg(m_options.path, QString::fromLocal8Bit(std::strerror(errno)), m_siblingPath);
        qCWarning(lcCapture).noquote() << message;
        if (m_error.isEmpty())
            m_error = message;
        Q_EMIT writeFailed(message);
    }
}

void CaptureWriter::onEventLinked(qint64 a, qint64 b)
{
    if (!m_running)
        return;
    // A link to an event not yet handed over travels in that event's own line.
    if (std::max(a, b) >= m_handedOver)
        return;
    const bool seq = m_log && m_log->at(a).linkedIndex != b && m_log->seqLink(a) == b;
    CaptureSink* sink = m_sink;
    QMetaObject::invokeMethod(
        sink, [sink, a, b, seq] { sink->write({}, { { a, b, seq } }); }, Qt::QueuedConnection);
}

void CaptureWriter::stop()
{
    if (!m_running)
        return;
    if (m_log) {
        m_log->flushNotifications();
        if (m_log->size() > m_handedOver)
            handOver(m_handedOver, m_log->size() - 1);
        disconnect(m_log, nullptr, this, nullptr);
    }
    m_running = false;
    CaptureSink* sink = m_sink;
    const qint64 now = QDateTime::currentMSecsSinceEpoch();
    QMetaObject::invokeMethod(sink, [sink, now] { sink->finish(now); }, Qt::BlockingQueuedConnection);
    m_thread.quit();
    m_thread.wait();
    m_sink = nullptr;
    if (m_pendingReplace) {
        // No document came: nothing of it was recorded, and the file asked for is a recording.
        m_pendingReplace = false;
        m_keptExisting = true;
        QFile::remove(m_siblingPath);
    }
}

qint64 CaptureWriter::eventsWritten() const
{
    return m_written->load();
}

qint64 CaptureWriter::bytesWritten() const
{
    return m_bytes->load();
}

QString CaptureWriter::errorString() const
{
    return m_error;
}

bool CaptureWriter::writeLog(const EventLog& log, capture::Header header, QIODevice& out, bool keepIdentity, QString* error,
    const WriteProgress& progress)
{
    const qint64 end = log.size(); // what the log holds now: a progress call may let it grow
    // Every 4,096 events: a few milliseconds of work between two looks at the event loop.
    constexpr qint64 kProgressEvery = 4096;
    const auto goOn = [&](qint64 i, double from, double span) {
        if (!progress || i % kProgressEvery != 0 || end == 0 || progress(from + span * double(i) / double(end)))
            return true;
        if (error)
            *error = QStringLiteral("cancelled");
        return false;
    };
    // With identities replaced, every event is read twice: the first pass is the first half.
    const double learning = keepIdentity ? 0.0 : 0.5;
    capture::IdentityRedactor redactor;
    if (!keepIdentity) {
        if (!header.identity.isEmpty())
            redactor.addToken(header.identity.toUtf8());
        redactor.learnFromUrl(header.endpoint.toUtf8());
        header.identity.clear();
        header.identityRemoved = true;
        // Every token first: a note before the request that carries one (a HAR's error message)
        // must lose it too.
        for (qint64 i = 0; i < end; ++i) {
            if (!goOn(i, 0.0, learning))
                return false;
            if (capture::carriesIdentity(log.at(i).kind))
                redactor.learn(log.payload(i));
        }
        redactHeaderText(header, redactor);
    }
    QByteArray buffer = header.toJsonLine();
    buffer.append('\n');
    auto flush = [&] {
        if (out.write(buffer) != buffer.size()) {
            if (error)
                *error = QStringLiteral("write failed: %1").arg(out.errorString());
            return false;
        }
        buffer.clear();
        return true;
    };
    for (qint64 i = 0; i < end; ++i) {
        if (!goOn(i, learning, 1.0 - learning))
            return false;
        const SessionEvent* event = &log.at(i);
        SessionEvent linkedPastEnd;
        if (event->linkedIndex >= end) {
            // Its answer came while this was written: the capture ends before it.
            linkedPastEnd = *event;
            linkedPastEnd.linkedIndex = -1;
            event = &linkedPastEnd;
        }
        const QByteArray payload = log.payload(i);
        capture::appendEventLine(buffer, *event, log.string(event->methodString),
            keepIdentity ? payload : redactor.redact(payload, false));
        buffer.append('\n');
        const qint64 seqLinked = log.seqLink(i);
        if (seqLinked >= 0 && seqLinked < i) {
            capture::appendLinkLine(buffer, seqLinked, i, true);
            buffer.append('\n');
        }
        if (buffer.size() > (1 << 20) && !flush())
            return false;
    }
    capture::appendEndLine(buffer, end, QDateTime::currentMSecsSinceEpoch());
    buffer.append('\n');
    return flush();
}

namespace {
// The window's settings, whichever program asks: deltascope-cli record and the window keep their
// captures in one folder (the CLI's own application name gave it a second one nobody looked in).
QSettings capturesSettings()
{
    return QSettings(QString::fromLatin1(kOrganizationName), QString::fromLatin1(kApplicationName));
}
}

QString CaptureWriter::capturesFolder()
{
    const QString configured = capturesSettings().value(QStringLiteral("captures/folder")).toString();
    if (!configured.isEmpty())
        return configured;
    // The window's AppDataLocation, spelled out so that it does not follow the running program's name.
    return QStandardPaths::writableLocation(QStandardPaths::GenericDataLocation) + QLatin1Char('/') + QString::fromLatin1(kOrganizationName)
        + QLatin1Char('/') + QString::fromLatin1(kApplicationName) + QStringLiteral("/captures");
}

void CaptureWriter::setCapturesFolder(const QString& folder)
{
    QSettings settings = capturesSettings();
    if (folder.isEmpty())
        settings.remove(QStringLiteral("captures/folder"));
    else
        settings.setValue(QStringLiteral("captures/folder"), folder);
}

void CaptureWriter::releaseCapturePath(const QString& path)
{
    const QFileInfo info(path);
    if (info.isFile() && info.size() == 0)
        QFile::remove(path);
}

QString CaptureWriter::newCapturePath(
    const QString& folder, const QString& space, const QString& key, const QDateTime& when, bool compressed)
{
    auto clean = [](const QString& text) {
        QString result;
        for (const QChar c : text.left(40))
            result.append(c.isLetterOrNumber() || c == QLatin1Char('-') ? c : QLatin1Char('_'));
        return result;
    };
    QDir().mkpath(folder);
    QString base = when.toUTC().toString(QStringLiteral("yyyy-MM-dd_HH-mm-ss"));
    if (!space.isEmpty())
        base += QLatin1Char('_') + clean(space);
    if (!key.isEmpty())
        base += QLatin1Char('_') + clean(key);
    const QString suffix = compressed ? QStringLiteral(".ndjson.zst") : QStringLiteral(".ndjson");
    // Each candidate is created with O_EXCL (NewOnly), which reserves it: two recorders started in
    // the same second (two CI jobs, two windows) once both chose the first free name and wrote
    // into one file. The empty file is what the recorder then opens.
    QString path = QDir(folder).filePath(base + suffix);
    for (int n = 2; n < 10000; ++n) {
        QFile reserve(path);
        if (reserve.open(QIODevice::WriteOnly | QIODevice::NewOnly))
            return path;
        if (!QFileInfo::exists(path))
            return path; // not a name clash (a folder that cannot be written): the recorder says what
        path = QDir(folder).filePath(base + QStringLiteral("-%1").arg(n) + suffix);
    }
    return path;
}

}
