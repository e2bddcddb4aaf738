import { createSecureContext, type SecureContext } from 'node:tls'
import type { Logger } from 'pino'
import type { Clock } from '../clock.js'
import { CONFIG_DEFAULTS } from '../config/defaults.js'
import { errors } from '../errors.js'
import type { Metrics } from '../metrics.js'
import { storeKey, type Store } from '../store/store.js'
import { inspectCertificate, renewalTime, type CertifiedKey } from './certified-key.js'
import type { FailureKind, IssuanceError, Issuer, RenewalWindow } from './issuer.js'

/** TLS versions offered to senders. */
export const TLS_VERSIONS = Object.freeze({ minVersion: 'TLSv1.2', maxVersion: 'TLSv1.3' } as const)

/** Delays after the 1st, 2nd, 3rd and later consecutive failures: about 1 min, 10 min, 100 min, then daily. */
export const DEFAULT_BACKOFF_MS = Object.freeze([60_000, 600_000, 6_000_000, 86_400_000])

/** How often to ask the CA for renewal information (RFC 9773 suggests about twice a day). */
const ARI_POLL_MS = 6 * 3600_000

/** Options of {@link CertificateManager}. */
export interface CertificateManagerOptions {
  readonly issuer: Issuer
  readonly store: Store
  readonly clock: Clock
  readonly logger: Logger
  readonly metrics: Metrics
  /** How often to look for certificates to obtain, renew or re-read (default 60 s). */
  readonly checkIntervalMs?: number
  /** Back-off after consecutive failures (default {@link DEFAULT_BACKOFF_MS}). */
  readonly backoffMs?: readonly number[]
  /** Issuances worked on at once for queued (non on-demand) issuers (default 2). */
  readonly concurrency?: number
}

/** When the manager will replace the certificate it serves for a host (see {@link CertificateManager.renewal}). */
export interface RenewalPlan {
  /** SHA-256 fingerprint of the certificate served now (`AA:BB:...`, as Node formats it). */
  readonly fingerprint: string
  /** Its renewal point: a third of the lifetime left (minus jitter), or inside the CA's ARI window. */
  readonly renewAt: Date
  /** Why the last attempt failed, while failing. */
  readonly lastError?: string
}

/** What the manager knows about one host, for the status page and metrics. */
export interface CertificateStatus {
  readonly host: string
  /** `valid`: serving a good certificate; `pending`: being obtained; `failing`: last attempt failed; `missing`: none yet. */
  readonly state: 'valid' | 'pending' | 'failing' | 'missing'
  readonly notAfter?: Date
  readonly renewAt?: Date
  /** The next thing the manager will do for this host, and when. */
  readonly next?: { readonly action: 'obtain' | 'renew' | 'retry' | 'reload' | 'on-demand'; readonly at?: Date }
  readonly failures: number
  readonly lastError?: string
  readonly retryAt?: Date
}

interface Loaded {
  readonly cert: CertifiedKey
  readonly context: SecureContext
  /** Default renewal time: a third of the lifetime left, minus jitter. */
  readonly renewAt: Date
  readonly version?: string
  /** Logs a certificate just loaded or issued: called once it is installed, so the log never runs ahead of what is served. */
  readonly announce?: () => void
}

interface HostState {
  loaded?: Loaded
  pending?: Promise<Loaded>
  queued?: boolean
  failures: number
  lastError?: string
  retryAt?: Date
  ari?: { renewAt?: Date; nextPoll: Date }
}

/**
 * Keeps one certificate per policy host.
 * - SecureContexts are built when a certificate is loaded and cached, so a
 *   handshake is a Map lookup.
 * - Managed issuers: certificates live in the store and are reused across
 *   restarts. On-demand issuers (internal CA) issue on the first handshake;
 *   queued issuers (ACME) are worked ahead of time with bounded concurrency,
 *   single-flight per host (also across instances, through a store lock).
 *   Renewal at a third of the lifetime left with jitter, or inside the CA's
 *   ARI window when it offers one.
 * - Unmanaged issuers (operator files) are re-read when the files change.
 * - A new certificate replaces the current one only after it passes
 *   {@link inspectCertificate}; until then the old one keeps serving.
 * - Failures back off (about 1 min, 10 min, 100 min, then daily) or until the
 *   CA's Retry-After, per host, without holding up other hosts.
 */
