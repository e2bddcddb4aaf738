import { spawnSync } from 'node:child_process'
import { setTimeout as sleep } from 'node:timers/promises'
import pg from 'pg'
import t, { type Test } from 'tap'
import { currentOwner } from '../../src/store/lock-owner.js'
import { PostgresStore, type PostgresStoreOptions } from '../../src/store/postgres-store.js'
import { startCrashProcess } from '../helpers/crash-process.js'
import { startPostgres } from '../helpers/postgres.js'
import { storeContract } from '../helpers/store-contract.js'

// One PostgreSQL server for this file, a fresh database per subtest.
const server = await startPostgres(t)

/** A pool as the service should make one: bounded connection wait, idle-connection errors handled. */
function newPool (t: Test, url: string, max = 10): pg.Pool {
  const pool = new pg.Pool({ connectionString: url, connectionTimeoutMillis: 5000, max })
  pool.on('error', () => {})
  let ended = false
  const end = pool.end.bind(pool)
  pool.end = async () => {
    if (ended) return
    ended = true
    await end()
  }
  t.teardown(() => pool.end())
  return pool
}

async function openStore (t: Test, url: string, opts?: PostgresStoreOptions): Promise<{ pool: pg.Pool; store: PostgresStore }> {
  const pool = newPool(t, url)
  const store = await PostgresStore.open(pool, opts)
  t.teardown(() => { store.close() })
  return { pool, store }
}

async function fresh (t: Test, opts?: PostgresStoreOptions): Promise<{ url: string; pool: pg.Pool; store: PostgresStore }> {
  const url = await server.createDatabase()
  return { url, ...await openStore(t, url, opts) }
}

async function rejectsWithCode (t: Test, promise: Promise<unknown>, code: string, message: string): Promise<unknown> {
  try {
    await promise
    t.fail(`${message}: expected a rejection with ${code}`)
    return undefined
  } catch (err) {
    t.equal((err as { code?: unknown }).code, code, message)
    return err
  }
}

/** The pid of a process that has exited: provably dead on this host. */
function deadPid (): number {
  const child = spawnSync('sh', ['-c', 'echo $$'], { encoding: 'utf8' })
  return Number(child.stdout.trim())
}

storeContract(t, async t => (await fresh(t)).store)

t.test('values are rows of store_entries; secret is recorded, values are bytea', async t => {
  const { pool, store } = await fresh(t)
  await store.put('internal-ca/ca.key', 'KEY', { secret: true })
  await store.put('internal-ca/ca.crt', Buffer.from([0, 255]))
  const { rows } = await pool.query('SELECT key, value, secret, updated_at FROM store_entries ORDER BY key')
  t.same(rows.map(r => [r.key, r.value, r.secret]), [['internal-ca/ca.crt', Buffer.from([0, 255]), false], ['internal-ca/ca.key', Buffer.from('KEY'), true]])
  t.ok(rows.every(r => r.updated_at instanceof Date))
  await store.put('internal-ca/ca.key', 'KEY2')
  t.same((await pool.query('SELECT secret FROM store_entries WHERE key = $1', ['internal-ca/ca.key'])).rows, [{ secret: false }], 'the flag follows the last put')
})

t.test('list: `_` in a prefix is a character, not a LIKE wildcard', async t => {
  const { store } = await fresh(t)
  for (const key of ['a_b/x', 'aXb/y', 'a_bc/z', 'A_b/w', 'a_b/sub/deep']) await store.put(key, key)
  t.same(await store.list('a_b'), ['a_b/sub/deep', 'a_b/x'])
  t.same(await store.list(''), ['A_b/w', 'aXb/y', 'a_b/sub/deep', 'a_b/x', 'a_bc/z'], 'byte order, as JavaScript sorts')
})

