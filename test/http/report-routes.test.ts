import { randomBytes } from 'node:crypto'
import { once } from 'node:events'
import { readdirSync } from 'node:fs'
import { connect as tlsConnect } from 'node:tls'
import { gzipSync } from 'node:zlib'
import t from 'tap'
import { corpusFile, makeReport } from '../helpers/report-store-contract.js'
import { startService, type Harness } from '../helpers/service-harness.js'

const TENANTS = 'tenants:\n  example.com:\n    mx: [mx.example.com]\n  example.org:\n    mx: [mx.example.org]\n'
const HOST = 'mta-sts.example.com'

async function post (h: Harness, body: Buffer, headers: Record<string, string> = { 'content-type': 'application/tlsrpt+gzip' }, host = HOST, path = '/tlsrpt'): Promise<{ status: number, text: string, headers: Record<string, unknown> }> {
  // SNI of a tenant (a handshake for any other name fails), Host as given.
  const res = await h.fetch(HOST, { method: 'POST', path, body, headers, hostHeader: host })
  return { status: res.status, text: res.body.toString('utf8'), headers: res.headers }
}

/** Every `.json` report of the corpus, with the sessions its JSON states. */
const CORPUS_JSON = readdirSync(new URL('../fixtures/tlsrpt-corpus/real/', import.meta.url)).filter(f => f.endsWith('.json'))

t.test('every JSON report of the corpus, gzipped over real HTTPS: 201, stored once with the sessions its JSON states; a resend: 200', async t => {
  const h = await startService(t, TENANTS)
  const store = h.service.reports
  if (store === undefined) throw new Error('reports are on by default')
  type Json = { 'organization-name': string, 'report-id': string, 'date-range': Record<string, string>, policies: { summary: Record<string, number | undefined>, 'failure-details'?: { 'failed-session-count': number }[] }[] }
  const seen = new Set<string>()
  let successful = 0
  let failed = 0
  for (const name of CORPUS_JSON) {
    const bytes = corpusFile(name)
    const json = JSON.parse(bytes.toString('utf8').replace(/^\uFEFF/, '')) as Json
    // The corpus holds the same report twice in places (the RFC example with mx-host as string and as array).
    const key = [json['organization-name'], json['report-id'], json['date-range']['start-datetime'], json['date-range']['end-datetime']].join('|')
    const res = await post(h, gzipSync(bytes))
    t.equal(res.status, seen.has(key) ? 200 : 201, `${name}: ${res.text.trim()}`)
    if (!seen.has(key)) {
      for (const p of json.policies) {
        successful += p.summary['total-successful-session-count'] ?? 0
        failed += p.summary['total-failure-session-count'] ?? (p['failure-details'] ?? []).reduce((n, f) => n + f['failed-session-count'], 0)
      }
    }
    seen.add(key)
    t.equal((await post(h, gzipSync(bytes))).status, 200, `${name}: the same bytes again`)
  }
  const days = await store.summarize({ days: 40000, until: '2100-01-01' })
  t.equal(days.reduce((n, d) => n + d.successfulSessions, 0), successful, `successful sessions of the ${seen.size} distinct reports`)
  t.equal(days.reduce((n, d) => n + d.failedSessions, 0), failed, 'failed sessions')
  t.ok(successful > 5000 && failed > 300, `${successful} successful, ${failed} failed`)
  const counts = await store.counts()
  t.equal(counts.reports, seen.size)
  t.equal(counts.raw.parsed, seen.size)
  const metrics = await h.service.metrics.registry.getSingleMetricAsString('mta_sts_tls_reports_total')
  t.match(metrics, `mta_sts_tls_reports_total{transport="https",outcome="stored"} ${seen.size}`)
  t.match(metrics, `mta_sts_tls_reports_total{transport="https",outcome="duplicate"} ${2 * CORPUS_JSON.length - seen.size}`)
  const sessions = await h.service.metrics.registry.getSingleMetricAsString('mta_sts_tls_report_sessions_total')
  t.match(sessions, 'mta_sts_tls_report_sessions_total{tenant="example.com",result="certificate-host-mismatch"} 1', 'a tenant by name')
  t.match(sessions, /mta_sts_tls_report_sessions_total\{tenant="",result="success"\} \d+/, 'domains that are not tenants are counted under ""')
})

