#include "ui/guioptions.h"

#include "core/cli/cli.h"
#include "core/server/referenceserver.h"
#include "core/version.h"

#include <QCommandLineParser>
#include <QJsonDocument>
#include <QRegularExpression>
#include <QUrl>

namespace deltascope::ui {

namespace {
constexpr int kMaxWindowSide = 16384; // beyond any screen; Qt's own limit is 16777215
}

GuiOptions parseGuiOptions(const QStringList& arguments)
{
    GuiOptions options;
    QCommandLineParser parser;
    parser.setApplicationDescription(
        QStringLiteral("Deltascope: a debugger for realtime Adama document connections.\n"
                       "With no arguments it starts an embedded reference server with live demo documents\n"
                       "and connects to its ticker (--space and --key pick another demo document).\n"
                       "Give --url to watch a real server, or a capture file to replay it."));
    const QCommandLineOption helpOption({ QStringLiteral("h"), QStringLiteral("help") }, QStringLiteral("Show this help."));
    const QCommandLineOption versionOption({ QStringLiteral("v"), QStringLiteral("version") }, QStringLiteral("Show the version."));
    const QCommandLineOption urlOption(QStringLiteral("url"), QStringLiteral("Document endpoint, e.g. ws://127.0.0.1:7777/~s."), QStringLiteral("URL"));
    const QCommandLineOption identityOption(QStringLiteral("identity"), QStringLiteral("Identity token (a JWT, or anonymous:NAME)."), QStringLiteral("IDENTITY"));
    const QCommandLineOption spaceOption(QStringLiteral("space"), QStringLiteral("Space of the document."), QStringLiteral("SPACE"));
    const QCommandLineOption keyOption(QStringLiteral("key"), QStringLiteral("Key of the document."), QStringLiteral("KEY"));
    const QCommandLineOption viewerStateOption(QStringLiteral("viewer-state"), QStringLiteral("Viewer state as a JSON object."), QStringLiteral("JSON"));
    const QCommandLineOption insecureOption(QStringLiteral("insecure"), QStringLiteral("Skip TLS certificate verification for wss:// (shown as a warning)."));
    const QCommandLineOption noDemoOption(QStringLiteral("no-demo"), QStringLiteral("Do not start the embedded reference server."));
    const QCommandLineOption screenshotOption(QStringLiteral("screenshot"), QStringLiteral("Render the window after start-up, save it as a PNG and exit."), QStringLiteral("FILE"));
    const QCommandLineOption screenshotDelayOption(QStringLiteral("screenshot-delay"), QStringLiteral("Milliseconds to wait before --screenshot (default 1500)."), QStringLiteral("MS"));
    const QCommandLineOption windowSizeOption(QStringLiteral("window-size"),
        QStringLiteral("Window size in pixels, e.g. 1024x600 (its minimum: 1024 wide, 600 high on most screens)."), QStringLiteral("WxH"));
    const QCommandLineOption logRulesOption(QStringLiteral("log-rules"), QStringLiteral("Qt logging rules, e.g. deltascope.protocol.debug=true."), QStringLiteral("RULES"));
    const QCommandLineOption paletteOption(QStringLiteral("palette"), QStringLiteral("Colours: system (default), light or dark."), QStringLiteral("NAME"));
    parser.addOptions({ helpOption, versionOption, urlOption, identityOption, spaceOption, keyOption, viewerStateOption,
        insecureOption, noDemoOption, screenshotOption, screenshotDelayOption, windowSizeOption, logRulesOption, paletteOption });
    parser.addPositionalArgument(QStringLiteral("capture"), QStringLiteral("A capture file (.ndjson or .ndjson.zst) to open for replay. A HAR file is not opened as such: turn it into a capture "
                                                                      "first with 'deltascope-cli import FILE.har -o FILE.ndjson'."), QStringLiteral("[capture]"));

    options.helpText = cli::helpText(parser, QStringLiteral("deltascope"));

    if (!parser.parse(arguments)) {
        options.action = GuiOptions::Action::Error;
        options.errorText = parser.errorText();
        return options;
    }
    if (parser.isSet(helpOption)) {
        options.action = GuiOptions::Action::ShowHelp;
        return options;
    }
    if (parser.isSet(versionOption)) {
        options.action = GuiOptions::Action::ShowVersion;
        return options;
    }
    const auto fail = [&options](const QString& text) {
        options.action = GuiOptions::Action::Error;
        options.errorText = text;
        return options;
    };

    options.url = parser.value(urlOption);
    options.identity = parser.value(identityOption);
    options.space = parser.value(spaceOption);
    options.key = parser.value(keyOption);
    options.viewerState = parser.value(viewerStateOption);
    options.insecure = parser.isSet(insecureOption);
    options.noDemo = parser.isSet(noDemoOption);
    options.screenshotPath = parser.value(screenshotOption);
    options.logRules = parser.value(logRulesOption);

    if (!options.url.isEmpty()) {
        const QUrl url(options.url, QUrl::StrictMode);
        if (!url.isValid() || (url.scheme() != QLatin1String("ws") && url.scheme() != QLatin1String("wss")) || url.host().isEmpty())
            return fail(QStringLiteral("--url '%1' is not a ws:// or wss:// URL with a host, e.g. ws://127.0.0.1:7777/~s").arg(options.url));
    }
    if (!options.viewerState.isEmpty()) {
        QJsonParseError error {};
        const QJsonDocument document = QJsonDocument::fromJson(options.viewerState.toUtf8(), &error);
        if (error.error != QJsonParseError::NoError)
            return fail(QStringLiteral("--viewer-state is not valid JSON at offset %1: %2").arg(error.offset).arg(error.errorString()));
        if (!document.isObject())
            return fail(QStringLiteral("--viewer-state must be a JSON object, e.g. {\"page\":0}"));
    }
    if (parser.isSet(screenshotDelayOption)) {
        bool ok = false;
        const int delay = parser.value(screenshotDelayOption).toInt(&ok);
        if (!ok || delay < 0 || delay > 600000)
            return fail(QStringLiteral("--screenshot-delay '%1' is not a number of milliseconds from 0 to 600000").arg(parser.value(screenshotDelayOption)));
        options.screenshotDelayMs = delay;
    }
    if (parser.isSet(windowSizeOption)) {
        static const QRegularExpression pattern(QStringLiteral("^([0-9]{1,5})[xX]([0-9]{1,5})$"));
        const QString text = parser.value(windowSizeOption);
        const QRegularExpressionMatch match = pattern.match(text);
        const int width = match.hasMatch() ? match.captured(1).toInt() : 0;
        const int height = match.hasMatch() ? match.captured(2).toInt() : 0;
        if (width < 1 || height < 1 || width > kMaxWindowSide || height > kMaxWindowSide)
            return fail(QStringLiteral("--window-size '%1' is not WIDTHxHEIGHT in pixels from 1x1 to %2x%2, e.g. 1280x800").arg(text).arg(kMaxWindowSide));
        options.windowSize = QSize(width, height);
    }
    if (parser.isSet(paletteOption)) {
        const QString name = parser.value(paletteOption);
        if (name == QLatin1String("system"))
            options.palette = GuiOptions::Palette::System;
        else if (name == QLatin1String("light"))
            options.palette = GuiOptions::Palette::Light;
        else if (name == QLatin1String("dark"))
            options.palette = GuiOptions::Palette::Dark;
        else
            return fail(QStringLiteral("--palette '%1' is not one of system, light, dark").arg(name));
    }
    const QStringList positional = parser.positionalArguments();
    if (positional.size() > 1)
        return fail(QStringLiteral("expected at most one capture file, got %1: %2").arg(positional.size()).arg(positional.join(QLatin1Char(' '))));
    if (!positional.isEmpty())
        options.captureFile = positional.first();
    if (!options.captureFile.isEmpty() && !options.url.isEmpty())
        return fail(QStringLiteral("give either --url (live) or a capture file (replay), not both"));
    // What to open applies to a live connection only: a capture replays what it recorded.
    for (const QCommandLineOption* documentOption : { &identityOption, &spaceOption, &keyOption, &viewerStateOption }) {
        if (!options.captureFile.isEmpty() && parser.isSet(*documentOption))
            return fail(QStringLiteral("--%1 opens a live document; a capture file replays the document it recorded "
                                       "(drop --%1, or drop the capture and give --url)")
                            .arg(documentOption->names().constFirst()));
    }
    // Without --url, the document is one of the embedded server's demo documents.
    if (options.url.isEmpty() && options.captureFile.isEmpty() && !options.noDemo && !options.space.isEmpty()
        && !server::ReferenceServer::spaces().contains(options.space))
        return fail(QStringLiteral("--space '%1' is not a demo space of the embedded server (%2); to open it on "
                                   "another server, give its --url too")
                        .arg(options.space, server::ReferenceServer::spaces().join(QStringLiteral(", "))));
    return options;
}

}
