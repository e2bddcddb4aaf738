import { mxMatches } from '../policy/mx-pattern.js'
import { worst } from './check-domain.js'
import { dnsErrorCode, isNoRecords } from './dns-resolver.js'
import { cacheDays, onboardingAdvice } from './onboarding-advice.js'
import { checkMx } from './smtp-tls-check.js'
import { surveyDomain, type DomainSurvey } from './survey-domain.js'
import type { CheckResult, CheckStatus, OnboardingReport, ProbeContext } from './types.js'

/** Options of {@link onboardingReport}. */
export interface OnboardingOptions {
  /** The report addresses the domain would get here (`defaults.rua`, else this service's own); empty when none. */
  readonly rua: readonly string[]
}

/**
 * `check` of a domain that is not a tenant (`domain` in A-labels): its
 * `_mta-sts` TXT, the policy served today wherever it is hosted, the MX hosts
 * (covered by that policy?) with their STARTTLS and certificates, and
 * `_smtp._tls`, as results in the shape of the tenant checks, plus what moving
 * it here would mean. Findings about the set-up elsewhere are warnings; a
 * failure means senders are let down today (a published `_mta-sts` without a
 * valid policy, an enforce policy not covering an MX host or whose MX hosts
 * fail TLS) or DNS did not answer.
 */
export async function onboardingReport (ctx: ProbeContext, domain: string, opts: OnboardingOptions): Promise<OnboardingReport> {
  const started = Date.now()
  const checkedAt = ctx.now().toISOString()
  const survey = await surveyDomain(ctx, domain)
  const policy = survey.policy.kind === 'served' ? survey.policy.policy : undefined
  const enforce = policy?.mode === 'enforce'
  const hosts = survey.mx.ok ? survey.mx.hosts : []
  const probes = await Promise.all(hosts.map(host => checkMx(ctx, host)))
  // Under enforce a failing MX host loses mail today; otherwise it is something to fix before enforce.
  const mxTls = probes.map(r => r.status === 'fail' && !enforce ? { ...r, status: 'warn' as const } : r)
  const results: CheckResult[] = [stsLine(survey), policyLine(survey), mxLine(survey), ...mxTls, tlsRptLine(survey)]
  const { stsTxt, tlsRptTxt } = survey
  return Object.freeze({
    domain,
    checkedAt,
    durationMs: Date.now() - started,
    results: Object.freeze(results),
    status: results.reduce<CheckStatus>((acc, r) => worst(acc, r.status), 'pass'),
    readyForEnforce: false,
    reasons: Object.freeze([`${domain} is not a tenant: this service serves no policy for it yet`]),
    tenant: false,
    facts: Object.freeze({
      stsId: stsTxt.kind === 'published' ? stsTxt.id : null,
      policy: survey.policy.kind === 'served' ? { url: survey.policy.url, ...survey.policy.policy } : null,
      mx: hosts,
      tlsRpt: tlsRptTxt.kind === 'published' ? tlsRptTxt.rua : null,
    }),
    advice: Object.freeze(onboardingAdvice(survey, probes, opts.rua)),
  })
}

function line (id: string, name: string, status: CheckStatus, reason: string, hint: string | undefined, details: Record<string, unknown>): CheckResult {
  return { id, name, status, reason, ...(hint === undefined ? {} : { hint }), details }
}

function stsLine ({ stsTxt }: DomainSurvey): CheckResult {
  const at = (status: CheckStatus, reason: string, hint?: string): CheckResult =>
    line('sts-txt', 'MTA-STS TXT record', status, reason, hint, { name: stsTxt.name, records: stsTxt.records, ...('id' in stsTxt ? { published: stsTxt.id } : {}) })
  switch (stsTxt.kind) {
    case 'published': return at('pass', `${stsTxt.name} publishes id ${stsTxt.id}`)
    case 'none': return at('warn', `${stsTxt.reason}: senders apply no MTA-STS policy today`, 'publish it last, once the policy is served here (see propose)')
    case 'dns-error': return at('fail', stsTxt.reason, 'check that the domain\'s name servers answer TXT queries')
    default: return at('fail', `${stsTxt.reason}: senders see no policy`, 'keep exactly one valid v=STSv1 record')
  }
}

