#include <catch2/catch.hpp>

#include "capturetestutils.h"
#include "core/capture/capturecheckpoints.h"
#include "core/capture/captureformat.h"
#include "core/capture/capturereader.h"
#include "core/capture/capturewriter.h"
#include "core/capture/replaysession.h"
#include "core/jsonstring.h"
#include "core/session/sessionfolder.h"
#include "tests/support/testutils.h"

#include <QBuffer>
#include <QDir>
#include <QElapsedTimer>
#include <QFile>
#include <QFileInfo>
#include <QJsonDocument>
#include <QSignalSpy>
#include <QTemporaryDir>

#include <cstring>
#include <limits>
#include <map>
#include <random>
#include <thread>

#include <sys/resource.h>

using namespace deltascope;
using deltascope::test::checkSameEventFacts;
using deltascope::test::fillSyntheticSession;
using deltascope::test::writeFile;

namespace {

QByteArray writeToBytes(const EventLog& log, bool keepIdentity = false)
{
    QByteArray bytes;
    QBuffer buffer(&bytes);
    buffer.open(QIODevice::WriteOnly);
    capture::Header header;
    header.tool = QStringLiteral("tests");
    header.endpoint = QStringLiteral("ws://127.0.0.1:1/~s");
    header.space = QStringLiteral("chat");
    header.key = QStringLiteral("demo");
    header.identity = QStringLiteral("anonymous:secret-agent");
    QString error;
    REQUIRE(CaptureWriter::writeLog(log, header, buffer, keepIdentity, &error));
    return bytes;
}

std::unique_ptr<Capture> openBytes(const QTemporaryDir& dir, const QByteArray& bytes, QString& error, const QString& name = QStringLiteral("c.ndjson"))
{
    const QString path = dir.filePath(name);
    REQUIRE(writeFile(path, bytes));
    return CaptureReader::open(path, {}, &error);
}

// The state after `index` folding the log from scratch: the reference for checkpoint restores.
QByteArray foldFromScratch(const EventLog& log, qint64 index)
{
    SessionFolder folder;
    for (qint64 i = 0; i <= index; ++i)
        folder.processEvent(log.at(i), log.payload(i));
    return folder.epochTree().toJson();
}

}

TEST_CASE("capture format: strings keep every byte, binary goes base64, local fields stay objects")
{
    const QByteArray tricky = QByteArray("{\"a\":\"q\\\"uote \\\\ back\",\"c\":\"\x01\x1f\t\n\r\",\"u\":\"\xc3\xa9\xf0\x9f\x98\x80\"}");
    QByteArray line;
    SessionEvent event;
    event.index = 0;
    event.kind = EventKind::UnknownInbound;
    event.direction = Direction::Inbound;
    capture::appendEventLine(line, event, {}, tricky);
    CHECK_FALSE(line.contains('\n'));
    const int start = line.indexOf("\"frame\":") + 8;
    QByteArray decoded;
    REQUIRE(capture::decodeJsonString(QByteArrayView(line).sliced(start, line.size() - start - 1), decoded));
    CHECK(decoded == tricky);

    QByteArray binaryLine;
    capture::appendEventLine(binaryLine, event, {}, QByteArray("\xff\x00\x80", 3));
    CHECK(binaryLine.contains("\"frameBase64\":\"/wCA\""));

    QByteArray localLine;
    SessionEvent local;
    local.index = 1;
    local.kind = EventKind::StateChanged;
    capture::appendEventLine(localLine, local, {}, R"({"from":"a","to":"b"})");
    CHECK(localLine.endsWith(R"("fields":{"from":"a","to":"b"}})"));
    // A local payload that is not one JSON object line travels as a string instead.
    QByteArray oddLocal;
    capture::appendEventLine(oddLocal, local, {}, "not json\nat all");
    CHECK(oddLocal.contains(R"("frame":"not json\nat all")"));

    CHECK_FALSE(capture::decodeJsonString("\"bad \\x escape\"", decoded));
    CHECK_FALSE(capture::decodeJsonString("\"\\u12\"", decoded));
    CHECK_FALSE(capture::decodeJsonString("no quotes", decoded));
}

TEST_CASE("capture format: a frame's decoded size is known without decoding it, as decodeJsonString() would decode it")
{
    const auto sameSize = [](QByteArrayView token) {
        QByteArray decoded;
        const bool ok = capture::decodeJsonString(token, decoded);
        INFO(token.toByteArray().toStdString());
        CHECK(capture::decodedJsonStringSize(token) == (ok ? decoded.size() : -1));
    };
    for (const char* token : { R"("")", R"("plain")", R"("q\"uote \\ back\/slash")", R"("\b\f\n\r\t")", R"("\u0041\u00e9\u20ac")",
             R"("\ud83d\ude00 pair")", R"("\ud83d lone high")", R"("\ude00 lone low")", R"("\ud83d\u0041 high then not low")",
             R"("bad \x escape")", R"("\u12")", R"("\u12zz")", R"("ends in \")", "no quotes", "\"", R"("a\")" })
        sameSize(QByteArrayView(token, qsizetype(std::strlen(token))));
    sameSize(QByteArrayView("\"nul \\\0 escape\"", 15)); // a NUL after the backslash
    CHECK(capture::decodedJsonStringSize(R"("\ud83d\ude00")") == 4);
    CHECK(capture::decodedJsonStringSize(R"("\u00e9")") == 2);
    // Whatever appendJsonString() writes, the two agree (random bytes, made valid UTF-8).
    std::mt19937 random(7);
    for (int round = 0; round < 2000; ++round) {
        QByteArray bytes(int(random() % 40), Qt::Uninitialized);
        for (char& c : bytes)
            c = char(random() % 4 == 0 ? random() % 32 : random() % 256);
        const QByteArray text = QString::fromUtf8(bytes).toUtf8();
        QByteArray token;
        appendJsonString(token, text);
        sameSize(token);
        QByteArray decoded;
        REQUIRE(capture::decodeJsonString(token, decoded));
        CHECK(decoded == text);
    }
}

TEST_CASE("capture format: header versions, unknown fields and wrong formats")
{
    capture::Header header;
    QString error;
    CHECK(capture::parseHeader(R"({"format":"deltascope-capture","version":"1.7","tool":"future","brandNew":{"x":1}})", header, error));
    CHECK(header.versionMinor == 7);
    CHECK(header.extra.contains(QStringLiteral("brandNew")));
    // Written back in the documented order, `format` first, unknown fields kept at the end.
    header.tool = QStringLiteral("tests");
    const QByteArray line = header.toJsonLine();
    CHECK(line.startsWith(R"({"format":"deltascope-capture","version":"1.7","tool":"tests","startedWallMs":0,"started":)"));
    CHECK(line.endsWith(R"("notes":"","brandNew":{"x":1}})"));
    CHECK(line.indexOf("\"endpoint\"") < line.indexOf("\"space\""));
    CHECK(line.indexOf("\"space\"") < line.indexOf("\"key\""));
    CHECK(line.indexOf("\"key\"") < line.indexOf("\"identityRemoved\""));
    capture::Header again;
    REQUIRE(capture::parseHeader(line.toStdString(), again, error));
    CHECK(again.tool == QStringLiteral("tests"));
    CHECK(again.extra == header.extra);
    // Readers take the fields in any order.
    REQUIRE(capture::parseHeader(R"({"space":"chat","notes":"n","key":"k","version":"1.0","format":"deltascope-capture","identityRemoved":true})",
        header, error));
    CHECK(header.space == QStringLiteral("chat"));
    CHECK(header.key == QStringLiteral("k"));
    CHECK(header.notes == QStringLiteral("n"));
    CHECK(header.identityRemoved);

    CHECK_FALSE(capture::parseHeader(R"({"format":"deltascope-capture","version":"2.0"})", header, error));
    CHECK(error.contains(QStringLiteral("newer")));
    CHECK(error.contains(QStringLiteral("2.0")));

    CHECK_FALSE(capture::parseHeader(R"({"format":"something-else","version":"1.0"})", header, error));
    CHECK(error.contains(QStringLiteral("something-else")));
    CHECK_FALSE(capture::parseHeader(R"({"log":{"version":"1.2","entries":[]}})", header, error));
    CHECK(error.contains(QStringLiteral("HAR")));
    CHECK_FALSE(capture::parseHeader(R"({"format":"deltascope-capture","version":"one"})", header, error));
    CHECK(error.contains(QStringLiteral("version")));
    CHECK_FALSE(capture::parseHeader("\x7f" "ELF\x02\x01\x01", header, error));
    CHECK(error.contains(QStringLiteral("binary")));
    // A capture whose header line was cut off: its first event says so, and how to put one back.
    const char* const firstEvent = R"({"index":0,"ns":4179523,"wallMs":1796124266801,"dir":"local","kind":"state","epoch":0,"fields":{}})";
    CHECK_FALSE(capture::parseHeader(firstEvent, header, error));
    CHECK(error.contains(QStringLiteral("line 1 is event 0 of a Deltascope capture, not its header: the header line is missing")));
    const QString restore = error.mid(error.indexOf(QLatin1Char('{'))).chopped(QStringLiteral(" back as line 1)").size());
    CHECK(capture::parseHeader(restore.toStdString(), header, error));
    // An object that merely has an "index" is not an event.
    CHECK_FALSE(capture::parseHeader(R"({"index":3,"title":"x"})", header, error));
    CHECK(error.contains(QStringLiteral("no \"format\" field")));
}

