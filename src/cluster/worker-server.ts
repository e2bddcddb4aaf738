import type { AddressInfo } from 'node:net'
import type { FastifyInstance } from 'fastify'
import type { Logger } from 'pino'
import { isChallengeHost } from '../acme/challenge-host.js'
import { TlsAlpnResponder } from '../acme/tls-alpn-responder.js'
import { WorkerAcmeCrypto } from '../acme/worker-acme-crypto.js'
import { systemClock } from '../clock.js'
import type { Config } from '../config/types.js'
import type { ReportStore } from '../db/report-store.js'
import { buildApp, type AppDeps } from '../http/build-app.js'
import type { Readiness } from '../http/health-routes.js'
import { SHUTDOWN_GRACE_MS, trackConnections, type ConnectionTracker } from '../http/track-connections.js'
import { createMetrics, type Metrics } from '../metrics.js'
import type { IngestOutcome, ReportSink } from '../reports/types.js'
import { FetchStats } from '../stats/fetch-stats.js'
import { SenderClassifier } from '../stats/sender-classifier.js'
import type { FetchBatch } from '../stats/types.js'
import type { TenantSnapshot } from '../tenants/tenant-snapshot.js'
import { routeByClientHello } from '../tls/client-hello-router.js'
import { TLS_VERSIONS } from '../tls/context-cache.js'
import { LOAD_INTERVAL_MS, utilizationSampler } from '../tls/serving-load.js'
import type { IpcChannel } from './ipc-channel.js'
import { REQUESTS, type UploadOutcome } from './primary-requests.js'
import { SnapshotReceiver, type SnapshotChunk } from './worker-snapshot.js'
import { WorkerContexts, type CertificateMaterial } from './worker-contexts.js'

/** What a worker's stand-ins answer for what only the primary does (statistics queries, setting mails aside). */
export const notInWorker = (): Promise<never> => Promise.reject(new Error('only the primary process does this'))

/** What the primary sends workers unasked. */
export const NOTICES = Object.freeze({
  /** Worker to primary: send me the whole snapshot. */
  hello: 'hello',
  snapshot: 'snapshot',
  /** A host's certificate changed: drop its context. */
  dropContext: 'drop-context',
  /** Primary to worker: stop accepting, finish, exit. */
  stop: 'stop',
  /** Worker to primary: listening, with its addresses. */
  listening: 'listening',
  /** Worker to primary, every {@link LOAD_INTERVAL_MS}: its event-loop utilization over that time (the primary's `ReportedLoad`). */
  load: 'load',
} as const)

/** The primary's request to a worker for its metrics. */
export const METRICS_REQUEST = 'metrics'

/** How long `/readyz` on a worker waits for the primary's verdict before answering 503. */
export const READINESS_TIMEOUT_MS = 1000

/** Options of {@link WorkerServer}. */
export interface WorkerServerOptions {
  readonly channel: IpcChannel
  readonly logger: Logger
  /** Milliseconds requests in flight get at close (default {@link SHUTDOWN_GRACE_MS}). */
  readonly shutdownGraceMs?: number
  /** TLS handshake timeout (default the service's). */
  readonly tlsHandshakeTimeoutMs?: number
  /** Fetch statistics are sent to the primary this often (default `stats.flush_interval`). */
  readonly statsIntervalMs?: number
  /** The event-loop utilization is sent to the primary this often (default {@link LOAD_INTERVAL_MS}). */
  readonly loadIntervalMs?: number
}

/**
 * A worker of `serve --workers`: the `https` and `http` apps of the service
 * (the same `buildApp`), fed over IPC by the primary: the tenant snapshot
 * (whole at start, then each reload's diff), certificates (asked for on a
 * cold handshake, kept in an LRU of `certificates.context_cache`), ACME
 * challenge answers, readiness, report uploads. Fetch statistics are counted
 * here and sent to the primary in batches; metrics are read by the primary.
 */
export class WorkerServer {
  readonly #opts: WorkerServerOptions
  readonly #receiver: SnapshotReceiver
  readonly metrics: Metrics
  #contexts: WorkerContexts | undefined
  #apps: { https: FastifyInstance, http: FastifyInstance } | undefined
  #connections: ConnectionTracker[] = []
  #stats: FetchStats | undefined
  #alpnCrypto: WorkerAcmeCrypto | undefined
  #loadTimer: NodeJS.Timeout | undefined
  #closing = false
  readonly #first: Promise<TenantSnapshot>

