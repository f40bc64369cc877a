#include "core/cli/commands.h"

#include "core/document/foldcommand.h"
#include "core/faults/proxycommand.h"
#include "core/server/servercommandline.h"
#include "core/session/watchcommand.h"

namespace deltascope::cli {

std::vector<Command> registeredCommands()
{
    std::vector<Command> all;
    // Areas append their commands here as they land (fold, watch, record, replay, export, import, info, proxy).
    all.push_back(foldCommand());
    all.push_back(watchCommand());
    all.push_back(faults::proxyCommand());
    all.push_back(server::serveCommand());
    return all;
}

}