TEST_CASE("capture: write a log, open it, same events, payloads, links and trees")
{
    QTemporaryDir dir;
    EventLog log;
    fillSyntheticSession(log, 2500);
    const QByteArray bytes = writeToBytes(log);
    CHECK_FALSE(bytes.contains("secret-agent")); // the identity is gone from header and payloads
    CHECK(bytes.contains("[redacted identity 1]"));

    QString error;
    std::unique_ptr<Capture> capture = openBytes(dir, bytes, error);
    REQUIRE(capture);
    CHECK(capture->closedCleanly);
    CHECK(capture->notices().isEmpty());
    CHECK(capture->header.identityRemoved);
    CHECK(capture->header.identity.isEmpty());
    const EventLog& read = *capture->log;
    REQUIRE(read.size() == log.size());
    int escapedFrames = 0;
    for (qint64 i = 0; i < log.size(); ++i) {
        const SessionEvent& a = log.at(i);
        const SessionEvent& b = read.at(i);
        INFO("event " << i);
        checkSameEventFacts(a, b);
        CHECK(a.parts == b.parts);
        CHECK(a.linkedIndex == b.linkedIndex);
        CHECK(log.method(i) == read.method(i));
        CHECK(log.seqLink(i) == read.seqLink(i));
        QByteArray expected = log.payload(i);
        expected.replace("anonymous:secret-agent", "[redacted identity 1]");
        CHECK(read.payload(i) == expected);
        // Sizes are the frames' own, not their escaped length in the file.
        CHECK(b.payload.size == quint32(expected.size()));
        if (b.direction != Direction::Local)
            escapedFrames += b.payload.length > b.payload.size;
    }
    CHECK(escapedFrames > 0);
    REQUIRE(capture->checkpoints);
    SessionFolder folder;
    // The checkpoints are made in the background: seeks answer the same before and after.
    for (const bool complete : { false, true }) {
        if (complete) {
            REQUIRE(capture->checkpoints->waitUntilComplete());
            CHECK(capture->checkpoints->count() >= 2);
        }
        for (qint64 index : { qint64(-1), qint64(0), qint64(5), qint64(999), qint64(1000), qint64(1001), qint64(1777), read.size() - 1 }) {
            INFO("tree at " << index << (complete ? " with" : " while making") << " checkpoints");
            capture->checkpoints->restore(folder, index);
            CHECK(folder.epochTree().toJson() == (index >= 0 ? foldFromScratch(read, index) : DocumentTree().toJson()));
        }
    }
    // At most `interval` events are folded for any target.
    CHECK(capture->checkpoints->restore(folder, read.size() - 1) <= capture->checkpoints->interval());
}

TEST_CASE("capture: writeLog reports progress, writes what the log held when it began, and stops when told")
{
    EventLog log;
    fillSyntheticSession(log, 6000); // past one progress step (4,096 events)
    const qint64 eventsAtStart = log.size();
    capture::Header header;
    header.tool = QStringLiteral("tests");
    header.identity = QStringLiteral("anonymous:secret-agent");

    // The log grows while the write goes on (a live session during an export): a request added
    // meanwhile, and an answer linked to an event the write has not reached.
    QByteArray bytes;
    QBuffer buffer(&bytes);
    buffer.open(QIODevice::WriteOnly);
    std::vector<double> seen;
    const qint64 lastRequest = log.indexesOfKind(EventKind::Request).back();
    const qint64 itsAnswer = log.at(lastRequest).linkedIndex;
    REQUIRE(CaptureWriter::writeLog(log, header, buffer, false, nullptr, [&](double done) {
        seen.push_back(done);
        if (seen.size() == 2) {
            SessionEvent late;
            late.kind = EventKind::Response;
            late.direction = Direction::Inbound;
            late.epoch = 1;
            const qint64 answer = log.append(late, "{\"deliver\":99,\"done\":true}");
            log.link(lastRequest, answer);
        }
        return true;
    }));
    REQUIRE(seen.size() >= 2);
    CHECK(std::is_sorted(seen.begin(), seen.end()));
    CHECK(seen.front() == 0.0);
    CHECK(seen.back() < 1.0);
    QTemporaryDir dir;
    QString error;
    const std::unique_ptr<Capture> capture = openBytes(dir, bytes, error);
    REQUIRE(capture);
    INFO(error.toStdString());
    CHECK(capture->log->size() == eventsAtStart);
    CHECK(capture->notices().isEmpty()); // the end record counts what was written
    // The link made meanwhile points past the end: not written, so the request keeps its answer.
    CHECK_FALSE(bytes.contains(QByteArray(QByteArray("\"link\":") + QByteArray::number(eventsAtStart))));
    CHECK(capture->log->at(lastRequest).linkedIndex == itsAnswer);
    CHECK_FALSE(bytes.contains("secret-agent"));

    // Stopped part-way: false, "cancelled", and the log is read no further.
    QByteArray stopped;
    QBuffer stoppedBuffer(&stopped);
    stoppedBuffer.open(QIODevice::WriteOnly);
    int calls = 0;
    QString why;
    CHECK_FALSE(CaptureWriter::writeLog(log, header, stoppedBuffer, true, &why, [&](double) { return ++calls < 2; }));
    CHECK(why == QStringLiteral("cancelled"));
    CHECK(calls == 2);
}

TEST_CASE("checkpoints: made on a worker thread while seeks on other threads get the same trees")
{
    QTemporaryDir dir;
    EventLog log;
    fillSyntheticSession(log, 20000);
    QString error;
    std::unique_ptr<Capture> capture = openBytes(dir, writeToBytes(log), error);
    REQUIRE(capture);
    // The reference: one fold from scratch, sampled.
    std::vector<qint64> targets;
    std::map<qint64, QByteArray> expected;
    {
        const EventLog& read = *capture->log;
        for (qint64 index = read.size() - 1; index >= 0; index -= 997)
            targets.push_back(index);
        std::sort(targets.begin(), targets.end());
        SessionFolder folder;
        std::size_t next = 0;
        for (qint64 i = 0; i < read.size() && next < targets.size(); ++i) {
            folder.processEvent(read.at(i), read.payload(i));
            if (i == targets[next])
                expected[targets[next++]] = folder.epochTree().toJson() + folder.mergedTree().toJson();
        }
    }
    // Open again (the checkpoints start over) and seek from two threads while they are made.
    capture = openBytes(dir, writeToBytes(log), error, QStringLiteral("again.ndjson"));
    REQUIRE(capture);
    const qint64 size = capture->log->size();
    CaptureCheckpoints& checkpoints = *capture->checkpoints;
    std::atomic<int> mismatches { 0 };
    const auto seekAll = [&](bool reverse) {
        SessionFolder folder;
        for (std::size_t n = 0; n < targets.size(); ++n) {
            const qint64 target = targets[reverse ? targets.size() - 1 - n : n];
            checkpoints.restore(folder, target);
            if (folder.epochTree().toJson() + folder.mergedTree().toJson() != expected[target])
                ++mismatches;
        }
    };
    std::thread other([&] { seekAll(true); });
    seekAll(false);
    other.join();
    CHECK(mismatches.load() == 0);
    REQUIRE(checkpoints.waitUntilComplete());
    CHECK(checkpoints.isComplete());
    CHECK(checkpoints.foldedUpTo() == size);
    seekAll(true);
    CHECK(mismatches.load() == 0);
    SessionFolder last;
    CHECK(checkpoints.restore(last, size - 1) <= checkpoints.interval());

    // A replay session learns when they are complete, and then has the fold's anomalies.
    capture = openBytes(dir, writeToBytes(log), error, QStringLiteral("third.ndjson"));
    REQUIRE(capture);
    ReplaySession replay(std::move(capture));
    QSignalSpy completed(&replay, &ReplaySession::checkpointsCompleted);
    REQUIRE((replay.checkpointsComplete() || completed.wait(20000)));
    CHECK(replay.checkpointsComplete());
}