t.test('the body is sniffed, not trusted from its label: JSON labelled gzip, gzip labelled JSON, no label, a BOM', async t => {
  const h = await startService(t, TENANTS)
  const cases: [Buffer, Record<string, string>][] = [
    [makeReport({ org: 'A' }), { 'content-type': 'application/tlsrpt+gzip' }],
    [gzipSync(makeReport({ org: 'B' })), { 'content-type': 'application/tlsrpt+json' }],
    [makeReport({ org: 'C' }), {}],
    [Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), makeReport({ org: 'D' })]), { 'content-type': 'application/octet-stream' }],
  ]
  for (const [body, headers] of cases) t.equal((await post(h, body, headers)).status, 201)
  const days = await h.service.reports?.summarize({ domains: ['example.com'], days: 30, until: '2026-11-30' })
  t.same(days?.[0]?.organizations, ['A', 'B', 'C', 'D'])
})

t.test('refusals: unknown host 404, empty 400, not a report 415, too large as sent or inflated 413, and none of them stored', async t => {
  const h = await startService(t, `reports:\n  max_body_bytes: 65536\n  max_report_bytes: 1048576\n  max_ratio: 100\n${TENANTS}`)
  t.equal((await post(h, makeReport({}), {}, 'mta-sts.unknown.example')).status, 404, 'a Host that is no tenant')
  t.equal((await post(h, makeReport({}), {}, 'MTA-STS.Example.ORG.')).status, 201, 'any tenant host, in any spelling; the report says which domain it is about')
  t.equal((await post(h, Buffer.alloc(0), {})).status, 400)
  const html = await post(h, Buffer.from('<html>hello</html>'), { 'content-type': 'application/tlsrpt+json' })
  t.same([html.status, html.text], [415, 'not a TLS report: expected gzip or a JSON object\n'])
  const big = await post(h, Buffer.concat([Buffer.from('{'), Buffer.alloc(70_000, 0x20)]))
  t.same([big.status, big.text], [413, 'report too large: over 65536 bytes as sent\n'])
  const bomb = gzipSync(Buffer.alloc(8 * 1024 * 1024, 0x20), { level: 9 })
  const refused = await post(h, bomb)
  t.equal(refused.status, 413, `a ${bomb.length}-byte gzip of 8 MiB`)
  t.match(refused.text, `report too large: inflates past ${Math.min(1048576, bomb.length * 100)} bytes (limits: 1048576 bytes, 100 times the ${bomb.length} bytes sent)`)
  // 1.2 MB that gzips to about 20 KB: a random 15 KB block (30 KB of hex, inside gzip's window) repeated.
  const block = randomBytes(15_000).toString('hex')
  const abs = gzipSync(Buffer.from(`{"pad":"${block.repeat(40)}"}`))
  t.ok(abs.length < 65536 && abs.length * 100 > 1048576, `${abs.length} bytes sent`)
  t.match((await post(h, abs)).text, 'inflates past 1048576 bytes', 'the absolute limit applies to a large body')
  const ratio = gzipSync(Buffer.concat([Buffer.from('{"organization-name":"x",'), Buffer.alloc(200_000, 0x20), Buffer.from('}')]))
  t.match((await post(h, ratio)).text, new RegExp(`inflates past ${ratio.length * 100} bytes`), 'the ratio limit applies first to a small body')
  t.equal((await post(h, makeReport({}), {}, HOST, '/other')).status, 404, 'only the configured path')
  t.equal((await h.fetch(HOST, { method: 'GET', path: '/tlsrpt' })).status, 404, 'GET is not an upload')
  t.same(await h.service.reports?.counts(), { raw: { parsed: 1 }, reports: 1 }, 'only the good one')
  const metrics = await h.service.metrics.registry.getSingleMetricAsString('mta_sts_tls_reports_total')
  t.match(metrics, 'mta_sts_tls_reports_total{transport="https",outcome="rejected"} 6')
})

t.test('a broken gzip body is kept and flagged, and visible', async t => {
  const h = await startService(t, TENANTS)
  const truncated = gzipSync(makeReport({ org: 'Cut' })).subarray(0, 60)
  const res = await post(h, truncated)
  t.equal(res.status, 400)
  t.match(res.text, /^kept, but not a valid TLS report: .*gzip/i)
  const problems = await h.service.reports?.problems(5)
  t.same(problems?.map(p => [p.status, p.transport, p.source, p.size]), [['invalid', 'https', '127.0.0.1', 60]])
})

