import type { Clock } from '../clock.js'
import { parseReport } from '../reports/parse-report.js'
import { openSqliteDatabase } from './open-sqlite-database.js'
import { migrateReportDatabase } from './report-migrations.js'
import { SqlReportStore } from './sql-report-store.js'

/** Settings of {@link openSqliteReportStore}. */
export interface SqliteReportStoreOptions {
  /** Largest report accepted once decompressed. */
  readonly maxReportBytes: number
  readonly rawRetentionDays: number
  readonly retentionDays: number
  readonly clock: Clock
  /** Parse what a crash left stored but unparsed (default true; a reader beside a running service says false). */
  readonly recover?: boolean
}

/**
 * Opens the SQLite report database on this thread (creating and migrating it), and parses
 * what a crash left stored but unparsed. For the CLI, the worker of {@link WorkerReportStore}
 * and tests (`:memory:`); `serve` keeps it off the serving thread.
 */
export async function openSqliteReportStore (file: string, options: SqliteReportStoreOptions): Promise<SqlReportStore> {
  const db = openSqliteDatabase(file)
  try {
    await migrateReportDatabase(db)
  } catch (error) {
    await db.destroy()
    throw error
  }
  const store = new SqlReportStore(db, {
    parse: bytes => parseReport(bytes, { maxBytes: options.maxReportBytes }),
    clock: options.clock,
    rawRetentionDays: options.rawRetentionDays,
    retentionDays: options.retentionDays,
  })
  if (options.recover ?? true) await store.recover()
  return store
}
