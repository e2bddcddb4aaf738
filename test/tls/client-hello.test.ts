import { randomBytes } from 'node:crypto'
import { createServer, type AddressInfo, type Socket } from 'node:net'
import { connect, type ConnectionOptions } from 'node:tls'
import t from 'tap'
import { parseClientHello } from '../../src/tls/client-hello.js'

type Tap = { teardown (fn: () => unknown): void }

/** The first TLS record a real node client sends with `opts`, captured on a plain TCP server. */
async function capture (t: Tap, opts: Omit<ConnectionOptions, 'host' | 'port'>): Promise<Buffer> {
  const sockets = new Set<Socket>()
  let resolveHello: (b: Buffer) => void = () => {}
  const got = new Promise<Buffer>(resolve => { resolveHello = resolve })
  const server = createServer(socket => {
    sockets.add(socket)
    let head = Buffer.alloc(0)
    socket.on('data', (c: Buffer) => {
      head = Buffer.concat([head, c])
      if (head.length >= 5 && head.length >= 5 + head.readUInt16BE(3)) {
        resolveHello(head.subarray(0, 5 + head.readUInt16BE(3)))
        socket.destroy()
      }
    })
    socket.on('error', () => {})
  })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => { for (const s of sockets) s.destroy(); return new Promise(resolve => server.close(resolve)) })
  const client = connect({ host: '127.0.0.1', port: (server.address() as AddressInfo).port, rejectUnauthorized: false, ...opts })
  client.on('error', () => {})
  t.teardown(() => client.destroy())
  const timer = setTimeout(() => resolveHello(Buffer.alloc(0)), 5000)
  const hello = await got
  clearTimeout(timer)
  return hello
}

/** A synthetic ClientHello record with the given extensions (type, data). */
function synthetic (extensions: [number, Buffer][] | undefined, opts: { sessionId?: Buffer; handshakeType?: number } = {}): Buffer {
  const sessionId = opts.sessionId ?? Buffer.alloc(0)
  const parts = [
    Buffer.from([0x03, 0x03]), randomBytes(32),
    Buffer.from([sessionId.length]), sessionId,
    Buffer.from([0x00, 0x02, 0x13, 0x01]),
    Buffer.from([0x01, 0x00]),
  ]
  if (extensions) {
    const exts = Buffer.concat(extensions.map(([type, data]) => Buffer.concat([u16(type), u16(data.length), data])))
    parts.push(u16(exts.length), exts)
  }
  const body = Buffer.concat(parts)
  const handshake = Buffer.concat([Buffer.from([opts.handshakeType ?? 0x01, 0, body.length >> 8, body.length & 0xff]), body])
  return Buffer.concat([Buffer.from([0x16, 0x03, 0x01]), u16(handshake.length), handshake])
}

function u16 (n: number): Buffer {
  const b = Buffer.alloc(2)
  b.writeUInt16BE(n)
  return b
}

function sni (name: string, nameType = 0): Buffer {
  const n = Buffer.from(name, 'latin1')
  const entry = Buffer.concat([Buffer.from([nameType]), u16(n.length), n])
  return Buffer.concat([u16(entry.length), entry])
}

function alpn (...protocols: string[]): Buffer {
  const list = Buffer.concat(protocols.map(p => Buffer.concat([Buffer.from([p.length]), Buffer.from(p, 'latin1')])))
  return Buffer.concat([u16(list.length), list])
}

t.test('real ClientHellos from node', async t => {
  const both = await capture(t, { servername: 'mta-sts.example.com', ALPNProtocols: ['h2', 'http/1.1'] })
  t.same(parseClientHello(both), { servername: 'mta-sts.example.com', alpn: ['h2', 'http/1.1'] }, 'SNI and ALPN')
  const acme = await capture(t, { servername: 'mta-sts.example.org', ALPNProtocols: ['acme-tls/1'] })
  t.same(parseClientHello(acme), { servername: 'mta-sts.example.org', alpn: ['acme-tls/1'] })
  const noSni = await capture(t, { ALPNProtocols: ['http/1.1'] })
  t.same(parseClientHello(noSni), { servername: undefined, alpn: ['http/1.1'] }, 'no SNI for an IP address')
  const noAlpn = await capture(t, { servername: 'mta-sts.example.com' })
  t.same(parseClientHello(noAlpn), { servername: 'mta-sts.example.com', alpn: [] }, 'no ALPN')
  const tls12 = await capture(t, { servername: 'mta-sts.example.com', maxVersion: 'TLSv1.2', ALPNProtocols: ['http/1.1'] })
  t.same(parseClientHello(tls12), { servername: 'mta-sts.example.com', alpn: ['http/1.1'] }, 'TLS 1.2 only client')

  t.test('incomplete input', async t => {
    for (const n of [0, 1, 4, 5, 6, 43, both.length - 1]) t.equal(parseClientHello(both.subarray(0, n)), 'incomplete', `${n} bytes`)
    t.same(parseClientHello(Buffer.concat([both, Buffer.from('trailing')])), parseClientHello(both), 'bytes after the record are not read')
  })

  t.test('truncated extensions inside a complete record never throw', async t => {
    const recordLength = both.readUInt16BE(3)
    for (let cut = 1; cut < recordLength; cut += 7) {
      // Shrink the record so it ends early: the handshake length then points past its end.
      const shrunk = Buffer.from(both.subarray(0, both.length - cut))
      shrunk.writeUInt16BE(recordLength - cut, 3)
      t.doesNotThrow(() => parseClientHello(shrunk))
    }
  })

  t.test('random corruption never throws', async t => {
    let thrown = 0
    for (let i = 0; i < 2000; i++) {
      const copy = Buffer.from(both)
      for (let j = 0; j < 4; j++) copy[5 + Math.floor(Math.random() * (copy.length - 5))] = Math.floor(Math.random() * 256)
      try {
        const r = parseClientHello(copy)
        if (r !== undefined && r !== 'incomplete') {
          t.type(r.alpn, Array)
        }
      } catch {
        thrown++
      }
    }
    t.equal(thrown, 0)
  })
})

