import { Readable, Writable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { createGunzip } from 'node:zlib'

/** What decompressing a gzip body to measure it found. */
export type GunzippedSize =
  | { readonly ok: true; readonly size: number }
  | { readonly ok: false; readonly tooLarge: true; readonly size: number }
  | { readonly ok: false; readonly tooLarge: false; readonly error: string }

/** Raised inside the pipeline to stop inflating at the limit. */
class Limit extends Error {}

/**
 * Decompresses `bytes` (gzip, several members allowed) as a stream and counts the output,
 * keeping none of it, stopping as soon as it passes `limit`: a gzip bomb costs a few zlib
 * buffers, whatever it claims to hold. The inflating runs on libuv's thread pool.
 */
export async function gunzippedSize (bytes: Buffer, limit: number): Promise<GunzippedSize> {
  let size = 0
  const counter = new Writable({
    write (chunk: Buffer, _encoding, callback) {
      size += chunk.length
      callback(size > limit ? new Limit() : null)
    },
  })
  try {
    await pipeline(Readable.from([bytes]), createGunzip(), counter)
    return { ok: true, size }
  } catch (error) {
    if (error instanceof Limit) return { ok: false, tooLarge: true, size }
    return { ok: false, tooLarge: false, error: `not valid gzip: ${(error as Error).message}` }
  }
}
