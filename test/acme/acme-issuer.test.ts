import { createPrivateKey, createHmac, X509Certificate } from 'node:crypto'
import { createServer } from 'node:net'
import { PassThrough } from 'node:stream'
import 'reflect-metadata'
import * as x509 from '@peculiar/x509'
import * as acme from 'acme-client'
import t from 'tap'
import { AcmeIssuer } from '../../src/acme/acme-issuer.js'
import { InlineAcmeCrypto } from '../../src/acme/inline-acme-crypto.js'
import { WorkerAcmeCrypto } from '../../src/acme/worker-acme-crypto.js'
import { ariCertId } from '../../src/acme/ari.js'
import { decodeTlsAlpnChallenge } from '../../src/acme/tls-alpn-challenge.js'
import { acmePendingOrderKey, httpChallengeKey, tlsAlpnChallengeKey } from '../../src/store/keys.js'
import { ManualClock } from '../../src/clock.js'
import type { AcmeSettings } from '../../src/config/types.js'
import { createLogger } from '../../src/log.js'
import { createMetrics } from '../../src/metrics.js'
import { MemoryStore } from '../../src/store/memory-store.js'
import { CertificateManager } from '../../src/tls/certificate-manager.js'
import { inspectCertificate, type CertifiedKey } from '../../src/tls/certified-key.js'
import type { IssuanceError } from '../../src/tls/issuer.js'
import { RATE_LIMITED, startFakeAcme, type FakeAcme } from '../helpers/fake-acme.js'

type Tap = { teardown (fn: () => unknown): void }

const HOST = 'mta-sts.example.com'
const silent = () => createLogger('silent', new PassThrough())

/** A MemoryStore that remembers which keys were written as secrets. */
class SpyStore extends MemoryStore {
  readonly secrets = new Set<string>()
  override async put (key: string, value: string | Buffer, opts?: { secret?: boolean }): Promise<void> {
    if (opts?.secret) this.secrets.add(key)
    return super.put(key, value, opts)
  }
}

function settingsFor (fake: FakeAcme, extra: Partial<AcmeSettings> = {}): AcmeSettings {
  return {
    directory: fake.url + '/dir',
    termsOfServiceAgreed: true,
    challenges: ['http-01'],
    keyType: 'ecdsa-p256',
    caFile: fake.caFile,
    concurrency: 1,
    maxOrders: 5,
    orderWindow: 3600,
    email: 'ops@example.com',
    ...extra,
  }
}

function makeIssuer (t: Tap, fake: FakeAcme, opts: { settings?: Partial<AcmeSettings>; store?: SpyStore; clock?: ManualClock; onOrder?: (h: string) => void } = {}) {
  const store = opts.store ?? new SpyStore()
  const clock = opts.clock ?? new ManualClock(new Date('2026-03-01T12:00:00Z'))
  // Keys and CSRs inline here; the default (a worker thread) is tested below and in worker-acme-crypto.test.ts.
  const issuer = new AcmeIssuer({ settings: settingsFor(fake, opts.settings), store, clock, logger: silent(), crypto: new InlineAcmeCrypto(), ...(opts.onOrder ? { onOrder: opts.onOrder } : {}) })
  t.teardown(() => issuer.close())
  return { issuer, store, clock }
}

async function failure (p: Promise<unknown>): Promise<IssuanceError> {
  try {
    await p
  } catch (err) {
    return err as IssuanceError
  }
  throw new Error('expected a rejection')
}

async function certifiedKey (fake: FakeAcme, host = HOST): Promise<CertifiedKey> {
  const { certPem, keyPem } = await fake.issue(host)
  return inspectCertificate(host, certPem, keyPem)
}

function accountFolder (fake: FakeAcme): string {
  return `acme/127.0.0.1_${new URL(fake.url).port}-dir`
}

const activeInterceptors = () => ({
  request: (acme.axios.interceptors.request as unknown as { handlers: unknown[] }).handlers.filter(h => h !== null).length,
  response: (acme.axios.interceptors.response as unknown as { handlers: unknown[] }).handlers.filter(h => h !== null).length,
})

t.test('obtains a certificate over HTTP-01, the key authorization in the store while the CA validates', async t => {
  const fake = await startFakeAcme(t)
  const orders: string[] = []
  const { issuer, store } = makeIssuer(t, fake, { onOrder: h => orders.push(h) })
  const seen: string[] = []
  fake.validate = async ({ type, token, identifier }) => {
    const stored = (await store.get(httpChallengeKey(identifier, token)))?.toString()
    seen.push(`${type} ${stored?.startsWith(`${token}.`) === true}`)
    return true
  }
  t.equal(issuer.budget.remaining(), 5)
  const issued = await issuer.obtain(HOST)
  const cert = inspectCertificate(HOST, issued.certPem, issued.keyPem)
  t.ok(cert.notAfter > new Date(), 'a usable certificate for the host')
  t.equal(createPrivateKey(issued.keyPem).asymmetricKeyType, 'ec')
  t.same(seen, ['http-01 true'], 'the key authorization was stored before validation')
  t.same(await store.list('acme/challenges'), [], 'and removed afterwards')
  t.same(orders, [HOST], 'onOrder called per order')
  t.equal(issuer.budget.remaining(), 4, 'one order taken from the budget')
  const order = fake.payloads('/new-order')[0]
  t.same(order, { identifiers: [{ type: 'dns', value: HOST }] }, 'no replaces without renewalInfo')
  const account = fake.payloads('/new-account')[0]
  t.same(account, { termsOfServiceAgreed: true, contact: ['mailto:ops@example.com'] })
})

