import pino, { type DestinationStream, type Logger } from 'pino'

/** Paths pino replaces with `[redacted]`, so no key material reaches the logs. */
export const REDACT_PATHS = Object.freeze([
  'key', 'keyPem', 'privateKey', 'accountKey', 'hmacKey', 'eab', 'password', 'secret',
  '*.key', '*.keyPem', '*.privateKey', '*.accountKey', '*.hmacKey', '*.eab', '*.password', '*.secret',
  'req.headers.authorization', 'req.headers.cookie',
])

/**
 * Largest single write to stdout: PIPE_BUF on Linux, so the writes of several
 * processes sharing one pipe (cluster workers) never interleave mid-line. A
 * line longer than this is written alone, and may.
 */
export const LOG_MAX_WRITE = 4096

/** Bytes buffered before stdout is written (sonic-boom wants it below {@link LOG_MAX_WRITE}). */
export const LOG_MIN_LENGTH = LOG_MAX_WRITE - 1

/** How often buffered lines are written when fewer than {@link LOG_MIN_LENGTH} bytes came. */
export const LOG_FLUSH_MS = 500

/**
 * The service's JSON logger. Writes to stdout asynchronously and buffered
 * unless a destination is given (tests pass a stream to read the lines back):
 * a policy fetch costs a line in memory, not a system call. Buffered lines
 * reach stdout once about 4 KiB have gathered, every {@link LOG_FLUSH_MS} on a
 * quiet service, on `logger.flush()`, and synchronously when the process exits.
 */
export function createLogger (level: string, destination?: DestinationStream): Logger {
  return pino({
    level,
    base: { service: 'mta-sts-host' },
    timestamp: isoTimeOncePerMs(),
    formatters: { level: label => ({ level: label }) },
    redact: { paths: [...REDACT_PATHS], censor: '[redacted]' },
  }, destination ?? pino.destination({ dest: 1, sync: false, minLength: LOG_MIN_LENGTH, maxWrite: LOG_MAX_WRITE, periodicFlush: LOG_FLUSH_MS }))
}

/**
 * pino's `isoTime`, formatted once per millisecond: a busy service writes many lines within one
 * (a policy fetch each), and `toISOString()` was the largest single cost of a fetch line in a profile.
 */
export function isoTimeOncePerMs (now: () => number = Date.now): () => string {
  let last = Number.NaN
  let field = ''
  return () => {
    const ms = now()
    if (ms !== last) {
      last = ms
      field = `,"time":"${new Date(ms).toISOString()}"`
    }
    return field
  }
}
