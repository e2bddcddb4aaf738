import type { PolicyMode } from '../config/types.js'
import { normalizeMxPattern } from '../policy/mx-pattern.js'

/** The fields of a fetched policy senders act on (`mx` patterns normalised). */
export interface ParsedPolicy {
  readonly mode: PolicyMode
  readonly mx: readonly string[]
  readonly maxAge: number
}

/** Outcome of {@link parsePolicy}: `notes` are findings senders tolerate (LF line endings...). */
export type PolicyParseResult =
  | { readonly ok: true; readonly policy: ParsedPolicy; readonly errors: readonly string[]; readonly notes: readonly string[] }
  | { readonly ok: false; readonly policy?: undefined; readonly errors: readonly string[]; readonly notes: readonly string[] }

const MAX_AGE_LIMIT = 31557600
const KEY = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,31}$/
const VALUE = /^[\x21-\x7e](?:[ \t]*[\x21-\x7e])*$/
const MODES: readonly string[] = ['enforce', 'testing', 'none']
const KNOWN = ['version', 'mode', 'mx', 'max_age']

/**
 * Parse a policy file strictly by RFC 8461 section 3.2, as the strictest
 * senders do: `version: STSv1` first, one `mode`, at least one `mx`,
 * `max_age` 0..31557600, no BOM, no blank lines, `key: value` with no space
 * before the colon, ASCII only, no duplicate keys other than `mx` (unknown
 * keys allowed). CRLF or LF line endings; LF is reported as a note.
 */
export function parsePolicy (text: string): PolicyParseResult {
  const errors: string[] = []
  const notes: string[] = []
  let body = text
  if (body.startsWith('\uFEFF')) {
    errors.push('starts with a byte order mark')
    body = body.slice(1)
  }
  // eslint-disable-next-line no-control-regex
  if (/[^\x00-\x7f]/.test(body)) errors.push('contains non-ASCII characters')
  if (/\r(?!\n)/.test(body)) errors.push('contains a carriage return not followed by a line feed')
  if (/(?<!\r)\n/.test(body)) notes.push('uses LF line endings; the RFC says CRLF (most senders accept LF)')
  const lines = body.split(/\r?\n/)
  if (lines.at(-1) === '') lines.pop()
  if (lines.length === 0) errors.push('is empty')

  const seen = new Map<string, number>()
  const values: Record<string, string> = {}
  const mx: string[] = []
  lines.forEach((line, index) => {
    const at = `line ${index + 1}`
    if (/^[ \t]*$/.test(line)) return errors.push(`${at} is blank`)
    const colon = line.indexOf(':')
    if (colon === -1) return errors.push(`${at} has no ":"`)
    const key = line.slice(0, colon)
    const value = line.slice(colon + 1).replace(/^[ \t]+|[ \t]+$/g, '')
    if (/[ \t]$/.test(key)) return errors.push(`${at} has a space before the ":" (some senders reject "${key.trim()} :")`)
    if (!KEY.test(key)) return errors.push(`${at} has an invalid key "${key}"`)
    if (!VALUE.test(value)) return errors.push(`${at} has an invalid or empty value for "${key}"`)
    if (!KNOWN.includes(key) && KNOWN.includes(key.toLowerCase())) return errors.push(`${at}: keys are case-sensitive, "${key}" must be "${key.toLowerCase()}"`)
    if (key === 'version' && index !== 0) errors.push(`${at}: version must be the first line`)
    const count = (seen.get(key) ?? 0) + 1
    seen.set(key, count)
    if (key === 'mx') {
      const pattern = normalizeMxPattern(value)
      if (pattern.ok) return mx.push(pattern.value)
      return errors.push(`${at}: mx "${value}" ${pattern.reason}`)
    }
    if (count === 2) {
      if (KNOWN.includes(key)) return errors.push(`${at} repeats "${key}" (senders differ on which one counts)`)
      return notes.push(`${at} repeats the unknown key "${key}"`)
    }
    if (count === 1) values[key] = value
    return undefined
  })

  if (lines.length > 0 && !(lines[0] as string).startsWith('version:')) errors.push('the first line is not "version: STSv1"')
  if (values.version !== undefined && values.version !== 'STSv1') errors.push(`version is "${values.version}", not "STSv1"`)
  const mode = values.mode
  if (mode === undefined) errors.push('has no mode')
  else if (!MODES.includes(mode)) errors.push(`mode "${mode}" is not enforce, testing or none`)
  if ((seen.get('mx') ?? 0) === 0) errors.push('has no mx (required, even with mode none)')
  const maxAgeText = values.max_age
  const maxAge = Number(maxAgeText)
  if (maxAgeText === undefined) errors.push('has no max_age')
  else if (!/^[0-9]{1,10}$/.test(maxAgeText) || maxAge > MAX_AGE_LIMIT) errors.push(`max_age "${maxAgeText}" is not a number of seconds from 0 to ${MAX_AGE_LIMIT}`)

  if (errors.length > 0) return { ok: false, errors, notes }
  return { ok: true, policy: { mode: mode as PolicyMode, mx, maxAge }, errors, notes }
}
