import { createHash, createPrivateKey, X509Certificate } from 'node:crypto'
import { errors } from '../errors.js'

/** A certificate chain and its private key, checked and ready to serve. */
export interface CertifiedKey {
  /** PEM chain: leaf first, then intermediates. */
  readonly certPem: string
  /** PEM private key (a secret: never log it). */
  readonly keyPem: string
  readonly notBefore: Date
  readonly notAfter: Date
  /** SHA-256 fingerprint of the leaf, for logs. */
  readonly fingerprint: string
}

/**
 * Parse and check a certificate before it may serve `host`: the chain
 * parses, the private key matches the leaf, the leaf names `host`, and it is
 * not expired at `now`. Throws `MTA_STS_CERT_INVALID` naming the failed check.
 */
export function inspectCertificate (host: string, certPem: string, keyPem: string, now: Date = new Date()): CertifiedKey {
  let leaf: X509Certificate
  try {
    leaf = new X509Certificate(certPem)
  } catch (err) {
    throw new errors.CERT_INVALID(host, `certificate does not parse (${(err as Error).message})`)
  }
  let matches: boolean
  try {
    matches = leaf.checkPrivateKey(createPrivateKey(keyPem))
  } catch (err) {
    throw new errors.CERT_INVALID(host, `private key does not parse (${(err as Error).message})`)
  }
  if (!matches) throw new errors.CERT_INVALID(host, 'private key does not match the certificate')
  if (leaf.checkHost(host, { subject: 'never' }) === undefined) {
    throw new errors.CERT_INVALID(host, `certificate names ${leaf.subjectAltName ?? 'no DNS names'}, not ${host}`)
  }
  const notBefore = new Date(leaf.validFrom)
  const notAfter = new Date(leaf.validTo)
  if (notAfter.getTime() <= now.getTime()) throw new errors.CERT_INVALID(host, `certificate expired on ${notAfter.toISOString()}`)
  return Object.freeze({ certPem, keyPem, notBefore, notAfter, fingerprint: leaf.fingerprint256 })
}

/** What is known of a certificate checked before: its leaf's fingerprint and its validity. */
export type KnownCertificate = Pick<CertifiedKey, 'fingerprint' | 'notBefore' | 'notAfter'>

/**
 * The certificate of `pems` when its leaf is the one `known` describes,
 * checked before (by {@link inspectCertificate}); else undefined. For a
 * certificate read again for a handshake: only the fingerprint of the leaf
 * is computed (SHA-256 of its DER), nothing is parsed. Parsing would leave a
 * native X509 object of about 8 KiB per read for the garbage collector,
 * which V8 does not see and frees late; the key is checked against the leaf
 * when its SecureContext is built anyway.
 */
export function knownCertificate (pems: { readonly certPem: string; readonly keyPem: string }, known: KnownCertificate): CertifiedKey | undefined {
  if (leafFingerprint(pems.certPem) !== known.fingerprint) return undefined
  return Object.freeze({ certPem: pems.certPem, keyPem: pems.keyPem, notBefore: known.notBefore, notAfter: known.notAfter, fingerprint: known.fingerprint })
}

const LEAF_PEM = /-----BEGIN CERTIFICATE-----([A-Za-z0-9+/=\s]+?)-----END CERTIFICATE-----/

/**
 * The SHA-256 fingerprint of the first certificate of a PEM chain, written as
 * `X509Certificate.fingerprint256` writes it (`AA:BB:...`); undefined when
 * there is no certificate block.
 */
export function leafFingerprint (certPem: string): string | undefined {
  const base64 = LEAF_PEM.exec(certPem)?.[1]
  if (base64 === undefined) return undefined
  const hex = createHash('sha256').update(Buffer.from(base64, 'base64')).digest('hex').toUpperCase()
  return hex.replace(/(..)(?!$)/g, '$1:')
}

/** When a certificate should be replaced: once a third of its lifetime is left. */
export function renewalTime (cert: Pick<CertifiedKey, 'notBefore' | 'notAfter'>): Date {
  const lifetime = cert.notAfter.getTime() - cert.notBefore.getTime()
  return new Date(cert.notAfter.getTime() - lifetime / 3)
}
