import { X509Certificate } from 'node:crypto'
import { once } from 'node:events'
import { createServer as createHttpsServer } from 'node:https'
import type { AddressInfo, Socket } from 'node:net'
import { PassThrough } from 'node:stream'
import { connect, type TLSSocket } from 'node:tls'
import * as acme from 'acme-client'
import 'reflect-metadata'
import * as x509 from '@peculiar/x509'
import t from 'tap'
import { tlsAlpnChallengeKey } from '../../src/store/keys.js'
import { ACME_TLS_ALPN, TlsAlpnResponder } from '../../src/acme/tls-alpn-responder.js'
import { encodeTlsAlpnChallenge } from '../../src/acme/tls-alpn-challenge.js'
import { WorkerAcmeCrypto } from '../../src/acme/worker-acme-crypto.js'
import { ManualClock } from '../../src/clock.js'
import { createLogger } from '../../src/log.js'
import { MemoryStore } from '../../src/store/memory-store.js'
import { routeByClientHello } from '../../src/tls/client-hello-router.js'
import { InternalCa } from '../../src/tls/internal-ca.js'

type Tap = { teardown (fn: () => unknown): void }
const HOST = 'mta-sts.example.com'
const ACME_IDENTIFIER = '1.3.6.1.5.5.7.1.31'
const OTHER = 'mta-sts.example.org'
const KEY_AUTH = 'evaGxfADs6pSRb2LAv9IZf17Dt3juxGJ-PCt92wr-oA.9jg46WB3rR_AHD-EBXdN7cBkH1WOu0tA3M9fm21mqTI'

// The challenge certificates are made by a real worker thread, one for the file.
const crypto = new WorkerAcmeCrypto()
t.teardown(() => crypto.close())

async function setup (t: Tap) {
  const store = new MemoryStore()
  const ca = await InternalCa.open({ store, clock: new ManualClock(), leafLifetime: 86400 })
  const main = await ca.obtain(HOST)
  const lines: Record<string, unknown>[] = []
  const stream = new PassThrough()
  stream.on('data', (c: Buffer) => { for (const l of c.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(l) as Record<string, unknown>) })
  const responder = new TlsAlpnResponder(store, host => host === HOST || host === OTHER, createLogger('info', stream), crypto)
  const server = createHttpsServer({ cert: main.certPem, key: main.keyPem }, (_req, res) => res.end('policy'))
  const sockets = new Set<Socket>()
  server.on('connection', (s: Socket) => { sockets.add(s); s.on('close', () => sockets.delete(s)) })
  routeByClientHello(server, responder.divert)
  server.on('tlsClientError', () => {})
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => {
    for (const s of sockets) s.destroy()
    return new Promise(resolve => server.close(() => resolve(undefined)))
  })
  return { store, port: (server.address() as AddressInfo).port, lines }
}

/** Handshake with `alpn` and `servername`; the peer certificate in PEM, or the handshake error. */
async function handshake (t: Tap, port: number, servername: string, alpn = [ACME_TLS_ALPN]): Promise<{ certPem?: string; alpn?: string | false | null; error?: Error }> {
  const socket: TLSSocket = connect({ host: '127.0.0.1', port, servername, ALPNProtocols: alpn, rejectUnauthorized: false })
  t.teardown(() => socket.destroy())
  const timer = setTimeout(() => socket.destroy(new Error('handshake timed out')), 5000)
  try {
    await Promise.race([once(socket, 'secureConnect'), once(socket, 'error').then(([e]) => { throw e })])
    const raw = socket.getPeerCertificate().raw
    return { certPem: new X509Certificate(raw).toString(), alpn: socket.alpnProtocol }
  } catch (error) {
    return { error: error as Error }
  } finally {
    clearTimeout(timer)
  }
}

