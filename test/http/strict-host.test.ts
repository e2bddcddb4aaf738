import { once } from 'node:events'
import { connect as netConnect, type Socket } from 'node:net'
import { connect as tlsConnect } from 'node:tls'
import t from 'tap'
import { startService } from '../helpers/service-harness.js'

const TENANTS = 'tenants:\n  example.com:\n    mx: [mx1.example.com]\n  example.org:\n    mx: [mail.example.org]\n'

/** Send `head` (request line and headers, CRLF-separated, without the blank line) and read the answer until close. */
async function exchange (socket: Socket, head: string): Promise<string> {
  socket.on('error', () => {})
  let answer = ''
  socket.on('data', (c: Buffer) => { answer += c.toString() })
  socket.write(`${head}\r\nConnection: close\r\n\r\n`)
  await once(socket, 'close')
  return answer
}

t.test('https and http listeners: ambiguous Host is 400, never a policy', async t => {
  const h = await startService(t, TENANTS)
  const https = async (head: string): Promise<string> => {
    const s = tlsConnect({ host: '127.0.0.1', port: h.addresses.https.port, servername: 'mta-sts.example.com', ca: h.caPem })
    await once(s, 'secureConnect')
    return exchange(s, head)
  }
  const http = async (head: string): Promise<string> => {
    const s = netConnect(h.addresses.http.port, '127.0.0.1')
    await once(s, 'connect')
    return exchange(s, head)
  }
  const status = (answer: string): number => Number(/^HTTP\/1\.1 (\d{3}) /.exec(answer)?.[1])
  const path = '/.well-known/mta-sts.txt'

  t.equal(status(await https(`GET ${path} HTTP/1.1\r\nHost: mta-sts.example.com`)), 200, 'one Host: served')
  for (const second of ['mta-sts.example.org', 'mta-sts.example.com']) {
    const answer = await https(`GET ${path} HTTP/1.1\r\nHost: mta-sts.example.com\r\nHost: ${second}`)
    t.equal(status(answer), 400, `two Host headers (${second}): 400`)
    t.notMatch(answer, /STSv1|example\./, 'no policy, no names')
  }
  t.equal(status(await https(`GET ${path} HTTP/1.1\r\nHost: mta-sts.example.com\r\nhOsT: mta-sts.example.com`)), 400, 'whatever the case of the name')
  const other = await https(`GET https://mta-sts.example.org${path} HTTP/1.1\r\nHost: mta-sts.example.com`)
  t.equal(status(other), 400, 'absolute URI naming another host: 400')
  t.notMatch(other, /STSv1/)
  t.equal(status(await https(`GET http://evil.example${path} HTTP/1.1\r\nHost: mta-sts.example.com`)), 400, 'another scheme and host: 400')
  t.equal(status(await https(`GET https://user@mta-sts.example.com${path} HTTP/1.1\r\nHost: mta-sts.example.com`)), 400, 'user info: 400')
  for (const uri of [`https://mta-sts.example.com${path}`, `HTTPS://MTA-STS.Example.COM:443${path}`]) {
    t.equal(status(await https(`GET ${uri} HTTP/1.1\r\nHost: mta-sts.example.com`)), 200, `same authority (${uri}): served`)
  }
  t.equal(status(await https(`GET https://mta-sts.example.com${path} HTTP/1.1\r\nHost: mta-sts.example.com:443`)), 200, 'default port in Host only')
  t.equal(status(await https(`GET https://mta-sts.example.com:8443${path} HTTP/1.1\r\nHost: mta-sts.example.com`)), 400, 'another port: 400')

  t.equal(status(await http('GET /healthz HTTP/1.1\r\nHost: 127.0.0.1')), 200)
  t.equal(status(await http('GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nHost: 127.0.0.1')), 400, 'http: two Host headers')
  t.equal(status(await http('GET http://other.example/healthz HTTP/1.1\r\nHost: 127.0.0.1')), 400, 'http: absolute URI naming another host')
  t.equal(status(await http('GET http://LOCALHOST:80/healthz HTTP/1.1\r\nHost: localhost')), 200, 'http: same authority')
  t.equal(status(await http('GET http://other.example/healthz HTTP/1.0')), 400, 'http/1.0: absolute URI without a Host header')
  t.equal(status(await http('GET * HTTP/1.1\r\nHost: localhost')), 404, 'asterisk form: not ambiguous, not found')
})
