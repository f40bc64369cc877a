#pragma once

#include "core/protocol/clock.h"
#include "core/protocol/protocolclient.h"
#include "core/session/eventlog.h"
#include "core/session/sessionfolder.h"

#include <QObject>
#include <QSet>

#include <deque>
#include <memory>

namespace deltascope {

// One live session: the facade the GUI and the CLI use. It owns the event log, the protocol
// client and the folder, records every frame in and out and every local event (state changes,
// planned reconnect delays, epochs, version changes, fold anomalies) in the log in the order they
// happened, links requests to their responses and send acks to the stream item carrying their
// seq, and feeds stream items to the folder. Single-threaded.
class LiveSession : public QObject
{
    Q_OBJECT
public:
    // Defaults: a QWebSocketTransport, a SystemClock and a SpillingPayloadStore (a session may run
    // for days; its payloads go to a spill file as they accumulate). A transport
    // (e.g. a fault decorator or a loopback) and a clock (e.g. a ManualClock, not owned) may be
    // given instead.
    explicit LiveSession(QObject* parent = nullptr);
    LiveSession(std::unique_ptr<Transport> transport, Clock* clock, QObject* parent = nullptr,
        std::unique_ptr<PayloadStore> payloads = {});
    ~LiveSession() override;

    EventLog& log() { return *m_log; }
    const EventLog& log() const { return *m_log; }
    ProtocolClient& client() { return *m_client; }
    const ProtocolClient& client() const { return *m_client; }
    SessionFolder& folder() { return m_folder; }
    const SessionFolder& folder() const { return m_folder; }
    // The anomalies this session logged (its FoldAnomaly events) in `epoch`, read back as the
    // folder reported them; a reference-client quirk once per path, as logged.
    std::vector<SessionAnomaly> loggedAnomalies(quint32 epoch) const;
    Transport& transport() { return *m_transport; }
    Clock& clock() { return *m_clock; }

    bool start(const DocumentTarget& target, QString* error = nullptr);
    qint64 send(const QString& channel, const QByteArray& messageJson) { return m_client->send(channel, messageJson); }
    qint64 sendOnce(const QString& channel, const QByteArray& messageJson, const QString& token = {})
    {
        return m_client->sendOnce(channel, messageJson, token);
    }
    qint64 updateViewerState(const QByteArray& json) { return m_client->updateViewerState(json); }
    qint64 end() { return m_client->end(); }
    void stop() { m_client->close(); }
    void dropSocket(Transport::CloseMode mode) { m_client->dropSocket(mode); }
    // A note from the user or a tool, recorded as a local event.
    qint64 addNote(const QString& text);
    // Records an event made outside the client (e.g. a fault the fault layer injected), with the
    // session's clock and epoch: timed now, or at `atNs` on the session's clock when it happened
    // earlier (on another thread; see Clock::threadSafeNowNs), though never before an event
    // already in the log.
    qint64 recordLocal(EventKind kind, const QByteArray& payload, qint32 code = 0, quint8 flags = 0, qint64 atNs = -1);

    ConnectionState state() const { return m_client->state(); }
    quint32 epoch() const { return m_client->epoch(); }
    qint64 lastSeq() const { return m_client->lastSeq(); }
    qint64 rttMs() const { return m_client->rttMs(); }
    QString helloVersion() const { return m_client->helloVersion(); }
    // Inbound deltas (stream items carrying data) per second: the count of the last second of the session clock; for a
    // slow stream (under 10 in that second) the pace of its newest ten, so a 0.5/s one reads 0.5,
    // not 0 and 1 by turns; 0 once quiet for twice its usual gap (at least a second).
    double deltasPerSecond() const;
    // Inbound bytes of those deltas per second over the last second.
    double inboundBytesPerSecond() const;
    qint64 lastDedupeToken(QString* token) const;

Q_SIGNALS:
    void stateChanged(deltascope::ConnectionState state, deltascope::ConnectionState previous, const QString& reason);
    void epochChanged(quint32 epoch);
    void lastSeqChanged(qint64 seq);
    void rttChanged(qint64 rttMs);
    void helloVersionChanged(const QString& version);
    void anomalyRecorded(qint64 eventIndex, const deltascope::SessionAnomaly& anomaly);
    void resyncCompared(const deltascope::ResyncReport& report);
    void dedupeTokenReceived(qint64 requestId, const QString& token);

private:
    // The log's times never go back: an event timed before the last one logged takes its time.
    void keepInOrder(SessionEvent& event) const;
    // Times a local event at `atNs` when that is earlier than now (else now), kept in order.
    void timeLocal(SessionEvent& event, qint64 atNs) const;
    void record(const ClientEvent& event);
    void onAnomaly(const SessionAnomaly& anomaly);
    void trimRateWindow() const;

    std::unique_ptr<Clock> m_ownedClock;
    Clock* m_clock;
    std::unique_ptr<Transport> m_transport;
    std::unique_ptr<EventLog> m_log;
    std::unique_ptr<ProtocolClient> m_client;
    SessionFolder m_folder;
    QSet<QString> m_loggedQuirks; // "epoch|kind|path" of reference-client quirks already logged
    QHash<quint64, qint64> m_acksWaitingForItem; // (epoch << 40 | seq) -> ack event index
    struct RateSample {
        qint64 ns;
        qint64 bytes;
    };
    mutable std::deque<RateSample> m_rateWindow; // the last second, and the newest ten of the last 10 s
    qint64 m_rateOriginNs = -1; // the session clock when start() was called
    qint64 m_dedupeRequest = -1;
    QString m_dedupeToken;
};

}
