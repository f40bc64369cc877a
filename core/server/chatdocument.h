#pragma once

#include "core/server/demodocument.h"

namespace deltascope::server {

// Space `chat`: a room per key. Public: `title` (string), `lines` (record list of
// {who, what, when}; `when` is a long, so a string), `count` (lines ever said), `online` (value list
// of connected agents). Per viewer: `page_label` ("Page N+1") while the viewer state's `page` is
// N > 0, so the view reads the viewer state (`view-state-filter` ["page"]). Channel `say` takes
// {"what": TEXT}. Old lines are trimmed, so the list shrinks from the front. Bots bob and carol talk.
// Schema 2 (redeploy fault): `title` renamed `topic`, `count` removed.
class ChatDocument : public DemoDocument
{
    Q_OBJECT

public:
    static constexpr int kMaxLines = 30;

    ChatDocument(const QString& key, quint64 seed, double botRate, QObject* parent = nullptr);

    QStringList viewStateFilter() const override;
    bool canSendWhileDisconnected() const override { return true; }
    void construct(const QJsonObject& arg) override;
    int message(const Principal& who, const QString& channel, const QJsonValue& message) override;
    double botRate() const override { return m_botRate; }
    void setBotRate(double rate);

protected:
    void personalize(const Viewer& viewer, DocumentTree& view) const override;
    int connected(const Principal& who) override;
    void disconnected(const Principal& who) override;
    void botStep() override;
    void migrateSchema(int toVersion) override;

private:
    void say(const Principal& who, const QString& what);
    void writeOnline();

    double m_botRate;
    qint64 m_nextLineId = 1;
    QStringList m_lineIds;
    qint64 m_count = 0;
};

}
