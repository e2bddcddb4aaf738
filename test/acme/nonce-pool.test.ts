import t from 'tap'
import { ManualClock } from '../../src/clock.js'
import { NoncePool } from '../../src/acme/nonce-pool.js'

t.test('each nonce is handed out once, newest first', async t => {
  const pool = new NoncePool(new ManualClock())
  t.equal(pool.take(), undefined, 'empty')
  pool.add('a')
  pool.add('b')
  t.equal(pool.size, 2)
  t.equal(pool.take(), 'b')
  t.equal(pool.take(), 'a')
  t.equal(pool.take(), undefined, 'not again')
  t.equal(pool.size, 0)
})

t.test('nonces older than 30 s are dropped, not handed out', async t => {
  const clock = new ManualClock()
  const pool = new NoncePool(clock)
  pool.add('old-1')
  pool.add('old-2')
  clock.advance(20_000)
  pool.add('fresh')
  clock.advance(10_001)
  t.equal(pool.take(), 'fresh', 'still 30 s young')
  t.equal(pool.take(), undefined, 'the two older ones are stale')
  t.equal(pool.size, 0, 'and gone')
})

t.test('at most 64 are kept: the oldest goes first', async t => {
  const pool = new NoncePool(new ManualClock())
  for (let i = 0; i < 70; i++) pool.add(`n${i}`)
  t.equal(pool.size, 64)
  const taken: string[] = []
  for (let n = pool.take(); n !== undefined; n = pool.take()) taken.push(n)
  t.equal(taken.length, 64)
  t.equal(taken[0], 'n69')
  t.equal(taken.at(-1), 'n6', 'n0 to n5 were dropped')
})
