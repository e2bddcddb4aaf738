import t from 'tap'
import { renderPolicy, type PolicyFields } from '../../src/policy/render-policy.js'

t.test('byte-exact bodies', async t => {
  const table: [PolicyFields, string][] = [
    [{ mode: 'enforce', mx: ['mx1.example.com', '*.mx.example.net'], maxAge: 604800 },
      'version: STSv1\r\nmode: enforce\r\nmx: mx1.example.com\r\nmx: *.mx.example.net\r\nmax_age: 604800\r\n'],
    [{ mode: 'testing', mx: ['mail.example.org'], maxAge: 86400 },
      'version: STSv1\r\nmode: testing\r\nmx: mail.example.org\r\nmax_age: 86400\r\n'],
    [{ mode: 'none', mx: ['xn--bcher-kva.example'], maxAge: 0 },
      'version: STSv1\r\nmode: none\r\nmx: xn--bcher-kva.example\r\nmax_age: 0\r\n'],
    [{ mode: 'enforce', mx: ['a.example', 'b.example', 'c.example'], maxAge: 31557600 },
      'version: STSv1\r\nmode: enforce\r\nmx: a.example\r\nmx: b.example\r\nmx: c.example\r\nmax_age: 31557600\r\n'],
  ]
  for (const [fields, body] of table) t.equal(renderPolicy(fields), body, JSON.stringify(fields))
})

t.test('format rules of RFC 8461 section 3.2', async t => {
  const inputs: PolicyFields[] = [
    { mode: 'enforce', mx: ['mx1.example.com', '*.mx.example.net'], maxAge: 604800 },
    { mode: 'testing', mx: ['a.example'], maxAge: 1 },
    { mode: 'none', mx: ['a.example', 'b.example'], maxAge: 1209600 },
  ]
  for (const fields of inputs) {
    const body = renderPolicy(fields)
    const name = JSON.stringify(fields)
    t.ok(body.startsWith('version: STSv1\r\n'), `${name}: version first`)
    t.ok(body.endsWith('\r\n') && !body.endsWith('\r\n\r\n'), `${name}: exactly one trailing CRLF`)
    t.notMatch(body, /\r\n\r\n/, `${name}: no blank lines`)
    t.notMatch(body, /(^|[^\r])\n/, `${name}: no bare LF`)
    t.notMatch(body, /\r(?!\n)/, `${name}: no bare CR`)
    t.match(body, /^[\x20-\x7e\r\n]*$/, `${name}: printable ASCII only`)
    const lines = body.slice(0, -2).split('\r\n')
    t.equal(lines.length, 3 + fields.mx.length, `${name}: one line per field`)
    const keys = lines.map(l => {
      t.match(l, /^[a-z_]+: \S+$/, `${name}: "${l}" is key: value without space before the colon`)
      return l.slice(0, l.indexOf(':'))
    })
    const nonMx = keys.filter(k => k !== 'mx')
    t.same(nonMx, ['version', 'mode', 'max_age'], `${name}: no repeated keys other than mx`)
    t.same(lines.filter(l => l.startsWith('mx: ')).map(l => l.slice(4)), fields.mx, `${name}: mx in order`)
  }
})
