import { once } from 'node:events'
import { readFile, rm, writeFile } from 'node:fs/promises'
import { Agent as HttpAgent, get as httpGet } from 'node:http'
import { Agent as HttpsAgent } from 'node:https'
import { connect as netConnect, createServer, type AddressInfo, type Socket } from 'node:net'
import { connect as tlsConnect, type TLSSocket } from 'node:tls'
import { join } from 'node:path'
import t from 'tap'
import { runCli } from '../helpers/cli.js'
import { httpsFetch, preamble, tempDir } from '../helpers/service-harness.js'

const TENANTS = 'tenants:\n  example.com:\n    mx: [mx1.example.com]\n'

t.test('serve: a port in use or unusable storage is one clear line and exit 1', async t => {
  const dir = await tempDir(t)
  const blocker = createServer().listen(0, '127.0.0.1')
  await once(blocker, 'listening')
  t.teardown(() => blocker.close())
  const port = (blocker.address() as AddressInfo).port
  const busy = join(dir, 'busy.yaml')
  await writeFile(busy, preamble(dir).replace('https: { host: "127.0.0.1", port: 0 }', `https: { host: "127.0.0.1", port: ${port} }`) + TENANTS)
  const cli = runCli(t, ['serve', '--config', busy])
  t.equal((await cli.exit).code, 1)
  t.match(cli.stderr(), /not starting: .*EADDRINUSE/)
  t.notMatch(cli.stderr(), /\n\s+at /, 'no stack trace')
  t.ok(cli.lines.some(l => l.event === 'start_failed' && l.code === 'EADDRINUSE'))

  const file = join(dir, 'storage.yaml')
  await writeFile(join(dir, 'not-a-dir'), 'a file where the storage directory should be')
  await writeFile(file, preamble(dir).replace(JSON.stringify(join(dir, 'store')), JSON.stringify(join(dir, 'not-a-dir', 'store'))) + TENANTS)
  const storage = runCli(t, ['serve', '--config', file])
  t.equal((await storage.exit).code, 1)
  t.match(storage.stderr(), /not starting: .*(ENOTDIR|EEXIST)/)
})

