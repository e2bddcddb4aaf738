import { PassThrough } from 'node:stream'
import t, { type Test } from 'tap'
import { ManualClock } from '../../src/clock.js'
import { openSqliteReportStore } from '../../src/db/open-sqlite-report-store.js'
import type { SqlReportStore } from '../../src/db/sql-report-store.js'
import { createLogger } from '../../src/log.js'
import { FetchStats, MAX_NETWORKS_PER_FLUSH } from '../../src/stats/fetch-stats.js'
import { SenderClassifier } from '../../src/stats/sender-classifier.js'
import type { FetchBatch } from '../../src/stats/types.js'

const policyA = Object.freeze({ domain: 'a.example', id: 'id-one' })
const policyA2 = Object.freeze({ domain: 'a.example', id: 'id-two' })
const policyB = Object.freeze({ domain: 'b.example', id: 'b-one' })

async function setUp (t: Test, start = '2026-11-30T10:00:00Z') {
  const clock = new ManualClock(new Date(start))
  const store = await openSqliteReportStore(':memory:', { maxReportBytes: 1 << 20, rawRetentionDays: 30, retentionDays: 365, clock })
  t.teardown(() => store.close())
  const lines: Record<string, unknown>[] = []
  const stream = new PassThrough()
  stream.on('data', (chunk: Buffer) => { for (const l of chunk.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(l) as Record<string, unknown>) })
  const stats = new FetchStats({ store, classifier: new SenderClassifier([]), clock, logger: createLogger('info', stream), flushIntervalMs: 60_000 })
  t.teardown(() => stats.close())
  return { clock, store, stats, lines }
}

t.test('fetches add up per policy id, day and sender; networks are counted once; nothing is written until a flush', async t => {
  const { clock, store, stats } = await setUp(t)
  stats.record(policyA, '192.0.2.1', 'Google-MTA-STS')
  stats.record(policyA, '192.0.2.200', 'Google-MTA-STS')
  stats.record(policyA, '198.51.100.3', undefined)
  clock.advance(1000)
  stats.record(policyA, '2001:db8:5::1', 'Google-MTA-STS')
  stats.record(policyB, '192.0.2.1', 'curl/8')
  t.same(await store.lastFetches(), [], 'not written per request')
  await stats.flush()
  const a = await store.fetchesFor('a.example', 1)
  t.same(a.days, [
    { day: '2026-11-30', policyId: 'id-one', sender: 'google', fetches: 3, lastAt: '2026-11-30T10:00:01.000Z' },
    { day: '2026-11-30', policyId: 'id-one', sender: 'other', fetches: 1, lastAt: '2026-11-30T10:00:00.000Z' },
  ])
  t.same(a.networks, [{ day: '2026-11-30', count: 3 }], '192.0.2.0/24, 198.51.100.0/24 and 2001:db8:5::/48')
  stats.record(policyA, '192.0.2.9', 'Google-MTA-STS')
  stats.record(policyA2, '192.0.2.9', 'Google-MTA-STS')
  await stats.flush()
  await stats.flush()
  const again = await store.fetchesFor('a.example', 1)
  t.same(again.days.map(d => [d.policyId, d.sender, d.fetches]), [['id-one', 'google', 4], ['id-one', 'other', 1], ['id-two', 'google', 1]], 'a second flush adds to the first; an empty one changes nothing')
  t.same(again.networks, [{ day: '2026-11-30', count: 3 }])
})

t.test('the readers include what was counted a moment ago; the latest fetch per domain follows later flushes', async t => {
  const { clock, store, stats } = await setUp(t)
  await store.addFetches({ counts: [{ domain: 'c.example', policyId: 'c1', day: '2026-11-29', sender: 'other', fetches: 2, lastAt: '2026-11-29T08:00:00.000Z' }], networks: [] })
  stats.record(policyA, '192.0.2.1', 'postfix-mta-sts-resolver')
  t.same((await stats.fetchesFor('a.example', 7)).days.map(d => [d.sender, d.fetches]), [['postfix', 1]])
  const last = await stats.lastFetches()
  t.same([...last.keys()].sort(), ['a.example', 'c.example'])
  t.same(last.get('a.example'), { domain: 'a.example', at: '2026-11-30T10:00:00.000Z', sender: 'postfix', policyId: 'id-one' })
  clock.advance(5000)
  stats.record(policyA2, '192.0.2.1', undefined)
  t.same((await stats.lastFetches()).get('a.example'), { domain: 'a.example', at: '2026-11-30T10:00:05.000Z', sender: 'other', policyId: 'id-two' }, 'kept up to date in memory')
  t.equal((await stats.lastFetches()).get('c.example')?.policyId, 'c1')
})

