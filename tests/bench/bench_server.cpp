#include "core/server/referenceserver.h"

#include <QCoreApplication>
#include <QElapsedTimer>
#include <QJsonDocument>
#include <QJsonObject>
#include <QThread>
#include <QWebSocket>

#include <sys/resource.h>

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

private:
    QThread m_thread;
    QObject m_anchor;
    ReferenceServer* m_server = nullptr;
    quint16 m_port = 0;
};

struct Client {
    QWebSocket socket;
    qint64 frames = 0;
    qint64 items = 0;
    bool hello = false;
};

void openClient(Client& client, const QUrl& url)
{
    QObject::connect(&client.socket, &QWebSocket::textMessageReceived, &client.socket, [&client](const QString& text) {
        ++client.frames;
        if (!client.hello) {
            client.hello = true;
            return;
        }
        if (text.startsWith(QLatin1String("{\"deliver\":1,\"done\":false")))
            ++client.items;
    });
    client.socket.open(url);
}

void createStream(Client& client, const QString& agent, const QString& space, const QString& key)
{
    const QJsonObject request { { QStringLiteral("method"), QStringLiteral("connection/create") }, { QStringLiteral("id"), 1 },
        { QStringLiteral("identity"), QStringLiteral("anonymous:") + agent }, { QStringLiteral("space"), space }, { QStringLiteral("key"), key } };
    client.socket.sendTextMessage(QString::fromUtf8(QJsonDocument(request).toJson(QJsonDocument::Compact)));
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
    const QUrl url(QStringLiteral("ws://127.0.0.1:%1/~s").arg(server.port()));
    Client client;
    openClient(client, url);
    spin([&] { return client.hello; }, 10000);
    // Asks for more than the budget, so the figure is what the server sustains.
    createStream(client, QStringLiteral("bench"), QStringLiteral("ticker"), QStringLiteral("rate-100000"));
    spin([&] { return client.items >= 2; }, 10000);
    spin([] { return false; }, quick ? 200 : 1000); // warm up
    const qint64 start = client.items;
    QElapsedTimer timer;
    timer.start();
    const qint64 window = quick ? 1000 : 5000;
    spin([] { return false; }, window);
    const double seconds = double(timer.nsecsElapsed()) / 1e9;
    std::printf("server.ticker_deltas_per_s_one_socket: %.0f deltas/s (budget >= 10000)\n", double(client.items - start) / seconds);
    std::fflush(stdout);
}

void manySockets(bool quick)
{
    const int count = quick ? 200 : 2000;
    raiseFileLimit(static_cast<rlim_t>(count) * 3 + 256);
    ServerOptions options;
    options.tickerRate = 10; // ten transactions per second, each fanned out to every socket
    ServerThread server(options);
    const QUrl url(QStringLiteral("ws://127.0.0.1:%1/~s").arg(server.port()));
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
            openClient(*clients.back(), url);
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

    qint64 before = 0;
    for (const auto& c : clients)
        before += c->items;
    timer.restart();
    spin([] { return false; }, quick ? 1000 : 5000);
    qint64 after = 0;
    qint64 minimum = std::numeric_limits<qint64>::max();
    for (const auto& c : clients) {
        after += c->items;
        minimum = std::min(minimum, c->items);
    }
    const double seconds = double(timer.nsecsElapsed()) / 1e9;
    std::printf("server.fanout_deltas_per_s: %.0f deltas/s over %d sockets (every socket got deltas: %s)\n",
        double(after - before) / seconds, count, minimum > 1 ? "yes" : "no");
    std::fflush(stdout);
}

}

int main(int argc, char** argv)
{
    QCoreApplication application(argc, argv);
    const bool quick = argc > 1 && std::strcmp(argv[1], "--quick") == 0;
    tickerToOneSocket(quick);
    manySockets(quick);
    return 0;
}
