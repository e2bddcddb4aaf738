import 'reflect-metadata'
import * as x509 from '@peculiar/x509'

/**
 * The ACME Renewal Information certificate identifier (RFC 9773 section
 * 4.1): base64url of the Authority Key Identifier's keyIdentifier, a dot,
 * and base64url of the DER serial number bytes. Undefined when the
 * certificate has no AKI (ARI cannot name it then).
 */
export function ariCertId (certPem: string): string | undefined {
  const cert = new x509.X509Certificate(certPem)
  const aki = cert.getExtension(x509.AuthorityKeyIdentifierExtension)
  if (!aki?.keyId) return undefined
  let serial = cert.serialNumber
  if (serial.length % 2 === 1) serial = `0${serial}`
  // DER integers are signed: a serial whose first byte has the high bit set carries a leading zero byte.
  if (parseInt(serial.slice(0, 2), 16) >= 0x80) serial = `00${serial}`
  return `${Buffer.from(aki.keyId, 'hex').toString('base64url')}.${Buffer.from(serial, 'hex').toString('base64url')}`
}
