#include "core/server/serverwire.h"

#include "core/exactinteger.h"

#include <QCryptographicHash>
#include <QJsonArray>
#include <QJsonDocument>
#include <QPasswordDigestor>
#include <QRandomGenerator>
#include <QSet>

#include <algorithm>
#include <string_view>
#include <string>
#include <cmath>
#include <charconv>
#include <cctype>
#include <climits>
#include <array>
#include <vector>

namespace deltascope::server {

bool shouldRetry(int code)
{
    // ErrorTable.java: the codes tagged @RetryInternally.
    static constexpr std::array<int, 18> retryable { 123392, 198657, 130568, 134152, 143880, 138255, 144416, 146631,
        183498, 199883, 902223, 912544, 983117, 928828, 978162, 718908, 769085, 787507 };
    return std::find(retryable.begin(), retryable.end(), code) != retryable.end();
}

QByteArray streamFrame(qint64 id, const QByteArray& responseJson)
{
    return "{\"deliver\":" + QByteArray::number(id) + ",\"done\":false,\"response\":" + responseJson + '}';
}

QByteArray finishFrame(qint64 id, const QByteArray& responseJson)
{
    if (responseJson.isEmpty())
        return "{\"deliver\":" + QByteArray::number(id) + ",\"done\":true}";
    return "{\"deliver\":" + QByteArray::number(id) + ",\"done\":true,\"response\":" + responseJson + '}';
}

QByteArray failureFrame(qint64 id, int code)
{
    return "{\"failure\":" + QByteArray::number(id) + ",\"reason\":" + QByteArray::number(code)
        + ",\"retry\":" + (shouldRetry(code) ? "true" : "false") + '}';
}

QByteArray disconnectedFrame(int code)
{
    return "{\"status\":\"disconnected\",\"reason\":" + QByteArray::number(code) + '}';
}

QByteArray keepaliveFailureFrame()
{
    return QByteArrayLiteral("{\"status\":\"disconnected\",\"reason\":\"keepalive-failure\"}");
}

QByteArray pingFrame(qint64 sinceCreatedMs, qint64 latencyMs)
{
    return "{\"ping\":" + QByteArray::number(sinceCreatedMs) + ",\"latency\":\"" + QByteArray::number(latencyMs) + "\"}";
}

QByteArray helloFrame(const QString& version, const QStringList& identities)
{
    QJsonObject ids;
    for (const QString& name : identities)
        ids.insert(name, true);
    return "{\"status\":\"connected\",\"version\":" + compactJson(QJsonValue(version)) + ",\"identities\":"
        + compactJson(ids) + '}';
}

QByteArray compactJson(const QJsonObject& object)
{
    return QJsonDocument(object).toJson(QJsonDocument::Compact);
}

QByteArray compactJson(const QJsonValue& value)
{
    // QJsonDocument only holds objects and arrays; wrap scalars in an array and strip the brackets.
    if (value.isObject())
        return compactJson(value.toObject());
    if (value.isArray())
        return QJsonDocument(value.toArray()).toJson(QJsonDocument::Compact);
    const QByteArray wrapped = QJsonDocument(QJsonArray { value }).toJson(QJsonDocument::Compact);
    return wrapped.mid(1, wrapped.size() - 2);
}

namespace {

// Java's Long.parseLong: an optional sign and decimal digits (any script's, as Character.digit
// reads them), within 64 bits; no white space.
std::optional<qint64> javaParseLong(const QString& text)
{
    qsizetype i = 0;
    const bool negative = !text.isEmpty() && text[0] == QLatin1Char('-');
    if (!text.isEmpty() && (text[0] == QLatin1Char('-') || text[0] == QLatin1Char('+')))
        ++i;
    if (i == text.size())
        return std::nullopt;
    quint64 magnitude = 0;
    const quint64 limit = negative ? quint64(LLONG_MAX) + 1 : quint64(LLONG_MAX);
    for (; i < text.size(); ++i) {
        const int digit = text[i].digitValue();
        if (digit < 0 || digit > 9 || magnitude > (limit - quint64(digit)) / 10)
            return std::nullopt;
        magnitude = magnitude * 10 + quint64(digit);
    }
    return negative ? qint64(0 - magnitude) : qint64(magnitude);
}

}

std::optional<QString> stringParam(const QJsonObject& request, QLatin1String name)
{
    const QJsonValue value = request.value(name);
    if (value.isString())
        return value.toString();
    if (value.isDouble()) {
        const double number = value.toDouble();
        if (number == static_cast<double>(static_cast<qint64>(number)))
            return QString::number(static_cast<qint64>(number));
        return QString::number(number);
    }
    return std::nullopt;
}

std::optional<qint64> integerParam(const QJsonObject& request, QLatin1String name)
{
    const QJsonValue value = request.value(name);
    if (value.isDouble())
        return exactInteger(value.toDouble()); // nullopt when not an integral number
    if (value.isString())
        return javaParseLong(value.toString());
    return std::nullopt;
}

namespace {

// Each top-level key written plainly (no escapes) whose value is a number, with the number's
// text, in the order written (Jackson keeps the last of a repeated key, as QJsonObject does).
std::vector<std::pair<QByteArrayView, QByteArrayView>> topLevelNumberTokens(QByteArrayView frame)
{
    std::vector<std::pair<QByteArrayView, QByteArrayView>> tokens;
    int depth = 0;
    bool expectKey = false; // at depth 1, after '{' or ','
    for (qsizetype i = 0; i < frame.size(); ++i) {
        const char c = frame[i];
        if (c == '"') {
            const qsizetype start = i + 1;
            bool escaped = false;
            for (++i; i < frame.size() && frame[i] != '"'; ++i) {
                if (frame[i] == '\\') {
                    escaped = true;
                    ++i;
                }
            }
            if (i >= frame.size())
                break; // an unterminated string (the caller passes valid JSON; this keeps reads in bounds)
            if (depth != 1 || !expectKey)
                continue;
            expectKey = false;
            if (escaped)
                continue;
            const QByteArrayView key = frame.sliced(start, i - start);
            qsizetype v = i + 1;
            while (v < frame.size() && (frame[v] == ' ' || frame[v] == '\t' || frame[v] == '\n' || frame[v] == '\r' || frame[v] == ':'))
                ++v;
            qsizetype end = v;
            while (end < frame.size() && (std::isdigit(static_cast<unsigned char>(frame[end])) || frame[end] == '-' || frame[end] == '+'
                       || frame[end] == '.' || frame[end] == 'e' || frame[end] == 'E'))
                ++end;
            if (end > v)
                tokens.emplace_back(key, frame.sliced(v, end - v));
        } else if (c == '{' || c == '[') {
            ++depth;
            expectKey = c == '{' && depth == 1;
        } else if (c == '}' || c == ']') {
            --depth;
        } else if (c == ',' && depth == 1) {
            expectKey = true;
        }
    }
    return tokens;
}

// The text of the number a top-level "id" key holds in `frame`, or empty when the key is not
// written plainly or holds no number. The last such key wins, as in Jackson.
QByteArrayView idNumberToken(QByteArrayView frame)
{
    QByteArrayView token;
    for (const auto& [key, number] : topLevelNumberTokens(frame)) {
        if (key == QByteArrayView("id"))
            token = number;
    }
    return token;
}

bool isIntegralToken(QByteArrayView token)
{
    return !token.contains('.') && !token.contains('e') && !token.contains('E');
}

// Java's Double.toString: the shortest digits that read back as `value`, as "123.0" or "0.001"
// from 10^-3 up to 10^7, else as "1.0E20" or "1.5E-5".
QString javaDoubleText(double value)
{
    if (value == 0)
        return std::signbit(value) ? QStringLiteral("-0.0") : QStringLiteral("0.0");
    if (!std::isfinite(value))
        return std::isnan(value) ? QStringLiteral("NaN") : value > 0 ? QStringLiteral("Infinity") : QStringLiteral("-Infinity");
    char buffer[40];
    const auto [end, error] = std::to_chars(buffer, buffer + sizeof buffer, value, std::chars_format::scientific);
    if (error != std::errc())
        return QString::number(value);
    std::string_view text(buffer, std::size_t(end - buffer));
    const bool negative = text.front() == '-';
    if (negative)
        text.remove_prefix(1);
    const std::size_t e = text.find('e');
    const int exponent = std::atoi(std::string(text.substr(e + 1)).c_str());
    std::string digits(text.substr(0, e));
    digits.erase(std::remove(digits.begin(), digits.end(), '.'), digits.end());
    std::string out;
    const double magnitude = std::fabs(value);
    if (magnitude >= 1e-3 && magnitude < 1e7) {
        const int point = exponent + 1; // digits before the decimal point
        if (point <= 0)
            out = "0." + std::string(std::size_t(-point), '0') + digits;
        else if (std::size_t(point) >= digits.size())
            out = digits + std::string(std::size_t(point) - digits.size(), '0') + ".0";
        else
            out = digits.substr(0, std::size_t(point)) + "." + digits.substr(std::size_t(point));
    } else {
        out = digits.substr(0, 1) + "." + (digits.size() > 1 ? digits.substr(1) : std::string("0")) + "E" + std::to_string(exponent);
    }
    return QString::fromLatin1((negative ? "-" + out : out).c_str());
}

// Java's Integer.parseInt: as Long.parseLong, within 32 bits.
std::optional<qint32> javaParseInt(const QString& text)
{
    const std::optional<qint64> value = javaParseLong(text);
    if (!value || *value < INT_MIN || *value > INT_MAX)
        return std::nullopt;
    return qint32(*value);
}

}

std::optional<qint32> requestId(const QJsonObject& request, QByteArrayView frame)
{
    const QJsonValue value = request.value(QLatin1String("id"));
    if (value.isString())
        return javaParseInt(value.toString());
    if (!value.isDouble())
        return std::nullopt;
    const QByteArrayView token = idNumberToken(frame);
    if (token.isEmpty()) {
        // Not written plainly: read the parsed number (within 64 bits), cut to 32 bits.
        const std::optional<qint64> integer = exactInteger(value.toDouble());
        return integer ? std::optional<qint32>(qint32(quint32(quint64(*integer)))) : std::nullopt;
    }
    if (token.contains('.') || token.contains('e') || token.contains('E'))
        return std::nullopt; // Jackson reads a double: not an integral number
    // The low 32 bits of the integer, however long it is (BigInteger.intValue(), long to int).
    quint32 low = 0;
    for (const char c : token) {
        if (c >= '0' && c <= '9')
            low = low * 10u + quint32(c - '0');
    }
    if (token.startsWith('-'))
        low = 0u - low;
    return qint32(low);
}

void readNumbersAsJackson(QJsonObject& request, QByteArrayView frame)
{
    const std::vector<std::pair<QByteArrayView, QByteArrayView>> tokens = topLevelNumberTokens(frame);
    QSet<QByteArrayView> seen;
    // The last of a repeated key is the value (as in the parsed object): read from the end.
    for (auto it = tokens.rbegin(); it != tokens.rend(); ++it) {
        const auto& [key, token] = *it;
        if (seen.contains(key))
            continue;
        seen.insert(key);
        const QString name = QString::fromUtf8(key);
        const QJsonValue value = request.value(name);
        if (!value.isDouble())
            continue;
        if (isIntegralToken(token)) {
            qint64 integer = 0;
            const auto [end, error] = std::from_chars(token.data(), token.data() + token.size(), integer);
            if (error != std::errc() || end != token.data() + token.size())
                request.insert(name, QString::fromLatin1(token)); // a BigInteger: its digits, and no long
        } else {
            // A double: Java's text, and no long. Qt reads -0.0 as the integer 0: the sign is the text's.
            const double number = value.toDouble() == 0 && token.startsWith('-') ? -0.0 : value.toDouble();
            request.insert(name, javaDoubleText(number));
        }
    }
}

std::optional<QJsonObject> objectParam(const QJsonObject& request, QLatin1String name)
{
    const QJsonValue value = request.value(name);
    if (value.isObject())
        return value.toObject();
    return std::nullopt;
}

std::optional<QJsonValue> messageParam(const QJsonObject& request, QLatin1String name)
{
    const QJsonValue value = request.value(name);
    if (value.isObject() || value.isArray())
        return value;
    return std::nullopt;
}

namespace {

bool isSimpleChar(QChar c)
{
    const char16_t u = c.unicode();
    return (u >= u'a' && u <= u'z') || (u >= u'A' && u <= u'Z') || (u >= u'0' && u <= u'9') || u == u'-' || u == u'_'
        || u == u'.';
}

bool isIdentifierStart(QChar c)
{
    const char16_t u = c.unicode();
    return (u >= u'a' && u <= u'z') || (u >= u'A' && u <= u'Z') || u == u'_';
}

}

int validateKey(const QString& key)
{
    if (key.isEmpty())
        return ErrorCode::InvalidKeyEmpty;
    if (key.size() > 511 || !std::all_of(key.begin(), key.end(), isSimpleChar))
        return ErrorCode::InvalidKeyNotSimple;
    return 0;
}

int validateSpace(const QString& space)
{
    if (space.isEmpty())
        return ErrorCode::InvalidSpaceEmpty;
    if (space.size() > 127 || !std::all_of(space.begin(), space.end(), isSimpleChar))
        return ErrorCode::InvalidSpaceNotSimple;
    return 0;
}

int validateChannel(const QString& channel)
{
    if (channel.isEmpty())
        return ErrorCode::ChannelEmpty;
    if (!isIdentifierStart(channel.front()))
        return ErrorCode::ChannelBadStart;
    for (qsizetype i = 1; i < channel.size(); ++i) {
        const QChar c = channel.at(i);
        if (!isIdentifierStart(c) && !(c.unicode() >= u'0' && c.unicode() <= u'9'))
            return ErrorCode::ChannelBadMiddle;
    }
    return 0;
}


namespace {
    // Few enough iterations that a hash takes milliseconds: the server answers on its event loop,
    // and a debugging peer must not stall every socket for one request.
    constexpr int kPasswordIterations = 4096; // about 10 ms here
    constexpr int kPasswordHashBytes = 32;

    QByteArray randomBytes(int count)
    {
        std::vector<quint32> words(std::size_t(count + 3) / 4);
        QRandomGenerator::system()->fillRange(words.data(), qsizetype(words.size()));
        return QByteArray(reinterpret_cast<const char*>(words.data()), count);
    }
}

QByteArray passwordHash(const QString& password)
{
    const QByteArray salt = randomBytes(16);
    const QByteArray hash = QPasswordDigestor::deriveKeyPbkdf2(QCryptographicHash::Sha256, password.toUtf8(), salt, kPasswordIterations, kPasswordHashBytes);
    return "$pbkdf2-sha256$" + QByteArray::number(kPasswordIterations) + '$' + salt.toBase64() + '$' + hash.toBase64();
}

QByteArray randomToken(int bytes)
{
    return randomBytes(bytes).toBase64(QByteArray::Base64UrlEncoding | QByteArray::OmitTrailingEquals);
}

}
