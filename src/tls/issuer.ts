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
  /** Get a certificate for `host`. Rejects with a reason the operator can act on. */
  obtain (host: string): Promise<IssuedCertificate>
  /** For unmanaged issuers: a token that changes when the source changes (file times). */
  version? (host: string): Promise<string>
}
