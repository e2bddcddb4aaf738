import type { Readable } from 'node:stream'
import { createGunzip, gunzipSync, type Gunzip } from 'node:zlib'
import { isGzip } from './is-gzip.js'

/** Bounds of an uploaded report. */
export interface ReportBodyLimits {
  /** Largest body as sent. */
  readonly maxBodyBytes: number
  /** Largest report once inflated. */
  readonly maxReportBytes: number
  /** Largest inflated/sent ratio. */
  readonly maxRatio: number
}

/** The body as sent, or why it was refused (always "too large": the route answers 413). */
export type ReportBody =
  | { readonly ok: true; readonly bytes: Buffer }
  | { readonly ok: false; readonly reason: string }

/** Larger inflate output chunks: fewer events while counting (the output itself is never kept). */
const INFLATE_CHUNK = 64 * 1024
/**
 * A gzip body that has arrived whole within this size is inflated in one synchronous call (at most
 * `maxRatio` times this, under a millisecond): for the typical report of a few hundred bytes that
 * costs microseconds, where setting up a zlib stream costs a tenth of a millisecond. Larger bodies
 * are inflated on the thread pool as they arrive.
 */
const ONE_SHOT_BYTES = 4 * 1024

/** Resolves when `stream` can take more input, or has closed (refused mid-way). */
async function drained (stream: Gunzip): Promise<void> {
  await new Promise<void>(resolve => {
    const done = (): void => {
      stream.off('drain', done).off('close', done)
      resolve()
    }
    stream.on('drain', done).on('close', done)
  })
}

/**
 * Reads an upload as it arrives. A gzip body (sniffed by its magic, whatever its label) is inflated
 * alongside, keeping only a count of the output; as soon as that count passes `maxReportBytes` or
 * `maxRatio` times what has arrived so far, inflating and reading stop. A gzip bomb thus costs about
 * one chunk of its body and `maxRatio` times that of inflating, not its whole `maxBodyBytes`.
 * A gzip stream that turns out corrupt is not refused here: the report is stored, and flagged when
 * it fails to parse.
 */
export async function readReportBody (stream: Readable, limits: ReportBodyLimits): Promise<ReportBody> {
  const chunks: Buffer[] = []
  let received = 0
  let inflated = 0
  let refused: string | undefined
  let kind: 'unknown' | 'gzip' | 'plain' = 'unknown'
  let inflater: Gunzip | undefined
  let inflating: Promise<void> = Promise.resolve()
  const check = (): void => {
    const limit = Math.min(limits.maxReportBytes, limits.maxRatio * received)
    if (refused === undefined && inflated > limit) {
      refused = `inflates past ${limit} bytes (limits: ${limits.maxReportBytes} bytes, ${limits.maxRatio} times the ${received} bytes sent)`
      inflater?.destroy()
    }
  }
  const startInflating = (): Gunzip => {
    const stream = createGunzip({ chunkSize: INFLATE_CHUNK })
    stream.on('data', (out: Buffer) => {
      inflated += out.length
      check()
    })
    inflating = new Promise(resolve => {
      stream.once('close', resolve)
      // Corrupt gzip is for parsing to flag, not for this function to refuse.
      stream.on('error', () => {})
    })
    return stream
  }
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      received += chunk.length
      if (received > limits.maxBodyBytes) return { ok: false, reason: `over ${limits.maxBodyBytes} bytes as sent` }
      chunks.push(chunk)
      if (kind === 'unknown' && received >= 2) {
        const head = chunks[0]?.length === 1 ? Buffer.concat(chunks) : chunks[0] as Buffer
        kind = isGzip(head) ? 'gzip' : 'plain'
      }
      if (kind === 'gzip' && inflater === undefined && received > ONE_SHOT_BYTES) {
        inflater = startInflating()
        for (const earlier of chunks.slice(0, -1)) inflater.write(earlier)
      }
      if (inflater !== undefined && !inflater.destroyed && !inflater.write(chunk)) await drained(inflater)
      if (refused !== undefined) return { ok: false, reason: refused }
    }
    if (inflater !== undefined) {
      inflater.end()
      await inflating
      check()
      if (refused !== undefined) return { ok: false, reason: refused }
    } else if (kind === 'gzip') {
      const body = Buffer.concat(chunks, received)
      const limit = Math.min(limits.maxReportBytes, limits.maxRatio * received)
      try {
        inflated = gunzipSync(body, { maxOutputLength: limit + 1 }).length
      } catch (error) {
        // Past maxOutputLength: too large; anything else is corrupt gzip, for parsing to flag.
        if ((error as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE') inflated = limit + 1
      }
      check()
      if (refused !== undefined) return { ok: false, reason: refused }
      return { ok: true, bytes: body }
    } else if (received > limits.maxReportBytes) {
      return { ok: false, reason: `over ${limits.maxReportBytes} bytes` }
    }
    return { ok: true, bytes: Buffer.concat(chunks, received) }
  } finally {
    inflater?.destroy()
  }
}
