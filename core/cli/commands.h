#pragma once

#include "core/cli/cli.h"

namespace deltascope::cli {

// Each area's command factory, defined beside the area's command code. The list in
// commands.cpp decides the order --help shows.
std::vector<Command> registeredCommands();

}
