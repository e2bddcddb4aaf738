#!/usr/bin/env node
// Benchmark of mta-sts-host (npm run bench). See bench/README.md.
//
//  1. Policy fetch throughput/latency over HTTPS with keep-alive and with a new
//     TLS connection per request, for the service and for nginx serving the
//     same bodies with the same certificates, both loaded by wrk.
//  2. Scale: start-up time, RSS and reload time with 10 / 10k / 100k tenants.
//  3. ACME (bench/lib/acme.mjs, also alone as bench/acme.mjs): time to obtain
//     certificates for 100 tenants from a local Pebble at concurrency 2 and 8,
//     and keep-alive throughput on another tenant during issuance vs. idle.
//  4. TLS reports (bench/lib/reports.mjs, also alone as bench/reports.mjs):
//     HTTPS ingest, `reports import`, gzip bombs, policy throughput during a
//     burst of uploads vs. idle, and the summary query over a year of reports.
//  5. Replicas (bench/lib/cluster.mjs, also alone as bench/cluster.mjs): 3 against 1
//     on one PostgreSQL behind haproxy: throughput, database transactions per
//     policy fetch, and the time to obtain 100 certificates from Pebble.
//  6. Sweep (bench/lib/sweep.mjs, also alone as bench/sweep.mjs): 100,000 tenants
//     each with its own certificate in the store: ready time, RSS through a sweep
//     touching every tenant once, cold handshake time.
//
// Results: a table on stdout and bench/results/latest.json. Exit status 1 when
// any check or measurement failed.
import { availableParallelism } from 'node:os'
import { createPrivateKey, X509Certificate } from 'node:crypto'
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import http from 'node:http'
import { setTimeout as sleep } from 'node:timers/promises'
import { dirname, join } from 'node:path'
import { spawnSync } from 'node:child_process'
import { parseArgs } from 'node:util'
import { fileURLToPath } from 'node:url'
import { acmePhase, acmeRuns, parseWorkersList } from './lib/acme.mjs'
import { clusterPhase } from './lib/cluster.mjs'
import { reportsPhase } from './lib/reports.mjs'
import { sweepPhase } from './lib/sweep.mjs'
import { formatReport } from './lib/report.mjs'
import { nginxVersion, startNginx, writeNginxPrefix } from './lib/nginx.mjs'
import { startNodeMinimal } from './lib/node-minimal.mjs'
import { cleanupSync, cpuSeconds, freePort, loadAverage, have, installCleanup, makeTempDir, run, runLog, runMeta, stopChild } from './lib/proc.mjs'
import {
  configYaml, expectedPolicy, fetchPolicy, POLICY_PATH, splitBundle, startService, tenantDomain, tenantHost, tlsParameters, waitReady,
} from './lib/service.mjs'
import { curlFetch, runWrk, wrkProblems } from './lib/wrk.mjs'
import { runWrkAtRate } from './lib/rate.mjs'

const USAGE = `usage: node bench/run.mjs [options]
  --quick              skip the 100,000-tenant size (fast iteration)
  --sizes LIST         tenant counts for the scale part, comma-separated (default 10,10000,100000;
                       the first one is the reference for ratios)
  --duration S         seconds per measured wrk run (default 5)
  --rounds N           measured wrk runs per server and mode, alternating order; medians reported (default 3)
  --warmup S           seconds of wrk warm-up before each measured run (default 1)
  --connections N      wrk connections (default 8)
  --threads N          wrk threads (default 1)
  --max-wait S         limit for start-up and for reload of one instance (default 180)
  --skip-throughput    skip the throughput part
  --skip-scale         skip the scale part
  --skip-acme          skip the ACME part (Pebble)
  --acme-tenants N     tenants ordered in the ACME part (default 100)
  --acme-concurrency LIST  certificates.acme.concurrency values (default 2,8)
  --acme-max-wait S    limit for one ACME issuance run (default 300)
  --acme-workers LIST  serve --workers values in the ACME part, none = one process (default auto,none)
  --skip-reports       skip the TLS report part (node bench/reports.mjs --help lists its own options)
  --reports N          reports uploaded over HTTPS and imported in the report part (default 10000)
  --skip-cluster       skip the replica part (PostgreSQL, haproxy; node bench/cluster.mjs --help lists its own options)
  --skip-sweep         skip the sweep part (node bench/sweep.mjs --help lists its own options)
  --sweep-tenants N    tenants, each with its own certificate, in the sweep part (default 100000)`

