import t from 'tap'
import { ManualClock } from '../../src/clock.js'
import { MemoryStore } from '../../src/store/memory-store.js'
import { inspectCertificate, type CertifiedKey } from '../../src/tls/certified-key.js'
import { ContextCache } from '../../src/tls/context-cache.js'
import { InternalCa } from '../../src/tls/internal-ca.js'

t.test('keeps the contexts of the hosts used last, at most max, and answers only for the certificate asked for', async t => {
  const clock = new ManualClock(new Date())
  const ca = await InternalCa.open({ store: new MemoryStore(), clock, leafLifetime: 86400 })
  const certs: CertifiedKey[] = []
  for (const host of ['mta-sts.a.example', 'mta-sts.b.example', 'mta-sts.c.example']) {
    const issued = await ca.issue([host])
    certs.push(inspectCertificate(host, issued.certPem, issued.keyPem))
  }
  const [a, b, c] = certs as [CertifiedKey, CertifiedKey, CertifiedKey]
  const cache = new ContextCache(2)
  t.equal(cache.get('mta-sts.a.example', a.fingerprint), undefined, 'nothing held at first')
  const first = cache.set('mta-sts.a.example', a)
  t.equal(cache.get('mta-sts.a.example', a.fingerprint), first, 'held: the same context')
  t.equal(cache.certificate('mta-sts.a.example', a.fingerprint), a, 'and the certificate it serves')
  cache.set('mta-sts.b.example', b)
  t.ok(cache.get('mta-sts.a.example', a.fingerprint), 'a used after b')
  cache.set('mta-sts.c.example', c)
  t.equal(cache.size, 2, 'never more than max')
  t.equal(cache.get('mta-sts.b.example', b.fingerprint), undefined, 'b, used least recently, went')
  t.equal(cache.get('mta-sts.a.example', a.fingerprint), first)

  const renewed = await ca.issue(['mta-sts.a.example'])
  const next = inspectCertificate('mta-sts.a.example', renewed.certPem, renewed.keyPem)
  t.equal(cache.get('mta-sts.a.example', next.fingerprint), undefined, 'a new certificate: the old context does not answer')
  t.equal(cache.size, 1, 'and is dropped')
  t.not(cache.set('mta-sts.a.example', next), first, 'a new certificate gets a new context')
  t.equal(cache.certificate('mta-sts.a.example', a.fingerprint), undefined, 'the old certificate is no longer held')
  t.equal(cache.size, 1)
  cache.delete('mta-sts.c.example')
  t.equal(cache.size, 0, 'a host no longer served is dropped')
  cache.delete('mta-sts.unknown.example')
  t.equal(cache.size, 0)
})
