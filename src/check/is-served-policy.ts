import type { AppliedPolicySummary } from '../db/report-store.js'

/** The policy a domain serves now: its mode and mx patterns. */
export interface ServedPolicy {
  readonly mode: string
  readonly mx: readonly string[]
}

/** The distinct values of `list`, lower case, trimmed, without a trailing dot, sorted. */
function normalized (list: readonly string[]): string[] {
  return [...new Set(list.map(v => v.trim().toLowerCase().replace(/\.$/, '')))].sort()
}

/**
 * Whether senders reported applying `served`: an `sts` policy with the same
 * mode and the same set of mx patterns (order, case and repeats ignored).
 * A policy they could not fetch (no mode) is never the served one.
 */
export function isServedPolicy (applied: Pick<AppliedPolicySummary, 'type' | 'mode' | 'mx'>, served: ServedPolicy): boolean {
  if (applied.type.toLowerCase() !== 'sts' || applied.mode === null) return false
  if (applied.mode.trim().toLowerCase() !== served.mode.toLowerCase()) return false
  const a = normalized(applied.mx)
  const b = normalized(served.mx)
  return a.length === b.length && a.every((v, i) => v === b[i])
}
