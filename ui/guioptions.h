#pragma once

#include <QSize>
#include <QString>
#include <QStringList>

namespace deltascope::ui {

// What the `deltascope` command line asked for. Parsed without an application object so it
// can be unit-tested; main() acts on it.
struct GuiOptions {
    enum class Action { Run, ShowHelp, ShowVersion, Error };
    Action action = Action::Run;
    QString errorText; // set when action == Error: what was wrong, for stderr
    QString helpText; // the full --help text (always filled)

    QString url; // --url: connect to this endpoint instead of the embedded demo server
    QString identity;
    QString space;
    QString key;
    QString viewerState; // JSON object text
    bool insecure = false; // --insecure: skip TLS certificate verification (shown as a warning)
    bool noDemo = false; // --no-demo: do not start the embedded reference server
    QString captureFile; // positional: a capture to open for replay
    QString screenshotPath; // --screenshot FILE
    int screenshotDelayMs = 1500; // --screenshot-delay MS
    QSize windowSize; // --window-size WxH; invalid when not given (the saved or default size)
    QString logRules; // --log-rules
    enum class Palette { System, Light, Dark };
    Palette palette = Palette::System; // --palette: follow the system, or force light / dark
};

GuiOptions parseGuiOptions(const QStringList& arguments);

}
