import { gunzipSync, gzipSync } from 'node:zlib'
import { Kysely, PostgresDialect, sql } from 'kysely'
import pg from 'pg'
import t, { type Test } from 'tap'
import { ManualClock, type Clock } from '../../src/clock.js'
import { openPostgresReportStore } from '../../src/db/open-postgres-report-store.js'
import { migrateReportDatabase, REPORT_MIGRATIONS } from '../../src/db/report-migrations.js'
import type { ReportDatabase } from '../../src/db/report-tables.js'
import type { SqlReportStore } from '../../src/db/sql-report-store.js'
import { corpusFile, makeReport, reportStoreContract } from '../helpers/report-store-contract.js'
import { startPostgres } from '../helpers/postgres.js'

const server = await startPostgres(t)

/** A pool the way the service makes one: it fails fast while the database is down, and survives broken idle connections. */
function newPool (t: Test, url: string, max = 10): pg.Pool {
  const pool = new pg.Pool({ connectionString: url, max, connectionTimeoutMillis: 2000 })
  pool.on('error', () => undefined)
  t.teardown(async () => { await pool.end() })
  return pool
}

/** Kysely on its own pool, for looking at the tables behind a store. */
function inspect (t: Test, url: string): Kysely<ReportDatabase> {
  const db = new Kysely<ReportDatabase>({ dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: url, max: 2 }) }) })
  t.teardown(async () => { await db.destroy() })
  return db
}

const OPTIONS = { maxReportBytes: 1024 * 1024, rawRetentionDays: 30, retentionDays: 365 }

async function openStore (t: Test, url: string, clock: Clock = new ManualClock(new Date('2026-11-25T12:00:00Z')), pool = newPool(t, url)): Promise<SqlReportStore> {
  const store = await openPostgresReportStore(pool, { ...OPTIONS, clock })
  t.teardown(async () => { await store.close() })
  return store
}

t.test('contract: PostgreSQL', async t => { reportStoreContract(t, async t => await openStore(t, await server.createDatabase())) })

t.test('5 replicas starting at once on a new database: each migration step runs once', async t => {
  const url = await server.createDatabase()
  const dbs = Array.from({ length: 5 }, () => inspect(t, url))
  const applied = await Promise.all(dbs.map(async db => await migrateReportDatabase(db)))
  t.same(applied.flat().sort(), ['0001-reports', '0002-fetch-stats'], 'one replica applied the steps, the others found them done')
  const stores = await Promise.all(Array.from({ length: 5 }, async () => await openStore(t, url)))
  const outcomes = await Promise.all(stores.map(async (store, i) => await store.submit({ bytes: makeReport({ org: `R${i}` }), transport: 'https', source: 'x' })))
  t.same(outcomes.map(o => o.status), ['stored', 'stored', 'stored', 'stored', 'stored'])
  const { rows } = await sql<{ name: string }>`select name from schema_migrations order by name`.execute(dbs[0] as Kysely<ReportDatabase>)
  t.same(rows.map(r => r.name), ['0001-reports', '0002-fetch-stats'])
  t.same((await stores[4]?.counts())?.reports, 5, 'every replica writes the one database')
})

t.test('two replicas on one database: the same report is stored once, fetch totals add up, a policy change is recorded once', async t => {
  const url = await server.createDatabase()
  const [a, b] = [await openStore(t, url), await openStore(t, url)] as [SqlReportStore, SqlReportStore]
  const reports = Array.from({ length: 10 }, (_, i) => makeReport({ org: `Org${i}`, day: '2026-11-23' }))
  // Each sender retries through the balancer: the same bytes, and a gzipped copy, reach both replicas at once.
  const outcomes = await Promise.all(reports.flatMap(bytes => [
    a.submit({ bytes, transport: 'https', source: 'a' }),
    b.submit({ bytes, transport: 'https', source: 'b' }),
    b.submitMany([{ bytes: gzipSync(bytes), transport: 'https', source: 'b' }]).then(o => o[0]),
  ]))
  t.equal(outcomes.filter(o => o?.status === 'stored').length, 10, 'each report stored by exactly one replica')
  t.equal(outcomes.filter(o => o?.status === 'duplicate').length, 20)
  t.same(await a.counts(), await b.counts())
  t.equal((await a.counts()).reports, 10)

  const count = (fetches: number, lastAt: string) => ({ domain: 'a.example', policyId: 'id1', day: '2026-11-23', sender: 'google', fetches, lastAt })
  await Promise.all([
    a.addFetches({ counts: [count(2, '2026-11-23T01:00:00.000Z')], networks: [{ domain: 'a.example', day: '2026-11-23', network: '192.0.2.0/24' }] }),
    b.addFetches({ counts: [count(3, '2026-11-23T02:00:00.000Z')], networks: [{ domain: 'a.example', day: '2026-11-23', network: '192.0.2.0/24' }] }),
  ])
  const fetches = await b.fetchesFor('a.example', 1, '2026-11-23')
  t.same(fetches.days, [{ day: '2026-11-23', policyId: 'id1', sender: 'google', fetches: 5, lastAt: '2026-11-23T02:00:00.000Z' }], 'cluster totals')
  t.same(fetches.networks, [{ day: '2026-11-23', count: 1 }])

  const change = { domain: 'a.example', at: '2026-11-23T00:00:00.000Z', mode: 'enforce', policyId: 'id1' }
  const recorded = await Promise.all([a.recordPolicyChanges([change]), b.recordPolicyChanges([change]), a.recordPolicyChanges([change])])
  t.same(recorded.sort(), [0, 0, 1], 'replicas starting with the same configuration record its policy once')
  t.same(await b.policyHistory('a.example', 10), [change])
})

