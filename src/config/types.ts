import type { PolicyMode } from '../policy/policy-mode.js'
import type { RawAcme, RawConfig } from './raw-config.js'

// The normalised configuration (camelCase, defaults applied, paths resolved) is a different shape
// from the file's; the file's shape is only stated by the schema (see raw-config.ts), and the value
// sets below are taken from it.

export type { PolicyMode }

/** Where certificates come from. */
export type IssuerName = NonNullable<NonNullable<RawConfig['certificates']>['issuer']>

/** One listener's address. Port 0 asks the OS for a free port (tests). */
export interface ListenAddress {
  readonly host: string
  readonly port: number
}

/** The ops listener's address, and the bearer token file that protects its details. */
export interface OpsListenAddress extends ListenAddress {
  /** Absolute path of a file holding the bearer token the ops listener requires (`listen.ops.token_file`). */
  readonly tokenFile?: string
}

/** One tenant, normalised: `domain` is lower-case A-labels without a trailing dot. */
export interface Tenant {
  readonly domain: string
  /** `mta-sts.<domain>`, the name senders connect to. */
  readonly host: string
  readonly mode: PolicyMode
  readonly mx: readonly string[]
  readonly maxAge: number
  /** TLS-RPT report URIs (`mailto:` or `https:`); empty when not configured. */
  readonly rua: readonly string[]
  /** Operator-provided PEM files (issuer `files`). */
  readonly certificate?: { readonly cert: string; readonly key: string }
  /** `retire: true`: serve `mode: none` for the policy's `max_age`, then drop the tenant (RFC 8461 section 8.3). */
  readonly retire?: true
}

/** The `defaults` section with the built-in defaults applied: what a tenant gets for each key it leaves out. */
export interface TenantDefaults {
  readonly mode: PolicyMode
  readonly maxAge: number
  /** Normalised `defaults.mx`; empty when unset (a tenant must then name its own). */
  readonly mx: readonly string[]
  /** `defaults.rua` as written; absent when unset: each tenant then gets this service's own addresses (see `ownRua`). */
  readonly rua?: readonly string[]
}

/** A problem found in a configuration file, located to file:line:column. */
export interface ConfigProblem {
  readonly file: string
  readonly line: number
  readonly column: number
  readonly message: string
  readonly hint?: string
}

/** A validated, normalised and frozen configuration. */
export interface Config {
  readonly file: string
  readonly listen: {
    readonly https: ListenAddress
    readonly http: ListenAddress
    readonly ops: OpsListenAddress
  }
  readonly log: { readonly level: string }
  readonly certificates: {
    readonly issuer: IssuerName
    /** Absolute path of the storage directory. */
    readonly storage: string
    /** TLS SecureContexts kept for the hosts handshaken lately (least recently used dropped first). */
    readonly contextCache: number
    readonly internal: { readonly leafLifetime: number }
    /** Directory holding `<host>/fullchain.pem` and `<host>/privkey.pem` (issuer `files`). */
    readonly files: { readonly directory?: string }
    /** ACME settings (issuer `acme`). */
    readonly acme: AcmeSettings
  }
  /** What `mta-sts.<domain>` should point at: host names (CNAME) or addresses (A/AAAA). */
  readonly dns: { readonly target: readonly string[] }
  /** How `check` and the monitor in `serve` look at each tenant's setup. */
  readonly check: CheckSettings
  /** TLS report (RFC 8460) intake, storage and the report check. */
  readonly reports: ReportSettings
  /** A shared PostgreSQL database (`database`), for several replicas; absent: files and SQLite under `certificates.storage`. */
  readonly database?: DatabaseSettings
  /** Policy fetch statistics (`stats`). */
  readonly stats: StatsSettings
  /** The operators' dashboard (`ui`). */
  readonly ui: UiSettings
  /** What a tenant entry gets for the keys it leaves out (`propose` writes entries against it). */
  readonly defaults: TenantDefaults
  readonly tenants: readonly Tenant[]
  /** Non-fatal findings (low max_age, deduplicated mx...). */
  readonly warnings: readonly ConfigProblem[]
}

/** ACME challenge types this service answers. */
export type ChallengeType = NonNullable<RawAcme['challenges']>[number]

/** Settings of the ACME issuer, with defaults applied. */
export interface AcmeSettings {
  /** Directory URL (names `letsencrypt` and `letsencrypt-staging` are resolved). */
  readonly directory: string
  readonly email?: string
  readonly termsOfServiceAgreed: boolean
  /** External Account Binding for CAs that require it (the HMAC key is a secret). */
  readonly eab?: { readonly kid: string; readonly hmacKey: string }
  /** Challenge types in order of preference. */
  readonly challenges: readonly ChallengeType[]
  readonly keyType: NonNullable<RawAcme['key_type']>
  /** PEM file of extra CAs to trust for the ACME server's own HTTPS (private CAs, tests). */
  readonly caFile?: string
  /** Orders worked on at once. */
  readonly concurrency: number
  /** At most `maxOrders` new orders per `orderWindow` seconds (Let's Encrypt allows 300 per 3 hours). */
  readonly maxOrders: number
  readonly orderWindow: number
}

