import { createHash } from 'node:crypto'
import { gzipSync } from 'node:zlib'
import type { Kysely } from 'kysely'
import type { Clock } from '../clock.js'
import { isGzip } from '../reports/is-gzip.js'
import type { IngestOutcome, ParseResult, ReportInput, TlsReport } from '../reports/types.js'
import { addCount, AppliedPolicyTally, ranked } from './applied-policy-tally.js'
import type { DaySummary, ProblemReport, PurgeResult, ReportCounts, ReportStore, SummaryQuery } from './report-store.js'
import type { ReportDatabase } from './report-tables.js'
import { firstDay, utcDay } from './utc-day.js'
import * as fetchStats from './sql-fetch-stats.js'
import type { DomainFetches, DomainReportTotals, FetchBatch, LastFetch, PolicyChange } from '../stats/types.js'

/** Settings of a {@link SqlReportStore}. */
export interface SqlReportStoreOptions {
  /** Turns raw bytes (gzip or JSON) into a report or an error; never throws. */
  readonly parse: (bytes: Buffer) => ParseResult
  readonly clock: Clock
  /** Days the raw bytes of a report are kept. */
  readonly rawRetentionDays: number
  /** Days parsed reports are kept, counted from the end of their date range. */
  readonly retentionDays: number
}

const DAY_MS = 86_400_000

/** Running totals of one domain-day while a summary is built. */
interface DayTotals {
  domain: string
  day: string
  reports: Set<number>
  organizations: Set<string>
  successful: number
  failed: number
  failureTypes: Map<string, number>
  failingMxHosts: Map<string, number>
  failingSendingIps: Map<string, number>
  policies: Map<string, AppliedPolicyTally>
}

/**
 * The report database through Kysely, so the same code runs on SQLite (better-sqlite3) and
 * PostgreSQL. Report files are first inserted raw (gzip-compressed) and committed; only then
 * are they parsed and their rows written in a second transaction. A crash between the two
 * leaves `received` rows that {@link SqlReportStore.recover} parses at the next start.
 */
export class SqlReportStore implements ReportStore {
  readonly #db: Kysely<ReportDatabase>
  readonly #options: SqlReportStoreOptions

  constructor (db: Kysely<ReportDatabase>, options: SqlReportStoreOptions) {
    this.#db = db
    this.#options = options
  }

  async submit (input: ReportInput): Promise<IngestOutcome> {
    return (await this.submitMany([input]))[0] as IngestOutcome
  }

