import t from 'tap'
import { MAX_POLICY_REQUEST_HEADERS, parsePolicyRequest } from '../../src/http/parse-policy-request.js'

const GET = 'GET /.well-known/mta-sts.txt HTTP/1.1'
const request = (...lines: string[]): string => [...lines, '', ''].join('\r\n')

t.test('what senders send: method, host, user agent, close and where the next request starts', async t => {
  const text = request(GET, 'Host: mta-sts.example.com', 'User-Agent: Postfix/3.8', 'Accept: */*')
  t.same(parsePolicyRequest(text, 0), { method: 'GET', host: 'mta-sts.example.com', userAgent: 'Postfix/3.8', close: false, end: text.length })
  const head = request('HEAD /.well-known/mta-sts.txt HTTP/1.1', 'host:   mta-sts.example.com:443  ', 'connection: keep-alive, Close')
  t.same(parsePolicyRequest(head, 0), { method: 'HEAD', host: 'mta-sts.example.com:443', userAgent: undefined, close: true, end: head.length })
  t.match(parsePolicyRequest(request(GET, 'Host: a', 'User-Agent: first', 'User-Agent: second'), 0), { userAgent: 'first' }, 'the first User-Agent, as Node keeps it')
  t.match(parsePolicyRequest(request(GET, 'Host: a', 'Connection: keep-alive'), 0), { close: false })
})

t.test('pipelined requests: each is read at its offset', async t => {
  const first = request(GET, 'Host: a')
  const second = request('HEAD /.well-known/mta-sts.txt HTTP/1.1', 'Host: b')
  const text = first + second + 'GET /.well-known/mta-sts.txt HTTP/1.1\r\nHost: c\r\n'
  t.match(parsePolicyRequest(text, 0), { host: 'a', end: first.length })
  t.match(parsePolicyRequest(text, first.length), { method: 'HEAD', host: 'b', end: first.length + second.length })
  t.equal(parsePolicyRequest(text, first.length + second.length), undefined, 'the third is not complete yet')
})

t.test('anything else is left to Node', async t => {
  const cases: [string, string][] = [
    [request('GET /.well-known/mta-sts.txt?x=1 HTTP/1.1', 'Host: a'), 'a query string'],
    [request('GET /.well-known/MTA-STS.txt HTTP/1.1', 'Host: a'), 'another path'],
    [request('POST /.well-known/mta-sts.txt HTTP/1.1', 'Host: a', 'Content-Length: 0'), 'another method'],
    [request('get /.well-known/mta-sts.txt HTTP/1.1', 'Host: a'), 'a method not in upper case'],
    [request('GET /.well-known/mta-sts.txt HTTP/1.0', 'Host: a'), 'HTTP/1.0'],
    [request('GET https://a/.well-known/mta-sts.txt HTTP/1.1', 'Host: a'), 'an absolute URI'],
    [request('GET  /.well-known/mta-sts.txt HTTP/1.1', 'Host: a'), 'two spaces'],
    [request(GET), 'no Host'],
    [request(GET, 'Host: a', 'Host: a'), 'two Host headers'],
    [request(GET, 'Host: a', 'Content-Length: 0'), 'Content-Length'],
    [request(GET, 'Host: a', 'Transfer-Encoding: chunked'), 'Transfer-Encoding'],
    [request(GET, 'Host: a', 'Upgrade: h2c', 'Connection: Upgrade'), 'Upgrade'],
    [request(GET, 'Host: a', 'Connection: upgrade'), 'a Connection naming upgrade'],
    [request(GET, 'Host: a', 'Expect: 100-continue'), 'Expect'],
    [request(GET, 'Host : a'), 'a space before the colon'],
    [request(GET, 'Host: a', ' folded'), 'an obs-fold continuation line'],
    [request(GET, 'Host: a', 'X-A: b\rc'), 'a bare CR in a value'],
    [`${GET}\r\nHost: a\nX: b\r\n\r\n`, 'a bare LF'],
    [`${GET}\nHost: a\r\n\r\n`, 'a request line ending in a bare LF'],
    [request(GET, 'Host: a', 'X-A: \u0001'), 'a control character'],
    [request(GET, 'Host: a', 'X-A: caf\u00e9'), 'an 8-bit character'],
    [request(GET, 'Host: a', 'X-A: \u007f'), 'DEL'],
    [request(GET, 'Host: a', ': empty name'), 'an empty header name'],
    [request(GET, 'Host: a', 'X(A): b'), 'a header name that is no token'],
    [request(GET, 'Host: a', 'no colon'), 'a header line without colon'],
    [request(GET, ...Array.from({ length: MAX_POLICY_REQUEST_HEADERS }, (_, i) => `X-${i}: y`), 'Host: a'), 'more header lines than kept'],
    [`${GET}\r\nHost: a\r\n`, 'no blank line yet'],
    [`${GET}\r\nHost: a`, 'a header line not complete'],
    ['GET /.well-known/mta-sts', 'a request line not complete'],
    ['', 'nothing'],
  ]
  for (const [text, what] of cases) t.equal(parsePolicyRequest(text, 0), undefined, what)
  t.ok(parsePolicyRequest(request(GET, ...Array.from({ length: MAX_POLICY_REQUEST_HEADERS - 1 }, (_, i) => `X-${i}: y`), 'Host: a'), 0), 'as many header lines as kept')
  t.ok(parsePolicyRequest(request(GET, 'Host: a', 'X-A: tab\tand ~!'), 0), 'tabs and visible characters in a value')
})
