import type { RawConfig } from './raw-config.js'

/** A deeply read-only view of a value. */
export type DeepReadonly<T> = T extends readonly (infer E)[] ? readonly DeepReadonly<E>[] : T extends object ? { readonly [K in keyof T]: DeepReadonly<T[K]> } : T

const defaults = {
  listen: {
    https: { host: '::', port: 443 },
    http: { host: '::', port: 80 },
    ops: { host: '127.0.0.1', port: 9090 },
  },
  log: { level: 'info' },
  certificates: {
    issuer: 'internal',
    storage: '/var/lib/mta-sts-host',
    context_cache: 1000,
    internal: { leaf_lifetime: 7 * 86400 },
    acme: {
      directory: 'letsencrypt',
      challenges: ['tls-alpn-01', 'http-01'],
      key_type: 'ecdsa-p256',
      concurrency: 2,
      // Let's Encrypt allows 300 new orders per account per 3 hours; stay under it.
      max_orders: 250,
      order_window: 10800,
    },
  },
  check: {
    resolvers: [],
    timeout_ms: 5000,
    concurrency: 16,
    smtp_port: 25,
    https_port: 443,
    expiry_warning_days: 14,
    monitor: { interval: 3600, concurrency: 4 },
  },
  dns: { target: [] },
  limits: {
    // The product serves 100,000 tenants; twice that leaves room to grow.
    tenants: 200_000,
    // A policy body must stay under 64 KiB anyway: about 2,500 short mx lines at most.
    mx_per_tenant: 1_000,
    // 100,000 tenants sharing a 9-entry list by alias (`mx: *shared`).
    alias_nodes: 1_000_000,
  },
  reports: {
    enabled: true,
    https_path: '/tlsrpt',
    // Real reports are kilobytes; Google's largest seen gzip to about a megabyte.
    max_body_bytes: 5 * 1024 * 1024,
    max_report_bytes: 32 * 1024 * 1024,
    // JSON reports gzip 5-50x; a gzip bomb of zeros about 1000x.
    max_ratio: 200,
    rate_limit: { max: 60, window: 60 },
    // Uploads taken per second by the whole service; more wait their turn. Reports are daily:
    // 100,000 tenants with 10 reporting senders each are about 12 a second on average. At 25/s an
    // upload burst keeps policy fetch throughput at 0.93x idle on 2 cores (0.73x at 100/s).
    ingest_rate: 25,
    raw_retention_days: 90,
    retention_days: 400,
    verdict: { days: 7, min_organizations: 2, required: true },
  },
  // Policy fetches are added up in memory and written to the report database this often (seconds).
  stats: { enabled: true, flush_interval: 60, senders: [] },
  ui: { enabled: true, page_size: 100 },
  defaults: { mode: 'testing', max_age: 604800, rua: [] },
} satisfies Omit<RawConfig, 'tenants'>

/** Defaults of `reports.mailbox` (which has no default as a whole: it is off until named). */
const mailboxDefaults = {
  port: 993,
  security: 'tls',
  folder: 'INBOX',
  after: 'flag',
  // No hierarchy separator: it is `.` on some servers (Maildir++) and `/` on others.
  processed_folder: 'TLSRPT-processed',
  rejected_folder: 'TLSRPT-rejected',
  poll_interval: 300,
  max_message_bytes: 20 * 1024 * 1024,
} satisfies Omit<NonNullable<NonNullable<RawConfig['reports']>['mailbox']>, 'host' | 'user' | 'password_file'>

function deepFreeze<T> (value: T): DeepReadonly<T> {
  if (typeof value === 'object' && value !== null) {
    for (const child of Object.values(value)) deepFreeze(child)
    Object.freeze(value)
  }
  return value as DeepReadonly<T>
}

/**
 * Every default of the configuration, in one deeply frozen object shaped like
 * the YAML file (and typed against its schema): what applies where the file is
 * silent. The settings builders of `load-config.ts`, the limits, the
 * certificate manager and the README's example all take their defaults from here.
 * Keys without a default (`acme.email`, `check.ca_file`, `defaults.mx`...) are absent.
 */
export const CONFIG_DEFAULTS = deepFreeze(defaults)

/** Defaults of each `reports.mailbox` key but `host`, `user` and `password_file`, deeply frozen. */
export const MAILBOX_DEFAULTS = deepFreeze(mailboxDefaults)
