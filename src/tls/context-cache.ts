import { createSecureContext, type SecureContext } from 'node:tls'
import type { CertifiedKey } from './certified-key.js'

/** TLS versions offered to senders (RFC 8461 requires TLS 1.2 or later). */
export const TLS_VERSIONS = Object.freeze({ minVersion: 'TLSv1.2', maxVersion: 'TLSv1.3' } as const)

/** A SecureContext serving `cert`, with the TLS versions offered to senders. */
export function buildContext (cert: Pick<CertifiedKey, 'certPem' | 'keyPem'>): SecureContext {
  return createSecureContext({ cert: cert.certPem, key: cert.keyPem, ...TLS_VERSIONS })
}

/**
 * The SecureContexts of the hosts handshaken lately, at most `max` of them
 * (least recently used out first), with the certificates they serve. A
 * context costs about 26 KiB and 1.4 ms to build, so building every tenant's
 * at start would cost gigabytes and minutes at 100,000 tenants, while senders
 * only ever fetch from a few at a time. An entry is found by the host and the
 * fingerprint of the certificate the host should serve: when the certificate
 * changes, the old entry no longer answers.
 */
export class ContextCache {
  readonly #max: number
  readonly #entries = new Map<string, { cert: CertifiedKey, context: SecureContext }>()

  constructor (max: number) {
    this.#max = max
  }

  /** Contexts held now. */
  get size (): number {
    return this.#entries.size
  }

  /** The context held for `host` when it serves the certificate with `fingerprint` (then used last), else undefined. */
  get (host: string, fingerprint: string): SecureContext | undefined {
    return this.#touch(host, fingerprint)?.context
  }

  /** The certificate held for `host` when its fingerprint is `fingerprint`, else undefined. */
  certificate (host: string, fingerprint: string): CertifiedKey | undefined {
    return this.#touch(host, fingerprint)?.cert
  }

  /** Hold the context of `cert` for `host` (built now unless held already), dropping the least recently used beyond `max`. */
  set (host: string, cert: CertifiedKey): SecureContext {
    const held = this.#touch(host, cert.fingerprint)
    if (held !== undefined) return held.context
    const context = buildContext(cert)
    this.#entries.set(host, { cert, context })
    if (this.#entries.size > this.#max) this.#entries.delete(this.#entries.keys().next().value as string)
    return context
  }

  /** Serve `cert` for `host` from now on when a context is held for it (a renewal of a host in use); else nothing. */
  replace (host: string, cert: CertifiedKey): void {
    if (this.#entries.has(host)) this.set(host, cert)
  }

  /** Forget `host` (it is no longer served). */
  delete (host: string): void {
    this.#entries.delete(host)
  }

  #touch (host: string, fingerprint: string): { cert: CertifiedKey, context: SecureContext } | undefined {
    const entry = this.#entries.get(host)
    if (entry === undefined) return undefined
    this.#entries.delete(host)
    if (entry.cert.fingerprint !== fingerprint) return undefined
    this.#entries.set(host, entry)
    return entry
  }
}
