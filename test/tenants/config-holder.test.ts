import { writeFileSync } from 'node:fs'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import { ManualClock } from '../../src/clock.js'
import { loadConfig } from '../../src/config/load-config.js'
import { createLogger } from '../../src/log.js'
import { createMetrics } from '../../src/metrics.js'
import { ConfigHolder, LOGGED_CHANGES_MAX, type ConfigHolderOptions } from '../../src/tenants/config-holder.js'
import { buildSnapshot, type SnapshotDiff, type TenantSnapshot } from '../../src/tenants/tenant-snapshot.js'
import { Retirements } from '../../src/tenants/retirements.js'
import { MemoryStore } from '../../src/store/memory-store.js'
import { tempDir } from '../helpers/service-harness.js'

const yaml = (tenants: string[], defaults = 'mx: [mx.example.net]'): string =>
  ['certificates: {issuer: internal}', `defaults: {${defaults}}`, 'tenants:', ...tenants, ''].join('\n')
const names = (n: number, from = 0, extra = ''): string[] => Array.from({ length: n }, (_, i) => `  t${from + i}.example:${extra}`)

/** A holder on a temp file, logging into an array (synchronously, so lines are there when a reload resolves). */
async function holderOn (t: Test, text: string, opts: Partial<ConfigHolderOptions> = {}): Promise<{ holder: ConfigHolder; file: string; logs: Record<string, unknown>[] }> {
  const dir = await tempDir(t)
  const file = join(dir, 'config.yaml')
  await writeFile(file, text)
  const result = await loadConfig(file)
  if (!result.ok) throw new Error(JSON.stringify(result.errors))
  const logs: Record<string, unknown>[] = []
  const logger = createLogger('debug', { write: (line: string) => { logs.push(JSON.parse(line) as Record<string, unknown>) } })
  const holder = new ConfigHolder(buildSnapshot(result.config), { logger, metrics: createMetrics(() => undefined), settleMs: 20, ...opts })
  t.teardown(() => holder.close())
  return { holder, file, logs }
}

t.test('a large reload is built over many event-loop turns beside the old snapshot, then swapped once', async t => {
  const n = 10_000
  let turns = 0
  let seenDuringBuild: TenantSnapshot | undefined
  let old: TenantSnapshot | undefined
  const { holder, file } = await holderOn(t, yaml(names(n)), {
    load: {
      chunkSize: 500,
      offThreadMinBytes: 0,
      yieldTurn: async () => {
        turns++
        // Requests between chunks are answered from the old snapshot, whole.
        if (holder.snapshot !== old) seenDuringBuild = holder.snapshot
        await new Promise(resolve => setImmediate(resolve))
      },
    },
  })
  old = holder.snapshot
  const swaps: SnapshotDiff[] = []
  holder.onChange((next, previous, diff) => {
    t.equal(previous, old)
    t.equal(holder.snapshot, next, 'listeners run after the swap')
    swaps.push(diff)
  })
  await writeFile(file, yaml([...names(n - 1), `  t${n - 1}.example: {mode: enforce}`, '  added.example:']))
  const status = await holder.reload('SIGHUP')
  t.ok(status.ok)
  t.ok(turns >= (n + 1) / 500, `${turns} turns while ${n + 1} tenants were built 500 at a time`)
  t.equal(seenDuringBuild, undefined, 'the snapshot never changed before the build was complete')
  t.equal(swaps.length, 1, 'one swap')
  t.same(swaps[0]?.added, ['added.example'])
  t.same(swaps[0]?.changed.map(c => c.domain), [`t${n - 1}.example`])
  t.equal(holder.snapshot.tenants.length, n + 1)
  t.equal(holder.snapshot.byHost.get('mta-sts.t0.example'), old.byHost.get('mta-sts.t0.example'), 'unchanged tenants keep their entry')
})