  /**
   * Stores several report files with two commits in all instead of two each (group commit):
   * first every raw file, then, once parsed, every report's rows. Each outcome is as
   * {@link SqlReportStore.submit} would give it; the same bytes twice in one batch are stored once.
   */
  async submitMany (inputs: readonly ReportInput[]): Promise<IngestOutcome[]> {
    const batch = new Map<string, number>()
    const kept = await this.#db.transaction().execute(async trx => {
      const out: Array<{ id: number, existing?: { status: string }, sameAs?: number }> = []
      for (const [i, input] of inputs.entries()) {
        const sha256 = createHash('sha256').update(input.bytes).digest('hex')
        const earlier = batch.get(sha256)
        if (earlier !== undefined) {
          out.push({ id: (out[earlier] as { id: number }).id, sameAs: earlier })
          continue
        }
        batch.set(sha256, i)
        out.push(await this.#keepRaw(trx, input, sha256, 'received', null))
      }
      return out
    })
    // Parsing is CPU work: outside any transaction.
    const parsed = kept.map((k, i) => k.sameAs !== undefined || (k.existing !== undefined && k.existing.status !== 'received')
      ? undefined
      : this.#options.parse((inputs[i] as ReportInput).bytes))
    return await this.#db.transaction().execute(async trx => {
      const outcomes: IngestOutcome[] = []
      for (const [i, k] of kept.entries()) {
        const result = parsed[i]
        outcomes.push(result === undefined ? { status: 'duplicate', rawId: k.id } : await this.#writeParsed(trx, k.id, result))
      }
      return outcomes
    })
  }

  async setAside (input: ReportInput, reason: string): Promise<IngestOutcome> {
    const sha256 = createHash('sha256').update(input.bytes).digest('hex')
    const kept = await this.#keepRaw(this.#db, input, sha256, 'set-aside', reason)
    if (kept.existing !== undefined) return { status: 'duplicate', rawId: kept.id }
    return { status: 'invalid', rawId: kept.id, error: reason }
  }

  /**
   * Parses every raw report left `received` by a crash between storing and parsing.
   * Returns how many it finished.
   */
  async recover (): Promise<number> {
    const pending = await this.#db.selectFrom('raw_reports').select(['id', 'content'])
      .where('status', '=', 'received').orderBy('id').execute()
    for (const row of pending) {
      if (row.content === null) continue
      const result = this.#options.parse(Buffer.from(row.content))
      await this.#db.transaction().execute(async trx => await this.#writeParsed(trx, row.id, result))
    }
    return pending.length
  }

  /** Inserts the raw bytes, or finds the row already holding the same bytes. */
  async #keepRaw (db: Kysely<ReportDatabase>, input: ReportInput, sha256: string, status: string, error: string | null): Promise<{ id: number, existing?: { status: string } }> {
    const find = async (): Promise<{ id: number, status: string } | undefined> =>
      await db.selectFrom('raw_reports').select(['id', 'status']).where('sha256', '=', sha256).executeTakeFirst()
    const before = await find()
    if (before !== undefined) return { id: before.id, existing: before }
    const inserted = await db.insertInto('raw_reports').values({
      received_at: this.#options.clock.now().toISOString(),
      transport: input.transport,
      source: input.source,
      label: input.label ?? null,
      sha256,
      size: input.bytes.length,
      content: isGzip(input.bytes) ? input.bytes : gzipSync(input.bytes),
      status,
      error,
      report_row: null,
    }).onConflict(oc => oc.column('sha256').doNothing()).returning('id').executeTakeFirst()
    if (inserted !== undefined) return { id: inserted.id }
    // Lost a race with a concurrent submit of the same bytes (another process or replica).
    const winner = await find()
    return { id: (winner as { id: number }).id, existing: winner as { status: string } }
  }

  /** Writes a kept raw report's parsed rows, or flags it invalid with the reason. */
  async #writeParsed (trx: Kysely<ReportDatabase>, rawId: number, parsed: ParseResult): Promise<IngestOutcome> {
    if (!parsed.ok) {
      await trx.updateTable('raw_reports').set({ status: 'invalid', error: parsed.error }).where('id', '=', rawId).execute()
      return { status: 'invalid', rawId, error: parsed.error }
    }
    const report = parsed.report
    const row = await trx.insertInto('reports').values({
      raw_id: rawId,
      organization: report.organization,
      report_id: report.reportId,
      start_at: report.start,
      end_at: report.end,
      contact: report.contactInfo,
      day: utcDay(report.start),
      notes: JSON.stringify(report.notes),
    }).onConflict(oc => oc.columns(['organization', 'report_id', 'start_at', 'end_at']).doNothing())
      .returning('id').executeTakeFirst()
    if (row === undefined) {
      const earlier = await trx.selectFrom('reports').select(['id', 'raw_id'])
        .where('organization', '=', report.organization).where('report_id', '=', report.reportId)
        .where('start_at', '=', report.start).where('end_at', '=', report.end).executeTakeFirstOrThrow()
      // This very file, parsed meanwhile by another process's recovery: nothing to undo.
      if (earlier.raw_id === rawId) return { status: 'duplicate', rawId, report }
      // The same report again (senders retry for a day): its bytes add nothing.
      await trx.updateTable('raw_reports').set({ status: 'duplicate', content: null, report_row: earlier.id })
        .where('id', '=', rawId).execute()
      return { status: 'duplicate', rawId: earlier.raw_id, report }
    }
    await this.#insertPolicies(trx, row.id, report)
    await trx.updateTable('raw_reports').set({ status: 'parsed', error: null, report_row: row.id }).where('id', '=', rawId).execute()
    return { status: 'stored', rawId, report }
  }

  async #insertPolicies (trx: Kysely<ReportDatabase>, reportRow: number, report: TlsReport): Promise<void> {
    const day = utcDay(report.start)
    for (const policy of report.policies) {
      const { id } = await trx.insertInto('report_policies').values({
        report_row: reportRow,
        domain: policy.domain,
        day,
        organization: report.organization,
        policy_type: policy.type,
        policy_strings: JSON.stringify(policy.strings),
        mode: policy.mode ?? null,
        mx: JSON.stringify(policy.mx),
        max_age: policy.maxAge ?? null,
        mx_hosts: JSON.stringify(policy.mxHosts),
        successful: policy.successfulSessions,
        failed: policy.failedSessions,
      }).returning('id').executeTakeFirstOrThrow()
      if (policy.failures.length === 0) continue
      await trx.insertInto('report_failures').values(policy.failures.map(f => ({
        policy_row: id,
        domain: policy.domain,
        day,
        result_type: f.resultType,
        sending_ip: f.sendingMtaIp ?? null,
        receiving_mx: f.receivingMxHostname ?? null,
        receiving_helo: f.receivingMxHelo ?? null,
        receiving_ip: f.receivingIp ?? null,
        sessions: f.failedSessions,
        reason_code: f.failureReasonCode ?? null,
        additional_info: f.additionalInformation ?? null,
      }))).execute()
    }
  }

  async summarize (query: SummaryQuery): Promise<DaySummary[]> {
    const until = query.until ?? utcDay(this.#options.clock.now())
    const from = firstDay(until, query.days)
    const domains = query.domains ?? []
    let policies = this.#db.selectFrom('report_policies')
      .select(['id', 'report_row', 'domain', 'day', 'organization', 'policy_type', 'mode', 'mx', 'successful', 'failed'])
      .where('day', '>=', from).where('day', '<=', until)
    if (domains.length > 0) policies = policies.where('domain', 'in', domains)
    let failures = this.#db.selectFrom('report_failures')
      .select(['policy_row', 'result_type', 'receiving_mx', 'sending_ip', 'sessions'])
      .where('day', '>=', from).where('day', '<=', until)
    if (domains.length > 0) failures = failures.where('domain', 'in', domains)
    const [policyRows, failureRows] = await Promise.all([policies.execute(), failures.execute()])

    const days = new Map<string, DayTotals>()
    const byPolicyRow = new Map<number, { day: DayTotals, policy: AppliedPolicyTally }>()
    for (const row of policyRows) {
      const dayKey = `${row.domain}\n${row.day}`
      let day = days.get(dayKey)
      if (day === undefined) {
        day = {
          domain: row.domain, day: row.day, reports: new Set(), organizations: new Set(), successful: 0, failed: 0,
          failureTypes: new Map(), failingMxHosts: new Map(), failingSendingIps: new Map(), policies: new Map(),
        }
        days.set(dayKey, day)
      }
      day.reports.add(row.report_row)
      day.organizations.add(row.organization)
      day.successful += row.successful
      day.failed += row.failed
      const policyKey = `${row.policy_type}\n${row.mode ?? ''}\n${row.mx}`
      let policy = day.policies.get(policyKey)
      if (policy === undefined) {
        policy = new AppliedPolicyTally({ type: row.policy_type, mode: row.mode, mx: JSON.parse(row.mx) as string[] })
        day.policies.set(policyKey, policy)
      }
      policy.addSessions([row.organization], row.successful, row.failed)
      byPolicyRow.set(row.id, { day, policy })
    }
    for (const row of failureRows) {
      const owner = byPolicyRow.get(row.policy_row)
      if (owner === undefined) continue
      addCount(owner.day.failureTypes, row.result_type, row.sessions)
      addCount(owner.day.failingMxHosts, row.receiving_mx, row.sessions)
      addCount(owner.day.failingSendingIps, row.sending_ip, row.sessions)
      owner.policy.addFailure(row.result_type, row.receiving_mx, row.sessions)
    }
    return [...days.values()]
      .sort((a, b) => (a.domain === b.domain ? (a.day < b.day ? -1 : 1) : (a.domain < b.domain ? -1 : 1)))
      .map(day => ({
        domain: day.domain,
        day: day.day,
        reports: day.reports.size,
        organizations: [...day.organizations].sort(),
        successfulSessions: day.successful,
        failedSessions: day.failed,
        failureTypes: ranked(day.failureTypes),
        failingMxHosts: ranked(day.failingMxHosts),
        failingSendingIps: ranked(day.failingSendingIps),
        policies: [...day.policies.values()].map(p => p.summary()),
      }))
  }

  async problems (limit: number): Promise<ProblemReport[]> {
    const rows = await this.#db.selectFrom('raw_reports')
      .select(['id', 'received_at', 'transport', 'source', 'label', 'size', 'status', 'error'])
      .where('status', 'in', ['invalid', 'set-aside']).orderBy('id', 'desc').limit(limit).execute()
    return rows.map(r => ({
      id: r.id,
      receivedAt: r.received_at,
      transport: r.transport,
      source: r.source,
      label: r.label,
      size: r.size,
      status: r.status as ProblemReport['status'],
      error: r.error ?? '',
    }))
  }

  async counts (): Promise<ReportCounts> {
    const raw = await this.#db.selectFrom('raw_reports').select(eb => ['status', eb.fn.countAll<number>().as('n')]).groupBy('status').execute()
    const reports = await this.#db.selectFrom('reports').select(eb => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()
    return { raw: Object.fromEntries(raw.map(r => [r.status, Number(r.n)])), reports: Number(reports.n) }
  }

  async purge (): Promise<PurgeResult> {
    const now = this.#options.clock.now().getTime()
    const rawBefore = new Date(now - this.#options.rawRetentionDays * DAY_MS).toISOString()
    const dropped = await this.#db.updateTable('raw_reports').set({ content: null })
      .where('received_at', '<', rawBefore).where('status', '!=', 'received').where('content', 'is not', null).executeTakeFirst()
    const reportBefore = new Date(now - this.#options.retentionDays * DAY_MS).toISOString()
    const deleted = await this.#db.deleteFrom('reports').where('end_at', '<', reportBefore).executeTakeFirst()
    const fetchRowsDeleted = await fetchStats.purgeFetches(this.#db, utcDay(reportBefore), utcDay(rawBefore))
    return { rawContentDropped: Number(dropped.numUpdatedRows), reportsDeleted: Number(deleted.numDeletedRows), fetchRowsDeleted }
  }

  async addFetches (batch: FetchBatch): Promise<void> {
    await fetchStats.addFetches(this.#db, batch)
  }

  async fetchesFor (domain: string, days: number, until?: string): Promise<DomainFetches> {
    const last = until ?? utcDay(this.#options.clock.now())
    return await fetchStats.fetchesFor(this.#db, domain, firstDay(last, days), last)
  }

  async lastFetches (): Promise<LastFetch[]> {
    return await fetchStats.lastFetches(this.#db)
  }

  async recordPolicyChanges (changes: readonly PolicyChange[]): Promise<number> {
    return await fetchStats.recordPolicyChanges(this.#db, changes)
  }

  async policyHistory (domain: string, limit: number): Promise<PolicyChange[]> {
    return await fetchStats.policyHistory(this.#db, domain, limit)
  }

  async latestPolicies (): Promise<PolicyChange[]> {
    return await fetchStats.latestPolicies(this.#db)
  }

  async reportTotals (days: number, until?: string): Promise<DomainReportTotals[]> {
    const last = until ?? utcDay(this.#options.clock.now())
    return await fetchStats.reportTotals(this.#db, firstDay(last, days), last)
  }

  async close (): Promise<void> {
    await this.#db.destroy()
  }
}
