import t from 'tap'
import { parseStsRecord, stsTxtCheck } from '../../src/check/sts-txt-check.js'
import { startDnsServer } from '../helpers/dns-server.js'
import { checkContext, tenantEntry } from './tenant-fixture.js'

const tenant = tenantEntry()
const NAME = '_mta-sts.example.com'

t.test('passes when exactly one valid record carries the served id', async t => {
  const dns = await startDnsServer(t, { [NAME]: { TXT: [['v=spf1 -all'], [`v=STSv1; id=${tenant.id}`]] } })
  const [r] = await stsTxtCheck.run(checkContext(dns.address, { tenant }))
  t.match(r, { id: 'sts-txt', status: 'pass', details: { records: ['v=spf1 -all', `v=STSv1; id=${tenant.id}`], published: tenant.id } })
  t.notOk(r?.hint)
})

t.test('joins the strings of a record and follows a CNAME to the operator', async t => {
  const dns = await startDnsServer(t, {
    [NAME]: { CNAME: 'example.com._mta-sts.operator.example' },
    'example.com._mta-sts.operator.example': { TXT: [['v=STSv1; ', `id=${tenant.id}`]] },
  })
  const [r] = await stsTxtCheck.run(checkContext(dns.address, { tenant }))
  t.equal(r?.status, 'pass')
})

t.test('id drift fails with the record to publish', async t => {
  const dns = await startDnsServer(t, { [NAME]: { TXT: [['v=STSv1; id=20240101T000000']] } })
  const [r] = await stsTxtCheck.run(checkContext(dns.address, { tenant }))
  t.equal(r?.status, 'fail')
  t.equal(r?.reason, `published id 20240101T000000 differs from the served id ${tenant.id}: senders will not refetch the policy`)
  t.match(r?.hint, `_mta-sts.example.com. TXT "v=STSv1; id=${tenant.id}"`)
})

t.test('two v=STSv1 records fail', async t => {
  const dns = await startDnsServer(t, { [NAME]: { TXT: [[`v=STSv1; id=${tenant.id}`], ['v=STSv1; id=old']] } })
  const [r] = await stsTxtCheck.run(checkContext(dns.address, { tenant }))
  t.equal(r?.status, 'fail')
  t.match(r?.reason, /2 v=STSv1 records/)
  t.match(r?.hint, /^keep only/)
})

t.test('missing record: NXDOMAIN, NODATA, or only other TXT records', async t => {
  const dns = await startDnsServer(t, { [NAME]: { A: ['192.0.2.1'] }, '_mta-sts.example.org': { TXT: [['hello']] } })
  for (const [domain, code] of [['example.net', 'ENOTFOUND'], ['example.com', 'ENODATA']] as const) {
    const [r] = await stsTxtCheck.run(checkContext(dns.address, { tenant: tenantEntry({ domain }) }))
    t.match(r, { status: 'fail', reason: `no _mta-sts TXT record at _mta-sts.${domain}`, details: { error: code } }, domain)
    t.match(r?.hint, `_mta-sts.${domain}. TXT "v=STSv1; id=`)
  }
  const [r] = await stsTxtCheck.run(checkContext(dns.address, { tenant: tenantEntry({ domain: 'example.org' }) }))
  t.match(r, { status: 'fail', reason: /no v=STSv1 record among the 1 TXT record/ })
})

t.test('DNS failure other than no records', async t => {
  const dns = await startDnsServer(t, { [NAME]: { silent: true } })
  const [r] = await stsTxtCheck.run(checkContext(dns.address, { tenant, timeoutMs: 200 }))
  t.match(r, { status: 'fail', reason: /DNS lookup of _mta-sts.example.com failed \(ETIMEOUT\)/, hint: /name servers/ })
})

t.test('bad syntax fails', async t => {
  const dns = await startDnsServer(t, { [NAME]: { TXT: [['v=STSv1 id=abc']] } })
  const [r] = await stsTxtCheck.run(checkContext(dns.address, { tenant }))
  t.match(r, { status: 'fail', reason: /the record "v=STSv1 id=abc" is not/, hint: /^replace it: publish/ })
})

t.test('parseStsRecord follows the ABNF', async t => {
  const good: [string, string][] = [
    ['v=STSv1; id=abc123', 'abc123'],
    ['v=STSv1;id=abc123', 'abc123'],
    ['v=STSv1 ;\tid=abc123;', 'abc123'],
    ['v=STSv1; id=abc; ext_1.x-y=val!ue', 'abc'],
    ['v=STSv1; foo=bar; id=A1', 'A1'],
    [`v=STSv1; id=${'a'.repeat(32)}`, 'a'.repeat(32)],
  ]
  for (const [record, id] of good) t.same(parseStsRecord(record), { ok: true, id }, record)
  const bad: [string, RegExp][] = [
    ['v=STSv1', /is not/],
    ['v=STSv1;', /is not/],
    ['v=STSv1 id=abc', /is not/],
    ['v=STSv1; id=abc; ', /is not/],
    ['v=STSv1; id=abc;;', /is not/],
    ['v=STSv1x; id=abc', /is not/],
    ['v=STSv1; id = abc', /is not/],
    ['v=STSv1; id=', /invalid field "id="/],
    ['v=STSv1; id=a=b', /invalid field/],
    ['v=STSv1; _x=1; id=abc', /invalid field "_x=1"/],
    ['v=STSv1; ID=abc', /no id field/],
    ['v=STSv1; id=abc; id=def', /more than one id/],
    ['v=STSv1; id=abc-def', /invalid id "abc-def"/],
    [`v=STSv1; id=${'a'.repeat(33)}`, /invalid id/],
  ]
  for (const [record, error] of bad) {
    const r = parseStsRecord(record)
    t.equal(r.ok, false, record)
    if (!r.ok) t.match(r.error, error, record)
  }
})
