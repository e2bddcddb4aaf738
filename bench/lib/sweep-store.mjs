// The certificate store of the sweep part: one certificate per tenant from the
// service's internal CA, in a FileStore, made before anything is timed.
//
// The service's own InternalCa.issue builds each certificate with @peculiar/x509
// (JavaScript ASN.1, WebCrypto) and the FileStore fsyncs every write: about 7-12 ms
// a certificate, 12-20 minutes for 100,000. Here each leaf is the same DER the
// internal CA would issue (same extensions, names, lifetime, chain), put together
// from parts made once (issuer name, extensions) plus the host's name, a fresh
// P-256 key (node:crypto) and a node:crypto ECDSA signature with the CA's key:
// well under 1 ms a certificate. The bundle is written where the FileStore keeps
// it, 0600, without fsync (a fixture: a crash means generating again).
// The store is kept between runs in os.tmpdir()/mta-sts-bench-sweep/<N>/ (a
// `complete` marker records when) and each run gets a hard-linked copy: the
// service renames new files into place, so the kept copy is never changed.
import 'reflect-metadata'
import { createPrivateKey, generateKeyPairSync, randomBytes, sign, X509Certificate } from 'node:crypto'
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import * as x509 from '@peculiar/x509'
import { AsnConvert } from '@peculiar/asn1-schema'
import { Certificate } from '@peculiar/asn1-x509'
import { run } from './proc.mjs'

const DIST = new URL('../../dist/', import.meta.url)
const { FileStore } = await import(new URL('store/file-store.js', DIST))
const { InternalCa } = await import(new URL('tls/internal-ca.js', DIST))
const { certificateKey, INTERNAL_CA_CERT_KEY, INTERNAL_CA_KEY_KEY } = await import(new URL('store/keys.js', DIST))
const { joinBundle } = await import(new URL('tls/certificate-storage.js', DIST))
const { inspectCertificate } = await import(new URL('tls/certified-key.js', DIST))
const { systemClock } = await import(new URL('clock.js', DIST))

/** Lifetime of the generated leaves (the internal CA's default `leaf_lifetime` is 30 days). */
export const LEAF_LIFETIME_S = 30 * 86400
/** A kept store older than this is made again (its leaves must stay far from expiry and renewal). */
const MAX_AGE_MS = 3 * 86400_000

// DER, just what an X.509 leaf needs.
const len = n => n < 0x80 ? Buffer.from([n]) : n < 0x100 ? Buffer.from([0x81, n]) : Buffer.from([0x82, n >> 8, n & 0xff])
const tlv = (tag, ...parts) => { const body = Buffer.concat(parts); return Buffer.concat([Buffer.from([tag]), len(body.length), body]) }
const seq = (...parts) => tlv(0x30, ...parts)
const utcTime = d => tlv(0x17, Buffer.from(d.toISOString().replace(/[-:T]/g, '').slice(2, 14) + 'Z', 'ascii'))
const OID_CN = Buffer.from('0603550403', 'hex')
const OID_SAN = Buffer.from('0603551d11', 'hex')
const ECDSA_SHA256 = seq(Buffer.from('06082a8648ce3d040302', 'hex'))

