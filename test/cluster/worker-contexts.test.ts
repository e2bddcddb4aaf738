import { once } from 'node:events'
import type { AddressInfo } from 'node:net'
import { connect, createServer, type SecureContext } from 'node:tls'
import t from 'tap'
import { systemClock } from '../../src/clock.js'
import { WorkerContexts, type CertificateMaterial } from '../../src/cluster/worker-contexts.js'
import { createLogger } from '../../src/log.js'
import { MemoryStore } from '../../src/store/memory-store.js'
import { InternalCa } from '../../src/tls/internal-ca.js'

const HOST = 'mta-sts.a.example'

async function setup () {
  const ca = await InternalCa.open({ store: new MemoryStore(), clock: systemClock, leafLifetime: 86400 })
  const asked: string[] = []
  let notAfter = new Date(Date.now() + 86400_000).toISOString()
  const issued = new Map<string, CertificateMaterial>()
  const source = async (host: string): Promise<CertificateMaterial> => {
    asked.push(host)
    if (host === 'mta-sts.broken.example') throw new Error('cannot issue')
    const cert = await ca.obtain(host)
    const material = { certPem: cert.certPem, keyPem: cert.keyPem, notAfter }
    issued.set(host, material)
    return material
  }
  return { ca, asked, source, issued, expireAt: (iso: string) => { notAfter = iso } }
}

t.test('a cold host is asked for once (also by handshakes at the same time), then served from the cache', async t => {
  const { asked, source } = await setup()
  const contexts = new WorkerContexts(10, source)
  const [a, b] = [contexts.context(HOST), contexts.context(HOST)]
  t.ok(a instanceof Promise)
  t.equal(await a, await b)
  t.same(asked, [HOST])
  const warm = contexts.context(HOST)
  t.notOk(warm instanceof Promise)
  t.equal(warm, await a)
  t.equal(contexts.size, 1)
})

t.test('drop() forgets a host, also one being asked for at that moment; the next handshake asks again', async t => {
  const { asked, source } = await setup()
  const contexts = new WorkerContexts(10, source)
  const first = await contexts.context(HOST)
  contexts.drop(HOST)
  t.equal(contexts.size, 0)
  const inFlight = contexts.context(HOST) as Promise<SecureContext>
  // The certificate changes while the answer is on its way: that answer is used once, never kept.
  contexts.drop(HOST)
  const stale = await inFlight
  t.not(stale, first)
  t.equal(contexts.size, 0)
  t.ok(contexts.context(HOST) instanceof Promise)
  t.equal(asked.length, 3)
})

t.test('least recently used out first; an expired context is asked for again', async t => {
  const { asked, source, expireAt } = await setup()
  const contexts = new WorkerContexts(2, source)
  await contexts.context('mta-sts.a.example')
  await contexts.context('mta-sts.b.example')
  contexts.context('mta-sts.a.example')
  await contexts.context('mta-sts.c.example')
  t.equal(contexts.size, 2)
  t.notOk(contexts.context('mta-sts.a.example') instanceof Promise)
  t.ok(contexts.context('mta-sts.b.example') instanceof Promise, 'b was the least recently used')
  expireAt(new Date(Date.now() - 1000).toISOString())
  await contexts.context('mta-sts.d.example')
  t.ok(contexts.context('mta-sts.d.example') instanceof Promise, 'expired: asked again')
  t.equal(asked.filter(h => h === 'mta-sts.d.example').length, 2)
})

t.test('the SNICallback over real TLS: a tenant gets its certificate, an unknown name or a failed lookup is refused', async t => {
  const { ca, asked, source } = await setup()
  const contexts = new WorkerContexts(10, source)
  const tenants = new Set([HOST, 'mta-sts.broken.example'])
  const server = createServer({ SNICallback: contexts.sniCallback(h => tenants.has(h), createLogger('silent')) }, socket => { socket.end('hello') })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  t.teardown(() => { server.close() })
  const port = (server.address() as AddressInfo).port
  const handshake = (servername: string): Promise<string> => new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port, servername, ca: ca.caCertificatePem() })
    socket.once('secureConnect', () => {
      const names = socket.getPeerCertificate().subjectaltname
      socket.destroy()
      resolve(String(names))
    })
    socket.once('error', reject)
  })
  t.equal(await handshake(HOST), `DNS:${HOST}`)
  // Twice: cold (the promise), then warm (at once).
  t.equal(await handshake('MTA-STS.A.example'), `DNS:${HOST}`)
  await t.rejects(handshake('mta-sts.unknown.example'))
  t.notOk(asked.includes('mta-sts.unknown.example'), 'an unknown name is refused without asking the primary (which would issue for any name here)')
  await t.rejects(handshake('mta-sts.broken.example'))
  t.ok(asked.includes('mta-sts.broken.example'), 'a tenant whose lookup fails was asked for')
})

t.test('contexts dropped, pushed out or replaced are closed at the next turn; those held stay open', async t => {
  const { source, expireAt } = await setup()
  const open = (context: SecureContext): boolean => (context as unknown as { context: { getCertificate (): unknown } }).context.getCertificate() !== null
  const nextTurn = async (): Promise<void> => { await new Promise(resolve => setImmediate(resolve)) }
  const contexts = new WorkerContexts(1, source)
  const a = await contexts.context(HOST)
  const b = await contexts.context('mta-sts.b.example')
  t.ok(open(a), 'pushed out, open until the next turn')
  await nextTurn()
  t.notOk(open(a), 'then closed')
  t.ok(open(b))
  contexts.drop('mta-sts.b.example')
  await nextTurn()
  t.notOk(open(b), 'dropped: closed')
  expireAt(new Date(Date.now() - 1000).toISOString())
  const c = await contexts.context(HOST)
  const d = await contexts.context(HOST, Date.now())
  t.not(d, c, 'expired: asked for again')
  await nextTurn()
  t.notOk(open(c), 'the expired one is closed')
  t.ok(open(d), 'its replacement, held, is open')
})
