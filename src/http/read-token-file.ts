import { readFile, stat } from 'node:fs/promises'
import type { Logger } from 'pino'
import { errors } from '../errors.js'

/**
 * Read the ops listener's bearer token (or another secret, named by `setting`) from `file` (once, at start):
 * surrounding white space is dropped and an empty token is an error. A file
 * that group or others may read is accepted with a warning (it should be
 * `0600`). The token itself is never logged. Throws `MTA_STS_OPS_TOKEN_UNREADABLE`
 * or `MTA_STS_OPS_TOKEN_EMPTY`.
 */
export async function readTokenFile (file: string, logger: Logger, setting = 'listen.ops.token_file'): Promise<string> {
  let text: string
  try {
    text = await readFile(file, 'utf8')
  } catch (err) {
    throw new errors.OPS_TOKEN_UNREADABLE(`${setting} ${file}`, String((err as NodeJS.ErrnoException).code), { cause: err })
  }
  const token = text.trim()
  if (token === '') throw new errors.OPS_TOKEN_EMPTY(`${setting} ${file}`)
  const mode = (await stat(file)).mode & 0o777
  if ((mode & 0o077) !== 0) {
    logger.warn({ event: 'config_warning', file, mode: mode.toString(8).padStart(4, '0') }, `${setting} ${file} can be read by other users (mode ${mode.toString(8).padStart(4, '0')}): chmod 600 it`)
  }
  return token
}
