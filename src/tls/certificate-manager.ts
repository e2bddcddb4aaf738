import type { SecureContext } from 'node:tls'
import { setImmediate } from 'node:timers/promises'
import pLimit from 'p-limit'
import type { Logger } from 'pino'
import type { Clock } from '../clock.js'
import { CONFIG_DEFAULTS } from '../config/defaults.js'
import { errors } from '../errors.js'
import type { Metrics } from '../metrics.js'
import type { Store, Unlock } from '../store/store.js'
import { inspectCertificate, knownCertificate, type CertifiedKey, type KnownCertificate } from './certified-key.js'
import { CertificateCache, hostState, prepareCertificate, renewAtMsOf, type FreshCertificate, type HostState, type LoadedCertificate } from './certificate-cache.js'
import { MaintenanceLoop, pollRenewalInfo, retryTime } from './certificate-maintenance.js'
import { CertificateStorage } from './certificate-storage.js'
import { buildContext, ContextCache } from './context-cache.js'
import type { CertificateStatus, RenewalPlan } from './certificate-types.js'
import type { FailureKind, IssuanceError, Issuer } from './issuer.js'
import type { ServingLoad } from './serving-load.js'


/** Options of {@link CertificateManager}. */
export interface CertificateManagerOptions {
  readonly issuer: Issuer
  readonly store: Store
  readonly clock: Clock
  readonly logger: Logger
  readonly metrics: Metrics
  /** How often to look for certificates to obtain, renew or re-read (default 60 s). */
  readonly checkIntervalMs?: number
  /** Back-off after consecutive failures (default `DEFAULT_BACKOFF_MS`, about 1 min, 10 min, 100 min, then daily). */
  readonly backoffMs?: readonly number[]
  /** Issuances worked on at once for `queued` issuers (default 2). */
  readonly concurrency?: number
  /** `queued`: how soon to look again at a host whose certificate another instance is obtaining (default 2 s). */
  readonly elsewhereRetryMs?: number
  /** SecureContexts kept for the hosts handshaken lately (default `certificates.context_cache`). */
  readonly contextCacheSize?: number
  /** How busy serving is: while busy, one issuance at a time (default: always `concurrency`). */
  readonly load?: ServingLoad
}

/**
 * Keeps one certificate per policy host, in the three modes of
 * {@link Issuer.mode}:
 * - `on-demand` (internal CA): issued on the first handshake, stored and
 *   reused across restarts, renewed in the background;
 * - `queued` (ACME): obtained and renewed ahead of time from a queue with
 *   bounded concurrency (one at a time while serving is busy, see
 *   {@link ServingLoad}), single-flight per host (also across instances,
 *   through a store lock), renewed at a third of the lifetime left with
 *   jitter or inside the CA's ARI window; a handshake never waits for the CA;
 * - `files` (operator files): read, and re-read when the files change.
 *
 * Per host only what maintenance and status need is kept (expiry, renewal
 * time, fingerprint; see {@link LoadedCertificate}); the PEMs stay in the
 * store (or the operator's files) and are read again, and checked against
 * that fingerprint, when a handshake needs a context the {@link ContextCache}
 * no longer holds. A certificate that changed there meanwhile (another
 * replica renewed it, the operator replaced the files) is taken up then.
 *
 * The parts: {@link CertificateCache} (per-host state and status),
 * {@link MaintenanceLoop} (schedule, queue; back-off and ARI in the same
 * module) and {@link CertificateStorage} (bundles, keys, locks).
 * A new certificate replaces the current one only after it passes
 * {@link inspectCertificate}; until then the old one keeps serving. Failures
 * back off per host (about 1 min, 10 min, 100 min, then daily, or until the
 * CA's Retry-After) without holding up other hosts.
 */
