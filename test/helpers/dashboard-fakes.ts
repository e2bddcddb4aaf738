import { PassThrough } from 'node:stream'
import type { FastifyInstance } from 'fastify'
import type { DomainReport } from '../../src/check/types.js'
import type { ReportStore } from '../../src/db/report-store.js'
import { firstDay } from '../../src/db/utc-day.js'
import { buildApp, type AppDeps } from '../../src/http/build-app.js'
import { createLogger } from '../../src/log.js'
import { createMetrics } from '../../src/metrics.js'
import type { DomainFetches, DomainReportTotals, FetchCount, FetchNetwork, FetchStatsReader, LastFetch, PolicyChange } from '../../src/stats/types.js'
import { buildSnapshot, type TenantSnapshot } from '../../src/tenants/tenant-snapshot.js'
import type { CertificateStatus } from '../../src/tls/certificate-types.js'
import type { DashboardDeps, DashboardStore } from '../../src/ui/dashboard-deps.js'
import { configFrom } from './config-fixtures.js'
import { memoryReportStore, submitReports, type ReportSpec } from './report-store.js'

/** Organisation names that try to inject markup; the dashboard must show them as text. */
export const HOSTILE_ORG = '<script>alert(1)</script>'
export const HOSTILE_ORG_2 = '"><img src=x onerror=alert(2)>'

/**
 * The report-database part of the dashboard over a real store's `summarize`: `reportTotals`
 * adds the summaries up per domain, `policyHistory` reads `history` (newest first).
 * The SQL store gets its own versions of these; the dashboard only needs their contract.
 */
export function dashboardStore (store: Pick<ReportStore, 'summarize'>, history: readonly PolicyChange[] = []): DashboardStore {
  return {
    summarize: query => store.summarize(query),
    async reportTotals (days, until) {
      const totals = new Map<string, { successful: number, failed: number, organizations: Set<string> }>()
      for (const s of await store.summarize({ days, ...(until === undefined ? {} : { until }) })) {
        const t = totals.get(s.domain) ?? { successful: 0, failed: 0, organizations: new Set<string>() }
        t.successful += s.successfulSessions
        t.failed += s.failedSessions
        for (const o of s.organizations) t.organizations.add(o)
        totals.set(s.domain, t)
      }
      return [...totals].map(([domain, t]): DomainReportTotals => ({ domain, successful: t.successful, failed: t.failed, organizations: t.organizations.size }))
    },
    async policyHistory (domain, limit) {
      return history.filter(h => h.domain === domain).sort((a, b) => a.at < b.at ? 1 : -1).slice(0, limit)
    },
  }
}

/** Fetch statistics held in memory: `fetchesFor` keeps the days ending with `today`. */
export function fakeFetchStats (counts: readonly FetchCount[], networks: readonly FetchNetwork[], today: string): FetchStatsReader {
  return {
    async fetchesFor (domain, days): Promise<DomainFetches> {
      const from = firstDay(today, days)
      const inRange = (d: { domain: string, day: string }): boolean => d.domain === domain && d.day >= from && d.day <= today
      const perDay = new Map<string, number>()
      for (const n of networks.filter(inRange)) perDay.set(n.day, (perDay.get(n.day) ?? 0) + 1)
      return {
        days: counts.filter(inRange).sort((a, b) => a.day < b.day ? -1 : a.day > b.day ? 1 : 0)
          .map(c => ({ day: c.day, policyId: c.policyId, sender: c.sender, fetches: c.fetches, lastAt: c.lastAt })),
        networks: [...perDay].sort((a, b) => a[0] < b[0] ? -1 : 1).map(([day, count]) => ({ day, count })),
      }
    },
    async lastFetches () {
      const last = new Map<string, LastFetch>()
      for (const c of counts) {
        const seen = last.get(c.domain)
        if (seen === undefined || seen.at < c.lastAt) last.set(c.domain, { domain: c.domain, at: c.lastAt, sender: c.sender, policyId: c.policyId })
      }
      return last
    },
  }
}

