/**
 * Shapes shared by TLS report (RFC 8460) intake: what a transport hands in, what parsing
 * produces, and what storing answers.
 */

/** How a report reached the service. */
export type ReportTransport = 'https' | 'imap' | 'import'

/** One report file as received: raw bytes (gzip or JSON, sniffed, never trusted from a label). */
export interface ReportInput {
  readonly bytes: Buffer
  readonly transport: ReportTransport
  /** Where it came from, for the operator: client address, `mailbox/uidvalidity/uid`, file path. */
  readonly source: string
  /** The declared content type or file name, kept for the record only. */
  readonly label?: string
}

/** One failure-details row, normalised. Missing fields stay undefined. */
export interface FailureDetail {
  readonly resultType: string
  readonly sendingMtaIp?: string
  readonly receivingMxHostname?: string
  readonly receivingMxHelo?: string
  readonly receivingIp?: string
  readonly failedSessions: number
  readonly additionalInformation?: string
  readonly failureReasonCode?: string
}

/** One `policies[]` entry, normalised. */
export interface ReportPolicy {
  /** `sts`, `tlsa`, `no-policy-found`, or whatever the sender wrote (a registry: new values come). */
  readonly type: string
  /** `policy-domain`: lower-case A-labels without a trailing dot; `''` when the sender left it out. */
  readonly domain: string
  /** `policy-string` lines as sent (an array even when the sender sent one string). */
  readonly strings: readonly string[]
  /** `mx-host` (or `mx-host-pattern`), always an array. */
  readonly mxHosts: readonly string[]
  /** From an `sts` policy-string: its `mode:` value. */
  readonly mode?: string
  /** From an `sts` policy-string: its `mx:` values, in order. */
  readonly mx: readonly string[]
  /** From an `sts` policy-string: its `max_age:` value. */
  readonly maxAge?: number
  readonly successfulSessions: number
  readonly failedSessions: number
  readonly failures: readonly FailureDetail[]
}

/** A TLS report as this service keeps it: RFC 8460 fields, normalised, plus what was tolerated. */
export interface TlsReport {
  readonly organization: string
  readonly reportId: string
  readonly contactInfo: string | null
  /** `start-datetime` as ISO 8601 UTC (`2016-04-01T00:00:00.000Z`). */
  readonly start: string
  /** `end-datetime` as ISO 8601 UTC. */
  readonly end: string
  readonly policies: readonly ReportPolicy[]
  /** Quirks tolerated while reading it (no time zone, counts that disagree...), for the operator. */
  readonly notes: readonly string[]
}

/** The outcome of parsing one report file. `error` names the problem and where (a JSON path). */
export type ParseResult =
  | { readonly ok: true; readonly report: TlsReport }
  | { readonly ok: false; readonly error: string; readonly tooLarge?: boolean }

/** What storing one report file ended in. */
export interface IngestOutcome {
  /**
   * `stored`: kept and parsed; `duplicate`: the same report (organisation, report-id, date range)
   * or the same bytes were already kept; `invalid`: kept raw and flagged, `error` says why.
   */
  readonly status: 'stored' | 'duplicate' | 'invalid'
  /** Row id of the raw report kept (of the earlier copy for a duplicate). */
  readonly rawId: number
  readonly error?: string
  /** The parsed report, when it parsed. */
  readonly report?: TlsReport
}

/** Where intake hands reports: stores raw first, then parses. */
export interface ReportSink {
  /** Resolves once the raw bytes are durably stored (and parsed, or flagged invalid). */
  submit (input: ReportInput): Promise<IngestOutcome>
  /** Keeps a message that carried no report, with the reason, so nothing is lost silently. */
  setAside (input: ReportInput, reason: string): Promise<IngestOutcome>
}
