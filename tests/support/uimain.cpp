#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>

#include <QApplication>
#include <QSettings>
#include <QStandardPaths>

// main() of every ui test: offscreen unless a platform was chosen, and settings kept apart
// from the user's so persisted layouts cannot leak into or out of tests.
int main(int argc, char** argv)
{
    if (qEnvironmentVariableIsEmpty("QT_QPA_PLATFORM"))
        qputenv("QT_QPA_PLATFORM", "offscreen");
    QStandardPaths::setTestModeEnabled(true);
    QApplication application(argc, argv);
    QApplication::setOrganizationName(QStringLiteral("DeltascopeTests"));
    QApplication::setApplicationName(QStringLiteral("deltascope-ui-tests"));
    return Catch::Session().run(argc, argv);
}
