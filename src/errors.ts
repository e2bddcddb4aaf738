import createError from '@fastify/error'

/**
 * The one table of typed errors this service throws. Each has a stable
 * `code` so callers and tests match on codes, never on message text. Every
 * code has a row in the README's troubleshooting table (a test checks it).
 *
 * ACME failures also carry `kind` (a `FailureKind`: network, validation,
 * malformed, rejected, rate_limited, other) for back-off and metrics: the
 * code says what failed, the kind how the CA or the network answered.
 */
export const errors = {
  /** A store key was empty, absolute, or tried to leave the store. */
  STORE_BAD_KEY: createError('MTA_STS_STORE_BAD_KEY', 'invalid store key %j'),
  /** A store lock stayed held by someone else past the wait limit. */
  STORE_LOCK_TIMEOUT: createError('MTA_STS_STORE_LOCK_TIMEOUT', 'timed out waiting for lock %j'),
  /** The PostgreSQL store's database failed or could not be reached: the operation, then the driver's reason (never a value). */
  STORE_DATABASE_FAILED: createError('MTA_STS_STORE_DATABASE_FAILED', 'the store database failed during %s: %s'),
  /** A host has no certificate and the issuer could not provide one. */
  CERT_UNAVAILABLE: createError('MTA_STS_CERT_UNAVAILABLE', 'no certificate available for %s: %s'),
  /** A certificate (new or from disk) failed the checks before use. */
  CERT_INVALID: createError('MTA_STS_CERT_INVALID', 'certificate for %s rejected: %s'),
  /** Issuer `files`: the host has neither `certificate: {cert, key}` nor a `files.directory` to look in. */
  CERT_FILES_NOT_CONFIGURED: createError('MTA_STS_CERT_FILES_NOT_CONFIGURED', 'no certificate files configured for %s'),
  /** A TLS handshake named a host this service does not serve. */
  UNKNOWN_SERVERNAME: createError('MTA_STS_UNKNOWN_SERVERNAME', 'no tenant for server name'),
  /** `listen.ops.token_file` could not be read; the second argument is the errno code. */
  OPS_TOKEN_UNREADABLE: createError('MTA_STS_OPS_TOKEN_UNREADABLE', '%s cannot be read (%s)'),
  /** `listen.ops.token_file` (or `ui.password_file`) holds only white space. */
  OPS_TOKEN_EMPTY: createError('MTA_STS_OPS_TOKEN_EMPTY', '%s is empty'),
  /** The ops listener would be reachable from other machines without a bearer token. */
  OPS_NOT_LOOPBACK: createError('MTA_STS_OPS_NOT_LOOPBACK', 'listen.ops.host %s is not a loopback address: set listen.ops.token_file (a bearer token) or bind ops to 127.0.0.1'),
  /** The ACME directory URL did not answer with a usable directory (kind `malformed`). */
  ACME_DIRECTORY_UNUSABLE: createError('MTA_STS_ACME_DIRECTORY_UNUSABLE', 'ACME directory %s answered HTTP %s without a usable directory'),
  /** The CA offered none of `certificates.acme.challenges` for a host. */
  ACME_NO_USABLE_CHALLENGE: createError('MTA_STS_ACME_NO_USABLE_CHALLENGE', 'the CA offers none of the configured challenge types (%s) for %s'),
  /** The CA could not validate a challenge (kind `validation`): type, host, the CA's reason. */
  ACME_VALIDATION_FAILED: createError('MTA_STS_ACME_VALIDATION_FAILED', '%s validation failed for %s: %s'),
  /** The CA's renewalInfo (ARI) answer was not usable (kind `malformed`); the argument says how. */
  ACME_RENEWAL_INFO_UNUSABLE: createError('MTA_STS_ACME_RENEWAL_INFO_UNUSABLE', 'renewalInfo %s'),
  /** The ACME server could not be reached (kind `network`): the argument is the transport error code. */
  ACME_UNREACHABLE: createError('MTA_STS_ACME_UNREACHABLE', 'cannot reach the ACME server: %s'),
  /** The ACME server answered an HTTP error without a problem document acme-client could use: status, URL, `: detail` or nothing. */
  ACME_HTTP_ERROR: createError('MTA_STS_ACME_HTTP_ERROR', 'the ACME server answered HTTP %s for %s%s'),
  /** An ACME request failed with neither an answer nor a message. */
  ACME_NO_REASON: createError('MTA_STS_ACME_NO_REASON', 'the ACME request failed without a reason'),
  /** Any other ACME failure (mostly the CA's problem document, whose detail is the message); `kind` classifies it, `cause` is the original. */
  ACME_FAILED: createError('MTA_STS_ACME_FAILED', '%s'),
  /** A TLS-ALPN-01 validation handshake arrived for a host with no pending challenge (the handshake is refused). */
  ACME_NO_TLS_ALPN_CHALLENGE: createError('MTA_STS_ACME_NO_TLS_ALPN_CHALLENGE', 'no TLS-ALPN-01 challenge for %s'),
  /** The report database could not be opened or migrated at start: the file, then the reason. */
  REPORT_DATABASE_UNUSABLE: createError('MTA_STS_REPORT_DATABASE_UNUSABLE', 'cannot open the report database %s: %s'),
  /** A call to the report database failed because its worker thread stopped; the reason follows. */
  REPORT_DATABASE_STOPPED: createError('MTA_STS_REPORT_DATABASE_STOPPED', 'the report database worker stopped: %s'),
  /** `database` is configured, but there is no PostgreSQL URL to connect with. */
  DATABASE_URL_MISSING: createError('MTA_STS_DATABASE_URL_MISSING', 'no PostgreSQL URL: %s'),
  /** A worker asked the primary process (or the primary a worker) and got no answer in time: the request type, the limit in ms. */
  IPC_TIMEOUT: createError('MTA_STS_IPC_TIMEOUT', 'no answer to %s within %d ms from the other process'),
  /** A request between the primary and a worker failed on the other side: the request type, the reason. */
  IPC_FAILED: createError('MTA_STS_IPC_FAILED', 'request %s failed in the other process: %s'),
} as const
