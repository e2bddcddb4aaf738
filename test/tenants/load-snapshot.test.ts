import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import t from 'tap'
import { loadConfig } from '../../src/config/load-config.js'
import { loadSnapshot } from '../../src/tenants/load-snapshot.js'
import { buildSnapshot } from '../../src/tenants/tenant-snapshot.js'
import { configFrom } from '../helpers/config-fixtures.js'
import { tempDir } from '../helpers/service-harness.js'

const previous = buildSnapshot(configFrom('certificates: {issuer: internal}\ntenants:\n  old.example: {mx: [mx.old.example]}\n'))

t.test('the same result in a worker thread as on the main thread, for valid, invalid and missing files', async t => {
  const dir = await tempDir(t)
  const good = join(dir, 'good.yaml')
  const bad = join(dir, 'bad.yaml')
  await writeFile(good, 'certificates: {issuer: internal}\ntenants:\n  Example.COM:\n    mode: enforce\n    mx: [mx.example.com]\n    max_age: 3600\n')
  await writeFile(bad, 'tenants:\n  example.com:\n    mode: enforced\n    mx: [mx.example.com]\n')
  const now = (): Date => new Date('2026-01-01T00:00:00Z')
  for (const file of [good, bad, join(dir, 'missing.yaml')]) {
    const [worker, main] = await Promise.all([loadSnapshot(file, previous, { offThreadMinBytes: 0, now }), loadSnapshot(file, previous, { offThreadMinBytes: Infinity, now })])
    t.same(worker, main, file)
    const direct = await loadConfig(file)
    if (direct.ok && worker.ok) {
      t.same(worker.snapshot.tenants, buildSnapshot(direct.config).tenants)
      t.same(worker.snapshot.config.warnings, direct.config.warnings)
      t.ok(Object.isFrozen(worker.snapshot.config.certificates.acme.challenges), 'frozen all the way down')
      t.same(worker.diff.added, ['example.com'])
    } else if (!direct.ok && !worker.ok) {
      t.same(worker.errors, direct.errors)
      t.same(worker.warnings, direct.warnings)
    } else {
      t.fail('worker and loadConfig disagree')
    }
  }
})

t.test('small files stay on the main thread; large ones are parsed in a worker while the main thread keeps running', async t => {
  const dir = await tempDir(t)
  const small = join(dir, 'small.yaml')
  await writeFile(small, 'tenants:\n  example.com:\n    mx: [mx.example.com]\n')
  // Node emits 'worker' on the process for every Worker thread started, however the loader is built.
  let started = 0
  const count = (): void => { started++ }
  process.on('worker', count)
  t.teardown(() => { process.off('worker', count) })
  const result = await loadSnapshot(small, previous)
  t.ok(result.ok && result.snapshot.tenants.length === 1)
  t.equal(started, 0, 'no worker thread for a small file')
  await loadSnapshot(small, previous, { offThreadMinBytes: 0 })
  t.equal(started, 1, 'the same file above the threshold does start one (the count sees workers)')
  const large = join(dir, 'large.yaml')
  await writeFile(large, 'tenants:\n' + Array.from({ length: 20000 }, (_, i) => `  t${i}.example:\n    mx: [mx.t${i}.example]\n`).join(''))
  let ticks = 0
  const timer = setInterval(() => { ticks++ }, 1)
  const big = await loadSnapshot(large, previous)
  clearInterval(timer)
  t.equal(big.ok && big.snapshot.tenants.length, 20000)
  // Parsing 20,000 tenants keeps a thread busy for hundreds of milliseconds: on the main thread
  // the timer could not fire meanwhile; with the worker (and the build in turns) it fires throughout.
  t.ok(ticks >= 20, `the timer fired ${ticks} times during the load`)
})
