import { createSecureContext, type SecureContext } from 'node:tls'
import type { CertifiedKey } from './certified-key.js'

/** TLS versions offered to senders (RFC 8461 requires TLS 1.2 or later). */
export const TLS_VERSIONS = Object.freeze({ minVersion: 'TLSv1.2', maxVersion: 'TLSv1.3' } as const)

/** A SecureContext serving `cert`, with the TLS versions offered to senders. */
export function buildContext (cert: Pick<CertifiedKey, 'certPem' | 'keyPem'>): SecureContext {
  return createSecureContext({ cert: cert.certPem, key: cert.keyPem, ...TLS_VERSIONS })
}

/** Caches at least this large reuse the contexts they drop (see {@link ContextCache}). */
export const RECYCLE_FROM = 16

/** The native handle of a SecureContext: Node's own `createSecureContext` loads certificates and keys through it. */
interface NativeContext {
  setCert?: (cert: string) => void
  setKey?: (key: string, passphrase: undefined) => void
}

/**
 * `context`, made to serve `cert` instead of what it served, or undefined
 * when it cannot be (then it is dropped). A handshake that was given the
 * context before holds its own copy of the certificate and key (OpenSSL
 * copies them into the connection when the SNI callback picks a context).
 */
function reload (context: SecureContext, cert: CertifiedKey): SecureContext | undefined {
  const native = (context as { context?: NativeContext }).context
  if (typeof native?.setCert !== 'function' || typeof native.setKey !== 'function') return undefined
  try {
    native.setCert(cert.certPem)
    native.setKey(cert.keyPem, undefined)
    return context
  } catch {
    return undefined
  }
}

/**
 * The SecureContexts of the hosts handshaken lately, at most `max` of them
 * (least recently used out first), with the certificates they serve. A
 * context costs about 26 KiB and 1.4 ms to build, so building every tenant's
 * at start would cost gigabytes and minutes at 100,000 tenants, while senders
 * only ever fetch from a few at a time. An entry is found by the host and the
 * fingerprint of the certificate the host should serve: when the certificate
 * changes, the old entry no longer answers.
 *
 * A full cache reuses the context it drops for the host it adds, loading the
 * new certificate and key into it. Node does not tell V8 about a context's
 * native memory, so dropped contexts wait for a major garbage collection,
 * which a small JavaScript heap rarely needs: a sweep of 100,000 tenants
 * through a cache of 1,000 left hundreds of megabytes of dropped contexts.
 * Reused, the cache holds `max` contexts and no more. A context is reused
 * only after `max` other hosts got one since it was handed out, never in the
 * turn that hands it to a handshake; caches smaller than {@link RECYCLE_FROM}
 * build new ones.
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
    let context: SecureContext | undefined
    if (this.#entries.size >= this.#max) {
      const [oldest, entry] = this.#entries.entries().next().value as [string, { context: SecureContext }]
      this.#entries.delete(oldest)
      if (this.#max >= RECYCLE_FROM) context = reload(entry.context, cert)
    }
    context ??= buildContext(cert)
    this.#entries.set(host, { cert, context })
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
