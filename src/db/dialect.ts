import { type Kysely, PostgresAdapter } from 'kysely'

/**
 * Whether `db` (a Kysely instance, transaction or connection) talks to PostgreSQL rather than SQLite:
 * for the few statements that have no spelling both accept.
 */
export function isPostgres (db: Kysely<any>): boolean {
  return db.getExecutor().adapter instanceof PostgresAdapter
}