/** A check report with one result per `[id, status]` (details as given). */
export function domainReport (domain: string, results: ReadonlyArray<{ id: string, status: 'pass' | 'warn' | 'fail', details?: Record<string, unknown>, hint?: string }>, checkedAt = '2024-06-10T11:00:00Z'): DomainReport {
  const status = results.some(r => r.status === 'fail') ? 'fail' : results.some(r => r.status === 'warn') ? 'warn' : 'pass'
  return {
    domain,
    checkedAt,
    durationMs: 120,
    results: results.map(r => ({ id: r.id, name: r.id === 'sts-txt' ? 'MTA-STS TXT record' : r.id, status: r.status, reason: `${r.id} is ${r.status}`, ...(r.hint === undefined ? {} : { hint: r.hint }), ...(r.details === undefined ? {} : { details: r.details }) })),
    status,
    readyForEnforce: status === 'pass',
    reasons: status === 'pass' ? [] : results.filter(r => r.status !== 'pass').map(r => `${r.id}: ${r.status}`),
  }
}

export const NOW = '2024-06-10T12:00:00Z'
export const TODAY = '2024-06-10'

/** The configuration of {@link dashboardFixture}: four tenants in different states. */
export const DASHBOARD_YAML = `
dns: { target: [policy.example.net] }
tenants:
  example.com:
    mode: enforce
    mx: [mx1.example.com, mx2.example.com]
    rua: ["mailto:tlsrpt@example.com"]
  example.org:
    mx: [mail.example.org]
  example.net:
    mode: none
    mx: [mx.example.net]
  calm.example:
    mx: [mx.calm.example]
`

/** What {@link dashboardFixture} changes from its defaults. */
export interface DashboardFixtureOptions {
  readonly yaml?: string
  readonly passwords?: readonly string[]
  readonly opsToken?: string
  /** `false`: reports off (no store). */
  readonly reports?: boolean
  /** `false`: stats off. */
  readonly stats?: boolean
  /** `false`: monitor off. */
  readonly checks?: boolean
  readonly pageSize?: number
  /** Replaces parts of the dashboard deps after the fixture made them. */
  readonly override?: (deps: DashboardDeps) => DashboardDeps
}

