#pragma once

#include <QLoggingCategory>

// Logging categories of the core. Enable with QT_LOGGING_RULES or --log-rules, e.g.
// "deltascope.protocol.debug=true". Chatty categories default to warnings only.
Q_DECLARE_LOGGING_CATEGORY(lcDocument)
Q_DECLARE_LOGGING_CATEGORY(lcProtocol)
Q_DECLARE_LOGGING_CATEGORY(lcSession)
Q_DECLARE_LOGGING_CATEGORY(lcCapture)
Q_DECLARE_LOGGING_CATEGORY(lcFaults)
Q_DECLARE_LOGGING_CATEGORY(lcServer)
Q_DECLARE_LOGGING_CATEGORY(lcUi)
