import createError from '@fastify/error'

/**
 * The one table of typed errors this service throws. Each has a stable
 * `code` so callers and tests match on codes, never on message text.
 */
export const errors = {
  /** The configuration file failed to parse or validate; `details` lists every problem. */
  CONFIG_INVALID: createError('MTA_STS_CONFIG_INVALID', 'invalid configuration %s:\n%s'),
  /** The configuration file could not be read. */
  CONFIG_UNREADABLE: createError('MTA_STS_CONFIG_UNREADABLE', 'cannot read configuration %s: %s'),
  /** A store key was empty, absolute, or tried to leave the store. */
  STORE_BAD_KEY: createError('MTA_STS_STORE_BAD_KEY', 'invalid store key %j'),
  /** A store lock stayed held by someone else past the wait limit. */
  STORE_LOCK_TIMEOUT: createError('MTA_STS_STORE_LOCK_TIMEOUT', 'timed out waiting for lock %j'),
  /** A host has no certificate and the issuer could not provide one. */
  CERT_UNAVAILABLE: createError('MTA_STS_CERT_UNAVAILABLE', 'no certificate available for %s: %s'),
  /** A certificate (new or from disk) failed the checks before use. */
  CERT_INVALID: createError('MTA_STS_CERT_INVALID', 'certificate for %s rejected: %s'),
  /** A TLS handshake named a host this service does not serve. */
  UNKNOWN_SERVERNAME: createError('MTA_STS_UNKNOWN_SERVERNAME', 'no tenant for server name'),
} as const
