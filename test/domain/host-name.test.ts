import t from 'tap'
import { foldHostName, hostKey, normalizeHostName } from '../../src/domain/host-name.js'

t.test('normalises case, trailing dot and Unicode', async t => {
  t.same(normalizeHostName('Example.COM.'), { ok: true, value: 'example.com' })
  t.same(normalizeHostName('bücher.example'), { ok: true, value: 'xn--bcher-kva.example' })
  t.same(normalizeHostName(' EXAMPLE.org '), { ok: true, value: 'example.org' })
})

t.test('rejects what cannot be a domain', async t => {
  for (const bad of ['', '.', 'localhost', 'a..b.com', 'under_score.com', '-lead.com', 'trail-.com', 'https://example.com', 'example.com:443', '192.168.0.1', `${'a'.repeat(64)}.com`]) {
    const result = normalizeHostName(bad)
    t.equal(result.ok, false, `${JSON.stringify(bad)} is rejected`)
  }
})

t.test('characters that cannot be in a host name are named before labels are checked', async t => {
  t.same(normalizeHostName('../../etc'), { ok: false, reason: 'has invalid characters ("/"): it must be a bare host name (no scheme, port, path or spaces)' })
  t.same(normalizeHostName('..\\..\\etc'), { ok: false, reason: 'has invalid characters ("\\\\"): it must be a bare host name (no scheme, port, path or spaces)' })
  t.same(normalizeHostName('a..b.com'), { ok: false, reason: 'has an empty label' })
})

t.test('foldHostName: lower case, one trailing dot dropped, no validation', async t => {
  t.equal(foldHostName('MX1.Example.NET.'), 'mx1.example.net')
  t.equal(foldHostName('mx1.example.net'), 'mx1.example.net')
  t.equal(foldHostName('.'), '', 'the null MX')
  t.equal(foldHostName('under_score.example.'), 'under_score.example')
})

t.test('hostKey: Host headers and server names without case, port or trailing dot', async t => {
  t.equal(hostKey('MTA-STS.Example.COM.'), 'mta-sts.example.com')
  t.equal(hostKey('mta-sts.example.com:8443'), 'mta-sts.example.com')
  t.equal(hostKey('mta-sts.example.com.:443'), 'mta-sts.example.com')
  t.equal(hostKey('[::1]:443'), '', 'IPv6 literals are never tenant hosts')
  t.equal(hostKey(''), '')
  t.equal(hostKey(undefined), '')
})
