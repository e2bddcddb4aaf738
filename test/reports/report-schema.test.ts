import t from 'tap'
import { reportSchema, validateReport } from '../../src/reports/report-schema.js'

const minimal = {
  'organization-name': 'Sender',
  'date-range': { 'start-datetime': '2016-04-01T00:00:00Z', 'end-datetime': '2016-04-01T23:59:59Z' },
  'report-id': 'r1',
  policies: [{ policy: { 'policy-type': 'sts' }, summary: { 'total-successful-session-count': 0 } }],
}

function errorsOf (value: unknown): string[] {
  return validateReport(value) ? [] : (validateReport.errors ?? []).map(e => `${e.instancePath} ${e.keyword}`)
}

t.test('the smallest report senders send passes; extra keys and quirks too', async t => {
  t.strictSame(errorsOf(minimal), [])
  t.strictSame(errorsOf({
    ...minimal,
    'contact-info': null,
    'x-vendor': { anything: [1, 2] },
    policies: [{
      policy: { 'policy-type': 'made-up', 'policy-string': 'one string', 'mx-host': 'mx.example', 'mx-host-pattern': ['*.example'], 'policy-domain': null },
      summary: { 'total-successful-session-count': 0, 'total-failure-session-count': 1, extra: true },
      'failure-details': [{ 'result-type': 'new-kind', 'failed-session-count': 1, 'receiving-ip': null, 'x-extra': 1 }],
    }],
  }), [])
  t.strictSame(errorsOf({ ...minimal, policies: [] }), [], 'empty policies')
})

t.test('wrong data is refused where it would be wrong', async t => {
  t.strictSame(errorsOf([minimal]), [' type'])
  t.strictSame(errorsOf({ ...minimal, policies: {} }), ['/policies type'])
  const count = (value: unknown): string[] => errorsOf({ ...minimal, policies: [{ policy: { 'policy-type': 'sts' }, summary: { 'total-successful-session-count': value } }] })
  t.strictSame(count(-1), ['/policies/0/summary/total-successful-session-count minimum'])
  t.strictSame(count(0.5), ['/policies/0/summary/total-successful-session-count type'])
  t.strictSame(count(2 ** 53), ['/policies/0/summary/total-successful-session-count maximum'])
  t.strictSame(count('3'), ['/policies/0/summary/total-successful-session-count type'])
  t.strictSame(errorsOf({ ...minimal, 'date-range': { 'start-datetime': '2016-02-30T00:00:00Z', 'end-datetime': 'tomorrow' } }),
    ['/date-range/start-datetime format', '/date-range/end-datetime format'])
  t.strictSame(errorsOf({ ...minimal, policies: [{ policy: {}, summary: {}, 'failure-details': [{}] }] }), [
    '/policies/0/policy required',
    '/policies/0/summary required',
    '/policies/0/failure-details/0 required',
    '/policies/0/failure-details/0 required',
  ])
})

t.test('the schema names what it requires', async t => {
  t.strictSame(reportSchema.required, ['organization-name', 'date-range', 'report-id', 'policies'])
})
