import type { DaySummary, ReportStore } from './report-store.js'
import { firstDay } from './utc-day.js'

/** Which domains and days {@link summarizeDomains} covers. */
export interface DomainSummaryQuery {
  /** Policy domains (lower-case A-labels), shown in this order even without reports; empty: every domain with reports. */
  readonly domains: readonly string[]
  readonly days: number
  /** Last day included, `YYYY-MM-DD` (UTC). */
  readonly until: string
}

/** One domain's reports, day by day. */
export interface DomainSummary {
  readonly domain: string
  /** Whether the domain is a tenant of this service (reports for others are kept, not served). */
  readonly tenant: boolean
  /** Oldest day first; empty: no reports in the period. */
  readonly daily: readonly DaySummary[]
}

/** The summary the CLI and the ops listener show. */
export interface ReportSummary {
  readonly period: { readonly days: number, readonly from: string, readonly until: string }
  readonly domains: readonly DomainSummary[]
}

/**
 * The stored reports of `query.domains` (or of every domain reported on), grouped by domain,
 * each marked with whether it is a tenant. `store` undefined (no database yet) reads as empty.
 */
export async function summarizeDomains (store: Pick<ReportStore, 'summarize'> | undefined, query: DomainSummaryQuery, isTenant: (domain: string) => boolean): Promise<ReportSummary> {
  const wanted = [...new Set(query.domains)]
  const days = store === undefined ? [] : await store.summarize({ ...(wanted.length > 0 ? { domains: wanted } : {}), days: query.days, until: query.until })
  const byDomain = new Map<string, DaySummary[]>(wanted.map(d => [d, []]))
  for (const day of days) {
    const list = byDomain.get(day.domain) ?? []
    list.push(day)
    byDomain.set(day.domain, list)
  }
  return {
    period: { days: query.days, from: firstDay(query.until, query.days), until: query.until },
    domains: [...byDomain].map(([domain, daily]) => ({ domain, tenant: isTenant(domain), daily })),
  }
}
