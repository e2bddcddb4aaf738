import t from 'tap'
import { ALL_CHECKS, allChecks } from '../../src/check/all-checks.js'
import { parseConfig } from '../../src/config/load-config.js'

t.test('every check in report order; only MX TLS warnings gate enforce besides failures', async t => {
  t.same(ALL_CHECKS.map(c => [c.id, c.title, c.gatesEnforce]), [
    ['sts-txt', 'MTA-STS TXT record', 'fail'],
    ['policy', 'Policy file', 'fail'],
    ['mx-coverage', 'MX coverage', 'fail'],
    ['mx-tls', 'MX TLS', 'warn'],
    ['tlsrpt-txt', 'TLS-RPT TXT record', 'fail'],
  ])
  t.ok(Object.isFrozen(ALL_CHECKS) && ALL_CHECKS.every(c => Object.isFrozen(c)))
})

t.test('allChecks adds the TLS reports check when reports are on and readable, gated by verdict.required', async t => {
  const config = (reports: string) => {
    const result = parseConfig(`${reports}\ntenants:\n  example.com:\n    mx: [mx1.example.com]\n`, '/etc/mta-sts/config.yaml')
    if (!result.ok) throw new Error(`bad fixture: ${JSON.stringify(result.errors)}`)
    return result.config.reports
  }
  const on = allChecks(config(''))
  t.same(on.map(c => c.id), [...ALL_CHECKS.map(c => c.id), 'tls-reports'])
  t.equal(on.at(-1)?.gatesEnforce, 'warn', 'required by default: a warning blocks enforce')
  t.ok(Object.isFrozen(on) && on.every(c => Object.isFrozen(c)))
  t.equal(allChecks(config('reports: { verdict: { required: false } }')).at(-1)?.gatesEnforce, 'fail')
  t.equal(allChecks(config('reports: { enabled: false }')), ALL_CHECKS, 'reports off')
  t.equal(allChecks(config(''), false), ALL_CHECKS, 'no report data to read')
})
