import { once } from 'node:events'
import { createServer as createHttpsServer, request, Agent, type RequestOptions, type Server as HttpsServer } from 'node:https'
import { connect as netConnect, createServer as createNetServer, type AddressInfo, type Socket } from 'node:net'
import { connect, createServer as createTlsServer, type TLSSocket } from 'node:tls'
import { setTimeout as sleep } from 'node:timers/promises'
import t from 'tap'
import { ManualClock } from '../../src/clock.js'
import { MemoryStore } from '../../src/store/memory-store.js'
import type { ClientHello } from '../../src/tls/client-hello.js'
import { routeByClientHello } from '../../src/tls/client-hello-router.js'
import { InternalCa } from '../../src/tls/internal-ca.js'

type Tap = { teardown (fn: () => unknown): void }
const HOST = 'mta-sts.example.com'

async function setup (t: Tap, timeoutMs = 2000) {
  const ca = await InternalCa.open({ store: new MemoryStore(), clock: new ManualClock(), leafLifetime: 86400 })
  const main = await ca.obtain(HOST)
  const other = await ca.obtain('diverted.example')
  const sockets = new Set<Socket>()
  const track = (s: Socket): void => { sockets.add(s); s.on('close', () => sockets.delete(s)) }
  const server: HttpsServer = createHttpsServer({ cert: main.certPem, key: main.keyPem, ALPNProtocols: ['http/1.1'] }, (req, res) => {
    res.end(`hello ${req.url}`)
  })
  server.on('connection', track)
  const side = createTlsServer({ cert: other.certPem, key: other.keyPem, ALPNProtocols: ['acme-tls/1'] }, socket => {
    socket.end('diverted')
  })
  side.on('tlsClientError', () => {})
  const hellos: ClientHello[] = []
  routeByClientHello(server, hello => {
    hellos.push(hello)
    if (hello.alpn.length === 1 && hello.alpn[0] === 'acme-tls/1') return socket => { side.emit('connection', socket) }
    return undefined
  }, timeoutMs)
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  const tlsErrors: Error[] = []
  server.on('tlsClientError', (err: Error) => tlsErrors.push(err))
  t.teardown(() => {
    for (const s of sockets) s.destroy()
    return new Promise(resolve => server.close(() => resolve(undefined)))
  })
  const port = (server.address() as AddressInfo).port
  return { ca, port, hellos, tlsErrors, sockets }
}

function get (port: number, ca: string, agent: Agent | false, path = '/'): Promise<{ body: string; reused: boolean; alpn: string | false | null }> {
  // alpn is read when the response starts: the socket may be detached by 'end'.
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, servername: HOST, headers: { host: HOST }, ca, agent, path, ALPNProtocols: ['http/1.1'] } as RequestOptions, res => {
      const alpn = (res.socket as TLSSocket).alpnProtocol
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (c: string) => { body += c })
      res.on('end', () => resolve({ body, reused: req.reusedSocket, alpn }))
    })
    req.setTimeout(5000, () => req.destroy(new Error('timeout')))
    req.on('error', reject)
    req.end()
  })
}

/** The first TLS record a real node client sends with `opts`, captured on a plain TCP server. */
async function capture (t: Tap, opts: { servername: string; ALPNProtocols: string[] }): Promise<Buffer> {
  const server = createNetServer()
  const got = new Promise<Buffer>((resolve, reject) => {
    server.on('connection', socket => {
      let head = Buffer.alloc(0)
      socket.on('error', () => {})
      socket.on('data', (c: Buffer) => {
        head = Buffer.concat([head, c])
        if (head.length >= 5 && head.length >= 5 + head.readUInt16BE(3)) {
          resolve(head.subarray(0, 5 + head.readUInt16BE(3)))
          socket.destroy()
        }
      })
    })
    setTimeout(() => reject(new Error('no ClientHello captured')), 5000).unref()
  })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise(resolve => server.close(resolve)))
  const client = connect({ host: '127.0.0.1', port: (server.address() as AddressInfo).port, rejectUnauthorized: false, ...opts })
  client.on('error', () => {})
  t.teardown(() => client.destroy())
  return got
}

/** Resolves true when `socket` closes within `ms`. */
async function closes (socket: Socket, ms = 5000): Promise<boolean> {
  if (socket.destroyed) return true
  return Promise.race([once(socket, 'close').then(() => true), sleep(ms).then(() => false)])
}

t.test('normal HTTPS requests reach the server, keep-alive too', async t => {
  const { ca, port, hellos } = await setup(t)
  const agent = new Agent({ keepAlive: true, maxSockets: 1 })
  t.teardown(() => agent.destroy())
  const first = await get(port, ca.caPem, agent, '/one')
  const second = await get(port, ca.caPem, agent, '/two')
  t.equal(first.body, 'hello /one')
  t.equal(first.alpn, 'http/1.1')
  t.equal(second.body, 'hello /two')
  t.ok(second.reused, 'the second request reused the connection')
  t.equal(hellos.length, 1, 'the router looked at one ClientHello')
  t.same(hellos[0], { servername: HOST, alpn: ['http/1.1'] })
  t.equal((await get(port, ca.caPem, false)).body, 'hello /', 'a new connection without keep-alive')
})

