import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { readFile, writeFile } from 'node:fs/promises'
import { Agent as HttpAgent, get as httpGet } from 'node:http'
import { Agent as HttpsAgent } from 'node:https'
import { connect as netConnect, createServer, type AddressInfo, type Socket } from 'node:net'
import { connect as tlsConnect, type TLSSocket } from 'node:tls'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import t from 'tap'
import { httpsFetch, preamble, tempDir } from './helpers/service-harness.js'

const MAIN = join(import.meta.dirname, '..', 'src', 'main.ts')
const TENANTS = 'tenants:\n  example.com:\n    mx: [mx1.example.com]\n'

interface Cli {
  child: ChildProcess
  lines: Record<string, unknown>[]
  stderr: () => string
  waitFor: (match: (l: Record<string, unknown>) => boolean, ms?: number) => Promise<Record<string, unknown>>
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>
}

/** Run the real CLI (`src/main.ts` through tsx) as a child process. */
function run (t: { teardown (fn: () => unknown): void }, args: string[]): Cli {
  // The same loader and coverage hooks tap gave this process, so the child's coverage is counted like ours.
  const child = spawn(process.execPath, [...process.execArgv, MAIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
  const lines: Record<string, unknown>[] = []
  const waiters: { match: (l: Record<string, unknown>) => boolean; resolve: (l: Record<string, unknown>) => void }[] = []
  let stderr = ''
  child.stderr!.on('data', (c: Buffer) => { stderr += c.toString() })
  createInterface({ input: child.stdout! }).on('line', text => {
    let line: Record<string, unknown>
    try { line = JSON.parse(text) as Record<string, unknown> } catch { line = { text } }
    lines.push(line)
    for (const w of [...waiters]) if (w.match(line)) { waiters.splice(waiters.indexOf(w), 1); w.resolve(line) }
  })
  const exit = once(child, 'exit').then(([code, signal]) => ({ code: code as number | null, signal: signal as NodeJS.Signals | null }))
  t.teardown(() => { if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL') })
  return {
    child,
    lines,
    stderr: () => stderr,
    exit,
    waitFor: (match, ms = 20_000) => {
      const found = lines.find(match)
      if (found) return Promise.resolve(found)
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no matching line in ${ms} ms; stderr: ${stderr}`)), ms)
        waiters.push({ match, resolve: l => { clearTimeout(timer); resolve(l) } })
      })
    },
  }
}

t.test('every command has --help', async t => {
  for (const args of [['--help'], ['serve', '--help'], ['validate', '--help'], ['dns', '--help'], ['check', '--help']]) {
    const cli = run(t, args)
    const { code } = await cli.exit
    t.equal(code, 0, args.join(' '))
    t.match(cli.lines.map(l => l.text).join('\n'), /Usage: mta-sts-host/)
  }
})

t.test('validate and serve refuse an invalid file with file:line:column errors', async t => {
  const dir = await tempDir(t)
  const file = join(dir, 'bad.yaml')
  await writeFile(file, preamble(dir) + 'tenants:\n  example.com:\n    mode: enforcing\n    mx: [mx1.example.com]\n')
  const validate = run(t, ['validate', file])
  t.equal((await validate.exit).code, 1)
  t.match(validate.stderr(), `${file}:12:11: tenants."example.com".mode must be one of enforce, testing, none (got "enforcing") (did you mean "enforce"?)`)
  const check = run(t, ['check', '--config', file, '--json', '--resolver', '127.0.0.1:9'])
  t.equal((await check.exit).code, 2, 'check: exit 2 on an invalid file')
  t.match(check.stderr(), 'mode must be one of enforce, testing, none')
  const serve = run(t, ['serve', '--config', file])
  t.equal((await serve.exit).code, 1)
  t.match(serve.stderr(), /not starting: 1 error\(s\)/)
  t.equal(serve.lines.length, 0, 'nothing was served')
})

t.test('serve: a port in use or unusable storage is one clear line and exit 1', async t => {
  const dir = await tempDir(t)
  const blocker = createServer().listen(0, '127.0.0.1')
  await once(blocker, 'listening')
  t.teardown(() => blocker.close())
  const port = (blocker.address() as AddressInfo).port
  const busy = join(dir, 'busy.yaml')
  await writeFile(busy, preamble(dir).replace('https: { host: "127.0.0.1", port: 0 }', `https: { host: "127.0.0.1", port: ${port} }`) + TENANTS)
  const cli = run(t, ['serve', '--config', busy])
  t.equal((await cli.exit).code, 1)
  t.match(cli.stderr(), /not starting: .*EADDRINUSE/)
  t.notMatch(cli.stderr(), /\n\s+at /, 'no stack trace')
  t.ok(cli.lines.some(l => l.event === 'start_failed' && l.code === 'EADDRINUSE'))

  const file = join(dir, 'storage.yaml')
  await writeFile(join(dir, 'not-a-dir'), 'a file where the storage directory should be')
  await writeFile(file, preamble(dir).replace(JSON.stringify(join(dir, 'store')), JSON.stringify(join(dir, 'not-a-dir', 'store'))) + TENANTS)
  const storage = run(t, ['serve', '--config', file])
  t.equal((await storage.exit).code, 1)
  t.match(storage.stderr(), /not starting: .*(ENOTDIR|EEXIST)/)
})

t.test('serve: an ops listener on a non-loopback address without a token is one clear line and exit 1', async t => {
  const dir = await tempDir(t)
  const file = join(dir, 'config.yaml')
  await writeFile(file, preamble(dir).replace('ops: { host: "127.0.0.1", port: 0 }', 'ops: { host: "::", port: 0 }') + TENANTS)
  const cli = run(t, ['serve', '--config', file])
  t.equal((await cli.exit).code, 1)
  t.equal(cli.stderr(), 'not starting: listen.ops.host :: is not a loopback address: set listen.ops.token_file (a bearer token) or bind ops to 127.0.0.1\n')
  t.notOk(cli.lines.some(l => l.event === 'start'), 'nothing was served')
})

t.test('serve: start, SIGHUP reload, SIGTERM finishes requests in flight and exits 0', async t => {
  const dir = await tempDir(t)
  const file = join(dir, 'config.yaml')
  await writeFile(file, preamble(dir) + TENANTS)
  const cli = run(t, ['serve', '--config', file])
  const start = await cli.waitFor(l => l.event === 'start')
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
  await t.rejects(httpsFetch(port, 'mta-sts.example.com', { ca }), 'listener closed')
})

t.test('serve: SIGTERM exits 0 within 2 s despite idle, half-sent and silent connections', async t => {
  const dir = await tempDir(t)
  const file = join(dir, 'config.yaml')
  await writeFile(file, preamble(dir) + TENANTS)
  const cli = run(t, ['serve', '--config', file])
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
