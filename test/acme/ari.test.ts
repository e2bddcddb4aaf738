import 'reflect-metadata'
import * as x509 from '@peculiar/x509'
import t from 'tap'
import { ariCertId } from '../../src/acme/ari.js'

const EC = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const
const crypto = globalThis.crypto

/** A self-signed certificate with `serial` (hex) and, when given, an AKI with `akiHex` as keyIdentifier. */
async function certificate (serial: string, akiHex?: string): Promise<{ pem: string; cert: x509.X509Certificate }> {
  const keys = await crypto.subtle.generateKey(EC, true, ['sign', 'verify'])
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial,
    name: 'CN=ari.example',
    notBefore: new Date('2025-01-01T00:00:00Z'),
    notAfter: new Date('2025-04-01T00:00:00Z'),
    keys,
    signingAlgorithm: EC,
    extensions: akiHex ? [new x509.AuthorityKeyIdentifierExtension(akiHex)] : [],
  }, crypto)
  return { pem: cert.toString('pem'), cert }
}

const RFC_AKI = '69:88:5B:6B:87:46:40:41:E1:B3:7B:84:7B:A0:AE:2C:DE:01:C8:D4'.replace(/:/g, '').toLowerCase()

t.test('the RFC 9773 example', async t => {
  const { pem, cert } = await certificate('0087654321', RFC_AKI)
  t.equal(cert.getExtension(x509.AuthorityKeyIdentifierExtension)?.keyId, RFC_AKI, 'fixture has the AKI of the example')
  t.match(cert.serialNumber, /^(00)?87654321$/, 'fixture has the serial of the example')
  t.equal(ariCertId(pem), 'aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE')
})

t.test('the DER serial bytes: no leading zero below 0x80, even-length hex', async t => {
  t.equal(ariCertId((await certificate('01020304', RFC_AKI)).pem), 'aYhba4dGQEHhs3uEe6CuLN4ByNQ.AQIDBA')
  t.equal(ariCertId((await certificate('7f', RFC_AKI)).pem), 'aYhba4dGQEHhs3uEe6CuLN4ByNQ.fw')
  const odd = await certificate('123', RFC_AKI)
  t.equal(ariCertId(odd.pem), 'aYhba4dGQEHhs3uEe6CuLN4ByNQ.ASM', `serial ${odd.cert.serialNumber}`)
  const high = await certificate('87654321', RFC_AKI)
  t.equal(ariCertId(high.pem), 'aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE', `serial ${high.cert.serialNumber}: one leading zero byte`)
})

t.test('no AKI: undefined', async t => {
  t.equal(ariCertId((await certificate('0102', undefined)).pem), undefined)
})

t.test('an AKI without keyIdentifier: undefined', async t => {
  const keys = await crypto.subtle.generateKey(EC, true, ['sign', 'verify'])
  const aki = new x509.AuthorityKeyIdentifierExtension({ name: new x509.GeneralNames([{ type: 'dns', value: 'issuer.example' }]), serialNumber: '01' })
  const cert = await x509.X509CertificateGenerator.createSelfSigned({ serialNumber: '02', name: 'CN=leaf', keys, signingAlgorithm: EC, extensions: [aki] }, crypto)
  t.notOk(cert.getExtension(x509.AuthorityKeyIdentifierExtension)?.keyId, 'fixture: AKI by issuer and serial only')
  t.equal(ariCertId(cert.toString('pem')), undefined)
})

t.test('not a certificate: throws', async t => {
  t.throws(() => ariCertId('-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n'))
})
