import t from 'tap'
import { parseConfig } from '../../src/config/load-config.js'
import { changesAtStart, changesOfReload, REMOVED } from '../../src/stats/policy-changes.js'
import { buildSnapshot, diffSnapshots } from '../../src/tenants/tenant-snapshot.js'

function snapshot (tenants: string) {
  const result = parseConfig(`certificates: { issuer: internal }\ndefaults: { mx: [mx.example.net] }\ntenants:\n${tenants}`, '/tmp/x.yaml')
  if (!result.ok) throw new Error(JSON.stringify(result.errors))
  return buildSnapshot(result.config)
}

const at = new Date('2026-11-30T10:00:00Z')

t.test('at start: every tenant now, and removed for tenants recorded as served but gone from the file', async t => {
  const now = snapshot('  a.example: { mode: testing }\n  b.example: { mode: enforce }\n')
  const a = now.byHost.get('mta-sts.a.example')
  const changes = changesAtStart(now, [
    { domain: 'a.example', at: '2026-11-01T00:00:00.000Z', mode: 'testing', policyId: 'old' },
    { domain: 'gone.example', at: '2026-11-01T00:00:00.000Z', mode: 'enforce', policyId: 'g1' },
    { domain: 'long-gone.example', at: '2026-11-01T00:00:00.000Z', mode: REMOVED, policyId: '' },
  ], at)
  t.same(changes.map(c => [c.domain, c.mode]), [['a.example', 'testing'], ['b.example', 'enforce'], ['gone.example', REMOVED]])
  t.equal(changes[0]?.policyId, a?.id)
  t.ok(changes.every(c => c.at === at.toISOString()))
})

t.test('a reload: added and changed tenants with their new policy, removed ones as removed; unchanged ones not at all', async t => {
  const before = snapshot('  a.example: { mode: testing }\n  b.example: { mode: testing }\n  c.example: {}\n')
  const after = snapshot('  a.example: { mode: enforce }\n  c.example: {}\n  d.example: {}\n')
  const changes = changesOfReload(after, diffSnapshots(before, after), at)
  t.same(changes.map(c => [c.domain, c.mode]), [['d.example', 'testing'], ['a.example', 'enforce'], ['b.example', REMOVED]])
  t.equal(changes[1]?.policyId, after.byHost.get('mta-sts.a.example')?.id)
  t.same(changesOfReload(after, { added: ['nowhere.example'], removed: [], changed: [], hosts: { added: [], removed: [] } }, at), [], 'a name the snapshot lacks records nothing')
})
