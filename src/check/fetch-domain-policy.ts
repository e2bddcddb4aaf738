import { fetchPolicy } from './policy-check.js'
import { parsePolicy, type ParsedPolicy } from './policy-parse.js'
import { policyResponseProblem } from './policy-response-problem.js'
import { resolvePolicyHost } from './resolve-policy-host.js'
import type { ProbeContext } from './types.js'

/**
 * The policy a domain serves today, wherever it is hosted, as a sender sees it:
 * - `served`: a valid policy;
 * - `absent`: `mta-sts.<domain>` does not resolve (NXDOMAIN or no A/AAAA): no policy is hosted;
 * - `dns-error`: the lookup of `mta-sts.<domain>` failed (timeout, SERVFAIL...): nobody can tell;
 * - `refused`: the host answers, but senders get no valid policy from it (connection, TLS,
 *   status, media type, size or grammar): `reason` says which.
 */
export type DomainPolicy =
  | { readonly kind: 'served'; readonly url: string; readonly address: string; readonly policy: ParsedPolicy; readonly notes: readonly string[]; readonly tlsVersion: string; readonly certExpires: string }
  | { readonly kind: 'absent' | 'dns-error' | 'refused'; readonly url: string; readonly reason: string; readonly error?: string; readonly address?: string }

const PATH = '/.well-known/mta-sts.txt'

/**
 * Fetch `https://mta-sts.<domain>/.well-known/mta-sts.txt` exactly as a sender
 * does, with the policy check's own code ({@link fetchPolicy}: SNI, the chain
 * and name verified, no redirects, 64 KiB, timeout; the same response rules;
 * the strict RFC 8461 grammar of {@link parsePolicy}), without comparing it
 * to anything this service serves. `domain` is in A-labels.
 */
export async function fetchDomainPolicy (ctx: ProbeContext, domain: string): Promise<DomainPolicy> {
  const host = `mta-sts.${domain}`
  const url = `https://${host}${PATH}`
  const resolved = await resolvePolicyHost(ctx, host)
  if ('error' in resolved) {
    return resolved.missing
      ? { kind: 'absent', url, reason: `${host} does not resolve (no A/AAAA record): no policy is hosted`, error: resolved.error }
      : { kind: 'dns-error', url, reason: `DNS lookup of ${host} failed (${resolved.error})`, error: resolved.error }
  }
  const address = resolved.addresses[0] as string
  const at = `${address}:${ctx.httpsPort}`
  const fetched = await fetchPolicy({ address, port: ctx.httpsPort, host, timeoutMs: ctx.timeoutMs, ...(ctx.ca === undefined ? {} : { ca: ctx.ca }) })
  const refused = (reason: string, error?: string): DomainPolicy => ({ kind: 'refused', url, address, reason, ...(error === undefined ? {} : { error }) })
  if (!fetched.ok) {
    switch (fetched.kind) {
      case 'timeout': return refused(`${at} gave no complete answer within ${ctx.timeoutMs} ms`, fetched.code)
      case 'too-large': return refused('the policy body is larger than 64 KiB: senders stop reading', fetched.code)
      case 'tls': return refused(`the certificate of ${host} is not valid for senders (${fetched.code})`, fetched.code)
      default: return refused(`cannot fetch the policy from ${at} (${fetched.code})`, fetched.code)
    }
  }
  const problem = policyResponseProblem(fetched, url)
  if (problem) return refused(problem.reason)
  const parsed = parsePolicy(fetched.body.toString('utf8'))
  if (!parsed.ok) {
    const more = parsed.errors.length > 1 ? ` (and ${parsed.errors.length - 1} more)` : ''
    return refused(`the policy is invalid: it ${parsed.errors[0]}${more}`)
  }
  return { kind: 'served', url, address, policy: parsed.policy, notes: parsed.notes, tlsVersion: fetched.tlsVersion, certExpires: fetched.certExpires.toISOString() }
}
