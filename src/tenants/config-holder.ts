import { watch, type FSWatcher } from 'chokidar'
import type { Logger } from 'pino'
import { formatProblem } from '../config/load-config.js'
import { loadConfigOffThread } from '../config/load-config-off-thread.js'
import type { ConfigProblem } from '../config/types.js'
import type { Metrics } from '../metrics.js'
import { buildSnapshot, diffSnapshots, type TenantSnapshot } from './tenant-snapshot.js'

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
}

type Listener = (next: TenantSnapshot, previous: TenantSnapshot) => void

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
  #again = false
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

  /** Call `listener` after every successful swap. */
  onChange (listener: Listener): void {
    this.#listeners.push(listener)
  }

  /**
   * Reload the file now. Concurrent calls share one run; a call during a run
   * schedules exactly one more, so the last edit always wins.
   */
  reload (reason: string): Promise<ReloadStatus> {
    if (this.#running) {
      this.#again = true
      return this.#running
    }
    this.#running = this.#reloadLoop(reason).finally(() => { this.#running = undefined })
    return this.#running
  }

  async #reloadLoop (reason: string): Promise<ReloadStatus> {
    let status = await this.#reloadOnce(reason)
    while (this.#again) {
      this.#again = false
      status = await this.#reloadOnce(reason)
    }
    return status
  }

  async #reloadOnce (reason: string): Promise<ReloadStatus> {
    const { logger, metrics } = this.#opts
    const started = process.hrtime.bigint()
    const file = this.#snapshot.config.file
    // Parsed in a worker: a large file must not stall the requests being served meanwhile.
    const result = await loadConfigOffThread(file)
    const durationMs = Number(process.hrtime.bigint() - started) / 1e6
    if (!result.ok) {
      const errors = result.errors.map(formatProblem)
      for (const line of errors) logger.error({ event: 'config_error', file }, line)
      logger.error({ event: 'reload_failed', file, reason, errors: errors.length }, `configuration not reloaded: ${errors.length} error(s), still serving the last good configuration`)
      metrics.reloads.inc({ result: 'failure' })
      metrics.configValid.set(0)
      this.#status = Object.freeze({ ok: false, at: new Date(), errors: Object.freeze(errors) })
      return this.#status
    }
    logWarnings(logger, result.config.warnings)
    const previous = this.#snapshot
    const next = buildSnapshot(result.config)
    const restartOnly = (['listen', 'certificates'] as const).filter(k => JSON.stringify(previous.config[k]) !== JSON.stringify(next.config[k]))
    if (restartOnly.length > 0) {
      logger.warn({ event: 'reload_restart_needed', sections: restartOnly }, `changes to ${restartOnly.join(' and ')} take effect after a restart`)
    }
    this.#snapshot = next
    if (next.config.log.level !== previous.config.log.level) logger.level = next.config.log.level
    const diff = diffSnapshots(previous, next)
    metrics.reloads.inc({ result: 'success' })
    metrics.configValid.set(1)
    metrics.tenants.set(next.tenants.length)
    this.#status = Object.freeze({ ok: true, at: next.loadedAt, errors: [] })
    logger.info({
      event: 'reload',
      reason,
      file,
      tenants: next.tenants.length,
      added: diff.added,
      removed: diff.removed,
      changed: diff.changed,
      duration_ms: Math.round(durationMs * 100) / 100,
    }, `configuration reloaded: ${diff.added.length} added, ${diff.removed.length} removed, ${diff.changed.length} changed`)
    for (const listener of this.#listeners) listener(next, previous)
    return this.#status
  }

  /**
   * Reload whenever the configuration file changes (including editors that
   * replace it by rename). Resolves once the watcher is armed, so an edit
   * right after start-up is not missed.
   */
  async watch (): Promise<void> {
    const debounceMs = this.#opts.debounceMs ?? 100
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
    if (this.#timer) clearTimeout(this.#timer)
    await this.#watcher?.close()
    await this.#running
  }
}

/** Log each configuration warning with its file:line. */
export function logWarnings (logger: Logger, warnings: readonly ConfigProblem[]): void {
  for (const w of warnings) logger.warn({ event: 'config_warning', file: w.file, line: w.line }, formatProblem(w))
}
