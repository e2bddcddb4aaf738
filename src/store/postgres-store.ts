import { randomBytes } from 'node:crypto'
import { setTimeout as sleep } from 'node:timers/promises'
import type { Pool, QueryConfig, QueryResultRow } from 'pg'
import { errors } from '../errors.js'
import { currentOwner, ownerLiveness, parseLockOwner, type LockOwner } from './lock-owner.js'
import { assertKey, DEFAULT_LOCK_TTL_MS, DEFAULT_LOCK_WAIT_MS, type LockOptions, type Store, type StoreCleanup, type Unlock } from './store.js'

/** Options of {@link PostgresStore}. */
export interface PostgresStoreOptions {
  /**
   * Client-side limit of every query in milliseconds (node-postgres `query_timeout`), so a database
   * that stops answering makes calls fail instead of hang (default {@link DEFAULT_QUERY_TIMEOUT_MS}).
   * Waiting for a connection is bounded by the pool's own `connectionTimeoutMillis`: set it.
   */
  readonly queryTimeoutMs?: number
}

/** Default of {@link PostgresStoreOptions.queryTimeoutMs}. */
export const DEFAULT_QUERY_TIMEOUT_MS = 10_000

/** Longest pause between two attempts of a waiting {@link PostgresStore.lock}. */
const MAX_POLL_MS = 250

/**
 * Key of the transaction-scoped advisory lock that serializes migrations of the store's tables, so
 * replicas starting at once do not race in `CREATE TABLE IF NOT EXISTS` (which is not safe
 * concurrently: both may try to create the same row type). A constant ("mtasts" in ASCII).
 */
export const MIGRATION_LOCK_KEY = 0x6d74_6173_7473

/** The tables of the store; every statement is idempotent. */
const SCHEMA = [
  `CREATE TABLE IF NOT EXISTS store_entries (
    key text PRIMARY KEY,
    value bytea NOT NULL,
    secret boolean NOT NULL DEFAULT false,
    updated_at timestamptz NOT NULL DEFAULT now()
  )`,
  `CREATE TABLE IF NOT EXISTS store_locks (
    name text PRIMARY KEY,
    owner text NOT NULL,
    token text NOT NULL,
    expires_at timestamptz NOT NULL
  )`,
]

/** Lease of `$3` milliseconds from the database's clock, so replicas with skewed clocks agree. */
const EXPIRY = `now() + ($3::double precision * interval '1 millisecond')`

/** Take the lock when it is free or its lease ran out, in one statement: of two racing takers, one wins. */
const ACQUIRE = `INSERT INTO store_locks (name, owner, token, expires_at) VALUES ($1, $4, $2, ${EXPIRY})
  ON CONFLICT (name) DO UPDATE SET owner = excluded.owner, token = excluded.token, expires_at = excluded.expires_at
  WHERE store_locks.expires_at < now()
  RETURNING token`

/** Take over the lock held under `$5` (an owner proven dead), unless it changed meanwhile. */
const TAKE_OVER = `UPDATE store_locks SET owner = $4, token = $2, expires_at = ${EXPIRY}
  WHERE name = $1 AND token = $5 RETURNING token`

/** Renew the lease, only while this holder's token is still the lock's. */
const REFRESH = `UPDATE store_locks SET expires_at = ${EXPIRY} WHERE name = $1 AND token = $2 RETURNING token`

/**
 * A {@link Store} in PostgreSQL, shared by every replica connected to the same database:
 * - `store_entries(key, value bytea, secret, updated_at)`: one row per key, written by a single
 *   upsert (atomic: a reader sees the old value or the new one). A database has no file modes:
 *   `secret` values (private keys) are protected by the database's access control (who may log
 *   in and read the table) and by this code never logging values.
 * - `store_locks(name, owner, token, expires_at)`: one row per held lock, a lease whose expiry
 *   is computed by the database's clock. It is taken when absent or expired in one statement,
 *   renewed by a heartbeat while held, and deleted by its holder's token only, so a holder that
 *   lost it (stalled past the lease, or its connection died) cannot release the new holder's.
 *   A lock whose owner is provably dead on this host (see `lock-owner.ts`) is taken over at once.
 *
 * The pool belongs to whoever made it: it should set `connectionTimeoutMillis` and listen for
 * `error` (idle connections fail when the server goes away); {@link close} only stops heartbeats.
 * Database failures reject with `MTA_STS_STORE_DATABASE_FAILED` (the operation and the driver's
 * reason; never a value).
 */
