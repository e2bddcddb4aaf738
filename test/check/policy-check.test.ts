import { createServer, type Server } from 'node:https'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { createServer as createNetServer, type AddressInfo } from 'node:net'
import t from 'tap'
import { policyCheck, MAX_POLICY_BYTES } from '../../src/check/policy-check.js'
import type { CheckContext } from '../../src/check/types.js'
import { systemClock } from '../../src/clock.js'
import { MemoryStore } from '../../src/store/memory-store.js'
import { InternalCa } from '../../src/tls/internal-ca.js'
import { startDnsServer } from '../helpers/dns-server.js'
import { startService } from '../helpers/service-harness.js'
import { checkContext, tenantEntry } from './tenant-fixture.js'

interface Teardown {
  teardown (fn: () => unknown): void
}

const HOST = 'mta-sts.example.com'
const DAY = 86_400_000
const TENANTS = `
tenants:
  example.com:
    mode: enforce
    mx: [mx1.example.com, "*.mx.example.net"]
    max_age: 604800
`
const ca = await InternalCa.open({ store: new MemoryStore(), clock: systemClock, leafLifetime: 86400 })
const otherCa = await InternalCa.open({ store: new MemoryStore(), clock: systemClock, leafLifetime: 86400 })
const tenant = tenantEntry()

/** A tiny HTTPS server on `host` (IPv4 or IPv6 loopback) with a certificate for `certName` from `issuer`. */
async function httpsServer (t: Teardown, handler: (req: IncomingMessage, res: ServerResponse) => void, opts: { certName?: string; issuer?: InternalCa; host?: string } = {}): Promise<number> {
  const { certPem, keyPem } = await (opts.issuer ?? ca).obtain(opts.certName ?? HOST)
  const server: Server = createServer({ cert: certPem, key: keyPem }, handler)
  await new Promise<void>(resolve => server.listen(0, opts.host ?? '127.0.0.1', resolve))
  t.teardown(() => new Promise<void>(resolve => {
    server.closeAllConnections()
    server.close(() => resolve())
  }))
  return (server.address() as AddressInfo).port
}

/** A port nothing listens on (a server was there a moment ago). */
async function freePort (): Promise<number> {
  const server = createNetServer()
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  await new Promise(resolve => server.close(resolve))
  return port
}

/** The policy of `tenant` as this service serves it. */
function servePolicy (body: Buffer | string = tenant.body, type: string | null = 'text/plain; charset=utf-8') {
  return (_req: IncomingMessage, res: ServerResponse): void => {
    if (type !== null) res.setHeader('content-type', type)
    res.end(body)
  }
}

async function contextFor (t: Teardown, port: number, over: Partial<CheckContext> = {}): Promise<CheckContext> {
  const dns = await startDnsServer(t, { [HOST]: { A: ['127.0.0.1'] } })
  return checkContext(dns.address, { tenant, httpsPort: port, ca: ca.caPem, timeoutMs: 2000, ...over })
}

t.test('passes against the real service', async t => {
  const h = await startService(t, TENANTS)
  const served = h.service.holder.snapshot.byHost.get(HOST)!
  const dns = await startDnsServer(t, { [HOST]: { CNAME: 'policy.operator.example' }, 'policy.operator.example': { A: ['127.0.0.1'] } })
  const ctx = checkContext(dns.address, { tenant: served, httpsPort: h.addresses.https.port, ca: h.caPem })
  const [r] = await policyCheck.run(ctx)
  t.match(r, {
    id: 'policy',
    status: 'pass',
    reason: /^serves the policy \(mode enforce, max_age 604800\) over TLSv1\.3; certificate valid until /,
    details: { url: `https://${HOST}/.well-known/mta-sts.txt`, address: '127.0.0.1', status: 200, contentType: 'text/plain; charset=utf-8', tlsVersion: 'TLSv1.3', certNames: `DNS:${HOST}`, errors: [], notes: [] },
  })
  t.notOk(r?.hint)
  t.type(r?.details?.certExpires, 'string')

  const [mxSetting] = await policyCheck.run({ ...ctx, expiryWarningDays: 1000 })
  t.equal(mxSetting?.status, 'pass', 'check.expiry_warning_days is for MX certificates, not the policy host')
})

/** The certificate `h` serves for HOST (as presented in a handshake) and the manager's plan for it. */
async function servedCertificate (h: Awaited<ReturnType<typeof startService>>): Promise<{ notBefore: Date; notAfter: Date; fingerprint: string; renewAt: Date }> {
  const { peer } = await h.fetch(HOST)
  const plan = h.service.certificates.renewal(HOST)!
  if (peer?.fingerprint256 !== plan.fingerprint) throw new Error('the manager plans for another certificate than the one served')
  return { notBefore: new Date(peer.valid_from), notAfter: new Date(peer.valid_to), fingerprint: plan.fingerprint, renewAt: plan.renewAt }
}

