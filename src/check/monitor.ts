import pLimit, { type LimitFunction } from 'p-limit'
import type { Logger } from 'pino'
import { systemClock, type Clock } from '../clock.js'
import type { TenantEntry, TenantSnapshot } from '../tenants/tenant-snapshot.js'
import { checkDomain } from './check-domain.js'
import type { Check, CheckContext, DomainReport } from './types.js'

/** Options of {@link CheckMonitor}. */
export interface MonitorOptions {
  /** Seconds between checks of one tenant (jittered by ±10%). */
  readonly interval: number
  /** Tenants checked at once. */
  readonly concurrency: number
  readonly tenants: () => TenantSnapshot
  readonly context: (tenant: TenantEntry) => CheckContext
  readonly checks: readonly Check[]
  readonly logger: Logger
  /** How often to look for tenants that are due (default: a tenth of the interval, at most 5 s). */
  readonly tickMs?: number
  /** When tenants are due is read from this clock (default {@link systemClock}); the tick itself is a real timer. */
  readonly clock?: Clock
}

/**
 * Re-checks every tenant in `serve` on an interval, with jitter and a
 * concurrency bound, so the operator sees a set-up break (TXT id drift, an MX
 * certificate about to expire) without running `check`. Results are kept in
 * memory for the ops listener and metrics; changes are logged. Readiness
 * never depends on them: a tenant's DNS is not this instance's health.
 */
export class CheckMonitor {
  readonly #opts: MonitorOptions
  readonly #clock: Clock
  readonly #reports = new Map<string, DomainReport>()
  readonly #due = new Map<string, number>()
  /** Tenants queued or being checked. */
  readonly #running = new Set<string>()
  readonly #limit: LimitFunction
  #timer: NodeJS.Timeout | undefined
  #scheduled: TenantSnapshot | undefined
  #closed = false

  constructor (opts: MonitorOptions) {
    this.#opts = opts
    this.#clock = opts.clock ?? systemClock
    this.#limit = pLimit(Math.max(1, opts.concurrency))
  }

  /** The latest report of each tenant checked so far. */
  reports (): DomainReport[] {
    return [...this.#reports.values()]
  }

  /** Start checking: new tenants are spread over the first minute (or interval, if shorter). */
  start (): void {
    const tick = this.#opts.tickMs ?? Math.min(5000, Math.max(50, this.#opts.interval * 100))
    this.#timer = setInterval(() => this.#tick(), tick)
    this.#timer.unref()
    this.#tick()
  }

  /** Stop the timer and wait for checks in flight (queued ones are dropped). */
  async close (): Promise<void> {
    this.#closed = true
    if (this.#timer) clearInterval(this.#timer)
    while (this.#running.size > 0) await new Promise(resolve => setTimeout(resolve, 10))
  }

  /**
   * Take a reload's added and removed tenants into the schedule, in time
   * proportional to the change: the tick's own sync compares every tenant
   * (about 100 ms in one turn at 100,000 tenants). Ignored unless the
   * schedule matches `previous`; the next tick then syncs in full.
   */
  changeTenants (previous: TenantSnapshot, next: TenantSnapshot, change: { readonly added: readonly string[]; readonly removed: readonly string[] }): void {
    if (this.#scheduled !== previous) return
    this.#scheduled = next
    const now = this.#clock.now().getTime()
    for (const domain of change.removed) {
      this.#due.delete(domain)
      this.#reports.delete(domain)
    }
    for (const domain of change.added) if (!this.#due.has(domain)) this.#due.set(domain, now + Math.random() * this.#spread())
  }

  #spread (): number {
    return Math.min(60_000, this.#opts.interval * 1000)
  }

  #tick (): void {
    const now = this.#clock.now().getTime()
    const snapshot = this.#opts.tenants()
    // The tenant list only changes on reload: sync the schedule then, not on every tick.
    if (snapshot !== this.#scheduled) this.#schedule(snapshot, now)
    for (const tenant of snapshot.tenants) {
      if (this.#closed) return
      if (this.#running.has(tenant.domain) || (this.#due.get(tenant.domain) ?? 0) > now) continue
      this.#run(tenant)
    }
  }

  #schedule (snapshot: TenantSnapshot, now: number): void {
    this.#scheduled = snapshot
    const present = new Set<string>()
    const spread = this.#spread()
    for (const tenant of snapshot.tenants) {
      present.add(tenant.domain)
      if (!this.#due.has(tenant.domain)) this.#due.set(tenant.domain, now + Math.random() * spread)
    }
    for (const domain of this.#due.keys()) {
      if (!present.has(domain)) {
        this.#due.delete(domain)
        this.#reports.delete(domain)
      }
    }
  }

  /** Queue a check of `tenant`: `concurrency` tenants are checked at once; one removed or closed meanwhile is skipped. */
  #run (tenant: TenantEntry): void {
    const { logger, interval } = this.#opts
    this.#running.add(tenant.domain)
    this.#limit(async () => this.#closed || !this.#due.has(tenant.domain) ? undefined : checkDomain(this.#opts.context(tenant), this.#opts.checks)).then(report => {
      if (!report || !this.#due.has(tenant.domain)) return
      this.#logChanges(this.#reports.get(tenant.domain), report)
      this.#reports.set(tenant.domain, report)
    }, (err: Error) => {
      logger.error({ event: 'check_error', tenant: tenant.domain, error: err.message }, `checking ${tenant.domain} failed`)
    }).finally(() => {
      this.#running.delete(tenant.domain)
      if (this.#due.has(tenant.domain)) this.#due.set(tenant.domain, this.#clock.now().getTime() + interval * 1000 * (0.9 + Math.random() * 0.2))
    })
  }

  #logChanges (previous: DomainReport | undefined, report: DomainReport): void {
    const { logger } = this.#opts
    if (!previous) {
      logger.info({ event: 'check', tenant: report.domain, status: report.status, ready_for_enforce: report.readyForEnforce, reasons: report.reasons, duration_ms: report.durationMs }, `${report.domain}: ${report.status}${report.readyForEnforce ? ', ready for enforce' : ', not ready for enforce'}`)
      return
    }
    const before = new Map(previous.results.map(r => [r.id, r]))
    for (const result of report.results) {
      const old = before.get(result.id)
      if (old?.status === result.status) continue
      const level = result.status === 'pass' ? 'info' : 'warn'
      logger[level]({ event: 'check_changed', tenant: report.domain, check: result.id, from: old?.status ?? null, to: result.status, reason: result.reason }, `${report.domain} ${result.name}: ${old?.status ?? 'new'} -> ${result.status}: ${result.reason}`)
    }
    for (const id of before.keys()) {
      if (!report.results.some(r => r.id === id)) logger.info({ event: 'check_changed', tenant: report.domain, check: id, from: before.get(id)?.status, to: null }, `${report.domain} ${id}: no longer checked`)
    }
  }
}
