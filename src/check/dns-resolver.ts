import { Resolver } from 'node:dns/promises'
import type { DnsResolver } from './types.js'

/** Options of {@link createResolver}. */
export interface ResolverOptions {
  /** Servers as `ip`, `ip:port`, `[ipv6]:port`; absent or empty: the system's servers. */
  readonly servers?: readonly string[]
  /** Limit for one lookup, all tries together, in milliseconds. */
  readonly timeoutMs: number
  /** Attempts per server within that limit (default 2). */
  readonly tries?: number
}

/**
 * Bound `promise` by `ms`: past it, reject with an error carrying node's DNS
 * code `ETIMEOUT` (the underlying work is left to finish on its own).
 * Deliberately not an `MTA_STS_*` code from `errors.ts`: callers and check
 * reasons treat it exactly like c-ares's own timeout, among node's other DNS
 * codes (`ENOTFOUND`, `ENODATA`...), which are stable already.
 */
export function withTimeout<T> (promise: Promise<T>, ms: number, what: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => {
      reject(Object.assign(new Error(`${what}: no answer within ${ms} ms`), { code: 'ETIMEOUT' }))
    }, ms)
    promise.then(
      value => { clearTimeout(timer); resolve(value) },
      (err: unknown) => { clearTimeout(timer); reject(err) },
    )
  })
}

/**
 * A {@link DnsResolver} on node's c-ares `Resolver` with its own server list.
 * CNAMEs are followed by the server/c-ares; errors keep node's codes
 * (`ENOTFOUND` for NXDOMAIN, `ENODATA` for no records of the type, `ETIMEOUT`...).
 */
export function createResolver (opts: ResolverOptions): DnsResolver {
  const tries = Math.max(1, opts.tries ?? 2)
  const resolver = new Resolver({ timeout: Math.max(1, Math.ceil(opts.timeoutMs / tries)), tries })
  if (opts.servers && opts.servers.length > 0) resolver.setServers([...opts.servers])
  const bound = <T>(what: string, p: Promise<T>): Promise<T> => withTimeout(p, opts.timeoutMs, what)
  return {
    resolveTxt: name => bound(`TXT ${name}`, resolver.resolveTxt(name)),
    resolveMx: name => bound(`MX ${name}`, resolver.resolveMx(name)),
    resolve4: name => bound(`A ${name}`, resolver.resolve4(name)),
    resolve6: name => bound(`AAAA ${name}`, resolver.resolve6(name)),
    resolveCname: name => bound(`CNAME ${name}`, resolver.resolveCname(name)),
  }
}

/** node's error code of a failed lookup (`ENOTFOUND`, `ETIMEOUT`...), or the message when there is none. */
export function dnsErrorCode (err: unknown): string {
  const code = (err as { code?: unknown } | null)?.code
  return typeof code === 'string' ? code : String((err as Error)?.message ?? err)
}

/** Did a lookup fail because the name or the record type does not exist (NXDOMAIN, NODATA)? */
export function isNoRecords (err: unknown): boolean {
  const code = dnsErrorCode(err)
  return code === 'ENOTFOUND' || code === 'ENODATA'
}
