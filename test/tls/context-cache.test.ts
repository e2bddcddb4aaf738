import type { AddressInfo } from 'node:net'
import { connect, createServer } from 'node:tls'
import t from 'tap'
import { ManualClock } from '../../src/clock.js'
import { MemoryStore } from '../../src/store/memory-store.js'
import { inspectCertificate, type CertifiedKey } from '../../src/tls/certified-key.js'
import { ContextCache, RECYCLE_FROM } from '../../src/tls/context-cache.js'
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

t.test('a full cache of RECYCLE_FROM or more reuses the context it drops, which then serves the new certificate', async t => {
  const clock = new ManualClock(new Date())
  const ca = await InternalCa.open({ store: new MemoryStore(), clock, leafLifetime: 86400 })
  const hosts = Array.from({ length: RECYCLE_FROM + 3 }, (_, i) => `mta-sts.t${i}.example`)
  const certs = new Map<string, CertifiedKey>()
  for (const host of hosts) {
    const issued = await ca.issue([host])
    certs.set(host, inspectCertificate(host, issued.certPem, issued.keyPem))
  }
  const cache = new ContextCache(RECYCLE_FROM)
  const given = hosts.slice(0, RECYCLE_FROM).map(h => cache.set(h, certs.get(h)!))
  const [first, second, third] = hosts.slice(RECYCLE_FROM) as [string, string, string]
  t.equal(cache.set(first, certs.get(first)!), given[0], 'the context dropped is the one reused')
  t.equal(cache.size, RECYCLE_FROM)
  t.equal(cache.get(hosts[0]!, certs.get(hosts[0]!)!.fingerprint), undefined, 'and no longer answers for its host')

  // A context whose native handle cannot load certificates is dropped, and a new one built.
  ;(given[1] as unknown as { context: object }).context = {}
  t.not(cache.set(second, certs.get(second)!), given[1], 'not reusable: a new one')
  // A certificate whose key does not match it: the dropped context is not left half loaded.
  const wrong = { ...certs.get(third)!, keyPem: certs.get(first)!.keyPem }
  t.throws(() => cache.set(third, wrong), 'a key that does not match its certificate is refused')
  t.equal(cache.size, RECYCLE_FROM - 1, 'the dropped context went with it')

  const server = createServer({ SNICallback: (name, cb) => { cb(null, cache.get(name, certs.get(name)!.fingerprint)) } }, s => s.end())
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => server.close())
  const peer = await new Promise<{ cn: unknown, authorized: boolean }>((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port: (server.address() as AddressInfo).port, servername: first, ca: ca.caPem }, () => {
      resolve({ cn: socket.getPeerCertificate().subject.CN, authorized: socket.authorized })
      socket.destroy()
    })
    socket.on('error', reject)
  })
  t.same(peer, { cn: first, authorized: true }, 'a handshake with the reused context gets the new certificate, verified')
})
