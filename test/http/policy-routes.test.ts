import { PassThrough } from 'node:stream'
import t from 'tap'
import { parseConfig } from '../../src/config/load-config.js'
import { buildApp } from '../../src/http/build-app.js'
import { POLICY_HEADERS } from '../../src/http/policy-headers.js'
import { MAX_HEADER_SETS, POLICY_PATH } from '../../src/http/policy-routes.js'
import { createLogger } from '../../src/log.js'
import { createMetrics } from '../../src/metrics.js'
import { buildSnapshot } from '../../src/tenants/tenant-snapshot.js'

t.test('more policy lengths than header sets kept: every 200 still has its length and the policy headers, and is counted per tenant', async t => {
  // A policy length per tenant: i / 50 mx names of one length, and one of 1 to 50 letters.
  const n = MAX_HEADER_SETS + 2
  const mx = (i: number): string[] => [
    ...Array.from({ length: Math.floor(i / 50) }, (_, j) => `x${String(j).padStart(2, '0')}${'a'.repeat(48)}.example.net`),
    `${'b'.repeat((i % 50) + 1)}.example.net`,
  ]
  const yaml = ['tenants:', ...Array.from({ length: n }, (_, i) => `  t${i}.example:\n    mx: [${mx(i).join(', ')}]`)].join('\n')
  const result = parseConfig(yaml, '/etc/mta-sts/config.yaml')
  if (!result.ok) throw new Error('bad fixture')
  const snapshot = buildSnapshot(result.config)
  const metrics = createMetrics(() => undefined)
  const app = await buildApp({ role: 'https' }, {
    logger: createLogger('silent', new PassThrough()),
    metrics,
    tenants: () => snapshot,
    readiness: () => ({ ready: true, reasons: [], details: {} }),
    certificates: () => [],
  })
  t.teardown(() => app.close())
  const lengths = new Set<number>()
  const wrong: string[] = []
  // The first tenant again after the kept sets started over.
  for (const i of [...Array.from({ length: n }, (_, i) => i), 0]) {
    const host = `mta-sts.t${i}.example`
    const res = await app.inject({ url: POLICY_PATH, headers: { host } })
    const body = snapshot.byHost.get(host)?.body
    lengths.add(res.rawPayload.length)
    const expected = { ...POLICY_HEADERS, 'content-length': String(body?.length) }
    if (res.statusCode !== 200 || !res.rawPayload.equals(body ?? Buffer.alloc(0)) || Object.entries(expected).some(([k, v]) => res.headers[k] !== v)) wrong.push(host)
  }
  t.same(wrong, [], 'every answer complete')
  t.equal(lengths.size, n, 'as many lengths as tenants')
  const text = await metrics.registry.metrics()
  t.match(text, 'mta_sts_policy_fetches_total{tenant="t0.example",status="200"} 2')
  t.match(text, `mta_sts_policy_fetches_total{tenant="t${n - 1}.example",status="200"} 1`)
})
