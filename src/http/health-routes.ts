import type { FastifyInstance, FastifyRequest } from 'fastify'

/** The readiness verdict and why, as served on `/readyz`. */
export interface Readiness {
  readonly ready: boolean
  /** Why the instance is not ready (empty when ready): generic phrases that name no path, host or tenant. */
  readonly reasons: readonly string[]
  /** Configuration and certificate details for operators (paths, reload errors, host names). */
  readonly details: Record<string, unknown>
}

/**
 * `/healthz` (liveness: 200 while the process answers) and `/readyz`
 * (readiness: 200 when it should get traffic, 503 with reasons otherwise).
 * `readiness` may answer asynchronously (a worker asks the primary process).
 * `/readyz` adds the readiness details only where `showDetails` says so: never on the
 * public `http` listener, and on `ops` only to authorized callers when it has a token.
 */
export function healthRoutes (app: FastifyInstance, readiness: () => Readiness | Promise<Readiness>, showDetails: (request: FastifyRequest) => boolean): void {
  app.get('/healthz', (_request, reply) => {
    return reply.header('cache-control', 'no-store').send({ status: 'ok' })
  })
  app.get('/readyz', async (request, reply) => {
    // A worker of `serve --workers` asks the primary: a promise there.
    const state = await readiness()
    return reply.code(state.ready ? 200 : 503).header('cache-control', 'no-store').send({
      status: state.ready ? 'ready' : 'not ready',
      reasons: state.reasons,
      ...(showDetails(request) ? state.details : {}),
    })
  })
}
