import { X509Certificate } from 'node:crypto'
import { writeFile, mkdir, rename } from 'node:fs/promises'
import { join } from 'node:path'
import { PassThrough } from 'node:stream'
import type { SecureContext } from 'node:tls'
import t from 'tap'
import { ManualClock } from '../../src/clock.js'
import { createLogger } from '../../src/log.js'
import { createMetrics } from '../../src/metrics.js'
import { MemoryStore } from '../../src/store/memory-store.js'
import { CertificateManager } from '../../src/tls/certificate-manager.js'
import { splitBundle } from '../../src/tls/certificate-storage.js'
import { FilesIssuer } from '../../src/tls/files-issuer.js'
import { InternalCa } from '../../src/tls/internal-ca.js'
import type { IssuedCertificate, Issuer } from '../../src/tls/issuer.js'
import { tempDir } from '../helpers/service-harness.js'

const DAY = 86400_000
const HOST = 'mta-sts.example.com'

function logSink (): { logger: ReturnType<typeof createLogger>; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = []
  const stream = new PassThrough()
  stream.on('data', (c: Buffer) => { for (const l of c.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(l) as Record<string, unknown>) })
  return { logger: createLogger('debug', stream), lines }
}

/** An issuer wrapper that counts calls and can be made to fail. */
class CountingIssuer implements Issuer {
  readonly name = 'internal'
  readonly mode = 'on-demand'
  calls = 0
  fail: string | undefined
  constructor (readonly inner: Issuer) {}
  async obtain (host: string): Promise<IssuedCertificate> {
    this.calls++
    if (this.fail) throw new Error(this.fail)
    return this.inner.obtain(host)
  }
}

async function resolveContext (c: SecureContext | Promise<SecureContext>): Promise<SecureContext> {
  return c
}

async function setup (t: Tap, clock = new ManualClock(new Date('2026-01-01T00:00:00Z')), store = new MemoryStore()) {
  const ca = await InternalCa.open({ store, clock, leafLifetime: 30 * 86400 })
  const issuer = new CountingIssuer(ca)
  const { logger, lines } = logSink()
  const make = () => {
    const m = new CertificateManager({ issuer, store, clock, logger, metrics: createMetrics(() => undefined), backoffMs: [60_000] })
    m.setHosts([HOST])
    t.teardown(() => m.close())
    return m
  }
  return { ca, issuer, store, clock, lines, manager: make(), make }
}
type Tap = { teardown (fn: () => unknown): void }

t.test('obtains once on demand, caches, and reuses the stored certificate after a restart', async t => {
  const { issuer, manager, make, lines } = await setup(t)
  const first = manager.context(HOST)
  t.ok(first instanceof Promise, 'first handshake waits for issuance')
  const again = manager.context(HOST)
  await Promise.all([first, again])
  t.equal(issuer.calls, 1, 'concurrent handshakes share one issuance')
  t.notOk(manager.context(HOST) instanceof Promise, 'then served from the cache synchronously')
  t.ok(lines.some(l => l.event === 'certificate_obtained' && l.host === HOST))
  t.notOk(JSON.stringify(lines).includes('PRIVATE KEY'), 'no key material in the logs')
  const restarted = make()
  await resolveContext(restarted.context(HOST))
  t.equal(issuer.calls, 1, 'a restart with a valid stored certificate obtains nothing')
  t.same(restarted.unavailable(), [])
  t.equal(restarted.status()[0]?.state, 'valid')
})

