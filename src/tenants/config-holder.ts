import { monitorEventLoopDelay } from 'node:perf_hooks'
import { watch, type FSWatcher } from 'chokidar'
import type { Logger } from 'pino'
import { systemClock, type Clock } from '../clock.js'
import { formatProblem } from '../config/load-config.js'
import type { ConfigProblem } from '../config/types.js'
import type { Metrics } from '../metrics.js'
import { nextTurn } from './build-snapshot-in-turns.js'
import { loadSnapshot, type LoadSnapshotOptions } from './load-snapshot.js'
import type { SnapshotDiff, TenantSnapshot } from './tenant-snapshot.js'
import type { Retirements } from './retirements.js'
import { fileSignature, waitForStableFile } from './wait-for-stable-file.js'

/** Outcome of the latest reload attempt, shown in readiness details. */
export interface ReloadStatus {
  readonly ok: boolean
  readonly at: Date
  readonly errors: readonly string[]
}

/** Options of {@link ConfigHolder}. */
export interface ConfigHolderOptions {
  readonly logger: Logger
  readonly metrics: Metrics
  /** Milliseconds to wait after a file event before reloading, so an editor's several writes count once. */
  readonly debounceMs?: number
  /**
   * Milliseconds the file must stay unchanged (size, times, inode) before it is read
   * (default {@link DEFAULT_SETTLE_MS}), so a writer pausing mid-file is not read half-way.
   */
  readonly settleMs?: number
  /** How the file is loaded and the snapshot built (worker threshold, chunk size, turns). */
  readonly load?: LoadSnapshotOptions
  /**
   * Stamps reloads (a snapshot's `loadedAt`, a failed attempt's `at`; default
   * {@link systemClock}). How long a reload took is measured on the monotonic
   * clock: a duration, not a time of day.
   */
  readonly clock?: Clock
  /**
   * Adjusts each loaded snapshot (and its diff) before it is swapped in: the service serves
   * retiring tenants through it ({@link Retirements.apply}).
   */
  readonly overlay?: (next: TenantSnapshot, diff: SnapshotDiff, previous: TenantSnapshot) => Promise<{ snapshot: TenantSnapshot, diff: SnapshotDiff }>
}

/**
 * A writer may pause this long mid-file without its half-written file being
 * applied: 2.5 times the 400 ms pause seen from a slow in-place writer, and
 * short enough that an edit is served within 2 seconds.
 */
export const DEFAULT_SETTLE_MS = 1000

/** Names listed per kind (added, removed, changed) in the reload log line; the counts are always complete. */
export const LOGGED_CHANGES_MAX = 1000

/** Problems logged per event-loop turn. */
const PROBLEMS_PER_TURN = 500

type Listener = (next: TenantSnapshot, previous: TenantSnapshot, diff: SnapshotDiff) => void | Promise<void>

/**
 * Holds the current tenant snapshot and replaces it on reload. A new
 * snapshot is built off to the side and swapped in one assignment, so a
 * request sees either the old or the new configuration, never a mix. A file
 * that fails validation never replaces the last good one.
 */
export class ConfigHolder {
  #snapshot: TenantSnapshot
  #status: ReloadStatus
  #watcher: FSWatcher | undefined
  #timer: NodeJS.Timeout | undefined
  #running: Promise<ReloadStatus> | undefined
  /** The reason of a reload asked for while one runs; a forced reason (SIGHUP) wins over 'file changed'. */
  #again: string | undefined
  /** The file version last loaded (applied or rejected), so a late duplicate file event does not load it again. */
  #loaded: string | undefined
  readonly #closing = new AbortController()
  readonly #listeners: Listener[] = []
  readonly #opts: ConfigHolderOptions

  constructor (initial: TenantSnapshot, opts: ConfigHolderOptions) {
    this.#snapshot = initial
    this.#opts = opts
    this.#status = Object.freeze({ ok: true, at: initial.loadedAt, errors: [] })
    opts.metrics.configValid.set(1)
    opts.metrics.tenants.set(initial.tenants.length)
  }

