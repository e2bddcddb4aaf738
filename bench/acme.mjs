#!/usr/bin/env node
// ACME part of the mta-sts-host benchmark (also run by `npm run bench`,
// see bench/README.md): time to obtain certificates for 100 tenants from a
// local Pebble at ACME concurrency 2 (the default) and 8, and policy fetch
// throughput on another tenant while that issuance runs vs. once idle; the
// service runs as deployed (serve --workers auto) and, for comparison, as one process.
//
// Results: a table on stdout and bench/results/acme.json. Exit status 1 when
// any check or measurement failed.
import { parseArgs } from 'node:util'
import { acmePhase, acmeRuns, parseWorkersList } from './lib/acme.mjs'
import { formatAcme } from './lib/report.mjs'
import { finishPart, positiveInt } from './lib/part-run.mjs'
import { have, installCleanup, makeTempDir, run, runLog, runMeta } from './lib/proc.mjs'

const USAGE = `usage: node bench/acme.mjs [options]   (run npm run build first)
  --tenants N          tenants to order certificates for (default 100; plus 1 load target)
  --concurrency LIST   values of certificates.acme.concurrency, comma-separated (default 2,8)
  --challenges LIST    certificates.acme.challenges, e.g. http-01 (default: the service's default)
  --workers LIST       serve --workers values of the measured service, comma-separated; none = one
                       process (default auto,none: as deployed, for the goal, then one process)
  --no-quiet           skip the runs without load (issuance time is then measured under wrk load only)
  --duration S         seconds per wrk run (default 5)
  --connections N      wrk connections (default 8)
  --threads N          wrk threads (default 1)
  --max-wait S         limit for the issuance of one run (default 300)`

const { values: opts } = parseArgs({
  options: {
    tenants: { type: 'string', default: '100' },
    concurrency: { type: 'string', default: '2,8' },
    challenges: { type: 'string' },
    workers: { type: 'string', default: 'auto,none' },
    'no-quiet': { type: 'boolean', default: false },
    duration: { type: 'string', default: '5' },
    connections: { type: 'string', default: '8' },
    threads: { type: 'string', default: '1' },
    'max-wait': { type: 'string', default: '300' },
    help: { type: 'boolean', short: 'h', default: false },
  },
})
if (opts.help) { console.log(USAGE); process.exit(0) }
const posInt = positiveInt(USAGE)
const CONCURRENCY = opts.concurrency.split(',').map(s => posInt('concurrency', s.trim()))
const CHALLENGES = opts.challenges?.split(',').map(s => s.trim())
const WRK = { threads: posInt('threads', opts.threads), connections: posInt('connections', opts.connections), duration_s: posInt('duration', opts.duration) }
const TENANTS = posInt('tenants', opts.tenants)
const MAX_WAIT_MS = posInt('max-wait', opts['max-wait']) * 1000

const { failures, fail, log } = runLog()

installCleanup()
const results = {
  meta: {
    ...runMeta(),
  },
  acme: null,
  failures,
}
const root = makeTempDir()
let exitCode = 0
try {
  if (process.getuid?.() !== 0) throw new Error('run as root (apt-get, unshare -m and mount --bind need it)')
  for (const cmd of ['wrk', 'curl', 'unshare', 'mount']) if (!have(cmd)) throw new Error(`${cmd} not found on PATH (npm run bench installs wrk)`)
  results.meta.wrk_version = (await run('wrk', ['-v'], { timeoutMs: 5000 })).stdout.split('\n')[0].trim()
  results.acme = await acmePhase({
    root, tenants: TENANTS, runs: acmeRuns(CONCURRENCY, !opts['no-quiet'], parseWorkersList(opts.workers)), challenges: CHALLENGES, wrk: WRK, maxWaitMs: MAX_WAIT_MS, log, fail,
  })
} catch (err) {
  fail('acme', err)
} finally {
  exitCode = finishPart({ title: 'ACME benchmark', results, table: () => results.acme && formatAcme(results.acme), file: 'acme.json', failures, fail, log })
}
process.exit(exitCode)
