import type { AddressInfo } from 'node:net'
import type { FastifyInstance } from 'fastify'
import type { Logger } from 'pino'
import { systemClock, type Clock } from './clock.js'
import type { Config } from './config/types.js'
import { errors } from './errors.js'
import { buildApp, type AppRole } from './http/build-app.js'
import type { Readiness } from './http/health-routes.js'
import { createMetrics, type Metrics, type WorkerMetrics } from './metrics.js'
import { FileStore } from './store/file-store.js'
import type { Store } from './store/store.js'
import { ConfigHolder, logWarnings } from './tenants/config-holder.js'
import { nextTurn } from './tenants/build-snapshot-in-turns.js'
import { buildSnapshot } from './tenants/tenant-snapshot.js'
import { emptySnapshot, Retirements } from './tenants/retirements.js'
import { TLS_VERSIONS } from './tls/context-cache.js'
import { CertificateManager } from './tls/certificate-manager.js'
import { FilesIssuer } from './tls/files-issuer.js'
import { isManaged, type Issuer } from './tls/issuer.js'
import { EventLoopLoad, logLoadChange, type ServingLoad } from './tls/serving-load.js'
import type { AcmeIssuer } from './acme/acme-issuer.js'
import { httpChallengeKey } from './store/keys.js'
import { isChallengeHost } from './acme/challenge-host.js'
import { TlsAlpnResponder } from './acme/tls-alpn-responder.js'
import { routeByClientHello } from './tls/client-hello-router.js'
import { allChecks } from './check/all-checks.js'
import { checkContextFactory } from './check/check-context.js'
import { CheckMonitor } from './check/monitor.js'
import type { ReportStore } from './db/report-store.js'
import { WorkerReportStore } from './db/worker-report-store.js'
import { countedReportSink } from './reports/counted-report-sink.js'
import type { ReportSink } from './reports/types.js'
import type { Check } from './check/types.js'
import { createSniCallback } from './tls/sni-callback.js'
import { SHUTDOWN_GRACE_MS, trackConnections } from './http/track-connections.js'
import { isLoopbackHost } from './config/is-loopback-host.js'
import { readTokenFile } from './http/read-token-file.js'
import { FetchStats } from './stats/fetch-stats.js'
import { SenderClassifier } from './stats/sender-classifier.js'
import { changesAtStart, changesOfReload } from './stats/policy-changes.js'

/** How long a TLS client has to complete its handshake (Node's default is 120 s). */
export const TLS_HANDSHAKE_TIMEOUT_MS = 10_000

/** How often report retention is applied. */
const PURGE_INTERVAL_MS = 6 * 3600_000

/** Certificate manager hosts added or removed per event-loop turn after a reload. */
const HOSTS_PER_TURN = 2500

/** Side effects of a service, replaceable in tests. */
export interface ServiceDeps {
  readonly logger: Logger
  readonly clock?: Clock
  /** Defaults to a {@link FileStore} on `certificates.storage`. */
  readonly store?: Store
  /** Watch the configuration file for edits (default true). */
  readonly watch?: boolean
  /** Certificate check interval (renewals, changed files, queued issuance), default 60 s. */
  readonly certificateCheckMs?: number
  /** Back-off after consecutive certificate failures (default about 1 min, 10 min, 100 min, daily). */
  readonly certificateBackoffMs?: readonly number[]
  /** The set-up checks the monitor runs (default {@link allChecks} of the `reports` settings). */
  readonly checks?: readonly Check[]
  /** How often the monitor looks for tenants due for a check. */
  readonly monitorTickMs?: number
  /** TLS handshake timeout of the HTTPS listener (default {@link TLS_HANDSHAKE_TIMEOUT_MS}). */
  readonly tlsHandshakeTimeoutMs?: number
  /** How long `close()` lets requests already received finish before cutting connections (default {@link SHUTDOWN_GRACE_MS}). */
  readonly shutdownGraceMs?: number
  /** The report database; defaults to SQLite at `reports.database`, in a worker thread (when `reports.enabled`). */
  readonly reportStore?: ReportStore
  /** How often the service looks for retirements that ended (default 60 s). */
  readonly retirementCheckMs?: number
  /** `serve --workers`: the workers' metrics, added into the ops listener's `/metrics`. */
  readonly workerMetrics?: WorkerMetrics
  /** `serve --workers`: more readiness details (the workers), shown on ops. */
  readonly readinessDetails?: () => Record<string, unknown>
  /** How busy serving is, for certificate issuance to yield to (default: this process's event loop, see {@link EventLoopLoad}). */
  readonly servingLoad?: ServingLoad
}

