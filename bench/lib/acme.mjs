// ACME part of the benchmark: the time the service takes to obtain
// certificates for N tenants from a local Pebble (PEBBLE_VA_NOSLEEP=1), and
// policy fetch throughput (wrk, keep-alive) on one more tenant while that
// issuance runs, compared with the same load once the service is idle.
//
// Each run gets a fresh Pebble (new roots, no orders), a fresh store and
// fresh ports. The load-target tenant's certificate is obtained first by a
// short-lived service instance on the same store, so the measured instance
// serves it at once (from the store, no order) and orders only the N others.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import http from 'node:http'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { cpuSeconds, freePort, have, ownCpuSeconds, run, stopChild } from './proc.mjs'
import { pebbleVersion, startPebble } from './pebble.mjs'
import { expectedPolicy, fetchPolicy, POLICY_PATH, serviceYaml, spawnService, tenantDomain, tenantHost, waitReady } from './service.mjs'
import { curlFetch, runWrk, wrkProblems } from './wrk.mjs'

export const LOAD_DOMAIN = 'load.bench.example'
export const LOAD_HOST = `mta-sts.${LOAD_DOMAIN}`
const PRE_ISSUE_TIMEOUT_MS = 60_000
const CLK_TCK = 100
const IDLE_SETTLE_MS = 1000
/** wrk on the load target before Pebble is let go (runs with load): the service's code warm, as in the idle run. */
const WARMUP_S = 2

/** The service configuration: ACME issuer against Pebble, `domains` as tenants inheriting the defaults. */
export function acmeConfigYaml ({ ports, storage, directoryUrl, caFile, concurrency, challenges, domains }) {
  return serviceYaml({
    ports,
    certificates: [
      '  issuer: acme',
      `  storage: ${JSON.stringify(storage)}`,
      '  acme:',
      `    directory: ${directoryUrl}`,
      '    email: hostmaster@bench.example',
      '    terms_of_service_agreed: true',
      `    ca_file: ${JSON.stringify(caFile)}`,
      ...(concurrency === undefined ? [] : [`    concurrency: ${concurrency}`]),
      ...(challenges === undefined ? [] : [`    challenges: [${challenges.join(', ')}]`]),
      '    max_orders: 10000',
    ],
    tenants: domains.map(d => `  ${d}:`),
  })
}

/** Install Debian's pebble (pebble + pebble-challtestsrv) if missing. */
export async function ensurePebble (log) {
  if (have('pebble') && have('pebble-challtestsrv')) return
  log('installing pebble with apt-get')
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' }
  let r = await run('apt-get', ['install', '-y', 'pebble'], { env, timeoutMs: 600_000 })
  if (r.code !== 0) {
    log('apt-get install failed; running apt-get update and retrying')
    await run('apt-get', ['update'], { env, timeoutMs: 600_000 })
    r = await run('apt-get', ['install', '-y', 'pebble'], { env, timeoutMs: 600_000 })
    if (r.code !== 0) throw new Error(`apt-get install -y pebble failed:\n${r.stderr}`)
  }
  for (const cmd of ['pebble', 'pebble-challtestsrv']) if (!have(cmd)) throw new Error(`${cmd} not found on PATH after installing pebble`)
}

/**
 * Follow the service's log: certificate events per host, with times taken
 * from the log lines (`time`, ms since the epoch or ISO) relative to spawn.
 * `done` resolves when every host in `hosts` has a certificate_obtained.
 */
