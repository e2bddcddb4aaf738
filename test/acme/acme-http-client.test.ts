import { once } from 'node:events'
import { Agent } from 'node:https'
import { createServer, type AddressInfo, type Socket } from 'node:net'
import * as acme from 'acme-client'
import axios from 'axios'
import t from 'tap'
import { ACME_REQUEST_TIMEOUT_MS, installAcmeHttpClient, type AcmeHttpAnswer, type AcmeRequestScope } from '../../src/acme/acme-http-client.js'
import { NoncePool } from '../../src/acme/nonce-pool.js'
import { ManualClock } from '../../src/clock.js'
import { startFakeAcme } from '../helpers/fake-acme.js'

type AcmeAxios = typeof acme.axios

/** A fresh axios instance shaped like acme-client's (with its `acmeSettings` defaults). */
function freshInstance (): AcmeAxios {
  const instance = axios.create() as unknown as AcmeAxios
  ;(instance.defaults as unknown as { acmeSettings: { retryMaxAttempts: number } }).acmeSettings = { retryMaxAttempts: 5 }
  return instance
}

const handlers = (instance: AcmeAxios) => ({
  request: (instance.interceptors.request as unknown as { handlers: unknown[] }).handlers.filter(h => h !== null).length,
  response: (instance.interceptors.response as unknown as { handlers: unknown[] }).handlers.filter(h => h !== null).length,
})

function recorder (origin: string, agent?: Agent): AcmeRequestScope & { answers: AcmeHttpAnswer[]; errors: Error[] } {
  const answers: AcmeHttpAnswer[] = []
  const errors: Error[] = []
  return { origin, ...(agent ? { agent } : {}), answers, errors, onResponse: a => answers.push(a), onNetworkError: e => errors.push(e) }
}

t.test('installed once per instance: the same client, interceptors added once, acme-client retries off', async t => {
  const instance = freshInstance()
  const first = installAcmeHttpClient(instance)
  t.same(handlers(instance), { request: 1, response: 1 })
  t.equal(installAcmeHttpClient(instance), first, 'a second install returns the installed client')
  t.same(handlers(instance), { request: 1, response: 1 }, 'and patches nothing again')
  t.equal((instance.defaults as unknown as { acmeSettings: { retryMaxAttempts: number } }).acmeSettings.retryMaxAttempts, 0)
  t.not(installAcmeHttpClient(freshInstance()), first, 'another instance gets its own')
  t.equal(installAcmeHttpClient(), installAcmeHttpClient(acme.axios), "the default is acme-client's instance")
  t.equal((acme.axios.defaults as unknown as { acmeSettings: { retryMaxAttempts: number } }).acmeSettings.retryMaxAttempts, 0)
})

t.test('a scope gets its answers; its agent only for its own origin; outside a scope nothing changes', async t => {
  const fake = await startFakeAcme(t)
  const instance = freshInstance()
  const client = installAcmeHttpClient(instance)
  const trusting = new Agent({ ca: fake.caPem })
  t.teardown(() => trusting.destroy())

  await t.rejects(instance.get(`${fake.url}/dir`), 'outside a scope: the default agent, which does not trust the fake')
  const scope = recorder(fake.url, trusting)
  const res = await client.run(scope, () => instance.get(`${fake.url}/dir`))
  t.equal(res.status, 200, 'inside: the scope\'s agent')
  t.same(scope.answers.map(a => a.status), [200])
  t.equal(res.config.timeout, ACME_REQUEST_TIMEOUT_MS, 'and the default request limit')

  const other = recorder('https://ca.invalid', trusting)
  await t.rejects(client.run(other, () => instance.get(`${fake.url}/dir`)), 'the agent is not lent to another origin')
  t.same(other.errors, [], 'and its transport errors are not noted as the scope\'s')

  fake.directoryReply = { status: 503, headers: { 'retry-after': '5' }, body: { type: 'urn:ietf:params:acme:error:serverInternal' } }
  const failing = recorder(fake.url, trusting)
  await t.rejects(client.run(failing, () => instance.get(`${fake.url}/dir`)))
  t.match(failing.answers, [{ status: 503, data: { type: 'urn:ietf:params:acme:error:serverInternal' } }], 'HTTP errors are answers too')
  t.same(failing.errors, [])
})

t.test('concurrent scopes with different CA trust do not leak into each other', async t => {
  const a = await startFakeAcme(t)
  const b = await startFakeAcme(t)
  const instance = freshInstance()
  const client = installAcmeHttpClient(instance)
  const agentA = new Agent({ ca: a.caPem })
  const agentB = new Agent({ ca: b.caPem })
  t.teardown(() => { agentA.destroy(); agentB.destroy() })
  const scopeA = recorder(a.url, agentA)
  const scopeB = recorder(b.url, agentB)
  const [ra, rb] = await Promise.all([
    client.run(scopeA, async () => { await new Promise(resolve => setTimeout(resolve, 20)); return instance.get(`${a.url}/dir`) }),
    client.run(scopeB, () => instance.get(`${b.url}/dir`)),
  ])
  t.equal(ra.status, 200)
  t.equal(rb.status, 200)
  t.same([scopeA.answers.length, scopeB.answers.length], [1, 1], 'each scope saw its own answer only')
  // B's scope asking A's CA: B's agent is not used there (not its origin), A's is not lent either.
  await t.rejects(client.run(scopeB, () => instance.get(`${a.url}/dir`)))
})

