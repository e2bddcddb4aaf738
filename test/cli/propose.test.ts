import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import t from 'tap'
import { proposeCommand } from '../../src/cli/propose.js'
import { systemClock } from '../../src/clock.js'
import { loadConfig } from '../../src/config/load-config.js'
import { buildSnapshot } from '../../src/tenants/tenant-snapshot.js'
import { MemoryStore } from '../../src/store/memory-store.js'
import { InternalCa } from '../../src/tls/internal-ca.js'
import { startDnsServer } from '../helpers/dns-server.js'
import { policyText, startPolicyServer } from '../helpers/policy-server.js'
import { tempDir } from '../helpers/service-harness.js'
import { captureIo } from '../helpers/fixtures.js'


const ca = await InternalCa.open({ store: new MemoryStore(), clock: systemClock, leafLifetime: 30 * 86400 })
const UNICODE = 'bücher.test'
const ALABEL = 'xn--bcher-kva.test'
const POLICIES: Record<string, string> = {
  'mta-sts.kept.test': policyText('enforce', ['mx1.kept.test'], 1209600),
  [`mta-sts.${ALABEL}`]: policyText('testing', ['*.mail.bucher.example'], 86400),
}

t.test('propose: entries that load into exactly the proposed policies, DNS records in order', async t => {
  const port = await startPolicyServer(t, ca, Object.keys(POLICIES), (req, res) => {
    const policy = POLICIES[String(req.headers.host)]
    res.setHeader('content-type', 'text/plain')
    res.statusCode = policy === undefined ? 404 : 200
    res.end(policy ?? '')
  })
  const dns = await startDnsServer(t, {
    // No MTA-STS; three MX hosts under a narrow parent and one of its own.
    'fresh.test': { MX: [{ exchange: 'a.mx.fresh-mail.net', priority: 10 }, { exchange: 'b.mx.fresh-mail.net', priority: 10 }, { exchange: 'c.mx.fresh-mail.net', priority: 20 }, { exchange: 'backup.fresh.test', priority: 30 }] },
    // Three MX hosts directly under the domain: no wildcard.
    'shallow.test': { MX: [1, 2, 3].map(i => ({ exchange: `mx${i}.shallow.test`, priority: i })) },
    // An enforce policy elsewhere, which misses one MX host.
    'kept.test': { MX: [{ exchange: 'mx1.kept.test', priority: 10 }, { exchange: 'mx2.kept.test', priority: 20 }] },
    '_mta-sts.kept.test': { TXT: [['v=STSv1; id=old1']] },
    'mta-sts.kept.test': { A: ['127.0.0.1'] },
    // A Unicode domain with a testing policy elsewhere.
    [ALABEL]: { MX: [{ exchange: 'a.mail.bucher.example', priority: 10 }] },
    [`_mta-sts.${ALABEL}`]: { TXT: [['v=STSv1; id=1']] },
    [`mta-sts.${ALABEL}`]: { A: ['127.0.0.1'] },
    // _mta-sts published, but nothing serves the policy.
    'stale.test': { MX: [{ exchange: 'mx.stale.test', priority: 10 }] },
    '_mta-sts.stale.test': { TXT: [['v=STSv1; id=1']] },
    'slow.test': { silent: true },
    'nomail.test': { A: ['192.0.2.1'] },
  })
  const dir = await tempDir(t)
  const caFile = join(dir, 'ca.pem')
  await writeFile(caFile, ca.caPem)
  const config = join(dir, 'config.yaml')
  await writeFile(config, [
    'certificates:',
    '  issuer: internal',
    `  storage: ${JSON.stringify(join(dir, 'store'))}`,
    'check:',
    `  resolvers: ["${dns.address}"]`,
    `  https_port: ${port}`,
    `  ca_file: ${JSON.stringify(caFile)}`,
    '  timeout_ms: 1000',
    '  monitor: { interval: 0 }',
    'reports: { mailto: tlsrpt@operator.example }',
    'dns: { target: [policy.operator.example] }',
    'tenants:',
    '  tenant.test:',
    '    mx: [mx.tenant.test]',
    '',
  ].join('\n'))

  const run = captureIo()
  t.equal(await proposeCommand({ config, domains: ['fresh.test', 'shallow.test', 'Kept.Test.', UNICODE] }, run), 0, 'all proposed')
  t.equal(run.err(), '')
  const out = run.out()
  t.match(out, '  # fresh.test: proposed tenant entry, to paste under tenants:\n  fresh.test:\n    mode: testing  # start here')
  t.match(out, /- "\*\.mx\.fresh-mail\.net" {2}# 3 MX hosts \(a\.mx\.fresh-mail\.net, b\.mx\.fresh-mail\.net, c\.mx\.fresh-mail\.net\) share mx\.fresh-mail\.net/)
  t.match(out, /- "mx1\.shallow\.test" {2}# no wildcard for the 3 hosts under shallow\.test/)
  t.match(out, '    mode: enforce  # kept from the policy served today (senders may cache it for up to 14 day(s))')
  t.match(out, '      - "mx2.kept.test"  # an MX host the policy served today does not cover')
  t.match(out, '    max_age: 1209600  # that of the policy served today')
  t.match(out, `  # ${UNICODE} (${ALABEL}): proposed tenant entry`)
  t.match(out, '    # rua left out: by default senders report to this service (https://mta-sts.fresh.test/tlsrpt, mailto:tlsrpt@operator.example)')
  t.match(out, 'Senders that cached the policy from elsewhere keep it until they see this new id')
  // The records of each domain in order: the policy host, _smtp._tls, _mta-sts last.
  const order = [...out.matchAll(/^ {2}# (?:\d\.| {2}) (\S+)\. {2}(\S+)/gm)].filter(m => (m[1] as string).endsWith('fresh.test')).map(m => `${m[2]} ${m[1]}`)
  t.same(order, ['CNAME mta-sts.fresh.test', 'TXT _smtp._tls.fresh.test', 'TXT _mta-sts.fresh.test'])
  t.match(out, '  # 1. mta-sts.fresh.test.  CNAME  policy.operator.example.')
  t.match(out, '  # 2. _smtp._tls.fresh.test.  TXT  "v=TLSRPTv1; rua=https://mta-sts.fresh.test/tlsrpt,mailto:tlsrpt@operator.example"')
  t.match(out, `Then wait until \`mta-sts-host check --config ${config} fresh.test\` passes the policy file.`)

  // The paste round trip: the entries load into exactly the proposed policies, with the printed ids.
  const pasted = join(dir, 'pasted.yaml')
  await writeFile(pasted, (await readFile(config, 'utf8')) + out)
  const loaded = await loadConfig(pasted)
  if (!loaded.ok) throw new Error(JSON.stringify(loaded.errors))
  const byDomain = new Map(buildSnapshot(loaded.config).tenants.map(x => [x.domain, x]))
  const expected = {
    'fresh.test': { mode: 'testing', mx: ['*.mx.fresh-mail.net', 'backup.fresh.test'], maxAge: 604800 },
    'shallow.test': { mode: 'testing', mx: ['mx1.shallow.test', 'mx2.shallow.test', 'mx3.shallow.test'], maxAge: 604800 },
    'kept.test': { mode: 'enforce', mx: ['mx1.kept.test', 'mx2.kept.test'], maxAge: 1209600 },
    [ALABEL]: { mode: 'testing', mx: ['*.mail.bucher.example'], maxAge: 604800 },
  }
  for (const [domain, policy] of Object.entries(expected)) {
    const tenant = byDomain.get(domain)
    t.match(tenant, { ...policy, rua: [`https://mta-sts.${domain}/tlsrpt`, 'mailto:tlsrpt@operator.example'] }, `${domain} loads as proposed`)
    t.match(out, `  # 3. _mta-sts.${domain}.  TXT  "v=STSv1; id=${tenant?.id}"`, `${domain}: the printed id is the served one`)
  }
  t.same(loaded.config.warnings, [], 'the pasted entries load without warnings')

  const again = captureIo()
  t.equal(await proposeCommand({ config: pasted, domains: ['kept.test', 'fresh.test'] }, again), 1, 'already tenants: exit 1')
  t.match(again.err(), `note: kept.test is already a tenant in ${pasted} (mode enforce, id ${byDomain.get('kept.test')?.id}): nothing to propose`)
  t.equal(again.out(), '')

  const mixed = captureIo()
  t.equal(await proposeCommand({ config, domains: ['stale.test', 'tenant.test'] }, mixed), 1, 'a warning and a tenant: exit 1')
  t.match(mixed.err(), /^warn: stale\.test: _mta-sts\.stale\.test is published, but no valid policy could be fetched \(mta-sts\.stale\.test does not resolve/m)
  t.match(mixed.err(), /^note: tenant\.test is already a tenant/m)
  t.match(mixed.out(), '  # _mta-sts.stale.test is published, but no valid policy could be fetched')
  t.match(mixed.out(), '      - "mx.stale.test"\n')

  const failing = captureIo()
  t.equal(await proposeCommand({ config, domains: ['slow.test', 'nomail.test', 'not a domain', 'fresh.test'], resolvers: [dns.address] }, failing), 2, 'DNS failures and bad input: exit 2')
  t.match(failing.err(), 'error: slow.test: MX lookup of slow.test failed (ETIMEOUT); no entry proposed')
  t.match(failing.err(), 'error: nomail.test: nomail.test has no MX records (ENODATA): publish them first')
  t.match(failing.err(), 'error: "not a domain" has invalid characters')
  t.match(failing.out(), '  fresh.test:\n', 'the other domains are still proposed')
  t.notMatch(failing.out(), 'slow.test:')

  const invalid = captureIo()
  await writeFile(join(dir, 'bad.yaml'), 'tenants: {}\n')
  t.equal(await proposeCommand({ config: join(dir, 'bad.yaml'), domains: ['fresh.test'] }, invalid), 2)
  t.match(invalid.err(), /bad\.yaml:1:10: tenants must not be empty/)
})
