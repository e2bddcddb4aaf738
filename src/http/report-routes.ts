import type { Readable } from 'node:stream'
import rateLimit from '@fastify/rate-limit'
import pThrottle from 'p-throttle'
import type { FastifyInstance, FastifyReply } from 'fastify'
import type { ReportSettings } from '../config/types.js'
import { hostKey } from '../domain/host-name.js'
import type { Metrics } from '../metrics.js'
import { isGzip } from '../reports/is-gzip.js'
import { readReportBody } from '../reports/read-report-body.js'
import { startsLikeJson } from '../reports/starts-like-json.js'
import type { ReportSink } from '../reports/types.js'
import type { TenantSnapshot } from '../tenants/tenant-snapshot.js'
import { notFound } from './policy-routes.js'

/** What the report route needs. */
export interface ReportRouteDeps {
  readonly sink: ReportSink
  readonly settings: ReportSettings
  readonly metrics: Metrics
  readonly tenants: () => TenantSnapshot
}

const TEXT = 'text/plain; charset=utf-8'
/** Uploads wait at most about this long for their turn; beyond that many waiting, 503. */
const MAX_WAIT_SECONDS = 30

/**
 * `POST <reports.https_path>` on every tenant's `mta-sts.` host: TLS report upload (RFC 8460
 * section 3). The label (`application/tlsrpt+gzip|json`) is not trusted: the body is sniffed.
 * Bounded as sent (`max_body_bytes`) and once inflated (`max_report_bytes`, and `max_ratio`
 * times its size), inflated as a stream that keeps nothing; rate limited per client address.
 * Answers 201 once the raw report is committed to the report database (200 for a duplicate,
 * 400 naming the problem for one kept but flagged invalid), 413 for too large, 415 for a body
 * that is neither gzip nor JSON, 503 while the database cannot take it (senders retry).
 */
export async function reportRoutes (app: FastifyInstance, deps: ReportRouteDeps): Promise<void> {
  const { settings, metrics } = deps
  const rejected = (reply: FastifyReply, code: number, message: string): FastifyReply => {
    metrics.tlsReports.inc({ transport: 'https', outcome: 'rejected' })
    return reply.code(code).header('content-type', TEXT).send(`${message}\n`)
  }
  await app.register(async scope => {
    scope.removeAllContentTypeParsers()
    // The body is read, sniffed and measured as it arrives (not buffered whole first), so an
    // oversized or bomb upload is cut off after its first chunks.
    scope.addContentTypeParser('*', { bodyLimit: settings.maxBodyBytes }, async (_request: unknown, payload: Readable) => {
      const body = await readReportBody(payload, settings)
      if (!body.ok) throw Object.assign(new Error(`report too large: ${body.reason}`), { statusCode: 413 })
      return body.bytes
    })
    await scope.register(rateLimit, {
      global: false,
      max: settings.rateLimit.max,
      timeWindow: settings.rateLimit.window * 1000,
      // Every client address gets its own budget; the store is bounded (LRU of 5,000 addresses).
      cache: 5000,
      onExceeded: () => { metrics.tlsReports.inc({ transport: 'https', outcome: 'rejected' }) },
    })
    // Service-wide pacing, so a burst of uploads cannot take the CPU that policy fetches need:
    // `ingest_rate` uploads a second go ahead, the others wait before their body is read (after the
    // per-address rate limit, which runs on request).
    const stop = new AbortController()
    const slots = Math.max(1, Math.ceil(settings.ingestRate / 10))
    const admit = pThrottle({ limit: slots, interval: Math.round(1000 * slots / settings.ingestRate), signal: stop.signal })(async () => undefined)
    const maxWaiting = settings.ingestRate * MAX_WAIT_SECONDS
    scope.addHook('onClose', async () => { stop.abort(new Error('closing')) })
    const busy = async (reply: FastifyReply): Promise<FastifyReply> => {
      metrics.tlsReports.inc({ transport: 'https', outcome: 'rejected' })
      return await reply.code(503).header('retry-after', String(MAX_WAIT_SECONDS)).header('content-type', TEXT).send('too many reports waiting; retry later\n')
    }
    // The only route of this scope is the upload.
    scope.addHook('preParsing', async (_request, reply) => {
      if (admit.queueSize >= maxWaiting) return await busy(reply)
      // Rejected only when the service closes: the upload was not taken, the sender retries.
      await admit().catch(async () => await busy(reply))
    })
    scope.setErrorHandler((error: { statusCode?: number, message: string }, _request, reply) => {
      const code = error.statusCode ?? 500
      if (code === 413) return rejected(reply, 413, error.message)
      if (code === 429) return reply.code(429).header('content-type', TEXT).send('too many reports from this address; retry later\n')
      return rejected(reply, code >= 400 && code < 500 ? code : 500, code >= 500 ? 'internal error' : error.message)
    })
    scope.post(settings.httpsPath, { config: { rateLimit: { max: settings.rateLimit.max, timeWindow: settings.rateLimit.window * 1000 } } }, async (request, reply) => {
      const host = request.headers.host
      const byHost = deps.tenants().byHost
      if ((host === undefined ? undefined : byHost.get(host) ?? byHost.get(hostKey(host))) === undefined) return notFound(reply)
      const body = request.body
      if (!Buffer.isBuffer(body) || body.length === 0) return rejected(reply, 400, 'empty body: expected a TLS report (gzip or JSON)')
      if (!isGzip(body) && !startsLikeJson(body)) {
        return rejected(reply, 415, 'not a TLS report: expected gzip or a JSON object')
      }
      let outcome
      try {
        outcome = await deps.sink.submit({ bytes: body, transport: 'https', source: request.ip, label: request.headers['content-type'] ?? '' })
      } catch (error) {
        request.log.error({ event: 'tls_report_store_failed', err: error }, 'cannot store a TLS report')
        metrics.tlsReports.inc({ transport: 'https', outcome: 'rejected' })
        return reply.code(503).header('retry-after', '300').header('content-type', TEXT).send('cannot store the report now; retry later\n')
      }
      reply.header('content-type', TEXT)
      if (outcome.status === 'stored') return reply.code(201).send('stored\n')
      if (outcome.status === 'duplicate') return reply.code(200).send('already stored\n')
      return reply.code(400).send(`kept, but not a valid TLS report: ${outcome.error as string}\n`)
    })
  })
}
