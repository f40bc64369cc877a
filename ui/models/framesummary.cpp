#include "ui/models/framesummary.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QJsonParseError>

namespace deltascope::ui {

namespace {
constexpr qsizetype kSummaryParseLimit = 256 * 1024; // bigger frames: summarized by size, not parsed, to keep views fluid
constexpr int kSummaryChars = 160;

// Identity tokens (JWTs, anonymous:/cookie: names) are secrets: never shown in summaries or detail.
void maskIdentities(QJsonObject& object)
{
    for (auto it = object.begin(); it != object.end(); ++it) {
        if (it.key() == u"identity" && it.value().isString())
            it.value() = QStringLiteral("••••••");
        else if (it.value().isObject()) {
            QJsonObject inner = it.value().toObject();
            maskIdentities(inner);
            it.value() = inner;
        }
    }
}

QString textPreview(const QByteArray& payload)
{
    QString text = QString::fromUtf8(payload.left(kSummaryChars)).simplified();
    if (payload.size() > kSummaryChars)
        text += QStringLiteral("…");
    return text;
}

QString keysPreview(const QJsonObject& object, int maxKeys)
{
    QStringList keys = object.keys();
    const int total = int(keys.size());
    if (total > maxKeys) {
        keys = keys.mid(0, maxKeys);
        keys.append(QStringLiteral("+%1").arg(total - maxKeys));
    }
    return keys.join(QStringLiteral(", "));
}

QString streamItemSummary(const QJsonObject& frame)
{
    const QJsonObject delta = frame.value(u"response").toObject().value(u"delta").toObject();
    QStringList parts;
    if (delta.contains(u"seq"))
        parts.append(QStringLiteral("seq %1").arg(delta.value(u"seq").toVariant().toLongLong()));
    if (delta.contains(u"data")) {
        const QJsonValue data = delta.value(u"data");
        parts.append(data.isObject() ? QStringLiteral("data: ") + keysPreview(data.toObject(), 6) : QStringLiteral("data (not an object)"));
    }
    if (delta.contains(u"outstanding"))
        parts.append(QStringLiteral("outstanding %1").arg(delta.value(u"outstanding").toArray().size()));
    if (delta.contains(u"blockers"))
        parts.append(QStringLiteral("blockers %1").arg(delta.value(u"blockers").toArray().size()));
    for (const char* key : { "view-state-filter", "viewstate", "goto", "viewport", "force-disconnect", "reload" }) {
        if (delta.contains(QLatin1String(key)))
            parts.append(QLatin1String(key));
    }
    if (delta.contains(u"log"))
        parts.append(QStringLiteral("log: ") + delta.value(u"log").toString().left(60));
    if (parts.isEmpty())
        return QStringLiteral("empty item");
    return parts.join(QStringLiteral(" · "));
}

QString localSummary(EventKind kind, const QJsonObject& fields)
{
    const auto str = [&fields](const char* key) { return fields.value(QLatin1String(key)).toVariant().toString(); };
    switch (kind) {
    case EventKind::StateChanged: {
        QString text = str("from") + QStringLiteral(" → ") + str("to");
        if (!str("reason").isEmpty())
            text += QStringLiteral(" (") + str("reason") + QStringLiteral(")");
        return text;
    }
    case EventKind::ReconnectPlanned:
        return QStringLiteral("reconnect in %1 ms, attempt %2").arg(str("delayMs"), str("attempt"))
            + (str("policy").isEmpty() ? QString() : QStringLiteral(" (") + str("policy") + QStringLiteral(")"));
    case EventKind::EpochStarted:
        return QStringLiteral("epoch %1 begins (connection/create id %2)").arg(str("epoch"), str("requestId"));
    case EventKind::FoldAnomaly:
        return str("anomaly") + QStringLiteral(" at /") + str("path") + QStringLiteral(": ") + str("message");
    case EventKind::FaultInjected:
        return QStringLiteral("fault: ") + str("fault") + QLatin1Char(' ') + compactJson(fields.value(u"params"), 80)
            + (fields.value(u"corrupting").toBool() ? QStringLiteral(" (corrupts the tree)") : QString());
    case EventKind::VersionChanged:
        return QStringLiteral("server version %1 → %2").arg(str("from"), str("to"));
    case EventKind::Incident:
        if (fields.contains(u"verdict"))
            return QStringLiteral("incident: ") + str("verdict") + QStringLiteral(" · ") + compactJson(fields, kSummaryChars);
        return QStringLiteral("incident ") + compactJson(fields, kSummaryChars);
    case EventKind::Note:
        return fields.contains(u"text") ? str("text") : compactJson(fields, kSummaryChars);
    default:
        return compactJson(fields, kSummaryChars);
    }
}
}

QString compactJson(const QJsonValue& value, int maxChars)
{
    QString text;
    if (value.isObject())
        text = QString::fromUtf8(QJsonDocument(value.toObject()).toJson(QJsonDocument::Compact));
    else if (value.isArray())
        text = QString::fromUtf8(QJsonDocument(value.toArray()).toJson(QJsonDocument::Compact));
    else if (value.isString())
        text = QLatin1Char('"') + value.toString() + QLatin1Char('"');
    else if (!value.isUndefined())
        text = value.toVariant().toString();
    if (value.isNull())
        text = QStringLiteral("null");
    if (text.size() > maxChars)
        text = text.left(maxChars) + QStringLiteral("…");
    return text;
}

QString summarizeFrame(EventKind kind, const QByteArray& payload, const QString& method)
{
    if (kind == EventKind::MalformedInbound)
        return QStringLiteral("malformed: ") + textPreview(payload);
    if (payload.size() > kSummaryParseLimit)
        return QStringLiteral("large frame (%1 KiB): ").arg(payload.size() / 1024) + textPreview(payload);
    QJsonParseError error;
    const QJsonDocument document = QJsonDocument::fromJson(payload, &error);
    if (error.error != QJsonParseError::NoError || !document.isObject()) {
        if (kind == EventKind::Note)
            return textPreview(payload);
        return QStringLiteral("not JSON: ") + textPreview(payload);
    }
    QJsonObject frame = document.object();
    maskIdentities(frame);
    switch (kind) {
    case EventKind::Hello:
        return frame.value(u"status").toString() + QStringLiteral(" · version ") + frame.value(u"version").toString();
    case EventKind::Ping:
        return QStringLiteral("ping %1 · latency %2 ms").arg(frame.value(u"ping").toVariant().toString(), frame.value(u"latency").toVariant().toString());
    case EventKind::Pong:
        return QStringLiteral("pong %1").arg(frame.value(u"ping").toVariant().toString());
    case EventKind::StreamItem:
        return streamItemSummary(frame);
    case EventKind::Response:
        return QStringLiteral("done ") + compactJson(frame.value(u"response"), kSummaryChars);
    case EventKind::StreamDone:
        return QStringLiteral("stream done");
    case EventKind::Failure:
        if (!frame.contains(u"reason"))
            return QStringLiteral("failure without a code (the client's own, e.g. socket lost)")
                + (frame.value(u"retry").toBool() ? QStringLiteral(" · retryable") : QString());
        return QStringLiteral("failure %1%2").arg(frame.value(u"reason").toVariant().toString(),
            frame.value(u"retry").toBool() ? QStringLiteral(" · retryable") : QStringLiteral(" · not retryable"));
    case EventKind::Disconnected:
        return QStringLiteral("disconnected: ") + frame.value(u"reason").toVariant().toString();
    case EventKind::Request: {
        frame.remove(QStringLiteral("method"));
        frame.remove(QStringLiteral("id"));
        return (method.isEmpty() ? frame.value(u"method").toString() : method) + QLatin1Char(' ') + compactJson(frame, kSummaryChars);
    }
    case EventKind::UnknownInbound:
    case EventKind::UnknownOutbound:
        return QStringLiteral("unrecognized: ") + compactJson(frame, kSummaryChars);
    default:
        return localSummary(kind, frame);
    }
}

QString prettyFrame(const QByteArray& payload, QString* parseError)
{
    QJsonParseError error;
    const QJsonDocument document = QJsonDocument::fromJson(payload, &error);
    if (error.error != QJsonParseError::NoError) {
        if (parseError)
            *parseError = QStringLiteral("not JSON (%1 at byte %2)").arg(error.errorString()).arg(error.offset);
        return QString::fromUtf8(payload);
    }
    if (document.isObject()) {
        QJsonObject object = document.object();
        maskIdentities(object);
        return QString::fromUtf8(QJsonDocument(object).toJson(QJsonDocument::Indented));
    }
    return QString::fromUtf8(document.toJson(QJsonDocument::Indented));
}

}
