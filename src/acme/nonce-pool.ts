import type { Clock } from '../clock.js'

/** Nonces kept at most: enough for every order of a busy issuer, few enough to stay fresh. */
const MAX_NONCES = 64
/** Nonces older than this are not used: a CA expires them, and a stale one costs a badNonce round trip. */
const MAX_AGE_MS = 30_000

/**
 * Unused anti-replay nonces (RFC 8555 §7.2) that the CA handed out in the
 * `Replay-Nonce` header of earlier answers. acme-client asks for a new nonce
 * (a HEAD request, and with some CAs a new TLS connection) before every
 * signed request; taking one from here instead halves the requests per
 * order. Each nonce is handed out once, newest first; old ones are dropped.
 */
export class NoncePool {
  readonly #clock: Clock
  readonly #nonces: Array<{ nonce: string; at: number }> = []

  constructor (clock: Clock) {
    this.#clock = clock
  }

  /** Keep `nonce` for a later request (the oldest is dropped when full). */
  add (nonce: string): void {
    if (this.#nonces.length >= MAX_NONCES) this.#nonces.shift()
    this.#nonces.push({ nonce, at: this.#clock.now().getTime() })
  }

  /** A fresh unused nonce, or undefined when none is left. */
  take (): string | undefined {
    const oldest = this.#clock.now().getTime() - MAX_AGE_MS
    for (let entry = this.#nonces.pop(); entry !== undefined; entry = this.#nonces.pop()) {
      if (entry.at >= oldest) return entry.nonce
    }
    return undefined
  }

  /** Nonces kept now (fresh or not). */
  get size (): number {
    return this.#nonces.length
  }
}
