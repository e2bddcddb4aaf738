import type { AddressInfo } from 'node:net'
import { setImmediate as nextTurn } from 'node:timers/promises'
import type { Logger } from 'pino'
import type { Service } from '../service.js'
import type { TenantSnapshot } from '../tenants/tenant-snapshot.js'
import { logLoadChange, ReportedLoad } from '../tls/serving-load.js'
import { IpcChannel, type IpcPort } from './ipc-channel.js'
import { answerWorker } from './primary-requests.js'
import { METRICS_REQUEST, NOTICES } from './worker-server.js'
import { snapshotChunks, type SnapshotChunk } from './worker-snapshot.js'

/** A worker process as the pool sees it; {@link forkClusterWorker} makes real ones. */
export interface WorkerHandle {
  readonly pid: number
  readonly port: IpcPort
  /** Called once when the process exited (code, or the signal that ended it). */
  onExit (listener: (code: number | null, signal: string | null) => void): void
  kill (signal?: NodeJS.Signals): void
}

/** Where the workers listen, as the first one reported. */
export interface WorkerAddresses {
  readonly https: AddressInfo
  readonly http: AddressInfo
}

/** Options of {@link WorkerPool}. */
export interface WorkerPoolOptions {
  readonly size: number
  readonly fork: () => WorkerHandle
  readonly logger: Logger
  /** A worker that exits sooner than this after its start counts as crashing in a loop (default 10 s). */
  readonly crashWindowMs?: number
  /** First delay before replacing a worker crashing in a loop, doubled each time up to 30 s (default 100 ms). */
  readonly restartDelayMs?: number
  /** How long `close()` waits for a worker to finish before killing it (default 10 s). */
  readonly stopTimeoutMs?: number
  /** How long the primary waits for a worker's metrics (default 2 s). */
  readonly metricsTimeoutMs?: number
}

interface Member {
  readonly handle: WorkerHandle
  readonly channel: IpcChannel
  readonly startedAt: number
  /** Snapshot messages go out in order, one per event-loop turn. */
  sending: Promise<void>
  /** Set once the worker asked for the snapshot: reload diffs go only to those. */
  greeted: boolean
  listening: boolean
  exited: Promise<void>
}

const MAX_RESTART_DELAY_MS = 30_000

/**
 * The primary's side of `serve --workers`: forks `size` workers, answers their
 * requests from the service, sends each the whole tenant snapshot when it
 * asks and every reload's diff afterwards, tells them when a certificate
 * changed, keeps their reported {@link load}, replaces a worker that exits unexpectedly (with a doubling delay
 * when it keeps crashing right after start), and stops them all on close.
 */
export class WorkerPool {
  readonly #opts: WorkerPoolOptions
  readonly #members = new Set<Member>()
  #service: Service | undefined
  #seq = 0
  #closing = false
  #restarts = 0
  #delay: number
  #timers = new Set<NodeJS.Timeout>()
  #addresses: WorkerAddresses | undefined
  #listening: (() => void)[] = []
  /** Set while {@link start} waits: a worker that exits before it listens fails the start. */
  #startFailed: ((error: Error) => void) | undefined
  /** How busy the workers are, from what they report: for the service's certificate issuance to yield to. */
  readonly load: ReportedLoad

  constructor (opts: WorkerPoolOptions) {
    this.#opts = opts
    this.#delay = opts.restartDelayMs ?? 100
    this.load = new ReportedLoad(logLoadChange(opts.logger))
  }

