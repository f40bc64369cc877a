#pragma once

#include "core/cli/cli.h"

namespace deltascope::cli {

// The capture commands of deltascope-cli (core/capture/README.md describes the files):
// record URL ... --out FILE, replay FILE, export FILE, import FILE.har, info FILE.
Command recordCommand();
Command replayCommand();
Command exportCommand();
Command importCommand();
Command infoCommand();

}
