#pragma once

#include "core/server/demodocument.h"

namespace deltascope::server {

// Space `game`: a tic-tac-toe table per key. Public: `players` (record list of {id, name, who,
// score}; the first two play, the rest queue; the loser of a round moves to the back), `board`
// (record list, ids 1..9, {id, state}: 0 empty, 1 first seat, 2 second seat), `turn` (player id),
// `round`, `status`. Only the owner sees `hand` (a value list of three numbers) in its own player
// record. When a connected person is to move, the document asks them on channel `play`
// (`outstanding` to that person's views, `blockers` to everyone); they answer {"id": CELL}. If they
// do not answer within the turn timeout, the server moves for them. Bots bot-1 and bot-2 always
// play. At most kMaxPlayers: further principals are rejected (184333).
// Schema 2 (redeploy fault): `round` renamed `round_number`, `status` removed.
class GameDocument : public DemoDocument
{
    Q_OBJECT

public:
    static constexpr int kMaxPlayers = 6;

    GameDocument(const QString& key, quint64 seed, double botRate, QObject* parent = nullptr);

    int message(const Principal& who, const QString& channel, const QJsonValue& message) override;
    double botRate() const override { return m_botRate; }
    void setBotRate(double rate);
    void setTurnTimeout(qint64 ms) { m_turnTimeoutMs = ms; }

protected:
    void personalize(const Viewer& viewer, DocumentTree& view) const override;
    QJsonArray outstanding(const Principal& who) const override;
    QJsonArray blockers() const override;
    int connected(const Principal& who) override;
    void disconnected(const Principal& who) override;
    void botStep() override;
    void migrateSchema(int toVersion) override;
    bool hasAsyncWork() const override;

private:
    struct Player {
        int id = 0;
        Principal who;
        bool bot = false;
        int score = 0;
        QList<int> hand;
    };

    const Player* mover() const;
    QList<int> freeCells() const;
    void play(int cell);
    void startRound();
    void prepareTurn();
    void write();
    QList<int> dealHand();

    double m_botRate;
    qint64 m_turnTimeoutMs = 30000;
    std::vector<Player> m_players;
    QList<QString> m_writtenPlayerIds;
    int m_nextPlayerId = 1;
    int m_board[9] = {};
    int m_round = 1;
    int m_turnSeat = 0;
    bool m_roundOver = false;
    QString m_status;
    int m_askId = 0;
    qint64 m_askStarted = 0;
};

}
