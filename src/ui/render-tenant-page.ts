import type { DomainReport } from '../check/types.js'
import type { CountedValue, DaySummary } from '../db/report-store.js'
import { firstDay } from '../db/utc-day.js'
import { dnsRecords } from '../dns/dns-records.js'
import type { DomainFetches, PolicyChange } from '../stats/types.js'
import type { TenantEntry } from '../tenants/tenant-snapshot.js'
import type { CertificateStatus } from '../tls/certificate-types.js'
import type { DashboardAssets } from './dashboard-assets.js'
import { escapeHtml } from './escape-html.js'
import { jsonScript } from './json-script.js'
import { EXPIRY_ATTENTION_DAYS, txtState } from './overview-rows.js'
import { pageLayout } from './page-layout.js'
import { certificateLabel, checkStatusLabel, formatTime, stateLabel, txtLabel } from './state-labels.js'

/** Days the tenant page's report and fetch sections cover. */
export const TENANT_PAGE_DAYS = 30

const DAY_MS = 86_400_000

/** A data source of a page: switched off, unreadable just now, or read. */
export type Source<T> = { readonly state: 'off' } | { readonly state: 'error' } | { readonly state: 'ok', readonly value: T }

/** What the tenant page shows. */
export interface TenantPageData {
  readonly tenant: TenantEntry
  readonly certificate?: CertificateStatus
  /** The latest set-up check report: off (monitor off), or read (undefined: not checked yet). */
  readonly check: Source<DomainReport | undefined>
  readonly reports: Source<readonly DaySummary[]>
  readonly fetches: Source<DomainFetches>
  readonly history: Source<readonly PolicyChange[]>
  readonly dnsTarget: readonly string[]
  /** Last day shown (`YYYY-MM-DD`, UTC; today). */
  readonly until: string
  readonly now: Date
  readonly assets: DashboardAssets
}

/** Rows of a table: column headers and cells (already HTML). */
function table (caption: string, columns: readonly string[], rows: readonly (readonly string[])[], numeric: readonly number[] = []): string {
  const cls = (i: number): string => numeric.includes(i) ? ' class="num"' : ''
  return `<div class="table-wrap"><table>
<caption>${escapeHtml(caption)}</caption>
<thead><tr>${columns.map((c, i) => `<th scope="col"${cls(i)}>${escapeHtml(c)}</th>`).join('')}</tr></thead>
<tbody>
${rows.map(r => `<tr>${r.map((c, i) => i === 0 ? `<th scope="row"${cls(i)}>${c}</th>` : `<td${cls(i)}>${c}</td>`).join('')}</tr>`).join('\n')}
</tbody>
</table></div>`
}

function section (id: string, title: string, body: string): string {
  return `<section aria-labelledby="${id}"><h2 id="${id}">${escapeHtml(title)}</h2>
${body}
</section>`
}

const sentence = (text: string): string => `<p class="note">${escapeHtml(text)}</p>`

/** The sentence for a source that is off or failed, or undefined when it was read. */
function unavailable (source: Source<unknown>, off: string): string | undefined {
  if (source.state === 'off') return sentence(off)
  if (source.state === 'error') return sentence('This could not be read just now (see the service log); reload the page to try again.')
  return undefined
}

const REPORTS_OFF = 'TLS reports are off (reports.enabled: false), so there is nothing to show here.'
const STATS_OFF = 'Fetch statistics are off (stats.enabled: false), so there is nothing to show here.'

/** The `days` days ending with `until`, oldest first. */
function dayList (until: string, days: number): string[] {
  const start = Date.parse(`${firstDay(until, days)}T00:00:00Z`)
  return Array.from({ length: days }, (_, i) => new Date(start + i * DAY_MS).toISOString().slice(0, 10))
}

const unixSeconds = (day: string): number => Date.parse(`${day}T00:00:00Z`) / 1000

/** A chart's numbers as a table, folded away (a native `<details>`, so it opens without JavaScript too). */
function numbers (tableHtml: string): string {
  return `<details class="numbers"><summary>The numbers as a table</summary>\n${tableHtml}\n</details>`
}

/** A chart drawn by the dashboard script from a JSON block; the figure says where the same numbers are. */
function chart (id: string, label: string, data: unknown): string {
  return `<figure class="chart"><div class="chart-area" id="${id}" data-chart="${id}-data" role="img" aria-label="${escapeHtml(label)}"></div>
<figcaption>${escapeHtml(label)}; the same numbers are in the table below it.</figcaption></figure>
${jsonScript(`${id}-data`, data)}`
}

