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
  const logger = createLogger('silent')
  t.equal(logger.level, 'silent')
})
