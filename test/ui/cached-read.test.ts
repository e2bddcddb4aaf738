import t from 'tap'
import { cachedRead } from '../../src/ui/cached-read.js'

t.test('one read per time-to-live; failures and clock steps back are not remembered', async t => {
  let now = 1000
  let reads = 0
  let fail = false
  const read = cachedRead(async () => {
    reads++
    if (fail) throw new Error('no')
    return reads
  }, 100, () => new Date(now))
  const [a, b] = await Promise.all([read(), read()])
  t.same([a, b, reads], [1, 1, 1], 'concurrent callers share one read')
  now += 99
  t.equal(await read(), 1)
  now += 1
  t.equal(await read(), 2, 'expired')
  now -= 50
  t.equal(await read(), 3, 'the clock went back: read again')
  fail = true
  now += 1000
  await t.rejects(read(), /no/)
  fail = false
  t.equal(await read(), 5, 'a failed read is not kept')
})
