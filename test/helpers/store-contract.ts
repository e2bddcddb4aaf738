import { setTimeout as sleep } from 'node:timers/promises'
import type { Test } from 'tap'
import type { Store } from '../../src/store/store.js'

/** Creates a fresh, empty store for one subtest (and registers its cleanup on `t`). */
export type StoreFactory = (t: Test) => Promise<Store>

async function rejectsWithCode (t: Test, promise: Promise<unknown>, code: string, message: string): Promise<void> {
  try {
    await promise
    t.fail(`${message}: expected a rejection with ${code}`)
  } catch (err) {
    t.equal((err as { code?: unknown }).code, code, message)
  }
}

/**
 * The {@link Store} contract, run against every implementation so they all
 * behave alike.
 */
export function storeContract (t: Test, make: StoreFactory): void {
  t.test('get of a missing key resolves undefined', async t => {
    const store = await make(t)
    t.equal(await store.get('certs/nothing.example/cert.pem'), undefined)
    t.equal(await store.get('top'), undefined)
  })

  t.test('put then get, strings and buffers', async t => {
    const store = await make(t)
    await store.put('certs/example.com/cert.pem', '-----BEGIN CERTIFICATE-----\n')
    const got = await store.get('certs/example.com/cert.pem')
    t.ok(Buffer.isBuffer(got))
    t.equal(got?.toString('utf8'), '-----BEGIN CERTIFICATE-----\n')
    const bytes = Buffer.from([0, 1, 2, 255, 254])
    await store.put('bin', bytes)
    t.same(await store.get('bin'), bytes)
    await store.put('unicode', 'bücher ✓')
    t.equal((await store.get('unicode'))?.toString('utf8'), 'bücher ✓')
    await store.put('empty', '')
    t.same(await store.get('empty'), Buffer.alloc(0), 'an empty value is not a missing one')
  })

  t.test('values are copied in and out', async t => {
    const store = await make(t)
    const input = Buffer.from('original')
    await store.put('k', input)
    input.write('CHANGED!')
    const out = await store.get('k')
    t.equal(out?.toString(), 'original', 'changing the input later does not change the stored value')
    out?.write('mutated!')
    t.equal((await store.get('k'))?.toString(), 'original', 'changing a returned buffer does not change the stored value')
  })

  t.test('put overwrites', async t => {
    const store = await make(t)
    await store.put('a/b', 'one')
    await store.put('a/b', 'two, longer than one')
    await store.put('a/b', '3')
    t.equal((await store.get('a/b'))?.toString(), '3')
    t.same(await store.list('a'), ['a/b'])
  })

  t.test('delete', async t => {
    const store = await make(t)
    await store.delete('never/existed')
    t.pass('deleting a missing key succeeds')
    await store.put('x/y', 'v')
    await store.put('x/z', 'w')
    await store.delete('x/y')
    t.equal(await store.get('x/y'), undefined)
    t.equal((await store.get('x/z'))?.toString(), 'w', 'siblings stay')
    await store.delete('x/y')
    t.same(await store.list('x'), ['x/z'])
  })

  t.test('list returns keys below a prefix, sorted', async t => {
    const store = await make(t)
    for (const key of ['certs/b.example/key.pem', 'certs/a.example/cert.pem', 'certs/a.example/key.pem', 'certsX/c', 'acme/account.json', 'certs/a.example/sub/deep']) {
      await store.put(key, key)
    }
    t.same(await store.list('certs'), ['certs/a.example/cert.pem', 'certs/a.example/key.pem', 'certs/a.example/sub/deep', 'certs/b.example/key.pem'])
    t.same(await store.list('certs/a.example'), ['certs/a.example/cert.pem', 'certs/a.example/key.pem', 'certs/a.example/sub/deep'])
    t.same(await store.list(''), ['acme/account.json', 'certs/a.example/cert.pem', 'certs/a.example/key.pem', 'certs/a.example/sub/deep', 'certs/b.example/key.pem', 'certsX/c'])
    t.same(await store.list('missing'), [])
    t.same(await store.list('certs/a.example/cert.pem'), [], 'a key is not a prefix of itself')
    t.same(await store.list('cert'), [], 'prefixes are whole segments')
  })

  t.test('bad keys are rejected with MTA_STS_STORE_BAD_KEY', async t => {
    const store = await make(t)
    for (const key of ['', '/abs', '../x', 'a/../b', '..', '.', '...', '.hidden', 'a/.hidden', '.locks/x.lock', 'a/./b', 'a//b', 'a/', 'sp ace', 'star*', 'nul\0', 'back\\slash', 'ü']) {
      await rejectsWithCode(t, store.get(key), 'MTA_STS_STORE_BAD_KEY', `get ${JSON.stringify(key)}`)
      await rejectsWithCode(t, store.put(key, 'v'), 'MTA_STS_STORE_BAD_KEY', `put ${JSON.stringify(key)}`)
      await rejectsWithCode(t, store.delete(key), 'MTA_STS_STORE_BAD_KEY', `delete ${JSON.stringify(key)}`)
    }
    t.same(await store.list(''), [], 'nothing was written')
  })

  t.test('list prefixes are checked like keys (the empty prefix lists everything)', async t => {
    const store = await make(t)
    await store.put('a/b', 'v')
    for (const prefix of ['/abs', '../x', 'a/../b', 'a/', '.', '..', '.hidden', 'a//b', 'sp ace']) {
      await rejectsWithCode(t, store.list(prefix), 'MTA_STS_STORE_BAD_KEY', `list ${JSON.stringify(prefix)}`)
    }
    t.same(await store.list(''), ['a/b'])
  })

  t.test('lock names are checked like keys', async t => {
    const store = await make(t)
    for (const name of ['', '/abs', '../x', 'a/../b', '..', '.', '.hidden', 'a/', 'sp ace', 'star*', 'ü']) {
      await rejectsWithCode(t, store.lock(name, { waitMs: 0 }), 'MTA_STS_STORE_BAD_KEY', `lock ${JSON.stringify(name)}`)
    }
    t.same(await store.list(''), [], 'nothing was written')
    await (await store.lock('renew/example.com', { waitMs: 0 }))()
    t.pass('a lock name may have several segments')
  })

  t.test('locks live apart from keys', async t => {
    const store = await make(t)
    await store.put('certs/a', 'x')
    const unlock = await store.lock('renew')
    const nested = await store.lock('renew/example.com')
    t.same(await store.list(''), ['certs/a'], 'held locks are not listed as keys')
    await store.put('locks/renew.lock', 'my data')
    await store.put('renew', 'a key named like the lock')
    t.equal((await store.get('locks/renew.lock'))?.toString(), 'my data', 'a key cannot overwrite or read a lock')
    t.same(await store.list(''), ['certs/a', 'locks/renew.lock', 'renew'])
    await unlock()
    await nested()
    await (await store.lock('renew', { waitMs: 0 }))()
    t.pass('a key named like a lock does not block it')
    t.equal((await store.get('renew'))?.toString(), 'a key named like the lock', 'releasing a lock leaves the key of the same name')
    t.same(await store.list(''), ['certs/a', 'locks/renew.lock', 'renew'])
  })

  t.test('lock: a second lock waits until the first is released', async t => {
    const store = await make(t)
    const unlockA = await store.lock('renew-example.com')
    let acquired = false
    const b = store.lock('renew-example.com', { waitMs: 20_000 }).then(unlock => {
      acquired = true
      return unlock
    })
    await sleep(400)
    t.equal(acquired, false, 'still waiting while the first holder holds the lock')
    const other = await store.lock('another-lock', { waitMs: 1000 })
    t.pass('a lock of another name is independent')
    await other()
    await unlockA()
    const unlockB = await b
    t.equal(acquired, true, 'acquired after release')
    await unlockA()
    t.pass('unlocking twice is safe')
    await rejectsWithCode(t, store.lock('renew-example.com', { waitMs: 100 }), 'MTA_STS_STORE_LOCK_TIMEOUT', 'the stale unlock did not release the new holder')
    await unlockB()
    await (await store.lock('renew-example.com', { waitMs: 1000 }))()
  })

  t.test('lock: times out with MTA_STS_STORE_LOCK_TIMEOUT after waitMs', async t => {
    const store = await make(t)
    const unlock = await store.lock('busy')
    t.teardown(unlock)
    try {
      await store.lock('busy', { waitMs: 150 })
      t.fail('should time out')
    } catch (err) {
      t.equal((err as { code?: unknown }).code, 'MTA_STS_STORE_LOCK_TIMEOUT')
      t.match((err as Error).message, 'timed out waiting for lock "busy"')
    }
    await rejectsWithCode(t, store.lock('busy', { waitMs: 0 }), 'MTA_STS_STORE_LOCK_TIMEOUT', 'waitMs 0 tries once')
  })

  t.test('lock: a dead holder\'s lock is broken after ttlMs', async t => {
    const store = await make(t)
    const deadUnlock = await store.lock('job', { ttlMs: 200, refreshMs: 0 }) // the holder "dies": stops renewing, never unlocks in time
    const unlock = await store.lock('job', { waitMs: 20_000 })
    t.pass('acquired after the dead holder\'s lock expired')
    await deadUnlock()
    await rejectsWithCode(t, store.lock('job', { waitMs: 150 }), 'MTA_STS_STORE_LOCK_TIMEOUT', 'the late unlock of the dead holder does not release the new lock')
    await unlock()
  })

  t.test('lock: a live holder renews its lease, so long work keeps the lock past ttlMs', async t => {
    const store = await make(t)
    const unlock = await store.lock('long-work', { ttlMs: 600 })
    await sleep(2000)
    await rejectsWithCode(t, store.lock('long-work', { waitMs: 0 }), 'MTA_STS_STORE_LOCK_TIMEOUT', 'still held after three lease lengths')
    await unlock()
    await (await store.lock('long-work', { waitMs: 0 }))()
    t.pass('free once released')
  })

  t.test('lock: a holder that stalled past its lease loses the lock and its late unlock leaves the new holder\'s', async t => {
    const store = await make(t)
    // A's first renewal comes long after its lease ran out (as if its process had stalled).
    const unlockA = await store.lock('stall', { ttlMs: 100, refreshMs: 1500 })
    await sleep(150)
    const unlockB = await store.lock('stall', { waitMs: 0 })
    await sleep(1600)
    await unlockA()
    await rejectsWithCode(t, store.lock('stall', { waitMs: 0 }), 'MTA_STS_STORE_LOCK_TIMEOUT', 'B still holds it')
    await unlockB()
  })

  t.test('lock: mutual exclusion under contention', async t => {
    const store = await make(t)
    let inside = 0
    let maxInside = 0
    let done = 0
    const worker = async (): Promise<void> => {
      for (let i = 0; i < 4; i++) {
        const unlock = await store.lock('counter', { waitMs: 60_000 })
        inside++
        maxInside = Math.max(maxInside, inside)
        const current = Number((await store.get('count'))?.toString() ?? '0')
        await sleep(1)
        await store.put('count', String(current + 1))
        inside--
        done++
        await unlock()
      }
    }
    await Promise.all(Array.from({ length: 5 }, worker))
    t.equal(maxInside, 1, 'never two holders at once')
    t.equal(done, 20)
    t.equal((await store.get('count'))?.toString(), '20', 'no lost update')
  })
}
