import { mkdirSync } from 'node:fs'
import type { AddressInfo } from 'node:net'
import { fileURLToPath } from 'node:url'
import type { BrowserContext, Page } from 'playwright-core'
import t from 'tap'
import { launchBrowser } from '../helpers/browser.js'
import { dashboardFixture, HOSTILE_ORG, HOSTILE_ORG_2 } from '../helpers/dashboard-fakes.js'

// The dashboard in a real browser (Debian's chromium through playwright-core): content,
// charts drawn, no console errors or CSP violations, keyboard use, table and form semantics,
// state in words, and hostile report fields shown as text. Full-page screenshots go to
// .tap/screenshots/ for a look by eye.

// The browser globals the page functions below use (the project compiles without the DOM library).
interface PageElement { id: string, textContent: string | null, tagName: string, labels?: { length: number } | null }
interface PageCanvas { width: number, height: number, getContext (type: '2d'): { getImageData (x: number, y: number, w: number, h: number): { data: Uint8ClampedArray } } }
declare const window: { cspViolations: string[] }
declare const document: { activeElement: PageElement, addEventListener (type: 'securitypolicyviolation', fn: (e: { violatedDirective: string, blockedURI: string }) => void): void }
declare function getComputedStyle (el: PageElement): { outlineStyle: string, outlineWidth: string }

const screenshots = fileURLToPath(new URL('../../.tap/screenshots/', import.meta.url))

/** Console errors, page errors, CSP violations and dialogs (an `alert` would be an injection) of a page. */
function watch (page: Page): string[] {
  const problems: string[] = []
  page.on('console', m => { if (m.type() === 'error') problems.push(`console: ${m.text()}`) })
  page.on('pageerror', e => problems.push(`page error: ${e.message}`))
  page.on('dialog', d => { problems.push(`dialog: ${d.message()}`); void d.dismiss() })
  return problems
}

async function cspViolations (page: Page): Promise<string[]> {
  return page.evaluate(() => window.cspViolations)
}

/** Pixels of a canvas that are not fully transparent. */
async function paintedPixels (page: Page, selector: string): Promise<{ width: number, height: number, painted: number }> {
  return page.locator(selector).evaluate((canvas: PageCanvas) => {
    const data = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data
    let painted = 0
    for (let i = 3; i < data.length; i += 4) if ((data[i] as number) > 0) painted++
    return { width: canvas.width, height: canvas.height, painted }
  })
}

