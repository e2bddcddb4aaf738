import { connect } from 'node:net'
import { connect as connectTls } from 'node:tls'
import { systemClock } from '../../src/clock.js'
import { MemoryStore } from '../../src/store/memory-store.js'
import { InternalCa } from '../../src/tls/internal-ca.js'
import { PassThrough } from 'node:stream'
import t, { type Test } from 'tap'
import { parseConfig } from '../../src/config/load-config.js'
import { buildApp } from '../../src/http/build-app.js'
import { POLICY_HEADERS } from '../../src/http/policy-headers.js'
import { MAX_HEADER_SETS, POLICY_PATH } from '../../src/http/policy-routes.js'
import { createLogger } from '../../src/log.js'
import { createMetrics } from '../../src/metrics.js'
import { buildSnapshot } from '../../src/tenants/tenant-snapshot.js'
import { httpsApp } from '../helpers/https-app.js'

const YAML = 'tenants:\n  example.com:\n    mode: enforce\n    mx: [mx1.example.com]\n  example.org:\n    mx: [mail.example.org]\n'

/** An https-role app (plain HTTP here) with its log lines, statistics and a count of the requests Fastify's hooks saw. */
async function setup (t: Test, trustProxy?: boolean, tls?: { cert: string, key: string }) {
  const result = parseConfig(YAML, '/etc/mta-sts/config.yaml')
  if (!result.ok) throw new Error('bad fixture')
  const snapshot = buildSnapshot(result.config)
  const lines: Record<string, unknown>[] = []
  const stream = new PassThrough()
  stream.on('data', (c: Buffer) => { for (const l of c.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(l) as Record<string, unknown>) })
  const recorded: string[] = []
  const metrics = createMetrics(() => undefined)
  const logger = createLogger('info', stream)
  const app = await buildApp({ role: 'https', ...(trustProxy === undefined ? {} : { trustProxy }), ...(tls === undefined ? {} : { tls }) }, {
    logger,
    metrics,
    tenants: () => snapshot,
    readiness: () => ({ ready: true, reasons: [], details: {} }),
    certificates: () => [],
    stats: { record: (policy, ip, userAgent) => { recorded.push(`${policy.domain} ${ip} ${userAgent ?? '-'}`) } },
  })
  let seenByFastify = 0
  // onResponse: it also runs for answers an earlier onRequest hook (strict-host) gave.
  app.addHook('onResponse', (_request, _reply, done) => { seenByFastify++; done() })
  await app.listen({ host: '127.0.0.1', port: 0 })
  t.teardown(() => app.close())
  const port = (app.server.address() as { port: number }).port
  /** Send `head` (request line and headers, CRLF-joined) and read the whole answer (the connection closes). */
  const raw = (head: string[], body = ''): Promise<string> => new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port }, () => { socket.end([...head, 'connection: close', '', body].join('\r\n')) })
    const chunks: Buffer[] = []
    socket.on('data', c => chunks.push(c))
    socket.on('end', () => { resolve(Buffer.concat(chunks).toString('latin1')) })
    socket.on('error', reject)
  })
  const flush = (): Promise<void> => new Promise(resolve => { logger.flush(() => { setImmediate(resolve) }) })
  return { app, lines, recorded, metrics, snapshot, raw, flush, seen: () => seenByFastify }
}

/** Status line, headers (without date and connection) and body of a raw HTTP/1.1 answer. */
function parse (answer: string) {
  const [head = '', body = ''] = answer.split('\r\n\r\n')
  const [status, ...headers] = head.split('\r\n')
  const lowerName = (h: string): string => { const colon = h.indexOf(':'); return h.slice(0, colon).toLowerCase() + h.slice(colon) }
  return { status, headers: headers.filter(h => !/^(date|connection|keep-alive):/i.test(h)).map(lowerName).sort(), body }
}

