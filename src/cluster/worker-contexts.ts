import { createSecureContext, type SecureContext } from 'node:tls'
import type { Logger } from 'pino'
import { closeSoon, TLS_VERSIONS } from '../tls/context-cache.js'
import { createSniCallback, type SniCallback } from '../tls/sni-callback.js'

/** A host's certificate chain and key as the primary hands them to a worker (the key is a secret: never logged). */
export interface CertificateMaterial {
  readonly certPem: string
  readonly keyPem: string
  /** ISO time the certificate expires: past it, the worker asks again. */
  readonly notAfter: string
}

/** Where a worker gets a host's certificate: the primary, over IPC. */
export type MaterialSource = (host: string) => Promise<CertificateMaterial>

/**
 * A worker's SecureContexts: at most `max` (least recently used out first),
 * each built from what `source` (the primary) answers for its host. Several
 * handshakes for a cold host share one request. {@link drop} forgets a host
 * whose certificate changed, also one asked for at that moment, so an answer
 * that left the primary before the change is not kept.
 */
export class WorkerContexts {
  readonly #max: number
  readonly #source: MaterialSource
  readonly #entries = new Map<string, { context: SecureContext, notAfter: number }>()
  readonly #loading = new Map<string, Promise<SecureContext>>()
  /** Bumped by every drop of a host, so a request started before it does not fill the cache. */
  readonly #generation = new Map<string, number>()

  constructor (max: number, source: MaterialSource) {
    this.#max = max
    this.#source = source
  }

  /** Contexts held now. */
  get size (): number {
    return this.#entries.size
  }

  /** The context for `host`: at once when held and unexpired, else asked for. */
  context (host: string, now = Date.now()): SecureContext | Promise<SecureContext> {
    const entry = this.#entries.get(host)
    if (entry !== undefined && entry.notAfter > now) {
      this.#entries.delete(host)
      this.#entries.set(host, entry)
      return entry.context
    }
    let loading = this.#loading.get(host)
    if (loading === undefined) {
      const generation = this.#generation.get(host) ?? 0
      loading = this.#source(host).then(material => {
        const context = createSecureContext({ cert: material.certPem, key: material.keyPem, ...TLS_VERSIONS })
        if ((this.#generation.get(host) ?? 0) === generation) {
          this.#forget(host)
          this.#entries.set(host, { context, notAfter: Date.parse(material.notAfter) })
          if (this.#entries.size > this.#max) this.#forget(this.#entries.keys().next().value as string)
        }
        return context
      }).finally(() => { this.#loading.delete(host) })
      this.#loading.set(host, loading)
    }
    return loading
  }

  /** Forget `host`'s context: its certificate changed, or it is no longer served. */
  drop (host: string): void {
    this.#forget(host)
    this.#loading.delete(host)
    this.#generation.set(host, (this.#generation.get(host) ?? 0) + 1)
  }

  /** Remove `host`'s entry; its context is closed at the next turn (see `closeSoon`), not left to a late major GC. */
  #forget (host: string): void {
    const entry = this.#entries.get(host)
    if (entry === undefined) return
    this.#entries.delete(host)
    closeSoon(entry.context)
  }

  /**
   * The TLS server's SNICallback: an unknown name (by `isTenantHost`, the
   * worker's snapshot) is refused at once, without asking the primary.
   */
  sniCallback (isTenantHost: (host: string) => boolean, logger: Logger): SniCallback {
    return createSniCallback(isTenantHost, this, logger)
  }

}
