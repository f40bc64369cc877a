#include "ui/livecontroller.h"

#include "core/faults/faultplan.h"
#include "core/faults/faultproxy.h"
#include "core/faults/servercontrol.h"
#include "core/server/referenceserver.h"

#include <QDateTime>
#include <QJsonDocument>
#include <QJsonObject>
#include <QMutexLocker>

#include <algorithm>
#include <iterator>
#include <limits>
#include <utility>

namespace deltascope::ui {

void LiveController::DeleteOnNetworkThread::operator()(QObject* object) const
{
    owner->onNetworkThread([object] { delete object; });
}

LiveController::LiveController(QObject* parent)
    : QObject(parent)
    , m_server(nullptr, { this })
    , m_proxy(nullptr, { this })
    , m_planRunner(nullptr, { this })
{
    m_network.setObjectName(QStringLiteral("network"));
    m_networkContext = new QObject;
    m_networkContext->moveToThread(&m_network);
    m_network.start();
}

LiveController::~LiveController()
{
    // The session's socket goes before the proxy and the server it talks to.
    m_planRunner.reset();
    m_session.reset();
    m_proxy.reset();
    m_server.reset();
    m_network.quit();
    m_network.wait();
    delete m_networkContext; // its thread has ended, so it can go from here
}

void LiveController::onNetworkThread(const std::function<void()>& work)
{
    if (QThread::currentThread() == &m_network)
        work(); // a network object deleting another
    else
        QMetaObject::invokeMethod(m_networkContext, work, Qt::BlockingQueuedConnection);
}

QStringList LiveController::demoSpaces()
{
    return server::ReferenceServer::spaces();
}

QString LiveController::startDemoServer()
{
    if (m_server)
        return {};
    QString error;
    onNetworkThread([&] {
        server::ServerOptions options;
        options.bind = QHostAddress::LocalHost;
        options.port = 0;
        auto server = std::make_unique<server::ReferenceServer>(options);
        if (server->listen() == 0) {
            error = server->errorString();
            return;
        }
        m_serverUrl = server->url();
        m_serverPort = server->port();
        m_server.reset(server.release());
    });
    if (!error.isEmpty())
        return tr("The embedded demo server could not listen on 127.0.0.1: %1").arg(error);
    return {};
}

void LiveController::setDemoBotsPaused(bool paused)
{
    if (m_server)
        onNetworkThread([&] { m_server->setBotsPaused(paused); });
}

int LiveController::stallDemoServer(int milliseconds)
{
    int affected = 0;
    if (m_server)
        onNetworkThread([&] { affected = m_server->stall(milliseconds); });
    return affected;
}

bool LiveController::isActive() const
{
    if (!m_session)
        return false;
    const ConnectionState state = m_session->state();
    return state != ConnectionState::Idle && state != ConnectionState::Closed && state != ConnectionState::Failed;
}

bool LiveController::connectTo(const DocumentTarget& target, bool insecure, QString* error)
{
    disconnectSession();
    auto session = std::make_unique<LiveSession>();
    session->transport().setInsecure(insecure);
    connect(session.get(), &LiveSession::stateChanged, this, &LiveController::onStateChanged);
    // A fresh proxy per session: its connection numbers and counters describe this session only.
    NetworkPtr<faults::FaultProxy> proxy(nullptr, { this });
    DocumentTarget routed = target;
    if (m_routeThroughProxy && target.url.scheme() == QLatin1String("ws")) {
        QString proxyError;
        const quint64 generation = ++m_proxiesMade;
        onNetworkThread([&] {
            auto made = std::make_unique<faults::FaultProxy>();
            if (!made->setUpstream(target.url, &proxyError) || !made->listen(QHostAddress::LocalHost, 0, &proxyError))
                return;
            routed.url = made->clientUrl();
            // From the network thread into the queue, numbered, and a drain posted to this thread.
            // The proxy reports before it acts on the wire. The session's transport marks each
            // frame with how many reports were made when its socket read it and, before handing it on,
            // records the reports below its mark: so a fault is recorded before its effect, and
            // after the frames that arrived before it even when a backlog waits to be handed on.
            // Each report is timed as it is made, on the session's clock: it is recorded later.
            connect(
                made.get(), &faults::FaultProxy::faultInjected, this,
                [this, generation, now = session->clock().threadSafeNowNs()](const faults::FaultReport& report) {
                    QMutexLocker lock(&m_reportsLock);
                    const quint64 number = m_reportsPushed.load(std::memory_order_relaxed);
                    m_reports.push_back({ number, generation, report, now ? now() : -1 });
                    m_reportsPushed.store(number + 1, std::memory_order_release);
                    if (!m_reportsWaiting.exchange(true, std::memory_order_release))
                        QMetaObject::invokeMethod(this, &LiveController::recordReportedFaults, Qt::QueuedConnection);
                },
                Qt::DirectConnection);
            // Queued: a call may arrive after this proxy was replaced, and must not speak of it then.
            connect(made.get(), &faults::FaultProxy::upstreamFailed, this,
                [this, generation](const QString& note, const QString& error, bool outageStarts) {
                    if (generation == m_proxyGeneration)
                        onUpstreamFailed(note, error, outageStarts);
                });
            // A fault cleared before it could act (an inject without its stream, a message fault
            // whose frame never came) is logged, so a plan that did nothing does not read as tested.
            connect(made.get(), &faults::FaultProxy::faultNotApplied, this,
                [this, generation](const QString& fault, const QJsonObject& params, const QString& why) {
                    if (generation != m_proxyGeneration)
                        return;
                    const QString text = faults::notAppliedText(fault, params, why);
                    Q_EMIT faultLogged(text);
                    if (m_session)
                        m_session->addNote(text); // the capture says it too, as record's does
                });
            connect(made.get(), &faults::FaultProxy::upstreamReachable, this, [this, generation] {
                if (generation == m_proxyGeneration && !m_upstreamError.isEmpty())
                    Q_EMIT errorResolved(std::exchange(m_upstreamError, QString()));
            });
            proxy.reset(made.release());
        });
        if (!proxy) {
            // Faults are a tool, not a precondition: connect directly and say why they are off.
            Q_EMIT errorOccurred(tr("The fault proxy could not start (%1); connected directly, so only client-side drops are possible.").arg(proxyError),
                tr("Check that loopback TCP ports are available."));
        }
    }
    if (proxy) {
        session->client().setProxiedServer(target.url);
        // Before the socket opens, so that its thread marks each frame as it reads it.
        session->transport().setArrivalMark([this] { return m_reportsPushed.load(std::memory_order_acquire); });
        session->transport().setBeforeEachEvent([this](quint64 limit) { recordReportedFaultsBefore(limit); });
    }
    QString reason;
    if (!session->start(routed, &reason)) {
        if (error)
            *error = reason;
        Q_EMIT errorOccurred(tr("Could not connect to %1: %2").arg(target.url.toDisplayString(), reason),
            tr("Check the URL (ws:// or wss://, ending in /~s), the space and the key."));
        return false;
    }
    // What the previous proxy reported belongs to the previous session, all of it: its transport
    // hands nothing more on.
    recordReportedFaultsBefore(Transport::kNoLimit);
    m_proxyGeneration = proxy ? m_proxiesMade : 0;
    if (proxy)
        m_proxyUpstream = target.url;
    // The panes move to the new log before the old session (and its log) goes away.
    std::unique_ptr<LiveSession> previous = std::exchange(m_session, std::move(session));
    NetworkPtr<faults::FaultProxy> previousProxy = std::exchange(m_proxy, std::move(proxy));
    m_reconnectAtMs = -1;
    m_upstreamError.clear();
    m_upgradeError.clear();
    Q_EMIT sessionChanged(m_session.get());
    previous.reset();
    previousProxy.reset();
    return true;
}

void LiveController::disconnectSession()
{
    stopPlan();
    if (!m_session)
        return;
    m_session->disconnect(this);
    if (isActive())
        m_session->stop();
    // What was applied by hand and never got to act (an inject waiting for its stream, a message
    // fault waiting for its frame) is said in the fault log now, not lost with the proxy later.
    if (m_proxy)
        onNetworkThread([&] { m_proxy->shutdown(); });
    m_reconnectAtMs = -1;
    // Their banners say the client keeps retrying, which stops here.
    for (QString* retrying : { &m_upstreamError, &m_upgradeError }) {
        if (!retrying->isEmpty())
            Q_EMIT errorResolved(std::exchange(*retrying, QString()));
    }
    // The log stays readable until the next session replaces it in the panes.
    Q_EMIT stateChanged(ConnectionState::Closed, tr("disconnected by the user"));
}

qint64 LiveController::reconnectRemainingMs() const
{
    if (m_reconnectAtMs < 0)
        return -1;
    return std::max<qint64>(0, m_reconnectAtMs - QDateTime::currentMSecsSinceEpoch());
}

void LiveController::onStateChanged(ConnectionState state, ConnectionState, const QString& reason)
{
    m_reconnectAtMs = -1;
    if (state == ConnectionState::Reconnecting && m_session) {
        // The planned delay was recorded just before the state change.
        const std::vector<qint64>& planned = m_session->log().indexesOfKind(EventKind::ReconnectPlanned);
        if (!planned.empty()) {
            const QJsonObject fields = QJsonDocument::fromJson(m_session->log().payload(planned.back())).object();
            const qint64 delay = fields.value(u"delayMs").toVariant().toLongLong();
            m_reconnectAtMs = m_session->log().at(planned.back()).wallMs + delay;
        }
    }
    Q_EMIT stateChanged(state, reason);
    // A server that answers the upgrade with an HTTP error (a wrong path: 404) is reached but will
    // not take the socket, retry after retry: said once in the banner, not only in the timeline.
    static const QLatin1String kRefusedUpgrade("answered the WebSocket upgrade with HTTP");
    if (state == ConnectionState::Reconnecting && reason.contains(kRefusedUpgrade)) {
        QString what = reason.mid(reason.indexOf(QLatin1String("the server ")));
        if (const qsizetype retry = what.lastIndexOf(QLatin1String("; reopening in")); retry > 0)
            what.truncate(retry);
        what = tr("Could not open the socket: %1. The client keeps retrying.").arg(what);
        if (what != m_upgradeError) {
            m_upgradeError = what;
            Q_EMIT errorOccurred(m_upgradeError, tr("Check the URL's path; Disconnect stops the retries."));
        }
    } else if (state == ConnectionState::Streaming && !m_upgradeError.isEmpty()) {
        Q_EMIT errorResolved(std::exchange(m_upgradeError, QString()));
    }
    if (state == ConnectionState::Failed)
        Q_EMIT errorOccurred(tr("The connection failed: %1").arg(reason),
            tr("Check that the server is running and the identity may open this document, then Connect again."));
}

}

