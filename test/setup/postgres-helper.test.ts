import t from 'tap'
import pg from 'pg'
import { startPostgres } from '../helpers/postgres.js'

// The PostgreSQL test helper itself: a server of its own, databases on demand, stop, kill -9 and restart.
t.test('a PostgreSQL server of its own: databases, kill -9 and restart', async t => {
  const server = await startPostgres(t)
  const url = await server.createDatabase()
  const query = async (text: string): Promise<unknown[]> => {
    const client = new pg.Client({ connectionString: url })
    await client.connect()
    try {
      return (await client.query(text)).rows
    } finally {
      await client.end()
    }
  }
  await query('create table t (v int)')
  await query('insert into t values (1)')
  await server.kill()
  await t.rejects(query('select 1'), 'down after kill -9')
  await server.restart()
  t.same(await query('select v from t'), [{ v: 1 }], 'data still there after the restart')
  t.not(await server.createDatabase(), url, 'another database')
})
