import { cacheDays } from '../check/onboarding-advice.js'
import type { DomainSurvey } from '../check/survey-domain.js'
import { defaultRua, ownRua } from '../config/own-rua.js'
import type { Config, PolicyMode, Tenant } from '../config/types.js'
import { mxMatches } from '../policy/mx-pattern.js'
import { proposeMxPatterns } from '../policy/propose-mx-patterns.js'
import { tenantEntry, type TenantEntry } from '../tenants/tenant-snapshot.js'

/** One `mx` line of a proposal, with the comment that explains it. */
export interface ProposalPattern {
  readonly pattern: string
  readonly comment?: string
}

/** A tenant entry proposed for a domain, with the comments that explain each choice. */
export interface TenantProposal {
  readonly ok: true
  /** The tenant as this service will serve it once the entry is pasted (its id is the `_mta-sts` id to publish). */
  readonly entry: TenantEntry
  readonly patterns: readonly ProposalPattern[]
  /** Lines about the proposal as a whole (the policy served today...). */
  readonly notes: readonly string[]
  readonly modeComment: string
  readonly maxAgeComment: string
  /** `rua` written into the entry; absent when the entry leaves it to the defaults (`ruaComment` says why). */
  readonly rua?: readonly string[]
  readonly ruaComment: string
  /** A policy is served today: its mx and mode were kept. */
  readonly keptPolicy: boolean
  /** Caveats worth a warning on stderr (`propose` then exits 1). */
  readonly warnings: readonly string[]
}

/** Why no entry can be proposed for a domain (a DNS failure, no MX hosts). */
export interface ProposalRefusal {
  readonly ok: false
  readonly reason: string
}

/**
 * The tenant entry to propose for a domain that is not a tenant yet, from its
 * survey and the configuration: mode `testing`, `mx` patterns from its MX
 * hosts ({@link proposeMxPatterns}), `max_age` from `defaults`, `rua` at this
 * service. When a valid policy is served today, its `mx` patterns and its mode
 * (`enforce` or `testing`) are kept, MX hosts it misses are added and
 * `max_age` is at least its own, so that nothing senders cached breaks.
 * Refused when a lookup that decides the entry failed or there is no MX host.
 */
export function proposeTenant (survey: DomainSurvey, config: Pick<Config, 'defaults' | 'reports'>): TenantProposal | ProposalRefusal {
  const { domain, mx, stsTxt, policy } = survey
  if (!mx.ok) {
    const code = String(mx.error.code ?? mx.error.message)
    return { ok: false, reason: code === 'ENOTFOUND' || code === 'ENODATA' ? `${domain} has no MX records (${code}): publish them first, MTA-STS protects delivery to MX hosts` : `MX lookup of ${domain} failed (${code})` }
  }
  if (mx.hosts.length === 0) return { ok: false, reason: mx.nullMx ? `${domain} publishes a null MX ("."): it accepts no mail, so it needs no MTA-STS policy` : `${domain} has no MX records: publish them first` }
  if (stsTxt.kind === 'dns-error') return { ok: false, reason: `${stsTxt.reason}: cannot tell whether senders hold a policy of ${domain}` }
  if (policy.kind === 'dns-error') return { ok: false, reason: `${policy.reason}: cannot tell whether ${domain} serves a policy today` }

  const notes: string[] = []
  const warnings: string[] = []
  let mode: PolicyMode = 'testing'
  let modeComment = 'start here; switch to enforce when `check` says ready for enforce'
  let maxAge = config.defaults.maxAge
  let maxAgeComment = 'defaults.max_age'
  let patterns: ProposalPattern[]
  if (policy.kind === 'served') {
    const existing = policy.policy
    const days = cacheDays(existing.maxAge)
    notes.push(`${policy.url} serves a policy today (mode ${existing.mode}, max_age ${existing.maxAge}): senders may cache it for up to ${days} day(s), so its mx patterns${existing.mode === 'none' ? '' : ' and mode'} are kept`)
    if (existing.mode !== 'none') {
      mode = existing.mode
      modeComment = `kept from the policy served today (senders may cache it for up to ${days} day(s))`
    } else {
      modeComment = 'the policy served today has mode none: testing asks senders for nothing that can break delivery'
    }
    if (existing.maxAge > maxAge) {
      maxAge = existing.maxAge
      maxAgeComment = 'that of the policy served today: never shorter than what senders may have cached'
    }
    patterns = existing.mx.map(pattern => ({ pattern, comment: 'kept from the policy served today' }))
    for (const host of mx.hosts.filter(h => !existing.mx.some(p => mxMatches(p, h)))) {
      patterns.push({ pattern: host, comment: 'an MX host the policy served today does not cover' })
    }
  } else {
    patterns = proposeMxPatterns(mx.hosts).map(p => ({ pattern: p.pattern, ...(p.why === undefined ? {} : { comment: p.why }) }))
    if (stsTxt.kind !== 'none') {
      const warning = `_mta-sts.${domain} is published, but no valid policy could be fetched (${policy.reason}): senders may still hold a policy cached earlier whose mx patterns cannot be seen; the entry follows the MX records`
      notes.push(warning)
      warnings.push(warning)
    }
  }

  const own = ownRua(config.reports, domain)
  const byDefault = defaultRua(config, domain)
  const same = (a: readonly string[], b: readonly string[]): boolean => a.length === b.length && a.every((v, i) => v === b[i])
  let rua: readonly string[] | undefined
  let ruaComment: string
  if (own.length === 0) {
    ruaComment = byDefault.length === 0
      ? 'no rua: reports.enabled is false, so this service takes no TLS reports'
      : `rua left to defaults.rua (${byDefault.join(', ')}): reports.enabled is false, so this service takes none`
  } else if (same(own, byDefault)) {
    ruaComment = `rua left out: by default senders report to this service (${own.join(', ')})`
  } else {
    rua = own
    ruaComment = 'this service\'s report address (defaults.rua names others)'
  }
  const tenant: Tenant = { domain, host: `mta-sts.${domain}`, mode, mx: patterns.map(p => p.pattern), maxAge, rua: rua ?? byDefault }
  return {
    ok: true,
    entry: tenantEntry(tenant),
    patterns,
    notes,
    modeComment,
    maxAgeComment,
    ...(rua === undefined ? {} : { rua }),
    ruaComment,
    keptPolicy: policy.kind === 'served',
    warnings,
  }
}
