import { existsSync } from 'node:fs'
import { systemClock, type Clock } from '../clock.js'
import type { ReportSettings } from '../config/types.js'
import { openSqliteReportStore } from './open-sqlite-report-store.js'
import type { SqlReportStore } from './sql-report-store.js'

/**
 * Opens the report database of `settings` on this thread, for a command that
 * reads it while `serve` may be writing it (WAL: readers never block the
 * writer). Brings an older file to the current schema. Resolves undefined when
 * the file does not exist, rather than creating an empty one: nothing was
 * stored yet, or the path is wrong.
 */
export async function openExistingReportStore (settings: Pick<ReportSettings, 'database' | 'maxReportBytes' | 'rawRetentionDays' | 'retentionDays'>, clock: Clock = systemClock): Promise<SqlReportStore | undefined> {
  if (!existsSync(settings.database)) return undefined
  return await openSqliteReportStore(settings.database, { ...settings, clock, recover: false })
}
