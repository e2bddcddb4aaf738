/** The parts of a TLS ClientHello this service routes on. */
export interface ClientHello {
  /** SNI host name, or undefined when the client sent none. */
  readonly servername: string | undefined
  /** ALPN protocols offered, in the client's order. */
  readonly alpn: readonly string[]
}

/**
 * Parse the first TLS record of a connection far enough to read SNI and
 * ALPN. Returns `'incomplete'` when more bytes are needed, `undefined` when
 * the bytes are not a TLS ClientHello (the TLS stack will then reject them).
 * Only the first record is read: ClientHellos fit in one record in practice.
 */
export function parseClientHello (buf: Buffer): ClientHello | 'incomplete' | undefined {
  if (buf.length < 5) return 'incomplete'
  if (buf[0] !== 0x16) return undefined
  const recordLength = buf.readUInt16BE(3)
  if (buf.length < 5 + recordLength) return 'incomplete'
  const record = buf.subarray(5, 5 + recordLength)
  try {
    return readHello(record)
  } catch {
    return undefined
  }
}

function readHello (hello: Buffer): ClientHello | undefined {
  if (hello[0] !== 0x01) return undefined
  const end = Math.min(hello.length, 4 + ((hello.readUInt8(1) << 16) | hello.readUInt16BE(2)))
  let pos = 4 + 2 + 32 // handshake header, legacy version, random
  pos += 1 + (hello[pos] as number) // session id
  pos += 2 + hello.readUInt16BE(pos) // cipher suites
  pos += 1 + (hello[pos] as number) // compression methods
  let servername: string | undefined
  let alpn: string[] = []
  if (pos + 2 > end) return { servername, alpn }
  const extensionsEnd = Math.min(end, pos + 2 + hello.readUInt16BE(pos))
  pos += 2
  while (pos + 4 <= extensionsEnd) {
    const type = hello.readUInt16BE(pos)
    const length = hello.readUInt16BE(pos + 2)
    const data = hello.subarray(pos + 4, pos + 4 + length)
    pos += 4 + length
    if (type === 0x0000 && data.length >= 5 && data[2] === 0x00) {
      servername = data.subarray(5, 5 + data.readUInt16BE(3)).toString('latin1')
    } else if (type === 0x0010 && data.length >= 2) {
      alpn = []
      for (let i = 2; i < Math.min(data.length, 2 + data.readUInt16BE(0));) {
        const n = data[i] as number
        alpn.push(data.subarray(i + 1, i + 1 + n).toString('latin1'))
        i += 1 + n
      }
    }
  }
  return { servername, alpn }
}
