import { PassThrough } from 'node:stream'
import t from 'tap'
import { parseConfig } from '../../src/config/load-config.js'
import { createLogger } from '../../src/log.js'
import { MemoryStore } from '../../src/store/memory-store.js'
import { emptySnapshot, retiredEntry, Retirements, type RetiredSnapshot } from '../../src/tenants/retirements.js'
import { buildSnapshot, diffSnapshots, type TenantSnapshot } from '../../src/tenants/tenant-snapshot.js'

const DAY = 86_400_000

function snapshot (tenants: string): TenantSnapshot {
  const result = parseConfig(`certificates: { issuer: internal }\ntenants:\n${tenants}`, '/tmp/x.yaml')
  if (!result.ok) throw new Error(JSON.stringify(result.errors))
  return buildSnapshot(result.config)
}

function logs (): { logger: ReturnType<typeof createLogger>, lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = []
  const stream = new PassThrough()
  stream.on('data', (c: Buffer) => { for (const l of c.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(l) as Record<string, unknown>) })
  return { logger: createLogger('info', stream), lines }
}

/** What a reload from `previous` to a file with `tenants` serves. */
async function reload (r: Retirements, previous: TenantSnapshot, tenants: string, now: Date): Promise<RetiredSnapshot> {
  const next = snapshot(tenants)
  return await r.apply(next, diffSnapshots(previous, next), previous, now)
}

const A = '  a.example: { mode: enforce, mx: [mx.a.example], max_age: 604800 }\n'
const B = '  b.example: { mode: testing, mx: [mx.b.example] }\n'
const NONE = '  n.example: { mode: none, mx: [mx.n.example] }\n'

