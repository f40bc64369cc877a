#pragma once

#include "core/cli/cli.h"

namespace deltascope::cli {

// `deltascope-cli fold [FILE|-]`: folds NDJSON deltas (bare `data` objects or server frames) and
// prints the visible document. Exit codes: 0, 1 (file), 2 (usage, malformed line), 3 (--anomalies).
Command foldCommand();

}
