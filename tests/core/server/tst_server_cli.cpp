#include "core/server/referenceserver.h"
#include "core/server/servercommandline.h"
#include "tests/support/testutils.h"
#include "core/version.h"
#include "wsclient.h"

#include <catch2/catch.hpp>

#include <QProcess>
#include <QSslConfiguration>
#include <QSslSocket>
#include <QTcpServer>
#include <QTcpSocket>

#include <csignal>

using namespace deltascope;
using namespace deltascope::server;
using namespace deltascope::test;
using namespace std::chrono_literals;

TEST_CASE("command line: options, defaults and errors")
{
    const ServerCommandLine defaults = parseServerCommandLine({});
    CHECK(defaults.error.isEmpty());
    CHECK(defaults.options.port == 7777);
    CHECK(defaults.options.bind == QHostAddress(QHostAddress::LocalHost));
    CHECK(defaults.controlPort == -1);

    const ServerCommandLine full = parseServerCommandLine({ QStringLiteral("--port"), QStringLiteral("0"), QStringLiteral("--seed"),
        QStringLiteral("9"), QStringLiteral("--hello-version"), QStringLiteral("v2"), QStringLiteral("--control-port"), QStringLiteral("0"),
        QStringLiteral("--ticker-rate"), QStringLiteral("10000"), QStringLiteral("--fault"), QStringLiteral(R"(stall={"seconds":2,"after":5,"every":30})") });
    REQUIRE(full.error.isEmpty());
    CHECK(full.options.port == 0);
    CHECK(full.options.seed == 9);
    CHECK(full.options.version == QLatin1String("v2"));
    CHECK_FALSE(full.showVersion);
    CHECK(full.controlPort == 0);
    CHECK(full.options.tickerRate == 10000);
    REQUIRE(full.faults.size() == 1);
    CHECK(full.faults.front().name == QLatin1String("stall"));
    CHECK(full.faults.front().afterSeconds == 5);
    CHECK(full.faults.front().everySeconds == 30);

    // --version prints the program's version, as the other two programs' do; it takes no value.
    CHECK(parseServerCommandLine({ QStringLiteral("--version") }).showVersion);
    CHECK(parseServerCommandLine({ QStringLiteral("-v") }).showVersion);
    // The version (or the help) is what was asked for, whatever the other values say.
    CHECK(parseServerCommandLine({ QStringLiteral("-v"), QStringLiteral("--port"), QStringLiteral("99999") }).error.isEmpty());
    CHECK(parseServerCommandLine({ QStringLiteral("--help"), QStringLiteral("--bind"), QStringLiteral("nowhere") }).error.isEmpty());
    // An option nobody knows is still an error.
    CHECK_FALSE(parseServerCommandLine({ QStringLiteral("-v"), QStringLiteral("--bogus") }).error.isEmpty());
    CHECK(parseServerCommandLine({ QStringLiteral("--hello-version"), QString() }).error.contains(QLatin1String("--hello-version: the version string is empty")));
    {
        // Under deltascope-cli serve, the program that answers is deltascope-cli.
        QString printed;
        QString errors;
        QTextStream out(&printed);
        QTextStream err(&errors);
        CHECK(runServer({ QStringLiteral("--version") }, out, err, QStringLiteral("deltascope-cli serve")) == 0);
        CHECK(printed == QStringLiteral("deltascope-cli %1\n").arg(QLatin1String(kVersion)));
    }
    CHECK(parseServerCommandLine({ QStringLiteral("--port"), QStringLiteral("70000") }).error.contains(QLatin1String("--port")));
    CHECK(parseServerCommandLine({ QStringLiteral("--bind"), QStringLiteral("nowhere") }).error.contains(QLatin1String("--bind")));
    CHECK(parseServerCommandLine({ QStringLiteral("--tls-cert"), QStringLiteral("a.pem") }).error.contains(QLatin1String("--tls-key")));
    CHECK(parseServerCommandLine({ QStringLiteral("--fault"), QStringLiteral("melt") }).error.contains(QLatin1String("unknown fault")));
    CHECK(parseServerCommandLine({ QStringLiteral("--fault"), QStringLiteral("stall={x") }).error.contains(QLatin1String("JSON")));
    // Parameters are checked by name and type: a string "after" read as 0 fired at once.
    const QString wrongType = parseServerCommandLine({ QStringLiteral("--fault"), QStringLiteral(R"(close={"after":"x"})") }).error;
    CHECK(wrongType.contains(QLatin1String("\"after\" must be a number")));
    const QString unknownName = parseServerCommandLine({ QStringLiteral("--fault"), QStringLiteral(R"(stall={"bogus":1,"seconds":2})") }).error;
    CHECK(unknownName.contains(QLatin1String("no parameter \"bogus\"")));
    CHECK(unknownName.contains(QLatin1String("seconds")));
    CHECK(parseServerCommandLine({ QStringLiteral("--fault"), QStringLiteral(R"(stall={"seconds":2,"after":1,"space":"chat"})") }).error.isEmpty());
    // Timers take milliseconds in an int: a day at most, or the fault silently never fired.
    CHECK(parseServerCommandLine({ QStringLiteral("--fault"), QStringLiteral(R"(keepalive-failure={"after":1e12})") }).error.contains(QLatin1String("86400")));
    // Values too, at startup: checked only when a scheduled fault fired, they made it do nothing, silently.
    const std::pair<const char*, const char*> badValues[] = {
        { R"(close={"mode":"weird","after":2})", "mode must be clean, fin or abrupt, not \"weird\"" },
        { R"(stall={"seconds":-3,"after":2})", "\"seconds\" must be above 0 and at most 86400 seconds, not -3" },
        { R"(stall={"after":2})", "\"seconds\" is required" },
        { R"(ignore-pongs={"seconds":1e9})", "at most 86400 seconds" },
        { R"(version={"version":""})", "\"version\" must be a non-empty string" },
        { R"(fail-stream={"code":0,"after":1})", "\"code\" must be a positive whole error code, not 0" },
        { R"(drop-delta={"count":0.5})", "\"count\" must be a whole number from 1 to 1000000, not 0.5" },
        { R"(delay-ack={"ms":-1})", "\"ms\" must be from 0" },
    };
    for (const auto& [fault, message] : badValues) {
        INFO(fault);
        CHECK(parseServerCommandLine({ QStringLiteral("--fault"), QString::fromUtf8(fault) }).error.contains(QString::fromUtf8(message)));
    }
    CHECK(parseServerCommandLine({ QStringLiteral("--fault"), QStringLiteral(R"(close={"mode":"fin","after":2})") }).error.isEmpty());
    // An IPv6 address in brackets, as the server prints its URL.
    const ServerCommandLine bracketed = parseServerCommandLine({ QStringLiteral("--bind"), QStringLiteral("[::1]") });
    CHECK(bracketed.error.isEmpty());
    CHECK(bracketed.options.bind == QHostAddress::LocalHostIPv6);
    // NaN passes no range check by comparison: it is refused by name.
    for (const char* option : { "--ticker-rate", "--chat-rate", "--idle-timeout", "--turn-timeout", "--ping-ms" })
        CHECK_FALSE(parseServerCommandLine({ QString::fromLatin1(option), QStringLiteral("nan") }).error.isEmpty());
    CHECK(parseServerCommandLine({ QStringLiteral("--nope") }).error.contains(QLatin1String("nope")));
    CHECK(parseServerCommandLine({ QStringLiteral("stray") }).error.contains(QLatin1String("stray")));
    CHECK(serverUsage().contains(QLatin1String("--control-port")));
    // The usage line names the command as started, not the program's path.
    CHECK(serverUsage().startsWith(QLatin1String("Usage: deltascope-server [options]\n")));
    CHECK(serverUsage(QStringLiteral("deltascope-cli serve")).startsWith(QLatin1String("Usage: deltascope-cli serve [options]\n")));
}

