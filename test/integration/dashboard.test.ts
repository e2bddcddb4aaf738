import { chmod, writeFile } from 'node:fs/promises'
import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { gzipSync } from 'node:zlib'
import t from 'tap'
import { launchBrowser } from '../helpers/browser.js'
import { makeReport } from '../helpers/report-store-contract.js'
import { preamble, replaceFile, startService, tempDir } from '../helpers/service-harness.js'

// Issue 10 end to end: a running service (real TLS, real report ingest over HTTPS, real fetches
// counted and flushed, a real reload), its dashboard read in Debian's chromium with the password
// from ui.password_file.

const screenshots = fileURLToPath(new URL('../../.tap/screenshots/', import.meta.url))
interface PageCanvas { width: number, height: number, getContext (type: '2d'): { getImageData (x: number, y: number, w: number, h: number): { data: Uint8ClampedArray } } }

const yaml = (mode: string, passwordFile: string): string => [
  `ui: { password_file: ${JSON.stringify(passwordFile)} }`,
  'tenants:',
  `  shop.example: { mode: ${mode}, mx: [mx.shop.example] }`,
  '  quiet.example: { mx: [mx.quiet.example] }',
  '',
].join('\n')

t.test('the dashboard of a running service shows what senders did, in chromium', async t => {
  mkdirSync(screenshots, { recursive: true })
  const passwordFile = join(await tempDir(t), 'ui.password')
  await writeFile(passwordFile, 'dashboard-pass\n')
  await chmod(passwordFile, 0o600)
  const h = await startService(t, yaml('testing', passwordFile))

  const day = new Date().toISOString().slice(0, 10)
  for (const [org, ok, failures] of [['Sender One', 90, 10], ['Sender Two', 50, 0]] as const) {
    const res = await h.fetch('mta-sts.shop.example', { method: 'POST', path: '/tlsrpt', body: gzipSync(makeReport({ org, domain: 'shop.example', day, ok, failures, failureMx: 'mx.shop.example' })), headers: { 'content-type': 'application/tlsrpt+gzip' } })
    t.equal(res.status, 201, `${org}'s report stored`)
  }
  for (let i = 0; i < 3; i++) t.equal((await h.fetch('mta-sts.shop.example', { headers: { 'user-agent': 'postfix-mta-sts-resolver/1.4' } })).status, 200)
  const testingId = h.service.holder.snapshot.byHost.get('mta-sts.shop.example')?.id
  await replaceFile(h.configFile, preamble(h.dir) + yaml('enforce', passwordFile))
  await h.waitForLog(l => l.event === 'reload')
  const enforceId = h.service.holder.snapshot.byHost.get('mta-sts.shop.example')?.id
  t.equal((await h.fetch('mta-sts.shop.example', { headers: { 'user-agent': 'Google-MTA-STS' } })).status, 200)

  const base = `http://127.0.0.1:${h.addresses.ops.port}`
  t.equal((await h.get('ops', '/ui/')).status, 401, 'no tenant data without the password')

  const browser = await launchBrowser(t)
  const context = await browser.newContext({ httpCredentials: { username: 'operator', password: 'dashboard-pass' }, viewport: { width: 1440, height: 900 } })
  context.setDefaultTimeout(15_000)
  const page = await context.newPage()
  const problems: string[] = []
  page.on('console', m => { if (m.type() === 'error') problems.push(`console: ${m.text()}`) })
  page.on('pageerror', e => problems.push(`page error: ${e.message}`))

  t.equal((await page.goto(`${base}/ui/`))?.status(), 200)
  t.equal(await page.locator('tbody tr').count(), 2)
  const shop = page.locator('tbody tr', { has: page.locator('th a', { hasText: 'shop.example' }) })
  const row = await shop.innerText()
  t.match(row, /enforce/, 'the mode after the reload')
  t.match(row, /93\.3%/, '140 of 150 sessions succeeded (7 days)')
  t.match(row, /google/, 'the last fetch was by a sender recognised by its User-Agent')
  await page.screenshot({ path: `${screenshots}service-overview.png`, fullPage: true })

  await shop.locator('th a').click()
  await page.waitForURL(/\/ui\/tenants\/shop\.example$/)
  await page.locator('#chart-fetches canvas').waitFor()
  const painted = await page.locator('#chart-fetches canvas').evaluate((canvas: PageCanvas) => {
    const data = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data
    let n = 0
    for (let i = 3; i < data.length; i += 4) if ((data[i] as number) > 0) n++
    return n
  })
  t.ok(painted > 1000, `the fetch chart is drawn (${painted} pixels)`)
  const text = await page.locator('main').textContent() ?? '' // also the tables folded under <details>
  for (const expected of [String(testingId), String(enforceId), 'Sender One', 'Sender Two', 'certificate-expired', 'mx.shop.example', 'postfix', '_mta-sts.shop.example']) {
    t.match(text, expected, `the tenant page shows ${expected}`)
  }
  const history = await page.locator('section[aria-labelledby=history] tbody tr').allInnerTexts()
  t.ok(history.length >= 2 && /enforce/.test(history[0] ?? '') && history.some(r => /testing/.test(r)), `mode history from the reload, newest first: ${JSON.stringify(history)}`)
  await page.screenshot({ path: `${screenshots}service-tenant.png`, fullPage: true })
  t.same(problems, [], 'no console or page errors')
})
