import { PassThrough } from 'node:stream'
import t from 'tap'
import { ManualClock } from '../../src/clock.js'
import { createLogger } from '../../src/log.js'
import { MemoryStore } from '../../src/store/memory-store.js'
import { CertificateStorage, joinBundle, splitBundle } from '../../src/tls/certificate-storage.js'
import { InternalCa } from '../../src/tls/internal-ca.js'

const HOST = 'mta-sts.example.com'

t.test('a certificate is stored under the layout earlier versions wrote, as a secret, and read back', async t => {
  const store = new MemoryStore()
  const clock = new ManualClock(new Date('2026-01-01T00:00:00Z'))
  const lines: Record<string, unknown>[] = []
  const stream = new PassThrough()
  stream.on('data', (c: Buffer) => { for (const l of c.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(l) as Record<string, unknown>) })
  const storage = new CertificateStorage({ store, issuer: 'acme', clock, logger: createLogger('debug', stream) })
  t.equal(await storage.load(HOST, c => c), undefined, 'nothing stored yet')

  const ca = await InternalCa.open({ store, clock, leafLifetime: 86400 })
  const issued = await ca.obtain(HOST)
  const { inspectCertificate } = await import('../../src/tls/certified-key.js')
  const cert = inspectCertificate(HOST, issued.certPem, issued.keyPem, clock.now())
  await storage.save(HOST, cert)
  t.match((await store.get(`certificates/acme/${HOST}.pem`))?.toString(), /PRIVATE KEY/, 'kept at certificates/<issuer>/<host>.pem')
  t.equal((await storage.load(HOST, c => c))?.fingerprint, cert.fingerprint)

  await store.put(`certificates/acme/${HOST}.pem`, 'garbage', { secret: true })
  t.equal(await storage.load(HOST, c => c), undefined, 'an unusable bundle reads as none')
  t.match(lines.at(-1), { event: 'certificate_store_invalid', host: HOST })
  await storage.save(HOST, cert)
  t.equal(await storage.load(HOST, () => { throw new Error('no context') }), undefined, 'a failing prepare reads as none too')

  const unlock = await storage.lock(HOST)
  await t.rejects(store.lock(`issue-${HOST}`, { waitMs: 0 }), { code: 'MTA_STS_STORE_LOCK_TIMEOUT' }, 'the lock name earlier versions used')
  await unlock()
})

t.test('bundle format: the private key, then the chain', async t => {
  const key = '-----BEGIN PRIVATE KEY-----\nK\n-----END PRIVATE KEY-----'
  const leaf = '-----BEGIN CERTIFICATE-----\nL\n-----END CERTIFICATE-----'
  const root = '-----BEGIN CERTIFICATE-----\nR\n-----END CERTIFICATE-----'
  const bundle = joinBundle({ keyPem: `${key}\n`, certPem: `${leaf}\n${root}\n\n` })
  t.equal(bundle, `${key}\n${leaf}\n${root}\n`)
  t.same(splitBundle(bundle), { keyPem: `${key}\n`, certPem: `${leaf}\n${root}\n` })
})
