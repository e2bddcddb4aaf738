import { randomBytes } from 'node:crypto'
import { link, mkdir, open, readdir, readFile, rename, rm, rmdir, stat, unlink } from 'node:fs/promises'
import { dirname, join, relative, sep } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { errors } from '../errors.js'
import { currentOwner, ownerLiveness, ownerTag, parseLockOwner, parseOwnerTag, type LockOwner } from './lock-owner.js'
import { assertKey, DEFAULT_LOCK_TTL_MS, DEFAULT_LOCK_WAIT_MS, type LockOptions, type Store, type StoreCleanup, type Unlock } from './store.js'

/** Temp files of earlier versions, written next to their key. */
const LEGACY_TEMP = /\.tmp-[0-9a-f]{12}$/
/** Lock files broken by earlier versions. */
const LEGACY_GRAVE = /\.lock\.stale-[0-9a-f]{8}$/
const LOCKS = '.locks'
const STAGING = '.tmp'
/**
 * A temp file whose writer cannot be checked (another host, an earlier
 * version) is removed only once it is older than this: no write takes that
 * long, so it cannot be one in progress.
 */
export const FOREIGN_TEMP_GRACE_MS = 10 * 60_000

/** What a lock file holds. `token` keeps the `host:pid:random` form earlier versions wrote. */
interface LockRecord {
  readonly token: string
  readonly owner: LockOwner
  readonly acquired: number
  readonly expires: number
}

/** A lock file as read: its raw text, what parses of it, and its age. */
interface LockFile {
  readonly text: string
  readonly record: Partial<LockRecord> | undefined
  readonly mtimeMs: number
}

function parseRecord (text: string): Partial<LockRecord> | undefined {
  try {
    const value = JSON.parse(text) as unknown
    return typeof value === 'object' && value !== null ? value as Partial<LockRecord> : undefined
  } catch {
    return undefined
  }
}

function code (err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException).code
}

/** What `listing` lists, or nothing when its folder does not exist. */
async function orNone<T> (listing: Promise<T[]>): Promise<T[]> {
  try {
    return await listing
  } catch (err) {
    if (code(err) === 'ENOENT' || code(err) === 'ENOTDIR') return []
    throw err
  }
}

async function entries (dir: string, recursive = false): Promise<string[]> {
  return orNone(readdir(dir, { recursive }))
}

/**
 * The files below `root` (paths relative to it) whose name `wanted` accepts,
 * given the folder they are in (relative to `root`, '' for `root` itself).
 * Unlike a recursive readdir, no path is made for a file that is not wanted:
 * a walk of a store holding 100,000 certificates stays cheap.
 */
async function findFiles (root: string, wanted: (name: string, folder: string) => boolean, folder = ''): Promise<string[]> {
  const dirents = await orNone(readdir(join(root, folder), { withFileTypes: true }))
  const out: string[] = []
  for (const dirent of dirents) {
    const path = folder === '' ? dirent.name : join(folder, dirent.name)
    if (dirent.isDirectory()) out.push(...await findFiles(root, wanted, path))
    else if (wanted(dirent.name, folder)) out.push(path)
  }
  return out
}

async function olderThan (path: string, ms: number): Promise<boolean> {
  const info = await stat(path).catch(() => undefined)
  return info !== undefined && Date.now() - info.mtimeMs > ms
}

/**
 * A {@link Store} on a local or shared filesystem: one file per key below
 * `root`. Nothing a crash can interrupt is ever visible half-done:
 * - a value is written to a temp file in this process's own folder
 *   `root/.tmp/<owner>/`, fsynced and renamed into place;
 * - a lock is a file under `root/.locks/` created whole (written aside, then
 *   hard-linked into place, which fails when it exists) recording its owner
 *   and expiry, renewed the same way while held.
 * The owner (host, pid, process start time, boot id) lets another process on
 * the same host take over the lock of a dead process at once and
 * {@link FileStore.cleanup} remove a dead process's temp files; no key can
 * start with a dot, so these folders never collide with keys.
 */
export class FileStore implements Store {
  readonly root: string
  readonly #owner: LockOwner
  readonly #staging: string

  constructor (root: string) {
    this.root = root
    this.#owner = currentOwner()
    this.#staging = join(root, STAGING, ownerTag(this.#owner))
  }

