import t from 'tap'
import { mxCoverageCheck } from '../../src/check/mx-coverage-check.js'
import { checkDomain } from '../../src/check/check-domain.js'
import { startDnsServer } from '../helpers/dns-server.js'
import { checkContext, tenantEntry } from './tenant-fixture.js'

const tenant = tenantEntry({ mx: ['mx1.example.com', '*.mx.example.net'] })

t.test('passes when every MX is covered and every pattern used', async t => {
  const dns = await startDnsServer(t, { 'example.com': { MX: [{ exchange: 'A.MX.example.net', priority: 20 }, { exchange: 'mx1.example.com', priority: 10 }] } })
  const [r] = await mxCoverageCheck.run(checkContext(dns.address, { tenant }))
  t.match(r, { id: 'mx-coverage', status: 'pass', details: { mx: ['mx1.example.com', 'a.mx.example.net'], uncovered: [], unusedPatterns: [] } })
  t.notOk(r?.hint)
})

t.test('an MX not covered fails', async t => {
  const dns = await startDnsServer(t, { 'example.com': { MX: [{ exchange: 'mx1.example.com', priority: 10 }, { exchange: 'a.b.mx.example.net', priority: 20 }, { exchange: 'backup.example.org', priority: 30 }] } })
  const [r] = await mxCoverageCheck.run(checkContext(dns.address, { tenant }))
  t.equal(r?.status, 'fail')
  t.equal(r?.reason, 'enforce would make senders refuse mail to a.b.mx.example.net, backup.example.org: not matched by any mx pattern')
  t.match(r?.hint, /add mx: a.b.mx.example.net, backup.example.org/)
  t.match(r?.details, { uncovered: ['a.b.mx.example.net', 'backup.example.org'], unusedPatterns: ['*.mx.example.net'] })
})

t.test('a pattern matching no MX warns', async t => {
  const dns = await startDnsServer(t, { 'example.com': { MX: [{ exchange: 'mx1.example.com', priority: 10 }] } })
  const [r] = await mxCoverageCheck.run(checkContext(dns.address, { tenant }))
  t.match(r, {
    status: 'warn',
    reason: /^mx pattern\(s\) \*\.mx\.example\.net match no MX host of example\.com \(harmless: every MX host is covered\)$/,
    hint: /^remove \*\.mx\.example\.net from the tenant's mx list, unless MX hosts it covers are about to be added$/,
    details: { unusedPatterns: ['*.mx.example.net'], uncovered: [] },
  })
})

t.test('an unused pattern alone does not block enforce; an uncovered MX does', async t => {
  const dns = await startDnsServer(t, {
    'example.com': { MX: [{ exchange: 'mx1.example.com', priority: 10 }] },
    'example.org': { MX: [{ exchange: 'mx1.example.com', priority: 10 }, { exchange: 'backup.example.org', priority: 20 }] },
  })
  const unused = await checkDomain(checkContext(dns.address, { tenant }), [mxCoverageCheck])
  t.match(unused, { status: 'warn', readyForEnforce: true, reasons: [] })
  const uncovered = await checkDomain(checkContext(dns.address, { tenant: tenantEntry({ domain: 'example.org', mx: ['mx1.example.com'] }) }), [mxCoverageCheck])
  t.match(uncovered, { status: 'fail', readyForEnforce: false, reasons: [/^MX coverage: enforce would make senders refuse mail to backup\.example\.org/] })
})

t.test('null MX fails: the domain accepts no mail', async t => {
  const dns = await startDnsServer(t, { 'example.com': { MX: [{ exchange: '.', priority: 0 }] } })
  const [r] = await mxCoverageCheck.run(checkContext(dns.address, { tenant }))
  t.match(r, { status: 'fail', reason: /null MX.*accepts no mail/ })
})

t.test('no MX records, no domain, DNS failure', async t => {
  const dns = await startDnsServer(t, { 'example.com': { A: ['192.0.2.1'] }, 'example.org': { silent: true } })
  const [nodata] = await mxCoverageCheck.run(checkContext(dns.address, { tenant }))
  t.match(nodata, { status: 'fail', reason: 'example.com has no MX records (ENODATA)', hint: /publish MX records/ })
  const [nx] = await mxCoverageCheck.run(checkContext(dns.address, { tenant: tenantEntry({ domain: 'example.net' }) }))
  t.match(nx, { status: 'fail', reason: 'example.net has no MX records (ENOTFOUND)' })
  const [slow] = await mxCoverageCheck.run(checkContext(dns.address, { tenant: tenantEntry({ domain: 'example.org' }), timeoutMs: 200 }))
  t.match(slow, { status: 'fail', reason: /failed \(ETIMEOUT\)/ })
})

t.test('an empty answer fails', async t => {
  const ctx = checkContext('127.0.0.1:1', { tenant })
  const [r] = await mxCoverageCheck.run({ ...ctx, resolver: { ...ctx.resolver, resolveMx: async () => [] } })
  t.match(r, { status: 'fail', reason: 'example.com has no MX records', details: { mx: [] } })
})
