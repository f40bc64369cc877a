#pragma once

#include "core/cli/cli.h"

namespace deltascope::faults {

// `deltascope-cli proxy --listen 127.0.0.1:P --upstream ws://HOST:PORT/~s [--plan FILE]`: runs the
// fault proxy standalone so any client (a browser app too) can be put behind it. Logs every
// connection and fault; exits cleanly on SIGINT/SIGTERM or after --duration.
cli::Command proxyCommand();

}
