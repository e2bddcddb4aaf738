import { formatProblem, loadConfig } from '../config/load-config.js'
import { openCliReportStore, reportDatabaseName } from './open-cli-report-store.js'
import { summarizeDomains } from '../db/summarize-domains.js'
import { utcDay } from '../db/utc-day.js'
import { normalizeHostName } from '../domain/host-name.js'
import { buildSnapshot } from '../tenants/tenant-snapshot.js'
import { formatReportSummary } from './format-report-summary.js'
import { MAX_SUMMARY_DAYS } from './max-summary-days.js'
import type { CommandIo } from './validate.js'

/** Options of `reports summary`. */
export interface ReportsSummaryOptions {
  readonly config: string
  /** Policy domains to show (shown even without reports); every domain with reports when empty. */
  readonly domains: readonly string[]
  /** Days ending today (UTC); default `reports.verdict.days`. */
  readonly days?: number
  readonly json?: boolean
  /** Today, for tests (default the system clock). */
  readonly now?: () => Date
}

/**
 * `reports summary [DOMAIN...] [--days N] [--json] --config FILE`: what
 * senders reported per domain and day, read from the report database (which
 * `serve` may be writing meanwhile). Domains that are not tenants are shown
 * and marked. No database yet is not an error: "no reports stored yet",
 * exit 0. Returns the exit code: 0 shown, 1 bad input (configuration,
 * domain name, --days) or an unreadable database.
 */
export async function reportsSummaryCommand (opts: ReportsSummaryOptions, io: CommandIo): Promise<number> {
  const result = await loadConfig(opts.config)
  if (!result.ok) {
    for (const e of result.errors) io.stderr.write(`error: ${formatProblem(e)}\n`)
    return 1
  }
  const { config } = result
  const days = opts.days ?? config.reports.verdict.days
  if (!Number.isInteger(days) || days < 1 || days > MAX_SUMMARY_DAYS) {
    io.stderr.write(`error: --days must be a whole number from 1 to ${MAX_SUMMARY_DAYS}, got ${String(opts.days)}\n`)
    return 1
  }
  const domains: string[] = []
  for (const name of opts.domains) {
    const domain = normalizeHostName(name)
    if (!domain.ok) {
      io.stderr.write(`error: "${name}" is not a domain name: ${domain.reason}\n`)
      return 1
    }
    domains.push(domain.value)
  }
  const byDomain = new Map(buildSnapshot(config).tenants.map(t => [t.domain, t]))
  let opened
  try {
    opened = await openCliReportStore(config, { create: false })
  } catch (error) {
    io.stderr.write(`error: cannot read the report database ${reportDatabaseName(config)}: ${(error as Error).message}\n`)
    return 1
  }
  const store = opened?.value
  if (store === undefined) io.stderr.write(`no reports stored yet: no report database at ${config.reports.database}\n`)
  try {
    const until = utcDay((opts.now ?? (() => new Date()))())
    const summary = await summarizeDomains(store, { domains, days, until }, domain => byDomain.has(domain))
    io.stdout.write(opts.json ? JSON.stringify(summary, null, 2) + '\n' : formatReportSummary(summary, domain => byDomain.get(domain)))
    return 0
  } finally {
    await opened?.close()
  }
}