t.test('each client address is rate limited (429 with Retry-After); policy fetches are not', async t => {
  const h = await startService(t, `reports:\n  rate_limit: {max: 3, window: 60}\n${TENANTS}`)
  const statuses: number[] = []
  for (let i = 0; i < 5; i++) statuses.push((await post(h, makeReport({ org: `R${i}` }))).status)
  t.same(statuses, [201, 201, 201, 429, 429])
  const limited = await post(h, makeReport({ org: 'R9' }))
  t.ok(Number(limited.headers['retry-after']) > 0, 'retry-after is set')
  t.equal((await h.fetch(HOST)).status, 200, 'policy still served to the same address')
})

t.test('the store cannot take the report: 503 with Retry-After, so senders retry', async t => {
  const h = await startService(t, TENANTS)
  await h.service.reports?.close()
  const res = await post(h, makeReport({}))
  t.same([res.status, res.headers['retry-after']], [503, '300'])
  t.ok(h.logs.some(l => l.event === 'tls_report_store_failed'))
})

t.test('reports.enabled false: no route, no database', async t => {
  const h = await startService(t, `reports: {enabled: false}\n${TENANTS}`)
  t.equal(h.service.reports, undefined)
  t.equal((await post(h, makeReport({}))).status, 404)
})

t.test('uploads are paced service-wide (reports.ingest_rate): past 30 s of waiting uploads, 503 with Retry-After; waiting ones get 503 at shutdown', async t => {
  const h = await startService(t, `reports:\n  ingest_rate: 1\n  rate_limit: {max: 1000}\n${TENANTS}`)
  const answers = await Promise.all(Array.from({ length: 45 }, async (_, i) => {
    const res = await Promise.race([
      post(h, makeReport({ org: `P${i}` })),
      new Promise<undefined>(resolve => setTimeout(() => { resolve(undefined) }, 1500)),
    ])
    return res
  }))
  const busy = answers.filter(a => a?.status === 503)
  t.ok(busy.length >= 10, `${busy.length} of 45 refused at once: at most 30 wait`)
  t.same(busy.map(a => [a?.headers['retry-after'], a?.text]).slice(0, 1), [['30', 'too many reports waiting; retry later\n']])
  t.ok(answers.filter(a => a?.status === 201).length <= 3, 'about one a second went ahead')
  t.ok(answers.filter(a => a === undefined).length >= 25, 'the others are waiting')
  t.equal((await h.fetch(HOST)).status, 200, 'policies are served meanwhile')
})

/** One raw HTTP/1.x exchange over TLS (SNI of the tenant), for requests a client library will not send. */
async function raw (h: Harness, request: string, opts: { abortAfterWrite?: boolean } = {}): Promise<string> {
  const socket = tlsConnect({ host: '127.0.0.1', port: h.addresses.https.port, servername: HOST, ca: h.caPem })
  await once(socket, 'secureConnect')
  const chunks: Buffer[] = []
  socket.on('data', (c: Buffer) => chunks.push(c))
  socket.write(request)
  if (opts.abortAfterWrite === true) {
    await new Promise(resolve => setTimeout(resolve, 100))
    socket.destroy()
    return ''
  }
  await once(socket, 'close')
  return Buffer.concat(chunks).toString('latin1')
}

t.test('requests a sender library would not send: no Host, a Content-Length over the limit, a body cut short', async t => {
  const h = await startService(t, `reports:\n  max_body_bytes: 65536\n${TENANTS}`)
  t.match(await raw(h, 'POST /tlsrpt HTTP/1.0\r\nContent-Length: 2\r\n\r\n{}'), /^HTTP\/1\.1 404 /, 'HTTP/1.0 without Host: no tenant')
  const chunked = `POST /tlsrpt HTTP/1.1\r\nHost: ${HOST}\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n` +
    Array.from({ length: 20 }, () => `1000\r\n${'{'.repeat(4096)}\r\n`).join('') + '0\r\n\r\n'
  t.match(await raw(h, chunked), /^HTTP\/1\.1 413 [^]*report too large: over 65536 bytes as sent\n$/, 'chunked, counted as it arrives')
  await raw(h, `POST /tlsrpt HTTP/1.1\r\nHost: ${HOST}\r\nContent-Length: 5000\r\n\r\n{"organization-name"`, { abortAfterWrite: true })
  t.equal((await post(h, makeReport({ org: 'After' }))).status, 201, 'the service carries on')
  t.same(await h.service.reports?.counts(), { raw: { parsed: 1 }, reports: 1 }, 'nothing kept of the cut upload')
})