t.test('serve: an ops listener on a non-loopback address without a token is one clear line and exit 1', async t => {
  const dir = await tempDir(t)
  const file = join(dir, 'config.yaml')
  await writeFile(file, preamble(dir).replace('ops: { host: "127.0.0.1", port: 0 }', 'ops: { host: "::", port: 0 }') + TENANTS)
  const cli = runCli(t, ['serve', '--config', file])
  t.equal((await cli.exit).code, 1)
  t.match(cli.stderr(), /config\.yaml:\d+:\d+: listen\.ops\.host :: is not a loopback address, and the ops listener has no token \(set listen\.ops\.token_file/)
  t.notOk(cli.lines.some(l => l.event === 'start'), 'nothing was served')
  const validate = runCli(t, ['validate', file])
  t.equal((await validate.exit).code, 1, 'validate finds it too')
  t.match(validate.stderr(), /listen\.ops\.host :: is not a loopback address/)
})

t.test('serve: start, SIGHUP reload, SIGTERM finishes requests in flight and exits 0', async t => {
  const dir = await tempDir(t)
  const file = join(dir, 'config.yaml')
  await writeFile(file, preamble(dir) + TENANTS)
  const cli = runCli(t, ['serve', '--config', file])
  const start = await cli.waitFor(l => l.event === 'start')
  // The report database opens in the background; shut down before it did, its failure to open is logged too.
  await cli.waitFor(l => l.event === 'report_database_open')
  const port = (start.https as { port: number }).port
  const ca = await readFile(join(dir, 'store', 'internal-ca', 'ca.crt'), 'utf8')
  t.match(cli.stderr(), /curl --cacert .*ca\.crt --resolve mta-sts\.example\.com:\d+:127\.0\.0\.1 https:\/\/mta-sts\.example\.com:\d+\/\.well-known\/mta-sts\.txt/, 'prints how to fetch a policy')
  const first = await httpsFetch(port, 'mta-sts.example.com', { ca })
  t.equal(first.status, 200)
  const body = first.body.toString()

  cli.child.kill('SIGHUP')
  const reload = await cli.waitFor(l => l.event === 'reload')
  t.equal(reload.reason, 'SIGHUP')

  // A request whose headers are half sent when SIGTERM arrives is in flight for certain: it must
  // still be answered once its last line arrives.
  const slow = tlsConnect({ host: '127.0.0.1', port, servername: 'mta-sts.example.com', ca })
  await once(slow, 'secureConnect')
  slow.write('GET /.well-known/mta-sts.txt HTTP/1.1\r\nHost: mta-sts.example.com\r\n')
  let slowResponse = ''
  slow.on('data', (c: Buffer) => { slowResponse += c.toString() })
  const slowEnded = once(slow, 'close')
  // A burst of requests; SIGTERM lands while they are in flight.
  const results = Array.from({ length: 40 }, () => httpsFetch(port, 'mta-sts.example.com', { ca }).then(r => r, (e: Error) => e))
  await Promise.race(results)
  const signalled = Date.now()
  cli.child.kill('SIGTERM')
  await cli.waitFor(l => l.event === 'shutdown')
  slow.write('Connection: close\r\n\r\n')
  await slowEnded
  t.match(slowResponse, /^HTTP\/1\.1 200 OK\r\n/, 'the half-sent request was answered after SIGTERM')
  t.ok(slowResponse.endsWith(body), 'with the whole policy')
  const { code, signal } = await cli.exit
  const tookMs = Date.now() - signalled
  t.equal(code, 0, 'exit status 0')
  t.equal(signal, null)
  t.ok(tookMs < 10_000, `exited ${tookMs} ms after SIGTERM (bound 10 s)`)
  let answered = 0
  for (const r of await Promise.all(results)) {
    if (r instanceof Error) {
      // Only connections the closed listener never accepted may fail; never a cut-off response.
      t.match((r as NodeJS.ErrnoException).code, /ECONNREFUSED|ECONNRESET|EPIPE/, `refused, not truncated: ${r.message}`)
    } else {
      answered++
      t.equal(r.status, 200)
      t.equal(r.body.toString(), body, 'complete body')
    }
  }
  t.ok(answered >= 1, `${answered} requests answered`)
  t.ok(cli.lines.some(l => l.event === 'shutdown' && l.signal === 'SIGTERM'))
  t.ok(cli.lines.some(l => l.event === 'stopped'))
  // The log is buffered: what was still in the buffer at SIGTERM reached the pipe before the exit.
  t.equal(cli.lines.filter(l => l.event === 'policy_fetch' && l.status === 200).length, answered + 2, 'a fetch line for every policy answered (the burst, the first and the half-sent one)')
  t.equal(cli.lines.at(-1)?.event, 'stopped', 'the last line')
  await t.rejects(httpsFetch(port, 'mta-sts.example.com', { ca }), 'listener closed')
})

t.test('serve: a fatal error still writes every buffered line, the fatal one last but one, and exits 1', async t => {
  const dir = await tempDir(t)
  const file = join(dir, 'config.yaml')
  await writeFile(file, preamble(dir) + TENANTS)
  // A preload that throws from a signal listener: an uncaught exception at a moment the test picks.
  // Only in the main thread: `--import` runs in worker threads too (the report database's).
  const fault = 'data:text/javascript,import{isMainThread}from"node:worker_threads";if(isMainThread)process.on("SIGUSR2",()=>{throw new Error("injected fault")})'
  const cli = runCli(t, ['serve', '--config', file], [`--import=${fault}`])
  const start = await cli.waitFor(l => l.event === 'start')
  // The report database opens in the background; shut down before it did, its failure to open is logged too.
  await cli.waitFor(l => l.event === 'report_database_open')
  const port = (start.https as { port: number }).port
  const ca = await readFile(join(dir, 'store', 'internal-ca', 'ca.crt'), 'utf8')
  for (let i = 0; i < 5; i++) t.equal((await httpsFetch(port, 'mta-sts.example.com', { ca })).status, 200)
  cli.child.kill('SIGUSR2')
  t.same(await cli.exit, { code: 1, signal: null }, 'exit status 1')
  t.equal(cli.lines.filter(l => l.event === 'policy_fetch' && l.status === 200).length, 5, 'every fetch logged')
  t.match(cli.lines.find(l => l.event === 'fatal'), { level: 'error', err: { message: 'injected fault' } })
  t.same(cli.lines.slice(-2).map(l => l.event), ['fatal', 'stopped'])
})

t.test('serve: SIGTERM exits 0 within 2 s despite idle, half-sent and silent connections', async t => {
  const dir = await tempDir(t)
  const file = join(dir, 'config.yaml')
  await writeFile(file, preamble(dir) + TENANTS)
  const cli = runCli(t, ['serve', '--config', file])
  // Start-up under the coverage loader can be slow on a busy machine; only the shutdown is timed.
  const start = await cli.waitFor(l => l.event === 'start', 60_000)
  const httpsPort = (start.https as { port: number }).port
  const httpPort = (start.http as { port: number }).port
  const ca = await readFile(join(dir, 'store', 'internal-ca', 'ca.crt'), 'utf8')
  const open: { destroy (): void }[] = []
  t.teardown(() => { for (const s of open) s.destroy() })
  const raw = async (port: number, bytes?: string | Buffer): Promise<Socket> => {
    const s = netConnect(port, '127.0.0.1')
    open.push(s)
    s.on('error', () => {})
    await once(s, 'connect')
    if (bytes !== undefined) s.write(bytes)
    return s
  }
  const tls = async (): Promise<TLSSocket> => {
    const s = tlsConnect({ host: '127.0.0.1', port: httpsPort, servername: 'mta-sts.example.com', ca })
    open.push(s)
    s.on('error', () => {})
    await once(s, 'secureConnect')
    return s
  }
  // Idle keep-alive connections, after one answered request each.
  const httpAgent = new HttpAgent({ keepAlive: true })
  const httpsAgent = new HttpsAgent({ keepAlive: true, ca })
  open.push(httpAgent, httpsAgent)
  t.equal((await httpsFetch(httpsPort, 'mta-sts.example.com', { ca, agent: httpsAgent })).status, 200)
  const viaHttp = await new Promise<number>((resolve, reject) => {
    httpGet({ host: '127.0.0.1', port: httpPort, path: '/healthz', agent: httpAgent }, res => { res.resume(); res.on('end', () => resolve(res.statusCode ?? 0)) }).on('error', reject)
  })
  t.equal(viaHttp, 200)
  t.equal(Object.values(httpsAgent.freeSockets).flat().length, 1, 'an idle HTTPS keep-alive connection')
  t.equal(Object.values(httpAgent.freeSockets).flat().length, 1, 'an idle HTTP keep-alive connection')
  // Silent TCP connections (no ClientHello on the TLS port), a ClientHello cut short,
  // requests that never finish arriving (plain and TLS).
  await raw(httpPort)
  await raw(httpsPort)
  await raw(httpsPort, Buffer.from([0x16, 0x03, 0x01, 0x00, 0x40, 0x01]))
  await raw(httpPort, 'GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n')
  const stuck = await tls()
  stuck.write('GET /.well-known/mta-sts.txt HTTP/1.1\r\nHost: mta-sts.example.com\r\n')
  // A request in flight: its last line arrives after SIGTERM.
  const inFlight = await tls()
  inFlight.write('GET /.well-known/mta-sts.txt HTTP/1.1\r\nHost: mta-sts.example.com\r\n')
  let answer = ''
  inFlight.on('data', (c: Buffer) => { answer += c.toString() })
  const answered = once(inFlight, 'close')
  await new Promise(resolve => setTimeout(resolve, 100))

  const signalled = Date.now()
  cli.child.kill('SIGTERM')
  const shutdown = await cli.waitFor(l => l.event === 'shutdown')
  inFlight.write('\r\n')
  const { code, signal } = await cli.exit
  const exitMs = Date.now() - signalled
  // Timed by the child's own clock, from the signal's handling to the last line before exit:
  // writing the coverage report at exit takes seconds on a busy machine and is not the service's.
  const stopped = cli.lines.find(l => l.event === 'stopped')
  const tookMs = Date.parse(String(stopped?.time)) - Date.parse(String(shutdown.time))
  await answered
  t.match(answer, /^HTTP\/1\.1 200 OK\r\n/, 'the request in flight was answered')
  t.match(answer, /\r\nconnection: close\r\n/i, 'and told the connection closes')
  t.ok(answer.endsWith('version: STSv1\r\nmode: testing\r\nmx: mx1.example.com\r\nmax_age: 604800\r\n'), 'with the whole policy')
  t.equal(code, 0, 'exit status 0')
  t.equal(signal, null)
  t.ok(tookMs < 2000, `stopped ${tookMs} ms after SIGTERM (bound 2 s)`)
  t.ok(exitMs < 10_000, `exited ${exitMs} ms after SIGTERM, before the forced exit`)
  t.notOk(cli.lines.some(l => l.event === 'shutdown_timeout'), 'no forced exit')
})

t.test('caCertificateFile: the store\'s own file of the CA certificate, else a temp copy of the issuer\'s PEM', async t => {
  const { caCertificateFile } = await import('../../src/cli/serve.js')
  const { FileStore } = await import('../../src/store/file-store.js')
  const { MemoryStore } = await import('../../src/store/memory-store.js')
  const dir = await tempDir(t)
  t.equal(await caCertificateFile(new FileStore(join(dir, 'store')), 'PEM'), join(dir, 'store', 'internal-ca', 'ca.crt'), 'the file store: the path earlier versions printed')
  const copy = await caCertificateFile(new MemoryStore(), '-----BEGIN CERTIFICATE-----\nAA==\n-----END CERTIFICATE-----')
  t.teardown(() => rm(copy, { force: true }))
  t.equal(await readFile(copy, 'utf8'), '-----BEGIN CERTIFICATE-----\nAA==\n-----END CERTIFICATE-----\n', 'any other store: a copy of the issuer\'s PEM')
})
