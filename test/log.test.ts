import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { PassThrough } from 'node:stream'
import t from 'tap'
import { createLogger } from '../src/log.js'

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
  // A child process (with this run's loaders, so TypeScript and coverage work) logs with the default
  // destination; what it wrote to fd 1 and fd 2 is read back separately.
  const script = [
    `import { createLogger } from ${JSON.stringify(new URL('../src/log.ts', import.meta.url).href)}`,
    "const logger = createLogger('info')",
    "logger.info({ event: 'started', tenant: 'example.com', keyPem: 'secret' }, 'to stdout')",
    "logger.debug('below the level')",
  ].join('\n')
  const child = spawn(process.execPath, [...process.execArgv, '--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'pipe'] })
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