const { values: opts } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    sizes: { type: 'string' },
    duration: { type: 'string', default: '5' },
    warmup: { type: 'string', default: '1' },
    rounds: { type: 'string', default: '3' },
    connections: { type: 'string', default: '8' },
    threads: { type: 'string', default: '1' },
    'max-wait': { type: 'string', default: '180' },
    'skip-throughput': { type: 'boolean', default: false },
    'skip-scale': { type: 'boolean', default: false },
    'skip-acme': { type: 'boolean', default: false },
    'acme-tenants': { type: 'string', default: '100' },
    'acme-concurrency': { type: 'string', default: '2,8' },
    'acme-max-wait': { type: 'string', default: '300' },
    'acme-workers': { type: 'string', default: 'auto,none' },
    'skip-reports': { type: 'boolean', default: false },
    reports: { type: 'string', default: '10000' },
    'skip-cluster': { type: 'boolean', default: false },
    'skip-sweep': { type: 'boolean', default: false },
    'sweep-tenants': { type: 'string', default: '100000' },
    help: { type: 'boolean', short: 'h', default: false },
  },
})
if (opts.help) { console.log(USAGE); process.exit(0) }

const posInt = (name, v) => {
  const n = Number(v)
  if (!Number.isInteger(n) || n <= 0) { console.error(`bench: --${name} must be a positive integer\n${USAGE}`); process.exit(2) }
  return n
}
const DURATION = posInt('duration', opts.duration)
const WARMUP = posInt('warmup', opts.warmup)
const ROUNDS = posInt('rounds', opts.rounds)
/** Issue 13, point 2: p99 latency at half the peak rate. */
const HALF_PEAK_P99_GOAL_MS = 5
const CONNECTIONS = posInt('connections', opts.connections)
const THREADS = posInt('threads', opts.threads)
const MAX_WAIT_MS = posInt('max-wait', opts['max-wait']) * 1000
const SIZES = (opts.sizes ?? '10,10000,100000').split(',').map(s => posInt('sizes', s.trim()))
  .filter(n => !(opts.quick && n >= 100000))
const THROUGHPUT_TENANTS = 10
const ACME_TENANTS = posInt('acme-tenants', opts['acme-tenants'])
const ACME_CONCURRENCY = opts['acme-concurrency'].split(',').map(s => posInt('acme-concurrency', s.trim()))
const ACME_MAX_WAIT_MS = posInt('acme-max-wait', opts['acme-max-wait']) * 1000
const REPORTS = posInt('reports', opts.reports)
const SWEEP_TENANTS = posInt('sweep-tenants', opts['sweep-tenants'])

const RESULTS_DIR = fileURLToPath(new URL('./results/', import.meta.url))
const { failures, fail, log } = runLog()

installCleanup()

const results = {
  meta: {
    ...runMeta(),
    wrk: { threads: THREADS, connections: CONNECTIONS, duration_s: DURATION, warmup_s: WARMUP, rounds: ROUNDS },
    sizes: SIZES,
    max_wait_s: MAX_WAIT_MS / 1000,
  },
  throughput: null,
  scale: null,
  acme: null,
  reports: null,
  cluster: null,
  sweep: null,
  failures,
}

