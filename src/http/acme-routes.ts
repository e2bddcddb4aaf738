import type { FastifyInstance } from 'fastify'
import { isChallengeToken } from '../acme/challenge-token.js'
import { hostKey } from '../domain/host-name.js'
import { notFound } from './policy-routes.js'

/** Looks up the key authorization of an HTTP-01 challenge, or undefined. */
export type HttpChallengeLookup = (host: string, token: string) => Promise<string | undefined>

/**
 * ACME HTTP-01 answers on the HTTP listener:
 * `GET /.well-known/acme-challenge/<token>` for the hosts `answersFor` accepts
 * (see `isChallengeHost`) and well-formed tokens only; the answer comes
 * from the store, so any instance sharing it answers a challenge another
 * instance started.
 */
export function acmeRoutes (app: FastifyInstance, answersFor: (host: string) => boolean, lookup: HttpChallengeLookup): void {
  app.get<{ Params: { token: string } }>('/.well-known/acme-challenge/:token', async (request, reply) => {
    const host = hostKey(request.headers.host)
    const { token } = request.params
    if (!answersFor(host) || !isChallengeToken(token)) return notFound(reply)
    const keyAuthorization = await lookup(host, token)
    if (keyAuthorization === undefined) return notFound(reply)
    request.log.info({ event: 'acme_challenge_answered', type: 'http-01', host, client: request.ip }, `answered HTTP-01 challenge for ${host}`)
    return reply.header('content-type', 'text/plain').header('cache-control', 'no-store').send(keyAuthorization)
  })
}
