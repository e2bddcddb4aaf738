import pino, { type DestinationStream, type Logger } from 'pino'

/** Paths pino replaces with `[redacted]`, so no key material reaches the logs. */
export const REDACT_PATHS = Object.freeze([
  'key', 'keyPem', 'privateKey', 'accountKey', 'hmacKey', 'eab', 'password', 'secret',
  '*.key', '*.keyPem', '*.privateKey', '*.accountKey', '*.hmacKey', '*.eab', '*.password', '*.secret',
  'req.headers.authorization', 'req.headers.cookie',
])

/**
 * Most bytes one write to stdout carries: PIPE_BUF, the size a pipe writes
 * whole, so the lines of the workers of `serve --workers` (which share the
 * primary's stdout) never interleave mid-line. sonic-boom only cuts a write
 * between lines, so every write is whole lines (a single line longer than this
 * is written on its own).
 */
export const MAX_WRITE_BYTES = 4096

/**
 * The service's JSON logger. Writes to stdout asynchronously unless a
 * destination is given (tests pass a stream to read the lines back).
 */
export function createLogger (level: string, destination?: DestinationStream): Logger {
  return pino({
    level,
    base: { service: 'mta-sts-host' },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: label => ({ level: label }) },
    redact: { paths: [...REDACT_PATHS], censor: '[redacted]' },
  }, destination ?? pino.destination({ dest: 1, sync: false, minLength: 0, maxWrite: MAX_WRITE_BYTES }))
}
