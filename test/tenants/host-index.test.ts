import t from 'tap'
import { HOST_INDEX_SHARDS, HostIndex, HostIndexBuilder, INSERTS_PER_TURN, shardOf } from '../../src/tenants/host-index.js'
import { tenantEntry, type TenantEntry } from '../../src/tenants/tenant-snapshot.js'

const entry = (i: number, mode: 'testing' | 'enforce' = 'testing'): TenantEntry =>
  tenantEntry({ domain: `t${i}.example`, host: `mta-sts.t${i}.example`, mode, mx: ['mx.example.net'], maxAge: 86400, rua: [] })
const entries = (n: number): TenantEntry[] => Array.from({ length: n }, (_, i) => entry(i))

async function build (list: readonly TenantEntry[], previous?: ReadonlyMap<string, TenantEntry>, onTurn = (): void => {}): Promise<HostIndex> {
  const builder = new HostIndexBuilder(previous)
  for (const e of list) builder.add(e)
  return await builder.build(async () => { onTurn() })
}

t.test('a read-only Map of the entries by host, iterated in their order', async t => {
  const list = entries(1000)
  for (const index of [HostIndex.of(list), await build(list)]) {
    t.equal(index.size, 1000)
    t.equal(index.get('mta-sts.t7.example'), list[7])
    t.ok(index.has('mta-sts.t999.example'))
    t.notOk(index.has('mta-sts.t1000.example'))
    t.equal(index.get('mta-sts.unknown.example'), undefined)
    t.same([...index.keys()], list.map(e => e.host))
    t.same([...index.values()], list)
    t.same([...index], list.map(e => [e.host, e]))
    t.same([...index.entries()], list.map(e => [e.host, e]))
    const seen: string[] = []
    const self = { n: 0, mismatches: 0 }
    index.forEach(function (this: typeof self, value, key, map) {
      this.n++
      seen.push(key)
      if (map.get(key) !== value) this.mismatches++
    }, self)
    t.same(seen, list.map(e => e.host))
    t.same(self, { n: 1000, mismatches: 0 }, 'forEach passes value, key and the map, and binds thisArg')
  }
  t.equal(HostIndex.of([]).size, 0)
  const builder = new HostIndexBuilder()
  for (const e of list) builder.add(e)
  t.equal(builder.entries.length, 1000)
  t.notOk(Object.isFrozen(builder.entries), 'open while entries are added')
  await builder.build(async () => {})
  t.ok(Object.isFrozen(builder.entries), 'frozen once built: the snapshot\'s tenant list')
})

t.test('hosts spread over the shards: no shard holds more than three times its share', async t => {
  const counts = new Array<number>(HOST_INDEX_SHARDS).fill(0)
  const n = 50_000
  for (let i = 0; i < n; i++) counts[shardOf(`mta-sts.t${i}.bench.example`)]!++
  t.ok(Math.max(...counts) < 3 * n / HOST_INDEX_SHARDS, `largest shard ${Math.max(...counts)} of ${n} hosts`)
  t.ok(Math.min(...counts) > 0, 'every shard used')
})

t.test('a rebuild shares every shard whose hosts and entries are unchanged, and fills the others in turns', async t => {
  const n = 3 * INSERTS_PER_TURN
  const list = entries(n)
  let turns = 0
  const first = await build(list, undefined, () => { turns++ })
  t.ok(turns >= 2, `${turns} turns for ${n} hosts`)

  const same = await build(list, first)
  const shards = Array.from({ length: HOST_INDEX_SHARDS }, (_, s) => s)
  t.ok(shards.every(s => same.shard(s) === first.shard(s)), 'nothing changed: every shard shared')

  const changed = [...list]
  changed[5] = entry(5, 'enforce')
  const edited = await build(changed, first)
  const s5 = shardOf('mta-sts.t5.example')
  t.not(edited.shard(s5), first.shard(s5), 'the shard of the edited tenant is new')
  t.equal(edited.get('mta-sts.t5.example'), changed[5])
  t.equal(first.get('mta-sts.t5.example'), list[5], 'the previous index is left as it was')
  t.ok(shards.filter(s => s !== s5).every(s => edited.shard(s) === first.shard(s)), 'every other shard shared')

  const removed = await build(list.filter((_, i) => i !== 9), first)
  const s9 = shardOf('mta-sts.t9.example')
  t.notOk(removed.has('mta-sts.t9.example'), 'a removed host is gone from its (new) shard')
  t.not(removed.shard(s9), first.shard(s9))
  t.equal(removed.size, n - 1)

  const fromPlainMap = await build(list, new Map(list.map(e => [e.host, e])))
  t.not(fromPlainMap.shard(0), first.shard(0), 'nothing to share with a plain Map')
  t.equal(fromPlainMap.get('mta-sts.t1.example'), list[1])
})