t.test('migrate is idempotent and safe from 5 pools at once', async t => {
  const url = await server.createDatabase()
  const pools = Array.from({ length: 5 }, () => newPool(t, url, 2))
  const stores = await Promise.all(pools.map(async pool => await PostgresStore.open(pool)))
  await Promise.all(stores.map(async store => { await store.migrate() }))
  t.pass('every replica migrated')
  await stores[0]?.put('k', 'v')
  t.equal((await stores[4]?.get('k'))?.toString(), 'v', 'they share one table')
  const tables = await pools[0]?.query("SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename")
  t.same(tables?.rows, [{ tablename: 'store_entries' }, { tablename: 'store_locks' }])
})

t.test('a migration that fails is rolled back and reported; so is an unreachable database', async t => {
  const url = await server.createDatabase()
  const admin = newPool(t, url, 1)
  await admin.query('CREATE ROLE store_reader LOGIN')
  // PostgreSQL 15: only the database owner may create in schema public.
  const reader = newPool(t, url.replace('postgres@', 'store_reader@'), 1)
  const err = await rejectsWithCode(t, PostgresStore.open(reader), 'MTA_STS_STORE_DATABASE_FAILED', 'no CREATE right')
  t.match((err as Error).message, /^the store database failed during migrate: permission denied/)
  t.ok((err as Error).cause, 'the driver\'s error is the cause')
  t.same((await reader.query('SELECT 1 AS one')).rows, [{ one: 1 }], 'the pool still works (the broken connection was dropped)')
  const nowhere = newPool(t, `postgres://postgres@127.0.0.1:${await closedPort()}/x`, 1)
  await rejectsWithCode(t, PostgresStore.open(nowhere), 'MTA_STS_STORE_DATABASE_FAILED', 'nothing listens')
})

/** A loopback port nothing listens on (the server's, briefly stopped, would do too; this one is never used). */
async function closedPort (): Promise<number> {
  const { createServer } = await import('node:net')
  return await new Promise(resolve => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number }
      s.close(() => { resolve(port) })
    })
  })
}

t.test('two replicas (two pools on one database) contend for a lock: one holds it, the other gets it after unlock', async t => {
  const { url, store: a } = await fresh(t)
  const { store: b } = await openStore(t, url)
  const unlockA = await a.lock('issue-mta-sts.example.com')
  await rejectsWithCode(t, b.lock('issue-mta-sts.example.com', { waitMs: 300 }), 'MTA_STS_STORE_LOCK_TIMEOUT', 'B cannot take A\'s lock')
  let acquired = false
  const waiting = b.lock('issue-mta-sts.example.com', { waitMs: 20_000 }).then(unlock => { acquired = true; return unlock })
  await sleep(300)
  t.equal(acquired, false, 'B waits while A holds it')
  await unlockA()
  const unlockB = await waiting
  t.pass('B got it after A released it')
  await rejectsWithCode(t, a.lock('issue-mta-sts.example.com', { waitMs: 0 }), 'MTA_STS_STORE_LOCK_TIMEOUT', 'now A waits')
  await unlockB()
})

t.test('a holder whose connections die loses the lease after its ttl; another replica takes over', async t => {
  const { url, pool: poolA, store: a } = await fresh(t)
  const { pool: poolB, store: b } = await openStore(t, url)
  await a.lock('job', { ttlMs: 1000, refreshMs: 200 })
  await sleep(500)
  // A's process loses its database: its backends are terminated and its pool refuses new queries.
  await poolB.query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE pid <> pg_backend_pid() AND datname = current_database() AND usename = 'postgres'")
  await poolA.end()
  const started = Date.now()
  const unlockB = await b.lock('job', { waitMs: 10_000 })
  const waited = Date.now() - started
  t.ok(waited < 5000, `B took over within the lease and a bit (${waited} ms)`)
  await rejectsWithCode(t, b.lock('job', { waitMs: 0 }), 'MTA_STS_STORE_LOCK_TIMEOUT', 'B holds it now')
  await unlockB()
})

