import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client'

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
  /** Certificates issued or loaded, by issuer and result. */
  readonly certificateEvents: Counter<'issuer' | 'event'>
}

/**
 * Create the metrics. `certificateExpiry` is a callback so the expiry gauge
 * is computed at scrape time from the certificate manager's state.
 */
export function createMetrics (certificateExpiry: () => Iterable<{ host: string; notAfter: Date }>): Metrics {
  const registry = new Registry()
  collectDefaultMetrics({ register: registry })
  const metrics: Metrics = {
    registry,
    policyFetches: new Counter({ name: 'mta_sts_policy_fetches_total', help: 'Policy fetches by tenant and HTTP status', labelNames: ['tenant', 'status'], registers: [registry] }),
    reloads: new Counter({ name: 'mta_sts_config_reloads_total', help: 'Configuration reloads by result', labelNames: ['result'], registers: [registry] }),
    configValid: new Gauge({ name: 'mta_sts_config_valid', help: '1 when the last configuration load succeeded', registers: [registry] }),
    tenants: new Gauge({ name: 'mta_sts_tenants', help: 'Tenants currently served', registers: [registry] }),
    certificateEvents: new Counter({ name: 'mta_sts_certificate_events_total', help: 'Certificates issued, loaded or rejected', labelNames: ['issuer', 'event'], registers: [registry] }),
  }
  new Gauge({
    name: 'mta_sts_certificate_expiry_timestamp_seconds',
    help: 'Expiry (notAfter) of the certificate loaded for each policy host, as a Unix time',
    labelNames: ['host'],
    registers: [registry],
    collect () {
      this.reset()
      for (const { host, notAfter } of certificateExpiry()) this.set({ host }, Math.floor(notAfter.getTime() / 1000))
    },
  })
  return metrics
}