t.test('a transport error is handed to the scope before it reaches acme-client', async t => {
  const instance = freshInstance()
  const client = installAcmeHttpClient(instance)
  const scope = recorder('https://127.0.0.1:1')
  await t.rejects(client.run(scope, () => instance.get('https://127.0.0.1:1/dir')))
  t.match(scope.errors, [{ code: 'ECONNREFUSED' }])
  t.same(scope.answers, [])
})

t.test('a CA that accepts and never answers: the request times out as a network error of the scope', async t => {
  const silent = createServer(() => {})
  silent.listen(0, '127.0.0.1')
  await once(silent, 'listening')
  const open: Socket[] = []
  silent.on('connection', s => open.push(s))
  t.teardown(() => { for (const s of open) s.destroy(); silent.close() })
  const origin = `http://127.0.0.1:${(silent.address() as AddressInfo).port}`
  const instance = freshInstance()
  const client = installAcmeHttpClient(instance)
  const scope = { ...recorder(origin), timeoutMs: 200 }
  await t.rejects(client.run(scope, () => instance.get(`${origin}/dir`)), { code: 'ECONNABORTED' })
  t.match(scope.errors, [{ code: 'ECONNABORTED' }])
})

t.test("with a nonce pool: other answers' nonces are kept and answer acme-client's HEAD newNonce", async t => {
  const fake = await startFakeAcme(t)
  const instance = freshInstance()
  const client = installAcmeHttpClient(instance)
  const agent = new Agent({ ca: fake.caPem })
  t.teardown(() => agent.destroy())
  const nonces = new NoncePool(new ManualClock())
  const scope = { ...recorder(fake.url, agent), nonces }

  fake.directoryReply = { status: 200, headers: { 'replay-nonce': 'from-dir' }, body: fake.directory() }
  await client.run(scope, () => instance.get(`${fake.url}/dir`))
  t.equal(nonces.size, 1, 'the Replay-Nonce of a GET is kept')
  const head = await client.run(scope, () => instance.head(`${fake.url}/nonce`))
  t.equal(head.headers['replay-nonce'], 'from-dir', 'HEAD answered from the pool')
  t.equal(fake.count('/nonce', 'HEAD'), 0, 'without asking the CA')
  t.equal(scope.answers.at(-1)?.status, 200, 'the scope sees the answer as any other')

  const fresh = await client.run(scope, () => instance.head(`${fake.url}/nonce`))
  t.equal(fake.count('/nonce', 'HEAD'), 1, 'an empty pool: the CA is asked')
  t.match(fresh.headers['replay-nonce'], /^[\w-]{20,}$/)
  t.equal(nonces.size, 0, "the nonce of a HEAD is acme-client's, not kept")

  fake.directoryReply = { status: 400, headers: { 'replay-nonce': 'bad-nonce-retry' }, body: { type: 'urn:ietf:params:acme:error:badNonce' } }
  await t.rejects(client.run(scope, () => instance.get(`${fake.url}/dir`)))
  t.equal(nonces.size, 0, "a badNonce refusal's nonce is acme-client's for its retry")
  fake.directoryReply = { status: 503, headers: { 'replay-nonce': 'from-error' }, body: { type: 'urn:ietf:params:acme:error:serverInternal' } }
  await t.rejects(client.run(scope, () => instance.get(`${fake.url}/dir`)))
  t.equal(nonces.take(), 'from-error', 'any other error answer\'s is kept')
  fake.directoryReply = { status: 200, body: fake.directory() }
  await client.run(scope, () => instance.get(`${fake.url}/dir`))
  t.equal(nonces.size, 0, 'an answer without a nonce adds nothing')
  fake.directoryReply = { status: 200, headers: { 'replay-nonce': '' }, body: fake.directory() }
  await client.run(scope, () => instance.get(`${fake.url}/dir`))
  t.equal(nonces.size, 0, 'nor one with an empty nonce')

  const other = await startFakeAcme(t)
  other.directoryReply = { status: 200, headers: { 'replay-nonce': 'other-ca' }, body: other.directory() }
  const otherAgent = new Agent({ ca: other.caPem })
  t.teardown(() => otherAgent.destroy())
  await client.run(scope, () => instance.get(`${other.url}/dir`, { httpsAgent: otherAgent }))
  t.equal(nonces.size, 0, "another CA's nonce is not kept")
  const plain = recorder(fake.url, agent)
  fake.directoryReply = { status: 200, headers: { 'replay-nonce': 'no-pool' }, body: fake.directory() }
  await client.run(plain, () => instance.get(`${fake.url}/dir`))
  t.equal(plain.answers.length, 1, 'a scope without a pool still sees its answers')
  t.equal(nonces.size, 0)
})
