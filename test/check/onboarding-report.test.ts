import t from 'tap'
import { onboardingReport } from '../../src/check/onboarding-report.js'
import { systemClock } from '../../src/clock.js'
import { MemoryStore } from '../../src/store/memory-store.js'
import { InternalCa } from '../../src/tls/internal-ca.js'
import { startDnsServer, type Zone } from '../helpers/dns-server.js'
import { policyText, startPolicyServer, type PolicyAnswer } from '../helpers/policy-server.js'
import { closedPort, startSmtpServer } from '../helpers/smtp-servers.js'
import { checkContext } from './tenant-fixture.js'

interface Teardown {
  teardown (fn: () => unknown): void
}

const ca = await InternalCa.open({ store: new MemoryStore(), clock: systemClock, leafLifetime: 30 * 86400 })
const RUA = ['https://mta-sts.other.test/tlsrpt']
const MX = { 'other.test': { MX: [{ exchange: 'mx1.other.test', priority: 10 }, { exchange: 'mx2.other.test', priority: 20 }] }, 'mx1.other.test': { A: ['127.0.0.1'] }, 'mx2.other.test': { A: ['127.0.0.1'] } }

/** A context on a test DNS server with `zone`, a policy host answering `policy` and MX hosts on a STARTTLS server (or none). */
async function contextFor (t: Teardown, zone: Zone, policy?: PolicyAnswer, smtp: 'tls' | 'plain' | 'closed' = 'tls') {
  const dns = await startDnsServer(t, zone)
  const httpsPort = policy === undefined ? await closedPort() : await startPolicyServer(t, ca, ['mta-sts.other.test'], policy)
  const mxCert = await ca.issue(['mx1.other.test', 'mx2.other.test'])
  const smtpPort = smtp === 'closed'
    ? await closedPort()
    : (await startSmtpServer(t, smtp === 'tls' ? { key: mxCert.keyPem, cert: mxCert.certPem } : { hideSTARTTLS: true })).port
  return checkContext(dns.address, { httpsPort, smtpPort, ca: ca.caPem, timeoutMs: 3000 })
}

const byId = (results: readonly { id: string }[]) => new Map(results.map(r => [r.id, r]))

t.test('no MTA-STS at all: findings only, start with testing', async t => {
  const ctx = await contextFor(t, MX)
  const report = await onboardingReport(ctx, 'other.test', { rua: RUA })
  t.match(report, { domain: 'other.test', tenant: false, status: 'warn', readyForEnforce: false, reasons: ['other.test is not a tenant: this service serves no policy for it yet'] })
  t.same(report.facts, { stsId: null, policy: null, mx: ['mx1.other.test', 'mx2.other.test'], tlsRpt: null })
  const r = byId(report.results)
  t.match(r.get('sts-txt'), { status: 'warn', reason: 'no TXT record at _mta-sts.other.test (ENOTFOUND): senders apply no MTA-STS policy today' })
  t.match(r.get('policy'), { status: 'warn', reason: 'mta-sts.other.test does not resolve (no A/AAAA record): no policy is hosted (no _mta-sts record: senders do not look for it)' })
  t.match(r.get('mx-coverage'), { status: 'pass', reason: '2 MX host(s): mx1.other.test, mx2.other.test' })
  t.match(r.get('mx-tls:mx1.other.test'), { status: 'pass', reason: /^STARTTLS, TLSv1\.3/ })
  t.match(r.get('mx-tls:mx2.other.test'), { status: 'pass' })
  t.match(r.get('tlsrpt-txt'), { status: 'warn', reason: /senders send no TLS reports$/ })
  t.same(report.advice, [
    'no MTA-STS today: start with mode testing',
    'no usable _smtp._tls record: publish one with rua=https://mta-sts.other.test/tlsrpt to receive the TLS reports here',
    'mta-sts-host propose other.test prints the tenant entry and the DNS records to publish, in order (the _mta-sts TXT last)',
  ])
})