TEST_CASE("capture: keep-identity keeps the token, and the zstd round trip")
{
    QTemporaryDir dir;
    EventLog log;
    fillSyntheticSession(log, 300);
    const QByteArray kept = writeToBytes(log, true);
    CHECK(kept.contains("anonymous:secret-agent"));

    // The live writer with compression, against a growing log.
    EventLog live;
    capture::Header header;
    header.identity = QStringLiteral("anonymous:secret-agent");
    CaptureWriterOptions options;
    options.path = dir.filePath(QStringLiteral("live.ndjson.zst"));
    CaptureWriter writer(&live, header, options);
    QString error;
    REQUIRE(writer.start(&error));
    fillSyntheticSession(live, 3000);
    writer.stop();
    CHECK(writer.eventsWritten() == live.size());
    QFile file(options.path);
    REQUIRE(file.open(QIODevice::ReadOnly));
    CHECK(file.read(4) == QByteArray("\x28\xb5\x2f\xfd", 4));
    std::unique_ptr<Capture> capture = CaptureReader::open(options.path, {}, &error);
    REQUIRE(capture);
    CHECK(capture->compressed);
    CHECK(capture->closedCleanly);
    REQUIRE(capture->log->size() == live.size());
    for (qint64 i = 0; i < live.size(); ++i) {
        QByteArray expected = live.payload(i);
        expected.replace("anonymous:secret-agent", "[redacted identity 1]");
        REQUIRE(capture->log->payload(i) == expected);
    }

    // A compressed capture cut in the middle still opens up to the damage.
    file.seek(0);
    const QByteArray all = file.readAll();
    const QString cut = dir.filePath(QStringLiteral("cut.ndjson.zst"));
    REQUIRE(writeFile(cut, all.left(all.size() * 2 / 3)));
    std::unique_ptr<Capture> partial = CaptureReader::open(cut, {}, &error);
    REQUIRE(partial);
    CHECK(partial->log->size() > 0);
    CHECK(partial->log->size() < live.size());
    CHECK(partial->notices().join(QLatin1Char('\n')).contains(QStringLiteral("the compressed stream ends in the middle of a frame (the recorder did not finish)")));

    // A cut compressed capture with a whole one appended (`cat cut.zst whole.zst`): what came before
    // the cut opens, and the note says where the appended frame starts and how to read it.
    const QString joinedPath = dir.filePath(QStringLiteral("cut then whole.ndjson.zst"));
    const qsizetype cutSize = all.size() * 2 / 3;
    REQUIRE(writeFile(joinedPath, all.left(cutSize) + all));
    std::unique_ptr<Capture> joined = CaptureReader::open(joinedPath, {}, &error);
    REQUIRE(joined);
    CHECK(joined->log->size() > 0);
    CHECK(joined->log->size() < live.size());
    const QString joinedNotes = joined->notices().join(QLatin1Char('\n'));
    INFO(joinedNotes.toStdString());
    CHECK(joinedNotes.contains(QStringLiteral("the compressed stream is damaged (")));
    CHECK(joinedNotes.contains(QStringLiteral("a new zstd frame starts at compressed byte %1 (another compressed file appended after a damaged one?), not read").arg(cutSize)));
    CHECK(joinedNotes.contains(QStringLiteral("To read from that frame on: tail -c +%1 '%2' | zstd -dc > '%3'")
                                   .arg(cutSize + 1)
                                   .arg(joinedPath, dir.filePath(QStringLiteral("cut then whole.from-byte-%1.ndjson").arg(cutSize)))));

    // Bytes that are not zstd after the first frames: what came before them opens, and the note says why the rest is missing.
    const QString damagedPath = dir.filePath(QStringLiteral("damaged.ndjson.zst"));
    QByteArray damagedBytes = all;
    damagedBytes.replace(all.size() / 2, 64, QByteArray(64, 'x'));
    REQUIRE(writeFile(damagedPath, damagedBytes));
    std::unique_ptr<Capture> damaged = CaptureReader::open(damagedPath, {}, &error);
    REQUIRE(damaged);
    CHECK(damaged->log->size() < live.size());
    CHECK(damaged->notices().join(QLatin1Char('\n')).contains(QStringLiteral("the compressed stream is damaged (")));
    CHECK_FALSE(damaged->notices().join(QLatin1Char('\n')).contains(QStringLiteral("a new zstd frame"))); // none follows
    CHECK(damaged->compressedStreamDamaged);
    CHECK(damaged->lostPlaces == 1);
    CHECK_FALSE(partial->compressedStreamDamaged); // a cut-off loses nothing that was flushed
    CHECK(partial->lostPlaces == 0);

    // A limit on the decompressed text refuses a capture beyond it, saying so.
    CaptureOpenOptions limited;
    limited.maxDecompressedBytes = 4096;
    CHECK_FALSE(CaptureReader::open(options.path, limited, &error));
    CHECK(error == options.path + QStringLiteral(" decompresses to more than 4096 bytes, the limit for opening it"));
    limited.maxDecompressedBytes = 64 << 20;
    CHECK(CaptureReader::open(options.path, limited, &error));

    // A stream of one repeated byte (a "zip bomb") is no capture text past the longest line a
    // capture can hold: what came before it opens, the rest is left out and said.
    const QString bombPath = dir.filePath(QStringLiteral("bomb.ndjson.zst"));
    const QByteArray bombText = QByteArray(R"({"format":"deltascope-capture","version":"1.0"})"
                                           "\n")
        + QByteArray(64 << 20, ' ');
    REQUIRE(writeFile(bombPath, capture::compressZstd(bombText)));
    CaptureOpenOptions shortLines;
    shortLines.maxLineBytes = 1 << 20;
    std::unique_ptr<Capture> bomb = CaptureReader::open(bombPath, shortLines, &error);
    INFO(error.toStdString());
    REQUIRE(bomb);
    CHECK(bomb->log->size() == 0);
    CHECK(bomb->notices().join(QLatin1Char('\n')).contains(QStringLiteral("runs over 1 MiB without a line break from byte 48 on")));
}

TEST_CASE("capture: a .zst capture of one payload repeated opens, however well it compresses")
{
    // The same 200 KB snapshot delivered again and again compresses thousands of times: a real
    // capture all the same.
    QTemporaryDir dir;
    EventLog log;
    QByteArray snapshot = R"({"deliver":1,"done":false,"response":{"delta":{"data":{"blob":")";
    snapshot += QByteArray(200 * 1024, 'a') + R"("},"seq":1}}})";
    SessionEvent item;
    item.kind = EventKind::StreamItem;
    item.direction = Direction::Inbound;
    for (int i = 0; i < 300; ++i)
        log.append(item, snapshot);
    const QString path = dir.filePath(QStringLiteral("repeated.ndjson.zst"));
    const QByteArray compressed = capture::compressZstd(writeToBytes(log));
    REQUIRE(writeFile(path, compressed));
    QString error;
    std::unique_ptr<Capture> opened = CaptureReader::open(path, {}, &error);
    INFO(error.toStdString() << " (" << compressed.size() << " bytes compressed)");
    REQUIRE(opened);
    CHECK(opened->log->size() == log.size());
    CHECK(opened->notices().isEmpty());
}

TEST_CASE("capture: a .zst capture's text leaves no copy on disk, even while it is open")
{
    // Its text is the capture in the clear: an interrupted open must not leave it in /tmp.
    QTemporaryDir captures;
    QTemporaryDir temporary;
    EventLog log;
    fillSyntheticSession(log, 500);
    const QString path = captures.filePath(QStringLiteral("c.ndjson.zst"));
    REQUIRE(writeFile(path, capture::compressZstd(writeToBytes(log))));
    const QByteArray savedTmpDir = qgetenv("TMPDIR");
    qputenv("TMPDIR", QFile::encodeName(temporary.path()));
    QString error;
    std::unique_ptr<Capture> open = CaptureReader::open(path, {}, &error);
    const QStringList left = QDir(temporary.path()).entryList(QDir::Files | QDir::Hidden | QDir::NoDotAndDotDot);
    if (savedTmpDir.isNull())
        qunsetenv("TMPDIR");
    else
        qputenv("TMPDIR", savedTmpDir);
    REQUIRE(open);
    CHECK(left.isEmpty());
    REQUIRE(open->log->size() == log.size());
    for (qint64 i = 0; i < log.size(); i += 37)
        CHECK(open->log->payload(i).size() == log.payload(i).replace("anonymous:secret-agent", "[redacted identity 1]").size());
}

TEST_CASE("capture: recording over a capture that is open leaves the open one readable")
{
    // The reader maps the file; a recording cutting it short in place made every later read of
    // the open capture a SIGBUS (a replay running while `record --out` reused its name).
    QTemporaryDir dir;
    EventLog log;
    fillSyntheticSession(log, 2000);
    QString error;
    std::unique_ptr<Capture> open = openBytes(dir, writeToBytes(log), error, QStringLiteral("same.ndjson"));
    REQUIRE(open);
    REQUIRE(open->log->size() == log.size());
    const QByteArray lastBefore = open->log->payload(open->log->size() - 1);
    // A private capture stays private: the new file keeps the old one's mode.
    REQUIRE(QFile::setPermissions(dir.filePath(QStringLiteral("same.ndjson")), QFileDevice::ReadOwner | QFileDevice::WriteOwner));

    EventLog next;
    CaptureWriterOptions options;
    options.path = dir.filePath(QStringLiteral("same.ndjson"));
    CaptureWriter writer(&next, {}, options);
    REQUIRE(writer.start(&error));
    SessionEvent note;
    note.kind = EventKind::Note;
    next.append(note, R"({"text":"the new recording"})");
    writer.stop();
    CHECK(QFileInfo(options.path).size() < 1000);
    CHECK(QFileInfo(options.path).permissions() == (QFileDevice::ReadOwner | QFileDevice::WriteOwner | QFileDevice::ReadUser | QFileDevice::WriteUser));

    qint64 bytes = 0;
    for (qint64 i = 0; i < open->log->size(); ++i)
        bytes += open->log->payload(i).size();
    CHECK(bytes > 0);
    CHECK(open->log->payload(open->log->size() - 1) == lastBefore);
    std::unique_ptr<Capture> reopened = CaptureReader::open(options.path, {}, &error);
    REQUIRE(reopened);
    CHECK(reopened->log->size() == 1);
}

