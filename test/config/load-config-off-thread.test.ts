import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import t from 'tap'
import { loadConfig } from '../../src/config/load-config.js'
import { loadConfigOffThread } from '../../src/config/load-config-off-thread.js'
import { tempDir } from '../helpers/service-harness.js'

t.test('same result as loadConfig, frozen, for valid and invalid files', async t => {
  const dir = await tempDir(t)
  const good = join(dir, 'good.yaml')
  const bad = join(dir, 'bad.yaml')
  await writeFile(good, 'tenants:\n  Example.COM:\n    mode: enforce\n    mx: [mx.example.com]\n    max_age: 3600\n')
  await writeFile(bad, 'tenants:\n  example.com:\n    mode: enforced\n    mx: [mx.example.com]\n')
  for (const file of [good, bad, join(dir, 'missing.yaml')]) {
    const [worker, main] = await Promise.all([loadConfigOffThread(file, 0), loadConfig(file)])
    t.same(worker, main, file)
    t.ok(Object.isFrozen(worker), 'frozen')
  }
  const result = await loadConfigOffThread(good, 0)
  t.ok(result.ok && Object.isFrozen(result.config.tenants[0]) && Object.isFrozen(result.config.warnings), 'frozen all the way down')
})

t.test('small files stay on the main thread', async t => {
  const dir = await tempDir(t)
  const file = join(dir, 'small.yaml')
  await writeFile(file, 'tenants:\n  example.com:\n    mx: [mx.example.com]\n')
  // Node emits 'worker' on the process for every Worker thread started, however the loader is built.
  let started = 0
  const count = (): void => { started++ }
  process.on('worker', count)
  t.teardown(() => { process.off('worker', count) })
  t.same(await loadConfigOffThread(file), await loadConfig(file))
  t.equal(started, 0, 'no worker thread for a small file')
  await loadConfigOffThread(file, 0)
  t.equal(started, 1, 'the same file above the threshold does start one (the count sees workers)')
})

t.test('the main thread keeps running while a large file is parsed', async t => {
  const dir = await tempDir(t)
  const file = join(dir, 'large.yaml')
  await writeFile(file, 'tenants:\n' + Array.from({ length: 20000 }, (_, i) => `  t${i}.example:\n    mx: [mx.t${i}.example]\n`).join(''))
  let ticks = 0
  const timer = setInterval(() => { ticks++ }, 1)
  const result = await loadConfigOffThread(file)
  const ticksDuringParse = ticks
  clearInterval(timer)
  t.equal(result.ok && result.config.tenants.length, 20000)
  // Parsing 20,000 tenants keeps a thread busy for hundreds of milliseconds. On the main thread the
  // timer could not fire meanwhile (a tick or two at most, before the parse starts); in a worker it
  // fires throughout.
  t.ok(ticksDuringParse >= 20, `the timer fired ${ticksDuringParse} times while the file was parsed`)
})
