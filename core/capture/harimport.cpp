#include "core/capture/harimport.h"

#include "core/jsonparse.h"
#include "core/protocol/envelope.h"
#include "core/version.h"

#include <QFile>
#include <QFileInfo>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>

#include <simdjson.h>

#include <cmath>

namespace deltascope {

namespace {

struct OutboundFrame {
    EventKind kind = EventKind::UnknownOutbound;
    qint64 id = -1;
    QString method;
    QString channel;
};

OutboundFrame decodeOutbound(QByteArrayView frame)
{
    OutboundFrame result;
    simdjson::dom::parser parser;
    simdjson::dom::element element;
    if (parseJsonText(parser, frame.data(), std::size_t(frame.size())).get(element) || !element.is_object())
        return result;
    simdjson::dom::object object = element.get_object().value_unsafe();
    std::string_view method;
    if (!object["method"].get(method)) {
        result.method = QString::fromUtf8(method.data(), qsizetype(method.size()));
        simdjson::dom::element id;
        if (!object["id"].get(id)) {
            int64_t number = 0;
            std::string_view text;
            if (!id.get(number)) {
                result.id = number;
            } else if (!id.get(text)) {
                bool ok = false;
                const qint64 parsed = QByteArray(text.data(), qsizetype(text.size())).toLongLong(&ok);
                if (ok)
                    result.id = parsed;
            }
        }
        std::string_view channel;
        if (!object["channel"].get(channel))
            result.channel = QString::fromUtf8(channel.data(), qsizetype(channel.size()));
        result.kind = EventKind::Request;
        return result;
    }
    simdjson::dom::element pong;
    if (!object["pong"].get(pong))
        result.kind = EventKind::Pong;
    return result;
}

// Builds one session from one entry's messages, classifying frames like a live session.
class SessionBuilder
{
public:
    explicit SessionBuilder(ImportedSession& session)
        : m_session(session)
    {
    }

    void add(bool outbound, double timeSeconds, const QByteArray& data, bool binary)
    {
        const qint64 wallMs = qint64(std::llround(timeSeconds * 1000.0));
        const qint64 ns = qint64(std::llround(timeSeconds * 1e9));
        if (m_firstNs < 0)
            m_firstNs = ns;
        SessionEvent event;
        event.wallMs = wallMs;
        event.monotonicNs = std::max(m_lastNs, ns - m_firstNs); // keep time monotonic even if the HAR is not
        m_lastNs = event.monotonicNs;
        event.direction = outbound ? Direction::Outbound : Direction::Inbound;
        EventLog& log = *m_session.log;
        ++m_session.frames;
        if (outbound) {
            const OutboundFrame frame = binary ? OutboundFrame() : decodeOutbound(data);
            event.kind = frame.kind;
            event.requestId = frame.id;
            if (frame.kind == EventKind::Request) {
                const bool isSend = frame.method == QLatin1String("connection/send") || frame.method == QLatin1String("connection/send-once");
                event.methodString = log.intern(isSend && !frame.channel.isEmpty() ? frame.channel : frame.method);
                if (frame.method == QLatin1String("connection/create") || frame.method == QLatin1String("connection/create-via-domain")) {
                    startEpoch(event, frame.id, false);
                    m_requestMethods.insert(frame.id, frame.method);
                }
                m_requestMethods.insert(frame.id, frame.method);
            } else if (frame.kind == EventKind::UnknownOutbound) {
                ++m_session.unknownFrames;
            }
            event.epoch = m_epoch;
            log.append(event, data);
            return;
        }
        if (binary) {
            event.kind = EventKind::MalformedInbound;
            event.code = 2; // MalformedReason::Binary
            event.epoch = m_epoch;
            ++m_session.unknownFrames;
            log.append(event, data);
            return;
        }
        const InboundFrame frame = decodeInbound(data);
        event.kind = frame.kind;
        event.requestId = frame.id;
        event.seq = frame.seq;
        event.parts = frame.parts;
        event.code = frame.code;
        if (frame.retry)
            event.flags |= FlagRetryable;
        if (frame.kind == EventKind::UnknownInbound || frame.kind == EventKind::MalformedInbound)
            ++m_session.unknownFrames;
        if (frame.kind == EventKind::Hello)
            m_sawHello = true;
        if (frame.kind == EventKind::StreamItem && frame.id != m_streamId && !m_requestMethods.contains(frame.id)
            && m_streamId < 0) {
            // A stream whose connection/create the HAR no longer has: the browser dropped the
            // oldest frames. Open a synthetic epoch so its items still fold (from a partial tree).
            m_session.header.partial = true;
            m_session.notices << QStringLiteral("frame %1: stream %2 started before the first frame the HAR kept; "
                                                "its first document tree is partial")
                                     .arg(m_session.frames)
                                     .arg(frame.id);
            startEpoch(event, frame.id, true);
        }
        event.epoch = m_epoch;
        if (frame.kind == EventKind::StreamItem && frame.id == m_streamId && (frame.parts & PartData) && !m_epochHasData) {
            m_epochHasData = true;
            if (!m_partialEpoch)
                event.flags |= FlagSnapshot;
        }
        const qint64 index = log.append(event, data);
        if (frame.kind == EventKind::Response || frame.kind == EventKind::StreamDone || frame.kind == EventKind::Failure) {
            const qint64 request = log.requestIndex(frame.id);
            if (request >= 0 && log.at(request).linkedIndex < 0)
                log.link(request, index);
            if (frame.kind == EventKind::Response && frame.seq >= 0 && request >= 0) {
                const QString method = m_requestMethods.value(frame.id);
                if (method.startsWith(QLatin1String("connection/send"))) {
                    const qint64 item = log.streamItemWithSeq(frame.seq, m_epoch);
                    if (item >= 0)
                        log.linkSeq(index, item);
                }
            }
        }
    }

