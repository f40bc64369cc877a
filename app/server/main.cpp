#include "core/version.h"

#include <QCoreApplication>
#include <QTextStream>

// The reference server's executable. The server itself lands in core/server (issue 4); until
// then this binary says so instead of pretending to serve.
int main(int argc, char** argv)
{
    QCoreApplication application(argc, argv);
    QTextStream err(stderr);
    err << "deltascope-server " << deltascope::kVersion << ": the reference server is not built yet.\n";
    return 1;
}