  /** The snapshot requests are answered from. */
  get snapshot (): TenantSnapshot {
    return this.#snapshot
  }

  /** The latest reload attempt. */
  get status (): ReloadStatus {
    return this.#status
  }

  /** Call (and await) `listener` after every successful swap, before the reload is logged. */
  onChange (listener: Listener): void {
    this.#listeners.push(listener)
  }

  /**
   * Reload the file now. Concurrent calls share one run; a call during a run
   * schedules exactly one more, so the last edit always wins.
   */
  reload (reason: string): Promise<ReloadStatus> {
    if (this.#running) {
      // A 'file changed' rerun skips a version already loaded, so it must not swallow a SIGHUP,
      // and a SIGHUP rerun must not be made of a late file event.
      if (this.#again === undefined || this.#again === 'file changed') this.#again = reason
      return this.#running
    }
    this.#running = this.#reloadLoop(reason).finally(() => { this.#running = undefined })
    return this.#running
  }

  async #reloadLoop (reason: string): Promise<ReloadStatus> {
    let status = await this.#reloadOnce(reason)
    while (this.#again !== undefined) {
      const next = this.#again
      this.#again = undefined
      status = await this.#reloadOnce(next)
    }
    return status
  }

  async #reloadOnce (reason: string): Promise<ReloadStatus> {
    // The longest event-loop block while this reload ran, for the reload log line.
    const delay = monitorEventLoopDelay({ resolution: 10 })
    delay.enable()
    try {
      for (;;) {
        const file = this.#snapshot.config.file
        const version = await waitForStableFile(file, {
          settleMs: this.#opts.settleMs ?? DEFAULT_SETTLE_MS,
          pollMs: Math.min(100, this.#opts.settleMs ?? DEFAULT_SETTLE_MS),
          signal: this.#closing.signal,
        })
        if (version === undefined) return this.#status // closing
        if (reason === 'file changed' && version === this.#loaded) return this.#status
        const started = process.hrtime.bigint()
        const clock = this.#opts.clock ?? systemClock
        const result = await loadSnapshot(file, this.#snapshot, { now: () => clock.now(), ...this.#opts.load })
        if (await fileSignature(file) !== version) {
          // A writer started while the file was read: what was read may be half of it.
          this.#opts.logger.info({ event: 'reload_deferred', file, reason }, 'the configuration file changed while it was read; reading it again once it settles')
          continue
        }
        this.#loaded = version
        const durationMs = Number(process.hrtime.bigint() - started) / 1e6
        return result.ok
          ? await this.#apply(result.snapshot, result.diff, reason, durationMs, delay)
          : await this.#reject(file, result.errors, result.warnings, reason)
      }
    } finally {
      delay.disable()
    }
  }

  async #reject (file: string, problems: readonly ConfigProblem[], warnings: readonly ConfigProblem[], reason: string): Promise<ReloadStatus> {
    const { logger, metrics } = this.#opts
    const errors: string[] = []
    await inTurns(problems, p => {
      const line = formatProblem(p)
      errors.push(line)
      logger.error({ event: 'config_error', file }, line)
    })
    await inTurns(warnings, w => logWarnings(logger, [w]))
    logger.error({ event: 'reload_failed', file, reason, errors: errors.length }, `configuration not reloaded: ${errors.length} error(s), still serving the last good configuration`)
    metrics.reloads.inc({ result: 'failure' })
    metrics.configValid.set(0)
    this.#status = Object.freeze({ ok: false, at: (this.#opts.clock ?? systemClock).now(), errors: Object.freeze(errors) })
    return this.#status
  }

  async #apply (loaded: TenantSnapshot, loadedDiff: SnapshotDiff, reason: string, durationMs: number, delay: { max: number }): Promise<ReloadStatus> {
    const { logger, metrics } = this.#opts
    const { snapshot: next, diff } = await this.#opts.overlay?.(loaded, loadedDiff, this.#snapshot) ?? { snapshot: loaded, diff: loadedDiff }
    await inTurns(next.config.warnings, w => logWarnings(logger, [w]))
    const previous = this.#snapshot
    const restartOnly = (['listen', 'certificates'] as const).filter(k => JSON.stringify(previous.config[k]) !== JSON.stringify(next.config[k]))
    if (restartOnly.length > 0) {
      logger.warn({ event: 'reload_restart_needed', sections: restartOnly }, `changes to ${restartOnly.join(' and ')} take effect after a restart`)
    }
    // The one swap: every request from here on sees the new configuration, none a mix.
    this.#snapshot = next
    if (next.config.log.level !== previous.config.log.level) logger.level = next.config.log.level
    metrics.reloads.inc({ result: 'success' })
    metrics.configValid.set(1)
    metrics.tenants.set(next.tenants.length)
    this.#status = Object.freeze({ ok: true, at: next.loadedAt, errors: [] })
    for (const listener of this.#listeners) await listener(next, previous, diff)
    logger.info({
      event: 'reload',
      reason,
      file: next.config.file,
      tenants: next.tenants.length,
      added: diff.added.slice(0, LOGGED_CHANGES_MAX),
      removed: diff.removed.slice(0, LOGGED_CHANGES_MAX),
      changed: diff.changed.slice(0, LOGGED_CHANGES_MAX),
      added_count: diff.added.length,
      removed_count: diff.removed.length,
      changed_count: diff.changed.length,
      duration_ms: Math.round(durationMs * 100) / 100,
      loop_delay_max_ms: Math.round(delay.max / 1e4) / 100,
    }, `configuration reloaded: ${diff.added.length} added, ${diff.removed.length} removed, ${diff.changed.length} changed`)
    // Out of the log buffer now rather than at the next periodic flush: operators and tools wait for this line.
    logger.flush()
    return this.#status
  }

  /**
   * Reload whenever the configuration file changes (including editors that
   * replace it by rename). Resolves once the watcher is armed, so an edit
   * right after start-up is not missed.
   */
  async watch (): Promise<void> {
    const debounceMs = this.#opts.debounceMs ?? 100
    this.#loaded = await fileSignature(this.#snapshot.config.file)
    this.#watcher = watch(this.#snapshot.config.file, { ignoreInitial: true, atomic: true })
    const schedule = (): void => {
      if (this.#timer) clearTimeout(this.#timer)
      this.#timer = setTimeout(() => { void this.reload('file changed') }, debounceMs)
      this.#timer.unref()
    }
    this.#watcher.on('change', schedule).on('add', schedule)
    this.#watcher.on('error', err => this.#opts.logger.error({ event: 'watch_error', err }, 'configuration watcher failed'))
    await new Promise<void>(resolve => this.#watcher?.once('ready', resolve))
  }

  /** Stop watching and wait for a running reload. */
  async close (): Promise<void> {
    this.#closing.abort()
    if (this.#timer) clearTimeout(this.#timer)
    await this.#watcher?.close()
    await this.#running
  }
}

/** Log each configuration warning with its file:line. */
export function logWarnings (logger: Logger, warnings: readonly ConfigProblem[]): void {
  for (const w of warnings) logger.warn({ event: 'config_warning', file: w.file, line: w.line }, formatProblem(w))
}

/** Call `fn` on each item, {@link PROBLEMS_PER_TURN} per event-loop turn (100,000 log lines would block for seconds). */
async function inTurns<T> (items: readonly T[], fn: (item: T) => void): Promise<void> {
  for (let i = 0; i < items.length; i++) {
    if (i > 0 && i % PROBLEMS_PER_TURN === 0) await nextTurn()
    fn(items[i] as T)
  }
}
