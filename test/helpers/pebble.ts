/**
 * A real, local ACME CA for tests: Let's Encrypt's Pebble (Debian package
 * `pebble`, 2.4) plus `pebble-challtestsrv` as its DNS server, on loopback
 * ports only. `pebble-challtestsrv` answers every A query with 127.0.0.1 and
 * no AAAA, so Pebble's validation authority connects to 127.0.0.1:httpPort
 * (HTTP-01) or 127.0.0.1:tlsPort (TLS-ALPN-01) for any name, where the
 * service under test listens.
 *
 * Pebble's own HTTPS certificate is made here by a throw-away CA
 * ({@link Pebble.caPem}); the issuing root Pebble signs certificates with is a
 * different one, regenerated at every Pebble start ({@link Pebble.rootPem}).
 */
import { type ChildProcess } from 'node:child_process'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { request as httpsRequest, Agent } from 'node:https'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import acme from 'acme-client'
import { systemClock } from '../../src/clock.js'
import { MemoryStore } from '../../src/store/memory-store.js'
import { InternalCa } from '../../src/tls/internal-ca.js'
import { dead, distinctFreePorts, launch, stopProcess as kill, tcpOpen, waitUntil } from './server-process.js'

export { freePort } from './server-process.js'

/** Minimal tap-like teardown registration, so the helper works with any (sub)test. */
interface Teardown {
  teardown (fn: () => unknown): void
}

/** Options of {@link startPebble}. */
export interface PebbleOptions {
  /** Port where Pebble's VA connects for HTTP-01; the service under test listens there on 127.0.0.1. */
  httpPort: number
  /** Port where Pebble's VA connects for TLS-ALPN-01; the service under test listens there on 127.0.0.1. */
  tlsPort: number
  /** Lifetime of issued certificates in seconds (Pebble config `certificateValidityPeriod`); Pebble's default is 5 years. */
  certificateValidityPeriod?: number
  /** External account binding keys, kid -> base64url HMAC key; when given, Pebble requires EAB on new accounts. */
  eab?: Record<string, string>
  /**
   * Extra environment for Pebble, merged over the defaults
   * `PEBBLE_VA_NOSLEEP=1` (validate at once), `PEBBLE_WFE_NONCEREJECT=0`
   * (never reject good nonces) and `PEBBLE_AUTHZREUSE=0` (every order gets
   * fresh authorizations, so each one needs a challenge).
   */
  env?: Record<string, string>
}

/** A running Pebble, see {@link startPebble}. */
export interface Pebble {
  /** ACME directory, `https://127.0.0.1:<port>/dir`; the same across {@link Pebble.stop}/{@link Pebble.start}. */
  directoryUrl: string
  /** PEM of the CA that signed Pebble's own HTTPS certificate (API and management), for clients to trust. */
  caPem: string
  /** Pebble's management interface, `https://127.0.0.1:<port>` (HTTPS, same certificate as the API). */
  managementUrl: string
  /** The current issuing root (`GET <management>/roots/0`); Pebble makes a new one at every start. */
  rootPem (): Promise<string>
  /** Stop Pebble only (the DNS server keeps running), e.g. to simulate the CA being down. Idempotent. */
  stop (): Promise<void>
  /** Start Pebble again on the same ports, with a fresh state: new roots, no accounts, no orders. */
  start (): Promise<void>
  /** Freeze Pebble (SIGSTOP): requests to it wait, nothing it has accepted moves on, until {@link Pebble.resume}. */
  pause (): void
  /** Let a paused Pebble go on (SIGCONT). */
  resume (): void
  /** Stop Pebble and the DNS server and remove the temp dir. Idempotent; also run by `t.teardown`. */
  close (): Promise<void>
  /**
   * Number of orders Pebble created since {@link startPebble}, over all
   * starts: the count of `Added order "..." to the db` lines it logged.
   * Pebble logs that line before it answers the new-order request, but the
   * log is read asynchronously: read the count after a later round trip
   * (e.g. when acme-client's `auto()` has returned), not in the same tick as
   * the new-order response.
   */
  orders (): number
  /** The last lines Pebble and the DNS server printed, prefixed `pebble:` / `challtestsrv:`, for debugging. */
  logs (): string[]
}

const LOG_LINES_KEPT = 200
const ORDER_LINE = /Added order "[^"]*" to the db/

/**
 * Start `pebble-challtestsrv` (DNS) and `pebble` on free loopback ports, with
 * a fresh TLS certificate in a temp dir, and wait (at most 10 s each) until
 * both answer. Everything is stopped and removed by `t.teardown`.
 */