function trackIssuance (svc, hosts, spawnWallMs) {
  const want = new Set(hosts)
  const obtaining = new Map()
  const obtained = new Map()
  const failed = []
  const challenges = {}
  let running = true
  let resolveDone
  const done = new Promise(resolve => { resolveDone = resolve })
  const rel = e => {
    const t = typeof e.time === 'number' ? e.time : Date.parse(e.time)
    return Number.isFinite(t) ? t - spawnWallMs : Date.now() - spawnWallMs
  }
  const loop = (async () => {
    while (running) {
      for (const line of svc.logs.poll()) {
        if (!line.includes('"event":"certificate_') && !line.includes('"event":"acme_challenge_answered"')) continue
        let e
        try { e = JSON.parse(line) } catch { continue }
        if (e.event === 'certificate_obtaining') obtaining.set(e.host, rel(e))
        else if (e.event === 'certificate_obtained') obtained.set(e.host, { at_ms: rel(e), duration_ms: e.duration_ms })
        else if (e.event === 'certificate_failed') failed.push({ host: e.host, kind: e.kind, error: e.error ?? e.msg, at_ms: rel(e) })
        else if (e.event === 'acme_challenge_answered') challenges[e.type] = (challenges[e.type] ?? 0) + 1
      }
      if ([...want].every(h => obtained.has(h))) resolveDone(performance.now())
      await sleep(5)
    }
  })()
  const count = () => [...want].filter(h => obtained.has(h)).length
  return { obtaining, obtained, failed, challenges, done, count, stop: async () => { running = false; await loop } }
}

/**
 * CPU seconds (user + system) of the main thread of `pid` alone: the thread
 * that serves policies, without worker threads (ACME crypto, report database).
 */