TEST_CASE("capture: keepExistingUntilDocument replaces a capture at the document's first item, and keeps it when none comes")
{
    QTemporaryDir dir;
    const QString path = dir.filePath(QStringLiteral("kept.ndjson.zst"));
    const QByteArray before = capture::compressZstd(R"({"the":"old recording"})" "\n");
    const auto writeOld = [&] {
        REQUIRE(writeFile(path, before));
        REQUIRE(QFile::setPermissions(path, QFileDevice::ReadOwner | QFileDevice::WriteOwner));
    };
    const auto siblings = [&] {
        return QDir(dir.path()).entryList(QDir::Files | QDir::Hidden | QDir::NoDotAndDotDot).filter(QStringLiteral(".recording-"));
    };
    const auto readAll = [&] {
        QFile file(path);
        return file.open(QIODevice::ReadOnly) ? file.readAll() : QByteArray();
    };
    CaptureWriterOptions options;
    options.path = path;
    options.keepExistingUntilDocument = true;
    QString error;
    SessionEvent event;

    SECTION("a hello, then the stream refused: the old file stays, and the attempt leaves nothing behind")
    {
        writeOld();
        EventLog log;
        CaptureWriter writer(&log, {}, options);
        REQUIRE(writer.start(&error));
        CHECK(writer.keptExisting());
        REQUIRE(siblings().size() == 1);
        CHECK(siblings().first().endsWith(QLatin1String(".zst"))); // compressed like the file it would replace
        event.kind = EventKind::Hello;
        log.append(event, R"({"status":"connected","version":"v1"})");
        event.kind = EventKind::Failure;
        event.code = 625678;
        log.append(event, R"({"failure":1,"reason":625678,"retry":false})");
        log.flushNotifications();
        CHECK(readAll() == before);
        writer.stop();
        CHECK(writer.keptExisting());
        CHECK(writer.errorString().isEmpty());
        CHECK(readAll() == before);
        CHECK(siblings().isEmpty());
    }
    SECTION("the document's first item: the recording replaces it, with its mode, and goes on to the end")
    {
        writeOld();
        EventLog log;
        CaptureWriter writer(&log, {}, options);
        REQUIRE(writer.start(&error));
        event.kind = EventKind::Hello;
        log.append(event, R"({"status":"connected","version":"v1"})");
        event.kind = EventKind::StreamItem;
        event.parts = PartViewStateFilter; // not the document yet
        log.append(event, R"({"deliver":1,"done":false,"response":{"view-state-filter":[]}})");
        log.flushNotifications();
        CHECK(readAll() == before);
        CHECK(writer.keptExisting());
        event.parts = PartData | PartSeq;
        log.append(event, R"({"deliver":1,"done":false,"response":{"delta":{"data":{"a":1},"seq":1}}})");
        log.flushNotifications();
        CHECK_FALSE(writer.keptExisting());
        CHECK(siblings().isEmpty());
        event.kind = EventKind::Note;
        event.parts = 0;
        log.append(event, R"({"note":"after the snapshot"})");
        writer.stop();
        CHECK_FALSE(writer.keptExisting());
        CHECK(writer.errorString().isEmpty());
        CHECK(QFileInfo(path).permissions() == (QFileDevice::ReadOwner | QFileDevice::WriteOwner | QFileDevice::ReadUser | QFileDevice::WriteUser));
        std::unique_ptr<Capture> reopened = CaptureReader::open(path, {}, &error);
        REQUIRE(reopened);
        CHECK(reopened->log->size() == 4);
    }
    SECTION("siblings that killed recordings left (their pid gone) are removed; a live one's and other names stay")
    {
        writeOld();
        const QString base = dir.filePath(QStringLiteral(".kept.ndjson.zst.recording-"));
        // Beyond any pid_max: no such process. Pid 1 always runs (kill() says so, or EPERM).
        const QStringList abandoned { base + QStringLiteral("2147483600"), base + QStringLiteral("2147483601.zst") };
        const QStringList kept { base + QStringLiteral("1.zst"), base + QStringLiteral("notapid"),
            dir.filePath(QStringLiteral(".other.ndjson.recording-2147483600")) };
        for (const QString& name : abandoned + kept)
            REQUIRE(writeFile(name, "partial\n"));
        EventLog log;
        CaptureWriter writer(&log, {}, options);
        REQUIRE(writer.start(&error));
        for (const QString& name : abandoned)
            CHECK_FALSE(QFileInfo::exists(name));
        for (const QString& name : kept)
            CHECK(QFileInfo::exists(name));
        writer.stop();
        CHECK(readAll() == before);
        for (const QString& name : kept)
            CHECK(QFileInfo::exists(name));
    }
    SECTION("no file there yet: written in place, as without the option")
    {
        EventLog log;
        CaptureWriter writer(&log, {}, options);
        REQUIRE(writer.start(&error));
        CHECK_FALSE(writer.keptExisting());
        CHECK(siblings().isEmpty());
        writer.stop();
        CHECK(QFileInfo::exists(path));
    }
    SECTION("a name too long for the sibling: written in place, as without the option")
    {
        // NAME_MAX is 255: the file's own name fits, ".NAME.recording-PID.zst" does not.
        const QString longPath = dir.filePath(QString(240, QLatin1Char('a')) + QStringLiteral(".ndjson.zst"));
        REQUIRE(writeFile(longPath, before));
        CaptureWriterOptions longOptions = options;
        longOptions.path = longPath;
        EventLog log;
        CaptureWriter writer(&log, {}, longOptions);
        REQUIRE(writer.start(&error));
        CHECK_FALSE(writer.keptExisting());
        writer.stop();
        CHECK(writer.errorString().isEmpty());
        std::unique_ptr<Capture> reopened = CaptureReader::open(longPath, {}, &error);
        CHECK(reopened);
    }
}

TEST_CASE("capture: the writer flushes within 100 ms and writes events appended later")
{
    QTemporaryDir dir;
    EventLog log;
    log.setNotifyInterval(1);
    CaptureWriterOptions options;
    options.path = dir.filePath(QStringLiteral("flush.ndjson"));
    CaptureWriter writer(&log, {}, options);
    REQUIRE(writer.start());
    SessionEvent event;
    event.kind = EventKind::Note;
    log.append(event, R"({"text":"first"})");
    // Without stop(): the bytes must reach the file on their own (crash safety).
    REQUIRE(test::waitUntil([&] { return QFile(options.path).size() > 0 && test::readFileOrFail(options.path).contains("first"); },
        std::chrono::milliseconds(2000)));
    log.append(event, R"({"text":"second"})");
    REQUIRE(test::waitUntil([&] { return test::readFileOrFail(options.path).contains("second"); }, std::chrono::milliseconds(2000)));
    QString error;
    std::unique_ptr<Capture> open = CaptureReader::open(options.path, {}, &error);
    REQUIRE(open);
    CHECK(open->log->size() == 2);
    CHECK_FALSE(open->closedCleanly);
    CHECK(open->notices().join(QLatin1Char('\n')).contains(QStringLiteral("cut off")));
    writer.stop();
}

