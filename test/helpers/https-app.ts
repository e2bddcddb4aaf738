import { PassThrough } from 'node:stream'
import type { FastifyInstance } from 'fastify'
import type { Test } from 'tap'
import { parseConfig } from '../../src/config/load-config.js'
import { buildApp } from '../../src/http/build-app.js'
import { createLogger } from '../../src/log.js'
import { createMetrics, type Metrics } from '../../src/metrics.js'
import { buildSnapshot, type TenantSnapshot } from '../../src/tenants/tenant-snapshot.js'

/** The un-listened https app of the tenants in `yaml`, logging nowhere, closed at the end of `t`. */
export async function httpsApp (t: Test, yaml: string): Promise<{ app: FastifyInstance, snapshot: TenantSnapshot, metrics: Metrics }> {
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
  return { app, snapshot, metrics }
}
