import { randomBytes } from 'node:crypto'
import { mkdir, open, readdir, readFile, rename, rm, stat, unlink } from 'node:fs/promises'
import { hostname } from 'node:os'
import { dirname, join, relative, sep } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { errors } from '../errors.js'
import { assertKey, type LockOptions, type Store, type Unlock } from './store.js'

const TEMP_SUFFIX = /\.tmp-[0-9a-f]{12}$/
const LOCKS = '.locks'

/**
 * A {@link Store} on a local or shared filesystem: one file per key below
 * `root`, written to a temporary file, fsynced and renamed into place; locks
 * are files created exclusively under `root/.locks` (no key can start with a
 * dot, so locks and keys never collide).
 */
export class FileStore implements Store {
  readonly root: string

  constructor (root: string) {
    this.root = root
  }

  #path (key: string): string {
    assertKey(key)
    return join(this.root, ...key.split('/'))
  }

  async get (key: string): Promise<Buffer | undefined> {
    try {
      return await readFile(this.#path(key))
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined
      throw err
    }
  }

  async put (key: string, value: string | Buffer, opts: { secret?: boolean } = {}): Promise<void> {
    const path = this.#path(key)
    await mkdir(dirname(path), { recursive: true, mode: 0o700 })
    const tmp = `${path}.tmp-${randomBytes(6).toString('hex')}`
    const handle = await open(tmp, 'wx', opts.secret ? 0o600 : 0o644)
    try {
      await handle.writeFile(value)
      await handle.sync()
    } catch (err) {
      await handle.close()
      await rm(tmp, { force: true })
      throw err
    }
    await handle.close()
    await rename(tmp, path)
  }

  async delete (key: string): Promise<void> {
    await rm(this.#path(key), { force: true })
  }

  async list (prefix: string): Promise<string[]> {
    const base = prefix === '' ? this.root : this.#path(prefix)
    const locks = join(this.root, LOCKS)
    let entries: string[]
    try {
      entries = await readdir(base, { recursive: true })
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT' || (err as NodeJS.ErrnoException).code === 'ENOTDIR') return []
      throw err
    }
    const keys: string[] = []
    for (const entry of entries) {
      const full = join(base, entry)
      if (TEMP_SUFFIX.test(entry) || full.startsWith(locks + sep) || !(await stat(full).catch(() => undefined))?.isFile()) continue
      keys.push(relative(this.root, full).split(sep).join('/'))
    }
    return keys.sort()
  }

  async lock (name: string, opts: LockOptions = {}): Promise<Unlock> {
    const ttlMs = opts.ttlMs ?? 60_000
    const deadline = Date.now() + (opts.waitMs ?? 30_000)
    assertKey(name)
    const path = join(this.root, LOCKS, `${name}.lock`)
    await mkdir(dirname(path), { recursive: true, mode: 0o700 })
    const token = `${hostname()}:${process.pid}:${randomBytes(8).toString('hex')}`
    for (;;) {
      try {
        const handle = await open(path, 'wx', 0o600)
        await handle.writeFile(JSON.stringify({ token, expires: Date.now() + ttlMs }))
        await handle.close()
        let released = false
        return async () => {
          if (released) return
          released = true
          const current = await readFile(path, 'utf8').catch(() => '')
          if (current.includes(token)) await unlink(path).catch(() => {})
        }
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err
      }
      if (await this.#isStale(path, ttlMs)) {
        // Rename before removing so two waiters cannot both break the same stale lock and then both acquire.
        const grave = `${path}.stale-${randomBytes(4).toString('hex')}`
        await rename(path, grave).then(() => unlink(grave), () => {})
        continue
      }
      if (Date.now() >= deadline) throw new errors.STORE_LOCK_TIMEOUT(name)
      await sleep(50 + Math.floor(Math.random() * 100))
    }
  }

  async #isStale (path: string, ttlMs: number): Promise<boolean> {
    try {
      const text = await readFile(path, 'utf8')
      const expires = (JSON.parse(text) as { expires?: unknown }).expires
      if (typeof expires === 'number') return Date.now() > expires
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false
    }
    // Unreadable or half-written lock file: judge by its age.
    const info = await stat(path).catch(() => undefined)
    return info !== undefined && Date.now() - info.mtimeMs > ttlMs
  }
}
