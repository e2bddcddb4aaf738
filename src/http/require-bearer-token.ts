import { createHash, timingSafeEqual } from 'node:crypto'
import type { FastifyInstance, FastifyRequest } from 'fastify'

const digest = (value: string): Buffer => createHash('sha256').update(value).digest()

/**
 * Whether an `Authorization` header carries `Bearer <token>`. The
 * comparison takes the same time whatever the value (both sides are hashed
 * to equal lengths, then compared with `timingSafeEqual`).
 */
export function bearerTokenMatches (authorization: string | undefined, token: string): boolean {
  const match = /^bearer +(\S+) *$/i.exec(authorization ?? '')
  return timingSafeEqual(digest(match?.[1] ?? ''), digest(token)) && match !== null
}

/**
 * Require `Authorization: Bearer <token>` on every route of `app` except
 * the paths in `open` and those under the path prefixes in `delegated` (whose
 * routes check credentials themselves, like the dashboard's HTTP Basic):
 * others get `401` with `WWW-Authenticate: Bearer`.
 * Returns the check, for routes in `open` that show more to an authorized caller.
 */
export function requireBearerToken (app: FastifyInstance, token: string, open: readonly string[], delegated: readonly string[] = []): (request: FastifyRequest) => boolean {
  const authorized = (request: FastifyRequest): boolean => bearerTokenMatches(request.headers.authorization, token)
  app.addHook('onRequest', (request, reply, done) => {
    const path = request.url.split('?', 1)[0] as string
    if (open.includes(path) || delegated.some(prefix => path === prefix || path.startsWith(`${prefix}/`)) || authorized(request)) return done()
    reply.code(401).header('www-authenticate', 'Bearer realm="mta-sts-host ops"').header('cache-control', 'no-store')
      .send({ error: 'unauthorized', message: 'this ops route needs Authorization: Bearer <token from listen.ops.token_file>' })
  })
  return authorized
}
