#include "core/server/referenceserver.h"

#include <QCoreApplication>
#include <QElapsedTimer>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QThread>
#include <QTcpSocket>

#include <sys/resource.h>
#include <ctime>

#include <cstdio>
#include <cstring>
#include <functional>
#include <limits>
#include <memory>
#include <vector>

// Reference server budgets (design.md): 10,000 deltas/s to one socket from the ticker demo, and
// 2,000 concurrent sockets on one document (connect rate and delta fan-out rate). The server runs
// on its own thread, the sockets of this process are the clients.

using namespace deltascope::server;

namespace {

// Owns a ReferenceServer living on a worker thread.
class ServerThread
{
public:
    explicit ServerThread(const ServerOptions& options)
    {
        m_thread.start();
        m_anchor.moveToThread(&m_thread);
        QMetaObject::invokeMethod(
            &m_anchor,
            [this, options] {
                m_server = new ReferenceServer(options);
                m_port = m_server->listen();
            },
            Qt::BlockingQueuedConnection);
    }
    ~ServerThread()
    {
        QMetaObject::invokeMethod(&m_anchor, [this] { delete m_server; }, Qt::BlockingQueuedConnection);
        m_thread.quit();
        m_thread.wait();
    }
    quint16 port() const { return m_port; }
    void setTickerRate(double rate)
    {
        QMetaObject::invokeMethod(&m_anchor, [this, rate] { m_server->setTickerRate(rate); }, Qt::BlockingQueuedConnection);
    }
    QJsonObject status()
    {
        QJsonObject result;
        QMetaObject::invokeMethod(&m_anchor, [this, &result] { result = m_server->status(); }, Qt::BlockingQueuedConnection);
        return result;
    }

private:
    QThread m_thread;
    QObject m_anchor;
    ReferenceServer* m_server = nullptr;
    quint16 m_port = 0;
};

// A minimal WebSocket client on a raw QTcpSocket: QWebSocket processes about one frame per event
// loop pass, which would measure the client rather than the server. Server frames are unmasked;
// client frames are masked as RFC 6455 requires.
struct Client {
    QTcpSocket socket;
    QByteArray buffer;
    bool upgraded = false;
    bool hello = false;
    qint64 items = 0;
};

void onData(Client& client)
{
    client.buffer += client.socket.readAll();
    if (!client.upgraded) {
        const qsizetype end = client.buffer.indexOf("\r\n\r\n");
        if (end < 0)
            return;
        client.upgraded = client.buffer.startsWith("HTTP/1.1 101");
        client.buffer.remove(0, end + 4);
    }
    qsizetype at = 0;
    while (client.buffer.size() - at >= 2) {
        const auto* bytes = reinterpret_cast<const uchar*>(client.buffer.constData() + at);
        quint64 length = bytes[1] & 0x7f;
        qsizetype header = 2;
        if (length == 126) {
            if (client.buffer.size() - at < 4)
                break;
            length = (quint64(bytes[2]) << 8) | bytes[3];
            header = 4;
        } else if (length == 127) {
            if (client.buffer.size() - at < 10)
                break;
            length = 0;
            for (int i = 0; i < 8; ++i)
                length = (length << 8) | bytes[2 + i];
            header = 10;
        }
        if (quint64(client.buffer.size() - at - header) < length)
            break;
        const QByteArrayView payload(client.buffer.constData() + at + header, qsizetype(length));
        if (!client.hello)
            client.hello = payload.startsWith("{\"status\":\"connected\"");
        else if (payload.startsWith("{\"deliver\":1,\"done\":false"))
            ++client.items;
        at += header + qsizetype(length);
    }
    client.buffer.remove(0, at);
}

void openClient(Client& client, quint16 port)
{
    QObject::connect(&client.socket, &QTcpSocket::readyRead, &client.socket, [&client] { onData(client); });
    QObject::connect(&client.socket, &QTcpSocket::connected, &client.socket, [&client] {
        client.socket.write("GET /~s HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                            "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n");
    });
    client.socket.connectToHost(QHostAddress::LocalHost, port);
}

void sendText(Client& client, const QByteArray& text)
{
    QByteArray frame;
    frame.append(char(0x81));
    if (text.size() < 126) {
        frame.append(char(0x80 | text.size()));
    } else {
        frame.append(char(0x80 | 126));
        frame.append(char((text.size() >> 8) & 0xff));
        frame.append(char(text.size() & 0xff));
    }
    const char mask[4] = { 0x12, 0x34, 0x56, 0x78 };
    frame.append(mask, 4);
    for (qsizetype i = 0; i < text.size(); ++i)
        frame.append(char(text.at(i) ^ mask[i % 4]));
    client.socket.write(frame);
}

void createStream(Client& client, const QString& agent, const QString& space, const QString& key)
{
    const QJsonObject request { { QStringLiteral("method"), QStringLiteral("connection/create") }, { QStringLiteral("id"), 1 },
        { QStringLiteral("identity"), QString(QStringLiteral("anonymous:") + agent) }, { QStringLiteral("space"), space }, { QStringLiteral("key"), key } };
    sendText(client, QJsonDocument(request).toJson(QJsonDocument::Compact));
}

// CPU seconds of this process (server thread and client sockets together): on a loaded machine
// the wall-clock rate understates what the server can do, so both are printed.
double processCpuSeconds()
{
    timespec now {};
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &now);
    return double(now.tv_sec) + double(now.tv_nsec) / 1e9;
}

bool spin(const std::function<bool()>& done, qint64 timeoutMs)
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

void raiseFileLimit(rlim_t wanted)
{
    rlimit limit {};
    if (getrlimit(RLIMIT_NOFILE, &limit) != 0)
        return;
    if (limit.rlim_cur >= wanted)
        return;
    limit.rlim_cur = std::min(wanted, limit.rlim_max);
    setrlimit(RLIMIT_NOFILE, &limit);
}

void tickerToOneSocket(bool quick)
{
    ServerOptions options;
    ServerThread server(options);
    Client client;
    openClient(client, server.port());
    spin([&] { return client.hello; }, 10000);
    // Asks for more than the budget, so the figure is what the server sustains.
    createStream(client, QStringLiteral("bench"), QStringLiteral("ticker"), QStringLiteral("rate-100000"));
    spin([&] { return client.items >= 2; }, 10000);
    spin([] { return false; }, quick ? 200 : 1000); // warm up
    const qint64 start = client.items;
    QElapsedTimer timer;
    timer.start();
    const double cpuStart = processCpuSeconds();
    const qint64 window = quick ? 1000 : 5000;
    spin([] { return false; }, window);
    const double seconds = double(timer.nsecsElapsed()) / 1e9;
    const double cpu = processCpuSeconds() - cpuStart;
    std::printf("server.ticker_deltas_per_s_one_socket: %.0f deltas/s (budget >= 10000)\n", double(client.items - start) / seconds);
    std::printf("server.ticker_transactions_run: %lld\n",
        static_cast<long long>(server.status().value(QLatin1String("documents")).toArray().first().toObject().value(QLatin1String("seq")).toInteger()));
    std::printf("server.ticker_deltas_per_cpu_s: %.0f deltas per CPU second (server and client in this process)\n",
        double(client.items - start) / std::max(cpu, 1e-6));
    std::fflush(stdout);
}

void manySockets(bool quick)
{
    const int count = quick ? 200 : 2000;
    raiseFileLimit(static_cast<rlim_t>(count) * 3 + 256);
    ServerOptions options;
    options.tickerRate = 10; // while sockets connect; raised for the fan-out measurement
    ServerThread server(options);
    std::vector<std::unique_ptr<Client>> clients;
    clients.reserve(static_cast<size_t>(count));

    QElapsedTimer timer;
    timer.start();
    int opened = 0;
    // At most 64 handshakes in flight, so the listen backlog never overflows.
    while (opened < count) {
        int inFlight = 0;
        for (const auto& c : clients)
            inFlight += c->hello ? 0 : 1;
        while (inFlight < 64 && opened < count) {
            clients.push_back(std::make_unique<Client>());
            openClient(*clients.back(), server.port());
            ++opened;
            ++inFlight;
        }
        QCoreApplication::processEvents(QEventLoop::AllEvents, 5);
        if (timer.elapsed() > 120000)
            break;
    }
    const bool allOpen = spin([&] { return std::all_of(clients.begin(), clients.end(), [](const auto& c) { return c->hello; }); }, 60000);
    const double connectSeconds = double(timer.nsecsElapsed()) / 1e9;
    std::printf("server.sockets: %d (all open: %s)\n", count, allOpen ? "yes" : "no");
    std::printf("server.connect_rate: %.0f sockets/s\n", double(count) / connectSeconds);

    timer.restart();
    for (int i = 0; i < count; ++i)
        createStream(*clients[static_cast<size_t>(i)], QStringLiteral("u%1").arg(i), QStringLiteral("ticker"), QStringLiteral("fanout"));
    const bool allStreaming = spin([&] { return std::all_of(clients.begin(), clients.end(), [](const auto& c) { return c->items >= 1; }); }, 120000);
    std::printf("server.stream_create_rate: %.0f snapshots/s (all got a snapshot: %s)\n", double(count) / (double(timer.nsecsElapsed()) / 1e9),
        allStreaming ? "yes" : "no");

    // Now ask for more than the server can fan out, so the figure is its capacity.
    server.setTickerRate(quick ? 100 : 200);
    spin([] { return false; }, 300);
    qint64 before = 0;
    for (const auto& c : clients)
        before += c->items;
    timer.restart();
    const double cpuStart = processCpuSeconds();
    spin([] { return false; }, quick ? 1000 : 5000);
    const double cpu = processCpuSeconds() - cpuStart;
    qint64 after = 0;
    qint64 minimum = std::numeric_limits<qint64>::max();
    for (const auto& c : clients) {
        after += c->items;
        minimum = std::min(minimum, c->items);
    }
    const double seconds = double(timer.nsecsElapsed()) / 1e9;
    std::printf("server.fanout_deltas_per_s: %.0f deltas/s over %d sockets (every socket got deltas: %s)\n",
        double(after - before) / seconds, count, minimum > 1 ? "yes" : "no");
    std::printf("server.fanout_deltas_per_cpu_s: %.0f deltas per CPU second\n", double(after - before) / std::max(cpu, 1e-6));
    std::fflush(stdout);
}

}

int main(int argc, char** argv)
{
    QCoreApplication application(argc, argv);
    bool quick = false;
    QString only; // "ticker" or "sockets" runs one part
    for (int i = 1; i < argc; ++i) {
        if (std::strcmp(argv[i], "--quick") == 0)
            quick = true;
        else
            only = QString::fromLocal8Bit(argv[i]);
    }
    if (only.isEmpty() || only == QLatin1String("ticker"))
        tickerToOneSocket(quick);
    if (only.isEmpty() || only == QLatin1String("sockets"))
        manySockets(quick);
    return 0;
}
