#include "core/server/principal.h"

#include "core/server/serverwire.h"

#include <QCryptographicHash>
#include <QJsonDocument>

namespace deltascope::server {

QJsonObject Principal::toJson() const
{
    return QJsonObject { { QStringLiteral("agent"), agent }, { QStringLiteral("authority"), authority } };
}

QString Principal::toString() const
{
    return agent + QLatin1Char('@') + authority;
}

size_t qHash(const Principal& principal, size_t seed)
{
    return qHashMulti(seed, principal.agent, principal.authority);
}

namespace {

IdentityResult resolveToken(const QString& token)
{
    if (token.isEmpty())
        return { {}, ErrorCode::InvalidTokenLayout };
    const QStringList parts = token.split(QLatin1Char('.'));
    if (parts.size() == 3) {
        const QByteArray payload = QByteArray::fromBase64(parts.at(1).toLatin1(),
            QByteArray::Base64UrlEncoding | QByteArray::OmitTrailingEquals);
        const QJsonObject claims = QJsonDocument::fromJson(payload).object();
        const QString subject = claims.value(QLatin1String("sub")).toString();
        if (!subject.isEmpty()) {
            const QString issuer = claims.value(QLatin1String("iss")).toString();
            return { { subject, issuer.isEmpty() ? QStringLiteral("jwt") : issuer }, 0 };
        }
    }
    const QByteArray digest = QCryptographicHash::hash(token.toUtf8(), QCryptographicHash::Sha256).toHex();
    return { { QStringLiteral("token-") + QString::fromLatin1(digest.left(12)), QStringLiteral("token") }, 0 };
}

}

IdentityResult resolveIdentity(const QString& identity, const QHash<QString, QString>& cookieIdentities)
{
    static const QLatin1String anonymous("anonymous:");
    static const QLatin1String cookie("cookie:");
    if (identity.startsWith(anonymous)) {
        const QString name = identity.mid(anonymous.size());
        if (name.isEmpty())
            return { {}, ErrorCode::InvalidTokenLayout };
        return { { name, QStringLiteral("anonymous") }, 0 };
    }
    if (identity.startsWith(cookie)) {
        const auto it = cookieIdentities.constFind(identity.mid(cookie.size()));
        if (it == cookieIdentities.constEnd())
            return { {}, ErrorCode::InvalidTokenLayout };
        if (it->startsWith(cookie))
            return { {}, ErrorCode::InvalidTokenLayout }; // no cookie chains
        return resolveIdentity(*it, {});
    }
    return resolveToken(identity);
}

}
