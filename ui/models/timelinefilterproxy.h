#pragma once

#include "core/session/sessionevent.h"

#include <QSortFilterProxyModel>

#include <vector>

namespace deltascope::ui {

class TimelineModel;

// Filters the timeline by direction, kind, method/channel text, epoch, and optionally to the rows
// the payload search matched. Reads the events straight from the log (no QVariant per row), so
// refiltering a million rows stays well under a second. Text filters are debounced by the panel.
class TimelineFilterProxy : public QSortFilterProxyModel
{
    Q_OBJECT
public:
    explicit TimelineFilterProxy(QObject* parent = nullptr);

    void setSourceModel(QAbstractItemModel* model) override;

    void setDirectionEnabled(Direction direction, bool enabled);
    bool isDirectionEnabled(Direction direction) const;
    void setKindEnabled(EventKind kind, bool enabled);
    bool isKindEnabled(EventKind kind) const;
    void setAllKindsEnabled(bool enabled);
    // Case-insensitive substring of the method (requests) or channel (sends); empty = any.
    void setMethodFilter(const QString& text);
    QString methodFilter() const { return m_method; }
    // -1 = every epoch.
    void setEpochFilter(qint64 epoch);
    qint64 epochFilter() const { return m_epoch; }
    // Only rows matched by the payload search (the vector is owned by the search).
    void setMatchesOnly(const std::vector<bool>* matches);
    bool isMatchesOnly() const { return m_matchesOnly != nullptr; }

    bool isFiltering() const;
    // The filter as text and back, for persistence ("dir=in,out;kinds=...;method=..;epoch=N").
    QString saveState() const;
    void restoreState(const QString& state);

Q_SIGNALS:
    void filterChanged();

protected:
    bool filterAcceptsRow(int sourceRow, const QModelIndex& sourceParent) const override;

private:
    void refilter();

    TimelineModel* m_timeline = nullptr;
    quint8 m_directions = 0b111;
    quint32 m_kinds = (1u << quint32(EventKind::Count_)) - 1;
    QString m_method;
    qint64 m_epoch = -1;
    const std::vector<bool>* m_matchesOnly = nullptr;
};

}
