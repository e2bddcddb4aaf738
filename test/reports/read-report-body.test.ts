import { randomBytes } from 'node:crypto'
import { Readable } from 'node:stream'
import { gzipSync } from 'node:zlib'
import t from 'tap'
import { readReportBody } from '../../src/reports/read-report-body.js'

const LIMITS = { maxBodyBytes: 4 * 1024 * 1024, maxReportBytes: 8 * 1024 * 1024, maxRatio: 200 }

/** A stream of `bytes` in `size`-byte chunks that counts how many chunks were pulled from it. */
function chunked (bytes: Buffer, size = 64 * 1024): { stream: Readable, pulled: () => number } {
  let offset = 0
  let pulled = 0
  const stream = new Readable({
    read () {
      if (offset >= bytes.length) { this.push(null); return }
      pulled++
      this.push(bytes.subarray(offset, offset + size))
      offset += size
    },
  })
  return { stream, pulled: () => pulled }
}

t.test('plain and gzip bodies within the limits come back whole, however they are cut', async t => {
  const json = Buffer.from(JSON.stringify({ 'organization-name': 'x', pad: randomBytes(200_000).toString('base64') }))
  for (const [name, body, size] of [['plain', json, 1000], ['gzip', gzipSync(json), 1], ['gzip in one chunk', gzipSync(json), 1 << 20], ['two gzip members', Buffer.concat([gzipSync(json), gzipSync(json)]), 7]] as const) {
    const read = await readReportBody(chunked(body, size).stream, LIMITS)
    t.ok(read.ok && read.bytes.equals(body), name)
  }
  const empty = await readReportBody(Readable.from([]), LIMITS)
  t.ok(empty.ok && empty.bytes.length === 0, 'empty')
  const one = await readReportBody(Readable.from([Buffer.from('{')]), LIMITS)
  t.ok(one.ok && one.bytes.toString() === '{', 'one byte')
})

t.test('a corrupt gzip body is not refused here: it is stored and flagged when it does not parse', async t => {
  const broken = gzipSync(Buffer.from('{"a": 1}'.repeat(1000))).subarray(0, 40)
  const read = await readReportBody(chunked(broken, 10).stream, LIMITS)
  t.ok(read.ok && read.bytes.equals(broken))
  const garbage = Buffer.concat([Buffer.from([0x1f, 0x8b]), Buffer.alloc(100, 7)])
  t.ok((await readReportBody(Readable.from([garbage]), LIMITS)).ok)
})

t.test('too large as sent, or once inflated; plain bodies by size', async t => {
  t.same(await readReportBody(chunked(Buffer.alloc(5 * 1024 * 1024, 0x20)).stream, LIMITS), { ok: false, reason: 'over 4194304 bytes as sent' })
  t.same(await readReportBody(Readable.from([Buffer.alloc(9 * 1024 * 1024, 0x20)]), { ...LIMITS, maxBodyBytes: 10 * 1024 * 1024 }), { ok: false, reason: 'over 8388608 bytes' })
  const ratio = gzipSync(Buffer.alloc(300_000, 0x20))
  const refused = await readReportBody(Readable.from([ratio]), LIMITS)
  t.same(refused, { ok: false, reason: `inflates past ${ratio.length * 200} bytes (limits: 8388608 bytes, 200 times the ${ratio.length} bytes sent)` })
})

t.test('a gzip bomb is cut off after its first chunks: the rest is never read or inflated', async t => {
  // 64 MiB of zeros per member, 30 members: about 2 MB that inflate to 1.9 GiB.
  const member = gzipSync(Buffer.alloc(64 * 1024 * 1024), { level: 9 })
  const bomb = Buffer.concat(Array.from({ length: 30 }, () => member))
  const { stream, pulled } = chunked(bomb)
  const before = process.memoryUsage().rss
  const read = await readReportBody(stream, { ...LIMITS, maxBodyBytes: 4 * 1024 * 1024 })
  t.notOk(read.ok)
  t.match(read.ok ? '' : read.reason, /^inflates past \d+ bytes \(limits: 8388608 bytes, 200 times the \d+ bytes sent\)$/)
  const chunks = Math.ceil(bomb.length / (64 * 1024))
  t.ok(pulled() <= 3, `${pulled()} of ${chunks} chunks read`)
  t.comment(`rss change ${((process.memoryUsage().rss - before) / 1048576).toFixed(1)} MiB`)
})
