import { availableParallelism } from 'node:os'

/** Most workers `--workers` accepts. */
export const MAX_WORKERS = 64

/** `--workers N|auto`: a whole number 1..{@link MAX_WORKERS}, or `auto` (one per available CPU); undefined when not valid. */
export function parseWorkers (value: string, cpus = availableParallelism()): number | undefined {
  if (value === 'auto') return Math.min(MAX_WORKERS, Math.max(1, cpus))
  const n = Number(value)
  return /^\d+$/.test(value) && n >= 1 && n <= MAX_WORKERS ? n : undefined
}