TEST_CASE("capture damage: each kind of damage gets a clear message and never a crash")
{
    QTemporaryDir dir;
    EventLog log;
    fillSyntheticSession(log, 200);
    const QByteArray good = writeToBytes(log);
    QString error;

    SECTION("empty file")
    {
        CHECK_FALSE(openBytes(dir, {}, error));
        CHECK(error.contains(QStringLiteral("empty")));
    }
    SECTION("missing file")
    {
        CHECK_FALSE(CaptureReader::open(dir.filePath(QStringLiteral("nope.ndjson")), {}, &error));
        CHECK(error.contains(QStringLiteral("no such file")));
        // '-' is no file: said as what it is, not as a file named "-".
        CHECK_FALSE(CaptureReader::open(QStringLiteral("-"), {}, &error));
        CHECK(error.contains(QStringLiteral("not standard input ('-')")));
    }
    SECTION("binary garbage")
    {
        QByteArray garbage(4096, '\0');
        for (int i = 0; i < garbage.size(); ++i)
            garbage[i] = char((i * 7919) & 0xff);
        CHECK_FALSE(openBytes(dir, garbage, error));
        CHECK(error.contains(QStringLiteral("not a Deltascope capture")));
    }
    SECTION("wrong format")
    {
        CHECK_FALSE(openBytes(dir, "{\"hello\":1}\n{\"index\":0}\n", error));
        CHECK(error.contains(QStringLiteral("format")));
    }
    SECTION("newer major version")
    {
        QByteArray newer = good;
        newer.replace("\"version\":\"1.0\"", "\"version\":\"3.2\"");
        CHECK_FALSE(openBytes(dir, newer, error));
        CHECK(error.contains(QStringLiteral("3.2")));
        CHECK(error.contains(QStringLiteral("newer")));
    }
    SECTION("newer minor version with unknown fields and kinds opens")
    {
        QByteArray newer = good;
        newer.replace("\"version\":\"1.0\"", "\"version\":\"1.9\"");
        newer.replace("{\"index\":5,", "{\"index\":5,\"futureField\":[1,{\"a\":2}],");
        newer.replace("\"kind\":\"pong\"", "\"kind\":\"hologram\"");
        std::unique_ptr<Capture> capture = openBytes(dir, newer, error);
        REQUIRE(capture);
        CHECK(capture->log->size() == log.size());
        CHECK(capture->notices().join(QLatin1Char('\n')).contains(QStringLiteral("hologram")));
    }
    SECTION("time that goes backwards is reported at its line, and the events are kept as recorded")
    {
        QByteArray edited = good;
        const QByteArray line11 = good.split('\n').value(10); // event 9
        REQUIRE(line11.startsWith("{\"index\":9,\"ns\":"));
        const qsizetype nsEnd = line11.indexOf(',', 14);
        const QByteArray backwards = QByteArray("{\"index\":9,\"ns\":5") + line11.mid(nsEnd);
        edited.replace(line11, backwards);
        std::unique_ptr<Capture> capture = openBytes(dir, edited, error);
        REQUIRE(capture);
        CHECK(capture->log->size() == log.size());
        CHECK(capture->log->at(9).monotonicNs == 5);
        REQUIRE(capture->diagnostics.size() == 1);
        CHECK(capture->diagnostics[0].line == 11);
        CHECK(capture->diagnostics[0].message.contains(QStringLiteral("event 9 is timed 5 ns, before event 8 (")));
        CHECK(capture->diagnostics[0].message.contains(QStringLiteral("time goes backwards")));
    }
    SECTION("one damaged index (a flipped digit) loses nothing: the lines after it go on")
    {
        QByteArray edited = good;
        REQUIRE(edited.contains("{\"index\":9,"));
        edited.replace("{\"index\":9,", "{\"index\":999999,");
        std::unique_ptr<Capture> capture = openBytes(dir, edited, error);
        REQUIRE(capture);
        CHECK(capture->log->size() == log.size()); // every event, the one with the damaged index too
        CHECK(capture->lostPlaces == 0);
        REQUIRE(capture->diagnostics.size() == 1);
        CHECK(capture->diagnostics[0].line == 11);
        CHECK(capture->diagnostics[0].message == QStringLiteral("event index 999999 looks damaged: the next event line goes on from 10; read as event 9"));
        // Links keep naming the right events.
        for (qint64 i = 0; i < log.size(); ++i)
            CHECK(capture->log->at(i).linkedIndex == log.at(i).linkedIndex);
    }
    SECTION("a damaged index followed by a damaged line loses only that line")
    {
        // Event 9's index flipped to 90, and event 10's line unreadable: events 11 on were all
        // skipped as going back from 90.
        QByteArray edited = good;
        REQUIRE(edited.contains("{\"index\":9,"));
        REQUIRE(edited.contains("{\"index\":10,"));
        edited.replace("{\"index\":9,", "{\"index\":90,");
        edited.replace("{\"index\":10,", "{\"indXx\":10,");
        std::unique_ptr<Capture> capture = openBytes(dir, edited, error);
        REQUIRE(capture);
        CHECK(capture->log->size() == log.size() - 1);
        CHECK(capture->lostPlaces == 1);
        const QString notices = capture->notices().join(QLatin1Char('\n'));
        INFO(notices.toStdString());
        CHECK(notices.contains(QStringLiteral("event index 90 looks damaged: the next event line goes on from 11; read as event 9")));
        CHECK_FALSE(notices.contains(QStringLiteral("goes back")));
        CHECK(capture->log->payload(9) == log.payload(9));
        CHECK(capture->log->payload(10) == log.payload(11));
        CHECK(capture->log->payload(capture->log->size() - 1) == log.payload(log.size() - 1));
    }
    SECTION("events after the end record: appended to, not cut off")
    {
        const QList<QByteArray> lines = good.trimmed().split('\n');
        REQUIRE(lines.last().contains("\"end\""));
        // The last event line again, as the next event, after the end record.
        QByteArray extra = lines.at(lines.size() - 2);
        const qsizetype comma = extra.indexOf(',');
        extra = "{\"index\":" + QByteArray::number(log.size()) + extra.mid(comma);
        std::unique_ptr<Capture> capture = openBytes(dir, good.trimmed() + '\n' + extra + '\n', error);
        REQUIRE(capture);
        CHECK(capture->log->size() == log.size() + 1);
        CHECK_FALSE(capture->closedCleanly);
        CHECK(capture->eventsAfterEndLine == lines.size());
        const QString notices = capture->notices().join(QLatin1Char('\n'));
        CHECK(notices.contains(QStringLiteral("is followed by more events")));
        CHECK_FALSE(notices.contains(QStringLiteral("cut off")));
    }
    SECTION("captures joined with cat: the first is read whole, the next named once with the command that splits it off")
    {
        const QList<QByteArray> lines = good.trimmed().split('\n');
        const qsizetype n = lines.size();
        QByteArray second = good;
        second.replace("\"space\":\"", "\"space\":\"other-");
        second = QString::fromUtf8(second).replace(QRegularExpression(QStringLiteral("\"startedWallMs\":\\d+")), QStringLiteral("\"startedWallMs\":1796078669481")).toUtf8();
        REQUIRE(second.contains("\"startedWallMs\":1796078669481,"));
        const QString path = dir.filePath(QStringLiteral("c.ndjson"));
        const QString rest = dir.filePath(QStringLiteral("c.from-line-%1.ndjson").arg(n + 1));
        {
            std::unique_ptr<Capture> capture = openBytes(dir, good + second, error);
            REQUIRE(capture);
            CHECK(capture->log->size() == log.size());
            CHECK(capture->closedCleanly);
            CHECK(capture->secondCaptureLine == n + 1);
            CHECK(capture->lineCount == 2 * n);
            // Not damage to the first capture: nothing lost, nothing else to report.
            CHECK(capture->lostPlaces == 0);
            CHECK(capture->diagnosticCount == 0);
            REQUIRE(capture->notices().size() == 1);
            const QString notice = capture->notices().first();
            INFO(notice.toStdString());
            CHECK(notice.startsWith(QStringLiteral("line %1: another capture starts (recorded 2026-11-30T22:44:29.481+00:00, other-").arg(n + 1)));
            CHECK(notice.contains(QStringLiteral("only the first is read, lines %1 to %2 are not").arg(n + 1).arg(2 * n)));
            CHECK(notice.endsWith(QStringLiteral("To open the rest: tail -n +%1 %2 > %3").arg(n + 1).arg(path, rest)));
        }
        SECTION("a newer version's or a damaged header still starts another capture")
        {
            QByteArray newer = second;
            newer.replace("\"version\":\"1.0\"", "\"version\":\"2.0\"");
            std::unique_ptr<Capture> capture = openBytes(dir, good + newer, error);
            REQUIRE(capture);
            CHECK(capture->log->size() == log.size());
            CHECK(capture->secondCaptureLine == n + 1);
            CHECK(capture->diagnosticCount == 0);
            const QString notices = capture->notices().join(QLatin1Char('\n'));
            INFO(notices.toStdString());
            CHECK(notices.contains(QStringLiteral("another capture starts (its header unreadable: capture format version 2.0 is newer")));

            QByteArray damaged = second;
            damaged.replace("\"space\":\"", "\"space\"\"");
            capture = openBytes(dir, good + damaged, error, QStringLiteral("damaged.ndjson")); // another file: the first is still mapped
            REQUIRE(capture);
            CHECK(capture->log->size() == log.size());
            CHECK(capture->secondCaptureLine == n + 1);
            CHECK(capture->notices().join(QLatin1Char('\n')).contains(QStringLiteral("another capture starts (its header unreadable: ")));
        }
        SECTION("glued to the first capture's cut-off last line: split at the byte where the next header starts")
        {
            // The first capture cut off in the middle of its event line n - 2 (no newline), the next right after.
            QByteArray cut;
            for (qsizetype i = 0; i < n - 2; ++i)
                cut += lines.at(i) + '\n';
            cut += lines.at(n - 2).left(lines.at(n - 2).size() / 2);
            std::unique_ptr<Capture> capture = openBytes(dir, cut + second, error);
            REQUIRE(capture);
            CHECK(capture->log->size() == log.size() - 1); // the cut event is lost, nothing of the next one is taken
            CHECK_FALSE(capture->closedCleanly);
            CHECK(capture->secondCaptureLine == n - 1);
            const QString notices = capture->notices().join(QLatin1Char('\n'));
            INFO(notices.toStdString());
            CHECK(notices.contains(QStringLiteral("line %1: the first capture's last line is cut off (or damaged) and, in the same line, another capture starts").arg(n - 1)));
            CHECK(notices.contains(QStringLiteral("To open the rest: tail -c +%1 %2 > ").arg(cut.size() + 1).arg(path)));
            CHECK(notices.contains(QStringLiteral("the first capture has no end record before the next one starts")));
            CHECK_FALSE(notices.contains(QStringLiteral("still recording")));
        }
        SECTION("glued to a line cut part-way through a UTF-8 sequence, or with its own header damaged")
        {
            // Event line n - 2 cut after the first byte of a three-byte character.
            QByteArray cut;
            for (qsizetype i = 0; i < n - 2; ++i)
                cut += lines.at(i) + '\n';
            const QByteArray line = lines.at(n - 2);
            const qsizetype comma = line.indexOf(',');
            cut += line.left(comma) + ",\"x\":\"\xE4";
            std::unique_ptr<Capture> capture = openBytes(dir, cut + second, error, QStringLiteral("utf8.ndjson"));
            REQUIRE(capture);
            CHECK(capture->log->size() == log.size() - 1);
            CHECK(capture->secondCaptureLine == n - 1);
            QString notices = capture->notices().join(QLatin1Char('\n'));
            INFO(notices.toStdString());
            CHECK(notices.contains(QStringLiteral("tail -c +%1 ").arg(cut.size() + 1)));
            CHECK(notices.contains(QStringLiteral("(recorded 2026-11-30T22:44:29.481+00:00, other-")));

            // The same cut, the header after it cut short too: still the next capture, unread.
            const QByteArray damaged = second.left(60) + '\n' + second.mid(second.indexOf('\n') + 1);
            capture = openBytes(dir, cut + damaged, error, QStringLiteral("utf8-damaged.ndjson"));
            REQUIRE(capture);
            CHECK(capture->log->size() == log.size() - 1);
            CHECK(capture->secondCaptureLine == n - 1);
            notices = capture->notices().join(QLatin1Char('\n'));
            CHECK(notices.contains(QStringLiteral("another capture starts (its header unreadable: ")));
        }
        SECTION("glued to the first capture's whole last line, which only lacks its newline: that line is read")
        {
            // Its end record without a newline, then the next capture: closed cleanly, every event read.
            std::unique_ptr<Capture> capture = openBytes(dir, good.trimmed() + second, error);
            REQUIRE(capture);
            CHECK(capture->log->size() == log.size());
            CHECK(capture->closedCleanly);
            CHECK(capture->secondCaptureLine == n);
            CHECK(capture->diagnosticCount == 0);
            QString notices = capture->notices().join(QLatin1Char('\n'));
            INFO(notices.toStdString());
            CHECK(notices.contains(QStringLiteral("line %1: the first capture's last line has no newline and, in the same line, another capture starts").arg(n)));
            CHECK(notices.contains(QStringLiteral("tail -c +%1 ").arg(good.trimmed().size() + 1)));

            // An event line without its newline, and a header written with spaces and in another key order.
            QByteArray events;
            for (qsizetype i = 0; i < 6; ++i)
                events += lines.at(i) + '\n';
            events.chop(1);
            const QByteArray spaced = "{\"version\": \"1.0\", \"format\": \"deltascope-capture\", \"space\": \"s\", \"key\": \"k\"}\n";
            capture = openBytes(dir, events + spaced + second.mid(second.indexOf('\n') + 1), error, QStringLiteral("spaced.ndjson"));
            REQUIRE(capture);
            CHECK(capture->log->size() == 5); // events 0 to 4: the last one read although the header is glued to it
            CHECK(capture->secondCaptureLine == 6);
            notices = capture->notices().join(QLatin1Char('\n'));
            CHECK(notices.contains(QStringLiteral("another capture starts (s/k)")));
        }
        SECTION("a header written with spaces, or with another key first, on a line of its own")
        {
            const QByteArray spaced = "{\"version\": \"1.0\", \"format\": \"deltascope-capture\"}\n";
            std::unique_ptr<Capture> capture = openBytes(dir, good + spaced + second.mid(second.indexOf('\n') + 1), error);
            REQUIRE(capture);
            CHECK(capture->log->size() == log.size());
            CHECK(capture->secondCaptureLine == n + 1);
            CHECK(capture->diagnosticCount == 0);
        }
        SECTION("header text nested in a damaged event's fields is not another capture")
        {
            // A local event (its payload an object, `fields`) whose epoch has the wrong type.
            QByteArray edited;
            int changed = 0;
            for (qsizetype i = 0; i < n; ++i) {
                QByteArray line = lines.at(i);
                if (!changed && line.contains("\"fields\":{")) {
                    line.replace("\"fields\":{", "\"fields\":{\"x\":{\"format\":\"deltascope-capture\",\"version\":\"1.0\"},");
                    line.replace("\"epoch\":", "\"epoch\":\"bad\",\"was\":");
                    ++changed;
                }
                edited += line + '\n';
            }
            REQUIRE(changed == 1);
            std::unique_ptr<Capture> capture = openBytes(dir, edited, error);
            REQUIRE(capture);
            CHECK(capture->secondCaptureLine == 0);
            CHECK(capture->log->size() == log.size() - 1); // that line skipped, the rest read
            const QString notices = capture->notices().join(QLatin1Char('\n'));
            INFO(notices.toStdString());
            CHECK(notices.contains(QStringLiteral("field \"epoch\" has the wrong type")));
            CHECK_FALSE(notices.contains(QStringLiteral("another capture")));
        }
        SECTION("a byte order mark before the next header does not make the first capture's end look cut off")
        {
            std::unique_ptr<Capture> capture = openBytes(dir, good + "\xEF\xBB\xBF" + second, error);
            REQUIRE(capture);
            CHECK(capture->log->size() == log.size());
            CHECK(capture->closedCleanly);
            CHECK(capture->secondCaptureLine == n + 1);
            CHECK_FALSE(capture->notices().join(QLatin1Char('\n')).contains(QStringLiteral("cut off")));
        }
        SECTION("a file name that starts with a dash is not taken for an option in the split command")
        {
            REQUIRE(writeFile(dir.filePath(QStringLiteral("-j.ndjson")), good + second));
            const QString before = QDir::currentPath();
            REQUIRE(QDir::setCurrent(dir.path()));
            std::unique_ptr<Capture> capture = CaptureReader::open(QStringLiteral("-j.ndjson"), {}, &error);
            QDir::setCurrent(before);
            REQUIRE(capture);
            const QString notices = capture->notices().join(QLatin1Char('\n'));
            INFO(notices.toStdString());
            CHECK(notices.contains(QStringLiteral("tail -n +%1 ./-j.ndjson > ./-j.from-line-%1.ndjson").arg(n + 1)));
        }
        SECTION("named whatever the diagnostics limit, and lost events of the first capture are still counted")
        {
            // 250 damaged lines before the first capture's end record.
            QByteArray first;
            for (qsizetype i = 0; i < n; ++i)
                first += (i == n - 1 ? QByteArray("#junk\n").repeated(250) : QByteArray()) + lines.at(i) + '\n';
            std::unique_ptr<Capture> capture = openBytes(dir, first + second, error);
            REQUIRE(capture);
            CHECK(capture->diagnosticCount == 250);
            CHECK(capture->notices().join(QLatin1Char('\n')).contains(QStringLiteral("another capture starts (recorded ")));

            // Its last two events gone without a trace: only its end record's count tells.
            first.clear();
            for (qsizetype i = 0; i < n; ++i) {
                if (i != n - 3 && i != n - 2)
                    first += lines.at(i) + '\n';
            }
            capture = openBytes(dir, first + second, error, QStringLiteral("lost.ndjson")); // another file: the first is still mapped
            REQUIRE(capture);
            CHECK(capture->log->size() == log.size() - 2);
            const QString notices = capture->notices().join(QLatin1Char('\n'));
            INFO(notices.toStdString());
            CHECK(notices.contains(QStringLiteral("another capture starts (recorded ")));
            CHECK(notices.contains(QStringLiteral("2 lost")));
            CHECK(capture->lostPlaces == 1);
        }
        SECTION("compressed: the split command decompresses first")
        {
            const QString zstPath = dir.filePath(QStringLiteral("joined c.ndjson.zst"));
            REQUIRE(writeFile(zstPath, capture::compressZstd(good) + capture::compressZstd(second)));
            std::unique_ptr<Capture> capture = CaptureReader::open(zstPath, {}, &error);
            REQUIRE(capture);
            CHECK(capture->log->size() == log.size());
            const QString notices = capture->notices().join(QLatin1Char('\n'));
            INFO(notices.toStdString());
            CHECK(notices.contains(QStringLiteral("To open the rest: zstd -dc '%1' | tail -n +%2 > '%3'")
                                       .arg(zstPath).arg(n + 1).arg(dir.filePath(QStringLiteral("joined c.from-line-%1.ndjson").arg(n + 1)))));
        }
    }
    SECTION("text after an event line's object is named and the event kept; a line of tabs is blank")
    {
        QByteArray edited = good;
        REQUIRE(edited.contains("\n{\"index\":4,"));
        const qsizetype at = edited.indexOf('\n', edited.indexOf("\n{\"index\":4,") + 1);
        edited.insert(at, " xyz");
        edited.insert(edited.indexOf("\n{\"index\":6,"), "\n\t\t");
        std::unique_ptr<Capture> capture = openBytes(dir, edited, error);
        REQUIRE(capture);
        CHECK(capture->log->size() == log.size());
        CHECK(capture->lostPlaces == 0);
        CHECK(capture->diagnosticCount == 1);
        const QString notices = capture->notices().join(QLatin1Char('\n'));
        INFO(notices.toStdString());
        CHECK(notices.contains(QStringLiteral("4 bytes of text after the JSON object of event 4 ignored")));
    }
    SECTION("garbage after the end record: appended after closing, not cut off")
    {
        std::unique_ptr<Capture> capture = openBytes(dir, good.trimmed() + "\n#garbage", error);
        REQUIRE(capture);
        CHECK(capture->log->size() == log.size());
        CHECK(capture->truncatedTail);
        const QString notices = capture->notices().join(QLatin1Char('\n'));
        INFO(notices.toStdString());
        CHECK(notices.contains(QStringLiteral("after the end record, is not a capture line: something was appended after the recorder closed the capture")));
        CHECK_FALSE(notices.contains(QStringLiteral("cut off")));
    }
    SECTION("a real jump still counts the events missing")
    {
        QByteArray edited = good;
        const QList<QByteArray> lines = good.split('\n');
        edited.replace(QByteArray(lines.value(10) + '\n'), QByteArray()); // event 9 gone: 8 then 10
        std::unique_ptr<Capture> capture = openBytes(dir, edited, error);
        REQUIRE(capture);
        CHECK(capture->log->size() == log.size() - 1);
        REQUIRE_FALSE(capture->diagnostics.empty());
        CHECK(capture->diagnostics[0].message.contains(QStringLiteral("jumps from 8 to 10: 1 events missing")));
    }
    SECTION("truncated last line")
    {
        const QByteArray cut = good.left(good.size() - 90);
        std::unique_ptr<Capture> capture = openBytes(dir, cut, error);
        REQUIRE(capture);
        CHECK(capture->truncatedTail);
        CHECK(capture->truncatedTailMessage.contains(QStringLiteral("cut off")));
        CHECK(capture->diagnostics.empty());
        CHECK(capture->log->size() == log.size() - 1);
    }
    SECTION("corrupt lines in the middle are reported with their line numbers and skipped")
    {
        QList<QByteArray> lines = good.split('\n');
        lines[10] = "{\"index\":9,\"ns\":oops";
        lines[20] = "\x01\x02 garbage";
        QByteArray damaged = lines.join('\n');
        std::unique_ptr<Capture> capture = openBytes(dir, damaged, error);
        REQUIRE(capture);
        REQUIRE(capture->diagnostics.size() >= 2);
        CHECK(capture->diagnostics[0].line == 11);
        CHECK(capture->diagnostics[0].message.contains(QStringLiteral("JSON")));
        CHECK(capture->notices().join(QLatin1Char('\n')).contains(QStringLiteral("line 21")));
        CHECK(capture->log->size() == log.size() - 2);
        // Links after the hole still point at the right events.
        const auto& responses = capture->log->indexesOfKind(EventKind::Response);
        REQUIRE(responses.size() == 1);
        const qint64 request = capture->log->at(responses[0]).linkedIndex;
        REQUIRE(request >= 0);
        CHECK(capture->log->at(request).kind == EventKind::Request);
    }
    SECTION("a field of the wrong type names the event when its index was read")
    {
        QList<QByteArray> lines = good.split('\n');
        REQUIRE(lines[6].startsWith("{\"index\":5,"));
        REQUIRE(lines[6].contains("\"kind\":\""));
        lines[6].replace("\"kind\":\"", "\"kind\":7,\"was\":\""); // still JSON, the kind a number
        std::unique_ptr<Capture> capture = openBytes(dir, lines.join('\n'), error);
        REQUIRE(capture);
        REQUIRE(capture->diagnostics.size() >= 1);
        CHECK(capture->diagnostics[0].line == 7);
        CHECK(capture->diagnostics[0].message == QStringLiteral("field \"kind\" has the wrong type in event 5; line skipped"));
    }
    SECTION("lines deleted without a trace are found against the end record's count")
    {
        QList<QByteArray> lines = good.split('\n');
        REQUIRE(lines.size() > 12);
        // Two whole event lines go, and the indexes after them are renumbered: no jump shows.
        QByteArray shortened;
        qint64 index = 0;
        for (qsizetype i = 0; i < lines.size(); ++i) {
            QByteArray line = lines[i];
            if (i == 5 || i == 6)
                continue;
            if (line.startsWith("{\"index\":")) {
                const qsizetype comma = line.indexOf(',');
                line = "{\"index\":" + QByteArray::number(index++) + line.mid(comma);
            }
            shortened += line + '\n';
        }
        shortened.chop(1);
        std::unique_ptr<Capture> capture = openBytes(dir, shortened, error);
        REQUIRE(capture);
        CHECK(capture->lostPlaces == 1);
        REQUIRE_FALSE(capture->diagnostics.empty());
        CHECK(capture->diagnostics.back().message.contains(QStringLiteral("the end record counts")));
        CHECK(capture->diagnostics.back().message.contains(QStringLiteral(": 2 lost")));
    }
    SECTION("a version that is not a string says what it is")
    {
        QByteArray numeric = good;
        numeric.replace("\"version\":\"1.0\"", "\"version\":1.0");
        CHECK_FALSE(openBytes(dir, numeric, error));
        CHECK(error.contains(QStringLiteral("\"version\" must be a string \"MAJOR.MINOR\" (it is 1)")));
    }
    SECTION("a header only")
    {
        std::unique_ptr<Capture> capture = openBytes(dir, good.left(good.indexOf('\n') + 1), error);
        REQUIRE(capture);
        CHECK(capture->log->size() == 0);
    }
}

