import type { FastifyBaseLogger, FastifyInstance, FastifyReply } from 'fastify'
import { utcDay } from '../db/utc-day.js'
import { normalizeHostName } from '../domain/host-name.js'
import { cachedRead } from './cached-read.js'
import { dashboardAssets } from './dashboard-assets.js'
import { dashboardAuthorized } from './dashboard-auth.js'
import type { DashboardDeps } from './dashboard-deps.js'
import { parseOverviewQuery, selectOverviewPage } from './overview-query.js'
import { overviewRows } from './overview-rows.js'
import { pageLayout } from './page-layout.js'
import { renderOverview } from './render-overview.js'
import { renderTenantPage, TENANT_PAGE_DAYS, type Source } from './render-tenant-page.js'

/** The dashboard's Content-Security-Policy: nothing inline, nothing from elsewhere, never framed. */
export const DASHBOARD_CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

/** Days the overview's report success rate covers. */
export const OVERVIEW_REPORT_DAYS = 7

/** How long the overview reuses the report totals and last fetches it read (milliseconds). */
export const OVERVIEW_CACHE_MS = 5_000

const ASSET_CACHE = 'public, max-age=31536000, immutable'

/** A source read, its failure logged and turned into `error` (the page says so instead of failing). */
async function read<T> (log: FastifyBaseLogger, what: string, fn: (() => Promise<T>) | undefined): Promise<Source<T>> {
  if (fn === undefined) return { state: 'off' }
  try {
    return { state: 'ok', value: await fn() }
  } catch (error) {
    log.error({ event: 'dashboard_read_failed', source: what, err: error }, `dashboard cannot read ${what}`)
    return { state: 'error' }
  }
}

function html (reply: FastifyReply, body: string): FastifyReply {
  return reply.header('content-type', 'text/html; charset=utf-8').header('cache-control', 'no-store').send(body)
}

/**
 * The operators' dashboard under `/ui/` on the ops listener: `/ui/` (overview of every tenant),
 * `/ui/tenants/:domain` (one tenant) and `/ui/assets/:name` (uPlot, script and style sheet).
 * Server-rendered HTML that works without JavaScript; the script only draws charts.
 *
 * Every route, assets and 404s included, needs HTTP Basic with one of `deps.passwords` (any
 * user name) or `Authorization: Bearer <one of them>`, else 401 with a Basic challenge (none
 * needed when `passwords` is empty). The dashboard only reads: GET and HEAD routes, and no
 * form that changes anything (the filter form is a GET), so there is no CSRF surface.
 * Every value in the HTML goes through `escapeHtml`; chart data sits in JSON blocks read by
 * the external script, under a CSP that allows no inline script or style.
 */
export async function dashboardRoutes (app: FastifyInstance, deps: DashboardDeps): Promise<void> {
  const assets = dashboardAssets()
  const totals = deps.store === undefined
    ? undefined
    : cachedRead(() => (deps.store as NonNullable<DashboardDeps['store']>).reportTotals(OVERVIEW_REPORT_DAYS, utcDay(deps.now())), OVERVIEW_CACHE_MS, deps.now)
  const lastFetches = deps.fetches === undefined
    ? undefined
    : cachedRead(() => (deps.fetches as NonNullable<DashboardDeps['fetches']>).lastFetches(), OVERVIEW_CACHE_MS, deps.now)

  await app.register(async ui => {
    ui.addHook('onRequest', (request, reply, done) => {
      reply.header('content-security-policy', DASHBOARD_CSP)
        .header('x-content-type-options', 'nosniff')
        .header('referrer-policy', 'no-referrer')
        .header('x-frame-options', 'DENY')
      if (dashboardAuthorized(request.headers.authorization, deps.passwords)) return done()
      reply.code(401).header('www-authenticate', 'Basic realm="mta-sts-host", charset="UTF-8"').header('cache-control', 'no-store')
        .header('content-type', 'text/plain; charset=utf-8').send('This dashboard needs a password (HTTP Basic, any user name).\n')
    })
    ui.setNotFoundHandler((_request, reply) => {
      return html(reply.code(404), pageLayout({ title: 'Not found', main: '<h1>Not found</h1>\n<p>There is no such page.</p>', assets }))
    })

    ui.get('/', async (request, reply) => {
      const snapshot = deps.tenants()
      const [reportTotals, fetched] = await Promise.all([read(request.log, 'report totals', totals), read(request.log, 'last fetches', lastFetches)])
      const notes: string[] = []
      if (deps.checks === undefined) notes.push('The set-up monitor is off (check.monitor.interval: 0): the check columns stay unknown.')
      if (reportTotals.state === 'off') notes.push('TLS reports are off (reports.enabled: false): no success rates.')
      if (reportTotals.state === 'error') notes.push('The report database could not be read just now: no success rates (see the service log).')
      if (fetched.state === 'off') notes.push('Fetch statistics are off (stats.enabled: false): no last fetches.')
      if (fetched.state === 'error') notes.push('The fetch statistics could not be read just now (see the service log).')
      const rows = overviewRows({
        tenants: snapshot.tenants,
        certificates: deps.certificates(),
        ...(deps.checks === undefined ? {} : { checks: deps.checks() }),
        ...(reportTotals.state === 'ok' ? { totals: reportTotals.value } : {}),
        ...(fetched.state === 'ok' ? { lastFetches: fetched.value } : {}),
        now: deps.now(),
      })
      const query = parseOverviewQuery(request.query as Record<string, unknown>)
      const page = selectOverviewPage(rows, query, deps.settings.pageSize)
      return html(reply, renderOverview({ page, query, assets, reportDays: OVERVIEW_REPORT_DAYS, notes }))
    })

    ui.get<{ Params: { domain: string } }>('/tenants/:domain', async (request, reply) => {
      const name = normalizeHostName(request.params.domain)
      const tenant = name.ok ? deps.tenants().byHost.get(`mta-sts.${name.value}`) : undefined
      if (tenant === undefined) {
        // Generic: the page never echoes what was asked for.
        return html(reply.code(404), pageLayout({ title: 'Unknown tenant', main: '<h1>Unknown tenant</h1>\n<p>No tenant of this service has that name. <a href="/ui/">All tenants</a></p>', assets }))
      }
      const now = deps.now()
      const until = utcDay(now)
      const domain = tenant.domain
      const { store, fetches, checks } = deps
      const [reports, fetchData, history] = await Promise.all([
        read(request.log, 'report summaries', store && (() => store.summarize({ domains: [domain], days: TENANT_PAGE_DAYS, until }))),
        read(request.log, 'fetch statistics', fetches && (() => fetches.fetchesFor(domain, TENANT_PAGE_DAYS))),
        read(request.log, 'policy history', store && (() => store.policyHistory(domain, 50))),
      ])
      const certificate = deps.certificates().find(c => c.host === tenant.host)
      return html(reply, renderTenantPage({
        tenant,
        ...(certificate === undefined ? {} : { certificate }),
        check: checks === undefined ? { state: 'off' } : { state: 'ok', value: checks().find(c => c.domain === domain) },
        reports,
        fetches: fetchData,
        history,
        dnsTarget: deps.dnsTarget,
        until,
        now,
        assets,
      }))
    })

    ui.get<{ Params: { name: string } }>('/assets/:name', async (request, reply) => {
      const asset = assets.byName.get(request.params.name)
      if (asset === undefined) return reply.callNotFound()
      return reply.header('content-type', asset.contentType).header('cache-control', ASSET_CACHE).send(asset.body)
    })
  }, { prefix: '/ui' })
}
