import { createServer, type Server } from 'node:https'
import { createConnection, type Socket } from 'node:net'
import { connect, type TLSSocket } from 'node:tls'
import t, { type Test } from 'tap'
import { systemClock } from '../../src/clock.js'
import { answerOnConnection, type ConnectionAnswers } from '../../src/http/answer-on-connection.js'
import type { PolicyRequest } from '../../src/http/parse-policy-request.js'
import { MemoryStore } from '../../src/store/memory-store.js'
import { InternalCa } from '../../src/tls/internal-ca.js'

const HOST = 'mta-sts.example.com'
const GET = (host = HOST, ...more: string[]): string => ['GET /.well-known/mta-sts.txt HTTP/1.1', `host: ${host}`, ...more, '', ''].join('\r\n')

/**
 * A real https server whose plain fetches of HOST are answered on the connection with
 * `here <method>` (anything else by Node: `node <method> <url>`), over TLS with SNI.
 */
async function setup (t: Test, idleTimeoutMs = 30_000, bodySize?: number) {
  const ca = await InternalCa.open({ store: new MemoryStore(), clock: systemClock, leafLifetime: 86400 })
  const { certPem, keyPem } = await ca.issue([HOST])
  const byNode: string[] = []
  const server: Server = createServer({ cert: certPem, key: keyPem, keepAliveTimeout: 30_000 }, (req, res) => {
    byNode.push(`${req.method} ${req.url}`)
    const body = `node ${req.method} ${req.url}`
    res.writeHead(200, { 'content-length': String(body.length) }).end(body)
  })
  const answered: (PolicyRequest & { tls: string | null })[] = []
  const connections: ConnectionAnswers = answerOnConnection(server, (socket, request) => {
    if (request.host !== HOST) return false
    answered.push({ ...request, tls: socket.getProtocol() })
    // HEAD says content-length 0 here, so that the test can split answers without knowing their requests.
    const body = request.method === 'HEAD' ? '' : bodySize === undefined ? `here ${request.method}` : 'x'.repeat(bodySize)
    socket.write(`HTTP/1.1 200 OK\r\ncontent-length: ${body.length}\r\n${request.close ? 'connection: close\r\n' : ''}\r\n${body}`)
    return true
  }, idleTimeoutMs)
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise<void>(resolve => { server.closeAllConnections(); server.close(() => resolve()) }))
  const port = (server.address() as { port: number }).port
  const open = async (): Promise<{ socket: TLSSocket, tcp: Socket, read: () => string, closed: Promise<void> }> => {
    const tcp = createConnection({ host: '127.0.0.1', port })
    const socket = connect({ socket: tcp, servername: HOST, ca: ca.caPem })
    await new Promise<void>((resolve, reject) => { socket.once('secureConnect', resolve).once('error', reject) })
    let text = ''
    socket.on('data', (c: Buffer) => { text += c.toString('latin1') })
    const closed = new Promise<void>(resolve => socket.once('close', () => resolve()))
    t.teardown(() => { socket.destroy() })
    return { socket, tcp, read: () => text, closed }
  }
  return { server, connections, answered, byNode, open }
}

/** The bodies of the complete answers in `text` (each with a content-length). */
function bodies (text: string): string[] {
  const found: string[] = []
  let at = 0
  for (;;) {
    const blank = text.indexOf('\r\n\r\n', at)
    if (blank < 0) return found
    const length = Number(/content-length: (\d+)/i.exec(text.slice(at, blank))?.[1])
    if (text.length < blank + 4 + length) return found
    found.push(text.slice(blank + 4, blank + 4 + length))
    at = blank + 4 + length
  }
}

/** Waits until `read()` holds `count` complete answers, at most 5 s; their bodies. */
async function answers (read: () => string, count: number): Promise<string[]> {
  const deadline = Date.now() + 5000
  for (;;) {
    const found = bodies(read())
    if (found.length >= count) return found
    if (Date.now() > deadline) throw new Error(`only ${found.length} of ${count} answers: ${JSON.stringify(read().slice(0, 2000))}`)
    await new Promise(resolve => setTimeout(resolve, 5))
  }
}

t.test('plain fetches on one keep-alive connection are answered there, in order; Node sees none', async t => {
  const s = await setup(t)
  const c = await s.open()
  c.socket.write(GET(HOST, 'user-agent: Postfix'))
  t.same(await answers(c.read, 1), ['here GET'])
  c.socket.write(GET().replace('GET', 'HEAD'))
  c.socket.write(GET())
  t.same(await answers(c.read, 3), ['here GET', '', 'here GET'])
  t.same(s.byNode, [])
  t.match(s.answered, [{ method: 'GET', host: HOST, userAgent: 'Postfix', close: false, tls: 'TLSv1.3' }])
  t.equal(s.connections.size, 1)
})