t.test('an enforce policy elsewhere: days of cache, its mx kept, an uncovered MX and a failing MX host fail', async t => {
  const ctx = await contextFor(t, {
    ...MX,
    'mta-sts.other.test': { A: ['127.0.0.1'] },
    '_mta-sts.other.test': { TXT: [['v=STSv1; id=2024a'], ['unrelated']] },
    '_smtp._tls.other.test': { TXT: [['v=TLSRPTv1; rua=mailto:tlsrpt@other.test']] },
  }, policyText('enforce', ['mx1.other.test'], 1209600), 'plain')
  const report = await onboardingReport(ctx, 'other.test', { rua: RUA })
  t.equal(report.status, 'fail')
  t.same(report.facts, {
    stsId: '2024a',
    policy: { url: 'https://mta-sts.other.test/.well-known/mta-sts.txt', mode: 'enforce', mx: ['mx1.other.test'], maxAge: 1209600 },
    mx: ['mx1.other.test', 'mx2.other.test'],
    tlsRpt: ['mailto:tlsrpt@other.test'],
  })
  const r = byId(report.results)
  t.match(r.get('sts-txt'), { status: 'pass', reason: '_mta-sts.other.test publishes id 2024a' })
  t.match(r.get('policy'), { status: 'pass', reason: 'serves mode enforce, max_age 1209600 (14 day(s)), mx mx1.other.test', details: { mode: 'enforce', maxAge: 1209600 } })
  t.match(r.get('mx-coverage'), { status: 'fail', reason: 'the current enforce policy does not cover mx2.other.test: senders holding it refuse mail to them', details: { uncovered: ['mx2.other.test'] } })
  t.match(r.get('mx-tls:mx1.other.test'), { status: 'fail', reason: 'server does not offer STARTTLS' }, 'under enforce a failing MX host loses mail today')
  t.match(r.get('tlsrpt-txt'), { status: 'pass', reason: '_smtp._tls.other.test sends reports to mailto:tlsrpt@other.test' })
  t.same(report.advice, [
    'senders may cache the enforce policy from elsewhere for up to 14 days more (max_age 1209600 s): keep its mx patterns (mx1.other.test) and mode enforce until then (propose keeps them)',
    'the current policy does not cover MX host mx2.other.test: senders holding it refuse mail to it today; add it to mx (propose does)',
    'fix STARTTLS and the certificate of mx1.other.test, mx2.other.test before mode enforce: senders in enforce mode refuse an MX host that fails them',
    'TLS reports go to mailto:tlsrpt@other.test today: add https://mta-sts.other.test/tlsrpt to its rua to receive them here',
    'mta-sts-host propose other.test prints the tenant entry and the DNS records to publish, in order (the _mta-sts TXT last)',
  ])
})

t.test('a testing policy elsewhere: an uncovered MX and MX TLS failures are warnings', async t => {
  const ctx = await contextFor(t, {
    ...MX,
    'mta-sts.other.test': { A: ['127.0.0.1'] },
    '_mta-sts.other.test': { TXT: [['v=STSv1; id=1']] },
    '_smtp._tls.other.test': { TXT: [['v=TLSRPTv1; rua=https://mta-sts.other.test/tlsrpt']] },
  }, policyText('testing', ['mx1.other.test'], 86400), 'closed')
  const report = await onboardingReport(ctx, 'other.test', { rua: RUA })
  t.equal(report.status, 'warn')
  const r = byId(report.results)
  t.match(r.get('mx-coverage'), { status: 'warn', reason: 'the current policy (mode testing) does not cover mx2.other.test', hint: 'add mx2.other.test to mx before mode enforce' })
  t.match(r.get('mx-tls:mx1.other.test'), { status: 'warn', reason: /^connection failed/ })
  t.match(report.advice[0], 'for up to 1 day more (max_age 86400 s): keep its mx patterns (mx1.other.test) and mode testing')
  t.equal(report.advice[1], 'the current policy does not cover MX host mx2.other.test; add it to mx (propose does)')
  t.notOk(report.advice.some(a => a.startsWith('TLS reports go to')), 'reports already come here')
})

t.test('mode none elsewhere, all MX covered, no report address here', async t => {
  const ctx = await contextFor(t, { ...MX, 'mta-sts.other.test': { A: ['127.0.0.1'] } }, policyText('none', ['*.other.test'], 86400))
  const report = await onboardingReport(ctx, 'other.test', { rua: [] })
  const r = byId(report.results)
  t.match(r.get('mx-coverage'), { status: 'pass', reason: 'all 2 MX host(s) (mx1.other.test, mx2.other.test) are covered by the current policy' })
  t.match(report.advice, [/the none policy from elsewhere for up to 1 day more \(max_age 86400 s\); it asks for nothing, so moving here in mode testing breaks nothing$/, /^mta-sts-host propose/])
})

