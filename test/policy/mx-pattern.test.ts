import t from 'tap'
import { mxMatches, normalizeMxPattern } from '../../src/policy/mx-pattern.js'

t.test('normalizeMxPattern accepts host names and one left-most wildcard', async t => {
  const table: [string, string][] = [
    ['mx.example.com', 'mx.example.com'],
    ['MX.Example.COM.', 'mx.example.com'],
    ['  mx.example.com  ', 'mx.example.com'],
    ['*.example.net', '*.example.net'],
    ['*.EXAMPLE.net.', '*.example.net'],
    ['*.mx.bücher.example', '*.mx.xn--bcher-kva.example'],
    ['mx.bücher.example', 'mx.xn--bcher-kva.example'],
  ]
  for (const [input, value] of table) t.same(normalizeMxPattern(input), { ok: true, value }, input)
})

t.test('normalizeMxPattern rejects misplaced wildcards and bad names', async t => {
  const wildcard = 'may only use a wildcard as the whole left-most label ("*.example.net")'
  const table: [string, string][] = [
    ['a.*.b.net', wildcard],
    ['**.x.com', wildcard],
    ['*example.com', wildcard],
    ['*', wildcard],
    ['*.*.example.com', wildcard],
    ['mx.*', wildcard],
    ['mx*.example.com', wildcard],
    ['mx_1.example.com', 'has an invalid label "mx_1" (letters, digits and inner hyphens only)'],
    ['*.', 'is empty'],
    ['', 'is empty'],
    ['*.com', 'needs at least two labels (like example.com)'],
    ['mx', 'needs at least two labels (like example.com)'],
    ['192.0.2.1', 'looks like an IP address, not a domain'],
    ['mx.example.com:25', 'has invalid characters (":"): it must be a bare host name (no scheme, port, path or spaces)'],
  ]
  for (const [input, reason] of table) t.same(normalizeMxPattern(input), { ok: false, reason }, input)
})

t.test('mxMatches follows RFC 8461 section 4.1', async t => {
  const table: [string, string, boolean][] = [
    ['mx.example.com', 'mx.example.com', true],
    ['mx.example.com', 'MX.Example.COM', true],
    ['mx.example.com', 'mx.example.com.', true],
    ['mx.example.com', 'mx2.example.com', false],
    ['mx.example.com', 'a.mx.example.com', false],
    ['mx.example.com', 'example.com', false],
    ['*.example.net', 'a.example.net', true],
    ['*.example.net', 'A.EXAMPLE.NET.', true],
    ['*.example.net', 'mx-1.example.net', true],
    ['*.example.net', 'example.net', false],
    ['*.example.net', 'a.b.example.net', false],
    ['*.example.net', '.example.net', false],
    ['*.example.net', 'aexample.net', false],
    ['*.example.net', 'a.example.net.evil.com', false],
    ['*.example.net', 'a.example.org', false],
    ['*.example.net', '', false],
    ['*.example.net', '*.example.net', true], // the literal label "*" is one label
  ]
  for (const [pattern, host, expected] of table) t.equal(mxMatches(pattern, host), expected, `${pattern} ~ ${host}`)
})
