#pragma once

#include "core/faults/jsonpredicate.h"

#include <QJsonObject>
#include <QList>
#include <QMetaType>
#include <QString>
#include <QStringList>

namespace deltascope::faults {

// Every fault the proxy (and the plan runner) can inject. Names are stable: plans, captures and
// the CLI use them.
enum class FaultType : quint8 {
    // network (byte level)
    Drop, // close both ends: RST or FIN
    Stall, // half-open: silence with TCP open
    ClearStall,
    Latency,
    Bandwidth,
    Slice,
    Refuse, // the next K connects: reset, or accepted and never answered
    // message level
    DropMessage,
    DuplicateMessage,
    DelayMessage,
    ReorderMessage,
    CorruptFrame,
    RewriteVersion,
    InjectReload,
    InjectDisconnected,
    InjectFailure,
    HoldPings,
    ReleasePings,
    // deployment
    ServerRedeploy,
    // everything off
    Clear,
};
QString faultTypeName(FaultType type);
bool faultTypeFromName(QStringView name, FaultType& out);
QStringList faultTypeNames();
// One line per fault and its parameters, for --help and the README.
QString faultCatalogText();

enum class FlowDirection : quint8 { Both, Inbound, Outbound }; // inbound = server to client

// Which frames a message fault applies to: of the frames of `kind` going `direction` (and
// matching every `where` predicate), counted from when the fault is armed, the `nth` and the
// `count - 1` after it (count 0: every one from the nth on).
struct FrameSelector {
    QString kind = QStringLiteral("delta");
    FlowDirection direction = FlowDirection::Inbound;
    int nth = 1;
    int count = 1;
    QList<JsonPredicate> where;
    QJsonObject toJson() const;
};

// Frame kinds a selector or a trigger may name. "delta" is a stream item whose delta carries
// `data`; "send" is a connection/send or send-once request; "any" is every text frame.
QStringList frameKindNames();
bool isFrameKind(QStringView name);

// One fault with its parameters, defaults filled in.
struct FaultSpec {
    FaultType type = FaultType::Clear;
    QJsonObject params; // normalized: every parameter present
    FrameSelector select; // message faults only

    QString name() const { return faultTypeName(type); }
    bool isMessageFault() const;
    // From {"fault":"drop","params":{...}} (params optional). jsonPath names the object for errors.
    static bool fromJson(const QJsonObject& json, const QString& jsonPath, FaultSpec& out, QString* error);
    static bool fromNameAndParams(
        const QString& name, const QJsonObject& params, const QString& jsonPath, FaultSpec& out, QString* error);
    // From a command line's --fault NAME[=JSON]; errors name the option and the parameter.
    static bool fromOption(const QString& option, FaultSpec& out, QString* error);
    QJsonObject toJson() const;
};

// An integer parameter of a FaultSpec's params. FaultSpec checked it against its documented range
// (proxy --list-faults), and every range fits an int, so this is exact; read them all this way.
int intParam(const QJsonObject& params, const char* name);

// "NAME {params} was not applied: WHY", as watch, record and the window say a fault that never acted.
QString notAppliedText(const QString& fault, const QJsonObject& params, const QString& why);

// What the proxy did, when it did it: one FaultInjected event of the session log.
struct FaultReport {
    QString fault; // faultTypeName
    QJsonObject params;
    bool corrupting = false; // the client's tree is now silently wrong
    int connection = -1; // proxy connection number, -1 when it applied to all or none
    QString detail; // what happened, for a person ("dropped stream item seq 57 of request 1")
    qint64 wallMs = 0;
    // Said when the fault was set, before it acts (rewrite-version: "the next hello will say..."):
    // shown and recorded like any report, but not counted in Stats::faults, since each time it
    // then acts is reported (and counted) on its own.
    bool announcement = false;
    QJsonObject toJson() const; // {"fault","params","corrupting","connection","detail","announcement" (only when true)}
};

// "a number", "a string", ... for errors that say what was found instead.
QString jsonTypeName(const QJsonValue& value);

// A key that one JSON object in `json` holds twice: the object's JSON path ("$", "$.steps[2].params")
// and the key. QJsonDocument keeps the last value of a repeated key, so a typo'd plan or --fault
// option would quietly mean something else. Not found() when no key repeats, or when the text is
// not JSON. What QJsonDocument takes and simdjson alone would not is read as QJsonDocument reads
// it: a byte order mark, integers beyond 64 bits, lone surrogate escapes such as "\ud800".
struct RepeatedKey {
    QString objectPath; // empty when none repeats
    QString key; // may itself be empty: "" is a key like any other
    bool found() const { return !objectPath.isEmpty(); }
};
RepeatedKey findRepeatedKey(QByteArrayView json);
// "parameter ms is given twice", or "key a is given twice in parameter x", for a fault's parameter
// object (a --fault option, a proxy --stdin line).
QString repeatedParameterMessage(const RepeatedKey& repeated);

// Codes in the server's retry table (adama-wire.md section 9).
bool isRetryableCode(int code);

}

Q_DECLARE_METATYPE(deltascope::faults::FaultReport)
