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

t.test('a host name among the targets gives ONE CNAME to the first host name, and no A/AAAA', async t => {
  const cname = { name: 'mta-sts.example.com', type: 'CNAME', value: 'a.example.net.', purpose: 'points the policy host at this service' }
  t.same(dnsRecords(tenant(), ['a.example.net', 'b.example.net']).slice(1), [cname])
  t.same(dnsRecords(tenant(), ['192.0.2.1', 'a.example.net', '2001:db8::1']).slice(1), [cname], 'addresses beside a host name are not published')
})

/** The quoted strings of zoneTxt output, unescaped. */
function txtStrings (zone: string): string[] {
  return [...zone.matchAll(/"((?:[^"\\]|\\.)*)"/g)].map(m => (m[1] ?? '').replace(/\\(.)/g, '$1'))
}

t.test('zoneTxt quotes, escapes and splits into strings of at most 255 bytes', async t => {
  t.equal(zoneTxt(''), '""', 'an empty value is one empty string')
  t.equal(zoneTxt('v=STSv1; id=abc'), '"v=STSv1; id=abc"')
  t.equal(zoneTxt('say "hi" \\ bye'), '"say \\"hi\\" \\\\ bye"')
  t.equal(zoneTxt('a'.repeat(255)), `"${'a'.repeat(255)}"`)
  t.equal(zoneTxt('a'.repeat(256)), `"${'a'.repeat(255)}" "a"`)
  t.equal(zoneTxt('a'.repeat(510)), `"${'a'.repeat(255)}" "${'a'.repeat(255)}"`, 'no empty string after an exact fit')
  t.equal(zoneTxt('a'.repeat(255) + 'b'.repeat(255) + 'c'), `"${'a'.repeat(255)}" "${'b'.repeat(255)}" "c"`)
  // Escaping happens after splitting: each string still holds 255 bytes of data.
  const quoted = '"'.repeat(300)
  t.equal(zoneTxt(quoted), `"${'\\"'.repeat(255)}" "${'\\"'.repeat(45)}"`)
  const long = 'v=TLSRPTv1; rua=' + Array.from({ length: 12 }, (_, i) => `mailto:tlsrpt-${i}@reports.example.com`).join(',')
  const chunks = txtStrings(zoneTxt(long))
  t.equal(chunks.join(''), long, 'strings reassemble to the value')
  t.same(chunks.map(c => c.length), [255, long.length - 255], 'full strings first')
  t.ok(chunks.every(c => c.length <= 255 && c.length > 0))
})

t.test('zoneTxt counts UTF-8 bytes and never splits inside a character', async t => {
  // 'ü' is 2 bytes: 127 fit in 254 bytes, the 128th would make 256.
  t.equal(zoneTxt('ü'.repeat(128)), `"${'ü'.repeat(127)}" "ü"`)
  t.equal(zoneTxt('a' + 'ü'.repeat(127)), `"${'a' + 'ü'.repeat(127)}"`, 'exactly 255 bytes: one string')
  t.equal(zoneTxt('aa' + 'ü'.repeat(127)), `"${'aa' + 'ü'.repeat(126)}" "ü"`, 'a 2-byte character that would straddle byte 255 moves on')
  // '€' is 3 bytes, '😀' 4 bytes (a surrogate pair in UTF-16): neither is cut.
  t.equal(zoneTxt('a'.repeat(253) + '€'), `"${'a'.repeat(253)}" "€"`)
  t.equal(zoneTxt('a'.repeat(252) + '€'), `"${'a'.repeat(252)}€"`)
  t.equal(zoneTxt('a'.repeat(252) + '😀'), `"${'a'.repeat(252)}" "😀"`)
  t.equal(zoneTxt('a'.repeat(251) + '😀'), `"${'a'.repeat(251)}😀"`)
  const value = 'v=TLSRPTv1; rua=mailto:tlsrpt@' + 'ü'.repeat(200) + '.example'
  const chunks = txtStrings(zoneTxt(value))
  t.equal(chunks.join(''), value, 'strings reassemble to the value')
  t.same(chunks.map(c => Buffer.byteLength(c, 'utf8')), [254, 184], 'every string at most 255 bytes')
  t.ok(chunks.every(c => !c.includes('\uFFFD') && Buffer.from(c, 'utf8').toString('utf8') === c), 'whole characters only')
})
