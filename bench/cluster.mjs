#!/usr/bin/env node
// Replica part of the mta-sts-host benchmark (also run by `npm run bench`, see bench/README.md):
// 3 replicas against 1 on one PostgreSQL behind haproxy: policy fetch throughput, database
// transactions per fetch, and the time to obtain 100 certificates from Pebble.
//
// Results: a table on stdout and bench/results/cluster.json. Exit status 1 when any check or
// measurement failed.
import { parseArgs } from 'node:util'
import { ensurePebble } from './lib/acme.mjs'
import { clusterPhase } from './lib/cluster.mjs'
import { formatCluster } from './lib/report.mjs'
import { finishPart, positiveInt } from './lib/part-run.mjs'
import { have, installCleanup, makeTempDir, run, runLog, runMeta } from './lib/proc.mjs'

const USAGE = `usage: node bench/cluster.mjs [options]   (run npm run build first)
  --tenants N          certificates to obtain in the issuance part (default 100)
  --duration S         seconds per measured wrk run (default 5)
  --rounds N           wrk runs per replica count and mode, alternating (default 3)
  --connections N      wrk connections (default 8)
  --threads N          wrk threads (default 1)
  --skip-throughput    skip the throughput part
  --skip-issuance      skip the issuance part
  --max-wait S         limit for start-up and for one issuance run (default 300)`

const { values: opts } = parseArgs({
  options: {
    tenants: { type: 'string', default: '100' },
    duration: { type: 'string', default: '5' },
    rounds: { type: 'string', default: '3' },
    connections: { type: 'string', default: '8' },
    threads: { type: 'string', default: '1' },
    'skip-throughput': { type: 'boolean', default: false },
    'skip-issuance': { type: 'boolean', default: false },
    'max-wait': { type: 'string', default: '300' },
    help: { type: 'boolean', short: 'h', default: false },
  },
})
if (opts.help) { console.log(USAGE); process.exit(0) }
const posInt = positiveInt(USAGE)
const WRK = { threads: posInt('threads', opts.threads), connections: posInt('connections', opts.connections), duration_s: posInt('duration', opts.duration) }
const { failures, fail, log } = runLog()

installCleanup()
const results = { meta: runMeta(), cluster: null, failures }
const root = makeTempDir()
let exitCode = 0
try {
  if (process.getuid?.() !== 0) throw new Error('run as root (apt-get, runuser, unshare -m and mount --bind need it)')
  for (const cmd of ['wrk', 'unshare', 'mount', 'runuser']) if (!have(cmd)) throw new Error(`${cmd} not found on PATH (npm run bench installs wrk)`)
  results.meta.wrk_version = (await run('wrk', ['-v'], { timeoutMs: 5000 })).stdout.split('\n')[0].trim()
  await ensurePebble(log)
  const skip = new Set([...(opts['skip-throughput'] ? ['throughput'] : []), ...(opts['skip-issuance'] ? ['issuance'] : [])])
  results.cluster = await clusterPhase({
    root, wrk: WRK, rounds: posInt('rounds', opts.rounds), tenants: posInt('tenants', opts.tenants), maxWaitMs: posInt('max-wait', opts['max-wait']) * 1000, log, fail, skip,
  })
} catch (err) {
  fail('cluster', err)
} finally {
  exitCode = finishPart({ title: 'replica benchmark', results, table: () => results.cluster && formatCluster(results.cluster, WRK), file: 'cluster.json', failures, fail, log })
}
process.exit(exitCode)
