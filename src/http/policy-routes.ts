import type { IncomingMessage, Server, ServerResponse } from 'node:http'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { Logger } from 'pino'
import { Server as TlsServer, type TLSSocket } from 'node:tls'
import type { Metrics } from '../metrics.js'
import type { TenantEntry, TenantSnapshot } from '../tenants/tenant-snapshot.js'
import { hostKey } from '../domain/host-name.js'
import type { FetchedPolicy } from '../stats/fetch-stats.js'
import { POLICY_HEADERS, policyHeaders } from './policy-headers.js'
import { ambiguousHost } from './strict-host.js'
import { answerOnConnection, type ConnectionAnswers } from './answer-on-connection.js'
import { policyResponses } from './policy-responses.js'
import { fetchLog } from './fetch-log.js'

/** The RFC 8461 policy path. */
export const POLICY_PATH = '/.well-known/mta-sts.txt'

const TEXT = 'text/plain; charset=utf-8'
const NOT_FOUND = Buffer.from('Not Found\n')
const NOT_ALLOWED = Buffer.from('Method Not Allowed\n')

/** What the policy routes need. */
export interface PolicyRouteDeps {
  readonly tenants: () => TenantSnapshot
  readonly metrics: Metrics
  readonly logger: Logger
  /** Fetch statistics, counted for every policy served (absent when `stats.enabled` is off). */
  readonly stats?: { record (policy: FetchedPolicy, ip: string, userAgent: string | undefined): void }
  /**
   * Answer the plain policy fetches before Fastify (see {@link policyRoutes}); only where
   * the client address Fastify logs is the socket's (no `trustProxy`). `inject()` never
   * reaches it: the route gives the same answers.
   */
  readonly fastPath?: boolean
}

/** Header sets of 200 answers kept by body length; past this many lengths the set starts over. */
export const MAX_HEADER_SETS = 1000

declare module 'fastify' {
  interface FastifyRequest {
    /** The tenant a policy fetch was answered for, or null. */
    tenant: TenantEntry | null
  }
}

/**
 * GET/HEAD of the policy for a configured `mta-sts.<tenant>` host: 200 with
 * the precomputed body; any other host or path 404, other methods 405. Each
 * fetch is logged as one line and counted.
 *
 * With `fastPath`, what senders send (a GET or HEAD of exactly the policy path, no body, one
 * Host naming a configured tenant) is answered before Fastify's routing, hooks and request
 * objects, with the same bytes, line, counters and statistics as the route:
 * - on a TLS server, on the connection itself (answerOnConnection), before Node's HTTP parser
 *   (its effect on keep-alive throughput: README, Performance);
 * - on connections Node's HTTP server has (plain HTTP, or handed over by answerOnConnection at
 *   their first other request), from the server's `request` event.
 * Everything else goes to Fastify.
 */
