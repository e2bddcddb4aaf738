import { createPrivateKey, KeyObject, randomBytes, X509Certificate, type webcrypto } from 'node:crypto'
import type * as x509 from '@peculiar/x509'
import { isIP } from 'node:net'
import type { Clock } from '../clock.js'
import { INTERNAL_CA_CERT_KEY, INTERNAL_CA_KEY_KEY, INTERNAL_CA_LOCK } from '../store/keys.js'
import type { Store } from '../store/store.js'
import type { IssuedCertificate, Issuer } from './issuer.js'

const EC = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const
const crypto = globalThis.crypto
type CryptoKey = webcrypto.CryptoKey

const CA_LIFETIME_MS = 10 * 365 * 86400_000

type X509 = typeof x509

/**
 * The X.509 library, imported when a certificate is first made: with every certificate in the store
 * already, a start-up never needs it (it takes some 0.3 s to load).
 */
async function loadX509 (): Promise<X509> {
  await import('reflect-metadata')
  return await import('@peculiar/x509')
}

/** Options of {@link InternalCa.open}. */
export interface InternalCaOptions {
  readonly store: Store
  readonly clock: Clock
  /** Leaf certificate lifetime in seconds. */
  readonly leafLifetime: number
}

/**
 * A local certificate authority (ECDSA P-256) kept in the store, for trying
 * the service out and for tests: it issues leaf certificates for tenant hosts
 * on demand. Senders do not trust it; production uses `files` or `acme`.
 */
export class InternalCa implements Issuer {
  readonly name = 'internal'
  readonly mode = 'on-demand'
  readonly #caPem: string
  readonly #caKey: CryptoKey
  readonly #opts: InternalCaOptions
  #signer: Promise<{ readonly lib: X509; readonly caCert: x509.X509Certificate }> | undefined

  private constructor (caPem: string, caKey: CryptoKey, opts: InternalCaOptions) {
    this.#caPem = caPem
    this.#caKey = caKey
    this.#opts = opts
  }

  /** Load the CA from the store, creating it once (under a store lock) when absent. */
  static async open (opts: InternalCaOptions): Promise<InternalCa> {
    const { store } = opts
    const unlock = await store.lock(INTERNAL_CA_LOCK)
    try {
      let certPem = (await store.get(INTERNAL_CA_CERT_KEY))?.toString('utf8')
      let keyPem = (await store.get(INTERNAL_CA_KEY_KEY))?.toString('utf8')
      if (certPem === undefined || keyPem === undefined) {
        ({ certPem, keyPem } = await createCa(opts.clock.now()))
        await store.put(INTERNAL_CA_KEY_KEY, keyPem, { secret: true })
        await store.put(INTERNAL_CA_CERT_KEY, certPem)
      }
      const der = createPrivateKey(keyPem).export({ type: 'pkcs8', format: 'der' })
      const caKey = await crypto.subtle.importKey('pkcs8', der, EC, false, ['sign'])
      // node:crypto parses (and so checks) the certificate; the X.509 library is loaded on the first issue.
      return new InternalCa(new X509Certificate(certPem).toString().trimEnd(), caKey, opts)
    } finally {
      await unlock()
    }
  }

  /** The CA certificate in PEM, for clients to trust. */
  get caPem (): string {
    return this.#caPem
  }

  /** The CA certificate in PEM: clients must trust it to verify this issuer's certificates. */
  caCertificatePem (): string {
    return this.caPem
  }

  obtain (host: string): Promise<IssuedCertificate> {
    return this.issue([host])
  }

  /**
   * A leaf certificate for several names; IP addresses become IP SANs. Tests
   * and benchmarks use it for servers reached by address (a local ACME CA).
   */
  async issue (names: readonly string[]): Promise<IssuedCertificate> {
    this.#signer ??= loadX509().then(lib => ({ lib, caCert: new lib.X509Certificate(this.#caPem) }))
    const { lib: x509, caCert } = await this.#signer
    const keys = await crypto.subtle.generateKey(EC, true, ['sign', 'verify'])
    const now = this.#opts.clock.now()
    const cert = await x509.X509CertificateGenerator.create({
      serialNumber: randomSerial(),
      subject: `CN=${names[0] as string}`,
      issuer: caCert.subject,
      // Back-dated a little so clients with a slightly slow clock accept it.
      notBefore: new Date(now.getTime() - 60_000),
      notAfter: new Date(now.getTime() + this.#opts.leafLifetime * 1000),
      publicKey: keys.publicKey,
      signingKey: this.#caKey,
      signingAlgorithm: EC,
      extensions: [
        new x509.BasicConstraintsExtension(false, undefined, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
        new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
        new x509.SubjectAlternativeNameExtension(names.map(name => ({ type: isIP(name) === 0 ? 'dns' : 'ip', value: name }))),
        await x509.AuthorityKeyIdentifierExtension.create(caCert, false, crypto),
      ],
    }, crypto)
    return {
      certPem: `${cert.toString('pem')}\n${this.caPem}\n`,
      keyPem: exportKey(keys.privateKey),
    }
  }
}

async function createCa (now: Date): Promise<IssuedCertificate> {
  const x509 = await loadX509()
  const keys = await crypto.subtle.generateKey(EC, true, ['sign', 'verify'])
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: randomSerial(),
    name: `CN=mta-sts-host internal CA ${randomBytes(4).toString('hex')}, O=mta-sts-host`,
    notBefore: new Date(now.getTime() - 60_000),
    notAfter: new Date(now.getTime() + CA_LIFETIME_MS),
    keys,
    signingAlgorithm: EC,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey, false, crypto),
    ],
  }, crypto)
  return { certPem: `${cert.toString('pem')}\n`, keyPem: exportKey(keys.privateKey) }
}

function exportKey (key: CryptoKey): string {
  return KeyObject.from(key).export({ type: 'pkcs8', format: 'pem' }).toString()
}

function randomSerial (): string {
  const bytes = randomBytes(16)
  bytes[0] = (bytes[0] as number) & 0x7f
  return bytes.toString('hex')
}
