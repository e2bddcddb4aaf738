import t from 'tap'
import { defaultRua, ownRua } from '../../src/config/own-rua.js'

const reports = { enabled: true, httpsPath: '/tlsrpt' }

t.test('ownRua: this service\'s HTTPS path, and the mailbox when named; none while reports are off', async t => {
  t.same(ownRua(reports, 'example.com'), ['https://mta-sts.example.com/tlsrpt'])
  t.same(ownRua({ ...reports, mailto: 'r@op.example' }, 'example.com'), ['https://mta-sts.example.com/tlsrpt', 'mailto:r@op.example'])
  t.same(ownRua({ ...reports, enabled: false }, 'example.com'), [])
})

t.test('defaultRua: defaults.rua when set, else ownRua', async t => {
  const defaults = { mode: 'testing' as const, maxAge: 604800, mx: [] }
  t.same(defaultRua({ defaults, reports: { ...reports } as never }, 'example.com'), ['https://mta-sts.example.com/tlsrpt'])
  t.same(defaultRua({ defaults: { ...defaults, rua: ['mailto:x@y.example'] }, reports: { ...reports } as never }, 'example.com'), ['mailto:x@y.example'])
})

t.test('Config.defaults: what a tenant entry gets for the keys it leaves out', async t => {
  const { parseConfig } = await import('../../src/config/load-config.js')
  const set = parseConfig('defaults:\n  mode: enforce\n  max_age: 1209600\n  mx: [MX.example.com]\n  rua: ["mailto:r@example.com"]\ntenants:\n  example.com:\n', '/etc/x.yaml')
  t.match(set, { ok: true, config: { defaults: { mode: 'enforce', maxAge: 1209600, mx: ['mx.example.com'], rua: ['mailto:r@example.com'] } } })
  const unset = parseConfig('tenants:\n  example.com: { mx: [mx.example.com] }\n', '/etc/x.yaml')
  t.same(unset.ok && unset.config.defaults, { mode: 'testing', maxAge: 604800, mx: [] }, 'built-in defaults; no rua key')
})
