import { createSecureContext, type SecureContext } from 'node:tls'
import type { CertifiedKey } from './certified-key.js'

/** TLS versions offered to senders (RFC 8461 requires TLS 1.2 or later). */
export const TLS_VERSIONS = Object.freeze({ minVersion: 'TLSv1.2', maxVersion: 'TLSv1.3' } as const)

/** A SecureContext serving `cert`, with the TLS versions offered to senders. */
export function buildContext (cert: Pick<CertifiedKey, 'certPem' | 'keyPem'>): SecureContext {
  return createSecureContext({ cert: cert.certPem, key: cert.keyPem, ...TLS_VERSIONS })
}

/** The native handle of a SecureContext: `close()` frees its OpenSSL context (and the certificate and key in it) at once. */
interface NativeContext {
  close?: () => void
}

/**
 * Free the native memory of `contexts` now rather than at some later major
 * garbage collection. A handshake that was given one of them holds its own
 * references to the certificate, key and chain (Node copies them into the
 * connection when the SNI callback answers), so closing cannot break it.
 * A context whose native handle has no `close` is left to the collector.
 */
export function closeContexts (contexts: Iterable<SecureContext>): void {
  for (const context of contexts) {
    const native = (context as { context?: NativeContext }).context
    try {
      native?.close?.()
    } catch {
      // Already closed, or not closable: the collector frees it.
    }
  }
}

/**
 * Close `context` at the next turn of the event loop: a handshake handed it
 * in this turn (the SNI callback answers in a microtask at the latest) has
 * taken its certificate, key and chain from it by then.
 */
export function closeSoon (context: SecureContext): void {
  setImmediate(closeContexts, [context]).unref()
}

/**
 * The SecureContexts of the hosts handshaken lately, at most `max` of them
 * (least recently used out first), with the certificates they serve. A
 * context costs about 26 KiB and 1.2 ms to build, so building every tenant's
 * at start would cost gigabytes and minutes at 100,000 tenants, while senders
 * only ever fetch from a few at a time. An entry is found by the host and the
 * fingerprint of the certificate the host should serve: when the certificate
 * changes, the old entry no longer answers.
 *
 * A context the cache drops (least recently used, replaced, or its host no
 * longer served) is closed at the next turn of the event loop, once the
 * handshake it may have just been handed to (the SNI callback answers in a
 * microtask at the latest) has taken its certificate from it. Node does not
 * tell V8 about a context's native memory, so a dropped context left to the
 * collector waits for a major garbage collection, which a small JavaScript
 * heap rarely needs: a sweep of 100,000 tenants through a cache of 1,000
 * left hundreds of megabytes of them. Nor is a dropped context reused by
 * loading another certificate into it: Node's `setCert` adds the new chain's
 * intermediates to those already in the context, so every reuse made its
 * chain one certificate longer (measured: 7 KiB more per reuse, a chain of 100
 * certificates sent in each handshake after a sweep of 100,000 tenants).
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
    if (this.#entries.size >= this.#max) {
      const [oldest, entry] = this.#entries.entries().next().value as [string, { context: SecureContext }]
      this.#entries.delete(oldest)
      this.#drop(entry.context)
    }
    this.#entries.set(host, { cert, context })
    return context
  }

  /** Serve `cert` for `host` from now on when a context is held for it (a renewal of a host in use); else nothing. */
  replace (host: string, cert: CertifiedKey): void {
    if (this.#entries.has(host)) this.set(host, cert)
  }

  /** Forget `host` (it is no longer served). */
  delete (host: string): void {
    const entry = this.#entries.get(host)
    if (entry === undefined) return
    this.#entries.delete(host)
    this.#drop(entry.context)
  }

  #touch (host: string, fingerprint: string): { cert: CertifiedKey, context: SecureContext } | undefined {
    const entry = this.#entries.get(host)
    if (entry === undefined) return undefined
    this.#entries.delete(host)
    if (entry.cert.fingerprint !== fingerprint) {
      this.#drop(entry.context)
      return undefined
    }
    this.#entries.set(host, entry)
    return entry
  }

  #drop (context: SecureContext): void {
    closeSoon(context)
  }
}
