#include "ui/startup.h"

#include "core/stopsignalguard.h"
#include "core/version.h"
#include "ui/connectionbar.h"
#include "ui/mainwindow.h"

#include <QApplication>
#include <QPalette>
#include <QStyle>
#include <QStyleFactory>
#include <QLoggingCategory>
#include <QTimer>

#include <cstdio>

namespace deltascope::ui {

QStringList argumentsFromMain(int argc, char** argv)
{
    QStringList arguments;
    arguments.reserve(argc);
    for (int i = 0; i < argc; ++i)
        arguments.append(QString::fromLocal8Bit(argv[i]));
    return arguments;
}

int reportWithoutWindow(const GuiOptions& options)
{
    switch (options.action) {
    case GuiOptions::Action::ShowHelp:
        std::fputs(qPrintable(options.helpText), stdout);
        return 0;
    case GuiOptions::Action::ShowVersion:
        std::printf("deltascope %s (Qt %s)\n", kVersion, qVersion());
        return 0;
    case GuiOptions::Action::Error:
        std::fprintf(stderr, "deltascope: %s\nRun 'deltascope --help' for the options.\n", qPrintable(options.errorText));
        return 2;
    case GuiOptions::Action::Run:
        break;
    }
    return 0;
}

QString missingDisplayMessage(const QString& program)
{
    if (!qEnvironmentVariableIsEmpty("QT_QPA_PLATFORM"))
        return {};
#if defined(Q_OS_LINUX) || defined(Q_OS_FREEBSD)
    if (qEnvironmentVariableIsEmpty("DISPLAY") && qEnvironmentVariableIsEmpty("WAYLAND_DISPLAY")) {
        // The command as the user started it: run.sh names itself, else the program's own path.
        const QString launcher = qEnvironmentVariable("DELTASCOPE_LAUNCHER", program);
        return QStringLiteral("deltascope: no display found (neither DISPLAY nor WAYLAND_DISPLAY is set).\n"
                              "  To run the window on a virtual display:  xvfb-run -a %1 [ARGS...]\n"
                              "  To render without any display (e.g. with --screenshot FILE):  QT_QPA_PLATFORM=offscreen %1 ...\n"
                              "  For headless work without a window, use deltascope-cli (see deltascope-cli --help).\n")
            .arg(launcher);
    }
#endif
    Q_UNUSED(program)
    return {};
}

// System: whatever the platform theme says (it follows the desktop's light or dark setting).
// Light and dark are forced with Fusion, which draws every palette colour faithfully.
void applyPalette(GuiOptions::Palette choice)
{
    if (choice == GuiOptions::Palette::System)
        return;
    QApplication::setStyle(QStyleFactory::create(QStringLiteral("Fusion")));
    if (choice == GuiOptions::Palette::Light) {
        QApplication::setPalette(QApplication::style()->standardPalette());
        return;
    }
    QPalette dark;
    const QColor window(45, 45, 48), base(30, 30, 32), text(220, 220, 220), disabled(128, 128, 128);
    dark.setColor(QPalette::Window, window);
    dark.setColor(QPalette::WindowText, text);
    dark.setColor(QPalette::Base, base);
    dark.setColor(QPalette::AlternateBase, QColor(38, 38, 41));
    dark.setColor(QPalette::ToolTipBase, window);
    dark.setColor(QPalette::ToolTipText, text);
    dark.setColor(QPalette::Text, text);
    dark.setColor(QPalette::PlaceholderText, disabled);
    dark.setColor(QPalette::Button, window);
    dark.setColor(QPalette::ButtonText, text);
    dark.setColor(QPalette::BrightText, Qt::red);
    dark.setColor(QPalette::Link, QColor(86, 156, 214));
    dark.setColor(QPalette::Highlight, QColor(38, 79, 120));
    dark.setColor(QPalette::HighlightedText, Qt::white);
    dark.setColor(QPalette::Mid, QColor(70, 70, 74));
    dark.setColor(QPalette::Dark, QColor(25, 25, 27));
    dark.setColor(QPalette::Light, QColor(80, 80, 84));
    for (const QPalette::ColorRole role : { QPalette::WindowText, QPalette::Text, QPalette::ButtonText })
        dark.setColor(QPalette::Disabled, role, disabled);
    QApplication::setPalette(dark);
    // Fusion draws a checked tool button a shade darker than its window: on this dark palette the
    // filter toggles (in, out, local, Follow) looked the same on and off. Checked ones take the
    // selection colour; the check boxes' frames a lighter edge.
    qApp->setStyleSheet(QStringLiteral("QToolButton:checked { background-color: %1; border: 1px solid %2; border-radius: 3px; }"
                                       "QCheckBox::indicator:unchecked { border: 1px solid %3; background-color: %4; }")
                            .arg(dark.color(QPalette::Highlight).name(), dark.color(QPalette::Highlight).lighter(150).name(),
                                QColor(120, 120, 126).name(), base.name()));
}

namespace {
QtMessageHandler s_previousHandler = nullptr;

void offscreenMessageFilter(QtMsgType type, const QMessageLogContext& context, const QString& message)
{
    if (message == QLatin1String("This plugin does not support propagateSizeHints()"))
        return;
    if (s_previousHandler)
        s_previousHandler(type, context, message);
}
}

void silenceOffscreenPluginNoise()
{
    if (QGuiApplication::platformName() != QLatin1String("offscreen") || s_previousHandler)
        return;
    // qInstallMessageHandler returns the default handler too (never null) when none was set.
    s_previousHandler = qInstallMessageHandler(offscreenMessageFilter);
}

int runGui(const GuiOptions& options)
{
    // SIGINT, SIGTERM and SIGHUP close the window as File > Quit does, so a live session's
    // recording gets its end record. Installed before the window exists: a signal that comes while
    // it is being built waits in the socket pair until the event loop runs. A second signal ends
    // the process at once, should closing hang.
    const StopSignalGuard stopSignals(
        [](int signal) {
            std::fprintf(stderr, "deltascope: %s: closing the window (a recording is finished first)\n",
                qPrintable(StopSignalGuard::signalName(signal)));
            QApplication::closeAllWindows();
        },
        { .hangup = true, .secondSignalEndsAtOnce = true });
    if (!stopSignals.isInstalled())
        std::fprintf(stderr, "deltascope: warning: %s; a signal will end the window without finishing its recording\n",
            qPrintable(stopSignals.errorString()));
    silenceOffscreenPluginNoise();
    applyPalette(options.palette);
    if (!options.logRules.isEmpty())
        QLoggingCategory::setFilterRules(QString(options.logRules).replace(QLatin1Char(';'), QLatin1Char('\n')));

    auto* window = new MainWindow;
    window->setAttribute(Qt::WA_DeleteOnClose);
    window->setInsecure(options.insecure);
    if (options.windowSize.isValid()) {
        // Over the size a previous run saved. The window's minimum wins over a smaller request,
        // and says so: a screenshot of another size than asked would mislead.
        window->resize(options.windowSize);
        if (window->size() != options.windowSize)
            std::fprintf(stderr, "deltascope: --window-size %dx%d: the window's minimum is %dx%d, so it opens at %dx%d\n",
                options.windowSize.width(), options.windowSize.height(), window->minimumWidth(), window->minimumHeight(),
                window->width(), window->height());
    }
    window->show();
    if (!options.captureFile.isEmpty()) {
        window->openCapture(options.captureFile);
    } else if (options.url.isEmpty() && !options.noDemo) {
        // Demo by default: a first-time user sees a live document change within two seconds.
        window->startDemo(options.space.isEmpty() ? QStringLiteral("ticker") : options.space,
            MainWindow::DemoDocument { options.key, options.identity, options.viewerState });
    } else {
        // A server of the user's: connect to it, or (--no-demo without --url) wait in the
        // connection bar for its URL.
        ConnectionBar* bar = window->connectionBar();
        if (!options.url.isEmpty())
            bar->setUrl(options.url);
        bar->setIdentity(options.identity);
        bar->setSpace(options.space);
        bar->setKey(options.key);
        bar->setViewerState(options.viewerState);
        if (!options.url.isEmpty())
            window->connectFromBar();
    }

    if (!options.screenshotPath.isEmpty()) {
        QTimer::singleShot(options.screenshotDelayMs, window, [window, path = options.screenshotPath] {
            const QString error = window->saveScreenshot(path);
            if (!error.isEmpty()) {
                std::fprintf(stderr, "deltascope: --screenshot: %s\n", qPrintable(error));
                window->close(); // deleted on close, so its network thread ends before the application
                QCoreApplication::exit(1);
                return;
            }
            std::printf("deltascope: wrote screenshot %s\n", qPrintable(path));
            window->close();
            QCoreApplication::exit(0);
        });
    }
    return QApplication::exec();
}

}
