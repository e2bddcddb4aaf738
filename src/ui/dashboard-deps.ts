import type { DomainReport } from '../check/types.js'
import type { UiSettings } from '../config/types.js'
import type { ReportStore } from '../db/report-store.js'
import type { FetchStatsReader, FetchStatsStore } from '../stats/types.js'
import type { TenantSnapshot } from '../tenants/tenant-snapshot.js'
import type { CertificateStatus } from '../tls/certificate-types.js'

/** What the dashboard reads from the report database: day summaries, report totals and policy history. */
export type DashboardStore = Pick<ReportStore, 'summarize'> & Pick<FetchStatsStore, 'reportTotals' | 'policyHistory'>

/** Everything the dashboard (`/ui/` on the ops listener) reads; it writes nothing. */
export interface DashboardDeps {
  readonly settings: UiSettings
  /**
   * Passwords accepted with HTTP Basic (any user name) or as `Authorization: Bearer`: the ops
   * token and the contents of `ui.password_file`. Empty means open (a loopback ops listener without token).
   */
  readonly passwords: readonly string[]
  readonly tenants: () => TenantSnapshot
  readonly certificates: () => readonly CertificateStatus[]
  /** Latest set-up check reports; absent when the monitor is off. */
  readonly checks?: () => readonly DomainReport[]
  /** The report database: summaries, report totals, policy history; absent when reports are off. */
  readonly store?: DashboardStore
  /** Policy fetch statistics; absent when `stats.enabled` is off. */
  readonly fetches?: FetchStatsReader
  /** `dns.target`, for the records a tenant publishes. */
  readonly dnsTarget: readonly string[]
  readonly now: () => Date
}
