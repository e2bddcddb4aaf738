import { AggregatorRegistry, Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client'
import { systemClock, type Clock } from './clock.js'

/** The Prometheus metrics of one service instance, on a registry of its own. */
export interface Metrics {
  readonly registry: Registry
  /** Policy fetches by tenant domain (empty for unknown hosts) and HTTP status. */
  readonly policyFetches: Counter<'tenant' | 'status'>
  /** Configuration reloads by result (`success`, `failure`). */
  readonly reloads: Counter<'result'>
  /** 1 while the last reload attempt succeeded, 0 while a bad edit is being ignored. */
  readonly configValid: Gauge
  /** Number of tenants currently served. */
  readonly tenants: Gauge
  /** Certificates obtained, renewed, loaded or failed, by issuer. */
  readonly certificateEvents: Counter<'issuer' | 'event'>
  /** Failed certificate attempts by kind (rate_limited, network, validation, malformed, rejected, other). */
  readonly certificateFailures: Counter<'kind'>
  /** New ACME orders placed. */
  readonly acmeOrders: Counter
  /**
   * TLS report files by transport (`https`, `imap`, `import`) and outcome: `stored`, `duplicate`,
   * `invalid` (kept raw, flagged), `set_aside` (a mail without a report, kept), `rejected`
   * (refused before storing: too large, rate limited, not a report body).
   */
  readonly tlsReports: Counter<'transport' | 'outcome'>
  /**
   * Sessions senders reported, by tenant (empty for a policy domain that is not a tenant) and
   * result (`success`, or the failure result type; unregistered types count as `other`).
   */
  readonly tlsReportSessions: Counter<'tenant' | 'result'>
}

/** What the check gauges read at scrape time. */
export interface CheckView {
  reports (): Iterable<{ domain: string; readyForEnforce: boolean; results: readonly { id: string; status: 'pass' | 'warn' | 'fail' }[] }>
}

/** What the certificate gauges read at scrape time. */
export interface CertificateView {
  expiries (): Iterable<{ host: string; notAfter: Date }>
  status (): Iterable<{ state: string }>
}

/**
 * Create the metrics. `certificates` is a callback so the certificate gauges
 * are computed at scrape time from the certificate manager's state; days to
 * expiry are counted from `clock`'s now at scrape time.
 */
export function createMetrics (certificates: () => CertificateView | undefined, checks: () => CheckView | undefined = () => undefined, clock: Clock = systemClock): Metrics {
  const registry = new Registry()
  collectDefaultMetrics({ register: registry })
  const metrics: Metrics = {
    registry,
    policyFetches: new Counter({ name: 'mta_sts_policy_fetches_total', help: 'Policy fetches by tenant and HTTP status', labelNames: ['tenant', 'status'], registers: [registry] }),
    reloads: new Counter({ name: 'mta_sts_config_reloads_total', help: 'Configuration reloads by result', labelNames: ['result'], registers: [registry] }),
    configValid: new Gauge({ name: 'mta_sts_config_valid', help: '1 when the last configuration load succeeded', registers: [registry] }),
    tenants: new Gauge({ name: 'mta_sts_tenants', help: 'Tenants currently served', registers: [registry] }),
    certificateEvents: new Counter({ name: 'mta_sts_certificate_events_total', help: 'Certificates obtained, renewed, loaded or failed', labelNames: ['issuer', 'event'], registers: [registry] }),
    certificateFailures: new Counter({ name: 'mta_sts_certificate_failures_total', help: 'Failed certificate attempts by kind', labelNames: ['kind'], registers: [registry] }),
    acmeOrders: new Counter({ name: 'mta_sts_acme_orders_total', help: 'New ACME orders placed', registers: [registry] }),
    tlsReports: new Counter({ name: 'mta_sts_tls_reports_total', help: 'TLS report files by transport and outcome', labelNames: ['transport', 'outcome'], registers: [registry] }),
    tlsReportSessions: new Counter({ name: 'mta_sts_tls_report_sessions_total', help: 'Sessions in stored TLS reports by tenant and result', labelNames: ['tenant', 'result'], registers: [registry] }),
  }
  new Gauge({
    name: 'mta_sts_certificates',
    help: 'Policy hosts by certificate state (valid, pending, failing, missing)',
    labelNames: ['state'],
    registers: [registry],
    collect () {
      const counts: Record<string, number> = { valid: 0, pending: 0, failing: 0, missing: 0 }
      for (const { state } of certificates()?.status() ?? []) counts[state] = (counts[state] ?? 0) + 1
      for (const [state, n] of Object.entries(counts)) this.set({ state }, n)
    },
  })
  const STATUS = { pass: 0, warn: 1, fail: 2 } as const
  new Gauge({
    name: 'mta_sts_check_status',
    help: 'Latest set-up check result per tenant and check: 0 pass, 1 warn, 2 fail',
    labelNames: ['tenant', 'check'],
    registers: [registry],
    collect () {
      this.reset()
      for (const report of checks()?.reports() ?? []) {
        for (const r of report.results) this.set({ tenant: report.domain, check: r.id }, STATUS[r.status])
      }
    },
  })
  new Gauge({
    name: 'mta_sts_tenant_ready_for_enforce',
    help: '1 when the latest checks say the tenant is safe to enforce',
    labelNames: ['tenant'],
    registers: [registry],
    collect () {
      this.reset()
      for (const report of checks()?.reports() ?? []) this.set({ tenant: report.domain }, report.readyForEnforce ? 1 : 0)
    },
  })
  new Gauge({
    name: 'mta_sts_certificate_days_to_expiry',
    help: 'Days until the certificate loaded for each policy host expires',
    labelNames: ['host'],
    registers: [registry],
    collect () {
      this.reset()
      const now = clock.now().getTime()
      for (const { host, notAfter } of certificates()?.expiries() ?? []) this.set({ host }, Math.round((notAfter.getTime() - now) / 864_000) / 100)
    },
  })
  new Gauge({
    name: 'mta_sts_certificate_expiry_timestamp_seconds',
    help: 'Expiry (notAfter) of the certificate loaded for each policy host, as a Unix time',
    labelNames: ['host'],
    registers: [registry],
    collect () {
      this.reset()
      for (const { host, notAfter } of certificates()?.expiries() ?? []) this.set({ host }, Math.floor(notAfter.getTime() / 1000))
    },
  })
  return metrics
}

/** Other processes' metrics (the workers of `serve --workers`), each as its registry's `getMetricsAsJSON()`. */
export type WorkerMetrics = () => Promise<readonly object[][]>

/**
 * The Prometheus text of `registry`, with the counters of `workers` added in
 * (prom-client's aggregation: sums, except where a metric says otherwise).
 */
export async function renderMetrics (registry: Registry, workers?: WorkerMetrics): Promise<string> {
  const others = workers === undefined ? [] : await workers()
  if (others.length === 0) return await registry.metrics()
  return await AggregatorRegistry.aggregate([await registry.getMetricsAsJSON(), ...others]).metrics()
}
