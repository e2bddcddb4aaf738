import t from 'tap'
import { parseTlsRptRecord, tlsrptTxtCheck } from '../../src/check/tlsrpt-txt-check.js'
import { startDnsServer } from '../helpers/dns-server.js'
import { checkContext, tenantEntry } from './tenant-fixture.js'

const NAME = '_smtp._tls.example.com'
const withRua = tenantEntry({ rua: ['mailto:tlsrpt@example.com', 'https://reports.example.net/tlsrpt'] })

t.test('passes with one valid record', async t => {
  const dns = await startDnsServer(t, { [NAME]: { TXT: [['v=spf1 -all'], ['v=TLSRPTv1; rua=mailto:tls@example.com']] } })
  const [r] = await tlsrptTxtCheck.run(checkContext(dns.address))
  t.match(r, { id: 'tlsrpt-txt', status: 'pass', details: { rua: ['mailto:tls@example.com'] } })
  t.notOk(r?.hint)
})

t.test('passes when the published URIs are the configured ones, in any order', async t => {
  const dns = await startDnsServer(t, { [NAME]: { TXT: [['v=TLSRPTv1;rua=https://reports.example.net/tlsrpt,', 'mailto:tlsrpt@example.com']] } })
  const [r] = await tlsrptTxtCheck.run(checkContext(dns.address, { tenant: withRua }))
  t.equal(r?.status, 'pass')
})

t.test('missing record warns with the record to publish', async t => {
  const dns = await startDnsServer(t, { 'example.com': { A: ['192.0.2.1'] }, '_smtp._tls.example.org': { TXT: [['something else']] } })
  const [r] = await tlsrptTxtCheck.run(checkContext(dns.address))
  t.match(r, { status: 'warn', reason: /no TLS-RPT record at _smtp._tls.example.com/, details: { error: 'ENOTFOUND' } })
  t.equal(r?.hint, 'publish _smtp._tls.example.com. TXT "v=TLSRPTv1; rua=mailto:tlsrpt@example.com"')
  const [configured] = await tlsrptTxtCheck.run(checkContext(dns.address, { tenant: withRua }))
  t.equal(configured?.hint, 'publish _smtp._tls.example.com. TXT "v=TLSRPTv1; rua=mailto:tlsrpt@example.com,https://reports.example.net/tlsrpt"')
  const [other] = await tlsrptTxtCheck.run(checkContext(dns.address, { tenant: tenantEntry({ domain: 'example.org' }) }))
  t.match(other, { status: 'warn', reason: /no v=TLSRPTv1 record among the 1 TXT record/ })
})

t.test('DNS failure warns', async t => {
  const dns = await startDnsServer(t, { [NAME]: { silent: true } })
  const [r] = await tlsrptTxtCheck.run(checkContext(dns.address, { timeoutMs: 200 }))
  t.match(r, { status: 'warn', reason: /failed \(ETIMEOUT\)/, hint: /name servers/ })
})

t.test('two records fail', async t => {
  const dns = await startDnsServer(t, { [NAME]: { TXT: [['v=TLSRPTv1; rua=mailto:a@example.com'], ['v=TLSRPTv1; rua=mailto:b@example.com']] } })
  const [r] = await tlsrptTxtCheck.run(checkContext(dns.address))
  t.match(r, { status: 'fail', reason: /2 v=TLSRPTv1 records/, hint: /^keep only _smtp._tls.example.com/ })
})

t.test('bad syntax fails', async t => {
  const dns = await startDnsServer(t, { [NAME]: { TXT: [['v=TLSRPTv1; rua=tls@example.com']] } })
  const [r] = await tlsrptTxtCheck.run(checkContext(dns.address))
  t.match(r, { status: 'fail', reason: /invalid report URI "tls@example.com"/, hint: /^replace it: publish/ })
})

t.test('URIs other than the configured ones warn', async t => {
  const dns = await startDnsServer(t, { [NAME]: { TXT: [['v=TLSRPTv1; rua=mailto:tlsrpt@example.com']] } })
  const [r] = await tlsrptTxtCheck.run(checkContext(dns.address, { tenant: withRua }))
  t.match(r, { status: 'warn', reason: /differ from the configured/, hint: /^update the record/ })
})

t.test('rua not first warns', async t => {
  const dns = await startDnsServer(t, { [NAME]: { TXT: [['v=TLSRPTv1; x=1; rua=mailto:tlsrpt@example.com']] } })
  const [r] = await tlsrptTxtCheck.run(checkContext(dns.address))
  t.match(r, { status: 'warn', reason: /not the first field/, hint: 'reorder it: _smtp._tls.example.com. TXT "v=TLSRPTv1; rua=mailto:tlsrpt@example.com"' })
})

t.test('parseTlsRptRecord follows the ABNF', async t => {
  const good: [string, string[], boolean][] = [
    ['v=TLSRPTv1; rua=mailto:a@example.com', ['mailto:a@example.com'], true],
    ['v=TLSRPTv1;rua=mailto:a@example.com;', ['mailto:a@example.com'], true],
    ['v=TLSRPTv1 ;\trua=mailto:a@example.com , https://r.example.net/x?y=1 ; ', ['mailto:a@example.com', 'https://r.example.net/x?y=1'], true],
    ['v=TLSRPTv1; ext=1; rua=https://r.example.net', ['https://r.example.net'], false],
  ]
  for (const [record, rua, ruaFirst] of good) t.same(parseTlsRptRecord(record), { ok: true, rua, ruaFirst }, record)
  const bad: [string, RegExp][] = [
    ['v=TLSRPTv2; rua=mailto:a@example.com', /does not start/],
    ['v=TLSRPTv1', /followed by/],
    ['v=TLSRPTv1x; rua=mailto:a@example.com', /followed by/],
    ['v=TLSRPTv1; ', /invalid field ""/],
    ['v=TLSRPTv1; ;rua=mailto:a@example.com', /invalid field ""/],
    ['v=TLSRPTv1; =x; rua=mailto:a@example.com', /invalid field "=x"/],
    ['v=TLSRPTv1; rua', /invalid field "rua"/],
    ['v=TLSRPTv1; x=a b; rua=mailto:a@example.com', /invalid field "x=a b"/],
    ['v=TLSRPTv1; x=; rua=mailto:a@example.com', /invalid field "x="/],
    ['v=TLSRPTv1; x=1', /no rua field/],
    ['v=TLSRPTv1; rua=mailto:a@example.com; rua=mailto:b@example.com', /more than one rua/],
    ['v=TLSRPTv1; rua=http://r.example.net', /invalid report URI "http:/],
    ['v=TLSRPTv1; rua=https://', /invalid report URI/],
    ['v=TLSRPTv1; rua=https://[x', /invalid report URI/],
    ['v=TLSRPTv1; rua=mailto:nobody', /invalid report URI/],
    ['v=TLSRPTv1; rua=mailto:a@example.com!10m', /invalid report URI/],
    ['v=TLSRPTv1; rua=mailto:a@example.com,', /invalid report URI ""/],
  ]
  for (const [record, error] of bad) {
    const r = parseTlsRptRecord(record)
    t.equal(r.ok, false, record)
    if (!r.ok) t.match(r.error, error, record)
  }
})
