import { setTimeout as sleep } from 'node:timers/promises'
import t from 'tap'
import { EventLoopLoad, LoadLevel, OWN_LOOP_THRESHOLDS, WORKER_THRESHOLDS, logLoadChange, ReportedLoad, utilizationSampler } from '../../src/tls/serving-load.js'
import pino from 'pino'

/** Keep this thread's event loop busy for `ms`. */
function spin (ms: number): void {
  const end = performance.now() + ms
  while (performance.now() < end) { /* busy */ }
}

for (const [name, thresholds] of [['OWN_LOOP_THRESHOLDS', OWN_LOOP_THRESHOLDS], ['WORKER_THRESHOLDS', WORKER_THRESHOLDS]] as const) {
  t.test(`LoadLevel with ${name}: busy from busyFrom, idle again only under idleUnder, told of each change`, async t => {
    const { busyFrom, idleUnder } = thresholds
    const changes: [boolean, number][] = []
    const level = new LoadLevel(thresholds, (busy, u) => changes.push([busy, u]))
    t.ok(idleUnder < busyFrom)
    level.update(busyFrom - 0.01)
    t.notOk(level.busy)
    level.update(busyFrom)
    t.ok(level.busy)
    level.update(idleUnder + 0.01)
    t.ok(level.busy, 'between the two thresholds it stays busy')
    level.update(idleUnder - 0.01)
    t.notOk(level.busy)
    level.update(idleUnder + 0.1)
    t.notOk(level.busy, 'and idle stays idle there')
    t.same(changes, [[true, busyFrom], [false, idleUnder - 0.01]])
  })
}

t.test('utilizationSampler: near 1 over a spin, near 0 over a sleep', async t => {
  const sample = utilizationSampler()
  spin(100)
  t.ok(sample() > 0.9)
  await sleep(100)
  t.ok(sample() < 0.5)
})

t.test('EventLoopLoad: busy while this event loop is saturated, idle after, quiet once closed', async t => {
  const changes: boolean[] = []
  const load = new EventLoopLoad({ intervalMs: 20, onChange: busy => changes.push(busy) })
  t.teardown(() => { load.close() })
  t.notOk(load.busy())
  for (let i = 0; i < 10 && !load.busy(); i++) {
    spin(60)
    await sleep(0) // the sampling timer runs between spins
  }
  t.ok(load.busy(), 'saturated')
  for (let i = 0; i < 50 && load.busy(); i++) await sleep(20)
  t.notOk(load.busy(), 'calmed down')
  t.same(changes, [true, false])
  load.close()
  spin(100)
  await sleep(60)
  t.notOk(load.busy(), 'no sampling after close')
})

t.test('ReportedLoad: the mean of the workers\' latest reports, by WORKER_THRESHOLDS; a worker that exited is forgotten', async t => {
  const changes: boolean[] = []
  const load = new ReportedLoad(busy => changes.push(busy))
  t.notOk(load.busy())
  load.report(1, 0.35)
  t.ok(load.busy(), 'the only worker is 35% busy')
  load.report(2, 0)
  t.ok(load.busy(), 'mean 0.175 of two: still busy (hysteresis)')
  load.report(1, 0.2)
  t.notOk(load.busy(), 'mean 0.1: idle')
  load.report(2, 0.9)
  t.ok(load.busy())
  load.report(2, Number.NaN)
  t.ok(load.busy(), 'a report that is not a number is ignored')
  load.report(2, 7)
  load.report(1, -1)
  t.ok(load.busy(), 'out-of-range values are clamped: mean of 0 and 1')
  load.forget(2)
  t.notOk(load.busy(), 'the busy worker is gone')
  load.forget(1)
  load.forget(3)
  t.notOk(load.busy(), 'no workers: not busy')
  t.same(changes, [true, false, true, false])
})

t.test('logLoadChange: one line per change, naming the utilization', async t => {
  const lines: unknown[] = []
  const log = logLoadChange(pino({}, { write: (line: string) => { lines.push(JSON.parse(line)) } }))
  log(true, 0.934)
  log(false, 0.41)
  t.match(lines, [
    { event: 'serving_busy', utilization: 93, msg: /one at a time/ },
    { event: 'serving_idle', utilization: 41, msg: /full concurrency/ },
  ])
})