t.test('what senders send is answered before Fastify, with the bytes, line, counter and statistics of the route', async t => {
  const s = await setup(t)
  const get = ['GET /.well-known/mta-sts.txt HTTP/1.1', 'host: mta-sts.example.com', 'user-agent: Postfix']
  const fast = parse(await s.raw(get))
  const head = parse(await s.raw(['HEAD /.well-known/mta-sts.txt HTTP/1.1', 'host: mta-sts.example.com', 'user-agent: Postfix']))
  t.equal(s.seen(), 0, 'Fastify saw neither request')
  // The route, through Fastify (inject never reaches the server's request event).
  const viaRoute = await s.app.inject({ url: POLICY_PATH, headers: { host: 'mta-sts.example.com', 'user-agent': 'Postfix' } })
  await new Promise(resolve => setImmediate(resolve))
  t.equal(s.seen(), 1)
  t.equal(fast.status, 'HTTP/1.1 200 OK')
  t.equal(fast.body, viaRoute.body)
  t.equal(fast.body, s.snapshot.byHost.get('mta-sts.example.com')?.body.toString())
  const routeHeaders = Object.entries(viaRoute.headers).filter(([k]) => !['date', 'connection', 'keep-alive'].includes(k)).map(([k, v]) => `${k}: ${String(v)}`).sort()
  t.same(fast.headers, routeHeaders, 'the same headers as the route')
  t.same(head.headers, routeHeaders, 'HEAD: the same headers')
  t.equal(head.body, '', 'HEAD: no body')
  await s.flush()
  const fetches = s.lines.filter(l => l.event === 'policy_fetch')
  t.equal(fetches.length, 3)
  const id = s.snapshot.byHost.get('mta-sts.example.com')?.id
  for (const [i, method, client] of [[0, 'GET', '127.0.0.1'], [1, 'HEAD', '127.0.0.1'], [2, 'GET', '127.0.0.1']] as const) {
    t.match(fetches[i], { tenant: 'example.com', host: 'mta-sts.example.com', policy_id: id, mode: 'enforce', method, status: 200, client, user_agent: 'Postfix', tls: null, duration_ms: Number })
  }
  t.same(s.recorded, ['example.com 127.0.0.1 Postfix', 'example.com 127.0.0.1 Postfix', 'example.com 127.0.0.1 Postfix'])
  t.match(await s.metrics.registry.metrics(), 'mta_sts_policy_fetches_total{tenant="example.com",status="200"} 3')
})