t.test('managed certificates (internal-CA demo, 7-day leaves) warn only past their renewal point', async t => {
  const h = await startService(t, TENANTS)
  const served = h.service.holder.snapshot.byHost.get(HOST)!
  const dns = await startDnsServer(t, { [HOST]: { A: ['127.0.0.1'] } })
  // As in serve: the manager's plan, and check.expiry_warning_days at its default of 14.
  const ctx = checkContext(dns.address, { tenant: served, httpsPort: h.addresses.https.port, ca: h.caPem, managedCertificates: true, renewalPlan: host => h.service.certificates.renewal(host) })
  const [fresh] = await policyCheck.run(ctx)
  const cert = await servedCertificate(h)
  t.match(fresh, { status: 'pass', details: { certRenewAt: cert.renewAt.toISOString() } }, 'a fresh certificate expiring in 7 days does not warn')
  t.ok(cert.renewAt.getTime() <= cert.notAfter.getTime() - 7 * DAY / 3, 'the manager renews with a third of the lifetime left')

  const late = { ...ctx, now: () => new Date(cert.renewAt.getTime() + 60_000) }
  const [due] = await policyCheck.run(late)
  t.match(due, {
    status: 'warn',
    reason: new RegExp(`^the certificate of ${HOST.replace(/\./g, '\\.')} was due for renewal at ${cert.renewAt.toISOString()} and is still served; it expires in 2 day\\(s\\) \\(`),
    hint: /GET \/certificates on the ops listener/,
    details: { certRenewAt: cert.renewAt.toISOString() },
  }, 'past its renewal point and still served: a warning')
  t.notMatch(due?.reason, /last attempt/)
  const [failing] = await policyCheck.run({ ...late, renewalPlan: () => ({ ...cert, lastError: 'CA unreachable' }) })
  t.match(failing, { status: 'warn', reason: /; last attempt: CA unreachable$/ }, 'the manager\'s last error is named')

  const earlier = new Date(cert.notBefore.getTime() + DAY)
  const [ari] = await policyCheck.run({ ...ctx, renewalPlan: () => ({ fingerprint: cert.fingerprint, renewAt: earlier }), now: () => new Date(earlier.getTime() + 1000) })
  t.match(ari, { status: 'warn', details: { certRenewAt: earlier.toISOString() } }, 'the manager\'s own point counts (e.g. moved earlier by the CA\'s ARI window)')
  const [other] = await policyCheck.run({ ...ctx, renewalPlan: () => ({ fingerprint: 'AA:BB', renewAt: earlier }), now: () => new Date(earlier.getTime() + 1000) })
  t.equal(other?.status, 'pass', 'a plan for another certificate than the one presented is ignored')
})

t.test('managed certificates without the manager (the CLI): the renewal point is computed from the certificate', async t => {
  const h = await startService(t, TENANTS)
  const served = h.service.holder.snapshot.byHost.get(HOST)!
  const dns = await startDnsServer(t, { [HOST]: { A: ['127.0.0.1'] } })
  const ctx = checkContext(dns.address, { tenant: served, httpsPort: h.addresses.https.port, ca: h.caPem, managedCertificates: true })
  const [fresh] = await policyCheck.run(ctx)
  const cert = await servedCertificate(h)
  const point = cert.notAfter.getTime() - (cert.notAfter.getTime() - cert.notBefore.getTime()) / 3
  t.match(fresh, { status: 'pass', details: { certRenewAt: new Date(point).toISOString() } })
  const [before] = await policyCheck.run({ ...ctx, now: () => new Date(point - 60_000) })
  t.equal(before?.status, 'pass', 'just before a third of the lifetime is left')
  const [after] = await policyCheck.run({ ...ctx, now: () => new Date(point + 60_000) })
  t.match(after, { status: 'warn', reason: /was due for renewal at .* and is still served; it expires in 2 day\(s\)/ })
})