t.test('a published _mta-sts whose policy senders cannot get fails', async t => {
  const zone = { ...MX, '_mta-sts.other.test': { TXT: [['v=STSv1; id=1']] } }
  const absent = await onboardingReport(await contextFor(t, zone), 'other.test', { rua: RUA })
  t.match(byId(absent.results).get('policy'), { status: 'fail', reason: '_mta-sts is published, but senders get no policy: mta-sts.other.test does not resolve (no A/AAAA record): no policy is hosted' })
  t.match(absent.advice[0], /^_mta-sts is published but senders get no valid policy/)

  const notFound = await onboardingReport(await contextFor(t, { ...zone, 'mta-sts.other.test': { A: ['127.0.0.1'] } }, (_req, res) => { res.statusCode = 404; res.end() }), 'other.test', { rua: RUA })
  t.match(byId(notFound.results).get('policy'), { status: 'fail', reason: /answers 404, not 200$/, details: { address: '127.0.0.1' } })

  const refusedNoTxt = await onboardingReport(await contextFor(t, { ...MX, 'mta-sts.other.test': { A: ['127.0.0.1'] } }, (_req, res) => { res.statusCode = 404; res.end() }), 'other.test', { rua: RUA })
  t.match(byId(refusedNoTxt.results).get('policy'), { status: 'warn', reason: /answers 404, not 200 \(no _mta-sts record: senders do not look for it\)$/ })
})

t.test('broken records and DNS that does not answer', async t => {
  const broken = await onboardingReport(await contextFor(t, {
    'other.test': { MX: [{ exchange: '.', priority: 0 }] },
    '_mta-sts.other.test': { TXT: [['v=STSv1; id=1'], ['v=STSv1; id=2']] },
    '_smtp._tls.other.test': { TXT: [['v=TLSRPTv1; rua=ftp://x']] },
  }), 'other.test', { rua: RUA })
  const b = byId(broken.results)
  t.match(b.get('sts-txt'), { status: 'fail', reason: '2 v=STSv1 records at _mta-sts.other.test: senders ignore them all: senders see no policy' })
  t.match(b.get('mx-coverage'), { status: 'warn', reason: 'other.test publishes a null MX ("."): it accepts no mail' })
  t.match(b.get('tlsrpt-txt'), { status: 'warn', reason: /has an invalid report URI "ftp:\/\/x"/ })
  t.notOk(broken.results.some(r => r.id.startsWith('mx-tls')), 'no MX host to probe')

  const invalid = await onboardingReport(await contextFor(t, { 'other.test': { A: ['127.0.0.1'] }, '_mta-sts.other.test': { TXT: [['v=STSv1; id=not valid!']] } }), 'other.test', { rua: RUA })
  const i = byId(invalid.results)
  t.match(i.get('sts-txt'), { status: 'fail', reason: /^the record "v=STSv1; id=not valid!" / })
  t.match(i.get('mx-coverage'), { status: 'warn', reason: 'other.test has no MX records (ENODATA): MTA-STS protects delivery to MX hosts' })
  t.same(invalid.facts.mx, [])

  const emptyCtx = await contextFor(t, { '_mta-sts.other.test': { TXT: [['google-site-verification=x']] } })
  const empty = await onboardingReport({ ...emptyCtx, resolver: { ...emptyCtx.resolver, resolveMx: async () => [] } }, 'other.test', { rua: RUA })
  t.match(byId(empty.results).get('mx-coverage'), { status: 'warn', reason: 'other.test has no MX records' })
  t.match(byId(empty.results).get('sts-txt'), { status: 'warn', reason: 'no v=STSv1 record among the 1 TXT record(s) at _mta-sts.other.test: senders apply no MTA-STS policy today' })

  const silent: Zone = {}
  for (const name of ['other.test', '_mta-sts.other.test', 'mta-sts.other.test', '_smtp._tls.other.test']) silent[name] = { silent: true }
  const ctx = await contextFor(t, silent)
  const down = await onboardingReport({ ...ctx, timeoutMs: 200 }, 'other.test', { rua: RUA })
  t.equal(down.status, 'fail')
  const d = byId(down.results)
  t.match(d.get('sts-txt'), { status: 'fail', reason: /^DNS lookup of _mta-sts\.other\.test failed \(ETIMEOUT\)$/ })
  t.match(d.get('policy'), { status: 'fail', reason: /^DNS lookup of mta-sts\.other\.test failed \(ETIMEOUT\)$/ })
  t.match(d.get('mx-coverage'), { status: 'fail', reason: 'DNS lookup of the MX records of other.test failed (ETIMEOUT)' })
  t.match(d.get('tlsrpt-txt'), { status: 'warn', reason: /^DNS lookup of _smtp\._tls\.other\.test failed/ })
})
