import pLimit from 'p-limit'
import type { Check, CheckContext, CheckResult, CheckStatus, DomainReport } from './types.js'

const RANK: Readonly<Record<CheckStatus, number>> = { pass: 0, warn: 1, fail: 2 }

/** The worse of two statuses. */
export function worst (a: CheckStatus, b: CheckStatus): CheckStatus {
  return RANK[b] > RANK[a] ? b : a
}

/**
 * Whether a result of `check` decides that enforce is not safe: it is at
 * least as bad as the check's `gatesEnforce` (every failure; warnings only of
 * checks gating on them, the MX TLS check). The MX coverage check's only
 * warning, a pattern matching no MX host, is harmless under enforce: senders
 * only refuse MX hosts that no pattern covers.
 */
function blocksEnforce (check: Check, result: CheckResult): boolean {
  return RANK[result.status] >= RANK[check.gatesEnforce]
}

/**
 * Run `checks` for one domain in parallel and give the verdict. A check that
 * throws becomes a `fail` result naming the error, so one broken check never
 * hides the others.
 */
export async function checkDomain (ctx: CheckContext, checks: readonly Check[]): Promise<DomainReport> {
  const started = Date.now()
  const checkedAt = ctx.now().toISOString()
  const groups = await Promise.all(checks.map(async check => {
    try {
      return { check, results: await check.run(ctx) }
    } catch (err) {
      const { id } = check
      return { check, results: [{ id, name: id, status: 'fail' as const, reason: `the check itself failed: ${(err as Error).message}`, hint: 'report this as a bug' }] }
    }
  }))
  const results = groups.flatMap(g => g.results)
  const status = results.reduce<CheckStatus>((acc, r) => worst(acc, r.status), 'pass')
  const reasons = groups.flatMap(g => g.results.filter(r => blocksEnforce(g.check, r))).map(r => `${r.name}: ${r.reason}`)
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
  return pLimit(Math.max(1, concurrency)).map(items, item => run(item))
}
