// Replicas on PostgreSQL (bench/cluster.mjs, and `npm run bench` unless --skip-cluster):
//  1. policy fetch throughput through haproxy, 3 replicas against 1, keep-alive and a new TLS
//     connection per request (wrk, rounds alternating), and the database transactions the
//     replicas run per policy fetch (pg_stat_database, less an idle window of the same length);
//  2. the time to obtain certificates for N tenants from Pebble validating through haproxy,
//     3 replicas against 1, with exactly N orders.
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { acmeConfigYaml } from './acme.mjs'
import { startHaproxy } from './haproxy.mjs'
import { startPebble } from './pebble.mjs'
import { startPostgres } from './postgres.mjs'
import { cpuSeconds, freePort, have, run, stopChild } from './proc.mjs'
import { configYaml, expectedPolicy, fetchPolicy, POLICY_PATH, spawnService, tenantDomain, tenantHost, waitReady } from './service.mjs'
import { runWrk, wrkProblems } from './wrk.mjs'

const THROUGHPUT_TENANTS = 10
const QUIET_MS = 1500

/** Install postgresql-15 and haproxy when missing (root; the benchmark needs root anyway). */
export async function ensureClusterTools (log) {
  const missing = []
  if (!have('/usr/lib/postgresql/15/bin/postgres')) missing.push('postgresql-15')
  if (!have('haproxy')) missing.push('haproxy')
  if (missing.length === 0) return
  log(`installing ${missing.join(' ')} with apt-get`)
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' }
  let r = await run('apt-get', ['install', '-y', '--no-install-recommends', ...missing], { env, timeoutMs: 600_000 })
  if (r.code !== 0) {
    await run('apt-get', ['update'], { env, timeoutMs: 600_000 })
    r = await run('apt-get', ['install', '-y', '--no-install-recommends', ...missing], { env, timeoutMs: 600_000 })
    if (r.code !== 0) throw new Error(`apt-get install ${missing.join(' ')} failed:\n${r.stderr}`)
  }
}

const median = xs => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]

/**
 * Start `count` replicas on `database` behind a fresh haproxy; `yamlFor(ports, index)` gives
 * each replica's configuration. Returns the replicas, the balancer's ports and `stop()`.
 */
async function startCluster ({ dir, count, databaseUrl, yamlFor, fronts: given, maxWaitMs }) {
  mkdirSync(dir, { recursive: true })
  const urlFile = join(dir, 'database.url')
  writeFileSync(urlFile, databaseUrl, { mode: 0o600 })
  const front = given ?? { https: await freePort(), http: await freePort() }
  const replicas = []
  for (let i = 0; i < count; i++) {
    const ports = { https: await freePort(), http: await freePort(), ops: await freePort() }
    const configFile = join(dir, `replica-${i}.yaml`)
    const text = yamlFor(ports, i).replace(/\ntenants:\n/, `\ndatabase: { url_file: ${JSON.stringify(urlFile)}, pool_size: 4 }\ntenants:\n`)
    writeFileSync(configFile, text)
    replicas.push({ ...spawnService({ dir: join(dir, `r${i}`), configFile, storage: join(dir, `store-${i}`) }), ports })
  }
  const haproxy = await startHaproxy({
    dir,
    fronts: [
      { name: 'https', port: front.https, servers: replicas.map(r => ({ port: r.ports.https, checkPort: r.ports.http })) },
      { name: 'http', port: front.http, servers: replicas.map(r => ({ port: r.ports.http, checkPort: r.ports.http })) },
    ],
  })
  const stop = async () => {
    await haproxy.stop()
    for (const r of replicas) { await stopChild(r.child, 15_000); try { r.logs.close() } catch { /* closed */ } }
  }
  try {
    for (const r of replicas) await waitReady(r, maxWaitMs)
    await sleep(1200) // two health checks (500 ms apart) after the last replica became ready: all in rotation
  } catch (err) {
    await stop()
    throw err
  }
  return { replicas, front, stop, cpu: () => replicas.reduce((s, r) => s + cpuSeconds(r.child.pid), 0) + cpuSeconds(haproxy.child.pid) }
}