export class CertificateManager {
  readonly #opts: CertificateManagerOptions
  readonly #states = new Map<string, HostState>()
  readonly #queue: string[] = []
  #running = 0
  #timer: NodeJS.Timeout | undefined
  #checking: Promise<void> | undefined
  #closed = false

  constructor (opts: CertificateManagerOptions) {
    this.#opts = opts
  }

  /** The hosts to serve: new hosts are picked up, removed hosts dropped and no longer renewed. */
  setHosts (hosts: Iterable<string>): void {
    const next = new Set(hosts)
    for (const host of this.#states.keys()) if (!next.has(host)) this.#states.delete(host)
    for (const host of next) if (!this.#states.has(host)) this.#states.set(host, { failures: 0 })
    const q = this.#queue.filter(h => next.has(h))
    this.#queue.splice(0, this.#queue.length, ...q)
    if (this.#timer && !this.#opts.issuer.onDemand) void this.check()
  }

  /**
   * Add and remove hosts: the same as {@link setHosts} with the full list,
   * but in time proportional to the change, not to the number of hosts (a
   * reload of one tenant among 100,000 must not walk all of them).
   */
  changeHosts (change: { readonly added: readonly string[]; readonly removed: readonly string[] }): void {
    for (const host of change.removed) this.#states.delete(host)
    for (const host of change.added) if (!this.#states.has(host)) this.#states.set(host, { failures: 0 })
    if (change.removed.length > 0 && this.#queue.length > 0) {
      const q = this.#queue.filter(h => this.#states.has(h))
      this.#queue.splice(0, this.#queue.length, ...q)
    }
    if (change.added.length > 0 && this.#timer && !this.#opts.issuer.onDemand) void this.check()
  }

  /**
   * The SecureContext for `host`: synchronously when loaded (the common
   * case), else a promise that loads it (from the store or files, or from an
   * on-demand issuer). Queued issuers never make a handshake wait for a CA.
   */
  context (host: string): SecureContext | Promise<SecureContext> {
    const state = this.#states.get(host)
    const loaded = state?.loaded
    if (loaded && loaded.cert.notAfter.getTime() > this.#now()) return loaded.context
    const { issuer } = this.#opts
    if (!state || issuer.onDemand || !issuer.managed) return this.#ensure(host).then(l => l.context)
    return this.#fromStore(host).then(stored => {
      if (stored) {
        state.loaded = stored
        return stored.context
      }
      this.#enqueue(host)
      throw new errors.CERT_UNAVAILABLE(host, state.lastError ?? 'not obtained yet')
    })
  }

  /** Load (or obtain) the certificates of `hosts`, `concurrency` at a time. Failures are logged, not thrown. */
  async preload (hosts: Iterable<string>, concurrency = 8): Promise<void> {
    const queue = [...hosts]
    const worker = async (): Promise<void> => {
      for (let host = queue.shift(); host !== undefined; host = queue.shift()) await this.#ensure(host).catch(() => {})
    }
    await Promise.all(Array.from({ length: concurrency }, worker))
  }

  /**
   * Hosts that cannot be served now. With an on-demand issuer only hosts
   * whose last attempt failed count (the others are issued at the first
   * handshake); otherwise every host needs a loaded, unexpired certificate.
   */
  unavailable (): string[] {
    const now = this.#now()
    const out: string[] = []
    for (const [host, state] of this.#states) {
      if (state.loaded && state.loaded.cert.notAfter.getTime() > now) continue
      if (!this.#opts.issuer.onDemand || state.lastError !== undefined) out.push(host)
    }
    return out
  }

  /** Per-host state, expiry and next action. */
  status (): CertificateStatus[] {
    const { issuer } = this.#opts
    const out: CertificateStatus[] = []
    for (const [host, state] of this.#states) {
      const loaded = state.loaded
      const renewAt = loaded ? this.#renewAt(state, loaded) : undefined
      const stateName = state.pending || state.queued ? 'pending' : state.lastError !== undefined ? 'failing' : loaded ? 'valid' : 'missing'
      let next: CertificateStatus['next']
      if (state.retryAt && state.lastError !== undefined) next = { action: 'retry', at: state.retryAt }
      else if (!issuer.managed) next = { action: 'reload' }
      else if (loaded && renewAt) next = { action: 'renew', at: renewAt }
      else next = issuer.onDemand ? { action: 'on-demand' } : { action: 'obtain' }
      out.push({
        host,
        state: stateName,
        ...(loaded ? { notAfter: loaded.cert.notAfter } : {}),
        ...(renewAt ? { renewAt } : {}),
        next,
        failures: state.failures,
        ...(state.lastError !== undefined ? { lastError: state.lastError } : {}),
        ...(state.retryAt ? { retryAt: state.retryAt } : {}),
      })
    }
    return out
  }

  /** Expiry of every loaded certificate, for the metrics gauges. */
  * expiries (): Iterable<{ host: string; notAfter: Date }> {
    for (const [host, state] of this.#states) if (state.loaded) yield { host, notAfter: state.loaded.cert.notAfter }
  }

  /**
   * The renewal plan of the certificate served for `host`, for the set-up
   * check: undefined when none is loaded, and for unmanaged issuers (the
   * operator renews those files).
   */
  renewal (host: string): RenewalPlan | undefined {
    const state = this.#states.get(host)
    const loaded = state?.loaded
    if (!state || !loaded || !this.#opts.issuer.managed) return undefined
    return { fingerprint: loaded.cert.fingerprint, renewAt: this.#renewAt(state, loaded), ...(state.lastError === undefined ? {} : { lastError: state.lastError }) }
  }

  /** Start the periodic check (and, for queued issuers, one right away). */
  start (): void {
    this.#timer = setInterval(() => { void this.check() }, this.#opts.checkIntervalMs ?? 60_000)
    this.#timer.unref()
    if (!this.#opts.issuer.onDemand) void this.check()
  }

  /**
   * One pass over all hosts: queue what needs obtaining or renewing, re-read
   * changed files, poll renewal information. Resolves when the pass (not the
   * queued issuances) is done; concurrent calls share one pass.
   */
  check (): Promise<void> {
    this.#checking ??= this.#check().finally(() => { this.#checking = undefined })
    return this.#checking
  }

  async #check (): Promise<void> {
    const { issuer } = this.#opts
    const now = this.#now()
    const work: Promise<unknown>[] = []
    for (const [host, state] of this.#states) {
      if (this.#closed) return
      if (state.pending || state.queued) continue
      if (state.retryAt && state.retryAt.getTime() > now) continue
      const loaded = state.loaded
      if (!issuer.managed) {
        if (!loaded) {
          work.push(this.#ensure(host, true).catch(() => {}))
        } else if (issuer.version) {
          const version = await issuer.version(host).catch(() => undefined)
          if (version !== loaded.version) work.push(this.#ensure(host, true).catch(() => {}))
        }
        continue
      }
      if (!loaded && issuer.onDemand) continue
      if (!loaded) {
        const stored = await this.#fromStore(host)
        if (stored) state.loaded = stored
        else this.#enqueue(host)
        continue
      }
      if (issuer.renewalWindow && (!state.ari || state.ari.nextPoll.getTime() <= now)) await this.#pollRenewalInfo(host, state, loaded)
      if (this.#renewAt(state, loaded).getTime() <= now) {
        if (issuer.onDemand) work.push(this.#ensure(host, true).catch(() => {}))
        else this.#enqueue(host)
      }
    }
    await Promise.all(work)
  }

  /** Stop the timer and queue, and wait for work in flight. */
  async close (): Promise<void> {
    this.#closed = true
    if (this.#timer) clearInterval(this.#timer)
    this.#queue.length = 0
    await this.#checking
    await Promise.allSettled([...this.#states.values()].map(s => s.pending))
  }

  /** Wait until the queue is empty and nothing is in flight (for tests and benchmarks). */
  async idle (): Promise<void> {
    for (;;) {
      const pending = [...this.#states.values()].map(s => s.pending).filter(p => p !== undefined)
      if (pending.length === 0 && this.#queue.length === 0 && this.#running === 0) return
      await Promise.allSettled(pending)
      await new Promise(resolve => setImmediate(resolve))
    }
  }

  #now (): number {
    return this.#opts.clock.now().getTime()
  }

  #renewAt (state: HostState, loaded: Loaded): Date {
    return state.ari?.renewAt ?? loaded.renewAt
  }

  async #pollRenewalInfo (host: string, state: HostState, loaded: Loaded): Promise<void> {
    const now = this.#now()
    let window: RenewalWindow | undefined
    try {
      window = await this.#opts.issuer.renewalWindow?.(loaded.cert)
    } catch (err) {
      this.#opts.logger.warn({ event: 'ari_failed', host, error: (err as Error).message }, `renewal information for ${host} unavailable: ${(err as Error).message}`)
      state.ari = { nextPoll: new Date(now + 3600_000) }
      return
    }
    if (!window) {
      state.ari = { nextPoll: new Date(now + ARI_POLL_MS) }
      return
    }
    const span = window.end.getTime() - window.start.getTime()
    // A random point in the window spreads renewals out; a window already over means now.
    const at = window.end.getTime() <= now ? now : window.start.getTime() + Math.random() * span
    state.ari = { renewAt: new Date(at), nextPoll: window.retryAfter ?? new Date(now + ARI_POLL_MS) }
    this.#opts.logger.debug({ event: 'ari_window', host, start: window.start.toISOString(), end: window.end.toISOString(), renew_at: new Date(at).toISOString() }, `renewal window for ${host}`)
  }

  #enqueue (host: string): void {
    const state = this.#states.get(host)
    if (!state || state.queued || state.pending || this.#closed) return
    state.queued = true
    this.#queue.push(host)
    this.#pump()
  }

  #pump (): void {
    const limit = this.#opts.concurrency ?? CONFIG_DEFAULTS.certificates.acme.concurrency
    while (this.#running < limit && this.#queue.length > 0 && !this.#closed) {
      const host = this.#queue.shift() as string
      const state = this.#states.get(host)
      if (!state) continue
      state.queued = false
      this.#running++
      // A host with a certificate is queued for renewal: skip the store's copy, which is the one due.
      this.#ensure(host, state.loaded !== undefined).catch(() => {}).finally(() => {
        this.#running--
        this.#pump()
      })
    }
  }

  #ensure (host: string, refresh = false): Promise<Loaded> {
    let state = this.#states.get(host)
    if (!state) {
      // Not (or no longer) configured: load for this caller but keep nothing.
      state = { failures: 0 }
    }
    if (state.pending) return state.pending
    if (!refresh && state.retryAt && state.retryAt.getTime() > this.#now() && state.lastError !== undefined) {
      return Promise.reject(new errors.CERT_UNAVAILABLE(host, state.lastError))
    }
    const current = state
    const work = this.#load(host, refresh, current).then(loaded => {
      current.loaded = loaded
      current.failures = 0
      delete current.lastError
      delete current.retryAt
      delete current.ari
      loaded.announce?.()
      return loaded
    }, (err: IssuanceError) => this.#failed(host, current, err)).finally(() => { delete current.pending })
    current.pending = work
    return work
  }

  #failed (host: string, state: HostState, err: IssuanceError): never {
    const { issuer, metrics, logger } = this.#opts
    const backoff = this.#opts.backoffMs ?? DEFAULT_BACKOFF_MS
    state.failures++
    const delay = backoff[Math.min(state.failures, backoff.length) - 1] as number
    const retryAt = err.retryAfter && err.retryAfter.getTime() > this.#now() ? err.retryAfter : new Date(this.#now() + delay)
    state.lastError = err.message
    state.retryAt = retryAt
    const kind: FailureKind = err.kind ?? 'other'
    metrics.certificateEvents.inc({ issuer: issuer.name, event: 'failed' })
    metrics.certificateFailures.inc({ kind })
    logger.error({
      event: 'certificate_failed',
      host,
      issuer: issuer.name,
      kind,
      error: err.message,
      failures: state.failures,
      retry_at: retryAt.toISOString(),
      serving_old: state.loaded !== undefined && state.loaded.cert.notAfter.getTime() > this.#now(),
    }, `no new certificate for ${host}: ${err.message}`)
    throw err
  }

  async #fromStore (host: string): Promise<Loaded | undefined> {
    const { issuer, store, logger } = this.#opts
    const pem = (await store.get(storeKey('certificates', issuer.name, `${host}.pem`)))?.toString('utf8')
    if (pem === undefined) return undefined
    try {
      const { certPem, keyPem } = splitBundle(pem)
      return this.#prepare(inspectCertificate(host, certPem, keyPem, this.#opts.clock.now()))
    } catch (err) {
      logger.warn({ event: 'certificate_store_invalid', host, error: (err as Error).message }, `stored certificate for ${host} is unusable; obtaining a new one`)
      return undefined
    }
  }

  async #load (host: string, refresh: boolean, state: HostState): Promise<Loaded> {
    const { issuer, store, clock, logger, metrics } = this.#opts
    if (!issuer.managed) {
      const version = await issuer.version?.(host)
      const issued = await issuer.obtain(host)
      const cert = inspectCertificate(host, issued.certPem, issued.keyPem, clock.now())
      metrics.certificateEvents.inc({ issuer: issuer.name, event: 'loaded' })
      return this.#prepare(cert, version, () => {
        logger.info({ event: 'certificate_loaded', host, issuer: issuer.name, not_after: cert.notAfter.toISOString(), fingerprint: cert.fingerprint }, `certificate loaded for ${host}`)
      })
    }
    const usable = (l: Loaded | undefined): l is Loaded => l !== undefined && l.renewAt.getTime() > clock.now().getTime()
    if (!refresh) {
      const stored = await this.#fromStore(host)
      if (usable(stored)) return stored
    }
    // Single flight across instances sharing the store: whoever holds the lock orders; the others then find its certificate.
    // The lock is a lease renewed while the order runs, so a crashed holder's lock frees within the default TTL.
    const unlock = await store.lock(`issue-${host}`, issuer.onDemand ? {} : { waitMs: 600_000 })
    try {
      const stored = await this.#fromStore(host)
      const previous = state.loaded
      // Adopt the stored certificate when another instance renewed it meanwhile, or when it is not
      // due; the CA's ARI window can make even a not-yet-due certificate due.
      const renewedElsewhere = stored?.cert.fingerprint !== previous?.cert.fingerprint
      if (usable(stored) && (renewedElsewhere || !state.ari?.renewAt)) return stored
      const started = Date.now()
      const renewing = previous !== undefined
      logger.info({ event: 'certificate_obtaining', host, issuer: issuer.name, renewal: renewing }, `${renewing ? 'renewing' : 'obtaining'} certificate for ${host}`)
      const issued = await issuer.obtain(host, previous ? { replaces: previous.cert } : {})
      let cert: CertifiedKey
      try {
        cert = inspectCertificate(host, issued.certPem, issued.keyPem, clock.now())
      } catch (err) {
        throw Object.assign(err as Error, { kind: 'malformed' as FailureKind })
      }
      await store.put(storeKey('certificates', issuer.name, `${host}.pem`), joinBundle(cert), { secret: true })
      metrics.certificateEvents.inc({ issuer: issuer.name, event: renewing ? 'renewed' : 'obtained' })
      const durationMs = Date.now() - started
      return this.#prepare(cert, undefined, () => {
        logger.info({ event: renewing ? 'certificate_renewed' : 'certificate_obtained', host, issuer: issuer.name, not_after: cert.notAfter.toISOString(), fingerprint: cert.fingerprint, duration_ms: durationMs }, `certificate ${renewing ? 'renewed' : 'obtained'} for ${host}`)
      })
    } finally {
      await unlock()
    }
  }

  #prepare (cert: CertifiedKey, version?: string, announce?: () => void): Loaded {
    const context = createSecureContext({ cert: cert.certPem, key: cert.keyPem, ...TLS_VERSIONS })
    const lifetime = cert.notAfter.getTime() - cert.notBefore.getTime()
    // Jitter (up to 2% of the lifetime, at most a day) keeps a fleet of same-day certificates from renewing at once.
    const jitter = Math.random() * Math.min(lifetime * 0.02, 86_400_000)
    const renewAt = new Date(renewalTime(cert).getTime() - jitter)
    return { cert, context, renewAt, ...(version === undefined ? {} : { version }), ...(announce ? { announce } : {}) }
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