t.test('renews at a third of the lifetime left; a failed renewal keeps the old certificate', async t => {
  const { issuer, manager, clock, lines, store } = await setup(t)
  t.equal(manager.renewal(HOST), undefined, 'no plan before a certificate is loaded')
  await resolveContext(manager.context(HOST))
  const before = manager.status()[0]!
  const offset = before.renewAt!.getTime() - Date.parse('2026-01-01T00:00:00Z')
  t.ok(offset <= 20 * DAY - 20_000 && offset >= 20 * DAY - 20_000 - 0.02 * 30 * DAY, `renewal 2/3 into the lifetime, minus up to 2% jitter (${offset / DAY} days)`)
  t.same(before.next, { action: 'renew', at: before.renewAt })
  const served = new X509Certificate(splitBundle((await store.get(`certificates/internal/${HOST}.pem`))!.toString()).certPem).fingerprint256
  t.same(manager.renewal(HOST), { fingerprint: served, renewAt: before.renewAt }, 'the set-up check sees the served certificate and its renewal point')
  t.equal(manager.renewal('mta-sts.unknown.example'), undefined, 'nothing for hosts not served')

  clock.advance(19 * DAY)
  await manager.check()
  t.equal(issuer.calls, 1, 'not yet due')

  clock.advance(2 * DAY)
  issuer.fail = 'CA unreachable'
  await manager.check()
  t.equal(issuer.calls, 2, 'renewal attempted')
  const failing = manager.status()[0]!
  t.equal(failing.state, 'failing')
  t.equal(failing.lastError, 'CA unreachable')
  t.same(failing.notAfter, before.notAfter, 'old certificate still loaded')
  t.same(manager.renewal(HOST), { fingerprint: served, renewAt: before.renewAt, lastError: 'CA unreachable' }, 'past its renewal point, with the reason')
  t.notOk(manager.context(HOST) instanceof Promise, 'and still served')
  t.same(manager.unavailable(), [], 'still available while the old one is valid')
  t.ok(lines.some(l => l.event === 'certificate_failed' && l.serving_old === true && typeof l.retry_at === 'string'))

  await manager.check()
  t.equal(issuer.calls, 2, 'no retry before retryAt')
  clock.advance(61_000)
  issuer.fail = undefined
  await manager.check()
  t.equal(issuer.calls, 3)
  const after = manager.status()[0]!
  t.equal(after.state, 'valid')
  t.ok(after.notAfter!.getTime() > before.notAfter!.getTime(), 'renewed certificate is later')
  t.ok(lines.some(l => l.event === 'certificate_renewed'))
  t.not(manager.renewal(HOST)?.fingerprint, served, 'the plan follows the renewed certificate')
  t.same(manager.renewal(HOST)?.renewAt, after.renewAt)
})

t.test('an expired certificate is never served; failures back off', async t => {
  const { issuer, manager, clock } = await setup(t)
  await resolveContext(manager.context(HOST))
  clock.advance(31 * DAY)
  issuer.fail = 'down'
  await t.rejects(resolveContext(manager.context(HOST)), /down/)
  t.same(manager.unavailable(), [HOST])
  await t.rejects(resolveContext(manager.context(HOST)), { code: 'MTA_STS_CERT_UNAVAILABLE' }) // within the back-off, fail fast
  t.equal(issuer.calls, 2)
})

t.test('a certificate failing the checks is rejected and not stored', async t => {
  const { ca, store, clock, lines } = await setup(t)
  const wrongName: Issuer = { name: 'internal', mode: 'on-demand', obtain: () => ca.obtain('mta-sts.other.example') }
  const m = new CertificateManager({ issuer: wrongName, store: new MemoryStore(), clock, logger: logSink().logger, metrics: createMetrics(() => undefined) })
  m.setHosts([HOST])
  t.teardown(() => m.close())
  await t.rejects(resolveContext(m.context(HOST)), { code: 'MTA_STS_CERT_INVALID' })
  t.same(await store.list('certificates'), [])
  t.ok(lines.length >= 0)
})

t.test('a corrupt stored certificate is replaced', async t => {
  const { issuer, store, make, lines } = await setup(t)
  await store.put(`certificates/internal/${HOST}.pem`, 'garbage', { secret: true })
  const m = make()
  await resolveContext(m.context(HOST))
  t.equal(issuer.calls, 1)
  t.ok(lines.some(l => l.event === 'certificate_store_invalid'))
  const stored = splitBundle((await store.get(`certificates/internal/${HOST}.pem`))!.toString())
  t.ok(new X509Certificate(stored.certPem).checkHost(HOST))
})

t.test('hosts removed from the configuration are dropped', async t => {
  const { manager } = await setup(t)
  await resolveContext(manager.context(HOST))
  t.equal([...manager.expiries()].length, 1)
  manager.setHosts(['mta-sts.example.org'])
  t.equal([...manager.expiries()].length, 0)
  t.same(manager.status(), [{ host: 'mta-sts.example.org', state: 'missing', next: { action: 'on-demand' }, failures: 0 }])
})

