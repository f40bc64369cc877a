#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>

#include <QCoreApplication>
#include <QSettings>
#include <QStandardPaths>
#include <QTemporaryDir>

// main() of every core test: a QCoreApplication so event loops, timers and sockets work.
int main(int argc, char** argv)
{
    QCoreApplication application(argc, argv);
    QCoreApplication::setOrganizationName(QStringLiteral("DeltascopeTests"));
    QCoreApplication::setApplicationName(QStringLiteral("deltascope-tests"));
    // Spill files and settings go to ~/.qttest, not to the user's own folders.
    QStandardPaths::setTestModeEnabled(true);
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