t.test('certificates this service does not renew (issuer files) warn within 7 days of expiry', async t => {
  const longer = await InternalCa.open({ store: new MemoryStore(), clock: systemClock, leafLifetime: 30 * 86400 })
  const port = await httpsServer(t, servePolicy(), { issuer: longer })
  const ctx = await contextFor(t, port, { ca: longer.caPem, managedCertificates: false, expiryWarningDays: 14 })
  const [now] = await policyCheck.run(ctx)
  t.match(now, { status: 'pass' }, '30 days left')
  t.notOk(now?.details && 'certRenewAt' in now.details, 'no renewal point: the operator renews')
  const notAfter = Date.parse(now?.details?.certExpires as string)
  const [eight] = await policyCheck.run({ ...ctx, now: () => new Date(notAfter - 8 * DAY) })
  t.equal(eight?.status, 'pass', '8 days left: no warning (whatever check.expiry_warning_days says)')
  const [six] = await policyCheck.run({ ...ctx, now: () => new Date(notAfter - 6 * DAY) })
  t.match(six, {
    status: 'warn',
    reason: `the certificate of ${HOST} is not renewed by this service and it expires in 6 day(s) (${new Date(notAfter).toISOString()})`,
    hint: `install a renewed certificate for ${HOST} (issuer files: the operator renews the files)`,
  })
  const [seven] = await policyCheck.run({ ...ctx, now: () => new Date(notAfter - 7 * DAY) })
  t.equal(seven?.status, 'warn', 'exactly 7 days left is within 7 days')
})

t.test('drift: the service serves another policy than the one checked against', async t => {
  const h = await startService(t, TENANTS.replace('mode: enforce', 'mode: testing').replace('max_age: 604800', 'max_age: 86400'))
  const dns = await startDnsServer(t, { [HOST]: { A: ['127.0.0.1'] } })
  const expected = tenantEntry({ mx: ['mx1.example.com', '*.mx.example.net', 'mx2.example.com'] })
  const [r] = await policyCheck.run(checkContext(dns.address, { tenant: expected, httpsPort: h.addresses.https.port, ca: h.caPem }))
  t.match(r, { status: 'fail', reason: `the policy host serves a different policy than this service (is ${HOST} pointed elsewhere?)`, hint: /^point mta-sts.example.com at this service/ })
  t.same(r?.details?.differences, [
    'mode testing (served here: enforce)',
    'mx mx1.example.com,*.mx.example.net (served here: mx1.example.com,*.mx.example.net,mx2.example.com)',
    'max_age 86400 (served here: 604800)',
  ])
})

t.test('same fields, different bytes (LF line endings) is still drift', async t => {
  const port = await httpsServer(t, servePolicy(tenant.policy.replace(/\r\n/g, '\n')))
  const [r] = await policyCheck.run(await contextFor(t, port))
  t.match(r, { status: 'fail', reason: /serves a different policy/, details: { differences: [], notes: [/LF line endings/] } })
})

t.test('redirects are not followed', async t => {
  const port = await httpsServer(t, (_req, res) => { res.writeHead(301, { location: 'https://example.com/mta-sts.txt' }).end() })
  const [r] = await policyCheck.run(await contextFor(t, port))
  t.match(r, { status: 'fail', reason: /redirects \(301\) to https:\/\/example.com\/mta-sts.txt: senders do not follow redirects/, details: { status: 301 } })
  const bare = await httpsServer(t, (_req, res) => { res.writeHead(302).end() })
  const [r2] = await policyCheck.run(await contextFor(t, bare))
  t.match(r2, { status: 'fail', reason: /redirects \(302\) to \(no Location\)/ })
})

t.test('status other than 200 fails', async t => {
  const port = await httpsServer(t, (_req, res) => { res.writeHead(404, { 'content-type': 'text/plain' }).end('not found') })
  const [r] = await policyCheck.run(await contextFor(t, port))
  t.match(r, { status: 'fail', reason: /answers 404, not 200/ })
})

