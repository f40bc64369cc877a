#include "core/protocol/errorcodes.h"

#include <array>

namespace deltascope {

namespace {
struct Entry {
    int code;
    const char* name;
    const char* meaning;
};

// Names and meanings from adama-wire.md section 9 (ErrorCodes.java / api.xml).
constexpr Entry kEntries[] = {
    { 999, "SOCKET_LOST", "synthetic, client-side only: socket lost while the request was pending" },
    { 403403, "AUTH_FORBIDDEN", "the identity may not do this" },
    { 403500, "AUTH_DISCONNECTED", "the document forced a disconnect (force-disconnect)" },
    { 184333, "LIVING_DOCUMENT_TRANSACTION_CLIENT_REJECTED", "@connected returned false" },
    { 982253, "legacy fatal code", "legacy code the reference client gives up on" },
    { 625676, "UNIVERSAL_LOOKUP_FAILED", "document not found" },
    { 143373, "CANT_SEND_NOT_CONNECTED", "send on a connection that is not connected" },
    { 145627, "FAILED_PARSE_MESSAGE", "the message could not be parsed" },
    { 143407, "LIVING_DOCUMENT_TRANSACTION_MESSAGE_ALREADY_SENT", "send-once dedupe hit: the message was already sent" },
    { 457745, "unknown connection (send)", "connection/send: no such connection on this socket" },
    { 410619, "unknown connection (send-once)", "connection/send-once: no such connection on this socket" },
    { 438302, "unknown connection (update)", "connection/update: no such connection on this socket" },
    { 474128, "unknown connection (end)", "connection/end: no such connection on this socket" },
    { 462832, "unknown connection (password)", "connection/password: no such connection on this socket" },
    { 494559, "unknown connection (can-attach)", "connection/can-attach: no such connection on this socket" },
    { 442363, "unknown connection (attach)", "connection/attach: no such connection on this socket" },
    { 945213, "API_METHOD_NOT_FOUND", "unknown method" },
    { 213708, "no method", "request without a method" },
    { 233120, "no id", "request without a valid id (socket-fatal status frame)" },
    { 213711, "binary frame", "binary frame received (socket-fatal status frame)" },
    { 295116, "uncaught", "uncaught error reading a frame, e.g. bad JSON (socket-fatal status frame)" },
    { 123004, "DOCUMENT_QUEUE_BUSY_TOO_MANY_PENDING_ITEMS", "document queue full" },
    { 192639, "DOCUMENT_QUEUE_BUSY_WAY_BEHIND", "document queue way behind" },
    { 146115, "document shedding load", "document queue shedding load" },
    { 928828, "NET_LCSM_TIMEOUT", "internal failover gave up" },
    { 183498, "SHIELD_REJECT (connect)", "shield rejected the connect" },
    { 199883, "SHIELD_REJECT (send)", "shield rejected the send" },
    { 146631, "SHIELD_REJECT (new document)", "shield rejected a new document" },
    { 983117, "net: premature disconnect", "internal network: premature disconnect" },
    { 718908, "net: connect timeout", "internal network: connect timeout" },
    { 769085, "net: connection done", "internal network: connection done" },
    { 458759, "missing identity", "connection/create without identity" },
    { 461828, "missing space", "connection/create without space" },
    { 466947, "missing key", "connection/create without key" },
    { 405505, "missing connection", "connection/send without connection" },
    { 454659, "missing channel", "connection/send without channel" },
    { 425987, "missing message", "connection/send without message" },
    // The rest of what the reference server answers with (core/server/serverwire.h), so that a
    // session against it never shows a bare number.
    { 461826, "missing arg", "document/create without arg" },
    { 465917, "missing password", "connection/password without password" },
    { 625678, "space does not exist", "no such space" },
    { 130092, "document already created", "document/create for a key that exists" },
    { 160268, "no channel handler", "the document has no handler for the channel" },
    { 950399, "channel empty", "the channel name is empty" },
    { 908415, "channel starts badly", "the channel name does not start as an identifier does" },
    { 967804, "channel has a bad character", "the channel name holds a character an identifier may not" },
    { 919676, "key empty", "the key is empty" },
    { 946192, "key not simple", "the key is too long or holds characters a key may not" },
    { 937076, "space empty", "the space is empty" },
    { 998515, "space not simple", "the space is too long or holds characters a space may not" },
    { 995342, "identity malformed", "the identity is not one the server can read (an empty anonymous name, an unknown cookie, a bad token)" },
};

// The server's full retry table (ErrorTable.java).
constexpr std::array<int, 18> kRetryable = { 123392, 198657, 130568, 134152, 143880, 138255, 144416, 146631, 183498,
    199883, 902223, 912544, 983117, 928828, 978162, 718908, 769085, 787507 };
}

bool isRetryableCode(int code)
{
    for (int retryable : kRetryable) {
        if (retryable == code)
            return true;
    }
    return false;
}

bool isFatalStreamCode(int code)
{
    return code == errorcodes::AuthForbidden || code == errorcodes::AuthDisconnected
        || code == errorcodes::ClientRejected || code == errorcodes::LegacyFatal;
}

ErrorCodeInfo errorCodeInfo(int code)
{
    ErrorCodeInfo info;
    info.code = code;
    info.retryable = isRetryableCode(code);
    info.fatalForStream = isFatalStreamCode(code);
    for (const Entry& entry : kEntries) {
        if (entry.code == code) {
            info.name = QString::fromLatin1(entry.name);
            info.meaning = QString::fromLatin1(entry.meaning);
            break;
        }
    }
    return info;
}

QString errorCodeName(int code)
{
    const ErrorCodeInfo info = errorCodeInfo(code);
    return info.name.isEmpty() ? QString::number(code) : info.name;
}

QString describeErrorCode(int code)
{
    const ErrorCodeInfo info = errorCodeInfo(code);
    QString text = QString::number(code);
    if (!info.name.isEmpty())
        text += QLatin1Char(' ') + info.name;
    if (info.fatalForStream)
        text += QStringLiteral(" (fatal)");
    else if (info.retryable)
        text += QStringLiteral(" (retryable)");
    return text;
}

}
