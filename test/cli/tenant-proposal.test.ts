import t from 'tap'
import { formatProposal } from '../../src/cli/format-proposal.js'
import { proposeTenant, type TenantProposal } from '../../src/cli/tenant-proposal.js'
import type { DomainSurvey } from '../../src/check/survey-domain.js'
import type { Config } from '../../src/config/types.js'

const URL = 'https://mta-sts.example.com/.well-known/mta-sts.txt'
const survey = (over: Partial<DomainSurvey> = {}): DomainSurvey => ({
  domain: 'example.com',
  stsTxt: { kind: 'none', name: '_mta-sts.example.com', reason: 'no TXT record', records: [] },
  policy: { kind: 'absent', url: URL, reason: 'mta-sts.example.com does not resolve' },
  mx: { ok: true, records: [], names: ['mx.example.com'], hosts: ['mx.example.com'], nullMx: false },
  tlsRptTxt: { kind: 'none', name: '_smtp._tls.example.com', reason: 'no TXT record', records: [] },
  ...over,
})
const config = (over: { rua?: string[]; enabled?: boolean; maxAge?: number } = {}): Pick<Config, 'defaults' | 'reports'> => ({
  defaults: { mode: 'testing', maxAge: over.maxAge ?? 604800, mx: [], ...(over.rua === undefined ? {} : { rua: over.rua }) },
  reports: { enabled: over.enabled ?? true, httpsPath: '/tlsrpt' } as Config['reports'],
})
const served = (mode: 'enforce' | 'testing' | 'none', maxAge: number): DomainSurvey['policy'] =>
  ({ kind: 'served', url: URL, address: '127.0.0.1', policy: { mode, mx: ['mx.example.com'], maxAge }, notes: [], tlsVersion: 'TLSv1.3', certExpires: '' })
const ok = (p: ReturnType<typeof proposeTenant>): TenantProposal => {
  if (!p.ok) throw new Error(p.reason)
  return p
}

t.test('refusals name the domain and the lookup', async t => {
  const error = Object.assign(new Error('x'), { code: 'ESERVFAIL' })
  t.match(proposeTenant(survey({ mx: { ok: false, error } }), config()), { ok: false, reason: 'MX lookup of example.com failed (ESERVFAIL)' })
  t.match(proposeTenant(survey({ mx: { ok: false, error: new Error('no code') } }), config()), { ok: false, reason: 'MX lookup of example.com failed (no code)' })
  t.match(proposeTenant(survey({ mx: { ok: true, records: [], names: [''], hosts: [], nullMx: true } }), config()), { ok: false, reason: /null MX/ })
  t.match(proposeTenant(survey({ mx: { ok: true, records: [], names: [], hosts: [], nullMx: false } }), config()), { ok: false, reason: 'example.com has no MX records: publish them first' })
  t.match(proposeTenant(survey({ stsTxt: { kind: 'dns-error', name: '_mta-sts.example.com', reason: 'DNS lookup of _mta-sts.example.com failed (ETIMEOUT)', records: [] } }), config()),
    { ok: false, reason: 'DNS lookup of _mta-sts.example.com failed (ETIMEOUT): cannot tell whether senders hold a policy of example.com' })
  t.match(proposeTenant(survey({ policy: { kind: 'dns-error', url: URL, reason: 'DNS lookup of mta-sts.example.com failed (ETIMEOUT)' } }), config()),
    { ok: false, reason: /: cannot tell whether example\.com serves a policy today$/ })
})

t.test('a policy elsewhere: mode none becomes testing; a shorter max_age than the default is not kept', async t => {
  const none = ok(proposeTenant(survey({ policy: served('none', 86400) }), config()))
  t.match(none, { entry: { mode: 'testing', maxAge: 604800, mx: ['mx.example.com'] }, keptPolicy: true, modeComment: /has mode none/, maxAgeComment: 'defaults.max_age' })
  t.match(none.notes[0], /so its mx patterns are kept$/)
})

t.test('rua: left to the defaults, written when defaults.rua names others, none while reports are off', async t => {
  const other = ok(proposeTenant(survey(), config({ rua: ['mailto:x@elsewhere.example'] })))
  t.same(other.rua, ['https://mta-sts.example.com/tlsrpt'])
  t.same(other.entry.rua, ['https://mta-sts.example.com/tlsrpt'])
  const off = ok(proposeTenant(survey(), config({ enabled: false })))
  t.equal(off.rua, undefined)
  t.equal(off.ruaComment, 'no rua: reports.enabled is false, so this service takes no TLS reports')
  const offWithDefaults = ok(proposeTenant(survey(), config({ enabled: false, rua: ['mailto:x@elsewhere.example'] })))
  t.match(offWithDefaults, { ruaComment: /^rua left to defaults\.rua \(mailto:x@elsewhere\.example\)/, entry: { rua: ['mailto:x@elsewhere.example'] } })

  const written = formatProposal(other, { input: 'example.com', target: ['192.0.2.1', '2001:db8::1'], configFile: '/etc/c.yaml' })
  t.match(written, '    rua: ["https://mta-sts.example.com/tlsrpt"]  # this service\'s report address (defaults.rua names others)\n')
  t.match(written, '  # 1. mta-sts.example.com.  A  192.0.2.1\n  #    mta-sts.example.com.  AAAA  2001:db8::1\n')
  const bare = formatProposal(off, { input: 'example.com', target: [], configFile: '/etc/c.yaml' })
  t.match(bare, '  # 1. mta-sts.example.com.  CNAME  <address of this service: set dns.target>\n  #    First: points the policy host at this service (set dns.target to print the address);')
  t.match(bare, '  # 2. _mta-sts.example.com.  TXT  "v=STSv1; id=', 'no _smtp._tls record without report addresses')
  t.notMatch(bare, '_smtp._tls')
})
