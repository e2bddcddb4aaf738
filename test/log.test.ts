import { spawn, type ChildProcessByStdio } from 'node:child_process'
import { once } from 'node:events'
import { PassThrough, type Readable } from 'node:stream'
import t from 'tap'
import pino from 'pino'
import { createLogger, isoTimeOncePerMs, LOG_FLUSH_MS, LOG_MAX_WRITE, LOG_MIN_LENGTH } from '../src/log.js'

/**
 * Run `lines` as an ES module in a child process with this run's loaders (TypeScript and
 * coverage work), after `createLogger` is imported; stdout piped, stderr as `stderr`.
 */
function logChild (lines: string[], stderr: 'pipe' | 'inherit' = 'inherit'): ChildProcessByStdio<null, Readable, Readable> {
  const script = [`import { createLogger } from ${JSON.stringify(new URL('../src/log.ts', import.meta.url).href)}`, ...lines].join('\n')
  // With stderr 'inherit', `stderr` is null: only the tests that pipe it read it.
  return spawn(process.execPath, [...process.execArgv, '--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', stderr] }) as ChildProcessByStdio<null, Readable, Readable>
}

t.test('JSON lines with level names, ISO time and secrets redacted', async t => {
  const stream = new PassThrough()
  const chunks: string[] = []
  stream.on('data', (c: Buffer) => chunks.push(c.toString()))
  const logger = createLogger('info', stream)
  logger.info({ event: 'x', keyPem: '-----BEGIN PRIVATE KEY-----', acme: { hmacKey: 'c2VjcmV0', accountKey: 'k' }, host: 'mta-sts.example.com' }, 'hello')
  logger.debug('not at info')
  const lines = chunks.join('').trim().split('\n').map(l => JSON.parse(l) as Record<string, unknown>)
  t.equal(lines.length, 1)
  t.match(lines[0], { level: 'info', service: 'mta-sts-host', event: 'x', host: 'mta-sts.example.com', keyPem: '[redacted]', acme: { hmacKey: '[redacted]', accountKey: '[redacted]' }, msg: 'hello' })
  t.match(lines[0]!.time, /^\d{4}-\d\d-\d\dT/)
  t.notMatch(chunks.join(''), /PRIVATE KEY|c2VjcmV0/)
})

t.test('writes to stdout when no destination is given', async t => {
  t.equal(createLogger('silent').level, 'silent')
  // A child process logs with the default destination; what it wrote to fd 1 and fd 2 is read back separately.
  const child = logChild([
    "const logger = createLogger('info')",
    "logger.info({ event: 'started', tenant: 'example.com', keyPem: 'secret' }, 'to stdout')",
    "logger.debug('below the level')",
  ], 'pipe')
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (c: Buffer) => { stdout += c.toString() })
  child.stderr.on('data', (c: Buffer) => { stderr += c.toString() })
  const [code] = await once(child, 'close') as [number]
  t.equal(code, 0)
  t.equal(stderr, '', 'nothing on stderr')
  const lines = stdout.split('\n').filter(l => l !== '')
  t.equal(lines.length, 1, 'one line on stdout')
  t.match(JSON.parse(lines[0] ?? '{}') as unknown, { level: 'info', service: 'mta-sts-host', event: 'started', tenant: 'example.com', keyPem: '[redacted]', msg: 'to stdout', time: /^\d{4}-\d\d-\d\dT/ })
})

t.test('buffered stdout: a quiet process still writes its lines to a pipe within the flush interval', async t => {
  t.ok(LOG_MIN_LENGTH < LOG_MAX_WRITE && LOG_MAX_WRITE <= 4096, 'writes of at most PIPE_BUF bytes: processes sharing a pipe never interleave mid-line')
  // The child logs two short lines (far below the buffer size) and then stays alive, idle, until
  // told to go (or 20 s pass): the lines must come while it lives, not only when it exits.
  const child = logChild([
    "const logger = createLogger('info')",
    "logger.info({ event: 'one' }, 'first')",
    "logger.info({ event: 'two' }, 'second')",
    // Exit status 9 if never told to go: lines that only came with the exit flush fail the test.
    'const keep = setTimeout(() => { process.exit(9) }, 20_000)',
    "process.on('SIGUSR2', () => { clearTimeout(keep) })",
  ])
  t.teardown(() => { child.kill('SIGKILL') })
  let stdout = ''
  await new Promise<void>(resolve => {
    child.stdout.on('data', (c: Buffer) => {
      stdout += c.toString()
      if (stdout.split('\n').length > 2) resolve()
    })
  })
  t.equal(child.exitCode, null, 'the child is still running')
  t.same(stdout.trim().split('\n').map(l => (JSON.parse(l) as { event: string }).event), ['one', 'two'])
  child.kill('SIGUSR2')
  t.same(await once(child, 'close'), [0, null])
  t.ok(LOG_FLUSH_MS <= 1000, 'lines of a quiet service are written within a second')
})

t.test('buffered stdout: a burst of lines all reaches the pipe, whole, when the process exits right after', async t => {
  // More lines than one write takes, logged in one go, then process.exit: pino flushes synchronously on exit.
  const child = logChild([
    "const logger = createLogger('info')",
    "for (let i = 0; i < 2000; i++) logger.info({ event: 'policy_fetch', i, tenant: 'example.com' }, 'policy fetch')",
    'process.exit(3)',
  ])
  let stdout = ''
  child.stdout.on('data', (c: Buffer) => { stdout += c.toString() })
  const [code] = await once(child, 'close') as [number]
  t.equal(code, 3)
  const lines = stdout.split('\n').filter(l => l !== '')
  t.equal(lines.length, 2000, 'every line')
  t.same(lines.map(l => (JSON.parse(l) as { i: number }).i), Array.from({ length: 2000 }, (_, i) => i), 'whole and in order')
})

t.test('the time field is pino\'s isoTime, formatted once per millisecond', async t => {
  let now = Date.parse('2026-12-01T06:00:00.123Z')
  const time = isoTimeOncePerMs(() => now)
  const first = time()
  t.equal(first, ',"time":"2026-12-01T06:00:00.123Z"')
  t.equal(time(), first, 'the same millisecond: the same field')
  now += 1
  t.equal(time(), ',"time":"2026-12-01T06:00:00.124Z"')
  const real = isoTimeOncePerMs()
  const shape = /^,"time":"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z"$/
  t.match(real(), shape)
  t.match(pino.stdTimeFunctions.isoTime(), shape, 'the shape pino writes')
})
