#pragma once

#include <QWidget>

class QCheckBox;
class QLabel;
class QLineEdit;
class QPushButton;

namespace deltascope::ui {

// Sends a message on a channel (connection/send, or send-once with a dedupe token) and updates
// the viewer state (connection/update). JSON is validated as it is typed; nothing invalid is sent.
class MessageComposer : public QWidget
{
    Q_OBJECT
public:
    explicit MessageComposer(QWidget* parent = nullptr);

    void setChannel(const QString& channel);
    void setMessage(const QString& json);
    void setSendOnce(bool once);
    void setViewerState(const QString& json);
    void setSessionReady(bool ready); // the buttons work only with an open stream

    // Empty when valid; otherwise what is wrong (for the tooltip and tests).
    QString messageError() const;
    QString viewerStateError() const;

    // Checks and emits; returns false (with the reason shown) when the input is not valid.
    bool send();
    bool updateViewerState();
    // What became of a send or update, in red when it failed: shown until the user edits the
    // channel or message, sends again, or clearOutcome() (a new session). What is wrong with the
    // input is shown instead while it is wrong.
    void showOutcome(const QString& text, bool failed);
    void clearOutcome();
    QString statusText() const;

Q_SIGNALS:
    void sendRequested(const QString& channel, const QByteArray& messageJson, bool once);
    void viewerStateRequested(const QByteArray& json);

private:
    void validate();
    void showStatus(const QString& text, bool failed);

    QLineEdit* m_channel = nullptr;
    QLineEdit* m_message = nullptr;
    QCheckBox* m_once = nullptr;
    QPushButton* m_send = nullptr;
    QLineEdit* m_viewerState = nullptr;
    QPushButton* m_update = nullptr;
    QLabel* m_status = nullptr;
    bool m_ready = false;
    QString m_outcome; // the last send's or update's result, kept across validate()
    bool m_outcomeFailed = false;
};

}