t.test('Content-Type must be text/plain', async t => {
  const html = await httpsServer(t, servePolicy(tenant.body, 'text/html'))
  const [r] = await policyCheck.run(await contextFor(t, html))
  t.match(r, { status: 'fail', reason: /served with Content-Type text\/html: Postfix's resolver and go-mtasts require text\/plain/, details: { contentType: 'text/html' } })
  const none = await httpsServer(t, servePolicy(tenant.body, null))
  const [r2] = await policyCheck.run(await contextFor(t, none))
  t.match(r2, { status: 'fail', reason: /served with no Content-Type/ })
  const upper = await httpsServer(t, servePolicy(tenant.body, 'Text/Plain'))
  const [r3] = await policyCheck.run(await contextFor(t, upper))
  t.equal(r3?.status, 'pass', 'media type compared case-insensitively')
})

t.test('bodies past 64 KiB are refused, with or without Content-Length', async t => {
  const big = Buffer.alloc(70 * 1024, 'a')
  const declared = await httpsServer(t, servePolicy(big))
  const [r] = await policyCheck.run(await contextFor(t, declared))
  t.match(r, { status: 'fail', reason: /larger than 64 KiB/, details: { error: 'ETOOLARGE' } })
  const chunked = await httpsServer(t, (_req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain' })
    res.write(big.subarray(0, 40 * 1024))
    setTimeout(() => res.end(big.subarray(40 * 1024)), 20)
  })
  const [r2] = await policyCheck.run(await contextFor(t, chunked))
  t.match(r2, { status: 'fail', reason: /larger than 64 KiB/ })
  t.equal(MAX_POLICY_BYTES, 65536)
})

t.test('a stalled server times out', async t => {
  const port = await httpsServer(t, () => { /* never answers */ })
  const started = Date.now()
  const [r] = await policyCheck.run(await contextFor(t, port, { timeoutMs: 300 }))
  t.match(r, { status: 'fail', reason: /gave no complete answer within 300 ms/, hint: /Postfix: 4 s/, details: { error: 'ETIMEDOUT' } })
  t.ok(Date.now() - started < 2000, 'bounded')
})

t.test('certificate problems fail', async t => {
  const wrongName = await httpsServer(t, servePolicy(), { certName: 'mta-sts.other.example' })
  const [r] = await policyCheck.run(await contextFor(t, wrongName))
  t.match(r, { status: 'fail', reason: /certificate of mta-sts.example.com is not valid for senders \(ERR_TLS_CERT_ALTNAME_INVALID\)/, hint: /public CA/ })
  const untrusted = await httpsServer(t, servePolicy(), { issuer: otherCa })
  const [r2] = await policyCheck.run(await contextFor(t, untrusted))
  t.match(r2, { status: 'fail', reason: /is not valid for senders/ })
  const [r3] = await policyCheck.run(await contextFor(t, wrongName, { ca: undefined }))
  t.match(r3, { status: 'fail', reason: /is not valid for senders/, details: { error: /CERT|ISSUER|SIGNATURE/ } }, 'internal CA not trusted without ctx.ca')
})

t.test('an invalid policy fails with the first error', async t => {
  const port = await httpsServer(t, servePolicy('version: STSv1\r\nmode: enforce\r\n\r\nmax_age: 1\r\n'))
  const [r] = await policyCheck.run(await contextFor(t, port))
  t.match(r, { status: 'fail', reason: /^the policy is invalid: it line 3 is blank \(and 1 more\)$/, details: { errors: ['line 3 is blank', /has no mx/] } })
  const one = await httpsServer(t, servePolicy('version: STSv1\r\nmode: enforce\r\nmx: a.example\r\n'))
  const [r2] = await policyCheck.run(await contextFor(t, one))
  t.match(r2, { reason: /^the policy is invalid: it has no max_age$/ })
})

t.test('name resolution: missing, failing, IPv6 only, refused connections', async t => {
  const dns = await startDnsServer(t, { 'mta-sts.example.org': { TXT: [['x']] }, 'mta-sts.example.net': { silent: true } })
  const [missing] = await policyCheck.run(checkContext(dns.address, { tenant }))
  t.match(missing, { status: 'fail', reason: 'mta-sts.example.com does not resolve (no A/AAAA record)', hint: /^point mta-sts.example.com at this service/ })
  const [nodata] = await policyCheck.run(checkContext(dns.address, { tenant: tenantEntry({ domain: 'example.org' }) }))
  t.match(nodata, { status: 'fail', reason: /does not resolve/ })
  const [slow] = await policyCheck.run(checkContext(dns.address, { tenant: tenantEntry({ domain: 'example.net' }), timeoutMs: 200 }))
  t.match(slow, { status: 'fail', reason: 'DNS lookup of mta-sts.example.net failed (ETIMEOUT)' })

  const v6 = await httpsServer(t, servePolicy(), { host: '::1' })
  dns.zone[HOST] = { AAAA: ['::1'] }
  const [r] = await policyCheck.run(checkContext(dns.address, { tenant, httpsPort: v6, ca: ca.caPem }))
  t.match(r, { status: 'pass', details: { address: '::1' } })

  dns.zone[HOST] = { A: ['127.0.0.1'] }
  const refusedPort = await freePort()
  const [refused] = await policyCheck.run(checkContext(dns.address, { tenant, httpsPort: refusedPort, ca: ca.caPem }))
  t.match(refused, { status: 'fail', reason: `cannot fetch the policy from 127.0.0.1:${refusedPort} (ECONNREFUSED)`, hint: /let port \d+ through/ })
})
