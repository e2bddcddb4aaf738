import type { RenewalPlan } from '../tls/certificate-types.js'
import { renewalTime } from '../tls/certified-key.js'

/** A certificate this service does not renew (operator files, or served elsewhere) warns this many days before it expires. */
export const UNMANAGED_EXPIRY_WARNING_DAYS = 7

const DAY_MS = 86_400_000

/** The policy host's certificate as presented in the TLS handshake. */
export interface PresentedCertificate {
  readonly notBefore: Date
  readonly notAfter: Date
  /** SHA-256 fingerprint, `AA:BB:...` as Node formats it. */
  readonly fingerprint: string
}

/** What the policy host's certificate needs: nothing, or a look (with reason and hint). */
export type ExpiryVerdict =
  | { readonly warn: false; readonly renewAt?: Date }
  | { readonly warn: true; readonly reason: string; readonly hint: string; readonly renewAt?: Date }

/** Options of {@link policyCertificateExpiry}. */
export interface ExpiryOptions {
  /** This service issues and renews the tenant hosts' certificates (issuer `acme` or `internal`). */
  readonly managed: boolean
  /** The certificate manager's plan for the host, when the check runs inside `serve`. */
  readonly plan?: RenewalPlan
  readonly now: Date
}

/**
 * Whether the policy host's certificate deserves a warning, following the
 * renewal schedule rather than a fixed number of days:
 * - managed (this service renews it): only once it is past its renewal point
 *   and still served. The point is the manager's own (with jitter and the
 *   CA's ARI window) when the manager serves this very certificate; otherwise
 *   (the CLI, another replica) it is computed the way the manager computes
 *   it, a third of the lifetime left. A short-lived certificate close to its
 *   expiry is normal and does not warn.
 * - unmanaged (operator files): within {@link UNMANAGED_EXPIRY_WARNING_DAYS} days of expiry.
 */
export function policyCertificateExpiry (host: string, cert: PresentedCertificate, opts: ExpiryOptions): ExpiryVerdict {
  const left = cert.notAfter.getTime() - opts.now.getTime()
  const expires = `it expires in ${Math.floor(left / DAY_MS)} day(s) (${cert.notAfter.toISOString()})`
  if (!opts.managed) {
    if (left > UNMANAGED_EXPIRY_WARNING_DAYS * DAY_MS) return { warn: false }
    return {
      warn: true,
      reason: `the certificate of ${host} is not renewed by this service and ${expires}`,
      hint: `install a renewed certificate for ${host} (issuer files: the operator renews the files)`,
    }
  }
  const plan = opts.plan?.fingerprint === cert.fingerprint ? opts.plan : undefined
  const renewAt = plan?.renewAt ?? renewalTime(cert)
  if (opts.now.getTime() < renewAt.getTime()) return { warn: false, renewAt }
  const failing = plan?.lastError === undefined ? '' : `; last attempt: ${plan.lastError}`
  return {
    warn: true,
    renewAt,
    reason: `the certificate of ${host} was due for renewal at ${renewAt.toISOString()} and is still served; ${expires}${failing}`,
    hint: 'find out why renewal stalls: GET /certificates on the ops listener and the certificate_failed log events of the service',
  }
}
