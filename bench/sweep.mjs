#!/usr/bin/env node
// Sweep part of the mta-sts-host benchmark (also run by `npm run bench`, see
// bench/README.md): N tenants (default 100,000) each with its own certificate in
// the store: time until ready, RSS through a sweep that fetches every tenant once
// over a new TLS connection, and the time of those (cold) handshakes.
//
// Results: a table on stdout and bench/results/sweep.json. Exit status 1 when
// any check failed (a goal missed is reported, not a failure).
import { parseArgs } from 'node:util'
import { finishPart, positiveInt } from './lib/part-run.mjs'
import { installCleanup, makeTempDir, runLog, runMeta } from './lib/proc.mjs'
import { formatSweep } from './lib/report.mjs'
import { sweepPhase } from './lib/sweep.mjs'

const USAGE = `usage: node bench/sweep.mjs [options]   (run npm run build first)
  --tenants N       tenants, each with its own certificate (default 100000); the store is
                    generated once and kept in $TMPDIR/mta-sts-bench-sweep/N for 3 days
  --concurrency N   fetches at a time (default 16)
  --max-wait S      limit for start-up, and for the sweep (default 600)`

const { values: opts } = parseArgs({
  options: {
    tenants: { type: 'string', default: '100000' },
    concurrency: { type: 'string', default: '16' },
    'max-wait': { type: 'string', default: '600' },
    help: { type: 'boolean', short: 'h', default: false },
  },
})
if (opts.help) { console.log(USAGE); process.exit(0) }
const posInt = positiveInt(USAGE)
const TENANTS = posInt('tenants', opts.tenants)
const CONCURRENCY = posInt('concurrency', opts.concurrency)
const MAX_WAIT_MS = posInt('max-wait', opts['max-wait']) * 1000

const { failures, fail, log } = runLog()
installCleanup()
const results = { meta: runMeta(), sweep: null, failures }
const root = makeTempDir()
let exitCode = 0
try {
  results.sweep = await sweepPhase({ root, tenants: TENANTS, concurrency: CONCURRENCY, maxWaitMs: MAX_WAIT_MS, log, fail })
} catch (err) {
  results.sweep = err.partial ?? null
  fail('sweep', err)
} finally {
  exitCode = finishPart({ title: 'sweep benchmark', results, table: () => results.sweep?.goals && formatSweep(results.sweep), file: 'sweep.json', failures, fail, log })
}
process.exit(exitCode)
