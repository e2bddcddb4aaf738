import { stat } from 'node:fs/promises'
import { Worker } from 'node:worker_threads'
import { loadConfig } from '../config/load-config.js'
import type { ConfigProblem } from '../config/types.js'
import { buildSnapshotInTurns, nextTurn } from './build-snapshot-in-turns.js'
import { decodeProblems, DEFAULT_CHUNK_SIZE, prepareConfig, type PreparedConfig } from './prepared-config.js'
import type { SnapshotDiff, TenantSnapshot } from './tenant-snapshot.js'

/**
 * Files this large or larger are parsed in a worker thread. Parsing and
 * validating take about 50 ms per 20 KiB (some 800 tenants) on one core;
 * below this size the main thread does it in a few milliseconds, faster than
 * a worker starts.
 */
export const OFF_THREAD_MIN_BYTES = 16 * 1024

/** Options of {@link loadSnapshot}. */
export interface LoadSnapshotOptions {
  /** Parse in a worker thread from this file size on (default {@link OFF_THREAD_MIN_BYTES}). */
  readonly offThreadMinBytes?: number
  /** Tenants (and problems) handled per event-loop turn (default {@link DEFAULT_CHUNK_SIZE}). */
  readonly chunkSize?: number
  /** Gives the event loop a turn between chunks (default `setImmediate`). */
  readonly yieldTurn?: () => Promise<void>
  readonly now?: () => Date
}

/** The outcome of {@link loadSnapshot}. */
export type SnapshotResult =
  | { readonly ok: true; readonly snapshot: TenantSnapshot; readonly diff: SnapshotDiff }
  | { readonly ok: false; readonly errors: readonly ConfigProblem[]; readonly warnings: readonly ConfigProblem[] }

/**
 * Load, validate and build the snapshot of `file` beside `previous`, without
 * blocking the event loop for long at any size: a large file is parsed,
 * validated and hashed in a worker thread, which hands the tenants over in
 * chunks of transferred buffers; the main thread turns one chunk into
 * snapshot entries per event-loop turn. The snapshot's warnings are in
 * `snapshot.config.warnings`. Falls back to the main thread if the worker
 * cannot start or dies.
 */
export async function loadSnapshot (file: string, previous: TenantSnapshot, opts: LoadSnapshotOptions = {}): Promise<SnapshotResult> {
  const chunkSize = opts.chunkSize ?? DEFAULT_CHUNK_SIZE
  const yieldTurn = opts.yieldTurn ?? nextTurn
  const size = await stat(file).then(s => s.size, () => 0)
  const prepared = size >= (opts.offThreadMinBytes ?? OFF_THREAD_MIN_BYTES)
    ? await prepareOffThread(file, chunkSize)
    : prepareConfig(await loadConfig(file), chunkSize)
  const warnings = await decodeProblems(prepared.warnings, yieldTurn)
  if (!prepared.ok) return { ok: false, errors: await decodeProblems(prepared.errors, yieldTurn), warnings }
  return { ok: true, ...await buildSnapshotInTurns(prepared.config, prepared.tenants, warnings, previous, { yieldTurn, ...(opts.now ? { now: opts.now() } : {}) }) }
}

function prepareOffThread (file: string, chunkSize: number): Promise<PreparedConfig> {
  const onMainThread = async (): Promise<PreparedConfig> => prepareConfig(await loadConfig(file), chunkSize)
  return new Promise(resolve => {
    let worker: Worker
    try {
      // Run from source (tests, .ts) or built (dist, .js); the URL may carry a query string.
      const ext = new URL(import.meta.url).pathname.endsWith('.ts') ? '.ts' : '.js'
      worker = new Worker(new URL(`./snapshot-worker${ext}`, import.meta.url), { workerData: { file, chunkSize } })
    } catch {
      resolve(onMainThread())
      return
    }
    let settled = false
    const fallback = (): void => {
      if (!settled) {
        settled = true
        resolve(onMainThread())
      }
    }
    worker.once('message', (prepared: PreparedConfig) => {
      settled = true
      resolve(prepared)
    })
    worker.once('error', fallback)
    worker.once('exit', fallback)
  })
}
