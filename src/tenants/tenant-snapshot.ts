import type { Config, Tenant } from '../config/types.js'
import { PolicyTexts } from '../policy/policy-texts.js'
import { HostIndex } from './host-index.js'

/** A tenant with its policy prepared once, so requests only look it up and write it. */
export interface TenantEntry extends Tenant {
  /** The exact policy text (CRLF lines). */
  readonly policy: string
  /** The same text as the bytes written to the wire. */
  readonly body: Buffer
  /** The id to publish in `_mta-sts.<domain>` TXT. */
  readonly id: string
  /** Set while the tenant is served as `mode: none` after removal (or `retire: true`). */
  readonly retiring?: RetiringState
}

/** What a retiring tenant is served instead of its policy, and until when. */
export interface RetiringState {
  /** ISO time the retirement began (the old policy was last served then). */
  readonly since: string
  /** ISO time the tenant is dropped: `since` plus the old policy's `max_age`. */
  readonly until: string
  /** The mode and id senders may still have cached. */
  readonly previousMode: string
  readonly previousId: string
}

/** An immutable view of every tenant, swapped whole on reload. */
export interface TenantSnapshot {
  readonly config: Config
  /** Keyed by `mta-sts.<domain>` (lower case, no trailing dot). */
  readonly byHost: ReadonlyMap<string, TenantEntry>
  readonly tenants: readonly TenantEntry[]
  readonly loadedAt: Date
}

/**
 * A tenant with its rendered policy, wire bytes and id, frozen. `id` may be
 * passed when it was computed already (in the reload worker); it is the
 * policy id of the rendered policy. Entries made with one `texts` share the
 * text, bytes and id of equal policies.
 */
export function tenantEntry (t: Tenant & { readonly retiring?: RetiringState }, id?: string, texts: PolicyTexts = new PolicyTexts()): TenantEntry {
  const { policy, body, id: policyId } = texts.of(t, id)
  return Object.freeze({
    domain: t.domain,
    host: t.host,
    mode: t.mode,
    mx: Object.freeze(t.mx),
    maxAge: t.maxAge,
    rua: Object.freeze(t.rua),
    ...(t.certificate ? { certificate: Object.freeze(t.certificate) } : {}),
    ...(t.retire === true ? { retire: true as const } : {}),
    ...(t.retiring ? { retiring: Object.freeze({ ...t.retiring }) } : {}),
    policy,
    body,
    id: policyId,
  })
}

/** Render every tenant's policy and index the tenants by policy host name. */
export function buildSnapshot (config: Config, now: Date = new Date()): TenantSnapshot {
  const texts = new PolicyTexts()
  const tenants = Object.freeze(config.tenants.map(tenant => tenantEntry(tenant, undefined, texts)))
  return Object.freeze({ config, byHost: HostIndex.of(tenants), tenants, loadedAt: now })
}

/** What a reload changed, for the reload log line. */
export interface SnapshotDiff {
  readonly added: string[]
  readonly removed: string[]
  readonly changed: { domain: string; mode?: [string, string]; id: [string, string] }[]
  /** The policy host names of the tenants added and removed, for the certificate manager. */
  readonly hosts: { readonly added: string[]; readonly removed: string[] }
}

/** Compare two snapshots tenant by tenant. */
export function diffSnapshots (before: TenantSnapshot, after: TenantSnapshot): SnapshotDiff {
  const added: string[] = []
  const removed: string[] = []
  const changed: SnapshotDiff['changed'] = []
  const hosts: SnapshotDiff['hosts'] = { added: [], removed: [] }
  for (const [host, next] of after.byHost) {
    const prev = before.byHost.get(host)
    if (!prev) {
      added.push(next.domain)
      hosts.added.push(host)
    } else if (prev.id !== next.id) {
      changed.push({ domain: next.domain, id: [prev.id, next.id], ...(prev.mode !== next.mode ? { mode: [prev.mode, next.mode] as [string, string] } : {}) })
    }
  }
  for (const [host, prev] of before.byHost) {
    if (!after.byHost.has(host)) {
      removed.push(prev.domain)
      hosts.removed.push(host)
    }
  }
  return { added, removed, changed, hosts }
}