export class CertificateManager {
  readonly #opts: CertificateManagerOptions
  readonly #cache: CertificateCache
  readonly #storage: CertificateStorage
  readonly #loop: MaintenanceLoop
  readonly #contexts: ContextCache
  /** Certificates being read for a handshake, one read per host at a time (bounded by the handshakes in flight). */
  readonly #reading = new Map<string, Promise<CertifiedKey>>()
  /** Re-tries of hosts another instance is obtaining (see {@link IssuingElsewhere}); cleared on close. */
  readonly #recheck = new Set<NodeJS.Timeout>()
  /** Told the host whose served certificate was replaced (see {@link onCertificateChange}). */
  readonly #changeListeners: ((host: string) => void)[] = []

  constructor (opts: CertificateManagerOptions) {
    this.#opts = opts
    const { issuer, store, clock, logger } = opts
    this.#cache = new CertificateCache(issuer.mode)
    this.#contexts = new ContextCache(opts.contextCacheSize ?? CONFIG_DEFAULTS.certificates.context_cache)
    this.#storage = new CertificateStorage({ store, issuer: issuer.name, clock, logger })
    this.#loop = new MaintenanceLoop({
      intervalMs: opts.checkIntervalMs ?? 60_000,
      concurrency: opts.concurrency ?? CONFIG_DEFAULTS.certificates.acme.concurrency,
      ...(opts.load === undefined ? {} : { load: opts.load }),
      pass: () => this.#check(),
      work: host => {
        const state = this.#cache.get(host)
        if (!state) return undefined
        state.queued = false
        // A host with a certificate is queued for renewal: skip the store's copy, which is the one due.
        return this.#ensure(host, state.loaded !== undefined).then(() => {}, () => {})
      },
    })
  }

  /** The hosts to serve: new hosts are picked up, removed hosts dropped and no longer renewed. */
  setHosts (hosts: Iterable<string>): void {
    const next = new Set(hosts)
    for (const [host] of this.#cache.entries()) if (!next.has(host)) this.#contexts.delete(host)
    this.#cache.set(next)
    this.#loop.retain(h => next.has(h))
    if (this.#loop.started && this.#opts.issuer.mode !== 'on-demand') void this.check()
  }

  /**
   * Add and remove hosts: the same as {@link setHosts} with the full list,
   * but in time proportional to the change, not to the number of hosts (a
   * reload of one tenant among 100,000 must not walk all of them).
   */
  changeHosts (change: { readonly added: readonly string[]; readonly removed: readonly string[] }): void {
    for (const host of change.removed) {
      this.#cache.remove(host)
      this.#contexts.delete(host)
    }
    for (const host of change.added) this.#cache.add(host)
    if (change.removed.length > 0) this.#loop.retain(h => this.#cache.get(h) !== undefined)
    if (change.added.length > 0 && this.#loop.started && this.#opts.issuer.mode !== 'on-demand') void this.check()
  }

  /**
   * The SecureContext for `host`: synchronously when cached (the common
   * case), else a promise that reads the certificate again from the store or
   * files, or obtains it from an on-demand issuer (see {@link certificate}).
   * Queued issuers never make a handshake wait for a CA.
   */
  context (host: string): SecureContext | Promise<SecureContext> {
    const loaded = this.#cache.get(host)?.loaded
    const cached = loaded && loaded.notAfterMs > this.#now() ? this.#contexts.get(host, loaded.fingerprint) : undefined
    if (cached) return cached
    return this.certificate(host).then(cert => this.#cache.get(host) ? this.#contexts.set(host, cert) : buildContext(cert))
  }

  /**
   * The certificate and private key `host` serves now (PEMs, checked), for a
   * handshake, or for a process that serves on this manager's behalf: held
   * with its cached context, else read again from the store or files, else
   * (a host without one yet, or whose stored one is gone) obtained as the
   * issuer's mode allows; queued issuers reject with `MTA_STS_CERT_UNAVAILABLE`
   * and queue the host. Concurrent calls for one host share one read.
   */
  certificate (host: string): Promise<CertifiedKey> {
    const loaded = this.#cache.get(host)?.loaded
    const held = loaded && loaded.notAfterMs > this.#now() ? this.#contexts.certificate(host, loaded.fingerprint) : undefined
    if (held) return Promise.resolve(held)
    let reading = this.#reading.get(host)
    if (reading === undefined) {
      reading = this.#current(host).finally(() => { this.#reading.delete(host) })
      this.#reading.set(host, reading)
    }
    return reading
  }

  async #current (host: string): Promise<CertifiedKey> {
    const { issuer } = this.#opts
    const state = this.#cache.get(host)
    // Not (or no longer) configured: loaded for this caller, nothing kept.
    if (!state) return this.#ensure(host)
    const loaded = state.loaded
    if (loaded && loaded.notAfterMs > this.#now()) {
      const cert = await this.#reread(host, loaded)
      if (cert) return cert
    }
    // Changed or gone since it was loaded, or never loaded: as for a host seen the first time.
    if (issuer.mode !== 'queued') return this.#ensure(host, issuer.mode === 'files' && loaded !== undefined)
    const stored = await this.#fromStore(host)
    if (stored) {
      const replaced = loaded !== undefined && loaded.fingerprint !== stored.fingerprint
      state.loaded = prepareCertificate(stored)
      if (replaced) this.#changed(host)
      return stored
    }
    this.#enqueue(host)
    throw new errors.CERT_UNAVAILABLE(host, state.lastError ?? 'not obtained yet')
  }

  /** The certificate `loaded` describes, when the store (or, for `files`, the operator's files) still holds it. */
  async #reread (host: string, loaded: LoadedCertificate): Promise<CertifiedKey | undefined> {
    const { issuer } = this.#opts
    if (issuer.mode !== 'files') {
      const pems = await this.#storage.read(host)
      return pems && knownCertificate(pems, knownOf(loaded))
    }
    // A file that cannot be read is loaded again through #ensure, which logs and counts the failure.
    const pems = await issuer.obtain(host).catch(() => undefined)
    return pems && knownCertificate(pems, knownOf(loaded))
  }

  /**
   * The certificate and key `host` is served with, for the workers of
   * `serve --workers`, which build their own SecureContexts: as
   * {@link certificate}, but only for a host this manager serves (rejects
   * with `MTA_STS_CERT_UNAVAILABLE` for any other, without loading anything).
   */
  async material (host: string): Promise<CertifiedKey> {
    if (this.#cache.get(host) === undefined) throw new errors.CERT_UNAVAILABLE(host, 'not a served host')
    return await this.certificate(host)
  }

  /** Call `listener` with the host whenever the certificate served for it is replaced (renewal, new files). */
  onCertificateChange (listener: (host: string) => void): void {
    this.#changeListeners.push(listener)
  }

  /** Load (or obtain) the certificates of `hosts`, `concurrency` at a time. Failures are logged, not thrown. */
  async preload (hosts: Iterable<string>, concurrency = 8): Promise<void> {
    await pLimit(concurrency).map([...hosts], host => this.#ensure(host).catch(() => {}))
  }

  /**
   * Hosts that cannot be served now. With an on-demand issuer only hosts
   * whose last attempt failed count (the others are issued at the first
   * handshake); otherwise every host needs a loaded, unexpired certificate.
   */
  unavailable (): string[] {
    return this.#cache.unavailable(this.#now())
  }

  /** Per-host state, expiry and next action. */
  status (): CertificateStatus[] {
    return this.#cache.status()
  }

  /** Expiry of every loaded certificate, for the metrics gauges. */
  expiries (): Iterable<{ host: string; notAfter: Date }> {
    return this.#cache.expiries()
  }

  /**
   * The renewal plan of the certificate served for `host`, for the set-up
   * check: undefined when none is loaded, and for `files` issuers (the
   * operator renews those files).
   */
  renewal (host: string): RenewalPlan | undefined {
    return this.#cache.renewal(host)
  }

  /** Start the periodic check (and, unless issuing on demand, one right away). */
  start (): void {
    this.#loop.start(this.#opts.issuer.mode !== 'on-demand')
  }

  /**
   * One pass over all hosts: queue what needs obtaining or renewing, re-read
   * changed files, poll renewal information. Resolves when the pass (not the
   * queued issuances) is done; concurrent calls share one pass.
   */
  check (): Promise<void> {
    return this.#loop.pass()
  }

  async #check (): Promise<void> {
    const { issuer, logger } = this.#opts
    const now = this.#now()
    const work: Promise<unknown>[] = []
    for (const [host, state] of this.#cache.entries()) {
      if (this.#loop.closed) return
      // The state object stays, but its certificate may change while this pass awaits.
      if (state.pending || state.queued) continue
      if (state.retryAt && state.retryAt.getTime() > now) continue
      let loaded = state.loaded
      switch (issuer.mode) {
        case 'files':
          if (!loaded) {
            work.push(this.#ensure(host, true).catch(() => {}))
          } else if (issuer.version) {
            const version = await issuer.version(host).catch(() => undefined)
            if (version !== loaded.version) work.push(this.#ensure(host, true).catch(() => {}))
          }
          break
        case 'on-demand':
          if (!loaded) break
          if (issuer.renewalWindow && (!state.ari || state.ari.nextPoll.getTime() <= now)) loaded = await this.#pollRenewalInfo(host, state, loaded)
          if (renewAtMsOf(state, loaded) <= now) work.push(this.#ensure(host, true).catch(() => {}))
          break
        case 'queued': {
          if (!loaded) {
            const stored = await this.#fromStore(host)
            if (stored) state.loaded = prepareCertificate(stored)
            else this.#enqueue(host)
            break
          }
          if (issuer.renewalWindow && (!state.ari || state.ari.nextPoll.getTime() <= now)) loaded = await this.#pollRenewalInfo(host, state, loaded)
          if (renewAtMsOf(state, loaded) <= now) this.#enqueue(host)
          break
        }
      }
    }
    await Promise.all(work)
  }

  /**
   * Ask the CA for the renewal window of the certificate `loaded` describes,
   * read again from the store for it. A different certificate found there
   * (another replica renewed it) is taken up and asked about instead; none
   * usable there: nothing is asked, and the renewal, due or not, replaces it.
   */
  async #pollRenewalInfo (host: string, state: HostState, loaded: LoadedCertificate): Promise<LoadedCertificate> {
    const { issuer, logger } = this.#opts
    const cert = await this.#fromStore(host).catch(() => undefined)
    if (!cert) return loaded
    const current = cert.fingerprint === loaded.fingerprint ? loaded : prepareCertificate(cert)
    if (current !== loaded) {
      state.loaded = current
      state.ari = undefined
    }
    await pollRenewalInfo(issuer, logger, host, state, cert, this.#now())
    return current
  }

  /** Stop the timer and queue, and wait for work in flight. */
  async close (): Promise<void> {
    for (const timer of this.#recheck) clearTimeout(timer)
    this.#recheck.clear()
    await this.#loop.close()
    await Promise.allSettled([...this.#cache.states()].map(s => s.pending))
  }

  /** Wait until the queue is empty and nothing is in flight (for tests and benchmarks). */
  async idle (): Promise<void> {
    for (;;) {
      const pending = [...this.#cache.states()].map(s => s.pending).filter(p => p !== undefined)
      if (pending.length === 0 && this.#loop.idle) return
      await Promise.allSettled(pending)
      await setImmediate()
    }
  }

  #changed (host: string): void {
    for (const listener of this.#changeListeners) listener(host)
  }

  #now (): number {
    return this.#opts.clock.now().getTime()
  }

  #enqueue (host: string): void {
    const state = this.#cache.get(host)
    if (!state || state.queued || state.pending || this.#loop.closed) return
    state.queued = true
    this.#loop.enqueue(host)
  }

  #ensure (host: string, refresh = false): Promise<CertifiedKey> {
    // Not (or no longer) configured: load for this caller but keep nothing.
    const state: HostState = this.#cache.get(host) ?? hostState()
    if (state.pending) return state.pending
    if (!refresh && state.retryAt && state.retryAt.getTime() > this.#now() && state.lastError !== undefined) {
      return Promise.reject(new errors.CERT_UNAVAILABLE(host, state.lastError))
    }
    const work = this.#load(host, refresh, state).then(fresh => {
      const replaced = state.loaded !== undefined && state.loaded.fingerprint !== fresh.loaded.fingerprint
      state.loaded = fresh.loaded
      if (replaced) this.#changed(host)
      state.failures = 0
      state.lastError = undefined
      state.retryAt = undefined
      state.ari = undefined
      // A host in use switches now; the others read the new certificate at their next handshake.
      if (this.#cache.get(host) === state) this.#contexts.replace(host, fresh.cert)
      fresh.announce?.()
      return fresh.cert
    }, (err: IssuanceError) => {
      if (!(err instanceof IssuingElsewhere)) return this.#failed(host, state, err)
      this.#elsewhere(host)
      throw new errors.CERT_UNAVAILABLE(host, 'another instance is obtaining it')
    }).finally(() => { state.pending = undefined })
    state.pending = work
    return work
  }

  /**
   * Another instance holds `host`'s issuance lock: look again in a moment, when it will have stored
   * the certificate (or died, and its lease ran out). Not a failure: nothing is counted or logged
   * as one, and no back-off starts.
   */
  #elsewhere (host: string): void {
    this.#opts.logger.debug({ event: 'certificate_issuing_elsewhere', host }, `another instance is obtaining the certificate for ${host}`)
    const timer = setTimeout(() => {
      this.#recheck.delete(timer)
      this.#enqueue(host)
    }, this.#opts.elsewhereRetryMs ?? ELSEWHERE_RETRY_MS)
    timer.unref()
    this.#recheck.add(timer)
  }

  #failed (host: string, state: HostState, err: IssuanceError): never {
    const { issuer, metrics, logger } = this.#opts
    state.failures++
    // The shared database being down is not the CA refusing: retry at the first step, so issuance
    // resumes within a minute of the database coming back instead of after a long back-off.
    const retryAt = retryTime(storeDown(err) ? 1 : state.failures, err, this.#now(), this.#opts.backoffMs)
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
      ...codeOf(err),
      error: err.message,
      failures: state.failures,
      retry_at: retryAt.toISOString(),
      serving_old: state.loaded !== undefined && state.loaded.notAfterMs > this.#now(),
    }, `no new certificate for ${host}: ${err.message}`)
    throw err
  }

  #fromStore (host: string): Promise<CertifiedKey | undefined> {
    return this.#storage.load(host, cert => cert)
  }

  #load (host: string, refresh: boolean, state: HostState): Promise<FreshCertificate> {
    return this.#opts.issuer.mode === 'files' ? this.#read(host) : this.#issue(host, refresh, state)
  }

  /** `files`: read the operator's files. */
  async #read (host: string): Promise<FreshCertificate> {
    const { issuer, clock, logger, metrics } = this.#opts
    const version = await issuer.version?.(host)
    const issued = await issuer.obtain(host)
    const cert = inspectCertificate(host, issued.certPem, issued.keyPem, clock.now())
    metrics.certificateEvents.inc({ issuer: issuer.name, event: 'loaded' })
    return {
      cert,
      loaded: prepareCertificate(cert, version),
      announce: () => {
        logger.info({ event: 'certificate_loaded', host, issuer: issuer.name, not_after: cert.notAfter.toISOString(), fingerprint: cert.fingerprint }, `certificate loaded for ${host}`)
      },
    }
  }

  /** `on-demand` and `queued`: the stored certificate while usable, else a new one from the issuer, stored. */
  async #issue (host: string, refresh: boolean, state: HostState): Promise<FreshCertificate> {
    const { issuer, clock, logger, metrics } = this.#opts
    const usable = (cert: CertifiedKey | undefined): FreshCertificate | undefined => {
      if (cert === undefined) return undefined
      const loaded = prepareCertificate(cert)
      return loaded.renewAtMs > clock.now().getTime() ? { cert, loaded } : undefined
    }
    if (!refresh) {
      const stored = usable(await this.#fromStore(host))
      if (stored) return stored
    }
    // Single flight across instances sharing the store: whoever holds the lock orders; the others then find its certificate.
    // The lock is a lease renewed while the order runs, so a crashed holder's lock frees within the default TTL.
    // Queued: a host whose lock another instance holds is left to it for now, so that replicas
    // starting together spread the hosts between them instead of queueing on the same ones.
    let unlock: Unlock
    try {
      unlock = await this.#storage.lock(host, issuer.mode === 'on-demand' ? {} : { waitMs: 0 })
    } catch (err) {
      if (issuer.mode === 'queued' && (err as { code?: unknown }).code === 'MTA_STS_STORE_LOCK_TIMEOUT') throw new IssuingElsewhere(host)
      throw err
    }
    try {
      const stored = await this.#fromStore(host)
      const previous = state.loaded
      // Adopt the stored certificate when another instance renewed it meanwhile, or when it is not
      // due; the CA's ARI window can make even a not-yet-due certificate due.
      const renewedElsewhere = stored?.fingerprint !== previous?.fingerprint
      const adopt = usable(stored)
      if (adopt && (renewedElsewhere || !state.ari?.renewAt)) return adopt
      const started = Date.now()
      const renewing = previous !== undefined
      logger.info({ event: 'certificate_obtaining', host, issuer: issuer.name, renewal: renewing }, `${renewing ? 'renewing' : 'obtaining'} certificate for ${host}`)
      // The certificate replaced is the one in the store: the one served, or a later one of another instance.
      const issued = await issuer.obtain(host, previous && stored ? { replaces: stored } : {})
      let cert: CertifiedKey
      try {
        cert = inspectCertificate(host, issued.certPem, issued.keyPem, clock.now())
      } catch (err) {
        throw Object.assign(err as Error, { kind: 'malformed' as FailureKind })
      }
      await this.#storage.save(host, cert)
      metrics.certificateEvents.inc({ issuer: issuer.name, event: renewing ? 'renewed' : 'obtained' })
      const durationMs = Date.now() - started
      return {
        cert,
        loaded: prepareCertificate(cert),
        announce: () => {
          logger.info({ event: renewing ? 'certificate_renewed' : 'certificate_obtained', host, issuer: issuer.name, not_after: cert.notAfter.toISOString(), fingerprint: cert.fingerprint, duration_ms: durationMs }, `certificate ${renewing ? 'renewed' : 'obtained'} for ${host}`)
        },
      }
    } finally {
      await unlock()
    }
  }
}

/** What {@link knownCertificate} checks a certificate read again against: `loaded`, with its times as Dates. */
function knownOf (loaded: LoadedCertificate): KnownCertificate {
  return { fingerprint: loaded.fingerprint, notBefore: new Date(loaded.notBeforeMs), notAfter: new Date(loaded.notAfterMs) }
}

/** How long a queued host waits before looking again when another instance is obtaining its certificate. */
const ELSEWHERE_RETRY_MS = 2000

/** Internal: the host's issuance lock is held by another instance (never leaves this module). */
class IssuingElsewhere extends Error {
  constructor (host: string) {
    super(`another instance is obtaining the certificate for ${host}`)
  }
}

/** The error's stable code (an `MTA_STS_*` code, or Node's), for the log line. */
function codeOf (err: Error): { code?: string } {
  const code: unknown = (err as Error & { code?: unknown }).code
  return typeof code === 'string' ? { code } : {}
}

/** Whether `err` (or an error it was caused by) says the shared store's database failed. */
function storeDown (err: unknown): boolean {
  for (let e = err as { code?: unknown, cause?: unknown } | undefined, depth = 0; e !== undefined && e !== null && depth < 5; e = e.cause as typeof e, depth++) {
    if (e.code === 'MTA_STS_STORE_DATABASE_FAILED') return true
  }
  return false
}
