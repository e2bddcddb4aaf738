import { stat } from 'node:fs/promises'
import { setTimeout as sleep } from 'node:timers/promises'

/**
 * Identifies one version of a file: device, inode (a rename-over changes it),
 * size and modification/change times in nanoseconds (every write changes
 * them). A file that cannot be stat'ed has the signature `missing:<code>`.
 */
export async function fileSignature (file: string): Promise<string> {
  try {
    const s = await stat(file, { bigint: true })
    return `${s.dev}:${s.ino}:${s.size}:${s.mtimeNs}:${s.ctimeNs}`
  } catch (err) {
    return `missing:${(err as NodeJS.ErrnoException).code ?? 'unknown'}`
  }
}

/** Options of {@link waitForStableFile}. */
export interface StableFileOptions {
  /** How long the file must stay unchanged. */
  readonly settleMs: number
  /** How often to look at it meanwhile. */
  readonly pollMs: number
  /** Gives up (resolving `undefined`) when aborted. */
  readonly signal?: AbortSignal
}

/**
 * Resolves with the {@link fileSignature} of `file` once it has stayed the
 * same for `settleMs`, so a writer that pauses mid-file (shorter than
 * `settleMs`) is never read half-way. Resolves `undefined` when `signal` is
 * aborted. The polling timers keep the process alive (a caller awaits the
 * result, as a reload in progress); abort `signal` to stop them.
 */
export async function waitForStableFile (file: string, opts: StableFileOptions): Promise<string | undefined> {
  let current = await fileSignature(file)
  let since = performance.now()
  for (;;) {
    if (opts.signal?.aborted) return undefined
    const left = opts.settleMs - (performance.now() - since)
    if (left <= 0) return current
    try {
      await sleep(Math.min(opts.pollMs, left), undefined, opts.signal ? { signal: opts.signal } : {})
    } catch {
      return undefined // aborted
    }
    const next = await fileSignature(file)
    if (next !== current) {
      current = next
      since = performance.now()
    }
  }
}
