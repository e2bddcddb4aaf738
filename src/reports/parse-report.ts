import { isUtf8 } from 'node:buffer'
import { gunzipSync } from 'node:zlib'
import type { ErrorObject } from 'ajv'
import { normalizeHostName } from '../domain/host-name.js'
import { isGzip } from './is-gzip.js'
import { parseReportDateTime, type ReportDateTime } from './report-date-time.js'
import { validateReport, type RawReport } from './report-schema.js'
import { RESULT_TYPES } from './result-types.js'
import type { FailureDetail, ParseResult, ReportPolicy, TlsReport } from './types.js'

/** Limits of {@link parseReport}. */
export interface ParseLimits {
  /** Largest report accepted, compressed or decompressed, in bytes (default {@link DEFAULT_MAX_REPORT_BYTES}). */
  readonly maxBytes?: number
}

/** Default {@link ParseLimits.maxBytes}: 32 MiB, above the tens of MB real senders reach. */
export const DEFAULT_MAX_REPORT_BYTES = 32 * 1024 * 1024

/** At most this many problems are named in one error; the rest are counted. */
const MAX_ERRORS = 3
const POLICY_TYPES: readonly string[] = ['sts', 'tlsa', 'no-policy-found']

type RawPolicyEntry = RawReport['policies'][number]
type RawDetail = NonNullable<RawPolicyEntry['failure-details']>[number]

/**
 * Parse one TLS report file (RFC 8460) into a {@link TlsReport}. Synchronous
 * and CPU-bound (meant for a worker thread); never throws.
 *
 * - gzip is sniffed by its magic bytes `1f 8b`, whatever the file was labelled;
 *   concatenated members are read as one stream; a truncated or corrupt gzip
 *   is an error.
 * - Input or decompressed output over `maxBytes` is `{ ok: false, tooLarge: true }`;
 *   decompression stops at the limit, so a gzip bomb costs at most that much memory.
 * - The text must be UTF-8 (a byte order mark is skipped); JSON errors name the
 *   line and column.
 * - The JSON is checked against `reportSchema`, then normalised: dates to ISO UTC,
 *   `policy-domain` to lower-case A-labels (a value that is not a host name is an
 *   error: the report could never be matched to a tenant), `mx-host` and
 *   `policy-string` to arrays, an `sts` policy-string's `mode`, `mx` and `max_age`
 *   read. Summary counts are kept as the sender wrote them; a missing failure
 *   count is the sum of the failure details.
 *
 * Everything tolerated is listed in `report.notes`. Errors name the problem and
 * its JSON path (`policies[0].summary.total-successful-session-count: must be a
 * non-negative integer, got -1`), at most {@link MAX_ERRORS} of them.
 */
export function parseReport (bytes: Buffer, limits: ParseLimits = {}): ParseResult {
  const maxBytes = limits.maxBytes ?? DEFAULT_MAX_REPORT_BYTES
  if (!Number.isSafeInteger(maxBytes) || maxBytes < 1) return fail(`limits.maxBytes must be a positive integer, got ${String(maxBytes)}`)
  if (bytes.length > maxBytes) return { ok: false, tooLarge: true, error: `the report is ${bytes.length} bytes, over the limit of ${maxBytes}` }
  let data = bytes
  if (isGzip(bytes)) {
    try {
      data = gunzipSync(bytes, { maxOutputLength: maxBytes })
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') {
        return { ok: false, tooLarge: true, error: `the gzip data decompresses to more than the limit of ${maxBytes} bytes` }
      }
      return fail(`the gzip data is truncated or corrupt (${(err as Error).message})`)
    }
  }
  const notes: string[] = []
  if (data[0] === 0xff && data[1] === 0xfe) return fail('the report is UTF-16 text (little-endian byte order mark), not UTF-8')
  if (data[0] === 0xfe && data[1] === 0xff) return fail('the report is UTF-16 text (big-endian byte order mark), not UTF-8')
  if (!isUtf8(data)) return fail('the report is not valid UTF-8 text')
  let text = data.toString('utf8')
  if (text.startsWith('\uFEFF')) {
    text = text.slice(1)
    notes.push('the report starts with a byte order mark (skipped)')
  }
  if (text.trim() === '') return fail('the report is empty')
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch (err) {
    return fail(jsonError(text, (err as Error).message))
  }
  if (!validateReport(value)) return fail(joinErrors((validateReport.errors as ErrorObject[]).map(describeSchemaError)))
  return normalise(value, notes)
}

