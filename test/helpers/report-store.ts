import { ManualClock } from '../../src/clock.js'
import { openSqliteDatabase } from '../../src/db/open-sqlite-database.js'
import { migrateReportDatabase } from '../../src/db/report-migrations.js'
import { SqlReportStore } from '../../src/db/sql-report-store.js'
import { parseReport } from '../../src/reports/parse-report.js'

/** One failure-details row of a report written by {@link reportBytes}. */
export interface FailureSpec {
  readonly type: string
  readonly mx?: string
  readonly ip?: string
  readonly sessions: number
}

/** One policy of a report written by {@link reportBytes}. */
export interface PolicySpec {
  readonly domain?: string
  /** `sts` (default), `no-policy-found`, `tlsa`. */
  readonly type?: string
  /** sts policy-string mode; omitted: an sts policy the sender could not fetch (no policy-string). */
  readonly mode?: string
  readonly mx?: readonly string[]
  readonly successful?: number
  readonly failures?: readonly FailureSpec[]
}

/** A report of one organisation for one UTC day. */
export interface ReportSpec {
  readonly organization: string
  /** `YYYY-MM-DD` */
  readonly day: string
  readonly policies: readonly PolicySpec[]
  /** Default: day, organisation and the policy domains. */
  readonly reportId?: string
}

/** RFC 8460 JSON for `spec`, the way senders write it. */
export function reportBytes (spec: ReportSpec): Buffer {
  return Buffer.from(JSON.stringify({
    'organization-name': spec.organization,
    'date-range': { 'start-datetime': `${spec.day}T00:00:00Z`, 'end-datetime': `${spec.day}T23:59:59Z` },
    'contact-info': `tlsrpt@${spec.organization}`,
    'report-id': spec.reportId ?? `${spec.day}_${spec.organization}_${spec.policies.map(p => p.domain ?? 'example.com').join('_')}`,
    policies: spec.policies.map(p => {
      const failures = p.failures ?? []
      const type = p.type ?? 'sts'
      return {
        policy: {
          'policy-type': type,
          ...(type === 'sts' && p.mode !== undefined
            ? { 'policy-string': ['version: STSv1', `mode: ${p.mode}`, ...(p.mx ?? []).map(m => `mx: ${m}`), 'max_age: 86400'] }
            : {}),
          'policy-domain': p.domain ?? 'example.com',
          ...(p.mx === undefined ? {} : { 'mx-host': p.mx }),
        },
        summary: { 'total-successful-session-count': p.successful ?? 0, 'total-failure-session-count': failures.reduce((n, f) => n + f.sessions, 0) },
        'failure-details': failures.map(f => ({
          'result-type': f.type,
          ...(f.ip === undefined ? {} : { 'sending-mta-ip': f.ip }),
          ...(f.mx === undefined ? {} : { 'receiving-mx-hostname': f.mx }),
          'failed-session-count': f.sessions,
        })),
      }
    }),
  }))
}

/** A report store on a fresh in-memory SQLite database, its clock at `now`, closed when the test ends. */
export async function memoryReportStore (t: { teardown (fn: () => unknown): void }, now = '2024-06-10T12:00:00Z'): Promise<{ store: SqlReportStore, clock: ManualClock }> {
  const db = openSqliteDatabase(':memory:')
  await migrateReportDatabase(db)
  const clock = new ManualClock(new Date(now))
  const store = new SqlReportStore(db, { parse: b => parseReport(b), clock, rawRetentionDays: 90, retentionDays: 400 })
  t.teardown(() => store.close())
  return { store, clock }
}

/** Submit each report to `store`; throws naming the report when one is not stored. */
export async function submitReports (store: SqlReportStore, reports: readonly (ReportSpec | Buffer)[]): Promise<void> {
  for (const report of reports) {
    const bytes = Buffer.isBuffer(report) ? report : reportBytes(report)
    const outcome = await store.submit({ bytes, transport: 'import', source: 'test' })
    if (outcome.status !== 'stored') throw new Error(`test report not stored (${outcome.status}): ${outcome.error ?? ''} ${bytes.toString('utf8', 0, 200)}`)
  }
}

/** A report database file at `file` holding `reports` (closed again, for a command to open). */
export async function writeReportDatabase (file: string, reports: readonly (ReportSpec | Buffer)[], now = '2024-06-10T12:00:00Z'): Promise<void> {
  const db = openSqliteDatabase(file)
  await migrateReportDatabase(db)
  const store = new SqlReportStore(db, { parse: b => parseReport(b), clock: new ManualClock(new Date(now)), rawRetentionDays: 90, retentionDays: 400 })
  try {
    await submitReports(store, reports)
  } finally {
    await store.close()
  }
}
