import { parentPort, workerData } from 'node:worker_threads'
import { loadConfig } from '../config/load-config.js'
import { prepareConfig, preparedBuffers } from './prepared-config.js'

// Worker entry of loadSnapshot: parse, validate and hash away from the main thread, and hand
// the result over as transferred buffers (no structured clone of 100,000 objects on arrival).
const { file, chunkSize } = workerData as { file: string; chunkSize: number }
const prepared = prepareConfig(await loadConfig(file), chunkSize)
parentPort?.postMessage(prepared, preparedBuffers(prepared))
