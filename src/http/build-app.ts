import type { ServerOptions } from 'node:https'
import helmet from '@fastify/helmet'
import Fastify, { LogController, type FastifyInstance } from 'fastify'
import type { Logger } from 'pino'
import type { DomainReport } from '../check/types.js'
import type { Metrics, WorkerMetrics } from '../metrics.js'
import type { CertificateStatus } from '../tls/certificate-types.js'
import type { TenantSnapshot } from '../tenants/tenant-snapshot.js'
import type { ReportSettings } from '../config/types.js'
import type { ReportSink } from '../reports/types.js'
import type { ReportStore } from '../db/report-store.js'
import { isChallengeHost } from '../acme/challenge-host.js'
import type { DashboardDeps } from '../ui/dashboard-deps.js'
import { dashboardRoutes } from '../ui/dashboard-routes.js'
import { acmeRoutes, type HttpChallengeLookup } from './acme-routes.js'
import { healthRoutes, type Readiness } from './health-routes.js'
import { opsRoutes } from './ops-routes.js'
import { requireBearerToken } from './require-bearer-token.js'
import { notFound, policyRoutes, type PolicyRouteDeps } from './policy-routes.js'
import { reportRoutes } from './report-routes.js'
import { strictHost } from './strict-host.js'

/** Which listener an app serves; each has its own routes. */
export type AppRole = 'https' | 'http' | 'ops'

/** Options of {@link buildApp}. */
export interface AppOptions {
  readonly role: AppRole
  /** TLS server options (SNICallback, versions) for the `https` role; omit for plain HTTP and `inject()` tests. */
  readonly tls?: ServerOptions
  /** Honour X-Forwarded-For for the logged client address (behind a trusted proxy). */
  readonly trustProxy?: boolean
  /**
   * `ops` only: the bearer token every route but `/healthz` and `/readyz` requires;
   * `/readyz` shows its details only with it. Without one, everything on `ops` is open.
   */
  readonly opsToken?: string
}

/** Side effects and state the apps read. */
export interface AppDeps {
  readonly logger: Logger
  readonly metrics: Metrics
  /** `serve --workers`: the workers' metrics, added into the ops listener's `/metrics`. */
  readonly workerMetrics?: WorkerMetrics
  readonly tenants: () => TenantSnapshot
  /** The readiness verdict; a promise in a worker of `serve --workers`, which asks the primary. */
  readonly readiness: () => Readiness | Promise<Readiness>
  readonly certificates: () => readonly CertificateStatus[]
  /** Latest set-up check reports, for the ops listener. */
  readonly checks?: () => readonly DomainReport[]
  /** ACME HTTP-01 answers on the `http` listener (issuer `acme` only). */
  readonly acmeHttpChallenge?: HttpChallengeLookup
  /** Policy fetch statistics (`https`); absent when `stats.enabled` or `reports.enabled` is off. */
  readonly stats?: PolicyRouteDeps['stats']
  /** TLS report intake (`https`) and summaries (`ops`); absent when `reports.enabled` is off. */
  readonly reports?: { readonly settings: ReportSettings; readonly sink: ReportSink; readonly store: ReportStore }
  /** The operators' dashboard under `/ui/` on the ops listener; absent (or `ui.enabled` off): no dashboard. */
  readonly dashboard?: DashboardDeps
}

/**
 * Build the un-listened Fastify app of one listener:
 * - `https`: the policy for `mta-sts.<tenant>` hosts (404 elsewhere);
 * - `http`: liveness, readiness (status and generic reasons only) and ACME HTTP-01 answers;
 *   everything else 404, never a redirect;
 * - `ops`: liveness, readiness with details, metrics and per-tenant status (behind `opsToken` when set),
 *   and the dashboard under `/ui/` (its own HTTP Basic check, which also takes the ops token).
 */
export async function buildApp (options: AppOptions, deps: AppDeps): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: deps.logger.child({ listener: options.role }),
    // Policy fetches get one line of their own (policy-routes.ts); no generic request lines.
    logController: new LogController({ disableRequestLogging: true }),
    trustProxy: options.trustProxy ?? false,
    // Policy fetches carry no body; slow or idle clients are cut off.
    bodyLimit: 1024,
    requestTimeout: 10_000,
    keepAliveTimeout: 30_000,
    // During shutdown, requests already on accepted connections are answered normally (readiness says 503).
    return503OnClosing: false,
    ...(options.tls ? { https: options.tls } : {}),
  }) as unknown as FastifyInstance

  if (options.role !== 'ops') {
    // Default helmet headers are harmless to senders (they only read status, type and body).
    // Helmet's headers are ignored by senders; the CSP is tightened since nothing here is a page.
    await app.register(helmet, {
      global: true,
      contentSecurityPolicy: { useDefaults: false, directives: { defaultSrc: ["'none'"], frameAncestors: ["'none'"] } },
    })
  }
  // Two Host headers, or an absolute URI naming another host: which host is meant is ambiguous.
  if (options.role !== 'ops') strictHost(app)
  if (options.role === 'https') {
    if (deps.reports !== undefined) await reportRoutes(app, { ...deps.reports, metrics: deps.metrics, tenants: deps.tenants })
    // The fast path logs the socket's address, which is what Fastify logs without trustProxy.
    policyRoutes(app, { ...deps, fastPath: options.trustProxy !== true })
  } else {
    const dashboard = options.role === 'ops' && deps.dashboard?.settings.enabled === true ? deps.dashboard : undefined
    // Public listeners never show details: reload errors and paths name tenants not yet live.
    // The dashboard checks its own credentials (HTTP Basic, so that a browser can log in).
    const showDetails = options.role === 'http'
      ? () => false
      : options.opsToken === undefined ? () => true : requireBearerToken(app, options.opsToken, ['/healthz', '/readyz'], dashboard === undefined ? [] : ['/ui'])
    healthRoutes(app, deps.readiness, showDetails)
    if (options.role === 'ops') opsRoutes(app, deps)
    if (dashboard !== undefined) {
      // The ops token always opens the dashboard, and the dashboard is never more open than the rest of ops.
      const passwords = options.opsToken === undefined ? dashboard.passwords : [...new Set([options.opsToken, ...dashboard.passwords])]
      await dashboardRoutes(app, { ...dashboard, passwords })
    }
    if (options.role === 'http' && deps.acmeHttpChallenge) acmeRoutes(app, host => isChallengeHost(host, h => deps.tenants().byHost.has(h)), deps.acmeHttpChallenge)
    app.setNotFoundHandler((_request, reply) => notFound(reply))
  }
  return app
}
