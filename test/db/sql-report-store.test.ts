import { join } from 'node:path'
import { gunzipSync, gzipSync } from 'node:zlib'
import { sql } from 'kysely'
import t, { type Test } from 'tap'
import { ManualClock } from '../../src/clock.js'
import { openSqliteDatabase } from '../../src/db/open-sqlite-database.js'
import { migrateReportDatabase, REPORT_MIGRATIONS } from '../../src/db/report-migrations.js'
import { SqlReportStore } from '../../src/db/sql-report-store.js'
import { parseReport } from '../../src/reports/parse-report.js'
import { tempDir } from '../helpers/fixtures.js'
import { corpusFile, makeReport, reportStoreContract } from '../helpers/report-store-contract.js'

async function openStore (t: Test, file = ':memory:', clock = new ManualClock(new Date('2026-11-25T12:00:00Z'))): Promise<SqlReportStore> {
  const db = openSqliteDatabase(file)
  await migrateReportDatabase(db)
  const store = new SqlReportStore(db, { parse: b => parseReport(b), clock, rawRetentionDays: 30, retentionDays: 365 })
  t.teardown(async () => { await store.close().catch(() => undefined) })
  return store
}

t.test('contract: SQLite in memory', async t => { reportStoreContract(t, async t => await openStore(t)) })
t.test('contract: SQLite file', async t => { reportStoreContract(t, async t => await openStore(t, join(await tempDir(t), 'r.sqlite'))) })

t.test('the file is in WAL mode, migrations run once and are recorded', async t => {
  const file = join(await tempDir(t), 'sub', 'reports.sqlite')
  const db = openSqliteDatabase(file)
  t.same(await migrateReportDatabase(db), ['0001-reports', '0002-fetch-stats'])
  t.same(await migrateReportDatabase(db), [], 'nothing left to apply')
  await db.destroy()
  const again = openSqliteDatabase(file)
  t.same(await migrateReportDatabase(again), [], 'recorded in the file')
  const { rows } = await sql<{ journal_mode: string }>`pragma journal_mode`.execute(again)
  t.same(rows, [{ journal_mode: 'wal' }])
  await again.destroy()
})

t.test('raw bytes are kept gzip-compressed, as received when they came gzipped', async t => {
  const file = join(await tempDir(t), 'r.sqlite')
  const store = await openStore(t, file)
  const plain = corpusFile('google-weekly-host-mismatch.json')
  const outcome = await store.submit({ bytes: plain, transport: 'import', source: 'x.json' })
  await store.close()
  const db = openSqliteDatabase(file)
  const row = await db.selectFrom('raw_reports').selectAll().where('id', '=', outcome.rawId).executeTakeFirstOrThrow()
  t.same([row.status, row.size, row.transport, row.source], ['parsed', plain.length, 'import', 'x.json'])
  t.ok(gunzipSync(row.content as Buffer).equals(plain), 'round trip')
  await db.destroy()
})

t.test('a crash between storing and parsing: the next start parses what was kept', async t => {
  const file = join(await tempDir(t), 'r.sqlite')
  const db = openSqliteDatabase(file)
  await migrateReportDatabase(db)
  const bytes = makeReport({ org: 'Crash', day: '2026-11-24' })
  // What a kill -9 right after the raw insert leaves behind.
  await db.insertInto('raw_reports').values({ received_at: '2026-11-25T00:00:00.000Z', transport: 'https', source: '127.0.0.1', label: null, sha256: 'x', size: bytes.length, content: gzipSync(bytes), status: 'received', error: null, report_row: null }).execute()
  await db.destroy()
  const store = await openStore(t, file)
  t.equal(await store.recover(), 1)
  t.same(await store.counts(), { raw: { parsed: 1 }, reports: 1 })
  t.equal((await store.summarize({ days: 1, until: '2026-11-24' }))[0]?.organizations[0], 'Crash')
  t.equal(await store.recover(), 0, 'nothing left')
})

