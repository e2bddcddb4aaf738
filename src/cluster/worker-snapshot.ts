import { setImmediate as nextTurn } from 'node:timers/promises'
import type { Config } from '../config/types.js'
import type { RetiringState, TenantEntry, TenantSnapshot } from '../tenants/tenant-snapshot.js'

/** Tenant entries per snapshot message: one message is applied per event-loop turn in the worker. */
export const ENTRIES_PER_CHUNK = 2500

/** A tenant entry as sent to workers: everything but the body bytes, which the worker rebuilds from `policy`. */
export type WireEntry = Omit<TenantEntry, 'body'>

/**
 * One message of a snapshot transfer. `seq` numbers transfers; `full` starts
 * from nothing (a new worker), otherwise from the worker's current snapshot;
 * the worker swaps in the result when the message with `last` arrived.
 */
export interface SnapshotChunk {
  readonly seq: number
  readonly full: boolean
  readonly last: boolean
  /** What the worker's apps read of the configuration (never the tenants, secrets or the database). */
  readonly config?: Config
  readonly loadedAt?: string
  readonly entries: readonly WireEntry[]
  /** Policy hosts no longer served. */
  readonly removed: readonly string[]
}

/** The part of the configuration the worker's https and http apps read; the tenants travel as entries. */
export function workerConfig (config: Config): Config {
  const { acme } = config.certificates
  return {
    ...config,
    tenants: [],
    certificates: {
      ...config.certificates,
      // The account email, EAB key and CA file stay with the primary, which places the orders.
      acme: { ...acme, eab: undefined, email: '', caFile: undefined } as unknown as Config['certificates']['acme'],
    },
    database: undefined,
  } as unknown as Config
}

function wireEntry (entry: TenantEntry): WireEntry {
  const { body: _body, ...rest } = entry
  return rest
}

/**
 * The messages that bring a worker from `previous` (or from nothing) to
 * `next`: entries whose policy id changed (a retirement changes it too) or that are new, and the hosts
 * removed, {@link ENTRIES_PER_CHUNK} to a message. Walks `next` once.
 */
export function snapshotChunks (seq: number, next: TenantSnapshot, previous?: TenantSnapshot): SnapshotChunk[] {
  const changed: WireEntry[] = []
  for (const [host, entry] of next.byHost) {
    const before = previous?.byHost.get(host)
    if (before === undefined || before.id !== entry.id) changed.push(wireEntry(entry))
  }
  const removed: string[] = []
  if (previous !== undefined) for (const host of previous.byHost.keys()) if (!next.byHost.has(host)) removed.push(host)
  const chunks: SnapshotChunk[] = []
  const count = Math.max(1, Math.ceil(Math.max(changed.length, removed.length) / ENTRIES_PER_CHUNK))
  for (let i = 0; i < count; i++) {
    const from = i * ENTRIES_PER_CHUNK
    chunks.push({
      seq,
      full: previous === undefined,
      last: i === count - 1,
      ...(i === 0 ? { config: workerConfig(next.config), loadedAt: next.loadedAt.toISOString() } : {}),
      entries: changed.slice(from, from + ENTRIES_PER_CHUNK),
      removed: removed.slice(from, from + ENTRIES_PER_CHUNK),
    })
  }
  return chunks
}

/** Rebuild a frozen entry (with its wire bytes) from what was sent. */
function entryOf (wire: WireEntry): TenantEntry {
  return Object.freeze({
    ...wire,
    ...(wire.retiring === undefined ? {} : { retiring: Object.freeze({ ...wire.retiring }) as RetiringState }),
    body: Buffer.from(wire.policy, 'ascii'),
  })
}

/** What a worker does with a snapshot once it is whole: swap it in, and drop what removed hosts held. */
export type SnapshotSwap = (next: TenantSnapshot, removed: readonly string[]) => void

/**
 * The worker's side of snapshot transfers: takes the chunks in order,
 * applies one per event-loop turn into a copy of the current map, and calls
 * `swap` only when a transfer's last chunk is applied, so a request never
 * sees half a reload. A diff that arrives before any full snapshot is ignored
 * (the full snapshot, sent first, already contains it).
 */
export class SnapshotReceiver {
  #current: TenantSnapshot | undefined
  readonly #swap: SnapshotSwap
  readonly #queue: SnapshotChunk[] = []
  #working: Promise<void> | undefined
  #building: { byHost: Map<string, TenantEntry>, config: Config, loadedAt: Date, removed: string[] } | undefined

  constructor (swap: SnapshotSwap) {
    this.#swap = swap
  }

  /** The snapshot swapped in last, if any arrived yet. */
  get current (): TenantSnapshot | undefined {
    return this.#current
  }

  /** Whether chunks are waiting or being applied. */
  get busy (): boolean {
    return this.#working !== undefined
  }

  /** Take one message; resolves once it (and those before it) are applied. */
  receive (chunk: SnapshotChunk): Promise<void> {
    this.#queue.push(chunk)
    this.#working ??= this.#drain().finally(() => { this.#working = undefined })
    return this.#working
  }

  async #drain (): Promise<void> {
    for (let chunk = this.#queue.shift(); chunk !== undefined; chunk = this.#queue.shift()) {
      this.#apply(chunk)
      await nextTurn()
    }
  }

  #apply (chunk: SnapshotChunk): void {
    if (chunk.config !== undefined) {
      const base = chunk.full ? undefined : this.#current
      if (!chunk.full && base === undefined) {
        this.#building = undefined
        return
      }
      this.#building = {
        byHost: new Map(base?.byHost),
        config: chunk.config,
        loadedAt: new Date(chunk.loadedAt as string),
        removed: [],
      }
    }
    const building = this.#building
    if (building === undefined) return
    for (const host of chunk.removed) building.byHost.delete(host)
    building.removed.push(...chunk.removed)
    for (const wire of chunk.entries) building.byHost.set(wire.host, entryOf(wire))
    if (!chunk.last) return
    this.#building = undefined
    const next: TenantSnapshot = Object.freeze({
      config: building.config,
      byHost: building.byHost,
      tenants: Object.freeze([...building.byHost.values()]),
      loadedAt: building.loadedAt,
    })
    this.#current = next
    this.#swap(next, building.removed)
  }
}
