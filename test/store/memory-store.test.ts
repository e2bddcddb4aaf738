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