t.test('files issuer: operator files are loaded, and replacing them takes effect', async t => {
  const dir = await tempDir(t)
  const clock = new ManualClock()
  const store = new MemoryStore()
  const ca = await InternalCa.open({ store, clock, leafLifetime: 30 * 86400 })
  const folder = join(dir, HOST)
  await mkdir(folder)
  const write = async (): Promise<string> => {
    const c = await ca.obtain(HOST)
    await writeFile(join(folder, 'privkey.pem.new'), c.keyPem)
    await writeFile(join(folder, 'fullchain.pem.new'), c.certPem)
    await rename(join(folder, 'privkey.pem.new'), join(folder, 'privkey.pem'))
    await rename(join(folder, 'fullchain.pem.new'), join(folder, 'fullchain.pem'))
    return new X509Certificate(c.certPem).fingerprint256
  }
  const issuer = new FilesIssuer(host => FilesIssuer.pathsFor(host, undefined, dir))
  const { logger, lines } = logSink()
  const m = new CertificateManager({ issuer, store, clock, logger, metrics: createMetrics(() => undefined) })
  m.setHosts([HOST, 'mta-sts.missing.example'])
  t.teardown(() => m.close())
  const firstPrint = await write()
  await m.preload([HOST, 'mta-sts.missing.example'])
  t.same(m.unavailable(), ['mta-sts.missing.example'], 'a host without files is unavailable')
  t.ok(lines.some(l => l.event === 'certificate_loaded' && l.fingerprint === firstPrint))
  t.same(await store.list('certificates'), [], 'operator certificates are not copied into the store')
  t.equal(m.renewal(HOST), undefined, 'operator files have no renewal plan: the operator renews them')

  await m.check()
  t.equal(lines.filter(l => l.event === 'certificate_loaded').length, 1, 'unchanged files are not re-read')
  const secondPrint = await write()
  await m.check()
  t.ok(lines.some(l => l.event === 'certificate_loaded' && l.fingerprint === secondPrint), 'replaced files loaded')

  await resolveContext(m.context(HOST))
  await writeFile(join(folder, 'fullchain.pem'), 'not a certificate')
  await m.check()
  t.ok(lines.some(l => l.event === 'certificate_failed' && l.serving_old === true), 'a broken replacement is rejected')
  t.notOk(m.context(HOST) instanceof Promise, 'the previous certificate keeps serving while its context is held')
})

t.test('queued issuer with renewal information: renews inside the CA window, sending the old certificate', async t => {
  const clock = new ManualClock(new Date('2026-01-01T00:00:00Z'))
  const store = new MemoryStore()
  const ca = await InternalCa.open({ store, clock, leafLifetime: 30 * 86400 })
  const replaced: (string | undefined)[] = []
  let window: (() => Promise<{ start: Date; end: Date } | undefined>) = async () => undefined
  const issuer: Issuer = {
    name: 'acme',
    mode: 'queued',
    obtain: async (host, opts) => { replaced.push(opts?.replaces?.fingerprint); return ca.obtain(host) },
    renewalWindow: () => window(),
  }
  const { logger, lines } = logSink()
  const m = new CertificateManager({ issuer, store, clock, logger, metrics: createMetrics(() => undefined), backoffMs: [1000] })
  m.setHosts([HOST])
  t.teardown(() => m.close())
  await t.rejects(resolveContext(m.context(HOST)), { code: 'MTA_STS_CERT_UNAVAILABLE' }, 'a handshake never waits for a queued issuer')
  await m.idle()
  const first = m.status()[0]!
  t.equal(first.state, 'valid')
  t.same(replaced, [undefined], 'first order replaces nothing')

  // The CA says: renew now (its window is already over), long before a third of the lifetime is left.
  window = async () => ({ start: new Date(clock.now().getTime() - 2 * DAY), end: new Date(clock.now().getTime() - DAY) })
  clock.advance(DAY)
  await m.check()
  await m.idle()
  t.equal(replaced.length, 2, 'renewed inside the ARI window')
  t.equal(replaced[1], [...lines].reverse().find(l => l.event === 'certificate_obtained')?.fingerprint, 'the order names the certificate it replaces')
  t.ok(lines.some(l => l.event === 'certificate_renewed'))

  // Renewal information failing falls back to the default schedule, logged once per poll.
  window = async () => { throw new Error('ARI down') }
  clock.advance(7 * 3600_000)
  await m.check()
  await m.idle()
  t.ok(lines.some(l => l.event === 'ari_failed' && l.error === 'ARI down'))
  t.equal(replaced.length, 2, 'no renewal without a reason')
  t.ok(m.status()[0]!.renewAt!.getTime() > clock.now().getTime(), 'next renewal on the default schedule')
})

