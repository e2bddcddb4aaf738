// Smoke test of test/helpers/pebble.ts: a real ACME issuance against a local
// Pebble with acme-client alone (no project code), CA down/up, short-lived
// certificates and external account binding.
import { X509Certificate, createHmac, randomBytes } from 'node:crypto'
import { createServer, type Server } from 'node:http'
import { Agent, request } from 'node:https'
import t, { type Test } from 'tap'
import acme from 'acme-client'
import { freePort, startPebble, trustPebbleInAcmeClient, type Pebble } from '../helpers/pebble.js'

const HOST = 'mta-sts.example.com'

// Pebble answers at once (PEBBLE_VA_NOSLEEP); don't let acme-client wait seconds between retries.
interface AcmeSettings { retryMaxAttempts: number, retryDefaultDelay: number }
const settings = (acme.axios.defaults as unknown as { acmeSettings: AcmeSettings }).acmeSettings
const savedSettings = { ...settings }
settings.retryMaxAttempts = 2
settings.retryDefaultDelay = 0
t.teardown(() => { Object.assign(settings, savedSettings) })

/** A tiny HTTP-01 responder on 127.0.0.1:port: token -> key authorization. */
async function challengeServer (tt: Test, port: number): Promise<Map<string, string>> {
  const tokens = new Map<string, string>()
  const server: Server = createServer((req, res) => {
    const prefix = '/.well-known/acme-challenge/'
    const keyAuth = req.url?.startsWith(prefix) === true ? tokens.get(req.url.slice(prefix.length)) : undefined
    res.writeHead(keyAuth === undefined ? 404 : 200, { 'content-type': 'text/plain' }).end(keyAuth ?? 'not found')
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, '127.0.0.1', resolve)
  })
  tt.teardown(() => new Promise(resolve => server.close(resolve)))
  return tokens
}

/** Start Pebble plus an HTTP-01 responder, trusted by acme-client. */
async function setup (tt: Test, opts: { certificateValidityPeriod?: number, eab?: Record<string, string> } = {}) {
  const httpPort = await freePort()
  const tokens = await challengeServer(tt, httpPort)
  const pebble = await startPebble(tt, { httpPort, tlsPort: await freePort(), ...opts })
  trustPebbleInAcmeClient(tt, pebble)
  return { pebble, tokens }
}

function newClient (pebble: Pebble, accountKey: Buffer, eab?: { kid: string, hmacKey: string }) {
  return new acme.Client({
    directoryUrl: pebble.directoryUrl,
    accountKey,
    backoffAttempts: 20,
    backoffMin: 50,
    backoffMax: 250,
    ...(eab !== undefined ? { externalAccountBinding: eab } : {}),
  })
}

/** Order a certificate for HOST via HTTP-01; returns the PEM chain. */
async function issue (client: acme.Client, tokens: Map<string, string>): Promise<string> {
  const [, csr] = await acme.crypto.createCsr({ commonName: HOST, altNames: [HOST] },
    await acme.crypto.createPrivateEcdsaKey())
  return await client.auto({
    csr,
    termsOfServiceAgreed: true,
    challengePriority: ['http-01'],
    // acme-client's own pre-check would resolve HOST in the real DNS; Pebble's VA does the real check.
    skipChallengeVerification: true,
    challengeCreateFn: async (_authz, challenge, keyAuthorization) => { tokens.set(challenge.token, keyAuthorization) },
    challengeRemoveFn: async (_authz, challenge) => { tokens.delete(challenge.token) },
  })
}

function splitPem (chain: string): X509Certificate[] {
  return (chain.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [])
    .map(pem => new X509Certificate(pem))
}

/** GET url trusting caPem: the HTTP status, or the network error code. */
async function probe (url: string, caPem: string): Promise<number | string> {
  return await new Promise(resolve => {
    const req = request(url, { agent: new Agent({ ca: caPem }), timeout: 2000 }, res => {
      res.resume()
      resolve(res.statusCode ?? 0)
    })
    req.on('timeout', () => req.destroy(Object.assign(new Error('timeout'), { code: 'TIMEOUT' })))
    req.on('error', (err: NodeJS.ErrnoException) => { resolve(err.code ?? err.message) })
    req.end()
  })
}