const root = makeTempDir()
let exitCode = 0
try {
  await ensureTools()
  results.meta.nginx = await nginxVersion()
  results.meta.wrk_version = (await run('wrk', ['-v'], { timeoutMs: 5000 })).stdout.split('\n')[0].trim()
  if (!opts['skip-throughput']) {
    try { results.throughput = await throughputPhase() } catch (err) { fail('throughput', err) }
  }
  if (!opts['skip-scale']) {
    try { results.scale = await scalePhase() } catch (err) { fail('scale', err) }
  }
  if (!opts['skip-acme']) {
    try {
      results.acme = await acmePhase({
        root,
        tenants: ACME_TENANTS,
        runs: acmeRuns(ACME_CONCURRENCY, true, parseWorkersList(opts['acme-workers'])),
        wrk: { threads: THREADS, connections: CONNECTIONS, duration_s: DURATION },
        maxWaitMs: ACME_MAX_WAIT_MS,
        log,
        fail,
      })
    } catch (err) { fail('acme', err) }
  }
  if (!opts['skip-reports']) {
    try {
      results.reports = await reportsPhase({
        root,
        reports: REPORTS,
        wrk: { threads: THREADS, connections: CONNECTIONS, duration_s: DURATION, warmup_s: WARMUP, rounds: ROUNDS },
        maxWaitS: Math.max(300, MAX_WAIT_MS / 1000),
        log,
        fail,
      })
    } catch (err) { fail('reports', err) }
  }
  if (!opts['skip-cluster']) {
    try {
      results.cluster = await clusterPhase({
        root,
        wrk: { threads: THREADS, connections: CONNECTIONS, duration_s: DURATION },
        rounds: ROUNDS,
        tenants: ACME_TENANTS,
        maxWaitMs: ACME_MAX_WAIT_MS,
        log,
        fail,
      })
    } catch (err) { fail('cluster', err) }
  }
  if (!opts['skip-sweep']) {
    try {
      results.sweep = await sweepPhase({ root, tenants: SWEEP_TENANTS, maxWaitMs: Math.max(600_000, MAX_WAIT_MS), log, fail })
    } catch (err) { results.sweep = err.partial ?? null; fail('sweep', err) }
  }
} catch (err) {
  fail('setup', err)
} finally {
  results.meta.finished_at = new Date().toISOString()
  results.meta.loadavg_end = loadAverage()
  console.log(formatReport(results))
  try {
    mkdirSync(RESULTS_DIR, { recursive: true })
    writeFileSync(join(RESULTS_DIR, 'latest.json'), JSON.stringify(results, null, 2) + '\n')
    log(`results written to ${join(RESULTS_DIR, 'latest.json')}`)
  } catch (err) {
    fail('results', err)
  }
  exitCode = failures.length > 0 ? 1 : 0
  if (failures.length > 0) log(`${failures.length} failure(s):\n  - ${failures.join('\n  - ')}`)
  cleanupSync()
}
process.exit(exitCode)

// ---------------------------------------------------------------------------

async function ensureTools () {
  if (process.getuid?.() !== 0) throw new Error('run as root (unshare -m, mount --bind and nginx "user root" need it)')
  if (!have('wrk') || !have('nginx')) {
    log('installing nginx-light and wrk with apt-get')
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' }
    let r = await run('apt-get', ['install', '-y', 'nginx-light', 'wrk'], { env, timeoutMs: 600_000 })
    if (r.code !== 0) {
      log('apt-get install failed; running apt-get update and retrying')
      await run('apt-get', ['update'], { env, timeoutMs: 600_000 })
      r = await run('apt-get', ['install', '-y', 'nginx-light', 'wrk'], { env, timeoutMs: 600_000 })
      if (r.code !== 0) throw new Error(`apt-get install -y nginx-light wrk failed:\n${r.stderr}`)
    }
  }
  for (const cmd of ['wrk', 'nginx', 'curl', 'unshare', 'mount']) {
    if (!have(cmd)) throw new Error(`${cmd} not found on PATH`)
  }
  const probe = await run('unshare', ['-m', 'true'], { timeoutMs: 10_000 })
  if (probe.code !== 0) throw new Error(`unshare -m does not work here: ${probe.stderr}`)
}