t.test('a lost lease: the old holder stops renewing and its late unlock leaves the new holder\'s lock', async t => {
  const { url, pool, store: a } = await fresh(t)
  const { store: b } = await openStore(t, url)
  // A stalls: its first renewal comes long after its 200 ms lease ran out.
  const unlockA = await a.lock('stall', { ttlMs: 200, refreshMs: 1200 })
  await sleep(300)
  const unlockB = await b.lock('stall', { ttlMs: 60_000, refreshMs: 0, waitMs: 0 })
  const before = (await pool.query('SELECT owner, token, expires_at FROM store_locks')).rows
  await sleep(1500)
  t.same((await pool.query('SELECT owner, token, expires_at FROM store_locks')).rows, before, 'A\'s heartbeat found B\'s token and left the row alone')
  await unlockA()
  await rejectsWithCode(t, a.lock('stall', { waitMs: 0 }), 'MTA_STS_STORE_LOCK_TIMEOUT', 'A\'s late unlock did not release B\'s lock')
  await unlockB()
  t.same((await pool.query('SELECT name FROM store_locks')).rows, [], 'B\'s unlock deleted it')
})

t.test('the lock row records the owner; the lease is on the database clock', async t => {
  const { pool, store } = await fresh(t)
  const unlock = await store.lock('internal-ca', { ttlMs: 60_000 })
  const { rows } = await pool.query("SELECT owner, token, expires_at - now() > interval '50 seconds' AS ahead FROM store_locks")
  t.equal(rows.length, 1)
  t.same(JSON.parse(rows[0].owner), { owner: currentOwner() })
  t.match(rows[0].token, /^[0-9a-f]{32}$/)
  t.equal(rows[0].ahead, true)
  await unlock()
})

t.test('a lock of an owner provably dead on this host is taken over at once; cleanup removes those and expired ones', async t => {
  const { pool, store } = await fresh(t)
  const dead = JSON.stringify({ owner: { ...currentOwner(), pid: deadPid(), startTime: '1' } })
  const insert = async (name: string, owner: string, expiresIn: string): Promise<void> => {
    await pool.query(`INSERT INTO store_locks (name, owner, token, expires_at) VALUES ($1, $2, 'old-token', now() + $3::interval)`, [name, owner, expiresIn])
  }
  await insert('crashed', dead, '1 hour')
  await (await store.lock('crashed', { waitMs: 0 }))()
  t.pass('taken over although its lease had an hour left')
  await insert('foreign', JSON.stringify({ owner: { host: 'elsewhere', pid: 1 } }), '1 hour')
  await insert('garbled', 'not json', '1 hour')
  await rejectsWithCode(t, store.lock('foreign', { waitMs: 0 }), 'MTA_STS_STORE_LOCK_TIMEOUT', 'another host\'s lock waits for its lease')
  await rejectsWithCode(t, store.lock('garbled', { waitMs: 0 }), 'MTA_STS_STORE_LOCK_TIMEOUT', 'an unreadable owner is not judged dead')
  await insert('crashed2', dead, '1 hour')
  await insert('expired', JSON.stringify({ owner: { host: 'elsewhere', pid: 1 } }), '-1 second')
  const live = await store.lock('live')
  t.same(await store.cleanup(), { tempFiles: 0, locks: 2 }, 'the dead owner\'s and the expired lock')
  t.same((await pool.query('SELECT name FROM store_locks ORDER BY name')).rows.map(r => r.name), ['foreign', 'garbled', 'live'], 'live replicas\' locks stay')
  await live()
  t.same(await store.cleanup(), { tempFiles: 0, locks: 0 })
})

