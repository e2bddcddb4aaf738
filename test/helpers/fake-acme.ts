// A small fake ACME server (RFC 8555, just enough for acme-client) for unit
// tests of the ACME issuer: HTTPS on 127.0.0.1 with its own CA (written to a
// temp file for `caFile`), directory, nonces, accounts, orders,
// authorizations, challenges, finalization, certificate download and ARI.
// Every request is recorded with its decoded JWS payload; replies can be
// overridden per resource (and, for newOrder, per identifier).
import 'reflect-metadata'
import { createHash, KeyObject, randomBytes, type webcrypto } from 'node:crypto'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { createServer, type Server } from 'node:https'
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { AddressInfo, Socket } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import * as x509 from '@peculiar/x509'

const EC = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const
const crypto = globalThis.crypto
type CryptoKey = webcrypto.CryptoKey

/** A canned answer: `body` objects are sent as JSON, strings as they are. */
export interface FakeReply {
  readonly status: number
  readonly headers?: Record<string, string>
  readonly body?: unknown
}

/** One request the fake received. */
export interface FakeRequest {
  readonly method: string
  /** Path without the origin, e.g. `/new-order`. */
  readonly path: string
  /** Decoded JWS payload: an object, `null` for POST-as-GET, undefined for unsigned requests. */
  readonly payload?: Record<string, unknown> | null
  /** Decoded JWS protected header. */
  readonly protected?: Record<string, unknown>
}

/** The 429 Let's Encrypt-style answer to a new order. */
export const RATE_LIMITED: FakeReply = Object.freeze({
  status: 429,
  headers: { 'retry-after': '120' },
  body: { type: 'urn:ietf:params:acme:error:rateLimited', detail: 'too many new orders' },
})

/** Options of {@link startFakeAcme}. */
export interface FakeAcmeOptions {
  /** Advertise `renewalInfo` in the directory. */
  readonly renewalInfo?: boolean
}

interface Order {
  identifier: string
  status: string
  authz: string
  certificate?: string
}

interface Challenge {
  type: string
  token: string
  status: 'pending' | 'valid' | 'invalid'
}

/** The Teardown part of a tap Test. */
interface Teardown {
  teardown (fn: () => unknown): void
}

export class FakeAcme {
  /** `https://127.0.0.1:<port>`. */
  url = ''
  /** PEM file of the fake's CA, for `caFile`. */
  caFile = ''
  /** The fake's CA certificate (issues the server certificate and the leaves). */
  caPem = ''
  readonly requests: FakeRequest[] = []
  /** Advertise renewalInfo in the directory. */
  renewalInfo: boolean
  /** Replace the directory answer (e.g. an HTML page). */
  directoryReply: FakeReply | undefined
  /** Replace the newAccount answer (once per call; return undefined for the normal answer). */
  newAccountReply: ((payload: Record<string, unknown>) => FakeReply | undefined) | undefined
  /** Replace the newOrder answer per identifier (return undefined for the normal answer). */
  newOrderReply: ((identifier: string, payload: Record<string, unknown>) => FakeReply | undefined) | undefined
  /** Answer of GET `<renewalInfo>/<certId>`. */
  renewalInfoReply: (certId: string) => FakeReply = () => ({ status: 404, body: { type: 'urn:ietf:params:acme:error:malformed', detail: 'no such certificate' } })
  /** Challenge types offered in every authorization. */
  challengeTypes: string[] = ['http-01', 'tls-alpn-01']
  /** Status new authorizations start in (`valid`: already authorized, no challenge needed). */
  authzStatus: 'pending' | 'valid' = 'pending'
  /**
   * Validation of a challenge the client asked the fake to check (the test
   * can look at the store here): true for valid, false for invalid.
   */
  validate: (c: { type: string; token: string; identifier: string }) => boolean | Promise<boolean> = () => true

  readonly #server: Server
  readonly #sockets = new Set<Socket>()
  readonly #accounts = new Map<string, string>()
  readonly #orders = new Map<string, Order>()
  readonly #challenges = new Map<string, Challenge & { identifier: string }>()
  #caKey: CryptoKey | undefined
  #caCert: x509.X509Certificate | undefined
  readonly #forgotten = new Set<string>()
  #forgottenDetail = ''
  #n = 0
  #dir = ''