t.test("signed requests use the nonces of earlier answers: one HEAD newNonce per issuer's first request, each nonce once", async t => {
  const fake = await startFakeAcme(t)
  const { issuer } = makeIssuer(t, fake)
  await issuer.obtain(HOST)
  await issuer.obtain('mta-sts.example.net')
  const posts = fake.requests.filter(r => r.method === 'POST')
  const used = posts.map(r => r.protected?.nonce)
  t.ok(posts.length >= 10, `${posts.length} signed requests`)
  t.equal(new Set(used).size, used.length, 'no nonce used twice')
  t.equal(fake.count('/nonce', 'HEAD'), 1, 'only the first signed request had to ask for one')
})

t.test('TLS-ALPN-01 preferred when configured first; RSA keys; no email', async t => {
  const fake = await startFakeAcme(t)
  const { issuer, store } = makeIssuer(t, fake, { settings: { challenges: ['tls-alpn-01', 'http-01'], keyType: 'rsa-2048', email: undefined } })
  const seen: string[] = []
  fake.validate = async ({ type, identifier, token }) => {
    const stored = decodeTlsAlpnChallenge((await store.get(tlsAlpnChallengeKey(identifier)))?.toString() ?? '')
    const certificateFits = stored.certificate !== undefined && acme.crypto.isAlpnCertificateAuthorizationValid(stored.certificate.certPem, stored.keyAuthorization)
    seen.push(`${type} ${stored.keyAuthorization.startsWith(`${token}.`)} ${certificateFits}`)
    return true
  }
  const issued = await issuer.obtain(HOST)
  t.same(seen, ['tls-alpn-01 true true'], 'the key authorization is stored with its challenge certificate, made once')
  t.equal(createPrivateKey(issued.keyPem).asymmetricKeyType, 'rsa')
  t.equal(new X509Certificate(issued.certPem).publicKey.asymmetricKeyType, 'rsa')
  t.same(fake.payloads('/new-account')[0], { termsOfServiceAgreed: true }, 'no contact without email')
  t.notOk(await store.get(tlsAlpnChallengeKey(HOST)), 'challenge removed')
})

t.test('an authorization that is already valid needs no challenge', async t => {
  const fake = await startFakeAcme(t)
  fake.authzStatus = 'valid'
  const { issuer } = makeIssuer(t, fake)
  await issuer.obtain(HOST)
  t.equal(fake.requests.filter(r => r.path.startsWith('/chall/')).length, 0)
})

t.test('failed validation: kind validation, challenge removed from the store', async t => {
  const fake = await startFakeAcme(t)
  fake.validate = () => false
  const { issuer, store } = makeIssuer(t, fake)
  const err = await failure(issuer.obtain(HOST))
  t.equal(err.kind, 'validation')
  t.equal((err as { code?: string }).code, 'MTA_STS_ACME_VALIDATION_FAILED')
  t.match(err.message, `http-01 validation failed for ${HOST}: fake validation of http-01 failed`)
  t.same(await store.list('acme/challenges'), [])
  t.same((await store.list('acme')).filter(k => k.includes('/pending/')), [], 'the failed order is not resumed')
})

