import t from 'tap'
import { normalizeDomain } from '../../src/config/normalize-domain.js'

t.test('normalises case, trailing dot and Unicode', async t => {
  t.same(normalizeDomain('Example.COM.'), { ok: true, value: 'example.com' })
  t.same(normalizeDomain('bücher.example'), { ok: true, value: 'xn--bcher-kva.example' })
  t.same(normalizeDomain(' EXAMPLE.org '), { ok: true, value: 'example.org' })
})

t.test('rejects what cannot be a domain', async t => {
  for (const bad of ['', '.', 'localhost', 'a..b.com', 'under_score.com', '-lead.com', 'trail-.com', 'https://example.com', 'example.com:443', '192.168.0.1', `${'a'.repeat(64)}.com`]) {
    const result = normalizeDomain(bad)
    t.equal(result.ok, false, `${JSON.stringify(bad)} is rejected`)
  }
})

t.test('characters that cannot be in a host name are named before labels are checked', async t => {
  t.same(normalizeDomain('../../etc'), { ok: false, reason: 'has invalid characters ("/"): it must be a bare host name (no scheme, port, path or spaces)' })
  t.same(normalizeDomain('..\\..\\etc'), { ok: false, reason: 'has invalid characters ("\\\\"): it must be a bare host name (no scheme, port, path or spaces)' })
  t.same(normalizeDomain('a..b.com'), { ok: false, reason: 'has an empty label' })
})