export class PostgresStore implements Store {
  readonly #pool: Pool
  readonly #queryTimeoutMs: number
  readonly #owner: LockOwner
  readonly #ownerText: string
  readonly #heartbeats = new Set<NodeJS.Timeout>()

  constructor (pool: Pool, opts: PostgresStoreOptions = {}) {
    this.#pool = pool
    this.#queryTimeoutMs = opts.queryTimeoutMs ?? DEFAULT_QUERY_TIMEOUT_MS
    this.#owner = currentOwner()
    this.#ownerText = JSON.stringify({ owner: this.#owner })
  }

  /** A store on `pool` whose tables exist (see {@link migrate}). */
  static async open (pool: Pool, opts: PostgresStoreOptions = {}): Promise<PostgresStore> {
    const store = new PostgresStore(pool, opts)
    await store.migrate()
    return store
  }

  /**
   * Create the store's tables if they are missing. Safe when several replicas start at once:
   * the statements run in one transaction holding a transaction-scoped advisory lock.
   */
  async migrate (): Promise<void> {
    const client = await this.#pool.connect().catch((err: unknown) => { throw failed('migrate', err) })
    let broken: unknown
    try {
      await client.query('BEGIN')
      await client.query(this.#timed('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK_KEY]))
      for (const statement of SCHEMA) await client.query(this.#timed(statement, []))
      await client.query('COMMIT')
    } catch (err) {
      broken = err
      await client.query('ROLLBACK').catch(() => {})
      throw failed('migrate', err)
    } finally {
      // A connection that failed mid-transaction is not given back to the pool.
      client.release(broken !== undefined)
    }
  }

  /** A query with node-postgres' per-query `query_timeout` (a client-side read timeout that @types/pg does not declare). */
  #timed (text: string, values: unknown[]): QueryConfig {
    const config: QueryConfig & { query_timeout: number } = { text, values, query_timeout: this.#queryTimeoutMs }
    return config
  }

  /** Run one statement; changes are counted by their `RETURNING` rows. */
  async #query<R extends QueryResultRow = QueryResultRow> (operation: string, text: string, values: unknown[]): Promise<R[]> {
    try {
      return (await this.#pool.query<R>(this.#timed(text, values))).rows
    } catch (err) {
      throw failed(operation, err)
    }
  }

  async get (key: string): Promise<Buffer | undefined> {
    assertKey(key)
    const rows = await this.#query<{ value: Buffer }>('get', 'SELECT value FROM store_entries WHERE key = $1', [key])
    return rows[0]?.value
  }

  async put (key: string, value: string | Buffer, opts: { secret?: boolean } = {}): Promise<void> {
    assertKey(key)
    await this.#query('put', `INSERT INTO store_entries (key, value, secret, updated_at) VALUES ($1, $2, $3, now())
      ON CONFLICT (key) DO UPDATE SET value = excluded.value, secret = excluded.secret, updated_at = excluded.updated_at`,
    [key, Buffer.from(value), opts.secret === true])
  }

  async delete (key: string): Promise<void> {
    assertKey(key)
    await this.#query('delete', 'DELETE FROM store_entries WHERE key = $1', [key])
  }

  async list (prefix: string): Promise<string[]> {
    if (prefix !== '') assertKey(prefix)
    // starts_with, not LIKE: `_` is a key character and a LIKE wildcard. Byte order, as JavaScript sorts ASCII.
    const rows = await this.#query<{ key: string }>('list', 'SELECT key FROM store_entries WHERE starts_with(key, $1) ORDER BY key COLLATE "C"',
      [prefix === '' ? '' : `${prefix}/`])
    return rows.map(r => r.key)
  }

  async lock (name: string, opts: LockOptions = {}): Promise<Unlock> {
    assertKey(name)
    const ttlMs = opts.ttlMs ?? DEFAULT_LOCK_TTL_MS
    const refreshMs = opts.refreshMs ?? ttlMs / 3
    const deadline = Date.now() + (opts.waitMs ?? DEFAULT_LOCK_WAIT_MS)
    const token = randomBytes(16).toString('hex')
    // Poll with a growing, jittered pause, so waiting replicas neither hammer the database nor move in step.
    for (let pause = 10; !(await this.#acquire(name, token, ttlMs)); pause = Math.min(pause * 2, MAX_POLL_MS)) {
      const left = deadline - Date.now()
      if (left <= 0) throw new errors.STORE_LOCK_TIMEOUT(name)
      await sleep(Math.min(left, pause / 2 + Math.random() * pause / 2))
    }
    return this.#held(name, token, ttlMs, refreshMs)
  }

  /** One attempt: free or expired, or held by an owner provably dead on this host. */
  async #acquire (name: string, token: string, ttlMs: number): Promise<boolean> {
    const values = [name, token, ttlMs, this.#ownerText]
    if ((await this.#query('lock', ACQUIRE, values)).length > 0) return true
    const rows = await this.#query<{ owner: string; token: string }>('lock', 'SELECT owner, token FROM store_locks WHERE name = $1', [name])
    const held = rows[0]
    if (held === undefined || !this.#dead(held.owner)) return false
    return (await this.#query('lock', TAKE_OVER, [...values, held.token])).length > 0
  }

  #dead (ownerText: string): boolean {
    let record: unknown
    try {
      record = JSON.parse(ownerText)
    } catch {
      return false
    }
    const owner = parseLockOwner(record)
    return owner !== undefined && ownerLiveness(owner, this.#owner) === 'dead'
  }

  #held (name: string, token: string, ttlMs: number, refreshMs: number): Unlock {
    let released = false
    let refreshing: Promise<void> | undefined
    const stop = (): void => {
      clearInterval(timer)
      if (timer) this.#heartbeats.delete(timer)
    }
    const refresh = async (): Promise<void> => {
      const renewed = await this.#query('lock', REFRESH, [name, token, ttlMs])
      // Taken over (this holder stalled or lost its database past the lease): stop renewing what is no longer ours.
      if (renewed.length === 0) stop()
    }
    const timer = refreshMs > 0
      ? setInterval(() => { refreshing ??= refresh().catch(() => {}).finally(() => { refreshing = undefined }) }, refreshMs)
      : undefined
    if (timer) {
      timer.unref()
      this.#heartbeats.add(timer)
    }
    return async () => {
      if (released) return
      released = true
      stop()
      await refreshing
      // Only this holder's row; a failure leaves the lease to expire by itself.
      await this.#query('unlock', 'DELETE FROM store_locks WHERE name = $1 AND token = $2', [name, token]).catch(() => {})
    }
  }

  /**
   * Start-up cleanup: delete locks whose lease ran out or whose owner is provably dead on this
   * host; never a live replica's. A database write leaves no temporary files.
   */
  async cleanup (): Promise<StoreCleanup> {
    const expired = await this.#query('cleanup', 'DELETE FROM store_locks WHERE expires_at < now() RETURNING name', [])
    let locks = expired.length
    const rows = await this.#query<{ name: string; owner: string; token: string }>('cleanup', 'SELECT name, owner, token FROM store_locks', [])
    for (const row of rows) {
      if (!this.#dead(row.owner)) continue
      locks += (await this.#query('cleanup', 'DELETE FROM store_locks WHERE name = $1 AND token = $2 RETURNING name', [row.name, row.token])).length
    }
    return { tempFiles: 0, locks }
  }

  /** Stop renewing held locks (their leases then expire unless unlocked). The pool stays open. */
  close (): void {
    for (const timer of this.#heartbeats) clearInterval(timer)
    this.#heartbeats.clear()
  }
}

function failed (operation: string, err: unknown): Error {
  // node-postgres rejects with Errors only.
  return new errors.STORE_DATABASE_FAILED(operation, (err as Error).message, { cause: err })
}