    bool sawHello() const { return m_sawHello; }

private:
    void startEpoch(const SessionEvent& at, qint64 requestId, bool synthetic)
    {
        ++m_epoch;
        m_streamId = requestId;
        m_epochHasData = false;
        m_partialEpoch = synthetic;
        SessionEvent epoch;
        epoch.kind = EventKind::EpochStarted;
        epoch.direction = Direction::Local;
        epoch.monotonicNs = at.monotonicNs;
        epoch.wallMs = at.wallMs;
        epoch.epoch = m_epoch;
        epoch.requestId = requestId;
        if (synthetic)
            epoch.flags |= FlagSynthetic;
        const QByteArray fields = "{\"epoch\":" + QByteArray::number(m_epoch) + ",\"requestId\":" + QByteArray::number(requestId)
            + (synthetic ? ",\"synthetic\":true,\"partial\":true}" : "}");
        m_session.log->append(epoch, fields);
    }

    ImportedSession& m_session;
    quint32 m_epoch = 0;
    qint64 m_streamId = -1;
    bool m_epochHasData = false;
    bool m_partialEpoch = false;
    bool m_sawHello = false;
    qint64 m_firstNs = -1;
    qint64 m_lastNs = 0;
    QHash<qint64, QString> m_requestMethods;
};

}

HarImportResult importHar(const QByteArray& harJson, const QString& sourceName)
{
    HarImportResult result;
    QJsonParseError parseError;
    const QJsonDocument document = QJsonDocument::fromJson(harJson, &parseError);
    if (parseError.error != QJsonParseError::NoError) {
        result.error = QStringLiteral("%1: not valid JSON at byte %2 (%3); is it a HAR file?")
                           .arg(sourceName)
                           .arg(parseError.offset)
                           .arg(parseError.errorString());
        return result;
    }
    const QJsonObject root = document.object();
    if (!root.value(QStringLiteral("log")).isObject() || !root.value(QStringLiteral("log")).toObject().value(QStringLiteral("entries")).isArray()) {
        result.error = QStringLiteral("%1: not a HAR file (no log.entries array)").arg(sourceName);
        return result;
    }
    const QJsonObject log = root.value(QStringLiteral("log")).toObject();
    const QJsonArray entries = log.value(QStringLiteral("entries")).toArray();
    const QString creator = log.value(QStringLiteral("creator")).toObject().value(QStringLiteral("name")).toString();
    int socketEntries = 0;
    for (qsizetype e = 0; e < entries.size(); ++e) {
        const QJsonObject entry = entries[e].toObject();
        const QJsonValue messagesValue = entry.value(QStringLiteral("_webSocketMessages"));
        if (!messagesValue.isArray())
            continue;
        ++socketEntries;
        const QJsonArray messages = messagesValue.toArray();
        ImportedSession session;
        session.entryIndex = int(e);
        session.log = std::make_unique<EventLog>();
        const QJsonObject request = entry.value(QStringLiteral("request")).toObject();
        session.header.endpoint = request.value(QStringLiteral("url")).toString();
        const QDateTime started = QDateTime::fromString(entry.value(QStringLiteral("startedDateTime")).toString(), Qt::ISODateWithMs);
        session.header.startedWallMs = started.isValid() ? started.toMSecsSinceEpoch() : 0;
        session.header.tool = QStringLiteral("deltascope %1 (import-har)").arg(QString::fromLatin1(kVersion));
        session.header.source = QStringLiteral("import-har");
        session.header.notes = QStringLiteral("imported from %1, entry %2%3").arg(sourceName).arg(e).arg(
            creator.isEmpty() ? QString() : QStringLiteral(", made by ") + creator);
        const QJsonObject facts = entry.value(QStringLiteral("_deltascope")).toObject();
        session.header.space = facts.value(QStringLiteral("space")).toString();
        session.header.key = facts.value(QStringLiteral("key")).toString();
        SessionBuilder builder(session);
        for (qsizetype m = 0; m < messages.size(); ++m) {
            const QJsonObject message = messages[m].toObject();
            const QString type = message.value(QStringLiteral("type")).toString();
            if (type != QLatin1String("send") && type != QLatin1String("receive")) {
                session.notices << QStringLiteral("entry %1, message %2: type \"%3\" is neither send nor receive; skipped").arg(e).arg(m).arg(type);
                continue;
            }
            const QJsonValue timeValue = message.value(QStringLiteral("time"));
            if (!timeValue.isDouble()) {
                session.notices << QStringLiteral("entry %1, message %2: no numeric \"time\"; skipped").arg(e).arg(m);
                continue;
            }
            // Epoch seconds: nanoseconds since 1970 must fit 64 bits (up to the year 2262).
            constexpr double kLatestSeconds = 9.2e9;
            if (!(timeValue.toDouble() >= 0 && timeValue.toDouble() <= kLatestSeconds)) {
                session.notices << QStringLiteral("entry %1, message %2: \"time\" %3 is not epoch seconds between 1970 and 2262; skipped")
                                       .arg(e)
                                       .arg(m)
                                       .arg(timeValue.toDouble());
                continue;
            }
            const int opcode = message.value(QStringLiteral("opcode")).toInt(1);
            const QString text = message.value(QStringLiteral("data")).toString();
            const bool binary = opcode == 2;
            QByteArray data;
            if (binary) {
                auto decoded = QByteArray::fromBase64Encoding(text.toLatin1());
                data = decoded ? *decoded : text.toUtf8();
            } else {
                data = text.toUtf8();
            }
            if (opcode != 1 && opcode != 2) {
                session.notices << QStringLiteral("entry %1, message %2: opcode %3 (control frame) kept as unknown").arg(e).arg(m).arg(opcode);
            }
            builder.add(type == QLatin1String("send"), timeValue.toDouble(), data, binary);
        }
        if (session.log->isEmpty()) {
            session.notices << QStringLiteral("entry %1 (%2) has no WebSocket messages").arg(e).arg(session.header.endpoint);
        }
        if (!builder.sawHello() && !session.log->isEmpty()) {
            session.header.partial = true;
            session.notices << QStringLiteral("entry %1 has no hello frame: the HAR starts mid-session (browsers keep only the "
                                              "last hundred or so frames of a socket), so the first tree may be partial")
                                   .arg(e);
        }
        if (session.unknownFrames)
            session.notices << QStringLiteral("entry %1: %2 frames are not Adama frames; kept as unknown events").arg(e).arg(session.unknownFrames);
        session.log->flushNotifications();
        result.sessions.push_back(std::move(session));
    }
    if (socketEntries == 0) {
        result.error = QStringLiteral("%1: the HAR has %2 entries but none with WebSocket messages (_webSocketMessages); "
                                      "in Chrome, export with the WS filter on and the socket selected")
                           .arg(sourceName)
                           .arg(entries.size());
        return result;
    }
    result.ok = true;
    return result;
}

HarImportResult importHarFile(const QString& path)
{
    QFile file(path);
    if (!file.open(QIODevice::ReadOnly)) {
        HarImportResult result;
        result.error = QStringLiteral("cannot read %1: %2").arg(path, file.errorString());
        return result;
    }
    if (file.size() > (qint64(1) << 31)) {
        HarImportResult result;
        result.error = QStringLiteral("%1 is %2 bytes; HAR files over 2 GiB are not supported").arg(path).arg(file.size());
        return result;
    }
    return importHar(file.readAll(), QFileInfo(path).fileName());
}

}
