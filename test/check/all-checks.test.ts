import t from 'tap'
import { ALL_CHECKS } from '../../src/check/all-checks.js'

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