/** Part 1: throughput through the balancer, 3 replicas against 1, and database transactions per fetch. */
async function throughputPart ({ dir, postgres, wrk, rounds, maxWaitMs, log }) {
  const clusters = {}
  const out = { tenants: THROUGHPUT_TENANTS, rounds, modes: {} }
  try {
    for (const count of [1, 3]) {
      const db = await postgres.createDatabase()
      const cdir = join(dir, `throughput-${count}`)
      log(`cluster: starting ${count} replica(s) on PostgreSQL behind haproxy (${THROUGHPUT_TENANTS} tenants, internal CA)`)
      const cluster = await startCluster({
        dir: cdir, count, databaseUrl: db.url, maxWaitMs,
        yamlFor: ports => configYaml({ n: THROUGHPUT_TENANTS, ports, storage: join(cdir, 'unused-store') }),
      })
      clusters[count] = { ...cluster, db }
      // One CA for the cluster, kept in the database.
      const ca = (await postgres.query(db.name, "select value from store_entries where key = 'internal-ca/ca.crt'"))[0]?.value?.toString()
      if (!ca) throw new Error('no internal CA in the database')
      const body = expectedPolicy('testing')
      for (let i = 1; i <= THROUGHPUT_TENANTS; i++) {
        for (let k = 0; k < count; k++) {
          const res = await fetchPolicy({ port: cluster.front.https, host: tenantHost(i), ca })
          if (res.status !== 200 || !res.body.equals(body)) throw new Error(`${count} replica(s): ${tenantHost(i)} answered ${res.status} ${JSON.stringify(res.body.toString())}`)
        }
      }
    }
    const hostsFile = join(dir, 'hosts')
    writeFileSync(hostsFile, `127.0.0.1 localhost\n127.0.0.1 ${tenantHost(1)}\n`)
    for (const [mode, close] of [['keep-alive', false], ['new connection', true]]) {
      const runs = { 1: [], 3: [] }
      for (let round = 0; round < rounds; round++) {
        for (const count of round % 2 === 0 ? [1, 3] : [3, 1]) {
          const c = clusters[count]
          const url = `https://${tenantHost(1)}:${c.front.https}${POLICY_PATH}`
          await runWrk({ hostsFile, url, durationS: 1, connections: wrk.connections, threads: wrk.threads, close })
          // An idle window as long as the run: what the replicas do to the database without fetches.
          await sleep(QUIET_MS)
          const idle0 = await postgres.transactions(c.db.name)
          await sleep(wrk.duration_s * 1000)
          await sleep(QUIET_MS)
          const idle1 = await postgres.transactions(c.db.name)
          const cpu0 = c.cpu()
          const t0 = performance.now()
          const r = await runWrk({ hostsFile, url, durationS: wrk.duration_s, connections: wrk.connections, threads: wrk.threads, close })
          const wall = (performance.now() - t0) / 1000
          const cpu = c.cpu() - cpu0
          await sleep(QUIET_MS)
          const busy1 = await postgres.transactions(c.db.name)
          const extra = (busy1 - idle1) - (idle1 - idle0)
          const problems = wrkProblems(r)
          if (problems.length) throw new Error(`${count} replica(s), ${mode}: ${problems.join('; ')}`)
          runs[count].push({ rps: r.rps, p50_ms: r.p50_ms, p99_ms: r.p99_ms, requests: r.requests, server_cpu_pct: (cpu / wall) * 100, db_transactions_idle: idle1 - idle0, db_transactions_busy: busy1 - idle1, db_transactions_per_fetch: Math.max(0, extra) / r.requests })
          log(`cluster: ${mode}, ${count} replica(s), round ${round + 1}: ${Math.round(r.rps)} req/s, ${busy1 - idle1} transactions during the run vs ${idle1 - idle0} idle`)
        }
      }
      const summary = count => ({
        rps: median(runs[count].map(x => x.rps)),
        p50_ms: median(runs[count].map(x => x.p50_ms)),
        p99_ms: median(runs[count].map(x => x.p99_ms)),
        server_cpu_pct: median(runs[count].map(x => x.server_cpu_pct)),
        db_transactions_per_fetch: Math.max(...runs[count].map(x => x.db_transactions_per_fetch)),
        runs: runs[count],
      })
      out.modes[mode] = { one: summary(1), three: summary(3) }
      out.modes[mode].ratio_rps = out.modes[mode].three.rps / out.modes[mode].one.rps
    }
  } finally {
    for (const c of Object.values(clusters)) await c.stop()
  }
  return out
}