function summarySection (data: TenantPageData): string {
  const { tenant } = data
  const report = data.check.state === 'ok' ? data.check.value : undefined
  const txt = txtState(report)
  const daysLeft = data.certificate?.notAfter === undefined ? undefined : Math.floor((data.certificate.notAfter.getTime() - data.now.getTime()) / DAY_MS)
  const verdict = data.check.state === 'off'
    ? stateLabel('none', 'the set-up monitor is off (check.monitor.interval: 0)')
    : report === undefined
      ? stateLabel('none', 'not checked yet')
      : `${checkStatusLabel(report.status)} (checked ${escapeHtml(formatTime(report.checkedAt))})`
  const ready = report === undefined
    ? stateLabel('none', 'unknown')
    : report.readyForEnforce
      ? stateLabel('good', 'ready')
      : `${stateLabel('bad', 'not ready')}<ul class="reasons">${report.reasons.map(r => `<li>${escapeHtml(r)}</li>`).join('')}</ul>`
  return section('summary', 'Summary', `<dl class="summary">
<dt>Mode</dt><dd>${escapeHtml(tenant.mode)}</dd>
<dt>Policy id</dt><dd><code>${escapeHtml(tenant.id)}</code></dd>
<dt>Published _mta-sts id</dt><dd>${txtLabel(txt.txt, txt.publishedId)}</dd>
<dt>MX patterns</dt><dd>${tenant.mx.map(m => `<code>${escapeHtml(m)}</code>`).join(', ')}</dd>
<dt>Certificate of ${escapeHtml(tenant.host)}</dt><dd>${certificateLabel(data.certificate, daysLeft, EXPIRY_ATTENTION_DAYS)}</dd>
<dt>Set-up checks</dt><dd>${verdict}</dd>
<dt>Ready for enforce</dt><dd>${ready}</dd>
</dl>`)
}

/** Counted values added up over days, most sessions first (ties by value). */
function addUp (lists: ReadonlyArray<readonly CountedValue[]>): CountedValue[] {
  const totals = new Map<string, number>()
  for (const list of lists) for (const c of list) totals.set(c.value, (totals.get(c.value) ?? 0) + c.sessions)
  return [...totals].map(([value, sessions]) => ({ value, sessions })).sort((a, b) => b.sessions - a.sessions || a.value.localeCompare(b.value))
}

function reportSections (data: TenantPageData, days: readonly string[]): string {
  const off = unavailable(data.reports, REPORTS_OFF)
  const sessionsTitle = `TLS report sessions per day (last ${TENANT_PAGE_DAYS} days)`
  const detailTitle = 'Failures and reporting organisations'
  if (off !== undefined) return section('sessions', sessionsTitle, off) + '\n' + section('failures', detailTitle, off)
  const summaries = (data.reports as { value: readonly DaySummary[] }).value
  if (summaries.length === 0) {
    const none = sentence(`No TLS reports for this domain in the last ${TENANT_PAGE_DAYS} days.`)
    return section('sessions', sessionsTitle, none) + '\n' + section('failures', detailTitle, none)
  }
  const byDay = new Map(summaries.map(s => [s.day, s]))
  const rows = days.map(day => ({ day, s: byDay.get(day) }))
  const sessions = chart('chart-sessions', 'Successful and failed sessions per day', {
    x: days.map(unixSeconds),
    yLabel: 'sessions',
    series: [
      { label: 'successful', values: rows.map(r => r.s?.successfulSessions ?? 0) },
      { label: 'failed', values: rows.map(r => r.s?.failedSessions ?? 0) },
    ],
  }) + '\n' + numbers(table('Sessions per day', ['Day', 'Successful', 'Failed', 'Reports'],
    rows.map(r => [escapeHtml(r.day), String(r.s?.successfulSessions ?? 0), String(r.s?.failedSessions ?? 0), String(r.s?.reports ?? 0)]), [1, 2, 3]))
  const counted = (caption: string, column: string, values: readonly CountedValue[], none: string): string => values.length === 0
    ? sentence(none)
    : table(caption, [column, 'Failed sessions'], values.map(v => [escapeHtml(v.value), String(v.sessions)]), [1])
  const orgDays = new Map<string, number>()
  for (const s of summaries) for (const o of s.organizations) orgDays.set(o, (orgDays.get(o) ?? 0) + 1)
  const orgs = [...orgDays].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
  const detail = [
    counted('Failure types', 'Result type', addUp(summaries.map(s => s.failureTypes)), 'No failures reported.'),
    counted('Failing MX hosts', 'MX host', addUp(summaries.map(s => s.failingMxHosts)), 'No failing MX host reported.'),
    table('Reporting organisations', ['Organisation', 'Days with reports'], orgs.map(([o, n]) => [escapeHtml(o), String(n)]), [1]),
  ].join('\n')
  return section('sessions', sessionsTitle, sessions) + '\n' + section('failures', detailTitle, detail)
}

