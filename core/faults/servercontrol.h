#pragma once

#include "core/faults/faultplan.h"

#include <QUrl>

namespace deltascope::server {
class ReferenceServer;
}

namespace deltascope::faults {

class FaultProxy;

// Carries out server-side plan steps (server-redeploy) on an in-process reference server: the new
// build's hello version, every socket closed with FIN as a shutdown does, and connects refused by
// the proxy while the server is "down". The proxy reports what was done.
FaultPlanRunner::ServerControl referenceServerControl(server::ReferenceServer* server, FaultProxy* proxy);

// The same for a reference server in another process (deltascope-server --control-port P), driven
// over its loopback HTTP control endpoint (http://127.0.0.1:P): the new hello version is set, every
// socket is closed with FIN, and the proxy refuses connects while the server is "down".
FaultPlanRunner::ServerControl httpServerControl(const QUrl& controlUrl, FaultProxy* proxy);
// Checks that the URL is a loopback http:// control endpoint that answers GET /status. Returns an
// error naming the URL and what went wrong, empty when it answers.
QString probeServerControl(const QUrl& controlUrl);
// Why `controlUrl` cannot be a control endpoint at all (not http://loopback:PORT), or an empty
// string: the part of probeServerControl() that needs no server, for a usage error of its own.
QString serverControlUrlProblem(const QUrl& controlUrl);

}
