import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { PassThrough } from 'node:stream'

/** The subset of a tap Test these helpers need. */
interface Teardown {
  teardown (fn: () => unknown): void
}

/** A fresh directory under the OS temp dir, removed when the test ends. */
export async function tempDir (t: Teardown, prefix = 'mta-sts-test-'): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  return dir
}

/** Write `text` to `name` inside a fresh temp dir; returns the file path. */
export async function writeTempFile (t: Teardown, name: string, text: string): Promise<string> {
  const dir = await tempDir(t)
  const file = join(dir, name)
  await writeFile(file, text)
  return file
}

/** Output streams that collect what a command writes. */
export interface CapturedIo {
  readonly stdout: PassThrough
  readonly stderr: PassThrough
  out (): string
  err (): string
}

export function captureIo (): CapturedIo {
  const stdout = new PassThrough()
  const stderr = new PassThrough()
  const outChunks: Buffer[] = []
  const errChunks: Buffer[] = []
  stdout.on('data', (c: Buffer) => outChunks.push(c))
  stderr.on('data', (c: Buffer) => errChunks.push(c))
  return {
    stdout,
    stderr,
    out: () => Buffer.concat(outChunks).toString('utf8'),
    err: () => Buffer.concat(errChunks).toString('utf8'),
  }
}