export function mainThreadCpuSeconds (pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/task/${pid}/stat`, 'utf8')
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    return (Number(fields[11]) + Number(fields[12])) / CLK_TCK
  } catch {
    return undefined
  }
}

function httpGetJson (port, path) {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path, agent: false, timeout: 10_000 }, res => {
      const chunks = []
      res.on('data', c => chunks.push(c))
      res.on('end', () => {
        try { resolve({ status: res.statusCode, json: JSON.parse(Buffer.concat(chunks).toString('utf8')) } ) } catch (err) { reject(err) }
      })
    })
    req.on('timeout', () => req.destroy(new Error(`GET ${path}: timeout`)))
    req.on('error', reject)
  })
}

const percentile = (values, p) => {
  const v = values.filter(x => typeof x === 'number').sort((a, b) => a - b)
  if (v.length === 0) return undefined
  return v[Math.min(v.length - 1, Math.ceil((p / 100) * v.length) - 1)]
}

/**
 * `serve --workers` values the measured instance runs with: `auto` is how the product is deployed
 * (the Dockerfile), `null` is one process serving and issuing alone (informational).
 */
export const ACME_WORKERS = Object.freeze(['auto', null])

/** Parse a `--workers` list of the bench (`auto`, a number, `none`) into {@link ACME_WORKERS}' form. */
export function parseWorkersList (text) {
  return text.split(',').map(s => s.trim()).map(s => (s === 'none' ? null : s))
}

/**
 * The runs for `concurrencies`: per value and per `workers` value, one without load (if `quiet`)
 * and one with wrk. The first `workers` value is the one the goal is measured on.
 */
export function acmeRuns (concurrencies, quiet = true, workers = ACME_WORKERS) {
  return concurrencies.flatMap(c => workers.flatMap(w => [...(quiet ? [{ concurrency: c, workers: w, load: false }] : []), { concurrency: c, workers: w, load: true }]))
}

/** How a run's service was started, for tables and logs. */
export const workersLabel = w => (w === null || w === undefined ? 'one process' : `--workers ${w}`)

/**
 * The ACME benchmark. `runs`: [{concurrency, load}] — `load: true` runs wrk
 * during issuance and once idle. Returns the results object; problems go to
 * `fail(where, err)` and into the run's `error`.
 */
export async function acmePhase ({ root, tenants = 100, runs, challenges, wrk, maxWaitMs, log, fail }) {
  await ensurePebble(log)
  const out = {
    tenants,
    load_host: LOAD_HOST,
    pebble: await pebbleVersion(),
    pebble_env: { PEBBLE_VA_NOSLEEP: '1', PEBBLE_WFE_NONCEREJECT: '0', PEBBLE_AUTHZREUSE: '0' },
    challenges: challenges ?? 'service default',
    wrk,
    runs: [],
  }
  for (const spec of runs) {
    const workers = spec.workers ?? null
    const name = `c${spec.concurrency ?? 'default'}-w${workers ?? 'none'}-${spec.load ? 'load' : 'quiet'}`
    const entry = { concurrency: spec.concurrency, workers, load: spec.load }
    out.runs.push(entry)
    try {
      await oneRun({ dir: join(root, `acme-${name}`), entry, tenants, concurrency: spec.concurrency, workers, load: spec.load, challenges, wrk, maxWaitMs, log })
    } catch (err) {
      entry.error = err.message.split('\n')[0]
      fail(`acme ${name}`, err)
    }
  }
  // Issuance-time ratios between concurrencies: on the first `workers` value of the runs.
  const deployed = runs[0]?.workers ?? null
  const find = (c, load) => out.runs.find(r => r.concurrency === c && r.workers === deployed && r.load === load && !r.error)
  const concs = [...new Set(runs.map(r => r.concurrency))]
  out.ratios = {}
  if (concs.length > 1) {
    const [base, ...others] = concs
    for (const c of others) {
      for (const load of [false, true]) {
        const a = find(base, load)
        const b = find(c, load)
        if (a && b) out.ratios[`issuance_c${c}_vs_c${base}${load ? '_under_load' : ''}`] = b.issuance_ms / a.issuance_ms
      }
    }
  }
  return out
}

async function oneRun ({ dir, entry, tenants, concurrency, workers, load, challenges, wrk, maxWaitMs, log }) {
  mkdirSync(dir, { recursive: true })
  const ports = { https: await freePort(), http: await freePort(), ops: await freePort() }
  const storage = join(dir, 'store')
  const label = `acme c=${concurrency ?? 'default'} ${workersLabel(workers)}${load ? ' +wrk' : ''}`
  log(`${label}: starting pebble (VA on ${ports.http}/${ports.https})`)
  mkdirSync(join(dir, 'pebble'), { recursive: true })
  const pebble = await startPebble({ dir: join(dir, 'pebble'), httpPort: ports.http, tlsPort: ports.https })
  const services = []
  try {
    const common = { ports, storage, directoryUrl: pebble.directoryUrl, caFile: pebble.caFile, concurrency, challenges }

    // 1. The load target's certificate, by a short-lived instance on the same store.
    const preConfig = join(dir, 'pre.yaml')
    writeFileSync(preConfig, acmeConfigYaml({ ...common, domains: [LOAD_DOMAIN] }))
    const pre = { ...spawnService({ dir: join(dir, 'pre'), configFile: preConfig, storage }), ports }
    services.push(pre)
    const preTrack = trackIssuance(pre, [LOAD_HOST], Date.now())
    try {
      await Promise.race([
        preTrack.done,
        sleep(PRE_ISSUE_TIMEOUT_MS).then(() => { throw new Error(`no certificate for ${LOAD_HOST} within ${PRE_ISSUE_TIMEOUT_MS / 1000} s: ${pre.stderrTail()}\n${pebble.logs().slice(-10).join('\n')}`) }),
        pre.child.exited.then(r => { throw new Error(`pre-issuing service exited (${r.code ?? r.signal}): ${pre.stderrTail()}`) }),
      ])
      entry.load_target_first_ms = preTrack.obtained.get(LOAD_HOST)?.at_ms
    } finally {
      await preTrack.stop()
      await stopChild(pre.child, 15_000)
      pre.logs.close()
    }
    const ordersBefore = pebble.orders()
    // With load, Pebble is frozen until the service is ready and warmed up (orders wait for it):
    // the during/idle ratio then compares the same warm service with and without issuance,
    // not a process just started (JIT, start-up work) with one that has run for a while.
    const rootPem = await pebble.rootPem() // its management API is frozen too
    let frozen = false
    const thaw = () => { if (frozen) { frozen = false; process.kill(pebble.pid(), 'SIGCONT') } }
    if (load) { process.kill(pebble.pid(), 'SIGSTOP'); frozen = true }

    // 2. The measured instance: load target (from the store) + `tenants` to order.
    const configFile = join(dir, 'config.yaml')
    const domains = Array.from({ length: tenants }, (_, i) => tenantDomain(i + 1))
    const hosts = domains.map(d => `mta-sts.${d}`)
    writeFileSync(configFile, acmeConfigYaml({ ...common, domains: [LOAD_DOMAIN, ...domains] }))
    log(`${label}: spawning the service with ${tenants + 1} tenants`)
    const spawnWallMs = Date.now()
    const svc = { ...spawnService({ dir: join(dir, 'main'), configFile, storage, args: workers === null ? [] : ['--workers', workers] }), ports }
    services.push(svc)
    const track = trackIssuance(svc, hosts, spawnWallMs)
    const deadline = svc.spawnedAt + maxWaitMs
    const cpu = () => ({ service: cpuSeconds(svc.child.pid), pebble: cpuSeconds(pebble.pid()) })
    let doneAt
    track.done.then(at => { doneAt = at })
    const waitDone = async () => {
      for (;;) {
        if (doneAt !== undefined) return doneAt
        if (svc.child.exitCode !== null || svc.child.signalCode !== null) throw new Error(`service exited (${svc.child.exitCode ?? svc.child.signalCode}) during issuance: ${svc.stderrTail()}`)
        if (performance.now() > deadline) {
          const last = track.failed.at(-1)
          throw new Error(`${track.count()}/${tenants} certificates within ${Math.round(maxWaitMs / 1000)} s, ${track.failed.length} failure(s)${last ? `, last: ${last.host} ${last.kind} ${last.error}` : ''}`)
        }
        await sleep(10)
      }
    }
    try {
      const readyAt = await waitReady(svc, maxWaitMs)
      entry.ready_ms = readyAt - svc.spawnedAt
      let mainAtReady = mainThreadCpuSeconds(svc.child.pid)
      let processAtReady = ownCpuSeconds(svc.child.pid)
      let allAtReady = cpuSeconds(svc.child.pid)
      let issuanceFrom = svc.spawnedAt
      const rootFile = join(dir, 'pebble-root.pem')
      writeFileSync(rootFile, rootPem)
      const body = expectedPolicy('testing')
      const probed = new Set()
      const hostsFile = join(dir, 'hosts')
      writeFileSync(hostsFile, `127.0.0.1 localhost\n127.0.0.1 ${LOAD_HOST}\n`)

      if (load) {
        // Through wrk's path (hosts file namespace, SNI): 200, exact body, chain to Pebble's root.
        const res = await curlFetch({ hostsFile, url: `https://${LOAD_HOST}:${ports.https}${POLICY_PATH}`, caFile: rootFile, workDir: dir, tag: 'load-target' })
        if (!res.ok) throw new Error(`curl ${LOAD_HOST}: ${res.curlExit} ${res.error}`)
        if (res.status !== 200 || !res.body.equals(body)) throw new Error(`curl ${LOAD_HOST}: status ${res.status}, body ${JSON.stringify(res.body.toString('latin1'))}`)
        const url = `https://${LOAD_HOST}:${ports.https}${POLICY_PATH}`
        log(`${label}: wrk warm-up (${WARMUP_S}s, Pebble frozen)`)
        const warm = await runWrk({ hostsFile, url, durationS: WARMUP_S, connections: wrk.connections, threads: wrk.threads })
        entry.wrk_warmup = { rps: warm.rps, problems: wrkProblems(warm) }
        if (entry.wrk_warmup.problems.length) throw new Error(`wrk warm-up: ${entry.wrk_warmup.problems.join('; ')}`)
        entry.obtained_before_release = track.count()
        thaw()
        issuanceFrom = performance.now()
        entry.pebble_released_ms = issuanceFrom - svc.spawnedAt
        // CPU per certificate from here: the warm-up's serving is not issuance.
        mainAtReady = mainThreadCpuSeconds(svc.child.pid)
        processAtReady = ownCpuSeconds(svc.child.pid)
        allAtReady = cpuSeconds(svc.child.pid)
        log(`${label}: wrk during issuance (${wrk.duration_s}s; ${track.count()}/${tenants} obtained so far)`)
        entry.wrk_during = await measuredWrk({ hostsFile, url, wrk, svc, pebble, track, probe: { port: ports.https, ca: rootPem, body, probed } })
        if (entry.wrk_during.obtained_at_end >= tenants) entry.wrk_during.note = 'issuance finished before wrk did: the run overlaps only partly'
      }
      const at = await waitDone()
      // Without load from spawn; with load from Pebble's release (the service was ready and warm then).
      entry.issuance_ms = at - issuanceFrom
      const cpuDone = cpu()
      const ownDone = ownCpuSeconds(svc.child.pid)
      entry.cpu_s_until_done = { service: cpuDone.service, pebble: cpuDone.pebble, service_main_thread: mainThreadCpuSeconds(svc.child.pid) }
      // From readiness to the last certificate: on a run without wrk, all of it is issuance. With
      // --workers, the service's process is the primary (it issues) and the worker processes serve.
      const mainMs = (entry.cpu_s_until_done.service_main_thread - mainAtReady) * 1000
      entry.cpu_ms_per_cert_after_ready = {
        main_thread: mainMs / tenants,
        other_threads: ((ownDone - processAtReady) * 1000 - mainMs) / tenants,
        worker_processes: (((cpuDone.service - ownDone) - (allAtReady - processAtReady)) * 1000) / tenants,
      }
      entry.rss_done_kib = svc.rss()

      const obtainedTimes = hosts.map(h => track.obtained.get(h).at_ms)
      const durations = hosts.map(h => track.obtained.get(h).duration_ms)
      const firstObtaining = Math.min(...hosts.map(h => track.obtaining.get(h)).filter(x => typeof x === 'number'))
      entry.first_order_ms = Number.isFinite(firstObtaining) ? firstObtaining : undefined
      entry.last_obtained_log_ms = Math.max(...obtainedTimes)
      entry.orders_per_s = tenants / (entry.issuance_ms / 1000)
      entry.orders_per_s_after_first = entry.first_order_ms !== undefined ? tenants / ((entry.last_obtained_log_ms - entry.first_order_ms) / 1000) : undefined
      entry.cert_duration_ms = { p50: percentile(durations, 50), p90: percentile(durations, 90), max: percentile(durations, 100) }
      entry.failures = track.failed.length
      if (track.failed.length) entry.failure_samples = track.failed.slice(0, 5)
      entry.challenges_answered = { ...track.challenges }
      entry.pebble_orders = pebble.orders() - ordersBefore
      entry.load_target_ordered_again = track.obtaining.has(LOAD_HOST)

      // Checks: Pebble saw one order per tenant; /certificates says all valid; chains verify against Pebble's root.
      const problems = []
      await sleep(200) // Pebble's log is read asynchronously
      entry.pebble_orders = pebble.orders() - ordersBefore
      if (entry.pebble_orders !== tenants) problems.push(`Pebble logged ${entry.pebble_orders} orders, expected ${tenants}`)
      if (entry.load_target_ordered_again) problems.push(`${LOAD_HOST} was ordered again instead of loaded from the store`)
      const status = await httpGetJson(ports.ops, '/certificates')
      const states = {}
      for (const c of status.json.certificates ?? []) states[c.state] = (states[c.state] ?? 0) + 1
      entry.certificate_states = states
      if (states.valid !== tenants + 1) problems.push(`GET /certificates: ${JSON.stringify(states)}, expected ${tenants + 1} valid`)
      const res = await fetchPolicy({ port: ports.https, host: LOAD_HOST, ca: rootPem })
      if (res.status !== 200 || !res.body.equals(body)) problems.push(`${LOAD_HOST}: status ${res.status} or wrong body`)
      // Every tenant not fetched during wrk, one at a time over a new connection: its first
      // handshake (a cold context; with --workers asked from the primary), now that issuance is over.
      const idleFetches = await coldFetches({ hosts: hosts.filter(h => !probed.has(h)), port: ports.https, ca: rootPem, body, problems })
      entry.cold_fetch_after_ms = summarize(idleFetches)
      if (problems.length) throw new Error(problems.join('; '))

      if (load) {
        await sleep(IDLE_SETTLE_MS)
        log(`${label}: wrk idle (${wrk.duration_s}s)`)
        const url = `https://${LOAD_HOST}:${ports.https}${POLICY_PATH}`
        entry.wrk_idle = await measuredWrk({ hostsFile, url, wrk, svc, pebble, track })
        const d = entry.wrk_during
        const i = entry.wrk_idle
        entry.ratio_during_vs_idle = { rps: d.rps / i.rps, p50: d.p50_ms / i.p50_ms, p99: d.p99_ms / i.p99_ms }
        const bad = [...d.problems.map(p => `during: ${p}`), ...i.problems.map(p => `idle: ${p}`)]
        if (bad.length) throw new Error(`wrk: ${bad.join('; ')}`)
      }
      log(`${label}: ${tenants} certificates in ${(entry.issuance_ms / 1000).toFixed(1)} s (${entry.orders_per_s.toFixed(1)} orders/s)`)
    } finally {
      thaw()
      await track.stop()
    }
  } finally {
    for (const s of services) {
      await stopChild(s.child, 15_000)
      try { s.logs.close() } catch { /* closed */ }
    }
    try { process.kill(pebble.pid(), 'SIGCONT') } catch { /* gone */ }
    await pebble.close()
  }
}

