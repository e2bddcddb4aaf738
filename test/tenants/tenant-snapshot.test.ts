import t from 'tap'
import { policyId } from '../../src/policy/policy-id.js'
import { buildSnapshot, diffSnapshots } from '../../src/tenants/tenant-snapshot.js'
import { configFrom } from '../helpers/config-fixtures.js'

const yaml = [
  'certificates: {issuer: internal}',
  'tenants:',
  '  Example.COM:',
  '    mode: enforce',
  '    mx: [mx1.example.com, "*.mx.example.net"]',
  '  bücher.example:',
  '    mx: [mx.bücher.example]',
  '    max_age: 86400',
  '',
].join('\n')

t.test('buildSnapshot renders every policy once and indexes by host', async t => {
  const config = configFrom(yaml)
  const now = new Date('2025-01-02T03:04:05Z')
  const snap = buildSnapshot(config, now)
  t.equal(snap.config, config)
  t.equal(snap.loadedAt, now)
  t.same([...snap.byHost.keys()], ['mta-sts.example.com', 'mta-sts.xn--bcher-kva.example'])
  const [a, b] = snap.tenants
  t.equal(a?.policy, 'version: STSv1\r\nmode: enforce\r\nmx: mx1.example.com\r\nmx: *.mx.example.net\r\nmax_age: 604800\r\n')
  t.equal(b?.policy, 'version: STSv1\r\nmode: testing\r\nmx: mx.xn--bcher-kva.example\r\nmax_age: 86400\r\n')
  t.ok(Buffer.isBuffer(a?.body))
  t.equal(a?.body.toString('ascii'), a?.policy)
  t.equal(a?.body.length, a?.policy.length, 'one byte per character')
  t.equal(a?.id, policyId(a?.policy ?? ''))
  t.equal(snap.byHost.get('mta-sts.example.com'), a, 'the same entry object')
  t.equal(a?.domain, 'example.com')
  t.equal(a?.mode, 'enforce')
  t.same(a?.rua, ['https://mta-sts.example.com/tlsrpt'], 'no rua in the file: reports come here')
  t.ok(Object.isFrozen(snap) && Object.isFrozen(snap.tenants) && Object.isFrozen(a), 'frozen')
})

t.test('buildSnapshot defaults loadedAt to now', async t => {
  const before = Date.now()
  const snap = buildSnapshot(configFrom(yaml))
  t.ok(snap.loadedAt.getTime() >= before && snap.loadedAt.getTime() <= Date.now())
})

t.test('diffSnapshots', async t => {
  const before = buildSnapshot(configFrom([
    'certificates: {issuer: internal}',
    'tenants:',
    '  keep.example: {mx: [mx.keep.example]}',
    '  mode.example: {mx: [mx.mode.example], mode: testing}',
    '  mx.example: {mx: [a.mx.example]}',
    '  gone.example: {mx: [mx.gone.example]}',
    '',
  ].join('\n')))
  const after = buildSnapshot(configFrom([
    'certificates: {issuer: internal}',
    'tenants:',
    '  new.example: {mx: [mx.new.example]}',
    '  keep.example: {mx: [mx.keep.example]}',
    '  mode.example: {mx: [mx.mode.example], mode: enforce}',
    '  mx.example: {mx: [b.mx.example]}',
    '',
  ].join('\n')))
  const id = (s: typeof before, d: string): string => s.byHost.get(`mta-sts.${d}`)?.id ?? ''
  t.same(diffSnapshots(before, after), {
    added: ['new.example'],
    removed: ['gone.example'],
    changed: [
      { domain: 'mode.example', id: [id(before, 'mode.example'), id(after, 'mode.example')], mode: ['testing', 'enforce'] },
      { domain: 'mx.example', id: [id(before, 'mx.example'), id(after, 'mx.example')] },
    ],
    hosts: { added: ['mta-sts.new.example'], removed: ['mta-sts.gone.example'] },
  })
  t.notOk('mode' in (diffSnapshots(before, after).changed[1] ?? {}), 'no mode entry when only the mx changed')
  const none = { added: [], removed: [], changed: [], hosts: { added: [], removed: [] } }
  t.same(diffSnapshots(before, before), none)
  t.same(diffSnapshots(before, buildSnapshot(before.config)), none, 'a rebuild of the same config changes nothing')
})

t.test('tenants with the same policy share its text, body and id', async t => {
  const snap = buildSnapshot(configFrom([
    'certificates: {issuer: internal}',
    'defaults: {mx: [mx.example.net]}',
    'tenants:',
    '  a.example:',
    '  b.example:',
    '  c.example: {mode: enforce}',
    '',
  ].join('\n')))
  const [a, b, c] = snap.tenants
  t.equal(a?.body, b?.body, 'one Buffer for the shared policy')
  t.equal(a?.id, b?.id)
  t.equal(a?.id, policyId(a?.policy ?? ''))
  t.not(c?.body, a?.body)
  t.equal(c?.id, policyId(c?.policy ?? ''))
  t.equal(c?.body.toString('ascii'), c?.policy)
})
