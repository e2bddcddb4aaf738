import { mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises'
import { request as httpsRequest, type Agent } from 'node:https'
import { request as httpRequest } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { PassThrough } from 'node:stream'
import type { PeerCertificate, TLSSocket } from 'node:tls'
import { systemClock } from '../../src/clock.js'
import { parseConfig } from '../../src/config/load-config.js'
import { createLogger } from '../../src/log.js'
import { openSqliteReportStore } from '../../src/db/open-sqlite-report-store.js'
import { createService, type ListenAddresses, type Service, type ServiceDeps } from '../../src/service.js'

/** Minimal tap-like teardown registration, so helpers work with any subtest. */
interface Teardown {
  teardown (fn: () => unknown): void
}

/** A response read off a real socket. */
export interface FetchResult {
  status: number
  headers: Record<string, string | string[] | undefined>
  body: Buffer
  tlsVersion: string | null
  peer: PeerCertificate | null
}

/** A temp directory with a configuration file in it. */
export async function tempDir (t: Teardown, prefix = 'mta-sts-test-'): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  return dir
}

/** The listen/certificates preamble every test config shares: loopback, free ports, internal CA in `dir`. */
export function preamble (dir: string, issuer = 'internal'): string {
  return [
    'listen:',
    '  https: { host: "127.0.0.1", port: 0 }',
    '  http: { host: "127.0.0.1", port: 0 }',
    '  ops: { host: "127.0.0.1", port: 0 }',
    // The set-up monitor would look up the test domains in real DNS: off unless a test turns it on.
    'check:',
    '  monitor: { interval: 0 }',
    'certificates:',
    `  issuer: ${issuer}`,
    `  storage: ${JSON.stringify(join(dir, 'store'))}`,
    '',
  ].join('\n')
}

/** Replace a file the way editors do: write a temp file, then rename over. */
export async function replaceFile (path: string, text: string): Promise<void> {
  const tmp = `${path}.swp`
  await writeFile(tmp, text)
  await rename(tmp, path)
}

/** A running service on loopback with its logs captured as parsed JSON lines. */
export interface Harness {
  service: Service
  addresses: ListenAddresses
  dir: string
  configFile: string
  caPem: string
  logs: Record<string, unknown>[]
  /** HTTPS request to the policy listener with SNI and Host `host`. */
  fetch (host: string, opts?: FetchOptions): Promise<FetchResult>
  /** Plain HTTP request to the `http` or `ops` listener. */
  get (listener: 'http' | 'ops', path: string, opts?: { method?: string; host?: string; headers?: Record<string, string> }): Promise<FetchResult>
  /** Resolve when a log line matching `match` appears (or reject after `ms`). */
  waitForLog (match: (line: Record<string, unknown>) => boolean, ms?: number): Promise<Record<string, unknown>>
}

/** Options of {@link Harness.fetch}. */
export interface FetchOptions {
  path?: string
  method?: string
  servername?: string | false
  hostHeader?: string
  headers?: Record<string, string>
  agent?: Agent | false
  minVersion?: 'TLSv1' | 'TLSv1.1' | 'TLSv1.2' | 'TLSv1.3'
  maxVersion?: 'TLSv1' | 'TLSv1.1' | 'TLSv1.2' | 'TLSv1.3'
  /** OpenSSL cipher string (`DEFAULT@SECLEVEL=0` lets this client offer TLS 1.0/1.1). */
  ciphers?: string
  ca?: string
  /** Request body (POST). */
  body?: Buffer
}

