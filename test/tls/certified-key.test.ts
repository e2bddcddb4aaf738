import { generateKeyPairSync, X509Certificate } from 'node:crypto'
import t from 'tap'
import { ManualClock, systemClock } from '../../src/clock.js'
import { MemoryStore } from '../../src/store/memory-store.js'
import { inspectCertificate, knownCertificate, leafFingerprint, renewalTime } from '../../src/tls/certified-key.js'
import { InternalCa } from '../../src/tls/internal-ca.js'

const HOST = 'mta-sts.example.com'

t.test('accepts a matching, covering, unexpired certificate', async t => {
  const clock = new ManualClock(new Date('2026-06-01T00:00:00Z'))
  const ca = await InternalCa.open({ store: new MemoryStore(), clock, leafLifetime: 90 * 86400 })
  const issued = await ca.obtain(HOST)
  const cert = inspectCertificate(HOST, issued.certPem, issued.keyPem, clock.now())
  t.equal(cert.notAfter.toISOString(), '2026-08-30T00:00:00.000Z')
  t.match(cert.fingerprint, /^([0-9A-F]{2}:){31}[0-9A-F]{2}$/)
  t.equal(renewalTime(cert).toISOString(), new Date(cert.notAfter.getTime() - (cert.notAfter.getTime() - cert.notBefore.getTime()) / 3).toISOString())
  t.ok(Object.isFrozen(cert))
})

t.test('rejects with the failed check named', async t => {
  const clock = new ManualClock(new Date('2026-06-01T00:00:00Z'))
  const ca = await InternalCa.open({ store: new MemoryStore(), clock, leafLifetime: 86400 })
  const issued = await ca.obtain(HOST)
  const other = await ca.obtain(HOST)
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString()
  const cases: [string, () => unknown, RegExp][] = [
    ['garbage certificate', () => inspectCertificate(HOST, 'not pem', issued.keyPem), /certificate does not parse/],
    ['garbage key', () => inspectCertificate(HOST, issued.certPem, 'not a key'), /private key does not parse/],
    ['key of another certificate', () => inspectCertificate(HOST, issued.certPem, other.keyPem), /private key does not match/],
    ['key of another type', () => inspectCertificate(HOST, issued.certPem, rsa), /private key does not match/],
    ['wrong name', () => inspectCertificate('mta-sts.example.org', issued.certPem, issued.keyPem), /names DNS:mta-sts\.example\.com, not mta-sts\.example\.org/],
    ['parent name', () => inspectCertificate('example.com', issued.certPem, issued.keyPem), /not example\.com/],
    ['expired', () => inspectCertificate(HOST, issued.certPem, issued.keyPem, new Date('2026-06-03T00:00:00Z')), /expired on 2026-06-02/],
  ]
  for (const [name, fn, message] of cases) {
    t.throws(fn, { code: 'MTA_STS_CERT_INVALID', message }, name)
  }
})

t.test('knownCertificate: the certificate when its leaf has the fingerprint given, else undefined', async t => {
  const ca = await InternalCa.open({ store: new MemoryStore(), clock: systemClock, leafLifetime: 86400 })
  const issued = await ca.obtain('mta-sts.example.com')
  const checked = inspectCertificate('mta-sts.example.com', issued.certPem, issued.keyPem)
  const known = knownCertificate(issued, checked)
  t.same(known, checked, 'the same fields as when it was inspected')
  t.ok(Object.isFrozen(known))
  const other = await ca.obtain('mta-sts.example.com')
  t.equal(knownCertificate(other, checked), undefined, 'another certificate')
  t.equal(knownCertificate({ certPem: 'garbage', keyPem: issued.keyPem }, checked), undefined, 'not a certificate')
  const chain = `${issued.certPem.trim()}\n${ca.caPem.trim()}\n`
  t.same(knownCertificate({ certPem: chain.replace(/\n/g, '\r\n'), keyPem: issued.keyPem }, checked)?.fingerprint, checked.fingerprint, 'the leaf of a chain, CRLF line ends')
})

t.test('leafFingerprint: the fingerprint X509Certificate gives the first certificate of a chain, without parsing it', async t => {
  const ca = await InternalCa.open({ store: new MemoryStore(), clock: systemClock, leafLifetime: 86400 })
  for (const host of ['mta-sts.a.example', 'mta-sts.b.example']) {
    const issued = await ca.obtain(host)
    t.equal(leafFingerprint(`${issued.certPem.trim()}\n${ca.caPem}`), new X509Certificate(issued.certPem).fingerprint256, host)
  }
  t.equal(leafFingerprint(ca.caPem), new X509Certificate(ca.caPem).fingerprint256, 'a single certificate')
  t.equal(leafFingerprint('-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n'), undefined, 'no certificate block')
  t.equal(leafFingerprint(''), undefined)
})
