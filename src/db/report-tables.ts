import type { Generated, Insertable, Selectable } from 'kysely'

/** One report file as received, kept (gzip-compressed) before anything else happens to it. */
export interface RawReportTable {
  id: Generated<number>
  /** ISO 8601 UTC. */
  received_at: string
  transport: string
  source: string
  label: string | null
  /** SHA-256 (hex) of the bytes as received: the same bytes are kept once. */
  sha256: string
  /** Size in bytes as received. */
  size: number
  /** The bytes, gzip-compressed (as received when they were gzip); null once past retention or a duplicate. */
  content: Buffer | null
  /** `received` (stored, not parsed yet), `parsed`, `invalid`, `duplicate`, `set-aside`. */
  status: string
  error: string | null
  /** The `reports` row it produced, or the earlier one it duplicates. */
  report_row: number | null
}

/** One parsed report; (organization, report_id, start_at, end_at) is unique. */
export interface ReportTable {
  id: Generated<number>
  raw_id: number
  organization: string
  report_id: string
  start_at: string
  end_at: string
  contact: string | null
  /** UTC day (YYYY-MM-DD) of `start_at`: the day the sessions are counted on. */
  day: string
  /** JSON array of the quirks tolerated while reading it. */
  notes: string
}

/** One `policies[]` entry of a report, indexed by policy domain and day. */
export interface ReportPolicyTable {
  id: Generated<number>
  report_row: number
  domain: string
  day: string
  organization: string
  policy_type: string
  /** JSON array of the policy-string lines. */
  policy_strings: string
  mode: string | null
  /** JSON array of the `mx:` values of an sts policy-string. */
  mx: string
  max_age: number | null
  /** JSON array of `mx-host`. */
  mx_hosts: string
  successful: number
  failed: number
}

/** One `failure-details[]` row, indexed by policy domain and day. */
export interface ReportFailureTable {
  id: Generated<number>
  policy_row: number
  domain: string
  day: string
  result_type: string
  sending_ip: string | null
  receiving_mx: string | null
  receiving_helo: string | null
  receiving_ip: string | null
  sessions: number
  reason_code: string | null
  additional_info: string | null
}

/** Policy fetches of one tenant's policy id on one day by one sender class (added up, flushed every minute). */
export interface FetchCountTable {
  domain: string
  policy_id: string
  day: string
  sender: string
  fetches: number
  /** ISO 8601 UTC of the latest fetch counted. */
  last_at: string
}

/** One client network (`/24`, `/48`) seen fetching a tenant's policy on one day. */
export interface FetchNetworkTable {
  domain: string
  day: string
  network: string
}

/** A tenant's mode and policy id from `at` on (`removed` when it left the configuration). */
export interface PolicyChangeTable {
  id: Generated<number>
  domain: string
  at: string
  mode: string
  policy_id: string
}

/** The report database's tables, as Kysely sees them. */
export interface ReportDatabase {
  fetch_counts: FetchCountTable
  fetch_networks: FetchNetworkTable
  policy_changes: PolicyChangeTable
  raw_reports: RawReportTable
  reports: ReportTable
  report_policies: ReportPolicyTable
  report_failures: ReportFailureTable
}

/** A stored raw report row. */
export type RawReportRow = Selectable<RawReportTable>
/** A new raw report row. */
export type NewRawReport = Insertable<RawReportTable>
