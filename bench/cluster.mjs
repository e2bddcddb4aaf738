#!/usr/bin/env node
// Replica part of the mta-sts-host benchmark (also run by `npm run bench`, see bench/README.md):
// 3 replicas against 1 on one PostgreSQL behind haproxy: policy fetch throughput, database
// transactions per fetch, and the time to obtain 100 certificates from Pebble.
//
// Results: a table on stdout and bench/results/cluster.json. Exit status 1 when any check or
// measurement failed.
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { ensurePebble } from './lib/acme.mjs'
import { clusterPhase } from './lib/cluster.mjs'
import { formatCluster } from './lib/report.mjs'
import { cleanupSync, have, installCleanup, loadAverage, makeTempDir, run, runLog, runMeta } from './lib/proc.mjs'

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
const posInt = (name, v) => {
  const n = Number(v)
  if (!Number.isInteger(n) || n <= 0) { console.error(`bench: --${name} must be a positive integer\n${USAGE}`); process.exit(2) }
  return n
}
const WRK = { threads: posInt('threads', opts.threads), connections: posInt('connections', opts.connections), duration_s: posInt('duration', opts.duration) }
const RESULTS_DIR = fileURLToPath(new URL('./results/', import.meta.url))
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
  results.meta.finished_at = new Date().toISOString()
  results.meta.loadavg_end = loadAverage()
  const m = results.meta
  console.log(`\nmta-sts-host replica benchmark  (${m.started_at}; node ${m.node}; ${m.cpus} CPU(s) ${m.cpu_model ?? ''}; ${(m.wrk_version ?? 'wrk').replace(/ Copyright.*/, '')})`)
  console.log(`load average at start ${m.loadavg_start ?? '?'}, at end ${m.loadavg_end ?? '?'}${m.loadavg_start > m.cpus / 4 ? '  (WARNING: other load on the machine; numbers are noisy)' : ''}`)
  if (results.cluster) console.log(formatCluster(results.cluster, WRK))
  console.log(failures.length ? `\nFAILURES (${failures.length}):\n${failures.map(f => `  - ${f.split('\n')[0]}`).join('\n')}\n` : '\nall checks passed\n')
  try {
    mkdirSync(RESULTS_DIR, { recursive: true })
    writeFileSync(join(RESULTS_DIR, 'cluster.json'), JSON.stringify(results, null, 2) + '\n')
    log(`results written to ${join(RESULTS_DIR, 'cluster.json')}`)
  } catch (err) {
    fail('results', err)
  }
  exitCode = failures.length > 0 ? 1 : 0
  cleanupSync()
}
process.exit(exitCode)