t.test('a flush carrying a failed one again (the same key twice) adds up in one statement', async t => {
  const store = await openStore(t, await server.createDatabase())
  const count = (fetches: number, lastAt: string) => ({ domain: 'a.example', policyId: 'id1', day: '2026-11-23', sender: 'other', fetches, lastAt })
  const network = { domain: 'a.example', day: '2026-11-23', network: '192.0.2.0/24' }
  await store.addFetches({ counts: [count(2, '2026-11-23T05:00:00.000Z'), count(3, '2026-11-23T04:00:00.000Z'), count(1, '2026-11-23T06:00:00.000Z')], networks: [network, network] })
  const fetches = await store.fetchesFor('a.example', 1, '2026-11-23')
  t.same(fetches.days, [{ day: '2026-11-23', policyId: 'id1', sender: 'other', fetches: 6, lastAt: '2026-11-23T06:00:00.000Z' }])
  t.same(fetches.networks, [{ day: '2026-11-23', count: 1 }])
})

t.test('a database whose collation is not C (ICU en-US) lists fetches in the same order as SQLite', async t => {
  const admin = new pg.Client({ connectionString: server.url })
  await admin.connect()
  await admin.query(`create database icu_en_us template template0 locale_provider icu icu_locale 'en-US' encoding 'UTF8'`)
  await admin.end()
  const store = await openStore(t, server.url.replace(/\/postgres$/, '/icu_en_us'))
  const count = (domain: string, policyId: string) => ({ domain, policyId, day: '2026-11-24', sender: 'other', fetches: 1, lastAt: '2026-11-24T00:00:00.000Z' })
  await store.addFetches({ counts: [count('a.example', 'a'), count('a.example', 'B')], networks: [] })
  t.same((await store.fetchesFor('a.example', 1, '2026-11-24')).days.map(d => d.policyId), ['B', 'a'], 'code-unit order')
})

t.test('raw bytes are kept gzip-compressed in bytea, and come back as a Buffer', async t => {
  const url = await server.createDatabase()
  const store = await openStore(t, url)
  const plain = corpusFile('google-weekly-host-mismatch.json')
  const outcome = await store.submit({ bytes: plain, transport: 'import', source: 'x.json' })
  const row = await inspect(t, url).selectFrom('raw_reports').selectAll().where('id', '=', outcome.rawId).executeTakeFirstOrThrow()
  t.same([row.status, row.size, row.transport, row.source], ['parsed', plain.length, 'import', 'x.json'])
  t.ok(Buffer.isBuffer(row.content))
  t.ok(gunzipSync(row.content as Buffer).equals(plain), 'round trip')
})

t.test('a crash of a replica between storing and parsing: the next replica to start parses it, once even when two start at once', async t => {
  const url = await server.createDatabase()
  const db = inspect(t, url)
  await migrateReportDatabase(db)
  const bytes = makeReport({ org: 'Crash', day: '2026-11-24' })
  await db.insertInto('raw_reports').values({ received_at: '2026-11-25T00:00:00.000Z', transport: 'https', source: '127.0.0.1', label: null, sha256: 'x', size: bytes.length, content: gzipSync(bytes), status: 'received', error: null, report_row: null }).execute()
  const readOnly = await openPostgresReportStore(newPool(t, url), { ...OPTIONS, clock: new ManualClock(new Date()), recover: false })
  t.same(await readOnly.counts(), { raw: { received: 1 }, reports: 0 }, 'recover: false leaves it')
  await readOnly.close()
  const [a, b] = await Promise.all([openStore(t, url), openStore(t, url)])
  t.same(await a.counts(), { raw: { parsed: 1 }, reports: 1 })
  t.equal((await b.summarize({ days: 1, until: '2026-11-24' }))[0]?.organizations[0], 'Crash')
  t.equal(await a.recover(), 0, 'nothing left')
})

