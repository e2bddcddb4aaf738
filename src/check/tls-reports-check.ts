import type { ReportSettings } from '../config/types.js'
import { AppliedPolicyTally } from '../db/applied-policy-tally.js'
import type { AppliedPolicySummary, CountedValue, DaySummary } from '../db/report-store.js'
import { utcDay } from '../db/utc-day.js'
import { isServedPolicy, type ServedPolicy } from './is-served-policy.js'
import type { Check, CheckResult, CheckRun } from './types.js'

const ID = 'tls-reports'
const NAME = 'TLS reports'
/** Failure result types and MX hosts named in a failure's reason. */
const TOP = 3

/** Sessions reported under one applied policy (or a group of them) over the verdict's days. */
export type PolicyEvidence = AppliedPolicySummary

/** What the reports of the verdict's days say about a domain's served policy, and what else they saw. */
export interface TlsReportsEvidence {
  /** Sessions under the policy served now (same mode and mx set). */
  readonly served: PolicyEvidence
  /** Sessions under every other policy senders applied or failed to get (older policies, no-policy-found, an sts policy they could not fetch). */
  readonly others: readonly PolicyEvidence[]
  /** Sessions that failed with `sts-policy-fetch-error` outside the served policy. */
  readonly policyFetchErrors: number
}

/**
 * Sort the applied policies of `days` into the one `served` now and the
 * others (grouped by type, mode and mx set), summed over the days.
 */
export function weighReports (days: readonly DaySummary[], served: ServedPolicy): TlsReportsEvidence {
  const mine = new AppliedPolicyTally({ type: 'sts', mode: served.mode, mx: served.mx })
  const others = new Map<string, AppliedPolicyTally>()
  let policyFetchErrors = 0
  for (const day of days) {
    for (const p of day.policies) {
      if (isServedPolicy(p, served)) {
        mine.addSummary(p)
        continue
      }
      const key = `${p.type}\n${p.mode ?? ''}\n${[...p.mx].map(m => m.toLowerCase()).sort().join(' ')}`
      let tally = others.get(key)
      if (tally === undefined) others.set(key, tally = new AppliedPolicyTally(p))
      tally.addSummary(p)
      policyFetchErrors += p.failureTypes.filter(f => f.value === 'sts-policy-fetch-error').reduce((n, f) => n + f.sessions, 0)
    }
  }
  const sessions = (e: PolicyEvidence): number => e.successfulSessions + e.failedSessions
  return {
    served: mine.summary(),
    others: [...others.values()].map(t => t.summary()).sort((a, b) => sessions(b) - sessions(a)),
    policyFetchErrors,
  }
}

/** `sts (mode testing; mx a, b)`, `sts (not fetched)`, `no-policy-found`. */
function describePolicy (p: Pick<PolicyEvidence, 'type' | 'mode' | 'mx'>): string {
  if (p.type !== 'sts') return p.type
  if (p.mode === null) return 'sts (not fetched)'
  return `sts (mode ${p.mode}; mx ${p.mx.join(', ')})`
}

function plural (n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`
}

function counted (list: readonly CountedValue[]): string {
  return list.slice(0, TOP).map(v => `${v.value} ${v.sessions}`).join(', ') + (list.length > TOP ? `, ${list.length - TOP} more` : '')
}

/** `; also seen: ...` listing the other evidence, or nothing. */
function alsoSeen (evidence: TlsReportsEvidence): string {
  const parts = evidence.others.map(o => `${describePolicy(o)} from ${plural(o.organizations.length, 'organization')}, ${plural(o.successfulSessions + o.failedSessions, 'session')}`)
  if (evidence.policyFetchErrors > 0) parts.push(`${plural(evidence.policyFetchErrors, 'session')} failing sts-policy-fetch-error`)
  return parts.length === 0 ? '' : `; also seen: ${parts.join('; ')}`
}

/** The verdict's run for the given settings. */
function runWith (verdict: ReportSettings['verdict']): CheckRun {
  return async ctx => {
    const { tenant } = ctx
    const result = (status: CheckResult['status'], reason: string, hint: string | undefined, details: Record<string, unknown>): CheckResult[] =>
      [{ id: ID, name: NAME, status, reason, ...(hint === undefined ? {} : { hint }), details: { days: verdict.days, minOrganizations: verdict.minOrganizations, ...details } }]
    if (tenant.mode === 'none') {
      return result('pass', 'mode none: senders are told to stop applying MTA-STS, so their reports are not weighed', undefined, { mode: 'none' })
    }
    if (ctx.reports === undefined) {
      return result('warn', 'no report database to read: the reports senders sent cannot be weighed', 'enable reports (reports.enabled) and let senders deliver to this service', {})
    }
    const until = utcDay(ctx.now())
    const days = await ctx.reports.summarize({ domains: [tenant.domain], days: verdict.days, until })
    const evidence = weighReports(days, tenant)
    const { served } = evidence
    const policy = describePolicy({ type: 'sts', mode: tenant.mode, mx: tenant.mx })
    const period = `in the last ${plural(verdict.days, 'day')}`
    const details = { until, servedPolicy: { mode: tenant.mode, mx: tenant.mx }, ...evidence }
    const total = served.successfulSessions + served.failedSessions
    if (served.failedSessions > 0) {
      const consequence = tenant.mode === 'enforce' ? 'senders did not deliver those messages' : 'under enforce, senders would not deliver those messages'
      return result('fail',
        `${served.failedSessions} of ${plural(total, 'session')} failed under the served policy ${period} (${consequence}): ${served.failureTypes.length === 0 ? 'types not named' : counted(served.failureTypes)}; MX ${served.failingMxHosts.length === 0 ? 'not named' : counted(served.failingMxHosts)}`,
        `fix the TLS of the named MX hosts (certificate, name, STARTTLS) or the mx patterns; each day: mta-sts-host reports summary ${tenant.domain}`,
        details)
    }
    const orgs = served.organizations.length
    if (orgs >= verdict.minOrganizations) {
      return result('pass', `${plural(orgs, 'organization')} reported ${plural(total, 'session')} under the served policy ${period}, none failed`, undefined, details)
    }
    const seen = orgs === 0
      ? `no reports under the served policy ${policy} ${period}`
      : `only ${plural(orgs, 'organization')} (${served.organizations.join(', ')}) reported ${plural(total, 'session')} under the served policy ${period}`
    const hint = evidence.others.some(o => o.type === 'sts' && o.mode !== null)
      ? 'senders apply a policy until they refetch it (max_age): wait for reports under the policy served now'
      : `wait for reports from more senders (they send one a day) and check that _smtp._tls.${tenant.domain} sends them to this service`
    return result('warn', `${seen}, at least ${verdict.minOrganizations} needed${alsoSeen(evidence)}`, hint, details)
  }
}

/**
 * The "TLS reports" check (RFC 8460): over the last `verdict.days` days, the
 * sessions senders reported under the policy served now (same mode and mx
 * set). Pass: at least `minOrganizations` organizations, no failed session.
 * Warn: too few organizations (other and older policies, no-policy-found and
 * fetch errors are listed, but never make it pass). Fail: a session failed;
 * the reason names the top failure types and MX hosts. `mode: none` passes.
 * When `verdict.required`, a warning blocks enforce too; otherwise only a failure does.
 */
export function tlsReportsCheck (verdict: ReportSettings['verdict']): Check {
  return Object.freeze({ id: ID, title: NAME, gatesEnforce: verdict.required ? 'warn' : 'fail', run: runWith(verdict) })
}
