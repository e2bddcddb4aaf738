import t from 'tap'
import { ManualClock } from '../../src/clock.js'
import { MemoryStore } from '../../src/store/memory-store.js'
import { inspectCertificate } from '../../src/tls/certified-key.js'
import { ContextCache } from '../../src/tls/context-cache.js'
import { InternalCa } from '../../src/tls/internal-ca.js'

t.test('keeps the contexts of the hosts used last, at most max, and rebuilds one whose certificate changed', async t => {
  const clock = new ManualClock(new Date())
  const ca = await InternalCa.open({ store: new MemoryStore(), clock, leafLifetime: 86400 })
  const certs = new Map<string, ReturnType<typeof inspectCertificate>>()
  for (const host of ['mta-sts.a.example', 'mta-sts.b.example', 'mta-sts.c.example']) {
    const issued = await ca.issue([host])
    certs.set(host, inspectCertificate(host, issued.certPem, issued.keyPem))
  }
  const [a, b, c] = [...certs.entries()] as [[string, ReturnType<typeof inspectCertificate>], [string, ReturnType<typeof inspectCertificate>], [string, ReturnType<typeof inspectCertificate>]]
  const cache = new ContextCache(2)
  const first = cache.get(...a)
  t.equal(cache.get(...a), first, 'held: the same context')
  cache.get(...b)
  cache.get(...a)
  cache.get(...c)
  t.equal(cache.size, 2, 'never more than max')
  t.equal(cache.get(...a), first, 'a was used after b, so b went')
  t.equal(cache.size, 2)
  const renewed = await ca.issue([a[0]])
  const next = cache.get(a[0], inspectCertificate(a[0], renewed.certPem, renewed.keyPem))
  t.not(next, first, 'a new certificate gets a new context')
  cache.delete(a[0])
  t.equal(cache.size, 1, 'a host no longer served is dropped')
  cache.delete('mta-sts.unknown.example')
  t.equal(cache.size, 1)
})
