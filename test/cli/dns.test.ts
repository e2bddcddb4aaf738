import { join } from 'node:path'
import t, { type Test } from 'tap'
import { dnsCommand } from '../../src/cli/dns.js'
import { loadConfig } from '../../src/config/load-config.js'
import { buildSnapshot } from '../../src/tenants/tenant-snapshot.js'
import { captureIo, tempDir, writeTempFile } from '../helpers/fixtures.js'

const tenants = [
  'tenants:',
  '  example.com:',
  '    mode: enforce',
  '    mx: [mx.example.com]',
  '    rua: ["mailto:tlsrpt@example.com"]',
  '  example.org:',
  '    mx: [mx.example.org]',
  '',
].join('\n')

async function setup (t: Test, target: string): Promise<{ file: string; ids: Record<string, string> }> {
  const file = await writeTempFile(t, 'c.yaml', `certificates: {issuer: internal}\n${target}${tenants}`)
  const result = await loadConfig(file)
  if (!result.ok) throw new Error('fixture is invalid')
  const ids = Object.fromEntries(buildSnapshot(result.config).tenants.map(x => [x.domain, x.id]))
  return { file, ids }
}

t.test('text format with a CNAME target', async t => {
  const { file, ids } = await setup(t, 'dns: {target: [Policy.Example.NET.]}\n')
  const io = captureIo()
  t.equal(await dnsCommand(file, 'text', io), 0)
  t.equal(io.err(), '')
  t.equal(io.out(), [
    `example.com  mode=enforce  id=${ids['example.com']}`,
    `  _mta-sts.example.com  TXT  v=STSv1; id=${ids['example.com']}`,
    '    announces the policy; the id changes with every policy edit',
    '  mta-sts.example.com  CNAME  policy.example.net.',
    '    points the policy host at this service',
    '  _smtp._tls.example.com  TXT  v=TLSRPTv1; rua=mailto:tlsrpt@example.com',
    '    asks senders for daily TLS reports',
    '',
    `example.org  mode=testing  id=${ids['example.org']}`,
    `  _mta-sts.example.org  TXT  v=STSv1; id=${ids['example.org']}`,
    '    announces the policy; the id changes with every policy edit',
    '  mta-sts.example.org  CNAME  policy.example.net.',
    '    points the policy host at this service',
    '  _smtp._tls.example.org  TXT  v=TLSRPTv1; rua=https://mta-sts.example.org/tlsrpt',
    '    asks senders for daily TLS reports',
    '',
    '',
  ].join('\n'))
})

t.test('text format without a target shows a placeholder', async t => {
  const { file } = await setup(t, '')
  const io = captureIo()
  t.equal(await dnsCommand(file, 'text', io), 0)
  t.match(io.out(), '  mta-sts.example.com  CNAME  <address of this service: set dns.target>\n    point at this service (set dns.target in the configuration)\n')
})

t.test('zone format with A/AAAA targets', async t => {
  const { file, ids } = await setup(t, 'dns: {target: [192.0.2.1, "2001:db8::1"]}\n')
  const io = captureIo()
  t.equal(await dnsCommand(file, 'zone', io), 0)
  t.equal(io.out(), [
    '; example.com (mode enforce)',
    `_mta-sts.example.com. 3600 IN TXT "v=STSv1; id=${ids['example.com']}"`,
    'mta-sts.example.com. 3600 IN A 192.0.2.1',
    'mta-sts.example.com. 3600 IN AAAA 2001:db8::1',
    '_smtp._tls.example.com. 3600 IN TXT "v=TLSRPTv1; rua=mailto:tlsrpt@example.com"',
    '',
    '; example.org (mode testing)',
    `_mta-sts.example.org. 3600 IN TXT "v=STSv1; id=${ids['example.org']}"`,
    'mta-sts.example.org. 3600 IN A 192.0.2.1',
    'mta-sts.example.org. 3600 IN AAAA 2001:db8::1',
    '_smtp._tls.example.org. 3600 IN TXT "v=TLSRPTv1; rua=https://mta-sts.example.org/tlsrpt"',
    '',
    '',
  ].join('\n'))
})

