import type { Logger } from 'pino'
import { RETIREMENTS_PREFIX, retirementKey } from '../store/keys.js'
import type { Store } from '../store/store.js'
import { nextTurn } from './build-snapshot-in-turns.js'
import { HostIndex, HostIndexBuilder } from './host-index.js'
import { tenantEntry, type SnapshotDiff, type TenantEntry, type TenantSnapshot } from './tenant-snapshot.js'

/** Tenants looked at per event-loop turn when applying retirements to a snapshot. */
const TENANTS_PER_TURN = 10_000

/** A tenant served as `mode: none` until senders' cached copies of its policy have expired. */
export interface RetirementRecord {
  readonly domain: string
  readonly mx: readonly string[]
  readonly maxAge: number
  readonly rua: readonly string[]
  readonly certificate?: { readonly cert: string; readonly key: string }
  /** ISO time the old policy was last served (the retirement began). */
  readonly since: string
  /** ISO time the tenant is dropped: `since` plus the old `max_age`. */
  readonly until: string
  /** What senders may have cached. */
  readonly previousMode: string
  readonly previousId: string
  /** Set once a `retire: true` tenant's window has passed: it stays dropped while the entry stays in the file. */
  readonly ended?: true
}

/** A snapshot and its diff against the one served before, after retirements were applied. */
export interface RetiredSnapshot {
  readonly snapshot: TenantSnapshot
  readonly diff: SnapshotDiff
}

/** An empty snapshot of `config`'s kind, the "previous" of the first one. */
export function emptySnapshot (like: TenantSnapshot): TenantSnapshot {
  return Object.freeze({ config: like.config, byHost: HostIndex.of([]), tenants: Object.freeze([]), loadedAt: like.loadedAt })
}

/**
 * Removed tenants, kept answering (RFC 8461 section 8.3): when a tenant whose policy said `enforce`
 * or `testing` leaves the configuration (or gets `retire: true`), senders may hold that policy for
 * its `max_age`; if the domain's MX then changed, their mail would bounce. So the tenant keeps being
 * served, as `mode: none` with the same `mx` and `max_age` under a new id, until `max_age` has passed
 * since the old policy was last served; then it is dropped (and its certificate no longer renewed).
 *
 * The records live in the {@link Store} (`retirements/<domain>.json`), so a restart, or another
 * replica on the same store, keeps serving them. {@link Retirements.apply} runs on every snapshot
 * before it is swapped in; {@link Retirements.persist} writes what it decided.
 */
export class Retirements {
  readonly #store: Store
  readonly #logger: Logger
  readonly #records = new Map<string, RetirementRecord>()
  #writes: Array<{ domain: string, record: RetirementRecord | undefined }> = []

  constructor (store: Store, logger: Logger) {
    this.#store = store
    this.#logger = logger
  }

  /** Reads the records kept in the store; one that does not parse is logged and skipped. */
  async load (): Promise<void> {
    for (const key of await this.#store.list(RETIREMENTS_PREFIX)) {
      const bytes = await this.#store.get(key)
      try {
        const record = JSON.parse(bytes?.toString('utf8') ?? '') as RetirementRecord
        if (typeof record.domain !== 'string' || typeof record.until !== 'string' || !Array.isArray(record.mx)) throw new Error('fields missing')
        this.#records.set(record.domain, record)
      } catch (error) {
        this.#logger.warn({ event: 'retirement_unreadable', key, err: error }, `cannot read the retirement record ${key}: ignored`)
      }
    }
  }