TEST_CASE("capture damage: a line of more than 2 GiB is skipped with bounded memory")
{
    QTemporaryDir dir;
    EventLog log;
    fillSyntheticSession(log, 20);
    const QByteArray good = writeToBytes(log);
    const qsizetype firstEventEnd = good.indexOf('\n', good.indexOf('\n') + 1) + 1;
    const QString path = dir.filePath(QStringLiteral("huge.ndjson"));
    {
        QFile file(path);
        REQUIRE(file.open(QIODevice::WriteOnly));
        file.write(good.left(firstEventEnd));
        file.write("{\"index\":1,\"frame\":\"");
        // A sparse hole: 2.1 GiB of zeros that take no disk space.
        REQUIRE(file.seek(file.pos() + (qint64(2150) << 20)));
        file.write("\"}\n");
        file.write(good.mid(firstEventEnd));
    }
    struct rusage before;
    getrusage(RUSAGE_SELF, &before);
    QString error;
    std::unique_ptr<Capture> capture = CaptureReader::open(path, {}, &error);
    struct rusage after;
    getrusage(RUSAGE_SELF, &after);
    REQUIRE(capture);
    REQUIRE_FALSE(capture->diagnostics.empty());
    CHECK(capture->diagnostics[0].line == 3);
    CHECK(capture->diagnostics[0].message.contains(QStringLiteral("MiB limit")));
    CHECK(capture->log->size() == log.size()); // the over-long line was an extra one
    // Peak RSS grew by far less than the line: the limit plus a read buffer (ru_maxrss is in KiB).
    CHECK(after.ru_maxrss - before.ru_maxrss < capture::kMaxLineBytes / 1024 + 200 * 1024);
}

