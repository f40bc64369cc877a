#include "core/capture/capturereader.h"

#include "core/capture/capturecheckpoints.h"
#include "core/capture/zstdreaddevice.h"
#include "core/logging.h"

#include <QDateTime>
#include <QDir>
#include <QFileInfo>
#include <QPointer>
#include <QRegularExpression>
#include <QStorageInfo>
#include <QThread>
#include <QTimeZone>

#include <simdjson.h>
#include <zstd.h>

#include <algorithm>
#include <cstring>
#include <optional>

namespace deltascope {

namespace {

// Where a capture header starts in a line that is not an event (files joined with `cat`): at the
// line's start, or glued to a cut-off last line part-way along it; npos when there is none. Inside
// an event's frame text its quotes would be escaped.
std::size_t joinedHeaderAt(std::string_view line)
{
    // Latin-1, one character a byte, so a match's position is its byte offset whatever the line
    // holds (a line cut part-way through a UTF-8 sequence, before the next capture's header).
    static const QRegularExpression header(QStringLiteral("\\{[ \t\r\n]*\"format\"[ \t\r\n]*:[ \t\r\n]*\"%1\"").arg(QLatin1String(capture::kFormatName)));
    if (line.find(capture::kFormatName) == std::string_view::npos)
        return std::string_view::npos; // the common case, without a regular expression
    const QRegularExpressionMatch match = header.match(QString::fromLatin1(line.data(), qsizetype(line.size())));
    return match.hasMatch() ? std::size_t(match.capturedStart()) : std::string_view::npos;
}

// A path as a shell reads it: quoted unless it is plain.
QString shellQuoted(const QString& path)
{
    static const QRegularExpression plain(QStringLiteral("^[A-Za-z0-9_./+-]+$"));
    if (path.startsWith(QLatin1Char('-'))) // not an option to the command it is given to
        return shellQuoted(QStringLiteral("./") + path);
    if (plain.match(path).hasMatch())
        return path;
    QString quoted = path;
    quoted.replace(QLatin1Char('\''), QStringLiteral("'\\''"));
    return QLatin1Char('\'') + quoted + QLatin1Char('\'');
}

// Where a split-off part of the capture at `path` goes, for a command to write it: beside it, named
// after it without .zst or .ndjson, then `.PART.ndjson` (never the file itself), shell-quoted.
QString splitTarget(const QString& path, const QString& part)
{
    const QFileInfo file(path);
    QString base = file.fileName();
    for (const QString& suffix : { QStringLiteral(".zst"), QStringLiteral(".ndjson") }) {
        if (base.endsWith(suffix))
            base.chop(suffix.size());
    }
    const QString name = QStringLiteral("%1.%2.ndjson").arg(base, part);
    return shellQuoted(file.path() == QLatin1String(".") ? name : file.dir().filePath(name));
}

}

// ---------------------------------------------------------------------------------------------
// FilePayloadStore

FilePayloadStore::~FilePayloadStore()
{
    if (m_map)
        m_file.unmap(const_cast<uchar*>(m_map));
}

bool FilePayloadStore::open(const QString& path, QString* error, std::unique_ptr<QTemporaryFile> temporary)
{
    m_temporary = std::move(temporary);
    m_file.setFileName(path);
    if (!m_file.open(QIODevice::ReadOnly)) {
        if (error)
            *error = QStringLiteral("cannot read %1: %2").arg(path, m_file.errorString());
        return false;
    }
    m_size = m_file.size();
    if (m_size > 0) {
        m_map = m_file.map(0, m_size);
        if (!m_map) {
            if (error)
                *error = QStringLiteral("cannot map %1: %2").arg(path, m_file.errorString());
            return false;
        }
    }
    return true;
}

PayloadRef FilePayloadStore::append(QByteArrayView bytes)
{
    if (m_hasNext) {
        m_hasNext = false;
        m_total += m_next.size;
        return m_next;
    }
    PayloadRef ref = m_memory.append(bytes);
    ref.offset |= kMemoryBit;
    m_total += quint64(bytes.size());
    return ref;
}

QByteArrayView FilePayloadStore::rawToken(const PayloadRef& ref) const
{
    const quint64 offset = ref.offset & ~(kBase64Bit | kMemoryBit);
    if ((ref.offset & kMemoryBit) || !m_map || offset + ref.length > quint64(m_size))
        return {};
    return QByteArrayView(reinterpret_cast<const char*>(m_map) + offset, ref.length);
}

QByteArray FilePayloadStore::read(const PayloadRef& ref) const
{
    if (ref.offset & kMemoryBit) {
        PayloadRef memory = ref;
        memory.offset &= ~kMemoryBit;
        return m_memory.read(memory);
    }
    const QByteArrayView token = rawToken(ref);
    if (token.isEmpty())
        return {};
    if (ref.offset & kBase64Bit)
        return QByteArray::fromBase64(token.sliced(1, token.size() - 2).toByteArray());
    if (token.front() == '"') {
        QByteArray decoded;
        if (!capture::decodeJsonString(token, decoded))
            return token.toByteArray();
        return decoded;
    }
    return token.toByteArray();
}

// ---------------------------------------------------------------------------------------------
// Capture

Capture::Capture() = default;
Capture::~Capture() = default;

QStringList Capture::notices() const
{
    QStringList result = readingNotices();
    if (header.partial)
        result << QStringLiteral("the capture starts mid-stream (%1): the first document tree may be partial")
                      .arg(header.source.isEmpty() ? QStringLiteral("partial source") : header.source);
    return result;
}

QStringList Capture::readingNotices() const
{
    QStringList result;
    if (secondCaptureLine)
        result << secondCaptureMessage;
    if (truncatedTail)
        result << truncatedTailMessage;
    else if (!closedCleanly && eventsAfterEndLine > 0)
        result << QStringLiteral("the end record at line %1 is followed by more events: the file was appended to after that session "
                                 "ended; every event is kept, and the last ones have no end record of their own")
                      .arg(eventsAfterEndLine);
    else if (!closedCleanly && secondCaptureLine)
        result << QStringLiteral("the first capture has no end record before the next one starts: it was cut off (the recorder "
                                 "crashed or was killed); everything up to its last flush is here");
    else if (!closedCleanly && compressedStreamDamaged)
        result << QStringLiteral("the capture has no end record: its compressed stream is damaged (said below), and what it held "
                                 "after the damage is lost");
    else if (!closedCleanly)
        result << QStringLiteral("the capture has no end record: it was cut off (the recorder crashed, was killed, or is "
                                 "still recording); everything up to its last flush is here");
    for (const CaptureDiagnostic& diagnostic : diagnostics)
        result << (diagnostic.line ? QStringLiteral("line %1: %2").arg(diagnostic.line).arg(diagnostic.message)
                                   : diagnostic.message);
    if (diagnosticCount > qint64(diagnostics.size()))
        result << QStringLiteral("... and %1 more damaged lines").arg(diagnosticCount - qint64(diagnostics.size()));
    return result;
}

// ---------------------------------------------------------------------------------------------
// Reading

namespace {

constexpr qint64 kChunk = 4 << 20;
constexpr qint64 kKeepFree = qint64(256) << 20; // decompress() leaves the temporary folder this much room

// Decompresses a .zst capture into a temporary file so its payloads can be mapped. A damaged or
// truncated stream keeps everything decoded before the damage.
// `readPath` gets the name to read the text by while the returned file is open.
std::unique_ptr<QTemporaryFile> decompress(const QString& path, const CaptureOpenOptions& options, QString& note, bool& damaged,
    QString& readPath, QString* error)
{
    QFile in(path);
    if (!in.open(QIODevice::ReadOnly)) {
        *error = QStringLiteral("cannot read %1: %2").arg(path, in.errorString());
        return nullptr;
    }
    auto out = std::make_unique<QTemporaryFile>();
    out->setFileTemplate(QDir::tempPath() + QStringLiteral("/deltascope-capture-XXXXXX.ndjson"));
    if (!out->open()) {
        *error = QStringLiteral("cannot create a temporary file to decompress %1: %2").arg(path, out->errorString());
        return nullptr;
    }
    readPath = out->fileName();
#if defined(Q_OS_LINUX)
    // The text is the capture in the clear: unlinked at once, so no interruption (Ctrl+C, a kill)
    // leaves a copy behind. It is read on through /proc/self/fd while this handle keeps it open.
    const QString openCopy = QStringLiteral("/proc/self/fd/%1").arg(out->handle());
    if (QFileInfo::exists(openCopy) && QFile::remove(out->fileName())) {
        out->setAutoRemove(false);
        readPath = openCopy;
    }
#endif
    ZstdReadDevice decoder(in);
    QByteArray text(qsizetype(kChunk), Qt::Uninitialized);
    const qint64 total = in.size();
    qint64 written = 0;
    qint64 sinceLineBreak = 0; // bytes since the last line break written
    QString unbrokenNote;
    QStorageInfo room(QDir::tempPath());
    qint64 chunks = 0;
    for (;;) {
        const qint64 got = decoder.read(text.data(), text.size());
        if (got <= 0)
            break;
        written += got;
        if (options.maxDecompressedBytes > 0 && written > options.maxDecompressedBytes) {
            *error = QStringLiteral("%1 decompresses to more than %2 bytes, the limit for opening it").arg(path).arg(options.maxDecompressedBytes);
            return nullptr;
        }
        // A few kilobytes of zstd can claim gigabytes (a "zip bomb"), all of it written to the disk
        // before a line is read. Capture text breaks lines at most every kMaxLineBytes (what the
        // reader skips as one line); past that it is not capture text, and the rest is left out.
        const QByteArrayView chunk(text.constData(), got);
        const qsizetype lastBreak = chunk.lastIndexOf('\n');
        sinceLineBreak = lastBreak >= 0 ? got - (lastBreak + 1) : sinceLineBreak + got;
        if (sinceLineBreak > options.maxLineBytes) {
            unbrokenNote = QStringLiteral("the decompressed text runs over %1 MiB without a line break from byte %2 on: that is "
                                          "no capture text (a capture line is at most %1 MiB); what came before it is shown")
                               .arg(options.maxLineBytes >> 20)
                               .arg(written - sinceLineBreak);
            // The lines this chunk ends before the run still belong to the capture.
            if (lastBreak >= 0 && out->write(text.constData(), lastBreak + 1) != lastBreak + 1) {
                *error = QStringLiteral("cannot decompress %1 into a temporary file in %2: %3").arg(path, QDir::tempPath(), out->errorString());
                return nullptr;
            }
            break;
        }
        // And room: the text must leave the disk usable. Looked at every 16 chunks (a look reads
        // the mount table), with room for those chunks kept.
        if (++chunks % 16 == 1) {
            room.refresh();
            if (room.isValid() && room.bytesAvailable() < 16 * kChunk + kKeepFree) {
                *error = QStringLiteral("%1 decompresses to more than the free space in %2 allows (%3 bytes written, %4 MiB must "
                                        "stay free); not opened")
                             .arg(path, room.rootPath())
                             .arg(written - got)
                             .arg(kKeepFree >> 20);
                return nullptr;
            }
        }
        if (out->write(text.constData(), got) != got) {
            *error = QStringLiteral("cannot decompress %1 into a temporary file in %2: %3").arg(path, QDir::tempPath(), out->errorString());
            return nullptr;
        }
        if (options.progress)
            options.progress(0, decoder.compressedBytesRead(), total);
        if (options.cancel && options.cancel->load()) {
            *error = QStringLiteral("cancelled");
            return nullptr;
        }
    }
    if (!unbrokenNote.isEmpty())
        note = unbrokenNote;
    else if (decoder.cutOff())
        note = QStringLiteral("the compressed stream ends in the middle of a frame (the recorder did not finish)")
            + (written > 0 ? QStringLiteral("; everything flushed before that is shown") : QString());
    else if (!decoder.damage().isEmpty())
        note = decoder.damage() + (written > 0 ? QStringLiteral("; what came before it is shown") : QString());
    damaged = unbrokenNote.isEmpty() && !decoder.cutOff() && !decoder.damage().isEmpty();
    if (const qint64 next = decoder.nextFrameAt(); next >= 0 && !decoder.cutOff())
        note += QStringLiteral(". To read from that frame on: tail -c +%1 %2 | zstd -dc > %3")
                    .arg(next + 1)
                    .arg(shellQuoted(path), splitTarget(path, QStringLiteral("from-byte-%1").arg(next)));
    out->flush();
    return out;
}

struct LineFields {
    bool hasIndex = false;
    qint64 index = -1;
    qint64 ns = 0;
    qint64 wallMs = 0;
    std::string_view dir;
    std::string_view kind;
    qint64 epoch = 0;
    qint64 requestId = -1;
    qint64 seq = -1;
    qint64 parts = 0;
    std::string_view method;
    qint64 code = 0;
    qint64 flags = 0;
    qint64 link = -1;
    const char* payload = nullptr;
    std::size_t payloadLength = 0;
    std::size_t payloadSize = 0; // decoded (a frame as it was on the wire)
    bool base64 = false;
    bool hasPayload = false;
    bool isLink = false;
    bool isSeqLink = false;
    qint64 linkA = -1;
    qint64 linkB = -1;
    bool isEnd = false;
    qint64 endEvents = -1; // the end record's count of events
    bool isHeader = false; // "format" names a Deltascope capture
    std::size_t textAfterObject = 0; // where more text follows the line's object (0: none)
    std::string methodStorage;
};

std::string_view trimTrailing(std::string_view token)
{
    while (!token.empty() && (token.back() == ' ' || token.back() == '\t' || token.back() == '\r' || token.back() == '\n'))
        token.remove_suffix(1);
    return token;
}

// The size of what FilePayloadStore::read() gives for a frame token: its wire size, which the
// timeline, the charts and the CLI show, not its escaped length in the file.
std::size_t decodedPayloadSize(std::string_view token, bool base64)
{
    if (base64) // binary frames, rare: decoded as read() decodes them
        return std::size_t(QByteArray::fromBase64(QByteArray::fromRawData(token.data() + 1, qsizetype(token.size()) - 2)).size());
    const qsizetype size = capture::decodedJsonStringSize(QByteArrayView(token.data(), qsizetype(token.size())));
    return size >= 0 ? std::size_t(size) : token.size(); // read() gives an undecodable token as it is
}

// Parses one line into fields. Returns an empty string or what is wrong with the line.
QString parseLine(simdjson::ondemand::parser& parser, const char* data, std::size_t length, std::size_t capacity,
    LineFields& fields)
{
    using namespace simdjson;
    ondemand::document document;
    if (auto error = parser.iterate(data, length, capacity).get(document))
        return QStringLiteral("not valid JSON (%1)").arg(QString::fromLatin1(error_message(error)));
    ondemand::object object;
    if (auto error = document.get_object().get(object))
        return QStringLiteral("not a JSON object (%1)").arg(QString::fromLatin1(error_message(error)));
    auto readInt = [](ondemand::value value, qint64& out) {
        int64_t number = 0;
        if (value.get_int64().get(number))
            return false;
        out = number;
        return true;
    };
    for (auto field : object) {
        std::string_view key;
        if (auto error = field.unescaped_key().get(key))
            return QStringLiteral("not valid JSON (%1)").arg(QString::fromLatin1(error_message(error)));
        ondemand::value value;
        if (auto error = field.value().get(value))
            return QStringLiteral("not valid JSON (%1)").arg(QString::fromLatin1(error_message(error)));
        bool ok = true;
        if (key == "index") {
            ok = readInt(value, fields.index);
            fields.hasIndex = ok;
        } else if (key == "ns") {
            ok = readInt(value, fields.ns);
        } else if (key == "wallMs") {
            ok = readInt(value, fields.wallMs);
        } else if (key == "dir") {
            ok = !value.get_string().get(fields.dir);
        } else if (key == "kind") {
            ok = !value.get_string().get(fields.kind);
        } else if (key == "epoch") {
            ok = readInt(value, fields.epoch);
        } else if (key == "requestId") {
            ok = readInt(value, fields.requestId);
        } else if (key == "seq") {
            ok = readInt(value, fields.seq);
        } else if (key == "parts") {
            ok = readInt(value, fields.parts);
        } else if (key == "method") {
            std::string_view method;
            ok = !value.get_string().get(method);
            if (ok) {
                fields.methodStorage.assign(method);
                fields.method = fields.methodStorage;
            }
        } else if (key == "code") {
            ok = readInt(value, fields.code);
        } else if (key == "flags") {
            ok = readInt(value, fields.flags);
        } else if (key == "link" || key == "seqLink") {
            ondemand::json_type type;
            ok = !value.type().get(type);
            if (ok && type == ondemand::json_type::array) {
                ondemand::array array;
                ok = !value.get_array().get(array);
                std::vector<qint64> ends;
                for (auto element : array) {
                    int64_t number = 0;
                    if (element.get_int64().get(number)) {
                        ok = false;
                        break;
                    }
                    ends.push_back(number);
                }
                ok = ok && ends.size() == 2;
                if (ok) {
                    (key == "link" ? fields.isLink : fields.isSeqLink) = true;
                    fields.linkA = ends[0];
                    fields.linkB = ends[1];
                }
            } else if (ok && key == "link") {
                ok = readInt(value, fields.link);
            }
        } else if (key == "frame" || key == "frameBase64") {
            std::string_view token = trimTrailing(value.raw_json_token());
            // Escapes are checked when the payload is decoded, on demand; indexing stays cheap.
            ok = ok && token.size() >= 2 && token.front() == '"' && token.back() == '"';
            fields.payload = token.data();
            fields.payloadLength = token.size();
            fields.base64 = key == "frameBase64";
            fields.payloadSize = ok ? decodedPayloadSize(token, fields.base64) : 0;
            fields.hasPayload = ok;
        } else if (key == "fields") {
            ondemand::object local;
            ok = !value.get_object().get(local);
            std::string_view raw;
            ok = ok && !local.raw_json().get(raw);
            raw = trimTrailing(raw);
            fields.payload = raw.data();
            fields.payloadLength = raw.size();
            fields.payloadSize = raw.size();
            fields.hasPayload = ok;
        } else if (key == "end") {
            bool end = false;
            ok = !value.get_bool().get(end);
            fields.isEnd = ok && end;
        } else if (key == "events") {
            ok = readInt(value, fields.endEvents);
        } else if (key == "format") {
            // A header: another capture joined after this one (captureformat's writer puts it first).
            std::string_view format;
            fields.isHeader = !value.get_string().get(format) && format == capture::kFormatName;
        }
        // Any other key is a newer minor version's field: the iterator skips it.
        if (!ok)
            return QStringLiteral("field \"%1\" has the wrong type").arg(QString::fromUtf8(key.data(), qsizetype(key.size())));
    }
    // Something after the object: a line cut off without its newline, and the next one glued to it.
    if (const char* after = nullptr; !document.current_location().get(after)) { // OUT_OF_BOUNDS at the end
        fields.textAfterObject = std::size_t(after - data);
        return QStringLiteral("more text after the JSON object at byte %1 (a line without its newline, joined to the next)").arg(fields.textAfterObject);
    }
    return {};
}

}

bool isCaptureFile(const QString& path)
{
    QFile file(path);
    if (!QFileInfo(path).isFile() || !file.open(QIODevice::ReadOnly))
        return false;
    // A header line is short; a few KiB of text hold it whatever the tool that re-spaced it.
    constexpr qint64 kHeadBytes = 64 * 1024;
    QByteArray head = file.peek(4);
    if (capture::startsLikeZstd(head)) {
        ZstdReadDevice decoder(file);
        head = decoder.read(kHeadBytes);
    } else {
        head = file.read(kHeadBytes);
    }
    return capture::firstLineHasFormat(head, capture::kFormatName);
}

std::unique_ptr<Capture> CaptureReader::open(const QString& path, const CaptureOpenOptions& options, QString* error)
{
    QString ignored;
    QString& message = error ? *error : ignored;
    const QFileInfo info(path);
    if (path == QLatin1String("-") && !info.exists()) {
        // A capture is read by seeking (replay jumps, checkpoints): a pipe cannot be one.
        message = QStringLiteral("a capture is read from a file, not standard input ('-'); save it to a file first");
        return nullptr;
    }
    if (!info.exists()) {
        message = QStringLiteral("%1: no such file").arg(path);
        return nullptr;
    }
    if (info.isDir()) {
        message = QStringLiteral("%1 is a folder, not a capture file").arg(path);
        return nullptr;
    }
    auto result = std::make_unique<Capture>();
    result->path = path;
    result->fileSize = info.size();
    if (result->fileSize == 0) {
        // A pipe, a FIFO or a device (/dev/stdin, <(...)) has no size either, and is not empty:
        // its payloads are read in place, which takes a file.
        if (!info.isFile()) { // by its type: opening a FIFO nothing writes to would wait for a writer
            message = QStringLiteral("%1 is a pipe or a device, not a file: a capture is read from a file (its payloads are read in "
                                     "place); save it first, e.g. cat > capture.ndjson")
                          .arg(path);
            return nullptr;
        }
        message = QStringLiteral("%1 is empty: no capture header (a recording that never started?)").arg(path);
        return nullptr;
    }
    {
        QFile probe(path);
        if (!probe.open(QIODevice::ReadOnly)) {
            message = QStringLiteral("cannot read %1: %2").arg(path, probe.errorString());
            return nullptr;
        }
        result->compressed = capture::startsLikeZstd(probe.read(4));
    }

    QString scanPath = path;
    QString compressionNote;
    bool compressionDamaged = false;
    std::unique_ptr<QTemporaryFile> temporary;
    if (result->compressed) {
        temporary = decompress(path, options, compressionNote, compressionDamaged, scanPath, &message);
        if (!temporary)
            return nullptr;
    }
    auto storeOwner = std::make_unique<FilePayloadStore>();
    FilePayloadStore* store = storeOwner.get();
    if (!store->open(scanPath, &message, std::move(temporary)))
        return nullptr;
    QFile file(scanPath);
    if (!file.open(QIODevice::ReadOnly)) {
        message = QStringLiteral("cannot read %1: %2").arg(path, file.errorString());
        return nullptr;
    }
    const qint64 total = file.size();
    if (total == 0) {
        message = compressionNote.isEmpty() ? QStringLiteral("%1: the compressed stream holds no data").arg(path)
                                            : QStringLiteral("%1: the compressed stream holds no data: %2").arg(path, compressionNote);
        return nullptr;
    }

    auto log = std::make_unique<EventLog>(std::move(storeOwner));
    simdjson::ondemand::parser parser;
    // Grown to what the file needs, up to a chunk plus the line being carried over: a small capture
    // does not pay for (and zero) a 4 MiB buffer.
    std::vector<char> buffer;
    qint64 bufferFileOffset = 0; // file offset of buffer[0]
    std::size_t begin = 0; // start of the current (incomplete) line in buffer
    std::size_t end = 0; // bytes of data in buffer
    qint64 lineNumber = 0;
    bool headerRead = false;
    bool skippingLongLine = false;
    qint64 longLineStart = 0;
    qint64 expectedFileIndex = 0;
    // The last event line jumped ahead: the index it should have had, its line, and where its
    // diagnostic is. If the next line goes on from there, that one index was damaged, not events lost.
    struct Jump {
        qint64 expected = -1;
        qint64 line = 0;
        qint64 index = 0;
        std::size_t diagnostic = 0;
    };
    std::optional<Jump> lastLineJumped;
    qint64 previousEventNs = 0; // the time and file index of the last event kept
    qint64 previousEventIndex = -1;
    std::vector<std::pair<qint64, qint64>> indexBreaks; // (file index, log index) where they diverge
    std::vector<std::pair<qint64, qint64>> links;
    std::vector<std::pair<qint64, qint64>> seqLinks;
    bool endSeen = false;
    qint64 endEvents = -1; // what the end record says the capture holds
    qint64 endLine = 0;
    LineFields fields;
    // A capture joined after this one: its header (or why it cannot be read), and where it starts
    // in the (decompressed) file when that is part-way along a line cut off by it.
    capture::Header secondHeader;
    QString secondHeaderError;
    qint64 secondHeaderGluedAt = -1;
    bool secondGluedToWholeLine = false; // the line it is glued to lacks only its newline

    auto addDiagnostic = [&](qint64 line, const QString& text) {
        ++result->diagnosticCount;
        if (qint64(result->diagnostics.size()) < options.maxDiagnostics)
            result->diagnostics.push_back({ line, text });
    };
    // A diagnostic where events were lost.
    auto addLoss = [&](qint64 line, const QString& text) {
        ++result->lostPlaces;
        addDiagnostic(line, text);
    };

    // Handles one complete line at buffer[lineBegin, lineEnd). Returns false to stop (fatal).
    auto handleLine = [&](std::size_t lineBegin, std::size_t lineEnd, bool lastLine) -> bool {
        ++lineNumber;
        if (result->secondCaptureLine)
            return true; // counted, not read: they belong to another capture
        const char* data = buffer.data() + lineBegin;
        std::size_t length = lineEnd - lineBegin;
        while (length && (data[length - 1] == '\r' || data[length - 1] == ' ' || data[length - 1] == '\t'))
            --length;
        if (!headerRead) {
            QString headerError;
            if (!capture::parseHeader(std::string_view(data, length), result->header, headerError)) {
                message = QStringLiteral("%1: %2").arg(path, headerError);
                return false;
            }
            headerRead = true;
            return true;
        }
        if (length == 0)
            return true;
        fields = LineFields();
        QString problem = parseLine(parser, data, length, buffer.size() - lineBegin, fields);
        if (!problem.isEmpty() && !fields.textAfterObject) {
            // simdjson refuses a text whose last bracket does not close its root, before any field
            // is read: an object with other text after it is found by reading up to a last '}'.
            if (const std::size_t lastBrace = std::string_view(data, length).rfind('}');
                lastBrace != std::string_view::npos && lastBrace + 1 < length) {
                LineFields whole;
                const QString wholeProblem = parseLine(parser, data, lastBrace + 1, buffer.size() - lineBegin, whole);
                if (wholeProblem.isEmpty() || whole.textAfterObject) {
                    if (!whole.textAfterObject)
                        whole.textAfterObject = lastBrace + 1;
                    fields = std::move(whole);
                    problem = QStringLiteral("more text after the JSON object at byte %1").arg(fields.textAfterObject);
                }
            }
        }
        if (!problem.isEmpty()) {
            // Another capture's header: damaged, on a line of its own; or glued to the first
            // capture's last line, which is whole but for its newline, or cut off.
            const std::string_view line(data, length);
            // Reads a header into secondHeader (as far as it goes), telling whether it read whole.
            const auto readHeader = [&](std::string_view text) {
                secondHeaderError.clear();
                return capture::parseHeader(text, secondHeader, secondHeaderError);
            };
            std::size_t gluedAt = std::string_view::npos;
            if (fields.textAfterObject) {
                std::size_t start = fields.textAfterObject;
                while (start < length && (data[start] == ' ' || data[start] == '\t'))
                    ++start;
                if (readHeader(line.substr(start)) || joinedHeaderAt(line.substr(start)) == 0) {
                    gluedAt = start;
                    secondGluedToWholeLine = true; // `fields` hold that line, read below as any other
                }
            } else if (const std::size_t at = joinedHeaderAt(line); at != std::string_view::npos) {
                const bool atStart = line.substr(0, at).find_first_not_of(" \t") == std::string_view::npos
                    || line.substr(0, at) == "\xEF\xBB\xBF"; // a byte order mark some editors write
                if (atStart) {
                    readHeader(line.substr(at));
                    result->secondCaptureLine = lineNumber;
                    return true;
                }
                // Part-way along a cut-off line: a whole header, or one where no JSON value could
                // start (text like it nested in a damaged event's fields follows a ':', ',' or '[').
                const char before = line[line.substr(0, at).find_last_not_of(" \t\r\n")];
                if (readHeader(line.substr(at)) || (before != ':' && before != ',' && before != '['))
                    gluedAt = at;
            }
            if (gluedAt != std::string_view::npos) {
                secondHeaderGluedAt = bufferFileOffset + qint64(lineBegin + gluedAt);
                result->secondCaptureLine = lineNumber;
                if (!secondGluedToWholeLine)
                    return true; // the cut-off line is lost, as a cut-off tail is
            } else {
                secondHeader = {}; // what readHeader() took was no header
                secondHeaderError.clear();
            }
            if (gluedAt == std::string_view::npos && fields.textAfterObject) {
                // Anything else after a whole object: the line is read, the rest named.
                addDiagnostic(lineNumber, QStringLiteral("%1 bytes of text after the JSON object%2 ignored")
                                              .arg(length - fields.textAfterObject)
                                              .arg(fields.hasIndex ? QStringLiteral(" of event %1").arg(fields.index) : QString()));
            }
        }
        if (!problem.isEmpty() && !fields.textAfterObject) {
            if (lastLine) {
                result->truncatedTail = true;
                // After the end record nothing was cut off: something was written after the recorder closed it.
                result->truncatedTailMessage = endSeen
                    ? QStringLiteral("the last line (line %1, %2 bytes), after the end record, is not a capture line: something "
                                     "was appended after the recorder closed the capture; the %3 events before it are intact")
                          .arg(lineNumber)
                          .arg(length)
                          .arg(log->size())
                    : QStringLiteral("the last line (line %1, %2 bytes) is incomplete: the capture was cut off "
                                     "(the recorder stopped abruptly or is still writing); the %3 events before it are intact")
                          .arg(lineNumber)
                          .arg(length)
                          .arg(log->size());
            } else {
                // The event's index, when it was read before the field that failed, says which one.
                addLoss(lineNumber, problem + (fields.hasIndex ? QStringLiteral(" in event %1").arg(fields.index) : QString())
                        + QStringLiteral("; line skipped"));
            }
            return true;
        }
        if (fields.isEnd) {
            endSeen = true;
            endEvents = fields.endEvents;
            endLine = lineNumber;
            return true;
        }
        if (fields.isLink || fields.isSeqLink) {
            (fields.isLink ? links : seqLinks).emplace_back(fields.linkA, fields.linkB);
            return true;
        }
        if (!fields.hasIndex || fields.kind.empty()) {
            if (fields.isHeader) {
                // Read as far as it goes: a newer version's or a damaged header still starts another capture.
                capture::parseHeader(std::string_view(data, length), secondHeader, secondHeaderError);
                result->secondCaptureLine = lineNumber;
                return true;
            }
            addLoss(lineNumber, QStringLiteral("not an event (no \"index\" or \"kind\"), link or end record; line skipped"));
            return true;
        }
        if (endSeen) // events after an end record: the capture was appended to
            result->eventsAfterEndLine = endLine;
        endSeen = false;
        SessionEvent event;
        const QString kindName = QString::fromUtf8(fields.kind.data(), qsizetype(fields.kind.size()));
        if (!eventKindFromName(kindName, event.kind)) {
            addDiagnostic(lineNumber, QStringLiteral("unknown event kind \"%1\" (event %2), kept as a note").arg(kindName).arg(fields.index));
            event.kind = EventKind::Note;
        }
        if (!directionFromName(QString::fromUtf8(fields.dir.data(), qsizetype(fields.dir.size())), event.direction))
            event.direction = naturalDirection(event.kind);
        event.monotonicNs = fields.ns;
        event.wallMs = fields.wallMs;
        event.requestId = fields.requestId;
        event.seq = fields.seq;
        event.code = qint32(fields.code);
        event.epoch = quint32(std::max<qint64>(0, fields.epoch));
        event.parts = quint16(fields.parts);
        event.flags = quint8(fields.flags);
        if (!fields.method.empty())
            event.methodString = log->intern(QString::fromUtf8(fields.method.data(), qsizetype(fields.method.size())));
        const std::optional<Jump> jumped = std::exchange(lastLineJumped, std::nullopt);
        if (fields.index != expectedFileIndex && jumped && fields.index > jumped->expected && fields.index < jumped->index) {
            // A damaged index (a flipped digit): the event line before jumped ahead, and this one
            // goes on from before the jump (past lines skipped as damaged in between, if any). Read
            // that line as the event it was; only the skipped lines are lost.
            indexBreaks.pop_back();
            --result->lostPlaces;
            if (jumped->diagnostic < result->diagnostics.size())
                result->diagnostics[jumped->diagnostic].message
                    = QStringLiteral("event index %1 looks damaged: the next event line goes on from %2; read as event %3")
                          .arg(jumped->index).arg(fields.index).arg(jumped->expected);
            if (fields.index > jumped->expected + 1)
                indexBreaks.emplace_back(fields.index, log->size()); // the events of the skipped lines
            expectedFileIndex = fields.index;
        }
        if (fields.index != expectedFileIndex) {
            if (fields.index < expectedFileIndex) {
                addLoss(lineNumber, QStringLiteral("event index %1 repeats or goes back (expected %2); line skipped")
                        .arg(fields.index).arg(expectedFileIndex));
                return true;
            }
            lastLineJumped = Jump { expectedFileIndex, lineNumber, fields.index, result->diagnostics.size() };
            addLoss(lineNumber, QStringLiteral("event index jumps from %1 to %2: %3 events missing")
                    .arg(expectedFileIndex - 1).arg(fields.index).arg(fields.index - expectedFileIndex));
            indexBreaks.emplace_back(fields.index, log->size());
        }
        expectedFileIndex = fields.index + 1;
        PayloadRef ref;
        if (fields.hasPayload) {
            ref.offset = quint64(bufferFileOffset + qint64(fields.payload - buffer.data()));
            if (fields.base64)
                ref.offset |= FilePayloadStore::kBase64Bit;
            ref.length = quint32(fields.payloadLength);
            ref.size = quint32(fields.payloadSize);
        }
        // Recorders and the HAR import write times that never decrease; a capture whose times do was
        // edited or damaged, and its gaps and rates are wrong there. Kept as recorded, and said.
        if (log->size() > 0 && event.monotonicNs < previousEventNs) {
            addDiagnostic(lineNumber, QStringLiteral("event %1 is timed %2 ns, before event %3 (%4 ns): time goes backwards "
                                                     "here; kept as recorded, so gaps and rates around it are wrong")
                    .arg(fields.index).arg(event.monotonicNs).arg(previousEventIndex).arg(previousEventNs));
        }
        previousEventNs = event.monotonicNs;
        previousEventIndex = fields.index;
        store->setNextRef(ref);
        const qint64 logIndex = log->append(event, {});
        if (fields.link >= 0)
            links.emplace_back(fields.index, fields.link);
        Q_UNUSED(logIndex)
        return true;
    };

    qint64 lastProgress = 0;
    bool atEof = false;
    while (!atEof) {
        // Make room: keep the incomplete line, move it to the front.
        if (begin > 0) {
            std::memmove(buffer.data(), buffer.data() + begin, end - begin);
            bufferFileOffset += qint64(begin);
            end -= begin;
            begin = 0;
        }
        // What is left of the file, up to a chunk; at its end a small read that returns 0 says so
        // (the file may also have grown since it was opened).
        const qint64 left = file.size() - file.pos();
        const qint64 want = left > 0 ? std::min(left, kChunk) : 4096;
        if (buffer.size() < end + std::size_t(want) + simdjson::SIMDJSON_PADDING)
            buffer.resize(end + std::size_t(want) + simdjson::SIMDJSON_PADDING);
        const qint64 got = file.read(buffer.data() + end, want);
        if (got < 0) {
            message = QStringLiteral("cannot read %1: %2").arg(path, file.errorString());
            return nullptr;
        }
        atEof = got == 0;
        const std::size_t scanFrom = end;
        end += std::size_t(got);
        std::memset(buffer.data() + end, 0, simdjson::SIMDJSON_PADDING);
        std::size_t position = scanFrom;
        while (position < end) {
            const char* newline = static_cast<const char*>(std::memchr(buffer.data() + position, '\n', end - position));
            if (!newline)
                break;
            const std::size_t lineEnd = std::size_t(newline - buffer.data());
            if (skippingLongLine) {
                skippingLongLine = false;
                ++lineNumber;
                const qint64 size = bufferFileOffset + qint64(lineEnd) - longLineStart;
                if (!headerRead) {
                    message = QStringLiteral("%1: not a Deltascope capture: line 1 is %2 bytes long, no header").arg(path).arg(size);
                    return nullptr;
                }
                if (!result->secondCaptureLine) // else it belongs to the capture joined after this one
                    addLoss(lineNumber, QStringLiteral("line is %1 bytes, over the %2 MiB limit for one event; skipped")
                        .arg(size).arg(capture::kMaxLineBytes >> 20));
            } else if (!handleLine(begin, lineEnd, false)) {
                return nullptr;
            }
            begin = lineEnd + 1;
            position = begin;
        }
        if (skippingLongLine) {
            begin = end; // drop what we have of the over-long line
        } else if (end - begin > std::size_t(capture::kMaxLineBytes)) {
            skippingLongLine = true;
            longLineStart = bufferFileOffset + qint64(begin);
            begin = end;
        }
        const qint64 done = bufferFileOffset + qint64(end);
        if (done - lastProgress >= kChunk || atEof) {
            lastProgress = done;
            if (options.progress)
                options.progress(1, done, total);
            if (options.cancel && options.cancel->load()) {
                message = QStringLiteral("cancelled");
                return nullptr;
            }
        }
    }
    if (skippingLongLine) {
        ++lineNumber;
        if (!headerRead) {
            message = QStringLiteral("%1: not a Deltascope capture: no line break in %2 bytes, no header").arg(path).arg(total);
            return nullptr;
        }
        result->truncatedTail = !result->secondCaptureLine; // else the other capture's, not this one's
        result->truncatedTailMessage = QStringLiteral("the last line (line %1) is over the %2 MiB limit and has no end: "
                                                      "the capture was cut off; the %3 events before it are intact")
                                           .arg(lineNumber)
                                           .arg(capture::kMaxLineBytes >> 20)
                                           .arg(log->size());
    } else if (end > begin) {
        // The file does not end with a newline: either a complete last line or a cut-off one.
        if (!handleLine(begin, end, true))
            return nullptr;
    }
    if (!headerRead) {
        message = QStringLiteral("%1 has no capture header").arg(path);
        return nullptr;
    }
    result->lineCount = lineNumber;
    result->closedCleanly = endSeen;
    // Lines lost without a trace (deleted, not damaged) show only against the end record's count.
    if (endSeen && endEvents > log->size() && result->lostPlaces == 0)
        addLoss(endLine, QStringLiteral("the end record counts %1 events, but %2 were read: %3 lost")
                             .arg(endEvents)
                             .arg(log->size())
                             .arg(endEvents - log->size()));
    if (result->secondCaptureLine) {
        // Not damage to this capture: the rest of the file is another one, named once.
        const qint64 first = result->secondCaptureLine;
        QStringList about;
        if (!secondHeaderError.isEmpty()) // parseHeader() speaks of a file's first line
            about << QStringLiteral("its header unreadable: %1").arg(QString(secondHeaderError).replace(QStringLiteral("line 1 "), QStringLiteral("the line ")));
        if (secondHeader.startedWallMs > 0)
            about << QStringLiteral("recorded %1").arg(QDateTime::fromMSecsSinceEpoch(secondHeader.startedWallMs, QTimeZone::utc()).toString(Qt::ISODateWithMs));
        if (!secondHeader.space.isEmpty())
            about << secondHeader.space + QLatin1Char('/') + secondHeader.key;
        const QString rest = splitTarget(path, QStringLiteral("from-line-%1").arg(first));
        const QString source = result->compressed ? QStringLiteral("zstd -dc %1 | ").arg(shellQuoted(path)) : QString();
        const QString from = secondHeaderGluedAt >= 0 ? QStringLiteral("-c +%1").arg(secondHeaderGluedAt + 1) : QStringLiteral("-n +%1").arg(first);
        const QString split = result->compressed ? QStringLiteral("%1tail %2 > %3").arg(source, from, rest)
                                                 : QStringLiteral("tail %1 %2 > %3").arg(from, shellQuoted(path), rest);
        result->secondCaptureMessage
            = QStringLiteral("line %1: %2another capture starts (%3): captures joined into one file; only the first is read, "
                             "lines %1 to %4 are not. To open the rest: %5")
                  .arg(first)
                  .arg(secondHeaderGluedAt < 0 ? QString()
                          : secondGluedToWholeLine ? QStringLiteral("the first capture's last line has no newline and, in the same line, ")
                                                   : QStringLiteral("the first capture's last line is cut off (or damaged) and, in the same line, "))
                  .arg(about.isEmpty() ? QStringLiteral("no details in its header") : about.join(QStringLiteral(", ")))
                  .arg(lineNumber)
                  .arg(split);
    }
    if (!compressionNote.isEmpty())
        addDiagnostic(0, compressionNote);
    // Damage after a whole capture (its end record read, every event it counts there: zero fill, a
    // file appended) loses nothing of it.
    if (compressionDamaged && !(endSeen && endEvents <= log->size())) {
        result->compressedStreamDamaged = true;
        ++result->lostPlaces;
    }

    // Links name file indexes; translate where damaged lines shifted the log.
    auto translate = [&](qint64 fileIndex) -> qint64 {
        if (indexBreaks.empty() || fileIndex < indexBreaks.front().first)
            return fileIndex;
        auto it = std::upper_bound(indexBreaks.begin(), indexBreaks.end(), fileIndex,
            [](qint64 value, const std::pair<qint64, qint64>& entry) { return value < entry.first; });
        --it;
        return it->second + (fileIndex - it->first);
    };
    for (const auto& [a, b] : links)
        log->link(translate(a), translate(b));
    for (const auto& [a, b] : seqLinks)
        log->linkSeq(translate(a), translate(b));
    log->flushNotifications();
    result->log = std::move(log);

    if (options.checkpointInterval > 0) {
        result->checkpoints = std::make_unique<CaptureCheckpoints>(*result->log, options.checkpointInterval);
        if (options.checkpointsInBackground) {
            result->checkpoints->start();
        } else if (!result->checkpoints->build(options.progress, options.cancel)) {
            message = QStringLiteral("cancelled");
            return nullptr;
        }
    }
    qCDebug(lcCapture) << "opened" << path << result->log->size() << "events" << result->diagnosticCount << "damaged lines";
    return result;
}

// ---------------------------------------------------------------------------------------------
// CaptureLoader

struct CaptureLoader::Job {
    std::atomic<bool> cancel { false };
    QThread* thread = nullptr;
};

CaptureLoader::CaptureLoader(QObject* parent)
    : QObject(parent)
{
}

CaptureLoader::~CaptureLoader()
{
    cancel();
    if (m_job && m_job->thread) {
        m_job->thread->wait();
        delete m_job->thread;
    }
}

void CaptureLoader::open(const QString& path, CaptureOpenOptions options)
{
    cancel();
    if (m_job && m_job->thread) {
        m_job->thread->wait();
        delete m_job->thread;
    }
    auto job = std::make_shared<Job>();
    m_job = job;
    QPointer<CaptureLoader> self(this);
    QThread* target = thread();
    options.cancel = &job->cancel;
    options.progress = [self, job](int phase, qint64 done, qint64 total) {
        QMetaObject::invokeMethod(
            self.data(),
            [self, job, phase, done, total] {
                if (self && self->m_job == job)
                    Q_EMIT self->progress(phase, done, total);
            },
            Qt::QueuedConnection);
    };
    job->thread = QThread::create([self, job, path, options, target] {
        QString error;
        std::unique_ptr<Capture> capture = CaptureReader::open(path, options, &error);
        if (capture && capture->log)
            capture->log->moveToThread(target);
        if (capture && capture->checkpoints)
            capture->checkpoints->moveToThread(target);
        Capture* raw = capture.release();
        const bool queued = QMetaObject::invokeMethod(
            self.data(),
            [self, job, raw, error] {
                std::unique_ptr<Capture> owned(raw);
                if (!self || self->m_job != job)
                    return;
                self->m_result = std::move(owned);
                Q_EMIT self->finished(bool(self->m_result), error);
            },
            Qt::QueuedConnection);
        if (!queued)
            delete raw; // the loader is gone
    });
    job->thread->start();
}

void CaptureLoader::cancel()
{
    if (m_job)
        m_job->cancel.store(true);
}

bool CaptureLoader::isRunning() const
{
    return m_job && m_job->thread && m_job->thread->isRunning();
}

std::unique_ptr<Capture> CaptureLoader::takeCapture()
{
    return std::move(m_result);
}

}