t.test('changeHosts adds and removes only the hosts named; a removed host leaves the queue; an added one is looked at', async t => {
  const clock = new ManualClock(new Date('2026-01-01T00:00:00Z'))
  const store = new MemoryStore()
  const ca = await InternalCa.open({ store, clock, leafLifetime: 30 * 86400 })
  const ordered: string[] = []
  let release: () => void = () => {}
  const gate = new Promise<void>(resolve => { release = resolve })
  const issuer: Issuer = {
    name: 'acme',
    mode: 'queued',
    obtain: async host => { ordered.push(host); await gate; return ca.obtain(host) },
  }
  const m = new CertificateManager({ issuer, store, clock, logger: logSink().logger, metrics: createMetrics(() => undefined), concurrency: 1, checkIntervalMs: 3600_000 })
  t.teardown(() => m.close())
  const [a, b, c, d] = ['a', 'b', 'c', 'd'].map(x => `mta-sts.${x}.example`) as [string, string, string, string]
  m.setHosts([a, b, c])
  m.start()
  await m.check()
  t.same(ordered, [a], 'one order at a time: b and c wait in the queue')
  m.changeHosts({ added: [d], removed: [b] })
  await m.check()
  t.same(m.status().map(s => s.host).sort(), [a, c, d])
  release()
  await m.idle()
  t.same(ordered.sort(), [a, c, d], 'b left the queue; d, added, was ordered')
  m.changeHosts({ added: [], removed: [] })
  t.equal(m.status().length, 3)
})

t.test('a shared database that is down is retried at the first back-off step, however often it failed', async t => {
  const clock = new ManualClock(new Date('2026-01-01T00:00:00Z'))
  const store = new MemoryStore()
  const ca = await InternalCa.open({ store, clock, leafLifetime: 30 * 86400 })
  let down = true
  const issuer: Issuer = {
    name: 'acme',
    mode: 'queued',
    obtain: async host => {
      if (down) throw Object.assign(new Error('store wrapper'), { cause: Object.assign(new Error('the store database failed during lock: connect ECONNREFUSED'), { code: 'MTA_STS_STORE_DATABASE_FAILED' }) })
      return await ca.obtain(host)
    },
  }
  const { logger, lines } = logSink()
  const m = new CertificateManager({ issuer, store, clock, logger, metrics: createMetrics(() => undefined), backoffMs: [60_000, 600_000, 6_000_000] })
  m.setHosts([HOST])
  t.teardown(() => m.close())
  for (let i = 0; i < 3; i++) {
    await m.check()
    await m.idle()
    clock.advance(60_000)
  }
  const failed = lines.filter(l => l.event === 'certificate_failed')
  t.equal(failed.length, 3, 'retried every minute')
  const start = Date.parse('2026-01-01T00:00:00Z')
  t.same(failed.map((l, i) => (Date.parse(String(l.retry_at)) - (start + i * 60_000)) / 60_000), [1, 1, 1], 'a minute after each failure: never the 10 or 100 minute steps')
  down = false
  await m.check()
  await m.idle()
  t.equal(m.status()[0]?.state, 'valid', 'issued once the database is back')
})

