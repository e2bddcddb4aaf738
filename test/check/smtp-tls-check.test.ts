import 'reflect-metadata'
import { KeyObject, X509Certificate, webcrypto } from 'node:crypto'
import * as x509 from '@peculiar/x509'
import type { Socket } from 'node:net'
import t, { type Test } from 'tap'
import { probeStartTls, type ProbeOptions } from '../../src/check/smtp-probe.js'
import { smtpTlsCheck } from '../../src/check/smtp-tls-check.js'
import type { CheckContext, DnsResolver } from '../../src/check/types.js'
import { ManualClock, systemClock } from '../../src/clock.js'
import { MemoryStore } from '../../src/store/memory-store.js'
import { InternalCa } from '../../src/tls/internal-ca.js'
import type { TenantEntry } from '../../src/tenants/tenant-snapshot.js'
import { closedPort, startScriptedServer, startSmtpServer } from '../helpers/smtp-servers.js'

const DAY = 86400_000
const MX = 'mx1.example.com'

// One trusted CA (kept in one store), opened with different clocks and lifetimes to issue
// good, short-lived, expired and not-yet-valid leaves; another CA nobody trusts.
const store = new MemoryStore()
const ca = await InternalCa.open({ store, clock: systemClock, leafLifetime: 90 * 86400 })
const shortCa = await InternalCa.open({ store, clock: systemClock, leafLifetime: 5 * 86400 })
const pastCa = await InternalCa.open({ store, clock: new ManualClock(new Date(Date.now() - 30 * DAY)), leafLifetime: 86400 })
const futureCa = await InternalCa.open({ store, clock: new ManualClock(new Date(Date.now() + 10 * DAY)), leafLifetime: 90 * 86400 })
const otherCa = await InternalCa.open({ store: new MemoryStore(), clock: systemClock, leafLifetime: 90 * 86400 })

const good = await ca.obtain(MX)
const good2 = await ca.obtain('mx2.example.com')
const expiring = await shortCa.obtain(MX)
const expired = await pastCa.obtain(MX)
const notYetValid = await futureCa.obtain(MX)
const wrongName = await ca.obtain('mail.other.example')
const untrusted = await otherCa.obtain(MX)
const selfSigned = await selfSignedRsa()

/** A self-signed RSA certificate without SAN or CN (subject `O=Nobody`). */
async function selfSignedRsa (): Promise<{ certPem: string; keyPem: string }> {
  const alg = { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256', publicExponent: new Uint8Array([1, 0, 1]), modulusLength: 2048 }
  const keys = await webcrypto.subtle.generateKey(alg, true, ['sign', 'verify']) as webcrypto.CryptoKeyPair
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: '01',
    name: 'O=Nobody',
    notBefore: new Date(Date.now() - DAY),
    notAfter: new Date(Date.now() + 90 * DAY),
    keys,
    signingAlgorithm: alg,
  }, webcrypto)
  return { certPem: cert.toString('pem'), keyPem: KeyObject.from(keys.privateKey).export({ type: 'pkcs8', format: 'pem' }).toString() }
}

function firstPem (pem: string): string {
  return pem.slice(0, pem.indexOf('-----END CERTIFICATE-----') + 25)
}

function notAfterOf (pem: string): Date {
  return new Date(new X509Certificate(pem).validTo)
}

function day (d: Date): string {
  return d.toISOString().slice(0, 10)
}

function opts (port: number, over: Partial<ProbeOptions> = {}): ProbeOptions {
  return { host: MX, address: '127.0.0.1', port, timeoutMs: 2000, ca: ca.caPem, now: new Date(), expiryWarningDays: 14, ...over }
}

async function tlsServer (tt: Test, cert: { certPem: string; keyPem: string }, extra = {}): Promise<number> {
  return (await startSmtpServer(tt, { key: cert.keyPem, cert: cert.certPem, ...extra })).port
}

