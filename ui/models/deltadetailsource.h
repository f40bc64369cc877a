#pragma once

#include "core/document/documenttree.h"
#include "core/session/eventlog.h"

#include <QPointer>
#include <QStringList>

#include <map>

namespace deltascope::ui {

// Before / after documents and changed paths of one stream item, computed by folding the item's
// epoch from its start (each connection/create starts from an empty tree) with the document
// engine. Checkpoint trees every kCheckpointEvery items keep a selection cheap in long sessions;
// tree copies share structure, so checkpoints cost little memory.
class DeltaDetailSource
{
public:
    static constexpr int kCheckpointEvery = 256;

    struct Result {
        QStringList changedPaths; // "+ path" added, "- path" removed, "~ path" changed, "↕ list/key a→b" moved
        DocumentTree before;
        DocumentTree after;
        std::vector<Anomaly> anomalies;
        QString error; // not a stream item, or its frame has no delta: what and where
    };

    void setEventLog(const EventLog* log);
    Result compute(qint64 eventIndex);
    void clear() { m_checkpoints.clear(); }
    std::size_t checkpointCount() const { return m_checkpoints.size(); }

private:
    bool applyItem(DocumentTree& tree, qint64 eventIndex, FoldResult* result) const;

    QPointer<const EventLog> m_log;
    std::map<std::size_t, DocumentTree> m_checkpoints; // position among stream items -> tree before it
};

}