t.test('an order left by a holder that stopped is resumed, not placed again', async t => {
  t.test('stopped while the CA validated: the next issuer answers the challenge again and finalizes', async t => {
    const fake = await startFakeAcme(t)
    const store = new SpyStore()
    let release: (ok: boolean) => void = () => {}
    fake.validate = () => new Promise<boolean>(resolve => { release = resolve })
    const first = makeIssuer(t, fake, { store }).issuer
    const stuck = first.obtain(HOST).catch(() => undefined)
    const pending = acmePendingOrderKey(settingsFor(fake).directory, HOST)
    for (let i = 0; i < 200 && !fake.requests.some(r => r.path.startsWith('/chall/') && r.payload !== null); i++) await new Promise(resolve => setTimeout(resolve, 10))
    const { url } = JSON.parse(String(await store.get(pending))) as { url: string }
    t.match(url, new RegExp(`^${fake.url}/order/\\d+$`), 'the order is noted before it is validated')
    t.ok(store.secrets.has(pending), 'and kept as a secret (it will hold the key)')
    fake.validate = () => true
    const logs = new PassThrough()
    const lines: Record<string, unknown>[] = []
    logs.on('data', (c: Buffer) => { for (const l of c.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(l) as Record<string, unknown>) })
    const second = new AcmeIssuer({ settings: settingsFor(fake), store, clock: new ManualClock(new Date('2026-03-01T12:00:00Z')), logger: createLogger('info', logs), crypto: new InlineAcmeCrypto() })
    t.teardown(() => second.close())
    const issued = await second.obtain(HOST)
    t.ok(inspectCertificate(HOST, issued.certPem, issued.keyPem).notAfter > new Date())
    t.equal(fake.count('/new-order', 'POST'), 1, 'one order in all')
    t.equal(second.budget.remaining(), 5, 'a resumed order takes nothing from the budget')
    t.match(lines.find(l => l.event === 'acme_order_resumed'), { host: HOST, order: url, status: 'pending' })
    t.notOk(await store.get(pending), 'done: the record is gone')
    release(true)
    await stuck
  })

  t.test('stopped after finalizing: the certificate is downloaded with the key kept in the record', async t => {
    const fake = await startFakeAcme(t)
    const pending = acmePendingOrderKey(settingsFor(fake).directory, HOST)
    class StopsBeforeDone extends SpyStore {
      override async delete (key: string): Promise<void> {
        if (key === pending) throw new Error('killed')
        return super.delete(key)
      }
    }
    const store = new StopsBeforeDone()
    await t.rejects(makeIssuer(t, fake, { store }).issuer.obtain(HOST), /killed/)
    const { keyPem } = JSON.parse(String(await store.get(pending))) as { keyPem: string }
    const plain = new SpyStore()
    for (const key of await store.list('acme')) await plain.put(key, (await store.get(key)) as Buffer)
    const issued = await makeIssuer(t, fake, { store: plain }).issuer.obtain(HOST)
    t.equal(issued.keyPem, keyPem, 'the key the CA certified')
    t.ok(new X509Certificate(issued.certPem).checkPrivateKey(createPrivateKey(keyPem)), 'the certificate matches the kept key')
    t.equal(fake.count('/new-order', 'POST'), 1)
    t.equal(fake.requests.filter(r => r.path.startsWith('/finalize/')).length, 1, 'finalized once')
  })

  t.test('a record the CA cannot complete is dropped and a new order placed', async t => {
    const fake = await startFakeAcme(t)
    const { issuer, store } = makeIssuer(t, fake)
    const pending = acmePendingOrderKey(settingsFor(fake).directory, HOST)
    await store.put(pending, JSON.stringify({ url: `${fake.url}/order/404` }))
    await issuer.obtain(HOST)
    t.equal(fake.count('/new-order', 'POST'), 1, 'unknown to the CA')
    await store.put(pending, '{not json')
    await issuer.obtain(HOST)
    t.equal(fake.count('/new-order', 'POST'), 2, 'unreadable')
    const done = fake.requests.filter(r => r.path.startsWith('/finalize/')).at(-1)?.path.replace('/finalize/', '/order/')
    await store.put(pending, JSON.stringify({ url: `${fake.url}${String(done)}` }))
    await issuer.obtain(HOST)
    t.equal(fake.count('/new-order', 'POST'), 3, 'valid, but the key it certified is not known')
    t.notOk(await store.get(pending))
  })

  t.test('a CA that cannot be reached keeps the record for the next attempt', async t => {
    const fake = await startFakeAcme(t)
    const { issuer, store } = makeIssuer(t, fake)
    await issuer.obtain(HOST)
    await fake.close()
    const pending = acmePendingOrderKey(settingsFor(fake).directory, HOST)
    const record = JSON.stringify({ url: `${fake.url}/order/1` })
    await store.put(pending, record)
    const err = await failure(issuer.obtain(HOST))
    t.equal(err.kind, 'network')
    t.equal(String(await store.get(pending)), record)
    t.equal(fake.count('/new-order', 'POST'), 1, 'nothing ordered while the CA is away')
  })
  t.end()
})

t.test('no configured challenge type offered', async t => {
  const fake = await startFakeAcme(t)
  fake.challengeTypes = ['dns-01']
  const { issuer } = makeIssuer(t, fake, { settings: { challenges: ['http-01', 'tls-alpn-01'] } })
  const err = await failure(issuer.obtain(HOST))
  t.equal((err as { code?: string }).code, 'MTA_STS_ACME_NO_USABLE_CHALLENGE')
  t.match(err.message, 'the CA offers none of the configured challenge types (http-01, tls-alpn-01)')
  t.ok(err.kind, 'classified')
})

