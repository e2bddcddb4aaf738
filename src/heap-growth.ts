import { setFlagsFromString } from 'node:v8'

/**
 * How far a serving process's JavaScript heap may grow past what survived
 * its last full garbage collection before the next one, in percent (V8's
 * `--heap-growing-percent`). V8's own factor, picked from its collection speed,
 * let a sweep of 100,000 tenants grow the heap to about twice the live
 * objects: every cold handshake leaves a parsed certificate and a context
 * entry behind, promoted to the old generation and dropped by the context
 * cache soon after. 30% more frequent full collections cost little here
 * (their marking runs concurrently), and kept that peak 40-60 MB lower at
 * 20,000 tenants.
 */
export const HEAP_GROWING_PERCENT = 30

/**
 * Apply {@link HEAP_GROWING_PERCENT} to this process's V8 heap (read at each
 * full collection, so setting it after start works), unless the process was
 * started with its own `--heap-growing-percent` in `execArgv`: the operator's
 * choice wins. Returns the percent applied, or undefined when left alone.
 */
export function limitHeapGrowth (execArgv: readonly string[] = process.execArgv): number | undefined {
  if (execArgv.some(arg => /^--heap[-_]growing[-_]percent(=|$)/.test(arg))) return undefined
  setFlagsFromString(`--heap-growing-percent=${HEAP_GROWING_PERCENT}`)
  return HEAP_GROWING_PERCENT
}
