import { errors } from '../errors.js'

/** Releases a lock taken with {@link Store.lock} and stops refreshing it. Safe to call twice. */
export type Unlock = () => Promise<void>

/** Default lease of a lock: a holder that stops refreshing loses it this long after the last refresh. */
export const DEFAULT_LOCK_TTL_MS = 30_000
/** Default wait for a lock: twice the default lease, so a waiter outlasts a crashed holder's lease. */
export const DEFAULT_LOCK_WAIT_MS = 60_000

/** Options of {@link Store.lock}. */
export interface LockOptions {
  /** The lease: the lock expires this long after it was taken or last refreshed (default {@link DEFAULT_LOCK_TTL_MS}). */
  readonly ttlMs?: number
  /** Give up with `MTA_STS_STORE_LOCK_TIMEOUT` after this long (default {@link DEFAULT_LOCK_WAIT_MS}). */
  readonly waitMs?: number
  /** How often the holder renews the lease while it holds the lock (default `ttlMs / 3`; 0: never). */
  readonly refreshMs?: number
}

/** What {@link Store.cleanup} removed. Counts only: never names or contents of keys. */
export interface StoreCleanup {
  /** Temporary files of interrupted writes. */
  readonly tempFiles: number
  /** Locks of dead owners and expired locks. */
  readonly locks: number
}

/**
 * Where certificates, keys and (later) ACME state live, in the spirit of
 * certmagic's Storage. Several instances may share one store.
 *
 * Contract:
 * - Keys are `/`-separated segments of `[A-Za-z0-9._@+=-]` that do not start
 *   with a dot (so never `.` or `..`); they are built in `keys.ts`, which
 *   sanitises host names first. Lock names follow the same rules and live apart
 *   from keys.
 * - `get` resolves `undefined` for a missing key; it never throws for absence.
 * - `put` is atomic, also when the process is killed in the middle: a reader
 *   sees the old value or the new one, never a mix or a partial value.
 *   `secret: true` values (private keys) are readable by the owner only (0600).
 * - `delete` of a missing key succeeds.
 * - `list(prefix)` returns every key below `prefix`, sorted.
 * - `lock(name)` is a lease: it waits until it holds the named lock, records
 *   the owner (host, pid, process start time) and an expiry `ttlMs` ahead, and
 *   renews the expiry every `refreshMs` until released, so long work (an ACME
 *   order) keeps it. Others may take a lock over once it expired (an owner on
 *   another host that died or hangs), and at once when its owner is provably
 *   dead (same host, pid gone or reused). A holder whose lock was taken over
 *   stops renewing and its late unlock leaves the new holder's lock alone.
 * - `fileOf(key)` (optional): the file a value is kept in, when there is one.
 * - `cleanup()` (optional), at start: removes temporary files of interrupted
 *   writes and locks whose owners are dead or whose lease expired; never
 *   anything of a live process (replicas may share the store).
 */
export interface Store {
  get (key: string): Promise<Buffer | undefined>
  put (key: string, value: string | Buffer, opts?: { secret?: boolean }): Promise<void>
  delete (key: string): Promise<void>
  list (prefix: string): Promise<string[]>
  lock (name: string, opts?: LockOptions): Promise<Unlock>
  cleanup? (): Promise<StoreCleanup>
  /**
   * The local file holding `key`'s value, for operators to point tools at
   * (say `curl --cacert`); only stores that keep one file per key have it.
   */
  fileOf? (key: string): string
}

const SEGMENT = /^[A-Za-z0-9_@+=-][A-Za-z0-9._@+=-]*$/

/** Throw `MTA_STS_STORE_BAD_KEY` unless `key` follows the store key rules. */
export function assertKey (key: string): void {
  const segments = key.split('/')
  if (segments.some(s => !SEGMENT.test(s))) throw new errors.STORE_BAD_KEY(key)
}
