#pragma once

#include <QByteArray>
#include <QHash>
#include <QJsonObject>
#include <QString>

namespace deltascope::server {

// Who is acting on a document, as Adama names it: {"agent":..,"authority":..}.
struct Principal {
    QString agent;
    QString authority;

    bool operator==(const Principal& other) const = default;
    bool isValid() const { return !agent.isEmpty(); }
    QJsonObject toJson() const;
    QString toString() const; // "agent@authority", for logs
};

size_t qHash(const Principal& principal, size_t seed = 0);

struct IdentityResult {
    Principal principal;
    int error = 0; // 0 or the failure code
};

// Resolves an `identity` parameter: `anonymous:NAME` names {NAME, "anonymous"}; `cookie:NAME`
// substitutes the upgrade request's `id_NAME` cookie; a JWT-shaped token names its `sub` claim
// (authority: its `iss`, or "jwt"); any other string is an opaque token whose principal is
// {"token-" + first 12 hex digits of its SHA-256, "token"}, so secrets never appear in documents.
IdentityResult resolveIdentity(const QString& identity, const QHash<QString, QString>& cookieIdentities);

}
