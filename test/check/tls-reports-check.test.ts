import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { checkDomain } from '../../src/check/check-domain.js'
import { tlsReportsCheck, weighReports } from '../../src/check/tls-reports-check.js'
import type { CheckContext } from '../../src/check/types.js'
import { memoryReportStore, submitReports } from '../helpers/report-store.js'
import { checkContext, tenantEntry } from './tenant-fixture.js'

const VERDICT = { days: 7, minOrganizations: 2, required: true }
const NOW = new Date('2024-06-10T12:00:00Z')
const tenant = tenantEntry({ mode: 'testing', mx: ['mx1.example.com', '*.mx.example.com'] })
const CORPUS = join(import.meta.dirname, '..', 'fixtures', 'tlsrpt-corpus', 'real')

/** A context whose only live part is the report store (no DNS is asked). */
function context (over: Partial<CheckContext>): CheckContext {
  return checkContext('127.0.0.1:9', { tenant, now: () => NOW, ...over })
}

t.test('passes with enough organizations under the served policy, mx in any order and case; old reports are outside the window', async t => {
  const { store } = await memoryReportStore(t)
  await submitReports(store, [
    { organization: 'google.com', day: '2024-06-08', policies: [{ mode: 'testing', mx: ['*.MX.example.com', 'mx1.example.com.'], successful: 100 }] },
    { organization: 'microsoft.com', day: '2024-06-09', policies: [{ mode: 'Testing', mx: ['mx1.example.com', '*.mx.example.com'], successful: 20 }] },
    { organization: 'mail.ru', day: '2024-06-01', policies: [{ mode: 'testing', mx: ['mx1.example.com', '*.mx.example.com'], failures: [{ type: 'certificate-expired', mx: 'mx1.example.com', sessions: 4 }] }] },
  ])
  const [r] = await tlsReportsCheck(VERDICT).run(context({ reports: store }))
  t.match(r, { id: 'tls-reports', name: 'TLS reports', status: 'pass', reason: '2 organizations reported 120 sessions under the served policy in the last 7 days, none failed' })
  t.notOk(r?.hint)
  t.match(r?.details, { days: 7, minOrganizations: 2, until: '2024-06-10', served: { organizations: ['google.com', 'microsoft.com'], successfulSessions: 120, failedSessions: 0 }, others: [] })
})

t.test('warns with too few organizations, naming the other evidence seen', async t => {
  const { store } = await memoryReportStore(t)
  await submitReports(store, [
    { organization: 'google.com', day: '2024-06-09', policies: [{ mode: 'testing', mx: ['mx1.example.com', '*.mx.example.com'], successful: 40 }] },
    { organization: 'yahoo.com', day: '2024-06-09', policies: [{ type: 'no-policy-found', successful: 5 }] },
    { organization: 'mail.ru', day: '2024-06-09', policies: [{ failures: [{ type: 'sts-policy-fetch-error', sessions: 2 }] }] },
    { organization: 'other.example', day: '2024-06-09', policies: [{ domain: 'example.net', mode: 'testing', mx: ['mx1.example.com', '*.mx.example.com'], successful: 900 }] },
  ])
  const [r] = await tlsReportsCheck(VERDICT).run(context({ reports: store }))
  t.equal(r?.status, 'warn')
  t.match(r?.reason, /^only 1 organization \(google\.com\) reported 40 sessions under the served policy in the last 7 days, at least 2 needed; also seen: /)
  t.match(r?.reason, 'no-policy-found from 1 organization, 5 sessions')
  t.match(r?.reason, 'sts (not fetched) from 1 organization, 2 sessions')
  t.match(r?.reason, '2 sessions failing sts-policy-fetch-error')
  t.notMatch(r?.reason, /900|other\.example/, 'reports on another domain do not count')
  t.match(r?.hint, /more senders.*_smtp\._tls\.example\.com/)
  t.match(r?.details, { served: { organizations: ['google.com'], successfulSessions: 40 }, policyFetchErrors: 2 })
})

t.test('warns when reports only show an older policy, whatever their number', async t => {
  const { store } = await memoryReportStore(t)
  const older = { mode: 'testing', mx: ['mx1.example.com', '*.mx.example.com'], successful: 50 }
  await submitReports(store, ['google.com', 'microsoft.com', 'yahoo.com'].map(organization => ({ organization, day: '2024-06-09', policies: [older] })))
  const enforcing = tenantEntry({ mode: 'enforce', mx: ['mx1.example.com', '*.mx.example.com'] })
  const [r] = await tlsReportsCheck(VERDICT).run(context({ tenant: enforcing, reports: store }))
  t.equal(r?.status, 'warn')
  t.equal(r?.reason, 'no reports under the served policy sts (mode enforce; mx mx1.example.com, *.mx.example.com) in the last 7 days, at least 2 needed; also seen: sts (mode testing; mx mx1.example.com, *.mx.example.com) from 3 organizations, 150 sessions')
  t.match(r?.hint, /max_age/)
  t.match(r?.details, { served: { organizations: [], successfulSessions: 0 }, others: [{ type: 'sts', mode: 'testing', organizations: ['google.com', 'microsoft.com', 'yahoo.com'], successfulSessions: 150 }] })

  const mx = tenantEntry({ mode: 'testing', mx: ['mx1.example.com'] })
  const [other] = await tlsReportsCheck(VERDICT).run(context({ tenant: mx, reports: store }))
  t.match(other, { status: 'warn', reason: /^no reports under the served policy sts \(mode testing; mx mx1\.example\.com\)/ }, 'a different mx set is another policy')
})

