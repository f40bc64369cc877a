#include "core/faults/servercontrol.h"

#include "core/faults/faultproxy.h"
#include "core/server/referenceserver.h"

#include <QDateTime>
#include <QPointer>

namespace deltascope::faults {

FaultPlanRunner::ServerControl referenceServerControl(server::ReferenceServer* server, FaultProxy* proxy)
{
    QPointer<server::ReferenceServer> target(server);
    QPointer<FaultProxy> via(proxy);
    return [target, via](const FaultSpec& fault, QString* error) {
        if (!target || !via) {
            if (error)
                *error = QStringLiteral("the reference server or the proxy is gone");
            return false;
        }
        if (fault.type != FaultType::ServerRedeploy) {
            if (error)
                *error = QStringLiteral("the server control does not carry out '%1'").arg(fault.name());
            return false;
        }
        QString version = fault.params.value(QLatin1String("version")).toString();
        if (version.isEmpty())
            version = QStringLiteral("redeployed-%1").arg(QDateTime::currentMSecsSinceEpoch());
        const int downMs = fault.params.value(QLatin1String("downMs")).toInt();
        QJsonObject params = fault.params;
        params.insert(QStringLiteral("version"), version);
        params.insert(QStringLiteral("simulated"), false);
        params.insert(QStringLiteral("previousVersion"), target->helloVersion());
        // Order matters: the new version must be in place before anyone can reconnect.
        target->setHelloVersion(version);
        via->refuseFor(downMs);
        const int closed = target->closeSockets(server::ServerConnection::CloseKind::Fin);
        via->reportExternal({ fault.name(), params, false, -1,
            QStringLiteral(
                "reference server redeployed: %1 socket(s) closed, connects refused for %2 ms, hello version now '%3'")
                .arg(closed)
                .arg(downMs)
                .arg(version),
            0 });
        return true;
    };
}

}
