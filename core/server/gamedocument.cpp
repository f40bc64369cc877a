#include "core/server/gamedocument.h"

#include "core/server/serverwire.h"

namespace deltascope::server {

namespace {

const QString kPlayers = QStringLiteral("players");
const QString kBoard = QStringLiteral("board");
const QString kTurn = QStringLiteral("turn");
const QString kRound = QStringLiteral("round");
const QString kRoundNumber = QStringLiteral("round_number");
const QString kStatus = QStringLiteral("status");

constexpr int kLines[8][3] = { { 0, 1, 2 }, { 3, 4, 5 }, { 6, 7, 8 }, { 0, 3, 6 }, { 1, 4, 7 }, { 2, 5, 8 }, { 0, 4, 8 },
    { 2, 4, 6 } };

}

GameDocument::GameDocument(const QString& key, quint64 seed, double botRate, QObject* parent)
    : DemoDocument(QStringLiteral("game"), key, seed, parent)
    , m_botRate(botRate)
{
    for (const char* name : { "bot-1", "bot-2" }) {
        Player bot;
        bot.id = m_nextPlayerId++;
        bot.who = { QString::fromLatin1(name), QStringLiteral("bot") };
        bot.bot = true;
        bot.hand = dealHand();
        m_players.push_back(bot);
    }
    DocumentTree& t = tree();
    t.setRecordList(t.root(), kPlayers);
    const NodeId board = t.setRecordList(t.root(), kBoard);
    QStringList cells;
    for (int cell = 1; cell <= 9; ++cell) {
        const NodeId element = t.setElementObject(board, QString::number(cell));
        t.setInteger(element, QStringLiteral("id"), cell);
        t.setInteger(element, QStringLiteral("state"), 0);
        cells.append(QString::number(cell));
    }
    t.setOrder(board, cells);
    startRound();
    write();
}

void GameDocument::setBotRate(double rate)
{
    m_botRate = rate;
    rateChanged();
}

QList<int> GameDocument::dealHand()
{
    return { randomInt(1, 13), randomInt(1, 13), randomInt(1, 13) };
}

const GameDocument::Player* GameDocument::mover() const
{
    if (m_roundOver || m_players.size() < 2)
        return nullptr;
    return &m_players.at(static_cast<size_t>(m_turnSeat));
}

QList<int> GameDocument::freeCells() const
{
    QList<int> cells;
    for (int i = 0; i < 9; ++i) {
        if (m_board[i] == 0)
            cells.append(i + 1);
    }
    return cells;
}

bool GameDocument::hasAsyncWork() const
{
    const Player* player = mover();
    return player && !player->bot;
}

QJsonArray GameDocument::outstanding(const Principal& who) const
{
    const Player* player = mover();
    if (!player || player->bot || player->who != who)
        return {};
    QJsonArray options;
    for (int cell : freeCells())
        options.append(QJsonObject { { QStringLiteral("id"), cell } });
    return QJsonArray { QJsonObject { { QStringLiteral("id"), m_askId }, { QStringLiteral("channel"), QStringLiteral("play") },
        { QStringLiteral("array"), false }, { QStringLiteral("min"), 1 }, { QStringLiteral("max"), 1 },
        { QStringLiteral("distinct"), true }, { QStringLiteral("options"), options } } };
}

QJsonArray GameDocument::blockers() const
{
    const Player* player = mover();
    if (!player || player->bot)
        return {};
    return QJsonArray { player->who.toJson() };
}

int GameDocument::connected(const Principal& who)
{
    if (static_cast<int>(m_players.size()) >= kMaxPlayers)
        return ErrorCode::ClientRejected;
    Player player;
    player.id = m_nextPlayerId++;
    player.who = who;
    player.hand = dealHand();
    m_players.push_back(player);
    write();
    return 0;
}

void GameDocument::disconnected(const Principal& who)
{
    for (size_t i = 0; i < m_players.size(); ++i) {
        if (m_players[i].who == who && !m_players[i].bot) {
            m_players.erase(m_players.begin() + static_cast<std::ptrdiff_t>(i));
            if (i < 2) {
                // A seated player left: the round is abandoned.
                m_round += 1;
                startRound();
            }
            break;
        }
    }
    write();
}

int GameDocument::message(const Principal& who, const QString& channel, const QJsonValue& message)
{
    if (channel != QLatin1String("play"))
        return ErrorCode::NoChannelHandler;
    const QJsonValue id = message.toObject().value(QLatin1String("id"));
    if (!message.isObject() || !id.isDouble())
        return ErrorCode::FailedParseMessage;
    // Like an Adama channel, a message nobody is waiting for is accepted and changes nothing.
    const Player* player = mover();
    const int cell = id.toInt();
    if (player && !player->bot && player->who == who && freeCells().contains(cell)) {
        play(cell);
        write();
    }
    return 0;
}

void GameDocument::startRound()
{
    for (int& cell : m_board)
        cell = 0;
    m_turnSeat = 0;
    m_roundOver = m_players.size() < 2;
    m_status = m_roundOver ? QStringLiteral("waiting for players") : QStringLiteral("playing");
    prepareTurn();
}

void GameDocument::prepareTurn()
{
    const Player* player = mover();
    if (player && !player->bot) {
        m_askId += 1;
        m_askStarted = now();
    }
}

void GameDocument::play(int cell)
{
    Player& player = m_players.at(static_cast<size_t>(m_turnSeat));
    m_board[cell - 1] = m_turnSeat + 1;
    player.hand[randomInt(0, 2)] = randomInt(1, 13);
    for (const auto& line : kLines) {
        const int mark = m_board[line[0]];
        if (mark != 0 && mark == m_board[line[1]] && mark == m_board[line[2]]) {
            player.score += 1;
            m_status = player.who.agent + QStringLiteral(" won");
            m_roundOver = true;
            // The loser goes to the back of the queue.
            const size_t loser = m_turnSeat == 0 ? 1 : 0;
            Player moved = m_players.at(loser);
            m_players.erase(m_players.begin() + static_cast<std::ptrdiff_t>(loser));
            m_players.push_back(moved);
            return;
        }
    }
    if (freeCells().isEmpty()) {
        m_status = QStringLiteral("draw");
        m_roundOver = true;
        Player moved = m_players.front();
        m_players.erase(m_players.begin());
        m_players.push_back(moved);
        return;
    }
    m_turnSeat = 1 - m_turnSeat;
    prepareTurn();
}

void GameDocument::botStep()
{
    if (m_roundOver) {
        m_round += 1;
        startRound();
        write();
        return;
    }
    const Player* player = mover();
    if (!player)
        return;
    const bool timedOut = !player->bot && now() - m_askStarted >= m_turnTimeoutMs;
    if (player->bot || timedOut) {
        const QList<int> cells = freeCells();
        play(cells.at(randomInt(0, static_cast<int>(cells.size()) - 1)));
        write();
    }
}

void GameDocument::write()
{
    DocumentTree& t = tree();
    const NodeId root = t.root();
    const NodeId players = t.childByKey(root, kPlayers);
    QStringList order;
    for (const Player& player : m_players) {
        const QString id = QString::number(player.id);
        order.append(id);
        const NodeId element = t.setElementObject(players, id);
        t.setInteger(element, QStringLiteral("id"), player.id);
        t.setString(element, QStringLiteral("name"), player.who.agent);
        const NodeId whoNode = t.setObject(element, QStringLiteral("who"));
        t.setString(whoNode, QStringLiteral("agent"), player.who.agent);
        t.setString(whoNode, QStringLiteral("authority"), player.who.authority);
        t.setInteger(element, QStringLiteral("score"), player.score);
    }
    for (const QString& old : std::as_const(m_writtenPlayerIds)) {
        if (!order.contains(old))
            t.removeElement(players, old);
    }
    m_writtenPlayerIds = order;
    t.setOrder(players, order);

    const NodeId board = t.childByKey(root, kBoard);
    for (int cell = 1; cell <= 9; ++cell)
        t.setInteger(t.childByKey(board, QString::number(cell)), QStringLiteral("state"), m_board[cell - 1]);

    const Player* player = mover();
    if (player)
        t.setInteger(root, kTurn, player->id);
    else
        t.remove(root, kTurn);
    if (schemaVersion() >= 2) {
        t.setInteger(root, kRoundNumber, m_round);
    } else {
        t.setInteger(root, kRound, m_round);
        t.setString(root, kStatus, m_status);
    }
}

void GameDocument::personalize(const Viewer& viewer, DocumentTree& view) const
{
    for (const Player& player : m_players) {
        if (player.who != viewer.principal)
            continue;
        const NodeId players = view.childByKey(view.root(), kPlayers);
        const NodeId element = view.childByKey(players, QString::number(player.id));
        if (element == kNoNode)
            return;
        const NodeId hand = view.setValueList(element, QStringLiteral("hand"));
        view.resizeValueList(hand, static_cast<int>(player.hand.size()));
        for (int i = 0; i < player.hand.size(); ++i)
            view.setInteger(hand, QString::number(i), player.hand.at(i));
        return;
    }
}

void GameDocument::migrateSchema(int toVersion)
{
    if (toVersion != 2)
        return;
    DocumentTree& t = tree();
    t.remove(t.root(), kRound);
    t.remove(t.root(), kStatus);
    write();
}

}
