#pragma once

#include "core/protocol/clock.h"
#include "core/protocol/loopbacktransport.h"
#include "core/protocol/protocolclient.h"
#include "tests/support/testutils.h"

#include <QJsonDocument>
#include <QJsonObject>

#include <algorithm>
#include <vector>

namespace deltascope::test {

// The server side of a LoopbackTransport, sending exactly the frames a test chooses, plus a
// recorder of everything the client emits. Times come from a ManualClock.
class ScriptedPeer
{
public:
    ScriptedPeer()
        : client(&transport, &clock)
    {
        LoopbackTransport* peer = transport.peer();
        QObject::connect(peer, &Transport::textReceived, [this](const QByteArray& frame) { received.push_back(frame); });
        QObject::connect(peer, &Transport::opened, [this]() { ++opens; });
        QObject::connect(peer, &Transport::closed, [this](const TransportCloseInfo& info) {
            ++closes;
            lastClose = info;
        });
        QObject::connect(&client, &ProtocolClient::clientEvent, [this](const ClientEvent& event) { events.push_back(event); });
    }

    LoopbackTransport* server() { return transport.peer(); }

    static DocumentTarget target()
    {
        DocumentTarget target;
        target.url = QUrl(QStringLiteral("ws://127.0.0.1:1/~s"));
        target.identity = QStringLiteral("anonymous:alice");
        target.space = QStringLiteral("chat");
        target.key = QStringLiteral("demo");
        target.viewerState = R"({"page":0})";
        return target;
    }

    bool pump(const std::function<bool()>& predicate, int ms = 2000) { return waitUntil(predicate, std::chrono::milliseconds(ms)); }
    void settle() { pump([]() { return false; }, 30); }

    // Opens the socket and answers the hello; returns once the create is received.
    bool connectAndHello(const QString& version = QStringLiteral("v1"))
    {
        QString error;
        if (client.state() == ConnectionState::Idle && !client.connectDocument(target(), &error))
            return false;
        const int before = opens;
        if (!pump([&]() { return opens > before; }))
            return false;
        return helloAndWaitCreate(version);
    }

    bool helloAndWaitCreate(const QString& version = QStringLiteral("v1"))
    {
        const std::size_t before = received.size();
        sendText(QStringLiteral(R"({"status":"connected","version":"%1","identities":{}})").arg(version).toUtf8());
        return pump([&]() { return received.size() > before && lastRequest().value(QStringLiteral("method")).toString() == QLatin1String("connection/create"); });
    }

    void sendText(const QByteArray& frame) { server()->sendText(frame); }

    // The socket's first ping, now: the client judges liveness only after one (connection.js's
    // has_had_ping), as a server that pings every second gives it.
    bool firstPing()
    {
        const std::size_t before = std::size_t(std::count_if(events.begin(), events.end(), [](const auto& e) { return e.kind == EventKind::Ping; }));
        sendText(R"({"ping":0,"latency":"0"})");
        return pump([&]() { return std::size_t(std::count_if(events.begin(), events.end(), [](const auto& e) { return e.kind == EventKind::Ping; })) > before; });
    }

    QJsonObject lastRequest() const
    {
        for (auto it = received.rbegin(); it != received.rend(); ++it) {
            const QJsonObject object = QJsonDocument::fromJson(*it).object();
            if (object.contains(QStringLiteral("method")))
                return object;
        }
        return {};
    }

    std::vector<QJsonObject> requests() const
    {
        std::vector<QJsonObject> all;
        for (const QByteArray& frame : received) {
            const QJsonObject object = QJsonDocument::fromJson(frame).object();
            if (object.contains(QStringLiteral("method")))
                all.push_back(object);
        }
        return all;
    }

    std::vector<ClientEvent> eventsOfKind(EventKind kind) const
    {
        std::vector<ClientEvent> found;
        for (const ClientEvent& event : events) {
            if (event.kind == kind)
                found.push_back(event);
        }
        return found;
    }

    std::vector<ConnectionState> stateSequence() const
    {
        std::vector<ConnectionState> states;
        for (const ClientEvent& event : events) {
            if (event.kind == EventKind::StateChanged) {
                ConnectionState state;
                if (connectionStateFromName(QJsonDocument::fromJson(event.payload).object().value(QStringLiteral("to")).toString(), state))
                    states.push_back(state);
            }
        }
        return states;
    }

    ManualClock clock;
    LoopbackTransport transport;
    ProtocolClient client;
    std::vector<QByteArray> received;
    std::vector<ClientEvent> events;
    int opens = 0;
    int closes = 0;
    TransportCloseInfo lastClose; // as the server side saw the last close (error: an abort, not a close handshake)
};

}
