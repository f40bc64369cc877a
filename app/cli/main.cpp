#include "core/cli/cli.h"
#include "core/version.h"

#include <QCoreApplication>
#include <QFile>

#include <cstdio>

int main(int argc, char** argv)
{
    QCoreApplication::setOrganizationName(QString::fromLatin1(deltascope::kOrganizationName));
    QCoreApplication::setApplicationName(QStringLiteral("deltascope-cli"));
    QCoreApplication::setApplicationVersion(QString::fromLatin1(deltascope::kVersion));
    QCoreApplication application(argc, argv);

    QTextStream out(stdout);
    QTextStream err(stderr);
    QFile in;
    if (!in.open(stdin, QIODevice::ReadOnly)) {
        err << "deltascope-cli: cannot read standard input\n";
        return deltascope::cli::ExitFailure;
    }
    deltascope::cli::CommandIo io { out, err, in };
    const int code = deltascope::cli::run(QCoreApplication::arguments().mid(1), io);
    out.flush();
    err.flush();
    return code;
}