t.test('queued: a host another instance is obtaining is left to it and picked up from the store, not waited on', async t => {
  const clock = new ManualClock(new Date('2026-01-01T00:00:00Z'))
  const store = new MemoryStore()
  const ca = await InternalCa.open({ store, clock, leafLifetime: 30 * 86400 })
  const OTHER = 'mta-sts.example.org'
  let release: () => void = () => {}
  const held = new Promise<void>(resolve => { release = resolve })
  const calls: string[] = []
  const issuer = (name: string): Issuer => ({
    name: 'acme',
    mode: 'queued',
    obtain: async host => {
      calls.push(`${name} ${host}`)
      if (name === 'a' && host === HOST) await held
      return await ca.obtain(host)
    },
  })
  const a = logSink()
  const b = logSink()
  const make = (name: string, sink: ReturnType<typeof logSink>) => {
    const m = new CertificateManager({ issuer: issuer(name), store, clock, logger: sink.logger, metrics: createMetrics(() => undefined), elsewhereRetryMs: 20 })
    m.setHosts([HOST, OTHER])
    t.teardown(() => m.close())
    return m
  }
  const first = make('a', a)
  const busy = first.check()
  await busy
  while (!calls.includes(`a ${HOST}`)) await new Promise(resolve => setTimeout(resolve, 5))
  const second = make('b', b)
  await second.check()
  while (!b.lines.some(l => l.event === 'certificate_issuing_elsewhere' && l.host === HOST)) await new Promise(resolve => setTimeout(resolve, 5))
  t.notOk(b.lines.some(l => l.event === 'certificate_failed'), 'not a failure')
  release()
  await first.idle()
  for (let i = 0; i < 200 && second.status().some(s => s.state !== 'valid'); i++) await new Promise(resolve => setTimeout(resolve, 10))
  t.same(second.status().map(s => s.state), ['valid', 'valid'], 'the other instance\'s certificate, taken from the store')
  t.notOk(calls.includes(`b ${HOST}`), 'never obtained twice')
  t.equal(first.status().find(s => s.host === HOST)?.notAfter?.getTime(), second.status().find(s => s.host === HOST)?.notAfter?.getTime(), 'the same certificate')
})

t.test('queued: a lock that fails for another reason is a failure like any other', async t => {
  const clock = new ManualClock(new Date('2026-01-01T00:00:00Z'))
  class BrokenLocks extends MemoryStore {
    override async lock (): Promise<never> { throw Object.assign(new Error('the store database failed during lock'), { code: 'MTA_STS_STORE_DATABASE_FAILED' }) }
  }
  const store = new BrokenLocks()
  const { logger, lines } = logSink()
  const m = new CertificateManager({ issuer: { name: 'acme', mode: 'queued', obtain: async () => { throw new Error('not reached') } }, store, clock, logger, metrics: createMetrics(() => undefined) })
  m.setHosts([HOST])
  t.teardown(() => m.close())
  await m.check()
  await m.idle()
  t.match(lines.find(l => l.event === 'certificate_failed'), { host: HOST, code: 'MTA_STS_STORE_DATABASE_FAILED' })
})

/** A store counting the reads of each key. */
class CountingStore extends MemoryStore {
  readonly reads = new Map<string, number>()
  override async get (key: string): Promise<Buffer | undefined> {
    this.reads.set(key, (this.reads.get(key) ?? 0) + 1)
    return super.get(key)
  }
}

const OTHER = 'mta-sts.example.org'
const keyOf = (host: string): string => `certificates/internal/${host}.pem`

/** An on-demand manager holding one context at a time, on a store counting reads. */
async function lazySetup (t: Tap) {
  const store = new CountingStore()
  const base = await setup(t, undefined, store)
  const m = new CertificateManager({ issuer: base.issuer, store, clock: base.clock, logger: logSink().logger, metrics: createMetrics(() => undefined), contextCacheSize: 1 })
  m.setHosts([HOST, OTHER])
  t.teardown(() => m.close())
  await resolveContext(m.context(HOST))
  await resolveContext(m.context(OTHER))
  return { ...base, store, m }
}

t.test('lazy: a host whose context went cold reads its certificate from the store again, once for concurrent handshakes', async t => {
  const { m, store, issuer } = await lazySetup(t)
  t.equal(issuer.calls, 2)
  t.notOk(m.context(OTHER) instanceof Promise, 'the host handshaken last is served from the cache')
  const print = m.renewal(HOST)?.fingerprint
  const reads = store.reads.get(keyOf(HOST)) ?? 0
  const cold = [m.context(HOST), m.context(HOST)]
  t.ok(cold[0] instanceof Promise, 'the other one went cold (a cache of one)')
  await Promise.all(cold)
  t.equal(store.reads.get(keyOf(HOST)), reads + 1, 'read again from the store, once for both handshakes')
  t.equal(issuer.calls, 2, 'nothing issued')
  t.equal((await m.certificate(HOST)).fingerprint, print, 'the same certificate')
  t.equal(store.reads.get(keyOf(HOST)), reads + 1, 'held with its context')
  t.notOk(m.context(HOST) instanceof Promise, 'and cached again')
})

