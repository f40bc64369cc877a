#include "core/document/foldcommand.h"

#include "core/capture/captureformat.h"
#include "core/capture/zstdreaddevice.h"
#include "core/document/documenttree.h"
#include "core/document/mutator.h"
#include "core/protocol/envelope.h"

#include <QFile>
#include <QFileInfo>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <limits>
#include <map>
#include <optional>
#include <vector>

#ifdef Q_OS_UNIX
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#endif

namespace deltascope::cli {

namespace {

namespace dom = simdjson::dom;

const char* const kFoldHelp = "Usage: deltascope-cli fold [FILE|-] [OPTIONS]\n"
                              "\n"
                              "Folds a stream of Adama deltas and prints the visible document as JSON.\n"
                              "Input is NDJSON, plain or zstd-compressed (FILE, or standard input for '-' or no\n"
                              "FILE): each line is a bare delta (the `data` object) or a server frame\n"
                              "{\"deliver\":..,\"response\":{\"delta\":{\"data\":..}}}. A transcript of both\n"
                              "directions folds too: when the first line is a server frame or a protocol message\n"
                              "(hello, ping, pong, status, failure, a client request), frames without data, such\n"
                              "messages and empty lines are skipped, and each connection/create request or hello\n"
                              "starts a fresh document (but for --reference-client); with several documents on one\n"
                              "socket, the latest connection/create's is folded and the others' items are left out\n"
                              "(said on stderr); items for a stream after its done:true or failure are dropped, as\n"
                              "a client drops ids it no longer knows. Otherwise every line is a delta, whatever its\n"
                              "fields. A Deltascope capture file (.ndjson or .ndjson.zst) is folded by its\n"
                              "events, and the NDJSON delta log `export --format ndjson` writes by its `data`\n"
                              "(a new epoch there starts a fresh document, but for --reference-client, which\n"
                              "merges the new snapshot into what it holds; a line with a seq and no data folds\n"
                              "nothing).\n"
                              "With --reference-client a line may be any JSON value, as that client's update()\n"
                              "takes it (an array merges as an object keyed by index).\n"
                              "\n"
                              "Options:\n"
                              "  --pretty            Indent the printed document.\n"
                              "  --at N              Stop after N deltas (on a capture file: after event N).\n"
                              "  --anomalies         Print one line per anomaly on stderr (fold anomalies, a\n"
                              "                      stream's seq going backwards, frames dropped); exit 3 when\n"
                              "                      any occurred.\n"
                              "  --keep-going        Report malformed lines and continue (default: stop, exit 2); on\n"
                              "                      damaged zstd input or a capture with damaged lines, print what\n"
                              "                      was folded before the damage. A capture cut off mid-line (a\n"
                              "                      recorder that crashed) folds what it holds either way.\n"
                              "  --reference-client  Fold as the reference JavaScript client does (tree.js quirks).\n"
                              "  -h, --help          Show this help.\n"
                              "\n"
                              "Exit codes: 0 ok, 1 the file cannot be read, 2 usage error or malformed line,\n"
                              "3 anomalies occurred (with --anomalies).\n";

// Malformed lines named one by one; a damaged file has thousands, and the first ones say enough.
constexpr qint64 kMalformedShown = 100;

struct Options {
    QString file; // empty or "-": standard input
    bool pretty = false;
    bool anomalies = false;
    bool keepGoing = false;
    FoldMode mode = FoldMode::Canonical;
    std::optional<qint64> at;
};

// Lines of an input, read a megabyte or more at a time from a file, a line at a time from a pipe
// or the zstd decoder, into one buffer: QIODevice::readLine() returning a QByteArray per line cost
// more than folding the line. A longer line grows the buffer; its memory is given back after it.
class LineReader
{
public:
    explicit LineReader(QIODevice& input)
        : m_input(input)
    {
    }
    // The next line, without its "\n" (or "\r\n"); false at the end of the input. `terminated` is
    // false for a last line the input ended inside (no newline after it). The view is valid until
    // the next call.
    bool next(std::string_view& line, bool& terminated)
    {
        for (;;) {
            const char* begin = m_buffer.data() + m_start;
            const char* end = m_buffer.data() + m_end;
            const void* found = std::size_t(end - begin) > m_scanned ? std::memchr(begin + m_scanned, '\n', std::size_t(end - begin) - m_scanned) : nullptr;
            if (found) {
                const char* newline = static_cast<const char*>(found);
                line = std::string_view(begin, std::size_t(newline - begin));
                if (!line.empty() && line.back() == '\r')
                    line.remove_suffix(1);
                m_start = std::size_t(newline + 1 - m_buffer.data());
                m_scanned = 0;
                terminated = true;
                return true;
            }
            m_scanned = m_end - m_start; // no newline in what is there: search only what comes next
            if (m_ended || !fill()) {
                if (m_start == m_end)
                    return false;
                line = std::string_view(m_buffer.data() + m_start, m_end - m_start);
                m_start = m_end;
                m_scanned = 0;
                terminated = false;
                return true;
            }
        }
    }

private:
    // Reads more behind what is left unread; false at the end of the input (or a read error, which
    // the caller learns from the device).
    bool fill()
    {
        constexpr std::size_t kBlock = 1 << 20;
        if (m_start > 0) {
            std::memmove(m_buffer.data(), m_buffer.data() + m_start, m_end - m_start);
            m_end -= m_start;
            m_start = 0;
        }
        if (m_buffer.size() > 4 * kBlock && m_end < kBlock) {
            // A line of many megabytes has been read: give its memory back.
            m_buffer.resize(2 * kBlock);
            m_buffer.shrink_to_fit();
        }
        if (m_buffer.size() < m_end + kBlock)
            m_buffer.resize(std::max(m_end + kBlock, 2 * m_buffer.size()));
        char* room = m_buffer.data() + m_end;
        const qint64 size = qint64(m_buffer.size() - m_end);
        // A pipe is read up to the next newline: a block read would wait for a megabyte, so
        // `fold - --at N` on a stream that never ends would never stop. A file or buffer is read a
        // block at a time; the decoder, being sequential too, a line at a time from what it has
        // decoded (from a pipe it decodes block by block as the blocks arrive).
        const qint64 read = m_input.isSequential() ? m_input.readLine(room, size) : m_input.read(room, size);
        if (read <= 0) {
            m_ended = true;
            return false;
        }
        m_end += std::size_t(read);
        return true;
    }