/** A fetch that must be 200 with exactly `body`. */
function checkPolicyResponse (what, res, body) {
  if (res.status !== 200) throw new Error(`${what}: status ${res.status}, expected 200`)
  if (!res.body.equals(body)) throw new Error(`${what}: body differs from the expected policy:\n${JSON.stringify(res.body.toString('latin1'))}\nexpected\n${JSON.stringify(body.toString('latin1'))}`)
}

async function throughputPhase () {
  log(`throughput: starting the service with ${THROUGHPUT_TENANTS} tenants`)
  // Worker processes on every core, as nginx's `worker_processes auto` (issue 13, point 1).
  const svc = await startService({ dir: join(root, 'throughput-service'), n: THROUGHPUT_TENANTS, args: ['--workers', 'auto'] })
  // The same service with fetch statistics off: the reference for what counting costs (issue 10: >= 0.95x).
  const bare = await startService({ dir: join(root, 'throughput-service-no-stats'), n: THROUGHPUT_TENANTS, extra: ['stats:', '  enabled: false'], args: ['--workers', 'auto'] })
  // One process, no workers (the default): what --workers gains.
  const single = await startService({ dir: join(root, 'throughput-service-one-process'), n: THROUGHPUT_TENANTS })
  let nginx
  let nodeMinimal
  try {
    await waitReady(svc, MAX_WAIT_MS)
    await waitReady(bare, MAX_WAIT_MS)
    await waitReady(single, MAX_WAIT_MS)
    const singleCa = readFileSync(single.caFile)
    const bareCa = readFileSync(bare.caFile)
    const ca = readFileSync(svc.caFile)
    const body = expectedPolicy('testing')

    // Direct fetches: every tenant host gets its certificate issued and is checked.
    const sites = []
    for (let i = 1; i <= THROUGHPUT_TENANTS; i++) {
      const host = tenantHost(i)
      checkPolicyResponse(`service ${host} (node https)`, await fetchPolicy({ port: svc.ports.https, host, ca }), body)
      checkPolicyResponse(`service without stats ${host} (node https)`, await fetchPolicy({ port: bare.ports.https, host, ca: bareCa }), body)
      checkPolicyResponse(`service in one process ${host} (node https)`, await fetchPolicy({ port: single.ports.https, host, ca: singleCa }), body)
      const { keyPem, chainPem } = splitBundle(readFileSync(svc.bundleFile(host), 'utf8'))
      const key = createPrivateKey(keyPem)
      if (key.asymmetricKeyType !== 'ec' || key.asymmetricKeyDetails?.namedCurve !== 'prime256v1') {
        throw new Error(`${host}: the service's key is ${key.asymmetricKeyType} ${key.asymmetricKeyDetails?.namedCurve}, expected EC P-256`)
      }
      sites.push({ host, keyPem, chainPem, body })
    }
    const leaf = new X509Certificate(sites[0].chainPem)

    const nginxPort = await freePort()
    const prefix = join(root, 'nginx')
    const conf = writeNginxPrefix({ prefix, port: nginxPort, sites })
    log(`throughput: starting nginx on 127.0.0.1:${nginxPort}`)
    nginx = await startNginx({ prefix, conf, port: nginxPort })
    const nodePort = await freePort()
    log(`throughput: starting the minimal Node https server on 127.0.0.1:${nodePort}`)
    nodeMinimal = await startNodeMinimal({ dir: join(root, 'node-minimal'), port: nodePort, sites })

    const unknownHost = 'mta-sts.unknown.bench.example'
    const hostsFile = join(root, 'hosts')
    writeFileSync(hostsFile, `127.0.0.1 localhost\n127.0.0.1 ${[...sites.map(s => s.host), unknownHost].join(' ')}\n`)

    const targets = [
      { name: 'service', port: svc.ports.https, pid: () => svc.child.pid, caFile: svc.caFile },
      { name: 'service_no_stats', port: bare.ports.https, pid: () => bare.child.pid, caFile: bare.caFile },
      { name: 'service_one_process', port: single.ports.https, pid: () => single.child.pid, caFile: single.caFile },
      { name: 'nginx', port: nginxPort, pid: () => nginx.pid, caFile: svc.caFile },
      // Node's own ceiling: the same answers from a minimal node:https server (bench/lib/node-minimal-server.mjs).
      { name: 'node_minimal', port: nodePort, pid: () => nodeMinimal.pid, caFile: svc.caFile },
    ]
    // The path wrk takes (hosts file in a mount namespace, SNI from the URL): 200 and the exact bytes.
    for (const t of targets) {
      for (const site of sites) {
        const url = `https://${site.host}:${t.port}${POLICY_PATH}`
        const res = await curlFetch({ hostsFile, url, caFile: t.caFile, workDir: root, tag: `${t.name}-${site.host}` })
        if (!res.ok) throw new Error(`${t.name} ${url}: curl failed (${res.curlExit}): ${res.error}`)
        checkPolicyResponse(`${t.name} ${url} (curl)`, res, site.body)
        if (!/^text\/plain;\s*charset=utf-8$/i.test(res.headers['content-type'] ?? '')) {
          throw new Error(`${t.name} ${url}: content-type ${res.headers['content-type']}`)
        }
      }
      const unknown = await curlFetch({ hostsFile, url: `https://${unknownHost}:${t.port}${POLICY_PATH}`, caFile: t.caFile, workDir: root, tag: `${t.name}-unknown` })
      if (unknown.ok) throw new Error(`${t.name}: a handshake for the unknown name ${unknownHost} succeeded (status ${unknown.status})`)
    }
    log(`throughput: verified ${sites.length} hosts on both servers (200, identical bodies, text/plain; charset=utf-8; unknown SNI refused)`)

    const host = sites[0].host
    const tlsParams = {}
    for (const t of targets) tlsParams[t.name] = await tlsParameters({ port: t.port, host, ca: t.name === 'service_no_stats' ? bareCa : t.name === 'service_one_process' ? singleCa : ca })
    const tlsKeys = Object.keys(tlsParams.service)
    const tlsDiff = tlsKeys.filter(k => tlsParams.service[k] !== tlsParams.nginx[k])
    if (tlsDiff.length > 0) log(`WARNING: TLS parameters differ between the servers (${tlsDiff.join(', ')}): ${JSON.stringify(tlsParams)}`)
    const modes = [
      { name: 'keepalive', label: 'HTTPS keep-alive', close: false },
      { name: 'new_tls_conn', label: 'new TLS connection per request', close: true },
    ]
    const out = {
      tenants: THROUGHPUT_TENANTS,
      host,
      body_bytes: body.length,
      certificate: { key: 'EC P-256 (from the service store)', chain: sites[0].chainPem.match(/BEGIN CERTIFICATE/g).length, leaf_signature: leaf.publicKey.asymmetricKeyDetails?.namedCurve },
      nginx_workers: `auto (${availableParallelism()})`,
      service_workers: `auto (${availableParallelism()})`,
      tls: tlsParams,
      modes: {},
      service_rss_kib: {},
    }
    out.service_rss_kib.before_load = svc.rss()
    for (const mode of modes) {
      const m = { label: mode.label, results: {}, ratio: {}, runs: Object.fromEntries(targets.map(t => [t.name, []])) }
      out.modes[mode.name] = m
      for (let round = 0; round < ROUNDS; round++) {
        // Alternate the order so drift in machine load hits both servers alike.
        for (const t of round % 2 === 0 ? targets : [...targets].reverse()) {
          const url = `https://${host}:${t.port}${POLICY_PATH}`
          const common = { hostsFile, url, connections: CONNECTIONS, threads: THREADS, close: mode.close }
          if (round === 0) {
            log(`wrk: ${mode.name} ${t.name} warm-up (${WARMUP}s)`)
            const warm = await runWrk({ ...common, durationS: WARMUP })
            const warmProblems = wrkProblems(warm)
            if (warmProblems.length > 0) fail(`${mode.name} ${t.name} warm-up`, warmProblems.join('; '))
          }
          log(`wrk: ${mode.name} ${t.name} round ${round + 1}/${ROUNDS} (${DURATION}s)`)
          const cpu0 = cpuSeconds(t.pid())
          const wall0 = performance.now()
          const r = await runWrk({ ...common, durationS: DURATION })
          const serverCpu = (cpuSeconds(t.pid()) - cpu0) / ((performance.now() - wall0) / 1000)
          const problems = wrkProblems(r)
          const { raw, client_cpu_s: clientCpu, client_wall_s: clientWall, ...parsed } = r
          m.runs[t.name].push({
            ...parsed,
            server_cpu_pct: serverCpu * 100,
            client_cpu_pct: clientCpu !== undefined && clientWall > 0 ? (clientCpu / clientWall) * 100 : undefined,
            problems,
          })
          if (problems.length > 0) fail(`${mode.name} ${t.name} round ${round + 1}`, `${problems.join('; ')}\n${raw}`)
        }
      }
      for (const t of targets) m.results[t.name] = summarize(m.runs[t.name])
      const s = m.results.service
      const n = m.results.nginx
      m.ratio = { rps: s.rps / n.rps, p50: s.p50_ms / n.p50_ms, p99: s.p99_ms / n.p99_ms }
      const one = m.results.service_one_process
      m.one_process_ratio = { rps: one.rps / n.rps, workers_gain: s.rps / one.rps }
      const nm = m.results.node_minimal
      m.node_ratio = { rps: s.rps / nm.rps, node_vs_nginx: nm.rps / n.rps }
      const b = m.results.service_no_stats
      m.stats_ratio = { rps: s.rps / b.rps, p50: s.p50_ms / b.p50_ms, p99: s.p99_ms / b.p99_ms, target_rps: 0.95, pass: s.rps / b.rps >= 0.95 }
      if (!m.stats_ratio.pass) fail(`${mode.name} statistics`, `throughput with fetch statistics is ${m.stats_ratio.rps.toFixed(2)}x that without (goal >= 0.95x)`)
    }
    out.half_peak = await halfPeak({ hostsFile, host, targets: targets.filter(t => t.name !== 'service_no_stats'), peaks: out.modes.keepalive.results })
    out.service_rss_kib.after_load = svc.rss()
    if (svc.child.exitCode !== null) throw new Error('the service exited during the load runs')
    await stopChild(svc.child, 15_000)
    out.stats_flushed = statsFlushed(svc)
    // Every request wrk counted (measured rounds; warm-ups and checks come on top) must be in the totals.
    const measured = Object.values(out.modes).reduce((sum, m) => sum + m.runs.service.reduce((a, r) => a + (r.requests ?? 0), 0), 0)
    out.stats_flushed.measured_requests = measured
    if (!(out.stats_flushed.fetches >= measured)) fail('statistics', `the service wrote ${out.stats_flushed.fetches} fetches, fewer than the ${measured} requests wrk measured`)
    return out
  } finally {
    if (nginx) await stopChild(nginx)
    if (nodeMinimal) await stopChild(nodeMinimal)
    await stopChild(svc.child, 15_000)
    await stopChild(bare.child, 15_000)
    await stopChild(single.child, 15_000)
    svc.logs.close()
    bare.logs.close()
    single.logs.close()
  }
}