TEST_CASE("the executable: --help, a taken port, serving, control, SIGTERM")
{
    QProcess help;
    help.start(executablePath(QStringLiteral("deltascope-server")), { QStringLiteral("--help") });
    REQUIRE(help.waitForFinished(10000));
    CHECK(help.exitCode() == 0);
    CHECK(help.readAllStandardOutput().contains("--tls-cert"));
    QProcess version;
    version.start(executablePath(QStringLiteral("deltascope-server")), { QStringLiteral("--version") });
    REQUIRE(version.waitForFinished(10000));
    CHECK(version.exitCode() == 0);
    CHECK(version.readAllStandardOutput() == QByteArray("deltascope-server ") + kVersion + '\n');

    QTcpServer occupier;
    REQUIRE(occupier.listen(QHostAddress::LocalHost, 0));
    QProcess taken;
    taken.start(executablePath(QStringLiteral("deltascope-server")), { QStringLiteral("--port"), QString::number(occupier.serverPort()) });
    REQUIRE(taken.waitForFinished(10000));
    CHECK(taken.exitCode() == 1);
    CHECK(taken.readAllStandardError().contains(QByteArray("cannot listen on 127.0.0.1:" + QByteArray::number(occupier.serverPort()))));
    // A taken control port: no "listening on" for a script to read before the exit.
    QProcess takenControl;
    takenControl.start(executablePath(QStringLiteral("deltascope-server")),
        { QStringLiteral("--port"), QStringLiteral("0"), QStringLiteral("--control-port"), QString::number(occupier.serverPort()) });
    REQUIRE(takenControl.waitForFinished(10000));
    CHECK(takenControl.exitCode() == 1);
    CHECK_FALSE(takenControl.readAllStandardOutput().contains("listening on"));

    QProcess server;
    server.start(executablePath(QStringLiteral("deltascope-server")),
        { QStringLiteral("--port"), QStringLiteral("0"), QStringLiteral("--control-port"), QStringLiteral("0"), QStringLiteral("--paused") });
    QByteArray out;
    REQUIRE(waitUntil([&] {
        out += server.readAllStandardOutput();
        return out.contains("control on");
    }, 10s));
    const QByteArray urlLine = out.mid(out.indexOf("ws://"));
    const QUrl url(QString::fromUtf8(urlLine.left(urlLine.indexOf('\n'))));
    REQUIRE(url.port() > 0);
    CHECK(url.host() == QLatin1String("127.0.0.1"));
    WsClient client;
    REQUIRE(client.open(url));
    const qint64 stream = client.request(QStringLiteral("connection/create"), { { QStringLiteral("identity"), QStringLiteral("anonymous:cli") },
        { QStringLiteral("space"), QStringLiteral("chat") }, { QStringLiteral("key"), QStringLiteral("demo") } });
    REQUIRE(waitUntil([&] { return client.items(stream).size() >= 2; }, 5s));

    const QByteArray controlLine = out.mid(out.indexOf("http://127.0.0.1:") + 17);
    const quint16 controlPort = static_cast<quint16>(controlLine.left(controlLine.indexOf('\n')).toUInt());
    QTcpSocket control;
    control.connectToHost(QHostAddress::LocalHost, controlPort);
    REQUIRE(control.waitForConnected(3000));
    control.write("POST /fault/force-disconnect HTTP/1.1\r\nContent-Length: 2\r\n\r\n{}");
    REQUIRE(!client.waitForAnswer(stream).isEmpty());
    CHECK(client.waitForAnswer(stream).value(QLatin1String("reason")).toInt() == 403500);

    ::kill(static_cast<pid_t>(server.processId()), SIGTERM);
    REQUIRE(server.waitForFinished(10000));
    CHECK(server.exitStatus() == QProcess::NormalExit);
    CHECK(server.exitCode() == 0);
    const QByteArray log = server.readAllStandardError();
    CHECK(log.contains("connect #1 127.0.0.1:"));
    CHECK(log.contains("fault force-disconnect on 1 stream(s)"));
    CHECK(log.contains("stopped by SIGTERM"));
    // Where it listens is said once, on stdout; the log does not repeat it.
    CHECK(out.count("listening on") == 1);
    CHECK_FALSE(log.contains("listening on"));
    REQUIRE(client.waitClosed(3s));
}

