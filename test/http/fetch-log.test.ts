import { PassThrough } from 'node:stream'
import t from 'tap'
import pino from 'pino'
import { FETCH_MESSAGE, fetchLog, type FetchLogFields } from '../../src/http/fetch-log.js'
import { createLogger } from '../../src/log.js'

/** A stream and the lines written to it so far. */
function capture (): { stream: PassThrough, lines: () => string[] } {
  const stream = new PassThrough()
  const chunks: string[] = []
  stream.on('data', (c: Buffer) => chunks.push(c.toString('utf8')))
  return { stream, lines: () => chunks.join('').split('\n').filter(l => l !== '') }
}

const fields: FetchLogFields = {
  tenant: 'example.com',
  host: 'mta-sts.example.com',
  policyId: '0fa693496f486611cde0b17de600d703',
  mode: 'enforce',
  method: 'GET',
  status: 200,
  client: '127.0.0.1',
  userAgent: 'Example-MTA/1.0',
  tls: 'TLSv1.3',
  durationMs: 0.125,
}

/** What pino itself writes for `f`: the line fetchLog must reproduce. */
function pinoLine (logger: pino.Logger, f: FetchLogFields): void {
  logger.info({
    event: 'policy_fetch', tenant: f.tenant, host: f.host, policy_id: f.policyId, mode: f.mode, method: f.method,
    status: f.status, client: f.client, user_agent: f.userAgent, tls: f.tls, duration_ms: f.durationMs,
  }, FETCH_MESSAGE)
}

const withoutTime = (line: string): string => line.replace(/,"time":"[^"]*"/, ',"time":"T"')

t.test('the same line pino writes, byte for byte (but the time), for plain and hostile values', async t => {
  const cases: FetchLogFields[] = [
    fields,
    { ...fields, tenant: null, host: null, policyId: null, mode: null, status: 404, userAgent: null, tls: null },
    { ...fields, host: 'mta-sts.example.com:8443', userAgent: 'quote " backslash \\ tab \t end' },
    { ...fields, userAgent: 'control \u0001\u001f del \u007f latin1 \u00e9\u00ff' },
    { ...fields, userAgent: 'x'.repeat(500) },
    { ...fields, method: 'HEAD', durationMs: Number.NaN },
    { ...fields, client: '::ffff:127.0.0.1', durationMs: 12 },
  ]
  for (const [name, make] of [
    ['createLogger', (s: PassThrough) => createLogger('info', s)],
    ['a worker child with bindings', (s: PassThrough) => createLogger('info', s).child({ pid: 42, worker: true })],
    ['a child without redaction', (s: PassThrough) => createLogger('info', s).child({}, { redact: { paths: [], censor: '' } })],
  ] as const) {
    const ours = capture()
    const theirs = capture()
    const logger = make(ours.stream)
    const write = fetchLog(logger)
    // The line is put together here, not handed back to pino (whose lines would match trivially).
    logger.info = () => { throw new Error('logger.info called for a logger fetchLog puts lines together for') }
    const reference = make(theirs.stream)
    for (const f of cases) {
      write(f)
      pinoLine(reference, f)
    }
    t.same(ours.lines().map(withoutTime), theirs.lines().map(withoutTime), name)
    t.equal(ours.lines().length, cases.length)
    for (const line of ours.lines()) t.match(JSON.parse(line), { level: 'info', event: 'policy_fetch', msg: 'policy fetch', time: /^\d{4}-\d\d-\d\dT/ })
  }
})

t.test('nothing is written below the logger level, and a level changed later is followed', async t => {
  const out = capture()
  const logger = createLogger('warn', out.stream)
  const write = fetchLog(logger)
  write(fields)
  t.same(out.lines(), [])
  logger.level = 'info'
  write(fields)
  t.equal(out.lines().length, 1)
})

t.test('a logger with a mixin, a log formatter, a message prefix, a write hook or a multistream gets pino itself', async t => {
  const loggers: [string, (s: PassThrough) => pino.Logger, (line: Record<string, unknown>) => boolean][] = [
    ['mixin', s => pino({ mixin: () => ({ extra: 1 }) }, s), l => l.extra === 1],
    ['log formatter', s => pino({ formatters: { log: o => ({ ...o, formatted: true }) } }, s), l => l.formatted === true],
    ['message prefix', s => pino({ msgPrefix: '[p] ' }, s), l => l.msg === '[p] policy fetch'],
    ['stream write hook', s => pino({ hooks: { streamWrite: line => line.replace('"policy_fetch"', '"hooked"') } }, s), l => l.event === 'hooked'],
    // A multistream picks streams by the level pino's own write records on it.
    ['multistream', s => pino({}, pino.multistream([{ stream: s, level: 'info' }])), l => l.event === 'policy_fetch'],
  ]
  for (const [name, make, check] of loggers) {
    const out = capture()
    fetchLog(make(out.stream))(fields)
    const [line] = out.lines()
    t.ok(line !== undefined && check(JSON.parse(line) as Record<string, unknown>), name)
  }
})
