import { createSecureContext, type SecureContext } from 'node:tls'
import type { CertifiedKey } from './certified-key.js'

/** TLS versions offered to senders (RFC 8461 requires TLS 1.2 or later). */
export const TLS_VERSIONS = Object.freeze({ minVersion: 'TLSv1.2', maxVersion: 'TLSv1.3' } as const)

/**
 * The SecureContexts of the hosts handshaken lately, at most `max` of them
 * (least recently used out first). A context costs about 26 KiB and 1.4 ms to
 * build, so building every tenant's at start would cost gigabytes and minutes
 * at 100,000 tenants, while senders only ever fetch from a few at a time. A
 * host's entry is rebuilt when its certificate changes.
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

  /** The context of `cert` for `host`, built now unless held. */
  get (host: string, cert: CertifiedKey): SecureContext {
    const entry = this.#entries.get(host)
    this.#entries.delete(host)
    if (entry !== undefined && entry.cert === cert) {
      this.#entries.set(host, entry)
      return entry.context
    }
    const context = createSecureContext({ cert: cert.certPem, key: cert.keyPem, ...TLS_VERSIONS })
    this.#entries.set(host, { cert, context })
    if (this.#entries.size > this.#max) this.#entries.delete(this.#entries.keys().next().value as string)
    return context
  }

  /** Forget `host` (it is no longer served). */
  delete (host: string): void {
    this.#entries.delete(host)
  }
}
