import { isServedPolicy, type ServedPolicy } from '../check/is-served-policy.js'
import type { AppliedPolicySummary, CountedValue } from '../db/report-store.js'
import type { ReportSummary } from '../db/summarize-domains.js'

const HEADINGS = ['DAY', 'REPORTS', 'ORGANISATIONS', 'OK', 'FAILED', 'FAILURE TYPES', 'FAILING MX', 'FAILING FROM'] as const

function counted (list: readonly CountedValue[]): string {
  return list.length === 0 ? '-' : list.map(v => `${v.value} ${v.sessions}`).join(', ')
}

/** `sts mode testing mx a, b`, `sts (not fetched)`, `no-policy-found`. */
function policyName (p: AppliedPolicySummary): string {
  if (p.type !== 'sts') return p.type
  return p.mode === null ? 'sts (not fetched)' : `sts mode ${p.mode} mx ${p.mx.join(', ')}`
}

/**
 * The summary as text: per domain a heading (tenant with its served policy,
 * or `(not a tenant)`), a table row per day (reports, reporting organisations,
 * successful and failed sessions, failure result types, failing receiving MX
 * hosts, sending addresses of failures, each with its session count), and
 * under each row the policies senders applied, the one served now marked.
 */
export function formatReportSummary (summary: ReportSummary, served: (domain: string) => ServedPolicy | undefined): string {
  const { period } = summary
  const lines: string[] = []
  for (const { domain, tenant, daily } of summary.domains) {
    const policy = served(domain)
    lines.push(!tenant ? `${domain} (not a tenant)` : policy === undefined ? domain : `${domain} (serving mode ${policy.mode}, mx ${policy.mx.join(', ')})`)
    if (daily.length === 0) {
      lines.push(`  no reports from ${period.from} to ${period.until}`, '')
      continue
    }
    const rows = daily.map(d => [d.day, String(d.reports), d.organizations.join(', '), String(d.successfulSessions), String(d.failedSessions),
      counted(d.failureTypes), counted(d.failingMxHosts), counted(d.failingSendingIps)])
    const widths = HEADINGS.map((h, i) => Math.max(h.length, ...rows.map(r => (r[i] as string).length)))
    const row = (cells: readonly string[]): string => `  ${cells.map((c, i) => i === cells.length - 1 ? c : c.padEnd(widths[i] as number)).join('  ')}`
    lines.push(row(HEADINGS))
    for (const [i, day] of daily.entries()) {
      lines.push(row(rows[i] as string[]))
      for (const p of day.policies) {
        const mark = policy !== undefined && isServedPolicy(p, policy) ? ' (served now)' : ''
        const failures = p.failedSessions === 0 ? '' : `: ${counted(p.failureTypes)}`
        lines.push(`  ${' '.repeat(widths[0] as number)}  policy ${policyName(p)}${mark} from ${p.organizations.join(', ')}: ${p.successfulSessions} ok, ${p.failedSessions} failed${failures}`)
      }
    }
    lines.push('')
  }
  const reported = summary.domains.filter(d => d.daily.length > 0).length
  lines.push(summary.domains.length === 0
    ? `no reports from ${period.from} to ${period.until}`
    : `${summary.domains.length} domain(s), ${reported} with reports from ${period.from} to ${period.until}`)
  return lines.join('\n') + '\n'
}