t.test('probeStartTls: a good certificate passes', async t => {
  const port = await tlsServer(t, good)
  const res = await probeStartTls(opts(port))
  const until = day(notAfterOf(good.certPem))
  t.equal(res.status, 'pass')
  t.match(res.reason, new RegExp(`^STARTTLS, TLSv1\\.3, certificate valid until ${until} \\(ECDSA, issued by mta-sts-host internal CA [0-9a-f]{8}\\)$`))
  t.notOk(res.hint, 'no hint on pass')
  t.same(res.problems, [])
  t.equal(res.starttls, true)
  t.equal(res.tlsVersion, 'TLSv1.3')
  t.match(res.details, {
    address: '127.0.0.1',
    port,
    starttls: true,
    tlsVersion: 'TLSv1.3',
    cipher: String,
    subject: `CN=${MX}`,
    subjectAltNames: [MX],
    issuer: /^CN=mta-sts-host internal CA/,
    keyType: 'ECDSA',
    notAfter: notAfterOf(good.certPem).toISOString(),
    daysLeft: 89,
    trusted: true,
    verifyError: undefined,
    matchesHost: true,
    fingerprint256: /^[0-9A-F:]+$/,
  })

  // Case and a trailing dot of the MX name do not matter; TLS 1.2 servers pass too.
  const dotted = await probeStartTls(opts(port, { host: 'MX1.Example.COM.' }))
  t.equal(dotted.status, 'pass', dotted.reason)
  const tls12 = await probeStartTls(opts(await tlsServer(t, good, { maxVersion: 'TLSv1.2' })))
  t.equal(tls12.status, 'pass', tls12.reason)
  t.equal(tls12.tlsVersion, 'TLSv1.2')
})

t.test('probeStartTls: a certificate within the warning window warns', async t => {
  const port = await tlsServer(t, expiring)
  const res = await probeStartTls(opts(port))
  const until = day(notAfterOf(expiring.certPem))
  t.equal(res.status, 'warn')
  t.match(res.reason, new RegExp(`^STARTTLS, TLSv1\\.3, certificate expires in 4 days on ${until} \\(ECDSA, issued by mta-sts-host`))
  t.equal(res.hint, `renew the certificate of ${MX} before ${until}; senders refuse an expired one`)
  t.same(res.problems, ['certificate-expiring'])
  t.equal(res.details.daysLeft, 4)

  // "now" comes from the caller: one day left reads as one day.
  const lastDay = await probeStartTls(opts(port, { now: new Date(notAfterOf(expiring.certPem).getTime() - 1.5 * DAY) }))
  t.match(lastDay.reason, /expires in 1 day on /)
  // A good certificate warns when the window is wider than its life.
  const wide = await probeStartTls(opts(await tlsServer(t, good), { expiryWarningDays: 100 }))
  t.equal(wide.status, 'warn')
  t.match(wide.reason, /expires in 89 days/)
})

t.test('probeStartTls: expired and not yet valid certificates fail', async t => {
  const res = await probeStartTls(opts(await tlsServer(t, expired)))
  t.equal(res.status, 'fail')
  t.equal(res.reason, `certificate expired on ${day(notAfterOf(expired.certPem))}`)
  t.equal(res.hint, `renew the certificate of ${MX}`)
  t.same(res.problems, ['certificate-expired'])
  t.equal(res.tlsVersion, 'TLSv1.3')
  t.match(res.details, { trusted: true, verifyError: 'CERT_HAS_EXPIRED', daysLeft: -30 })

  const early = await probeStartTls(opts(await tlsServer(t, notYetValid)))
  t.equal(early.status, 'fail')
  t.match(early.reason, /^certificate not valid before \d{4}-\d\d-\d\dT/)
  t.match(early.hint, /clock/)
  t.same(early.problems, ['certificate-expired'])
  t.match(early.details, { verifyError: 'CERT_NOT_YET_VALID', trusted: true })
})

t.test('probeStartTls: a certificate for another name fails', async t => {
  const res = await probeStartTls(opts(await tlsServer(t, wrongName)))
  t.equal(res.status, 'fail')
  t.equal(res.reason, `certificate is for mail.other.example, not ${MX}`)
  t.equal(res.hint, `install a certificate that carries ${MX} as a DNS name (SAN) on ${MX}`)
  t.same(res.problems, ['certificate-host-mismatch'])
  t.match(res.details, { matchesHost: false, trusted: true, subjectAltNames: ['mail.other.example'] })
})