t.test('over TLS, plain fetches are answered on their connection: the bytes, line, counter and statistics of the route', async t => {
  const ca = await InternalCa.open({ store: new MemoryStore(), clock: systemClock, leafLifetime: 86400 })
  const issued = await ca.issue(['mta-sts.example.com'])
  const s = await setup(t, undefined, { cert: issued.certPem, key: issued.keyPem })
  const port = (s.app.server.address() as { port: number }).port
  let byNode = 0
  s.app.server.on('request', () => { byNode++ })
  const socket = connectTls({ host: '127.0.0.1', port, servername: 'mta-sts.example.com', ca: ca.caPem })
  t.teardown(() => socket.destroy())
  let text = ''
  socket.on('data', (c: Buffer) => { text += c.toString('latin1') })
  const until = async (what: () => boolean): Promise<void> => {
    for (let i = 0; i < 500 && !what(); i++) await new Promise(resolve => setTimeout(resolve, 10))
  }
  const get = 'GET /.well-known/mta-sts.txt HTTP/1.1\r\nhost: mta-sts.example.com\r\nuser-agent: Postfix\r\n\r\n'
  const body = s.snapshot.byHost.get('mta-sts.example.com')?.body.toString('latin1') ?? ''
  socket.write(get)
  await until(() => text.endsWith(body))
  const onConnection = text
  t.equal(byNode, 0, 'not seen by Node\'s HTTP server')
  // The same connection, handed to Node by a request this path does not take; then the request-level path answers.
  text = ''
  socket.write('GET /elsewhere HTTP/1.1\r\nhost: mta-sts.example.com\r\n\r\n' + get)
  await until(() => text.endsWith(body))
  t.equal(byNode, 2)
  const viaNode = text.slice(text.indexOf('HTTP/1.1 200 OK'))
  const noDate = (answer: string): string => answer.replace(/\r\nDate: [^\r]+\r\n/, '\r\n')
  t.equal(noDate(onConnection), noDate(viaNode), 'the bytes Node writes, but for the date')
  t.match(onConnection, /^HTTP\/1\.1 200 OK\r\n/)
  t.equal(s.seen(), 1, 'Fastify saw only the other request')
  await s.flush()
  const fetches = s.lines.filter(l => l.event === 'policy_fetch')
  t.equal(fetches.length, 2)
  const id = s.snapshot.byHost.get('mta-sts.example.com')?.id
  for (const line of fetches) {
    t.match(line, { tenant: 'example.com', host: 'mta-sts.example.com', policy_id: id, mode: 'enforce', method: 'GET', status: 200, client: '127.0.0.1', user_agent: 'Postfix', tls: 'TLSv1.3', duration_ms: Number })
  }
  t.same(s.recorded, ['example.com 127.0.0.1 Postfix', 'example.com 127.0.0.1 Postfix'])
  t.match(await s.metrics.registry.metrics(), 'mta_sts_policy_fetches_total{tenant="example.com",status="200"} 2')
  // A connection answered here and now waiting for its next request is closed with the app, at once.
  const idle = connectTls({ host: '127.0.0.1', port, servername: 'mta-sts.example.com', ca: ca.caPem })
  t.teardown(() => idle.destroy())
  let idleText = ''
  idle.on('data', (c: Buffer) => { idleText += c.toString('latin1') })
  idle.write(get)
  await until(() => idleText.endsWith(body))
  socket.destroy()
  const closing = Date.now()
  await s.app.close()
  t.ok(Date.now() - closing < 500, `closed without waiting for the idle connection (${Date.now() - closing} ms)`)
})

t.test('anything else goes to Fastify, which answers as before', async t => {
  const s = await setup(t)
  // [request, status, what, who answers: Fastify, the fast path or Node itself]
  const cases: [string[], string, string, 'fastify' | 'fast' | 'node'][] = [
    [['GET /.well-known/mta-sts.txt?x=1 HTTP/1.1', 'host: mta-sts.example.org'], 'HTTP/1.1 200 OK', 'a query string', 'fastify'],
    [['POST /.well-known/mta-sts.txt HTTP/1.1', 'host: mta-sts.example.org', 'content-length: 0'], 'HTTP/1.1 405 Method Not Allowed', 'another method', 'fastify'],
    [['GET /.well-known/mta-sts.txt HTTP/1.1', 'host: mta-sts.unknown.example'], 'HTTP/1.1 404 Not Found', 'an unknown host', 'fastify'],
    [['GET /.well-known/mta-sts.txt HTTP/1.1'], 'HTTP/1.1 400 Bad Request', 'no Host (Node refuses it)', 'node'],
    [['GET /.well-known/mta-sts.txt HTTP/1.1', 'host: mta-sts.example.org', 'host: mta-sts.example.com'], 'HTTP/1.1 400 Bad Request', 'two Host headers', 'fastify'],
    [['GET https://mta-sts.example.com/.well-known/mta-sts.txt HTTP/1.1', 'host: mta-sts.example.org'], 'HTTP/1.1 400 Bad Request', 'an absolute URI naming another host', 'fastify'],
    [['GET /.well-known/mta-sts.txt HTTP/1.1', 'host: mta-sts.example.org', 'content-length: 3'], 'HTTP/1.1 200 OK', 'a body', 'fastify'],
    [['GET /.well-known/mta-sts.txt HTTP/1.1', 'host: MTA-STS.Example.ORG'], 'HTTP/1.1 200 OK', 'a host not in lower case (normalised as the route does)', 'fast'],
    [['GET /.well-known/MTA-STS.txt HTTP/1.1', 'host: mta-sts.example.org'], 'HTTP/1.1 404 Not Found', 'another path', 'fastify'],
  ]
  let expected = 0
  for (const [head, status, what, by] of cases) {
    const answer = parse(await s.raw(head, head.includes('content-length: 3') ? 'abc' : ''))
    t.equal(answer.status, status, what)
    if (by === 'fastify') expected++
    t.equal(s.seen(), expected, `${what}: answered by ${by}`)
  }
  await s.flush()
  t.same(s.lines.filter(l => l.event === 'policy_fetch').map(l => l.status), [200, 404, 400, 400, 200, 200], 'one line per fetch of the policy path, either way')
})

