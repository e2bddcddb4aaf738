import { PassThrough } from 'node:stream'
import t from 'tap'
import { parseConfig } from '../../src/config/load-config.js'
import { buildApp, type AppDeps } from '../../src/http/build-app.js'
import type { Readiness } from '../../src/http/health-routes.js'
import { createLogger } from '../../src/log.js'
import { createMetrics } from '../../src/metrics.js'
import { buildSnapshot, type TenantSnapshot } from '../../src/tenants/tenant-snapshot.js'

const YAML = `
tenants:
  example.com:
    mode: enforce
    mx: [mx1.example.com]
  example.org:
    mx: [mail.example.org]
`

function deps (ready: Readiness = { ready: true, reasons: [], details: { config: { tenants: 2 } } }) {
  const result = parseConfig(YAML, '/etc/mta-sts/config.yaml')
  if (!result.ok) throw new Error('bad fixture')
  const snapshot: TenantSnapshot = buildSnapshot(result.config)
  const lines: Record<string, unknown>[] = []
  const stream = new PassThrough()
  stream.on('data', (c: Buffer) => { for (const l of c.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(l) as Record<string, unknown>) })
  const d: AppDeps = {
    logger: createLogger('info', stream),
    metrics: createMetrics(() => ({ expiries: () => [{ host: 'mta-sts.example.com', notAfter: new Date('2030-01-01T00:00:00Z') }], status: () => [{ state: 'valid' }, { state: 'missing' }] })),
    tenants: () => snapshot,
    readiness: () => ready,
    certificates: () => [{ host: 'mta-sts.example.com', state: 'valid', notAfter: new Date('2030-01-01T00:00:00Z'), failures: 0 }],
  }
  return { d, lines, snapshot }
}

t.test('https app: policy by Host, 404 and 405', async t => {
  const { d, lines, snapshot } = deps()
  const app = await buildApp({ role: 'https' }, d)
  t.teardown(() => app.close())
  const res = await app.inject({ url: '/.well-known/mta-sts.txt', headers: { host: 'mta-sts.example.com', 'user-agent': 'Postfix' } })
  t.equal(res.statusCode, 200)
  t.equal(res.body, 'version: STSv1\r\nmode: enforce\r\nmx: mx1.example.com\r\nmax_age: 604800\r\n')
  t.equal(res.headers['content-type'], 'text/plain; charset=utf-8')
  const query = await app.inject({ url: '/.well-known/mta-sts.txt?x=1', headers: { host: 'mta-sts.example.org' } })
  t.equal(query.statusCode, 200, 'a query string does not matter')
  t.equal((await app.inject({ method: 'HEAD', url: '/.well-known/mta-sts.txt', headers: { host: 'mta-sts.example.org' } })).body, '')
  const post = await app.inject({ method: 'POST', url: '/.well-known/mta-sts.txt', headers: { host: 'mta-sts.example.org' } })
  t.equal(post.statusCode, 405)
  for (const host of ['example.com', 'mta-sts.example.net', 'mta-sts.example.com.evil.net']) {
    const r = await app.inject({ url: '/.well-known/mta-sts.txt', headers: { host } })
    t.equal(r.statusCode, 404, host)
    t.equal(r.body, 'Not Found\n')
  }
  t.equal((await app.inject({ url: '/', headers: { host: 'mta-sts.example.com' } })).statusCode, 404)
  const fetches = lines.filter(l => l.event === 'policy_fetch')
  t.equal(fetches.length, 6, 'one log line per policy fetch (GET, HEAD, unknown hosts), none for other paths')
  t.match(fetches[0], { tenant: 'example.com', host: 'mta-sts.example.com', policy_id: snapshot.byHost.get('mta-sts.example.com')!.id, mode: 'enforce', status: 200, user_agent: 'Postfix', tls: null })
  t.match(fetches.at(-1), { tenant: null, policy_id: null, status: 404 })
  const metrics = await d.metrics.registry.metrics()
  t.match(metrics, 'mta_sts_policy_fetches_total{tenant="example.com",status="200"} 1')
  t.match(metrics, 'mta_sts_policy_fetches_total{tenant="",status="404"} 3')
})

