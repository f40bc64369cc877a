#include "core/server/chatdocument.h"

#include "core/server/serverwire.h"

namespace deltascope::server {

namespace {

const QString kTitle = QStringLiteral("title");
const QString kTopic = QStringLiteral("topic");
const QString kLines = QStringLiteral("lines");
const QString kCount = QStringLiteral("count");
const QString kOnline = QStringLiteral("online");

const Principal kBob { QStringLiteral("bob"), QStringLiteral("anonymous") };
const Principal kCarol { QStringLiteral("carol"), QStringLiteral("anonymous") };

const char* const kPhrases[] = { "hi", "how is everyone?", "deploying in five", "lunch?", "that test is flaky again",
    "ship it", "who broke main?", "coffee time", "see the new dashboard", "brb", "rebasing now", "LGTM",
    "can someone review #42?", "it works on my machine", "😀 nice", "é中 unicode check" };

}

ChatDocument::ChatDocument(const QString& key, quint64 seed, double botRate, QObject* parent)
    : DemoDocument(QStringLiteral("chat"), key, seed, parent)
    , m_botRate(botRate)
{
    DocumentTree& t = tree();
    t.setString(t.root(), kTitle, key == QLatin1String("demo") ? QStringLiteral("Demo") : QStringLiteral("Room ") + key);
    t.setRecordList(t.root(), kLines);
    t.setValueList(t.root(), kOnline);
    t.setInteger(t.root(), kCount, 0);
    say(kBob, QStringLiteral("hi"));
}

void ChatDocument::setBotRate(double rate)
{
    m_botRate = rate;
    rateChanged();
}

QStringList ChatDocument::viewStateFilter() const
{
    return { QStringLiteral("page") };
}

void ChatDocument::construct(const QJsonObject& arg)
{
    const QString title = arg.value(QLatin1String("title")).toString();
    if (!title.isEmpty())
        tree().setString(tree().root(), schemaVersion() >= 2 ? kTopic : kTitle, title);
}

int ChatDocument::message(const Principal& who, const QString& channel, const QJsonValue& message)
{
    if (channel != QLatin1String("say"))
        return ErrorCode::NoChannelHandler;
    const QJsonValue what = message.toObject().value(QLatin1String("what"));
    if (!message.isObject() || !what.isString())
        return ErrorCode::FailedParseMessage;
    say(who, what.toString().left(2000));
    return 0;
}

void ChatDocument::say(const Principal& who, const QString& what)
{
    DocumentTree& t = tree();
    const NodeId lines = t.childByKey(t.root(), kLines);
    const QString id = QString::number(m_nextLineId++);
    const NodeId line = t.setElementObject(lines, id);
    const NodeId whoNode = t.setObject(line, QStringLiteral("who"));
    t.setString(whoNode, QStringLiteral("agent"), who.agent);
    t.setString(whoNode, QStringLiteral("authority"), who.authority);
    t.setString(line, QStringLiteral("what"), what);
    t.setString(line, QStringLiteral("when"), QString::number(now()));
    m_lineIds.append(id);
    while (m_lineIds.size() > kMaxLines)
        t.removeElement(lines, m_lineIds.takeFirst());
    t.setOrder(lines, m_lineIds);
    m_count += 1;
    if (schemaVersion() < 2)
        t.setInteger(t.root(), kCount, m_count);
}

void ChatDocument::personalize(const Viewer& viewer, DocumentTree& view) const
{
    const QJsonValue page = viewer.viewerState.value(QLatin1String("page"));
    const int number = page.isDouble() ? page.toInt() : page.toString().toInt();
    if (number > 0)
        view.setString(view.root(), QStringLiteral("page_label"), QStringLiteral("Page %1").arg(number + 1));
}

int ChatDocument::connected(const Principal& who)
{
    Q_UNUSED(who)
    writeOnline();
    return 0;
}

void ChatDocument::disconnected(const Principal& who)
{
    Q_UNUSED(who)
    writeOnline();
}

void ChatDocument::writeOnline()
{
    DocumentTree& t = tree();
    const QList<Principal> online = connectedPrincipals();
    const NodeId list = t.setValueList(t.root(), kOnline);
    t.resizeValueList(list, static_cast<int>(online.size()));
    for (int i = 0; i < online.size(); ++i)
        t.setString(list, QString::number(i), online.at(i).agent);
}

void ChatDocument::botStep()
{
    const Principal& who = randomInt(0, 2) == 0 ? kCarol : kBob;
    constexpr int phraseCount = sizeof(kPhrases) / sizeof(kPhrases[0]);
    say(who, QString::fromUtf8(kPhrases[randomInt(0, phraseCount - 1)]));
}

void ChatDocument::migrateSchema(int toVersion)
{
    if (toVersion != 2)
        return;
    DocumentTree& t = tree();
    const QString title = t.stringValue(t.childByKey(t.root(), kTitle));
    t.remove(t.root(), kTitle);
    t.setString(t.root(), kTopic, title);
    t.remove(t.root(), kCount);
}

}