t.test('with trustProxy, every request goes through Fastify (it logs the forwarded address)', async t => {
  const s = await setup(t, true)
  const answer = parse(await s.raw(['GET /.well-known/mta-sts.txt HTTP/1.1', 'host: mta-sts.example.com', 'x-forwarded-for: 192.0.2.7']))
  t.equal(answer.status, 'HTTP/1.1 200 OK')
  t.equal(s.seen(), 1)
  await s.flush()
  t.match(s.lines.find(l => l.event === 'policy_fetch'), { client: '192.0.2.7' })
  t.same(s.recorded, ['example.com 192.0.2.7 -'])
})

t.test('a fetch answered while the app closes is told the connection closes, as Fastify tells its own', async t => {
  const s = await setup(t)
  const port = (s.app.server.address() as { port: number }).port
  const socket = connect({ host: '127.0.0.1', port })
  await new Promise(resolve => socket.once('connect', resolve))
  let answer = ''
  socket.on('data', (c: Buffer) => { answer += c.toString('latin1') })
  const ended = new Promise(resolve => socket.once('close', resolve))
  // Not idle (half a request), so closing does not cut it.
  socket.write('GET /.well-known/mta-sts.txt HTTP/1.1\r\nhost: mta-sts.example.com\r\n')
  await new Promise(resolve => setTimeout(resolve, 50))
  const closed = s.app.close()
  await new Promise(resolve => setImmediate(resolve))
  socket.write('\r\n')
  await ended
  await closed
  t.match(answer, /^HTTP\/1\.1 200 OK\r\n/)
  t.match(answer, /\r\nconnection: close\r\n/i)
  t.equal(s.seen(), 0, 'answered before Fastify')
})

t.test('more policy lengths than header sets kept: every 200 still has its length and the policy headers, and is counted per tenant', async t => {
  // A policy length per tenant: i / 50 mx names of one length, and one of 1 to 50 letters.
  const n = MAX_HEADER_SETS + 2
  const mx = (i: number): string[] => [
    ...Array.from({ length: Math.floor(i / 50) }, (_, j) => `x${String(j).padStart(2, '0')}${'a'.repeat(48)}.example.net`),
    `${'b'.repeat((i % 50) + 1)}.example.net`,
  ]
  const yaml = ['tenants:', ...Array.from({ length: n }, (_, i) => `  t${i}.example:\n    mx: [${mx(i).join(', ')}]`)].join('\n')
  const { app, snapshot, metrics } = await httpsApp(t, yaml)
  const lengths = new Set<number>()
  const wrong: string[] = []
  // The first tenant again after the kept sets started over.
  for (const i of [...Array.from({ length: n }, (_, i) => i), 0]) {
    const host = `mta-sts.t${i}.example`
    const res = await app.inject({ url: POLICY_PATH, headers: { host } })
    const body = snapshot.byHost.get(host)?.body
    lengths.add(res.rawPayload.length)
    const expected = { ...POLICY_HEADERS, 'content-length': String(body?.length) }
    if (res.statusCode !== 200 || !res.rawPayload.equals(body ?? Buffer.alloc(0)) || Object.entries(expected).some(([k, v]) => res.headers[k] !== v)) wrong.push(host)
  }
  t.same(wrong, [], 'every answer complete')
  t.equal(lengths.size, n, 'as many lengths as tenants')
  const text = await metrics.registry.metrics()
  t.match(text, 'mta_sts_policy_fetches_total{tenant="t0.example",status="200"} 2')
  t.match(text, `mta_sts_policy_fetches_total{tenant="t${n - 1}.example",status="200"} 1`)
})
