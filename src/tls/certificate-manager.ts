import { createSecureContext, type SecureContext } from 'node:tls'
import type { Logger } from 'pino'
import type { Clock } from '../clock.js'
import { errors } from '../errors.js'
import type { Metrics } from '../metrics.js'
import { storeKey, type Store } from '../store/store.js'
import { inspectCertificate, renewalTime, type CertifiedKey } from './certified-key.js'
import type { Issuer } from './issuer.js'

/** TLS versions offered to senders. */
export const TLS_VERSIONS = Object.freeze({ minVersion: 'TLSv1.2', maxVersion: 'TLSv1.3' } as const)

/** Options of {@link CertificateManager}. */
export interface CertificateManagerOptions {
  readonly issuer: Issuer
  readonly store: Store
  readonly clock: Clock
  readonly logger: Logger
  readonly metrics: Metrics
  /** How often to look for certificates due for renewal or changed on disk (default 60 s). */
  readonly checkIntervalMs?: number
  /** After a failed attempt, wait this long before trying the same host again (default 60 s). */
  readonly retryAfterMs?: number
}

/** What the manager knows about one host, for status pages and metrics. */
export interface CertificateStatus {
  readonly host: string
  readonly state: 'valid' | 'failing'
  readonly notAfter?: Date
  readonly renewAt?: Date
  readonly lastError?: string
  readonly retryAt?: Date
}

interface Loaded {
  readonly cert: CertifiedKey
  readonly context: SecureContext
  readonly renewAt: Date
  readonly version?: string
}

/**
 * Keeps one certificate per policy host: SecureContexts are built lazily on
 * the first handshake for a host and cached; managed certificates come from
 * the store or the issuer and are renewed at a third of their lifetime left;
 * unmanaged ones (operator files) are re-read when they change. A new
 * certificate replaces the current one only after it passes
 * {@link inspectCertificate}; until then the old one keeps serving.
 */
export class CertificateManager {
  readonly #opts: CertificateManagerOptions
  readonly #loaded = new Map<string, Loaded>()
  readonly #pending = new Map<string, Promise<Loaded>>()
  readonly #failures = new Map<string, { error: string; retryAt: Date }>()
  #hosts: ReadonlySet<string> = new Set()
  #timer: NodeJS.Timeout | undefined

  constructor (opts: CertificateManagerOptions) {
    this.#opts = opts
  }

