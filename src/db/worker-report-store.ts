import { Worker } from 'node:worker_threads'
import { errors } from '../errors.js'
import type { IngestOutcome, ReportInput } from '../reports/types.js'
import type { DaySummary, ProblemReport, PurgeResult, ReportCounts, ReportStore, SummaryQuery } from './report-store.js'
import type { DomainFetches, DomainReportTotals, FetchBatch, LastFetch, PolicyChange } from '../stats/types.js'

/** What the worker needs to open the database. */
export interface WorkerReportStoreOptions {
  /** SQLite file (created when missing). */
  readonly database: string
  readonly maxReportBytes: number
  readonly rawRetentionDays: number
  readonly retentionDays: number
}

/** A request to the worker. */
export type ReportStoreCall = { readonly id: number } & (
  | { readonly method: 'submit', readonly input: ReportInput }
  | { readonly method: 'setAside', readonly input: ReportInput, readonly reason: string }
  | { readonly method: 'summarize', readonly query: SummaryQuery }
  | { readonly method: 'problems', readonly limit: number }
  | { readonly method: 'counts' | 'purge' | 'close' | 'lastFetches' | 'latestPolicies' }
  | { readonly method: 'addFetches', readonly batch: FetchBatch }
  | { readonly method: 'fetchesFor', readonly domain: string, readonly days: number, readonly until?: string }
  | { readonly method: 'recordPolicyChanges', readonly changes: readonly PolicyChange[] }
  | { readonly method: 'policyHistory', readonly domain: string, readonly limit: number }
  | { readonly method: 'reportTotals', readonly days: number, readonly until?: string }
)

/** The worker's answer to call `id` (0: the answer to opening). */
export interface ReportStoreReply {
  readonly id: number
  readonly result?: unknown
  readonly error?: string
}

type Pending = { resolve: (value: unknown) => void, reject: (error: Error) => void }

/** After a failed open, calls fail fast with its error this long before the next attempt. */
const REOPEN_AFTER_MS = 30_000
type CallBody = ReportStoreCall extends infer C ? C extends { id: number } ? Omit<C, 'id'> : never : never

/**
 * The embedded SQLite report database, run in a worker thread: better-sqlite3 is synchronous and
 * every write is fsynced, which would stall policy serving on the main thread. Calls are messages;
 * a call answers once the worker has committed. If the worker dies, calls in flight fail and the
 * next call starts a new worker (which parses whatever was stored but not yet parsed).
 */
export class WorkerReportStore implements ReportStore {
  readonly #options: WorkerReportStoreOptions
  readonly #pending = new Map<number, Pending>()
  #worker: Promise<Worker> | undefined
  #next = 1
  #closed = false
  #failed: { error: Error, until: number } | undefined
  /** The worker while it opens the database (its promise settles only once that is done). */
  #opening: Worker | undefined

  /** Whether the database is open (the worker answered its open); false while it opens, after a failure or once closed. */
  get ready (): boolean {
    return this.#worker !== undefined && this.#opening === undefined && this.#failed === undefined && !this.#closed
  }

  /** Starts nothing yet: the worker starts with {@link WorkerReportStore.start} or the first call. */
  constructor (options: WorkerReportStoreOptions) {
    this.#options = options
  }

  /** Opens the database (creating and migrating it) in a new worker; rejects with the reason it cannot. */
  static async open (options: WorkerReportStoreOptions): Promise<WorkerReportStore> {
    const store = new WorkerReportStore(options)
    await store.start()
    return store
  }

  /**
   * Starts the worker and opens the database, if not done yet; rejects (`MTA_STS_REPORT_DATABASE_UNUSABLE`)
   * when it cannot, and then every call fails with that error for 30 s before the next attempt.
   */
  async start (): Promise<void> {
    await this.#start()
  }