t.test('rate limit: one newOrder request, kind rate_limited, Retry-After from the clock', async t => {
  const fake = await startFakeAcme(t)
  fake.newOrderReply = () => RATE_LIMITED
  const { issuer, clock } = makeIssuer(t, fake)
  const started = Date.now()
  const err = await failure(issuer.obtain(HOST))
  t.ok(Date.now() - started < 10_000, 'not waited out inside the request')
  t.equal(err.kind, 'rate_limited')
  t.equal(err.message, 'too many new orders', "the CA's problem detail, unchanged")
  t.equal((err as { code?: string }).code, 'MTA_STS_ACME_FAILED')
  t.equal(err.retryAfter?.getTime(), clock.now().getTime() + 120_000)
  t.equal(fake.count('/new-order'), 1, "acme-client's own retry is off")
  t.equal(issuer.budget.remaining(), 4, 'the refused order still counts')
})

t.test('Retry-After: HTTP dates, 503, garbage, other statuses', async t => {
  const fake = await startFakeAcme(t)
  const at = new Date('2026-03-01T13:00:00Z')
  const replies: Record<string, { status: number; headers?: Record<string, string>; body?: unknown }> = {
    'date.example.com': { status: 503, headers: { 'retry-after': at.toUTCString() }, body: { type: 'urn:ietf:params:acme:error:serverInternal', detail: 'down for maintenance' } },
    'garbage.example.com': { status: 429, headers: { 'retry-after': 'soon' }, body: { type: 'urn:ietf:params:acme:error:rateLimited', detail: 'too many orders' } },
    'none.example.com': { status: 429, body: { type: 'urn:ietf:params:acme:error:rateLimited', detail: 'too many orders' } },
    'other.example.com': { status: 400, headers: { 'retry-after': '60' }, body: { type: 'urn:ietf:params:acme:error:malformed', detail: 'malformed request' } },
    'timeout.example.com': { status: 500, body: { type: 'urn:ietf:params:acme:error:serverInternal', detail: 'upstream ETIMEDOUT' } },
  }
  fake.newOrderReply = id => replies[id]
  const results: Record<string, IssuanceError> = {}
  for (const host of Object.keys(replies)) {
    const { issuer } = makeIssuer(t, fake)
    results[host] = await failure(issuer.obtain(host))
  }
  t.equal(results['date.example.com']?.retryAfter?.getTime(), at.getTime(), 'an HTTP date')
  t.equal(results['garbage.example.com']?.retryAfter, undefined, 'an unparsable Retry-After is ignored')
  t.equal(results['garbage.example.com']?.kind, 'rate_limited')
  t.equal(results['none.example.com']?.retryAfter, undefined)
  t.equal(results['other.example.com']?.retryAfter, undefined, 'Retry-After only counts on 429 and 503')
  t.equal(results['other.example.com']?.kind, 'malformed')
  t.equal(results['timeout.example.com']?.kind, 'network', 'network failures named by the CA')
})

t.test('malformed answers are classified, never a crash', async t => {
  const fake = await startFakeAcme(t)
  t.test('directory is an HTML page', async t => {
    fake.directoryReply = { status: 200, headers: { 'content-type': 'text/html' }, body: '<html><body>maintenance</body></html>' }
    const { issuer } = makeIssuer(t, fake)
    const err = await failure(issuer.obtain(HOST))
    t.equal(err.kind, 'malformed')
    t.equal((err as { code?: string }).code, 'MTA_STS_ACME_DIRECTORY_UNUSABLE')
    t.match(err.message, /ACME directory .*\/dir answered HTTP 200 without a usable directory/)
    t.equal(fake.count('/new-account'), 0)
    t.equal(issuer.budget.remaining(), 5, 'no order counted')
    // The directory is fetched again next time (not cached as a failure).
    fake.directoryReply = undefined
    await issuer.obtain(HOST)
    t.equal(fake.count('/new-order'), 1)
  })
  t.test('directory without newOrder', async t => {
    fake.directoryReply = { status: 200, body: { newNonce: `${fake.url}/nonce`, newAccount: `${fake.url}/new-account` } }
    t.teardown(() => { fake.directoryReply = undefined })
    const { issuer } = makeIssuer(t, fake)
    t.equal((await failure(issuer.obtain(HOST))).kind, 'malformed')
  })
  t.test('order body is not JSON (201)', async t => {
    fake.newOrderReply = () => ({ status: 201, headers: { location: `${fake.url}/order/1` }, body: 'not json' })
    t.teardown(() => { fake.newOrderReply = undefined })
    const { issuer } = makeIssuer(t, fake)
    t.equal((await failure(issuer.obtain(HOST))).kind, 'malformed')
  })
  t.test('order body is not JSON (200)', async t => {
    fake.newOrderReply = () => ({ status: 200, body: 'not json' })
    t.teardown(() => { fake.newOrderReply = undefined })
    const { issuer } = makeIssuer(t, fake)
    const e = await failure(issuer.obtain(HOST)); t.equal(e.kind, 'malformed', e.message)
  })
  t.test('a non-JSON order body is malformed', async t => {
    fake.newOrderReply = () => ({ status: 201, headers: { location: `${fake.url}/order/1` }, body: '<html>oops</html>' })
    t.teardown(() => { fake.newOrderReply = undefined })
    const { issuer } = makeIssuer(t, fake)
    const err = await failure(issuer.obtain(HOST))
    t.equal(err.kind, 'malformed', `message: ${err.message}`)
  })
  t.test('a directory answering HTTP 404 is malformed', async t => {
    fake.directoryReply = { status: 404, headers: { 'content-type': 'text/html' }, body: '<html>not found</html>' }
    t.teardown(() => { fake.directoryReply = undefined })
    const { issuer } = makeIssuer(t, fake)
    const err = await failure(issuer.obtain(HOST))
    t.equal(err.kind, 'malformed', `message: ${err.message}`)
  })
})

