// A local ACME CA for the benchmark: Let's Encrypt's Pebble (Debian package
// `pebble`) plus `pebble-challtestsrv` as its DNS server, on loopback ports
// only. A port of test/helpers/pebble.ts to plain ESM on top of proc.mjs, so
// the processes are cleaned up with everything else the bench started.
//
// pebble-challtestsrv answers every A query with 127.0.0.1 (no AAAA), so
// Pebble's validation authority connects to 127.0.0.1:httpPort (HTTP-01) and
// 127.0.0.1:tlsPort (TLS-ALPN-01) for any name: the service under test must
// listen exactly there. Pebble's own HTTPS certificate is made here by a
// throw-away CA (`caPem`); the root Pebble issues from is another one, made
// at every Pebble start (`rootPem()`).
import { writeFileSync } from 'node:fs'
import https from 'node:https'
import { connect } from 'node:net'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { setTimeout as sleep } from 'node:timers/promises'
import { systemClock } from '../../dist/clock.js'
import { MemoryStore } from '../../dist/store/memory-store.js'
import { InternalCa } from '../../dist/tls/internal-ca.js'
import { freePort, run, spawnChild, stopChild } from './proc.mjs'

const READY_TIMEOUT_MS = 10_000
const LOG_LINES_KEPT = 300
const ORDER_LINE = /Added order "[^"]*" to the db/

/** `pebble -version` (first line) or the Debian package version. */
export async function pebbleVersion () {
  const r = await run('dpkg-query', ['-W', '-f', '${Version}', 'pebble'], { timeoutMs: 10_000 }).catch(() => undefined)
  return r?.code === 0 ? r.stdout.trim() : undefined
}

/**
 * Start pebble-challtestsrv and pebble in `dir` (which must exist; the caller
 * removes it) and wait until both answer. `env` is merged over the defaults
 * PEBBLE_VA_NOSLEEP=1, PEBBLE_WFE_NONCEREJECT=0, PEBBLE_AUTHZREUSE=0.
 * Returns { directoryUrl, managementUrl, caPem, caFile, rootPem(), orders(), logs(), close() }.
 */
export async function startPebble ({ dir, httpPort, tlsPort, env = {} }) {
  const logs = []
  let orders = 0
  const children = []
  const log = (prefix, line) => {
    if (prefix === 'pebble' && ORDER_LINE.test(line)) orders++
    logs.push(`${prefix}: ${line}`)
    if (logs.length > LOG_LINES_KEPT) logs.shift()
  }
  const fail = message => new Error(`${message}\n--- last log lines ---\n${logs.slice(-30).join('\n')}`)
  const close = async () => {
    await Promise.all(children.splice(0).map(c => stopChild(c, 3000)))
  }
  try {
    const { caPem, certPem, keyPem } = await makeTlsCertificate()
    const caFile = join(dir, 'pebble-https-ca.pem')
    writeFileSync(caFile, caPem)
    writeFileSync(join(dir, 'cert.pem'), certPem)
    writeFileSync(join(dir, 'key.pem'), keyPem, { mode: 0o600 })
    const agent = new https.Agent({ ca: caPem, keepAlive: false })

    const ports = new Set()
    while (ports.size < 4) ports.add(await freePort())
    const [apiPort, mgmtPort, dnsPort, dnsMgmtPort] = [...ports]
    const configFile = join(dir, 'pebble-config.json')
    writeFileSync(configFile, JSON.stringify({
      pebble: {
        listenAddress: `127.0.0.1:${apiPort}`,
        managementListenAddress: `127.0.0.1:${mgmtPort}`,
        certificate: join(dir, 'cert.pem'),
        privateKey: join(dir, 'key.pem'),
        httpPort,
        tlsPort,
        ocspResponderURL: '',
        externalAccountBindingRequired: false,
      },
    }, null, 2))

    const dns = launch('pebble-challtestsrv', [
      '-dns01', `127.0.0.1:${dnsPort}`,
      '-http01', '', '-https01', '', '-tlsalpn01', '',
      '-management', `127.0.0.1:${dnsMgmtPort}`,
      '-defaultIPv4', '127.0.0.1', '-defaultIPv6', '',
    ], process.env, line => log('challtestsrv', line))
    children.push(dns)
    await waitUntil(() => tcpOpen(dnsPort), dns, 'pebble-challtestsrv', fail)

    const directoryUrl = `https://127.0.0.1:${apiPort}/dir`
    const managementUrl = `https://127.0.0.1:${mgmtPort}`
    const pebble = launch('pebble', ['-config', configFile, '-dnsserver', `127.0.0.1:${dnsPort}`], {
      ...process.env,
      PEBBLE_VA_NOSLEEP: '1',
      PEBBLE_WFE_NONCEREJECT: '0',
      PEBBLE_AUTHZREUSE: '0',
      ...env,
    }, line => log('pebble', line))
    children.push(pebble)
    await waitUntil(async () => (await get(directoryUrl, agent)).status === 200, pebble, 'pebble', fail)

    return {
      directoryUrl,
      managementUrl,
      caPem,
      caFile,
      pid: () => pebble.pid,
      async rootPem () {
        const res = await get(`${managementUrl}/roots/0`, agent)
        if (res.status !== 200) throw fail(`GET ${managementUrl}/roots/0: HTTP ${res.status}`)
        return res.body
      },
      orders: () => orders,
      logs: () => [...logs],
      close,
    }
  } catch (err) {
    await close()
    throw err
  }
}

function launch (cmd, args, env, onLine) {
  const child = spawnChild(cmd, args, { env, stdout: 'pipe', stderr: 'pipe' })
  child.once('error', err => onLine(`spawn error: ${err.message}`))
  for (const stream of [child.stdout, child.stderr]) createInterface({ input: stream }).on('line', onLine)
  return child
}

async function waitUntil (ready, child, what, fail) {
  const deadline = performance.now() + READY_TIMEOUT_MS
  for (;;) {
    if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) throw fail(`${what} exited before it was ready`)
    if (await ready().catch(() => false)) return
    if (performance.now() > deadline) throw fail(`${what} not ready after ${READY_TIMEOUT_MS} ms`)
    await sleep(50)
  }
}

function tcpOpen (port) {
  return new Promise(resolve => {
    const socket = connect({ host: '127.0.0.1', port })
    socket.setTimeout(1000)
    socket.once('connect', () => { socket.destroy(); resolve(true) })
    socket.once('timeout', () => { socket.destroy(); resolve(false) })
    socket.once('error', () => resolve(false))
  })
}

function get (url, agent) {
  return new Promise((resolve, reject) => {
    const req = https.request(url, { agent, timeout: 2000 }, res => {
      const chunks = []
      res.on('data', c => chunks.push(c))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }))
      res.on('error', reject)
    })
    req.on('timeout', () => req.destroy(new Error(`GET ${url} timed out`)))
    req.on('error', reject)
    req.end()
  })
}

/** A throw-away CA and a certificate for localhost / 127.0.0.1 signed by it (the service's internal CA, built, in memory). */
async function makeTlsCertificate () {
  const ca = await InternalCa.open({ store: new MemoryStore(), clock: systemClock, leafLifetime: 86400 })
  return { caPem: ca.caPem, ...await ca.issue(['localhost', '127.0.0.1']) }
}
