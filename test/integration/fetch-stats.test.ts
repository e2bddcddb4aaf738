import t from 'tap'
import { preamble, replaceFile, startService } from '../helpers/service-harness.js'

const tenants = (modeA: string, withB = true): string => [
  'stats:',
  '  flush_interval: 3600',
  '  senders:',
  '    - { name: loopback-mta, networks: ["127.0.0.0/8"], user_agent: "^never$" }',
  'tenants:',
  `  a.example: { mode: ${modeA}, mx: [mx.a.example] }`,
  ...(withB ? ['  b.example: { mode: enforce, mx: [mx.b.example] }'] : []),
  '',
].join('\n')

t.test('policy fetches over real TLS are counted per tenant, id and sender, written on flush; reloads go into the policy history', async t => {
  const h = await startService(t, tenants('testing'))
  const stats = h.service.stats
  const store = h.service.reports
  if (stats === undefined || store === undefined) throw new Error('stats should be on by default')

  for (let i = 0; i < 3; i++) t.equal((await h.fetch('mta-sts.a.example', { headers: { 'user-agent': 'Google-MTA-STS' } })).status, 200)
  t.equal((await h.fetch('mta-sts.b.example')).status, 200)
  t.equal((await h.fetch('mta-sts.a.example', { path: '/nothing' })).status, 404)
  t.same(await store.lastFetches(), [], 'nothing written per request')

  const a = await stats.fetchesFor('a.example', 1)
  t.same(a.days.map(d => [d.sender, d.fetches]), [['loopback-mta', 3]], 'a configured range comes before the built-in User-Agent class; the 404 is not counted')
  t.same(a.networks.map(n => n.count), [1], 'one /24')
  const idTesting = a.days[0]?.policyId
  t.equal(idTesting, h.service.holder.snapshot.byHost.get('mta-sts.a.example')?.id)

  let history = await store.policyHistory('a.example', 10)
  for (let i = 0; i < 50 && history.length === 0; i++) {
    await new Promise(resolve => setTimeout(resolve, 20))
    history = await store.policyHistory('a.example', 10)
  }
  t.same(history.map(c => [c.mode, c.policyId]), [['testing', idTesting]], 'the start is recorded')

  await replaceFile(h.configFile, preamble(h.dir) + tenants('enforce', false))
  await h.waitForLog(l => l.event === 'reload')
  t.equal((await h.fetch('mta-sts.a.example')).status, 200)
  const idEnforce = h.service.holder.snapshot.byHost.get('mta-sts.a.example')?.id
  const deadline = Date.now() + 5000
  while ((await store.policyHistory('b.example', 10)).length < 2 && Date.now() < deadline) await new Promise(resolve => setTimeout(resolve, 20))
  t.same((await store.policyHistory('a.example', 10)).map(c => [c.mode, c.policyId]), [['enforce', idEnforce], ['testing', idTesting]], 'newest first')
  t.same((await store.policyHistory('b.example', 10)).map(c => c.mode), ['none', 'enforce'], 'removed while enforcing: retired, served as mode none')

  const after = await stats.fetchesFor('a.example', 1)
  t.same(after.days.map(d => [d.policyId, d.fetches]).sort((x, y) => Number(y[1]) - Number(x[1])), [[idTesting, 3], [idEnforce, 1]], 'pickup of the new id is visible')
  t.equal((await stats.lastFetches()).get('a.example')?.policyId, idEnforce)
})

t.test('stats.enabled: false counts nothing', async t => {
  const h = await startService(t, 'stats: { enabled: false }\ntenants:\n  a.example: { mx: [mx.a.example] }\n')
  t.equal(h.service.stats, undefined)
  t.equal((await h.fetch('mta-sts.a.example')).status, 200)
})