    QIODevice& m_input;
    std::vector<char> m_buffer;
    std::size_t m_start = 0; // the unread text is m_buffer[m_start, m_end)
    std::size_t m_end = 0;
    std::size_t m_scanned = 0; // bytes after m_start known to hold no newline
    bool m_ended = false;
};

// Opens `path` into `file` through a stdio stream, as standard input is read: Qt's own reads of a
// descriptor wait to fill a 16 KiB block, so `--at N` on a pipe that stays open would not stop after
// N deltas. An empty string, or what went wrong.
QString openThroughStdio(QFile& file, const QString& path)
{
    FILE* stream = std::fopen(QFile::encodeName(path).constData(), "rb");
    if (!stream)
        return QString::fromLocal8Bit(std::strerror(errno));
    if (!file.open(stream, QIODevice::ReadOnly, QFileDevice::AutoCloseHandle)) {
        std::fclose(stream);
        return file.errorString();
    }
    return {};
}

#ifdef Q_OS_UNIX
// Standard input that a parent left non-blocking reads as ended at the producer's first pause: the
// fold would print a partial document with exit code 0. A pipe or terminal is then read through a
// blocking description of its own (the parent's stays as it is); anything else is made blocking.
// Returns the device to read: `reopened` when it was used, else `standardInput`.
QIODevice* blockingStandardInput(QFile& reopened, QIODevice* standardInput)
{
    const int flags = ::fcntl(STDIN_FILENO, F_GETFL);
    if (flags == -1 || !(flags & O_NONBLOCK))
        return standardInput;
    struct stat status {};
    if (::fstat(STDIN_FILENO, &status) == 0 && (S_ISFIFO(status.st_mode) || S_ISCHR(status.st_mode))
        && openThroughStdio(reopened, QStringLiteral("/dev/stdin")).isEmpty())
        return &reopened;
    ::fcntl(STDIN_FILENO, F_SETFL, flags & ~O_NONBLOCK);
    return standardInput;
}
#endif

// The input's first line, or its first `limit` bytes, left unread. On a pipe, peek(limit) waits
// until `limit` bytes have arrived, and a producer may send one short line and wait for more.
QByteArray peekFirstLine(QIODevice& input, qint64 limit)
{
    if (!input.isSequential())
        return input.peek(limit);
    input.startTransaction();
    const QByteArray line = input.readLine(limit);
    input.rollbackTransaction();
    return line;
}

// What a line holds: a delta to fold (the whole line, or the `data` of a server frame), nothing to
// fold (an ack, a seq-only item, a socket message), or an error. `delta` points into the thread's
// parser (detail::parseJson), valid until the next parse.
struct LineDelta {
    bool malformed = false;
    QString error;
    std::optional<dom::element> delta;
    bool treeJsMayThrow = true; // detail::referenceMayThrow() of the delta
    // Where the delta belongs, to tell seq going backwards: a frame's `deliver` id, a delta log's
    // epoch (-1: a bare delta, which carries neither), and its seq (-1: none).
    qint64 stream = -1;
    qint64 seq = -1;
    // What the line is beside a delta: a transcript's message (skipped there), and whether it is a
    // server frame or a connection/create request (a new stream: a fresh document, adama-wire.md 7.5).
    bool protocolMessage = false;
    bool serverFrame = false;
    bool createRequest = false;
    qint64 requestId = -1; // a connection/create's id: the stream its items come on
    // A frame left out as the reference client leaves it out, and why (an anomaly of the stream).
    QString dropped;
    // A frame that ends a stream (section 4: one done:true or one failure per id), after its data:
    // the id, and how ("done:true", "failure 403403"). -1: none.
    qint64 endsStream = -1;
    QString endedBy;
    bool hello = false; // a new socket's hello: the server knows none of the old socket's ids
};

bool isInteger(dom::element value)
{
    return value.type() == dom::element_type::INT64 || value.type() == dom::element_type::UINT64;
}

// A line of a protocol transcript that is not a document delta, by its exact shape:
//  - socket messages (adama-wire.md 2): a hello {"status":"connected","version","identities"}, a
//    disconnect notice {"status":"disconnected","reason"}, a ping {"ping","latency"}, a pong
//    {"ping","latency"?,"pong"};
//  - client requests (section 3): a `method` naming an Adama method (they all hold a '/', but
//    `probe` and `stats`) and an integer (or numeric string) `id`;
//  - failures (section 4): an integer `failure` with its `reason` (and `retry`), nothing else.
// Documents have fields named status, ping or failure too: a delta that only sets one of them
// (`{"status":"open"}`, `{"failure":2}`) is data, as it lacks the rest of the message's shape.
enum class ProtocolMessage { None, Hello, Socket, Request, CreateRequest, Failure };
ProtocolMessage protocolMessageOf(dom::object object)
{
    // One pass over the keys, nothing allocated: every bare delta of a fold comes through here.
    enum : unsigned { Status = 1, Version = 2, Identities = 4, Reason = 8, Ping = 16, Latency = 32, Pong = 64, Failure = 128, Retry = 256, Other = 512 };
    unsigned keys = 0;
    std::string_view status;
    std::string_view method;
    bool integerFailure = false;
    bool requestId = false;
    for (dom::key_value_pair field : object) {
        const std::string_view key = field.key;
        if (key == "status") {
            keys |= Status;
            if (field.value.type() == dom::element_type::STRING)
                status = field.value.get_string().value_unsafe();
        } else if (key == "version") {
            keys |= Version;
        } else if (key == "identities") {
            keys |= Identities;
        } else if (key == "reason") {
            keys |= Reason;
        } else if (key == "ping") {
            keys |= Ping;
        } else if (key == "latency") {
            keys |= Latency;
        } else if (key == "pong") {
            keys |= Pong;
        } else if (key == "failure") {
            keys |= Failure;
            integerFailure = isInteger(field.value);
        } else if (key == "retry") {
            keys |= Retry;
        } else {
            keys |= Other;
            if (key == "method" && field.value.type() == dom::element_type::STRING) {
                method = field.value.get_string().value_unsafe();
            } else if (key == "id") {
                std::string_view text;
                requestId = isInteger(field.value)
                    || (!field.value.get_string().get(text) && !text.empty() && std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; }));
            }
        }
    }
    const auto only = [keys](unsigned allowed) { return (keys & ~allowed) == 0; };
    if (status == "connected" && only(Status | Version | Identities) && (keys & (Version | Identities)))
        return ProtocolMessage::Hello;
    if (status == "disconnected" && only(Status | Reason) && (keys & Reason))
        return ProtocolMessage::Socket; // disconnect notice
    if ((keys & Ping) && (keys & Latency) && only(Ping | Latency))
        return ProtocolMessage::Socket; // ping
    if ((keys & Ping) && (keys & Pong) && only(Ping | Latency | Pong))
        return ProtocolMessage::Socket; // pong
    if (integerFailure && (keys & Reason) && only(Failure | Reason | Retry))
        return ProtocolMessage::Failure;
    if (!requestId || (method.find('/') == std::string_view::npos && method != "probe" && method != "stats"))
        return ProtocolMessage::None;
    return method == "connection/create" || method == "connection/create-via-domain" ? ProtocolMessage::CreateRequest : ProtocolMessage::Request;
}

