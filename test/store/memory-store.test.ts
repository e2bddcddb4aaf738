import t from 'tap'
import { MemoryStore } from '../../src/store/memory-store.js'
import { storeContract } from '../helpers/store-contract.js'

storeContract(t, async () => new MemoryStore())

t.test('instances do not share data', async t => {
  const a = new MemoryStore()
  const b = new MemoryStore()
  await a.put('k', 'v')
  t.equal(await b.get('k'), undefined)
  t.same(await b.list(''), [])
  const unlock = await a.lock('l')
  await (await b.lock('l', { waitMs: 0 }))()
  await unlock()
})

t.test('REPORTED BUGS (memory-store)', async t => {
  t.test('list prefixes and lock names are checked like keys (as FileStore does)', async t => {
    const store = new MemoryStore()
    for (const bad of ['../x', '/abs', 'a/', 'a/../b']) {
      await t.rejects(store.list(bad), { code: 'MTA_STS_STORE_BAD_KEY' }, `list ${bad}`)
    }
    for (const bad of ['../x', '/abs', 'a/../b', 'sp ace']) {
      await t.rejects(store.lock(bad, { waitMs: 0 }), { code: 'MTA_STS_STORE_BAD_KEY' }, `lock ${bad}`)
    }
  })
})
