#include <catch2/catch.hpp>

#include "core/faults/jsonpredicate.h"
#include "core/faults/websocketframe.h"

#include <QJsonDocument>
#include <QJsonObject>

using namespace deltascope::faults;

TEST_CASE("frames: encode and parse round trip at every length class, masked and not")
{
    for (const qsizetype size : { qsizetype(0), qsizetype(5), qsizetype(125), qsizetype(126), qsizetype(65535),
             qsizetype(65536), qsizetype(200000) }) {
        for (const bool masked : { false, true }) {
            QByteArray payload(size, 'x');
            for (qsizetype i = 0; i < size; ++i)
                payload[i] = char('a' + i % 26);
            const QByteArray bytes = encodeFrame(quint8(WsOpcode::Text), payload, true, masked, 0x11223344);
            WsFrameParser parser;
            // Byte-by-byte for small frames catches every "need more" boundary.
            if (size < 300) {
                for (qsizetype i = 0; i + 1 < bytes.size(); ++i) {
                    parser.feed(bytes.mid(i, 1));
                    WsFrame partial;
                    REQUIRE(parser.next(partial) == WsFrameParser::Status::NeedMore);
                }
                parser.feed(bytes.right(1));
            } else {
                parser.feed(bytes);
            }
            WsFrame frame;
            REQUIRE(parser.next(frame) == WsFrameParser::Status::Frame);
            CHECK(frame.payload == payload);
            CHECK(frame.raw == bytes);
            CHECK(frame.masked == masked);
            CHECK(frame.fin);
            CHECK(parser.pendingBytes() == 0);
        }
    }
}

TEST_CASE("frames: fragmented message with an interleaved ping reassembles")
{
    QByteArray stream = encodeFrame(quint8(WsOpcode::Text), "hel", false, true, 1);
    stream += encodeFrame(quint8(WsOpcode::Ping), "p", true, true, 2);
    stream += encodeFrame(quint8(WsOpcode::Continuation), "lo", false, true, 3);
    stream += encodeFrame(quint8(WsOpcode::Continuation), "!", true, true, 4);
    WsFrameParser parser;
    parser.feed(stream);
    WsMessageAssembler assembler;
    QList<WsMessageAssembler::Result> results;
    WsFrame frame;
    while (parser.next(frame) == WsFrameParser::Status::Frame)
        results.append(assembler.add(frame));
    REQUIRE(results.size() == 4);
    CHECK(results[0] == WsMessageAssembler::Result::Partial);
    CHECK(results[1] == WsMessageAssembler::Result::Control);
    CHECK(results[2] == WsMessageAssembler::Result::Partial);
    CHECK(results[3] == WsMessageAssembler::Result::Message);
    CHECK(assembler.opcode() == quint8(WsOpcode::Text));
    CHECK(assembler.frameCount() == 3);
    CHECK(assembler.takePayload() == "hello!");
}

TEST_CASE("frames: protocol violations are errors that keep the bytes")
{
    SECTION("reserved opcode")
    {
        WsFrameParser parser;
        parser.feed(QByteArray("\x83\x00", 2));
        WsFrame frame;
        CHECK(parser.next(frame) == WsFrameParser::Status::Error);
        CHECK(parser.error().contains(QStringLiteral("reserved opcode")));
        CHECK(parser.buffered().size() == 2);
    }
    SECTION("control frame over 125 bytes")
    {
        WsFrameParser parser;
        parser.feed(encodeFrame(quint8(WsOpcode::Ping), QByteArray(126, 'p')));
        WsFrame frame;
        CHECK(parser.next(frame) == WsFrameParser::Status::Error);
        CHECK(parser.error().contains(QStringLiteral("limit 125")));
    }
    SECTION("fragmented control frame")
    {
        WsFrameParser parser;
        parser.feed(encodeFrame(quint8(WsOpcode::Close), "x", false));
        WsFrame frame;
        CHECK(parser.next(frame) == WsFrameParser::Status::Error);
    }
    SECTION("64-bit length with the top bit set")
    {
        WsFrameParser parser;
        parser.feed(QByteArray("\x81\x7f\x80\x00\x00\x00\x00\x00\x00\x01", 10));
        WsFrame frame;
        CHECK(parser.next(frame) == WsFrameParser::Status::Error);
    }
    SECTION("frame over the parsing limit")
    {
        WsFrameParser parser(1000);
        parser.feed(encodeFrame(quint8(WsOpcode::Text), QByteArray(1001, 'a')));
        WsFrame frame;
        CHECK(parser.next(frame) == WsFrameParser::Status::Error);
        CHECK(parser.error().contains(QStringLiteral("parsing limit")));
    }
    SECTION("continuation with no message, new message inside a fragmented one")
    {
        WsMessageAssembler assembler;
        WsFrame continuation;
        continuation.opcode = 0;
        CHECK(assembler.add(continuation) == WsMessageAssembler::Result::Error);
        WsMessageAssembler open;
        WsFrame first;
        first.opcode = 1;
        first.fin = false;
        CHECK(open.add(first) == WsMessageAssembler::Result::Partial);
        CHECK(open.add(first) == WsMessageAssembler::Result::Error);
    }
}

