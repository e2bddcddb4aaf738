import { mkdirSync } from 'node:fs'
import { dirname } from 'node:path'
import Database from 'better-sqlite3'
import { Kysely, SqliteDialect } from 'kysely'
import type { ReportDatabase } from './report-tables.js'

/**
 * Opens (creating when missing) the embedded report database: SQLite through better-sqlite3
 * in WAL mode with `synchronous=FULL`, so a committed write survives `kill -9` and power loss,
 * and readers (the CLI, summaries) never block the writer. `:memory:` gives a throw-away one.
 *
 * better-sqlite3 is synchronous: the service opens it inside a worker thread
 * (see worker-report-store.ts), never on the thread that serves policies.
 */
export function openSqliteDatabase (file: string): Kysely<ReportDatabase> {
  if (file !== ':memory:') mkdirSync(dirname(file), { recursive: true, mode: 0o700 })
  const database = new Database(file)
  database.pragma('journal_mode = WAL')
  database.pragma('synchronous = FULL')
  database.pragma('busy_timeout = 10000')
  database.pragma('foreign_keys = ON')
  return new Kysely<ReportDatabase>({ dialect: new SqliteDialect({ database }) })
}
