/** A report date-time read as an instant: ISO 8601 UTC, and whether the sender gave a time zone. */
export interface ReportDateTime {
  /** `2016-04-01T00:00:00.000Z`. */
  readonly iso: string
  /** False when the text had no zone (`Z` or an offset) and was read as UTC. */
  readonly zoned: boolean
}

const DATE_TIME = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?(?:([Zz])|([+-])(\d{2}):?(\d{2}))?$/

/**
 * Read an RFC 3339 date-time as RFC 8460 reports carry it (`start-datetime`,
 * `end-datetime`). Tolerates a missing zone (read as UTC) and offsets without
 * a colon; rejects calendar dates that do not exist (February 30), hour 24 and
 * leap seconds, which `Date.parse` would silently roll over or refuse.
 * Returns undefined for anything else.
 */
export function parseReportDateTime (text: string): ReportDateTime | undefined {
  const m = DATE_TIME.exec(text)
  if (!m) return undefined
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map(Number) as [number, number, number, number, number, number]
  const millis = Number(((m[7] ?? '') + '000').slice(0, 3))
  const offsetHours = Number(m[10] ?? 0)
  const offsetMinutes = Number(m[11] ?? 0)
  if (hour > 23 || minute > 59 || second > 59 || offsetHours > 23 || offsetMinutes > 59) return undefined
  const date = new Date(0)
  // setUTCFullYear, not Date.UTC: Date.UTC reads years 0-99 as 1900-1999.
  date.setUTCFullYear(year, month - 1, day)
  if (date.getUTCMonth() !== month - 1 || date.getUTCDate() !== day) return undefined
  date.setUTCHours(hour, minute, second, millis)
  const sign = m[9] === '-' ? -1 : 1
  const zoned = m[8] !== undefined || m[9] !== undefined
  return { iso: new Date(date.getTime() - sign * (offsetHours * 60 + offsetMinutes) * 60_000).toISOString(), zoned }
}