TEST_CASE("TLS: wss with a certificate and key")
{
    REQUIRE(QSslSocket::supportsSsl()); // Debian's Qt ships the OpenSSL backend
    ServerOptions options;
    options.botsPaused = true;
    options.tlsCertificate = sourceDir() + QStringLiteral("/tests/data/server/localhost.crt");
    options.tlsKey = sourceDir() + QStringLiteral("/tests/data/server/localhost.key");
    ReferenceServer server(options);
    REQUIRE(server.listen() != 0);
    CHECK(server.url().startsWith(QLatin1String("wss://127.0.0.1:")));
    WsClient client;
    QSslConfiguration ssl = QSslConfiguration::defaultConfiguration();
    ssl.setCaCertificates(QSslCertificate::fromPath(options.tlsCertificate));
    client.socket().setSslConfiguration(ssl);
    REQUIRE(client.open(QUrl(server.url())));
    CHECK(client.frames().front().value(QLatin1String("status")).toString() == QLatin1String("connected"));

    ServerOptions broken = options;
    broken.tlsKey = sourceDir() + QStringLiteral("/tests/data/server/missing.key");
    ReferenceServer bad(broken);
    CHECK(bad.listen() == 0);
    CHECK(bad.errorString().contains(QLatin1String("missing.key")));
}