TEST_CASE("replay: step, jump, seek seq and time, play, with trees equal to a fold from scratch")
{
    QTemporaryDir dir;
    EventLog log;
    fillSyntheticSession(log, 2500);
    QString error;
    std::unique_ptr<Capture> capture = openBytes(dir, writeToBytes(log), error);
    REQUIRE(capture);
    const qint64 size = capture->log->size();
    ReplaySession replay(std::move(capture));
    const EventLog& read = replay.log();
    QSignalSpy resets(&replay, &ReplaySession::treeReset);
    QSignalSpy positions(&replay, &ReplaySession::positionChanged);
    CHECK(replay.position() == -1);
    for (int i = 0; i < 10; ++i)
        REQUIRE(replay.stepForward());
    CHECK(replay.position() == 9);
    CHECK(replay.folder().epochTree().toJson() == foldFromScratch(read, 9));
    CHECK(resets.isEmpty()); // single steps fold forward like a live session
    REQUIRE(replay.stepBack());
    CHECK(replay.position() == 8);
    CHECK(replay.folder().epochTree().toJson() == foldFromScratch(read, 8));
    CHECK(resets.size() == 1);
    REQUIRE(replay.seek(2000));
    CHECK(replay.folder().epochTree().toJson() == foldFromScratch(read, 2000));
    REQUIRE(replay.stepDeltaForward());
    CHECK(read.at(replay.position()).kind == EventKind::StreamItem);
    CHECK(replay.position() > 2000);
    const qint64 afterDelta = replay.position();
    REQUIRE(replay.stepDeltaBack());
    CHECK(replay.position() < afterDelta);
    REQUIRE(replay.seekSeq(1234));
    CHECK(read.at(replay.position()).seq == 1234);
    CHECK(QJsonDocument::fromJson(replay.folder().epochTree().toJson()).object().value(QStringLiteral("n")).toInt() == 1233);
    CHECK_FALSE(replay.seekSeq(99999999));
    REQUIRE(replay.seekTime(read.at(300).monotonicNs));
    CHECK(replay.position() == 300);
    CHECK_FALSE(replay.seek(size));
    REQUIRE(replay.seek(-1));
    CHECK(replay.folder().epochTree().nodeCount() == 1);

    QSignalSpy finished(&replay, &ReplaySession::finished);
    replay.play(0); // as fast as possible
    REQUIRE(finished.wait(10000));
    CHECK(replay.position() == size - 1);
    CHECK(replay.folder().epochTree().toJson() == foldFromScratch(read, size - 1));

    // Real-time play at 50x with idle gaps skipped ends too, and stops at the stop event.
    REQUIRE(replay.seek(100));
    replay.setStopAt(160);
    replay.play(50);
    REQUIRE(finished.wait(10000));
    CHECK(replay.position() == 160);
}

TEST_CASE("replay: slow motion plays short gaps at their length and an idle stretch as the longest gap kept")
{
    // Pings 20 ms apart, then 5 s of silence, then one more: at 0.5x the short gaps take 40 ms
    // each, and the idle stretch, over the 100 ms kept, plays as 100 ms of recording: 200 ms.
    EventLog log;
    const auto add = [&](qint64 ms) {
        SessionEvent event;
        event.kind = EventKind::Ping;
        event.direction = naturalDirection(event.kind);
        event.monotonicNs = ms * 1000 * 1000;
        event.wallMs = 1718000000000 + ms;
        log.append(event, R"({"ping":1000,"latency":"3"})");
    };
    for (qint64 ms : { 0, 20, 40, 60, 5060 })
        add(ms);
    QTemporaryDir dir;
    QString error;
    std::unique_ptr<Capture> capture = openBytes(dir, writeToBytes(log), error);
    REQUIRE(capture);
    ReplaySession replay(std::move(capture));
    QSignalSpy finished(&replay, &ReplaySession::finished);
    replay.setSkipIdleGaps(true, 100);
    QElapsedTimer elapsed;
    elapsed.start();
    replay.play(0.5);
    REQUIRE(finished.wait(20000));
    CHECK(replay.position() == 4);
    // Lower bounds only, which a slow machine cannot break: 3 x 40 ms + 200 ms. Skipping the idle
    // stretch outright (as gaps over 100 ms of real time once were) finishes in about 120 ms.
    CHECK(elapsed.elapsed() >= 310);
    // Not the whole 5 s of silence at half speed (10 s).
    CHECK(elapsed.elapsed() < 8000);
}

TEST_CASE("replay: with deferred seeks, a jump past the background fold waits off the thread and lands once the fold passes")
{
    QTemporaryDir dir;
    EventLog log;
    fillSyntheticSession(log, 2500);
    QString error;
    const QString path = dir.filePath(QStringLiteral("c.ndjson"));
    REQUIRE(writeFile(path, writeToBytes(log)));
    CaptureOpenOptions options;
    options.checkpointInterval = 0; // made here instead, held two thirds of the way in
    std::unique_ptr<Capture> capture = CaptureReader::open(path, options, &error);
    REQUIRE(capture);
    const qint64 size = capture->log->size();
    const qint64 heldAt = size * 2 / 3;
    capture->checkpoints = std::make_unique<CaptureCheckpoints>(*capture->log, 100);
    CaptureCheckpoints& checkpoints = *capture->checkpoints;
    checkpoints.holdBefore(heldAt);
    checkpoints.start();
    ReplaySession replay(std::move(capture));
    replay.setDeferSeeksUntilFolded(true);
    QSignalSpy pending(&replay, &ReplaySession::seekPending);
    QSignalSpy cancelled(&replay, &ReplaySession::seekCancelled);
    QSignalSpy positions(&replay, &ReplaySession::positionChanged);

    // Behind the fold: made at once. Beyond it: pending, the position unchanged.
    REQUIRE(test::waitUntil([&] { return checkpoints.foldedUpTo() == heldAt; }, std::chrono::seconds(10)));
    REQUIRE(replay.seek(heldAt / 2));
    CHECK(replay.position() == heldAt / 2);
    CHECK(pending.isEmpty());
    REQUIRE(replay.seek(size - 1));
    CHECK(replay.position() == heldAt / 2);
    CHECK(replay.pendingSeek() == size - 1);
    REQUIRE(pending.size() == 1);
    CHECK(pending.at(0).at(0).toLongLong() == size - 1);
    CHECK(pending.at(0).at(1).toLongLong() == heldAt);
    CHECK(pending.at(0).at(2).toLongLong() == size);

    // Another move replaces it.
    REQUIRE(replay.stepForward());
    CHECK(replay.pendingSeek() == ReplaySession::kNoPendingSeek);
    REQUIRE(cancelled.size() == 1);
    CHECK(cancelled.at(0).at(0).toLongLong() == size - 1);
    const qint64 target = size - 2;
    REQUIRE(replay.seek(target));
    CHECK(replay.pendingSeek() == target);

    // Released, the fold passes the target and the jump is made, with the tree a fold from scratch gives.
    positions.clear();
    checkpoints.holdBefore(-1);
    REQUIRE(test::waitUntil([&] { return replay.position() == target; }, std::chrono::seconds(20)));
    CHECK(replay.pendingSeek() == ReplaySession::kNoPendingSeek);
    CHECK(positions.size() == 1);
    CHECK(replay.folder().epochTree().toJson() == foldFromScratch(replay.log(), target));

    // Without deferral (the default), seek() returns with the state, whatever the fold's progress.
    REQUIRE(checkpoints.waitUntilComplete());
    replay.setDeferSeeksUntilFolded(false);
    REQUIRE(replay.seek(10));
    CHECK(replay.position() == 10);
}

