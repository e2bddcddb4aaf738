import { chmod, mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import { WorkerReportStore } from '../../src/db/worker-report-store.js'
import { tempDir } from '../helpers/fixtures.js'
import { makeReport, reportStoreContract } from '../helpers/report-store-contract.js'

async function openStore (t: Test, database?: string): Promise<WorkerReportStore> {
  const store = await WorkerReportStore.open({ database: database ?? join(await tempDir(t), 'reports.sqlite'), maxReportBytes: 1024 * 1024, rawRetentionDays: 30, retentionDays: 365 })
  t.teardown(async () => { await store.close() })
  return store
}

t.test('contract: SQLite in a worker thread', async t => { reportStoreContract(t, openStore) })

t.test('a database that cannot be opened: open rejects naming the file and the reason', async t => {
  const dir = await tempDir(t)
  await mkdir(join(dir, 'reports.sqlite'))
  await t.rejects(WorkerReportStore.open({ database: join(dir, 'reports.sqlite'), maxReportBytes: 1024, rawRetentionDays: 1, retentionDays: 1 }),
    { code: 'MTA_STS_REPORT_DATABASE_UNUSABLE', message: new RegExp(`^cannot open the report database ${join(dir, 'reports.sqlite')}: `) })
  const garbage = join(dir, 'garbage.sqlite')
  await writeFile(garbage, 'this is not a database'.repeat(100))
  await chmod(garbage, 0o600)
  await t.rejects(WorkerReportStore.open({ database: garbage, maxReportBytes: 1024, rawRetentionDays: 1, retentionDays: 1 }), { message: /not a database/ })
})

t.test('reports over maxReportBytes are kept and flagged too large', async t => {
  const store = await openStore(t)
  const big = makeReport({ org: 'x'.repeat(2 * 1024 * 1024) })
  const outcome = await store.submit({ bytes: big, transport: 'import', source: 'big.json' })
  t.equal(outcome.status, 'invalid')
  t.match(outcome.error, /1048576/)
})

t.test('close waits for calls in flight; calls after close fail clearly; close twice is fine', async t => {
  const store = await WorkerReportStore.open({ database: join(await tempDir(t), 'r.sqlite'), maxReportBytes: 1024 * 1024, rawRetentionDays: 30, retentionDays: 365 })
  const pending = Array.from({ length: 20 }, async (_, i) => await store.submit({ bytes: makeReport({ org: `O${i}` }), transport: 'https', source: 'x' }))
  await store.close()
  const outcomes = await Promise.all(pending)
  t.equal(outcomes.filter(o => o.status === 'stored').length, 20, 'every call posted before close was answered')
  await t.rejects(store.counts(), { message: 'the report database is closed' })
  await store.close()
})

t.test('closing while the database is still being opened stops the worker at once; a failed open fails fast, then is retried', async t => {
  const dir = await tempDir(t)
  const store = new WorkerReportStore({ database: join(dir, 'r.sqlite'), maxReportBytes: 1024, rawRetentionDays: 1, retentionDays: 1 })
  const opening = store.start()
  await store.close()
  await t.rejects(opening, { code: 'MTA_STS_REPORT_DATABASE_UNUSABLE' }, 'the open in progress gives up')
  await t.rejects(store.counts(), { message: 'the report database is closed' })

  await mkdir(join(dir, 'dir.sqlite'))
  const broken = new WorkerReportStore({ database: join(dir, 'dir.sqlite'), maxReportBytes: 1024, rawRetentionDays: 1, retentionDays: 1 })
  const first = await broken.counts().catch((error: Error) => error)
  t.match(first, { code: 'MTA_STS_REPORT_DATABASE_UNUSABLE' })
  const again = await broken.submit({ bytes: makeReport({}), transport: 'https', source: 'x' }).catch((error: Error) => error)
  t.equal(again, first, 'the same error at once, without starting another worker for 30 s')
  await broken.close()
})

t.test('ready: only while the database is open', async t => {
  const store = new WorkerReportStore({ database: join(await tempDir(t), 'reports.sqlite'), maxReportBytes: 1024, rawRetentionDays: 1, retentionDays: 1 })
  t.equal(store.ready, false, 'not started')
  const opening = store.start()
  t.equal(store.ready, false, 'opening')
  await opening
  t.equal(store.ready, true)
  await store.close()
  t.equal(store.ready, false, 'closed')
})
