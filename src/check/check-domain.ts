import type { Check, CheckContext, CheckResult, CheckStatus, DomainReport } from './types.js'

const RANK: Readonly<Record<CheckStatus, number>> = { pass: 0, warn: 1, fail: 2 }

/** The worse of two statuses. */
export function worst (a: CheckStatus, b: CheckStatus): CheckStatus {
  return RANK[b] > RANK[a] ? b : a
}

/**
 * Results that decide whether enforce is safe: any failure (an MX not covered
 * by the policy is one) and any MX TLS warning. The MX coverage check's only
 * warning, a pattern matching no MX host, is harmless under enforce: senders
 * only refuse MX hosts that no pattern covers.
 */
function blocksEnforce (result: CheckResult): boolean {
  if (result.status === 'fail') return true
  return result.status === 'warn' && result.id.startsWith('mx-tls')
}

/**
 * Run `checks` for one domain in parallel and give the verdict. A check that
 * throws becomes a `fail` result naming the error, so one broken check never
 * hides the others.
 */
export async function checkDomain (ctx: CheckContext, checks: readonly (readonly [string, Check])[]): Promise<DomainReport> {
  const started = Date.now()
  const checkedAt = ctx.now().toISOString()
  const groups = await Promise.all(checks.map(async ([id, check]) => {
    try {
      return await check(ctx)
    } catch (err) {
      return [{ id, name: id, status: 'fail' as const, reason: `the check itself failed: ${(err as Error).message}`, hint: 'report this as a bug' }]
    }
  }))
  const results = groups.flat()
  const status = results.reduce<CheckStatus>((acc, r) => worst(acc, r.status), 'pass')
  const reasons = results.filter(blocksEnforce).map(r => `${r.name}: ${r.reason}`)
  return Object.freeze({
    domain: ctx.tenant.domain,
    checkedAt,
    durationMs: Date.now() - started,
    results: Object.freeze(results),
    status,
    readyForEnforce: reasons.length === 0,
    reasons: Object.freeze(reasons),
  })
}

/**
 * Check many domains, at most `concurrency` at once (each domain's checks
 * run in parallel), returning reports in the order of `items`.
 */
export async function checkDomains<T> (items: readonly T[], run: (item: T) => Promise<DomainReport>, concurrency: number): Promise<DomainReport[]> {
  const out: DomainReport[] = new Array<DomainReport>(items.length)
  let next = 0
  const worker = async (): Promise<void> => {
    for (let i = next++; i < items.length; i = next++) out[i] = await run(items[i] as T)
  }
  await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, items.length)) }, worker))
  return out
}