t.test('rejections and server errors', async t => {
  const fake = await startFakeAcme(t)
  t.test('503 directory with Retry-After', async t => {
    fake.directoryReply = { status: 503, headers: { 'retry-after': '30' } }
    t.teardown(() => { fake.directoryReply = undefined })
    const { issuer, clock } = makeIssuer(t, fake)
    const err = await failure(issuer.obtain(HOST))
    t.equal(err.retryAfter?.getTime(), clock.now().getTime() + 30_000)
    t.ok(err.kind)
  })
  t.test('a problem document without detail names its type: rejected', async t => {
    fake.newOrderReply = () => ({ status: 403, body: { type: 'urn:ietf:params:acme:error:rejectedIdentifier' } })
    t.teardown(() => { fake.newOrderReply = undefined })
    const { issuer } = makeIssuer(t, fake)
    t.equal((await failure(issuer.obtain(HOST))).kind, 'rejected')
  })
  t.test('a CAA problem is a rejection by the CA', async t => {
    fake.newOrderReply = () => ({ status: 400, body: { type: 'urn:ietf:params:acme:error:caa', detail: 'CAA record forbids issuance' } })
    t.teardown(() => { fake.newOrderReply = undefined })
    const { issuer } = makeIssuer(t, fake)
    const err = await failure(issuer.obtain(HOST))
    t.equal(err.message, 'CAA record forbids issuance')
    t.equal(err.kind, 'rejected')
  })
  t.test('a rejectedIdentifier problem with a detail is rejected', async t => {
    fake.newOrderReply = () => ({ status: 403, body: { type: 'urn:ietf:params:acme:error:rejectedIdentifier', detail: 'Cannot issue for this name' } })
    t.teardown(() => { fake.newOrderReply = undefined })
    const { issuer } = makeIssuer(t, fake)
    t.equal((await failure(issuer.obtain(HOST))).kind, 'rejected')
  })
  t.test('a 429 rateLimited problem is rate_limited whatever its detail', async t => {
    fake.newOrderReply = () => ({ status: 429, headers: { 'retry-after': '120' }, body: { type: 'urn:ietf:params:acme:error:rateLimited', detail: 'slow down' } })
    t.teardown(() => { fake.newOrderReply = undefined })
    const { issuer, clock } = makeIssuer(t, fake)
    const err = await failure(issuer.obtain(HOST))
    t.equal(err.retryAfter?.getTime(), clock.now().getTime() + 120_000, 'Retry-After is kept')
    t.equal(err.kind, 'rate_limited', `message: ${err.message}`)
  })
  t.test('newOrder HTTP 500 with an empty body names the status', async t => {
    fake.newOrderReply = () => ({ status: 500 })
    t.teardown(() => { fake.newOrderReply = undefined })
    const { issuer } = makeIssuer(t, fake)
    const err = await failure(issuer.obtain(HOST))
    t.not(err.message, '', 'the operator gets a reason (e.g. the HTTP status)')
    t.equal((err as { code?: string }).code, 'MTA_STS_ACME_HTTP_ERROR')
  })
})

t.test('network failures', async t => {
  const fake = await startFakeAcme(t)
  const port = await new Promise<number>(resolve => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port
      s.close(() => resolve(p))
    })
  })
  // Keep an issuer for the fake alive: its agent is only for its own origin.
  makeIssuer(t, fake)
  const { issuer } = makeIssuer(t, fake, { settings: { directory: `https://127.0.0.1:${port}/dir` } })
  const err = await failure(issuer.obtain(HOST))
  t.equal(err.kind, 'network')
  t.equal((err as { code?: string }).code, 'MTA_STS_ACME_UNREACHABLE')
  t.equal(err.retryAfter, undefined)
  // Without caFile the fake's private CA is not trusted.
  const other = await startFakeAcme(t)
  const untrusted = makeIssuer(t, other, { settings: { caFile: undefined } }).issuer
  const tlsErr = await failure(untrusted.obtain(HOST))
  t.ok(tlsErr.kind, `classified (${tlsErr.kind}: ${tlsErr.message})`)
  t.equal(other.requests.length, 0)
})