t.test('fails when sessions failed under the served policy, naming the top failure types and MX hosts', async t => {
  const { store } = await memoryReportStore(t)
  // A real report (validation failures on the MX "example.com", 2024-01-09, mode testing), plus a second sender.
  await submitReports(store, [
    readFileSync(join(CORPUS, 'google-style-validation-failure.json')),
    { organization: 'microsoft.com', day: '2024-01-08', policies: [{ mode: 'testing', mx: ['example.com'], successful: 10, failures: [{ type: 'certificate-expired', mx: 'mx2.example.com', ip: '192.0.2.7', sessions: 1 }] }] },
  ])
  const served = tenantEntry({ mode: 'testing', mx: ['example.com'] })
  const check = tlsReportsCheck(VERDICT)
  const ctx = context({ tenant: served, reports: store, now: () => new Date('2024-01-10T08:00:00Z') })
  const [r] = await check.run(ctx)
  t.equal(r?.status, 'fail')
  t.equal(r?.reason, '4 of 14 sessions failed under the served policy in the last 7 days (under enforce, senders would not deliver those messages): validation-failure 3, certificate-expired 1; MX example.com 3, mx2.example.com 1')
  t.match(r?.hint, /reports summary example\.com/)
  t.match(r?.details, { served: { organizations: ['Example Inc.', 'microsoft.com'], failedSessions: 4, failureTypes: [{ value: 'validation-failure', sessions: 3 }, { value: 'certificate-expired', sessions: 1 }] } })

  const enforcing = tenantEntry({ mode: 'enforce', mx: ['example.com'] })
  await submitReports(store, [{ organization: 'yahoo.com', day: '2024-01-09', policies: [{ mode: 'enforce', mx: ['example.com'], failures: [{ type: 'starttls-not-supported', mx: 'example.com', sessions: 2 }] }] }])
  const [e] = await check.run({ ...ctx, tenant: enforcing })
  t.equal(e?.reason, '2 of 2 sessions failed under the served policy in the last 7 days (senders did not deliver those messages): starttls-not-supported 2; MX example.com 2', 'a tenant already enforcing is still checked')
  const report = await checkDomain({ ...ctx, tenant: enforcing }, [tlsReportsCheck({ ...VERDICT, required: false })])
  t.equal(report.readyForEnforce, false, 'a failure blocks enforce even when reports are not required')
})

t.test('mode none passes without reading reports', async t => {
  const reports = { summarize: async () => { throw new Error('must not be read') } }
  const [r] = await tlsReportsCheck(VERDICT).run(context({ tenant: tenantEntry({ mode: 'none' }), reports }))
  t.match(r, { status: 'pass', reason: /^mode none: .*not weighed/ })
})

t.test('without report data it warns', async t => {
  const [r] = await tlsReportsCheck(VERDICT).run(context({}))
  t.match(r, { status: 'warn', reason: /no report database/, hint: /reports\.enabled/ })
})

t.test('required decides whether a warning blocks enforce', async t => {
  const { store } = await memoryReportStore(t)
  await submitReports(store, [{ organization: 'google.com', day: '2024-06-09', policies: [{ mode: 'testing', mx: ['mx1.example.com', '*.mx.example.com'], successful: 3 }] }])
  t.equal(tlsReportsCheck(VERDICT).gatesEnforce, 'warn')
  t.equal(tlsReportsCheck({ ...VERDICT, required: false }).gatesEnforce, 'fail')
  const required = await checkDomain(context({ reports: store }), [tlsReportsCheck(VERDICT)])
  t.match(required, { status: 'warn', readyForEnforce: false, reasons: [/^TLS reports: only 1 organization/] })
  const optional = await checkDomain(context({ reports: store }), [tlsReportsCheck({ ...VERDICT, required: false })])
  t.match(optional, { status: 'warn', readyForEnforce: true, reasons: [] })
  const one = await checkDomain(context({ reports: store }), [tlsReportsCheck({ ...VERDICT, minOrganizations: 1 })])
  t.equal(one.status, 'pass', 'minOrganizations is honoured')
  const window = await checkDomain(context({ reports: store, now: () => new Date('2024-06-20T00:00:00Z') }), [tlsReportsCheck({ ...VERDICT, minOrganizations: 1, days: 3 })])
  t.match(window.results[0]?.reason, /^no reports under the served policy .* in the last 3 days/, 'days is honoured')
})

t.test('weighReports groups other policies by type, mode and mx set, most sessions first', async t => {
  const policy = (type: string, mode: string | null, mx: string[], successfulSessions: number) =>
    ({ type, mode, mx, organizations: ['a.example'], successfulSessions, failedSessions: 0, failureTypes: [], failingMxHosts: [] })
  const day = (d: string, policies: ReturnType<typeof policy>[]) => ({ domain: 'example.com', day: d, reports: 1, organizations: ['a.example'], successfulSessions: 0, failedSessions: 0, failureTypes: [], failingMxHosts: [], failingSendingIps: [], policies })
  const evidence = weighReports([
    day('2024-06-01', [policy('sts', 'enforce', ['b', 'a'], 1), policy('tlsa', null, [], 5)]),
    day('2024-06-02', [policy('sts', 'enforce', ['A', 'b'], 2), policy('sts', 'testing', ['a'], 4)]),
  ], { mode: 'testing', mx: ['a'] })
  t.same(evidence.served.successfulSessions, 4)
  t.same(evidence.others.map(o => [o.type, o.mode, o.successfulSessions]), [['tlsa', null, 5], ['sts', 'enforce', 3]])
})
