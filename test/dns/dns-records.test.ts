import t from 'tap'
import { dnsRecords, zoneTxt } from '../../src/dns/dns-records.js'
import { buildSnapshot, type TenantEntry } from '../../src/tenants/tenant-snapshot.js'
import { configFrom } from '../helpers/config-fixtures.js'

function tenant (rua: string[] = []): TenantEntry {
  const config = configFrom(`certificates: {issuer: internal}\ntenants:\n  example.com:\n    mx: [mx.example.com]\n    rua: ${JSON.stringify(rua)}\n`)
  const entry = buildSnapshot(config).tenants[0]
  if (!entry) throw new Error('no tenant')
  return entry
}

t.test('TXT record with the current id, and a CNAME placeholder without dns.target', async t => {
  const entry = tenant()
  t.same(dnsRecords(entry, []), [
    { name: '_mta-sts.example.com', type: 'TXT', value: `v=STSv1; id=${entry.id}`, purpose: 'announces the policy; the id changes with every policy edit' },
    { name: 'mta-sts.example.com', type: 'CNAME', value: null, purpose: 'point at this service (set dns.target in the configuration)' },
  ])
})

t.test('one host name target gives a CNAME with a trailing dot', async t => {
  const records = dnsRecords(tenant(), ['policy.example.net'])
  t.same(records[1], { name: 'mta-sts.example.com', type: 'CNAME', value: 'policy.example.net.', purpose: 'points the policy host at this service' })
  t.equal(records.length, 2, 'no _smtp._tls without rua')
})

t.test('address targets give A and AAAA records', async t => {
  t.same(dnsRecords(tenant(), ['192.0.2.1']).slice(1), [
    { name: 'mta-sts.example.com', type: 'A', value: '192.0.2.1', purpose: 'points the policy host at this service' },
  ])
  t.same(dnsRecords(tenant(), ['192.0.2.1', '2001:db8::1', '198.51.100.7']).slice(1).map(r => [r.type, r.value]), [
    ['A', '192.0.2.1'], ['AAAA', '2001:db8::1'], ['A', '198.51.100.7'],
  ])
  t.same(dnsRecords(tenant(), ['2001:db8::1']).slice(1).map(r => [r.type, r.value]), [['AAAA', '2001:db8::1']])
})

t.test('_smtp._tls only when the tenant has rua', async t => {
  const records = dnsRecords(tenant(['mailto:tlsrpt@example.com', 'https://r.example.com/v1']), ['policy.example.net'])
  t.same(records[2], {
    name: '_smtp._tls.example.com', type: 'TXT', value: 'v=TLSRPTv1; rua=mailto:tlsrpt@example.com,https://r.example.com/v1', purpose: 'asks senders for daily TLS reports',
  })
  t.equal(records.length, 3)
  t.notOk(dnsRecords(tenant([]), []).some(r => r.name.startsWith('_smtp._tls')))
})

t.test('zoneTxt quotes, escapes and splits into 255-character strings', async t => {
  t.equal(zoneTxt(''), '')
  t.equal(zoneTxt('v=STSv1; id=abc'), '"v=STSv1; id=abc"')
  t.equal(zoneTxt('say "hi" \\ bye'), '"say \\"hi\\" \\\\ bye"')
  t.equal(zoneTxt('a'.repeat(255)), `"${'a'.repeat(255)}"`)
  t.equal(zoneTxt('a'.repeat(256)), `"${'a'.repeat(255)}" "a"`)
  t.equal(zoneTxt('a'.repeat(255) + 'b'.repeat(255) + 'c'), `"${'a'.repeat(255)}" "${'b'.repeat(255)}" "c"`)
  // Escaping happens after splitting: each chunk still holds 255 characters of data.
  const quoted = '"'.repeat(300)
  t.equal(zoneTxt(quoted), `"${'\\"'.repeat(255)}" "${'\\"'.repeat(45)}"`)
  const long = 'v=TLSRPTv1; rua=' + Array.from({ length: 12 }, (_, i) => `mailto:tlsrpt-${i}@reports.example.com`).join(',')
  const chunks = [...zoneTxt(long).matchAll(/"((?:[^"\\]|\\.)*)"/g)].map(m => (m[1] ?? '').replace(/\\(.)/g, '$1'))
  t.equal(chunks.join(''), long, 'chunks reassemble to the value')
  t.ok(chunks.every(c => c.length <= 255 && c.length > 0))
})

t.test('REPORTED BUGS (dns-records)', async t => {
  t.test('zoneTxt splits into 255-byte strings, not 255 UTF-16 units', async t => {
    const value = 'v=TLSRPTv1; rua=mailto:tlsrpt@' + 'ü'.repeat(200) + '.example'
    const chunks = [...zoneTxt(value).matchAll(/"((?:[^"\\]|\\.)*)"/g)].map(m => m[1] ?? '')
    for (const c of chunks) t.ok(Buffer.byteLength(c, 'utf8') <= 255, `chunk of ${Buffer.byteLength(c, 'utf8')} bytes`)
  })
  t.test('several host name targets still give the policy host a record', async t => {
    const records = dnsRecords(tenant(), ['a.example.net', 'b.example.net'])
    t.ok(records.some(r => r.name === 'mta-sts.example.com'), 'mta-sts.example.com is not silently left out')
  })
})
