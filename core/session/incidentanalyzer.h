#pragma once

#include "core/document/documenttree.h"
#include "core/protocol/protocolclient.h"

#include <QJsonArray>
#include <QJsonObject>
#include <QObject>
#include <QPointer>
#include <QTimer>

#include <algorithm>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>

class QWebSocket;

namespace deltascope {

class EventLog;
class SessionFolder;
class StreamItemFold;

// The truth, fetched over a second, direct connection with the client's identity: the first
// snapshot a fresh connection/create gets, folded into an empty tree.
struct ShadowSnapshot {
    bool ok = false;
    QString error;
    DocumentTree tree;
    qint64 seq = -1;
    qint64 bytes = 0;
    qint64 elapsedMs = 0;
};

// One shadow fetch: opens its own socket to target.url (never through the fault proxy), asks for
// the document, takes the first item with a seq as the snapshot, ends the stream and closes.
class ShadowFetcher : public QObject {
    Q_OBJECT
public:
    explicit ShadowFetcher(DocumentTarget target, QObject* parent = nullptr);
    // wss without certificate verification, as the session's own transport was told.
    void setInsecure(bool insecure) { m_insecure = insecure; }
    ~ShadowFetcher() override;
    void fetch(int timeoutMs = 5000);

Q_SIGNALS:
    void finished(const deltascope::ShadowSnapshot& snapshot);

private:
    void finish(bool ok, const QString& error);
    DocumentTarget m_target;
    QWebSocket* m_socket = nullptr;
    bool m_insecure = false;
    QTimer m_timeout;
    QElapsedTimer m_clock;
    ShadowSnapshot m_result;
    bool m_done = false;
};

// Verdicts of an incident.
enum class IncidentVerdict : quint8 {
    Converged, // the client's tree equals the truth
    ConvergedStale, // equal, but a merging client (the reference one) still shows deleted paths
    Diverged, // the client's tree differs from the truth
    GaveUp, // the client stopped trying
};
QString incidentVerdictName(IncidentVerdict verdict); // "converged", "converged-stale", "diverged", "gave-up"

struct IncidentOptions {
    qint64 settleMs = 1000; // quiet time after a fault with no visible effect before the check
    qint64 shadowTimeoutMs = 5000;
    qint64 compareWaitMs = 3000; // how long to wait for the client to reach the shadow's seq
    bool shadowAfterResync = true; // check against the truth automatically after each resync
};

// Follows a session's event log and explains every incident: from a fault or the first sign of
// trouble to the first moment the client's tree is whole again. Keeps its own folds of the
// stream (the canonical tree, reset on each connection/create, and the tree a merging client
// would hold), so it works the same on live sessions and replays; a live session's folder can
// stand in for them while nothing is wrong (setTreeSource()). Each incident ends with an
// Incident event in the log whose payload is the analysis (see core/faults/README.md), and
// incidentClosed().
class IncidentAnalyzer : public QObject {
    Q_OBJECT
public:
    explicit IncidentAnalyzer(EventLog* log, QObject* parent = nullptr);
    ~IncidentAnalyzer() override;

    void setOptions(const IncidentOptions& options) { m_options = options; }
    // Enables the shadow connection (truth checks). Without it, verdicts are unverified.
    void setShadowTarget(const DocumentTarget& target);
    // The shadow connection skips TLS verification too when the session does (--insecure).
    void setShadowInsecure(bool insecure) { m_shadowInsecure = insecure; }
    // Time source for the Incident events this analyzer appends (default: the last event's time).
    void setClock(std::function<qint64()> nowNs) { m_nowNs = std::move(nowNs); }
    // How long one turn of the event loop may handle appended events before the rest waits for a
    // later turn (at least one event is handled a turn). 0: one event a turn, whatever the machine.
    static constexpr qint64 kDefaultSliceMs = 10;
    void setSliceMilliseconds(qint64 milliseconds) { m_sliceMs = std::max<qint64>(0, milliseconds); }
    // A folder that folds the same log as it is appended (a live session's). While no incident is
    // open and no shadow fetch is out, stream items are then not folded here: the folder's trees
    // are copied where both have handled the same events (the folder runs ahead of the analyzer,
    // which handles the log a notification later, so a copy taken now is kept until the analyzer
    // gets there), and only what is needed before that is folded here. This halves a live
    // session's folds.
    void setTreeSource(const SessionFolder* folder);

    // Compares the client's tree with a fresh snapshot now; divergenceChecked() carries the result.
    // A divergence found this way opens (and closes) an incident of its own.
    void checkNow();
    // Handles at once what the log has appended and not been handled yet (normally handed on a
    // slice per turn): for a caller about to read hasOpenIncident() or incidents() as of now.
    void catchUp();
    // The session is over: closes an open incident with what is known.
    void finish();
    // The session is over: an incident whose check is under way or due (checkComing()) gets up to
    // `waitMs` for it (the event loop runs meanwhile), then finish(). One no check can close (a
    // client that never came back, no truth to fetch) is not waited for.
    void finishWithin(int waitMs);
    bool checkComing() const;

