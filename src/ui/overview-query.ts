import type { PolicyMode } from '../config/types.js'
import type { OverviewRow } from './overview-rows.js'

/** Orders of the overview (`sort=`). */
export const SORT_KEYS = ['attention', 'name', 'mode', 'rate', 'expiry', 'fetch'] as const
export type SortKey = typeof SORT_KEYS[number]

const MODES: readonly PolicyMode[] = ['enforce', 'testing', 'none']

/** The overview's query parameters, each checked (an unknown value falls back to its default). */
export interface OverviewQuery {
  /** Text the domain must contain (lower case; empty: any). */
  readonly q: string
  /** Only tenants in this mode (absent: any). */
  readonly mode?: PolicyMode
  /** Only tenants that need attention. */
  readonly attention: boolean
  readonly sort: SortKey
  /** Reverse the sort's natural order. */
  readonly reverse: boolean
  /** 1-based. */
  readonly page: number
}

/** One page of the overview. */
export interface OverviewPage {
  readonly rows: readonly OverviewRow[]
  /** Tenants in the snapshot. */
  readonly total: number
  /** Tenants that pass the filters. */
  readonly matching: number
  readonly page: number
  readonly pages: number
}

/** The first string of a query parameter (Fastify gives an array when it is repeated). */
function first (value: unknown): string | undefined {
  const v = Array.isArray(value) ? value[0] : value
  return typeof v === 'string' ? v : undefined
}

/** The overview's parameters from a parsed query string, never failing: bad values fall back to defaults. */
export function parseOverviewQuery (query: Readonly<Record<string, unknown>>): OverviewQuery {
  const mode = first(query.mode)
  const sort = first(query.sort)
  const page = Number.parseInt(first(query.page) ?? '', 10)
  return {
    q: (first(query.q) ?? '').trim().toLowerCase().slice(0, 253),
    ...(MODES.includes(mode as PolicyMode) ? { mode: mode as PolicyMode } : {}),
    attention: first(query.attention) === '1',
    sort: SORT_KEYS.includes(sort as SortKey) ? sort as SortKey : 'attention',
    reverse: first(query.order) === 'reverse',
    page: Number.isSafeInteger(page) && page > 0 ? page : 1,
  }
}

/** The query string of `query` with `changes` applied; defaults left out, so links stay short. */
export function overviewHref (query: OverviewQuery, changes: Partial<OverviewQuery> = {}): string {
  const q = { ...query, ...changes }
  const params = new URLSearchParams()
  if (q.q !== '') params.set('q', q.q)
  if (q.mode !== undefined) params.set('mode', q.mode)
  if (q.attention) params.set('attention', '1')
  if (q.sort !== 'attention') params.set('sort', q.sort)
  if (q.reverse) params.set('order', 'reverse')
  if (q.page !== 1) params.set('page', String(q.page))
  const text = params.toString()
  return text === '' ? '/ui/' : `/ui/?${text}`
}

/** A sort key of a row (undefined: missing, e.g. no reports) and how two present keys compare in the natural order. */
interface Order<T> {
  readonly key: (row: OverviewRow) => T | undefined
  readonly compare: (x: T, y: T) => number
}

const numbers = (x: number, y: number): number => x - y
const strings = (x: string, y: string): number => x < y ? -1 : x > y ? 1 : 0

const ORDERS: Readonly<Record<SortKey, Order<number> | Order<string>>> = {
  // Tenants needing attention first, the most reasons first.
  attention: { key: r => -r.attention.length, compare: numbers },
  name: { key: r => r.domain, compare: strings },
  mode: { key: r => MODES.indexOf(r.mode), compare: numbers },
  // Lowest success rate first.
  rate: { key: r => r.reports?.successRate, compare: numbers },
  // Soonest expiry first.
  expiry: { key: r => r.certificate?.notAfter?.getTime(), compare: numbers },
  // Most recent fetch first.
  fetch: { key: r => r.lastFetch?.at, compare: (x: string, y: string) => strings(y, x) },
}

/**
 * Filter, sort and cut out one page of `rows`. Ties go by domain name; `reverse` flips the
 * order of present values but keeps missing ones (no reports, no certificate, no fetch) last.
 */
export function selectOverviewPage (rows: readonly OverviewRow[], query: OverviewQuery, pageSize: number): OverviewPage {
  const matching = rows.filter(r =>
    (query.q === '' || r.domain.includes(query.q)) &&
    (query.mode === undefined || r.mode === query.mode) &&
    (!query.attention || r.attention.length > 0))
  const order = ORDERS[query.sort] as Order<number | string>
  const sign = query.reverse ? -1 : 1
  const keyed = matching.map(row => ({ row, key: order.key(row) }))
  keyed.sort((a, b) => {
    if (a.key === undefined || b.key === undefined) {
      if (a.key !== b.key) return a.key === undefined ? 1 : -1
    } else {
      const c = order.compare(a.key, b.key)
      if (c !== 0) return c * sign
    }
    return strings(a.row.domain, b.row.domain)
  })
  const pages = Math.max(1, Math.ceil(keyed.length / pageSize))
  const page = Math.min(query.page, pages)
  return { rows: keyed.slice((page - 1) * pageSize, page * pageSize).map(k => k.row), total: rows.length, matching: keyed.length, page, pages }
}
