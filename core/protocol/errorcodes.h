#pragma once

#include <QString>

namespace deltascope {

// Adama failure codes (adama-wire.md section 9): names, meanings and whether the server's retry
// table lists them. Unknown codes get an empty name and are not retryable.
struct ErrorCodeInfo {
    int code = 0;
    QString name; // e.g. "AUTH_FORBIDDEN"; empty when unknown
    QString meaning; // one line for people
    bool retryable = false; // in the server's retry table (ErrorTable.java)
    bool fatalForStream = false; // the reference client gives up on the document stream
};

namespace errorcodes {
inline constexpr int SocketLost = 999; // synthetic, client-side only
inline constexpr int AuthForbidden = 403403;
inline constexpr int AuthDisconnected = 403500;
inline constexpr int ClientRejected = 184333;
inline constexpr int LegacyFatal = 982253;
inline constexpr int MessageAlreadySent = 143407;
inline constexpr int NetLcsmTimeout = 928828;
}

ErrorCodeInfo errorCodeInfo(int code);
QString errorCodeName(int code); // name, or the number as text when unknown
bool isRetryableCode(int code);
// 403403, 403500, 184333 and the legacy 982253: the reference client stops retrying the stream.
bool isFatalStreamCode(int code);
// "403403 AUTH_FORBIDDEN (fatal)" style text for timelines and the CLI.
QString describeErrorCode(int code);

}