  async #start (): Promise<Worker> {
    if (this.#failed !== undefined && Date.now() < this.#failed.until) throw this.#failed.error
    this.#worker ??= new Promise<Worker>((resolve, reject) => {
      // Run from source (tests, .ts) or built (dist, .js).
      const ext = new URL(import.meta.url).pathname.endsWith('.ts') ? '.ts' : '.js'
      const worker = new Worker(new URL(`./report-store-worker${ext}`, import.meta.url), { workerData: this.#options })
      worker.unref()
      this.#opening = worker
      let opened = false
      worker.on('message', (reply: ReportStoreReply) => {
        if (reply.id === 0) {
          this.#opening = undefined
          opened = reply.error === undefined
          if (opened) {
            this.#failed = undefined
            resolve(worker)
          } else {
            const error = new errors.REPORT_DATABASE_UNUSABLE(this.#options.database, reply.error)
            this.#failed = { error, until: Date.now() + REOPEN_AFTER_MS }
            reject(error)
          }
          return
        }
        const pending = this.#pending.get(reply.id)
        this.#pending.delete(reply.id)
        if (this.#pending.size === 0) worker.unref()
        if (reply.error === undefined) pending?.resolve(reply.result)
        else pending?.reject(new Error(reply.error))
      })
      const stopped = (reason: string): void => {
        this.#worker = undefined
        this.#opening = undefined
        if (!opened && this.#failed === undefined) {
          const error = new errors.REPORT_DATABASE_UNUSABLE(this.#options.database, reason)
          this.#failed = { error, until: Date.now() + REOPEN_AFTER_MS }
          reject(error)
        }
        for (const pending of this.#pending.values()) pending.reject(new errors.REPORT_DATABASE_STOPPED(reason))
        this.#pending.clear()
      }
      worker.on('error', error => { stopped(error.message) })
      worker.on('exit', code => { stopped(`exit code ${code}`) })
    })
    return await this.#worker
  }

  async #call<T> (body: CallBody): Promise<T> {
    if (this.#closed) throw new Error('the report database is closed')
    const worker = await this.#start()
    const id = this.#next++
    return await new Promise<T>((resolve, reject) => {
      this.#pending.set(id, { resolve: resolve as (value: unknown) => void, reject })
      // An idle worker must not keep the process alive; one with a call in flight must.
      worker.ref()
      worker.postMessage({ id, ...body })
    })
  }

  async submit (input: ReportInput): Promise<IngestOutcome> {
    return await this.#call({ method: 'submit', input })
  }

  async setAside (input: ReportInput, reason: string): Promise<IngestOutcome> {
    return await this.#call({ method: 'setAside', input, reason })
  }

  async summarize (query: SummaryQuery): Promise<DaySummary[]> {
    return await this.#call({ method: 'summarize', query })
  }

  async problems (limit: number): Promise<ProblemReport[]> {
    return await this.#call({ method: 'problems', limit })
  }

  async counts (): Promise<ReportCounts> {
    return await this.#call({ method: 'counts' })
  }

  async purge (): Promise<PurgeResult> {
    return await this.#call({ method: 'purge' })
  }

  async addFetches (batch: FetchBatch): Promise<void> {
    await this.#call({ method: 'addFetches', batch })
  }

  async fetchesFor (domain: string, days: number, until?: string): Promise<DomainFetches> {
    return await this.#call({ method: 'fetchesFor', domain, days, ...(until === undefined ? {} : { until }) })
  }

  async lastFetches (): Promise<LastFetch[]> {
    return await this.#call({ method: 'lastFetches' })
  }

  async recordPolicyChanges (changes: readonly PolicyChange[]): Promise<number> {
    return await this.#call({ method: 'recordPolicyChanges', changes })
  }

  async policyHistory (domain: string, limit: number): Promise<PolicyChange[]> {
    return await this.#call({ method: 'policyHistory', domain, limit })
  }

  async latestPolicies (): Promise<PolicyChange[]> {
    return await this.#call({ method: 'latestPolicies' })
  }

  async reportTotals (days: number, until?: string): Promise<DomainReportTotals[]> {
    return await this.#call({ method: 'reportTotals', days, ...(until === undefined ? {} : { until }) })
  }

  /**
   * Waits for calls in flight, closes the database and stops the worker. A worker still opening
   * the database is stopped at once (shutdown must not wait for a migration; SQLite rolls back
   * what it did not commit).
   */
  async close (): Promise<void> {
    if (this.#closed) return
    const opening = this.#opening
    if (opening !== undefined) {
      this.#closed = true
      await opening.terminate()
      return
    }
    const running = this.#worker
    if (running === undefined) {
      this.#closed = true
      return
    }
    const worker = await running.catch(() => undefined)
    if (worker === undefined) {
      this.#closed = true
      return
    }
    const exited = new Promise(resolve => worker.once('exit', resolve))
    await this.#call({ method: 'close' }).catch(() => undefined)
    this.#closed = true
    worker.ref()
    await exited
  }
}