export function policyRoutes (app: FastifyInstance, deps: PolicyRouteDeps): void {
  const { metrics, stats } = deps
  // The fetch line carries only the fields listed in logLine, none secret: it is put together without
  // pino's redaction (fetchLog), and a logger it cannot put lines together for gets a child without it.
  const fetchLine = fetchLog(deps.logger.child({}, { redact: { paths: [], censor: '' } }))
  app.decorateRequest('tenant', null)

  const lookupHost = (raw: string | undefined): TenantEntry | undefined => {
    const byHost = deps.tenants().byHost
    // Senders send the bare lower-case name: one Map lookup; normalise only when that misses.
    return (raw === undefined ? undefined : byHost.get(raw)) ?? byHost.get(hostKey(raw))
  }
  const lookup = (request: FastifyRequest): TenantEntry | undefined => lookupHost(request.headers.host)

  // The full header set of a 200 by body length, shared by every tenant whose policy has that length
  // (policies differ little in length: a handful of sets), so a fetch builds no headers. Nothing is
  // kept per tenant: at 100,000 tenants a set and a bound counter child per tenant fetched held
  // about 1 KiB each of old-generation heap, which V8 then let grow (and its garbage with it).
  const headerSets = new Map<number, Readonly<Record<string, string>>>()
  const headersOf = (length: number): Readonly<Record<string, string>> => {
    let headers = headerSets.get(length)
    if (headers === undefined) {
      if (headerSets.size >= MAX_HEADER_SETS) headerSets.clear()
      headerSets.set(length, headers = policyHeaders(length))
    }
    return headers
  }
  // Answers without a tenant (404, or 400 from strict-host) by status: a handful of children, bound once each.
  const unknownHost = new Map<number, { inc (): void }>()

  app.route({
    method: 'GET',
    url: POLICY_PATH,
    // The same headers helmet would set, prebuilt (see policy-headers.ts).
    helmet: false,
    handler (request, reply) {
      const tenant = lookup(request)
      if (tenant === undefined) return notFound(reply.headers(POLICY_HEADERS))
      request.tenant = tenant
      // Fastify still runs onResponse on 'finish', which leaves answers with a tenant alone.
      reply.hijack()
      answer(request.raw, reply.raw, tenant, request.ip, reply.elapsedTime)
      return reply
    },
    onResponse (request, reply, done) {
      // Answers without a tenant (404, 400); the policy's 200s are counted and logged by the handler.
      if (request.tenant !== null) return done()
      const status = reply.statusCode
      let counter = unknownHost.get(status)
      if (counter === undefined) unknownHost.set(status, counter = metrics.policyFetches.labels('', String(status)))
      counter.inc()
      logFetch(request, reply, null, status)
      done()
    },
  })

  /** One policy 200: the frozen headers of its length and the entry's body (none for HEAD, which Node knows from the request). */
  const answer = (req: IncomingMessage, res: ServerResponse, tenant: TenantEntry, ip: string, elapsedMs: number): void => {
    res.writeHead(200, headersOf(tenant.body.length))
    res.end(tenant.body)
    // Counted and logged once handed to Node, not on 'finish': a response written while the
    // service shuts down can reach the sender after its socket was cut, without a 'finish'.
    counted(tenant, ip, req.headers['user-agent'])
    logRequest(req, tenant, 200, ip, elapsedMs)
  }

  const counted = (tenant: TenantEntry, ip: string, userAgent: string | undefined): void => {
    // By labels: prom-client hashes them on every inc, a bound child too, and keeps nothing more.
    metrics.policyFetches.inc({ tenant: tenant.domain, status: '200' })
    stats?.record(tenant, ip, userAgent)
  }

  const logFetch = (request: FastifyRequest, reply: FastifyReply, tenant: TenantEntry | null, status: number): void => {
    logRequest(request.raw, tenant, status, request.ip, reply.elapsedTime)
  }

  /** The line of a fetch Node's HTTP server parsed. */
  const logRequest = (req: IncomingMessage, tenant: TenantEntry | null, status: number, ip: string, elapsedMs: number): void => {
    logLine(tenant, status, req.method ?? '', req.headers.host, req.headers['user-agent'], ip, (req.socket as TLSSocket).getProtocol?.() ?? null, elapsedMs)
  }

  const logLine = (tenant: TenantEntry | null, status: number, method: string, host: string | undefined, userAgent: string | undefined, ip: string, tls: string | null, elapsedMs: number): void => {
    fetchLine({
      tenant: tenant?.domain ?? null,
      host: host ?? null,
      policyId: tenant?.id ?? null,
      mode: tenant?.mode ?? null,
      method,
      status,
      client: ip,
      userAgent: userAgent ?? null,
      tls,
      durationMs: Math.round(elapsedMs * 1000) / 1000,
    })
  }

  /** Plain fetches answered on the TLS connections of `server` (see answerOnConnection). */
  const answerPolicyFetches = (server: TlsServer & Server): ConnectionAnswers => {
    const responses = policyResponses(server.keepAliveTimeout)
    return answerOnConnection(server, (socket, request, started) => {
      const tenant = lookupHost(request.host)
      if (tenant === undefined) return false
      responses.write(socket, tenant.body, request.method === 'HEAD', request.close)
      const ip = socket.remoteAddress ?? ''
      counted(tenant, ip, request.userAgent)
      logLine(tenant, 200, request.method, request.host, request.userAgent, ip, socket.getProtocol() ?? null, performance.now() - started)
      return true
    }, server.keepAliveTimeout)
  }

  if (deps.fastPath === true) {
    // Set where Fastify sets its own `closing`: from then on it tells every client the connection closes.
    let closing = false
    const server = app.server
    // On TLS (the https listener), plain fetches are answered on their connection, before Node's HTTP parser.
    const connections = server instanceof TlsServer ? answerPolicyFetches(server) : undefined
    app.addHook('preClose', done => {
      closing = true
      connections?.close()
      done()
    })
    // Connections handed to Node's HTTP server (see answerOnConnection) still get their plain fetches answered before Fastify.
    beforeFastify(server, (req, res) => {
      const started = performance.now()
      if (req.url !== POLICY_PATH || (req.method !== 'GET' && req.method !== 'HEAD')) return false
      if (req.headers['content-length'] !== undefined || req.headers['transfer-encoding'] !== undefined || ambiguousHost(req) !== undefined) return false
      const tenant = lookupHost(req.headers.host)
      if (tenant === undefined) return false
      if (closing) res.setHeader('connection', 'close')
      // Fastify's request.ip without trustProxy.
      answer(req, res, tenant, req.socket.remoteAddress ?? '', performance.now() - started)
      return true
    })
  }

  app.setNotFoundHandler((request, reply) => {
    const path = request.url.split('?', 1)[0]
    if (path === POLICY_PATH && lookup(request) !== undefined) {
      return reply.code(405).header('allow', 'GET, HEAD').header('content-type', TEXT).send(NOT_ALLOWED)
    }
    return notFound(reply)
  })
}

/**
 * Run `handle` on each request of `server` before Fastify's own `request` listener, which
 * gets only the requests `handle` did not answer (returned false for).
 */
export function beforeFastify (server: Server, handle: (req: IncomingMessage, res: ServerResponse) => boolean): void {
  const fastify = server.listeners('request') as ((req: IncomingMessage, res: ServerResponse) => void)[]
  server.removeAllListeners('request')
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    if (!handle(req, res)) for (const listener of fastify) listener.call(server, req, res)
  })
}

/** Plain 404 that names nothing (no tenant list, no route). */
export function notFound (reply: FastifyReply): FastifyReply {
  return reply.code(404).header('content-type', TEXT).send(NOT_FOUND)
}
