import t from 'tap'
import { isChallengeHost } from '../../src/acme/challenge-host.js'

t.test('tenant hosts, and any well-formed mta-sts name, are looked up; nothing else', async t => {
  const tenants = new Set(['mta-sts.example.com', 'odd.example.org'])
  const is = (host: string): boolean => isChallengeHost(host, h => tenants.has(h))
  t.ok(is('mta-sts.example.com'), 'a tenant host')
  t.ok(is('odd.example.org'), 'whatever the tenant table says')
  t.ok(is('mta-sts.new-tenant.example'), 'an mta-sts host not configured here yet')
  t.ok(is('mta-sts.xn--bcher-kva.example'), 'an A-label name')
  for (const host of ['example.com', 'www.example.com', 'mta-sts.com', 'mta-sts.', 'mta-sts..example', 'mta-sts.-x-.example',
    'mta-sts.example.123', 'mta-sts.ex ample.com', 'mta-sts.bücher.example', '', `mta-sts.${'a'.repeat(64)}.example`]) {
    t.notOk(is(host), JSON.stringify(host))
  }
})