/** Part 2: certificates for `tenants` hosts from Pebble validating through haproxy, 3 replicas against 1. */
async function issuancePart ({ dir, postgres, tenants, maxWaitMs, log }) {
  const out = { tenants, runs: {} }
  for (const count of [1, 3]) {
    const rdir = join(dir, `issuance-${count}`)
    mkdirSync(join(rdir, 'pebble'), { recursive: true })
    const front = { https: await freePort(), http: await freePort() }
    const pebble = await startPebble({ dir: join(rdir, 'pebble'), httpPort: front.http, tlsPort: front.https })
    const db = await postgres.createDatabase()
    const domains = Array.from({ length: tenants }, (_, i) => tenantDomain(i + 1))
    const hosts = new Set(domains.map(d => `mta-sts.${d}`))
    let cluster
    try {
      log(`cluster: ${count} replica(s) ordering ${tenants} certificates from Pebble through haproxy`)
      // Pebble is frozen until every replica is ready and in the balancer's rotation, so no validation
      // meets a balancer that cannot route it yet; the clock starts when it goes on.
      process.kill(pebble.pid(), 'SIGSTOP')
      try {
        cluster = await startCluster({
          dir: rdir, count, databaseUrl: db.url, maxWaitMs, fronts: front,
          yamlFor: ports => acmeConfigYaml({ ports, storage: join(rdir, 'unused-store'), directoryUrl: pebble.directoryUrl, caFile: pebble.caFile, domains }),
        })
      } finally {
        process.kill(pebble.pid(), 'SIGCONT')
      }
      const started = performance.now()
      const startedWall = Date.now()
      const obtained = new Map()
      const failures = []
      const orders = new Map()
      const events = []
      const deadline = started + maxWaitMs
      while (obtained.size < hosts.size) {
        for (const [i, r] of cluster.replicas.entries()) {
          for (const line of r.logs.poll()) {
            if (!line.includes('"event":"certificate_') && !line.includes('"event":"acme_')) continue
            const e = JSON.parse(line)
            if (e.event === 'acme_order') orders.set(e.host, [...(orders.get(e.host) ?? []), i])
            if (e.event.startsWith('acme_order_') || e.event === 'certificate_failed') events.push({ replica: i, ...e })
            if (e.event === 'certificate_obtained' && hosts.has(e.host)) obtained.set(e.host, { replica: i, at_ms: Date.parse(e.time) - startedWall, duration_ms: e.duration_ms })
            if (e.event === 'certificate_failed') failures.push(`${e.host}: ${e.error}`)
          }
        }
        if (performance.now() > deadline) throw new Error(`${obtained.size}/${tenants} certificates within ${maxWaitMs / 1000} s; ${failures.slice(-1)[0] ?? ''}`)
        await sleep(20)
      }
      const lastAt = Math.max(...[...obtained.values()].map(o => o.at_ms))
      await sleep(300) // Pebble's log is read asynchronously
      const perReplica = cluster.replicas.map((_, i) => [...obtained.values()].filter(o => o.replica === i).length)
      const root = await pebble.rootPem()
      for (const h of [tenantHost(1), tenantHost(tenants)]) {
        const res = await fetchPolicy({ port: front.https, host: h, ca: root })
        if (res.status !== 200) throw new Error(`${h} through haproxy: ${res.status}`)
      }
      const twice = [...orders].filter(([, by]) => by.length > 1).map(([host, by]) => `${host} by replicas ${by.join(',')}`)
      out.runs[count] = { issuance_ms: lastAt, orders_per_s: tenants / (lastAt / 1000), pebble_orders: pebble.orders(), obtained_per_replica: perReplica, failures: failures.length, ordered_twice: twice, events: events.slice(0, 20) }
      if (pebble.orders() !== tenants) throw new Error(`${count} replica(s): Pebble logged ${pebble.orders()} orders for ${tenants} hosts (${twice.join('; ')}; ${JSON.stringify(events.slice(0, 5))})`)
      log(`cluster: ${count} replica(s): ${tenants} certificates in ${(lastAt / 1000).toFixed(1)} s (per replica ${perReplica.join('/')}), ${pebble.orders()} orders`)
    } finally {
      await cluster?.stop()
      await pebble.close()
    }
  }
  out.ratio_time = out.runs[3].issuance_ms / out.runs[1].issuance_ms
  return out
}

/** The whole cluster part; see the top of this file. */
export async function clusterPhase ({ root, wrk, rounds, tenants, maxWaitMs, log, fail, skip = new Set() }) {
  await ensureClusterTools(log)
  const dir = join(root, 'cluster')
  mkdirSync(dir, { recursive: true })
  const postgres = await startPostgres()
  const out = { postgres_version: await postgres.version(), haproxy_version: (await run('haproxy', ['-v'])).stdout.split('\n')[0].trim() }
  try {
    if (!skip.has('throughput')) {
      try { out.throughput = await throughputPart({ dir, postgres, wrk, rounds, maxWaitMs, log }) } catch (err) { fail('cluster throughput', err) }
    }
    if (!skip.has('issuance')) {
      try { out.issuance = await issuancePart({ dir, postgres, tenants, maxWaitMs, log }) } catch (err) { fail('cluster issuance', err) }
    }
  } finally {
    await postgres.stop()
  }
  return out
}