function fetchSections (data: TenantPageData, days: readonly string[]): string {
  const fetchTitle = `Policy fetches per day by policy id (last ${TENANT_PAGE_DAYS} days)`
  const networkTitle = 'Distinct client networks per day'
  const off = unavailable(data.fetches, STATS_OFF)
  if (off !== undefined) return section('fetches', fetchTitle, off) + '\n' + section('networks', networkTitle, off)
  const fetches = (data.fetches as { value: DomainFetches }).value
  let fetchBody: string
  if (fetches.days.length === 0) {
    fetchBody = sentence(`No policy fetches recorded in the last ${TENANT_PAGE_DAYS} days.`)
  } else {
    // One series per policy id, in the order the ids were first fetched: a new id shows as a line taking over.
    const ids = [...new Set(fetches.days.map(f => f.policyId))]
    const perId = new Map(ids.map(id => [id, new Map<string, number>()]))
    for (const f of fetches.days) {
      const counts = perId.get(f.policyId) as Map<string, number>
      counts.set(f.day, (counts.get(f.day) ?? 0) + f.fetches)
    }
    fetchBody = chart('chart-fetches', 'Policy fetches per day, one line per policy id', {
      x: days.map(unixSeconds),
      yLabel: 'fetches',
      series: ids.map(id => ({ label: id === data.tenant.id ? `${id} (served now)` : id, values: days.map(d => perId.get(id)?.get(d) ?? 0) })),
    }) + '\n' + numbers(table('Fetches per day, policy id and sender', ['Day', 'Policy id', 'Sender', 'Fetches', 'Latest'],
      fetches.days.map(f => [escapeHtml(f.day), `<code>${escapeHtml(f.policyId)}</code>${f.policyId === data.tenant.id ? ' (served now)' : ''}`, escapeHtml(f.sender), String(f.fetches), escapeHtml(formatTime(f.lastAt))]), [3]))
  }
  const networkBody = fetches.networks.length === 0
    ? sentence('No client networks recorded.')
    : table('Distinct client networks (/24 IPv4, /48 IPv6) per day', ['Day', 'Networks'], fetches.networks.map(n => [escapeHtml(n.day), String(n.count)]), [1])
  return section('fetches', fetchTitle, fetchBody) + '\n' + section('networks', networkTitle, networkBody)
}

function checkSection (data: TenantPageData): string {
  const title = 'Set-up checks'
  const off = unavailable(data.check, 'The set-up monitor is off (check.monitor.interval: 0); run mta-sts-host check for a report.')
  if (off !== undefined) return section('checks', title, off)
  const report = (data.check as { value: DomainReport | undefined }).value
  if (report === undefined) return section('checks', title, sentence('Not checked yet: the monitor has not reached this tenant.'))
  return section('checks', title, `<p>Checked ${escapeHtml(formatTime(report.checkedAt))}.</p>
${table('Check results', ['Check', 'Status', 'Found', 'How to fix'], report.results.map(r => [escapeHtml(r.name), checkStatusLabel(r.status), escapeHtml(r.reason), r.hint === undefined ? '' : escapeHtml(r.hint)]))}`)
}

function dnsSection (data: TenantPageData): string {
  const records = dnsRecords(data.tenant, data.dnsTarget)
  return section('dns', 'DNS records to publish', table('Records', ['Name', 'Type', 'Value', 'Purpose'], records.map(r => [
    `<code>${escapeHtml(r.name)}</code>`, escapeHtml(r.type), r.value === null ? stateLabel('warn', 'set dns.target in the configuration') : `<code>${escapeHtml(r.value)}</code>`, escapeHtml(r.purpose),
  ])))
}

function historySection (data: TenantPageData): string {
  const title = 'Mode and policy id history'
  const off = unavailable(data.history, REPORTS_OFF.replace('TLS reports are off', 'The report database is off'))
  if (off !== undefined) return section('history', title, off)
  const history = (data.history as { value: readonly PolicyChange[] }).value
  if (history.length === 0) return section('history', title, sentence('No change recorded yet.'))
  return section('history', title, table('Changes, newest first', ['Since', 'Mode', 'Policy id'],
    history.map(h => [escapeHtml(formatTime(h.at)), escapeHtml(h.mode), h.policyId === '' ? stateLabel('none', 'none (removed)') : `<code>${escapeHtml(h.policyId)}</code>`])))
}

/** The tenant page: summary, reports, fetches, checks, DNS records, history; each section says so when its source is off. */
export function renderTenantPage (data: TenantPageData): string {
  const days = dayList(data.until, TENANT_PAGE_DAYS)
  const main = [
    `<h1>Tenant ${escapeHtml(data.tenant.domain)}</h1>`,
    summarySection(data),
    reportSections(data, days),
    fetchSections(data, days),
    checkSection(data),
    dnsSection(data),
    historySection(data),
  ].join('\n')
  return pageLayout({ title: data.tenant.domain, main, assets: data.assets, charts: true })
}
