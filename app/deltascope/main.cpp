#include "core/version.h"
#include "ui/startup.h"

#include <QApplication>

#include <cstdio>

using namespace deltascope;

int main(int argc, char** argv)
{
    const ui::GuiOptions options = ui::parseGuiOptions(ui::argumentsFromMain(argc, argv));
    if (options.action != ui::GuiOptions::Action::Run)
        return ui::reportWithoutWindow(options);
    if (const QString message = ui::missingDisplayMessage(QString::fromLocal8Bit(argc > 0 ? argv[0] : "deltascope")); !message.isEmpty()) {
        std::fputs(qPrintable(message), stderr);
        return 1;
    }

    QApplication::setOrganizationName(QString::fromLatin1(kOrganizationName));
    QApplication::setOrganizationDomain(QString::fromLatin1(kOrganizationDomain));
    QApplication::setApplicationName(QString::fromLatin1(kApplicationName));
    QApplication::setApplicationVersion(QString::fromLatin1(kVersion));
    QApplication application(argc, argv);
    return ui::runGui(options);
}