  /** Fork the workers for `service`; resolves once every one listens, with their addresses. */
  async start (service: Service): Promise<WorkerAddresses> {
    this.#service = service
    service.holder.onChange((next, previous) => { this.#broadcast(next, previous) })
    service.certificates.onCertificateChange(host => {
      for (const member of this.#members) member.channel.notify(NOTICES.dropContext, host)
    })
    const all = Array.from({ length: this.#opts.size }, () => this.#fork())
    try {
      await new Promise<void>((resolve, reject) => {
        this.#startFailed = reject
        const check = (): void => { if (all.every(m => m.listening)) resolve(); else this.#listening.push(check) }
        check()
      })
    } finally {
      this.#startFailed = undefined
    }
    return this.#addresses as WorkerAddresses
  }

  /** The workers' metrics, for the primary's `/metrics` (a worker that does not answer in time is left out). */
  async metrics (): Promise<object[][]> {
    const answers = await Promise.all([...this.#members].map(m => m.channel.request<object[]>(METRICS_REQUEST, null, this.#opts.metricsTimeoutMs ?? 2000).catch(() => undefined)))
    return answers.filter(a => a !== undefined)
  }

  /** Per worker, for the readiness details. */
  status (): { workers: { pid: number, started_at: string, listening: boolean }[], restarts: number } {
    return {
      workers: [...this.#members].map(m => ({ pid: m.handle.pid, started_at: new Date(m.startedAt).toISOString(), listening: m.listening })),
      restarts: this.#restarts,
    }
  }

  /** Tell every worker to stop (finish requests in flight, send its last statistics), wait, kill the late ones. */
  async close (): Promise<void> {
    this.#closing = true
    for (const timer of this.#timers) clearTimeout(timer)
    this.#timers.clear()
    await Promise.all([...this.#members].map(async m => {
      m.channel.notify(NOTICES.stop, null)
      let timer: NodeJS.Timeout | undefined
      await Promise.race([m.exited, new Promise<void>(resolve => {
        timer = setTimeout(() => { m.handle.kill('SIGKILL'); resolve() }, this.#opts.stopTimeoutMs ?? 10_000)
      })])
      clearTimeout(timer)
    }))
  }

  #fork (): Member {
    const handle = this.#opts.fork()
    const channel = new IpcChannel(handle.port)
    let exited!: () => void
    const member: Member = { handle, channel, startedAt: Date.now(), sending: Promise.resolve(), greeted: false, listening: false, exited: new Promise<void>(resolve => { exited = resolve }) }
    this.#members.add(member)
    const service = this.#service as Service
    answerWorker(channel, service)
    channel.on(NOTICES.hello, () => {
      member.greeted = true
      this.#send(member, snapshotChunks(this.#seq++, service.holder.snapshot))
    })
    channel.on(NOTICES.load, utilization => { this.load.report(handle.pid, Number(utilization)) })
    channel.on(NOTICES.listening, addresses => {
      member.listening = true
      this.#addresses ??= addresses as WorkerAddresses
      this.#opts.logger.info({ event: 'worker_started', pid: handle.pid }, `worker ${handle.pid} serving`)
      const waiting = this.#listening
      this.#listening = []
      for (const check of waiting) check()
    })
    handle.onExit((code, signal) => {
      this.#members.delete(member)
      this.load.forget(handle.pid)
      channel.close()
      exited()
      if (this.#closing) return
      if (!member.listening && this.#startFailed !== undefined) {
        this.#startFailed(new Error(`a worker exited before it listened (${signal ?? `code ${String(code)}`}); see its log line`))
        return
      }
      this.#opts.logger.error({ event: 'worker_exited', pid: handle.pid, code, signal }, `worker ${handle.pid} exited (${signal ?? `code ${String(code)}`}); starting another`)
      this.#replace(Date.now() - member.startedAt < (this.#opts.crashWindowMs ?? 10_000))
    })
    return member
  }

  #replace (crashLoop: boolean): void {
    this.#restarts++
    const delay = crashLoop ? this.#delay : 0
    this.#delay = crashLoop ? Math.min(this.#delay * 2, MAX_RESTART_DELAY_MS) : this.#opts.restartDelayMs ?? 100
    const timer = setTimeout(() => {
      this.#timers.delete(timer)
      if (!this.#closing) this.#fork()
    }, delay).unref()
    this.#timers.add(timer)
  }

  #broadcast (next: TenantSnapshot, previous: TenantSnapshot): void {
    const greeted = [...this.#members].filter(m => m.greeted)
    if (greeted.length === 0) return
    const chunks = snapshotChunks(this.#seq++, next, previous)
    for (const member of greeted) this.#send(member, chunks)
  }

  #send (member: Member, chunks: readonly SnapshotChunk[]): void {
    member.sending = member.sending.then(async () => {
      for (const chunk of chunks) {
        member.channel.notify(NOTICES.snapshot, chunk)
        await nextTurn()
      }
    })
  }
}
