#pragma once

#include "core/capture/captureformat.h"
#include "core/capture/capturereader.h"
#include "core/capture/capturewriter.h"
#include "core/session/eventlog.h"

#include <QByteArray>
#include <QFile>
#include <QString>

#include <catch2/catch.hpp>

namespace deltascope::test {

// Checks that `read` kept the facts of `written` every capture format carries: kind, direction,
// epoch, both times, seq, request id and flags (kind, direction and flags by name, so that a
// failure reads). Links, parts and payloads differ by format: the caller checks those.
inline void checkSameEventFacts(const SessionEvent& written, const SessionEvent& read)
{
    CHECK(eventKindName(read.kind) == eventKindName(written.kind));
    CHECK(directionName(read.direction) == directionName(written.direction));
    CHECK(read.epoch == written.epoch);
    CHECK(read.monotonicNs == written.monotonicNs);
    CHECK(read.wallMs == written.wallMs);
    CHECK(read.seq == written.seq);
    CHECK(read.requestId == written.requestId);
    CHECK(capture::flagNames(read.flags) == capture::flagNames(written.flags));
    CHECK(int(read.flags) == int(written.flags)); // bits flagNames() has no name for, too
}

// A session as a live one would record it: hello, epoch, connection/create (with `identity`),
// a snapshot, `items` deltas on a record list and a counter with increasing seq, pings and pongs,
// a connection/send with its ack (linked, seq-linked), and a local state change.
inline void fillSyntheticSession(EventLog& log, int items, const QString& identity = QStringLiteral("anonymous:secret-agent"))
{
    qint64 ns = 1000;
    qint64 wall = 1718000000000;
    auto add = [&](EventKind kind, QByteArrayView payload, qint64 requestId = -1, qint64 seq = -1, quint32 epoch = 1,
                   quint16 parts = 0, quint8 flags = 0) {
        SessionEvent event;
        event.kind = kind;
        event.direction = naturalDirection(kind);
        event.monotonicNs = ns;
        event.wallMs = wall;
        event.requestId = requestId;
        event.seq = seq;
        event.epoch = epoch;
        event.parts = parts;
        event.flags = flags;
        ns += 1000000;
        wall += 1;
        return log.append(event, payload);
    };
    add(EventKind::StateChanged, R"({"from":"idle","to":"connecting","reason":"opening"})", -1, -1, 0);
    add(EventKind::Hello, R"({"status":"connected","version":"20240912211736","identities":{}})", -1, -1, 0);
    add(EventKind::EpochStarted, R"({"epoch":1,"requestId":1})", 1);
    const QByteArray create = R"({"method":"connection/create","id":1,"identity":")" + identity.toUtf8()
        + R"(","space":"chat","key":"demo","viewer-state":{"token":"vs-secret"}})";
    SessionEvent request;
    request.kind = EventKind::Request;
    request.direction = Direction::Outbound;
    request.monotonicNs = ns;
    request.wallMs = wall;
    request.requestId = 1;
    request.epoch = 1;
    request.methodString = log.intern(u"connection/create");
    ns += 1000000;
    log.append(request, create);
    add(EventKind::StreamItem,
        R"({"deliver":1,"done":false,"response":{"delta":{"data":{"title":"Demo","owner":{"email":"boss@example.com"},"players":{"1":{"name":"ann","email":"ann@example.com"},"2":{"name":"bo","email":"bo@example.com"},"@o":[1,2]},"n":0},"seq":1}}})",
        1, 1, 1, PartData | PartSeq, FlagSnapshot);
    for (int i = 1; i <= items; ++i) {
        if (i % 50 == 0) {
            add(EventKind::Ping, R"({"ping":1000,"latency":"3"})");
            add(EventKind::Pong, R"({"ping":1000,"latency":"3","pong":1718000001.0})");
        }
        QByteArray frame;
        if (i % 10 == 0) {
            const int id = 2 + i / 10;
            frame = R"({"deliver":1,"done":false,"response":{"delta":{"data":{"players":{")" + QByteArray::number(id)
                + R"(":{"name":"p)" + QByteArray::number(id) + R"(","email":"p)" + QByteArray::number(id)
                + R"(@example.com"},"@o":[[0,)" + QByteArray::number(id - 2) + "]," + QByteArray::number(id)
                + R"(]},"n":)" + QByteArray::number(i) + R"(},"seq":)" + QByteArray::number(i + 1) + "}}}";
        } else {
            frame = R"({"deliver":1,"done":false,"response":{"delta":{"data":{"n":)" + QByteArray::number(i)
                + R"(,"note":"line \"quoted\"\n\ttab \u00e9 \ud83d\ude00"},"seq":)" + QByteArray::number(i + 1) + "}}}";
        }
        add(EventKind::StreamItem, frame, 1, i + 1, 1, PartData | PartSeq);
    }
    SessionEvent send;
    send.kind = EventKind::Request;
    send.direction = Direction::Outbound;
    send.monotonicNs = ns;
    send.wallMs = wall;
    send.requestId = 2;
    send.epoch = 1;
    send.methodString = log.intern(u"say");
    ns += 1000000;
    const qint64 sendIndex = log.append(send, R"({"method":"connection/send","id":2,"connection":1,"channel":"say","message":{"what":"hi"}})");
    const qint64 ack = add(EventKind::Response, QByteArray(R"({"deliver":2,"done":true,"response":{"seq":)" + QByteArray::number(items + 2) + "}}"), 2,
        items + 2);
    log.link(sendIndex, ack);
    const qint64 item = add(EventKind::StreamItem,
        QByteArray(R"({"deliver":1,"done":false,"response":{"delta":{"data":{"said":"hi"},"seq":)" + QByteArray::number(items + 2) + "}}}"), 1,
        items + 2, 1, PartData | PartSeq);
    log.linkSeq(ack, item);
    add(EventKind::MalformedInbound, QByteArray("\xff\xfe binary \x00\x01", 13), -1, -1, 1, 0, 0);
    add(EventKind::StateChanged, R"({"from":"streaming","to":"closed","reason":"done"})");
    log.flushNotifications();
}

