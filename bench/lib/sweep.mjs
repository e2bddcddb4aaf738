// Sweep part of the benchmark (issue 13, point 3): N tenants (default 100,000), each with
// its own certificate from the internal CA already in the FileStore. The service starts on
// that store; measured: spawn until GET /readyz is 200, VmRSS (sampled through the sweep),
// and a sweep that fetches every tenant's policy once over a new TLS connection, 16 at a
// time, every answer checked (200, the exact body, the chain verified against the CA and
// the name against the tenant host). Each handshake is timed from tls.connect to
// `secureConnect` (TCP connect included): with N far above `certificates.context_cache`,
// every handshake of the sweep is one whose context is cold.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import https from 'node:https'
import tls from 'node:tls'
import { join } from 'node:path'
import { freePort, loadAverage, stopChild } from './proc.mjs'
import { configYaml, expectedPolicy, POLICY_PATH, spawnService, tenantHost, waitReady } from './service.mjs'
import { preparedStore } from './sweep-store.mjs'

/** The goals of issue 13, point 3. */
export const SWEEP_GOALS = Object.freeze({ ready_ms: 5000, rss_max_mb: 600, handshake_p99_ms: 10 })
const RSS_SAMPLE_MS = 50
/** Limit for the cold/warm handshakes one at a time, after the sweep. */
const PROBE_MAX_MS = 180_000

const quantile = (sorted, q) => sorted.length === 0 ? undefined : sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]

/** GET the policy of `host` over a new TLS connection, verified with `trust`; resolves with the status, body and handshake time. */
function fetchTimed ({ port, host, trust, timeoutMs }) {
  return new Promise((resolve, reject) => {
    const started = performance.now()
    let handshakeMs
    const req = https.get({ host: '127.0.0.1', port, path: POLICY_PATH, servername: host, headers: { host }, secureContext: trust, agent: false, timeout: timeoutMs }, res => {
      const chunks = []
      res.on('data', c => chunks.push(c))
      res.on('end', () => resolve({ status: res.statusCode, body: Buffer.concat(chunks), handshakeMs }))
      res.on('error', reject)
    })
    req.on('socket', socket => socket.once('secureConnect', () => { handshakeMs = performance.now() - started }))
    req.on('timeout', () => req.destroy(new Error(`fetch ${host}: timeout`)))
    req.on('error', reject)
  })
}

/** One TLS handshake with `host` (chain and name verified with `trust`), timed from tls.connect to `secureConnect`. */
function handshake ({ port, host, trust, timeoutMs }) {
  return new Promise((resolve, reject) => {
    const started = performance.now()
    const socket = tls.connect({ host: '127.0.0.1', port, servername: host, secureContext: trust, ALPNProtocols: ['http/1.1'] }, () => {
      const ms = performance.now() - started
      socket.destroy()
      resolve(ms)
    })
    socket.setTimeout(timeoutMs, () => socket.destroy(new Error(`handshake ${host}: timeout`)))
    socket.on('error', reject)
  })
}

/** p50, p90, p99 and max of `values` (sorted here). */
function summary (values) {
  const sorted = [...values].sort((a, b) => a - b)
  return { count: sorted.length, p50: quantile(sorted, 0.5), p90: quantile(sorted, 0.9), p99: quantile(sorted, 0.99), max: sorted.at(-1) }
}

/**
 * Run the sweep part in `root`: `tenants` tenants, `concurrency` fetches at a time, the sweep
 * bounded by `maxWaitMs` (as is the start-up). Returns the measurements beside their goals.
 */