  /** The retirements in force, soonest end first. */
  list (): RetirementRecord[] {
    return [...this.#records.values()].sort((a, b) => (a.until < b.until ? -1 : a.until > b.until ? 1 : 0))
  }

  /** When the next retirement in force ends (ms since the epoch), if any. */
  nextEnd (): number | undefined {
    const first = this.list().find(r => r.ended === undefined)
    return first === undefined ? undefined : Date.parse(first.until)
  }

  /**
   * Decides retirements for `next` (as built from the configuration) against `previous` (as served),
   * and returns `next` with each retiring tenant served as `mode: none`, and its diff against
   * `previous` corrected accordingly. Ended retirements are dropped; a tenant back in the
   * configuration (without `retire: true`) ends its retirement at once. Walks the tenants a few
   * thousand per `yieldTurn()`, so 100,000 tenants never block the event loop for long.
   */
  async apply (next: TenantSnapshot, diff: SnapshotDiff, previous: TenantSnapshot, now: Date, yieldTurn: () => Promise<void> = nextTurn): Promise<RetiredSnapshot> {
    const at = now.toISOString()
    let touched = false
    for (const record of [...this.#records.values()]) {
      if (record.ended === undefined && Date.parse(record.until) <= now.getTime()) {
        touched = true
        if (next.byHost.get(`mta-sts.${record.domain}`)?.retire === true) this.#keep({ ...record, ended: true })
        else this.#drop(record.domain)
        this.#logger.info({ event: 'retirement_ended', tenant: record.domain, since: record.since, until: record.until }, `retirement of ${record.domain} ended: no longer served, its certificate no longer renewed`)
      } else if (record.ended === true && !next.byHost.has(`mta-sts.${record.domain}`)) {
        this.#drop(record.domain)
      }
    }
    for (let i = 0; i < next.tenants.length; i++) {
      if (i > 0 && i % TENANTS_PER_TURN === 0) await yieldTurn()
      const t = next.tenants[i]!
      if (t.retire === true) {
        if (!this.#records.has(t.domain)) this.#start(previous.byHost.get(t.host) ?? t, t, at)
      } else if (this.#records.size > 0 && this.#records.has(t.domain)) {
        this.#drop(t.domain)
        touched = true
        this.#logger.info({ event: 'retirement_cancelled', tenant: t.domain, mode: t.mode, policy_id: t.id }, `${t.domain} is a tenant again: its retirement ended, serving mode ${t.mode}`)
      }
    }
    for (const domain of diff.removed) {
      const prev = previous.byHost.get(`mta-sts.${domain}`)
      if (prev !== undefined && prev.retiring === undefined && prev.mode !== 'none' && !this.#records.has(domain)) this.#start(prev, prev, at)
    }
    if (this.#records.size === 0 && !touched) return { snapshot: next, diff }
    return await this.#serve(next, diff, previous, yieldTurn)
  }

  /** Writes the decisions of {@link Retirements.apply} to the store, in order. */
  async persist (): Promise<void> {
    const writes = this.#writes
    this.#writes = []
    for (const { domain, record } of writes) {
      if (record === undefined) await this.#store.delete(retirementKey(domain))
      else await this.#store.put(retirementKey(domain), JSON.stringify(record, null, 2) + '\n')
    }
  }

  #start (served: TenantEntry, configured: TenantEntry, at: string): void {
    const since = served.retiring === undefined ? at : served.retiring.since
    const record: RetirementRecord = {
      domain: configured.domain,
      mx: [...served.mx],
      maxAge: served.maxAge,
      rua: [...configured.rua],
      ...(configured.certificate ? { certificate: configured.certificate } : {}),
      since,
      until: new Date(Date.parse(since) + served.maxAge * 1000).toISOString(),
      previousMode: served.mode,
      previousId: served.id,
    }
    this.#keep(record)
    const entry = retiredEntry(record)
    this.#logger.warn({
      event: 'retirement_started', tenant: record.domain, previous_mode: record.previousMode, previous_id: record.previousId, policy_id: entry.id, until: record.until,
    }, `${record.domain} left the configuration while senders may cache its ${record.previousMode} policy: serving mode none until ${record.until}; publish _mta-sts.${record.domain} TXT "v=STSv1; id=${entry.id}"`)
  }

  #keep (record: RetirementRecord): void {
    this.#records.set(record.domain, record)
    this.#writes.push({ domain: record.domain, record })
  }

  #drop (domain: string): void {
    this.#records.delete(domain)
    this.#writes.push({ domain, record: undefined })
  }

  async #serve (next: TenantSnapshot, diff: SnapshotDiff, previous: TenantSnapshot, yieldTurn: () => Promise<void>): Promise<RetiredSnapshot> {
    // What each record makes of its host: served as its retired entry, or (ended) not served at all.
    const overrides = new Map<string, TenantEntry | null>()
    for (const record of this.#records.values()) {
      const host = `mta-sts.${record.domain}`
      const prev = previous.byHost.get(host)
      overrides.set(host, record.ended === true ? null : prev?.retiring?.until === record.until && prev.retiring.previousId === record.previousId ? prev : retiredEntry(record))
    }
    const served = new Set<string>()
    const dropped = new Set<string>()
    const index = new HostIndexBuilder(previous.byHost)
    for (let i = 0; i < next.tenants.length; i++) {
      if (i > 0 && i % TENANTS_PER_TURN === 0) await yieldTurn()
      const t = next.tenants[i]!
      const override = overrides.get(t.host)
      if (override === null) {
        dropped.add(t.domain)
      } else {
        index.add(override ?? t)
        if (override !== undefined) served.add(t.domain)
      }
    }
    for (const [host, override] of overrides) {
      if (override !== null && !next.byHost.has(host)) {
        index.add(override)
        served.add(override.domain)
      }
    }
    const byHost = await index.build(yieldTurn)
    const affected = (domain: string): boolean => served.has(domain) || dropped.has(domain)
    const fixed: SnapshotDiff = {
      added: diff.added.filter(d => !affected(d)),
      removed: diff.removed.filter(d => !affected(d)),
      changed: diff.changed.filter(c => !affected(c.domain)),
      hosts: {
        added: diff.hosts.added.filter(h => !affected(h.slice(8))),
        removed: diff.hosts.removed.filter(h => !affected(h.slice(8))),
      },
    }
    for (const domain of [...served, ...dropped]) {
      const host = `mta-sts.${domain}`
      const prev = previous.byHost.get(host)
      const entry = byHost.get(host)
      if (entry === undefined) {
        if (prev !== undefined) {
          fixed.removed.push(domain)
          fixed.hosts.removed.push(host)
        }
      } else if (prev === undefined) {
        fixed.added.push(domain)
        fixed.hosts.added.push(host)
      } else if (prev.id !== entry.id) {
        fixed.changed.push({ domain, id: [prev.id, entry.id], ...(prev.mode !== entry.mode ? { mode: [prev.mode, entry.mode] as [string, string] } : {}) })
      }
    }
    return { snapshot: Object.freeze({ ...next, byHost, tenants: index.entries }), diff: fixed }
  }
}

/** The entry a retiring tenant is served with: its old `mx` and `max_age`, `mode: none`, a new id. */
export function retiredEntry (record: RetirementRecord): TenantEntry {
  return tenantEntry({
    domain: record.domain,
    host: `mta-sts.${record.domain}`,
    mode: 'none',
    mx: record.mx,
    maxAge: record.maxAge,
    rua: record.rua,
    ...(record.certificate ? { certificate: record.certificate } : {}),
    retiring: { since: record.since, until: record.until, previousMode: record.previousMode, previousId: record.previousId },
  })
}
