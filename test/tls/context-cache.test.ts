import type { AddressInfo } from 'node:net'
import { connect, createServer, type DetailedPeerCertificate, type SecureContext } from 'node:tls'
import t from 'tap'
import { ManualClock } from '../../src/clock.js'
import { MemoryStore } from '../../src/store/memory-store.js'
import { inspectCertificate, type CertifiedKey } from '../../src/tls/certified-key.js'
import { closeContexts, ContextCache } from '../../src/tls/context-cache.js'
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

/** Whether `context`'s native handle still holds its certificate (a closed one answers null). */
const open = (context: SecureContext): boolean => (context as unknown as { context: { getCertificate (): unknown } }).context.getCertificate() !== null

t.test('contexts the cache drops are closed at the next turn, after a handshake handed one in the same turn got its certificate', async t => {
  const clock = new ManualClock(new Date())
  const ca = await InternalCa.open({ store: new MemoryStore(), clock, leafLifetime: 86400 })
  const hosts = ['mta-sts.a.example', 'mta-sts.b.example', 'mta-sts.c.example', 'mta-sts.d.example']
  const certs = new Map<string, CertifiedKey>()
  for (const host of hosts) {
    const issued = await ca.issue([host])
    certs.set(host, inspectCertificate(host, issued.certPem, issued.keyPem))
  }
  const cert = (host: string): CertifiedKey => certs.get(host) as CertifiedKey
  const cache = new ContextCache(1)
  // The SNI callback answers in a microtask, after the cache dropped the context it answers with.
  const server = createServer({
    SNICallback: (name, cb) => {
      const context = cache.set(name, cert(name))
      void Promise.resolve().then(() => { cache.set('mta-sts.d.example', cert('mta-sts.d.example')) }).then(() => { cb(null, context) })
    },
  }, s => s.end())
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => server.close())
  const handshake = (servername: string): Promise<{ cn: unknown, authorized: boolean }> => new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port: (server.address() as AddressInfo).port, servername, ca: ca.caPem }, () => {
      resolve({ cn: socket.getPeerCertificate().subject.CN, authorized: socket.authorized })
      socket.destroy()
    })
    socket.on('error', reject)
  })
  t.same(await handshake('mta-sts.a.example'), { cn: 'mta-sts.a.example', authorized: true }, 'the dropped context still served the handshake it was handed to')
  t.same(await handshake('mta-sts.b.example'), { cn: 'mta-sts.b.example', authorized: true })

  const a = cache.set('mta-sts.a.example', cert('mta-sts.a.example'))
  const b = cache.set('mta-sts.b.example', cert('mta-sts.b.example'))
  t.ok(open(a), 'dropped, but open until the next turn')
  await new Promise(resolve => setImmediate(resolve))
  t.notOk(open(a), 'then closed')
  t.ok(open(b), 'the one held stays open')
  t.equal(cache.get('mta-sts.b.example', cert('mta-sts.b.example').fingerprint), b)

  // Replaced (a renewal) and deleted (no longer served): closed too.
  const renewed = await ca.issue(['mta-sts.b.example'])
  const next = inspectCertificate('mta-sts.b.example', renewed.certPem, renewed.keyPem)
  const c = cache.set('mta-sts.b.example', next)
  await new Promise(resolve => setImmediate(resolve))
  t.notOk(open(b), 'the context of the replaced certificate is closed')
  t.ok(open(c))
  cache.delete('mta-sts.b.example')
  await new Promise(resolve => setImmediate(resolve))
  t.notOk(open(c), 'the context of a host no longer served is closed')
  t.equal(cache.size, 0)

  // A key that does not match its certificate is refused before anything is dropped.
  const d = cache.set('mta-sts.d.example', cert('mta-sts.d.example'))
  t.throws(() => cache.set('mta-sts.c.example', { ...cert('mta-sts.c.example'), keyPem: cert('mta-sts.a.example').keyPem }))
  await new Promise(resolve => setImmediate(resolve))
  t.ok(open(d), 'the context held is kept')
  t.equal(cache.get('mta-sts.d.example', cert('mta-sts.d.example').fingerprint), d)
})

t.test('every context the cache builds is new: none is loaded with another certificate (Node would lengthen its chain)', async t => {
  const clock = new ManualClock(new Date())
  const ca = await InternalCa.open({ store: new MemoryStore(), clock, leafLifetime: 86400 })
  const hosts = Array.from({ length: 40 }, (_, i) => `mta-sts.t${i}.example`)
  const certs = new Map<string, CertifiedKey>()
  for (const host of hosts) {
    const issued = await ca.issue([host])
    certs.set(host, inspectCertificate(host, issued.certPem, issued.keyPem))
  }
  const cache = new ContextCache(16)
  const given = new Set(hosts.map(h => cache.set(h, certs.get(h) as CertifiedKey)))
  t.equal(given.size, hosts.length, 'a context per host')
  t.equal(cache.size, 16)
  const last = hosts.at(-1) as string
  const server = createServer({ SNICallback: (name, cb) => { cb(null, cache.get(name, (certs.get(name) as CertifiedKey).fingerprint)) } }, s => s.end())
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => server.close())
  const chain = await new Promise<string[]>((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port: (server.address() as AddressInfo).port, servername: last, ca: ca.caPem }, () => {
      const names: string[] = []
      const seen = new Set<object>()
      for (let c: DetailedPeerCertificate | undefined = socket.getPeerCertificate(true); c !== undefined && !seen.has(c) && Object.keys(c).length > 0; c = c.issuerCertificate) {
        seen.add(c)
        names.push(String(c.subject.CN))
      }
      resolve(names)
      socket.destroy()
    })
    socket.on('error', reject)
  })
  t.equal(chain[0], last, 'the leaf of the host')
  t.ok(chain.length <= 2, `the chain sent is the stored one (leaf and CA), not grown: ${chain.join(' < ')}`)
})

t.test('closeContexts leaves a context without a closable native handle to the collector', async t => {
  const odd = [{ context: {} }, { context: { close () { throw new Error('already closed') } } }, {}] as unknown as SecureContext[]
  t.doesNotThrow(() => { closeContexts(odd) })
})
