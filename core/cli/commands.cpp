#include "core/cli/commands.h"

#include "core/capture/capturecommands.h"
#include "core/document/foldcommand.h"
#include "core/faults/proxycommand.h"
#include "core/server/servercommandline.h"
#include "core/session/watchcommand.h"

namespace deltascope::cli {

std::vector<Command> registeredCommands()
{
    std::vector<Command> all;
    all.push_back(foldCommand());
    all.push_back(watchCommand());
    all.push_back(recordCommand());
    all.push_back(replayCommand());
    all.push_back(exportCommand());
    all.push_back(importCommand());
    all.push_back(infoCommand());
    all.push_back(faults::proxyCommand());
    all.push_back(server::serveCommand());
    return all;
}

}
