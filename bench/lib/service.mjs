// The service under test: configuration generation, spawning, readiness,
// log events (stdout goes to a file the bench reads back), direct fetches.
import { closeSync, openSync, readFileSync, readSync, writeFileSync, mkdirSync } from 'node:fs'
import http from 'node:http'
import https from 'node:https'
import tls from 'node:tls'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { fileURLToPath } from 'node:url'
import { freePort, rssKiB, spawnChild } from './proc.mjs'
import { SERVING_NODE_FLAG } from '../../dist/heap-settings.js'

export const MAIN = fileURLToPath(new URL('../../dist/main.js', import.meta.url))
export const POLICY_PATH = '/.well-known/mta-sts.txt'
export const DEFAULT_MX = ['mx1.bench.example', '*.mx.bench.example']
export const MAX_AGE = 604800

export const tenantDomain = i => `t${i}.bench.example`
export const tenantHost = i => `mta-sts.${tenantDomain(i)}`

/**
 * Configuration text every benchmark shares: loopback listeners on `ports`, the given
 * `certificates` lines, default policy fields, the set-up monitor off (it would look the
 * made-up tenant domains up in real DNS), and the `tenants` lines.
 */
export function serviceYaml ({ ports, certificates, tenants, extra = [] }) {
  return [
    'listen:',
    `  https: { host: "127.0.0.1", port: ${ports.https} }`,
    `  http: { host: "127.0.0.1", port: ${ports.http} }`,
    `  ops: { host: "127.0.0.1", port: ${ports.ops} }`,
    'log:',
    '  level: info',
    'certificates:',
    ...certificates,
    'defaults:',
    '  mode: testing',
    `  max_age: ${MAX_AGE}`,
    `  mx: [${DEFAULT_MX.map(m => JSON.stringify(m)).join(', ')}]`,
    'check:',
    '  monitor: { interval: 0 }',
    ...extra,
    'tenants:',
    ...tenants,
    '',
  ].join('\n')
}

/**
 * The configuration of a scale or throughput run: `n` tenants with the internal CA, all on the
 * defaults except those in `modes` (index -> mode).
 */
export function configYaml ({ n, ports, storage, modes = {}, extra = [] }) {
  const tenants = []
  for (let i = 1; i <= n; i++) tenants.push(modes[i] ? `  ${tenantDomain(i)}: { mode: ${modes[i]} }` : `  ${tenantDomain(i)}:`)
  return serviceYaml({ ports, certificates: ['  issuer: internal', `  storage: ${JSON.stringify(storage)}`], tenants, extra })
}

/** The policy body RFC 8461 and the service's renderer prescribe, computed independently. */
export function expectedPolicy (mode = 'testing') {
  return Buffer.from(['version: STSv1', `mode: ${mode}`, ...DEFAULT_MX.map(m => `mx: ${m}`), `max_age: ${MAX_AGE}`].join('\r\n') + '\r\n', 'ascii')
}

/** Reads the service's JSON log lines back from its stdout file. */
export class LogFollower {
  #fd
  #offset = 0
  #partial = ''
  #buf = Buffer.alloc(1 << 20)

  constructor (file) {
    this.file = file
    this.#fd = openSync(file, 'r')
  }

