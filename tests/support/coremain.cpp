#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>

#include <QCoreApplication>

// main() of every core test: a QCoreApplication so event loops, timers and sockets work.
int main(int argc, char** argv)
{
    QCoreApplication application(argc, argv);
    QCoreApplication::setOrganizationName(QStringLiteral("DeltascopeTests"));
    QCoreApplication::setApplicationName(QStringLiteral("deltascope-tests"));
    return Catch::Session().run(argc, argv);
}
