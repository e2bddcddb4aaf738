import type { ReportSink } from '../reports/types.js'
import type { FetchStatsStore } from '../stats/types.js'

/** Which reports a summary covers. */
export interface SummaryQuery {
  /** Policy domains (lower-case A-labels); empty or absent means every domain reported on. */
  readonly domains?: readonly string[]
  /** Number of UTC days, ending with `until`. */
  readonly days: number
  /** Last day included (`YYYY-MM-DD`, UTC); today by the store's clock when absent. */
  readonly until?: string
}

/** Sessions counted against one value (a result type, an MX host, an address). */
export interface CountedValue {
  readonly value: string
  readonly sessions: number
}

/** What senders reported for one policy they applied to one domain on one day. */
export interface AppliedPolicySummary {
  /** `sts`, `tlsa`, `no-policy-found`... */
  readonly type: string
  /** The `mode:` of an sts policy-string, null otherwise. */
  readonly mode: string | null
  /** The `mx:` values of an sts policy-string. */
  readonly mx: readonly string[]
  readonly organizations: readonly string[]
  readonly successfulSessions: number
  readonly failedSessions: number
  /** Failure result types, most sessions first. */
  readonly failureTypes: readonly CountedValue[]
  /** Receiving MX host names of failures, most sessions first. */
  readonly failingMxHosts: readonly CountedValue[]
}

/** Everything reported for one policy domain on one UTC day. */
export interface DaySummary {
  readonly domain: string
  /** `YYYY-MM-DD` (UTC), the day the reported range starts. */
  readonly day: string
  readonly reports: number
  readonly organizations: readonly string[]
  readonly successfulSessions: number
  readonly failedSessions: number
  readonly failureTypes: readonly CountedValue[]
  readonly failingMxHosts: readonly CountedValue[]
  readonly failingSendingIps: readonly CountedValue[]
  readonly policies: readonly AppliedPolicySummary[]
}

/** A raw report that did not become a parsed report: flagged invalid, or set aside (not a report). */
export interface ProblemReport {
  readonly id: number
  readonly receivedAt: string
  readonly transport: string
  readonly source: string
  readonly label: string | null
  readonly size: number
  readonly status: 'invalid' | 'set-aside'
  readonly error: string
}

/** Row counts of the report database, by raw status. */
export interface ReportCounts {
  readonly raw: Readonly<Record<string, number>>
  readonly reports: number
}

/** What a purge removed. */
export interface PurgeResult {
  /** Raw reports whose kept bytes were dropped (past the raw retention). */
  readonly rawContentDropped: number
  /** Parsed reports deleted (past the report retention), with their policies and failures. */
  readonly reportsDeleted: number
  /** Fetch statistics rows deleted (totals past the report retention, networks past the raw retention). */
  readonly fetchRowsDeleted: number
}

/**
 * The report database: a {@link ReportSink} (raw bytes stored first, then parsed) plus the
 * queries the CLI, the ops listener and the enforce verdict read, plus the policy fetch statistics and
 * policy history ({@link FetchStatsStore}). Implementations: SQLite
 * (embedded default, in a worker thread when serving) and, later, PostgreSQL, both through
 * one Kysely query layer ({@link SqlReportStore}).
 */
export interface ReportStore extends ReportSink, FetchStatsStore {
  /** Per domain and day, oldest day first within a domain, domains in name order. */
  summarize (query: SummaryQuery): Promise<DaySummary[]>
  /** Raw reports flagged invalid or set aside, newest first. */
  problems (limit: number): Promise<ProblemReport[]>
  counts (): Promise<ReportCounts>
  /** Applies the retention settings, counted back from now. */
  purge (): Promise<PurgeResult>
  close (): Promise<void>
}