function fail (error: string): ParseResult {
  return { ok: false, error }
}

function joinErrors (errors: readonly string[]): string {
  const more = errors.length - MAX_ERRORS
  return errors.slice(0, MAX_ERRORS).join('; ') + (more > 0 ? ` (and ${more} more)` : '')
}

/** `the report is not valid JSON: <V8's message> at line L, column C`. */
function jsonError (text: string, message: string): string {
  const offset = syntaxErrorOffset(text)
  const before = text.slice(0, offset)
  const line = before.split('\n').length
  const column = offset - before.lastIndexOf('\n')
  const where = offset === text.length ? `it ends early, at line ${line}, column ${column}` : `at line ${line}, column ${column}`
  // V8 quotes a snippet of the input: keep the message on one line for logs.
  // eslint-disable-next-line no-control-regex
  return `the report is not valid JSON: ${message.slice(0, 200).replace(/[\x00-\x1f]/g, ' ')} (${where})`
}

/**
 * Where JSON.parse fails, as an offset into `text`: V8 names a position for some
 * errors only ("Unexpected token" has a snippet instead). A prefix of valid JSON
 * fails only for running out, so the error is just past the longest such prefix:
 * a binary search, about 25 parses for 32 MiB, paid only for invalid reports.
 */
function syntaxErrorOffset (text: string): number {
  let good = 0
  let bad = text.length
  if (incompleteOnly(text)) return text.length
  while (bad - good > 1) {
    const mid = Math.floor((good + bad) / 2)
    if (incompleteOnly(text.slice(0, mid))) good = mid
    else bad = mid
  }
  return bad - 1
}

/** Whether `prefix` parses, or fails only because it ends. */
function incompleteOnly (prefix: string): boolean {
  try {
    JSON.parse(prefix)
    return true
  } catch (err) {
    const message = (err as Error).message
    const position = /at position (\d+)/.exec(message)
    return message.startsWith('Unexpected end of JSON input') || (position !== null && Number(position[1]) >= prefix.length)
  }
}

/** `policies[0].summary.total-successful-session-count: must be a non-negative integer, got -1`. */
function describeSchemaError (error: ErrorObject): string {
  const where = jsonPath(error.instancePath)
  const params = error.params as Record<string, unknown>
  switch (error.keyword) {
    case 'required':
      return `${where}: missing "${String(params.missingProperty)}"`
    case 'maximum':
      return `${where}: must be a non-negative integer no larger than ${Number.MAX_SAFE_INTEGER}, got ${show(error.data)}`
    case 'type':
    case 'minimum':
      if ((error.parentSchema as { type: unknown }).type === 'integer') return `${where}: must be a non-negative integer, got ${show(error.data)}`
      return `${where}: must be ${String(params.type).split(',').map(withArticle).join(' or ')}, got ${show(error.data)}`
    case 'format':
      return `${where}: must be a date-time like 2016-04-01T00:00:00Z, got ${show(error.data)}`
    default:
      // The schema's only other keyword is minLength.
      return `${where}: must not be empty`
  }
}

/** `/policies/0/policy/policy-type` as `policies[0].policy.policy-type`. */
function jsonPath (pointer: string): string {
  if (pointer === '') return 'the report'
  return pointer.slice(1).split('/')
    .map(s => s.replace(/~1/g, '/').replace(/~0/g, '~'))
    .map((s, i) => /^[0-9]+$/.test(s) ? `[${s}]` : (i === 0 ? s : `.${s}`))
    .join('')
}