// `log` written to `path` as a capture (identity tokens removed, an empty header).
inline bool writeCaptureFile(const QString& path, const EventLog& log)
{
    QFile file(path);
    return file.open(QIODevice::WriteOnly | QIODevice::Truncate) && CaptureWriter::writeLog(log, {}, file, false);
}

inline bool writeFile(const QString& path, const QByteArray& bytes)
{
    QFile file(path);
    return file.open(QIODevice::WriteOnly | QIODevice::Truncate) && file.write(bytes) == bytes.size();
}


// A session on stream 1 event by event, as a live one records it, each event 1 ms after the
// last: the hello before epoch 1, everything else in it, stream items with data and seq parts.
struct ScriptedStream {
    EventLog& log;
    qint64 ns = 1000;
    qint64 add(EventKind kind, QByteArrayView payload, qint64 seq = -1, quint8 flags = 0)
    {
        SessionEvent event;
        event.kind = kind;
        event.direction = naturalDirection(kind);
        event.monotonicNs = ns += 1000000;
        event.wallMs = 1718000000000 + ns / 1000000;
        event.requestId = kind == EventKind::StreamItem || kind == EventKind::EpochStarted ? 1 : -1;
        event.seq = seq;
        event.epoch = kind == EventKind::Hello ? 0 : 1;
        event.parts = kind == EventKind::StreamItem ? quint16(PartData | PartSeq) : quint16(0);
        event.flags = flags;
        return log.append(event, payload);
    }
    // The hello, epoch 1, and a snapshot with a value list `v` and a record list `r`.
    void start()
    {
        add(EventKind::Hello, R"({"status":"connected","version":"v","identities":{}})");
        add(EventKind::EpochStarted, R"({"epoch":1,"requestId":1})");
        add(EventKind::StreamItem, R"({"deliver":1,"done":false,"response":{"delta":{"data":{"v":{"0":1,"1":2,"@s":2},"r":{"1":{"a":1},"@o":[1]}},"seq":1}}})",
            1, FlagSnapshot);
    }
};

}
