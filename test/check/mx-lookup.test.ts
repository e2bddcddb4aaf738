import t from 'tap'
import { lookupMx } from '../../src/check/mx-lookup.js'
import type { CheckContext, DnsResolver } from '../../src/check/types.js'
import { checkContext } from './tenant-fixture.js'

function context (resolveMx: DnsResolver['resolveMx'], timeoutMs = 1000): CheckContext {
  const unused = async (): Promise<never> => { throw new Error('not used') }
  // The fixture's context, with a scripted resolver instead of a DNS server.
  return checkContext('127.0.0.1:9', { timeoutMs, resolver: { resolveMx, resolveTxt: unused, resolve4: unused, resolve6: unused, resolveCname: unused } })
}

t.test('sorted by preference (stable), normalised, hosts distinct and without the null MX', async t => {
  const records = [
    { exchange: 'mx3.example.com', priority: 30 },
    { exchange: 'MX2.example.com.', priority: 20 },
    { exchange: 'mx1.example.com', priority: 10 },
    { exchange: 'mx2.example.com', priority: 20 },
  ]
  const asked: string[] = []
  const lookup = await lookupMx(context(async name => { asked.push(name); return records }))
  t.same(asked, ['example.com'])
  t.same(lookup, {
    ok: true,
    records,
    names: ['mx1.example.com', 'mx2.example.com', 'mx2.example.com', 'mx3.example.com'],
    hosts: ['mx1.example.com', 'mx2.example.com', 'mx3.example.com'],
    nullMx: false,
  })
})

t.test('a null MX ("." or, from node, "") is told apart', async t => {
  const only = await lookupMx(context(async () => [{ exchange: '', priority: 0 }]))
  t.match(only, { ok: true, names: [''], hosts: [], nullMx: true })
  const mixed = await lookupMx(context(async () => [{ exchange: 'mx.example.com', priority: 10 }, { exchange: '.', priority: 0 }]))
  t.match(mixed, { ok: true, names: ['', 'mx.example.com'], hosts: ['mx.example.com'], nullMx: true })
  t.match(await lookupMx(context(async () => [])), { ok: true, names: [], hosts: [], nullMx: false })
})

t.test('a failed lookup gives the error; a lookup is bounded by the timeout', async t => {
  const nx = Object.assign(new Error('queryMx ENOTFOUND example.com'), { code: 'ENOTFOUND' })
  t.same(await lookupMx(context(async () => { throw nx })), { ok: false, error: nx })
  const slow = await lookupMx(context(() => new Promise(() => {}), 20))
  t.match(slow, { ok: false, error: { code: 'ETIMEOUT', message: 'MX example.com: no answer within 20 ms' } })
})
