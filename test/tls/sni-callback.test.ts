import { PassThrough } from 'node:stream'
import type { SecureContext } from 'node:tls'
import t from 'tap'
import { ManualClock } from '../../src/clock.js'
import { createLogger } from '../../src/log.js'
import { createMetrics } from '../../src/metrics.js'
import { MemoryStore } from '../../src/store/memory-store.js'
import { CertificateManager } from '../../src/tls/certificate-manager.js'
import { InternalCa } from '../../src/tls/internal-ca.js'
import { createSniCallback } from '../../src/tls/sni-callback.js'

t.test('known names get a context (async first, then cached); others an error', async t => {
  const store = new MemoryStore()
  const clock = new ManualClock()
  const issuer = await InternalCa.open({ store, clock, leafLifetime: 86400 })
  const logger = createLogger('silent', new PassThrough())
  const manager = new CertificateManager({ issuer, store, clock, logger, metrics: createMetrics(() => undefined) })
  manager.setHosts(['mta-sts.example.com'])
  t.teardown(() => manager.close())
  const sni = createSniCallback(host => host === 'mta-sts.example.com', manager, logger)
  const call = (name: string) => new Promise<{ err: Error | null; ctx?: SecureContext }>(resolve => sni(name, (err, ctx) => resolve({ err, ...(ctx ? { ctx } : {}) })))
  const first = await call('MTA-STS.Example.com.')
  t.equal(first.err, null)
  t.ok(first.ctx)
  const second = await call('mta-sts.example.com')
  t.equal(second.ctx, first.ctx, 'the cached context')
  const unknown = await call('mta-sts.example.org')
  t.match(unknown.err, { code: 'MTA_STS_UNKNOWN_SERVERNAME' })
  const broken = new CertificateManager({ issuer: { name: 'internal', mode: 'on-demand', obtain: async () => { throw new Error('CA down') } }, store, clock, logger, metrics: createMetrics(() => undefined) })
  broken.setHosts(['mta-sts.example.net'])
  const failing = createSniCallback(() => true, broken, logger)
  const failed = await new Promise<Error | null>(resolve => failing('mta-sts.example.net', err => resolve(err)))
  t.match(failed, { message: 'CA down' }, 'issuance failure reaches the handshake as an error')
})