/** Settings of the setup checks (the `check` command and the monitor in `serve`). */
export interface CheckSettings {
  /** DNS servers (`ip` or `ip:port`); empty means the system's. */
  readonly resolvers: readonly string[]
  /** Limit for each network step, in milliseconds. */
  readonly timeoutMs: number
  /** Domains checked at once. */
  readonly concurrency: number
  readonly smtpPort: number
  readonly httpsPort: number
  /** Extra CA certificates (PEM file) to trust besides the public roots. */
  readonly caFile?: string
  readonly expiryWarningDays: number
  /** Re-check every tenant every `interval` seconds in `serve` (0: off), `concurrency` at a time. */
  readonly monitor: { readonly interval: number; readonly concurrency: number }
}

/** The IMAP mailbox TLS reports are mailed to (`reports.mailbox`). */
export interface MailboxSettings {
  readonly host: string
  readonly port: number
  /** `tls` (IMAPS), `starttls`, or `plain` (tests and loopback only). */
  readonly security: 'tls' | 'starttls' | 'plain'
  readonly user: string
  /** Absolute path of the file holding the password (never in the YAML). */
  readonly passwordFile: string
  readonly folder: string
  /** What happens to a message once its reports are stored: a keyword (`flag`) or a move (`move`). */
  readonly after: 'flag' | 'move'
  readonly processedFolder: string
  readonly rejectedFolder: string
  /** Seconds between checks when the server has no IDLE. */
  readonly pollInterval: number
  readonly maxMessageBytes: number
  /** Extra CA certificates (PEM file) to trust for the IMAP server. */
  readonly caFile?: string
}

/** Settings of TLS report intake (`reports`), with defaults applied. */
export interface ReportSettings {
  /** Intake over HTTPS and the report database; off means no default `rua` either. */
  readonly enabled: boolean
  /** Path on every tenant's `mta-sts.` host where reports are POSTed. */
  readonly httpsPath: string
  /** Address that delivers into {@link ReportSettings.mailbox}, offered in the default `rua`. */
  readonly mailto?: string
  /** Absolute path of the SQLite database file. */
  readonly database: string
  /** Largest request body accepted, as sent (compressed). */
  readonly maxBodyBytes: number
  /** Largest report accepted once decompressed. */
  readonly maxReportBytes: number
  /** Largest decompressed/compressed size ratio accepted. */
  readonly maxRatio: number
  /** At most `max` reports per client address per `window` seconds. */
  readonly rateLimit: { readonly max: number; readonly window: number }
  /** HTTPS uploads taken per second by the whole service; more wait (up to 30 s worth, then 503). */
  readonly ingestRate: number
  readonly rawRetentionDays: number
  readonly retentionDays: number
  readonly mailbox?: MailboxSettings
  /** The "TLS reports" check: `days` of reports from at least `minOrganizations` senders, none failing. */
  readonly verdict: { readonly days: number; readonly minOrganizations: number; readonly required: boolean }
}

/** A sending organisation recognised in policy fetches (`stats.senders[]`), checked before the built-in list. */
export interface SenderRule {
  /** The sender class counted (`[a-z0-9._-]`). */
  readonly name: string
  /** Case-insensitive regular expression matched against the User-Agent header. */
  readonly userAgent?: string
  /** Client address ranges (CIDR, or single addresses) the sender fetches from. */
  readonly networks: readonly string[]
}

/** The `stats` section: policy fetches added up in memory, written to the report database. */
export interface StatsSettings {
  readonly enabled: boolean
  /** Seconds between writes of the totals to the report database. */
  readonly flushInterval: number
  readonly senders: readonly SenderRule[]
}

/** The `ui` section: the dashboard on the ops listener. */
export interface UiSettings {
  readonly enabled: boolean
  /** Absolute path of a file holding a password the dashboard accepts (HTTP Basic), besides the ops token. */
  readonly passwordFile?: string
  /** Tenants per overview page. */
  readonly pageSize: number
}

/**
 * The `database` section: PostgreSQL holds the certificate store (certificates, ACME state,
 * challenges, locks, retirements) and the report database, shared by every replica.
 */
export interface DatabaseSettings {
  /**
   * Absolute path of a file holding the PostgreSQL URL (`postgres://user:password@host:5432/db`);
   * a file, not the URL itself, because the URL carries the password. `MTA_STS_DATABASE_URL` in the
   * environment is used when no file is named.
   */
  readonly urlFile?: string
  /** Connections per replica. */
  readonly poolSize: number
}
