import type { Logger } from 'pino'
import type { Clock } from '../clock.js'
import type { SenderClassifier } from './sender-classifier.js'
import { clientNetwork } from './client-network.js'
import type { DomainFetches, FetchBatch, FetchCount, FetchNetwork, FetchStatsReader, FetchStatsStore, LastFetch } from './types.js'

/** Distinct networks remembered per tenant and day between two flushes; more are not counted. */
export const MAX_NETWORKS_PER_FLUSH = 10_000
/** Failed flushes kept for the next attempt (an hour at the default interval); older ones are dropped. */
const MAX_RETRIED_BATCHES = 60
const DAY_MS = 86_400_000

/** The policy a fetch was answered with. */
export interface FetchedPolicy {
  readonly domain: string
  readonly id: string
}

/** Counts of one sender class within a bucket. */
interface SenderCount { fetches: number, lastAt: number }

/** Everything counted for one policy (object) on one day since the last flush. */
interface Bucket {
  readonly domain: string
  readonly policyId: string
  readonly day: string
  readonly senders: Map<string, SenderCount>
  readonly networks: Set<string>
}

/** Options of {@link FetchStats}. */
export interface FetchStatsOptions {
  readonly store: Pick<FetchStatsStore, 'addFetches' | 'fetchesFor' | 'lastFetches'>
  readonly classifier: SenderClassifier
  readonly clock: Clock
  readonly logger: Logger
  /** Milliseconds between flushes to the store. */
  readonly flushIntervalMs: number
}

/**
 * Policy fetches added up in memory per tenant, policy id, UTC day and sender class, with the
 * distinct client networks (/24, /48) of each, and written to the report database every
 * `flushIntervalMs` (never per request). {@link FetchStats.record} is on the serving hot path:
 * a few Map operations, no allocation beyond the network key. A flush that fails is kept and
 * sent again with the next one.
 */
export class FetchStats implements FetchStatsReader {
  readonly #options: FetchStatsOptions
  #pending = new Map<FetchedPolicy, Bucket>()
  #retry: FetchBatch[] = []
  #day = ''
  #dayEnds = 0
  #timer: NodeJS.Timeout | undefined
  #flushing: Promise<void> | undefined
  #last: Map<string, LastFetch> | undefined
  #loadingLast: Promise<void> | undefined

  constructor (options: FetchStatsOptions) {
    this.#options = options
  }

