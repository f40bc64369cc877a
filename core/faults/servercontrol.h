#pragma once

#include "core/faults/faultplan.h"

namespace deltascope::server {
class ReferenceServer;
}

namespace deltascope::faults {

class FaultProxy;

// Carries out server-side plan steps (server-redeploy) on an in-process reference server: the new
// build's hello version, every socket closed with FIN as a shutdown does, and connects refused by
// the proxy while the server is "down". The proxy reports what was done.
FaultPlanRunner::ServerControl referenceServerControl(server::ReferenceServer* server, FaultProxy* proxy);

}
