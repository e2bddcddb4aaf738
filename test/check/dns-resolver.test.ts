import t from 'tap'
import { createResolver, withTimeout } from '../../src/check/dns-resolver.js'
import { startDnsServer } from '../helpers/dns-server.js'

t.test('answers A, AAAA, TXT, MX and CNAME from the configured server', async t => {
  const dns = await startDnsServer(t, {
    'example.com': { A: ['192.0.2.1'], AAAA: ['2001:db8::1'], MX: [{ exchange: 'mx1.example.com', priority: 10 }], TXT: [['v=spf1 -all'], ['a', 'b']] },
    'alias.example.com': { CNAME: 'example.com' },
  })
  const r = createResolver({ servers: [dns.address], timeoutMs: 2000 })
  t.same(await r.resolve4('example.com'), ['192.0.2.1'])
  t.same(await r.resolve6('example.com'), ['2001:db8::1'])
  t.same(await r.resolveMx('example.com'), [{ exchange: 'mx1.example.com', priority: 10 }])
  t.same((await r.resolveTxt('example.com')).sort(), [['a', 'b'], ['v=spf1 -all']])
  t.same(await r.resolveCname('alias.example.com'), ['example.com'])
  t.same(await r.resolve4('alias.example.com'), ['192.0.2.1'], 'CNAME followed')
  t.same(await r.resolve4('ALIAS.Example.COM.'), ['192.0.2.1'], 'case and trailing dot')
})

t.test('keeps node error codes: ENOTFOUND, ENODATA, ETIMEOUT', async t => {
  const dns = await startDnsServer(t, { 'example.com': { A: ['192.0.2.1'] }, 'slow.example.com': { silent: true } })
  const r = createResolver({ servers: [dns.address], timeoutMs: 300, tries: 1 })
  await t.rejects(r.resolveTxt('nope.example.com'), { code: 'ENOTFOUND' })
  await t.rejects(r.resolveTxt('example.com'), { code: 'ENODATA' })
  const started = Date.now()
  await t.rejects(r.resolve4('slow.example.com'), { code: 'ETIMEOUT' })
  t.ok(Date.now() - started < 2000, 'bounded by the timeout')
  t.ok(dns.queries.includes('A slow.example.com'))
})

t.test('default tries and system servers', async t => {
  const r = createResolver({ timeoutMs: 1000 })
  t.type(r.resolve4, 'function', 'made without a server list')
  const dns = await startDnsServer(t, { 'example.com': { A: ['192.0.2.7'] } })
  const r2 = createResolver({ servers: [], timeoutMs: 1000 })
  t.type(r2.resolveTxt, 'function', 'empty list means system servers')
  t.same(await createResolver({ servers: [dns.address], timeoutMs: 1000 }).resolve4('example.com'), ['192.0.2.7'])
})

t.test('withTimeout rejects with ETIMEOUT, passes values and errors through', async t => {
  await t.rejects(withTimeout(new Promise(() => {}), 20, 'A x'), { code: 'ETIMEOUT', message: /A x: no answer within 20 ms/ })
  t.equal(await withTimeout(Promise.resolve(5), 1000, 'x'), 5)
  await t.rejects(withTimeout(Promise.reject(new Error('boom')), 1000, 'x'), { message: 'boom' })
})
