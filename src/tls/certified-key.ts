import { createPrivateKey, X509Certificate } from 'node:crypto'
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

/**
 * The certificate of `pems` when its leaf is the one with `fingerprint`,
 * checked before (by {@link inspectCertificate}); else undefined. For a
 * certificate read again: only the leaf is parsed, not the key (a few times
 * dearer), which building its SecureContext checks against the leaf anyway.
 */
export function knownCertificate (pems: { readonly certPem: string; readonly keyPem: string }, fingerprint: string): CertifiedKey | undefined {
  let leaf: X509Certificate
  try {
    leaf = new X509Certificate(pems.certPem)
  } catch {
    return undefined
  }
  if (leaf.fingerprint256 !== fingerprint) return undefined
  return Object.freeze({ certPem: pems.certPem, keyPem: pems.keyPem, notBefore: new Date(leaf.validFrom), notAfter: new Date(leaf.validTo), fingerprint })
}

/** When a certificate should be replaced: once a third of its lifetime is left. */
export function renewalTime (cert: Pick<CertifiedKey, 'notBefore' | 'notAfter'>): Date {
  const lifetime = cert.notAfter.getTime() - cert.notBefore.getTime()
  return new Date(cert.notAfter.getTime() - lifetime / 3)
}
