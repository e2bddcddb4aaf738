const DAY_MS = 86_400_000

/** `YYYY-MM-DD` (UTC) of a date or an ISO date-time: the day reports are counted on. */
export function utcDay (value: Date | string): string {
  return (typeof value === 'string' ? new Date(value) : value).toISOString().slice(0, 10)
}

/** The first day of the `days` days (at least one) that end with `until` (`YYYY-MM-DD`, UTC). */
export function firstDay (until: string, days: number): string {
  return utcDay(new Date(Date.parse(`${until}T00:00:00Z`) - (Math.max(1, days) - 1) * DAY_MS))
}
