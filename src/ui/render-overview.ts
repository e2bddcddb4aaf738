import type { DashboardAssets } from './dashboard-assets.js'
import { escapeHtml } from './escape-html.js'
import { overviewHref, type OverviewPage, type OverviewQuery, type SortKey } from './overview-query.js'
import { EXPIRY_ATTENTION_DAYS, type OverviewRow } from './overview-rows.js'
import { pageLayout } from './page-layout.js'
import { certificateLabel, checkStatusLabel, formatTime, stateLabel, txtLabel } from './state-labels.js'

/** What the overview page shows besides the rows. */
export interface OverviewView {
  readonly page: OverviewPage
  readonly query: OverviewQuery
  readonly assets: DashboardAssets
  /** Days the report success rate covers. */
  readonly reportDays: number
  /** Sentences about sources that are off or unreadable (monitor off, reports off...). */
  readonly notes: readonly string[]
}

const COLUMNS: ReadonlyArray<{ readonly label: string, readonly sort?: SortKey, readonly num?: boolean }> = [
  { label: 'Domain', sort: 'name' },
  { label: 'Mode', sort: 'mode' },
  { label: 'Policy id (served / in DNS)' },
  { label: 'Certificate', sort: 'expiry' },
  { label: 'Checks / ready for enforce' },
  { label: 'TLS reports', sort: 'rate', num: true },
  { label: 'Last fetch', sort: 'fetch' },
  { label: 'Attention', sort: 'attention' },
]

function option (value: string, label: string, selected: boolean): string {
  return `<option value="${escapeHtml(value)}"${selected ? ' selected' : ''}>${escapeHtml(label)}</option>`
}

function filterForm (query: OverviewQuery): string {
  const sorts: ReadonlyArray<[SortKey, string]> = [['attention', 'needs attention first'], ['name', 'domain'], ['mode', 'mode'], ['rate', 'success rate (lowest first)'], ['expiry', 'certificate expiry (soonest first)'], ['fetch', 'last fetch (latest first)']]
  return `<form class="filters" method="get" action="/ui/" role="search" aria-label="Filter tenants">
<div><label for="filter-q">Domain contains</label><input id="filter-q" name="q" type="search" value="${escapeHtml(query.q)}" maxlength="253"></div>
<div><label for="filter-mode">Mode</label><select id="filter-mode" name="mode">${option('', 'any', query.mode === undefined)}${option('enforce', 'enforce', query.mode === 'enforce')}${option('testing', 'testing', query.mode === 'testing')}${option('none', 'none', query.mode === 'none')}</select></div>
<div class="check"><input id="filter-attention" name="attention" type="checkbox" value="1"${query.attention ? ' checked' : ''}> <label for="filter-attention">Needs attention only</label></div>
<div><label for="filter-sort">Sort by</label><select id="filter-sort" name="sort">${sorts.map(([v, l]) => option(v, l, query.sort === v)).join('')}</select></div>
<div><button type="submit">Apply</button> <a href="/ui/">Reset</a></div>
</form>`
}

function header (query: OverviewQuery): string {
  return COLUMNS.map(c => {
    const cls = c.num === true ? ' class="num"' : ''
    if (c.sort === undefined) return `<th scope="col"${cls}>${escapeHtml(c.label)}</th>`
    const active = query.sort === c.sort
    // aria-sort tells screen readers which column orders the rows; the link flips the order of the active column.
    const sortState = active ? ` aria-sort="${query.reverse ? 'descending' : 'ascending'}"` : ''
    const href = overviewHref(query, { sort: c.sort, reverse: active && !query.reverse, page: 1 })
    const hint = active ? (query.reverse ? ' (reversed)' : ' (sorted)') : ''
    return `<th scope="col"${cls}${sortState}><a href="${escapeHtml(href)}">${escapeHtml(c.label)}${escapeHtml(hint)}</a></th>`
  }).join('')
}

function reportsCell (row: OverviewRow, days: number): string {
  const r = row.reports
  if (r === undefined || r.successRate === undefined) return stateLabel('none', 'no reports')
  const percent = `${(Math.floor(r.successRate * 1000) / 10).toFixed(1)}%`
  const tone = r.failed === 0 ? 'good' : r.successRate >= 0.99 ? 'warn' : 'bad'
  return `${stateLabel(tone, percent)}<br><span class="note">${escapeHtml(`${r.failed} failed of ${r.successful + r.failed} sessions, ${days} d`)}</span>`
}

function rowHtml (row: OverviewRow, days: number): string {
  const href = `/ui/tenants/${encodeURIComponent(row.domain)}`
  const check = row.check
  const cells = [
    `<th scope="row"><a href="${escapeHtml(href)}">${escapeHtml(row.domain)}</a></th>`,
    `<td>${escapeHtml(row.mode)}</td>`,
    `<td><code>${escapeHtml(row.policyId)}</code><br>${txtLabel(row.txt, row.publishedId)}</td>`,
    `<td>${certificateLabel(row.certificate, row.certificateDaysLeft, EXPIRY_ATTENTION_DAYS)}</td>`,
    `<td>${check === undefined
      ? stateLabel('none', 'not checked yet')
      : `${checkStatusLabel(check.status)}<br>${check.readyForEnforce ? stateLabel('good', 'ready') : stateLabel('bad', 'not ready')}`}</td>`,
    `<td class="num">${reportsCell(row, days)}</td>`,
    `<td>${row.lastFetch === undefined ? stateLabel('none', 'none seen') : `${escapeHtml(formatTime(row.lastFetch.at))}<br><span class="note">${escapeHtml(row.lastFetch.sender)}</span>`}</td>`,
    `<td>${row.attention.length === 0 ? stateLabel('good', 'none') : `<ul class="reasons">${row.attention.map(a => `<li>${stateLabel('bad', a)}</li>`).join('')}</ul>`}</td>`,
  ]
  return `<tr>${cells.join('')}</tr>`
}

function pager (view: OverviewView): string {
  const { page, pages } = view.page
  const prev = page > 1 ? `<a href="${escapeHtml(overviewHref(view.query, { page: page - 1 }))}" rel="prev">Previous page</a>` : '<span class="note">Previous page</span>'
  const next = page < pages ? `<a href="${escapeHtml(overviewHref(view.query, { page: page + 1 }))}" rel="next">Next page</a>` : '<span class="note">Next page</span>'
  return `<nav class="pages" aria-label="Pages">${prev}<span>Page ${page} of ${pages}</span>${next}</nav>`
}

/** The overview page: filter form, one row per tenant of the current page, pager. */
export function renderOverview (view: OverviewView): string {
  const { page } = view
  const count = page.matching === page.total
    ? `${page.total} tenants`
    : `${page.matching} of ${page.total} tenants match`
  const notes = view.notes.map(n => `<p class="note">${escapeHtml(n)}</p>`).join('\n')
  const table = page.rows.length === 0
    ? '<p>No tenant matches these filters.</p>'
    : `<div class="table-wrap"><table>
<caption>Tenants, page ${page.page} of ${page.pages} (${escapeHtml(count)})</caption>
<thead><tr>${header(view.query)}</tr></thead>
<tbody>
${page.rows.map(r => rowHtml(r, view.reportDays)).join('\n')}
</tbody>
</table></div>`
  const main = `<h1>Tenants</h1>
${filterForm(view.query)}
<p id="tenant-count" role="status">${escapeHtml(count)}.</p>
${notes}
${table}
${pager(view)}`
  return pageLayout({ title: 'Tenants', main, assets: view.assets })
}