t.test('pipelined in one write: answered in order, and from the first other request on Node answers, in order too', async t => {
  const s = await setup(t)
  const c = await s.open()
  const post = 'POST /.well-known/mta-sts.txt HTTP/1.1\r\nhost: mta-sts.example.com\r\ncontent-length: 3\r\n\r\nabc'
  c.socket.write(GET() + GET() + post + GET() + GET())
  t.same(await answers(c.read, 5), ['here GET', 'here GET', 'node POST /.well-known/mta-sts.txt', 'node GET /.well-known/mta-sts.txt', 'node GET /.well-known/mta-sts.txt'])
  t.same(s.byNode, ['POST /.well-known/mta-sts.txt', 'GET /.well-known/mta-sts.txt', 'GET /.well-known/mta-sts.txt'], 'the connection stays with Node')
  t.equal(s.connections.size, 0, 'no longer answered here')
})

t.test('a request split across writes, or a host the answer does not take, goes to Node whole', async t => {
  const s = await setup(t)
  const split = await s.open()
  const text = GET()
  split.socket.write(text.slice(0, 20))
  await new Promise(resolve => setTimeout(resolve, 50))
  split.socket.write(text.slice(20))
  t.same(await answers(split.read, 1), ['node GET /.well-known/mta-sts.txt'])
  const other = await s.open()
  other.socket.write(GET('mta-sts.other.example') + GET())
  t.same(await answers(other.read, 2), ['node GET /.well-known/mta-sts.txt', 'node GET /.well-known/mta-sts.txt'])
  t.same(s.answered, [])
})

t.test('Connection: close is answered, then the connection is closed', async t => {
  const s = await setup(t)
  const c = await s.open()
  c.socket.write(GET(HOST, 'connection: close') + GET())
  await c.closed
  t.same(c.read().split('\r\n\r\n').slice(1), ['here GET'], 'one answer; the request after close is not read')
  t.match(s.answered, [{ close: true }])
  t.equal(s.connections.size, 0)
})

t.test('a client that sends without reading is not read until it reads; then every answer arrives', async t => {
  const s = await setup(t, 30_000, 4096)
  const c = await s.open()
  c.socket.pause()
  // One TLS record (at most 16 KiB) per write, each of whole requests: every chunk the server reads ends where a request ends.
  const writes = 20
  const perWrite = 200
  for (let i = 0; i < writes; i++) await new Promise(resolve => c.socket.write(GET().repeat(perWrite), resolve))
  const count = writes * perWrite
  await new Promise(resolve => setTimeout(resolve, 300))
  t.ok(s.answered.length < count, `not all read while the client does not read (${s.answered.length} of ${count})`)
  const answerLength = c.read().length
  c.socket.resume()
  const deadline = Date.now() + 10_000
  while (s.answered.length < count && Date.now() < deadline) await new Promise(resolve => setTimeout(resolve, 10))
  t.equal(s.answered.length, count, 'all answered here once the client reads')
  t.same(s.byNode, [])
  t.equal(answerLength, 0)
})

t.test('closing ends the connections waiting for a request and makes later answers close', async t => {
  const s = await setup(t)
  const idle = await s.open()
  idle.socket.write(GET())
  await answers(idle.read, 1)
  // Sent as the server closes: it arrives at a connection already ended, and is not answered.
  idle.socket.write(GET())
  s.connections.close()
  await idle.closed
  t.same(bodies(idle.read()), ['here GET'])
  t.equal(s.connections.size, 0)
  // The server still accepts until it is closed itself: a fetch now is answered and its connection closed.
  const late = await s.open()
  late.socket.write(GET())
  await late.closed
  t.same(bodies(late.read()), ['here GET'])
  t.match(s.answered, [{ close: false }, { close: true }])
})

t.test('an idle connection is closed after the idle timeout; a reset connection costs nothing else', async t => {
  const s = await setup(t, 200)
  const idle = await s.open()
  idle.socket.write(GET())
  await answers(idle.read, 1)
  const started = Date.now()
  await idle.closed
  t.ok(Date.now() - started >= 150, 'not before the timeout')
  const reset = await s.open()
  reset.socket.write(GET())
  reset.tcp.resetAndDestroy()
  const next = await s.open()
  next.socket.write(GET())
  t.same(await answers(next.read, 1), ['here GET'], 'the server still answers')
})