/** Write `yaml` (after the loopback preamble unless `raw`) and start a service on it. */
export async function startService (t: Teardown, yaml: string, opts: { raw?: boolean; deps?: Partial<ServiceDeps>; issuer?: string } = {}): Promise<Harness> {
  const dir = await tempDir(t)
  const configFile = join(dir, 'config.yaml')
  const text = opts.raw ? (yaml.includes('\ncheck:') ? yaml : `${yaml.trimEnd()}\ncheck:\n  monitor: { interval: 0 }\n`) : preamble(dir, opts.issuer) + yaml
  await writeFile(configFile, text)
  const result = parseConfig(await readFile(configFile, 'utf8'), configFile)
  if (!result.ok) throw new Error(`test config invalid: ${JSON.stringify(result.errors)}`)
  const logs: Record<string, unknown>[] = []
  const waiters: { match: (l: Record<string, unknown>) => boolean; resolve: (l: Record<string, unknown>) => void }[] = []
  const stream = new PassThrough()
  let pending = ''
  stream.on('data', (chunk: Buffer) => {
    pending += chunk.toString('utf8')
    let nl: number
    while ((nl = pending.indexOf('\n')) !== -1) {
      const line = JSON.parse(pending.slice(0, nl)) as Record<string, unknown>
      pending = pending.slice(nl + 1)
      logs.push(line)
      for (const w of [...waiters]) {
        if (w.match(line)) {
          waiters.splice(waiters.indexOf(w), 1)
          w.resolve(line)
        }
      }
    }
  })
  const logger = createLogger('debug', stream)
  // The report database on this thread, in memory: a worker per test service would pay the
  // TypeScript loader's start in every test. Its own tests (and the CLI child tests) use the worker.
  const { reports } = result.config
  // With `database` (PostgreSQL) the service opens its own report database there.
  const reportStore = opts.deps?.reportStore ?? (reports.enabled && result.config.database === undefined ? await openSqliteReportStore(':memory:', { ...reports, clock: opts.deps?.clock ?? systemClock }) : undefined)
  const service = await createService(result.config, { logger, ...opts.deps, ...(reportStore === undefined ? {} : { reportStore }) })
  const addresses = await service.listen()
  t.teardown(() => service.close())
  const caPem = service.issuer.caCertificatePem?.() ?? ''

  const harness: Harness = {
    service,
    addresses,
    dir,
    configFile,
    caPem,
    logs,
    fetch: (host, o = {}) => httpsFetch(addresses.https.port, host, { ca: caPem, ...o }),
    get: (listener, path, o = {}) => new Promise((resolve, reject) => {
      const req = httpRequest({ host: '127.0.0.1', port: addresses[listener].port, path, method: o.method ?? 'GET', headers: { ...o.headers, ...(o.host ? { host: o.host } : {}) }, agent: false }, res => {
        const chunks: Buffer[] = []
        res.on('data', (c: Buffer) => chunks.push(c))
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks), tlsVersion: null, peer: null }))
      })
      req.on('error', reject)
      req.end()
    }),
    waitForLog: (match, ms = 20_000) => {
      const found = logs.find(match)
      if (found) return Promise.resolve(found)
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('log line not seen in time')), ms)
        waiters.push({ match, resolve: line => { clearTimeout(timer); resolve(line) } })
      })
    },
  }
  return harness
}

/** One HTTPS request to 127.0.0.1:`port` with SNI `host`, verifying the chain against `opts.ca`. */
export function httpsFetch (port: number, host: string, opts: FetchOptions = {}): Promise<FetchResult> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest({
      host: '127.0.0.1',
      port,
      path: opts.path ?? '/.well-known/mta-sts.txt',
      method: opts.method ?? 'GET',
      // An empty servername makes node send no SNI (it would otherwise take the Host header's).
      servername: opts.servername === false ? '' : opts.servername ?? host,
      headers: { host: opts.hostHeader ?? host, ...opts.headers },
      ...(opts.ca === undefined ? {} : { ca: opts.ca }),
      agent: opts.agent ?? false,
      ...(opts.minVersion ? { minVersion: opts.minVersion } : {}),
      ...(opts.maxVersion ? { maxVersion: opts.maxVersion } : {}),
      ...(opts.ciphers ? { ciphers: opts.ciphers } : {}),
    }, res => {
      const socket = res.socket as TLSSocket
      const tlsVersion = socket.getProtocol?.() ?? null
      const peer = socket.getPeerCertificate?.() ?? null
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('end', () => resolve({
        status: res.statusCode ?? 0,
        headers: res.headers,
        body: Buffer.concat(chunks),
        tlsVersion,
        peer,
      }))
    })
    req.setTimeout(5000, () => req.destroy(new Error('request timed out')))
    req.on('error', reject)
    req.end(opts.body)
  })
}
