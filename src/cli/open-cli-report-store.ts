import { systemClock } from '../clock.js'
import type { Config } from '../config/types.js'
import { openExistingReportStore } from '../db/open-existing-report-store.js'
import { openPostgresReportStore } from '../db/open-postgres-report-store.js'
import { openSqliteReportStore } from '../db/open-sqlite-report-store.js'
import type { ReportStore } from '../db/report-store.js'
import { createLogger } from '../log.js'
import { openPostgresPool } from '../postgres-pool.js'
import { PostgresStore } from '../store/postgres-store.js'
import { FileStore } from '../store/file-store.js'
import type { Store } from '../store/store.js'

/** A store a command opened, with what closes it (and its connection pool). */
export interface Opened<T> {
  readonly value: T
  close (): Promise<void>
}

/** Where a command says the report database is, in messages. */
export function reportDatabaseName (config: Config): string {
  return config.database === undefined ? config.reports.database : 'on PostgreSQL (database.url_file)'
}

/**
 * The report database a command reads (`create: false`: undefined when the SQLite file does not
 * exist yet) or writes (`create: true`, `reports import`): the shared PostgreSQL one when `database`
 * is set (never recovering: that is the running replicas' work), else the SQLite file.
 */
export async function openCliReportStore (config: Config, opts: { readonly create: boolean }): Promise<Opened<ReportStore> | undefined> {
  if (config.database !== undefined) {
    const pool = await openPostgresPool(config.database, createLogger('silent'))
    try {
      const store = await openPostgresReportStore(pool, { ...config.reports, clock: systemClock, recover: false })
      return { value: store, close: async () => { await store.close(); await pool.end() } }
    } catch (error) {
      await pool.end()
      throw error
    }
  }
  const store = opts.create
    ? await openSqliteReportStore(config.reports.database, { ...config.reports, clock: systemClock })
    : await openExistingReportStore(config.reports)
  return store === undefined ? undefined : { value: store, close: async () => { await store.close() } }
}

/** The certificate store a command reads (retirements): PostgreSQL when `database` is set, else the files. */
export async function openCliStore (config: Config): Promise<Opened<Store>> {
  if (config.database === undefined) return { value: new FileStore(config.certificates.storage), close: async () => {} }
  const pool = await openPostgresPool(config.database, createLogger('silent'))
  try {
    const store = await PostgresStore.open(pool)
    return { value: store, close: async () => { store.close(); await pool.end() } }
  } catch (error) {
    await pool.end()
    throw error
  }
}
