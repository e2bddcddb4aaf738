import { setFlagsFromString } from 'node:v8'
import t from 'tap'
import { ManualClock } from '../../src/clock.js'
import { MemoryStore } from '../../src/store/memory-store.js'
import { CertificateCache, hostState, prepareCertificate, renewAtMsOf, renewAtOf } from '../../src/tls/certificate-cache.js'
import { inspectCertificate, renewalTime } from '../../src/tls/certified-key.js'
import { InternalCa } from '../../src/tls/internal-ca.js'

const HOST = 'mta-sts.example.com'
const DAY = 86400_000

// V8's own answer to whether an object is still a fast (shaped) object or became a dictionary.
setFlagsFromString('--allow-natives-syntax')
// eslint-disable-next-line @typescript-eslint/no-implied-eval, no-new-func
const hasFastProperties = new Function('o', 'return %HasFastProperties(o)') as (o: object) => boolean

async function certificate (clock: ManualClock): Promise<ReturnType<typeof inspectCertificate>> {
  const ca = await InternalCa.open({ store: new MemoryStore(), clock, leafLifetime: 90 * 86400 })
  const issued = await ca.obtain(HOST)
  return inspectCertificate(HOST, issued.certPem, issued.keyPem, clock.now())
}

t.test('prepareCertificate keeps the times as numbers, not Dates; the views still give Dates', async t => {
  const clock = new ManualClock(new Date('2026-06-01T00:00:00Z'))
  const cert = await certificate(clock)
  const loaded = prepareCertificate(cert, 'v1')
  t.equal(loaded.notBeforeMs, cert.notBefore.getTime())
  t.equal(loaded.notAfterMs, cert.notAfter.getTime())
  t.equal(loaded.version, 'v1')
  t.equal(prepareCertificate(cert).version, undefined)
  for (const value of Object.values(loaded)) t.notOk(value instanceof Date, 'no Date kept')
  const due = renewalTime(cert).getTime()
  t.ok(loaded.renewAtMs <= due && loaded.renewAtMs >= due - DAY, 'a third of the lifetime left, minus at most a day of jitter')

  const cache = new CertificateCache('queued')
  cache.add(HOST)
  const state = cache.get(HOST)!
  state.loaded = loaded
  t.same([...cache.expiries()], [{ host: HOST, notAfter: cert.notAfter }])
  t.same(cache.status()[0], { host: HOST, state: 'valid', notAfter: cert.notAfter, renewAt: new Date(loaded.renewAtMs), next: { action: 'renew', at: new Date(loaded.renewAtMs) }, failures: 0 })
  t.same(cache.renewal(HOST), { fingerprint: cert.fingerprint, renewAt: new Date(loaded.renewAtMs) })
  t.equal(renewAtMsOf(state, loaded), loaded.renewAtMs)
  const ari = new Date('2026-07-01T00:00:00Z')
  state.ari = { renewAt: ari, nextPoll: ari }
  t.equal(renewAtMsOf(state, loaded), ari.getTime(), 'the CA\'s window wins')
  t.same(renewAtOf(state, loaded), ari)
  t.same(cache.unavailable(clock.now().getTime()), [])
  t.same(cache.unavailable(loaded.notAfterMs), [HOST], 'expired')
})

t.test('a host\'s state has every field from the start and stays a fast object as they are set and cleared', async t => {
  const cache = new CertificateCache('queued')
  cache.add(HOST)
  const state = cache.get(HOST)!
  t.same(Object.keys(state).sort(), Object.keys(hostState()).sort())
  t.same(Object.keys(state).sort(), ['ari', 'failures', 'lastError', 'loaded', 'pending', 'queued', 'retryAt'])
  t.ok(hasFastProperties(state))
  // What the manager does over a failure and the success after it.
  const cert = await certificate(new ManualClock(new Date('2026-06-01T00:00:00Z')))
  state.pending = Promise.resolve(cert)
  state.failures++
  state.lastError = 'CA unreachable'
  state.retryAt = new Date()
  state.ari = { nextPoll: new Date() }
  state.loaded = prepareCertificate(cert)
  state.failures = 0
  state.lastError = undefined
  state.retryAt = undefined
  state.ari = undefined
  state.pending = undefined
  t.ok(hasFastProperties(state), 'cleared fields are undefined, not deleted')
  const deleted: Partial<ReturnType<typeof hostState>> = hostState()
  delete deleted.pending
  t.notOk(hasFastProperties(deleted), 'what `delete` would have made of it (the check sees the difference)')
})
