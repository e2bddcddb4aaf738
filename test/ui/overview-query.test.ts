import t from 'tap'
import { overviewHref, parseOverviewQuery, selectOverviewPage } from '../../src/ui/overview-query.js'
import type { OverviewRow } from '../../src/ui/overview-rows.js'

const row = (domain: string, extra: Partial<OverviewRow> = {}): OverviewRow => ({ domain, mode: 'testing', policyId: 'x', txt: 'unknown', attention: [], ...extra })

t.test('parsing falls back to defaults', async t => {
  t.same(parseOverviewQuery({}), { q: '', attention: false, sort: 'attention', reverse: false, page: 1 })
  t.same(parseOverviewQuery({ q: ['  A.Example ', 'b'], mode: 'none', attention: '1', sort: 'expiry', order: 'reverse', page: '3' }),
    { q: 'a.example', mode: 'none', attention: true, sort: 'expiry', reverse: true, page: 3 })
  t.same(parseOverviewQuery({ q: 5, mode: 'x', attention: 'yes', sort: 'x', order: 'x', page: '-2' }), { q: '', attention: false, sort: 'attention', reverse: false, page: 1 })
  t.equal(parseOverviewQuery({ q: 'x'.repeat(300) }).q.length, 253)
  t.equal(parseOverviewQuery({ page: '99999999999999999999' }).page, 1, 'not a safe integer')
})

t.test('links keep the query, defaults left out', async t => {
  const q = parseOverviewQuery({ q: 'a&b', mode: 'enforce', attention: '1', sort: 'rate', order: 'reverse', page: '2' })
  t.equal(overviewHref(q), '/ui/?q=a%26b&mode=enforce&attention=1&sort=rate&order=reverse&page=2')
  t.equal(overviewHref(parseOverviewQuery({})), '/ui/')
  t.equal(overviewHref(parseOverviewQuery({}), { page: 4 }), '/ui/?page=4')
})

t.test('ties go by name, whatever the order', async t => {
  const rows = [row('c', { lastFetch: { domain: 'c', at: 't1', sender: 's', policyId: 'x' } }), row('a', { lastFetch: { domain: 'a', at: 't1', sender: 's', policyId: 'x' } }), row('b')]
  const page = (order?: string): string[] => selectOverviewPage(rows, parseOverviewQuery({ sort: 'fetch', ...(order ? { order } : {}) }), 10).rows.map(r => r.domain)
  t.same(page(), ['a', 'c', 'b'])
  t.same(page('reverse'), ['a', 'c', 'b'])
  t.same(selectOverviewPage([], parseOverviewQuery({}), 10), { rows: [], total: 0, matching: 0, page: 1, pages: 1 })
})