/** A realistic ops app with the dashboard: reports for two tenants (one with failures from hostile-named organisations), fetch statistics with two policy ids, checks, certificates in several states. */
export async function dashboardFixture (t: { teardown (fn: () => unknown): void }, options: DashboardFixtureOptions = {}): Promise<{ app: FastifyInstance, snapshot: TenantSnapshot, deps: DashboardDeps, logs: Record<string, unknown>[] }> {
  const config = configFrom(options.yaml ?? DASHBOARD_YAML)
  const snapshot = buildSnapshot(config, new Date(NOW))
  const id = (domain: string): string => snapshot.byHost.get(`mta-sts.${domain}`)?.id ?? 'none'
  const { store } = await memoryReportStore(t, NOW)
  const reports: ReportSpec[] = []
  for (let d = 1; d <= 10; d++) {
    const day = `2024-06-${String(d).padStart(2, '0')}`
    reports.push({ organization: 'google.com', day, policies: [{ domain: 'example.com', mode: 'enforce', mx: ['mx1.example.com'], successful: 100 + d * 10 }] })
    reports.push({
      organization: d % 2 === 0 ? HOSTILE_ORG : HOSTILE_ORG_2,
      day,
      policies: [{ domain: 'example.org', mode: 'testing', mx: ['mail.example.org'], successful: 40, failures: d > 5 ? [{ type: 'certificate-expired', mx: 'mail.example.org', ip: '192.0.2.1', sessions: d }] : [] }],
    })
  }
  await submitReports(store, reports)
  const history: PolicyChange[] = [
    { domain: 'example.com', at: '2024-06-01T08:00:00Z', mode: 'testing', policyId: 'oldid2024' },
    { domain: 'example.com', at: '2024-06-05T09:30:00Z', mode: 'enforce', policyId: id('example.com') },
  ]
  const counts: FetchCount[] = []
  const networks: FetchNetwork[] = []
  for (let d = 1; d <= 10; d++) {
    const day = `2024-06-${String(d).padStart(2, '0')}`
    const policyId = d < 5 ? 'oldid2024' : id('example.com')
    counts.push({ domain: 'example.com', policyId, day, sender: 'google', fetches: 20 + d, lastAt: `${day}T10:00:00Z` })
    counts.push({ domain: 'example.com', policyId, day, sender: 'other', fetches: 5, lastAt: `${day}T09:00:00Z` })
    if (d === 5) counts.push({ domain: 'example.com', policyId: 'oldid2024', day, sender: 'microsoft', fetches: 3, lastAt: `${day}T01:00:00Z` })
    networks.push({ domain: 'example.com', day, network: '192.0.2.0/24' }, { domain: 'example.com', day, network: `198.51.100.${d}/24` })
  }
  counts.push({ domain: 'example.org', policyId: id('example.org'), day: TODAY, sender: 'microsoft', fetches: 2, lastAt: `${TODAY}T11:30:00Z` })
  const certificates: CertificateStatus[] = [
    { host: 'mta-sts.example.com', state: 'valid', notAfter: new Date('2024-08-20T00:00:00Z'), failures: 0 },
    { host: 'mta-sts.example.org', state: 'valid', notAfter: new Date('2024-06-15T00:00:00Z'), failures: 0 },
    { host: 'mta-sts.calm.example', state: 'valid', notAfter: new Date('2024-09-01T00:00:00Z'), failures: 0 },
  ]
  const checks: DomainReport[] = [
    domainReport('example.com', [{ id: 'sts-txt', status: 'pass', details: { published: id('example.com') } }, { id: 'policy', status: 'pass' }]),
    domainReport('example.org', [{ id: 'sts-txt', status: 'fail', details: { published: 'stale123' }, hint: 'update the record' }, { id: 'mx-coverage', status: 'warn', hint: 'add an MX' }]),
    domainReport('calm.example', [{ id: 'sts-txt', status: 'pass', details: { published: id('calm.example') } }]),
  ]
  const dashboard: DashboardDeps = {
    settings: { ...config.ui, enabled: true, pageSize: options.pageSize ?? config.ui.pageSize },
    passwords: options.passwords ?? ['s3cret'],
    tenants: () => snapshot,
    certificates: () => certificates,
    ...(options.checks === false ? {} : { checks: () => checks }),
    ...(options.reports === false ? {} : { store: dashboardStore(store, history) }),
    ...(options.stats === false ? {} : { fetches: fakeFetchStats(counts, networks, TODAY) }),
    dnsTarget: config.dns.target,
    now: () => new Date(NOW),
  }
  const logs: Record<string, unknown>[] = []
  const stream = new PassThrough()
  stream.on('data', (c: Buffer) => { for (const l of c.toString().split('\n').filter(Boolean)) logs.push(JSON.parse(l) as Record<string, unknown>) })
  const deps: AppDeps = {
    logger: createLogger('info', stream),
    metrics: createMetrics(() => ({ expiries: () => [], status: () => [] })),
    tenants: () => snapshot,
    readiness: () => ({ ready: true, reasons: [], details: {} }),
    certificates: () => certificates,
    dashboard: options.override ? options.override(dashboard) : dashboard,
  }
  const app = await buildApp({ role: 'ops', ...(options.opsToken === undefined ? {} : { opsToken: options.opsToken }) }, deps)
  t.teardown(() => app.close())
  return { app, snapshot, deps: deps.dashboard as DashboardDeps, logs }
}

/** `Authorization: Basic` for `password` (user name `ops`). */
export function basic (password: string, user = 'ops'): string {
  return `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`
}
