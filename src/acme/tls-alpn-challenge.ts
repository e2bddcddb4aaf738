import type { AlpnCertificate } from './acme-crypto.js'

/** A TLS-ALPN-01 challenge as kept in the store: the key authorization and, when made, its challenge certificate. */
export interface TlsAlpnChallenge {
  readonly keyAuthorization: string
  /** Made once by the instance that placed the order; absent in a record without one. */
  readonly certificate?: AlpnCertificate
}

/**
 * The stored text of `challenge`: JSON with the challenge certificate and its
 * (throwaway, but secret) key, so every process and replica answering the
 * CA's validation handshakes only builds a SecureContext from it.
 */
export function encodeTlsAlpnChallenge (challenge: Required<TlsAlpnChallenge>): string {
  const { keyAuthorization, certificate } = challenge
  return JSON.stringify({ keyAuthorization, certPem: certificate.certPem, keyPem: certificate.keyPem })
}

/**
 * Read a stored TLS-ALPN-01 challenge: the JSON of
 * {@link encodeTlsAlpnChallenge}, or a bare key authorization (a record
 * without a certificate, which the answering process then makes itself).
 * A key authorization is `token.thumbprint` (base64url), never JSON.
 */
export function decodeTlsAlpnChallenge (text: string): TlsAlpnChallenge {
  if (!text.startsWith('{')) return { keyAuthorization: text }
  let parsed: { keyAuthorization?: unknown, certPem?: unknown, keyPem?: unknown }
  try {
    parsed = JSON.parse(text) as typeof parsed
  } catch {
    return { keyAuthorization: text }
  }
  const keyAuthorization = typeof parsed.keyAuthorization === 'string' ? parsed.keyAuthorization : text
  return typeof parsed.certPem === 'string' && typeof parsed.keyPem === 'string'
    ? { keyAuthorization, certificate: { certPem: parsed.certPem, keyPem: parsed.keyPem } }
    : { keyAuthorization }
}
