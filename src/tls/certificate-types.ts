/**
 * Types shared by the certificate manager and its readers (the ops routes,
 * the set-up checks), so that they need not import the manager.
 */

/** Where a host's certificate stands (see {@link CertificateStatus.state}). */
export type CertificateState = 'valid' | 'pending' | 'failing' | 'missing'

/** The next thing the manager does for a host. */
export type CertificateAction = 'obtain' | 'renew' | 'retry' | 'reload' | 'on-demand'

/** What the manager knows about one host, for the status page and metrics. */
export interface CertificateStatus {
  readonly host: string
  /** `valid`: serving a good certificate; `pending`: being obtained; `failing`: last attempt failed; `missing`: none yet. */
  readonly state: CertificateState
  readonly notAfter?: Date
  readonly renewAt?: Date
  /** The next thing the manager will do for this host, and when. */
  readonly next?: { readonly action: CertificateAction; readonly at?: Date }
  readonly failures: number
  readonly lastError?: string
  readonly retryAt?: Date
}

/** When the manager will replace the certificate it serves for a host (see `CertificateManager.renewal`). */
export interface RenewalPlan {
  /** SHA-256 fingerprint of the certificate served now (`AA:BB:...`, as Node formats it). */
  readonly fingerprint: string
  /** Its renewal point: a third of the lifetime left (minus jitter), or inside the CA's ARI window. */
  readonly renewAt: Date
  /** Why the last attempt failed, while failing. */
  readonly lastError?: string
}
