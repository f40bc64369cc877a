#include "core/faults/faultevents.h"

#include "core/session/eventlog.h"

#include <QJsonDocument>

namespace deltascope::faults {

qint64 appendFaultEvent(EventLog& log, const FaultReport& report, qint64 monotonicNs, quint32 epoch)
{
    SessionEvent event;
    event.kind = EventKind::FaultInjected;
    event.direction = Direction::Local;
    event.monotonicNs = monotonicNs;
    event.wallMs = report.wallMs;
    event.epoch = epoch;
    event.code = report.connection;
    if (report.corrupting)
        event.flags |= FlagCorrupting;
    event.methodString = log.intern(report.fault);
    return log.append(event, QJsonDocument(report.toJson()).toJson(QJsonDocument::Compact));
}

}
