import t from 'tap'
import { POLICY_HEADERS, policyHeaders } from '../../src/http/policy-headers.js'
import { httpsApp } from '../helpers/https-app.js'

t.test('policy answers carry exactly the headers helmet gives the other answers of the https listener', async t => {
  const { app, snapshot, metrics } = await httpsApp(t, 'tenants:\n  example.com:\n    mx: [mx1.example.com]\n')
  const pick = (headers: Record<string, unknown>): Record<string, unknown> =>
    Object.fromEntries(Object.entries(headers).filter(([k]) => !['content-length', 'date', 'connection', 'keep-alive'].includes(k)))
  // Helmet still runs for every other route: its headers there are the reference.
  const byHelmet = pick((await app.inject({ url: '/elsewhere', headers: { host: 'mta-sts.example.com' } })).headers)
  t.same(byHelmet, POLICY_HEADERS, 'the prebuilt set is what helmet sends')
  for (const [method, host, status] of [['GET', 'mta-sts.example.com', 200], ['HEAD', 'mta-sts.example.com', 200], ['GET', 'mta-sts.unknown.example', 404]] as const) {
    const res = await app.inject({ method, url: '/.well-known/mta-sts.txt', headers: { host } })
    t.equal(res.statusCode, status)
    t.same(pick(res.headers), POLICY_HEADERS, `${method} ${host}`)
    if (status === 200) {
      const body = snapshot.byHost.get(host)?.body
      t.equal(res.headers['content-length'], String(body?.length), `${method}: the length of the policy`)
      t.equal(res.rawPayload.length, method === 'HEAD' ? 0 : body?.length, `${method}: the body ${method === 'HEAD' ? 'left out' : 'written'}`)
      t.same(res.rawPayload, method === 'HEAD' ? Buffer.alloc(0) : body)
    }
  }
  await app.inject({ url: '/.well-known/mta-sts.txt', headers: { host: 'mta-sts.example.com' } })
  const counted = (await metrics.registry.getSingleMetricAsString('mta_sts_policy_fetches_total')).split('\n').filter(l => !l.startsWith('#'))
  t.same(counted.sort(), [
    'mta_sts_policy_fetches_total{tenant="",status="404"} 1',
    'mta_sts_policy_fetches_total{tenant="example.com",status="200"} 3',
  ], 'counted through the bound child and the labelled counter alike')
})

t.test('policyHeaders: the shared set plus the length, frozen, leaving the shared set as it was', async t => {
  const headers = policyHeaders(123)
  t.same(headers, { ...POLICY_HEADERS, 'content-length': '123' })
  t.ok(Object.isFrozen(headers))
  t.equal(POLICY_HEADERS['content-length'], undefined)
})
