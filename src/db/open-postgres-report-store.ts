import { Kysely, PostgresDialect, type PostgresPool } from 'kysely'
import type { Pool, PoolClient } from 'pg'
import type { Clock } from '../clock.js'
import { parseReport } from '../reports/parse-report.js'
import { migrateReportDatabase } from './report-migrations.js'
import type { ReportDatabase } from './report-tables.js'
import { SqlReportStore } from './sql-report-store.js'

/** Settings of {@link openPostgresReportStore}. */
export interface PostgresReportStoreOptions {
  /** Largest report accepted once decompressed. */
  readonly maxReportBytes: number
  readonly rawRetentionDays: number
  readonly retentionDays: number
  readonly clock: Clock
  /** Parse what a crash left stored but unparsed (default true; a reader beside running replicas says false). */
  readonly recover?: boolean
}

/**
 * A view of the caller's pool that Kysely cannot end: `destroy()` (the store's `close()`)
 * then releases only what the store holds, and the pool stays usable for the certificate
 * store and whoever else shares it.
 *
 * A connection broken while checked out between two statements of a transaction (the server
 * killed) makes node-postgres emit `error` on its client, which the pool listens for only while
 * the client is idle: unheard, it would end the process. Each client gets a listener of its own;
 * the next statement on it fails instead, and the pool drops it when it comes back.
 */
function borrowed (pool: Pool): PostgresPool {
  const guarded = new WeakSet<PoolClient>()
  return {
    connect: async () => {
      const client = await pool.connect()
      if (!guarded.has(client)) {
        guarded.add(client)
        client.on('error', () => undefined)
      }
      return client
    },
    end: async () => {},
  }
}

/**
 * Opens the report database on a shared PostgreSQL through `pool` (a node-postgres `pg.Pool`):
 * brings it to the latest schema and parses what a crash of any replica left stored but
 * unparsed. Replicas starting at once are safe: Kysely's Migrator holds a PostgreSQL advisory
 * lock while it migrates, so each step runs once, and recovery of the same row by two replicas
 * stores its report once.
 *
 * No worker thread: node-postgres is asynchronous, the serving thread never waits on it.
 *
 * The caller owns `pool`: closing the store does not end it. The caller also listens for the
 * pool's `error` events (an idle connection broken by a database restart), without which
 * node-postgres throws them; set `connectionTimeoutMillis` so calls fail rather than wait while
 * the database is unreachable.
 */
export async function openPostgresReportStore (pool: Pool, options: PostgresReportStoreOptions): Promise<SqlReportStore> {
  const db = new Kysely<ReportDatabase>({ dialect: new PostgresDialect({ pool: borrowed(pool) }) })
  const store = new SqlReportStore(db, {
    parse: bytes => parseReport(bytes, { maxBytes: options.maxReportBytes }),
    clock: options.clock,
    rawRetentionDays: options.rawRetentionDays,
    retentionDays: options.retentionDays,
  })
  try {
    await migrateReportDatabase(db)
    if (options.recover ?? true) await store.recover()
  } catch (error) {
    await store.close()
    throw error
  }
  return store
}