  /** New complete lines since the last call. */
  poll () {
    const lines = []
    for (;;) {
      const n = readSync(this.#fd, this.#buf, 0, this.#buf.length, this.#offset)
      if (n <= 0) break
      this.#offset += n
      const text = this.#partial + this.#buf.toString('utf8', 0, n)
      const parts = text.split('\n')
      this.#partial = parts.pop()
      lines.push(...parts)
    }
    return lines
  }

  /** Skip everything logged so far. */
  skip () { this.poll() }

  /**
   * Wait for a JSON line whose `event` is `event` and that satisfies `pred`.
   * Polls every `intervalMs`; returns {entry, at} (performance.now() when seen) or throws.
   */
  async waitFor (event, { pred = () => true, timeoutMs, intervalMs = 2, child } = {}) {
    const deadline = performance.now() + timeoutMs
    const needle = `"event":"${event}"`
    for (;;) {
      for (const line of this.poll()) {
        if (!line.includes(needle)) continue
        let entry
        try { entry = JSON.parse(line) } catch { continue }
        if (entry.event === event && pred(entry)) return { entry, at: performance.now() }
      }
      if (child && (child.exitCode !== null || child.signalCode !== null)) throw new Error(`service exited (${child.exitCode ?? child.signalCode}) while waiting for "${event}"`)
      if (performance.now() > deadline) throw new Error(`no "${event}" log event within ${Math.round(timeoutMs / 1000)} s`)
      await sleep(intervalMs)
    }
  }

  close () { closeSync(this.#fd) }
}

/**
 * Write the configuration for `n` tenants in `dir` and spawn the service.
 * Returns handles and `spawnedAt` (performance.now()).
 */
export async function startService ({ dir, n, modes, extra, args = [] }) {
  mkdirSync(dir, { recursive: true })
  const ports = { https: await freePort(), http: await freePort(), ops: await freePort() }
  const storage = join(dir, 'storage')
  const configFile = join(dir, 'config.yaml')
  writeFileSync(configFile, configYaml({ n, ports, storage, modes, extra }))
  return { ...spawnService({ dir, configFile, storage, args }), n, ports }
}

/**
 * Spawn the service on an existing `configFile` (whose certificate store is
 * `storage`), stdout/stderr to files in `dir`. Returns handles and `spawnedAt` (performance.now()).
 */
export function spawnService ({ dir, configFile, storage, args = [] }) {
  mkdirSync(dir, { recursive: true })
  const stdoutFile = join(dir, 'service.stdout.jsonl')
  const stderrFile = join(dir, 'service.stderr.log')
  const out = openSync(stdoutFile, 'w')
  const err = openSync(stderrFile, 'w')
  const spawnedAt = performance.now()
  // Started as the Dockerfile's ENTRYPOINT and `npm start` start it (SERVING_NODE_FLAG, src/heap-settings.ts).
  // BENCH_SERVICE_NODE_ARGS adds node flags to the service (e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof"); a later flag wins.
  const nodeArgs = [SERVING_NODE_FLAG, ...(process.env.BENCH_SERVICE_NODE_ARGS ?? '').split(/\s+/).filter(Boolean)]
  const child = spawnChild(process.execPath, [...nodeArgs, MAIN, 'serve', '--config', configFile, ...args], { stdout: out, stderr: err })
  closeSync(out)
  closeSync(err)
  const logs = new LogFollower(stdoutFile)
  return {
    child, dir, configFile, storage, logs, spawnedAt, stderrFile,
    caFile: join(storage, 'internal-ca', 'ca.crt'),
    bundleFile: host => join(storage, 'certificates', 'internal', `${host}.pem`),
    rss: () => rssKiB(child.pid),
    stderrTail: () => { try { return readFileSync(stderrFile, 'utf8').slice(-2000) } catch { return '' } },
  }
}

/** Poll GET /readyz until 200; returns performance.now() of the first 200. */
export async function waitReady (svc, timeoutMs, intervalMs = 10) {
  const deadline = performance.now() + timeoutMs
  for (;;) {
    const status = await new Promise(resolve => {
      const req = http.get({ host: '127.0.0.1', port: svc.ports.http, path: '/readyz', agent: false, timeout: 2000 }, res => {
        res.resume()
        res.on('end', () => resolve(res.statusCode))
      })
      req.on('timeout', () => req.destroy(new Error('timeout')))
      req.on('error', () => resolve(0))
    })
    if (status === 200) return performance.now()
    if (svc.child.exitCode !== null || svc.child.signalCode !== null) {
      throw new Error(`service exited (${svc.child.exitCode ?? svc.child.signalCode}) before ready: ${svc.stderrTail()}`)
    }
    if (performance.now() > deadline) throw new Error(`service not ready within ${Math.round(timeoutMs / 1000)} s (last /readyz status ${status || 'no answer'})`)
    await sleep(intervalMs)
  }
}

/** GET the policy of `host` over a new TLS connection (SNI and Host = `host`), trusting `ca`. */
export function fetchPolicy ({ port, host, ca, timeoutMs = 30_000 }) {
  return new Promise((resolve, reject) => {
    const req = https.get({
      host: '127.0.0.1', port, path: POLICY_PATH, servername: host, headers: { host }, ca, agent: false, timeout: timeoutMs,
    }, res => {
      const chunks = []
      res.on('data', c => chunks.push(c))
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks) }))
      res.on('error', reject)
    })
    req.on('timeout', () => req.destroy(new Error(`fetch ${host}: timeout`)))
    req.on('error', reject)
  })
}

/** Split the service's stored bundle (private key, then chain) into key and chain PEM. */
export function splitBundle (pem) {
  const blocks = pem.match(/-----BEGIN ([A-Z ]+)-----[\s\S]+?-----END \1-----/g) ?? []
  const key = blocks.filter(b => /^-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(b))
  const certs = blocks.filter(b => b.startsWith('-----BEGIN CERTIFICATE-----'))
  if (key.length !== 1 || certs.length < 1) throw new Error(`unexpected certificate bundle: ${key.length} key(s), ${certs.length} certificate(s)`)
  return { keyPem: key[0] + '\n', chainPem: certs.join('\n') + '\n' }
}

/** What a default client negotiates with the server at `port` for `host`: protocol, cipher, key exchange, certificate key. */
export function tlsParameters ({ port, host, ca }) {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host: '127.0.0.1', port, servername: host, ca, ALPNProtocols: ['http/1.1'] }, () => {
      const peer = socket.getPeerCertificate()
      const kx = socket.getEphemeralKeyInfo()
      resolve({
        protocol: socket.getProtocol(),
        cipher: socket.getCipher()?.standardName,
        key_exchange: kx?.name ?? kx?.type,
        certificate_key: peer.asn1Curve ? `EC ${peer.asn1Curve}` : `${peer.bits}-bit`,
        alpn: socket.alpnProtocol || null,
      })
      socket.end()
    })
    socket.setTimeout(10_000, () => socket.destroy(new Error(`TLS to ${host}:${port}: timeout`)))
    socket.on('error', reject)
  })
}
