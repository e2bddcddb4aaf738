import t from 'tap'
import { parseConfig } from '../../src/config/load-config.js'
import type { Config } from '../../src/config/types.js'
import { buildSnapshotInTurns, nextTurn } from '../../src/tenants/build-snapshot-in-turns.js'
import { prepareConfig } from '../../src/tenants/prepared-config.js'
import { buildSnapshot, diffSnapshots, type TenantSnapshot } from '../../src/tenants/tenant-snapshot.js'

const config = (issuer: string, lines: string[]): Config => {
  const result = parseConfig(['certificates: {issuer: ' + issuer + ', files: {directory: /certs}}', 'defaults: {mx: [mx.example.net]}', 'tenants:', ...lines, ''].join('\n'), '/c.yaml')
  if (!result.ok) throw new Error(JSON.stringify(result.errors))
  return result.config
}

async function inTurns (next: Config, previous: TenantSnapshot, chunkSize = 2, removedPerTurn = 2): Promise<{ result: Awaited<ReturnType<typeof buildSnapshotInTurns>>; turns: number }> {
  const prepared = prepareConfig({ ok: true, config: next }, chunkSize)
  if (!prepared.ok) throw new Error('not ok')
  let turns = 0
  const result = await buildSnapshotInTurns(prepared.config, prepared.tenants, next.warnings, previous, {
    removedPerTurn,
    yieldTurn: async () => { turns++; await nextTurn() },
    now: new Date('2026-01-02T03:04:05Z'),
  })
  return { result, turns }
}

t.test('the same snapshot and diff as buildSnapshot and diffSnapshots, built chunk by chunk', async t => {
  const before = buildSnapshot(config('files', [
    '  keep.example:',
    '  mode.example: {mode: testing}',
    '  rua.example: {rua: ["mailto:a@rua.example"]}',
    '  cert.example: {certificate: {cert: a.crt, key: a.key}}',
    '  gone.example:',
    '  gone2.example:',
    '  gone3.example:',
  ]))
  const next = config('files', [
    '  new.example:',
    '  keep.example:',
    '  mode.example: {mode: enforce}',
    '  rua.example: {rua: ["mailto:b@rua.example"]}',
    '  cert.example: {certificate: {cert: b.crt, key: a.key}}',
  ])
  const { result, turns } = await inTurns(next, before)
  const expected = buildSnapshot(next)
  t.same(result.diff, diffSnapshots(before, expected))
  t.same(result.snapshot.tenants, expected.tenants, 'entries equal field by field (policy, body, id...)')
  t.same([...result.snapshot.byHost.keys()], [...expected.byHost.keys()])
  t.same({ ...result.snapshot.config, tenants: [] }, { ...expected.config, tenants: [] })
  t.equal(result.snapshot.config.tenants, result.snapshot.tenants, "the config's tenants are the entries (a Tenant each, and more)")
  t.equal(result.snapshot.loadedAt.toISOString(), '2026-01-02T03:04:05.000Z')
  t.ok(turns >= 3 + 3, `${turns} turns: 3 chunks of tenants, then the previous 7 two at a time`)
  const reused = (host: string): boolean => result.snapshot.byHost.get(host) === before.byHost.get(host)
  t.ok(reused('mta-sts.keep.example'), 'an unchanged tenant keeps its entry')
  t.notOk(reused('mta-sts.rua.example'), 'a rua change makes a new entry (same policy id)')
  t.notOk(reused('mta-sts.cert.example'), 'so does a certificate file change')
  t.notOk(reused('mta-sts.mode.example'))
  t.ok(Object.isFrozen(result.snapshot) && Object.isFrozen(result.snapshot.config) && Object.isFrozen(result.snapshot.config.listen) &&
    Object.isFrozen(result.snapshot.tenants) && result.snapshot.tenants.every(e => Object.isFrozen(e) && Object.isFrozen(e.mx) && Object.isFrozen(e.rua)), 'frozen')
})

t.test('the previous snapshot is left as it was; defaults to setImmediate turns and now', async t => {
  const before = buildSnapshot(config('internal', ['  a.example:', '  b.example:']))
  const next = config('internal', ['  b.example:', '  c.example:'])
  const prepared = prepareConfig({ ok: true, config: next })
  if (!prepared.ok) throw new Error('not ok')
  const started = Date.now()
  const { snapshot, diff } = await buildSnapshotInTurns(prepared.config, prepared.tenants, [], before)
  t.ok(snapshot.loadedAt.getTime() >= started)
  t.same(diff.added, ['c.example'])
  t.same(diff.removed, ['a.example'])
  t.same([...before.byHost.keys()], ['mta-sts.a.example', 'mta-sts.b.example'])
  t.equal(snapshot.byHost.get('mta-sts.b.example'), before.byHost.get('mta-sts.b.example'))
})