// Parses the line once: the fold takes the delta's parsed form, so a frame's `data` is neither
// printed back to text nor parsed a second time.
// `transcript`: the input is a transcript (its first line was a protocol message or a server frame),
// whose protocol messages are skipped; else every line but a server frame with a delta is a delta,
// whatever fields it holds (a document may well have "status" and "reason").
LineDelta deltaOfLine(std::string_view line, FoldMode mode, bool deltaLog, bool transcript)
{
    LineDelta result;
    dom::element root;
    QString error;
    detail::ParsedShape shape; // only a ReferenceClient fold looks at it
    if (!detail::parseJson(line, root, &error, mode == FoldMode::ReferenceClient ? &shape : nullptr)) {
        result.malformed = true;
        result.error = error;
        return result;
    }
    // The line is the delta (depth 1), unless it is a server frame (below).
    result.treeJsMayThrow = detail::referenceMayThrow(shape, 1);
    if (root.type() != dom::element_type::OBJECT && mode == FoldMode::ReferenceClient) {
        // The reference client's update() takes any JSON value (an array merges by index).
        result.delta = root;
        return result;
    }
    if (root.type() != dom::element_type::OBJECT) {
        result.malformed = true;
        result.error = QStringLiteral("not a JSON object (expected a delta or a server frame)");
        return result;
    }
    const dom::object object = root.get_object().value_unsafe();
    if (deltaLog) {
        // A line of `export --format ndjson` after its header: its `data` (one level down), epoch and seq.
        dom::element data;
        std::int64_t epoch = -1;
        std::int64_t seq = -1;
        if (object.at_key("data").error() == simdjson::NO_SUCH_FIELD && !object.at_key("epoch").get(epoch) && !object.at_key("seq").get(seq)) {
            // A stream item with a seq and no data: its seq is checked, nothing is folded.
            result.stream = epoch;
            result.seq = seq;
            return result;
        }
        if (object.at_key("data").get(data) || object.at_key("epoch").get(epoch)) {
            result.malformed = true;
            result.error = QStringLiteral("not a delta log line (expected \"epoch\" and \"data\", as export --format ndjson writes)");
            return result;
        }
        result.delta = data;
        result.treeJsMayThrow = detail::referenceMayThrow(shape, 2);
        result.stream = epoch;
        if (std::int64_t seq = -1; !object.at_key("seq").get(seq)) // null when the item had none
            result.seq = seq;
        return result;
    }
    dom::element deliverValue;
    if (object.at_key("deliver").get(deliverValue) != simdjson::SUCCESS) {
        const ProtocolMessage message = protocolMessageOf(object);
        result.protocolMessage = message != ProtocolMessage::None;
        result.createRequest = message == ProtocolMessage::CreateRequest;
        result.hello = message == ProtocolMessage::Hello;
        if (std::int64_t id = -1; result.createRequest && !object.at_key("id").get(id))
            result.requestId = id;
        if (std::int64_t id = -1; message == ProtocolMessage::Failure && !object.at_key("failure").get(id)) {
            result.endsStream = id;
            std::int64_t reason = 0;
            result.endedBy = object.at_key("reason").get(reason) ? QStringLiteral("failure") : QStringLiteral("failure %1").arg(reason);
        }
        if (!transcript || !result.protocolMessage)
            result.delta = root;
        return result;
    }
    // A server frame: response.delta.data, when present.
    dom::element data;
    const StreamDelta item = streamDeltaOf(object, &data);
    // Shaped as a frame: an integer id with a response or a done.
    result.serverFrame = isInteger(deliverValue) && (item.ok || object.at_key("response").error() == simdjson::SUCCESS || object.at_key("done").error() == simdjson::SUCCESS);
    if (!transcript && !(isInteger(deliverValue) && item.ok)) {
        // Bare deltas: a document's own "deliver" field, not a frame.
        result.serverFrame = false;
        result.delta = root;
        return result;
    }
    if (item.ok && !isInteger(deliverValue)) {
        // connection.js keys its calls by number: a frame whose id is text ("1") reaches none.
        result.dropped = QStringLiteral("frame for id %1, not a number: the reference client matches ids as numbers and drops it")
                             .arg(QString::fromUtf8(simdjson::minify(deliverValue)));
        return result;
    }
    if (std::int64_t deliver = -1; item.ok && !object.at_key("deliver").get(deliver)) {
        result.stream = deliver;
        result.seq = item.seq;
    }
    if (bool done = false; result.serverFrame && !object.at_key("done").get(done) && done) {
        if (std::int64_t deliver = -1; !object.at_key("deliver").get(deliver)) {
            result.endsStream = deliver;
            result.endedBy = QStringLiteral("done:true");
        }
    }
    if (item.ok && item.hasData) {
        result.delta = data;
        result.treeJsMayThrow = detail::referenceMayThrow(shape, kStreamDataDepth);
    }
    return result;
}

