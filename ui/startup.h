#pragma once

#include "ui/guioptions.h"

namespace deltascope::ui {

// The command-line arguments as Qt sees them, before any application object exists.
QStringList argumentsFromMain(int argc, char** argv);

// For --help, --version and argument errors: prints what is due and returns the exit code.
int reportWithoutWindow(const GuiOptions& options);

// Empty when a window can be shown; otherwise a message that says how to run without a display,
// naming `program` (argv[0]), or the launcher script that set DELTASCOPE_LAUNCHER.
QString missingDisplayMessage(const QString& program);

// On the offscreen platform (screenshots without a display), drops the platform plugin's
// "This plugin does not support propagateSizeHints()", printed whenever the window's minimum
// size changes (an error banner appears), and passes every other message on. runGui() calls it.
void silenceOffscreenPluginNoise();

// --palette: system leaves the platform's; light and dark force Fusion with that palette (and,
// for dark, checked toggles and check boxes drawn so their state shows). runGui() calls it.
void applyPalette(GuiOptions::Palette choice);

// Sets names, logging rules and the style, then builds and shows the main window, and takes the
// screenshot when asked. SIGINT, SIGTERM and SIGHUP close the window as File > Quit does. Call with a QApplication constructed; returns QApplication::exec()'s code.
int runGui(const GuiOptions& options);

}
