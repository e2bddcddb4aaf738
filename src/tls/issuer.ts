import type { CertifiedKey } from './certified-key.js'

/** PEM material an issuer hands out for one host. */
export interface IssuedCertificate {
  readonly certPem: string
  readonly keyPem: string
}

/**
 * Where certificates come from. The certificate manager asks an issuer for a
 * host's certificate when it has none or its current one is due for renewal;
 * the ACME issuer plugs in here.
 */
export interface Issuer {
  /** Short name, used in store keys, logs and metrics (`internal`, `files`, `acme`). */
  readonly name: string
  /**
   * True when the issuer creates certificates: results are kept in the store,
   * reused across restarts and renewed by the manager. False when it only
   * reads certificates someone else manages (operator files).
   */
  readonly managed: boolean
  /**
   * Managed issuers that are local and fast (the internal CA) issue on the
   * first handshake for a host; the others (ACME) are worked ahead of time
   * from a queue, since a handshake cannot wait for a CA.
   */
  readonly onDemand: boolean
  /**
   * Get a certificate for `host`. `replaces` is the certificate being renewed
   * (ACME sends its ARI id). Rejects with a reason the operator can act on;
   * an error may carry `retryAfter` (a Date the CA asked us to wait until)
   * and `kind` (for failure metrics).
   */
  obtain (host: string, opts?: { replaces?: CertifiedKey }): Promise<IssuedCertificate>
  /** For unmanaged issuers: a token that changes when the source changes (file times). */
  version? (host: string): Promise<string>
  /** The CA's suggested renewal window for a certificate (ACME Renewal Information), if it offers one. */
  renewalWindow? (cert: CertifiedKey): Promise<RenewalWindow | undefined>
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