/**
 * Latency at half of each server's own keep-alive peak (bench/lib/rate.mjs), rounds alternating
 * between the servers, medians; the goal (issue 13, point 2) is a service p99 under 5 ms.
 */
async function halfPeak ({ hostsFile, host, targets, peaks }) {
  const runs = Object.fromEntries(targets.map(t => [t.name, []]))
  for (let round = 0; round < ROUNDS; round++) {
    for (const t of round % 2 === 0 ? targets : [...targets].reverse()) {
      const rate = Math.round(peaks[t.name].rps / 2)
      log(`wrk: half peak ${t.name} at ${rate} req/s, round ${round + 1}/${ROUNDS} (${DURATION}s)`)
      const r = await runWrkAtRate({ hostsFile, url: `https://${host}:${t.port}${POLICY_PATH}`, rate, durationS: DURATION, threads: THREADS, workDir: root })
      const problems = wrkProblems(r)
      if (problems.length > 0) fail(`half peak ${t.name} round ${round + 1}`, `${problems.join('; ')}\n${r.raw}`)
      runs[t.name].push({ target_rps: r.target_rps, connections: r.connections, rps: r.rps, requests: r.requests, p50_ms: r.p50_ms, p75_ms: r.p75_ms, p90_ms: r.p90_ms, p99_ms: r.p99_ms, problems })
    }
  }
  const results = Object.fromEntries(targets.map(t => [t.name, { ...summarize(runs[t.name]), target_rps: runs[t.name][0].target_rps, connections: runs[t.name][0].connections }]))
  const p99 = results.service.p99_ms
  return { goal_p99_ms: HALF_PEAK_P99_GOAL_MS, pass: p99 < HALF_PEAK_P99_GOAL_MS, results, runs }
}