t.test('the account is created once, stored, and reused', async t => {
  const fake = await startFakeAcme(t)
  const store = new SpyStore()
  const { issuer } = makeIssuer(t, fake, { store })
  await Promise.all([issuer.obtain('a.example.com'), issuer.obtain('b.example.com')])
  await issuer.obtain('c.example.com')
  const second = makeIssuer(t, fake, { store }).issuer
  await second.obtain('d.example.com')
  t.equal(fake.count('/new-account'), 1, 'one newAccount request')
  t.equal(fake.count('/new-order'), 4)
  const folder = accountFolder(fake)
  const key = await store.get(`${folder}/account.key`)
  t.match(key?.toString(), /-----BEGIN PRIVATE KEY-----/)
  t.ok(store.secrets.has(`${folder}/account.key`), 'the account key is a secret')
  const meta = JSON.parse((await store.get(`${folder}/account.json`))!.toString()) as Record<string, unknown>
  t.same(meta, { url: `${fake.url}/acct/1`, directory: `${fake.url}/dir`, email: 'ops@example.com' })
  t.notOk(store.secrets.has(`${folder}/account.json`))
  const kids = fake.requests.filter(r => r.path === '/new-order').map(r => r.protected?.kid)
  t.same(kids, Array(4).fill(`${fake.url}/acct/1`), 'every order signed by the one account')
})

t.test('account creation failure is retried with the stored key', async t => {
  const fake = await startFakeAcme(t)
  let refuse = true
  fake.newAccountReply = () => refuse ? { status: 403, body: { type: 'urn:ietf:params:acme:error:unauthorized', detail: 'account creation refused' } } : undefined
  const { issuer, store } = makeIssuer(t, fake, { settings: { email: undefined } })
  const err = await failure(issuer.obtain(HOST))
  t.equal(err.message, 'account creation refused')
  t.ok(await store.get(`${accountFolder(fake)}/account.key`), 'key kept')
  t.notOk(await store.get(`${accountFolder(fake)}/account.json`), 'no account recorded')
  refuse = false
  await issuer.obtain(HOST)
  const jwks = fake.requests.filter(r => r.path === '/new-account').map(r => JSON.stringify(r.protected?.jwk))
  t.equal(jwks.length, 2)
  t.equal(jwks[0], jwks[1], 'the same key both times')
  t.same(JSON.parse((await store.get(`${accountFolder(fake)}/account.json`))!.toString()).email, null)
})

t.test('external account binding', async t => {
  const fake = await startFakeAcme(t)
  const hmacKey = Buffer.from('a-test-hmac-key-of-some-length-32b').toString('base64url')
  const { issuer } = makeIssuer(t, fake, { settings: { eab: { kid: 'kid-1', hmacKey } } })
  await issuer.obtain(HOST)
  const req = fake.requests.find(r => r.path === '/new-account')!
  const eab = req.payload?.externalAccountBinding as { protected: string; payload: string; signature: string }
  t.ok(eab, 'newAccount carries externalAccountBinding')
  const prot = JSON.parse(Buffer.from(eab.protected, 'base64url').toString()) as Record<string, unknown>
  t.same(prot, { alg: 'HS256', url: `${fake.url}/new-account`, kid: 'kid-1' })
  t.same(JSON.parse(Buffer.from(eab.payload, 'base64url').toString()), req.protected?.jwk, 'binds the account key')
  const mac = createHmac('sha256', Buffer.from(hmacKey, 'base64')).update(`${eab.protected}.${eab.payload}`).digest('base64url')
  t.equal(eab.signature, mac)
})

t.test('replaces: the ARI id of the certificate being renewed when the CA offers renewalInfo', async t => {
  const withAri = await startFakeAcme(t, { renewalInfo: true })
  const old = await certifiedKey(withAri)
  const a = makeIssuer(t, withAri).issuer
  await a.obtain(HOST, { replaces: old })
  // RFC 9773: base64url(AKI keyIdentifier) "." base64url(DER serial), derived here independently:
  // the AKI is the issuing CA's SKI, and the fake's serials need no leading zero byte.
  const caSki = new x509.X509Certificate(withAri.caPem).getExtension(x509.SubjectKeyIdentifierExtension)!.keyId
  const serial = new X509Certificate(old.certPem).serialNumber
  const id = `${Buffer.from(caSki, 'hex').toString('base64url')}.${Buffer.from(serial, 'hex').toString('base64url')}`
  t.match(id, /^[\w-]{27}\.[\w-]{22}$/, '20-byte key id, 16-byte serial')
  t.equal(ariCertId(old.certPem), id)
  const order = withAri.payloads('/new-order')[0]
  t.equal(order?.replaces, id, 'the new order names the certificate being renewed')
  t.same(order, { identifiers: [{ type: 'dns', value: HOST }], replaces: id })
  await a.obtain(HOST)
  t.notOk('replaces' in (withAri.payloads('/new-order')[1] ?? {}), 'not for a first certificate')

  const noAri = await startFakeAcme(t)
  const b = makeIssuer(t, noAri).issuer
  await b.obtain(HOST, { replaces: await certifiedKey(noAri) })
  t.same(noAri.payloads('/new-order')[0], { identifiers: [{ type: 'dns', value: HOST }] })
})

