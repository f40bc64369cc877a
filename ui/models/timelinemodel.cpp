#include "ui/models/timelinemodel.h"

#include "core/session/eventlog.h"
#include "ui/models/framesummary.h"

#include <QBrush>
#include <QColor>
#include <QDateTime>
#include <QFont>
#include <QLocale>

namespace deltascope::ui {

TimelineCategory timelineCategory(EventKind kind)
{
    switch (kind) {
    case EventKind::Failure:
    case EventKind::Disconnected:
    case EventKind::MalformedInbound:
    case EventKind::UnknownInbound:
    case EventKind::UnknownOutbound:
        return TimelineCategory::Failure;
    case EventKind::FaultInjected:
        return TimelineCategory::Fault;
    case EventKind::Incident:
        return TimelineCategory::Incident;
    case EventKind::ReconnectPlanned:
        return TimelineCategory::Reconnect;
    case EventKind::FoldAnomaly:
    case EventKind::VersionChanged:
        return TimelineCategory::Anomaly;
    case EventKind::StateChanged:
    case EventKind::EpochStarted:
    case EventKind::Note:
        return TimelineCategory::Lifecycle;
    default:
        return TimelineCategory::Frame;
    }
}

namespace {
// Tints that read on light and dark palettes alike (alpha over the base colour).
QBrush categoryBrush(TimelineCategory category)
{
    static const QBrush failure(QColor(220, 50, 47, 60));
    static const QBrush fault(QColor(203, 75, 22, 80));
    static const QBrush incident(QColor(108, 113, 196, 80));
    static const QBrush reconnect(QColor(181, 137, 0, 70));
    static const QBrush anomaly(QColor(211, 54, 130, 60));
    static const QBrush lifecycle(QColor(38, 139, 210, 40));
    switch (category) {
    case TimelineCategory::Failure:
        return failure;
    case TimelineCategory::Fault:
        return fault;
    case TimelineCategory::Incident:
        return incident;
    case TimelineCategory::Reconnect:
        return reconnect;
    case TimelineCategory::Anomaly:
        return anomaly;
    case TimelineCategory::Lifecycle:
        return lifecycle;
    case TimelineCategory::Frame:
        break;
    }
    return {};
}

QString formatGap(qint64 ns)
{
    if (ns < 0)
        return {};
    if (ns < 1'000'000)
        return QStringLiteral("+%1 µs").arg(ns / 1000);
    if (ns < 10'000'000'000)
        return QStringLiteral("+%1 ms").arg(ns / 1'000'000);
    return QStringLiteral("+%1 s").arg(double(ns) / 1e9, 0, 'f', 1);
}

QString formatSize(quint32 bytes)
{
    if (bytes < 10 * 1024)
        return QStringLiteral("%1 B").arg(bytes);
    if (bytes < 10 * 1024 * 1024)
        return QStringLiteral("%1 KiB").arg(bytes / 1024);
    return QStringLiteral("%1 MiB").arg(bytes / (1024 * 1024));
}

QString directionArrow(Direction direction)
{
    switch (direction) {
    case Direction::Inbound:
        return QStringLiteral("← in");
    case Direction::Outbound:
        return QStringLiteral("→ out");
    case Direction::Local:
        return QStringLiteral("• local");
    }
    return {};
}
}

TimelineModel::TimelineModel(QObject* parent)
    : QAbstractTableModel(parent)
    , m_summaryCache(4096)
{
    m_flushTimer.setSingleShot(true);
    m_flushTimer.setInterval(40);
    connect(&m_flushTimer, &QTimer::timeout, this, &TimelineModel::flushPending);
}

TimelineModel::~TimelineModel() = default;

void TimelineModel::setEventLog(EventLog* log)
{
    if (log == m_log)
        return;
    beginResetModel();
    if (m_log)
        disconnect(m_log, nullptr, this, nullptr);
    m_log = log;
    m_rowCount = log ? int(log->size()) : 0;
    m_current = -1;
    m_summaryCache.clear();
    endResetModel();
    if (m_log) {
        connect(m_log, &EventLog::eventsAppended, this, &TimelineModel::onEventsAppended);
        connect(m_log, &EventLog::eventLinked, this, &TimelineModel::onEventLinked);
        connect(m_log, &EventLog::cleared, this, &TimelineModel::onCleared);
        connect(m_log, &QObject::destroyed, this, [this] { onCleared(); });
    }
}

void TimelineModel::setFlushInterval(int milliseconds)
{
    m_flushTimer.setInterval(std::max(0, milliseconds));
}

void TimelineModel::onEventsAppended(qint64, qint64)
{
    // One timer for all batches: started only when idle, so a fast stream cannot postpone it forever.
    if (!m_flushTimer.isActive())
        m_flushTimer.start();
}

void TimelineModel::flushPending()
{
    m_flushTimer.stop();
    if (!m_log)
        return;
    const auto available = int(std::min<qint64>(m_log->size(), std::numeric_limits<int>::max() - 1));
    if (available <= m_rowCount)
        return;
    beginInsertRows({}, m_rowCount, available - 1);
    m_rowCount = available;
    endInsertRows();
}

void TimelineModel::onEventLinked(qint64 a, qint64 b)
{
    // A link changes the id column's meaning only for the current pair's marks.
    if (a == m_current || b == m_current) {
        emitRowChanged(a, { LinkedToCurrentRole, Qt::FontRole });
        emitRowChanged(b, { LinkedToCurrentRole, Qt::FontRole });
    }
}

void TimelineModel::onCleared()
{
    beginResetModel();
    m_rowCount = 0;
    m_current = -1;
    m_summaryCache.clear();
    if (!m_log)
        m_searchMatches = nullptr;
    endResetModel();
}

int TimelineModel::rowCount(const QModelIndex& parent) const
{
    return parent.isValid() ? 0 : m_rowCount;
}

int TimelineModel::columnCount(const QModelIndex& parent) const
{
    return parent.isValid() ? 0 : ColumnCount;
}

const SessionEvent& TimelineModel::eventAt(int row) const
{
    return m_log->at(row);
}

void TimelineModel::emitRowChanged(qint64 index, const QList<int>& roles)
{
    if (index < 0 || index >= m_rowCount)
        return;
    Q_EMIT dataChanged(this->index(int(index), 0), this->index(int(index), ColumnCount - 1), roles);
}

void TimelineModel::setCurrentEvent(qint64 index)
{
    if (index == m_current)
        return;
    const qint64 oldLinked = (m_log && m_current >= 0 && m_current < m_log->size()) ? m_log->at(m_current).linkedIndex : -1;
    m_current = index;
    const qint64 newLinked = (m_log && index >= 0 && index < m_log->size()) ? m_log->at(index).linkedIndex : -1;
    emitRowChanged(oldLinked, { LinkedToCurrentRole, Qt::FontRole });
    emitRowChanged(newLinked, { LinkedToCurrentRole, Qt::FontRole });
}

void TimelineModel::setSearchMatches(const std::vector<bool>* matches)
{
    m_searchMatches = matches;
    if (m_rowCount > 0)
        Q_EMIT dataChanged(index(0, 0), index(m_rowCount - 1, ColumnCount - 1), { SearchMatchRole });
}

void TimelineModel::searchMatchesChanged(qint64 first, qint64 last)
{
    // One bounding rectangle per search batch, not one signal per match.
    last = std::min<qint64>(last, m_rowCount - 1);
    if (first < 0 || first > last)
        return;
    Q_EMIT dataChanged(index(int(first), 0), index(int(last), ColumnCount - 1), { SearchMatchRole });
}

QString TimelineModel::summary(qint64 index) const
{
    if (!m_log || index < 0 || index >= m_log->size())
        return {};
    if (const QString* cached = m_summaryCache.object(index))
        return *cached;
    auto* text = new QString(computeSummary(index));
    const QString result = *text;
    m_summaryCache.insert(index, text);
    return result;
}

QString TimelineModel::computeSummary(qint64 index) const
{
    const SessionEvent& event = m_log->at(index);
    return summarizeFrame(event.kind, m_log->payload(index), m_log->method(index));
}

QString TimelineModel::localClockText(qint64 wallMs) const
{
    constexpr qint64 kQuarterHourMs = 15 * 60 * 1000;
    const qint64 quarter = wallMs >= 0 ? wallMs / kQuarterHourMs : (wallMs - kQuarterHourMs + 1) / kQuarterHourMs;
    if (quarter != m_offsetQuarter) {
        m_offsetQuarter = quarter;
        m_offsetSeconds = QDateTime::fromMSecsSinceEpoch(quarter * kQuarterHourMs).offsetFromUtc();
    }
    return QDateTime::fromMSecsSinceEpoch(wallMs + qint64(m_offsetSeconds) * 1000, Qt::UTC).toString(QStringLiteral("HH:mm:ss.zzz"));
}

QVariant TimelineModel::data(const QModelIndex& index, int role) const
{
    if (!checkIndex(index, CheckIndexOption::IndexIsValid | CheckIndexOption::ParentIsInvalid) || !m_log)
        return {};
    const int row = index.row();
    const SessionEvent& event = m_log->at(row);
    switch (role) {
    case Qt::DisplayRole:
        switch (index.column()) {
        case TimeColumn:
            return localClockText(event.wallMs);
        case GapColumn:
            return row == 0 ? QString() : formatGap(event.monotonicNs - m_log->at(row - 1).monotonicNs);
        case DirectionColumn:
            return directionArrow(event.direction);
        case KindColumn:
            return eventKindName(event.kind);
        case IdColumn: {
            QString text;
            if (event.requestId >= 0)
                text = QStringLiteral("id %1").arg(event.requestId);
            if (event.seq >= 0)
                text += (text.isEmpty() ? QString() : QStringLiteral(" · ")) + QStringLiteral("seq %1").arg(event.seq);
            return text;
        }
        case MethodColumn:
            return m_log->method(row);
        case SizeColumn:
            return formatSize(event.payload.size);
        case SummaryColumn:
            return summary(row);
        }
        return {};
    case Qt::ToolTipRole:
        if (index.column() == TimeColumn)
            return tr("%1 ms after the session started, epoch %2").arg(double(event.monotonicNs) / 1e6, 0, 'f', 3).arg(event.epoch);
        if (index.column() == SummaryColumn)
            return summary(row);
        if (index.column() == SizeColumn)
            return tr("%1 bytes").arg(QLocale().toString(event.payload.size));
        // The other columns are narrow at 1024 px ("conne…"): hovering reads a cut cell whole.
        return data(index, Qt::DisplayRole);
    case Qt::TextAlignmentRole:
        if (index.column() == GapColumn || index.column() == SizeColumn)
            return QVariant::fromValue(Qt::AlignRight | Qt::AlignVCenter);
        return {};
    case Qt::BackgroundRole:
        return categoryBrush(timelineCategory(event.kind));
    case Qt::FontRole:
        if (m_current >= 0 && event.linkedIndex == m_current) {
            QFont font;
            font.setBold(true);
            return font;
        }
        return {};
    case SortRole:
        switch (index.column()) {
        case TimeColumn:
        case GapColumn:
            return event.monotonicNs;
        case SizeColumn:
            return event.payload.size;
        case IdColumn:
            return event.requestId >= 0 ? event.requestId : event.seq;
        default:
            return data(index, Qt::DisplayRole);
        }
    case EventIndexRole:
        return event.index;
    case DirectionRole:
        return int(event.direction);
    case KindRole:
        return int(event.kind);
    case EpochRole:
        return event.epoch;
    case MethodRole:
        return m_log->method(row);
    case LinkedIndexRole:
        return event.linkedIndex;
    case MonotonicNsRole:
        return event.monotonicNs;
    case CategoryRole:
        return int(timelineCategory(event.kind));
    case LinkedToCurrentRole:
        return m_current >= 0 && event.linkedIndex == m_current;
    case SearchMatchRole:
        return m_searchMatches && std::size_t(row) < m_searchMatches->size() && (*m_searchMatches)[std::size_t(row)];
    }
    return {};
}

QVariant TimelineModel::headerData(int section, Qt::Orientation orientation, int role) const
{
    if (orientation != Qt::Horizontal)
        return {};
    if (role == Qt::ToolTipRole) {
        switch (section) {
        case TimeColumn:
            return tr("Local time the event was recorded");
        case GapColumn:
            return tr("Time since the previous event of the session, shown or filtered out (as a capture's frame-to-frame delta)");
        case DirectionColumn:
            return tr("\u2190 in: from the server; \u2192 out: from the client; \u2022 local: the client's own events (states, faults, anomalies)");
        case KindColumn:
            return tr("What the event is: a frame's kind, or a local event's");
        case IdColumn:
            return tr("The request id a frame answers or belongs to, and a stream item's seq");
        case MethodColumn:
            return tr("The request's method, and a send's channel");
        case SizeColumn:
            return tr("Bytes of the frame's text (a local event: of its JSON record)");
        case SummaryColumn:
            return tr("The frame in brief; the Frame detail pane below shows all of it");
        }
        return {};
    }
    if (role != Qt::DisplayRole)
        return {};
    switch (section) {
    case TimeColumn:
        return tr("Time");
    case GapColumn:
        return tr("Gap");
    case DirectionColumn:
        return tr("Dir");
    case KindColumn:
        return tr("Kind");
    case IdColumn:
        return tr("Id / seq");
    case MethodColumn:
        return tr("Method / channel");
    case SizeColumn:
        return tr("Size");
    case SummaryColumn:
        return tr("Summary");
    }
    return {};
}

}