function policyLine ({ policy, stsTxt }: DomainSurvey): CheckResult {
  const at = (status: CheckStatus, reason: string, hint: string | undefined, details: Record<string, unknown>): CheckResult =>
    line('policy', 'Policy file', status, reason, hint, { url: policy.url, ...details })
  if (policy.kind === 'served') {
    const { mode, mx, maxAge } = policy.policy
    return at('pass', `serves mode ${mode}, max_age ${maxAge} (${cacheDays(maxAge)} day(s)), mx ${mx.join(', ')}`, undefined,
      { address: policy.address, mode, mx, maxAge, tlsVersion: policy.tlsVersion, certExpires: policy.certExpires, notes: policy.notes })
  }
  const details = { ...(policy.address === undefined ? {} : { address: policy.address }), ...(policy.error === undefined ? {} : { error: policy.error }) }
  if (policy.kind === 'dns-error') return at('fail', policy.reason, 'check that the domain\'s name servers answer A/AAAA queries', details)
  if (stsTxt.kind === 'none') return at('warn', `${policy.reason} (no _mta-sts record: senders do not look for it)`, undefined, details)
  return at('fail', `_mta-sts is published, but senders get no policy: ${policy.reason}`, 'serve the policy here first (add the tenant, point the policy host here), then publish the new _mta-sts id', details)
}

function mxLine ({ domain, mx: lookup, policy }: DomainSurvey): CheckResult {
  const at = (status: CheckStatus, reason: string, hint: string | undefined, details: Record<string, unknown>): CheckResult =>
    line('mx-coverage', 'MX hosts', status, reason, hint, details)
  if (!lookup.ok) {
    const code = dnsErrorCode(lookup.error)
    return isNoRecords(lookup.error)
      ? at('warn', `${domain} has no MX records (${code}): MTA-STS protects delivery to MX hosts`, `publish MX records for ${domain}`, { error: code })
      : at('fail', `DNS lookup of the MX records of ${domain} failed (${code})`, 'check that the domain\'s name servers answer MX queries', { error: code })
  }
  const mx = lookup.hosts
  if (mx.length === 0) {
    return at('warn', lookup.nullMx ? `${domain} publishes a null MX ("."): it accepts no mail` : `${domain} has no MX records`, `publish MX records for ${domain}`, { mx })
  }
  if (policy.kind !== 'served') return at('pass', `${mx.length} MX host(s): ${mx.join(', ')}`, undefined, { mx })
  const { mode, mx: patterns } = policy.policy
  const uncovered = mx.filter(host => !patterns.some(p => mxMatches(p, host)))
  const details = { mx, patterns, uncovered }
  if (uncovered.length === 0) return at('pass', `all ${mx.length} MX host(s) (${mx.join(', ')}) are covered by the current policy`, undefined, details)
  return mode === 'enforce'
    ? at('fail', `the current enforce policy does not cover ${uncovered.join(', ')}: senders holding it refuse mail to them`, `add ${uncovered.join(', ')} to the mx patterns of the policy served today`, details)
    : at('warn', `the current policy (mode ${mode}) does not cover ${uncovered.join(', ')}`, `add ${uncovered.join(', ')} to mx before mode enforce`, details)
}

function tlsRptLine ({ tlsRptTxt }: DomainSurvey): CheckResult {
  const at = (status: CheckStatus, reason: string, hint?: string): CheckResult =>
    line('tlsrpt-txt', 'TLS-RPT TXT record', status, reason, hint, { name: tlsRptTxt.name, records: tlsRptTxt.records, ...('rua' in tlsRptTxt ? { rua: tlsRptTxt.rua } : {}) })
  if (tlsRptTxt.kind === 'published') return at('pass', `${tlsRptTxt.name} sends reports to ${tlsRptTxt.rua.join(',')}`)
  if (tlsRptTxt.kind === 'none') return at('warn', `${tlsRptTxt.reason}: senders send no TLS reports`, 'publish the _smtp._tls record propose prints')
  return at('warn', tlsRptTxt.reason, 'publish the _smtp._tls record propose prints')
}
