import { existsSync } from 'node:fs'
import { systemClock, type Clock } from '../clock.js'
import type { ReportSettings } from '../config/types.js'
import { parseReport } from '../reports/parse-report.js'
import { openSqliteDatabase } from './open-sqlite-database.js'
import { migrateReportDatabase } from './report-migrations.js'
import { SqlReportStore } from './sql-report-store.js'

/**
 * Opens the report database of `settings` on this thread, for a command that
 * reads it while `serve` may be writing it (WAL: readers never block the
 * writer). Brings an older file to the current schema. Resolves undefined when
 * the file does not exist, rather than creating an empty one: nothing was
 * stored yet, or the path is wrong.
 */
export async function openExistingReportStore (settings: Pick<ReportSettings, 'database' | 'maxReportBytes' | 'rawRetentionDays' | 'retentionDays'>, clock: Clock = systemClock): Promise<SqlReportStore | undefined> {
  if (!existsSync(settings.database)) return undefined
  const db = openSqliteDatabase(settings.database)
  try {
    await migrateReportDatabase(db)
  } catch (error) {
    await db.destroy()
    throw error
  }
  return new SqlReportStore(db, {
    parse: bytes => parseReport(bytes, { maxBytes: settings.maxReportBytes }),
    clock,
    rawRetentionDays: settings.rawRetentionDays,
    retentionDays: settings.retentionDays,
  })
}