/** Makes leaves for `mta-sts.<tenant>` names signed by the CA `caCertPem` / `caKeyPem`, as InternalCa.issue does. */
export function leafFactory ({ caCertPem, caKeyPem, now = new Date(), lifetimeS = LEAF_LIFETIME_S }) {
  const caKey = createPrivateKey(caKeyPem)
  const ca = AsnConvert.parse(new X509Certificate(caCertPem).raw, Certificate)
  const issuerName = Buffer.from(AsnConvert.serialize(ca.tbsCertificate.subject))
  const version = Buffer.from('a003020102', 'hex')
  // The same validity for every leaf: InternalCa back-dates by a minute.
  const validity = seq(utcTime(new Date(now.getTime() - 60_000)), utcTime(new Date(now.getTime() + lifetimeS * 1000)))
  return async function prepare () {
    const caX509 = new x509.X509Certificate(caCertPem)
    const fixed = [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
    ].map(e => Buffer.from(e.rawData))
    const aki = Buffer.from((await x509.AuthorityKeyIdentifierExtension.create(caX509, false, globalThis.crypto)).rawData)
    /** Certificate (chain PEM: leaf, CA) and private key PEM for `host`. */
    return host => {
      const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' })
      // Positive and minimally encoded (DER): the first byte neither 0 nor above 0x7f.
      const serial = randomBytes(16)
      serial[0] = (serial[0] & 0x7f) | 0x40
      const name = Buffer.from(host, 'ascii')
      const san = seq(OID_SAN, tlv(0x04, seq(tlv(0x82, name))))
      const tbs = seq(
        version,
        tlv(0x02, serial),
        ECDSA_SHA256,
        issuerName,
        validity,
        seq(tlv(0x31, seq(OID_CN, tlv(0x0c, name)))),
        publicKey.export({ type: 'spki', format: 'der' }),
        tlv(0xa3, seq(fixed[0], fixed[1], fixed[2], san, aki)),
      )
      const der = seq(tbs, ECDSA_SHA256, tlv(0x03, Buffer.from([0]), sign('sha256', tbs, caKey)))
      const pem = `-----BEGIN CERTIFICATE-----\n${der.toString('base64').replace(/.{64}/g, '$&\n').replace(/\n?$/, '\n')}-----END CERTIFICATE-----\n`
      return { certPem: `${pem}\n${caCertPem.trim()}\n`, keyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }) }
    }
  }
}

/**
 * Write a FileStore at `dir` holding the internal CA and a certificate for
 * `host(i)`, i = 1..n. The first leaf is checked with the service's own
 * inspectCertificate (chain parses, key matches, names the host) before the rest are made.
 */
export async function generateStore ({ dir, n, host, log = () => {} }) {
  const store = new FileStore(dir)
  const ca = await InternalCa.open({ store, clock: systemClock, leafLifetime: LEAF_LIFETIME_S })
  const caCertPem = ca.caPem
  const caKeyPem = readFileSync(store.fileOf(INTERNAL_CA_KEY_KEY), 'utf8')
  const leaf = await leafFactory({ caCertPem, caKeyPem })()
  const first = leaf(host(1))
  inspectCertificate(host(1), first.certPem, first.keyPem)
  const t0 = performance.now()
  const folder = dirname(store.fileOf(certificateKey('internal', host(1))))
  mkdirSync(folder, { recursive: true, mode: 0o700 })
  for (let i = 1; i <= n; i++) {
    const file = store.fileOf(certificateKey('internal', host(i)))
    if (dirname(file) !== folder) throw new Error(`unexpected store layout: ${file}`)
    writeFileSync(file, joinBundle(i === 1 ? first : leaf(host(i))), { mode: 0o600 })
    if (i % 20000 === 0) log(`sweep: ${i} of ${n} certificates`)
  }
  return { ms: performance.now() - t0, caFile: store.fileOf(INTERNAL_CA_CERT_KEY) }
}

/**
 * A store with `n` tenant certificates at `runDir`: a hard-linked copy of the
 * one kept for `n` (made first when missing or older than 3 days).
 * Returns the generation time when it was made now.
 */
export async function preparedStore ({ n, host, runDir, log }) {
  const keep = join(tmpdir(), 'mta-sts-bench-sweep', String(n))
  const marker = join(keep, 'complete')
  let generated
  const madeAt = existsSync(marker) ? Number(readFileSync(marker, 'utf8')) : 0
  if (!(Date.now() - madeAt < MAX_AGE_MS)) {
    rmSync(keep, { recursive: true, force: true })
    mkdirSync(keep, { recursive: true })
    log(`sweep: generating ${n} certificates into ${keep} (kept for later runs)`)
    generated = await generateStore({ dir: join(keep, 'store'), n, host, log })
    writeFileSync(marker, String(Date.now()))
  }
  const r = await run('cp', ['-al', join(keep, 'store'), runDir], { timeoutMs: 300_000 })
  if (r.code !== 0) throw new Error(`cp -al ${keep}/store ${runDir}: ${r.stderr}`)
  return { generated_ms: generated?.ms, kept_since: new Date(generated ? Date.now() : madeAt).toISOString() }
}
