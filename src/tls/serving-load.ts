import { performance, type EventLoopUtilization } from 'node:perf_hooks'
import type { Logger } from 'pino'

/** When serving counts as busy, and when idle again (apart, so the state does not flap): event-loop utilizations 0..1. */
export interface LoadThresholds {
  readonly busyFrom: number
  readonly idleUnder: number
}

/**
 * For a process that serves and issues on one event loop: only near
 * saturation is serving surely the cause (at concurrency 8, issuance alone
 * keeps that loop some 40% busy).
 */
export const OWN_LOOP_THRESHOLDS: LoadThresholds = Object.freeze({ busyFrom: 0.7, idleUnder: 0.5 })

/**
 * For worker processes, whose loops only serve (issuance adds just the CA's
 * validation handshakes): from 30%, policy fetches are a real burst, and
 * ACME work in the primary would slow them by taking CPU time they wait for.
 */
export const WORKER_THRESHOLDS: LoadThresholds = Object.freeze({ busyFrom: 0.3, idleUnder: 0.15 })
/** How often utilization is sampled, and how often workers report theirs. */
export const LOAD_INTERVAL_MS = 500

/**
 * How busy serving is, for background work that should yield to it:
 * certificate issuance runs one host at a time while serving is busy (see
 * {@link MaintenanceLoopOptions.load}), so a CPU-bound burst of policy fetches
 * is not slowed down by ACME orders, and issuance catches up once it passes.
 */
export interface ServingLoad {
  /** True while the processes that serve are (nearly) saturated. */
  busy (): boolean
}

/** Told when serving becomes busy or idle again, with the utilization that decided it. */
export type LoadChange = (busy: boolean, utilization: number) => void

/** A {@link LoadChange} that logs the change: why certificates come more slowly for a while. */
export function logLoadChange (logger: Logger): LoadChange {
  return (busy, utilization) => {
    const pct = Math.round(utilization * 100)
    if (busy) logger.info({ event: 'serving_busy', utilization: pct }, `serving is busy (${pct}% event-loop utilization): certificates are obtained one at a time until it calms down`)
    else logger.info({ event: 'serving_idle', utilization: pct }, `serving calmed down (${pct}% event-loop utilization): certificates are obtained at full concurrency again`)
  }
}

/** Busy from `busyFrom`, idle again under `idleUnder`: one number's hysteresis. */
export class LoadLevel {
  #busy = false
  readonly #thresholds: LoadThresholds
  readonly #onChange: LoadChange | undefined

  constructor (thresholds: LoadThresholds, onChange?: LoadChange) {
    this.#thresholds = thresholds
    this.#onChange = onChange
  }

  get busy (): boolean {
    return this.#busy
  }

  /** Take a new utilization into account. */
  update (utilization: number): void {
    const busy = this.#busy ? utilization >= this.#thresholds.idleUnder : utilization >= this.#thresholds.busyFrom
    if (busy === this.#busy) return
    this.#busy = busy
    this.#onChange?.(busy, utilization)
  }
}

/** Returns a function giving this thread's event-loop utilization since its previous call. */
export function utilizationSampler (): () => number {
  let last: EventLoopUtilization = performance.eventLoopUtilization()
  return () => {
    const now = performance.eventLoopUtilization()
    const delta = performance.eventLoopUtilization(now, last)
    last = now
    return delta.utilization
  }
}

/** The load of a process that serves itself: its own event loop, sampled every `intervalMs`, with {@link OWN_LOOP_THRESHOLDS}. */
export class EventLoopLoad implements ServingLoad {
  readonly #level: LoadLevel
  readonly #timer: NodeJS.Timeout

  constructor (opts: { readonly intervalMs?: number, readonly onChange?: LoadChange } = {}) {
    this.#level = new LoadLevel(OWN_LOOP_THRESHOLDS, opts.onChange)
    const sample = utilizationSampler()
    this.#timer = setInterval(() => { this.#level.update(sample()) }, opts.intervalMs ?? LOAD_INTERVAL_MS).unref()
  }

  busy (): boolean {
    return this.#level.busy
  }

  /** Stop sampling. */
  close (): void {
    clearInterval(this.#timer)
  }
}

/**
 * The load of worker processes (`serve --workers`), from the utilization
 * each reports every {@link LOAD_INTERVAL_MS}: busy when their mean is, by
 * {@link WORKER_THRESHOLDS}. A worker that exited is {@link ReportedLoad.forget}ten.
 */
export class ReportedLoad implements ServingLoad {
  readonly #level: LoadLevel
  readonly #latest = new Map<number, number>()

  constructor (onChange?: LoadChange) {
    this.#level = new LoadLevel(WORKER_THRESHOLDS, onChange)
  }

  busy (): boolean {
    return this.#level.busy
  }

  /** Worker `id` (its pid) was this busy over its last interval. */
  report (id: number, utilization: number): void {
    if (!Number.isFinite(utilization)) return
    this.#latest.set(id, Math.min(1, Math.max(0, utilization)))
    this.#level.update(this.#mean())
  }

  /** Worker `id` is gone. */
  forget (id: number): void {
    if (this.#latest.delete(id)) this.#level.update(this.#mean())
  }

  #mean (): number {
    let sum = 0
    for (const u of this.#latest.values()) sum += u
    return this.#latest.size === 0 ? 0 : sum / this.#latest.size
  }
}
