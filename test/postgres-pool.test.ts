import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { PassThrough } from 'node:stream'
import t from 'tap'
import { createLogger } from '../src/log.js'
import { DATABASE_URL_ENV, openPostgresPool } from '../src/postgres-pool.js'
import { tempDir } from './helpers/fixtures.js'
import { startPostgres } from './helpers/postgres.js'

function logs (): { logger: ReturnType<typeof createLogger>, text: () => string } {
  let text = ''
  const stream = new PassThrough()
  stream.on('data', (c: Buffer) => { text += c.toString() })
  return { logger: createLogger('info', stream), text: () => text }
}

t.test('the URL from the file (or the environment); a missing one is named; the password is never logged', async t => {
  const server = await startPostgres(t)
  const url = (await server.createDatabase()).replace('postgres@', 'postgres:s3cret-password@')
  const dir = await tempDir(t)
  const file = join(dir, 'db.url')
  await writeFile(file, `${url}\n`, { mode: 0o600 })
  const { logger, text } = logs()
  const pool = await openPostgresPool({ urlFile: file, poolSize: 2 }, logger, {})
  t.teardown(() => pool.end())
  t.same((await pool.query('select 1 as one')).rows, [{ one: 1 }])
  const fromEnv = await openPostgresPool({ poolSize: 1 }, logger, { [DATABASE_URL_ENV]: url })
  t.same((await fromEnv.query('select 2 as two')).rows, [{ two: 2 }])
  await fromEnv.end()

  await t.rejects(openPostgresPool({ poolSize: 1 }, logger, {}), { code: 'MTA_STS_DATABASE_URL_MISSING', message: /neither database\.url_file nor MTA_STS_DATABASE_URL is set/ })
  await t.rejects(openPostgresPool({ urlFile: join(dir, 'nothing'), poolSize: 1 }, logger, {}), { message: /database\.url_file .*nothing cannot be read \(ENOENT\)/ })
  await writeFile(join(dir, 'empty'), '\n')
  await t.rejects(openPostgresPool({ urlFile: join(dir, 'empty'), poolSize: 1 }, logger, {}), { message: /is empty/ })

  // A database restart breaks the idle connection: logged, not thrown.
  await server.kill()
  await server.restart()
  const deadline = Date.now() + 5000
  while (!text().includes('database_connection_lost') && Date.now() < deadline) await new Promise(resolve => setTimeout(resolve, 50))
  t.match(text(), 'database_connection_lost')
  t.same((await pool.query('select 3 as three')).rows, [{ three: 3 }], 'and the pool reconnects')
  t.notMatch(text(), 's3cret-password')
})
