import { setTimeout as sleep } from 'node:timers/promises'
import type { Clock } from '../clock.js'
import type { Store } from '../store/store.js'

/** Where replicas sharing a store (and an ACME account) count their orders together. */
export interface SharedBudget {
  readonly store: Store
  /** Key of the JSON array of order times (ms since the epoch). */
  readonly key: string
  /** Lock held while the array is read, checked and written. */
  readonly lock: string
}

/**
 * A sliding-window limit on new ACME orders, so a burst of new tenants (or a
 * renewal wave) stays inside the CA's rate limit (Let's Encrypt: 300 new
 * orders per account per 3 hours). With a {@link SharedBudget}, every replica
 * sharing the store counts against one list of order times, read and written under
 * the store's lock, so the cluster as a whole stays under the limit; without, this
 * process's orders only.
 */
export class OrderBudget {
  readonly #max: number
  readonly #windowMs: number
  readonly #clock: Clock
  readonly #shared: SharedBudget | undefined
  #placed: number[] = []

  constructor (max: number, windowMs: number, clock: Clock, shared?: SharedBudget) {
    this.#max = max
    this.#windowMs = windowMs
    this.#clock = clock
    this.#shared = shared
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
      if (this.#shared !== undefined && await this.#takeShared(this.#shared)) return
      const wait = this.nextSlot().getTime() - this.#clock.now().getTime()
      if (wait <= 0 && this.#shared === undefined) break
      // Shared: the list may change under us (another replica, a clock step): look again every few seconds.
      await sleep(this.#shared === undefined ? Math.min(wait, 60_000) : Math.min(Math.max(wait, 1000), 5000), undefined, { ref: false, ...(signal ? { signal } : {}) })
    }
    this.#placed.push(this.#clock.now().getTime())
  }

  /** Reads the shared list (so {@link OrderBudget.remaining} counts every replica's orders). */
  async refresh (): Promise<void> {
    if (this.#shared !== undefined) this.#placed = await this.#read(this.#shared)
  }

  /** Under the lock: read the shared list, and count an order in it when the budget allows. */
  async #takeShared (shared: SharedBudget): Promise<boolean> {
    const unlock = await shared.store.lock(shared.lock)
    try {
      this.#placed = await this.#read(shared)
      this.#expire()
      if (this.#placed.length >= this.#max) return false
      this.#placed.push(this.#clock.now().getTime())
      await shared.store.put(shared.key, JSON.stringify(this.#placed))
      return true
    } finally {
      await unlock()
    }
  }

  async #read (shared: SharedBudget): Promise<number[]> {
    const bytes = await shared.store.get(shared.key)
    if (bytes === undefined) return []
    try {
      const list = JSON.parse(bytes.toString('utf8')) as unknown
      return Array.isArray(list) ? list.filter((x): x is number => typeof x === 'number').sort((a, b) => a - b) : []
    } catch {
      return [] // a torn or foreign value: start counting afresh rather than stop issuing
    }
  }

  #expire (): void {
    const cutoff = this.#clock.now().getTime() - this.#windowMs
    while (this.#placed.length > 0 && (this.#placed[0] as number) <= cutoff) this.#placed.shift()
  }
}
