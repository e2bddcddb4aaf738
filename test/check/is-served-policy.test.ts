import t from 'tap'
import { isServedPolicy } from '../../src/check/is-served-policy.js'

const served = { mode: 'enforce', mx: ['mx1.example.com', '*.mx.example.com'] }

t.test('the same mode and mx set, in any order, case or repetition, with or without a trailing dot', async t => {
  t.ok(isServedPolicy({ type: 'sts', mode: 'enforce', mx: ['mx1.example.com', '*.mx.example.com'] }, served))
  t.ok(isServedPolicy({ type: 'STS', mode: ' Enforce', mx: ['*.MX.example.com.', 'mx1.example.com', 'MX1.example.com'] }, served))
})

t.test('anything else is another policy', async t => {
  t.notOk(isServedPolicy({ type: 'sts', mode: 'testing', mx: served.mx }, served), 'other mode')
  t.notOk(isServedPolicy({ type: 'sts', mode: 'enforce', mx: ['mx1.example.com'] }, served), 'fewer mx')
  t.notOk(isServedPolicy({ type: 'sts', mode: 'enforce', mx: [...served.mx, 'mx2.example.com'] }, served), 'more mx')
  t.notOk(isServedPolicy({ type: 'sts', mode: null, mx: served.mx }, served), 'not fetched')
  t.notOk(isServedPolicy({ type: 'tlsa', mode: 'enforce', mx: served.mx }, served), 'not sts')
  t.notOk(isServedPolicy({ type: 'no-policy-found', mode: null, mx: [] }, { mode: 'none', mx: [] }), 'no policy is not a served one')
})
