import type { AcmeSettings } from '../config/types.js'

/** Key types of `certificates.acme.key_type`. */
export type AcmeKeyType = AcmeSettings['keyType']

/** A private key (PEM, a secret: never log it) and the certificate made with it. */
export interface AlpnCertificate {
  readonly keyPem: string
  readonly certPem: string
}

/**
 * The key and X.509 building of ACME issuance: private keys, CSRs and the
 * self-signed TLS-ALPN-01 challenge certificates. They are slow in JavaScript
 * (acme-client builds the ASN.1 with asn1js), so the service runs them off the
 * serving thread ({@link WorkerAcmeCrypto}); tests may run them inline.
 */
export interface AcmeCrypto {
  /** A new private key (PKCS#8 PEM) of `keyType`. */
  privateKey (keyType: AcmeKeyType): Promise<string>
  /** A PEM CSR for `host` (subjectAltName and CN-less subject, as acme-client makes it), signed with `keyPem`. */
  certificateRequest (host: string, keyPem: string): Promise<string>
  /** A new P-256 key and the self-signed certificate with the acmeIdentifier extension (RFC 8737) for `keyAuthorization`. */
  alpnCertificate (host: string, keyAuthorization: string): Promise<AlpnCertificate>
  /** Stop whatever runs the work; calls after this fail. */
  close (): Promise<void>
}

/** One unit of work, as posted to the worker. */
export type AcmeCryptoJob =
  | { readonly kind: 'privateKey', readonly keyType: AcmeKeyType }
  | { readonly kind: 'certificateRequest', readonly host: string, readonly keyPem: string }
  | { readonly kind: 'alpnCertificate', readonly host: string, readonly keyAuthorization: string }
