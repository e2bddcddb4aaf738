import t from 'tap'
import { fetchDomainPolicy } from '../../src/check/fetch-domain-policy.js'
import { systemClock } from '../../src/clock.js'
import { MemoryStore } from '../../src/store/memory-store.js'
import { InternalCa } from '../../src/tls/internal-ca.js'
import { startDnsServer } from '../helpers/dns-server.js'
import { policyText, startPolicyServer, type PolicyAnswer } from '../helpers/policy-server.js'
import { closedPort } from '../helpers/smtp-servers.js'
import { checkContext } from './tenant-fixture.js'

interface Teardown {
  teardown (fn: () => unknown): void
}

const ca = await InternalCa.open({ store: new MemoryStore(), clock: systemClock, leafLifetime: 86400 })
const URL = 'https://mta-sts.other.test/.well-known/mta-sts.txt'

async function fetchWith (t: Teardown, answer: PolicyAnswer | number, names = ['mta-sts.other.test'], timeoutMs = 2000) {
  const dns = await startDnsServer(t, { 'mta-sts.other.test': { AAAA: ['::1'], A: ['127.0.0.1'] } })
  const port = typeof answer === 'number' ? answer : await startPolicyServer(t, ca, names, answer)
  return fetchDomainPolicy(checkContext(dns.address, { httpsPort: port, ca: ca.caPem, timeoutMs }), 'other.test')
}

t.test('a valid policy, as a sender parses it', async t => {
  t.match(await fetchWith(t, policyText('enforce', ['MX1.other.test', '*.mx.other.test'], 86400).replaceAll('\r\n', '\n')), {
    kind: 'served', url: URL, address: '127.0.0.1', policy: { mode: 'enforce', mx: ['mx1.other.test', '*.mx.other.test'], maxAge: 86400 },
    notes: [/LF line endings/], tlsVersion: 'TLSv1.3',
  })
})

t.test('what senders refuse', async t => {
  t.match(await fetchWith(t, 'version: STSv1\r\nmode: enforce\r\n'), { kind: 'refused', reason: 'the policy is invalid: it has no mx (required, even with mode none) (and 1 more)' })
  t.match(await fetchWith(t, 'version: STSv1\r\nmode: enforce\r\nmx: a.example\r\n'), { kind: 'refused', reason: 'the policy is invalid: it has no max_age' })
  t.match(await fetchWith(t, (_req, res) => { res.writeHead(301, { location: 'https://elsewhere.example/' }); res.end() }), { kind: 'refused', reason: /redirects \(301\)/, address: '127.0.0.1' })
  t.match(await fetchWith(t, policyText('testing', ['a.example'], 86400), ['wrong.other.test']), { kind: 'refused', reason: /^the certificate of mta-sts\.other\.test is not valid for senders \(ERR_TLS_CERT_ALTNAME_INVALID\)$/, error: 'ERR_TLS_CERT_ALTNAME_INVALID' })
  t.match(await fetchWith(t, (_req, res) => { res.setHeader('content-type', 'text/plain'); res.end('x'.repeat(70 * 1024)) }), { kind: 'refused', reason: 'the policy body is larger than 64 KiB: senders stop reading' })
  t.match(await fetchWith(t, () => { /* never answers */ }, undefined, 300), { kind: 'refused', reason: /gave no complete answer within 300 ms$/, error: 'ETIMEDOUT' })
  const dns = await startDnsServer(t, { 'mta-sts.other.test': { A: ['127.0.0.1'] } })
  const port = await startPolicyServer(t, ca, ['mta-sts.other.test'], policyText('testing', ['a.example'], 86400))
  t.match(await fetchDomainPolicy(checkContext(dns.address, { httpsPort: port }), 'other.test'), { kind: 'refused', reason: /is not valid for senders \(UNABLE_TO_VERIFY_LEAF_SIGNATURE|SELF_SIGNED|UNABLE_TO_GET_ISSUER/ }, 'only the public roots: the test CA is not one')
  t.match(await fetchWith(t, await closedPort()), { kind: 'refused', reason: /^cannot fetch the policy from 127\.0\.0\.1:\d+ \(ECONNREFUSED\)$/ })
})

t.test('no policy host, or DNS that fails', async t => {
  const dns = await startDnsServer(t, { 'mta-sts.gone.test': { silent: true } })
  const ctx = checkContext(dns.address, { timeoutMs: 200 })
  t.same(await fetchDomainPolicy(ctx, 'other.test'), { kind: 'absent', url: URL, reason: 'mta-sts.other.test does not resolve (no A/AAAA record): no policy is hosted', error: 'no A/AAAA record' })
  t.match(await fetchDomainPolicy(ctx, 'gone.test'), { kind: 'dns-error', reason: 'DNS lookup of mta-sts.gone.test failed (ETIMEOUT)', error: 'ETIMEOUT' })
})
