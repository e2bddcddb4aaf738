import { dnsErrorCode, isNoRecords, withTimeout } from './dns-resolver.js'
import type { ProbeContext } from './types.js'

/**
 * The TXT records at a name that start with a version tag (`v=STSv1`, `v=TLSRPTv1`):
 * - `one`: exactly one such record (`record`), still to be parsed;
 * - `none`: the name has no such record (NXDOMAIN, NODATA, or only other TXT records);
 * - `several`: more than one, which senders treat as none;
 * - `dns-error`: the lookup failed (timeout, SERVFAIL...).
 * `reason` says it in one line.
 */
export type VersionedTxt =
  | { readonly kind: 'one'; readonly name: string; readonly record: string; readonly records: readonly string[] }
  | { readonly kind: 'none' | 'several' | 'dns-error'; readonly name: string; readonly reason: string; readonly records: readonly string[]; readonly error?: string }

/** Look up the TXT records at `name` (bounded by the context's timeout) and pick those starting with `version`. */
export async function lookupVersionedTxt (ctx: Pick<ProbeContext, 'resolver' | 'timeoutMs'>, name: string, version: string): Promise<VersionedTxt> {
  let txt: string[][]
  try {
    txt = await withTimeout(ctx.resolver.resolveTxt(name), ctx.timeoutMs, `TXT ${name}`)
  } catch (err) {
    const error = dnsErrorCode(err)
    return isNoRecords(err)
      ? { kind: 'none', name, reason: `no TXT record at ${name} (${error})`, records: [], error }
      : { kind: 'dns-error', name, reason: `DNS lookup of ${name} failed (${error})`, records: [], error }
  }
  const records = txt.map(parts => parts.join(''))
  const matching = records.filter(r => r.startsWith(version))
  if (matching.length === 1) return { kind: 'one', name, record: matching[0] as string, records }
  if (matching.length === 0) return { kind: 'none', name, reason: `no ${version} record among the ${records.length} TXT record(s) at ${name}`, records }
  return { kind: 'several', name, reason: `${matching.length} ${version} records at ${name}: senders ignore them all`, records }
}
