import type { Logger } from 'pino'
import type { HostState } from './certificate-cache.js'
import type { CertifiedKey } from './certified-key.js'
import type { IssuanceError, Issuer, RenewalWindow } from './issuer.js'
import type { ServingLoad } from './serving-load.js'

/** Delays after the 1st, 2nd, 3rd and later consecutive failures: about 1 min, 10 min, 100 min, then daily. */
export const DEFAULT_BACKOFF_MS = Object.freeze([60_000, 600_000, 6_000_000, 86_400_000])

/** How often to ask the CA for renewal information (RFC 9773 suggests about twice a day). */
export const ARI_POLL_MS = 6 * 3600_000

/** When to retry after the `failures`-th consecutive failure `err`: the CA's Retry-After when later than now, else the back-off. */
export function retryTime (failures: number, err: IssuanceError, now: number, backoff: readonly number[] = DEFAULT_BACKOFF_MS): Date {
  const delay = backoff[Math.min(failures, backoff.length) - 1] as number
  return err.retryAfter && err.retryAfter.getTime() > now ? err.retryAfter : new Date(now + delay)
}

/**
 * Ask the CA for the renewal window of `cert` (ARI) and record, in
 * `state.ari`, a random point in it and when to ask again. A failure is
 * logged and retried in an hour; the certificate keeps its default renewal time.
 */
export async function pollRenewalInfo (issuer: Issuer, logger: Logger, host: string, state: HostState, cert: CertifiedKey, now: number): Promise<void> {
  let window: RenewalWindow | undefined
  try {
    window = await issuer.renewalWindow?.(cert)
  } catch (err) {
    logger.warn({ event: 'ari_failed', host, error: (err as Error).message }, `renewal information for ${host} unavailable: ${(err as Error).message}`)
    state.ari = { nextPoll: new Date(now + 3600_000) }
    return
  }
  if (!window) {
    state.ari = { nextPoll: new Date(now + ARI_POLL_MS) }
    return
  }
  const span = window.end.getTime() - window.start.getTime()
  // A random point in the window spreads renewals out; a window already over means now.
  const at = window.end.getTime() <= now ? now : window.start.getTime() + Math.random() * span
  state.ari = { renewAt: new Date(at), nextPoll: window.retryAfter ?? new Date(now + ARI_POLL_MS) }
  logger.debug({ event: 'ari_window', host, start: window.start.toISOString(), end: window.end.toISOString(), renew_at: new Date(at).toISOString() }, `renewal window for ${host}`)
}

/** Options of {@link MaintenanceLoop}. */
export interface MaintenanceLoopOptions {
  /** How often to run {@link MaintenanceLoopOptions.pass}. */
  readonly intervalMs: number
  /** Hosts worked on at once from the queue. */
  readonly concurrency: number
  /** While serving is busy, one host at a time (default: always `concurrency`). */
  readonly load?: ServingLoad
  /** One pass over all hosts (deciding what to queue). */
  readonly pass: () => Promise<void>
  /** Work on a queued host; undefined when there is nothing to do for it (no longer served). Never rejects. */
  readonly work: (host: string) => Promise<void> | undefined
}

/**
 * The schedule and the queue of certificate maintenance: a periodic pass
 * (concurrent calls share one), and a FIFO of hosts worked on `concurrency`
 * at a time, or one at a time while serving is busy.
 */
export class MaintenanceLoop {
  readonly #opts: MaintenanceLoopOptions
  readonly #queue: string[] = []
  #running = 0
  #timer: NodeJS.Timeout | undefined
  #passing: Promise<void> | undefined
  #closed = false

  constructor (opts: MaintenanceLoopOptions) {
    this.#opts = opts
  }

  /** True once {@link start} was called. */
  get started (): boolean {
    return this.#timer !== undefined
  }

  /** True once {@link close} was called. */
  get closed (): boolean {
    return this.#closed
  }

  /** Nothing queued and nothing worked on. */
  get idle (): boolean {
    return this.#queue.length === 0 && this.#running === 0
  }

  /** Run the pass every `intervalMs` (and now, when `runNow`). */
  start (runNow: boolean): void {
    this.#timer = setInterval(() => { void this.pass() }, this.#opts.intervalMs)
    this.#timer.unref()
    if (runNow) void this.pass()
  }

  /** Run one pass, or join the one running. */
  pass (): Promise<void> {
    this.#passing ??= this.#opts.pass().finally(() => { this.#passing = undefined })
    return this.#passing
  }

  /** Queue `host` and start work when a slot is free. */
  enqueue (host: string): void {
    if (this.#closed) return
    this.#queue.push(host)
    this.#pump()
  }

  /** Drop queued hosts for which `keep` is false. */
  retain (keep: (host: string) => boolean): void {
    if (this.#queue.length === 0) return
    const q = this.#queue.filter(keep)
    this.#queue.splice(0, this.#queue.length, ...q)
  }

  /** Stop the timer, empty the queue and wait for the pass in flight. */
  async close (): Promise<void> {
    this.#closed = true
    if (this.#timer) clearInterval(this.#timer)
    this.#queue.length = 0
    await this.#passing
  }

  #pump (): void {
    // Checked again as each host is done: with one at a time, slots come back soon after serving calms down.
    const slots = this.#opts.load?.busy() === true ? 1 : this.#opts.concurrency
    while (this.#running < slots && this.#queue.length > 0 && !this.#closed) {
      const work = this.#opts.work(this.#queue.shift() as string)
      if (!work) continue
      this.#running++
      void work.finally(() => {
        this.#running--
        this.#pump()
      })
    }
  }
}
