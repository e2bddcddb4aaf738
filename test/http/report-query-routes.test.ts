import { PassThrough } from 'node:stream'
import t, { type Test } from 'tap'
import { parseConfig } from '../../src/config/load-config.js'
import type { ReportSummary } from '../../src/db/summarize-domains.js'
import { buildApp, type AppDeps } from '../../src/http/build-app.js'
import { createLogger } from '../../src/log.js'
import { createMetrics } from '../../src/metrics.js'
import { buildSnapshot } from '../../src/tenants/tenant-snapshot.js'
import { memoryReportStore, submitReports } from '../helpers/report-store.js'

const YAML = `
reports:
  verdict: { days: 3 }
tenants:
  example.com:
    mode: testing
    mx: [mx1.example.com]
`
const TOKEN = 'ops-token-0123456789'
const auth = { authorization: `Bearer ${TOKEN}` }

async function opsApp (t: Test, withReports = true) {
  const result = parseConfig(YAML, '/etc/mta-sts/config.yaml')
  if (!result.ok) throw new Error('bad fixture')
  const snapshot = buildSnapshot(result.config)
  const { store } = await memoryReportStore(t)
  const deps: AppDeps = {
    logger: createLogger('silent', new PassThrough()),
    metrics: createMetrics(() => undefined),
    tenants: () => snapshot,
    readiness: () => ({ ready: true, reasons: [], details: {} }),
    certificates: () => [],
    ...(withReports ? { reports: { settings: result.config.reports, sink: store, store } } : {}),
  }
  const app = await buildApp({ role: 'ops', opsToken: TOKEN }, deps)
  t.teardown(() => app.close())
  return { app, store }
}

t.test('GET /reports/summary: per domain and day, tenants marked, behind the ops token', async t => {
  const { app, store } = await opsApp(t)
  await submitReports(store, [
    { organization: 'google.com', day: '2024-06-09', policies: [{ mode: 'testing', mx: ['mx1.example.com'], successful: 7, failures: [{ type: 'certificate-expired', mx: 'mx1.example.com', ip: '192.0.2.1', sessions: 2 }] }] },
    { organization: 'google.com', day: '2024-06-09', policies: [{ domain: 'other.example', mode: 'enforce', mx: ['mx.other.example'], successful: 1 }] },
    { organization: 'google.com', day: '2024-06-01', policies: [{ mode: 'testing', mx: ['mx1.example.com'], successful: 1000 }] },
  ])
  t.equal((await app.inject('/reports/summary?until=2024-06-10')).statusCode, 401, 'the token is required')
  const all = await app.inject({ url: '/reports/summary?until=2024-06-10', headers: auth })
  t.equal(all.statusCode, 200)
  t.equal(all.headers['cache-control'], 'no-store')
  const body = all.json() as ReportSummary
  t.same(body.period, { days: 3, from: '2024-06-08', until: '2024-06-10' }, 'days defaults to reports.verdict.days')
  t.same(body.domains.map(d => [d.domain, d.tenant, d.daily.length]), [['example.com', true, 1], ['other.example', false, 1]])
  t.match(body.domains[0]?.daily[0], {
    day: '2024-06-09', organizations: ['google.com'], successfulSessions: 7, failedSessions: 2,
    failureTypes: [{ value: 'certificate-expired', sessions: 2 }], failingMxHosts: [{ value: 'mx1.example.com', sessions: 2 }], failingSendingIps: [{ value: '192.0.2.1', sessions: 2 }],
    policies: [{ type: 'sts', mode: 'testing', mx: ['mx1.example.com'], organizations: ['google.com'] }],
  })

  const one = (await app.inject({ url: '/reports/summary?domain=Example.COM&until=2024-06-10&days=10', headers: auth })).json() as ReportSummary
  t.same(one.domains.map(d => [d.domain, d.daily.map(x => x.successfulSessions)]), [['example.com', [1000, 7]]], 'one domain (a single value reads as a list), ten days')
  const named = (await app.inject({ url: '/reports/summary?domain=unknown.example&domain=example.com&until=2024-06-10', headers: auth })).json() as ReportSummary
  t.same(named.domains.map(d => [d.domain, d.tenant, d.daily.length]), [['unknown.example', false, 0], ['example.com', true, 1]], 'named domains in the order asked, even without reports')
})

t.test('GET /reports/problems: invalid and set-aside raw reports, newest first, limited', async t => {
  const { app, store } = await opsApp(t)
  await store.submit({ bytes: Buffer.from('{"organization-name": 1}'), transport: 'import', source: 'first' })
  await store.setAside({ bytes: Buffer.from('cron mail'), transport: 'imap', source: 'second' }, 'no report attached')
  await submitReports(store, [{ organization: 'google.com', day: '2024-06-09', policies: [{ mode: 'testing', mx: ['mx1.example.com'], successful: 1 }] }])
  const res = await app.inject({ url: '/reports/problems', headers: auth })
  t.equal(res.statusCode, 200)
  const { problems } = res.json() as { problems: { source: string, status: string, error: string }[] }
  t.same(problems.map(p => [p.source, p.status]), [['second', 'set-aside'], ['first', 'invalid']])
  t.equal(problems[0]?.error, 'no report attached')
  t.ok(problems[1]?.error.length, 'the parse error is given')
  const limited = (await app.inject({ url: '/reports/problems?limit=1', headers: auth })).json() as { problems: unknown[] }
  t.equal(limited.problems.length, 1)
})

t.test('bad parameters answer 400 naming the problem', async t => {
  const { app } = await opsApp(t)
  const cases: [string, RegExp][] = [
    ['/reports/summary?days=0', /^invalid query: days must be >= 1$/],
    ['/reports/summary?days=367', /^invalid query: days must be <= 366$/],
    ['/reports/summary?days=week', /^invalid query: days must be integer$/],
    ['/reports/summary?until=yesterday', /^invalid query: until must match pattern/],
    ['/reports/summary?until=2024-13-45', /^invalid query: until "2024-13-45" is not a date$/],
    ['/reports/summary?domain=not_a..domain', /^invalid query: domain "not_a\.\.domain" is not a domain name/],
    ['/reports/problems?limit=0', /^invalid query: limit must be >= 1$/],
    ['/reports/problems?limit=1001', /^invalid query: limit must be <= 1000$/],
  ]
  for (const [url, message] of cases) {
    const res = await app.inject({ url, headers: auth })
    t.equal(res.statusCode, 400, url)
    t.match((res.json() as { error: string }).error, message, url)
  }
})

t.test('with reports off: 404 saying so', async t => {
  const { app } = await opsApp(t, false)
  for (const url of ['/reports/summary', '/reports/problems']) {
    const res = await app.inject({ url, headers: auth })
    t.equal(res.statusCode, 404)
    t.same(res.json(), { error: 'TLS reports are off (reports.enabled: false)' })
  }
})

t.test('an unreadable database: 503 naming the error', async t => {
  const { app, store } = await opsApp(t)
  await store.close()
  const res = await app.inject({ url: '/reports/problems', headers: auth })
  t.equal(res.statusCode, 503)
  t.match(res.json(), { error: /^cannot read the report database: / })
})