export async function sweepPhase ({ root, tenants, concurrency = 16, probes = 1000, maxWaitMs, log, fail }) {
  const dir = join(root, `sweep-${tenants}`)
  const storage = join(dir, 'storage')
  const out = { tenants, concurrency, goals: SWEEP_GOALS, loadavg_before: loadAverage() }
  mkdirSync(dir, { recursive: true })
  Object.assign(out, await preparedStore({ n: tenants, host: tenantHost, runDir: storage, log }))
  const ports = { https: await freePort(), http: await freePort(), ops: await freePort() }
  const configFile = join(dir, 'config.yaml')
  writeFileSync(configFile, configYaml({ n: tenants, ports, storage }))
  out.context_cache = 'default (certificates.context_cache)'
  log(`sweep: starting the service with ${tenants} tenants, each with a stored certificate`)
  const svc = { ...spawnService({ dir, configFile, storage }), ports }
  let peak = 0
  const sample = () => { const kib = svc.rss(); if (kib !== undefined && kib > peak) peak = kib }
  const sampler = setInterval(sample, RSS_SAMPLE_MS)
  try {
    const readyAt = await waitReady(svc, maxWaitMs)
    out.ready_ms = readyAt - svc.spawnedAt
    out.rss_ready_kib = svc.rss()
    // Built once, as a sending MTA keeps its trust store: passing `ca` on each connection made the client
    // parse the CA again every time (client CPU on the same two cores; the sweep then ran out of time).
    const trust = tls.createSecureContext({ ca: readFileSync(svc.caFile) })
    const body = expectedPolicy('testing')
    const handshakes = []
    const errors = []
    const deadline = performance.now() + maxWaitMs
    let next = 1
    const t0 = performance.now()
    log(`sweep: ready after ${Math.round(out.ready_ms)} ms; fetching each of ${tenants} tenants once, ${concurrency} at a time`)
    await Promise.all(Array.from({ length: concurrency }, async () => {
      while (next <= tenants && errors.length < 10 && performance.now() < deadline) {
        const host = tenantHost(next++)
        try {
          const res = await fetchTimed({ port: ports.https, host, trust, timeoutMs: 30_000 })
          if (res.status !== 200) throw new Error(`status ${res.status}`)
          if (!res.body.equals(body)) throw new Error(`body differs from the expected policy: ${JSON.stringify(res.body.toString('latin1'))}`)
          handshakes.push(res.handshakeMs)
        } catch (err) {
          errors.push(`${host}: ${err.message}`)
        }
      }
    }))
    out.sweep_ms = performance.now() - t0
    sample()
    out.rss_after_kib = svc.rss()
    out.fetched = handshakes.length
    out.errors = errors
    if (errors.length > 0) fail('sweep', `${errors.length} failed fetch(es), the first: ${errors[0]}`)
    if (handshakes.length < tenants && errors.length === 0) fail('sweep', `only ${handshakes.length} of ${tenants} tenants fetched within ${Math.round(maxWaitMs / 1000)} s`)
    out.sweep_handshake_ms = summary(handshakes)
    // Tenants swept first: more than the context cache's 1,000 (default) were handshaken since.
    const cold = []
    const warm = []
    const count = Math.min(probes, Math.floor(tenants / 2))
    log(`sweep: ${count} cold handshakes one at a time, each followed by a warm one`)
    const probeDeadline = performance.now() + PROBE_MAX_MS
    for (let i = 1; i <= count && performance.now() < probeDeadline; i++) {
      cold.push(await handshake({ port: ports.https, host: tenantHost(i), trust, timeoutMs: 30_000 }))
      warm.push(await handshake({ port: ports.https, host: tenantHost(i), trust, timeoutMs: 30_000 }))
    }
    sample()
    out.rss_max_kib = peak
    out.handshake_ms = summary(cold)
    out.warm_handshake_ms = summary(warm)
    const mb = kib => kib * 1024 / 1e6
    out.pass = {
      ready: out.ready_ms < SWEEP_GOALS.ready_ms,
      rss: mb(out.rss_max_kib) < SWEEP_GOALS.rss_max_mb,
      handshake_p99: out.handshake_ms.p99 < SWEEP_GOALS.handshake_p99_ms,
    }
    if (svc.child.exitCode !== null) throw new Error('the service exited during the sweep')
    return out
  } catch (err) {
    out.rss_at_failure_kib = svc.rss()
    throw Object.assign(err, { partial: out })
  } finally {
    clearInterval(sampler)
    out.loadavg_after = loadAverage()
    await stopChild(svc.child, 15_000)
    svc.logs.close()
  }
}
