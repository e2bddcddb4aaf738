import pino, { type DestinationStream, type Logger } from 'pino'

/** Paths pino replaces with `[redacted]`, so no key material reaches the logs. */
export const REDACT_PATHS = Object.freeze([
  'key', 'keyPem', 'privateKey', 'accountKey', 'hmacKey', 'eab', 'password', 'secret',
  '*.key', '*.keyPem', '*.privateKey', '*.accountKey', '*.hmacKey', '*.eab', '*.password', '*.secret',
  'req.headers.authorization', 'req.headers.cookie',
])

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
  }, destination ?? pino.destination({ dest: 1, sync: false, minLength: 0 }))
}
