import type { TenantEntry } from './tenant-snapshot.js'

/**
 * Shards of a {@link HostIndex}: at 100,000 tenants about 400 hosts each, so
 * growing one shard's table rehashes a few hundred keys (a single Map of
 * 100,000 rehashes all of them at once when it doubles: 10-50 ms in one step).
 */
export const HOST_INDEX_SHARDS = 256

/** Hosts inserted into shard tables per event-loop turn by {@link HostIndexBuilder.build}. */
export const INSERTS_PER_TURN = 5000

/** The shard of `host`: FNV-1a of its UTF-16 code units, so shards fill evenly whatever the names share. */
export function shardOf (host: string): number {
  let h = 0x811c9dc5
  for (let i = 0; i < host.length; i++) h = Math.imul(h ^ host.charCodeAt(i), 0x01000193)
  return (h >>> 0) % HOST_INDEX_SHARDS
}

/**
 * Tenant entries by policy host, as a read-only Map. Lookups go to one of
 * {@link HOST_INDEX_SHARDS} small Maps; iteration follows the entries' order.
 * Built in turns by {@link HostIndexBuilder}, which shares every shard that
 * did not change with the index it replaces, so a reload that edits one
 * tenant among 100,000 builds one shard of a few hundred hosts.
 */
export class HostIndex implements ReadonlyMap<string, TenantEntry> {
  readonly #shards: readonly ReadonlyMap<string, TenantEntry>[]
  readonly #entries: readonly TenantEntry[]

  /** Use {@link HostIndex.of} or {@link HostIndexBuilder}. */
  private constructor (shards: readonly ReadonlyMap<string, TenantEntry>[], entries: readonly TenantEntry[]) {
    this.#shards = shards
    this.#entries = entries
  }

  /** The index of `entries` (hosts unique), built at once: for start-up and small sets. */
  static of (entries: readonly TenantEntry[]): HostIndex {
    const shards = Array.from({ length: HOST_INDEX_SHARDS }, () => new Map<string, TenantEntry>())
    for (const entry of entries) shards[shardOf(entry.host)]!.set(entry.host, entry)
    return new HostIndex(shards, entries)
  }

  /** @internal The builder's way in. */
  static fromShards (shards: readonly ReadonlyMap<string, TenantEntry>[], entries: readonly TenantEntry[]): HostIndex {
    return new HostIndex(shards, entries)
  }

  /** @internal The shard tables, for {@link HostIndexBuilder} to share. */
  shard (i: number): ReadonlyMap<string, TenantEntry> {
    return this.#shards[i]!
  }

  get size (): number {
    return this.#entries.length
  }

  get (host: string): TenantEntry | undefined {
    return this.#shards[shardOf(host)]!.get(host)
  }

  has (host: string): boolean {
    return this.#shards[shardOf(host)]!.has(host)
  }

  * entries (): MapIterator<[string, TenantEntry]> {
    for (const entry of this.#entries) yield [entry.host, entry]
  }

  * keys (): MapIterator<string> {
    for (const entry of this.#entries) yield entry.host
  }

  values (): MapIterator<TenantEntry> {
    return this.#entries.values()
  }

  [Symbol.iterator] (): MapIterator<[string, TenantEntry]> {
    return this.entries()
  }

  forEach (fn: (value: TenantEntry, key: string, map: ReadonlyMap<string, TenantEntry>) => void, thisArg?: unknown): void {
    for (const entry of this.#entries) fn.call(thisArg, entry, entry.host, this)
  }
}

/**
 * Builds a {@link HostIndex} beside `previous` (the index it will replace) in
 * small steps: {@link HostIndexBuilder.add} notes each entry and whether its
 * shard still matches the previous one; {@link HostIndexBuilder.build} fills
 * only the shards that changed, {@link INSERTS_PER_TURN} hosts per turn, and
 * shares the others.
 */
export class HostIndexBuilder {
  readonly #previous: HostIndex | undefined
  readonly #entries: TenantEntry[] = []
  readonly #shardOfEntry: number[] = []
  readonly #counts = new Uint32Array(HOST_INDEX_SHARDS)
  readonly #changed = new Uint8Array(HOST_INDEX_SHARDS)

  /** `previous`: the index this one will replace (a plain Map shares nothing). */
  constructor (previous?: ReadonlyMap<string, TenantEntry>) {
    this.#previous = previous instanceof HostIndex ? previous : undefined
  }

  /** The entries added so far, in order: the index's iteration order (frozen by {@link HostIndexBuilder.build}). */
  get entries (): readonly TenantEntry[] {
    return this.#entries
  }

  /** Add `entry`; its host must not have been added before. */
  add (entry: TenantEntry): void {
    const s = shardOf(entry.host)
    this.#entries.push(entry)
    this.#shardOfEntry.push(s)
    this.#counts[s]!++
    if (this.#changed[s] === 0 && this.#previous?.shard(s).get(entry.host) !== entry) this.#changed[s] = 1
  }

  /** The index of the entries added (and then frozen), `yieldTurn()` between steps. */
  async build (yieldTurn: () => Promise<void>): Promise<HostIndex> {
    const previous = this.#previous
    const shards: ReadonlyMap<string, TenantEntry>[] = []
    const fresh: (Map<string, TenantEntry> | undefined)[] = []
    for (let s = 0; s < HOST_INDEX_SHARDS; s++) {
      const reuse = previous !== undefined && this.#changed[s] === 0 && previous.shard(s).size === this.#counts[s]
      const map = reuse ? undefined : new Map<string, TenantEntry>()
      fresh.push(map)
      shards.push(map ?? previous!.shard(s))
    }
    for (let i = 0; i < this.#entries.length; i++) {
      if (i > 0 && i % INSERTS_PER_TURN === 0) await yieldTurn()
      const entry = this.#entries[i]!
      fresh[this.#shardOfEntry[i]!]?.set(entry.host, entry)
    }
    return HostIndex.fromShards(shards, Object.freeze(this.#entries))
  }
}
