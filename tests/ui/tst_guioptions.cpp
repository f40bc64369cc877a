#include <catch2/catch.hpp>

#include "ui/guioptions.h"
#include "ui/startup.h"

#include <QCoreApplication>
#include <QGuiApplication>
#include <QImage>
#include <QToolButton>
#include <QWidget>

#include <array>
#include <cmath>

using namespace deltascope::ui;

namespace {
GuiOptions parse(QStringList arguments)
{
    arguments.prepend(QStringLiteral("deltascope"));
    return parseGuiOptions(arguments);
}
}

TEST_CASE("gui options: no arguments runs the demo")
{
    const GuiOptions options = parse({});
    CHECK(options.action == GuiOptions::Action::Run);
    CHECK(options.url.isEmpty());
    CHECK(options.captureFile.isEmpty());
    CHECK_FALSE(options.noDemo);
    CHECK(options.screenshotDelayMs == 1500);
}

TEST_CASE("gui options: --help and --version")
{
    CHECK(parse({ QStringLiteral("--help") }).action == GuiOptions::Action::ShowHelp);
    CHECK(parse({ QStringLiteral("-h") }).action == GuiOptions::Action::ShowHelp);
    CHECK(parse({ QStringLiteral("--version") }).action == GuiOptions::Action::ShowVersion);
    const GuiOptions options = parse({ QStringLiteral("--help") });
    CHECK(options.helpText.contains(QStringLiteral("--screenshot")));
    CHECK(options.helpText.contains(QStringLiteral("--url")));
}

TEST_CASE("gui options: a full live connection")
{
    const GuiOptions options = parse({ QStringLiteral("--url"), QStringLiteral("ws://127.0.0.1:7777/~s"),
        QStringLiteral("--identity"), QStringLiteral("anonymous:alice"), QStringLiteral("--space"), QStringLiteral("chat"),
        QStringLiteral("--key"), QStringLiteral("demo"), QStringLiteral("--viewer-state"), QStringLiteral("{\"page\":0}") });
    REQUIRE(options.action == GuiOptions::Action::Run);
    CHECK(options.url == QStringLiteral("ws://127.0.0.1:7777/~s"));
    CHECK(options.identity == QStringLiteral("anonymous:alice"));
    CHECK(options.space == QStringLiteral("chat"));
    CHECK(options.key == QStringLiteral("demo"));
    CHECK(options.viewerState == QStringLiteral("{\"page\":0}"));
}

TEST_CASE("gui options: wrong arguments say what is wrong")
{
    SECTION("unknown option")
    {
        const GuiOptions options = parse({ QStringLiteral("--frobnicate") });
        CHECK(options.action == GuiOptions::Action::Error);
        CHECK(options.errorText.contains(QStringLiteral("frobnicate")));
    }
    SECTION("missing option value")
    {
        const GuiOptions options = parse({ QStringLiteral("--url") });
        CHECK(options.action == GuiOptions::Action::Error);
        CHECK(options.errorText.contains(QStringLiteral("url")));
    }
    SECTION("not a websocket URL")
    {
        const GuiOptions options = parse({ QStringLiteral("--url"), QStringLiteral("http://example.invalid/") });
        CHECK(options.action == GuiOptions::Action::Error);
        CHECK(options.errorText.contains(QStringLiteral("ws://")));
    }
    SECTION("viewer state is not JSON")
    {
        const GuiOptions options = parse({ QStringLiteral("--viewer-state"), QStringLiteral("{page:0") });
        CHECK(options.action == GuiOptions::Action::Error);
        CHECK(options.errorText.contains(QStringLiteral("--viewer-state is not valid JSON")));
    }
    SECTION("viewer state is not an object")
    {
        const GuiOptions options = parse({ QStringLiteral("--viewer-state"), QStringLiteral("[1,2]") });
        CHECK(options.action == GuiOptions::Action::Error);
        CHECK(options.errorText.contains(QStringLiteral("JSON object")));
    }
    SECTION("screenshot delay is not a number")
    {
        const GuiOptions options = parse({ QStringLiteral("--screenshot"), QStringLiteral("x.png"), QStringLiteral("--screenshot-delay"), QStringLiteral("soon") });
        CHECK(options.action == GuiOptions::Action::Error);
        CHECK(options.errorText.contains(QStringLiteral("soon")));
    }
    SECTION("two capture files")
    {
        const GuiOptions options = parse({ QStringLiteral("a.ndjson"), QStringLiteral("b.ndjson") });
        CHECK(options.action == GuiOptions::Action::Error);
        CHECK(options.errorText.contains(QStringLiteral("at most one capture")));
    }
    SECTION("url and capture together")
    {
        const GuiOptions options = parse({ QStringLiteral("--url"), QStringLiteral("ws://127.0.0.1:1/~s"), QStringLiteral("a.ndjson") });
        CHECK(options.action == GuiOptions::Action::Error);
    }
}