/** Policy fetches the stopped service wrote to its report database (its shutdown flushes), by sender. */
function statsFlushed (svc) {
  const out = spawnSync(process.execPath, [join(dirname(fileURLToPath(import.meta.url)), 'lib', 'fetch-totals.mjs'), join(svc.storage, 'reports.sqlite')], { encoding: 'utf8' })
  if (out.status !== 0) return { error: out.stderr.trim() }
  return JSON.parse(out.stdout)
}

async function scalePhase () {
  const out = { reference_tenants: SIZES[0], sizes: [] }
  for (const n of SIZES) {
    const entry = { tenants: n }
    out.sizes.push(entry)
    log(`scale: ${n} tenants`)
    let svc
    try {
      svc = await startService({ dir: join(root, `scale-${n}`), n })
      entry.config_bytes = Buffer.byteLength(readFileSync(svc.configFile))
      const readyAt = await waitReady(svc, MAX_WAIT_MS).catch(err => {
        entry.rss_at_failure_kib = svc.rss()
        entry.cpu_s_at_failure = cpuSeconds(svc.child.pid)
        throw err
      })
      entry.startup_ms = readyAt - svc.spawnedAt
      entry.rss_ready_kib = svc.rss()
      const { entry: start } = await svc.logs.waitFor('start', { timeoutMs: 5000 })
      if (start.tenants !== n) throw new Error(`start event reports ${start.tenants} tenants, expected ${n}`)

      // A handful of TLS fetches (each host's first handshake issues its certificate).
      const ca = readFileSync(svc.caFile)
      const picks = [...new Set([1, 2, 3, Math.ceil(n / 2), n])]
      entry.fetches = []
      for (const i of picks) {
        const t0 = performance.now()
        checkPolicyResponse(`scale ${n} ${tenantHost(i)}`, await fetchPolicy({ port: svc.ports.https, host: tenantHost(i), ca }), expectedPolicy('testing'))
        entry.fetches.push({ tenant: i, first_fetch_ms: performance.now() - t0 })
      }
      entry.rss_after_fetches_kib = svc.rss()

      // Reload: rewrite the file in place with one tenant's mode changed.
      const k = Math.max(1, Math.ceil(n / 2))
      const yaml = configYaml({ n, ports: svc.ports, storage: svc.storage, modes: { [k]: 'enforce' } })
      svc.logs.skip()
      // Meanwhile, probe GET /healthz back to back: the slowest answer shows how long the event loop was blocked.
      const probe = startProbe(svc.ports.http)
      const t0 = performance.now()
      writeFileSync(svc.configFile, yaml)
      let found
      try {
        found = await svc.logs.waitFor('reload', {
          pred: e => Array.isArray(e.changed) && e.changed.some(c => c.domain === tenantDomain(k)),
          timeoutMs: MAX_WAIT_MS,
          child: svc.child,
        })
      } finally {
        entry.max_probe_ms_during_reload = await probe.stop()
      }
      const { entry: reload, at } = found
      entry.reload_ms = at - t0
      entry.reload_duration_ms = reload.duration_ms
      entry.reload_loop_delay_max_ms = reload.loop_delay_max_ms
      entry.reload_changed = reload.changed.length
      if (reload.changed.length !== 1 || reload.added.length + reload.removed.length !== 0) {
        throw new Error(`reload diff: ${reload.added.length} added, ${reload.removed.length} removed, ${reload.changed.length} changed; expected 1 changed`)
      }
      checkPolicyResponse(`scale ${n} after reload ${tenantHost(k)}`, await fetchPolicy({ port: svc.ports.https, host: tenantHost(k), ca }), expectedPolicy('enforce'))
      entry.rss_after_reload_kib = svc.rss()
    } catch (err) {
      entry.error = err.message
      fail(`scale ${n} tenants`, err)
    } finally {
      if (svc) {
        const t0 = performance.now()
        const { code, signal } = await stopChild(svc.child, 15_000)
        entry.stop_ms = performance.now() - t0
        if (code !== 0 && signal !== 'SIGTERM') entry.stop_exit = code ?? signal
        svc.logs.close()
      }
    }
  }
  const ref = out.sizes.find(s => s.tenants === SIZES[0])
  const ratio = (a, b) => (typeof a === 'number' && typeof b === 'number' && b > 0 ? a / b : null)
  for (const s of out.sizes) {
    s.ratio_vs_reference = {
      startup: ratio(s.startup_ms, ref?.startup_ms),
      rss_ready: ratio(s.rss_ready_kib, ref?.rss_ready_kib),
      rss_after_fetches: ratio(s.rss_after_fetches_kib, ref?.rss_after_fetches_kib),
      reload: ratio(s.reload_ms, ref?.reload_ms),
      reload_duration: ratio(s.reload_duration_ms, ref?.reload_duration_ms),
    }
  }
  return out
}

