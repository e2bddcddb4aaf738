import { setImmediate as nextTurn } from 'node:timers/promises'
import t from 'tap'
import { DEFAULT_BACKOFF_MS, MaintenanceLoop, retryTime } from '../../src/tls/certificate-maintenance.js'

t.test('retryTime: back-off per consecutive failure, or the CA\'s later Retry-After', async t => {
  const now = Date.parse('2026-01-01T00:00:00Z')
  const err = new Error('x')
  t.same([1, 2, 3, 4, 9].map(n => retryTime(n, err, now).getTime() - now), [...DEFAULT_BACKOFF_MS, DEFAULT_BACKOFF_MS.at(-1)])
  t.same(retryTime(1, Object.assign(new Error('x'), { retryAfter: new Date(now + 5000) }), now), new Date(now + 5000))
  t.same(retryTime(1, Object.assign(new Error('x'), { retryAfter: new Date(now - 5000) }), now, [10]), new Date(now + 10), 'a past Retry-After is ignored')
})

t.test('MaintenanceLoop: bounded concurrency, FIFO, retain, close, one shared pass', async t => {
  const started: string[] = []
  const release: (() => void)[] = []
  let passes = 0
  const loop = new MaintenanceLoop({
    intervalMs: 3600_000,
    concurrency: 2,
    pass: async () => { passes++; await nextTurn() },
    work: host => {
      if (host === 'gone') return undefined
      started.push(host)
      return new Promise<void>(resolve => release.push(resolve))
    },
  })
  t.notOk(loop.started)
  t.ok(loop.idle)
  for (const host of ['gone', 'a', 'b', 'c', 'd']) loop.enqueue(host)
  t.same(started, ['a', 'b'], 'two at once; a host with nothing to do takes no slot')
  loop.retain(h => h !== 'c')
  release.shift()?.()
  await nextTurn()
  t.same(started, ['a', 'b', 'd'], 'a dropped host is not worked on')
  await Promise.all([loop.pass(), loop.pass()])
  t.equal(passes, 1, 'concurrent passes share one')
  loop.start(true)
  t.ok(loop.started)
  await loop.close()
  t.ok(loop.closed)
  loop.enqueue('e')
  t.same(started, ['a', 'b', 'd'], 'nothing is queued once closed')
  for (const r of release) r()
  await nextTurn()
  t.ok(loop.idle)
})

t.test('MaintenanceLoop: one host at a time while serving is busy, full concurrency again once it is not', async t => {
  const started: string[] = []
  const release: (() => void)[] = []
  let busy = true
  const loop = new MaintenanceLoop({
    intervalMs: 3600_000,
    concurrency: 3,
    load: { busy: () => busy },
    pass: async () => {},
    work: host => {
      started.push(host)
      return new Promise<void>(resolve => release.push(resolve))
    },
  })
  for (const host of ['a', 'b', 'c', 'd', 'e', 'f']) loop.enqueue(host)
  t.same(started, ['a'], 'busy: one at a time')
  release.shift()?.()
  await nextTurn()
  t.same(started, ['a', 'b'], 'the next starts when the one in work is done')
  busy = false
  release.shift()?.()
  await nextTurn()
  t.same(started, ['a', 'b', 'c', 'd', 'e'], 'idle again: back to the configured concurrency')
  busy = true
  release.shift()?.()
  await nextTurn()
  t.same(started, ['a', 'b', 'c', 'd', 'e'], 'busy again: no new host while others are in work')
  for (const r of release.splice(0)) r()
  await nextTurn()
  t.same(started, ['a', 'b', 'c', 'd', 'e', 'f'])
  for (const r of release.splice(0)) r()
  await loop.close()
})