TEST_CASE("gui options: without --url, --space and --key pick a demo document of the embedded server")
{
    const GuiOptions game = parse({ QStringLiteral("--space"), QStringLiteral("game"), QStringLiteral("--key"), QStringLiteral("table9"),
        QStringLiteral("--identity"), QStringLiteral("anonymous:bob") });
    REQUIRE(game.action == GuiOptions::Action::Run);
    CHECK(game.url.isEmpty());
    CHECK(game.space == QStringLiteral("game"));
    CHECK(game.key == QStringLiteral("table9"));
    CHECK(game.identity == QStringLiteral("anonymous:bob"));

    const GuiOptions unknown = parse({ QStringLiteral("--space"), QStringLiteral("orders") });
    CHECK(unknown.action == GuiOptions::Action::Error);
    CHECK(unknown.errorText.contains(QStringLiteral("'orders'")));
    CHECK(unknown.errorText.contains(QStringLiteral("chat, game, ticker, big")));
    CHECK(unknown.errorText.contains(QStringLiteral("--url")));

    // Any space goes to a real server, or waits in the connection bar with --no-demo.
    CHECK(parse({ QStringLiteral("--url"), QStringLiteral("ws://127.0.0.1:7777/~s"), QStringLiteral("--space"), QStringLiteral("orders") }).action
        == GuiOptions::Action::Run);
    CHECK(parse({ QStringLiteral("--no-demo"), QStringLiteral("--space"), QStringLiteral("orders") }).action == GuiOptions::Action::Run);
}

TEST_CASE("gui options: what to open does not go with a capture file, which replays its own document")
{
    for (const QString& option : { QStringLiteral("--space"), QStringLiteral("--key"), QStringLiteral("--identity") }) {
        const GuiOptions options = parse({ option, QStringLiteral("x"), QStringLiteral("session.ndjson") });
        CHECK(options.action == GuiOptions::Action::Error);
        CHECK(options.errorText.startsWith(option + QStringLiteral(" opens a live document")));
    }
    const GuiOptions viewer = parse({ QStringLiteral("session.ndjson"), QStringLiteral("--viewer-state"), QStringLiteral("{}") });
    CHECK(viewer.action == GuiOptions::Action::Error);
    CHECK(viewer.errorText.contains(QStringLiteral("--viewer-state")));
}

TEST_CASE("gui options: screenshot with delay and a capture file")
{
    const GuiOptions options = parse({ QStringLiteral("--screenshot"), QStringLiteral("w.png"), QStringLiteral("--screenshot-delay"), QStringLiteral("250"), QStringLiteral("session.ndjson") });
    REQUIRE(options.action == GuiOptions::Action::Run);
    CHECK(options.screenshotPath == QStringLiteral("w.png"));
    CHECK(options.screenshotDelayMs == 250);
    CHECK(options.captureFile == QStringLiteral("session.ndjson"));
}

