import t from 'tap'
import { buildSnapshot } from '../../src/tenants/tenant-snapshot.js'
import { overviewRows, txtState } from '../../src/ui/overview-rows.js'
import { configFrom } from '../helpers/config-fixtures.js'
import { domainReport } from '../helpers/dashboard-fakes.js'

const snapshot = buildSnapshot(configFrom('tenants:\n  a.example: { mx: [mx.a.example] }\n  b.example: { mx: [mx.b.example] }\n  c.example: { mx: [mx.c.example] }\n'))
const now = new Date('2024-06-10T12:00:00Z')

t.test('the published id from the sts-txt result', async t => {
  t.same(txtState(undefined), { txt: 'unknown' })
  t.same(txtState(domainReport('a.example', [{ id: 'policy', status: 'pass' }])), { txt: 'unknown' }, 'no sts-txt result')
  t.same(txtState(domainReport('a.example', [{ id: 'sts-txt', status: 'pass' }])), { txt: 'match' })
  t.same(txtState(domainReport('a.example', [{ id: 'sts-txt', status: 'pass', details: { published: 'x' } }])), { txt: 'match', publishedId: 'x' })
  t.same(txtState(domainReport('a.example', [{ id: 'sts-txt', status: 'fail', details: { published: 'y' } }])), { txt: 'mismatch', publishedId: 'y' })
  t.same(txtState(domainReport('a.example', [{ id: 'sts-txt', status: 'fail', details: { error: 'ENOTFOUND' } }])), { txt: 'problem' })
})

t.test('attention: why, in words', async t => {
  const rows = overviewRows({
    tenants: snapshot.tenants,
    certificates: [
      { host: 'mta-sts.a.example', state: 'valid', notAfter: new Date('2024-06-01T00:00:00Z'), failures: 0 },
      { host: 'mta-sts.b.example', state: 'pending', failures: 0 },
      { host: 'mta-sts.c.example', state: 'valid', failures: 0 },
    ],
    checks: [domainReport('a.example', [{ id: 'sts-txt', status: 'fail' }]), domainReport('c.example', [{ id: 'tls-reports', status: 'warn' }])],
    totals: [{ domain: 'a.example', successful: 0, failed: 0, organizations: 1 }, { domain: 'c.example', successful: 99, failed: 1, organizations: 2 }],
    now,
  })
  t.same(rows.map(r => r.attention), [
    ['set-up check fails', '_mta-sts TXT record missing or invalid', 'certificate expired'],
    ['certificate pending'],
    ['1 failed sessions reported'],
  ])
  t.same(rows[0]?.reports, { successful: 0, failed: 0, organizations: 1 }, 'no sessions: no rate')
  t.equal(rows[0]?.certificateDaysLeft, -10)
  t.equal(rows[2]?.reports?.successRate, 0.99)
  t.equal(rows[2]?.certificateDaysLeft, undefined, 'no expiry known')
  t.same(rows[2]?.check, { status: 'warn', readyForEnforce: false, checkedAt: '2024-06-10T11:00:00Z' })
  t.equal(rows[1]?.lastFetch, undefined)
})