t.test('http app: health and readiness, nothing else, never a redirect', async t => {
  const { d } = deps()
  const app = await buildApp({ role: 'http' }, d)
  t.teardown(() => app.close())
  t.same((await app.inject('/healthz')).json(), { status: 'ok' })
  const ready = await app.inject('/readyz')
  t.equal(ready.statusCode, 200)
  t.same(ready.json(), { status: 'ready', reasons: [] }, 'status only: details stay on ops')
  const policy = await app.inject({ url: '/.well-known/mta-sts.txt', headers: { host: 'mta-sts.example.com' } })
  t.equal(policy.statusCode, 404, 'policies only over HTTPS')
  t.notOk(policy.headers.location)
  t.equal((await app.inject('/metrics')).statusCode, 404, 'metrics only on ops')
})

t.test('readiness 503 with reasons', async t => {
  const { d } = deps({ ready: false, reasons: ['shutting down'], details: {} })
  for (const role of ['http', 'ops'] as const) {
    const app = await buildApp({ role }, d)
    t.teardown(() => app.close())
    const res = await app.inject('/readyz')
    t.equal(res.statusCode, 503)
    t.same(res.json(), { status: 'not ready', reasons: ['shutting down'] })
  }
})

t.test('ops app: metrics and status', async t => {
  const { d, snapshot } = deps()
  const app = await buildApp({ role: 'ops' }, d)
  t.teardown(() => app.close())
  const metrics = await app.inject('/metrics')
  t.match(metrics.headers['content-type'], /text\/plain/)
  t.match(metrics.body, 'mta_sts_certificate_expiry_timestamp_seconds{host="mta-sts.example.com"} 1893456000')
  t.match(metrics.body, /process_resident_memory_bytes/)
  t.match(metrics.body, 'mta_sts_certificates{state="valid"} 1')
  t.match(metrics.body, 'mta_sts_certificates{state="missing"} 1')
  t.match(metrics.body, /mta_sts_certificate_days_to_expiry\{host="mta-sts\.example\.com"\} \d+/)
  const status = (await app.inject('/status')).json() as { tenants: { domain: string; policy_id: string; certificate: { state: string } }[] }
  t.same(status.tenants.map(x => [x.domain, x.policy_id, x.certificate.state]), [
    ['example.com', snapshot.tenants[0]!.id, 'valid'],
    ['example.org', snapshot.tenants[1]!.id, 'not loaded'],
  ])
})

t.test('ops app with a token: health open (status only without it), everything else 401 without it', async t => {
  const { d } = deps()
  const token = 'ops-token-0123456789'
  const app = await buildApp({ role: 'ops', opsToken: token }, d)
  t.teardown(() => app.close())
  const auth = { authorization: `Bearer ${token}` }
  t.same((await app.inject('/healthz')).json(), { status: 'ok' }, 'liveness needs no token')
  t.same((await app.inject('/readyz')).json(), { status: 'ready', reasons: [] }, 'readiness without the token: status only')
  t.same((await app.inject({ url: '/readyz', headers: auth })).json(), { status: 'ready', reasons: [], config: { tenants: 2 } }, 'with it: details')
  for (const url of ['/metrics', '/status', '/certificates', '/checks', '/nothing-here', '/status?x=1']) {
    for (const headers of [{}, { authorization: 'Bearer wrong' }, { authorization: `Basic ${token}` }]) {
      const res = await app.inject({ url, headers })
      t.equal(res.statusCode, 401, `${url} ${JSON.stringify(headers)}`)
      t.equal(res.headers['www-authenticate'], 'Bearer realm="mta-sts-host ops"')
      t.notMatch(res.body, /example\.(com|org)/)
    }
  }
  t.equal((await app.inject({ url: '/status', headers: auth })).statusCode, 200)
  t.equal((await app.inject({ url: '/metrics', headers: auth })).statusCode, 200)
  t.equal((await app.inject({ url: '/nothing-here', headers: auth })).statusCode, 404)
})