TEST_CASE("gui options: --window-size picks the window's size, and a size that is not WxH is a usage error")
{
    CHECK_FALSE(parse({}).windowSize.isValid()); // the saved (or first-run) size
    CHECK(parse({ QStringLiteral("--window-size"), QStringLiteral("1024x600") }).windowSize == QSize(1024, 600));
    CHECK(parse({ QStringLiteral("--window-size"), QStringLiteral("1280X800"), QStringLiteral("--screenshot"), QStringLiteral("w.png") }).windowSize
        == QSize(1280, 800));
    CHECK(parse({ QStringLiteral("--help") }).helpText.contains(QStringLiteral("--window-size <WxH>")));
    for (const QString& wrong : { QStringLiteral("big"), QStringLiteral("1024"), QStringLiteral("1024x"), QStringLiteral("x600"), QStringLiteral("0x600"),
             QStringLiteral("1024x0"), QStringLiteral("-1024x600"), QStringLiteral("1024x600x2"), QStringLiteral(" 1024x600"),
             QStringLiteral("1024.5x600"), QStringLiteral("20000x600") }) {
        INFO(wrong.toStdString());
        const GuiOptions options = parse({ QStringLiteral("--window-size"), wrong });
        CHECK(options.action == GuiOptions::Action::Error);
        // Worded as the other options' errors: the option, the value as given, what it should be.
        CHECK(options.errorText == QStringLiteral("--window-size '%1' is not WIDTHxHEIGHT in pixels from 1x1 to 16384x16384, e.g. 1280x800").arg(wrong));
    }
    const GuiOptions missing = parse({ QStringLiteral("--window-size") });
    CHECK(missing.action == GuiOptions::Action::Error);
    CHECK(missing.errorText.contains(QStringLiteral("window-size")));
}

TEST_CASE("gui options: --palette follows the system unless light or dark is asked for")
{
    CHECK(parse({}).palette == GuiOptions::Palette::System);
    CHECK(parse({ QStringLiteral("--palette"), QStringLiteral("dark") }).palette == GuiOptions::Palette::Dark);
    CHECK(parse({ QStringLiteral("--palette"), QStringLiteral("light") }).palette == GuiOptions::Palette::Light);
    const GuiOptions wrong = parse({ QStringLiteral("--palette"), QStringLiteral("blue") });
    CHECK(wrong.action == GuiOptions::Action::Error);
    CHECK(wrong.errorText.contains(QStringLiteral("'blue'")));
    CHECK(wrong.errorText.contains(QStringLiteral("system, light, dark")));
    CHECK(parse({ QStringLiteral("--help") }).helpText.contains(QStringLiteral("--palette")));
}

namespace {
QStringList s_messages;
void collectMessages(QtMsgType, const QMessageLogContext&, const QString& message) { s_messages.append(message); }
}

TEST_CASE("gui startup: offscreen, the platform plugin's size-hint warning is not printed, other messages are")
{
    if (QGuiApplication::platformName() != QLatin1String("offscreen")) {
        WARN("not on the offscreen platform");
        return;
    }
    s_messages.clear();
    const QtMessageHandler previous = qInstallMessageHandler(collectMessages);
    silenceOffscreenPluginNoise();
    {
        // A shown window whose minimum size changes, as when an error banner appears.
        QWidget window;
        window.show();
        window.setMinimumSize(321, 123);
        QCoreApplication::processEvents();
    }
    qWarning("a warning of our own");
    qInstallMessageHandler(previous);
    INFO(s_messages.join(QLatin1Char('\n')).toStdString());
    CHECK(s_messages == QStringList { QStringLiteral("a warning of our own") });
}

TEST_CASE("gui options: on the dark palette a checked toggle looks unlike an unchecked one")
{
    // Fusion's checked shade on this palette was a few levels darker than the window: the timeline's
    // in/out/local/Follow toggles looked the same on and off.
    applyPalette(GuiOptions::Palette::Dark);
    QWidget host;
    QToolButton on(&host);
    QToolButton off(&host);
    for (QToolButton* button : { &on, &off }) {
        button->setText(QStringLiteral("Follow"));
        button->setCheckable(true);
        button->resize(80, 24);
    }
    on.setChecked(true);
    const auto meanColour = [](QWidget& widget) {
        const QImage image = widget.grab().toImage();
        double r = 0, g = 0, b = 0;
        for (int y = 0; y < image.height(); ++y) {
            for (int x = 0; x < image.width(); ++x) {
                const QColor c = image.pixelColor(x, y);
                r += c.red();
                g += c.green();
                b += c.blue();
            }
        }
        const double n = double(image.width()) * image.height();
        return std::array<double, 3> { r / n, g / n, b / n };
    };
    const std::array<double, 3> checked = meanColour(on);
    const std::array<double, 3> unchecked = meanColour(off);
    const double distance = std::abs(checked[0] - unchecked[0]) + std::abs(checked[1] - unchecked[1]) + std::abs(checked[2] - unchecked[2]);
    INFO("checked " << checked[0] << "," << checked[1] << "," << checked[2] << " unchecked " << unchecked[0] << "," << unchecked[1] << "," << unchecked[2]);
    CHECK(distance > 60);
}
