#pragma once

#include <QWidget>

class QLineEdit;
class QPushButton;
class QLabel;
class QToolButton;

namespace deltascope::ui {

// The connection bar: endpoint URL, identity (masked), space, key, viewer state, Connect, and a
// badge with the connection state.
class ConnectionBar : public QWidget
{
    Q_OBJECT
public:
    explicit ConnectionBar(QWidget* parent = nullptr);

    QString url() const;
    QString identity() const;
    QString space() const;
    QString key() const;
    QString viewerState() const;

    void setUrl(const QString& url);
    void setIdentity(const QString& identity);
    void setSpace(const QString& space);
    void setKey(const QString& key);
    void setViewerState(const QString& json);

    void setStateText(const QString& text, const QString& toolTip = {});
    QString stateText() const;
    QPushButton* connectButton() const { return m_connectButton; }

    // While a session runs the button disconnects it.
    void setSessionActive(bool active);
    bool isSessionActive() const { return m_sessionActive; }
    // Shows that TLS certificates are not verified (--insecure).
    void setInsecure(bool insecure);
    bool isInsecure() const { return m_insecure; }

    // Recent connections (URL, space, key, viewer state; never the identity), newest first.
    void rememberCurrent();
    // The bar's URL, space, key and viewer state as a Recent entry would hold them; remember()
    // puts such an entry first in Recent (kept from when it connected, should the bar change).
    QStringList currentEntry() const;
    void remember(const QStringList& entry);
    void focusViewerState();
    QStringList recentConnections() const;
    static constexpr int kMaxRecent = 10;

    // Empty when the viewer state is a JSON object (or empty); otherwise what is wrong with it.
    QString viewerStateError() const;

Q_SIGNALS:
    void connectRequested();
    void disconnectRequested();

private:
    void validateViewerState();
    void fillRecentMenu();

    QLineEdit* m_url = nullptr;
    QLineEdit* m_identity = nullptr;
    QToolButton* m_showIdentity = nullptr;
    QLineEdit* m_space = nullptr;
    QLineEdit* m_key = nullptr;
    QLineEdit* m_viewerState = nullptr;
    QPushButton* m_connectButton = nullptr;
    QLabel* m_stateBadge = nullptr;
    QString m_fullStateText; // what the badge says, before it is cut to its width
    QLabel* m_insecureLabel = nullptr;
    QToolButton* m_recentButton = nullptr;
    bool m_sessionActive = false;
    bool m_insecure = false;
};

}
