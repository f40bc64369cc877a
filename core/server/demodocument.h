#pragma once

#include "core/document/documenttree.h"
#include "core/server/principal.h"

#include <QElapsedTimer>
#include <QHash>
#include <QJsonArray>
#include <QJsonObject>
#include <QObject>
#include <QTimer>

#include <functional>
#include <memory>
#include <optional>
#include <random>
#include <vector>

namespace deltascope::server {

class DemoDocument;
class ServerConnection;

// Message faults armed on one viewer. They are corrupting on purpose (adama-wire.md section 8): the
// server believes the client got what it encoded, so a dropped item leaves the client wrong until
// it opens a new stream.
struct DeltaFaults {
    int drop = 0; // drop the next N transaction items
    int duplicate = 0; // send the next N transaction items twice
    int reorder = 0; // hold the next N items and send each after the item that follows it
};

// One document stream (`connection/create`): a viewer's own view of the document and what the
// server believes that viewer already holds.
struct Viewer {
    quint64 serial = 0; // unique within its document
    DemoDocument* document = nullptr;
    ServerConnection* connection = nullptr;
    qint64 requestId = 0; // the connection/create id: the handle on the wire
    Principal principal;
    QJsonObject viewerState;
    DocumentTree lastSent; // the tree this viewer holds if every item arrived
    QByteArray lastOutstanding = QByteArrayLiteral("[]");
    QByteArray lastBlockers = QByteArrayLiteral("[]");
    DeltaFaults faults;
    std::optional<QByteArray> heldFrame; // a reordered item waiting for the next one
};

// A document of a demo space. Its public content lives in a DocumentTree that transactions edit;
// each viewer's view is that tree personalised (fields only the owner sees, fields that read the
// viewer state), and every item sent is encodeDeltas(lastSent, view) from the document engine.
// Lives on the server's thread.
class DemoDocument : public QObject
{
    Q_OBJECT

public:
    DemoDocument(QString space, QString key, quint64 seed, QObject* parent = nullptr);
    ~DemoDocument() override;

    const QString& space() const { return m_space; }
    const QString& key() const { return m_key; }
    qint64 seq() const { return m_seq; }
    int schemaVersion() const { return m_schemaVersion; }
    const std::vector<std::unique_ptr<Viewer>>& viewers() const { return m_viewers; }

    // --- demo behaviour -------------------------------------------------------------------------
    virtual QStringList viewStateFilter() const { return {}; }
    virtual bool canSendWhileDisconnected() const { return false; }
    // document/create's `arg`; called once before anything else happens to the document.
    virtual void construct(const QJsonObject& arg) { Q_UNUSED(arg) }
    // Handles a message; returns 0 or a failure code. Must not change state when it fails.
    virtual int message(const Principal& who, const QString& channel, const QJsonValue& message) = 0;
    // Transactions per second of the demo's own activity (bots, timers); 0 for none.
    virtual double botRate() const = 0;

    // --- transactions ---------------------------------------------------------------------------
    // Attaches a new stream: runs the connect transaction (a principal's first view only) and
    // broadcasts it to the other viewers, sends this viewer its view-state filter, then runs an
    // invalidate transaction whose broadcast carries this viewer's full snapshot. Returns the
    // viewer, or nullptr with *error set when the document rejects the principal.
    Viewer* attach(ServerConnection* connection, qint64 requestId, const Principal& who,
        const QJsonObject& viewerState, int* error);
    // Detaches a stream (end, failure or socket loss): the disconnect transaction when it was the
    // principal's last view, an invalidation otherwise. The viewer is gone afterwards.
    void detach(Viewer* viewer);
    // connection/send: returns the new seq, or the failure code as a negative number.
    qint64 send(const Principal& who, const QString& channel, const QJsonValue& message,
        const std::function<void(qint64 seq)>& acknowledge);
    // connection/send-once: as send, with the document's dedupe memory (143407 on a repeat).
    // connection/attach: Adama's attach transaction. No demo document has an @attached handler, so
    // it changes nothing, but it is a transaction: a seq, acked first, then an item per view.
    qint64 attachAsset(const std::function<void(qint64)>& acknowledge);
    qint64 sendOnce(const Principal& who, const QString& channel, const std::optional<QString>& dedupe, const QJsonValue& message,
        const std::function<void(qint64 seq)>& acknowledge);
    // connection/update: a refresh without seq, or a transaction when the document waits on asks.
    void updateViewerState(Viewer* viewer, const QJsonObject& viewerState);
    // Runs N steps of the demo's own activity now, each its own transaction.
    void step(int count = 1);