t.test('renewalWindow()', async t => {
  const fake = await startFakeAcme(t, { renewalInfo: true })
  const cert = await certifiedKey(fake)
  const id = ariCertId(cert.certPem) as string
  const start = '2026-04-01T00:00:00Z'
  const end = '2026-04-03T00:00:00Z'
  const asked: string[] = []
  let reply: { status: number; headers?: Record<string, string>; body?: unknown } = { status: 200, headers: { 'retry-after': '21600' }, body: { suggestedWindow: { start, end } } }
  fake.renewalInfoReply = certId => { asked.push(certId); return reply }
  const { issuer, clock } = makeIssuer(t, fake)
  t.same(await issuer.renewalWindow(cert), { start: new Date(start), end: new Date(end), retryAfter: new Date(clock.now().getTime() + 21600_000) })
  t.same(asked, [id], 'asks for the ARI id of the certificate')
  t.equal(fake.count(`/renewal-info/${id}`, 'GET'), 1, 'no double slash')
  reply = { status: 200, body: { suggestedWindow: { start, end } } }
  t.same(await issuer.renewalWindow(cert), { start: new Date(start), end: new Date(end) }, 'no Retry-After')
  reply = { status: 200, headers: { 'retry-after': '0' }, body: { suggestedWindow: { start, end } } }
  t.notOk('retryAfter' in ((await issuer.renewalWindow(cert)) ?? {}), 'Retry-After 0 is ignored')
  for (const [label, r] of [
    ['no window', { status: 200, body: {} }],
    ['bad dates', { status: 200, body: { suggestedWindow: { start: 'soon', end } } }],
    ['end before start', { status: 200, body: { suggestedWindow: { start: end, end: start } } }],
    ['not JSON', { status: 200, body: 'not json' }],
    ['HTTP 404', { status: 404 }],
    ['HTTP 429', { status: 429, headers: { 'retry-after': '60' }, body: { type: 'urn:ietf:params:acme:error:rateLimited', detail: 'too many' } }],
  ] as const) {
    reply = r
    const err = await failure(issuer.renewalWindow(cert))
    t.equal(err.kind, 'malformed', label)
    t.equal((err as { code?: string }).code, 'MTA_STS_ACME_RENEWAL_INFO_UNUSABLE', label)
  }
  const ca = { ...cert, certPem: fake.caPem }
  t.equal(await issuer.renewalWindow(ca), undefined, 'a certificate without AKI cannot be named')

  const plain = await startFakeAcme(t)
  t.equal(await makeIssuer(t, plain).issuer.renewalWindow(cert), undefined, 'no renewalInfo in the directory')
  t.equal(plain.requests.filter(r => r.path.startsWith('/renewal-info')).length, 0)
})

t.test('the order budget is consumed per order', async t => {
  const fake = await startFakeAcme(t)
  const { issuer, clock } = makeIssuer(t, fake, { settings: { maxOrders: 2, orderWindow: 60 } })
  await issuer.obtain('a.example.com')
  t.equal(issuer.budget.remaining(), 1)
  await issuer.obtain('b.example.com')
  t.equal(issuer.budget.remaining(), 0)
  t.equal(issuer.budget.nextSlot().getTime(), clock.now().getTime() + 60_000)
  clock.advance(60_000)
  t.equal(issuer.budget.remaining(), 2, 'the window slides')
})

t.test('acme-client is patched once, not per issuer; close() leaves it working for other issuers', async t => {
  const fake = await startFakeAcme(t)
  makeIssuer(t, fake)
  const before = activeInterceptors()
  const first = new AcmeIssuer({ settings: settingsFor(fake), store: new MemoryStore(), clock: new ManualClock(), logger: silent() })
  const noCa = new AcmeIssuer({ settings: settingsFor(fake, { caFile: undefined }), store: new MemoryStore(), clock: new ManualClock(), logger: silent(), crypto: new InlineAcmeCrypto() })
  t.same(activeInterceptors(), before, 'no interceptor added per issuer')
  t.ok(first.crypto instanceof WorkerAcmeCrypto, 'by default, keys and CSRs are built in a worker thread')
  const issued = await first.obtain(HOST)
  t.equal(createPrivateKey(issued.keyPem).asymmetricKeyType, 'ec', 'the key made there')
  t.ok(new X509Certificate(issued.certPem).checkPrivateKey(createPrivateKey(issued.keyPem)), 'certified by the CA from the CSR made there')
  await first.close()
  await t.rejects(first.crypto.privateKey('ecdsa-p256'), /closed/, 'close() stopped the worker')
  await noCa.close()
  t.same(activeInterceptors(), before, 'and none removed by close()')
  const second = makeIssuer(t, fake).issuer
  await second.obtain(HOST)
  t.equal(fake.count('/new-order'), 2)
})

