#pragma once

#include "core/session/eventlog.h"

#include <QAbstractTableModel>
#include <QJsonObject>
#include <QPointer>

namespace deltascope::ui {

// One row per Incident event of a log (the resync analysis the incident analyzer appends):
// number, verdict, trigger and timings. Rows are added as incidents close; the analysis JSON is
// parsed once per row and kept (incidents are few). An incident still open is the last row,
// "in progress", until it closes: a server that stays down keeps one open for as long as the
// client retries.
class IncidentsModel : public QAbstractTableModel
{
    Q_OBJECT
public:
    enum Columns { NumberColumn, VerdictColumn, TriggerColumn, DetectedColumn, ConvergedColumn, RefetchColumn, StaleColumn, ColumnCount };
    enum Roles { SortRole = Qt::UserRole + 1, EventIndexRole, VerdictRole, ReportRole };

    explicit IncidentsModel(QObject* parent = nullptr);
    void setEventLog(EventLog* log);
    // The incident the analyzer has open (its row says "in progress"); clear once it has closed.
    void setOpenIncident(int number, const QString& trigger);
    void clearOpenIncident();

    int rowCount(const QModelIndex& parent = {}) const override;
    int columnCount(const QModelIndex& parent = {}) const override;
    QVariant data(const QModelIndex& index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation orientation, int role = Qt::DisplayRole) const override;

private:
    void sync();
    QVariant openIncidentData(const QModelIndex& index, int role) const;

    QPointer<EventLog> m_log;
    struct Row {
        qint64 event;
        QJsonObject report;
    };
    std::vector<Row> m_rows;
    int m_openNumber = 0; // 0: none open
    QString m_openTrigger;
};

}