    // --- faults and test hooks ------------------------------------------------------------------
    // Recreates every view with empty caches (a hot deploy): the next item to each viewer is a full
    // snapshot inside the same stream, with no marker. With nextSchema the demo moves to its next
    // schema version (a field renamed, one removed) first.
    void redeploy(bool nextSchema);
    // Sends a side-channel item (no seq) to each viewer, e.g. {"reload":{...}}.
    void sendSideItem(Viewer* viewer, const QByteArray& deltaJson);
    // The view the viewer should hold now: public tree personalised for it.
    DocumentTree currentView(const Viewer& viewer) const;
    void setBotsPaused(bool paused);
    bool botsPaused() const { return m_botsPaused; }
    // How long used dedupe tokens are remembered (10 minutes in Adama) and how often the sweep runs.
    void setDedupeExpiry(qint64 expiryMs, qint64 sweepIntervalMs);
    void setNow(std::function<qint64()> now) { m_now = std::move(now); }
    qint64 now() const { return m_now(); }
    int dedupeTokenCount() const { return static_cast<int>(m_dedupe.size()); }

Q_SIGNALS:
    void viewerDetached(quint64 serial);

protected:
    // Personalises a copy of the public tree for one viewer (owner-only fields, viewer state).
    virtual void personalize(const Viewer& viewer, DocumentTree& view) const
    {
        Q_UNUSED(viewer)
        Q_UNUSED(view)
    }
    virtual QJsonArray outstanding(const Principal& who) const
    {
        Q_UNUSED(who)
        return {};
    }
    virtual QJsonArray blockers() const { return {}; }
    // @connected: 0 to accept, or the failure code. Called for a principal's first view only.
    virtual int connected(const Principal& who)
    {
        Q_UNUSED(who)
        return 0;
    }
    virtual void disconnected(const Principal& who) { Q_UNUSED(who) }
    virtual void botStep() = 0;
    // Moves the public tree and state to the next schema version (redeploy fault).
    virtual void migrateSchema(int toVersion) { Q_UNUSED(toVersion) }
    // True while the document awaits answers (outstanding asks), so a viewer-state change is a
    // transaction rather than a refresh.
    virtual bool hasAsyncWork() const { return false; }

    DocumentTree& tree() { return m_tree; }
    const DocumentTree& tree() const { return m_tree; }
    std::mt19937_64& random() { return m_random; }
    int randomInt(int low, int high); // inclusive
    bool isConnected(const Principal& who) const;
    QList<Principal> connectedPrincipals() const; // in order of first connection
    void setSchemaVersion(int version) { m_schemaVersion = version; }
    // Re-arms the activity timer after the rate changed.
    void rateChanged();

private:
    void beginTransaction();
    // A transaction a request asked for: its seq acked, then broadcast. Returns the seq.
    qint64 answeredTransaction(const std::function<void(qint64)>& acknowledge);
    void broadcast(const Viewer* except = nullptr);
    void deliverTransaction(Viewer& viewer);
    void deliver(Viewer& viewer, const QByteArray& deltaJson, bool isTransactionItem);
    void writeItem(Viewer& viewer, const QByteArray& deltaJson);
    void onActivityTimer();
    void sweepDedupe();
    void updateActivityTimer();

    QString m_space;
    QString m_key;
    DocumentTree m_tree;
    qint64 m_seq = 0;
    int m_schemaVersion = 1;
    quint64 m_nextSerial = 1;
    std::vector<std::unique_ptr<Viewer>> m_viewers;
    QHash<Principal, int> m_viewCounts;
    QList<Principal> m_connectOrder;
    std::mt19937_64 m_random;
    QTimer m_activityTimer;
    QElapsedTimer m_activityClock;
    qint64 m_activityDone = 0;
    double m_activityRate = 0;
    bool m_botsPaused = false;
    QHash<QString, qint64> m_dedupe; // "agent/authority/token" -> time of use
    qint64 m_dedupeExpiryMs = 10 * 60 * 1000;
    qint64 m_dedupeSweepMs = 60 * 1000;
    qint64 m_lastSweep = 0;
    std::function<qint64()> m_now;
};

}