/** Medians over rounds (each percentile separately), total requests, all problems. */
function summarize (runs) {
  const median = key => {
    const v = runs.map(r => r[key]).filter(x => typeof x === 'number').sort((a, b) => a - b)
    if (v.length === 0) return undefined
    const mid = Math.floor(v.length / 2)
    return v.length % 2 ? v[mid] : (v[mid - 1] + v[mid]) / 2
  }
  return {
    rounds: runs.length,
    rps: median('rps'),
    rps_min: Math.min(...runs.map(r => r.rps)),
    rps_max: Math.max(...runs.map(r => r.rps)),
    p50_ms: median('p50_ms'),
    p75_ms: median('p75_ms'),
    p90_ms: median('p90_ms'),
    p99_ms: median('p99_ms'),
    requests: runs.reduce((sum, r) => sum + r.requests, 0),
    server_cpu_pct: median('server_cpu_pct'),
    client_cpu_pct: median('client_cpu_pct'),
    problems: runs.flatMap(r => r.problems),
  }
}

/** Sequential GET /healthz on `port` until stopped; stop() resolves with the slowest response time (ms). */
function startProbe (port) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 })
  let running = true
  let max = 0
  const once = () => new Promise(resolve => {
    const t0 = performance.now()
    const req = http.get({ host: '127.0.0.1', port, path: '/healthz', agent }, res => {
      res.resume()
      res.on('end', () => resolve(performance.now() - t0))
    })
    req.on('error', () => resolve(performance.now() - t0))
  })
  const loop = (async () => {
    while (running) {
      max = Math.max(max, await once())
      await sleep(5)
    }
  })()
  return { stop: async () => { running = false; await loop; agent.destroy(); return max } }
}