t.test('a removed enforce tenant is served as mode none with its mx and max_age until max_age has passed, then dropped', async t => {
  const store = new MemoryStore()
  const { logger, lines } = logs()
  const r = new Retirements(store, logger)
  const t0 = new Date('2026-11-30T10:00:00Z')
  const first = snapshot(A + B + NONE)
  t.equal((await r.apply(first, diffSnapshots(emptySnapshot(first), first), emptySnapshot(first), t0)).snapshot, first, 'nothing to do: the same snapshot')
  const prevA = first.byHost.get('mta-sts.a.example')

  const second = await reload(r, first, B, t0)
  await r.persist()
  const served = second.snapshot.byHost.get('mta-sts.a.example')
  t.equal(served?.mode, 'none')
  t.same(served?.mx, ['mx.a.example'])
  t.equal(served?.maxAge, 604800)
  t.not(served?.id, prevA?.id, 'a new id')
  t.same(served?.retiring, { since: t0.toISOString(), until: new Date(t0.getTime() + 7 * DAY).toISOString(), previousMode: 'enforce', previousId: prevA?.id })
  t.notOk(second.snapshot.byHost.has('mta-sts.n.example'), 'a mode-none tenant promised nothing: dropped at once')
  t.same(second.diff.removed, ['n.example'])
  t.same(second.diff.changed, [{ domain: 'a.example', id: [prevA?.id, served?.id], mode: ['enforce', 'none'] }])
  t.same(second.snapshot.tenants.map(x => x.domain), ['b.example', 'a.example'])
  t.same(await store.list('retirements'), ['retirements/a.example.json'])
  t.match(lines.find(l => l.event === 'retirement_started'), { tenant: 'a.example', previous_mode: 'enforce', policy_id: served?.id, msg: /publish _mta-sts\.a\.example TXT "v=STSv1; id=/ })
  t.equal(r.nextEnd(), t0.getTime() + 7 * DAY)

  const same = await reload(r, second.snapshot, B, new Date(t0.getTime() + DAY))
  t.equal(same.snapshot.byHost.get('mta-sts.a.example'), served, 'the same entry object on the next reload')
  t.same([same.diff.added, same.diff.removed, same.diff.changed], [[], [], []])

  const later = await reload(r, same.snapshot, B, new Date(t0.getTime() + 7 * DAY))
  await r.persist()
  t.notOk(later.snapshot.byHost.has('mta-sts.a.example'), 'dropped once max_age has passed')
  t.same(later.diff.removed, ['a.example'])
  t.same(later.diff.hosts.removed, ['mta-sts.a.example'], 'so its certificate is no longer renewed')
  t.same(await store.list('retirements'), [])
  t.equal(r.nextEnd(), undefined)
  t.ok(lines.some(l => l.event === 'retirement_ended'))
})

t.test('the store keeps retirements across restarts; a re-added tenant ends its retirement at once', async t => {
  const store = new MemoryStore()
  const t0 = new Date('2026-11-30T10:00:00Z')
  const one = new Retirements(store, logs().logger)
  const first = snapshot(A + B)
  await one.apply(first, diffSnapshots(emptySnapshot(first), first), emptySnapshot(first), t0)
  await reload(one, first, A, t0)
  await one.persist()

  const { logger, lines } = logs()
  const two = new Retirements(store, logger)
  await two.load()
  t.same(two.list().map(x => x.domain), ['b.example'])
  const boot = snapshot(A)
  const started = await two.apply(boot, diffSnapshots(emptySnapshot(boot), boot), emptySnapshot(boot), new Date(t0.getTime() + DAY))
  t.equal(started.snapshot.byHost.get('mta-sts.b.example')?.mode, 'none', 'served after a restart')
  t.ok(started.diff.added.includes('b.example'))

  const back = await reload(two, started.snapshot, A + B, new Date(t0.getTime() + 2 * DAY))
  await two.persist()
  t.equal(back.snapshot.byHost.get('mta-sts.b.example')?.mode, 'testing', 'its configured policy again')
  t.same(back.diff.changed.map(c => c.domain), ['b.example'])
  t.same(await store.list('retirements'), [])
  t.ok(lines.some(l => l.event === 'retirement_cancelled' && l.tenant === 'b.example'))

  const removedAgain = await reload(two, back.snapshot, A, new Date(t0.getTime() + 3 * DAY))
  t.equal(removedAgain.snapshot.byHost.get('mta-sts.b.example')?.retiring?.since, new Date(t0.getTime() + 3 * DAY).toISOString(), 'a new window from the second removal')
})

t.test('retire: true serves mode none for max_age, then drops the tenant while the entry stays; removing the flag brings it back', async t => {
  const store = new MemoryStore()
  const r = new Retirements(store, logs().logger)
  const t0 = new Date('2026-11-30T10:00:00Z')
  const first = snapshot(A + B)
  const flagged = await reload(r, first, A.replace('max_age: 604800', 'max_age: 604800, retire: true') + B, t0)
  const a = flagged.snapshot.byHost.get('mta-sts.a.example')
  t.equal(a?.mode, 'none')
  t.equal(a?.retiring?.previousMode, 'enforce')
  t.same(flagged.snapshot.tenants.map(x => [x.domain, x.mode]), [['a.example', 'none'], ['b.example', 'testing']], 'in place')
  t.same(flagged.diff.changed.map(c => [c.domain, c.mode]), [['a.example', ['enforce', 'none']]])

  const over = await reload(r, flagged.snapshot, A.replace('max_age: 604800', 'max_age: 604800, retire: true') + B, new Date(t0.getTime() + 8 * DAY))
  t.notOk(over.snapshot.byHost.has('mta-sts.a.example'), 'dropped after the window')
  t.same(over.diff.removed, ['a.example'])
  t.same(over.snapshot.tenants.map(x => x.domain), ['b.example'])
  await r.persist()
  const restarted = new Retirements(store, logs().logger)
  await restarted.load()
  const boot = snapshot(A.replace('max_age: 604800', 'max_age: 604800, retire: true') + B)
  const after = await restarted.apply(boot, diffSnapshots(emptySnapshot(boot), boot), emptySnapshot(boot), new Date(t0.getTime() + 9 * DAY))
  t.notOk(after.snapshot.byHost.has('mta-sts.a.example'), 'stays dropped after a restart')
  t.same(after.diff.added, ['b.example'])
  t.equal(restarted.nextEnd(), undefined, 'nothing left to end')

  const unflagged = await reload(restarted, after.snapshot, A + B, new Date(t0.getTime() + 10 * DAY))
  t.equal(unflagged.snapshot.byHost.get('mta-sts.a.example')?.mode, 'enforce', 'without the flag it is a tenant again')
  const gone = await reload(restarted, unflagged.snapshot, B, new Date(t0.getTime() + 10 * DAY))
  t.equal(gone.snapshot.byHost.get('mta-sts.a.example')?.mode, 'none', 'and removing it retires it anew')

  const flaggedFromStart = new Retirements(new MemoryStore(), logs().logger)
  const boot2 = snapshot(B.replace('mx: [mx.b.example]', 'mx: [mx.b.example], retire: true'))
  const fresh = await flaggedFromStart.apply(boot2, diffSnapshots(emptySnapshot(boot2), boot2), emptySnapshot(boot2), t0)
  t.equal(fresh.snapshot.byHost.get('mta-sts.b.example')?.retiring?.previousMode, 'testing', 'flagged before it was ever served: retires its configured policy')
})

t.test('an ended record of a tenant no longer in the file is forgotten; an unreadable record is skipped with a warning', async t => {
  const store = new MemoryStore()
  await store.put('retirements/gone.example.json', JSON.stringify({ domain: 'gone.example', mx: ['mx.gone.example'], maxAge: 86400, rua: [], since: '2026-11-01T00:00:00.000Z', until: '2026-11-02T00:00:00.000Z', previousMode: 'enforce', previousId: 'x', ended: true }))
  await store.put('retirements/bad.example.json', '{not json')
  await store.put('retirements/half.example.json', '{"domain": "half.example"}')
  const { logger, lines } = logs()
  const r = new Retirements(store, logger)
  await r.load()
  t.equal(lines.filter(l => l.event === 'retirement_unreadable').length, 2)
  const boot = snapshot(B)
  const out = await r.apply(boot, diffSnapshots(emptySnapshot(boot), boot), emptySnapshot(boot), new Date('2026-11-30T00:00:00Z'))
  t.equal(out.snapshot, boot)
  await r.persist()
  t.same(await store.list('retirements'), ['retirements/bad.example.json', 'retirements/half.example.json'], 'the ended record of a removed entry is deleted; broken files are left for the operator')
})

t.test('retiredEntry: the none policy of a record, with the certificate files it had', async t => {
  const entry = retiredEntry({ domain: 'c.example', mx: ['mx.c.example'], maxAge: 86400, rua: ['mailto:r@c.example'], certificate: { cert: '/c.pem', key: '/k.pem' }, since: 's', until: 'u', previousMode: 'testing', previousId: 'p' })
  t.equal(entry.policy, 'version: STSv1\r\nmode: none\r\nmx: mx.c.example\r\nmax_age: 86400\r\n')
  t.same(entry.certificate, { cert: '/c.pem', key: '/k.pem' })
  t.same(entry.rua, ['mailto:r@c.example'])
})
