#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>

#include <QApplication>
#include <QSettings>
#include <QStandardPaths>
#include <QTemporaryDir>

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
    // Settings of this process alone: ctest runs each test case as a process of its own, two at
    // a time, and one clearing the shared settings under another (its recent captures, say) made
    // the other's checks fail now and then.
    const QTemporaryDir settingsDir;
    if (settingsDir.isValid()) {
        QSettings::setPath(QSettings::NativeFormat, QSettings::UserScope, settingsDir.path());
        QSettings::setPath(QSettings::IniFormat, QSettings::UserScope, settingsDir.path());
    }
    return Catch::Session().run(argc, argv);
}