t.test('the lost account is recognised by its problem type, not by the text', async t => {
  t.test('accountDoesNotExist with any detail: registered again, once, and the order goes through', async t => {
    const fake = await startFakeAcme(t)
    const store = new SpyStore()
    const { issuer } = makeIssuer(t, fake, { store })
    await issuer.obtain(HOST)
    const [lost] = fake.accountUrls()
    fake.forgetAccounts('who are you?')
    const out = new PassThrough()
    const lines: string[] = []
    out.on('data', (c: Buffer) => lines.push(...c.toString().split('\n').filter(Boolean)))
    const logger = createLogger('warn', out)
    const again = new AcmeIssuer({ settings: settingsFor(fake), store, clock: new ManualClock(), logger, crypto: new InlineAcmeCrypto() })
    t.teardown(() => again.close())
    await again.obtain(HOST)
    await new Promise(resolve => setImmediate(resolve))
    t.same(lines.map(l => (JSON.parse(l) as { event: string }).event), ['acme_account_lost'])
    t.equal(fake.count('/new-account'), 2, 'registered again')
    t.equal(fake.count('/new-order'), 3, 'the first order, the one refused, and the one retried with the new account')
    const meta = JSON.parse((await store.get(`${accountFolder(fake)}/account.json`))!.toString()) as { url: string }
    t.same(fake.accountUrls(), [meta.url], 'the new account is stored')
    t.not(meta.url, lost)
  })

  t.test('a detail saying "account does not exist" under another type is not a lost account', async t => {
    const fake = await startFakeAcme(t)
    fake.newOrderReply = () => ({ status: 400, body: { type: 'urn:ietf:params:acme:error:malformed', detail: 'account does not exist' } })
    const { issuer } = makeIssuer(t, fake)
    const err = await failure(issuer.obtain(HOST))
    t.equal(err.kind, 'malformed')
    t.equal(fake.count('/new-account'), 1, 'not registered again')
  })

  t.test('a second accountDoesNotExist after registering again is a failure, not a loop', async t => {
    const fake = await startFakeAcme(t)
    fake.newOrderReply = () => ({ status: 400, body: { type: 'urn:ietf:params:acme:error:accountDoesNotExist', detail: 'no' } })
    const { issuer } = makeIssuer(t, fake)
    const err = await failure(issuer.obtain(HOST))
    t.equal(err.kind, 'malformed')
    t.equal(fake.count('/new-account'), 2, 'registered again once')
  })
})

t.test('certificate manager: a Retry-After for one host does not hold up another', async t => {
  const fake = await startFakeAcme(t)
  const A = 'mta-sts.a.example'
  const B = 'mta-sts.b.example'
  let limitA = true
  let failB = true
  fake.newOrderReply = id => {
    if (id === A && limitA) return RATE_LIMITED
    if (id === B && failB) return { status: 500, body: { type: 'urn:ietf:params:acme:error:serverInternal', detail: 'internal error' } }
    return undefined
  }
  const store = new MemoryStore()
  const clock = new ManualClock(new Date())
  const issuer = new AcmeIssuer({ settings: settingsFor(fake), store, clock, logger: silent(), crypto: new InlineAcmeCrypto() })
  t.teardown(() => issuer.close())
  const manager = new CertificateManager({ issuer, store, clock, logger: silent(), metrics: createMetrics(() => undefined), backoffMs: [1000, 2000], concurrency: 2 })
  t.teardown(() => manager.close())
  manager.setHosts([A, B])
  const t0 = clock.now().getTime()
  const status = (host: string) => manager.status().find(s => s.host === host)!

  await manager.check()
  await manager.idle()
  t.match(status(A), { state: 'failing', failures: 1, lastError: 'too many new orders', next: { action: 'retry', at: new Date(t0 + 120_000) } }, 'Retry-After honoured over the 1 s back-off')
  t.match(status(B), { state: 'failing', failures: 1, lastError: 'internal error', next: { action: 'retry', at: new Date(t0 + 1000) } }, 'B on its own back-off')

  clock.advance(1000)
  await manager.check()
  await manager.idle()
  t.match(status(B), { state: 'failing', failures: 2, next: { action: 'retry', at: new Date(t0 + 1000 + 2000) } }, 'second back-off step')
  t.equal(fake.payloads('/new-order').filter(p => (p?.identifiers as { value: string }[])[0]?.value === A).length, 1, 'A not retried before its Retry-After')

  failB = false
  clock.advance(2000)
  await manager.check()
  await manager.idle()
  t.match(status(B), { state: 'valid', failures: 0 })
  t.match(status(A), { state: 'failing' })

  limitA = false
  clock.advance(117_000)
  await manager.check()
  await manager.idle()
  t.match(status(A), { state: 'valid', failures: 0 })
  t.equal(fake.payloads('/new-order').filter(p => (p?.identifiers as { value: string }[])[0]?.value === A).length, 2)
})
