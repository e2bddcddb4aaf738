import { errors } from '../errors.js'

/** Releases a lock taken with {@link Store.lock}. Safe to call twice. */
export type Unlock = () => Promise<void>

/** Options of {@link Store.lock}. */
export interface LockOptions {
  /** A lock older than this is stale and may be broken by another holder (default 60 s). */
  readonly ttlMs?: number
  /** Give up with `MTA_STS_STORE_LOCK_TIMEOUT` after this long (default 30 s). */
  readonly waitMs?: number
}

/**
 * Where certificates, keys and (later) ACME state live, in the spirit of
 * certmagic's Storage. Several instances may share one store.
 *
 * Contract:
 * - Keys are `/`-separated segments of `[A-Za-z0-9._@+=-]` that do not start
 *   with a dot (so never `.` or `..`); build them with {@link storeKey} so host
 *   names are sanitised first. Lock names follow the same rules and live apart
 *   from keys.
 * - `get` resolves `undefined` for a missing key; it never throws for absence.
 * - `put` is atomic: a reader sees the old value or the new one, never a mix.
 *   `secret: true` values (private keys) are readable by the owner only (0600).
 * - `delete` of a missing key succeeds.
 * - `list(prefix)` returns every key below `prefix`, sorted.
 * - `lock(name)` waits until it holds the named lock. A holder that died leaves
 *   a lock that expires after `ttlMs`; others then break it.
 */
export interface Store {
  get (key: string): Promise<Buffer | undefined>
  put (key: string, value: string | Buffer, opts?: { secret?: boolean }): Promise<void>
  delete (key: string): Promise<void>
  list (prefix: string): Promise<string[]>
  lock (name: string, opts?: LockOptions): Promise<Unlock>
}

const SEGMENT = /^[A-Za-z0-9_@+=-][A-Za-z0-9._@+=-]*$/

/** Throw `MTA_STS_STORE_BAD_KEY` unless `key` follows the store key rules. */
export function assertKey (key: string): void {
  const segments = key.split('/')
  if (segments.some(s => !SEGMENT.test(s))) throw new errors.STORE_BAD_KEY(key)
}

/**
 * Turn a host name into one safe key segment: lower case, `*` becomes
 * `wildcard_`, anything outside `[a-z0-9.-]` becomes `_`, and leading dots
 * are dropped, so no name can climb out of its folder.
 */
export function safeKeyPart (name: string): string {
  const cleaned = name.trim().toLowerCase().replace(/\*/g, 'wildcard_').replace(/[^a-z0-9._-]/g, '_').replace(/^\.+/, '').replace(/\.{2,}/g, '.')
  return cleaned === '' ? '_' : cleaned
}

/** Join already-safe segments and sanitised host names into a store key. */
export function storeKey (...parts: string[]): string {
  return parts.map(safeKeyPart).join('/')
}
