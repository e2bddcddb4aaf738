import t from 'tap'
import { basic, dashboardFixture, HOSTILE_ORG, HOSTILE_ORG_2 } from '../helpers/dashboard-fakes.js'
import { configFrom } from '../helpers/config-fixtures.js'
import { DASHBOARD_CSP, OVERVIEW_CACHE_MS } from '../../src/ui/dashboard-routes.js'
import { buildSnapshot } from '../../src/tenants/tenant-snapshot.js'

const AUTH = { authorization: basic('s3cret') }

/** Domains of the overview's rows, in page order. */
function domains (body: string): string[] {
  return [...body.matchAll(/<th scope="row"><a href="\/ui\/tenants\/[^"]+">([^<]+)<\/a><\/th>/g)].map(m => m[1] as string)
}

t.test('every /ui route needs the password (HTTP Basic, any user) or the ops token as Bearer', async t => {
  const { app } = await dashboardFixture(t, { opsToken: 'ops-token' })
  for (const url of ['/ui/', '/ui', '/ui/tenants/example.com', '/ui/assets/nope.js', '/ui/nothing']) {
    const none = await app.inject(url)
    t.equal(none.statusCode, 401, `${url} without credentials`)
    t.equal(none.headers['www-authenticate'], 'Basic realm="mta-sts-host", charset="UTF-8"')
    t.equal(none.headers['cache-control'], 'no-store')
    t.notMatch(none.body, /example/, 'no tenant data')
  }
  for (const authorization of [basic('wrong'), basic('s3cret!'), basic(''), 'Basic !!!', `Basic ${Buffer.from('no-colon').toString('base64')}`, 'Bearer wrong', 'Bearer', 'Digest s3cret']) {
    t.equal((await app.inject({ url: '/ui/', headers: { authorization } })).statusCode, 401, authorization)
  }
  t.equal((await app.inject({ url: '/ui/', headers: AUTH })).statusCode, 200, 'Basic with the ui password')
  t.equal((await app.inject({ url: '/ui/', headers: { authorization: basic('s3cret', 'any one') } })).statusCode, 200, 'any user name')
  t.equal((await app.inject({ url: '/ui/', headers: { authorization: basic('ops-token') } })).statusCode, 200, 'Basic with the ops token')
  t.equal((await app.inject({ url: '/ui/', headers: { authorization: 'Bearer ops-token' } })).statusCode, 200, 'Bearer with the ops token')
  t.equal((await app.inject({ url: '/ui', headers: AUTH })).statusCode, 200, '/ui without the slash')
  const metrics = await app.inject({ url: '/metrics', headers: AUTH })
  t.equal(metrics.statusCode, 401, 'the ui password opens only the dashboard, not the other ops routes')
  t.match(metrics.headers['www-authenticate'], /^Bearer/)
  t.equal((await app.inject({ url: '/ui/../metrics' })).statusCode, 401, 'no way around the check through /ui/')
  t.equal((await app.inject({ url: '/ui/../metrics', headers: AUTH })).statusCode, 401, 'nor with the ui password')
  t.equal((await app.inject({ url: '/uix' })).statusCode, 401, 'a mere prefix is not the dashboard')
})

t.test('open without passwords (loopback ops without token)', async t => {
  const { app } = await dashboardFixture(t, { passwords: [] })
  t.equal((await app.inject('/ui/')).statusCode, 200)
})

t.test('with an ops token, empty dashboard passwords still need the token', async t => {
  const { app } = await dashboardFixture(t, { passwords: [], opsToken: 'ops-token' })
  t.equal((await app.inject('/ui/')).statusCode, 401)
  t.equal((await app.inject({ url: '/ui/', headers: { authorization: basic('ops-token') } })).statusCode, 200)
})

t.test('no dashboard when ui.enabled is off', async t => {
  const { app } = await dashboardFixture(t, { passwords: [], override: d => ({ ...d, settings: { ...d.settings, enabled: false } }) })
  t.equal((await app.inject('/ui/')).statusCode, 404)
})

t.test('security headers; read-only', async t => {
  const { app } = await dashboardFixture(t)
  for (const url of ['/ui/', '/ui/tenants/example.com', '/ui/tenants/unknown.example']) {
    const res = await app.inject({ url, headers: AUTH })
    t.equal(res.headers['content-security-policy'], DASHBOARD_CSP, url)
    t.equal(res.headers['x-content-type-options'], 'nosniff')
    t.equal(res.headers['referrer-policy'], 'no-referrer')
    t.equal(res.headers['cache-control'], 'no-store')
    t.equal(res.headers['content-type'], 'text/html; charset=utf-8')
    t.notMatch(res.body, /<script>|<script (?!src=|type="application\/json")|<style|style=| on[a-z]+=/, 'no inline script, style or handler')
  }
  const scriptSrc = /script-src ([^;]*)/.exec(DASHBOARD_CSP)?.[1] ?? ''
  t.notMatch(scriptSrc, /unsafe/, 'script-src allows nothing unsafe')
  t.notMatch(DASHBOARD_CSP, /unsafe-inline/)
  for (const method of ['POST', 'PUT', 'DELETE', 'PATCH'] as const) {
    t.equal((await app.inject({ method, url: '/ui/', headers: AUTH })).statusCode, 404, `${method} is not a route`)
  }
  const head = await app.inject({ method: 'HEAD', url: '/ui/', headers: AUTH })
  t.equal(head.statusCode, 200)
  t.equal(head.body, '')
})

t.test('overview: one row per tenant with every column, attention first', async t => {
  const { app, snapshot } = await dashboardFixture(t)
  const res = await app.inject({ url: '/ui/', headers: AUTH })
  t.equal(res.statusCode, 200)
  t.same(domains(res.body), ['example.org', 'example.net', 'calm.example', 'example.com'], 'most reasons first, then by name')
  t.match(res.body, '<caption>Tenants, page 1 of 1 (4 tenants)</caption>')
  for (const col of ['Domain', 'Mode', 'Policy id \\(served / in DNS\\)', 'Certificate', 'Checks / ready for enforce', 'TLS reports', 'Last fetch', 'Attention']) t.match(res.body, new RegExp(`<th scope="col"[^>]*>(<a [^>]+>)?${col}`), col)
  const row = (domain: string): string => res.body.split('\n').find(l => l.includes(`tenants/${domain}"`)) ?? ''
  t.match(row('example.org'), 'DNS has stale123')
  t.match(row('example.org'), 'valid, 4 days left, expires 2024-06-15')
  t.match(row('example.org'), '✗ </span>fail')
  t.match(row('example.org'), 'not ready')
  t.match(row('example.org'), '87.5%</span><br><span class="note">40 failed of 320 sessions, 7 d')
  t.match(row('example.org'), '2024-06-10 11:30 UTC<br><span class="note">microsoft')
  t.match(row('example.org'), '40 failed sessions reported')
  t.match(row('example.net'), 'not checked yet')
  t.match(row('example.net'), 'not loaded')
  t.match(row('example.net'), 'no reports')
  t.match(row('example.net'), 'none seen')
  t.match(row('example.com'), '100.0%')
  t.match(row('example.com'), 'DNS id matches')
  t.match(row('example.com'), 'ready')
  t.match(row('example.com'), `<code>${snapshot.byHost.get('mta-sts.example.com')?.id}</code>`)
  t.match(row('calm.example'), '✓ </span>none</span>')
})

t.test('overview: filters, sorting and pages through the query string', async t => {
  const yaml = `tenants:\n${Array.from({ length: 25 }, (_, i) => `  t${String(i).padStart(2, '0')}.example: { mode: ${i % 3 === 0 ? 'enforce' : 'testing'}, mx: [mx.example.net] }`).join('\n')}\n`
  const { app } = await dashboardFixture(t, { yaml, pageSize: 10 })
  const get = async (query: string): Promise<string> => (await app.inject({ url: `/ui/${query}`, headers: AUTH })).body
  const first = await get('?sort=name')
  t.same(domains(first), Array.from({ length: 10 }, (_, i) => `t${String(i).padStart(2, '0')}.example`))
  t.match(first, 'Page 1 of 3')
  t.match(first, '25 tenants.')
  t.match(first, '<a href="/ui/?sort=name&amp;page=2" rel="next">Next page</a>')
  t.notMatch(first, 'rel="prev"')
  const last = await get('?sort=name&page=3')
  t.same(domains(last), ['t20.example', 't21.example', 't22.example', 't23.example', 't24.example'])
  t.match(last, '<a href="/ui/?sort=name&amp;page=2" rel="prev">')
  t.notMatch(last, 'rel="next"')
  t.same(domains(await get('?sort=name&page=99')), domains(last), 'a page past the end shows the last')
  t.same(domains(await get('?sort=name&order=reverse')).slice(0, 2), ['t24.example', 't23.example'])
  t.match(await get('?sort=name&order=reverse'), 'aria-sort="descending"')
  const enforce = await get('?mode=enforce&q=T1')
  t.same(domains(enforce), ['t12.example', 't15.example', 't18.example'], 'mode and text filter (case-insensitive)')
  t.match(enforce, '3 of 25 tenants match')
  t.match(enforce, '<option value="enforce" selected>')
  t.match(enforce, 'value="t1"')
  t.match(await get('?q=nothing-like-this'), 'No tenant matches these filters.')
  t.match(await get('?attention=1&page=x&sort=bogus&mode=bogus'), 'Page 1 of 3', 'every tenant lacks a certificate: all need attention; bad values fall back')
  t.match(await get('?q=a&q=b'), 'value="a"', 'a repeated parameter counts once')
})

t.test('overview: sort by success rate, expiry and last fetch', async t => {
  const { app } = await dashboardFixture(t)
  const get = async (query: string): Promise<string[]> => domains((await app.inject({ url: `/ui/${query}`, headers: AUTH })).body)
  t.same(await get('?sort=rate'), ['example.org', 'example.com', 'calm.example', 'example.net'], 'lowest rate first, no reports last')
  t.same(await get('?sort=rate&order=reverse'), ['example.com', 'example.org', 'calm.example', 'example.net'], 'missing stays last')
  t.same(await get('?sort=expiry'), ['example.org', 'example.com', 'calm.example', 'example.net'])
  t.same(await get('?sort=fetch'), ['example.org', 'example.com', 'calm.example', 'example.net'])
  t.same(await get('?sort=mode'), ['example.com', 'calm.example', 'example.org', 'example.net'])
  t.same(await get('?attention=1'), ['example.org', 'example.net'])
})

t.test('HTML in any value is shown as text', async t => {
  const evil = '"><img src=x onerror=alert(3)><script>alert(4)</script>'
  const { app } = await dashboardFixture(t, {
    override: d => ({
      ...d,
      checks: () => [{ domain: 'example.com', checkedAt: evil, durationMs: 1, status: 'fail', readyForEnforce: false, reasons: [evil], results: [{ id: 'sts-txt', name: evil, status: 'fail', reason: evil, hint: evil, details: { published: evil } }] }],
      certificates: () => [{ host: 'mta-sts.example.com', state: 'failing', failures: 1, lastError: evil }],
      fetches: {
        fetchesFor: async () => ({ days: [{ day: '2024-06-10', policyId: evil, sender: evil, fetches: 1, lastAt: evil }], networks: [{ day: evil, count: 1 }] }),
        lastFetches: async () => new Map([['example.com', { domain: 'example.com', at: evil, sender: evil, policyId: evil }]]),
      },
    }),
  })
  const overview = await app.inject({ url: `/ui/?q=${encodeURIComponent(evil)}`, headers: AUTH })
  const tenant = await app.inject({ url: '/ui/tenants/example.com', headers: AUTH })
  const org = await app.inject({ url: '/ui/tenants/example.org', headers: AUTH })
  for (const body of [overview.body, tenant.body, org.body]) {
    t.notMatch(body, '<img')
    t.notMatch(body, '<script>alert')
    t.notMatch(body, /onerror=alert\(\d\)>/)
  }
  t.match(overview.body, 'value="&quot;&gt;&lt;img src=x onerror=alert(3)&gt;&lt;script&gt;alert(4)&lt;/script&gt;"', 'the filter text, escaped in its attribute')
  t.match(tenant.body, '&lt;script&gt;alert(4)&lt;/script&gt;')
  t.match(tenant.body, /"label":"\\u0022\\u003e\\u003cimg|"label":"\\"\\u003e\\u003cimg/, 'chart labels escaped inside the JSON block')
  t.match(org.body, `<th scope="row">&lt;script&gt;alert(1)&lt;/script&gt;</th>`, HOSTILE_ORG)
  t.match(org.body, `<th scope="row">&quot;&gt;&lt;img src=x onerror=alert(2)&gt;</th>`, HOSTILE_ORG_2)
})

t.test('tenant page: every section from the sources', async t => {
  const { app, snapshot } = await dashboardFixture(t)
  const res = await app.inject({ url: '/ui/tenants/Example.COM.', headers: AUTH })
  t.equal(res.statusCode, 200, 'the name is normalised')
  const id = snapshot.byHost.get('mta-sts.example.com')?.id as string
  for (const heading of ['Summary', 'TLS report sessions per day (last 30 days)', 'Failures and reporting organisations', 'Policy fetches per day by policy id (last 30 days)', 'Distinct client networks per day', 'Set-up checks', 'DNS records to publish', 'Mode and policy id history']) {
    t.match(res.body, new RegExp(`<h2 id="[a-z]+">${heading.replace(/[()]/g, '\\$&')}</h2>`), heading)
  }
  t.match(res.body, '<script type="application/json" id="chart-sessions-data">')
  t.match(res.body, '<script type="application/json" id="chart-fetches-data">')
  t.match(res.body, `"label":"${id} (served now)"`)
  t.match(res.body, '"label":"oldid2024"')
  t.match(res.body, '<th scope="row">2024-06-10</th><td class="num">200</td><td class="num">0</td><td class="num">1</td>')
  t.match(res.body, 'No failures reported.')
  t.match(res.body, 'No failing MX host reported.')
  t.match(res.body, '<th scope="row">google.com</th><td class="num">10</td>')
  t.match(res.body, '<th scope="row">2024-06-05</th><td><code>oldid2024</code></td><td>microsoft</td><td class="num">3</td>')
  t.match(res.body, '<th scope="row">2024-06-10</th><td class="num">2</td>', 'networks per day')
  t.match(res.body, `<code>v=STSv1; id=${id}</code>`)
  t.match(res.body, '<code>v=TLSRPTv1; rua=mailto:tlsrpt@example.com</code>')
  t.match(res.body, `2024-06-05 09:30 UTC</th><td>enforce</td><td><code>${id}</code>`)
  t.match(res.body, '2024-06-01 08:00 UTC</th><td>testing</td><td><code>oldid2024</code>')
  t.match(res.body, 'valid, expires 2024-08-20')
  t.match(res.body, '<dt>Ready for enforce</dt><dd><span class="state state-good"><span aria-hidden="true">✓ </span>ready</span>')
  t.match(res.body, '<script src="/ui/assets/uPlot.')
  const org = await app.inject({ url: '/ui/tenants/example.org', headers: AUTH })
  t.match(org.body, '<th scope="row">certificate-expired</th><td class="num">40</td>')
  t.match(org.body, '<th scope="row">mail.example.org</th><td class="num">40</td>')
  t.match(org.body, 'update the record')
  const net = await app.inject({ url: '/ui/tenants/example.net', headers: AUTH })
  t.match(net.body, 'No TLS reports for this domain in the last 30 days.')
  t.match(net.body, 'No policy fetches recorded in the last 30 days.')
  t.match(net.body, 'Not checked yet: the monitor has not reached this tenant.')
  t.match(net.body, 'No change recorded yet.')
  t.match(net.body, 'not loaded')
})

t.test('unknown tenants: a generic 404 that echoes nothing', async t => {
  const { app } = await dashboardFixture(t)
  for (const name of ['unknown.example', '<script>alert(1)<%2Fscript>', 'bad..name', '%3Cimg%20src%3Dx%3E']) {
    const res = await app.inject({ url: `/ui/tenants/${name}`, headers: AUTH })
    t.equal(res.statusCode, 404, name)
    t.match(res.body, 'No tenant of this service has that name.')
    t.notMatch(res.body, /unknown\.example|<img|<script>alert|bad\.\.name/)
  }
  const other = await app.inject({ url: '/ui/no/such/page', headers: AUTH })
  t.equal(other.statusCode, 404)
  t.match(other.body, 'There is no such page.')
  t.equal(other.headers['content-security-policy'], DASHBOARD_CSP)
})

t.test('sources that are off or failing: each section says so', async t => {
  const off = await dashboardFixture(t, { reports: false, stats: false, checks: false })
  const overview = (await off.app.inject({ url: '/ui/', headers: AUTH })).body
  t.match(overview, 'The set-up monitor is off')
  t.match(overview, 'TLS reports are off (reports.enabled: false): no success rates.')
  t.match(overview, 'Fetch statistics are off (stats.enabled: false): no last fetches.')
  const page = (await off.app.inject({ url: '/ui/tenants/example.com', headers: AUTH })).body
  t.match(page, 'TLS reports are off (reports.enabled: false), so there is nothing to show here.')
  t.match(page, 'Fetch statistics are off (stats.enabled: false)')
  t.match(page, 'The set-up monitor is off (check.monitor.interval: 0); run mta-sts-host check for a report.')
  t.match(page, 'The report database is off (reports.enabled: false)')
  t.match(page, 'the set-up monitor is off')
  t.notMatch(page, 'application/json', 'no charts without data')

  const broken = await dashboardFixture(t, {
    override: d => ({
      ...d,
      store: { summarize: () => Promise.reject(new Error('disk gone')), reportTotals: () => Promise.reject(new Error('disk gone')), policyHistory: () => Promise.reject(new Error('disk gone')) },
      fetches: { fetchesFor: () => Promise.reject(new Error('disk gone')), lastFetches: () => Promise.reject(new Error('disk gone')) },
    }),
  })
  const o = await broken.app.inject({ url: '/ui/', headers: AUTH })
  t.equal(o.statusCode, 200)
  t.match(o.body, 'The report database could not be read just now')
  t.match(o.body, 'The fetch statistics could not be read just now')
  const p = await broken.app.inject({ url: '/ui/tenants/example.com', headers: AUTH })
  t.equal(p.statusCode, 200)
  t.equal(p.body.split('This could not be read just now').length - 1, 5, 'both report sections, both fetch sections and the history')
  t.ok(broken.logs.some(l => l.event === 'dashboard_read_failed' && l.source === 'report totals'), 'failures are logged')
})

t.test('the overview reads report totals and last fetches at most once per few seconds', async t => {
  let now = Date.parse('2024-06-10T12:00:00Z')
  let totals = 0
  let fetches = 0
  const { app } = await dashboardFixture(t, {
    override: d => ({
      ...d,
      now: () => new Date(now),
      store: { ...(d.store as NonNullable<typeof d.store>), reportTotals: async () => { totals++; return [] } },
      fetches: { ...(d.fetches as NonNullable<typeof d.fetches>), lastFetches: async () => { fetches++; return new Map() } },
    }),
  })
  await app.inject({ url: '/ui/', headers: AUTH })
  await app.inject({ url: '/ui/?page=2', headers: AUTH })
  t.same([totals, fetches], [1, 1])
  now += OVERVIEW_CACHE_MS
  await app.inject({ url: '/ui/', headers: AUTH })
  t.same([totals, fetches], [2, 2])
})

t.test('assets: hashed names, right types, cached for good', async t => {
  const { app } = await dashboardFixture(t)
  const page = (await app.inject({ url: '/ui/tenants/example.com', headers: AUTH })).body
  const urls = [...page.matchAll(/(?:src|href)="(\/ui\/assets\/[^"]+)"/g)].map(m => m[1] as string)
  t.equal(urls.length, 4)
  for (const url of urls) {
    t.match(url, /\/ui\/assets\/(uPlot|dashboard)\.[0-9a-f]{16}\.(iife\.min\.js|min\.css|js|css)$/)
    const res = await app.inject({ url, headers: AUTH })
    t.equal(res.statusCode, 200, url)
    t.equal(res.headers['content-type'], url.endsWith('.js') ? 'text/javascript; charset=utf-8' : 'text/css; charset=utf-8')
    t.equal(res.headers['cache-control'], 'public, max-age=31536000, immutable')
    t.equal(res.headers['x-content-type-options'], 'nosniff')
    t.ok(res.body.length > 500)
  }
  t.equal((await app.inject({ url: '/ui/assets/uPlot.0000000000000000.iife.min.js', headers: AUTH })).statusCode, 404)
  const overview = (await app.inject({ url: '/ui/', headers: AUTH })).body
  t.notMatch(overview, 'uPlot', 'the overview has no chart and loads no chart library')
})

t.test('the overview page follows the snapshot', async t => {
  const config = configFrom('tenants:\n  only.example: { mx: [mx.example.net] }\n')
  const { app } = await dashboardFixture(t, { override: d => ({ ...d, tenants: () => buildSnapshot(config) }) })
  t.same(domains((await app.inject({ url: '/ui/', headers: AUTH })).body), ['only.example'])
})

t.test('a success rate of at least 99% with failures is a warning, not a failure', async t => {
  const { app } = await dashboardFixture(t, {
    override: d => ({ ...d, store: { ...(d.store as NonNullable<typeof d.store>), reportTotals: async () => [{ domain: 'example.com', successful: 995, failed: 5, organizations: 2 }, { domain: 'example.net', successful: 0, failed: 0, organizations: 1 }] } }),
  })
  const body = (await app.inject({ url: '/ui/?sort=name', headers: AUTH })).body
  const row = (domain: string): string => body.split('\n').find(l => l.includes(`tenants/${domain}"`)) ?? ''
  t.match(row('example.com'), '<span class="state state-warn"><span aria-hidden="true">! </span>99.5%</span>')
  t.match(row('example.net'), 'no reports', 'reports without sessions')
})
