#include "core/faults/jsonpredicate.h"

#include "core/jsonstring.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>

#include <cmath>
#include <optional>

namespace deltascope::faults {

bool JsonPath::parse(QStringView text, JsonPath& out, QString* error)
{
    out = JsonPath();
    out.m_text = text.toString();
    auto fail = [&](const QString& why) {
        if (error)
            *error = QStringLiteral("bad JSON path '%1': %2").arg(text.toString(), why);
        return false;
    };
    qsizetype i = 0;
    if (text.startsWith(u'$'))
        i = 1;
    const qsizetype n = text.size();
    while (i < n) {
        const QChar c = text[i];
        if (c == u'.') {
            ++i;
            const qsizetype start = i;
            while (i < n && text[i] != u'.' && text[i] != u'[')
                ++i;
            if (i == start)
                return fail(QStringLiteral("empty key at character %1").arg(start));
            out.m_segments.append({ text.mid(start, i - start).toString(), -1 });
        } else if (c == u'[') {
            ++i;
            if (i < n && (text[i] == u'\'' || text[i] == u'"')) {
                const QChar quote = text[i];
                const qsizetype start = ++i;
                QString key;
                while (i < n && text[i] != quote) {
                    if (text[i] != u'\\') {
                        key += text[i++];
                        continue;
                    }
                    // RFC 9535 escapes, so any key can be written: both quotes, a backslash, a
                    // control character (jsonPathMember() writes them this way).
                    const qsizetype escape = i;
                    if (i + 1 >= n)
                        break;
                    const QChar e = text[i + 1];
                    i += 2;
                    switch (e.unicode()) {
                    case u'\\': case u'/': case u'\'': case u'"': key += e; break;
                    case u'b': key += u'\b'; break;
                    case u'f': key += u'\f'; break;
                    case u'n': key += u'\n'; break;
                    case u'r': key += u'\r'; break;
                    case u't': key += u'\t'; break;
                    case u'u': {
                        const int unit = jsonEscapeUnit(text.utf16() + i, std::size_t(n - i));
                        if (unit < 0)
                            return fail(QStringLiteral("\\u must be followed by four hexadecimal digits at character %1").arg(escape));
                        key += QChar(char16_t(unit));
                        i += 4;
                        break;
                    }
                    default:
                        return fail(QStringLiteral("unknown escape '\\%1' at character %2 (a backslash is written \\\\)").arg(e).arg(escape));
                    }
                }
                if (i + 1 >= n || text[i + 1] != u']')
                    return fail(QStringLiteral("unterminated quoted key at character %1").arg(start));
                out.m_segments.append({ key, -1 });
                i += 2;
            } else {
                const qsizetype start = i;
                while (i < n && text[i].isDigit())
                    ++i;
                if (i == start || i >= n || text[i] != u']')
                    return fail(QStringLiteral("expected an index or a quoted key at character %1").arg(start));
                out.m_segments.append({ QString(), text.mid(start, i - start).toInt() });
                ++i;
            }
        } else if (out.m_segments.isEmpty() && i == 0) {
            // "response.delta" without the leading "$." is accepted.
            const qsizetype start = i;
            while (i < n && text[i] != u'.' && text[i] != u'[')
                ++i;
            out.m_segments.append({ text.mid(start, i - start).toString(), -1 });
        } else {
            return fail(QStringLiteral("unexpected '%1' at character %2").arg(c).arg(i));
        }
    }
    return true;
}

QString jsonPathMember(const QString& path, QStringView key)
{
    const auto plain = [](QChar c, bool first) { return c == u'_' || c == u'$' || (c.unicode() < 128 && (c.isLetter() || (!first && c.isDigit()))); };
    bool simple = !key.isEmpty();
    for (qsizetype i = 0; i < key.size() && simple; ++i)
        simple = plain(key[i], i == 0);
    if (simple)
        return path + QLatin1Char('.') + key;
    // Quoted as JsonPath::parse() reads it back: the other quote when the key holds one, escapes
    // for the quote, a backslash, control characters (which would also break the message the path
    // is quoted in across lines) and lone surrogates.
    const QChar quote = key.contains(u'"') && !key.contains(u'\'') ? u'\'' : u'"';
    QString shown;
    shown.reserve(key.size());
    for (qsizetype i = 0; i < key.size(); ++i) {
        const QChar c = key[i];
        if (c == quote || c == u'\\')
            shown += QLatin1Char('\\');
        // A lone surrogate (JSON allows "\ud800") prints as nothing readable either.
        const bool loneSurrogate = (c.isHighSurrogate() && !(i + 1 < key.size() && key[i + 1].isLowSurrogate()))
            || (c.isLowSurrogate() && !(i > 0 && key[i - 1].isHighSurrogate()));
        if (c.unicode() < 0x20 || c.unicode() == 0x7f || loneSurrogate)
            shown += QStringLiteral("\\u%1").arg(c.unicode(), 4, 16, QLatin1Char('0'));
        else
            shown += c;
    }
    return path + QLatin1Char('[') + quote + shown + quote + QLatin1Char(']');
}

QJsonValue JsonPath::evaluate(const QJsonValue& root) const
{
    QJsonValue current = root;
    for (const Segment& segment : m_segments) {
        if (segment.index >= 0) {
            if (!current.isArray())
                return QJsonValue(QJsonValue::Undefined);
            const QJsonArray array = current.toArray();
            if (segment.index >= array.size())
                return QJsonValue(QJsonValue::Undefined);
            current = array.at(segment.index);
        } else {
            if (!current.isObject())
                return QJsonValue(QJsonValue::Undefined);
            const QJsonObject object = current.toObject();
            const auto it = object.constFind(segment.key);
            if (it == object.constEnd())
                return QJsonValue(QJsonValue::Undefined);
            current = it.value();
        }
    }
    return current;
}

namespace {

struct OpName {
    const char* name;
    JsonPredicate::Op op;
};
constexpr OpName kOps[] = {
    { "exists", JsonPredicate::Op::Exists },
    { "absent", JsonPredicate::Op::Absent },
    { "equals", JsonPredicate::Op::Equals },
    { "not-equals", JsonPredicate::Op::NotEquals },
    { "gt", JsonPredicate::Op::Greater },
    { "gte", JsonPredicate::Op::GreaterOrEqual },
    { "lt", JsonPredicate::Op::Less },
    { "lte", JsonPredicate::Op::LessOrEqual },
    { "matches", JsonPredicate::Op::Matches },
    { "contains", JsonPredicate::Op::Contains },
};

std::optional<double> numberOf(const QJsonValue& value)
{
    if (value.isDouble())
        return value.toDouble();
    if (value.isString()) {
        bool ok = false;
        const double number = value.toString().toDouble(&ok);
        if (ok && std::isfinite(number)) // "nan" and "inf" are text, as in JSON
            return number;
    }
    return std::nullopt;
}

QString textOf(const QJsonValue& value)
{
    if (value.isString())
        return value.toString();
    if (value.isObject())
        return QString::fromUtf8(QJsonDocument(value.toObject()).toJson(QJsonDocument::Compact));
    if (value.isArray())
        return QString::fromUtf8(QJsonDocument(value.toArray()).toJson(QJsonDocument::Compact));
    if (value.isBool())
        return value.toBool() ? QStringLiteral("true") : QStringLiteral("false");
    if (value.isNull())
        return QStringLiteral("null");
    if (value.isDouble())
        return QString::number(value.toDouble(), 'g', 17);
    return {};
}

bool looselyEqual(const QJsonValue& a, const QJsonValue& b)
{
    if (a == b)
        return true;
    // Adama sends longs as strings: 57 and "57" name the same value.
    if ((a.isDouble() && b.isString()) || (a.isString() && b.isDouble())) {
        const auto x = numberOf(a);
        const auto y = numberOf(b);
        return x && y && *x == *y;
    }
    return false;
}

}

bool JsonPredicate::fromJson(const QJsonValue& json, const QString& jsonPath, JsonPredicate& out, QString* error)
{
    auto fail = [&](const QString& where, const QString& why) {
        if (error)
            *error = where + QStringLiteral(": ") + why;
        return false;
    };
    if (!json.isObject())
        return fail(jsonPath,
            QStringLiteral("expected an object like {\"path\":\"$.response.delta.seq\",\"op\":\"gte\",\"value\":10}"));
    const QJsonObject object = json.toObject();
    for (auto it = object.begin(); it != object.end(); ++it) {
        if (it.key() != QLatin1String("path") && it.key() != QLatin1String("op") && it.key() != QLatin1String("value"))
            return fail(
                jsonPathMember(jsonPath, it.key()), QStringLiteral("unknown key (expected path, op, value)"));
    }
    const QJsonValue path = object.value(QLatin1String("path"));
    if (!path.isString())
        return fail(jsonPath + QStringLiteral(".path"),
            QStringLiteral("expected a JSON path string such as \"$.response.delta.data\""));
    QString pathError;
    if (!JsonPath::parse(path.toString(), out.m_path, &pathError))
        return fail(jsonPath + QStringLiteral(".path"), pathError);
    const bool hasValue = object.contains(QLatin1String("value"));
    out.m_value = object.value(QLatin1String("value"));
    const QJsonValue op = object.value(QLatin1String("op"));
    if (op.isUndefined()) {
        out.m_op = hasValue ? Op::Equals : Op::Exists;
    } else {
        if (!op.isString())
            return fail(jsonPath + QStringLiteral(".op"), QStringLiteral("expected a string"));
        bool known = false;
        for (const OpName& entry : kOps) {
            if (op.toString() == QLatin1String(entry.name)) {
                out.m_op = entry.op;
                known = true;
            }
        }
        if (!known) {
            return fail(jsonPath + QStringLiteral(".op"),
                QStringLiteral("unknown op '%1' (expected exists, absent, equals, not-equals, gt, gte, lt, lte, "
                               "matches, contains)")
                    .arg(op.toString()));
        }
    }
    const bool needsValue = out.m_op != Op::Exists && out.m_op != Op::Absent;
    if (needsValue && !hasValue)
        return fail(jsonPath, QStringLiteral("op '%1' needs a \"value\"").arg(op.toString()));
    if (out.m_op >= Op::Greater && out.m_op <= Op::LessOrEqual && !numberOf(out.m_value))
        return fail(jsonPath + QStringLiteral(".value"), QStringLiteral("expected a number for a comparison"));
    if (out.m_op == Op::Matches) {
        if (!out.m_value.isString())
            return fail(jsonPath + QStringLiteral(".value"), QStringLiteral("expected a regular expression string"));
        out.m_regex = QRegularExpression(out.m_value.toString());
        if (!out.m_regex.isValid()) {
            return fail(jsonPath + QStringLiteral(".value"),
                QStringLiteral("bad regular expression: %1 at offset %2")
                    .arg(out.m_regex.errorString())
                    .arg(out.m_regex.patternErrorOffset()));
        }
    }
    return true;
}

bool JsonPredicate::matches(const QJsonValue& frame) const
{
    const QJsonValue value = m_path.evaluate(frame);
    switch (m_op) {
    case Op::Exists:
        return !value.isUndefined();
    case Op::Absent:
        return value.isUndefined();
    case Op::Equals:
        return !value.isUndefined() && looselyEqual(value, m_value);
    case Op::NotEquals:
        return value.isUndefined() || !looselyEqual(value, m_value);
    case Op::Greater:
    case Op::GreaterOrEqual:
    case Op::Less:
    case Op::LessOrEqual: {
        const auto x = numberOf(value);
        const auto y = numberOf(m_value);
        if (!x || !y)
            return false;
        if (m_op == Op::Greater)
            return *x > *y;
        if (m_op == Op::GreaterOrEqual)
            return *x >= *y;
        if (m_op == Op::Less)
            return *x < *y;
        return *x <= *y;
    }
    case Op::Matches:
        return !value.isUndefined() && m_regex.match(textOf(value)).hasMatch();
    case Op::Contains:
        if (value.isString())
            return value.toString().contains(textOf(m_value));
        if (value.isArray()) {
            const QJsonArray array = value.toArray();
            for (const QJsonValue& element : array) {
                if (looselyEqual(element, m_value))
                    return true;
            }
        }
        if (value.isObject() && m_value.isString())
            return value.toObject().contains(m_value.toString());
        return false;
    }
    return false;
}

QJsonValue JsonPredicate::toJson() const
{
    QJsonObject object { { QStringLiteral("path"), m_path.text() } };
    for (const OpName& entry : kOps) {
        if (entry.op == m_op)
            object.insert(QStringLiteral("op"), QLatin1String(entry.name));
    }
    if (m_op != Op::Exists && m_op != Op::Absent)
        object.insert(QStringLiteral("value"), m_value);
    return object;
}

bool parsePredicates(const QJsonValue& json, const QString& jsonPath, QList<JsonPredicate>& out, QString* error)
{
    out.clear();
    if (json.isArray()) {
        const QJsonArray array = json.toArray();
        for (qsizetype i = 0; i < array.size(); ++i) {
            JsonPredicate predicate;
            if (!JsonPredicate::fromJson(array.at(i), jsonPath + QStringLiteral("[%1]").arg(i), predicate, error))
                return false;
            out.append(predicate);
        }
        return true;
    }
    JsonPredicate predicate;
    if (!JsonPredicate::fromJson(json, jsonPath, predicate, error))
        return false;
    out.append(predicate);
    return true;
}

}
