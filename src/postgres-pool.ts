import { readFile } from 'node:fs/promises'
import pg from 'pg'
import type { Logger } from 'pino'
import type { DatabaseSettings } from './config/types.js'
import { errors } from './errors.js'

/** Environment variable read for the PostgreSQL URL when `database.url_file` is not set. */
export const DATABASE_URL_ENV = 'MTA_STS_DATABASE_URL'

/** How long a call waits for a connection before it fails (the database is down or unreachable). */
const CONNECT_TIMEOUT_MS = 5000

/**
 * The connection pool every part of a replica shares (certificate store, report database): the URL
 * from `database.url_file` (or {@link DATABASE_URL_ENV}), `pool_size` connections, calls failing after
 * 5 s without a connection instead of waiting. Connection errors of idle clients (a database restart)
 * are logged, never thrown. The URL (it carries the password) is never logged.
 * Throws `MTA_STS_DATABASE_URL_MISSING` when there is no URL.
 */
export async function openPostgresPool (settings: DatabaseSettings, logger: Logger, env: NodeJS.ProcessEnv = process.env): Promise<pg.Pool> {
  let url: string | undefined
  if (settings.urlFile !== undefined) {
    try {
      url = (await readFile(settings.urlFile, 'utf8')).trim()
    } catch (error) {
      throw new errors.DATABASE_URL_MISSING(`database.url_file ${settings.urlFile} cannot be read (${String((error as NodeJS.ErrnoException).code)})`)
    }
  } else {
    url = env[DATABASE_URL_ENV]?.trim()
  }
  if (url === undefined || url === '') {
    throw new errors.DATABASE_URL_MISSING(settings.urlFile === undefined ? `neither database.url_file nor ${DATABASE_URL_ENV} is set` : `database.url_file ${settings.urlFile} is empty`)
  }
  const pool = new pg.Pool({ connectionString: url, max: settings.poolSize, connectionTimeoutMillis: CONNECT_TIMEOUT_MS, idleTimeoutMillis: 30_000 })
  pool.on('error', error => {
    logger.warn({ event: 'database_connection_lost', err: { message: error.message, code: (error as { code?: string }).code } }, 'a PostgreSQL connection was lost; calls reconnect')
  })
  return pool
}
