import type { CertifiedKey } from './certified-key.js'

/** PEM material an issuer hands out for one host. */
export interface IssuedCertificate {
  readonly certPem: string
  readonly keyPem: string
}

/**
 * The three ways certificates are kept:
 * - `on-demand`: a local, fast issuer (the internal CA). Certificates are
 *   issued on the first handshake for a host, kept in the store, reused
 *   across restarts and renewed in the background.
 * - `queued`: a remote CA (ACME). A handshake cannot wait for it, so
 *   certificates are obtained and renewed ahead of time from a queue with
 *   bounded concurrency, single-flight per host across replicas; kept in the
 *   store and reused across restarts.
 * - `files`: the operator manages the files; they are read, and re-read when
 *   they change, never stored or renewed here.
 */
export type IssuerMode = 'on-demand' | 'queued' | 'files'

/** True for the modes whose certificates this service issues, stores and renews (not `files`). */
export function isManaged (mode: IssuerMode): boolean {
  return mode !== 'files'
}

/**
 * Where certificates come from. The certificate manager asks an issuer for a
 * host's certificate when it has none or its current one is due for renewal;
 * the ACME issuer plugs in here.
 */
export interface Issuer {
  /** Short name, used in store keys, logs and metrics (`internal`, `files`, `acme`). */
  readonly name: string
  /** How the certificate manager works with this issuer: see {@link IssuerMode}. */
  readonly mode: IssuerMode
  /**
   * Get a certificate for `host`. `replaces` is the certificate being renewed
   * (ACME sends its ARI id). Rejects with a reason the operator can act on;
   * an error may carry `retryAfter` (a Date the CA asked us to wait until)
   * and `kind` (for failure metrics).
   */
  obtain (host: string, opts?: { replaces?: CertifiedKey }): Promise<IssuedCertificate>
  /** For `files` issuers: a token that changes when the source changes (file times). */
  version? (host: string): Promise<string>
  /** The CA's suggested renewal window for a certificate (ACME Renewal Information), if it offers one. */
  renewalWindow? (cert: CertifiedKey): Promise<RenewalWindow | undefined>
  /**
   * The CA certificate (PEM) clients must trust to verify this issuer's
   * certificates, when they are not publicly trusted (the internal CA).
   */
  caCertificatePem? (): string
  /** Release resources (timers, interceptors). */
  close? (): Promise<void>
}

/** A renewal window suggested by the CA (RFC 9773). */
export interface RenewalWindow {
  readonly start: Date
  readonly end: Date
  /** When to ask again (the CA's Retry-After). */
  readonly retryAfter?: Date
}

/** Why an issuance failed, for metrics and back-off. */
export type FailureKind = 'rate_limited' | 'network' | 'validation' | 'malformed' | 'rejected' | 'other'

/** An issuance error with what the scheduler needs. */
export interface IssuanceError extends Error {
  retryAfter?: Date
  kind?: FailureKind
}