t.test('presents the acmeIdentifier certificate for a pending challenge', async t => {
  const { store, port, lines } = await setup(t)
  await store.put(tlsAlpnChallengeKey(HOST), KEY_AUTH)
  const r = await handshake(t, port, HOST)
  t.notOk(r.error)
  t.equal(r.alpn, ACME_TLS_ALPN)
  t.ok(acme.crypto.isAlpnCertificateAuthorizationValid(r.certPem!, KEY_AUTH), 'acmeIdentifier = SHA-256 of the key authorization')
  t.notOk(acme.crypto.isAlpnCertificateAuthorizationValid(r.certPem!, `${KEY_AUTH}x`))
  const cert = new X509Certificate(r.certPem!)
  t.equal(cert.subjectAltName, `DNS:${HOST}`)
  t.ok(new x509.X509Certificate(r.certPem!).getExtension(ACME_IDENTIFIER)?.critical, 'the acmeIdentifier extension is critical')
  for (let i = 0; i < 50 && !lines.some(l => l.event === 'acme_challenge_answered'); i++) await new Promise(resolve => setTimeout(resolve, 10))
  t.match(lines.find(l => l.event === 'acme_challenge_answered'), { type: 'tls-alpn-01', host: HOST })

  const again = await handshake(t, port, HOST.toUpperCase() + '.')
  t.equal(new X509Certificate(again.certPem!).fingerprint256, cert.fingerprint256, 'cached per key authorization; SNI normalised')
  await store.put(tlsAlpnChallengeKey(HOST), `${KEY_AUTH}2`)
  const changed = await handshake(t, port, HOST)
  t.ok(acme.crypto.isAlpnCertificateAuthorizationValid(changed.certPem!, `${KEY_AUTH}2`), 'a new challenge, a new certificate')
})

t.test('unknown host or no challenge: the handshake fails', async t => {
  const { store, port } = await setup(t)
  await store.put(tlsAlpnChallengeKey('mta-sts.unknown.example'), KEY_AUTH)
  t.ok((await handshake(t, port, 'mta-sts.unknown.example')).error, 'a host the responder is not told to answer for')
  t.ok((await handshake(t, port, OTHER)).error, 'tenant host without a challenge')
  t.ok((await handshake(t, port, '127.0.0.1')).error, 'no SNI')
})

t.test('ALPN with other protocols (or none) is not diverted', async t => {
  const { store, port } = await setup(t)
  await store.put(tlsAlpnChallengeKey(HOST), KEY_AUTH)
  for (const alpn of [[ACME_TLS_ALPN, 'http/1.1'], ['http/1.1', ACME_TLS_ALPN], ['http/1.1'], []]) {
    const r = await handshake(t, port, HOST, alpn)
    t.notOk(r.error, JSON.stringify(alpn))
    t.equal(new X509Certificate(r.certPem!).subjectAltName, `DNS:${HOST}`, `${JSON.stringify(alpn)}: the policy certificate`)
    t.notOk(new x509.X509Certificate(r.certPem!).getExtension(ACME_IDENTIFIER), 'no acmeIdentifier extension')
  }
})

t.test('the certificate cache is bounded', async t => {
  const { store, port } = await setup(t)
  let first = ''
  for (let i = 0; i < 67; i++) {
    await store.put(tlsAlpnChallengeKey(HOST), `${KEY_AUTH}${i}`)
    const r = await handshake(t, port, HOST)
    if (i === 0) first = new X509Certificate(r.certPem!).fingerprint256
    t.ok(acme.crypto.isAlpnCertificateAuthorizationValid(r.certPem!, `${KEY_AUTH}${i}`))
  }
  await store.put(tlsAlpnChallengeKey(HOST), `${KEY_AUTH}0`)
  const r = await handshake(t, port, HOST)
  t.not(new X509Certificate(r.certPem!).fingerprint256, first, 'the oldest entries were dropped and made again')
})

t.test('a challenge stored with its certificate is answered with that certificate, not a new one', async t => {
  const { store, port } = await setup(t)
  const made = await crypto.alpnCertificate(HOST, KEY_AUTH)
  await store.put(tlsAlpnChallengeKey(HOST), encodeTlsAlpnChallenge({ keyAuthorization: KEY_AUTH, certificate: made }))
  const r = await handshake(t, port, HOST)
  t.notOk(r.error)
  t.equal(new X509Certificate(r.certPem!).fingerprint256, new X509Certificate(made.certPem).fingerprint256, 'the stored certificate')
  t.ok(acme.crypto.isAlpnCertificateAuthorizationValid(r.certPem!, KEY_AUTH))
})
