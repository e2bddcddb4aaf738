/** Policy modes of RFC 8461 section 5. */
export type PolicyMode = 'enforce' | 'testing' | 'none'

/** Where certificates come from. */
export type IssuerName = 'internal' | 'files'

/** One listener's address. Port 0 asks the OS for a free port (tests). */
export interface ListenAddress {
  readonly host: string
  readonly port: number
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
    readonly ops: ListenAddress
  }
  readonly log: { readonly level: string }
  readonly certificates: {
    readonly issuer: IssuerName
    /** Absolute path of the storage directory. */
    readonly storage: string
    readonly internal: { readonly leafLifetime: number }
    /** Directory holding `<host>/fullchain.pem` and `<host>/privkey.pem` (issuer `files`). */
    readonly files: { readonly directory?: string }
  }
  /** What `mta-sts.<domain>` should point at: host names (CNAME) or addresses (A/AAAA). */
  readonly dns: { readonly target: readonly string[] }
  readonly tenants: readonly Tenant[]
  /** Non-fatal findings (low max_age, deduplicated mx...). */
  readonly warnings: readonly ConfigProblem[]
}
