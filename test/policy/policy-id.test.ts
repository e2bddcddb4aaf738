import { createHash } from 'node:crypto'
import t from 'tap'
import { policyId } from '../../src/policy/policy-id.js'
import { renderPolicy, type PolicyFields } from '../../src/policy/render-policy.js'

const base: PolicyFields = { mode: 'enforce', mx: ['mx1.example.com', '*.mx.example.net'], maxAge: 604800 }

t.test('the id is 1-32 alphanumerics (RFC 8461 section 3.1)', async t => {
  for (const body of ['', 'x', renderPolicy(base), 'ü'.repeat(1000)]) {
    t.match(policyId(body), /^[A-Za-z0-9]{1,32}$/)
  }
  t.equal(policyId(renderPolicy(base)).length, 32)
  t.equal(policyId('abc'), createHash('sha256').update('abc').digest('hex').slice(0, 32), 'first 128 bits of SHA-256')
})

t.test('the id is stable for the same body', async t => {
  t.equal(policyId(renderPolicy(base)), policyId(renderPolicy({ ...base, mx: [...base.mx] })))
  // A fixed value: ids published in DNS must not change between releases for an unchanged policy.
  t.equal(policyId('version: STSv1\r\nmode: enforce\r\nmx: mx1.example.com\r\nmx: *.mx.example.net\r\nmax_age: 604800\r\n'), '0fa693496f486611cde0b17de600d703')
})

t.test('the id changes when mode, mx or max_age changes', async t => {
  const id = policyId(renderPolicy(base))
  const variants: [string, PolicyFields][] = [
    ['mode', { ...base, mode: 'testing' }],
    ['mode none', { ...base, mode: 'none' }],
    ['mx added', { ...base, mx: [...base.mx, 'mx2.example.com'] }],
    ['mx removed', { ...base, mx: ['mx1.example.com'] }],
    ['mx renamed', { ...base, mx: ['mx9.example.com', '*.mx.example.net'] }],
    ['mx reordered', { ...base, mx: ['*.mx.example.net', 'mx1.example.com'] }],
    ['max_age', { ...base, maxAge: 604801 }],
  ]
  const ids = new Set([id])
  for (const [name, fields] of variants) {
    const other = policyId(renderPolicy(fields))
    t.not(other, id, name)
    ids.add(other)
  }
  t.equal(ids.size, variants.length + 1, 'all distinct')
})
