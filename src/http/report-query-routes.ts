import type { FastifyInstance, FastifyReply, FastifySchemaValidationError } from 'fastify'
import type { ReportStore } from '../db/report-store.js'
import { summarizeDomains } from '../db/summarize-domains.js'
import { utcDay } from '../db/utc-day.js'
import { normalizeHostName } from '../domain/host-name.js'
import type { TenantSnapshot } from '../tenants/tenant-snapshot.js'

/** What the report query routes need; `store` absent when `reports.enabled` is off. */
export interface ReportQueryRouteDeps {
  readonly store?: Pick<ReportStore, 'summarize' | 'problems'>
  /** Days a summary covers when the query does not say (`reports.verdict.days`). */
  readonly defaultDays: number
  readonly tenants: () => TenantSnapshot
}

const SUMMARY_QUERY = {
  type: 'object',
  properties: {
    domain: { type: 'array', items: { type: 'string', minLength: 1, maxLength: 253 }, maxItems: 1000 },
    days: { type: 'integer', minimum: 1, maximum: 366 },
    until: { type: 'string', pattern: '^[0-9]{4}-[0-9]{2}-[0-9]{2}$' },
  },
} as const

const PROBLEMS_QUERY = {
  type: 'object',
  properties: { limit: { type: 'integer', minimum: 1, maximum: 1000, default: 100 } },
} as const

/** `invalid query: days must be <= 366`, instead of Fastify's `querystring/days ...`. */
function queryError (errors: FastifySchemaValidationError[]): Error {
  return new Error(`invalid query: ${errors.map(e => `${e.instancePath.replace(/^\//, '').replace(/\//g, '.') || 'query'} ${e.message ?? 'is invalid'}`).join('; ')}`)
}

/**
 * `GET /reports/summary?domain=a.example&domain=b.example&days=7&until=YYYY-MM-DD` (the
 * summary of `reports summary --json`: per domain and day; every domain with reports when no
 * domain is named) and `GET /reports/problems?limit=100` (raw reports flagged invalid or set
 * aside, newest first), on the ops listener. Bad parameters answer 400 naming them; with
 * reports off, 404 saying so; an unreadable database, 503.
 */
export function reportQueryRoutes (app: FastifyInstance, deps: ReportQueryRouteDeps): void {
  const off = (reply: FastifyReply): FastifyReply => reply.code(404).send({ error: 'TLS reports are off (reports.enabled: false)' })
  const unavailable = (reply: FastifyReply, error: unknown): FastifyReply => {
    reply.log.error({ event: 'tls_report_query_failed', err: error }, 'cannot read the report database')
    return reply.code(503).send({ error: `cannot read the report database: ${error instanceof Error ? error.message : String(error)}` })
  }
  app.get<{ Querystring: { domain?: string[], days?: number, until?: string } }>('/reports/summary', { schema: { querystring: SUMMARY_QUERY }, schemaErrorFormatter: queryError, attachValidation: true }, async (request, reply) => {
    reply.header('cache-control', 'no-store')
    if (request.validationError) return reply.code(400).send({ error: request.validationError.message })
    const { store } = deps
    if (store === undefined) return off(reply)
    const domains: string[] = []
    for (const name of request.query.domain ?? []) {
      const domain = normalizeHostName(name)
      if (!domain.ok) return reply.code(400).send({ error: `invalid query: domain "${name}" is not a domain name: ${domain.reason}` })
      domains.push(domain.value)
    }
    const until = request.query.until ?? utcDay(new Date())
    if (Number.isNaN(Date.parse(`${until}T00:00:00Z`))) return reply.code(400).send({ error: `invalid query: until "${until}" is not a date` })
    const byHost = deps.tenants().byHost
    try {
      return await summarizeDomains(store, { domains, days: request.query.days ?? deps.defaultDays, until }, domain => byHost.has(`mta-sts.${domain}`))
    } catch (error) {
      return unavailable(reply, error)
    }
  })
  app.get<{ Querystring: { limit: number } }>('/reports/problems', { schema: { querystring: PROBLEMS_QUERY }, schemaErrorFormatter: queryError, attachValidation: true }, async (request, reply) => {
    reply.header('cache-control', 'no-store')
    if (request.validationError) return reply.code(400).send({ error: request.validationError.message })
    const { store } = deps
    if (store === undefined) return off(reply)
    try {
      return { problems: await store.problems(request.query.limit) }
    } catch (error) {
      return unavailable(reply, error)
    }
  })
}