t.test('lazy: a certificate that changed in the store (renewed by another instance) is taken up at the next cold handshake', async t => {
  const { m, store, ca, issuer, clock } = await lazySetup(t)
  const before = m.status().find(s => s.host === HOST)!
  clock.advance(DAY)
  const renewed = await ca.obtain(HOST)
  const print = new X509Certificate(renewed.certPem).fingerprint256
  await store.put(keyOf(HOST), `${renewed.keyPem.trim()}\n${renewed.certPem.trim()}\n`, { secret: true })
  t.not(m.renewal(HOST)?.fingerprint, print, 'not known before a handshake needs it')
  await resolveContext(m.context(HOST))
  t.equal(m.renewal(HOST)?.fingerprint, print, 'served and planned for from now on')
  const after = m.status().find(s => s.host === HOST)!
  t.ok(after.notAfter!.getTime() > before.notAfter!.getTime(), 'its expiry too')
  t.equal(issuer.calls, 2, 'nothing issued')
})

t.test('lazy: nothing of the certificate is held but what maintenance needs: gone from the store, a new one is issued', async t => {
  const { m, store, issuer } = await lazySetup(t)
  const print = m.renewal(HOST)?.fingerprint
  await store.delete(keyOf(HOST))
  await resolveContext(m.context(HOST))
  t.equal(issuer.calls, 3, 'issued again: the old PEMs were not kept in memory')
  t.not(m.renewal(HOST)?.fingerprint, print)
  t.ok(await store.get(keyOf(HOST)), 'and stored')
})

t.test('lazy: a removed host forgets its state and its context; a handshake for it keeps nothing', async t => {
  const { m, issuer } = await lazySetup(t)
  m.setHosts([HOST])
  t.same(m.status().map(s => s.host), [HOST])
  t.equal(m.renewal(OTHER), undefined)
  const served = await m.certificate(OTHER)
  t.ok(served.certPem.includes('BEGIN CERTIFICATE'), 'a host not served is still loaded for a caller')
  t.equal(issuer.calls, 2, 'from the store')
  t.same(m.status().map(s => s.host), [HOST], 'and not kept')
  t.ok(m.context(HOST) instanceof Promise, 'nor did it take the one cached context')
  await resolveContext(m.context(HOST))
  t.ok(await resolveContext(m.context(OTHER)), 'a context for a host not served is built for the caller')
  t.notOk(m.context(HOST) instanceof Promise, 'without taking the cached one')
})

t.test('lazy, queued: a stored certificate gone is not served from memory; the host is queued and the handshake refused', async t => {
  const clock = new ManualClock(new Date('2026-01-01T00:00:00Z'))
  const store = new MemoryStore()
  const ca = await InternalCa.open({ store, clock, leafLifetime: 30 * 86400 })
  const issuer: Issuer = { name: 'internal', mode: 'queued', obtain: host => ca.obtain(host) }
  const m = new CertificateManager({ issuer, store, clock, logger: logSink().logger, metrics: createMetrics(() => undefined), contextCacheSize: 1 })
  m.setHosts([HOST, OTHER])
  t.teardown(() => m.close())
  await m.check()
  await m.idle()
  t.same(m.status().map(s => s.state), ['valid', 'valid'])
  await resolveContext(m.context(HOST))
  await resolveContext(m.context(OTHER))
  const renewed = await ca.obtain(HOST)
  await store.put(keyOf(HOST), `${renewed.keyPem.trim()}\n${renewed.certPem.trim()}\n`, { secret: true })
  await resolveContext(m.context(HOST))
  t.equal(m.renewal(HOST)?.fingerprint, new X509Certificate(renewed.certPem).fingerprint256, 'a changed certificate is taken from the store')
  await store.delete(keyOf(OTHER))
  await t.rejects(resolveContext(m.context(OTHER)), { code: 'MTA_STS_CERT_UNAVAILABLE' }, 'a handshake never waits for a queued issuer')
  await m.idle()
  t.ok(await store.get(keyOf(OTHER)), 'obtained again from the queue')
  await resolveContext(m.context(OTHER))
})

