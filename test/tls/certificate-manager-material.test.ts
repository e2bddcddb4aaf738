import t from 'tap'
import { ManualClock } from '../../src/clock.js'
import { createLogger } from '../../src/log.js'
import { createMetrics } from '../../src/metrics.js'
import { MemoryStore } from '../../src/store/memory-store.js'
import { CertificateManager } from '../../src/tls/certificate-manager.js'
import { InternalCa } from '../../src/tls/internal-ca.js'

const HOST = 'mta-sts.a.example'

async function setup (mode?: 'queued') {
  const clock = new ManualClock(new Date())
  const store = new MemoryStore()
  const ca = await InternalCa.open({ store, clock, leafLifetime: 30 * 86400 })
  const issuer = mode === undefined ? ca : Object.assign(Object.create(ca) as InternalCa, { mode })
  const manager = new CertificateManager({ issuer, store, clock, logger: createLogger('silent'), metrics: createMetrics(() => undefined) })
  manager.setHosts([HOST])
  return { clock, manager }
}

t.test('material() hands out the served certificate and key, issued on demand the first time', async t => {
  const { manager } = await setup()
  const first = await manager.material(HOST)
  t.match(first.certPem, /BEGIN CERTIFICATE/)
  t.match(first.keyPem, /PRIVATE KEY/)
  const again = await manager.material(HOST)
  t.same([again.fingerprint, again.certPem, again.keyPem], [first.fingerprint, first.certPem, first.keyPem], 'loaded: the same certificate again, not a new one')
  await t.rejects(manager.material('mta-sts.other.example'), { code: 'MTA_STS_CERT_UNAVAILABLE' }, 'a host not served is not kept, so not handed out')
})

t.test('onCertificateChange() names a host whose certificate was replaced, not one loaded the first time', async t => {
  const { clock, manager } = await setup()
  const changed: string[] = []
  manager.onCertificateChange(host => changed.push(host))
  const first = await manager.material(HOST)
  t.same(changed, [])
  clock.advance(25 * 86400_000)
  await manager.check()
  t.same(changed, [HOST])
  t.not((await manager.material(HOST)).fingerprint, first.fingerprint)
})

t.test('material() for a queued issuer without a certificate yet rejects', async t => {
  const { manager } = await setup('queued')
  await t.rejects(manager.material(HOST), { code: 'MTA_STS_CERT_UNAVAILABLE' })
})