export async function startPebble (t: Teardown, opts: PebbleOptions): Promise<Pebble> {
  const dir = await mkdtemp(join(tmpdir(), 'pebble-'))
  const logs: string[] = []
  let orders = 0
  let closed = false
  let pebble: ChildProcess | undefined
  let dns: ChildProcess | undefined

  const log = (prefix: string, line: string): void => {
    if (prefix === 'pebble' && ORDER_LINE.test(line)) orders++
    logs.push(`${prefix}: ${line}`)
    if (logs.length > LOG_LINES_KEPT) logs.shift()
  }
  const fail = (message: string): Error =>
    new Error(`${message}\n--- last log lines ---\n${logs.slice(-30).join('\n')}`)

  const close = async (): Promise<void> => {
    if (closed) return
    closed = true
    await Promise.all([kill(pebble), kill(dns)])
    pebble = dns = undefined
    await rm(dir, { recursive: true, force: true })
  }
  t.teardown(close)

  try {
    const { caPem, certPem, keyPem } = await makeTlsCertificate()
    await writeFile(join(dir, 'cert.pem'), certPem)
    await writeFile(join(dir, 'key.pem'), keyPem, { mode: 0o600 })
    const agent = new Agent({ ca: caPem, keepAlive: false })

    const [apiPort, mgmtPort, dnsPort, dnsMgmtPort] = await distinctFreePorts(4) as [number, number, number, number]
    const config = {
      pebble: {
        listenAddress: `127.0.0.1:${apiPort}`,
        managementListenAddress: `127.0.0.1:${mgmtPort}`,
        certificate: join(dir, 'cert.pem'),
        privateKey: join(dir, 'key.pem'),
        httpPort: opts.httpPort,
        tlsPort: opts.tlsPort,
        ocspResponderURL: '',
        externalAccountBindingRequired: opts.eab !== undefined,
        externalAccountMACKeys: opts.eab ?? {},
        ...(opts.certificateValidityPeriod !== undefined
          ? { certificateValidityPeriod: opts.certificateValidityPeriod }
          : {}),
      },
    }
    const configFile = join(dir, 'pebble-config.json')
    await writeFile(configFile, JSON.stringify(config, null, 2))

    dns = launch('pebble-challtestsrv', [
      '-dns01', `127.0.0.1:${dnsPort}`,
      '-http01', '', '-https01', '', '-tlsalpn01', '',
      '-management', `127.0.0.1:${dnsMgmtPort}`,
      '-defaultIPv4', '127.0.0.1', '-defaultIPv6', '',
    ], process.env, line => { log('challtestsrv', line) })
    const dnsChild = dns
    await waitUntil(() => tcpOpen(dnsPort), () => dead(dnsChild), 'pebble-challtestsrv', fail)

    const directoryUrl = `https://127.0.0.1:${apiPort}/dir`
    const managementUrl = `https://127.0.0.1:${mgmtPort}`
    const env = {
      ...process.env,
      PEBBLE_VA_NOSLEEP: '1',
      PEBBLE_WFE_NONCEREJECT: '0',
      PEBBLE_AUTHZREUSE: '0',
      ...opts.env,
    }

    const start = async (): Promise<void> => {
      if (closed) throw new Error('pebble harness is closed')
      if (pebble !== undefined) return
      const child = launch('pebble', ['-config', configFile, '-dnsserver', `127.0.0.1:${dnsPort}`], env,
        line => { log('pebble', line) })
      pebble = child
      try {
        await waitUntil(async () => (await get(directoryUrl, agent)).status === 200,
          () => dead(child), 'pebble', fail)
      } catch (err) {
        await kill(child)
        if (pebble === child) pebble = undefined
        throw err
      }
    }
    const stop = async (): Promise<void> => {
      const child = pebble
      pebble = undefined
      await kill(child)
    }

    await start()
    return {
      directoryUrl,
      caPem,
      managementUrl,
      async rootPem () {
        const res = await get(`${managementUrl}/roots/0`, agent)
        if (res.status !== 200) throw fail(`GET ${managementUrl}/roots/0: HTTP ${res.status}`)
        return res.body
      },
      stop,
      start,
      pause: () => { pebble?.kill('SIGSTOP') },
      resume: () => { pebble?.kill('SIGCONT') },
      close,
      orders: () => orders,
      logs: () => [...logs],
    }
  } catch (err) {
    await close()
    throw err
  }
}

/**
 * Make acme-client trust {@link Pebble.caPem} for requests to this Pebble
 * only: a request interceptor on acme-client's shared axios instance sets an
 * `https.Agent` with that CA for URLs under the Pebble's origin, so other
 * hosts keep the default trust store. The interceptor is removed by
 * `t.teardown`.
 */
export function trustPebbleInAcmeClient (t: Teardown, pebble: Pick<Pebble, 'directoryUrl' | 'caPem'>): void {
  const origin = new URL(pebble.directoryUrl).origin
  const agent = new Agent({ ca: pebble.caPem, keepAlive: false })
  const id = acme.axios.interceptors.request.use(config => {
    if (config.url !== undefined && new URL(config.url, config.baseURL).origin === origin) {
      config.httpsAgent = agent
    }
    return config
  })
  t.teardown(() => { acme.axios.interceptors.request.eject(id); agent.destroy() })
}

async function get (url: string, agent: Agent): Promise<{ status: number, body: string }> {
  return await new Promise((resolve, reject) => {
    const req = httpsRequest(url, { agent, timeout: 2000 }, res => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('end', () => { resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }) })
      res.on('error', reject)
    })
    req.on('timeout', () => req.destroy(new Error(`GET ${url} timed out`)))
    req.on('error', reject)
    req.end()
  })
}

/** A throw-away CA and a certificate for localhost / 127.0.0.1 signed by it (the project's internal CA, in memory). */
async function makeTlsCertificate (): Promise<{ caPem: string, certPem: string, keyPem: string }> {
  const ca = await InternalCa.open({ store: new MemoryStore(), clock: systemClock, leafLifetime: 86400 })
  return { caPem: ca.caPem, ...await ca.issue(['localhost', '127.0.0.1']) }
}
