// Latency at a fixed request rate below the peak (issue 13, point 2: p99 at half the peak rate).
// Debian has no wrk2, so the rate comes from wrk itself: a Lua `delay()` makes each connection
// wait a random 0..2D ms (mean D) after every answer, and the number of connections is chosen so
// that connections x 1000 / D is the wanted rate. The random wait keeps the connections from
// sending in lock-step bursts. This is still a closed loop per connection: a server that stalls
// delays the requests behind the stall instead of meeting them queued (coordinated omission), so
// the p99 is a lower bound when the server falls behind; the achieved rate is reported beside the
// target to show whether it kept up.
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { runWrk } from './wrk.mjs'

/** Mean wait between an answer and the next request on one connection, ms (wrk's delay() has whole ms). */
export const MEAN_DELAY_MS = 10

/** The wrk Lua script of a connection's random wait, written to `workDir`. */
export function writeDelayScript (workDir, meanDelayMs = MEAN_DELAY_MS) {
  const file = join(workDir, `delay-${meanDelayMs}.lua`)
  writeFileSync(file, `-- wait a random 0..${2 * meanDelayMs} ms (mean ${meanDelayMs}) before each request\nfunction delay()\n  return math.random(0, ${2 * meanDelayMs})\nend\n`)
  return file
}

/** Connections that send `rate` requests per second together, each waiting `meanDelayMs` on average. */
export function connectionsFor (rate, meanDelayMs = MEAN_DELAY_MS) {
  return Math.max(1, Math.round(rate * meanDelayMs / 1000))
}

/**
 * One wrk run at about `rate` requests per second (keep-alive) on `url`; returns the wrk result
 * with `target_rps` and `connections`.
 */
export async function runWrkAtRate ({ hostsFile, url, rate, durationS, threads, workDir, meanDelayMs = MEAN_DELAY_MS }) {
  const connections = connectionsFor(rate, meanDelayMs)
  const script = writeDelayScript(workDir, meanDelayMs)
  const r = await runWrk({ hostsFile, url, durationS, connections, threads, script, timeoutS: 5 })
  return { ...r, target_rps: rate, connections }
}
