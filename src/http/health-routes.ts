import type { FastifyInstance } from 'fastify'

/** The readiness verdict and why, as served on `/readyz`. */
export interface Readiness {
  readonly ready: boolean
  /** Why the instance is not ready (empty when ready). */
  readonly reasons: readonly string[]
  /** Configuration and certificate details for operators. */
  readonly details: Record<string, unknown>
}

/**
 * `/healthz` (liveness: 200 while the process answers) and `/readyz`
 * (readiness: 200 when it should get traffic, 503 with reasons otherwise).
 */
export function healthRoutes (app: FastifyInstance, readiness: () => Readiness): void {
  app.get('/healthz', (_request, reply) => {
    return reply.header('cache-control', 'no-store').send({ status: 'ok' })
  })
  app.get('/readyz', (_request, reply) => {
    const state = readiness()
    return reply.code(state.ready ? 200 : 503).header('cache-control', 'no-store').send({
      status: state.ready ? 'ready' : 'not ready',
      reasons: state.reasons,
      ...state.details,
    })
  })
}
