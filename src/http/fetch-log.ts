import pino, { type Logger } from 'pino'

/** What the log line of one policy fetch says. */
export interface FetchLogFields {
  readonly tenant: string | null
  readonly host: string | null
  readonly policyId: string | null
  readonly mode: string | null
  readonly method: string
  readonly status: number
  readonly client: string
  readonly userAgent: string | null
  readonly tls: string | null
  readonly durationMs: number
}

/** Writes the log line of one policy fetch (see {@link fetchLog}). */
export type FetchLogWriter = (fields: FetchLogFields) => void

/** The message of every fetch line. */
export const FETCH_MESSAGE = 'policy fetch'

/** The logger's internals a fetch line is put together from (see `pino.symbols`, part of pino's API). */
interface PinoInternals {
  [key: symbol]: unknown
}

/**
 * The writer of the `policy_fetch` line: the JSON line pino writes for
 * `logger.info({ event: 'policy_fetch', tenant, host, policy_id, mode, method, status, client,
 * user_agent, tls, duration_ms }, 'policy fetch')`, byte for byte (a test compares them), put
 * together as one string from the logger's own level label, time, bindings and message key, and
 * written to its stream. A busy service writes one per request, and pino's generic walk of the
 * object (a property check, a serializer and stringifier lookup and a key escape per field) cost
 * about twice the line itself.
 *
 * A logger set up with anything that changes its lines beyond that (a mixin, a `log` formatter, a
 * message prefix, a stream write hook, a stream that wants metadata) gets `logger.info` itself.
 */
export function fetchLog (logger: Logger): FetchLogWriter {
  const { streamSym, timeSym, chindingsSym, lsCacheSym, endSym, messageKeySym, mixinSym, formattersSym, hooksSym } = pino.symbols
  // At run time since pino 8.12, not in its type declarations.
  const msgPrefixSym = (pino.symbols as unknown as Record<string, symbol>).msgPrefixSym as symbol
  const internals = logger as unknown as PinoInternals
  const stream = internals[streamSym] as { write (line: string): unknown, [key: symbol]: unknown }
  const formatters = internals[formattersSym] as { log?: unknown } | undefined
  const hooks = internals[hooksSym] as { streamWrite?: unknown } | undefined
  const plain = internals[mixinSym] === undefined && formatters?.log === undefined && hooks?.streamWrite === undefined &&
    internals[msgPrefixSym] === undefined && stream[Symbol.for('pino.metadata')] !== true
  if (!plain) {
    return f => {
      logger.info({
        event: 'policy_fetch', tenant: f.tenant, host: f.host, policy_id: f.policyId, mode: f.mode, method: f.method,
        status: f.status, client: f.client, user_agent: f.userAgent, tls: f.tls, duration_ms: f.durationMs,
      }, FETCH_MESSAGE)
    }
  }
  const time = internals[timeSym] as () => string
  const chindings = internals[chindingsSym] as string
  const msg = `,${JSON.stringify(internals[messageKeySym])}:${JSON.stringify(FETCH_MESSAGE)}${internals[endSym] as string}`
  const levels = internals[lsCacheSym] as Record<number, string>
  const info = pino.levels.values.info as number
  return f => {
    if (!logger.isLevelEnabled('info')) return
    stream.write(
      `${levels[info] as string}${time()}${chindings},"event":"policy_fetch","tenant":${str(f.tenant)},"host":${str(f.host)},` +
      `"policy_id":${str(f.policyId)},"mode":${str(f.mode)},"method":${JSON.stringify(f.method)},"status":${num(f.status)},` +
      `"client":${JSON.stringify(f.client)},"user_agent":${str(f.userAgent)},"tls":${str(f.tls)},"duration_ms":${num(f.durationMs)}${msg}`,
    )
  }
}

/** A string or null as pino writes it. */
function str (value: string | null): string {
  return value === null ? 'null' : JSON.stringify(value)
}

/** A number as pino writes it: null unless finite. */
function num (value: number): string {
  return Number.isFinite(value) ? String(value) : 'null'
}