t.test('not TLS', async t => {
  t.equal(parseClientHello(Buffer.from('GET / HTTP/1.1\r\nHost: mta-sts.example.com\r\n\r\n')), undefined, 'plain HTTP')
  t.equal(parseClientHello(Buffer.from('SSH-2.0-OpenSSH_9.6\r\n')), undefined)
  t.equal(parseClientHello(Buffer.from([0x16, 0x03, 0x01, 0x00, 0x04, 0x02, 0x00, 0x00, 0x00])), undefined, 'a handshake that is not a ClientHello')
  t.equal(parseClientHello(synthetic([], { handshakeType: 0x02 })), undefined, 'ServerHello')
  t.equal(parseClientHello(Buffer.from([0x16, 0x03, 0x01, 0x00, 0x00])), undefined, 'an empty record')
  t.equal(parseClientHello(Buffer.from([0x16, 0x03, 0x01, 0x00, 0x03, 0x01, 0x00, 0x00])), undefined, 'a ClientHello cut before its fields')
  t.equal(parseClientHello(randomBytes(300).fill(0x17, 0, 1)), undefined, 'application data')
})

t.test('synthetic ClientHellos', async t => {
  t.same(parseClientHello(synthetic(undefined)), { servername: undefined, alpn: [] }, 'no extensions block at all')
  t.same(parseClientHello(synthetic([])), { servername: undefined, alpn: [] }, 'an empty extensions block')
  t.same(parseClientHello(synthetic([[0, sni('a.example')], [16, alpn('acme-tls/1')]], { sessionId: randomBytes(32) })), { servername: 'a.example', alpn: ['acme-tls/1'] }, 'with a session id')
  t.same(parseClientHello(synthetic([[0, sni('a.example', 1)]])), { servername: undefined, alpn: [] }, 'a server name of another type is ignored')
  t.same(parseClientHello(synthetic([[0, Buffer.from([0, 1])]])), { servername: undefined, alpn: [] }, 'a too-short SNI extension is ignored')
  t.same(parseClientHello(synthetic([[16, Buffer.from([0])]])), { servername: undefined, alpn: [] }, 'a too-short ALPN extension is ignored')
  t.same(parseClientHello(synthetic([[16, alpn('')]])), { servername: undefined, alpn: [''] }, 'an empty protocol name')
  t.same(parseClientHello(synthetic([[16, alpn('h2')], [16, alpn('acme-tls/1')]])), { servername: undefined, alpn: ['acme-tls/1'] }, 'a repeated ALPN extension: the last one counts')
  t.same(parseClientHello(synthetic([[0xff01, Buffer.from([0])], [0, sni('b.example')], [16, alpn('h2', 'http/1.1')]])), { servername: 'b.example', alpn: ['h2', 'http/1.1'] }, 'unknown extensions skipped')
  // ALPN list longer than its extension: stops at the end of the data, no throw.
  const long = alpn('http/1.1')
  long.writeUInt16BE(200, 0)
  const r = parseClientHello(synthetic([[16, long]]))
  t.ok(r !== 'incomplete' && r !== undefined && r.alpn[0] === 'http/1.1', 'overlong ALPN list length is bounded by the data')
  // A protocol entry running past the data.
  const past = Buffer.concat([u16(3), Buffer.from([10, 0x61, 0x62])])
  t.doesNotThrow(() => parseClientHello(synthetic([[16, past]])))
  // Extensions block longer than the handshake.
  const ext = synthetic([[0, sni('c.example')]])
  const extLenPos = 5 + 4 + 2 + 32 + 1 + 4 + 2
  ext.writeUInt16BE(0xffff, extLenPos)
  t.same(parseClientHello(ext), { servername: 'c.example', alpn: [] }, 'extensions bounded by the handshake')
  // Cipher suites length pointing past the end.
  const ciphers = synthetic([[0, sni('d.example')]])
  ciphers.writeUInt16BE(0xfff0, 5 + 4 + 2 + 32 + 1)
  t.doesNotThrow(() => parseClientHello(ciphers))
})
