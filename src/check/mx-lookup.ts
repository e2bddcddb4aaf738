import { withTimeout } from './dns-resolver.js'
import { foldHostName } from '../domain/host-name.js'
import type { CheckContext, ProbeContext } from './types.js'

/** An MX record as the resolver returns it. */
export interface MxRecord {
  readonly exchange: string
  readonly priority: number
}

/** The MX records of a domain, or why they could not be looked up. */
export type MxLookup =
  | {
    readonly ok: true
    /** The records as the resolver returned them. */
    readonly records: readonly MxRecord[]
    /** Every exchange by preference, normalised (lower case, no trailing dot; a null MX is `''`), duplicates kept. */
    readonly names: readonly string[]
    /** The distinct MX hosts by preference, without the null MX: what mail is delivered to. */
    readonly hosts: readonly string[]
    /** A null MX (`.`, RFC 7505) is published: the domain accepts no mail. */
    readonly nullMx: boolean
  }
  | { readonly ok: false; readonly error: NodeJS.ErrnoException }

/**
 * Look up the MX records of the tenant domain, bounded by the context's
 * timeout, sorted by preference (stable for equal priorities), with the null
 * MX told apart. Both MX checks (coverage and TLS) read the MX hosts this way.
 */
export async function lookupMx (ctx: CheckContext): Promise<MxLookup> {
  return lookupDomainMx(ctx, ctx.tenant.domain)
}

/** {@link lookupMx} for any domain (`domain` in A-labels), tenant or not. */
export async function lookupDomainMx (ctx: Pick<ProbeContext, 'resolver' | 'timeoutMs'>, domain: string): Promise<MxLookup> {
  let records: MxRecord[]
  try {
    records = await withTimeout(ctx.resolver.resolveMx(domain), ctx.timeoutMs, `MX ${domain}`)
  } catch (err) {
    return { ok: false, error: err as NodeJS.ErrnoException }
  }
  const names = [...records].sort((a, b) => a.priority - b.priority).map(r => foldHostName(r.exchange))
  return { ok: true, records, names, hosts: [...new Set(names)].filter(h => h !== ''), nullMx: names.includes('') }
}
