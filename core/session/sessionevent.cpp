#include "core/session/sessionevent.h"

#include <array>

namespace deltascope {

namespace {
constexpr std::array<const char*, std::size_t(EventKind::Count_)> kKindNames = {
    "hello", "ping", "stream-item", "response", "stream-done", "failure", "disconnected", "unknown-in",
    "malformed-in", "request", "pong", "unknown-out", "state", "reconnect-planned", "epoch", "anomaly",
    "fault", "incident", "version-changed", "note",
};
}

QString directionName(Direction direction)
{
    switch (direction) {
    case Direction::Inbound:
        return QStringLiteral("in");
    case Direction::Outbound:
        return QStringLiteral("out");
    case Direction::Local:
        return QStringLiteral("local");
    }
    return {};
}

bool directionFromName(QStringView name, Direction& out)
{
    for (Direction direction : { Direction::Inbound, Direction::Outbound, Direction::Local }) {
        if (name == directionName(direction)) {
            out = direction;
            return true;
        }
    }
    return false;
}

QString eventKindName(EventKind kind)
{
    const auto index = std::size_t(kind);
    return index < kKindNames.size() ? QString::fromLatin1(kKindNames[index]) : QStringLiteral("unknown");
}

bool eventKindFromName(QStringView name, EventKind& out)
{
    for (std::size_t i = 0; i < kKindNames.size(); ++i) {
        if (name == QLatin1String(kKindNames[i])) {
            out = EventKind(i);
            return true;
        }
    }
    return false;
}

Direction naturalDirection(EventKind kind)
{
    switch (kind) {
    case EventKind::Hello:
    case EventKind::Ping:
    case EventKind::StreamItem:
    case EventKind::Response:
    case EventKind::StreamDone:
    case EventKind::Failure:
    case EventKind::Disconnected:
    case EventKind::UnknownInbound:
    case EventKind::MalformedInbound:
        return Direction::Inbound;
    case EventKind::Request:
    case EventKind::Pong:
    case EventKind::UnknownOutbound:
        return Direction::Outbound;
    default:
        return Direction::Local;
    }
}

}
