#include "tests/support/testutils.h"

#include "core/cli/cli.h"

#include <QBuffer>
#include <QTextStream>

#include <QCoreApplication>
#include <QDeadlineTimer>
#include <QDir>
#include <QFile>
#include <QThread>

#include <stdexcept>

namespace deltascope::test {

QString sharedProtocolDir()
{
    return QDir::cleanPath(QStringLiteral(DELTASCOPE_SHARED_DIR "/protocol"));
}

QString sourceDir()
{
    return QStringLiteral(DELTASCOPE_SOURCE_DIR);
}

QString binaryDir()
{
    return QStringLiteral(DELTASCOPE_BINARY_DIR "/app");
}

QString executablePath(const QString& name)
{
    return binaryDir() + QLatin1Char('/') + name;
}

QByteArray readFileOrFail(const QString& path)
{
    QFile file(path);
    if (!file.open(QIODevice::ReadOnly))
        throw std::runtime_error(QStringLiteral("cannot open test input %1: %2").arg(path, file.errorString()).toStdString());
    return file.readAll();
}

bool waitUntil(const std::function<bool()>& predicate, std::chrono::milliseconds timeout)
{
    QDeadlineTimer deadline(timeout);
    while (!predicate()) {
        if (deadline.hasExpired())
            return predicate();
        QCoreApplication::processEvents(QEventLoop::AllEvents, 10);
        if (!predicate())
            QThread::msleep(1);
    }
    return true;
}

CliRun runCli(const QStringList& arguments, const QByteArray& input)
{
    CliRun result;
    QTextStream out(&result.out);
    QTextStream err(&result.err);
    QByteArray inputCopy = input;
    QBuffer in(&inputCopy);
    in.open(QIODevice::ReadOnly);
    cli::CommandIo io { out, err, in };
    result.code = cli::run(arguments, io);
    out.flush();
    err.flush();
    return result;
}

}