t.test('probeStartTls: certificates that do not chain to a trusted root fail', async t => {
  // Leaf and root of a CA nobody trusts (the public roots only: no extra CA at all).
  const chain = await probeStartTls(opts(await tlsServer(t, untrusted), { ca: undefined }))
  t.equal(chain.status, 'fail')
  t.equal(chain.reason, 'certificate not trusted: issued by an unknown (self-signed) root')
  t.match(chain.hint, /public CA .* full chain/)
  t.same(chain.problems, ['certificate-not-trusted'])
  t.match(chain.details, { trusted: false, verifyError: 'SELF_SIGNED_CERT_IN_CHAIN', matchesHost: true })

  // The leaf alone, its issuer unknown.
  const leaf = await probeStartTls(opts(await tlsServer(t, { ...untrusted, certPem: firstPem(untrusted.certPem) })))
  t.equal(leaf.status, 'fail')
  t.equal(leaf.reason, 'certificate not trusted: unable to verify leaf signature')
  t.match(leaf.details, { verifyError: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' })

  // Self-signed, RSA, no SAN and no CN: every problem is named, the first one gives the hint.
  const self = await probeStartTls(opts(await tlsServer(t, selfSigned)))
  t.equal(self.status, 'fail')
  t.equal(self.reason, `certificate is for no host name, not ${MX}; certificate not trusted: self-signed`)
  t.match(self.hint, /carries mx1\.example\.com/)
  t.same(self.problems, ['certificate-host-mismatch', 'certificate-not-trusted'])
  t.match(self.details, { keyType: 'RSA', subject: 'O=Nobody', issuer: 'O=Nobody', subjectAltNames: [], verifyError: 'DEPTH_ZERO_SELF_SIGNED_CERT' })

  // The same self-signed certificate served for its own (missing) name would pass the
  // trust test only if trusted: trusting it makes the name the only problem.
  const trusted = await probeStartTls(opts(await tlsServer(t, selfSigned), { ca: selfSigned.certPem }))
  t.equal(trusted.reason, `certificate is for no host name, not ${MX}`)
})

t.test('probeStartTls: a server without STARTTLS fails', async t => {
  const { port } = await startSmtpServer(t, { hideSTARTTLS: true })
  const res = await probeStartTls(opts(port))
  t.equal(res.status, 'fail')
  t.equal(res.reason, 'server does not offer STARTTLS')
  t.match(res.hint, /enforce mode refuse to deliver/)
  t.same(res.problems, ['starttls-not-supported'])
  t.equal(res.starttls, false)
  t.equal(res.tlsVersion, undefined)
  t.same(res.details, { address: '127.0.0.1', port, starttls: false })

  // Also when the server never answers QUIT: the probe closes the connection itself.
  const silent = await startScriptedServer(t, {
    greeting: '220 plain.example ESMTP',
    onLine: (line, socket) => {
      if (line.startsWith('EHLO')) socket.write('250-plain.example\r\n250 PIPELINING\r\n')
    },
  })
  const quiet = await probeStartTls(opts(silent.port, { timeoutMs: 300 }))
  t.equal(quiet.reason, 'server does not offer STARTTLS')
})

t.test('probeStartTls: a server that only speaks TLS 1.0 fails', async t => {
  const { port, errors } = await startSmtpServer(t, {
    key: good.keyPem,
    cert: good.certPem,
    minVersion: 'TLSv1',
    maxVersion: 'TLSv1',
    ciphers: 'DEFAULT@SECLEVEL=0',
  })
  const res = await probeStartTls(opts(port))
  t.equal(res.status, 'fail')
  t.equal(res.reason, 'TLS 1.0 only')
  t.equal(res.hint, `enable TLS 1.2 or 1.3 on ${MX}: senders refuse TLS 1.0 (RFC 8996)`)
  t.same(res.problems, ['tls-version'])
  t.equal(res.tlsVersion, 'TLSv1')
  t.match(res.details, { tlsVersion: 'TLSv1', subjectAltNames: [MX], starttls: true })
  t.ok(errors.length >= 1, 'the server saw the modern handshake fail')
})

t.test('probeStartTls: network and SMTP failures', async t => {
  const refused = await probeStartTls(opts(await closedPort()))
  t.equal(refused.status, 'fail')
  t.equal(refused.reason, 'connection failed: ECONNREFUSED')
  t.match(refused.hint, /accepts SMTP connections on port \d+ from the internet/)
  t.same(refused.problems, ['connection'])
  t.equal(refused.starttls, undefined)
  t.match(refused.details, { address: '127.0.0.1', error: String })

  const mute = await startScriptedServer(t, {})
  const noGreeting = await probeStartTls(opts(mute.port, { timeoutMs: 300 }))
  t.equal(noGreeting.reason, 'connection timed out before the SMTP greeting')
  t.same(noGreeting.problems, ['timeout'])
  t.match(noGreeting.hint, /answers within 0\.3 s/)

  const deaf = await startScriptedServer(t, { greeting: '220 deaf.example ESMTP' })
  const noEhlo = await probeStartTls(opts(deaf.port, { timeoutMs: 300 }))
  t.equal(noEhlo.reason, 'connection timed out waiting for an SMTP reply')

  const rude = await startScriptedServer(t, { greeting: '554 no service here' })
  const rejected = await probeStartTls(opts(rude.port))
  t.match(rejected.reason, /^SMTP session failed: .*554 no service here/)
  t.same(rejected.problems, ['smtp'])
  t.match(rejected.hint, /speaks SMTP on port/)

  const hangup = await startScriptedServer(t, { hangUp: true })
  const closed = await probeStartTls(opts(hangup.port))
  t.match(closed.reason, /^SMTP session failed: Connection closed unexpectedly/)
})

t.test('probeStartTls: STARTTLS offered but broken', async t => {
  const offer = (after: (socket: Socket) => void) => ({
    greeting: '220 broken.example ESMTP',
    onLine: (line: string, socket: Socket) => {
      if (line.startsWith('EHLO')) socket.write('250-broken.example\r\n250 STARTTLS\r\n')
      if (line === 'STARTTLS') after(socket)
    },
  })
  const refusing = await startScriptedServer(t, offer(s => s.write('454 4.7.0 TLS not available\r\n')))
  const refused = await probeStartTls(opts(refusing.port))
  t.equal(refused.reason, 'STARTTLS refused: 454 4.7.0 TLS not available')
  t.same(refused.problems, ['starttls-not-supported'])
  t.match(refused.hint, /make STARTTLS work/)

  const garbage = await startScriptedServer(t, offer(s => {
    s.write('220 go ahead\r\n')
    // Plain text in answer to the ClientHello.
    s.once('data', () => s.end('this is not TLS at all\r\n'))
  }))
  const bad = await probeStartTls(opts(garbage.port))
  t.match(bad.reason, /^TLS handshake failed: \S/)
  t.same(bad.problems, ['validation-failure'])
  t.match(bad.hint, /TLS set-up/)

  const stalled = await startScriptedServer(t, offer(s => s.write('220 go ahead\r\n')))
  const stall = await probeStartTls(opts(stalled.port, { timeoutMs: 300 }))
  t.equal(stall.reason, 'connection timed out in the TLS handshake')
  t.same(stall.problems, ['timeout'])
})

type Records = Partial<Record<'mx' | 'a' | 'aaaa', Record<string, unknown>>>

/** A DnsResolver over in-memory maps; a missing name rejects like Node does (ENOTFOUND). */
function fakeResolver (records: Records): DnsResolver {
  const answer = <T>(map: Record<string, unknown> | undefined, name: string): Promise<T> => {
    const value = map?.[name]
    if (value === undefined) return Promise.reject(Object.assign(new Error(`queryX ENOTFOUND ${name}`), { code: 'ENOTFOUND' }))
    return Promise.resolve(value as T)
  }
  return {
    resolveMx: name => answer(records.mx, name),
    resolve4: name => answer(records.a, name),
    resolve6: name => answer(records.aaaa, name),
    resolveTxt: () => Promise.reject(new Error('not used')),
    resolveCname: () => Promise.reject(new Error('not used')),
  }
}

function context (port: number, resolver: DnsResolver, over: Partial<CheckContext> = {}): CheckContext {
  return {
    tenant: { domain: 'example.com' } as TenantEntry,
    resolver,
    timeoutMs: 2000,
    httpsPort: 443,
    smtpPort: port,
    ca: ca.caPem,
    expiryWarningDays: 14,
    managedCertificates: true,
    now: () => new Date(),
    ...over,
  }
}

t.test('smtpTlsCheck: one result per MX host, by preference, probed on smtpPort', async t => {
  // One server for both names: SNI picks mx2's certificate, anything else gets mx1's.
  const port = await tlsServer(t, good, { sniOptions: { 'mx2.example.com': { key: good2.keyPem, cert: good2.certPem } } })
  const resolver = fakeResolver({
    mx: {
      'example.com': [
        { exchange: 'mx3.example.com', priority: 30 },
        { exchange: 'MX2.example.com.', priority: 20 },
        { exchange: 'mx1.example.com', priority: 10 },
        { exchange: 'mx2.example.com', priority: 40 },
      ],
    },
    a: { 'mx1.example.com': ['127.0.0.1', '127.0.0.2'], 'mx2.example.com': ['127.0.0.1'], 'mx3.example.com': ['127.0.0.1'] },
  })
  const results = await smtpTlsCheck.run(context(port, resolver))
  t.same(results.map(r => [r.id, r.name, r.status]), [
    ['mx-tls:mx1.example.com', 'MX TLS mx1.example.com', 'pass'],
    ['mx-tls:mx2.example.com', 'MX TLS mx2.example.com', 'pass'],
    ['mx-tls:mx3.example.com', 'MX TLS mx3.example.com', 'fail'],
  ])
  const [mx1, mx2, mx3] = results
  t.match(mx1?.reason, /^STARTTLS, TLSv1\.3, certificate valid until /)
  t.notOk(mx1 && 'hint' in mx1, 'no hint on pass')
  t.match(mx1?.details, { host: 'mx1.example.com', addresses: ['127.0.0.1', '127.0.0.2'], address: '127.0.0.1', port, problems: [], tlsVersion: 'TLSv1.3', subjectAltNames: ['mx1.example.com'], daysLeft: 89 })
  t.match(mx2?.details, { subjectAltNames: ['mx2.example.com'] })
  t.equal(mx3?.reason, 'certificate is for mx1.example.com, not mx3.example.com')
  t.match(mx3?.hint, /carries mx3\.example\.com/)
  t.match(mx3?.details, { problems: ['certificate-host-mismatch'] })
})

t.test('smtpTlsCheck: the context decides trust, time and the warning window', async t => {
  const port = await tlsServer(t, good)
  const resolver = fakeResolver({ mx: { 'example.com': [{ exchange: MX, priority: 0 }] }, a: { [MX]: ['127.0.0.1'] } })
  const [untrustedRes] = await smtpTlsCheck.run(context(port, resolver, { ca: undefined }))
  t.match(untrustedRes, { status: 'fail', reason: 'certificate not trusted: issued by an unknown (self-signed) root' })
  const [late] = await smtpTlsCheck.run(context(port, resolver, { now: () => new Date(Date.now() + 100 * DAY) }))
  t.match(late, { status: 'fail', reason: /^certificate expired on / })
  const [soon] = await smtpTlsCheck.run(context(port, resolver, { expiryWarningDays: 120 }))
  t.match(soon, { status: 'warn', reason: /expires in 89 days/, hint: /^renew/ })
})

t.test('smtpTlsCheck: MX hosts without addresses and AAAA-only hosts', async t => {
  const port = await closedPort()
  const resolver = fakeResolver({
    mx: { 'example.com': [{ exchange: 'nowhere.example.com', priority: 10 }, { exchange: 'v6.example.com', priority: 20 }, { exchange: 'empty.example.com', priority: 30 }] },
    a: { 'empty.example.com': [] },
    aaaa: { 'v6.example.com': ['::1'], 'empty.example.com': [] },
  })
  const results = await smtpTlsCheck.run(context(port, resolver))
  t.equal(results.length, 3)
  const [nowhere, v6, empty] = results
  t.same(nowhere, {
    id: 'mx-tls:nowhere.example.com',
    name: 'MX TLS nowhere.example.com',
    status: 'fail',
    reason: 'no A or AAAA record for nowhere.example.com',
    hint: 'publish an A (and AAAA) record for nowhere.example.com, or remove it from the MX records',
    details: { host: 'nowhere.example.com', addresses: [] },
  })
  t.equal(empty?.reason, 'no A or AAAA record for empty.example.com')
  // The AAAA address is probed (nothing listens there: the connection fails).
  t.match(v6, { id: 'mx-tls:v6.example.com', status: 'fail', reason: /^connection failed: /, details: { address: '::1', addresses: ['::1'] } })
})

t.test('smtpTlsCheck: nothing to probe is one failed mx-tls result', async t => {
  const noMx = await smtpTlsCheck.run(context(25, fakeResolver({})))
  t.same(noMx.map(r => [r.id, r.name, r.status]), [['mx-tls', 'MX TLS', 'fail']])
  t.equal(noMx[0]?.reason, 'MX lookup for example.com failed (ENOTFOUND): no MX host to probe')
  t.match(noMx[0]?.hint, /publish MX records for example\.com/)
  t.match(noMx[0]?.details, { error: /ENOTFOUND/ })

  const empty = await smtpTlsCheck.run(context(25, fakeResolver({ mx: { 'example.com': [] } })))
  t.match(empty, [{ id: 'mx-tls', status: 'fail', reason: 'no MX records for example.com: no MX host to probe', details: { mx: [] } }])
  t.equal(empty.length, 1)

  // RFC 7505 null MX ("MX 0 ."): Node reports the exchange as an empty string.
  const nullMx = await smtpTlsCheck.run(context(25, fakeResolver({ mx: { 'example.com': [{ exchange: '', priority: 0 }] } })))
  t.match(nullMx, [{ id: 'mx-tls', status: 'fail', reason: 'example.com has a null MX (accepts no mail): no MX host to probe', hint: /accepts no mail/ }])
  t.equal(nullMx.length, 1)
})