t.test('a fetch at any turn of a chunked reload sees the whole old or the whole new snapshot, retirements included', async t => {
  const n = 12_000
  const lines = (mode: string): string[] => names(n, 0, ` {mode: ${mode}}`)
  // A holder of its own on the file holderOn wrote, with the service's retirement overlay.
  const { holder, file } = await holderOn(t, yaml([...lines('testing'), '  gone.example: {mode: enforce}']))
  const retirements = new Retirements(new MemoryStore(), createLogger('silent', { write: () => {} }))
  const withOverlay = new ConfigHolder(holder.snapshot, {
    logger: createLogger('silent', { write: () => {} }),
    metrics: createMetrics(() => undefined),
    settleMs: 20,
    load: { chunkSize: 250, offThreadMinBytes: 0 },
    overlay: async (next, diff, previous) => await retirements.apply(next, diff, previous, new Date()),
  })
  t.teardown(() => withOverlay.close())
  const hosts = Array.from({ length: n }, (_, i) => `mta-sts.t${i}.example`).filter((_, i) => i % 37 === 0)
  // What a fetch between two turns would be answered from: one mode for every tenant, and the
  // retired tenant present exactly when the new modes are.
  const look = (): string => {
    const { byHost, tenants } = withOverlay.snapshot
    const modes = new Set(hosts.map(h => byHost.get(h)?.mode))
    const gone = byHost.get('mta-sts.gone.example')?.mode
    const listed = tenants.length === byHost.size && tenants.every((e, i) => i % 101 !== 0 || byHost.get(e.host) === e)
    return `${[...modes].join('+')} gone:${gone ?? '-'} listed:${listed}`
  }
  const before = look()
  await writeFile(file, yaml(lines('enforce')))
  const seen = new Set<string>()
  let turns = 0
  let running = true
  const sampler = (async () => {
    while (running) {
      seen.add(look())
      turns++
      await new Promise(resolve => setImmediate(resolve))
    }
  })()
  const status = await withOverlay.reload('SIGHUP')
  running = false
  await sampler
  t.ok(status.ok)
  t.equal(before, 'testing gone:enforce listed:true')
  t.equal(look(), 'enforce gone:none listed:true', 'the removed enforce tenant is served retired, as mode none')
  t.ok(turns > n / 250, `${turns} turns looked at`)
  t.same([...seen].filter(x => x !== before && x !== look()), [], 'never a mix: only the old or the new snapshot')
  t.ok(seen.has(before), 'the old one while the new one was built')
})

t.test('the reload log lists at most LOGGED_CHANGES_MAX names per kind, with complete counts', async t => {
  const { holder, file, logs } = await holderOn(t, yaml(names(1)), { load: { offThreadMinBytes: Infinity } })
  await writeFile(file, yaml(names(LOGGED_CHANGES_MAX + 5, 1)))
  await holder.reload('SIGHUP')
  const line = logs.find(l => l.event === 'reload')
  t.equal((line?.added as string[]).length, LOGGED_CHANGES_MAX)
  t.equal(line?.added_count, LOGGED_CHANGES_MAX + 5)
  t.same(line?.removed, ['t0.example'])
  t.equal(line?.removed_count, 1)
  t.equal(line?.changed_count, 0)
  t.type(line?.loop_delay_max_ms, 'number')
})

t.test('thousands of errors or warnings are all logged, a few hundred per turn', async t => {
  const { holder, file, logs } = await holderOn(t, yaml(names(2)), { load: { offThreadMinBytes: Infinity } })
  await writeFile(file, yaml(names(1200, 0, ' {mode: enforced}')))
  const failed = await holder.reload('SIGHUP')
  t.equal(failed.ok, false)
  t.equal(failed.errors.length, 1200)
  t.equal(logs.filter(l => l.event === 'config_error').length, 1200)
  await writeFile(file, yaml(names(1200), 'mx: [mx.example.net], max_age: 3600'))
  t.ok((await holder.reload('SIGHUP')).ok)
  t.equal(logs.filter(l => l.event === 'config_warning').length, 1200, 'a warning per tenant below one day')
  await writeFile(file, yaml([...names(1200, 0, ' {mode: enforced}'), '  x.example: {max_age: 60}']))
  t.equal((await holder.reload('SIGHUP')).ok, false)
  t.equal(logs.filter(l => l.event === 'config_warning').length, 1201, "a rejected file's warnings are logged too")
})