function withArticle (type: string): string {
  return type === 'null' ? 'null' : (/^[aeiou]/.test(type) ? 'an ' : 'a ') + type
}

/** A value for an error message: short, and never a walk through a (maybe deeply nested) object. */
function show (value: unknown): string {
  if (Array.isArray(value)) return 'an array'
  if (value === null) return 'null'
  if (typeof value === 'object') return 'an object'
  if (typeof value === 'string') return JSON.stringify(value.length > 60 ? `${value.slice(0, 60)}...` : value)
  return String(value)
}

function normalise (raw: RawReport, notes: string[]): ParseResult {
  const range = raw['date-range']
  const start = readDate(range['start-datetime'], 'date-range.start-datetime', notes)
  const end = readDate(range['end-datetime'], 'date-range.end-datetime', notes)
  if (end.iso < start.iso) notes.push(`date-range ends (${end.iso}) before it starts (${start.iso}); kept as sent`)
  const rawContact = raw['contact-info']
  if (rawContact === undefined) notes.push('the report has no contact-info')
  const contactInfo = optional(rawContact, 'contact-info', notes) ?? null
  if (raw.policies.length === 0) notes.push('the report lists no policies')
  const errors: string[] = []
  const policies: ReportPolicy[] = []
  raw.policies.forEach((entry, index) => {
    const policy = readPolicy(entry, `policies[${index}]`, notes)
    if (typeof policy === 'string') errors.push(policy)
    else policies.push(policy)
  })
  if (errors.length > 0) return fail(joinErrors(errors))
  const report: TlsReport = {
    organization: raw['organization-name'],
    reportId: raw['report-id'],
    contactInfo,
    start: start.iso,
    end: end.iso,
    policies,
    notes,
  }
  return { ok: true, report }
}

function readDate (text: string, at: string, notes: string[]): ReportDateTime {
  // The schema's format check already parsed it.
  const date = parseReportDateTime(text) as ReportDateTime
  if (!date.zoned) notes.push(`${at} "${text}" has no time zone; read as UTC`)
  return date
}

/** A value senders write as null instead of leaving it out: undefined either way, with a note for null. */
function optional<T> (value: T | null | undefined, at: string, notes: string[]): T | undefined {
  if (value !== null) return value
  notes.push(`${at} is null; read as absent`)
  return undefined
}

/** A string-or-array field as an array (null or absent: empty), with a note for a lone string. */
function list (value: string | readonly string[] | null | undefined, at: string, notes: string[]): string[] {
  if (typeof value === 'string') {
    notes.push(`${at} is a single string, not an array; read as a list of one`)
    return [value]
  }
  return [...(optional(value, at, notes) ?? [])]
}

