import { parentPort, workerData } from 'node:worker_threads'
import { loadConfig } from './load-config.js'

// Worker entry of loadConfigOffThread: parse and validate away from the main thread.
const result = await loadConfig((workerData as { file: string }).file)
parentPort?.postMessage(result)