t.test('real HTTP-01 issuance, chain to the current root, one order; CA down and up again', async tt => {
  const t0 = Date.now()
  const { pebble, tokens } = await setup(tt)
  tt.comment(`pebble ready in ${Date.now() - t0} ms`)
  tt.match(pebble.directoryUrl, /^https:\/\/127\.0\.0\.1:\d+\/dir$/)
  tt.match(pebble.managementUrl, /^https:\/\/127\.0\.0\.1:\d+$/)

  const directory = JSON.parse(await new Promise<string>((resolve, reject) => {
    request(pebble.directoryUrl, { agent: new Agent({ ca: pebble.caPem }) }, res => {
      let body = ''
      res.setEncoding('utf8').on('data', (c: string) => { body += c }).on('end', () => { resolve(body) })
    }).on('error', reject).end()
  })) as Record<string, unknown>
  tt.comment(`directory keys: ${Object.keys(directory).sort().join(', ')}`)
  tt.ok(typeof directory['newOrder'] === 'string', 'directory has newOrder')

  const client = newClient(pebble, await acme.crypto.createPrivateEcdsaKey())
  const before = pebble.orders()
  const t1 = Date.now()
  const chain = await issue(client, tokens)
  tt.comment(`issued in ${Date.now() - t1} ms`)
  tt.equal(pebble.orders() - before, 1, 'exactly one new order')

  const [leaf, intermediate, ...rest] = splitPem(chain)
  tt.ok(leaf !== undefined && intermediate !== undefined, 'leaf and intermediate')
  tt.equal(rest.length, 0, 'no more certificates in the chain')
  if (leaf === undefined || intermediate === undefined) return
  tt.match(leaf.subjectAltName ?? '', /(^|, )DNS:mta-sts\.example\.com(,|$)/, 'SAN')
  tt.ok(leaf.checkIssued(intermediate) && leaf.verify(intermediate.publicKey), 'leaf signed by intermediate')
  const root = new X509Certificate(await pebble.rootPem())
  tt.ok(intermediate.checkIssued(root) && intermediate.verify(root.publicKey), 'intermediate signed by rootPem()')
  tt.ok(root.verify(root.publicKey), 'root is self-signed')
  tt.notOk(leaf.verify(new X509Certificate(pebble.caPem).publicKey), 'not signed by the HTTPS CA')

  // The CA is down: the directory does not answer.
  const t2 = Date.now()
  await pebble.stop()
  tt.equal(await probe(pebble.directoryUrl, pebble.caPem), 'ECONNREFUSED', 'directory unreachable after stop()')
  await pebble.stop() // idempotent
  await tt.rejects(pebble.rootPem(), 'management API down too')

  // Back up on the same ports, with a new root.
  await pebble.start()
  tt.comment(`stop + start in ${Date.now() - t2} ms`)
  tt.equal(await probe(pebble.directoryUrl, pebble.caPem), 200, 'directory reachable after start()')
  const root2 = new X509Certificate(await pebble.rootPem())
  tt.not(root2.fingerprint256, root.fingerprint256, 'a new root after restart')
  tt.equal(pebble.orders() - before, 1, 'restart creates no orders')

  // Pebble forgot the account; a fresh client issues against the new root.
  const chain2 = await issue(newClient(pebble, await acme.crypto.createPrivateEcdsaKey()), tokens)
  tt.equal(pebble.orders() - before, 2, 'orders() counts across restarts')
  const intermediate2 = splitPem(chain2)[1]
  tt.ok(intermediate2?.checkIssued(root2), 'new chain goes to the new root')
})

t.test('certificateValidityPeriod: short-lived certificates', async tt => {
  const { pebble, tokens } = await setup(tt, { certificateValidityPeriod: 120 })
  const leaf = splitPem(await issue(newClient(pebble, await acme.crypto.createPrivateEcdsaKey()), tokens))[0]
  if (leaf === undefined) return tt.fail('no certificate')
  const lifetime = (Date.parse(leaf.validTo) - Date.parse(leaf.validFrom)) / 1000
  tt.comment(`lifetime ${lifetime} s (${leaf.validFrom} .. ${leaf.validTo})`)
  tt.ok(lifetime >= 115 && lifetime <= 125, `lifetime about 120 s (${lifetime})`)
  tt.ok(Math.abs(Date.parse(leaf.validTo) - (Date.now() + 120_000)) < 10_000, 'expires about 120 s from now')
})

t.test('eab: accounts need an external account binding', async tt => {
  const kid = 'kid-1'
  const hmacKey = randomBytes(32).toString('base64url')
  const { pebble } = await setup(tt, { eab: { [kid]: hmacKey } })
  await tt.rejects(newClient(pebble, await acme.crypto.createPrivateEcdsaKey())
    .createAccount({ termsOfServiceAgreed: true }), /externalAccountBinding/, 'no binding: refused')
  await tt.rejects(newClient(pebble, await acme.crypto.createPrivateEcdsaKey(),
    { kid, hmacKey: createHmac('sha256', 'x').digest('base64url') })
    .createAccount({ termsOfServiceAgreed: true }), /binding/i, 'wrong HMAC key: refused')
  const account = await newClient(pebble, await acme.crypto.createPrivateEcdsaKey(), { kid, hmacKey })
    .createAccount({ termsOfServiceAgreed: true })
  tt.equal(account.status, 'valid', 'with the binding: account created')
})

t.test('freePort gives a usable loopback port', async tt => {
  const a = await freePort()
  const b = await freePort()
  tt.ok(a > 0 && b > 0)
  await challengeServer(tt, a)
})

t.test('a bad option fails fast with Pebble\'s log in the error', async tt => {
  const t0 = Date.now()
  await tt.rejects(startPebble(tt, { httpPort: 5002, tlsPort: 5001, eab: { kid: '!!not base64url!!' } }),
    /pebble exited before it was ready[\s\S]*pebble:/)
  tt.ok(Date.now() - t0 < 10_000, 'well before the readiness timeout')
})
