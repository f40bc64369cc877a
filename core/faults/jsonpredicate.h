#pragma once

#include <QJsonValue>
#include <QList>
#include <QRegularExpression>
#include <QString>

namespace deltascope::faults {

// `path` followed by the member `key`, in JsonPath's syntax: ".key" for a plain name, ["key"] (or
// ['key'] when it holds only double quotes) for any other, so an error's path to a key "a.b" does
// not read as two levels. The quote and a backslash are escaped, and control characters written
// \uXXXX (so a message stays on one line): every such path reads back to its key.
QString jsonPathMember(const QString& path, QStringView key);

// A small JSON path over a frame: "$" then ".key", "['key with.dots']" or "[N]" segments (a quoted
// key takes RFC 9535's backslash escapes), e.g.
// "$.response.delta.data.players" or "$.response.delta.outstanding[0].channel".
class JsonPath {
public:
    static bool parse(QStringView text, JsonPath& out, QString* error);
    // The value at the path, or undefined when any segment is missing.
    QJsonValue evaluate(const QJsonValue& root) const;
    const QString& text() const { return m_text; }

private:
    struct Segment {
        QString key;
        int index = -1; // >= 0: array index
    };
    QList<Segment> m_segments;
    QString m_text;
};

// A test on one frame: {"path":"$.response.delta.seq","op":"gte","value":40}. Ops: exists,
// absent, equals, not-equals, gt, gte, lt, lte (numbers; numeric strings count, as Adama sends
// longs as strings), matches (regex over a string, or over the compact JSON of anything else),
// contains (substring of a string, or element of an array). "op" defaults to "exists" without a
// value and to "equals" with one.
class JsonPredicate {
public:
    enum class Op { Exists, Absent, Equals, NotEquals, Greater, GreaterOrEqual, Less, LessOrEqual, Matches, Contains };

    // jsonPath names where the predicate sits (e.g. "$.steps[1].at.where") for errors.
    static bool fromJson(const QJsonValue& json, const QString& jsonPath, JsonPredicate& out, QString* error);
    bool matches(const QJsonValue& frame) const;
    QJsonValue toJson() const;

private:
    JsonPath m_path;
    Op m_op = Op::Exists;
    QJsonValue m_value;
    QRegularExpression m_regex;
};

// Every predicate of a list must hold (a "where" may be one object or an array of them).
bool parsePredicates(const QJsonValue& json, const QString& jsonPath, QList<JsonPredicate>& out, QString* error);

}