int runFold(const QStringList& arguments, CommandIo& io)
{
    Options options;
    bool haveFile = false;
    for (qsizetype i = 0; i < arguments.size(); ++i) {
        const QString& argument = arguments.at(i);
        if (argument == QLatin1String("-h") || argument == QLatin1String("--help")) {
            io.out << kFoldHelp;
            return ExitOk;
        } else if (argument == QLatin1String("--pretty")) {
            options.pretty = true;
        } else if (argument == QLatin1String("--anomalies")) {
            options.anomalies = true;
        } else if (argument == QLatin1String("--keep-going")) {
            options.keepGoing = true;
        } else if (argument == QLatin1String("--reference-client")) {
            options.mode = FoldMode::ReferenceClient;
        } else if (argument == QLatin1String("--at") || argument.startsWith(QLatin1String("--at="))) {
            QString value;
            if (argument == QLatin1String("--at")) {
                if (i + 1 >= arguments.size()) {
                    io.err << "deltascope-cli fold: --at needs a number of deltas\n";
                    return ExitUsage;
                }
                value = arguments.at(++i);
            } else {
                value = argument.mid(5);
            }
            bool ok = false;
            const qint64 n = value.toLongLong(&ok);
            if (!ok || n < 0) {
                io.err << "deltascope-cli fold: --at needs a number of deltas from 0 to " << std::numeric_limits<qint64>::max() << ", not '" << value << "'\n";
                return ExitUsage;
            }
            options.at = n;
        } else if (argument.startsWith(QLatin1String("--"))) {
            io.err << usageError(QStringLiteral("deltascope-cli fold"), QStringLiteral("Unknown option '%1'.").arg(argument));
            return ExitUsage;
        } else if (!haveFile) {
            options.file = argument;
            haveFile = true;
        } else {
            io.err << "deltascope-cli fold: more than one input file ('" << options.file << "', '" << argument << "')\n";
            return ExitUsage;
        }
    }

    QFile file;
    QIODevice* input = &io.in;
    const bool fromStdin = options.file.isEmpty() || options.file == QLatin1String("-");
    const QString inputName = fromStdin ? QStringLiteral("<stdin>") : options.file;
    if (fromStdin) {
#ifdef Q_OS_UNIX
        if (const auto* in = qobject_cast<const QFile*>(&io.in); in && in->handle() == STDIN_FILENO)
            input = blockingStandardInput(file, input);
#endif
    } else {
        // A named pipe or a device (/dev/stdin on a pipe) is read as standard input is.
        const QFileInfo info(options.file);
        QString openError;
        if (info.exists() && !info.isFile() && !info.isDir()) {
            openError = openThroughStdio(file, options.file);
        } else {
            file.setFileName(options.file);
            if (!file.open(QIODevice::ReadOnly))
                openError = file.errorString();
        }
        if (!openError.isEmpty()) {
            io.err << "deltascope-cli fold: cannot open '" << options.file << "': " << openError << '\n';
            return ExitFailure;
        }
        input = &file;
    }
    const auto* source = qobject_cast<const QFileDevice*>(input); // for read errors (stdin is a QFile too)
    // zstd-compressed input (a .ndjson.zst of deltas or frames) is decoded as it is read.
    std::optional<ZstdReadDevice> decoder;
    if (capture::startsLikeZstd(input->peek(4))) {
        decoder.emplace(*input);
        input = &*decoder;
    }
    // A Deltascope capture (NDJSON with a header line, or zstd): --at counts events, not deltas.
    if (capture::looksLikeCapture(peekFirstLine(*input, 512))) {
        if (fromStdin) {
            io.err << "deltascope-cli fold: standard input holds a Deltascope capture; give its file name instead "
                      "(deltascope-cli fold FILE)\n";
            return ExitUsage;
        }
        return foldCapture(options.file, options.at.value_or(-1), options.pretty, options.anomalies,
            options.mode == FoldMode::ReferenceClient, options.keepGoing, io);
    }

    // The delta log of `export --format ndjson`: each line's `data`, a fresh tree per epoch.
    const QByteArray firstLine = peekFirstLine(*input, 4096);
    const bool deltaLog = capture::firstLineHasFormat(firstLine, capture::kDeltaLogFormatName);
    // A header of another file of ours (a newer kind, or a capture header this build cannot tell):
    // folding its lines as deltas would print a document made of header fields.
    if (const QByteArray otherFormat = capture::firstLineFormatStartingWith(firstLine, "deltascope-");
        !deltaLog && !otherFormat.isEmpty()) {
        io.err << "deltascope-cli fold: " << inputName << ":1: the header names format \"" << QString::fromUtf8(otherFormat) << "\", which this version does not fold (it folds \""
               << capture::kFormatName << "\" captures, \"" << capture::kDeltaLogFormatName
               << "\" delta logs, and NDJSON of deltas or server frames)\n";
        return ExitUsage;
    }

    // A capture whose header line was lost: its event records are no deltas (folding them printed
    // a document made of their fields).
    if (const QByteArray lineOne = firstLine.left(firstLine.indexOf('\n')).trimmed(); !deltaLog && capture::looksLikeCaptureEvent(lineOne)) {
        io.err << "deltascope-cli fold: " << inputName << ":1: " << capture::missingHeaderMessage(lineOne) << '\n';
        return ExitUsage;
    }

    DocumentTree tree(options.mode);
    std::map<qint64, qint64> lastSeqOfStream; // seq going backwards is reported per stream (adama-wire.md 5)
    qint64 epoch = -1; // of the delta log line folded last
    bool deltaLogHeaderSeen = false;
    LineReader lines(*input);
    FoldResult result; // reused: its vectors keep their memory from line to line
    qint64 lineNumber = 0;
    qint64 folded = 0;
    qint64 anomalyCount = 0;
    qint64 malformed = 0;
    // Whether the input is a transcript, decided by its first line: a protocol message or a server
    // frame makes it one (its messages are skipped); anything else makes every line a delta.
    std::optional<bool> transcript;
    bool streamFolded = false; // a transcript's current stream has folded a delta
    qint64 documentStream = -1; // a transcript's latest connection/create id (-1: none seen)
    std::map<qint64, qint64> otherStreamItems; // items of other streams left out, by stream id
    std::map<qint64, QString> endedStreams; // a transcript's streams that ended, and how: later items are dropped
    bool reachedEnd = false; // not stopped by --at: damage found ahead in zstd input then counts
    bool lineCutOff = false;
    while (!options.at || folded < *options.at) {
        std::string_view line;
        bool terminated = true;
        if (!lines.next(line, terminated)) {
            reachedEnd = true;
            break;
        }
        if (decoder && !terminated && !decoder->damage().isEmpty()) {
            // The text stops inside this line at the damage: it belongs to the damage, not to a malformed line.
            reachedEnd = true;
            lineCutOff = true;
            break;
        }
        ++lineNumber;
        // A UTF-8 byte order mark that Windows editors put before the first line: read past, as
        // the capture, HAR and plan readers do (RFC 8259 lets a parser ignore it).
        if (lineNumber == 1 && line.starts_with("\xEF\xBB\xBF"))
            line.remove_prefix(3);
        if (QByteArrayView(line.data(), qsizetype(line.size())).trimmed().isEmpty())
            continue;
        if (deltaLog && !deltaLogHeaderSeen) {
            deltaLogHeaderSeen = true; // the export's header line: where the deltas came from
            continue;
        }
        LineDelta lineDelta = deltaOfLine(line, options.mode, deltaLog, transcript.value_or(true));
        if (!transcript && !lineDelta.malformed && !deltaLog) {
            transcript = lineDelta.protocolMessage || lineDelta.serverFrame;
            if (!*transcript)
                lineDelta = deltaOfLine(line, options.mode, deltaLog, false);
        }
        // A new stream: a connection/create, or a hello, on whose socket the stream is made again
        // (7.1; its request maybe not in the file, a transcript of server frames). Its first item
        // is a whole snapshot, folded onto an empty document (the reference client merges it into
        // what it holds), as for a delta log; its seqs count afresh.
        const auto startStream = [&] {
            if (streamFolded && options.mode == FoldMode::Canonical)
                tree = DocumentTree(options.mode);
            streamFolded = false;
            lastSeqOfStream.clear();
        };
        if (lineDelta.createRequest && *transcript) {
            startStream();
            documentStream = lineDelta.requestId;
            endedStreams.erase(lineDelta.requestId); // an id connection.js may reuse
        }
        if (lineDelta.hello && transcript.value_or(false)) {
            startStream();
            endedStreams.clear(); // the server knows none of the old socket's ids
        }
        if (lineDelta.malformed) {
            // The first kMalformedShown are named; past them (a damaged file), a count at the end.
            if (++malformed <= kMalformedShown)
                io.err << inputName << ':' << lineNumber << ": " << lineDelta.error << '\n';
            if (!options.keepGoing) {
                io.err << "deltascope-cli fold: stopped at the malformed line (use --keep-going to skip such lines)\n";
                return ExitUsage;
            }
            continue;
        }
        if (const auto ended = endedStreams.find(lineDelta.stream); lineDelta.stream >= 0 && !deltaLog && ended != endedStreams.end()) {
            // Section 4: a stream ends with one done:true or one failure, and clients drop frames for
            // ids they no longer know.
            lineDelta.dropped = QStringLiteral("item for stream %1 after its %2: a client no longer knows the id and drops it")
                                    .arg(lineDelta.stream)
                                    .arg(ended->second);
            lineDelta.endsStream = -1;
        }
        if (lineDelta.endsStream >= 0 && !deltaLog)
            endedStreams.try_emplace(lineDelta.endsStream, lineDelta.endedBy); // after its own data, folded below
        if (!lineDelta.dropped.isEmpty()) {
            ++anomalyCount;
            if (options.anomalies)
                io.err << inputName << ':' << lineNumber << ": frame-dropped: " << lineDelta.dropped << '\n';
            continue;
        }
        bool seqRepeated = false;
        if (lineDelta.stream >= 0 && lineDelta.seq >= 0) {
            const auto [last, first] = lastSeqOfStream.try_emplace(lineDelta.stream, lineDelta.seq);
            if (!first && lineDelta.seq <= last->second) {
                seqRepeated = true;
                ++anomalyCount;
                if (options.anomalies)
                    io.err << inputName << ':' << lineNumber << ": seq-not-increasing: seq " << lineDelta.seq << " after seq " << last->second
                           << (deltaLog ? " in epoch " : " on stream ") << lineDelta.stream << '\n';
            }
            last->second = std::max(last->second, lineDelta.seq);
        }
        if (!lineDelta.delta)
            continue;
        if (documentStream >= 0 && lineDelta.stream >= 0 && lineDelta.stream != documentStream) {
            // One socket can carry several documents' streams: the one folded is the latest
            // connection/create's, and the others' items are left out, not mixed into it.
            ++otherStreamItems[lineDelta.stream];
            continue;
        }
        // A stream's first item is its snapshot; a later one that sends values again unchanged looks
        // like one re-sent inside the stream (adama-wire.md 7.4), as a session's fold says too.
        const bool recordedStream = deltaLog || transcript.value_or(false);
        const bool firstOfStream = deltaLog ? lineDelta.stream != epoch : !streamFolded;
        if (deltaLog && lineDelta.stream != epoch) {
            // A new connection's first item is a whole snapshot, folded onto an empty document;
            // the reference client merges it into the tree it holds (stale keys stay), as the
            // capture fold's merged tree does.
            if (epoch >= 0 && options.mode == FoldMode::Canonical)
                tree = DocumentTree(options.mode);
            epoch = lineDelta.stream;
        }
        // Nothing here reads a change set: the document is printed at the end.
        detail::foldParsed(tree, *lineDelta.delta, folded, result, DocumentTree::ChangeDetail::None, lineDelta.treeJsMayThrow);
        streamFolded = true;
        const bool notAnObject = !result.anomalies.empty() && result.anomalies.front().kind == AnomalyKind::NotAnObject;
        if (notAnObject) {
            if (++malformed <= kMalformedShown)
                io.err << inputName << ':' << lineNumber << ": the data is not a delta object: " << result.error << '\n';
            if (!options.keepGoing)
                return ExitUsage;
            continue;
        }
        if (options.anomalies) {
            for (const Anomaly& anomaly : result.anomalies) {
                io.err << inputName << ':' << lineNumber << ": delta " << folded << ": " << anomalyKindName(anomaly.kind) << " at '"
                       << anomaly.path << "': " << anomaly.message << '\n';
            }
        }
        anomalyCount += qint64(result.anomalies.size());
        if (recordedStream && !firstOfStream && !seqRepeated && result.unchangedValues >= kResentSnapshotValues) {
            ++anomalyCount;
            if (options.anomalies)
                io.err << inputName << ':' << lineNumber << ": delta " << folded << ": snapshot-resent: " << resentSnapshotMessage(result.unchangedValues) << '\n';
        }
        ++folded;
    }
    if (reachedEnd && (!decoder || decoder->damage().isEmpty()) && source && source->error() != QFileDevice::NoError) {
        // Not the end: the input failed (an I/O error, a directory given as input).
        io.err << "deltascope-cli fold: cannot read " << (fromStdin ? inputName : QLatin1Char('\'') + inputName + QLatin1Char('\''))
               << " after " << lineNumber << (lineNumber == 1 ? " line" : " lines") << ": " << source->errorString() << '\n';
        return ExitFailure;
    }
    if (reachedEnd && decoder && !decoder->damage().isEmpty()) {
        io.err << inputName << ": " << decoder->damage() << "; " << lineNumber << (lineNumber == 1 ? " whole line" : " whole lines")
               << " decoded before it" << (lineCutOff ? ", and the line it cut off left out" : "") << '\n';
        if (!options.keepGoing) {
            io.err << "deltascope-cli fold: stopped at the damage (use --keep-going to print the document folded before it)\n";
            return ExitUsage;
        }
        io.err << "deltascope-cli fold: printed the document folded before the damage\n";
    }
    if (options.at && folded < *options.at)
        io.err << "deltascope-cli fold: the input has only " << folded << (folded == 1 ? " delta" : " deltas") << " (asked --at " << *options.at
               << "); printed the document after all of them\n";

    writeUtf8(io.out, tree.toJson(options.pretty));
    io.out << '\n';
    io.out.flush();
    if (!otherStreamItems.empty()) {
        // Said whether or not --anomalies: the document printed is one of several.
        QStringList others;
        for (const auto& [stream, items] : otherStreamItems)
            others << QStringLiteral("id %1: %2 item%3").arg(stream).arg(items).arg(items == 1 ? QString() : QStringLiteral("s"));
        io.err << "deltascope-cli fold: " << inputName << " carries several document streams; the document printed is stream id " << documentStream
               << "'s (the latest connection/create), and the items of the others were left out (" << others.join(QStringLiteral(", ")) << ")\n";
    }
    if (malformed > 0 && options.keepGoing)
        io.err << "deltascope-cli fold: skipped " << malformed << " malformed line(s)"
               << (malformed > kMalformedShown ? QStringLiteral(", the first %1 named above").arg(kMalformedShown) : QString()) << '\n';
    if (options.anomalies && anomalyCount > 0) {
        io.err << "deltascope-cli fold: " << anomalyCount << " anomal" << (anomalyCount == 1 ? "y" : "ies") << " in " << folded << (folded == 1 ? " delta\n" : " deltas\n");
        return ExitAnomalies;
    }
    return ExitOk;
}

}

Command foldCommand()
{
    return { QStringLiteral("fold"), QStringLiteral("Fold NDJSON deltas (or server frames) and print the visible document."), runFold };
}

}