  constructor (opts: FakeAcmeOptions = {}) {
    this.renewalInfo = opts.renewalInfo ?? false
    this.#server = createServer({}, (req, res) => { this.#handle(req, res).catch(err => this.#send(res, { status: 500, body: { detail: String(err) } })) })
    this.#server.on('connection', (s: Socket) => {
      this.#sockets.add(s)
      s.on('close', () => this.#sockets.delete(s))
    })
  }

  /** Requests to `path` (optionally only those with `method`). */
  count (path: string, method?: string): number {
    return this.requests.filter(r => r.path === path && (method === undefined || r.method === method)).length
  }

  /** JWS payloads of POSTs to `path`. */
  payloads (path: string): (Record<string, unknown> | null | undefined)[] {
    return this.requests.filter(r => r.path === path && r.method === 'POST').map(r => r.payload)
  }

  /** URLs of the accounts the fake knows. */
  accountUrls (): string[] {
    return [...this.#accounts.values()]
  }

  /**
   * Forget every account, as a restarted Pebble does: requests signed with a
   * forgotten account's URL get Pebble's `accountDoesNotExist` problem, with `detail`.
   */
  forgetAccounts (detail: string): void {
    for (const url of this.#accounts.values()) this.#forgotten.add(url)
    this.#accounts.clear()
    this.#forgottenDetail = detail
  }

  /** A leaf certificate and key for `host` from the fake's CA (with an AKI), as the fake would issue it. */
  async issue (host: string): Promise<{ certPem: string; keyPem: string }> {
    const keys = await crypto.subtle.generateKey(EC, true, ['sign', 'verify'])
    const certPem = await this.#leaf(host, keys.publicKey)
    return { certPem, keyPem: KeyObject.from(keys.privateKey).export({ type: 'pkcs8', format: 'pem' }).toString() }
  }

  async start (): Promise<void> {
    const keys = await crypto.subtle.generateKey(EC, true, ['sign', 'verify'])
    this.#caKey = keys.privateKey
    const now = Date.now()
    this.#caCert = await x509.X509CertificateGenerator.createSelfSigned({
      serialNumber: serial(),
      name: 'CN=fake ACME test CA',
      notBefore: new Date(now - 3600_000),
      notAfter: new Date(now + 10 * 86400_000),
      keys,
      signingAlgorithm: EC,
      extensions: [
        new x509.BasicConstraintsExtension(true, 0, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign, true),
        await x509.SubjectKeyIdentifierExtension.create(keys.publicKey, false, crypto),
      ],
    }, crypto)
    this.caPem = this.#caCert.toString('pem') + '\n'
    const serverKeys = await crypto.subtle.generateKey(EC, true, ['sign', 'verify'])
    const serverCert = await x509.X509CertificateGenerator.create({
      serialNumber: serial(),
      subject: 'CN=127.0.0.1',
      issuer: this.#caCert.subject,
      notBefore: new Date(now - 3600_000),
      notAfter: new Date(now + 10 * 86400_000),
      publicKey: serverKeys.publicKey,
      signingKey: this.#caKey,
      signingAlgorithm: EC,
      extensions: [
        new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
        new x509.SubjectAlternativeNameExtension([{ type: 'ip', value: '127.0.0.1' }]),
      ],
    }, crypto)
    this.#server.setSecureContext({
      cert: serverCert.toString('pem'),
      key: KeyObject.from(serverKeys.privateKey).export({ type: 'pkcs8', format: 'pem' }).toString(),
    })
    this.#dir = await mkdtemp(join(tmpdir(), 'fake-acme-'))
    this.caFile = join(this.#dir, 'ca.pem')
    await writeFile(this.caFile, this.caPem)
    await new Promise<void>((resolve, reject) => {
      this.#server.once('error', reject)
      this.#server.listen(0, '127.0.0.1', () => resolve())
    })
    this.url = `https://127.0.0.1:${(this.#server.address() as AddressInfo).port}`
  }

  async close (): Promise<void> {
    for (const s of this.#sockets) s.destroy()
    await new Promise<void>(resolve => this.#server.close(() => resolve()))
    await rm(this.#dir, { recursive: true, force: true })
  }

  directory (): Record<string, unknown> {
    return {
      newNonce: `${this.url}/nonce`,
      newAccount: `${this.url}/new-account`,
      newOrder: `${this.url}/new-order`,
      revokeCert: `${this.url}/revoke`,
      keyChange: `${this.url}/key-change`,
      ...(this.renewalInfo ? { renewalInfo: `${this.url}/renewal-info/` } : {}),
      meta: { termsOfService: `${this.url}/tos` },
    }
  }

  async #handle (req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = []
    for await (const c of req) chunks.push(c as Buffer)
    const path = (req.url ?? '/').split('?')[0] as string
    const method = req.method ?? 'GET'
    let payload: Record<string, unknown> | null | undefined
    let prot: Record<string, unknown> | undefined
    if (method === 'POST') {
      const jws = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { protected: string; payload: string }
      prot = JSON.parse(Buffer.from(jws.protected, 'base64url').toString('utf8')) as Record<string, unknown>
      payload = jws.payload === '' ? null : JSON.parse(Buffer.from(jws.payload, 'base64url').toString('utf8')) as Record<string, unknown>
    }
    this.requests.push({ method, path, ...(payload !== undefined ? { payload } : {}), ...(prot ? { protected: prot } : {}) })
    const nonce = { 'replay-nonce': randomBytes(16).toString('base64url') }

    if (path === '/dir') return this.#send(res, this.directoryReply ?? { status: 200, body: this.directory() })
    if (path === '/nonce') return this.#send(res, { status: method === 'HEAD' ? 200 : 204, headers: { ...nonce, 'cache-control': 'no-store' } })
    if (path.startsWith('/renewal-info/')) return this.#send(res, this.renewalInfoReply(path.slice('/renewal-info/'.length)))
    if (method !== 'POST') return this.#send(res, { status: 405 })
    if (typeof prot?.kid === 'string' && this.#forgotten.has(prot.kid)) {
      return this.#send(res, { status: 400, headers: nonce, body: { type: 'urn:ietf:params:acme:error:accountDoesNotExist', detail: this.#forgottenDetail } })
    }

    if (path === '/new-account') {
      const custom = this.newAccountReply?.(payload ?? {})
      if (custom) return this.#send(res, { ...custom, headers: { ...nonce, ...custom.headers } })
      const thumb = createHash('sha256').update(JSON.stringify(prot?.jwk)).digest('hex')
      const existing = this.#accounts.get(thumb)
      const url = existing ?? `${this.url}/acct/${++this.#n}`
      this.#accounts.set(thumb, url)
      return this.#send(res, { status: existing ? 200 : 201, headers: { ...nonce, location: url }, body: { status: 'valid', contact: payload?.contact ?? [] } })
    }
    if (path.startsWith('/acct/')) return this.#send(res, { status: 200, headers: nonce, body: { status: 'valid' } })
    if (path === '/new-order') {
      const identifier = String((payload?.identifiers as { value?: string }[] | undefined)?.[0]?.value)
      const custom = this.newOrderReply?.(identifier, payload ?? {})
      if (custom) return this.#send(res, { ...custom, headers: { ...nonce, ...custom.headers } })
      const id = String(++this.#n)
      const order: Order = { identifier, status: 'pending', authz: `${this.url}/authz/${id}` }
      this.#orders.set(id, order)
      for (const type of this.challengeTypes) {
        this.#challenges.set(`${id}/${type}`, { type, token: randomBytes(24).toString('base64url'), status: 'pending', identifier })
      }
      return this.#send(res, { status: 201, headers: { ...nonce, location: `${this.url}/order/${id}` }, body: this.#orderBody(id, order) })
    }
    const [, kind, id, type] = path.split('/') as [string, string, string, string | undefined]
    const order = this.#orders.get(id)
    if (!order) return this.#send(res, { status: 404, headers: nonce, body: { type: 'urn:ietf:params:acme:error:malformed', detail: 'no such resource' } })
    if (kind === 'order') return this.#send(res, { status: 200, headers: nonce, body: this.#orderBody(id, order) })
    if (kind === 'authz') {
      const challenges = this.challengeTypes.map(t => this.#challengeBody(id, t))
      const valid = this.authzStatus === 'valid' || challenges.some(c => c.status === 'valid')
      return this.#send(res, { status: 200, headers: nonce, body: { status: valid ? 'valid' : 'pending', identifier: { type: 'dns', value: order.identifier }, challenges } })
    }
    if (kind === 'chall' && type) {
      const challenge = this.#challenges.get(`${id}/${type}`)
      if (!challenge) return this.#send(res, { status: 404, headers: nonce })
      if (payload !== null && challenge.status === 'pending') {
        challenge.status = await this.validate({ type, token: challenge.token, identifier: challenge.identifier }) ? 'valid' : 'invalid'
      }
      return this.#send(res, { status: 200, headers: nonce, body: this.#challengeBody(id, type) })
    }
    if (kind === 'finalize') {
      const csr = new x509.Pkcs10CertificateRequest(Buffer.from(String(payload?.csr), 'base64url'))
      order.certificate = await this.#leaf(order.identifier, csr.publicKey)
      order.status = 'valid'
      return this.#send(res, { status: 200, headers: nonce, body: this.#orderBody(id, order) })
    }
    if (kind === 'cert' && order.certificate) {
      return this.#send(res, { status: 200, headers: { ...nonce, 'content-type': 'application/pem-certificate-chain' }, body: order.certificate + this.caPem })
    }
    return this.#send(res, { status: 404, headers: nonce })
  }

  #orderBody (id: string, order: Order): Record<string, unknown> {
    return {
      status: order.status,
      identifiers: [{ type: 'dns', value: order.identifier }],
      authorizations: [order.authz],
      finalize: `${this.url}/finalize/${id}`,
      ...(order.certificate ? { certificate: `${this.url}/cert/${id}` } : {}),
    }
  }

  #challengeBody (id: string, type: string): Record<string, unknown> {
    const c = this.#challenges.get(`${id}/${type}`) as Challenge
    return {
      type,
      url: `${this.url}/chall/${id}/${type}`,
      token: c.token,
      status: c.status,
      ...(c.status === 'invalid' ? { error: { type: 'urn:ietf:params:acme:error:unauthorized', detail: `fake validation of ${type} failed` } } : {}),
    }
  }

  async #leaf (host: string, publicKey: x509.PublicKeyType): Promise<string> {
    const now = Date.now()
    const cert = await x509.X509CertificateGenerator.create({
      serialNumber: serial(),
      subject: `CN=${host}`,
      issuer: (this.#caCert as x509.X509Certificate).subject,
      notBefore: new Date(now - 60_000),
      notAfter: new Date(now + 90 * 86400_000),
      publicKey,
      signingKey: this.#caKey as CryptoKey,
      signingAlgorithm: EC,
      extensions: [
        new x509.BasicConstraintsExtension(false, undefined, true),
        new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
        new x509.SubjectAlternativeNameExtension([{ type: 'dns', value: host }]),
        await x509.AuthorityKeyIdentifierExtension.create(this.#caCert as x509.X509Certificate, false, crypto),
      ],
    }, crypto)
    return `${cert.toString('pem')}\n`
  }

  #send (res: ServerResponse, reply: FakeReply): void {
    const headers: Record<string, string> = { ...reply.headers }
    let body = ''
    if (typeof reply.body === 'string') body = reply.body
    else if (reply.body !== undefined) {
      body = JSON.stringify(reply.body)
      headers['content-type'] ??= reply.status >= 400 ? 'application/problem+json' : 'application/json'
    }
    res.writeHead(reply.status, headers).end(body)
  }
}

/** Start a fake ACME server, closed when `t` ends. */
export async function startFakeAcme (t: Teardown, opts: FakeAcmeOptions = {}): Promise<FakeAcme> {
  const fake = new FakeAcme(opts)
  await fake.start()
  t.teardown(() => fake.close())
  return fake
}

/**
 * 16 random bytes whose first is 0x10-0x7f: positive, and no leading zero nibble for node's
 * `serialNumber` to drop (a test derives the ARI id from it; test/acme/ari.test.ts covers odd
 * and high serials on purpose). With 0x00-0x7f that test failed one run in eight.
 */
function serial (): string {
  const bytes = randomBytes(16)
  bytes[0] = 0x10 + (bytes[0] as number) % 0x70
  return bytes.toString('hex')
}