const summarize = times => ({ n: times.length, p50: percentile(times, 50), p90: percentile(times, 90), max: percentile(times, 100) })

/**
 * Fetch each of `hosts` once over a new TLS connection, one at a time (while `until()` is true),
 * checking status and body; returns the wall times in ms.
 */
async function coldFetches ({ hosts, port, ca, body, problems, until = () => true, onFetch = () => {} }) {
  const times = []
  for (const h of hosts) {
    if (!until()) break
    onFetch(h)
    const t0 = performance.now()
    try {
      const res = await fetchPolicy({ port, host: h, ca })
      times.push(performance.now() - t0)
      if (res.status !== 200 || !res.body.equals(body)) problems.push(`${h}: status ${res.status} or wrong body`)
    } catch (err) {
      problems.push(`${h}: ${err.message}`)
    }
  }
  return times
}

/**
 * One wrk run with server/Pebble CPU and issuance progress around it. With `probe`, while wrk
 * runs, each host whose certificate_obtained was logged is fetched once over a new connection
 * (one at a time, 100 ms apart): the first handshake for a freshly issued certificate while
 * issuance goes on (with --workers, the worker asks the primary for it over IPC).
 */
async function measuredWrk ({ hostsFile, url, wrk, svc, pebble, track, probe }) {
  const cpu0 = { service: cpuSeconds(svc.child.pid), pebble: cpuSeconds(pebble.pid()) }
  const obtainedAtStart = track.count()
  const wall0 = performance.now()
  let running = true
  const probeProblems = []
  const probeTimes = []
  const probing = probe === undefined
    ? Promise.resolve()
    : (async () => {
        while (running) {
          const next = [...track.obtained.keys()].filter(h => !probe.probed.has(h)).slice(0, 1)
          probeTimes.push(...await coldFetches({ ...probe, hosts: next, problems: probeProblems, until: () => running, onFetch: h => probe.probed.add(h) }))
          await sleep(100)
        }
      })()
  const r = await runWrk({ hostsFile, url, durationS: wrk.duration_s, connections: wrk.connections, threads: wrk.threads }).finally(() => { running = false })
  await probing
  const wall = (performance.now() - wall0) / 1000
  const { raw, client_cpu_s: clientCpu, client_wall_s: clientWall, ...parsed } = r
  return {
    ...parsed,
    server_cpu_pct: ((cpuSeconds(svc.child.pid) - cpu0.service) / wall) * 100,
    pebble_cpu_pct: ((cpuSeconds(pebble.pid()) - cpu0.pebble) / wall) * 100,
    client_cpu_pct: clientCpu !== undefined && clientWall > 0 ? (clientCpu / clientWall) * 100 : undefined,
    obtained_at_start: obtainedAtStart,
    obtained_at_end: track.count(),
    ...(probe === undefined ? {} : { cold_fetch_ms: summarize(probeTimes) }),
    problems: [...wrkProblems(r), ...probeProblems],
  }
}
