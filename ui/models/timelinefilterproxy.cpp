#include "ui/models/timelinefilterproxy.h"

#include "core/session/eventlog.h"
#include "ui/models/timelinemodel.h"

namespace deltascope::ui {

namespace {
constexpr quint32 kAllKinds = (1u << quint32(EventKind::Count_)) - 1;
}

TimelineFilterProxy::TimelineFilterProxy(QObject* parent)
    : QSortFilterProxyModel(parent)
{
    setSortRole(TimelineModel::SortRole);
    // Log order is the order; sorting a live million-row log on every batch would be wasted work.
    setDynamicSortFilter(true);
}

void TimelineFilterProxy::setSourceModel(QAbstractItemModel* model)
{
    m_timeline = qobject_cast<TimelineModel*>(model);
    QSortFilterProxyModel::setSourceModel(model);
}

void TimelineFilterProxy::refilter()
{
    invalidateRowsFilter();
    Q_EMIT filterChanged();
}

void TimelineFilterProxy::setDirectionEnabled(Direction direction, bool enabled)
{
    const quint8 bit = quint8(1u << quint8(direction));
    const quint8 next = enabled ? (m_directions | bit) : (m_directions & ~bit);
    if (next == m_directions)
        return;
    m_directions = next;
    refilter();
}

bool TimelineFilterProxy::isDirectionEnabled(Direction direction) const
{
    return m_directions & (1u << quint8(direction));
}

void TimelineFilterProxy::setKindEnabled(EventKind kind, bool enabled)
{
    const quint32 bit = 1u << quint32(kind);
    const quint32 next = enabled ? (m_kinds | bit) : (m_kinds & ~bit);
    if (next == m_kinds)
        return;
    m_kinds = next;
    refilter();
}

bool TimelineFilterProxy::isKindEnabled(EventKind kind) const
{
    return m_kinds & (1u << quint32(kind));
}

void TimelineFilterProxy::setAllKindsEnabled(bool enabled)
{
    const quint32 next = enabled ? kAllKinds : 0;
    if (next == m_kinds)
        return;
    m_kinds = next;
    refilter();
}

void TimelineFilterProxy::setMethodFilter(const QString& text)
{
    const QString trimmed = text.trimmed();
    if (trimmed == m_method)
        return;
    m_method = trimmed;
    refilter();
}

void TimelineFilterProxy::setEpochFilter(qint64 epoch)
{
    if (epoch < -1)
        epoch = -1;
    if (epoch == m_epoch)
        return;
    m_epoch = epoch;
    refilter();
}

void TimelineFilterProxy::setMatchesOnly(const std::vector<bool>* matches)
{
    if (matches == m_matchesOnly)
        return;
    m_matchesOnly = matches;
    refilter();
}

bool TimelineFilterProxy::isFiltering() const
{
    return m_directions != 0b111 || m_kinds != kAllKinds || !m_method.isEmpty() || m_epoch >= 0 || m_matchesOnly;
}

bool TimelineFilterProxy::filterAcceptsRow(int sourceRow, const QModelIndex& sourceParent) const
{
    if (sourceParent.isValid() || !m_timeline || !m_timeline->eventLog())
        return false;
    const SessionEvent& event = m_timeline->eventAt(sourceRow);
    if (!(m_directions & (1u << quint8(event.direction))))
        return false;
    if (!(m_kinds & (1u << quint32(event.kind))))
        return false;
    if (m_epoch >= 0 && qint64(event.epoch) != m_epoch)
        return false;
    if (m_matchesOnly && (std::size_t(sourceRow) >= m_matchesOnly->size() || !(*m_matchesOnly)[std::size_t(sourceRow)]))
        return false;
    if (!m_method.isEmpty()) {
        if (event.methodString == 0)
            return false;
        if (!m_timeline->eventLog()->string(event.methodString).contains(m_method, Qt::CaseInsensitive))
            return false;
    }
    return true;
}

QString TimelineFilterProxy::saveState() const
{
    QStringList directions;
    for (Direction direction : { Direction::Inbound, Direction::Outbound, Direction::Local }) {
        if (isDirectionEnabled(direction))
            directions.append(directionName(direction));
    }
    QStringList kinds;
    for (int kind = 0; kind < int(EventKind::Count_); ++kind) {
        if (isKindEnabled(EventKind(kind)))
            kinds.append(eventKindName(EventKind(kind)));
    }
    return QStringLiteral("dir=%1;kinds=%2;method=%3;epoch=%4")
        .arg(directions.join(QLatin1Char(',')), kinds.join(QLatin1Char(',')), QString(m_method).remove(QLatin1Char(';')))
        .arg(m_epoch);
}

void TimelineFilterProxy::restoreState(const QString& state)
{
    quint8 directions = 0;
    quint32 kinds = 0;
    QString method;
    qint64 epoch = -1;
    bool sawDirections = false;
    bool sawKinds = false;
    for (const QString& part : state.split(QLatin1Char(';'), Qt::SkipEmptyParts)) {
        const qsizetype equals = part.indexOf(QLatin1Char('='));
        if (equals < 0)
            continue;
        const QStringView key = QStringView(part).left(equals);
        const QString value = part.mid(equals + 1);
        if (key == u"dir") {
            sawDirections = true;
            for (const QString& name : value.split(QLatin1Char(','), Qt::SkipEmptyParts)) {
                Direction direction;
                if (directionFromName(name, direction))
                    directions |= quint8(1u << quint8(direction));
            }
        } else if (key == u"kinds") {
            sawKinds = true;
            for (const QString& name : value.split(QLatin1Char(','), Qt::SkipEmptyParts)) {
                EventKind kind;
                if (eventKindFromName(name, kind))
                    kinds |= 1u << quint32(kind);
            }
        } else if (key == u"method") {
            method = value;
        } else if (key == u"epoch") {
            bool ok = false;
            epoch = value.toLongLong(&ok);
            if (!ok)
                epoch = -1;
        }
    }
    // A saved state that hides everything is more likely damage than intent: fall back to all.
    m_directions = (sawDirections && directions) ? directions : 0b111;
    m_kinds = (sawKinds && kinds) ? kinds : kAllKinds;
    m_method = method.trimmed();
    m_epoch = epoch < -1 ? -1 : epoch;
    refilter();
}

}