  #path (key: string): string {
    assertKey(key)
    return join(this.root, ...key.split('/'))
  }

  /** The file holding `key`'s value: `root/<key>`, one folder per `/`. */
  fileOf (key: string): string {
    return this.#path(key)
  }

  async get (key: string): Promise<Buffer | undefined> {
    try {
      return await readFile(this.#path(key))
    } catch (err) {
      if (code(err) === 'ENOENT') return undefined
      throw err
    }
  }

  async put (key: string, value: string | Buffer, opts: { secret?: boolean } = {}): Promise<void> {
    const path = this.#path(key)
    await mkdir(dirname(path), { recursive: true, mode: 0o700 })
    await this.#writeAside(path, value, opts.secret ? 0o600 : 0o644, true, tmp => rename(tmp, path))
  }

  /**
   * Write `value` to a fresh temp file in this process's folder, fsync it
   * when `durable`, then `place` it (rename or link). The temp file is gone
   * afterwards, whether `place` succeeded or not. Lock records skip the
   * fsync: after a power loss the boot id marks their owners dead anyway.
   */
  async #writeAside (path: string, value: string | Buffer, mode: number, durable: boolean, place: (tmp: string) => Promise<void>): Promise<void> {
    const tmp = join(this.#staging, randomBytes(8).toString('hex'))
    let handle
    try {
      handle = await open(tmp, 'wx', mode)
    } catch (err) {
      // First write of this process, or cleanup by another process removed the (then empty) folder.
      if (code(err) !== 'ENOENT') throw err
      await mkdir(this.#staging, { recursive: true, mode: 0o700 })
      handle = await open(tmp, 'wx', mode)
    }
    try {
      await handle.writeFile(value)
      if (durable) await handle.sync()
      await handle.close()
      await place(tmp)
    } catch (err) {
      await handle.close().catch(() => {})
      throw err
    } finally {
      await rm(tmp, { force: true })
    }
  }

  async delete (key: string): Promise<void> {
    await rm(this.#path(key), { force: true })
  }

  async list (prefix: string): Promise<string[]> {
    const base = prefix === '' ? this.root : this.#path(prefix)
    const keys: string[] = []
    for (const entry of await entries(base, true)) {
      const full = join(base, entry)
      const key = relative(this.root, full).split(sep)
      // Dot folders (locks, temp files) are not keys; nor are temp files of earlier versions.
      if (key.some(s => s.startsWith('.')) || LEGACY_TEMP.test(entry) || !(await stat(full).catch(() => undefined))?.isFile()) continue
      keys.push(key.join('/'))
    }
    return keys.sort()
  }

  async lock (name: string, opts: LockOptions = {}): Promise<Unlock> {
    assertKey(name)
    const ttlMs = opts.ttlMs ?? DEFAULT_LOCK_TTL_MS
    const refreshMs = opts.refreshMs ?? ttlMs / 3
    const deadline = Date.now() + (opts.waitMs ?? DEFAULT_LOCK_WAIT_MS)
    const path = join(this.root, LOCKS, `${name}.lock`)
    await mkdir(dirname(path), { recursive: true, mode: 0o700 })
    const token = `${this.#owner.host}:${this.#owner.pid}:${randomBytes(8).toString('hex')}`
    for (let attempt = 1; ; attempt++) {
      const acquired = Date.now()
      if (await this.#create(path, this.#record(token, ttlMs, acquired))) return this.#held(path, token, ttlMs, refreshMs, acquired)
      const current = await this.#read(path)
      // Released meanwhile, or stale and now broken: try again at once (a few times; then pace like any wait).
      const gone = current === undefined || this.#breakable(current, ttlMs)
      if (current !== undefined && gone) await this.#break(path, current)
      if (gone && attempt % 8 !== 0) continue
      if (Date.now() >= deadline) throw new errors.STORE_LOCK_TIMEOUT(name)
      await sleep(50 + Math.floor(Math.random() * 100))
    }
  }

  #record (token: string, ttlMs: number, acquired: number): string {
    const record: LockRecord = { token, owner: this.#owner, acquired, expires: Date.now() + ttlMs }
    return JSON.stringify(record)
  }

  /** Create the lock file whole; false when it exists. */
  async #create (path: string, record: string): Promise<boolean> {
    try {
      await this.#writeAside(path, record, 0o600, false, tmp => link(tmp, path))
      return true
    } catch (err) {
      if (code(err) === 'EEXIST') return false
      throw err
    }
  }

  async #read (path: string): Promise<LockFile | undefined> {
    try {
      const text = await readFile(path, 'utf8')
      const { mtimeMs } = await stat(path)
      return { text, record: parseRecord(text), mtimeMs }
    } catch (err) {
      if (code(err) === 'ENOENT') return undefined
      throw err
    }
  }

  /** Expired, or its owner provably dead. A lock without a readable expiry is judged by its age. */
  #breakable (lock: LockFile, ttlMs: number): boolean {
    const owner = parseLockOwner(lock.record)
    if (owner && ownerLiveness(owner, this.#owner) === 'dead') return true
    const expires = lock.record?.expires
    return typeof expires === 'number' ? Date.now() > expires : Date.now() - lock.mtimeMs > ttlMs
  }

  /**
   * Remove the stale lock `seen`. It is first moved aside, so of two
   * processes breaking it at once only one succeeds; if what was moved is not
   * what was judged stale (its holder renewed it meanwhile), it is put back.
   */
  async #break (path: string, seen: LockFile): Promise<void> {
    await mkdir(this.#staging, { recursive: true, mode: 0o700 })
    const grave = join(this.#staging, `${randomBytes(8).toString('hex')}.lock`)
    try {
      await rename(path, grave)
    } catch (err) {
      if (code(err) === 'ENOENT') return
      throw err
    }
    const moved = await readFile(grave, 'utf8').catch(() => '')
    if (moved !== seen.text) await link(grave, path).catch(() => {})
    await rm(grave, { force: true })
  }

  #held (path: string, token: string, ttlMs: number, refreshMs: number, acquired: number): Unlock {
    let released = false
    let refreshing: Promise<void> | undefined
    const refresh = async (): Promise<void> => {
      const current = await this.#read(path)
      const holder = current?.record?.token
      if (holder === token) {
        await this.#writeAside(path, this.#record(token, ttlMs, acquired), 0o600, false, tmp => rename(tmp, path))
      } else if (holder !== undefined) {
        // Taken over (this process stalled past the lease): stop renewing what is no longer ours.
        clearInterval(timer)
      }
    }
    const timer = refreshMs > 0
      ? setInterval(() => { refreshing ??= refresh().catch(() => {}).finally(() => { refreshing = undefined }) }, refreshMs)
      : undefined
    timer?.unref()
    return async () => {
      if (released) return
      released = true
      clearInterval(timer)
      await refreshing
      const current = await this.#read(path).catch(() => undefined)
      if (current?.record?.token === token) await unlink(path).catch(() => {})
    }
  }

  /**
   * Start-up cleanup: remove temp files of interrupted writes (of dead
   * processes on this host at once; of other hosts and earlier versions once
   * older than {@link FOREIGN_TEMP_GRACE_MS}) and locks whose owner is dead
   * or whose lease expired. A live process's files are left alone.
   */
  async cleanup (): Promise<StoreCleanup> {
    let tempFiles = 0
    let locks = 0
    const stagingRoot = join(this.root, STAGING)
    for (const entry of await entries(stagingRoot)) {
      const dir = join(stagingRoot, entry)
      if (dir === this.#staging) continue
      const owner = parseOwnerTag(entry)
      const liveness = owner ? ownerLiveness(owner, this.#owner) : 'unknown'
      if (liveness === 'alive') continue
      // Judged before its files go: removing them makes the folder look new.
      const removable = liveness === 'dead' || await olderThan(dir, FOREIGN_TEMP_GRACE_MS)
      let left = 0
      for (const file of await entries(dir)) {
        if (liveness === 'dead' || await olderThan(join(dir, file), FOREIGN_TEMP_GRACE_MS)) {
          await rm(join(dir, file), { force: true, recursive: true })
          tempFiles++
        } else {
          left++
        }
      }
      if (left === 0 && removable) await rmdir(dir).catch(() => {})
    }
    const inLocksFolder = (folder: string): boolean => folder === LOCKS || folder.startsWith(LOCKS + sep)
    const found = await findFiles(this.root, (name, folder) => LEGACY_TEMP.test(name) || (inLocksFolder(folder) && (name.endsWith('.lock') || LEGACY_GRAVE.test(name))))
    for (const entry of found) {
      const full = join(this.root, entry)
      const inLocks = entry.startsWith(LOCKS + sep)
      if (inLocks && entry.endsWith('.lock')) {
        const lock = await this.#read(full).catch(() => undefined)
        if (lock && this.#breakable(lock, DEFAULT_LOCK_TTL_MS)) {
          await this.#break(full, lock)
          locks++
        }
      } else if ((LEGACY_TEMP.test(entry) || (inLocks && LEGACY_GRAVE.test(entry))) && await olderThan(full, FOREIGN_TEMP_GRACE_MS)) {
        await rm(full, { force: true })
        tempFiles++
      }
    }
    return { tempFiles, locks }
  }
}
