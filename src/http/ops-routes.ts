import type { FastifyInstance } from 'fastify'
import type { DomainReport } from '../check/types.js'
import type { ReportSettings } from '../config/types.js'
import type { ReportStore } from '../db/report-store.js'
import { renderMetrics, type Metrics, type WorkerMetrics } from '../metrics.js'
import type { CertificateStatus } from '../tls/certificate-types.js'
import type { TenantSnapshot } from '../tenants/tenant-snapshot.js'
import { reportQueryRoutes } from './report-query-routes.js'

/** What the ops routes need. */
export interface OpsRouteDeps {
  readonly metrics: Metrics
  /** `serve --workers`: the workers' metrics, added into `/metrics`. */
  readonly workerMetrics?: WorkerMetrics
  readonly tenants: () => TenantSnapshot
  readonly certificates: () => readonly CertificateStatus[]
  /** Latest set-up check reports (empty when the monitor is off). */
  readonly checks?: () => readonly DomainReport[]
  /** The report database and its settings (absent when `reports.enabled` is off). */
  readonly reports?: { readonly settings: ReportSettings; readonly store: Pick<ReportStore, 'summarize' | 'problems'> }
}

/**
 * `/metrics` (Prometheus text format), `/status` (per-tenant JSON), `/certificates` (per-host
 * certificate state), `/checks` (latest set-up checks), `/reports/summary` and `/reports/problems`
 * (the TLS report database) for operators.
 */
export function opsRoutes (app: FastifyInstance, deps: OpsRouteDeps): void {
  app.get('/metrics', async (_request, reply) => {
    const body = await renderMetrics(deps.metrics.registry, deps.workerMetrics)
    return reply.header('content-type', deps.metrics.registry.contentType).send(body)
  })
  app.get('/checks', (_request, reply) => {
    return reply.header('cache-control', 'no-store').send({ monitor: deps.checks !== undefined, domains: deps.checks?.() ?? [] })
  })
  app.get('/certificates', (_request, reply) => {
    return reply.header('cache-control', 'no-store').send({ certificates: deps.certificates() })
  })
  reportQueryRoutes(app, {
    ...(deps.reports === undefined ? {} : { store: deps.reports.store }),
    defaultDays: deps.reports?.settings.verdict.days ?? 7,
    tenants: deps.tenants,
  })
  app.get('/status', (_request, reply) => {
    const snapshot = deps.tenants()
    const certs = new Map(deps.certificates().map(c => [c.host, c]))
    return reply.header('cache-control', 'no-store').send({
      config: { file: snapshot.config.file, loaded_at: snapshot.loadedAt.toISOString(), issuer: snapshot.config.certificates.issuer },
      tenants: snapshot.tenants.map(t => ({
        domain: t.domain,
        host: t.host,
        mode: t.mode,
        policy_id: t.id,
        mx: t.mx,
        max_age: t.maxAge,
        ...(t.retiring === undefined ? {} : { retiring: { since: t.retiring.since, until: t.retiring.until, previous_mode: t.retiring.previousMode, previous_id: t.retiring.previousId } }),
        certificate: certs.get(t.host) ?? { state: 'not loaded' },
      })),
    })
  })
}
