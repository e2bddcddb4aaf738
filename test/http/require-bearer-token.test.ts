import t from 'tap'
import { bearerTokenMatches } from '../../src/http/require-bearer-token.js'

t.test('bearerTokenMatches', async t => {
  const token = 'abc.DEF-123'
  t.ok(bearerTokenMatches(`Bearer ${token}`, token))
  t.ok(bearerTokenMatches(`bearer  ${token} `, token), 'scheme case and spaces')
  for (const header of [undefined, '', 'Bearer', 'Bearer ', `Basic ${token}`, `Bearer ${token}x`, `Bearer ${token.slice(1)}`, `Bearer ${token} extra`, token]) {
    t.notOk(bearerTokenMatches(header, token), JSON.stringify(header))
  }
  t.notOk(bearerTokenMatches(undefined, ''), 'an empty token matches nothing')
})
