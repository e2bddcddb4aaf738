import { setFlagsFromString } from 'node:v8'

/**
 * How far a serving process's JavaScript heap may grow past what survived
 * its last full garbage collection before the next one, in percent (V8's
 * `--heap-growing-percent`). V8's own factor, picked from its collection speed,
 * let a sweep of 100,000 tenants grow the heap to about twice the live
 * objects: every cold handshake leaves a parsed certificate and a context
 * entry behind, promoted to the old generation and dropped by the context
 * cache soon after. With 30%, full collections come sooner. The sweep's RSS
 * peak (`bench/sweep.mjs`): 345 → 317 MB at 20,000 tenants, 691 → 478-505 MB
 * at 100,000 (606 MB with 100%). The price is paid in reloads of that size:
 * building the second snapshot under the limit, V8 finishes marking in the
 * pause, and the longest event-loop delay rose from 25-37 to 122-149 ms
 * (README, Performance).
 */
export const HEAP_GROWING_PERCENT = 30

/**
 * Apply {@link HEAP_GROWING_PERCENT} to this process's V8 heap (read at each
 * full collection, so setting it after start works), unless the process was
 * started with its own `--heap-growing-percent` in `execArgv`: the operator's
 * choice wins. Returns the percent applied, or undefined when left alone.
 */
export function limitHeapGrowth (execArgv: readonly string[] = process.execArgv): number | undefined {
  if (setsFlag(execArgv, 'heap-growing-percent')) return undefined
  setFlagsFromString(`--heap-growing-percent=${HEAP_GROWING_PERCENT}`)
  return HEAP_GROWING_PERCENT
}

/**
 * The node flag every serving process is started with: a young generation
 * of 4 MiB semi-spaces instead of V8's 16. Each scavenge runs the native
 * destructors of the TLS connections that closed since the last one (Node
 * frees a connection's OpenSSL state only then: 12 of a 16 ms pause, from
 * `--trace-gc-nvp`), so a handshake that meets a scavenge waits for all of
 * them. Four times as many scavenges, each about a quarter as long: scavenge
 * pauses p50 6.4 → 3.7 ms, p90 18.7 → 6.7 ms over 6,000 new-connection
 * fetches, for the same total time. V8 fixes this size when the process
 * starts, so it is a flag: given to cluster workers by
 * {@link servingExecArgv}, and to the process itself by the Dockerfile's
 * ENTRYPOINT and `npm start` (a test keeps them the same).
 */
export const SERVING_NODE_FLAG = '--max-semi-space-size=4'

/**
 * `execArgv` with {@link SERVING_NODE_FLAG} added, unless it or `nodeOptions`
 * (NODE_OPTIONS) already sets the semi-space size: the operator's choice wins.
 */
export function servingExecArgv (execArgv: readonly string[], nodeOptions = process.env.NODE_OPTIONS ?? ''): string[] {
  if (setsFlag([...execArgv, ...nodeOptions.split(/\s+/)], 'max-semi-space-size')) return [...execArgv]
  return [...execArgv, SERVING_NODE_FLAG]
}

/** Whether `args` set V8's flag `name` (`a-b-c`; V8 takes `--a_b_c` the same), alone or with `=value`. */
function setsFlag (args: readonly string[], name: string): boolean {
  const flag = new RegExp(`^--${name.replaceAll('-', '[-_]')}(=|$)`)
  return args.some(arg => flag.test(arg))
}
