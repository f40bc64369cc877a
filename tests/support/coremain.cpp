#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>

#include <QCoreApplication>
#include <QStandardPaths>

// main() of every core test: a QCoreApplication so event loops, timers and sockets work.
int main(int argc, char** argv)
{
    QCoreApplication application(argc, argv);
    QCoreApplication::setOrganizationName(QStringLiteral("DeltascopeTests"));
    QCoreApplication::setApplicationName(QStringLiteral("deltascope-tests"));
    // Spill files and settings go to ~/.qttest, not to the user's own folders.
    QStandardPaths::setTestModeEnabled(true);
    return Catch::Session().run(argc, argv);
}
