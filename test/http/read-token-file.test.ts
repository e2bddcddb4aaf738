import { chmod, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { PassThrough } from 'node:stream'
import t from 'tap'
import { readTokenFile } from '../../src/http/read-token-file.js'
import { createLogger } from '../../src/log.js'
import { tempDir } from '../helpers/service-harness.js'

function logger () {
  const lines: string[] = []
  const stream = new PassThrough()
  stream.on('data', (c: Buffer) => lines.push(c.toString()))
  return { logger: createLogger('info', stream), lines }
}

t.test('a 0600 token file: trimmed, no warning', async t => {
  const dir = await tempDir(t)
  const file = join(dir, 'token')
  await writeFile(file, '  s3cret-token-value\n', { mode: 0o600 })
  const { logger: log, lines } = logger()
  t.equal(await readTokenFile(file, log), 's3cret-token-value')
  t.same(lines, [])
})

t.test('a world-readable token file: accepted with a warning that does not carry the token', async t => {
  const dir = await tempDir(t)
  const file = join(dir, 'token')
  await writeFile(file, 's3cret-token-value\n')
  await chmod(file, 0o644)
  const { logger: log, lines } = logger()
  t.equal(await readTokenFile(file, log), 's3cret-token-value')
  t.equal(lines.length, 1)
  t.match(JSON.parse(lines[0]!), { level: 'warn', event: 'config_warning', file, mode: '0644', msg: /chmod 600/ })
  t.notMatch(lines[0], /s3cret/)
})

t.test('an empty or unreadable token file is an error', async t => {
  const dir = await tempDir(t)
  const empty = join(dir, 'empty')
  await writeFile(empty, ' \n', { mode: 0o600 })
  await t.rejects(readTokenFile(empty, logger().logger), { code: 'MTA_STS_OPS_TOKEN_EMPTY', message: `listen.ops.token_file ${empty} is empty` })
  const missing = join(dir, 'missing')
  await t.rejects(readTokenFile(missing, logger().logger), { code: 'MTA_STS_OPS_TOKEN_UNREADABLE', message: `listen.ops.token_file ${missing} cannot be read (ENOENT)` })
})