t.test('a tenant without rua asks for reports here: HTTPS on its policy host, and reports.mailto when set; none with reports off', async t => {
  const zone = async (reports: string): Promise<string> => {
    const file = await writeTempFile(t, 'r.yaml', `${reports}dns: {target: [192.0.2.1]}\n${tenants}`)
    const io = captureIo()
    t.equal(await dnsCommand(file, 'zone', io), 0)
    return io.out()
  }
  t.match(await zone('reports: {mailto: tlsrpt@provider.example, https_path: /r}\n'),
    '\n_smtp._tls.example.org. 3600 IN TXT "v=TLSRPTv1; rua=https://mta-sts.example.org/r,mailto:tlsrpt@provider.example"\n')
  const off = await zone('reports: {enabled: false}\n')
  t.notMatch(off, /_smtp\._tls\.example\.org/, 'reports off: _smtp._tls only for tenants that name rua')
  t.match(off, '_smtp._tls.example.com. 3600 IN TXT "v=TLSRPTv1; rua=mailto:tlsrpt@example.com"')
})

t.test('zone format with a CNAME target and without one', async t => {
  const named = await setup(t, 'dns: {target: [policy.example.net]}\n')
  let io = captureIo()
  t.equal(await dnsCommand(named.file, 'zone', io), 0)
  t.match(io.out(), '\nmta-sts.example.com. 3600 IN CNAME policy.example.net.\n')
  t.notMatch(io.out(), / IN A /)
  const none = await setup(t, '')
  io = captureIo()
  t.equal(await dnsCommand(none.file, 'zone', io), 0)
  t.match(io.out(), '\n; mta-sts.example.com. 3600 IN CNAME <address of this service: set dns.target>\n', 'commented out, so the zone still loads')
})

t.test('json format', async t => {
  const { file, ids } = await setup(t, 'dns: {target: [policy.example.net]}\n')
  const io = captureIo()
  t.equal(await dnsCommand(file, 'json', io), 0)
  t.ok(io.out().endsWith('}\n'))
  const parsed = JSON.parse(io.out()) as { tenants: { domain: string; mode: string; policy_id: string; records: { name: string; type: string; value: string | null }[] }[] }
  t.same(parsed.tenants.map(x => [x.domain, x.mode, x.policy_id]), [['example.com', 'enforce', ids['example.com']], ['example.org', 'testing', ids['example.org']]])
  t.same(parsed.tenants[0]?.records.map(r => [r.name, r.type, r.value]), [
    ['_mta-sts.example.com', 'TXT', `v=STSv1; id=${ids['example.com']}`],
    ['mta-sts.example.com', 'CNAME', 'policy.example.net.'],
    ['_smtp._tls.example.com', 'TXT', 'v=TLSRPTv1; rua=mailto:tlsrpt@example.com'],
  ])
  t.same(parsed.tenants[1]?.records.map(r => r.type), ['TXT', 'CNAME', 'TXT'])
})

t.test('an invalid or missing configuration: exit 1 with the errors', async t => {
  const file = await writeTempFile(t, 'bad.yaml', 'tenants:\n  example.com:\n    mx: []\n')
  const io = captureIo()
  t.equal(await dnsCommand(file, 'text', io), 1)
  t.equal(io.out(), '')
  t.equal(io.err(), `error: ${file}:3:9: tenants."example.com".mx must not be empty (list at least one MX host pattern, even for mode none)\n`)
  const missing = join(await tempDir(t), 'none.yaml')
  const io2 = captureIo()
  t.equal(await dnsCommand(missing, 'json', io2), 1)
  t.equal(io2.out(), '')
  t.match(io2.err(), `error: ${missing}:0:0: cannot read the configuration file`)
})

t.test('a host name beside addresses in dns.target is refused, not half-published', async t => {
  const file = await writeTempFile(t, 'c.yaml', `certificates: {issuer: internal}\ndns: {target: [policy.example.net, 192.0.2.1]}\n${tenants}`)
  const io = captureIo()
  t.equal(await dnsCommand(file, 'zone', io), 1)
  t.equal(io.out(), '')
  t.equal(io.err(), `error: ${file}:2:15: dns.target must be either one host name (published as a CNAME) or a list of IP addresses (A/AAAA) (a CNAME cannot stand beside other records)\n`)
})
