#include "ui/messagecomposer.h"

#include "core/protocol/envelope.h"
#include "ui/lineeditwidth.h"

#include <QCheckBox>
#include <QHBoxLayout>
#include <QJsonDocument>
#include <QLabel>
#include <QLineEdit>
#include <QPainter>
#include <QPushButton>
#include <QRegularExpression>

namespace deltascope::ui {

namespace {
QString jsonError(const QString& text, bool allowArray, const QString& what)
{
    if (text.trimmed().isEmpty())
        return QObject::tr("%1 is empty").arg(what);
    QJsonParseError error {};
    const QJsonDocument document = QJsonDocument::fromJson(text.toUtf8(), &error);
    if (error.error != QJsonParseError::NoError)
        return QObject::tr("%1 is not JSON (offset %2: %3)").arg(what).arg(error.offset).arg(error.errorString());
    if (!document.isObject() && !(allowArray && document.isArray()))
        return allowArray ? QObject::tr("%1 must be a JSON object or array").arg(what) : QObject::tr("%1 must be a JSON object").arg(what);
    return {};
}

// The send result: its size never follows its text, so a result that appears (or a longer one)
// does not shift the fields beside it; what does not fit is elided, whole in the tooltip.
class StatusLabel : public QLabel
{
public:
    using QLabel::QLabel;
    QSize sizeHint() const override { return { fontMetrics().averageCharWidth() * 40, QLabel::sizeHint().height() }; }
    QSize minimumSizeHint() const override { return { fontMetrics().averageCharWidth() * 16, QLabel::minimumSizeHint().height() }; }

protected:
    void paintEvent(QPaintEvent*) override
    {
        QPainter painter(this);
        const QRect area = contentsRect();
        painter.setPen(palette().color(foregroundRole()));
        painter.drawText(area, Qt::AlignVCenter | Qt::AlignLeft, fontMetrics().elidedText(text(), Qt::ElideRight, area.width()));
    }
};
}

MessageComposer::MessageComposer(QWidget* parent)
    : QWidget(parent)
{
    auto* layout = new QHBoxLayout(this);
    layout->setContentsMargins(6, 0, 6, 2);
    layout->addWidget(new QLabel(tr("Send on"), this));
    m_channel = new QLineEdit(this);
    m_channel->setObjectName(QStringLiteral("composerChannel"));
    m_channel->setPlaceholderText(tr("channel"));
    m_channel->setMaximumWidth(140);
    setMinimumTextWidth(m_channel, QStringLiteral("play"));
    layout->addWidget(m_channel);
    m_message = new QLineEdit(this);
    m_message->setObjectName(QStringLiteral("composerMessage"));
    m_message->setPlaceholderText(tr("message JSON, e.g. {\"text\":\"hi\"}"));
    setMinimumTextWidth(m_message, QStringLiteral("{\"what\":\"hi\"}"));
    layout->addWidget(m_message, 3);
    m_once = new QCheckBox(tr("once"), this);
    m_once->setObjectName(QStringLiteral("composerOnce"));
    m_once->setToolTip(tr("connection/send-once: a dedupe token makes a repeated send harmless"));
    layout->addWidget(m_once);
    m_send = new QPushButton(tr("Send"), this);
    m_send->setObjectName(QStringLiteral("composerSend"));
    layout->addWidget(m_send);
    layout->addSpacing(12);
    layout->addWidget(new QLabel(tr("Viewer state"), this));
    m_viewerState = new QLineEdit(this);
    m_viewerState->setObjectName(QStringLiteral("composerViewerState"));
    m_viewerState->setPlaceholderText(QStringLiteral("{}"));
    setMinimumTextWidth(m_viewerState, QStringLiteral("{\"page\":0}"));
    layout->addWidget(m_viewerState, 1);
    m_update = new QPushButton(tr("Update"), this);
    m_update->setObjectName(QStringLiteral("composerUpdate"));
    m_update->setToolTip(tr("connection/update with this viewer state"));
    layout->addWidget(m_update);
    m_status = new StatusLabel(this);
    m_status->setObjectName(QStringLiteral("composerStatus"));
    layout->addWidget(m_status, 1);

    // A result answers the message as it was sent: a change to it (typed, or a demo's) retires it.
    // The viewer state is not part of it, and the document may push a new one at any time.
    connect(m_channel, &QLineEdit::textChanged, this, &MessageComposer::clearOutcome);
    connect(m_message, &QLineEdit::textChanged, this, &MessageComposer::clearOutcome);
    connect(m_viewerState, &QLineEdit::textEdited, this, &MessageComposer::clearOutcome);
    connect(m_channel, &QLineEdit::textChanged, this, &MessageComposer::validate);
    connect(m_message, &QLineEdit::textChanged, this, &MessageComposer::validate);
    connect(m_viewerState, &QLineEdit::textChanged, this, &MessageComposer::validate);
    connect(m_send, &QPushButton::clicked, this, &MessageComposer::send);
    connect(m_message, &QLineEdit::returnPressed, this, &MessageComposer::send);
    connect(m_update, &QPushButton::clicked, this, &MessageComposer::updateViewerState);
    connect(m_viewerState, &QLineEdit::returnPressed, this, &MessageComposer::updateViewerState);
    validate();
}

void MessageComposer::setChannel(const QString& channel) { m_channel->setText(channel); }
void MessageComposer::setMessage(const QString& json) { m_message->setText(json); }
void MessageComposer::setSendOnce(bool once) { m_once->setChecked(once); }
void MessageComposer::setViewerState(const QString& json) { m_viewerState->setText(json); }

void MessageComposer::setSessionReady(bool ready)
{
    // Called on every status tick: only a change re-validates.
    if (ready == m_ready)
        return;
    m_ready = ready;
    validate();
}

QString MessageComposer::messageError() const
{
    static const QRegularExpression identifier(QStringLiteral("^[A-Za-z_][A-Za-z0-9_]*$"));
    if (!identifier.match(m_channel->text().trimmed()).hasMatch())
        return tr("the channel must be an identifier (letters, digits, _)");
    return jsonError(m_message->text(), true, tr("the message"));
}

QString MessageComposer::viewerStateError() const
{
    return jsonError(m_viewerState->text(), false, tr("the viewer state"));
}

void MessageComposer::validate()
{
    const QString message = messageError();
    const QString view = viewerStateError();
    m_send->setEnabled(m_ready && message.isEmpty());
    m_update->setEnabled(m_ready && view.isEmpty());
    m_send->setToolTip(message.isEmpty() ? tr("Send (Enter in the message field)") : message);
    m_update->setToolTip(view.isEmpty() ? tr("connection/update with this viewer state") : view);
    if (!m_message->text().isEmpty() && !message.isEmpty())
        showStatus(message, true);
    else if (!m_viewerState->text().isEmpty() && !view.isEmpty())
        showStatus(view, true);
    else
        showStatus(m_outcome, m_outcomeFailed);
}

void MessageComposer::showOutcome(const QString& text, bool failed)
{
    m_outcome = text;
    m_outcomeFailed = failed;
    showStatus(text, failed);
}

void MessageComposer::clearOutcome()
{
    showOutcome(QString(), false);
}

void MessageComposer::showStatus(const QString& text, bool failed)
{
    QPalette palette = m_status->palette();
    palette.setColor(QPalette::WindowText, failed ? QColor(0xc6, 0x28, 0x28) : QColor(0x2e, 0x7d, 0x32));
    m_status->setPalette(palette);
    m_status->setText(text);
    m_status->setToolTip(text);
}

QString MessageComposer::statusText() const
{
    return m_status->text();
}

bool MessageComposer::send()
{
    const QString error = messageError();
    if (!error.isEmpty() || !m_ready) {
        showOutcome(error.isEmpty() ? tr("not connected: connect first, then send") : error, true);
        return false;
    }
    // Minified, not re-encoded: the text's numbers (longs beyond 2^53) go out exactly as typed.
    const QByteArray json = minifyJson(m_message->text().toUtf8());
    showOutcome(tr("sending…"), false); // the previous result is not this send's
    Q_EMIT sendRequested(m_channel->text().trimmed(), json, m_once->isChecked());
    return true;
}

bool MessageComposer::updateViewerState()
{
    const QString error = viewerStateError();
    if (!error.isEmpty() || !m_ready) {
        showOutcome(error.isEmpty() ? tr("not connected: connect first, then update") : error, true);
        return false;
    }
    showOutcome(tr("updating…"), false);
    Q_EMIT viewerStateRequested(minifyJson(m_viewerState->text().toUtf8()));
    return true;
}

}