t.test('the dashboard in chromium', async t => {
  mkdirSync(screenshots, { recursive: true })
  const { app } = await dashboardFixture(t)
  await app.listen({ host: '127.0.0.1', port: 0 })
  const base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`
  const browser = await launchBrowser(t)
  const context: BrowserContext = await browser.newContext({ httpCredentials: { username: 'ops', password: 's3cret' }, viewport: { width: 1440, height: 900 } })
  context.setDefaultTimeout(15_000)
  await context.addInitScript(() => {
    const seen: string[] = []
    window.cspViolations = seen
    document.addEventListener('securitypolicyviolation', e => seen.push(`${e.violatedDirective} ${e.blockedURI}`))
  })

  await t.test('overview: rows, columns, semantics, words for states', async t => {
    const page = await context.newPage()
    const problems = watch(page)
    const res = await page.goto(`${base}/ui/`)
    t.equal(res?.status(), 200)
    t.equal(await page.locator('table caption').innerText(), 'Tenants, page 1 of 1 (4 tenants)')
    t.equal(await page.locator('tbody tr').count(), 4)
    t.same(await page.locator('thead th').evaluateAll(ths => ths.map(th => th.getAttribute('scope'))), Array(8).fill('col'))
    t.same(await page.locator('tbody th').evaluateAll(ths => ths.map(th => th.getAttribute('scope'))), Array(4).fill('row'))
    t.same(await page.locator('tbody th a').allInnerTexts(), ['example.org', 'example.net', 'calm.example', 'example.com'])
    const org = page.locator('tbody tr').first()
    t.match(await org.locator('td').nth(1).innerText(), /DNS has stale123/)
    t.match(await org.locator('td').nth(2).innerText(), /4 days left/)
    t.match(await org.locator('td').nth(3).innerText(), /fail\s+✗ not ready/)
    t.match(await org.locator('td').nth(4).innerText(), /87\.5%/)
    const states = await page.locator('.state').evaluateAll(els => els.map(e => (e.textContent ?? '').replace(/^[✓!✗–] /, '').trim()))
    t.ok(states.length > 20 && states.every(s => /[a-z0-9]/i.test(s)), 'every coloured state also says what it is in words')
    const unlabelled = await page.locator('form input, form select').evaluateAll(els => els.filter(e => (e as PageElement).labels?.length !== 1).map(e => e.id))
    t.same(unlabelled, [], 'every form control has its label')
    await page.screenshot({ path: `${screenshots}overview.png`, fullPage: true })
    t.same(problems, [])
    t.same(await cspViolations(page), [])
    await page.close()
  })

  await t.test('overview by keyboard: skip link, filter controls, links; focus visible; the filter form works', async t => {
    const page = await context.newPage()
    const problems = watch(page)
    await page.goto(`${base}/ui/`)
    const reached: string[] = []
    let outlined = 0
    for (let i = 0; i < 14; i++) {
      await page.keyboard.press('Tab')
      const focus = await page.evaluate(() => {
        const el = document.activeElement
        const style = getComputedStyle(el)
        return { key: el.id || el.textContent?.trim() || el.tagName, outline: style.outlineStyle !== 'none' && Number.parseFloat(style.outlineWidth) >= 2 }
      })
      reached.push(focus.key)
      if (focus.outline) outlined++
    }
    t.equal(reached[0], 'Skip to content')
    for (const key of ['filter-q', 'filter-mode', 'filter-attention', 'filter-sort', 'Apply', 'Domain']) t.ok(reached.includes(key), `Tab reaches ${key}`)
    t.equal(outlined, reached.length, 'the focused element always has a visible outline')
    await page.focus('#filter-q')
    await page.keyboard.type('example.o')
    await page.keyboard.press('Enter')
    await page.waitForURL(/q=example\.o/)
    t.same(await page.locator('tbody th a').allInnerTexts(), ['example.org'])
    await page.locator('#filter-attention').focus()
    await page.keyboard.press('Space')
    await page.locator('button[type=submit]').press('Enter')
    await page.waitForURL(/attention=1/)
    t.same(await page.locator('tbody th a').allInnerTexts(), ['example.org'])
    await page.locator('tbody th a').first().press('Enter')
    await page.waitForURL(/\/ui\/tenants\/example\.org$/)
    t.equal(await page.locator('h1').innerText(), 'Tenant example.org')
    t.same(problems, [])
    await page.close()
  })

  await t.test('tenant page: charts drawn, tables, hostile organisation names as text', async t => {
    const page = await context.newPage()
    const problems = watch(page)
    await page.goto(`${base}/ui/tenants/example.com`)
    await page.locator('#chart-sessions canvas').waitFor()
    await page.locator('#chart-fetches canvas').waitFor()
    for (const chart of ['#chart-sessions canvas', '#chart-fetches canvas']) {
      const pixels = await paintedPixels(page, chart)
      t.ok(pixels.width > 200 && pixels.height > 100, `${chart} has a size (${pixels.width}x${pixels.height})`)
      t.ok(pixels.painted > 1000, `${chart} is drawn (${pixels.painted} painted pixels)`)
    }
    const legend = await page.locator('#chart-fetches .u-legend').innerText()
    t.match(legend, 'oldid2024', 'the old policy id is a series')
    t.match(legend, '(served now)', 'and so is the new one')
    t.same(await page.locator('h2').allInnerTexts(), ['Summary', 'TLS report sessions per day (last 30 days)', 'Failures and reporting organisations', 'Policy fetches per day by policy id (last 30 days)', 'Distinct client networks per day', 'Set-up checks', 'DNS records to publish', 'Mode and policy id history'])
    const captions = await page.locator('main table:not(.u-legend)').evaluateAll(ts => ts.map(t => t.querySelector('caption')?.textContent ?? ''))
    t.ok(captions.every(c => c !== ''), 'every table has a caption')
    await page.screenshot({ path: `${screenshots}tenant.png`, fullPage: true })
    t.same(problems, [])
    t.same(await cspViolations(page), [])

    await page.goto(`${base}/ui/tenants/example.org`)
    await page.locator('#chart-sessions canvas').waitFor()
    const orgs = page.locator('table:has(caption:text-is("Reporting organisations")) tbody th')
    t.same((await orgs.allInnerTexts()).sort(), [HOSTILE_ORG_2, HOSTILE_ORG].sort(), 'shown as the text they are')
    t.equal(await page.locator('main img').count(), 0, 'no injected element')
    t.equal(await page.locator('script').count(), 4, 'only the two external scripts and the two JSON blocks')
    t.equal(await page.locator('script:not([src]):not([type="application/json"])').count(), 0)
    await page.screenshot({ path: `${screenshots}tenant-failures.png`, fullPage: true })
    t.same(problems, [], 'no console error, page error or dialog')
    t.same(await cspViolations(page), [])
    await page.close()
  })

  await t.test('without JavaScript the overview and the tables still work', async t => {
    const noScript = await browser.newContext({ httpCredentials: { username: 'ops', password: 's3cret' }, javaScriptEnabled: false })
    t.teardown(() => noScript.close())
    const page = await noScript.newPage()
    await page.goto(`${base}/ui/?sort=name`)
    t.same(await page.locator('tbody th a').allInnerTexts(), ['calm.example', 'example.com', 'example.net', 'example.org'])
    await page.goto(`${base}/ui/tenants/example.com`)
    t.ok(await page.locator('table:has(caption:text-is("Sessions per day")) tbody tr').count() === 30, 'the chart data as a table')
  })

  await t.test('without credentials, nothing', async t => {
    const anonymous = await browser.newContext()
    t.teardown(() => anonymous.close())
    // A browser without credentials to offer stops at the challenge; its request API shows the answer.
    const res = await anonymous.request.get(`${base}/ui/tenants/example.org`)
    t.equal(res.status(), 401)
    t.equal(res.headers()['www-authenticate'], 'Basic realm="mta-sts-host", charset="UTF-8"')
    t.notMatch(await res.text(), /example\.org|script/)
  })
})