t.test('lazy, renewal information: asked about the certificate in the store; one renewed elsewhere is taken up; none there, nothing asked', async t => {
  const clock = new ManualClock(new Date('2026-01-01T00:00:00Z'))
  const store = new MemoryStore()
  const ca = await InternalCa.open({ store, clock, leafLifetime: 30 * 86400 })
  const asked: string[] = []
  const issuer: Issuer = {
    name: 'internal',
    mode: 'on-demand',
    obtain: host => ca.obtain(host),
    renewalWindow: async cert => { asked.push(cert.fingerprint); return undefined },
  }
  const m = new CertificateManager({ issuer, store, clock, logger: logSink().logger, metrics: createMetrics(() => undefined) })
  m.setHosts([HOST])
  t.teardown(() => m.close())
  await resolveContext(m.context(HOST))
  const first = m.renewal(HOST)?.fingerprint
  await m.check()
  t.same(asked, [first], 'the served certificate, read from the store')
  const renewed = await ca.obtain(HOST)
  await store.put(keyOf(HOST), `${renewed.keyPem.trim()}\n${renewed.certPem.trim()}\n`, { secret: true })
  clock.advance(7 * 3600_000)
  await m.check()
  const second = new X509Certificate(renewed.certPem).fingerprint256
  t.same(asked, [first, second], 'a certificate renewed elsewhere is asked about')
  t.equal(m.renewal(HOST)?.fingerprint, second, 'and taken up')
  await store.delete(keyOf(HOST))
  clock.advance(7 * 3600_000)
  await m.check()
  t.equal(asked.length, 2, 'nothing in the store: nothing asked')
  t.equal(m.renewal(HOST)?.fingerprint, second, 'the certificate known is kept until a handshake or its renewal')
})

t.test('lazy, files: a cold host re-reads the files; changed files are loaded (and logged), broken ones are a failure', async t => {
  const dir = await tempDir(t)
  const clock = new ManualClock()
  const ca = await InternalCa.open({ store: new MemoryStore(), clock, leafLifetime: 30 * 86400 })
  const write = async (host: string): Promise<string> => {
    const c = await ca.obtain(host)
    await mkdir(join(dir, host), { recursive: true })
    await writeFile(join(dir, host, 'privkey.pem'), c.keyPem)
    await writeFile(join(dir, host, 'fullchain.pem'), c.certPem)
    return new X509Certificate(c.certPem).fingerprint256
  }
  const { logger, lines } = logSink()
  const m = new CertificateManager({ issuer: new FilesIssuer(host => FilesIssuer.pathsFor(host, undefined, dir)), store: new MemoryStore(), clock, logger, metrics: createMetrics(() => undefined), contextCacheSize: 1 })
  m.setHosts([HOST, OTHER])
  t.teardown(() => m.close())
  await write(HOST)
  await write(OTHER)
  await m.preload([HOST, OTHER])
  await resolveContext(m.context(HOST))
  await resolveContext(m.context(OTHER))
  t.equal(lines.filter(l => l.event === 'certificate_loaded').length, 2)
  await resolveContext(m.context(HOST))
  t.equal(lines.filter(l => l.event === 'certificate_loaded').length, 2, 'unchanged files read again for a cold context, not loaded anew')
  const print = await write(OTHER)
  await resolveContext(m.context(OTHER))
  t.ok(lines.some(l => l.event === 'certificate_loaded' && l.fingerprint === print), 'changed files loaded at the cold handshake')
  await writeFile(join(dir, HOST, 'fullchain.pem'), 'not a certificate')
  await t.rejects(resolveContext(m.context(HOST)), { code: 'MTA_STS_CERT_INVALID' }, 'broken files: no certificate to serve once its context is gone')
  t.ok(lines.some(l => l.event === 'certificate_failed' && l.host === HOST && l.serving_old === true))
})
