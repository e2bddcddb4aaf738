import { lookupMx } from './mx-lookup.js'
import type { Check, CheckContext, CheckResult, CheckRun, ProbeContext } from './types.js'
import { probeStartTls, text } from './smtp-probe.js'

const ID = 'mx-tls'
const NAME = 'MX TLS'

const run: CheckRun = async (ctx: CheckContext): Promise<CheckResult[]> => {
  const domain = ctx.tenant.domain
  const lookup = await lookupMx(ctx)
  if (!lookup.ok) {
    return [nothingToProbe(`MX lookup for ${domain} failed (${text(lookup.error.code, lookup.error.message)}): no MX host to probe`,
      `publish MX records for ${domain} that name hosts listed in the policy`, { error: lookup.error.message })]
  }
  // By preference, each host once (MX names are case-insensitive, a trailing dot is the same name).
  if (lookup.hosts.length === 0) {
    return [lookup.nullMx
      ? nothingToProbe(`${domain} has a null MX (accepts no mail): no MX host to probe`,
        'an MTA-STS policy is pointless for a domain that accepts no mail: remove the tenant or publish real MX records', { mx: lookup.records })
      : nothingToProbe(`no MX records for ${domain}: no MX host to probe`,
        `publish MX records for ${domain} that name hosts listed in the policy`, { mx: lookup.records })]
  }
  return Promise.all(lookup.hosts.map(host => checkMx(ctx, host)))
}

/**
 * MX TLS: for each MX host of the tenant domain, probe STARTTLS on its first address
 * (IPv4 first) in parallel, one result `mx-tls:<host>` per host. Nothing to probe
 * (no MX, null MX) gives one failed `mx-tls` result. Its warnings block enforce
 * too: a certificate about to expire or a weak set-up breaks mail under enforce.
 */
export const smtpTlsCheck: Check = Object.freeze({ id: ID, title: NAME, gatesEnforce: 'warn', run })

function nothingToProbe (reason: string, hint: string, details: Record<string, unknown>): CheckResult {
  return { id: ID, name: NAME, status: 'fail', reason, hint, details }
}

/**
 * Probe STARTTLS on the first address of one MX host (IPv4 first): the
 * `mx-tls:<host>` result. Also used for domains that are not tenants.
 */
export async function checkMx (ctx: ProbeContext, host: string): Promise<CheckResult> {
  const id = `${ID}:${host}`
  const name = `${NAME} ${host}`
  const v4 = await ctx.resolver.resolve4(host).catch(() => [] as string[])
  const addresses = v4.length > 0 ? v4 : await ctx.resolver.resolve6(host).catch(() => [] as string[])
  const address = addresses[0]
  if (address === undefined) {
    return {
      id,
      name,
      status: 'fail',
      reason: `no A or AAAA record for ${host}`,
      hint: `publish an A (and AAAA) record for ${host}, or remove it from the MX records`,
      details: { host, addresses: [] },
    }
  }
  const probe = await probeStartTls({
    host,
    address,
    port: ctx.smtpPort,
    timeoutMs: ctx.timeoutMs,
    ca: ctx.ca,
    now: ctx.now(),
    expiryWarningDays: ctx.expiryWarningDays,
  })
  return {
    id,
    name,
    status: probe.status,
    reason: probe.reason,
    ...(probe.hint === undefined ? {} : { hint: probe.hint }),
    details: { host, addresses, problems: probe.problems, ...probe.details },
  }
}