    const QList<QJsonObject>& incidents() const { return m_closed; }
    bool hasOpenIncident() const { return m_open.has_value(); }
    const DocumentTree& tree()
    {
        bringTreesUpToDate();
        return m_tree;
    }
    const DocumentTree& mergedTree()
    {
        bringTreesUpToDate();
        return m_merged;
    }
    // The client's canonical tree at `seq`, as a truth check compares it: after the last item at
    // or before that seq while an incident or a shadow fetch keeps history, else the tree now.
    // `foundSeq` gets the seq of the tree returned.
    DocumentTree clientTreeAt(qint64 seq, qint64* foundSeq = nullptr);
    QString sessionVersion() const { return m_firstVersion; }
    // Stream items folded by the analyzer itself (with a tree source, only what incidents needed).
    qint64 itemsFoldedHere() const { return m_itemsFoldedHere; }

Q_SIGNALS:
    void incidentOpened(int number, const QString& trigger);
    void incidentClosed(const QJsonObject& report);
    void divergenceChecked(const QJsonObject& result);

private:
    struct Send {
        qint64 id;
        qint64 atNs;
        QString method;
        QString channel;
        qint64 ackSeq = -1;
        int failure = -1; // -1 none; else the code (0 local, 999 socket loss)
        bool answered = false;
    };
    struct Incident {
        int number = 0;
        qint64 openedNs = 0;
        qint64 openedEvent = -1;
        QString trigger;
        QJsonArray faults;
        bool corrupting = false;
        // A fold anomaly since the last resync showed the client's tree and the server's deltas
        // disagree (an @o id or range the client does not have): without a truth check, that is a
        // divergence as a corrupting fault is.
        QString streamDivergence;
        qint64 detectedNs = -1;
        QString detectedHow;
        QString detectedReason;
        QJsonArray reconnects;
        QJsonArray states;
        QJsonArray notes;
        qint64 notesDropped = 0; // anomalies beyond the listed notes
        DocumentTree before;
        qint64 beforeSeq = -1;
        quint32 beforeEpoch = 0;
        qint64 resyncEpochNs = -1;
        quint32 resyncEpoch = 0;
        qint64 snapshotNs = -1;
        qint64 snapshotSeq = -1;
        qint64 refetchBytes = 0;
        qint64 refetchFrames = 0;
        bool awaitingSnapshot = false;
        QString versionBefore;
        QString versionAfter;
        bool reload = false;
        std::vector<qint64> inFlight; // send ids
        bool checking = false;
        int postponed = 0;
        // Faults that hold traffic back (a stall, held pings) and have not ended: until they end,
        // or a resync brings a new snapshot, no check judges the incident (see startShadow()).
        QStringList holding;
    };

    void onAppended(qint64 first, qint64 last);
    // Handles what the log appended, for at most m_sliceMs per turn of the event loop (the rest in
    // the next turns; at least one event a turn), or all of it with `untilDone`. A stall's release
    // appends tens of thousands of stream items at once, and handling them (two folds each) in one
    // turn held the window over 100 ms.
    void handleAppended(bool untilDone = false);
    void handle(qint64 index);
    void openIncident(qint64 index, const QString& trigger);
    void rememberCurrentTree();
    // History of the canonical tree (see m_historySeqs): startHistory() checkpoints the trees as
    // they are unless history is kept already; rememberItem() notes an item whose data was just
    // folded into m_tree, rememberSeq() the item that reached a seq; historyTree() is the tree
    // after an item noted. dropHistoryBefore() keeps what follows the checkpoint at that item.
    void startHistory();
    void rememberItem(qint64 index);
    void rememberSeq(qint64 seq, qint64 index);
    void dropHistoryBefore(qint64 checkpoint);
    void clearHistory();
    DocumentTree historyTree(qint64 index) const;
    void trouble(qint64 index, const QString& how, const QString& reason);
    void foldItem(qint64 index, const QByteArray& frame);
    // foldItem() from the event alone, where that is all it would do (true); otherwise nothing.
    bool leaveItemToSource(qint64 index, const SessionEvent& event);
    // Makes m_tree and m_merged as of the last event handled: the tree source's where it has handled
    // the same events, and by folding the items left unfolded after that.
    void bringTreesUpToDate();
    // Takes the tree source's trees when it is at the same event (true), or does nothing.
    bool adoptSourceTrees();
    // Keeps a copy of the tree source's trees as of its last event, for when the analyzer gets
    // there (handle() takes it with takeSourceCopy()), unless one is kept already.
    void copySourceTrees();
    void takeSourceCopy();
    void foldIntoTrees(const StreamItemFold& item, qint64 index);
    void onSnapshot(qint64 index);
    void scheduleCheck(qint64 delayMs);
    void startShadow(bool onDemand);
    void compareWith(const ShadowSnapshot& truth, bool onDemand, qint64 waitedMs);
    void close(IncidentVerdict verdict, bool verified, const QJsonObject& comparison);
    QJsonObject inFlightReport() const;
    qint64 now() const;
    bool clientStreaming() const { return m_state == QLatin1String("streaming"); }
    // What the verdict rests on without a truth to compare with: a corrupting fault, or the stream's own evidence.
    bool knownDiverged() const { return m_open && (m_open->corrupting || !m_open->streamDivergence.isEmpty()); }
    // The open incident's client is on its way back (or stalled) and has had no resync snapshot
    // since: nothing to judge yet. A log that records no states (an import) is never recovering.
    bool stillRecovering() const
    {
        const bool recoveringState = m_state == QLatin1String("reconnecting") || m_state == QLatin1String("connecting")
            || m_state == QLatin1String("handshaking") || m_state == QLatin1String("stalled");
        return recoveringState && m_open && m_open->snapshotNs < 0;
    }
    double msOf(qint64 ns) const { return double(ns) / 1e6; }