/** Where each listener ended up (port 0 in the config picks a free port). */
export type ListenAddresses = Record<AppRole, AddressInfo>

/**
 * One running MTA-STS host: configuration holder, certificate manager and
 * the three listeners' apps. {@link createService} builds it without
 * listening; `listen()` and `close()` are the process entry's to call.
 */
export interface Service {
  readonly holder: ConfigHolder
  readonly certificates: CertificateManager
  readonly metrics: Metrics
  readonly issuer: Issuer
  /** Where certificates, ACME state and the internal CA are kept. */
  readonly store: Store
  readonly apps: Readonly<Record<AppRole, FastifyInstance>>
  /** The set-up check monitor, when `check.monitor.interval` is not 0. */
  readonly monitor: CheckMonitor | undefined
  /** The TLS report database, when `reports.enabled`. */
  readonly reports: ReportStore | undefined
  /** Removed tenants still served as `mode: none`. */
  readonly retirements: Retirements
  /** Policy fetch statistics, when `stats.enabled` and `reports.enabled`. */
  readonly stats: FetchStats | undefined
  /** Where TLS report uploads go (counted and logged), when `reports.enabled`. */
  readonly reportSink: ReportSink | undefined
  readiness (): Readiness
  /**
   * Start watching, certificate maintenance, the monitor and report intake, and listen on
   * `roles` (default all three; `serve --workers` listens on `ops` only, its workers serve the others).
   * With `certificates: false` certificate maintenance (and so ACME issuance) is left to the caller,
   * `certificates.start()`: `serve --workers` starts it once its workers listen, so the CA's first
   * validations find the https and http ports open.
   */
  listen<R extends AppRole = AppRole> (roles?: readonly R[], opts?: { readonly certificates?: boolean }): Promise<Record<R, AddressInfo>>
  /** Stop accepting, finish requests in flight, stop timers and watchers. */
  close (): Promise<void>
}

/**
 * Wire configuration, store, issuer, certificates and apps together. Rejects
 * (one-line message) when the ops token file cannot be used, or when the ops
 * listener would be reachable from other machines without a token
 * (`MTA_STS_OPS_NOT_LOOPBACK`).
 */
