import { setImmediate } from 'node:timers/promises'
import type { Config, ConfigProblem } from '../config/types.js'
import { HostIndexBuilder } from './host-index.js'
import { decodeChunk, type ConfigBase, type PreparedTenant } from './prepared-config.js'
import { PolicyTexts } from '../policy/policy-texts.js'
import { tenantEntry, type SnapshotDiff, type TenantEntry, type TenantSnapshot } from './tenant-snapshot.js'

/** Options of {@link buildSnapshotInTurns}. */
export interface BuildInTurnsOptions {
  /** Called before each chunk: gives the event loop a turn (default `setImmediate`). */
  readonly yieldTurn?: () => Promise<void>
  /** Previous tenants looked at per turn when finding the removed ones (default 20,000: a Map lookup each). */
  readonly removedPerTurn?: number
  readonly now?: Date
}

/** One event-loop turn: I/O callbacks (requests) run before the promise resolves. */
export const nextTurn = (): Promise<void> => setImmediate()

/**
 * Build the snapshot of a prepared configuration beside `previous`, one chunk
 * of tenants per event-loop turn, and compare it with `previous` on the way
 * (what {@link diffSnapshots} would say). Requests keep being answered from
 * `previous` meanwhile; the caller swaps the result in with one assignment.
 * A tenant whose policy, `rua` and certificate files did not change keeps its
 * previous entry object, so an edit of one tenant among 100,000 allocates
 * (and later frees) almost nothing.
 */
export async function buildSnapshotInTurns (
  base: ConfigBase,
  chunks: readonly ArrayBuffer[],
  warnings: readonly ConfigProblem[],
  previous: TenantSnapshot,
  opts: BuildInTurnsOptions = {},
): Promise<{ snapshot: TenantSnapshot; diff: SnapshotDiff }> {
  const yieldTurn = opts.yieldTurn ?? nextTurn
  const index = new HostIndexBuilder(previous.byHost)
  const diff: SnapshotDiff = { added: [], removed: [], changed: [], hosts: { added: [], removed: [] } }
  const texts = new PolicyTexts()
  for (const chunk of chunks) {
    await yieldTurn()
    for (const t of decodeChunk<PreparedTenant>(chunk)) {
      const prev = previous.byHost.get(t.host)
      const entry = prev && sameTenant(prev, t) ? prev : tenantEntry(t, t.id, texts)
      if (!prev) {
        diff.added.push(entry.domain)
        diff.hosts.added.push(entry.host)
      } else if (prev.id !== entry.id) {
        diff.changed.push({ domain: entry.domain, id: [prev.id, entry.id], ...(prev.mode !== entry.mode ? { mode: [prev.mode, entry.mode] as [string, string] } : {}) })
      }
      index.add(entry)
    }
  }
  await yieldTurn()
  const byHost = await index.build(yieldTurn)
  // Hosts are unique: every previous host is still there unless fewer were found than it had.
  if (previous.byHost.size > byHost.size - diff.added.length) {
    const perTurn = opts.removedPerTurn ?? 20_000
    let seen = 0
    for (const [host, prev] of previous.byHost) {
      if (++seen % perTurn === 0) await yieldTurn()
      if (!byHost.has(host)) {
        diff.removed.push(prev.domain)
        diff.hosts.removed.push(host)
      }
    }
  }
  const tenants = index.entries
  const config: Config = Object.freeze({ ...deepFreeze(base), tenants, warnings: Object.freeze([...warnings]) })
  return { snapshot: Object.freeze({ config, byHost, tenants, loadedAt: opts.now ?? new Date() }), diff }
}

function sameTenant (prev: TenantEntry, next: PreparedTenant): boolean {
  return prev.id === next.id &&
    prev.retire === next.retire &&
    prev.retiring === undefined &&
    sameList(prev.rua, next.rua) &&
    prev.certificate?.cert === next.certificate?.cert &&
    prev.certificate?.key === next.certificate?.key
}

function sameList (a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i])
}

function deepFreeze<T> (value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value)
    for (const child of Object.values(value)) deepFreeze(child)
  }
  return value
}