TEST_CASE("checkpoints: node samples give the document size after the last item of each time window, bounded in number")
{
    EventLog log;
    fillSyntheticSession(log, 6000); // a player joins every 10 items: the document keeps growing
    // Then a resync: a new epoch right after the last item (the tree is emptied), and its
    // snapshot a moment later, in a later time window.
    qint64 ns = log.at(log.size() - 1).monotonicNs + 1'000'000;
    const auto add = [&](EventKind kind, qint64 requestId, QByteArrayView payload) {
        SessionEvent event;
        event.kind = kind;
        event.direction = naturalDirection(kind);
        event.monotonicNs = ns;
        event.requestId = requestId;
        event.epoch = 2;
        log.append(event, payload);
    };
    add(EventKind::StreamItem, 1, R"({"deliver":1,"done":false,"response":{"delta":{"data":{"last":1},"seq":9000}}})");
    ns += 1'000'000;
    add(EventKind::EpochStarted, 3, R"({"epoch":2,"requestId":3})");
    ns += 200'000'000;
    add(EventKind::StreamItem, 3, R"({"deliver":3,"done":false,"response":{"delta":{"data":{"title":"again"},"seq":1}}})");
    log.flushNotifications();
    CaptureCheckpoints checkpoints(log, 500);
    REQUIRE(checkpoints.build({}, nullptr));
    const std::vector<CaptureCheckpoints::NodeSample> samples = checkpoints.nodeSamples();
    REQUIRE(samples.size() > 100);
    CHECK(samples.size() <= std::size_t(CaptureCheckpoints::kNodeSampleWindows) + 1);
    CHECK(checkpoints.nodeSamples(samples.size() - 10).size() == 10);
    CHECK(checkpoints.nodeSamples(samples.size()).empty());

    // Each sample is the size a fold from scratch has right after the stream item it names.
    SessionFolder folder;
    std::size_t next = 0;
    qint64 lastItemNs = -1;
    for (qint64 i = 0; i < log.size() && next < samples.size(); ++i) {
        folder.processEvent(log.at(i), log.payload(i));
        if (log.at(i).kind != EventKind::StreamItem)
            continue;
        CHECK(log.at(i).monotonicNs <= samples[next].monotonicNs); // no item is skipped over
        lastItemNs = log.at(i).monotonicNs;
        if (lastItemNs == samples[next].monotonicNs) {
            CHECK(samples[next].nodes == qint64(folder.epochTree().nodeCount()));
            ++next;
        }
    }
    CHECK(next == samples.size());
    CHECK(samples.back().nodes == qint64(folder.epochTree().nodeCount()));
    CHECK(samples.back().monotonicNs == lastItemNs); // the last item's window is sampled too
    CHECK(samples[samples.size() - 2].nodes > 100); // the old epoch's size, not the emptied tree's
    CHECK(samples.back().nodes == 2); // the new epoch: a root and its title
}

TEST_CASE("checkpoints: node samples stay bounded when a file's times jump to the ends of the range and back")
{
    EventLog log;
    fillSyntheticSession(log, 6000); // over 1,024 items land on the top time
    // Rewrite the times as a damaged capture may carry them: the extremes of qint64, backwards.
    EventLog damaged;
    constexpr qint64 kTimes[] = { std::numeric_limits<qint64>::min() + 1, std::numeric_limits<qint64>::max(), 0,
        std::numeric_limits<qint64>::max() - 1, -1 };
    for (qint64 i = 0; i < log.size(); ++i) {
        SessionEvent event = log.at(i);
        event.monotonicNs = kTimes[i % 5];
        damaged.append(event, log.payload(i));
    }
    damaged.flushNotifications();
    CaptureCheckpoints checkpoints(damaged, 500);
    REQUIRE(checkpoints.build({}, nullptr));
    const std::vector<CaptureCheckpoints::NodeSample> samples = checkpoints.nodeSamples();
    CHECK(!samples.empty());
    CHECK(samples.size() <= std::size_t(CaptureCheckpoints::kNodeSampleWindows) + 1);
    for (const CaptureCheckpoints::NodeSample& sample : samples)
        CHECK(sample.nodes >= 1);
}

TEST_CASE("checkpoints: a fold held before an event is released by destruction")
{
    EventLog log;
    fillSyntheticSession(log, 500);
    auto checkpoints = std::make_unique<CaptureCheckpoints>(log, 100);
    checkpoints->holdBefore(250);
    checkpoints->start();
    REQUIRE(test::waitUntil([&] { return checkpoints->foldedUpTo() == 250; }, std::chrono::seconds(10)));
    CHECK(checkpoints->restoreWouldWait(400));
    CHECK_FALSE(checkpoints->restoreWouldWait(100));
    checkpoints.reset(); // joins the held worker instead of waiting forever
    SUCCEED("the held worker stopped");
}

TEST_CASE("capture loader: opens on a worker thread with progress, and cancels")
{
    QTemporaryDir dir;
    EventLog log;
    fillSyntheticSession(log, 3000);
    const QString path = dir.filePath(QStringLiteral("loader.ndjson"));
    REQUIRE(writeFile(path, writeToBytes(log)));
    CaptureLoader loader;
    QSignalSpy finished(&loader, &CaptureLoader::finished);
    QSignalSpy progress(&loader, &CaptureLoader::progress);
    loader.open(path);
    REQUIRE(finished.wait(10000));
    CHECK(finished.first().at(0).toBool());
    CHECK_FALSE(progress.isEmpty());
    std::unique_ptr<Capture> capture = loader.takeCapture();
    REQUIRE(capture);
    CHECK(capture->log->thread() == QThread::currentThread());
    CHECK(capture->checkpoints->thread() == QThread::currentThread());
    REQUIRE(capture->checkpoints->waitUntilComplete()); // they go on being made after finished()
    CHECK(capture->log->size() == log.size());

    CaptureOpenOptions options;
    std::atomic<bool> cancel { true };
    options.cancel = &cancel;
    QString error;
    CHECK_FALSE(CaptureReader::open(path, options, &error));
    CHECK(error == QStringLiteral("cancelled"));
}

namespace {
QStringList s_warnings;
void collectWarnings(QtMsgType type, const QMessageLogContext&, const QString& message)
{
    if (type != QtDebugMsg && type != QtInfoMsg)
        s_warnings.append(message);
}
}

TEST_CASE("capture: a write error is returned once, not also printed as a log warning")
{
    // record printed 'deltascope.capture: "cannot write capture ..."' and then its own message.
    if (!QFile(QStringLiteral("/dev/full")).open(QIODevice::WriteOnly)) {
        WARN("no /dev/full here");
        return;
    }
    EventLog log;
    CaptureWriterOptions options;
    options.path = QStringLiteral("/dev/full");
    CaptureWriter writer(&log, {}, options);
    s_warnings.clear();
    const QtMessageHandler previous = qInstallMessageHandler(collectWarnings);
    QString error;
    const bool started = writer.start(&error);
    writer.stop();
    qInstallMessageHandler(previous);
    CHECK_FALSE(started);
    CHECK(error.contains(QStringLiteral("No space left on device")));
    INFO(s_warnings.join(QLatin1Char('\n')).toStdString());
    CHECK(s_warnings.isEmpty());
}

TEST_CASE("replay: a reference-client quirk marks its first event per path and epoch, other anomalies every one")
{
    EventLog log;
    test::ScriptedStream stream { log };
    stream.start();
    const auto add = [&](EventKind kind, QByteArrayView payload, qint64 seq) { return stream.add(kind, payload, seq); };
    std::vector<qint64> quirks;
    for (int i = 0; i < 5; ++i) // a value list edited in place without @s, as Adama servers send it
        quirks.push_back(add(EventKind::StreamItem,
            QByteArray(R"({"deliver":1,"done":false,"response":{"delta":{"data":{"v":{"0":)" + QByteArray::number(10 + i) + R"(}},"seq":)"
                + QByteArray::number(2 + i) + "}}}"),
            2 + i));
    const qint64 missing = add(EventKind::StreamItem, R"({"deliver":1,"done":false,"response":{"delta":{"data":{"r":{"@o":[7]}},"seq":7}}})", 7);
    const qint64 missingAgain = add(EventKind::StreamItem, R"({"deliver":1,"done":false,"response":{"delta":{"data":{"r":{"@o":[8]}},"seq":8}}})", 8);

    QTemporaryDir dir;
    QString error;
    std::unique_ptr<Capture> capture = openBytes(dir, writeToBytes(log), error);
    REQUIRE(capture);
    ReplaySession replay(std::move(capture));
    QSignalSpy completed(&replay, &ReplaySession::checkpointsCompleted);
    REQUIRE((replay.checkpointsComplete() || completed.wait(20000)));
    // The fold saw every one of them; the marks are the quirk's first and each other anomaly.
    std::size_t quirksFolded = 0;
    for (const SessionAnomaly& anomaly : replay.capture().checkpoints->anomalies())
        quirksFolded += anomaly.isReferenceClientQuirk();
    CHECK(quirksFolded == quirks.size());
    CHECK(replay.anomalyEvents() == std::vector<qint64> { quirks.front(), missing, missingAgain });
    REQUIRE(replay.seekNextAnomaly());
    CHECK(replay.position() == quirks.front());
    REQUIRE(replay.seekNextAnomaly());
    CHECK(replay.position() == missing);
}
