#pragma once

#include <QJsonObject>
#include <QStringList>

namespace deltascope {

// An incident report (IncidentAnalyzer's JSON, as recorded in an Incident event) as lines a person
// reads: the verdict and how it was judged, the fault, detection, each reconnect attempt and its
// delay, the new snapshot, time to converge, what was re-fetched, what changed while away, stale
// paths, sends in flight, version changes, notes. Used by the window and the Markdown report.
// Fields the report lacks are left out; nothing is invented.
QStringList incidentSummaryLines(const QJsonObject& report);

}
