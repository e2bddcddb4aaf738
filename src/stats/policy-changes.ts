import type { SnapshotDiff, TenantSnapshot } from '../tenants/tenant-snapshot.js'
import type { PolicyChange } from './types.js'

/** The mode recorded for a tenant that left the configuration. */
export const REMOVED = 'removed'

/**
 * What to record at start: every tenant's current mode and id (the store keeps only changes), and
 * `removed` for tenants last recorded as served that are no longer configured (removed while the
 * service was down).
 */
export function changesAtStart (snapshot: TenantSnapshot, latest: readonly PolicyChange[], at: Date): PolicyChange[] {
  const when = at.toISOString()
  const current = snapshot.tenants.map(t => ({ domain: t.domain, at: when, mode: t.mode, policyId: t.id }))
  const gone = latest
    .filter(p => p.mode !== REMOVED && !snapshot.byHost.has(`mta-sts.${p.domain}`))
    .map(p => ({ domain: p.domain, at: when, mode: REMOVED, policyId: '' }))
  return [...current, ...gone]
}

/** What a reload changed, as history entries: added and changed tenants with their new policy, removed ones. */
export function changesOfReload (next: TenantSnapshot, diff: SnapshotDiff, at: Date): PolicyChange[] {
  const when = at.toISOString()
  const now = (domain: string): PolicyChange[] => {
    const t = next.byHost.get(`mta-sts.${domain}`)
    return t === undefined ? [] : [{ domain, at: when, mode: t.mode, policyId: t.id }]
  }
  return [
    ...diff.added.flatMap(now),
    ...diff.changed.flatMap(c => now(c.domain)),
    ...diff.removed.map(domain => ({ domain, at: when, mode: REMOVED, policyId: '' })),
  ]
}