  /** The hosts to serve; certificates of hosts no longer listed are dropped. */
  setHosts (hosts: Iterable<string>): void {
    this.#hosts = new Set(hosts)
    for (const host of this.#loaded.keys()) if (!this.#hosts.has(host)) this.#loaded.delete(host)
    for (const host of this.#failures.keys()) if (!this.#hosts.has(host)) this.#failures.delete(host)
  }

  /**
   * The SecureContext for `host`: synchronously when cached (the common
   * case), else a promise that loads or obtains it.
   */
  context (host: string): SecureContext | Promise<SecureContext> {
    const loaded = this.#loaded.get(host)
    if (loaded && loaded.cert.notAfter.getTime() > this.#opts.clock.now().getTime()) return loaded.context
    return this.#ensure(host).then(l => l.context)
  }

  /** Load (or obtain) the certificates of all `hosts`, `concurrency` at a time. Failures are logged, not thrown. */
  async preload (hosts: Iterable<string>, concurrency = 8): Promise<void> {
    const queue = [...hosts]
    const worker = async (): Promise<void> => {
      for (let host = queue.shift(); host !== undefined; host = queue.shift()) await this.#ensure(host).catch(() => {})
    }
    await Promise.all(Array.from({ length: concurrency }, worker))
  }

  /**
   * Hosts that cannot be served now: managed issuers create certificates on
   * demand, so only hosts whose last attempt failed count; for unmanaged
   * issuers every host must have a loaded, unexpired certificate.
   */
  unavailable (): string[] {
    const now = this.#opts.clock.now().getTime()
    const out: string[] = []
    for (const host of this.#hosts) {
      const loaded = this.#loaded.get(host)
      if (loaded && loaded.cert.notAfter.getTime() > now) continue
      if (!this.#opts.issuer.managed || this.#failures.has(host)) out.push(host)
    }
    return out
  }

  /** Per-host state of every host that has a certificate or a failure. */
  status (): CertificateStatus[] {
    const out: CertificateStatus[] = []
    for (const host of this.#hosts) {
      const loaded = this.#loaded.get(host)
      const failure = this.#failures.get(host)
      if (!loaded && !failure) continue
      out.push({
        host,
        state: failure ? 'failing' : 'valid',
        ...(loaded ? { notAfter: loaded.cert.notAfter, renewAt: loaded.renewAt } : {}),
        ...(failure ? { lastError: failure.error, retryAt: failure.retryAt } : {}),
      })
    }
    return out
  }

  /** Expiry of every loaded certificate, for the metrics gauge. */
  * expiries (): Iterable<{ host: string; notAfter: Date }> {
    for (const [host, loaded] of this.#loaded) yield { host, notAfter: loaded.cert.notAfter }
  }

  /** Start the periodic renewal and change check. */
  start (): void {
    this.#timer = setInterval(() => { void this.check() }, this.#opts.checkIntervalMs ?? 60_000)
    this.#timer.unref()
  }

  /** Renew certificates that are due and re-read changed files; resolves when done. */
  async check (): Promise<void> {
    const now = this.#opts.clock.now().getTime()
    const { issuer } = this.#opts
    const due: string[] = []
    for (const [host, loaded] of this.#loaded) {
      if ((this.#failures.get(host)?.retryAt.getTime() ?? 0) > now) continue
      if (issuer.managed) {
        if (loaded.renewAt.getTime() <= now) due.push(host)
      } else if (issuer.version) {
        const version = await issuer.version(host).catch(() => undefined)
        if (version !== loaded.version) due.push(host)
      }
    }
    if (!issuer.managed) {
      // Operator files that were missing or broken get another look once their back-off has passed.
      for (const host of this.#hosts) {
        if (!this.#loaded.has(host) && (this.#failures.get(host)?.retryAt.getTime() ?? 0) <= now) due.push(host)
      }
    }
    await Promise.all(due.map(host => this.#ensure(host, true).catch(() => {})))
  }

  /** Stop the timer and wait for work in flight. */
  async close (): Promise<void> {
    if (this.#timer) clearInterval(this.#timer)
    await Promise.allSettled(this.#pending.values())
  }

  #ensure (host: string, refresh = false): Promise<Loaded> {
    const running = this.#pending.get(host)
    if (running) return running
    const failure = this.#failures.get(host)
    if (!refresh && failure && failure.retryAt.getTime() > this.#opts.clock.now().getTime()) {
      return Promise.reject(new errors.CERT_UNAVAILABLE(host, failure.error))
    }
    const work = this.#load(host, refresh).then(loaded => {
      // A reload may have removed the host while we worked.
      if (this.#hosts.has(host)) this.#loaded.set(host, loaded)
      this.#failures.delete(host)
      return loaded
    }, (err: Error) => {
      const retryAt = new Date(this.#opts.clock.now().getTime() + (this.#opts.retryAfterMs ?? 60_000))
      this.#failures.set(host, { error: err.message, retryAt })
      this.#opts.metrics.certificateEvents.inc({ issuer: this.#opts.issuer.name, event: 'failed' })
      this.#opts.logger.error({ event: 'certificate_failed', host, issuer: this.#opts.issuer.name, error: err.message, retry_at: retryAt.toISOString(), serving_old: this.#loaded.has(host) }, `no new certificate for ${host}: ${err.message}`)
      throw err
    }).finally(() => this.#pending.delete(host))
    this.#pending.set(host, work)
    return work
  }

  async #load (host: string, refresh: boolean): Promise<Loaded> {
    const { issuer, store, clock, logger, metrics } = this.#opts
    if (!issuer.managed) {
      const version = await issuer.version?.(host)
      const issued = await issuer.obtain(host)
      const loaded = this.#prepare(host, inspectCertificate(host, issued.certPem, issued.keyPem, clock.now()), version)
      metrics.certificateEvents.inc({ issuer: issuer.name, event: 'loaded' })
      logger.info({ event: 'certificate_loaded', host, issuer: issuer.name, not_after: loaded.cert.notAfter.toISOString(), fingerprint: loaded.cert.fingerprint }, `certificate loaded for ${host}`)
      return loaded
    }
    const key = storeKey('certificates', issuer.name, `${host}.pem`)
    const fromStore = async (): Promise<Loaded | undefined> => {
      const pem = (await store.get(key))?.toString('utf8')
      if (pem === undefined) return undefined
      try {
        const { certPem, keyPem } = splitBundle(pem)
        const loaded = this.#prepare(host, inspectCertificate(host, certPem, keyPem, clock.now()))
        return loaded.renewAt.getTime() > clock.now().getTime() ? loaded : undefined
      } catch (err) {
        logger.warn({ event: 'certificate_store_invalid', host, error: (err as Error).message }, `stored certificate for ${host} is unusable; obtaining a new one`)
        return undefined
      }
    }
    if (!refresh) {
      const stored = await fromStore()
      if (stored) return stored
    }
    const unlock = await store.lock(`issue-${host}`)
    try {
      // Another instance sharing the store may have renewed it while we waited for the lock.
      const stored = await fromStore()
      if (stored) return stored
      const started = Date.now()
      logger.info({ event: 'certificate_obtaining', host, issuer: issuer.name }, `obtaining certificate for ${host}`)
      const issued = await issuer.obtain(host)
      const cert = inspectCertificate(host, issued.certPem, issued.keyPem, clock.now())
      await store.put(key, joinBundle(cert), { secret: true })
      const renewed = this.#loaded.has(host)
      metrics.certificateEvents.inc({ issuer: issuer.name, event: renewed ? 'renewed' : 'obtained' })
      logger.info({ event: renewed ? 'certificate_renewed' : 'certificate_obtained', host, issuer: issuer.name, not_after: cert.notAfter.toISOString(), fingerprint: cert.fingerprint, duration_ms: Date.now() - started }, `certificate ${renewed ? 'renewed' : 'obtained'} for ${host}`)
      return this.#prepare(host, cert)
    } finally {
      await unlock()
    }
  }

  #prepare (host: string, cert: CertifiedKey, version?: string): Loaded {
    const context = createSecureContext({ cert: cert.certPem, key: cert.keyPem, ...TLS_VERSIONS })
    return { cert, context, renewAt: renewalTime(cert), ...(version === undefined ? {} : { version }) }
  }
}

const PEM_BLOCK = /-----BEGIN ([A-Z ]+)-----[\s\S]+?-----END \1-----/g

/** Split a stored bundle (private key and chain) into its parts. */
export function splitBundle (pem: string): { certPem: string; keyPem: string } {
  let keyPem = ''
  const certs: string[] = []
  for (const match of pem.matchAll(PEM_BLOCK)) {
    if (match[1]?.endsWith('PRIVATE KEY')) keyPem = match[0]
    else if (match[1] === 'CERTIFICATE') certs.push(match[0])
  }
  return { certPem: certs.join('\n') + '\n', keyPem: keyPem + '\n' }
}

function joinBundle (cert: CertifiedKey): string {
  return `${cert.keyPem.trim()}\n${cert.certPem.trim()}\n`
}
