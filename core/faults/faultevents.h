#pragma once

#include "core/faults/faultspec.h"

namespace deltascope {
class EventLog;
}

namespace deltascope::faults {

// Records a fault the proxy reported as a FaultInjected event (payload FaultReport::toJson(),
// FlagCorrupting when it silently corrupts the tree). monotonicNs is the session clock's time.
qint64 appendFaultEvent(EventLog& log, const FaultReport& report, qint64 monotonicNs, quint32 epoch = 0);

}