export async function createService (config: Config, deps: ServiceDeps): Promise<Service> {
  const { logger } = deps
  const { ops } = config.listen
  const opsToken = ops.tokenFile === undefined ? undefined : await readTokenFile(ops.tokenFile, logger)
  const uiPassword = config.ui.passwordFile === undefined ? undefined : await readTokenFile(config.ui.passwordFile, logger, 'ui.password_file')
  if (opsToken === undefined && !isLoopbackHost(ops.host)) {
    throw new errors.OPS_NOT_LOOPBACK(ops.host)
  }
  const clock = deps.clock ?? systemClock
  // With `database`, one PostgreSQL pool holds the certificate store and the report database for every replica.
  const pool = config.database === undefined || (deps.store !== undefined && deps.reportStore !== undefined)
    ? undefined
    : await (await import('./postgres-pool.js')).openPostgresPool(config.database, logger)
  const pgStore = deps.store === undefined && pool !== undefined ? await (await import('./store/postgres-store.js')).PostgresStore.open(pool).catch(async (error: unknown) => { await pool.end(); throw error }) : undefined
  const store = deps.store ?? pgStore ?? new FileStore(config.certificates.storage)
  // The expiry gauge reads the manager, which needs the metrics: resolved at scrape time.
  let certificates: CertificateManager | undefined
  let monitor: CheckMonitor | undefined
  const metrics = createMetrics(() => certificates, () => monitor, clock)
  logWarnings(logger, config.warnings)
  const retirements = new Retirements(store, logger)
  await retirements.load()
  const first = buildSnapshot(config, clock.now())
  const initial = (await retirements.apply(first, { added: [], removed: [], changed: [], hosts: { added: [], removed: [] } }, emptySnapshot(first), clock.now())).snapshot
  await retirements.persist()
  const holder = new ConfigHolder(initial, { logger, metrics, clock, overlay: async (next, diff, previous) => await retirements.apply(next, diff, previous, clock.now()) })
  holder.onChange(async () => {
    await retirements.persist().catch((error: unknown) => {
      logger.error({ event: 'retirement_store_failed', err: error }, 'cannot record retirements in the store: a restart would forget them')
    })
  })
  const retirementTimer = setInterval(() => {
    const end = retirements.nextEnd()
    if (end !== undefined && end <= clock.now().getTime()) void holder.reload('retirement ended')
  }, deps.retirementCheckMs ?? 60_000).unref()

  // A crash (kill -9, power loss) leaves temp files of interrupted writes and locks nobody will release.
  const cleaned = await store.cleanup?.()
  if (cleaned && cleaned.tempFiles + cleaned.locks > 0) {
    logger.info({ event: 'store_cleanup', temp_files: cleaned.tempFiles, locks: cleaned.locks }, `store: removed ${cleaned.tempFiles} temp file(s) and ${cleaned.locks} stale lock(s) left by a crash`)
  }

  const { acme } = config.certificates
  // Each issuer's modules are imported only when configured (the ACME client and the X.509 library take
  // a noticeable part of start-up).
  const acmeIssuer: AcmeIssuer | undefined = config.certificates.issuer === 'acme'
    ? new (await import('./acme/acme-issuer.js')).AcmeIssuer({ settings: acme, store, clock, logger, onOrder: () => metrics.acmeOrders.inc() })
    : undefined
  const issuer: Issuer = acmeIssuer ?? (config.certificates.issuer === 'internal'
    ? await (await import('./tls/internal-ca.js')).InternalCa.open({ store, clock, leafLifetime: config.certificates.internal.leafLifetime })
    : new FilesIssuer(host => FilesIssuer.pathsFor(host, holder.snapshot.byHost.get(host)?.certificate, config.certificates.files.directory)))

  // Issuance yields to serving: one order at a time while the serving event loop(s) are busy (see serving-load.ts).
  const ownLoad = deps.servingLoad === undefined && issuer.mode === 'queued' ? new EventLoopLoad({ onChange: logLoadChange(logger) }) : undefined
  const servingLoad = deps.servingLoad ?? ownLoad
  const manager = new CertificateManager({
    issuer,
    ...(servingLoad === undefined ? {} : { load: servingLoad }),
    store,
    clock,
    logger,
    metrics,
    concurrency: acme.concurrency,
    contextCacheSize: config.certificates.contextCache,
    ...(deps.certificateCheckMs ? { checkIntervalMs: deps.certificateCheckMs } : {}),
    ...(deps.certificateBackoffMs ? { backoffMs: deps.certificateBackoffMs } : {}),
  })
  certificates = manager
  manager.setHosts(holder.snapshot.byHost.keys())
  if (issuer.mode === 'files') await manager.preload(holder.snapshot.byHost.keys())
  holder.onChange(async (next, previous, diff) => {
    monitor?.changeTenants(previous, next, diff)
    const { added, removed } = diff.hosts
    // A few thousand hosts per event-loop turn: adding 100,000 tenants must not block requests.
    for (let i = 0; i < Math.max(added.length, removed.length); i += HOSTS_PER_TURN) {
      if (i > 0) await nextTurn()
      manager.changeHosts({ added: added.slice(i, i + HOSTS_PER_TURN), removed: removed.slice(i, i + HOSTS_PER_TURN) })
    }
    if (issuer.mode === 'files' && added.length > 0) void manager.preload(added)
  })

  let closing = false
  const readiness = (): Readiness => {
    const reasons: string[] = []
    if (closing) reasons.push('shutting down')
    const unavailable = manager.unavailable()
    // With ACME, the CA's validation requests reach this service through the same load balancer:
    // gating readiness on issuance would keep every replica out of rotation and the challenges unanswered.
    if (unavailable.length > 0 && issuer.mode !== 'queued') {
      reasons.push('some tenant hosts have no usable certificate')
    }
    const { snapshot, status } = holder
    return {
      ready: reasons.length === 0,
      reasons,
      details: {
        config: {
          file: snapshot.config.file,
          loaded_at: snapshot.loadedAt.toISOString(),
          tenants: snapshot.tenants.length,
          last_reload: { ok: status.ok, at: status.at.toISOString(), errors: status.errors },
        },
        certificates: { issuer: issuer.name, unavailable: unavailable.slice(0, 20), unavailable_count: unavailable.length },
        ...deps.readinessDetails?.(),
      },
    }
  }


  const isTenantHost = (host: string): boolean => holder.snapshot.byHost.has(host)
  const reportSettings = config.reports
  // Opened in the background once listening: policies are served whatever state the report database is in.
  const pgReports = reportSettings.enabled && deps.reportStore === undefined && pool !== undefined
    ? await (await import('./db/open-postgres-report-store.js')).openPostgresReportStore(pool, { ...reportSettings, clock })
    : undefined
  const workerStore = reportSettings.enabled && deps.reportStore === undefined && pool === undefined
    ? new WorkerReportStore({
      database: reportSettings.database,
      maxReportBytes: reportSettings.maxReportBytes,
      rawRetentionDays: reportSettings.rawRetentionDays,
      retentionDays: reportSettings.retentionDays,
    })
    : undefined
  const reportStore = reportSettings.enabled ? deps.reportStore ?? pgReports ?? workerStore : undefined
  const settings = config.check
  if (settings.monitor.interval > 0) {
    const context = await checkContextFactory(settings, () => clock.now(), { managedCertificates: isManaged(issuer.mode), renewalPlan: host => manager.renewal(host), ...(reportStore === undefined ? {} : { reports: reportStore }) })
    monitor = new CheckMonitor({
      interval: settings.monitor.interval,
      concurrency: settings.monitor.concurrency,
      tenants: () => holder.snapshot,
      checks: deps.checks ?? allChecks(config.reports),
      logger,
      ...(deps.monitorTickMs ? { tickMs: deps.monitorTickMs } : {}),
      context,
      clock,
    })
  }
  const checkMonitor = monitor
  if (checkMonitor !== undefined) {
    holder.onChange((_next, _previous, diff) => {
      for (const change of diff.changed) {
        if (change.mode?.[1] !== 'enforce') continue
        const report = checkMonitor.reports().find(r => r.domain === change.domain)
        if (report !== undefined && !report.readyForEnforce) {
          logger.warn({ event: 'enforce_not_ready', tenant: change.domain, checked_at: report.checkedAt, reasons: report.reasons },
            `${change.domain} switched to enforce, but its latest check (${report.checkedAt}) says it is not ready: ${report.reasons.join('; ')}`)
        }
      }
    })
  }
  const reportSink = reportStore === undefined
    ? undefined
    : countedReportSink(reportStore, { metrics, logger, isTenant: domain => isTenantHost(`mta-sts.${domain}`) })
  const purgeReports = (): void => {
    reportStore?.purge().then(
      purged => { if (purged.rawContentDropped + purged.reportsDeleted + purged.fetchRowsDeleted > 0) logger.info({ event: 'tls_report_purge', ...purged }, 'report retention applied') },
      (error: unknown) => { logger.warn({ event: 'tls_report_purge_failed', err: error }, 'cannot apply report retention') },
    )
  }
  const mailbox = reportSink === undefined || reportSettings.mailbox === undefined
    ? undefined
    : new (await import('./reports/imap-intake.js')).ImapIntake({ settings: reportSettings.mailbox, sink: reportSink, log: logger.child({ component: 'mailbox' }) })
  const stats = reportStore === undefined || !config.stats.enabled
    ? undefined
    : new FetchStats({
      store: reportStore,
      classifier: new SenderClassifier(config.stats.senders),
      clock,
      logger,
      flushIntervalMs: config.stats.flushInterval * 1000,
    })
  const recordHistory = (changes: Parameters<ReportStore['recordPolicyChanges']>[0]): void => {
    reportStore?.recordPolicyChanges(changes).catch((error: unknown) => {
      logger.warn({ event: 'policy_history_failed', err: error }, 'cannot record policy changes in the report database')
    })
  }
  if (reportStore !== undefined) holder.onChange((next, _previous, diff) => { recordHistory(changesOfReload(next, diff, clock.now())) })
  const purgeTimer = reportStore === undefined ? undefined : setInterval(purgeReports, PURGE_INTERVAL_MS).unref()
  const appDeps = {
    logger,
    metrics,
    ...(deps.workerMetrics === undefined ? {} : { workerMetrics: deps.workerMetrics }),
    tenants: () => holder.snapshot,
    readiness,
    certificates: () => manager.status(),
    ...(stats === undefined ? {} : { stats }),
    dashboard: {
      settings: config.ui,
      passwords: uiPassword === undefined ? [] : [uiPassword],
      tenants: () => holder.snapshot,
      certificates: () => manager.status(),
      ...(checkMonitor ? { checks: () => checkMonitor.reports() } : {}),
      ...(reportStore === undefined ? {} : { store: reportStore }),
      ...(stats === undefined ? {} : { fetches: stats }),
      dnsTarget: config.dns.target,
      now: () => clock.now(),
    },
    ...(checkMonitor ? { checks: () => checkMonitor.reports() } : {}),
    ...(reportStore !== undefined && reportSink !== undefined ? { reports: { settings: reportSettings, sink: reportSink, store: reportStore } } : {}),
    ...(acmeIssuer !== undefined && acme.challenges.includes('http-01')
      ? { acmeHttpChallenge: async (host: string, token: string) => (await store.get(httpChallengeKey(host, token)))?.toString('utf8') }
      : {}),
  }
  const sni = createSniCallback(isTenantHost, manager, logger)
  const handshakeTimeout = deps.tlsHandshakeTimeoutMs ?? TLS_HANDSHAKE_TIMEOUT_MS
  const apps = {
    https: await buildApp({ role: 'https', tls: { SNICallback: sni, ...TLS_VERSIONS, ALPNProtocols: ['http/1.1'], handshakeTimeout } }, appDeps),
    http: await buildApp({ role: 'http' }, appDeps),
    ops: await buildApp({ role: 'ops', ...(opsToken === undefined ? {} : { opsToken }) }, appDeps),
  }
  if (acmeIssuer !== undefined && acme.challenges.includes('tls-alpn-01')) {
    routeByClientHello(apps.https.server, new TlsAlpnResponder(store, host => isChallengeHost(host, isTenantHost), logger, acmeIssuer.crypto).divert, handshakeTimeout)
  }
  // After the router, which replaces the HTTPS server's connection listeners.
  const connections = [apps.https, apps.http, apps.ops].map(app => trackConnections(app.server))

  return {
    holder,
    certificates: manager,
    metrics,
    issuer,
    store,
    apps,
    monitor: checkMonitor,
    reports: reportStore,
    retirements,
    stats,
    reportSink,
    readiness,
    async listen<R extends AppRole = AppRole> (roles: readonly R[] = ['https', 'http', 'ops'] as R[], opts: { readonly certificates?: boolean } = {}) {
      if (deps.watch ?? true) await holder.watch()
      if (opts.certificates ?? true) manager.start()
      const out: Partial<Record<R, AddressInfo>> = {}
      // HTTPS first: once /readyz answers (http, ops), policies are being served.
      for (const role of (['https', 'http', 'ops'] as const).filter((r): r is R & AppRole => (roles as readonly AppRole[]).includes(r))) {
        const { host, port } = config.listen[role]
        await apps[role].listen({ host, port, listenTextResolver: address => `${role} listener on ${address}` })
        out[role] = apps[role].server.address() as AddressInfo
      }
      checkMonitor?.start()
      if (reportStore !== undefined) {
        (workerStore?.start() ?? Promise.resolve()).then(
          () => {
            if (workerStore !== undefined) logger.info({ event: 'report_database_open', database: reportSettings.database }, 'report database open')
            purgeReports()
            reportStore.latestPolicies().then(latest => { recordHistory(changesAtStart(holder.snapshot, latest, clock.now())) }, (error: unknown) => {
              logger.warn({ event: 'policy_history_failed', err: error }, 'cannot read the policy history from the report database')
            })
          },
          (error: { code?: string, message: string }) => {
            logger.error({ event: 'report_database_failed', code: error.code, database: reportSettings.database }, `${error.message}; reports are refused (503) until it opens, retried every 30 s`)
          },
        )
      }
      mailbox?.start()
      stats?.start()
      return out as Record<R, AddressInfo>
    },
    async close () {
      closing = true
      // Idle keep-alive connections close at once (Node), responses in flight carry `Connection: close`
      // (fastify), silent connections are cut now and anything still open after the grace period then.
      const stops = connections.map(c => c.drain(deps.shutdownGraceMs ?? SHUTDOWN_GRACE_MS))
      try {
        await Promise.all([apps.https.close(), apps.http.close(), apps.ops.close()])
      } finally {
        for (const stop of stops) stop()
      }
      await holder.close()
      await checkMonitor?.close()
      await manager.close()
      ownLoad?.close()
      await issuer.close?.()
      clearInterval(purgeTimer)
      clearInterval(retirementTimer)
      await mailbox?.close()
      // A database still opening would hold shutdown up: its last counts are given up on then (logged).
      await stats?.close(workerStore === undefined || workerStore.ready ? 1000 : 0)
      await reportStore?.close()
      pgStore?.close()
      await pool?.end()
    },
  }
}
