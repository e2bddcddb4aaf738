import type { Logger } from 'pino'
import type { Clock } from '../clock.js'
import { certificateKey, issueLockName } from '../store/keys.js'
import type { LockOptions, Store, Unlock } from '../store/store.js'
import { inspectCertificate, type CertifiedKey } from './certified-key.js'

/** Options of {@link CertificateStorage}. */
export interface CertificateStorageOptions {
  readonly store: Store
  /** The issuer's name: certificates of different issuers are kept apart. */
  readonly issuer: string
  readonly clock: Clock
  readonly logger: Logger
}

/**
 * Certificates in the store: one bundle per host (private key then chain,
 * 0600) under {@link certificateKey}, and the per-host issuance lock that
 * makes issuance single-flight across replicas sharing the store.
 */
export class CertificateStorage {
  readonly #opts: CertificateStorageOptions

  constructor (opts: CertificateStorageOptions) {
    this.#opts = opts
  }

  /**
   * The stored certificate of `host`, checked by {@link inspectCertificate}
   * and passed to `prepare`; undefined when none is stored, or when it (or
   * `prepare`) fails, which is logged: a new one is obtained then.
   */
  async load<T> (host: string, prepare: (cert: CertifiedKey) => T): Promise<T | undefined> {
    const { clock, logger } = this.#opts
    const pems = await this.read(host)
    if (pems === undefined) return undefined
    try {
      return prepare(inspectCertificate(host, pems.certPem, pems.keyPem, clock.now()))
    } catch (err) {
      logger.warn({ event: 'certificate_store_invalid', host, error: (err as Error).message }, `stored certificate for ${host} is unusable; obtaining a new one`)
      return undefined
    }
  }

  /** The stored certificate and key of `host` as they are (not checked); undefined when none is stored. */
  async read (host: string): Promise<{ certPem: string; keyPem: string } | undefined> {
    const pem = (await this.#opts.store.get(certificateKey(this.#opts.issuer, host)))?.toString('utf8')
    return pem === undefined ? undefined : splitBundle(pem)
  }

  /** Store `cert` for `host` (a secret: it holds the private key). */
  async save (host: string, cert: CertifiedKey): Promise<void> {
    await this.#opts.store.put(certificateKey(this.#opts.issuer, host), joinBundle(cert), { secret: true })
  }

  /** Take the issuance lock of `host` (a lease, renewed while held). */
  lock (host: string, opts: LockOptions = {}): Promise<Unlock> {
    return this.#opts.store.lock(issueLockName(host), opts)
  }
}

const PEM_BLOCK = /-----BEGIN ([A-Z ]+)-----[\s\S]+?-----END \1-----/g

/** Split a stored bundle (private key and chain) into its parts. */
export function splitBundle (pem: string): { certPem: string; keyPem: string } {
  let keyPem = ''
  const certs: string[] = []
  for (const match of pem.matchAll(PEM_BLOCK)) {
    if (match[1]?.endsWith('PRIVATE KEY')) keyPem = match[0]
    else if (match[1] === 'CERTIFICATE') certs.push(match[0])
  }
  return { certPem: certs.join('\n') + '\n', keyPem: keyPem + '\n' }
}

/** The stored form of a certificate: its private key, then its chain. */
export function joinBundle (cert: Pick<CertifiedKey, 'certPem' | 'keyPem'>): string {
  return `${cert.keyPem.trim()}\n${cert.certPem.trim()}\n`
}
