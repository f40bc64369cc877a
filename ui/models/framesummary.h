#pragma once

#include "core/session/sessionevent.h"

#include <QByteArray>
#include <QJsonValue>
#include <QString>

namespace deltascope::ui {

// One line for the timeline's summary column, from the frame text (or a local event's JSON
// fields). Identity tokens are masked. Frames over a size limit are summarized without parsing.
QString summarizeFrame(EventKind kind, const QByteArray& payload, const QString& method);

// The frame pretty-printed for the detail pane (identity tokens masked); non-JSON payloads come
// back as text with a note saying why they could not be formatted.
QString prettyFrame(const QByteArray& payload, QString* parseError = nullptr);

// Compact JSON for a value, cut to maxChars with an ellipsis.
QString compactJson(const QJsonValue& value, int maxChars);

}