  /** Counts one fetch answered with `policy` for a client at `ip` (as logged) with this User-Agent. */
  record (policy: FetchedPolicy, ip: string, userAgent: string | undefined): void {
    const now = this.#options.clock.now().getTime()
    if (now >= this.#dayEnds) this.#rollDay(now)
    let bucket = this.#pending.get(policy)
    if (bucket === undefined || bucket.day !== this.#day) {
      if (bucket !== undefined) this.#retry.push(this.#batchOf([bucket]))
      bucket = { domain: policy.domain, policyId: policy.id, day: this.#day, senders: new Map(), networks: new Set() }
      this.#pending.set(policy, bucket)
    }
    const sender = this.#options.classifier.classify(userAgent, ip)
    const count = bucket.senders.get(sender)
    if (count === undefined) bucket.senders.set(sender, { fetches: 1, lastAt: now })
    else {
      count.fetches++
      count.lastAt = now
    }
    if (bucket.networks.size < MAX_NETWORKS_PER_FLUSH) bucket.networks.add(clientNetwork(ip))
  }

  /**
   * Adds fetches counted elsewhere (a worker of `serve --workers`) to the next flush, so the
   * store is written by one process and the latest fetches seen here include them.
   */
  merge (batch: FetchBatch): void {
    this.#retry.push(batch)
  }

  /** Starts flushing every interval (the timer does not hold the process open). */
  start (): void {
    this.#timer ??= setInterval(() => { void this.flush() }, this.#options.flushIntervalMs).unref()
  }

  /** Writes what was counted since the last flush (and failed flushes); never rejects. */
  async flush (): Promise<void> {
    while (this.#flushing !== undefined) await this.#flushing
    this.#flushing = this.#flush()
    try {
      await this.#flushing
    } finally {
      this.#flushing = undefined
    }
  }

  async #flush (): Promise<void> {
    const buckets = [...this.#pending.values()]
    this.#pending = new Map()
    const batches = [...this.#retry, ...(buckets.length > 0 ? [this.#batchOf(buckets)] : [])]
    this.#retry = []
    if (batches.length === 0) return
    const batch: FetchBatch = { counts: batches.flatMap(b => b.counts), networks: batches.flatMap(b => b.networks) }
    try {
      await this.#options.store.addFetches(batch)
      this.#remember(batch.counts)
    } catch (error) {
      this.#retry = batches.slice(-MAX_RETRIED_BATCHES)
      this.#options.logger.warn({ event: 'fetch_stats_flush_failed', err: error, kept: batch.counts.length }, 'cannot write fetch statistics; kept for the next flush')
    }
  }

  /** One domain's fetches over `days` UTC days up to today, including what was counted a moment ago. */
  async fetchesFor (domain: string, days: number): Promise<DomainFetches> {
    await this.flush()
    return await this.#options.store.fetchesFor(domain, days)
  }

  /** The latest fetch of every domain that has one, including what was counted a moment ago. */
  async lastFetches (): Promise<ReadonlyMap<string, LastFetch>> {
    await this.flush()
    this.#loadingLast ??= this.#loadLast()
    await this.#loadingLast
    return this.#last as Map<string, LastFetch>
  }

  async #loadLast (): Promise<void> {
    // Flushes that finish while the query runs update this map; the stored rows are merged into it.
    this.#last = new Map()
    try {
      for (const f of await this.#options.store.lastFetches()) this.#keepLatest(f)
    } catch (error) {
      this.#last = undefined
      this.#loadingLast = undefined
      throw error
    }
  }

  /**
   * Stops the timer and writes what is left, waiting at most `limitMs` (shutdown must not wait for a
   * report database that is still opening); what could not be written in time is logged as a count.
   */
  async close (limitMs = 1000): Promise<void> {
    clearInterval(this.#timer)
    this.#timer = undefined
    let timer: NodeJS.Timeout | undefined
    const done = await Promise.race([
      this.flush().then(() => true),
      new Promise<false>(resolve => { timer = setTimeout(() => { resolve(false) }, limitMs) }),
    ])
    clearTimeout(timer)
    if (!done) this.#options.logger.warn({ event: 'fetch_stats_unwritten' }, `fetch statistics not written within ${limitMs} ms at shutdown: the last counts are lost (every fetch is in the log)`)
  }

  #rollDay (now: number): void {
    const midnight = now - (now % DAY_MS)
    this.#day = new Date(midnight).toISOString().slice(0, 10)
    this.#dayEnds = midnight + DAY_MS
  }

  #batchOf (buckets: readonly Bucket[]): FetchBatch {
    const counts: FetchCount[] = []
    const networks: FetchNetwork[] = []
    for (const b of buckets) {
      for (const [sender, c] of b.senders) {
        counts.push({ domain: b.domain, policyId: b.policyId, day: b.day, sender, fetches: c.fetches, lastAt: new Date(c.lastAt).toISOString() })
      }
      for (const network of b.networks) networks.push({ domain: b.domain, day: b.day, network })
    }
    return { counts, networks }
  }

  #remember (counts: readonly FetchCount[]): void {
    if (this.#last === undefined) return
    for (const c of counts) this.#keepLatest({ domain: c.domain, at: c.lastAt, sender: c.sender, policyId: c.policyId })
  }

  #keepLatest (fetch: LastFetch): void {
    const last = this.#last as Map<string, LastFetch>
    const known = last.get(fetch.domain)
    if (known === undefined || known.at < fetch.at) last.set(fetch.domain, fetch)
  }
}
