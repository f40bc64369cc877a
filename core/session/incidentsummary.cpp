#include "core/session/incidentsummary.h"

#include <QJsonArray>
#include <QJsonDocument>

namespace deltascope {

namespace {

constexpr qsizetype kListedPaths = 8;

QString ms(const QJsonValue& value)
{
    if (!value.isDouble())
        return QStringLiteral("?");
    const double number = value.toDouble();
    return number >= 10000 ? QStringLiteral("%1 s").arg(number / 1000.0, 0, 'f', 2) : QStringLiteral("%1 ms").arg(number, 0, 'f', number < 10 ? 1 : 0);
}

QString paths(const QJsonArray& list, qint64 total)
{
    QStringList shown;
    for (qsizetype i = 0; i < list.size() && i < kListedPaths; ++i)
        shown << QLatin1Char('/') + list.at(i).toString();
    QString text = shown.join(QStringLiteral(", "));
    if (total > shown.size())
        text += QStringLiteral(" and %1 more").arg(total - shown.size());
    return text;
}

QString compact(const QJsonObject& object)
{
    return object.isEmpty() ? QString() : QString::fromUtf8(QJsonDocument(object).toJson(QJsonDocument::Compact));
}

}

QStringList incidentSummaryLines(const QJsonObject& report)
{
    QStringList lines;
    const QString verdict = report.value(QLatin1String("verdict")).toString();
    const bool verified = report.value(QLatin1String("verified")).toBool();
    lines << QStringLiteral("Verdict: %1 (%2)")
                 .arg(verdict.isEmpty() ? QStringLiteral("open") : verdict,
                     verified ? QStringLiteral("checked against a fresh snapshot over a second connection")
                              : QStringLiteral("not checked against the truth: judged from the stream alone"));
    lines << QStringLiteral("Trigger: %1, at event %2")
                 .arg(report.value(QLatin1String("trigger")).toString())
                 .arg(report.value(QLatin1String("openedAtEvent")).toInteger());
    if (report.value(QLatin1String("corrupting")).toBool())
        lines << QStringLiteral("A fault corrupted the client's tree silently (nothing on the wire says so).");

    for (const QJsonValue& value : report.value(QLatin1String("faults")).toArray()) {
        const QJsonObject fault = value.toObject();
        QString line = QStringLiteral("Fault %1 at +%2").arg(fault.value(QLatin1String("fault")).toString(), ms(fault.value(QLatin1String("atMs"))));
        const QString params = compact(fault.value(QLatin1String("params")).toObject());
        if (!params.isEmpty())
            line += QLatin1Char(' ') + params;
        const QString detail = fault.value(QLatin1String("detail")).toString();
        if (!detail.isEmpty())
            line += QStringLiteral(": ") + detail;
        lines << line;
    }

    const QJsonObject detection = report.value(QLatin1String("detection")).toObject();
    if (detection.value(QLatin1String("afterMs")).isDouble())
        lines << QStringLiteral("Noticed by the client after %1, by %2%3")
                     .arg(ms(detection.value(QLatin1String("afterMs"))), detection.value(QLatin1String("how")).toString(),
                         detection.value(QLatin1String("reason")).toString().isEmpty()
                             ? QString()
                             : QStringLiteral(" (%1)").arg(detection.value(QLatin1String("reason")).toString()));
    else
        lines << QStringLiteral("The client never noticed anything wrong.");

    const QJsonArray reconnects = report.value(QLatin1String("reconnects")).toArray();
    for (const QJsonValue& value : reconnects) {
        const QJsonObject attempt = value.toObject();
        // The client retries at two layers (adama-wire.md 7): the socket, and the stream on it.
        const QString layer = attempt.value(QLatin1String("layer")).toString();
        lines << QStringLiteral("%1 attempt %2 planned at +%3, after a %4 delay (%5 policy, %6)")
                     .arg(layer == QLatin1String("socket") ? QStringLiteral("Socket reconnect")
                             : layer == QLatin1String("stream") ? QStringLiteral("Stream retry")
                                                                : QStringLiteral("Reconnect"))
                     .arg(attempt.value(QLatin1String("attempt")).toInteger())
                     .arg(ms(attempt.value(QLatin1String("atMs"))), ms(attempt.value(QLatin1String("delayMs"))),
                         attempt.value(QLatin1String("policy")).toString(), attempt.value(QLatin1String("reason")).toString());
    }

    const QJsonObject resync = report.value(QLatin1String("resync")).toObject();
    if (resync.value(QLatin1String("newStreamAfterMs")).isDouble()) {
        lines << QStringLiteral("New stream after %1 (epoch %2 to %3)")
                     .arg(ms(resync.value(QLatin1String("newStreamAfterMs"))))
                     .arg(resync.value(QLatin1String("epochBefore")).toInteger())
                     .arg(resync.value(QLatin1String("epochAfter")).toInteger());
    }
    if (resync.value(QLatin1String("snapshotAfterMs")).isDouble()) {
        // Reports before seqs became null where absent said -1.
        const auto seqText = [](const QJsonValue& seq) {
            return seq.isDouble() && seq.toInteger() >= 0 ? QStringLiteral("seq %1").arg(seq.toInteger()) : QStringLiteral("no seq");
        };
        lines << QStringLiteral("New snapshot after %1 at %2 (the client had reached %3); re-fetched %4 bytes in %5 frames")
                     .arg(ms(resync.value(QLatin1String("snapshotAfterMs"))), seqText(resync.value(QLatin1String("snapshotSeq"))),
                         seqText(resync.value(QLatin1String("seqBefore"))))
                     .arg(resync.value(QLatin1String("bytesRefetched")).toInteger())
                     .arg(resync.value(QLatin1String("framesRefetched")).toInteger());
    }
    if (report.value(QLatin1String("timeToConvergeMs")).isDouble())
        lines << QStringLiteral("Time to converge: %1").arg(ms(report.value(QLatin1String("timeToConvergeMs"))));

    const QJsonObject away = report.value(QLatin1String("changedWhileAway")).toObject();
    if (!away.isEmpty()) {
        const QJsonObject counts = away.value(QLatin1String("counts")).toObject();
        const qint64 added = counts.value(QLatin1String("added")).toInteger();
        const qint64 removed = counts.value(QLatin1String("removed")).toInteger();
        const qint64 changed = counts.value(QLatin1String("changed")).toInteger();
        const qint64 moved = counts.value(QLatin1String("moved")).toInteger();
        if (added + removed + changed + moved == 0) {
            lines << QStringLiteral("Changed while away: nothing");
        } else {
            lines << QStringLiteral("Changed while away: %1 added, %2 removed, %3 changed, %4 moved").arg(added).arg(removed).arg(changed).arg(moved);
            for (const auto& [key, total] : { std::pair { QLatin1String("added"), added }, std::pair { QLatin1String("removed"), removed },
                     std::pair { QLatin1String("changed"), changed } }) {
                if (total > 0)
                    lines << QStringLiteral("  %1: %2").arg(key, paths(away.value(key).toArray(), total));
            }
        }
    }
    if (report.contains(QLatin1String("staleCount"))) {
        const qint64 stale = report.value(QLatin1String("staleCount")).toInteger();
        // Measured when the incident closed, so later than a resync's own comparison: value lists
        // edited without @s since then differ too.
        lines << (stale == 0 ? QStringLiteral("When the incident closed, stale paths in a merging client: none")
                             : QStringLiteral("When the incident closed, stale paths a merging client (the reference JS client) still shows: %1")
                                   .arg(paths(report.value(QLatin1String("stalePaths")).toArray(), stale)));
    }
    if (const qint64 quirk = report.value(QLatin1String("quirkStaleCount")).toInteger(); quirk > 0)
        lines << QStringLiteral("Apart from this incident, the reference JS client shows %1 stale value(s) in value lists the server edits "
                                "without @s, as it does all along: %2")
                     .arg(quirk)
                     .arg(paths(report.value(QLatin1String("quirkStalePaths")).toArray(), quirk));

    const QJsonObject comparison = report.value(QLatin1String("comparison")).toObject();
    if (comparison.contains(QLatin1String("equal"))) {
        const bool equal = comparison.value(QLatin1String("equal")).toBool();
        QString line = QStringLiteral("Fresh snapshot at seq %1 vs. the client's tree at seq %2: %3")
                           .arg(comparison.value(QLatin1String("truthSeq")).toInteger())
                           .arg(comparison.value(QLatin1String("clientSeq")).toInteger())
                           .arg(equal ? QStringLiteral("equal") : QStringLiteral("DIFFERENT"));
        if (!equal) {
            const QJsonObject differences = comparison.value(QLatin1String("differences")).toObject();
            const QJsonObject counts = differences.value(QLatin1String("counts")).toObject();
            QStringList all;
            for (const QLatin1String key : { QLatin1String("added"), QLatin1String("removed"), QLatin1String("changed") })
                for (const QJsonValue& path : differences.value(key).toArray())
                    all << path.toString();
            const qint64 total = counts.value(QLatin1String("added")).toInteger() + counts.value(QLatin1String("removed")).toInteger()
                + counts.value(QLatin1String("changed")).toInteger();
            line += QStringLiteral(" (%1)").arg(paths(QJsonArray::fromStringList(all), std::max<qint64>(total, all.size())));
        }
        lines << line;
    } else if (comparison.contains(QLatin1String("error"))) {
        lines << QStringLiteral("The truth check failed: %1").arg(comparison.value(QLatin1String("error")).toString());
    } else if (comparison.contains(QLatin1String("note"))) {
        lines << comparison.value(QLatin1String("note")).toString();
    }

    for (const QJsonValue& value : report.value(QLatin1String("inFlight")).toObject().value(QLatin1String("sends")).toArray()) {
        const QJsonObject send = value.toObject();
        lines << QStringLiteral("Send %1 (%2) in flight: applied %3, %4")
                     .arg(send.value(QLatin1String("requestId")).toInteger())
                     .arg(send.value(QLatin1String("method")).toString(), send.value(QLatin1String("applied")).toVariant().toString(),
                         send.value(QLatin1String("why")).toString());
    }

    const QJsonObject version = report.value(QLatin1String("version")).toObject();
    if (version.value(QLatin1String("mismatch")).toBool())
        lines << QStringLiteral("Version mismatch: the session started with %1, the server now says %2")
                     .arg(version.value(QLatin1String("sessionVersion")).toString(), version.value(QLatin1String("after")).toString());
    if (version.value(QLatin1String("reload")).toBool())
        lines << QStringLiteral("The server sent a reload item: clients are asked to reload.");

    for (const QJsonValue& note : report.value(QLatin1String("notes")).toArray())
        lines << QStringLiteral("Note: %1").arg(note.toString());
    if (const qint64 more = report.value(QLatin1String("notesNotListed")).toInteger(); more > 0)
        lines << QStringLiteral("(%1 more notes not listed)").arg(more);
    return lines;
}

}
