#include "core/logging.h"

Q_LOGGING_CATEGORY(lcDocument, "deltascope.document", QtWarningMsg)
Q_LOGGING_CATEGORY(lcProtocol, "deltascope.protocol", QtWarningMsg)
Q_LOGGING_CATEGORY(lcSession, "deltascope.session", QtWarningMsg)
Q_LOGGING_CATEGORY(lcCapture, "deltascope.capture", QtWarningMsg)
Q_LOGGING_CATEGORY(lcFaults, "deltascope.faults", QtWarningMsg)
Q_LOGGING_CATEGORY(lcServer, "deltascope.server", QtInfoMsg)
Q_LOGGING_CATEGORY(lcUi, "deltascope.ui", QtWarningMsg)