namespace deltascope::ui {

bool LiveController::upstreamIsDemoServer() const
{
    return m_server && m_proxy && m_proxyUpstream.port() == m_serverPort && QHostAddress(m_proxyUpstream.host()).isLoopback();
}

QString LiveController::faultsUnavailableReason() const
{
    if (!m_session || !isActive())
        return tr("Connect first: faults act on a live connection.");
    if (!m_proxy) {
        if (!m_routeThroughProxy)
            return tr("Fault injection is off for this session (Session \u25B8 Route through the fault proxy).");
        return tr("Only ws:// sessions go through the fault proxy; this one connects directly.");
    }
    return {};
}

QString LiveController::faultActionsUnavailableReason() const
{
    if (!m_session || !isActive())
        return faultsUnavailableReason(); // "Connect first", said in one place
    switch (m_session->state()) {
    case ConnectionState::Connecting:
    case ConnectionState::Handshaking:
        return tr("Connecting: faults act on a live connection, once it is open.");
    case ConnectionState::Reconnecting:
        return tr("Reconnecting: faults act on a live connection, once it is open again.");
    default:
        return {};
    }
}

void LiveController::recordReportedFaults()
{
    m_drainPosted = false;
    // What was reported before the oldest frame that waits (here or on its way from the socket's
    // thread) was read goes now; the transport's hook records the rest as it hands those frames on.
    // (Without a proxy the transport has no hook, and what waits here is stale anyway.)
    const quint64 limit = m_session && m_proxyGeneration != 0 ? m_session->transport().recordableBelow() : Transport::kNoLimit;
    recordReportedFaultsBefore(limit);
}

void LiveController::recordReportedFaultsBefore(quint64 limit)
{
    if (!m_reportsWaiting.load(std::memory_order_acquire))
        return; // the common case, before every frame: nothing to take the lock for
    std::vector<QueuedReport> due;
    bool remain = false;
    {
        QMutexLocker lock(&m_reportsLock);
        const auto later = std::find_if(
            m_reports.begin(), m_reports.end(), [limit](const QueuedReport& queued) { return queued.number >= limit; });
        due.assign(std::make_move_iterator(m_reports.begin()), std::make_move_iterator(later));
        m_reports.erase(m_reports.begin(), later);
        remain = !m_reports.empty();
        m_reportsWaiting.store(remain, std::memory_order_relaxed);
    }
    for (const QueuedReport& queued : due) {
        if (queued.generation == m_proxyGeneration) // not from a proxy already replaced
            onFaultInjected(queued.report, queued.atNs);
    }
    // Reports made after `limit` was read, while earlier ones waited, posted no drain of their own:
    // with no frame left to hand on (whose hook would take them), one is posted here.
    if (remain && !m_drainPosted && (!m_session || m_session->transport().pendingInbound() == 0)) {
        m_drainPosted = true;
        QMetaObject::invokeMethod(this, &LiveController::recordReportedFaults, Qt::QueuedConnection);
    }
}

void LiveController::onFaultInjected(const faults::FaultReport& report, qint64 atNs)
{
    if (m_session)
        m_session->recordLocal(EventKind::FaultInjected, QJsonDocument(report.toJson()).toJson(QJsonDocument::Compact),
            report.connection, report.corrupting ? FlagCorrupting : 0, atNs);
    QString line = report.fault;
    if (!report.detail.isEmpty())
        line += QStringLiteral(": ") + report.detail;
    else if (!report.params.isEmpty())
        line += QLatin1Char(' ') + QString::fromUtf8(QJsonDocument(report.params).toJson(QJsonDocument::Compact));
    if (report.corrupting)
        line += tr(" (corrupts the client's tree silently)");
    Q_EMIT faultLogged(line);
}

void LiveController::onUpstreamFailed(const QString& note, const QString& error, bool outageStarts)
{
    if (!m_session || !m_proxy || !isActive())
        return; // queued before a Disconnect: nothing retries any more
    // Behind the proxy the client only sees its own connection reset ("the remote host closed the
    // connection"); the proxy knows why: the server refused it, or is not there.
    m_session->addNote(note);
    if (!outageStarts)
        return;
    m_upstreamError = tr("The server %1 cannot be reached: %2. The client keeps retrying.").arg(m_proxyUpstream.toDisplayString(), error);
    Q_EMIT errorOccurred(m_upstreamError,
        tr("Check that the server is running and that the URL's host and port are right; Disconnect stops the retries."));
}

bool LiveController::applyFault(const QString& name, const QJsonObject& params, QString* error)
{
    const QString unavailable = faultsUnavailableReason();
    if (!unavailable.isEmpty()) {
        if (error)
            *error = unavailable;
        return false;
    }
    faults::FaultSpec spec;
    if (!faults::FaultSpec::fromNameAndParams(name, params, name, spec, error))
        return false;
    // A redeploy of the embedded server is real; against any other server the proxy simulates it.
    const bool redeployDemoServer = spec.type == faults::FaultType::ServerRedeploy && upstreamIsDemoServer();
    bool applied = false;
    QString why;
    onNetworkThread([&] {
        applied = redeployDemoServer ? faults::referenceServerControl(m_server.get(), m_proxy.get())(spec, &why) : m_proxy->apply(spec, &why);
    });
    if (!applied && error)
        *error = why;
    recordReportedFaults();
    return applied;
}

bool LiveController::runPlan(const QString& pathOrName, QString* error)
{
    const QString unavailable = faultsUnavailableReason();
    if (!unavailable.isEmpty()) {
        if (error)
            *error = unavailable;
        return false;
    }
    faults::FaultPlan plan;
    if (!faults::FaultPlan::load(pathOrName, plan, error))
        return false;
    stopPlan();
    const QString name = plan.name.isEmpty() ? pathOrName : plan.name;
    if (m_session)
        m_session->recordLocal(EventKind::Note,
            QJsonDocument(QJsonObject { { QStringLiteral("note"), QStringLiteral("fault plan started") }, { QStringLiteral("plan"), name },
                              { QStringLiteral("seed"), QString::number(plan.seed) } })
                .toJson(QJsonDocument::Compact));
    const bool controlsDemoServer = upstreamIsDemoServer();
    // Its signals are queued and may arrive after it was stopped (a next plan's runner can even
    // reuse its address): each handler checks that its plan is still the current one.
    const quint64 number = ++m_plansStarted;
    // The runner lives beside the proxy: a step triggered by a frame acts before the next frame.
    onNetworkThread([&] {
        auto runner = std::make_unique<faults::FaultPlanRunner>(m_proxy.get(), plan);
        if (controlsDemoServer)
            runner->setServerControl(faults::referenceServerControl(m_server.get(), m_proxy.get()));
        connect(runner.get(), &faults::FaultPlanRunner::stepFired, this, [this, number](int step, const QString& description) {
            if (number == m_planNumber)
                Q_EMIT faultLogged(tr("plan step %1: %2").arg(step + 1).arg(description));
        });
        connect(runner.get(), &faults::FaultPlanRunner::stepFailed, this, [this, number](int step, const QString& why) {
            if (number == m_planNumber)
                Q_EMIT faultLogged(tr("plan step %1 failed: %2").arg(step + 1).arg(why));
        });
        connect(runner.get(), &faults::FaultPlanRunner::finished, this, [this, name, number] {
            if (number != m_planNumber)
                return;
            if (m_planEnd->isActive()) {
                // Its faults last the plan's duration: it ends (and clears them) then.
                Q_EMIT faultLogged(tr("plan %1: every step is applied (a message fault acts when its frame passes); it ends, clearing its faults, in %2 s")
                                       .arg(name)
                                       .arg(double(m_planEnd->remainingTime()) / 1000.0, 0, 'f', 1));
                return;
            }
            m_planNumber = 0;
            Q_EMIT faultLogged(tr("plan %1: every step is applied; what it set (and a message fault still waiting for its frame) stays on until Clear all faults").arg(name));
            Q_EMIT planStateChanged(false, name);
        });
        runner->start();
        m_planRunner.reset(runner.release());
    });
    m_planNumber = number;
    m_planName = name;
    if (!m_planEnd) {
        m_planEnd = new QTimer(this);
        m_planEnd->setSingleShot(true);
        connect(m_planEnd, &QTimer::timeout, this, [this] { endPlan(tr("plan %1 over (its %2 s)").arg(m_planName).arg(double(m_planEnd->interval()) / 1000.0)); });
    }
    if (plan.durationMs > 0)
        m_planEnd->start(int(std::min<qint64>(plan.durationMs, std::numeric_limits<int>::max())));
    recordReportedFaults(); // a step due at once has acted
    const QString steps = plan.steps.size() == 1 ? tr("1 step") : tr("%1 steps").arg(plan.steps.size());
    Q_EMIT faultLogged(tr("plan %1 started (seed %2, %3)").arg(name, QString::number(plan.seed), steps));
    Q_EMIT planStateChanged(true, name);
    return true;
}

void LiveController::stopPlan()
{
    endPlan(tr("plan %1 stopped").arg(m_planName));
}

void LiveController::endPlan(const QString& said)
{
    if (m_planEnd)
        m_planEnd->stop();
    if (!m_planRunner)
        return;
    const bool wasRunning = m_planNumber != 0;
    m_planNumber = 0; // what its runner still has queued for this thread is stale now
    QStringList unfinished;
    onNetworkThread([&] {
        unfinished = m_planRunner->unfinishedSteps();
        m_planRunner->stop();
    });
    // A step that never acted tested nothing: a plan that ends must not read as done.
    for (const QString& step : std::as_const(unfinished)) {
        Q_EMIT faultLogged(tr("%1: not applied").arg(step));
        if (m_session)
            m_session->addNote(step);
    }
    m_planRunner.reset();
    recordReportedFaults();
    if (!wasRunning)
        return;
    // What the plan set (latency "throughout", a stall) ends with it: "no plan running" with its
    // latency still on misled. A fault event in the timeline says so, as the button does.
    QString clearError;
    const bool cleared = faultsUnavailableReason().isEmpty() && applyFault(QStringLiteral("clear"), {}, &clearError);
    // Clear all: the proxy does not tell a plan's faults from those set by hand.
    Q_EMIT faultLogged(cleared ? tr("%1; all faults cleared (the plan's, and any set by hand)").arg(said) : said);
    Q_EMIT planStateChanged(false, m_planName);
}

bool LiveController::isPlanRunning() const
{
    return m_planNumber != 0;
}

}
