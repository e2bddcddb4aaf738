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

t.test('a name already in normal form comes back as it is; every other goes through the full checks', async t => {
  const long = (n: number): string => `${'a'.repeat(n - 4)}.com`
  const label63 = 'b'.repeat(63)
  t.same(normalizeHostName('t1.bench.example'), { ok: true, value: 't1.bench.example' })
  t.same(normalizeHostName(`${label63}.example`), { ok: true, value: `${label63}.example` })
  t.same(normalizeHostName('1.2.example'), { ok: true, value: '1.2.example' }, 'digits are fine but in the last label')
  t.same(normalizeHostName('a-b.c--d.example'), { ok: true, value: 'a-b.c--d.example' })
  t.equal(normalizeHostName(long(253)).ok, false, 'a label of 249 characters')
  const at253 = `${[label63, label63, label63].join('.')}.${'c'.repeat(61)}`
  t.equal(at253.length, 253)
  t.same(normalizeHostName(at253), { ok: true, value: at253 })
  t.same(normalizeHostName(`${at253}x`), { ok: false, reason: 'is longer than 253 characters' })
  t.same(normalizeHostName(`${'b'.repeat(64)}.example`).ok, false)
  t.same(normalizeHostName('example.123'), { ok: false, reason: 'looks like an IP address, not a domain' })
  t.same(normalizeHostName('example'), { ok: false, reason: 'needs at least two labels (like example.com)' })
  t.same(normalizeHostName('Example.com'), { ok: true, value: 'example.com' })
  t.same(normalizeHostName('example.com.'), { ok: true, value: 'example.com' })
})

t.test('the shortcut agrees with the full checks on random names', async t => {
  // A leading space is trimmed by the full checks and keeps a name off the shortcut: the same name both ways.
  const alphabet = 'ab0-.-.aZ'
  let seed = 7
  const random = (n: number): number => { seed = (seed * 1103515245 + 12345) % 2147483648; return seed % n }
  let agreed = 0
  for (let i = 0; i < 20_000; i++) {
    const length = 1 + random(i % 10 === 0 ? 260 : 16)
    let name = ''
    for (let j = 0; j < length; j++) name += alphabet[random(alphabet.length)]
    if (JSON.stringify(normalizeHostName(name)) !== JSON.stringify(normalizeHostName(` ${name}`))) t.fail(`${JSON.stringify(name)}: ${JSON.stringify(normalizeHostName(name))}`)
    else agreed++
  }
  t.equal(agreed, 20_000)
})
