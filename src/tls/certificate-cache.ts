import { renewalTime, type CertifiedKey } from './certified-key.js'
import type { CertificateStatus, RenewalPlan } from './certificate-types.js'
import { isManaged, type IssuerMode } from './issuer.js'

/**
 * What is kept of a host's certificate between handshakes: enough for
 * renewal, status, readiness and the expiry metrics, about 200 bytes.
 * The PEMs and parsed objects are not kept: at 100,000 tenants they would
 * hold about 11 KiB per host. The store (or the operator's files) is read
 * again when a handshake needs a context that is no longer cached.
 * Times are milliseconds since the epoch, not Dates: a V8 Date costs 96
 * bytes, and three per host were 29 MB after a sweep of 100,000 tenants.
 */
export interface LoadedCertificate {
  /** SHA-256 fingerprint of the leaf (`AA:BB:...`): tells whether the store still holds this certificate. */
  readonly fingerprint: string
  /** The leaf's notBefore, in ms since the epoch. */
  readonly notBeforeMs: number
  /** The leaf's notAfter, in ms since the epoch. */
  readonly notAfterMs: number
  /** Default renewal time (ms since the epoch): a third of the lifetime left, minus jitter. */
  readonly renewAtMs: number
  /** For `files` issuers: the version of the files it was read from. */
  readonly version: string | undefined
}

/** A certificate just read or issued: itself (for the handshake waiting for it), what is kept of it, and its log line. */
export interface FreshCertificate {
  readonly cert: CertifiedKey
  readonly loaded: LoadedCertificate
  /** Logs a certificate just loaded or issued: called once it is installed, so the log never runs ahead of what is served. */
  readonly announce?: () => void
}

/**
 * What is known of one host: its certificate, the work in flight, failures and the CA's renewal window.
 * Made by {@link hostState} with every field present, and cleared by setting a field to undefined,
 * never by `delete`: a deleted property turns the object into a dictionary of about 300 bytes,
 * one per host handshaken (30 MB after a sweep of 100,000 tenants).
 */
export interface HostState {
  loaded: LoadedCertificate | undefined
  pending: Promise<CertifiedKey> | undefined
  queued: boolean
  failures: number
  lastError: string | undefined
  retryAt: Date | undefined
  ari: { renewAt?: Date; nextPoll: Date } | undefined
}

/** The state of a host nothing is known of yet: every field of {@link HostState} present, so its shape never changes. */
export function hostState (): HostState {
  return { loaded: undefined, pending: undefined, queued: false, failures: 0, lastError: undefined, retryAt: undefined, ari: undefined }
}

/** What to keep of `cert`, with its renewal time (with jitter); its SecureContext is built when a handshake needs it (see `ContextCache`). */
export function prepareCertificate (cert: CertifiedKey, version?: string): LoadedCertificate {
  const lifetime = cert.notAfter.getTime() - cert.notBefore.getTime()
  // Jitter (up to 2% of the lifetime, at most a day) keeps a fleet of same-day certificates from renewing at once.
  const jitter = Math.random() * Math.min(lifetime * 0.02, 86_400_000)
  const renewAtMs = renewalTime(cert).getTime() - jitter
  return { fingerprint: cert.fingerprint, notBeforeMs: cert.notBefore.getTime(), notAfterMs: cert.notAfter.getTime(), renewAtMs, version }
}

/** When `loaded` is due (ms since the epoch): inside the CA's ARI window when it gave one, else its default renewal time. */
export function renewAtMsOf (state: HostState, loaded: LoadedCertificate): number {
  return state.ari?.renewAt?.getTime() ?? loaded.renewAtMs
}

/** {@link renewAtMsOf} as a Date, for status answers. */
export function renewAtOf (state: HostState, loaded: LoadedCertificate): Date {
  return new Date(renewAtMsOf(state, loaded))
}

/**
 * The hosts served and what is known of each (certmagic's cache): their
 * loaded certificates (what is kept of them), work in flight and failures, and
 * the status, expiry and readiness views built from them.
 */
export class CertificateCache {
  readonly #states = new Map<string, HostState>()
  readonly #mode: IssuerMode

  constructor (mode: IssuerMode) {
    this.#mode = mode
  }

  /** The state of `host`, when it is served. */
  get (host: string): HostState | undefined {
    return this.#states.get(host)
  }

  /** Every served host and its state. */
  entries (): IterableIterator<[string, HostState]> {
    return this.#states.entries()
  }

  /** Every served host's state. */
  states (): IterableIterator<HostState> {
    return this.#states.values()
  }

  /** Serve `host` (no-op when served already). */
  add (host: string): void {
    if (!this.#states.has(host)) this.#states.set(host, hostState())
  }

  /** Stop serving `host` and forget its state. */
  remove (host: string): void {
    this.#states.delete(host)
  }

  /** Serve exactly `hosts`. */
  set (hosts: ReadonlySet<string>): void {
    for (const host of this.#states.keys()) if (!hosts.has(host)) this.#states.delete(host)
    for (const host of hosts) this.add(host)
  }

  /**
   * Hosts that cannot be served at `now`. With an on-demand issuer only hosts
   * whose last attempt failed count (the others are issued at the first
   * handshake); otherwise every host needs a loaded, unexpired certificate.
   */
  unavailable (now: number): string[] {
    const out: string[] = []
    for (const [host, state] of this.#states) {
      if (state.loaded && state.loaded.notAfterMs > now) continue
      if (this.#mode !== 'on-demand' || state.lastError !== undefined) out.push(host)
    }
    return out
  }

  /** Per-host state, expiry and next action. */
  status (): CertificateStatus[] {
    const out: CertificateStatus[] = []
    for (const [host, state] of this.#states) {
      const loaded = state.loaded
      const renewAt = loaded ? renewAtOf(state, loaded) : undefined
      const stateName = state.pending || state.queued ? 'pending' : state.lastError !== undefined ? 'failing' : loaded ? 'valid' : 'missing'
      let next: CertificateStatus['next']
      if (state.retryAt && state.lastError !== undefined) next = { action: 'retry', at: state.retryAt }
      else if (this.#mode === 'files') next = { action: 'reload' }
      else if (loaded && renewAt) next = { action: 'renew', at: renewAt }
      else next = this.#mode === 'on-demand' ? { action: 'on-demand' } : { action: 'obtain' }
      out.push({
        host,
        state: stateName,
        ...(loaded ? { notAfter: new Date(loaded.notAfterMs) } : {}),
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
    for (const [host, state] of this.#states) if (state.loaded) yield { host, notAfter: new Date(state.loaded.notAfterMs) }
  }

  /** The renewal plan of the certificate served for `host`: undefined when none is loaded, and for `files` issuers. */
  renewal (host: string): RenewalPlan | undefined {
    const state = this.#states.get(host)
    const loaded = state?.loaded
    if (!state || !loaded || !isManaged(this.#mode)) return undefined
    return { fingerprint: loaded.fingerprint, renewAt: renewAtOf(state, loaded), ...(state.lastError === undefined ? {} : { lastError: state.lastError }) }
  }
}