t.test('retention: raw bytes dropped after rawRetentionDays, parsed reports deleted after retentionDays', async t => {
  const clock = new ManualClock(new Date('2026-01-10T00:00:00Z'))
  const file = join(await tempDir(t), 'r.sqlite')
  const store = await openStore(t, file, clock)
  await store.submit({ bytes: makeReport({ org: 'Old', day: '2026-01-09' }), transport: 'import', source: 'a' })
  t.same(await store.purge(), { rawContentDropped: 0, reportsDeleted: 0, fetchRowsDeleted: 0 })
  clock.advance(31 * 86_400_000)
  await store.submit({ bytes: makeReport({ org: 'New', day: '2026-02-09' }), transport: 'import', source: 'b' })
  t.same(await store.purge(), { rawContentDropped: 1, reportsDeleted: 0, fetchRowsDeleted: 0 }, 'the old raw bytes go, its rows stay')
  t.equal((await store.summarize({ days: 60, until: '2026-02-10' })).length, 2)
  clock.advance(365 * 86_400_000)
  t.same(await store.purge(), { rawContentDropped: 1, reportsDeleted: 2, fetchRowsDeleted: 0 })
  t.same(await store.summarize({ days: 3650, until: '2027-02-10' }), [], 'policies and failures went with their reports')
})

t.test('submitMany: one batch, two commits; the same bytes or the same report twice in it are stored once', async t => {
  const store = await openStore(t)
  const a = makeReport({ org: 'A', day: '2026-11-24' })
  await store.submit({ bytes: makeReport({ org: 'Before', day: '2026-11-24' }), transport: 'https', source: 'x' })
  const outcomes = await store.submitMany([
    { bytes: a, transport: 'https', source: '1' },
    { bytes: a, transport: 'https', source: '2' },
    { bytes: gzipSync(a), transport: 'https', source: '3' },
    { bytes: Buffer.from('{"broken"'), transport: 'https', source: '4' },
    { bytes: makeReport({ org: 'Before', day: '2026-11-24' }), transport: 'https', source: '5' },
    { bytes: makeReport({ org: 'B', day: '2026-11-24' }), transport: 'https', source: '6' },
  ])
  t.same(outcomes.map(o => o.status), ['stored', 'duplicate', 'duplicate', 'invalid', 'duplicate', 'stored'])
  t.equal(outcomes[1]?.rawId, outcomes[0]?.rawId, 'the same bytes: the first copy')
  t.equal(outcomes[2]?.rawId, outcomes[0]?.rawId, 'the same report: the copy that was stored')
  t.same(await store.counts(), { raw: { parsed: 3, duplicate: 1, invalid: 1 }, reports: 3 })
  t.same(await store.submitMany([]), [])
})

t.test('the migrations can be undone (down), newest first, leaving no table behind', async t => {
  const db = openSqliteDatabase(':memory:')
  await migrateReportDatabase(db)
  await REPORT_MIGRATIONS['0002-fetch-stats']?.down?.(db)
  await REPORT_MIGRATIONS['0001-reports']?.down?.(db)
  const tables = await sql<{ name: string }>`select name from sqlite_master where type = 'table' and name not like 'schema_migrations%' and name not like 'sqlite_%'`.execute(db)
  t.same(tables.rows, [])
  await db.destroy()
})

t.test('retention of fetch statistics: totals kept as long as reports, networks as long as raw reports', async t => {
  const clock = new ManualClock(new Date('2026-01-10T00:00:00Z'))
  const store = await openStore(t, ':memory:', clock)
  await store.addFetches({
    counts: [{ domain: 'a.example', policyId: 'id1', day: '2026-01-09', sender: 'other', fetches: 3, lastAt: '2026-01-09T10:00:00.000Z' }],
    networks: [{ domain: 'a.example', day: '2026-01-09', network: '192.0.2.0/24' }],
  })
  t.equal((await store.purge()).fetchRowsDeleted, 0)
  clock.advance(31 * 86_400_000)
  t.equal((await store.purge()).fetchRowsDeleted, 1, 'the network row is past 30 days')
  const kept = await store.fetchesFor('a.example', 60)
  t.same([kept.days.length, kept.networks.length], [1, 0])
  clock.advance(365 * 86_400_000)
  t.equal((await store.purge()).fetchRowsDeleted, 1, 'the totals are past 365 days')
  t.same(await store.lastFetches(), [])
})
