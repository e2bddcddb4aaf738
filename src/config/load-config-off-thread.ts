import { stat } from 'node:fs/promises'
import { Worker } from 'node:worker_threads'
import { loadConfig, type ConfigResult } from './load-config.js'

/** Files below this size parse in a few milliseconds: a worker would only add its start-up time. */
export const OFF_THREAD_MIN_BYTES = 256 * 1024

/**
 * {@link loadConfig} in a worker thread for files of `minBytes` or more, so a
 * reload of a large file (100,000 tenants take over a second to parse) does
 * not stall requests. The result is the same plain data, re-frozen here.
 * Falls back to the main thread if the worker cannot start or dies.
 */
export async function loadConfigOffThread (file: string, minBytes = OFF_THREAD_MIN_BYTES): Promise<ConfigResult> {
  const size = await stat(file).then(s => s.size, () => 0)
  if (size < minBytes) return loadConfig(file)
  return new Promise(resolve => {
    let worker: Worker
    try {
      // Run from source (tests, .ts) or built (dist, .js); the URL may carry a query string.
      const ext = new URL(import.meta.url).pathname.endsWith('.ts') ? '.ts' : '.js'
      worker = new Worker(new URL(`./config-worker${ext}`, import.meta.url), { workerData: { file } })
    } catch {
      resolve(loadConfig(file))
      return
    }
    let settled = false
    worker.once('message', (result: ConfigResult) => {
      settled = true
      resolve(deepFreeze(result))
    })
    worker.once('error', () => { if (!settled) { settled = true; resolve(loadConfig(file)) } })
    worker.once('exit', () => { if (!settled) { settled = true; resolve(loadConfig(file)) } })
  })
}

function deepFreeze<T> (value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value)
    for (const child of Object.values(value)) deepFreeze(child)
  }
  return value
}
