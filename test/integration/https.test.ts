import { X509Certificate } from 'node:crypto'
import t from 'tap'
import { startService, httpsFetch } from '../helpers/service-harness.js'

const TENANTS = `
defaults:
  max_age: 604800
tenants:
  example.com:
    mode: enforce
    mx: [mx1.example.com, "*.mx.example.net"]
  example.org:
    mx: [mail.example.org]
`

const EXAMPLE_COM = 'version: STSv1\r\nmode: enforce\r\nmx: mx1.example.com\r\nmx: *.mx.example.net\r\nmax_age: 604800\r\n'
const EXAMPLE_ORG = 'version: STSv1\r\nmode: testing\r\nmx: mail.example.org\r\nmax_age: 604800\r\n'

t.test('serves each tenant its byte-exact policy over verified TLS with SNI', async t => {
  const h = await startService(t, TENANTS)
  for (const [host, body] of [['mta-sts.example.com', EXAMPLE_COM], ['mta-sts.example.org', EXAMPLE_ORG]] as const) {
    const res = await h.fetch(host)
    t.equal(res.status, 200, `${host} status`)
    t.equal(res.headers['content-type'], 'text/plain; charset=utf-8')
    t.equal(res.body.toString('latin1'), body, `${host} body is byte-exact`)
    t.equal(res.headers['content-length'], String(Buffer.byteLength(body)))
    t.notOk(res.headers['content-encoding'], 'not compressed')
    t.notOk(res.headers.location, 'no redirect')
    // The chain verified against the internal CA (the request would have failed otherwise); check the SAN too.
    t.equal(res.peer?.subjectaltname, `DNS:${host}`, `${host} got its own certificate`)
    const leaf = new X509Certificate(res.peer!.raw)
    const ca = new X509Certificate(h.caPem)
    t.ok(leaf.checkIssued(ca) && leaf.verify(ca.publicKey), 'issued and signed by the internal CA')
  }
  const line = await h.waitForLog(l => l.event === 'policy_fetch' && l.tenant === 'example.org')
  t.match(line, { host: 'mta-sts.example.org', mode: 'testing', status: 200, client: '127.0.0.1', tls: /^TLSv1\.[23]$/ })
  t.match(line.policy_id, /^[0-9a-z]{32}$/)
  t.type(line.duration_ms, 'number')
})

t.test('TLS 1.2 and 1.3 are accepted, older versions refused', async t => {
  const h = await startService(t, TENANTS)
  t.equal((await h.fetch('mta-sts.example.com', { maxVersion: 'TLSv1.2' })).tlsVersion, 'TLSv1.2')
  t.equal((await h.fetch('mta-sts.example.com', { minVersion: 'TLSv1.3' })).tlsVersion, 'TLSv1.3')
  // The client is allowed to speak TLS 1.0/1.1 here, so a refusal is the server's doing.
  for (const version of ['TLSv1', 'TLSv1.1'] as const) {
    await t.rejects(h.fetch('mta-sts.example.com', { minVersion: version, maxVersion: version, ciphers: 'DEFAULT@SECLEVEL=0' }), { message: /alert protocol version/ }, `${version} refused by the server (its alert 70)`)
  }
})

t.test('handshakes for unknown or missing server names are refused', async t => {
  const h = await startService(t, TENANTS)
  await t.rejects(h.fetch('mta-sts.unknown.example'), 'unknown SNI')
  await t.rejects(h.fetch('mta-sts.example.com', { servername: false }), 'no SNI at all')
  await t.rejects(h.fetch('example.com'), 'tenant domain itself is not a policy host')
  // The refused handshakes do not disturb a real one.
  t.equal((await h.fetch('mta-sts.example.com')).status, 200)
})

t.test('SNI picks the certificate; Host header variants reach the tenant', async t => {
  const h = await startService(t, TENANTS)
  const port = h.addresses.https.port
  for (const hostHeader of ['MTA-STS.Example.COM', 'mta-sts.example.com.', `mta-sts.example.com:${port}`, `Mta-Sts.Example.Com.:${port}`]) {
    const res = await httpsFetch(port, 'mta-sts.example.com', { ca: h.caPem, hostHeader })
    t.equal(res.status, 200, `Host: ${hostHeader}`)
    t.equal(res.body.toString(), EXAMPLE_COM)
  }
  // SNI in upper case with a trailing dot still finds the tenant's certificate.
  const upper = await httpsFetch(port, 'mta-sts.example.com', { ca: h.caPem, servername: 'MTA-STS.EXAMPLE.COM' })
  t.equal(upper.status, 200)
})

t.test('404 for unknown hosts and paths, 405 for other methods, HEAD without body', async t => {
  const h = await startService(t, TENANTS)
  const port = h.addresses.https.port
  const head = await h.fetch('mta-sts.example.com', { method: 'HEAD' })
  t.equal(head.status, 200)
  t.equal(head.body.length, 0)
  t.equal(head.headers['content-length'], String(EXAMPLE_COM.length))
  for (const method of ['POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS']) {
    const res = await h.fetch('mta-sts.example.com', { method })
    t.equal(res.status, 405, method)
    t.equal(res.headers.allow, 'GET, HEAD')
  }
  for (const path of ['/', '/.well-known/mta-sts.txt/', '/.well-known/MTA-STS.txt', '/robots.txt', '/.well-known/mta-sts.txt.bak', '/healthz']) {
    const res = await h.fetch('mta-sts.example.com', { path })
    t.equal(res.status, 404, path)
  }
  // Right certificate, but a Host of another (unknown or known) name: never another tenant's policy by accident.
  for (const hostHeader of ['mta-sts.unknown.example', 'evil.example', '', 'mta-sts.example.com.evil', '[::1]', 'mta-sts.example.org']) {
    const res = await httpsFetch(port, 'mta-sts.example.com', { ca: h.caPem, hostHeader })
    if (hostHeader === 'mta-sts.example.org') {
      t.equal(res.body.toString(), EXAMPLE_ORG, 'Host decides the policy once TLS is up')
      continue
    }
    t.ok([400, 404].includes(res.status), `Host ${JSON.stringify(hostHeader)} -> ${res.status}`)
    t.notMatch(res.body.toString(), /example\.(com|org)|mx/, 'no tenant names leaked')
  }
  const unknownPost = await httpsFetch(port, 'mta-sts.example.com', { ca: h.caPem, hostHeader: 'mta-sts.nope.example', method: 'POST' })
  t.equal(unknownPost.status, 404, 'unknown host gets 404 even for POST')
  const gz = await h.fetch('mta-sts.example.com', { headers: { 'accept-encoding': 'gzip, br' } })
  t.notOk(gz.headers['content-encoding'], 'compression not applied even when offered')
  t.equal(gz.body.toString(), EXAMPLE_COM)
})

t.test('security headers do not disturb senders', async t => {
  const h = await startService(t, TENANTS)
  const res = await h.fetch('mta-sts.example.com')
  t.equal(res.headers['x-content-type-options'], 'nosniff')
  t.match(res.headers['strict-transport-security'], /max-age=/)
  t.match(res.headers['content-security-policy'], /default-src 'none'/)
  t.equal(res.headers['content-type'], 'text/plain; charset=utf-8', 'content type untouched')
})
