import { createServer } from 'node:http'
import { connect, type Socket } from 'node:net'
import { PassThrough } from 'node:stream'
import t, { type Test } from 'tap'
import { policyHeaders } from '../../src/http/policy-headers.js'
import { MAX_RESPONSE_HEADS, policyResponses } from '../../src/http/policy-responses.js'

const BODY = Buffer.from('version: STSv1\r\nmode: enforce\r\nmx: mx1.example.com\r\nmax_age: 604800\r\n')

/** What Node's HTTP server writes for `res.writeHead(200, policyHeaders(n)); res.end(body)` to `request`. */
async function nodeWrites (request: string): Promise<string> {
  const server = createServer({ keepAliveTimeout: 30_000 }, (_req, res) => { res.writeHead(200, policyHeaders(BODY.length)).end(BODY) })
  server.keepAliveTimeout = 30_000
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  try {
    return await new Promise<string>((resolve, reject) => {
      const socket = connect({ host: '127.0.0.1', port: (server.address() as { port: number }).port }, () => socket.write(request))
      let text = ''
      socket.on('data', (c: Buffer) => {
        text += c.toString('latin1')
        // HEAD has no body; otherwise the answer ends with it.
        if (text.endsWith(request.startsWith('HEAD') ? '\r\n\r\n' : BODY.toString('latin1'))) { socket.destroy(); resolve(text) }
      })
      socket.on('error', reject)
    })
  } finally {
    server.closeAllConnections()
    server.close()
  }
}

/** What {@link policyResponses} writes, as one string. */
function ours (head: boolean, close: boolean, body = BODY, responses = policyResponses(30_000)): string {
  const socket = new PassThrough()
  responses.write(socket as unknown as Socket, body, head, close)
  return (socket.read() as Buffer).toString('latin1')
}

/** The answer with its Date line's value replaced, after checking it is a date within 5 s of now. */
function withoutDate (t: Test, text: string): string {
  const date = /\r\nDate: ([^\r]+)\r\n/.exec(text)?.[1]
  t.ok(date !== undefined && Math.abs(Date.parse(date) - Date.now()) < 5000, `a current Date (${date})`)
  return text.replace(/\r\nDate: [^\r]+\r\n/, '\r\nDate: -\r\n')
}

t.test('the bytes Node writes for the same answer, but for the date', async t => {
  const get = 'GET /.well-known/mta-sts.txt HTTP/1.1\r\nhost: mta-sts.example.com\r\n\r\n'
  t.equal(withoutDate(t, ours(false, false)), withoutDate(t, await nodeWrites(get)), 'keep-alive')
  t.equal(withoutDate(t, ours(false, true)), withoutDate(t, await nodeWrites(get.replace('\r\n\r\n', '\r\nconnection: close\r\n\r\n'))), 'Connection: close')
  t.equal(withoutDate(t, ours(true, false)), withoutDate(t, await nodeWrites(get.replace('GET', 'HEAD'))), 'HEAD')
})

t.test('the Date line follows the clock', async t => {
  const responses = policyResponses(30_000)
  const first = /Date: ([^\r]+)/.exec(ours(false, false, BODY, responses))?.[1]
  await new Promise(resolve => setTimeout(resolve, 1100))
  const second = /Date: ([^\r]+)/.exec(ours(false, false, BODY, responses))?.[1]
  t.not(first, second)
  t.ok(Date.parse(second ?? '') > Date.parse(first ?? ''))
})

t.test('more body lengths than heads kept: every answer still has its own length', async t => {
  const responses = policyResponses(30_000)
  const wrong: number[] = []
  for (const length of [...Array.from({ length: MAX_RESPONSE_HEADS + 2 }, (_, i) => i + 1), 1]) {
    const text = ours(false, false, Buffer.alloc(length, 'a'), responses)
    if (!text.includes(`\r\ncontent-length: ${length}\r\n`) || !text.endsWith(`\r\n\r\n${'a'.repeat(length)}`)) wrong.push(length)
  }
  t.same(wrong, [])
})
