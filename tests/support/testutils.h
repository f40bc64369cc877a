#pragma once

#include <QByteArray>
#include <QString>

#include <chrono>
#include <functional>

namespace deltascope::test {

// ../shared/protocol, where the wire spec and the fold conformance vectors live.
QString sharedProtocolDir();
// The source tree (for tests/data and resources/).
QString sourceDir();
// Folder with the built executables (deltascope, deltascope-cli, deltascope-server).
QString binaryDir();
QString executablePath(const QString& name);

QByteArray readFileOrFail(const QString& path);

// A deltascope-cli command run in this process: exit code and what it printed.
struct CliRun {
    int code = -1;
    QString out;
    QString err;
};
CliRun runCli(const QStringList& arguments, const QByteArray& input = {});

// Processes events until predicate() is true or the timeout passes; returns predicate().
bool waitUntil(const std::function<bool()>& predicate, std::chrono::milliseconds timeout);

}
