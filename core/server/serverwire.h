#pragma once

#include <QByteArray>
#include <QJsonObject>
#include <QJsonValue>
#include <QString>

#include <optional>

// Wire helpers of the reference server: the error codes it answers with (adama-wire.md section 9
// and the per-parameter codes of section 3.1), the retry table, and envelope builders that write
// frames byte for byte as the real server's WebSocketHandler does.
namespace deltascope::server {

namespace ErrorCode {
    // socket-fatal (`status: disconnected`)
    inline constexpr int NoId = 233120;
    inline constexpr int BinaryFrame = 213711;
    inline constexpr int Uncaught = 295116;
    // request level
    inline constexpr int NoMethod = 213708;
    inline constexpr int MethodNotFound = 945213;
    inline constexpr int MissingIdentity = 458759;
    inline constexpr int MissingSpace = 461828;
    inline constexpr int MissingKey = 466947;
    inline constexpr int MissingConnection = 405505;
    inline constexpr int MissingChannel = 454659;
    inline constexpr int MissingMessage = 425987;
    inline constexpr int MissingArg = 461826;
    inline constexpr int MissingPassword = 465917;
    inline constexpr int UnknownConnectionSend = 457745;
    inline constexpr int UnknownConnectionSendOnce = 410619;
    inline constexpr int UnknownConnectionUpdate = 438302;
    inline constexpr int UnknownConnectionEnd = 474128;
    inline constexpr int UnknownConnectionCanAttach = 494559;
    inline constexpr int UnknownConnectionAttach = 442363;
    inline constexpr int InvalidKeyEmpty = 919676;
    inline constexpr int InvalidKeyNotSimple = 946192;
    inline constexpr int InvalidSpaceEmpty = 937076;
    inline constexpr int InvalidSpaceNotSimple = 998515;
    inline constexpr int ChannelEmpty = 950399;
    inline constexpr int ChannelBadStart = 908415;
    inline constexpr int ChannelBadMiddle = 967804;
    inline constexpr int InvalidTokenLayout = 995342;
    inline constexpr int SpaceDoesNotExist = 625678;
    inline constexpr int DocumentNotFound = 625676;
    inline constexpr int DocumentAlreadyCreated = 130092;
    // document level
    inline constexpr int AuthForbidden = 403403;
    inline constexpr int AuthDisconnected = 403500;
    inline constexpr int ClientRejected = 184333;
    inline constexpr int CantSendNotConnected = 143373;
    inline constexpr int FailedParseMessage = 145627;
    inline constexpr int NoChannelHandler = 160268;
    inline constexpr int MessageAlreadySent = 143407;
    inline constexpr int ShieldRejectConnect = 183498;
    inline constexpr int NetTimeout = 928828; // NET_LCSM_TIMEOUT, retryable
}

// True for the codes in the real server's retry table (ErrorTable.java).
bool shouldRetry(int code);

// {"deliver":ID,"done":false,"response":RESPONSE}
QByteArray streamFrame(qint64 id, const QByteArray& responseJson);
// {"deliver":ID,"done":true,"response":RESPONSE} or, with an empty response, {"deliver":ID,"done":true}
QByteArray finishFrame(qint64 id, const QByteArray& responseJson = {});
// {"failure":ID,"reason":CODE,"retry":BOOL}
QByteArray failureFrame(qint64 id, int code);
// {"status":"disconnected","reason":CODE}
QByteArray disconnectedFrame(int code);
QByteArray keepaliveFailureFrame();
QByteArray pingFrame(qint64 sinceCreatedMs, qint64 latencyMs);
QByteArray helloFrame(const QString& version, const QStringList& identities);

QByteArray compactJson(const QJsonObject& object);
QByteArray compactJson(const QJsonValue& value);

// Parameter readers with the real JsonRequest's leniency: strings accept numbers, integers accept
// numeric strings (as Long.parseLong reads them: no spaces); absent, null or wrongly typed yields
// nullopt (the caller answers with the parameter's code). See readNumbersAsJackson() for numbers
// written with a fraction, an exponent or beyond 64 bits.
std::optional<QString> stringParam(const QJsonObject& request, QLatin1String name);
std::optional<qint64> integerParam(const QJsonObject& request, QLatin1String name);
std::optional<QJsonObject> objectParam(const QJsonObject& request, QLatin1String name);
// `message` accepts an object or an array.
std::optional<QJsonValue> messageParam(const QJsonObject& request, QLatin1String name);
// The request id as Adama reads it (JsonRequest.getInteger): an integral JSON number of any size,
// cut to its low 32 bits as Java's intValue() does, or a string Integer.parseInt accepts. A number
// written with a fraction or an exponent (1.0, 1e2) is no id, though it parses to an integer:
// `frame` (the request's text) says how it was written. Known gaps, both beyond any client: an
// "id" key spelled with escapes is read from the parsed number, and a number of over about 309
// digits fails Qt's JSON parser before it gets here.
std::optional<qint32> requestId(const QJsonObject& request, QByteArrayView frame);
// Makes `request` (parsed from `frame`) hold its top-level numbers as Jackson reads them, for the
// parameter readers: Qt reads 1.0 and 1e2 as integers and long digits as a double, Jackson a
// double and a BigInteger. Those become strings of what JsonRequest.getString returns ("1.0",
// "100.0", "1.0E20", the digits), which integerParam() then refuses as getLong does.
void readNumbersAsJackson(QJsonObject& request, QByteArrayView frame);

// `documents/hash-password`: a salted PBKDF2-HMAC-SHA256 hash as
// `$pbkdf2-sha256$ITERATIONS$SALT$HASH` (base64). Adama answers scrypt text (`$s0$...`); clients
// store the hash and never read it, so only its being salted and one-way matters here.
QByteArray passwordHash(const QString& password);
// `bytes` random bytes from the system's generator, as unpadded base64url.
QByteArray randomToken(int bytes);

// Validators of the real server (ValidateKey, ValidateSpace, ValidateChannel): 0 when valid,
// otherwise the code to fail with.
int validateKey(const QString& key);
int validateSpace(const QString& space);
int validateChannel(const QString& channel);

}