t.test('kill -9 of the process holding a lock: another process on this host takes it over long before its lease ends', async t => {
  const { url, store } = await fresh(t)
  const holder = startCrashProcess(t, ['hold-pg', url, 'issue-mta-sts.example.com'])
  await holder.waitFor(line => line.event === 'locked')
  await rejectsWithCode(t, store.lock('issue-mta-sts.example.com', { waitMs: 0 }), 'MTA_STS_STORE_LOCK_TIMEOUT', 'held by the live child')
  await holder.kill()
  const started = Date.now()
  const unlock = await store.lock('issue-mta-sts.example.com', { waitMs: 20_000 })
  t.ok(Date.now() - started < 20_000, 'taken over although the child\'s 30 s lease had not run out')
  await unlock()
})

t.test('close stops the heartbeats: the leases then run out', async t => {
  const { url, store: a } = await fresh(t)
  const { store: b } = await openStore(t, url)
  await a.lock('one', { ttlMs: 1000, refreshMs: 100 })
  await a.lock('two', { ttlMs: 1000, refreshMs: 100 })
  await sleep(1500)
  await rejectsWithCode(t, b.lock('one', { waitMs: 0 }), 'MTA_STS_STORE_LOCK_TIMEOUT', 'renewed while open')
  a.close()
  await (await b.lock('one', { waitMs: 10_000 }))()
  await (await b.lock('two', { waitMs: 10_000 }))()
  t.pass('both taken over after close')
})

t.test('a query that does not answer fails after queryTimeoutMs instead of hanging', async t => {
  const { url, store } = await fresh(t, { queryTimeoutMs: 300 })
  await store.put('busy', 'v1')
  const blocker = new pg.Client({ connectionString: url })
  await blocker.connect()
  t.teardown(() => blocker.end())
  await blocker.query('BEGIN')
  await blocker.query("SELECT 1 FROM store_entries WHERE key = 'busy' FOR UPDATE")
  const err = await rejectsWithCode(t, store.put('busy', 'v2'), 'MTA_STS_STORE_DATABASE_FAILED', 'the blocked upsert times out')
  t.match((err as Error).message, 'during put: Query read timeout')
  await blocker.query('ROLLBACK')
  await store.put('busy', 'v3')
  t.equal((await store.get('busy'))?.toString(), 'v3', 'works once the row is free')
})

// Last: it kills the server of this file (and restarts it).
t.test('PostgreSQL killed: calls reject with MTA_STS_STORE_DATABASE_FAILED; after its restart the same store works', async t => {
  const { url, store } = await fresh(t)
  const { store: other } = await openStore(t, url)
  await store.put('certificates/acme/a.pem', 'cert')
  const unlock = await store.lock('held', { ttlMs: 60_000, refreshMs: 100 })
  await server.kill()
  const started = Date.now()
  for (const [what, call] of [
    ['get', store.get('certificates/acme/a.pem')],
    ['put', store.put('certificates/acme/b.pem', 'x')],
    ['delete', store.delete('certificates/acme/a.pem')],
    ['list', store.list('certificates')],
    ['lock', store.lock('other', { waitMs: 60_000 })],
    ['cleanup', store.cleanup()],
    ['migrate', store.migrate()],
  ] as const) {
    const err = await rejectsWithCode(t, call, 'MTA_STS_STORE_DATABASE_FAILED', `${what} rejects`)
    t.match((err as Error).message, `the store database failed during ${what}: `)
  }
  await sleep(300) // a few failing heartbeats
  await unlock()
  t.pass('unlock resolves while the database is down (the lease runs out by itself)')
  t.ok(Date.now() - started < 30_000, 'nothing hung')
  await server.restart()
  t.equal((await store.get('certificates/acme/a.pem'))?.toString(), 'cert', 'committed data survived')
  await store.put('certificates/acme/b.pem', 'after')
  t.same(await other.list('certificates'), ['certificates/acme/a.pem', 'certificates/acme/b.pem'])
  await rejectsWithCode(t, other.lock('held', { waitMs: 0 }), 'MTA_STS_STORE_LOCK_TIMEOUT', 'the lock unreleased during the outage holds until its lease ends')
  await (await store.lock('other', { waitMs: 0 }))()
  t.pass('locks work again')
})
