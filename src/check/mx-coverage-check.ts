import { mxMatches } from '../policy/mx-pattern.js'
import { dnsErrorCode } from './dns-resolver.js'
import { lookupMx } from './mx-lookup.js'
import type { Check, CheckResult, CheckRun } from './types.js'

const ID = 'mx-coverage'
const NAME = 'MX coverage'

const run: CheckRun = async ctx => {
  const { tenant } = ctx
  const patterns = [...tenant.mx]
  const result = (status: CheckResult['status'], reason: string, hint: string | undefined, details: Record<string, unknown>): CheckResult[] =>
    [{ id: ID, name: NAME, status, reason, ...(hint === undefined ? {} : { hint }), details: { patterns, ...details } }]

  const lookup = await lookupMx(ctx)
  if (!lookup.ok) {
    const code = dnsErrorCode(lookup.error)
    const reason = code === 'ENODATA' || code === 'ENOTFOUND'
      ? `${tenant.domain} has no MX records (${code})`
      : `DNS lookup of the MX records of ${tenant.domain} failed (${code})`
    return result('fail', reason, `publish MX records for ${tenant.domain} matching the policy's mx patterns`, { error: code })
  }
  const mx = [...lookup.names]
  if (mx.length === 0) return result('fail', `${tenant.domain} has no MX records`, `publish MX records for ${tenant.domain} matching the policy's mx patterns`, { mx })
  if (lookup.nullMx) {
    return result('fail', `${tenant.domain} publishes a null MX ("."): the domain accepts no mail`, `remove the MTA-STS records of ${tenant.domain}, or publish real MX records`, { mx })
  }
  const uncovered = mx.filter(host => !patterns.some(p => mxMatches(p, host)))
  const unusedPatterns = patterns.filter(p => !mx.some(host => mxMatches(p, host)))
  const details = { mx, uncovered, unusedPatterns }
  if (uncovered.length > 0) {
    return result('fail', `enforce would make senders refuse mail to ${uncovered.join(', ')}: not matched by any mx pattern`, `add mx: ${uncovered.join(', ')} to the tenant's policy (or fix the MX records)`, details)
  }
  if (unusedPatterns.length > 0) {
    return result('warn', `mx pattern(s) ${unusedPatterns.join(', ')} match no MX host of ${tenant.domain} (harmless: every MX host is covered)`, `remove ${unusedPatterns.join(', ')} from the tenant's mx list, unless MX hosts it covers are about to be added`, details)
  }
  return result('pass', `all ${mx.length} MX host(s) are covered by the policy`, undefined, details)
}

/**
 * Check that every MX host of the domain matches one of the policy's `mx`
 * patterns (RFC 8461 section 4.1): an uncovered MX fails, since `enforce`
 * makes senders refuse to deliver to it; a pattern matching no MX only warns
 * (it does not block enforce: only failures of this check do).
 */
export const mxCoverageCheck: Check = Object.freeze({ id: ID, title: NAME, gatesEnforce: 'fail', run })
