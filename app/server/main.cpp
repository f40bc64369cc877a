#include "core/server/servercommandline.h"
#include "core/version.h"

#include <QCoreApplication>
#include <QTextStream>

// The reference server's executable; everything lives in core/server.
int main(int argc, char** argv)
{
    QCoreApplication::setOrganizationName(QString::fromLatin1(deltascope::kOrganizationName));
    QCoreApplication::setApplicationName(QStringLiteral("deltascope-server"));
    QCoreApplication::setApplicationVersion(QString::fromLatin1(deltascope::kVersion));
    QCoreApplication application(argc, argv);
    QTextStream out(stdout);
    QTextStream err(stderr);
    return deltascope::server::runServer(QCoreApplication::arguments().mid(1), out, err);
}
