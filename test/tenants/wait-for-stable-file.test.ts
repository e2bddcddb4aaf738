import { rename, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import t from 'tap'
import { fileSignature, waitForStableFile } from '../../src/tenants/wait-for-stable-file.js'
import { tempDir } from '../helpers/service-harness.js'

t.test('fileSignature changes with every write and with a rename-over, and names a missing file', async t => {
  const dir = await tempDir(t)
  const file = join(dir, 'c.yaml')
  t.equal(await fileSignature(file), 'missing:ENOENT')
  await writeFile(file, 'a: 1\n')
  const first = await fileSignature(file)
  t.equal(await fileSignature(file), first, 'stable while untouched')
  await writeFile(file, 'a: 2\n')
  const second = await fileSignature(file)
  t.not(second, first, 'an in-place write of the same size')
  await writeFile(join(dir, 'tmp'), 'a: 2\n')
  await rename(join(dir, 'tmp'), file)
  t.not(await fileSignature(file), second, 'a rename-over')
})

t.test('waitForStableFile resolves only after the writer stopped, with the last version', async t => {
  const dir = await tempDir(t)
  const file = join(dir, 'c.yaml')
  await writeFile(file, '0')
  let writing = true
  const writer = (async () => {
    for (let i = 1; i <= 4; i++) {
      await sleep(60)
      await writeFile(file, String(i).repeat(i))
    }
    writing = false
  })()
  const version = await waitForStableFile(file, { settleMs: 200, pollMs: 20 })
  t.equal(writing, false, 'not before the last write')
  t.equal(version, await fileSignature(file))
  await writer
})

t.test('a missing file is stable too (the load then reports it), and an abort ends the wait', async t => {
  const dir = await tempDir(t)
  const file = join(dir, 'c.yaml')
  t.equal(await waitForStableFile(file, { settleMs: 10, pollMs: 5 }), 'missing:ENOENT')
  await writeFile(file, 'x')
  const aborted = new AbortController()
  aborted.abort()
  t.equal(await waitForStableFile(file, { settleMs: 10, pollMs: 5, signal: aborted.signal }), undefined, 'aborted before')
  const later = new AbortController()
  const waiting = waitForStableFile(file, { settleMs: 60_000, pollMs: 10, signal: later.signal })
  await sleep(30)
  later.abort()
  t.equal(await waiting, undefined, 'aborted while waiting')
  await rm(file)
})