/** One `policies[]` entry, or an error for it. */
function readPolicy (entry: RawPolicyEntry, at: string, notes: string[]): ReportPolicy | string {
  const policy = entry.policy
  const type = policy['policy-type']
  if (!POLICY_TYPES.includes(type)) notes.push(`${at}.policy.policy-type "${type}" is not one RFC 8460 defines; kept as sent`)
  const rawDomain = optional(policy['policy-domain'], `${at}.policy.policy-domain`, notes)
  let domain = ''
  if (rawDomain === undefined) {
    notes.push(`${at}.policy has no policy-domain`)
  } else {
    const name = normalizeHostName(rawDomain)
    if (!name.ok) return `${at}.policy.policy-domain: ${name.reason}, got ${show(rawDomain)}`
    if (name.value !== rawDomain) notes.push(`${at}.policy.policy-domain "${rawDomain}" read as "${name.value}"`)
    domain = name.value
  }
  const strings = list(policy['policy-string'], `${at}.policy.policy-string`, notes)
  if (strings.length === 0 && (type === 'sts' || type === 'tlsa')) notes.push(`${at}.policy has no policy-string`)
  const mxHosts = [
    ...list(policy['mx-host'], `${at}.policy.mx-host`, notes),
    ...list(policy['mx-host-pattern'], `${at}.policy.mx-host-pattern`, notes),
  ]
  const sts = type === 'sts' && strings.length > 0 ? readStsPolicy(strings, `${at}.policy.policy-string`, notes) : { mx: [] }
  const failures = (entry['failure-details'] ?? []).map((detail, i) => readDetail(detail, `${at}.failure-details[${i}]`, notes))
  const summary = entry.summary
  const detailed = failures.reduce((sum, detail) => sum + detail.failedSessions, 0)
  let failedSessions = summary['total-failure-session-count']
  if (failedSessions === undefined) {
    if (!Number.isSafeInteger(detailed)) return `${at}.failure-details: the failed-session-count values add up to more than ${Number.MAX_SAFE_INTEGER}`
    notes.push(`${at}.summary has no total-failure-session-count; read as ${detailed}, the sum of its failure-details`)
    failedSessions = detailed
  } else if (failures.length > 0 && detailed !== failedSessions) {
    notes.push(`${at}.summary counts ${failedSessions} failed sessions but its failure-details add up to ${detailed}; kept ${failedSessions}`)
  } else if (failures.length === 0 && failedSessions > 0) {
    notes.push(`${at}.summary counts ${failedSessions} failed sessions but the report lists no failure-details`)
  }
  return {
    type,
    domain,
    strings,
    mxHosts,
    ...sts,
    successfulSessions: summary['total-successful-session-count'],
    failedSessions,
    failures,
  }
}

/** The `mode`, `mx` and `max_age` of an sts policy-string, tolerating CRLF, lines joined in one string and extra spaces. */
function readStsPolicy (strings: readonly string[], at: string, notes: string[]): { mode?: string; mx: string[]; maxAge?: number } {
  const mx: string[] = []
  const single = new Map<string, string>()
  for (const line of strings.flatMap(s => s.split(/\r\n|\r|\n/))) {
    const field = /^\s*([A-Za-z0-9_.-]+)\s*:\s*(.*?)\s*$/.exec(line)
    if (!field) continue
    const [, key, value] = field as unknown as [string, string, string]
    if (key === 'mx') {
      mx.push(value)
    } else if (single.has(key)) {
      notes.push(`${at} has more than one ${key} line; the first is kept`)
    } else {
      single.set(key, value)
    }
  }
  if (!single.has('version') && !single.has('mode') && mx.length === 0) {
    notes.push(`${at} does not look like an MTA-STS policy (no version, mode or mx line)`)
  }
  const mode = single.get('mode')
  const age = single.get('max_age')
  let maxAge: number | undefined
  if (age !== undefined) {
    if (/^[0-9]{1,15}$/.test(age)) maxAge = Number(age)
    else notes.push(`${at} max_age "${age}" is not a number of seconds; left out`)
  }
  return { ...(mode === undefined ? {} : { mode }), mx, ...(maxAge === undefined ? {} : { maxAge }) }
}

function readDetail (detail: RawDetail, at: string, notes: string[]): FailureDetail {
  const resultType = detail['result-type']
  if (!RESULT_TYPES.has(resultType)) notes.push(`${at}.result-type "${resultType}" is not one RFC 8460 defines; kept as sent`)
  const out: { -readonly [K in keyof FailureDetail]: FailureDetail[K] } = { resultType, failedSessions: detail['failed-session-count'] }
  const fields = [
    ['sending-mta-ip', 'sendingMtaIp'],
    ['receiving-mx-hostname', 'receivingMxHostname'],
    ['receiving-mx-helo', 'receivingMxHelo'],
    ['receiving-ip', 'receivingIp'],
    ['additional-information', 'additionalInformation'],
    ['failure-reason-code', 'failureReasonCode'],
  ] as const
  for (const [key, name] of fields) {
    const value = optional(detail[key], `${at}.${key}`, notes)
    if (value !== undefined) out[name] = value
  }
  return out
}