t.test('midnight UTC starts a new day for the same policy', async t => {
  const { clock, store, stats } = await setUp(t, '2026-11-30T23:59:59Z')
  stats.record(policyA, '192.0.2.1', undefined)
  clock.advance(2000)
  stats.record(policyA, '192.0.2.1', undefined)
  stats.record(policyA, '192.0.2.1', undefined)
  await stats.flush()
  const a = await store.fetchesFor('a.example', 2, '2026-12-01')
  t.same(a.days.map(d => [d.day, d.fetches]), [['2026-11-30', 1], ['2026-12-01', 2]])
  t.same(a.networks.map(n => n.day), ['2026-11-30', '2026-12-01'])
})

t.test('networks per tenant and day are bounded between flushes', async t => {
  const { store, stats } = await setUp(t)
  for (let i = 0; i < MAX_NETWORKS_PER_FLUSH + 500; i++) stats.record(policyA, `10.${(i >> 8) & 255}.${i & 255}.1`.replace(/^10\./, `${10 + (i >> 16)}.`), undefined)
  await stats.flush()
  const a = await store.fetchesFor('a.example', 1)
  t.equal(a.networks[0]?.count, MAX_NETWORKS_PER_FLUSH)
  t.equal(a.days[0]?.fetches, MAX_NETWORKS_PER_FLUSH + 500, 'every fetch still counted')
})

t.test('a failed flush is logged and kept; the next one writes it; close flushes what is left', async t => {
  const { clock, store, stats, lines } = await setUp(t)
  const writes: FetchBatch[] = []
  let fail = true
  const flaky = new FetchStats({
    store: {
      addFetches: async batch => {
        if (fail) throw new Error('database is locked')
        writes.push(batch)
        await store.addFetches(batch)
      },
      fetchesFor: async (d, n) => await store.fetchesFor(d, n),
      lastFetches: async () => { if (fail) throw new Error('database is locked'); return await store.lastFetches() },
    },
    classifier: new SenderClassifier([]),
    clock,
    logger: createLogger('info', new PassThrough()),
    flushIntervalMs: 60_000,
  })
  flaky.record(policyA, '192.0.2.1', undefined)
  await flaky.flush()
  await flaky.flush()
  await t.rejects(flaky.lastFetches(), /database is locked/, 'a failed read fails the reader')
  flaky.record(policyA, '192.0.2.1', undefined)
  fail = false
  await flaky.close()
  t.equal(writes.length, 1)
  t.same((await store.fetchesFor('a.example', 1)).days.map(d => d.fetches), [2], 'both fetches, written once')
  t.equal((await flaky.lastFetches()).get('a.example')?.policyId, 'id-one', 'the reader retries after a failure')
  stats.record(policyB, '192.0.2.1', undefined)
  stats.start()
  stats.start()
  await stats.close()
  t.equal((await store.fetchesFor('b.example', 1)).days[0]?.fetches, 1, 'close wrote it')
  t.same(lines, [], 'the healthy one logged nothing')
})

t.test('the flush timer writes on its own', async t => {
  const clock = new ManualClock(new Date('2026-11-30T10:00:00Z'))
  const batches: FetchBatch[] = []
  const stats = new FetchStats({
    store: { addFetches: async b => { batches.push(b) }, fetchesFor: async () => ({ days: [], networks: [] }), lastFetches: async () => [] },
    classifier: new SenderClassifier([]),
    clock,
    logger: createLogger('info', new PassThrough()),
    flushIntervalMs: 20,
  })
  stats.start()
  stats.record(policyA, '192.0.2.1', undefined)
  const deadline = Date.now() + 5000
  while (batches.length === 0 && Date.now() < deadline) await new Promise(resolve => setTimeout(resolve, 10))
  await stats.close()
  t.equal(batches[0]?.counts[0]?.fetches, 1)
})

t.test('close waits for the last write only so long: a store that does not answer is given up on, with a warning', async t => {
  const lines: Record<string, unknown>[] = []
  const stream = new PassThrough()
  stream.on('data', (chunk: Buffer) => { for (const l of chunk.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(l) as Record<string, unknown>) })
  const stats = new FetchStats({
    store: { addFetches: async () => await new Promise<void>(() => undefined), fetchesFor: async () => ({ days: [], networks: [] }), lastFetches: async () => [] },
    classifier: new SenderClassifier([]),
    clock: new ManualClock(new Date('2026-11-30T10:00:00Z')),
    logger: createLogger('info', stream),
    flushIntervalMs: 60_000,
  })
  stats.record(policyA, '192.0.2.1', undefined)
  await stats.close(50)
  t.match(lines, [{ event: 'fetch_stats_unwritten', level: 'warn' }])
})
