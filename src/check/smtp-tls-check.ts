import type { Check, CheckContext, CheckResult } from './types.js'
import { foldHostName } from '../domain/host-name.js'
import { probeStartTls, text } from './smtp-probe.js'

/**
 * MX TLS: for each MX host of the tenant domain, probe STARTTLS on its first address
 * (IPv4 first) in parallel, one result `mx-tls:<host>` per host. Nothing to probe
 * (no MX, null MX) gives one failed `mx-tls` result.
 */
export const smtpTlsCheck: Check = async (ctx: CheckContext): Promise<CheckResult[]> => {
  const domain = ctx.tenant.domain
  const records = await ctx.resolver.resolveMx(domain).catch((err: NodeJS.ErrnoException) => err)
  if (records instanceof Error) {
    return [nothingToProbe(`MX lookup for ${domain} failed (${text(records.code, records.message)}): no MX host to probe`,
      `publish MX records for ${domain} that name hosts listed in the policy`, { error: records.message })]
  }
  // By preference, each host once (MX names are case-insensitive, a trailing dot is the same name).
  const hosts = [...new Set([...records].sort((a, b) => a.priority - b.priority).map(r => foldHostName(r.exchange)))]
  const probeable = hosts.filter(h => h !== '')
  if (probeable.length === 0) {
    return [hosts.length > 0
      ? nothingToProbe(`${domain} has a null MX (accepts no mail): no MX host to probe`,
        'an MTA-STS policy is pointless for a domain that accepts no mail: remove the tenant or publish real MX records', { mx: records })
      : nothingToProbe(`no MX records for ${domain}: no MX host to probe`,
        `publish MX records for ${domain} that name hosts listed in the policy`, { mx: records })]
  }
  return Promise.all(probeable.map(host => checkMx(ctx, host)))
}

function nothingToProbe (reason: string, hint: string, details: Record<string, unknown>): CheckResult {
  return { id: 'mx-tls', name: 'MX TLS', status: 'fail', reason, hint, details }
}

async function checkMx (ctx: CheckContext, host: string): Promise<CheckResult> {
  const id = `mx-tls:${host}`
  const name = `MX TLS ${host}`
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
