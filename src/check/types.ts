import type { PolicyMode } from '../policy/policy-mode.js'
import type { ReportStore } from '../db/report-store.js'
import type { TenantEntry } from '../tenants/tenant-snapshot.js'
import type { RenewalPlan } from '../tls/certificate-types.js'

/** Outcome of one check: `warn` does not break mail today but needs a look; `fail` does or will. */
export type CheckStatus = 'pass' | 'warn' | 'fail'

/** One check of one domain, with a one-line reason and a fix hint. */
export interface CheckResult {
  /** Stable id: `sts-txt`, `policy`, `mx-coverage`, `mx-tls:<mx host>`, `tlsrpt-txt`, `tls-reports`. */
  readonly id: string
  /** Short human name for tables. */
  readonly name: string
  readonly status: CheckStatus
  /** One line: what was found. */
  readonly reason: string
  /** One line: how to fix it (absent on pass). */
  readonly hint?: string
  /** Machine-readable facts (records seen, certificate expiry...). */
  readonly details?: Readonly<Record<string, unknown>>
}

/** The DNS lookups the checks need; {@link createResolver} makes one on a configurable server list. */
export interface DnsResolver {
  resolveTxt (name: string): Promise<string[][]>
  resolveMx (name: string): Promise<{ exchange: string; priority: number }[]>
  resolve4 (name: string): Promise<string[]>
  resolve6 (name: string): Promise<string[]>
  resolveCname (name: string): Promise<string[]>
}

/** Everything a check needs about one domain and how to reach the world. */
export interface CheckContext extends ProbeContext {
  /** The tenant as this service serves it now (policy text, id, mx patterns, rua). */
  readonly tenant: TenantEntry
}

/** How checks reach the world (DNS, HTTPS, SMTP), without a tenant: what looking at any domain needs. */
export interface ProbeContext {
  readonly resolver: DnsResolver
  /** Limit for every single network step (DNS query, connect, TLS, HTTP, SMTP). */
  readonly timeoutMs: number
  /** Port of the policy host's HTTPS (443; tests point it elsewhere). */
  readonly httpsPort: number
  /** Port of the MX hosts' SMTP (25; tests point it elsewhere). */
  readonly smtpPort: number
  /** Extra CA certificates (PEM) to trust besides the public roots, for policy hosts and MX hosts. */
  readonly ca?: string
  /** An MX certificate expiring within this many days is a warning. */
  readonly expiryWarningDays: number
  /**
   * Whether this service issues and renews the tenant hosts' certificates
   * (issuer `acme` or `internal`): the policy host's certificate then warns
   * only past its renewal point, otherwise within 7 days of expiry.
   */
  readonly managedCertificates: boolean
  /** The certificate manager's renewal plan for a host (inside `serve`; the CLI has none). */
  readonly renewalPlan?: (host: string) => RenewalPlan | undefined
  /** The stored TLS reports (when `reports.enabled` and a report database exists), for the TLS reports check. */
  readonly reports?: Pick<ReportStore, 'summarize'>
  readonly now: () => Date
}

/** What a check does for one domain: one or more results (the MX TLS check gives one per MX host). */
export type CheckRun = (ctx: CheckContext) => Promise<CheckResult[]>

/**
 * The least status of a check's results that makes a domain not ready for
 * enforce: `'fail'` when only its failures do, `'warn'` when its warnings do too.
 * A failure always does.
 */
export type EnforceGate = 'fail' | 'warn'

/** A check of a domain's set-up, as `checkDomain` runs it. */
export interface Check {
  /** Stable id; the id of its results (MX TLS: `mx-tls:<host>`) starts with it, and a crash of the check is reported under it. */
  readonly id: string
  /** Short human name; the name of its results (MX TLS: followed by the host). */
  readonly title: string
  /** Which of its results block `mode: enforce`. */
  readonly gatesEnforce: EnforceGate
  readonly run: CheckRun
}

/** All results of one domain and the verdict. */
export interface DomainReport {
  readonly domain: string
  readonly checkedAt: string
  readonly durationMs: number
  readonly results: readonly CheckResult[]
  /** Worst status of all results. */
  readonly status: CheckStatus
  /** Safe to switch to (or stay in) `mode: enforce`: no failure (every MX covered) and no MX TLS warning. */
  readonly readyForEnforce: boolean
  /** Why not ready (empty when ready). */
  readonly reasons: readonly string[]
}

/** The facts `check` reports about a domain that is not a tenant: its MTA-STS set-up as hosted today. */
export interface OnboardingFacts {
  /** The id of the one valid `_mta-sts` TXT record, or null when there is none. */
  readonly stsId: string | null
  /** The valid policy served at `mta-sts.<domain>` today (wherever that is), or null. */
  readonly policy: { readonly url: string; readonly mode: PolicyMode; readonly mx: readonly string[]; readonly maxAge: number } | null
  /** The MX hosts by preference (empty when there are none or the lookup failed). */
  readonly mx: readonly string[]
  /** The report URIs of the one valid `_smtp._tls` TXT record, or null. */
  readonly tlsRpt: readonly string[] | null
}

/**
 * The report of a domain that is not a tenant: the results describe its
 * set-up elsewhere (warnings: findings to act on when moving it here;
 * failures: broken for senders today, or DNS did not answer), `advice` says
 * what moving it here means. Never ready for enforce: nothing is served here.
 */
export interface OnboardingReport extends DomainReport {
  readonly tenant: false
  readonly facts: OnboardingFacts
  readonly advice: readonly string[]
}
