/** Policy fetches of one tenant's policy id on one UTC day by one sender class. */
export interface FetchCount {
  /** Tenant domain (lower-case A-label). */
  readonly domain: string
  readonly policyId: string
  /** `YYYY-MM-DD` (UTC). */
  readonly day: string
  /** Sender class: a known sender's name, or `other`. */
  readonly sender: string
  readonly fetches: number
  /** ISO time of the latest of these fetches. */
  readonly lastAt: string
}

/** One client network (`/24` of IPv4, `/48` of IPv6) seen fetching a tenant's policy on one day. */
export interface FetchNetwork {
  readonly domain: string
  readonly day: string
  /** The network in CIDR notation, e.g. `192.0.2.0/24`. */
  readonly network: string
}

/** What one flush writes: totals to add, networks to remember. */
export interface FetchBatch {
  readonly counts: readonly FetchCount[]
  readonly networks: readonly FetchNetwork[]
}

/** Fetches of one policy id by one sender class on one day (one domain implied). */
export interface FetchDay {
  readonly day: string
  readonly policyId: string
  readonly sender: string
  readonly fetches: number
  readonly lastAt: string
}

/** A domain's fetch history: totals per day, id and sender, and distinct networks per day. */
export interface DomainFetches {
  /** Oldest day first. */
  readonly days: readonly FetchDay[]
  /** Distinct client networks per day, oldest first. */
  readonly networks: ReadonlyArray<{ readonly day: string, readonly count: number }>
}

/** The most recent policy fetch of a domain. */
export interface LastFetch {
  readonly domain: string
  readonly at: string
  readonly sender: string
  readonly policyId: string
}

/** A tenant's served mode and policy id from some time on, as a reload (or the start) made it. */
export interface PolicyChange {
  readonly domain: string
  /** ISO time the change took effect. */
  readonly at: string
  /** `enforce`, `testing`, `none`, or `removed` when the tenant left the configuration. */
  readonly mode: string
  /** The policy id served; empty when removed. */
  readonly policyId: string
}

/** Report totals of one domain over a span of days, for the overview. */
export interface DomainReportTotals {
  readonly domain: string
  readonly successful: number
  readonly failed: number
  readonly organizations: number
}

/**
 * Where fetch statistics and policy history are kept: the report database
 * (SQLite embedded, PostgreSQL for replicas). Writes are batched by the caller.
 */
export interface FetchStatsStore {
  /** Adds the counts to what is stored (upsert), remembers the networks (deduplicated). */
  addFetches (batch: FetchBatch): Promise<void>
  /** One domain's fetches over `days` UTC days ending with `until` (today when absent). */
  fetchesFor (domain: string, days: number, until?: string): Promise<DomainFetches>
  /** The latest fetch of every domain that has one. */
  lastFetches (): Promise<LastFetch[]>
  /** Records each change unless the domain's latest recorded entry already has that mode and id. */
  recordPolicyChanges (changes: readonly PolicyChange[]): Promise<number>
  /** One domain's changes, newest first. */
  policyHistory (domain: string, limit: number): Promise<PolicyChange[]>
  /** The latest recorded entry of every domain. */
  latestPolicies (): Promise<PolicyChange[]>
  /** Report totals per reported domain over `days` UTC days ending with `until` (today when absent). */
  reportTotals (days: number, until?: string): Promise<DomainReportTotals[]>
}

/** What the dashboard reads about fetches: the stored totals plus what is counted but not yet written. */
export interface FetchStatsReader {
  fetchesFor (domain: string, days: number): Promise<DomainFetches>
  /** Latest fetch per domain. */
  lastFetches (): Promise<ReadonlyMap<string, LastFetch>>
}