t.test('a file that changes while it is read is read again once it settles', async t => {
  let writes = 0
  const { holder, file, logs } = await holderOn(t, yaml(names(3)), {
    load: {
      yieldTurn: async () => {
        // Runs after the file was read: a writer gets in before the result is used.
        if (writes++ === 0) writeFileSync(file, yaml(names(4)))
        await new Promise(resolve => setImmediate(resolve))
      },
    },
  })
  await writeFile(file, yaml(names(2)))
  const status = await holder.reload('SIGHUP')
  t.ok(status.ok)
  t.equal(logs.filter(l => l.event === 'reload_deferred').length, 1)
  t.equal(logs.filter(l => l.event === 'reload').length, 1, 'only the settled file is applied')
  t.equal(holder.snapshot.tenants.length, 4)
})

t.test('a file event for the version already loaded does not reload it again', async t => {
  const { holder, file, logs } = await holderOn(t, yaml(names(3)))
  await holder.watch()
  await writeFile(file, yaml(names(2)))
  await holder.reload('file changed')
  t.equal(logs.filter(l => l.event === 'reload').length, 1)
  await holder.reload('file changed')
  t.equal(logs.filter(l => l.event === 'reload').length, 1, 'the same version: nothing to do')
  await holder.reload('SIGHUP')
  t.equal(logs.filter(l => l.event === 'reload').length, 2, 'SIGHUP always reloads')
})

t.test('reloads asked for while one runs: a SIGHUP is never swallowed, a late file event never forces a second load', async t => {
  const { holder, file, logs } = await holderOn(t, yaml(names(3)))
  await holder.watch()
  const reloads = (): number => logs.filter(l => l.event === 'reload').length
  await writeFile(file, yaml(names(2)))
  const first = holder.reload('file changed')
  void holder.reload('SIGHUP')
  void holder.reload('file changed')
  await first
  t.equal(reloads(), 2, 'the new version, then the SIGHUP (which the file event after it does not downgrade)')
  const forced = holder.reload('SIGHUP')
  void holder.reload('file changed')
  await forced
  t.equal(reloads(), 3, 'a file event during a SIGHUP for the same version loads nothing more')
})

t.test('close() ends a reload that is waiting for the file to settle', async t => {
  const { holder, file, logs } = await holderOn(t, yaml(names(3)), { settleMs: 60_000 })
  await writeFile(file, yaml(names(2)))
  const pending = holder.reload('SIGHUP')
  await holder.close()
  t.ok((await pending).ok, 'the last status stands')
  t.equal(logs.filter(l => l.event === 'reload').length, 0)
  t.equal(holder.snapshot.tenants.length, 3)
})

t.test('listen and certificates changes are applied to the snapshot but said to need a restart', async t => {
  const { holder, file, logs } = await holderOn(t, yaml(names(1)))
  await writeFile(file, yaml(names(1)).replace('certificates: {issuer: internal}', 'certificates: {issuer: internal, storage: /elsewhere}'))
  t.ok((await holder.reload('SIGHUP')).ok)
  t.same(logs.find(l => l.event === 'reload_restart_needed')?.sections, ['certificates'])
})

t.test('reloads are stamped by the injected clock: loadedAt of an applied file, at of a rejected one', async t => {
  const clock = new ManualClock(new Date('2026-03-01T12:00:00Z'))
  const { holder, file } = await holderOn(t, yaml(names(1)), { clock })
  clock.advance(60_000)
  await writeFile(file, yaml(names(2)))
  const applied = await holder.reload('SIGHUP')
  t.ok(applied.ok)
  t.same(applied.at, new Date('2026-03-01T12:01:00Z'))
  t.same(holder.snapshot.loadedAt, new Date('2026-03-01T12:01:00Z'))
  clock.advance(60_000)
  await writeFile(file, 'tenants: [')
  const rejected = await holder.reload('SIGHUP')
  t.notOk(rejected.ok)
  t.same(rejected.at, new Date('2026-03-01T12:02:00Z'))
  t.same(holder.snapshot.loadedAt, new Date('2026-03-01T12:01:00Z'), 'the last good snapshot stays')
})
