import { setTimeout as sleep } from 'node:timers/promises'
import { errors } from '../errors.js'
import { assertKey, DEFAULT_LOCK_TTL_MS, DEFAULT_LOCK_WAIT_MS, type LockOptions, type Store, type Unlock } from './store.js'

/** A {@link Store} in memory, for tests and single-process trials. Values are copied in and out. */
export class MemoryStore implements Store {
  readonly #data = new Map<string, Buffer>()
  readonly #locks = new Map<string, { token: object; expires: number }>()

  async get (key: string): Promise<Buffer | undefined> {
    assertKey(key)
    const value = this.#data.get(key)
    return value === undefined ? undefined : Buffer.from(value)
  }

  async put (key: string, value: string | Buffer, _opts?: { secret?: boolean }): Promise<void> {
    assertKey(key)
    this.#data.set(key, Buffer.from(value))
  }

  async delete (key: string): Promise<void> {
    assertKey(key)
    this.#data.delete(key)
  }

  async list (prefix: string): Promise<string[]> {
    if (prefix !== '') assertKey(prefix)
    const base = prefix === '' ? '' : `${prefix}/`
    return [...this.#data.keys()].filter(k => k.startsWith(base)).sort()
  }

  async lock (name: string, opts: LockOptions = {}): Promise<Unlock> {
    assertKey(name)
    const ttlMs = opts.ttlMs ?? DEFAULT_LOCK_TTL_MS
    const refreshMs = opts.refreshMs ?? ttlMs / 3
    const deadline = Date.now() + (opts.waitMs ?? DEFAULT_LOCK_WAIT_MS)
    const token = {}
    for (;;) {
      const held = this.#locks.get(name)
      if (!held || held.expires < Date.now()) {
        this.#locks.set(name, { token, expires: Date.now() + ttlMs })
        // The lease is renewed while held; a holder whose lock was taken over stops renewing.
        const timer = refreshMs > 0
          ? setInterval(() => {
            const current = this.#locks.get(name)
            if (current?.token === token) current.expires = Date.now() + ttlMs
            else clearInterval(timer)
          }, refreshMs)
          : undefined
        timer?.unref()
        return async () => {
          clearInterval(timer)
          if (this.#locks.get(name)?.token === token) this.#locks.delete(name)
        }
      }
      if (Date.now() >= deadline) throw new errors.STORE_LOCK_TIMEOUT(name)
      await sleep(10)
    }
  }
}