t.test('retention: raw bytes dropped after rawRetentionDays, parsed reports and fetch totals after retentionDays', async t => {
  const clock = new ManualClock(new Date('2026-01-10T00:00:00Z'))
  const store = await openStore(t, await server.createDatabase(), clock)
  await store.submit({ bytes: makeReport({ org: 'Old', day: '2026-01-09', failures: 2 }), transport: 'import', source: 'a' })
  await store.addFetches({
    counts: [{ domain: 'a.example', policyId: 'id1', day: '2026-01-09', sender: 'other', fetches: 3, lastAt: '2026-01-09T10:00:00.000Z' }],
    networks: [{ domain: 'a.example', day: '2026-01-09', network: '192.0.2.0/24' }],
  })
  t.same(await store.purge(), { rawContentDropped: 0, reportsDeleted: 0, fetchRowsDeleted: 0 })
  clock.advance(31 * 86_400_000)
  await store.submit({ bytes: makeReport({ org: 'New', day: '2026-02-09' }), transport: 'import', source: 'b' })
  t.same(await store.purge(), { rawContentDropped: 1, reportsDeleted: 0, fetchRowsDeleted: 1 }, 'the old raw bytes and the network row go, report rows stay')
  t.equal((await store.summarize({ days: 60, until: '2026-02-10' })).length, 2)
  clock.advance(365 * 86_400_000)
  t.same(await store.purge(), { rawContentDropped: 1, reportsDeleted: 2, fetchRowsDeleted: 1 })
  t.same(await store.summarize({ days: 3650, until: '2027-02-10' }), [], 'policies and failures went with their reports (cascade)')
  t.same(await store.counts(), { raw: { parsed: 2 }, reports: 0 }, 'raw rows stay, without their bytes')
})

t.test('a database migrated by a newer version is refused, naming the step; the pool stays the caller\'s', async t => {
  const url = await server.createDatabase()
  const pool = newPool(t, url)
  await (await openPostgresReportStore(pool, { ...OPTIONS, clock: new ManualClock(new Date()) })).close()
  t.equal((await pool.query('select 1 as one')).rows[0]?.one, 1, 'closing the store did not end the pool')
  await pool.query(`insert into schema_migrations (name, timestamp) values ('0999-from-the-future', now()::text)`)
  await t.rejects(openPostgresReportStore(pool, { ...OPTIONS, clock: new ManualClock(new Date()) }), { message: /^report database migration .*failed: .*0999-from-the-future/ })
  t.equal((await pool.query('select 1 as one')).rows[0]?.one, 1, 'nor did a failed open')
})

t.test('the migrations can be undone (down) on PostgreSQL, leaving no table behind', async t => {
  const db = inspect(t, await server.createDatabase())
  await migrateReportDatabase(db)
  await REPORT_MIGRATIONS['0002-fetch-stats']?.down?.(db)
  await REPORT_MIGRATIONS['0001-reports']?.down?.(db)
  const { rows } = await sql<{ tablename: string }>`select tablename from pg_tables where schemaname = 'public' and tablename not like 'schema_migrations%'`.execute(db)
  t.same(rows, [])
})

// Last: it stops the server.
t.test('PostgreSQL killed: submits reject instead of hanging; after its restart the store works and nothing acknowledged is lost', async t => {
  const url = await server.createDatabase()
  const store = await openStore(t, url)
  const before = await Promise.all(Array.from({ length: 5 }, async (_, i) => await store.submit({ bytes: makeReport({ org: `Before${i}` }), transport: 'https', source: 'x' })))
  t.same(before.map(o => o.status), ['stored', 'stored', 'stored', 'stored', 'stored'])
  // Submits in flight while the server dies: each either resolves (acknowledged) or rejects.
  const inFlight = Array.from({ length: 20 }, async (_, i) => await store.submit({ bytes: makeReport({ org: `During${i}` }), transport: 'https', source: 'x' }))
  const settling = Promise.allSettled(inFlight)
  await server.kill()
  const settled = await settling
  const started = Date.now()
  await t.rejects(store.submit({ bytes: makeReport({ org: 'Down' }), transport: 'https', source: 'x' }), 'refused while the database is down')
  await t.rejects(store.counts())
  t.ok(Date.now() - started < 10_000, 'failed within the connection timeout')
  await server.restart()
  const after = await store.submit({ bytes: makeReport({ org: 'After' }), transport: 'https', source: 'x' })
  t.equal(after.status, 'stored', 'works again without reopening')
  const acknowledged = settled.flatMap(s => s.status === 'fulfilled' && s.value.status === 'stored' ? [s.value.report?.organization] : [])
  t.ok(settled.some(s => s.status === 'rejected'), 'the kill broke some submits in flight')
  // A submit that failed after its raw row committed is parsed by recovery (a replica's next start).
  await store.recover()
  const stored = (await store.summarize({ days: 1, until: '2026-11-20' }))[0]?.organizations ?? []
  t.same([...before.map(o => o.report?.organization), ...acknowledged, 'After'].filter(org => !stored.includes(org as string)), [], 'every acknowledged report is there')
  t.notOk(stored.includes('Down'), 'the refused one was not kept')
})
