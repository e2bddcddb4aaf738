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

t.test('requireBearerToken leaves delegated path prefixes to their own check', async t => {
  const { default: Fastify } = await import('fastify')
  const { requireBearerToken } = await import('../../src/http/require-bearer-token.js')
  const app = Fastify()
  t.teardown(() => app.close())
  requireBearerToken(app, 'tok', ['/healthz'], ['/ui'])
  for (const path of ['/ui', '/ui/', '/ui/x', '/uix', '/other', '/healthz']) app.get(path, async () => 'ok')
  const status = async (url: string, authorization?: string): Promise<number> => (await app.inject({ url, ...(authorization ? { headers: { authorization } } : {}) })).statusCode
  t.same(await Promise.all(['/ui', '/ui/?a=1', '/ui/x', '/healthz'].map(u => status(u))), [200, 200, 200, 200])
  t.same(await Promise.all(['/uix', '/other'].map(u => status(u))), [401, 401], 'only the prefix itself and paths below it')
  t.equal(await status('/other', 'Bearer tok'), 200)
})