  constructor (opts: WorkerServerOptions) {
    this.#opts = opts
    const { channel } = opts
    this.metrics = createMetrics(() => undefined)
    let firstSnapshot!: (s: TenantSnapshot) => void
    this.#first = new Promise(resolve => { firstSnapshot = resolve })
    this.#receiver = new SnapshotReceiver((next, removed) => {
      for (const host of removed) this.#contexts?.drop(host)
      firstSnapshot(next)
    })
    channel.on(NOTICES.snapshot, chunk => { void this.#receiver.receive(chunk as SnapshotChunk) })
    channel.on(NOTICES.dropContext, host => { this.#contexts?.drop(String(host)) })
    channel.handle(METRICS_REQUEST, async () => await this.metrics.registry.getMetricsAsJSON())
  }

  /** The snapshot requests are answered from (empty until the first one arrived). */
  get snapshot (): TenantSnapshot | undefined {
    return this.#receiver.current
  }

  /** SecureContexts held now. */
  get contexts (): number {
    return this.#contexts?.size ?? 0
  }

  /** Ask the primary for the snapshot and build the apps once it arrived. */
  async start (): Promise<void> {
    this.#opts.channel.notify(NOTICES.hello, null)
    const snapshot = await this.#first
    await this.#build(snapshot.config)
  }

  async #build (config: Config): Promise<void> {
    const { channel, logger } = this.#opts
    // Built once the first snapshot arrived (start()), so there always is one.
    const tenants = (): TenantSnapshot => this.#receiver.current as TenantSnapshot
    const isTenantHost = (host: string): boolean => tenants().byHost.has(host)
    const contexts = new WorkerContexts(config.certificates.contextCache, async host => await channel.request<CertificateMaterial>(REQUESTS.certificate, host))
    this.#contexts = contexts
    const reports = config.reports
    const stats = reports.enabled && config.stats.enabled
      ? new FetchStats({
        store: {
          addFetches: async (batch: FetchBatch) => { await channel.request(REQUESTS.fetchStats, batch) },
          // Only the primary answers statistics queries (ops, dashboard); the https app never asks.
          fetchesFor: notInWorker,
          lastFetches: notInWorker,
        },
        classifier: new SenderClassifier(config.stats.senders),
        clock: systemClock,
        logger,
        flushIntervalMs: this.#opts.statsIntervalMs ?? config.stats.flushInterval * 1000,
      })
      : undefined
    this.#stats = stats
    const sink: ReportSink = {
      submit: async input => {
        const outcome = await channel.request<UploadOutcome>(REQUESTS.report, { bytes: input.bytes, source: input.source, label: input.label ?? '' }, 60_000)
        return { ...outcome, rawId: 0 } satisfies IngestOutcome
      },
      // Only mail intake sets reports aside, and it runs in the primary.
      setAside: notInWorker,
    }
    const { acme } = config.certificates
    const acmeIssuer = config.certificates.issuer === 'acme'
    const deps: AppDeps = {
      logger,
      metrics: this.metrics,
      tenants,
      readiness: () => this.#readiness(),
      certificates: () => [],
      ...(stats === undefined ? {} : { stats }),
      // The https app reads only the settings and the sink; the report database stays with the primary.
      ...(reports.enabled ? { reports: { settings: reports, sink, store: undefined as unknown as ReportStore } } : {}),
      ...(acmeIssuer && acme.challenges.includes('http-01')
        ? { acmeHttpChallenge: async (host: string, token: string) => (await channel.request<string | null>(REQUESTS.httpChallenge, { host, token })) ?? undefined }
        : {}),
    }
    const handshakeTimeout = this.#opts.tlsHandshakeTimeoutMs ?? 10_000
    const https = await buildApp({ role: 'https', tls: { SNICallback: contexts.sniCallback(isTenantHost, logger), ...TLS_VERSIONS, ALPNProtocols: ['http/1.1'], handshakeTimeout } }, deps)
    const http = await buildApp({ role: 'http' }, deps)
    if (acmeIssuer && acme.challenges.includes('tls-alpn-01')) {
      const challenges = {
        get: async (key: string) => {
          const host = key.split('/')[2] ?? ''
          const answer = await channel.request<string | null>(REQUESTS.tlsAlpnChallenge, host)
          return answer === null ? undefined : Buffer.from(answer)
        },
      }
      // Challenge certificates are built in a thread of this worker, off its serving thread.
      this.#alpnCrypto = new WorkerAcmeCrypto()
      routeByClientHello(https.server, new TlsAlpnResponder(challenges, host => isChallengeHost(host, isTenantHost), logger, this.#alpnCrypto).divert, handshakeTimeout)
    }
    this.#connections = [https, http].map(app => trackConnections(app.server))
    this.#apps = { https, http }
  }

  async #readiness (): Promise<Readiness> {
    const own: string[] = []
    if (this.#closing) own.push('shutting down')
    try {
      const primary = await this.#opts.channel.request<Readiness>(REQUESTS.readiness, null, READINESS_TIMEOUT_MS)
      const reasons = [...own, ...primary.reasons]
      return { ready: reasons.length === 0, reasons, details: {} }
    } catch {
      return { ready: false, reasons: [...own, 'the primary process does not answer'], details: {} }
    }
  }

  /** Listen on the `https` and `http` addresses (in this order: cluster gives port 0 the same port in every worker by it). */
  async listen (config: Pick<Config['listen'], 'https' | 'http'>): Promise<{ https: AddressInfo, http: AddressInfo }> {
    const apps = this.#apps
    if (apps === undefined) throw new Error('start() first')
    const out: Partial<Record<'https' | 'http', AddressInfo>> = {}
    for (const role of ['https', 'http'] as const) {
      const { host, port } = config[role]
      await apps[role].listen({ host, port, listenTextResolver: address => `${role} listener on ${address}` })
      out[role] = apps[role].server.address() as AddressInfo
    }
    this.#stats?.start()
    const sample = utilizationSampler()
    this.#loadTimer = setInterval(() => { this.#opts.channel.notify(NOTICES.load, sample()) }, this.#opts.loadIntervalMs ?? LOAD_INTERVAL_MS).unref()
    return out as { https: AddressInfo, http: AddressInfo }
  }

  /** Stop accepting, finish requests in flight, and send the last fetch statistics to the primary. */
  async close (): Promise<void> {
    this.#closing = true
    clearInterval(this.#loadTimer)
    const stops = this.#connections.map(c => c.drain(this.#opts.shutdownGraceMs ?? SHUTDOWN_GRACE_MS))
    try {
      await Promise.all([this.#apps?.https.close(), this.#apps?.http.close()])
    } finally {
      for (const stop of stops) stop()
    }
    await this.#stats?.close()
    await this.#alpnCrypto?.close()
  }
}
