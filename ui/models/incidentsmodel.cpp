#include "ui/models/incidentsmodel.h"

#include <QBrush>
#include <QColor>
#include <QFont>
#include <QJsonDocument>

#include <limits>

namespace deltascope::ui {

IncidentsModel::IncidentsModel(QObject* parent)
    : QAbstractTableModel(parent)
{
}

void IncidentsModel::setEventLog(EventLog* log)
{
    beginResetModel();
    if (m_log)
        disconnect(m_log, nullptr, this, nullptr);
    m_log = log;
    m_rows.clear();
    m_openNumber = 0;
    endResetModel();
    if (m_log) {
        connect(m_log, &EventLog::eventsAppended, this, &IncidentsModel::sync);
        connect(m_log, &EventLog::cleared, this, [this] { setEventLog(m_log); });
        connect(m_log, &QObject::destroyed, this, [this] {
            beginResetModel();
            m_rows.clear();
            m_openNumber = 0;
            endResetModel();
        });
        sync();
    }
}

void IncidentsModel::sync()
{
    if (!m_log)
        return;
    const std::vector<qint64>& incidents = m_log->indexesOfKind(EventKind::Incident);
    if (incidents.size() <= m_rows.size())
        return;
    beginInsertRows({}, int(m_rows.size()), int(incidents.size()) - 1);
    for (std::size_t i = m_rows.size(); i < incidents.size(); ++i)
        m_rows.push_back({ incidents[i], QJsonDocument::fromJson(m_log->payload(incidents[i])).object() });
    endInsertRows();
}

void IncidentsModel::setOpenIncident(int number, const QString& trigger)
{
    if (m_openNumber) {
        m_openNumber = number;
        m_openTrigger = trigger;
        Q_EMIT dataChanged(index(int(m_rows.size()), 0), index(int(m_rows.size()), ColumnCount - 1));
        return;
    }
    beginInsertRows({}, int(m_rows.size()), int(m_rows.size()));
    m_openNumber = number;
    m_openTrigger = trigger;
    endInsertRows();
}

void IncidentsModel::clearOpenIncident()
{
    if (!m_openNumber)
        return;
    beginRemoveRows({}, int(m_rows.size()), int(m_rows.size()));
    m_openNumber = 0;
    m_openTrigger.clear();
    endRemoveRows();
}

int IncidentsModel::rowCount(const QModelIndex& parent) const
{
    return parent.isValid() ? 0 : int(m_rows.size()) + (m_openNumber ? 1 : 0);
}

int IncidentsModel::columnCount(const QModelIndex& parent) const
{
    return parent.isValid() ? 0 : ColumnCount;
}

QVariant IncidentsModel::data(const QModelIndex& index, int role) const
{
    if (!checkIndex(index, CheckIndexOption::IndexIsValid | CheckIndexOption::ParentIsInvalid))
        return {};
    if (std::size_t(index.row()) == m_rows.size())
        return openIncidentData(index, role);
    const Row& row = m_rows[std::size_t(index.row())];
    const QJsonObject& report = row.report;
    const auto ms = [](const QJsonValue& value) { return value.isDouble() ? QStringLiteral("%1 ms").arg(qRound64(value.toDouble())) : QStringLiteral("–"); };
    const QString verdict = report.value(u"verdict").toString();
    switch (role) {
    case Qt::DisplayRole:
        switch (index.column()) {
        case NumberColumn:
            return QStringLiteral("#%1").arg(report.value(u"incident").toInt());
        case VerdictColumn:
            return report.value(u"verified").toBool() || verdict.isEmpty() ? verdict : verdict + tr(" (unverified)");
        case TriggerColumn:
            return report.value(u"trigger").toString();
        case DetectedColumn:
            return ms(report.value(u"detection").toObject().value(u"afterMs"));
        case ConvergedColumn:
            return ms(report.value(u"timeToConvergeMs"));
        case RefetchColumn: {
            const QJsonObject resync = report.value(u"resync").toObject();
            const qint64 frames = resync.value(u"framesRefetched").toInteger();
            const qint64 bytes = resync.value(u"bytesRefetched").toInteger();
            return frames == 1 ? tr("1 frame, %1 B").arg(bytes) : tr("%1 frames, %2 B").arg(frames).arg(bytes);
        }
        case StaleColumn:
            return report.value(u"staleCount").toInt();
        }
        return {};
    case Qt::BackgroundRole:
        if (index.column() == VerdictColumn) {
            if (verdict == u"converged")
                return QBrush(QColor(133, 153, 0, 70));
            if (verdict == u"converged-stale")
                return QBrush(QColor(181, 137, 0, 80));
            return QBrush(QColor(220, 50, 47, 80));
        }
        return {};
    case Qt::ToolTipRole: {
        // The timings the narrow pane may not show without scrolling, on every cell.
        const QJsonObject detection = report.value(u"detection").toObject();
        const QJsonObject resync = report.value(u"resync").toObject();
        return tr("detected after %1 by %2 (%3)\nconverged after %4\nrefetched %5 frame(s), %6 B; %7 stale path(s)")
            .arg(ms(detection.value(u"afterMs")), detection.value(u"how").toString(QStringLiteral("–")), detection.value(u"reason").toString(),
                ms(report.value(u"timeToConvergeMs")), QString::number(resync.value(u"framesRefetched").toInteger()),
                QString::number(resync.value(u"bytesRefetched").toInteger()), QString::number(report.value(u"staleCount").toInt()));
    }
    case SortRole:
        // Numbers where the cell shows one ("100 ms" after "12 ms"); a missing time sorts last.
        switch (index.column()) {
        case NumberColumn:
            return report.value(u"incident").toInt();
        case DetectedColumn:
            return report.value(u"detection").toObject().value(u"afterMs").toDouble(std::numeric_limits<double>::max());
        case ConvergedColumn:
            return report.value(u"timeToConvergeMs").toDouble(std::numeric_limits<double>::max());
        case RefetchColumn:
            return report.value(u"resync").toObject().value(u"bytesRefetched").toInteger();
        case StaleColumn:
            return report.value(u"staleCount").toInt();
        default:
            return data(index, Qt::DisplayRole);
        }
    case EventIndexRole:
        return row.event;
    case VerdictRole:
        return verdict;
    case ReportRole:
        return report;
    }
    return {};
}

QVariant IncidentsModel::openIncidentData(const QModelIndex& index, int role) const
{
    switch (role) {
    case Qt::DisplayRole:
        switch (index.column()) {
        case NumberColumn:
            return QStringLiteral("#%1").arg(m_openNumber);
        case VerdictColumn:
            return tr("in progress");
        case TriggerColumn:
            return m_openTrigger;
        default:
            return QStringLiteral("–");
        }
    case Qt::ToolTipRole:
        return tr("Still open: the verdict comes once the client has recovered and its document was checked "
                  "against the truth, or when the session ends.");
    case Qt::FontRole: {
        QFont font;
        font.setItalic(true);
        return font;
    }
    case SortRole:
        return index.column() == NumberColumn ? QVariant(m_openNumber) : data(index, Qt::DisplayRole);
    case EventIndexRole:
        return qint64(-1);
    case VerdictRole:
        return QStringLiteral("in-progress");
    case ReportRole:
        return QJsonObject {};
    }
    return {};
}

QVariant IncidentsModel::headerData(int section, Qt::Orientation orientation, int role) const
{
    if (orientation != Qt::Horizontal)
        return {};
    // Short headers, as the pane is narrow ("Detected aft…" said nothing); the tooltip says it whole.
    if (role == Qt::ToolTipRole) {
        switch (section) {
        case NumberColumn:
            return tr("The incident's number in this session");
        case VerdictColumn:
            return tr("converged, converged-stale, diverged or gave up, checked against a fresh snapshot");
        case TriggerColumn:
            return tr("What broke the stream: the fault or the lost connection");
        case DetectedColumn:
            return tr("Detected after: from the fault to the client noticing it");
        case ConvergedColumn:
            return tr("Converged after: from the fault to the client's tree matching the server's again");
        case RefetchColumn:
            return tr("What the client fetched again to recover: frames and bytes");
        case StaleColumn:
            return tr("Paths a merging client (the reference one) still shows from before the incident");
        }
        return {};
    }
    if (role != Qt::DisplayRole)
        return {};
    switch (section) {
    case NumberColumn:
        return tr("#");
    case VerdictColumn:
        return tr("Verdict");
    case TriggerColumn:
        return tr("Trigger");
    case DetectedColumn:
        return tr("Detected");
    case ConvergedColumn:
        return tr("Converged");
    case RefetchColumn:
        return tr("Refetched");
    case StaleColumn:
        return tr("Stale");
    }
    return {};
}

}
