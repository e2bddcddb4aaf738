import { dnsErrorCode, isNoRecords, withTimeout } from './dns-resolver.js'
import type { ProbeContext } from './types.js'

/** The addresses of a policy host, or why there are none (`missing`: NXDOMAIN/NODATA, not a failed lookup). */
export type PolicyHostAddresses = { readonly addresses: string[] } | { readonly error: string; readonly missing: boolean }

/**
 * The addresses of `host` in the order a sender tries them: the A records
 * first (mailauth connects to the first A record only), then the AAAA records.
 */
export async function resolvePolicyHost (ctx: Pick<ProbeContext, 'resolver' | 'timeoutMs'>, host: string): Promise<PolicyHostAddresses> {
  const [v4, v6] = await Promise.allSettled([
    withTimeout(ctx.resolver.resolve4(host), ctx.timeoutMs, `A ${host}`),
    withTimeout(ctx.resolver.resolve6(host), ctx.timeoutMs, `AAAA ${host}`),
  ])
  const addresses = [...(v4.status === 'fulfilled' ? v4.value : []), ...(v6.status === 'fulfilled' ? v6.value : [])]
  if (addresses.length > 0) return { addresses }
  const errors = [v4, v6].flatMap(r => r.status === 'rejected' ? [r.reason as unknown] : [])
  const hard = errors.find(e => !isNoRecords(e))
  return hard === undefined ? { error: 'no A/AAAA record', missing: true } : { error: dnsErrorCode(hard), missing: false }
}
