import { setTimeout as sleep } from 'node:timers/promises'
import type { Clock } from '../clock.js'

/**
 * A sliding-window limit on new ACME orders, so a burst of new tenants (or a
 * renewal wave) stays inside the CA's rate limit (Let's Encrypt: 300 new
 * orders per account per 3 hours). Counts this process's orders only: give
 * each replica sharing an account its share.
 */
export class OrderBudget {
  readonly #max: number
  readonly #windowMs: number
  readonly #clock: Clock
  readonly #placed: number[] = []

  constructor (max: number, windowMs: number, clock: Clock) {
    this.#max = max
    this.#windowMs = windowMs
    this.#clock = clock
  }

  /** Orders that may still be placed now. */
  remaining (): number {
    this.#expire()
    return this.#max - this.#placed.length
  }

  /** When the next order may be placed (now when budget is left). */
  nextSlot (): Date {
    this.#expire()
    const now = this.#clock.now().getTime()
    if (this.#placed.length < this.#max) return new Date(now)
    return new Date((this.#placed[0] as number) + this.#windowMs)
  }

  /** Wait (without blocking anything else) until an order may be placed, then count it. */
  async take (signal?: AbortSignal): Promise<void> {
    for (;;) {
      const wait = this.nextSlot().getTime() - this.#clock.now().getTime()
      if (wait <= 0) break
      await sleep(Math.min(wait, 60_000), undefined, { ref: false, ...(signal ? { signal } : {}) })
    }
    this.#placed.push(this.#clock.now().getTime())
  }

  #expire (): void {
    const cutoff = this.#clock.now().getTime() - this.#windowMs
    while (this.#placed.length > 0 && (this.#placed[0] as number) <= cutoff) this.#placed.shift()
  }
}
