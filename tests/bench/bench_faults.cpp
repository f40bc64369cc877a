#include "core/faults/faultproxy.h"

#include <QCoreApplication>
#include <QElapsedTimer>
#include <QEventLoop>
#include <QTimer>
#include <QWebSocket>
#include <QWebSocketServer>

#include <cstdio>
#include <cstring>
#include <functional>

// What the fault proxy costs with no fault active: added round-trip latency for small frames, and
// throughput of a stream of delta-sized frames, direct and through the proxy. Everything runs on
// one thread and loopback, so the numbers compare paths rather than measure a network.

namespace {

bool spin(const std::function<bool()>& done, int timeoutMs)
{
    QElapsedTimer timer;
    timer.start();
    while (!done()) {
        if (timer.elapsed() > timeoutMs)
            return false;
        QCoreApplication::processEvents(QEventLoop::AllEvents, 5);
    }
    return true;
}

struct Measurement {
    double rttUs = 0;
    double framesPerSecond = 0;
    double megabytesPerSecond = 0;
};

Measurement measure(const QUrl& url, QWebSocketServer& server, int roundTrips, int streamFrames)
{
    Measurement result;
    QWebSocket client;
    QWebSocket* serverSide = nullptr;
    QObject::connect(&server, &QWebSocketServer::newConnection, &server, [&] { serverSide = server.nextPendingConnection(); });
    client.open(url);
    if (!spin([&] { return client.state() == QAbstractSocket::ConnectedState && serverSide; }, 5000)) {
        std::printf("faults.error: could not connect to %s\n", qPrintable(url.toString()));
        return result;
    }
    QObject::connect(serverSide, &QWebSocket::textMessageReceived, serverSide, [&](const QString& text) { serverSide->sendTextMessage(text); });
    int echoes = 0;
    int received = 0;
    qint64 bytes = 0;
    QObject::connect(&client, &QWebSocket::textMessageReceived, &client, [&](const QString& text) {
        ++echoes;
        ++received;
        bytes += text.size();
    });
    const QString ping = QStringLiteral(R"({"ping":1,"latency":"0","pong":true})");
    QElapsedTimer timer;
    timer.start();
    for (int i = 0; i < roundTrips; ++i) {
        const int before = echoes;
        client.sendTextMessage(ping);
        spin([&] { return echoes > before; }, 2000);
    }
    result.rttUs = double(timer.nsecsElapsed()) / 1000.0 / roundTrips;

    QObject::disconnect(serverSide, &QWebSocket::textMessageReceived, nullptr, nullptr);
    const QString delta = QStringLiteral(R"({"deliver":1,"done":false,"response":{"delta":{"data":{"lines":{"12":{"who":{"agent":"bot","authority":"anonymous"},"what":"a line of chat of ordinary length","when":"1718000000000"},"@o":[[0,10],12]}},"seq":%1}}})");
    received = 0;
    bytes = 0;
    timer.restart();
    for (int i = 0; i < streamFrames; ++i)
        serverSide->sendTextMessage(delta.arg(i));
    spin([&] { return received >= streamFrames; }, 30000);
    const double seconds = double(timer.nsecsElapsed()) / 1e9;
    result.framesPerSecond = received / seconds;
    result.megabytesPerSecond = double(bytes) / 1e6 / seconds;
    client.close();
    spin([&] { return client.state() == QAbstractSocket::UnconnectedState; }, 2000);
    QObject::disconnect(&server, nullptr, nullptr, nullptr);
    return result;
}

}

int main(int argc, char** argv)
{
    QCoreApplication application(argc, argv);
    const bool quick = argc > 1 && std::strcmp(argv[1], "--quick") == 0;
    const int roundTrips = quick ? 200 : 5000;
    const int frames = quick ? 2000 : 100000;

    QWebSocketServer server(QStringLiteral("bench"), QWebSocketServer::NonSecureMode);
    if (!server.listen(QHostAddress::LocalHost, 0)) {
        std::printf("faults.error: cannot listen\n");
        return 1;
    }
    const QUrl direct(QStringLiteral("ws://127.0.0.1:%1/~s").arg(server.serverPort()));
    deltascope::faults::FaultProxy proxy;
    proxy.setUpstream(direct);
    proxy.listen();

    const Measurement plain = measure(direct, server, roundTrips, frames);
    const Measurement proxied = measure(proxy.clientUrl(), server, roundTrips, frames);
    std::printf("faults.rtt_direct: %.1f us\n", plain.rttUs);
    std::printf("faults.rtt_proxied: %.1f us\n", proxied.rttUs);
    std::printf("faults.added_latency: %.1f us per round trip (two proxy hops, no fault active)\n", proxied.rttUs - plain.rttUs);
    std::printf("faults.throughput_direct: %.0f frames/s (%.1f MB/s)\n", plain.framesPerSecond, plain.megabytesPerSecond);
    std::printf("faults.throughput_proxied: %.0f frames/s (%.1f MB/s)\n", proxied.framesPerSecond, proxied.megabytesPerSecond);
    std::printf("faults.throughput_ratio: %.2f (proxied / direct, one thread for client, proxy and server)\n",
        plain.framesPerSecond > 0 ? proxied.framesPerSecond / plain.framesPerSecond : 0.0);
    return 0;
}