    QPointer<EventLog> m_log;
    qint64 m_nextToHandle = 0; // the log's first event not handled yet
    qint64 m_appendedUpTo = -1; // the last event the log said it appended
    bool m_handling = false; // handleAppended() is on the stack
    QTimer m_resume; // goes on with what is left in a later turn (see QWebSocketTransport::m_resume)
    qint64 m_sliceMs = kDefaultSliceMs;
    IncidentOptions m_options;
    std::optional<DocumentTarget> m_shadowTarget;
    bool m_shadowInsecure = false;
    std::function<qint64()> m_nowNs;
    DocumentTree m_tree;
    DocumentTree m_merged { FoldMode::ReferenceClient };
    FoldResult m_foldScratch; // the fold results are not read here; reused to save their allocations
    QPointer<const SessionFolder> m_treeSource;
    std::vector<qint64> m_unfolded; // stream items with data handled but not folded into the trees yet
    qint64 m_lastDocumentEvent = -1; // the last EpochStarted or StreamItem handled (SessionFolder's kind)
    struct SourceCopy {
        qint64 lastDocumentEvent = -1; // the source's, when copied
        DocumentTree tree;
        DocumentTree merged;
        qint64 streamId = -1;
        quint32 epoch = 0;
    };
    std::optional<SourceCopy> m_sourceCopy;
    qint64 m_itemsFoldedHere = 0;
    // The canonical tree by seq while a comparison may need it (bounded): the item that reached
    // each seq, copies of the tree after some items (checkpoints), and the items with data since
    // the first checkpoint, all by event index.
    std::map<qint64, qint64> m_historySeqs; // seq -> its item
    std::multiset<qint64> m_seqItems; // the items of m_historySeqs, for the earliest of them
    std::map<qint64, DocumentTree> m_checkpoints; // item -> the tree after it
    std::deque<qint64> m_historyItems;
    int m_itemsSinceCheckpoint = 0;
    int m_shadowsInFlight = 0; // shadow fetches whose comparison has not run yet
    qint64 m_lastSeq = -1;
    qint64 m_lastEventNs = 0;
    quint32 m_epoch = 0;
    qint64 m_streamId = -1;
    QString m_firstVersion;
    QString m_version;
    bool m_helloSeen = false; // the client has reached the server at least once
    // Faults injected before the client first asked for the document (a plan's latency from the
    // start): conditions the session runs under, not a disruption of a document, so they open no
    // incident of their own. The trouble they cause (retries) does, and every incident lists them
    // in its notes. A fault applied once the stream is requested (watch --fault) is a cause.
    QJsonArray m_standingFaults;
    // The epoch whose tree a truth check found diverged, until a new stream replaces it: later
    // fold anomalies there are that divergence's consequences, not new incidents (0: none).
    quint32 m_divergedEpoch = 0;
    // Value lists the server edits without @s (fold anomalies marked as a reference-client quirk):
    // the merging client shows stale values in them all the time, whatever happens to the
    // connection, so their staleness is reported apart and never makes a verdict converged-stale.
    std::set<QString> m_quirkValueLists;
    struct StalePaths {
        QStringList incident; // stale in the merging client, and not from the standing quirk
        QStringList quirk;
    };
    StalePaths stalePaths();
    QString m_state;
    std::map<qint64, Send> m_sends;
    std::optional<Incident> m_open;
    QList<QJsonObject> m_closed;
    int m_nextNumber = 1;
    QTimer m_checkTimer;
    quint64 m_generation = 0;
    bool m_finished = false;
    bool m_finishing = false; // in finishWithin(): the session is over
};

}

Q_DECLARE_METATYPE(deltascope::ShadowSnapshot)
