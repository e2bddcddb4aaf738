import t from 'tap'
import { ENTRIES_PER_CHUNK, SnapshotReceiver, snapshotChunks, workerConfig, type SnapshotChunk } from '../../src/cluster/worker-snapshot.js'
import { buildSnapshot, tenantEntry, type TenantSnapshot } from '../../src/tenants/tenant-snapshot.js'
import { configFrom } from '../helpers/config-fixtures.js'

function snapshotOf (count: number, mode = 'testing', extra = ''): TenantSnapshot {
  const tenants = Array.from({ length: count }, (_, i) => `  t${i}.example: { mode: ${mode}, mx: [mx.t${i}.example] }`)
  return buildSnapshot(configFrom(`certificates:\n  acme:\n    email: hostmaster@example.net\n    terms_of_service_agreed: true\n    eab: { kid: kid1, hmac_key: c2VjcmV0c2VjcmV0 }\n${extra}tenants:\n${tenants.join('\n')}\n`), new Date('2026-11-30T12:00:00Z'))
}

/** Copies chunks as the IPC channel does. */
const wire = (chunks: SnapshotChunk[]): SnapshotChunk[] => structuredClone(chunks)

t.test('a full snapshot goes in chunks of 2,500 entries, the first with the configuration (no tenants, no secrets)', async t => {
  const snapshot = snapshotOf(ENTRIES_PER_CHUNK * 2 + 10)
  const chunks = snapshotChunks(7, snapshot)
  t.equal(chunks.length, 3)
  t.same(chunks.map(c => [c.seq, c.full, c.last, c.entries.length]), [[7, true, false, 2500], [7, true, false, 2500], [7, true, true, 10]])
  t.ok(chunks[0]!.config)
  t.notOk(chunks[1]!.config)
  t.same(chunks[0]!.config!.tenants, [])
  t.notMatch(JSON.stringify(chunks[0]!.config), /c2VjcmV0c2VjcmV0|hostmaster/)
  t.notOk('body' in chunks[0]!.entries[0]!)
  t.equal(workerConfig(snapshot.config).reports.httpsPath, snapshot.config.reports.httpsPath)
})

t.test('the worker swaps in a transfer only once its last chunk is applied, one chunk per event-loop turn', async t => {
  const swaps: { snapshot: TenantSnapshot, removed: readonly string[] }[] = []
  const receiver = new SnapshotReceiver((snapshot, removed) => swaps.push({ snapshot, removed }))
  t.equal(receiver.current, undefined)
  const first = snapshotOf(ENTRIES_PER_CHUNK + 5)
  const chunks = wire(snapshotChunks(1, first))
  void receiver.receive(chunks[0]!)
  const done = receiver.receive(chunks[1]!)
  t.ok(receiver.busy)
  // The first chunk is applied at once, the second on a later turn: nothing is swapped in yet.
  t.equal(swaps.length, 0)
  t.equal(receiver.current, undefined)
  await done
  t.notOk(receiver.busy)
  t.equal(swaps.length, 1)
  const got = receiver.current!
  t.equal(got.byHost.size, first.byHost.size)
  t.equal(got.tenants.length, first.tenants.length)
  const host = 'mta-sts.t3.example'
  t.same(got.byHost.get(host)!.body, first.byHost.get(host)!.body)
  t.equal(got.byHost.get(host)!.id, first.byHost.get(host)!.id)
  t.ok(Object.isFrozen(got.byHost.get(host)))
  t.equal(got.loadedAt.toISOString(), first.loadedAt.toISOString())
  t.equal(got.config.reports.httpsPath, first.config.reports.httpsPath)
})

t.test('a reload diff sends changed, new and removed entries only, and keeps the rest', async t => {
  const receiver = new SnapshotReceiver(() => {})
  const before = snapshotOf(6)
  await receiver.receive(wire(snapshotChunks(1, before))[0]!)
  const after = snapshotOf(4, 'enforce', '')
  const extra = tenantEntry({ ...before.tenants[0]!, domain: 'new.example', host: 'mta-sts.new.example' })
  const next: TenantSnapshot = { ...after, byHost: new Map([...after.byHost, [extra.host, extra]]), tenants: [...after.tenants, extra] }
  const diff = snapshotChunks(2, next, before)
  t.equal(diff.length, 1)
  t.equal(diff[0]!.full, false)
  t.same(diff[0]!.entries.map(e => e.host).sort(), ['mta-sts.new.example', 'mta-sts.t0.example', 'mta-sts.t1.example', 'mta-sts.t2.example', 'mta-sts.t3.example'])
  t.same(diff[0]!.removed, ['mta-sts.t4.example', 'mta-sts.t5.example'])
  const removedSeen: string[] = []
  const r2 = new SnapshotReceiver((_s, removed) => removedSeen.push(...removed))
  await r2.receive(wire(snapshotChunks(1, before))[0]!)
  await r2.receive(wire(diff)[0]!)
  t.same(removedSeen, ['mta-sts.t4.example', 'mta-sts.t5.example'])
  t.equal(r2.current!.byHost.get('mta-sts.t1.example')!.mode, 'enforce')
  t.equal(r2.current!.byHost.size, 5)
  // Unchanged: no entries, one message all the same (it carries the configuration).
  t.same(snapshotChunks(3, before, before).map(c => [c.entries.length, c.removed.length, c.last]), [[0, 0, true]])
})

t.test('a retiring entry travels with its retirement; a diff before any full snapshot is ignored', async t => {
  const before = snapshotOf(1)
  const entry = before.tenants[0]!
  const retiring = tenantEntry({ ...entry, mode: 'none', retiring: { since: '2026-11-30T00:00:00.000Z', until: '2026-12-07T00:00:00.000Z', previousMode: 'testing', previousId: entry.id } })
  const next: TenantSnapshot = { ...before, byHost: new Map([[entry.host, retiring]]), tenants: [retiring] }
  const receiver = new SnapshotReceiver(() => { t.fail('nothing to swap') })
  await receiver.receive(wire(snapshotChunks(2, next, before))[0]!)
  t.equal(receiver.current, undefined)
  // Also a diff of several chunks: every chunk of it is ignored.
  for (const chunk of wire(snapshotChunks(3, snapshotOf(ENTRIES_PER_CHUNK + 1, 'enforce'), before))) await receiver.receive(chunk)
  t.equal(receiver.current, undefined)
  const full = new SnapshotReceiver(() => {})
  await full.receive(wire(snapshotChunks(1, next))[0]!)
  t.same(full.current!.byHost.get(entry.host)!.retiring, retiring.retiring)
  t.ok(Object.isFrozen(full.current!.byHost.get(entry.host)!.retiring))
})
