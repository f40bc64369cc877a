#pragma once

#include "core/cli/cli.h"

namespace deltascope::cli {

// `deltascope-cli fold [FILE|-]`: folds NDJSON deltas (bare `data` objects or server frames) and
// prints the visible document. Exit codes: 0, 1 (file), 2 (usage, malformed line), 3 (--anomalies).
Command foldCommand();

// `fold CAPTURE --at EVENT`: the document after event EVENT of a Deltascope capture (-1: the end),
// as the replay fold has it (the merged tree with referenceClient). Damaged lines stop it (exit 2)
// unless keepGoing; a tail cut off mid-line does not. Defined in core/capture.
int foldCapture(const QString& path, qint64 atEvent, bool pretty, bool anomalies, bool referenceClient, bool keepGoing, CommandIo& io);

}
