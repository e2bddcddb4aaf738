import { setTimeout as sleep } from 'node:timers/promises'
import t from 'tap'
import { MemoryStore } from '../../src/store/memory-store.js'
import { OrderBudget } from '../../src/acme/order-budget.js'
import { ManualClock } from '../../src/clock.js'

const T0 = new Date('2026-01-01T00:00:00Z')

/** Resolves with 'done' or 'pending' after `ms` real milliseconds. */
async function state (p: Promise<unknown>, ms = 20): Promise<'done' | 'pending'> {
  return Promise.race([p.then(() => 'done' as const), sleep(ms).then(() => 'pending' as const)])
}

t.test('remaining() and nextSlot() over a sliding window', async t => {
  const clock = new ManualClock(T0)
  const budget = new OrderBudget(3, 60_000, clock)
  t.equal(budget.remaining(), 3)
  t.same(budget.nextSlot(), T0, 'now while budget is left')
  await budget.take()
  clock.advance(10_000)
  await budget.take()
  clock.advance(10_000)
  await budget.take()
  t.equal(budget.remaining(), 0)
  t.same(budget.nextSlot(), new Date(T0.getTime() + 60_000), 'when the oldest order leaves the window')
  clock.advance(39_999)
  t.equal(budget.remaining(), 0, 'still inside the window')
  clock.advance(1)
  t.equal(budget.remaining(), 1, 'the oldest order has left the window (exactly at its end)')
  t.same(budget.nextSlot(), clock.now())
  clock.advance(20_000)
  t.equal(budget.remaining(), 3, 'all gone')
})

t.test('take() waits while exhausted and resolves once the clock passes the slot', async t => {
  const clock = new ManualClock(T0)
  // A short window keeps the real sleeps inside take() short.
  const budget = new OrderBudget(1, 30, clock)
  await budget.take()
  t.equal(budget.remaining(), 0)
  const waiting = budget.take()
  t.equal(await state(waiting, 100), 'pending', 'the manual clock has not moved: still waiting after several polls')
  clock.advance(30)
  t.equal(await state(waiting, 2000), 'done', 'resolves after the clock advances')
  t.equal(budget.remaining(), 0, 'and counts the order')
  t.same(budget.nextSlot(), new Date(T0.getTime() + 60))
})

t.test('take() honours an abort signal', async t => {
  const clock = new ManualClock(T0)
  const budget = new OrderBudget(1, 3600_000, clock)
  await budget.take()
  const controller = new AbortController()
  const waiting = budget.take(controller.signal)
  t.equal(await state(waiting), 'pending')
  controller.abort()
  await t.rejects(waiting, { name: 'AbortError' })
  t.equal(budget.remaining(), 0, 'an aborted take counts nothing')
  clock.advance(3600_000)
  t.equal(budget.remaining(), 1)
})

t.test('shared through the store: replicas count against one budget, under its lock', async t => {
  const store = new MemoryStore()
  const clock = new ManualClock(T0)
  const shared = { store, key: 'acme/x/orders.json', lock: 'acme-orders-x' }
  const one = new OrderBudget(3, 60_000, clock, shared)
  const two = new OrderBudget(3, 60_000, clock, shared)
  await one.take()
  await two.take()
  await Promise.all([one.take(), new OrderBudget(3, 60_000, clock).take()])
  t.equal(one.remaining(), 0, 'one sees every replica\'s orders')
  await two.refresh()
  t.equal(two.remaining(), 0, 'and so does two, once it reads the store')
  t.same(JSON.parse((await store.get(shared.key))?.toString() ?? ''), [T0.getTime(), T0.getTime(), T0.getTime()])
  let placed = false
  // The budget's wait does not hold the process open (its timer is unref'd): this test does.
  const alive = setInterval(() => undefined, 100)
  t.teardown(() => { clearInterval(alive) })
  const waiting = two.take().then(() => { placed = true })
  await new Promise(resolve => setTimeout(resolve, 50))
  t.equal(placed, false, 'the fourth order waits for the window')
  clock.advance(60_000)
  await waiting
  t.equal(placed, true)
  await store.put(shared.key, 'not json')
  await one.refresh()
  t.equal(one.remaining(), 3, 'a value that does not parse starts the count afresh')
  await store.put(shared.key, '{"a": 1}')
  await one.refresh()
  t.equal(one.remaining(), 3)
  await new OrderBudget(3, 60_000, clock).refresh()
})