TEST_CASE("http head: parse, strip extensions, serialize")
{
    const QByteArray request = "GET /~s HTTP/1.1\r\nHost: 127.0.0.1:9\r\nUpgrade: websocket\r\n"
                               "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n\r\nrest";
    const qsizetype end = httpHeadEnd(request);
    REQUIRE(end == request.size() - 4);
    HttpHead head;
    REQUIRE(parseHttpHead(request.left(end), head));
    CHECK(head.value("sec-websocket-extensions").startsWith("permessage-deflate"));
    CHECK(head.remove("Sec-WebSocket-Extensions"));
    head.set("host", "example:1");
    const QByteArray out = head.serialize();
    CHECK(!out.contains("permessage-deflate"));
    CHECK(out.contains("Host: example:1\r\n"));
    CHECK(out.endsWith("\r\n\r\n"));
    CHECK(httpHeadEnd("GET / HTTP/1.1\r\n") == -1);
    HttpHead bad;
    CHECK_FALSE(parseHttpHead("\x01\x02garbage\r\n\r\n", bad));
}

TEST_CASE("json predicates: paths, ops and errors that name where")
{
    const QJsonObject frame = QJsonDocument::fromJson(
        R"({"deliver":1,"done":false,"response":{"delta":{"data":{"players":{"9":{"name":"cy"}}},"seq":57,"outstanding":[{"channel":"play"}]}}})")
                                  .object();
    auto check = [&](const char* json) {
        JsonPredicate predicate;
        QString error;
        REQUIRE(JsonPredicate::fromJson(
            QJsonDocument::fromJson(json).object(), QStringLiteral("$.where"), predicate, &error));
        return predicate.matches(frame);
    };
    CHECK(check(R"({"path":"$.response.delta.data"})"));
    CHECK(check(R"({"path":"$.response.delta.seq","op":"gte","value":57})"));
    CHECK_FALSE(check(R"({"path":"$.response.delta.seq","op":"gt","value":57})"));
    CHECK(check(R"({"path":"$.response.delta.seq","value":"57"})"));
    CHECK(check(R"({"path":"$.response.delta.data.players['9'].name","op":"matches","value":"^c"})"));
    CHECK(check(R"({"path":"$.response.delta.outstanding[0].channel","value":"play"})"));
    CHECK(check(R"({"path":"response.delta.log","op":"absent"})"));
    CHECK(check(R"({"path":"$.response.delta.data.players","op":"contains","value":"9"})"));
    CHECK_FALSE(check(R"({"path":"$.response.delta.outstanding[3]"})"));

    JsonPredicate predicate;
    QString error;
    CHECK_FALSE(JsonPredicate::fromJson(QJsonDocument::fromJson(R"({"path":"$.a[x]"})").object(),
        QStringLiteral("$.steps[0].at.match"), predicate, &error));
    CHECK(error.startsWith(QStringLiteral("$.steps[0].at.match.path: bad JSON path")));
    CHECK_FALSE(JsonPredicate::fromJson(
        QJsonDocument::fromJson(R"({"path":"$.a","op":"near"})").object(), QStringLiteral("$.w"), predicate, &error));
    CHECK(error.startsWith(QStringLiteral("$.w.op: unknown op 'near'")));
    CHECK_FALSE(JsonPredicate::fromJson(QJsonDocument::fromJson(R"({"path":"$.a","op":"gt","value":"x"})").object(),
        QStringLiteral("$.w"), predicate, &error));
    CHECK(error.contains(QStringLiteral("expected a number")));
    CHECK_FALSE(
        JsonPredicate::fromJson(QJsonDocument::fromJson(R"({"path":"$.a","op":"matches","value":"("})").object(),
            QStringLiteral("$.w"), predicate, &error));
    CHECK(error.contains(QStringLiteral("bad regular expression")));
    CHECK_FALSE(JsonPredicate::fromJson(
        QJsonDocument::fromJson(R"({"path":"$.a","extra":1})").object(), QStringLiteral("$.w"), predicate, &error));
    CHECK(error.startsWith(QStringLiteral("$.w.extra: unknown key")));
}