t.test('acme-tls/1-only connections are diverted, the peeked bytes replayed', async t => {
  const { ca, port, hellos } = await setup(t)
  const socket = connect({ host: '127.0.0.1', port, servername: HOST, ALPNProtocols: ['acme-tls/1'], ca: ca.caPem, checkServerIdentity: () => undefined })
  t.teardown(() => socket.destroy())
  await once(socket, 'secureConnect')
  t.equal(socket.alpnProtocol, 'acme-tls/1')
  t.match(socket.getPeerCertificate().subjectaltname, 'DNS:diverted.example', 'the other server answered')
  let data = ''
  socket.setEncoding('utf8')
  socket.on('data', (c: string) => { data += c })
  await once(socket, 'end')
  t.equal(data, 'diverted')
  t.same(hellos.at(-1), { servername: HOST, alpn: ['acme-tls/1'] })

  const mixed = connect({ host: '127.0.0.1', port, servername: HOST, ALPNProtocols: ['acme-tls/1', 'http/1.1'], ca: ca.caPem })
  t.teardown(() => mixed.destroy())
  await once(mixed, 'secureConnect')
  t.equal(mixed.alpnProtocol, 'http/1.1', 'acme-tls/1 among others is not diverted')
  t.match(mixed.getPeerCertificate().subjectaltname, `DNS:${HOST}`)
})

t.test('a ClientHello arriving in pieces', async t => {
  const { port, hellos } = await setup(t)
  const hello = await capture(t, { servername: HOST, ALPNProtocols: ['acme-tls/1'] })
  t.ok(hello.length > 60, 'captured a real ClientHello')
  const raw = netConnect(port, '127.0.0.1')
  raw.on('error', () => {})
  t.teardown(() => raw.destroy())
  await once(raw, 'connect')
  for (const [from, to] of [[0, 3], [3, 40], [40, hello.length]] as const) {
    raw.write(hello.subarray(from, to))
    await sleep(20)
  }
  for (let i = 0; i < 100 && hellos.length === 0; i++) await sleep(10)
  t.same(hellos, [{ servername: HOST, alpn: ['acme-tls/1'] }], 'parsed once complete')
  raw.once('data', () => {})
  t.ok(await Promise.race([once(raw, 'data').then(() => true), sleep(5000).then(() => false)]), 'the diverted server answers the replayed hello')
})

t.test('non-TLS bytes are handed to the TLS server, which closes the connection', async t => {
  const { port, hellos } = await setup(t)
  const socket = netConnect(port, '127.0.0.1')
  socket.on('error', () => {})
  t.teardown(() => socket.destroy())
  await once(socket, 'connect')
  socket.write('GET / HTTP/1.1\r\nHost: mta-sts.example.com\r\n\r\n')
  t.ok(await closes(socket), 'closed')
  t.equal(hellos.length, 0, 'divert is not asked about non-TLS bytes')
})

t.test('an oversized record is handed over after the peek limit', async t => {
  const { port, hellos, tlsErrors } = await setup(t)
  const socket = netConnect(port, '127.0.0.1')
  socket.on('error', () => {})
  t.teardown(() => socket.destroy())
  await once(socket, 'connect')
  socket.write(Buffer.concat([Buffer.from([0x16, 0x03, 0x01, 0xff, 0xff]), Buffer.alloc(0xffff, 1)]))
  for (let i = 0; i < 500 && tlsErrors.length === 0; i++) await sleep(10)
  t.match(tlsErrors[0]?.message, /packet length too long|record/i, 'the TLS server got the bytes and rejected them')
  t.equal(hellos.length, 0)
})

t.test('a client that sends nothing (or not enough) is closed after timeoutMs', async t => {
  const { port, sockets } = await setup(t, 150)
  const silent = netConnect(port, '127.0.0.1')
  silent.on('error', () => {})
  t.teardown(() => silent.destroy())
  const partial = netConnect(port, '127.0.0.1')
  partial.on('error', () => {})
  t.teardown(() => partial.destroy())
  await Promise.all([once(silent, 'connect'), once(partial, 'connect')])
  partial.write(Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00, 0x01]))
  t.ok(await closes(silent), 'silent client closed')
  t.ok(await closes(partial), 'partial client closed')
  for (let i = 0; i < 100 && sockets.size > 0; i++) await sleep(10)
  t.equal(sockets.size, 0, 'no server sockets left')
})

t.test('a client that goes away before its ClientHello is complete', async t => {
  const { port, sockets } = await setup(t, 60_000)
  const quitter = netConnect(port, '127.0.0.1')
  quitter.on('error', () => {})
  await once(quitter, 'connect')
  quitter.write(Buffer.from([0x16, 0x03]))
  await sleep(20)
  quitter.resetAndDestroy()
  const resetter = netConnect(port, '127.0.0.1')
  resetter.on('error', () => {})
  await once(resetter, 'connect')
  await sleep(20)
  resetter.end()
  for (let i = 0; i < 200 && sockets.size > 0; i++) await sleep(10)
  t.equal(sockets.size, 0, 'server side closed, no crash, the (long) timer cleared')
})
