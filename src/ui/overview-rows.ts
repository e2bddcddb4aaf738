import type { CheckStatus, DomainReport } from '../check/types.js'
import type { PolicyMode } from '../config/types.js'
import type { DomainReportTotals, LastFetch } from '../stats/types.js'
import type { TenantEntry } from '../tenants/tenant-snapshot.js'
import type { CertificateStatus } from '../tls/certificate-types.js'

/** A certificate expiring within this many days needs attention (ACME renews at a third of its lifetime left, long before). */
export const EXPIRY_ATTENTION_DAYS = 14

const DAY_MS = 86_400_000

/**
 * How the published `_mta-sts` TXT id compares with the served one, by the latest `sts-txt`
 * check: `match`, `mismatch` (another id published), `problem` (no record, an invalid one, or
 * the lookup failed), `unknown` (not checked yet).
 */
export type TxtState = 'match' | 'mismatch' | 'problem' | 'unknown'

/** One tenant as the overview shows it. */
export interface OverviewRow {
  readonly domain: string
  readonly mode: PolicyMode
  readonly policyId: string
  readonly txt: TxtState
  /** The id published in DNS, when the check found one. */
  readonly publishedId?: string
  /** Absent: no certificate loaded for the host. */
  readonly certificate?: CertificateStatus
  /** Whole days until the certificate expires (negative once expired). */
  readonly certificateDaysLeft?: number
  readonly check?: { readonly status: CheckStatus, readonly readyForEnforce: boolean, readonly checkedAt: string }
  /** TLS report sessions over the overview's days; absent when nothing was reported. */
  readonly reports?: { readonly successful: number, readonly failed: number, readonly organizations: number, readonly successRate?: number }
  readonly lastFetch?: LastFetch
  /** Why the tenant needs attention, in words; empty when it does not. */
  readonly attention: readonly string[]
}

/** What {@link overviewRows} joins. */
export interface OverviewSources {
  readonly tenants: readonly TenantEntry[]
  readonly certificates: readonly CertificateStatus[]
  readonly checks?: readonly DomainReport[]
  readonly totals?: readonly DomainReportTotals[]
  readonly lastFetches?: ReadonlyMap<string, LastFetch>
  readonly now: Date
}

/** Where the `sts-txt` result of a check report leaves the published id. */
export function txtState (report: DomainReport | undefined): { txt: TxtState, publishedId?: string } {
  const result = report?.results.find(r => r.id === 'sts-txt')
  if (result === undefined) return { txt: 'unknown' }
  const published = result.details?.published
  const publishedId = typeof published === 'string' ? { publishedId: published } : {}
  if (result.status === 'pass') return { txt: 'match', ...publishedId }
  return { txt: typeof published === 'string' ? 'mismatch' : 'problem', ...publishedId }
}

/**
 * One row per tenant, joined in a single pass over Maps keyed by domain (or host), so that
 * 10,000 tenants cost a few milliseconds. Rows keep the snapshot's order.
 */
export function overviewRows (sources: OverviewSources): OverviewRow[] {
  const certificates = new Map(sources.certificates.map(c => [c.host, c]))
  const checks = new Map((sources.checks ?? []).map(c => [c.domain, c]))
  const totals = new Map((sources.totals ?? []).map(c => [c.domain, c]))
  const now = sources.now.getTime()
  return sources.tenants.map(tenant => {
    const attention: string[] = []
    const report = checks.get(tenant.domain)
    const { txt, publishedId } = txtState(report)
    if (report?.status === 'fail') attention.push('set-up check fails')
    if (txt === 'mismatch') attention.push('published id differs from the served id')
    if (txt === 'problem') attention.push('_mta-sts TXT record missing or invalid')
    const certificate = certificates.get(tenant.host)
    const daysLeft = certificate?.notAfter === undefined ? undefined : Math.floor((certificate.notAfter.getTime() - now) / DAY_MS)
    if (certificate === undefined) attention.push('no certificate loaded')
    else if (certificate.state !== 'valid') attention.push(`certificate ${certificate.state}`)
    else if (daysLeft !== undefined && daysLeft < EXPIRY_ATTENTION_DAYS) attention.push(daysLeft < 0 ? 'certificate expired' : `certificate expires in ${daysLeft} days`)
    const total = totals.get(tenant.domain)
    const sessions = total === undefined ? 0 : total.successful + total.failed
    if (total !== undefined && total.failed > 0) attention.push(`${total.failed} failed sessions reported`)
    const lastFetch = sources.lastFetches?.get(tenant.domain)
    return {
      domain: tenant.domain,
      mode: tenant.mode,
      policyId: tenant.id,
      txt,
      ...(publishedId === undefined ? {} : { publishedId }),
      ...(certificate === undefined ? {} : { certificate }),
      ...(daysLeft === undefined ? {} : { certificateDaysLeft: daysLeft }),
      ...(report === undefined ? {} : { check: { status: report.status, readyForEnforce: report.readyForEnforce, checkedAt: report.checkedAt } }),
      ...(total === undefined
        ? {}
        : { reports: { successful: total.successful, failed: total.failed, organizations: total.organizations, ...(sessions > 0 ? { successRate: total.successful / sessions } : {}) } }),
      ...(lastFetch === undefined ? {} : { lastFetch }),
      attention,
    }
  })
}
