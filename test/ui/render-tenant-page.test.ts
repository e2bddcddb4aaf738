import t from 'tap'
import { buildSnapshot } from '../../src/tenants/tenant-snapshot.js'
import { dashboardAssets } from '../../src/ui/dashboard-assets.js'
import { renderTenantPage, type TenantPageData } from '../../src/ui/render-tenant-page.js'
import { configFrom } from '../helpers/config-fixtures.js'
import { domainReport } from '../helpers/dashboard-fakes.js'

const tenant = buildSnapshot(configFrom('tenants:\n  a.example: { mx: [mx.a.example] }\n')).tenants[0]!
const day = (d: string, failures: Array<[string, number]>, orgs: string[]) => ({
  domain: 'a.example', day: d, reports: orgs.length, organizations: orgs, successfulSessions: 10, failedSessions: failures.reduce((n, f) => n + f[1], 0),
  failureTypes: failures.map(([value, sessions]) => ({ value, sessions })), failingMxHosts: failures.map(([, sessions]) => ({ value: 'mx.a.example', sessions })), failingSendingIps: [], policies: [],
})

function data (changes: Partial<TenantPageData> = {}): TenantPageData {
  return {
    tenant,
    check: { state: 'ok', value: domainReport('a.example', [{ id: 'sts-txt', status: 'fail', hint: 'publish it' }]) },
    reports: { state: 'ok', value: [day('2024-06-09', [['sts-policy-fetch-error', 3], ['certificate-expired', 3]], ['b.org', 'a.org']), day('2024-06-10', [['certificate-expired', 1]], ['a.org'])] },
    fetches: { state: 'ok', value: { days: [{ day: '2024-06-10', policyId: 'old', sender: 'other', fetches: 2, lastAt: '2024-06-10T01:00:00Z' }], networks: [] } },
    history: { state: 'ok', value: [{ domain: 'a.example', at: '2024-06-10T00:00:00Z', mode: 'removed', policyId: '' }] },
    dnsTarget: [],
    until: '2024-06-10',
    now: new Date('2024-06-10T12:00:00Z'),
    assets: dashboardAssets(),
    ...changes,
  }
}

t.test('tables add up over days and order ties by name', async t => {
  const html = renderTenantPage(data())
  t.match(html, '<th scope="row">certificate-expired</th><td class="num">4</td></tr>\n<tr><th scope="row">sts-policy-fetch-error</th><td class="num">3</td>')
  t.match(html, '<th scope="row">mx.a.example</th><td class="num">7</td>')
  t.match(html, '<th scope="row">a.org</th><td class="num">2</td></tr>\n<tr><th scope="row">b.org</th><td class="num">1</td>')
  t.match(html, 'No client networks recorded.')
  t.match(html, 'none (removed)')
  t.match(html, 'set dns.target in the configuration')
  t.match(html, '✗ </span>not loaded', 'no certificate')
})

t.test('a source that failed says so; a report with equal counts keeps name order', async t => {
  const html = renderTenantPage(data({ history: { state: 'error' }, check: { state: 'ok', value: undefined }, reports: { state: 'ok', value: [day('2024-06-10', [['b', 1], ['a', 1]], ['z.org', 'y.org'])] } }))
  t.match(html, '<h2 id="history">Mode and policy id history</h2>\n<p class="note">This could not be read just now')
  t.match(html, '<th scope="row">a</th><td class="num">1</td></tr>\n<tr><th scope="row">b</th>')
  t.match(html, '<th scope="row">y.org</th><td class="num">1</td></tr>\n<tr><th scope="row">z.org</th>')
  t.match(html, '<dt>Ready for enforce</dt><dd><span class="state state-none"><span aria-hidden="true">– </span>unknown</span>')
})
